package serving

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/hangar-ml/hangar"
)

// memSink keeps captured records; block, when set, holds every write
// until it is closed.
type memSink struct {
	mu      sync.Mutex
	records []Record
	block   chan struct{}
}

func (s *memSink) WriteCapture(ctx context.Context, batch []Record) error {
	if s.block != nil {
		select {
		case <-s.block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records = append(s.records, batch...)
	return nil
}

func (s *memSink) byID(id string) (Record, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.records {
		if r.ID == id {
			return r, true
		}
	}
	return Record{}, false
}

func TestCapture(t *testing.T) {
	sink := &memSink{}
	tg := newTestGateway(t, func(g *Gateway) { g.Sink, g.CaptureInterval = sink, 5*time.Millisecond })
	m := trainGBDT(t, hangar.ObjectiveRegSquaredError, 5, 3)
	tg.deploy(t, DeploymentSpec{Name: "on", Model: m, ModelVersion: "7", Capture: CaptureSettings{SamplingRate: 1}})
	tg.deploy(t, DeploymentSpec{Name: "off", Model: m})
	tg.traffic(t, map[string]int{"on": 100}, nil)

	tests := []struct {
		name   string
		hdr    []string
		wantID string // "" = generated
	}{
		{"caller's x-request-id", []string{HeaderRequestID, "order-42"}, "order-42"},
		{"caller's x-ms-client-request-id", []string{HeaderClientRequestID, "client-7"}, "client-7"},
		{"unsafe id is replaced", []string{HeaderRequestID, "a b\tc"}, ""},
		{"generated id", nil, ""},
	}
	body := `{"data": [[1, 2, 3]]}`
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tg.post(t, nil, "/endpoints/ep/score", "", body, tt.hdr...)
			if err != nil || got.status != 200 {
				t.Fatalf("got %d %s %v", got.status, got.body, err)
			}
			id := got.header.Get(HeaderRequestID)
			if tt.wantID != "" && id != tt.wantID {
				t.Errorf("x-request-id: got %q, want %q", id, tt.wantID)
			}
			if tt.wantID == "" && (len(id) != 36 || strings.Count(id, "-") != 4) {
				t.Errorf("generated x-request-id %q: want a UUID-shaped id", id)
			}
			var rec Record
			waitFor(t, func() bool { var ok bool; rec, ok = sink.byID(id); return ok })
			if string(rec.Input) != body || string(rec.Output) != got.body || rec.Deployment != "on" || rec.ModelVersion != "7" || rec.Protocol != "score" || rec.Status != 200 {
				t.Errorf("record: got %+v (input %s, output %s), want the request and answer of deployment on", rec, rec.Input, rec.Output)
			}
		})
	}
	t.Run("sampling rate 0 captures nothing", func(t *testing.T) {
		got, _ := tg.post(t, nil, "/endpoints/ep/score", "", body, HeaderDeployment, "off", HeaderRequestID, "not-captured")
		if got.status != 200 {
			t.Fatalf("got %d %s", got.status, got.body)
		}
		time.Sleep(30 * time.Millisecond)
		if _, ok := sink.byID("not-captured"); ok {
			t.Error("a request of a deployment without capture was captured")
		}
	})
}

func TestCaptureFullBufferDrops(t *testing.T) {
	sink := &memSink{block: make(chan struct{})}
	tg := newTestGateway(t, func(g *Gateway) { g.Sink, g.CaptureBuffer, g.CaptureBatch = sink, 4, 1 })
	tg.deploy(t, DeploymentSpec{Name: "on", Model: trainGBDT(t, hangar.ObjectiveRegSquaredError, 5, 3), Capture: CaptureSettings{SamplingRate: 1}})
	tg.traffic(t, map[string]int{"on": 100}, nil)
	const n = 50
	start := time.Now()
	for range n {
		got, err := tg.post(t, nil, "/endpoints/ep/score", "", `{"data": [[1, 2, 3]]}`)
		if err != nil || got.status != 200 {
			t.Fatalf("with a stuck sink: got %d %s %v, want 200", got.status, got.body, err)
		}
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("%d requests with a stuck sink took %v", n, d)
	}
	dropped := tg.CaptureDropped()
	if dropped < n-6 {
		t.Errorf("dropped %d of %d with a buffer of 4 and a stuck sink, want at least %d", dropped, n, n-6)
	}
	if got := testutil.ToFloat64(tg.metrics.captureDropped); got != float64(dropped) {
		t.Errorf("hangar_serving_capture_dropped_total: got %v, want %d", got, dropped)
	}
	close(sink.block)
}

func TestDirSink(t *testing.T) {
	dir := t.TempDir()
	s := &DirSink{Dir: dir, Instance: "i1"}
	at := time.Date(2026, 11, 30, 10, 5, 0, 0, time.UTC)
	recs := []Record{
		{ID: "c1", Endpoint: "ep", Deployment: "blue", ModelVersion: "3", Protocol: "score", Time: at, Status: 200, Input: []byte(`{"data":[[1,2]]}`), Output: []byte(`[0.5]`)},
		{ID: "c2", Endpoint: "ep", Deployment: "blue", Protocol: "invocations", Time: at, Status: 200, Input: []byte("a,b\n1,2\n"), Output: []byte(`{"predictions":[1]}`)},
	}
	// Two batches: the second appends to the same hour's files.
	for _, batch := range [][]Record{recs[:1], recs[1:]} {
		if err := s.WriteCapture(t.Context(), batch); err != nil {
			t.Fatal(err)
		}
	}
	for _, kind := range []string{"model_inputs", "model_outputs"} {
		path := filepath.Join(dir, "ep", "blue", kind, "2026", "11", "30", "10", "i1.jsonl")
		f, err := os.Open(path)
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		var ids []string
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var ev map[string]any
			if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
				t.Fatalf("%s: line %q: %v", path, sc.Text(), err)
			}
			if ev["type"] != "azureml.inference."+kind || ev["specversion"] != "1.0" || ev["data"] == nil {
				t.Errorf("%s: event %v", kind, ev)
			}
			id := ev["correlationid"].(string)
			proto := map[string]string{"c1": "score", "c2": "invocations"}[id]
			for k, want := range map[string]string{"id": id + "-" + kind, "source": "/endpoints/ep/deployments/blue", "agent": "hangar-serving/" + proto, "xrequestid": id} {
				if ev[k] != want {
					t.Errorf("%s: %s: got %v, want %q", kind, k, ev[k], want)
				}
			}
			ids = append(ids, id)
		}
		f.Close()
		if strings.Join(ids, ",") != "c1,c2" {
			t.Errorf("%s: correlation ids %v, want c1,c2", kind, ids)
		}
	}
}

// countingRunner counts the requests it answers.
type countingRunner struct {
	n     atomic.Int64
	delay time.Duration
}

func (r *countingRunner) Run(ctx context.Context, raw []byte) ([]byte, error) {
	r.n.Add(1)
	time.Sleep(r.delay)
	return []byte(`["mirror"]`), nil
}
func (r *countingRunner) Close() error { return nil }

func (r *countingRunner) WorkerStats() []WorkerStat {
	return []WorkerStat{{PID: 4242, CPUSeconds: 1.5, RSSBytes: 1 << 20}}
}

func TestMirror(t *testing.T) {
	m := trainGBDT(t, hangar.ObjectiveRegSquaredError, 5, 3)
	t.Run("copies the share and discards the answers", func(t *testing.T) {
		const n = 400
		// Room for every copy at once: on a loaded machine copies pile up
		// beyond the default bound and are dropped (counted), which is
		// the next subtest's; this one counts the share.
		tg := newTestGateway(t, func(g *Gateway) { g.MirrorConcurrency = n })
		shadow := &countingRunner{}
		tg.deploy(t, DeploymentSpec{Name: "blue", Model: m})
		tg.deploy(t, DeploymentSpec{Name: "shadow", Script: shadow})
		tg.traffic(t, map[string]int{"blue": 100}, map[string]int{"shadow": 50})
		for range n {
			got, _ := tg.post(t, nil, "/endpoints/ep/score", "", `{"data": [[1, 2, 3]]}`)
			if got.status != 200 || got.header.Get(HeaderDeployment) != "blue" || strings.Contains(got.body, "mirror") {
				t.Fatalf("got %d %s from %s, want blue's answer", got.status, got.body, got.header.Get(HeaderDeployment))
			}
		}
		waitFor(t, func() bool { return tg.mirrorIdle() })
		if c := shadow.n.Load(); c < n/2-80 || c > n/2+80 {
			t.Errorf("mirror got %d of %d requests at 50 %%", c, n)
		}
		before := shadow.n.Load()
		for range 20 {
			tg.post(t, nil, "/endpoints/ep/score", "", `{"data": [[1, 2, 3]]}`, HeaderDeployment, "blue")
		}
		waitFor(t, func() bool { return tg.mirrorIdle() })
		if c := shadow.n.Load(); c != before {
			t.Errorf("requests naming a deployment were mirrored: %d copies", c-before)
		}
	})
	t.Run("a slow mirror never slows the caller", func(t *testing.T) {
		tg := newTestGateway(t, func(g *Gateway) { g.MirrorConcurrency = 2 })
		shadow := &countingRunner{delay: 300 * time.Millisecond}
		tg.deploy(t, DeploymentSpec{Name: "blue", Model: m})
		tg.deploy(t, DeploymentSpec{Name: "shadow", Script: shadow, MaxConcurrentRequestsPerInstance: 10})
		tg.traffic(t, map[string]int{"blue": 100}, map[string]int{"shadow": 50})
		start := time.Now()
		for range 40 {
			if got, _ := tg.post(t, nil, "/endpoints/ep/score", "", `{"data": [[1, 2, 3]]}`); got.status != 200 {
				t.Fatalf("got %d %s", got.status, got.body)
			}
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("40 requests with a slow mirror took %v", d)
		}
		if got := testutil.ToFloat64(tg.metrics.mirrorDropped.WithLabelValues("ep")); got == 0 {
			t.Error("no mirrored copy was dropped with 2 slots and a 300 ms mirror")
		}
	})
}

// mirrorIdle reports whether no mirrored copy is in flight.
func (g *Gateway) mirrorIdle() bool { return len(g.mirrorSem) == 0 }

func TestMetrics(t *testing.T) {
	tg := newTestGateway(t, nil)
	tg.deploy(t, DeploymentSpec{Name: "blue", Model: trainGBDT(t, hangar.ObjectiveRegSquaredError, 5, 3)})
	tg.deploy(t, DeploymentSpec{Name: "py", Script: &countingRunner{}})
	tg.traffic(t, map[string]int{"blue": 100}, nil)
	for range 3 {
		tg.post(t, nil, "/endpoints/ep/score", "", `{"data": [[1, 2, 3]]}`)
	}
	tg.post(t, nil, "/endpoints/ep/score", "", `{"data": [[1, 2]]}`)
	tg.post(t, nil, "/endpoints/ep/score", "", `{}`, "Authorization", "Bearer nope")
	want := `
# HELP hangar_serving_requests_total Scoring requests by endpoint, deployment and HTTP status.
# TYPE hangar_serving_requests_total counter
hangar_serving_requests_total{code="200",deployment="blue",endpoint="ep"} 3
hangar_serving_requests_total{code="200",deployment="py",endpoint="ep"} 0
hangar_serving_requests_total{code="400",deployment="blue",endpoint="ep"} 1
hangar_serving_requests_total{code="401",deployment="",endpoint="ep"} 1
# HELP hangar_serving_errors_total Failed scoring requests by endpoint, deployment and error code.
# TYPE hangar_serving_errors_total counter
hangar_serving_errors_total{deployment="",endpoint="ep",error="unauthorized"} 1
hangar_serving_errors_total{deployment="blue",endpoint="ep",error="bad_shape"} 1
# HELP hangar_serving_in_flight_requests Scoring requests being answered, by endpoint and deployment.
# TYPE hangar_serving_in_flight_requests gauge
hangar_serving_in_flight_requests{deployment="blue",endpoint="ep"} 0
hangar_serving_in_flight_requests{deployment="py",endpoint="ep"} 0
# HELP hangar_serving_worker_cpu_seconds_total CPU time used by a scoring worker process.
# TYPE hangar_serving_worker_cpu_seconds_total counter
hangar_serving_worker_cpu_seconds_total{deployment="py",endpoint="ep",pid="4242"} 1.5
# HELP hangar_serving_worker_resident_memory_bytes Resident memory of a scoring worker process.
# TYPE hangar_serving_worker_resident_memory_bytes gauge
hangar_serving_worker_resident_memory_bytes{deployment="py",endpoint="ep",pid="4242"} 1.048576e+06
`
	if err := testutil.GatherAndCompare(tg.reg, strings.NewReader(want),
		"hangar_serving_requests_total", "hangar_serving_errors_total", "hangar_serving_in_flight_requests",
		"hangar_serving_worker_cpu_seconds_total", "hangar_serving_worker_resident_memory_bytes"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(tg.metrics.latency); n != 2 {
		t.Errorf("latency series: got %d, want 2 (blue, py)", n)
	}
	if err := tg.SetEndpoint(EndpointConfig{Name: "ep", Keys: []string{testKey}}); err != nil {
		t.Fatal(err)
	}
	if err := tg.RemoveDeployment(t.Context(), "ep", "blue"); err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(tg.metrics.latency); n != 1 {
		t.Errorf("latency series after removing blue: got %d, want 1 (py)", n)
	}
}
