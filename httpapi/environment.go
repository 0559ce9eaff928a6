package httpapi

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/hangar-ml/hangar"
)

// Environments and components (environment.go, component.go) share one
// shape of routes under /api/v1/workspaces/{ws}/ (components likewise):
//
//	GET  environments                                    the latest version of each name
//	GET  environments/{name}/versions                    versions, newest first (?include_archived=true)
//	POST environments/{name}/versions                    create a version
//	GET  environments/{name}/versions/{version}          one version, archived or not
//	GET  environments/{name}/latest                      the latest version not archived
//	POST environments/{name}/versions/{version}/archive  and …/restore
//
// A create answers 201 with the new version, or 200 with the existing one
// (marked "existing": true) when no version was given and the latest
// version has the same definition. Archive and restore take the write
// action, as the store audits them.

// environmentBody is the body of an environment create: the fields a
// client supplies (the name is the path's).
type environmentBody struct {
	Version      string            `json:"version,omitempty"`
	Image        string            `json:"image,omitempty"`
	CondaFile    string            `json:"conda_file,omitempty"`
	BuildContext hangar.Digest     `json:"build_context,omitempty"`
	Dockerfile   string            `json:"dockerfile_path,omitempty"`
	Variables    map[string]string `json:"variables,omitempty"`
	Description  string            `json:"description,omitempty"`
	Tags         map[string]string `json:"tags,omitempty"`
}

func (s *Server) environmentService() (hangar.EnvironmentService, error) {
	if s.Environments == nil {
		return nil, hangar.Errorf(hangar.ENOTIMPLEMENTED, "environments are not enabled on this server")
	}
	return s.Environments, nil
}

// versionFilter is the filter of a list of one name's versions.
type versionFilter struct {
	workspace, name string
	archived        bool
}

// versionFilterOf reads a versions list's name and ?include_archived.
func versionFilterOf(r *http.Request, c *caller) (versionFilter, error) {
	f := versionFilter{workspace: c.workspace, name: r.PathValue("name")}
	if v := r.URL.Query().Get("include_archived"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return f, hangar.Errorf(hangar.EINVALID, "include_archived must be true or false, got %q", truncate(v, 32))
		}
		f.archived = b
	}
	return f, nil
}

// createdStatus is a create's status: 200 for an existing version, 201
// for a new one.
func createdStatus(existing bool) int {
	if existing {
		return http.StatusOK
	}
	return http.StatusCreated
}

func (s *Server) listEnvironments(w http.ResponseWriter, r *http.Request, c *caller) error {
	svc, err := s.environmentService()
	if err != nil {
		return err
	}
	return servePage(w, r, c.workspace, svc.ListEnvironments)
}

func (s *Server) listEnvironmentVersions(w http.ResponseWriter, r *http.Request, c *caller) error {
	svc, err := s.environmentService()
	if err != nil {
		return err
	}
	f, err := versionFilterOf(r, c)
	if err != nil {
		return err
	}
	return servePage(w, r, f, func(ctx context.Context, f versionFilter, opt hangar.ListOptions) (*hangar.Page[*hangar.Environment], error) {
		return svc.ListEnvironmentVersions(ctx, f.workspace, f.name, f.archived, opt)
	})
}

func (s *Server) createEnvironment(w http.ResponseWriter, r *http.Request, c *caller) error {
	svc, err := s.environmentService()
	if err != nil {
		return err
	}
	var b environmentBody
	if err := s.decodeBody(w, r, &b); err != nil {
		return err
	}
	e, err := svc.CreateEnvironment(r.Context(), &hangar.Environment{
		Workspace: c.workspace, Name: r.PathValue("name"), Version: b.Version,
		Image: b.Image, CondaFile: b.CondaFile, BuildContext: b.BuildContext, DockerfilePath: b.Dockerfile, Variables: b.Variables,
		Description: b.Description, Tags: b.Tags,
	})
	if err != nil {
		return err
	}
	return writeJSON(w, createdStatus(e.Existing), e)
}

func (s *Server) getEnvironment(w http.ResponseWriter, r *http.Request, c *caller) error {
	svc, err := s.environmentService()
	if err != nil {
		return err
	}
	e, err := svc.Environment(r.Context(), c.workspace, r.PathValue("name"), r.PathValue("version"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, e)
}

func (s *Server) latestEnvironment(w http.ResponseWriter, r *http.Request, c *caller) error {
	svc, err := s.environmentService()
	if err != nil {
		return err
	}
	e, err := svc.LatestEnvironment(r.Context(), c.workspace, r.PathValue("name"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, e)
}

func (s *Server) archiveEnvironment(w http.ResponseWriter, r *http.Request, c *caller) error {
	return s.setEnvironmentArchived(w, r, c, true)
}

func (s *Server) restoreEnvironment(w http.ResponseWriter, r *http.Request, c *caller) error {
	return s.setEnvironmentArchived(w, r, c, false)
}

func (s *Server) setEnvironmentArchived(w http.ResponseWriter, r *http.Request, c *caller, archived bool) error {
	svc, err := s.environmentService()
	if err != nil {
		return err
	}
	e, err := svc.SetEnvironmentArchived(r.Context(), c.workspace, r.PathValue("name"), r.PathValue("version"), archived)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, e)
}

// The client's environment methods implement hangar.EnvironmentService.
var _ hangar.EnvironmentService = (*Client)(nil)

// CreateEnvironment creates a version of e.Name in e.Workspace (see
// hangar.EnvironmentService); the answer's Existing tells an existing
// version returned for the same definition.
func (c *Client) CreateEnvironment(ctx context.Context, e *hangar.Environment) (*hangar.Environment, error) {
	var out hangar.Environment
	err := c.call(ctx, http.MethodPost, pathf("/api/v1/workspaces/%s/environments/%s/versions", e.Workspace, e.Name), nil,
		environmentBody{Version: e.Version, Image: e.Image, CondaFile: e.CondaFile, BuildContext: e.BuildContext, Dockerfile: e.DockerfilePath,
			Variables: e.Variables, Description: e.Description, Tags: e.Tags}, &out)
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// Environment returns a version of an environment, archived or not.
func (c *Client) Environment(ctx context.Context, workspace, name, version string) (*hangar.Environment, error) {
	var out hangar.Environment
	if err := c.call(ctx, http.MethodGet, pathf("/api/v1/workspaces/%s/environments/%s/versions/%s", workspace, name, version), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// LatestEnvironment returns the latest version of an environment that is
// not archived.
func (c *Client) LatestEnvironment(ctx context.Context, workspace, name string) (*hangar.Environment, error) {
	var out hangar.Environment
	if err := c.call(ctx, http.MethodGet, pathf("/api/v1/workspaces/%s/environments/%s/latest", workspace, name), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListEnvironments lists the latest version of each environment name.
func (c *Client) ListEnvironments(ctx context.Context, workspace string, opt hangar.ListOptions) (*hangar.Page[*hangar.Environment], error) {
	return listPage[*hangar.Environment](ctx, c, pathf("/api/v1/workspaces/%s/environments", workspace), nil, opt)
}

// ListEnvironmentVersions lists the versions of an environment, newest
// first.
func (c *Client) ListEnvironmentVersions(ctx context.Context, workspace, name string, includeArchived bool, opt hangar.ListOptions) (*hangar.Page[*hangar.Environment], error) {
	return listPage[*hangar.Environment](ctx, c, pathf("/api/v1/workspaces/%s/environments/%s/versions", workspace, name), archivedQuery(includeArchived), opt)
}

// SetEnvironmentArchived archives or restores a version.
func (c *Client) SetEnvironmentArchived(ctx context.Context, workspace, name, version string, archived bool) (*hangar.Environment, error) {
	var out hangar.Environment
	if err := c.call(ctx, http.MethodPost, pathf("/api/v1/workspaces/%s/environments/%s/versions/%s/"+archiveVerb(archived), workspace, name, version), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

func archivedQuery(include bool) url.Values {
	if !include {
		return nil
	}
	return url.Values{"include_archived": {"true"}}
}

func archiveVerb(archived bool) string {
	if archived {
		return "archive"
	}
	return "restore"
}
