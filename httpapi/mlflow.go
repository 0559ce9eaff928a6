package httpapi

// MLflow's REST API (2.0): the conventions every MLflow route shares, so
// that the handlers of mlflow_*.go only map requests to services.
//
//   - Routes: mlflowRoutes serves each endpoint under /api/2.0/,
//     /ajax-api/2.0/ and the same after /w/{ws}/, in MLflow's error envelope,
//     with its action authorized on the workspace: the path's, else the
//     X-MLFLOW-WORKSPACE header's that MLflow 3 clients send when
//     MLFLOW_WORKSPACE is set, else the default one (Server.authorize).
//   - Requests: decodeMLflow reads GET fields from the query string and
//     other methods' from a JSON body, as MLflow's server does (see its
//     doc), into a struct whose json tags are the proto's field names.
//   - Responses: MLflow JSON objects (package mlflow's types: int64s as
//     numbers, NaN and infinities as strings, proto2 presence), {} when
//     there is nothing to say: the Python client refuses an empty body.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/mlflow"
)

// mlflowWorkspaceHeader names the workspace of a request to the MLflow API
// without /w/{ws} in its path: MLflow 3 clients send it when
// MLFLOW_WORKSPACE is set.
const mlflowWorkspaceHeader = "X-Mlflow-Workspace"

// mlflowEndpoint is one endpoint of MLflow's REST API: its method and path
// after "/api/2.0/" ("POST mlflow/runs/create"), the action it needs on the
// workspace and its handler.
type mlflowEndpoint struct {
	pattern string
	action  string
	fn      apiFunc
}

// mlflowBases are the prefixes every MLflow endpoint is served under: the
// REST API and the path MLflow's web UI uses, for the default workspace (or
// the X-MLFLOW-WORKSPACE header's) and after /w/{ws} for another. A
// tracking URI with a path keeps it for artifacts too, so
// MLFLOW_TRACKING_URI=http://host/w/team-a reaches every route of team-a.
func mlflowBases() []string {
	return []string{"/api/2.0/", "/ajax-api/2.0/", "/w/{ws}/api/2.0/", "/w/{ws}/ajax-api/2.0/"}
}

// mlflowRoutes returns the routes of the endpoints, each under every one of
// mlflowBases, authorized on the workspace (scopeWorkspace) and answering
// errors in MLflow's envelope.
func mlflowRoutes(eps ...mlflowEndpoint) []route {
	var out []route
	for _, ep := range eps {
		method, p, _ := strings.Cut(ep.pattern, " ")
		for _, base := range mlflowBases() {
			out = append(out, route{method + " " + base + p, ep.action, scopeWorkspace, ep.fn, mlflowErrors})
		}
	}
	return out
}

// routeWorkspace returns the workspace a scopeWorkspace route acts on: the
// {ws} of its path when the pattern has one (inPath); else, on MLflow
// routes, the X-MLFLOW-WORKSPACE header's when it is set; else the default
// workspace. A header naming another workspace than the path, or no valid
// workspace name at all, is refused (EINVALID) rather than one of the two
// silently winning.
func routeWorkspace(r *http.Request, rt route, inPath bool) (string, error) {
	header := ""
	if rt.errors == mlflowErrors {
		header = r.Header.Get(mlflowWorkspaceHeader)
	}
	switch {
	case inPath:
		name := r.PathValue("ws")
		if header != "" && header != name {
			return "", hangar.Errorf(hangar.EINVALID, "the %s header names workspace %q but the path names %q: send one of them, or the same in both",
				mlflowWorkspaceHeader, truncate(header, 64), truncate(name, 64))
		}
		return name, nil
	case header != "":
		if err := hangar.ValidateWorkspaceName(header); err != nil {
			return "", hangar.Errorf(hangar.EINVALID, "%s header: %s", mlflowWorkspaceHeader, hangar.ErrorMessage(err))
		}
		return header, nil
	}
	return hangar.DefaultWorkspace, nil
}

// mlflowAPIDocs ends MLflow's messages about request parameters.
const mlflowAPIDocs = " See the API docs for more information about request parameters."

// missingValue is MLflow's error for a required field that is absent, null
// or "".
func missingValue(field string) error {
	return hangar.Errorf(hangar.EINVALID, "Missing value for required parameter '%s'.%s", field, mlflowAPIDocs)
}

// invalidValue is MLflow's error for a field whose value is not of its
// type, quoting the value as MLflow (Python) prints it, shortened.
func invalidValue(field string, raw json.RawMessage) error {
	v, typ := pyValue(raw)
	return hangar.Errorf(hangar.EINVALID, "Invalid value %s for parameter '%s' supplied. Hint: Value was of type '%s'.%s", v, field, typ, mlflowAPIDocs)
}

// pyValue renders a JSON value as Python's str() of it would read, and the
// Python type's name, for invalidValue. Long values are cut.
func pyValue(raw json.RawMessage) (string, string) {
	raw = bytes.TrimSpace(raw)
	const most = 120
	if len(raw) == 0 {
		return "None", "NoneType"
	}
	switch raw[0] {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return clipText(s, most), "str"
		}
		return clipText(string(raw), most), "str"
	case 't':
		return "True", "bool"
	case 'f':
		return "False", "bool"
	case 'n':
		return "None", "NoneType"
	case '[':
		return clipText(string(raw), most), "list"
	case '{':
		return clipText(string(raw), most), "dict"
	}
	if bytes.ContainsAny(raw, ".eE") {
		return clipText(string(raw), most), "float"
	}
	return clipText(string(raw), most), "int"
}

// clipText cuts s to at most n runes, marking the cut.
func clipText(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}

// decodeMLflow reads an MLflow request into v, a pointer to a struct whose
// fields' json tags are the proto's field names and whose mlflow tags say
// `mlflow:"required"` (absent, null and "" are missing, as MLflow's
// _assert_required has it) or `mlflow:"required,alias=run_uuid"` (the
// alias's value stands in when the field is missing). As MLflow's server:
//
//   - GET (and HEAD) take their fields from the query string: a repeated
//     field from its key repeated, key[] or key[N] (in N's order), a scalar
//     from the key's first value; numbers, booleans and enums as text.
//   - Other methods take a JSON object in the body; an empty body is {}, and
//     a body that is a JSON string holding an object is that object (old
//     clients encoded twice). POST and PUT must say Content-Type
//     application/json (parameters such as charset are fine), with
//     MLflow's messages when they do not.
//   - Unknown fields are ignored, at every depth (MLflow's parse_dict
//     ignores them: 3.x clients send fields 2.x never had); field names
//     match exactly.
//   - A value not of its field's type is "Invalid value … for parameter
//     '…' supplied." naming the top-level field, and a missing required one
//     "Missing value for required parameter '…'.", checked field by field
//     in the struct's order. Numbers may be strings holding them (proto
//     JSON), experiment ids numbers (mlflow.ExperimentID).
//
// Unlike MLflow, a body that is not JSON is refused (MLflow reads it as {}
// and goes on), and so are duplicate keys, invalid UTF-8, NUL and lone
// surrogates (hangar.CheckJSONText). Errors: EINVALID, ETOOLARGE.
func (s *Server) decodeMLflow(w http.ResponseWriter, r *http.Request, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Struct {
		panic(fmt.Sprintf("httpapi: decodeMLflow into %T, want a pointer to a struct", v))
	}
	fields := mlflowFieldsOf(rv.Elem().Type())
	var obj map[string]json.RawMessage
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		obj = queryObject(r.URL.Query(), fields)
	} else {
		var err error
		if obj, err = s.mlflowBody(w, r); err != nil {
			return err
		}
	}
	return fillMLflow(obj, rv.Elem(), fields)
}

// mlflowBody reads the JSON object of a request body.
func (s *Server) mlflowBody(w http.ResponseWriter, r *http.Request) (map[string]json.RawMessage, error) {
	if r.Method == http.MethodPost || r.Method == http.MethodPut {
		if err := checkMLflowContentType(r.Header.Get("Content-Type")); err != nil {
			return nil, err
		}
	}
	var body []byte
	if r.Body != nil {
		var err error
		body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, s.MaxBodyBytes))
		if err != nil {
			var mbe *http.MaxBytesError
			if !errors.As(err, &mbe) && !errors.Is(err, os.ErrDeadlineExceeded) && r.Context().Err() != nil {
				return nil, err // the client went away: writeError counts a 499 and answers nothing
			}
			return nil, decodeError(err)
		}
	}
	return parseMLflowBody(body)
}

// checkMLflowContentType applies MLflow's rule for POST and PUT bodies
// (mlflow/server/validation.py), with its messages.
func checkMLflowContentType(ct string) error {
	if ct == "" {
		return hangar.Errorf(hangar.EINVALID, "Bad Request. Content-Type header is missing.")
	}
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
		return hangar.Errorf(hangar.EINVALID, "Bad Request. Content-Type must be one of ['application/json'].")
	}
	return nil
}

// parseMLflowBody parses a request body into its top-level fields: {} when
// it is empty, the object a JSON string holds when it is one.
func parseMLflowBody(body []byte) (map[string]json.RawMessage, error) {
	if err := hangar.CheckJSONText(body); err != nil {
		return nil, err
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return map[string]json.RawMessage{}, nil
	}
	if body[0] == '"' {
		var inner string
		if err := json.Unmarshal(body, &inner); err != nil {
			return nil, decodeError(err)
		}
		body = bytes.TrimSpace([]byte(inner))
		if err := hangar.CheckJSONText(body); err != nil {
			return nil, err
		}
	}
	if len(body) == 0 || body[0] != '{' {
		return nil, hangar.Errorf(hangar.EINVALID, "invalid JSON: the request body must be a JSON object")
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil {
		return nil, decodeError(err)
	}
	// encoding/json keeps the last of duplicate keys silently: refuse them.
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := checkKeys(dec, nil, ""); err != nil {
		return nil, err
	}
	return obj, nil
}

// mlflowField is one top-level field of an MLflow request struct.
type mlflowField struct {
	name     string // the JSON (proto) name
	index    int
	repeated bool // a slice: repeated in the query string
	required bool
	alias    string // the field whose value stands in when this one is missing
}

// mlflowFieldsOf returns the fields of an MLflow request struct type.
func mlflowFieldsOf(t reflect.Type) []mlflowField {
	var fields []mlflowField
	for i := range t.NumField() {
		sf := t.Field(i)
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if !sf.IsExported() || name == "" || name == "-" {
			continue
		}
		f := mlflowField{name: name, index: i, repeated: sf.Type.Kind() == reflect.Slice}
		for opt := range strings.SplitSeq(sf.Tag.Get("mlflow"), ",") {
			switch {
			case opt == "required":
				f.required = true
			case strings.HasPrefix(opt, "alias="):
				f.alias = strings.TrimPrefix(opt, "alias=")
			}
		}
		fields = append(fields, f)
	}
	return fields
}

// queryObject turns a query string into the JSON fields of a request:
// repeated fields from key, key[] and key[N] (in N's order), scalars from
// the first value of key, every value as a JSON string (which numbers,
// booleans and enums accept). Unknown keys are ignored.
func queryObject(q url.Values, fields []mlflowField) map[string]json.RawMessage {
	obj := map[string]json.RawMessage{}
	for _, f := range fields {
		vals := append(slices.Clone(q[f.name]), q[f.name+"[]"]...)
		type indexed struct {
			n int
			v []string
		}
		var idx []indexed
		for k, vs := range q {
			if rest, ok := strings.CutPrefix(k, f.name+"["); ok {
				if n, err := strconv.Atoi(strings.TrimSuffix(rest, "]")); err == nil && n >= 0 && strings.HasSuffix(rest, "]") {
					idx = append(idx, indexed{n, vs})
				}
			}
		}
		slices.SortFunc(idx, func(a, b indexed) int { return a.n - b.n })
		for _, x := range idx {
			vals = append(vals, x.v...)
		}
		if len(vals) == 0 {
			continue
		}
		var raw []byte
		if f.repeated {
			raw, _ = json.Marshal(vals)
		} else {
			raw, _ = json.Marshal(vals[0])
		}
		obj[f.name] = raw
	}
	return obj
}

// fillMLflow fills v from the request's fields, checking each field in
// order: required ones present, values of their type.
func fillMLflow(obj map[string]json.RawMessage, v reflect.Value, fields []mlflowField) error {
	for _, f := range fields {
		raw, ok := obj[f.name]
		if f.alias != "" && isMissing(raw, ok) {
			raw, ok = obj[f.alias]
		}
		if f.required && isMissing(raw, ok) {
			return missingValue(f.name)
		}
		if !ok {
			continue
		}
		if err := fillValue(raw, v.Field(f.index)); err != nil {
			return invalidValue(f.name, raw)
		}
	}
	return nil
}

// isMissing reports whether a field counts as absent for MLflow's
// _assert_required: not sent, null, or "".
func isMissing(raw json.RawMessage, ok bool) bool {
	if !ok {
		return true
	}
	s := string(bytes.TrimSpace(raw))
	return s == "null" || s == `""`
}

var jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()

// errWrongType says a JSON value does not fit its Go field; fillMLflow
// reports it for the top-level field that holds it.
var errWrongType = errors.New("wrong type")

// fillValue decodes raw into v as MLflow's proto parser would: null leaves
// v as it is, numbers may be strings holding them, unknown object keys are
// ignored.
func fillValue(raw json.RawMessage, v reflect.Value) error {
	raw = bytes.TrimSpace(raw)
	if string(raw) == "null" {
		return nil
	}
	if v.CanAddr() && v.Addr().Type().Implements(jsonUnmarshaler) {
		if err := v.Addr().Interface().(json.Unmarshaler).UnmarshalJSON(raw); err != nil {
			return errWrongType
		}
		return nil
	}
	switch v.Kind() {
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		if err := fillValue(raw, p.Elem()); err != nil {
			return err
		}
		v.Set(p)
	case reflect.String:
		var s string
		if raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
			return errWrongType
		}
		v.SetString(s)
	case reflect.Bool:
		switch strings.ToLower(strings.Trim(string(raw), `"`)) {
		case "true":
			v.SetBool(true)
		case "false":
			v.SetBool(false)
		default:
			return errWrongType
		}
	case reflect.Int, reflect.Int32, reflect.Int64:
		var n mlflow.Int64
		if err := n.UnmarshalJSON(raw); err != nil || v.OverflowInt(int64(n)) {
			return errWrongType
		}
		v.SetInt(int64(n))
	case reflect.Float64:
		var d mlflow.Double
		if err := d.UnmarshalJSON(raw); err != nil {
			return errWrongType
		}
		v.SetFloat(float64(d))
	default:
		// Lists and nested objects (metrics, tags, datasets) go to
		// encoding/json, which ignores unknown keys as MLflow does, and is
		// the fast path for a log-batch of 1000 metrics. (It also matches
		// a nested key whose case differs, which MLflow would ignore.)
		if err := json.Unmarshal(raw, v.Addr().Interface()); err != nil {
			return errWrongType
		}
	}
	return nil
}

// writeMLflow answers an MLflow request with v as JSON; nil is {}.
func writeMLflow(w http.ResponseWriter, v any) error {
	if v == nil {
		v = struct{}{}
	}
	return writeJSON(w, http.StatusOK, v)
}

// mlflowHealth is MLflow's GET /health: the text OK.
func (s *Server) mlflowHealth(w http.ResponseWriter, r *http.Request, _ *caller) error {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, err := io.WriteString(w, "OK")
	return err
}

// mlflowVersion is MLflow's GET /version: the MLflow version whose wire
// behaviour Hangar follows, as plain text, so a client comparing versions
// takes the paths Hangar serves.
func (s *Server) mlflowVersion(w http.ResponseWriter, r *http.Request, _ *caller) error {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, err := io.WriteString(w, mlflow.ServerVersion)
	return err
}
