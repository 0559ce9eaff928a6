package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/hangar-ml/hangar"
)

// TestOneTextRule: text that encoding/json would store as U+FFFD — invalid
// UTF-8, lone surrogate escapes — and NUL, raw or escaped, are refused in
// every JSON string the API takes, secret values included, and nothing is
// stored. Each of these was stored mangled (or, for NUL in a secret value,
// stored as sent) before the edge applied hangar.CheckJSONText.
func TestOneTextRule(t *testing.T) {
	e := newEnv(t)
	e.createWorkspace("ws1")
	if _, err := e.admin.SetSecret(t.Context(), "ws1", "api-key", []byte("value-1")); err != nil {
		t.Fatal(err)
	}
	admin := e.adminToken()
	secret := "/api/v1/workspaces/ws1/secrets/api-key"
	const bad = http.StatusBadRequest
	for _, tt := range []refused{
		{name: "invalid UTF-8 in a secret value", method: http.MethodPut, path: secret, body: "{\"value\":\"a\xffb\"}", message: "request body is not valid UTF-8 (at byte offset 11)"},
		{name: "NUL escape in a secret value", method: http.MethodPut, path: secret, body: `{"value":"a\u0000b"}`, message: `holds the escape \u0000, a NUL character (at byte offset 11)`},
		{name: "raw NUL in a secret value", method: http.MethodPut, path: secret, body: "{\"value\":\"a\x00b\"}", message: "holds a NUL character (at byte offset 11)"},
		{name: "lone high surrogate in a secret value", method: http.MethodPut, path: secret, body: `{"value":"\ud800x"}`, message: "lone high surrogate escape (at byte offset 10)"},
		{name: "lone low surrogate in a description", method: http.MethodPost, path: "/api/v1/workspaces", body: `{"name":"abc","description":"x\udc00"}`, message: "lone low surrogate escape"},
		{name: "invalid UTF-8 in a description", method: http.MethodPost, path: "/api/v1/workspaces", body: "{\"name\":\"abc\",\"description\":\"caf\xe9\"}", message: "not valid UTF-8"},
		{name: "invalid UTF-8 in a tag key", method: http.MethodPost, path: "/api/v1/workspaces", body: "{\"name\":\"abc\",\"tags\":{\"k\xc3\":\"v\"}}", message: "not valid UTF-8"},
		{name: "lone surrogate in a tag key", method: http.MethodPost, path: "/api/v1/workspaces", body: `{"name":"abc","tags":{"\ud83dk":"v"}}`, message: "lone high surrogate escape"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.token, tt.status, tt.code = admin, bad, hangar.EINVALID
			e.check(t, tt)
		})
	}

	// Valid text outside the BMP, escaped as a surrogate pair or sent raw,
	// is stored as sent.
	r := e.do(http.MethodPost, "/api/v1/workspaces", admin, `{"name":"emoji","description":"\ud83d\ude00 ok","tags":{"😀":"v"}}`)
	if r.status != http.StatusCreated {
		t.Fatalf("create with a surrogate pair: status %d %s", r.status, r.body)
	}
	ws, err := e.admin.Workspace(t.Context(), "emoji")
	if err != nil || ws.Description != "😀 ok" || ws.Tags["😀"] != "v" {
		t.Errorf("workspace read back %+v, %v; want description %q and tag key %q", ws, err, "😀 ok", "😀")
	}
}
