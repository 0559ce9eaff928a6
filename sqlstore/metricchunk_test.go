package sqlstore

import (
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/internal/pgtest"
)

func TestPackPoints(t *testing.T) {
	in := []hangar.Metric{
		{Key: "k", Timestamp: -1, Step: math.MinInt64, Value: math.Inf(-1)},
		{Key: "k", Timestamp: math.MaxInt64, Step: 0, Value: 0},
		{Key: "k", Timestamp: 0, Step: 7, Value: math.Float64frombits(0x7ff8000000000001)}, // a NaN with other bits
		{Key: "k", Timestamp: 3, Step: 3, Value: -0.5},
	}
	b := packPoints(nil, in)
	if len(b) != len(in)*pointSize {
		t.Fatalf("packed %d points into %d bytes, want %d", len(in), len(b), len(in)*pointSize)
	}
	out, err := unpackPoints(nil, "k", b)
	if err != nil {
		t.Fatal(err)
	}
	for i := range in {
		got, want := out[i], in[i]
		if got.Key != want.Key || got.Timestamp != want.Timestamp || got.Step != want.Step ||
			!(got.Value == want.Value || math.IsNaN(got.Value) && math.IsNaN(want.Value)) {
			t.Errorf("point %d: got %+v, want %+v", i, got, want)
		}
	}
	if _, err := unpackPoints(nil, "k", b[:pointSize+1]); err == nil {
		t.Error("a chunk of 25 bytes unpacked without an error")
	}
}

func TestSortPoints(t *testing.T) {
	nan := math.NaN()
	in := []hangar.Metric{
		{Timestamp: 2, Step: 0, Value: 1},
		{Timestamp: 1, Step: 5, Value: nan},
		{Timestamp: 1, Step: 5, Value: 3},
		{Timestamp: 1, Step: 5, Value: nan},
		{Timestamp: 2, Step: 0, Value: 1},
		{Timestamp: 1, Step: 4, Value: 9},
	}
	got := sortPoints(slices.Clone(in))
	want := []hangar.Metric{
		{Timestamp: 1, Step: 4, Value: 9},
		{Timestamp: 1, Step: 5, Value: 3},
		{Timestamp: 1, Step: 5, Value: nan},
		{Timestamp: 2, Step: 0, Value: 1},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d points %+v, want %d", len(got), got, len(want))
	}
	for i := range want {
		if comparePoints(got[i], want[i]) != 0 {
			t.Errorf("point %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
}

// TestMetricChunksMigration logs points, undoes migration 20 (the chunks
// go back into the metrics table), opens the store again (they move into
// chunks again) and reads every point back, on both backends.
func TestMetricChunksMigration(t *testing.T) {
	for _, b := range []struct {
		name string
		dsn  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "hangar.db") }},
		{"postgres", func(t *testing.T) string { return pgtest.URL(t) }},
	} {
		t.Run(b.name, func(t *testing.T) {
			ctx := t.Context()
			dsn := b.dsn(t)
			db := openDB(t, dsn)
			ts := NewTrackingService(db)
			run, err := ts.CreateRun(ctx, hangar.DefaultWorkspace, hangar.RunCreate{RunName: "migrated"})
			if err != nil {
				t.Fatal(err)
			}
			id := run.Info.RunID
			var logged []hangar.Metric
			for i := range 5000 {
				m := hangar.Metric{Key: "loss", Timestamp: 1700000000000 + int64(i%7), Step: int64(i), Value: 1 / float64(i+1)}
				if i%1000 == 3 {
					m.Value = math.NaN()
				}
				logged = append(logged, m)
			}
			for chunk := range slices.Chunk(logged, 1000) {
				if err := ts.LogBatch(ctx, hangar.DefaultWorkspace, id, hangar.LogBatch{Metrics: chunk}); err != nil {
					t.Fatal(err)
				}
			}
			// One logged twice: a duplicate, read once.
			if err := ts.LogBatch(ctx, hangar.DefaultWorkspace, id, hangar.LogBatch{Metrics: logged[:1]}); err != nil {
				t.Fatal(err)
			}
			p, err := db.migrations()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.DownTo(ctx, metricChunksVersion-1); err != nil {
				t.Fatalf("undo migration %d: %v", metricChunksVersion, err)
			}
			var n int
			if err := db.writer.QueryRowContext(ctx, `SELECT COUNT(*) FROM metrics`).Scan(&n); err != nil || n != len(logged) {
				t.Fatalf("points in the metrics table after undoing the migration: %d, %v; want %d", n, err, len(logged))
			}
			db.Close()
			db = openDB(t, dsn)
			ts = NewTrackingService(db)
			page, err := ts.MetricHistory(ctx, hangar.DefaultWorkspace, id, "loss", hangar.ListOptions{MaxResults: hangar.MaxMetricHistoryResults})
			if err != nil {
				t.Fatal(err)
			}
			want := sortPoints(slices.Clone(logged))
			if len(page.Items) != len(want) {
				t.Fatalf("history after the migration: %d points, want %d", len(page.Items), len(want))
			}
			for i := range want {
				if comparePoints(page.Items[i], want[i]) != 0 {
					t.Fatalf("point %d after the migration: got %+v, want %+v", i, page.Items[i], want[i])
				}
			}
		})
	}
}
