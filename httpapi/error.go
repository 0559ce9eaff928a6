package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/hangar-ml/hangar"
)

// errorStyle says which envelope a route answers errors in.
type errorStyle int

const (
	// nativeErrors is Hangar's own envelope:
	// {"error":{"code":"not_found","message":"..."}}.
	nativeErrors errorStyle = iota
	// mlflowErrors is MLflow's: {"error_code":"RESOURCE_DOES_NOT_EXIST","message":"..."},
	// with MLflow's statuses, for the routes an unchanged MLflow client calls.
	mlflowErrors
	// htmlErrors is a page of the web UI (ui.go) saying the status and
	// message, with the native status.
	htmlErrors
)

// errorAnswer is one row of the error table: how one kind of failure is
// answered in each error style.
type errorAnswer struct {
	key          string // what is looked up: a domain code, or noRoute
	code         string // the "code" of the native envelope
	status       int    // the HTTP status on native routes
	mlflowCode   string // the "error_code" of the MLflow envelope
	mlflowStatus int    // the HTTP status on MLflow routes
}

// noRoute is the key of the router's answer to a path that no route
// matches. Natively it is a plain ENOTFOUND; MLflow clients expect
// ENDPOINT_NOT_FOUND, on which MLflow 3 falls back from v3 endpoints to v2.
const noRoute = "no route"

// errorTable is the one table of error answers: every domain code, the
// router's 405 and its answer to unknown paths. MLflow's codes and statuses
// are those of MLflow 2.x's server (mlflow/protos/databricks.proto and
// mlflow/server/handlers.py); where Hangar
// answers natively with a more precise status (409 for a conflict), the
// MLflow column keeps MLflow's (400), which its client relies on.
func errorTable() []errorAnswer {
	return []errorAnswer{
		// key, native code, native status, MLflow error_code, MLflow status
		{hangar.EINVALID, hangar.EINVALID, http.StatusBadRequest, "INVALID_PARAMETER_VALUE", http.StatusBadRequest},
		{hangar.ENOTFOUND, hangar.ENOTFOUND, http.StatusNotFound, "RESOURCE_DOES_NOT_EXIST", http.StatusNotFound},
		{hangar.ECONFLICT, hangar.ECONFLICT, http.StatusConflict, "RESOURCE_ALREADY_EXISTS", http.StatusBadRequest},
		{hangar.EUNAUTHORIZED, hangar.EUNAUTHORIZED, http.StatusUnauthorized, "UNAUTHENTICATED", http.StatusUnauthorized},
		{hangar.EFORBIDDEN, hangar.EFORBIDDEN, http.StatusForbidden, "PERMISSION_DENIED", http.StatusForbidden},
		// MLflow has no code for an oversized request; BAD_REQUEST keeps it a
		// 4xx, which its client does not retry.
		{hangar.ETOOLARGE, hangar.ETOOLARGE, http.StatusRequestEntityTooLarge, "BAD_REQUEST", http.StatusRequestEntityTooLarge},
		{hangar.EUNAVAILABLE, hangar.EUNAVAILABLE, http.StatusServiceUnavailable, "TEMPORARILY_UNAVAILABLE", http.StatusServiceUnavailable},
		{hangar.ENOTIMPLEMENTED, hangar.ENOTIMPLEMENTED, http.StatusNotImplemented, "NOT_IMPLEMENTED", http.StatusNotImplemented},
		{hangar.EINTERNAL, hangar.EINTERNAL, http.StatusInternalServerError, "INTERNAL_ERROR", http.StatusInternalServerError},
		{hangar.EMETHODNOTALLOWED, hangar.EMETHODNOTALLOWED, http.StatusMethodNotAllowed, "BAD_REQUEST", http.StatusMethodNotAllowed},
		{noRoute, hangar.ENOTFOUND, http.StatusNotFound, "ENDPOINT_NOT_FOUND", http.StatusNotFound},
	}
}

// errorAnswerOf returns the row of the error table for key. An unknown code
// keeps its name in the native envelope and is otherwise answered as an
// internal error.
func errorAnswerOf(key string) errorAnswer {
	for _, a := range errorTable() {
		if a.key == key {
			return a
		}
	}
	a := errorAnswerOf(hangar.EINTERNAL)
	a.key, a.code = key, key
	return a
}

// codeOfStatus is the inverse of the native column, for answers that carry
// no envelope (a proxy's 502, say).
func codeOfStatus(status int) string {
	for _, a := range errorTable() {
		if a.status == status {
			return a.code
		}
	}
	switch {
	case status == http.StatusBadGateway || status == http.StatusGatewayTimeout:
		return hangar.EUNAVAILABLE
	case status >= 400 && status < 500:
		return hangar.EINVALID
	}
	return hangar.EINTERNAL
}

// mlflowPrefixes start the paths of the MLflow API, for the default
// workspace and, after /w/{ws}, for another one.
func mlflowPrefixes() []string {
	return []string{"/api/2.0/mlflow/", "/ajax-api/2.0/mlflow/", "/api/3.0/mlflow/", "/ajax-api/3.0/mlflow/", "/api/2.0/mlflow-artifacts/", "/ajax-api/2.0/mlflow-artifacts/"}
}

// isMLflowPath reports whether path is under the MLflow API, directly or
// under /w/{ws}.
func isMLflowPath(path string) bool {
	if rest, ok := strings.CutPrefix(path, "/w/"); ok {
		if i := strings.IndexByte(rest, '/'); i > 0 {
			path = rest[i:]
		}
	}
	for _, p := range mlflowPrefixes() {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

// errorStyleOfPath is the error style of a request that matched no route:
// MLflow's under the MLflow API, so that an MLflow client asking for an
// endpoint Hangar lacks gets the ENDPOINT_NOT_FOUND it understands.
func errorStyleOfPath(path string) errorStyle {
	if isMLflowPath(path) {
		return mlflowErrors
	}
	if path == "/ui" || strings.HasPrefix(path, "/ui/") {
		return htmlErrors // a page of the web UI (ui.go)
	}
	return nativeErrors
}

// errorEnvelope is the body of every native error answer.
type errorEnvelope struct {
	Error errorBody `json:"error"`
}

type errorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// mlflowErrorEnvelope is the body of every error answer on MLflow routes.
type mlflowErrorEnvelope struct {
	ErrorCode string `json:"error_code"`
	Message   string `json:"message"`
}

// writeError answers with the error's code and message, in the error style
// of the request's route. Internal errors are logged here, once, with the
// request id, and the client gets a generic message that quotes the id —
// unless the client cancelled the request: then the failure is its
// cancellation, nothing is sent, and the request is counted and logged as
// 499 at info level, not as a 500.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var ew errWritten
	if errors.As(err, &ew) {
		s.noteError(r, "client_gone") // the client went away; nothing to log or send
		return
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) && hangar.ErrorCode(err) == hangar.EINTERNAL {
		err = hangar.Errorf(hangar.ETOOLARGE, "request body exceeds the limit of %d bytes", mbe.Limit)
	}
	code := hangar.ErrorCode(err)
	msg := hangar.ErrorMessage(err)
	if code == hangar.EINTERNAL && r.Context().Err() != nil {
		// The request's context ends early only when the client goes away
		// (cmd serves with a base context that is never cancelled): the
		// store call failed because of that, not by a fault of ours.
		s.noteError(r, "client_closed_request")
		if st := stateFrom(r.Context()); st != nil {
			st.clientClosed = true
		}
		return
	}
	if code == hangar.EINTERNAL {
		rid := hangar.RequestIDFrom(r.Context())
		s.Logger.ErrorContext(r.Context(), "internal error",
			slog.String("request_id", rid),
			slog.String("method", r.Method),
			slog.String("route", r.Pattern),
			slog.String("error", err.Error()))
		msg = internalMessage(rid)
	}
	if sw, ok := w.(interface{ written() bool }); ok && sw.written() {
		s.noteError(r, code)
		return // a streamed answer failed midway; the status is out already
	}
	s.answer(w, r, code, msg)
}

// answer writes the error table's answer for key, in the error style of the
// request, and tells the access log its code.
func (s *Server) answer(w http.ResponseWriter, r *http.Request, key, msg string) {
	a := errorAnswerOf(key)
	s.noteError(r, a.code)
	closeUnreadBody(w, r)
	if a.code == hangar.EUNAUTHORIZED {
		w.Header().Set("WWW-Authenticate", `Bearer realm="hangar"`)
	}
	style := nativeErrors
	if st := stateFrom(r.Context()); st != nil {
		style = st.errors
	}
	if style == htmlErrors {
		w.Header().Del("WWW-Authenticate") // a browser would ask for a password it cannot give
		writeHTMLError(w, a.status, a.code, msg, r.URL.RequestURI())
		return
	}
	writeEnvelope(w, style, a, msg)
}

// closeUnreadBody ends the connection after an error answered before the
// request body was read to its end (401, 403, 413, a body that arrived too
// slowly, …): the rest of that body is of no use, and a client trickling it
// must not keep the connection. "Connection: close" alone is not enough, as
// net/http still reads up to 256 KiB of an unread body, under the request's
// read deadline, hoping to reuse the connection; the deadline is therefore
// brought forward to Timeouts.Drain, long enough for a client that sent its
// body at once to have it taken (so it reads the answer rather than a reset
// connection), too short for one that trickles it. HTTP/2 needs neither: an
// unread stream is reset alone, and "Connection: close" would shut down the
// client's other streams too.
func closeUnreadBody(w http.ResponseWriter, r *http.Request) {
	st := stateFrom(r.Context())
	if st == nil || st.body == nil || st.body.eof || r.ProtoMajor != 1 {
		return
	}
	w.Header().Set("Connection", "close")
	if t, ok := timeoutsFrom(r.Context()); ok {
		// ErrNotSupported only outside a real server (tests' recorders).
		_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(t.Drain))
	}
}

func internalMessage(requestID string) string {
	return fmt.Sprintf("internal error (request id %s)", requestID)
}

// noteError tells the access log the error code of the answer.
func (s *Server) noteError(r *http.Request, code string) {
	if st := stateFrom(r.Context()); st != nil {
		st.errorCode = code
	}
}

// writeEnvelope writes the answer a, with msg, in style.
func writeEnvelope(w http.ResponseWriter, style errorStyle, a errorAnswer, msg string) {
	h := w.Header()
	h.Del("Content-Length")
	h.Del("ETag")
	if style == htmlErrors {
		h.Del("WWW-Authenticate") // a browser would ask for a password it cannot give
		writeHTMLError(w, a.status, a.code, msg, "")
		return
	}
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	var body any = errorEnvelope{Error: errorBody{Code: a.code, Message: msg}}
	status := a.status
	if style == mlflowErrors {
		body = mlflowErrorEnvelope{ErrorCode: a.mlflowCode, Message: msg}
		status = a.mlflowStatus
	}
	w.WriteHeader(status)
	b, _ := json.Marshal(body)
	w.Write(append(b, '\n'))
}

// writeJSON encodes v fully before writing, so an encoding failure still
// yields a clean error answer.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	if err != nil {
		return errWritten{err}
	}
	return nil
}

// errWritten marks a failure after the answer started (the client went away):
// nothing more can be sent.
type errWritten struct{ err error }

func (e errWritten) Error() string { return "write response: " + e.err.Error() }
func (e errWritten) Unwrap() error { return e.err }
