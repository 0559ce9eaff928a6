package httpapi_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/hangar-ml/hangar"
)

// mlflowHeaders are the headers MLflow's Python client sends with every
// request (rest_utils.py); bodies go as JSON, GET fields as a query string.
var mlflowHeaders = []string{"User-Agent", "mlflow-python-client/2.10.2", "Content-Type", "application/json"}

// mlflow sends a request as MLflow's Python client does, with the token as
// a bearer token.
func (e *env) mlflow(method, path, token, body string, header ...string) response {
	e.t.Helper()
	return e.do(method, path, token, body, append(append([]string{}, mlflowHeaders...), header...)...)
}

// sameJSON fails unless got is the JSON want describes, compared field by
// field (object key order and spacing aside, numbers by their text).
func sameJSON(t *testing.T, what string, got []byte, want string) {
	t.Helper()
	parse := func(b []byte) (any, error) {
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		var v any
		err := dec.Decode(&v)
		return v, err
	}
	g, err := parse(got)
	if err != nil {
		t.Fatalf("%s: the answer %s is not JSON: %v", what, got, err)
	}
	w, err := parse([]byte(want))
	if err != nil {
		t.Fatalf("%s: the expected JSON %s does not parse: %v", what, want, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s:\n got  %s\n want %s", what, compact(got), compact([]byte(want)))
	}
}

func compact(b []byte) string {
	var buf bytes.Buffer
	if json.Compact(&buf, b) != nil {
		return string(b)
	}
	return buf.String()
}

// wantMLflowError fails unless r is MLflow's error answer with the status,
// code and message.
func wantMLflowError(t *testing.T, what string, r response, status int, code, message string) {
	t.Helper()
	var env struct {
		ErrorCode string `json:"error_code"`
		Message   string `json:"message"`
	}
	if err := json.Unmarshal(r.body, &env); err != nil || r.status != status || env.ErrorCode != code || env.Message != message {
		t.Errorf("%s: %d %s, want %d {%q, %q}", what, r.status, r.body, status, code, message)
	}
}

// field returns a string field of a JSON answer by its dotted path.
func field(t *testing.T, body []byte, path string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("%s is not JSON: %v", body, err)
	}
	for _, k := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("%s has no %s", body, path)
		}
		v = m[k]
	}
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return fmt.Sprint(int64(x))
	}
	t.Fatalf("%s: %s is %v, not a string or number", body, path, v)
	return ""
}

// TestMLflowClientSession sends what MLflow's Python client sends for a
// script that sets an experiment, starts a run, logs params, metrics, a tag,
// a dataset and a model, reads them back, searches and ends the run
// (reference §1.8), and compares each answer field by field.
func TestMLflowClientSession(t *testing.T) {
	e := newEnv(t)
	tok := e.token("scientist", hangar.RoleDataScientist, hangar.DefaultWorkspace)

	// mlflow.set_experiment("demo")
	r := e.mlflow("GET", "/api/2.0/mlflow/experiments/get-by-name?experiment_name=demo", tok, "")
	wantMLflowError(t, "get-by-name of a new experiment", r, 404, "RESOURCE_DOES_NOT_EXIST", "Could not find experiment with name 'demo'")
	r = e.mlflow("POST", "/api/2.0/mlflow/experiments/create", tok, `{"name": "demo"}`)
	sameJSON(t, "experiments/create", r.body, `{"experiment_id": "1"}`)
	r = e.mlflow("GET", "/api/2.0/mlflow/experiments/get-by-name?experiment_name=demo", tok, "")
	created := field(t, r.body, "experiment.creation_time")
	sameJSON(t, "experiments/get-by-name", r.body, `{"experiment": {"experiment_id": "1", "name": "demo",
		"artifact_location": "mlflow-artifacts:/1", "lifecycle_stage": "active",
		"creation_time": `+created+`, "last_update_time": `+created+`}}`)

	// mlflow.start_run(run_name="r1")
	r = e.mlflow("POST", "/api/2.0/mlflow/runs/create", tok, `{"experiment_id": "1", "user_id": "alice", "start_time": 1700000000000,
		"tags": [{"key": "mlflow.user", "value": "alice"}, {"key": "mlflow.source.name", "value": "train.py"},
		{"key": "mlflow.source.type", "value": "LOCAL"}, {"key": "mlflow.runName", "value": "r1"}], "run_name": "r1"}`)
	id := field(t, r.body, "run.info.run_id")
	tags := `[{"key": "mlflow.runName", "value": "r1"}, {"key": "mlflow.source.name", "value": "train.py"},
		{"key": "mlflow.source.type", "value": "LOCAL"}, {"key": "mlflow.user", "value": "alice"}]`
	info := `"run_uuid": "` + id + `", "run_id": "` + id + `", "run_name": "r1", "experiment_id": "1", "user_id": "alice",
		"start_time": 1700000000000, "artifact_uri": "mlflow-artifacts:/1/` + id + `/artifacts", "lifecycle_stage": "active"`
	sameJSON(t, "runs/create", r.body, `{"run": {"info": {`+info+`, "status": "RUNNING"}, "data": {"tags": `+tags+`}, "inputs": {}}}`)

	// mlflow.log_params({...}) goes through log-batch; log_metric one by one.
	r = e.mlflow("POST", "/api/2.0/mlflow/runs/log-batch", tok, `{"run_id": "`+id+`", "metrics": [], "params": [{"key": "lr", "value": "0.1"}, {"key": "depth", "value": "6"}], "tags": []}`)
	sameJSON(t, "runs/log-batch", r.body, `{}`)
	for i, v := range []string{`0.9`, `"NaN"`, `0.5`} {
		r = e.mlflow("POST", "/api/2.0/mlflow/runs/log-metric", tok, fmt.Sprintf(`{"run_uuid": "%s", "run_id": "%s", "key": "loss", "value": %s, "timestamp": %d, "step": %d}`,
			id, id, v, 1700000001000+i, i))
		sameJSON(t, "runs/log-metric", r.body, `{}`)
	}
	logged := field(t, e.mlflow("POST", "/api/2.0/mlflow/logged-models", tok, `{"experiment_id": "1", "name": "m"}`).body, "model.info.model_id")
	r = e.mlflow("POST", "/api/2.0/mlflow/runs/log-metric", tok, `{"run_uuid": "`+id+`", "run_id": "`+id+`", "key": "acc", "value": "Infinity", "timestamp": 1700000001000, "step": 0,
		"model_id": "`+logged+`", "dataset_name": "d", "dataset_digest": "x"}`) // a 3.x client's extra fields (TestMLflow3ModelMetrics)
	sameJSON(t, "runs/log-metric of a 3.x client", r.body, `{}`)
	r = e.mlflow("POST", "/api/2.0/mlflow/runs/set-tag", tok, `{"run_uuid": "`+id+`", "run_id": "`+id+`", "key": "team", "value": "vision"}`)
	sameJSON(t, "runs/set-tag", r.body, `{}`)
	r = e.mlflow("POST", "/api/2.0/mlflow/runs/log-inputs", tok, `{"run_id": "`+id+`", "datasets": [{"tags": [{"key": "mlflow.data.context", "value": "training"}],
		"dataset": {"name": "iris", "digest": "a1b2c3", "source_type": "local", "source": "{\"uri\": \"/data/iris.csv\"}", "schema": "{\"mlflow_colspec\": []}", "profile": "{\"num_rows\": 150}"}}]}`)
	sameJSON(t, "runs/log-inputs", r.body, `{}`)
	model := `{"artifact_path": "model", "flavors": {"sklearn": {"pickled_model": "model.pkl"}}, "run_id": "` + id + `", "utc_time_created": "2024-01-01 00:00:00.000000", "model_uuid": "u1"}`
	modelJSON, _ := json.Marshal(model)
	r = e.mlflow("POST", "/api/2.0/mlflow/runs/log-model", tok, `{"run_id": "`+id+`", "model_json": `+string(modelJSON)+`}`)
	sameJSON(t, "runs/log-model", r.body, `{}`)

	// Reading back.
	history := `[{"artifact_path":"model","flavors":{"sklearn":{"pickled_model":"model.pkl"}},"run_id":"` + id + `","utc_time_created":"2024-01-01 00:00:00.000000","model_uuid":"u1"}]`
	historyJSON, _ := json.Marshal(history)
	allTags := `[{"key": "mlflow.log-model.history", "value": ` + string(historyJSON) + `}, {"key": "mlflow.runName", "value": "r1"},
		{"key": "mlflow.source.name", "value": "train.py"}, {"key": "mlflow.source.type", "value": "LOCAL"}, {"key": "mlflow.user", "value": "alice"}, {"key": "team", "value": "vision"}]`
	data := `{"metrics": [{"key": "acc", "value": "Infinity", "timestamp": 1700000001000, "step": 0}, {"key": "loss", "value": 0.5, "timestamp": 1700000001002, "step": 2}],
		"params": [{"key": "depth", "value": "6"}, {"key": "lr", "value": "0.1"}], "tags": ` + allTags + `}`
	inputs := `{"dataset_inputs": [{"tags": [{"key": "mlflow.data.context", "value": "training"}], "dataset": {"name": "iris", "digest": "a1b2c3", "source_type": "local",
		"source": "{\"uri\": \"/data/iris.csv\"}", "schema": "{\"mlflow_colspec\": []}", "profile": "{\"num_rows\": 150}"}}]}`
	r = e.mlflow("GET", "/api/2.0/mlflow/runs/get?run_uuid="+id+"&run_id="+id, tok, "")
	sameJSON(t, "runs/get", r.body, `{"run": {"info": {`+info+`, "status": "RUNNING"}, "data": `+data+`, "inputs": `+inputs+`}}`)
	r = e.mlflow("GET", "/api/2.0/mlflow/metrics/get-history?run_uuid="+id+"&run_id="+id+"&metric_key=loss&max_results=25000", tok, "")
	sameJSON(t, "metrics/get-history", r.body, `{"metrics": [{"key": "loss", "value": 0.9, "timestamp": 1700000001000, "step": 0},
		{"key": "loss", "value": "NaN", "timestamp": 1700000001001, "step": 1}, {"key": "loss", "value": 0.5, "timestamp": 1700000001002, "step": 2}]}`)

	// mlflow.end_run()
	r = e.mlflow("POST", "/api/2.0/mlflow/runs/update", tok, `{"run_uuid": "`+id+`", "run_id": "`+id+`", "status": "FINISHED", "end_time": 1700000009000}`)
	sameJSON(t, "runs/update", r.body, `{"run_info": {`+info+`, "status": "FINISHED", "end_time": 1700000009000}}`)

	// MlflowClient.search_runs and search_experiments.
	r = e.mlflow("POST", "/api/2.0/mlflow/runs/search", tok, `{"experiment_ids": ["1"], "filter": "metrics.loss < 1 and params.lr = '0.1'", "run_view_type": "ACTIVE_ONLY",
		"max_results": 1000, "order_by": ["metrics.loss DESC"]}`)
	sameJSON(t, "runs/search", r.body, `{"runs": [{"info": {`+info+`, "status": "FINISHED", "end_time": 1700000009000}, "data": `+data+`, "inputs": `+inputs+`}]}`)
	r = e.mlflow("POST", "/api/2.0/mlflow/runs/search", tok, `{"experiment_ids": ["1"], "filter": "metrics.loss > 1", "max_results": 1000}`)
	sameJSON(t, "runs/search with no result", r.body, `{}`)
	r = e.mlflow("POST", "/api/2.0/mlflow/experiments/search", tok, `{"max_results": 1000, "view_type": "ACTIVE_ONLY", "order_by": ["name"]}`)
	def := field(t, e.mlflow("GET", "/api/2.0/mlflow/experiments/get?experiment_id=0", tok, "").body, "experiment.creation_time")
	experiments := `{"experiments": [{"experiment_id": "0", "name": "Default", "artifact_location": "mlflow-artifacts:/0", "lifecycle_stage": "active",
		"creation_time": ` + def + `, "last_update_time": ` + def + `}, {"experiment_id": "1", "name": "demo", "artifact_location": "mlflow-artifacts:/1",
		"lifecycle_stage": "active", "creation_time": ` + created + `, "last_update_time": ` + created + `}]}`
	sameJSON(t, "experiments/search (POST)", r.body, experiments)
	r = e.mlflow("GET", "/api/2.0/mlflow/experiments/search?max_results=1000&order_by=name", tok, "")
	sameJSON(t, "experiments/search (GET)", r.body, experiments)
	r = e.mlflow("GET", "/api/2.0/mlflow/experiments/search?max_results=1&order_by=name", tok, "")
	next := field(t, r.body, "next_page_token")
	r = e.mlflow("GET", "/api/2.0/mlflow/experiments/search?max_results=1&order_by=name&page_token="+next, tok, "")
	sameJSON(t, "experiments/search, the last page", r.body, `{"experiments": [{"experiment_id": "1", "name": "demo", "artifact_location": "mlflow-artifacts:/1",
		"lifecycle_stage": "active", "creation_time": `+created+`, "last_update_time": `+created+`}]}`)

	// Every write was audited, logging once per request.
	var writes []string
	for _, ev := range e.events() {
		if ev.Actor == "scientist" {
			writes = append(writes, ev.Action+" "+ev.Target)
		}
	}
	run := "runs/write runs/" + id
	want := []string{"experiments/write experiments/1", run, // create
		run, // log-batch
		run, // the first log-metric; the 2 after it are metric-only writes by the same actor to the same run within sqlstore.MetricAuditWindow: its event stands for them
		"runs/write logged-models/" + logged,
		run,           // the log-metric naming the logged model: not metric-only, audited
		run, run, run, // set-tag, log-inputs, log-model
		run, // update
	}
	if !reflect.DeepEqual(writes, want) {
		t.Errorf("audit events:\n got  %v\n want %v", writes, want)
	}
}

// TestMLflowErrors: MLflow's error codes, statuses and messages at the wire.
func TestMLflowErrors(t *testing.T) {
	e := newEnv(t)
	tok := e.token("scientist", hangar.RoleDataScientist, hangar.DefaultWorkspace)
	r := e.mlflow("POST", "/api/2.0/mlflow/runs/create", tok, `{"experiment_id": "0"}`)
	id := field(t, r.body, "run.info.run_id")
	deleted := field(t, e.mlflow("POST", "/api/2.0/mlflow/runs/create", tok, `{}`).body, "run.info.run_id")
	e.mlflow("POST", "/api/2.0/mlflow/runs/delete", tok, `{"run_id": "`+deleted+`"}`)
	e.mlflow("POST", "/api/2.0/mlflow/runs/log-parameter", tok, `{"run_id": "`+id+`", "key": "lr", "value": "0.1"}`)
	e.mlflow("POST", "/api/2.0/mlflow/experiments/create", tok, `{"name": "taken"}`)
	docs := " See the API docs for more information about request parameters."
	metrics := func(n int) string {
		var b strings.Builder
		for i := range n {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `{"key":"m","value":%d,"timestamp":1,"step":%d}`, i, i)
		}
		return "[" + b.String() + "]"
	}
	tests := []struct {
		name, method, path, body string
		header                   []string
		status                   int
		code, message            string
	}{
		{"missing experiment", "GET", "/api/2.0/mlflow/experiments/get?experiment_id=999", "", nil, 404, "RESOURCE_DOES_NOT_EXIST", "No Experiment with id=999 exists"},
		{"missing run", "GET", "/api/2.0/mlflow/runs/get?run_id=abc", "", nil, 404, "RESOURCE_DOES_NOT_EXIST", "Run with id=abc not found"},
		{"no run id", "GET", "/api/2.0/mlflow/runs/get?x=1", "", nil, 400, "INVALID_PARAMETER_VALUE", "Missing value for required parameter 'run_id'." + docs},
		{"missing name", "POST", "/api/2.0/mlflow/experiments/create", `{}`, nil, 400, "INVALID_PARAMETER_VALUE", "Missing value for required parameter 'name'." + docs},
		{"a number for a name", "POST", "/api/2.0/mlflow/experiments/create", `{"name": 5}`, nil, 400, "INVALID_PARAMETER_VALUE",
			"Invalid value 5 for parameter 'name' supplied. Hint: Value was of type 'int'." + docs},
		{"a taken name", "POST", "/api/2.0/mlflow/experiments/create", `{"name": "taken"}`, nil, 400, "RESOURCE_ALREADY_EXISTS", "Experiment(name=taken) already exists."},
		{"no content type", "POST", "/api/2.0/mlflow/experiments/create", `{"name": "x"}`, []string{"Content-Type", ""}, 400, "INVALID_PARAMETER_VALUE",
			"Bad Request. Content-Type header is missing."},
		{"form content type", "POST", "/api/2.0/mlflow/experiments/create", `name=x`, []string{"Content-Type", "application/x-www-form-urlencoded"}, 400, "INVALID_PARAMETER_VALUE",
			"Bad Request. Content-Type must be one of ['application/json']."},
		{"a changed param", "POST", "/api/2.0/mlflow/runs/log-parameter", `{"run_id": "` + id + `", "key": "lr", "value": "0.2"}`, nil, 400, "INVALID_PARAMETER_VALUE",
			"Changing param values is not allowed. Param with key='lr' was already logged with value='0.1' for run ID='" + id + "'. Attempted logging new value '0.2'."},
		{"the same param again", "POST", "/api/2.0/mlflow/runs/log-parameter", `{"run_id": "` + id + `", "key": "lr", "value": "0.1"}`, nil, 200, "", ""},
		{"logging to a deleted run", "POST", "/api/2.0/mlflow/runs/log-metric", `{"run_id": "` + deleted + `", "key": "m", "value": 1, "timestamp": 1}`, nil, 400,
			"INVALID_PARAMETER_VALUE", "The run " + deleted + " must be in the 'active' state. Current state is deleted."},
		{"a metric without a timestamp", "POST", "/api/2.0/mlflow/runs/log-metric", `{"run_id": "` + id + `", "key": "m", "value": 1}`, nil, 400,
			"INVALID_PARAMETER_VALUE", "Missing value for required parameter 'timestamp'." + docs},
		{"a metric value that is not a number", "POST", "/api/2.0/mlflow/runs/log-metric", `{"run_id": "` + id + `", "key": "m", "value": "high", "timestamp": 1}`, nil, 400,
			"INVALID_PARAMETER_VALUE", "Invalid value high for parameter 'value' supplied. Hint: Value was of type 'str'." + docs},
		{"a missing tag", "POST", "/api/2.0/mlflow/runs/delete-tag", `{"run_id": "` + id + `", "key": "nope"}`, nil, 404, "RESOURCE_DOES_NOT_EXIST",
			"No tag with name: nope in run with id " + id},
		{"a batch metric without a timestamp", "POST", "/api/2.0/mlflow/runs/log-batch", `{"run_id": "` + id + `", "metrics": [{"key": "m", "value": 1}]}`, nil, 400,
			"INVALID_PARAMETER_VALUE", `Invalid value [{"key":"m","value":1,"timestamp":null,"step":0}] for parameter 'metrics' supplied. Hint: Value was of type 'list'.` + docs},
		{"1000 metrics", "POST", "/api/2.0/mlflow/runs/log-batch", `{"run_id": "` + id + `", "metrics": ` + metrics(1000) + `}`, nil, 200, "", ""},
		{"1001 metrics", "POST", "/api/2.0/mlflow/runs/log-batch", `{"run_id": "` + id + `", "metrics": ` + metrics(1001) + `}`, nil, 400, "INVALID_PARAMETER_VALUE",
			"A batch logging request can contain at most 1000 metrics. Got 1001 metrics. Please split up metrics across multiple requests and try again."},
		{"a param value of 6000", "POST", "/api/2.0/mlflow/runs/log-parameter", `{"run_id": "` + id + `", "key": "p6000", "value": "` + strings.Repeat("v", 6000) + `"}`, nil, 200, "", ""},
		{"a param value of 6001", "POST", "/api/2.0/mlflow/runs/log-parameter", `{"run_id": "` + id + `", "key": "p6001", "value": "` + strings.Repeat("v", 6001) + `"}`, nil, 400,
			"INVALID_PARAMETER_VALUE", "Param value '" + strings.Repeat("v", 250) + "' had length 6001, which exceeded length limit of 6000"},
		{"a bad status", "POST", "/api/2.0/mlflow/runs/update", `{"run_id": "` + id + `", "status": "DONE"}`, nil, 400, "INVALID_PARAMETER_VALUE",
			"Invalid value DONE for parameter 'status' supplied. Hint: Value was of type 'str'." + docs},
		{"a status by number", "POST", "/api/2.0/mlflow/runs/update", `{"run_id": "` + id + `", "status": 3}`, nil, 200, "", ""},
		{"search page of 50001", "POST", "/api/2.0/mlflow/runs/search", `{"experiment_ids": ["0"], "max_results": 50001}`, nil, 400, "INVALID_PARAMETER_VALUE",
			"Invalid value 50001 for parameter 'max_results' supplied. Hint: Value was of type 'int'." + docs},
		{"search with OR", "POST", "/api/2.0/mlflow/runs/search", `{"experiment_ids": ["0"], "filter": "params.a = '1' OR params.b = '2'"}`, nil, 400, "INVALID_PARAMETER_VALUE",
			`invalid filter "params.a = '1' OR params.b = '2'": Invalid clause(s) in filter string: 'OR'; clauses are joined by AND only (at position 16)`},
		{"experiments search without max_results", "GET", "/api/2.0/mlflow/experiments/search?view_type=ALL", "", nil, 400, "INVALID_PARAMETER_VALUE",
			"Invalid value for max_results. It must be a positive integer, but got 0"},
		{"a bad view type", "GET", "/api/2.0/mlflow/experiments/search?max_results=10&view_type=SOME", "", nil, 400, "INVALID_PARAMETER_VALUE",
			"Invalid value SOME for parameter 'view_type' supplied. Hint: Value was of type 'str'." + docs},
		{"a bad run view type", "POST", "/api/2.0/mlflow/runs/search", `{"experiment_ids": ["0"], "run_view_type": 7}`, nil, 400, "INVALID_PARAMETER_VALUE",
			"Invalid value 7 for parameter 'run_view_type' supplied. Hint: Value was of type 'str'." + docs},
		{"a deleted experiment's name", "POST", "/api/2.0/mlflow/experiments/update", `{"experiment_id": 1, "new_name": "Default"}`, nil, 400, "RESOURCE_ALREADY_EXISTS",
			"Experiment(name=Default) already exists."},
		{"an unknown endpoint", "GET", "/api/2.0/mlflow/nope", "", nil, 404, "ENDPOINT_NOT_FOUND", "no route for GET /api/2.0/mlflow/nope"},
		{"a bad log-model", "POST", "/api/2.0/mlflow/runs/log-model", `{"run_id": "` + id + `", "model_json": "{}"}`, nil, 400, "INVALID_PARAMETER_VALUE",
			"Model json is missing mandatory fields: {'artifact_path', 'flavors', 'utc_time_created', 'run_id'}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.mlflow(tt.method, tt.path, tok, tt.body, tt.header...)
			if tt.status == 200 {
				if r.status != 200 {
					t.Fatalf("%d %s, want 200", r.status, r.body)
				}
				return
			}
			wantMLflowError(t, tt.name, r, tt.status, tt.code, tt.message)
		})
	}
}

// TestMLflowWorkspacesAndAuth: the workspace comes from /w/{ws}, else the
// X-MLFLOW-WORKSPACE header, else it is the default; each route checks the
// caller's role there; Basic auth with the token as password works as a
// bearer token does; MLflow 3's workspace list shows what the caller may
// read.
func TestMLflowWorkspacesAndAuth(t *testing.T) {
	e := newEnv(t)
	e.createWorkspace("team-a")
	e.createWorkspace("team-b")
	sci := e.token("scientist", hangar.RoleDataScientist, "team-a")
	reader := e.token("reader", hangar.RoleReader, "team-a")
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("anyone:"+sci))

	// By path, and by header; the same experiment.
	r := e.mlflow("POST", "/w/team-a/api/2.0/mlflow/experiments/create", sci, `{"name": "churn"}`)
	sameJSON(t, "create in team-a by path", r.body, `{"experiment_id": "1"}`)
	r = e.mlflow("GET", "/api/2.0/mlflow/experiments/get-by-name?experiment_name=churn", sci, "", "X-MLFLOW-WORKSPACE", "team-a")
	if r.status != 200 || field(t, r.body, "experiment.experiment_id") != "1" {
		t.Errorf("get by header: %d %s", r.status, r.body)
	}
	r = e.mlflow("GET", "/w/team-a/ajax-api/2.0/mlflow/experiments/get?experiment_id=1", "", "", "Authorization", basic)
	if r.status != 200 || field(t, r.body, "experiment.name") != "churn" {
		t.Errorf("get with Basic auth on the ajax path: %d %s", r.status, r.body)
	}
	// Not in another workspace, and no role there.
	r = e.mlflow("GET", "/api/2.0/mlflow/experiments/get?experiment_id=1", sci, "")
	wantMLflowError(t, "the default workspace", r, 403, "PERMISSION_DENIED", "identity scientist lacks experiments/read on workspace default (its token is scoped to workspace team-a)")
	admin := e.adminToken()
	r = e.mlflow("GET", "/w/team-b/api/2.0/mlflow/experiments/get?experiment_id=1", admin, "")
	wantMLflowError(t, "team-a's experiment from team-b", r, 404, "RESOURCE_DOES_NOT_EXIST", "No Experiment with id=1 exists")
	r = e.mlflow("GET", "/w/team-a/api/2.0/mlflow/experiments/get?experiment_id=1", sci, "", "X-MLFLOW-WORKSPACE", "team-b")
	wantMLflowError(t, "a header against the path", r, 400, "INVALID_PARAMETER_VALUE",
		`the X-Mlflow-Workspace header names workspace "team-b" but the path names "team-a": send one of them, or the same in both`)
	r = e.mlflow("GET", "/api/2.0/mlflow/experiments/get?experiment_id=1", sci, "", "X-MLFLOW-WORKSPACE", "no/such")
	wantMLflowError(t, "a bad header", r, 400, "INVALID_PARAMETER_VALUE",
		`X-Mlflow-Workspace header: invalid workspace name "no/such": use 3 to 33 letters, digits, '-' or '_', starting with a letter or digit`)
	r = e.mlflow("GET", "/api/2.0/mlflow/experiments/get?experiment_id=1", admin, "", "X-MLFLOW-WORKSPACE", "gone")
	wantMLflowError(t, "a header naming no workspace", r, 404, "RESOURCE_DOES_NOT_EXIST", `workspace "gone" not found`)
	// A reader reads but does not write.
	r = e.mlflow("POST", "/w/team-a/api/2.0/mlflow/runs/create", reader, `{"experiment_id": "1"}`)
	wantMLflowError(t, "a reader creates a run", r, 403, "PERMISSION_DENIED", "identity reader lacks runs/write on workspace team-a")
	r = e.mlflow("POST", "/w/team-a/api/2.0/mlflow/runs/search", reader, `{"experiment_ids": ["1"]}`)
	sameJSON(t, "a reader searches", r.body, `{}`)
	// No token, a bad one.
	r = e.mlflow("GET", "/api/2.0/mlflow/experiments/get?experiment_id=0", "", "")
	wantMLflowError(t, "no token", r, 401, "UNAUTHENTICATED", "missing bearer token")
	r = e.mlflow("GET", "/api/2.0/mlflow/experiments/get?experiment_id=0", "hgr_nope", "")
	wantMLflowError(t, "a bad token", r, 401, "UNAUTHENTICATED", "invalid token")

	// MLflow 3's workspace list: what the caller may read.
	r = e.mlflow("GET", "/api/2.0/mlflow/workspaces", sci, "")
	sameJSON(t, "workspaces of a team-a token", r.body, `{"workspaces": [{"name": "team-a"}]}`)
	r = e.mlflow("GET", "/api/2.0/mlflow/workspaces", admin, "")
	sameJSON(t, "workspaces of the owner", r.body, `{"workspaces": [{"name": "default", "description": "The workspace every server has."}, {"name": "team-a"}, {"name": "team-b"}]}`)
	r = e.mlflow("GET", "/api/3.0/mlflow/workspaces", sci, "")
	sameJSON(t, "workspaces under /api/3.0", r.body, `{"workspaces": [{"name": "team-a"}]}`)
	r = e.mlflow("GET", "/api/2.0/mlflow/workspaces/team-a", sci, "")
	sameJSON(t, "workspace team-a", r.body, `{"workspace": {"name": "team-a"}}`)
	r = e.mlflow("GET", "/api/2.0/mlflow/workspaces/team-b", sci, "")
	wantMLflowError(t, "workspace team-b", r, 403, "PERMISSION_DENIED", "identity scientist lacks workspaces/read on workspace team-b (its token is scoped to workspace team-a)")
}

// TestMLflowHealthAndVersion: MLflow's /health and /version, without a
// token.
func TestMLflowHealthAndVersion(t *testing.T) {
	e := newEnv(t)
	for path, want := range map[string]string{"/health": "OK", "/version": "2.10.2"} {
		r := e.do("GET", path, "", "")
		if r.status != http.StatusOK || string(r.body) != want || !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") {
			t.Errorf("GET %s: %d %q (%s), want 200 %q as text", path, r.status, r.body, r.header.Get("Content-Type"), want)
		}
	}
}

// TestMLflowSearchPages: runs/search pages with opaque tokens bound to
// their query, as the pandas search_runs follows them.
func TestMLflowSearchPages(t *testing.T) {
	e := newEnv(t)
	tok := e.token("scientist", hangar.RoleDataScientist, hangar.DefaultWorkspace)
	var ids []string
	for i := range 5 {
		r := e.mlflow("POST", "/api/2.0/mlflow/runs/create", tok, fmt.Sprintf(`{"experiment_id": "0", "start_time": %d}`, 1000+i))
		ids = append([]string{field(t, r.body, "run.info.run_id")}, ids...) // newest first
	}
	var got []string
	token := ""
	for pages := 0; ; pages++ {
		body := `{"experiment_ids": ["0"], "max_results": 2, "page_token": "` + token + `"}`
		r := e.mlflow("POST", "/api/2.0/mlflow/runs/search", tok, body)
		if r.status != 200 || pages > 5 {
			t.Fatalf("page %d: %d %s", pages, r.status, r.body)
		}
		var page struct {
			Runs []struct {
				Info struct {
					RunID string `json:"run_id"`
				} `json:"info"`
			} `json:"runs"`
			NextPageToken string `json:"next_page_token"`
		}
		json.Unmarshal(r.body, &page)
		for _, run := range page.Runs {
			got = append(got, run.Info.RunID)
		}
		if page.NextPageToken == "" {
			break
		}
		token = page.NextPageToken
		r = e.mlflow("POST", "/api/2.0/mlflow/runs/search", tok, `{"experiment_ids": ["0"], "filter": "params.x = '1'", "page_token": "`+token+`"}`)
		if r.status != 400 {
			t.Errorf("a token used for another search: %d %s, want 400", r.status, r.body)
		}
	}
	if !reflect.DeepEqual(got, ids) {
		t.Errorf("runs paged through: %v, want %v", got, ids)
	}
}
