package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/httpapi"
)

// registryCall is one request as MLflow's Python client sends it: GET with a
// query string, other methods with a JSON body and its Content-Type.
func (e *env) registryCall(method, path, token, body string, header ...string) response {
	e.t.Helper()
	if method != http.MethodGet && body != "" {
		header = append([]string{"Content-Type", "application/json"}, header...)
	}
	return e.do(method, path, token, body, header...)
}

// registryWire decodes an MLflow answer, replacing each timestamp (which must
// be a JSON integer within [from, now]) by "<ms>", so answers compare with
// reflect.DeepEqual field by field, presence included.
func registryWire(t *testing.T, r response, from time.Time) map[string]any {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status %d (%s), want 200", r.status, r.body)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.UseNumber()
	var got map[string]any
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("body %q: %v", r.body, err)
	}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if k == "creation_timestamp" || k == "last_updated_timestamp" {
					n, ok := x.(json.Number)
					ms, err := n.Int64()
					if !ok || err != nil || ms < from.Add(-time.Second).UnixMilli() || ms > time.Now().Add(time.Second).UnixMilli() {
						t.Errorf("%s = %#v, want milliseconds since %v as a JSON integer", k, x, from)
					}
					v[k] = "<ms>"
					continue
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(got)
	return got
}

func mustRegistryJSON(t *testing.T, s string) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("want %s: %v", s, err)
	}
	return v
}

func sameRegistryWire(t *testing.T, what string, got map[string]any, want string) {
	t.Helper()
	w := mustRegistryJSON(t, want)
	if !reflect.DeepEqual(got, w) {
		g, _ := json.Marshal(got)
		wb, _ := json.Marshal(w)
		t.Errorf("%s:\ngot  %s\nwant %s", what, g, wb)
	}
}

// registryError checks an error answer in MLflow's envelope.
func registryError(t *testing.T, r response, status int, code, message string) {
	t.Helper()
	var env struct {
		ErrorCode string `json:"error_code"`
		Message   string `json:"message"`
	}
	if err := json.Unmarshal(r.body, &env); err != nil {
		t.Fatalf("body %q is not MLflow's error envelope: %v", r.body, err)
	}
	if r.status != status || env.ErrorCode != code || !strings.HasPrefix(env.Message, message) {
		t.Errorf("got %d %s %q, want %d %s starting %q", r.status, env.ErrorCode, env.Message, status, code, message)
	}
}

// registryTestBases lists every prefix the registry is served under, with the
// workspace each reaches.
var registryTestBases = []struct{ base, ws string }{
	{"/api/2.0/mlflow", hangar.DefaultWorkspace},
	{"/ajax-api/2.0/mlflow", hangar.DefaultWorkspace},
	{"/w/team/api/2.0/mlflow", "team"},
	{"/w/team/ajax-api/2.0/mlflow", "team"},
}

// TestMLflowRegistryClientFlow replays what MLflow's Python client sends
// for register_model, set alias, load by alias and search (reference §1.8),
// under every prefix, and compares every answer field by field.
func TestMLflowRegistryClientFlow(t *testing.T) {
	e := newEnv(t)
	e.createWorkspace("team")
	tok := e.adminToken()
	for i, b := range registryTestBases {
		t.Run(b.base, func(t *testing.T) {
			start := time.Now()
			name := "iris-" + strconv.Itoa(i)
			call := func(method, path, body string) response {
				t.Helper()
				return e.registryCall(method, b.base+path, tok, body)
			}
			got := registryWire(t, call("POST", "/registered-models/create", `{"name": "`+name+`"}`), start)
			// The user is the creating identity (MLflow's store sets none).
			if u := registryUserOf(got); !strings.HasPrefix(u, "root-") {
				t.Errorf("create: user_id %q, want the caller root-…", u)
			}
			sameRegistryWire(t, "create", got, `{"registered_model": {"name": "`+name+`", "creation_timestamp": "<ms>", "last_updated_timestamp": "<ms>", "user_id": `+registryQuote(registryUserOf(got))+`}}`)
			// register_model goes on after a duplicate: 400 RESOURCE_ALREADY_EXISTS.
			registryError(t, call("POST", "/registered-models/create", `{"name": "`+name+`"}`), 400, "RESOURCE_ALREADY_EXISTS", "")

			source := "mlflow-artifacts:/1/0123456789abcdef0123456789abcdef/artifacts/model"
			runID := "0123456789abcdef0123456789abcdef"
			got = registryWire(t, call("POST", "/model-versions/create", `{"name": "`+name+`", "source": "`+source+`", "run_id": "`+runID+`"}`), start)
			user := registryQuote(registryUserOf(got))
			version1 := `{"name": "` + name + `", "version": "1", "creation_timestamp": "<ms>", "last_updated_timestamp": "<ms>", "user_id": ` + user + `, "current_stage": "None", "source": "` + source + `", "run_id": "` + runID + `", "status": "READY"`
			sameRegistryWire(t, "create version", got, `{"model_version": `+version1+`}}`)
			// The client polls model-versions/get until READY.
			got = registryWire(t, call("GET", "/model-versions/get?name="+name+"&version=1", ""), start)
			sameRegistryWire(t, "get version", got, `{"model_version": `+version1+`}}`)

			sameRegistryWire(t, "set alias", registryWire(t, call("POST", "/registered-models/alias", `{"name": "`+name+`", "alias": "champion", "version": "1"}`), start), `{}`)
			sameRegistryWire(t, "set version tag", registryWire(t, call("POST", "/model-versions/set-tag", `{"name": "`+name+`", "version": "1", "key": "validated", "value": "yes"}`), start), `{}`)
			sameRegistryWire(t, "set model tag b", registryWire(t, call("POST", "/registered-models/set-tag", `{"name": "`+name+`", "key": "b", "value": "2"}`), start), `{}`)
			sameRegistryWire(t, "set model tag a", registryWire(t, call("POST", "/registered-models/set-tag", `{"name": "`+name+`", "key": "a", "value": ""}`), start), `{}`)

			// latest_versions carry neither aliases (as MLflow's) nor tags
			// (the store's choice; see sqlstore's registry.latest).
			got = registryWire(t, call("GET", "/registered-models/get?name="+name, ""), start)
			sameRegistryWire(t, "get model", got, `{"registered_model": {"name": "`+name+`", "creation_timestamp": "<ms>", "last_updated_timestamp": "<ms>", "user_id": `+user+`,
				"latest_versions": [`+version1+`}],
				"tags": [{"key": "a", "value": ""}, {"key": "b", "value": "2"}],
				"aliases": [{"alias": "champion", "version": "1"}]}}`)

			withAlias := version1 + `, "tags": [{"key": "validated", "value": "yes"}], "aliases": ["champion"]}`
			got = registryWire(t, call("GET", "/registered-models/alias?name="+name+"&alias=champion", ""), start)
			sameRegistryWire(t, "get by alias", got, `{"model_version": `+withAlias+`}`)
			got = registryWire(t, call("GET", "/model-versions/get-download-uri?name="+name+"&version=1", ""), start)
			sameRegistryWire(t, "download uri", got, `{"artifact_uri": "`+source+`"}`)

			q := url.Values{"filter": {"name='" + name + "'"}, "max_results": {"10000"}}
			got = registryWire(t, call("GET", "/model-versions/search?"+q.Encode(), ""), start)
			sameRegistryWire(t, "search versions", got, `{"model_versions": [`+withAlias+`]}`)
		})
	}
	// Each workspace holds its own models.
	for _, b := range registryTestBases[2:] {
		r := e.registryCall("GET", b.base+"/registered-models/get?name=iris-0", tok, "")
		registryError(t, r, 404, "RESOURCE_DOES_NOT_EXIST", "Registered Model with name=iris-0 not found")
	}
	// X-MLFLOW-WORKSPACE reaches another workspace without /w/.
	r := e.registryCall("GET", "/api/2.0/mlflow/registered-models/get?name=iris-2", tok, "", "X-MLFLOW-WORKSPACE", "team")
	if r.status != http.StatusOK {
		t.Errorf("get iris-2 with X-MLFLOW-WORKSPACE: team: status %d (%s), want 200", r.status, r.body)
	}
}

func registryUserOf(v map[string]any) string {
	for _, k := range []string{"registered_model", "model_version"} {
		if m, ok := v[k].(map[string]any); ok {
			s, _ := m["user_id"].(string)
			return s
		}
	}
	return ""
}

func registryQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestMLflowRegistryLifecycle walks the routes the flow above does not:
// rename, update, latest versions by GET and POST, stages, deletes with a
// JSON body, and registered-models/search paging.
func TestMLflowRegistryLifecycle(t *testing.T) {
	e := newEnv(t)
	tok := e.adminToken()
	start := time.Now()
	call := func(method, path, body string) response {
		t.Helper()
		return e.registryCall(method, "/api/2.0/mlflow"+path, tok, body)
	}
	ok := func(method, path, body string) map[string]any {
		t.Helper()
		return registryWire(t, call(method, path, body), start)
	}
	ok("POST", "/registered-models/create", `{"name": "m", "description": "first", "tags": [{"key": "k", "value": "v"}]}`)
	for range 3 {
		ok("POST", "/model-versions/create", `{"name": "m", "source": "s3://bucket/m", "description": "d", "run_link": "http://x/r", "tags": [{"key": "t", "value": "1"}]}`)
	}
	got := ok("POST", "/registered-models/rename", `{"name": "m", "new_name": "n"}`)
	rm := got["registered_model"].(map[string]any)
	if rm["name"] != "n" || rm["description"] != "first" {
		t.Errorf("rename: got %v, want name n, description first", rm)
	}
	got = ok("PATCH", "/registered-models/update", `{"name": "n", "description": "second"}`)
	if d := got["registered_model"].(map[string]any)["description"]; d != "second" {
		t.Errorf("update: description %v, want second", d)
	}
	got = ok("PATCH", "/model-versions/update", `{"name": "n", "version": "2"}`)
	if _, has := got["model_version"].(map[string]any)["description"]; has {
		t.Errorf("update without description: %v, want the description cleared (absent)", got)
	}

	got = ok("POST", "/model-versions/transition-stage", `{"name": "n", "version": "1", "stage": "production", "archive_existing_versions": false}`)
	if s := got["model_version"].(map[string]any)["current_stage"]; s != "Production" {
		t.Errorf("transition: stage %v, want Production", s)
	}
	got = ok("POST", "/model-versions/transition-stage", `{"name": "n", "version": "2", "stage": "Production", "archive_existing_versions": true}`)
	if s := got["model_version"].(map[string]any)["current_stage"]; s != "Production" {
		t.Errorf("transition with archive_existing_versions: stage %v, want Production", s)
	}
	latest := func(got map[string]any) []string {
		var out []string
		vs, _ := got["model_versions"].([]any)
		for _, v := range vs {
			m := v.(map[string]any)
			out = append(out, m["version"].(string)+":"+m["current_stage"].(string))
		}
		return out
	}
	for _, tt := range []struct {
		method, path, body string
		want               []string
	}{
		{"GET", "/registered-models/get-latest-versions?name=n", "", []string{"3:None", "2:Production", "1:Archived"}},
		{"GET", "/registered-models/get-latest-versions?name=n&stages=production&stages=None", "", []string{"3:None", "2:Production"}},
		{"POST", "/registered-models/get-latest-versions", `{"name": "n", "stages": ["Archived"]}`, []string{"1:Archived"}},
		{"POST", "/registered-models/get-latest-versions", `{"name": "n", "stages": ["Staging"]}`, nil},
	} {
		if g := latest(ok(tt.method, tt.path, tt.body)); !reflect.DeepEqual(g, tt.want) {
			t.Errorf("%s %s %s: got %v, want %v", tt.method, tt.path, tt.body, g, tt.want)
		}
	}

	// A version made from a models:/ source is downloaded from where that
	// source pointed when it was made (MLflow 3.x's storage_location).
	got = ok("POST", "/model-versions/create", `{"name": "n", "source": "models:/n/2"}`)
	if mv := got["model_version"].(map[string]any); mv["version"] != "4" || mv["source"] != "models:/n/2" || mv["storage_location"] != "s3://bucket/m" {
		t.Errorf("version from models:/n/2: %v, want version 4, source models:/n/2, storage_location s3://bucket/m", mv)
	}
	sameRegistryWire(t, "download uri of a models:/ source", ok("GET", "/model-versions/get-download-uri?name=n&version=4", ""), `{"artifact_uri": "s3://bucket/m"}`)

	// Deletes carry a JSON body, as the Python client sends them.
	ok("POST", "/registered-models/alias", `{"name": "n", "alias": "a1", "version": "3"}`)
	sameRegistryWire(t, "delete alias", ok("DELETE", "/registered-models/alias", `{"name": "n", "alias": "a1"}`), `{}`)
	sameRegistryWire(t, "delete missing alias", ok("DELETE", "/registered-models/alias", `{"name": "n", "alias": "a1"}`), `{}`)
	sameRegistryWire(t, "delete model tag", ok("DELETE", "/registered-models/delete-tag", `{"name": "n", "key": "k"}`), `{}`)
	sameRegistryWire(t, "delete version tag", ok("DELETE", "/model-versions/delete-tag", `{"name": "n", "version": "3", "key": "t"}`), `{}`)
	got = ok("GET", "/model-versions/get?name=n&version=3", "")
	if _, has := got["model_version"].(map[string]any)["tags"]; has {
		t.Errorf("version 3 after delete-tag: %v, want no tags", got)
	}
	sameRegistryWire(t, "delete version", ok("DELETE", "/model-versions/delete", `{"name": "n", "version": "3"}`), `{}`)
	registryError(t, call("GET", "/model-versions/get?name=n&version=3", ""), 404, "RESOURCE_DOES_NOT_EXIST", "Model Version (name=n, version=3) not found")
	sameRegistryWire(t, "delete model", ok("DELETE", "/registered-models/delete", `{"name": "n"}`), `{}`)
	registryError(t, call("GET", "/registered-models/get?name=n", ""), 404, "RESOURCE_DOES_NOT_EXIST", "Registered Model with name=n not found")

	// registered-models/search pages with next_page_token.
	for _, n := range []string{"s-c", "s-a", "s-b"} {
		ok("POST", "/registered-models/create", `{"name": "`+n+`"}`)
	}
	var names []string
	token := ""
	for range 3 {
		q := url.Values{"filter": {"name LIKE 's-%'"}, "max_results": {"2"}, "order_by": {"name ASC"}}
		if token != "" {
			q.Set("page_token", token)
		}
		got = ok("GET", "/registered-models/search?"+q.Encode(), "")
		for _, m := range got["registered_models"].([]any) {
			names = append(names, m.(map[string]any)["name"].(string))
		}
		token, _ = got["next_page_token"].(string)
		if token == "" {
			break
		}
	}
	if want := []string{"s-a", "s-b", "s-c"}; !reflect.DeepEqual(names, want) {
		t.Errorf("search pages: got %v, want %v", names, want)
	}
	sameRegistryWire(t, "empty search", ok("GET", "/registered-models/search?filter=name%3D%27none%27", ""), `{}`)
}

// TestMLflowRegistryErrors checks MLflow's code, status and message for
// every kind of refusal, and that a refusal changes nothing.
func TestMLflowRegistryErrors(t *testing.T) {
	e := newEnv(t)
	tok := e.adminToken()
	call := func(method, path, body string) response {
		t.Helper()
		return e.registryCall(method, "/api/2.0/mlflow"+path, tok, body)
	}
	for _, body := range []string{
		`{"name": "m"}`,
	} {
		if r := call("POST", "/registered-models/create", body); r.status != 200 {
			t.Fatalf("create: %d %s", r.status, r.body)
		}
	}
	call("POST", "/registered-models/create", `{"name": "other"}`)
	call("POST", "/model-versions/create", `{"name": "m", "source": "s3://b/m"}`)
	const docs = " See the API docs for more information about request parameters."
	tests := []struct {
		name, method, path, body string
		status                   int
		code, message            string
	}{
		{"create without name", "POST", "/registered-models/create", `{}`, 400, "INVALID_PARAMETER_VALUE", "Missing value for required parameter 'name'." + docs},
		{"create with empty name", "POST", "/registered-models/create", `{"name": ""}`, 400, "INVALID_PARAMETER_VALUE", "Missing value for required parameter 'name'."},
		{"create with a number", "POST", "/registered-models/create", `{"name": 5}`, 400, "INVALID_PARAMETER_VALUE", "Invalid value 5 for parameter 'name' supplied."},
		{"create with bad tags", "POST", "/registered-models/create", `{"name": "x", "tags": "a"}`, 400, "INVALID_PARAMETER_VALUE", "Invalid value a for parameter 'tags' supplied."},
		{"create with a bad tag key", "POST", "/registered-models/create", `{"name": "x", "tags": [{"key": "a/../b", "value": "1"}]}`, 400, "INVALID_PARAMETER_VALUE", "Invalid tag name: 'a/../b'."},
		{"create duplicate", "POST", "/registered-models/create", `{"name": "m"}`, 400, "RESOURCE_ALREADY_EXISTS", ""},
		{"create without Content-Type", "POST", "/registered-models/create", "", 400, "INVALID_PARAMETER_VALUE", "Bad Request. Content-Type header is missing."},
		{"get missing", "GET", "/registered-models/get?name=nope", "", 404, "RESOURCE_DOES_NOT_EXIST", "Registered Model with name=nope not found"},
		{"get without name", "GET", "/registered-models/get", "", 400, "INVALID_PARAMETER_VALUE", "Missing value for required parameter 'name'."},
		{"rename without new_name", "POST", "/registered-models/rename", `{"name": "m"}`, 400, "INVALID_PARAMETER_VALUE", "Missing value for required parameter 'new_name'."},
		{"rename to a taken name", "POST", "/registered-models/rename", `{"name": "m", "new_name": "other"}`, 400, "RESOURCE_ALREADY_EXISTS", ""},
		{"rename missing", "POST", "/registered-models/rename", `{"name": "nope", "new_name": "x"}`, 404, "RESOURCE_DOES_NOT_EXIST", "Registered Model with name=nope not found"},
		{"update missing", "PATCH", "/registered-models/update", `{"name": "nope", "description": "d"}`, 404, "RESOURCE_DOES_NOT_EXIST", ""},
		{"delete missing", "DELETE", "/registered-models/delete", `{"name": "nope"}`, 404, "RESOURCE_DOES_NOT_EXIST", ""},
		{"search with a huge max_results", "GET", "/registered-models/search?max_results=5000000000", "", 400, "INVALID_PARAMETER_VALUE", "Invalid value for request parameter max_results. It must be at most 1000, but got value 5000000000"},
		{"search with a negative max_results", "GET", "/registered-models/search?max_results=-1", "", 400, "INVALID_PARAMETER_VALUE", "Invalid value for max_results."},
		{"search over 1000", "GET", "/registered-models/search?max_results=1001", "", 400, "INVALID_PARAMETER_VALUE", "Invalid value for request parameter max_results. It must be at most 1000, but got value 1001"},
		{"search max_results not a number", "GET", "/registered-models/search?max_results=ten", "", 400, "INVALID_PARAMETER_VALUE", "Invalid value ten for parameter 'max_results' supplied."},
		{"search bad filter", "GET", "/registered-models/search?filter=" + url.QueryEscape("name >>> 'x'"), "", 400, "INVALID_PARAMETER_VALUE", ""},
		{"search bad page token", "GET", "/registered-models/search?page_token=zzz", "", 400, "INVALID_PARAMETER_VALUE", ""},
		{"version search over 200000", "GET", "/model-versions/search?max_results=200001", "", 400, "INVALID_PARAMETER_VALUE", "Invalid value for request parameter max_results. It must be at most 200000, but got value 200001"},
		{"latest with a bad stage", "GET", "/registered-models/get-latest-versions?name=m&stages=Gone", "", 400, "INVALID_PARAMETER_VALUE", "Invalid Model Version stage: Gone."},
		{"latest of a missing model", "POST", "/registered-models/get-latest-versions", `{"name": "nope"}`, 404, "RESOURCE_DOES_NOT_EXIST", ""},
		{"set tag without key", "POST", "/registered-models/set-tag", `{"name": "m", "value": "v"}`, 400, "INVALID_PARAMETER_VALUE", "Missing value for required parameter 'key'."},
		{"set tag on a missing model", "POST", "/registered-models/set-tag", `{"name": "nope", "key": "k", "value": "v"}`, 404, "RESOURCE_DOES_NOT_EXIST", ""},
		{"delete tag of a missing model", "DELETE", "/registered-models/delete-tag", `{"name": "nope", "key": "k"}`, 404, "RESOURCE_DOES_NOT_EXIST", ""},
		{"alias without version", "POST", "/registered-models/alias", `{"name": "m", "alias": "a"}`, 400, "INVALID_PARAMETER_VALUE", "Missing value for required parameter 'version'."},
		{"alias reserved", "POST", "/registered-models/alias", `{"name": "m", "alias": "latest", "version": "1"}`, 400, "INVALID_PARAMETER_VALUE", "'latest' alias name (case insensitive) is reserved."},
		{"alias of a missing version", "POST", "/registered-models/alias", `{"name": "m", "alias": "a", "version": "9"}`, 404, "RESOURCE_DOES_NOT_EXIST", "Model Version (name=m, version=9) not found"},
		{"alias with a number version", "POST", "/registered-models/alias", `{"name": "m", "alias": "a", "version": 1}`, 400, "INVALID_PARAMETER_VALUE", "Invalid value 1 for parameter 'version' supplied."},
		{"missing alias", "GET", "/registered-models/alias?name=m&alias=nope", "", 400, "INVALID_PARAMETER_VALUE", "Registered model alias nope not found."},
		{"alias of a missing model", "GET", "/registered-models/alias?name=nope&alias=a", "", 404, "RESOURCE_DOES_NOT_EXIST", ""},
		{"delete alias of a missing model", "DELETE", "/registered-models/alias", `{"name": "nope", "alias": "a"}`, 404, "RESOURCE_DOES_NOT_EXIST", ""},
		{"version without source", "POST", "/model-versions/create", `{"name": "m"}`, 400, "INVALID_PARAMETER_VALUE", "Missing value for required parameter 'source'."},
		{"version with a local source", "POST", "/model-versions/create", `{"name": "m", "source": "/tmp/model"}`, 400, "INVALID_PARAMETER_VALUE", "Invalid model version source: '/tmp/model'."},
		{"version with a relative source", "POST", "/model-versions/create", `{"name": "m", "source": "s3://b/../etc"}`, 400, "INVALID_PARAMETER_VALUE", "Invalid model version source"},
		{"version of a missing model", "POST", "/model-versions/create", `{"name": "nope", "source": "s3://b/m"}`, 404, "RESOURCE_DOES_NOT_EXIST", ""},
		{"version not an integer", "GET", "/model-versions/get?name=m&version=x", "", 400, "INVALID_PARAMETER_VALUE", "Model version must be an integer, got 'x'"},
		{"version missing", "GET", "/model-versions/get?name=m&version=7", "", 404, "RESOURCE_DOES_NOT_EXIST", "Model Version (name=m, version=7) not found"},
		{"get version without version", "GET", "/model-versions/get?name=m", "", 400, "INVALID_PARAMETER_VALUE", "Missing value for required parameter 'version'."},
		{"update missing version", "PATCH", "/model-versions/update", `{"name": "m", "version": "7", "description": "d"}`, 404, "RESOURCE_DOES_NOT_EXIST", ""},
		{"delete missing version", "DELETE", "/model-versions/delete", `{"name": "m", "version": "7"}`, 404, "RESOURCE_DOES_NOT_EXIST", ""},
		{"download uri of a missing version", "GET", "/model-versions/get-download-uri?name=m&version=7", "", 404, "RESOURCE_DOES_NOT_EXIST", ""},
		{"version tag too long", "POST", "/model-versions/set-tag", `{"name": "m", "version": "1", "key": "k", "value": "` + strings.Repeat("v", hangar.MaxModelTagValueLength+1) + `"}`, 400, "INVALID_PARAMETER_VALUE", "Model version value 'vvv"},
		{"version tag of a missing version", "POST", "/model-versions/set-tag", `{"name": "m", "version": "7", "key": "k", "value": "v"}`, 404, "RESOURCE_DOES_NOT_EXIST", ""},
		{"delete version tag of a missing version", "DELETE", "/model-versions/delete-tag", `{"name": "m", "version": "7", "key": "k"}`, 404, "RESOURCE_DOES_NOT_EXIST", ""},
		{"transition without stage", "POST", "/model-versions/transition-stage", `{"name": "m", "version": "1"}`, 400, "INVALID_PARAMETER_VALUE", "Missing value for required parameter 'stage'."},
		{"transition to a bad stage", "POST", "/model-versions/transition-stage", `{"name": "m", "version": "1", "stage": "Gone"}`, 400, "INVALID_PARAMETER_VALUE", "Invalid Model Version stage: Gone."},
		{"transition archiving to None", "POST", "/model-versions/transition-stage", `{"name": "m", "version": "1", "stage": "None", "archive_existing_versions": true}`, 400, "INVALID_PARAMETER_VALUE", "Model version transition cannot archive existing model versions"},
		{"transition with archive not a bool", "POST", "/model-versions/transition-stage", `{"name": "m", "version": "1", "stage": "None", "archive_existing_versions": "maybe"}`, 400, "INVALID_PARAMETER_VALUE", "Invalid value maybe for parameter 'archive_existing_versions' supplied."},
		{"wrong method", "PUT", "/registered-models/create", `{"name": "x"}`, 405, "BAD_REQUEST", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.snapshot() + modelSnapshot(t, e)
			r := call(tt.method, tt.path, tt.body)
			registryError(t, r, tt.status, tt.code, tt.message)
			if after := e.snapshot() + modelSnapshot(t, e); after != before {
				t.Errorf("the refusal changed the state:\nbefore:\n%s\nafter:\n%s", before, after)
			}
		})
	}
	r := e.registryCall("GET", "/w/nope/api/2.0/mlflow/registered-models/get?name=m", tok, "")
	registryError(t, r, 404, "RESOURCE_DOES_NOT_EXIST", "")
}

// modelSnapshot renders the default workspace's registry.
func modelSnapshot(t *testing.T, e *env) string {
	t.Helper()
	page, err := e.api.Registry.SearchModelVersions(t.Context(), hangar.DefaultWorkspace, hangar.ModelSearch{})
	if err != nil {
		t.Fatal(err)
	}
	models, err := e.api.Registry.SearchRegisteredModels(t.Context(), hangar.DefaultWorkspace, hangar.ModelSearch{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := jsonString([]any{page, models})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestMLflowRegistryAuth: a Reader reads the registry but cannot change it;
// a Contributor can; a token without a role on the workspace is refused;
// no token is 401. (TestEveryRouteIsAuthorized walks every route for the
// last two.)
func TestMLflowRegistryAuth(t *testing.T) {
	e := newEnv(t)
	e.createWorkspace("team")
	admin := e.adminToken()
	if r := e.registryCall("POST", "/w/team/api/2.0/mlflow/registered-models/create", admin, `{"name": "m"}`); r.status != 200 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	reader := e.token("reader", hangar.RoleReader, "team")
	writer := e.token("writer", hangar.RoleContributor, "team")
	for _, b := range registryTestBases[2:] {
		r := e.registryCall("GET", b.base+"/registered-models/get?name=m", reader, "")
		if r.status != 200 {
			t.Errorf("reader GET %s: %d %s, want 200", b.base, r.status, r.body)
		}
		r = e.registryCall("GET", b.base+"/model-versions/search", reader, "")
		if r.status != 200 {
			t.Errorf("reader search %s: %d %s, want 200", b.base, r.status, r.body)
		}
		for _, w := range []struct{ method, path, body, action string }{
			{"POST", "/registered-models/create", `{"name": "r"}`, "models/write"},
			{"POST", "/registered-models/set-tag", `{"name": "m", "key": "k", "value": "v"}`, "models/write"},
			{"DELETE", "/registered-models/delete", `{"name": "m"}`, "models/delete"},
			{"POST", "/model-versions/create", `{"name": "m", "source": "s3://b/m"}`, "models/write"},
		} {
			r := e.registryCall(w.method, b.base+w.path, reader, w.body)
			registryError(t, r, 403, "PERMISSION_DENIED", "identity reader lacks "+w.action)
		}
	}
	// The reader of team has no role on the default workspace.
	r := e.registryCall("GET", "/api/2.0/mlflow/registered-models/search", reader, "")
	registryError(t, r, 403, "PERMISSION_DENIED", "")
	r = e.registryCall("GET", "/api/2.0/mlflow/registered-models/search", reader, "", "X-MLFLOW-WORKSPACE", "team")
	if r.status != 200 {
		t.Errorf("reader with X-MLFLOW-WORKSPACE: team: %d %s, want 200", r.status, r.body)
	}
	r = e.registryCall("GET", "/api/2.0/mlflow/registered-models/search", "", "")
	registryError(t, r, 401, "UNAUTHENTICATED", "")
	if r := e.registryCall("POST", "/w/team/api/2.0/mlflow/model-versions/create", writer, `{"name": "m", "source": "s3://b/m"}`); r.status != 200 {
		t.Errorf("contributor creates a version: %d %s, want 200", r.status, r.body)
	}

	// Every change is audited as the caller.
	var found bool
	for _, ev := range e.events() {
		if ev.Action == hangar.ActModelWrite && ev.Actor == "writer" && strings.HasPrefix(ev.Target, "models/m/versions/1") {
			found = true
		}
	}
	if !found {
		t.Errorf("no models/write event by writer on models/m/versions/1")
	}
}

// registrySearchRecorder records the queries the registry's searches get.
type registrySearchRecorder struct {
	hangar.RegistryService // nil: only the searches are called
	mu                     sync.Mutex
	got                    []hangar.ModelSearch
}

func (r *registrySearchRecorder) SearchRegisteredModels(_ context.Context, _ string, q hangar.ModelSearch) (*hangar.Page[*hangar.RegisteredModel], error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, q)
	return &hangar.Page[*hangar.RegisteredModel]{}, nil
}

func (r *registrySearchRecorder) SearchModelVersions(_ context.Context, _ string, q hangar.ModelSearch) (*hangar.Page[*hangar.ModelVersion], error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, q)
	return &hangar.Page[*hangar.ModelVersion]{}, nil
}

// TestMLflowRegistrySearchArgs: the searches pass filter, order_by (GET's
// repeated keys), page_token and max_results through; an absent
// max_results is the store's default for models (0) and MLflow's proto
// default 200000 for versions.
func TestMLflowRegistrySearchArgs(t *testing.T) {
	rec := &registrySearchRecorder{}
	e := newEnvWith(t, func(s *httpapi.Server) { s.Registry = rec })
	tok := e.adminToken()
	tests := []struct {
		path string
		want hangar.ModelSearch
	}{
		{"/registered-models/search", hangar.ModelSearch{}},
		{"/registered-models/search?max_results=7&filter=name%3D%27a%27&order_by=name+DESC&order_by=timestamp&page_token=p", hangar.ModelSearch{Filter: "name='a'", OrderBy: []string{"name DESC", "timestamp"}, MaxResults: 7, PageToken: "p"}},
		{"/model-versions/search", hangar.ModelSearch{MaxResults: hangar.MaxModelVersionSearchResults}},
		{"/model-versions/search?filter=name%3D%27iris%27&max_results=10000", hangar.ModelSearch{Filter: "name='iris'", MaxResults: 10000}},
		{"/model-versions/search?max_results=0&order_by[]=version_number", hangar.ModelSearch{OrderBy: []string{"version_number"}}},
	}
	for _, tt := range tests {
		rec.mu.Lock()
		rec.got = nil
		rec.mu.Unlock()
		r := e.registryCall("GET", "/api/2.0/mlflow"+tt.path, tok, "")
		if r.status != 200 || strings.TrimSpace(string(r.body)) != "{}" {
			t.Errorf("GET %s: %d %s, want 200 {}", tt.path, r.status, r.body)
		}
		rec.mu.Lock()
		got := rec.got
		rec.mu.Unlock()
		if len(got) != 1 || !reflect.DeepEqual(got[0], tt.want) {
			t.Errorf("GET %s: store got %#v, want %#v", tt.path, got, tt.want)
		}
	}
}

// TestMLflowRegistryNotConfigured: without Server.Registry the routes
// answer 501 NOT_IMPLEMENTED (after authorization), never a 500.
func TestMLflowRegistryNotConfigured(t *testing.T) {
	e := newEnvWith(t, func(s *httpapi.Server) { s.Registry = nil })
	r := e.registryCall("GET", "/api/2.0/mlflow/registered-models/get?name=m", e.adminToken(), "")
	registryError(t, r, 501, "NOT_IMPLEMENTED", "this server has no model registry")
}
