package jobrun

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/jobspec"
)

// Submitter turns a job submission into stored jobs: it parses the YAML
// with the same parser as the CLI, resolves every reference (components,
// environments, data asset versions, job outputs, uploaded local paths)
// in the workspace, plans a pipeline, and stores the job and its steps in
// one transaction. Nothing is created when anything does not resolve.
type Submitter struct {
	Jobs         hangar.JobService
	Data         hangar.DataService
	Environments hangar.EnvironmentService
	Components   hangar.ComponentService
	// Builtin resolves references to built-in components (may be nil).
	Builtin jobspec.ComponentResolver
	// Submitted is called after a job is stored (may be nil): it wakes
	// the scheduler.
	Submitted func(workspace, name string)
}

// Computes lists the compute names a job may name: the local compute,
// which runs steps as processes on the server's machine.
var localComputes = []string{"", "local", "azureml:local"}

// SubmitJob implements the job create route.
// Errors: EINVALID (the YAML, a binding, a type, a missing upload, each
// with file and line where known), ENOTFOUND (the workspace; a missing
// asset is EINVALID naming it), ECONFLICT (the job name exists).
func (s *Submitter) SubmitJob(ctx context.Context, workspace string, sub *hangar.JobSubmission) (*hangar.Job, error) {
	file := sub.File
	if file == "" {
		file = "job.yml"
	}
	spec, err := jobspec.ParseJob(file, []byte(sub.YAML), sub.Sets)
	if err != nil {
		return nil, err
	}
	r := &resolution{s: s, ws: workspace, sub: sub, file: file, errs: &problems{}}
	job := &hangar.Job{
		Name:           spec.Name,
		Type:           spec.Type,
		DisplayName:    spec.DisplayName,
		ExperimentName: spec.ExperimentName,
		Description:    spec.Description,
		Tags:           spec.Tags,
		Properties:     spec.Properties,
		Compute:        spec.Compute,
		Status:         hangar.JobNotStarted,
	}
	if job.Name == "" {
		job.Name = hangar.NewJobName()
	}
	for k, v := range sub.Properties {
		if _, ok := job.Properties[k]; !ok {
			if job.Properties == nil {
				job.Properties = map[string]string{}
			}
			job.Properties[k] = v
		}
	}
	if job.ExperimentName == "" {
		job.ExperimentName = "Default"
	}
	var steps []*hangar.Job
	switch spec.Type {
	case jobspec.PipelineJob:
		steps, err = r.pipeline(ctx, spec, job)
	case jobspec.SweepJob:
		note := r.compute(spec.Compute, "compute")
		var c *jobspec.Component
		if c, err = jobspec.PlanSweep(ctx, spec, r); err != nil {
			return nil, err
		}
		var sw *Sweep
		sw, err = r.sweep(ctx, spec, c, spec.Environment, "")
		if err == nil && r.errs.err() == nil {
			if note != "" {
				sw.Trial.Notes = append(sw.Trial.Notes, note)
			}
			job.Spec, err = specText(sw)
		}
	default:
		note := r.compute(spec.Compute, "compute")
		var st *Step
		st, err = r.command(ctx, spec, nil, spec.Environment, file, "")
		if err == nil && r.errs.err() == nil {
			if note != "" {
				st.Notes = append(st.Notes, note)
			}
			job.Spec, err = specText(st)
		}
	}
	if err != nil {
		return nil, err
	}
	if err := r.errs.err(); err != nil {
		return nil, err
	}
	if err := s.Jobs.CreateJob(ctx, workspace, job, steps); err != nil {
		return nil, err
	}
	if s.Submitted != nil {
		s.Submitted(workspace, job.Name)
	}
	return job, nil
}

// problems collects the submission's resolution problems, to report them
// all at once.
type problems struct{ list []string }

func (p *problems) add(format string, args ...any) {
	p.list = append(p.list, fmt.Sprintf(format, args...))
}

func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	return hangar.Errorf(hangar.EINVALID, "%s", strings.Join(p.list, "\n"))
}

type resolution struct {
	s    *Submitter
	ws   string
	sub  *hangar.JobSubmission
	file string
	errs *problems
}

// UploadKey is how a submission names a local path: relative to the main
// YAML's folder, slash-separated and clean. from is the file that writes
// the path (itself a key, the main file being its base name).
func UploadKey(from, p string) string {
	p = strings.ReplaceAll(p, `\`, "/")
	if path.IsAbs(p) {
		return path.Clean(p)
	}
	return path.Clean(path.Join(path.Dir(from), p))
}

// compute checks a job's or step's compute and returns the note its step
// carries when the compute is an Azure cluster name (azureml:cpu-cluster,
// as every Azure sample writes): Hangar has one compute, local, and runs
// the job there, recording the name — refusing would make every file
// written for Azure fail for a name nobody here can create.
func (r *resolution) compute(c, where string) string {
	if slices.Contains(localComputes, c) {
		return ""
	}
	name := strings.TrimPrefix(c, "azureml:")
	if err := hangar.ValidateName("compute", name); err != nil || strings.ContainsAny(name, ":/@") {
		r.errs.add("%s: %s: compute %q is not a compute name: this server runs jobs on compute \"local\" (the server's machine); write azureml:<name>, local, or leave it out", r.file, where, c)
		return ""
	}
	return fmt.Sprintf("%s %s recorded, not applied: this server runs jobs on compute local (the server's machine)", where, c)
}

// ResolveComponent implements jobspec.ComponentResolver over the
// submission's files, the built-in components and the workspace's
// registered components.
func (r *resolution) ResolveComponent(ctx context.Context, from string, ref jobspec.Ref) (*jobspec.Component, error) {
	switch {
	case ref.IsFile():
		key := UploadKey(from, ref.File)
		text, ok := r.sub.Files[key]
		if !ok {
			return nil, hangar.Errorf(hangar.ENOTFOUND, "component file %s was not sent with the job", ref.File)
		}
		return jobspec.ParseComponent(key, []byte(text))
	case ref.Registry == jobspec.HangarRegistry && r.s.Builtin != nil:
		return r.s.Builtin.ResolveComponent(ctx, from, ref)
	case ref.Registry != "":
		return nil, hangar.Errorf(hangar.ENOTFOUND, "%s", registryHint("component", ref, r.ws))
	}
	var c *hangar.Component
	var err error
	if ref.Version != "" {
		c, err = r.s.Components.Component(ctx, r.ws, ref.Name, ref.Version)
	} else if ref.Label == "" || ref.Label == "latest" {
		c, err = r.s.Components.LatestComponent(ctx, r.ws, ref.Name)
	} else {
		return nil, hangar.Errorf(hangar.EINVALID, "component %s: label %q: only @latest is supported", ref, ref.Label)
	}
	if err != nil {
		if r.s.Builtin != nil && hangar.ErrorCode(err) == hangar.ENOTFOUND {
			if bc, berr := r.s.Builtin.ResolveComponent(ctx, from, ref); berr == nil {
				return bc, nil
			}
		}
		return nil, err
	}
	jc, err := jobspec.ComponentFromSpec(c.Name, c.Version, []byte(c.Spec))
	if err != nil {
		return nil, fmt.Errorf("component %s:%s: %w", c.Name, c.Version, err)
	}
	jc.File = "azureml:" + c.Name + ":" + c.Version
	return jc, nil
}

// registered maps a component loaded by ResolveComponent from the
// workspace to its stored version, for its code and hash.
func (r *resolution) registered(ctx context.Context, c *jobspec.Component) (*hangar.Component, bool) {
	name, version, ok := strings.Cut(strings.TrimPrefix(c.File, "azureml:"), ":")
	if !ok || !strings.HasPrefix(c.File, "azureml:") {
		return nil, false
	}
	hc, err := r.s.Components.Component(ctx, r.ws, name, version)
	if err != nil {
		return nil, false
	}
	return hc, true
}

func (r *resolution) pipeline(ctx context.Context, spec *jobspec.Job, job *hangar.Job) ([]*hangar.Job, error) {
	plan, err := jobspec.PlanPipeline(ctx, spec, r)
	if err != nil {
		return nil, err
	}
	if len(plan.Order) > hangar.MaxJobSteps {
		return nil, hangar.Errorf(hangar.EINVALID, "%s: %d steps; the limit is %d", r.file, len(plan.Order), hangar.MaxJobSteps)
	}
	defaultNote := r.compute(spec.Settings.DefaultCompute, "settings.default_compute")
	if spec.Compute != spec.Settings.DefaultCompute {
		// The pipeline job's own compute, stored on it: checked too.
		r.compute(spec.Compute, "compute")
	}
	p := &Pipeline{
		Inputs:                map[string]*Input{},
		Outputs:               map[string]*Output{},
		Steps:                 plan.Order,
		Needs:                 plan.Needs,
		ContinueOnStepFailure: spec.Settings.ContinueOnStepFailure,
		ForceRerun:            spec.Settings.ForceRerun,
	}
	for _, name := range spec.InputOrder {
		if in := r.input(ctx, spec.Inputs[name], nil, r.file, "inputs."+name); in != nil {
			p.Inputs[name] = in
		}
	}
	for _, name := range spec.OutputOrder {
		o := spec.Outputs[name]
		p.Outputs[name] = &Output{Type: string(orType(o.Type, jobspec.URIFolder)), Mode: string(o.Mode), Name: o.Name, Version: o.Version}
	}
	// Which step output writes each pipeline output.
	writer := map[string][]string{}
	for _, name := range spec.JobOrder {
		for oname, o := range spec.Jobs[name].Outputs {
			if len(o.Bind) == 3 && o.Bind[1] == "outputs" {
				writer[o.Bind[2]] = []string{"parent", "jobs", name, "outputs", oname}
			}
		}
	}
	var steps []*hangar.Job
	resolved := map[string]*Step{}
	for _, name := range plan.Order {
		sj := spec.Jobs[name]
		compute := sj.Compute
		if compute == "" {
			compute = spec.Settings.DefaultCompute
		}
		note := r.compute(sj.Compute, "jobs."+name+".compute")
		if sj.Compute == "" {
			note = defaultNote
		}
		env := sj.Environment
		if env == nil {
			env = spec.Settings.DefaultEnvironment
		}
		st, err := r.command(ctx, sj, plan.Components[name], env, r.file, "jobs."+name+".")
		if err != nil {
			return nil, err
		}
		if st == nil {
			continue
		}
		if note != "" {
			st.Notes = append(st.Notes, note)
		}
		// Bindings to the pipeline's inputs resolve now; to other steps
		// at run time.
		for iname, in := range st.Inputs {
			if len(in.Bind) == 0 || in.Bind[0] == "search_space" {
				continue
			}
			switch {
			case in.Bind[1] == "inputs":
				pin := p.Inputs[in.Bind[2]]
				if pin == nil || !pin.Given() {
					if ci := declared(plan.Components[name], sj, iname); ci != nil && ci.HasDefault {
						st.Inputs[iname] = &Input{Type: in.Type, Value: ci.Default, HasValue: true}
					} else {
						delete(st.Inputs, iname)
					}
					continue
				}
				cp := *pin
				if in.Mode != "" {
					cp.Mode = in.Mode
				}
				if cp.Type == "" || jobspec.Type(in.Type).IsData() {
					cp.Type = orString(in.Type, cp.Type)
				}
				st.Inputs[iname] = &cp
			case in.Bind[1] == "outputs":
				in.Bind = writer[in.Bind[2]]
			case in.Bind[3] == "inputs":
				if src := resolved[in.Bind[2]]; src != nil {
					if sin := src.Inputs[in.Bind[4]]; sin != nil && len(sin.Bind) == 0 {
						cp := *sin
						st.Inputs[iname] = &cp
					} else if sin == nil {
						delete(st.Inputs, iname)
					} else {
						in.Bind = sin.Bind
					}
				}
			}
		}
		resolved[name] = st
		typ := hangar.JobTypeCommand
		var spec any = st
		if sj.Type == jobspec.SweepJob {
			typ = hangar.JobTypeSweep
			if spec, err = r.sweepOf(st, sj); err != nil {
				return nil, err
			}
		}
		text, err := specText(spec)
		if err != nil {
			return nil, err
		}
		steps = append(steps, &hangar.Job{
			Name:           StepJobName(job.Name, name),
			Type:           typ,
			Parent:         job.Name,
			Step:           name,
			DisplayName:    orString(sj.DisplayName, name),
			ExperimentName: job.ExperimentName,
			Description:    sj.Description,
			Tags:           sj.Tags,
			Properties:     sj.Properties,
			Compute:        compute,
			Status:         hangar.JobNotStarted,
			Spec:           text,
		})
	}
	for oname, w := range writer {
		if o := p.Outputs[oname]; o != nil {
			o.Bind = w
		}
	}
	text, err := specText(p)
	if err != nil {
		return nil, err
	}
	job.Spec = text
	return steps, nil
}

// sweep resolves a sweep job: its trial as a step (c is the trial's
// component, nil for an inline trial) and its settings.
func (r *resolution) sweep(ctx context.Context, j *jobspec.Job, c *jobspec.Component, env *jobspec.Environment, at string) (*Sweep, error) {
	st, err := r.command(ctx, j, c, env, r.file, at)
	if err != nil {
		return nil, err
	}
	return r.sweepOf(st, j)
}

// sweepOf wraps a sweep's resolved trial step with its settings: a
// trial_timeout bounds each trial as its limits.timeout would, and a
// trial is never reused (its sampled values make it new, and a sweep
// that reused its trials would learn nothing).
func (r *resolution) sweepOf(st *Step, j *jobspec.Job) (*Sweep, error) {
	cfg := *j.Sweep
	if t := cfg.TrialTimeoutSeconds; t > 0 && (st.TimeoutSeconds == 0 || t < st.TimeoutSeconds) {
		st.TimeoutSeconds = t
	}
	st.IsDeterministic = false
	return &Sweep{Trial: st, Config: &cfg}, nil
}

// StepJobName is the job name of a pipeline's step.
func StepJobName(pipeline, step string) string {
	name := pipeline + "." + step
	if len(name) > 255 {
		name = name[:255]
	}
	return name
}

func declared(c *jobspec.Component, sj *jobspec.Job, name string) *jobspec.Input {
	if c != nil {
		return c.Inputs[name]
	}
	return sj.Inputs[name]
}

// command resolves a command job or a step: c is the component it runs
// (nil for an inline command), env its environment, from the file it is
// written in, at the key prefix for messages.
func (r *resolution) command(ctx context.Context, j *jobspec.Job, c *jobspec.Component, env *jobspec.Environment, from, at string) (*Step, error) {
	st := &Step{
		Inputs:               map[string]*Input{},
		Outputs:              map[string]*Output{},
		EnvironmentVariables: j.EnvironmentVariables,
		TimeoutSeconds:       int64(j.Timeout.Seconds()),
		IsDeterministic:      j.IsDeterministic,
	}
	declaredIn := j.Inputs
	declaredOut := j.Outputs
	inputOrder, outputOrder := j.InputOrder, j.OutputOrder
	envFrom := from
	if c != nil {
		st.Command = c.Command
		st.IsDeterministic = j.IsDeterministic && c.IsDeterministic
		declaredIn, declaredOut = c.Inputs, c.Outputs
		inputOrder, outputOrder = c.InputOrder, c.OutputOrder
		if env == nil {
			env, envFrom = c.Environment, c.File
		}
		switch hc, ok := r.registered(ctx, c); {
		case ok:
			st.Component = c.File
			st.ComponentHash = hc.Hash
			st.Code = hc.Code
		case strings.HasPrefix(c.File, "azureml://registries/"):
			st.Component = c.File
		default:
			st.Component = c.File
			if c.File == "" {
				st.Component = "inline"
			}
			if c.Code != "" {
				st.Code = r.upload(c.File, c.Code, at+"component.code")
			}
		}
		if len(c.Distribution) > 0 || len(c.Resources) > 0 {
			st.Notes = append(st.Notes, "distribution and resources were recorded, not applied: compute local runs one process per step")
		}
	} else {
		st.Command = j.Command
		st.Component = "inline"
		if j.Code != "" {
			st.Code = r.upload(from, j.Code, at+"code")
		}
	}
	if len(j.Distribution) > 0 || len(j.Resources) > 0 || len(j.Services) > 0 || len(j.QueueSettings) > 0 {
		st.Notes = append(st.Notes, "distribution, resources, services and queue_settings were recorded, not applied: compute local runs one process per step, now")
	}
	st.Environment = r.environment(ctx, env, envFrom, at+"environment")
	if e := st.Environment; e != nil && e.Curated {
		st.Notes = append(st.Notes, fmt.Sprintf("environment %s is one of Azure's curated environments: recorded, not applied: compute local runs the command as a host process with the host's tools", e.Ref))
	} else if e != nil && (e.Image != "" || e.CondaFile != "" || e.Build != "") {
		what := []string{}
		if e.Image != "" {
			what = append(what, "image "+e.Image)
		}
		if e.CondaFile != "" {
			what = append(what, "the conda file")
		}
		if e.Build != "" {
			what = append(what, "the build context")
		}
		name := "the inline environment"
		if e.Ref != "" {
			name = "environment " + e.Ref
		}
		st.Notes = append(st.Notes, fmt.Sprintf("%s: %s recorded, not applied: compute local runs the command as a host process with the host's tools", name, strings.Join(what, " and ")))
	}
	for _, name := range inputOrder {
		d := declaredIn[name]
		given := d
		if c != nil {
			given = j.Inputs[name]
		}
		var in *Input
		if given != nil {
			in = r.input(ctx, given, d, from, at+"inputs."+name)
		}
		if in == nil && d != nil && d.HasDefault {
			in = &Input{Type: string(d.Type), Value: d.Default, HasValue: true}
		}
		if in == nil {
			continue
		}
		if d != nil {
			if in.Type == "" {
				in.Type = string(d.Type)
			}
			if in.Mode == "" {
				in.Mode = string(d.Mode)
			}
		}
		if in.Type == "" {
			in.Type = string(jobspec.URIFolder)
		}
		st.Inputs[name] = in
	}
	for _, name := range outputOrder {
		d := declaredOut[name]
		o := &Output{Type: string(orType(d.Type, jobspec.URIFolder)), Mode: string(d.Mode), Name: d.Name, Version: d.Version}
		if c != nil {
			if g := j.Outputs[name]; g != nil {
				if g.Mode != "" {
					o.Mode = string(g.Mode)
				}
				o.Name, o.Version = g.Name, g.Version
				if g.Bind != nil {
					o.Bind = g.Bind
				}
			}
		} else if d.Bind != nil {
			o.Bind = d.Bind
		}
		st.Outputs[name] = o
	}
	return st, nil
}

func orType(t, def jobspec.Type) jobspec.Type {
	if t == "" {
		return def
	}
	return t
}

func orString(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// upload returns the digest a local path was uploaded as.
func (r *resolution) upload(from, p, at string) hangar.Digest {
	key := UploadKey(from, p)
	d, ok := r.sub.Uploads[key]
	if !ok {
		r.errs.add("%s: %s: local path %s was not uploaded with the job (hangar job create uploads every local path)", r.file, at, p)
	}
	return d
}

// environment resolves an environment: a reference to a registered
// version, or an inline definition.
func (r *resolution) environment(ctx context.Context, e *jobspec.Environment, from, at string) *Environment {
	if e == nil {
		return nil
	}
	if e.Ref != nil {
		// Azure's curated environments (registry azureml, or the
		// AzureML-… names of the workspace-scoped ones) are images Hangar
		// does not have; compute local applies no image anyway, so such a
		// reference is recorded as written.
		curated := e.Ref.Registry == "azureml" || (e.Ref.Registry == "" && strings.HasPrefix(e.Ref.Name, "AzureML-"))
		if e.Ref.Registry != "" && !curated {
			r.errs.add("%s: %s: environment %s: %s", r.file, at, e.Ref, registryHint("environment", *e.Ref, r.ws))
			return nil
		}
		var v *hangar.Environment
		var err error
		if e.Ref.Registry != "" {
			err = hangar.Errorf(hangar.ENOTFOUND, "curated")
		} else if e.Ref.Version != "" {
			v, err = r.s.Environments.Environment(ctx, r.ws, e.Ref.Name, e.Ref.Version)
		} else {
			v, err = r.s.Environments.LatestEnvironment(ctx, r.ws, e.Ref.Name)
		}
		if curated && hangar.ErrorCode(err) == hangar.ENOTFOUND {
			return &Environment{Ref: e.Ref.String(), Curated: true}
		}
		if err != nil {
			r.errs.add("%s: %s: environment %s: %s", r.file, at, e.Ref, hangar.ErrorMessage(err))
			return nil
		}
		return &Environment{Ref: "azureml:" + v.Name + ":" + v.Version, Image: v.Image, CondaFile: v.CondaFile, Build: string(v.BuildContext), Variables: v.Variables}
	}
	out := &Environment{Image: e.Image, CondaFile: e.CondaSpec, Variables: e.Variables}
	if e.CondaFile != "" {
		text, ok := r.sub.Files[UploadKey(from, e.CondaFile)]
		if !ok {
			r.errs.add("%s: %s.conda_file: %s was not sent with the job", r.file, at, e.CondaFile)
		}
		out.CondaFile = text
	}
	if e.Build != nil && e.Build.Path != "" {
		if jobspec.IsLocal(e.Build.Path) {
			out.Build = string(r.upload(from, e.Build.Path, at+".build.path"))
		} else {
			out.Build = e.Build.Path
		}
	}
	return out
}

// input resolves a job's or step's input: a literal, data, or a binding
// left for later. d is the declaration (nil for a command job's own).
func (r *resolution) input(ctx context.Context, in *jobspec.Input, d *jobspec.Input, from, at string) *Input {
	typ := in.Type
	if typ == "" && d != nil {
		typ = d.Type
	}
	out := &Input{Type: string(typ), Mode: string(in.Mode)}
	switch {
	case in.Bind != nil:
		out.Bind = in.Bind
		return out
	case in.HasValue:
		out.Value, out.HasValue = in.Value, true
		return out
	case in.Path == "":
		if in.HasDefault {
			out.Value, out.HasValue = in.Default, true
			return out
		}
		return nil
	}
	if out.Type == "" {
		out.Type = string(jobspec.URIFolder)
	}
	p := in.Path
	out.URI = p
	switch {
	case jobspec.IsLocal(p):
		out.Manifest = r.upload(from, p, at+".path")
	case strings.HasPrefix(p, "azureml://datastores/"):
		ds, _, err := hangar.ParseDatastoreURI(p)
		if err != nil {
			r.errs.add("%s: %s.path: %s", r.file, at, hangar.ErrorMessage(err))
		} else if _, err := r.s.Data.Datastore(ctx, r.ws, ds); err != nil {
			r.errs.add("%s: %s.path: %s", r.file, at, hangar.ErrorMessage(err))
		}
	case strings.HasPrefix(p, "azureml://jobs/"):
		rest := strings.TrimPrefix(p, "azureml://jobs/")
		jname, oname, ok := strings.Cut(rest, "/outputs/")
		if !ok {
			r.errs.add("%s: %s.path: %q: want azureml://jobs/<job>/outputs/<output>", r.file, at, p)
			break
		}
		src, err := r.s.Jobs.Job(ctx, r.ws, jname)
		if err != nil {
			r.errs.add("%s: %s.path: %s", r.file, at, hangar.ErrorMessage(err))
			break
		}
		o, ok := src.Outputs[strings.TrimSuffix(oname, "/")]
		if !ok || o.Manifest == "" {
			r.errs.add("%s: %s.path: job %s has no output %q (status %s)", r.file, at, jname, oname, src.Status)
			break
		}
		out.Manifest = o.Manifest
	case strings.HasPrefix(p, "azureml:"):
		ref, err := jobspec.ParseRef(p, false)
		if err != nil {
			r.errs.add("%s: %s.path: %s", r.file, at, hangar.ErrorMessage(err))
			break
		}
		var a *hangar.DataAsset
		if ref.Version != "" {
			a, err = r.s.Data.DataVersion(ctx, r.ws, ref.Name, ref.Version)
		} else if ref.Label == "" || ref.Label == "latest" {
			a, err = r.s.Data.LatestDataVersion(ctx, r.ws, ref.Name)
		} else {
			err = hangar.Errorf(hangar.EINVALID, "label %q: only @latest is supported", ref.Label)
		}
		if err != nil {
			r.errs.add("%s: %s.path: %s: %s", r.file, at, p, hangar.ErrorMessage(err))
			break
		}
		out.Asset = a.Name + ":" + a.Version
		out.URI = "azureml:" + out.Asset
		if a.Manifest.Digest != "" {
			out.Manifest = a.Manifest.Digest
		} else {
			out.URI = a.Path
		}
	default:
		if jobspec.Mode(out.Mode).Staged() {
			r.errs.add("%s: %s.path: %s cannot be staged on compute local (no network access to it): use a data asset, a datastore URI or a local path, or mode: direct", r.file, at, p)
		}
	}
	return out
}

// registryHint says how to use an asset of a registry (other than the
// built-in one) in a job of workspace ws: jobs resolve only their own
// workspace's assets, so the asset is shared into it first.
func registryHint(kind string, ref jobspec.Ref, ws string) string {
	version := ref.Version
	if version == "" {
		version = "<version>"
	}
	return fmt.Sprintf("jobs use only their workspace's %ss and the built-in registry %q: copy this one into workspace %s with `hangar %s share -w %s -n %s -v %s --to-workspace %s`, then refer to azureml:%s:%s",
		kind, jobspec.HangarRegistry, ws, kind, ref.Registry, ref.Name, version, ws, ref.Name, version)
}
