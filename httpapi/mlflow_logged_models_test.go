package httpapi_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/hangar-ml/hangar"
)

// mlflow3Headers are the headers of an MLflow 3.x Python client.
var mlflow3Headers = []string{"User-Agent", "mlflow-python-client/3.1.0"}

// TestMLflow3LogModel sends what an MLflow 3.x client sends for
// mlflow.<flavor>.log_model(..., name="model", registered_model_name="reg")
// in a run (mlflow/models/model.py, Model.log): create the logged model with
// the run's params, link it to the run (runs/outputs), read the run's
// metrics for the step, upload the files through the artifact proxy,
// finalize it, register a version from models:/<id>; then reads it back,
// lists its files, searches, tags, logs params and deletes it, comparing
// each answer field by field, on SQLite and PostgreSQL.
func TestMLflow3LogModel(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { testMLflow3LogModel(t, newEnvOn(t, b.dsn(t), nil)) })
	}
}

func testMLflow3LogModel(t *testing.T, e *env) {
	tok := e.token("scientist", hangar.RoleDataScientist, hangar.DefaultWorkspace)
	call := func(method, path, body string) response {
		t.Helper()
		return e.mlflow(method, path, tok, body, mlflow3Headers...)
	}

	r := call("POST", "/api/2.0/mlflow/experiments/create", `{"name": "demo"}`)
	sameJSON(t, "experiments/create", r.body, `{"experiment_id": "1"}`)
	r = call("POST", "/api/2.0/mlflow/runs/create", `{"experiment_id": "1", "start_time": 1700000000000, "tags": [{"key": "mlflow.user", "value": "alice"}], "run_name": "r1"}`)
	run := field(t, r.body, "run.info.run_id")
	call("POST", "/api/2.0/mlflow/runs/log-batch", `{"run_id": "`+run+`", "metrics": [], "params": [{"key": "lr", "value": "0.1"}], "tags": []}`)

	// _create_logged_model: the run's params, the flavor and source tags.
	r = call("POST", "/api/2.0/mlflow/logged-models", `{"experiment_id": "1", "name": "model", "source_run_id": "`+run+`",
		"params": [{"key": "lr", "value": "0.1"}],
		"tags": [{"key": "mlflow.source.name", "value": "train.py"}, {"key": "mlflow.source.type", "value": "LOCAL"}, {"key": "mlflow.user", "value": "alice"}]}`)
	if r.status != 200 {
		t.Fatalf("logged-models create: %d %s", r.status, r.body)
	}
	id := field(t, r.body, "model.info.model_id")
	if !hangar.ValidLoggedModelID(id) {
		t.Fatalf("model_id %q: want m- and 32 hex digits", id)
	}
	created := field(t, r.body, "model.info.creation_timestamp_ms")
	artifactURI := "mlflow-artifacts:/1/models/" + id + "/artifacts"
	info := func(status, updated string) string {
		return `"model_id": "` + id + `", "experiment_id": "1", "name": "model", "creation_timestamp_ms": ` + created + `,
			"last_updated_timestamp_ms": ` + updated + `, "artifact_uri": "` + artifactURI + `", "status": "` + status + `",
			"source_run_id": "` + run + `",
			"tags": [{"key": "mlflow.source.name", "value": "train.py"}, {"key": "mlflow.source.type", "value": "LOCAL"}, {"key": "mlflow.user", "value": "alice"}]`
	}
	data := `"data": {"params": [{"key": "lr", "value": "0.1"}]}`
	sameJSON(t, "logged-models create", r.body, `{"model": {"info": {`+info("LOGGED_MODEL_PENDING", created)+`}, `+data+`}}`)
	wantAuditEvent(t, e, "logged-models create", hangar.ActRunWrite, "logged-models/"+id)

	// client.log_outputs, then log_model_metrics_for_step reads the run.
	r = call("POST", "/api/2.0/mlflow/runs/outputs", `{"run_id": "`+run+`", "models": [{"model_id": "`+id+`", "step": 0}]}`)
	sameJSON(t, "runs/outputs", r.body, `{}`)
	wantAuditEvent(t, e, "runs/outputs", hangar.ActRunWrite, "runs/"+run)
	r = call("GET", "/api/2.0/mlflow/runs/get?run_uuid="+run+"&run_id="+run, "")
	sameJSON(t, "runs/get outputs", []byte(`{"o": `+jsonAt(t, r.body, "run.outputs")+`}`), `{"o": {"model_outputs": [{"model_id": "`+id+`", "step": 0}]}}`)

	// client.get_logged_model (log_model_artifacts reads the artifact_uri).
	r = call("GET", "/api/2.0/mlflow/logged-models/"+id, "")
	sameJSON(t, "logged-models get", r.body, `{"model": {"info": {`+info("LOGGED_MODEL_PENDING", created)+`}, `+data+`}}`)

	// _use_logged_model finalizes on success.
	r = call("PATCH", "/api/2.0/mlflow/logged-models/"+id, `{"model_id": "`+id+`", "status": "LOGGED_MODEL_READY"}`)
	updated := field(t, r.body, "model.info.last_updated_timestamp_ms")
	sameJSON(t, "logged-models finalize", r.body, `{"model": {"info": {`+info("LOGGED_MODEL_READY", updated)+`}, `+data+`}}`)

	// _register_model("models:/<id>", "reg").
	r = call("POST", "/api/2.0/mlflow/registered-models/create", `{"name": "reg"}`)
	if r.status != 200 {
		t.Fatalf("registered-models create: %d %s", r.status, r.body)
	}
	r = call("POST", "/api/2.0/mlflow/model-versions/create", `{"name": "reg", "source": "models:/`+id+`", "run_id": "`+run+`", "model_id": "`+id+`"}`)
	if r.status != 200 {
		t.Fatalf("model-versions create: %d %s", r.status, r.body)
	}
	for path, want := range map[string]string{
		"model_version.source":           "models:/" + id,
		"model_version.storage_location": artifactURI,
		"model_version.model_id":         id,
		"model_version.run_id":           run,
		"model_version.version":          "1",
	} {
		if got := field(t, r.body, path); got != want {
			t.Errorf("model-versions create %s: got %q, want %q", path, got, want)
		}
	}
	r = call("GET", "/api/2.0/mlflow/model-versions/get-download-uri?name=reg&version=1", "")
	sameJSON(t, "get-download-uri", r.body, `{"artifact_uri": "`+artifactURI+`"}`)
	r = call("GET", "/api/2.0/mlflow/logged-models/"+id, "")
	sameJSON(t, "registrations", []byte(jsonAt(t, r.body, "model.info.registrations")), `[{"name": "reg", "version": "1"}]`)
	// Without run_id, the version's run is the model's source run.
	r = call("POST", "/api/2.0/mlflow/model-versions/create", `{"name": "reg", "source": "models:/`+id+`"}`)
	if got := field(t, r.body, "model_version.run_id"); got != run {
		t.Errorf("version 2 run_id: got %q, want the source run %s", got, run)
	}
	r = call("POST", "/api/2.0/mlflow/model-versions/create", `{"name": "reg", "source": "models:/m-0123456789abcdef0123456789abcdef"}`)
	wantMLflowError(t, "a version of a missing logged model", r, 400, "INVALID_PARAMETER_VALUE",
		"Unable to fetch model from model URI source artifact location 'models:/m-0123456789abcdef0123456789abcdef'. Error: Logged model with ID 'm-0123456789abcdef0123456789abcdef' not found.")

	// mlflow.search_logged_models(filter_string=..., order_by=[{...}]).
	r = call("POST", "/api/2.0/mlflow/logged-models/search", `{"experiment_ids": ["1"], "filter": "name = 'model' AND params.lr = '0.1'",
		"order_by": [{"field_name": "creation_time", "ascending": false}], "max_results": 50}`)
	if n := strings.Count(string(r.body), `"model_id"`); n != 1 || !strings.Contains(string(r.body), id) || strings.Contains(string(r.body), "next_page_token") {
		t.Errorf("search: got %s, want the one model and no token", r.body)
	}
	r = call("POST", "/api/2.0/mlflow/logged-models/search", `{"experiment_ids": ["1"], "filter": "tags.nope = 'x'"}`)
	sameJSON(t, "search without matches", r.body, `{}`)
	r = call("POST", "/api/2.0/mlflow/logged-models/search", `{"experiment_ids": ["1"], "filter": "name = 'a' OR name = 'b'"}`)
	if r.status != 400 || field(t, r.body, "error_code") != "INVALID_PARAMETER_VALUE" || !strings.Contains(field(t, r.body, "message"), "'OR'") {
		t.Errorf("search with OR: %d %s, want 400 INVALID_PARAMETER_VALUE naming OR", r.status, r.body)
	}
	r = call("POST", "/api/2.0/mlflow/logged-models/search", `{"experiment_ids": ["1"], "order_by": [{"field_name": "colour"}]}`)
	wantMLflowError(t, "search by an unknown field", r, 400, "INVALID_PARAMETER_VALUE", "Invalid order by field name: colour")

	// Tags and params.
	r = call("PATCH", "/api/2.0/mlflow/logged-models/"+id+"/tags", `{"model_id": "`+id+`", "tags": [{"key": "stage", "value": "dev"}]}`)
	if !strings.Contains(jsonAt(t, r.body, "model.info.tags"), `"stage"`) {
		t.Errorf("set tags: %d %s", r.status, r.body)
	}
	r = call("DELETE", "/api/2.0/mlflow/logged-models/"+id+"/tags/stage", `{"model_id": "`+id+`", "tag_key": "stage"}`)
	sameJSON(t, "delete tag", r.body, `{}`)
	r = call("DELETE", "/api/2.0/mlflow/logged-models/"+id+"/tags/stage", "")
	wantMLflowError(t, "delete a missing tag", r, 404, "RESOURCE_DOES_NOT_EXIST", "No tag with key 'stage' found for model with ID '"+id+"'.")
	r = call("POST", "/api/2.0/mlflow/logged-models/"+id+"/params", `{"model_id": "`+id+`", "params": [{"key": "depth", "value": "6"}, {"key": "lr", "value": "0.1"}]}`)
	sameJSON(t, "log params", r.body, `{}`)
	r = call("POST", "/api/2.0/mlflow/logged-models/"+id+"/params", `{"params": [{"key": "lr", "value": "0.2"}]}`)
	if r.status != 400 || field(t, r.body, "error_code") != "INVALID_PARAMETER_VALUE" {
		t.Errorf("change a param: %d %s, want 400 INVALID_PARAMETER_VALUE", r.status, r.body)
	}
	r = call("GET", "/api/2.0/mlflow/logged-models/"+id, "")
	sameJSON(t, "params", []byte(jsonAt(t, r.body, "model.data")), `{"params": [{"key": "depth", "value": "6"}, {"key": "lr", "value": "0.1"}]}`)

	// log_model_artifacts uploads the files under the model's artifact_uri
	// through the proxy; the model's listing shows them relative to it.
	for _, f := range []string{"MLmodel", "model/model.json"} {
		r = call("PUT", "/api/2.0/mlflow-artifacts/artifacts/1/models/"+id+"/artifacts/"+f, "{}")
		sameJSON(t, "upload "+f, r.body, `{}`)
	}
	r = call("GET", "/api/2.0/mlflow/logged-models/"+id+"/artifacts/directories?artifact_directory_path=", "")
	sameJSON(t, "artifacts/directories", r.body, `{"root_uri": "`+artifactURI+`", "files": [
		{"path": "MLmodel", "is_dir": false, "file_size": 2}, {"path": "model", "is_dir": true}]}`)
	r = call("GET", "/api/2.0/mlflow/logged-models/"+id+"/artifacts/directories?artifact_directory_path=model", "")
	sameJSON(t, "artifacts/directories model", r.body, `{"root_uri": "`+artifactURI+`", "files": [
		{"path": "model/model.json", "is_dir": false, "file_size": 2}]}`)
	r = call("GET", "/api/2.0/mlflow/logged-models/"+id+"/artifacts/directories?artifact_directory_path=../x", "")
	if r.status != 400 || field(t, r.body, "error_code") != "INVALID_PARAMETER_VALUE" {
		t.Errorf("artifacts/directories with ..: %d %s, want 400 INVALID_PARAMETER_VALUE", r.status, r.body)
	}

	// Delete: gone from get and search.
	r = call("DELETE", "/api/2.0/mlflow/logged-models/"+id, `{"model_id": "`+id+`"}`)
	sameJSON(t, "delete", r.body, `{}`)
	wantAuditEvent(t, e, "delete", hangar.ActRunDelete, "logged-models/"+id)
	r = call("GET", "/api/2.0/mlflow/logged-models/"+id, "")
	wantMLflowError(t, "get deleted", r, 404, "RESOURCE_DOES_NOT_EXIST", "Logged model with ID '"+id+"' not found.")
	r = call("POST", "/api/2.0/mlflow/logged-models/search", `{"experiment_ids": ["1"]}`)
	sameJSON(t, "search after delete", r.body, `{}`)
}

// TestMLflow3LoggedModelErrors: MLflow's error shapes for the logged-model
// routes, each error code.
func TestMLflow3LoggedModelErrors(t *testing.T) {
	e := newEnv(t)
	tok := e.token("scientist", hangar.RoleDataScientist, hangar.DefaultWorkspace)
	call := func(method, path, body string) response {
		t.Helper()
		return e.mlflow(method, path, tok, body, mlflow3Headers...)
	}
	r := call("POST", "/api/2.0/mlflow/logged-models", `{"name": "m"}`)
	wantMLflowError(t, "no experiment", r, 400, "INVALID_PARAMETER_VALUE", "Missing value for required parameter 'experiment_id'. See the API docs for more information about request parameters.")
	r = call("POST", "/api/2.0/mlflow/logged-models", `{"experiment_id": "7"}`)
	wantMLflowError(t, "missing experiment", r, 404, "RESOURCE_DOES_NOT_EXIST", "No Experiment with id=7 exists")
	r = call("POST", "/api/2.0/mlflow/logged-models", `{"experiment_id": "0", "tags": [{"value": "v"}]}`)
	wantMLflowError(t, "tag without key", r, 400, "INVALID_PARAMETER_VALUE", "Missing value for required parameter 'tags.key'. See the API docs for more information about request parameters.")
	r = call("POST", "/api/2.0/mlflow/logged-models", `{"experiment_id": "0", "params": [{"key": "k", "value": "`+strings.Repeat("v", hangar.MaxParamValueLength+1)+`"}]}`)
	if r.status != 400 || field(t, r.body, "error_code") != "INVALID_PARAMETER_VALUE" {
		t.Errorf("param past the limit: %d %.200s", r.status, r.body)
	}
	r = call("POST", "/api/2.0/mlflow/logged-models", `{"experiment_id": 0, "name": "m"}`) // a number: MLflow's parser takes it
	id := field(t, r.body, "model.info.model_id")
	r = call("PATCH", "/api/2.0/mlflow/logged-models/"+id, `{"model_id": "`+id+`"}`)
	wantMLflowError(t, "finalize without status", r, 400, "INVALID_PARAMETER_VALUE", "Missing value for required parameter 'status'. See the API docs for more information about request parameters.")
	r = call("PATCH", "/api/2.0/mlflow/logged-models/"+id, `{"status": "LOGGED_MODEL_PENDING"}`)
	if r.status != 400 || field(t, r.body, "error_code") != "INVALID_PARAMETER_VALUE" {
		t.Errorf("finalize as PENDING: %d %s", r.status, r.body)
	}
	r = call("PATCH", "/api/2.0/mlflow/logged-models/"+id, `{"status": 3}`)
	if got := field(t, r.body, "model.info.status"); got != "LOGGED_MODEL_UPLOAD_FAILED" {
		t.Errorf("finalize as 3: status %q in %s", got, r.body)
	}
	for _, path := range []string{"m-0123456789abcdef0123456789abcdef", "nonsense"} {
		r = call("GET", "/api/2.0/mlflow/logged-models/"+path, "")
		wantMLflowError(t, "get "+path, r, 404, "RESOURCE_DOES_NOT_EXIST", "Logged model with ID '"+path+"' not found.")
	}
	r = call("POST", "/api/2.0/mlflow/runs/outputs", `{"models": []}`)
	wantMLflowError(t, "outputs without run", r, 400, "INVALID_PARAMETER_VALUE", "Missing value for required parameter 'run_id'. See the API docs for more information about request parameters.")
	r = call("POST", "/api/2.0/mlflow/runs/outputs", `{"run_id": "0123456789abcdef0123456789abcdef", "models": [{"model_id": "`+id+`"}]}`)
	wantMLflowError(t, "output without step", r, 400, "INVALID_PARAMETER_VALUE", "Missing value for required parameter 'models.step'. See the API docs for more information about request parameters.")
	r = call("POST", "/api/2.0/mlflow/runs/outputs", `{"run_id": "0123456789abcdef0123456789abcdef", "models": [{"model_id": "`+id+`", "step": 1}]}`)
	wantMLflowError(t, "outputs of a missing run", r, 404, "RESOURCE_DOES_NOT_EXIST", "Run with id=0123456789abcdef0123456789abcdef not found")
	r = call("POST", "/api/2.0/mlflow/logged-models/search", `{"experiment_ids": ["0"], "max_results": 0}`)
	if r.status != 400 || field(t, r.body, "error_code") != "INVALID_PARAMETER_VALUE" {
		t.Errorf("search max_results 0: %d %s", r.status, r.body)
	}
	r = call("POST", "/api/2.0/mlflow/logged-models/search", `{"experiment_ids": ["0"], "page_token": "garbage"}`)
	if r.status != 400 || field(t, r.body, "error_code") != "INVALID_PARAMETER_VALUE" {
		t.Errorf("search with a bad token: %d %s", r.status, r.body)
	}
	r = call("PUT", "/api/2.0/mlflow/logged-models/"+id, `{}`)
	if r.status != 405 && r.status != 404 {
		t.Errorf("PUT a logged model: %d %s, want 404 or 405", r.status, r.body)
	}
}

// TestMLflow3LoggedModelPages: search pages of max_results, each model
// once, tokens bound to their search.
func TestMLflow3LoggedModelPages(t *testing.T) {
	e := newEnv(t)
	tok := e.token("scientist", hangar.RoleDataScientist, hangar.DefaultWorkspace)
	want := map[string]bool{}
	for i := range 5 {
		r := e.mlflow("POST", "/api/2.0/mlflow/logged-models", tok, fmt.Sprintf(`{"experiment_id": "0", "name": "m%d"}`, i))
		want[field(t, r.body, "model.info.model_id")] = true
	}
	seen := map[string]bool{}
	token := ""
	for range 10 {
		body := `{"experiment_ids": ["0"], "max_results": 2, "order_by": [{"field_name": "name"}]`
		if token != "" {
			body += `, "page_token": "` + token + `"`
		}
		r := e.mlflow("POST", "/api/2.0/mlflow/logged-models/search", tok, body+`}`)
		if r.status != 200 {
			t.Fatalf("search page: %d %s", r.status, r.body)
		}
		for id := range want {
			if strings.Contains(string(r.body), id) {
				if seen[id] {
					t.Errorf("model %s on two pages", id)
				}
				seen[id] = true
			}
		}
		if !strings.Contains(string(r.body), "next_page_token") {
			break
		}
		token = field(t, r.body, "next_page_token")
	}
	if len(seen) != len(want) {
		t.Errorf("pages: saw %d models, want %d", len(seen), len(want))
	}
	r := e.mlflow("POST", "/api/2.0/mlflow/logged-models/search", tok, `{"experiment_ids": ["0"], "max_results": 2}`)
	token = field(t, r.body, "next_page_token")
	r = e.mlflow("POST", "/api/2.0/mlflow/logged-models/search", tok, `{"experiment_ids": ["0"], "max_results": 2, "filter": "name = 'm1'", "page_token": "`+token+`"}`)
	if r.status != 400 || field(t, r.body, "error_code") != "INVALID_PARAMETER_VALUE" {
		t.Errorf("a token of another search: %d %s, want 400", r.status, r.body)
	}
}

// TestMLflow3LoggedModelWorkspacesAndRoles: a model is found only in its
// workspace (by path or X-MLFLOW-WORKSPACE); readers read, only writers
// write.
func TestMLflow3LoggedModelWorkspacesAndRoles(t *testing.T) {
	e := newEnv(t)
	e.createWorkspace("team-a")
	admin := e.token("boss", hangar.RoleOwner, "")
	r := e.mlflow("POST", "/api/2.0/mlflow/logged-models", admin, `{"experiment_id": "0", "name": "m"}`)
	id := field(t, r.body, "model.info.model_id")
	notFound := "Logged model with ID '" + id + "' not found."
	r = e.mlflow("GET", "/w/team-a/api/2.0/mlflow/logged-models/"+id, admin, "")
	wantMLflowError(t, "by path in team-a", r, 404, "RESOURCE_DOES_NOT_EXIST", notFound)
	r = e.mlflow("GET", "/api/2.0/mlflow/logged-models/"+id, admin, "", "X-MLFLOW-WORKSPACE", "team-a")
	wantMLflowError(t, "by header in team-a", r, 404, "RESOURCE_DOES_NOT_EXIST", notFound)
	r = e.mlflow("GET", "/ajax-api/2.0/mlflow/logged-models/"+id, admin, "")
	if field(t, r.body, "model.info.model_id") != id {
		t.Errorf("ajax-api: %d %s", r.status, r.body)
	}
	r = e.mlflow("POST", "/w/team-a/api/2.0/mlflow/logged-models", admin, `{"experiment_id": "0", "name": "theirs"}`)
	theirs := field(t, r.body, "model.info.model_id")
	r = e.mlflow("GET", "/api/2.0/mlflow/logged-models/"+theirs, admin, "", "X-MLFLOW-WORKSPACE", "team-a")
	if field(t, r.body, "model.info.name") != "theirs" {
		t.Errorf("by header in team-a: %d %s", r.status, r.body)
	}

	reader := e.token("reader", hangar.RoleReader, hangar.DefaultWorkspace)
	r = e.mlflow("GET", "/api/2.0/mlflow/logged-models/"+id, reader, "")
	if r.status != 200 {
		t.Errorf("a reader gets: %d %s", r.status, r.body)
	}
	for _, w := range []struct{ method, path, body, action string }{
		{"POST", "/api/2.0/mlflow/logged-models", `{"experiment_id": "0"}`, hangar.ActRunWrite},
		{"PATCH", "/api/2.0/mlflow/logged-models/" + id, `{"status": "LOGGED_MODEL_READY"}`, hangar.ActRunWrite},
		{"DELETE", "/api/2.0/mlflow/logged-models/" + id, `{}`, hangar.ActRunDelete},
		{"PATCH", "/api/2.0/mlflow/logged-models/" + id + "/tags", `{"tags": []}`, hangar.ActRunWrite},
		{"DELETE", "/api/2.0/mlflow/logged-models/" + id + "/tags/k", ``, hangar.ActRunWrite},
		{"POST", "/api/2.0/mlflow/logged-models/" + id + "/params", `{"params": []}`, hangar.ActRunWrite},
		{"POST", "/api/2.0/mlflow/runs/outputs", `{"run_id": "x", "models": []}`, hangar.ActRunWrite},
	} {
		r = e.mlflow(w.method, w.path, reader, w.body)
		wantMLflowError(t, "a reader: "+w.method+" "+w.path, r, 403, "PERMISSION_DENIED", "identity reader lacks "+w.action+" on workspace default")
	}
}

// wantAuditEvent fails unless the newest audit event is action on target.
func wantAuditEvent(t *testing.T, e *env, what, action, target string) {
	t.Helper()
	p, err := e.admin.ListEvents(t.Context(), hangar.EventFilter{}, hangar.ListOptions{MaxResults: hangar.MaxMaxResults})
	if err != nil {
		t.Fatalf("%s: list events: %v", what, err)
	}
	for p.NextPageToken != "" {
		if p, err = e.admin.ListEvents(t.Context(), hangar.EventFilter{}, hangar.ListOptions{MaxResults: hangar.MaxMaxResults, PageToken: p.NextPageToken}); err != nil {
			t.Fatal(err)
		}
	}
	if len(p.Items) == 0 {
		t.Fatalf("%s: no audit events", what)
	}
	last := p.Items[len(p.Items)-1]
	if last.Action != action || last.Target != target {
		t.Errorf("%s: newest audit event %s on %s, want %s on %s", what, last.Action, last.Target, action, target)
	}
}

// jsonAt returns the JSON text of the value at a dotted path of a JSON
// answer ("null" when absent).
func jsonAt(t *testing.T, body []byte, path string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("%s is not JSON: %v", body, err)
	}
	for _, k := range strings.Split(path, ".") {
		m, _ := v.(map[string]any)
		v = m[k]
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestMLflow3ModelMetrics: mlflow.log_metric(..., model_id=…, dataset=…)
// and log-batch metrics naming a model link the points to the model — its
// data.metrics gives them back with their run and dataset — and to the run;
// logged-models/search filters and orders on them; an unknown model is a
// RESOURCE_DOES_NOT_EXIST and stores nothing.
func TestMLflow3ModelMetrics(t *testing.T) {
	e := newEnv(t)
	tok := e.token("scientist", hangar.RoleDataScientist, hangar.DefaultWorkspace)
	call := func(method, path, body string) response {
		t.Helper()
		return e.mlflow(method, path, tok, body, mlflow3Headers...)
	}
	r := call("POST", "/api/2.0/mlflow/runs/create", `{"experiment_id": "0"}`)
	run := field(t, r.body, "run.info.run_id")
	a := field(t, call("POST", "/api/2.0/mlflow/logged-models", `{"experiment_id": "0", "name": "a"}`).body, "model.info.model_id")
	b := field(t, call("POST", "/api/2.0/mlflow/logged-models", `{"experiment_id": "0", "name": "b"}`).body, "model.info.model_id")

	r = call("POST", "/api/2.0/mlflow/runs/log-metric", `{"run_id": "`+run+`", "key": "acc", "value": 0.9, "timestamp": 1700000000000, "step": 0,
		"model_id": "`+a+`", "dataset_name": "valid", "dataset_digest": "d1"}`)
	sameJSON(t, "log-metric with a model", r.body, `{}`)
	r = call("POST", "/api/2.0/mlflow/runs/log-batch", `{"run_id": "`+run+`", "metrics": [
		{"key": "acc", "value": 0.7, "timestamp": 1700000000001, "step": 1, "model_id": "`+b+`", "dataset_name": "valid", "dataset_digest": "d1"},
		{"key": "loss", "value": "NaN", "timestamp": 1700000000002, "step": 1, "model_id": "`+b+`"},
		{"key": "plain", "value": 1, "timestamp": 1700000000003, "step": 1}], "params": [], "tags": []}`)
	sameJSON(t, "log-batch with models", r.body, `{}`)

	r = call("GET", "/api/2.0/mlflow/logged-models/"+b, "")
	sameJSON(t, "data.metrics of b", []byte(`{"m": `+jsonAt(t, r.body, "model.data.metrics")+`}`), `{"m": [
		{"key": "acc", "value": 0.7, "timestamp": 1700000000001, "step": 1, "dataset_name": "valid", "dataset_digest": "d1", "model_id": "`+b+`", "run_id": "`+run+`"},
		{"key": "loss", "value": "NaN", "timestamp": 1700000000002, "step": 1, "model_id": "`+b+`", "run_id": "`+run+`"}]}`)
	r = call("GET", "/api/2.0/mlflow/metrics/get-history?run_id="+run+"&metric_key=acc", "")
	sameJSON(t, "the run has the points too", r.body, `{"metrics": [{"key": "acc", "value": 0.9, "timestamp": 1700000000000, "step": 0},
		{"key": "acc", "value": 0.7, "timestamp": 1700000000001, "step": 1}]}`)

	names := func(body string) []string {
		t.Helper()
		r := call("POST", "/api/2.0/mlflow/logged-models/search", body)
		var page struct {
			Models []struct {
				Info struct{ Name string } `json:"info"`
			} `json:"models"`
		}
		if err := json.Unmarshal(r.body, &page); err != nil || r.status != 200 {
			t.Fatalf("search %s: %d %s", body, r.status, r.body)
		}
		out := []string{}
		for _, m := range page.Models {
			out = append(out, m.Info.Name)
		}
		return out
	}
	if got := names(`{"experiment_ids": ["0"], "filter": "metrics.acc > 0.8"}`); !slices.Equal(got, []string{"a"}) {
		t.Errorf("search metrics.acc > 0.8: got %v, want [a]", got)
	}
	if got := names(`{"experiment_ids": ["0"], "order_by": [{"field_name": "metrics.acc", "ascending": true, "dataset_name": "valid"}]}`); !slices.Equal(got, []string{"b", "a"}) {
		t.Errorf("search ordered by metrics.acc ascending: got %v, want [b a]", got)
	}
	if got := names(`{"experiment_ids": ["0"], "datasets": [{"dataset_name": "valid", "dataset_digest": "other"}]}`); len(got) != 0 {
		t.Errorf("search on a dataset no point is of: got %v, want none", got)
	}

	r = call("POST", "/api/2.0/mlflow/runs/log-metric", `{"run_id": "`+run+`", "key": "acc", "value": 1, "timestamp": 1700000000009, "model_id": "m-0123456789abcdef0123456789abcdef"}`)
	if r.status != 404 || field(t, r.body, "error_code") != "RESOURCE_DOES_NOT_EXIST" {
		t.Errorf("an unknown model: %d %s, want 404 RESOURCE_DOES_NOT_EXIST", r.status, r.body)
	}
	r = call("POST", "/api/2.0/mlflow/runs/log-metric", `{"run_id": "`+run+`", "key": "acc", "value": 1, "timestamp": 1700000000009, "model_id": "not-a-model"}`)
	if r.status != 400 || field(t, r.body, "error_code") != "INVALID_PARAMETER_VALUE" {
		t.Errorf("a malformed model id: %d %s, want 400 INVALID_PARAMETER_VALUE", r.status, r.body)
	}
	r = call("GET", "/api/2.0/mlflow/metrics/get-history?run_id="+run+"&metric_key=acc", "")
	if n := strings.Count(string(r.body), `"key"`); n != 2 {
		t.Errorf("after refused points the run has %d points of acc, want 2: %s", n, r.body)
	}
}
