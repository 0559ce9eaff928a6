package hangar

import (
	"encoding/json"
	"math"
	"regexp"
	"strings"
	"testing"
)

func TestValidateTrackingKeys(t *testing.T) {
	badChars := "Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colons (:), and slashes (/)."
	badPath := "Names may be treated as files in certain cases, and must not resolve to other names when treated as such. This name would resolve to "
	tests := []struct {
		key     string
		message string // "" when valid
	}{
		{"loss", ""},
		{"train/loss", ""},
		{"a b.c-d_e", ""},
		{"system/gpu:0", ""}, // MLflow 3.x allows the colon
		{"précision", ""},    // Python's \w takes letters of any script
		{"数据", ""},
		{"x²", ""}, // superscript two (category No) is a word character to Python
		{"a$b", "Invalid metric name: 'a$b'. " + badChars},
		{"a\tb", "Invalid metric name: 'a\tb'. " + badChars},
		{"a//b", "Invalid metric name: 'a//b'. " + badPath + "'a/b'"},
		{"a/", "Invalid metric name: 'a/'. " + badPath + "'a'"},
		{"/a", "Invalid metric name: '/a'. " + badPath + "'/a'"},
		{"..", "Invalid metric name: '..'. " + badPath + "'..'"},
		{"../a", "Invalid metric name: '../a'. " + badPath + "'../a'"},
		{"a/../b", "Invalid metric name: 'a/../b'. " + badPath + "'b'"},
		{"./a", "Invalid metric name: './a'. " + badPath + "'a'"},
		{".", "Invalid metric name: '.'. " + badPath + "'.'"},
		{"", "Invalid metric name: ''. " + badPath + "'.'"},
		{"..a", "Invalid metric name: '..a'. " + badPath + "'..a'"}, // MLflow refuses any name starting with ".."
	}
	for _, tt := range tests {
		err := ValidateMetric(Metric{Key: tt.key, Timestamp: 1})
		if tt.message == "" {
			if err != nil {
				t.Errorf("ValidateMetric(%q): %v, want nil", tt.key, err)
			}
			continue
		}
		if ErrorCode(err) != EINVALID || ErrorMessage(err) != tt.message {
			t.Errorf("ValidateMetric(%q): %v, want invalid %q", tt.key, err, tt.message)
		}
	}
}

func TestTrackingLengthLimits(t *testing.T) {
	key := func(n int) string { return strings.Repeat("k", n) }
	val := func(n int) string { return strings.Repeat("v", n) }
	long := func(entity, s string, limit int) string {
		shown := s
		if len(shown) > 250 {
			shown = shown[:250]
		}
		return entity + " '" + shown + "' had length " + itoa(len(s)) + ", which exceeded length limit of " + itoa(limit)
	}
	tests := []struct {
		name    string
		err     error
		message string
	}{
		{"metric key at the limit", ValidateMetric(Metric{Key: key(250)}), ""},
		{"metric key one past", ValidateMetric(Metric{Key: key(251)}), long("Metric name", key(251), 250)},
		{"param key at the limit", ValidateParam(Param{Key: key(250)}), ""},
		{"param key one past", ValidateParam(Param{Key: key(251)}), long("Param key", key(251), 250)},
		{"param value at the limit", ValidateParam(Param{Key: "p", Value: val(6000)}), ""},
		{"param value one past", ValidateParam(Param{Key: "p", Value: val(6001)}), long("Param value", val(6001), 6000)},
		{"param value in characters", ValidateParam(Param{Key: "p", Value: strings.Repeat("é", 6000)}), ""},
		{"tag key at the limit", ValidateRunTag(RunTag{Key: key(250)}), ""},
		{"tag key one past", ValidateRunTag(RunTag{Key: key(251)}), long("Tag key", key(251), 250)},
		{"tag value at the limit", ValidateRunTag(RunTag{Key: "t", Value: val(8000)}), ""},
		{"tag value one past", ValidateRunTag(RunTag{Key: "t", Value: val(8001)}), long("Tag value", val(8001), 8000)},
		{"experiment tag value at the limit", ValidateExperimentTag(ExperimentTag{Key: "t", Value: val(5000)}), ""},
		{"experiment tag value one past", ValidateExperimentTag(ExperimentTag{Key: "t", Value: val(5001)}), long("Tag value", val(5001), 5000)},
		{"experiment tag key one past", ValidateExperimentTag(ExperimentTag{Key: key(251)}), long("Tag key", key(251), 250)},
		{"experiment name at the limit", ValidateExperimentName(val(500)), ""},
		{"experiment name one past", ValidateExperimentName(val(501)), "Experiment name exceeds the maximum length of 500 characters"},
		{"empty experiment name", ValidateExperimentName(""), "Invalid experiment name: ''"},
		{"param value with NUL", ValidateParam(Param{Key: "p", Value: "a\x00"}), "param value contains a NUL character"},
		{"negative timestamp", ValidateMetric(Metric{Key: "m", Value: 1, Timestamp: -1}),
			"Got invalid timestamp -1 for metric 'm' (value=1.0). Timestamp must be a nonnegative long (64-bit integer) "},
		{"NaN, infinities and negative steps are fine", ValidateMetric(Metric{Key: "m", Value: math.NaN(), Step: -5}), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.message == "" {
				if tt.err != nil {
					t.Fatalf("got %v, want nil", tt.err)
				}
				return
			}
			if ErrorCode(tt.err) != EINVALID || ErrorMessage(tt.err) != tt.message {
				t.Fatalf("got %v, want invalid %q", tt.err, tt.message)
			}
		})
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestValidateLogBatch(t *testing.T) {
	metrics := func(n int) []Metric {
		out := make([]Metric, n)
		for i := range out {
			out[i] = Metric{Key: "m", Value: float64(i), Timestamp: 1, Step: int64(i)}
		}
		return out
	}
	params := func(n int) []Param {
		out := make([]Param, n)
		for i := range out {
			out[i] = Param{Key: "p" + itoa(i), Value: "v"}
		}
		return out
	}
	tags := func(n int) []RunTag {
		out := make([]RunTag, n)
		for i := range out {
			out[i] = RunTag{Key: "t" + itoa(i), Value: "v"}
		}
		return out
	}
	limit := func(what string, limit, n int) string {
		return "A batch logging request can contain at most " + itoa(limit) + " " + what + ". Got " + itoa(n) + " " + what +
			". Please split up " + what + " across multiple requests and try again."
	}
	tests := []struct {
		name    string
		b       LogBatch
		message string
	}{
		{"empty", LogBatch{}, ""},
		{"1000 metrics", LogBatch{Metrics: metrics(1000)}, ""},
		{"1001 metrics", LogBatch{Metrics: metrics(1001)}, limit("metrics", 1000, 1001)},
		{"100 params", LogBatch{Params: params(100)}, ""},
		{"101 params", LogBatch{Params: params(101)}, limit("params", 100, 101)},
		{"100 tags", LogBatch{Tags: tags(100)}, ""},
		{"101 tags", LogBatch{Tags: tags(101)}, limit("tags", 100, 101)},
		{"1000 entities", LogBatch{Metrics: metrics(800), Params: params(100), Tags: tags(100)}, ""},
		{"1001 entities", LogBatch{Metrics: metrics(801), Params: params(100), Tags: tags(100)}, limit("metrics, params, and tags", 1000, 1001)},
		{"a bad item before the counts", LogBatch{Metrics: append(metrics(1001), Metric{Key: "/x"})},
			"Invalid metric name: '/x'. Names may be treated as files in certain cases, and must not resolve to other names when treated as such. This name would resolve to '/x'"},
		{"duplicate param keys", LogBatch{Params: []Param{{"a", "1"}, {"b", "1"}, {"a", "1"}, {"b", "2"}}},
			"Duplicate parameter keys have been submitted: ['a', 'b']. Please ensure the request contains only one param value per param key."},
		{"duplicate metrics and tags are fine", LogBatch{Metrics: metrics(2)[:1:1], Tags: []RunTag{{"t", "1"}, {"t", "2"}}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateLogBatch(tt.b)
			if tt.message == "" {
				if err != nil {
					t.Fatalf("got %v, want nil", err)
				}
				return
			}
			if ErrorCode(err) != EINVALID || ErrorMessage(err) != tt.message {
				t.Fatalf("got %v, want invalid %q", err, tt.message)
			}
		})
	}
}

func TestValidateDatasetInputs(t *testing.T) {
	ds := Dataset{Name: "d", Digest: "abc", SourceType: "local", Source: `{"uri":"x"}`}
	with := func(f func(*DatasetInput)) []DatasetInput {
		in := DatasetInput{Dataset: ds, Tags: []InputTag{{Key: TagDatasetContext, Value: "training"}}}
		f(&in)
		return []DatasetInput{in}
	}
	tests := []struct {
		name    string
		in      []DatasetInput
		message string
	}{
		{"valid", with(func(*DatasetInput) {}), ""},
		{"no name", with(func(d *DatasetInput) { d.Dataset.Name = "" }), "Dataset name cannot be None"},
		{"no digest", with(func(d *DatasetInput) { d.Dataset.Digest = "" }), "Dataset digest cannot be None"},
		{"no source type", with(func(d *DatasetInput) { d.Dataset.SourceType = "" }), "Dataset source_type cannot be None"},
		{"no source", with(func(d *DatasetInput) { d.Dataset.Source = "" }), "Dataset source cannot be None"},
		{"name at the limit", with(func(d *DatasetInput) { d.Dataset.Name = strings.Repeat("n", 500) }), ""},
		{"name one past", with(func(d *DatasetInput) { d.Dataset.Name = strings.Repeat("n", 501) }), "Dataset name exceeds the maximum length of 500"},
		{"digest at the limit", with(func(d *DatasetInput) { d.Dataset.Digest = strings.Repeat("d", 36) }), ""},
		{"digest one past", with(func(d *DatasetInput) { d.Dataset.Digest = strings.Repeat("d", 37) }), "Dataset digest exceeds the maximum length of 36"},
		{"tag key one past", with(func(d *DatasetInput) { d.Tags[0].Key = strings.Repeat("k", 256) }), "InputTag key exceeds the maximum length of 255"},
		{"tag value one past", with(func(d *DatasetInput) { d.Tags[0].Value = strings.Repeat("v", 501) }), "InputTag value exceeds the maximum length of 500"},
		{"empty tag key", with(func(d *DatasetInput) { d.Tags[0].Key = "" }), "InputTag key cannot be None"},
		{"1001 inputs", make([]DatasetInput, 1001), "A request can contain at most 1000 dataset inputs. Got 1001 dataset inputs."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateDatasetInputs(tt.in)
			if tt.message == "" {
				if err != nil {
					t.Fatalf("got %v, want nil", err)
				}
				return
			}
			if ErrorCode(err) != EINVALID || ErrorMessage(err) != tt.message {
				t.Fatalf("got %v, want invalid %q", err, tt.message)
			}
		})
	}
}

func TestLogModelEntry(t *testing.T) {
	good := `{"artifact_path": "model", "flavors": {"sklearn": {}}, "utc_time_created": "2024-01-01", "run_id": "abc", "extra": [1, 2]}`
	entry, err := LogModelEntry(good)
	if err != nil {
		t.Fatalf("LogModelEntry: %v", err)
	}
	if want := `{"artifact_path":"model","flavors":{"sklearn":{}},"utc_time_created":"2024-01-01","run_id":"abc","extra":[1,2]}`; string(entry) != want {
		t.Errorf("entry %s, want %s (compact, key order kept)", entry, want)
	}
	h, err := AppendLogModelHistory("", entry)
	if err != nil {
		t.Fatal(err)
	}
	h, err = AppendLogModelHistory(h, json.RawMessage(`{"run_id":"b"}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := "[" + string(entry) + `,{"run_id":"b"}]`; h != want {
		t.Errorf("history %s, want %s", h, want)
	}
	if h, _ := AppendLogModelHistory("not json", json.RawMessage(`{}`)); h != "[{}]" {
		t.Errorf("history over a tag that is not a list: %s, want [{}]", h)
	}
	if _, err := AppendLogModelHistory("", json.RawMessage(`"`+strings.Repeat("x", MaxLogModelHistoryLength)+`"`)); ErrorCode(err) != EINVALID {
		t.Errorf("a history over its limit: %v, want invalid", err)
	}
	for _, tt := range []struct{ in, message string }{
		{"nope", "Malformed model info. \n nope \n is not a valid JSON."},
		{"[1]", "Malformed model info. \n [1] \n is not a valid JSON."},
		{"null", "Malformed model info. \n null \n is not a valid JSON."},
		{`{"artifact_path":"m","flavors":{}}`, "Model json is missing mandatory fields: {'utc_time_created', 'run_id'}"},
	} {
		if _, err := LogModelEntry(tt.in); ErrorCode(err) != EINVALID || ErrorMessage(err) != tt.message {
			t.Errorf("LogModelEntry(%q): %v, want invalid %q", tt.in, err, tt.message)
		}
	}
}

func TestParseExperimentID(t *testing.T) {
	for _, tt := range []struct {
		id   string
		want int64
		ok   bool
	}{
		{"0", 0, true}, {"12", 12, true}, {"9223372036854775807", math.MaxInt64, true},
		{"", 0, false}, {"-1", 0, false}, {"01", 0, false}, {"+1", 0, false}, {"1.0", 0, false}, {"x", 0, false},
		{"9223372036854775808", 0, false},
	} {
		n, err := ParseExperimentID(tt.id)
		if tt.ok != (err == nil) || n != tt.want {
			t.Errorf("ParseExperimentID(%q) = %d, %v; want %d, ok %v", tt.id, n, err, tt.want, tt.ok)
		}
		if err != nil && (ErrorCode(err) != ENOTFOUND || ErrorMessage(err) != "No Experiment with id="+tt.id+" exists") {
			t.Errorf("ParseExperimentID(%q): %v, want MLflow's not found", tt.id, err)
		}
	}
}

func TestParseViewType(t *testing.T) {
	for in, want := range map[string]ViewType{"": ViewActiveOnly, "ACTIVE_ONLY": ViewActiveOnly, "1": ViewActiveOnly,
		"DELETED_ONLY": ViewDeletedOnly, "2": ViewDeletedOnly, "ALL": ViewAll, "3": ViewAll} {
		if got, err := ParseViewType(in); err != nil || got != want {
			t.Errorf("ParseViewType(%q) = %v, %v; want %v", in, got, err, want)
		}
		if got, _ := ParseViewType(want.String()); got != want {
			t.Errorf("ParseViewType(%v.String()) = %v", want, got)
		}
	}
	for _, in := range []string{"all", "0", "4", "ACTIVE"} {
		if _, err := ParseViewType(in); ErrorCode(err) != EINVALID {
			t.Errorf("ParseViewType(%q): %v, want invalid", in, err)
		}
	}
}

func TestMetricJSON(t *testing.T) {
	for _, tt := range []struct {
		m    Metric
		want string
	}{
		{Metric{"a", 0.5, 1, 0}, `{"key":"a","value":0.5,"timestamp":1,"step":0}`},
		{Metric{"a", math.NaN(), 1, 2}, `{"key":"a","value":"NaN","timestamp":1,"step":2}`},
		{Metric{"a", math.Inf(1), 1, 2}, `{"key":"a","value":"Infinity","timestamp":1,"step":2}`},
		{Metric{"a", math.Inf(-1), 1, -2}, `{"key":"a","value":"-Infinity","timestamp":1,"step":-2}`},
	} {
		b, err := json.Marshal(tt.m)
		if err != nil || string(b) != tt.want {
			t.Errorf("Marshal(%v) = %s, %v; want %s", tt.m, b, err, tt.want)
		}
		var back Metric
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("Unmarshal(%s): %v", b, err)
		}
		if again, _ := json.Marshal(back); string(again) != tt.want {
			t.Errorf("round trip of %s gave %s", tt.want, again)
		}
	}
}

func TestLatestMetricLess(t *testing.T) {
	m := func(step, ts int64, v float64) Metric { return Metric{Key: "m", Value: v, Timestamp: ts, Step: step} }
	tests := []struct {
		a, b Metric
		less bool
	}{
		{m(1, 9, 9), m(2, 0, 0), true},   // the step first
		{m(2, 0, 0), m(1, 9, 9), false},  //
		{m(1, 1, 9), m(1, 2, 0), true},   // then the timestamp
		{m(1, 1, 0.5), m(1, 1, 1), true}, // then the value
		{m(1, 1, 1), m(1, 1, 1), false},
		{m(1, 1, math.NaN()), m(1, 1, 0.5), true}, // NaN counts as 0
		{m(1, 1, -1), m(1, 1, math.NaN()), true},
		{m(1, 1, math.Inf(-1)), m(1, 1, -1), true},
	}
	for _, tt := range tests {
		if got := LatestMetricLess(tt.a, tt.b); got != tt.less {
			t.Errorf("LatestMetricLess(%v, %v) = %v, want %v", tt.a, tt.b, got, tt.less)
		}
	}
}

func TestNewRunName(t *testing.T) {
	re := regexp.MustCompile(`^[a-z]+-[a-z]+-(\d|[1-9]\d{1,2}|1000)$`)
	for range 200 {
		if n := NewRunName(); !re.MatchString(n) {
			t.Fatalf("NewRunName() = %q, want adjective-animal-N", n)
		}
	}
}

func TestRunArtifactURI(t *testing.T) {
	if got, want := RunArtifactURI(ExperimentArtifactLocation("3"), "abc"), "mlflow-artifacts:/3/abc/artifacts"; got != want {
		t.Errorf("RunArtifactURI = %q, want %q", got, want)
	}
	if got, want := RunArtifactURI("s3://b/p/", "abc"), "s3://b/p/abc/artifacts"; got != want {
		t.Errorf("RunArtifactURI = %q, want %q", got, want)
	}
}
