package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/httpapi"
)

// TestSecretValueNeverLeaks plants a value and looks for it in the log,
// audit events, metrics and every error body, including errors from
// requests that carry it.
func TestSecretValueNeverLeaks(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	e.createWorkspace("vault")
	planted := "PLANTED-" + hangar.NewID()
	if _, err := e.admin.SetSecret(ctx, "vault", "db-password", []byte(planted)); err != nil {
		t.Fatal(err)
	}
	workload := e.token("workload", hangar.RoleReader, "vault")
	if err := e.admin.GrantSecret(ctx, "vault", "db-password", "workload"); err != nil {
		t.Fatal(err)
	}
	contrib := e.token("contrib", hangar.RoleContributor, "vault")
	admin := e.adminToken()
	path := "/api/v1/workspaces/vault/secrets/db-password"

	for _, tok := range []string{admin, workload} {
		r := e.do(http.MethodPost, path+"/reveal", tok, "")
		var got struct {
			Name, Value string
			Version     int
		}
		if err := json.Unmarshal(r.body, &got); err != nil || got.Value != planted || got.Version != 1 || got.Name != "db-password" {
			t.Fatalf("reveal: status %d body %s", r.status, r.body)
		}
	}
	failing := []struct {
		token, method, path, body string
	}{
		{admin, http.MethodPut, path, `{"value":"` + planted + `","extra":1}`},
		{admin, http.MethodPut, path, `{"value":"` + planted + `"} trailing`},
		{admin, http.MethodPut, path, `{"value":["` + planted + `"]}`},
		{admin, http.MethodPut, path, `{"value":"` + planted + ``},
		{admin, http.MethodPut, path, `{"value":"` + strings.Repeat(planted, 1000) + `"}`},
		{admin, http.MethodPut, "/api/v1/workspaces/vault/secrets/bad.name", `{"value":"` + planted + `"}`},
		{admin, http.MethodPut, "/api/v1/workspaces/missing/secrets/x", `{"value":"` + planted + `"}`},
		{workload, http.MethodPut, path, `{"value":"` + planted + `"}`}, // a Reader may not write
		{contrib, http.MethodPost, path + "/reveal", ""},
		{"", http.MethodPut, path, `{"value":"` + planted + `"}`},
		{admin, http.MethodPut, path + "?value=x", `{"value":"` + planted + `", "value2":"` + planted + `"}`},
	}
	for _, f := range failing {
		r := e.do(f.method, f.path, f.token, f.body)
		if r.status < 400 {
			t.Errorf("%s %s %.60s: status %d, want an error", f.method, f.path, f.body, r.status)
		}
		if strings.Contains(string(r.body), planted) {
			t.Errorf("%s %s: error body %s contains the secret value", f.method, f.path, r.body)
		}
	}
	metrics := e.do(http.MethodGet, "/metrics", "", "")
	e.srv.Close() // wait for every access-log line

	if strings.Contains(string(metrics.body), planted) {
		t.Error("metrics contain the secret value")
	}
	for _, ev := range e.events() {
		b, _ := json.Marshal(ev)
		if strings.Contains(string(b), planted) {
			t.Errorf("audit event %s contains the secret value", b)
		}
	}
	log := e.logs.String()
	if !strings.Contains(log, `"route":"POST /api/v1/workspaces/{ws}/secrets/{name}/reveal"`) {
		t.Fatalf("the access log lacks the reveals; is it captured?\n%s", log)
	}
	if strings.Contains(log, planted) {
		t.Errorf("the log contains the secret value:\n%s", log)
	}
	for _, tok := range []string{admin, workload, contrib} {
		if strings.Contains(log, tok) {
			t.Errorf("the log contains a token")
		}
	}
}

func TestMetrics(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	e.createWorkspace("metered")
	for range 3 {
		if _, err := e.admin.Workspace(ctx, "metered"); err != nil {
			t.Fatal(err)
		}
	}
	e.admin.Workspace(ctx, "absent-ws")
	e.do(http.MethodGet, "/no/such/path/"+hangar.NewID(), "", "")
	r := e.do(http.MethodGet, "/metrics", "", "")
	if r.status != http.StatusOK {
		t.Fatalf("GET /metrics: %d", r.status)
	}
	body := string(r.body)
	for _, want := range []string{
		`hangar_http_requests_total{code="200",method="GET",route="GET /api/v1/workspaces/{ws}"} 3`,
		`hangar_http_requests_total{code="404",method="GET",route="GET /api/v1/workspaces/{ws}"} 1`,
		`hangar_http_requests_total{code="201",method="POST",route="POST /api/v1/workspaces"} 1`,
		`hangar_http_requests_total{code="404",method="GET",route="unmatched"} 1`,
		`hangar_http_request_duration_seconds_count{code="200",method="GET",route="GET /api/v1/workspaces/{ws}"} 3`,
		`hangar_http_request_duration_seconds_count{code="404",method="GET",route="GET /api/v1/workspaces/{ws}"} 1`,
		`hangar_http_request_duration_seconds_bucket{code="200",method="GET",route="GET /api/v1/workspaces/{ws}",le="0.005"}`,
		`hangar_http_request_duration_seconds_count{code="404",method="GET",route="unmatched"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(body, "/api/v1/workspaces/metered") || strings.Contains(body, "/no/such/path") {
		t.Error("metrics are labelled with raw paths")
	}
}

func TestRequestID(t *testing.T) {
	e := newEnv(t)
	ctx := hangar.WithRequestID(t.Context(), "req-create-42")
	if err := e.admin.CreateWorkspace(ctx, &hangar.Workspace{Name: "traced"}); err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, ev := range e.events() {
		if ev.Target == "workspaces/traced" {
			found = true
			if ev.RequestID != "req-create-42" || ev.Actor != "admin" {
				t.Errorf("event %+v: want request id req-create-42 and actor admin", ev)
			}
		}
	}
	if !found {
		t.Fatal("no audit event for the created workspace")
	}

	tests := []struct {
		header, value string
		keep          bool
	}{
		{"X-Request-Id", "abc-123", true},
		{"x-ms-client-request-id", "3f2504e0-4f89-11d3-9a0c-0305e82c3301", true},
		{"X-Request-Id", "bad id with spaces", false},
		{"", "", false},
	}
	for _, tt := range tests {
		var h []string
		if tt.header != "" {
			h = []string{tt.header, tt.value}
		}
		r := e.do(http.MethodGet, "/healthz", "", "", h...)
		got := r.header.Get("X-Request-Id")
		if tt.keep && got != tt.value {
			t.Errorf("%s: %q echoed as %q", tt.header, tt.value, got)
		}
		if !tt.keep && (got == "" || got == tt.value) {
			t.Errorf("%s: %q answered with request id %q, want a fresh one", tt.header, tt.value, got)
		}
	}
	e.srv.Close()
	if !strings.Contains(e.logs.String(), `"request_id":"req-create-42"`) {
		t.Error("the access log lacks the request id")
	}
}

func TestReadiness(t *testing.T) {
	var ready error
	e := newEnvWith(t, func(s *httpapi.Server) {
		s.Ready = func(context.Context) error { return ready }
	})
	if err := e.admin.Ready(t.Context()); err != nil {
		t.Fatalf("Ready: %v", err)
	}
	ready = errors.New("ping 10.1.2.3: connection refused")
	r := e.do(http.MethodGet, "/readyz", "", "")
	if code, msg := r.envelope(t); r.status != http.StatusServiceUnavailable || code != hangar.EUNAVAILABLE || strings.Contains(msg, "10.1.2.3") {
		t.Errorf("/readyz: %d %s %q; want 503 unavailable without details", r.status, code, msg)
	}
	if err := e.admin.Ready(t.Context()); hangar.ErrorCode(err) != hangar.EUNAVAILABLE {
		t.Errorf("client Ready: %v, want unavailable", err)
	}
	if err := e.admin.Health(t.Context()); err != nil {
		t.Errorf("Health while not ready: %v, want nil", err)
	}
}

func TestAuthDisabled(t *testing.T) {
	e := newEnvWith(t, func(s *httpapi.Server) { s.AuthDisabled = true })
	anon := httpapi.NewClient(e.srv.URL, "")
	ctx := t.Context()
	if err := anon.CreateWorkspace(ctx, &hangar.Workspace{Name: "local-ws"}); err != nil {
		t.Fatalf("CreateWorkspace without a token: %v", err)
	}
	ev := e.events()
	if last := ev[len(ev)-1]; last.Actor != "local" || last.Target != "workspaces/local-ws" {
		t.Errorf("last event %+v, want actor local", last)
	}
}

func TestClientErrors(t *testing.T) {
	ctx := t.Context()
	t.Run("network", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close() // nothing listens there now
		_, err = httpapi.NewClient("http://"+addr, "tok").ListWorkspaces(ctx, hangar.ListOptions{})
		if err == nil || !strings.HasPrefix(err.Error(), "GET /api/v1/workspaces: dial tcp") {
			t.Errorf("error %v, want it to start with GET /api/v1/workspaces: dial tcp", err)
		}
	})
	t.Run("not an envelope", func(t *testing.T) {
		proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "upstream down", http.StatusBadGateway)
		}))
		defer proxy.Close()
		_, err := httpapi.NewClient(proxy.URL, "").Workspace(ctx, "abc")
		if hangar.ErrorCode(err) != hangar.EUNAVAILABLE || !strings.Contains(err.Error(), "502") {
			t.Errorf("error %v, want unavailable naming 502", err)
		}
	})
	t.Run("server codes survive", func(t *testing.T) {
		e := newEnv(t)
		_, err := e.admin.Workspace(ctx, "absent")
		var he *hangar.Error
		if !errors.As(err, &he) || he.Code != hangar.ENOTFOUND || !strings.Contains(he.Message, "absent") {
			t.Errorf("error %#v, want *hangar.Error not_found naming the workspace", err)
		}
	})
	t.Run("no artifact store", func(t *testing.T) {
		e := newEnvWith(t, func(s *httpapi.Server) { s.Blobs = nil })
		_, err := e.admin.PutBlob(ctx, "default", strings.NewReader("x"))
		if hangar.ErrorCode(err) != hangar.ENOTIMPLEMENTED {
			t.Errorf("PutBlob without a store: %v, want not_implemented", err)
		}
	})
	t.Run("streamed upload over the limit", func(t *testing.T) {
		e := newEnvWith(t, func(s *httpapi.Server) { s.MaxBlobBytes = 1000 })
		// A reader of unknown length is sent chunked, so the limit is met mid-stream.
		_, err := e.admin.PutBlob(ctx, "default", io.MultiReader(strings.NewReader(strings.Repeat("a", 600)), strings.NewReader(strings.Repeat("b", 600))))
		if hangar.ErrorCode(err) != hangar.ETOOLARGE {
			t.Errorf("PutBlob over the limit: %v, want too_large", err)
		}
	})
}

// TestClientHangsUpMidUpload: a client that closes the connection in the
// middle of an upload is a client error (400), not a logged internal error.
func TestClientHangsUpMidUpload(t *testing.T) {
	e := newEnv(t)
	admin := e.adminToken()
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "PUT /api/v1/workspaces/default/blobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: 100000\r\n\r\n%s", admin, strings.Repeat("x", 1000))
	conn.Close()
	metrics := func() string { return string(e.do(http.MethodGet, "/metrics", "", "").body) }
	deadline := time.Now().Add(10 * time.Second)
	const counted = `hangar_http_requests_total{code="400",method="PUT",route="PUT /api/v1/workspaces/{ws}/blobs"} 1`
	for !strings.Contains(metrics(), counted) {
		if time.Now().After(deadline) {
			t.Fatalf("metrics lack %s:\n%s", counted, metrics())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if m := metrics(); strings.Contains(m, `code="500"`) {
		t.Errorf("the hang-up is counted as a 500")
	}
	e.srv.Close()
	log := e.logs.String()
	if strings.Contains(log, `"level":"ERROR"`) {
		t.Errorf("the hang-up is logged as an error:\n%s", log)
	}
	if !strings.Contains(log, `"error_code":"invalid"`) {
		t.Errorf("the access log does not record the hang-up as invalid:\n%s", log)
	}
}
