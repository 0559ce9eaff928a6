package search

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/hangar-ml/hangar"
)

func TestParseOrderBy(t *testing.T) {
	startDesc := OrderKey{Kind: Attribute, Key: "start_time", Numeric: true, Desc: true, Implicit: true}
	runIDAsc := OrderKey{Kind: Attribute, Key: "run_id", Implicit: true}
	tests := []struct {
		name   string
		target Target
		items  []string
		want   []OrderKey
		canon  []string
	}{
		{"runs default", Runs, nil, []OrderKey{startDesc, runIDAsc}, nil},
		{"runs metric desc", Runs, []string{"metrics.acc DESC"},
			[]OrderKey{{Kind: Metric, Key: "acc", Numeric: true, Desc: true}, startDesc, runIDAsc},
			[]string{"metrics.acc DESC"}},
		{"runs several, cases and quoting", Runs, []string{"params.lr", "tags.`a b` desc", " metric.`f1 score`  Asc ", `attributes."status" ASC`},
			[]OrderKey{
				{Kind: Param, Key: "lr"},
				{Kind: Tag, Key: "a b", Desc: true},
				{Kind: Metric, Key: "f1 score", Numeric: true},
				{Kind: Attribute, Key: "status"},
				startDesc, runIDAsc,
			},
			[]string{"params.lr ASC", "tags.`a b` DESC", "metrics.`f1 score` ASC", "attributes.status ASC"}},
		{"runs created replaces the start_time tie-breaker", Runs, []string{"attributes.created ASC"},
			[]OrderKey{{Kind: Attribute, Key: "start_time", Numeric: true}, runIDAsc},
			[]string{"attributes.start_time ASC"}},
		{"runs bare attribute and run_id", Runs, []string{"run_id DESC"},
			[]OrderKey{{Kind: Attribute, Key: "run_id", Desc: true}, startDesc},
			[]string{"attributes.run_id DESC"}},
		{"runs dotted tag", Runs, []string{"tags.mlflow.runName"},
			[]OrderKey{{Kind: Tag, Key: "mlflow.runName"}, startDesc, runIDAsc},
			[]string{"tags.mlflow.runName ASC"}},
		{"experiments default", Experiments, nil,
			[]OrderKey{
				{Kind: Attribute, Key: "creation_time", Numeric: true, Desc: true, Implicit: true},
				{Kind: Attribute, Key: "experiment_id", Numeric: true, Implicit: true},
			}, nil},
		{"experiments by name", Experiments, []string{"name"},
			[]OrderKey{
				{Kind: Attribute, Key: "name"},
				{Kind: Attribute, Key: "experiment_id", Numeric: true, Desc: true, Implicit: true},
			}, []string{"name ASC"}},
		{"experiments by experiment_id", Experiments, []string{"attribute.experiment_id DESC"},
			[]OrderKey{{Kind: Attribute, Key: "experiment_id", Numeric: true, Desc: true}}, []string{"experiment_id DESC"}},
		{"registered models default", RegisteredModels, nil,
			[]OrderKey{{Kind: Attribute, Key: "name", Implicit: true}}, nil},
		{"registered models timestamp", RegisteredModels, []string{"timestamp DESC"},
			[]OrderKey{
				{Kind: Attribute, Key: "last_updated_timestamp", Numeric: true, Desc: true},
				{Kind: Attribute, Key: "name", Implicit: true},
			}, []string{"last_updated_timestamp DESC"}},
		{"model versions default", ModelVersions, nil,
			[]OrderKey{
				{Kind: Attribute, Key: "last_updated_timestamp", Numeric: true, Desc: true, Implicit: true},
				{Kind: Attribute, Key: "name", Implicit: true},
				{Kind: Attribute, Key: "version_number", Numeric: true, Desc: true, Implicit: true},
			}, nil},
		{"model versions by version", ModelVersions, []string{"version_number ASC"},
			[]OrderKey{
				{Kind: Attribute, Key: "version_number", Numeric: true},
				{Kind: Attribute, Key: "name", Implicit: true},
			}, []string{"version_number ASC"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := ParseOrderBy(tt.target, tt.items)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(o.Keys, tt.want) {
				t.Errorf("ParseOrderBy(%v, %q)\ngot  %+v\nwant %+v", tt.target, tt.items, o.Keys, tt.want)
			}
			if got := o.Strings(); !slices.Equal(got, tt.canon) {
				t.Errorf("Strings() = %q, want %q", got, tt.canon)
			}
			again, err := ParseOrderBy(tt.target, o.Strings())
			if err != nil || !reflect.DeepEqual(again, o) {
				t.Errorf("Strings() %q parses to %+v, %v; want %+v", o.Strings(), again, err, o)
			}
		})
	}
}

func TestParseOrderByErrors(t *testing.T) {
	tests := []struct {
		name   string
		target Target
		items  []string
		want   []string
	}{
		{"duplicate", Runs, []string{"metrics.acc", "metric.acc DESC"}, []string{"`order_by` contains duplicate fields: ['metrics.acc', 'metric.acc DESC'] (items 1 and 2 both sort by metrics.acc)"}},
		{"duplicate through alias", Runs, []string{"created", "start_time DESC"}, []string{"contains duplicate fields", "attributes.start_time"}},
		{"registered model timestamps are one field", RegisteredModels, []string{"timestamp", "last_updated_timestamp"}, []string{"contains duplicate fields"}},
		{"bad direction", Runs, []string{"metrics.acc DOWN"}, []string{`invalid order_by item 1 "metrics.acc DOWN": Invalid ordering key in order_by clause 'metrics.acc DOWN'. Expected ASC or DESC, found 'DOWN' (at position 13)`}},
		{"three parts", Runs, []string{"params.a ASC DESC"}, []string{"Invalid order_by clause 'params.a ASC DESC'. Could not be parsed: unexpected 'DESC' after the direction", "position 14"}},
		{"symbol after key", Runs, []string{"params.a > 1"}, []string{"Could not be parsed: expected ASC or DESC after 'params.a', found '>'"}},
		{"empty item", Runs, []string{"metrics.a", " "}, []string{`invalid order_by item 2 " ": Invalid order_by clause ' '. Could not be parsed.`}},
		{"dataset", Runs, []string{"datasets.name"}, []string{"Invalid identifier type 'dataset'"}},
		{"bad entity", Runs, []string{"metricz.a"}, []string{"Invalid entity type 'metricz'"}},
		{"bad attribute", Runs, []string{"attributes.lifecycle_stage"}, []string{"Invalid attribute key 'lifecycle_stage' specified. Valid keys are 'artifact_uri'"}},
		{"run name is no order key", Runs, []string{"attributes.`run name`"}, []string{"Invalid attribute key 'run name'"}},
		{"experiment tag", Experiments, []string{"tags.a"}, []string{"Invalid order_by entity: tag"}},
		{"experiment bad key", Experiments, []string{"last_updated_timestamp"}, []string{"Invalid attribute key 'last_updated_timestamp' specified. Valid keys are 'name', 'experiment_id', 'creation_time', 'last_update_time'"}},
		{"registered model creation_timestamp", RegisteredModels, []string{"creation_timestamp DESC"}, []string{"Invalid order by key 'creation_timestamp' specified. Valid keys are 'name', 'timestamp', 'last_updated_timestamp'"}},
		{"registered model tag", RegisteredModels, []string{"tags.a"}, []string{"Invalid order by key 'tags.a' specified"}},
		{"model version tag", ModelVersions, []string{"tags.a"}, []string{"Invalid order by key 'tags.a' specified"}},
		{"model version bad key", ModelVersions, []string{"run_id"}, []string{"Invalid order by key 'run_id' specified. Valid keys are 'name', 'version_number', 'creation_timestamp', 'last_updated_timestamp'"}},
		{"unclosed quote", Runs, []string{"tags.`a DESC"}, []string{"the string opened with ` has no closing `"}},
		{"too many", Runs, slices.Repeat([]string{"metrics.a"}, MaxOrderByKeys+1), []string{"33 items; the limit is 32"}},
		{"too long", Runs, []string{"tags.`" + strings.Repeat("x", MaxFilterLength) + "`"}, []string{"the limit is 65536"}},
		{"unknown target", Target(9), nil, []string{"unknown search target 9"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := ParseOrderBy(tt.target, tt.items)
			if err == nil {
				t.Fatalf("ParseOrderBy(%v, %q) = %+v, want an error", tt.target, tt.items, o)
			}
			if !hangar.IsCode(err, hangar.EINVALID) {
				t.Errorf("error code %q, want %q", hangar.ErrorCode(err), hangar.EINVALID)
			}
			for _, w := range tt.want {
				if msg := hangar.ErrorMessage(err); !strings.Contains(msg, w) {
					t.Errorf("message %q\nwant it to contain %q", msg, w)
				}
			}
		})
	}
}

func TestOrderRuns(t *testing.T) {
	runs := testRuns()
	// a0 ties with a1 on everything but the run id.
	a0 := runs["a1"]
	a0.Strings = map[string]string{"run_id": "a0"}
	runs["a0"] = a0
	tests := []struct {
		order []string
		want  []string
	}{
		{nil, []string{"c3", "b2", "d4", "a0", "a1"}},                                      // start_time DESC, then run_id ASC
		{[]string{"metrics.acc DESC"}, []string{"c3", "a0", "a1", "b2", "d4"}},             // values, then NaN, then missing
		{[]string{"metrics.acc ASC"}, []string{"a0", "a1", "c3", "b2", "d4"}},              // the same placement ascending
		{[]string{"metrics.loss DESC"}, []string{"c3", "b2", "a0", "a1", "d4"}},            // +Inf is the largest value
		{[]string{"params.model"}, []string{"a0", "a1", "b2", "c3", "d4"}},                 // "CNN" < "cnn" byte-wise; missing last by start_time DESC
		{[]string{"params.model DESC"}, []string{"b2", "a0", "a1", "c3", "d4"}},            //
		{[]string{"attributes.end_time DESC"}, []string{"c3", "a0", "a1", "d4", "b2"}},     // b2 has not ended
		{[]string{"attributes.end_time ASC"}, []string{"d4", "a0", "a1", "c3", "b2"}},      //
		{[]string{"tags.env", "metrics.acc DESC"}, []string{"b2", "a0", "a1", "c3", "d4"}}, // "dev" < "prod" < "prod%"
		{[]string{"attributes.run_name"}, []string{"c3", "a1", "b2", "d4", "a0"}},          // a0 has no run_name; "Gamma_1" < "alpha" < "beta" < "δέλτα"
		{[]string{"attributes.start_time ASC"}, []string{"a0", "a1", "d4", "b2", "c3"}},    // run_id breaks the tie
	}
	ids := []string{"a0", "a1", "b2", "c3", "d4"}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.order), func(t *testing.T) {
			o, err := ParseOrderBy(Runs, tt.order)
			if err != nil {
				t.Fatal(err)
			}
			got := slices.Clone(ids)
			slices.SortStableFunc(got, func(a, b string) int { return o.Compare(runs[a], runs[b]) })
			if !slices.Equal(got, tt.want) {
				t.Errorf("order_by %q sorts %v, want %v", tt.order, got, tt.want)
			}
			for i := range got {
				for j := range got {
					if i < j && o.Less(runs[got[j]], runs[got[i]]) {
						t.Errorf("Less(%s, %s) is true, but %s sorts first", got[j], got[i], got[i])
					}
				}
			}
		})
	}
}

func TestOrderRegistryAndExperiments(t *testing.T) {
	experiments := map[string]MapRecord{
		"0":  {Strings: map[string]string{"name": "Default"}, Numbers: map[string]int64{"experiment_id": 0, "creation_time": 100}},
		"9":  {Strings: map[string]string{"name": "b"}, Numbers: map[string]int64{"experiment_id": 9, "creation_time": 300}},
		"10": {Strings: map[string]string{"name": "b"}, Numbers: map[string]int64{"experiment_id": 10, "creation_time": 300}},
	}
	versions := map[string]MapRecord{
		"m/1": {Strings: map[string]string{"name": "m"}, Numbers: map[string]int64{"version_number": 1, "last_updated_timestamp": 50}},
		"m/2": {Strings: map[string]string{"name": "m"}, Numbers: map[string]int64{"version_number": 2, "last_updated_timestamp": 50}},
		"n/1": {Strings: map[string]string{"name": "n"}, Numbers: map[string]int64{"version_number": 1, "last_updated_timestamp": 70}},
		"a/3": {Strings: map[string]string{"name": "a"}, Numbers: map[string]int64{"version_number": 3}}, // no timestamp
	}
	models := map[string]MapRecord{
		"b": {Strings: map[string]string{"name": "b"}, Numbers: map[string]int64{"last_updated_timestamp": 5}},
		"a": {Strings: map[string]string{"name": "a"}, Numbers: map[string]int64{"last_updated_timestamp": 5}},
		"c": {Strings: map[string]string{"name": "c"}, Numbers: map[string]int64{"last_updated_timestamp": 9}},
	}
	tests := []struct {
		target  Target
		records map[string]MapRecord
		order   []string
		want    []string
	}{
		{Experiments, experiments, nil, []string{"9", "10", "0"}},              // creation_time DESC, experiment_id ASC (as numbers)
		{Experiments, experiments, []string{"name"}, []string{"0", "10", "9"}}, // "Default" < "b"; then experiment_id DESC
		{ModelVersions, versions, nil, []string{"n/1", "m/2", "m/1", "a/3"}},   // last_updated DESC (missing last), name, version DESC
		{ModelVersions, versions, []string{"name DESC"}, []string{"n/1", "m/2", "m/1", "a/3"}},
		{ModelVersions, versions, []string{"version_number"}, []string{"m/1", "n/1", "m/2", "a/3"}},
		{RegisteredModels, models, nil, []string{"a", "b", "c"}},
		{RegisteredModels, models, []string{"timestamp DESC"}, []string{"c", "a", "b"}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.target, tt.order), func(t *testing.T) {
			o, err := ParseOrderBy(tt.target, tt.order)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for id := range tt.records {
				got = append(got, id)
			}
			slices.Sort(got)
			slices.SortStableFunc(got, func(a, b string) int { return o.Compare(tt.records[a], tt.records[b]) })
			if !slices.Equal(got, tt.want) {
				t.Errorf("%v order_by %q sorts %v, want %v", tt.target, tt.order, got, tt.want)
			}
		})
	}
}
