package serving

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hangar-ml/hangar"
)

// probedRunner answers requests and a readiness probe that fails while
// sick is set.
type probedRunner struct {
	sick atomic.Bool
}

func (r *probedRunner) Run(ctx context.Context, raw []byte) ([]byte, error) {
	return []byte(`[1]`), nil
}
func (r *probedRunner) Close() error { return nil }
func (r *probedRunner) Ready(ctx context.Context) error {
	if r.sick.Load() {
		return errors.New("worker 2 does not answer")
	}
	return nil
}

func TestReadinessProbe(t *testing.T) {
	tg := newTestGateway(t, nil)
	r := &probedRunner{}
	tg.deploy(t, DeploymentSpec{Name: "py", Script: r, Probe: ProbeSettings{Period: 2 * time.Millisecond, FailureThreshold: 2, SuccessThreshold: 1}})
	tg.traffic(t, map[string]int{"py": 100}, nil)
	if got := tg.get(t, "/endpoints/ep/v2/health/ready"); got.status != 200 {
		t.Fatalf("ready: got %d %s", got.status, got.body)
	}
	r.sick.Store(true)
	waitFor(t, func() bool { return tg.get(t, "/endpoints/ep/v2/health/ready").status == http.StatusServiceUnavailable })
	got, _ := tg.post(t, nil, "/endpoints/ep/score", "", `{}`)
	if got.status != http.StatusServiceUnavailable || !strings.Contains(got.body, `"code":"not_ready"`) {
		t.Errorf("score on a deployment that is not ready: got %d %s, want 503 not_ready", got.status, got.body)
	}
	r.sick.Store(false)
	waitFor(t, func() bool { return tg.get(t, "/endpoints/ep/v2/health/ready").status == http.StatusOK })
	if got, _ := tg.post(t, nil, "/endpoints/ep/score", "", `{}`); got.status != 200 {
		t.Errorf("score after recovery: got %d %s", got.status, got.body)
	}
}

func TestSmokeTest(t *testing.T) {
	tg := newTestGateway(t, nil)
	m := trainGBDT(t, hangar.ObjectiveRegSquaredError, 5, 3)
	failing := ScriptFunc(func(ctx context.Context, raw []byte) ([]byte, error) { return nil, errors.New("KeyError: 'data'") })
	tests := []struct {
		name string
		spec DeploymentSpec
		code string
	}{
		{"native with a given sample", DeploymentSpec{Name: "a", Model: m, Sample: []byte(`{"data": [[1, 2, 3]]}`)}, ""},
		{"native sample missing a feature", DeploymentSpec{Name: "b", Model: m, Sample: []byte(`{"data": [{"f0": 1}]}`)}, ESMOKEFAILED},
		{"native sample not JSON", DeploymentSpec{Name: "c", Model: m, Sample: []byte(`{`)}, ESMOKEFAILED},
		{"script that raises on the sample", DeploymentSpec{Name: "d", Script: failing, Sample: []byte(`{"data": [[1]]}`)}, ESMOKEFAILED},
		{"script without a sample is probed", DeploymentSpec{Name: "e", Script: &probedRunner{}}, ""},
		{"script whose probe fails", DeploymentSpec{Name: "f", Script: func() *probedRunner { r := &probedRunner{}; r.sick.Store(true); return r }()}, ESMOKEFAILED},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.spec.Endpoint = "ep"
			_, err := tg.Deploy(t.Context(), tt.spec)
			if got := hangar.ErrorCode(err); err != nil && got != tt.code || err == nil && tt.code != "" {
				t.Fatalf("got %v, want code %q", err, tt.code)
			}
			_, deployed := tg.routing("ep").byName[tt.spec.Name]
			if deployed != (tt.code == "") {
				t.Errorf("deployed: got %v, want %v", deployed, tt.code == "")
			}
		})
	}
}

// tokens accepts "tok-<endpoint>".
type tokens struct{}

func (tokens) Verify(ctx context.Context, endpoint, token string) error {
	if token != "tok-"+endpoint {
		return errors.New("bad token")
	}
	return nil
}

func TestAuth(t *testing.T) {
	m := trainGBDT(t, hangar.ObjectiveRegSquaredError, 5, 3)
	tg := newTestGateway(t, func(g *Gateway) { g.Tokens = tokens{} })
	tg.deploy(t, DeploymentSpec{Name: "blue", Model: m})
	tg.traffic(t, map[string]int{"blue": 100}, nil)
	if err := tg.SetEndpoint(EndpointConfig{Name: "other", Keys: []string{"other-key"}}); err != nil {
		t.Fatal(err)
	}
	if err := tg.SetEndpoint(EndpointConfig{Name: "tok", AuthMode: AuthToken}); err != nil {
		t.Fatal(err)
	}
	if _, err := tg.Deploy(t.Context(), DeploymentSpec{Endpoint: "tok", Name: "blue", Model: m}); err != nil {
		t.Fatal(err)
	}
	if err := tg.SetEndpoint(EndpointConfig{Name: "tok", AuthMode: AuthToken, Traffic: map[string]int{"blue": 100}}); err != nil {
		t.Fatal(err)
	}
	body := `{"data": [[1, 2, 3]]}`
	tests := []struct {
		name, path, auth string
		status           int
	}{
		{"primary key", "/endpoints/ep/score", "Bearer " + testKey, 200},
		{"scheme in lower case", "/endpoints/ep/score", "bearer " + testKey, 200},
		{"key of another endpoint", "/endpoints/ep/score", "Bearer other-key", 401},
		{"prefix of the key", "/endpoints/ep/score", "Bearer " + testKey[:5], 401},
		{"basic auth", "/endpoints/ep/score", "Basic " + testKey, 401},
		{"empty", "/endpoints/ep/score", "", 401},
		{"token", "/endpoints/tok/score", "Bearer tok-tok", 200},
		{"token of another endpoint", "/endpoints/tok/score", "Bearer tok-ep", 401},
		{"key on a token endpoint", "/endpoints/tok/score", "Bearer " + testKey, 401},
		{"metadata needs the key", "/endpoints/ep/v2/models/ep", "", 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got reply
			if strings.Contains(tt.path, "/v2/models/") {
				req, _ := http.NewRequest(http.MethodGet, tg.srv.URL+tt.path, nil)
				resp, err := tg.srv.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				got.status = resp.StatusCode
			} else {
				var err error
				got, err = tg.post(t, nil, tt.path, "", body, "Authorization", tt.auth)
				if err != nil {
					t.Fatal(err)
				}
			}
			if got.status != tt.status {
				t.Errorf("got %d %s, want %d", got.status, got.body, tt.status)
			}
		})
	}
	t.Run("token endpoint without a verifier", func(t *testing.T) {
		g := NewGateway()
		if err := g.SetEndpoint(EndpointConfig{Name: "tok", AuthMode: AuthToken}); err != nil {
			t.Fatal(err)
		}
		if err := g.authorize(&http.Request{Header: http.Header{"Authorization": {"Bearer x"}}}, g.routing("tok")); hangar.ErrorCode(err) != hangar.EUNAUTHORIZED {
			t.Errorf("got %v, want %s", err, hangar.EUNAUTHORIZED)
		}
	})
}

func TestDeleteEndpoint(t *testing.T) {
	tg := newTestGateway(t, nil)
	r := &closableRunner{}
	tg.deploy(t, DeploymentSpec{Name: "py", Script: r})
	tg.traffic(t, map[string]int{"py": 100}, nil)
	if err := tg.DeleteEndpoint(t.Context(), "ep"); err != nil {
		t.Fatal(err)
	}
	if !r.closed.Load() {
		t.Error("the deleted endpoint's runner was not closed")
	}
	if got, _ := tg.post(t, nil, "/endpoints/ep/score", "", `{}`); got.status != http.StatusNotFound {
		t.Errorf("score on a deleted endpoint: got %d %s, want 404", got.status, got.body)
	}
	if err := tg.DeleteEndpoint(t.Context(), "ep"); hangar.ErrorCode(err) != hangar.ENOTFOUND {
		t.Errorf("deleting it again: got %v, want %s", err, hangar.ENOTFOUND)
	}
	if err := tg.RemoveDeployment(t.Context(), "ep", "py"); hangar.ErrorCode(err) != hangar.ENOTFOUND {
		t.Errorf("removing a deployment of a deleted endpoint: got %v, want %s", err, hangar.ENOTFOUND)
	}
	// Re-created, so the cleanup's Close has an endpoint to close.
	if err := tg.SetEndpoint(EndpointConfig{Name: "ep", Keys: []string{testKey}}); err != nil {
		t.Fatal(err)
	}
}

// closeCounter is a runner that counts its Close calls.
type closeCounter struct{ closed atomic.Int32 }

func (r *closeCounter) Run(ctx context.Context, raw []byte) ([]byte, error) {
	return []byte(`[1]`), nil
}
func (r *closeCounter) Close() error { r.closed.Add(1); return nil }

// TestDeployClosesTheRunnerOnEveryError: Deploy owns the script runner
// it is given, so a deployment refused for any reason leaves no worker
// processes behind.
func TestDeployClosesTheRunnerOnEveryError(t *testing.T) {
	tg := newTestGateway(t, nil)
	for _, tc := range []struct {
		name string
		spec DeploymentSpec
	}{
		{"an invalid spec", DeploymentSpec{Endpoint: "ep", Name: ""}},
		{"an unknown endpoint", DeploymentSpec{Endpoint: "nope", Name: "py"}},
		{"a model folder that does not load", DeploymentSpec{Endpoint: "ep", Name: "py", ModelDir: t.TempDir()}},
	} {
		r := &closeCounter{}
		tc.spec.Script = r
		if _, err := tg.Deploy(t.Context(), tc.spec); err == nil {
			t.Errorf("%s: deployed", tc.name)
		}
		if n := r.closed.Load(); n != 1 {
			t.Errorf("%s: the runner was closed %d times, want 1", tc.name, n)
		}
	}
}
