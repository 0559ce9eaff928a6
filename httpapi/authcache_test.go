package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/httpapi"
	"github.com/hangar-ml/hangar/sqlstore"
)

// TestAuthCacheHonoursChanges checks that the server's cache of verified
// tokens and read workspaces never outlives a change: a token revoked, a
// role removed or a workspace deleted — by this server, by another server
// on the same database, or by a process writing the store directly as
// `hangar owner reset-token` does — acts on the very next request, after
// requests that filled the cache.
func TestAuthCacheHonoursChanges(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { testAuthCacheHonoursChanges(t, b.dsn(t)) })
	}
}

func testAuthCacheHonoursChanges(t *testing.T, dsn string) {
	ctx := t.Context()
	e := newEnvOn(t, dsn, nil)

	// Another server process: its own store handle and server.
	db2 := sqlstore.New(dsn)
	db2.Sealer = e.db.Sealer
	if err := db2.Open(ctx); err != nil {
		t.Fatalf("open second store handle: %v", err)
	}
	t.Cleanup(func() { db2.Close() })
	other := httpapi.NewServer()
	other.Workspaces = sqlstore.NewWorkspaceService(db2)
	ids2 := sqlstore.NewIdentityService(db2)
	other.Identities, other.Credentials = ids2, ids2
	other.Roles = sqlstore.NewRoleService(db2)
	other.Audit = sqlstore.NewAuditService(db2)
	other.Secrets = sqlstore.NewSecretService(db2)
	srv2 := httptest.NewServer(other.Handler())
	t.Cleanup(srv2.Close)
	otherAdmin := httpapi.NewClient(srv2.URL, e.adminToken())

	// A process that writes the store directly.
	db3 := sqlstore.New(dsn)
	db3.Sealer = e.db.Sealer
	if err := db3.Open(ctx); err != nil {
		t.Fatalf("open third store handle: %v", err)
	}
	t.Cleanup(func() { db3.Close() })
	direct := sqlstore.NewIdentityService(db3)
	directCtx := hangar.WithActor(ctx, hangar.Actor{IdentityID: "local", Name: "local:test"})

	issue := func(t *testing.T, name, role, workspace string) *hangar.IssuedToken {
		t.Helper()
		tok, err := e.admin.IssueToken(ctx, &hangar.TokenRequest{Name: name, Role: role, Workspace: workspace})
		if err != nil {
			t.Fatalf("issue token for %s: %v", name, err)
		}
		return tok
	}
	// get reads the workspace three times (the first fills the cache) and
	// wants status each time.
	get := func(t *testing.T, step, secret, ws string, status int) {
		t.Helper()
		for range 3 {
			if r := e.do("GET", "/api/v1/workspaces/"+ws, secret, ""); r.status != status {
				t.Fatalf("%s: GET workspace %s: got status %d, want %d (%s)", step, ws, r.status, status, r.body)
			}
		}
	}
	e.createWorkspace("ws1")
	e.createWorkspace("ws2")

	t.Run("revoked on this server", func(t *testing.T) {
		tok := issue(t, "rev-here", hangar.RoleReader, "ws1")
		get(t, "before", tok.Secret, "ws1", http.StatusOK)
		if err := e.admin.RevokeToken(ctx, tok.ID); err != nil {
			t.Fatal(err)
		}
		get(t, "after revoking", tok.Secret, "ws1", http.StatusUnauthorized)
	})
	t.Run("revoked on another server", func(t *testing.T) {
		tok := issue(t, "rev-other", hangar.RoleReader, "ws1")
		get(t, "before", tok.Secret, "ws1", http.StatusOK)
		if err := otherAdmin.RevokeToken(ctx, tok.ID); err != nil {
			t.Fatal(err)
		}
		get(t, "after revoking", tok.Secret, "ws1", http.StatusUnauthorized)
	})
	t.Run("revoked in the store directly", func(t *testing.T) {
		tok := issue(t, "rev-direct", hangar.RoleReader, "")
		get(t, "before", tok.Secret, "ws1", http.StatusOK)
		if err := direct.RevokeToken(directCtx, tok.ID); err != nil {
			t.Fatal(err)
		}
		get(t, "after revoking", tok.Secret, "ws1", http.StatusUnauthorized)
	})
	t.Run("role removed on another server", func(t *testing.T) {
		tok := issue(t, "role-other", hangar.RoleReader, "")
		get(t, "before", tok.Secret, "ws2", http.StatusOK)
		page, err := otherAdmin.ListRoleAssignments(ctx, hangar.RoleAssignmentFilter{IdentityName: "role-other"}, hangar.ListOptions{})
		if err != nil || len(page.Items) != 1 {
			t.Fatalf("assignments of role-other: got %v, %v; want one", page, err)
		}
		if err := otherAdmin.RemoveRoleAssignment(ctx, page.Items[0].ID); err != nil {
			t.Fatal(err)
		}
		get(t, "after removing the role", tok.Secret, "ws2", http.StatusForbidden)
	})
	t.Run("workspace deleted on another server", func(t *testing.T) {
		e.createWorkspace("ws3")
		tok := issue(t, "ws-other", hangar.RoleReader, "")
		get(t, "before", tok.Secret, "ws3", http.StatusOK)
		if err := otherAdmin.DeleteWorkspace(ctx, "ws3"); err != nil {
			t.Fatal(err)
		}
		get(t, "after deleting the workspace", tok.Secret, "ws3", http.StatusNotFound)
	})
	t.Run("workspace of a scoped token deleted on another server", func(t *testing.T) {
		e.createWorkspace("ws4")
		tok := issue(t, "scoped-w4", hangar.RoleReader, "ws4")
		get(t, "before", tok.Secret, "ws4", http.StatusOK)
		if err := otherAdmin.DeleteWorkspace(ctx, "ws4"); err != nil {
			t.Fatal(err)
		}
		if r := e.do("GET", "/api/v1/workspaces/ws4", tok.Secret, ""); r.status == http.StatusOK {
			t.Fatalf("after deleting the token's workspace: got status 200, want a refusal")
		}
	})
}
