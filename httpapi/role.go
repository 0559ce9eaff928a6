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
// paged like every list; any authenticated caller may. The page token names
// the last role of the page before.
func (s *Server) listRoles(w http.ResponseWriter, r *http.Request, p *principal) error {
	opt, err := listOptions(r.URL.Query())
	if err != nil {
		return err
	}
	roles := hangar.BuiltinRoles()
	if opt.PageToken != "" {
		after, err := decodeNameToken(opt.PageToken)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(roles, func(r hangar.Role) bool { return r.Name == after })
		if i < 0 {
			return hangar.Errorf(hangar.EINVALID, "invalid page_token: pass the next_page_token of the previous page unchanged")
		}
		roles = roles[i+1:]
	}
	page := &hangar.Page[hangar.Role]{Items: roles}
	if n := opt.Limit(); len(roles) > n {
		page.Items = roles[:n]
		page.NextPageToken = encodeNameToken(roles[n-1].Name)
	}
	return writePage(w, page)
}

func (s *Server) assignRole(w http.ResponseWriter, r *http.Request, p *principal) error {
	var req roleAssignmentRequest
	if err := s.decodeBody(w, r, &req); err != nil {
		return err
	}
	if err := p.require(req.Workspace, hangar.ActRoleAssignmentWrite); err != nil {
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
	a := &hangar.RoleAssignment{IdentityName: req.IdentityName, Role: role.Name, Workspace: req.Workspace}
	if err := s.Roles.AssignRole(r.Context(), a); err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, a)
}

// listRoleAssignments needs roleAssignments/read on the workspace filter, or
// server-wide without one.
func (s *Server) listRoleAssignments(w http.ResponseWriter, r *http.Request, p *principal) error {
	q := r.URL.Query()
	f := hangar.RoleAssignmentFilter{IdentityName: q.Get("identity"), Workspace: q.Get("workspace")}
	if err := p.require(f.Workspace, hangar.ActRoleAssignmentRead); err != nil {
		return err
	}
	opt, err := listOptions(q)
	if err != nil {
		return err
	}
	page, err := s.Roles.ListRoleAssignments(r.Context(), f, opt)
	if err != nil {
		return err
	}
	return writePage(w, page)
}

// removeRoleAssignment authorizes on the assignment's own workspace, which
// it finds by listing: RoleService has no lookup by id.
func (s *Server) removeRoleAssignment(w http.ResponseWriter, r *http.Request, p *principal) error {
	id := r.PathValue("id")
	ctx := r.Context()
	if !p.can("", hangar.ActRoleAssignmentDelete) {
		a, err := s.findRoleAssignment(ctx, id)
		if err != nil {
			return err
		}
		if a == nil {
			// Say no rather than "not found": existence is not the caller's business.
			return forbidden(p, "", hangar.ActRoleAssignmentDelete)
		}
		if err := p.require(a.Workspace, hangar.ActRoleAssignmentDelete); err != nil {
			return err
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
	opt := hangar.ListOptions{MaxResults: hangar.MaxMaxResults}
	for {
		page, err := s.Roles.ListRoleAssignments(ctx, hangar.RoleAssignmentFilter{}, opt)
		if err != nil {
			return nil, err
		}
		for _, a := range page.Items {
			if a.ID == id {
				return a, nil
			}
		}
		if page.NextPageToken == "" {
			return nil, nil
		}
		opt.PageToken = page.NextPageToken
	}
}

// ListRoles lists every built-in role, following the pages.
func (c *Client) ListRoles(ctx context.Context) ([]hangar.Role, error) {
	var all []hangar.Role
	opt := hangar.ListOptions{}
	for {
		page, err := c.ListRolesPage(ctx, opt)
		if err != nil {
			return nil, err
		}
		all = append(all, page.Items...)
		if page.NextPageToken == "" {
			return all, nil
		}
		opt.PageToken = page.NextPageToken
	}
}

// ListRolesPage lists one page of the built-in roles.
func (c *Client) ListRolesPage(ctx context.Context, opt hangar.ListOptions) (*hangar.Page[hangar.Role], error) {
	var page hangar.Page[hangar.Role]
	if err := c.call(ctx, http.MethodGet, "/api/v1/roles", listQuery(nil, opt), nil, &page); err != nil {
		return nil, err
	}
	return &page, nil
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
	var page hangar.Page[*hangar.RoleAssignment]
	if err := c.call(ctx, http.MethodGet, "/api/v1/role-assignments", listQuery(q, opt), nil, &page); err != nil {
		return nil, err
	}
	return &page, nil
}

// RoleAssignmentsOf returns every assignment of the identity with the id. The
// API filters by name, so this pages through all assignments, which needs
// server-wide roleAssignments/read.
func (c *Client) RoleAssignmentsOf(ctx context.Context, identityID string) ([]*hangar.RoleAssignment, error) {
	var out []*hangar.RoleAssignment
	opt := hangar.ListOptions{MaxResults: hangar.MaxMaxResults}
	for {
		page, err := c.ListRoleAssignments(ctx, hangar.RoleAssignmentFilter{}, opt)
		if err != nil {
			return nil, err
		}
		for _, a := range page.Items {
			if a.IdentityID == identityID {
				out = append(out, a)
			}
		}
		if page.NextPageToken == "" {
			return out, nil
		}
		opt.PageToken = page.NextPageToken
	}
}

// RemoveRoleAssignment deletes an assignment by id.
func (c *Client) RemoveRoleAssignment(ctx context.Context, id string) error {
	return c.call(ctx, http.MethodDelete, pathf("/api/v1/role-assignments/%s", id), nil, nil, nil)
}
