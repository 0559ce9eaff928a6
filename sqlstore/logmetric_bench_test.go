package sqlstore

import (
	"path/filepath"
	"testing"

	"github.com/hangar-ml/hangar"
)

// BenchmarkLogOneMetricSQLite measures the store's part of an MLflow
// runs/log-metric: one point, one durable transaction, no HTTP.
func BenchmarkLogOneMetricSQLite(b *testing.B) {
	db := newTestDB(filepath.Join(b.TempDir(), "hangar.db"))
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
}
