package hangar_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hangar-ml/hangar"
)

func TestCheckJSONText(t *testing.T) {
	tests := []struct {
		name, body string
		want       string // substring of the error; "" for none
	}{
		{"plain", `{"name":"a","tags":{"k":"v"}}`, ""},
		{"unicode", `{"d":"ünïcödé ✓ 😀"}`, ""},
		{"escaped pair", `{"d":"\ud83d\ude00"}`, ""},
		{"escaped pair upper case", `{"d":"\uD83D\uDE00"}`, ""},
		{"other escapes", `{"d":"a\n\t\"\\\/\u00e9"}`, ""},
		{"escaped backslash before u", `{"d":"\\u0000"}`, ""},
		{"NUL escape in a value", `{"value":"a\u0000b"}`, "NUL"},
		{"NUL escape in a key", `{"a\u0000":"b"}`, "NUL"},
		{"raw NUL in a string", "{\"d\":\"a\x00b\"}", "NUL"},
		{"lone high surrogate", `{"d":"\ud800"}`, "lone high surrogate"},
		{"high surrogate then text", `{"d":"\ud800x"}`, "lone high surrogate"},
		{"high surrogate then non-surrogate escape", `{"d":"\ud800\u0041"}`, "lone high surrogate"},
		{"two high surrogates", `{"d":"\ud800\ud800"}`, "lone high surrogate"},
		{"lone low surrogate", `{"d":"\udc00"}`, "lone low surrogate"},
		{"invalid UTF-8 in a value", "{\"d\":\"a\xffb\"}", "not valid UTF-8 (at byte offset 7)"},
		{"invalid UTF-8 in a key", "{\"\xc3\":1}", "not valid UTF-8"},
		{"encoded surrogate (CESU-8)", "{\"d\":\"\xed\xa0\x80\"}", "not valid UTF-8"},
		{"NUL outside strings is the decoder's business", "{\"a\":1}\x00", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := hangar.CheckJSONText([]byte(tt.body))
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("CheckJSONText = %v, want nil", err)
			case tt.want != "" && (!hangar.IsCode(err, hangar.EINVALID) || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("CheckJSONText = %v, want EINVALID containing %q", err, tt.want)
			}
		})
	}
}

// FuzzCheckJSONText checks the rule against encoding/json: whatever passes
// and decodes must decode to strings that are exactly what was sent — valid
// UTF-8, no NUL, nothing replaced with U+FFFD that was not U+FFFD before.
func FuzzCheckJSONText(f *testing.F) {
	for _, s := range []string{`{"a":"b"}`, `{"d":"\ud83d\ude00"}`, `{"d":"\ud800"}`, `["\u0000"]`, "\"\xff\"", `{"k":["x",{"y":"\uFFFD"}]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if hangar.CheckJSONText(data) != nil {
			return
		}
		var v any
		if json.Unmarshal(data, &v) != nil {
			return
		}
		// Count U+FFFD in the input as written (raw or escaped) and in the
		// decoded strings: a replacement would add one.
		raw := strings.Count(string(data), "\uFFFD") + strings.Count(strings.ToLower(string(data)), `\ufffd`)
		got := 0
		var walk func(any)
		walk = func(v any) {
			switch x := v.(type) {
			case string:
				if !utf8.ValidString(x) || strings.ContainsRune(x, 0) {
					t.Fatalf("accepted %q decodes to a string with invalid UTF-8 or NUL: %q", data, x)
				}
				got += strings.Count(x, "\uFFFD")
			case []any:
				for _, e := range x {
					walk(e)
				}
			case map[string]any:
				for k, e := range x {
					walk(k)
					walk(e)
				}
			}
		}
		walk(v)
		if got > raw {
			t.Fatalf("accepted %q decodes with %d U+FFFD, the input holds %d: something was replaced", data, got, raw)
		}
	})
}

func TestValidateTime(t *testing.T) {
	farEast := time.FixedZone("-23:59", -(23*3600 + 59*60))
	tests := []struct {
		name string
		t    time.Time
		ok   bool
	}{
		{"now", time.Now(), true},
		{"last representable instant", time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC), true},
		{"year 10000 in UTC, 9999 locally", time.Date(9999, 12, 31, 23, 59, 59, 0, farEast), false},
		{"year 10000", time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), false},
		{"the zero time", time.Time{}, true},
		{"before year 1", time.Date(0, 12, 31, 0, 0, 0, 0, time.UTC), false},
	}
	for _, tt := range tests {
		err := hangar.ValidateTime("expires_at", tt.t)
		if (err == nil) != tt.ok {
			t.Errorf("%s: ValidateTime(%v) = %v, want ok %v", tt.name, tt.t, err, tt.ok)
		}
		if err != nil && (!hangar.IsCode(err, hangar.EINVALID) || !strings.Contains(err.Error(), "expires_at")) {
			t.Errorf("%s: error %v, want EINVALID naming the field", tt.name, err)
		}
	}
}

// TestTokenRequestFarFutureExpiry is issue 7 #1: an expiry that is year
// 10000 in UTC was stored and then broke every token list.
func TestTokenRequestFarFutureExpiry(t *testing.T) {
	exp, err := time.Parse(time.RFC3339, "9999-12-31T23:59:59-23:59")
	if err != nil {
		t.Fatal(err)
	}
	r := &hangar.TokenRequest{Name: "far", Role: hangar.RoleReader, ExpiresAt: &exp}
	if err := r.Validate(time.Now()); !hangar.IsCode(err, hangar.EINVALID) || !strings.Contains(err.Error(), "out of range") {
		t.Fatalf("Validate = %v, want EINVALID out of range", err)
	}
}
