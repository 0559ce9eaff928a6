package httpapi

import (
	"context"
	"net/http"
	"slices"

	"github.com/hangar-ml/hangar"
)

// workspaceRequest is the body of POST /api/v1/workspaces: the fields a
// client may set.
type workspaceRequest struct {
	Name        string            `json:"name"`
	DisplayName string            `json:"display_name,omitempty"`
	Description string            `json:"description,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
}

// listWorkspaces shows every workspace to callers with server-wide
// workspaces/read, and to others the workspaces they hold it on.
func (s *Server) listWorkspaces(w http.ResponseWriter, r *http.Request, c *caller) error {
	if c.can("", hangar.ActWorkspaceRead) {
		return servePage(w, r, struct{}{}, unfiltered(s.Workspaces.ListWorkspaces))
	}
	return servePage(w, r, c.principal, s.readableWorkspaces)
}

// readableWorkspaces pages through the workspaces p holds workspaces/read
// on, by name; the page token is the last name of the page before.
func (s *Server) readableWorkspaces(ctx context.Context, p *principal, opt hangar.ListOptions) (*hangar.Page[*hangar.Workspace], error) {
	var names []string
	for _, a := range p.assignments {
		if a.Workspace != "" && !slices.Contains(names, a.Workspace) && p.can(a.Workspace, hangar.ActWorkspaceRead) {
			names = append(names, a.Workspace)
		}
	}
	slices.Sort(names)
	if opt.PageToken != "" {
		after, err := decodeNameToken(opt.PageToken)
		if err != nil {
			return nil, err
		}
		i, found := slices.BinarySearch(names, after)
		if found {
			i++
		}
		names = names[i:]
	}
	page := &hangar.Page[*hangar.Workspace]{Items: []*hangar.Workspace{}}
	for i, name := range names {
		if len(page.Items) == opt.Limit() {
			page.NextPageToken = encodeNameToken(names[i-1])
			break
		}
		ws, err := s.Workspaces.Workspace(ctx, name)
		if hangar.IsCode(err, hangar.ENOTFOUND) {
			continue // deleted since the assignment was read
		} else if err != nil {
			return nil, err
		}
		page.Items = append(page.Items, ws)
	}
	return page, nil
}

func (s *Server) createWorkspace(w http.ResponseWriter, r *http.Request, _ *caller) error {
	var req workspaceRequest
	if err := s.decodeBody(w, r, &req); err != nil {
		return err
	}
	ws := &hangar.Workspace{Name: req.Name, DisplayName: req.DisplayName, Description: req.Description, Tags: req.Tags}
	if err := ws.Validate(); err != nil {
		return err
	}
	if err := s.Workspaces.CreateWorkspace(r.Context(), ws); err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, ws)
}

func (s *Server) getWorkspace(w http.ResponseWriter, r *http.Request, c *caller) error {
	return writeJSON(w, http.StatusOK, c.ws)
}

func (s *Server) deleteWorkspace(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := s.Workspaces.DeleteWorkspace(r.Context(), c.workspace); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// CreateWorkspace creates w and fills in the fields the server sets.
func (c *Client) CreateWorkspace(ctx context.Context, w *hangar.Workspace) error {
	req := workspaceRequest{Name: w.Name, DisplayName: w.DisplayName, Description: w.Description, Tags: w.Tags}
	return c.call(ctx, http.MethodPost, "/api/v1/workspaces", nil, req, w)
}

// Workspace returns one workspace.
func (c *Client) Workspace(ctx context.Context, name string) (*hangar.Workspace, error) {
	var ws hangar.Workspace
	if err := c.call(ctx, http.MethodGet, pathf("/api/v1/workspaces/%s", name), nil, nil, &ws); err != nil {
		return nil, err
	}
	return &ws, nil
}

// ListWorkspaces lists the workspaces the caller may see, by name.
func (c *Client) ListWorkspaces(ctx context.Context, opt hangar.ListOptions) (*hangar.Page[*hangar.Workspace], error) {
	return listPage[*hangar.Workspace](ctx, c, "/api/v1/workspaces", nil, opt)
}

// DeleteWorkspace deletes a workspace with everything in it.
func (c *Client) DeleteWorkspace(ctx context.Context, name string) error {
	return c.call(ctx, http.MethodDelete, pathf("/api/v1/workspaces/%s", name), nil, nil, nil)
}
