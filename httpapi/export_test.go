package httpapi

import (
	"context"
	"iter"

	"github.com/hangar-ml/hangar"
)

// SyncBuffer lets the external tests (package httpapi_test) share the
// concurrent log sink of the internal ones.
type SyncBuffer = syncBuffer

// Route describes one route of the table to the external tests.
type Route struct {
	Pattern string
	Public  bool
	MLflow  bool // answers errors in MLflow's envelope
	HTML    bool // a page of the web UI: answers errors as HTML pages
}

// Routes returns the route table.
func (s *Server) Routes() []Route {
	var out []Route
	for _, rt := range s.routes() {
		out = append(out, Route{Pattern: rt.pattern, Public: rt.scope == scopePublic, MLflow: rt.errors == mlflowErrors, HTML: rt.errors == htmlErrors})
	}
	return out
}

// AllItems is allItems for the external tests.
func AllItems[F, T any](ctx context.Context, f F, list func(context.Context, F, hangar.ListOptions) (*hangar.Page[T], error)) iter.Seq2[T, error] {
	return allItems(ctx, f, list)
}
