package jobspec

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hangar-ml/hangar"
)

// ComponentResolver loads the component a pipeline step names. The CLI
// gives one that reads files and asks the server for registered
// components; tests give a map.
type ComponentResolver interface {
	// ResolveComponent returns the component ref names. from is the file
	// of the pipeline that names it: a file reference is relative to its
	// folder. Errors: ENOTFOUND for no such component, version or file;
	// EINVALID for a component file that does not parse.
	ResolveComponent(ctx context.Context, from string, ref Ref) (*Component, error)
}

// Files is a ComponentResolver that reads file references (relative to
// the referring file) and hands every other reference to Next.
type Files struct {
	// Next resolves registered components; nil answers ENOTFOUND.
	Next ComponentResolver
}

var _ ComponentResolver = Files{}

// ResolveComponent implements ComponentResolver.
func (f Files) ResolveComponent(ctx context.Context, from string, ref Ref) (*Component, error) {
	if !ref.IsFile() {
		if f.Next == nil {
			return nil, hangar.Errorf(hangar.ENOTFOUND, "component %s not found", ref)
		}
		return f.Next.ResolveComponent(ctx, from, ref)
	}
	p := filepath.FromSlash(ref.File)
	if !filepath.IsAbs(p) {
		p = filepath.Join(filepath.Dir(from), p)
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, hangar.Errorf(hangar.ENOTFOUND, "component file %s does not exist", p)
	} else if err != nil {
		return nil, hangar.Errorf(hangar.EINVALID, "component file %s: %v", p, err)
	}
	return ParseComponent(p, b)
}

// Plan is a validated pipeline: its steps in an order that runs each after
// the steps it needs, and the component of each step that runs one.
type Plan struct {
	// Order lists every step once, each after the steps it needs; among
	// steps free to run, file order decides.
	Order []string
	// Needs maps each step to the steps whose outputs or inputs it binds,
	// in file order.
	Needs map[string][]string
	// Components maps each step that runs a component (by reference, file
	// or inline) to it.
	Components map[string]*Component
}

// PlanPipeline checks a parsed pipeline job as a whole and orders its
// steps: every binding names an existing pipeline input or output, step
// and step input or output; the steps form no cycle; each step given to a
// component names only the component's inputs and outputs, with values of
// the declared types (and min, max, enum), and gives every required input;
// an input used outside $[[…]] has a value. r resolves component
// references (Files{} reads files only).
// Errors: EINVALID listing every problem with file and line; ENOTFOUND
// problems of r are reported as EINVALID lines too; ctx's error.
func PlanPipeline(ctx context.Context, job *Job, r ComponentResolver) (*Plan, error) {
	if job.Type != PipelineJob {
		return nil, hangar.Errorf(hangar.EINVALID, "%s: not a pipeline job", job.File)
	}
	d := newDecoder(job.File)
	p := &Plan{Needs: map[string][]string{}, Components: map[string]*Component{}}
	for _, name := range job.JobOrder {
		s := job.Jobs[name]
		switch {
		case s.Component != nil:
			p.Components[name] = s.Component
		case s.ComponentRef != nil:
			c, err := r.ResolveComponent(ctx, job.File, *s.ComponentRef)
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if err != nil {
				if hangar.ErrorCode(err) == hangar.EINVALID && s.ComponentRef.IsFile() {
					// The component file's own problems, with its lines.
					for _, line := range strings.Split(msgOf(err), "\n") {
						d.errorAt(d.posLine(s.Line), "jobs."+name+".component: "+line)
					}
				} else {
					d.errorAt(d.posLine(s.Line), "jobs."+name+".component: "+msgOf(err))
				}
				continue
			}
			p.Components[name] = c
		}
	}
	for _, name := range job.JobOrder {
		if s, c := job.Jobs[name], p.Components[name]; s.Type == SweepJob && c != nil {
			d.bindParams("jobs."+name+".", s, c)
		}
	}
	pl := &planner{d: d, job: job, plan: p, writer: map[string]string{}}
	// Which step writes each pipeline output, for inputs bound to one.
	for _, name := range job.JobOrder {
		pl.outputs(name)
	}
	for _, name := range job.JobOrder {
		pl.inputs(name)
	}
	if err := d.err(); err != nil {
		return nil, err
	}
	if cycle := pl.cycle(); cycle != nil {
		d.errorAt(d.posLine(job.Jobs[cycle[0]].Line), "jobs form a cycle: "+strings.Join(cycle, " → "))
		return nil, d.err()
	}
	p.Order = pl.order()
	return p, nil
}

type planner struct {
	d      *decoder
	job    *Job
	plan   *Plan
	writer map[string]string // pipeline output → the step that writes it
}

func (pl *planner) need(step, dep string) {
	if !slices.Contains(pl.plan.Needs[step], dep) {
		pl.plan.Needs[step] = append(pl.plan.Needs[step], dep)
	}
}

// stepInput is a step's declared input: its component's, or (inline) its own.
func (pl *planner) stepInput(step, name string) *Input {
	if c := pl.plan.Components[step]; c != nil {
		return c.Inputs[name]
	}
	if s := pl.job.Jobs[step]; s.Component == nil && s.ComponentRef == nil {
		return s.Inputs[name]
	}
	return nil
}

// stepOutputType is the type of a step's output, "" when it has no such output.
func (pl *planner) stepOutputType(step, name string) Type {
	if c := pl.plan.Components[step]; c != nil {
		if o := c.Outputs[name]; o != nil {
			return o.Type
		}
		return ""
	}
	s := pl.job.Jobs[step]
	if s.Component != nil || s.ComponentRef != nil {
		return "" // unresolved component: already reported
	}
	o := s.Outputs[name]
	switch {
	case o == nil:
		return ""
	case o.Type != "":
		return o.Type
	case o.Bind != nil && pl.job.Outputs[o.Bind[2]] != nil:
		return pl.job.Outputs[o.Bind[2]].Type
	}
	return URIFolder
}

// unresolved reports whether a step's component could not be loaded
// (its problems are reported already).
func (pl *planner) unresolved(step string) bool {
	s := pl.job.Jobs[step]
	return s.ComponentRef != nil && pl.plan.Components[step] == nil
}

func (pl *planner) outputs(name string) {
	s := pl.job.Jobs[name]
	c := pl.plan.Components[name]
	for _, o := range s.OutputOrder {
		out := s.Outputs[o]
		path := "jobs." + name + ".outputs." + o
		if c != nil && c.Outputs[o] == nil {
			pl.d.errorAt(pl.d.posLine(out.Line), fmt.Sprintf("%s: component %s has no output %q%s", path, compName(c), o, known(o, c.Outputs)))
			continue
		}
		if out.Bind == nil {
			continue
		}
		po := out.Bind[2]
		if pl.job.Outputs[po] == nil {
			pl.d.errorAt(pl.d.posLine(out.Line), fmt.Sprintf("%s: %s: the pipeline has no output %q%s", path, out.Bind, po, known(po, pl.job.Outputs)))
			continue
		}
		if w, ok := pl.writer[po]; ok {
			pl.d.errorAt(pl.d.posLine(out.Line), fmt.Sprintf("%s: %s is written by step %s already", path, out.Bind, w))
			continue
		}
		pl.writer[po] = name
	}
}

// source is what a step input is bound to.
type source struct {
	typ   Type
	value string // a literal's value, when known
	lit   bool   // value is known
	given bool
	what  string // for messages: "${{parent.inputs.x}}" or "the value 3"
	noun  string // what what is: "input", "output" or "value"
}

func (pl *planner) inputs(name string) {
	s := pl.job.Jobs[name]
	c := pl.plan.Components[name]
	if pl.unresolved(name) {
		return
	}
	given := map[string]bool{}
	for _, i := range s.InputOrder {
		in := s.Inputs[i]
		path := "jobs." + name + ".inputs." + i
		at := pl.d.posLine(in.Line)
		var decl *Input
		if c != nil {
			if decl = c.Inputs[i]; decl == nil {
				pl.d.errorAt(at, fmt.Sprintf("%s: component %s has no input %q%s", path, compName(c), i, known(i, c.Inputs)))
				continue
			}
		}
		src, ok := pl.source(name, path, at, in)
		if !ok {
			given[i] = true // reported already
			continue
		}
		given[i] = src.given
		if decl == nil || !src.given {
			continue
		}
		switch {
		case src.lit && decl.Type.IsLiteral():
			if msg := decl.check(src.value); msg != "" {
				pl.d.errorAt(at, fmt.Sprintf("%s: %s: input %q of component %s takes %s: %s", path, src.what, i, compName(c), article(decl.Type), msg))
			}
		case !compatible(src.typ, decl.Type):
			pl.d.errorAt(at, fmt.Sprintf("%s: %s is %s %s; input %q of component %s takes %s", path, src.what, article(src.typ), src.noun, i, compName(c), article(decl.Type)))
		}
	}
	// Required inputs, and inputs a command uses without a value.
	var t Template
	declared := s.Inputs
	if c != nil {
		t, declared = c.Template, c.Inputs
		for _, i := range c.InputOrder {
			if d := c.Inputs[i]; !given[i] && !d.Optional && !d.HasDefault {
				pl.d.errorAt(pl.d.posLine(s.Line), fmt.Sprintf("jobs.%s: input %q of component %s is required and not given", name, i, compName(c)))
			}
		}
	} else {
		t = s.Template
	}
	for _, i := range usedOutsideOptional(t) {
		d := declared[i]
		if d != nil && !given[i] && !d.HasDefault && (c == nil || d.Optional) {
			pl.d.errorAt(pl.d.posLine(s.Line), fmt.Sprintf("jobs.%s: the command uses ${{inputs.%s}} outside $[[…]] but the input has no value", name, i))
		}
	}
}

// source resolves what a step input is given: a binding, a literal or a path.
func (pl *planner) source(step, path, at string, in *Input) (source, bool) {
	if in.Bind == nil {
		if in.HasValue {
			return source{typ: in.Type, value: in.Value, lit: true, given: true, what: "the value " + in.Value, noun: "value"}, true
		}
		return source{typ: in.Type, given: in.Given(), what: "the path " + in.Path, noun: "input"}, true
	}
	e := in.Bind
	if IsSearchSpace(e) {
		// Checked against the input by bindParams.
		return source{typ: in.Type, given: true, what: e.String(), noun: "value"}, true
	}
	bad := func(format string, args ...any) (source, bool) {
		pl.d.errorAt(at, path+": "+e.String()+": "+fmt.Sprintf(format, args...))
		return source{}, false
	}
	switch {
	case e[1] == "inputs":
		p := pl.job.Inputs[e[2]]
		if p == nil {
			return bad("the pipeline has no input %q%s", e[2], known(e[2], pl.job.Inputs))
		}
		src := source{typ: p.Type, given: p.Given(), what: e.String(), noun: "input"}
		if p.HasValue {
			src.value, src.lit = p.Value, true
		} else if p.HasDefault {
			src.value, src.lit = p.Default, true
		}
		if src.lit {
			src.what = e.String() + " (" + src.value + ")"
		}
		return src, true
	case e[1] == "outputs":
		if pl.job.Outputs[e[2]] == nil {
			return bad("the pipeline has no output %q%s", e[2], known(e[2], pl.job.Outputs))
		}
		w, ok := pl.writer[e[2]]
		if !ok {
			return bad("no step writes pipeline output %q", e[2])
		}
		pl.need(step, w)
		return source{typ: pl.job.Outputs[e[2]].Type, given: true, what: e.String(), noun: "output"}, true
	}
	// parent.jobs.<step>.outputs|inputs.<name>
	other, kind, name := e[2], e[3], e[4]
	if pl.job.Jobs[other] == nil {
		return bad("the pipeline has no step %q%s", other, known(other, pl.job.Jobs))
	}
	pl.need(step, other)
	if pl.unresolved(other) {
		return source{given: true}, true
	}
	if kind == "outputs" {
		t := pl.stepOutputType(other, name)
		if t == "" {
			return bad("step %s has no output %q%s", other, name, known(name, pl.outputsOf(other)))
		}
		return source{typ: t, given: true, what: e.String(), noun: "output"}, true
	}
	d := pl.stepInput(other, name)
	if d == nil {
		return bad("step %s has no input %q", other, name)
	}
	return source{typ: d.Type, given: true, what: e.String(), noun: "input"}, true
}

func (pl *planner) outputsOf(step string) map[string]*Output {
	if c := pl.plan.Components[step]; c != nil {
		return c.Outputs
	}
	return pl.job.Jobs[step].Outputs
}

// cycle returns the steps of a cycle, the first repeated at the end, or nil.
func (pl *planner) cycle() []string {
	const (
		unseen = iota
		active
		done
	)
	state := map[string]int{}
	var stack []string
	var visit func(s string) []string
	visit = func(s string) []string {
		state[s] = active
		stack = append(stack, s)
		for _, n := range pl.plan.Needs[s] {
			switch state[n] {
			case active:
				i := slices.Index(stack, n)
				return append(slices.Clone(stack[i:]), n)
			case unseen:
				if c := visit(n); c != nil {
					return c
				}
			}
		}
		stack = stack[:len(stack)-1]
		state[s] = done
		return nil
	}
	for _, s := range pl.job.JobOrder {
		if state[s] == unseen {
			if c := visit(s); c != nil {
				// Name the cycle in the order the data flows.
				slices.Reverse(c)
				return c
			}
		}
	}
	return nil
}

// order is a topological order of an acyclic pipeline, file order among
// steps ready at the same time.
func (pl *planner) order() []string {
	placed := map[string]bool{}
	out := make([]string, 0, len(pl.job.JobOrder))
	for len(out) < len(pl.job.JobOrder) {
		for _, s := range pl.job.JobOrder {
			if placed[s] {
				continue
			}
			ready := true
			for _, n := range pl.plan.Needs[s] {
				ready = ready && placed[n]
			}
			if ready {
				placed[s] = true
				out = append(out, s)
				break
			}
		}
	}
	return out
}

// compatible reports whether a value of type from may be bound to an
// input of type to. Literals: equal types, integer into number, anything
// into string. Data: anything but a file into a folder-shaped type (or the
// reverse). Never data into a literal or a literal into data.
func compatible(from, to Type) bool {
	switch {
	case from == "" || from == to:
		return true
	case from.IsLiteral() && to.IsLiteral():
		return to == String || from == Integer && to == Number
	case from.IsData() && to.IsData():
		folder := func(t Type) bool { return t == URIFolder || t == MLTable || t == MLflowModel }
		return !(from == URIFile && folder(to) || to == URIFile && folder(from))
	}
	return false
}

// article is "a uri_folder", "an integer".
func article(t Type) string {
	switch t {
	case "":
		return "an untyped value"
	case Integer, MLTable, MLflowModel:
		return "an " + string(t)
	}
	return "a " + string(t)
}

func compName(c *Component) string {
	switch {
	case c.Name == "":
		return "(inline)"
	case c.Version != "":
		return c.Name + ":" + c.Version
	}
	return c.Name
}

// usedOutsideOptional lists the inputs a template uses outside $[[…]].
func usedOutsideOptional(t Template) []string {
	var out []string
	for _, s := range t {
		if e := s.Expr; len(e) == 2 && e[0] == "inputs" && !slices.Contains(out, e[1]) {
			out = append(out, e[1])
		}
	}
	return out
}
