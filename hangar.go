// Package hangar is the domain of the Hangar MLOps platform: the types, the
// service interfaces that storage backends and the HTTP client implement, the
// error codes, and the pure rules (name validation, role permissions, the audit
// hash chain). It imports only the standard library; adapters (sqlstore, disk,
// httpapi) and engines import it, and only cmd/hangar wires them together.
package hangar

import (
	"context"
	"time"
)

// DefaultWorkspace is the workspace that exists on every server.
const DefaultWorkspace = "default"

// ListOptions pages through a list. MaxResults <= 0 means the server default.
type ListOptions struct {
	MaxResults int
	PageToken  string
}

// DefaultMaxResults and MaxMaxResults bound a page.
const (
	DefaultMaxResults = 100
	MaxMaxResults     = 1000
)

// Limit returns the effective page size: the default when unset, capped at MaxMaxResults.
func (o ListOptions) Limit() int {
	switch {
	case o.MaxResults <= 0:
		return DefaultMaxResults
	case o.MaxResults > MaxMaxResults:
		return MaxMaxResults
	}
	return o.MaxResults
}

// Validate checks the options; a negative page size is an error.
func (o ListOptions) Validate() error {
	if o.MaxResults < 0 {
		return Errorf(EINVALID, "max_results must not be negative, got %d", o.MaxResults)
	}
	return nil
}

// Page is one page of a list. NextPageToken is empty on the last page.
type Page[T any] struct {
	Items         []T    `json:"value"`
	NextPageToken string `json:"next_page_token,omitempty"`
}

// Actor is who performs a request: the identity behind the token, as recorded
// in audit events.
type Actor struct {
	IdentityID string
	Name       string
}

type actorKey struct{}
type requestIDKey struct{}

// WithActor returns a context that carries the acting identity.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the acting identity, or the "system" actor when none is set
// (server start-up, migrations, built-in housekeeping).
func ActorFrom(ctx context.Context) Actor {
	if a, ok := ctx.Value(actorKey{}).(Actor); ok {
		return a
	}
	return Actor{IdentityID: "system", Name: "system"}
}

// WithRequestID returns a context that carries the request id recorded in audit events.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestIDFrom returns the request id of the context, or "".
func RequestIDFrom(ctx context.Context) string {
	s, _ := ctx.Value(requestIDKey{}).(string)
	return s
}

// Clock tells the time; stores and services take one so tests can fix it.
type Clock func() time.Time
