package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hangar-ml/hangar/internal/pgtest"
	"github.com/hangar-ml/hangar/mlflow"
)

// TestKillAfterAcknowledgedLogBatch is issue 8's durability promise, with
// the real binary: `hangar server` is SIGKILLed right after a log-batch was
// acknowledged while others are still in flight, started again on the same
// data, and every point, param and tag of every acknowledged batch must be
// there. The `hangar` on PATH is this test binary running main (testscript
// puts it there), so the server is the real one, flags, wiring and all.
func TestKillAfterAcknowledgedLogBatch(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real servers")
	}
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			dir := t.TempDir()
			var extra []string
			if backend == "postgres" {
				extra = []string{"--db", pgtest.URL(t)}
			}
			url, kill := startHangar(t, dir, extra...)
			token, err := os.ReadFile(filepath.Join(dir, "owner.token"))
			if err != nil {
				t.Fatal(err)
			}
			c, err := mlflow.NewClient(url, strings.TrimSpace(string(token)))
			if err != nil {
				t.Fatal(err)
			}
			runID := createRun(t, url, c.Token)

			// Two writers send batches of 998 points, a param and a tag each;
			// the process is killed at once when the 25th acknowledgement
			// comes in, while the other writer's batch is in flight.
			const writers, killAfter, perBatch = 2, 25, 998
			var mu sync.Mutex
			acked := map[string][]int{} // metric key → acknowledged batch numbers
			total := 0
			var lastErr error // why the writers stopped
			var wg sync.WaitGroup
			for w := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					key := fmt.Sprintf("loss%d", w)
					for b := 0; ; b++ {
						ms := make([]mlflow.Metric, perBatch)
						for i := range ms {
							step := b*perBatch + i
							ms[i] = mlflow.Metric{Key: key, Value: mlflow.Double(step) / 7, Timestamp: mlflow.Int64(1_700_000_000_000 + step), Step: mlflow.Int64(step)}
						}
						name := fmt.Sprintf("%s.%d", key, b)
						err := c.LogBatch(t.Context(), runID, ms, []mlflow.Param{{Key: "p." + name, Value: name}}, []mlflow.RunTag{{Key: "t." + name, Value: name}})
						if err != nil {
							mu.Lock()
							lastErr = err
							mu.Unlock()
							return // the server is gone: this batch was not acknowledged
						}
						mu.Lock()
						acked[key] = append(acked[key], b)
						total++
						if total == killAfter {
							kill()
						}
						mu.Unlock()
					}
				}()
			}
			wg.Wait()

			url, _ = startHangar(t, dir, extra...)
			c.URL = url
			run, err := c.GetRun(t.Context(), runID)
			if err != nil {
				t.Fatal(err)
			}
			params, tags := map[string]string{}, map[string]string{}
			for _, p := range run.Data.Params {
				params[p.Key] = p.Value
			}
			for _, tg := range run.Data.Tags {
				tags[tg.Key] = tg.Value
			}
			n := 0
			for key, batches := range acked {
				hist, err := c.MetricHistory(t.Context(), runID, key)
				if err != nil {
					t.Fatal(err)
				}
				have := map[int64]float64{}
				for _, m := range hist {
					have[int64(m.Step)] = float64(m.Value)
				}
				for _, b := range batches {
					n++
					for i := range perBatch {
						step := int64(b*perBatch + i)
						if v, ok := have[step]; !ok || v != float64(step)/7 {
							t.Fatalf("%s: acknowledged batch %d lost step %d after kill -9 (got %v, %v; %d points in all)", key, b, step, v, ok, len(hist))
						}
					}
					name := fmt.Sprintf("%s.%d", key, b)
					if params["p."+name] != name || tags["t."+name] != name {
						t.Errorf("acknowledged batch %s lost its param or tag after kill -9: %q, %q", name, params["p."+name], tags["t."+name])
					}
				}
			}
			if n < killAfter {
				t.Fatalf("checked %d acknowledged batches, want at least %d; the writers stopped on %v", n, killAfter, lastErr)
			}
		})
	}
}

// startHangar starts `hangar server` on dir and a free loopback port and
// waits until it is ready. kill SIGKILLs it and reaps it; the test's
// cleanup does the same for a server still running.
func startHangar(t *testing.T, dir string, extra ...string) (url string, kill func()) {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	url = fmt.Sprintf("http://127.0.0.1:%d", port)
	cmd := exec.Command("hangar", append([]string{"server", "--addr", fmt.Sprintf("127.0.0.1:%d", port), "--data-dir", dir}, extra...)...)
	cmd.Env = append(os.Environ(), "HANGAR_HOME="+dir)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	kill = func() {
		once.Do(func() {
			cmd.Process.Signal(syscall.SIGKILL)
			cmd.Wait()
		})
	}
	t.Cleanup(kill)
	if err := waitReady(url, 20*time.Second); err != nil {
		kill()
		t.Fatalf("server did not become ready: %v\n%s", err, logs.String())
	}
	return url, kill
}

// createRun creates a run in the Default experiment over MLflow's API (the
// mlflow client logs to runs; it does not make them).
func createRun(t *testing.T, url, token string) string {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url+"/api/2.0/mlflow/runs/create", strings.NewReader(`{"experiment_id":"0"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ans struct {
		Run mlflow.RunEntity `json:"run"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&ans); err != nil || resp.StatusCode != http.StatusOK || ans.Run.Info.RunID == "" {
		t.Fatalf("runs/create: %s, %v, %+v", resp.Status, err, ans)
	}
	return ans.Run.Info.RunID
}
