package sqlstore

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestOpenMissingDirectory: an SQLite file in a directory that does not
// exist is an error that names the path and the missing directory.
func TestOpenMissingDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nonexistent", "dir")
	for _, dsn := range []string{filepath.Join(dir, "x.db"), "sqlite://" + filepath.Join(dir, "x.db"), "file:" + filepath.Join(dir, "x.db") + "?cache=shared"} {
		db := newTestDB(dsn)
		err := db.Open(t.Context())
		if err == nil {
			db.Close()
			t.Fatalf("Open(%q) succeeded", dsn)
		}
		if !strings.Contains(err.Error(), filepath.Join(dir, "x.db")) || !strings.Contains(err.Error(), "does not exist") {
			t.Errorf("Open(%q): %v; want the path and that its directory does not exist", dsn, err)
		}
	}
}
