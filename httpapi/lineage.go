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
	g, err := lineage.ModelVersion(r.Context(), lineage.Sources{Models: s.Registry, Runs: s.Tracking, Jobs: s.Jobs},
		c.workspace, r.PathValue("name"), r.PathValue("version"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, g)
}

// ModelLineage reads a model version's lineage.
func (c *Client) ModelLineage(ctx context.Context, workspace, name, version string) (*lineage.Graph, error) {
	var g lineage.Graph
	err := c.call(ctx, http.MethodGet, pathf("/api/v1/workspaces/%s/models/%s/versions/%s/lineage", workspace, name, version), nil, nil, &g)
	return &g, err
}
