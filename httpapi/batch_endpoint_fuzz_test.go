package httpapi

import (
	"strings"
	"testing"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/jobspec"
)

// FuzzBatchJobYAML: whatever text a deployment's environment variables
// and an invoke's experiment name hold, the job YAML an invoke writes
// parses, carries them unchanged, and runs exactly the batch-run command.
func FuzzBatchJobYAML(f *testing.F) {
	f.Add("nightly", "LOG_LEVEL", "debug")
	f.Add("a: b\ncommand: rm -rf /", "X", "\"; rm -rf / #")
	f.Add("${{inputs.model}}", "K", "${{outputs.output}}\n- x")
	f.Fuzz(func(t *testing.T, experiment, key, value string) {
		spec := hangar.DeploymentSpec{EnvironmentVariables: map[string]string{key: value}}
		if key == "" || strings.ContainsAny(key, "=\x00") || hangar.ValidateText("k", key, 1000) != nil || hangar.ValidateText("v", value, hangar.MaxAssetDescriptionLength) != nil {
			return
		}
		if experiment != "" && hangar.ValidateText("experiment_name", experiment, 256) != nil {
			return
		}
		e := &hangar.BatchEndpoint{Name: "scorer"}
		d := &hangar.BatchDeployment{Endpoint: "scorer", Name: "blue", Spec: spec,
			Settings: hangar.BatchSettings{MaxConcurrencyPerInstance: 1, MiniBatchSize: 3, ErrorThreshold: -1, OutputAction: hangar.BatchAppendRow}}
		text := batchJobYAML(e, d, "azureml:rides:1", hangar.DataURIFile, "out", "", experiment)
		j, err := jobspec.ParseJob("batch-invoke.yml", []byte(text), nil)
		if err != nil {
			if strings.ContainsAny(experiment+key+value, "${}") {
				return // an expression-like value: refused, never run
			}
			t.Fatalf("the job YAML does not parse: %v\n%s", err, text)
		}
		if want := experiment; want != "" && j.ExperimentName != want {
			t.Errorf("got experiment %q, want %q", j.ExperimentName, want)
		}
		if got := j.EnvironmentVariables[key]; got != value || len(j.EnvironmentVariables) != 1 {
			t.Errorf("got environment %q, want {%q: %q}", j.EnvironmentVariables, key, value)
		}
		want := "hangar batch-run --model ${{inputs.model}} --input ${{inputs.input}} --output ${{outputs.output}} --mini-batch-size 3 --workers 1 --max-retries 0 --timeout 0 --error-threshold -1 --output-action append_row --output-file-name predictions.csv"
		if j.Command != want {
			t.Errorf("got command %q, want %q", j.Command, want)
		}
	})
}

// FuzzBatchJobYAMLScript: whatever path a deployment's scoring script
// has (invoke refuses one with ${{), the job YAML parses, and its command
// ends with the script as one shell word that unquotes to the path.
func FuzzBatchJobYAMLScript(f *testing.F) {
	f.Add("score.py")
	f.Add("src/it's a \"script\".py")
	f.Add("a.py; rm -rf / #$(x)`y`")
	f.Fuzz(func(t *testing.T, script string) {
		if script == "" || strings.Contains(script, "${{") || hangar.ValidateText("scoring_script", script, hangar.MaxDataPathLength) != nil {
			return
		}
		e := &hangar.BatchEndpoint{Name: "scorer"}
		d := &hangar.BatchDeployment{Endpoint: "scorer", Name: "blue",
			Spec:     hangar.DeploymentSpec{CodeDigest: hangar.Digest("sha256:" + strings.Repeat("0", 64)), ScoringScript: script},
			Settings: hangar.BatchSettings{MaxConcurrencyPerInstance: 1, MiniBatchSize: 3, ErrorThreshold: -1, OutputAction: hangar.BatchSummaryOnly}}
		text := batchJobYAML(e, d, "azureml:rides:1", hangar.DataURIFile, "out", "", "")
		j, err := jobspec.ParseJob("batch-invoke.yml", []byte(text), nil)
		if err != nil {
			if strings.ContainsAny(script, "${}") {
				return // an expression-like path: refused, never run
			}
			t.Fatalf("the job YAML does not parse: %v\n%s", err, text)
		}
		prefix := "hangar batch-run --model ${{inputs.model}} --input ${{inputs.input}} --output ${{outputs.output}} --mini-batch-size 3 --workers 1 --max-retries 0 --timeout 0 --error-threshold -1 --output-action summary_only --output-file-name predictions.csv --code ${{inputs.code}} --scoring-script "
		word, ok := strings.CutPrefix(j.Command, prefix)
		if !ok {
			t.Fatalf("got command %q, want it to start with %q", j.Command, prefix)
		}
		got := word
		if strings.Trim(word, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./-") != "" {
			// Anything else must be one single-quoted word.
			if len(word) < 2 || word[0] != '\'' || word[len(word)-1] != '\'' {
				t.Fatalf("got script word %q, want it single-quoted", word)
			}
			got = strings.ReplaceAll(word[1:len(word)-1], `'\''`, "'")
		}
		if got != script {
			t.Errorf("got script word %q, which unquotes to %q, want %q", word, got, script)
		}
		if in := j.Inputs["code"]; in == nil || in.Path != "./code" {
			t.Errorf("got code input %+v, want path ./code", in)
		}
	})
}

// TestShellQuote checks the words batchJobYAML writes into a step's
// /bin/sh command line: a stored output_file_name or scoring script that
// holds shell syntax stays one inert word.
func TestShellQuote(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"predictions.csv", "predictions.csv"},
		{"src/score_v-2.py", "src/score_v-2.py"},
		{"", "''"},
		{"a b.csv", "'a b.csv'"},
		{"x.csv; rm -rf ~", "'x.csv; rm -rf ~'"},
		{"$(id).csv", "'$(id).csv'"},
		{"it's.py", `'it'\''s.py'`},
	} {
		if got := shellQuote(c.in); got != c.want {
			t.Errorf("shellQuote(%q): got %s, want %s", c.in, got, c.want)
		}
	}
}
