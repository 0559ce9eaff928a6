package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/hangar-ml/hangar"
)

// AuditService reads the audit log. It implements hangar.AuditService.
// Events are written by the other services, in the transactions of the
// changes they record; RecordEvent appends the events of changes made
// outside this database.
type AuditService struct {
	db *DB
}

// The audit service also signs and checks checkpoints.
var _ hangar.AuditCheckpointService = (*AuditService)(nil)

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

// legacyEventColumns are the columns of audit_events before migration
// 00016 added detail: what re-keying (migration 00003) reads, which runs
// before detail exists.
const legacyEventColumns = `seq, time, actor, actor_id, action, target, workspace, request_id, prev_hash, hash`

const eventColumns = legacyEventColumns + `, detail`

func scanEvent(sc rowScanner) (*hangar.Event, error) {
	var (
		e  hangar.Event
		at dbTime
	)
	if err := sc.Scan(&e.Seq, &at, &e.Actor, &e.ActorID, &e.Action, &e.Target, &e.Workspace, &e.RequestID, &e.PrevHash, &e.Hash, &e.Detail); err != nil {
		return nil, err
	}
	e.Time = at.T
	return &e, nil
}

// scanLegacyEvent scans legacyEventColumns.
func scanLegacyEvent(sc rowScanner) (*hangar.Event, error) {
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
// exact target, or a prefix when it ends in "/". f.Workspace selects the
// events of the workspace that has the name now, from its creation on
// (workspaces.audit_seq), unless f.AllIncarnations. Errors: EINVALID
// (options, filters with a NUL or invalid UTF-8).
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
		if !f.AllIncarnations {
			// In the same statement as the rows, so a page never mixes two
			// incarnations; no workspace of the name, no events.
			spec.filter(`seq >= COALESCE((SELECT audit_seq FROM workspaces WHERE name = ?), ?)`, f.Workspace, int64(math.MaxInt64))
		}
	}
	page, err := listPage(ctx, s.db, s.db.reader, spec, opt)
	if err != nil {
		return nil, fmt.Errorf("list audit events: %w", err)
	}
	return page, nil
}

// VerifyAudit walks the whole chain in one consistent snapshot, oldest event
// first, recomputing every hash under the audit key and every link, and
// compares its end with the chain head. It reports the first broken
// sequence number: an altered event (its hash no longer matches its fields
// under the key — also when it was re-hashed without the key), the event
// after a deleted or altered one (its prev_hash or seq does not follow),
// or, when the newest events were deleted, the first missing one. Events
// counts every stored event. Deleting the newest events and moving the head
// back to the last one left is not detectable here: VerifyAuditCheckpoint
// with an earlier checkpoint detects it.
func (s *AuditService) VerifyAudit(ctx context.Context) (*hangar.AuditVerification, error) {
	return s.VerifyAuditCheckpoint(ctx, nil)
}

// VerifyAuditCheckpoint verifies the chain as VerifyAudit does and then,
// when cp is not nil, that the chain still holds event cp.Seq with hash
// cp.Hash and that its head is not behind cp.Seq. Errors: EINVALID (cp is
// malformed, or its MAC does not verify under the audit key).
func (s *AuditService) VerifyAuditCheckpoint(ctx context.Context, cp *hangar.AuditCheckpoint) (*hangar.AuditVerification, error) {
	if cp != nil {
		if err := cp.Validate(); err != nil {
			return nil, err
		}
		if !cp.ValidMAC(s.db.auditKey) {
			return nil, hangar.Errorf(hangar.EINVALID, "the checkpoint's MAC does not verify under this server's audit key (id %s): the checkpoint was altered, or another server issued it", s.db.auditKeyID)
		}
	}
	var v *hangar.AuditVerification
	err := s.db.readTx(ctx, func(tx *sql.Tx) error {
		var err error
		v, err = verifyChain(ctx, tx, cp, func(e *hangar.Event) string { return e.ComputeHash(s.db.auditKey) }, false)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("verify audit log: %w", err)
	}
	return v, nil
}

// Checkpoint returns the chain head signed with the audit key, at the
// store's time. It checks that the head matches the newest event and that
// event's hash, so it never signs a head the chain does not end at; it does
// not walk the chain (VerifyAudit does).
func (s *AuditService) Checkpoint(ctx context.Context) (*hangar.AuditCheckpoint, error) {
	cp := &hangar.AuditCheckpoint{}
	err := s.db.readTx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&cp.Seq, &cp.Hash); err != nil {
			return fmt.Errorf("read chain head: %w", err)
		}
		var newest int64
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM audit_events`).Scan(&newest); err != nil {
			return fmt.Errorf("read newest event: %w", err)
		}
		if newest != cp.Seq {
			return fmt.Errorf("the chain head records event %d but the newest event is %d: run audit verify", cp.Seq, newest)
		}
		if cp.Seq == 0 {
			return nil
		}
		e, err := scanEvent(tx.QueryRowContext(ctx, s.db.rebind(`SELECT `+eventColumns+` FROM audit_events WHERE seq = ?`), cp.Seq))
		if err != nil {
			return fmt.Errorf("read event %d: %w", cp.Seq, err)
		}
		if e.Hash != cp.Hash || e.ComputeHash(s.db.auditKey) != e.Hash {
			return fmt.Errorf("the chain head does not match event %d: run audit verify", cp.Seq)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("audit checkpoint: %w", err)
	}
	cp.Time = s.db.now()
	cp.MAC = cp.ComputeMAC(s.db.auditKey)
	return cp, nil
}

// verifyChain walks the chain in q, recomputing hashes with hash, and then
// checks it against cp when cp is not nil (its MAC already verified).
// legacy reads the columns audit_events had before details
// (legacyEventColumns), for re-keying, which runs before they exist.
func verifyChain(ctx context.Context, q querier, cp *hangar.AuditCheckpoint, hash func(*hangar.Event) string, legacy bool) (*hangar.AuditVerification, error) {
	cols, scan := eventColumns, scanEvent
	if legacy {
		cols, scan = legacyEventColumns, scanLegacyEvent
	}
	var (
		headSeq  int64
		headHash string
	)
	if err := q.QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&headSeq, &headHash); err != nil {
		return nil, fmt.Errorf("read chain head: %w", err)
	}
	rows, err := q.QueryContext(ctx, `SELECT `+cols+` FROM audit_events ORDER BY seq`)
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
		cpHash   = hangar.GenesisHash // the stored hash of event cp.Seq, when found
	)
	for rows.Next() {
		if err := ctx.Err(); err != nil {
			return nil, closeRows(rows, err)
		}
		e, err := scan(rows)
		if err != nil {
			return nil, closeRows(rows, err)
		}
		v.Events++
		if cp != nil && e.Seq == cp.Seq {
			cpHash = e.Hash
		}
		if v.BrokenSeq != 0 {
			continue // count the rest; the first break is the one that matters
		}
		switch {
		case e.Seq != lastSeq+1:
			broken(e.Seq, "event %d follows event %d: %s missing", e.Seq, lastSeq, missing(lastSeq+1, e.Seq-1))
		case e.PrevHash != lastHash:
			broken(e.Seq, "event %d does not link to event %d: its prev_hash differs from that event's hash", e.Seq, lastSeq)
		case hash(e) != e.Hash:
			broken(e.Seq, "event %d was altered: its hash does not match its contents under the audit key", e.Seq)
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
	if v.BrokenSeq == 0 && cp != nil {
		taken := cp.Time.UTC().Format(time.RFC3339)
		switch {
		case cp.Seq > lastSeq:
			broken(lastSeq+1, "the checkpoint taken at %s holds event %d, but the log ends at event %d: %s deleted from the end and the chain head moved back", taken, cp.Seq, lastSeq, missing(lastSeq+1, cp.Seq))
		case cpHash != cp.Hash:
			broken(cp.Seq, "event %d's hash differs from the one the checkpoint taken at %s holds: the chain up to it was rewritten", cp.Seq, taken)
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

// gateDetail is the audit detail of setting a version's gate verdict tag:
// the verdict with the rules and champion tags the gate wrote just before
// it (hangar.GateAuditDetail), so the audit log holds the whole verdict.
func gateDetail(ctx context.Context, tx *wtx, model, version int64, verdict string) (string, error) {
	rows, err := tx.QueryContext(ctx, tx.db.rebind(`SELECT key, value FROM model_version_tags
		WHERE model_id = ? AND version = ? AND key IN (?, ?)`), model, version, hangar.TagGateRules, hangar.TagGateChampion)
	if err != nil {
		return "", fmt.Errorf("read the gate's tags: %w", err)
	}
	tags := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return "", closeRows(rows, err)
		}
		tags[k] = v
	}
	if err := closeRows(rows, nil); err != nil {
		return "", fmt.Errorf("read the gate's tags: %w", err)
	}
	return hangar.GateAuditDetail(verdict, tags[hangar.TagGateChampion], tags[hangar.TagGateRules]), nil
}
