package mlflow

import (
	"regexp"
	"testing"

	"github.com/hangar-ml/hangar"
)

// TestLifecycleCalls: experiments/create, experiments/get-by-name,
// runs/create and runs/update go out as MLflow's client sends them, and
// their answers come back; a missing experiment is ENOTFOUND and an answer
// without its entity is EUNAVAILABLE.
func TestLifecycleCalls(t *testing.T) {
	const base = "/w/team/api/2.0/mlflow/"
	f, c := newFake(t, map[string]fakeRoute{
		"POST " + base + "experiments/create": {body: `{"experiment_id":"3"}`},
		"GET " + base + "experiments/get-by-name": {body: `{"experiment":{"experiment_id":"3","name":"demo","artifact_location":"mlflow-artifacts:/3",
			"lifecycle_stage":"active","creation_time":1,"last_update_time":2}}`},
		"POST " + base + "runs/create": {body: `{"run":{"info":{"run_id":"0123456789abcdef0123456789abcdef","run_uuid":"0123456789abcdef0123456789abcdef",
			"experiment_id":"3","run_name":"first","status":"RUNNING","start_time":5,"lifecycle_stage":"active","artifact_uri":"mlflow-artifacts:/3/0123456789abcdef0123456789abcdef/artifacts"},"data":{}}}`},
		"POST " + base + "runs/update": {body: `{"run_info":{}}`},
	})
	ctx := t.Context()
	id, err := c.CreateExperiment(ctx, "demo", ExperimentTag{Key: "team", Value: "risk"})
	if err != nil || id != "3" {
		t.Fatalf("CreateExperiment = %q, %v; want 3", id, err)
	}
	exp, err := c.ExperimentByName(ctx, "demo")
	if err != nil || exp.ExperimentID != "3" || exp.ArtifactLocation != "mlflow-artifacts:/3" {
		t.Fatalf("ExperimentByName = %+v, %v", exp, err)
	}
	run, err := c.CreateRun(ctx, "3", "first", RunTag{Key: "mlflow.user", Value: "alice"})
	if err != nil || run.Info.RunID != "0123456789abcdef0123456789abcdef" || run.Info.ArtifactURI == "" {
		t.Fatalf("CreateRun = %+v, %v", run, err)
	}
	if err := c.EndRun(ctx, run.Info.RunID, "FINISHED"); err != nil {
		t.Fatalf("EndRun: %v", err)
	}
	want := []*regexp.Regexp{
		regexp.MustCompile(`^POST ` + base + `experiments/create \{"name":"demo","tags":\[\{"key":"team","value":"risk"\}\]\}$`),
		regexp.MustCompile(`^GET ` + base + `experiments/get-by-name\?experiment_name=demo$`),
		regexp.MustCompile(`^POST ` + base + `runs/create \{"experiment_id":"3","run_name":"first","start_time":\d{13},"tags":\[\{"key":"mlflow.user","value":"alice"\}\]\}$`),
		regexp.MustCompile(`^POST ` + base + `runs/update \{"run_id":"0123456789abcdef0123456789abcdef","run_uuid":"0123456789abcdef0123456789abcdef","status":"FINISHED","end_time":\d{13}\}$`),
	}
	if len(f.seen) != len(want) {
		t.Fatalf("sent %d requests, want %d: %q", len(f.seen), len(want), f.seen)
	}
	for i, re := range want {
		if !re.MatchString(f.seen[i]) {
			t.Errorf("request %d: got %s, want %s", i, f.seen[i], re)
		}
	}

	_, c = newFake(t, map[string]fakeRoute{
		"GET /w/team/api/2.0/mlflow/experiments/get-by-name": {status: 404, body: `{"error_code":"RESOURCE_DOES_NOT_EXIST","message":"Could not find experiment with name 'x'"}`},
		"POST /w/team/api/2.0/mlflow/runs/create":            {body: `{}`},
	})
	if _, err := c.ExperimentByName(ctx, "x"); !hangar.IsCode(err, hangar.ENOTFOUND) {
		t.Errorf("ExperimentByName of a missing one: %v, want ENOTFOUND", err)
	}
	if _, err := c.CreateRun(ctx, "0", ""); !hangar.IsCode(err, hangar.EUNAVAILABLE) {
		t.Errorf("CreateRun answered without a run: %v, want EUNAVAILABLE", err)
	}
}

// TestWorkspaceHeader: MLFLOW_WORKSPACE goes out as X-MLFLOW-WORKSPACE on
// every kind of request (JSON calls, log-batch, the artifact proxy), as
// MLflow 3 clients send it; without it no header is sent.
func TestWorkspaceHeader(t *testing.T) {
	const base = "/w/team/api/2.0/mlflow/"
	routes := map[string]fakeRoute{
		"POST " + base + "runs/log-batch":                {body: `{}`},
		"GET " + base + "runs/get":                       {body: `{"run":{"info":{"run_id":"r","artifact_uri":"mlflow-artifacts:/0/r/artifacts"}}}`},
		"GET /w/team/api/2.0/mlflow-artifacts/artifacts": {body: `{}`},
	}
	for _, ws := range []string{"team-a", ""} {
		f, c := newFake(t, routes)
		env := TrackingEnv{URI: c.URL, Token: "tok", Workspace: ws}
		c, err := env.Client()
		if err != nil {
			t.Fatal(err)
		}
		ctx := t.Context()
		if err := c.LogBatch(ctx, "r", []Metric{{Key: "m", Value: 1, Timestamp: 1}}, nil, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := c.GetRun(ctx, "r"); err != nil {
			t.Fatal(err)
		}
		if _, err := c.ListArtifacts(ctx, "runs:/r", ""); err != nil {
			t.Fatal(err)
		}
		if len(f.ws) < 3 {
			t.Fatalf("workspace %q: %d requests seen, want at least 3: %q", ws, len(f.ws), f.seen)
		}
		for i, got := range f.ws {
			if got != ws {
				t.Errorf("workspace %q: request %d (%s) sent X-MLFLOW-WORKSPACE %q", ws, i, f.seen[i], got)
			}
		}
	}
}
