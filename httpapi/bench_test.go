package httpapi_test

import (
	"testing"

	"github.com/hangar-ml/hangar"
)

// BenchmarkGetWorkspace measures one authenticated read through the whole
// stack: client, middleware, token lookup, role assignments, authorization
// and the SQLite read.
func BenchmarkGetWorkspace(b *testing.B) {
	e := newEnv(b)
	c := e.client("bench", hangar.RoleReader, "default")
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Workspace(ctx, "default"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSetSecret measures an audited write: authorization, workspace
// check, sealing and the SQLite transaction with its audit event.
func BenchmarkSetSecret(b *testing.B) {
	e := newEnv(b)
	ctx := b.Context()
	value := []byte("benchmark-secret-value")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.admin.SetSecret(ctx, "default", "bench", value); err != nil {
			b.Fatal(err)
		}
	}
}
