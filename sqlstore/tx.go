package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/hangar-ml/hangar"
	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// wtx is a write transaction that holds the audit chain head. Every state
// change goes through DB.write and records itself with audit.
type wtx struct {
	*sql.Tx
	db       *DB
	now      time.Time
	headSeq  int64
	headHash string
	headRead bool // headSeq and headHash hold the locked chain head
	appended bool
}

// write runs fn in a write transaction. The first statement locks the audit
// chain head, so write transactions (and their audit appends) are serialised
// across goroutines and, on PostgreSQL, across server processes. On SQLite
// writers first wait their turn in db.queue, in arrival order, for the one
// write connection. fn's error rolls everything back; otherwise the new
// chain head is stored and the transaction commits.
func (db *DB) write(ctx context.Context, fn func(tx *wtx) error) error {
	return db.writeTx(ctx, true, fn)
}

// writeLazy is write for a change that appends no audit event (a metric
// write covered by the audit window): the audit chain head is not locked,
// so on PostgreSQL such writes do not wait for each other on it. fn must
// itself lock the rows its checks rely on (as lockActiveRun does). Should
// fn audit after all, the head is locked then — after fn's other locks,
// which is why a change expected to append an event takes write instead.
func (db *DB) writeLazy(ctx context.Context, fn func(tx *wtx) error) error {
	return db.writeTx(ctx, false, fn)
}

func (db *DB) writeTx(ctx context.Context, lockHead bool, fn func(tx *wtx) error) error {
	if db.writer == nil {
		return errors.New("store is not open")
	}
	if db.queue != nil {
		if err := db.queue.acquire(ctx); err != nil {
			return fmt.Errorf("wait for the write connection: %w", err)
		}
		defer db.queue.release() // after the deferred Rollback below
	}
	// The transaction is not bound to ctx's cancellation: a write holds
	// the write lock for milliseconds, and with a cancellable context both
	// database/sql and the SQLite driver start a watcher goroutine for the
	// transaction and for each statement — a tenth of a run/log-metric's
	// CPU. Waiting for the write connection (above) still ends with ctx.
	sqlTx, err := db.writer.BeginTx(context.WithoutCancel(ctx), nil)
	if err != nil {
		return fmt.Errorf("begin write transaction: %w", err)
	}
	tx := &wtx{Tx: sqlTx, db: db, now: db.now()}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit

	if lockHead {
		if err := tx.lockHead(ctx); err != nil {
			return err
		}
	}
	if err := fn(tx); err != nil {
		return err
	}
	if tx.appended {
		if _, err := tx.ExecContext(ctx, db.rebind(`UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1`), tx.headSeq, tx.headHash); err != nil {
			return fmt.Errorf("advance audit chain head: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	// The write connection is free and this writer still holds the queue.
	db.writeStmts.prepareNoted(ctx, db.writer)
	return nil
}

// lockHead reads the audit chain head, locking it on PostgreSQL (on
// SQLite the transaction holds the database's write lock already).
func (tx *wtx) lockHead(ctx context.Context) error {
	head := `SELECT seq, hash FROM audit_head WHERE id = 1`
	if tx.db.dialect == DialectPostgres {
		head += ` FOR UPDATE`
	}
	if err := tx.QueryRowContext(ctx, head).Scan(&tx.headSeq, &tx.headHash); err != nil {
		return fmt.Errorf("lock audit chain head: %w", err)
	}
	tx.headRead = true
	return nil
}

// audit appends the event recording a change made in this transaction,
// hashed under the audit key. The actor and request id come from ctx; a
// request id that hangar.ValidRequestID refuses is not recorded (the HTTP
// edge already replaces such ids: this is the second line). Events never
// carry secret values: the fields are names only.
func (tx *wtx) audit(ctx context.Context, action, target, workspace string) error {
	return tx.auditDetail(ctx, action, target, workspace, "")
}

// auditDetail is audit with a detail (hangar.Event.Detail: a JSON object,
// or "" for none), which the caller has validated.
func (tx *wtx) auditDetail(ctx context.Context, action, target, workspace, detail string) error {
	actor := hangar.ActorFrom(ctx)
	requestID := hangar.RequestIDFrom(ctx)
	if !hangar.ValidRequestID(requestID) {
		requestID = ""
	}
	if !tx.headRead {
		if err := tx.lockHead(ctx); err != nil {
			return err
		}
	}
	e := &hangar.Event{
		Seq:       tx.headSeq + 1,
		Time:      tx.now,
		Actor:     actor.Name,
		ActorID:   actor.IdentityID,
		Action:    action,
		Target:    target,
		Workspace: workspace,
		RequestID: requestID,
		Detail:    detail,
		PrevHash:  tx.headHash,
	}
	e.Hash = e.ComputeHash(tx.db.auditKey)
	_, err := tx.ExecContext(ctx, tx.db.rebind(`INSERT INTO audit_events
		(seq, time, actor, actor_id, action, target, workspace, request_id, prev_hash, hash, detail)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		e.Seq, tx.db.tv(e.Time), e.Actor, e.ActorID, e.Action, e.Target, e.Workspace, e.RequestID, e.PrevHash, e.Hash, e.Detail)
	if err != nil {
		return fmt.Errorf("append audit event %d (%s %s): %w", e.Seq, action, target, err)
	}
	tx.headSeq, tx.headHash, tx.appended = e.Seq, e.Hash, true
	return nil
}

// rebind rewrites "?" placeholders to PostgreSQL's "$n". The shared SQL text
// never contains a literal question mark.
func (db *DB) rebind(q string) string {
	if db.dialect != DialectPostgres {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

// tv converts a time to its column value: microseconds since the epoch for
// SQLite, a UTC time.Time for PostgreSQL's TIMESTAMPTZ.
func (db *DB) tv(t time.Time) any {
	t = t.UTC().Truncate(time.Microsecond)
	if db.dialect == DialectPostgres {
		return t
	}
	return t.UnixMicro()
}

// tvPtr is tv for a nullable time.
func (db *DB) tvPtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return db.tv(*t)
}

// dbTime scans a time column of either dialect.
type dbTime struct {
	T     time.Time
	Valid bool
}

// Scan implements sql.Scanner.
func (d *dbTime) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		d.T, d.Valid = time.Time{}, false
	case int64:
		d.T, d.Valid = time.UnixMicro(v).UTC(), true
	case time.Time:
		d.T, d.Valid = v.UTC(), true
	default:
		return fmt.Errorf("scan time: unsupported column type %T", src)
	}
	return nil
}

// ptr returns the time or nil when NULL.
func (d dbTime) ptr() *time.Time {
	if !d.Valid {
		return nil
	}
	t := d.T
	return &t
}

var _ sql.Scanner = (*dbTime)(nil)

// checkText returns EINVALID naming the field when a string a caller passed
// holds a NUL or invalid UTF-8. PostgreSQL refuses such text in any
// statement (SQLSTATE 22021), as a parameter to compare as much as a value
// to store, while SQLite takes it: every service method checks the strings
// it passes to SQL that no stricter rule (a name pattern) covers, so such
// input is a client error on both backends rather than an internal error on
// one and a miss on the other. Arguments are pairs of field name and value.
func checkText(pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if err := hangar.ValidateText(pairs[i], pairs[i+1], math.MaxInt); err != nil {
			return err
		}
	}
	return nil
}

// isUniqueViolation reports whether err is a unique or primary key violation.
func isUniqueViolation(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23505"
	}
	return false
}

// rowScanner is a *sql.Row or *sql.Rows.
type rowScanner interface{ Scan(...any) error }

// querier is what both *sql.Tx and *sql.DB offer: a read runs alone or
// inside a read transaction.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// closeRows closes rows and returns the first error of iterating them.
func closeRows(rows *sql.Rows, err error) error {
	if cerr := rows.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = rows.Err()
	}
	return err
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
