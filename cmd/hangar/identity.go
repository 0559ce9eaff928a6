package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/httpapi"
)

func newIdentityCmd(cli *clientConfig) *cobra.Command {
	cmd := newGroup("identity", "Create, show and list identities: users and service principals")
	cols := []string{"name", "kind", "id", "created_at"}

	var id hangar.Identity
	var kind string
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a user or service principal, without roles (server-wide Owner only)",
		Long: `Create the identity --name of --kind user or service_principal. It holds no
role: give it one with "hangar role assign", then a token with "hangar token
create" for the same role and scope. Creating identities takes identities/write
server-wide.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if id.Name == "" {
				return fmt.Errorf("identity create needs --name")
			}
			id.Kind = hangar.IdentityKind(kind)
			c, err := cli.client()
			if err != nil {
				return err
			}
			if err := c.CreateIdentity(cmd.Context(), &id); err != nil {
				return err
			}
			return cli.printResult(cmd.OutOrStdout(), &id, cols...)
		},
	}
	create.Flags().StringVarP(&id.Name, "name", "n", "", "identity name")
	create.Flags().StringVar(&kind, "kind", string(hangar.KindUser), "user or service_principal")

	var name string
	show := &cobra.Command{
		Use:   "show",
		Short: "Show an identity (one holding a role where you may read identities)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if name == "" {
				return fmt.Errorf("identity show needs --name")
			}
			c, err := cli.client()
			if err != nil {
				return err
			}
			got, err := c.IdentityByName(cmd.Context(), name)
			if err != nil {
				return err
			}
			return cli.printResult(cmd.OutOrStdout(), got, cols...)
		},
	}
	show.Flags().StringVarP(&name, "name", "n", "", "identity name")

	list := newListCmd(cli, "list", "List identities (server-wide)", cols,
		func(ctx context.Context, c *httpapi.Client, opt hangar.ListOptions) (*hangar.Page[*hangar.Identity], error) {
			return c.ListIdentities(ctx, opt)
		})
	cmd.AddCommand(create, show, list)
	return cmd
}
