package main

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/httpapi"
	"github.com/hangar-ml/hangar/internal/storetest"
	"github.com/hangar-ml/hangar/sqlstore"
)

// trackingServer is a real server (SQLite store, every service) in the
// test's process, with an Owner token.
type trackingServer struct {
	url, token string
	tracking   hangar.TrackingService
}

func newTrackingServer(t *testing.T) *trackingServer {
	t.Helper()
	ctx := t.Context()
	db := sqlstore.New(filepath.Join(t.TempDir(), "hangar.db"))
	db.Sealer = storetest.NewSealer()
	if err := db.Open(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	api := httpapi.NewServer()
	ids := sqlstore.NewIdentityService(db)
	api.Workspaces, api.Identities, api.Credentials = sqlstore.NewWorkspaceService(db), ids, ids
	api.Roles, api.Audit, api.Secrets = sqlstore.NewRoleService(db), sqlstore.NewAuditService(db), sqlstore.NewSecretService(db)
	api.Tracking = sqlstore.NewTrackingService(db)
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(srv.Close)
	tok, err := ids.IssueToken(ctx, &hangar.TokenRequest{Name: "admin", Role: hangar.RoleOwner})
	if err != nil {
		t.Fatal(err)
	}
	return &trackingServer{url: srv.URL, token: tok.Secret, tracking: api.Tracking}
}

// hangar runs the CLI against the server and returns its standard output.
func (s *trackingServer) hangar(t *testing.T, args ...string) string {
	t.Helper()
	vars := map[string]string{"HANGAR_URL": s.url, "HANGAR_TOKEN": s.token, "HANGAR_HOME": t.TempDir()}
	var out, errOut bytes.Buffer
	if code := run(t.Context(), args, strings.NewReader(""), &out, &errOut, func(k string) string { return vars[k] }); code != 0 {
		t.Fatalf("hangar %s: exit %d\n%s", strings.Join(args, " "), code, errOut.String())
	}
	return out.String()
}

func decodeInto[T any](t *testing.T, s string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	return v
}

func TestExperimentAndRunCommands(t *testing.T) {
	s := newTrackingServer(t)
	ctx := hangar.WithActor(t.Context(), hangar.Actor{IdentityID: "alice", Name: "alice"})
	ws := hangar.DefaultWorkspace
	if err := s.tracking.CreateExperiment(ctx, ws, &hangar.Experiment{Name: "churn", Tags: []hangar.ExperimentTag{{Key: "team", Value: "a"}}}); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i, acc := range []float64{0.4, 0.9, 0.7} {
		r, err := s.tracking.CreateRun(ctx, ws, hangar.RunCreate{ExperimentID: "1", RunName: []string{"a", "b", "c"}[i], StartTime: int64(1000 + i)})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.tracking.LogBatch(ctx, ws, r.Info.RunID, hangar.LogBatch{
			Metrics: []hangar.Metric{{Key: "acc", Value: acc, Timestamp: 1}},
			Params:  []hangar.Param{{Key: "lr", Value: "0.1"}},
		}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.Info.RunID)
	}

	exps := decodeInto[[]hangar.Experiment](t, s.hangar(t, "experiment", "list"))
	if len(exps) != 2 || exps[0].Name != "churn" || exps[1].Name != "Default" { // newest first
		t.Errorf("experiment list: %+v", exps)
	}
	if out := s.hangar(t, "experiment", "list", "--filter", "tags.team = 'a'", "-o", "table"); !strings.Contains(out, "EXPERIMENT ID") || !strings.Contains(out, "churn") || strings.Contains(out, "Default") {
		t.Errorf("experiment list as a table, filtered:\n%s", out)
	}
	if e := decodeInto[hangar.Experiment](t, s.hangar(t, "experiment", "show", "-i", "1")); e.Name != "churn" || len(e.Tags) != 1 {
		t.Errorf("experiment show: %+v", e)
	}

	runs := decodeInto[[]hangar.Run](t, s.hangar(t, "run", "list", "-e", "1", "--filter", "metrics.acc > 0.5", "--order-by", "metrics.acc DESC"))
	if len(runs) != 2 || runs[0].Info.RunName != "b" || runs[1].Info.RunName != "c" {
		t.Errorf("run list, filtered and ordered: %+v", runs)
	}
	all := decodeInto[[]hangar.Run](t, s.hangar(t, "run", "list", "-r", "2"))
	if len(all) != 2 || all[0].Info.RunName != "c" {
		t.Errorf("run list of every experiment, newest first, at most 2: %+v", all)
	}
	r := decodeInto[hangar.Run](t, s.hangar(t, "run", "show", "-i", ids[1]))
	if r.Info.RunID != ids[1] || len(r.Data.Metrics) != 1 || r.Data.Metrics[0].Value != 0.9 || !slices.Contains(r.Data.Params, hangar.Param{Key: "lr", Value: "0.1"}) {
		t.Errorf("run show: %+v", r)
	}

	s.hangar(t, "run", "delete", "-i", ids[0])
	if left := decodeInto[[]hangar.Run](t, s.hangar(t, "run", "list")); len(left) != 2 {
		t.Errorf("run list after a delete: %d runs, want 2", len(left))
	}
	if gone := decodeInto[[]hangar.Run](t, s.hangar(t, "run", "list", "--view", "deleted")); len(gone) != 1 || gone[0].Info.RunID != ids[0] {
		t.Errorf("run list --view deleted: %+v", gone)
	}
}

// TestBuiltinTrainingLogsToHangar: a built-in trainer given the variables
// a job step receives logs its params and metrics to Hangar's own MLflow
// routes.
func TestBuiltinTrainingLogsToHangar(t *testing.T) {
	s := newTrackingServer(t)
	ctx := hangar.WithActor(t.Context(), hangar.Actor{IdentityID: "alice", Name: "alice"})
	r, err := s.tracking.CreateRun(ctx, hangar.DefaultWorkspace, hangar.RunCreate{RunName: "gbdt"})
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"MLFLOW_TRACKING_URI": s.url, "MLFLOW_RUN_ID": r.Info.RunID, "MLFLOW_TRACKING_TOKEN": s.token}
	dir := t.TempDir()
	data := labelled(t, filepath.Join(dir, "d.csv"), []string{"a", "b"})
	mustRunEnv(t, func(k string) string { return vars[k] }, "train-gbdt", "--train", data, "--valid", data, "--label", "label",
		"--output", filepath.Join(dir, "m"), "--objective", "binary:logistic", "--n-estimators", "600", "--learning-rate", "0.01")
	got, err := s.tracking.Run(t.Context(), hangar.DefaultWorkspace, r.Info.RunID)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(got.Data.Params, hangar.Param{Key: "learning_rate", Value: "0.01"}) || len(got.Data.Metrics) == 0 {
		t.Fatalf("the run after training: params %v, metrics %v", got.Data.Params, got.Data.Metrics)
	}
	for _, m := range got.Data.Metrics {
		h, err := s.tracking.MetricHistory(t.Context(), hangar.DefaultWorkspace, r.Info.RunID, m.Key, hangar.ListOptions{})
		if err != nil || len(h.Items) == 0 {
			t.Fatalf("history of %s: %v, %v", m.Key, h, err)
		}
		if last := h.Items[len(h.Items)-1]; len(h.Items) > 1 && last.Step != m.Step {
			t.Errorf("%s: the latest value is of step %d, the history ends at step %d", m.Key, m.Step, last.Step)
		}
	}
}
