package httpapi_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/hangar-ml/hangar"
)

// BenchmarkMLflowLogBatch measures runs/log-batch with 1000 metrics per
// request over real HTTP on loopback, SQLite and PostgreSQL: decoding,
// authorization, validation and the one transaction that stores every
// point, the latest values and the audit event. points/s is the figure
// issue 8 sets a floor for.
func BenchmarkMLflowLogBatch(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			e := newEnvOn(b, be.dsn(b), nil)
			tok := e.token("bench", hangar.RoleDataScientist, hangar.DefaultWorkspace)
			r := e.do("POST", "/api/2.0/mlflow/runs/create", tok, `{"experiment_id":"0"}`, "Content-Type", "application/json")
			id := strings.Split(strings.Split(string(r.body), `"run_id":"`)[1], `"`)[0]
			client := e.srv.Client()
			step := 0
			b.ReportAllocs()
			cpu := processCPU()
			for b.Loop() {
				var body strings.Builder
				fmt.Fprintf(&body, `{"run_id":%q,"metrics":[`, id)
				for i := range 1000 {
					if i > 0 {
						body.WriteByte(',')
					}
					fmt.Fprintf(&body, `{"key":"metric_%d","value":%d.5,"timestamp":1700000000000,"step":%d}`, i%10, i, step)
					step++
				}
				body.WriteString(`],"params":[],"tags":[]}`)
				req, _ := http.NewRequest("POST", e.srv.URL+"/api/2.0/mlflow/runs/log-batch", strings.NewReader(body.String()))
				req.Header.Set("Authorization", "Bearer "+tok)
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Fatalf("status %d", resp.StatusCode)
				}
			}
			b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "points/s")
			reportCPU(b, cpu)
		})
	}
}
