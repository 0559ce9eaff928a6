package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hangar-ml/hangar"
)

func TestBuiltinGate(t *testing.T) {
	dir := t.TempDir()
	metricsDir := filepath.Join(dir, "metrics")
	if err := os.Mkdir(metricsDir, 0o755); err != nil {
		t.Fatal(err)
	}
	metrics := writeFile(t, filepath.Join(metricsDir, "metrics.json"), `{"rmse": 2.5, "r2": 0.7, "mape": 0.2}`)
	rules := writeFile(t, filepath.Join(dir, "rules.yml"), "rules:\n  - rmse < 3\n  - r2 >= 0.6\n  - rmse <= 0.98 * champion.rmse\n")

	t.Run("passes from a folder and a rules file", func(t *testing.T) {
		verdict := filepath.Join(dir, "out", "verdict.json")
		out, errOut := mustRun(t, "gate", "--metrics", metricsDir, "--rules", rules, "--output", verdict)
		if want := "gate passed: 2 passed, 0 failed, 1 skipped\n"; errOut != want {
			t.Errorf("stderr: got %q, want %q", errOut, want)
		}
		b, err := os.ReadFile(verdict)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != out {
			t.Errorf("verdict.json and stdout differ:\n%s\n%s", b, out)
		}
		var v struct {
			Passed bool
			Rules  []struct{ Outcome string }
		}
		if err := json.Unmarshal(b, &v); err != nil || !v.Passed || len(v.Rules) != 3 || v.Rules[2].Outcome != "skipped" {
			t.Errorf("got %+v (%v), want passed with the champion rule skipped", v, err)
		}
	})

	t.Run("fails from a file and a list", func(t *testing.T) {
		out, _, err := runBuiltin(t, "gate", "--metrics", metrics, "--rule-list", "rmse < 3; mape < 0.15")
		if want := "gate failed: 1 passed, 1 failed, 0 skipped; failed: mape < 0.15 (mape = 0.2, threshold 0.15)"; hangar.ErrorMessage(err) != want {
			t.Errorf("got %v, want %q", err, want)
		}
		if !strings.Contains(out, `"verdict": "failed"`) {
			t.Errorf("stdout %q lacks the verdict", out)
		}
	})

	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"no rules":          {[]string{"--metrics", metrics}, "gate needs --rules FILE or --rule-list RULES"},
		"both rules":        {[]string{"--metrics", metrics, "--rules", rules, "--rule-list", "r2 > 0"}, "not both"},
		"no metrics":        {[]string{"--rule-list", "r2 > 0"}, "--metrics is required"},
		"missing metrics":   {[]string{"--metrics", filepath.Join(dir, "none.json"), "--rule-list", "r2 > 0"}, "--metrics: open "},
		"folder without":    {[]string{"--metrics", dir, "--rule-list", "r2 > 0"}, "metrics.json: no such file"},
		"not an object":     {[]string{"--metrics", writeFile(t, filepath.Join(dir, "list.json"), `[1]`), "--rule-list", "r2 > 0"}, "want a JSON object of metric names to numbers"},
		"bad rule":          {[]string{"--metrics", metrics, "--rule-list", "r2 > 0; r2 >> 1"}, `--rule-list: rule 2: rule "r2 >> 1": unexpected ">" at column 5`},
		"bad rules file":    {[]string{"--metrics", metrics, "--rules", writeFile(t, filepath.Join(dir, "bad.yml"), "rule: [a]\n")}, "field rule not found"},
		"unknown metric":    {[]string{"--metrics", metrics, "--rule-list", "auc > 0.5"}, `names metric "auc", which the candidate lacks (its metrics: mape, r2, rmse)`},
		"empty alias":       {[]string{"--metrics", metrics, "--rule-list", "r2 > 0", "--model-name", "m", "--champion-alias", ""}, "--champion-alias is empty"},
		"model without uri": {[]string{"--metrics", metrics, "--rule-list", "r2 > 0", "--model-name", "m"}, "--model-name needs the MLflow registry: MLFLOW_TRACKING_URI is not set"},
	} {
		t.Run(name, func(t *testing.T) {
			_, _, err := runBuiltin(t, append([]string{"gate"}, tc.args...)...)
			if err == nil || !strings.Contains(hangar.ErrorMessage(err), tc.want) {
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
			if hangar.ErrorCode(err) == hangar.EINTERNAL {
				t.Errorf("got code %s, want a domain code", hangar.ErrorCode(err))
			}
		})
	}
}
