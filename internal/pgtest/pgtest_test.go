package pgtest

import (
	"database/sql"
	"testing"
)

func TestURLGivesAnEmptyPrivateDatabase(t *testing.T) {
	u1, u2 := URL(t), URL(t)
	if u1 == u2 {
		t.Fatalf("two calls returned the same database %s", u1)
	}
	db1, err := sql.Open("pgx", u1)
	if err != nil {
		t.Fatal(err)
	}
	defer db1.Close()
	var n int
	if err := db1.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM pg_tables WHERE schemaname = 'public'`).Scan(&n); err != nil {
		t.Fatalf("query new database: %v", err)
	}
	if n != 0 {
		t.Errorf("new database has %d tables, want 0", n)
	}
	if _, err := db1.ExecContext(t.Context(), `CREATE TABLE t (x INT)`); err != nil {
		t.Fatalf("create table: %v", err)
	}

	db2, err := sql.Open("pgx", u2)
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	if err := db2.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM pg_tables WHERE schemaname = 'public'`).Scan(&n); err != nil {
		t.Fatalf("query second database: %v", err)
	}
	if n != 0 {
		t.Errorf("second database sees %d tables of the first, want 0", n)
	}
}

func TestVersionOrdersNumerically(t *testing.T) {
	if version("/usr/lib/postgresql/15/bin") <= version("/usr/lib/postgresql/9/bin") {
		t.Errorf("version 15 does not sort above version 9")
	}
}
