package httpapi

import (
	"cmp"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/lineage"
)

// The web UI's model registry pages: a workspace's registered models, a
// model's versions, and a version with its lineage drawn as a graph — the
// data, code, environments, jobs and runs it came from (package lineage,
// the same graph `hangar model show --lineage` prints as text).

// uiMaxVersions is how many versions a model's page lists at once;
// uiMaxLineageNodes how many nodes of a lineage the graph draws.
const (
	uiMaxVersions     = 100
	uiMaxLineageNodes = 300
)

func (s *Server) uiModelRoutes() []route {
	return []route{
		{"GET /ui/w/{ws}/models", hangar.ActModelRead, scopeWorkspace, s.uiModels, htmlErrors},
		{"GET /ui/w/{ws}/models/{name}", hangar.ActModelRead, scopeWorkspace, s.uiModel, htmlErrors},
		{"GET /ui/w/{ws}/models/{name}/versions/{version}", hangar.ActModelRead, scopeWorkspace, s.uiModelVersion, htmlErrors},
	}
}

func (s *Server) uiRegistry() (hangar.RegistryService, error) {
	if s.Registry == nil {
		return nil, hangar.Errorf(hangar.ENOTIMPLEMENTED, "this server has no model registry")
	}
	return s.Registry, nil
}

func (s *Server) uiModels(w http.ResponseWriter, r *http.Request, c *caller) error {
	reg, err := s.uiRegistry()
	if err != nil {
		return err
	}
	page, err := reg.SearchRegisteredModels(r.Context(), c.workspace, hangar.ModelSearch{
		OrderBy: []string{"name ASC"}, MaxResults: uiMaxExperiments, PageToken: r.URL.Query().Get("page_token"),
	})
	if err != nil {
		return err
	}
	return uiRender(w, http.StatusOK, "models", struct {
		uiPage
		Models []*hangar.RegisteredModel
		Next   string
	}{newUIPage(c, "Models"), page.Items, page.NextPageToken})
}

// uiQuote quotes s as a string of MLflow's filter grammar, which has no
// escape: with the quote s does not hold.
func uiQuote(s string) (string, bool) {
	switch {
	case !strings.Contains(s, "'"):
		return "'" + s + "'", true
	case !strings.Contains(s, `"`):
		return `"` + s + `"`, true
	}
	return "", false
}

func (s *Server) uiModel(w http.ResponseWriter, r *http.Request, c *caller) error {
	reg, err := s.uiRegistry()
	if err != nil {
		return err
	}
	m, err := reg.RegisteredModel(r.Context(), c.workspace, r.PathValue("name"))
	if err != nil {
		return err
	}
	var versions []*hangar.ModelVersion
	next := ""
	if q, ok := uiQuote(m.Name); ok {
		page, err := reg.SearchModelVersions(r.Context(), c.workspace, hangar.ModelSearch{
			Filter: "name = " + q, OrderBy: []string{"version_number DESC"}, MaxResults: uiMaxVersions, PageToken: r.URL.Query().Get("page_token"),
		})
		if err != nil {
			return err
		}
		versions, next = page.Items, page.NextPageToken
	} else {
		versions = m.LatestVersions
	}
	return uiRender(w, http.StatusOK, "model", struct {
		uiPage
		Model    *hangar.RegisteredModel
		Versions []*hangar.ModelVersion
		Next     string
	}{newUIPage(c, m.Name), m, versions, next})
}

func (s *Server) uiModelVersion(w http.ResponseWriter, r *http.Request, c *caller) error {
	reg, err := s.uiRegistry()
	if err != nil {
		return err
	}
	if s.Tracking == nil || s.Jobs == nil {
		return hangar.Errorf(hangar.ENOTIMPLEMENTED, "this server has no tracking or jobs to trace a lineage through")
	}
	mv, err := reg.ModelVersion(r.Context(), c.workspace, r.PathValue("name"), r.PathValue("version"))
	if err != nil {
		return err
	}
	// A lineage is a read per record, up to lineage's bound of nodes.
	release, err := s.uiHeavy(r)
	if err != nil {
		return err
	}
	defer release()
	// As the lineage route: a shared version's source is followed where
	// the caller may read models.
	canRead := func(ws string) bool { return c.can(ws, hangar.ActModelRead) }
	g, err := lineage.ModelVersion(r.Context(), lineage.Sources{Models: reg, Runs: s.Tracking, Jobs: s.Jobs, CanRead: canRead},
		c.workspace, mv.Name, mv.Version)
	if err != nil {
		return err
	}
	lineageFor(c, g)
	tags := make([]hangar.RunTag, 0, len(mv.Tags))
	for k, v := range mv.Tags {
		tags = append(tags, hangar.RunTag{Key: k, Value: v})
	}
	slices.SortFunc(tags, func(a, b hangar.RunTag) int { return cmp.Compare(a.Key, b.Key) })
	return uiRender(w, http.StatusOK, "version", struct {
		uiPage
		Version *hangar.ModelVersion
		Tags    []hangar.RunTag
		Lineage template.HTML
		Nodes   int
	}{newUIPage(c, mv.Name+":"+mv.Version), mv, tags, lineageSVG(c.workspace, g), len(g.Nodes)})
}

// Lineage graph geometry.
const (
	lgColW, lgBoxW, lgBoxH, lgRowH, lgPad = 230, 196, 40, 52, 12
)

// lineageKindColor is the fill of each kind of node.
var lineageKindColor = map[string]string{
	lineage.KindModelVersion: "#dbe8ff", lineage.KindRun: "#e6f4ea", lineage.KindJob: "#fff4d6",
	lineage.KindPipeline: "#fde8d7", lineage.KindSweep: "#fde8d7", lineage.KindData: "#ece4fb",
	lineage.KindContent: "#eef0f4", lineage.KindCode: "#eef0f4", lineage.KindEnvironment: "#f3e8ee",
}

// lineageSVG draws g as columns: each node as far left as its longest path
// to the root (the model version, on the right), edges as curves from what
// went in to what it went into. Runs of the page's workspace link to their
// page. At most uiMaxLineageNodes are drawn, the nearest to the root first.
func lineageSVG(ws string, g *lineage.Graph) template.HTML {
	depth := lineageDepths(g)
	nodes := make([]lineage.Node, 0, len(g.Nodes))
	for _, n := range g.Nodes {
		if _, ok := depth[n.ID]; ok {
			nodes = append(nodes, n)
		}
	}
	slices.SortStableFunc(nodes, func(a, b lineage.Node) int {
		return cmp.Or(cmp.Compare(depth[a.ID], depth[b.ID]), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Label, b.Label))
	})
	cut := 0
	if len(nodes) > uiMaxLineageNodes {
		cut = len(nodes) - uiMaxLineageNodes
		nodes = nodes[:uiMaxLineageNodes]
	}
	maxDepth, rows := 0, map[int]int{}
	pos := map[string][2]int{}
	for _, n := range nodes {
		d := depth[n.ID]
		maxDepth = max(maxDepth, d)
		pos[n.ID] = [2]int{d, rows[d]}
		rows[d]++
	}
	maxRows := 0
	for _, r := range rows {
		maxRows = max(maxRows, r)
	}
	width := (maxDepth+1)*lgColW + 2*lgPad
	height := max(maxRows, 1)*lgRowH + 2*lgPad
	xy := func(id string) (int, int) {
		p := pos[id]
		return lgPad + (maxDepth-p[0])*lgColW, lgPad + p[1]*lgRowH
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="lineage" role="img" viewBox="0 0 %d %d" width="%d" height="%d" xmlns="http://www.w3.org/2000/svg"><title>lineage</title>`, width, height, width, height)
	b.WriteString(`<defs><marker id="arrow" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#98a2b3"/></marker></defs>`)
	for _, e := range g.Edges {
		if _, ok := pos[e.From]; !ok {
			continue
		}
		if _, ok := pos[e.To]; !ok {
			continue
		}
		x1, y1 := xy(e.From)
		x2, y2 := xy(e.To)
		x1, y1, y2 = x1+lgBoxW, y1+lgBoxH/2, y2+lgBoxH/2
		mid := (x1 + x2) / 2
		fmt.Fprintf(&b, `<path class="edge" d="M%d,%d C%d,%d %d,%d %d,%d" marker-end="url(#arrow)"><title>%s</title></path>`,
			x1, y1, mid, y1, mid, y2, x2, y2, template.HTMLEscapeString(e.Label))
	}
	for _, n := range nodes {
		x, y := xy(n.ID)
		fill := cmp.Or(lineageKindColor[n.Kind], "#ffffff")
		stroke := "#98a2b3"
		if n.Attrs["missing"] != "" {
			stroke = "#b42318"
		}
		if n.ID == g.Root {
			stroke = "#1558d6"
		}
		var title strings.Builder
		title.WriteString(n.Kind + " " + n.Label)
		keys := make([]string, 0, len(n.Attrs))
		for k := range n.Attrs {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			title.WriteString("\n" + k + ": " + n.Attrs[k])
		}
		link := ""
		if id, ok := strings.CutPrefix(n.ID, "run:"); ok && n.Kind == lineage.KindRun && !strings.Contains(id, "/") && n.Attrs["missing"] == "" {
			link = "/ui/w/" + url.PathEscape(ws) + "/runs/" + url.PathEscape(id)
		}
		if link != "" {
			fmt.Fprintf(&b, `<a href="%s">`, template.HTMLEscapeString(link))
		}
		fmt.Fprintf(&b, `<g class="node"><title>%s</title><rect x="%d" y="%d" width="%d" height="%d" rx="5" fill="%s" stroke="%s"/>`,
			template.HTMLEscapeString(title.String()), x, y, lgBoxW, lgBoxH, fill, stroke)
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="kind">%s</text><text x="%d" y="%d" class="label">%s</text></g>`,
			x+8, y+14, template.HTMLEscapeString(strings.ReplaceAll(n.Kind, "_", " ")), x+8, y+31, template.HTMLEscapeString(lineageLabel(n)))
		if link != "" {
			b.WriteString(`</a>`)
		}
	}
	b.WriteString(`</svg>`)
	if cut > 0 {
		fmt.Fprintf(&b, `<p class="muted">%d more nodes, further from the model, are not drawn.</p>`, cut)
	}
	return template.HTML(b.String())
}

// lineageLabel is what a node's box says, in 30 characters: the end of a
// step's name (<pipeline>.<step>), where steps differ, else the start.
func lineageLabel(n lineage.Node) string {
	const max = 30
	r := []rune(n.Label)
	if len(r) <= max {
		return n.Label
	}
	if (n.Kind == lineage.KindJob || n.Kind == lineage.KindSweep) && strings.Contains(n.Label, ".") {
		return "…" + string(r[len(r)-(max-1):])
	}
	return uiShortN(n.Label, max)
}

// lineageDepths returns, for each node from which the root can be reached
// along the edges, the length of the longest such path (the root's is 0),
// in one depth-first pass with memo: O(nodes + edges). An edge that would
// close a cycle (a lineage has none; a bug or a strange store could make
// one) is not followed.
func lineageDepths(g *lineage.Graph) map[string]int {
	out := map[string][]string{}
	for _, e := range g.Edges {
		out[e.From] = append(out[e.From], e.To)
	}
	const onPath = -2
	memo := map[string]int{} // -1: cannot reach the root
	var visit func(n string) int
	visit = func(n string) int {
		if n == g.Root {
			return 0
		}
		if d, ok := memo[n]; ok {
			if d == onPath {
				return -1
			}
			return d
		}
		memo[n] = onPath
		best := -1
		for _, to := range out[n] {
			if d := visit(to); d >= 0 && d+1 > best {
				best = d + 1
			}
		}
		memo[n] = best
		return best
	}
	depth := map[string]int{g.Root: 0}
	for _, n := range g.Nodes {
		if d := visit(n.ID); d >= 0 {
			depth[n.ID] = d
		}
	}
	return depth
}
