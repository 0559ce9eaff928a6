package hangar_test

import (
	"slices"
	"strings"
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
		// Every role reads the role definitions, as in Azure.
		{"Owner", hangar.ActRoleDefinitionRead, true},
		{"Contributor", hangar.ActRoleDefinitionRead, true},
		{"Reader", hangar.ActRoleDefinitionRead, true},
		{"Data Scientist", hangar.ActRoleDefinitionRead, true},
		{"Compute Operator", hangar.ActRoleDefinitionRead, true},
		{"Approver", hangar.ActRoleDefinitionRead, true},
		// Artifacts and the actions of what is yet to come.
		{"Reader", hangar.ActArtifactRead, true},
		{"Reader", hangar.ActArtifactWrite, false},
		{"Data Scientist", hangar.ActArtifactWrite, true},
		{"Data Scientist", hangar.ActJobWrite, true},
		{"Data Scientist", hangar.ActRunWrite, true},
		{"Data Scientist", hangar.ActOnlineDeploymentWrite, true},
		// Endpoint credentials call the endpoint: not for readers.
		{"Data Scientist", hangar.ActOnlineEndpointListKeys, true},
		{"Contributor", hangar.ActOnlineEndpointListKeys, true},
		{"Owner", hangar.ActOnlineEndpointListKeys, true},
		{"Reader", hangar.ActOnlineEndpointListKeys, false},
		{"Approver", hangar.ActOnlineEndpointListKeys, false},
		{"Job Runner", hangar.ActOnlineEndpointListKeys, false},
		{"Compute Operator", hangar.ActOnlineEndpointListKeys, false},
		{"Reader", hangar.ActOnlineEndpointWrite, false},
		{"Data Scientist", hangar.ActOnlineEndpointWrite, true},
		{"Data Scientist", hangar.ActOnlineEndpointDelete, true},
		{"Contributor", hangar.ActScheduleDelete, true},
		{"Reader", hangar.ActMonitorRead, true},
		{"Reader", hangar.ActExperimentWrite, false},
		{"Compute Operator", hangar.ActArtifactRead, false},
		{"Compute Operator", hangar.ActJobRead, false},
		{"Approver", hangar.ActRegistryWrite, false},
		{"Approver", hangar.ActArtifactRead, false},
		{"Job Runner", hangar.ActRunWrite, true},
		{"job-runner", hangar.ActJobWrite, true},
		{"Job Runner", hangar.ActModelWrite, true},
		{"Job Runner", hangar.ActDataWrite, false},
		{"Job Runner", hangar.ActExperimentDelete, false},
		{"Job Runner", hangar.ActSecretRead, false},
		{"Job Runner", hangar.ActTokenWrite, false},
		{"Job Runner", hangar.ActRoleAssignmentWrite, false},
		{"Job Runner", hangar.ActApprovalApprove, false},
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

// TestBuiltinRolesAreCopies: changing what BuiltinRoles or LookupRole
// returned changes no one's permissions.
func TestBuiltinRolesAreCopies(t *testing.T) {
	roles := hangar.BuiltinRoles()
	var names []string
	for _, r := range roles {
		names = append(names, r.Name)
	}
	want := []string{hangar.RoleOwner, hangar.RoleContributor, hangar.RoleReader, hangar.RoleDataScientist, hangar.RoleComputeOperator, hangar.RoleApprover, hangar.RoleJobRunner}
	if !slices.Equal(names, want) {
		t.Fatalf("BuiltinRoles = %v, want %v", names, want)
	}
	for i := range roles {
		roles[i].Actions[0] = "*"
		roles[i].NotActions = nil
	}
	roles[2].Name = "Janitor"
	if hangar.BuiltinRoles()[2].Name != hangar.RoleReader {
		t.Error("renaming a returned role renamed the built-in one")
	}
	for _, name := range []string{hangar.RoleReader, hangar.RoleContributor, hangar.RoleApprover} {
		if r, _ := hangar.LookupRole(name); r.Allows(hangar.ActSecretReveal) {
			t.Errorf("%s may reveal secrets after a caller changed its copy of the roles", name)
		}
	}
	r, _ := hangar.LookupRole(hangar.RoleContributor)
	r.NotActions[0] = hangar.ActWorkspaceRead
	if again, _ := hangar.LookupRole(hangar.RoleContributor); !again.Allows(hangar.ActWorkspaceRead) || again.Allows(hangar.ActRoleAssignmentWrite) {
		t.Error("changing the role LookupRole returned changed the built-in one")
	}
	if !hangar.Authorize([]*hangar.RoleAssignment{{Role: hangar.RoleContributor}}, "", hangar.ActWorkspaceRead) {
		t.Error("Authorize sees a caller's change to a looked-up role")
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

// TestScopeAssignments: a token scoped to a workspace acts there with the
// assignments on it and the server-wide ones, and nowhere else — not on
// another workspace its identity holds roles on, not server-wide.
func TestScopeAssignments(t *testing.T) {
	as := []*hangar.RoleAssignment{
		{ID: "1", Role: hangar.RoleReader, Workspace: ""},
		{ID: "2", Role: hangar.RoleContributor, Workspace: "team-a"},
		{ID: "3", Role: hangar.RoleOwner, Workspace: "team-b"},
	}
	keys := func(as []*hangar.RoleAssignment) string {
		var k []string
		for _, a := range as {
			k = append(k, a.ID+":"+a.Role+"@"+a.Workspace)
		}
		return strings.Join(k, " ")
	}
	tests := []struct {
		scope string
		want  string
		// what the scoped assignments allow, and what not
		allowed, refused [][2]string // {workspace, action}
	}{
		{"", "1:Reader@ 2:Contributor@team-a 3:Owner@team-b",
			[][2]string{{"", hangar.ActWorkspaceRead}, {"team-b", hangar.ActSecretReveal}, {"team-c", hangar.ActModelRead}},
			[][2]string{{"", hangar.ActWorkspaceWrite}}},
		{"team-a", "1:Reader@team-a 2:Contributor@team-a",
			[][2]string{{"team-a", hangar.ActModelWrite}, {"team-a", hangar.ActAuditRead}},
			[][2]string{{"", hangar.ActWorkspaceRead}, {"", hangar.ActAuditRead}, {"team-b", hangar.ActModelRead}, {"team-c", hangar.ActModelRead}, {"team-b", hangar.ActSecretReveal}}},
		{"team-b", "1:Reader@team-b 3:Owner@team-b",
			[][2]string{{"team-b", hangar.ActSecretReveal}},
			[][2]string{{"team-a", hangar.ActModelWrite}, {"", hangar.ActTokenWrite}}},
		{"team-c", "1:Reader@team-c",
			[][2]string{{"team-c", hangar.ActModelRead}},
			[][2]string{{"team-c", hangar.ActModelWrite}, {"team-a", hangar.ActModelRead}, {"", hangar.ActIdentityRead}}},
	}
	for _, tt := range tests {
		got := hangar.ScopeAssignments(as, tt.scope)
		if k := keys(got); k != tt.want {
			t.Errorf("ScopeAssignments(%q) = %s, want %s", tt.scope, k, tt.want)
		}
		for _, c := range tt.allowed {
			if !hangar.Authorize(got, c[0], c[1]) {
				t.Errorf("scoped to %q: %s on %q refused, want allowed", tt.scope, c[1], c[0])
			}
		}
		for _, c := range tt.refused {
			if hangar.Authorize(got, c[0], c[1]) {
				t.Errorf("scoped to %q: %s on %q allowed, want refused", tt.scope, c[1], c[0])
			}
		}
	}
	if keys(as) != "1:Reader@ 2:Contributor@team-a 3:Owner@team-b" {
		t.Errorf("ScopeAssignments changed its input: %s", keys(as))
	}
}

func TestTokenCarriesExactly(t *testing.T) {
	a := func(role, ws string) *hangar.RoleAssignment { return &hangar.RoleAssignment{Role: role, Workspace: ws} }
	tests := []struct {
		name     string
		as       []*hangar.RoleAssignment
		role, ws string
		want     bool
	}{
		{"the role on the workspace", []*hangar.RoleAssignment{a(hangar.RoleReader, "team-a")}, "reader", "team-a", true},
		{"the role server-wide", []*hangar.RoleAssignment{a(hangar.RoleOwner, "")}, hangar.RoleOwner, "", true},
		{"no roles", nil, hangar.RoleReader, "team-a", false},
		{"a higher role", []*hangar.RoleAssignment{a(hangar.RoleContributor, "team-a")}, hangar.RoleReader, "team-a", false},
		{"roles elsewhere do not count", []*hangar.RoleAssignment{a(hangar.RoleReader, "team-a"), a(hangar.RoleOwner, "team-b")}, hangar.RoleReader, "team-a", true},
		{"only elsewhere", []*hangar.RoleAssignment{a(hangar.RoleReader, "team-b")}, hangar.RoleReader, "team-a", false},
		{"a server-wide role applies", []*hangar.RoleAssignment{a(hangar.RoleReader, "team-a"), a(hangar.RoleOwner, "")}, hangar.RoleReader, "team-a", false},
		{"the same role server-wide and on it", []*hangar.RoleAssignment{a(hangar.RoleReader, "team-a"), a(hangar.RoleReader, "")}, hangar.RoleReader, "team-a", true},
		{"a server-wide role narrowed", []*hangar.RoleAssignment{a(hangar.RoleReader, "")}, hangar.RoleReader, "team-a", true},
		{"two roles on it", []*hangar.RoleAssignment{a(hangar.RoleReader, "team-a"), a(hangar.RoleContributor, "team-a")}, hangar.RoleReader, "team-a", false},
		{"server-wide token, a workspace role", []*hangar.RoleAssignment{a(hangar.RoleReader, "team-a")}, hangar.RoleReader, "", false},
		{"server-wide token, also a workspace role", []*hangar.RoleAssignment{a(hangar.RoleReader, ""), a(hangar.RoleReader, "team-a")}, hangar.RoleReader, "", false},
		{"unknown requested role", []*hangar.RoleAssignment{a(hangar.RoleReader, "team-a")}, "Janitor", "team-a", false},
	}
	for _, tt := range tests {
		if got := hangar.TokenCarriesExactly(tt.as, tt.role, tt.ws); got != tt.want {
			t.Errorf("%s: TokenCarriesExactly(%s on %q) = %v, want %v", tt.name, tt.role, tt.ws, got, tt.want)
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
