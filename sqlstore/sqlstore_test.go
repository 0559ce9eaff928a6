package sqlstore

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/internal/pgtest"
	"github.com/hangar-ml/hangar/internal/storetest"
)

// testAuditKey is the audit key of the tests' databases.
func testAuditKey() []byte { return []byte("sqlstore-test-audit-key-32-bytes") }

// newTestDB returns a DB on dsn with the tests' audit key, not opened yet.
func newTestDB(dsn string) *DB {
	db := New(dsn)
	db.AuditKey = testAuditKey()
	return db
}

// openDB opens a DB on dsn with a test sealer, closed when the test ends.
func openDB(t *testing.T, dsn string) *DB {
	t.Helper()
	db := newTestDB(dsn)
	db.Sealer = storetest.NewSealer()
	if err := db.Open(t.Context()); err != nil {
		t.Fatalf("open %s: %v", dsn, err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return db
}

// harness exposes db to the conformance suite; another opens a second DB on dsn.
func harness(db *DB, dsn string, sealer hangar.Sealer) *storetest.Store {
	ids := NewIdentityService(db)
	s := &storetest.Store{
		Workspaces:  NewWorkspaceService(db),
		Identities:  ids,
		Credentials: ids,
		Roles:       NewRoleService(db),
		Audit:       NewAuditService(db),
		Secrets:     NewSecretService(db),
		Blobs:       NewBlobIndex(db),
		Artifacts:   NewArtifactIndex(db),
		Registry:    NewRegistryService(db),
		Tracking:    NewTrackingService(db),
		Events:      NewAuditService(db),
		Checkpoints: NewAuditService(db),
		AuditKey:    db.auditKey,
		Time:        db.tv,
		Exec: func(ctx context.Context, q string, args ...any) error {
			for i, a := range args {
				if t, ok := a.(time.Time); ok {
					args[i] = db.tv(t)
				}
			}
			_, err := db.writer.ExecContext(ctx, db.rebind(q), args...)
			return err
		},
		QueryRow: func(ctx context.Context, q string, args []any, dest ...any) error {
			return db.reader.QueryRowContext(ctx, db.rebind(q), args...).Scan(dest...)
		},
	}
	s.LoggedModels = NewLoggedModelService(db)
	s.Data = NewDataService(db)
	s.Environments, s.Components = NewEnvironmentService(db), NewComponentService(db)
	s.Jobs = NewJobService(db)
	s.Approvals = NewApprovalService(db)
	s.Schedules = NewScheduleService(db)
	s.Endpoints = NewEndpointService(db)
	s.BatchEndpoints = NewBatchEndpointService(db)
	s.Another = func(t *testing.T) *storetest.Store {
		other := New(dsn)
		other.Sealer = sealer
		other.AuditKey = db.AuditKey
		if err := other.Open(t.Context()); err != nil {
			t.Fatalf("open second DB on %s: %v", dsn, err)
		}
		t.Cleanup(func() { other.Close() })
		return harness(other, dsn, sealer)
	}
	return s
}

func TestSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) *storetest.Store {
		dsn := filepath.Join(t.TempDir(), "hangar.db")
		db := openDB(t, dsn)
		if db.Dialect() != DialectSQLite {
			t.Fatalf("dialect of %s: got %q", dsn, db.Dialect())
		}
		return harness(db, dsn, db.Sealer)
	})
}

func TestPostgres(t *testing.T) {
	storetest.Run(t, func(t *testing.T) *storetest.Store {
		dsn := pgtest.URL(t)
		db := openDB(t, dsn)
		if db.Dialect() != DialectPostgres {
			t.Fatalf("dialect of %s: got %q", dsn, db.Dialect())
		}
		return harness(db, dsn, db.Sealer)
	})
}

func TestSQLiteInMemory(t *testing.T) {
	db := openDB(t, ":memory:")
	ctx := t.Context()
	ws := NewWorkspaceService(db)
	if err := ws.CreateWorkspace(ctx, &hangar.Workspace{Name: "mem"}); err != nil {
		t.Fatalf("create: %v", err)
	}
	if _, err := ws.Workspace(ctx, "mem"); err != nil {
		t.Fatalf("get: %v", err)
	}
	v, err := NewAuditService(db).VerifyAudit(ctx)
	if err != nil || !v.OK || v.Events != 2 {
		t.Fatalf("verify: %+v, %v; want OK with 2 events", v, err)
	}
}

func TestReopenKeepsDataAndMigratesOnce(t *testing.T) {
	dsn := "sqlite://" + filepath.Join(t.TempDir(), "hangar.db")
	ctx := t.Context()
	db := newTestDB(dsn)
	if err := db.Open(ctx); err != nil {
		t.Fatal(err)
	}
	if err := NewWorkspaceService(db).CreateWorkspace(ctx, &hangar.Workspace{Name: "kept"}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openDB(t, dsn)
	if _, err := NewWorkspaceService(db).Workspace(ctx, "kept"); err != nil {
		t.Fatalf("workspace after reopen: %v", err)
	}
	v, err := NewAuditService(db).VerifyAudit(ctx)
	if err != nil || !v.OK || v.Events != 2 {
		t.Fatalf("verify after reopen: %+v, %v; want OK with 2 events (default created once)", v, err)
	}
}

func TestSQLiteDSNs(t *testing.T) {
	for _, tc := range []struct {
		dsn       string
		wantPath  string
		wantMem   bool
		wantError string
	}{
		{dsn: "/var/lib/hangar/hangar.db", wantPath: "file:/var/lib/hangar/hangar.db?"},
		{dsn: "relative.db", wantPath: "file:relative.db?"},
		{dsn: "sqlite:///abs/path.db", wantPath: "file:/abs/path.db?"},
		{dsn: "/odd/na?me#x%.db", wantPath: "file:/odd/na%3fme%23x%25.db?"},
		{dsn: "file:/x.db?_pragma=busy_timeout(1)", wantPath: "file:/x.db?"},
		{dsn: ":memory:", wantPath: "file::memory:?", wantMem: true},
		{dsn: "", wantError: "empty"},
		{dsn: "sqlite://", wantError: "names no file"},
		{dsn: "mysql://u:secret@h/db", wantError: "unsupported"},
	} {
		t.Run(tc.dsn, func(t *testing.T) {
			w, r, mem, err := sqliteDSNs(tc.dsn)
			if tc.wantError != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantError) {
					t.Fatalf("got error %v, want one containing %q", err, tc.wantError)
				}
				if strings.Contains(err.Error(), "secret") {
					t.Errorf("error %q shows the password", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(w, tc.wantPath) || !strings.HasPrefix(r, tc.wantPath) || mem != tc.wantMem {
				t.Errorf("got %q, %q, memory %v; want prefix %q, memory %v", w, r, mem, tc.wantPath, tc.wantMem)
			}
			for _, want := range []string{"_txlock=immediate", "foreign_keys", "journal_mode", "synchronous"} {
				if !strings.Contains(w, want) {
					t.Errorf("write DSN %q lacks %s", w, want)
				}
			}
			if strings.Contains(r, "_txlock") || !strings.Contains(r, "query_only") {
				t.Errorf("read DSN %q: want query_only and no _txlock", r)
			}
			if strings.Count(w, "busy_timeout") != 1 {
				t.Errorf("write DSN %q sets busy_timeout %d times, want once", w, strings.Count(w, "busy_timeout"))
			}
		})
	}
}

func TestRebind(t *testing.T) {
	pg := &DB{dialect: DialectPostgres}
	if got, want := pg.rebind(`SELECT a FROM t WHERE b = ? AND c IN (?, ?)`), `SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)`; got != want {
		t.Errorf("postgres: got %q, want %q", got, want)
	}
	lite := &DB{dialect: DialectSQLite}
	if got := lite.rebind(`x = ?`); got != `x = ?` {
		t.Errorf("sqlite: got %q, want it unchanged", got)
	}
}

func FuzzDecodePageToken(f *testing.F) {
	f.Add(encodePageToken("tokens", "1700000000000000", "abc"), "tokens", 2)
	f.Add(encodePageToken("workspaces", "default"), "workspaces", 1)
	f.Add("!!", "workspaces", 1)
	f.Add("", "secrets", 1)
	f.Fuzz(func(t *testing.T, token, list string, n int) {
		key, err := decodePageToken(token, list, n)
		if err != nil {
			if hangar.ErrorCode(err) != hangar.EINVALID {
				t.Fatalf("error %v has code %q, want %q", err, hangar.ErrorCode(err), hangar.EINVALID)
			}
			return
		}
		if token != "" && len(key) != n {
			t.Fatalf("decoded %d key parts, want %d", len(key), n)
		}
		if token != "" {
			if again, err := decodePageToken(encodePageToken(list, key...), list, n); err != nil || strings.Join(again, "\x00") != strings.Join(key, "\x00") {
				t.Fatalf("round trip of %q: got %q, %v", key, again, err)
			}
		}
	})
}

// benchmarkWrites measures one audited write (a secret set) per iteration,
// from parallel goroutines, which all serialise on the audit chain head.
func benchmarkWrites(b *testing.B, dsn string) {
	db := newTestDB(dsn)
	db.Sealer = storetest.NewSealer()
	if err := db.Open(b.Context()); err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	secrets := NewSecretService(db)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		name := "k" + hangar.NewID()
		for pb.Next() {
			if _, err := secrets.SetSecret(b.Context(), hangar.DefaultWorkspace, name, []byte("value")); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkSetSecretSQLite(b *testing.B) {
	benchmarkWrites(b, filepath.Join(b.TempDir(), "hangar.db"))
}

func BenchmarkSetSecretPostgres(b *testing.B) {
	benchmarkWrites(b, pgtest.URL(b))
}

func BenchmarkListWorkspacesSQLite(b *testing.B) {
	db := newTestDB(filepath.Join(b.TempDir(), "hangar.db"))
	if err := db.Open(b.Context()); err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ws := NewWorkspaceService(db)
	for i := range 100 {
		if err := ws.CreateWorkspace(b.Context(), &hangar.Workspace{Name: fmt.Sprintf("ws-%03d", i)}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := ws.ListWorkspaces(b.Context(), hangar.ListOptions{}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// TestPostgresConcurrentOpen starts three "servers" on one new database at
// once: migrations run once and the default workspace is created once.
func TestPostgresConcurrentOpen(t *testing.T) {
	dsn := pgtest.URL(t)
	errs := make(chan error, 3)
	dbs := make([]*DB, 3)
	for i := range dbs {
		dbs[i] = newTestDB(dsn)
		go func() { errs <- dbs[i].Open(t.Context()) }()
	}
	for range dbs {
		if err := <-errs; err != nil {
			t.Errorf("concurrent open: %v", err)
		}
	}
	for _, db := range dbs {
		defer db.Close()
	}
	if t.Failed() {
		return
	}
	v, err := NewAuditService(dbs[0]).VerifyAudit(t.Context())
	if err != nil || !v.OK || v.Events != 1 {
		t.Fatalf("verify: %+v, %v; want OK with 1 event (one default workspace)", v, err)
	}
}

// TestWrongKEKFailsOpen checks that a store whose secrets were sealed with
// one key refuses to open with another, on both databases.
func TestWrongKEKFailsOpen(t *testing.T) {
	for _, tc := range []struct {
		name string
		dsn  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "hangar.db") }},
		{"postgres", func(t *testing.T) string { return pgtest.URL(t) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dsn := tc.dsn(t)
			right := storetest.NewSealer()
			open := func(s hangar.Sealer) (*DB, error) {
				db := New(dsn)
				db.Sealer = s
				return db, db.Open(t.Context())
			}
			db, err := open(right)
			if err != nil {
				t.Fatal(err)
			}
			// No secrets yet: the audit chain, keyed with the key derived
			// from the KEK, refuses another key all the same.
			if other, err := open(storetest.NewSealer()); hangar.ErrorCode(err) != hangar.EINVALID || !strings.Contains(err.Error(), "audit key") || !strings.Contains(err.Error(), "key-encryption key") {
				if err == nil {
					other.Close()
				}
				t.Fatalf("open a store without secrets with another key: got %v, want an %s error about the audit key and the key-encryption key", err, hangar.EINVALID)
			}
			if _, err := NewSecretService(db).SetSecret(t.Context(), hangar.DefaultWorkspace, "k", []byte("v")); err != nil {
				t.Fatal(err)
			}
			db.Close()

			if _, err := open(storetest.NewSealer()); hangar.ErrorCode(err) != hangar.EINVALID || !strings.Contains(err.Error(), "key-encryption key") {
				t.Fatalf("open with another key: got %v, want an %s error about the key-encryption key", err, hangar.EINVALID)
			}
			again, err := open(right)
			if err != nil {
				t.Fatalf("open with the right key: %v", err)
			}
			again.Close()
		})
	}
}
