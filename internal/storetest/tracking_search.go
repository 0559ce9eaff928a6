package storetest

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/mlflow/search"
)

// testTrackingSearch checks the store's searches against package search's
// reference evaluator: over a fixed set of runs (and experiments), for each
// filter and order_by of a table, the store must return exactly the records
// Filter.Match keeps, in the order OrderBy.Compare gives, page after page.
func testTrackingSearch(t *testing.T, open func(t *testing.T) *Store) {
	t.Run("Runs", func(t *testing.T) { testSearchRuns(t, open(t)) })
	t.Run("Experiments", func(t *testing.T) { testSearchExperiments(t, open(t)) })
	t.Run("Errors", func(t *testing.T) { testSearchErrors(t, open(t)) })
}

// fixtureRun is one run of the search fixture.
type fixtureRun struct {
	exp     string
	name    string
	user    string
	status  string
	start   int64
	end     int64 // 0: not ended
	deleted bool
	metrics []hangar.Metric
	params  []hangar.Param
	tags    []hangar.RunTag
	inputs  []hangar.DatasetInput
}

func searchFixture() []fixtureRun {
	m := func(key string, v float64, step int64) hangar.Metric {
		return hangar.Metric{Key: key, Value: v, Timestamp: 1000 + step, Step: step}
	}
	in := func(name, digest, context string) hangar.DatasetInput {
		d := hangar.DatasetInput{Dataset: hangar.Dataset{Name: name, Digest: digest, SourceType: "local", Source: "{}"}}
		if context != "" {
			d.Tags = []hangar.InputTag{{Key: hangar.TagDatasetContext, Value: context}}
		}
		return d
	}
	nan, inf := math.NaN(), math.Inf(1)
	return []fixtureRun{
		{exp: "1", name: "alpha", user: "bob", status: hangar.RunFinished, start: 1000, end: 2000,
			metrics: []hangar.Metric{m("acc", 0.5, 0), m("acc", 0.9, 1), m("loss", 0.2, 0), m("f1-score", 0.7, 0)},
			params:  []hangar.Param{{Key: "lr", Value: "0.1"}, {Key: "model", Value: "xgb"}, {Key: "héllo", Value: "wörld"}},
			tags:    []hangar.RunTag{{Key: "team", Value: "vision"}, {Key: "note", Value: "100%"}},
			inputs:  []hangar.DatasetInput{in("train", "d1", "training"), in("eval", "d2", "eval")}},
		{exp: "1", name: "Alpha", user: "carol", status: hangar.RunRunning, start: 1500,
			metrics: []hangar.Metric{m("acc", nan, 0), m("loss", 0.3, 0)},
			params:  []hangar.Param{{Key: "lr", Value: "0.01"}, {Key: "model", Value: "XGB"}},
			tags:    []hangar.RunTag{{Key: "team", Value: "Vision"}},
			inputs:  []hangar.DatasetInput{in("train", "d1", "")}},
		{exp: "1", name: "beta_1", user: "bob", status: hangar.RunFailed, start: 1500, end: 1600,
			metrics: []hangar.Metric{m("acc", 0.5, 0), m("loss", -1, 3), m("loss", 5, 2)},
			params:  []hangar.Param{{Key: "lr", Value: "1e-3"}, {Key: "model", Value: "lin_reg"}},
			tags:    []hangar.RunTag{{Key: "note", Value: "a*b?[c]"}}},
		{exp: "1", name: "beta%1", user: "dave", status: hangar.RunFinished, start: 900, end: 5000,
			metrics: []hangar.Metric{m("acc", inf, 0), m("loss", 0, 0)},
			params:  []hangar.Param{{Key: "model", Value: "lin%reg"}},
			inputs:  []hangar.DatasetInput{in("eval", "d3", "eval")}},
		{exp: "1", name: "gamma", user: "", status: hangar.RunKilled, start: 3000, end: 3000,
			metrics: []hangar.Metric{m("acc", -inf, 0), m("acc", 0, 0)},
			params:  []hangar.Param{{Key: "lr", Value: "0.1"}, {Key: "model", Value: "linXreg"}},
			tags:    []hangar.RunTag{{Key: "team", Value: "nlp"}, {Key: "note", Value: ""}}},
		{exp: "1", name: "delta", user: "bob", status: hangar.RunFinished, start: 2500, end: 2600, deleted: true,
			metrics: []hangar.Metric{m("acc", 0.99, 0)},
			params:  []hangar.Param{{Key: "lr", Value: "0.1"}, {Key: "model", Value: "xgb"}},
			tags:    []hangar.RunTag{{Key: "team", Value: "vision"}}},
		{exp: "2", name: "epsilon", user: "bob", status: hangar.RunFinished, start: 1200, end: 1300,
			metrics: []hangar.Metric{m("acc", 0.7, 0)},
			params:  []hangar.Param{{Key: "lr", Value: "0.2"}, {Key: "model", Value: "xgboost"}},
			tags:    []hangar.RunTag{{Key: "team", Value: "vision"}},
			inputs:  []hangar.DatasetInput{in("train", "d9", "training")}},
		{exp: "2", name: "zeta", user: "erin", status: hangar.RunScheduled, start: 1200},
		{exp: "1", name: "ünïcode", user: "bob", status: hangar.RunFinished, start: 4000, end: 4001,
			metrics: []hangar.Metric{m("acc", 1e-9, 0), m("loss", 0.2, 0)},
			params:  []hangar.Param{{Key: "lr", Value: "0.1"}, {Key: "model", Value: "XGBoost"}},
			tags:    []hangar.RunTag{{Key: "team", Value: "ViSiOn"}}},
	}
}

// recordOf is the reference evaluator's view of a stored run.
func recordOf(r *hangar.Run) search.MapRecord {
	rec := search.MapRecord{
		Metrics: map[string]float64{}, Params: map[string]string{}, Tags: map[string]string{},
		Strings: map[string]string{"run_id": r.Info.RunID, "run_name": r.Info.RunName, "status": r.Info.Status,
			"user_id": r.Info.UserID, "artifact_uri": r.Info.ArtifactURI},
		Numbers: map[string]int64{"start_time": r.Info.StartTime},
	}
	if r.Info.EndTime != nil {
		rec.Numbers["end_time"] = *r.Info.EndTime
	}
	for _, m := range r.Data.Metrics {
		rec.Metrics[m.Key] = m.Value
	}
	for _, p := range r.Data.Params {
		rec.Params[p.Key] = p.Value
	}
	for _, t := range r.Data.Tags {
		rec.Tags[t.Key] = t.Value
	}
	for _, in := range r.Inputs.DatasetInputs {
		d := search.DatasetInput{Name: in.Dataset.Name, Digest: in.Dataset.Digest}
		for _, t := range in.Tags {
			if t.Key == hangar.TagDatasetContext {
				d.Context, d.HasContext = t.Value, true
			}
		}
		rec.Inputs = append(rec.Inputs, d)
	}
	return rec
}

// loadFixture stores the fixture in experiments 1 and 2 of the default
// workspace and returns the stored runs.
func loadFixture(t *testing.T, s *Store) []*hangar.Run {
	t.Helper()
	ctx := actorCtx(t)
	ws := hangar.DefaultWorkspace
	for _, name := range []string{"one", "two"} {
		if err := s.Tracking.CreateExperiment(ctx, ws, &hangar.Experiment{Name: name}); err != nil {
			t.Fatal(err)
		}
	}
	var runs []*hangar.Run
	for _, f := range searchFixture() {
		r, err := s.Tracking.CreateRun(ctx, ws, hangar.RunCreate{ExperimentID: f.exp, UserID: f.user, RunName: f.name, StartTime: f.start})
		if err != nil {
			t.Fatal(err)
		}
		id := r.Info.RunID
		if err := s.Tracking.LogBatch(ctx, ws, id, hangar.LogBatch{Metrics: f.metrics, Params: f.params, Tags: f.tags}); err != nil {
			t.Fatal(err)
		}
		if len(f.inputs) > 0 {
			if err := s.Tracking.LogInputs(ctx, ws, id, f.inputs); err != nil {
				t.Fatal(err)
			}
		}
		u := hangar.RunUpdate{Status: f.status}
		if f.end != 0 {
			u.EndTime = &f.end
		}
		if _, err := s.Tracking.UpdateRun(ctx, ws, id, u); err != nil {
			t.Fatal(err)
		}
		if f.deleted {
			if err := s.Tracking.DeleteRun(ctx, ws, id); err != nil {
				t.Fatal(err)
			}
		}
		runs = append(runs, getRun(t, s, id))
	}
	return runs
}

func testSearchRuns(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	runs := loadFixture(t, s)
	idOf := func(name string) string {
		for _, r := range runs {
			if r.Info.RunName == name {
				return r.Info.RunID
			}
		}
		t.Fatalf("no run %s", name)
		return ""
	}
	filters := []string{
		"",
		"metrics.acc > 0.5",
		"metrics.acc >= 0.5",
		"metrics.acc = 0.5",
		"metrics.acc != 0.5",
		"metrics.acc < 0",
		"metrics.acc <= 1e-9",
		"metrics.acc = 0",
		"metrics.acc > 1e308",
		"metrics.loss < 0",
		"metrics.loss <= 0.2",
		"metrics.`f1-score` > 0.1",
		"metric.loss != 5",
		"params.lr = '0.1'",
		"params.lr != '0.1'",
		`params.lr = "1e-3"`,
		"params.model LIKE 'x%'",
		"params.model ILIKE 'x%'",
		"params.model LIKE 'XGB%'",
		"params.model ILIKE '%boost'",
		"params.model LIKE 'lin_reg'",
		"params.model LIKE 'lin%reg'",
		"params.model LIKE '%\\%%'",
		"params.model LIKE '_gb'",
		"params.model ILIKE '_GB'",
		"params.héllo = 'wörld'",
		"params.héllo LIKE 'w_rld'",
		"params.lr IS NULL",
		"params.lr IS NOT NULL",
		"tags.team = 'vision'",
		"tags.team ILIKE 'vision'",
		"tags.team LIKE 'V%'",
		"tags.team != 'vision'",
		"tags.team IS NULL",
		"tags.team IS NOT NULL",
		"tags.note LIKE '%*%'",
		"tags.note LIKE '%[%'",
		"tags.note LIKE '%?%'",
		"tags.note LIKE '%\\%'",
		"tags.note = ''",
		"tags.`mlflow.runName` = 'alpha'",
		"tags.mlflow.runName LIKE 'beta%'",
		"attributes.status = 'FINISHED'",
		"attributes.status != 'FINISHED'",
		"attributes.run_name = 'alpha'",
		"attributes.run_name LIKE 'al%'",
		"attributes.run_name ILIKE 'AL%'",
		"attributes.`run name` LIKE 'beta%'",
		"attributes.run_name LIKE 'beta_1'",
		"attributes.run_name LIKE '%ï%'",
		"attributes.user_id = 'bob'",
		"attributes.user_id = ''",
		"attributes.user_id LIKE '_o_'",
		"attributes.artifact_uri LIKE '%/artifacts'",
		"attributes.run_id IN ('" + idOf("alpha") + "', '" + idOf("gamma") + "')",
		"attributes.run_id NOT IN ('" + idOf("alpha") + "')",
		"attributes.run_id = '" + idOf("beta_1") + "'",
		"attributes.start_time > 1500",
		"attributes.start_time >= 1500",
		"attributes.start_time < 1500.5",
		"attributes.start_time <= 1499.5",
		"attributes.start_time = 1500",
		"attributes.start_time = 1500.5",
		"attributes.start_time != 1500.5",
		"attributes.start_time > 1e19",
		"attributes.start_time < 1e19",
		"attributes.start_time > -1e19",
		"created >= 3000",
		"attributes.end_time > 0",
		"attributes.end_time != 3000",
		"attributes.end_time <= 2000",
		"datasets.name = 'train'",
		"datasets.name != 'train'",
		"datasets.name IN ('eval', 'x')",
		"datasets.name NOT IN ('train')",
		"datasets.digest LIKE 'd%'",
		"datasets.context = 'eval'",
		"datasets.context != 'eval'",
		"datasets.context ILIKE 'TRAIN%'",
		"metrics.acc > 0.1 AND params.model != 'xgb'",
		"metrics.acc > 0.1 AND metrics.acc < 1",
		"params.lr = '0.1' AND tags.team IS NOT NULL AND attributes.status = 'FINISHED'",
		"datasets.name = 'train' AND datasets.context = 'eval'",
		"params.model like 'x%' and tags.team ilike 'v%'",
	}
	orders := [][]string{
		nil,
		{"metrics.acc DESC"},
		{"metrics.acc"},
		{"metrics.loss ASC", "metrics.acc DESC"},
		{"params.lr"},
		{"params.model DESC"},
		{"tags.team DESC", "metrics.loss"},
		{"attributes.end_time"},
		{"attributes.end_time DESC"},
		{"attributes.run_name DESC"},
		{"run_name"},
		{"start_time ASC"},
		{"created DESC"},
		{"attributes.status", "params.model DESC"},
		{"attributes.user_id", "attributes.run_id DESC"},
		{"attributes.artifact_uri"},
		{"tags.note"},
		{"metrics.`f1-score` DESC"},
		{"params.héllo"},
	}
	type query struct {
		exps   []string
		filter string
		order  []string
		view   hangar.ViewType
	}
	var queries []query
	for _, f := range filters {
		queries = append(queries, query{[]string{"1", "2"}, f, nil, hangar.ViewActiveOnly})
	}
	for _, o := range orders {
		queries = append(queries, query{[]string{"1", "2"}, "", o, hangar.ViewActiveOnly})
		queries = append(queries, query{[]string{"1"}, "metrics.acc >= 0 AND params.model LIKE '%'", o, hangar.ViewAll})
	}
	queries = append(queries,
		query{[]string{"1"}, "", []string{"metrics.acc DESC"}, hangar.ViewDeletedOnly},
		query{[]string{"2"}, "tags.team = 'vision'", nil, hangar.ViewAll},
		query{[]string{"1", "2", "999", "x"}, "", nil, hangar.ViewAll},
		query{[]string{"0"}, "", nil, hangar.ViewAll},
		query{nil, "", nil, hangar.ViewAll},
	)
	for _, q := range queries {
		name := fmt.Sprintf("exps=%v filter=%q order=%q view=%v", q.exps, q.filter, q.order, q.view)
		f, err := search.ParseRunFilter(q.filter)
		if err != nil {
			t.Fatalf("%s: parse: %v", name, err)
		}
		o, err := search.ParseOrderBy(search.Runs, q.order)
		if err != nil {
			t.Fatalf("%s: parse order: %v", name, err)
		}
		var want []*hangar.Run
		for _, r := range runs {
			if slices.Contains(q.exps, r.Info.ExperimentID) && slices.Contains(q.view.Stages(), r.Info.LifecycleStage) && f.Match(recordOf(r)) {
				want = append(want, r)
			}
		}
		slices.SortStableFunc(want, func(a, b *hangar.Run) int { return o.Compare(recordOf(a), recordOf(b)) })

		// Page through in threes: a search continues exactly where it
		// stopped, and the last page has no token.
		var got []*hangar.Run
		token, pages := "", 0
		for {
			p, err := s.Tracking.SearchRuns(ctx, hangar.DefaultWorkspace, hangar.RunSearch{
				ExperimentIDs: q.exps, Filter: q.filter, OrderBy: q.order, View: q.view, MaxResults: 3, PageToken: token})
			if err != nil {
				t.Fatalf("%s: page %d: %v", name, pages, err)
			}
			got = append(got, p.Items...)
			pages++
			if p.NextPageToken == "" {
				break
			}
			if pages > len(runs) {
				t.Fatalf("%s: more pages than runs", name)
			}
			token = p.NextPageToken
		}
		if g, w := runNames(got), runNames(want); g != w {
			t.Errorf("%s:\n got  %s\n want %s (the reference evaluator's)", name, g, w)
			continue
		}
		if wantPages := max(1, (len(want)+2)/3); pages != wantPages {
			t.Errorf("%s: %d pages for %d runs, want %d", name, pages, len(want), wantPages)
		}
		for i := range got {
			if fmt.Sprint(recordOf(got[i])) != fmt.Sprint(recordOf(want[i])) {
				t.Errorf("%s: run %s comes back as %+v, stored as %+v", name, got[i].Info.RunName, got[i], want[i])
			}
		}
	}
	// The fixture makes the table meaningful: this filter keeps some runs.
	if p, _ := s.Tracking.SearchRuns(ctx, hangar.DefaultWorkspace, hangar.RunSearch{ExperimentIDs: []string{"1"}, Filter: "metrics.acc > 0.5", MaxResults: 100}); runNames(p.Items) != "[alpha beta%1]" {
		t.Errorf("metrics.acc > 0.5 in experiment 1: %s, want [alpha beta%%1]", runNames(p.Items))
	}
}

func runNames(runs []*hangar.Run) string {
	names := make([]string, len(runs))
	for i, r := range runs {
		names[i] = r.Info.RunName
	}
	return "[" + strings.Join(names, " ") + "]"
}

func testSearchExperiments(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	ws := hangar.DefaultWorkspace
	for _, e := range []*hangar.Experiment{
		{Name: "churn", Tags: []hangar.ExperimentTag{{Key: "team", Value: "a"}, {Key: "stage", Value: "dev"}}},
		{Name: "Churn-v2", Tags: []hangar.ExperimentTag{{Key: "team", Value: "b"}}},
		{Name: "fraud_1"},
		{Name: "fraud%1", Tags: []hangar.ExperimentTag{{Key: "team", Value: "A"}}},
		{Name: "old", Tags: []hangar.ExperimentTag{{Key: "team", Value: "a"}}},
		{Name: "ünï"},
	} {
		if err := s.Tracking.CreateExperiment(ctx, ws, e); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Tracking.DeleteExperiment(ctx, ws, "5"); err != nil {
		t.Fatal(err)
	}
	if err := s.Tracking.RenameExperiment(ctx, ws, "3", "fraud_1"); err != nil { // moves its last update on
		t.Fatal(err)
	}
	var all []*hangar.Experiment
	for id := range 7 {
		e, err := s.Tracking.Experiment(ctx, ws, fmt.Sprint(id))
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, e)
	}
	record := func(e *hangar.Experiment) search.MapRecord {
		rec := search.MapRecord{Tags: map[string]string{}, Strings: map[string]string{"name": e.Name},
			Numbers: map[string]int64{"creation_time": e.CreationTime, "last_update_time": e.LastUpdateTime}}
		var id int64
		fmt.Sscan(e.ID, &id)
		rec.Numbers["experiment_id"] = id
		for _, t := range e.Tags {
			rec.Tags[t.Key] = t.Value
		}
		return rec
	}
	c := all[1].CreationTime
	filters := []string{
		"", "name = 'churn'", "name != 'churn'", "name LIKE 'churn%'", "name ILIKE 'churn%'", "attribute.name LIKE 'fraud_1'",
		"name LIKE '%\\%%'", "name like 'fraud%'", "name ILIKE '%Ï'", "tags.team = 'a'", "tags.team ILIKE 'a'", "tags.team != 'a'",
		"tags.team IS NULL", "tags.team IS NOT NULL", "tags.stage = 'dev' AND tags.team = 'a'",
		fmt.Sprintf("creation_time >= %d", c), fmt.Sprintf("creation_time < %d.5", c), fmt.Sprintf("last_update_time > %d", c-1),
		"attributes.name != 'x'",
	}
	orders := [][]string{nil, {"name"}, {"name DESC"}, {"experiment_id DESC"}, {"experiment_id"}, {"creation_time"},
		{"last_update_time DESC", "name"}, {"attribute.name ASC"}}
	for _, view := range []hangar.ViewType{hangar.ViewActiveOnly, hangar.ViewDeletedOnly, hangar.ViewAll} {
		for _, filter := range filters {
			for _, order := range orders {
				name := fmt.Sprintf("filter=%q order=%q view=%v", filter, order, view)
				f, err := search.ParseExperimentFilter(filter)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				o, err := search.ParseOrderBy(search.Experiments, order)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				var want []*hangar.Experiment
				for _, e := range all {
					if slices.Contains(view.Stages(), e.LifecycleStage) && f.Match(record(e)) {
						want = append(want, e)
					}
				}
				slices.SortStableFunc(want, func(a, b *hangar.Experiment) int { return o.Compare(record(a), record(b)) })
				var got []*hangar.Experiment
				token := ""
				for range 10 {
					p, err := s.Tracking.SearchExperiments(ctx, ws, hangar.ExperimentSearch{Filter: filter, OrderBy: order, View: view, MaxResults: 2, PageToken: token})
					if err != nil {
						t.Fatalf("%s: %v", name, err)
					}
					got = append(got, p.Items...)
					if token = p.NextPageToken; token == "" {
						break
					}
				}
				if g, w := experimentNames(got), experimentNames(want); g != w {
					t.Errorf("%s:\n got  %s\n want %s (the reference evaluator's)", name, g, w)
				}
			}
		}
	}
}

func experimentNames(es []*hangar.Experiment) string {
	names := make([]string, len(es))
	for i, e := range es {
		names[i] = e.ID + ":" + e.Name
	}
	return "[" + strings.Join(names, " ") + "]"
}

func testSearchErrors(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	ws := hangar.DefaultWorkspace
	exps := []string{"0"}
	for _, tt := range []struct {
		name    string
		q       hangar.RunSearch
		message string // a prefix
	}{
		{"page of 0", hangar.RunSearch{ExperimentIDs: exps}, "Invalid value for request parameter max_results. It must be a positive integer, but got value 0"},
		{"page of 50000", hangar.RunSearch{ExperimentIDs: exps, MaxResults: 50000}, ""},
		{"page of 50001", hangar.RunSearch{ExperimentIDs: exps, MaxResults: 50001}, "Invalid value for request parameter max_results. It must be at most 50000, but got value 50001"},
		{"OR", hangar.RunSearch{ExperimentIDs: exps, MaxResults: 1, Filter: "params.a = '1' OR params.b = '2'"}, `invalid filter "params.a = '1' OR params.b = '2'": Invalid clause(s) in filter string: 'OR'`},
		{"bad comparator", hangar.RunSearch{ExperimentIDs: exps, MaxResults: 1, Filter: "tags.a > 'x'"}, `invalid filter "tags.a > 'x'": Invalid comparator`},
		{"bad order", hangar.RunSearch{ExperimentIDs: exps, MaxResults: 1, OrderBy: []string{"metrics.a sideways"}}, `invalid order_by item 1 "metrics.a sideways": Invalid ordering key`},
		{"garbage token", hangar.RunSearch{ExperimentIDs: exps, MaxResults: 1, PageToken: "garbage"}, `invalid page token "garbage"`},
		{"1001 experiments", hangar.RunSearch{ExperimentIDs: make([]string, 1001), MaxResults: 1}, "A search can name at most 1000 experiments. Got 1001."},
	} {
		_, err := s.Tracking.SearchRuns(ctx, ws, tt.q)
		if tt.message == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		if hangar.ErrorCode(err) != hangar.EINVALID || !strings.HasPrefix(hangar.ErrorMessage(err), tt.message) {
			t.Errorf("%s: got %v, want invalid starting %q", tt.name, err, tt.message)
		}
	}
	// A token continues only its own search.
	for range 3 {
		newRun(t, s, "0")
	}
	p, err := s.Tracking.SearchRuns(ctx, ws, hangar.RunSearch{ExperimentIDs: exps, MaxResults: 1})
	if err != nil || p.NextPageToken == "" {
		t.Fatalf("first page: %v, %v", p, err)
	}
	_, err = s.Tracking.SearchRuns(ctx, ws, hangar.RunSearch{ExperimentIDs: exps, MaxResults: 1, PageToken: p.NextPageToken, Filter: "params.x = '1'"})
	wantCode(t, "a token of another search", err, hangar.EINVALID)
	_, err = s.Tracking.SearchExperiments(ctx, ws, hangar.ExperimentSearch{MaxResults: 1, PageToken: p.NextPageToken})
	wantCode(t, "a runs token to experiments", err, hangar.EINVALID)
	if p2, err := s.Tracking.SearchRuns(ctx, ws, hangar.RunSearch{ExperimentIDs: exps, MaxResults: 5, PageToken: p.NextPageToken}); err != nil || len(p2.Items) != 2 {
		t.Errorf("the same search with another page size: %v, %v; want the 2 runs left", p2, err)
	}
	for _, tt := range []struct {
		name    string
		q       hangar.ExperimentSearch
		message string
	}{
		{"page of 0", hangar.ExperimentSearch{}, "Invalid value for max_results. It must be a positive integer, but got 0"},
		{"page of 50001", hangar.ExperimentSearch{MaxResults: 50001}, "Invalid value for max_results. It must be at most 50000, but got 50001"},
		{"tag order", hangar.ExperimentSearch{MaxResults: 1, OrderBy: []string{"tags.a"}}, `invalid order_by item 1 "tags.a": Invalid order_by entity: tag`},
		{"IN on name", hangar.ExperimentSearch{MaxResults: 1, Filter: "name IN ('a')"}, `invalid filter "name IN ('a')"`},
	} {
		_, err := s.Tracking.SearchExperiments(ctx, ws, tt.q)
		if hangar.ErrorCode(err) != hangar.EINVALID || !strings.HasPrefix(hangar.ErrorMessage(err), tt.message) {
			t.Errorf("experiments %s: got %v, want invalid starting %q", tt.name, err, tt.message)
		}
	}
}
