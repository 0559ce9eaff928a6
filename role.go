package hangar

import (
	"context"
	"slices"
	"strings"
	"time"
)

// Actions are "<resource>/<verb>" strings, modelled on Azure RBAC operations
// so that Azure-style role definitions translate nearly one to one. Verbs are
// read, write, delete and named actions (reveal, approve).
const (
	ActWorkspaceRead   = "workspaces/read"
	ActWorkspaceWrite  = "workspaces/write"
	ActWorkspaceDelete = "workspaces/delete"

	ActIdentityRead  = "identities/read"
	ActIdentityWrite = "identities/write"
	ActTokenRead     = "tokens/read"
	ActTokenWrite    = "tokens/write"
	ActTokenDelete   = "tokens/delete"

	ActRoleAssignmentRead   = "roleAssignments/read"
	ActRoleAssignmentWrite  = "roleAssignments/write"
	ActRoleAssignmentDelete = "roleAssignments/delete"

	ActAuditRead = "audit/read"

	ActSecretRead   = "secrets/read"   // names and metadata, never values
	ActSecretWrite  = "secrets/write"  // set a value (granting it to a workload also takes secrets/reveal)
	ActSecretDelete = "secrets/delete" // delete
	ActSecretReveal = "secrets/reveal" // read a value: Owner, and identities granted the secret

	ActComputeRead   = "computes/read"
	ActComputeWrite  = "computes/write"
	ActComputeDelete = "computes/delete"

	ActModelRead       = "models/read"
	ActModelWrite      = "models/write"
	ActApprovalRead    = "approvals/read"
	ActApprovalApprove = "approvals/approve" // approve or reject a model promotion
)

// Role is a named set of allowed actions, in Azure's Actions/NotActions form:
// an action is allowed when some pattern of Actions matches it and no pattern
// of NotActions does. Patterns are "*", "<resource>/*", "*/<verb>" or an exact action.
type Role struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Actions     []string `json:"actions"`
	NotActions  []string `json:"not_actions,omitempty"`
}

// Built-in role names.
const (
	RoleOwner           = "Owner"
	RoleContributor     = "Contributor"
	RoleReader          = "Reader"
	RoleDataScientist   = "Data Scientist"
	RoleComputeOperator = "Compute Operator"
	RoleApprover        = "Approver"
)

// authorizationWrites are the actions that change who may do what: only Owner has them.
var authorizationWrites = []string{
	ActRoleAssignmentWrite, ActRoleAssignmentDelete,
	ActIdentityWrite, ActTokenWrite, ActTokenDelete,
}

// BuiltinRoles are the roles every server has, after Azure ML's built-ins
// (reference/azureml.md §4.2). Differences from Azure, on purpose: secret
// values are their own action (secrets/reveal) that only Owner holds, and
// approving a model promotion is reserved to Owner and Approver, so that the
// people who build a model are not the ones who let it into production.
var BuiltinRoles = []Role{
	{
		Name:        RoleOwner,
		Description: "Full access, including role assignments, tokens and secret values.",
		Actions:     []string{"*"},
	},
	{
		Name:        RoleContributor,
		Description: "Create, change and delete every asset, job, compute and endpoint; no role assignments, tokens, secret values or approvals.",
		Actions:     []string{"*"},
		NotActions:  append(slices.Clone(authorizationWrites), ActSecretReveal, "approvals/*"),
	},
	{
		Name:        RoleReader,
		Description: "Read everything except secret values; change nothing.",
		Actions:     []string{"*/read"},
	},
	{
		Name:        RoleDataScientist,
		Description: "Everything in a workspace except changing the workspace itself, compute, role assignments, tokens, secret values and approvals.",
		Actions:     []string{"*/read", "*/write", "*/delete", "*/action"},
		NotActions: append(slices.Clone(authorizationWrites),
			ActWorkspaceWrite, ActWorkspaceDelete, ActComputeWrite, ActComputeDelete,
			ActSecretReveal, "approvals/*"),
	},
	{
		Name:        RoleComputeOperator,
		Description: "Create, change and delete compute; read the workspace.",
		Actions:     []string{ActWorkspaceRead, "computes/*"},
	},
	{
		Name:        RoleApprover,
		Description: "Approve or reject model promotions; read models and approvals; nothing else.",
		Actions:     []string{ActWorkspaceRead, ActModelRead, ActApprovalRead, ActApprovalApprove},
	},
}

// roleAliases maps the lower-cased spellings people use to the canonical name.
var roleAliases = map[string]string{
	"owner":                    RoleOwner,
	"contributor":              RoleContributor,
	"reader":                   RoleReader,
	"data scientist":           RoleDataScientist,
	"data-scientist":           RoleDataScientist,
	"datascientist":            RoleDataScientist,
	"azureml data scientist":   RoleDataScientist,
	"compute operator":         RoleComputeOperator,
	"compute-operator":         RoleComputeOperator,
	"computeoperator":          RoleComputeOperator,
	"azureml compute operator": RoleComputeOperator,
	"approver":                 RoleApprover,
}

// LookupRole returns the built-in role with the name, accepting Azure's
// spellings ("AzureML Data Scientist") and kebab case ("data-scientist").
// Errors: EINVALID naming the known roles.
func LookupRole(name string) (Role, error) {
	canon, ok := roleAliases[strings.ToLower(strings.TrimSpace(name))]
	if ok {
		for _, r := range BuiltinRoles {
			if r.Name == canon {
				return r, nil
			}
		}
	}
	names := make([]string, len(BuiltinRoles))
	for i, r := range BuiltinRoles {
		names[i] = r.Name
	}
	return Role{}, Errorf(EINVALID, "unknown role %q: use one of %s", name, strings.Join(names, ", "))
}

// Allows reports whether the role permits the action.
func (r Role) Allows(action string) bool {
	match := func(patterns []string) bool {
		return slices.ContainsFunc(patterns, func(p string) bool { return actionMatches(p, action) })
	}
	return match(r.Actions) && !match(r.NotActions)
}

func actionMatches(pattern, action string) bool {
	if pattern == "*" || pattern == action {
		return true
	}
	pres, pverb, ok := strings.Cut(pattern, "/")
	if !ok {
		return false
	}
	ares, averb, ok := strings.Cut(action, "/")
	if !ok {
		return false
	}
	return (pres == "*" || pres == ares) && (pverb == "*" || pverb == averb)
}

// RoleAssignment gives an identity a role on one workspace, or on every
// workspace and the server itself when Workspace is "".
type RoleAssignment struct {
	ID           string    `json:"id"`
	IdentityID   string    `json:"identity_id"`
	IdentityName string    `json:"identity_name"`
	Role         string    `json:"role"`
	Workspace    string    `json:"workspace,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
}

// RoleAssignmentFilter narrows a list of assignments; empty fields match all.
type RoleAssignmentFilter struct {
	IdentityName string
	Workspace    string
}

// RoleService stores role assignments.
type RoleService interface {
	// AssignRole stores an assignment for the identity named a.IdentityName.
	// Errors: EINVALID (unknown role), ENOTFOUND (identity, workspace), ECONFLICT (exists).
	AssignRole(ctx context.Context, a *RoleAssignment) error
	// ListRoleAssignments lists assignments ordered by identity, workspace, role.
	ListRoleAssignments(ctx context.Context, f RoleAssignmentFilter, opt ListOptions) (*Page[*RoleAssignment], error)
	// RoleAssignmentsOf returns every assignment of an identity, for authorization.
	RoleAssignmentsOf(ctx context.Context, identityID string) ([]*RoleAssignment, error)
	// RemoveRoleAssignment deletes an assignment by id. Errors: ENOTFOUND.
	RemoveRoleAssignment(ctx context.Context, id string) error
}

// Authorize reports whether the assignments allow action on workspace (""
// for server-wide actions such as creating a workspace). A server-wide
// assignment applies to every workspace; a workspace assignment only to its own.
func Authorize(assignments []*RoleAssignment, workspace, action string) bool {
	for _, a := range assignments {
		if a.Workspace != "" && a.Workspace != workspace {
			continue
		}
		r, err := LookupRole(a.Role)
		if err == nil && r.Allows(action) {
			return true
		}
	}
	return false
}
