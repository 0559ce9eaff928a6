package httpapi

import (
	"context"
	"net/http"

	"github.com/hangar-ml/hangar"
)

// Registries are workspaces of kind registry (hangar.WorkspaceKindRegistry):
// created by POST /api/v1/registries (registries/write server-wide), read
// and listed as workspaces are (workspaces/read), with roles granted on them
// as on any workspace. What a registry refuses (jobs, endpoints, …) is
// refused in authorize, for every route alike.

// registryLister lists the registries alone (sqlstore.WorkspaceService).
type registryLister interface {
	ListRegistries(ctx context.Context, opt hangar.ListOptions) (*hangar.Page[*hangar.Workspace], error)
}

// createRegistry answers POST /api/v1/registries: a workspace of kind
// registry.
func (s *Server) createRegistry(w http.ResponseWriter, r *http.Request, _ *caller) error {
	var req workspaceRequest
	if err := s.decodeBody(w, r, &req); err != nil {
		return err
	}
	ws := &hangar.Workspace{Name: req.Name, Kind: hangar.WorkspaceKindRegistry, DisplayName: req.DisplayName, Description: req.Description, Tags: req.Tags}
	if err := ws.Validate(); err != nil {
		return err
	}
	if err := s.Workspaces.CreateWorkspace(r.Context(), ws); err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, ws)
}

// getRegistry answers GET /api/v1/registries/{ws}; a workspace that is
// not a registry is not found here.
func (s *Server) getRegistry(w http.ResponseWriter, r *http.Request, c *caller) error {
	if !c.ws.IsRegistry() {
		return hangar.Errorf(hangar.ENOTFOUND, "registry %q not found: %q is a workspace, not a registry", c.workspace, c.workspace)
	}
	return writeJSON(w, http.StatusOK, c.ws)
}

// listRegistries answers GET /api/v1/registries: every registry to callers
// with server-wide workspaces/read, and to others the registries they hold
// it on (a page may then hold fewer than asked, with a next page token).
func (s *Server) listRegistries(w http.ResponseWriter, r *http.Request, c *caller) error {
	if c.can("", hangar.ActWorkspaceRead) {
		l, ok := s.Workspaces.(registryLister)
		if !ok {
			return hangar.Errorf(hangar.ENOTIMPLEMENTED, "this server's workspace store cannot list registries")
		}
		return servePage(w, r, struct{}{}, unfiltered(l.ListRegistries))
	}
	return servePage(w, r, c.principal, func(ctx context.Context, p *principal, opt hangar.ListOptions) (*hangar.Page[*hangar.Workspace], error) {
		page, err := s.readableWorkspaces(ctx, p, opt)
		if err != nil {
			return nil, err
		}
		items := page.Items[:0]
		for _, ws := range page.Items {
			if ws.IsRegistry() {
				items = append(items, ws)
			}
		}
		page.Items = items
		return page, nil
	})
}

// CreateRegistry creates a registry (a workspace of kind registry) and
// fills in the fields the server sets.
func (c *Client) CreateRegistry(ctx context.Context, w *hangar.Workspace) error {
	req := workspaceRequest{Name: w.Name, DisplayName: w.DisplayName, Description: w.Description, Tags: w.Tags}
	return c.call(ctx, http.MethodPost, "/api/v1/registries", nil, req, w)
}

// Registry returns one registry. Errors: ENOTFOUND, also for a workspace
// that is not a registry.
func (c *Client) Registry(ctx context.Context, name string) (*hangar.Workspace, error) {
	var ws hangar.Workspace
	if err := c.call(ctx, http.MethodGet, pathf("/api/v1/registries/%s", name), nil, nil, &ws); err != nil {
		return nil, err
	}
	return &ws, nil
}

// ListRegistries lists the registries the caller may see, by name.
func (c *Client) ListRegistries(ctx context.Context, opt hangar.ListOptions) (*hangar.Page[*hangar.Workspace], error) {
	return listPage[*hangar.Workspace](ctx, c, "/api/v1/registries", nil, opt)
}
