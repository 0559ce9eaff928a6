package httpapi_test

import (
	"encoding/json"
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/httpapi"
)

// TestEveryRouteIsAuthorized walks the whole route table, so that a new
// route is covered the moment it is declared: every route but the public
// ones answers 401 without a token and 403 to a valid token whose identity
// holds no role, and changes nothing; public routes answer without a token.
func TestEveryRouteIsAuthorized(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	// A valid token of an identity without any role: issue it with one and
	// remove the assignment through the store.
	norole, err := e.admin.IssueToken(ctx, &hangar.TokenRequest{Name: "norole", Role: hangar.RoleReader, Workspace: hangar.DefaultWorkspace})
	if err != nil {
		t.Fatal(err)
	}
	asg, err := e.api.Credentials.RoleAssignmentsOf(ctx, norole.IdentityID)
	if err != nil || len(asg) != 1 {
		t.Fatalf("assignments of norole: %v, %v", asg, err)
	}
	if err := e.api.Roles.RemoveRoleAssignment(ctx, asg[0].ID); err != nil {
		t.Fatal(err)
	}

	// Wildcards name things that exist where that matters: an outsider must
	// be refused before anyone looks.
	wildcard := regexp.MustCompile(`\{([a-z]+)(\.\.\.)?\}`)
	fill := func(path string) string {
		return wildcard.ReplaceAllStringFunc(path, func(w string) string {
			switch wildcard.FindStringSubmatch(w)[1] {
			case "ws":
				return hangar.DefaultWorkspace
			case "digest":
				return "sha256:" + strings.Repeat("0", 64)
			}
			return "x1x"
		})
	}
	tests := []struct {
		name, token      string
		status           int
		code, mlflowCode string
		message          string
	}{
		{"no token", "", http.StatusUnauthorized, hangar.EUNAUTHORIZED, "UNAUTHENTICATED", "missing bearer token"},
		{"no role", norole.Secret, http.StatusForbidden, hangar.EFORBIDDEN, "PERMISSION_DENIED", "identity norole lacks "},
	}
	routes := e.api.Routes()
	if len(routes) < 20 {
		t.Fatalf("the route table has %d routes; is it walked?", len(routes))
	}
	for _, rt := range routes {
		method, path, _ := strings.Cut(rt.Pattern, " ")
		path = fill(path)
		if rt.Public {
			want := http.StatusOK
			if rt.Pattern == "POST /ui/login" {
				want = http.StatusBadRequest // the sign-in form, posted empty
			}
			if r := e.do(method, path, "", ""); r.status != want {
				t.Errorf("public %s %s without a token: status %d (%s), want %d", method, path, r.status, r.body, want)
			}
			continue
		}
		for _, tt := range tests {
			t.Run(rt.Pattern+"/"+tt.name, func(t *testing.T) {
				before := e.snapshot()
				r := e.do(method, path, tt.token, `{}`)
				if r.status != tt.status {
					t.Fatalf("%s %s: status %d (%s), want %d", method, path, r.status, r.body, tt.status)
				}
				code, msg, want := "", "", tt.code
				if rt.HTML {
					// A page of the web UI: the code and the message
					// (HTML-escaped) on an HTML page.
					body := string(r.body)
					if !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") || !strings.Contains(body, ">"+tt.code+"<") || !strings.Contains(body, html.EscapeString(tt.message)) {
						t.Errorf("%s %s: page %q, want code %s and a message starting %q", method, path, body, tt.code, tt.message)
					}
					if after := e.snapshot(); after != before {
						t.Errorf("%s %s changed the state", method, path)
					}
					return
				}
				if rt.MLflow {
					var env struct {
						ErrorCode string `json:"error_code"`
						Message   string `json:"message"`
					}
					json.Unmarshal(r.body, &env)
					code, msg, want = env.ErrorCode, env.Message, tt.mlflowCode
				} else {
					code, msg = r.envelope(t)
				}
				if code != want || !strings.HasPrefix(msg, tt.message) {
					t.Errorf("%s %s: error %s %q, want %s starting %q", method, path, code, msg, want, tt.message)
				}
				if after := e.snapshot(); after != before {
					t.Errorf("%s %s changed the state:\nbefore:\n%s\nafter:\n%s", method, path, before, after)
				}
			})
		}
	}
}

// TestIdentityVisibility is issue 7 #5: a caller without identities/read
// server-wide cannot tell an identity it may not see (one of another
// workspace, one without roles) from one that does not exist — role
// assignment, secret grants and lookup answer both alike — while callers
// with server-wide rights keep the precise answers.
func TestIdentityVisibility(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	e.createWorkspace("ws1")
	e.createWorkspace("ws2")
	if _, err := e.admin.SetSecret(ctx, "ws1", "api-key", []byte("v")); err != nil {
		t.Fatal(err)
	}
	w1owner := e.token("w1owner", hangar.RoleOwner, "ws1")
	w1reader := e.token("w1reader", hangar.RoleReader, "ws1")
	e.token("member", hangar.RoleReader, "ws1")
	e.token("w2only", hangar.RoleReader, "ws2")
	e.token("srvonly", hangar.RoleReader, "")
	if err := e.admin.CreateIdentity(ctx, &hangar.Identity{Name: "loner", Kind: hangar.KindUser}); err != nil {
		t.Fatal(err)
	}
	admin := e.adminToken()
	hidden := []string{"ghost", "w2only", "srvonly", "loner"} // ghost does not exist

	// sameAnswers sends the request for every hidden name and wants one
	// answer, the name aside.
	sameAnswers := func(t *testing.T, who, token, method string, path, body func(name string) string, status int, code, message string) {
		t.Helper()
		var first string
		for _, name := range hidden {
			before := e.snapshot()
			r := e.do(method, path(name), token, body(name))
			if r.status != status {
				t.Fatalf("%s: %s %s: status %d (%s), want %d", who, method, path(name), r.status, r.body, status)
			}
			c, msg := r.envelope(t)
			if want := strings.ReplaceAll(message, "NAME", name); c != code || msg != want {
				t.Errorf("%s: %s %s: %s %q, want %s %q", who, method, path(name), c, msg, code, want)
			}
			if after := e.snapshot(); after != before {
				t.Errorf("%s: %s %s changed the state", who, method, path(name))
			}
			norm := strings.ReplaceAll(string(r.body), name, "NAME")
			if first == "" {
				first = norm
			} else if norm != first {
				t.Errorf("%s: answers differ by identity:\n%s\n%s", who, first, norm)
			}
		}
	}
	none := func(string) string { return "" }
	assign := func(name string) string {
		return `{"identity_name":"` + name + `","role":"Reader","workspace":"ws1"}`
	}
	t.Run("role assignment by a workspace owner", func(t *testing.T) {
		sameAnswers(t, "w1owner", w1owner, http.MethodPost, func(string) string { return "/api/v1/role-assignments" }, assign,
			http.StatusNotFound, hangar.ENOTFOUND, `identity "NAME" holds no role on workspace ws1`)
	})
	t.Run("secret grant by a workspace owner", func(t *testing.T) {
		sameAnswers(t, "w1owner", w1owner, http.MethodPut, func(name string) string { return "/api/v1/workspaces/ws1/secrets/api-key/grants/" + name }, none,
			http.StatusNotFound, hangar.ENOTFOUND, `identity "NAME" holds no role on workspace ws1`)
	})
	t.Run("lookup by a workspace reader", func(t *testing.T) {
		sameAnswers(t, "w1reader", w1reader, http.MethodGet, func(name string) string { return "/api/v1/identities/" + name }, none,
			http.StatusNotFound, hangar.ENOTFOUND, `identity "NAME" not found`)
	})
	t.Run("what a workspace owner may see", func(t *testing.T) {
		if r := e.do(http.MethodGet, "/api/v1/identities/member", w1reader, ""); r.status != http.StatusOK || !strings.Contains(string(r.body), `"name":"member"`) {
			t.Errorf("w1reader looks up a member of ws1: %d %s", r.status, r.body)
		}
		if r := e.do(http.MethodPost, "/api/v1/role-assignments", w1owner, `{"identity_name":"member","role":"Data Scientist","workspace":"ws1"}`); r.status != http.StatusCreated {
			t.Errorf("w1owner assigns a role to a member of ws1: %d %s", r.status, r.body)
		}
		if r := e.do(http.MethodPut, "/api/v1/workspaces/ws1/secrets/api-key/grants/member", w1owner, ""); r.status != http.StatusNoContent {
			t.Errorf("w1owner grants a secret to a member of ws1: %d %s", r.status, r.body)
		}
	})
	t.Run("a server-wide owner gets precise answers", func(t *testing.T) {
		for _, tt := range []refused{
			{name: "missing", method: http.MethodPost, path: "/api/v1/role-assignments", body: assign("ghost"), status: http.StatusNotFound, code: hangar.ENOTFOUND,
				message: `identity "ghost" not found`},
			{name: "grant to a missing identity", method: http.MethodPut, path: "/api/v1/workspaces/ws1/secrets/api-key/grants/ghost", status: http.StatusNotFound, code: hangar.ENOTFOUND,
				message: `identity "ghost" not found`},
			{name: "grant to an identity without a role on ws1", method: http.MethodPut, path: "/api/v1/workspaces/ws1/secrets/api-key/grants/w2only", status: http.StatusBadRequest, code: hangar.EINVALID,
				message: `identity "w2only" holds no role with secrets/read on workspace ws1`},
			{name: "grant to an identity without roles", method: http.MethodPut, path: "/api/v1/workspaces/ws1/secrets/api-key/grants/loner", status: http.StatusBadRequest, code: hangar.EINVALID,
				message: `identity "loner" holds no role with secrets/read on workspace ws1`},
			{name: "lookup of a missing identity", method: http.MethodGet, path: "/api/v1/identities/ghost", status: http.StatusNotFound, code: hangar.ENOTFOUND,
				message: `identity "ghost" not found`},
		} {
			t.Run(tt.name, func(t *testing.T) {
				tt.token = admin
				e.check(t, tt)
			})
		}
		for _, name := range []string{"w2only", "srvonly", "loner"} {
			if r := e.do(http.MethodGet, "/api/v1/identities/"+name, admin, ""); r.status != http.StatusOK {
				t.Errorf("admin looks up %s: %d %s", name, r.status, r.body)
			}
		}
		if r := e.do(http.MethodPost, "/api/v1/role-assignments", admin, assign("w2only")); r.status != http.StatusCreated {
			t.Errorf("admin assigns w2only a role on ws1: %d %s", r.status, r.body)
		}
		// Now a member of ws1, w2only is visible to its owner.
		if r := e.do(http.MethodGet, "/api/v1/identities/w2only", w1reader, ""); r.status != http.StatusOK {
			t.Errorf("w1reader looks up w2only once it holds a role on ws1: %d %s", r.status, r.body)
		}
	})
}

// TestForbiddenNamesNoOtherRoles is issue 7 #5: no error answer of a route
// that takes another identity — its tokens, its assignments, its grants,
// the identity itself — names a role that identity holds, whoever asks.
func TestForbiddenNamesNoOtherRoles(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	e.createWorkspace("ws1")
	e.createWorkspace("ws2")
	for _, ws := range []string{"ws1", "ws2"} {
		if _, err := e.admin.SetSecret(ctx, ws, "api-key", []byte("v")); err != nil {
			t.Fatal(err)
		}
	}
	// The victim's roles are ones no caller holds or asks for.
	victimRoles := []string{hangar.RoleComputeOperator, hangar.RoleApprover, hangar.RoleDataScientist}
	victimTok, err := e.admin.IssueToken(ctx, &hangar.TokenRequest{Name: "victim", Role: hangar.RoleComputeOperator})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []hangar.RoleAssignment{
		{IdentityName: "victim", Role: hangar.RoleApprover, Workspace: "ws1"},
		{IdentityName: "victim", Role: hangar.RoleDataScientist, Workspace: "ws2"},
	} {
		if err := e.admin.AssignRole(ctx, &a); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.admin.GrantSecret(ctx, "ws2", "api-key", "victim"); err != nil {
		t.Fatal(err)
	}
	asg, err := e.admin.ListRoleAssignments(ctx, hangar.RoleAssignmentFilter{IdentityName: "victim"}, hangar.ListOptions{})
	if err != nil || len(asg.Items) != 3 {
		t.Fatalf("victim's assignments: %v, %v", asg, err)
	}
	callers := map[string]string{
		"w1owner":   e.token("w1owner", hangar.RoleOwner, "ws1"),
		"w1reader":  e.token("w1reader", hangar.RoleReader, "ws1"),
		"w1contrib": e.token("w1contrib", hangar.RoleContributor, "ws1"),
		"srvreader": e.token("srvreader", hangar.RoleReader, ""),
	}
	type request struct{ method, path, body string }
	requests := []request{
		{http.MethodGet, "/api/v1/identities/victim", ""},
		{http.MethodGet, "/api/v1/tokens/" + victimTok.ID, ""},
		{http.MethodDelete, "/api/v1/tokens/" + victimTok.ID, ""},
		{http.MethodGet, "/api/v1/role-assignments?identity=victim", ""},
		{http.MethodGet, "/api/v1/role-assignments?identity=victim&workspace=ws2", ""},
		{http.MethodPut, "/api/v1/workspaces/ws1/secrets/api-key/grants/victim", ""},
		{http.MethodPut, "/api/v1/workspaces/ws2/secrets/api-key/grants/victim", ""},
		{http.MethodDelete, "/api/v1/workspaces/ws2/secrets/api-key/grants/victim", ""},
	}
	for _, ws := range []string{"ws1", "ws2", ""} {
		for _, role := range []string{hangar.RoleReader, hangar.RoleOwner} {
			requests = append(requests,
				request{http.MethodPost, "/api/v1/tokens", `{"name":"victim","role":"` + role + `","workspace":"` + ws + `"}`},
				request{http.MethodPost, "/api/v1/role-assignments", `{"identity_name":"victim","role":"` + role + `","workspace":"` + ws + `"}`})
		}
	}
	for _, a := range asg.Items {
		requests = append(requests, request{http.MethodDelete, "/api/v1/role-assignments/" + a.ID, ""})
	}
	forbidden := 0
	for who, token := range callers {
		for _, rq := range requests {
			before := e.snapshot()
			r := e.do(rq.method, rq.path, token, rq.body)
			if r.status < 400 {
				if after := e.snapshot(); after != before && who != "w1owner" {
					t.Errorf("%s: %s %s %s changed the state", who, rq.method, rq.path, rq.body)
				}
				continue
			}
			if r.status == http.StatusForbidden {
				forbidden++
			}
			for _, role := range victimRoles {
				if strings.Contains(string(r.body), role) {
					t.Errorf("%s: %s %s %s: answer %d %s names the victim's role %q", who, rq.method, rq.path, rq.body, r.status, r.body, role)
				}
			}
			if strings.Contains(string(r.body), "ws2") && !strings.Contains(rq.path+rq.body, "ws2") {
				t.Errorf("%s: %s %s %s: answer %s names workspace ws2, which was not asked about", who, rq.method, rq.path, rq.body, r.body)
			}
		}
	}
	if forbidden < len(requests) {
		t.Errorf("only %d answers were 403; is the test asking the right callers?", forbidden)
	}
}

// TestSecretGrantsNeedSecretsRead is issue 7 #7: a grant to an identity
// whose roles on the workspace lack secrets/read (an Approver, a Compute
// Operator) is refused, saying why, instead of answering 204 for a grant
// whose reveal is then refused.
func TestSecretGrantsNeedSecretsRead(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	e.createWorkspace("ws1")
	if _, err := e.admin.SetSecret(ctx, "ws1", "api-key", []byte("the-value")); err != nil {
		t.Fatal(err)
	}
	w1owner := e.token("w1owner", hangar.RoleOwner, "ws1")
	approver := e.token("approver", hangar.RoleApprover, "ws1")
	e.token("operator", hangar.RoleComputeOperator, "ws1")
	reader := e.token("reader", hangar.RoleReader, "ws1")
	for _, name := range []string{"approver", "operator"} {
		e.check(t, refused{method: http.MethodPut, path: "/api/v1/workspaces/ws1/secrets/api-key/grants/" + name, token: w1owner,
			status: http.StatusBadRequest, code: hangar.EINVALID,
			message: `identity "` + name + `" holds no role with secrets/read on workspace ws1, without which a grant lets it reveal nothing: give it such a role first`})
	}
	e.check(t, refused{method: http.MethodPost, path: "/api/v1/workspaces/ws1/secrets/api-key/reveal", token: approver,
		status: http.StatusForbidden, code: hangar.EFORBIDDEN, message: "identity approver lacks secrets/read server-wide and on every workspace"})
	e.check(t, refused{method: http.MethodPost, path: "/api/v1/workspaces/ws1/secrets/api-key/reveal", token: reader,
		status: http.StatusForbidden, code: hangar.EFORBIDDEN, message: "identity reader lacks secrets/reveal on workspace ws1 and holds no grant of secret api-key"})
	if r := e.do(http.MethodPut, "/api/v1/workspaces/ws1/secrets/api-key/grants/reader", w1owner, ""); r.status != http.StatusNoContent {
		t.Fatalf("grant to a reader: %d %s", r.status, r.body)
	}
	if v, err := httpapi.NewClient(e.srv.URL, reader).RevealSecret(ctx, "ws1", "api-key"); err != nil || string(v) != "the-value" {
		t.Errorf("the granted reader reveals: %q, %v", v, err)
	}
}
