package search

import (
	"math"
	"slices"
	"strings"
	"testing"
)

// testRuns is the fixed set of runs the filter table is evaluated over; the
// SQL store's tests can load the same runs and compare.
func testRuns() map[string]MapRecord {
	return map[string]MapRecord{
		"a1": {
			Metrics: map[string]float64{"acc": 0.9, "loss": 0.1, "f1 score": 0.5},
			Params:  map[string]string{"lr": "0.01", "model": "CNN"},
			Tags:    map[string]string{"mlflow.user": "alice", "env": "prod", "type": "LogisticRegression"},
			Strings: map[string]string{"run_id": "a1", "run_name": "alpha", "status": "FINISHED", "user_id": "alice", "artifact_uri": "mlflow-artifacts:/1/a1/artifacts"},
			Numbers: map[string]int64{"start_time": 1000, "end_time": 2000},
			Inputs: []DatasetInput{
				{Name: "train-data", Digest: "d1", Context: "train", HasContext: true},
				{Name: "eval", Digest: "d2"},
			},
		},
		"b2": {
			Metrics: map[string]float64{"acc": math.NaN(), "loss": 0.3},
			Params:  map[string]string{"lr": "0.1", "model": "cnn"},
			Tags:    map[string]string{"env": "dev"},
			Strings: map[string]string{"run_id": "b2", "run_name": "beta", "status": "RUNNING", "user_id": "bob", "artifact_uri": "mlflow-artifacts:/1/b2/artifacts"},
			Numbers: map[string]int64{"start_time": 2000}, // still running: no end_time
		},
		"c3": {
			Metrics: map[string]float64{"acc": 0.95, "loss": math.Inf(1)},
			Params:  map[string]string{"lr": "0.01"},
			Tags:    map[string]string{"env": "prod%", "type": "logistic"},
			Strings: map[string]string{"run_id": "c3", "run_name": "Gamma_1", "status": "FAILED", "user_id": "carol", "artifact_uri": "s3://bucket/c3"},
			Numbers: map[string]int64{"start_time": 3000, "end_time": 3500},
			Inputs:  []DatasetInput{{Name: "train-data", Digest: "d3", Context: "test", HasContext: true}},
		},
		"d4": {
			Strings: map[string]string{"run_id": "d4", "run_name": "δέλτα", "status": "KILLED", "user_id": "", "artifact_uri": "file:///tmp/d4"},
			Numbers: map[string]int64{"start_time": 1500, "end_time": 1600},
			Inputs:  []DatasetInput{{Name: "Train-Data", Digest: "d4", Context: "train", HasContext: true}},
		},
	}
}

func TestRunFilterMatches(t *testing.T) {
	all := []string{"a1", "b2", "c3", "d4"}
	tests := []struct {
		filter string
		want   []string // run ids, in order
	}{
		{"", all},
		{"metrics.acc > 0.8", []string{"a1", "c3"}},         // NaN (b2) and missing (d4) never match
		{"metrics.acc != 0.9", []string{"c3"}},              // not even !=
		{"metrics.acc = 0", nil},                            // NaN is not 0 (MLflow's SQL quirk not kept)
		{"metrics.loss >= 0.1", []string{"a1", "b2", "c3"}}, // +Inf compares as a number
		{"metrics.loss < 1e308", []string{"a1", "b2"}},      // +Inf is not below
		{"metrics.`f1 score` = 0.5", []string{"a1"}},        //
		{"metrics.loss > -1e308 AND metrics.loss <= 0.3", []string{"a1", "b2"}},
		{"params.lr = '0.01'", []string{"a1", "c3"}},                      //
		{"params.lr != '0.01'", []string{"b2"}},                           // d4 lacks lr
		{"params.model = 'CNN'", []string{"a1"}},                          // = is case-sensitive
		{"params.model LIKE 'C%'", []string{"a1"}},                        // LIKE is case-sensitive
		{"params.model ILIKE 'c%'", []string{"a1", "b2"}},                 //
		{"params.model IS NULL", []string{"c3", "d4"}},                    // 3.x
		{"params.model IS NOT NULL", []string{"a1", "b2"}},                //
		{"tags.env LIKE 'prod%'", []string{"a1", "c3"}},                   //
		{"tags.env = 'prod%'", []string{"c3"}},                            // = has no wildcards
		{"tags.env LIKE 'pro_'", []string{"a1"}},                          // _ is one character
		{"tags.env LIKE 'prod_'", []string{"c3"}},                         //
		{"tags.env LIKE '%'", []string{"a1", "b2", "c3"}},                 // % also matches nothing; d4 has no env
		{"tags.env LIKE ''", nil},                                         //
		{"tags.type ILIKE '%logistic%'", []string{"a1", "c3"}},            //
		{"tags.type LIKE '%Logistic%'", []string{"a1"}},                   //
		{"tags.env != 'prod'", []string{"b2", "c3"}},                      //
		{"tags.env IS NULL", []string{"d4"}},                              //
		{"tags.`mlflow.user` = 'alice'", []string{"a1"}},                  //
		{"attributes.status = 'FINISHED'", []string{"a1"}},                //
		{"attributes.status = 'finished'", nil},                           //
		{"attributes.status != 'FINISHED'", []string{"b2", "c3", "d4"}},   //
		{"attributes.run_id IN ('a1', 'c3', 'zz')", []string{"a1", "c3"}}, //
		{"attributes.run_id NOT IN ('a1')", []string{"b2", "c3", "d4"}},   //
		{"attributes.run_id IN ('A1')", nil},                              // kept, and matches nothing
		{"attributes.run_name LIKE '%a'", []string{"a1", "b2"}},           // "δέλτα" ends in Greek alpha
		{"attributes.run_name LIKE 'Gamma_1'", []string{"c3"}},            //
		{"attributes.run_name LIKE 'Gamma_'", nil},                        //
		{"attributes.run_name LIKE 'G%m%1'", []string{"c3"}},              //
		{"attributes.run_name LIKE 'δ_λτα'", []string{"d4"}},              // _ is one character, not one byte
		{"attributes.`Run name` ILIKE 'ALPHA'", []string{"a1"}},           //
		{"attributes.run_name ILIKE 'ΔΈΛΤΑ'", nil},                        // ILIKE folds ASCII only
		{"attributes.user_id = ''", []string{"d4"}},                       //
		{"attributes.artifact_uri LIKE 'mlflow-artifacts:/%'", []string{"a1", "b2"}},
		{"attributes.created >= 1500", []string{"b2", "c3", "d4"}},                  //
		{"attributes.start_time > 1500.5", []string{"b2", "c3"}},                    // exact int/float comparison
		{"attributes.start_time < 1500.5", []string{"a1", "d4"}},                    //
		{"attributes.start_time = 1000.0", []string{"a1"}},                          //
		{"attributes.end_time < 3000", []string{"a1", "d4"}},                        // b2 has no end_time
		{"attributes.end_time != 2000", []string{"c3", "d4"}},                       //
		{"datasets.name = 'train-data'", []string{"a1", "c3"}},                      //
		{"datasets.name ILIKE 'TRAIN-DATA'", []string{"a1", "c3", "d4"}},            //
		{"datasets.context = 'train'", []string{"a1", "d4"}},                        //
		{"datasets.context != 'train'", []string{"c3"}},                             // a1's eval input has no context
		{"datasets.digest IN ('d2', 'd4')", []string{"a1", "d4"}},                   //
		{"datasets.digest NOT IN ('d1')", []string{"a1", "c3", "d4"}},               // a1 through its eval input
		{"datasets.name = 'train-data' AND datasets.digest = 'd2'", []string{"a1"}}, // different inputs may satisfy each
		{"metrics.acc > 0.8 AND params.lr = '0.01' AND tags.env LIKE 'prod%'", []string{"a1", "c3"}},
		{"params.lr = '0.01' AND params.lr != '0.01'", nil},
	}
	runs := testRuns()
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			f, err := ParseRunFilter(tt.filter)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, id := range all {
				if f.Match(runs[id]) {
					got = append(got, id)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("ParseRunFilter(%q) matches %v, want %v", tt.filter, got, tt.want)
			}
		})
	}
}

func TestRegistryAndExperimentMatches(t *testing.T) {
	experiments := map[string]MapRecord{
		"0":  {Strings: map[string]string{"name": "Default"}, Numbers: map[string]int64{"experiment_id": 0, "creation_time": 100, "last_update_time": 100}},
		"9":  {Strings: map[string]string{"name": "fraud-v1"}, Numbers: map[string]int64{"experiment_id": 9, "creation_time": 200, "last_update_time": 300}, Tags: map[string]string{"group": "risk"}},
		"10": {Strings: map[string]string{"name": "Fraud-v2"}, Numbers: map[string]int64{"experiment_id": 10, "creation_time": 300}, Tags: map[string]string{"group": "x"}},
	}
	versions := map[string]MapRecord{
		"m/1": {Strings: map[string]string{"name": "m", "run_id": "r1", "source_path": "mlflow-artifacts:/1/r1/artifacts/model"}, Numbers: map[string]int64{"version_number": 1}},
		"m/2": {Strings: map[string]string{"name": "m", "run_id": "r2", "source_path": "models:/m/1"}, Numbers: map[string]int64{"version_number": 2}, Tags: map[string]string{"stage": "prod"}},
		"n/1": {Strings: map[string]string{"name": "n", "run_id": "r1", "source_path": "s3://b/n"}, Numbers: map[string]int64{"version_number": 1}},
	}
	tests := []struct {
		target  Target
		records map[string]MapRecord
		filter  string
		want    []string
	}{
		{Experiments, experiments, "name LIKE 'fraud%'", []string{"9"}},
		{Experiments, experiments, "name ILIKE 'fraud%'", []string{"10", "9"}},
		{Experiments, experiments, "attributes.creation_time >= 200", []string{"10", "9"}},
		{Experiments, experiments, "last_update_time > 0", []string{"0", "9"}}, // 10 has none
		{Experiments, experiments, "tags.group != 'x'", []string{"9"}},         // 0 lacks the tag
		{Experiments, experiments, "tags.group IS NULL", []string{"0"}},
		{Experiments, experiments, "tags.group IS NOT NULL AND name != 'fraud-v1'", []string{"10"}},
		{ModelVersions, versions, "name = 'm'", []string{"m/1", "m/2"}},
		{ModelVersions, versions, "run_id IN ('r1')", []string{"m/1", "n/1"}},
		{ModelVersions, versions, "version_number >= 2", []string{"m/2"}},
		{ModelVersions, versions, "version_number = '1' AND source_path LIKE 'mlflow-artifacts:%'", []string{"m/1"}},
		{ModelVersions, versions, "tags.stage = 'prod'", []string{"m/2"}},
		{RegisteredModels, map[string]MapRecord{"m": {Strings: map[string]string{"name": "m"}}, "n": {Strings: map[string]string{"name": "n"}, Tags: map[string]string{"t": "v"}}},
			"name != 'm' AND tags.t = 'v'", []string{"n"}},
	}
	for _, tt := range tests {
		t.Run(tt.target.String()+" "+tt.filter, func(t *testing.T) {
			f, err := ParseFilter(tt.target, tt.filter)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for id, r := range tt.records {
				if f.Match(r) {
					got = append(got, id)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("%v filter %q matches %v, want %v", tt.target, tt.filter, got, tt.want)
			}
		})
	}
}

func TestLike(t *testing.T) {
	tests := []struct {
		s, pattern string
		fold, want bool
	}{
		{"", "", false, true},
		{"", "%", false, true},
		{"", "_", false, false},
		{"abc", "abc", false, true},
		{"abc", "ab", false, false},
		{"abc", "a%", false, true},
		{"abc", "%c", false, true},
		{"abc", "%b%", false, true},
		{"abc", "a_c", false, true},
		{"abc", "a__c", false, false},
		{"abc", "%%%", false, true},
		{"aXbXc", "a%b%c", false, true},
		{"abcabd", "%abd", false, true}, // needs a backtrack
		{"mississippi", "%iss%ppi", false, true},
		{"mississippi", "%iss%ppx", false, false},
		{"ABC", "abc", false, false},
		{"ABC", "abc", true, true},
		{"ÄBC", "äbc", true, false}, // only ASCII letters fold
		{"a.c", "a.c", false, true},
		{"abc", "a.c", false, false}, // . is no wildcard (MLflow's in-memory regex got this wrong)
		{`a\c`, `a\c`, false, true},  // no escape character
		{"a_c", `a\_c`, false, false},
		{"日本語", "日_語", false, true},
		{"\xff\xfe", "__", false, true}, // invalid UTF-8: one character per byte
		{strings.Repeat("a", 1000), strings.Repeat("%a", 20) + "b", false, false},
	}
	for _, tt := range tests {
		if got := like(tt.s, tt.pattern, tt.fold); got != tt.want {
			t.Errorf("like(%q, %q, %v) = %v, want %v", tt.s, tt.pattern, tt.fold, got, tt.want)
		}
	}
}

func TestCompareIntFloat(t *testing.T) {
	tests := []struct {
		a    int64
		f    float64
		want int
	}{
		{1, 1, 0},
		{1, 1.5, -1},
		{2, 1.5, 1},
		{-2, -1.5, -1},
		{-1, -1.5, 1},
		{1 << 53, 1 << 53, 0},
		{1<<53 + 1, 1 << 53, 1}, // a float64 conversion would say 0
		{math.MaxInt64, 1 << 63, -1},
		{math.MinInt64, -(1 << 63), 0},
		{math.MinInt64, -1e30, 1},
		{0, math.Inf(1), -1},
		{0, math.Inf(-1), 1},
	}
	for _, tt := range tests {
		if got := compareIntFloat(tt.a, tt.f); got != tt.want {
			t.Errorf("compareIntFloat(%d, %g) = %d, want %d", tt.a, tt.f, got, tt.want)
		}
	}
}
