package httpapi_test

import (
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hangar-ml/hangar"
)

// The benchmarks of this file measure the figures issue 8 sets targets for,
// over real HTTP on loopback, on SQLite and PostgreSQL: one client, and for
// the workspace read also 16 at once. BENCHMARKS.md has the commands and
// the numbers.

// processCPU returns the CPU time (user and system) this process has used.
// The machine the benchmarks run on is shared, so besides wall-clock rates
// they report the CPU time an operation costs this process (server and
// client together; for PostgreSQL, not the database server's), which
// other work on the machine disturbs far less.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the process CPU time per operation since start.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64((processCPU()-start).Microseconds())/float64(b.N), "cpu-µs/op")
}

// benchClient sends raw requests with a bearer token and fails b on an
// answer other than 200. Its transport keeps enough idle connections for
// 16 parallel clients, so none is opened per request.
type benchClient struct {
	b     *testing.B
	url   string
	token string
	http  *http.Client
}

func newBenchClient(b *testing.B, e *env, token string) *benchClient {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	b.Cleanup(tr.CloseIdleConnections)
	return &benchClient{b: b, url: e.srv.URL, token: token, http: &http.Client{Transport: tr}}
}

// do sends one request and returns the length of the answer's body.
func (c *benchClient) do(method, path, body string) int {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, c.url+path, rd)
	if err != nil {
		c.b.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.b.Fatal(err)
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		c.b.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		c.b.Fatalf("%s %s: status %d", method, path, resp.StatusCode)
	}
	return int(n)
}

// createRun creates a run in the default experiment and returns its id.
func (c *benchClient) createRun(e *env, name string) string {
	r := e.do("POST", "/api/2.0/mlflow/runs/create", c.token, fmt.Sprintf(`{"experiment_id":"0","run_name":%q}`, name), "Content-Type", "application/json")
	if r.status != http.StatusOK {
		c.b.Fatalf("create run: status %d: %s", r.status, r.body)
	}
	return strings.Split(strings.Split(string(r.body), `"run_id":"`)[1], `"`)[0]
}

// BenchmarkMLflowLogMetric measures runs/log-metric, one point a request,
// sequential on one connection: the whole stack and one durable
// transaction per point. req/s is the figure issue 8 sets a floor for.
func BenchmarkMLflowLogMetric(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			e := newEnvOn(b, be.dsn(b), nil)
			c := newBenchClient(b, e, e.token("bench", hangar.RoleDataScientist, hangar.DefaultWorkspace))
			id := c.createRun(e, "bench")
			step := 0
			b.ReportAllocs()
			cpu := processCPU()
			for b.Loop() {
				c.do("POST", "/api/2.0/mlflow/runs/log-metric", fmt.Sprintf(`{"run_id":%q,"key":"loss","value":%d.25,"timestamp":1700000000000,"step":%d}`, id, step, step))
				step++
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
			reportCPU(b, cpu)
		})
	}
}

// BenchmarkMLflowMetricHistory measures metrics/get-history of a metric of
// 100,000 points, all of them in one answer (max_results 100000).
func BenchmarkMLflowMetricHistory(b *testing.B) {
	const points = 100_000
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			e := newEnvOn(b, be.dsn(b), nil)
			c := newBenchClient(b, e, e.token("bench", hangar.RoleDataScientist, hangar.DefaultWorkspace))
			id := c.createRun(e, "bench")
			for start := 0; start < points; start += 1000 {
				var body strings.Builder
				fmt.Fprintf(&body, `{"run_id":%q,"metrics":[`, id)
				for i := start; i < start+1000; i++ {
					if i > start {
						body.WriteByte(',')
					}
					fmt.Fprintf(&body, `{"key":"loss","value":%g,"timestamp":%d,"step":%d}`, 1/float64(i+1), 1700000000000+int64(i), i)
				}
				body.WriteString(`]}`)
				c.do("POST", "/api/2.0/mlflow/runs/log-batch", body.String())
			}
			path := "/api/2.0/mlflow/metrics/get-history?run_id=" + id + "&metric_key=loss&max_results=100000"
			if n := c.do("GET", path, ""); n < points*50 {
				b.Fatalf("answer of %d bytes: fewer than %d points?", n, points)
			}
			b.ReportAllocs()
			cpu := processCPU()
			for b.Loop() {
				c.do("GET", path, "")
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/history")
			reportCPU(b, cpu)
		})
	}
}

// BenchmarkMLflowSearchRuns measures runs/search answering 1,000 runs
// ordered by a metric. Each run has, as a typical training run does, 5
// metrics of 10 points, 5 params, 3 tags of its own and the tags
// runs/create sets.
func BenchmarkMLflowSearchRuns(b *testing.B) {
	const runs = 1000
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			e := newEnvOn(b, be.dsn(b), nil)
			c := newBenchClient(b, e, e.token("bench", hangar.RoleDataScientist, hangar.DefaultWorkspace))
			for r := range runs {
				id := c.createRun(e, fmt.Sprintf("run-%d", r))
				var body strings.Builder
				fmt.Fprintf(&body, `{"run_id":%q,"metrics":[`, id)
				for i := range 50 {
					if i > 0 {
						body.WriteByte(',')
					}
					fmt.Fprintf(&body, `{"key":"m%d","value":%g,"timestamp":%d,"step":%d}`, i%5, float64(r*50+i)/7, 1700000000000+int64(i), i/5)
				}
				body.WriteString(`],"params":[`)
				for i := range 5 {
					if i > 0 {
						body.WriteByte(',')
					}
					fmt.Fprintf(&body, `{"key":"p%d","value":"%d"}`, i, r+i)
				}
				body.WriteString(`],"tags":[`)
				for i := range 3 {
					if i > 0 {
						body.WriteByte(',')
					}
					fmt.Fprintf(&body, `{"key":"t%d","value":"v%d"}`, i, r%7)
				}
				body.WriteString(`]}`)
				c.do("POST", "/api/2.0/mlflow/runs/log-batch", body.String())
			}
			const search = `{"experiment_ids":["0"],"max_results":1000,"order_by":["metrics.m0 DESC"]}`
			if n := c.do("POST", "/api/2.0/mlflow/runs/search", search); n < runs*500 {
				b.Fatalf("answer of %d bytes: fewer than %d runs?", n, runs)
			}
			b.ReportAllocs()
			cpu := processCPU()
			for b.Loop() {
				c.do("POST", "/api/2.0/mlflow/runs/search", search)
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/search")
			reportCPU(b, cpu)
		})
	}
}

// BenchmarkGetWorkspaceHTTP measures an authenticated GET
// /api/v1/workspaces/default over loopback HTTP: token verification, role
// assignments, authorization and the workspace read. "sequential" is one
// client on one connection; "parallel16" is 16 clients at once
// (b.RunParallel on GOMAXPROCS 2 with parallelism 8).
func BenchmarkGetWorkspaceHTTP(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			e := newEnvOn(b, be.dsn(b), nil)
			c := newBenchClient(b, e, e.token("bench", hangar.RoleReader, hangar.DefaultWorkspace))
			b.Run("sequential", func(b *testing.B) {
				c.b = b
				b.ReportAllocs()
				cpu := processCPU()
				for b.Loop() {
					c.do("GET", "/api/v1/workspaces/default", "")
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
				reportCPU(b, cpu)
			})
			b.Run("parallel16", func(b *testing.B) {
				c.b = b
				b.SetParallelism(max(1, 16/runtime.GOMAXPROCS(0)))
				b.ReportAllocs()
				start, cpu := time.Now(), processCPU()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						c.do("GET", "/api/v1/workspaces/default", "")
					}
				})
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
				reportCPU(b, cpu)
			})
		})
	}
}
