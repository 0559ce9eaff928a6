package httpapi

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/hangar-ml/hangar"
)

// TestEveryRouteNeedsAToken walks the route table: every route but the
// public ones answers 401 without a token, before any service is touched
// (the server here has none).
func TestEveryRouteNeedsAToken(t *testing.T) {
	s := NewServer()
	h := s.Handler()
	wildcard := regexp.MustCompile(`\{[a-z]+\}`)
	public := map[string]bool{"GET /healthz": true, "GET /readyz": true, "GET /metrics": true}
	for _, rt := range s.routes() {
		if rt.public != public[rt.pattern] {
			t.Errorf("route %s: public = %v, want %v", rt.pattern, rt.public, public[rt.pattern])
		}
		if rt.public {
			continue
		}
		method, path, _ := strings.Cut(rt.pattern, " ")
		path = wildcard.ReplaceAllString(path, "x1x")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(method, path, strings.NewReader(`{}`)))
		if rec.Code != http.StatusUnauthorized {
			t.Errorf("%s %s: status %d, want 401", method, path, rec.Code)
			continue
		}
		if e := decodeEnvelope(t, rec); e.Code != hangar.EUNAUTHORIZED || e.Message != "missing bearer token" {
			t.Errorf("%s %s: envelope %+v", method, path, e)
		}
	}
}
