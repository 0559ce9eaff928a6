package httpapi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hangar-ml/hangar"
)

// decodeTarget has the field kinds request bodies use.
type decodeTarget struct {
	Name      string            `json:"name"`
	Count     int               `json:"count,omitempty"`
	Tags      map[string]string `json:"tags,omitempty"`
	ExpiresAt *time.Time        `json:"expires_at,omitempty"`
}

func TestDecodeJSON(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		code    string
		message string // substring
	}{
		{"object", `{"name":"a","count":2,"tags":{"k":"v"}}`, "", ""},
		{"white space after", "{\"name\":\"a\"}\n\t ", "", ""},
		{"empty", ``, hangar.EINVALID, "request body is empty"},
		{"only space", "  \n", hangar.EINVALID, "request body is empty"},
		{"malformed", `{"name":`, hangar.EINVALID, "ends too early"},
		{"syntax", `{"name" "a"}`, hangar.EINVALID, "invalid JSON at byte offset"},
		{"unknown field", `{"name":"a","color":"red"}`, hangar.EINVALID, `unknown field "color"`},
		{"trailing object", `{"name":"a"}{"name":"b"}`, hangar.EINVALID, "unexpected data after the request object"},
		{"trailing garbage", `{"name":"a"} x`, hangar.EINVALID, "invalid"},
		{"wrong type", `{"name":5}`, hangar.EINVALID, `field "name" must be a string, not a JSON number`},
		{"array body", `[1]`, hangar.EINVALID, "request body must be an object"},
		{"bad time", `{"expires_at":"tomorrow"}`, hangar.EINVALID, "RFC 3339"},
		{"key in another case", `{"Name":"zz6"}`, hangar.EINVALID, `unknown field "Name" (field names are case-sensitive: did you mean "name"?)`},
		{"key in upper case", `{"name":"a","COUNT":1}`, hangar.EINVALID, `unknown field "COUNT"`},
		{"duplicate key", `{"name":"a","name":"b"}`, hangar.EINVALID, `duplicate field "name"`},
		{"duplicate key in another case", `{"name":"a","Name":"b"}`, hangar.EINVALID, `unknown field "Name"`},
		{"duplicate nested key", `{"name":"a","tags":{"k":"1","k":"2"}}`, hangar.EINVALID, `duplicate field "tags.k"`},
		{"map keys keep their case", `{"name":"a","tags":{"K":"1","k":"2"}}`, "", ""},
		{"same key in two objects", `{"name":"a","tags":{"name":"x"}}`, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v decodeTarget
			err := decodeJSON(strings.NewReader(tt.body), &v)
			if got := hangar.ErrorCode(err); got != tt.code {
				t.Fatalf("decodeJSON(%q): code %q (%v), want %q", tt.body, got, err, tt.code)
			}
			if msg := hangar.ErrorMessage(err); !strings.Contains(msg, tt.message) {
				t.Errorf("decodeJSON(%q): message %q, want it to contain %q", tt.body, msg, tt.message)
			}
		})
	}
}

func TestDecodeJSONNeverQuotesNumbers(t *testing.T) {
	var v decodeTarget
	err := decodeJSON(strings.NewReader(`{"name": 987654321}`), &v)
	if strings.Contains(err.Error(), "987654321") {
		t.Errorf("error %q quotes the input", err)
	}
}

func TestDecodeBodyLimitAndContentType(t *testing.T) {
	s := NewServer()
	s.MaxBodyBytes = 64
	tests := []struct {
		name, contentType, body, code string
	}{
		{"json", "application/json", `{"name":"a"}`, ""},
		{"json with charset", "application/json; charset=utf-8", `{"name":"a"}`, ""},
		{"plus json", "application/merge-patch+json", `{"name":"a"}`, ""},
		{"absent", "", `{"name":"a"}`, ""},
		{"text", "text/plain", `{"name":"a"}`, hangar.EINVALID},
		{"form", "application/x-www-form-urlencoded", `name=a`, hangar.EINVALID},
		{"garbage type", ";;", `{"name":"a"}`, hangar.EINVALID},
		{"too large", "application/json", `{"name":"` + strings.Repeat("a", 100) + `"}`, hangar.ETOOLARGE},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tt.body))
			if tt.contentType != "" {
				r.Header.Set("Content-Type", tt.contentType)
			}
			var v decodeTarget
			err := s.decodeBody(httptest.NewRecorder(), r, &v)
			if got := hangar.ErrorCode(err); got != tt.code {
				t.Fatalf("code %q (%v), want %q", got, err, tt.code)
			}
			if tt.code == hangar.ETOOLARGE && !strings.Contains(err.Error(), "64 bytes") {
				t.Errorf("error %q does not name the limit", err)
			}
		})
	}
}

func TestListOptions(t *testing.T) {
	tests := []struct {
		query string
		want  hangar.ListOptions
		code  string
	}{
		{"", hangar.ListOptions{}, ""},
		{"max_results=5&page_token=abc", hangar.ListOptions{MaxResults: 5, PageToken: "abc"}, ""},
		{"max_results=5000", hangar.ListOptions{MaxResults: 5000}, ""}, // capped by Limit
		{"max_results=0", hangar.ListOptions{}, hangar.EINVALID},
		{"max_results=-1", hangar.ListOptions{}, hangar.EINVALID},
		{"max_results=ten", hangar.ListOptions{}, hangar.EINVALID},
		{"max_results=1e3", hangar.ListOptions{}, hangar.EINVALID},
		{"max_results=99999999999999999999", hangar.ListOptions{}, hangar.EINVALID},
	}
	for _, tt := range tests {
		q, _ := url.ParseQuery(tt.query)
		got, err := listOptions(q)
		if code := hangar.ErrorCode(err); code != tt.code {
			t.Errorf("listOptions(%q): code %q (%v), want %q", tt.query, code, err, tt.code)
			continue
		}
		if err == nil && got != tt.want {
			t.Errorf("listOptions(%q) = %+v, want %+v", tt.query, got, tt.want)
		}
	}
}

func TestRequestIDOf(t *testing.T) {
	tests := []struct {
		header, value string
		keep          bool
	}{
		{"X-Request-Id", "abc-123", true},
		{"X-Ms-Client-Request-Id", "3f2504e0-4f89-11d3-9a0c-0305e82c3301", true},
		{"X-Request-Id", "has space", false},
		{"X-Request-Id", "line\nbreak", false},
		{"X-Request-Id", strings.Repeat("a", 129), false},
		{"X-Request-Id", "", false},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set(tt.header, tt.value)
		got := requestIDOf(r)
		if tt.keep && got != tt.value {
			t.Errorf("requestIDOf(%s: %q) = %q, want it kept", tt.header, tt.value, got)
		}
		if !tt.keep && (got == tt.value || !hangar.ValidRequestID(got)) {
			t.Errorf("requestIDOf(%s: %q) = %q, want a fresh id", tt.header, tt.value, got)
		}
	}
}

func TestCredential(t *testing.T) {
	tests := []struct {
		header, want, message string
	}{
		{"", "", "missing bearer token"},
		{"Bearer hgr_x", "hgr_x", ""},
		{"bearer  hgr_x ", "hgr_x", ""},
		{"Basic " + b64("mlflow:hgr_y"), "hgr_y", ""},
		{"Basic " + b64("no-colon"), "", "invalid token"},
		{"Basic !!!", "", "invalid token"},
		{"Bearer", "", "invalid token"},
		{"Token hgr_x", "", "invalid token"},
	}
	for _, tt := range tests {
		got, err := credential(tt.header)
		if got != tt.want || hangar.ErrorMessage(err) != tt.message {
			t.Errorf("credential(%q) = %q, %v; want %q, %q", tt.header, got, err, tt.want, tt.message)
		}
		if err != nil && hangar.ErrorCode(err) != hangar.EUNAUTHORIZED {
			t.Errorf("credential(%q): code %q, want unauthorized", tt.header, hangar.ErrorCode(err))
		}
	}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// FuzzDecodeJSON checks that the strict decoder never panics, answers only
// with EINVALID, and that what it accepts re-encodes to something it accepts
// again with the same meaning.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{
		`{"name":"a"}`, `{"name":"a","count":1,"tags":{"k":"v"},"expires_at":"2030-01-01T00:00:00Z"}`,
		`{"name":"a"} {}`, `{"nope":1}`, `[]`, `null`, `{"name":"\u00e9"}`, "{\"name\":\"a\"}\n", `{"count":1e400}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var v decodeTarget
		err := decodeJSON(bytes.NewReader(data), &v)
		if err != nil {
			if code := hangar.ErrorCode(err); code != hangar.EINVALID {
				t.Fatalf("decodeJSON(%q): code %q (%v), want invalid", data, code, err)
			}
			return
		}
		if !json.Valid(data) {
			t.Fatalf("decodeJSON accepted invalid JSON %q", data)
		}
		again, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("re-encode %+v: %v", v, err)
		}
		var w decodeTarget
		if err := decodeJSON(bytes.NewReader(again), &w); err != nil {
			t.Fatalf("decodeJSON(%s) after accepting %q: %v", again, data, err)
		}
		third, _ := json.Marshal(w)
		if !bytes.Equal(again, third) {
			t.Fatalf("round trip changed %s to %s", again, third)
		}
	})
}
