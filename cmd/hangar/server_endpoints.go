package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"path/filepath"
	"strings"
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
// scoring scripts, aml_tokens signed with a key derived from the KEK,
// capture registered as data asset versions, and the changes other
// servers on the database make followed.
func openRelease(ctx context.Context, cfg *serverConfig, db *sqlstore.DB, workspaces release.Workspaces, data hangar.DataService,
	blobs hangar.BlobStore, tokenKey []byte, reg prometheus.Registerer, logger *slog.Logger) (*release.Service, error) {
	rel := release.New(sqlstore.NewEndpointService(db))
	rel.Workspaces, rel.Blobs, rel.Data = workspaces, blobs, data
	rel.Dir = filepath.Join(cfg.DataDir, servingDir)
	rel.Scripts = pythonScripts{logger: logger}
	rel.TokenKey = tokenKey
	rel.Logger, rel.Registerer = logger, reg
	// Endpoints changed through other servers on this database reach
	// this one's scoring within the interval (validated with the config).
	rel.FollowInterval, _ = cfg.endpointSyncInterval()
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
// scoring request at tens of thousands a second cannot afford. A clean,
// unescaped scoring path skips this mux too (release.IsScoringPath takes
// exactly the paths it would route to the controller unchanged).
func withScoring(scoring, api http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/api/v1/workspaces/{ws}/endpoints/", scoring)
	mux.Handle("/", api)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.RawPath == "" && release.IsScoringPath(r.URL.Path) {
			scoring.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
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

// loopbackHostOnly refuses a request whose Host header is not a loopback
// name or address: a web page's script reaching the listener through a
// rebound DNS name would send its own name.
func loopbackHostOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.Host)
		if err != nil {
			host = r.Host
		}
		if !isLoopback(strings.Trim(host, "[]")) {
			http.Error(w, "pprof answers only requests addressed to a loopback host", http.StatusForbidden)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// startPprof serves net/http/pprof on its own loopback listener for
// profiling the scoring path under load (`--pprof 127.0.0.1:6060`, off by
// default): the profiles are not behind the server's authentication, so
// only a loopback address is taken. It returns the profiles' URL and a
// func that stops the listener.
func startPprof(addr string, logger *slog.Logger) (url string, stop func(), err error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return "", nil, hangar.Errorf(hangar.EINVALID, "--pprof %q: want host:port (%v)", addr, err)
	}
	if !isLoopback(host) {
		return "", nil, hangar.Errorf(hangar.EINVALID, "--pprof %q: profiles are served without authentication; give a loopback address", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("--pprof: %w", err)
	}
	// No /debug/pprof/cmdline: the command line may hold a --db DSN with
	// its password, which the server's own logs redact.
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	// A CPU profile or trace takes ?seconds=N to answer: the write
	// timeout leaves room for a few minutes.
	srv := &http.Server{Handler: loopbackHostOnly(mux), ReadHeaderTimeout: 10 * time.Second, WriteTimeout: 5 * time.Minute, IdleTimeout: time.Minute}
	go func() { _ = srv.Serve(ln) }()
	url = "http://" + ln.Addr().String() + "/debug/pprof/"
	logger.Info("pprof listening", "url", url)
	return url, func() { _ = srv.Close() }, nil
}
