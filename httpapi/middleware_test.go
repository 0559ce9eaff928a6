package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/hangar-ml/hangar"
)

// syncBuffer is a log sink that handlers may write to concurrently.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// public returns a public route that answers errors natively.
func public(pattern string, fn apiFunc) route {
	return route{pattern, "", scopePublic, fn, nativeErrors}
}

// testHandler serves extra routes through the real wrapper and middleware.
func testHandler(t *testing.T, routes ...route) (*Server, http.Handler, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	s := NewServer()
	s.Logger = slog.New(slog.NewJSONHandler(logs, nil))
	mux := http.NewServeMux()
	for _, rt := range routes {
		mux.Handle(rt.pattern, s.wrap(rt))
	}
	return s, s.middleware(mux), logs
}

func decodeEnvelope(t *testing.T, rec *httptest.ResponseRecorder) errorBody {
	t.Helper()
	var env errorEnvelope
	if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil {
		t.Fatalf("body %q is not an error envelope: %v", rec.Body, err)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	return env.Error
}

func TestPanicRecovery(t *testing.T) {
	_, h, logs := testHandler(t,
		public("GET /boom", func(w http.ResponseWriter, r *http.Request, _ *caller) error {
			panic("kaboom")
		}),
		public("GET /boom-late", func(w http.ResponseWriter, r *http.Request, _ *caller) error {
			w.WriteHeader(http.StatusOK)
			w.Write([]byte("partial"))
			panic("late kaboom")
		}),
	)
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/boom", nil)
	req.Header.Set("X-Request-Id", "rid-panic")
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500", rec.Code)
	}
	e := decodeEnvelope(t, rec)
	if e.Code != hangar.EINTERNAL || e.Message != "internal error (request id rid-panic)" {
		t.Errorf("envelope %+v, want internal error naming the request id", e)
	}
	if strings.Contains(rec.Body.String(), "kaboom") {
		t.Errorf("body %q leaks the panic value", rec.Body)
	}
	if got := rec.Header().Get("X-Request-Id"); got != "rid-panic" {
		t.Errorf("X-Request-Id %q, want rid-panic", got)
	}

	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/boom-late", nil))
	if rec.Code != http.StatusOK || rec.Body.String() != "partial" {
		t.Errorf("late panic: status %d body %q; want the partial answer left alone", rec.Code, rec.Body)
	}

	log := logs.String()
	for _, want := range []string{`"msg":"panic serving request"`, `"panic":"kaboom"`, `"request_id":"rid-panic"`, `"route":"GET /boom"`, `"stack":`} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %s:\n%s", want, log)
		}
	}
	if !strings.Contains(log, `"status":500`) {
		t.Errorf("access log does not record status 500:\n%s", log)
	}
}

// TestErrorMapping sends an error of every code through a native and an
// MLflow route. The expected answers are written here by hand, not read
// from the table under test.
func TestErrorMapping(t *testing.T) {
	type errorCase struct {
		code         string
		status       int
		mlflowCode   string
		mlflowStatus int
	}
	tests := []errorCase{
		{hangar.EINVALID, 400, "INVALID_PARAMETER_VALUE", 400},
		{hangar.ENOTFOUND, 404, "RESOURCE_DOES_NOT_EXIST", 404},
		{hangar.ECONFLICT, 409, "RESOURCE_ALREADY_EXISTS", 400}, // MLflow's client relies on 400
		{hangar.EUNAUTHORIZED, 401, "UNAUTHENTICATED", 401},
		{hangar.EFORBIDDEN, 403, "PERMISSION_DENIED", 403},
		{hangar.ETOOLARGE, 413, "BAD_REQUEST", 413},
		{hangar.EUNAVAILABLE, 503, "TEMPORARILY_UNAVAILABLE", 503},
		{hangar.ENOTIMPLEMENTED, 501, "NOT_IMPLEMENTED", 501},
		{hangar.EINTERNAL, 500, "INTERNAL_ERROR", 500},
		{hangar.EMETHODNOTALLOWED, 405, "BAD_REQUEST", 405},
		{"made_up_code", 500, "INTERNAL_ERROR", 500}, // unknown codes are internal errors that keep their name
	}
	// Every code of the table has a case here.
	for _, a := range errorTable() {
		if a.key != noRoute && !slices.ContainsFunc(tests, func(tt errorCase) bool { return tt.code == a.key }) {
			t.Errorf("code %q of the error table has no case in this test", a.key)
		}
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			fail := func(w http.ResponseWriter, r *http.Request, _ *caller) error {
				return hangar.Errorf(tt.code, "precise message for %s", tt.code)
			}
			mlflowRoute := public("GET /api/2.0/mlflow/fail", fail)
			mlflowRoute.errors = mlflowErrors
			_, h, logs := testHandler(t, public("GET /fail", fail), mlflowRoute)

			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/fail", nil))
			if rec.Code != tt.status {
				t.Errorf("status %d, want %d", rec.Code, tt.status)
			}
			e := decodeEnvelope(t, rec)
			wantMsg := "precise message for " + tt.code
			if tt.code == hangar.EINTERNAL {
				wantMsg = "internal error (request id " + rec.Header().Get("X-Request-Id") + ")"
			}
			if e.Code != tt.code || e.Message != wantMsg {
				t.Errorf("envelope %+v, want code %q message %q", e, tt.code, wantMsg)
			}
			if got, want := rec.Header().Get("WWW-Authenticate") != "", tt.code == hangar.EUNAUTHORIZED; got != want {
				t.Errorf("WWW-Authenticate set = %v, want %v", got, want)
			}
			if logged := strings.Contains(logs.String(), `"msg":"internal error"`); logged != (tt.code == hangar.EINTERNAL) {
				t.Errorf("internal error logged = %v for code %s", logged, tt.code)
			}

			rec = httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/2.0/mlflow/fail", nil))
			if rec.Code != tt.mlflowStatus {
				t.Errorf("MLflow route: status %d, want %d", rec.Code, tt.mlflowStatus)
			}
			m := decodeMLflowEnvelope(t, rec)
			wantMsg = "precise message for " + tt.code
			if tt.code == hangar.EINTERNAL {
				wantMsg = "internal error (request id " + rec.Header().Get("X-Request-Id") + ")"
			}
			if m.ErrorCode != tt.mlflowCode || m.Message != wantMsg {
				t.Errorf("MLflow route: envelope %+v, want error_code %q message %q", m, tt.mlflowCode, wantMsg)
			}
		})
	}
}

// decodeMLflowEnvelope decodes an MLflow error answer, refusing bodies
// with other keys than error_code and message.
func decodeMLflowEnvelope(t *testing.T, rec *httptest.ResponseRecorder) mlflowErrorEnvelope {
	t.Helper()
	var env mlflowErrorEnvelope
	dec := json.NewDecoder(rec.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&env); err != nil || env.ErrorCode == "" {
		t.Fatalf("body is not an MLflow error envelope: %v", err)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	return env
}

func TestInternalErrorDetailsStayInLog(t *testing.T) {
	_, h, logs := testHandler(t, public("GET /fail", func(w http.ResponseWriter, r *http.Request, _ *caller) error {
		return errors.New("dial postgres 10.0.0.7: connection refused")
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/fail", nil))
	if rec.Code != http.StatusInternalServerError || strings.Contains(rec.Body.String(), "10.0.0.7") {
		t.Errorf("status %d body %q; want 500 without details", rec.Code, rec.Body)
	}
	log := logs.String()
	if n := strings.Count(log, "10.0.0.7"); n != 1 {
		t.Errorf("the error is logged %d times, want once:\n%s", n, log)
	}
}

func TestUnmatchedRoutes(t *testing.T) {
	probe := public("GET /api/2.0/mlflow/probe", func(w http.ResponseWriter, r *http.Request, _ *caller) error {
		return writeJSON(w, http.StatusOK, "probe")
	})
	probe.errors = mlflowErrors
	_, h, logs := testHandler(t, public("GET /things/{id}", func(w http.ResponseWriter, r *http.Request, _ *caller) error {
		return writeJSON(w, http.StatusOK, r.PathValue("id"))
	}), probe)
	tests := []struct {
		method, path string
		status       int
		code         string // native code, or MLflow error_code when mlflow
		mlflow       bool
	}{
		{http.MethodGet, "/things/1", http.StatusOK, "", false},
		{http.MethodGet, "/nothing/here", http.StatusNotFound, hangar.ENOTFOUND, false},
		{http.MethodPost, "/things/1", http.StatusMethodNotAllowed, hangar.EMETHODNOTALLOWED, false},
		{http.MethodGet, "/w/ws1/api/v1/nothing", http.StatusNotFound, hangar.ENOTFOUND, false},
		{http.MethodGet, "/api/2.0/mlflowish/x", http.StatusNotFound, hangar.ENOTFOUND, false},
		{http.MethodGet, "/api/2.0/mlflow/experiments/nope", http.StatusNotFound, "ENDPOINT_NOT_FOUND", true},
		{http.MethodPost, "/ajax-api/2.0/mlflow/runs/get", http.StatusNotFound, "ENDPOINT_NOT_FOUND", true},
		{http.MethodGet, "/w/ws1/api/2.0/mlflow/experiments/search", http.StatusNotFound, "ENDPOINT_NOT_FOUND", true},
		{http.MethodGet, "/api/2.0/mlflow-artifacts/artifacts/a/b", http.StatusNotFound, "ENDPOINT_NOT_FOUND", true},
		{http.MethodGet, "/api/3.0/mlflow/traces/search", http.StatusNotFound, "ENDPOINT_NOT_FOUND", true}, // MLflow 3 clients fall back to v2 on it
		{http.MethodGet, "/api/2.0/mlflow/probe", http.StatusOK, "", true},
		{http.MethodPost, "/api/2.0/mlflow/probe", http.StatusMethodNotAllowed, "BAD_REQUEST", true},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
		if rec.Code != tt.status {
			t.Errorf("%s %s: status %d, want %d", tt.method, tt.path, rec.Code, tt.status)
			continue
		}
		if tt.code == "" {
			continue
		}
		if tt.mlflow {
			if e := decodeMLflowEnvelope(t, rec); e.ErrorCode != tt.code || !strings.Contains(e.Message, tt.path) {
				t.Errorf("%s %s: envelope %+v, want error_code %q naming the path", tt.method, tt.path, e, tt.code)
			}
		} else if e := decodeEnvelope(t, rec); e.Code != tt.code || !strings.Contains(e.Message, tt.path) {
			t.Errorf("%s %s: envelope %+v, want code %q naming the path", tt.method, tt.path, e, tt.code)
		}
		if tt.status == http.StatusMethodNotAllowed && !strings.Contains(rec.Header().Get("Allow"), "GET") {
			t.Errorf("Allow %q, want GET listed", rec.Header().Get("Allow"))
		}
	}
	if log := logs.String(); !strings.Contains(log, `"error_code":"method_not_allowed"`) || !strings.Contains(log, `"error_code":"not_found"`) {
		t.Errorf("the access log lacks the codes of the unmatched requests:\n%s", log)
	}
}

// gatherText renders the server's metrics as /metrics serves them.
func gatherText(t *testing.T, s *Server) string {
	t.Helper()
	rec := httptest.NewRecorder()
	if err := s.metrics(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil), nil); err != nil {
		t.Fatal(err)
	}
	return rec.Body.String()
}

// TestClientCancelled: a request whose client went away fails in the store
// with the context's error; that is not the server's fault, so it is not
// answered, logged as an error or counted as 500, but counted and logged
// (at info) as 499, nginx's "client closed request".
func TestClientCancelled(t *testing.T) {
	s, h, logs := testHandler(t, public("GET /slow", func(w http.ResponseWriter, r *http.Request, _ *caller) error {
		<-r.Context().Done()
		return fmt.Errorf("query workspaces: %w", r.Context().Err())
	}))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/slow", nil).WithContext(ctx))
	if rec.Body.Len() != 0 {
		t.Errorf("answered %d %q to a client that went away; want nothing", rec.Code, rec.Body)
	}
	metrics := gatherText(t, s)
	if want := `hangar_http_requests_total{code="499",method="GET",route="GET /slow"} 1`; !strings.Contains(metrics, want) {
		t.Errorf("metrics lack %s:\n%s", want, metrics)
	}
	if strings.Contains(metrics, `code="500"`) {
		t.Errorf("the cancelled request is counted as a 500")
	}
	log := logs.String()
	if strings.Contains(log, `"level":"ERROR"`) {
		t.Errorf("the cancelled request is logged as an error:\n%s", log)
	}
	if !strings.Contains(log, `"level":"INFO","msg":"http request"`) || !strings.Contains(log, `"status":499`) || !strings.Contains(log, `"error_code":"client_closed_request"`) {
		t.Errorf("the access log lacks the cancelled request as 499 at info:\n%s", log)
	}

	// A failure while the client is still there is a 500, logged.
	rec = httptest.NewRecorder()
	_, h2, logs2 := testHandler(t, public("GET /broken", func(w http.ResponseWriter, r *http.Request, _ *caller) error {
		return errors.New("query workspaces: connection refused")
	}))
	h2.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/broken", nil))
	if rec.Code != http.StatusInternalServerError || !strings.Contains(logs2.String(), `"level":"ERROR"`) {
		t.Errorf("a failure with the client present: status %d, log %s; want 500 logged as an error", rec.Code, logs2)
	}
}

// TestNonCanonicalPaths: a path with empty, "." or ".." segments gets a JSON
// 400 naming it, where the router would answer an HTML redirect to another
// route.
func TestNonCanonicalPaths(t *testing.T) {
	_, h, _ := testHandler(t,
		public("GET /things/{id}", func(w http.ResponseWriter, r *http.Request, _ *caller) error {
			return writeJSON(w, http.StatusOK, r.PathValue("id"))
		}),
		public("GET /x", func(w http.ResponseWriter, r *http.Request, _ *caller) error {
			return writeJSON(w, http.StatusOK, "x")
		}))
	for _, tt := range []struct {
		path   string
		mlflow bool
	}{
		{path: "/api/v1/../x"},
		{path: "/things/../x"},
		{path: "//things/1"},
		{path: "/./things/1"},
		{path: "/things//1"},
		{path: "/things/1/."},
		{path: "/api/2.0/mlflow/../../../x", mlflow: true},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tt.path, nil))
		if rec.Code != http.StatusBadRequest || rec.Header().Get("Location") != "" {
			t.Errorf("GET %s: status %d Location %q; want 400 and no redirect", tt.path, rec.Code, rec.Header().Get("Location"))
			continue
		}
		want := fmt.Sprintf("path %q is not canonical", tt.path)
		if tt.mlflow {
			if e := decodeMLflowEnvelope(t, rec); e.ErrorCode != "INVALID_PARAMETER_VALUE" || !strings.Contains(e.Message, want) {
				t.Errorf("GET %s: envelope %+v, want INVALID_PARAMETER_VALUE naming the path", tt.path, e)
			}
		} else if e := decodeEnvelope(t, rec); e.Code != hangar.EINVALID || !strings.Contains(e.Message, want) {
			t.Errorf("GET %s: envelope %+v, want invalid containing %s", tt.path, e, want)
		}
	}
	for _, p := range []string{"/things/1", "/x", "/things/a.b", "/things/..."} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, p, nil))
		if rec.Code != http.StatusOK {
			t.Errorf("GET %s: status %d, want 200", p, rec.Code)
		}
	}
}

func TestIsLoopbackHost(t *testing.T) {
	for _, tt := range []struct {
		host string
		want bool
	}{
		{"localhost", true}, {"LOCALHOST:8080", true}, {"127.0.0.1", true}, {"127.0.0.1:8080", true},
		{"127.1.2.3:80", true}, {"[::1]", true}, {"[::1]:8080", true}, {"::1", true},
		{"", false}, {"evil.example", false}, {"evil.example:8080", false}, {"localhost.evil.example", false},
		{"127.0.0.1.nip.io", false}, {"0.0.0.0:8080", false}, {"10.0.0.1", false}, {"[::2]:80", false},
		{"localhost:8080:9090", false}, {"[::1", false}, {"127.1", false},
	} {
		if got := isLoopbackHost(tt.host); got != tt.want {
			t.Errorf("isLoopbackHost(%q) = %v, want %v", tt.host, got, tt.want)
		}
	}
}

// FuzzIsLoopbackHost: whatever a Host header holds, it is accepted only
// when what is left without the port is localhost or a loopback address.
func FuzzIsLoopbackHost(f *testing.F) {
	for _, s := range []string{"localhost:80", "[::1]:1", "127.0.0.1", "evil.example", "[::ffff:127.0.0.1]:80", "%00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, host string) {
		if !isLoopbackHost(host) {
			return
		}
		h := host
		if hh, _, err := net.SplitHostPort(host); err == nil {
			h = hh
		}
		h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
		if ip := net.ParseIP(h); !strings.EqualFold(h, "localhost") && (ip == nil || !ip.IsLoopback()) {
			t.Errorf("isLoopbackHost(%q) = true, but %q is neither localhost nor a loopback address", host, h)
		}
	})
}
