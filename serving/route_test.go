package serving

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hangar-ml/hangar"
)

// TestServeScoringAnswersAsTheMux checks that the mux-free route of /score
// and /invocations answers every request exactly as the mux does: for each
// request, ServeHTTP's answer equals the mux's, and ServeScoring takes it
// only when the mux would hand it to the same handler with the same
// endpoint.
func TestServeScoringAnswersAsTheMux(t *testing.T) {
	m := trainGBDT(t, hangar.ObjectiveBinaryLogistic, 5, 3)
	tg := newTestGateway(t, nil)
	tg.deploy(t, DeploymentSpec{Name: "blue", Model: m})
	tg.traffic(t, map[string]int{"blue": 100}, nil)
	body := `{"data": [` + row(3, 0.5) + `]}`
	cases := []struct {
		method, target string
		fast           bool // ServeScoring takes it
	}{
		{"POST", "/endpoints/ep/score", true},
		{"POST", "/endpoints/ep/invocations", true},
		{"POST", "/endpoints/nope/score", true}, // a valid name the gateway does not have: its 404
		{"POST", "/endpoints/Ep-2/score", true},
		{"GET", "/endpoints/ep/score", false},
		{"PUT", "/endpoints/ep/invocations", false},
		{"POST", "/endpoints/ep/score/", false},
		{"POST", "/endpoints/ep//score", false},
		{"POST", "/endpoints//score", false},
		{"POST", "/endpoints/./score", false},
		{"POST", "/endpoints/../score", false},
		{"POST", "/endpoints/x/../ep/score", false},
		{"POST", "/endpoints/e%70/score", false}, // escaped: RawPath is set
		{"POST", "/endpoints/a%2Fb/score", false},
		{"POST", "/endpoints/e_p/score", false},
		{"POST", "/endpoints/ep/scores", false},
		{"POST", "/endpoints/ep/v2/models/ep/infer", false},
		{"POST", "/endpoint/ep/score", false},
		{"POST", "/endpoints/ep/score?x=1", true},
	}
	for _, c := range cases {
		t.Run(c.method+" "+c.target, func(t *testing.T) {
			req := func() *http.Request {
				r := httptest.NewRequest(c.method, c.target, strings.NewReader(body))
				r.Header.Set("Content-Type", "application/json")
				r.Header.Set("Authorization", "Bearer "+testKey)
				r.Header.Set(HeaderRequestID, "req-1")
				return r
			}
			probe := httptest.NewRecorder()
			r := req()
			fast := tg.ServeScoring(probe, r, r.URL.Path)
			if fast != c.fast {
				t.Fatalf("ServeScoring took it: got %v, want %v", fast, c.fast)
			}
			got, want := httptest.NewRecorder(), httptest.NewRecorder()
			tg.ServeHTTP(got, req())
			tg.mux.ServeHTTP(want, req())
			if got.Code != want.Code || got.Body.String() != want.Body.String() {
				t.Errorf("ServeHTTP: got %d %s, want the mux's %d %s", got.Code, got.Body, want.Code, want.Body)
			}
			for _, h := range []string{"Content-Type", "X-Request-Id", "Azureml-Model-Deployment", "Www-Authenticate", "Location"} {
				if g, w := got.Header().Get(h), want.Header().Get(h); g != w {
					t.Errorf("header %s: got %q, want the mux's %q", h, g, w)
				}
			}
			if fast && !bytes.Equal(probe.Body.Bytes(), want.Body.Bytes()) {
				t.Errorf("ServeScoring: got %d %s, want the mux's %d %s", probe.Code, probe.Body, want.Code, want.Body)
			}
		})
	}
}

// TestCanonicalHeaderKeys keeps the pre-canonicalized header names the hot
// path indexes maps with in step with the names they stand for.
func TestCanonicalHeaderKeys(t *testing.T) {
	for got, name := range map[string]string{canonDeployment: HeaderDeployment} {
		if want := http.CanonicalHeaderKey(name); got != want {
			t.Errorf("canonical key of %s: got %q, want %q", name, got, want)
		}
	}
}
