package jobspec

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/sweep"
)

// registered resolves references to registered components from a map
// keyed by Ref.String(), the way a server would.
type registered map[string]*Component

func (r registered) ResolveComponent(_ context.Context, _ string, ref Ref) (*Component, error) {
	if c := r[ref.String()]; c != nil {
		return c, nil
	}
	return nil, hangar.Errorf(hangar.ENOTFOUND, "component %s not found", ref)
}

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustComponent(t *testing.T, name string) *Component {
	t.Helper()
	c, err := ParseComponent(name, readFixture(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// resolver is the test's registry: the evaluate component as
// azureml:evaluate_churn:1 and split in the registry "hangar".
func resolver(t *testing.T) ComponentResolver {
	return Files{Next: registered{
		"azureml:evaluate_churn:1":                                mustComponent(t, "testdata/components/evaluate.yml"),
		"azureml://registries/hangar/components/split/versions/1": mustComponent(t, "testdata/components/split.yml"),
	}}
}

// parseFixture reads a fixture with the parser kind names and, for a
// pipeline, plans it.
func parseFixture(t *testing.T, kind, name string) error {
	t.Helper()
	b := readFixture(t, name)
	var err error
	switch kind {
	case "component":
		_, err = ParseComponent(name, b)
	case "environment":
		_, err = ParseEnvironment(name, b)
	case "data":
		_, err = ParseData(name, b)
	default:
		var j *Job
		if j, err = ParseJob(name, b, nil); err == nil && j.Type == PipelineJob {
			_, err = PlanPipeline(t.Context(), j, resolver(t))
		}
	}
	return err
}

// TestInvalid has one fixture per class of bad input, each with every
// message it must produce, in order.
func TestInvalid(t *testing.T) {
	tests := []struct {
		file, kind string
		want       []string
	}{
		{"bad-component-file.yml", "job", []string{
			"bad-component-file.yml:3: jobs.train.component: testdata/invalid/broken-component.yml:5: command: ${{inputs.dta}} names no input (did you mean \"data\"?)",
		}},
		{"bad-data.yml", "data", []string{
			"bad-data.yml:4: unknown key \"paths\" (did you mean \"path\"?)",
			"bad-data.yml:3: type \"table\" is not a data asset type (uri_file, uri_folder, mltable)",
			"bad-data.yml:1: name is required",
			"bad-data.yml:1: path is required",
		}},
		{"bad-environment.yml", "environment", []string{
			"bad-environment.yml:6: build needs a path (the Docker build context)",
			"bad-environment.yml:3: conda_file needs an image to build on",
			"bad-environment.yml:4: os_type \"plan9\" is not linux or windows",
		}},
		{"bad-io.yml", "job", []string{
			"bad-io.yml:3: inputs: \"home\" is a reserved name (path, ld_library_path, user, logname, home, pwd, shell)",
			"bad-io.yml:5: inputs.model.type \"sklearn_model\" is not an input type (uri_file, uri_folder, mltable, mlflow_model, custom_model, triton_model, integer, number, string, boolean)",
			"bad-io.yml:8: inputs.data.mode eval_mount is for mltable inputs only",
			"bad-io.yml:14: inputs.count: an integer input takes a value, not a path or mode",
			"bad-io.yml:18: outputs.out.mode \"stream\" is not an output mode (rw_mount, upload, direct)",
			"bad-io.yml:20: outputs.report.path: ${{inputs.x}} is not a path template; use ${{name}}, ${{output_name}} or ${{default_datastore}}",
			"bad-io.yml:1: command: ${{inputs.home}} names no input (known: count, data, table)",
			"bad-io.yml:11: inputs.table has no value; give it a value or path, or mark it optional: true",
		}},
		{"bad-literal.yml", "job", []string{
			"bad-literal.yml:11: jobs.train.inputs.max_epochs: ${{parent.inputs.epochs}} (many): input \"max_epochs\" of component train_churn:4 takes an integer: \"many\" is not an integer",
			"bad-literal.yml:12: jobs.train.inputs.schedule: the value cosine: input \"schedule\" of component train_churn:4 takes a string: \"cosine\" is not one of time-based, step, exponential",
		}},
		{"bad-template.yml", "job", []string{
			"bad-template.yml:1: command: unclosed ${{ at offset 23",
		}},
		{"bad-yaml.yml", "job", []string{
			"bad-yaml.yml:3: invalid YAML: did not find expected ',' or ']'",
		}},
		{"broken-component.yml", "component", []string{
			"broken-component.yml:5: command: ${{inputs.dta}} names no input (did you mean \"data\"?)",
		}},
		{"cycle.yml", "job", []string{
			"cycle.yml:3: jobs form a cycle: prep → train → evaluate → prep",
		}},
		{"duplicate-writer.yml", "job", []string{
			"duplicate-writer.yml:12: jobs.b.outputs.m: ${{parent.outputs.model}} is written by step a already",
			"duplicate-writer.yml:16: jobs.c.inputs.x: ${{parent.outputs.missing}}: the pipeline has no output \"missing\" (known: model)",
		}},
		{"heredoc.yml", "job", []string{
			"heredoc.yml:1: command: ${{inputs.greeting}} comes after a here-document (<<), where a value cannot be quoted safely; pass it as an argument or through an environment variable",
		}},
		{"missing-component.yml", "job", []string{
			"missing-component.yml:3: jobs.train.component: component azureml:train_churn:9 not found",
			"missing-component.yml:5: jobs.score.component: component file testdata/invalid/no-such-score.yml does not exist",
		}},
		{"missing-output.yml", "job", []string{
			"missing-output.yml:10: jobs.train.inputs.data: ${{parent.jobs.prep.outputs.training}}: step prep has no output \"training\" (known: train)",
		}},
		{"missing-parent-input.yml", "job", []string{
			"missing-parent-input.yml:10: jobs.prep.inputs.raw: ${{parent.inputs.raw_data}}: the pipeline has no input \"raw_data\" (known: raw)",
		}},
		{"missing-required.yml", "job", []string{
			"missing-required.yml:3: jobs.train: input \"training_data\" of component train_churn:4 is required and not given",
		}},
		{"missing-step.yml", "job", []string{
			"missing-step.yml:6: jobs.train.inputs.data: ${{parent.jobs.prepare.outputs.train}}: the pipeline has no step \"prepare\" (known: prep, train)",
		}},
		{"optional-not-wrapped.yml", "component", []string{
			"optional-not-wrapped.yml:6: inputs.lr: min 1 is above max 0",
			"optional-not-wrapped.yml:13: inputs.mode.default: \"c\" is not one of a, b",
		}},
		{"optional-required.yml", "component", []string{
			"optional-required.yml:7: command: ${{inputs.lr}} is inside $[[…]] but input \"lr\" is not optional",
		}},
		{"pipeline-settings-type.yml", "job", []string{
			"pipeline-settings-type.yml:3: settings.force_rerun must be true or false, not the string \"yes\"",
			"pipeline-settings-type.yml:4: settings.continue_on_step_failure must be true or false, not the number 1",
		}},
		{"preview-binding.yml", "job", []string{
			"preview-binding.yml:16: jobs.read.inputs.note: ${{jobs.greet.outputs.note}} is not a binding here; write ${{parent.jobs.greet.outputs.note}} (Azure's current form)",
		}},
		{"schema-mismatch.yml", "job", []string{
			"schema-mismatch.yml:1: $schema commandComponent.schema.json is a command component spec; this command reads command job or pipeline job",
		}},
		{"step-path-types.yml", "job", []string{
			`step-path-types.yml:8: jobs.score.inputs.test_data: the path ./test.csv is a uri_file input; input "test_data" of component score_churn:2 takes a uri_folder`,
		}},
		{"sweep.yml", "job", []string{
			"sweep.yml:35: limits.max_total_trials must be a positive integer, not 0",
			"sweep.yml:8: inputs.momentum: ${{search_space.momentum}} is not a search_space parameter (known: beta, depth, drop, gamma, lr)",
			"sweep.yml:20: search_space.beta: normal takes mu, sigma, not q",
			"sweep.yml:14: search_space.depth: choice needs at least one value",
			"sweep.yml:25: search_space.drop: loguniform needs max_value (it takes min_value, max_value)",
			`sweep.yml:17: search_space.gamma: unknown distribution "gaussian" (choice, randint, uniform, quniform, loguniform, qloguniform, normal, qnormal, lognormal, qlognormal)`,
			"sweep.yml:10: search_space.lr: uniform min_value 0.1 must be below max_value 0.01",
			"sweep.yml:32: sampling_algorithm.rule: rule sobol is not supported: Hangar samples uniformly at random (rule: random, reproducible with seed)",
			`sweep.yml:29: objective.goal must be minimize or maximize, not "maximise"`,
			"sweep.yml:38: early_termination: bandit needs exactly one of slack_factor and slack_amount",
			"sweep.yml:4: trial.command: ${{search_space.depht}} is not a search_space parameter (known: beta, depth, drop, gamma, lr)",
		}},
		{"sweep-grid.yml", "job", []string{
			"sweep-grid.yml:7: sampling_algorithm.seed: grid sampling draws nothing at random; remove seed",
			"sweep-grid.yml:4: search_space.lr: grid sampling takes choice parameters only, not uniform",
			"sweep-grid.yml:5: search_space.n: randint needs upper (it takes upper)",
			"sweep-grid.yml:8: early_termination.truncation_percentage must be 1 to 99, not 120",
		}},
		{"type-mismatch.yml", "job", []string{
			"type-mismatch.yml:11: jobs.train.inputs.max_epochs: ${{parent.jobs.prep.outputs.data}} is a uri_folder output; input \"max_epochs\" of component train_churn:4 takes an integer",
		}},
		{"unknown-expression.yml", "job", []string{
			"unknown-expression.yml:1: command: unknown expression ${{search_space.lr}}; a command uses ${{inputs.<name>}} and ${{outputs.<name>}}",
			"unknown-expression.yml:1: command: ${{inputs.data}} names no input (there are none)",
			"unknown-expression.yml:1: command: ${{parent.outputs.model}} binds a step's inputs and outputs; a command uses ${{inputs.<name>}} and ${{outputs.<name>}}",
		}},
		{"unknown-input.yml", "job", []string{
			"unknown-input.yml:12: jobs.train.outputs.model: component train_churn:4 has no output \"model\" (known: model_output)",
			"unknown-input.yml:10: jobs.train.inputs.learning_rte: component train_churn:4 has no input \"learning_rte\" (did you mean \"learning_rate\"?)",
		}},
		{"unknown-key.yml", "job", []string{
			"unknown-key.yml:12: unknown key \"comand\" in jobs.train (did you mean \"command\"?)",
			"unknown-key.yml:15: unknown key \"enviroment\" in jobs.train (did you mean \"environment\"?)",
			"unknown-key.yml:11: jobs.train.command is required",
		}},
		{"wrong-type.yml", "job", []string{
			"wrong-type.yml:4: limits.timeout must be an integer, not the string \"ten minutes\"",
			"wrong-type.yml:5: tags must be a mapping, not a list",
			"wrong-type.yml:6: unknown key \"settings\"",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			err := parseFixture(t, tt.kind, filepath.Join("testdata", "invalid", tt.file))
			if code := hangar.ErrorCode(err); code != hangar.EINVALID {
				t.Fatalf("error code %q (%v), want %q", code, err, hangar.EINVALID)
			}
			var got []string
			for _, l := range strings.Split(hangar.ErrorMessage(err), "\n") {
				got = append(got, strings.TrimPrefix(l, "testdata/invalid/"))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("messages (-want +got):\n%s", diff)
			}
		})
	}
}

// TestInvalidFixturesCovered fails when a fixture in testdata/invalid has
// no case in TestInvalid (the component files it loads aside).
func TestInvalidFixturesCovered(t *testing.T) {
	files, err := filepath.Glob("testdata/invalid/*.yml")
	if err != nil {
		t.Fatal(err)
	}
	src := string(readFixture(t, "jobspec_test.go"))
	for _, f := range files {
		if !strings.Contains(src, `{"`+filepath.Base(f)+`", "`) {
			t.Errorf("%s has no case in TestInvalid", f)
		}
	}
}

func TestParseCommandJob(t *testing.T) {
	j, err := ParseJob("command-job.yml", readFixture(t, "testdata/command-job.yml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if j.Type != CommandJob || j.DisplayName != "churn-train" || j.ExperimentName != "churn" || j.Code != "./src" || j.Compute != "azureml:cpu-cluster" {
		t.Errorf("job = %+v", j)
	}
	if j.Timeout != time.Hour {
		t.Errorf("timeout %v, want 1h", j.Timeout)
	}
	if diff := cmp.Diff(map[string]string{"team": "growth", "owner": "ada"}, j.Tags); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"OMP_NUM_THREADS": "4"}, j.EnvironmentVariables); diff != "" {
		t.Errorf("environment_variables (-want +got):\n%s", diff)
	}
	if e := j.Environment; e == nil || e.Ref != nil || e.Image == "" || e.CondaFile != "./conda.yml" {
		t.Errorf("environment = %+v", e)
	}
	if diff := cmp.Diff(map[string]any{"instance_count": 1}, j.Resources); diff != "" {
		t.Errorf("resources (-want +got):\n%s", diff)
	}
	wantIn := map[string]*Input{
		"training":      {Type: URIFolder, Path: "azureml:churn-data:3", Mode: Download, Line: 29},
		"learning_rate": {Type: Number, Value: "0.05", HasValue: true, Line: 33},
		"epochs":        {Type: Integer, Value: "20", HasValue: true, Line: 34},
		"balanced":      {Type: Boolean, Value: "true", HasValue: true, Line: 35},
		"notes":         {Type: String, Optional: true, Line: 36},
	}
	if diff := cmp.Diff(wantIn, j.Inputs); diff != "" {
		t.Errorf("inputs (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"training", "learning_rate", "epochs", "balanced", "notes"}, j.InputOrder); diff != "" {
		t.Errorf("input order (-want +got):\n%s", diff)
	}
	wantOut := map[string]*Output{"model": {Type: MLflowModel, Name: "churn-model", Line: 40}}
	if diff := cmp.Diff(wantOut, j.Outputs); diff != "" {
		t.Errorf("outputs (-want +got):\n%s", diff)
	}
	inputs := map[string]string{"training": "/w/in/training", "learning_rate": "0.05", "epochs": "20", "balanced": RenderValue(Boolean, "true")}
	got, err := j.Template.Render(inputs, map[string]string{"model": "/w/out/model"})
	if err != nil {
		t.Fatal(err)
	}
	want := "python train.py --data /w/in/training --lr 0.05 --epochs 20 --balanced True  --out /w/out/model"
	if got != want {
		t.Errorf("command\n got %q\nwant %q", got, want)
	}
}

func TestPlanInlinePipeline(t *testing.T) {
	const name = "testdata/prep-train-eval/pipeline.yml"
	j, err := ParseJob(name, readFixture(t, name), nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := PlanPipeline(t.Context(), j, Files{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"prepare", "train", "evaluate"}, p.Order); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
	wantNeeds := map[string][]string{"train": {"prepare"}, "evaluate": {"train", "prepare"}}
	if diff := cmp.Diff(wantNeeds, p.Needs); diff != "" {
		t.Errorf("needs (-want +got):\n%s", diff)
	}
	s := j.Settings
	if s.DefaultCompute != "azureml:cpu-cluster" || s.ContinueOnStepFailure || s.ForceRerun {
		t.Errorf("settings = %+v", s)
	}
	for _, step := range p.Order {
		if e := j.Jobs[step].Environment; e == nil || e.CondaFile != "./conda.yml" {
			t.Errorf("jobs.%s.environment = %+v, want the conda file", step, e)
		}
	}
	if got := j.Jobs["train"].Timeout; got != 30*time.Minute {
		t.Errorf("jobs.train timeout %v, want 30m", got)
	}
	if got := j.Outputs["report"].Mode; got != Upload {
		t.Errorf("outputs.report.mode %q, want upload", got)
	}
}

func TestPlanComponentPipeline(t *testing.T) {
	const name = "testdata/components/pipeline.yml"
	j, err := ParseJob(name, readFixture(t, name), nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := PlanPipeline(t.Context(), j, resolver(t))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"train_job", "score_job", "evaluate_job", "split_check"}, p.Order); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
	refs := map[string]string{}
	for _, s := range j.JobOrder {
		refs[s] = j.Jobs[s].ComponentRef.String()
	}
	wantRefs := map[string]string{
		"train_job":    "./train.yml",
		"score_job":    "./score.yml",
		"evaluate_job": "azureml:evaluate_churn:1",
		"split_check":  "azureml://registries/hangar/components/split/versions/1",
	}
	if diff := cmp.Diff(wantRefs, refs); diff != "" {
		t.Errorf("component refs (-want +got):\n%s", diff)
	}
	if c := p.Components["train_job"]; c.Name != "train_churn" || c.Version != "4" || c.File != filepath.Join("testdata", "components", "train.yml") {
		t.Errorf("train_job component %s:%s from %s", c.Name, c.Version, c.File)
	}
	if j.Settings.DefaultCompute != "azureml:cpu-cluster" || j.Jobs["score_job"].Compute != "local" {
		t.Errorf("compute: default %q, score_job %q", j.Settings.DefaultCompute, j.Jobs["score_job"].Compute)
	}
	// The component's optional inputs: given ones stay, others drop.
	got, err := p.Components["train_job"].Template.Render(
		map[string]string{"training_data": "/in/data", "max_epochs": "20", "learning_rate": "1.8"},
		map[string]string{"model_output": "/out/model"})
	if err != nil {
		t.Fatal(err)
	}
	want := "python train.py --training_data /in/data --max_epochs 20 --learning_rate 1.8  --model_output /out/model"
	if got != want {
		t.Errorf("command\n got %q\nwant %q", got, want)
	}
}

func TestSet(t *testing.T) {
	const name = "testdata/prep-train-eval/pipeline.yml"
	tests := []struct {
		name  string
		sets  []string
		check func(*Job) string
		want  string // the error message, or "" for none
	}{
		{"literal input", []string{"inputs.learning_rate=0.1"}, func(j *Job) string {
			return j.Inputs["learning_rate"].Value
		}, ""},
		{"step compute", []string{"jobs.train.compute=local"}, func(j *Job) string { return j.Jobs["train"].Compute }, ""},
		{"setting", []string{"settings.force_rerun=true"}, func(j *Job) string {
			if j.Settings.ForceRerun {
				return "ok"
			}
			return "not set"
		}, ""},
		{"new key", []string{"tags.run=nightly"}, func(j *Job) string { return j.Tags["run"] }, ""},
		{"data input", []string{"inputs.raw={type: uri_file, path: azureml:churn-raw:7}"}, func(j *Job) string {
			return j.Inputs["raw"].Path
		}, ""},
		{"wrong type", []string{"settings.force_rerun=maybe"}, nil,
			`pipeline.yml: --set settings.force_rerun=maybe: settings.force_rerun must be true or false, not the string "maybe"`},
		{"unknown key", []string{"jobs.train.comptue=local"}, nil,
			`pipeline.yml: --set jobs.train.comptue=local: unknown key "comptue" in jobs.train (did you mean "compute"?)`},
		{"into a scalar", []string{"jobs.train.command.x=1"}, nil,
			`pipeline.yml: --set jobs.train.command.x=1: jobs.train.command is the string "python train.py --train ${{inputs.train}...", not a mapping to set x in`},
		{"no equals", []string{"inputs.lr"}, nil, `pipeline.yml: --set inputs.lr: want key=value, e.g. inputs.learning_rate=0.1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j, err := ParseJob("pipeline.yml", readFixture(t, name), tt.sets)
			if tt.want != "" {
				if got := hangar.ErrorMessage(err); got != tt.want {
					t.Errorf("error\n got %q\nwant %q", got, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{"literal input": "0.1", "step compute": "local", "setting": "ok", "new key": "nightly", "data input": "azureml:churn-raw:7"}[tt.name]
			if got := tt.check(j); got != want {
				t.Errorf("got %q, want %q", got, want)
			}
		})
	}
}

func TestParseAssets(t *testing.T) {
	c, err := ParseComponent("component.yml", readFixture(t, "testdata/component.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "prep_taxi" || c.Version != "1" || !c.IsDeterministic || c.Code != "./prep_src" {
		t.Errorf("component = %+v", c)
	}
	if r := c.Environment.Ref; r == nil || r.Registry != "azureml" || r.Kind != "environments" || r.Name != "sklearn-1.5" || r.Label != "latest" {
		t.Errorf("component environment ref = %+v", r)
	}
	if in := c.Inputs["sample"]; in.Type != Number || !in.Optional {
		t.Errorf("inputs.sample = %+v", in)
	}

	env, err := ParseEnvironment("environment.yml", readFixture(t, "testdata/environment.yml"))
	if err != nil {
		t.Fatal(err)
	}
	wantEnv := &Environment{Name: "churn-train-env", Version: "3", Description: "Image plus the training conda environment.",
		Tags: map[string]string{"python": "3.11"}, Image: "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest",
		CondaFile: "prep-train-eval/conda.yml", Line: 1, condaLine: 5}
	if diff := cmp.Diff(wantEnv, env, cmp.AllowUnexported(Environment{})); diff != "" {
		t.Errorf("environment (-want +got):\n%s", diff)
	}
	env, err = ParseEnvironment("environment-build.yml", readFixture(t, "testdata/environment-build.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&Build{Path: "docker-context", DockerfilePath: "Dockerfile.cpu"}, env.Build); diff != "" {
		t.Errorf("build (-want +got):\n%s", diff)
	}

	for _, tt := range []struct {
		file string
		want *Data
	}{
		{"data.yml", &Data{Name: "churn-data", Version: "3", Description: "Monthly churn extract.", Tags: map[string]string{"source": "crm"}, Type: URIFile, Path: "./data/churn.csv"}},
		{"data-mltable.yml", &Data{Name: "titanic-table", Description: "Data asset from a local MLTable folder.", Type: MLTable, Path: "./titanic-mltable"}},
	} {
		d, err := ParseData(tt.file, readFixture(t, "testdata/"+tt.file))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tt.want, d); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.file, diff)
		}
	}
}

func TestInlineEnvironmentAndComponent(t *testing.T) {
	const y = `type: pipeline
settings:
  environment:
    image: python:3.12-slim
jobs:
  hello:
    component:
      type: command
      inputs:
        greeting: {type: string, default: hello}
      outputs:
        out: {type: uri_file}
      command: echo ${{inputs.greeting}} > ${{outputs.out}}
      environment:
        image: python:3.12-slim
        conda_file:
          dependencies: [python=3.12]
`
	j, err := ParseJob("inline.yml", []byte(y), nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := PlanPipeline(t.Context(), j, Files{})
	if err != nil {
		t.Fatal(err)
	}
	c := p.Components["hello"]
	if c == nil || c.Environment.CondaSpec != "dependencies: [python=3.12]\n" {
		t.Fatalf("inline component %+v", c)
	}
	if j.Settings.DefaultEnvironment.Image != "python:3.12-slim" {
		t.Errorf("settings.environment = %+v", j.Settings.DefaultEnvironment)
	}
}

func TestParseRef(t *testing.T) {
	tests := []struct {
		in    string
		files bool
		want  Ref
		err   string
	}{
		{"azureml:train:3", false, Ref{Name: "train", Version: "3"}, ""},
		{"azureml:train@latest", false, Ref{Name: "train", Label: "latest"}, ""},
		{"azureml:cpu-cluster", false, Ref{Name: "cpu-cluster"}, ""},
		{"train:3", true, Ref{Name: "train", Version: "3"}, ""},
		{"train@latest", true, Ref{Name: "train", Label: "latest"}, ""},
		{"./components/train.yml", true, Ref{File: "./components/train.yml"}, ""},
		{"train.yaml", true, Ref{File: "train.yaml"}, ""},
		{"file:../shared/train.yml", true, Ref{File: "../shared/train.yml"}, ""},
		{"azureml://registries/hangar/components/train_gbdt/versions/1", true, Ref{Registry: "hangar", Kind: "components", Name: "train_gbdt", Version: "1"}, ""},
		{"azureml://registries/azureml/environments/sklearn-1.5/labels/latest", false, Ref{Registry: "azureml", Kind: "environments", Name: "sklearn-1.5", Label: "latest"}, ""},
		{"azureml:/subscriptions/s/resourceGroups/g/providers/Microsoft.MachineLearningServices/workspaces/w/environments/env/versions/2", false, Ref{Name: "env", Version: "2"}, ""},
		{"train:3", false, Ref{}, `"train:3" is not a reference: want azureml:<name>:<version> or azureml:<name>@latest`},
		{"azureml:tr ain:3", false, Ref{}, `reference "azureml:tr ain:3": "tr ain" is not an asset name (letters, digits, _ . -)`},
		{"azureml:train:", false, Ref{}, `reference "azureml:train:": no version after the colon`},
		{"azureml:train@", false, Ref{}, `reference "azureml:train@": no label after @ (e.g. @latest)`},
		{"azureml://registries/hangar/components/x", true, Ref{}, `registry reference "azureml://registries/hangar/components/x": want azureml://registries/<registry>/<kind>/<name>/versions/<version> or …/labels/<label>`},
		{"file:", true, Ref{}, `file reference "file:" names no file`},
	}
	for _, tt := range tests {
		got, err := ParseRef(tt.in, tt.files)
		if msg := hangar.ErrorMessage(err); msg != tt.err {
			t.Errorf("ParseRef(%q) error %q, want %q", tt.in, msg, tt.err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ParseRef(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestLocalPaths(t *testing.T) {
	const name = "testdata/prep-train-eval/pipeline.yml"
	j, err := ParseJob(name, readFixture(t, name), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []LocalPath{
		{"inputs.raw.path", "./data/churn.csv", 12},
		{"jobs.prepare.code", "./src/prep", 27},
		{"jobs.prepare.environment.conda_file", "./conda.yml", 36},
		{"jobs.train.code", "./src/train", 46},
		{"jobs.train.environment.conda_file", "./conda.yml", 50},
		{"jobs.evaluate.code", "./src/evaluate", 61},
		{"jobs.evaluate.environment.conda_file", "./conda.yml", 65},
	}
	if diff := cmp.Diff(want, j.LocalPaths()); diff != "" {
		t.Errorf("local paths (-want +got):\n%s", diff)
	}
	if err := CheckLocalPaths(name, j.LocalPaths()); err != nil {
		t.Errorf("CheckLocalPaths: %v", err)
	}
	j, err = ParseJob(name, readFixture(t, name), []string{"jobs.train.code=./src/nope", "inputs.raw.path=../missing.csv"})
	if err != nil {
		t.Fatal(err)
	}
	got := hangar.ErrorMessage(CheckLocalPaths(name, j.LocalPaths()))
	wantMsg := name + ":12: inputs.raw.path: ../missing.csv does not exist\n" +
		name + ": jobs.train.code: ./src/nope does not exist"
	if got != wantMsg {
		t.Errorf("CheckLocalPaths\n got %q\nwant %q", got, wantMsg)
	}
	for _, tt := range []struct {
		p    string
		want bool
	}{
		{"./src", true}, {"data/x.csv", true}, {"/abs/x", true}, {`C:\data`, true},
		{"azureml:data:1", false}, {"azureml://datastores/ws/paths/x", false}, {"https://h/x.csv", false},
		{"wasbs://c@a.blob.core.windows.net/x", false}, {"runs:/abc/model", false}, {"", false},
	} {
		if got := IsLocal(tt.p); got != tt.want {
			t.Errorf("IsLocal(%q) = %v, want %v", tt.p, got, tt.want)
		}
	}
}

// TestLoadErrors covers what is wrong with a file as a whole.
func TestLoadErrors(t *testing.T) {
	var bomb strings.Builder // one step with 200 inputs, aliased 1000 times
	bomb.WriteString("type: pipeline\nx: &s\n  command: echo\n  inputs:\n")
	for i := range 200 {
		fmt.Fprintf(&bomb, "    i%d: 1\n", i)
	}
	bomb.WriteString("jobs:\n")
	for i := range 1000 {
		fmt.Fprintf(&bomb, "  s%d: *s\n", i)
	}
	var many strings.Builder
	many.WriteString("command: echo\n")
	for i := range 25 {
		fmt.Fprintf(&many, "k%d: 1\n", i)
	}
	var manyWant []string
	for i := range MaxErrors {
		manyWant = append(manyWant, fmt.Sprintf("x.yml:%d: unknown key \"k%d\"", i+2, i))
	}
	manyWant = append(manyWant, "... and 5 more")
	tests := []struct {
		name, doc string
		want      []string
	}{
		{"empty", "", []string{"x.yml: the file is empty"}},
		{"comment only", "# nothing\n", []string{"x.yml: the file is empty"}},
		{"two documents", "command: a\n---\ncommand: b\n", []string{"x.yml:2: a second YAML document; one file holds one spec"}},
		{"a list", "- command: a\n", []string{"x.yml:1: the spec must be a mapping of keys, not a list"}},
		{"duplicate key", "command: a\ncommand: b\n", []string{`x.yml:2: duplicate key "command"`}},
		{"merge key", "command: a\ntags: &t {a: b}\nlimits:\n  <<: *t\n", []string{
			"x.yml:4: merge keys (<<) are not supported in limits"}},
		{"too many problems", many.String(), manyWant},
		{"alias bomb", bomb.String(), []string{
			`x.yml:2: unknown key "x"`,
			"x.yml: the document has more than 100000 nodes (aliases included)"}},
		{"binding outside a step", "command: echo ${{inputs.a}}\ninputs:\n  a: ${{parent.inputs.a}}\n", []string{
			"x.yml:3: inputs.a: ${{parent.inputs.a}}: ${{…}} bindings are for the inputs of a pipeline's steps"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseJob("x.yml", []byte(tt.doc), nil)
			if !hangar.IsCode(err, hangar.EINVALID) {
				t.Fatalf("error %v, want code %s", err, hangar.EINVALID)
			}
			if diff := cmp.Diff(tt.want, strings.Split(hangar.ErrorMessage(err), "\n")); diff != "" {
				t.Errorf("messages (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseSweep(t *testing.T) {
	j, err := ParseJob("job-sweep.yml", readFixture(t, "testdata/sweep/job-sweep.yml"), []string{"limits.max_concurrent_trials=4"})
	if err != nil {
		t.Fatal(err)
	}
	c := j.Sweep
	if j.Type != SweepJob || c == nil || c.Algorithm != sweep.Random || c.Goal != sweep.Minimize || c.PrimaryMetric != "test-multi_logloss" {
		t.Fatalf("got %+v, %+v", j, c)
	}
	if c.MaxTotalTrials != 20 || c.MaxConcurrentTrials != 4 || c.TimeoutSeconds != 7200 || c.Rule != sweep.Random {
		t.Errorf("limits: got %+v", c)
	}
	if p := c.Policy; p == nil || p.Type != sweep.Bandit || *p.SlackFactor != 0.1 || p.DelayEvaluation != 5 || p.EvaluationInterval != 1 {
		t.Errorf("early termination: got %+v", p)
	}
	want := "python main.py --iris-csv ${{inputs.iris_csv}} --learning-rate ${{inputs.learning_rate}} --boosting ${{inputs.boosting}}"
	if j.Command != want {
		t.Errorf("command: got %q, want %q", j.Command, want)
	}
	for name, typ := range map[string]Type{"learning_rate": Number, "boosting": String} {
		in := j.Inputs[name]
		if in == nil || !IsSearchSpace(in.Bind) || in.Bind[1] != name || in.Type != typ {
			t.Errorf("input %s: got %+v, want a %s bound to search_space.%s", name, in, typ, name)
		}
	}
	if j.Code != "src" || j.Environment == nil || j.Environment.Ref == nil {
		t.Errorf("trial: got code %q, environment %+v", j.Code, j.Environment)
	}
}

func TestPlanSweep(t *testing.T) {
	file := filepath.Join("testdata", "sweep", "component-sweep.yml")
	j, err := ParseJob(file, readFixture(t, file), nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := PlanSweep(t.Context(), j, Files{})
	if err != nil {
		t.Fatal(err)
	}
	if c == nil || c.Name != "train_churn" {
		t.Fatalf("component: got %+v", c)
	}
	if in := j.Inputs["max_epochs"]; in == nil || in.Type != Integer || !IsSearchSpace(in.Bind) {
		t.Errorf("max_epochs: got %+v, want an integer bound to search_space.max_epochs", in)
	}
	if in := j.Inputs["learning_rate"]; in == nil || in.Bind.String() != "${{search_space.lr}}" || in.Type != Number {
		t.Errorf("learning_rate: got %+v", in)
	}

	bad := []struct {
		name, yaml string
		want       []string
	}{
		{"uniform into an integer", `type: sweep
trial: ../components/train.yml
inputs: {training_data: {path: ./data}}
search_space:
  max_epochs: {type: uniform, min_value: 1, max_value: 5}
objective: {goal: maximize, primary_metric: auc}
sampling_algorithm: random
`, []string{`x.yml:1: search_space.max_epochs: ${{search_space.max_epochs}}: input "max_epochs" of component train_churn:4 takes an integer: uniform gives values that are not integers`}},
		{"a parameter that reaches nothing", `type: sweep
trial: ../components/train.yml
inputs: {training_data: {path: ./data}, max_epochs: 3}
search_space:
  alpha: {type: choice, values: [1, 2]}
objective: {goal: maximize, primary_metric: auc}
sampling_algorithm: grid
`, []string{`x.yml:1: search_space.alpha: component train_churn:4 has no input "alpha" and no input of the sweep is ${{search_space.alpha}} (known: learning_rate, max_epochs, schedule, training_data)`}},
		{"choice outside the enum, required input missing", `type: sweep
trial: ../components/train.yml
search_space:
  schedule: {type: choice, values: [step, linear]}
objective: {goal: maximize, primary_metric: auc}
sampling_algorithm: grid
`, []string{
			`x.yml:1: search_space.schedule: ${{search_space.schedule}}: input "schedule" of component train_churn:4 takes a string: "linear" is not one of time-based, step, exponential`,
			`x.yml:1: input "training_data" of component train_churn:4 is required and not given`,
			`x.yml:1: input "max_epochs" of component train_churn:4 is required and not given`,
		}},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			j, err := ParseJob(filepath.Join("testdata", "sweep", "x.yml"), []byte(tt.yaml), nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = PlanSweep(t.Context(), j, Files{})
			if hangar.ErrorCode(err) != hangar.EINVALID {
				t.Fatalf("got %v, want EINVALID", err)
			}
			var got []string
			for _, l := range strings.Split(hangar.ErrorMessage(err), "\n") {
				got = append(got, strings.TrimPrefix(l, "testdata/sweep/"))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("messages (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPlanPipelineSweepStep(t *testing.T) {
	file := filepath.Join("testdata", "sweep", "pipeline-sweep.yml")
	j, err := ParseJob(file, readFixture(t, file), nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := PlanPipeline(t.Context(), j, Files{})
	if err != nil {
		t.Fatal(err)
	}
	s := j.Jobs["tune"]
	if s.Type != SweepJob || s.Sweep.Algorithm != sweep.Bayesian || p.Components["tune"] == nil {
		t.Fatalf("step: got %+v", s)
	}
	for _, name := range []string{"max_epochs", "schedule"} {
		if in := s.Inputs[name]; in == nil || !IsSearchSpace(in.Bind) {
			t.Errorf("input %s: got %+v, want bound to the search space", name, in)
		}
	}
}

// TestOlderJobForms: the older forms Azure's early job examples still
// write — code: {local_path}, environment.build.local_path, an input's
// {file: …} or {folder: …} — read as their current forms.
func TestOlderJobForms(t *testing.T) {
	const job = "command: Rscript train.R --data ${{inputs.rows}} --more ${{inputs.more}}\n" +
		"code:\n  local_path: src\n" +
		"environment:\n  build:\n    local_path: docker-context\n" +
		"inputs:\n  rows:\n    file: https://example.com/rows.csv\n  more:\n    folder: ./more\n    mode: ro_mount\n"
	j, err := ParseJob("f.yml", []byte(job), nil)
	if err != nil {
		t.Fatal(err)
	}
	if j.Code != "src" || j.Environment == nil || j.Environment.Build == nil || j.Environment.Build.Path != "docker-context" {
		t.Errorf("code %q, environment %+v: want src and a build context docker-context", j.Code, j.Environment)
	}
	for name, want := range map[string]Input{
		"rows": {Type: URIFile, Path: "https://example.com/rows.csv"},
		"more": {Type: URIFolder, Path: "./more", Mode: ROMount},
	} {
		got := j.Inputs[name]
		if got == nil || got.Type != want.Type || got.Path != want.Path || got.Mode != want.Mode {
			t.Errorf("input %s: got %+v, want type %s path %s mode %q", name, got, want.Type, want.Path, want.Mode)
		}
	}
	for _, tc := range []struct{ yaml, want string }{
		{"command: cat ${{inputs.a}}\nenvironment: {image: python}\ninputs:\n  a:\n    file: x.csv\n    path: y.csv\n", "f.yml:6: inputs.a: give one of path, file and folder"},
		{"command: cat ${{inputs.a}}\nenvironment: {image: python}\ninputs:\n  a:\n    path: y.csv\n    folder: ./d\n", "f.yml:6: inputs.a: give one of path, file and folder"},
	} {
		if _, err := ParseJob("f.yml", []byte(tc.yaml), nil); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseJob(%q): got %v, want an error containing %q", tc.yaml, err, tc.want)
		}
	}
}
