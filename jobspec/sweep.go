package jobspec

import (
	"context"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/sweep"
)

// SweepJob is the type of a sweep job (sweepJob.schema.json), standalone
// or a pipeline step.
const SweepJob = "sweep"

// A sweep job reads as a Job whose command part is its trial: an inline
// trial (trial: {command, code, environment, …}) fills Command, Template,
// Code, Environment and EnvironmentVariables; a component trial (trial:
// ./train.yml, azureml:train@latest, a registry reference) fills
// ComponentRef. Inputs and Outputs are the sweep's, bound into the trial.
// Each search space parameter reaches the trial as an input of its name
// bound to it (Bind ["search_space", name]): ${{search_space.x}} in an
// inline command reads ${{inputs.x}}, a component input named like a
// parameter takes it, and so does a sweep input whose value is
// ${{search_space.x}}. Sweep holds the rest: search space, sampling
// algorithm, objective, limits and early termination.

var searchSpaceExpr = regexp.MustCompile(`\$\{\{\s*search_space\.([A-Za-z_][A-Za-z0-9_-]*)\s*\}\}`)

// IsSearchSpace reports whether e is a binding to a search space
// parameter, ${{search_space.<name>}}.
func IsSearchSpace(e Expr) bool { return len(e) == 2 && e[0] == "search_space" }

// sweepJob decodes a sweep job or a pipeline's sweep step.
func (d *decoder) sweepJob(n *yaml.Node, path string, kind jobKind) *Job {
	if n = d.deref(n); n == nil {
		return nil
	}
	j := &Job{Type: SweepJob, Line: n.Line, IsDeterministic: true, Sweep: &sweep.Config{}}
	cfg := j.Sweep
	at := map[string]*yaml.Node{"": n}
	var inputs, outputs, trial, space *yaml.Node
	fs := d.commonJob(j, path)
	fs["inputs"] = func(v *yaml.Node) { inputs = v }
	fs["outputs"] = func(v *yaml.Node) { outputs = v }
	fs["trial"] = func(v *yaml.Node) { trial = v }
	fs["search_space"] = func(v *yaml.Node) { space = v; at["search_space"] = v }
	fs["sampling_algorithm"] = func(v *yaml.Node) {
		at["sampling_algorithm"] = v
		d.samplingAlgorithm(v, join(path, "sampling_algorithm"), cfg)
	}
	fs["objective"] = func(v *yaml.Node) { at["objective"] = v; d.objective(v, join(path, "objective"), cfg, at) }
	fs["limits"] = func(v *yaml.Node) { at["limits"] = v; d.sweepLimits(v, join(path, "limits"), cfg, at) }
	fs["early_termination"] = func(v *yaml.Node) {
		at["early_termination"] = v
		d.earlyTermination(v, join(path, "early_termination"), cfg, at)
	}
	fs["resources"] = func(v *yaml.Node) { d.raw(v, join(path, "resources"), &j.Resources) }
	fs["queue_settings"] = func(v *yaml.Node) { d.raw(v, join(path, "queue_settings"), &j.QueueSettings) }
	if kind == jobTop {
		fs["$schema"] = d.schema("sweep job", "command job", "pipeline job")
		fs["experiment_name"] = func(v *yaml.Node) { d.str(v, "experiment_name", &j.ExperimentName) }
	}
	if !d.fields(n, path, fs) {
		return j
	}
	j.Type = SweepJob
	cfg.Space = d.searchSpace(space, join(path, "search_space"), at)
	ctx := inJob
	if kind == jobStep {
		ctx = inStep
	}
	d.searchSpaceInputs = true
	j.Inputs = d.inputs(inputs, join(path, "inputs"), ctx, &j.InputOrder)
	d.searchSpaceInputs = false
	j.Outputs = d.outputs(outputs, join(path, "outputs"), ctx, &j.OutputOrder)
	for _, name := range j.InputOrder {
		in := j.Inputs[name]
		if !IsSearchSpace(in.Bind) {
			continue
		}
		if p := cfg.Space[in.Bind[1]]; p == nil {
			d.errorAt(d.posLine(in.Line), fmt.Sprintf("%s: %s is not a search_space parameter%s", join(path, "inputs."+name), in.Bind, known(in.Bind[1], cfg.Space)))
		} else if in.Type == "" {
			in.Type = ParamType(p)
		}
	}
	cfg.Defaults()
	for _, p := range cfg.Problems() {
		p.Key = join(path, p.Key)
		d.errorf(nodeFor(at, strings.TrimPrefix(p.Key, path+".")), "%s", p)
	}
	switch {
	case trial == nil:
		d.errorf(n, "%s is required: the command or component each trial runs", join(path, "trial"))
	default:
		d.trial(trial, join(path, "trial"), j)
	}
	if kind == jobTop && j.ComponentRef == nil {
		d.requireValues(j)
	}
	return j
}

// nodeFor is the node of the longest key prefix recorded in at.
func nodeFor(at map[string]*yaml.Node, key string) *yaml.Node {
	for k := key; ; {
		if n, ok := at[k]; ok {
			return n
		}
		i := strings.LastIndex(k, ".")
		if i < 0 {
			return at[""]
		}
		k = k[:i]
	}
}

// trial decodes a sweep's trial: a component reference or file, or an
// inline command.
func (d *decoder) trial(n *yaml.Node, path string, j *Job) {
	if n = d.deref(n); n == nil {
		return
	}
	if n.Kind == yaml.ScalarNode && n.Tag != "!!null" {
		r, err := ParseRef(n.Value, true)
		if err != nil {
			d.errorf(n, "%s: %s", path, msgOf(err))
			return
		}
		j.ComponentRef = &r
		// A component input named like a parameter takes it, unless the
		// sweep gives the input itself.
		return
	}
	var cmd *yaml.Node
	var typ string
	if !d.fields(n, path, map[string]func(*yaml.Node){
		"type":                  func(v *yaml.Node) { d.str(v, join(path, "type"), &typ) },
		"command":               func(v *yaml.Node) { cmd = v; d.str(v, join(path, "command"), &j.Command) },
		"code":                  func(v *yaml.Node) { j.codeLine = v.Line; d.code(v, join(path, "code"), &j.Code) },
		"environment":           func(v *yaml.Node) { j.Environment = d.environment(v, join(path, "environment"), false) },
		"environment_variables": func(v *yaml.Node) { d.strMap(v, join(path, "environment_variables"), &j.EnvironmentVariables) },
		"distribution":          func(v *yaml.Node) { d.raw(v, join(path, "distribution"), &j.Distribution) },
		"resources":             func(v *yaml.Node) { d.raw(v, join(path, "resources"), &j.Resources) },
		"limits":                func(v *yaml.Node) { d.limits(v, join(path, "limits"), j) },
	}) {
		return
	}
	if typ != "" && typ != CommandJob {
		d.errorf(n, "%s.type %q: a trial is a command", path, typ)
	}
	if cmd == nil || j.Command == "" {
		d.errorf(n, "%s is required", join(path, "command"))
		return
	}
	// ${{search_space.x}} reads as ${{inputs.x}}: the parameter is an
	// input of the trial.
	inputs := maps.Clone(j.Inputs)
	if inputs == nil {
		inputs = map[string]*Input{}
	}
	used := map[string]bool{}
	for _, m := range searchSpaceExpr.FindAllStringSubmatch(j.Command, -1) {
		used[m[1]] = true
	}
	for _, name := range slices.Sorted(maps.Keys(used)) {
		switch p := j.Sweep.Space[name]; {
		case p == nil:
			d.errorf(cmd, "%s: ${{search_space.%s}} is not a search_space parameter%s", join(path, "command"), name, known(name, j.Sweep.Space))
			inputs[name] = &Input{Type: String, HasValue: true} // reported once
		case j.Inputs[name] != nil && !IsSearchSpace(j.Inputs[name].Bind):
			d.errorf(cmd, "%s: ${{search_space.%s}}: the sweep has an input %q too; rename one", join(path, "command"), name, name)
		default:
			inputs[name] = &Input{Type: ParamType(p), Bind: Expr{"search_space", name}, Line: cmd.Line}
		}
	}
	j.Command = searchSpaceExpr.ReplaceAllString(j.Command, "$${{inputs.$1}}")
	rewritten := *cmd
	rewritten.Value = j.Command
	if set, ok := d.sets[cmd]; ok {
		d.sets[&rewritten] = set
	}
	j.Template = d.command(&rewritten, join(path, "command"), inputs, j.Outputs, false)
	for name, in := range inputs {
		if IsSearchSpace(in.Bind) && j.Inputs[name] == nil {
			if j.Inputs == nil {
				j.Inputs = map[string]*Input{}
			}
			j.Inputs[name] = in
			j.InputOrder = append(j.InputOrder, name)
		}
	}
}

// ParamType is the literal type of a parameter's values: integer when
// they all are, number when they all are numbers, else string.
func ParamType(p *sweep.Param) Type {
	switch {
	case p.Check() != "":
		return String
	case p.Integral():
		return Integer
	case p.Numeric():
		return Number
	}
	return String
}

func (d *decoder) searchSpace(n *yaml.Node, path string, at map[string]*yaml.Node) sweep.Space {
	s := sweep.Space{}
	d.entries(n, path, func(k, v *yaml.Node) {
		if !isIdent(k.Value) {
			d.errorf(k, "%s: %q is not a valid parameter name (a letter or _, then letters, digits, _ or -)", path, k.Value)
			return
		}
		ppath := join(path, k.Value)
		at["search_space."+k.Value] = k
		p := &sweep.Param{}
		if !d.fields(v, ppath, map[string]func(*yaml.Node){
			"type":      func(v *yaml.Node) { d.str(v, join(ppath, "type"), &p.Type) },
			"values":    func(v *yaml.Node) { p.Values = d.choiceValues(v, join(ppath, "values")) },
			"upper":     func(v *yaml.Node) { u, ok := d.integer(v, join(ppath, "upper")); ok2(ok, func() { p.Upper = &u }) },
			"min_value": func(v *yaml.Node) { p.MinValue = d.bound(v, join(ppath, "min_value")) },
			"max_value": func(v *yaml.Node) { p.MaxValue = d.bound(v, join(ppath, "max_value")) },
			"q":         func(v *yaml.Node) { p.Q = d.bound(v, join(ppath, "q")) },
			"mu":        func(v *yaml.Node) { p.Mu = d.bound(v, join(ppath, "mu")) },
			"sigma":     func(v *yaml.Node) { p.Sigma = d.bound(v, join(ppath, "sigma")) },
		}) {
			return
		}
		if v := d.deref(v); v != nil && v.Kind == yaml.ScalarNode {
			d.errorf(v, "%s must be a mapping with a type (e.g. {type: uniform, min_value: 0.01, max_value: 0.1}), not %s", ppath, describe(v))
			return
		}
		if p.Type == "" {
			d.errorf(k, "%s.type is required (%s)", ppath, strings.Join(sweep.Distributions, ", "))
			return
		}
		s[k.Value] = p
	})
	if len(s) == 0 && len(d.errs) > 0 {
		return s // the empty space is a consequence of the errors above
	}
	return s
}

func ok2(ok bool, f func()) {
	if ok {
		f()
	}
}

// choiceValues reads a choice's values: numbers, strings and booleans,
// kept as the text substituted into the trial.
func (d *decoder) choiceValues(n *yaml.Node, path string) []string {
	if n = d.deref(n); n == nil {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		d.typeErr(n, path, "a list")
		return nil
	}
	out := make([]string, 0, len(n.Content))
	for i, c := range n.Content {
		c = d.deref(c)
		if c == nil {
			return nil
		}
		if c.Kind != yaml.ScalarNode || c.Tag == "!!null" {
			d.errorf(c, "%s[%d] must be a number, a string or a boolean, not %s (nested search spaces are not supported)", path, i, describe(c))
			continue
		}
		v := c.Value
		// Numbers reach the trial as Azure passes them, read as numbers:
		// 0.10 as 0.1, 1_000 as 1000.
		switch c.Tag {
		case "!!int":
			if n, err := strconv.ParseInt(strings.ReplaceAll(v, "_", ""), 0, 64); err == nil {
				v = strconv.FormatInt(n, 10)
			}
		case "!!float":
			if f, err := strconv.ParseFloat(strings.ReplaceAll(v, "_", ""), 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
				v = sweep.FormatFloat(f)
			}
		}
		out = append(out, v)
	}
	return out
}

func (d *decoder) samplingAlgorithm(n *yaml.Node, path string, cfg *sweep.Config) {
	if n = d.deref(n); n == nil {
		return
	}
	if n.Kind == yaml.ScalarNode {
		d.str(n, path, &cfg.Algorithm)
		return
	}
	seeded := false
	d.fields(n, path, map[string]func(*yaml.Node){
		"type": func(v *yaml.Node) { d.str(v, join(path, "type"), &cfg.Algorithm) },
		"seed": func(v *yaml.Node) {
			if s, ok := d.integer(v, join(path, "seed")); ok {
				cfg.Seed, seeded = s, true
			}
		},
		"rule": func(v *yaml.Node) { d.str(v, join(path, "rule"), &cfg.Rule) },
	})
	if seeded && cfg.Algorithm == sweep.Grid {
		d.errorf(n, "%s.seed: grid sampling draws nothing at random; remove seed", path)
	}
}

func (d *decoder) objective(n *yaml.Node, path string, cfg *sweep.Config, at map[string]*yaml.Node) {
	d.fields(n, path, map[string]func(*yaml.Node){
		"goal": func(v *yaml.Node) { at["objective.goal"] = v; d.str(v, join(path, "goal"), &cfg.Goal) },
		"primary_metric": func(v *yaml.Node) {
			at["objective.primary_metric"] = v
			d.str(v, join(path, "primary_metric"), &cfg.PrimaryMetric)
		},
	})
	cfg.Goal = strings.ToLower(cfg.Goal) // Azure accepts Maximize and maximize
}

func (d *decoder) sweepLimits(n *yaml.Node, path string, cfg *sweep.Config, at map[string]*yaml.Node) {
	count := func(key string, dst *int) func(*yaml.Node) {
		return func(v *yaml.Node) {
			at["limits."+key] = v
			if s, ok := d.integer(v, join(path, key)); ok {
				if s <= 0 {
					d.errorf(v, "%s must be a positive integer, not %d", join(path, key), s)
					return
				}
				*dst = int(min(s, 1<<30))
			}
		}
	}
	seconds := func(key string, dst *int64) func(*yaml.Node) {
		return func(v *yaml.Node) {
			at["limits."+key] = v
			if s, ok := d.integer(v, join(path, key)); ok {
				if s <= 0 || s > int64(100*365*24*time.Hour/time.Second) {
					d.errorf(v, "%s must be a positive number of seconds, not %d", join(path, key), s)
					return
				}
				*dst = s
			}
		}
	}
	d.fields(n, path, map[string]func(*yaml.Node){
		"max_total_trials":      count("max_total_trials", &cfg.MaxTotalTrials),
		"max_concurrent_trials": count("max_concurrent_trials", &cfg.MaxConcurrentTrials),
		"timeout":               seconds("timeout", &cfg.TimeoutSeconds),
		"trial_timeout":         seconds("trial_timeout", &cfg.TrialTimeoutSeconds),
	})
}

func (d *decoder) earlyTermination(n *yaml.Node, path string, cfg *sweep.Config, at map[string]*yaml.Node) {
	if n = d.deref(n); n == nil || n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return
	}
	p := &sweep.Policy{}
	interval := func(key string, dst *int) func(*yaml.Node) {
		return func(v *yaml.Node) {
			at["early_termination."+key] = v
			if s, ok := d.integer(v, join(path, key)); ok {
				*dst = int(max(min(s, 1<<30), -1))
			}
		}
	}
	intervalGiven := false
	if !d.fields(n, path, map[string]func(*yaml.Node){
		"type": func(v *yaml.Node) { at["early_termination.type"] = v; d.str(v, join(path, "type"), &p.Type) },
		"slack_factor": func(v *yaml.Node) {
			at["early_termination.slack_factor"] = v
			p.SlackFactor = d.bound(v, join(path, "slack_factor"))
		},
		"slack_amount": func(v *yaml.Node) {
			at["early_termination.slack_amount"] = v
			p.SlackAmount = d.bound(v, join(path, "slack_amount"))
		},
		"evaluation_interval": func(v *yaml.Node) {
			intervalGiven = true
			interval("evaluation_interval", &p.EvaluationInterval)(v)
		},
		"delay_evaluation":      interval("delay_evaluation", &p.DelayEvaluation),
		"truncation_percentage": interval("truncation_percentage", &p.TruncationPercentage),
	}) {
		return
	}
	if intervalGiven && p.EvaluationInterval == 0 {
		p.EvaluationInterval = -1 // given as 0: refused, not defaulted
	}
	if p.Type == "" {
		d.errorf(n, "%s.type is required (bandit, median_stopping, truncation_selection)", path)
		return
	}
	cfg.Policy = p
}

// PlanSweep checks a standalone sweep job whose trial is a component
// against it (r resolves the reference): the sweep's inputs are inputs of
// the component with values of the declared types, required inputs are
// given, and each search space parameter reaches an input that takes its
// values — the component's input of the parameter's name, unless a sweep
// input binds it. It adds an input bound to each parameter that reaches
// the component by name. It returns the component; nil and no error for
// an inline trial. Errors: EINVALID listing every problem with file and
// line; ctx's error.
func PlanSweep(ctx context.Context, job *Job, r ComponentResolver) (*Component, error) {
	if job.Type != SweepJob {
		return nil, hangar.Errorf(hangar.EINVALID, "%s: not a sweep job", job.File)
	}
	if job.ComponentRef == nil {
		return nil, nil
	}
	d := newDecoder(job.File)
	c, err := r.ResolveComponent(ctx, job.File, *job.ComponentRef)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if err != nil {
		for _, line := range strings.Split(msgOf(err), "\n") {
			d.errorAt(d.posLine(job.Line), "trial: "+line)
		}
		return nil, d.err()
	}
	d.bindParams("", job, c)
	for _, name := range job.InputOrder {
		in := job.Inputs[name]
		at := d.posLine(in.Line)
		decl := c.Inputs[name]
		switch {
		case decl == nil:
			d.errorAt(at, fmt.Sprintf("inputs.%s: component %s has no input %q%s", name, compName(c), name, known(name, c.Inputs)))
		case IsSearchSpace(in.Bind):
		case in.HasValue && decl.Type.IsLiteral():
			if msg := decl.check(in.Value); msg != "" {
				d.errorAt(at, fmt.Sprintf("inputs.%s: the value %s: input %q of component %s takes %s: %s", name, in.Value, name, compName(c), article(decl.Type), msg))
			}
		case in.Type != "" && !compatible(in.Type, decl.Type):
			d.errorAt(at, fmt.Sprintf("inputs.%s: %s input; input %q of component %s takes %s", name, article(in.Type), name, compName(c), article(decl.Type)))
		}
	}
	for _, name := range c.InputOrder {
		if decl := c.Inputs[name]; job.Inputs[name] == nil && !decl.Optional && !decl.HasDefault {
			d.errorAt(d.posLine(job.Line), fmt.Sprintf("input %q of component %s is required and not given", name, compName(c)))
		}
	}
	for _, name := range job.OutputOrder {
		if c.Outputs[name] == nil {
			d.errorAt(d.posLine(job.Outputs[name].Line), fmt.Sprintf("outputs.%s: component %s has no output %q%s", name, compName(c), name, known(name, c.Outputs)))
		}
	}
	if err := d.err(); err != nil {
		return nil, err
	}
	return c, nil
}

// bindParams binds each search space parameter of a sweep (or sweep
// step, path its key prefix) whose trial is component c: to the sweep
// inputs that name it, else to c's input of its name (added to the
// sweep's inputs); a parameter that reaches no input, or an input whose
// type its values do not fit, is an error.
func (d *decoder) bindParams(path string, j *Job, c *Component) {
	reached := map[string]bool{}
	for _, name := range j.InputOrder {
		if in := j.Inputs[name]; IsSearchSpace(in.Bind) {
			reached[in.Bind[1]] = true
			if decl := c.Inputs[name]; decl != nil {
				d.paramFits(path+"inputs."+name, in.Bind[1], j.Sweep.Space[in.Bind[1]], name, decl, c, in.Line)
			}
		}
	}
	for _, p := range j.Sweep.Space.Names() {
		if reached[p] {
			continue
		}
		decl := c.Inputs[p]
		if decl == nil {
			d.errorAt(d.posLine(j.Line), fmt.Sprintf("%ssearch_space.%s: component %s has no input %q and no input of the sweep is ${{search_space.%s}}%s", path, p, compName(c), p, p, known(p, c.Inputs)))
			continue
		}
		if given := j.Inputs[p]; given != nil {
			d.errorAt(d.posLine(given.Line), fmt.Sprintf("%sinputs.%s: input %q is given a value and is a search_space parameter; give it ${{search_space.%s}} or remove it", path, p, p, p))
			continue
		}
		d.paramFits(path+"search_space."+p, p, j.Sweep.Space[p], p, decl, c, j.Line)
		if j.Inputs == nil {
			j.Inputs = map[string]*Input{}
		}
		j.Inputs[p] = &Input{Type: decl.Type, Bind: Expr{"search_space", p}, Line: j.Line}
		j.InputOrder = append(j.InputOrder, p)
	}
}

// paramFits reports a parameter whose values an input cannot take.
func (d *decoder) paramFits(key, param string, p *sweep.Param, input string, decl *Input, c *Component, line int) {
	if p == nil || p.Check() != "" {
		return
	}
	bad := ""
	switch decl.Type {
	case Integer:
		if !p.Integral() {
			bad = fmt.Sprintf("%s gives values that are not integers", p.Type)
		}
	case Number:
		if !p.Numeric() {
			bad = "its values are not all numbers"
		}
	case Boolean:
		if p.Type != sweep.Choice {
			bad = "its values are not all true or false"
		}
		for _, v := range p.Values {
			if _, ok := parseBool(v); !ok {
				bad = "its values are not all true or false"
			}
		}
	case String:
	default:
		bad = "a parameter gives literal values"
	}
	if bad == "" && p.Type == sweep.Choice {
		for _, v := range p.Values {
			if msg := decl.check(v); msg != "" {
				bad = msg
				break
			}
		}
	}
	if bad != "" {
		d.errorAt(d.posLine(line), fmt.Sprintf("%s: ${{search_space.%s}}: input %q of component %s takes %s: %s", key, param, input, compName(c), article(decl.Type), bad))
	}
}
