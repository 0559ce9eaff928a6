package main

import (
	"context"
	"log/slog"
	"net/http"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/endpointauth"
	"github.com/hangar-ml/hangar/release"
	"github.com/hangar-ml/hangar/sqlstore"
)

// servingDir is the release controller's staging folder under the data
// directory: model and code folders by digest, capture files.
const servingDir = "serving"

// openRelease makes and opens the release controller of online
// endpoints: the store's endpoint service wrapped so that every change
// reaches the data plane, one gateway per workspace, Python workers for
// scoring scripts, aml_tokens signed with a key derived from the KEK, and
// capture registered as data asset versions.
func openRelease(ctx context.Context, cfg *serverConfig, db *sqlstore.DB, workspaces release.Workspaces, data hangar.DataService,
	blobs hangar.BlobStore, tokenKey []byte, reg prometheus.Registerer, logger *slog.Logger) (*release.Service, error) {
	rel := release.New(sqlstore.NewEndpointService(db))
	rel.Workspaces, rel.Blobs, rel.Data = workspaces, blobs, data
	rel.Dir = filepath.Join(cfg.DataDir, servingDir)
	rel.Scripts = pythonScripts{logger: logger}
	rel.TokenKey = tokenKey
	rel.Logger, rel.Registerer = logger, reg
	if err := rel.Open(ctx); err != nil {
		return nil, err
	}
	return rel, nil
}

// endpointTokenKey derives the aml_token key from the KEK, as the audit
// key is derived for its own purpose.
func endpointTokenKey(sealer interface{ DeriveKey(string) []byte }) []byte {
	return sealer.DeriveKey(endpointauth.Purpose)
}

// withScoring puts the scoring routes in front of the API (DECISION 2 of
// the endpoints round): /api/v1/workspaces/{ws}/endpoints/… go straight
// to the release controller, whose gateways check endpoint keys and
// tokens — not workspace tokens — and skip the API's middleware, which a
// scoring request at tens of thousands a second cannot afford.
func withScoring(scoring, api http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/api/v1/workspaces/{ws}/endpoints/", scoring)
	mux.Handle("/", api)
	return mux
}

// replayEndpoints brings the online endpoints back on the data plane in
// the background; the returned func stops it and waits.
func replayEndpoints(ctx context.Context, rel *release.Service, logger *slog.Logger) (stop func()) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		start := time.Now()
		if err := rel.Replay(ctx); err != nil && ctx.Err() == nil {
			logger.Error("replay online endpoints", "err", err)
			return
		}
		logger.Info("online endpoints replayed", "took", time.Since(start).Round(time.Millisecond))
	}()
	return func() {
		cancel()
		<-done
	}
}
