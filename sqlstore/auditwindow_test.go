package sqlstore

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/internal/pgtest"
	"github.com/hangar-ml/hangar/internal/storetest"
)

// TestMetricAuditWindow: metric-only writes of one actor to one run append
// one audit event a window; anything else, another actor, another run, or
// the next window appends its own; a write that fails marks nothing.
func TestMetricAuditWindow(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	db := newTestDB(filepath.Join(t.TempDir(), "hangar.db"))
	db.Sealer = storetest.NewSealer()
	db.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	if err := db.Open(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	alice := hangar.WithActor(t.Context(), hangar.Actor{IdentityID: "id-alice", Name: "alice"})
	bob := hangar.WithActor(t.Context(), hangar.Actor{IdentityID: "id-bob", Name: "bob"})
	ts := NewTrackingService(db)
	run1, err := ts.CreateRun(alice, hangar.DefaultWorkspace, hangar.RunCreate{RunName: "one"})
	if err != nil {
		t.Fatal(err)
	}
	run2, err := ts.CreateRun(alice, hangar.DefaultWorkspace, hangar.RunCreate{RunName: "two"})
	if err != nil {
		t.Fatal(err)
	}
	events := func() int {
		v, err := NewAuditService(db).VerifyAudit(t.Context())
		if err != nil || !v.OK {
			t.Fatalf("verify: %+v, %v", v, err)
		}
		return int(v.Events)
	}
	step := int64(0)
	metric := func() hangar.LogBatch {
		step++
		return hangar.LogBatch{Metrics: []hangar.Metric{{Key: "loss", Value: 1, Timestamp: 1, Step: step}}}
	}
	for _, tc := range []struct {
		name  string
		write func() error
		added int
	}{
		{"the first metric write appends an event", func() error { return ts.LogBatch(alice, hangar.DefaultWorkspace, run1.Info.RunID, metric()) }, 1},
		{"the next within the window appends none", func() error { return ts.LogBatch(alice, hangar.DefaultWorkspace, run1.Info.RunID, metric()) }, 0},
		{"another actor appends one", func() error { return ts.LogBatch(bob, hangar.DefaultWorkspace, run1.Info.RunID, metric()) }, 1},
		{"another run appends one", func() error { return ts.LogBatch(alice, hangar.DefaultWorkspace, run2.Info.RunID, metric()) }, 1},
		{"a param is audited every time", func() error {
			return ts.LogBatch(alice, hangar.DefaultWorkspace, run1.Info.RunID, hangar.LogBatch{Params: []hangar.Param{{Key: "p", Value: "1"}}})
		}, 1},
		{"a tag is audited every time", func() error {
			return ts.SetRunTag(alice, hangar.DefaultWorkspace, run1.Info.RunID, hangar.RunTag{Key: "t", Value: "1"})
		}, 1},
		{"still within the window", func() error {
			advance(MetricAuditWindow - time.Second)
			return ts.LogBatch(alice, hangar.DefaultWorkspace, run1.Info.RunID, metric())
		}, 0},
		{"the next window appends one", func() error {
			advance(time.Second)
			return ts.LogBatch(alice, hangar.DefaultWorkspace, run1.Info.RunID, metric())
		}, 1},
	} {
		before := events()
		if err := tc.write(); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := events() - before; got != tc.added {
			t.Errorf("%s: %d events appended, want %d", tc.name, got, tc.added)
		}
	}

	// A write that fails marks nothing: after a failed metric write to a
	// deleted run the next window's first write still appends an event.
	advance(MetricAuditWindow)
	if err := ts.DeleteRun(alice, hangar.DefaultWorkspace, run2.Info.RunID); err != nil {
		t.Fatal(err)
	}
	before := events()
	if err := ts.LogBatch(alice, hangar.DefaultWorkspace, run2.Info.RunID, metric()); err == nil {
		t.Fatal("logging to a deleted run succeeded")
	}
	if err := ts.RestoreRun(alice, hangar.DefaultWorkspace, run2.Info.RunID); err != nil {
		t.Fatal(err)
	}
	if err := ts.LogBatch(alice, hangar.DefaultWorkspace, run2.Info.RunID, metric()); err != nil {
		t.Fatal(err)
	}
	if got := events() - before; got != 2 { // restore, then the metric write
		t.Errorf("after a failed write: %d events appended, want 2 (restore and the write)", got)
	}
}

// TestMetricWritesDoNotDeadlockWithRunChanges: on PostgreSQL a metric
// write that appends an audit event and a run delete or restore (which
// lock the audit chain head, then the run's row) run side by side without
// a deadlock: the metric write takes the locks in the same order.
func TestMetricWritesDoNotDeadlockWithRunChanges(t *testing.T) {
	db := openDB(t, pgtest.URL(t))
	ctx := hangar.WithActor(t.Context(), hangar.Actor{IdentityID: "id-alice", Name: "alice"})
	ts := NewTrackingService(db)
	run, err := ts.CreateRun(ctx, hangar.DefaultWorkspace, hangar.RunCreate{RunName: "busy"})
	if err != nil {
		t.Fatal(err)
	}
	id := run.Info.RunID
	const rounds = 150
	errs := make(chan error, 2*rounds)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := range rounds {
			// Another actor each time: every write is due an audit event.
			actx := hangar.WithActor(t.Context(), hangar.Actor{IdentityID: fmt.Sprintf("id-%d", i), Name: "writer"})
			err := ts.LogBatch(actx, hangar.DefaultWorkspace, id, hangar.LogBatch{Metrics: []hangar.Metric{{Key: "m", Value: 1, Timestamp: 1, Step: int64(i)}}})
			if err != nil && hangar.ErrorCode(err) != hangar.EINVALID { // a deleted run is EINVALID
				errs <- err
			}
		}
	}()
	go func() {
		defer wg.Done()
		for i := range rounds {
			var err error
			if i%2 == 0 {
				err = ts.DeleteRun(ctx, hangar.DefaultWorkspace, id)
			} else {
				err = ts.RestoreRun(ctx, hangar.DefaultWorkspace, id)
			}
			if err != nil {
				errs <- err
			}
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent metric write and run change: %v", err)
	}
}
