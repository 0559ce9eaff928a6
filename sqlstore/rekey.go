package sqlstore

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/hangar-ml/hangar"
	"github.com/pressly/goose/v3"
)

// The audit chain is keyed: every event's hash is an HMAC under the audit
// key (hangar.Event.ComputeHash), which is derived from the key-encryption
// key and never stored in the database. Chains written before were plain
// SHA-256, which anyone who can write the database can recompute after
// deleting or altering events. Migration 3 turns such a chain into a keyed
// one, once:
//
//   - It is a Go migration, run by goose like the SQL ones (in their order,
//     in one transaction, under goose's lock on PostgreSQL), because
//     re-keying needs the audit key. It runs the Up section of
//     migrations/<dialect>/00003_keyed_audit.sql, which goose is told to
//     skip as a file, then re-keys, so the new columns and the re-keyed
//     chain commit together or not at all.
//   - It first checks that the key-encryption key opens the stored secrets,
//     so a chain is never keyed under a wrong key, and verifies the unkeyed
//     chain as it was written; a broken chain fails the migration and the
//     database is left as it was. Re-keying a tampered chain would make the
//     tampering verify.
//   - Re-keying happens only in this migration, never because of a flag the
//     database holds: whoever can write the database could otherwise mark a
//     keyed chain unkeyed, rewrite it with plain SHA-256 and have the next
//     start key the forgery.
//
// The migration records the key's id (auditKeyID) in audit_head.key_id;
// every later Open compares it with its own key's, so a server started with
// another key-encryption key is refused rather than appending events no
// verification would accept.

// keyedAuditVersion is the migration that keys the audit chain.
const keyedAuditVersion = 3

// keyedAuditFile holds the SQL of migration 3, in each dialect's directory.
const keyedAuditFile = "00003_keyed_audit.sql"

// rekeyBatch is how many events re-keying reads at a time.
const rekeyBatch = 1000

// keyDeriver is a Sealer that can derive other keys from its key-encryption
// key, as seal.AESGCM does: Open takes the audit key from it when
// DB.AuditKey is not set.
type keyDeriver interface {
	DeriveKey(purpose string) []byte
}

// resolveAuditKey sets the key the chain is hashed with: DB.AuditKey, else
// the one the Sealer derives. Errors: EINVALID (none, or too short).
func (db *DB) resolveAuditKey() error {
	key := db.AuditKey
	if key == nil {
		if d, ok := db.Sealer.(keyDeriver); ok {
			key = d.DeriveKey(hangar.AuditKeyPurpose)
		}
	}
	switch {
	case len(key) == 0:
		return hangar.Errorf(hangar.EINVALID, "open store: no audit key: set DB.AuditKey to the key derived from the key-encryption key (seal.DeriveKey(kek, %q)), or a Sealer that derives it", hangar.AuditKeyPurpose)
	case len(key) < hangar.MinAuditKeySize:
		return hangar.Errorf(hangar.EINVALID, "open store: the audit key is %d bytes, want at least %d", len(key), hangar.MinAuditKeySize)
	}
	db.auditKey = bytes.Clone(key)
	db.auditKeyID = auditKeyID(key)
	return nil
}

// auditKeyID identifies an audit key without revealing it: the first 8
// bytes, in hex, of HMAC-SHA256(key, "hangar audit key id").
func auditKeyID(key []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("hangar audit key id"))
	return hex.EncodeToString(m.Sum(nil)[:8])
}

// checkAuditKey refuses a database whose chain is keyed with another key.
func (db *DB) checkAuditKey(ctx context.Context) error {
	var id string
	if err := db.writer.QueryRowContext(ctx, `SELECT key_id FROM audit_head WHERE id = 1`).Scan(&id); err != nil {
		return fmt.Errorf("open %s store: read the audit key id: %w", db.dialect, err)
	}
	if id != db.auditKeyID {
		return hangar.Errorf(hangar.EINVALID, "open %s store %s: its audit chain is keyed with audit key %s, not with this server's (%s): start with the key-encryption key this database was used with (--kek-file or HANGAR_KEK)",
			db.dialect, db.where, orNone(id), db.auditKeyID)
	}
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// keyedAuditMigration returns migration 3 for db, reading its SQL from fsys
// (the dialect's migrations directory).
func (db *DB) keyedAuditMigration(fsys fs.FS) (*goose.Migration, error) {
	text, err := fs.ReadFile(fsys, keyedAuditFile)
	if err != nil {
		return nil, err
	}
	up, _, err := gooseSections(string(text))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", keyedAuditFile, err)
	}
	return goose.NewGoMigration(keyedAuditVersion,
		&goose.GoFunc{RunTx: func(ctx context.Context, tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, up); err != nil {
				return fmt.Errorf("%s: %w", keyedAuditFile, err)
			}
			return db.rekeyAudit(ctx, tx)
		}},
		&goose.GoFunc{RunTx: func(context.Context, *sql.Tx) error {
			return errors.New("migration 3 cannot be undone: the audit chain stays keyed")
		}},
	), nil
}

// gooseSections splits a goose SQL file into its Up and Down sections. The
// sections hold plain statements (no StatementBegin blocks), which both
// drivers run as one multi-statement Exec.
func gooseSections(text string) (up, down string, err error) {
	_, rest, ok := strings.Cut(text, "-- +goose Up\n")
	if !ok {
		return "", "", errors.New(`no "-- +goose Up" line`)
	}
	up, down, ok = strings.Cut(rest, "-- +goose Down\n")
	if !ok {
		return "", "", errors.New(`no "-- +goose Down" line`)
	}
	if strings.Contains(text, "StatementBegin") {
		return "", "", errors.New("StatementBegin blocks are not supported here")
	}
	return up, down, nil
}

// unkeyedHash is the hash of chains written before they were keyed: the
// hex SHA-256 of the event's canonical encoding.
func unkeyedHash(e *hangar.Event) string {
	sum := sha256.Sum256(e.Encode())
	return hex.EncodeToString(sum[:])
}

// rekeyAudit verifies the unkeyed chain and re-hashes every event under the
// audit key, inside migration 3's transaction.
func (db *DB) rekeyAudit(ctx context.Context, tx *sql.Tx) error {
	if err := db.checkSealer(ctx, tx); err != nil {
		return err
	}
	v, err := verifyChain(ctx, tx, nil, unkeyedHash, true)
	if err != nil {
		return fmt.Errorf("verify the unkeyed audit chain: %w", err)
	}
	if !v.OK {
		return hangar.Errorf(hangar.EINVALID, "the audit log's hash chain, written unkeyed by an earlier version, is broken at event %d (%s): it was altered, so it is not re-keyed — a keyed copy of a tampered chain would verify; its audit log was left as it was: restore the database from a backup taken before the tampering",
			v.BrokenSeq, v.Reason)
	}
	var (
		after int64
		prev  = hangar.GenesisHash
		n     int64
	)
	for {
		batch, err := db.eventsAfter(ctx, tx, after, rekeyBatch)
		if err != nil {
			return fmt.Errorf("re-key the audit chain: %w", err)
		}
		for _, e := range batch {
			e.PrevHash = prev
			e.Hash = e.ComputeHash(db.auditKey)
			if _, err := tx.ExecContext(ctx, db.rebind(`UPDATE audit_events SET prev_hash = ?, hash = ? WHERE seq = ?`), e.PrevHash, e.Hash, e.Seq); err != nil {
				return fmt.Errorf("re-key audit event %d: %w", e.Seq, err)
			}
			prev, after = e.Hash, e.Seq
			n++
		}
		if len(batch) < rekeyBatch {
			break
		}
	}
	if _, err := tx.ExecContext(ctx, db.rebind(`UPDATE audit_head SET hash = ?, key_id = ? WHERE id = 1`), prev, db.auditKeyID); err != nil {
		return fmt.Errorf("re-key the audit chain head: %w", err)
	}
	if n > 0 {
		db.logger().InfoContext(ctx, "re-keyed the audit chain: its hashes are now HMACs under the audit key", "events", n, "audit_key_id", db.auditKeyID)
	}
	return nil
}

// eventsAfter reads up to limit events after seq, in order.
func (db *DB) eventsAfter(ctx context.Context, q querier, seq int64, limit int) ([]*hangar.Event, error) {
	rows, err := q.QueryContext(ctx, db.rebind(`SELECT `+legacyEventColumns+` FROM audit_events WHERE seq > ? ORDER BY seq LIMIT ?`), seq, limit)
	if err != nil {
		return nil, err
	}
	var out []*hangar.Event
	for rows.Next() {
		e, err := scanLegacyEvent(rows)
		if err != nil {
			return nil, closeRows(rows, err)
		}
		out = append(out, e)
	}
	return out, closeRows(rows, nil)
}
