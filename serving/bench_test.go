package serving

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/hangar-ml/hangar"
)

// discardWriter is a ResponseWriter that keeps nothing, so the benchmark
// measures the gateway and not a recorder.
type discardWriter struct {
	h      http.Header
	status int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(s int)           { w.status = s }

type discardSink struct{}

func (discardSink) WriteCapture(context.Context, []Record) error { return nil }

// benchRow is the row of the benchmark peers (/work/shared/bench/post.lua).
const benchRow = `[0.12, -1.3, 0.55, 2.1, -0.7, 0.01, 1.9, -2.2, 0.33, 0.8, -0.45, 1.1, 0.0, -0.9, 0.6, 1.4, -1.7, 0.25, 0.9, -0.1]`

// BenchmarkServe is one request through the whole handler — routing, key
// auth, body read, decode, a 100-tree model, encode, metrics and, when
// on, capture — in process, for a 20-feature row.
func BenchmarkServe(b *testing.B) {
	m := trainGBDT(b, hangar.ObjectiveBinaryLogistic, 100, 20)
	cases := []struct {
		name, path, body string
		capture          float64
	}{
		{"score", "/endpoints/ep/score", `{"data": [` + benchRow + `]}`, 0},
		{"score+capture", "/endpoints/ep/score", `{"data": [` + benchRow + `]}`, 1},
		{"invocations", "/endpoints/ep/invocations", `{"instances": [` + benchRow + `]}`, 0},
		{"v2", "/endpoints/ep/v2/models/ep/infer", `{"inputs": [{"name": "x", "shape": [1, 20], "datatype": "FP64", "data": ` + benchRow + `}]}`, 0},
	}
	// A key as the control plane makes them (43 characters), not the
	// tests' short one: hashing a long key once allocated.
	key := hangar.NewEndpointKey()
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			g := NewGateway()
			g.Sink = discardSink{}
			g.CaptureBuffer = 1 << 16
			if err := g.Open(b.Context()); err != nil {
				b.Fatal(err)
			}
			defer g.Close()
			if err := g.SetEndpoint(EndpointConfig{Name: "ep", Keys: []string{key}}); err != nil {
				b.Fatal(err)
			}
			if _, err := g.Deploy(b.Context(), DeploymentSpec{Endpoint: "ep", Name: "blue", Model: m, MaxConcurrentRequestsPerInstance: 64, Capture: CaptureSettings{SamplingRate: c.capture}}); err != nil {
				b.Fatal(err)
			}
			if err := g.SetEndpoint(EndpointConfig{Name: "ep", Keys: []string{key}, Traffic: map[string]int{"blue": 100}}); err != nil {
				b.Fatal(err)
			}
			body := []byte(c.body)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				rd := bytes.NewReader(body)
				req, _ := http.NewRequest(http.MethodPost, "http://x"+c.path, io.NopCloser(rd))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+key)
				w := &discardWriter{h: http.Header{}}
				for pb.Next() {
					rd.Reset(body)
					req.ContentLength = int64(len(body))
					clear(w.h)
					g.ServeHTTP(w, req)
					if w.status != http.StatusOK {
						b.Fatalf("status %d", w.status)
					}
				}
			})
		})
	}
}

// BenchmarkEchoPeer is the echo peer's handler (scripts/bench/echo_server.go:
// encoding/json in and out, no model, no auth) through the same harness:
// the in-process yardstick for BenchmarkServe.
func BenchmarkEchoPeer(b *testing.B) {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /score", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Data [][]float64 `json:"data"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		out := make([]float64, len(body.Data))
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(out)
	})
	body := []byte(`{"data": [` + benchRow + `]}`)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		rd := bytes.NewReader(body)
		req, _ := http.NewRequest(http.MethodPost, "http://x/score", io.NopCloser(rd))
		w := &discardWriter{h: http.Header{}}
		for pb.Next() {
			rd.Reset(body)
			clear(w.h)
			mux.ServeHTTP(w, req)
		}
	})
}

// BenchmarkDecodeScore is the /score body decoder alone.
func BenchmarkDecodeScore(b *testing.B) {
	body := []byte(`{"data": [` + benchRow + `]}`)
	feats := make([]string, 20)
	index := map[string]int{}
	for i := range feats {
		feats[i] = "f" + string(rune('a'+i))
		index[feats[i]] = i
	}
	r := &rows{}
	b.ReportAllocs()
	for b.Loop() {
		r.reset(feats, index)
		if err := r.decodeScore(body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDirSink is capture's share off the request path: one record
// (input and output lines) formatted and appended by DirSink, in batches
// of 512 as the gateway hands them over. Reported per record.
func BenchmarkDirSink(b *testing.B) {
	s := &DirSink{Dir: b.TempDir()}
	batch := make([]Record, 512)
	for i := range batch {
		batch[i] = Record{ID: "5f0c2a91-0d3e-4b7c-8e1f-00000000002a", Endpoint: "bench", Deployment: "blue", ModelVersion: "1",
			Protocol: "score", Time: time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC), Status: http.StatusOK,
			Input: []byte(`{"data": [` + benchRow + `]}`), Output: []byte(`["1"]`)}
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := s.WriteCapture(b.Context(), batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(batch)), "ns/record")
}
