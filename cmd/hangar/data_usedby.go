package main

import (
	"github.com/spf13/cobra"

	"github.com/hangar-ml/hangar"
)

// newDataUsedByCmd is `hangar data used-by`: the model versions whose
// lineage reads a data asset version.
func newDataUsedByCmd(cli *clientConfig) *cobra.Command {
	var name, version string
	cmd := &cobra.Command{
		Use:     "used-by -n NAME -v VERSION",
		Short:   "List the model versions trained (through jobs) on a data asset version",
		Long:    "List the model versions whose lineage (hangar model show --lineage) reads this data asset version:\nthe models a change to the data would concern.",
		Example: "  hangar data used-by -n chicago -v 1 -o table",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if name == "" || version == "" {
				return invalidf("data used-by needs --name/-n and --version/-v")
			}
			c, err := cli.client()
			if err != nil {
				return err
			}
			vs, err := c.DataModels(cmd.Context(), cli.Workspace, name, version)
			if err != nil {
				return err
			}
			for _, v := range vs {
				v.Workspace = cli.Workspace
			}
			if vs == nil {
				vs = []*hangar.ModelVersion{}
			}
			return cli.printResult(cmd.OutOrStdout(), vs, "name", "version", "current_stage", "run_id", "source")
		},
	}
	cmd.Flags().StringVarP(&name, "name", "n", "", "data asset name")
	cmd.Flags().StringVarP(&version, "version", "v", "", "data asset version")
	return cmd
}
