package httpapi_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/httpapi"
)

// TestWorkspaceOwnerTokens: an Owner of one workspace lists, reads and
// revokes the tokens scoped to it — including one whose identity also holds
// a role elsewhere — and nothing else: not another workspace's, not a
// server-wide one, without learning whether a token id it may not touch
// exists.
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
	if len(byName) != 7 || byName["admin"].Workspace != "" || byName["mixed"].Workspace != "ws1" || byName["w2owner"].Workspace != "ws2" {
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
	const ws1Tokens = "mixed w1bot w1owner w1reader"
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

	// Read one.
	if got, err := w1owner.Token(ctx, mixed.ID); err != nil || got.ID != mixed.ID || got.Workspace != "ws1" {
		t.Errorf("workspace owner reads a ws1 token: %+v, %v", got, err)
	}
	const noRead = "identity w1owner lacks tokens/read server-wide (its token is scoped to workspace ws1)"
	for _, id := range []string{w2bot.ID, byName["admin"].ID, "0123456789abcdef0123456789abcdef"} {
		if _, err := w1owner.Token(ctx, id); hangar.ErrorCode(err) != hangar.EFORBIDDEN || hangar.ErrorMessage(err) != noRead {
			t.Errorf("workspace owner reads token %s: %v, want forbidden %q", id, err, noRead)
		}
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
	const noDelete = "identity w1owner lacks tokens/delete server-wide (its token is scoped to workspace ws1)"
	for _, tc := range []struct{ name, id string }{
		{"another workspace's token", w2bot.ID},
		{"another workspace's owner token", byName["w2owner"].ID},
		{"a server-wide token", byName["admin"].ID},
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
		{"every token", hangar.TokenFilter{}, "identity w1owner lacks tokens/read server-wide (its token is scoped to workspace ws1)"},
		{"another workspace's", hangar.TokenFilter{Workspace: "ws2"}, "identity w1owner lacks tokens/read on workspace ws2 (its token is scoped to workspace ws1)"},
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

	// A role elsewhere, even server-wide, leaves a token where it was
	// minted (issue 7 #3): its workspace's Owner still lists and revokes it.
	if err := e.admin.AssignRole(ctx, &hangar.RoleAssignment{IdentityName: "w1reader", Role: hangar.RoleReader}); err != nil {
		t.Fatal(err)
	}
	p, err := w1owner.ListTokens(ctx, hangar.TokenFilter{Workspace: "ws1"}, hangar.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := names(p); got != "mixed w1bot w1owner w1reader" {
		t.Errorf("ws1 tokens after w1reader got a server-wide role: %s", got)
	}
	if err := w1owner.RevokeToken(ctx, byName["w1reader"].ID); err != nil {
		t.Errorf("workspace owner revokes a ws1 token whose identity gained a server-wide role: %v", err)
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

// TestRoleElsewhereKeepsTokenControl is issue 7 #3: an Owner of workspace A
// must not take away workspace B's Owner's control of B's tokens by giving
// B's identity a role on A. A's Owner cannot see B's identity at all; and
// when the server-wide Owner gives it a role on A, B's Owner still lists,
// rotates and revokes its tokens.
func TestRoleElsewhereKeepsTokenControl(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { testRoleElsewhereKeepsTokenControl(t, newEnvOn(t, b.dsn(t), nil)) })
	}
}

func testRoleElsewhereKeepsTokenControl(t *testing.T, e *env) {
	ctx := t.Context()
	e.createWorkspace("ws-a")
	e.createWorkspace("ws-b")
	aOwner := e.client("a-owner", hangar.RoleOwner, "ws-a")
	bOwner := e.client("b-owner", hangar.RoleOwner, "ws-b")
	bBot, err := bOwner.IssueToken(ctx, &hangar.TokenRequest{Name: "b-bot", Role: hangar.RoleReader, Workspace: "ws-b"})
	if err != nil {
		t.Fatal(err)
	}

	// A's Owner cannot reach B's identity: the same 404 as for a name that
	// does not exist.
	err = aOwner.AssignRole(ctx, &hangar.RoleAssignment{IdentityName: "b-bot", Role: hangar.RoleReader, Workspace: "ws-a"})
	if want := `identity "b-bot" holds no role on workspace ws-a`; hangar.ErrorCode(err) != hangar.ENOTFOUND || hangar.ErrorMessage(err) != want {
		t.Fatalf("A's Owner assigns B's identity a role on A: %v, want not found %q", err, want)
	}
	// The server-wide Owner may; B's Owner keeps control all the same.
	if err := e.admin.AssignRole(ctx, &hangar.RoleAssignment{IdentityName: "b-bot", Role: hangar.RoleContributor, Workspace: "ws-a"}); err != nil {
		t.Fatal(err)
	}
	p, err := bOwner.ListTokens(ctx, hangar.TokenFilter{Workspace: "ws-b"}, hangar.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(p.Items, func(tok *hangar.Token) bool { return tok.ID == bBot.ID }) {
		t.Errorf("B's Owner no longer lists b-bot's token once b-bot holds a role on A")
	}
	if got, err := bOwner.Token(ctx, bBot.ID); err != nil || got.Workspace != "ws-b" {
		t.Errorf("B's Owner reads b-bot's token: %+v, %v", got, err)
	}
	rotated, err := bOwner.IssueToken(ctx, &hangar.TokenRequest{Name: "b-bot", Role: hangar.RoleReader, Workspace: "ws-b"})
	if err != nil {
		t.Fatalf("B's Owner rotates b-bot's token: %v", err)
	}
	if err := bOwner.RevokeToken(ctx, bBot.ID); err != nil {
		t.Errorf("B's Owner revokes b-bot's old token: %v", err)
	}
	// A's Owner does not control B's tokens either.
	if err := aOwner.RevokeToken(ctx, rotated.ID); hangar.ErrorCode(err) != hangar.EFORBIDDEN {
		t.Errorf("A's Owner revokes b-bot's token: %v, want forbidden", err)
	}
	if _, err := aOwner.IssueToken(ctx, &hangar.TokenRequest{Name: "b-bot", Role: hangar.RoleContributor, Workspace: "ws-a"}); err != nil {
		t.Errorf("A's Owner mints an A token for an identity now on A: %v", err)
	}
	// B's token still acts on B only, with B's role.
	bc := httpapi.NewClient(e.srv.URL, rotated.Secret)
	if _, err := bc.SetSecret(ctx, "ws-a", "x", []byte("v")); hangar.ErrorCode(err) != hangar.EFORBIDDEN {
		t.Errorf("b-bot's B token writes on A: %v, want forbidden", err)
	}
}

// TestTokenDoesNotWiden is issue 7 #4: a token that workspace A's Owner
// minted acts on A only, even after its identity is given roles on B (or
// server-wide): it reads none of B's secrets, audit or tokens.
func TestTokenDoesNotWiden(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { testTokenDoesNotWiden(t, newEnvOn(t, b.dsn(t), nil)) })
	}
}

func testTokenDoesNotWiden(t *testing.T, e *env) {
	ctx := t.Context()
	e.createWorkspace("ws-a")
	e.createWorkspace("ws-b")
	if _, err := e.admin.SetSecret(ctx, "ws-b", "b-key", []byte("b-value")); err != nil {
		t.Fatal(err)
	}
	aOwner := e.client("a-owner", hangar.RoleOwner, "ws-a")
	issued, err := aOwner.IssueToken(ctx, &hangar.TokenRequest{Name: "a-bot", Role: hangar.RoleReader, Workspace: "ws-a"})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []hangar.RoleAssignment{
		{IdentityName: "a-bot", Role: hangar.RoleOwner, Workspace: "ws-b"},
		{IdentityName: "a-bot", Role: hangar.RoleReader},
	} {
		if err := e.admin.AssignRole(ctx, &a); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.admin.GrantSecret(ctx, "ws-b", "b-key", "a-bot"); err != nil {
		t.Fatal(err)
	}
	bot := httpapi.NewClient(e.srv.URL, issued.Secret)
	if _, err := bot.Workspace(ctx, "ws-a"); err != nil {
		t.Fatalf("a-bot reads its workspace: %v", err)
	}
	note := " (its token is scoped to workspace ws-a)"
	for _, tc := range []struct {
		what    string
		call    func() error
		message string
	}{
		{"lists B's secrets", func() error { _, err := bot.ListSecrets(ctx, "ws-b", hangar.ListOptions{}); return err },
			"identity a-bot lacks secrets/read on workspace ws-b" + note},
		{"reveals B's secret", func() error { _, err := bot.RevealSecret(ctx, "ws-b", "b-key"); return err },
			"identity a-bot holds a grant of secret b-key but lacks secrets/read on workspace ws-b, which revealing by grant also takes" + note},
		{"reads B's audit", func() error {
			_, err := bot.ListEvents(ctx, hangar.EventFilter{Workspace: "ws-b"}, hangar.ListOptions{})
			return err
		}, "identity a-bot lacks audit/read on workspace ws-b" + note},
		{"reads the whole audit log", func() error { _, err := bot.ListEvents(ctx, hangar.EventFilter{}, hangar.ListOptions{}); return err },
			"identity a-bot lacks audit/read server-wide" + note},
		{"lists B's tokens", func() error {
			_, err := bot.ListTokens(ctx, hangar.TokenFilter{Workspace: "ws-b"}, hangar.ListOptions{})
			return err
		},
			"identity a-bot lacks tokens/read on workspace ws-b" + note},
		{"reads the default workspace through the server-wide role", func() error { _, err := bot.Workspace(ctx, hangar.DefaultWorkspace); return err },
			"identity a-bot lacks workspaces/read on workspace default" + note},
		{"writes on A with B's Owner role", func() error { _, err := bot.SetSecret(ctx, "ws-a", "k", []byte("v")); return err },
			"identity a-bot lacks secrets/write on workspace ws-a"},
	} {
		err := tc.call()
		if hangar.ErrorCode(err) != hangar.EFORBIDDEN || hangar.ErrorMessage(err) != tc.message {
			t.Errorf("a-bot's A token %s: %v, want forbidden %q", tc.what, err, tc.message)
		}
	}
	ws, err := bot.ListWorkspaces(ctx, hangar.ListOptions{})
	if err != nil || len(ws.Items) != 1 || ws.Items[0].Name != "ws-a" {
		t.Errorf("a-bot's A token lists workspaces %v, %v; want ws-a alone", ws, err)
	}
}
