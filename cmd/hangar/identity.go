package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/httpapi"
)

func newIdentityCmd(cli *clientConfig) *cobra.Command {
	cmd := newGroup("identity", "List identities: users and service principals")
	list := newListCmd(cli, "list", "List identities (server-wide)", []string{"name", "kind", "id", "created_at"},
		func(ctx context.Context, c *httpapi.Client, opt hangar.ListOptions) (*hangar.Page[*hangar.Identity], error) {
			return c.ListIdentities(ctx, opt)
		})
	cmd.AddCommand(list)
	return cmd
}
