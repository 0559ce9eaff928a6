package httpapi

import (
	"context"
	"net/http"
	"net/url"
	"slices"

	"github.com/hangar-ml/hangar"
)

// roleAssignmentRequest is the body of POST /api/v1/role-assignments.
type roleAssignmentRequest struct {
	IdentityName string `json:"identity_name"`
	Role         string `json:"role"`
	Workspace    string `json:"workspace,omitempty"`
}

// listRoles lists the built-in roles in their fixed order (Owner first),
// paged like every list; every built-in role holds roleDefinitions/read.
func (s *Server) listRoles(w http.ResponseWriter, r *http.Request, _ *caller) error {
	return servePage(w, r, struct{}{}, unfiltered(rolesPage))
}

// rolesPage pages through the built-in roles; the page token names the last
// role of the page before.
func rolesPage(_ context.Context, opt hangar.ListOptions) (*hangar.Page[hangar.Role], error) {
	roles := hangar.BuiltinRoles()
	if opt.PageToken != "" {
		after, err := decodeNameToken(opt.PageToken)
		if err != nil {
			return nil, err
		}
		i := slices.IndexFunc(roles, func(r hangar.Role) bool { return r.Name == after })
		if i < 0 {
			return nil, errBadPageToken()
		}
		roles = roles[i+1:]
	}
	page := &hangar.Page[hangar.Role]{Items: roles}
	if n := opt.Limit(); len(roles) > n {
		page.Items = roles[:n]
		page.NextPageToken = encodeNameToken(roles[n-1].Name)
	}
	return page, nil
}

// assignRole needs roleAssignments/write on the workspace of the request
// (its route lets only callers with it somewhere through). A caller without
// identities/read server-wide may only assign roles to identities it may
// see, and gets the same 404 for others as for a missing one.
func (s *Server) assignRole(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req roleAssignmentRequest
	if err := s.decodeBody(w, r, &req); err != nil {
		return err
	}
	if err := c.require(req.Workspace, hangar.ActRoleAssignmentWrite); err != nil {
		return err
	}
	if err := hangar.ValidateName("identity", req.IdentityName); err != nil {
		return err
	}
	role, err := hangar.LookupRole(req.Role)
	if err != nil {
		return err
	}
	if req.Workspace != "" {
		if err := hangar.ValidateWorkspaceName(req.Workspace); err != nil {
			return err
		}
	}
	if err := s.requireVisible(r.Context(), c.principal, req.IdentityName, req.Workspace); err != nil {
		return err
	}
	a := &hangar.RoleAssignment{IdentityName: req.IdentityName, Role: role.Name, Workspace: req.Workspace}
	if err := s.Roles.AssignRole(r.Context(), a); err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, a)
}

// listRoleAssignments lists the assignments of the ?workspace= filter, on
// which its route authorized roleAssignments/read (server-wide without one).
func (s *Server) listRoleAssignments(w http.ResponseWriter, r *http.Request, c *caller) error {
	f := hangar.RoleAssignmentFilter{IdentityName: r.URL.Query().Get("identity"), Workspace: c.workspace}
	return servePage(w, r, f, s.Roles.ListRoleAssignments)
}

// removeRoleAssignment authorizes on the assignment's own workspace, which
// it finds by listing: RoleService has no lookup by id. Its route lets only
// callers with roleAssignments/delete somewhere through. A caller without
// the right server-wide gets the same 403 for a missing assignment and for
// one it may not remove, naming neither the assignment's workspace nor its
// role: whether it exists, and where, is not the caller's business.
func (s *Server) removeRoleAssignment(w http.ResponseWriter, r *http.Request, c *caller) error {
	p := c.principal
	id := r.PathValue("id")
	ctx := r.Context()
	if !p.can("", hangar.ActRoleAssignmentDelete) {
		a, err := s.findRoleAssignment(ctx, id)
		if err != nil {
			return err
		}
		if a == nil || !p.can(a.Workspace, hangar.ActRoleAssignmentDelete) {
			return forbidden(p, "", hangar.ActRoleAssignmentDelete)
		}
	}
	if err := s.Roles.RemoveRoleAssignment(ctx, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// findRoleAssignment returns the assignment with the id, or nil.
func (s *Server) findRoleAssignment(ctx context.Context, id string) (*hangar.RoleAssignment, error) {
	for a, err := range allItems(ctx, hangar.RoleAssignmentFilter{}, s.Roles.ListRoleAssignments) {
		if err != nil {
			return nil, err
		}
		if a.ID == id {
			return a, nil
		}
	}
	return nil, nil
}

// ListRoles lists every built-in role, following the pages.
func (c *Client) ListRoles(ctx context.Context) ([]hangar.Role, error) {
	return collect(allItems(ctx, struct{}{}, unfiltered(c.ListRolesPage)), nil)
}

// ListRolesPage lists one page of the built-in roles.
func (c *Client) ListRolesPage(ctx context.Context, opt hangar.ListOptions) (*hangar.Page[hangar.Role], error) {
	return listPage[hangar.Role](ctx, c, "/api/v1/roles", nil, opt)
}

// AssignRole assigns a.Role to the identity a.IdentityName on a.Workspace
// ("" = server-wide) and fills in the fields the server sets.
func (c *Client) AssignRole(ctx context.Context, a *hangar.RoleAssignment) error {
	req := roleAssignmentRequest{IdentityName: a.IdentityName, Role: a.Role, Workspace: a.Workspace}
	return c.call(ctx, http.MethodPost, "/api/v1/role-assignments", nil, req, a)
}

// ListRoleAssignments lists assignments, filtered by identity name and workspace.
func (c *Client) ListRoleAssignments(ctx context.Context, f hangar.RoleAssignmentFilter, opt hangar.ListOptions) (*hangar.Page[*hangar.RoleAssignment], error) {
	q := url.Values{}
	if f.IdentityName != "" {
		q.Set("identity", f.IdentityName)
	}
	if f.Workspace != "" {
		q.Set("workspace", f.Workspace)
	}
	return listPage[*hangar.RoleAssignment](ctx, c, "/api/v1/role-assignments", q, opt)
}

// RemoveRoleAssignment deletes an assignment by id.
func (c *Client) RemoveRoleAssignment(ctx context.Context, id string) error {
	return c.call(ctx, http.MethodDelete, pathf("/api/v1/role-assignments/%s", id), nil, nil, nil)
}
