package storetest

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/mlflow/search"
)

// modelRecord is a registered model as package search's reference
// evaluator sees it.
func modelRecord(m *hangar.RegisteredModel) search.MapRecord {
	return search.MapRecord{
		Tags:    m.Tags,
		Strings: map[string]string{"name": m.Name},
		Numbers: map[string]int64{"last_updated_timestamp": m.UpdatedAt.UnixMilli()},
	}
}

// versionRecord is a model version as the reference evaluator sees it: a
// version without a run lacks run_id.
func versionRecord(v *hangar.ModelVersion) search.MapRecord {
	n, _ := strconv.ParseInt(v.Version, 10, 64)
	r := search.MapRecord{
		Tags:    v.Tags,
		Strings: map[string]string{"name": v.Name, "source_path": v.Source},
		Numbers: map[string]int64{
			"version_number":         n,
			"creation_timestamp":     v.CreatedAt.UnixMilli(),
			"last_updated_timestamp": v.UpdatedAt.UnixMilli(),
		},
	}
	if v.RunID != "" {
		r.Strings["run_id"] = v.RunID
	}
	return r
}

// registrySearchFixture fills the default workspace with models and
// versions whose names, tags, runs and sources exercise every comparator
// (case, '_' and '%', GLOB's own wildcards, non-ASCII letters, a space),
// and sets their timestamps so that some tie. A second workspace holds a
// model of the same name, which no search of the default may return.
func registrySearchFixture(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	models := []struct {
		name string
		tags map[string]string
	}{
		{"alpha", map[string]string{"team": "ml", "stage": "prod"}},
		{"Alpha", map[string]string{"team": "ML"}},
		{"alpha_1", map[string]string{"team": "data", "note": "50% off_sale"}},
		{"alpha%2", map[string]string{"my key": "x"}},
		{"alphaX1", nil},
		{"beta", map[string]string{"team": "ml", "stage": "dev"}},
		{"BETA-x", map[string]string{"stage": "prod", "team": "mL"}},
		{"gamma[1]", map[string]string{"note": "[bracket]"}},
		{"delta*", map[string]string{"note": "star*"}},
		{"eps?", map[string]string{"note": "what?"}},
		{"ünïcode", map[string]string{"team": "Ünï"}},
		{"Ωmega", map[string]string{"team": "ωmega"}},
		{"zeta z", map[string]string{"team": ""}},
		{"a.b.c", map[string]string{"stage": "PROD"}},
	}
	for i, m := range models {
		newModel(t, s, m.name, m.tags)
		// Timestamps in four groups of ties, not in name order.
		exec(t, s, `UPDATE registered_models SET last_updated_time = ?, creation_time = ? WHERE workspace = ? AND name = ?`,
			int64(1_700_000_000_000+(i*7%4)*1000), int64(1_600_000_000_000+i), registryWS, m.name)
	}
	type ver struct {
		model, source, run string
		tags               map[string]string
	}
	versions := []ver{
		{"alpha", "mlflow-artifacts:/1/r1/artifacts/model", "r1", map[string]string{"k": "v"}},
		{"alpha", "s3://bucket/alpha/2", "r2", map[string]string{"k": "V2"}},
		{"alpha", "s3://bucket/alpha/3", "", nil},
		{"Alpha", "mlflow-artifacts:/1/r1/artifacts/model", "r1", map[string]string{"k": "other"}},
		{"alpha_1", "s3://bucket/a_1", "r3", map[string]string{"gate": "passed"}},
		{"alpha_1", "gs://bucket/a%1", "R3", nil},
		{"beta", "s3://bucket/beta", "r10", map[string]string{"k": "v", "gate": "failed"}},
		{"beta", "s3://bucket/beta", "", nil},
		{"beta", "s3://bucket/beta", "r2", nil},
		{"beta", "s3://bucket/beta", "r2", map[string]string{"k": "x"}},
		{"ünïcode", "s3://bücket/ü", "r1", nil},
		{"delta*", "s3://bucket/d*", "", map[string]string{"k": "*"}},
	}
	for i, v := range versions {
		mv := newVersion(t, s, v.model, v.source, v.run, v.tags)
		exec(t, s, `UPDATE model_versions SET creation_time = ?, last_updated_time = ?
			WHERE version = ? AND model_id = (SELECT id FROM registered_models WHERE workspace = ? AND name = ?)`,
			int64(1_600_000_000_000+(i*5%3)*1000), int64(1_700_000_000_000+(i*3%4)*1000), mv.Version, registryWS, v.model)
	}
	// One deleted version: never found.
	if err := s.Registry.DeleteModelVersion(ctx, registryWS, "beta", "2"); err != nil {
		t.Fatal(err)
	}
	if err := s.Workspaces.CreateWorkspace(ctx, &hangar.Workspace{Name: "elsewhere"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Registry.CreateRegisteredModel(ctx, &hangar.RegisteredModel{Workspace: "elsewhere", Name: "alpha", Tags: map[string]string{"team": "ml"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Registry.CreateModelVersion(ctx, &hangar.ModelVersion{Workspace: "elsewhere", Name: "alpha", Source: "s3://bucket/alpha/2", RunID: "r1"}); err != nil {
		t.Fatal(err)
	}
}

// allModels reads every model of the default workspace one by one (not
// through search), as the reference's input.
func allModels(t *testing.T, s *Store) []*hangar.RegisteredModel {
	t.Helper()
	var names []string
	ctx := t.Context()
	var n int
	if err := s.QueryRow(ctx, `SELECT COUNT(*) FROM registered_models WHERE workspace = ?`, []any{registryWS}, &n); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		var name string
		if err := s.QueryRow(ctx, `SELECT name FROM registered_models WHERE workspace = ? ORDER BY id LIMIT 1 OFFSET ?`, []any{registryWS, i}, &name); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	var out []*hangar.RegisteredModel
	for _, name := range names {
		m, err := s.Registry.RegisteredModel(ctx, registryWS, name)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// allVersions reads every version of the default workspace one by one.
func allVersions(t *testing.T, s *Store, models []*hangar.RegisteredModel) []*hangar.ModelVersion {
	t.Helper()
	ctx := t.Context()
	var out []*hangar.ModelVersion
	for _, m := range models {
		for n := 1; n <= 10; n++ {
			v, err := s.Registry.ModelVersion(ctx, registryWS, m.Name, strconv.Itoa(n))
			if hangar.IsCode(err, hangar.ENOTFOUND) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, v)
		}
	}
	return out
}

// registrySearchCase is one search of the table: a filter and an order_by.
type registrySearchCase struct {
	filter  string
	orderBy []string
}

var modelSearchCases = []registrySearchCase{
	{"", nil},
	{"name = 'alpha'", nil},
	{"name != 'alpha'", nil},
	{"attributes.name = 'beta'", nil},
	{"name = 'nope'", nil},
	{"name LIKE 'alpha%'", nil},
	{"name like 'Alpha%'", nil},
	{"name ILIKE 'alpha%'", nil},
	{"name ILIKE 'ALPHA_1'", nil},
	{"name LIKE 'alpha_1'", nil},
	{"name LIKE 'alpha\\_1'", nil},
	{"name LIKE '_lpha'", nil},
	{"name LIKE '%[1]'", nil},
	{"name LIKE 'gamma[1]'", nil},
	{"name LIKE 'delta*'", nil},
	{"name LIKE 'delta%'", nil},
	{"name LIKE 'eps?'", nil},
	{"name LIKE 'eps_'", nil},
	{"name LIKE '%a%'", nil},
	{"name ILIKE '%ME%'", nil},
	{"name LIKE 'ü%'", nil},
	{"name ILIKE 'Ü%'", nil},
	{"name ILIKE 'ωMEGA'", nil},
	{"name LIKE '%'", nil},
	{"name LIKE ''", nil},
	{"name LIKE '% %'", nil},
	{"name ILIKE 'a.b.c'", nil},
	{"name LIKE 'alpha%2'", nil},
	{"tags.team = 'ml'", nil},
	{"tags.team != 'ml'", nil},
	{"tags.team = ''", nil},
	{"tags.team ILIKE 'ml'", nil},
	{"tags.team LIKE 'm%'", nil},
	{"tag.team ILIKE 'ü%'", nil},
	{"tags.`my key` LIKE '%'", nil},
	{"tags.note LIKE '%\\%%'", nil},
	{"tags.note LIKE '%[%'", nil},
	{"tags.note LIKE '%*'", nil},
	{"tags.note LIKE '%?'", nil},
	{"tags.team = 'ml' AND tags.stage = 'prod'", nil},
	{"tags.team LIKE 'm%' AND tags.team != 'ml'", nil},
	{"tags.stage ILIKE 'PROD' AND name != 'alpha'", nil},
	{"name LIKE 'a%' AND tags.team = 'ml'", nil},
	{"tags.nope = 'x'", nil},
	{"", []string{"name DESC"}},
	{"", []string{"timestamp DESC"}},
	{"", []string{"timestamp"}},
	{"", []string{"last_updated_timestamp ASC"}},
	{"", []string{"last_updated_timestamp DESC", "name DESC"}},
	{"", []string{"name ASC", "last_updated_timestamp DESC"}},
	{"name ILIKE 'a%'", []string{"last_updated_timestamp DESC"}},
	{"tags.team != 'x'", []string{"timestamp ASC", "name DESC"}},
}

var versionSearchCases = []registrySearchCase{
	{"", nil},
	{"name = 'alpha'", nil},
	{"name = 'Alpha'", nil},
	{"name != 'beta'", nil},
	{"name LIKE 'a%'", nil},
	{"name ILIKE 'A%'", nil},
	{"name LIKE 'delta*'", nil},
	{"version_number = 2", nil},
	{"version_number = '2'", nil},
	{"version_number != 1", nil},
	{"version_number > 1", nil},
	{"version_number >= 1.5", nil},
	{"version_number <= 2.5", nil},
	{"version_number < 2.5", nil},
	{"version_number < 3", nil},
	{"version_number > -1", nil},
	{"version_number = 1.5", nil},
	{"version_number >= 3", nil},
	{"version_number > 2.0000001", nil},
	{"version_number <= -0.5", nil},
	{"version_number >= -0.5", nil},
	{"version_number != 1.5", nil},
	{"version_number < 1e300", nil},
	{"version_number > 1e300", nil},
	{"version_number >= -1e300", nil},
	{"version_number <= -9223372036854775808", nil},
	{"version_number < 9223372036854775807", nil},
	{"run_id = 'r1'", nil},
	{"run_id != 'r1'", nil},
	{"run_id IN ('r1', 'r2')", nil},
	{"run_id IN ('R3')", nil},
	{"run_id LIKE 'r_'", nil},
	{"run_id ILIKE 'r3'", nil},
	{"run_id = ''", nil},
	{"source_path LIKE 's3://%'", nil},
	{"source_path = 'mlflow-artifacts:/1/r1/artifacts/model'", nil},
	{"source_path LIKE '%*'", nil},
	{"source_path ILIKE 'S3://BÜ%'", nil},
	{"source_path LIKE '%a\\%1'", nil},
	{"source_path LIKE '%a%1'", nil},
	{"tags.k = 'v'", nil},
	{"tags.k != 'v'", nil},
	{"tags.k ILIKE 'V%'", nil},
	{"tags.k LIKE '*'", nil},
	{"tags.gate = 'passed' AND run_id = 'r3'", nil},
	{"name ILIKE 'ALPHA%' AND version_number > 1", nil},
	{"run_id IN ('r1', 'r2', 'r10') AND tags.k LIKE '%'", nil},
	{"", []string{"version_number ASC"}},
	{"", []string{"creation_timestamp DESC"}},
	{"", []string{"creation_timestamp"}},
	{"", []string{"last_updated_timestamp ASC", "version_number ASC"}},
	{"", []string{"name DESC", "version_number ASC"}},
	{"", []string{"creation_timestamp ASC", "name DESC"}},
	{"", []string{"last_updated_timestamp DESC"}},
	{"", []string{"name"}},
	{"run_id != 'x'", []string{"creation_timestamp DESC", "last_updated_timestamp ASC"}},
}

// testRegistrySearch runs every search of the tables against the SQL store
// and against package search's reference evaluator over the same models
// and versions: the names in order must be equal.
func testRegistrySearch(t *testing.T, s *Store) {
	registrySearchFixture(t, s)
	ctx := actorCtx(t)
	models := allModels(t, s)
	versions := allVersions(t, s, models)
	if len(models) != 14 || len(versions) != 11 {
		t.Fatalf("fixture: %d models and %d versions, want 14 and 11", len(models), len(versions))
	}
	for _, tc := range modelSearchCases {
		f, err := search.ParseRegisteredModelFilter(tc.filter)
		if err != nil {
			t.Fatalf("filter %q: %v", tc.filter, err)
		}
		o, err := search.ParseOrderBy(search.RegisteredModels, tc.orderBy)
		if err != nil {
			t.Fatalf("order_by %q: %v", tc.orderBy, err)
		}
		var want []string
		ref := slices.Clone(models)
		ref = slices.DeleteFunc(ref, func(m *hangar.RegisteredModel) bool { return !f.Match(modelRecord(m)) })
		slices.SortStableFunc(ref, func(a, b *hangar.RegisteredModel) int { return o.Compare(modelRecord(a), modelRecord(b)) })
		for _, m := range ref {
			want = append(want, m.Name)
		}
		p, err := s.Registry.SearchRegisteredModels(ctx, registryWS, hangar.ModelSearch{Filter: tc.filter, OrderBy: tc.orderBy})
		if err != nil {
			t.Errorf("search models %q %q: %v", tc.filter, tc.orderBy, err)
			continue
		}
		var got []string
		for _, m := range p.Items {
			got = append(got, m.Name)
		}
		if strings.Join(got, "|") != strings.Join(want, "|") || p.NextPageToken != "" {
			t.Errorf("search models %q order_by %q:\n got %q\nwant %q (the reference evaluator)", tc.filter, tc.orderBy, got, want)
		}
		// Each result is the whole model, as a get returns it.
		for _, m := range p.Items {
			i := slices.IndexFunc(models, func(x *hangar.RegisteredModel) bool { return x.Name == m.Name })
			if i < 0 {
				t.Errorf("search models %q: found %q, which is not in the workspace", tc.filter, m.Name)
			} else if d := cmp.Diff(models[i], m); d != "" {
				t.Errorf("search models %q: item %q differs from the model as got (-get +search):\n%s", tc.filter, m.Name, d)
			}
		}
	}
	for _, tc := range versionSearchCases {
		f, err := search.ParseModelVersionFilter(tc.filter)
		if err != nil {
			t.Fatalf("filter %q: %v", tc.filter, err)
		}
		o, err := search.ParseOrderBy(search.ModelVersions, tc.orderBy)
		if err != nil {
			t.Fatalf("order_by %q: %v", tc.orderBy, err)
		}
		var want []string
		ref := slices.Clone(versions)
		ref = slices.DeleteFunc(ref, func(v *hangar.ModelVersion) bool { return !f.Match(versionRecord(v)) })
		slices.SortStableFunc(ref, func(a, b *hangar.ModelVersion) int { return o.Compare(versionRecord(a), versionRecord(b)) })
		for _, v := range ref {
			want = append(want, v.Name+"/"+v.Version)
		}
		p, err := s.Registry.SearchModelVersions(ctx, registryWS, hangar.ModelSearch{Filter: tc.filter, OrderBy: tc.orderBy})
		if err != nil {
			t.Errorf("search versions %q %q: %v", tc.filter, tc.orderBy, err)
			continue
		}
		var got []string
		for _, v := range p.Items {
			got = append(got, v.Name+"/"+v.Version)
			if v.Workspace != registryWS {
				t.Errorf("search versions %q: %s/%s of workspace %q", tc.filter, v.Name, v.Version, v.Workspace)
			}
		}
		if strings.Join(got, "|") != strings.Join(want, "|") || p.NextPageToken != "" {
			t.Errorf("search versions %q order_by %q:\n got %q\nwant %q (the reference evaluator)", tc.filter, tc.orderBy, got, want)
		}
		for _, v := range p.Items {
			i := slices.IndexFunc(versions, func(x *hangar.ModelVersion) bool { return x.Name == v.Name && x.Version == v.Version })
			if i < 0 {
				t.Errorf("search versions %q: found %s/%s, which is not in the workspace", tc.filter, v.Name, v.Version)
			} else if d := cmp.Diff(versions[i], v); d != "" {
				t.Errorf("search versions %q: item %s/%s differs from the version as got (-get +search):\n%s", tc.filter, v.Name, v.Version, d)
			}
		}
	}
}

// testRegistrySearchPaging pages through every search of the tables in
// pages of 1, 2 and 5: every page but the last is full, and together the
// pages hold the one-page result exactly, in its order, across ties.
func testRegistrySearchPaging(t *testing.T, s *Store) {
	registrySearchFixture(t, s)
	ctx := actorCtx(t)
	type pager func(q hangar.ModelSearch) ([]string, string, error)
	models := func(q hangar.ModelSearch) ([]string, string, error) {
		p, err := s.Registry.SearchRegisteredModels(ctx, registryWS, q)
		if err != nil {
			return nil, "", err
		}
		var out []string
		for _, m := range p.Items {
			out = append(out, m.Name)
		}
		return out, p.NextPageToken, nil
	}
	versions := func(q hangar.ModelSearch) ([]string, string, error) {
		p, err := s.Registry.SearchModelVersions(ctx, registryWS, q)
		if err != nil {
			return nil, "", err
		}
		var out []string
		for _, v := range p.Items {
			out = append(out, v.Name+"/"+v.Version)
		}
		return out, p.NextPageToken, nil
	}
	for _, set := range []struct {
		what  string
		list  pager
		cases []registrySearchCase
	}{{"models", models, modelSearchCases}, {"versions", versions, versionSearchCases}} {
		for _, tc := range set.cases {
			whole, next, err := set.list(hangar.ModelSearch{Filter: tc.filter, OrderBy: tc.orderBy})
			if err != nil || next != "" {
				t.Fatalf("search %s %q: %v, next %q", set.what, tc.filter, err, next)
			}
			for _, size := range []int{1, 2, 5} {
				var got []string
				q := hangar.ModelSearch{Filter: tc.filter, OrderBy: tc.orderBy, MaxResults: size}
				for pages := 0; ; pages++ {
					items, next, err := set.list(q)
					if err != nil {
						t.Fatalf("search %s %q %q in pages of %d: %v", set.what, tc.filter, tc.orderBy, size, err)
					}
					if next != "" && len(items) != size {
						t.Errorf("search %s %q in pages of %d: a page of %d before the last", set.what, tc.filter, size, len(items))
					}
					got = append(got, items...)
					if next == "" || pages > 20 {
						break
					}
					q.PageToken = next
				}
				if strings.Join(got, "|") != strings.Join(whole, "|") {
					t.Errorf("search %s %q order_by %q in pages of %d:\n got %q\nwant %q", set.what, tc.filter, tc.orderBy, size, got, whole)
				}
			}
		}
	}
}
