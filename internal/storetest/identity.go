package storetest

import (
	"bytes"
	"encoding/json"
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
		tok, err := s.Credentials.CreateToken(ctx, &hangar.TokenRequest{Name: "ci-bot", Role: "reader", Workspace: hangar.DefaultWorkspace, ExpiresAt: &exp}, hash, prefix)
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
		ra, err := s.Credentials.RoleAssignmentsOf(ctx, id.ID)
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

		found, err := s.Credentials.TokenBySecretHash(ctx, hash)
		if err != nil {
			t.Fatalf("token by hash: %v", err)
		}
		if found.ID != tok.ID || found.IdentityName != "ci-bot" || !found.Active(time.Now()) || !found.ExpiresAt.Equal(exp) {
			t.Errorf("token by hash: got %+v, want %+v active", found, tok)
		}
		other, _ := tokenHash(t)
		_, err = s.Credentials.TokenBySecretHash(ctx, other)
		wantCode(t, "token by unknown hash", err, hangar.ENOTFOUND)

		// A second token for the same identity and role adds no assignment.
		hash2, prefix2 := tokenHash(t)
		tok2, err := s.Credentials.CreateToken(ctx, &hangar.TokenRequest{Name: "ci-bot", Role: hangar.RoleReader, Workspace: hangar.DefaultWorkspace}, hash2, prefix2)
		if err != nil {
			t.Fatalf("second token: %v", err)
		}
		if tok2.IdentityID != id.ID || tok2.ExpiresAt != nil {
			t.Errorf("second token: got %+v", tok2)
		}
		if ra, _ := s.Credentials.RoleAssignmentsOf(ctx, id.ID); len(ra) != 1 {
			t.Errorf("second token with the same role: %d assignments, want 1", len(ra))
		}
		// Another role or scope for an existing identity is refused
		// (testTokenRotation).
		hash3, prefix3 := tokenHash(t)
		_, err = s.Credentials.CreateToken(ctx, &hangar.TokenRequest{Name: "ci-bot", Role: hangar.RoleOwner}, hash3, prefix3)
		wantCode(t, "server-wide Owner token for a Reader", err, hangar.ECONFLICT)

		if err := s.Identities.RevokeToken(ctx, tok.ID); err != nil {
			t.Fatalf("revoke: %v", err)
		}
		if e := lastEvent(t, s); e.Action != hangar.ActTokenDelete || e.Target != "tokens/"+tok.ID {
			t.Errorf("revoke event: got %+v", e)
		}
		found, err = s.Credentials.TokenBySecretHash(ctx, hash)
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

	t.Run("Issue", func(t *testing.T) { testIssueToken(t, open(t)) })
	t.Run("Rotation", func(t *testing.T) { testTokenRotation(t, open(t)) })
	t.Run("Workspace", func(t *testing.T) { testTokenWorkspace(t, open(t)) })
	t.Run("FarFutureExpiry", func(t *testing.T) { testFarFutureExpiry(t, open(t)) })

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
			{"job without workspace", hangar.TokenRequest{Name: "bot", Role: "Job Runner", Job: "j"}, hash, prefix, hangar.EINVALID},
			{"bad job name", hangar.TokenRequest{Name: "bot", Role: "Job Runner", Workspace: hangar.DefaultWorkspace, Job: "-j"}, hash, prefix, hangar.EINVALID},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := tc.r
				_, err := s.Credentials.CreateToken(ctx, &r, tc.hash, tc.prefix)
				wantCode(t, "create token", err, tc.code)
			})
		}
		_, err := s.Identities.IdentityByName(ctx, "bot")
		wantCode(t, "identity after failed requests", err, hangar.ENOTFOUND)
		wantVerified(t, s, 1)
	})
}

// testIssueToken: IssueToken makes the secret itself, returns it once and
// stores only its hash and prefix.
func testIssueToken(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	exp := time.Now().Add(time.Hour).Truncate(time.Microsecond)
	issued, err := s.Identities.IssueToken(ctx, &hangar.TokenRequest{Name: "deployer", Role: "Contributor", Workspace: hangar.DefaultWorkspace, ExpiresAt: &exp})
	if err != nil {
		t.Fatalf("issue token: %v", err)
	}
	if !hangar.LooksLikeTokenSecret(issued.Secret) || !strings.HasPrefix(issued.Secret, issued.Prefix) || issued.Prefix == "" ||
		issued.IdentityName != "deployer" || issued.Workspace != hangar.DefaultWorkspace || issued.ExpiresAt == nil || !issued.ExpiresAt.Equal(exp) {
		t.Errorf("issued token %+v", issued.Token)
	}
	var stored []byte
	if err := s.QueryRow(ctx, `SELECT secret_hash FROM tokens WHERE id = ?`, []any{issued.ID}, &stored); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(stored, hangar.HashTokenSecret(issued.Secret)) {
		t.Errorf("stored hash %x, want the SHA-256 of the issued secret", stored)
	}
	found, err := s.Credentials.TokenBySecretHash(ctx, hangar.HashTokenSecret(issued.Secret))
	if err != nil || found.ID != issued.ID || found.Workspace != hangar.DefaultWorkspace {
		t.Errorf("token by the issued secret's hash: %+v, %v", found, err)
	}
	if e := lastEvent(t, s); e.Action != hangar.ActTokenWrite || e.Target != "tokens/"+issued.ID || e.Workspace != hangar.DefaultWorkspace {
		t.Errorf("issue event: %+v", e)
	}
	again, err := s.Identities.IssueToken(ctx, &hangar.TokenRequest{Name: "deployer", Role: "contributor", Workspace: hangar.DefaultWorkspace})
	if err != nil {
		t.Fatalf("rotate: %v", err)
	}
	if again.Secret == issued.Secret || again.IdentityID != issued.IdentityID {
		t.Errorf("rotation: %+v", again.Token)
	}
	_, err = s.Identities.IssueToken(ctx, &hangar.TokenRequest{Name: "deployer", Role: hangar.RoleOwner, Workspace: hangar.DefaultWorkspace})
	wantCode(t, "a wider role for an existing identity", err, hangar.ECONFLICT)
	_, err = s.Identities.IssueToken(ctx, &hangar.TokenRequest{Name: "x y", Role: hangar.RoleOwner})
	wantCode(t, "a bad name", err, hangar.EINVALID)

	// A job's token keeps its job, read back by every lookup.
	jt, err := s.Identities.IssueToken(ctx, &hangar.TokenRequest{Name: "job-runner.default", Role: hangar.RoleJobRunner, Workspace: hangar.DefaultWorkspace, ExpiresAt: &exp, Job: "calm_river_1"})
	if err != nil {
		t.Fatalf("issue a job token: %v", err)
	}
	if jt.Job != "calm_river_1" {
		t.Errorf("issued job token: job %q", jt.Job)
	}
	if found, err := s.Credentials.TokenBySecretHash(ctx, hangar.HashTokenSecret(jt.Secret)); err != nil || found.Job != "calm_river_1" {
		t.Errorf("job token by hash: %+v, %v", found, err)
	}
	if found, err := s.Identities.Token(ctx, jt.ID); err != nil || found.Job != "calm_river_1" {
		t.Errorf("job token by id: %+v, %v", found, err)
	}
	if found, err := s.Credentials.TokenBySecretHash(ctx, hangar.HashTokenSecret(issued.Secret)); err != nil || found.Job != "" {
		t.Errorf("a token that is no job's: %+v, %v", found, err)
	}
}

// testTokenRotation: a token for an existing identity is allowed only when
// it would carry exactly the requested role on its scope — the identity's
// assignments that apply to the scope, narrowed to it, are that role and
// nothing else; anything else is a conflict that changes nothing and whose
// message names none of the identity's roles.
func testTokenRotation(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	if err := s.Workspaces.CreateWorkspace(ctx, &hangar.Workspace{Name: "team-a"}); err != nil {
		t.Fatal(err)
	}
	create := func(name, role, ws string) (*hangar.Token, error) {
		hash, prefix := tokenHash(t)
		return s.Credentials.CreateToken(ctx, &hangar.TokenRequest{Name: name, Role: role, Workspace: ws}, hash, prefix)
	}
	for _, r := range []struct{ name, role, ws string }{
		{"ci-bot", hangar.RoleReader, "team-a"},
		{"owner", hangar.RoleOwner, ""},
		{"multi", hangar.RoleReader, "team-a"},
		{"srv-reader", hangar.RoleReader, ""},
	} {
		if _, err := create(r.name, r.role, r.ws); err != nil {
			t.Fatalf("first token of %s: %v", r.name, err)
		}
	}
	if err := s.Roles.AssignRole(ctx, &hangar.RoleAssignment{IdentityName: "multi", Role: hangar.RoleApprover, Workspace: hangar.DefaultWorkspace}); err != nil {
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
	} else if ra, err := s.Credentials.RoleAssignmentsOf(ctx, id.ID); err != nil || len(ra) != 1 || ra[0].Role != hangar.RoleReader || ra[0].Workspace != "team-a" {
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

	// Rotation: the token carries exactly the role on its scope, in any
	// spelling of the role. Roles elsewhere do not count, and a
	// server-wide role is narrowed to a workspace token's workspace.
	rotations := []struct{ name, role, ws string }{
		{"ci-bot", hangar.RoleReader, "team-a"},
		{"ci-bot", "reader", "team-a"},
		{"owner", hangar.RoleOwner, ""},
		{"owner", hangar.RoleOwner, "team-a"},
		{"multi", hangar.RoleReader, "team-a"},
		{"multi", hangar.RoleApprover, hangar.DefaultWorkspace},
		{"srv-reader", hangar.RoleReader, hangar.DefaultWorkspace},
	}
	for _, r := range rotations {
		tok, err := create(r.name, r.role, r.ws)
		if err != nil {
			t.Errorf("rotate %s (%s on %q): %v", r.name, r.role, r.ws, err)
		} else if tok.Workspace != r.ws {
			t.Errorf("rotate %s (%s on %q): token scoped to %q", r.name, r.role, r.ws, tok.Workspace)
		}
	}

	events := len(allEvents(t, s))
	asg, err := s.Roles.ListRoleAssignments(ctx, hangar.RoleAssignmentFilter{}, hangar.ListOptions{MaxResults: hangar.MaxMaxResults})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, who, role, ws, message string
		mustNot                      []string // the identity's own roles and scopes
	}{
		{"an Owner token named Reader", "owner", hangar.RoleReader, "",
			`identity "owner" exists and its roles are not exactly Reader server-wide, which a server-wide token would carry all of; change its roles with "hangar role assign" or choose another name`,
			[]string{hangar.RoleOwner}},
		{"an Owner's token on one workspace named Reader", "owner", hangar.RoleReader, "team-a",
			`identity "owner" exists and its roles that apply to workspace team-a are not exactly Reader`, []string{hangar.RoleOwner}},
		{"a higher role", "ci-bot", hangar.RoleContributor, "team-a",
			`identity "ci-bot" exists and its roles that apply to workspace team-a are not exactly Contributor`, []string{hangar.RoleReader}},
		{"the same role server-wide", "ci-bot", hangar.RoleReader, "",
			`identity "ci-bot" exists and its roles are not exactly Reader server-wide`, []string{"team-a"}},
		{"the same role on another workspace", "ci-bot", hangar.RoleReader, hangar.DefaultWorkspace,
			`its roles that apply to workspace default are not exactly Reader`, []string{"team-a"}},
		{"a server-wide token for roles on two workspaces", "multi", hangar.RoleReader, "",
			`identity "multi" exists and its roles are not exactly Reader server-wide`, []string{"team-a", hangar.RoleApprover}},
		{"a server-wide role that applies too", "srv-reader", hangar.RoleApprover, hangar.DefaultWorkspace,
			`its roles that apply to workspace default are not exactly Approver`, []string{hangar.RoleReader, "server-wide"}},
		{"an identity without roles but with a token", "emptied", hangar.RoleReader, "team-a",
			`identity "emptied" exists, holds no role and still has an active token`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := create(tc.who, tc.role, tc.ws)
			wantCode(t, "create token", err, hangar.ECONFLICT)
			msg := hangar.ErrorMessage(err)
			if !strings.Contains(msg, tc.message) {
				t.Errorf("message %q, want it to contain %q", msg, tc.message)
			}
			for _, no := range tc.mustNot {
				if strings.Contains(msg, no) {
					t.Errorf("message %q names %q, which the identity holds", msg, no)
				}
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
	if want := 6 + len(rotations); len(toks.Items) != want {
		t.Errorf("%d tokens, want %d (6 first, %d rotations)", len(toks.Items), want, len(rotations))
	}
}

// testTokenWorkspace: a token's scope is fixed when it is minted; Token,
// ListTokens and the token filter agree on it, role changes never move a
// token, and deleting its workspace deletes it.
func testTokenWorkspace(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	for _, ws := range []string{"team-a", "team-b", "doomed"} {
		if err := s.Workspaces.CreateWorkspace(ctx, &hangar.Workspace{Name: ws}); err != nil {
			t.Fatal(err)
		}
	}
	create := func(name, role, ws string) *hangar.Token {
		t.Helper()
		hash, prefix := tokenHash(t)
		tok, err := s.Credentials.CreateToken(ctx, &hangar.TokenRequest{Name: name, Role: role, Workspace: ws}, hash, prefix)
		if err != nil {
			t.Fatalf("token of %s: %v", name, err)
		}
		if tok.Workspace != ws {
			t.Errorf("CreateToken(%s on %q).Workspace = %q", name, ws, tok.Workspace)
		}
		return tok
	}
	assign := func(name, role, ws string) {
		t.Helper()
		if err := s.Roles.AssignRole(ctx, &hangar.RoleAssignment{IdentityName: name, Role: role, Workspace: ws}); err != nil {
			t.Fatal(err)
		}
	}
	a1 := create("a-bot", hangar.RoleReader, "team-a")
	a2 := create("a-owner", hangar.RoleOwner, "team-a")
	a3 := create("a-bot", hangar.RoleReader, "team-a") // a rotation
	b1 := create("b-bot", hangar.RoleReader, "team-b")
	server := create("admin", hangar.RoleOwner, "")
	// A role on another workspace does not move a token (issue 7 #3, #4).
	mixed := create("mixed", hangar.RoleReader, "team-a")
	assign("mixed", hangar.RoleReader, "team-b")
	// Nor does a second role on the same one, or a server-wide one.
	twice := create("twice", hangar.RoleReader, "team-a")
	assign("twice", hangar.RoleContributor, "team-a")
	wide := create("wide", hangar.RoleReader, "team-a")
	assign("wide", hangar.RoleReader, "")
	// Nor losing every role.
	emptied := create("emptied", hangar.RoleReader, "team-a")
	if page, err := s.Roles.ListRoleAssignments(ctx, hangar.RoleAssignmentFilter{IdentityName: "emptied"}, hangar.ListOptions{}); err != nil || len(page.Items) != 1 {
		t.Fatalf("assignments of emptied: %v, %v", page, err)
	} else if err := s.Roles.RemoveRoleAssignment(ctx, page.Items[0].ID); err != nil {
		t.Fatal(err)
	}
	// A server-wide identity's token may be scoped to one workspace.
	narrow := create("admin", hangar.RoleOwner, "team-b")
	if err := s.Identities.RevokeToken(ctx, a3.ID); err != nil {
		t.Fatal(err)
	}

	want := map[string]string{
		a1.ID: "team-a", a2.ID: "team-a", a3.ID: "team-a", twice.ID: "team-a", mixed.ID: "team-a", wide.ID: "team-a", emptied.ID: "team-a",
		b1.ID: "team-b", narrow.ID: "team-b", server.ID: "",
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
		{"team-a", newestFirst(a1, a2, a3, mixed, twice, wide, emptied)},
		{"team-b", newestFirst(b1, narrow)},
		{hangar.DefaultWorkspace, ""},
		{"nowhere", ""},
		{"", newestFirst(a1, a2, a3, b1, server, mixed, twice, wide, emptied, narrow)},
	} {
		for _, size := range []int{1, 2, hangar.MaxMaxResults} {
			if got := strings.Join(list(hangar.TokenFilter{Workspace: tc.ws}, size), " "); got != tc.want {
				t.Errorf("ListTokens(workspace %q, pages of %d) = %s, want %s", tc.ws, size, got, tc.want)
			}
		}
	}

	// A revocation is audited under the token's scope.
	if err := s.Identities.RevokeToken(ctx, mixed.ID); err != nil {
		t.Fatal(err)
	}
	if e := lastEvent(t, s); e.Action != hangar.ActTokenDelete || e.Target != "tokens/"+mixed.ID || e.Workspace != "team-a" {
		t.Errorf("revoke event of a team-a token whose identity also holds a role on team-b: %+v", e)
	}
	if err := s.Identities.RevokeToken(ctx, server.ID); err != nil {
		t.Fatal(err)
	}
	if e := lastEvent(t, s); e.Target != "tokens/"+server.ID || e.Workspace != "" {
		t.Errorf("revoke event of a server-wide token: %+v", e)
	}

	// Deleting a workspace deletes the tokens scoped to it, so that one
	// re-created under its name does not inherit them.
	doomed := create("doomed-bot", hangar.RoleReader, "doomed")
	if err := s.Workspaces.DeleteWorkspace(ctx, "doomed"); err != nil {
		t.Fatal(err)
	}
	_, err = s.Identities.Token(ctx, doomed.ID)
	wantCode(t, "a token of a deleted workspace", err, hangar.ENOTFOUND)
	wantVerified(t, s, int64(len(allEvents(t, s))))
}

// testFarFutureExpiry: the store refuses expiries it could not give back,
// and a row holding one (stored before they were refused) still lists,
// read back as hangar.MaxTime (issue 7 #1).
func testFarFutureExpiry(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	hash, prefix := tokenHash(t)
	year10000 := time.Date(9999, 12, 31, 23, 59, 59, 0, time.FixedZone("", -(23*3600+59*60)))
	_, err := s.Credentials.CreateToken(ctx, &hangar.TokenRequest{Name: "far", Role: hangar.RoleReader, ExpiresAt: &year10000}, hash, prefix)
	wantCode(t, "a token expiring in year 10000", err, hangar.EINVALID)

	tok, err := s.Credentials.CreateToken(ctx, &hangar.TokenRequest{Name: "far", Role: hangar.RoleReader}, hash, prefix)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Exec(ctx, `UPDATE tokens SET expires_at = ? WHERE id = ?`, s.Time(year10000), tok.ID); err != nil {
		t.Fatalf("store a year-10000 expiry: %v", err)
	}
	p, err := s.Identities.ListTokens(ctx, hangar.TokenFilter{}, hangar.ListOptions{})
	if err != nil || len(p.Items) != 1 {
		t.Fatalf("list tokens with a year-10000 expiry: %v, %v", p, err)
	}
	if e := p.Items[0].ExpiresAt; e == nil || !e.Equal(hangar.MaxTime) {
		t.Errorf("listed expiry %v, want %v", e, hangar.MaxTime)
	}
	if _, err := json.Marshal(p); err != nil {
		t.Errorf("the list does not encode: %v", err)
	}
	for what, get := range map[string]func() (*hangar.Token, error){
		"Token":             func() (*hangar.Token, error) { return s.Identities.Token(ctx, tok.ID) },
		"TokenBySecretHash": func() (*hangar.Token, error) { return s.Credentials.TokenBySecretHash(ctx, hash) },
	} {
		if got, err := get(); err != nil || got.ExpiresAt == nil || !got.ExpiresAt.Equal(hangar.MaxTime) {
			t.Errorf("%s: %+v, %v; want expiry %v", what, got, err, hangar.MaxTime)
		}
	}
}
