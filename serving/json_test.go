package serving

import (
	"encoding/json"
	"testing"
)

// TestAppendJSONString checks the hand-written string encoder: exact
// output for the escapes it makes, and a round trip through encoding/json
// for every ASCII byte at the start, middle and end of a string.
func TestAppendJSONString(t *testing.T) {
	for s, want := range map[string]string{
		"":                  `""`,
		"blue":              `"blue"`,
		`say "hi"\now`:      `"say \"hi\"\\now"`,
		"<a&b>":             `"\u003ca\u0026b\u003e"`,
		"tab\tnl\n":         `"tab\u0009nl\u000a"`,
		"é ünïcode":         `"é ünïcode"`,
		"id-\x01-" + "kind": `"id-\u0001-kind"`,
	} {
		if got := string(appendJSONString([]byte("x"), s)); got != "x"+want {
			t.Errorf("appendJSONString(%q): got %s, want x%s", s, got, want)
		}
	}
	for c := range 0x80 {
		for _, s := range []string{string(rune(c)), "ab" + string(rune(c)) + "cd", "ab" + string(rune(c))} {
			var got string
			if err := json.Unmarshal(appendJSONString(nil, s), &got); err != nil || got != s {
				t.Errorf("appendJSONString(%q) decodes to %q, %v; want the string back", s, got, err)
			}
		}
	}
}
