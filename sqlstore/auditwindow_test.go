package sqlstore

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
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

// TestMetricWritesWithinTheWindow: metric writes no audit event is due for
// (on PostgreSQL one statement of their own, appendMetricPostgres) keep
// every acknowledged point and refuse an unknown or deleted run, storing
// nothing — also while other writers log, append audit events, and delete
// and restore the run, on both stores.
func TestMetricWritesWithinTheWindow(t *testing.T) {
	for _, tc := range []struct{ name, dsn string }{
		{"sqlite", filepath.Join(t.TempDir(), "hangar.db")},
		{"postgres", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dsn := tc.dsn
			if dsn == "" {
				dsn = pgtest.URL(t)
			}
			db := openDB(t, dsn)
			ts := NewTrackingService(db)
			alice := hangar.WithActor(t.Context(), hangar.Actor{IdentityID: "id-alice", Name: "alice"})
			log := func(ctx context.Context, id, key string, step int64) error {
				return ts.LogBatch(ctx, hangar.DefaultWorkspace, id, hangar.LogBatch{Metrics: []hangar.Metric{{Key: key, Value: float64(step), Timestamp: 1, Step: step}}})
			}
			run, err := ts.CreateRun(alice, hangar.DefaultWorkspace, hangar.RunCreate{RunName: "busy"})
			if err != nil {
				t.Fatal(err)
			}
			id := run.Info.RunID
			if err := log(alice, id, "warm", 0); err != nil { // opens alice's window on the run
				t.Fatal(err)
			}
			if err := log(alice, strings.Repeat("0", 32), "m", 1); hangar.ErrorCode(err) != hangar.ENOTFOUND {
				t.Fatalf("unknown run: got %v, want ENOTFOUND", err)
			}

			// Two writers within their windows, one due an event each time,
			// and one deleting and restoring the run.
			const rounds = 120
			var wg sync.WaitGroup
			var mu sync.Mutex
			acked := map[string]int{}
			errs := make(chan error, 4*rounds)
			writer := func(key string, actor func(i int) context.Context) {
				defer wg.Done()
				for i := range rounds {
					err := log(actor(i), id, key, int64(i))
					switch {
					case err == nil:
						mu.Lock()
						acked[key]++
						mu.Unlock()
					case hangar.ErrorCode(err) != hangar.EINVALID: // a deleted run is EINVALID
						errs <- err
					}
				}
			}
			wg.Add(4)
			go writer("a", func(int) context.Context { return alice })
			go writer("b", func(int) context.Context { return alice })
			go writer("c", func(i int) context.Context {
				return hangar.WithActor(t.Context(), hangar.Actor{IdentityID: fmt.Sprintf("id-%d", i), Name: "writer"})
			})
			go func() {
				defer wg.Done()
				for i := range rounds / 4 {
					var err error
					if i%2 == 0 {
						err = ts.DeleteRun(alice, hangar.DefaultWorkspace, id)
					} else {
						err = ts.RestoreRun(alice, hangar.DefaultWorkspace, id)
					}
					if err != nil {
						errs <- err
					}
				}
			}()
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Errorf("concurrent writes: %v", err)
			}
			for _, key := range []string{"a", "b", "c"} {
				h, err := ts.MetricHistory(alice, hangar.DefaultWorkspace, id, key, hangar.ListOptions{MaxResults: 1000})
				if err != nil && hangar.ErrorCode(err) != hangar.ENOTFOUND {
					t.Fatal(err)
				}
				got := 0
				if h != nil {
					got = len(h.Items)
				}
				if got != acked[key] {
					t.Errorf("metric %s: %d points stored, %d acknowledged", key, got, acked[key])
				}
			}

			// The run ends deleted (rounds/4 changes, the last a restore
			// when rounds/4 is even): delete it if it is not, and a write
			// within the window stores nothing.
			r, err := ts.Run(alice, hangar.DefaultWorkspace, id)
			if err != nil {
				t.Fatal(err)
			}
			if r.Info.LifecycleStage == hangar.LifecycleActive {
				if err := ts.DeleteRun(alice, hangar.DefaultWorkspace, id); err != nil {
					t.Fatal(err)
				}
			}
			if err := log(alice, id, "late", 1); hangar.ErrorCode(err) != hangar.EINVALID {
				t.Fatalf("deleted run: got %v, want EINVALID", err)
			}
			h, err := ts.MetricHistory(alice, hangar.DefaultWorkspace, id, "late", hangar.ListOptions{MaxResults: 10})
			if err == nil && len(h.Items) > 0 {
				t.Errorf("a write to a deleted run stored %d points", len(h.Items))
			}
		})
	}
}
