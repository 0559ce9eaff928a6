package lineage

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// WriteText prints the lineage as a tree from the root back to the data:
// each node, then what went into it, indented, each edge's label first. A
// node met again is printed once with "(see above)".
func (g *Graph) WriteText(w io.Writer) error {
	nodes := map[string]Node{}
	for _, n := range g.Nodes {
		nodes[n.ID] = n
	}
	into := map[string][]Edge{}
	for _, e := range g.Edges {
		into[e.To] = append(into[e.To], e)
	}
	seen := map[string]bool{}
	var b strings.Builder
	var walk func(id, prefix, label string)
	walk = func(id, prefix, label string) {
		n := nodes[id]
		line := prefix
		if label != "" {
			line += "← " + label + ": "
		}
		line += n.Kind + " " + n.Label
		if d := describe(n); d != "" {
			line += " (" + d + ")"
		}
		if seen[id] {
			b.WriteString(line + " (see above)\n")
			return
		}
		seen[id] = true
		b.WriteString(line + "\n")
		for _, e := range into[id] {
			walk(e.From, prefix+"  ", e.Label)
		}
	}
	walk(g.Root, "", "")
	_, err := io.WriteString(w, b.String())
	return err
}

// describe is a node's attributes that matter most, briefly.
func describe(n Node) string {
	var parts []string
	for _, k := range []string{"missing", "workspace", "content_digest", "approvals", "status", "component", "manifest", "image", "reused_from", "git_commit", "azureml.git.commit", "experiment"} {
		if v := n.Attrs[k]; v != "" {
			parts = append(parts, k+" "+v)
		}
	}
	var params []string
	for k, v := range n.Attrs {
		if strings.HasPrefix(k, "param.") || strings.HasPrefix(k, "input.") {
			if r := []rune(v); len(r) > 40 {
				v = string(r[:37]) + "…"
			}
			params = append(params, fmt.Sprintf("%s=%s", k, v))
		}
	}
	sort.Strings(params)
	if len(params) > 8 {
		params = append(params[:8], fmt.Sprintf("… %d more", len(params)-8))
	}
	parts = append(parts, params...)
	return strings.Join(parts, ", ")
}
