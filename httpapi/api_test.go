package httpapi_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/disk"
	"github.com/hangar-ml/hangar/httpapi"
)

// TestClientRoundTrip drives every route's happy path through the client.
func TestClientRoundTrip(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	c := e.admin

	if err := c.Health(ctx); err != nil {
		t.Fatalf("Health: %v", err)
	}
	if err := c.Ready(ctx); err != nil {
		t.Fatalf("Ready: %v", err)
	}

	// Workspaces.
	ws := &hangar.Workspace{Name: "team-a", DisplayName: "Team A", Description: "d", Tags: map[string]string{"env": "dev"}}
	if err := c.CreateWorkspace(ctx, ws); err != nil {
		t.Fatalf("CreateWorkspace: %v", err)
	}
	if ws.CreatedAt.IsZero() || ws.CreatedBy != "admin" {
		t.Errorf("created workspace %+v: want CreatedAt and CreatedBy admin filled in", ws)
	}
	got, err := c.Workspace(ctx, "team-a")
	if err != nil || got.DisplayName != "Team A" || got.Tags["env"] != "dev" {
		t.Fatalf("Workspace = %+v, %v", got, err)
	}
	wsPage, err := c.ListWorkspaces(ctx, hangar.ListOptions{})
	if err != nil {
		t.Fatalf("ListWorkspaces: %v", err)
	}
	if names := workspaceNames(wsPage.Items); !slices.Equal(names, []string{"default", "team-a"}) {
		t.Errorf("ListWorkspaces = %v, want [default team-a]", names)
	}
	if err := c.CreateWorkspace(ctx, &hangar.Workspace{Name: "team-a"}); hangar.ErrorCode(err) != hangar.ECONFLICT {
		t.Errorf("CreateWorkspace twice: %v, want conflict", err)
	}

	// Roles, tokens, identities, role assignments.
	roles, err := c.ListRoles(ctx)
	if err != nil || len(roles) != len(hangar.BuiltinRoles()) || roles[0].Name != hangar.RoleOwner {
		t.Fatalf("ListRoles = %v, %v", roles, err)
	}
	exp := time.Now().Add(time.Hour).Truncate(time.Second)
	issued, err := c.IssueToken(ctx, &hangar.TokenRequest{Name: "ci", Role: "reader", Workspace: "team-a", ExpiresAt: &exp})
	if err != nil {
		t.Fatalf("IssueToken: %v", err)
	}
	if !hangar.LooksLikeTokenSecret(issued.Secret) || issued.IdentityName != "ci" || !strings.HasPrefix(issued.Secret, issued.Prefix) {
		t.Errorf("IssueToken = %+v", issued)
	}
	if issued.ExpiresAt == nil || !issued.ExpiresAt.Equal(exp) {
		t.Errorf("token expires %v, want %v", issued.ExpiresAt, exp)
	}
	ci := httpapi.NewClient(e.srv.URL, issued.Secret)
	if _, err := ci.Workspace(ctx, "team-a"); err != nil {
		t.Errorf("the issued token cannot read its workspace: %v", err)
	}
	toks, err := c.ListTokens(ctx, hangar.TokenFilter{}, hangar.ListOptions{})
	if err != nil || !slices.ContainsFunc(toks.Items, func(tk *hangar.Token) bool { return tk.ID == issued.ID }) {
		t.Fatalf("ListTokens = %v, %v; want the issued token", toks, err)
	}
	for _, tk := range toks.Items {
		if b, _ := jsonString(tk); strings.Contains(b, issued.Secret) {
			t.Errorf("ListTokens returns the secret")
		}
	}
	ids, err := c.ListIdentities(ctx, hangar.ListOptions{})
	if err != nil {
		t.Fatalf("ListIdentities: %v", err)
	}
	if names := identityNames(ids.Items); !slices.Equal(names, []string{"admin", "ci"}) {
		t.Errorf("ListIdentities = %v, want [admin ci]", names)
	}
	a := &hangar.RoleAssignment{IdentityName: "ci", Role: "Data Scientist", Workspace: "default"}
	if err := c.AssignRole(ctx, a); err != nil {
		t.Fatalf("AssignRole: %v", err)
	}
	if a.ID == "" || a.IdentityID != issued.IdentityID || a.CreatedAt.IsZero() {
		t.Errorf("AssignRole filled in %+v", a)
	}
	asg, err := c.ListRoleAssignments(ctx, hangar.RoleAssignmentFilter{IdentityName: "ci"}, hangar.ListOptions{})
	if err != nil || len(asg.Items) != 2 {
		t.Fatalf("ListRoleAssignments(ci) = %v, %v; want 2", asg, err)
	}
	asg, err = c.ListRoleAssignments(ctx, hangar.RoleAssignmentFilter{Workspace: "default"}, hangar.ListOptions{})
	if err != nil || len(asg.Items) != 1 || asg.Items[0].ID != a.ID {
		t.Fatalf("ListRoleAssignments(default) = %v, %v; want the one assignment", asg, err)
	}
	if id, err := c.IdentityByName(ctx, "ci"); err != nil || id.ID != issued.IdentityID || id.Kind != hangar.KindServicePrincipal {
		t.Fatalf("IdentityByName(ci) = %+v, %v", id, err)
	}
	if _, err := c.IdentityByName(ctx, "nobody"); hangar.ErrorCode(err) != hangar.ENOTFOUND {
		t.Errorf("IdentityByName(nobody): %v, want not found", err)
	}
	user := &hangar.Identity{Name: "carol", Kind: hangar.KindUser}
	if err := c.CreateIdentity(ctx, user); err != nil || user.ID == "" || user.CreatedAt.IsZero() {
		t.Fatalf("CreateIdentity = %+v, %v", user, err)
	}
	if err := c.CreateIdentity(ctx, &hangar.Identity{Name: "carol", Kind: hangar.KindUser}); hangar.ErrorCode(err) != hangar.ECONFLICT {
		t.Errorf("CreateIdentity twice: %v, want conflict", err)
	}
	if got, err := c.Token(ctx, issued.ID); err != nil || got.ID != issued.ID || got.Workspace != "team-a" || got.IdentityName != "ci" {
		t.Fatalf("Token = %+v, %v", got, err)
	}
	if err := c.RemoveRoleAssignment(ctx, a.ID); err != nil {
		t.Fatalf("RemoveRoleAssignment: %v", err)
	}
	if err := c.RemoveRoleAssignment(ctx, a.ID); hangar.ErrorCode(err) != hangar.ENOTFOUND {
		t.Errorf("RemoveRoleAssignment twice: %v, want not found", err)
	}

	// Secrets.
	sec, err := c.SetSecret(ctx, "team-a", "db-password", []byte("s3cr3t-value"))
	if err != nil || sec.Version != 1 || sec.Name != "db-password" {
		t.Fatalf("SetSecret = %+v, %v", sec, err)
	}
	if sec, err = c.SetSecret(ctx, "team-a", "db-password", []byte("s3cr3t-value-2")); err != nil || sec.Version != 2 {
		t.Fatalf("SetSecret again = %+v, %v; want version 2", sec, err)
	}
	if sec, err = c.Secret(ctx, "team-a", "db-password"); err != nil || sec.Version != 2 {
		t.Fatalf("Secret = %+v, %v", sec, err)
	}
	secs, err := c.ListSecrets(ctx, "team-a", hangar.ListOptions{})
	if err != nil || len(secs.Items) != 1 {
		t.Fatalf("ListSecrets = %v, %v", secs, err)
	}
	if v, err := c.RevealSecret(ctx, "team-a", "db-password"); err != nil || string(v) != "s3cr3t-value-2" {
		t.Fatalf("RevealSecret = %q, %v", v, err)
	}
	if err := c.GrantSecret(ctx, "team-a", "db-password", "ci"); err != nil {
		t.Fatalf("GrantSecret: %v", err)
	}
	if sec, _ = c.Secret(ctx, "team-a", "db-password"); !slices.Contains(sec.Grants, "ci") {
		t.Errorf("grants %v, want ci", sec.Grants)
	}
	// ci is a Reader: the grant alone lets it reveal.
	if v, err := ci.RevealSecret(ctx, "team-a", "db-password"); err != nil || string(v) != "s3cr3t-value-2" {
		t.Fatalf("granted RevealSecret = %q, %v", v, err)
	}
	if err := c.RevokeSecretGrant(ctx, "team-a", "db-password", "ci"); err != nil {
		t.Fatalf("RevokeSecretGrant: %v", err)
	}
	if _, err := ci.RevealSecret(ctx, "team-a", "db-password"); hangar.ErrorCode(err) != hangar.EFORBIDDEN {
		t.Fatalf("RevealSecret after the grant is revoked: %v, want forbidden", err)
	}
	if err := c.DeleteSecret(ctx, "team-a", "db-password"); err != nil {
		t.Fatalf("DeleteSecret: %v", err)
	}
	if _, err := c.Secret(ctx, "team-a", "db-password"); hangar.ErrorCode(err) != hangar.ENOTFOUND {
		t.Errorf("Secret after delete: %v, want not found", err)
	}

	// Blobs.
	content := bytes.Repeat([]byte("hangar blob "), 10000)
	sum := sha256.Sum256(content)
	want := hangar.Digest("sha256:" + hex.EncodeToString(sum[:]))
	info, err := c.PutBlob(ctx, "team-a", bytes.NewReader(content))
	if err != nil || info.Digest != want || info.Size != int64(len(content)) {
		t.Fatalf("PutBlob = %+v, %v; want %s", info, err, want)
	}
	if ev := e.events(); ev[len(ev)-1].Action != hangar.ActArtifactWrite || ev[len(ev)-1].Target != "blobs/"+string(want) ||
		ev[len(ev)-1].Workspace != "team-a" || ev[len(ev)-1].Actor != "admin" {
		t.Errorf("last event after PutBlob %+v, want artifacts/write of blobs/%s in team-a by admin", ev[len(ev)-1], want)
	}
	rc, err := c.OpenBlob(ctx, "team-a", info.Digest)
	if err != nil {
		t.Fatalf("OpenBlob: %v", err)
	}
	back, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(back, content) {
		t.Fatalf("OpenBlob returned %d bytes (%v), want the %d put", len(back), err, len(content))
	}
	if st, err := c.BlobStore("team-a").Stat(ctx, info.Digest); err != nil || st.Size != info.Size {
		t.Errorf("Stat = %+v, %v", st, err)
	}
	missing := hangar.Digest("sha256:" + strings.Repeat("0", 64))
	if _, err := c.OpenBlob(ctx, "team-a", missing); hangar.ErrorCode(err) != hangar.ENOTFOUND {
		t.Errorf("OpenBlob(missing): %v, want not found", err)
	}
	r := e.do(http.MethodGet, "/api/v1/workspaces/team-a/blobs/"+string(info.Digest), e.adminToken(), "")
	if r.header.Get("ETag") != `"`+string(info.Digest)+`"` || r.header.Get("Content-Length") != "120000" {
		t.Errorf("blob headers %v", r.header)
	}

	// Audit.
	events, err := c.ListEvents(ctx, hangar.EventFilter{Workspace: "team-a"}, hangar.ListOptions{})
	if err != nil || len(events.Items) == 0 {
		t.Fatalf("ListEvents(team-a) = %v, %v", events, err)
	}
	for _, ev := range events.Items {
		if ev.Workspace != "team-a" {
			t.Errorf("event %+v outside the filtered workspace", ev)
		}
	}
	reveals, err := c.ListEvents(ctx, hangar.EventFilter{Target: "secrets/"}, hangar.ListOptions{})
	if err != nil || !slices.ContainsFunc(reveals.Items, func(ev *hangar.Event) bool { return ev.Action == hangar.ActSecretReveal && ev.Actor == "ci" }) {
		t.Errorf("ListEvents(secrets/) lacks ci's reveal: %v, %v", eventActions(reveals), err)
	}
	since := events.Items[len(events.Items)-1].Time
	later, err := c.ListEvents(ctx, hangar.EventFilter{Since: since}, hangar.ListOptions{})
	if err != nil || len(later.Items) == 0 || later.Items[0].Time.Before(since) {
		t.Errorf("ListEvents(since) = %v, %v", eventActions(later), err)
	}
	v, err := c.VerifyAudit(ctx)
	if err != nil || !v.OK || v.Events == 0 {
		t.Fatalf("VerifyAudit = %+v, %v", v, err)
	}

	// Revoking a token locks it out.
	if err := c.RevokeToken(ctx, issued.ID); err != nil {
		t.Fatalf("RevokeToken: %v", err)
	}
	if _, err := ci.Workspace(ctx, "team-a"); hangar.ErrorCode(err) != hangar.EUNAUTHORIZED {
		t.Errorf("revoked token: %v, want unauthorized", err)
	}
	if err := c.RevokeToken(ctx, issued.ID); hangar.ErrorCode(err) != hangar.ECONFLICT {
		t.Errorf("RevokeToken twice: %v, want conflict", err)
	}

	// Deleting the workspace.
	if err := c.DeleteWorkspace(ctx, "team-a"); err != nil {
		t.Fatalf("DeleteWorkspace: %v", err)
	}
	if _, err := c.Workspace(ctx, "team-a"); hangar.ErrorCode(err) != hangar.ENOTFOUND {
		t.Errorf("Workspace after delete: %v, want not found", err)
	}
	if err := c.DeleteWorkspace(ctx, "default"); hangar.ErrorCode(err) != hangar.ECONFLICT {
		t.Errorf("DeleteWorkspace(default): %v, want conflict", err)
	}
}

// TestPagination pages through every list with max_results=1.
func TestPagination(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	c := e.admin
	for _, n := range []string{"ws-1", "ws-2", "ws-3"} {
		e.createWorkspace(n)
		if _, err := c.SetSecret(ctx, "ws-1", "s-"+n, []byte("v")); err != nil {
			t.Fatal(err)
		}
	}
	e.client("pager", hangar.RoleReader, "ws-1")

	collect := func(list func(opt hangar.ListOptions) ([]string, string, error)) []string {
		t.Helper()
		var all []string
		opt := hangar.ListOptions{MaxResults: 1}
		for i := 0; ; i++ {
			items, next, err := list(opt)
			if err != nil {
				t.Fatalf("page %d: %v", i, err)
			}
			if len(items) > 1 {
				t.Fatalf("page %d has %d items, want at most 1", i, len(items))
			}
			all = append(all, items...)
			if next == "" {
				return all
			}
			if i > 20 {
				t.Fatal("pagination does not end")
			}
			opt.PageToken = next
		}
	}
	gotWS := collect(func(opt hangar.ListOptions) ([]string, string, error) {
		p, err := c.ListWorkspaces(ctx, opt)
		if err != nil {
			return nil, "", err
		}
		return workspaceNames(p.Items), p.NextPageToken, nil
	})
	if want := []string{"default", "ws-1", "ws-2", "ws-3"}; !slices.Equal(gotWS, want) {
		t.Errorf("workspaces %v, want %v", gotWS, want)
	}
	gotSecrets := collect(func(opt hangar.ListOptions) ([]string, string, error) {
		p, err := c.ListSecrets(ctx, "ws-1", opt)
		if err != nil {
			return nil, "", err
		}
		var names []string
		for _, s := range p.Items {
			names = append(names, s.Name)
		}
		return names, p.NextPageToken, nil
	})
	if want := []string{"s-ws-1", "s-ws-2", "s-ws-3"}; !slices.Equal(gotSecrets, want) {
		t.Errorf("secrets %v, want %v", gotSecrets, want)
	}
	gotIDs := collect(func(opt hangar.ListOptions) ([]string, string, error) {
		p, err := c.ListIdentities(ctx, opt)
		if err != nil {
			return nil, "", err
		}
		return identityNames(p.Items), p.NextPageToken, nil
	})
	if want := []string{"admin", "pager"}; !slices.Equal(gotIDs, want) {
		t.Errorf("identities %v, want %v", gotIDs, want)
	}
	gotToks := collect(func(opt hangar.ListOptions) ([]string, string, error) {
		p, err := c.ListTokens(ctx, hangar.TokenFilter{}, opt)
		if err != nil {
			return nil, "", err
		}
		var names []string
		for _, tk := range p.Items {
			names = append(names, tk.IdentityName)
		}
		return names, p.NextPageToken, nil
	})
	if len(gotToks) != 2 {
		t.Errorf("tokens %v, want 2", gotToks)
	}
	gotRoles := collect(func(opt hangar.ListOptions) ([]string, string, error) {
		p, err := c.ListRolesPage(ctx, opt)
		if err != nil {
			return nil, "", err
		}
		var names []string
		for _, r := range p.Items {
			names = append(names, r.Name)
		}
		return names, p.NextPageToken, nil
	})
	var wantRoles []string
	for _, r := range hangar.BuiltinRoles() {
		wantRoles = append(wantRoles, r.Name)
	}
	if !slices.Equal(gotRoles, wantRoles) {
		t.Errorf("roles %v, want %v", gotRoles, wantRoles)
	}
	gotEvents := collect(func(opt hangar.ListOptions) ([]string, string, error) {
		p, err := c.ListEvents(ctx, hangar.EventFilter{Workspace: "ws-2"}, opt)
		if err != nil {
			return nil, "", err
		}
		return eventActions(p), p.NextPageToken, nil
	})
	if len(gotEvents) == 0 {
		t.Errorf("no events for ws-2")
	}
}

// TestScopedWorkspaceList: identities without server-wide read see the
// workspaces they hold an assignment on, paged — with a server-wide token;
// a token scoped to one workspace sees that one only.
func TestScopedWorkspaceList(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	for _, n := range []string{"aaa", "bbb", "ccc", "ddd"} {
		e.createWorkspace(n)
	}
	// A server-wide token whose identity then trades its server-wide role
	// for roles on three workspaces.
	c := e.client("scoped", hangar.RoleApprover, "")
	narrow := e.client("scoped", hangar.RoleApprover, "bbb")
	for _, a := range []struct{ role, ws string }{{hangar.RoleReader, "bbb"}, {hangar.RoleApprover, "ddd"}, {hangar.RoleApprover, "aaa"}} {
		if err := e.admin.AssignRole(ctx, &hangar.RoleAssignment{IdentityName: "scoped", Role: a.role, Workspace: a.ws}); err != nil {
			t.Fatal(err)
		}
	}
	if asg, err := e.admin.ListRoleAssignments(ctx, hangar.RoleAssignmentFilter{IdentityName: "scoped", Workspace: ""}, hangar.ListOptions{}); err != nil {
		t.Fatal(err)
	} else {
		for _, a := range asg.Items {
			if a.Workspace == "" {
				if err := e.admin.RemoveRoleAssignment(ctx, a.ID); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if one, err := narrow.ListWorkspaces(ctx, hangar.ListOptions{}); err != nil || !slices.Equal(workspaceNames(one.Items), []string{"bbb"}) {
		t.Errorf("a token scoped to bbb lists %v, %v; want [bbb]", one, err)
	}
	all, err := c.ListWorkspaces(ctx, hangar.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := workspaceNames(all.Items), []string{"aaa", "bbb", "ddd"}; !slices.Equal(got, want) || all.NextPageToken != "" {
		t.Errorf("ListWorkspaces = %v (next %q), want %v", got, all.NextPageToken, want)
	}
	p1, err := c.ListWorkspaces(ctx, hangar.ListOptions{MaxResults: 2})
	if err != nil || p1.NextPageToken == "" {
		t.Fatalf("first page %v, %v; want a next page", p1, err)
	}
	p2, err := c.ListWorkspaces(ctx, hangar.ListOptions{MaxResults: 2, PageToken: p1.NextPageToken})
	if err != nil {
		t.Fatal(err)
	}
	if got := append(workspaceNames(p1.Items), workspaceNames(p2.Items)...); !slices.Equal(got, []string{"aaa", "bbb", "ddd"}) || p2.NextPageToken != "" {
		t.Errorf("pages %v (next %q), want aaa bbb ddd", got, p2.NextPageToken)
	}
	if _, err := c.ListWorkspaces(ctx, hangar.ListOptions{PageToken: "garbage"}); hangar.ErrorCode(err) != hangar.EINVALID {
		t.Errorf("bad page token: %v, want invalid", err)
	}
}

func workspaceNames(ws []*hangar.Workspace) []string {
	var out []string
	for _, w := range ws {
		out = append(out, w.Name)
	}
	return out
}

func identityNames(ids []*hangar.Identity) []string {
	var out []string
	for _, id := range ids {
		out = append(out, id.Name)
	}
	return out
}

func eventActions(p *hangar.Page[*hangar.Event]) []string {
	if p == nil {
		return nil
	}
	var out []string
	for _, ev := range p.Items {
		out = append(out, ev.Action+" "+ev.Target)
	}
	return out
}

// TestBlobsNeedAnIndex: a server with an artifact store but no blob index,
// which audits its uploads and says which workspace owns them, refuses to
// build its handler.
func TestBlobsNeedAnIndex(t *testing.T) {
	s := httpapi.NewServer()
	s.Blobs = disk.New(t.TempDir())
	defer func() {
		v := recover()
		if msg, _ := v.(string); !strings.Contains(msg, "Server.BlobIndex is nil") || !strings.Contains(msg, "not be audited") {
			t.Errorf("Handler without BlobIndex: recovered %v, want a panic naming Server.BlobIndex and the unaudited uploads", v)
		}
	}()
	s.Handler()
}

// TestClientRefusesEmptyNames: a name or id left empty is refused by the
// client with a clear error, not sent as a path the server does not route.
func TestClientRefusesEmptyNames(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name string
		call func() error
	}{
		{"workspace", func() error { _, err := e.admin.Workspace(t.Context(), ""); return err }},
		{"job", func() error { _, err := e.admin.Job(t.Context(), hangar.DefaultWorkspace, ""); return err }},
		{"endpoint", func() error { _, err := e.admin.OnlineEndpoint(t.Context(), hangar.DefaultWorkspace, ""); return err }},
		{"deployment", func() error {
			_, err := e.admin.OnlineDeployment(t.Context(), hangar.DefaultWorkspace, "", "blue")
			return err
		}},
	} {
		err := tc.call()
		if hangar.ErrorCode(err) != hangar.EINVALID || !strings.Contains(err.Error(), "a name or id in the request is empty") {
			t.Errorf("%s: got %v, want EINVALID saying a name is empty", tc.name, err)
		}
	}
}
