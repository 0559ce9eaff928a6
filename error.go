package hangar

import (
	"errors"
	"fmt"
)

// Error codes. They are stable: clients and the HTTP edge map them, never the message text.
const (
	EINVALID        = "invalid"         // the request is malformed or fails validation
	ENOTFOUND       = "not_found"       // the named entity does not exist
	ECONFLICT       = "conflict"        // the entity exists already, or its state forbids the change
	EUNAUTHORIZED   = "unauthorized"    // no credential, or a bad, expired or revoked one
	EFORBIDDEN      = "forbidden"       // the credential is good but its roles do not allow the action
	ETOOLARGE       = "too_large"       // the request body is over the limit
	EUNAVAILABLE    = "unavailable"     // the server is not ready or is shutting down
	EINTERNAL       = "internal"        // a bug or an outside failure; details are logged, not returned
	ENOTIMPLEMENTED = "not_implemented" // the route exists but this capability is not available

	// EMETHODNOTALLOWED is the HTTP edge's answer to a method the path has no
	// route for; it comes from no store, but clients see it like any other code.
	EMETHODNOTALLOWED = "method_not_allowed"
)

// Error is a domain error: a code and a message safe to show to a client.
type Error struct {
	Code    string
	Message string
}

// Error implements error.
func (e *Error) Error() string {
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Errorf returns an *Error with the code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for
// any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the message of the first *Error in err's chain; for
// other errors a generic text, so internal details never reach a client.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// IsCode reports whether err carries the code.
func IsCode(err error, code string) bool {
	return err != nil && ErrorCode(err) == code
}
