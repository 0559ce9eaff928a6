package hangar_test

import (
	"testing"

	"github.com/hangar-ml/hangar"
)

func TestRoleAllows(t *testing.T) {
	tests := []struct {
		role   string
		action string
		want   bool
	}{
		{"Owner", hangar.ActRoleAssignmentWrite, true},
		{"Owner", hangar.ActSecretReveal, true},
		{"Contributor", hangar.ActWorkspaceWrite, true},
		{"Contributor", hangar.ActSecretWrite, true},
		{"Contributor", hangar.ActSecretReveal, false},
		{"Contributor", hangar.ActTokenWrite, false},
		{"Contributor", hangar.ActRoleAssignmentWrite, false},
		{"Contributor", hangar.ActApprovalApprove, false},
		{"Reader", hangar.ActWorkspaceRead, true},
		{"Reader", hangar.ActAuditRead, true},
		{"Reader", hangar.ActSecretRead, true},
		{"Reader", hangar.ActSecretReveal, false},
		{"Reader", hangar.ActWorkspaceWrite, false},
		{"Data Scientist", hangar.ActModelWrite, true},
		{"data-scientist", hangar.ActSecretWrite, true},
		{"AzureML Data Scientist", hangar.ActWorkspaceDelete, false},
		{"Data Scientist", hangar.ActWorkspaceWrite, false},
		{"Data Scientist", hangar.ActComputeWrite, false},
		{"Data Scientist", hangar.ActSecretReveal, false},
		{"Data Scientist", hangar.ActApprovalApprove, false},
		{"Compute Operator", hangar.ActComputeWrite, true},
		{"Compute Operator", hangar.ActComputeDelete, true},
		{"Compute Operator", hangar.ActModelWrite, false},
		{"Compute Operator", hangar.ActSecretRead, false},
		{"Approver", hangar.ActApprovalApprove, true},
		{"Approver", hangar.ActModelRead, true},
		{"Approver", hangar.ActModelWrite, false},
		{"Approver", hangar.ActSecretRead, false},
		{"Approver", hangar.ActWorkspaceWrite, false},
	}
	for _, tt := range tests {
		r, err := hangar.LookupRole(tt.role)
		if err != nil {
			t.Fatalf("LookupRole(%q): %v", tt.role, err)
		}
		if got := r.Allows(tt.action); got != tt.want {
			t.Errorf("%s.Allows(%s) = %v, want %v", tt.role, tt.action, got, tt.want)
		}
	}
}

func TestLookupRoleUnknown(t *testing.T) {
	_, err := hangar.LookupRole("Janitor")
	if hangar.ErrorCode(err) != hangar.EINVALID {
		t.Fatalf("LookupRole(Janitor) = %v, want %s", err, hangar.EINVALID)
	}
}

func TestAuthorizeScopes(t *testing.T) {
	as := []*hangar.RoleAssignment{
		{Role: "Reader", Workspace: ""},
		{Role: "Contributor", Workspace: "team-a"},
	}
	tests := []struct {
		ws, action string
		want       bool
	}{
		{"team-a", hangar.ActModelWrite, true},
		{"team-b", hangar.ActModelWrite, false},
		{"team-b", hangar.ActModelRead, true},
		{"", hangar.ActWorkspaceWrite, false},
		{"", hangar.ActWorkspaceRead, true},
	}
	for _, tt := range tests {
		if got := hangar.Authorize(as, tt.ws, tt.action); got != tt.want {
			t.Errorf("Authorize(%q, %s) = %v, want %v", tt.ws, tt.action, got, tt.want)
		}
	}
}

func TestNames(t *testing.T) {
	tests := []struct {
		name    string
		check   func(string) error
		in      string
		wantErr bool
	}{
		{"workspace ok", hangar.ValidateWorkspaceName, "team-a_1", false},
		{"workspace short", hangar.ValidateWorkspaceName, "ab", true},
		{"workspace long", hangar.ValidateWorkspaceName, "a234567890123456789012345678901234", true},
		{"workspace leading dash", hangar.ValidateWorkspaceName, "-abc", true},
		{"workspace slash", hangar.ValidateWorkspaceName, "a/b/c", true},
		{"workspace unicode", hangar.ValidateWorkspaceName, "tëam", true},
		{"asset ok", func(s string) error { return hangar.ValidateName("token", s) }, "ci.deploy-1", false},
		{"asset empty", func(s string) error { return hangar.ValidateName("token", s) }, "", true},
		{"asset space", func(s string) error { return hangar.ValidateName("token", s) }, "ci deploy", true},
		{"secret ok", hangar.ValidateSecretName, "DB_PASSWORD", false},
		{"secret dot", hangar.ValidateSecretName, "db.password", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.check(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("check(%q) = %v, wantErr %v", tt.in, err, tt.wantErr)
			}
			if err != nil && hangar.ErrorCode(err) != hangar.EINVALID {
				t.Fatalf("code = %s, want %s", hangar.ErrorCode(err), hangar.EINVALID)
			}
		})
	}
}

func TestTokenSecret(t *testing.T) {
	s1, h1, p1, err := hangar.NewTokenSecret()
	if err != nil {
		t.Fatal(err)
	}
	s2, h2, _, _ := hangar.NewTokenSecret()
	if s1 == s2 || hangar.EqualHash(h1, h2) {
		t.Fatal("two token secrets are equal")
	}
	if !hangar.LooksLikeTokenSecret(s1) || hangar.LooksLikeTokenSecret(s1+"x") || hangar.LooksLikeTokenSecret("Bearer") {
		t.Fatal("LooksLikeTokenSecret misjudges shapes")
	}
	if !hangar.EqualHash(hangar.HashTokenSecret(s1), h1) {
		t.Fatal("hash of the secret differs from the issued hash")
	}
	if len(p1) != len(hangar.TokenSecretPrefix)+6 || s1[:len(p1)] != p1 {
		t.Fatalf("prefix %q is not the start of the secret", p1)
	}
}

func TestEventHashChanges(t *testing.T) {
	e := hangar.Event{Seq: 1, Actor: "owner", Action: hangar.ActWorkspaceWrite, Target: "workspaces/a", PrevHash: hangar.GenesisHash}
	key := []byte("role-test-audit-key-of-32-bytes!")
	h := e.ComputeHash(key)
	for _, mutate := range []func(*hangar.Event){
		func(e *hangar.Event) { e.Seq = 2 },
		func(e *hangar.Event) { e.Actor = "someone" },
		func(e *hangar.Event) { e.Target = "workspaces/b" },
		func(e *hangar.Event) { e.PrevHash = "x" },
		// Length prefixes: moving a character between fields changes the hash.
		func(e *hangar.Event) { e.Actor, e.ActorID = "owne", "r" },
	} {
		c := e
		mutate(&c)
		if c.ComputeHash(key) == h {
			t.Errorf("hash unchanged after mutation to %+v", c)
		}
	}
}
