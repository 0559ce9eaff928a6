// Package lineage traces a registered model version back to what made it:
// the MLflow run it was registered from, the job or pipeline step that ran
// it (its component, code snapshot, environment and input values), the
// steps upstream whose outputs it read, and the data asset versions (with
// their content digests) at the start of the chain. Every record it reads
// is immutable once written — a version's run, a finished job's resolved
// spec — so the lineage computed from them is the lineage at creation.
package lineage

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/jobrun"
)

// Sources are the records lineage reads: small interfaces of the stores.
type Sources struct {
	Models interface {
		ModelVersion(ctx context.Context, ws, name, version string) (*hangar.ModelVersion, error)
	}
	Runs interface {
		Run(ctx context.Context, ws, id string) (*hangar.Run, error)
	}
	Jobs interface {
		Job(ctx context.Context, ws, name string) (*hangar.Job, error)
	}
	// CanRead reports whether the lineage may be followed into another
	// workspace (a shared version's source, hangar.TagSharedFrom…); nil
	// follows into every workspace. A source it refuses is a node marked
	// missing.
	CanRead func(ws string) bool
}

// Graph is a lineage as nodes and edges, for the UI and `--lineage`.
type Graph struct {
	// Root is the node the lineage is of (the model version).
	Root  string `json:"root"`
	Nodes []Node `json:"nodes"`
	Edges []Edge `json:"edges"`
}

// Node kinds.
const (
	KindModelVersion = "model_version"
	KindRun          = "run"
	KindJob          = "job"
	KindPipeline     = "pipeline"
	KindSweep        = "sweep"   // a sweep job, whose trials are its steps
	KindData         = "data"    // a data asset version
	KindContent      = "content" // uploaded content that is no data asset (a local path, a job output)
	KindCode         = "code"
	KindEnvironment  = "environment"
)

// Node is one thing in a lineage.
type Node struct {
	ID    string            `json:"id"`
	Kind  string            `json:"kind"`
	Label string            `json:"label"`
	Attrs map[string]string `json:"attrs,omitempty"`
}

// Edge says that From went into To: an input read, a run tracked, a model
// registered, a step of a pipeline.
type Edge struct {
	From  string `json:"from"`
	To    string `json:"to"`
	Label string `json:"label"`
}

// maxNodes bounds a lineage: a pathological chain stops there, marked.
const maxNodes = 2000

// ModelVersion returns the lineage of a model version. Errors: those of
// reading the version (ENOTFOUND); records further up that are gone
// (a deleted run) become nodes marked missing.
func ModelVersion(ctx context.Context, src Sources, ws, name, version string) (*Graph, error) {
	mv, err := src.Models.ModelVersion(ctx, ws, name, version)
	if err != nil {
		return nil, err
	}
	b := &builder{ctx: ctx, src: src, ws: ws, nodes: map[string]*Node{}}
	root := "model:" + mv.Name + ":" + mv.Version
	b.node(root, KindModelVersion, mv.Name+":"+mv.Version, map[string]string{
		"source": mv.Source, "created_by": mv.UserID, "created_at": mv.CreatedAt.UTC().Format("2006-01-02T15:04:05Z"),
	})
	if d := mv.Tags[hangar.TagContentDigest]; d != "" {
		b.nodes[root].Attrs["content_digest"] = d
	}
	if a := mv.Tags[hangar.TagSharedFromApprovals]; a != "" {
		b.nodes[root].Attrs["approvals"] = a
	}
	if mv.RunID != "" {
		b.run(mv.RunID, root)
	}
	b.shared(mv, root)
	return b.graph(root), nil
}

// shared adds the version a shared copy was made from (its tags
// hangar.TagSharedFrom…), in its own workspace, and that version's lineage,
// feeding into. Node ids of another workspace than the root's start with
// "<workspace>/" after the kind, so two workspaces' runs or jobs of one
// name stay apart; content (code, files) is the same node in every one.
func (b *builder) shared(mv *hangar.ModelVersion, into string) {
	ws, name, version := mv.Tags[hangar.TagSharedFromWorkspace], mv.Tags[hangar.TagSharedFromModel], mv.Tags[hangar.TagSharedFromVersion]
	if ws == "" || name == "" || version == "" {
		return
	}
	nid := "model:" + ws + "/" + name + ":" + version
	label := ws + "/" + name + ":" + version
	if b.src.CanRead != nil && !b.src.CanRead(ws) {
		b.node(nid, KindModelVersion, label, map[string]string{"workspace": ws, "missing": "no models/read on workspace " + ws})
		b.edge(nid, into, "shared from")
		return
	}
	src, err := b.src.Models.ModelVersion(b.ctx, ws, name, version)
	if err != nil {
		b.node(nid, KindModelVersion, label, map[string]string{"workspace": ws, "missing": hangar.ErrorMessage(err)})
		b.edge(nid, into, "shared from")
		return
	}
	added := b.node(nid, KindModelVersion, label, map[string]string{
		"workspace": ws, "source": src.Source, "created_by": src.UserID, "created_at": src.CreatedAt.UTC().Format("2006-01-02T15:04:05Z"),
		"content_digest": src.Tags[hangar.TagContentDigest], "approvals": src.Tags[hangar.TagSharedFromApprovals],
	})
	b.edge(nid, into, "shared from")
	if !added {
		return
	}
	prevWS, prevPfx := b.ws, b.pfx
	b.ws, b.pfx = ws, ws+"/"
	defer func() { b.ws, b.pfx = prevWS, prevPfx }()
	if src.RunID != "" {
		b.run(src.RunID, nid)
	}
	b.shared(src, nid)
}

type builder struct {
	ctx   context.Context
	src   Sources
	ws    string
	pfx   string // the node id prefix of ws: "" for the root's workspace, else "<ws>/"
	nodes map[string]*Node
	order []string
	edges []Edge
	seen  map[Edge]bool // the edges added, for a constant-time check
	full  bool
}

func (b *builder) node(id, kind, label string, attrs map[string]string) bool {
	if _, ok := b.nodes[id]; ok {
		return false
	}
	if len(b.nodes) >= maxNodes {
		b.full = true
		return false
	}
	for k, v := range attrs {
		if v == "" {
			delete(attrs, k)
		}
	}
	b.nodes[id] = &Node{ID: id, Kind: kind, Label: label, Attrs: attrs}
	b.order = append(b.order, id)
	return true
}

func (b *builder) edge(from, to, label string) {
	if _, ok := b.nodes[from]; !ok {
		return
	}
	e := Edge{From: from, To: to, Label: label}
	if b.seen == nil {
		b.seen = map[Edge]bool{}
	}
	if !b.seen[e] {
		b.seen[e] = true
		b.edges = append(b.edges, e)
	}
}

func (b *builder) graph(root string) *Graph {
	g := &Graph{Root: root, Nodes: []Node{}, Edges: b.edges}
	for _, id := range b.order {
		g.Nodes = append(g.Nodes, *b.nodes[id])
	}
	if g.Edges == nil {
		g.Edges = []Edge{}
	}
	if b.full {
		g.Nodes[0].Attrs["truncated"] = fmt.Sprintf("the lineage has more than %d nodes; the rest is left out", maxNodes)
	}
	return g
}

// run adds a run and what ran it, feeding into.
func (b *builder) run(id, into string) {
	nid := "run:" + b.pfx + id
	run, err := b.src.Runs.Run(b.ctx, b.ws, id)
	if err != nil {
		b.node(nid, KindRun, id, map[string]string{"missing": hangar.ErrorMessage(err)})
		b.edge(nid, into, "registered from")
		return
	}
	attrs := map[string]string{"experiment_id": run.Info.ExperimentID, "status": run.Info.Status, "user": run.Info.UserID}
	for _, p := range run.Data.Params {
		attrs["param."+p.Key] = p.Value
	}
	job := ""
	for _, t := range run.Data.Tags {
		switch t.Key {
		case "hangar.job":
			job = t.Value
		case "mlflow.source.git.commit":
			attrs["git_commit"] = t.Value
		}
	}
	added := b.node(nid, KindRun, orString(run.Info.RunName, id), attrs)
	b.edge(nid, into, "registered from")
	if added && job != "" {
		b.job(job, nid, "tracked")
	}
}

// job adds a job (a step or a command job) and its inputs, feeding into.
func (b *builder) job(name, into, label string) {
	nid := "job:" + b.pfx + name
	j, err := b.src.Jobs.Job(b.ctx, b.ws, name)
	if err != nil {
		b.node(nid, KindJob, name, map[string]string{"missing": hangar.ErrorMessage(err)})
		b.edge(nid, into, label)
		return
	}
	st, serr := jobrun.StepOf(j)
	attrs := map[string]string{"status": string(j.Status), "step": j.Step, "reused_from": j.ReusedFrom, "run_id": j.RunID, "git_commit": j.Properties["azureml.git.commit"]}
	if serr == nil {
		attrs["component"] = st.Component
		attrs["component_hash"] = st.ComponentHash
		attrs["command"] = st.Command
	}
	added := b.node(nid, KindJob, name, attrs)
	b.edge(nid, into, label)
	if !added {
		return
	}
	if j.ReusedFrom != "" {
		// The outputs are the original's: trace it too.
		b.job(j.ReusedFrom, nid, "reused the outputs of")
	}
	if j.Parent != "" {
		b.pipeline(j.Parent, nid)
	}
	if serr != nil {
		return
	}
	if st.Code != "" {
		cid := "code:" + string(st.Code)
		b.node(cid, KindCode, "code "+shortDigest(st.Code), map[string]string{"manifest": string(st.Code)})
		b.edge(cid, nid, "code")
	}
	if e := st.Environment; e != nil {
		label := orString(e.Ref, "inline environment")
		eid := "environment:" + b.pfx + label
		if e.Ref == "" {
			eid = "environment:" + nid
		}
		b.node(eid, KindEnvironment, label, map[string]string{"image": e.Image, "conda_file": firstLine(e.CondaFile), "applied": "false"})
		b.edge(eid, nid, "environment")
	}
	names := make([]string, 0, len(st.Inputs))
	for k := range st.Inputs {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, in := range names {
		b.input(nid, in, st.Inputs[in])
	}
}

// input adds what an input read.
func (b *builder) input(into, name string, in *jobrun.Input) {
	label := "input " + name
	switch {
	case in.HasValue:
		b.nodes[into].Attrs["input."+name] = in.Value
	case in.Asset != "":
		id := "data:" + b.pfx + in.Asset
		b.node(id, KindData, in.Asset, map[string]string{"manifest": string(in.Manifest), "uri": in.URI})
		b.edge(id, into, label)
	case strings.HasPrefix(in.URI, "azureml://jobs/"):
		job, out, _ := strings.Cut(strings.TrimPrefix(in.URI, "azureml://jobs/"), "/outputs/")
		b.job(job, into, label+" ← output "+out)
	case in.Manifest != "":
		id := "content:" + string(in.Manifest)
		b.node(id, KindContent, orString(in.URI, shortDigest(in.Manifest)), map[string]string{"manifest": string(in.Manifest)})
		b.edge(id, into, label)
	case in.URI != "":
		id := "content:" + in.URI
		b.node(id, KindContent, in.URI, nil)
		b.edge(id, into, label)
	}
}

func (b *builder) pipeline(name, step string) {
	pid := "job:" + b.pfx + name
	label := "step of pipeline"
	if n, ok := b.nodes[pid]; ok && n.Kind == KindSweep {
		label = "trial of sweep"
	}
	if _, ok := b.nodes[pid]; !ok {
		p, err := b.src.Jobs.Job(b.ctx, b.ws, name)
		attrs := map[string]string{}
		kind := KindPipeline
		if err != nil {
			attrs["missing"] = hangar.ErrorMessage(err)
		} else {
			if p.Type == hangar.JobTypeSweep {
				kind, label = KindSweep, "trial of sweep"
			}
			attrs["status"] = string(p.Status)
			attrs["experiment"] = p.ExperimentName
			for k, v := range p.Properties {
				if strings.HasPrefix(k, "azureml.git.") || strings.HasPrefix(k, "mlflow.source.git.") {
					attrs[k] = v
				}
			}
		}
		b.node(pid, kind, name, attrs)
	}
	b.edge(pid, step, label)
}

func shortDigest(d hangar.Digest) string {
	h := d.Hex()
	if len(h) > 12 {
		h = h[:12]
	}
	return "sha256:" + h
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " …"
	}
	return s
}

func orString(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
