package hangar_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/hangar-ml/hangar"
)

func TestEnvironmentHash(t *testing.T) {
	base := hangar.Environment{Workspace: "default", Name: "env", Version: "1", Image: "python:3.12", CondaFile: "name: x\n"}
	h := hangar.EnvironmentHash(&base)
	// The encoding is part of the stored data: a change of it changes
	// every stored hash, and must come with a new format label. The value
	// was computed independently (Python's hashlib over the same
	// length-prefixed fields).
	const golden = "sha256:474be157b485347e5cabe0318fcad976d0885d4bd638c1a24426c3eb2245df1d"
	if h != golden {
		t.Fatalf("hash: got %s, want %s", h, golden)
	}
	same := base
	same.Workspace, same.Name, same.Version, same.Description, same.Tags = "other", "other", "7", "d", map[string]string{"k": "v"}
	same.Archived, same.CreatedBy = true, "bob"
	if got := hangar.EnvironmentHash(&same); got != h {
		t.Errorf("hash with other name, version, description, tags: got %s, want %s", got, h)
	}
	for _, tt := range []struct {
		name string
		e    hangar.Environment
	}{
		{"image", hangar.Environment{Image: "python:3.13", CondaFile: base.CondaFile}},
		{"conda file", hangar.Environment{Image: base.Image, CondaFile: "name: y\n"}},
		{"build context", hangar.Environment{BuildContext: hangar.Digest("sha256:" + strings.Repeat("0", 64))}},
		// Field boundaries are part of the encoding.
		{"shifted boundary", hangar.Environment{Image: "python:3.12n", CondaFile: "ame: x\n"}},
		{"image as conda file", hangar.Environment{CondaFile: "python:3.12"}},
		{"variables", hangar.Environment{Image: base.Image, CondaFile: base.CondaFile, Variables: map[string]string{"A": "1"}}},
		{"variable as conda file", hangar.Environment{Image: base.Image, Variables: map[string]string{"name": " x\n"}}},
		{"Dockerfile path", hangar.Environment{Image: base.Image, CondaFile: base.CondaFile, DockerfilePath: "Dockerfile"}},
	} {
		if got := hangar.EnvironmentHash(&tt.e); got == h {
			t.Errorf("%s: hash %s equals the base's", tt.name, got)
		}
	}
	a := hangar.Environment{CondaFile: "python:3.12"}
	b := hangar.Environment{Image: "python:3.12"}
	if hangar.EnvironmentHash(&a) == hangar.EnvironmentHash(&b) {
		t.Error("image and conda file of the same text hash alike")
	}
	// Variables are hashed by name, whatever the map's order, after a new
	// format label; the golden value is again Python's.
	vars := base
	vars.Variables = map[string]string{"B_2": "two", "A": "1"}
	const goldenVars = "sha256:e35135bb990abd7b8b807ed717d767e3c078714c5cea445e7de36fe9f588ae81"
	if got := hangar.EnvironmentHash(&vars); got != goldenVars {
		t.Errorf("hash with variables: got %s, want %s", got, goldenVars)
	}
	for _, tt := range []map[string]string{{"A": "1", "B_2": "tw"}, {"A": "1", "B_": "2two"}, {"A": "1"}, {"A": "1", "B_2": "two", "C": ""}} {
		v := base
		v.Variables = tt
		if got := hangar.EnvironmentHash(&v); got == goldenVars {
			t.Errorf("variables %v hash as %v", tt, vars.Variables)
		}
	}
	empty := base
	empty.Variables = map[string]string{}
	if got := hangar.EnvironmentHash(&empty); got != h {
		t.Errorf("hash with empty variables: got %s, want the v1 hash %s", got, h)
	}
	c := hangar.Component{Spec: "python:3.12"}
	if hangar.ComponentHash(&c) == hangar.EnvironmentHash(&b) {
		t.Error("a component and an environment hash alike")
	}
}

func TestEnvironmentValidate(t *testing.T) {
	digest := hangar.Digest("sha256:" + strings.Repeat("a", 64))
	ok := func() *hangar.Environment {
		return &hangar.Environment{Workspace: "default", Name: "env", Image: "python:3.12"}
	}
	for _, tt := range []struct {
		name string
		edit func(e *hangar.Environment)
		want string // "" for valid
	}{
		{"image", func(e *hangar.Environment) {}, ""},
		{"image and conda file", func(e *hangar.Environment) { e.CondaFile = "name: x" }, ""},
		{"build context", func(e *hangar.Environment) { e.Image, e.BuildContext = "", digest }, ""},
		{"version", func(e *hangar.Environment) { e.Version = "1.0_rc-2" }, ""},
		{"longest version", func(e *hangar.Environment) { e.Version = strings.Repeat("9", 64) }, ""},
		{"version too long", func(e *hangar.Environment) { e.Version = strings.Repeat("9", 65) }, "invalid environment version"},
		{"version with a dot first", func(e *hangar.Environment) { e.Version = ".1" }, "invalid environment version"},
		{"bad workspace", func(e *hangar.Environment) { e.Workspace = "a" }, "invalid workspace name"},
		{"bad name", func(e *hangar.Environment) { e.Name = "a b" }, "invalid environment name"},
		{"neither", func(e *hangar.Environment) { e.Image = "" }, "give an image or a build context"},
		{"both", func(e *hangar.Environment) { e.BuildContext = digest }, "not both"},
		{"conda without image", func(e *hangar.Environment) { e.Image, e.BuildContext, e.CondaFile = "", digest, "x" }, "needs an image"},
		{"bad digest", func(e *hangar.Environment) { e.Image, e.BuildContext = "", "sha256:A" }, "build context"},
		{"NUL in image", func(e *hangar.Environment) { e.Image = "a\x00" }, "image contains a NUL"},
		{"long description", func(e *hangar.Environment) { e.Description = strings.Repeat("d", 4097) }, "description is 4097 bytes"},
		{"variables", func(e *hangar.Environment) {
			e.Variables = map[string]string{"OMP_NUM_THREADS": "1", "_x9": "", "a": "ü"}
		}, ""},
		{"variable named with a digit first", func(e *hangar.Environment) { e.Variables = map[string]string{"1A": "x"} }, `environment variable name "1A"`},
		{"variable named with a dash", func(e *hangar.Environment) { e.Variables = map[string]string{"A-B": "x"} }, `environment variable name "A-B"`},
		{"variable named with =", func(e *hangar.Environment) { e.Variables = map[string]string{"A=B": "x"} }, `environment variable name "A=B"`},
		{"variable with an empty name", func(e *hangar.Environment) { e.Variables = map[string]string{"": "x"} }, `environment variable name ""`},
		{"variable name too long", func(e *hangar.Environment) { e.Variables = map[string]string{strings.Repeat("A", 257): "x"} }, "environment variable name"},
		{"longest variable name", func(e *hangar.Environment) { e.Variables = map[string]string{strings.Repeat("A", 256): "x"} }, ""},
		{"NUL in a variable", func(e *hangar.Environment) { e.Variables = map[string]string{"A": "a\x00"} }, "environment variable A contains a NUL"},
		{"variable too long", func(e *hangar.Environment) { e.Variables = map[string]string{"A": strings.Repeat("v", 32<<10+1)} }, "environment variable A is 32769 bytes"},
		{"longest variable", func(e *hangar.Environment) { e.Variables = map[string]string{"A": strings.Repeat("v", 32<<10)} }, ""},
		{"too many variables", func(e *hangar.Environment) {
			e.Variables = map[string]string{}
			for i := range 101 {
				e.Variables["V"+strconv.Itoa(i)] = ""
			}
		}, "101 environment variables; the limit is 100"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := ok()
			tt.edit(e)
			err := e.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			if hangar.ErrorCode(err) != hangar.EINVALID || !strings.Contains(hangar.ErrorMessage(err), tt.want) {
				t.Errorf("Validate = %v, want EINVALID containing %q", err, tt.want)
			}
		})
	}
}

func TestEnvComponentVersionNumber(t *testing.T) {
	for _, tt := range []struct {
		v    string
		n    int64
		isNo bool
	}{
		{"1", 1, true}, {"0", 0, true}, {"42", 42, true}, {"9223372036854775807", 9223372036854775807, true},
		{"9223372036854775808", 0, false}, {"007", 0, false}, {"", 0, false}, {"1.0", 0, false},
		{"v2", 0, false}, {"-1", 0, false}, {"+1", 0, false}, {"1e3", 0, false}, {"١", 0, false},
	} {
		n, ok := hangar.EnvComponentVersionNumber(tt.v)
		if n != tt.n || ok != tt.isNo {
			t.Errorf("EnvComponentVersionNumber(%q) = %d, %v, want %d, %v", tt.v, n, ok, tt.n, tt.isNo)
		}
	}
}

// FuzzEnvComponentVersionNumber checks the parser against strconv: a
// label is a number exactly when it is the decimal form of a non-negative
// int64, and then that int64.
func FuzzEnvComponentVersionNumber(f *testing.F) {
	for _, s := range []string{"1", "0", "007", "-1", "+1", "1.0", "9223372036854775808", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, ok := hangar.EnvComponentVersionNumber(s)
		m, err := strconv.ParseInt(s, 10, 64)
		want := err == nil && m >= 0 && strconv.FormatInt(m, 10) == s
		if ok != want || (ok && n != m) {
			t.Errorf("EnvComponentVersionNumber(%q) = %d, %v; strconv says %d, %v", s, n, ok, m, want)
		}
		if ok && hangar.ValidateEnvComponentVersion("environment", s) != nil && len(s) <= 64 {
			t.Errorf("number %q is not a valid version", s)
		}
	})
}
