package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hangar-ml/hangar/pyworker"
)

// startServeModel runs serveModel in the background and returns its URL
// once it takes traffic, and a stop that drains it (also run when the test
// ends).
func startServeModel(t *testing.T, cfg serveModelConfig, key string) (url string, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	urls := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- serveModel(ctx, cfg, key, slog.New(slog.DiscardHandler), func(url string) { urls <- url })
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("serve-model after cancel: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	select {
	case url = <-urls:
		return url, stop
	case err := <-done:
		done <- nil
		t.Fatalf("serve-model stopped: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("serve-model did not become ready")
	}
	return "", stop
}

func TestServeModelScript(t *testing.T) {
	if _, err := os.Stat(pyworker.DefaultPython); err != nil {
		t.Skipf("no %s (scripts/install-deps.sh installs it)", pyworker.DefaultPython)
	}
	cfg := serveModelConfig{
		Code: "testdata/scoring/code", ScoringScript: "score.py", Model: "testdata/scoring/model", Workers: 2,
		Addr: "127.0.0.1:0", Endpoint: "churn", Deployment: "blue", Instances: 1, MaxConcurrent: 4,
		Timeout: 2 * time.Second, CaptureDir: t.TempDir(), SamplingRate: 1,
		Sample: "testdata/scoring/sample.json",
	}
	url, stop := startServeModel(t, cfg, "secret-key")
	tests := []struct {
		name     string
		key      string
		body     string
		wantCode int
		want     []string // substrings of the answer
	}{
		{"scores", "secret-key", `{"data": [[1, 2], [3, 4]]}`, 200, []string{`[6, 14]`}},
		{"run raises", "secret-key", `{"data": [[-1, 0]]}`, 500, []string{`"code":"script_error"`, `ValueError`, `row [-1, 0] is not allowed`}},
		{"run hangs", "secret-key", `{"data": [[-2, 0]]}`, 408, []string{`"code":"timeout"`}},
		{"after the hang", "secret-key", `{"data": [[5]]}`, 200, []string{`[10]`}},
		{"worker exits", "secret-key", `{"data": [[-3]]}`, 500, []string{`"code":"worker_crashed"`, `exit status 3`}},
		{"after the crash", "secret-key", `{"data": [[1], [2]]}`, 200, []string{`[2, 4]`}},
		{"no key", "", `{"data": [[1, 2]]}`, 401, []string{`"code":"unauthorized"`}},
		{"wrong key", "other-key", `{"data": [[1, 2]]}`, 401, []string{`"code":"unauthorized"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url+"/endpoints/churn/score", strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			if tt.key != "" {
				req.Header.Set("Authorization", "Bearer "+tt.key)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantCode {
				t.Errorf("got %d %s, want %d", resp.StatusCode, b, tt.wantCode)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(b), w) {
					t.Errorf("got %s, want it to hold %s", b, w)
				}
			}
		})
	}
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`hangar_serving_requests_total{code="200",deployment="blue",endpoint="churn"} 3`,
		`hangar_serving_requests_total{code="500",deployment="blue",endpoint="churn"} 2`,
		`hangar_serving_requests_total{code="408",deployment="blue",endpoint="churn"} 1`,
		`hangar_serving_errors_total{deployment="blue",endpoint="churn",error="script_error"} 1`,
		`hangar_serving_errors_total{deployment="blue",endpoint="churn",error="worker_crashed"} 1`,
		`hangar_serving_worker_resident_memory_bytes{`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("/metrics has no %s", want)
		}
	}
	// Stopping flushes the capture: the script's inputs and outputs are
	// captured like a native model's.
	stop()
	for _, kind := range []string{"model_inputs", "model_outputs"} {
		files, _ := filepath.Glob(filepath.Join(cfg.CaptureDir, "churn", "blue", kind, "*", "*", "*", "*", "*.jsonl"))
		if len(files) != 1 {
			t.Fatalf("capture %s: got files %v, want one", kind, files)
		}
		b, err := os.ReadFile(files[0])
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), "correlationid") {
			t.Errorf("capture %s: got %s, want records with a correlationid", kind, b)
		}
	}
}
