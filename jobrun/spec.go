// Package jobrun runs jobs: it turns a submitted job YAML into stored jobs
// (Submitter), moves them through their lifecycle and hands ready steps to
// an executor (Scheduler), and does one step's work wherever it runs
// (RunStep, behind `hangar run-step`). The scheduler never runs a command
// itself: an Executor starts a step runner, which claims the step under a
// lease, stages its code and inputs, runs the command, streams its log,
// uploads its outputs and reports the result — over the native HTTP API,
// so the same runner works on this machine and, later, on Slurm or
// Kubernetes.
package jobrun

import (
	"encoding/json"
	"fmt"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/sweep"
)

// Step is the resolved definition of a command job or a pipeline step,
// stored as hangar.Job.Spec: everything the runner needs, and what decides
// whether a previous run can be reused.
type Step struct {
	// Command is the command template as written.
	Command string `json:"command"`
	// Code is the manifest of the code snapshot staged as the working
	// directory; empty for none.
	Code hangar.Digest `json:"code,omitempty"`
	// Component names what the step runs, for people: azureml:name:version,
	// a built-in reference, a file, or "inline".
	Component     string `json:"component,omitempty"`
	ComponentHash string `json:"component_hash,omitempty"`
	// Environment is recorded; the local compute does not apply it.
	Environment          *Environment       `json:"environment,omitempty"`
	EnvironmentVariables map[string]string  `json:"environment_variables,omitempty"`
	Inputs               map[string]*Input  `json:"inputs,omitempty"`
	Outputs              map[string]*Output `json:"outputs,omitempty"`
	// TimeoutSeconds is limits.timeout; 0 for none.
	TimeoutSeconds  int64 `json:"timeout_seconds,omitempty"`
	IsDeterministic bool  `json:"is_deterministic"`
	// Notes say what the compute recorded and did not apply; the runner
	// writes them at the head of the log.
	Notes []string `json:"notes,omitempty"`
	// SearchSpace are a sweep trial's sampled parameters, by name, as
	// substituted.
	SearchSpace map[string]string `json:"search_space,omitempty"`
}

// Environment is a step's environment as resolved at submit time.
type Environment struct {
	// Ref is azureml:name:version for a registered environment.
	Ref       string            `json:"ref,omitempty"`
	Image     string            `json:"image,omitempty"`
	CondaFile string            `json:"conda_file,omitempty"` // the file's text
	Build     string            `json:"build,omitempty"`
	Variables map[string]string `json:"variables,omitempty"`
	// Curated marks a reference to one of Azure's curated environments
	// (registry azureml, or an AzureML-… name), recorded as written.
	Curated bool `json:"curated,omitempty"`
}

// Input is a resolved input of a step: a literal value, data, or (for a
// step whose producer has not run yet) a binding.
type Input struct {
	Type string `json:"type"`
	Mode string `json:"mode,omitempty"`
	// Value is a literal's value; HasValue tells "" from none.
	Value    string `json:"value,omitempty"`
	HasValue bool   `json:"has_value,omitempty"`
	// URI is where data comes from as resolved: azureml:name:version,
	// azureml://jobs/<job>/outputs/<o>, azureml://datastores/…, or the
	// local path that was uploaded.
	URI string `json:"uri,omitempty"`
	// Manifest is the content staged for the step; empty for a
	// datastore URI staged at run time, or direct mode.
	Manifest hangar.Digest `json:"manifest,omitempty"`
	// Asset is name:version of the data asset version resolved.
	Asset string `json:"asset,omitempty"`
	// Bind is an unresolved ${{parent.jobs.<s>.outputs|inputs.<n>}}.
	Bind []string `json:"bind,omitempty"`
}

// Given reports whether the input has a value or data.
func (in *Input) Given() bool { return in.HasValue || in.URI != "" || in.Manifest != "" }

// Output is a resolved output of a step.
type Output struct {
	Type string `json:"type"`
	Mode string `json:"mode,omitempty"`
	// Name and Version register the output as a data asset version.
	Name    string `json:"name,omitempty"`
	Version string `json:"version,omitempty"`
	// Bind is the pipeline output (parent.outputs.<o>) it feeds.
	Bind []string `json:"bind,omitempty"`
}

// Pipeline is the resolved definition of a pipeline job.
type Pipeline struct {
	Inputs  map[string]*Input  `json:"inputs,omitempty"`
	Outputs map[string]*Output `json:"outputs,omitempty"`
	// Steps are the step names in an order that runs each after its
	// needs; Needs the steps each one waits for.
	Steps                 []string            `json:"steps"`
	Needs                 map[string][]string `json:"needs,omitempty"`
	ContinueOnStepFailure bool                `json:"continue_on_step_failure,omitempty"`
	ForceRerun            bool                `json:"force_rerun,omitempty"`
}

// Sweep is the resolved definition of a sweep job: the trial's step, in
// which each input bound to a search space parameter (Bind
// ["search_space", name]) takes the value sampled for each trial, and the
// sweep's settings.
type Sweep struct {
	Trial  *Step         `json:"trial"`
	Config *sweep.Config `json:"sweep"`
	// Best is the best trial, recorded as the sweep ends.
	Best *BestTrial `json:"best,omitempty"`
}

// BestTrial is the trial of a sweep whose final primary metric is the
// best under the goal.
type BestTrial struct {
	Job    string            `json:"job"`
	RunID  string            `json:"run_id,omitempty"`
	Params map[string]string `json:"params"`
	Metric string            `json:"metric"`
	Value  float64           `json:"value"`
	// Trials is how many trials completed with the metric.
	Trials int `json:"trials"`
}

// SweepOf reads a sweep job's spec. Errors: EINVALID.
func SweepOf(j *hangar.Job) (*Sweep, error) {
	var sw Sweep
	if err := json.Unmarshal([]byte(j.Spec), &sw); err != nil {
		return nil, hangar.Errorf(hangar.EINVALID, "sweep %s: spec: %v", j.Name, err)
	}
	if sw.Trial == nil || sw.Config == nil {
		return nil, hangar.Errorf(hangar.EINVALID, "sweep %s: spec has no trial or settings", j.Name)
	}
	cfg, err := json.Marshal(sw.Config)
	if err != nil {
		return nil, hangar.Errorf(hangar.EINVALID, "sweep %s: %v", j.Name, err)
	}
	if sw.Config, err = sweep.ParseConfig(cfg); err != nil {
		return nil, fmt.Errorf("sweep %s: %w", j.Name, err)
	}
	return &sw, nil
}

// StepOf reads a command job's or step's spec.
func StepOf(j *hangar.Job) (*Step, error) {
	var s Step
	if err := json.Unmarshal([]byte(j.Spec), &s); err != nil {
		return nil, hangar.Errorf(hangar.EINVALID, "job %s: spec: %v", j.Name, err)
	}
	return &s, nil
}

// PipelineOf reads a pipeline job's spec.
func PipelineOf(j *hangar.Job) (*Pipeline, error) {
	var p Pipeline
	if err := json.Unmarshal([]byte(j.Spec), &p); err != nil {
		return nil, hangar.Errorf(hangar.EINVALID, "pipeline %s: spec: %v", j.Name, err)
	}
	return &p, nil
}

func specText(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encode job spec: %w", err)
	}
	return string(b), nil
}
