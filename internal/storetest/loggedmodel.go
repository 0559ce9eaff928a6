package storetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/hangar-ml/hangar"
)

// testLoggedModels: MLflow 3.x logged models — create, get, finalize,
// tags, params, delete with MLflow's messages and the audit event of each
// write; runs' model outputs; the search filter, order and pages;
// registrations from the registry; workspaces kept apart.
func testLoggedModels(t *testing.T, open func(t *testing.T) *Store) {
	t.Run("Lifecycle", func(t *testing.T) { testLoggedModelLifecycle(t, open(t)) })
	t.Run("Errors", func(t *testing.T) { testLoggedModelErrors(t, open(t)) })
	t.Run("Outputs", func(t *testing.T) { testLoggedModelOutputs(t, open(t)) })
	t.Run("Search", func(t *testing.T) { testLoggedModelSearch(t, open(t)) })
	t.Run("Registrations", func(t *testing.T) { testLoggedModelRegistrations(t, open(t)) })
	t.Run("Workspaces", func(t *testing.T) { testLoggedModelWorkspaces(t, open(t)) })
	t.Run("Metrics", func(t *testing.T) { testLoggedModelMetrics(t, open(t)) })
}

// newLoggedModel creates a model in experiment exp of the default workspace.
func newLoggedModel(t *testing.T, s *Store, c hangar.LoggedModelCreate) *hangar.LoggedModel {
	t.Helper()
	m, err := s.LoggedModels.CreateLoggedModel(actorCtx(t), hangar.DefaultWorkspace, c)
	if err != nil {
		t.Fatalf("create logged model %+v: %v", c, err)
	}
	return m
}

func testLoggedModelLifecycle(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	ws := hangar.DefaultWorkspace
	run := newRun(t, s, "0")
	m := newLoggedModel(t, s, hangar.LoggedModelCreate{
		ExperimentID: "0", Name: "model", ModelType: "Classifier", SourceRunID: run.Info.RunID,
		Params: []hangar.LoggedModelParam{{Key: "b", Value: "2"}, {Key: "a", Value: "1"}},
		Tags:   []hangar.LoggedModelTag{{Key: "mlflow.source.type", Value: "LOCAL"}, {Key: "k", Value: "v0"}, {Key: "k", Value: "v"}},
	})
	if !hangar.ValidLoggedModelID(m.ModelID) {
		t.Fatalf("model id %q: want m- and 32 hex digits", m.ModelID)
	}
	wantEvent(t, s, "create", hangar.ActRunWrite, "logged-models/"+m.ModelID, ws)
	want := &hangar.LoggedModel{
		ModelID: m.ModelID, ExperimentID: "0", Name: "model", ModelType: "Classifier", SourceRunID: run.Info.RunID,
		Status: hangar.LoggedModelPending, ArtifactURI: "mlflow-artifacts:/0/models/" + m.ModelID + "/artifacts",
		CreationTime: m.CreationTime, LastUpdateTime: m.CreationTime, Creator: "alice",
		Params: []hangar.LoggedModelParam{{Key: "a", Value: "1"}, {Key: "b", Value: "2"}},
		Tags:   []hangar.LoggedModelTag{{Key: "k", Value: "v"}, {Key: "mlflow.source.type", Value: "LOCAL"}},
	}
	if m.CreationTime <= 0 {
		t.Errorf("creation time %d: want a time", m.CreationTime)
	}
	wantLoggedModel(t, "created", m, want)
	got, err := s.LoggedModels.LoggedModel(ctx, ws, m.ModelID)
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	wantLoggedModel(t, "get", got, want)

	unnamed := newLoggedModel(t, s, hangar.LoggedModelCreate{ExperimentID: "0"})
	if unnamed.Name == "" || unnamed.SourceRunID != "" || unnamed.Params != nil || unnamed.Tags != nil {
		t.Errorf("model without name: got %+v, want a made-up name and nothing else", unnamed)
	}

	fin, err := s.LoggedModels.FinalizeLoggedModel(ctx, ws, m.ModelID, hangar.LoggedModelReady)
	if err != nil {
		t.Fatalf("finalize: %v", err)
	}
	if fin.Status != hangar.LoggedModelReady || fin.LastUpdateTime < m.LastUpdateTime {
		t.Errorf("finalized: got status %s updated %d, want READY updated at or after %d", fin.Status, fin.LastUpdateTime, m.LastUpdateTime)
	}
	wantEvent(t, s, "finalize", hangar.ActRunWrite, "logged-models/"+m.ModelID, ws)
	for _, st := range []string{hangar.LoggedModelPending, "LOGGED_MODEL_STATUS_UNSPECIFIED", "READY", ""} {
		_, err := s.LoggedModels.FinalizeLoggedModel(ctx, ws, m.ModelID, st)
		wantCode(t, "finalize as "+st, err, hangar.EINVALID)
	}
	if fin, err = s.LoggedModels.FinalizeLoggedModel(ctx, ws, m.ModelID, "3"); err != nil || fin.Status != hangar.LoggedModelUploadFailed {
		t.Fatalf("finalize as 3: got %+v, %v, want UPLOAD_FAILED", fin, err)
	}

	tagged, err := s.LoggedModels.SetLoggedModelTags(ctx, ws, m.ModelID, []hangar.LoggedModelTag{{Key: "k", Value: "w"}, {Key: "new", Value: "x"}})
	if err != nil {
		t.Fatalf("set tags: %v", err)
	}
	wantTags := []hangar.LoggedModelTag{{Key: "k", Value: "w"}, {Key: "mlflow.source.type", Value: "LOCAL"}, {Key: "new", Value: "x"}}
	if !slices.Equal(tagged.Tags, wantTags) {
		t.Errorf("tags after set: got %v, want %v", tagged.Tags, wantTags)
	}
	wantEvent(t, s, "set tags", hangar.ActRunWrite, "logged-models/"+m.ModelID, ws)
	if err := s.LoggedModels.DeleteLoggedModelTag(ctx, ws, m.ModelID, "new"); err != nil {
		t.Fatalf("delete tag: %v", err)
	}
	err = s.LoggedModels.DeleteLoggedModelTag(ctx, ws, m.ModelID, "new")
	wantError(t, "delete a missing tag", err, hangar.ENOTFOUND, fmt.Sprintf("No tag with key 'new' found for model with ID '%s'.", m.ModelID))

	if err := s.LoggedModels.LogLoggedModelParams(ctx, ws, m.ModelID, []hangar.LoggedModelParam{{Key: "a", Value: "1"}, {Key: "c", Value: "3"}}); err != nil {
		t.Fatalf("log params (one again with its value): %v", err)
	}
	err = s.LoggedModels.LogLoggedModelParams(ctx, ws, m.ModelID, []hangar.LoggedModelParam{{Key: "a", Value: "9"}})
	wantCode(t, "change a param", err, hangar.EINVALID)
	got, err = s.LoggedModels.LoggedModel(ctx, ws, m.ModelID)
	if err != nil {
		t.Fatal(err)
	}
	wantParams := []hangar.LoggedModelParam{{Key: "a", Value: "1"}, {Key: "b", Value: "2"}, {Key: "c", Value: "3"}}
	if !slices.Equal(got.Params, wantParams) {
		t.Errorf("params: got %v, want %v", got.Params, wantParams)
	}

	if err := s.LoggedModels.DeleteLoggedModel(ctx, ws, m.ModelID); err != nil {
		t.Fatalf("delete: %v", err)
	}
	wantEvent(t, s, "delete", hangar.ActRunDelete, "logged-models/"+m.ModelID, ws)
	notFound := fmt.Sprintf("Logged model with ID '%s' not found.", m.ModelID)
	_, err = s.LoggedModels.LoggedModel(ctx, ws, m.ModelID)
	wantError(t, "get deleted", err, hangar.ENOTFOUND, notFound)
	wantError(t, "delete deleted", s.LoggedModels.DeleteLoggedModel(ctx, ws, m.ModelID), hangar.ENOTFOUND, notFound)
	_, err = s.LoggedModels.SetLoggedModelTags(ctx, ws, m.ModelID, []hangar.LoggedModelTag{{Key: "k", Value: "v"}})
	wantError(t, "tag deleted", err, hangar.ENOTFOUND, notFound)
	_, err = s.LoggedModels.FinalizeLoggedModel(ctx, ws, m.ModelID, hangar.LoggedModelReady)
	wantError(t, "finalize deleted", err, hangar.ENOTFOUND, notFound)
}

// wantLoggedModel compares two models field by field.
func wantLoggedModel(t *testing.T, what string, got, want *hangar.LoggedModel) {
	t.Helper()
	g, w := *got, *want
	if !slices.Equal(g.Params, w.Params) || !slices.Equal(g.Tags, w.Tags) || !slices.Equal(g.Registrations, w.Registrations) {
		t.Errorf("%s: got params %v tags %v registrations %v, want %v %v %v", what, g.Params, g.Tags, g.Registrations, w.Params, w.Tags, w.Registrations)
	}
	g.Params, g.Tags, g.Registrations, w.Params, w.Tags, w.Registrations = nil, nil, nil, nil, nil, nil
	if fmt.Sprintf("%+v", g) != fmt.Sprintf("%+v", w) {
		t.Errorf("%s: got %+v, want %+v", what, g, w)
	}
}

func testLoggedModelErrors(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	ws := hangar.DefaultWorkspace
	exp := &hangar.Experiment{Name: "gone"}
	if err := s.Tracking.CreateExperiment(ctx, ws, exp); err != nil {
		t.Fatal(err)
	}
	if err := s.Tracking.DeleteExperiment(ctx, ws, exp.ID); err != nil {
		t.Fatal(err)
	}
	many := make([]hangar.LoggedModelParam, hangar.MaxLoggedModelParams+1)
	for i := range many {
		many[i] = hangar.LoggedModelParam{Key: fmt.Sprintf("p%d", i), Value: "v"}
	}
	tests := []struct {
		name string
		c    hangar.LoggedModelCreate
		code string
		msg  string
	}{
		{"missing experiment", hangar.LoggedModelCreate{ExperimentID: "42"}, hangar.ENOTFOUND, "No Experiment with id=42 exists"},
		{"deleted experiment", hangar.LoggedModelCreate{ExperimentID: exp.ID}, hangar.EINVALID,
			fmt.Sprintf("The experiment %s must be in the 'active' state. Current state is deleted.", exp.ID)},
		{"name with a slash", hangar.LoggedModelCreate{ExperimentID: "0", Name: "a/b"}, hangar.EINVALID, ""},
		{"name too long", hangar.LoggedModelCreate{ExperimentID: "0", Name: strings.Repeat("n", hangar.MaxLoggedModelNameLength+1)}, hangar.EINVALID, ""},
		{"bad source run id", hangar.LoggedModelCreate{ExperimentID: "0", SourceRunID: "../run"}, hangar.EINVALID, ""},
		{"bad tag key", hangar.LoggedModelCreate{ExperimentID: "0", Tags: []hangar.LoggedModelTag{{Key: "a*b", Value: "v"}}}, hangar.EINVALID, ""},
		{"tag value too long", hangar.LoggedModelCreate{ExperimentID: "0", Tags: []hangar.LoggedModelTag{{Key: "k", Value: strings.Repeat("v", hangar.MaxRunTagValueLength+1)}}}, hangar.EINVALID, ""},
		{"param value too long", hangar.LoggedModelCreate{ExperimentID: "0", Params: []hangar.LoggedModelParam{{Key: "k", Value: strings.Repeat("v", hangar.MaxParamValueLength+1)}}}, hangar.EINVALID, ""},
		{"param twice", hangar.LoggedModelCreate{ExperimentID: "0", Params: []hangar.LoggedModelParam{{Key: "k", Value: "1"}, {Key: "k", Value: "2"}}}, hangar.EINVALID, ""},
		{"too many params", hangar.LoggedModelCreate{ExperimentID: "0", Params: many}, hangar.EINVALID, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.LoggedModels.CreateLoggedModel(ctx, ws, tt.c)
			if tt.msg != "" {
				wantError(t, "create", err, tt.code, tt.msg)
			}
			wantCode(t, "create", err, tt.code)
		})
	}
	// At the limits: fine.
	atLimit := newLoggedModel(t, s, hangar.LoggedModelCreate{ExperimentID: "0", Name: strings.Repeat("n", hangar.MaxLoggedModelNameLength),
		Params: many[:hangar.MaxLoggedModelParams], Tags: []hangar.LoggedModelTag{{Key: strings.Repeat("k", hangar.MaxTrackingKeyLength), Value: strings.Repeat("v", hangar.MaxRunTagValueLength)}}})
	if len(atLimit.Params) != hangar.MaxLoggedModelParams {
		t.Errorf("params at the limit: got %d, want %d", len(atLimit.Params), hangar.MaxLoggedModelParams)
	}
	for _, id := range []string{"m-0123", "M-0123456789abcdef0123456789abcdef", "m-0123456789ABCDEF0123456789ABCDEF", "", strings.Repeat("x", 300)} {
		_, err := s.LoggedModels.LoggedModel(ctx, ws, id)
		wantCode(t, "get "+id, err, hangar.ENOTFOUND)
	}
	_, err := s.LoggedModels.LoggedModel(ctx, ws, "m-0123456789abcdef0123456789abcdef")
	wantError(t, "get unknown", err, hangar.ENOTFOUND, "Logged model with ID 'm-0123456789abcdef0123456789abcdef' not found.")
}

func testLoggedModelOutputs(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	ws := hangar.DefaultWorkspace
	run := newRun(t, s, "0")
	a := newLoggedModel(t, s, hangar.LoggedModelCreate{ExperimentID: "0", Name: "a"})
	b := newLoggedModel(t, s, hangar.LoggedModelCreate{ExperimentID: "0", Name: "b"})
	if err := s.LoggedModels.LogOutputs(ctx, ws, run.Info.RunID, []hangar.ModelOutput{{ModelID: b.ModelID, Step: 3}, {ModelID: a.ModelID}}); err != nil {
		t.Fatalf("log outputs: %v", err)
	}
	wantEvent(t, s, "log outputs", hangar.ActRunWrite, "runs/"+run.Info.RunID, ws)
	// The same link again is kept once; another step is another link.
	if err := s.LoggedModels.LogOutputs(ctx, ws, run.Info.RunID, []hangar.ModelOutput{{ModelID: a.ModelID}, {ModelID: a.ModelID, Step: 1}}); err != nil {
		t.Fatalf("log outputs again: %v", err)
	}
	got, err := s.LoggedModels.RunOutputs(ctx, ws, run.Info.RunID)
	if err != nil {
		t.Fatal(err)
	}
	want := []hangar.ModelOutput{{ModelID: b.ModelID, Step: 3}, {ModelID: a.ModelID}, {ModelID: a.ModelID, Step: 1}}
	if !slices.Equal(got, want) {
		t.Errorf("outputs: got %v, want %v", got, want)
	}
	if got, err := s.LoggedModels.RunOutputs(ctx, ws, "0123456789abcdef0123456789abcdef"); err != nil || got != nil {
		t.Errorf("outputs of no run: got %v, %v, want none", got, err)
	}
	err = s.LoggedModels.LogOutputs(ctx, ws, run.Info.RunID, []hangar.ModelOutput{{ModelID: "m-0123456789abcdef0123456789abcdef"}})
	wantError(t, "unknown model", err, hangar.ENOTFOUND, "Logged model with ID 'm-0123456789abcdef0123456789abcdef' not found.")
	err = s.LoggedModels.LogOutputs(ctx, ws, "0123456789abcdef0123456789abcdef", []hangar.ModelOutput{{ModelID: a.ModelID}})
	wantError(t, "unknown run", err, hangar.ENOTFOUND, "Run with id=0123456789abcdef0123456789abcdef not found")
	if err := s.Tracking.DeleteRun(ctx, ws, run.Info.RunID); err != nil {
		t.Fatal(err)
	}
	err = s.LoggedModels.LogOutputs(ctx, ws, run.Info.RunID, []hangar.ModelOutput{{ModelID: a.ModelID}})
	wantCode(t, "deleted run", err, hangar.EINVALID)
}

func testLoggedModelSearch(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	ws := hangar.DefaultWorkspace
	exp := &hangar.Experiment{Name: "search"}
	if err := s.Tracking.CreateExperiment(ctx, ws, exp); err != nil {
		t.Fatal(err)
	}
	mk := func(exp, name, typ string, params map[string]string, tags map[string]string) *hangar.LoggedModel {
		c := hangar.LoggedModelCreate{ExperimentID: exp, Name: name, ModelType: typ}
		for k, v := range params {
			c.Params = append(c.Params, hangar.LoggedModelParam{Key: k, Value: v})
		}
		for k, v := range tags {
			c.Tags = append(c.Tags, hangar.LoggedModelTag{Key: k, Value: v})
		}
		return newLoggedModel(t, s, c)
	}
	alpha := mk(exp.ID, "alpha", "Classifier", map[string]string{"lr": "0.1"}, map[string]string{"team": "a"})
	mk(exp.ID, "beta", "Classifier", map[string]string{"lr": "0.2"}, map[string]string{"team": "b"})
	mk(exp.ID, "Gamma", "LLM", nil, map[string]string{"team": "a"})
	gone := mk(exp.ID, "deleted", "LLM", nil, nil)
	mk("0", "elsewhere", "LLM", nil, nil)
	if _, err := s.LoggedModels.FinalizeLoggedModel(ctx, ws, alpha.ModelID, hangar.LoggedModelReady); err != nil {
		t.Fatal(err)
	}
	if err := s.LoggedModels.DeleteLoggedModel(ctx, ws, gone.ModelID); err != nil {
		t.Fatal(err)
	}
	byName := []hangar.LoggedModelOrder{{FieldName: "name", Ascending: true}}
	names := func(q hangar.LoggedModelSearch) []string {
		t.Helper()
		if q.MaxResults == 0 {
			q.MaxResults = hangar.DefaultLoggedModelResults
		}
		p, err := s.LoggedModels.SearchLoggedModels(ctx, ws, q)
		if err != nil {
			t.Fatalf("search %+v: %v", q, err)
		}
		out := []string{}
		for _, m := range p.Items {
			out = append(out, m.Name)
		}
		return out
	}
	tests := []struct {
		filter string
		want   []string
	}{
		{"", []string{"Gamma", "alpha", "beta"}},
		{"name = 'alpha'", []string{"alpha"}},
		{"attributes.name != 'alpha'", []string{"Gamma", "beta"}},
		{"name LIKE '%a'", []string{"Gamma", "alpha", "beta"}},
		{"name LIKE 'b_t%'", []string{"beta"}},
		{"name LIKE 'g%'", []string{}},
		{"name ILIKE 'g%'", []string{"Gamma"}},
		{"model_type = 'Classifier' AND tags.team = 'a'", []string{"alpha"}},
		{"status = 'LOGGED_MODEL_READY'", []string{"alpha"}},
		{"status = 'LOGGED_MODEL_PENDING'", []string{"Gamma", "beta"}},
		{"params.lr = '0.2'", []string{"beta"}},
		{"params.lr != '0.2'", []string{"alpha"}},
		{"tags.team LIKE '%'", []string{"Gamma", "alpha", "beta"}},
		{"tags.missing = 'x'", []string{}},
		{"creation_time > 0", []string{"Gamma", "alpha", "beta"}},
		{"last_updated_timestamp < 0", []string{}},
		{"model_id = '" + alpha.ModelID + "'", []string{"alpha"}},
		{"metrics.accuracy > 0", []string{}}, // no metric logged with a model here: see testLoggedModelMetrics
	}
	for _, tt := range tests {
		got := names(hangar.LoggedModelSearch{ExperimentIDs: []string{exp.ID}, Filter: tt.filter, OrderBy: byName})
		if !slices.Equal(got, tt.want) {
			t.Errorf("filter %q: got %v, want %v", tt.filter, got, tt.want)
		}
	}
	if got, want := names(hangar.LoggedModelSearch{ExperimentIDs: []string{exp.ID, "0", "999", "x"}, OrderBy: byName}), []string{"Gamma", "alpha", "beta", "elsewhere"}; !slices.Equal(got, want) {
		t.Errorf("two experiments: got %v, want %v", got, want)
	}
	if got := names(hangar.LoggedModelSearch{OrderBy: byName}); len(got) != 0 {
		t.Errorf("no experiments: got %v, want none", got)
	}
	if got := names(hangar.LoggedModelSearch{ExperimentIDs: []string{exp.ID}, Datasets: []hangar.LoggedModelDataset{{Name: "test"}}}); len(got) != 0 {
		t.Errorf("with datasets: got %v, want none (no model has metrics here)", got)
	}
	orders := []struct {
		order []hangar.LoggedModelOrder
		want  []string
	}{
		{[]hangar.LoggedModelOrder{{FieldName: "name"}}, []string{"beta", "alpha", "Gamma"}},
		{[]hangar.LoggedModelOrder{{FieldName: "model_type", Ascending: true}, {FieldName: "name"}}, []string{"beta", "alpha", "Gamma"}},
		{[]hangar.LoggedModelOrder{{FieldName: "creation_timestamp", Ascending: true}, {FieldName: "name", Ascending: true}}, nil},
		{[]hangar.LoggedModelOrder{{FieldName: "metrics.accuracy"}, {FieldName: "name", Ascending: true}}, []string{"Gamma", "alpha", "beta"}},
	}
	for _, o := range orders {
		got := names(hangar.LoggedModelSearch{ExperimentIDs: []string{exp.ID}, OrderBy: o.order})
		if o.want != nil && !slices.Equal(got, o.want) {
			t.Errorf("order %+v: got %v, want %v", o.order, got, o.want)
		}
		if len(got) != 3 {
			t.Errorf("order %+v: got %v, want 3 models", o.order, got)
		}
	}

	// Pages of one, by default order (newest first, then id).
	var paged []string
	q := hangar.LoggedModelSearch{ExperimentIDs: []string{exp.ID}, MaxResults: 1}
	for range 10 {
		p, err := s.LoggedModels.SearchLoggedModels(ctx, ws, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range p.Items {
			paged = append(paged, m.Name)
		}
		if p.NextPageToken == "" {
			break
		}
		q.PageToken = p.NextPageToken
	}
	slices.Sort(paged)
	if want := []string{"Gamma", "alpha", "beta"}; !slices.Equal(paged, want) {
		t.Errorf("pages of one: got %v, want each of %v once", paged, want)
	}

	p, err := s.LoggedModels.SearchLoggedModels(ctx, ws, hangar.LoggedModelSearch{ExperimentIDs: []string{exp.ID}, MaxResults: 1})
	if err != nil || p.NextPageToken == "" {
		t.Fatalf("first page: %+v, %v", p, err)
	}
	bad := []struct {
		name string
		q    hangar.LoggedModelSearch
	}{
		{"token of another search", hangar.LoggedModelSearch{ExperimentIDs: []string{exp.ID}, Filter: "name = 'a'", MaxResults: 1, PageToken: p.NextPageToken}},
		{"garbage token", hangar.LoggedModelSearch{ExperimentIDs: []string{exp.ID}, MaxResults: 1, PageToken: "garbage"}},
		{"bad filter", hangar.LoggedModelSearch{ExperimentIDs: []string{exp.ID}, Filter: "name = 'a' OR name = 'b'", MaxResults: 1}},
		{"bad entity", hangar.LoggedModelSearch{ExperimentIDs: []string{exp.ID}, Filter: "run.name = 'a'", MaxResults: 1}},
		{"bad order field", hangar.LoggedModelSearch{ExperimentIDs: []string{exp.ID}, OrderBy: []hangar.LoggedModelOrder{{FieldName: "colour"}}, MaxResults: 1}},
		{"order by a param", hangar.LoggedModelSearch{ExperimentIDs: []string{exp.ID}, OrderBy: []hangar.LoggedModelOrder{{FieldName: "params.lr"}}, MaxResults: 1}},
		{"empty order field", hangar.LoggedModelSearch{ExperimentIDs: []string{exp.ID}, OrderBy: []hangar.LoggedModelOrder{{}}, MaxResults: 1}},
		{"dataset without name", hangar.LoggedModelSearch{ExperimentIDs: []string{exp.ID}, Datasets: []hangar.LoggedModelDataset{{Digest: "d"}}, MaxResults: 1}},
		{"zero results", hangar.LoggedModelSearch{ExperimentIDs: []string{exp.ID}}},
		{"too many results", hangar.LoggedModelSearch{ExperimentIDs: []string{exp.ID}, MaxResults: hangar.MaxLoggedModelResults + 1}},
	}
	for _, tt := range bad {
		_, err := s.LoggedModels.SearchLoggedModels(ctx, ws, tt.q)
		wantCode(t, tt.name, err, hangar.EINVALID)
	}
}

func testLoggedModelRegistrations(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	ws := hangar.DefaultWorkspace
	m := newLoggedModel(t, s, hangar.LoggedModelCreate{ExperimentID: "0", Name: "m"})
	if err := s.Registry.CreateRegisteredModel(ctx, &hangar.RegisteredModel{Workspace: ws, Name: "reg"}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		v := &hangar.ModelVersion{Workspace: ws, Name: "reg", Source: "models:/" + m.ModelID, ModelID: m.ModelID, StorageLocation: m.ArtifactURI}
		if err := s.Registry.CreateModelVersion(ctx, v); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.LoggedModels.LoggedModel(ctx, ws, m.ModelID)
	if err != nil {
		t.Fatal(err)
	}
	want := []hangar.LoggedModelRegistration{{Name: "reg", Version: "1"}, {Name: "reg", Version: "2"}}
	if !slices.Equal(got.Registrations, want) {
		t.Errorf("registrations: got %v, want %v", got.Registrations, want)
	}
}

func testLoggedModelWorkspaces(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	if err := s.Workspaces.CreateWorkspace(ctx, &hangar.Workspace{Name: "team-a"}); err != nil {
		t.Fatal(err)
	}
	m := newLoggedModel(t, s, hangar.LoggedModelCreate{ExperimentID: "0", Name: "mine"})
	_, err := s.LoggedModels.LoggedModel(ctx, "team-a", m.ModelID)
	wantCode(t, "get from another workspace", err, hangar.ENOTFOUND)
	wantCode(t, "delete from another workspace", s.LoggedModels.DeleteLoggedModel(ctx, "team-a", m.ModelID), hangar.ENOTFOUND)
	p, err := s.LoggedModels.SearchLoggedModels(ctx, "team-a", hangar.LoggedModelSearch{ExperimentIDs: []string{"0"}, MaxResults: 10})
	if err != nil || len(p.Items) != 0 {
		t.Errorf("search another workspace: got %+v, %v, want nothing", p, err)
	}
	run, err := s.Tracking.CreateRun(ctx, "team-a", hangar.RunCreate{ExperimentID: "0", StartTime: 1})
	if err != nil {
		t.Fatal(err)
	}
	err = s.LoggedModels.LogOutputs(ctx, "team-a", run.Info.RunID, []hangar.ModelOutput{{ModelID: m.ModelID}})
	wantCode(t, "output of another workspace's model", err, hangar.ENOTFOUND)
	other := &hangar.LoggedModel{}
	if other, err = s.LoggedModels.CreateLoggedModel(ctx, "team-a", hangar.LoggedModelCreate{ExperimentID: "0", Name: "theirs"}); err != nil {
		t.Fatal(err)
	}
	if other.ArtifactURI != "mlflow-artifacts:/0/models/"+other.ModelID+"/artifacts" {
		t.Errorf("artifact uri in team-a: got %q", other.ArtifactURI)
	}
	wantEvent(t, s, "create in team-a", hangar.ActRunWrite, "logged-models/"+other.ModelID, "team-a")
}

// testLoggedModelMetrics: points logged with a model's id belong to the
// model (every point, with its run and dataset) and to the run; searches
// compare each model's latest point, on the datasets asked for; an unknown
// model refuses the whole batch.
func testLoggedModelMetrics(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	ws := hangar.DefaultWorkspace
	run := newRun(t, s, "0")
	id := run.Info.RunID
	a := newLoggedModel(t, s, hangar.LoggedModelCreate{ExperimentID: "0", Name: "a"})
	b := newLoggedModel(t, s, hangar.LoggedModelCreate{ExperimentID: "0", Name: "b"})
	newLoggedModel(t, s, hangar.LoggedModelCreate{ExperimentID: "0", Name: "c"}) // no metrics
	point := func(model, key string, v float64, ts, step int64, dataset, digest string) hangar.LoggedModelMetric {
		return hangar.LoggedModelMetric{Metric: hangar.Metric{Key: key, Value: v, Timestamp: ts, Step: step}, ModelID: model, DatasetName: dataset, DatasetDigest: digest}
	}
	batch := []hangar.LoggedModelMetric{
		point(a.ModelID, "acc", 0.7, 1, 0, "valid", "d1"),
		point(a.ModelID, "acc", 0.9, 2, 1, "valid", "d1"), // a's latest on valid
		point(a.ModelID, "acc", 0.5, 3, 0, "test", "d2"),  // a's latest overall
		point(b.ModelID, "acc", 0.8, 1, 0, "valid", "d1"),
		point(b.ModelID, "acc", 0.6, 1, 0, "test", "d2"),
	}
	lb := hangar.LogBatch{ModelMetrics: batch}
	for _, m := range batch {
		lb.Metrics = append(lb.Metrics, m.Metric)
	}
	if err := s.Tracking.LogBatch(ctx, ws, id, lb); err != nil {
		t.Fatalf("log batch with model metrics: %v", err)
	}
	got, err := s.LoggedModels.LoggedModel(ctx, ws, a.ModelID)
	if err != nil {
		t.Fatal(err)
	}
	var want []hangar.LoggedModelMetric
	for _, m := range batch[:3] {
		m.RunID = id
		want = append(want, m)
	}
	if !slices.Equal(got.Metrics, want) {
		t.Errorf("metrics of model a:\n got  %+v\n want %+v", got.Metrics, want)
	}
	// The run has them too.
	h, err := s.Tracking.MetricHistory(ctx, ws, id, "acc", hangar.ListOptions{})
	if err != nil || len(h.Items) != len(batch) {
		t.Errorf("run history: %+v, %v; want the %d points", h, err, len(batch))
	}

	names := func(q hangar.LoggedModelSearch) []string {
		t.Helper()
		q.ExperimentIDs, q.MaxResults = []string{"0"}, hangar.DefaultLoggedModelResults
		p, err := s.LoggedModels.SearchLoggedModels(ctx, ws, q)
		if err != nil {
			t.Fatalf("search %+v: %v", q, err)
		}
		out := []string{}
		for _, m := range p.Items {
			out = append(out, m.Name)
		}
		return out
	}
	byName := []hangar.LoggedModelOrder{{FieldName: "name", Ascending: true}}
	valid := []hangar.LoggedModelDataset{{Name: "valid"}}
	for _, tc := range []struct {
		q    hangar.LoggedModelSearch
		want []string
	}{
		{hangar.LoggedModelSearch{Filter: "metrics.acc > 0.55", OrderBy: byName}, []string{"b"}},                  // latest: a 0.5 (test), b 0.6/0.8 at ts 1: the later logged (0.6)
		{hangar.LoggedModelSearch{Filter: "metrics.acc >= 0.5", OrderBy: byName}, []string{"a", "b"}},             // c has none
		{hangar.LoggedModelSearch{Filter: "metrics.acc > 0.85", Datasets: valid, OrderBy: byName}, []string{"a"}}, // on valid: a 0.9, b 0.8
		{hangar.LoggedModelSearch{Datasets: valid, OrderBy: byName}, []string{"a", "b"}},
		{hangar.LoggedModelSearch{Datasets: []hangar.LoggedModelDataset{{Name: "valid", Digest: "other"}}}, []string{}},
		{hangar.LoggedModelSearch{Filter: "metrics.missing > 0"}, []string{}},
		{hangar.LoggedModelSearch{OrderBy: []hangar.LoggedModelOrder{{FieldName: "metrics.acc", DatasetName: "valid"}}}, []string{"a", "b", "c"}},
		{hangar.LoggedModelSearch{OrderBy: []hangar.LoggedModelOrder{{FieldName: "metrics.acc", DatasetName: "valid", Ascending: true}}}, []string{"b", "a", "c"}},
		{hangar.LoggedModelSearch{OrderBy: []hangar.LoggedModelOrder{{FieldName: "metrics.acc", Ascending: true}}}, []string{"a", "b", "c"}},
	} {
		if got := names(tc.q); !slices.Equal(got, tc.want) {
			t.Errorf("search filter %q datasets %v order %+v: got %v, want %v", tc.q.Filter, tc.q.Datasets, tc.q.OrderBy, got, tc.want)
		}
	}

	// A batch naming an unknown model stores nothing, not even its run's points.
	unknown := point("m-0123456789abcdef0123456789abcdef", "acc", 1, 9, 9, "", "")
	err = s.Tracking.LogBatch(ctx, ws, id, hangar.LogBatch{Metrics: []hangar.Metric{unknown.Metric}, ModelMetrics: []hangar.LoggedModelMetric{unknown}})
	wantError(t, "unknown model", err, hangar.ENOTFOUND, "Logged model with ID 'm-0123456789abcdef0123456789abcdef' not found.")
	if h, err := s.Tracking.MetricHistory(ctx, ws, id, "acc", hangar.ListOptions{}); err != nil || len(h.Items) != len(batch) {
		t.Errorf("run history after the refused batch: %+v, %v; want %d points", h, err, len(batch))
	}
	bad := point("m-x", "acc", 1, 9, 9, "", "")
	err = s.Tracking.LogBatch(ctx, ws, id, hangar.LogBatch{Metrics: []hangar.Metric{bad.Metric}, ModelMetrics: []hangar.LoggedModelMetric{bad}})
	wantCode(t, "malformed model id", err, hangar.EINVALID)
}
