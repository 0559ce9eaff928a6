package mlflow

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hangar-ml/hangar"
)

// fakeRoute is one canned answer of a fake MLflow server.
type fakeRoute struct {
	status int
	body   string
}

// fakeMLflow answers "METHOD /path" with its canned answer and keeps what
// it was sent.
type fakeMLflow struct {
	routes map[string]fakeRoute
	seen   []string // "METHOD /path?query body"
	auth   []string
	ws     []string // X-MLFLOW-WORKSPACE of each request
}

func (f *fakeMLflow) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	f.seen = append(f.seen, strings.TrimSpace(r.Method+" "+r.URL.RequestURI()+" "+string(b)))
	f.auth = append(f.auth, r.Header.Get("Authorization"))
	f.ws = append(f.ws, r.Header.Get(WorkspaceHeader))
	rt, ok := f.routes[r.Method+" "+r.URL.Path]
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"error_code":"ENDPOINT_NOT_FOUND","message":"no fakeRoute"}`)
		return
	}
	if rt.status != 0 {
		w.WriteHeader(rt.status)
	}
	io.WriteString(w, rt.body)
}

func newFake(t *testing.T, routes map[string]fakeRoute) (*fakeMLflow, *Client) {
	t.Helper()
	f := &fakeMLflow{routes: routes}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	c, err := NewClient(srv.URL+"/w/team", "tok")
	if err != nil {
		t.Fatal(err)
	}
	return f, c
}

const versionJSON = `{"name":"churn","version":"2","creation_timestamp":1700000000000,"last_updated_timestamp":1700000000500,
	"current_stage":"None","source":"mlflow-artifacts:/0/r/artifacts/model","run_id":"r","status":"READY",
	"tags":[{"key":"team","value":"risk"}],"aliases":["champion"],"storage_location":"s3://b/m"}`

func TestRegistryCalls(t *testing.T) {
	const base = "/w/team/api/2.0/mlflow/"
	f, c := newFake(t, map[string]fakeRoute{
		"POST " + base + "registered-models/create": {body: `{"registered_model":{"name":"churn","creation_timestamp":1700000000000,"last_updated_timestamp":1700000000000}}`},
		"GET " + base + "registered-models/get": {body: `{"registered_model":{"name":"churn","creation_timestamp":1,"last_updated_timestamp":2,
			"description":"d","latest_versions":[` + versionJSON + `],"tags":[{"key":"k","value":"v"}],"aliases":[{"alias":"champion","version":"2"}]}}`},
		"GET " + base + "registered-models/search":               {body: `{"registered_models":[{"name":"a","creation_timestamp":1,"last_updated_timestamp":1}],"next_page_token":"nx"}`},
		"POST " + base + "model-versions/create":                 {body: `{"model_version":` + versionJSON + `}`},
		"GET " + base + "model-versions/get":                     {body: `{"model_version":` + versionJSON + `}`},
		"GET " + base + "model-versions/search":                  {body: `{}`},
		"POST " + base + "registered-models/get-latest-versions": {body: `{"model_versions":[` + versionJSON + `]}`},
		"GET " + base + "registered-models/alias":                {body: `{"model_version":` + versionJSON + `}`},
		"POST " + base + "registered-models/alias":               {body: `{}`},
		"GET " + base + "model-versions/get-download-uri":        {body: `{"artifact_uri":"s3://b/m"}`},
		"POST " + base + "model-versions/set-tag":                {body: `{}`},
	})
	ctx := t.Context()
	m, err := c.CreateRegisteredModel(ctx, &hangar.RegisteredModel{Name: "churn", Description: "d", Tags: map[string]string{"b": "2", "a": "1"}})
	if err != nil || m.Name != "churn" || !m.CreatedAt.Equal(time.UnixMilli(1700000000000)) {
		t.Fatalf("CreateRegisteredModel = %+v, %v", m, err)
	}
	m, err = c.RegisteredModel(ctx, "churn & co")
	if err != nil || m.Description != "d" || m.Tags["k"] != "v" || len(m.Aliases) != 1 || m.Aliases[0] != (hangar.RegisteredModelAlias{Alias: "champion", Version: "2"}) ||
		len(m.LatestVersions) != 1 || m.LatestVersions[0].Version != "2" {
		t.Fatalf("RegisteredModel = %+v, %v", m, err)
	}
	page, err := c.SearchRegisteredModels(ctx, hangar.ModelSearch{Filter: "name LIKE 'a%'", OrderBy: []string{"name", "last_updated_timestamp DESC"}, MaxResults: 5, PageToken: "p1"})
	if err != nil || len(page.Items) != 1 || page.Items[0].Name != "a" || page.NextPageToken != "nx" {
		t.Fatalf("SearchRegisteredModels = %+v, %v", page, err)
	}
	v, err := c.CreateModelVersion(ctx, &hangar.ModelVersion{Name: "churn", Source: "mlflow-artifacts:/0/r/artifacts/model", RunID: "r", Tags: map[string]string{"team": "risk"}})
	want := &hangar.ModelVersion{Name: "churn", Version: "2", CreatedAt: time.UnixMilli(1700000000000).UTC(), UpdatedAt: time.UnixMilli(1700000000500).UTC(),
		Stage: "None", Source: "mlflow-artifacts:/0/r/artifacts/model", StorageLocation: "s3://b/m", RunID: "r", Status: "READY",
		Tags: map[string]string{"team": "risk"}, Aliases: []string{"champion"}}
	gotJSON, _ := json.Marshal(v)
	wantJSON, _ := json.Marshal(want)
	if err != nil || string(gotJSON) != string(wantJSON) {
		t.Fatalf("CreateModelVersion = %s, %v\nwant %s", gotJSON, err, wantJSON)
	}
	if _, err := c.ModelVersion(ctx, "churn", "2"); err != nil {
		t.Fatal(err)
	}
	vp, err := c.SearchModelVersions(ctx, hangar.ModelSearch{Filter: "run_id = 'r'"})
	if err != nil || vp.Items == nil || len(vp.Items) != 0 {
		t.Fatalf("SearchModelVersions = %+v, %v; want an empty page", vp, err)
	}
	if vs, err := c.LatestModelVersions(ctx, "churn", []string{"Production"}); err != nil || len(vs) != 1 {
		t.Fatalf("LatestModelVersions = %v, %v", vs, err)
	}
	if v, err := c.ModelVersionByAlias(ctx, "churn", "champion"); err != nil || v.Version != "2" {
		t.Fatalf("ModelVersionByAlias = %v, %v", v, err)
	}
	if u, err := c.ModelVersionDownloadURI(ctx, "churn", "2"); err != nil || u != "s3://b/m" {
		t.Fatalf("ModelVersionDownloadURI = %q, %v", u, err)
	}
	if err := c.SetRegisteredModelAlias(ctx, "churn", "champion", "2"); err != nil {
		t.Fatal(err)
	}
	if err := c.SetModelVersionTag(ctx, "churn", "2", "hangar.gate.verdict", "passed"); err != nil {
		t.Fatal(err)
	}

	// What went on the wire: MLflow's routes, GET fields in the query
	// string (repeated keys for lists), POST bodies as JSON.
	wantSeen := []string{
		`POST /w/team/api/2.0/mlflow/registered-models/create {"name":"churn","tags":[{"key":"a","value":"1"},{"key":"b","value":"2"}],"description":"d"}`,
		`GET /w/team/api/2.0/mlflow/registered-models/get?name=churn+%26+co`,
		`GET /w/team/api/2.0/mlflow/registered-models/search?filter=name+LIKE+%27a%25%27&max_results=5&order_by=name&order_by=last_updated_timestamp+DESC&page_token=p1`,
		`POST /w/team/api/2.0/mlflow/model-versions/create {"name":"churn","source":"mlflow-artifacts:/0/r/artifacts/model","run_id":"r","tags":[{"key":"team","value":"risk"}]}`,
		`GET /w/team/api/2.0/mlflow/model-versions/get?name=churn&version=2`,
		`GET /w/team/api/2.0/mlflow/model-versions/search?filter=run_id+%3D+%27r%27`,
		`POST /w/team/api/2.0/mlflow/registered-models/get-latest-versions {"name":"churn","stages":["Production"]}`,
		`GET /w/team/api/2.0/mlflow/registered-models/alias?alias=champion&name=churn`,
		`GET /w/team/api/2.0/mlflow/model-versions/get-download-uri?name=churn&version=2`,
		`POST /w/team/api/2.0/mlflow/registered-models/alias {"name":"churn","alias":"champion","version":"2"}`,
		`POST /w/team/api/2.0/mlflow/model-versions/set-tag {"name":"churn","version":"2","key":"hangar.gate.verdict","value":"passed"}`,
	}
	if got := strings.Join(f.seen, "\n"); got != strings.Join(wantSeen, "\n") {
		t.Errorf("requests:\n%s\nwant\n%s", got, strings.Join(wantSeen, "\n"))
	}
	for i, a := range f.auth {
		if a != "Bearer tok" {
			t.Errorf("request %d: Authorization %q", i, a)
		}
	}
}

func TestTrackingCalls(t *testing.T) {
	const base = "/api/2.0/mlflow/"
	f := &fakeMLflow{routes: map[string]fakeRoute{
		"POST " + base + "runs/log-metric":    {body: `{}`},
		"POST " + base + "runs/log-parameter": {body: `{}`},
		"POST " + base + "runs/set-tag":       {body: `{}`},
		"GET " + base + "runs/get": {body: `{"run":{"info":{"run_id":"r","run_uuid":"r","experiment_id":"0","status":"RUNNING",
			"artifact_uri":"mlflow-artifacts:/0/r/artifacts"},"data":{"params":[{"key":"lr","value":"0.1"}]},"inputs":{}}}`},
	}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	c, err := TrackingEnv{URI: srv.URL, Username: "me", Password: "pw", Token: "ignored"}.Client()
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := c.LogMetric(ctx, "r", Metric{Key: "loss", Value: -0.5, Timestamp: 9, Step: 3}); err != nil {
		t.Fatal(err)
	}
	if err := c.LogParam(ctx, "r", Param{Key: "lr", Value: "0.1"}); err != nil {
		t.Fatal(err)
	}
	if err := c.SetTag(ctx, "r", RunTag{Key: "k", Value: ""}); err != nil {
		t.Fatal(err)
	}
	run, err := c.GetRun(ctx, "r")
	if err != nil || run.Info.ArtifactURI != "mlflow-artifacts:/0/r/artifacts" || run.Data.Params[0] != (Param{"lr", "0.1"}) {
		t.Fatalf("GetRun = %+v, %v", run, err)
	}
	wantSeen := []string{
		`POST /api/2.0/mlflow/runs/log-metric {"run_id":"r","run_uuid":"r","key":"loss","value":-0.5,"timestamp":9,"step":3}`,
		`POST /api/2.0/mlflow/runs/log-parameter {"run_id":"r","run_uuid":"r","key":"lr","value":"0.1"}`,
		`POST /api/2.0/mlflow/runs/set-tag {"run_id":"r","run_uuid":"r","key":"k","value":""}`,
		`GET /api/2.0/mlflow/runs/get?run_id=r`,
	}
	if got := strings.Join(f.seen, "\n"); got != strings.Join(wantSeen, "\n") {
		t.Errorf("requests:\n%s\nwant\n%s", got, strings.Join(wantSeen, "\n"))
	}
	for i, a := range f.auth {
		if a != "Basic bWU6cHc=" { // me:pw: Basic wins over the token, as in MLflow's client
			t.Errorf("request %d: Authorization %q", i, a)
		}
	}
}

func TestMetricHistoryPages(t *testing.T) {
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n++
		switch r.URL.Query().Get("page_token") {
		case "":
			io.WriteString(w, `{"metrics":[{"key":"m","value":1,"timestamp":1,"step":0}],"next_page_token":"t2"}`)
		case "t2":
			io.WriteString(w, `{"metrics":[{"key":"m","value":"NaN","timestamp":1,"step":1}]}`)
		}
	}))
	defer srv.Close()
	c, _ := NewClient(srv.URL, "")
	ms, err := c.MetricHistory(t.Context(), "r", "m")
	if err != nil || len(ms) != 2 || ms[1].Step != 1 || n != 2 {
		t.Fatalf("MetricHistory = %+v, %v after %d requests", ms, err, n)
	}
}

func TestAnswerErrors(t *testing.T) {
	for _, tc := range []struct {
		name     string
		status   int
		body     string
		wantCode string
		wantMsg  string // MLflow's own message, in AnswerError.Body
	}{
		{"already exists is a conflict though MLflow answers 400", 400, `{"error_code":"RESOURCE_ALREADY_EXISTS","message":"Registered Model (name=a) already exists."}`, hangar.ECONFLICT, "Registered Model (name=a) already exists."},
		{"MLflow 3's 409", 409, `{"error_code":"ALREADY_EXISTS","message":"x"}`, hangar.ECONFLICT, "x"},
		{"missing alias is 400 INVALID_PARAMETER_VALUE", 400, `{"error_code":"INVALID_PARAMETER_VALUE","message":"Registered model alias c not found."}`, hangar.EINVALID, "Registered model alias c not found."},
		{"not found", 404, `{"error_code":"RESOURCE_DOES_NOT_EXIST","message":"Registered Model with name=a not found"}`, hangar.ENOTFOUND, "Registered Model with name=a not found"},
		{"unknown fakeRoute", 404, `{"error_code":"ENDPOINT_NOT_FOUND","message":"no"}`, hangar.ENOTFOUND, "no"},
		{"not implemented", 501, `{"error_code":"NOT_IMPLEMENTED","message":"no registry"}`, hangar.ENOTIMPLEMENTED, "no registry"},
		{"too large", 413, `{"error_code":"BAD_REQUEST","message":"body over 1 MiB"}`, hangar.ETOOLARGE, "body over 1 MiB"},
		{"internal", 500, `{"error_code":"INTERNAL_ERROR","message":"boom"}`, hangar.EUNAVAILABLE, "boom"},
		{"html 404", 404, "<html>Not Found</html>", hangar.ENOTFOUND, ""},
		{"unknown code keeps the status's", 403, `{"error_code":"SOMETHING_NEW","message":"m"}`, hangar.EFORBIDDEN, "m"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, c := newFake(t, map[string]fakeRoute{"GET /w/team/api/2.0/mlflow/registered-models/get": {tc.status, tc.body}})
			_, err := c.RegisteredModel(t.Context(), "a")
			if got := hangar.ErrorCode(err); got != tc.wantCode {
				t.Errorf("code %s, want %s (%v)", got, tc.wantCode, err)
			}
			var ae *AnswerError
			if !errors.As(err, &ae) || ae.Status != tc.status || ae.Body.Message != tc.wantMsg {
				t.Errorf("got %#v, want an AnswerError with status %d and message %q", err, tc.status, tc.wantMsg)
			}
			if !strings.HasPrefix(hangar.ErrorMessage(err), "MLflow at http://") {
				t.Errorf("message %q does not name the server", hangar.ErrorMessage(err))
			}
		})
	}
	t.Run("no body where one is due", func(t *testing.T) {
		_, c := newFake(t, map[string]fakeRoute{"GET /w/team/api/2.0/mlflow/model-versions/get": {200, `{}`}})
		_, err := c.ModelVersion(t.Context(), "a", "1")
		if hangar.ErrorCode(err) != hangar.EUNAVAILABLE || !strings.Contains(err.Error(), "without a model_version") {
			t.Errorf("got %v", err)
		}
	})
	t.Run("not JSON", func(t *testing.T) {
		_, c := newFake(t, map[string]fakeRoute{"GET /w/team/api/2.0/mlflow/model-versions/get": {200, `<html>`}})
		_, err := c.ModelVersion(t.Context(), "a", "1")
		if hangar.ErrorCode(err) != hangar.EUNAVAILABLE || !strings.Contains(err.Error(), "not its JSON") {
			t.Errorf("got %v", err)
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		srv.Close()
		c, _ := NewClient(srv.URL, "")
		_, err := c.RegisteredModel(t.Context(), "a")
		if hangar.ErrorCode(err) != hangar.EUNAVAILABLE || !strings.Contains(err.Error(), "reaching MLflow at "+srv.URL+" failed") {
			t.Errorf("got %v", err)
		}
	})
}

func TestTrackingEnvClient(t *testing.T) {
	_, err := TrackingEnv{}.Client()
	if hangar.ErrorCode(err) != hangar.EINVALID || hangar.ErrorMessage(err) != "MLFLOW_TRACKING_URI is not set: want the tracking server's http(s) URL" {
		t.Errorf("no URI: got %v", err)
	}
	c, err := TrackingEnv{URI: "http://h/w/team/", Token: "t", Username: "u"}.Client()
	req := httptest.NewRequest(http.MethodGet, "http://h/", nil)
	c.SetAuth(req)
	if err != nil || c.URL != "http://h/w/team" || req.Header.Get("Authorization") != "Bearer t" {
		t.Errorf("a user without a password: got %+v, %q, %v; want the bearer token", c, req.Header.Get("Authorization"), err)
	}
}
