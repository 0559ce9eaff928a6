package httpapi

import (
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/mlflow"
)

// mlflowTarget has the field kinds MLflow requests use.
type mlflowTarget struct {
	RunID         string                `json:"run_id" mlflow:"required,alias=run_uuid"`
	RunUUID       string                `json:"run_uuid"`
	ExperimentID  mlflow.ExperimentID   `json:"experiment_id"`
	ExperimentIDs []mlflow.ExperimentID `json:"experiment_ids"`
	Key           string                `json:"key" mlflow:"required"`
	Value         float64               `json:"value"`
	Timestamp     int64                 `json:"timestamp"`
	Step          *int64                `json:"step"`
	MaxResults    int32                 `json:"max_results"`
	OrderBy       []string              `json:"order_by"`
	Flag          bool                  `json:"flag"`
	Metrics       []mlflow.Metric       `json:"metrics"`
}

func decodeTestRequest(t *testing.T, r *http.Request) (mlflowTarget, error) {
	t.Helper()
	s := NewServer()
	var v mlflowTarget
	err := s.decodeMLflow(httptest.NewRecorder(), r, &v)
	return v, err
}

func postJSON(body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/api/2.0/mlflow/runs/log-metric", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	return r
}

func TestDecodeMLflowBody(t *testing.T) {
	step := func(n int64) *int64 { return &n }
	tests := []struct {
		name    string
		body    string
		want    mlflowTarget
		message string // the whole message when an error is expected
	}{
		{"fields", `{"run_id":"r1","key":"k","value":0.5,"timestamp":1700000000000,"step":3}`,
			mlflowTarget{RunID: "r1", Key: "k", Value: 0.5, Timestamp: 1700000000000, Step: step(3)}, ""},
		{"run_uuid stands in for run_id", `{"run_uuid":"r2","key":"k"}`, mlflowTarget{RunID: "r2", RunUUID: "r2", Key: "k"}, ""},
		{"run_id wins over run_uuid", `{"run_id":"a","run_uuid":"b","key":"k"}`, mlflowTarget{RunID: "a", RunUUID: "b", Key: "k"}, ""},
		{"unknown fields are ignored", `{"run_id":"r","key":"k","model_id":"m-1","dataset_name":"d","nested":{"a":[1,{"b":2}]}}`,
			mlflowTarget{RunID: "r", Key: "k"}, ""},
		{"int64 as a string", `{"run_id":"r","key":"k","timestamp":"1700000000000","step":"-2"}`,
			mlflowTarget{RunID: "r", Key: "k", Timestamp: 1700000000000, Step: step(-2)}, ""},
		{"step 0 is present", `{"run_id":"r","key":"k","step":0}`, mlflowTarget{RunID: "r", Key: "k", Step: step(0)}, ""},
		{"null is absent", `{"run_id":"r","key":"k","step":null,"value":null}`, mlflowTarget{RunID: "r", Key: "k"}, ""},
		{"experiment_id as a number", `{"run_id":"r","key":"k","experiment_id":12,"experiment_ids":[1,"2"]}`,
			mlflowTarget{RunID: "r", Key: "k", ExperimentID: "12", ExperimentIDs: []mlflow.ExperimentID{"1", "2"}}, ""},
		{"a double-encoded body", `"{\"run_id\":\"r\",\"key\":\"k\"}"`, mlflowTarget{RunID: "r", Key: "k"}, ""},
		{"NaN as a string", `{"run_id":"r","key":"k","metrics":[{"key":"m","value":"NaN","timestamp":1,"step":0,"model_id":"x"}]}`,
			mlflowTarget{RunID: "r", Key: "k", Metrics: []mlflow.Metric{{Key: "m", Value: mlflow.Double(math.NaN()), Timestamp: 1}}}, ""},
		{"bool as text", `{"run_id":"r","key":"k","flag":"true"}`, mlflowTarget{RunID: "r", Key: "k", Flag: true}, ""},

		{"empty body", ``, mlflowTarget{}, "Missing value for required parameter 'run_id'. See the API docs for more information about request parameters."},
		{"empty object", `{}`, mlflowTarget{}, "Missing value for required parameter 'run_id'. See the API docs for more information about request parameters."},
		{"empty string is missing", `{"run_id":"r","key":""}`, mlflowTarget{}, "Missing value for required parameter 'key'. See the API docs for more information about request parameters."},
		{"null is missing", `{"run_id":null,"key":"k"}`, mlflowTarget{}, "Missing value for required parameter 'run_id'. See the API docs for more information about request parameters."},
		{"a number for a string", `{"run_id":"r","key":5}`, mlflowTarget{},
			"Invalid value 5 for parameter 'key' supplied. Hint: Value was of type 'int'. See the API docs for more information about request parameters."},
		{"a string for a double", `{"run_id":"r","key":"k","value":"abc"}`, mlflowTarget{},
			"Invalid value abc for parameter 'value' supplied. Hint: Value was of type 'str'. See the API docs for more information about request parameters."},
		{"a fraction for an int64", `{"run_id":"r","key":"k","timestamp":1.5}`, mlflowTarget{},
			"Invalid value 1.5 for parameter 'timestamp' supplied. Hint: Value was of type 'float'. See the API docs for more information about request parameters."},
		{"int32 overflow", `{"run_id":"r","key":"k","max_results":3000000000}`, mlflowTarget{},
			"Invalid value 3000000000 for parameter 'max_results' supplied. Hint: Value was of type 'int'. See the API docs for more information about request parameters."},
		{"a scalar for a list", `{"run_id":"r","key":"k","order_by":"name"}`, mlflowTarget{},
			"Invalid value name for parameter 'order_by' supplied. Hint: Value was of type 'str'. See the API docs for more information about request parameters."},
		{"a bad item names the list", `{"run_id":"r","key":"k","metrics":[{"key":"m","value":true}]}`, mlflowTarget{},
			`Invalid value [{"key":"m","value":true}] for parameter 'metrics' supplied. Hint: Value was of type 'list'. See the API docs for more information about request parameters.`},
		{"bool for a string", `{"run_id":true,"key":"k"}`, mlflowTarget{},
			"Invalid value True for parameter 'run_id' supplied. Hint: Value was of type 'bool'. See the API docs for more information about request parameters."},
		{"an object for a string", `{"run_id":"r","key":{"a":1}}`, mlflowTarget{},
			`Invalid value {"a":1} for parameter 'key' supplied. Hint: Value was of type 'dict'. See the API docs for more information about request parameters.`},
		{"fields are checked in order", `{"key":5}`, mlflowTarget{}, "Missing value for required parameter 'run_id'. See the API docs for more information about request parameters."},

		{"not JSON", `run_id=r`, mlflowTarget{}, "invalid JSON: the request body must be a JSON object"},
		{"an array", `[{"run_id":"r"}]`, mlflowTarget{}, "invalid JSON: the request body must be a JSON object"},
		{"truncated", `{"run_id":"r"`, mlflowTarget{}, "invalid JSON at byte offset 13: unexpected end of JSON input"},
		{"trailing data", `{"run_id":"r","key":"k"} {}`, mlflowTarget{}, "invalid JSON at byte offset 26: invalid character '{' after top-level value"},
		{"duplicate key", `{"run_id":"r","run_id":"s","key":"k"}`, mlflowTarget{}, `invalid JSON: duplicate field "run_id"`},
		{"duplicate nested key", `{"run_id":"r","key":"k","metrics":[{"key":"a","key":"b"}]}`, mlflowTarget{}, `invalid JSON: duplicate field "metrics.key"`},
		{"NUL", `{"run_id":"r\u0000","key":"k"}`, mlflowTarget{}, "a JSON string holds the escape \\u0000, a NUL character (at byte offset 12): text must not contain NUL"},
		{"lone surrogate", `{"run_id":"\ud800","key":"k"}`, mlflowTarget{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeTestRequest(t, postJSON(tt.body))
			if tt.message != "" || tt.name == "lone surrogate" {
				if hangar.ErrorCode(err) != hangar.EINVALID || (tt.message != "" && hangar.ErrorMessage(err) != tt.message) {
					t.Fatalf("decode %s: got %v, want invalid %q", tt.body, err, tt.message)
				}
				return
			}
			if err != nil {
				t.Fatalf("decode %s: %v", tt.body, err)
			}
			if !sameTarget(got, tt.want) {
				t.Errorf("decode %s:\ngot  %+v\nwant %+v", tt.body, got, tt.want)
			}
		})
	}
}

// sameTarget compares two decoded targets, NaN equal to NaN.
func sameTarget(a, b mlflowTarget) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb) && reflect.DeepEqual(a.Step, b.Step)
}

func TestDecodeMLflowContentType(t *testing.T) {
	tests := []struct {
		method, contentType string
		message             string
	}{
		{http.MethodPost, "application/json", ""},
		{http.MethodPost, "application/json; charset=utf-8", ""},
		{http.MethodPost, "", "Bad Request. Content-Type header is missing."},
		{http.MethodPost, "text/plain", "Bad Request. Content-Type must be one of ['application/json']."},
		{http.MethodPost, "application/x-www-form-urlencoded", "Bad Request. Content-Type must be one of ['application/json']."},
		{http.MethodPost, "application/problem+json", "Bad Request. Content-Type must be one of ['application/json']."},
		{http.MethodPut, "", "Bad Request. Content-Type header is missing."},
		// MLflow checks the content type of POST and PUT only.
		{http.MethodPatch, "", ""},
		{http.MethodDelete, "text/plain", ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.contentType, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, "/api/2.0/mlflow/runs/log-metric", strings.NewReader(`{"run_id":"r","key":"k"}`))
			if tt.contentType != "" {
				r.Header.Set("Content-Type", tt.contentType)
			}
			_, err := decodeTestRequest(t, r)
			if tt.message == "" {
				if err != nil {
					t.Fatalf("got %v, want no error", err)
				}
				return
			}
			if hangar.ErrorCode(err) != hangar.EINVALID || hangar.ErrorMessage(err) != tt.message {
				t.Fatalf("got %v, want invalid %q", err, tt.message)
			}
		})
	}
}

func TestDecodeMLflowBodyLimit(t *testing.T) {
	s := NewServer()
	s.MaxBodyBytes = 64
	r := postJSON(`{"run_id":"r","key":"` + strings.Repeat("k", 100) + `"}`)
	var v mlflowTarget
	err := s.decodeMLflow(httptest.NewRecorder(), r, &v)
	if hangar.ErrorCode(err) != hangar.ETOOLARGE {
		t.Fatalf("got %v, want too large", err)
	}
}

func TestDecodeMLflowQuery(t *testing.T) {
	step := func(n int64) *int64 { return &n }
	tests := []struct {
		name, query string
		want        mlflowTarget
		message     string
	}{
		{"what the Python client sends", "run_uuid=r1&run_id=r1&key=loss&max_results=25000",
			mlflowTarget{RunID: "r1", RunUUID: "r1", Key: "loss", MaxResults: 25000}, ""},
		{"numbers as text", "run_id=r&key=k&value=0.25&timestamp=17&step=-1&flag=false",
			mlflowTarget{RunID: "r", Key: "k", Value: 0.25, Timestamp: 17, Step: step(-1)}, ""},
		{"NaN as text", "run_id=r&key=k&value=NaN", mlflowTarget{RunID: "r", Key: "k", Value: math.NaN()}, ""},
		{"repeated key", "run_id=r&key=k&order_by=a&order_by=b", mlflowTarget{RunID: "r", Key: "k", OrderBy: []string{"a", "b"}}, ""},
		{"key[]", "run_id=r&key=k&order_by%5B%5D=a&order_by%5B%5D=b", mlflowTarget{RunID: "r", Key: "k", OrderBy: []string{"a", "b"}}, ""},
		{"key[N] in N's order", "run_id=r&key=k&order_by%5B1%5D=b&order_by%5B0%5D=a&order_by%5B10%5D=c",
			mlflowTarget{RunID: "r", Key: "k", OrderBy: []string{"a", "b", "c"}}, ""},
		{"experiment ids", "run_id=r&key=k&experiment_ids=1&experiment_ids=2",
			mlflowTarget{RunID: "r", Key: "k", ExperimentIDs: []mlflow.ExperimentID{"1", "2"}}, ""},
		{"a scalar takes the first value", "run_id=a&run_id=b&key=k", mlflowTarget{RunID: "a", Key: "k"}, ""},
		{"unknown keys are ignored", "run_id=r&key=k&x=1&key[0]=z", mlflowTarget{RunID: "r", Key: "k"}, ""},

		{"missing", "key=k", mlflowTarget{}, "Missing value for required parameter 'run_id'. See the API docs for more information about request parameters."},
		{"empty is missing", "run_id=&key=k", mlflowTarget{}, "Missing value for required parameter 'run_id'. See the API docs for more information about request parameters."},
		{"no query at all", "", mlflowTarget{}, "Missing value for required parameter 'run_id'. See the API docs for more information about request parameters."},
		{"not a number", "run_id=r&key=k&max_results=ten", mlflowTarget{},
			"Invalid value ten for parameter 'max_results' supplied. Hint: Value was of type 'str'. See the API docs for more information about request parameters."},
		{"not a bool", "run_id=r&key=k&flag=yes", mlflowTarget{},
			"Invalid value yes for parameter 'flag' supplied. Hint: Value was of type 'str'. See the API docs for more information about request parameters."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/api/2.0/mlflow/metrics/get-history?"+tt.query, nil)
			got, err := decodeTestRequest(t, r)
			if tt.message != "" {
				if hangar.ErrorCode(err) != hangar.EINVALID || hangar.ErrorMessage(err) != tt.message {
					t.Fatalf("decode ?%s: got %v, want invalid %q", tt.query, err, tt.message)
				}
				return
			}
			if err != nil {
				t.Fatalf("decode ?%s: %v", tt.query, err)
			}
			if !sameTarget(got, tt.want) {
				t.Errorf("decode ?%s:\ngot  %+v\nwant %+v", tt.query, got, tt.want)
			}
		})
	}
}

func TestRouteWorkspace(t *testing.T) {
	mlflowRoute := route{pattern: "GET /api/2.0/mlflow/experiments/get", errors: mlflowErrors}
	wsRoute := route{pattern: "GET /w/{ws}/api/2.0/mlflow/experiments/get", errors: mlflowErrors}
	native := route{pattern: "GET /api/v1/workspaces/{ws}", errors: nativeErrors}
	tests := []struct {
		name    string
		rt      route
		pathWS  string
		header  string
		want    string
		message string
	}{
		{"no path, no header: default", mlflowRoute, "", "", hangar.DefaultWorkspace, ""},
		{"the header", mlflowRoute, "", "team-a", "team-a", ""},
		{"a bad header", mlflowRoute, "", "a/b", "", "X-Mlflow-Workspace header: invalid workspace name \"a/b\""},
		{"the path", wsRoute, "team-b", "", "team-b", ""},
		{"path and the same header", wsRoute, "team-b", "team-b", "team-b", ""},
		{"path and another header", wsRoute, "team-b", "team-a", "",
			`the X-Mlflow-Workspace header names workspace "team-a" but the path names "team-b": send one of them, or the same in both`},
		{"native routes ignore the header", native, "team-b", "team-a", "team-b", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/x", nil)
			inPath := tt.pathWS != ""
			if inPath {
				r.SetPathValue("ws", tt.pathWS)
			}
			if tt.header != "" {
				r.Header.Set("X-MLFLOW-WORKSPACE", tt.header)
			}
			got, err := routeWorkspace(r, tt.rt, inPath)
			if tt.message != "" {
				if hangar.ErrorCode(err) != hangar.EINVALID || !strings.HasPrefix(hangar.ErrorMessage(err), tt.message) {
					t.Fatalf("got %q, %v; want invalid %q", got, err, tt.message)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestMLflowRoutes(t *testing.T) {
	fn := func(w http.ResponseWriter, r *http.Request, _ *caller) error { return nil }
	got := mlflowRoutes(mlflowEndpoint{"POST mlflow/runs/create", hangar.ActRunWrite, fn})
	want := []string{
		"POST /api/2.0/mlflow/runs/create",
		"POST /ajax-api/2.0/mlflow/runs/create",
		"POST /w/{ws}/api/2.0/mlflow/runs/create",
		"POST /w/{ws}/ajax-api/2.0/mlflow/runs/create",
	}
	if len(got) != len(want) {
		t.Fatalf("got %d routes, want %d", len(got), len(want))
	}
	for i, rt := range got {
		if rt.pattern != want[i] || rt.action != hangar.ActRunWrite || rt.scope != scopeWorkspace || rt.errors != mlflowErrors {
			t.Errorf("route %d: got %s %s %v %v, want %s runs/write workspace MLflow", i, rt.pattern, rt.action, rt.scope, rt.errors, want[i])
		}
	}
	if err := checkRoutes(got); err != nil {
		t.Errorf("checkRoutes: %v", err)
	}
}

// FuzzMLflowRequest feeds the MLflow request decoder arbitrary bodies and
// query strings: it never panics, refuses only with EINVALID, and what it
// accepts from a body decodes again, to the same thing, from its own JSON.
func FuzzMLflowRequest(f *testing.F) {
	for _, s := range []string{
		`{"run_id":"r","key":"k","value":1,"timestamp":1,"step":0}`,
		`{"run_uuid":"r","key":"k","value":"NaN","timestamp":"1"}`,
		`{"run_id":"r","key":"k","metrics":[{"key":"a","value":"-Infinity","timestamp":1,"step":2}]}`,
		`{"experiment_ids":[1,"2"],"run_id":"r","key":"k"}`, `"{\"run_id\":\"r\",\"key\":\"k\"}"`,
		``, `{}`, `[]`, `null`, `{"run_id":5}`, `{"run_id":"r","key":"k","order_by":[null,"a"]}`,
	} {
		f.Add([]byte(s), "")
	}
	for _, q := range []string{"run_id=r&key=k", "run_uuid=r&key=k&order_by[]=a&order_by[3]=b", "run_id=r&key=k&max_results=-1&value=Infinity", "%zz"} {
		f.Add([]byte(nil), q)
	}
	f.Fuzz(func(t *testing.T, body []byte, query string) {
		s := NewServer()
		var r *http.Request
		if query != "" {
			r = httptest.NewRequest(http.MethodGet, "/x", nil)
			r.URL.RawQuery = query
			if checkParams(r, nil) != nil {
				return // the route wrapper refuses it before any handler decodes
			}
		} else {
			r = httptest.NewRequest(http.MethodPost, "/x", strings.NewReader(string(body)))
			r.Header.Set("Content-Type", "application/json")
		}
		var v mlflowTarget
		err := s.decodeMLflow(httptest.NewRecorder(), r, &v)
		if err != nil {
			if code := hangar.ErrorCode(err); code != hangar.EINVALID {
				t.Fatalf("decode: code %q (%v), want invalid", code, err)
			}
			if msg := hangar.ErrorMessage(err); len(msg) > 1024 {
				t.Fatalf("decode: a message of %d bytes", len(msg))
			}
			return
		}
		if v.RunID == "" || v.Key == "" {
			t.Fatalf("decode accepted a request without its required fields: %+v", v)
		}
		again, err := json.Marshal(v)
		if err != nil {
			return // a NaN in a plain float64 field has no JSON form; the wire types carry those
		}
		var w mlflowTarget
		if err := s.decodeMLflow(httptest.NewRecorder(), postJSON(string(again)), &w); err != nil {
			t.Fatalf("decode of %s, re-encoded from what was accepted: %v", again, err)
		}
		if third, _ := json.Marshal(w); string(third) != string(again) {
			t.Fatalf("round trip changed %s to %s", again, third)
		}
	})
}
