package jobrun_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/jobrun"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// hangarBinary builds cmd/hangar once for the benchmarks: the local
// executor runs `hangar run-step` processes, as the server does.
func hangarBinary(b testing.TB) string {
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "hangar-bench-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "hangar")
		out, err := exec.Command("go", "build", "-o", binPath, "../cmd/hangar").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		b.Fatal(binErr)
	}
	return binPath
}

// pipelineYAML is a pipeline of n no-op steps (each `true`); chain makes
// each step wait for the one before it. tag makes the steps' inputs
// unique, so nothing is reused across runs with different tags.
func pipelineYAML(n int, chain bool, tag string) string {
	var b strings.Builder
	b.WriteString("type: pipeline\njobs:\n")
	for i := range n {
		fmt.Fprintf(&b, "  s%d:\n    command: true ${{inputs.tag}}\n    inputs:\n      tag: %s\n", i, tag)
		if chain && i > 0 {
			fmt.Fprintf(&b, "      after: ${{parent.jobs.s%d.outputs.done}}\n", i-1)
		}
		b.WriteString("    outputs:\n      done:\n        type: uri_folder\n")
	}
	return b.String()
}

func benchEnv(b *testing.B) *env {
	bin := hangarBinary(b)
	local := &jobrun.Local{Binary: bin, Parallel: benchParallel()}
	e := newEnv(b, backends[0].dsn(b), local)
	local.ServerURL = e.srv.URL
	return e
}

// BenchmarkPipeline100 runs a pipeline of 100 independent no-op steps on
// the local executor (one `hangar run-step` process per step, at most
// NumCPU at once), from submission to Completed. Target: ≤ 5 s.
func BenchmarkPipeline100(b *testing.B) {
	e := benchEnv(b)
	for i := 0; b.Loop(); i++ {
		j := e.submit(pipelineYAML(100, false, fmt.Sprintf("run%d", i)), nil)
		if j = e.wait(j.Name); j.Status != hangar.JobCompleted {
			b.Fatalf("%s: %s", j.Status, j.Error)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/pipeline")
}

// BenchmarkPipeline100Reused submits, again and again, a pipeline of 100
// no-op steps that already ran: every step is reused. Target: ≤ 1 s.
func BenchmarkPipeline100Reused(b *testing.B) {
	e := benchEnv(b)
	yaml := pipelineYAML(100, false, "once")
	if j := e.wait(e.submit(yaml, nil).Name); j.Status != hangar.JobCompleted {
		b.Fatalf("%s: %s", j.Status, j.Error)
	}
	for b.Loop() {
		j := e.submit(yaml, nil)
		if j = e.wait(j.Name); j.Status != hangar.JobCompleted {
			b.Fatalf("%s: %s", j.Status, j.Error)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/pipeline")
}

// benchParallel is the local executor's bound: HANGAR_BENCH_PARALLEL, or
// the server's default.
func benchParallel() int {
	if n, err := strconv.Atoi(os.Getenv("HANGAR_BENCH_PARALLEL")); err == nil && n > 0 {
		return n
	}
	return max(4, runtime.NumCPU())
}

// BenchmarkPipelineChain100Reused is BenchmarkPipeline100Reused with the
// steps in a chain, each needing the one before: reuse must not wait for
// the scheduler's poll between steps. Target: ≤ 1 s.
func BenchmarkPipelineChain100Reused(b *testing.B) {
	e := benchEnv(b)
	yaml := pipelineYAML(100, true, "once")
	if j := e.wait(e.submit(yaml, nil).Name); j.Status != hangar.JobCompleted {
		b.Fatalf("%s: %s", j.Status, j.Error)
	}
	for b.Loop() {
		j := e.submit(yaml, nil)
		if j = e.wait(j.Name); j.Status != hangar.JobCompleted {
			b.Fatalf("%s: %s", j.Status, j.Error)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/pipeline")
}

// BenchmarkPipelineChain100 runs 100 no-op steps in a chain, each needing
// the one before: the latency of one step, from the end of the one before
// it to its own end, times 100.
func BenchmarkPipelineChain100(b *testing.B) {
	e := benchEnv(b)
	for i := 0; b.Loop(); i++ {
		j := e.submit(pipelineYAML(100, true, fmt.Sprintf("chain%d", i)), nil)
		if j = e.wait(j.Name); j.Status != hangar.JobCompleted {
			b.Fatalf("%s: %s", j.Status, j.Error)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/pipeline")
}

// logMetricTCP logs metric $1 = $2 to the trial's run with one HTTP
// request written by bash itself (/dev/tcp): a no-op trial that logs its
// metric without starting a client process, so the benchmark measures
// the sweep's machinery. (curl alone takes 80–300 ms to start on the
// loaded 2-core machine, more than the scheduler spends on a trial.)
const logMetricTCP = `exec bash -c 'u=${MLFLOW_TRACKING_URI#http://}; hp=${u%%/*}; p=/${u#*/}; ` +
	`b="{\"run_id\":\"$MLFLOW_RUN_ID\",\"key\":\"$1\",\"value\":$2,\"timestamp\":0,\"step\":0}"; ` +
	`exec 3<>/dev/tcp/${hp%:*}/${hp#*:} && ` +
	`printf "POST %s/api/2.0/mlflow/runs/log-metric HTTP/1.0\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" "$p" "$hp" "$MLFLOW_TRACKING_TOKEN" ${#b} "$b" >&3 && ` +
	`read -r v s r <&3 && test "$s" = 200' _`

// sweepYAML is a random sweep of n no-op trials, at most concurrent at
// once; each trial only logs its metric (logMetricTCP). tag makes each
// run's trials new.
func sweepYAML(n, concurrent int, tag string) string {
	return fmt.Sprintf(`type: sweep
trial:
  command: >-
    %s loss ${{search_space.x}} # %s
search_space:
  x: {type: uniform, min_value: 0, max_value: 1}
objective: {goal: minimize, primary_metric: loss}
sampling_algorithm: {type: random, seed: 1}
limits: {max_total_trials: %d, max_concurrent_trials: %d}
`, logMetricTCP, tag, n, concurrent)
}

// BenchmarkSweep100 runs a random sweep of 100 no-op trials (each logs
// its metric and ends), 4 at once, on the local executor (one `hangar
// run-step` process per trial), from submission to Completed. Target:
// ≤ 10 s.
func BenchmarkSweep100(b *testing.B) {
	e := benchEnv(b)
	for i := 0; b.Loop(); i++ {
		j := e.submit(sweepYAML(100, 4, fmt.Sprintf("run%d", i)), nil)
		if j = e.wait(j.Name); j.Status != hangar.JobCompleted {
			b.Fatalf("%s: %s", j.Status, j.Error)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/sweep")
}
