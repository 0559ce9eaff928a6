package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/hangar-ml/hangar"
)

// AuditService reads the audit log. It implements hangar.AuditService.
// Events are written by the other services, in the transactions of the
// changes they record; RecordEvent appends the events of changes made
// outside this database.
type AuditService struct {
	db *DB
}

// NewAuditService returns the audit service of db.
func NewAuditService(db *DB) *AuditService { return &AuditService{db: db} }

// Bounds of what RecordEvent accepts.
const (
	maxEventAction = 128
	maxEventTarget = 1024
)

// RecordEvent appends an audit event for a change that happened outside the
// metadata database, such as an upload to the blob store, through the same
// chained append as every store write: the actor and request id come from
// ctx, the time from the DB's clock. action is an action string
// ("artifacts/write"), target what changed ("blobs/sha256:…"), workspace
// the scope ("" for server-wide). Errors: EINVALID.
func (s *AuditService) RecordEvent(ctx context.Context, action, target, workspace string) error {
	if action == "" || !strings.Contains(action, "/") {
		return hangar.Errorf(hangar.EINVALID, "invalid audit action %q: want <resource>/<verb>", truncate(action, 64))
	}
	if target == "" {
		return hangar.Errorf(hangar.EINVALID, "audit target is empty")
	}
	if err := hangar.ValidateText("audit action", action, maxEventAction); err != nil {
		return err
	}
	if err := hangar.ValidateText("audit target", target, maxEventTarget); err != nil {
		return err
	}
	if workspace != "" {
		if err := hangar.ValidateWorkspaceName(workspace); err != nil {
			return err
		}
	}
	err := s.db.write(ctx, func(tx *wtx) error {
		return tx.audit(ctx, action, target, workspace)
	})
	if err != nil {
		return fmt.Errorf("record audit event %s %s: %w", action, target, err)
	}
	return nil
}

const eventColumns = `seq, time, actor, actor_id, action, target, workspace, request_id, prev_hash, hash`

func scanEvent(sc rowScanner) (*hangar.Event, error) {
	var (
		e  hangar.Event
		at dbTime
	)
	if err := sc.Scan(&e.Seq, &at, &e.Actor, &e.ActorID, &e.Action, &e.Target, &e.Workspace, &e.RequestID, &e.PrevHash, &e.Hash); err != nil {
		return nil, err
	}
	e.Time = at.T
	return &e, nil
}

// ListEvents lists events in sequence order, oldest first. f.Target is an
// exact target, or a prefix when it ends in "/". Errors: EINVALID (options,
// filters with a NUL or invalid UTF-8).
func (s *AuditService) ListEvents(ctx context.Context, f hangar.EventFilter, opt hangar.ListOptions) (*hangar.Page[*hangar.Event], error) {
	spec := listSpec[*hangar.Event]{
		name:  "audit events",
		text:  []string{"target filter", f.Target, "workspace filter", f.Workspace},
		query: `SELECT ` + eventColumns + ` FROM audit_events`,
		keys:  []sortKey{{"seq", keyInt}},
		scan:  scanEvent,
		key:   func(e *hangar.Event) []any { return []any{e.Seq} },
	}
	if !f.Since.IsZero() {
		spec.filter(`time >= ?`, s.db.tv(f.Since))
	}
	switch {
	case f.Target == "":
	case strings.HasSuffix(f.Target, "/"):
		// substr rather than LIKE: targets may contain '_' and '%'.
		spec.filter(`substr(target, 1, ?) = ?`, len([]rune(f.Target)), f.Target)
	default:
		spec.filter(`target = ?`, f.Target)
	}
	if f.Workspace != "" {
		spec.filter(`workspace = ?`, f.Workspace)
	}
	page, err := listPage(ctx, s.db, s.db.reader, spec, opt)
	if err != nil {
		return nil, fmt.Errorf("list audit events: %w", err)
	}
	return page, nil
}

// VerifyAudit walks the whole chain in one consistent snapshot, oldest event
// first, recomputing every hash and link, and compares its end with the
// chain head. It reports the first broken sequence number: an altered event
// (its hash no longer matches its fields), the event after a deleted or
// altered one (its prev_hash or seq does not follow), or, when the newest
// events were deleted, the first missing one. Events counts every stored
// event.
func (s *AuditService) VerifyAudit(ctx context.Context) (*hangar.AuditVerification, error) {
	var v *hangar.AuditVerification
	err := s.db.readTx(ctx, func(tx *sql.Tx) error {
		var err error
		v, err = verifyChain(ctx, tx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("verify audit log: %w", err)
	}
	return v, nil
}

func verifyChain(ctx context.Context, tx *sql.Tx) (*hangar.AuditVerification, error) {
	var (
		headSeq  int64
		headHash string
	)
	if err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&headSeq, &headHash); err != nil {
		return nil, fmt.Errorf("read chain head: %w", err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+eventColumns+` FROM audit_events ORDER BY seq`)
	if err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	v := &hangar.AuditVerification{}
	broken := func(seq int64, format string, args ...any) {
		if v.BrokenSeq == 0 {
			v.BrokenSeq, v.Reason = seq, fmt.Sprintf(format, args...)
		}
	}
	var (
		lastSeq  int64
		lastHash = hangar.GenesisHash
	)
	for rows.Next() {
		if err := ctx.Err(); err != nil {
			return nil, closeRows(rows, err)
		}
		e, err := scanEvent(rows)
		if err != nil {
			return nil, closeRows(rows, err)
		}
		v.Events++
		if v.BrokenSeq != 0 {
			continue // count the rest; the first break is the one that matters
		}
		switch {
		case e.Seq != lastSeq+1:
			broken(e.Seq, "event %d follows event %d: %s missing", e.Seq, lastSeq, missing(lastSeq+1, e.Seq-1))
		case e.PrevHash != lastHash:
			broken(e.Seq, "event %d does not link to event %d: its prev_hash differs from that event's hash", e.Seq, lastSeq)
		case e.ComputeHash() != e.Hash:
			broken(e.Seq, "event %d was altered: its hash does not match its contents", e.Seq)
		}
		lastSeq, lastHash = e.Seq, e.Hash
	}
	if err := closeRows(rows, nil); err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	if v.BrokenSeq == 0 {
		switch {
		case headSeq > lastSeq:
			broken(lastSeq+1, "the chain head records %d events but the log ends at event %d: %s deleted from the end", headSeq, lastSeq, missing(lastSeq+1, headSeq))
		case headSeq < lastSeq:
			broken(headSeq+1, "event %d is beyond the chain head (event %d): events were appended outside the store", headSeq+1, headSeq)
		case headHash != lastHash:
			broken(max(lastSeq, 1), "the chain head's hash does not match event %d", lastSeq)
		}
	}
	v.OK = v.BrokenSeq == 0
	return v, nil
}

func missing(from, to int64) string {
	if from == to {
		return fmt.Sprintf("event %d is", from)
	}
	return fmt.Sprintf("events %d to %d are", from, to)
}
