package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/httpapi"
)

func newAuditCmd(cli *clientConfig) *cobra.Command {
	cmd := newGroup("audit", "Read and verify the hash-chained audit log, and checkpoint its head")

	var since string
	var f hangar.EventFilter
	list := newListCmd(cli, "list", "List audit events, oldest first (server-wide, or one workspace's with -w)",
		[]string{"seq", "time", "actor", "action", "target", "workspace", "request_id", "detail"},
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

	var cpFile string
	verify := &cobra.Command{
		Use:   "verify",
		Short: "Check the whole hash chain; exits 1 and names the first broken link when any event was altered or deleted",
		Long: `Check the whole hash chain; exits 1 and names the first broken link when any event was altered or deleted.

With --checkpoint FILE (saved by audit checkpoint) it also proves that the chain still
holds the checkpoint's event with the checkpoint's hash and did not shrink below it:
deleting the newest events and moving the chain head back is caught only this way.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := cli.client()
			if err != nil {
				return err
			}
			var v *hangar.AuditVerification
			if cpFile == "" {
				v, err = c.VerifyAudit(cmd.Context())
			} else {
				v, err = verifyAgainst(cmd.Context(), c, cpFile)
			}
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
	verify.Flags().StringVar(&cpFile, "checkpoint", "", "also check the chain against this checkpoint file (from audit checkpoint)")

	var saveTo string
	checkpoint := &cobra.Command{
		Use:   "checkpoint",
		Short: "Print a signed checkpoint of the audit chain head (and save it with -f) to keep outside the server",
		Long: `Print a signed checkpoint of the audit chain head: its seq and hash, the time, and a MAC
under the server's audit key. Keep it outside the server (-f writes it to a file):
audit verify --checkpoint FILE then proves that no event up to it was deleted or rewritten.
The server also logs one at start and at shutdown ("audit checkpoint").`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := cli.client()
			if err != nil {
				return err
			}
			cp, err := saveCheckpoint(cmd.Context(), c, saveTo)
			if err != nil {
				return err
			}
			return cli.printResult(cmd.OutOrStdout(), cp, "seq", "hash", "time", "mac")
		},
	}
	checkpoint.Flags().StringVarP(&saveTo, "file", "f", "", "also write the checkpoint to this file, as JSON")
	cmd.AddCommand(list, verify, checkpoint)
	return cmd
}

// saveCheckpoint asks c for a checkpoint and, when file is not "", writes it
// there as JSON.
func saveCheckpoint(ctx context.Context, c hangar.AuditCheckpointService, file string) (*hangar.AuditCheckpoint, error) {
	cp, err := c.Checkpoint(ctx)
	if err != nil {
		return nil, err
	}
	if file == "" {
		return cp, nil
	}
	data, err := json.MarshalIndent(cp, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode checkpoint: %w", err)
	}
	if err := writeFileAtomic(file, append(data, '\n'), 0o644); err != nil {
		return nil, fmt.Errorf("write checkpoint: %w", err)
	}
	return cp, nil
}

// verifyAgainst has c verify the chain against the checkpoint in file.
func verifyAgainst(ctx context.Context, c hangar.AuditCheckpointService, file string) (*hangar.AuditVerification, error) {
	cp, err := readCheckpoint(file)
	if err != nil {
		return nil, err
	}
	return c.VerifyAuditCheckpoint(ctx, cp)
}

// maxCheckpointFile bounds what readCheckpoint reads; a checkpoint is ~250 bytes.
const maxCheckpointFile = 4096

// readCheckpoint reads a checkpoint file written by audit checkpoint (or cut
// from the server's "audit checkpoint" log line).
func readCheckpoint(file string) (*hangar.AuditCheckpoint, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("read checkpoint: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxCheckpointFile+1))
	if err != nil {
		return nil, fmt.Errorf("read checkpoint: %w", err)
	}
	cp, err := parseCheckpoint(data)
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", file, err)
	}
	return cp, nil
}

// parseCheckpoint decodes one checkpoint: a JSON object with exactly the
// fields seq, hash, time and mac, well formed (AuditCheckpoint.Validate).
// Errors: EINVALID.
func parseCheckpoint(data []byte) (*hangar.AuditCheckpoint, error) {
	if len(data) > maxCheckpointFile {
		return nil, hangar.Errorf(hangar.EINVALID, "over %d bytes: not a checkpoint", maxCheckpointFile)
	}
	// Exactly these keys, spelled so: encoding/json would also take "SEQ".
	fields := []string{"seq", "hash", "time", "mac"}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, hangar.Errorf(hangar.EINVALID, "not a JSON checkpoint object: %v", err)
	}
	for k := range raw {
		if !slices.Contains(fields, k) {
			return nil, hangar.Errorf(hangar.EINVALID, "unknown field %q", truncateRunes(k, 32))
		}
	}
	for _, k := range fields {
		if _, ok := raw[k]; !ok {
			return nil, hangar.Errorf(hangar.EINVALID, "no %q field", k)
		}
	}
	var cp hangar.AuditCheckpoint
	if err := json.Unmarshal(data, &cp); err != nil {
		return nil, hangar.Errorf(hangar.EINVALID, "not a checkpoint: %v", err)
	}
	if err := cp.Validate(); err != nil {
		return nil, err
	}
	return &cp, nil
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

// truncateRunes shortens s to at most n runes for a message.
func truncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
