package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/artifact"
	"github.com/hangar-ml/hangar/disk"
	"github.com/hangar-ml/hangar/internal/storetest"
	"github.com/hangar-ml/hangar/pyworker"
	"github.com/hangar-ml/hangar/seal"
	"github.com/hangar-ml/hangar/sqlstore"
)

// startServer runs serve until the test ends.
func startServer(t *testing.T, cfg *serverConfig) running {
	t.Helper()
	return startServerLogging(t, cfg, io.Discard)
}

// startServerLogging runs serve until the test ends, its JSON log going
// to logs.
func startServerLogging(t *testing.T, cfg *serverConfig, logs io.Writer) running {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	up := make(chan running, 1)
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, cfg, slog.New(slog.NewJSONHandler(logs, nil)), func(r running) { up <- r })
	}()
	var srv running
	select {
	case srv = <-up:
	case err := <-done:
		t.Fatalf("serve: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve returned %v after cancel; want nil", err)
		}
	})
	return srv
}

func post(t *testing.T, url, bearer, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), "POST", url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestServeScoresReplayedEndpoints: `hangar server` serves the scoring
// routes before the API (no workspace token: the endpoint key decides),
// and brings back at start the endpoints and deployments its store holds
// — here one stored while the server was down, still Creating.
func TestServeScoresReplayedEndpoints(t *testing.T) {
	dir := t.TempDir()
	cfg := &serverConfig{
		Addr: "127.0.0.1:0", DataDir: dir, DB: filepath.Join(dir, "hangar.db"),
		Artifacts: filepath.Join(dir, "artifacts"), KEKFile: filepath.Join(dir, "kek"),
	}
	// First start: creates the store and the KEK; scoring paths are the
	// gateway's, API paths still want a token.
	t.Run("first start", func(t *testing.T) {
		srv := startServer(t, cfg)
		code, body := post(t, srv.URL+"/api/v1/workspaces/team-a/endpoints/churn/score", "", `{"data": [[1]]}`)
		if code != http.StatusNotFound || !strings.Contains(body, "endpoint churn does not exist") {
			t.Errorf("score an unknown endpoint: got %d %s, want the gateway's 404", code, body)
		}
		if code, _ := post(t, srv.URL+"/api/v1/workspaces", "", `{"name": "team-a"}`); code != http.StatusUnauthorized {
			t.Errorf("API without a token: got %d, want 401", code)
		}
	})

	// While the server is down: a workspace, an endpoint and a deployment
	// of a stored model, as the API would have left them.
	ctx := t.Context()
	kek, _, err := seal.LoadOrCreateKEK(cfg.KEKFile)
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := seal.New(kek)
	if err != nil {
		t.Fatal(err)
	}
	db := sqlstore.New(cfg.DB)
	db.Sealer, db.AuditKey = sealer, sealer.DeriveKey(hangar.AuditKeyPurpose)
	if err := db.Open(ctx); err != nil {
		t.Fatal(err)
	}
	blobs := disk.New(cfg.Artifacts)
	if err := blobs.Init(ctx); err != nil {
		t.Fatal(err)
	}
	model, _, err := artifact.PutDir(ctx, blobs, os.DirFS("../../serving/testdata/mlflow-lightgbm"))
	if err != nil {
		t.Fatal(err)
	}
	if err := sqlstore.NewWorkspaceService(db).CreateWorkspace(ctx, &hangar.Workspace{Name: "team-a"}); err != nil {
		t.Fatal(err)
	}
	eps := sqlstore.NewEndpointService(db)
	if err := eps.CreateOnlineEndpoint(ctx, "team-a", &hangar.OnlineEndpoint{Name: "churn"}); err != nil {
		t.Fatal(err)
	}
	p := hangar.Probe{Period: 10, Timeout: 2, SuccessThreshold: 1, FailureThreshold: 30}
	err = eps.CreateOnlineDeployment(ctx, "team-a", &hangar.OnlineDeployment{Endpoint: "churn", Name: "blue", Spec: hangar.DeploymentSpec{
		ModelName: "churn", ModelVersion: "1", ModelDigest: model.Digest, InstanceCount: 1,
		Request:  hangar.RequestSettings{RequestTimeoutMS: 5000, MaxConcurrentRequestsPerInstance: 4},
		Liveness: p, Readiness: p,
	}})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := eps.EndpointKeys(ctx, "team-a", "churn")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	srv := startServer(t, cfg)
	url := srv.URL + "/api/v1/workspaces/team-a/endpoints/churn/score"
	row := `{"input_data": {"columns": ["x0", "x1", "x2"], "data": [[0.5, 1.5, -0.25]]}}`
	deadline := time.Now().Add(30 * time.Second)
	for {
		// No traffic yet: name the deployment.
		req, _ := http.NewRequestWithContext(t.Context(), "POST", url, strings.NewReader(row))
		req.Header.Set("Authorization", "Bearer "+keys.Primary)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("azureml-model-deployment", "blue")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("score the replayed deployment: got %d %s, want 200", resp.StatusCode, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code, _ := post(t, url, "not-the-key", row); code != http.StatusUnauthorized {
		t.Errorf("a wrong key: got %d, want 401", code)
	}
	// The gateway's metrics are on the server's /metrics, per workspace.
	tok, err := os.ReadFile(srv.TokenPath)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(t.Context(), "GET", srv.URL+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want := `hangar_serving_requests_total{code="200",deployment="blue",endpoint="churn",workspace="team-a"}`
	if !strings.Contains(string(b), want) {
		t.Errorf("/metrics: no %s in\n%.2000s", want, b)
	}
}

// TestReleaseRunsScoringScriptsInPython: the server's release controller
// starts a deployment's Azure scoring script in python3 workers (the
// wiring of pythonScripts), scores through it, and get-logs shows the
// workers' output; a script whose init() raises fails the deployment
// with the exception.
func TestReleaseRunsScoringScriptsInPython(t *testing.T) {
	if _, err := os.Stat(pyworker.DefaultPython); err != nil {
		t.Skipf("no %s (scripts/install-deps.sh installs it)", pyworker.DefaultPython)
	}
	ctx := t.Context()
	dir := t.TempDir()
	sealer := storetest.NewSealer()
	db := sqlstore.New(filepath.Join(dir, "hangar.db"))
	db.Sealer = sealer
	if err := db.Open(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	blobs := disk.New(filepath.Join(dir, "blobs"))
	if err := blobs.Init(ctx); err != nil {
		t.Fatal(err)
	}
	workspaces := sqlstore.NewWorkspaceService(db)
	if err := workspaces.CreateWorkspace(ctx, &hangar.Workspace{Name: "team-a"}); err != nil {
		t.Fatal(err)
	}
	cfg := &serverConfig{DataDir: dir}
	rel, err := openRelease(ctx, cfg, db, workspaces, sqlstore.NewDataService(db), blobs, endpointTokenKey(sealer),
		prometheus.NewRegistry(), slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := rel.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	code, _, err := artifact.PutDir(ctx, blobs, os.DirFS("testdata/scoring/code"))
	if err != nil {
		t.Fatal(err)
	}
	model, _, err := artifact.PutDir(ctx, blobs, os.DirFS("testdata/scoring/model"))
	if err != nil {
		t.Fatal(err)
	}
	if err := rel.CreateOnlineEndpoint(ctx, "team-a", &hangar.OnlineEndpoint{Name: "scorer"}); err != nil {
		t.Fatal(err)
	}
	keys, err := rel.EndpointKeys(ctx, "team-a", "scorer")
	if err != nil {
		t.Fatal(err)
	}
	p := hangar.Probe{Period: 10, Timeout: 2, SuccessThreshold: 1, FailureThreshold: 30}
	spec := func(script string) hangar.DeploymentSpec {
		return hangar.DeploymentSpec{
			ModelName: "scorer", ModelVersion: "1", ModelDigest: model.Digest, CodeDigest: code.Digest, ScoringScript: script,
			EnvironmentName: "python", EnvironmentVersion: "1", InstanceCount: 2,
			Request:  hangar.RequestSettings{RequestTimeoutMS: 2000, MaxConcurrentRequestsPerInstance: 2},
			Liveness: p, Readiness: p, SampleRequest: []byte(`{"data": [[1, 2]]}`),
		}
	}
	wait := func(name string) *hangar.OnlineDeployment {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			d, err := rel.OnlineDeployment(ctx, "team-a", "scorer", name)
			if err != nil {
				t.Fatal(err)
			}
			if d.State != hangar.StateCreating && d.State != hangar.StateUpdating {
				return d
			}
			if time.Now().After(deadline) {
				t.Fatalf("deployment %s still %s", name, d.State)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if err := rel.Deploy(ctx, "team-a", &hangar.OnlineDeployment{Endpoint: "scorer", Name: "blue", Spec: spec("score.py")}, true); err != nil {
		t.Fatal(err)
	}
	if d := wait("blue"); d.State != hangar.StateSucceeded {
		t.Fatalf("blue: got %s %q, want Succeeded", d.State, d.Message)
	}
	req := func() (int, string) {
		r := httptest.NewRequest("POST", "/api/v1/workspaces/team-a/endpoints/scorer/score", strings.NewReader(`{"data": [[1, 2], [3, 4]]}`))
		r.Header.Set("Authorization", "Bearer "+keys.Primary)
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("azureml-model-deployment", "blue")
		w := httptest.NewRecorder()
		rel.ServeHTTP(w, r)
		return w.Code, strings.TrimSpace(w.Body.String())
	}
	if code, body := req(); code != 200 || body != "[6, 14]" {
		t.Errorf("score: got %d %s, want 200 [6, 14]", code, body)
	}
	lines, err := rel.Logs(ctx, "team-a", "scorer", "blue", 50)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(lines, "\n"); !strings.Contains(got, "starting 2 scoring worker(s)") || !strings.Contains(got, "smoke test passed") {
		t.Errorf("Logs: got\n%s\nwant the rollout's events", got)
	}
	if err := rel.Deploy(ctx, "team-a", &hangar.OnlineDeployment{Endpoint: "scorer", Name: "broken", Spec: spec("init_raises.py")}, false); err != nil {
		t.Fatal(err)
	}
	if d := wait("broken"); d.State != hangar.StateFailed || !strings.Contains(d.Message, "start the scoring workers") {
		t.Errorf("broken: got %s %q, want Failed naming the workers' start", d.State, d.Message)
	}
	// get-logs of the failed deployment says what init() raised.
	lines, err = rel.Logs(ctx, "team-a", "scorer", "broken", 50)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(lines, "\n"); !strings.Contains(got, "RuntimeError: no model here") {
		t.Errorf("Logs of the failed deployment: got\n%s\nwant what init() raised", got)
	}
	if code, body := req(); code != 200 {
		t.Errorf("score after a failed deployment: got %d %s, want 200", code, body)
	}
}

// TestEndpointSyncIntervalSetting: --endpoint-sync-interval (2 s when
// unset, 0 for off) from the flag, HANGAR_ENDPOINT_SYNC_INTERVAL or the
// config file, and the values refused.
func TestEndpointSyncIntervalSetting(t *testing.T) {
	for _, tt := range []struct {
		name, file, env string
		args            []string
		want            time.Duration
		err             string
	}{
		{name: "default", want: 2 * time.Second},
		{name: "file", file: "endpoint_sync_interval: 500ms\n", want: 500 * time.Millisecond},
		{name: "env over file", file: "endpoint_sync_interval: 500ms\n", env: "5s", want: 5 * time.Second},
		{name: "flag over env", env: "5s", args: []string{"--endpoint-sync-interval=0"}, want: 0},
		{name: "off", args: []string{"--endpoint-sync-interval", "0s"}, want: 0},
		{name: "too short", args: []string{"--endpoint-sync-interval", "1ms"}, err: `endpoint-sync-interval "1ms": want 0 (off) or a duration from 10ms to 10m`},
		{name: "too long", env: "1h", err: `endpoint-sync-interval "1h"`},
		{name: "not a duration", env: "often", err: `endpoint-sync-interval "often"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := testServerConfig(t, tt.file, "HANGAR_ENDPOINT_SYNC_INTERVAL", tt.env, tt.args)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("loadServerConfig: %v, want an error containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got, err := cfg.endpointSyncInterval(); err != nil || got != tt.want {
				t.Errorf("endpointSyncInterval: got %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}
