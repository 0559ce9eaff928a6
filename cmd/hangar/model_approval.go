package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/httpapi"
)

// The approval verbs of `hangar model` (issue 10, item 4): protected
// aliases and approval requests, over the native API (httpapi/approval.go).

var approvalColumns = []string{"id", "name", "version", "alias", "status", "requester", "expires_at", "decided_by"}

// modelApprovalCmds returns protect-alias, unprotect-alias,
// protected-aliases, request-approval, approvals, approve and reject.
func modelApprovalCmds(cli *clientConfig) []*cobra.Command {
	return []*cobra.Command{
		newProtectAliasCmd(cli, true), newProtectAliasCmd(cli, false),
		newListCmd(cli, "protected-aliases", "List the workspace's protected aliases", []string{"alias", "created_by", "created_at"},
			func(ctx context.Context, c *httpapi.Client, opt hangar.ListOptions) (*hangar.Page[*hangar.ProtectedAlias], error) {
				return c.ListProtectedAliases(ctx, cli.Workspace, opt)
			}),
		newRequestApprovalCmd(cli), newApprovalsCmd(cli),
		newDecideCmd(cli, true), newDecideCmd(cli, false),
	}
}

func newProtectAliasCmd(cli *clientConfig, protect bool) *cobra.Command {
	var alias string
	cmd := &cobra.Command{
		Use:     "protect-alias --alias ALIAS",
		Short:   "Protect an alias: on every model of the workspace it then moves only by an approved request (Owner)",
		Example: "  hangar model protect-alias --alias production",
		Args:    cobra.NoArgs,
	}
	if !protect {
		cmd.Use, cmd.Short = "unprotect-alias --alias ALIAS", "Lift an alias's protection (Owner)"
		cmd.Example = "  hangar model unprotect-alias --alias production"
	}
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		c, err := cli.client()
		if err != nil {
			return err
		}
		if !protect {
			if err := c.UnprotectAlias(cmd.Context(), cli.Workspace, alias); err != nil {
				return err
			}
			_, err := fmt.Fprintf(cmd.ErrOrStderr(), "alias %s is no longer protected in workspace %s\n", alias, cli.Workspace)
			return err
		}
		p, err := c.ProtectAlias(cmd.Context(), cli.Workspace, alias)
		if err != nil {
			return err
		}
		return cli.printResult(cmd.OutOrStdout(), p, "alias", "created_by", "created_at")
	}
	cmd.Flags().StringVar(&alias, "alias", "", "alias name (required)")
	cmd.MarkFlagRequired("alias")
	return cmd
}

func newRequestApprovalCmd(cli *clientConfig) *cobra.Command {
	var n hangar.NewApprovalRequest
	cmd := &cobra.Command{
		Use:   "request-approval -n NAME -v VERSION --alias ALIAS",
		Short: "Ask for a protected alias to point at a version; an Approver other than you decides",
		Example: "  hangar model request-approval -n churn -v 3 --alias production --comment \"beats champion on rmse\"\n" +
			"  hangar model request-approval -n churn -v 3 --alias production --expires 24h",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := cli.client()
			if err != nil {
				return err
			}
			n.Workspace = cli.Workspace
			r, err := c.RequestApproval(cmd.Context(), n)
			if err != nil {
				return err
			}
			return cli.printResult(cmd.OutOrStdout(), r, approvalColumns...)
		},
	}
	cmd.Flags().StringVarP(&n.Name, "name", "n", "", "registered model (required)")
	cmd.Flags().StringVarP(&n.Version, "version", "v", "", "version the alias is to point at (required)")
	cmd.Flags().StringVar(&n.Alias, "alias", "", "protected alias (required)")
	cmd.Flags().StringVar(&n.Comment, "comment", "", "why, for the approver")
	cmd.Flags().DurationVar(&n.ExpiresIn, "expires", hangar.DefaultApprovalExpiry, "how long the request may wait for a decision (at most 720h)")
	for _, f := range []string{"name", "version", "alias"} {
		cmd.MarkFlagRequired(f)
	}
	return cmd
}

func newApprovalsCmd(cli *clientConfig) *cobra.Command {
	var (
		f          hangar.ApprovalFilter
		maxResults int
	)
	cmd := &cobra.Command{
		Use:     "approvals",
		Short:   "List approval requests, newest first",
		Example: "  hangar model approvals --status pending\n  hangar model approvals -n churn -o table",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.Validate(); err != nil {
				return err
			}
			c, err := cli.client()
			if err != nil {
				return err
			}
			items, err := collect(cmd.Context(), maxResults, func(ctx context.Context, opt hangar.ListOptions) (*hangar.Page[*hangar.ApprovalRequest], error) {
				return c.ListApprovalRequests(ctx, cli.Workspace, f, opt)
			})
			if err != nil {
				return err
			}
			return cli.printResult(cmd.OutOrStdout(), items, approvalColumns...)
		},
	}
	cmd.Flags().StringVarP(&f.Name, "name", "n", "", "only requests for this registered model")
	cmd.Flags().StringVar(&f.Status, "status", "", "only requests in this status: pending, approved, rejected or expired")
	cmd.Flags().IntVarP(&maxResults, "max-results", "r", 0, "return at most this many requests (default all)")
	return cmd
}

func newDecideCmd(cli *clientConfig, approve bool) *cobra.Command {
	var id, comment string
	cmd := &cobra.Command{
		Use:     "approve --id ID --comment C",
		Short:   "Approve a request: its alias moves to its version (Approver or Owner, not the requester)",
		Example: "  hangar model approve --id 3f2a… --comment \"gate passed, reviewed the error analysis\"",
		Args:    cobra.NoArgs,
	}
	if !approve {
		cmd.Use, cmd.Short = "reject --id ID --comment C", "Reject a request (Approver or Owner, not the requester)"
		cmd.Example = "  hangar model reject --id 3f2a… --comment \"recall dropped on segment B\""
	}
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		c, err := cli.client()
		if err != nil {
			return err
		}
		r, err := c.DecideApproval(cmd.Context(), cli.Workspace, id, approve, comment)
		if err != nil {
			return err
		}
		return cli.printResult(cmd.OutOrStdout(), r, append(approvalColumns, "decision_comment")...)
	}
	cmd.Flags().StringVar(&id, "id", "", "approval request id (required)")
	cmd.Flags().StringVar(&comment, "comment", "", "why (required)")
	cmd.MarkFlagRequired("id")
	cmd.MarkFlagRequired("comment")
	return cmd
}
