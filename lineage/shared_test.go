package lineage_test

import (
	"context"
	"slices"
	"testing"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/lineage"
)

// fakeModels, fakeRuns and fakeJobs hold records by "<ws>/<key>".
type fakeModels map[string]*hangar.ModelVersion

func (f fakeModels) ModelVersion(_ context.Context, ws, name, version string) (*hangar.ModelVersion, error) {
	if v, ok := f[ws+"/"+name+":"+version]; ok {
		return v, nil
	}
	return nil, hangar.Errorf(hangar.ENOTFOUND, "Model Version (name=%s, version=%s) not found", name, version)
}

type fakeRuns map[string]*hangar.Run

func (f fakeRuns) Run(_ context.Context, ws, id string) (*hangar.Run, error) {
	if r, ok := f[ws+"/"+id]; ok {
		return r, nil
	}
	return nil, hangar.Errorf(hangar.ENOTFOUND, "run %s not found", id)
}

type fakeJobs struct{}

func (fakeJobs) Job(_ context.Context, _, name string) (*hangar.Job, error) {
	return nil, hangar.Errorf(hangar.ENOTFOUND, "job %s not found", name)
}

// TestSharedLineage follows a copy back through its sources, in their
// workspaces, as far as the caller may read.
func TestSharedLineage(t *testing.T) {
	from := func(ws, name, version string) map[string]string {
		return map[string]string{hangar.TagSharedFromWorkspace: ws, hangar.TagSharedFromModel: name, hangar.TagSharedFromVersion: version, hangar.TagContentDigest: "sha256:c"}
	}
	src := lineage.Sources{
		Models: fakeModels{
			"prod/churn:7": {Name: "churn", Version: "7", Tags: from("shared", "m", "1")},
			"shared/m:1":   {Name: "m", Version: "1", Tags: from("dev", "m", "1")},
			"dev/m:1":      {Name: "m", Version: "1", RunID: "r1"},
		},
		Runs: fakeRuns{"dev/r1": {Info: hangar.RunInfo{RunID: "r1", RunName: "train"}}},
		Jobs: fakeJobs{},
	}
	ids := func(g *lineage.Graph) []string {
		var out []string
		for _, n := range g.Nodes {
			out = append(out, n.ID)
		}
		return out
	}
	g, err := lineage.ModelVersion(t.Context(), src, "prod", "churn", "7")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"model:churn:7", "model:shared/m:1", "model:dev/m:1", "run:dev/r1"}
	if got := ids(g); !slices.Equal(got, want) {
		t.Errorf("nodes: got %v, want %v", got, want)
	}
	if !slices.Contains(g.Edges, lineage.Edge{From: "model:dev/m:1", To: "model:shared/m:1", Label: "shared from"}) {
		t.Errorf("edges %v: want dev/m:1 → shared/m:1 shared from", g.Edges)
	}
	if d := g.Nodes[0].Attrs["content_digest"]; d != "sha256:c" {
		t.Errorf("root content digest: got %q", d)
	}

	// A caller who may not read dev sees the chain stop there, marked.
	src.CanRead = func(ws string) bool { return ws != "dev" }
	g, err = lineage.ModelVersion(t.Context(), src, "prod", "churn", "7")
	if err != nil {
		t.Fatal(err)
	}
	want = []string{"model:churn:7", "model:shared/m:1", "model:dev/m:1"}
	if got := ids(g); !slices.Equal(got, want) {
		t.Errorf("nodes without dev: got %v, want %v", got, want)
	}
	if m := g.Nodes[2].Attrs["missing"]; m != "no models/read on workspace dev" {
		t.Errorf("dev node: missing %q", m)
	}

	// A source deleted since is a node marked missing, not an error.
	delete(src.Models.(fakeModels), "shared/m:1")
	g, err = lineage.ModelVersion(t.Context(), src, "prod", "churn", "7")
	if err != nil || len(g.Nodes) != 2 || g.Nodes[1].Attrs["missing"] == "" {
		t.Errorf("deleted source: got %+v, %v", g, err)
	}
}
