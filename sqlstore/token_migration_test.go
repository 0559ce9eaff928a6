package sqlstore

import (
	"database/sql"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/internal/pgtest"
	"github.com/pressly/goose/v3"
)

// TestMigrationScopesTokens runs migration 00002 on a version-1 database
// holding the token rows the old code could leave (issue 7 #1, #3, #4): each
// token gets the scope its creation event records — not the wider one its
// identity's roles give it today — or, without an event, the scope derived
// until now; a token of a deleted workspace goes; an expiry in year 10000
// is clamped to hangar.MaxTime. Only migrations and raw SQL run, so later
// code does not have to work on the old schema.
func TestMigrationScopesTokens(t *testing.T) {
	for _, b := range []struct {
		name string
		dsn  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "hangar.db") }},
		{"postgres", func(t *testing.T) string { return pgtest.URL(t) }},
	} {
		t.Run(b.name, func(t *testing.T) { testMigrationScopesTokens(t, b.dsn(t)) })
	}
}

func testMigrationScopesTokens(t *testing.T, dsn string) {
	ctx := t.Context()
	db := New(dsn)
	var err error
	gd := goose.DialectSQLite3
	dir := "migrations/sqlite"
	if strings.HasPrefix(dsn, "postgres") {
		db.dialect, gd, dir = DialectPostgres, goose.DialectPostgres, "migrations/postgres"
		err = db.openPostgres()
	} else {
		db.dialect = DialectSQLite
		err = db.openSQLite()
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	fsys, err := fs.Sub(migrations, dir)
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(gd, db.writer, fsys, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 1); err != nil {
		t.Fatalf("migrate to version 1: %v", err)
	}

	now := time.Now().UTC().Truncate(time.Microsecond)
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.writer.ExecContext(ctx, db.rebind(q), args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	seq := 0
	event := func(target, workspace string) {
		t.Helper()
		seq++
		exec(`INSERT INTO audit_events (seq, time, actor, actor_id, action, target, workspace, request_id, prev_hash, hash)
			VALUES (?, ?, 'admin', 'id-admin', ?, ?, ?, '', ?, ?)`,
			seq, db.tv(now), hangar.ActTokenWrite, target, workspace, fmt.Sprint("prev", seq), fmt.Sprint("hash", seq))
	}
	for _, ws := range []string{"team-a", "team-b"} {
		exec(`INSERT INTO workspaces (name, created_at) VALUES (?, ?)`, ws, db.tv(now))
	}
	identities := []struct {
		name  string
		roles [][2]string // role, workspace ("" = server-wide)
	}{
		{"widened", [][2]string{{hangar.RoleReader, "team-a"}, {hangar.RoleReader, "team-b"}}},
		{"admin", [][2]string{{hangar.RoleOwner, ""}}},
		{"legacy", [][2]string{{hangar.RoleReader, "team-b"}}},
		{"legacy-wide", [][2]string{{hangar.RoleReader, "team-a"}, {hangar.RoleReader, "team-b"}}},
		{"orphan", nil}, // its workspace was deleted with its role
		{"far", [][2]string{{hangar.RoleReader, "team-a"}}},
	}
	for _, id := range identities {
		exec(`INSERT INTO identities (id, name, kind, created_at) VALUES (?, ?, 'service_principal', ?)`, "id-"+id.name, id.name, db.tv(now))
		for i, r := range id.roles {
			exec(`INSERT INTO role_assignments (id, identity_id, role, workspace, created_at) VALUES (?, ?, ?, ?, ?)`,
				fmt.Sprintf("ra-%s-%d", id.name, i), "id-"+id.name, r[0], nullString(r[1]), db.tv(now))
		}
	}
	year10000 := time.Date(10000, 1, 1, 23, 58, 59, 0, time.UTC)
	tokens := []struct {
		id, identity string
		event        bool   // a creation event was recorded
		minted       string // on this workspace
		expires      *time.Time
	}{
		{"t-widened", "widened", true, "team-a", nil}, // minted on team-a, then given a role on team-b
		{"t-admin", "admin", true, "", nil},
		{"t-legacy", "legacy", false, "", nil},
		{"t-legacy-wide", "legacy-wide", false, "", nil},
		{"t-orphan", "orphan", true, "gone", nil},
		{"t-far", "far", true, "team-a", &year10000},
	}
	for i, tok := range tokens {
		exec(`INSERT INTO tokens (id, name, identity_id, secret_hash, prefix, created_at, expires_at) VALUES (?, ?, ?, ?, 'hgr_x', ?, ?)`,
			tok.id, tok.identity, "id-"+tok.identity, []byte(fmt.Sprintf("%032d", i)), db.tv(now), db.tvPtr(tok.expires))
		if tok.event {
			event("tokens/"+tok.id, tok.minted)
		}
	}
	// An unrelated event with a similar target changes nothing.
	event("tokens/t-legacy/other", "team-a")

	if _, err := p.UpTo(ctx, 2); err != nil {
		t.Fatalf("migrate to version 2: %v", err)
	}

	want := map[string]string{
		"t-widened":     "team-a", // the minted scope, not today's derived "" (issue 7 #4)
		"t-admin":       "",
		"t-legacy":      "team-b",
		"t-legacy-wide": "",
		"t-far":         "team-a",
	}
	rows, err := db.reader.QueryContext(ctx, `SELECT id, COALESCE(workspace, ''), expires_at FROM tokens ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for rows.Next() {
		var id, ws string
		var exp dbTime
		if err := rows.Scan(&id, &ws, &exp); err != nil {
			t.Fatal(closeRows(rows, err))
		}
		got[id] = ws
		if id == "t-far" && (!exp.Valid || !exp.T.Equal(hangar.MaxTime)) {
			t.Errorf("expiry of t-far after migrating: %v, want %v", exp.T, hangar.MaxTime)
		}
	}
	if err := closeRows(rows, nil); err != nil {
		t.Fatal(err)
	}
	for id, ws := range want {
		if g, ok := got[id]; !ok || g != ws {
			t.Errorf("token %s after migrating: scope %q (present %v), want %q", id, g, ok, ws)
		}
	}
	if _, ok := got["t-orphan"]; ok {
		t.Errorf("the token of a deleted workspace survived the migration")
	}

	// And back: version 1's table holds every token it held.
	if _, err := p.DownTo(ctx, 1); err != nil {
		t.Fatalf("migrate down to version 1: %v", err)
	}
	var n int
	if err := db.reader.QueryRowContext(ctx, `SELECT COUNT(*) FROM tokens`).Scan(&n); err != nil || n != len(want) {
		t.Errorf("tokens after migrating down: %d (%v), want %d", n, err, len(want))
	}
	if _, err := p.UpTo(ctx, 2); err != nil {
		t.Fatalf("migrate up again: %v", err)
	}
	var scope sql.NullString
	if err := db.reader.QueryRowContext(ctx, `SELECT workspace FROM tokens WHERE id = 't-widened'`).Scan(&scope); err != nil || scope.String != "team-a" {
		t.Errorf("t-widened after down and up: %v (%v), want team-a", scope, err)
	}
}
