package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/httpapi"
)

func newRoleCmd(cli *clientConfig) *cobra.Command {
	cmd := newGroup("role", "Assign roles to identities, per workspace or server-wide")
	cols := []string{"id", "identity_name", "role", "workspace", "created_at"}

	var a hangar.RoleAssignment
	assign := &cobra.Command{
		Use:   "assign",
		Short: "Assign a role to an identity on a workspace (or every workspace when --workspace is not given)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if a.IdentityName == "" || a.Role == "" {
				return fmt.Errorf("role assign needs --identity and --role")
			}
			c, err := cli.client()
			if err != nil {
				return err
			}
			if err := c.AssignRole(cmd.Context(), &a); err != nil {
				return err
			}
			return cli.printResult(cmd.OutOrStdout(), &a, cols...)
		},
	}
	assign.Flags().StringVar(&a.IdentityName, "identity", "", "identity name (user or service principal)")
	assign.Flags().StringVar(&a.Role, "role", "", "role name")
	assign.Flags().StringVar(&a.Workspace, "workspace", "", "workspace (default: every workspace)")

	var f hangar.RoleAssignmentFilter
	list := newListCmd(cli, "list", "List role assignments", cols,
		func(ctx context.Context, c *httpapi.Client, opt hangar.ListOptions) (*hangar.Page[*hangar.RoleAssignment], error) {
			return c.ListRoleAssignments(ctx, f, opt)
		})
	list.Flags().StringVar(&f.IdentityName, "identity", "", "only this identity's assignments")
	list.Flags().StringVar(&f.Workspace, "workspace", "", "only assignments on this workspace")

	var id string
	remove := &cobra.Command{
		Use:   "remove",
		Short: "Remove a role assignment",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if id == "" {
				return fmt.Errorf("role remove needs --id (from role list)")
			}
			c, err := cli.client()
			if err != nil {
				return err
			}
			return c.RemoveRoleAssignment(cmd.Context(), id)
		},
	}
	remove.Flags().StringVar(&id, "id", "", "assignment id")

	defs := &cobra.Command{
		Use:   "definitions",
		Short: "List the built-in roles and their actions",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := cli.client()
			if err != nil {
				return err
			}
			roles, err := c.ListRoles(cmd.Context())
			if err != nil {
				return err
			}
			return cli.printResult(cmd.OutOrStdout(), roles, "name", "description")
		},
	}
	cmd.AddCommand(assign, list, remove, defs)
	return cmd
}
