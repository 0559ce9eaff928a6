package jobspec

import (
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/hangar-ml/hangar/sweep"
)

// Job types.
const (
	CommandJob  = "command"
	PipelineJob = "pipeline"
)

// Job is a command job (commandJob.schema.json), a pipeline job
// (pipelineJob.schema.json), or one step of a pipeline job.
type Job struct {
	// Type is CommandJob or PipelineJob (steps are always CommandJob).
	Type string
	// File is the file the job was read from; Line where it starts.
	File string
	Line int

	Name, DisplayName, ExperimentName, Description string
	Tags, Properties                               map[string]string

	// Command is the command as written (command jobs, inline steps);
	// Template is it parsed.
	Command  string
	Template Template
	// Code is the folder snapshotted for the step, relative to File.
	Code                 string
	Environment          *Environment
	EnvironmentVariables map[string]string
	// Compute is where the job runs as written: "local", azureml:<name>
	// or <name>; "" for the default.
	Compute string
	// Timeout is limits.timeout; zero for none.
	Timeout time.Duration
	// IsDeterministic (default true) lets an inline step be reused.
	IsDeterministic bool

	Inputs                  map[string]*Input
	Outputs                 map[string]*Output
	InputOrder, OutputOrder []string

	// Distribution, Resources, QueueSettings, Services and Identity are
	// accepted and recorded, not applied: the local executor runs one
	// process per step, now, as the submitting user.
	Distribution, Resources, QueueSettings, Services, Identity map[string]any

	// ComponentRef is the component a step runs (component: as a
	// reference or file path); Component is an inline component: mapping.
	ComponentRef *Ref
	Component    *Component

	// Sweep is a sweep job's settings (search space, sampling,
	// objective, limits, early termination); its trial is the command
	// part above (sweep.go).
	Sweep *sweep.Config

	// Jobs are a pipeline's steps by name; JobOrder their names in file
	// order.
	Jobs     map[string]*Job
	JobOrder []string
	Settings Settings

	codeLine int
}

// Settings are a pipeline job's settings.
type Settings struct {
	// DefaultCompute is the compute of steps that name none; a top-level
	// compute: sets it too.
	DefaultCompute   string
	DefaultDatastore string
	// DefaultEnvironment is settings.environment, the environment of
	// steps that have none.
	DefaultEnvironment *Environment
	// ContinueOnStepFailure lets independent steps run on after one
	// fails. Default false: Microsoft's pipeline reference says true and
	// its schedule reference false; Hangar fails fast (ARCHITECTURE.md).
	ContinueOnStepFailure bool
	// ForceRerun runs every step even when a reusable run exists.
	ForceRerun bool
}

// ParseJob reads a command, pipeline or sweep job spec (`job create -f`), after
// applying --set overrides ("inputs.lr=0.1", "jobs.train.compute=local",
// "settings.force_rerun=true"; the value is read as YAML) to the tree, so
// an override is checked like the file. Bindings between steps and the
// interfaces of components are checked by Plan.
// Errors: EINVALID, listing every problem with its file and line.
func ParseJob(file string, b []byte, sets []string) (*Job, error) {
	root, err := load(file, b)
	if err != nil {
		return nil, err
	}
	d := newDecoder(file)
	d.applySets(root, sets)
	if err := d.err(); err != nil {
		return nil, err
	}
	typ := CommandJob
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "type" && root.Content[i+1].Kind == yaml.ScalarNode {
			typ = root.Content[i+1].Value
		}
	}
	var j *Job
	switch typ {
	case CommandJob:
		j = d.job(root, "", jobTop)
	case PipelineJob:
		j = d.pipeline(root)
	case SweepJob:
		j = d.sweepJob(root, "", jobTop)
	case "automl", "parallel", "spark", "import":
		d.errorf(root, "type %q: %s jobs are not supported; Hangar runs command, pipeline and sweep jobs", typ, typ)
	default:
		d.errorf(root, "type %q is not a job type (command, pipeline, sweep)", typ)
	}
	if err := d.err(); err != nil {
		return nil, err
	}
	j.File = file
	return j, nil
}

type jobKind int

const (
	jobTop  jobKind = iota // a command job
	jobStep                // a step of a pipeline
)

// commonJob are the keys of every job and step.
func (d *decoder) commonJob(j *Job, path string) map[string]func(*yaml.Node) {
	return map[string]func(*yaml.Node){
		"type":                  func(v *yaml.Node) { d.str(v, join(path, "type"), &j.Type) },
		"name":                  func(v *yaml.Node) { d.str(v, join(path, "name"), &j.Name) },
		"display_name":          func(v *yaml.Node) { d.str(v, join(path, "display_name"), &j.DisplayName) },
		"description":           func(v *yaml.Node) { d.str(v, join(path, "description"), &j.Description) },
		"tags":                  func(v *yaml.Node) { d.strMap(v, join(path, "tags"), &j.Tags) },
		"properties":            func(v *yaml.Node) { d.strMap(v, join(path, "properties"), &j.Properties) },
		"compute":               func(v *yaml.Node) { d.str(v, join(path, "compute"), &j.Compute) },
		"identity":              func(v *yaml.Node) { d.raw(v, join(path, "identity"), &j.Identity) },
		"environment_variables": func(v *yaml.Node) { d.strMap(v, join(path, "environment_variables"), &j.EnvironmentVariables) },
	}
}

// job decodes a command job or a pipeline step.
func (d *decoder) job(n *yaml.Node, path string, kind jobKind) *Job {
	if n = d.deref(n); n == nil {
		return nil
	}
	j := &Job{Line: n.Line, IsDeterministic: true}
	var cmd, inputs, outputs, component *yaml.Node
	fs := d.commonJob(j, path)
	for k, f := range map[string]func(*yaml.Node){
		"command":        func(v *yaml.Node) { cmd = v; d.str(v, join(path, "command"), &j.Command) },
		"code":           func(v *yaml.Node) { j.codeLine = v.Line; d.code(v, join(path, "code"), &j.Code) },
		"environment":    func(v *yaml.Node) { j.Environment = d.environment(v, join(path, "environment"), false) },
		"inputs":         func(v *yaml.Node) { inputs = v },
		"outputs":        func(v *yaml.Node) { outputs = v },
		"limits":         func(v *yaml.Node) { d.limits(v, join(path, "limits"), j) },
		"distribution":   func(v *yaml.Node) { d.raw(v, join(path, "distribution"), &j.Distribution) },
		"resources":      func(v *yaml.Node) { d.raw(v, join(path, "resources"), &j.Resources) },
		"queue_settings": func(v *yaml.Node) { d.raw(v, join(path, "queue_settings"), &j.QueueSettings) },
		"services":       func(v *yaml.Node) { d.raw(v, join(path, "services"), &j.Services) },
	} {
		fs[k] = f
	}
	if kind == jobTop {
		fs["$schema"] = d.schema("command job", "pipeline job")
		fs["experiment_name"] = func(v *yaml.Node) { d.str(v, "experiment_name", &j.ExperimentName) }
	} else {
		fs["component"] = func(v *yaml.Node) { component = v }
		fs["is_deterministic"] = func(v *yaml.Node) { d.boolean(v, join(path, "is_deterministic"), &j.IsDeterministic) }
	}
	if !d.fields(n, path, fs) {
		return nil
	}
	switch j.Type {
	case "", CommandJob:
		j.Type = CommandJob
	case "parallel", "spark", "pipeline", "automl":
		d.errorf(n, "%s: %s steps are not supported; Hangar runs command and sweep steps", path, j.Type)
	default:
		d.errorf(n, "%s: type %q is not a step type (command, sweep)", path, j.Type)
	}
	ctx := inJob
	if kind == jobStep {
		ctx = inStep
	}
	j.Inputs = d.inputs(inputs, join(path, "inputs"), ctx, &j.InputOrder)
	j.Outputs = d.outputs(outputs, join(path, "outputs"), ctx, &j.OutputOrder)
	if component != nil {
		d.stepComponent(component, join(path, "component"), j)
		if cmd != nil {
			d.errorf(cmd, "%s: a step that runs a component takes its command from it; remove command or component", path)
		}
		if j.Code != "" {
			d.errorf(n, "%s: a step that runs a component takes its code from it; remove code", path)
		}
		return j
	}
	if cmd == nil || j.Command == "" {
		d.errorf(n, "%s is required", join(path, "command"))
		return j
	}
	j.Template = d.command(cmd, join(path, "command"), j.Inputs, j.Outputs, false)
	if kind == jobTop {
		d.requireValues(j)
	}
	return j
}

// requireValues refuses a job's inputs that have no value and are not
// optional: nothing could ever supply one.
func (d *decoder) requireValues(j *Job) {
	for _, name := range j.InputOrder {
		if in := j.Inputs[name]; !in.Given() && !in.Optional {
			d.errorAt(d.posLine(in.Line), "inputs."+name+" has no value; give it a value or path, or mark it optional: true")
		}
	}
	for _, name := range usedOutsideOptional(j.Template) {
		if in := j.Inputs[name]; in != nil && !in.Given() {
			d.errorAt(d.posLine(j.Line), "the command uses ${{inputs."+name+"}} outside $[[…]] but the input has no value")
		}
	}
}

func (d *decoder) posLine(line int) string {
	if line == 0 {
		return d.file
	}
	return d.file + ":" + strconv.Itoa(line)
}

func (d *decoder) limits(n *yaml.Node, path string, j *Job) {
	d.fields(n, path, map[string]func(*yaml.Node){
		"timeout": func(v *yaml.Node) {
			if s, ok := d.integer(v, join(path, "timeout")); ok {
				if s <= 0 {
					d.errorf(v, "%s must be a positive number of seconds, not %d", join(path, "timeout"), s)
					return
				}
				j.Timeout = time.Duration(s) * time.Second
			}
		},
	})
}

// stepComponent decodes a step's component: a reference, a file path, or
// an inline component.
func (d *decoder) stepComponent(n *yaml.Node, path string, j *Job) {
	if n = d.deref(n); n == nil {
		return
	}
	switch {
	case n.Kind == yaml.MappingNode:
		j.Component = d.component(n, path, false)
	case n.Kind == yaml.ScalarNode && n.Tag != "!!null":
		r, err := ParseRef(n.Value, true)
		if err != nil {
			d.errorf(n, "%s: %s", path, msgOf(err))
			return
		}
		j.ComponentRef = &r
	default:
		d.typeErr(n, path, "a component reference, a file path or a component")
	}
}

// pipeline decodes a pipeline job.
func (d *decoder) pipeline(n *yaml.Node) *Job {
	j := &Job{Type: PipelineJob, Line: n.Line, Jobs: map[string]*Job{}}
	var inputs, outputs, jobs *yaml.Node
	fs := d.commonJob(j, "")
	fs["$schema"] = d.schema("pipeline job", "command job")
	fs["experiment_name"] = func(v *yaml.Node) { d.str(v, "experiment_name", &j.ExperimentName) }
	fs["inputs"] = func(v *yaml.Node) { inputs = v }
	fs["outputs"] = func(v *yaml.Node) { outputs = v }
	fs["jobs"] = func(v *yaml.Node) { jobs = v }
	fs["settings"] = func(v *yaml.Node) { d.settings(v, j) }
	delete(fs, "environment_variables")
	if !d.fields(n, "", fs) {
		return j
	}
	if j.Compute != "" && j.Settings.DefaultCompute == "" {
		j.Settings.DefaultCompute = j.Compute
	}
	j.Inputs = d.inputs(inputs, "inputs", inJob, &j.InputOrder)
	j.Outputs = d.outputs(outputs, "outputs", inJob, &j.OutputOrder)
	d.requireValues(j)
	if jobs == nil {
		d.errorf(n, "jobs is required: a pipeline has at least one step")
		return j
	}
	d.entries(jobs, "jobs", func(k, v *yaml.Node) {
		if !isIdent(k.Value) {
			d.errorf(k, "jobs: %q is not a valid step name (a letter or _, then letters, digits, _ or -)", k.Value)
			return
		}
		var s *Job
		if stepType(d.deref(v)) == SweepJob {
			s = d.sweepJob(v, "jobs."+k.Value, jobStep)
		} else {
			s = d.job(v, "jobs."+k.Value, jobStep)
		}
		if s != nil {
			s.Name = k.Value
			s.Line = k.Line
			j.Jobs[k.Value] = s
			j.JobOrder = append(j.JobOrder, k.Value)
		}
	})
	if len(j.JobOrder) == 0 && len(d.errs) == 0 {
		d.errorf(jobs, "jobs is empty: a pipeline has at least one step")
	}
	return j
}

func (d *decoder) settings(n *yaml.Node, j *Job) {
	s := &j.Settings
	d.fields(n, "settings", map[string]func(*yaml.Node){
		"default_compute":          func(v *yaml.Node) { d.str(v, "settings.default_compute", &s.DefaultCompute) },
		"default_datastore":        func(v *yaml.Node) { d.str(v, "settings.default_datastore", &s.DefaultDatastore) },
		"datastore":                func(v *yaml.Node) { d.str(v, "settings.datastore", &s.DefaultDatastore) },
		"environment":              func(v *yaml.Node) { s.DefaultEnvironment = d.environment(v, "settings.environment", false) },
		"continue_on_step_failure": func(v *yaml.Node) { d.boolean(v, "settings.continue_on_step_failure", &s.ContinueOnStepFailure) },
		"force_rerun":              func(v *yaml.Node) { d.boolean(v, "settings.force_rerun", &s.ForceRerun) },
	})
}

// applySets applies --set overrides to the tree: each "a.b.c=value"
// replaces (or adds) the value at that path, creating mappings on the way.
func (d *decoder) applySets(root *yaml.Node, sets []string) {
	for _, s := range sets {
		key, val, ok := strings.Cut(s, "=")
		if !ok || key == "" {
			d.errorAt(d.file+": --set "+s, "want key=value, e.g. inputs.learning_rate=0.1")
			continue
		}
		var v yaml.Node
		if err := yaml.Unmarshal([]byte(val), &v); err != nil {
			d.errorAt(d.file+": --set "+s, "the value is not valid YAML: "+strings.TrimPrefix(err.Error(), "yaml: "))
			continue
		}
		value := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null"}
		if len(v.Content) > 0 {
			value = v.Content[0]
		}
		var mark func(*yaml.Node)
		mark = func(n *yaml.Node) {
			// Lines of the override's own little document mean nothing
			// in the file; errors found now name the --set instead.
			n.Line, n.Column = 0, 0
			d.sets[n] = s
			for _, c := range n.Content {
				mark(c)
			}
		}
		mark(value)
		cur := root
		parts := strings.Split(key, ".")
		for i, p := range parts {
			if p == "" {
				d.errorAt(d.file+": --set "+s, "empty name in "+key)
				break
			}
			idx := -1
			for k := 0; k+1 < len(cur.Content); k += 2 {
				if cur.Content[k].Value == p {
					idx = k + 1
				}
			}
			last := i == len(parts)-1
			if idx < 0 {
				kn := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: p}
				d.sets[kn] = s
				var vn *yaml.Node
				if last {
					vn = value
				} else {
					vn = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
					d.sets[vn] = s
				}
				cur.Content = append(cur.Content, kn, vn)
				cur = vn
				continue
			}
			if last {
				cur.Content[idx] = value
				break
			}
			next := cur.Content[idx]
			if next.Kind == yaml.ScalarNode && next.Tag == "!!null" {
				next.Kind, next.Tag = yaml.MappingNode, "!!map"
			}
			if next.Kind != yaml.MappingNode {
				d.errorAt(d.file+": --set "+s, strings.Join(parts[:i+1], ".")+" is "+describe(next)+", not a mapping to set "+parts[i+1]+" in")
				break
			}
			cur = next
		}
	}
}

// stepType is the type: a step's mapping names, "" when none.
func stepType(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.MappingNode {
		return ""
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "type" && n.Content[i+1].Kind == yaml.ScalarNode {
			return n.Content[i+1].Value
		}
	}
	return ""
}
