package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/gbdt"
)

func TestServeModel(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "model")
	d := &gbdt.Dataset{Features: []string{"x", "z"}, Columns: [][]float64{{0, 1, 2, 3, 4, 5}, {1, 0, 1, 0, 1, 0}}, Label: []float64{0, 0, 0, 1, 1, 1}}
	p := gbdt.DefaultParams()
	p.Objective, p.NEstimators, p.MinChildWeight = hangar.ObjectiveBinaryLogistic, 5, 0.1
	m, err := gbdt.Train(t.Context(), p, d, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Write(dir); err != nil {
		t.Fatal(err)
	}
	capture := t.TempDir()
	cfg := serveModelConfig{Model: dir, Addr: "127.0.0.1:0", Endpoint: "churn", Deployment: "blue", Instances: 1, MaxConcurrent: 4, Timeout: 5 * time.Second, CaptureDir: capture, SamplingRate: 1}
	ctx, cancel := context.WithCancel(t.Context())
	urls := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- serveModel(ctx, cfg, "secret-key", slog.New(slog.DiscardHandler), func(url string) { urls <- url })
	}()
	var url string
	select {
	case url = <-urls:
	case err := <-done:
		t.Fatalf("serve-model stopped: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("serve-model did not become ready")
	}
	post := func(key, body string) (int, string, http.Header) {
		req, _ := http.NewRequest(http.MethodPost, url+"/endpoints/churn/score", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header
	}
	if st, body, h := post("secret-key", `{"data": [[4, 1], [0, 0]]}`); st != 200 || body != `["1","0"]` || h.Get("x-request-id") == "" {
		t.Errorf("score: got %d %s (x-request-id %q), want 200 [\"1\",\"0\"] with an id", st, body, h.Get("x-request-id"))
	}
	if st, body, _ := post("other-key", `{"data": [[4, 1]]}`); st != 401 || !strings.Contains(body, `"code":"unauthorized"`) {
		t.Errorf("wrong key: got %d %s, want 401 unauthorized", st, body)
	}
	if st, body, _ := post("secret-key", `{"data": [{"x": 4}]}`); st != 400 || !strings.Contains(body, `\"z\"`) {
		t.Errorf("missing feature: got %d %s, want 400 naming z", st, body)
	}
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := `hangar_serving_requests_total{code="200",deployment="blue",endpoint="churn"} 1`; !strings.Contains(string(b), want) {
		t.Errorf("/metrics has no %s", want)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve-model after cancel: %v", err)
	}
	// Close flushed the capture buffer.
	var files []string
	filepath.WalkDir(capture, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if len(files) != 2 {
		t.Errorf("capture files: got %v, want model_inputs and model_outputs", files)
	}
}

func TestServeModelBadInput(t *testing.T) {
	tests := []struct {
		name string
		cfg  serveModelConfig
		want string
	}{
		{"no model folder", serveModelConfig{Model: filepath.Join(t.TempDir(), "nope"), Addr: "127.0.0.1:0", Endpoint: "e", Deployment: "d"}, "no such file"},
		{"empty folder", serveModelConfig{Model: t.TempDir(), Addr: "127.0.0.1:0", Endpoint: "e", Deployment: "d"}, "without MLmodel"},
		{"bad endpoint name", serveModelConfig{Model: t.TempDir(), Addr: "127.0.0.1:0", Endpoint: "1e", Deployment: "d"}, "endpoint"},
		{"code without a script", serveModelConfig{Model: t.TempDir(), Code: t.TempDir(), Addr: "127.0.0.1:0", Endpoint: "e", Deployment: "d"}, "--code needs --scoring-script"},
		{"script not in the code folder", serveModelConfig{Code: "testdata/scoring/code", ScoringScript: "nope.py", Addr: "127.0.0.1:0", Endpoint: "e", Deployment: "d"}, "not a file in the code folder"},
		{"script whose init raises", serveModelConfig{Code: "testdata/scoring/code", ScoringScript: "init_raises.py", Addr: "127.0.0.1:0", Endpoint: "e", Deployment: "d"}, "no model here"},
		{"script with a bad deployment name", serveModelConfig{Code: "testdata/scoring/code", ScoringScript: "score.py", Model: "testdata/scoring/model", Addr: "127.0.0.1:0", Endpoint: "e", Deployment: "1d"}, "deployment name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := serveModel(t.Context(), tt.cfg, "k", slog.New(slog.DiscardHandler), func(string) { t.Error("became ready") })
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error with %q", err, tt.want)
			}
		})
	}
}
