package main

import (
	"github.com/spf13/cobra"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/gate"
)

// newModelGateCmd is `hangar model gate`: the evaluation gate of one
// registered version against the champion, recorded on the version.
func newModelGateCmd(cli *clientConfig) *cobra.Command {
	var name, version, rulesPath, alias string
	cmd := &cobra.Command{
		Use:   "gate",
		Short: "Check a model version's metrics against gate rules and record the verdict on it",
		Long: `Check a registered model version against an evaluation gate: the rules of a
YAML file (--rules), e.g.

  rules:
    - rmse <= 0.98 * champion.rmse
    - mape < 0.15
    - r2 >= 0.8

A rule is <metric> <op> <expression>, op one of < <= > >= == !=; an expression
is a number, a metric, champion.<metric>, <number> * <expression> or
<expression> + <number>. Metrics are those of the run the version was made from
(the latest value of each); champion.<metric> is that of the run of the version
--champion-alias points at. When the alias points nowhere, the rules naming
champion. are skipped and the others decide.

The verdict is printed (each rule with the candidate's value, the champion's,
the threshold and the outcome) and recorded on the version as the tags
hangar.gate.verdict (passed or failed), hangar.gate.rules (JSON of each rule's
values) and hangar.gate.champion (name:version compared, or none); the server
audits the tag writes. The command exits 1 when the gate fails.`,
		Example: "  hangar model gate -n chicago -v 3 --rules rules.yml\n" +
			"  hangar model gate -n chicago -v 3 --rules rules.yml --champion-alias production -o table",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case name == "":
				return invalidf("model gate needs --name/-n")
			case version == "":
				return invalidf("model gate needs --version/-v")
			case rulesPath == "":
				return invalidf("model gate needs --rules FILE")
			case alias == "":
				return invalidf("--champion-alias is empty: want the alias of the champion, e.g. champion")
			}
			if err := hangar.ValidateModelAlias(alias); err != nil {
				return invalidf("--champion-alias %q: %s", alias, hangar.ErrorMessage(err))
			}
			rules, err := gateRules(rulesPath, "")
			if err != nil {
				return err
			}
			c, err := cli.mlflowClient()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			cand, metrics, err := gate.VersionMetrics(ctx, c, name, version)
			if err != nil {
				return err
			}
			champ, champMetrics, err := gate.Champion(ctx, c, name, alias)
			if err != nil {
				return err
			}
			verdict, err := gate.Evaluate(rules, metrics, champMetrics)
			if err != nil {
				return hangar.Errorf(hangar.EINVALID, "model %s:%s: %s", name, cand.Version, hangar.ErrorMessage(err))
			}
			verdict.Candidate = name + ":" + cand.Version
			if champ != nil {
				verdict.Champion = name + ":" + champ.Version
			}
			if err := gate.Record(ctx, c, name, cand.Version, verdict); err != nil {
				return err
			}
			if err := cli.printVerdict(cmd, verdict); err != nil {
				return err
			}
			if !verdict.Passed {
				return hangar.Errorf(hangar.EINVALID, "model %s: %s", verdict.Candidate, verdict.Summary())
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&name, "name", "n", "", "registered model")
	fl.StringVarP(&version, "version", "v", "", "the candidate version")
	fl.StringVar(&rulesPath, "rules", "", "YAML rules file (a list under rules:)")
	fl.StringVar(&alias, "champion-alias", "champion", "the alias of the champion to compare with")
	return cmd
}

// printVerdict prints a verdict: the whole of it as JSON or YAML, one row
// per rule as a table.
func (c *clientConfig) printVerdict(cmd *cobra.Command, v *gate.Verdict) error {
	if c.output == "table" || c.output == "tsv" {
		return c.printResult(cmd.OutOrStdout(), v.Rules, "rule", "candidate", "champion", "threshold", "outcome")
	}
	return c.printResult(cmd.OutOrStdout(), v)
}
