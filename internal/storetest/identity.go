package storetest

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hangar-ml/hangar"
)

func testIdentities(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	id := &hangar.Identity{Name: "alice", Kind: hangar.KindUser}
	if err := s.Identities.CreateIdentity(ctx, id); err != nil {
		t.Fatalf("create: %v", err)
	}
	if len(id.ID) != 32 || id.CreatedAt.IsZero() {
		t.Errorf("create set id %q, created_at %v; want a 32-hex id and a time", id.ID, id.CreatedAt)
	}
	got, err := s.Identities.IdentityByName(ctx, "alice")
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if !(got.ID == id.ID && got.Name == id.Name && got.Kind == id.Kind && got.CreatedAt.Equal(id.CreatedAt)) {
		t.Errorf("get: got %+v, want %+v", got, id)
	}
	e := lastEvent(t, s)
	if e.Action != hangar.ActIdentityWrite || e.Target != "identities/alice" || e.Workspace != "" {
		t.Errorf("audit event of create: got %+v", e)
	}

	for _, tc := range []struct {
		name string
		id   hangar.Identity
		code string
	}{
		{"exists", hangar.Identity{Name: "alice", Kind: hangar.KindUser}, hangar.ECONFLICT},
		{"exists as other kind", hangar.Identity{Name: "alice", Kind: hangar.KindWorkload}, hangar.ECONFLICT},
		{"empty name", hangar.Identity{Name: "", Kind: hangar.KindUser}, hangar.EINVALID},
		{"bad name", hangar.Identity{Name: "al ice", Kind: hangar.KindUser}, hangar.EINVALID},
		{"long name", hangar.Identity{Name: strings.Repeat("x", 256), Kind: hangar.KindUser}, hangar.EINVALID},
		{"no kind", hangar.Identity{Name: "bob"}, hangar.EINVALID},
		{"unknown kind", hangar.Identity{Name: "bob", Kind: "robot"}, hangar.EINVALID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := tc.id
			wantCode(t, "create", s.Identities.CreateIdentity(ctx, &id), tc.code)
		})
	}
	_, err = s.Identities.IdentityByName(ctx, "bob")
	wantCode(t, "get missing", err, hangar.ENOTFOUND)

	for _, name := range []string{"carol", "bob", "svc.deploy"} {
		kind := hangar.KindServicePrincipal
		if err := s.Identities.CreateIdentity(ctx, &hangar.Identity{Name: name, Kind: kind}); err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
	}
	p, err := s.Identities.ListIdentities(ctx, hangar.ListOptions{})
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	var names []string
	for _, i := range p.Items {
		names = append(names, i.Name)
	}
	if strings.Join(names, ",") != "alice,bob,carol,svc.deploy" {
		t.Errorf("list: got %v, want alice,bob,carol,svc.deploy", names)
	}
}

// tokenHash returns a fresh secret hash and prefix.
func tokenHash(t *testing.T) ([]byte, string) {
	t.Helper()
	_, hash, prefix, err := hangar.NewTokenSecret()
	if err != nil {
		t.Fatal(err)
	}
	return hash, prefix
}

func testTokens(t *testing.T, open func(t *testing.T) *Store) {
	t.Run("CreateFindRevoke", func(t *testing.T) {
		s := open(t)
		ctx := actorCtx(t)
		hash, prefix := tokenHash(t)
		exp := time.Now().Add(24 * time.Hour).Truncate(time.Microsecond)
		before := len(allEvents(t, s))
		tok, err := s.Identities.CreateToken(ctx, &hangar.TokenRequest{Name: "ci-bot", Role: "reader", Workspace: hangar.DefaultWorkspace, ExpiresAt: &exp}, hash, prefix)
		if err != nil {
			t.Fatalf("create token: %v", err)
		}
		if tok.Name != "ci-bot" || tok.IdentityName != "ci-bot" || tok.Prefix != prefix || tok.ID == "" || tok.CreatedAt.IsZero() ||
			tok.ExpiresAt == nil || !tok.ExpiresAt.Equal(exp) || tok.RevokedAt != nil {
			t.Errorf("create token: got %+v", tok)
		}
		id, err := s.Identities.IdentityByName(ctx, "ci-bot")
		if err != nil {
			t.Fatalf("identity created by token: %v", err)
		}
		if id.Kind != hangar.KindServicePrincipal || id.ID != tok.IdentityID {
			t.Errorf("identity created by token: got %+v, want a service principal with id %s", id, tok.IdentityID)
		}
		ra, err := s.Roles.RoleAssignmentsOf(ctx, id.ID)
		if err != nil {
			t.Fatalf("assignments: %v", err)
		}
		if len(ra) != 1 || ra[0].Role != hangar.RoleReader || ra[0].Workspace != hangar.DefaultWorkspace {
			t.Errorf("assignments after create token: got %v, want Reader on default", ra)
		}
		evs := allEvents(t, s)[before:]
		var acts []string
		for _, e := range evs {
			acts = append(acts, e.Action+" "+e.Target)
		}
		want := []string{"identities/write identities/ci-bot", "roleAssignments/write roleAssignments/" + ra[0].ID, "tokens/write tokens/" + tok.ID}
		if strings.Join(acts, "|") != strings.Join(want, "|") {
			t.Errorf("events of create token: got %q, want %q", acts, want)
		}

		// At rest only the hash and the prefix.
		var storedHash []byte
		var storedPrefix string
		if err := s.QueryRow(ctx, `SELECT secret_hash, prefix FROM tokens WHERE id = ?`, []any{tok.ID}, &storedHash, &storedPrefix); err != nil {
			t.Fatalf("read token row: %v", err)
		}
		if !bytes.Equal(storedHash, hash) || storedPrefix != prefix {
			t.Errorf("stored token: hash %x prefix %q, want %x %q", storedHash, storedPrefix, hash, prefix)
		}

		found, err := s.Identities.TokenBySecretHash(ctx, hash)
		if err != nil {
			t.Fatalf("token by hash: %v", err)
		}
		if found.ID != tok.ID || found.IdentityName != "ci-bot" || !found.Active(time.Now()) || !found.ExpiresAt.Equal(exp) {
			t.Errorf("token by hash: got %+v, want %+v active", found, tok)
		}
		other, _ := tokenHash(t)
		_, err = s.Identities.TokenBySecretHash(ctx, other)
		wantCode(t, "token by unknown hash", err, hangar.ENOTFOUND)

		// A second token for the same identity and role adds no assignment.
		hash2, prefix2 := tokenHash(t)
		tok2, err := s.Identities.CreateToken(ctx, &hangar.TokenRequest{Name: "ci-bot", Role: hangar.RoleReader, Workspace: hangar.DefaultWorkspace}, hash2, prefix2)
		if err != nil {
			t.Fatalf("second token: %v", err)
		}
		if tok2.IdentityID != id.ID || tok2.ExpiresAt != nil {
			t.Errorf("second token: got %+v", tok2)
		}
		if ra, _ := s.Roles.RoleAssignmentsOf(ctx, id.ID); len(ra) != 1 {
			t.Errorf("second token with the same role: %d assignments, want 1", len(ra))
		}
		// Another role or scope for an existing identity is refused
		// (testTokenRotation).
		hash3, prefix3 := tokenHash(t)
		_, err = s.Identities.CreateToken(ctx, &hangar.TokenRequest{Name: "ci-bot", Role: hangar.RoleOwner}, hash3, prefix3)
		wantCode(t, "server-wide Owner token for a Reader", err, hangar.ECONFLICT)

		if err := s.Identities.RevokeToken(ctx, tok.ID); err != nil {
			t.Fatalf("revoke: %v", err)
		}
		if e := lastEvent(t, s); e.Action != hangar.ActTokenDelete || e.Target != "tokens/"+tok.ID {
			t.Errorf("revoke event: got %+v", e)
		}
		found, err = s.Identities.TokenBySecretHash(ctx, hash)
		if err != nil {
			t.Fatalf("revoked token by hash: %v", err)
		}
		if found.RevokedAt == nil || found.Active(time.Now()) {
			t.Errorf("revoked token: got %+v, want revoked and inactive", found)
		}
		wantCode(t, "revoke twice", s.Identities.RevokeToken(ctx, tok.ID), hangar.ECONFLICT)
		wantCode(t, "revoke missing", s.Identities.RevokeToken(ctx, "nope"), hangar.ENOTFOUND)

		p, err := s.Identities.ListTokens(ctx, hangar.TokenFilter{}, hangar.ListOptions{})
		if err != nil {
			t.Fatalf("list tokens: %v", err)
		}
		if len(p.Items) != 2 {
			t.Fatalf("list tokens: got %d, want 2 (revoked included)", len(p.Items))
		}
		for i := 1; i < len(p.Items); i++ {
			a, b := p.Items[i-1], p.Items[i]
			if a.CreatedAt.Before(b.CreatedAt) {
				t.Errorf("list tokens not newest first: %v before %v", a.CreatedAt, b.CreatedAt)
			}
		}
		wantVerified(t, s, int64(len(allEvents(t, s))))
	})

	t.Run("Rotation", func(t *testing.T) { testTokenRotation(t, open(t)) })
	t.Run("Workspace", func(t *testing.T) { testTokenWorkspace(t, open(t)) })

	t.Run("InvalidRequests", func(t *testing.T) {
		s := open(t)
		ctx := actorCtx(t)
		hash, prefix := tokenHash(t)
		past := time.Now().Add(-time.Hour)
		for _, tc := range []struct {
			name   string
			r      hangar.TokenRequest
			hash   []byte
			prefix string
			code   string
		}{
			{"bad name", hangar.TokenRequest{Name: "a b", Role: "Reader"}, hash, prefix, hangar.EINVALID},
			{"unknown role", hangar.TokenRequest{Name: "bot", Role: "Janitor"}, hash, prefix, hangar.EINVALID},
			{"bad workspace", hangar.TokenRequest{Name: "bot", Role: "Reader", Workspace: "x"}, hash, prefix, hangar.EINVALID},
			{"expired", hangar.TokenRequest{Name: "bot", Role: "Reader", ExpiresAt: &past}, hash, prefix, hangar.EINVALID},
			{"short hash", hangar.TokenRequest{Name: "bot", Role: "Reader"}, hash[:16], prefix, hangar.EINVALID},
			{"no prefix", hangar.TokenRequest{Name: "bot", Role: "Reader"}, hash, "", hangar.EINVALID},
			{"unknown workspace", hangar.TokenRequest{Name: "bot", Role: "Reader", Workspace: "nowhere"}, hash, prefix, hangar.ENOTFOUND},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := tc.r
				_, err := s.Identities.CreateToken(ctx, &r, tc.hash, tc.prefix)
				wantCode(t, "create token", err, tc.code)
			})
		}
		_, err := s.Identities.IdentityByName(ctx, "bot")
		wantCode(t, "identity after failed requests", err, hangar.ENOTFOUND)
		wantVerified(t, s, 1)
	})
}

// testTokenRotation: a token for an existing identity is allowed only when
// the identity's assignments are exactly the requested role on the requested
// workspace; anything else is a conflict that changes nothing.
func testTokenRotation(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	if err := s.Workspaces.CreateWorkspace(ctx, &hangar.Workspace{Name: "team-a"}); err != nil {
		t.Fatal(err)
	}
	create := func(name, role, ws string) (*hangar.Token, error) {
		hash, prefix := tokenHash(t)
		return s.Identities.CreateToken(ctx, &hangar.TokenRequest{Name: name, Role: role, Workspace: ws}, hash, prefix)
	}
	for _, r := range []struct{ name, role, ws string }{
		{"ci-bot", hangar.RoleReader, "team-a"},
		{"owner", hangar.RoleOwner, ""},
		{"multi", hangar.RoleReader, "team-a"},
	} {
		if _, err := create(r.name, r.role, r.ws); err != nil {
			t.Fatalf("first token of %s: %v", r.name, err)
		}
	}
	if err := s.Roles.AssignRole(ctx, &hangar.RoleAssignment{IdentityName: "multi", Role: hangar.RoleReader, Workspace: hangar.DefaultWorkspace}); err != nil {
		t.Fatal(err)
	}
	// An identity without roles gets its first one with its first token.
	if err := s.Identities.CreateIdentity(ctx, &hangar.Identity{Name: "roleless", Kind: hangar.KindUser}); err != nil {
		t.Fatal(err)
	}
	if _, err := create("roleless", hangar.RoleReader, "team-a"); err != nil {
		t.Fatalf("first token of an identity without roles: %v", err)
	}
	if id, err := s.Identities.IdentityByName(ctx, "roleless"); err != nil {
		t.Fatal(err)
	} else if ra, err := s.Roles.RoleAssignmentsOf(ctx, id.ID); err != nil || len(ra) != 1 || ra[0].Role != hangar.RoleReader || ra[0].Workspace != "team-a" {
		t.Errorf("assignments of roleless after its first token: %v, %v; want Reader on team-a", ra, err)
	}
	// One whose roles were all removed keeps its tokens: a new token
	// would give them the role too.
	if _, err := create("emptied", hangar.RoleReader, "team-a"); err != nil {
		t.Fatal(err)
	}
	if page, err := s.Roles.ListRoleAssignments(ctx, hangar.RoleAssignmentFilter{IdentityName: "emptied"}, hangar.ListOptions{}); err != nil || len(page.Items) != 1 {
		t.Fatalf("assignments of emptied: %v, %v", page, err)
	} else if err := s.Roles.RemoveRoleAssignment(ctx, page.Items[0].ID); err != nil {
		t.Fatal(err)
	}

	// Rotation: the same role on the same scope, in any spelling of the role.
	for _, r := range []struct{ name, role, ws string }{
		{"ci-bot", hangar.RoleReader, "team-a"},
		{"ci-bot", "reader", "team-a"},
		{"owner", hangar.RoleOwner, ""},
	} {
		if _, err := create(r.name, r.role, r.ws); err != nil {
			t.Errorf("rotate %s (%s on %q): %v", r.name, r.role, r.ws, err)
		}
	}

	events := len(allEvents(t, s))
	asg, err := s.Roles.ListRoleAssignments(ctx, hangar.RoleAssignmentFilter{}, hangar.ListOptions{MaxResults: hangar.MaxMaxResults})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, who, role, ws, message string
	}{
		{"an Owner token named Reader", "owner", hangar.RoleReader, "", `identity "owner" already exists with roles Owner server-wide; use "hangar role assign" to change its roles or choose another name`},
		{"an Owner on one workspace", "owner", hangar.RoleOwner, "team-a", `identity "owner" already exists with roles Owner server-wide`},
		{"a higher role", "ci-bot", hangar.RoleContributor, "team-a", `identity "ci-bot" already exists with roles Reader on workspace team-a;`},
		{"the same role server-wide", "ci-bot", hangar.RoleReader, "", `identity "ci-bot" already exists with roles Reader on workspace team-a;`},
		{"the same role on another workspace", "ci-bot", hangar.RoleReader, hangar.DefaultWorkspace, `with roles Reader on workspace team-a;`},
		{"one of several assignments", "multi", hangar.RoleReader, "team-a", `identity "multi" already exists with roles Reader on workspace default, Reader on workspace team-a;`},
		{"an identity without roles but with a token", "emptied", hangar.RoleReader, "team-a", `identity "emptied" already exists with no roles;`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := create(tc.who, tc.role, tc.ws)
			wantCode(t, "create token", err, hangar.ECONFLICT)
			if msg := hangar.ErrorMessage(err); !strings.Contains(msg, tc.message) {
				t.Errorf("message %q, want it to contain %q", msg, tc.message)
			}
		})
	}
	after, err := s.Roles.ListRoleAssignments(ctx, hangar.RoleAssignmentFilter{}, hangar.ListOptions{MaxResults: hangar.MaxMaxResults})
	if err != nil {
		t.Fatal(err)
	}
	if len(after.Items) != len(asg.Items) {
		t.Errorf("refused tokens changed the assignments: %d before, %d after", len(asg.Items), len(after.Items))
	}
	if n := len(allEvents(t, s)); n != events {
		t.Errorf("refused tokens appended %d audit events", n-events)
	}
	toks, err := s.Identities.ListTokens(ctx, hangar.TokenFilter{}, hangar.ListOptions{MaxResults: hangar.MaxMaxResults})
	if err != nil {
		t.Fatal(err)
	}
	if len(toks.Items) != 8 {
		t.Errorf("%d tokens, want 8 (5 first, 3 rotations)", len(toks.Items))
	}
}

// testTokenWorkspace: a token belongs to a workspace when every role
// assignment of its identity is on it; Token, ListTokens and the token
// filter agree on that, and follow role changes.
func testTokenWorkspace(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	for _, ws := range []string{"team-a", "team-b"} {
		if err := s.Workspaces.CreateWorkspace(ctx, &hangar.Workspace{Name: ws}); err != nil {
			t.Fatal(err)
		}
	}
	create := func(name, role, ws string) *hangar.Token {
		t.Helper()
		hash, prefix := tokenHash(t)
		tok, err := s.Identities.CreateToken(ctx, &hangar.TokenRequest{Name: name, Role: role, Workspace: ws}, hash, prefix)
		if err != nil {
			t.Fatalf("token of %s: %v", name, err)
		}
		if tok.Workspace != ws {
			t.Errorf("CreateToken(%s on %q).Workspace = %q", name, ws, tok.Workspace)
		}
		return tok
	}
	a1 := create("a-bot", hangar.RoleReader, "team-a")
	a2 := create("a-owner", hangar.RoleOwner, "team-a")
	a3 := create("a-bot", hangar.RoleReader, "team-a") // a rotation
	b1 := create("b-bot", hangar.RoleReader, "team-b")
	server := create("admin", hangar.RoleOwner, "")
	mixed := create("mixed", hangar.RoleReader, "team-a")
	if err := s.Roles.AssignRole(ctx, &hangar.RoleAssignment{IdentityName: "mixed", Role: hangar.RoleReader, Workspace: "team-b"}); err != nil {
		t.Fatal(err)
	}
	// Two roles on the same workspace still belong to it.
	twice := create("twice", hangar.RoleReader, "team-a")
	if err := s.Roles.AssignRole(ctx, &hangar.RoleAssignment{IdentityName: "twice", Role: hangar.RoleContributor, Workspace: "team-a"}); err != nil {
		t.Fatal(err)
	}
	// One on a workspace and one server-wide belongs to none.
	wide := create("wide", hangar.RoleReader, "team-a")
	if err := s.Roles.AssignRole(ctx, &hangar.RoleAssignment{IdentityName: "wide", Role: hangar.RoleReader}); err != nil {
		t.Fatal(err)
	}
	// Without roles a token belongs to no workspace.
	emptied := create("emptied", hangar.RoleReader, "team-a")
	if page, err := s.Roles.ListRoleAssignments(ctx, hangar.RoleAssignmentFilter{IdentityName: "emptied"}, hangar.ListOptions{}); err != nil || len(page.Items) != 1 {
		t.Fatalf("assignments of emptied: %v, %v", page, err)
	} else if err := s.Roles.RemoveRoleAssignment(ctx, page.Items[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := s.Identities.RevokeToken(ctx, a3.ID); err != nil {
		t.Fatal(err)
	}

	want := map[string]string{
		a1.ID: "team-a", a2.ID: "team-a", a3.ID: "team-a", twice.ID: "team-a",
		b1.ID: "team-b", server.ID: "", mixed.ID: "", wide.ID: "", emptied.ID: "",
	}
	for id, ws := range want {
		tok, err := s.Identities.Token(ctx, id)
		if err != nil {
			t.Fatalf("Token(%s): %v", id, err)
		}
		if tok.ID != id || tok.Workspace != ws {
			t.Errorf("Token(%s) = %+v, want workspace %q", id, tok, ws)
		}
	}
	got, err := s.Identities.Token(ctx, a3.ID)
	if err != nil || got.RevokedAt == nil || got.IdentityName != "a-bot" || got.Prefix == "" {
		t.Errorf("Token of a revoked token: %+v, %v; want it revoked, with its identity and prefix", got, err)
	}
	_, err = s.Identities.Token(ctx, "nope")
	wantCode(t, "Token of a missing id", err, hangar.ENOTFOUND)

	// list returns the ids of every page of ListTokens with f, checking
	// each token's Workspace against want.
	list := func(f hangar.TokenFilter, pageSize int) []string {
		t.Helper()
		var ids []string
		opt := hangar.ListOptions{MaxResults: pageSize}
		for {
			p, err := s.Identities.ListTokens(ctx, f, opt)
			if err != nil {
				t.Fatalf("ListTokens(%+v): %v", f, err)
			}
			for _, tok := range p.Items {
				ids = append(ids, tok.ID)
				if tok.Workspace != want[tok.ID] {
					t.Errorf("ListTokens: token of %s has workspace %q, want %q", tok.IdentityName, tok.Workspace, want[tok.ID])
				}
			}
			if p.NextPageToken == "" {
				return ids
			}
			opt.PageToken = p.NextPageToken
		}
	}
	// newestFirst orders toks as ListTokens does: newest first, then by
	// id descending (two tokens may share a microsecond).
	newestFirst := func(toks ...*hangar.Token) string {
		toks = slices.Clone(toks)
		slices.SortFunc(toks, func(a, b *hangar.Token) int {
			if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
				return c
			}
			return strings.Compare(b.ID, a.ID)
		})
		ids := make([]string, len(toks))
		for i, tok := range toks {
			ids[i] = tok.ID
		}
		return strings.Join(ids, " ")
	}
	for _, tc := range []struct {
		ws   string
		want string
	}{
		{"team-a", newestFirst(a1, a2, a3, twice)},
		{"team-b", newestFirst(b1)},
		{hangar.DefaultWorkspace, ""},
		{"nowhere", ""},
		{"", newestFirst(a1, a2, a3, b1, server, mixed, twice, wide, emptied)},
	} {
		for _, size := range []int{1, 2, hangar.MaxMaxResults} {
			if got := strings.Join(list(hangar.TokenFilter{Workspace: tc.ws}, size), " "); got != tc.want {
				t.Errorf("ListTokens(workspace %q, pages of %d) = %s, want %s", tc.ws, size, got, tc.want)
			}
		}
	}

	// Role changes move a token in and out of a workspace.
	if page, err := s.Roles.ListRoleAssignments(ctx, hangar.RoleAssignmentFilter{IdentityName: "mixed", Workspace: "team-b"}, hangar.ListOptions{}); err != nil || len(page.Items) != 1 {
		t.Fatalf("assignments of mixed: %v, %v", page, err)
	} else if err := s.Roles.RemoveRoleAssignment(ctx, page.Items[0].ID); err != nil {
		t.Fatal(err)
	}
	want[mixed.ID] = "team-a"
	if got, want := strings.Join(list(hangar.TokenFilter{Workspace: "team-a"}, 3), " "), newestFirst(a1, a2, a3, mixed, twice); got != want {
		t.Errorf("team-a after mixed lost team-b: %s, want %s", got, want)
	}

	// A revocation is audited under the token's workspace.
	if err := s.Identities.RevokeToken(ctx, b1.ID); err != nil {
		t.Fatal(err)
	}
	if e := lastEvent(t, s); e.Action != hangar.ActTokenDelete || e.Target != "tokens/"+b1.ID || e.Workspace != "team-b" {
		t.Errorf("revoke event of a team-b token: %+v", e)
	}
	if err := s.Identities.RevokeToken(ctx, server.ID); err != nil {
		t.Fatal(err)
	}
	if e := lastEvent(t, s); e.Target != "tokens/"+server.ID || e.Workspace != "" {
		t.Errorf("revoke event of a server-wide token: %+v", e)
	}
	wantVerified(t, s, int64(len(allEvents(t, s))))
}
