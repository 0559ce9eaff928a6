package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/gate"
)

// maxGateFile bounds what `builtin gate` reads of metrics.json and of a
// rules file: both are small, and a step input could be anything.
const maxGateFile = 1 << 20

func newGateCmd(getenv env) *cobra.Command {
	var metricsPath, rulesPath, ruleList, modelName, alias, output string
	cmd := &cobra.Command{
		Use:   "gate",
		Short: "Check a model's metrics against gate rules; fail when one fails",
		Long: `Check a candidate model's metrics (metrics.json, as 'hangar builtin evaluate'
writes it, or a folder holding it) against rules given as a YAML file (--rules,
a list under rules:) or as one string of rules separated by semicolons
(--rule-list). A rule is <metric> <op> <expression>, e.g. "mape < 0.15" or
"rmse <= 0.98 * champion.rmse".

With --model-name, champion.<metric> is the metric of the run of the version
that --champion-alias points at in the MLflow registry of MLFLOW_TRACKING_URI
(with MLFLOW_TRACKING_TOKEN and MLFLOW_WORKSPACE). Without a champion (no
--model-name, or no such alias yet) the rules naming champion. are skipped and
the others decide. The verdict is printed as JSON and written to --output;
the command exits 1 when a rule fails.`,
		Example: "  hangar builtin gate --metrics out/metrics.json --rule-list 'mape < 0.15; r2 >= 0.8'\n" +
			"  hangar builtin gate --metrics out/metrics --rules rules.yml --model-name chicago --output out/verdict.json",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rules, err := gateRules(rulesPath, ruleList)
			if err != nil {
				return err
			}
			candidate, err := readMetricsJSON(metricsPath)
			if err != nil {
				return err
			}
			var champion gate.Metrics
			var championName string
			if modelName != "" {
				if alias == "" {
					return invalidf("--champion-alias is empty: want the alias of the champion, e.g. champion")
				}
				c, err := trackingEnv(getenv).Client()
				if err != nil {
					return cliError(err, "--model-name needs the MLflow registry")
				}
				v, m, err := gate.Champion(cmd.Context(), c, modelName, alias)
				if err != nil {
					return cliError(registryError(err), "champion of %s", modelName)
				}
				if v != nil {
					champion, championName = m, v.Name+":"+v.Version
				}
			}
			verdict, err := gate.Evaluate(rules, candidate, champion)
			if err != nil {
				return cliError(err, "")
			}
			verdict.Champion = championName
			b, _ := json.MarshalIndent(verdict, "", "  ") // gate.Number renders NaN: cannot fail
			b = append(b, '\n')
			if output != "" {
				if err := os.MkdirAll(filepath.Dir(output), 0o755); err != nil {
					return cliError(err, "--output")
				}
				if err := os.WriteFile(output, b, 0o644); err != nil {
					return cliError(err, "--output")
				}
			}
			if _, err := cmd.OutOrStdout().Write(b); err != nil {
				return err
			}
			if !verdict.Passed {
				return hangar.Errorf(hangar.EINVALID, "%s", verdict.Summary())
			}
			fmt.Fprintln(cmd.ErrOrStderr(), verdict.Summary())
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&metricsPath, "metrics", "", "metrics.json, or a folder holding it")
	fl.StringVar(&rulesPath, "rules", "", "YAML rules file (a list under rules:)")
	fl.StringVar(&ruleList, "rule-list", "", `rules separated by semicolons, e.g. "rmse <= 0.98 * champion.rmse; mape < 0.15"`)
	fl.StringVar(&modelName, "model-name", "", "registered model whose champion to compare with (over MLFLOW_TRACKING_URI)")
	fl.StringVar(&alias, "champion-alias", "champion", "alias of the champion version of --model-name")
	fl.StringVar(&output, "output", "", "also write the verdict to this JSON file")
	return cmd
}

// gateRules reads the rules of --rules or --rule-list (exactly one).
func gateRules(path, list string) ([]*gate.Rule, error) {
	switch {
	case path != "" && list != "":
		return nil, invalidf("give --rules FILE or --rule-list RULES, not both")
	case path == "" && list == "":
		return nil, invalidf("gate needs --rules FILE or --rule-list RULES")
	case list != "":
		rules, err := gate.ParseList(list)
		return rules, cliError(err, "--rule-list")
	}
	b, err := readSmall(path)
	if err != nil {
		return nil, cliError(err, "--rules")
	}
	rules, err := gate.Parse(b)
	return rules, cliError(err, "--rules %s", path)
}

// readMetricsJSON reads --metrics: a JSON object of metric names to
// numbers, or a folder holding metrics.json.
func readMetricsJSON(path string) (gate.Metrics, error) {
	if path == "" {
		return nil, invalidf("--metrics is required")
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		path = filepath.Join(path, "metrics.json")
	}
	b, err := readSmall(path)
	if err != nil {
		return nil, cliError(err, "--metrics")
	}
	var raw map[string]gate.Number
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, invalidf("--metrics %s: want a JSON object of metric names to numbers: %v", path, err)
	}
	m := make(gate.Metrics, len(raw))
	for k, v := range raw {
		m[k] = float64(v)
	}
	return m, nil
}

// readSmall reads a file of at most maxGateFile bytes.
func readSmall(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxGateFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxGateFile {
		return nil, invalidf("%s is over %d bytes", path, maxGateFile)
	}
	return b, nil
}
