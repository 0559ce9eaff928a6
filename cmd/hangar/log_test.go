package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/mlflow"
)

// cmdMLflow sends one request to the MLflow API of the script's server
// with the owner token and writes the answer to stdout, for what no hangar
// verb does (creating a run, setting an alias):
//
//	mlflow [-w WS] METHOD ROUTE [BODY]   e.g. mlflow POST runs/create '{"experiment_id":"0"}'
//
// A ROUTE starting with "/" is a path of the server (the artifact proxy's
// /api/2.0/mlflow-artifacts/…); others are under /api/2.0/mlflow/. A
// non-2xx answer fails the command.
func cmdMLflow(ts *testscript.TestScript, neg bool, args []string) {
	ws := ""
	if len(args) > 1 && args[0] == "-w" {
		ws, args = args[1], args[2:]
	}
	if len(args) < 2 || len(args) > 3 {
		ts.Fatalf("usage: mlflow [-w WS] METHOD ROUTE [JSON]")
	}
	url := ts.Getenv("HANGAR_URL")
	if ws != "" {
		url += "/w/" + ws
	}
	var body io.Reader
	if len(args) == 3 {
		body = strings.NewReader(args[2])
	}
	route := args[1]
	if !strings.HasPrefix(route, "/") {
		route = "/api/2.0/mlflow/" + route
	}
	req, err := http.NewRequest(args[0], url+route, body)
	ts.Check(err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	tok, err := os.ReadFile(filepath.Join(ts.Getenv("HANGAR_HOME"), "owner.token"))
	ts.Check(err)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
	resp, err := http.DefaultClient.Do(req)
	ts.Check(err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	ts.Check(err)
	ts.Stdout().Write(b)
	if ok := resp.StatusCode/100 == 2; ok == neg {
		ts.Fatalf("mlflow %s %s: %s %s", args[0], args[1], resp.Status, b)
	}
}

func TestReadLogBatch(t *testing.T) {
	now := func() int64 { return 42 }
	t.Run("good", func(t *testing.T) {
		in := `{"metric":"loss","value":0.5,"step":3,"timestamp":7}

  {"metric":"loss","value":"NaN"}
{"metric":"acc","value":"0.75","step":"4"}
{"param":"lr","value":"0.1"}
{"param":"depth","value":6}
{"param":"lr","value":"0.1"}
{"tag":"stage","value":"dev"}
{"tag":"stage","value":"prod"}
`
		b, err := readLogBatch(strings.NewReader(in), now)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := json.Marshal(b)
		want := `{"run_id":"","metrics":[{"key":"loss","value":0.5,"timestamp":7,"step":3},{"key":"loss","value":"NaN","timestamp":42,"step":0},` +
			`{"key":"acc","value":0.75,"timestamp":42,"step":4}],"params":[{"key":"lr","value":"0.1"},{"key":"depth","value":"6"}],` +
			`"tags":[{"key":"stage","value":"dev"},{"key":"stage","value":"prod"}]}`
		if string(got) != want {
			t.Errorf("got  %s\nwant %s", got, want)
		}
	})
	for _, tc := range []struct {
		name, in, want string
	}{
		{"not json", "{\"metric\":\"a\",\"value\":1}\nloss=1\n", "stdin line 2: not JSON: invalid character 'l'"},
		{"not an object", "[1]", `stdin line 1: want a JSON object such as {"metric": "loss", "value": 0.5}`},
		{"two values", `{"metric":"a","value":1} {"metric":"b","value":1}`, "stdin line 1: more than one JSON value"},
		{"unknown field", `{"metric":"a","value":1,"stp":1}`, `stdin line 1: unknown field "stp"`},
		{"nothing named", `{"value":1}`, `stdin line 1: want exactly one of "metric", "param" or "tag"`},
		{"two named", `{"metric":"a","param":"b","value":1}`, `stdin line 1: want exactly one of "metric", "param" or "tag"`},
		{"no value", `{"param":"lr"}`, `stdin line 1: param "lr" has no "value"`},
		{"null value", `{"metric":"a","value":null}`, `stdin line 1: metric "a" has no "value"`},
		{"bad metric value", `{"metric":"a","value":"high"}`, `stdin line 1: metric "a": value "high": want a number`},
		{"bad step", `{"metric":"a","value":1,"step":1.5}`, "stdin line 1: MLflow int64 1.5: want a whole number"},
		{"negative timestamp", `{"metric":"a","value":1,"timestamp":-1}`, "stdin line 1: Got invalid timestamp -1 for metric 'a'"},
		{"bad key", `{"metric":"a/../b","value":1}`, "stdin line 1: Invalid metric name: 'a/../b'"},
		{"long key", `{"tag":"` + strings.Repeat("k", 251) + `","value":"v"}`, "stdin line 1: Tag key 'kkk"},
		{"step on a param", `{"param":"lr","value":"1","step":2}`, `stdin line 1: param "lr": step and timestamp are for metrics only`},
		{"object param value", `{"param":"lr","value":{"a":1}}`, `stdin line 1: param "lr": value {"a":1}: want a string or a number`},
		{"bool tag value", `{"tag":"t","value":true}`, `stdin line 1: tag "t": value true: want a string or a number`},
		{"param changes", "{\"param\":\"lr\",\"value\":\"0.1\"}\n\n{\"param\":\"lr\",\"value\":\"0.2\"}", `stdin line 3: param "lr" was given the value "0.1" on line 1: a param cannot change value`},
		{"long param value", `{"param":"p","value":"` + strings.Repeat("v", hangar.MaxParamValueLength+1) + `"}`, "stdin line 1: Param value 'vvv"},
		{"long tag value", `{"tag":"t","value":"` + strings.Repeat("v", mlflow.MaxTagValueLength+1) + `"}`, `stdin line 1: tag "t": value of 5001 characters, over the 5000`},
		{"long line", `{"tag":"t","value":"` + strings.Repeat("v", maxLogLine) + `"}`, "stdin line 1: longer than 1048576 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readLogBatch(strings.NewReader(tc.in), now)
			if hangar.ErrorCode(err) != hangar.EINVALID || !strings.HasPrefix(hangar.ErrorMessage(err), tc.want) {
				t.Errorf("got %v, want EINVALID starting %q", err, tc.want)
			}
		})
	}
}

func FuzzReadLogBatch(f *testing.F) {
	for _, s := range []string{
		`{"metric":"loss","value":0.5,"step":3,"timestamp":7}`,
		`{"param":"lr","value":"0.1"}` + "\n" + `{"tag":"t","value":1e3}`,
		`{"metric":"m","value":"-Infinity","step":"9"}`,
		"\n\n[]",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		b, err := readLogBatch(strings.NewReader(in), func() int64 { return 1 })
		if err != nil {
			if hangar.ErrorCode(err) != hangar.EINVALID {
				t.Fatalf("got %v, want EINVALID", err)
			}
			return
		}
		seen := map[string]bool{}
		for _, p := range b.Params {
			if seen[p.Key] {
				t.Fatalf("param %q twice in one batch", p.Key)
			}
			seen[p.Key] = true
			if hangar.ValidateParam(hangar.Param{Key: p.Key, Value: p.Value}) != nil {
				t.Fatalf("invalid param %q passed", p.Key)
			}
		}
		for _, m := range b.Metrics {
			if hangar.ValidateMetric(hangar.Metric{Key: m.Key, Value: float64(m.Value), Timestamp: int64(m.Timestamp), Step: int64(m.Step)}) != nil {
				t.Fatalf("invalid metric %q passed", m.Key)
			}
		}
	})
}

func TestParseMetricValue(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64
		ok   bool
	}{
		{"0.5", 0.5, true}, {"-1e3", -1000, true}, {"nan", math.NaN(), true}, {"-Inf", math.Inf(-1), true},
		{"infinity", math.Inf(1), true}, {"1e999", 0, false}, {"abc", 0, false}, {"", 0, false}, {"0x1p-2", 0.25, true},
	} {
		got, err := parseMetricValue(tc.in)
		if (err == nil) != tc.ok || (tc.ok && !(got == tc.want || math.IsNaN(got) && math.IsNaN(tc.want))) {
			t.Errorf("parseMetricValue(%q) = %v, %v; want %v, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

// trackingRecorder is a fake MLflow server that keeps every request.
type trackingRecorder struct {
	mu     sync.Mutex
	routes []string
	bodies []map[string]any
	auth   []string
}

func (r *trackingRecorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	var body map[string]any
	json.NewDecoder(req.Body).Decode(&body)
	r.mu.Lock()
	r.routes = append(r.routes, req.Method+" "+req.URL.Path)
	r.bodies = append(r.bodies, body)
	r.auth = append(r.auth, req.Header.Get("Authorization"))
	r.mu.Unlock()
	io.WriteString(w, "{}")
}

// TestLogCommands drives `hangar log` against a fake server: the routes
// and bodies each verb sends, negative values, chunking of a large batch
// and the credentials of the environment.
func TestLogCommands(t *testing.T) {
	rec := &trackingRecorder{}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	vars := map[string]string{"MLFLOW_TRACKING_URI": srv.URL + "/w/team", "MLFLOW_RUN_ID": "r1", "MLFLOW_TRACKING_TOKEN": "tok"}
	getenv := func(k string) string { return vars[k] }
	logCmd := func(stdin string, args ...string) (string, error) {
		var out, errb bytes.Buffer
		code := run(context.Background(), append([]string{"log"}, args...), strings.NewReader(stdin), &out, &errb, getenv)
		if code != 0 {
			return errb.String(), fmt.Errorf("exit %d: %s", code, errb.String())
		}
		return errb.String(), nil
	}
	if _, err := logCmd("", "metric", "loss", "-0.5", "--step", "-3", "--timestamp", "9"); err != nil {
		t.Fatal(err)
	}
	if _, err := logCmd("", "--run-id", "r2", "param", "offset", "-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := logCmd("", "tag", "note", "--", "--not-a-flag"); err != nil {
		t.Fatal(err)
	}
	var lines strings.Builder
	for i := range 2500 {
		fmt.Fprintf(&lines, `{"metric":"m","value":%d,"step":%d}`+"\n", i, i)
	}
	lines.WriteString(`{"param":"p","value":"v"}` + "\n")
	stderr, err := logCmd(lines.String(), "batch")
	if err != nil {
		t.Fatal(err)
	}
	if stderr != "logged 2500 metrics, 1 param and 0 tags to run r1\n" {
		t.Errorf("batch said %q", stderr)
	}
	wantRoutes := []string{"POST /w/team/api/2.0/mlflow/runs/log-metric", "POST /w/team/api/2.0/mlflow/runs/log-parameter", "POST /w/team/api/2.0/mlflow/runs/set-tag",
		"POST /w/team/api/2.0/mlflow/runs/log-batch", "POST /w/team/api/2.0/mlflow/runs/log-batch", "POST /w/team/api/2.0/mlflow/runs/log-batch"}
	if strings.Join(rec.routes, "\n") != strings.Join(wantRoutes, "\n") {
		t.Fatalf("routes:\n%s\nwant\n%s", strings.Join(rec.routes, "\n"), strings.Join(wantRoutes, "\n"))
	}
	for i, a := range rec.auth {
		if a != "Bearer tok" {
			t.Errorf("request %d: Authorization %q", i, a)
		}
	}
	got, _ := json.Marshal(rec.bodies[:3])
	want := `[{"key":"loss","run_id":"r1","run_uuid":"r1","step":-3,"timestamp":9,"value":-0.5},` +
		`{"key":"offset","run_id":"r2","run_uuid":"r2","value":"-1"},{"key":"note","run_id":"r1","run_uuid":"r1","value":"--not-a-flag"}]`
	if string(got) != want {
		t.Errorf("bodies:\n%s\nwant\n%s", got, want)
	}
	if n := len(rec.bodies[3]["metrics"].([]any)); n != 999 { // one param and 999 metrics: 1000 entities
		t.Errorf("first log-batch has %d metrics, want 999", n)
	}

	// HTTP Basic in place of the token when user and password are set.
	vars["MLFLOW_TRACKING_USERNAME"], vars["MLFLOW_TRACKING_PASSWORD"] = "me", "secret"
	if _, err := logCmd("", "tag", "a", "b"); err != nil {
		t.Fatal(err)
	}
	if a := rec.auth[len(rec.auth)-1]; a != "Basic bWU6c2VjcmV0" {
		t.Errorf("Authorization %q, want Basic me:secret", a)
	}

	for _, tc := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{map[string]string{"MLFLOW_RUN_ID": ""}, []string{"metric", "a", "1"}, "error: no run to log to: set MLFLOW_RUN_ID (a job step receives it) or pass --run-id"},
		{map[string]string{"MLFLOW_TRACKING_URI": ""}, []string{"metric", "a", "1"}, "error: MLFLOW_TRACKING_URI is not set: want the tracking server's http(s) URL"},
		{map[string]string{"MLFLOW_TRACKING_URI": "localhost:5000"}, []string{"param", "a", "1"}, `error: MLFLOW_TRACKING_URI "localhost:5000": want an http(s) URL`},
		{nil, []string{"metric", "a", "high"}, `error: metric value "high": want a number (or nan, inf, -inf)`},
		{nil, []string{"metric", "a"}, "error: hangar log metric takes 2 arguments (NAME VALUE), got 1"},
		{nil, []string{"metric", "a", "1", "--step", "x"}, `error: hangar log metric: invalid argument "x" for "--step" flag`},
		{nil, []string{"param", "a/../b", "1"}, "error: Invalid parameter name: 'a/../b'"},
		{nil, []string{"tag", "t", strings.Repeat("v", hangar.MaxRunTagValueLength+1)}, "error: Tag value 'vvv"},
	} {
		old := map[string]string{}
		for k, v := range tc.env {
			old[k], vars[k] = vars[k], v
		}
		n := len(rec.routes)
		out, err := logCmd("", tc.args...)
		if err == nil || !strings.HasPrefix(out, tc.want) || len(rec.routes) != n {
			t.Errorf("%v: got %q, %v after %d requests; want an error starting %q before any request", tc.args, out, err, len(rec.routes)-n, tc.want)
		}
		for k, v := range old {
			vars[k] = v
		}
	}
}
