package main

import (
	"strings"
	"testing"

	"github.com/hangar-ml/hangar"
)

func TestParseModelRef(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want modelRef
	}{
		{"churn", modelRef{Name: "churn"}},
		{"churn:3", modelRef{Name: "churn", Version: "3"}},
		{"churn@champion", modelRef{Name: "churn", Alias: "champion"}},
		{"churn@latest", modelRef{Name: "churn", Latest: true}},
		{"churn@LATEST", modelRef{Name: "churn", Latest: true}},
		{"azureml:churn:3", modelRef{Name: "churn", Version: "3"}},
		{"AzureML:churn@latest", modelRef{Name: "churn", Latest: true}},
		{"team:churn", modelRef{Name: "team:churn"}}, // MLflow names may hold ':'
		{"team:churn:2", modelRef{Name: "team:churn", Version: "2"}},
		{"a@b@prod", modelRef{Name: "a@b", Alias: "prod"}}, // the last '@' splits, as MLflow's
		{"models:/churn/3", modelRef{Name: "churn", Version: "3"}},
		{"models:/churn@champion", modelRef{Name: "churn", Alias: "champion"}},
		{"models:/churn/latest", modelRef{Name: "churn", Latest: true}},
		{"models:/churn/Production", modelRef{Name: "churn", Stage: "Production"}},
	} {
		got, err := parseModelRef(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("parseModelRef(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"", `model reference "" has no name`},
		{":3", `model reference ":3" has no name`},
		{"@champion", `model reference "@champion" has no name`},
		{"azureml:", `model reference "azureml:" has no name`},
		{"churn@", `model reference "churn@": Registered model alias name cannot be empty.`},
		{"churn@v2", `model reference "churn@v2": Version alias name 'v2' is reserved.`},
		{"churn@a.b", `model reference "churn@a.b": Invalid alias name: 'a.b'.`},
		{"a/b", `model reference "a/b": Invalid registered model name: 'a/b'.`},
		{"azureml://registries/r/models/m/versions/1", "registry references (azureml://…) are not supported"},
		{"models:/m-0123", "names an MLflow logged model, not a registered one"},
		{"models:/a/b/c", "Not a proper models:/ URI: models:/a/b/c."},
	} {
		_, err := parseModelRef(tc.in)
		if hangar.ErrorCode(err) != hangar.EINVALID || !strings.Contains(hangar.ErrorMessage(err), tc.want) {
			t.Errorf("parseModelRef(%q): got %v, want EINVALID containing %q", tc.in, err, tc.want)
		}
	}
}

func FuzzParseModelRef(f *testing.F) {
	for _, s := range []string{"churn", "churn:3", "azureml:churn@latest", "models:/churn/Production", "a@b@c", "x:y:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ref, err := parseModelRef(s)
		if err != nil {
			if hangar.ErrorCode(err) != hangar.EINVALID {
				t.Fatalf("got %v, want EINVALID", err)
			}
			return
		}
		if hangar.ValidateRegisteredModelName(ref.Name) != nil {
			t.Fatalf("%q: invalid name %q passed", s, ref.Name)
		}
		set := 0
		for _, b := range []bool{ref.Version != "", ref.Alias != "", ref.Stage != "", ref.Latest} {
			if b {
				set++
			}
		}
		if set > 1 {
			t.Fatalf("%q: %+v names more than one version", s, ref)
		}
		// A reference the String of a parsed one reads back the same,
		// unless its name holds '@' (name@x would then read as an alias) or
		// ends in ":<digits>".
		if strings.Contains(ref.Name, "@") || (ref.model() && strings.Contains(ref.Name, ":")) || strings.HasPrefix(strings.ToLower(ref.Name), "models:") || strings.HasPrefix(strings.ToLower(ref.Name), "azureml:") {
			return
		}
		back, err := parseModelRef(ref.String())
		if err != nil || back != ref {
			t.Fatalf("%q → %+v → %q → %+v, %v", s, ref, ref.String(), back, err)
		}
	})
}

func TestCheckArtifactPath(t *testing.T) {
	for p, ok := range map[string]bool{
		"": true, "model": true, "models/v2": true, "model/": true,
		"/abs": false, "../x": false, "a/../../x": false, "a/./b": false, `a\b`: false, "..": false, "a//b": false,
	} {
		if err := checkArtifactPath(p); (err == nil) != ok {
			t.Errorf("checkArtifactPath(%q) = %v, want ok %v", p, err, ok)
		}
	}
}

func TestNewest(t *testing.T) {
	vs := []*hangar.ModelVersion{{Version: "9"}, {Version: "10"}, {Version: "2"}}
	if got := newest(vs); got != "10" {
		t.Errorf("newest = %q, want 10 (numeric, not text, order)", got)
	}
	if got := newest(nil); got != "" {
		t.Errorf("newest(nil) = %q", got)
	}
}
