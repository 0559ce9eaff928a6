package builtin

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/jobspec"
	"github.com/hangar-ml/hangar/mlmodel"
	"github.com/hangar-ml/hangar/tabular"
)

func TestComponents(t *testing.T) {
	want := []string{"evaluate", "gate", "predict", "split", "train_gbdt", "train_linear", "validate"}
	if got := Names(); !slices.Equal(got, want) {
		t.Fatalf("Names() = %v, want %v", got, want)
	}
	cs := Components()
	if len(cs) != len(want) {
		t.Fatalf("got %d components, want %d", len(cs), len(want))
	}
	for i, c := range cs {
		t.Run(want[i], func(t *testing.T) {
			if c.Name != want[i] || c.Version != "1" {
				t.Errorf("got %s:%s, want %s:1", c.Name, c.Version, want[i])
			}
			// gate reads the registry's champion, which moves: its step
			// must run again, never be reused.
			if c.IsDeterministic != (c.Name != "gate") || c.Tags["hangar.builtin"] != "true" || c.Description == "" || c.DisplayName == "" {
				t.Errorf("got deterministic %v tags %v description %q display name %q", c.IsDeterministic, c.Tags, c.Description, c.DisplayName)
			}
			if c.Environment != nil || c.Code != "" {
				t.Errorf("got environment %v code %q, want neither: the hangar binary runs it", c.Environment, c.Code)
			}
			verb := strings.ReplaceAll(c.Name, "_", "-")
			if !strings.HasPrefix(c.Command, "hangar builtin "+verb+" ") {
				t.Errorf("command %q does not run hangar builtin %s", c.Command, verb)
			}
			if len(c.Outputs) == 0 {
				t.Error("no outputs")
			}
			for name, o := range c.Outputs {
				if !o.Type.IsData() {
					t.Errorf("output %s has type %q", name, o.Type)
				}
			}
			// Every input shows in the command, and the command renders
			// with every input given and with only the required ones.
			all, required := map[string]string{}, map[string]string{}
			for name, in := range c.Inputs {
				if in.Type == "" {
					t.Errorf("input %s has no type", name)
				}
				if !strings.Contains(c.Command, "${{inputs."+name+"}}") {
					t.Errorf("input %s is not used by the command", name)
				}
				all[name] = "v"
				if !in.Optional {
					required[name] = "v"
				}
			}
			outs := map[string]string{}
			for name := range c.Outputs {
				outs[name] = "/out/" + name
			}
			for _, in := range []map[string]string{all, required} {
				if _, err := c.Template.Render(in, outs); err != nil {
					t.Errorf("render with %v: %v", in, err)
				}
			}
		})
	}
}

func TestComponent(t *testing.T) {
	for _, tc := range []struct {
		name, version string
		err           string
	}{
		{"train_gbdt", "1", ""},
		{"train_gbdt", "", ""},
		{"split", "latest", ""},
		{"train_gbdt", "2", `built-in component train_gbdt has no version "2" (versions: 1)`},
		{"train_xgb", "1", `no built-in component "train_xgb" (built-ins: evaluate, gate, predict, split, train_gbdt, train_linear, validate)`},
	} {
		c, err := Component(tc.name, tc.version)
		if msg := hangar.ErrorMessage(err); msg != tc.err {
			t.Errorf("Component(%q, %q): got error %q, want %q", tc.name, tc.version, msg, tc.err)
			continue
		}
		if err != nil {
			if !hangar.IsCode(err, hangar.ENOTFOUND) {
				t.Errorf("Component(%q, %q): got code %s, want %s", tc.name, tc.version, hangar.ErrorCode(err), hangar.ENOTFOUND)
			}
			continue
		}
		if c.Name != tc.name || c.Version != "1" || c.File != "azureml://registries/hangar/components/"+tc.name+"/versions/1" {
			t.Errorf("Component(%q, %q) = %s:%s from %s", tc.name, tc.version, c.Name, c.Version, c.File)
		}
	}
}

// next records the references it is asked for.
type next struct{ asked []string }

func (n *next) ResolveComponent(_ context.Context, _ string, ref jobspec.Ref) (*jobspec.Component, error) {
	n.asked = append(n.asked, ref.String())
	return &jobspec.Component{Name: "mine"}, nil
}

func TestResolver(t *testing.T) {
	for _, tc := range []struct {
		ref   string
		want  string // the component's name, "mine" from Next
		code  string
		asked bool
	}{
		{ref: "azureml://registries/hangar/components/train_gbdt/versions/1", want: "train_gbdt"},
		{ref: "azureml://registries/hangar/components/split/labels/latest", want: "split"},
		{ref: "hangar:evaluate:1", want: "evaluate"},
		{ref: "hangar:predict@latest", want: "predict"},
		{ref: "hangar:validate", want: "validate"},
		{ref: "hangar:train_linear:2", code: hangar.ENOTFOUND},
		{ref: "hangar:train_linear@stable", code: hangar.ENOTFOUND},
		{ref: "hangar:nope", code: hangar.ENOTFOUND},
		{ref: "azureml://registries/hangar/environments/train_gbdt/versions/1", code: hangar.ENOTFOUND},
		{ref: "azureml:train_gbdt:1", want: "mine", asked: true},
		{ref: "azureml://registries/azureml/components/train_gbdt/versions/1", want: "mine", asked: true},
	} {
		ref, err := jobspec.ParseRef(tc.ref, true)
		if err != nil {
			t.Fatal(err)
		}
		n := &next{}
		c, err := Resolver{Next: n}.ResolveComponent(t.Context(), "pipeline.yml", ref)
		switch {
		case tc.code != "":
			if !hangar.IsCode(err, tc.code) {
				t.Errorf("%s: got %v, want code %s", tc.ref, err, tc.code)
			}
		case err != nil:
			t.Errorf("%s: %v", tc.ref, err)
		case c.Name != tc.want:
			t.Errorf("%s: got component %q, want %q", tc.ref, c.Name, tc.want)
		}
		if got := len(n.asked) > 0; got != tc.asked {
			t.Errorf("%s: Next asked %v, want %v", tc.ref, n.asked, tc.asked)
		}
	}
	ref, _ := jobspec.ParseRef("azureml:train_gbdt:1", true)
	if _, err := (Resolver{}).ResolveComponent(t.Context(), "p.yml", ref); !hangar.IsCode(err, hangar.ENOTFOUND) {
		t.Errorf("no Next: got %v, want %s", err, hangar.ENOTFOUND)
	}
}

// plan parses and plans a pipeline of testdata with the built-in resolver
// behind the file resolver, as the CLI chains them.
func plan(t *testing.T, file string) (*jobspec.Job, *jobspec.Plan) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	j, err := jobspec.ParseJob(file, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := jobspec.PlanPipeline(t.Context(), j, jobspec.Files{Next: Resolver{}})
	if err != nil {
		t.Fatal(err)
	}
	return j, p
}

func TestPlanPipelines(t *testing.T) {
	for file, order := range map[string][]string{
		"testdata/pipeline.yml": {"split", "train", "evaluate"},
		"testdata/all.yml":      {"validate", "split", "train_linear", "train_gbdt", "predict", "evaluate", "gate"},
	} {
		_, p := plan(t, file)
		if !slices.Equal(p.Order, order) {
			t.Errorf("%s: order %v, want %v", file, p.Order, order)
		}
	}
}

// TestRunPipelines runs every step of the testdata pipelines as the job
// runner does: the command rendered with the step's inputs and output
// folders, run by sh with the hangar binary on PATH, on the Chicago data.
// Each step must produce its declared outputs.
func TestRunPipelines(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the hangar binary")
	}
	bin := t.TempDir()
	build := exec.CommandContext(t.Context(), "go", "build", "-o", filepath.Join(bin, "hangar"), "github.com/hangar-ml/hangar/cmd/hangar")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	// What each output folder must hold, by component and output.
	files := map[string][]string{
		"split.train": {"train.csv"}, "split.test": {"test.csv"},
		"train_gbdt.model":    {"MLmodel", "model.json", "metrics.json"},
		"train_linear.model":  {"MLmodel", "linear.json", "metrics.json"},
		"predict.predictions": {"predictions.csv"},
		"evaluate.metrics":    {"metrics.json"},
		"validate.report":     {"report.json"},
		"gate.verdict":        {"verdict.json"},
	}
	for _, file := range []string{"testdata/pipeline.yml", "testdata/all.yml"} {
		t.Run(filepath.Base(file), func(t *testing.T) {
			j, p := plan(t, file)
			work := t.TempDir()
			outs := map[string]map[string]string{} // step → output → folder
			for _, step := range p.Order {
				c, s := p.Components[step], j.Jobs[step]
				in := stepInputs(t, j, s, c, outs)
				outs[step] = map[string]string{}
				for name := range c.Outputs {
					dir := filepath.Join(work, step, name)
					if err := os.MkdirAll(dir, 0o755); err != nil {
						t.Fatal(err)
					}
					outs[step][name] = dir
				}
				line, err := c.Template.Render(in, outs[step])
				if err != nil {
					t.Fatalf("%s: render: %v", step, err)
				}
				sh := exec.CommandContext(t.Context(), "sh", "-c", line)
				sh.Dir = work
				sh.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"), "MLFLOW_TRACKING_URI=", "MLFLOW_RUN_ID=")
				if out, err := sh.CombinedOutput(); err != nil {
					t.Fatalf("%s: %s\n%v\n%s", step, line, err, out)
				}
				for name, dir := range outs[step] {
					want, ok := files[c.Name+"."+name]
					if !ok {
						t.Errorf("%s: the test does not know what output %s.%s holds", step, c.Name, name)
					}
					for _, f := range want {
						if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
							t.Errorf("%s: output %s lacks %s (%v)", step, name, f, err)
						}
					}
				}
			}
			checkResults(t, filepath.Base(file), outs)
		})
	}
}

// stepInputs resolves a step's inputs to the values its command gets:
// literals as rendered, paths relative to the pipeline file made
// absolute, bindings to pipeline inputs and to earlier steps' output
// folders, and the component's defaults.
func stepInputs(t *testing.T, j *jobspec.Job, s *jobspec.Job, c *jobspec.Component, outs map[string]map[string]string) map[string]string {
	t.Helper()
	value := func(in *jobspec.Input, typ jobspec.Type) (string, bool) {
		switch {
		case in.Path != "":
			p, err := filepath.Abs(filepath.Join(filepath.Dir(j.File), in.Path))
			if err != nil {
				t.Fatal(err)
			}
			return p, true
		case in.HasValue:
			return jobspec.RenderValue(typ, in.Value), true
		}
		return "", false
	}
	got := map[string]string{}
	for name, decl := range c.Inputs {
		if in, ok := s.Inputs[name]; ok {
			switch b := in.Bind; {
			case len(b) == 3 && b[0] == "parent" && b[1] == "inputs":
				v, ok := value(j.Inputs[b[2]], decl.Type)
				if !ok {
					t.Fatalf("pipeline input %s has no value", b[2])
				}
				got[name] = v
			case len(b) == 5 && b[0] == "parent" && b[1] == "jobs" && b[3] == "outputs":
				got[name] = outs[b[2]][b[4]]
			case b != nil:
				t.Fatalf("binding %s not handled by the test", b)
			default:
				if v, ok := value(in, decl.Type); ok {
					got[name] = v
				}
			}
			continue
		}
		if decl.HasDefault {
			got[name] = jobspec.RenderValue(decl.Type, decl.Default)
		}
	}
	return got
}

// checkResults looks inside the outputs: the split's row counts, the
// model folders' flavors, the metrics and predictions.
func checkResults(t *testing.T, pipeline string, outs map[string]map[string]string) {
	t.Helper()
	rows := func(path string) int {
		f, err := tabular.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return f.NumRows()
	}
	readJSON := func(path string, v any) {
		b, err := os.ReadFile(path)
		if err == nil {
			err = json.Unmarshal(b, v)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	switch pipeline {
	case "pipeline.yml":
		if tr, te := rows(outs["split"]["train"]), rows(outs["split"]["test"]); tr != 4727 || te != 971 {
			t.Errorf("date split: got %d + %d rows, want 4727 + 971", tr, te)
		}
		m, err := mlmodel.Read(outs["train"]["model"])
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := m.Flavors[mlmodel.FlavorPyFunc]; !ok {
			t.Errorf("train_gbdt's model (an mlflow_model) has no python_function flavor: %v", m.Flavors)
		}
		var metrics map[string]float64
		readJSON(filepath.Join(outs["evaluate"]["metrics"], "metrics.json"), &metrics)
		if rmse := metrics["rmse"]; !(rmse > 0 && rmse < 5) {
			t.Errorf("test rmse %v, want in (0, 5): %v", rmse, metrics)
		}
	case "all.yml":
		var report struct {
			OK       bool
			Rows     int
			Checks   int
			Failures []string
		}
		readJSON(filepath.Join(outs["validate"]["report"], "report.json"), &report)
		if !report.OK || report.Rows != 5698 || report.Checks == 0 || len(report.Failures) != 0 {
			t.Errorf("validate report %+v, want ok on 5698 rows", report)
		}
		if tr, te := rows(outs["split"]["train"]), rows(outs["split"]["test"]); tr+te != 5698 || tr < 4000 || tr > 4600 {
			t.Errorf("random split 0.75: got %d + %d rows", tr, te)
		}
		pred, err := tabular.ReadFile(outs["predict"]["predictions"])
		if err != nil {
			t.Fatal(err)
		}
		if pred.Column("prediction") == nil || pred.Column("ridership") == nil || pred.NumRows() != rows(outs["split"]["test"]) {
			t.Errorf("predictions: columns %v, %d rows; want the input's and prediction", pred.Names()[:3], pred.NumRows())
		}
		var verdict struct {
			Passed bool
			Rules  []struct{ Rule, Outcome string }
		}
		readJSON(filepath.Join(outs["gate"]["verdict"], "verdict.json"), &verdict)
		if !verdict.Passed || len(verdict.Rules) != 2 || verdict.Rules[1].Rule != "r2 >= 0.5" || verdict.Rules[1].Outcome != "passed" {
			t.Errorf("gate verdict %+v, want both rules passed", verdict)
		}
	}
}
