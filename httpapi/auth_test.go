package httpapi_test

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/httpapi"
)

// refused is a request that must be refused without changing anything.
type refused struct {
	name    string
	method  string
	path    string
	token   string // who sends it
	body    string
	header  []string
	status  int
	code    string
	message string // substring of the message
}

// check sends the request and asserts the status, code, message and that
// the stored state is unchanged.
func (e *env) check(t *testing.T, tt refused) {
	t.Helper()
	before := e.snapshot()
	r := e.do(tt.method, tt.path, tt.token, tt.body, tt.header...)
	if r.status != tt.status {
		t.Fatalf("%s %s: status %d (%s), want %d", tt.method, tt.path, r.status, r.body, tt.status)
	}
	code, msg := r.envelope(t)
	if code != tt.code || !strings.Contains(msg, tt.message) {
		t.Errorf("%s %s: error %s %q, want %s containing %q", tt.method, tt.path, code, msg, tt.code, tt.message)
	}
	if after := e.snapshot(); after != before {
		t.Errorf("%s %s changed the state:\nbefore:\n%s\nafter:\n%s", tt.method, tt.path, before, after)
	}
}

func TestAuthentication(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	exp := time.Now().Add(time.Hour)
	expiring, err := e.admin.IssueToken(ctx, &hangar.TokenRequest{Name: "short", Role: hangar.RoleOwner, ExpiresAt: &exp})
	if err != nil {
		t.Fatal(err)
	}
	revoked, err := e.admin.IssueToken(ctx, &hangar.TokenRequest{Name: "gone", Role: hangar.RoleOwner})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.admin.RevokeToken(ctx, revoked.ID); err != nil {
		t.Fatal(err)
	}
	unknown, _, _, _ := hangar.NewTokenSecret()

	const create = `{"name":"intruder"}`
	tests := []struct {
		name, header, message string
		later                 time.Duration // server clock offset
	}{
		{"none", "", "missing bearer token", 0},
		{"not a token", "Bearer not-a-token", "invalid token", 0},
		{"unknown token", "Bearer " + unknown, "invalid token", 0},
		{"other scheme", "Token " + expiring.Secret, "invalid token", 0},
		{"expired", "Bearer " + expiring.Secret, "token expired", 2 * time.Hour},
		{"revoked", "Bearer " + revoked.Secret, "token revoked", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.offset.Store(int64(tt.later))
			defer e.offset.Store(0)
			var header []string
			if tt.header != "" {
				header = []string{"Authorization", tt.header}
			}
			e.check(t, refused{
				method: http.MethodPost, path: "/api/v1/workspaces", body: create, header: header,
				status: http.StatusUnauthorized, code: hangar.EUNAUTHORIZED, message: tt.message,
			})
		})
	}

	t.Run("challenge", func(t *testing.T) {
		if got := e.do(http.MethodGet, "/api/v1/workspaces", "", "").header.Get("WWW-Authenticate"); got != `Bearer realm="hangar"` {
			t.Errorf("WWW-Authenticate %q, want a Bearer challenge", got)
		}
	})
	t.Run("expiring token works before expiry", func(t *testing.T) {
		if r := e.do(http.MethodGet, "/api/v1/workspaces", expiring.Secret, ""); r.status != http.StatusOK {
			t.Errorf("status %d, want 200", r.status)
		}
	})
	t.Run("basic auth with the token as password (MLflow)", func(t *testing.T) {
		basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("anyone:"+expiring.Secret))
		if r := e.do(http.MethodGet, "/api/v1/workspaces", "", "", "Authorization", basic); r.status != http.StatusOK {
			t.Errorf("status %d (%s), want 200", r.status, r.body)
		}
	})
	t.Run("public routes need no token", func(t *testing.T) {
		for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
			if r := e.do(http.MethodGet, p, "", ""); r.status != http.StatusOK {
				t.Errorf("GET %s: status %d, want 200", p, r.status)
			}
		}
	})
}

func TestAuthorization(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	e.createWorkspace("ws1")
	e.createWorkspace("ws2")
	if _, err := e.admin.SetSecret(ctx, "ws1", "api-key", []byte("value-1")); err != nil {
		t.Fatal(err)
	}
	blob, err := e.admin.PutBlob(ctx, "ws1", strings.NewReader("blob"))
	if err != nil {
		t.Fatal(err)
	}
	tok := map[string]string{}
	for _, id := range []struct{ name, role, ws string }{
		{"reader", hangar.RoleReader, "ws1"},
		{"approver", hangar.RoleApprover, "ws1"},
		{"contrib", hangar.RoleContributor, "ws1"},
		{"ds", hangar.RoleDataScientist, "ws1"},
		{"operator", hangar.RoleComputeOperator, "ws1"},
		{"w1owner", hangar.RoleOwner, "ws1"},
		{"srvreader", hangar.RoleReader, ""},
		{"w2reader", hangar.RoleReader, "ws2"},
	} {
		tok[id.name] = e.token(id.name, id.role, id.ws)
	}
	if err := e.api.Identities.CreateIdentity(ctx, &hangar.Identity{Name: "loner", Kind: hangar.KindUser}); err != nil {
		t.Fatal(err)
	}
	adminAsg, err := e.admin.ListRoleAssignments(ctx, hangar.RoleAssignmentFilter{IdentityName: "admin"}, hangar.ListOptions{})
	if err != nil || len(adminAsg.Items) != 1 {
		t.Fatalf("admin's assignments: %v, %v", adminAsg, err)
	}
	readerAsg, err := e.admin.ListRoleAssignments(ctx, hangar.RoleAssignmentFilter{IdentityName: "reader"}, hangar.ListOptions{})
	if err != nil || len(readerAsg.Items) != 1 {
		t.Fatalf("reader's assignments: %v, %v", readerAsg, err)
	}
	// A grant counts only with secrets/read on the secret's workspace:
	// demoted was granted the secret as a Reader, then made an Approver.
	demoted := e.token("demoted", hangar.RoleReader, "ws1")
	if err := e.admin.GrantSecret(ctx, "ws1", "api-key", "demoted"); err != nil {
		t.Fatal(err)
	}
	if asg, err := e.admin.ListRoleAssignments(ctx, hangar.RoleAssignmentFilter{IdentityName: "demoted"}, hangar.ListOptions{}); err != nil || len(asg.Items) != 1 {
		t.Fatalf("demoted's assignments: %v, %v", asg, err)
	} else if err := e.admin.RemoveRoleAssignment(ctx, asg.Items[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := e.admin.AssignRole(ctx, &hangar.RoleAssignment{IdentityName: "demoted", Role: hangar.RoleApprover, Workspace: "ws1"}); err != nil {
		t.Fatal(err)
	}
	// elsewhere holds the grant and secrets/read on ws1, but its token is
	// scoped to ws2.
	e.token("elsewhere", hangar.RoleReader, "ws1")
	if err := e.admin.GrantSecret(ctx, "ws1", "api-key", "elsewhere"); err != nil {
		t.Fatal(err)
	}
	if err := e.admin.AssignRole(ctx, &hangar.RoleAssignment{IdentityName: "elsewhere", Role: hangar.RoleReader, Workspace: "ws2"}); err != nil {
		t.Fatal(err)
	}
	elsewhere := e.token("elsewhere", hangar.RoleReader, "ws2")
	w2readerAsg, err := e.admin.ListRoleAssignments(ctx, hangar.RoleAssignmentFilter{IdentityName: "w2reader"}, hangar.ListOptions{})
	if err != nil || len(w2readerAsg.Items) != 1 {
		t.Fatalf("w2reader's assignments: %v, %v", w2readerAsg, err)
	}
	toks, err := e.admin.ListTokens(ctx, hangar.TokenFilter{}, hangar.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tokenID := toks.Items[0].ID

	const (
		get, post, put, del = http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete
		forbidden           = http.StatusForbidden
	)
	ws1 := "/api/v1/workspaces/ws1"
	tests := []refused{
		{name: "reader cannot create a workspace", method: post, path: "/api/v1/workspaces", token: tok["reader"], body: `{"name":"new-ws"}`,
			message: "identity reader lacks workspaces/write server-wide"},
		{name: "workspace owner cannot create a workspace", method: post, path: "/api/v1/workspaces", token: tok["w1owner"], body: `{"name":"new-ws"}`,
			message: "identity w1owner lacks workspaces/write server-wide"},
		{name: "reader cannot set a secret", method: put, path: ws1 + "/secrets/api-key", token: tok["reader"], body: `{"value":"x"}`,
			message: "identity reader lacks secrets/write on workspace ws1"},
		{name: "approver cannot list secrets", method: get, path: ws1 + "/secrets", token: tok["approver"],
			message: "identity approver lacks secrets/read on workspace ws1"},
		{name: "approver cannot read secret metadata", method: get, path: ws1 + "/secrets/api-key", token: tok["approver"],
			message: "lacks secrets/read on workspace ws1"},
		{name: "operator cannot list secrets", method: get, path: ws1 + "/secrets", token: tok["operator"],
			message: "identity operator lacks secrets/read"},
		{name: "contributor cannot reveal", method: post, path: ws1 + "/secrets/api-key/reveal", token: tok["contrib"],
			message: "identity contrib lacks secrets/reveal on workspace ws1 and holds no grant of secret api-key"},
		{name: "data scientist cannot reveal", method: post, path: ws1 + "/secrets/api-key/reveal", token: tok["ds"],
			message: "identity ds lacks secrets/reveal"},
		{name: "another workspace's reader", method: post, path: ws1 + "/secrets/api-key/reveal", token: tok["w2reader"],
			message: "identity w2reader lacks secrets/reveal on workspace ws1 and holds no grant of secret api-key (its token is scoped to workspace ws2)"},
		{name: "a grant whose holder lost secrets/read", method: post, path: ws1 + "/secrets/api-key/reveal", token: demoted,
			message: "identity demoted lacks secrets/read server-wide and on every workspace"},
		{name: "a grant used with a token scoped elsewhere", method: post, path: ws1 + "/secrets/api-key/reveal", token: elsewhere,
			message: "identity elsewhere holds a grant of secret api-key but lacks secrets/read on workspace ws1, which revealing by grant also takes (its token is scoped to workspace ws2)"},
		{name: "reader cannot reveal a missing secret either", method: post, path: ws1 + "/secrets/nope/reveal", token: tok["reader"],
			message: "identity reader lacks secrets/reveal"},
		{name: "contributor cannot create tokens", method: post, path: "/api/v1/tokens", token: tok["contrib"], body: `{"name":"bot","role":"Reader","workspace":"ws1"}`,
			message: "identity contrib lacks tokens/write server-wide and on every workspace"},
		{name: "workspace owner cannot create tokens for another workspace", method: post, path: "/api/v1/tokens", token: tok["w1owner"], body: `{"name":"bot","role":"Reader","workspace":"ws2"}`,
			message: "identity w1owner lacks tokens/write on workspace ws2"},
		{name: "contributor cannot assign roles", method: post, path: "/api/v1/role-assignments", token: tok["contrib"], body: `{"identity_name":"reader","role":"Owner","workspace":"ws1"}`,
			message: "identity contrib lacks roleAssignments/write server-wide and on every workspace"},
		{name: "workspace owner cannot assign roles on another workspace", method: post, path: "/api/v1/role-assignments", token: tok["w1owner"], body: `{"identity_name":"reader","role":"Reader","workspace":"ws2"}`,
			message: "identity w1owner lacks roleAssignments/write on workspace ws2"},
		{name: "workspace owner cannot assign server-wide roles", method: post, path: "/api/v1/role-assignments", token: tok["w1owner"], body: `{"identity_name":"w1owner","role":"Owner"}`,
			message: "identity w1owner lacks roleAssignments/write server-wide"},
		{name: "data scientist cannot delete the workspace", method: del, path: ws1, token: tok["ds"],
			message: "identity ds lacks workspaces/delete on workspace ws1"},
		{name: "contributor cannot delete role assignments", method: del, path: "/api/v1/role-assignments/" + readerAsg.Items[0].ID, token: tok["contrib"],
			message: "identity contrib lacks roleAssignments/delete server-wide and on every workspace"},
		{name: "workspace owner cannot delete another workspace's assignment", method: del, path: "/api/v1/role-assignments/" + w2readerAsg.Items[0].ID, token: tok["w1owner"],
			message: "identity w1owner lacks roleAssignments/delete server-wide"},
		{name: "workspace owner cannot delete a server-wide assignment", method: del, path: "/api/v1/role-assignments/" + adminAsg.Items[0].ID, token: tok["w1owner"],
			message: "identity w1owner lacks roleAssignments/delete server-wide"},
		{name: "reader cannot read another workspace", method: get, path: "/api/v1/workspaces/ws2", token: tok["reader"],
			message: "identity reader lacks workspaces/read on workspace ws2"},
		{name: "no existence leak for missing workspaces", method: get, path: "/api/v1/workspaces/missing", token: tok["reader"],
			message: "identity reader lacks workspaces/read on workspace missing"},
		{name: "reader cannot read the server-wide audit log", method: get, path: "/api/v1/audit", token: tok["reader"],
			message: "identity reader lacks audit/read server-wide"},
		{name: "reader cannot read another workspace's audit", method: get, path: "/api/v1/workspaces/ws2/audit", token: tok["reader"],
			message: "lacks audit/read on workspace ws2"},
		{name: "reader cannot verify the audit chain", method: post, path: "/api/v1/audit/verify", token: tok["reader"],
			message: "identity reader lacks audit/read server-wide"},
		{name: "workspace owner cannot list identities", method: get, path: "/api/v1/identities", token: tok["w1owner"],
			message: "identity w1owner lacks identities/read server-wide"},
		{name: "workspace owner cannot list tokens", method: get, path: "/api/v1/tokens", token: tok["w1owner"],
			message: "lacks tokens/read server-wide"},
		{name: "server-wide reader cannot revoke tokens", method: del, path: "/api/v1/tokens/" + tokenID, token: tok["srvreader"],
			message: "identity srvreader lacks tokens/delete server-wide"},
		{name: "reader cannot list role assignments server-wide", method: get, path: "/api/v1/role-assignments", token: tok["reader"],
			message: "lacks roleAssignments/read server-wide"},
		{name: "reader cannot upload blobs", method: put, path: ws1 + "/blobs", token: tok["reader"], body: "data",
			message: "identity reader lacks artifacts/write on workspace ws1"},
		{name: "approver cannot download blobs", method: get, path: ws1 + "/blobs/" + string(blob.Digest), token: tok["approver"],
			message: "identity approver lacks artifacts/read on workspace ws1"},
		{name: "reader cannot grant secrets", method: put, path: ws1 + "/secrets/api-key/grants/reader", token: tok["reader"],
			message: "lacks secrets/write on workspace ws1"},
		{name: "contributor cannot grant itself secrets in another workspace", method: put, path: "/api/v1/workspaces/ws2/secrets/api-key/grants/contrib", token: tok["contrib"],
			message: "identity contrib lacks secrets/write on workspace ws2"},
		// Granting hands out the power to reveal: it takes secrets/reveal, or
		// a Contributor could grant a secret to itself and read it.
		{name: "contributor cannot grant itself a secret", method: put, path: ws1 + "/secrets/api-key/grants/contrib", token: tok["contrib"],
			message: "identity contrib lacks secrets/reveal on workspace ws1"},
		{name: "data scientist cannot grant itself a secret", method: put, path: ws1 + "/secrets/api-key/grants/ds", token: tok["ds"],
			message: "identity ds lacks secrets/reveal on workspace ws1"},
		{name: "data scientist cannot revoke a grant", method: del, path: ws1 + "/secrets/api-key/grants/w1owner", token: tok["ds"],
			message: "identity ds lacks secrets/reveal on workspace ws1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.status, tt.code = forbidden, hangar.EFORBIDDEN
			e.check(t, tt)
		})
	}
	// An identity a workspace Owner may not see is a name that is taken:
	// nothing is said about its roles (issue 7 #5).
	for _, tt := range []refused{
		{name: "workspace owner cannot mint a token for a server-wide owner", method: post, path: "/api/v1/tokens", token: tok["w1owner"], body: `{"name":"admin","role":"Owner","workspace":"ws1"}`,
			message: `identity name "admin" is taken: choose another name`},
		{name: "workspace owner cannot give an identity without roles its first token", method: post, path: "/api/v1/tokens", token: tok["w1owner"], body: `{"name":"loner","role":"Reader","workspace":"ws1"}`,
			message: `identity name "loner" is taken: choose another name`},
		{name: "workspace owner cannot mint a token for another workspace's identity", method: post, path: "/api/v1/tokens", token: tok["w1owner"], body: `{"name":"w2reader","role":"Reader","workspace":"ws1"}`,
			message: `identity name "w2reader" is taken: choose another name`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.status, tt.code = http.StatusConflict, hangar.ECONFLICT
			e.check(t, tt)
		})
	}

	// What the same identities may do.
	allowed := []struct {
		name, method, path, token, body string
		status                          int
	}{
		{"reader reads its workspace", get, ws1, tok["reader"], "", http.StatusOK},
		{"reader sees an identity of its workspace", get, "/api/v1/identities/contrib", tok["reader"], "", http.StatusOK},
		{"reader reads its workspace's audit", get, "/api/v1/audit?workspace=ws1", tok["reader"], "", http.StatusOK},
		{"reader reads its workspace's audit by path", get, ws1 + "/audit", tok["reader"], "", http.StatusOK},
		{"reader lists role assignments of its workspace", get, "/api/v1/role-assignments?workspace=ws1", tok["reader"], "", http.StatusOK},
		{"reader lists secret names", get, ws1 + "/secrets", tok["reader"], "", http.StatusOK},
		{"approver downloads nothing but reads the workspace", get, ws1, tok["approver"], "", http.StatusOK},
		{"any identity lists roles", get, "/api/v1/roles", tok["approver"], "", http.StatusOK},
		{"contributor sets a secret", put, ws1 + "/secrets/other", tok["contrib"], `{"value":"v"}`, http.StatusOK},
		{"data scientist downloads a blob", get, ws1 + "/blobs/" + string(blob.Digest), tok["ds"], "", http.StatusOK},
		{"workspace owner reveals", post, ws1 + "/secrets/api-key/reveal", tok["w1owner"], "", http.StatusOK},
		{"workspace owner grants a secret", put, ws1 + "/secrets/api-key/grants/ds", tok["w1owner"], "", http.StatusNoContent},
		{"a data scientist reveals what it was granted", post, ws1 + "/secrets/api-key/reveal", tok["ds"], "", http.StatusOK},
		{"workspace owner revokes a grant", del, ws1 + "/secrets/api-key/grants/ds", tok["w1owner"], "", http.StatusNoContent},
		{"workspace owner issues a workspace token", post, "/api/v1/tokens", tok["w1owner"], `{"name":"w1bot","role":"Reader","workspace":"ws1"}`, http.StatusCreated},
		{"workspace owner re-issues for a workspace identity", post, "/api/v1/tokens", tok["w1owner"], `{"name":"reader","role":"Reader","workspace":"ws1"}`, http.StatusCreated},
		{"workspace owner removes a workspace assignment", del, "/api/v1/role-assignments/" + readerAsg.Items[0].ID, tok["w1owner"], "", http.StatusNoContent},
		{"server-wide reader reads the audit log", get, "/api/v1/audit", tok["srvreader"], "", http.StatusOK},
		{"server-wide owner gets 404 for a missing workspace", get, "/api/v1/workspaces/missing", e.adminToken(), "", http.StatusNotFound},
		{"server-wide owner gets 404 for a missing workspace's secrets", get, "/api/v1/workspaces/missing/secrets", e.adminToken(), "", http.StatusNotFound},
	}
	for _, tt := range allowed {
		t.Run(tt.name, func(t *testing.T) {
			if r := e.do(tt.method, tt.path, tt.token, tt.body); r.status != tt.status {
				t.Errorf("%s %s: status %d (%s), want %d", tt.method, tt.path, r.status, r.body, tt.status)
			}
		})
	}
}

// TestBadRequests runs on every backend, so that a request one store takes
// and another chokes on (a NUL, invalid UTF-8) is caught.
func TestBadRequests(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { testBadRequests(t, b.dsn(t)) })
	}
}

func testBadRequests(t *testing.T, dsn string) {
	e := newEnvOn(t, dsn, func(s *httpapi.Server) { s.MaxBlobBytes = 1000 })
	ctx := t.Context()
	e.createWorkspace("ws1")
	if _, err := e.admin.SetSecret(ctx, "ws1", "api-key", []byte("value-1")); err != nil {
		t.Fatal(err)
	}
	admin := e.adminToken()
	const (
		get, post, put, del = http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete
		bad, invalid        = http.StatusBadRequest, hangar.EINVALID
	)
	ws1 := "/api/v1/workspaces/ws1"
	huge := `{"name":"abc","description":"` + strings.Repeat("x", 1<<20) + `"}`
	tests := []refused{
		{name: "malformed JSON", method: post, path: "/api/v1/workspaces", body: `{"name":`, status: bad, code: invalid, message: "invalid JSON"},
		{name: "syntax error", method: post, path: "/api/v1/workspaces", body: `{"name" "abc"}`, status: bad, code: invalid, message: "invalid JSON at byte offset"},
		{name: "unknown field", method: post, path: "/api/v1/workspaces", body: `{"name":"abc","colour":"red"}`, status: bad, code: invalid, message: `unknown field "colour"`},
		{name: "field name in another case", method: post, path: "/api/v1/workspaces", body: `{"Name":"zz6"}`, status: bad, code: invalid, message: `unknown field "Name"`},
		{name: "duplicate field", method: post, path: "/api/v1/workspaces", body: `{"name":"zz6","name":"zz7"}`, status: bad, code: invalid, message: `duplicate field "name"`},
		{name: "duplicate secret value", method: put, path: ws1 + "/secrets/api-key", body: `{"value":"a","value":"b"}`, status: bad, code: invalid, message: `duplicate field "value"`},
		{name: "server-set field", method: post, path: "/api/v1/workspaces", body: `{"name":"abc","created_by":"someone"}`, status: bad, code: invalid, message: `unknown field "created_by"`},
		{name: "trailing data", method: post, path: "/api/v1/workspaces", body: `{"name":"abc"} {"name":"def"}`, status: bad, code: invalid, message: "unexpected data after the request object"},
		{name: "empty body", method: post, path: "/api/v1/workspaces", body: ``, status: bad, code: invalid, message: "request body is empty"},
		{name: "wrong content type", method: post, path: "/api/v1/workspaces", body: `{"name":"abc"}`, header: []string{"Content-Type", "text/plain"},
			status: bad, code: invalid, message: `unsupported content type "text/plain"`},
		{name: "oversized body", method: post, path: "/api/v1/workspaces", body: huge, status: http.StatusRequestEntityTooLarge, code: hangar.ETOOLARGE,
			message: "request body exceeds the limit of 1048576 bytes"},
		{name: "bad workspace name", method: post, path: "/api/v1/workspaces", body: `{"name":"-x"}`, status: bad, code: invalid, message: `invalid workspace name "-x"`},
		{name: "too many tags", method: post, path: "/api/v1/workspaces", body: `{"name":"abc","tags":{` + manyTags(51) + `}}`, status: bad, code: invalid, message: "51 tags; the limit is 50"},
		{name: "unknown role in token request", method: post, path: "/api/v1/tokens", body: `{"name":"bot","role":"Janitor"}`, status: bad, code: invalid, message: `unknown role "Janitor"`},
		{name: "bad token name", method: post, path: "/api/v1/tokens", body: `{"name":"a b","role":"Reader"}`, status: bad, code: invalid, message: `invalid token name "a b"`},
		{name: "token expiry in the past", method: post, path: "/api/v1/tokens", body: `{"name":"bot","role":"Reader","expires_at":"2001-01-01T00:00:00Z"}`, status: bad, code: invalid, message: "is not in the future"},
		{name: "token expiry not a time", method: post, path: "/api/v1/tokens", body: `{"name":"bot","role":"Reader","expires_at":"soon"}`, status: bad, code: invalid, message: "RFC 3339"},
		{name: "token for a missing workspace", method: post, path: "/api/v1/tokens", body: `{"name":"bot","role":"Reader","workspace":"missing"}`, status: http.StatusNotFound, code: hangar.ENOTFOUND},
		{name: "unknown role in assignment", method: post, path: "/api/v1/role-assignments", body: `{"identity_name":"admin","role":"Janitor","workspace":"ws1"}`, status: bad, code: invalid, message: `unknown role "Janitor"`},
		{name: "assignment of a missing identity", method: post, path: "/api/v1/role-assignments", body: `{"identity_name":"nobody","role":"Reader","workspace":"ws1"}`, status: http.StatusNotFound, code: hangar.ENOTFOUND},
		{name: "a Reader token for an Owner", method: post, path: "/api/v1/tokens", body: `{"name":"admin","role":"Reader"}`, status: http.StatusConflict, code: hangar.ECONFLICT,
			message: `identity "admin" exists and its roles are not exactly Reader server-wide, which a server-wide token would carry all of; change its roles with "hangar role assign"`},
		{name: "token expiry in year 10000 in UTC", method: post, path: "/api/v1/tokens", body: `{"name":"bot","role":"Reader","expires_at":"9999-12-31T23:59:59-23:59"}`, status: bad, code: invalid,
			message: "expires_at 9999-12-31T23:59:59-23:59 is out of range"},
		{name: "a workload identity", method: post, path: "/api/v1/identities", body: `{"name":"job","kind":"workload"}`, status: bad, code: invalid, message: "belongs to the jobs and deployments the server runs"},
		{name: "an identity of no kind", method: post, path: "/api/v1/identities", body: `{"name":"job"}`, status: bad, code: invalid, message: `invalid identity kind ""`},
		{name: "an identity with a bad name", method: post, path: "/api/v1/identities", body: `{"name":"a b","kind":"user"}`, status: bad, code: invalid, message: `invalid identity name "a b"`},
		{name: "an identity that exists", method: post, path: "/api/v1/identities", body: `{"name":"admin","kind":"user"}`, status: http.StatusConflict, code: hangar.ECONFLICT, message: `identity "admin" already exists`},
		{name: "a missing identity", method: get, path: "/api/v1/identities/nobody", status: http.StatusNotFound, code: hangar.ENOTFOUND, message: `identity "nobody" not found`},
		{name: "a missing token", method: get, path: "/api/v1/tokens/nope", status: http.StatusNotFound, code: hangar.ENOTFOUND},
		{name: "duplicate assignment", method: post, path: "/api/v1/role-assignments", body: `{"identity_name":"admin","role":"Owner"}`, status: http.StatusConflict, code: hangar.ECONFLICT},
		{name: "bad secret name", method: put, path: ws1 + "/secrets/bad.name", body: `{"value":"v"}`, status: bad, code: invalid, message: `invalid secret name "bad.name"`},
		{name: "empty secret value", method: put, path: ws1 + "/secrets/api-key", body: `{"value":""}`, status: bad, code: invalid, message: "secret value is empty"},
		{name: "secret value too large", method: put, path: ws1 + "/secrets/api-key", body: `{"value":"` + strings.Repeat("v", hangar.MaxSecretSize+1) + `"}`,
			status: bad, code: invalid, message: "the limit is 25600"},
		{name: "secret value not a string", method: put, path: ws1 + "/secrets/api-key", body: `{"value":12345}`, status: bad, code: invalid, message: `field "value" must be a string`},
		{name: "grant to a bad identity name", method: put, path: ws1 + "/secrets/api-key/grants/a%20b", status: bad, code: invalid, message: "invalid identity name"},
		{name: "grant on a missing secret", method: put, path: ws1 + "/secrets/nope/grants/admin", status: http.StatusNotFound, code: hangar.ENOTFOUND},
		{name: "max_results not a number", method: get, path: "/api/v1/workspaces?max_results=ten", status: bad, code: invalid, message: `max_results must be a whole number, got "ten"`},
		{name: "max_results negative", method: get, path: "/api/v1/identities?max_results=-1", status: bad, code: invalid, message: "max_results must be at least 1"},
		{name: "roles: max_results not a number", method: get, path: "/api/v1/roles?max_results=abc", status: bad, code: invalid, message: `max_results must be a whole number, got "abc"`},
		{name: "roles: bad page token", method: get, path: "/api/v1/roles?page_token=garbage", status: bad, code: invalid, message: "page_token"},
		{name: "bad page token", method: get, path: "/api/v1/workspaces?page_token=garbage", status: bad, code: invalid, message: "page token"},
		{name: "bad tokens page token", method: get, path: "/api/v1/tokens?page_token=zzz", status: bad, code: invalid, message: "page token"},
		{name: "bad secrets page token", method: get, path: ws1 + "/secrets?page_token=zzz", status: bad, code: invalid, message: "page token"},
		{name: "bad since", method: get, path: "/api/v1/audit?since=yesterday", status: bad, code: invalid, message: "since must be an RFC 3339 time"},
		{name: "conflicting workspace filter", method: get, path: ws1 + "/audit?workspace=default", status: bad, code: invalid, message: "conflicts"},
		{name: "bad digest", method: get, path: ws1 + "/blobs/md5:abc", status: bad, code: invalid, message: `invalid digest "md5:abc"`},
		{name: "blob too large", method: put, path: ws1 + "/blobs", body: strings.Repeat("b", 1001), status: http.StatusRequestEntityTooLarge, code: hangar.ETOOLARGE,
			message: "exceeds the limit of 1000 bytes"},
		{name: "unknown route", method: get, path: "/api/v1/nothing", status: http.StatusNotFound, code: hangar.ENOTFOUND, message: "no route for GET /api/v1/nothing"},
		{name: "wrong method", method: http.MethodPatch, path: ws1, status: http.StatusMethodNotAllowed, code: hangar.EMETHODNOTALLOWED, message: "method PATCH is not allowed"},
		{name: "delete a missing token", method: del, path: "/api/v1/tokens/nope", status: http.StatusNotFound, code: hangar.ENOTFOUND},

		// Text PostgreSQL cannot hold, in bodies, paths and queries.
		{name: "NUL in a display name", method: post, path: "/api/v1/workspaces", body: `{"name":"abc","display_name":"a\u0000b"}`, status: bad, code: invalid, message: nulEscape},
		{name: "NUL in a description", method: post, path: "/api/v1/workspaces", body: `{"name":"abc","description":"a\u0000b"}`, status: bad, code: invalid, message: nulEscape},
		{name: "NUL in a tag key", method: post, path: "/api/v1/workspaces", body: `{"name":"abc","tags":{"a\u0000b":"v"}}`, status: bad, code: invalid, message: nulEscape},
		{name: "NUL in a tag value", method: post, path: "/api/v1/workspaces", body: `{"name":"abc","tags":{"k":"\u0000"}}`, status: bad, code: invalid, message: nulEscape},
		{name: "NUL in an audit target", method: get, path: "/api/v1/audit?target=a%00b", status: bad, code: invalid, message: `query parameter "target" contains a NUL character`},
		{name: "invalid UTF-8 in an audit target", method: get, path: "/api/v1/audit?target=%ff", status: bad, code: invalid, message: `query parameter "target" is not valid UTF-8`},
		{name: "NUL in an audit workspace", method: get, path: "/api/v1/audit?workspace=a%00b", status: bad, code: invalid, message: `query parameter "workspace" contains a NUL character`},
		{name: "NUL in a workspace audit target", method: get, path: ws1 + "/audit?target=secrets/%00", status: bad, code: invalid, message: `query parameter "target" contains a NUL character`},
		{name: "NUL in an identity filter", method: get, path: "/api/v1/role-assignments?identity=a%00b", status: bad, code: invalid, message: `query parameter "identity" contains a NUL character`},
		{name: "invalid UTF-8 in a workspace filter", method: get, path: "/api/v1/role-assignments?workspace=%c3", status: bad, code: invalid, message: `query parameter "workspace" is not valid UTF-8`},
		{name: "NUL in a page token", method: get, path: "/api/v1/identities?page_token=%00", status: bad, code: invalid, message: `query parameter "page_token" contains a NUL character`},
		{name: "NUL in a query parameter name", method: get, path: "/api/v1/identities?a%00b=1", status: bad, code: invalid, message: "query parameter name contains a NUL character"},
		{name: "bad escape in the query", method: get, path: "/api/v1/identities?max_results=%zz", status: bad, code: invalid, message: "invalid query string"},
		{name: "NUL in a secret name", method: get, path: ws1 + "/secrets/%00", status: bad, code: invalid, message: "path parameter {name} contains a NUL character"},
		{name: "invalid UTF-8 in a secret name", method: del, path: ws1 + "/secrets/%ff", status: bad, code: invalid, message: "path parameter {name} is not valid UTF-8"},
		{name: "NUL in a workspace name", method: get, path: "/api/v1/workspaces/a%00b", status: bad, code: invalid, message: "path parameter {ws} contains a NUL character"},
		{name: "NUL in a grant's identity", method: del, path: ws1 + "/secrets/api-key/grants/a%00b", status: bad, code: invalid, message: "path parameter {identity} contains a NUL character"},
		{name: "NUL in a token id", method: del, path: "/api/v1/tokens/%00", status: bad, code: invalid, message: "path parameter {id} contains a NUL character"},
		{name: "NUL in an assignment id", method: del, path: "/api/v1/role-assignments/%00", status: bad, code: invalid, message: "path parameter {id} contains a NUL character"},
		{name: "NUL in a digest", method: get, path: ws1 + "/blobs/%00", status: bad, code: invalid, message: "path parameter {digest} contains a NUL character"},
		{name: "NUL in a token request", method: post, path: "/api/v1/tokens", body: `{"name":"a\u0000b","role":"Reader"}`, status: bad, code: invalid, message: nulEscape},
		{name: "NUL in an assignment's identity", method: post, path: "/api/v1/role-assignments", body: `{"identity_name":"a\u0000b","role":"Reader"}`, status: bad, code: invalid, message: nulEscape},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.token = admin
			e.check(t, tt)
		})
	}
}

// nulEscape is the edge's answer to a \u0000 in any JSON string, before a
// field is decoded (hangar.CheckJSONText).
const nulEscape = `a JSON string holds the escape \u0000, a NUL character`

func manyTags(n int) string {
	var parts []string
	for i := range n {
		parts = append(parts, `"k`+strings.Repeat("x", i)+`":"v"`)
	}
	return strings.Join(parts, ",")
}
