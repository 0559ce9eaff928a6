package httpapi_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/hangar-ml/hangar"
)

// TestWorkspaceOwnerTokens: an Owner of one workspace lists and revokes the
// tokens that belong to it (every assignment of their identity is on it),
// and nothing else — not another workspace's, not a server-wide one, not
// one whose identity also holds a role elsewhere — without learning whether
// a token id it may not touch exists.
func TestWorkspaceOwnerTokens(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { testWorkspaceOwnerTokens(t, newEnvOn(t, b.dsn(t), nil)) })
	}
}

func testWorkspaceOwnerTokens(t *testing.T, e *env) {
	ctx := t.Context()
	e.createWorkspace("ws1")
	e.createWorkspace("ws2")
	w1owner := e.client("w1owner", hangar.RoleOwner, "ws1")
	w1reader := e.client("w1reader", hangar.RoleReader, "ws1")
	w2owner := e.client("w2owner", hangar.RoleOwner, "ws2")

	// Mint.
	w1bot, err := w1owner.IssueToken(ctx, &hangar.TokenRequest{Name: "w1bot", Role: hangar.RoleReader, Workspace: "ws1"})
	if err != nil {
		t.Fatalf("workspace owner issues a ws1 token: %v", err)
	}
	if w1bot.Workspace != "ws1" {
		t.Errorf("issued token: workspace %q, want ws1", w1bot.Workspace)
	}
	w2bot, err := w2owner.IssueToken(ctx, &hangar.TokenRequest{Name: "w2bot", Role: hangar.RoleReader, Workspace: "ws2"})
	if err != nil {
		t.Fatal(err)
	}
	mixed, err := e.admin.IssueToken(ctx, &hangar.TokenRequest{Name: "mixed", Role: hangar.RoleReader, Workspace: "ws1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.admin.AssignRole(ctx, &hangar.RoleAssignment{IdentityName: "mixed", Role: hangar.RoleReader, Workspace: "ws2"}); err != nil {
		t.Fatal(err)
	}
	all, err := e.admin.ListTokens(ctx, hangar.TokenFilter{}, hangar.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*hangar.Token{}
	for _, tok := range all.Items {
		byName[tok.IdentityName] = tok
	}
	if len(byName) != 7 || byName["admin"].Workspace != "" || byName["mixed"].Workspace != "" || byName["w2owner"].Workspace != "ws2" {
		t.Fatalf("admin lists %d tokens: %v", len(byName), byName)
	}

	// List.
	names := func(p *hangar.Page[*hangar.Token]) string {
		var n []string
		for _, tok := range p.Items {
			n = append(n, tok.IdentityName)
			if tok.Workspace != "ws1" {
				t.Errorf("token of %s listed for ws1 has workspace %q", tok.IdentityName, tok.Workspace)
			}
		}
		slices.Sort(n)
		return strings.Join(n, " ")
	}
	const ws1Tokens = "w1bot w1owner w1reader"
	for _, tc := range []struct {
		who  string
		list func() (*hangar.Page[*hangar.Token], error)
	}{
		{"workspace owner", func() (*hangar.Page[*hangar.Token], error) {
			return w1owner.ListTokens(ctx, hangar.TokenFilter{Workspace: "ws1"}, hangar.ListOptions{})
		}},
		{"workspace reader", func() (*hangar.Page[*hangar.Token], error) {
			return w1reader.ListTokens(ctx, hangar.TokenFilter{Workspace: "ws1"}, hangar.ListOptions{})
		}},
		{"server-wide owner", func() (*hangar.Page[*hangar.Token], error) {
			return e.admin.ListTokens(ctx, hangar.TokenFilter{Workspace: "ws1"}, hangar.ListOptions{})
		}},
	} {
		p, err := tc.list()
		if err != nil {
			t.Fatalf("%s lists ws1 tokens: %v", tc.who, err)
		}
		if got := names(p); got != ws1Tokens {
			t.Errorf("%s lists ws1 tokens of %s, want %s", tc.who, got, ws1Tokens)
		}
	}
	// Paged, the filter holds on every page.
	var paged []string
	opt := hangar.ListOptions{MaxResults: 1}
	for {
		p, err := w1owner.ListTokens(ctx, hangar.TokenFilter{Workspace: "ws1"}, opt)
		if err != nil {
			t.Fatal(err)
		}
		paged = append(paged, names(p))
		if p.NextPageToken == "" {
			break
		}
		opt.PageToken = p.NextPageToken
	}
	if slices.Sort(paged); strings.Join(paged, " ") != ws1Tokens {
		t.Errorf("ws1 tokens in pages of 1: %v, want %s", paged, ws1Tokens)
	}

	// Revoke.
	if err := w1owner.RevokeToken(ctx, w1bot.ID); err != nil {
		t.Fatalf("workspace owner revokes a ws1 token: %v", err)
	}
	if ev := e.events(); ev[len(ev)-1].Action != hangar.ActTokenDelete || ev[len(ev)-1].Workspace != "ws1" {
		t.Errorf("revoke event: %+v, want tokens/delete on ws1", ev[len(ev)-1])
	}
	if got, err := e.api.Identities.Token(ctx, w1bot.ID); err != nil || got.RevokedAt == nil {
		t.Errorf("w1bot after revoke: %+v, %v", got, err)
	}
	if r := e.do("GET", "/api/v1/workspaces/ws1", w1bot.Secret, ""); r.status != 401 {
		t.Errorf("revoked token used: status %d, want 401", r.status)
	}
	if err := w1owner.RevokeToken(ctx, w1bot.ID); hangar.ErrorCode(err) != hangar.ECONFLICT {
		t.Errorf("workspace owner revokes a ws1 token twice: %v, want conflict", err)
	}

	// Refused: with 403 and the same message whether or not the id exists.
	const noDelete = "identity w1owner lacks tokens/delete server-wide"
	for _, tc := range []struct{ name, id string }{
		{"another workspace's token", w2bot.ID},
		{"another workspace's owner token", byName["w2owner"].ID},
		{"a server-wide token", byName["admin"].ID},
		{"a token whose identity holds roles on two workspaces", mixed.ID},
		{"a missing token", "0123456789abcdef0123456789abcdef"},
		{"a malformed id", "no such id"},
	} {
		err := w1owner.RevokeToken(ctx, tc.id)
		if hangar.ErrorCode(err) != hangar.EFORBIDDEN || hangar.ErrorMessage(err) != noDelete {
			t.Errorf("workspace owner revokes %s: %v, want forbidden %q", tc.name, err, noDelete)
		}
	}
	if err := w1reader.RevokeToken(ctx, byName["w1owner"].ID); hangar.ErrorCode(err) != hangar.EFORBIDDEN {
		t.Errorf("workspace reader revokes a ws1 token: %v, want forbidden", err)
	}
	for _, tc := range []struct {
		name string
		f    hangar.TokenFilter
		want string
	}{
		{"every token", hangar.TokenFilter{}, "identity w1owner lacks tokens/read server-wide"},
		{"another workspace's", hangar.TokenFilter{Workspace: "ws2"}, "identity w1owner lacks tokens/read on workspace ws2"},
	} {
		_, err := w1owner.ListTokens(ctx, tc.f, hangar.ListOptions{})
		if hangar.ErrorCode(err) != hangar.EFORBIDDEN || hangar.ErrorMessage(err) != tc.want {
			t.Errorf("workspace owner lists %s: %v, want forbidden %q", tc.name, err, tc.want)
		}
	}
	for id, tok := range byName {
		if id == "w1bot" {
			continue
		}
		if got, err := e.api.Identities.Token(ctx, tok.ID); err != nil || got.RevokedAt != nil {
			t.Errorf("token of %s after refused revocations: %+v, %v", id, got, err)
		}
	}

	// A role elsewhere takes a token out of the workspace.
	if err := e.admin.AssignRole(ctx, &hangar.RoleAssignment{IdentityName: "w1reader", Role: hangar.RoleReader}); err != nil {
		t.Fatal(err)
	}
	if err := w1owner.RevokeToken(ctx, byName["w1reader"].ID); hangar.ErrorCode(err) != hangar.EFORBIDDEN {
		t.Errorf("workspace owner revokes a token that became server-wide: %v, want forbidden", err)
	}
	p, err := w1owner.ListTokens(ctx, hangar.TokenFilter{Workspace: "ws1"}, hangar.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := names(p); got != "w1bot w1owner" {
		t.Errorf("ws1 tokens after w1reader got a server-wide role: %s", got)
	}

	// The server-wide owner still revokes anything, and learns of missing ids.
	if err := e.admin.RevokeToken(ctx, mixed.ID); err != nil {
		t.Errorf("server-wide owner revokes a mixed token: %v", err)
	}
	if err := e.admin.RevokeToken(ctx, "0123456789abcdef0123456789abcdef"); hangar.ErrorCode(err) != hangar.ENOTFOUND {
		t.Errorf("server-wide owner revokes a missing token: %v, want not found", err)
	}
	if _, err := e.admin.ListTokens(ctx, hangar.TokenFilter{Workspace: "Bad Name"}, hangar.ListOptions{}); hangar.ErrorCode(err) != hangar.EINVALID {
		t.Errorf("list with an invalid workspace name: %v, want invalid", err)
	}
}
