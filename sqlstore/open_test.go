package sqlstore

import (
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/internal/pgtest"
)

// TestOpenRefusesWhatIsNotHangars checks that only a missing file starts a
// fresh store: an empty file, or another application's database, is refused
// with a message naming the file, and nothing is written to it.
func TestOpenRefusesWhatIsNotHangars(t *testing.T) {
	t.Run("zero-length file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "hangar.db")
		if err := os.WriteFile(path, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		err := newTestDB(path).Open(t.Context())
		if !hangar.IsCode(err, hangar.EINVALID) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "empty") {
			t.Fatalf("open a zero-length file: %v, want EINVALID naming %s as empty", err, path)
		}
		if st, err := os.Stat(path); err != nil || st.Size() != 0 {
			t.Errorf("the refused file changed: %v, %v", st, err)
		}
	})
	t.Run("another application's SQLite database", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "app.db")
		other, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := other.Exec(`CREATE TABLE customers (id INTEGER PRIMARY KEY)`); err != nil {
			t.Fatal(err)
		}
		other.Close()
		err = newTestDB(path).Open(t.Context())
		if !hangar.IsCode(err, hangar.EINVALID) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "customers") {
			t.Fatalf("open another application's database: %v, want EINVALID naming the file and its tables", err)
		}
	})
	t.Run("another application's PostgreSQL database", func(t *testing.T) {
		url := pgtest.URL(t)
		other, err := sql.Open("pgx", url)
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		if _, err := other.Exec(`CREATE TABLE customers (id INTEGER PRIMARY KEY)`); err != nil {
			t.Fatal(err)
		}
		err = newTestDB(url).Open(t.Context())
		if !hangar.IsCode(err, hangar.EINVALID) || !strings.Contains(err.Error(), "customers") {
			t.Fatalf("open another application's database: %v, want EINVALID naming its tables", err)
		}
	})
}

// TestSQLiteFilesArePrivate checks that the database and its WAL are not
// readable by other users, whatever the umask, and that a world-readable
// database file is tightened when opened.
func TestSQLiteFilesArePrivate(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "hangar.db")
	db := openDB(t, path)
	if err := NewWorkspaceService(db).CreateWorkspace(t.Context(), &hangar.Workspace{Name: "private"}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatalf("stat %s: %v", p, err)
		}
		if st.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %v, want no access for group and others", filepath.Base(p), st.Mode().Perm())
		}
	}
	db.Close()
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	openDB(t, path)
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("reopened database has mode %v, want 0600", st.Mode().Perm())
	}
}
