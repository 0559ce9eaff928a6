package serving

import (
	"context"
	"errors"
	"net/http"

	"github.com/hangar-ml/hangar"
)

// Error codes of the scoring routes beyond the root's. Like the root's
// they are stable: clients match the "code" of an error body, never its
// text.
const (
	ETIMEOUT     = "timeout"                // the request took longer than request_timeout_ms (408)
	ETOOMANY     = "too_many_requests"      // the deployment's queue is full (429)
	EMEDIATYPE   = "unsupported_media_type" // the content type is not one the protocol takes (415)
	EMODEL       = "model_error"            // the scoring script failed (424)
	EMISSING     = "missing_feature"        // a feature the model needs is not in the input (400)
	EBADTYPE     = "bad_type"               // a value is not of the feature's type (400)
	EBADJSON     = "bad_json"               // the body is not the JSON the protocol wants (400)
	EBADSHAPE    = "bad_shape"              // rows of the wrong width, or tensors of mismatched shapes (400)
	ENOTRAFFIC   = "no_traffic"             // no deployment of the endpoint takes traffic (503)
	ENOTREADY    = "not_ready"              // the deployment is not ready (503)
	ESMOKEFAILED = "smoke_test_failed"      // a new deployment failed its smoke test
)

// status maps an error code to its HTTP status: the one table of the
// scoring edge.
func status(code string) int {
	switch code {
	case hangar.EINVALID, EMISSING, EBADTYPE, EBADJSON, EBADSHAPE:
		return http.StatusBadRequest
	case hangar.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case hangar.EFORBIDDEN:
		return http.StatusForbidden
	case hangar.ENOTFOUND:
		return http.StatusNotFound
	case hangar.EMETHODNOTALLOWED:
		return http.StatusMethodNotAllowed
	case ETIMEOUT:
		return http.StatusRequestTimeout
	case hangar.ECONFLICT:
		return http.StatusConflict
	case hangar.ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	case EMEDIATYPE:
		return http.StatusUnsupportedMediaType
	case EMODEL:
		return http.StatusFailedDependency
	case ETOOMANY:
		return http.StatusTooManyRequests
	case hangar.ENOTIMPLEMENTED:
		return http.StatusNotImplemented
	case hangar.EUNAVAILABLE, ENOTRAFFIC, ENOTREADY:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// errf is hangar.Errorf, shorter for the many input errors.
func errf(code, format string, args ...any) error {
	return hangar.Errorf(code, format, args...)
}

// errCode returns err's code, with a context deadline read as ETIMEOUT.
func errCode(err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return ETIMEOUT
	}
	return hangar.ErrorCode(err)
}
