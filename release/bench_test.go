package release

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hangar-ml/hangar"
)

// discard is a ResponseWriter that keeps nothing, so the benchmarks
// measure the scoring path, not a recorder.
type discard struct {
	h    http.Header
	code int
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

// BenchmarkServeHTTP scores one row through the release controller (the
// workspace prefix cut, the gateway lookup) and, for comparison, through
// the workspace's gateway directly: the difference is what the controller
// adds to every scoring request.
func BenchmarkServeHTTP(b *testing.B) {
	f := newFixture(b)
	f.createEndpoint(b, "churn", "")
	f.deploy(b, "churn", "blue", spec(f.good), true, hangar.StateSucceeded)
	f.waitAllTraffic(b, "churn", "blue")
	keys, err := f.svc.EndpointKeys(f.ctx, ws, "churn")
	if err != nil {
		b.Fatal(err)
	}
	gw := (*f.svc.gws.Load())[ws]
	for _, c := range []struct {
		name string
		h    http.Handler
		path string
	}{
		{"release", f.svc, "/api/v1/workspaces/" + ws + "/endpoints/churn/score"},
		{"gateway", gw, "/endpoints/churn/score"},
	} {
		b.Run(c.name, func(b *testing.B) {
			body := strings.NewReader(row)
			r := httptest.NewRequest("POST", c.path, body)
			r.Header.Set("Authorization", "Bearer "+keys.Primary)
			r.Header.Set("Content-Type", "application/json")
			w := &discard{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				body.Reset(row)
				clear(w.h)
				c.h.ServeHTTP(w, r)
			}
			if w.code != 0 && w.code != http.StatusOK {
				b.Fatalf("status %d, want 200", w.code)
			}
		})
	}
}
