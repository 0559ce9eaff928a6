package main

import (
	"github.com/spf13/cobra"
)

func newIdentityCmd(cli *clientConfig) *cobra.Command {
	cmd := newGroup("identity", "List identities: users and service principals")
	var lf listFlags
	list := &cobra.Command{
		Use:   "list",
		Short: "List identities (server-wide)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := cli.client()
			if err != nil {
				return err
			}
			items, err := collect(cmd.Context(), lf.maxResults, c.ListIdentities)
			if err != nil {
				return err
			}
			return cli.printResult(cmd.OutOrStdout(), items, "name", "kind", "id", "created_at")
		},
	}
	lf.bind(list)
	cmd.AddCommand(list)
	return cmd
}
