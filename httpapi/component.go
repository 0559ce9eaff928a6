package httpapi

import (
	"context"
	"net/http"

	"github.com/hangar-ml/hangar"
)

// Components are served as environments are (environment.go), under
// /api/v1/workspaces/{ws}/components.

// componentBody is the body of a component create: the fields a client
// supplies (the name is the path's). Spec is the normalized spec as text.
type componentBody struct {
	Version         string            `json:"version,omitempty"`
	DisplayName     string            `json:"display_name,omitempty"`
	Description     string            `json:"description,omitempty"`
	Tags            map[string]string `json:"tags,omitempty"`
	Spec            string            `json:"spec"`
	Code            hangar.Digest     `json:"code,omitempty"`
	IsDeterministic bool              `json:"is_deterministic"`
}

func (s *Server) componentService() (hangar.ComponentService, error) {
	if s.Components == nil {
		return nil, hangar.Errorf(hangar.ENOTIMPLEMENTED, "components are not enabled on this server")
	}
	return s.Components, nil
}

func (s *Server) listComponents(w http.ResponseWriter, r *http.Request, c *caller) error {
	svc, err := s.componentService()
	if err != nil {
		return err
	}
	return servePage(w, r, c.workspace, svc.ListComponents)
}

func (s *Server) listComponentVersions(w http.ResponseWriter, r *http.Request, c *caller) error {
	svc, err := s.componentService()
	if err != nil {
		return err
	}
	f, err := versionFilterOf(r, c)
	if err != nil {
		return err
	}
	return servePage(w, r, f, func(ctx context.Context, f versionFilter, opt hangar.ListOptions) (*hangar.Page[*hangar.Component], error) {
		return svc.ListComponentVersions(ctx, f.workspace, f.name, f.archived, opt)
	})
}

// createComponent stores a version after CheckComponentSpec accepted its
// spec, so that every stored spec reads back for the job runner.
func (s *Server) createComponent(w http.ResponseWriter, r *http.Request, c *caller) error {
	svc, err := s.componentService()
	if err != nil {
		return err
	}
	var b componentBody
	if err := s.decodeBody(w, r, &b); err != nil {
		return err
	}
	in := &hangar.Component{
		Workspace: c.workspace, Name: r.PathValue("name"), Version: b.Version,
		DisplayName: b.DisplayName, Description: b.Description, Tags: b.Tags,
		Spec: b.Spec, Code: b.Code, IsDeterministic: b.IsDeterministic,
	}
	if err := in.Validate(); err != nil {
		return err
	}
	if s.CheckComponentSpec != nil {
		if err := s.CheckComponentSpec(in); err != nil {
			return err
		}
	}
	out, err := svc.CreateComponent(r.Context(), in)
	if err != nil {
		return err
	}
	return writeJSON(w, createdStatus(out.Existing), out)
}

func (s *Server) getComponent(w http.ResponseWriter, r *http.Request, c *caller) error {
	svc, err := s.componentService()
	if err != nil {
		return err
	}
	out, err := svc.Component(r.Context(), c.workspace, r.PathValue("name"), r.PathValue("version"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) latestComponent(w http.ResponseWriter, r *http.Request, c *caller) error {
	svc, err := s.componentService()
	if err != nil {
		return err
	}
	out, err := svc.LatestComponent(r.Context(), c.workspace, r.PathValue("name"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) archiveComponent(w http.ResponseWriter, r *http.Request, c *caller) error {
	return s.setComponentArchived(w, r, c, true)
}

func (s *Server) restoreComponent(w http.ResponseWriter, r *http.Request, c *caller) error {
	return s.setComponentArchived(w, r, c, false)
}

func (s *Server) setComponentArchived(w http.ResponseWriter, r *http.Request, c *caller, archived bool) error {
	svc, err := s.componentService()
	if err != nil {
		return err
	}
	out, err := svc.SetComponentArchived(r.Context(), c.workspace, r.PathValue("name"), r.PathValue("version"), archived)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

// The client's component methods implement hangar.ComponentService.
var _ hangar.ComponentService = (*Client)(nil)

// CreateComponent creates a version of c.Name in c.Workspace (see
// hangar.ComponentService); the answer's Existing tells an existing
// version returned for the same definition.
func (c *Client) CreateComponent(ctx context.Context, in *hangar.Component) (*hangar.Component, error) {
	var out hangar.Component
	err := c.call(ctx, http.MethodPost, pathf("/api/v1/workspaces/%s/components/%s/versions", in.Workspace, in.Name), nil,
		componentBody{Version: in.Version, DisplayName: in.DisplayName, Description: in.Description, Tags: in.Tags,
			Spec: in.Spec, Code: in.Code, IsDeterministic: in.IsDeterministic}, &out)
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// Component returns a version of a component, archived or not.
func (c *Client) Component(ctx context.Context, workspace, name, version string) (*hangar.Component, error) {
	var out hangar.Component
	if err := c.call(ctx, http.MethodGet, pathf("/api/v1/workspaces/%s/components/%s/versions/%s", workspace, name, version), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// LatestComponent returns the latest version of a component that is not
// archived.
func (c *Client) LatestComponent(ctx context.Context, workspace, name string) (*hangar.Component, error) {
	var out hangar.Component
	if err := c.call(ctx, http.MethodGet, pathf("/api/v1/workspaces/%s/components/%s/latest", workspace, name), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListComponents lists the latest version of each component name.
func (c *Client) ListComponents(ctx context.Context, workspace string, opt hangar.ListOptions) (*hangar.Page[*hangar.Component], error) {
	return listPage[*hangar.Component](ctx, c, pathf("/api/v1/workspaces/%s/components", workspace), nil, opt)
}

// ListComponentVersions lists the versions of a component, newest first.
func (c *Client) ListComponentVersions(ctx context.Context, workspace, name string, includeArchived bool, opt hangar.ListOptions) (*hangar.Page[*hangar.Component], error) {
	return listPage[*hangar.Component](ctx, c, pathf("/api/v1/workspaces/%s/components/%s/versions", workspace, name), archivedQuery(includeArchived), opt)
}

// SetComponentArchived archives or restores a version.
func (c *Client) SetComponentArchived(ctx context.Context, workspace, name, version string, archived bool) (*hangar.Component, error) {
	var out hangar.Component
	if err := c.call(ctx, http.MethodPost, pathf("/api/v1/workspaces/%s/components/%s/versions/%s/"+archiveVerb(archived), workspace, name, version), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
