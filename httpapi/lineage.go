package httpapi

import (
	"context"
	"net/http"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/lineage"
)

// getModelLineage answers GET …/models/{name}/versions/{version}/lineage:
// the version's lineage as a graph (package lineage) — its run, the job
// and steps that made it, their inputs back to the data asset versions,
// code snapshots and environments.
func (s *Server) getModelLineage(w http.ResponseWriter, r *http.Request, c *caller) error {
	if s.Registry == nil || s.Tracking == nil || s.Jobs == nil {
		return hangar.Errorf(hangar.ENOTIMPLEMENTED, "this server has no model registry, tracking or jobs to trace a lineage through")
	}
	// A shared version's source is followed where the caller may read
	// models (share.go).
	canRead := func(ws string) bool { return c.can(ws, hangar.ActModelRead) }
	g, err := lineage.ModelVersion(r.Context(), lineage.Sources{Models: s.Registry, Runs: s.Tracking, Jobs: s.Jobs, CanRead: canRead},
		c.workspace, r.PathValue("name"), r.PathValue("version"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, g)
}

// getDataModels answers GET …/data/{name}/versions/{version}/models: the
// model versions whose lineage reads that data asset version.
func (s *Server) getDataModels(w http.ResponseWriter, r *http.Request, c *caller) error {
	if s.Registry == nil || s.Tracking == nil || s.Jobs == nil {
		return hangar.Errorf(hangar.ENOTIMPLEMENTED, "this server has no model registry, tracking or jobs to trace a lineage through")
	}
	name, version := r.PathValue("name"), r.PathValue("version")
	if err := hangar.ValidateName("data asset", name); err != nil {
		return err
	}
	if err := hangar.ValidateDataVersion(version); err != nil {
		return err
	}
	vs, err := lineage.ModelsUsing(r.Context(), lineage.Sources{Models: s.Registry, Runs: s.Tracking, Jobs: s.Jobs}, s.Registry,
		c.workspace, name+":"+version)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, hangar.Page[*hangar.ModelVersion]{Items: vs})
}

// DataModels lists the model versions whose lineage reads a data asset
// version.
func (c *Client) DataModels(ctx context.Context, workspace, name, version string) ([]*hangar.ModelVersion, error) {
	var p hangar.Page[*hangar.ModelVersion]
	err := c.call(ctx, http.MethodGet, pathf("/api/v1/workspaces/%s/data/%s/versions/%s/models", workspace, name, version), nil, nil, &p)
	return p.Items, err
}

// ModelLineage reads a model version's lineage.
func (c *Client) ModelLineage(ctx context.Context, workspace, name, version string) (*lineage.Graph, error) {
	var g lineage.Graph
	err := c.call(ctx, http.MethodGet, pathf("/api/v1/workspaces/%s/models/%s/versions/%s/lineage", workspace, name, version), nil, nil, &g)
	return &g, err
}
