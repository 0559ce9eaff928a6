package mlflow

import (
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/hangar-ml/hangar"
)

// recorder is a fake tracking server that keeps every log-batch body.
type recorder struct {
	mu     sync.Mutex
	bodies []LogBatch
	raw    []string
	auth   []string
	status int    // answer status; 0 = 200
	answer string // answer body for a non-200 status
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost || req.URL.Path != "/api/2.0/mlflow/runs/log-batch" || req.Header.Get("Content-Type") != "application/json" {
		http.Error(w, "wrong route", http.StatusNotFound)
		return
	}
	b, _ := io.ReadAll(req.Body)
	var body LogBatch
	if err := json.Unmarshal(b, &body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	r.bodies, r.raw, r.auth = append(r.bodies, body), append(r.raw, string(b)), append(r.auth, req.Header.Get("Authorization"))
	r.mu.Unlock()
	if r.status != 0 {
		w.WriteHeader(r.status)
		io.WriteString(w, r.answer)
		return
	}
	io.WriteString(w, "{}")
}

func newRun(t *testing.T, rec *recorder, token string) *Run {
	t.Helper()
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	run, err := TrackingEnv{URI: srv.URL + "/", RunID: "run1", Token: token}.Run()
	if err != nil || run == nil {
		t.Fatalf("Run: %v, %v", run, err)
	}
	return run
}

func metrics(n int) []Metric {
	ms := make([]Metric, n)
	for i := range ms {
		ms[i] = Metric{Key: "loss", Value: Double(i), Timestamp: 1, Step: Int64(i)}
	}
	return ms
}

func params(n int) []Param {
	ps := make([]Param, n)
	for i := range ps {
		ps[i] = Param{Key: "p" + strconv.Itoa(i), Value: "v"}
	}
	return ps
}

func TestLogBatchChunks(t *testing.T) {
	for _, tc := range []struct {
		name                  string
		params, metrics, tags int
		wantRequests          int
	}{
		{"one request", 18, 500, 2, 1},
		{"metrics over 1000 in total", 18, 1200, 0, 2},
		{"params over 100", 150, 0, 0, 2},
		{"tags over 100", 0, 10, 250, 3},
		{"exactly the limits", 100, 900, 0, 1},
		{"nothing", 0, 0, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			run := newRun(t, rec, "tok")
			var tags []RunTag
			for i := range tc.tags {
				tags = append(tags, RunTag{Key: "t" + strconv.Itoa(i), Value: "x"})
			}
			if err := run.LogBatch(t.Context(), metrics(tc.metrics), params(tc.params), tags); err != nil {
				t.Fatal(err)
			}
			if len(rec.bodies) != tc.wantRequests {
				t.Fatalf("got %d requests, want %d", len(rec.bodies), tc.wantRequests)
			}
			var np, nm, nt int
			for i, b := range rec.bodies {
				if b.RunID != "run1" || rec.auth[i] != "Bearer tok" {
					t.Errorf("request %d: run_id %q, Authorization %q", i, b.RunID, rec.auth[i])
				}
				if len(b.Params) > MaxParamsPerBatch || len(b.Metrics) > MaxMetricsPerBatch || len(b.Tags) > MaxTagsPerBatch ||
					len(b.Params)+len(b.Metrics)+len(b.Tags) > MaxEntitiesPerBatch {
					t.Errorf("request %d over MLflow's limits: %d params, %d metrics, %d tags", i, len(b.Params), len(b.Metrics), len(b.Tags))
				}
				for _, key := range []string{`"params":[`, `"metrics":[`, `"tags":[`} {
					if !strings.Contains(rec.raw[i], key) {
						t.Errorf("request %d lacks %s…]: %.200s", i, key, rec.raw[i])
					}
				}
				np, nm, nt = np+len(b.Params), nm+len(b.Metrics), nt+len(b.Tags)
			}
			if np != tc.params || nm != tc.metrics || nt != tc.tags {
				t.Errorf("sent %d params, %d metrics, %d tags; want %d, %d, %d", np, nm, nt, tc.params, tc.metrics, tc.tags)
			}
			// Order is kept within each list.
			step := Int64(0)
			for _, b := range rec.bodies {
				for _, m := range b.Metrics {
					if m.Step != step {
						t.Fatalf("metric step %d, want %d: order not kept", m.Step, step)
					}
					step++
				}
			}
		})
	}
}

func TestLogBatchBodySize(t *testing.T) {
	rec := &recorder{}
	run := newRun(t, rec, "")
	big := strings.Repeat("é", MaxParamValueLength)
	ps := params(100)
	for i := range ps {
		ps[i].Value = big // 100 × 12 kB of UTF-8: over 1 MB in one request
	}
	if err := run.LogBatch(t.Context(), nil, ps, nil); err != nil {
		t.Fatal(err)
	}
	if len(rec.bodies) < 2 {
		t.Fatalf("got %d requests, want the params cut by size", len(rec.bodies))
	}
	for i, raw := range rec.raw {
		if len(raw) > MaxBatchBytes {
			t.Errorf("request %d is %d bytes, over %d", i, len(raw), MaxBatchBytes)
		}
	}
	if rec.auth[0] != "" {
		t.Errorf("Authorization %q without a token", rec.auth[0])
	}
}

func TestLogBatchValues(t *testing.T) {
	rec := &recorder{}
	run := newRun(t, rec, "")
	long := strings.Repeat("a", MaxParamValueLength+10)
	ps := []Param{{Key: "features", Value: long}}
	tags := []RunTag{{Key: "note", Value: strings.Repeat("ü", MaxTagValueLength+1)}}
	ms := []Metric{{Key: "nan", Value: Double(math.NaN())}, {Key: "inf", Value: Double(math.Inf(-1))}}
	if err := run.LogBatch(t.Context(), ms, ps, tags); err != nil {
		t.Fatal(err)
	}
	b := rec.bodies[0]
	if got := len(b.Params[0].Value); got != MaxParamValueLength {
		t.Errorf("param value of %d characters sent as %d, want cut to %d", len(long), got, MaxParamValueLength)
	}
	if got := len([]rune(b.Tags[0].Value)); got != MaxTagValueLength {
		t.Errorf("tag value sent with %d characters, want %d", got, MaxTagValueLength)
	}
	if ps[0].Value != long {
		t.Error("LogBatch changed the caller's params")
	}
	if !strings.Contains(rec.raw[0], `"value":"NaN"`) || !strings.Contains(rec.raw[0], `"value":"-Infinity"`) {
		t.Errorf("NaN and -Inf not sent as MLflow's strings: %s", rec.raw[0])
	}
	err := run.LogBatch(t.Context(), []Metric{{Key: strings.Repeat("k", MaxKeyLength+1)}}, nil, nil)
	if hangar.ErrorCode(err) != hangar.EINVALID || len(rec.bodies) != 1 {
		t.Errorf("long key: got %v after %d requests; want EINVALID before any request", err, len(rec.bodies))
	}
}

func TestLogBatchErrors(t *testing.T) {
	for _, tc := range []struct {
		name     string
		status   int
		answer   string
		wantCode string
		wantMsg  string
	}{
		{"mlflow error", 400, `{"error_code": "INVALID_PARAMETER_VALUE", "message": "Changing param values is not allowed"}`, hangar.EINVALID,
			"answered 400 Bad Request: INVALID_PARAMETER_VALUE: Changing param values is not allowed"},
		{"not found", 404, `{"error_code":"RESOURCE_DOES_NOT_EXIST","message":"Run with id=run1 not found"}`, hangar.ENOTFOUND, "RESOURCE_DOES_NOT_EXIST: Run with id=run1 not found"},
		{"unauthenticated", 401, `{"error_code":"UNAUTHENTICATED","message":"no token"}`, hangar.EUNAUTHORIZED, "UNAUTHENTICATED"},
		{"forbidden", 403, `{"error_code":"PERMISSION_DENIED","message":"no"}`, hangar.EFORBIDDEN, "PERMISSION_DENIED"},
		{"html", 502, "<html>\nbad gateway\n</html>", hangar.EUNAVAILABLE, "answered 502 Bad Gateway: <html> …"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{status: tc.status, answer: tc.answer}
			run := newRun(t, rec, "")
			err := run.LogBatch(t.Context(), metrics(1), nil, nil)
			if hangar.ErrorCode(err) != tc.wantCode || !strings.Contains(hangar.ErrorMessage(err), tc.wantMsg) {
				t.Errorf("got %v, want %s containing %q", err, tc.wantCode, tc.wantMsg)
			}
		})
	}
	t.Run("unreachable", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		srv.Close()
		c, err := NewClient(srv.URL, "")
		if err != nil {
			t.Fatal(err)
		}
		err = c.LogBatch(t.Context(), "r", metrics(1), nil, nil)
		if hangar.ErrorCode(err) != hangar.EUNAVAILABLE || !strings.Contains(err.Error(), "logging to MLflow at "+srv.URL+" failed") {
			t.Errorf("got %v, want EUNAVAILABLE naming the server", err)
		}
	})
}

func TestTrackingEnv(t *testing.T) {
	for _, env := range []TrackingEnv{{}, {URI: "http://x"}, {RunID: "r"}} {
		if run, err := env.Run(); run != nil || err != nil {
			t.Errorf("%+v: got %v, %v; want no run", env, run, err)
		}
	}
	for _, uri := range []string{"file:///tmp/mlruns", "localhost:5000", "http://", "::"} {
		_, err := TrackingEnv{URI: uri, RunID: "r"}.Run()
		if hangar.ErrorCode(err) != hangar.EINVALID || hangar.ErrorMessage(err) != `MLFLOW_TRACKING_URI "`+uri+`": want an http(s) URL` {
			t.Errorf("%q: got %v", uri, err)
		}
	}
	run, err := TrackingEnv{URI: "https://mlflow.example/prefix/", RunID: "r", Token: "t"}.Run()
	if err != nil || run.ID != "r" || run.Client.URL != "https://mlflow.example/prefix" || run.Client.Token != "t" || run.Client.HTTP.Timeout != DefaultTimeout {
		t.Errorf("got %+v %+v, %v", run, run.Client, err)
	}
}
