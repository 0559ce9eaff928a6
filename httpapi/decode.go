package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"strings"
	"time"

	"github.com/hangar-ml/hangar"
)

// decodeBody decodes the JSON request body into v, strictly: the body is
// bounded by MaxBodyBytes, the content type must be JSON (or absent), unknown
// fields and trailing data are errors.
func (s *Server) decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	if err := checkJSONContentType(r.Header.Get("Content-Type")); err != nil {
		return err
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if !errors.As(err, &mbe) && !errors.Is(err, os.ErrDeadlineExceeded) && r.Context().Err() != nil {
			return err // the client went away: writeError counts a 499 and answers nothing
		}
		return decodeError(err)
	}
	return decodeJSON(bytes.NewReader(body), v)
}

// checkJSONContentType accepts no content type, application/json and
// application/*+json.
func checkJSONContentType(ct string) error {
	if ct == "" {
		return nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err == nil && (mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))) {
		return nil
	}
	return hangar.Errorf(hangar.EINVALID, "unsupported content type %q: send application/json", ct)
}

// decodeJSON decodes exactly one JSON value from r into v. Errors are
// EINVALID with a message that names the place of the problem but quotes at
// most one character of the input (bodies can carry secret values), or
// ETOOLARGE.
//
// It is stricter than encoding/json: unknown fields, trailing data, object
// keys that match a field only when case is ignored ({"Name":…} for
// "name"), and duplicate keys at any depth (of which encoding/json keeps the
// last silently) are all errors naming the key. And before anything is
// decoded the body must follow the one text rule (hangar.CheckJSONText):
// UTF-8, and no NUL or lone surrogate in any string, escaped or not —
// text encoding/json would otherwise store as U+FFFD.
func decodeJSON(r io.Reader, v any) error {
	body, err := io.ReadAll(r)
	if err != nil {
		return decodeError(err)
	}
	if err := hangar.CheckJSONText(body); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	// Anything but white space after the value is an error.
	if _, err := dec.Token(); err != io.EOF {
		if err == nil {
			return hangar.Errorf(hangar.EINVALID, "invalid JSON: unexpected data after the request object at byte offset %d", dec.InputOffset())
		}
		return decodeError(err)
	}
	keys := json.NewDecoder(bytes.NewReader(body))
	keys.UseNumber()
	return checkKeys(keys, reflect.TypeOf(v), "")
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// checkKeys walks the next value of dec, which holds valid JSON, against the
// Go type t it was decoded into (nil when any keys go: maps' values,
// interfaces, types with their own UnmarshalJSON). Every object key must be
// unique within its object, and a key of an object decoded into a struct
// must be spelled exactly as a field's JSON name. path names the enclosing
// keys for the message.
func checkKeys(dec *json.Decoder, t reflect.Type, path string) error {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t != nil && (t.Implements(unmarshalerType) || reflect.PointerTo(t).Implements(unmarshalerType)) {
		t = nil
	}
	tok, err := dec.Token()
	if err != nil {
		return decodeError(err)
	}
	switch tok {
	case json.Delim('{'):
		var fields map[string]reflect.Type
		var elem reflect.Type
		if t != nil {
			switch t.Kind() {
			case reflect.Struct:
				fields = jsonFields(t)
			case reflect.Map:
				elem = t.Elem()
			}
		}
		seen := map[string]bool{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return decodeError(err)
			}
			key, _ := kt.(string)
			name := truncate(path+key, 64)
			if seen[key] {
				return hangar.Errorf(hangar.EINVALID, "invalid JSON: duplicate field %q", name)
			}
			seen[key] = true
			ft := elem
			if fields != nil {
				var ok bool
				if ft, ok = fields[key]; !ok {
					for f := range fields {
						if strings.EqualFold(f, key) {
							return hangar.Errorf(hangar.EINVALID, "invalid JSON: unknown field %q (field names are case-sensitive: did you mean %q?)", name, path+f)
						}
					}
					return hangar.Errorf(hangar.EINVALID, "invalid JSON: unknown field %q", name)
				}
			}
			if err := checkKeys(dec, ft, path+key+"."); err != nil {
				return err
			}
		}
		_, err := dec.Token() // '}'
		return err
	case json.Delim('['):
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for dec.More() {
			if err := checkKeys(dec, elem, path); err != nil {
				return err
			}
		}
		_, err := dec.Token() // ']'
		return err
	}
	return nil
}

// jsonFields returns the JSON names of a struct's fields as encoding/json
// sees them, with their types; fields of embedded structs without a name
// of their own are promoted.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	fields := map[string]reflect.Type{}
	for f := range t.Fields() {
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		ft := f.Type
		if f.Anonymous && name == "" {
			et := ft
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				for n, typ := range jsonFields(et) {
					if _, ok := fields[n]; !ok {
						fields[n] = typ
					}
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fields[name] = ft
	}
	return fields
}

func decodeError(err error) error {
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
		mbe *http.MaxBytesError
	)
	switch {
	case errors.As(err, &mbe):
		return hangar.Errorf(hangar.ETOOLARGE, "request body exceeds the limit of %d bytes", mbe.Limit)
	case errors.Is(err, io.EOF):
		return hangar.Errorf(hangar.EINVALID, "request body is empty: want a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return hangar.Errorf(hangar.EINVALID, "invalid JSON: the request body ends too early")
	case errors.Is(err, os.ErrDeadlineExceeded):
		return bodyTooSlow()
	case errors.As(err, &syn):
		return hangar.Errorf(hangar.EINVALID, "invalid JSON at byte offset %d: %s", syn.Offset, strings.TrimPrefix(syn.Error(), "json: "))
	case errors.As(err, &typ):
		// typ.Value can hold the number itself ("number 42"): keep the kind only.
		kind, _, _ := strings.Cut(typ.Value, " ")
		if typ.Field == "" {
			return hangar.Errorf(hangar.EINVALID, "invalid JSON: the request body must be %s, not a JSON %s", jsonKind(typ.Type.String()), kind)
		}
		return hangar.Errorf(hangar.EINVALID, "invalid JSON: field %q must be %s, not a JSON %s", typ.Field, jsonKind(typ.Type.String()), kind)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// encoding/json has no type for this error; its text is documented.
		return hangar.Errorf(hangar.EINVALID, "invalid JSON: unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	}
	// Errors from the reader (a broken connection) or from an UnmarshalJSON
	// method (time.Time), whose messages can quote the input: name the kind only.
	var perr *time.ParseError
	if errors.As(err, &perr) {
		return hangar.Errorf(hangar.EINVALID, "invalid JSON: a time is not in RFC 3339 format")
	}
	return hangar.Errorf(hangar.EINVALID, "invalid JSON request body")
}

// jsonKind names a Go type the way a JSON client thinks of it.
func jsonKind(goType string) string {
	switch {
	case goType == "string":
		return "a string"
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "uint"), strings.HasPrefix(goType, "float"):
		return "a number"
	case goType == "bool":
		return "true or false"
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	case strings.HasPrefix(goType, "map["), strings.HasPrefix(goType, "struct"), strings.Contains(goType, "."):
		return "an object"
	}
	return goType
}

// truncate shortens what a client sent before it is quoted in a message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// timeParam parses an RFC 3339 time from the query.
func timeParam(q url.Values, name string) (time.Time, error) {
	v := q.Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, hangar.Errorf(hangar.EINVALID, "%s must be an RFC 3339 time such as 2006-01-02T15:04:05Z, got %q", name, truncate(v, 64))
	}
	return t, nil
}
