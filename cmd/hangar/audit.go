package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/httpapi"
)

func newAuditCmd(cli *clientConfig) *cobra.Command {
	cmd := newGroup("audit", "Read and verify the hash-chained audit log")

	var since string
	var f hangar.EventFilter
	list := newListCmd(cli, "list", "List audit events, oldest first (server-wide, or one workspace's with -w)",
		[]string{"seq", "time", "actor", "action", "target", "workspace", "request_id"},
		func(ctx context.Context, c *httpapi.Client, opt hangar.ListOptions) (*hangar.Page[*hangar.Event], error) {
			return c.ListEvents(ctx, f, opt)
		})
	// An age is taken from now once, before the first page, so that every
	// page has the same filter.
	list.PreRunE = func(*cobra.Command, []string) error {
		f.Workspace = cli.workspace
		if since != "" {
			t, err := parseSince(since, time.Now())
			if err != nil {
				return err
			}
			f.Since = t
		}
		return nil
	}
	list.Flags().StringVar(&since, "since", "", "only events at or after this time: RFC 3339, or an age such as 1h or 7d")
	list.Flags().StringVar(&f.Target, "target", "", "only events on this target (exact, or a prefix ending in '/', e.g. secrets/)")

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
