package jobspec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/hangar-ml/hangar"
)

// MaxErrors bounds how many problems one parse reports; the rest are
// counted ("… and 3 more") so a badly broken file cannot flood a terminal.
const MaxErrors = 20

// maxNodes bounds the nodes one document may have, aliases followed: a few
// lines of anchors can otherwise name billions of nodes.
const maxNodes = 100_000

// decoder walks a yaml.Node tree strictly and collects every problem with
// the file and line it comes from.
type decoder struct {
	file  string
	errs  []string
	more  int
	nodes int
	// sets names the nodes that --set overrides created or replaced, so
	// their errors point at the override instead of a line of the file.
	sets map[*yaml.Node]string
	// searchSpaceInputs lets input values be ${{search_space.<name>}}
	// (a sweep's inputs).
	searchSpaceInputs bool
}

func newDecoder(file string) *decoder {
	return &decoder{file: file, sets: map[*yaml.Node]string{}}
}

// pos is the "file:line" prefix of a problem at n.
func (d *decoder) pos(n *yaml.Node) string {
	if s, ok := d.sets[n]; ok {
		return d.file + ": --set " + s
	}
	if n == nil || n.Line == 0 {
		return d.file
	}
	return d.file + ":" + strconv.Itoa(n.Line)
}

// errorf records one problem at n.
func (d *decoder) errorf(n *yaml.Node, format string, args ...any) {
	d.errorAt(d.pos(n), fmt.Sprintf(format, args...))
}

func (d *decoder) errorAt(pos, msg string) {
	if len(d.errs) >= MaxErrors {
		d.more++
		return
	}
	d.errs = append(d.errs, pos+": "+msg)
}

// problems counts the problems recorded so far, so that a decoder of one
// section can tell whether that section added any.
func (d *decoder) problems() int { return len(d.errs) + d.more }

// err is every recorded problem as one EINVALID error, a line each, or nil.
func (d *decoder) err() error {
	if len(d.errs) == 0 {
		return nil
	}
	msg := strings.Join(d.errs, "\n")
	if d.more > 0 {
		msg += fmt.Sprintf("\n... and %d more", d.more)
	}
	return hangar.Errorf(hangar.EINVALID, "%s", msg)
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): `)

// load parses one YAML document into its root node (LoadDocument of a
// spec).
func load(file string, b []byte) (*yaml.Node, error) { return LoadDocument(file, b, "spec") }

// LoadDocument parses one YAML document — one spec, what says which kind
// (for messages) — into its root mapping. An empty file (or a null one), a
// second document, invalid YAML or a root that is not a mapping is
// EINVALID naming the file (and the line, when the YAML parser knows it).
func LoadDocument(file string, b []byte, what string) (*yaml.Node, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
		return nil, hangar.Errorf(hangar.EINVALID, "%s: the file is empty", file)
	} else if err != nil {
		msg := err.Error()
		if m := yamlLine.FindStringSubmatch(msg); m != nil {
			return nil, hangar.Errorf(hangar.EINVALID, "%s:%s: invalid YAML: %s", file, m[1], msg[len(m[0]):])
		}
		return nil, hangar.Errorf(hangar.EINVALID, "%s: invalid YAML: %s", file, strings.TrimPrefix(msg, "yaml: "))
	}
	var next yaml.Node
	if err := dec.Decode(&next); err == nil {
		return nil, hangar.Errorf(hangar.EINVALID, "%s:%d: a second YAML document; one file holds one %s", file, next.Line, what)
	} else if !errors.Is(err, io.EOF) {
		return nil, hangar.Errorf(hangar.EINVALID, "%s: invalid YAML after the first document: %s", file, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind == yaml.ScalarNode && doc.Content[0].Tag == "!!null" {
		return nil, hangar.Errorf(hangar.EINVALID, "%s: the file is empty", file)
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, hangar.Errorf(hangar.EINVALID, "%s:%d: the %s must be a mapping of keys, not %s", file, root.Line, what, describe(root))
	}
	return root, nil
}

// deref follows aliases and counts the nodes visited against maxNodes.
// It returns nil when the budget is spent (the error is recorded once).
func (d *decoder) deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	if n != nil && n.Kind == yaml.AliasNode {
		n = nil
	}
	d.nodes++
	if d.nodes == maxNodes {
		d.errorf(nil, "the document has more than %d nodes (aliases included)", maxNodes)
	}
	if d.nodes >= maxNodes {
		return nil
	}
	return n
}

// in is " in <path>" for messages, or "" at the top level.
func in(path string) string {
	if path == "" {
		return ""
	}
	return " in " + path
}

// join appends a key to a dotted path.
func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// fields walks a mapping, calling the function its key names for each
// value; unknown and duplicate keys are errors naming the key and line.
// It reports whether n was a mapping.
func (d *decoder) fields(n *yaml.Node, path string, fs map[string]func(*yaml.Node)) bool {
	if n = d.deref(n); n == nil {
		return false
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return true
	}
	if n.Kind != yaml.MappingNode {
		d.typeErr(n, path, "a mapping")
		return false
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := d.deref(n.Content[i]), n.Content[i+1]
		if k == nil {
			return false
		}
		if k.Kind != yaml.ScalarNode {
			d.errorf(k, "keys must be plain names, not %s%s", describe(k), in(path))
			continue
		}
		if k.Tag == "!!merge" {
			d.errorf(k, "merge keys (<<) are not supported%s", in(path))
			continue
		}
		if seen[k.Value] {
			d.errorf(k, "duplicate key %q%s", k.Value, in(path))
			continue
		}
		seen[k.Value] = true
		fn, ok := fs[k.Value]
		if !ok {
			d.errorf(k, "unknown key %q%s%s", k.Value, in(path), suggest(k.Value, keys(fs)))
			continue
		}
		fn(v)
	}
	return true
}

// entries walks a mapping of user-chosen names (inputs, jobs, tags) in
// file order; duplicate names are errors.
func (d *decoder) entries(n *yaml.Node, path string, fn func(k, v *yaml.Node)) {
	if n = d.deref(n); n == nil {
		return
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.typeErr(n, path, "a mapping")
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := d.deref(n.Content[i])
		if k == nil {
			return
		}
		if k.Kind != yaml.ScalarNode || k.Tag == "!!merge" {
			d.errorf(k, "keys must be plain names, not %s%s", describe(k), in(path))
			continue
		}
		if seen[k.Value] {
			d.errorf(k, "duplicate key %q%s", k.Value, in(path))
			continue
		}
		seen[k.Value] = true
		fn(k, n.Content[i+1])
	}
}

func keys(fs map[string]func(*yaml.Node)) []string {
	ks := make([]string, 0, len(fs))
	for k := range fs {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// suggest is ` (did you mean "x"?)` for the known key closest to an
// unknown one, when one is close enough to be a typo.
func suggest(key string, known []string) string {
	best, bestD := "", 3
	for _, k := range known {
		if dist := editDistance(strings.ToLower(key), k); dist < bestD {
			best, bestD = k, dist
		}
	}
	if best == "" || bestD > len(key)/3 {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// editDistance is the Levenshtein distance of two short strings.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// describe names what a node is, for "must be X, not Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.DocumentNode:
		return "a document"
	}
	v := n.Value
	if len(v) > 40 {
		v = v[:40] + "..."
	}
	switch n.Tag {
	case "!!null":
		return "empty"
	case "!!bool":
		return "the boolean " + v
	case "!!int", "!!float":
		return "the number " + v
	}
	return "the string " + strconv.Quote(v)
}

func (d *decoder) typeErr(n *yaml.Node, path, want string) {
	d.errorf(n, "%s must be %s, not %s", path, want, describe(n))
}

// scalar returns n's text when it is a scalar (a string, number or
// boolean; null is ""), else records a type error.
func (d *decoder) scalar(n *yaml.Node, path, want string) (string, bool) {
	if n = d.deref(n); n == nil {
		return "", false
	}
	if n.Kind != yaml.ScalarNode {
		d.typeErr(n, path, want)
		return "", false
	}
	if n.Tag == "!!null" {
		return "", true
	}
	return n.Value, true
}

// str decodes a string field; numbers and booleans are taken as their
// text, as Azure's loader does for names and versions.
func (d *decoder) str(n *yaml.Node, path string, dst *string) {
	if s, ok := d.scalar(n, path, "a string"); ok {
		*dst = s
	}
}

func (d *decoder) boolean(n *yaml.Node, path string, dst *bool) {
	if n = d.deref(n); n == nil {
		return
	}
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
		d.typeErr(n, path, "true or false")
		return
	}
	*dst = n.Value == "true" || n.Value == "True" || n.Value == "TRUE"
}

func (d *decoder) integer(n *yaml.Node, path string) (int64, bool) {
	if n = d.deref(n); n == nil {
		return 0, false
	}
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
		d.typeErr(n, path, "an integer")
		return 0, false
	}
	v, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64)
	if err != nil {
		d.typeErr(n, path, "an integer")
		return 0, false
	}
	return v, true
}

func (d *decoder) number(n *yaml.Node, path string) (float64, bool) {
	if n = d.deref(n); n == nil {
		return 0, false
	}
	if n.Kind == yaml.ScalarNode && (n.Tag == "!!int" || n.Tag == "!!float") {
		if v, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64); err == nil {
			return v, true
		}
	}
	d.typeErr(n, path, "a number")
	return 0, false
}

// strMap decodes a mapping of names to scalar values (tags,
// environment_variables) as strings.
func (d *decoder) strMap(n *yaml.Node, path string, dst *map[string]string) {
	m := map[string]string{}
	d.entries(n, path, func(k, v *yaml.Node) {
		if s, ok := d.scalar(v, join(path, k.Value), "a string"); ok {
			m[k.Value] = s
		}
	})
	*dst = m
}

// strList decodes a list of strings.
func (d *decoder) strList(n *yaml.Node, path string, dst *[]string) {
	if n = d.deref(n); n == nil {
		return
	}
	if n.Kind != yaml.SequenceNode {
		d.typeErr(n, path, "a list")
		return
	}
	out := make([]string, 0, len(n.Content))
	for i, c := range n.Content {
		if s, ok := d.scalar(c, fmt.Sprintf("%s[%d]", path, i), "a string"); ok {
			out = append(out, s)
		}
	}
	*dst = out
}

// raw keeps a section Hangar accepts and records but does not apply
// (resources, distribution, …) as plain Go values.
func (d *decoder) raw(n *yaml.Node, path string, dst *map[string]any) {
	if n = d.deref(n); n == nil {
		return
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.typeErr(n, path, "a mapping")
		return
	}
	var m map[string]any
	if err := n.Decode(&m); err != nil {
		d.errorf(n, "%s: %s", path, strings.TrimPrefix(err.Error(), "yaml: "))
		return
	}
	*dst = m
}

// schema is the "$schema" field: accepted and ignored, except that a
// schema naming another kind of spec is an error (a component handed to
// `job create`, say), since that mistake otherwise surfaces as a list of
// puzzling unknown keys.
func (d *decoder) schema(want ...string) func(*yaml.Node) {
	return func(v *yaml.Node) {
		var s string
		d.str(v, "$schema", &s)
		base := s[strings.LastIndex(s, "/")+1:]
		kind, known := schemaKind(base)
		if !known || slices.Contains(want, kind) {
			return
		}
		d.errorf(v, "$schema %s is a %s spec; this command reads %s", base, kind, strings.Join(want, " or "))
	}
}

// schemaKind names what one of Azure's schema files describes.
func schemaKind(base string) (string, bool) {
	switch strings.ToLower(base) {
	case "commandjob.schema.json":
		return "command job", true
	case "pipelinejob.schema.json":
		return "pipeline job", true
	case "sweepjob.schema.json":
		return "sweep job", true
	case "commandcomponent.schema.json":
		return "command component", true
	case "pipelinecomponent.schema.json":
		return "pipeline component", true
	case "environment.schema.json":
		return "environment", true
	case "data.schema.json":
		return "data asset", true
	case "model.schema.json":
		return "model", true
	case "schedule.schema.json", "monitorschedule.schema.json":
		return "schedule", true
	case "managedonlineendpoint.schema.json", "managedonlinedeployment.schema.json",
		"batchendpoint.schema.json", "batchdeployment.schema.json":
		return "endpoint or deployment", true
	}
	return "", false
}
