package sqlstore

import (
	"io/fs"
	"strings"
	"testing"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/internal/pgtest"
	"github.com/pressly/goose/v3"
)

// TestBlobOwnershipBackfill: migration 00004 gives each workspace the blobs
// its audit log says were uploaded to it before the table existed, and not
// those of a deleted workspace whose name was taken again.
func TestBlobOwnershipBackfill(t *testing.T) {
	for _, b := range []struct {
		name string
		dsn  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return t.TempDir() + "/hangar.db" }},
		{"postgres", func(t *testing.T) string { return pgtest.URL(t) }},
	} {
		t.Run(b.name, func(t *testing.T) {
			dsn := b.dsn(t)
			db := openDB(t, dsn)
			ctx := hangar.WithActor(t.Context(), hangar.Actor{IdentityID: "id-alice", Name: "alice"})
			ws := NewWorkspaceService(db)
			idx := NewBlobIndex(db)
			digest := func(c string) hangar.Digest { return hangar.Digest("sha256:" + strings.Repeat(c, 64)) }
			step := func(what string, err error) {
				t.Helper()
				if err != nil {
					t.Fatalf("%s: %v", what, err)
				}
			}
			step("create team-a", ws.CreateWorkspace(ctx, &hangar.Workspace{Name: "team-a"}))
			step("create phoenix", ws.CreateWorkspace(ctx, &hangar.Workspace{Name: "phoenix"}))
			step("add a to team-a", idx.AddBlob(ctx, "team-a", hangar.BlobInfo{Digest: digest("a"), Size: 1}))
			step("add a to team-a again", idx.AddBlob(ctx, "team-a", hangar.BlobInfo{Digest: digest("a"), Size: 1}))
			step("add b to phoenix", idx.AddBlob(ctx, "phoenix", hangar.BlobInfo{Digest: digest("b"), Size: 2}))
			step("delete phoenix", ws.DeleteWorkspace(ctx, "phoenix"))
			step("re-create phoenix", ws.CreateWorkspace(ctx, &hangar.Workspace{Name: "phoenix"}))
			step("add c to phoenix", idx.AddBlob(ctx, "phoenix", hangar.BlobInfo{Digest: digest("c"), Size: 3}))

			// Back to a database from before migration 00004, whose uploads
			// are only in the audit log: the Down steps of 00004 and of every
			// later migration, so that reopening applies them all again in
			// order.
			downTo(t, db, 3)
			step("close", db.Close())
			idx = NewBlobIndex(openDB(t, dsn))

			for _, tc := range []struct {
				workspace string
				d         hangar.Digest
				owned     bool
			}{
				{"team-a", digest("a"), true},
				{"phoenix", digest("c"), true},
				{"phoenix", digest("b"), false}, // uploaded to the deleted phoenix
				{"team-a", digest("b"), false},
				{hangar.DefaultWorkspace, digest("a"), false},
			} {
				info, err := idx.WorkspaceBlob(ctx, tc.workspace, tc.d)
				switch {
				case tc.owned && (err != nil || info.Size != -1):
					t.Errorf("blob %s of %s after the migration: %+v, %v; want it owned with size -1 (unknown)", tc.d, tc.workspace, info, err)
				case !tc.owned && !hangar.IsCode(err, hangar.ENOTFOUND):
					t.Errorf("blob %s of %s after the migration: %+v, %v; want not found", tc.d, tc.workspace, info, err)
				}
			}
		})
	}
}

// downTo undoes the migrations of db after version.
func downTo(t *testing.T, db *DB, version int64) {
	t.Helper()
	dir, gd := "migrations/sqlite", goose.DialectSQLite3
	if db.dialect == DialectPostgres {
		dir, gd = "migrations/postgres", goose.DialectPostgres
	}
	fsys, err := fs.Sub(migrations, dir)
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(gd, db.writer, fsys, goose.WithDisableGlobalRegistry(true), goose.WithExcludeNames([]string{keyedAuditFile}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.DownTo(t.Context(), version); err != nil {
		t.Fatalf("migrate down to version %d: %v", version, err)
	}
}
