package release

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestIsScoringPath checks IsScoringPath against the mux it lets a server
// skip: a path is taken exactly when a ServeMux with ServeHTTP mounted at
// /api/v1/workspaces/{ws}/endpoints/ would hand it over as it is (no
// redirect, no other handler).
func TestIsScoringPath(t *testing.T) {
	var routed string
	mux := http.NewServeMux()
	mux.HandleFunc("/api/v1/workspaces/{ws}/endpoints/", func(http.ResponseWriter, *http.Request) { routed = "scoring" })
	mux.HandleFunc("/", func(http.ResponseWriter, *http.Request) { routed = "api" })
	for _, p := range []string{
		"/api/v1/workspaces/default/endpoints/churn/score",
		"/api/v1/workspaces/default/endpoints/churn/invocations",
		"/api/v1/workspaces/default/endpoints/churn/v2/models/churn/infer",
		"/api/v1/workspaces/default/endpoints/churn/",
		"/api/v1/workspaces/default/endpoints/",
		"/api/v1/workspaces/default/endpoints",
		"/api/v1/workspaces/default/online-endpoints/churn",
		"/api/v1/workspaces//endpoints/churn/score",
		"/api/v1/workspaces/default/endpoints//score",
		"/api/v1/workspaces/default/endpoints/churn/./score",
		"/api/v1/workspaces/default/endpoints/churn/../churn/score",
		"/api/v1/workspaces/default/endpoints/churn/score/..",
		"/api/v1/workspaces/default/endpoints/churn/score/.",
		"/api/v1/workspaces/./endpoints/churn/score",
		"/api/v1/workspaces/../endpoints/churn/score",
		"/api/v1/workspaces/a b/endpoints/churn/score",
		"/api/v1/workspaces/default/endpoints/churn/score/",
		"//api/v1/workspaces/default/endpoints/churn/score",
		"/api/v1/workspaces/default/models/x/endpoints/y",
		"/api/v1/workspaces",
		"/",
	} {
		routed = ""
		r := httptest.NewRequest(http.MethodPost, "http://h/", nil)
		r.URL.Path = p
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		want := routed == "scoring" && w.Code == http.StatusOK
		if got := IsScoringPath(p); got != want {
			t.Errorf("IsScoringPath(%q) = %v, want %v (the mux: %q, status %d)", p, got, want, routed, w.Code)
		}
	}
}

// TestAppendStringIsJSONMarshal keeps capture's string quoting
// byte-for-byte what encoding/json writes, fast path or not.
func TestAppendStringIsJSONMarshal(t *testing.T) {
	cases := []string{"", "churn", "blue-2", "0f3a-77:x.y_z", `a"b`, `a\b`, "<tag>&", "tab\there", "\u2028", "é", "\xff\xfe", "\x7f", "\x00"}
	for c := range 256 {
		cases = append(cases, "x"+string(rune(c))+"y", string([]byte{byte(c)}))
	}
	for _, s := range cases {
		want, _ := json.Marshal(s)
		if got := appendString([]byte("prefix"), s); string(got) != "prefix"+string(want) {
			t.Errorf("appendString(%q): got %s, want prefix%s", s, got, want)
		}
	}
}
