package search

import (
	"strings"
	"testing"
)

func TestParseLoggedModelFilter(t *testing.T) {
	rec := MapRecord{
		Strings: map[string]string{"name": "clf-1", "status": "LOGGED_MODEL_READY", "model_type": "Classifier"},
		Numbers: map[string]int64{"creation_timestamp_ms": 1000, "last_updated_timestamp_ms": 2000},
		Params:  map[string]string{"alpha": "0.5"},
		Tags:    map[string]string{"team": "a"},
	}
	tests := []struct {
		filter string
		match  bool
	}{
		{"", true},
		{"name = 'clf-1'", true},
		{"attributes.name LIKE 'clf-%'", true},
		{"name ILIKE 'CLF-%'", true},
		{"status = 'LOGGED_MODEL_READY'", true},
		{"creation_time > 999 AND last_updated_timestamp <= 2000", true},
		{"creation_timestamp = 1000", true},
		{"params.alpha = '0.5' AND tags.team != 'b'", true},
		{"params.beta = '1'", false},
		{"model_type = 'LLM'", false},
	}
	for _, tt := range tests {
		f, err := ParseLoggedModelFilter(tt.filter)
		if err != nil {
			t.Errorf("ParseLoggedModelFilter(%q): got error %v, want none", tt.filter, err)
			continue
		}
		if got := f.Match(rec); got != tt.match {
			t.Errorf("ParseLoggedModelFilter(%q).Match: got %v, want %v", tt.filter, got, tt.match)
		}
	}
}

func TestParseLoggedModelFilterErrors(t *testing.T) {
	tests := []struct {
		filter, want string
	}{
		{"metric.acc > 1", "Invalid entity type: 'metric'"},
		{"run.name = 'x'", "Invalid entity type: 'run'"},
		{"experiment_id = '1'", "Invalid attribute key 'experiment_id'"},
		{"name > 'a'", "Invalid comparison operator '>'"},
		{"metrics.acc LIKE '1'", "Invalid comparison operator 'LIKE'"},
		{"params.a IN ('x')", "Invalid comparison operator 'IN'"},
		{"tags.a IS NULL", "Invalid comparison operator 'IS NULL'"},
		{"creation_time > 'x'", "Expected numeric value type"},
		{"name = 'a' OR name = 'b'", "'OR'"},
	}
	for _, tt := range tests {
		_, err := ParseLoggedModelFilter(tt.filter)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseLoggedModelFilter(%q): got error %v, want one containing %q", tt.filter, err, tt.want)
		}
	}
}

// FuzzParseLoggedModelFilter parses logged-model filters: no panic, errors
// are EINVALID with bounded messages, and a parsed filter prints back to
// itself (checkFilter).
func FuzzParseLoggedModelFilter(f *testing.F) {
	for _, s := range []string{"name = 'a'", "metrics.acc > 0.5 AND params.lr = '1'", "tags.`a b` LIKE '%x'", "creation_time >= 1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkFilter(t, LoggedModels, s)
	})
}
