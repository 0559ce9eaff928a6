package hangar

import (
	"context"
	"slices"
	"strings"
	"time"
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
	// RoleJobRunner is Hangar's own (Azure has none): the role of the
	// short-lived credential a running job receives, enough to track its
	// run, read its inputs and register a model, nothing more.
	RoleJobRunner = "Job Runner"
)

// roleNames are the built-in roles in the order BuiltinRoles lists them.
func roleNames() []string {
	return []string{RoleOwner, RoleContributor, RoleReader, RoleDataScientist, RoleComputeOperator, RoleApprover, RoleJobRunner}
}

// BuiltinRoles returns the roles every server has, Owner first, after Azure
// ML's built-in roles (Azure ML's documentation, "Manage access to an Azure
// Machine Learning workspace"). The roles and their slices are the caller's
// own: changing them changes no one's permissions.
//
// Differences from Azure, on purpose: secret values are their own action
// (secrets/reveal) that only Owner holds, and approving a model promotion is
// reserved to Owner and Approver, so that the people who build a model are
// not the ones who let it into production. As in Azure, every role may read
// the role definitions (roleDefinitions/read).
func BuiltinRoles() []Role {
	names := roleNames()
	roles := make([]Role, len(names))
	for i, name := range names {
		roles[i], _ = builtinRole(name)
	}
	return roles
}

// builtinRole returns a fresh copy of the built-in role with the canonical
// name.
func builtinRole(name string) (Role, bool) {
	switch name {
	case RoleOwner:
		return Role{
			Name:        RoleOwner,
			Description: "Full access, including role assignments, tokens and secret values.",
			Actions:     []string{"*"},
		}, true
	case RoleContributor:
		return Role{
			Name:        RoleContributor,
			Description: "Create, change and delete every asset, job, compute and endpoint; no role assignments, tokens, secret values or approvals.",
			Actions:     []string{"*"},
			NotActions:  append(authorizationWrites(), ActSecretReveal, "approvals/*"),
		}, true
	case RoleReader:
		return Role{
			Name:        RoleReader,
			Description: "Read everything except secret values; change nothing.",
			Actions:     []string{"*/read"},
		}, true
	case RoleDataScientist:
		return Role{
			Name:        RoleDataScientist,
			Description: "Everything in a workspace except changing the workspace itself, compute, role assignments, tokens, secret values and approvals.",
			// Azure's role also has "*/action"; no Hangar action has the verb
			// "action", so named actions are granted by name: an endpoint's
			// credentials (Azure's onlineEndpoints/listKeys/action).
			Actions: []string{"*/read", "*/write", "*/delete", ActOnlineEndpointListKeys},
			NotActions: append(authorizationWrites(),
				ActWorkspaceWrite, ActWorkspaceDelete, ActComputeWrite, ActComputeDelete,
				ActSecretReveal, "approvals/*"),
		}, true
	case RoleComputeOperator:
		return Role{
			Name:        RoleComputeOperator,
			Description: "Create, change and delete compute; read the workspace and the role definitions.",
			Actions:     []string{ActWorkspaceRead, ActRoleDefinitionRead, "computes/*"},
		}, true
	case RoleApprover:
		return Role{
			Name:        RoleApprover,
			Description: "Approve or reject model promotions; read models, approvals, the workspace and the role definitions; nothing else.",
			Actions:     []string{ActWorkspaceRead, ActRoleDefinitionRead, ActModelRead, ActApprovalRead, ActApprovalApprove},
		}, true
	case RoleJobRunner:
		return Role{
			Name:        RoleJobRunner,
			Description: "What a running job's short-lived credential may do: report its step, track runs, read data, components and environments, read and write artifacts, register models.",
			Actions: []string{
				ActWorkspaceRead, ActRoleDefinitionRead,
				ActJobRead, ActJobWrite,
				ActExperimentRead, ActExperimentWrite, ActRunRead, ActRunWrite,
				ActArtifactRead, ActArtifactWrite,
				ActDataRead, ActDatastoreRead, ActComponentRead, ActEnvironmentRead,
				ActModelRead, ActModelWrite,
			},
		}, true
	}
	return Role{}, false
}

// authorizationWrites are the actions that change who may do what: only
// Owner has them.
func authorizationWrites() []string {
	return []string{
		ActRoleAssignmentWrite, ActRoleAssignmentDelete,
		ActIdentityWrite, ActTokenWrite, ActTokenDelete,
	}
}

// canonicalRole maps the lower-cased spellings people use to the canonical
// name, or "".
func canonicalRole(lower string) string {
	switch lower {
	case "owner":
		return RoleOwner
	case "contributor":
		return RoleContributor
	case "reader":
		return RoleReader
	case "data scientist", "data-scientist", "datascientist", "azureml data scientist":
		return RoleDataScientist
	case "compute operator", "compute-operator", "computeoperator", "azureml compute operator":
		return RoleComputeOperator
	case "approver":
		return RoleApprover
	case "job runner", "job-runner", "jobrunner":
		return RoleJobRunner
	}
	return ""
}

// LookupRole returns the built-in role with the name, accepting Azure's
// spellings ("AzureML Data Scientist") and kebab case ("data-scientist").
// Errors: EINVALID naming the known roles.
func LookupRole(name string) (Role, error) {
	if r, ok := builtinRole(canonicalRole(strings.ToLower(strings.TrimSpace(name)))); ok {
		return r, nil
	}
	return Role{}, Errorf(EINVALID, "unknown role %q: use one of %s", name, strings.Join(roleNames(), ", "))
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

// RoleService stores role assignments. The SQL store and the HTTP client
// implement it.
type RoleService interface {
	// AssignRole stores an assignment for the identity named a.IdentityName.
	// Errors: EINVALID (unknown role), ENOTFOUND (identity, workspace), ECONFLICT (exists).
	AssignRole(ctx context.Context, a *RoleAssignment) error
	// ListRoleAssignments lists assignments ordered by identity, workspace, role.
	ListRoleAssignments(ctx context.Context, f RoleAssignmentFilter, opt ListOptions) (*Page[*RoleAssignment], error)
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

// ScopeAssignments returns the assignments a token scoped to workspace acts
// with: all of them for a server-wide token (workspace ""); otherwise those
// on workspace and the server-wide ones narrowed to it (copies whose
// Workspace is workspace), so that Authorize allows such a token nothing
// outside its workspace, server-wide actions included. The result is new;
// the assignments given are not changed.
func ScopeAssignments(assignments []*RoleAssignment, workspace string) []*RoleAssignment {
	out := make([]*RoleAssignment, 0, len(assignments))
	for _, a := range assignments {
		if workspace == "" || a.Workspace == workspace || a.Workspace == "" {
			c := *a
			if workspace != "" {
				c.Workspace = workspace
			}
			out = append(out, &c)
		}
	}
	return out
}

// TokenCarriesExactly reports whether a token scoped to workspace, for an
// identity with the assignments, would carry exactly role on workspace
// ("" = server-wide): the assignments ScopeAssignments keeps are at least
// one, and every one of them is role (in any spelling LookupRole takes) on
// workspace. A server-wide token therefore needs the identity's every
// assignment to be role server-wide; a workspace token, its assignments on
// the workspace and server-wide ones to be role.
func TokenCarriesExactly(assignments []*RoleAssignment, role, workspace string) bool {
	want, err := LookupRole(role)
	if err != nil {
		return false
	}
	scoped := ScopeAssignments(assignments, workspace)
	for _, a := range scoped {
		r, err := LookupRole(a.Role)
		if err != nil || r.Name != want.Name || a.Workspace != workspace {
			return false
		}
	}
	return len(scoped) > 0
}
