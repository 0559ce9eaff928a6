package storetest

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/hangar-ml/hangar"
)

// testTracking: experiments and runs with MLflow's rules — lifecycle,
// every error with MLflow's message, each limit at and one past its
// boundary, param immutability, the latest-metric rule, metric history
// pages, dataset inputs, logged models, audit events, workspaces kept
// apart, concurrent writers to one run.
func testTracking(t *testing.T, open func(t *testing.T) *Store) {
	t.Run("DefaultExperiment", func(t *testing.T) { testDefaultExperiment(t, open(t)) })
	t.Run("Experiments", func(t *testing.T) { testExperiments(t, open(t)) })
	t.Run("Runs", func(t *testing.T) { testRuns(t, open(t)) })
	t.Run("LogBatch", func(t *testing.T) { testLogBatch(t, open(t)) })
	t.Run("Limits", func(t *testing.T) { testTrackingLimits(t, open(t)) })
	t.Run("LatestMetric", func(t *testing.T) { testLatestMetric(t, open(t)) })
	t.Run("MetricHistory", func(t *testing.T) { testMetricHistory(t, open(t)) })
	t.Run("InputsAndModels", func(t *testing.T) { testInputsAndModels(t, open(t)) })
	t.Run("Workspaces", func(t *testing.T) { testTrackingWorkspaces(t, open(t)) })
	t.Run("ConcurrentWriters", func(t *testing.T) { testTrackingConcurrentWriters(t, open(t)) })
	t.Run("BadText", func(t *testing.T) { testTrackingBadText(t, open(t)) })
}

// wantError fails unless err has the code and exactly the message.
func wantError(t *testing.T, what string, err error, code, message string) {
	t.Helper()
	if hangar.ErrorCode(err) != code || hangar.ErrorMessage(err) != message {
		t.Fatalf("%s: got %v, want %s %q", what, err, code, message)
	}
}

// wantEvent fails unless the newest audit event is action on target in
// workspace, by alice.
func wantEvent(t *testing.T, s *Store, what, action, target, workspace string) {
	t.Helper()
	e := lastEvent(t, s)
	if e.Action != action || e.Target != target || e.Workspace != workspace || e.Actor != "alice" {
		t.Errorf("%s: audit event %+v, want %s on %s in %s by alice", what, e, action, target, workspace)
	}
}

// newRun starts a run in experiment exp of the default workspace.
func newRun(t *testing.T, s *Store, exp string, tags ...hangar.RunTag) *hangar.Run {
	t.Helper()
	r, err := s.Tracking.CreateRun(actorCtx(t), hangar.DefaultWorkspace, hangar.RunCreate{ExperimentID: exp, UserID: "alice", StartTime: 1700000000000, Tags: tags})
	if err != nil {
		t.Fatalf("create run: %v", err)
	}
	return r
}

func getRun(t *testing.T, s *Store, id string) *hangar.Run {
	t.Helper()
	r, err := s.Tracking.Run(t.Context(), hangar.DefaultWorkspace, id)
	if err != nil {
		t.Fatalf("get run %s: %v", id, err)
	}
	return r
}

func testDefaultExperiment(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	for _, ws := range []string{hangar.DefaultWorkspace, "team-a"} {
		if ws != hangar.DefaultWorkspace {
			if err := s.Workspaces.CreateWorkspace(ctx, &hangar.Workspace{Name: ws}); err != nil {
				t.Fatal(err)
			}
		}
		e, err := s.Tracking.Experiment(ctx, ws, "0")
		if err != nil {
			t.Fatalf("experiment 0 of %s: %v", ws, err)
		}
		if e.ID != "0" || e.Name != "Default" || e.ArtifactLocation != "mlflow-artifacts:/0" || e.LifecycleStage != hangar.LifecycleActive || e.CreationTime <= 0 {
			t.Errorf("experiment 0 of %s: %+v", ws, e)
		}
		if byName, err := s.Tracking.ExperimentByName(ctx, ws, "Default"); err != nil || byName.ID != "0" {
			t.Errorf("experiment Default of %s by name: %+v, %v", ws, byName, err)
		}
		// The first experiment created is 1 in every workspace.
		c := &hangar.Experiment{Name: "first"}
		if err := s.Tracking.CreateExperiment(ctx, ws, c); err != nil || c.ID != "1" {
			t.Errorf("first experiment of %s: id %q, %v; want 1", ws, c.ID, err)
		}
	}
	// A run started without an experiment goes to Default.
	r, err := s.Tracking.CreateRun(ctx, "team-a", hangar.RunCreate{})
	if err != nil || r.Info.ExperimentID != "0" {
		t.Fatalf("run without an experiment: %+v, %v; want experiment 0", r, err)
	}
	// A workspace deleted and created again has a fresh Default and no runs.
	if err := s.Workspaces.DeleteWorkspace(ctx, "team-a"); err != nil {
		t.Fatal(err)
	}
	_, err = s.Tracking.Run(ctx, "team-a", r.Info.RunID)
	wantCode(t, "a run of a deleted workspace", err, hangar.ENOTFOUND)
	if err := s.Workspaces.CreateWorkspace(ctx, &hangar.Workspace{Name: "team-a"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Tracking.Experiment(ctx, "team-a", "0"); err != nil {
		t.Errorf("experiment 0 of a re-created workspace: %v", err)
	}
	_, err = s.Tracking.Experiment(ctx, "team-a", "1")
	wantError(t, "experiment 1 of a re-created workspace", err, hangar.ENOTFOUND, "No Experiment with id=1 exists")
	_, err = s.Tracking.Run(ctx, "team-a", r.Info.RunID)
	wantError(t, "a run of the deleted workspace, in the re-created one", err, hangar.ENOTFOUND, "Run with id="+r.Info.RunID+" not found")
	err = s.Tracking.CreateExperiment(ctx, "nowhere", &hangar.Experiment{Name: "x"})
	wantCode(t, "an experiment in a workspace that does not exist", err, hangar.ENOTFOUND)
}

func testExperiments(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	ws := hangar.DefaultWorkspace
	e := &hangar.Experiment{Name: "churn", Tags: []hangar.ExperimentTag{{Key: "team", Value: "a"}, {Key: "env", Value: "dev"}, {Key: "team", Value: "b"}}}
	if err := s.Tracking.CreateExperiment(ctx, ws, e); err != nil {
		t.Fatalf("create: %v", err)
	}
	if e.ID != "1" || e.ArtifactLocation != "mlflow-artifacts:/1" || e.LifecycleStage != hangar.LifecycleActive ||
		e.CreationTime <= 0 || e.LastUpdateTime != e.CreationTime {
		t.Errorf("created %+v", e)
	}
	wantEvent(t, s, "create", hangar.ActExperimentWrite, "experiments/1", ws)
	got, err := s.Tracking.Experiment(ctx, ws, "1")
	if err != nil {
		t.Fatal(err)
	}
	wantTags := []hangar.ExperimentTag{{Key: "env", Value: "dev"}, {Key: "team", Value: "b"}} // by key, the last value of a key
	if got.Name != "churn" || !slices.Equal(got.Tags, wantTags) || got.CreationTime != e.CreationTime {
		t.Errorf("get: %+v, want churn with tags %v", got, wantTags)
	}
	located := &hangar.Experiment{Name: "elsewhere", ArtifactLocation: "s3://bucket/x"}
	if err := s.Tracking.CreateExperiment(ctx, ws, located); err != nil || located.ID != "2" || located.ArtifactLocation != "s3://bucket/x" {
		t.Errorf("create with a location: %+v, %v", located, err)
	}

	// Errors, with MLflow's messages.
	err = s.Tracking.CreateExperiment(ctx, ws, &hangar.Experiment{Name: "churn"})
	wantError(t, "duplicate name", err, hangar.ECONFLICT, "Experiment(name=churn) already exists.")
	err = s.Tracking.CreateExperiment(ctx, ws, &hangar.Experiment{Name: ""})
	wantError(t, "empty name", err, hangar.EINVALID, "Invalid experiment name: ''")
	err = s.Tracking.CreateExperiment(ctx, ws, &hangar.Experiment{Name: "r", ArtifactLocation: "runs:/abc/x"})
	wantError(t, "runs: location", err, hangar.EINVALID, "Artifact location cannot be a runs:/ URI. Given: 'runs:/abc/x'")
	for _, id := range []string{"99", "x", "-1", "01", ""} {
		_, err = s.Tracking.Experiment(ctx, ws, id)
		wantError(t, "experiment "+id, err, hangar.ENOTFOUND, "No Experiment with id="+id+" exists")
	}
	_, err = s.Tracking.ExperimentByName(ctx, ws, "nope")
	wantError(t, "by name", err, hangar.ENOTFOUND, "Could not find experiment with name 'nope'")

	// Tags and renames.
	if err := s.Tracking.SetExperimentTag(ctx, ws, "1", hangar.ExperimentTag{Key: "env", Value: "prod"}); err != nil {
		t.Fatal(err)
	}
	wantEvent(t, s, "set tag", hangar.ActExperimentWrite, "experiments/1", ws)
	if err := s.Tracking.RenameExperiment(ctx, ws, "1", "churn-v2"); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Tracking.Experiment(ctx, ws, "1")
	if got.Name != "churn-v2" || !slices.Equal(got.Tags, []hangar.ExperimentTag{{Key: "env", Value: "prod"}, {Key: "team", Value: "b"}}) || got.LastUpdateTime < got.CreationTime {
		t.Errorf("after rename and tag: %+v", got)
	}
	if err := s.Tracking.RenameExperiment(ctx, ws, "1", "churn-v2"); err != nil {
		t.Errorf("rename to its own name: %v", err)
	}
	err = s.Tracking.RenameExperiment(ctx, ws, "1", "elsewhere")
	wantError(t, "rename to a taken name", err, hangar.ECONFLICT, "Experiment(name=elsewhere) already exists.")
	err = s.Tracking.RenameExperiment(ctx, ws, "7", "x")
	wantError(t, "rename a missing experiment", err, hangar.ENOTFOUND, "No Experiment with id=7 exists")

	// Delete and restore take the runs along, including one deleted before.
	r1, r2 := newRun(t, s, "1"), newRun(t, s, "1")
	if err := s.Tracking.DeleteRun(ctx, ws, r2.Info.RunID); err != nil {
		t.Fatal(err)
	}
	if err := s.Tracking.DeleteExperiment(ctx, ws, "1"); err != nil {
		t.Fatal(err)
	}
	wantEvent(t, s, "delete", hangar.ActExperimentDelete, "experiments/1", ws)
	if got, _ := s.Tracking.Experiment(ctx, ws, "1"); got.LifecycleStage != hangar.LifecycleDeleted {
		t.Errorf("deleted experiment: %+v", got)
	}
	if r := getRun(t, s, r1.Info.RunID); r.Info.LifecycleStage != hangar.LifecycleDeleted {
		t.Errorf("run of a deleted experiment: %+v", r.Info)
	}
	err = s.Tracking.DeleteExperiment(ctx, ws, "1")
	wantError(t, "delete twice", err, hangar.ENOTFOUND, "No Experiment with id=1 exists")
	err = s.Tracking.CreateExperiment(ctx, ws, &hangar.Experiment{Name: "churn-v2"})
	wantError(t, "the name of a deleted experiment", err, hangar.ECONFLICT, "Experiment(name=churn-v2) already exists.")
	if byName, err := s.Tracking.ExperimentByName(ctx, ws, "churn-v2"); err != nil || byName.LifecycleStage != hangar.LifecycleDeleted {
		t.Errorf("a deleted experiment by name: %+v, %v", byName, err)
	}
	err = s.Tracking.RenameExperiment(ctx, ws, "1", "other")
	wantError(t, "rename a deleted experiment", err, hangar.EINVALID, "Cannot rename a non-active experiment.")
	err = s.Tracking.SetExperimentTag(ctx, ws, "1", hangar.ExperimentTag{Key: "k", Value: "v"})
	wantError(t, "tag a deleted experiment", err, hangar.EINVALID, "The experiment 1 must be in the 'active' state. Current state is deleted.")
	_, err = s.Tracking.CreateRun(ctx, ws, hangar.RunCreate{ExperimentID: "1"})
	wantError(t, "a run in a deleted experiment", err, hangar.EINVALID, "The experiment 1 must be in the 'active' state. Current state is deleted.")
	err = s.Tracking.RestoreExperiment(ctx, ws, "2")
	wantError(t, "restore an active experiment", err, hangar.ENOTFOUND, "No Experiment with id=2 exists")
	if err := s.Tracking.RestoreExperiment(ctx, ws, "1"); err != nil {
		t.Fatal(err)
	}
	wantEvent(t, s, "restore", hangar.ActExperimentWrite, "experiments/1", ws)
	for _, r := range []*hangar.Run{r1, r2} {
		if got := getRun(t, s, r.Info.RunID); got.Info.LifecycleStage != hangar.LifecycleActive {
			t.Errorf("run after restore: %+v", got.Info)
		}
	}
	// Deleting the Default experiment is allowed, as in MLflow's SQL store.
	if err := s.Tracking.DeleteExperiment(ctx, ws, "0"); err != nil {
		t.Errorf("delete Default: %v", err)
	}
}

func testRuns(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	ws := hangar.DefaultWorkspace
	tags := []hangar.RunTag{{Key: hangar.TagUser, Value: "alice"}, {Key: hangar.TagSourceName, Value: "train.py"}, {Key: hangar.TagSourceType, Value: "LOCAL"}}
	r, err := s.Tracking.CreateRun(ctx, ws, hangar.RunCreate{ExperimentID: "0", UserID: "alice", RunName: "first", StartTime: 1700000000123, Tags: tags})
	if err != nil {
		t.Fatal(err)
	}
	id := r.Info.RunID
	if len(id) != 32 || strings.Trim(id, "0123456789abcdef") != "" {
		t.Errorf("run id %q: want 32 lower-case hex digits", id)
	}
	want := hangar.RunInfo{RunID: id, RunName: "first", ExperimentID: "0", UserID: "alice", Status: hangar.RunRunning,
		StartTime: 1700000000123, ArtifactURI: "mlflow-artifacts:/0/" + id + "/artifacts", LifecycleStage: hangar.LifecycleActive}
	if r.Info != want {
		t.Errorf("created %+v, want %+v", r.Info, want)
	}
	wantEvent(t, s, "create run", hangar.ActRunWrite, "runs/"+id, ws)
	wantTags := []hangar.RunTag{{Key: hangar.TagRunName, Value: "first"}, {Key: hangar.TagSourceName, Value: "train.py"}, {Key: hangar.TagSourceType, Value: "LOCAL"}, {Key: hangar.TagUser, Value: "alice"}}
	got := getRun(t, s, id)
	if got.Info != want || !slices.Equal(got.Data.Tags, wantTags) || !slices.Equal(r.Data.Tags, wantTags) {
		t.Errorf("get: %+v, want info %+v and tags %v", got, want, wantTags)
	}

	// Names: the tag names a run too; without either a name is made up.
	byTag, err := s.Tracking.CreateRun(ctx, ws, hangar.RunCreate{Tags: []hangar.RunTag{{Key: hangar.TagRunName, Value: "tagged"}}})
	if err != nil || byTag.Info.RunName != "tagged" {
		t.Errorf("named by its tag: %+v, %v", byTag, err)
	}
	made, err := s.Tracking.CreateRun(ctx, ws, hangar.RunCreate{})
	if err != nil || made.Info.RunName == "" || !slices.Contains(made.Data.Tags, hangar.RunTag{Key: hangar.TagRunName, Value: made.Info.RunName}) {
		t.Errorf("made-up name: %+v, %v", made, err)
	}
	same, err := s.Tracking.CreateRun(ctx, ws, hangar.RunCreate{RunName: "x", Tags: []hangar.RunTag{{Key: hangar.TagRunName, Value: "x"}}})
	if err != nil || same.Info.RunName != "x" {
		t.Errorf("name and the same tag: %+v, %v", same, err)
	}
	_, err = s.Tracking.CreateRun(ctx, ws, hangar.RunCreate{RunName: "a", Tags: []hangar.RunTag{{Key: hangar.TagRunName, Value: "b"}}})
	wantError(t, "name and another tag", err, hangar.EINVALID,
		"Both 'run_name' argument and 'mlflow.runName' tag are specified, but with different values (run_name='a', mlflow.runName='b').")
	_, err = s.Tracking.CreateRun(ctx, ws, hangar.RunCreate{ExperimentID: "42"})
	wantError(t, "a missing experiment", err, hangar.ENOTFOUND, "No Experiment with id=42 exists")
	_, err = s.Tracking.Run(ctx, ws, "0123456789abcdef0123456789abcdef")
	wantError(t, "a missing run", err, hangar.ENOTFOUND, "Run with id=0123456789abcdef0123456789abcdef not found")

	// Update: only what is set; any status may follow any other.
	end := int64(1700000009999)
	info, err := s.Tracking.UpdateRun(ctx, ws, id, hangar.RunUpdate{Status: hangar.RunFinished, EndTime: &end})
	if err != nil || info.Status != hangar.RunFinished || info.EndTime == nil || *info.EndTime != end || info.RunName != "first" {
		t.Fatalf("finish: %+v, %v", info, err)
	}
	wantEvent(t, s, "update", hangar.ActRunWrite, "runs/"+id, ws)
	info, err = s.Tracking.UpdateRun(ctx, ws, id, hangar.RunUpdate{Status: hangar.RunRunning, RunName: "renamed"})
	if err != nil || info.Status != hangar.RunRunning || *info.EndTime != end || info.RunName != "renamed" {
		t.Fatalf("resume and rename: %+v, %v", info, err)
	}
	if got := getRun(t, s, id); !slices.Contains(got.Data.Tags, hangar.RunTag{Key: hangar.TagRunName, Value: "renamed"}) || got.Info.RunName != "renamed" {
		t.Errorf("rename sets the tag: %+v", got)
	}
	_, err = s.Tracking.UpdateRun(ctx, ws, id, hangar.RunUpdate{Status: "DONE"})
	wantCode(t, "a bad status", err, hangar.EINVALID)
	// The mlflow.runName tag renames the run too.
	if err := s.Tracking.SetRunTag(ctx, ws, id, hangar.RunTag{Key: hangar.TagRunName, Value: "by-tag"}); err != nil {
		t.Fatal(err)
	}
	if got := getRun(t, s, id); got.Info.RunName != "by-tag" {
		t.Errorf("renamed by its tag: %+v", got.Info)
	}

	// Tags: overwrite, delete.
	if err := s.Tracking.SetRunTag(ctx, ws, id, hangar.RunTag{Key: "k", Value: "1"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Tracking.SetRunTag(ctx, ws, id, hangar.RunTag{Key: "k", Value: "2"}); err != nil {
		t.Fatal(err)
	}
	if got := getRun(t, s, id); !slices.Contains(got.Data.Tags, hangar.RunTag{Key: "k", Value: "2"}) {
		t.Errorf("overwritten tag: %v", got.Data.Tags)
	}
	if err := s.Tracking.DeleteRunTag(ctx, ws, id, "k"); err != nil {
		t.Fatal(err)
	}
	wantEvent(t, s, "delete tag", hangar.ActRunWrite, "runs/"+id, ws)
	err = s.Tracking.DeleteRunTag(ctx, ws, id, "k")
	wantError(t, "delete a missing tag", err, hangar.ENOTFOUND, "No tag with name: k in run with id "+id)

	// Delete and restore, each twice; a deleted run refuses every change.
	for range 2 {
		if err := s.Tracking.DeleteRun(ctx, ws, id); err != nil {
			t.Fatalf("delete: %v", err)
		}
	}
	wantEvent(t, s, "delete run", hangar.ActRunDelete, "runs/"+id, ws)
	if got := getRun(t, s, id); got.Info.LifecycleStage != hangar.LifecycleDeleted {
		t.Errorf("deleted run: %+v", got.Info)
	}
	inactive := "The run " + id + " must be in the 'active' state. Current state is deleted."
	for name, err := range map[string]error{
		"log":        s.Tracking.LogBatch(ctx, ws, id, hangar.LogBatch{Metrics: []hangar.Metric{{Key: "m", Timestamp: 1}}}),
		"set tag":    s.Tracking.SetRunTag(ctx, ws, id, hangar.RunTag{Key: "k", Value: "v"}),
		"delete tag": s.Tracking.DeleteRunTag(ctx, ws, id, hangar.TagUser),
		"inputs":     s.Tracking.LogInputs(ctx, ws, id, []hangar.DatasetInput{{Dataset: hangar.Dataset{Name: "d", Digest: "1", SourceType: "local", Source: "{}"}}}),
		"model":      s.Tracking.LogModel(ctx, ws, id, `{"artifact_path":"m","flavors":{},"utc_time_created":"t","run_id":"`+id+`"}`),
	} {
		wantError(t, name+" to a deleted run", err, hangar.EINVALID, inactive)
	}
	_, err = s.Tracking.UpdateRun(ctx, ws, id, hangar.RunUpdate{Status: hangar.RunFinished})
	wantError(t, "update a deleted run", err, hangar.EINVALID, inactive)
	for range 2 {
		if err := s.Tracking.RestoreRun(ctx, ws, id); err != nil {
			t.Fatalf("restore: %v", err)
		}
	}
	wantEvent(t, s, "restore run", hangar.ActRunWrite, "runs/"+id, ws)
	if err := s.Tracking.SetRunTag(ctx, ws, id, hangar.RunTag{Key: "k", Value: "v"}); err != nil {
		t.Errorf("tag a restored run: %v", err)
	}
	err = s.Tracking.DeleteRun(ctx, ws, "nope")
	wantError(t, "delete a missing run", err, hangar.ENOTFOUND, "Run with id=nope not found")
}

func testLogBatch(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	ws := hangar.DefaultWorkspace
	id := newRun(t, s, "0").Info.RunID
	n := len(allEvents(t, s))
	b := hangar.LogBatch{
		Metrics: []hangar.Metric{
			{Key: "loss", Value: 0.9, Timestamp: 10, Step: 0},
			{Key: "loss", Value: 0.5, Timestamp: 20, Step: 1},
			{Key: "loss", Value: 0.5, Timestamp: 20, Step: 1}, // an exact duplicate: one point
			{Key: "acc", Value: math.NaN(), Timestamp: 10, Step: 0},
			{Key: "inf", Value: math.Inf(1), Timestamp: 10, Step: 0},
			{Key: "ninf", Value: math.Inf(-1), Timestamp: 10, Step: -3}},
		Params: []hangar.Param{{Key: "lr", Value: "0.1"}, {Key: "depth", Value: "6"}},
		Tags:   []hangar.RunTag{{Key: "t", Value: "1"}, {Key: "u", Value: "x"}, {Key: "t", Value: "2"}},
	}
	if err := s.Tracking.LogBatch(ctx, ws, id, b); err != nil {
		t.Fatalf("log batch: %v", err)
	}
	if got := len(allEvents(t, s)); got != n+1 {
		t.Errorf("a batch appended %d audit events, want 1", got-n)
	}
	wantEvent(t, s, "log batch", hangar.ActRunWrite, "runs/"+id, ws)
	r := getRun(t, s, id)
	if !slices.Equal(r.Data.Params, []hangar.Param{{Key: "depth", Value: "6"}, {Key: "lr", Value: "0.1"}}) {
		t.Errorf("params %v", r.Data.Params)
	}
	if !slices.Contains(r.Data.Tags, hangar.RunTag{Key: "t", Value: "2"}) || !slices.Contains(r.Data.Tags, hangar.RunTag{Key: "u", Value: "x"}) {
		t.Errorf("tags %v: want t=2 (the last of the batch) and u=x", r.Data.Tags)
	}
	wantLatest := []hangar.Metric{{Key: "acc", Value: math.NaN(), Timestamp: 10, Step: 0}, {Key: "inf", Value: math.Inf(1), Timestamp: 10, Step: 0}, {Key: "loss", Value: 0.5, Timestamp: 20, Step: 1}, {Key: "ninf", Value: math.Inf(-1), Timestamp: 10, Step: -3}}
	if !sameMetrics(r.Data.Metrics, wantLatest) {
		t.Errorf("latest metrics %v, want %v", r.Data.Metrics, wantLatest)
	}
	h, err := s.Tracking.MetricHistory(ctx, ws, id, "loss", hangar.ListOptions{})
	if err != nil || !sameMetrics(h.Items, []hangar.Metric{{Key: "loss", Value: 0.9, Timestamp: 10, Step: 0}, {Key: "loss", Value: 0.5, Timestamp: 20, Step: 1}}) || h.NextPageToken != "" {
		t.Errorf("history of loss: %v, %v", h, err)
	}

	// Params are immutable: the same value again is fine; another value is
	// refused and nothing of that batch is written.
	if err := s.Tracking.LogBatch(ctx, ws, id, hangar.LogBatch{Params: []hangar.Param{{Key: "lr", Value: "0.1"}}}); err != nil {
		t.Errorf("the same param value again: %v", err)
	}
	err = s.Tracking.LogBatch(ctx, ws, id, hangar.LogBatch{Params: []hangar.Param{{Key: "lr", Value: "0.2"}}})
	wantError(t, "another param value", err, hangar.EINVALID,
		"Changing param values is not allowed. Param with key='lr' was already logged with value='0.1' for run ID='"+id+"'. Attempted logging new value '0.2'.")
	n = len(allEvents(t, s))
	err = s.Tracking.LogBatch(ctx, ws, id, hangar.LogBatch{
		Params:  []hangar.Param{{Key: "new", Value: "1"}, {Key: "lr", Value: "0.3"}, {Key: "depth", Value: "7"}},
		Metrics: []hangar.Metric{{Key: "loss", Value: 0.1, Timestamp: 99, Step: 9}},
		Tags:    []hangar.RunTag{{Key: "t", Value: "3"}},
	})
	wantError(t, "other param values in a batch", err, hangar.EINVALID,
		"Changing param values is not allowed. Params were already logged='[{'key': 'lr', 'old_value': '0.1', 'new_value': '0.3'}, {'key': 'depth', 'old_value': '6', 'new_value': '7'}]' for run ID='"+id+"'.")
	after := getRun(t, s, id)
	if len(after.Data.Params) != 2 || slices.Contains(after.Data.Tags, hangar.RunTag{Key: "t", Value: "3"}) || !sameMetrics(after.Data.Metrics, wantLatest) {
		t.Errorf("a refused batch wrote something: %+v", after.Data)
	}
	if got := len(allEvents(t, s)); got != n {
		t.Errorf("a refused batch appended %d audit events", got-n)
	}

	// Validation comes first, in MLflow's order.
	err = s.Tracking.LogBatch(ctx, ws, "bad id!", hangar.LogBatch{})
	wantError(t, "a bad run id", err, hangar.EINVALID, "Invalid run ID: 'bad id!'")
	err = s.Tracking.LogBatch(ctx, ws, "0123456789abcdef0123456789abcdef", hangar.LogBatch{})
	wantError(t, "a missing run", err, hangar.ENOTFOUND, "Run with id=0123456789abcdef0123456789abcdef not found")
	err = s.Tracking.LogBatch(ctx, ws, id, hangar.LogBatch{Metrics: []hangar.Metric{{Key: "m", Timestamp: -1, Value: 2}}})
	wantError(t, "a negative timestamp", err, hangar.EINVALID,
		"Got invalid timestamp -1 for metric 'm' (value=2.0). Timestamp must be a nonnegative long (64-bit integer) ")
	err = s.Tracking.LogBatch(ctx, ws, id, hangar.LogBatch{Params: []hangar.Param{{Key: "p", Value: "1"}, {Key: "p", Value: "1"}}})
	wantError(t, "a param twice in a batch", err, hangar.EINVALID,
		"Duplicate parameter keys have been submitted: ['p']. Please ensure the request contains only one param value per param key.")
	err = s.Tracking.SetRunTag(ctx, ws, id, hangar.RunTag{Key: "a/../b", Value: "v"})
	wantError(t, "a tag key that is not a path of its own", err, hangar.EINVALID,
		"Invalid tag name: 'a/../b'. Names may be treated as files in certain cases, and must not resolve to other names when treated as such. This name would resolve to 'b'")
}

// sameMetrics compares metric lists, NaN equal to NaN.
func sameMetrics(a, b []hangar.Metric) bool {
	return slices.EqualFunc(a, b, func(x, y hangar.Metric) bool {
		return x.Key == y.Key && x.Timestamp == y.Timestamp && x.Step == y.Step &&
			(x.Value == y.Value || math.IsNaN(x.Value) && math.IsNaN(y.Value))
	})
}

// testTrackingLimits: each limit at its boundary and one past, through the
// store.
func testTrackingLimits(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	ws := hangar.DefaultWorkspace
	id := newRun(t, s, "0").Info.RunID
	key := func(n int) string { return strings.Repeat("k", n) }
	val := func(n int) string { return strings.Repeat("v", n) }
	metrics := func(n int) []hangar.Metric {
		out := make([]hangar.Metric, n)
		for i := range out {
			out[i] = hangar.Metric{Key: "many", Value: float64(i), Timestamp: int64(i), Step: int64(i)}
		}
		return out
	}
	params := func(prefix string, n int) []hangar.Param {
		out := make([]hangar.Param, n)
		for i := range out {
			out[i] = hangar.Param{Key: fmt.Sprintf("%s%d", prefix, i), Value: "v"}
		}
		return out
	}
	tags := func(n int) []hangar.RunTag {
		out := make([]hangar.RunTag, n)
		for i := range out {
			out[i] = hangar.RunTag{Key: fmt.Sprintf("t%d", i), Value: "v"}
		}
		return out
	}
	split := func(what string, limit, n int) string {
		return fmt.Sprintf("A batch logging request can contain at most %d %s. Got %d %s. Please split up %s across multiple requests and try again.", limit, what, n, what, what)
	}
	// long is MLflow's message for a value of n characters c over limit.
	long := func(entity, c string, n, limit int) string {
		return fmt.Sprintf("%s '%s' had length %d, which exceeded length limit of %d", entity, strings.Repeat(c, min(n, 250)), n, limit)
	}
	tests := []struct {
		name    string
		b       hangar.LogBatch
		message string
	}{
		{"1000 metrics", hangar.LogBatch{Metrics: metrics(1000)}, ""},
		{"1001 metrics", hangar.LogBatch{Metrics: metrics(1001)}, split("metrics", 1000, 1001)},
		{"100 params", hangar.LogBatch{Params: params("p", 100)}, ""},
		{"101 params", hangar.LogBatch{Params: params("q", 101)}, split("params", 100, 101)},
		{"100 tags", hangar.LogBatch{Tags: tags(100)}, ""},
		{"101 tags", hangar.LogBatch{Tags: tags(101)}, split("tags", 100, 101)},
		{"1000 entities", hangar.LogBatch{Metrics: metrics(900), Params: params("r", 50), Tags: tags(50)}, ""},
		{"1001 entities", hangar.LogBatch{Metrics: metrics(901), Params: params("s", 50), Tags: tags(50)}, split("metrics, params, and tags", 1000, 1001)},
		{"metric key of 250", hangar.LogBatch{Metrics: []hangar.Metric{{Key: key(250), Timestamp: 1}}}, ""},
		{"metric key of 251", hangar.LogBatch{Metrics: []hangar.Metric{{Key: key(251), Timestamp: 1}}}, long("Metric name", "k", 251, 250)},
		{"param key of 250", hangar.LogBatch{Params: []hangar.Param{{Key: key(250), Value: "v"}}}, ""},
		{"param key of 251", hangar.LogBatch{Params: []hangar.Param{{Key: key(251), Value: "v"}}}, long("Param key", "k", 251, 250)},
		{"param value of 6000", hangar.LogBatch{Params: []hangar.Param{{Key: "long", Value: val(6000)}}}, ""},
		{"param value of 6001", hangar.LogBatch{Params: []hangar.Param{{Key: "longer", Value: val(6001)}}}, long("Param value", "v", 6001, 6000)},
		{"tag key of 250", hangar.LogBatch{Tags: []hangar.RunTag{{Key: key(250), Value: "v"}}}, ""},
		{"tag key of 251", hangar.LogBatch{Tags: []hangar.RunTag{{Key: key(251), Value: "v"}}}, long("Tag key", "k", 251, 250)},
		{"tag value of 8000", hangar.LogBatch{Tags: []hangar.RunTag{{Key: "long", Value: val(8000)}}}, ""},
		{"tag value of 8001", hangar.LogBatch{Tags: []hangar.RunTag{{Key: "long", Value: val(8001)}}}, long("Tag value", "v", 8001, 8000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.Tracking.LogBatch(ctx, ws, id, tt.b)
			if tt.message == "" {
				if err != nil {
					t.Fatalf("got %v, want nil", err)
				}
				return
			}
			wantError(t, tt.name, err, hangar.EINVALID, tt.message)
		})
	}
	r := getRun(t, s, id)
	for _, want := range []hangar.Param{{Key: "long", Value: val(6000)}, {Key: key(250), Value: "v"}} {
		if !slices.Contains(r.Data.Params, want) {
			t.Errorf("param %.20s… at its limit was not stored whole", want.Key)
		}
	}
	if !slices.Contains(r.Data.Tags, hangar.RunTag{Key: "long", Value: val(8000)}) {
		t.Errorf("a tag value at its limit was not stored whole")
	}
	h, err := s.Tracking.MetricHistory(ctx, ws, id, "many", hangar.ListOptions{MaxResults: 5000})
	// The 900 of the batch of 1000 entities repeat points of the batch of
	// 1000 metrics exactly: kept once. The batches over a limit wrote none.
	if err != nil || len(h.Items) != 1000 {
		t.Errorf("points of a metric logged at the limits: %d, %v; want 1000", len(h.Items), err)
	}
	// Experiment tags.
	err = s.Tracking.SetExperimentTag(ctx, ws, "0", hangar.ExperimentTag{Key: "k", Value: val(5000)})
	if err != nil {
		t.Errorf("experiment tag value of 5000: %v", err)
	}
	err = s.Tracking.SetExperimentTag(ctx, ws, "0", hangar.ExperimentTag{Key: "k", Value: val(5001)})
	wantError(t, "experiment tag value of 5001", err, hangar.EINVALID, long("Tag value", "v", 5001, 5000))
	// Experiment names.
	if err := s.Tracking.CreateExperiment(ctx, ws, &hangar.Experiment{Name: val(500)}); err != nil {
		t.Errorf("experiment name of 500: %v", err)
	}
	err = s.Tracking.CreateExperiment(ctx, ws, &hangar.Experiment{Name: val(501)})
	wantError(t, "experiment name of 501", err, hangar.EINVALID, "Experiment name exceeds the maximum length of 500 characters")
}

// testLatestMetric: the latest value is the greatest (step, timestamp,
// value) whatever order the points come in, across batches, and a NaN
// compares as 0.
func testLatestMetric(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	ws := hangar.DefaultWorkspace
	m := func(v float64, ts, step int64) hangar.Metric {
		return hangar.Metric{Key: "m", Value: v, Timestamp: ts, Step: step}
	}
	tests := []struct {
		name    string
		batches [][]hangar.Metric
		want    hangar.Metric
	}{
		{"the greater step wins over a later time", [][]hangar.Metric{{m(1, 100, 2)}, {m(2, 200, 1)}}, m(1, 100, 2)},
		{"then the later time", [][]hangar.Metric{{m(1, 200, 1)}, {m(2, 100, 1)}}, m(1, 200, 1)},
		{"then the greater value", [][]hangar.Metric{{m(1, 100, 1)}, {m(3, 100, 1)}, {m(2, 100, 1)}}, m(3, 100, 1)},
		{"in one batch", [][]hangar.Metric{{m(5, 1, 3), m(1, 9, 3), m(7, 9, 2)}}, m(1, 9, 3)},
		{"a NaN is 0 against a positive value", [][]hangar.Metric{{m(math.NaN(), 1, 1), m(0.5, 1, 1)}}, m(0.5, 1, 1)},
		{"a NaN is 0 against a negative value", [][]hangar.Metric{{m(-1, 1, 1)}, {m(math.NaN(), 1, 1)}}, m(math.NaN(), 1, 1)},
		{"a NaN at a later step", [][]hangar.Metric{{m(1, 1, 1)}, {m(math.NaN(), 1, 2)}}, m(math.NaN(), 1, 2)},
		{"of equal points the first stays", [][]hangar.Metric{{m(0, 1, 1)}, {m(math.NaN(), 1, 1)}}, m(0, 1, 1)},
		{"negative steps", [][]hangar.Metric{{m(1, 1, -5)}, {m(2, 1, -7)}}, m(1, 1, -5)},
		{"infinities", [][]hangar.Metric{{m(math.Inf(1), 1, 1)}, {m(1e308, 1, 1)}}, m(math.Inf(1), 1, 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := newRun(t, s, "0").Info.RunID
			for _, b := range tt.batches {
				if err := s.Tracking.LogBatch(ctx, ws, id, hangar.LogBatch{Metrics: b}); err != nil {
					t.Fatal(err)
				}
			}
			if got := getRun(t, s, id).Data.Metrics; !sameMetrics(got, []hangar.Metric{tt.want}) {
				t.Errorf("latest %v, want %v", got, tt.want)
			}
		})
	}
}

func testMetricHistory(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	ws := hangar.DefaultWorkspace
	id := newRun(t, s, "0").Info.RunID
	var all []hangar.Metric
	for i := range 25 {
		// Out of order, with ties on timestamp broken by step, then value.
		all = append(all, hangar.Metric{Key: "loss", Value: float64(i % 3), Timestamp: int64(100 - i/2), Step: int64(i % 2)})
	}
	all = append(all, hangar.Metric{Key: "loss", Value: math.NaN(), Timestamp: 1, Step: 0}, hangar.Metric{Key: "loss", Value: 0, Timestamp: 1, Step: 0})
	if err := s.Tracking.LogBatch(ctx, ws, id, hangar.LogBatch{Metrics: all}); err != nil {
		t.Fatal(err)
	}
	want := slices.Clone(all)
	slices.SortFunc(want, func(a, b hangar.Metric) int {
		switch {
		case a.Timestamp != b.Timestamp:
			return int(a.Timestamp - b.Timestamp)
		case a.Step != b.Step:
			return int(a.Step - b.Step)
		case math.IsNaN(a.Value) != math.IsNaN(b.Value): // a NaN after every number
			if math.IsNaN(a.Value) {
				return 1
			}
			return -1
		}
		return int(a.Value - b.Value)
	})
	var got []hangar.Metric
	opt := hangar.ListOptions{MaxResults: 10}
	pages := 0
	for {
		p, err := s.Tracking.MetricHistory(ctx, ws, id, "loss", opt)
		if err != nil {
			t.Fatalf("page %d: %v", pages, err)
		}
		pages++
		got = append(got, p.Items...)
		if p.NextPageToken == "" {
			break
		}
		opt.PageToken = p.NextPageToken
	}
	if pages != 3 || !sameMetrics(got, want) {
		t.Errorf("history in %d pages:\n got  %v\n want %v", pages, got, want)
	}
	if p, err := s.Tracking.MetricHistory(ctx, ws, id, "loss", hangar.ListOptions{MaxResults: 27}); err != nil || len(p.Items) != 27 || p.NextPageToken != "" {
		t.Errorf("a page of exactly every point: %d items, token %q, %v; want 27 and no token", len(p.Items), p.NextPageToken, err)
	}
	if p, err := s.Tracking.MetricHistory(ctx, ws, "0123456789abcdef0123456789abcdef", "loss", hangar.ListOptions{}); err != nil || len(p.Items) != 0 {
		t.Errorf("history of a missing run: %v, %v; want empty", p, err)
	}
	if p, err := s.Tracking.MetricHistory(ctx, ws, id, "nope", hangar.ListOptions{}); err != nil || len(p.Items) != 0 {
		t.Errorf("history of a missing key: %v, %v; want empty", p, err)
	}
	first, _ := s.Tracking.MetricHistory(ctx, ws, id, "loss", hangar.ListOptions{MaxResults: 1})
	_, err := s.Tracking.MetricHistory(ctx, ws, id, "acc", hangar.ListOptions{PageToken: first.NextPageToken})
	wantCode(t, "a token of another metric", err, hangar.EINVALID)
	_, err = s.Tracking.MetricHistory(ctx, ws, id, "loss", hangar.ListOptions{PageToken: "garbage"})
	wantCode(t, "a bad token", err, hangar.EINVALID)
}

func testInputsAndModels(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	ws := hangar.DefaultWorkspace
	id := newRun(t, s, "0").Info.RunID
	train := hangar.Dataset{Name: "train", Digest: "d1", SourceType: "local", Source: `{"uri":"/data/train.csv"}`, Schema: `{"cols":[]}`, Profile: `{"rows":10}`}
	eval := hangar.Dataset{Name: "eval", Digest: "d2", SourceType: "local", Source: `{"uri":"/data/eval.csv"}`}
	ctxTag := func(v string) []hangar.InputTag { return []hangar.InputTag{{Key: hangar.TagDatasetContext, Value: v}} }
	err := s.Tracking.LogInputs(ctx, ws, id, []hangar.DatasetInput{
		{Tags: ctxTag("training"), Dataset: train},
		{Tags: ctxTag("eval"), Dataset: eval},
		{Tags: ctxTag("other"), Dataset: train}, // the same dataset again in one request: the first counts
	})
	if err != nil {
		t.Fatal(err)
	}
	wantEvent(t, s, "log inputs", hangar.ActRunWrite, "runs/"+id, ws)
	// Again, with another context: the input exists, its tags stay.
	if err := s.Tracking.LogInputs(ctx, ws, id, []hangar.DatasetInput{{Tags: ctxTag("again"), Dataset: train}}); err != nil {
		t.Fatal(err)
	}
	want := []hangar.DatasetInput{{Tags: ctxTag("training"), Dataset: train}, {Tags: ctxTag("eval"), Dataset: eval}}
	if got := getRun(t, s, id).Inputs.DatasetInputs; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("inputs %v, want %v", got, want)
	}
	// Another run of the experiment shares the dataset rows.
	other := newRun(t, s, "0").Info.RunID
	if err := s.Tracking.LogInputs(ctx, ws, other, []hangar.DatasetInput{{Dataset: hangar.Dataset{Name: "train", Digest: "d1", SourceType: "s3", Source: "{}"}}}); err != nil {
		t.Fatal(err)
	}
	if got := getRun(t, s, other).Inputs.DatasetInputs; len(got) != 1 || got[0].Dataset != train || got[0].Tags != nil {
		t.Errorf("a dataset known in the experiment keeps its first description: %v", got)
	}
	err = s.Tracking.LogInputs(ctx, ws, id, []hangar.DatasetInput{{Dataset: hangar.Dataset{Name: "x", Digest: strings.Repeat("d", 37), SourceType: "l", Source: "s"}}})
	wantError(t, "a long digest", err, hangar.EINVALID, "Dataset digest exceeds the maximum length of 36")

	// Logged models append to the history tag.
	m1 := `{"artifact_path": "model", "flavors": {"python_function": {}}, "utc_time_created": "2024-01-01 00:00:00.000000", "run_id": "` + id + `"}`
	m2 := `{"artifact_path":"model2","flavors":{},"utc_time_created":"t","run_id":"` + id + `","model_uuid":"u"}`
	for _, m := range []string{m1, m2} {
		if err := s.Tracking.LogModel(ctx, ws, id, m); err != nil {
			t.Fatalf("log model: %v", err)
		}
	}
	wantEvent(t, s, "log model", hangar.ActRunWrite, "runs/"+id, ws)
	wantHistory := `[{"artifact_path":"model","flavors":{"python_function":{}},"utc_time_created":"2024-01-01 00:00:00.000000","run_id":"` + id + `"},` + m2 + `]`
	if got := getRun(t, s, id).Data.Tags; !slices.Contains(got, hangar.RunTag{Key: hangar.TagLogModelHistory, Value: wantHistory}) {
		t.Errorf("tags %v: want the history %s", got, wantHistory)
	}
	err = s.Tracking.LogModel(ctx, ws, id, `{"artifact_path":"m"}`)
	wantError(t, "a model without its fields", err, hangar.EINVALID, "Model json is missing mandatory fields: {'flavors', 'utc_time_created', 'run_id'}")
}

// testTrackingWorkspaces: one workspace's experiments and runs are not
// found from another, and names and ids are per workspace.
func testTrackingWorkspaces(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	for _, ws := range []string{"team-a", "team-b"} {
		if err := s.Workspaces.CreateWorkspace(ctx, &hangar.Workspace{Name: ws}); err != nil {
			t.Fatal(err)
		}
	}
	a := &hangar.Experiment{Name: "same"}
	b := &hangar.Experiment{Name: "same"}
	if err := s.Tracking.CreateExperiment(ctx, "team-a", a); err != nil {
		t.Fatal(err)
	}
	wantEvent(t, s, "create in team-a", hangar.ActExperimentWrite, "experiments/1", "team-a")
	if err := s.Tracking.CreateExperiment(ctx, "team-b", b); err != nil || b.ID != a.ID {
		t.Fatalf("the same name in another workspace: %+v, %v", b, err)
	}
	r, err := s.Tracking.CreateRun(ctx, "team-a", hangar.RunCreate{ExperimentID: a.ID})
	if err != nil {
		t.Fatal(err)
	}
	id := r.Info.RunID
	wantEvent(t, s, "run in team-a", hangar.ActRunWrite, "runs/"+id, "team-a")
	notFound := "Run with id=" + id + " not found"
	_, err = s.Tracking.Run(ctx, "team-b", id)
	wantError(t, "team-a's run from team-b", err, hangar.ENOTFOUND, notFound)
	err = s.Tracking.LogBatch(ctx, "team-b", id, hangar.LogBatch{Params: []hangar.Param{{Key: "p", Value: "v"}}})
	wantError(t, "log to team-a's run from team-b", err, hangar.ENOTFOUND, notFound)
	err = s.Tracking.DeleteRun(ctx, "team-b", id)
	wantError(t, "delete team-a's run from team-b", err, hangar.ENOTFOUND, notFound)
	if err := s.Tracking.LogBatch(ctx, "team-a", id, hangar.LogBatch{Metrics: []hangar.Metric{{Key: "m", Value: 1, Timestamp: 1}}}); err != nil {
		t.Fatal(err)
	}
	if h, err := s.Tracking.MetricHistory(ctx, "team-b", id, "m", hangar.ListOptions{}); err != nil || len(h.Items) != 0 {
		t.Errorf("team-a's metric from team-b: %v, %v; want nothing", h, err)
	}
	p, err := s.Tracking.SearchRuns(ctx, "team-b", hangar.RunSearch{ExperimentIDs: []string{a.ID}, MaxResults: 10})
	if err != nil || len(p.Items) != 0 {
		t.Errorf("search of team-b: %v, %v; want no run of team-a", p, err)
	}
	if err := s.Workspaces.DeleteWorkspace(ctx, "team-a"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Tracking.Experiment(ctx, "team-b", b.ID); err != nil {
		t.Errorf("team-b's experiment after team-a is deleted: %v", err)
	}
}

// testTrackingConcurrentWriters: many writers log to one run at once; every
// point is kept, the latest value is the greatest, a param logged by all
// with one value is stored once, and the audit chain holds one event per
// batch.
func testTrackingConcurrentWriters(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	ws := hangar.DefaultWorkspace
	id := newRun(t, s, "0").Info.RunID
	before := len(allEvents(t, s))
	const writers, batches, points = 8, 5, 50
	var wg sync.WaitGroup
	errs := make(chan error, writers*batches)
	for w := range writers {
		wg.Go(func() {
			for b := range batches {
				var ms []hangar.Metric
				for p := range points {
					step := int64(w*batches*points + b*points + p)
					ms = append(ms, hangar.Metric{Key: "loss", Value: float64(step), Timestamp: step, Step: step})
				}
				errs <- s.Tracking.LogBatch(ctx, ws, id, hangar.LogBatch{
					Metrics: ms,
					Params:  []hangar.Param{{Key: "shared", Value: "same"}, {Key: fmt.Sprintf("w%d-b%d", w, b), Value: "v"}},
					Tags:    []hangar.RunTag{{Key: "writer", Value: fmt.Sprint(w)}},
				})
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent log batch: %v", err)
		}
	}
	h, err := s.Tracking.MetricHistory(ctx, ws, id, "loss", hangar.ListOptions{MaxResults: 5000})
	if err != nil || len(h.Items) != writers*batches*points {
		t.Fatalf("points: %d, %v; want %d", len(h.Items), err, writers*batches*points)
	}
	last := float64(writers*batches*points - 1)
	r := getRun(t, s, id)
	if !sameMetrics(r.Data.Metrics, []hangar.Metric{{Key: "loss", Value: last, Timestamp: int64(last), Step: int64(last)}}) {
		t.Errorf("latest %v, want the point of step %v", r.Data.Metrics, last)
	}
	if len(r.Data.Params) != 1+writers*batches {
		t.Errorf("%d params, want %d", len(r.Data.Params), 1+writers*batches)
	}
	if got := len(allEvents(t, s)) - before; got != writers*batches {
		t.Errorf("%d audit events, want one per batch (%d)", got, writers*batches)
	}
	wantVerified(t, s, int64(len(allEvents(t, s))))
}

// testTrackingBadText: text PostgreSQL cannot hold is refused alike on both
// backends.
func testTrackingBadText(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	ws := hangar.DefaultWorkspace
	id := newRun(t, s, "0").Info.RunID
	for name, err := range map[string]error{
		"experiment name": s.Tracking.CreateExperiment(ctx, ws, &hangar.Experiment{Name: "a\x00b"}),
		"experiment tag":  s.Tracking.SetExperimentTag(ctx, ws, "0", hangar.ExperimentTag{Key: "k", Value: "\xff"}),
		"param value":     s.Tracking.LogBatch(ctx, ws, id, hangar.LogBatch{Params: []hangar.Param{{Key: "p", Value: "a\x00"}}}),
		"tag value":       s.Tracking.SetRunTag(ctx, ws, id, hangar.RunTag{Key: "t", Value: "\xc3"}),
		"run name":        func() error { _, err := s.Tracking.CreateRun(ctx, ws, hangar.RunCreate{RunName: "a\x00"}); return err }(),
		"run id":          func() error { _, err := s.Tracking.Run(ctx, ws, "a\x00"); return err }(),
		"experiment id":   func() error { _, err := s.Tracking.Experiment(ctx, ws, "\xff"); return err }(),
		"filter": func() error {
			_, err := s.Tracking.SearchRuns(ctx, ws, hangar.RunSearch{Filter: "params.a = '\x00'", MaxResults: 1})
			return err
		}(),
		"delete tag key": s.Tracking.DeleteRunTag(ctx, ws, id, "\x00"),
		"dataset source": s.Tracking.LogInputs(ctx, ws, id, []hangar.DatasetInput{{Dataset: hangar.Dataset{Name: "d", Digest: "1", SourceType: "l", Source: "\x00"}}}),
		"metric history key": func() error {
			_, err := s.Tracking.MetricHistory(ctx, ws, id, "\xff", hangar.ListOptions{})
			return err
		}(),
		"experiment by name": func() error { _, err := s.Tracking.ExperimentByName(ctx, ws, "\x00"); return err }(),
		"search order by": func() error {
			_, err := s.Tracking.SearchRuns(ctx, ws, hangar.RunSearch{OrderBy: []string{"\xff"}, MaxResults: 1})
			return err
		}(),
		"experiments filter": func() error {
			_, err := s.Tracking.SearchExperiments(ctx, ws, hangar.ExperimentSearch{Filter: "name = '\x00'", MaxResults: 1})
			return err
		}(),
		"experiment rename": s.Tracking.RenameExperiment(ctx, ws, "0", "\x00"),
		"log model":         s.Tracking.LogModel(ctx, ws, id, "{\"artifact_path\":\"\xff\",\"flavors\":{},\"utc_time_created\":\"t\",\"run_id\":\"r\"}"),
		"update run name": func() error {
			_, err := s.Tracking.UpdateRun(ctx, ws, id, hangar.RunUpdate{RunName: "\x00"})
			return err
		}(),
		"search experiment": func() error {
			_, err := s.Tracking.SearchRuns(ctx, ws, hangar.RunSearch{ExperimentIDs: []string{"\x00"}, MaxResults: 1})
			return err
		}(),
		"experiments order": func() error {
			_, err := s.Tracking.SearchExperiments(ctx, ws, hangar.ExperimentSearch{OrderBy: []string{"\x00"}, MaxResults: 1})
			return err
		}(),
		"create run user": func() error { _, err := s.Tracking.CreateRun(ctx, ws, hangar.RunCreate{UserID: "\xff"}); return err }(),
		"metric history run": func() error {
			_, err := s.Tracking.MetricHistory(ctx, ws, "\x00", "m", hangar.ListOptions{})
			return err
		}(),
		"experiment location": s.Tracking.CreateExperiment(ctx, ws, &hangar.Experiment{Name: "loc", ArtifactLocation: "\x00"}),
	} {
		if hangar.ErrorCode(err) != hangar.EINVALID {
			t.Errorf("%s with NUL or invalid UTF-8: %v, want invalid", name, err)
		}
	}
}
