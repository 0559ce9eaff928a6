package release

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/artifact"
	"github.com/hangar-ml/hangar/disk"
	"github.com/hangar-ml/hangar/internal/pgtest"
	"github.com/hangar-ml/hangar/internal/storetest"
	"github.com/hangar-ml/hangar/serving"
	"github.com/hangar-ml/hangar/sqlstore"
)

const ws = "team-a"

// fixture is a release service over a real SQLite store and disk blob
// store, with workspace ws and the test models stored.
type fixture struct {
	ctx        context.Context
	db         *sqlstore.DB
	store      *sqlstore.EndpointService
	workspaces *sqlstore.WorkspaceService
	data       *sqlstore.DataService
	blobs      hangar.BlobStore
	sealer     *storetest.Sealer
	good, bad  hangar.Digest // manifests of a native model and of one that fails to load
	svc        *Service
}

// backends are the stores the cheaper tests run on: SQLite, and a real
// PostgreSQL (skipped when none can be had outside CI).
var backends = []struct {
	name string
	dsn  func(t testing.TB) string
}{
	{"sqlite", func(t testing.TB) string { return filepath.Join(t.TempDir(), "hangar.db") }},
	{"postgres", func(t testing.TB) string { return pgtest.URL(t) }},
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	return newFixtureOn(t, backends[0].dsn(t))
}

func newFixtureOn(t testing.TB, dsn string) *fixture {
	t.Helper()
	ctx := hangar.WithActor(t.Context(), hangar.Actor{IdentityID: "alice", Name: "alice"})
	dir := t.TempDir()
	f := &fixture{ctx: ctx, sealer: storetest.NewSealer()}
	f.db = sqlstore.New(dsn)
	f.db.Sealer = f.sealer
	if err := f.db.Open(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.db.Close() })
	f.store = sqlstore.NewEndpointService(f.db)
	f.workspaces = sqlstore.NewWorkspaceService(f.db)
	f.data = sqlstore.NewDataService(f.db)
	if err := f.workspaces.CreateWorkspace(ctx, &hangar.Workspace{Name: ws}); err != nil {
		t.Fatal(err)
	}
	bs := disk.New(filepath.Join(dir, "blobs"))
	if err := bs.Init(ctx); err != nil {
		t.Fatal(err)
	}
	f.blobs = bs
	info, _, err := artifact.PutDir(ctx, bs, os.DirFS("../serving/testdata/mlflow-lightgbm"))
	if err != nil {
		t.Fatal(err)
	}
	f.good = info.Digest
	info, _, err = artifact.PutDir(ctx, bs, fstest.MapFS{"model.json": {Data: []byte(`{"learner": "not a model"}`)}})
	if err != nil {
		t.Fatal(err)
	}
	f.bad = info.Digest
	f.svc = f.newService(t)
	return f
}

// newService opens a release service over the fixture's store.
func (f *fixture) newService(t testing.TB) *Service {
	t.Helper()
	return f.newServiceWith(t, nil)
}

// newServiceWith opens a release service after configure set its fields.
func (f *fixture) newServiceWith(t testing.TB, configure func(*Service)) *Service {
	t.Helper()
	s := New(f.store)
	s.Workspaces, s.Blobs, s.Data = f.workspaces, f.blobs, f.data
	s.Dir = t.TempDir()
	s.TokenKey = f.sealer.DeriveKey("hangar endpoint token v1")
	s.CaptureInterval = 20 * time.Millisecond
	if configure != nil {
		configure(s)
	}
	if err := s.Open(f.ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func spec(model hangar.Digest) hangar.DeploymentSpec {
	p := hangar.Probe{Period: 10, Timeout: 2, SuccessThreshold: 1, FailureThreshold: 30}
	return hangar.DeploymentSpec{
		ModelName: "m", ModelVersion: "1", ModelDigest: model, InstanceCount: 2,
		Request:  hangar.RequestSettings{RequestTimeoutMS: 5000, MaxConcurrentRequestsPerInstance: 8},
		Liveness: p, Readiness: p,
	}
}

func (f *fixture) createEndpoint(t testing.TB, name, auth string) {
	t.Helper()
	if err := f.svc.CreateOnlineEndpoint(f.ctx, ws, &hangar.OnlineEndpoint{Name: name, AuthMode: auth}); err != nil {
		t.Fatal(err)
	}
}

// deploy creates a deployment through Deploy and waits for its outcome.
func (f *fixture) deploy(t testing.TB, endpoint, name string, s hangar.DeploymentSpec, all bool, want hangar.ProvisioningState) *hangar.OnlineDeployment {
	t.Helper()
	d := &hangar.OnlineDeployment{Endpoint: endpoint, Name: name, Spec: s}
	if err := f.svc.Deploy(f.ctx, ws, d, all); err != nil {
		t.Fatalf("Deploy %s: %v", name, err)
	}
	return f.wait(t, endpoint, name, want)
}

// wait polls until the deployment leaves Creating and Updating, and
// checks its state (and, with all traffic, that the traffic was set).
func (f *fixture) wait(t testing.TB, endpoint, name string, want hangar.ProvisioningState) *hangar.OnlineDeployment {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		d, err := f.store.OnlineDeployment(f.ctx, ws, endpoint, name)
		if err != nil {
			t.Fatal(err)
		}
		if d.State != hangar.StateCreating && d.State != hangar.StateUpdating {
			if d.State != want {
				t.Fatalf("deployment %s: got state %s (%q), want %s", name, d.State, d.Message, want)
			}
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("deployment %s: still %s after 30 s", name, d.State)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitAllTraffic polls until the rollout gave name all the endpoint's
// traffic, in the store and on the gateway (the rollout's last event).
func (f *fixture) waitAllTraffic(t testing.TB, endpoint, name string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		e, err := f.store.OnlineEndpoint(f.ctx, ws, endpoint)
		if err != nil {
			t.Fatal(err)
		}
		lines, err := f.svc.Logs(f.ctx, ws, endpoint, name, 0)
		if err != nil {
			t.Fatal(err)
		}
		if e.Traffic[name] == 100 && strings.Contains(strings.Join(lines, "\n"), "takes 100% of the live traffic") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("traffic of %s: got %s, want %s=100", endpoint, hangar.FormatTraffic(e.Traffic), name)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

const row = `{"input_data": {"columns": ["x0", "x1", "x2"], "data": [[0.5, 1.5, -0.25]]}}`

// score posts a row to the endpoint's /score through s.ServeHTTP.
func score(t testing.TB, h http.Handler, endpoint, bearer string, hdr ...string) (int, string) {
	t.Helper()
	r := httptest.NewRequest("POST", "/api/v1/workspaces/"+ws+"/endpoints/"+endpoint+"/score", strings.NewReader(row))
	r.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		r.Header.Set("Authorization", "Bearer "+bearer)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Code, w.Body.String()
}

func TestDeployScoresWithKeysAndRegenerateVoidsTheOldKey(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			f := newFixtureOn(t, b.dsn(t))
			f.createEndpoint(t, "churn", "")
			f.deploy(t, "churn", "blue", spec(f.good), true, hangar.StateSucceeded)
			f.waitAllTraffic(t, "churn", "blue")
			keys, err := f.svc.EndpointKeys(f.ctx, ws, "churn")
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{keys.Primary, keys.Secondary} {
				if code, body := score(t, f.svc, "churn", k); code != 200 || !strings.HasPrefix(body, "[") {
					t.Fatalf("score with a key: got %d %s, want 200 and a list of predictions", code, body)
				}
			}
			for _, c := range []struct{ name, bearer string }{{"no key", ""}, {"wrong key", "nope"}} {
				if code, _ := score(t, f.svc, "churn", c.bearer); code != http.StatusUnauthorized {
					t.Errorf("%s: got %d, want 401", c.name, code)
				}
			}
			nk, err := f.svc.RegenerateKey(f.ctx, ws, "churn", hangar.KeyPrimary)
			if err != nil {
				t.Fatal(err)
			}
			if code, _ := score(t, f.svc, "churn", keys.Primary); code != http.StatusUnauthorized {
				t.Errorf("old primary key right after RegenerateKey: got %d, want 401", code)
			}
			for _, k := range []string{nk.Primary, keys.Secondary} {
				if code, body := score(t, f.svc, "churn", k); code != 200 {
					t.Errorf("score with a current key: got %d %s, want 200", code, body)
				}
			}
			// Unknown workspace and endpoint are the gateway's 404.
			for _, p := range []string{"/api/v1/workspaces/other/endpoints/churn/score", "/api/v1/workspaces/" + ws + "/endpoints/nope/score"} {
				w := httptest.NewRecorder()
				f.svc.ServeHTTP(w, httptest.NewRequest("POST", p, strings.NewReader(row)))
				if w.Code != http.StatusNotFound {
					t.Errorf("POST %s: got %d, want 404", p, w.Code)
				}
			}
			lines, err := f.svc.Logs(f.ctx, ws, "churn", "blue", 0)
			if err != nil || len(lines) == 0 || !strings.Contains(strings.Join(lines, "\n"), "smoke test passed") {
				t.Errorf("Logs: got %q, %v; want the rollout's events", lines, err)
			}
		})
	}
}

func TestFailedDeploymentLeavesTrafficAsItWas(t *testing.T) {
	f := newFixture(t)
	f.createEndpoint(t, "churn", "")
	f.deploy(t, "churn", "blue", spec(f.good), true, hangar.StateSucceeded)
	f.waitAllTraffic(t, "churn", "blue")
	before, err := f.store.OnlineEndpoint(f.ctx, ws, "churn")
	if err != nil {
		t.Fatal(err)
	}
	d := f.deploy(t, "churn", "green", spec(f.bad), true, hangar.StateFailed)
	// In the user's terms: the file relative to the model folder and what
	// it should hold; not the server's staging path nor the decoder's Go
	// types.
	if want := "deployment failed: load model m:1: model.json: XGBoost model: learner is a JSON string, want an object"; d.Message != want {
		t.Errorf("message: got %q, want %q", d.Message, want)
	}
	after, err := f.store.OnlineEndpoint(f.ctx, ws, "churn")
	if err != nil {
		t.Fatal(err)
	}
	if after.Version != before.Version || hangar.FormatTraffic(after.Traffic) != "blue=100" {
		t.Errorf("traffic after a failed deployment: got %s (version %d), want blue=100 (version %d)", hangar.FormatTraffic(after.Traffic), after.Version, before.Version)
	}
	keys, _ := f.svc.EndpointKeys(f.ctx, ws, "churn")
	if code, body := score(t, f.svc, "churn", keys.Primary); code != 200 {
		t.Errorf("score after a failed deployment: got %d %s, want 200", code, body)
	}
	// A failed redeploy keeps the old deployment serving.
	bad := spec(f.bad)
	if _, err := f.svc.Redeploy(f.ctx, ws, "churn", "blue", hangar.DeploymentTransition{Spec: &bad}); err != nil {
		t.Fatal(err)
	}
	f.wait(t, "churn", "blue", hangar.StateFailed)
	if code, body := score(t, f.svc, "churn", keys.Primary); code != 200 {
		t.Errorf("score after a failed redeploy: got %d %s, want 200 (the old one serves)", code, body)
	}
	// No model files at all: a precise message.
	d = f.deploy(t, "churn", "nofiles", spec(""), false, hangar.StateFailed)
	if !strings.Contains(d.Message, "model_digest is empty") {
		t.Errorf("message: got %q, want it to name the empty model_digest", d.Message)
	}
}

func TestRedeployAndTrafficShiftsUnderLoadFailNoRequest(t *testing.T) {
	f := newFixture(t)
	f.createEndpoint(t, "churn", "")
	f.deploy(t, "churn", "blue", spec(f.good), true, hangar.StateSucceeded)
	f.waitAllTraffic(t, "churn", "blue")
	f.deploy(t, "churn", "green", spec(f.good), false, hangar.StateSucceeded)
	keys, _ := f.svc.EndpointKeys(f.ctx, ws, "churn")
	srv := httptest.NewServer(f.svc)
	defer srv.Close()

	var ok, failed atomic.Int64
	var firstFail atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				req, _ := http.NewRequest("POST", srv.URL+"/api/v1/workspaces/"+ws+"/endpoints/churn/score", strings.NewReader(row))
				req.Header.Set("Authorization", "Bearer "+keys.Primary)
				req.Header.Set("Content-Type", "application/json")
				resp, err := srv.Client().Do(req)
				if err != nil {
					failed.Add(1)
					firstFail.CompareAndSwap(nil, err.Error())
					continue
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					failed.Add(1)
					firstFail.CompareAndSwap(nil, resp.Status+" "+string(body))
				} else {
					ok.Add(1)
				}
			}
		}()
	}
	setTraffic := func(tr map[string]int) {
		t.Helper()
		if _, err := f.svc.SetTraffic(f.ctx, ws, "churn", tr, nil, 0); err != nil {
			t.Fatalf("SetTraffic %v: %v", tr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	setTraffic(map[string]int{"blue": 90, "green": 10})
	setTraffic(map[string]int{"blue": 0, "green": 100})
	// Redeploy blue (no traffic) and green (all traffic) under load.
	for _, name := range []string{"blue", "green"} {
		s := spec(f.good)
		s.SampleRequest = []byte(row)
		if _, err := f.svc.Redeploy(f.ctx, ws, "churn", name, hangar.DeploymentTransition{Spec: &s}); err != nil {
			t.Fatal(err)
		}
		f.wait(t, "churn", name, hangar.StateSucceeded)
	}
	setTraffic(map[string]int{"blue": 100, "green": 0}) // roll back
	// Shadow green: mirrored copies, answers discarded.
	if _, err := f.svc.SetTraffic(f.ctx, ws, "churn", nil, map[string]int{"green": 20}, 0); err != nil {
		t.Fatalf("mirror: %v", err)
	}
	time.Sleep(50 * time.Millisecond)
	if _, err := f.svc.SetTraffic(f.ctx, ws, "churn", map[string]int{"blue": 50, "green": 50}, map[string]int{"green": 0}, 0); err != nil {
		t.Fatalf("canary after the mirror: %v", err)
	}
	time.Sleep(50 * time.Millisecond)
	close(stop)
	wg.Wait()
	if n := failed.Load(); n != 0 {
		t.Fatalf("%d of %d requests failed while deploying and shifting traffic; first: %v", n, n+ok.Load(), firstFail.Load())
	}
	if ok.Load() < 50 {
		t.Fatalf("only %d requests scored: the load did not run", ok.Load())
	}
}

func TestReplayServesAgainOnAFreshService(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			f := newFixtureOn(t, b.dsn(t))
			f.createEndpoint(t, "churn", "")
			f.deploy(t, "churn", "blue", spec(f.good), true, hangar.StateSucceeded)
			f.waitAllTraffic(t, "churn", "blue")
			f.deploy(t, "churn", "broken", spec(f.bad), false, hangar.StateFailed)
			// A deployment stored but never rolled out (the server stopped
			// while it was Creating) is finished by Replay.
			if err := f.store.CreateOnlineDeployment(f.ctx, ws, &hangar.OnlineDeployment{Endpoint: "churn", Name: "green", Spec: spec(f.good)}); err != nil {
				t.Fatal(err)
			}
			keys, _ := f.svc.EndpointKeys(f.ctx, ws, "churn")
			if err := f.svc.Close(); err != nil {
				t.Fatal(err)
			}
			fresh := f.newService(t)
			if code, _ := score(t, fresh, "churn", keys.Primary); code != http.StatusNotFound {
				t.Fatalf("before Replay: got %d, want 404", code)
			}
			if err := fresh.Replay(f.ctx); err != nil {
				t.Fatal(err)
			}
			if code, body := score(t, fresh, "churn", keys.Primary); code != 200 {
				t.Fatalf("after Replay: got %d %s, want 200", code, body)
			}
			if d := f.wait(t, "churn", "green", hangar.StateSucceeded); d.Message != "" {
				t.Errorf("green after Replay: message %q, want none", d.Message)
			}
			f.wait(t, "churn", "broken", hangar.StateFailed)
			if code, body := score(t, fresh, "churn", keys.Primary, "azureml-model-deployment", "green"); code != 200 {
				t.Errorf("green after Replay: got %d %s, want 200", code, body)
			}
		})
	}
}

func TestTokenScoresItsEndpointOnly(t *testing.T) {
	f := newFixture(t)
	f.createEndpoint(t, "tok", hangar.EndpointAuthToken)
	f.createEndpoint(t, "other", hangar.EndpointAuthToken)
	f.createEndpoint(t, "keyed", "")
	f.deploy(t, "tok", "blue", spec(f.good), true, hangar.StateSucceeded)
	f.waitAllTraffic(t, "tok", "blue")
	tok, exp, err := f.svc.Token(f.ctx, ws, "tok")
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Until(exp); d < 50*time.Minute || d > 61*time.Minute {
		t.Errorf("token expires in %s, want about an hour", d)
	}
	if code, body := score(t, f.svc, "tok", tok); code != 200 {
		t.Fatalf("score with a token: got %d %s, want 200", code, body)
	}
	other, _, err := f.svc.Token(f.ctx, ws, "other")
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := score(t, f.svc, "tok", other); code != http.StatusUnauthorized {
		t.Errorf("a token of another endpoint: got %d, want 401", code)
	}
	keys, _ := f.svc.EndpointKeys(f.ctx, ws, "tok")
	if code, _ := score(t, f.svc, "tok", keys.Primary); code != http.StatusUnauthorized {
		t.Errorf("a key on an aml_token endpoint: got %d, want 401", code)
	}
	if _, _, err := f.svc.Token(f.ctx, ws, "keyed"); hangar.ErrorCode(err) != hangar.EINVALID {
		t.Errorf("Token of a key endpoint: got %v, want EINVALID", err)
	}
	if _, _, err := f.svc.Token(f.ctx, ws, "nope"); hangar.ErrorCode(err) != hangar.ENOTFOUND {
		t.Errorf("Token of a missing endpoint: got %v, want ENOTFOUND", err)
	}
}

func TestCaptureRegistersDataVersionsJoinableByCorrelationID(t *testing.T) {
	f := newFixture(t)
	f.createEndpoint(t, "churn", "")
	s := spec(f.good)
	s.DataCollector = &hangar.DataCollector{SamplingRate: 1, RollingRate: "Hour"}
	f.deploy(t, "churn", "blue", s, true, hangar.StateSucceeded)
	f.waitAllTraffic(t, "churn", "blue")
	keys, _ := f.svc.EndpointKeys(f.ctx, ws, "churn")
	ids := []string{"corr-1", "corr-2", "corr-3"}
	for _, id := range ids {
		if code, body := score(t, f.svc, "churn", keys.Primary, "x-request-id", id); code != 200 {
			t.Fatalf("score: got %d %s", code, body)
		}
	}
	if err := f.svc.Close(); err != nil { // uploads the open windows
		t.Fatal(err)
	}
	for _, c := range []struct{ name, field string }{
		{"churn-blue-model_inputs", `"input":{"input_data"`},
		{"churn-blue-model_outputs", `"output":[`},
	} {
		a, err := f.data.LatestDataVersion(f.ctx, ws, c.name)
		if err != nil {
			t.Fatalf("data asset %s: %v", c.name, err)
		}
		if a.Type != hangar.DataURIFolder || a.Tags["deployment"] != "blue" {
			t.Errorf("%s: got type %s tags %v, want uri_folder of deployment blue", c.name, a.Type, a.Tags)
		}
		text := readAsset(t, f, a)
		for _, id := range ids {
			if !strings.Contains(text, `"correlationid":"`+id+`"`) {
				t.Errorf("%s: no record with correlation id %s in\n%s", c.name, id, text)
			}
		}
		if !strings.Contains(text, c.field) {
			t.Errorf("%s: want lines with %s, got\n%s", c.name, c.field, text)
		}
	}
}

// readAsset returns the text of every file of a data asset version.
func readAsset(t *testing.T, f *fixture, a *hangar.DataAsset) string {
	t.Helper()
	m, err := artifact.ReadManifest(f.ctx, f.blobs, a.Manifest.Digest)
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	for _, e := range m.Files {
		rc, err := f.blobs.Open(f.ctx, e.Digest)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(rc)
		for sc.Scan() {
			sb.WriteString(sc.Text() + "\n")
		}
		rc.Close()
	}
	return sb.String()
}

// fakeScripts records what it is asked to start and runs a Go function
// in place of Python workers.
type fakeScripts struct {
	mu   sync.Mutex
	cfgs []ScriptConfig
	fail error
}

type fakeRunner struct{ serving.ScriptFunc }

func (fakeRunner) Logs(n int) []string { return []string{"worker=0 init() done"} }

func (s *fakeScripts) StartScript(ctx context.Context, cfg ScriptConfig) (serving.ScriptRunner, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cfgs = append(s.cfgs, cfg)
	if s.fail != nil {
		return nil, s.fail
	}
	return fakeRunner{func(ctx context.Context, raw []byte) ([]byte, error) { return []byte(`[1.5]`), nil }}, nil
}

func (s *fakeScripts) last() ScriptConfig {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfgs[len(s.cfgs)-1]
}

const sklearnMLmodel = `artifact_path: model
flavors:
  python_function:
    loader_module: mlflow.sklearn
    model_path: model.pkl
    python_version: 3.11.4
  sklearn:
    pickled_model: model.pkl
mlflow_version: 2.10.2
`

func TestScriptDeploymentsGetTheirFilesAndSettings(t *testing.T) {
	f := newFixture(t)
	scripts := &fakeScripts{}
	f.svc.Scripts = scripts
	f.createEndpoint(t, "churn", "")
	keys, _ := f.svc.EndpointKeys(f.ctx, ws, "churn")
	put := func(fsys fstest.MapFS) hangar.Digest {
		info, _, err := artifact.PutDir(f.ctx, f.blobs, fsys)
		if err != nil {
			t.Fatal(err)
		}
		return info.Digest
	}
	pyfunc := put(fstest.MapFS{"MLmodel": {Data: []byte(sklearnMLmodel)}, "model.pkl": {Data: []byte("pickle")}})
	code := put(fstest.MapFS{"src/score.py": {Data: []byte("def init(): pass\ndef run(raw): return [1.5]\n")}})

	t.Run("mlflow flavor not served natively", func(t *testing.T) {
		f.deploy(t, "churn", "pyfunc", spec(pyfunc), false, hangar.StateSucceeded)
		cfg := scripts.last()
		if cfg.ScoringScript != "" || cfg.Workers != 2 {
			t.Errorf("got script %q, %d workers; want the pyfunc folder (no script) and instance_count 2 workers", cfg.ScoringScript, cfg.Workers)
		}
		if _, err := os.Stat(filepath.Join(cfg.ModelDir, "MLmodel")); err != nil {
			t.Errorf("model folder %s: %v", cfg.ModelDir, err)
		}
		if code, body := score(t, f.svc, "churn", keys.Primary, "azureml-model-deployment", "pyfunc"); code != 200 || body != "[1.5]" {
			t.Errorf("score: got %d %s, want 200 [1.5]", code, body)
		}
		lines, _ := f.svc.Logs(f.ctx, ws, "churn", "pyfunc", 0)
		if got := strings.Join(lines, "\n"); !strings.Contains(got, "python_function") || !strings.Contains(got, "init() done") {
			t.Errorf("Logs: got %q, want the rollout's events and the workers' output", lines)
		}
	})
	t.Run("scoring script", func(t *testing.T) {
		s := spec(f.good)
		s.CodeDigest, s.ScoringScript = code, "src/score.py"
		s.EnvironmentName, s.EnvironmentVersion = "sklearn", "1"
		s.EnvironmentVariables = map[string]string{"THRESHOLD": "0.7"}
		s.Request.RequestTimeoutMS = 1500
		f.deploy(t, "churn", "script", s, false, hangar.StateSucceeded)
		cfg := scripts.last()
		if cfg.ScoringScript != "src/score.py" || cfg.Env["THRESHOLD"] != "0.7" || cfg.RequestTimeout != 1500*time.Millisecond {
			t.Errorf("got %+v; want the script, its environment variables and request timeout", cfg)
		}
		if _, err := os.Stat(filepath.Join(cfg.CodeDir, "src", "score.py")); err != nil {
			t.Errorf("code folder: %v", err)
		}
		if _, err := os.Stat(filepath.Join(cfg.ModelDir, "MLmodel")); err != nil {
			t.Errorf("model folder (AZUREML_MODEL_DIR): %v", err)
		}
	})
	t.Run("workers fail to start", func(t *testing.T) {
		scripts.fail = hangar.Errorf(hangar.EINVALID, "init() raised ValueError: no model")
		d := f.deploy(t, "churn", "broken", spec(pyfunc), false, hangar.StateFailed)
		if !strings.Contains(d.Message, "start the scoring workers: init() raised ValueError: no model") {
			t.Errorf("message: got %q, want the workers' failure", d.Message)
		}
	})
	t.Run("the model folder is shared", func(t *testing.T) {
		ents, err := os.ReadDir(filepath.Join(f.svc.Dir, "models"))
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		if len(names) != 2 { // the good model and the pyfunc folder, once each
			t.Errorf("staged models: got %v, want two folders, one per digest, no temporary ones", names)
		}
	})
}

func TestCaptureRegistersOneVersionPerRollingWindow(t *testing.T) {
	f := newFixture(t)
	var skew atomic.Int64 // the service's clock runs ahead by this much
	f.svc.Close()
	f.svc = f.newServiceWith(t, func(s *Service) {
		s.Now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	})
	f.createEndpoint(t, "churn", "")
	s := spec(f.good)
	s.DataCollector = &hangar.DataCollector{SamplingRate: 1, RollingRate: "Minute", Collections: map[string]hangar.DataCollection{
		"model_inputs":  {Enabled: true, DataName: "churn-inputs"},
		"model_outputs": {Enabled: false},
	}}
	f.deploy(t, "churn", "blue", s, true, hangar.StateSucceeded)
	f.waitAllTraffic(t, "churn", "blue")
	keys, _ := f.svc.EndpointKeys(f.ctx, ws, "churn")
	versions := func() []*hangar.DataAsset {
		page, err := f.data.ListDataVersions(f.ctx, ws, "churn-inputs", false, hangar.ListOptions{})
		if err != nil && !hangar.IsCode(err, hangar.ENOTFOUND) {
			t.Fatal(err)
		}
		if page == nil {
			return nil
		}
		return page.Items
	}
	for round, id := range []string{"first-window", "second-window"} {
		if code, body := score(t, f.svc, "churn", keys.Primary, "x-request-id", id); code != 200 {
			t.Fatalf("score: got %d %s", code, body)
		}
		time.Sleep(100 * time.Millisecond) // the gateway hands the record over
		skew.Add(int64(2 * time.Minute))   // the window is over
		deadline := time.Now().Add(10 * time.Second)
		for len(versions()) != round+1 {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: got %d versions of churn-inputs, want %d", round, len(versions()), round+1)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	var texts []string
	for _, a := range versions() {
		texts = append(texts, readAsset(t, f, a))
	}
	joined := strings.Join(texts, "\n---\n")
	for _, id := range []string{"first-window", "second-window"} {
		if strings.Count(joined, `"correlationid":"`+id+`"`) != 1 {
			t.Errorf("want %s in exactly one version, got\n%s", id, joined)
		}
	}
	if _, err := f.data.LatestDataVersion(f.ctx, ws, "churn-blue-model_outputs"); !hangar.IsCode(err, hangar.ENOTFOUND) {
		t.Errorf("a disabled collection: got %v, want no data asset (ENOTFOUND)", err)
	}
}
