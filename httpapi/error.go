package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/hangar-ml/hangar"
)

// statuses maps each domain error code to its HTTP status: the one table.
var statuses = map[string]int{
	hangar.EINVALID:        http.StatusBadRequest,
	hangar.EUNAUTHORIZED:   http.StatusUnauthorized,
	hangar.EFORBIDDEN:      http.StatusForbidden,
	hangar.ENOTFOUND:       http.StatusNotFound,
	hangar.ECONFLICT:       http.StatusConflict,
	hangar.ETOOLARGE:       http.StatusRequestEntityTooLarge,
	hangar.EUNAVAILABLE:    http.StatusServiceUnavailable,
	hangar.ENOTIMPLEMENTED: http.StatusNotImplemented,
	hangar.EINTERNAL:       http.StatusInternalServerError,
}

// statusOf returns the HTTP status of a domain error code; unknown codes are
// internal errors.
func statusOf(code string) int {
	if st, ok := statuses[code]; ok {
		return st
	}
	return http.StatusInternalServerError
}

// codeOfStatus is the inverse of statusOf, for answers that carry no
// envelope (a proxy's 502, say).
func codeOfStatus(status int) string {
	for code, st := range statuses {
		if st == status {
			return code
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

// errorEnvelope is the body of every error answer.
type errorEnvelope struct {
	Error errorBody `json:"error"`
}

type errorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// writeError answers with the error's code and message. Internal errors are
// logged here, once, with the request id, and the client gets a generic
// message that quotes the id.
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
	rid := hangar.RequestIDFrom(r.Context())
	if code == hangar.EINTERNAL {
		s.Logger.ErrorContext(r.Context(), "internal error",
			slog.String("request_id", rid),
			slog.String("method", r.Method),
			slog.String("route", r.Pattern),
			slog.String("error", err.Error()))
		msg = internalMessage(rid)
	}
	s.noteError(r, code)
	if sw, ok := w.(interface{ written() bool }); ok && sw.written() {
		return // a streamed answer failed midway; the status is out already
	}
	if code == hangar.EUNAUTHORIZED {
		w.Header().Set("WWW-Authenticate", `Bearer realm="hangar"`)
	}
	s.writeEnvelope(w, statusOf(code), code, msg)
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

func (s *Server) writeEnvelope(w http.ResponseWriter, status int, code, msg string) {
	h := w.Header()
	h.Del("Content-Length")
	h.Del("ETag")
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	b, _ := json.Marshal(errorEnvelope{Error: errorBody{Code: code, Message: msg}})
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

// writePage writes a list page, with "value": [] rather than null when empty.
func writePage[T any](w http.ResponseWriter, p *hangar.Page[T]) error {
	if p == nil {
		p = &hangar.Page[T]{}
	}
	if p.Items == nil {
		p.Items = []T{}
	}
	return writeJSON(w, http.StatusOK, p)
}

// errWritten marks a failure after the answer started (the client went away):
// nothing more can be sent.
type errWritten struct{ err error }

func (e errWritten) Error() string { return "write response: " + e.err.Error() }
func (e errWritten) Unwrap() error { return e.err }
