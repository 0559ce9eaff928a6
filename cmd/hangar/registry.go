package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/httpapi"
)

// newRegistryCmd is `hangar registry`: registries are workspaces of kind
// registry, which hold models, components and environments shared by
// several workspaces (model share --registry-name) and run nothing.
func newRegistryCmd(cli *clientConfig) *cobra.Command {
	cmd := newGroup("registry", "Manage registries: workspaces that hold models, components and environments shared across workspaces")
	cmd.Long = `Manage registries, as Azure ML's: a registry holds models, components,
environments and data shared by several workspaces. Versions get there with
'hangar model share --registry-name R' (and component/environment share), and
go from there to another workspace the same way (--to-workspace W), so that
dev → test → prod is a promotion of the same bytes.

A registry is a workspace of kind registry: roles are granted on it as on a
workspace ('hangar role assign --workspace R'), its assets are read with -w R
('hangar model list -w R'), and it refuses jobs, compute and endpoints.`
	cols := []string{"name", "kind", "description", "created_at"}

	var description string
	var tags []string
	create := &cobra.Command{
		Use:     "create NAME",
		Short:   "Create a registry (takes registries/write server-wide)",
		Example: "  hangar registry create shared -d 'models promoted to test and prod'",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cli.client()
			if err != nil {
				return err
			}
			w := &hangar.Workspace{Name: args[0], Description: description}
			if len(tags) > 0 {
				if w.Tags, err = parseTags(tags, nil); err != nil {
					return err
				}
			}
			if err := c.CreateRegistry(cmd.Context(), w); err != nil {
				return err
			}
			return cli.printResult(cmd.OutOrStdout(), w, cols...)
		},
	}
	create.Flags().StringVarP(&description, "description", "d", "", "description")
	create.Flags().StringArrayVar(&tags, "tags", nil, "tags as key=value (repeatable)")

	list := newListCmd(cli, "list", "List the registries the caller may read", cols, func(ctx context.Context, c *httpapi.Client, opt hangar.ListOptions) (*hangar.Page[*hangar.Workspace], error) {
		return c.ListRegistries(ctx, opt)
	})

	show := &cobra.Command{
		Use:   "show NAME",
		Short: "Show a registry",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cli.client()
			if err != nil {
				return err
			}
			w, err := c.Registry(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return cli.printResult(cmd.OutOrStdout(), w, cols...)
		},
	}
	cmd.AddCommand(create, list, show)
	return cmd
}
