package sqlstore

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/hangar-ml/hangar"
)

// TestWriterPreparesRepeatedStatements checks the writer's statement
// cache: a statement run unprepared by a second write transaction is
// prepared after it and used by the next, a statement run once is not
// prepared, and the cache stays within maxPreparedStmts.
func TestWriterPreparesRepeatedStatements(t *testing.T) {
	db := openDB(t, filepath.Join(t.TempDir(), "hangar.db"))
	ctx := hangar.WithActor(t.Context(), hangar.Actor{IdentityID: "test", Name: "test"})
	prepared := func(q string) bool {
		db.writeStmts.mu.Lock()
		defer db.writeStmts.mu.Unlock()
		return db.writeStmts.stmts[q] != nil
	}
	run := func(q string) {
		t.Helper()
		if err := db.write(ctx, func(tx *wtx) error {
			var n int
			return tx.QueryRowContext(ctx, q).Scan(&n)
		}); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	const q = `SELECT COUNT(*) FROM workspaces WHERE name <> 'repeated'`
	run(q)
	if prepared(q) {
		t.Fatalf("prepared after one run; want it prepared after the second")
	}
	run(q)
	if !prepared(q) {
		t.Fatalf("not prepared after two runs")
	}
	run(q) // through the prepared statement
	for i := range 3 * maxPreparedStmts {
		q := fmt.Sprintf(`SELECT COUNT(*) FROM workspaces WHERE name <> 'x%d'`, i%(2*maxPreparedStmts))
		run(q)
	}
	db.writeStmts.mu.Lock()
	n := len(db.writeStmts.stmts) + len(db.writeStmts.pending)
	db.writeStmts.mu.Unlock()
	if n > maxPreparedStmts {
		t.Errorf("%d statements kept, want at most %d", n, maxPreparedStmts)
	}
	if !prepared(q) {
		t.Errorf("the first prepared statement was dropped")
	}
}
