// Package sweep is the pure logic of hyperparameter sweeps (Azure ML's
// sweep jobs, reference/azureml.md §2): the search space and its
// distributions, the sampling algorithms (grid, random, bayesian) and the
// early termination policies (bandit, median stopping, truncation
// selection). It runs nothing: package jobrun creates the trials, reads
// their metrics and cancels them; this package decides what to sample and
// whom to stop, as functions of what jobrun hands it, so a sweep restarted
// on another server decides the same.
package sweep

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/hangar-ml/hangar"
)

// Distributions of a search space parameter, with Hyperopt's (and so
// Azure's) semantics; the q forms round to a multiple of q
// (round(x/q)·q, half to even), the log forms sample in ln space.
const (
	Choice      = "choice"      // values: one of the listed values
	RandInt     = "randint"     // upper: an integer in [0, upper)
	Uniform     = "uniform"     // min_value, max_value
	QUniform    = "quniform"    // min_value, max_value, q
	LogUniform  = "loguniform"  // min_value, max_value: exp(uniform(min, max))
	QLogUniform = "qloguniform" // min_value, max_value, q
	Normal      = "normal"      // mu, sigma
	QNormal     = "qnormal"     // mu, sigma, q
	LogNormal   = "lognormal"   // mu, sigma: exp(normal(mu, sigma))
	QLogNormal  = "qlognormal"  // mu, sigma, q
)

// Distributions lists every distribution.
var Distributions = []string{Choice, RandInt, Uniform, QUniform, LogUniform, QLogUniform, Normal, QNormal, LogNormal, QLogNormal}

// Sampling algorithms.
const (
	Grid     = "grid"
	Random   = "random"
	Bayesian = "bayesian"
)

// Goals of the objective.
const (
	Minimize = "minimize"
	Maximize = "maximize"
)

// Early termination policies.
const (
	Bandit              = "bandit"
	MedianStopping      = "median_stopping"
	TruncationSelection = "truncation_selection"
)

// Limits of a sweep.
const (
	MaxParams        = 100
	MaxChoiceValues  = 1000
	MaxTrials        = 1000 // max_total_trials at most
	DefaultMaxTrials = 1000 // Azure's default max_total_trials
	DefaultTimeout   = 7 * 24 * 3600
	maxValueLength   = 1024
)

// Param is one parameter of a search space: a distribution and its
// arguments. Choice values are kept as the text that is substituted into
// the trial (a YAML number as written, a string as is).
type Param struct {
	Type     string   `json:"type"`
	Values   []string `json:"values,omitempty"`
	Upper    *int64   `json:"upper,omitempty"`
	MinValue *float64 `json:"min_value,omitempty"`
	MaxValue *float64 `json:"max_value,omitempty"`
	Q        *float64 `json:"q,omitempty"`
	Mu       *float64 `json:"mu,omitempty"`
	Sigma    *float64 `json:"sigma,omitempty"`
}

// args are the arguments each distribution takes.
var args = map[string][]string{
	Choice:      {"values"},
	RandInt:     {"upper"},
	Uniform:     {"min_value", "max_value"},
	QUniform:    {"min_value", "max_value", "q"},
	LogUniform:  {"min_value", "max_value"},
	QLogUniform: {"min_value", "max_value", "q"},
	Normal:      {"mu", "sigma"},
	QNormal:     {"mu", "sigma", "q"},
	LogNormal:   {"mu", "sigma"},
	QLogNormal:  {"mu", "sigma", "q"},
}

// Args returns the argument names a distribution takes, nil for an
// unknown distribution.
func Args(dist string) []string { return args[dist] }

// given lists the arguments p sets.
func (p *Param) given() []string {
	var out []string
	for _, a := range []struct {
		name string
		set  bool
	}{{"values", p.Values != nil}, {"upper", p.Upper != nil}, {"min_value", p.MinValue != nil}, {"max_value", p.MaxValue != nil},
		{"q", p.Q != nil}, {"mu", p.Mu != nil}, {"sigma", p.Sigma != nil}} {
		if a.set {
			out = append(out, a.name)
		}
	}
	return out
}

// Check returns what is wrong with a parameter, "" when nothing is: an
// unknown distribution, a missing or foreign argument, an empty choice,
// bounds out of order, a q or sigma that is not positive, a loguniform
// whose ln-space bound overflows.
func (p *Param) Check() string {
	want, ok := args[p.Type]
	if !ok {
		return fmt.Sprintf("unknown distribution %q (%s)", p.Type, strings.Join(Distributions, ", "))
	}
	for _, a := range p.given() {
		if !slices.Contains(want, a) {
			return fmt.Sprintf("%s takes %s, not %s", p.Type, strings.Join(want, ", "), a)
		}
	}
	for _, a := range want {
		if !slices.Contains(p.given(), a) {
			return fmt.Sprintf("%s needs %s (it takes %s)", p.Type, a, strings.Join(want, ", "))
		}
	}
	for _, f := range []*float64{p.MinValue, p.MaxValue, p.Q, p.Mu, p.Sigma} {
		if f != nil && (math.IsNaN(*f) || math.IsInf(*f, 0)) {
			return "arguments must be finite numbers"
		}
	}
	switch p.Type {
	case Choice:
		if len(p.Values) == 0 {
			return "choice needs at least one value"
		}
		if len(p.Values) > MaxChoiceValues {
			return fmt.Sprintf("choice has %d values; the limit is %d", len(p.Values), MaxChoiceValues)
		}
		seen := map[string]bool{}
		for _, v := range p.Values {
			if len(v) > maxValueLength {
				return fmt.Sprintf("a choice value is longer than %d bytes", maxValueLength)
			}
			if err := hangar.ValidateText("value", v, maxValueLength); err != nil {
				return "a choice value: " + hangar.ErrorMessage(err)
			}
			if seen[v] {
				return fmt.Sprintf("choice lists %q twice", v)
			}
			seen[v] = true
		}
	case RandInt:
		if *p.Upper < 1 {
			return fmt.Sprintf("randint upper must be at least 1 (values are 0 to upper-1), not %d", *p.Upper)
		}
	case Uniform, QUniform, LogUniform, QLogUniform:
		if !(*p.MinValue < *p.MaxValue) {
			return fmt.Sprintf("%s min_value %v must be below max_value %v", p.Type, *p.MinValue, *p.MaxValue)
		}
		if (p.Type == LogUniform || p.Type == QLogUniform) && *p.MaxValue > 700 {
			return fmt.Sprintf("%s bounds are natural logarithms: max_value %v gives exp(%v), which overflows", p.Type, *p.MaxValue, *p.MaxValue)
		}
	case Normal, QNormal, LogNormal, QLogNormal:
		if !(*p.Sigma > 0) {
			return fmt.Sprintf("%s sigma must be positive, not %v", p.Type, *p.Sigma)
		}
		if (p.Type == LogNormal || p.Type == QLogNormal) && math.Abs(*p.Mu) > 700 {
			return fmt.Sprintf("%s mu is a natural logarithm: %v overflows", p.Type, *p.Mu)
		}
	}
	if p.Q != nil && !(*p.Q > 0) {
		return fmt.Sprintf("%s q must be positive, not %v", p.Type, *p.Q)
	}
	return ""
}

// Integral reports whether every value of the parameter is an integer:
// randint, choices of integers, and q forms with an integral q.
func (p *Param) Integral() bool {
	switch p.Type {
	case RandInt:
		return true
	case Choice:
		for _, v := range p.Values {
			if _, ok := intText(v); !ok {
				return false
			}
		}
		return true
	case QUniform, QLogUniform, QNormal, QLogNormal:
		return *p.Q == math.Trunc(*p.Q)
	}
	return false
}

// Numeric reports whether every value of the parameter is a number.
func (p *Param) Numeric() bool {
	if p.Type != Choice {
		return true
	}
	for _, v := range p.Values {
		if _, ok := floatText(v); !ok {
			return false
		}
	}
	return true
}

// Space is a search space: parameters by name.
type Space map[string]*Param

// Names are the parameter names, sorted: the order samplers draw in.
func (s Space) Names() []string { return slices.Sorted(maps.Keys(s)) }

// Config is a sweep's settings: its search space, sampling algorithm,
// objective, limits and early termination policy. jobspec reads it from
// YAML; package jobrun stores it in the sweep job's spec as JSON.
type Config struct {
	Space Space `json:"search_space"`
	// Algorithm is grid, random or bayesian; Seed seeds random and
	// bayesian sampling (0 when not given); Rule is random's rule
	// ("random"; "sobol" is refused).
	Algorithm string `json:"sampling_algorithm"`
	Seed      int64  `json:"seed,omitempty"`
	Rule      string `json:"rule,omitempty"`

	Goal          string `json:"goal"`
	PrimaryMetric string `json:"primary_metric"`

	// MaxTotalTrials (default 1000) and MaxConcurrentTrials (default
	// MaxTotalTrials) bound the trials; TimeoutSeconds (default 7 days)
	// the sweep, TrialTimeoutSeconds (0: none) each trial.
	MaxTotalTrials      int   `json:"max_total_trials"`
	MaxConcurrentTrials int   `json:"max_concurrent_trials"`
	TimeoutSeconds      int64 `json:"timeout_seconds"`
	TrialTimeoutSeconds int64 `json:"trial_timeout_seconds,omitempty"`

	Policy *Policy `json:"early_termination,omitempty"`
}

// Policy is an early termination policy. An interval is one value of the
// primary metric as a trial logs it (the n-th logged value is interval n),
// as Azure counts them. The policy applies at every interval that is a
// multiple of EvaluationInterval and at least DelayEvaluation.
type Policy struct {
	Type string `json:"type"`
	// SlackFactor or SlackAmount (bandit, exactly one).
	SlackFactor *float64 `json:"slack_factor,omitempty"`
	SlackAmount *float64 `json:"slack_amount,omitempty"`
	// TruncationPercentage (truncation_selection, 1 to 99).
	TruncationPercentage int `json:"truncation_percentage,omitempty"`
	EvaluationInterval   int `json:"evaluation_interval"`
	DelayEvaluation      int `json:"delay_evaluation,omitempty"`
}

// Defaults fills what was not given: max_total_trials 1000,
// max_concurrent_trials max_total_trials, timeout 7 days, rule random,
// evaluation_interval 1.
func (c *Config) Defaults() {
	if c.MaxTotalTrials == 0 {
		c.MaxTotalTrials = DefaultMaxTrials
	}
	if c.MaxConcurrentTrials == 0 {
		c.MaxConcurrentTrials = c.MaxTotalTrials
	}
	if c.TimeoutSeconds == 0 {
		c.TimeoutSeconds = DefaultTimeout
	}
	if c.Algorithm == Random && c.Rule == "" {
		c.Rule = Random
	}
	if c.Policy != nil && c.Policy.EvaluationInterval == 0 {
		c.Policy.EvaluationInterval = 1
	}
}

// Problem is one thing wrong with a Config: the key it is about
// ("search_space.lr", "limits.max_total_trials") and what.
type Problem struct {
	Key, Msg string
}

// String is the problem as one line: "limits.max_total_trials must be 1
// to 1000, not 0", "search_space.lr: uniform needs q".
func (p Problem) String() string {
	if strings.HasPrefix(p.Msg, "is ") || strings.HasPrefix(p.Msg, "must ") || strings.HasPrefix(p.Msg, "has ") {
		return p.Key + " " + p.Msg
	}
	return p.Key + ": " + p.Msg
}

// Problems lists everything wrong with a Config (after Defaults), in a
// stable order: each parameter, the algorithm against the space, the
// objective, the limits and the policy.
func (c *Config) Problems() []Problem {
	var out []Problem
	add := func(key, format string, a ...any) { out = append(out, Problem{key, fmt.Sprintf(format, a...)}) }
	if len(c.Space) == 0 {
		add("search_space", "is empty: give at least one parameter")
	}
	if len(c.Space) > MaxParams {
		add("search_space", "has %d parameters; the limit is %d", len(c.Space), MaxParams)
	}
	for _, name := range c.Space.Names() {
		p := c.Space[name]
		if p == nil {
			add("search_space."+name, "has no distribution")
			continue
		}
		if msg := p.Check(); msg != "" {
			add("search_space."+name, "%s", msg)
			continue
		}
		switch {
		case c.Algorithm == Grid && p.Type != Choice:
			add("search_space."+name, "grid sampling takes choice parameters only, not %s", p.Type)
		case c.Algorithm == Bayesian && p.Type != Choice && p.Type != Uniform && p.Type != QUniform:
			add("search_space."+name, "bayesian sampling takes choice, uniform and quniform parameters only, not %s", p.Type)
		}
	}
	switch c.Algorithm {
	case Grid, Bayesian:
		if c.Rule != "" {
			add("sampling_algorithm.rule", "is for random sampling only")
		}
	case Random:
		switch c.Rule {
		case Random:
		case "sobol":
			add("sampling_algorithm.rule", "rule sobol is not supported: Hangar samples uniformly at random (rule: random, reproducible with seed)")
		default:
			add("sampling_algorithm.rule", "unknown rule %q (random)", c.Rule)
		}
	case "":
		add("sampling_algorithm", "is required (grid, random or bayesian)")
	default:
		add("sampling_algorithm", "unknown sampling algorithm %q (grid, random, bayesian)", c.Algorithm)
	}
	if c.PrimaryMetric == "" {
		add("objective.primary_metric", "is required: the metric the trials log")
	} else if err := hangar.ValidateText("primary_metric", c.PrimaryMetric, 250); err != nil {
		add("objective.primary_metric", "%s", hangar.ErrorMessage(err))
	}
	if c.Goal == "" {
		add("objective.goal", "is required (minimize or maximize)")
	} else if c.Goal != Minimize && c.Goal != Maximize {
		add("objective.goal", "must be minimize or maximize, not %q", c.Goal)
	}
	if c.MaxTotalTrials < 1 || c.MaxTotalTrials > MaxTrials {
		add("limits.max_total_trials", "must be 1 to %d, not %d", MaxTrials, c.MaxTotalTrials)
	}
	if c.MaxConcurrentTrials < 1 {
		add("limits.max_concurrent_trials", "must be at least 1, not %d", c.MaxConcurrentTrials)
	}
	if c.TimeoutSeconds < 1 {
		add("limits.timeout", "must be a positive number of seconds, not %d", c.TimeoutSeconds)
	}
	if c.TrialTimeoutSeconds < 0 {
		add("limits.trial_timeout", "must be a positive number of seconds, not %d", c.TrialTimeoutSeconds)
	}
	if p := c.Policy; p != nil {
		out = append(out, p.problems(c.Algorithm)...)
	}
	return out
}

func (p *Policy) problems(algorithm string) []Problem {
	var out []Problem
	add := func(key, format string, a ...any) {
		out = append(out, Problem{"early_termination" + key, fmt.Sprintf(format, a...)})
	}
	if algorithm == Bayesian {
		add("", "bayesian sampling takes no early termination policy: it learns from trials that run to the end")
	}
	if p.Type != Bandit && (p.SlackFactor != nil || p.SlackAmount != nil) {
		add("", "slack_factor and slack_amount are for the bandit policy")
	}
	if p.Type != TruncationSelection && p.TruncationPercentage != 0 {
		add(".truncation_percentage", "is for the truncation_selection policy only")
	}
	switch p.Type {
	case Bandit:
		switch {
		case (p.SlackFactor == nil) == (p.SlackAmount == nil):
			add("", "bandit needs exactly one of slack_factor and slack_amount")
		case p.SlackFactor != nil && !(*p.SlackFactor >= 0 && !math.IsInf(*p.SlackFactor, 0)):
			add(".slack_factor", "must be a number ≥ 0, not %v", *p.SlackFactor)
		case p.SlackAmount != nil && !(*p.SlackAmount >= 0 && !math.IsInf(*p.SlackAmount, 0)):
			add(".slack_amount", "must be a number ≥ 0, not %v", *p.SlackAmount)
		}
	case MedianStopping:
	case TruncationSelection:
		if p.TruncationPercentage < 1 || p.TruncationPercentage > 99 {
			add(".truncation_percentage", "must be 1 to 99, not %d", p.TruncationPercentage)
		}
	default:
		add(".type", "unknown early termination policy %q (bandit, median_stopping, truncation_selection)", p.Type)
	}
	if p.EvaluationInterval < 1 {
		add(".evaluation_interval", "must be at least 1, not %d", p.EvaluationInterval)
	}
	if p.DelayEvaluation < 0 {
		add(".delay_evaluation", "must be 0 or more, not %d", p.DelayEvaluation)
	}
	return out
}

// Validate is Problems as one EINVALID error, a line each, or nil.
func (c *Config) Validate() error {
	ps := c.Problems()
	if len(ps) == 0 {
		return nil
	}
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return hangar.Errorf(hangar.EINVALID, "%s", strings.Join(lines, "\n"))
}

// ParseConfig reads a Config from its JSON form (a sweep job's stored
// spec), strictly, applies Defaults and validates it. Errors: EINVALID.
func ParseConfig(b []byte) (*Config, error) {
	if err := hangar.CheckJSONText(b); err != nil {
		return nil, hangar.Errorf(hangar.EINVALID, "sweep: %s", hangar.ErrorMessage(err))
	}
	var c Config
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, hangar.Errorf(hangar.EINVALID, "sweep: %v", err)
	}
	if dec.More() {
		return nil, hangar.Errorf(hangar.EINVALID, "sweep: data after the object")
	}
	c.Defaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// GridSize is the number of points of a grid (the product of the choice
// counts), capped at MaxTrials+1.
func (s Space) GridSize() int {
	n := 1
	for _, p := range s {
		n *= max(len(p.Values), 1)
		if n > MaxTrials {
			return MaxTrials + 1
		}
	}
	return n
}

// Trials is how many trials the sweep runs at most: max_total_trials, or
// the grid's size when smaller.
func (c *Config) Trials() int {
	if c.Algorithm == Grid {
		return min(c.MaxTotalTrials, c.Space.GridSize())
	}
	return c.MaxTotalTrials
}

// Better reports whether a is better than b under the goal.
func (c *Config) Better(a, b float64) bool {
	if c.Goal == Maximize {
		return a > b
	}
	return a < b
}
