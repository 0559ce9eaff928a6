package storetest

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/hangar-ml/hangar"
)

// testRegistry runs the model registry's subtests: the lifecycle of models,
// versions, tags, aliases and stages with their audit events; every error
// code; version numbering across deletes and under concurrent writers; and
// search against package search's reference evaluator.
func testRegistry(t *testing.T, open func(t *testing.T) *Store) {
	t.Run("Lifecycle", func(t *testing.T) { testRegistryLifecycle(t, open(t)) })
	t.Run("Aliases", func(t *testing.T) { testRegistryAliases(t, open(t)) })
	t.Run("Stages", func(t *testing.T) { testRegistryStages(t, open(t)) })
	t.Run("Numbering", func(t *testing.T) { testRegistryNumbering(t, open(t)) })
	t.Run("Rename", func(t *testing.T) { testRegistryRename(t, open(t)) })
	t.Run("Resolve", func(t *testing.T) { testRegistryResolve(t, open(t)) })
	t.Run("Workspaces", func(t *testing.T) { testRegistryWorkspaces(t, open(t)) })
	t.Run("Errors", func(t *testing.T) { testRegistryErrors(t, open(t)) })
	t.Run("ConcurrentVersions", func(t *testing.T) { testRegistryConcurrentVersions(t, open(t)) })
	t.Run("Search", func(t *testing.T) { testRegistrySearch(t, open(t)) })
	t.Run("SearchPaging", func(t *testing.T) { testRegistrySearchPaging(t, open(t)) })
}

const registryWS = hangar.DefaultWorkspace

// newModel creates a model in the default workspace.
func newModel(t *testing.T, s *Store, name string, tags map[string]string) *hangar.RegisteredModel {
	t.Helper()
	m := &hangar.RegisteredModel{Workspace: registryWS, Name: name, Tags: tags}
	if err := s.Registry.CreateRegisteredModel(actorCtx(t), m); err != nil {
		t.Fatalf("create model %q: %v", name, err)
	}
	return m
}

// newVersion creates the next version of a model in the default workspace.
func newVersion(t *testing.T, s *Store, name, source, runID string, tags map[string]string) *hangar.ModelVersion {
	t.Helper()
	v := &hangar.ModelVersion{Workspace: registryWS, Name: name, Source: source, RunID: runID, Tags: tags}
	if err := s.Registry.CreateModelVersion(actorCtx(t), v); err != nil {
		t.Fatalf("create version of %q: %v", name, err)
	}
	return v
}

// wantModelEvent fails unless the newest audit event has the action and target
// in the default workspace, by alice.
func wantModelEvent(t *testing.T, s *Store, action, target string) {
	t.Helper()
	e := lastEvent(t, s)
	if e.Action != action || e.Target != target || e.Workspace != registryWS || e.Actor != "alice" {
		t.Errorf("last event: got %s on %s in %q by %q, want %s on %s in %q by alice", e.Action, e.Target, e.Workspace, e.Actor, action, target, registryWS)
	}
}

// versionList lists the versions' numbers.
func versionList(vs []*hangar.ModelVersion) string {
	var out []string
	for _, v := range vs {
		out = append(out, v.Name+"/"+v.Version+":"+v.Stage)
	}
	return strings.Join(out, " ")
}

func testRegistryLifecycle(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	m := &hangar.RegisteredModel{Workspace: registryWS, Name: "churn", Description: "predicts churn", Tags: map[string]string{"team": "ml"}}
	if err := s.Registry.CreateRegisteredModel(ctx, m); err != nil {
		t.Fatalf("create: %v", err)
	}
	if m.CreatedAt.IsZero() || !m.UpdatedAt.Equal(m.CreatedAt) || m.UserID != "alice" || m.CreatedAt.Nanosecond()%1e6 != 0 {
		t.Errorf("create: got %+v, want times set to the millisecond and user alice", m)
	}
	wantModelEvent(t, s, hangar.ActModelWrite, "models/churn")
	err := s.Registry.CreateRegisteredModel(ctx, &hangar.RegisteredModel{Workspace: registryWS, Name: "churn"})
	wantCode(t, "create twice", err, hangar.ECONFLICT)
	if got, want := hangar.ErrorMessage(err), "Registered Model (name=churn) already exists."; got != want {
		t.Errorf("create twice: got message %q, want %q", got, want)
	}

	got, err := s.Registry.RegisteredModel(ctx, registryWS, "churn")
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if got.Name != "churn" || got.Workspace != registryWS || got.Description != "predicts churn" || got.Tags["team"] != "ml" || len(got.Tags) != 1 ||
		!got.CreatedAt.Equal(m.CreatedAt) || got.UserID != "alice" || got.Aliases != nil || got.LatestVersions != nil {
		t.Errorf("get: got %+v", got)
	}
	_, err = s.Registry.RegisteredModel(ctx, registryWS, "nope")
	wantCode(t, "get missing", err, hangar.ENOTFOUND)
	if got, want := hangar.ErrorMessage(err), "Registered Model with name=nope not found"; got != want {
		t.Errorf("get missing: got message %q, want %q", got, want)
	}

	upd, err := s.Registry.UpdateRegisteredModel(ctx, registryWS, "churn", "v2 of the description")
	if err != nil || upd.Description != "v2 of the description" || upd.UpdatedAt.Before(m.UpdatedAt) || upd.Tags["team"] != "ml" {
		t.Errorf("update: got %+v, %v", upd, err)
	}
	wantModelEvent(t, s, hangar.ActModelWrite, "models/churn")

	// Tags: set, replace, delete; deleting a missing tag is no error and no event.
	for _, kv := range [][2]string{{"owner", "bob"}, {"owner", "carol"}, {"mlflow.note", "x y"}} {
		if err := s.Registry.SetRegisteredModelTag(ctx, registryWS, "churn", kv[0], kv[1]); err != nil {
			t.Fatalf("set tag %v: %v", kv, err)
		}
	}
	wantModelEvent(t, s, hangar.ActModelWrite, "models/churn")
	if err := s.Registry.DeleteRegisteredModelTag(ctx, registryWS, "churn", "mlflow.note"); err != nil {
		t.Fatalf("delete tag: %v", err)
	}
	before := len(allEvents(t, s))
	if err := s.Registry.DeleteRegisteredModelTag(ctx, registryWS, "churn", "never-set"); err != nil {
		t.Errorf("delete missing tag: got %v, want no error (MLflow)", err)
	}
	if n := len(allEvents(t, s)); n != before {
		t.Errorf("delete missing tag: %d events, want %d (nothing changed)", n, before)
	}
	if got, _ := s.Registry.RegisteredModel(ctx, registryWS, "churn"); got == nil || len(got.Tags) != 2 || got.Tags["owner"] != "carol" || got.Tags["team"] != "ml" {
		t.Errorf("tags: got %+v, want owner=carol team=ml", got)
	}

	// Versions.
	src := "mlflow-artifacts:/1/0123456789abcdef0123456789abcdef/artifacts/model"
	v1 := &hangar.ModelVersion{Workspace: registryWS, Name: "churn", Source: src, RunID: "0123456789abcdef0123456789abcdef",
		RunLink: "http://x/run", Description: "first", Tags: map[string]string{"k": "v"}}
	if err := s.Registry.CreateModelVersion(ctx, v1); err != nil {
		t.Fatalf("create version: %v", err)
	}
	if v1.Version != "1" || v1.Stage != hangar.StageNone || v1.Status != hangar.ModelVersionReady || v1.UserID != "alice" ||
		v1.CreatedAt.IsZero() || v1.DownloadURI() != src || v1.Aliases != nil {
		t.Errorf("create version: got %+v", v1)
	}
	wantModelEvent(t, s, hangar.ActModelWrite, "models/churn/versions/1")
	v2 := newVersion(t, s, "churn", "s3://bucket/churn/2", "", nil)
	if v2.Version != "2" || v2.RunID != "" {
		t.Errorf("second version: got %+v, want version 2 without a run", v2)
	}
	got1, err := s.Registry.ModelVersion(ctx, registryWS, "churn", "1")
	if err != nil {
		t.Fatalf("get version: %v", err)
	}
	if got1.Name != "churn" || got1.Version != "1" || got1.Source != src || got1.RunID != v1.RunID || got1.RunLink != "http://x/run" ||
		got1.Description != "first" || got1.Tags["k"] != "v" || got1.Status != hangar.ModelVersionReady || !got1.CreatedAt.Equal(v1.CreatedAt) {
		t.Errorf("get version: got %+v, want %+v", got1, v1)
	}
	if got, err := s.Registry.ModelVersion(ctx, registryWS, "churn", " 01 "); err != nil || got.Version != "1" {
		t.Errorf("get version \" 01 \": got %+v, %v; want version 1 (Python's int())", got, err)
	}
	_, err = s.Registry.ModelVersion(ctx, registryWS, "churn", "3")
	wantCode(t, "get missing version", err, hangar.ENOTFOUND)
	if got, want := hangar.ErrorMessage(err), "Model Version (name=churn, version=3) not found"; got != want {
		t.Errorf("get missing version: got message %q, want %q", got, want)
	}
	model, _ := s.Registry.RegisteredModel(ctx, registryWS, "churn")
	if model == nil || versionList(model.LatestVersions) != "churn/2:None" || model.UpdatedAt.Before(v2.CreatedAt) {
		t.Errorf("model after versions: got %+v, want latest churn/2:None and updated at the last version", model)
	}

	uv, err := s.Registry.UpdateModelVersion(ctx, registryWS, "churn", "1", "better")
	if err != nil || uv.Description != "better" || uv.Tags["k"] != "v" {
		t.Errorf("update version: got %+v, %v", uv, err)
	}
	wantModelEvent(t, s, hangar.ActModelWrite, "models/churn/versions/1")
	if err := s.Registry.SetModelVersionTag(ctx, registryWS, "churn", "1", "k", "v2"); err != nil {
		t.Fatalf("set version tag: %v", err)
	}
	if err := s.Registry.SetModelVersionTag(ctx, registryWS, "churn", "1", "gate", "passed"); err != nil {
		t.Fatalf("set version tag: %v", err)
	}
	wantModelEvent(t, s, hangar.ActModelWrite, "models/churn/versions/1")
	if err := s.Registry.DeleteModelVersionTag(ctx, registryWS, "churn", "1", "gate"); err != nil {
		t.Fatalf("delete version tag: %v", err)
	}
	if err := s.Registry.DeleteModelVersionTag(ctx, registryWS, "churn", "1", "gate"); err != nil {
		t.Errorf("delete missing version tag: got %v, want no error", err)
	}
	if got, _ := s.Registry.ModelVersion(ctx, registryWS, "churn", "1"); got == nil || len(got.Tags) != 1 || got.Tags["k"] != "v2" {
		t.Errorf("version tags: got %+v, want k=v2", got)
	}
	if uri, err := s.Registry.ModelVersionDownloadURI(ctx, registryWS, "churn", "2"); err != nil || uri != "s3://bucket/churn/2" {
		t.Errorf("download uri: got %q, %v", uri, err)
	}

	// Deleting a version: gone, its number not given again, the model's
	// UpdatedAt moves.
	if err := s.Registry.DeleteModelVersion(ctx, registryWS, "churn", "2"); err != nil {
		t.Fatalf("delete version: %v", err)
	}
	wantModelEvent(t, s, hangar.ActModelDelete, "models/churn/versions/2")
	_, err = s.Registry.ModelVersion(ctx, registryWS, "churn", "2")
	wantCode(t, "get deleted version", err, hangar.ENOTFOUND)
	wantCode(t, "delete deleted version", s.Registry.DeleteModelVersion(ctx, registryWS, "churn", "2"), hangar.ENOTFOUND)
	if v3 := newVersion(t, s, "churn", src, "", nil); v3.Version != "3" {
		t.Errorf("version after deleting 2: got %s, want 3", v3.Version)
	}

	// Deleting the model: a hard delete of everything under it.
	if err := s.Registry.SetRegisteredModelAlias(ctx, registryWS, "churn", "champion", "1"); err != nil {
		t.Fatal(err)
	}
	if err := s.Registry.DeleteRegisteredModel(ctx, registryWS, "churn"); err != nil {
		t.Fatalf("delete model: %v", err)
	}
	wantModelEvent(t, s, hangar.ActModelDelete, "models/churn")
	_, err = s.Registry.RegisteredModel(ctx, registryWS, "churn")
	wantCode(t, "get deleted model", err, hangar.ENOTFOUND)
	wantCode(t, "delete deleted model", s.Registry.DeleteRegisteredModel(ctx, registryWS, "churn"), hangar.ENOTFOUND)
	for _, table := range []string{"model_versions", "model_version_tags", "registered_model_tags", "registered_model_aliases"} {
		var n int
		if err := s.QueryRow(ctx, `SELECT COUNT(*) FROM `+table, nil, &n); err != nil || n != 0 {
			t.Errorf("%s after deleting the only model: %d rows, %v; want none", table, n, err)
		}
	}
	newModel(t, s, "churn", nil)
	if v := newVersion(t, s, "churn", src, "", nil); v.Version != "1" {
		t.Errorf("first version of a re-created model: got %s, want 1 (MLflow: a hard delete)", v.Version)
	}
	if got, _ := s.Registry.RegisteredModel(ctx, registryWS, "churn"); got == nil || got.Tags != nil || got.Aliases != nil || got.Description != "" {
		t.Errorf("re-created model: got %+v, want nothing of the deleted one", got)
	}
	wantVerified(t, s, int64(len(allEvents(t, s))))
}

func testRegistryAliases(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	newModel(t, s, "m", nil)
	for range 3 {
		newVersion(t, s, "m", "s3://b/m", "", nil)
	}
	if err := s.Registry.SetRegisteredModelAlias(ctx, registryWS, "m", "champion", "1"); err != nil {
		t.Fatalf("set alias: %v", err)
	}
	wantModelEvent(t, s, hangar.ActModelWrite, "models/m/aliases/champion")
	if err := s.Registry.SetRegisteredModelAlias(ctx, registryWS, "m", "challenger", "2"); err != nil {
		t.Fatal(err)
	}
	before, _ := s.Registry.RegisteredModel(ctx, registryWS, "m")
	// Moving an alias is a set; the model's UpdatedAt stays (MLflow 3.x).
	if err := s.Registry.SetRegisteredModelAlias(ctx, registryWS, "m", "champion", "2"); err != nil {
		t.Fatalf("move alias: %v", err)
	}
	m, _ := s.Registry.RegisteredModel(ctx, registryWS, "m")
	if m == nil || fmt.Sprint(m.Aliases) != "[{challenger 2} {champion 2}]" || !m.UpdatedAt.Equal(before.UpdatedAt) {
		t.Errorf("aliases: got %+v, want challenger and champion on 2 and UpdatedAt %v unchanged", m, before.UpdatedAt)
	}
	v, err := s.Registry.ModelVersionByAlias(ctx, registryWS, "m", "champion")
	if err != nil || v.Version != "2" || fmt.Sprint(v.Aliases) != "[challenger champion]" {
		t.Errorf("by alias: got %+v, %v; want version 2 with both aliases", v, err)
	}
	if v1, _ := s.Registry.ModelVersion(ctx, registryWS, "m", "1"); v1 == nil || v1.Aliases != nil {
		t.Errorf("version 1 after the move: got %+v, want no aliases", v1)
	}
	// latest_versions carry no aliases (MLflow).
	if m.LatestVersions == nil || m.LatestVersions[0].Aliases != nil {
		t.Errorf("latest versions: got %+v, want version 3 without aliases", m.LatestVersions)
	}

	// A missing alias is EINVALID (MLflow's INVALID_PARAMETER_VALUE, 400).
	_, err = s.Registry.ModelVersionByAlias(ctx, registryWS, "m", "nope")
	wantCode(t, "missing alias", err, hangar.EINVALID)
	if got, want := hangar.ErrorMessage(err), "Registered model alias nope not found."; got != want {
		t.Errorf("missing alias: got message %q, want %q", got, want)
	}
	_, err = s.Registry.ModelVersionByAlias(ctx, registryWS, "ghost", "champion")
	wantCode(t, "alias of a missing model", err, hangar.ENOTFOUND)
	for _, bad := range []string{"latest", "LATEST", "v1", "V2", "a b", "", strings.Repeat("a", 256)} {
		wantCode(t, "set alias "+bad, s.Registry.SetRegisteredModelAlias(ctx, registryWS, "m", bad, "1"), hangar.EINVALID)
	}
	wantCode(t, "alias to a missing version", s.Registry.SetRegisteredModelAlias(ctx, registryWS, "m", "x", "9"), hangar.ENOTFOUND)
	wantCode(t, "alias to a non-integer version", s.Registry.SetRegisteredModelAlias(ctx, registryWS, "m", "x", "one"), hangar.EINVALID)
	wantCode(t, "alias on a missing model", s.Registry.SetRegisteredModelAlias(ctx, registryWS, "ghost", "x", "1"), hangar.ENOTFOUND)

	// Deleting a version deletes the aliases pointing at it.
	if err := s.Registry.DeleteModelVersion(ctx, registryWS, "m", "2"); err != nil {
		t.Fatal(err)
	}
	_, err = s.Registry.ModelVersionByAlias(ctx, registryWS, "m", "champion")
	wantCode(t, "alias of a deleted version", err, hangar.EINVALID)
	if m, _ := s.Registry.RegisteredModel(ctx, registryWS, "m"); m == nil || m.Aliases != nil {
		t.Errorf("aliases after deleting their version: got %+v, want none", m)
	}

	if err := s.Registry.SetRegisteredModelAlias(ctx, registryWS, "m", "prod", "3"); err != nil {
		t.Fatal(err)
	}
	if err := s.Registry.DeleteRegisteredModelAlias(ctx, registryWS, "m", "prod"); err != nil {
		t.Fatalf("delete alias: %v", err)
	}
	wantModelEvent(t, s, hangar.ActModelWrite, "models/m/aliases/prod")
	n := len(allEvents(t, s))
	if err := s.Registry.DeleteRegisteredModelAlias(ctx, registryWS, "m", "prod"); err != nil {
		t.Errorf("delete missing alias: got %v, want no error (MLflow)", err)
	}
	if got := len(allEvents(t, s)); got != n {
		t.Errorf("delete missing alias: %d events, want %d", got, n)
	}
	wantCode(t, "delete alias of a missing model", s.Registry.DeleteRegisteredModelAlias(ctx, registryWS, "ghost", "prod"), hangar.ENOTFOUND)
	wantCode(t, "delete reserved alias", s.Registry.DeleteRegisteredModelAlias(ctx, registryWS, "m", "latest"), hangar.EINVALID)
}

func testRegistryStages(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	newModel(t, s, "m", nil)
	for range 5 {
		newVersion(t, s, "m", "s3://b/m", "", nil)
	}
	latest := func(stages ...string) string {
		t.Helper()
		vs, err := s.Registry.LatestModelVersions(ctx, registryWS, "m", stages)
		if err != nil {
			t.Fatalf("latest %v: %v", stages, err)
		}
		return versionList(vs)
	}
	if got := latest(); got != "m/5:None" {
		t.Errorf("latest: got %s", got)
	}
	for _, tr := range []struct{ version, stage string }{{"1", "production"}, {"2", "Staging"}, {"3", "PRODUCTION"}, {"4", "archived"}} {
		v, err := s.Registry.TransitionModelVersionStage(ctx, registryWS, "m", tr.version, tr.stage, false)
		if err != nil {
			t.Fatalf("transition %v: %v", tr, err)
		}
		if want, _ := hangar.CanonicalStage(tr.stage); v.Stage != want || v.Version != tr.version {
			t.Errorf("transition %v: got %+v, want stage %s", tr, v, want)
		}
		wantModelEvent(t, s, hangar.ActModelWrite, "models/m/versions/"+tr.version)
	}
	if got, want := latest(), "m/5:None m/2:Staging m/3:Production m/4:Archived"; got != want {
		t.Errorf("latest: got %s, want %s", got, want)
	}
	if got, want := latest("production", "NONE"), "m/5:None m/3:Production"; got != want {
		t.Errorf("latest production, none: got %s, want %s", got, want)
	}
	if got := latest("staging"); got != "m/2:Staging" {
		t.Errorf("latest staging: got %s", got)
	}
	_, err := s.Registry.LatestModelVersions(ctx, registryWS, "m", []string{"Prod"})
	wantCode(t, "latest of a bad stage", err, hangar.EINVALID)
	_, err = s.Registry.LatestModelVersions(ctx, registryWS, "ghost", nil)
	wantCode(t, "latest of a missing model", err, hangar.ENOTFOUND)
	m, _ := s.Registry.RegisteredModel(ctx, registryWS, "m")
	if m == nil || versionList(m.LatestVersions) != "m/5:None m/2:Staging m/3:Production m/4:Archived" {
		t.Errorf("model's latest versions: got %+v", m)
	}

	// Archiving the others: versions 1 and 3 are in Production.
	if err := s.Registry.SetRegisteredModelAlias(ctx, registryWS, "m", "live", "3"); err != nil {
		t.Fatal(err)
	}
	v, err := s.Registry.TransitionModelVersionStage(ctx, registryWS, "m", "5", "Production", true)
	if err != nil || v.Stage != hangar.StageProduction {
		t.Fatalf("transition with archiving: got %+v, %v", v, err)
	}
	events := allEvents(t, s)
	var targets []string
	for _, e := range events[len(events)-3:] {
		targets = append(targets, e.Target)
	}
	if got, want := strings.Join(targets, " "), "models/m/versions/1 models/m/versions/3 models/m/versions/5"; got != want {
		t.Errorf("events of the transition: got %s, want %s", got, want)
	}
	if got, want := latest(), "m/2:Staging m/5:Production m/4:Archived"; got != want {
		t.Errorf("latest after archiving: got %s, want %s", got, want)
	}
	for _, n := range []string{"1", "3"} {
		if v, _ := s.Registry.ModelVersion(ctx, registryWS, "m", n); v == nil || v.Stage != hangar.StageArchived {
			t.Errorf("version %s after archiving: got %+v, want Archived", n, v)
		}
	}
	if v, _ := s.Registry.ModelVersionByAlias(ctx, registryWS, "m", "live"); v == nil || v.Version != "3" || v.Stage != hangar.StageArchived {
		t.Errorf("alias of an archived version: got %+v, want version 3, Archived (aliases do not follow stages)", v)
	}
	// Archiving is allowed only into Staging and Production (a 500 in MLflow).
	for _, stage := range []string{"None", "archived"} {
		_, err := s.Registry.TransitionModelVersionStage(ctx, registryWS, "m", "2", stage, true)
		wantCode(t, "archive existing into "+stage, err, hangar.EINVALID)
	}
	_, err = s.Registry.TransitionModelVersionStage(ctx, registryWS, "m", "2", "Deleted_Internal", false)
	wantCode(t, "transition to an internal stage", err, hangar.EINVALID)
	_, err = s.Registry.TransitionModelVersionStage(ctx, registryWS, "m", "9", "Staging", false)
	wantCode(t, "transition a missing version", err, hangar.ENOTFOUND)
	wantVerified(t, s, int64(len(allEvents(t, s))))
}

func testRegistryNumbering(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	newModel(t, s, "m", nil)
	newModel(t, s, "other", nil)
	for i := 1; i <= 3; i++ {
		if v := newVersion(t, s, "m", "s3://b/m", "", nil); v.Version != fmt.Sprint(i) {
			t.Fatalf("version %d: got %s", i, v.Version)
		}
	}
	if v := newVersion(t, s, "other", "s3://b/o", "", nil); v.Version != "1" {
		t.Errorf("first version of another model: got %s, want 1 (numbers are per model)", v.Version)
	}
	// Deleting the newest versions does not give their numbers again
	// (MLflow numbers from the highest version ever made).
	for _, n := range []string{"3", "2"} {
		if err := s.Registry.DeleteModelVersion(ctx, registryWS, "m", n); err != nil {
			t.Fatal(err)
		}
	}
	if v := newVersion(t, s, "m", "s3://b/m", "", nil); v.Version != "4" {
		t.Errorf("version after deleting 2 and 3: got %s, want 4", v.Version)
	}
	if err := s.Registry.DeleteModelVersion(ctx, registryWS, "m", "1"); err != nil {
		t.Fatal(err)
	}
	if err := s.Registry.DeleteModelVersion(ctx, registryWS, "m", "4"); err != nil {
		t.Fatal(err)
	}
	if v := newVersion(t, s, "m", "s3://b/m", "", nil); v.Version != "5" {
		t.Errorf("version after deleting every version: got %s, want 5", v.Version)
	}
	m, _ := s.Registry.RegisteredModel(ctx, registryWS, "m")
	if m == nil || versionList(m.LatestVersions) != "m/5:None" {
		t.Errorf("model: got %+v, want latest version 5", m)
	}
}

func testRegistryRename(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	newModel(t, s, "old", map[string]string{"t": "1"})
	newModel(t, s, "taken", nil)
	v1 := newVersion(t, s, "old", "s3://b/old", "", map[string]string{"vt": "x"})
	newVersion(t, s, "old", "s3://b/old", "", nil)
	if err := s.Registry.SetRegisteredModelAlias(ctx, registryWS, "old", "champion", "1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Registry.TransitionModelVersionStage(ctx, registryWS, "old", "2", "Staging", false); err != nil {
		t.Fatal(err)
	}
	_, err := s.Registry.RenameRegisteredModel(ctx, registryWS, "old", "taken")
	wantCode(t, "rename to a taken name", err, hangar.ECONFLICT)
	if got, want := hangar.ErrorMessage(err), "Registered Model (name=taken) already exists."; got != want {
		t.Errorf("rename to a taken name: got message %q, want %q", got, want)
	}
	_, err = s.Registry.RenameRegisteredModel(ctx, registryWS, "ghost", "new")
	wantCode(t, "rename a missing model", err, hangar.ENOTFOUND)
	_, err = s.Registry.RenameRegisteredModel(ctx, registryWS, "old", "")
	wantCode(t, "rename to empty", err, hangar.EINVALID)
	if got, want := hangar.ErrorMessage(err), "Missing value for required parameter 'new_name'."; got != want {
		t.Errorf("rename to empty: got message %q, want %q", got, want)
	}

	n := len(allEvents(t, s))
	m, err := s.Registry.RenameRegisteredModel(ctx, registryWS, "old", "new")
	if err != nil {
		t.Fatalf("rename: %v", err)
	}
	if m.Name != "new" || m.Tags["t"] != "1" || fmt.Sprint(m.Aliases) != "[{champion 1}]" || versionList(m.LatestVersions) != "new/1:None new/2:Staging" {
		t.Errorf("rename: got %+v, want tags, aliases and versions moved", m)
	}
	events := allEvents(t, s)
	if len(events) != n+2 || events[n].Target != "models/old" || events[n+1].Target != "models/new" || events[n].Action != hangar.ActModelWrite {
		t.Errorf("rename events: got %d new, want models/write on models/old and on models/new", len(events)-n)
	}
	_, err = s.Registry.RegisteredModel(ctx, registryWS, "old")
	wantCode(t, "get the old name", err, hangar.ENOTFOUND)
	_, err = s.Registry.ModelVersion(ctx, registryWS, "old", "1")
	wantCode(t, "get a version under the old name", err, hangar.ENOTFOUND)
	v, err := s.Registry.ModelVersion(ctx, registryWS, "new", "1")
	if err != nil || v.Name != "new" || v.Tags["vt"] != "x" || fmt.Sprint(v.Aliases) != "[champion]" || v.Source != "s3://b/old" || v.UpdatedAt.Before(v1.UpdatedAt) {
		t.Errorf("version after rename: got %+v, %v; want its tags and alias under the new name, the source unchanged", v, err)
	}
	if v, err := s.Registry.ResolveModelURI(ctx, registryWS, "models:/new@champion"); err != nil || v.Version != "1" {
		t.Errorf("resolve models:/new@champion: got %+v, %v", v, err)
	}
	if _, err := s.Registry.ResolveModelURI(ctx, registryWS, "models:/old@champion"); hangar.ErrorCode(err) != hangar.ENOTFOUND {
		t.Errorf("resolve models:/old@champion: got %v, want ENOTFOUND (old URIs stop resolving)", err)
	}
	if v := newVersion(t, s, "new", "s3://b/new", "", nil); v.Version != "3" {
		t.Errorf("version after rename: got %s, want 3", v.Version)
	}
	// The old name is free again.
	newModel(t, s, "old", nil)
	if _, err := s.Registry.RenameRegisteredModel(ctx, registryWS, "new", "new"); err != nil {
		t.Errorf("rename to the same name: %v", err)
	}
}

func testRegistryResolve(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	newModel(t, s, "m", nil)
	newModel(t, s, "empty", nil)
	for range 4 {
		newVersion(t, s, "m", "s3://b/m", "", nil)
	}
	for _, tr := range [][2]string{{"1", "Production"}, {"2", "Production"}, {"3", "Staging"}} {
		if _, err := s.Registry.TransitionModelVersionStage(ctx, registryWS, "m", tr[0], tr[1], false); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Registry.SetRegisteredModelAlias(ctx, registryWS, "m", "champion", "1"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ uri, version, code string }{
		{"models:/m/3", "3", ""},
		{"models:/m/latest", "4", ""},
		{"models:/m/Latest", "4", ""},
		{"models:/m/production", "2", ""},
		{"models:/m/Staging", "3", ""},
		{"models:/m@champion", "1", ""},
		{"models:/m/9", "", hangar.ENOTFOUND},
		{"models:/m/archived", "", hangar.ENOTFOUND},
		{"models:/m/prod", "", hangar.EINVALID},
		{"models:/m@nope", "", hangar.EINVALID},
		{"models:/m@latest", "", hangar.EINVALID},
		{"models:/ghost/1", "", hangar.ENOTFOUND},
		{"models:/empty/latest", "", hangar.ENOTFOUND},
		{"models:/m-0123", "", hangar.EINVALID},
		{"models:/m/1/2", "", hangar.EINVALID},
		{"runs:/abc/model", "", hangar.EINVALID},
	} {
		v, err := s.Registry.ResolveModelURI(ctx, registryWS, tc.uri)
		wantCode(t, "resolve "+tc.uri, err, tc.code)
		if tc.code == "" && (v.Version != tc.version || v.Name != "m") {
			t.Errorf("resolve %s: got %s/%s, want m/%s", tc.uri, v.Name, v.Version, tc.version)
		}
	}
	_, err := s.Registry.ResolveModelURI(ctx, registryWS, "models:/empty/latest")
	if got, want := hangar.ErrorMessage(err), "No versions of model with name 'empty' found"; got != want {
		t.Errorf("resolve a model without versions: got %q, want %q", got, want)
	}
	_, err = s.Registry.ResolveModelURI(ctx, registryWS, "models:/m/archived")
	if got, want := hangar.ErrorMessage(err), "No versions of model with name 'm' and stage 'archived' found"; got != want {
		t.Errorf("resolve an empty stage: got %q, want %q", got, want)
	}

	// A version registered from a models:/ URI keeps that source and is
	// downloaded from the version it names (MLflow 3.x storage_location).
	v := newVersion(t, s, "empty", "models:/m@champion", "", nil)
	if v.Source != "models:/m@champion" || v.StorageLocation != "s3://b/m" || v.DownloadURI() != "s3://b/m" {
		t.Errorf("version from models:/m@champion: got %+v, want storage s3://b/m", v)
	}
	if uri, err := s.Registry.ModelVersionDownloadURI(ctx, registryWS, "empty", v.Version); err != nil || uri != "s3://b/m" {
		t.Errorf("download uri of a version from models:/: got %q, %v", uri, err)
	}
	err = s.Registry.CreateModelVersion(ctx, &hangar.ModelVersion{Workspace: registryWS, Name: "empty", Source: "models:/m/77"})
	wantCode(t, "version from an unknown models:/ source", err, hangar.EINVALID)
	if !strings.Contains(hangar.ErrorMessage(err), "Unable to fetch model from model URI source artifact location 'models:/m/77'") {
		t.Errorf("version from an unknown models:/ source: got %q", hangar.ErrorMessage(err))
	}
	// A logged model's URI (3.x) is stored as given; the caller resolves it.
	lm := &hangar.ModelVersion{Workspace: registryWS, Name: "empty", Source: "models:/m-abc", ModelID: "m-abc", StorageLocation: "mlflow-artifacts:/1/models/m-abc/artifacts"}
	if err := s.Registry.CreateModelVersion(ctx, lm); err != nil || lm.DownloadURI() != "mlflow-artifacts:/1/models/m-abc/artifacts" {
		t.Errorf("version from a logged model: got %+v, %v", lm, err)
	}
	if lm.Version != "2" {
		t.Errorf("version after a refused create: got %s, want 2 (a refused create gives no number)", lm.Version)
	}
	if got, _ := s.Registry.ModelVersion(ctx, registryWS, "empty", lm.Version); got == nil || got.ModelID != "m-abc" || got.StorageLocation != lm.StorageLocation {
		t.Errorf("stored version from a logged model: got %+v", got)
	}
}

func testRegistryWorkspaces(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	if err := s.Workspaces.CreateWorkspace(ctx, &hangar.Workspace{Name: "team-b"}); err != nil {
		t.Fatal(err)
	}
	newModel(t, s, "shared-name", nil)
	newVersion(t, s, "shared-name", "s3://b/default", "", nil)
	other := &hangar.RegisteredModel{Workspace: "team-b", Name: "shared-name"}
	if err := s.Registry.CreateRegisteredModel(ctx, other); err != nil {
		t.Fatalf("same name in another workspace: %v", err)
	}
	if e := lastEvent(t, s); e.Workspace != "team-b" || e.Target != "models/shared-name" {
		t.Errorf("event in team-b: got %+v", e)
	}
	ov := &hangar.ModelVersion{Workspace: "team-b", Name: "shared-name", Source: "s3://b/team-b"}
	if err := s.Registry.CreateModelVersion(ctx, ov); err != nil || ov.Version != "1" {
		t.Fatalf("version in team-b: got %+v, %v; want version 1", ov, err)
	}
	if v, _ := s.Registry.ModelVersion(ctx, "team-b", "shared-name", "1"); v == nil || v.Source != "s3://b/team-b" || v.Workspace != "team-b" {
		t.Errorf("team-b's version: got %+v", v)
	}
	if v, _ := s.Registry.ModelVersion(ctx, registryWS, "shared-name", "1"); v == nil || v.Source != "s3://b/default" {
		t.Errorf("default's version: got %+v", v)
	}
	p, err := s.Registry.SearchModelVersions(ctx, "team-b", hangar.ModelSearch{})
	if err != nil || len(p.Items) != 1 || p.Items[0].Workspace != "team-b" {
		t.Errorf("search team-b: got %+v, %v; want its one version", p, err)
	}
	err = s.Registry.CreateRegisteredModel(ctx, &hangar.RegisteredModel{Workspace: "no-such-registryWS", Name: "m"})
	wantCode(t, "create in a missing workspace", err, hangar.ENOTFOUND)
	_, err = s.Registry.SearchRegisteredModels(ctx, "no-such-registryWS", hangar.ModelSearch{})
	wantCode(t, "search a missing workspace", err, hangar.ENOTFOUND)
	_, err = s.Registry.SearchModelVersions(ctx, "no-such-registryWS", hangar.ModelSearch{})
	wantCode(t, "search versions of a missing workspace", err, hangar.ENOTFOUND)
	_, err = s.Registry.RegisteredModel(ctx, "no-such-registryWS", "shared-name")
	wantCode(t, "get in a missing workspace", err, hangar.ENOTFOUND)

	// Deleting a workspace deletes its registry.
	if err := s.Workspaces.DeleteWorkspace(ctx, "team-b"); err != nil {
		t.Fatal(err)
	}
	if err := s.Workspaces.CreateWorkspace(ctx, &hangar.Workspace{Name: "team-b"}); err != nil {
		t.Fatal(err)
	}
	_, err = s.Registry.RegisteredModel(ctx, "team-b", "shared-name")
	wantCode(t, "model of a deleted workspace", err, hangar.ENOTFOUND)
	var n int
	if err := s.QueryRow(ctx, `SELECT COUNT(*) FROM model_versions`, nil, &n); err != nil || n != 1 {
		t.Errorf("versions after deleting team-b: %d, %v; want default's 1", n, err)
	}
}

func testRegistryErrors(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	newModel(t, s, "m", nil)
	newVersion(t, s, "m", "s3://b/m", "", nil)
	long := func(n int) string { return strings.Repeat("x", n) }
	r := s.Registry
	for _, tc := range []struct {
		name string
		err  error
		code string
	}{
		{"create empty name", r.CreateRegisteredModel(ctx, &hangar.RegisteredModel{Workspace: registryWS}), hangar.EINVALID},
		{"create name with /", r.CreateRegisteredModel(ctx, &hangar.RegisteredModel{Workspace: registryWS, Name: "a/b"}), hangar.EINVALID},
		{"create long name", r.CreateRegisteredModel(ctx, &hangar.RegisteredModel{Workspace: registryWS, Name: long(257)}), hangar.EINVALID},
		{"create NUL name", r.CreateRegisteredModel(ctx, &hangar.RegisteredModel{Workspace: registryWS, Name: "a\x00"}), hangar.EINVALID},
		{"create bad tag", r.CreateRegisteredModel(ctx, &hangar.RegisteredModel{Workspace: registryWS, Name: "t", Tags: map[string]string{"a$": "v"}}), hangar.EINVALID},
		{"create long tag value", r.CreateRegisteredModel(ctx, &hangar.RegisteredModel{Workspace: registryWS, Name: "t", Tags: map[string]string{"k": long(5001)}}), hangar.EINVALID},
		{"create long description", r.CreateRegisteredModel(ctx, &hangar.RegisteredModel{Workspace: registryWS, Name: "t", Description: long(5001)}), hangar.EINVALID},
		{"create in NUL workspace", r.CreateRegisteredModel(ctx, &hangar.RegisteredModel{Workspace: "a\x00", Name: "t"}), hangar.EINVALID},
		{"set tag key", r.SetRegisteredModelTag(ctx, registryWS, "m", "../k", "v"), hangar.EINVALID},
		{"set tag long key", r.SetRegisteredModelTag(ctx, registryWS, "m", long(251), "v"), hangar.EINVALID},
		{"set tag long value", r.SetRegisteredModelTag(ctx, registryWS, "m", "k", long(5001)), hangar.EINVALID},
		{"set tag missing model", r.SetRegisteredModelTag(ctx, registryWS, "ghost", "k", "v"), hangar.ENOTFOUND},
		{"delete tag key", r.DeleteRegisteredModelTag(ctx, registryWS, "m", ""), hangar.EINVALID},
		{"delete tag missing model", r.DeleteRegisteredModelTag(ctx, registryWS, "ghost", "k"), hangar.ENOTFOUND},
		{"update missing", func() error { _, err := r.UpdateRegisteredModel(ctx, registryWS, "ghost", "d"); return err }(), hangar.ENOTFOUND},
		{"update long description", func() error { _, err := r.UpdateRegisteredModel(ctx, registryWS, "m", long(5001)); return err }(), hangar.EINVALID},
		{"delete empty name", r.DeleteRegisteredModel(ctx, registryWS, ""), hangar.EINVALID},
		{"version missing model", r.CreateModelVersion(ctx, &hangar.ModelVersion{Workspace: registryWS, Name: "ghost", Source: "s3://b/x"}), hangar.ENOTFOUND},
		{"version empty source", r.CreateModelVersion(ctx, &hangar.ModelVersion{Workspace: registryWS, Name: "m"}), hangar.EINVALID},
		{"version local source", r.CreateModelVersion(ctx, &hangar.ModelVersion{Workspace: registryWS, Name: "m", Source: "/tmp/model"}), hangar.EINVALID},
		{"version file source", r.CreateModelVersion(ctx, &hangar.ModelVersion{Workspace: registryWS, Name: "m", Source: "file:///tmp/model"}), hangar.EINVALID},
		{"version traversal", r.CreateModelVersion(ctx, &hangar.ModelVersion{Workspace: registryWS, Name: "m", Source: "s3://b/a/%2e%2e/x"}), hangar.EINVALID},
		{"version long source", r.CreateModelVersion(ctx, &hangar.ModelVersion{Workspace: registryWS, Name: "m", Source: "s3://b/" + long(500)}), hangar.EINVALID},
		{"version long run id", r.CreateModelVersion(ctx, &hangar.ModelVersion{Workspace: registryWS, Name: "m", Source: "s3://b/x", RunID: long(33)}), hangar.EINVALID},
		{"version bad tag", r.CreateModelVersion(ctx, &hangar.ModelVersion{Workspace: registryWS, Name: "m", Source: "s3://b/x", Tags: map[string]string{"/k": "v"}}), hangar.EINVALID},
		{"get version not an integer", func() error { _, err := r.ModelVersion(ctx, registryWS, "m", "1.0"); return err }(), hangar.EINVALID},
		{"get version of a missing model", func() error { _, err := r.ModelVersion(ctx, registryWS, "ghost", "1"); return err }(), hangar.ENOTFOUND},
		{"update version missing", func() error { _, err := r.UpdateModelVersion(ctx, registryWS, "m", "2", "d"); return err }(), hangar.ENOTFOUND},
		{"update version not an integer", func() error { _, err := r.UpdateModelVersion(ctx, registryWS, "m", "x", "d"); return err }(), hangar.EINVALID},
		{"delete version not an integer", r.DeleteModelVersion(ctx, registryWS, "m", ""), hangar.EINVALID},
		{"set version tag missing", r.SetModelVersionTag(ctx, registryWS, "m", "2", "k", "v"), hangar.ENOTFOUND},
		{"set version tag bad key", r.SetModelVersionTag(ctx, registryWS, "m", "1", "a$", "v"), hangar.EINVALID},
		{"set version tag long value", r.SetModelVersionTag(ctx, registryWS, "m", "1", "k", long(5001)), hangar.EINVALID},
		{"delete version tag missing version", r.DeleteModelVersionTag(ctx, registryWS, "m", "2", "k"), hangar.ENOTFOUND},
		{"transition bad stage", func() error {
			_, err := r.TransitionModelVersionStage(ctx, registryWS, "m", "1", "Prod", false)
			return err
		}(), hangar.EINVALID},
		{"download uri missing", func() error { _, err := r.ModelVersionDownloadURI(ctx, registryWS, "m", "2"); return err }(), hangar.ENOTFOUND},
		{"resolve not models:", func() error { _, err := r.ResolveModelURI(ctx, registryWS, "s3://b/x"); return err }(), hangar.EINVALID},
		{"search bad filter", func() error {
			_, err := r.SearchRegisteredModels(ctx, registryWS, hangar.ModelSearch{Filter: "name = 'a' OR name = 'b'"})
			return err
		}(), hangar.EINVALID},
		{"search bad attribute", func() error {
			_, err := r.SearchRegisteredModels(ctx, registryWS, hangar.ModelSearch{Filter: "run_id = 'a'"})
			return err
		}(), hangar.EINVALID},
		{"search bad order", func() error {
			_, err := r.SearchRegisteredModels(ctx, registryWS, hangar.ModelSearch{OrderBy: []string{"creation_timestamp DESC"}})
			return err
		}(), hangar.EINVALID},
		{"search duplicate order", func() error {
			_, err := r.SearchRegisteredModels(ctx, registryWS, hangar.ModelSearch{OrderBy: []string{"name", "name DESC"}})
			return err
		}(), hangar.EINVALID},
		{"search max_results over", func() error {
			_, err := r.SearchRegisteredModels(ctx, registryWS, hangar.ModelSearch{MaxResults: 1001})
			return err
		}(), hangar.EINVALID},
		{"search max_results at", func() error {
			_, err := r.SearchRegisteredModels(ctx, registryWS, hangar.ModelSearch{MaxResults: 1000})
			return err
		}(), ""},
		{"search max_results negative", func() error {
			_, err := r.SearchRegisteredModels(ctx, registryWS, hangar.ModelSearch{MaxResults: -1})
			return err
		}(), hangar.EINVALID},
		{"search bad token", func() error {
			_, err := r.SearchRegisteredModels(ctx, registryWS, hangar.ModelSearch{PageToken: "nope"})
			return err
		}(), hangar.EINVALID},
		{"search NUL filter", func() error {
			_, err := r.SearchRegisteredModels(ctx, registryWS, hangar.ModelSearch{Filter: "name = 'a\x00'"})
			return err
		}(), hangar.EINVALID},
		{"search versions bad comparator", func() error {
			_, err := r.SearchModelVersions(ctx, registryWS, hangar.ModelSearch{Filter: "name IN ('a')"})
			return err
		}(), hangar.EINVALID},
		{"search versions tag order", func() error {
			_, err := r.SearchModelVersions(ctx, registryWS, hangar.ModelSearch{OrderBy: []string{"tags.k"}})
			return err
		}(), hangar.EINVALID},
		{"search versions max_results over", func() error {
			_, err := r.SearchModelVersions(ctx, registryWS, hangar.ModelSearch{MaxResults: 200001})
			return err
		}(), hangar.EINVALID},
		{"search versions max_results at", func() error {
			_, err := r.SearchModelVersions(ctx, registryWS, hangar.ModelSearch{MaxResults: 200000})
			return err
		}(), ""},
	} {
		wantCode(t, tc.name, tc.err, tc.code)
	}
	_, err := r.SearchRegisteredModels(ctx, registryWS, hangar.ModelSearch{MaxResults: 1001})
	if got, want := hangar.ErrorMessage(err), "Invalid value for request parameter max_results. It must be at most 1000, but got value 1001"; got != want {
		t.Errorf("max_results over: got %q, want %q", got, want)
	}
	_, err = r.SearchModelVersions(ctx, registryWS, hangar.ModelSearch{MaxResults: -5})
	if got, want := hangar.ErrorMessage(err), "Invalid value for max_results. It must be a positive integer, but got -5"; got != want {
		t.Errorf("max_results negative: got %q, want %q", got, want)
	}
	_, err = r.ModelVersion(ctx, registryWS, "m", "one")
	if got, want := hangar.ErrorMessage(err), "Model version must be an integer, got 'one'"; got != want {
		t.Errorf("version not an integer: got %q, want %q", got, want)
	}
	// A token of one search is refused by the other and by another order.
	for i := range 3 {
		newModel(t, s, fmt.Sprintf("p%d", i), nil)
	}
	p, err := r.SearchRegisteredModels(ctx, registryWS, hangar.ModelSearch{MaxResults: 1})
	if err != nil || p.NextPageToken == "" {
		t.Fatalf("first page: %+v, %v", p, err)
	}
	_, err = r.SearchModelVersions(ctx, registryWS, hangar.ModelSearch{PageToken: p.NextPageToken})
	wantCode(t, "model token to version search", err, hangar.EINVALID)
	_, err = r.SearchRegisteredModels(ctx, registryWS, hangar.ModelSearch{PageToken: p.NextPageToken, OrderBy: []string{"timestamp"}})
	wantCode(t, "token with another order", err, hangar.EINVALID)
	if _, err := r.SearchRegisteredModels(ctx, registryWS, hangar.ModelSearch{PageToken: p.NextPageToken, OrderBy: []string{"name ASC"}}); err != nil {
		t.Errorf("token with the same order written out: %v", err)
	}
	// Nothing refused changed anything.
	if got, _ := r.RegisteredModel(ctx, registryWS, "m"); got == nil || got.Tags != nil || versionList(got.LatestVersions) != "m/1:None" {
		t.Errorf("model after the refused calls: got %+v", got)
	}
	wantVerified(t, s, int64(len(allEvents(t, s))))
}

// testRegistryConcurrentVersions creates versions of one model from many
// goroutines, half of them through a second store on the same database
// when the backend has one: every number from 1 to the total is given
// exactly once.
func testRegistryConcurrentVersions(t *testing.T, s *Store) {
	const writers, each = 8, 5
	newModel(t, s, "hot", nil)
	stores := []*Store{s}
	if s.Another != nil {
		stores = append(stores, s.Another(t))
	}
	var (
		mu   sync.Mutex
		got  []string
		wg   sync.WaitGroup
		errs = make(chan error, writers*each)
	)
	for w := range writers {
		st := stores[w%len(stores)]
		wg.Go(func() {
			ctx := actorCtx(t)
			for range each {
				v := &hangar.ModelVersion{Workspace: registryWS, Name: "hot", Source: "s3://b/hot"}
				if err := st.Registry.CreateModelVersion(ctx, v); err != nil {
					errs <- err
					return
				}
				mu.Lock()
				got = append(got, v.Version)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent create: %v", err)
	}
	slices.SortFunc(got, func(a, b string) int {
		x, _ := strconv.Atoi(a)
		y, _ := strconv.Atoi(b)
		return x - y
	})
	var want []string
	for i := 1; i <= writers*each; i++ {
		want = append(want, fmt.Sprint(i))
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("versions: got %v, want 1..%d once each", got, writers*each)
	}
	p, err := s.Registry.SearchModelVersions(actorCtx(t), registryWS, hangar.ModelSearch{Filter: "name = 'hot'"})
	if err != nil || len(p.Items) != writers*each {
		t.Errorf("stored versions: got %d, %v; want %d", len(p.Items), err, writers*each)
	}
	wantVerified(t, s, int64(len(allEvents(t, s))))
}
