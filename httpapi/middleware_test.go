package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
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

// testHandler serves extra public routes through the real wrapper and
// middleware.
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
		route{"GET /boom", true, func(w http.ResponseWriter, r *http.Request, _ *principal) error {
			panic("kaboom")
		}},
		route{"GET /boom-late", true, func(w http.ResponseWriter, r *http.Request, _ *principal) error {
			w.WriteHeader(http.StatusOK)
			w.Write([]byte("partial"))
			panic("late kaboom")
		}},
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

func TestErrorMapping(t *testing.T) {
	for code, status := range statuses {
		t.Run(code, func(t *testing.T) {
			_, h, logs := testHandler(t, route{"GET /fail", true, func(w http.ResponseWriter, r *http.Request, _ *principal) error {
				return hangar.Errorf(code, "precise message for %s", code)
			}})
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/fail", nil))
			if rec.Code != status {
				t.Errorf("status %d, want %d", rec.Code, status)
			}
			e := decodeEnvelope(t, rec)
			wantMsg := "precise message for " + code
			if code == hangar.EINTERNAL {
				wantMsg = "internal error (request id " + rec.Header().Get("X-Request-Id") + ")"
			}
			if e.Code != code || e.Message != wantMsg {
				t.Errorf("envelope %+v, want code %q message %q", e, code, wantMsg)
			}
			if logged := strings.Contains(logs.String(), `"msg":"internal error"`); logged != (code == hangar.EINTERNAL) {
				t.Errorf("internal error logged = %v for code %s", logged, code)
			}
		})
	}
}

func TestInternalErrorDetailsStayInLog(t *testing.T) {
	_, h, logs := testHandler(t, route{"GET /fail", true, func(w http.ResponseWriter, r *http.Request, _ *principal) error {
		return errors.New("dial postgres 10.0.0.7: connection refused")
	}})
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
	_, h, _ := testHandler(t, route{"GET /things/{id}", true, func(w http.ResponseWriter, r *http.Request, _ *principal) error {
		return writeJSON(w, http.StatusOK, r.PathValue("id"))
	}})
	tests := []struct {
		method, path string
		status       int
		code         string
	}{
		{http.MethodGet, "/things/1", http.StatusOK, ""},
		{http.MethodGet, "/nothing/here", http.StatusNotFound, hangar.ENOTFOUND},
		{http.MethodPost, "/things/1", http.StatusMethodNotAllowed, hangar.EINVALID},
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
		if e := decodeEnvelope(t, rec); e.Code != tt.code || !strings.Contains(e.Message, tt.path) {
			t.Errorf("%s %s: envelope %+v, want code %q naming the path", tt.method, tt.path, e, tt.code)
		}
		if tt.status == http.StatusMethodNotAllowed && !strings.Contains(rec.Header().Get("Allow"), "GET") {
			t.Errorf("Allow %q, want GET listed", rec.Header().Get("Allow"))
		}
	}
}
