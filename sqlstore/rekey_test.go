package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"io/fs"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/internal/pgtest"
	"github.com/hangar-ml/hangar/internal/storetest"
	"github.com/pressly/goose/v3"
)

// legacyBackends are the databases the upgrade tests run on: each gives a
// DSN and a raw connection to it.
var legacyBackends = []struct {
	name    string
	dialect string
	dsn     func(t *testing.T) string
	driver  string
}{
	{"sqlite", DialectSQLite, func(t *testing.T) string { return filepath.Join(t.TempDir(), "hangar.db") }, "sqlite"},
	{"postgres", DialectPostgres, func(t *testing.T) string { return pgtest.URL(t) }, "pgx"},
}

// legacy is a database as a version before keyed audit chains left it:
// migrated up to version 2, with an unkeyed (plain SHA-256) chain.
type legacy struct {
	raw    *sql.DB
	d      *DB // for rebind and tv only
	events []*hangar.Event
}

// newLegacy migrates the database at dsn to version 2 and writes the
// history of an earlier version into it: the default workspace, a
// workspace "phoenix" created, given a secret, deleted and created again,
// and a secret reveal in the default workspace.
func newLegacy(t *testing.T, dialect, driver, dsn string) *legacy {
	t.Helper()
	ctx := t.Context()
	raw, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	dir, gd := "migrations/sqlite", goose.DialectSQLite3
	if dialect == DialectPostgres {
		dir, gd = "migrations/postgres", goose.DialectPostgres
	}
	fsys, err := fs.Sub(migrations, dir)
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(gd, raw, fsys, goose.WithDisableGlobalRegistry(true), goose.WithExcludeNames([]string{keyedAuditFile}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, keyedAuditVersion-1); err != nil {
		t.Fatalf("migrate to version %d: %v", keyedAuditVersion-1, err)
	}
	l := &legacy{raw: raw, d: &DB{dialect: dialect}}
	at := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	for _, w := range []string{hangar.DefaultWorkspace, "phoenix"} {
		l.exec(t, `INSERT INTO workspaces (name, created_at, created_by) VALUES (?, ?, ?)`, w, l.d.tv(at), "alice")
	}
	prev := hangar.GenesisHash
	for i, e := range []hangar.Event{
		{Actor: "system", ActorID: "system", Action: hangar.ActWorkspaceWrite, Target: "workspaces/default", Workspace: hangar.DefaultWorkspace},
		{Action: hangar.ActWorkspaceWrite, Target: "workspaces/phoenix", Workspace: "phoenix", RequestID: "req-2"},
		{Action: hangar.ActSecretWrite, Target: "secrets/old", Workspace: "phoenix"},
		{Action: hangar.ActWorkspaceDelete, Target: "workspaces/phoenix", Workspace: "phoenix"},
		{Action: hangar.ActWorkspaceWrite, Target: "workspaces/phoenix", Workspace: "phoenix"},
		{Action: hangar.ActSecretReveal, Target: "secrets/db", Workspace: hangar.DefaultWorkspace},
	} {
		e.Seq, e.Time, e.PrevHash = int64(i+1), at.Add(time.Duration(i)*time.Minute), prev
		if e.Actor == "" {
			e.Actor, e.ActorID = "alice", "id-alice"
		}
		e.Hash = unkeyedHash(&e)
		l.exec(t, `INSERT INTO audit_events (`+legacyEventColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			e.Seq, l.d.tv(e.Time), e.Actor, e.ActorID, e.Action, e.Target, e.Workspace, e.RequestID, e.PrevHash, e.Hash)
		prev = e.Hash
		l.events = append(l.events, &e)
	}
	l.exec(t, `UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1`, len(l.events), prev)
	return l
}

func (l *legacy) exec(t *testing.T, q string, args ...any) {
	t.Helper()
	if _, err := l.raw.ExecContext(t.Context(), l.d.rebind(q), args...); err != nil {
		t.Fatalf("exec %s: %v", q, err)
	}
}

// version returns the database's goose version.
func (l *legacy) version(t *testing.T) int64 {
	t.Helper()
	var v int64
	if err := l.raw.QueryRowContext(t.Context(), `SELECT MAX(version_id) FROM `+gooseTable+` WHERE is_applied`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// storedHash returns the stored hash of event seq.
func (l *legacy) storedHash(t *testing.T, seq int64) string {
	t.Helper()
	var h string
	if err := l.raw.QueryRowContext(t.Context(), l.d.rebind(`SELECT hash FROM audit_events WHERE seq = ?`), seq).Scan(&h); err != nil {
		t.Fatal(err)
	}
	return h
}

// TestUpgradeKeysAnIntactChain opens a database an earlier version wrote:
// its intact unkeyed chain is re-keyed once, event contents unchanged, the
// workspaces remember their creation, and the chain is bound to the key.
func TestUpgradeKeysAnIntactChain(t *testing.T) {
	for _, b := range legacyBackends {
		t.Run(b.name, func(t *testing.T) {
			dsn := b.dsn(t)
			l := newLegacy(t, b.dialect, b.driver, dsn)
			var logs bytes.Buffer
			db := newTestDB(dsn)
			db.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			if err := db.Open(t.Context()); err != nil {
				t.Fatalf("open the earlier version's database: %v", err)
			}
			defer db.Close()
			if !strings.Contains(logs.String(), "re-keyed the audit chain") || !strings.Contains(logs.String(), "events=6") {
				t.Errorf("log of the upgrade lacks the re-keying of 6 events:\n%s", logs.String())
			}
			audit := NewAuditService(db)
			v, err := audit.VerifyAudit(t.Context())
			if err != nil || !v.OK || v.Events != 6 {
				t.Fatalf("verify after the upgrade: %+v, %v; want OK with 6 events", v, err)
			}
			page, err := audit.ListEvents(t.Context(), hangar.EventFilter{}, hangar.ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			prev := hangar.GenesisHash
			for i, got := range page.Items {
				want := *l.events[i]
				want.PrevHash = prev
				want.Hash = want.ComputeHash(testAuditKey())
				if !got.Time.Equal(want.Time) {
					t.Errorf("event %d: time %v, want %v", got.Seq, got.Time, want.Time)
				}
				got.Time, want.Time = time.Time{}, time.Time{}
				if *got != want {
					t.Errorf("event %d after re-keying:\n got %+v\nwant %+v", got.Seq, *got, want)
				}
				prev = got.Hash
			}
			var keyID string
			if err := l.raw.QueryRowContext(t.Context(), `SELECT key_id FROM audit_head`).Scan(&keyID); err != nil || keyID != auditKeyID(testAuditKey()) {
				t.Errorf("key id of the chain: %q (%v), want %q", keyID, err, auditKeyID(testAuditKey()))
			}
			// The backfill: phoenix's listing starts at its second creation.
			for _, tc := range []struct {
				f    hangar.EventFilter
				want []int64
			}{
				{hangar.EventFilter{Workspace: "phoenix"}, []int64{5}},
				{hangar.EventFilter{Workspace: "phoenix", AllIncarnations: true}, []int64{2, 3, 4, 5}},
				{hangar.EventFilter{Workspace: hangar.DefaultWorkspace}, []int64{1, 6}},
			} {
				p, err := audit.ListEvents(t.Context(), tc.f, hangar.ListOptions{})
				if err != nil {
					t.Fatal(err)
				}
				var seqs []int64
				for _, e := range p.Items {
					seqs = append(seqs, e.Seq)
				}
				if !slices.Equal(seqs, tc.want) {
					t.Errorf("list %+v: seqs %v, want %v", tc.f, seqs, tc.want)
				}
			}
			// Once: reopening re-keys nothing.
			before := l.storedHash(t, 6)
			db.Close()
			logs.Reset()
			again := newTestDB(dsn)
			again.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			if err := again.Open(t.Context()); err != nil {
				t.Fatal(err)
			}
			again.Close()
			if after := l.storedHash(t, 6); after != before || strings.Contains(logs.String(), "re-keyed") {
				t.Errorf("reopening changed the chain (%s -> %s) or re-keyed it again:\n%s", before, after, logs.String())
			}
		})
	}
}

// TestUpgradeRefusesABrokenChain: a chain an earlier version wrote that no
// longer verifies is not re-keyed — that would launder the tampering into
// a valid keyed chain — and the database is left as it was.
func TestUpgradeRefusesABrokenChain(t *testing.T) {
	for _, b := range legacyBackends {
		t.Run(b.name, func(t *testing.T) {
			dsn := b.dsn(t)
			l := newLegacy(t, b.dialect, b.driver, dsn)
			before := l.version(t)
			l.exec(t, `DELETE FROM audit_events WHERE seq = ?`, 6) // a reveal, hidden
			err := newTestDB(dsn).Open(t.Context())
			if !hangar.IsCode(err, hangar.EINVALID) || !strings.Contains(err.Error(), "broken at event 6") || !strings.Contains(err.Error(), "not re-keyed") {
				t.Fatalf("open a database with a broken unkeyed chain: %v, want %s saying it is broken at event 6 and not re-keyed", err, hangar.EINVALID)
			}
			if v := l.version(t); v != before {
				t.Errorf("version after the refused upgrade: %d, want %d as before", v, before)
			}
			if h := l.storedHash(t, 5); h != l.events[4].Hash {
				t.Errorf("event 5's hash changed to %s by a refused upgrade", h)
			}
		})
	}
}

// TestUpgradeRefusesAnotherKEK: a KEK that cannot open the stored secrets
// does not key the chain either, so the right KEK still works afterwards.
func TestUpgradeRefusesAnotherKEK(t *testing.T) {
	for _, b := range legacyBackends {
		t.Run(b.name, func(t *testing.T) {
			dsn := b.dsn(t)
			l := newLegacy(t, b.dialect, b.driver, dsn)
			right := storetest.NewSealer()
			sealed, err := right.Seal([]byte("v"), secretAAD(hangar.DefaultWorkspace, "db"))
			if err != nil {
				t.Fatal(err)
			}
			l.exec(t, `INSERT INTO secrets (workspace, name, version, ciphertext, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`,
				hangar.DefaultWorkspace, "db", 1, sealed, l.d.tv(time.Now()), l.d.tv(time.Now()))
			before := l.version(t)
			open := func(s hangar.Sealer) error {
				db := New(dsn)
				db.Sealer = s // the audit key is derived from it
				err := db.Open(t.Context())
				db.Close()
				return err
			}
			if err := open(storetest.NewSealer()); !hangar.IsCode(err, hangar.EINVALID) || !strings.Contains(err.Error(), "key-encryption key") {
				t.Fatalf("upgrade with another KEK: %v, want %s about the key-encryption key", err, hangar.EINVALID)
			}
			if v := l.version(t); v != before {
				t.Errorf("version after the refused upgrade: %d, want %d as before", v, before)
			}
			if err := open(right); err != nil {
				t.Fatalf("upgrade with the right KEK after a refused one: %v", err)
			}
		})
	}
}

// TestKeyedChainCannotBeDowngraded: marking a keyed chain unkeyed and
// rewriting it with plain SHA-256 — which needs no key — does not get it
// re-keyed: only migration 3 re-keys, once.
func TestKeyedChainCannotBeDowngraded(t *testing.T) {
	for _, b := range legacyBackends {
		t.Run(b.name, func(t *testing.T) {
			dsn := b.dsn(t)
			db := newTestDB(dsn)
			if err := db.Open(t.Context()); err != nil {
				t.Fatal(err)
			}
			if err := NewWorkspaceService(db).CreateWorkspace(t.Context(), &hangar.Workspace{Name: "kept"}); err != nil {
				t.Fatal(err)
			}
			db.Close()
			raw, err := sql.Open(b.driver, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			// Forge: alter event 2, re-hash everything with SHA-256, mark unkeyed.
			d := &DB{dialect: b.dialect}
			ctx := context.Background()
			if _, err := raw.ExecContext(ctx, d.rebind(`UPDATE audit_events SET actor = ? WHERE seq = ?`), "mallory", 2); err != nil {
				t.Fatal(err)
			}
			events, err := d.eventsAfter(ctx, raw, 0, 100)
			if err != nil {
				t.Fatal(err)
			}
			prev := hangar.GenesisHash
			for _, e := range events {
				e.PrevHash = prev
				e.Hash = unkeyedHash(e)
				if _, err := raw.ExecContext(ctx, d.rebind(`UPDATE audit_events SET prev_hash = ?, hash = ? WHERE seq = ?`), e.PrevHash, e.Hash, e.Seq); err != nil {
					t.Fatal(err)
				}
				prev = e.Hash
			}
			if _, err := raw.ExecContext(ctx, d.rebind(`UPDATE audit_head SET hash = ?, key_id = ? WHERE id = 1`), prev, ""); err != nil {
				t.Fatal(err)
			}
			err = newTestDB(dsn).Open(t.Context())
			if !hangar.IsCode(err, hangar.EINVALID) || !strings.Contains(err.Error(), "audit key (none)") {
				t.Fatalf("open the downgraded database: %v, want %s saying the chain is keyed with no key of ours", err, hangar.EINVALID)
			}
			var h string
			if err := raw.QueryRowContext(ctx, d.rebind(`SELECT hash FROM audit_events WHERE seq = ?`), 2).Scan(&h); err != nil || h != events[1].Hash {
				t.Errorf("the forged event was re-hashed: %s (%v), want it left as forged (%s)", h, err, events[1].Hash)
			}
		})
	}
}

// TestAuditKeyRequired: Open needs an audit key of at least 32 bytes, from
// AuditKey or from a Sealer that derives keys, and prefers AuditKey.
func TestAuditKeyRequired(t *testing.T) {
	dsn := func() string { return filepath.Join(t.TempDir(), "hangar.db") }
	for _, tc := range []struct {
		name   string
		key    []byte
		sealer hangar.Sealer
		want   string
	}{
		{"neither", nil, nil, "no audit key"},
		{"a sealer that derives no keys", nil, plainSealer{storetest.NewSealer()}, "no audit key"},
		{"short", bytes.Repeat([]byte{1}, 31), nil, "31 bytes"},
		{"empty", []byte{}, storetest.NewSealer(), "no audit key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := New(dsn())
			db.AuditKey, db.Sealer = tc.key, tc.sealer
			err := db.Open(t.Context())
			if !hangar.IsCode(err, hangar.EINVALID) || !strings.Contains(err.Error(), tc.want) {
				db.Close()
				t.Fatalf("open: %v, want %s saying %q", err, hangar.EINVALID, tc.want)
			}
		})
	}
	t.Run("derived from the sealer", func(t *testing.T) {
		sealer := storetest.NewSealer()
		db := New(dsn())
		db.Sealer = sealer
		if err := db.Open(t.Context()); err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if want := sealer.DeriveKey(hangar.AuditKeyPurpose); !bytes.Equal(db.auditKey, want) {
			t.Errorf("audit key %x, want the sealer's derived key %x", db.auditKey, want)
		}
	})
	t.Run("AuditKey first", func(t *testing.T) {
		db := New(dsn())
		db.Sealer, db.AuditKey = storetest.NewSealer(), testAuditKey()
		if err := db.Open(t.Context()); err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if !bytes.Equal(db.auditKey, testAuditKey()) {
			t.Errorf("audit key %x, want AuditKey", db.auditKey)
		}
	})
}

// plainSealer hides DeriveKey.
type plainSealer struct{ s hangar.Sealer }

func (p plainSealer) Seal(plaintext, aad []byte) ([]byte, error) { return p.s.Seal(plaintext, aad) }
func (p plainSealer) Open(sealed, aad []byte) ([]byte, error)    { return p.s.Open(sealed, aad) }
