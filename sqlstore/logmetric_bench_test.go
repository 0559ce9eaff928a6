package sqlstore

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/internal/pgtest"
)

// BenchmarkLogOneMetric measures the store's part of an MLflow
// runs/log-metric: one point, one durable transaction, no HTTP.
func BenchmarkLogOneMetric(b *testing.B) {
	for _, bk := range []struct{ name, dsn string }{
		{"sqlite", ""},
		{"postgres", "postgres"},
	} {
		b.Run(bk.name, func(b *testing.B) {
			dsn := filepath.Join(b.TempDir(), "hangar.db")
			if bk.dsn == "postgres" {
				dsn = pgtest.URL(b)
			}
			db := newTestDB(dsn)
			if err := db.Open(b.Context()); err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			ts := NewTrackingService(db)
			run, err := ts.CreateRun(b.Context(), hangar.DefaultWorkspace, hangar.RunCreate{RunName: "bench"})
			if err != nil {
				b.Fatal(err)
			}
			step := int64(0)
			b.ReportAllocs()
			for b.Loop() {
				m := hangar.Metric{Key: "loss", Value: float64(step) + .25, Timestamp: 1700000000000, Step: step}
				if err := ts.LogBatch(b.Context(), hangar.DefaultWorkspace, run.Info.RunID, hangar.LogBatch{Metrics: []hangar.Metric{m}}); err != nil {
					b.Fatal(err)
				}
				step++
			}
		})
	}
}

// BenchmarkPostgresFloor measures, sequentially on one connection, what
// the PostgreSQL part of a runs/log-metric is made of: a bare round trip
// (SELECT 1), the authentication generation read that every request
// makes, and the smallest write (an UPDATE of one row, committed on its
// own — on the test server's settings, fsync and synchronous_commit off:
// a floor, not a durable write). It is the floor under
// BenchmarkLogOneMetric/postgres and under the HTTP benchmark of httpapi
// (BENCHMARKS.md).
func BenchmarkPostgresFloor(b *testing.B) {
	db := newTestDB(pgtest.URL(b))
	if err := db.Open(b.Context()); err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.writer.SetMaxOpenConns(1) // the reader is the same pool on PostgreSQL
	ctx := context.WithoutCancel(b.Context())
	b.Run("select1", func(b *testing.B) {
		for b.Loop() {
			var one int
			if err := db.readRow(ctx, `SELECT 1`).Scan(&one); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("auth-generation", func(b *testing.B) {
		for b.Loop() {
			if _, err := db.authGeneration(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("update-commit", func(b *testing.B) {
		if _, err := db.writer.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS bench_floor (id int PRIMARY KEY, n bigint)`); err != nil {
			b.Fatal(err)
		}
		if _, err := db.writer.ExecContext(ctx, `INSERT INTO bench_floor VALUES (1, 0) ON CONFLICT DO NOTHING`); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := db.writer.ExecContext(ctx, `UPDATE bench_floor SET n = n + 1 WHERE id = 1`); err != nil {
				b.Fatal(err)
			}
		}
	})
}
