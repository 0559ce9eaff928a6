package jobspec

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/hangar-ml/hangar"
)

const testDigest = "sha256:" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// resolveLocal does what `component create` does before ComponentSpec: it
// reads the conda file (here: a fixed text) and replaces a build path by
// the uploaded context's digest.
func resolveLocal(c *Component) {
	if env := c.Environment; env != nil && env.Ref == nil {
		if env.CondaFile != "" {
			env.CondaSpec, env.CondaFile = "name: from-"+env.CondaFile+"\n", ""
		}
		if env.Build != nil {
			env.Build.Path = testDigest
		}
	}
}

// roundTripView returns what a round trip keeps of a component:
// everything but its file, lines, local paths, the order of its inputs and
// outputs, and the fields a registered version holds itself (display
// name, description, tags); distribution and resources as their JSON
// (numbers read back as float64).
func roundTripView(t *testing.T, c *Component) *Component {
	t.Helper()
	x := *c
	x.File, x.Line, x.Code, x.AdditionalIncludes, x.codeLine = "", 0, "", nil, 0
	x.InputOrder, x.OutputOrder = nil, nil
	x.DisplayName, x.Description, x.Tags = "", "", nil
	x.Distribution, x.Resources = viaJSON(t, c.Distribution), viaJSON(t, c.Resources)
	x.Inputs, x.Outputs = map[string]*Input{}, map[string]*Output{}
	for k, in := range c.Inputs {
		v := *in
		v.Line = 0
		x.Inputs[k] = &v
	}
	for k, out := range c.Outputs {
		v := *out
		v.Line = 0
		x.Outputs[k] = &v
	}
	if c.Environment != nil {
		e := *c.Environment
		e.Line, e.condaLine, e.buildLine = 0, 0, 0
		if e.Ref != nil {
			// A reference is kept in its canonical form.
			r, err := ParseRef(e.Ref.String(), false)
			if err != nil {
				t.Fatal(err)
			}
			e.Ref = &r
		}
		x.Environment = &e
		e.InferenceConfig = viaJSON(t, e.InferenceConfig)
	}
	return &x
}

func viaJSON(t *testing.T, m map[string]any) map[string]any {
	t.Helper()
	if len(m) == 0 {
		return nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

var specCmp = []cmp.Option{cmpopts.IgnoreUnexported(Component{}, Environment{}), cmpopts.EquateEmpty()}

// TestComponentSpecRoundTrip: every component of testdata, and an inline
// environment with everything, reads back from its spec field by field.
func TestComponentSpecRoundTrip(t *testing.T) {
	files, _ := filepath.Glob("testdata/components/*.yml")
	files = append(files, "testdata/component.yml")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(b, []byte("commandComponent")) && !bytes.Contains(b, []byte("command:")) {
			continue
		}
		c, err := ParseComponent(f, b)
		if err != nil {
			continue // a pipeline
		}
		t.Run(filepath.Base(f), func(t *testing.T) { checkRoundTrip(t, c) })
	}
	c, err := ParseComponent("inline.yml", []byte(`
name: inline_env
version: "2"
is_deterministic: false
command: python run.py --x ${{inputs.x}} $[[--y ${{inputs.y}}]] > ${{outputs.out}}/log && echo "<done>"
inputs:
  x: {type: uri_file, mode: download, description: the table, default: ./x.csv}
  y: {type: boolean, optional: true, default: false}
  n: {type: integer, min: -3, max: 7.5, default: "4"}
  s: {type: string, enum: [a, "b c"], default: "b c"}
outputs:
  out: {type: uri_folder, mode: upload, description: logs}
  model: {type: mlflow_model}
environment:
  name: inline
  version: 3
  description: built here
  tags: {a: b}
  image: python:3.12
  conda_file: conda.yml
  os_type: linux
  environment_variables: {OMP_NUM_THREADS: 1, GREETING: "héllo"}
  inference_config:
    scoring_route: {path: /score, port: 5001}
distribution: {type: mpi, process_count_per_instance: 2}
resources: {instance_count: 1, shm_size: 2g}
`))
	if err != nil {
		t.Fatal(err)
	}
	t.Run("inline environment", func(t *testing.T) { checkRoundTrip(t, c) })
	c, err = ParseComponent("build.yml", []byte(`
name: build_env
command: echo hi
environment:
  build: {path: ./ctx, dockerfile_path: Dockerfile.gpu}
`))
	if err != nil {
		t.Fatal(err)
	}
	t.Run("build environment", func(t *testing.T) { checkRoundTrip(t, c) })
}

func checkRoundTrip(t *testing.T, c *Component) {
	t.Helper()
	resolveLocal(c)
	spec, err := ComponentSpec(c)
	if err != nil {
		t.Fatalf("ComponentSpec: %v", err)
	}
	back, err := ComponentFromSpec(c.Name, c.Version, spec)
	if err != nil {
		t.Fatalf("ComponentFromSpec(%s): %v", spec, err)
	}
	if diff := cmp.Diff(roundTripView(t, c), roundTripView(t, back), specCmp...); diff != "" {
		t.Errorf("round trip of %s (-want +got):\n%s", spec, diff)
	}
	if len(back.InputOrder) != len(c.Inputs) || len(back.OutputOrder) != len(c.Outputs) {
		t.Errorf("read back input order %v, output order %v; want every name", back.InputOrder, back.OutputOrder)
	}
	again, err := ComponentSpec(back)
	if err != nil || !bytes.Equal(again, spec) {
		t.Errorf("spec of the read-back component:\n%s, %v\nwant\n%s", again, err, spec)
	}
	for _, key := range []string{`"name":"` + c.Name + `"`, `"code"`, `"display_name"`, `"additional_includes"`} {
		if strings.Contains(string(spec), key) {
			t.Errorf("spec %s holds %s", spec, key)
		}
	}
}

// TestComponentSpecCanonical: what is not the definition (name, version,
// display name, description, tags, code path, the order of inputs) does
// not change the spec; what is, does.
func TestComponentSpecCanonical(t *testing.T) {
	const base = `
name: a
version: "1"
display_name: A
description: one
tags: {k: v}
code: ./src
command: run ${{inputs.x}} ${{inputs.y}} ${{outputs.o}}
environment: azureml:env:1
inputs:
  x: {type: integer, default: 1}
  y: {type: string, optional: true}
outputs:
  o: {type: uri_folder}
`
	spec := func(t *testing.T, y string) string {
		t.Helper()
		c, err := ParseComponent("c.yml", []byte(y))
		if err != nil {
			t.Fatal(err)
		}
		b, err := ComponentSpec(c)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	want := spec(t, base)
	const golden = `{"type":"command","command":"run ${{inputs.x}} ${{inputs.y}} ${{outputs.o}}","is_deterministic":true,` +
		`"environment":"azureml:env:1","inputs":{"x":{"type":"integer","default":"1"},"y":{"type":"string","optional":true}},` +
		`"outputs":{"o":{"type":"uri_folder"}}}`
	if want != golden {
		t.Errorf("spec:\n%s\nwant\n%s", want, golden)
	}
	for _, tt := range []struct {
		name, old, new string
		same           bool
	}{
		{"name", "name: a", "name: b", true},
		{"version", `version: "1"`, `version: "9"`, true},
		{"display name, description, tags", "display_name: A\ndescription: one\ntags: {k: v}", "description: two", true},
		{"code path", "code: ./src", "code: ./other", true},
		{"input order", "  x: {type: integer, default: 1}\n  y: {type: string, optional: true}", "  y: {type: string, optional: true}\n  x: {type: integer, default: 1}", true},
		{"reference form", "environment: azureml:env:1", "environment: azureml:/subscriptions/s/resourceGroups/g/providers/Microsoft.MachineLearningServices/workspaces/w/environments/env/versions/1", true},
		{"command", "run ${{inputs.x}}", "run  ${{inputs.x}}", false},
		{"default", "default: 1", "default: 2", false},
		{"optional", "optional: true", "optional: false", false},
		{"environment", "azureml:env:1", "azureml:env:2", false},
		{"determinism", "code: ./src", "is_deterministic: false", false},
		{"output type", "o: {type: uri_folder}", "o: {type: uri_file}", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			y := strings.Replace(base, tt.old, tt.new, 1)
			if y == base {
				t.Fatalf("%q is not in the base", tt.old)
			}
			if got := spec(t, y); (got == want) != tt.same {
				t.Errorf("spec:\n%s\nbase:\n%s\nwant same: %v", got, want, tt.same)
			}
		})
	}
}

func TestComponentSpecUnresolved(t *testing.T) {
	for _, tt := range []struct{ name, env, want string }{
		{"conda file", "{image: python, conda_file: conda.yml}", "environment.conda_file conda.yml: read the file"},
		{"build path", "{build: {path: ./ctx}}", "environment.build.path ./ctx: upload the build context"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseComponent("c.yml", []byte("name: a\ncommand: x\nenvironment: "+tt.env+"\n"))
			if err != nil {
				t.Fatal(err)
			}
			_, err = ComponentSpec(c)
			if !hangar.IsCode(err, hangar.EINVALID) || !strings.Contains(hangar.ErrorMessage(err), tt.want) {
				t.Errorf("ComponentSpec = %v, want EINVALID containing %q", err, tt.want)
			}
		})
	}
}

func TestComponentFromSpecBad(t *testing.T) {
	for _, tt := range []struct{ name, spec, want string }{
		{"not JSON", `{`, "component a:1: spec:"},
		{"not an object", `[]`, "component a:1: spec:"},
		{"trailing data", `{"type":"command","command":"x"} {}`, "data after the object"},
		{"unknown key", `{"type":"command","command":"x","name":"a"}`, `unknown field "name"`},
		{"NUL", `{"type":"command","command":"x\u0000"}`, "NUL"},
		{"other type", `{"type":"pipeline","command":"x"}`, `type "pipeline" is not supported`},
		{"no command", `{"type":"command"}`, "command is required"},
		{"undeclared input", `{"type":"command","command":"x ${{inputs.y}}"}`, "${{inputs.y}} names no input"},
		{"required input in optional block", `{"type":"command","command":"x $[[${{inputs.y}}]]","inputs":{"y":{"type":"string"}}}`, "is not optional"},
		{"bad input type", `{"type":"command","command":"x","inputs":{"y":{"type":"text"}}}`, `inputs.y.type "text" is not an input type`},
		{"bad input name", `{"type":"command","command":"x","inputs":{"a b":{"type":"string"}}}`, "inputs.a b: not a valid name"},
		{"reserved input name", `{"type":"command","command":"x","inputs":{"PATH":{"type":"string"}}}`, "reserved name"},
		{"bad mode", `{"type":"command","command":"x","inputs":{"y":{"type":"uri_file","mode":"copy"}}}`, "is not an input mode"},
		{"bad default", `{"type":"command","command":"x","inputs":{"y":{"type":"integer","default":"x"}}}`, `inputs.y.default: "x" is not an integer`},
		{"default below min", `{"type":"command","command":"x","inputs":{"y":{"type":"integer","default":"1","min":2}}}`, "below the minimum"},
		{"enum on integer", `{"type":"command","command":"x","inputs":{"y":{"type":"integer","enum":["1"]}}}`, "enum is for string inputs only"},
		{"bad output type", `{"type":"command","command":"x","outputs":{"o":{"type":"integer"}}}`, "is not an output type"},
		{"bad environment reference", `{"type":"command","command":"x","environment":"env:1"}`, "environment:"},
		{"environment without image", `{"type":"command","command":"x","environment":{"os_type":"linux"}}`, "needs an image or a build context"},
		{"environment bad build", `{"type":"command","command":"x","environment":{"build":{"context":"./ctx"}}}`, "environment.build.context"},
		{"environment bad variable", `{"type":"command","command":"x","environment":{"image":"i","environment_variables":{"A-B":"1"}}}`, "environment variable name"},
		{"environment unknown key", `{"type":"command","command":"x","environment":{"image":"i","conda":"x"}}`, `unknown field "conda"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ComponentFromSpec("a", "1", []byte(tt.spec))
			if !hangar.IsCode(err, hangar.EINVALID) || !strings.Contains(hangar.ErrorMessage(err), tt.want) {
				t.Errorf("ComponentFromSpec = %+v, %v; want EINVALID containing %q", c, err, tt.want)
			}
		})
	}
}

// FuzzComponentSpec: every component that parses (its local files
// resolved) has a spec that reads back; the read-back component is a
// fixed point: FromSpec(Spec(x)) == x, and its spec is the original's.
func FuzzComponentSpec(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseComponent("fuzz.yml", b)
		if err != nil {
			return
		}
		resolveLocal(c)
		spec, err := ComponentSpec(c)
		if err != nil {
			if !hangar.IsCode(err, hangar.EINVALID) || !strings.Contains(hangar.ErrorMessage(err), "bytes; the limit") {
				t.Fatalf("ComponentSpec of a parsed component: %v", err)
			}
			return
		}
		x, err := ComponentFromSpec(c.Name, c.Version, spec)
		if err != nil {
			t.Fatalf("ComponentFromSpec(%s): %v", spec, err)
		}
		spec2, err := ComponentSpec(x)
		if err != nil || !bytes.Equal(spec2, spec) {
			t.Fatalf("spec of the read-back component:\n%s, %v\nwant\n%s", spec2, err, spec)
		}
		y, err := ComponentFromSpec(c.Name, c.Version, spec2)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(x, y, specCmp...); diff != "" {
			t.Fatalf("FromSpec(Spec(x)) != x (-x +got):\n%s", diff)
		}
		if diff := cmp.Diff(roundTripView(t, c), roundTripView(t, x), specCmp...); diff != "" {
			t.Fatalf("round trip (-want +got):\n%s", diff)
		}
	})
}

// FuzzComponentFromSpec: any bytes either read as a component or fail
// with EINVALID; what reads writes the same spec back, canonically.
func FuzzComponentFromSpec(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ComponentFromSpec("fuzz", "1", b)
		if err != nil {
			if !hangar.IsCode(err, hangar.EINVALID) {
				t.Fatalf("error %v, want code %s", err, hangar.EINVALID)
			}
			return
		}
		spec, err := ComponentSpec(c)
		if err != nil {
			t.Fatalf("ComponentSpec of a read component: %v", err)
		}
		x, err := ComponentFromSpec("fuzz", "1", spec)
		if err != nil {
			t.Fatalf("ComponentFromSpec(%s): %v", spec, err)
		}
		if diff := cmp.Diff(c, x, specCmp...); diff != "" {
			t.Fatalf("FromSpec(Spec(c)) != c (-c +got):\n%s", diff)
		}
		renderAll(t, c.Template, c.Inputs, c.Outputs)
	})
}

// TestEnvironmentVariables: environment_variables of an environment file
// are read as text and checked as the store checks them, with the line.
func TestEnvironmentVariables(t *testing.T) {
	env, err := ParseEnvironment("env.yml", []byte("name: e\nimage: python\nenvironment_variables:\n  OMP_NUM_THREADS: 1\n  FLAG: true\n  EMPTY:\n"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"OMP_NUM_THREADS": "1", "FLAG": "true", "EMPTY": ""}, env.Variables); diff != "" {
		t.Errorf("variables (-want +got):\n%s", diff)
	}
	for _, tt := range []struct{ yml, want string }{
		{"name: e\nimage: python\nenvironment_variables:\n  A-B: 1\n", `env.yml:4: environment_variables: environment variable name "A-B"`},
		{"name: e\nimage: python\nenvironment_variables: [A]\n", "env.yml:3: environment_variables"},
		{"name: e\nimage: python\nenvironment_variables:\n  A: {b: c}\n", "env.yml:4: environment_variables.A"},
	} {
		_, err := ParseEnvironment("env.yml", []byte(tt.yml))
		if !hangar.IsCode(err, hangar.EINVALID) || !strings.Contains(hangar.ErrorMessage(err), tt.want) {
			t.Errorf("ParseEnvironment(%q) = %v, want EINVALID containing %q", tt.yml, err, tt.want)
		}
	}
}

func TestCheckComponent(t *testing.T) {
	const spec = `{"type":"command","command":"x","is_deterministic":true}`
	for _, tt := range []struct {
		name string
		c    hangar.Component
		want string
	}{
		{"fine", hangar.Component{Name: "a", Spec: spec, IsDeterministic: true}, ""},
		{"determinism differs", hangar.Component{Name: "a", Spec: spec}, "component a: is_deterministic is false but its spec says true"},
		{"spec does not read", hangar.Component{Name: "a", Version: "2", Spec: `{"type":"command"}`, IsDeterministic: true}, "component a:2: command is required"},
	} {
		err := CheckComponent(&tt.c)
		if tt.want == "" && err != nil || tt.want != "" && (!hangar.IsCode(err, hangar.EINVALID) || !strings.Contains(hangar.ErrorMessage(err), tt.want)) {
			t.Errorf("%s: CheckComponent = %v, want %q", tt.name, err, tt.want)
		}
	}
}

// storeOf is a ComponentStore of a few versions; the last of a name is
// its latest.
type storeOf []*hangar.Component

func (s storeOf) Component(_ context.Context, ws, name, version string) (*hangar.Component, error) {
	for _, c := range s {
		if c.Workspace == ws && c.Name == name && c.Version == version {
			return c, nil
		}
	}
	return nil, hangar.Errorf(hangar.ENOTFOUND, "Component %s:%s not found", name, version)
}

func (s storeOf) LatestComponent(_ context.Context, ws, name string) (*hangar.Component, error) {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i].Workspace == ws && s[i].Name == name {
			return s[i], nil
		}
	}
	return nil, hangar.Errorf(hangar.ENOTFOUND, "Component %s:latest not found", name)
}

func TestRegistered(t *testing.T) {
	spec := func(cmd string) string {
		return `{"type":"command","command":"` + cmd + ` ${{inputs.n}}","is_deterministic":true,"inputs":{"n":{"type":"integer","default":"3"}}}`
	}
	store := storeOf{
		{Workspace: "default", Name: "train", Version: "1", Spec: spec("one"), Code: testDigest, DisplayName: "Train", Tags: map[string]string{"k": "v"}, IsDeterministic: true},
		{Workspace: "default", Name: "train", Version: "2", Spec: spec("two"), IsDeterministic: true},
		{Workspace: "other", Name: "train", Version: "9", Spec: spec("other"), IsDeterministic: true},
		{Workspace: "default", Name: "broken", Version: "1", Spec: `{"type":"command"}`},
	}
	r := Registered{Store: store, Workspace: "default"}
	for _, tt := range []struct {
		ref, version, command, code, err string
	}{
		{ref: "azureml:train:1", version: "1", command: "one ${{inputs.n}}", code: testDigest},
		{ref: "azureml:train@latest", version: "2", command: "two ${{inputs.n}}"},
		{ref: "azureml:train", version: "2", command: "two ${{inputs.n}}"},
		{ref: "train:1", version: "1", command: "one ${{inputs.n}}", code: testDigest},
		{ref: "azureml:train:9", err: "Component train:9 not found"},
		{ref: "azureml:nope@latest", err: "Component nope:latest not found"},
		{ref: "azureml:train@prod", err: "the only label is latest"},
		{ref: "./train.yml", err: "is a file"},
		{ref: "azureml://registries/azureml/components/train/versions/1", err: "registry azureml is not known here"},
		{ref: "azureml:broken:1", err: "command is required"},
	} {
		t.Run(tt.ref, func(t *testing.T) {
			ref, err := ParseRef(tt.ref, true)
			if err != nil {
				t.Fatal(err)
			}
			c, err := r.ResolveComponent(t.Context(), "pipeline.yml", ref)
			if tt.err != "" {
				if err == nil || !strings.Contains(hangar.ErrorMessage(err), tt.err) {
					t.Fatalf("ResolveComponent = %+v, %v; want an error containing %q", c, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Name != "train" || c.Version != tt.version || c.Command != tt.command || c.Code != tt.code ||
				c.File != "azureml:train:"+tt.version || c.Inputs["n"].Default != "3" || !c.IsDeterministic {
				t.Errorf("ResolveComponent = %+v, want train:%s running %q with code %q", c, tt.version, tt.command, tt.code)
			}
			if tt.version == "1" && (c.DisplayName != "Train" || c.Tags["k"] != "v") {
				t.Errorf("display name %q, tags %v: want the version's", c.DisplayName, c.Tags)
			}
			if len(c.LocalPaths()) != 0 {
				t.Errorf("local paths of a registered component: %v, want none", c.LocalPaths())
			}
		})
	}
}
