package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/httpapi"
)

func newTokenCmd(cli *clientConfig) *cobra.Command {
	cmd := newGroup("token", "Manage API tokens (service principals and their credentials)")
	cols := []string{"id", "name", "workspace", "prefix", "created_at", "expires_at", "revoked_at"}

	var req hangar.TokenRequest
	var expires string
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a token for a service principal with a role; the token is shown once",
		Long: `Create a token for the service principal --name (created when missing) and assign
it --role on --workspace, or on every workspace and the server itself when
--workspace is not given. The token is printed once and stored only as a hash.

The token is scoped to --workspace: it acts there only, with its identity's
roles on that workspace and its server-wide ones, whatever roles the identity
is given elsewhere later. Without --workspace it is a server-wide token, which
only a server-wide token writer (Owner) may create. For an existing identity
a token is a rotation: it must carry exactly --role on its scope.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if req.Name == "" || req.Role == "" {
				return fmt.Errorf("token create needs --name and --role")
			}
			if expires != "" {
				t, err := parseExpiry(expires, time.Now())
				if err != nil {
					return err
				}
				req.ExpiresAt = &t
			}
			c, err := cli.client()
			if err != nil {
				return err
			}
			tok, err := c.IssueToken(cmd.Context(), &req)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.ErrOrStderr(), "Store this token now: it is shown only once.")
			return cli.printResult(cmd.OutOrStdout(), tok, append([]string{"token"}, cols...)...)
		},
	}
	create.Flags().StringVarP(&req.Name, "name", "n", "", "service principal name")
	create.Flags().StringVar(&req.Role, "role", "", "role: Owner, Contributor, Reader, \"Data Scientist\", \"Compute Operator\" or Approver")
	create.Flags().StringVar(&req.Workspace, "workspace", "", "workspace the role applies to (default: every workspace)")
	create.Flags().StringVar(&expires, "expires", "", "lifetime (30d, 12h, 90m) or an RFC 3339 time (default: never)")

	var filter hangar.TokenFilter
	list := newListCmd(cli, "list", "List tokens (never their secrets), all or one workspace's", cols,
		func(ctx context.Context, c *httpapi.Client, opt hangar.ListOptions) (*hangar.Page[*hangar.Token], error) {
			return c.ListTokens(ctx, filter, opt)
		})
	list.Flags().StringVar(&filter.Workspace, "workspace", "", "only the tokens scoped to this workspace (enough for that workspace's Owner)")

	var showID string
	show := &cobra.Command{
		Use:   "show",
		Short: "Show a token (never its secret)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if showID == "" {
				return fmt.Errorf("token show needs --id")
			}
			c, err := cli.client()
			if err != nil {
				return err
			}
			tok, err := c.Token(cmd.Context(), showID)
			if err != nil {
				return err
			}
			return cli.printResult(cmd.OutOrStdout(), tok, cols...)
		},
	}
	show.Flags().StringVar(&showID, "id", "", "token id (from token list)")

	var id string
	revoke := &cobra.Command{
		Use:   "revoke",
		Short: "Revoke a token",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if id == "" {
				return fmt.Errorf("token revoke needs --id")
			}
			c, err := cli.client()
			if err != nil {
				return err
			}
			return c.RevokeToken(cmd.Context(), id)
		},
	}
	revoke.Flags().StringVar(&id, "id", "", "token id (from token list)")

	cmd.AddCommand(create, show, list, revoke)
	return cmd
}

// maxTokenDays bounds a token's lifetime at a century: longer is "never",
// which is what leaving out --expires says.
const maxTokenDays = 36500

// parseExpiry turns "30d", "12h", "1h30m" or an RFC 3339 time into an instant.
func parseExpiry(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n <= 0 || n > maxTokenDays {
			return time.Time{}, fmt.Errorf("expires %q: want a number of days from 1 to %d, such as 30d", s, maxTokenDays)
		}
		return now.AddDate(0, 0, n), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return time.Time{}, fmt.Errorf("expires %q: want 30d, 12h, 90m or an RFC 3339 time", s)
	}
	return now.Add(d), nil
}
