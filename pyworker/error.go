package pyworker

import "github.com/hangar-ml/hangar"

// Stable codes of the errors the pool returns, in Error.Code. The data plane
// maps them to statuses; clients may match them, never the message.
const (
	// CodeScript: run() (or an MLflow model's predict) raised; the worker
	// stays in service. A 500 on the data plane.
	CodeScript = "script_error"
	// CodeBadRequest: an MLflow pyfunc request body is not one of the
	// accepted shapes. A 400.
	CodeBadRequest = "bad_request"
	// CodeTimeout: the request ran past Config.RequestTimeout; the worker
	// was killed and is being replaced. A 408 (Azure) or 503.
	CodeTimeout = "timeout"
	// CodeCrashed: the worker process ended while it held the request
	// (exit, signal, os._exit); it is being replaced. A 500.
	CodeCrashed = "worker_crashed"
	// CodeTooLarge: the response is over Config.MaxResponseBytes; the worker
	// stays in service. Azure answers 424 for this.
	CodeTooLarge = "response_too_large"
	// CodeUnavailable: the pool is closed. A 503.
	CodeUnavailable = "unavailable"
	// CodeInitFailed: init() or loading the model raised, or the script
	// lacks init/run or uses an unsupported decorator; Start fails with it.
	CodeInitFailed = "init_failed"
	// CodeMissingPackages: the script or model imports a Python package
	// that the interpreter does not have; Start fails with it.
	CodeMissingPackages = "missing_packages"
	// CodeStartTimeout: init() did not return within Config.StartTimeout.
	CodeStartTimeout = "start_timeout"
)

// Error is an error of the pool or of the user's Python code. Message is safe
// to show to the caller of the endpoint (it names the exception and the last
// line of its traceback, never the whole traceback); Traceback is for logs.
type Error struct {
	Code      string
	Message   string
	Traceback string   // the Python traceback, when the user's code raised
	Missing   []string // CodeMissingPackages: the Python packages that could not be imported
}

// Error implements error.
func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Unwrap gives the domain error for callers that map only the root's codes:
// the user's bad input is EINVALID, a pool that cannot answer is
// EUNAVAILABLE, a fault in the user's code EINTERNAL (with the message kept,
// since it is the user's own code that failed).
func (e *Error) Unwrap() error {
	code := hangar.EINTERNAL
	switch e.Code {
	case CodeBadRequest, CodeInitFailed, CodeMissingPackages:
		code = hangar.EINVALID
	case CodeTimeout, CodeUnavailable, CodeStartTimeout:
		code = hangar.EUNAVAILABLE
	case CodeTooLarge:
		code = hangar.ETOOLARGE
	}
	return &hangar.Error{Code: code, Message: e.Message}
}
