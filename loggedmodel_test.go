package hangar

import (
	"strings"
	"testing"
)

func TestNewLoggedModelID(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		id := NewLoggedModelID()
		if !ValidLoggedModelID(id) {
			t.Fatalf("NewLoggedModelID() = %q: not a valid id", id)
		}
		if seen[id] {
			t.Fatalf("NewLoggedModelID() = %q twice", id)
		}
		seen[id] = true
	}
}

func TestValidLoggedModelID(t *testing.T) {
	tests := []struct {
		id   string
		want bool
	}{
		{"m-0123456789abcdef0123456789abcdef", true},
		{"m-0123456789ABCDEF0123456789abcdef", false},
		{"m-0123456789abcdef0123456789abcde", false},
		{"m-0123456789abcdef0123456789abcdef0", false},
		{"x-0123456789abcdef0123456789abcdef", false},
		{"0123456789abcdef0123456789abcdef", false},
		{"m-0123456789abcdef0123456789abcdeg", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := ValidLoggedModelID(tt.id); got != tt.want {
			t.Errorf("ValidLoggedModelID(%q): got %v, want %v", tt.id, got, tt.want)
		}
	}
}

func TestLoggedModelArtifactURI(t *testing.T) {
	tests := []struct{ loc, want string }{
		{"mlflow-artifacts:/3", "mlflow-artifacts:/3/models/m-1/artifacts"},
		{"mlflow-artifacts:/3/", "mlflow-artifacts:/3/models/m-1/artifacts"},
		{"s3://bucket/exp", "s3://bucket/exp/models/m-1/artifacts"},
	}
	for _, tt := range tests {
		if got := LoggedModelArtifactURI(tt.loc, "m-1"); got != tt.want {
			t.Errorf("LoggedModelArtifactURI(%q): got %q, want %q", tt.loc, got, tt.want)
		}
	}
}

func TestParseLoggedModelStatus(t *testing.T) {
	tests := []struct {
		in, want, code string
	}{
		{"LOGGED_MODEL_READY", LoggedModelReady, ""},
		{"2", LoggedModelReady, ""},
		{"LOGGED_MODEL_UPLOAD_FAILED", LoggedModelUploadFailed, ""},
		{"3", LoggedModelUploadFailed, ""},
		{"LOGGED_MODEL_PENDING", "", EINVALID},
		{"1", "", EINVALID},
		{"LOGGED_MODEL_STATUS_UNSPECIFIED", "", EINVALID},
		{"READY", "", EINVALID},
		{"", "", EINVALID},
	}
	for _, tt := range tests {
		got, err := ParseLoggedModelStatus(tt.in)
		if got != tt.want || ErrorCode(err) != tt.code {
			t.Errorf("ParseLoggedModelStatus(%q): got %q, %v, want %q and code %q", tt.in, got, err, tt.want, tt.code)
		}
	}
}

func TestValidateLoggedModelCreate(t *testing.T) {
	params := func(n int) []LoggedModelParam {
		out := make([]LoggedModelParam, n)
		for i := range out {
			out[i] = LoggedModelParam{Key: "p" + strings.Repeat("x", i), Value: "v"}
		}
		return out
	}
	tags := func(n int) []LoggedModelTag {
		out := make([]LoggedModelTag, n)
		for i := range out {
			out[i] = LoggedModelTag{Key: "t" + strings.Repeat("x", i), Value: "v"}
		}
		return out
	}
	tests := []struct {
		name string
		c    LoggedModelCreate
		code string
	}{
		{"empty", LoggedModelCreate{}, ""},
		{"full", LoggedModelCreate{Name: "model", ModelType: "LLM", SourceRunID: "0123456789abcdef0123456789abcdef", Params: params(2), Tags: tags(2)}, ""},
		{"name at the limit", LoggedModelCreate{Name: strings.Repeat("n", MaxLoggedModelNameLength)}, ""},
		{"name past the limit", LoggedModelCreate{Name: strings.Repeat("n", MaxLoggedModelNameLength+1)}, EINVALID},
		{"name with a slash", LoggedModelCreate{Name: "a/b"}, EINVALID},
		{"name with a dot", LoggedModelCreate{Name: "a.b"}, EINVALID},
		{"model type past the limit", LoggedModelCreate{ModelType: strings.Repeat("t", MaxLoggedModelTypeLength+1)}, EINVALID},
		{"bad run id", LoggedModelCreate{SourceRunID: "../x"}, EINVALID},
		{"params at the limit", LoggedModelCreate{Params: params(MaxLoggedModelParams)}, ""},
		{"params past the limit", LoggedModelCreate{Params: params(MaxLoggedModelParams + 1)}, EINVALID},
		{"tags at the limit", LoggedModelCreate{Tags: tags(MaxLoggedModelTags)}, ""},
		{"tags past the limit", LoggedModelCreate{Tags: tags(MaxLoggedModelTags + 1)}, EINVALID},
		{"same param twice", LoggedModelCreate{Params: []LoggedModelParam{{"a", "1"}, {"a", "1"}}}, ""},
		{"param changed", LoggedModelCreate{Params: []LoggedModelParam{{"a", "1"}, {"a", "2"}}}, EINVALID},
		{"param value past the limit", LoggedModelCreate{Params: []LoggedModelParam{{"a", strings.Repeat("v", MaxParamValueLength+1)}}}, EINVALID},
		{"tag value at the limit", LoggedModelCreate{Tags: []LoggedModelTag{{"a", strings.Repeat("v", MaxRunTagValueLength)}}}, ""},
		{"tag value past the limit", LoggedModelCreate{Tags: []LoggedModelTag{{"a", strings.Repeat("v", MaxRunTagValueLength+1)}}}, EINVALID},
		{"tag key past the limit", LoggedModelCreate{Tags: []LoggedModelTag{{strings.Repeat("k", MaxTrackingKeyLength+1), "v"}}}, EINVALID},
		{"bad tag key", LoggedModelCreate{Tags: []LoggedModelTag{{"a*", "v"}}}, EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ErrorCode(ValidateLoggedModelCreate(tt.c)); got != tt.code {
				t.Errorf("ValidateLoggedModelCreate: got code %q, want %q", got, tt.code)
			}
		})
	}
}
