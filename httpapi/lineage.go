package httpapi

import (
	"context"
	"net/http"
	"strings"

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
	lineageFor(c, g)
	return writeJSON(w, http.StatusOK, g)
}

// lineageFor keeps, of the graph's details, what the caller may read: a
// run's params, status and user need runs/read, and a job's command and
// inputs jobs/read, on the node's workspace — models/read, which lets one
// see the lineage, does not include them (an Approver has it without
// either). The nodes and edges stay: that a version came from a run and a
// job is the lineage itself.
func lineageFor(c *caller, g *lineage.Graph) {
	for i := range g.Nodes {
		n := &g.Nodes[i]
		var action string
		switch n.Kind {
		case lineage.KindRun:
			action = hangar.ActRunRead
		case lineage.KindJob, lineage.KindPipeline, lineage.KindSweep:
			action = hangar.ActJobRead
		default:
			continue
		}
		if c.can(lineageWorkspace(c.workspace, n.ID), action) {
			continue
		}
		kept := map[string]string{}
		if m := n.Attrs["missing"]; m != "" {
			kept["missing"] = m
		}
		kept["hidden"] = "details need " + action
		n.Attrs = kept
	}
}

// lineageWorkspace is the workspace of a lineage node: ids of another
// workspace than the root's are "<kind>:<workspace>/…" (package lineage).
func lineageWorkspace(root, id string) string {
	_, rest, _ := strings.Cut(id, ":")
	if ws, _, ok := strings.Cut(rest, "/"); ok {
		return ws
	}
	return root
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
