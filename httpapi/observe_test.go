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
		{"X-Request-Id", strings.Repeat("r", 128), true},
		{"X-Request-Id", strings.Repeat("r", 129), false},
		{"X-Request-Id", "forged\",\"level\":\"ERROR", false},
		{"X-Request-Id", "caf\u00e9", false},
		{"X-Request-Id", "a/b", false},
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
	// A refused id never reaches the audit log: the event carries the
	// fresh id the server answered with.
	long := strings.Repeat("x", 129)
	r := e.do(http.MethodPost, "/api/v1/workspaces", e.adminToken(), `{"name":"traced-2"}`, "X-Request-Id", long)
	if r.status != http.StatusCreated {
		t.Fatalf("create traced-2: status %d", r.status)
	}
	for _, ev := range e.events() {
		if ev.Target == "workspaces/traced-2" && (ev.RequestID == long || ev.RequestID != r.header.Get("X-Request-Id")) {
			t.Errorf("event %+v: request id %q, want the server's %q", ev, ev.RequestID, r.header.Get("X-Request-Id"))
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
	// What the CLI sends keeps working: bodyless POSTs and blob streams.
	if _, err := anon.VerifyAudit(ctx); err != nil {
		t.Errorf("VerifyAudit without a token: %v", err)
	}
	if _, err := anon.PutBlob(ctx, "local-ws", strings.NewReader("local blob")); err != nil {
		t.Errorf("PutBlob without a token: %v", err)
	}
}

// TestAuthDisabledRefusesWebPages: without authentication the server
// answers only requests addressed to a loopback name (a page on an
// attacker's domain resolving to 127.0.0.1 — DNS rebinding — is refused)
// and only POSTs and bodies of a type a browser cannot send cross-site
// without a preflight.
func TestAuthDisabledRefusesWebPages(t *testing.T) {
	e := newEnvWith(t, func(s *httpapi.Server) { s.AuthDisabled = true })
	_, port, _ := strings.Cut(strings.TrimPrefix(e.srv.URL, "http://"), ":")
	send := func(method, path, host, contentType, body string) response {
		t.Helper()
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		req, err := http.NewRequestWithContext(t.Context(), method, e.srv.URL+path, rd)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = host
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		resp, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return response{status: resp.StatusCode, header: resp.Header, body: b}
	}
	const ws = `{"name":"%s"}`
	tests := []struct {
		name, method, path, host, contentType, body string
		status                                      int
		message                                     string
	}{
		{"rebound host", http.MethodGet, "/api/v1/workspaces", "evil.example:" + port, "", "", http.StatusForbidden, `host "evil.example:` + port + `" is not a loopback name`},
		{"rebound host, public route", http.MethodGet, "/metrics", "evil.example", "", "", http.StatusForbidden, "is not a loopback name"},
		{"a name under localhost's", http.MethodGet, "/api/v1/workspaces", "localhost.evil.example", "", "", http.StatusForbidden, "is not a loopback name"},
		{"text/plain body", http.MethodPost, "/api/v1/workspaces", "localhost:" + port, "text/plain", fmt.Sprintf(ws, "plain"), http.StatusBadRequest, `content type "text/plain" refused`},
		{"form body", http.MethodPost, "/api/v1/workspaces", "127.0.0.1:" + port, "application/x-www-form-urlencoded", fmt.Sprintf(ws, "form"), http.StatusBadRequest, "content type"},
		{"multipart body", http.MethodPost, "/api/v1/workspaces", "127.0.0.1:" + port, "multipart/form-data; boundary=x", fmt.Sprintf(ws, "multi"), http.StatusBadRequest, "content type"},
		{"body without a type", http.MethodPost, "/api/v1/workspaces", "127.0.0.1:" + port, "", fmt.Sprintf(ws, "untyped"), http.StatusBadRequest, `content type "" refused`},
		{"bodyless POST without a type", http.MethodPost, "/api/v1/audit/verify", "127.0.0.1:" + port, "", "", http.StatusBadRequest, "content type"},
		// A browser preflights every PUT, which this server never grants:
		// uploads keep their own type, as MLflow's client sends them.
		{"blob as text/plain", http.MethodPut, "/api/v1/workspaces/default/blobs", "127.0.0.1:" + port, "text/plain", "data", http.StatusCreated, ""},
		{"MLflow artifact as text/plain", http.MethodPut, "/api/2.0/mlflow-artifacts/artifacts/0/r/artifacts/notes.txt", "127.0.0.1:" + port, "text/plain", "notes", http.StatusOK, ""},
		{"GET with a text/plain body", http.MethodGet, "/api/v1/workspaces", "127.0.0.1:" + port, "text/plain", "x", http.StatusBadRequest, "content type"},
		{"JSON to localhost", http.MethodPost, "/api/v1/workspaces", "localhost:" + port, "application/json", fmt.Sprintf(ws, "json-ok"), http.StatusCreated, ""},
		{"JSON to [::1]", http.MethodPost, "/api/v1/workspaces", "[::1]:" + port, "application/json; charset=utf-8", fmt.Sprintf(ws, "json-ok6"), http.StatusCreated, ""},
		{"GET to 127.0.0.1 without a port", http.MethodGet, "/api/v1/workspaces", "127.0.0.1", "", "", http.StatusOK, ""},
		{"blob as octet-stream", http.MethodPut, "/api/v1/workspaces/default/blobs", "127.0.0.1:" + port, "application/octet-stream", "data", http.StatusCreated, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.snapshot()
			r := send(tt.method, tt.path, tt.host, tt.contentType, tt.body)
			if r.status != tt.status {
				t.Fatalf("status %d (%s), want %d", r.status, r.body, tt.status)
			}
			if tt.message == "" {
				return
			}
			if _, msg := r.envelope(t); !strings.Contains(msg, tt.message) {
				t.Errorf("message %q, want it to contain %q", msg, tt.message)
			}
			if after := e.snapshot(); after != before {
				t.Errorf("the refused request changed the state")
			}
		})
	}
}

// TestMetricsAuth: with MetricsAuth, /metrics takes a token holding
// metrics/read server-wide — any server-wide role from Reader up —, and
// without it /metrics stays public.
func TestMetricsAuth(t *testing.T) {
	e := newEnvWith(t, func(s *httpapi.Server) { s.MetricsAuth = true })
	e.createWorkspace("ws1")
	for _, tt := range []struct {
		name, token string
		status      int
	}{
		{"no token", "", http.StatusUnauthorized},
		{"a workspace's Owner", e.token("ws-owner", hangar.RoleOwner, "ws1"), http.StatusForbidden},
		{"a server-wide Approver", e.token("approver", hangar.RoleApprover, ""), http.StatusForbidden},
		{"a server-wide Reader", e.token("reader", hangar.RoleReader, ""), http.StatusOK},
		{"a server-wide Owner", e.adminToken(), http.StatusOK},
	} {
		r := e.do(http.MethodGet, "/metrics", tt.token, "")
		if r.status != tt.status {
			t.Errorf("%s: GET /metrics status %d, want %d", tt.name, r.status, tt.status)
		}
		if r.status == http.StatusOK && !strings.Contains(string(r.body), "hangar_http_requests_total") {
			t.Errorf("%s: GET /metrics body lacks the request counter", tt.name)
		}
		if r.status == http.StatusForbidden {
			if _, msg := r.envelope(t); !strings.Contains(msg, "lacks metrics/read server-wide") {
				t.Errorf("%s: message %q, want it to name metrics/read server-wide", tt.name, msg)
			}
		}
	}
	if r := newEnv(t).do(http.MethodGet, "/metrics", "", ""); r.status != http.StatusOK {
		t.Errorf("without MetricsAuth: GET /metrics status %d, want 200", r.status)
	}
}

// TestRefusalsCounted: every 401 and 403 is counted by reason and identity
// ("anonymous" when the token is missing or unknown), and each identity's
// refusals are logged at most once a minute.
func TestRefusalsCounted(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	e.createWorkspace("ws1")
	reader := e.token("ws-reader", hangar.RoleReader, "ws1")
	gone, err := e.admin.IssueToken(ctx, &hangar.TokenRequest{Name: "gone", Role: hangar.RoleReader})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.admin.RevokeToken(ctx, gone.ID); err != nil {
		t.Fatal(err)
	}
	unknown := "hgr_" + strings.Repeat("A", 43)
	for range 5 {
		e.do(http.MethodGet, "/api/v1/workspaces", "", "")
	}
	for range 3 {
		e.do(http.MethodGet, "/api/v1/workspaces", unknown, "")
	}
	for range 2 {
		e.do(http.MethodGet, "/api/v1/workspaces", gone.Secret, "")
	}
	for range 4 {
		e.do(http.MethodPost, "/api/v1/workspaces", reader, `{"name":"nope"}`)
	}
	metrics := string(e.do(http.MethodGet, "/metrics", "", "").body)
	for _, want := range []string{
		`hangar_http_refused_total{identity="anonymous",reason="missing_token"} 5`,
		`hangar_http_refused_total{identity="anonymous",reason="invalid_token"} 3`,
		`hangar_http_refused_total{identity="gone",reason="inactive_token"} 2`,
		`hangar_http_refused_total{identity="ws-reader",reason="forbidden"} 4`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	refusedLines := func() []string {
		var out []string
		for _, l := range strings.Split(e.logs.String(), "\n") {
			if strings.Contains(l, `"msg":"request refused"`) {
				out = append(out, l)
			}
		}
		return out
	}
	if got := refusedLines(); len(got) != 3 {
		t.Errorf("%d refusal log lines for 3 identities within a minute, want 3:\n%s", len(got), strings.Join(got, "\n"))
	}
	e.offset.Add(int64(61 * time.Second))
	e.do(http.MethodGet, "/api/v1/workspaces", "", "")
	got := refusedLines()
	if len(got) != 4 || !strings.Contains(got[3], `"identity":"anonymous"`) || !strings.Contains(got[3], `"not_logged_since_last":7`) {
		t.Errorf("a minute later, refusal log lines:\n%s\nwant a fourth for anonymous that counts the 7 not logged", strings.Join(got, "\n"))
	}
	for _, l := range got {
		if strings.Contains(l, unknown) || strings.Contains(l, gone.Secret) || strings.Contains(l, reader) {
			t.Errorf("a refusal log line holds a token: %s", l)
		}
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
// middle of an upload has cancelled its request: it is counted and logged as
// 499 ("client closed request"), not as a logged internal error.
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
	const counted = `hangar_http_requests_total{code="499",method="PUT",route="PUT /api/v1/workspaces/{ws}/blobs"} 1`
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
	if !strings.Contains(log, `"status":499`) || !strings.Contains(log, `"error_code":"client_closed_request"`) {
		t.Errorf("the access log does not record the hang-up as a closed request (499):\n%s", log)
	}
}
