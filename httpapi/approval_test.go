package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/httpapi"
)

// approvalEnv is a server with model m (versions 1 and 2, production at 1,
// production protected), a Data Scientist bob, Approvers carol and dave,
// and erin, who holds both Approver and Data Scientist.
type approvalEnv struct {
	*env
	bob, carol, erin *httpapi.Client
	bobToken         string
}

func newApprovalEnv(t *testing.T) *approvalEnv {
	e := newEnv(t)
	ctx := hangar.WithActor(t.Context(), hangar.Actor{IdentityID: "setup", Name: "setup"})
	if err := e.api.Registry.CreateRegisteredModel(ctx, &hangar.RegisteredModel{Workspace: hangar.DefaultWorkspace, Name: "m"}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := e.api.Registry.CreateModelVersion(ctx, &hangar.ModelVersion{Workspace: hangar.DefaultWorkspace, Name: "m", Source: "s3://b/m"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.api.Registry.SetRegisteredModelAlias(ctx, hangar.DefaultWorkspace, "m", "production", "1"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.admin.ProtectAlias(t.Context(), hangar.DefaultWorkspace, "production"); err != nil {
		t.Fatalf("protect: %v", err)
	}
	a := &approvalEnv{env: e}
	a.bobToken = e.token("bob", hangar.RoleDataScientist, hangar.DefaultWorkspace)
	a.bob = httpapi.NewClient(e.srv.URL, a.bobToken)
	a.carol = e.client("carol", hangar.RoleApprover, hangar.DefaultWorkspace)
	a.erin = e.client("erin", hangar.RoleApprover, hangar.DefaultWorkspace)
	if err := e.admin.AssignRole(t.Context(), &hangar.RoleAssignment{IdentityName: "erin", Role: hangar.RoleDataScientist, Workspace: hangar.DefaultWorkspace}); err != nil {
		t.Fatal(err)
	}
	return a
}

func (a *approvalEnv) wantProduction(t *testing.T, version string) {
	t.Helper()
	v, err := a.api.Registry.ModelVersionByAlias(t.Context(), hangar.DefaultWorkspace, "m", "production")
	if err != nil || v.Version != version {
		t.Fatalf("production: got %+v, %v; want version %s", v, err, version)
	}
}

func wantErrCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := hangar.ErrorCode(err); got != code {
		t.Fatalf("%s: got %v (code %q), want code %q", what, err, got, code)
	}
}

// TestApprovalFlow is issue 10 item 4 over HTTP: a Data Scientist asks,
// an Approver other than the requester decides, the alias moves only then.
func TestApprovalFlow(t *testing.T) {
	a := newApprovalEnv(t)
	ctx := t.Context()
	ws := hangar.DefaultWorkspace

	r, err := a.bob.RequestApproval(ctx, hangar.NewApprovalRequest{Workspace: ws, Name: "m", Version: "2", Alias: "production", Comment: "better recall", ExpiresIn: 2 * time.Hour})
	if err != nil {
		t.Fatalf("request: %v", err)
	}
	if r.Requester != "bob" || r.Status != hangar.ApprovalPending || r.ExpiresAt.Sub(r.CreatedAt) != 2*time.Hour {
		t.Errorf("request: got %+v, want pending by bob expiring in 2h", r)
	}
	// The requester sees the request and its fate with models/read.
	got, err := a.bob.ApprovalRequest(ctx, ws, r.ID)
	if err != nil || got.ID != r.ID {
		t.Fatalf("bob reads his request: %+v, %v", got, err)
	}
	page, err := a.bob.ListApprovalRequests(ctx, ws, hangar.ApprovalFilter{Name: "m", Status: hangar.ApprovalPending}, hangar.ListOptions{})
	if err != nil || len(page.Items) != 1 || page.Items[0].ID != r.ID {
		t.Fatalf("list pending: %+v, %v", page, err)
	}

	// Approving takes approvals/approve, which a Data Scientist lacks.
	_, err = a.bob.DecideApproval(ctx, ws, r.ID, true, "self")
	wantErrCode(t, "bob approves", err, hangar.EFORBIDDEN)
	// An Approver may not approve their own request.
	own, err := a.erin.RequestApproval(ctx, hangar.NewApprovalRequest{Workspace: ws, Name: "m", Version: "2", Alias: "production"})
	if err != nil {
		t.Fatalf("erin requests: %v", err)
	}
	before := a.snapshot()
	_, err = a.erin.DecideApproval(ctx, ws, own.ID, true, "looks fine to me")
	wantErrCode(t, "erin approves her own request", err, hangar.EFORBIDDEN)
	if err != nil && !strings.Contains(err.Error(), "erin requested approval request "+own.ID+" and may not decide it") {
		t.Errorf("own approval: got %q, want it to say why", err)
	}
	_, err = a.erin.DecideApproval(ctx, ws, own.ID, false, "never mind")
	wantErrCode(t, "erin rejects her own request", err, hangar.EFORBIDDEN)
	if after := a.snapshot(); after != before {
		t.Errorf("refused self-decision changed the state:\n%s\n%s", before, after)
	}
	a.wantProduction(t, "1")

	// Another Approver approves: the alias moves, the decision is recorded.
	d, err := a.erin.DecideApproval(ctx, ws, r.ID, true, "metrics checked")
	if err != nil {
		t.Fatalf("approve: %v", err)
	}
	if d.Status != hangar.ApprovalApproved || d.DecidedBy != "erin" || d.DecisionComment != "metrics checked" || d.PreviousVersion != "1" || d.DecidedAt == nil {
		t.Errorf("approve: got %+v", d)
	}
	a.wantProduction(t, "2")
	ev := a.events()
	if last := ev[len(ev)-1]; last.Action != hangar.ActApprovalApprove || last.Actor != "erin" || last.Target != "models/m/approvals/"+r.ID+"/approved" {
		t.Errorf("last event: got %+v", last)
	}
	if prev := ev[len(ev)-2]; prev.Action != hangar.ActModelWrite || prev.Actor != "erin" || prev.Target != "models/m/aliases/production" {
		t.Errorf("alias event: got %+v", prev)
	}
	_, err = a.carol.DecideApproval(ctx, ws, r.ID, false, "too late")
	wantErrCode(t, "reject an approved request", err, hangar.ECONFLICT)

	// Rejecting: the other request, by carol.
	rej, err := a.carol.DecideApproval(ctx, ws, own.ID, false, "one at a time")
	if err != nil || rej.Status != hangar.ApprovalRejected || rej.DecidedBy != "carol" {
		t.Fatalf("reject: %+v, %v", rej, err)
	}
	a.wantProduction(t, "2")

	// Bad input on the edge.
	for _, tc := range []struct{ name, body, code string }{
		{"bad expiry", `{"name":"m","version":"2","alias":"production","expires_in":"soon"}`, hangar.EINVALID},
		{"zero expiry", `{"name":"m","version":"2","alias":"production","expires_in":"0s"}`, hangar.EINVALID},
		{"expiry too long", `{"name":"m","version":"2","alias":"production","expires_in":"1000h"}`, hangar.EINVALID},
		{"unknown field", `{"name":"m","version":"2","alias":"production","approver":"me"}`, hangar.EINVALID},
		{"unprotected alias", `{"name":"m","version":"2","alias":"staging"}`, hangar.EINVALID},
		{"missing version", `{"name":"m","version":"7","alias":"production"}`, hangar.ENOTFOUND},
	} {
		resp := a.do(http.MethodPost, "/api/v1/workspaces/default/approvals", a.bobToken, tc.body, "Content-Type", "application/json")
		if code, msg := resp.envelope(t); code != tc.code {
			t.Errorf("%s: got %s %q, want %s", tc.name, code, msg, tc.code)
		}
	}
	_, err = a.bob.ListApprovalRequests(ctx, ws, hangar.ApprovalFilter{Status: "done"}, hangar.ListOptions{})
	wantErrCode(t, "list with a bad status", err, hangar.EINVALID)
}

// TestApprovalExpiredRefused: an expired request is refused and changes
// nothing; it lists as expired.
func TestApprovalExpiredRefused(t *testing.T) {
	a := newApprovalEnv(t)
	ctx := t.Context()
	r, err := a.bob.RequestApproval(ctx, hangar.NewApprovalRequest{Workspace: hangar.DefaultWorkspace, Name: "m", Version: "2", Alias: "production", ExpiresIn: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	a.db.Now = func() time.Time { return time.Now().Add(2 * time.Minute) }
	before := a.snapshot()
	_, err = a.carol.DecideApproval(ctx, hangar.DefaultWorkspace, r.ID, true, "ok")
	wantErrCode(t, "approve expired", err, hangar.ECONFLICT)
	if err != nil && !strings.Contains(err.Error(), "expired at") {
		t.Errorf("approve expired: got %q, want it to say when it expired", err)
	}
	if after := a.snapshot(); after != before {
		t.Errorf("refused approval changed the state")
	}
	a.wantProduction(t, "1")
	page, err := a.carol.ListApprovalRequests(ctx, hangar.DefaultWorkspace, hangar.ApprovalFilter{Status: hangar.ApprovalExpired}, hangar.ListOptions{})
	if err != nil || len(page.Items) != 1 || page.Items[0].Status != hangar.ApprovalExpired {
		t.Errorf("list expired: %+v, %v", page, err)
	}
}

// TestProtectedAliasOnMLflowRoutes: the MLflow alias routes refuse to move
// or delete a protected alias with PERMISSION_DENIED, whoever asks, and
// serve unprotected ones as before.
func TestProtectedAliasOnMLflowRoutes(t *testing.T) {
	a := newApprovalEnv(t)
	owner := a.adminToken()
	for _, path := range []string{"/api/2.0/mlflow/registered-models/alias", "/ajax-api/2.0/mlflow/registered-models/alias", "/w/default/api/2.0/mlflow/registered-models/alias"} {
		for _, tc := range []struct{ method, body string }{
			{http.MethodPost, `{"name":"m","alias":"production","version":"2"}`},
			{http.MethodDelete, `{"name":"m","alias":"production"}`},
		} {
			for _, tok := range []string{owner, a.bobToken} {
				before := a.snapshot()
				resp := a.do(tc.method, path, tok, tc.body, "Content-Type", "application/json")
				var env struct {
					ErrorCode string `json:"error_code"`
					Message   string `json:"message"`
				}
				json.Unmarshal(resp.body, &env)
				if resp.status != http.StatusForbidden || env.ErrorCode != "PERMISSION_DENIED" ||
					!strings.Contains(env.Message, `alias "production" is protected`) || !strings.Contains(env.Message, "hangar model request-approval -n m") {
					t.Errorf("%s %s: got %d %s %q, want 403 PERMISSION_DENIED naming the alias and how to ask", tc.method, path, resp.status, env.ErrorCode, env.Message)
				}
				if after := a.snapshot(); after != before {
					t.Errorf("%s %s: refused alias change changed the state", tc.method, path)
				}
				a.wantProduction(t, "1")
			}
		}
	}
	// Deleting the version or the model a protected alias points at would
	// drop the alias: refused the same way, nothing changed.
	for _, tc := range []struct{ path, body string }{
		{"/api/2.0/mlflow/model-versions/delete", `{"name":"m","version":"1"}`},
		{"/api/2.0/mlflow/registered-models/delete", `{"name":"m"}`},
	} {
		before := a.snapshot()
		resp := a.do(http.MethodDelete, tc.path, owner, tc.body, "Content-Type", "application/json")
		if resp.status != http.StatusForbidden || !strings.Contains(string(resp.body), `alias \"production\" is protected`) {
			t.Errorf("DELETE %s: got %d %s, want 403 naming the protected alias", tc.path, resp.status, resp.body)
		}
		if after := a.snapshot(); after != before {
			t.Errorf("DELETE %s: refused delete changed the state", tc.path)
		}
		a.wantProduction(t, "1")
	}

	// Unprotected aliases move as before; an unprotected one moves freely.
	if resp := a.do(http.MethodPost, "/api/2.0/mlflow/registered-models/alias", a.bobToken, `{"name":"m","alias":"staging","version":"2"}`, "Content-Type", "application/json"); resp.status != http.StatusOK {
		t.Errorf("set unprotected alias: %d %s", resp.status, resp.body)
	}
	// A bad alias still gets the registry's own error.
	if resp := a.do(http.MethodPost, "/api/2.0/mlflow/registered-models/alias", a.bobToken, `{"name":"m","alias":"latest","version":"2"}`, "Content-Type", "application/json"); resp.status != http.StatusBadRequest {
		t.Errorf("set reserved alias: %d %s, want 400", resp.status, resp.body)
	}
	if err := a.admin.UnprotectAlias(t.Context(), hangar.DefaultWorkspace, "production"); err != nil {
		t.Fatal(err)
	}
	if resp := a.do(http.MethodPost, "/api/2.0/mlflow/registered-models/alias", a.bobToken, `{"name":"m","alias":"production","version":"2"}`, "Content-Type", "application/json"); resp.status != http.StatusOK {
		t.Errorf("set unprotected production: %d %s", resp.status, resp.body)
	}
	a.wantProduction(t, "2")
}

// TestProtectAliasRoles: only Owner protects and unprotects; everyone who
// reads models lists the protections.
func TestProtectAliasRoles(t *testing.T) {
	a := newApprovalEnv(t)
	ctx := t.Context()
	ws := hangar.DefaultWorkspace
	contributor := a.client("connie", hangar.RoleContributor, ws)
	for name, c := range map[string]*httpapi.Client{"data scientist": a.bob, "approver": a.carol, "contributor": contributor} {
		_, err := c.ProtectAlias(ctx, ws, "champion")
		wantErrCode(t, name+" protects", err, hangar.EFORBIDDEN)
		wantErrCode(t, name+" unprotects", c.UnprotectAlias(ctx, ws, "production"), hangar.EFORBIDDEN)
		page, err := c.ListProtectedAliases(ctx, ws, hangar.ListOptions{})
		if err != nil || len(page.Items) != 1 || page.Items[0].Alias != "production" || page.Items[0].CreatedBy != "admin" {
			t.Errorf("%s lists: %+v, %v", name, page, err)
		}
		if p, err := c.ProtectedAlias(ctx, ws, "production"); err != nil || p.Alias != "production" {
			t.Errorf("%s gets: %+v, %v", name, p, err)
		}
	}
	_, err := a.admin.ProtectedAlias(ctx, ws, "staging")
	wantErrCode(t, "get unprotected", err, hangar.ENOTFOUND)
	_, err = a.admin.ProtectAlias(ctx, ws, "production")
	wantErrCode(t, "protect twice", err, hangar.ECONFLICT)
	wantErrCode(t, "unprotect unprotected", a.admin.UnprotectAlias(ctx, ws, "staging"), hangar.ENOTFOUND)
	// A contributor may ask (models/write) but not decide.
	r, err := contributor.RequestApproval(ctx, hangar.NewApprovalRequest{Workspace: ws, Name: "m", Version: "2", Alias: "production"})
	if err != nil {
		t.Fatalf("contributor requests: %v", err)
	}
	_, err = contributor.DecideApproval(ctx, ws, r.ID, true, "ok")
	wantErrCode(t, "contributor approves", err, hangar.EFORBIDDEN)
	_, err = a.carol.RequestApproval(ctx, hangar.NewApprovalRequest{Workspace: ws, Name: "m", Version: "2", Alias: "production"})
	wantErrCode(t, "pure Approver requests", err, hangar.EFORBIDDEN)
}
