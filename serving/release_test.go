package serving

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hangar-ml/hangar"
)

// nanModel predicts NaN: a model that loads but fails its smoke test.
type nanModel struct{ Model }

func (m nanModel) PredictRows(rows []float64, n int, out []float64) {
	for i := range out[:n*m.NumOutputs()] {
		out[i] = math.NaN()
	}
}

// closableRunner is a script runner that fails every request once it is
// closed, and takes a little time per request: closing it before its
// in-flight requests finish fails them.
type closableRunner struct{ closed atomic.Bool }

func (r *closableRunner) Run(ctx context.Context, raw []byte) ([]byte, error) {
	if r.closed.Load() {
		return nil, errors.New("runner is closed")
	}
	time.Sleep(200 * time.Microsecond)
	if r.closed.Load() {
		return nil, errors.New("runner was closed during the request")
	}
	return []byte(`[0.5]`), nil
}

func (r *closableRunner) Close() error { r.closed.Store(true); return nil }

// TestReleaseUnderLoad deploys, shifts, mirrors, promotes, rolls back,
// updates and removes deployments while clients hammer the endpoint over
// real HTTP: not one request may fail.
func TestReleaseUnderLoad(t *testing.T) {
	blueModel := trainGBDT(t, hangar.ObjectiveRegSquaredError, 20, 20)
	greenModel := trainGBDT(t, hangar.ObjectiveBinaryLogistic, 20, 20)
	tg := newTestGateway(t, nil)
	spec := func(name string, m Model) DeploymentSpec {
		return DeploymentSpec{Endpoint: "ep", Name: name, Model: m, InstanceCount: 2, MaxConcurrentRequestsPerInstance: 16, Capture: CaptureSettings{SamplingRate: 1}}
	}
	script := func(name string) DeploymentSpec {
		return DeploymentSpec{Endpoint: "ep", Name: name, Script: &closableRunner{}, InstanceCount: 2, MaxConcurrentRequestsPerInstance: 16}
	}
	tg.deploy(t, spec("blue", blueModel))
	tg.traffic(t, map[string]int{"blue": 100}, nil)

	body := `{"data": [` + row(20, 0.1) + `]}`
	ctx, stop := context.WithCancel(t.Context())
	var (
		wg       sync.WaitGroup
		total    atomic.Int64
		failures atomic.Int64
		mu       sync.Mutex
		byDep    = map[string]int{}
		firstErr string
	)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	defer client.CloseIdleConnections()
	for range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				got, err := tg.post(t, client, "/endpoints/ep/score", "", body)
				total.Add(1)
				mu.Lock()
				if err != nil || got.status != http.StatusOK {
					failures.Add(1)
					if firstErr == "" {
						firstErr = got.body
						if err != nil {
							firstErr = err.Error()
						}
					}
				} else {
					byDep[got.header.Get(HeaderDeployment)]++
				}
				mu.Unlock()
			}
		}()
	}
	pause := func() { time.Sleep(100 * time.Millisecond) }
	steps := []struct {
		name string
		do   func() error
	}{
		{"deploy green", func() error { _, err := tg.Deploy(ctx, script("green")); return err }},
		{"mirror 20% to green", func() error {
			return tg.SetEndpoint(EndpointConfig{Name: "ep", Keys: []string{testKey}, Traffic: map[string]int{"blue": 100}, Mirror: map[string]int{"green": 20}})
		}},
		{"canary 10% green", func() error {
			return tg.SetEndpoint(EndpointConfig{Name: "ep", Keys: []string{testKey}, Traffic: map[string]int{"blue": 90, "green": 10}})
		}},
		{"promote green", func() error {
			return tg.SetEndpoint(EndpointConfig{Name: "ep", Keys: []string{testKey}, Traffic: map[string]int{"green": 100, "blue": 0}})
		}},
		{"roll back to blue", func() error {
			return tg.SetEndpoint(EndpointConfig{Name: "ep", Keys: []string{testKey}, Traffic: map[string]int{"blue": 100, "green": 0}})
		}},
		{"update green in place", func() error { _, err := tg.Deploy(ctx, script("green")); return err }},
		{"update blue in place", func() error { _, err := tg.Deploy(ctx, spec("blue", greenModel)); return err }},
		{"move all traffic to green", func() error {
			return tg.SetEndpoint(EndpointConfig{Name: "ep", Keys: []string{testKey}, Traffic: map[string]int{"green": 100}})
		}},
		{"update green in place under full traffic", func() error { _, err := tg.Deploy(ctx, script("green")); return err }},
		{"back to blue", func() error {
			return tg.SetEndpoint(EndpointConfig{Name: "ep", Keys: []string{testKey}, Traffic: map[string]int{"blue": 100}})
		}},
		{"remove green", func() error { return tg.RemoveDeployment(ctx, "ep", "green") }},
		{"redeploy green with traffic split", func() error {
			if _, err := tg.Deploy(ctx, spec("green", blueModel)); err != nil {
				return err
			}
			return tg.SetEndpoint(EndpointConfig{Name: "ep", Keys: []string{testKey}, Traffic: map[string]int{"blue": 50, "green": 50}})
		}},
	}
	for _, s := range steps {
		pause()
		if err := s.do(); err != nil {
			stop()
			wg.Wait()
			t.Fatalf("%s: %v", s.name, err)
		}
		// A failing deployment never takes traffic and leaves the routing
		// as it was.
		before := tg.routing("ep")
		if _, err := tg.Deploy(ctx, spec("broken", nanModel{blueModel})); hangar.ErrorCode(err) != ESMOKEFAILED {
			t.Errorf("after %s: deploying a model that predicts NaN: got %v, want %s", s.name, err, ESMOKEFAILED)
		}
		if _, err := tg.Deploy(ctx, DeploymentSpec{Endpoint: "ep", Name: "blue", ModelDir: t.TempDir()}); err == nil {
			t.Errorf("after %s: deploying an empty folder as blue: no error", s.name)
		}
		if after := tg.routing("ep"); after != before {
			t.Errorf("after %s: a failed deploy changed the routing from %p to %p", s.name, before, after)
		}
	}
	pause()
	stop()
	wg.Wait()
	if n := failures.Load(); n > 0 {
		t.Errorf("%d of %d requests failed; first: %s", n, total.Load(), firstErr)
	}
	if byDep["blue"] == 0 || byDep["green"] == 0 {
		t.Errorf("answers by deployment %v: want both", byDep)
	}
	if total.Load() < 100 {
		t.Errorf("only %d requests in the test: the load did not run", total.Load())
	}
	t.Logf("%d requests, by deployment %v", total.Load(), byDep)
}

// routing returns an endpoint's published table: a change that fails
// must leave the very same table in place.
func (g *Gateway) routing(name string) *table {
	return (*g.endpoints.Load())[name].table.Load()
}

func TestSetEndpointRules(t *testing.T) {
	m := trainGBDT(t, hangar.ObjectiveRegSquaredError, 5, 3)
	tg := newTestGateway(t, nil)
	tg.deploy(t, DeploymentSpec{Name: "blue", Model: m})
	tg.deploy(t, DeploymentSpec{Name: "green", Model: m})
	tests := []struct {
		name string
		cfg  EndpointConfig
		code string
	}{
		{"bad name", EndpointConfig{Name: "1ep", Keys: []string{"k"}}, hangar.EINVALID},
		{"no key", EndpointConfig{Name: "ep"}, hangar.EINVALID},
		{"bad auth mode", EndpointConfig{Name: "ep", AuthMode: "aad_token", Keys: []string{"k"}}, hangar.EINVALID},
		{"sum not 100", EndpointConfig{Name: "ep", Keys: []string{"k"}, Traffic: map[string]int{"blue": 60, "green": 30}}, hangar.EINVALID},
		{"negative", EndpointConfig{Name: "ep", Keys: []string{"k"}, Traffic: map[string]int{"blue": 110, "green": -10}}, hangar.EINVALID},
		{"unknown deployment", EndpointConfig{Name: "ep", Keys: []string{"k"}, Traffic: map[string]int{"red": 100}}, hangar.ENOTFOUND},
		{"mirror over 50", EndpointConfig{Name: "ep", Keys: []string{"k"}, Traffic: map[string]int{"blue": 100}, Mirror: map[string]int{"green": 60}}, hangar.EINVALID},
		{"mirror with live traffic", EndpointConfig{Name: "ep", Keys: []string{"k"}, Traffic: map[string]int{"blue": 50, "green": 50}, Mirror: map[string]int{"green": 10}}, hangar.EINVALID},
		{"mirror unknown", EndpointConfig{Name: "ep", Keys: []string{"k"}, Traffic: map[string]int{"blue": 100}, Mirror: map[string]int{"red": 10}}, hangar.ENOTFOUND},
		{"new endpoint with traffic", EndpointConfig{Name: "other", Keys: []string{"k"}, Traffic: map[string]int{"blue": 100}}, hangar.ENOTFOUND},
	}
	tg.traffic(t, map[string]int{"blue": 100}, nil)
	before := tg.routing("ep")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tg.SetEndpoint(tt.cfg); hangar.ErrorCode(err) != tt.code {
				t.Errorf("got %v, want code %s", err, tt.code)
			}
			if after := tg.routing("ep"); after != before {
				t.Errorf("routing changed from %p to %p", before, after)
			}
		})
	}
	t.Run("remove a deployment with traffic", func(t *testing.T) {
		if err := tg.RemoveDeployment(t.Context(), "ep", "blue"); hangar.ErrorCode(err) != hangar.ECONFLICT {
			t.Errorf("got %v, want %s", err, hangar.ECONFLICT)
		}
	})
	t.Run("deploy to an unknown endpoint", func(t *testing.T) {
		if _, err := tg.Deploy(t.Context(), DeploymentSpec{Endpoint: "nope", Name: "x", Model: m}); hangar.ErrorCode(err) != hangar.ENOTFOUND {
			t.Errorf("got %v, want %s", err, hangar.ENOTFOUND)
		}
	})
	for _, s := range []DeploymentSpec{
		{Endpoint: "ep", Name: "x"},
		{Endpoint: "ep", Name: "x", Model: m, Script: ScriptFunc(nil)},
		{Endpoint: "ep", Name: "-x", Model: m},
		{Endpoint: "ep", Name: "x", Model: m, RequestTimeout: time.Hour},
		{Endpoint: "ep", Name: "x", Model: m, InstanceCount: hangar.MaxEndpointInstances + 1},
		{Endpoint: "ep", Name: "x", Model: m, Capture: CaptureSettings{SamplingRate: 2}},
	} {
		if _, err := tg.Deploy(t.Context(), s); hangar.ErrorCode(err) != hangar.EINVALID {
			t.Errorf("Deploy %+v: got %v, want %s", s, err, hangar.EINVALID)
		}
	}
	if after := tg.routing("ep"); after != before {
		t.Errorf("routing changed from %p to %p", before, after)
	}
}

func TestLimits(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 8)
	blocking := ScriptFunc(func(ctx context.Context, raw []byte) ([]byte, error) {
		started <- struct{}{}
		select {
		case <-release:
			return []byte(`[1]`), nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	})
	tg := newTestGateway(t, nil)
	tg.deploy(t, DeploymentSpec{Name: "slow", Script: blocking, RequestTimeout: 5 * time.Second})
	tg.deploy(t, DeploymentSpec{Name: "timeout", Script: ScriptFunc(func(ctx context.Context, raw []byte) ([]byte, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}), RequestTimeout: 30 * time.Millisecond})
	tg.deploy(t, DeploymentSpec{Name: "raises", Script: ScriptFunc(func(ctx context.Context, raw []byte) ([]byte, error) {
		return nil, errors.New("ZeroDivisionError: division by zero")
	})})
	tg.deploy(t, DeploymentSpec{Name: "rejects", Script: ScriptFunc(func(ctx context.Context, raw []byte) ([]byte, error) {
		return nil, hangar.Errorf(hangar.EINVALID, "no field x")
	})})
	tg.deploy(t, DeploymentSpec{Name: "echo", Script: ScriptFunc(func(ctx context.Context, raw []byte) ([]byte, error) {
		return append([]byte(`{"got":`), append(raw, '}')...), nil
	})})

	t.Run("one runs, one waits, the third is refused", func(t *testing.T) {
		var wg sync.WaitGroup
		codes := make(chan int, 2)
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got, err := tg.post(t, nil, "/endpoints/ep/score", "", `{}`, HeaderDeployment, "slow")
				if err != nil {
					t.Error(err)
				}
				codes <- got.status
			}()
		}
		<-started
		waitFor(t, func() bool { return (*tg.endpoints.Load())["ep"].deps["slow"].pending.Load() == 2 })
		got, _ := tg.post(t, nil, "/endpoints/ep/score", "", `{}`, HeaderDeployment, "slow")
		if got.status != http.StatusTooManyRequests || !contains(got.body, ETOOMANY) {
			t.Errorf("third request: got %d %s, want 429 %s", got.status, got.body, ETOOMANY)
		}
		close(release)
		wg.Wait()
		close(codes)
		for c := range codes {
			if c != http.StatusOK {
				t.Errorf("admitted request: got %d, want 200", c)
			}
		}
	})
	tests := []struct {
		name, dep, path string
		status          int
		code            string
	}{
		{"timeout", "timeout", "/endpoints/ep/score", http.StatusRequestTimeout, ETIMEOUT},
		{"script raises", "raises", "/endpoints/ep/score", http.StatusFailedDependency, EMODEL},
		{"script rejects input", "rejects", "/endpoints/ep/score", http.StatusBadRequest, hangar.EINVALID},
		{"script on V2", "echo", "/endpoints/ep/v2/models/echo/infer", http.StatusNotImplemented, hangar.ENOTIMPLEMENTED},
		{"script passes the body", "echo", "/endpoints/ep/score", http.StatusOK, ""},
		{"script on MLflow", "echo", "/endpoints/ep/invocations", http.StatusOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tg.post(t, nil, tt.path, "", `{"x":1}`, HeaderDeployment, tt.dep)
			if err != nil {
				t.Fatal(err)
			}
			if got.status != tt.status || tt.code != "" && !contains(got.body, `"code":"`+tt.code+`"`) {
				t.Errorf("got %d %s, want %d %s", got.status, got.body, tt.status, tt.code)
			}
			if tt.code == "" && got.body != `{"got":{"x":1}}` {
				t.Errorf("body: got %s, want the script's answer", got.body)
			}
			if tt.code == EMODEL {
				if h := got.header.Get(headerModelError); h != "500" {
					t.Errorf("%s: got %q, want 500", headerModelError, h)
				}
				if contains(got.body, "ZeroDivision") {
					t.Errorf("the script's error reached the caller: %s", got.body)
				}
			}
		})
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for range 500 {
		if cond() {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatal("condition not met in 1 s")
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
