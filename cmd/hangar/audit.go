package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/hangar-ml/hangar"
)

func newAuditCmd(cli *clientConfig) *cobra.Command {
	cmd := newGroup("audit", "Read and verify the hash-chained audit log")

	var since, target string
	var lf listFlags
	list := &cobra.Command{
		Use:   "list",
		Short: "List audit events, oldest first (server-wide, or one workspace's with -w)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f := hangar.EventFilter{Target: target, Workspace: cli.workspace}
			if since != "" {
				t, err := parseSince(since, time.Now())
				if err != nil {
					return err
				}
				f.Since = t
			}
			c, err := cli.client()
			if err != nil {
				return err
			}
			items, err := collect(cmd.Context(), lf.maxResults, func(ctx context.Context, opt hangar.ListOptions) (*hangar.Page[*hangar.Event], error) {
				return c.ListEvents(ctx, f, opt)
			})
			if err != nil {
				return err
			}
			return cli.printResult(cmd.OutOrStdout(), items, "seq", "time", "actor", "action", "target", "workspace", "request_id")
		},
	}
	list.Flags().StringVar(&since, "since", "", "only events at or after this time: RFC 3339, or an age such as 1h or 7d")
	list.Flags().StringVar(&target, "target", "", "only events on this target (exact, or a prefix ending in '/', e.g. secrets/)")
	lf.bind(list)

	verify := &cobra.Command{
		Use:   "verify",
		Short: "Check the whole hash chain; exits 1 and names the first broken link when any event was altered or deleted",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := cli.client()
			if err != nil {
				return err
			}
			v, err := c.VerifyAudit(cmd.Context())
			if err != nil {
				return err
			}
			if err := cli.printResult(cmd.OutOrStdout(), v, "ok", "events", "broken_seq", "reason"); err != nil {
				return err
			}
			if !v.OK {
				return fmt.Errorf("audit chain broken at event %d: %s", v.BrokenSeq, v.Reason)
			}
			return nil
		},
	}
	cmd.AddCommand(list, verify)
	return cmd
}

// parseSince accepts an RFC 3339 time or an age ("90m", "12h", "7d") before now.
func parseSince(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	t, err := parseExpiry(s, now)
	if err != nil {
		return time.Time{}, fmt.Errorf("since %q: want an RFC 3339 time or an age such as 1h or 7d", s)
	}
	return now.Add(-t.Sub(now)), nil
}
