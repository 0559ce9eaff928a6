package release

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/hangar-ml/hangar"
)

// flakyData fails the first `fail` registrations (all, with fail < 0)
// with code (default EUNAVAILABLE), then registers through the real data
// service. With block set, every registration waits for its context's
// end instead.
type flakyData struct {
	DataVersions
	mu    sync.Mutex
	fail  int
	code  string
	block bool
	calls int
}

func (d *flakyData) CreateDataVersion(ctx context.Context, workspace string, a *hangar.DataAsset) (*hangar.DataAsset, error) {
	d.mu.Lock()
	d.calls++
	failing := d.fail < 0 || d.calls <= d.fail
	code, block := cmp.Or(d.code, hangar.EUNAVAILABLE), d.block
	d.mu.Unlock()
	if block {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if failing {
		return nil, hangar.Errorf(code, "the data store refused it")
	}
	return d.DataVersions.CreateDataVersion(ctx, workspace, a)
}

func (d *flakyData) callCount() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.calls
}

func (d *flakyData) setFail(n int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.fail, d.calls = n, 0
}

// captureFixture is a fixture whose service captures every request of
// endpoint "churn", deployment blue, through data, with a clock that
// later can jump past the capture windows' end.
type captureFixture struct {
	*fixture
	data *flakyData
	skew atomic.Int64 // added to the clock
	reg  *prometheus.Registry
	dir  string
	keys *hangar.EndpointKeys
}

func newCaptureFixture(t *testing.T, fail int) *captureFixture {
	t.Helper()
	cf := &captureFixture{fixture: newFixture(t), reg: prometheus.NewRegistry(), dir: t.TempDir()}
	cf.data = &flakyData{DataVersions: cf.fixture.data, fail: fail}
	cf.svc = cf.open(t, func(c *collector) {
		c.retryBase, c.retryMax = 20*time.Millisecond, 50*time.Millisecond
	})
	cf.createEndpoint(t, "churn", "")
	s := spec(cf.good)
	s.DataCollector = &hangar.DataCollector{SamplingRate: 1, RollingRate: "Hour"}
	cf.deploy(t, "churn", "blue", s, true, hangar.StateSucceeded)
	cf.waitAllTraffic(t, "churn", "blue")
	cf.keys, _ = cf.svc.EndpointKeys(cf.ctx, ws, "churn")
	return cf
}

// open starts a service on the fixture's staging folder; tune adjusts
// the workspace's collector before its first window.
func (cf *captureFixture) open(t *testing.T, tune func(*collector)) *Service {
	t.Helper()
	return cf.newServiceWith(t, func(s *Service) {
		s.Dir, s.Data, s.Registerer = cf.dir, cf.data, cf.reg
		s.Now = func() time.Time { return time.Now().Add(time.Duration(cf.skew.Load())) }
		s.mu.Lock()
		c := s.collectorLocked(ws)
		s.mu.Unlock()
		if tune != nil {
			tune(c)
		}
	})
}

// capture scores n requests and closes their windows: the clock jumps
// past their end.
func (cf *captureFixture) capture(t *testing.T, n int) {
	t.Helper()
	for range n {
		if code, body := score(t, cf.svc, "churn", cf.keys.Primary); code != 200 {
			t.Fatalf("score: got %d %s", code, body)
		}
	}
	// The gateway hands records on asynchronously: let them all reach the
	// files (an early jump of the clock would close a window between two
	// records).
	waitFor(t, "the captured records on disk", func() bool {
		return len(windowDirs(t, cf.dir)) == 2 && capturedLines(cf.dir) == 2*n
	})
	cf.skew.Add(int64(2 * time.Hour))
}

// capturedLines counts the records in the window files of the staging
// folder.
func capturedLines(dir string) int {
	n := 0
	_ = filepath.WalkDir(filepath.Join(dir, "capture"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".jsonl") {
			b, _ := os.ReadFile(p)
			n += bytes.Count(b, []byte("\n"))
		}
		return nil
	})
	return n
}

// windowDirs lists the window folders in the staging folder.
func windowDirs(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	ds, _ := filepath.Glob(filepath.Join(dir, "capture", ws, "*", "*", "*", "*"))
	for _, d := range ds {
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			out = append(out, d)
		}
	}
	return out
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 20 s for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (cf *captureFixture) registered(name string) bool {
	_, err := cf.fixture.data.LatestDataVersion(cf.ctx, ws, name)
	return err == nil
}

func (cf *captureFixture) dropped() float64 {
	return testutil.ToFloat64(cf.svc.sinks[ws].dropped)
}

func TestCaptureRetriesAFailedRegistration(t *testing.T) {
	cf := newCaptureFixture(t, 3) // inputs fail twice, outputs once (or the other way)
	cf.capture(t, 3)
	for _, name := range []string{"churn-blue-model_inputs", "churn-blue-model_outputs"} {
		waitFor(t, name+" registered", func() bool { return cf.registered(name) })
	}
	// A window's folder goes first, then its sidecar (removeWindow): wait
	// for both.
	sidecars := func() []string {
		side, _ := filepath.Glob(filepath.Join(cf.dir, "capture", ws, "*", "*", "*", "*.json"))
		return side
	}
	waitFor(t, "the registered windows' files and sidecars removed", func() bool { return len(windowDirs(t, cf.dir)) == 0 && len(sidecars()) == 0 })
	cf.data.mu.Lock()
	calls := cf.data.calls
	cf.data.mu.Unlock()
	if calls != 5 {
		t.Errorf("registrations: got %d calls, want 5 (3 failed, 2 passed)", calls)
	}
	a, err := cf.fixture.data.LatestDataVersion(cf.ctx, ws, "churn-blue-model_inputs")
	if err != nil {
		t.Fatal(err)
	}
	if text := readAsset(t, cf.fixture, a); strings.Count(text, `"correlationid"`) != 3 {
		t.Errorf("the registered window: got\n%s\nwant 3 records", text)
	}
	if got := cf.dropped(); got != 0 {
		t.Errorf("dropped windows: got %v, want 0", got)
	}
}

func TestCaptureDropsAWindowAfterItsLastAttempt(t *testing.T) {
	cf := newCaptureFixture(t, -1)
	cf.svc.sinks[ws].mu.Lock()
	cf.svc.sinks[ws].maxAttempts = 3
	cf.svc.sinks[ws].mu.Unlock()
	cf.capture(t, 2)
	waitFor(t, "both windows dropped", func() bool { return cf.dropped() == 2 })
	if d := windowDirs(t, cf.dir); len(d) != 0 {
		t.Errorf("files of dropped windows left: %v", d)
	}
	cf.data.mu.Lock()
	calls := cf.data.calls
	cf.data.mu.Unlock()
	if calls != 6 {
		t.Errorf("registrations: got %d calls, want 3 attempts of 2 windows", calls)
	}
	if cf.registered("churn-blue-model_inputs") {
		t.Errorf("a window registered through a failing data store")
	}
}

func TestCaptureKeepsAtMostMaxPendingWindows(t *testing.T) {
	cf := newCaptureFixture(t, -1)
	c := cf.svc.sinks[ws]
	c.mu.Lock()
	c.maxPending = 1
	c.retryBase, c.retryMax = time.Hour, time.Hour // no retry during the test
	c.mu.Unlock()
	cf.capture(t, 2)
	waitFor(t, "one window dropped", func() bool { return cf.dropped() == 1 })
	waitFor(t, "one window pending", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return len(c.pending) == 1
	})
	if d := windowDirs(t, cf.dir); len(d) != 1 {
		t.Errorf("window folders: got %v, want the pending one's only", d)
	}
	// The metric is on the service's registry, labelled with the workspace.
	n, err := testutil.GatherAndCount(cf.reg, "hangar_serving_capture_windows_dropped_total")
	if err != nil || n != 1 {
		t.Errorf("metric: got %d series, %v; want 1", n, err)
	}
}

// TestCaptureWindowsOnDiskAreRegisteredAtStart: windows a stopped server
// could not register stay on disk and the next start registers them.
func TestCaptureWindowsOnDiskAreRegisteredAtStart(t *testing.T) {
	cf := newCaptureFixture(t, -1)
	cf.leavePendingWindows(t, 2)
	if d := windowDirs(t, cf.dir); len(d) != 2 {
		t.Fatalf("after Close: window folders %v, want 2", d)
	}
	cf.data.setFail(0)
	cf.svc = cf.open(t, nil)
	for _, name := range []string{"churn-blue-model_inputs", "churn-blue-model_outputs"} {
		waitFor(t, name+" registered after the start", func() bool { return cf.registered(name) })
	}
	waitFor(t, "the files removed", func() bool { return len(windowDirs(t, cf.dir)) == 0 })
	a, err := cf.fixture.data.LatestDataVersion(cf.ctx, ws, "churn-blue-model_outputs")
	if err != nil {
		t.Fatal(err)
	}
	if a.Tags["window_end"] == "" || a.Tags["deployment"] != "blue" {
		t.Errorf("tags of a window registered after a restart: got %v", a.Tags)
	}
}

// TestRecoveredWindowOfAnOlderServer: a window folder without a sidecar
// (written before them) is registered under the default data name.
func TestRecoveredWindowOfAnOlderServer(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "churn", "blue", "model_outputs", "1796043600-123")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	w := recoveredWindow(dir)
	if w == nil {
		t.Fatal("not recovered")
	}
	if w.endpoint != "churn" || w.deployment != "blue" || w.col.dataName != "churn-blue-model_outputs" || !w.col.output ||
		!w.start.Equal(time.Unix(1796043600, 0)) || !w.end.IsZero() {
		t.Errorf("got %+v", w)
	}
	for _, bad := range []string{"x-1", "notanumber"} {
		d := filepath.Join(filepath.Dir(dir), bad)
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
		if w := recoveredWindow(d); w != nil {
			t.Errorf("%s: got %+v, want none", bad, w)
		}
	}
}

// TestCaptureWindowsOnDiskAreTriedBeforeTheCap: at start every window an
// earlier run left gets an attempt, however many there are; the cap of
// pending windows applies only to windows tried and failed.
func TestCaptureWindowsOnDiskAreTriedBeforeTheCap(t *testing.T) {
	cf := newCaptureFixture(t, -1)
	cf.leavePendingWindows(t, 2)
	cf.data.setFail(0)
	cf.svc = cf.open(t, func(c *collector) { c.maxPending = 1 })
	for _, name := range []string{"churn-blue-model_inputs", "churn-blue-model_outputs"} {
		waitFor(t, name+" registered after the start", func() bool { return cf.registered(name) })
	}
	if got := cf.dropped(); got != 0 {
		t.Errorf("dropped windows: got %v, want 0", got)
	}
}

func TestCaptureDropsAWindowAtOnceOnAPermanentError(t *testing.T) {
	for _, code := range []string{hangar.EINVALID, hangar.EFORBIDDEN, hangar.ENOTFOUND} {
		t.Run(code, func(t *testing.T) {
			cf := newCaptureFixture(t, -1)
			cf.data.mu.Lock()
			cf.data.code = code
			cf.data.mu.Unlock()
			cf.capture(t, 2)
			waitFor(t, "both windows dropped", func() bool { return cf.dropped() == 2 })
			if d := windowDirs(t, cf.dir); len(d) != 0 {
				t.Errorf("files of dropped windows left: %v", d)
			}
			time.Sleep(200 * time.Millisecond) // retries, if any, would come every 20-50 ms
			if got := cf.data.callCount(); got != 2 {
				t.Errorf("registrations: got %d calls, want 1 attempt of 2 windows", got)
			}
			c := cf.svc.sinks[ws]
			c.mu.Lock()
			n := len(c.pending)
			c.mu.Unlock()
			if n != 0 {
				t.Errorf("pending windows: got %d, want 0", n)
			}
		})
	}
}

// TestCloseLeavesWindowsOnDiskWhenTheDataStoreHangs: Close bounds the
// upload of the open windows by one deadline; what it cut off stays on
// disk and the next start registers it.
func TestCloseLeavesWindowsOnDiskWhenTheDataStoreHangs(t *testing.T) {
	cf := newCaptureFixture(t, 0)
	for range 2 {
		if code, body := score(t, cf.svc, "churn", cf.keys.Primary); code != 200 {
			t.Fatalf("score: got %d %s", code, body)
		}
	}
	waitFor(t, "the captured records on disk", func() bool { return len(windowDirs(t, cf.dir)) == 2 })
	cf.data.mu.Lock()
	cf.data.block = true
	cf.data.mu.Unlock()
	cf.svc.closeUpload = 300 * time.Millisecond
	start := time.Now()
	if err := cf.svc.Close(); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("Close took %v with a hanging data store, want about 300 ms", took)
	}
	if d := windowDirs(t, cf.dir); len(d) != 2 {
		t.Fatalf("after Close: window folders %v, want 2", d)
	}
	if side, _ := filepath.Glob(filepath.Join(cf.dir, "capture", ws, "*", "*", "*", "*.json")); len(side) != 2 {
		t.Errorf("after Close: sidecars %v, want 2", side)
	}
	cf.data.mu.Lock()
	cf.data.block = false
	cf.data.mu.Unlock()
	cf.svc = cf.open(t, nil)
	for _, name := range []string{"churn-blue-model_inputs", "churn-blue-model_outputs"} {
		waitFor(t, name+" registered after the start", func() bool { return cf.registered(name) })
	}
	waitFor(t, "the files removed", func() bool { return len(windowDirs(t, cf.dir)) == 0 })
}

// TestCloseDoesNotRetryPendingWindows: windows waiting for a retry are
// left on disk at Close, untried, for the next start.
func TestCloseDoesNotRetryPendingWindows(t *testing.T) {
	cf := newCaptureFixture(t, -1)
	c := cf.svc.sinks[ws]
	c.mu.Lock()
	c.retryBase, c.retryMax = time.Millisecond, time.Millisecond
	c.mu.Unlock()
	cf.capture(t, 2)
	waitFor(t, "two windows pending", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return len(c.pending) == 2
	})
	// Stop the roll loop's retries, so that only Close could try again.
	cf.data.mu.Lock()
	cf.data.block = true
	cf.data.mu.Unlock()
	cf.svc.closeUpload = 20 * time.Second
	start := time.Now()
	if err := cf.svc.Close(); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Close took %v: it retried the pending windows", took)
	}
	if d := windowDirs(t, cf.dir); len(d) != 2 {
		t.Errorf("after Close: window folders %v, want 2", d)
	}
}

// leavePendingWindows captures n windows, waits until they are pending
// (their registration failed: the fixture fails it) and closes the
// service, which leaves them on disk.
func (cf *captureFixture) leavePendingWindows(t *testing.T, n int) {
	t.Helper()
	cf.capture(t, n)
	c := cf.svc.sinks[ws]
	waitFor(t, fmt.Sprintf("%d windows pending", n), func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return len(c.pending) == n
	})
	if err := cf.svc.Close(); err != nil {
		t.Fatal(err)
	}
}
