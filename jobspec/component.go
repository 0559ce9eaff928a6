package jobspec

import (
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Component is a command component (commandComponent.schema.json): a
// versioned step with a typed interface, registered by `component create`
// or loaded from a file a pipeline step names.
type Component struct {
	// File is the file the component was read from, for messages and to
	// resolve Code and a conda file against.
	File string
	Line int

	Name, Version, DisplayName, Description string
	Tags                                    map[string]string
	// IsDeterministic (default true) allows reusing a previous run of the
	// same step with the same inputs.
	IsDeterministic bool
	// Command is the command as written; Template is it parsed.
	Command  string
	Template Template
	// Code is the folder (relative to File) snapshotted for the step.
	Code string
	// AdditionalIncludes are further paths copied into the snapshot.
	AdditionalIncludes []string
	Environment        *Environment
	Inputs             map[string]*Input
	Outputs            map[string]*Output
	// InputOrder and OutputOrder are the names in file order.
	InputOrder, OutputOrder []string
	// Distribution and Resources are accepted and recorded, not applied:
	// the local executor runs one process per step.
	Distribution, Resources map[string]any

	codeLine int
}

var componentName = regexp.MustCompile(`^[a-z_][a-z0-9_.\-]{0,254}$`)

// ParseComponent reads a command component spec (`component create -f`,
// or a file a pipeline step's component: names).
// Errors: EINVALID, listing every problem with its file and line.
func ParseComponent(file string, b []byte) (*Component, error) {
	root, err := load(file, b)
	if err != nil {
		return nil, err
	}
	d := newDecoder(file)
	c := d.component(root, "", true)
	if err := d.err(); err != nil {
		return nil, err
	}
	c.File = file
	return c, nil
}

// component decodes a command component; inline (a step's component:
// mapping) it needs no name.
func (d *decoder) component(n *yaml.Node, path string, top bool) *Component {
	c := &Component{IsDeterministic: true, Line: n.Line}
	var typ string
	var cmd, inputs, outputs *yaml.Node
	fs := map[string]func(*yaml.Node){
		"$schema":             d.schema("command component"),
		"type":                func(v *yaml.Node) { d.str(v, join(path, "type"), &typ) },
		"name":                func(v *yaml.Node) { d.str(v, join(path, "name"), &c.Name) },
		"version":             func(v *yaml.Node) { d.str(v, join(path, "version"), &c.Version) },
		"display_name":        func(v *yaml.Node) { d.str(v, join(path, "display_name"), &c.DisplayName) },
		"description":         func(v *yaml.Node) { d.str(v, join(path, "description"), &c.Description) },
		"tags":                func(v *yaml.Node) { d.strMap(v, join(path, "tags"), &c.Tags) },
		"is_deterministic":    func(v *yaml.Node) { d.boolean(v, join(path, "is_deterministic"), &c.IsDeterministic) },
		"command":             func(v *yaml.Node) { cmd = v; d.str(v, join(path, "command"), &c.Command) },
		"code":                func(v *yaml.Node) { c.codeLine = v.Line; d.code(v, join(path, "code"), &c.Code) },
		"additional_includes": func(v *yaml.Node) { d.strList(v, join(path, "additional_includes"), &c.AdditionalIncludes) },
		"environment":         func(v *yaml.Node) { c.Environment = d.environment(v, join(path, "environment"), false) },
		"inputs":              func(v *yaml.Node) { inputs = v },
		"outputs":             func(v *yaml.Node) { outputs = v },
		"distribution":        func(v *yaml.Node) { d.raw(v, join(path, "distribution"), &c.Distribution) },
		"resources":           func(v *yaml.Node) { d.raw(v, join(path, "resources"), &c.Resources) },
	}
	if !top {
		delete(fs, "$schema")
	}
	if !d.fields(n, path, fs) {
		return c
	}
	c.Inputs = d.inputs(inputs, join(path, "inputs"), inComponent, &c.InputOrder)
	c.Outputs = d.outputs(outputs, join(path, "outputs"), inComponent, &c.OutputOrder)
	if typ != "" && typ != "command" {
		d.errorf(n, "%s: component type %q is not supported; Hangar runs command components", nameOr(path, "the component"), typ)
	}
	switch {
	case c.Name == "" && top:
		d.errorf(n, "name is required")
	case c.Name != "" && !componentName.MatchString(c.Name):
		d.errorf(n, "%s %q: a component name starts with a lowercase letter or _, then lowercase letters, digits, _ . or -", join(path, "name"), c.Name)
	}
	if c.Version != "" && !assetVersion.MatchString(c.Version) {
		d.errorf(n, "%s %q: use letters, digits, _ . and -", join(path, "version"), c.Version)
	}
	if c.Command == "" {
		d.errorf(n, "%s is required", join(path, "command"))
	} else {
		c.Template = d.command(cmd, join(path, "command"), c.Inputs, c.Outputs, true)
	}
	return c
}

// code decodes a code: path, also in the older {local_path: …} form.
func (d *decoder) code(n *yaml.Node, path string, dst *string) {
	if n = d.deref(n); n == nil {
		return
	}
	if n.Kind == yaml.MappingNode {
		d.fields(n, path, map[string]func(*yaml.Node){
			"local_path": func(v *yaml.Node) { d.str(v, join(path, "local_path"), dst) },
		})
		return
	}
	d.str(n, path, dst)
}

// command parses a command and checks its expressions: only
// ${{inputs.<declared>}} and ${{outputs.<declared>}}; in a component,
// only optional inputs inside $[[…]].
func (d *decoder) command(n *yaml.Node, path string, inputs map[string]*Input, outputs map[string]*Output, component bool) Template {
	t, err := ParseTemplate(n.Value)
	if err != nil {
		d.errorf(n, "%s: %s", path, msgOf(err))
		return nil
	}
	var check func(segs []Segment, optional bool)
	check = func(segs []Segment, optional bool) {
		for _, s := range segs {
			if s.Optional != nil {
				check(s.Optional, true)
				continue
			}
			e := s.Expr
			if e == nil {
				continue
			}
			switch {
			case len(e) == 2 && e[0] == "inputs":
				in, ok := inputs[e[1]]
				if !ok {
					d.errorf(n, "%s: %s names no input%s", path, e, known(e[1], inputs))
				} else if optional && component && !in.Optional {
					d.errorf(n, "%s: %s is inside $[[…]] but input %q is not optional", path, e, e[1])
				}
			case len(e) == 2 && e[0] == "outputs":
				if _, ok := outputs[e[1]]; !ok {
					d.errorf(n, "%s: %s names no output%s", path, e, known(e[1], outputs))
				}
			case e[0] == "parent":
				d.errorf(n, "%s: %s binds a step's inputs and outputs; a command uses ${{inputs.<name>}} and ${{outputs.<name>}}", path, e)
			default:
				d.errorf(n, "%s: unknown expression %s; a command uses ${{inputs.<name>}} and ${{outputs.<name>}}", path, e)
			}
		}
	}
	check(t, false)
	// Values are quoted where they land; refuse the places where no
	// quoting can work, now rather than when the step runs.
	var sh shellState
	var walk func(segs []Segment)
	walk = func(segs []Segment) {
		for _, s := range segs {
			switch {
			case s.Optional != nil:
				walk(s.Optional)
			case s.Expr != nil && sh.heredoc:
				d.errorf(n, "%s: %s", path, msgOf(errHeredoc(s.Expr)))
			case s.Expr != nil:
				sh.quote("x")
			default:
				sh.scan(s.Text)
			}
		}
	}
	walk(t)
	return t
}

// known is ` (did you mean "x"?)` when one of a map's names is close to
// name, else " (known: a, b)" listing them, or " (there are none)".
func known[V any](name string, m map[string]V) string {
	if len(m) == 0 {
		return " (there are none)"
	}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	slices.Sort(names)
	if s := suggest(name, names); s != "" {
		return s
	}
	return " (known: " + strings.Join(names, ", ") + ")"
}
