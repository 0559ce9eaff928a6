package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/hangar-ml/hangar/builtin"
	"github.com/hangar-ml/hangar/jobspec"
)

// TestBuiltinComponentsMatchFlags: every built-in component's command
// passes each input to a flag its verb has, with the flag's own default,
// and the rendered command parses as that verb's flags.
func TestBuiltinComponentsMatchFlags(t *testing.T) {
	root := newBuiltinCmd(func(string) string { return "" })
	pair := regexp.MustCompile(`--([a-z0-9-]+)[ =]\$\{\{(inputs|outputs)\.([a-z0-9_]+)\}\}`)
	for _, c := range builtin.Components() {
		t.Run(c.Name, func(t *testing.T) {
			verb := strings.ReplaceAll(c.Name, "_", "-")
			cmd, _, err := root.Find([]string{verb})
			if err != nil || cmd.Name() != verb {
				t.Fatalf("no verb %s: %v", verb, err)
			}
			passed := map[string]bool{}
			for _, m := range pair.FindAllStringSubmatch(c.Command, -1) {
				flag, kind, name := m[1], m[2], m[3]
				passed[kind+"."+name] = true
				f := cmd.Flags().Lookup(flag)
				if f == nil {
					t.Errorf("%s.%s goes to --%s, which %s does not have", kind, name, flag, verb)
					continue
				}
				in := c.Inputs[name]
				if kind != "inputs" || !in.HasDefault {
					continue
				}
				if !sameValue(in.Type, in.Default, f.DefValue) {
					t.Errorf("input %s defaults to %q, --%s to %q", name, in.Default, flag, f.DefValue)
				}
			}
			for _, name := range c.InputOrder {
				if !passed["inputs."+name] {
					t.Errorf("input %s is passed to no flag", name)
				}
			}
			for _, name := range c.OutputOrder {
				if !passed["outputs."+name] {
					t.Errorf("output %s is passed to no flag", name)
				}
			}
			// The command with every input given (literals at their
			// defaults) parses as the verb's flags.
			ins := map[string]string{}
			for name, in := range c.Inputs {
				switch {
				case in.HasDefault:
					ins[name] = jobspec.RenderValue(in.Type, in.Default)
				case in.Type == jobspec.Number:
					ins[name] = "0.5"
				default:
					ins[name] = "x"
				}
			}
			outs := map[string]string{}
			for name := range c.Outputs {
				outs[name] = "/out/" + name
			}
			line, err := c.Template.Render(ins, outs)
			if err != nil {
				t.Fatal(err)
			}
			args := strings.Fields(line)
			if len(args) < 3 || args[0] != "hangar" || args[1] != "builtin" || args[2] != verb {
				t.Fatalf("command %q does not run hangar builtin %s", line, verb)
			}
			if err := cmd.ParseFlags(args[3:]); err != nil {
				t.Errorf("%s: %v", line, err)
			}
		})
	}
}

// sameValue reports whether a component's default and a flag's default
// are the same value of type t.
func sameValue(t jobspec.Type, a, b string) bool {
	switch t {
	case jobspec.Number, jobspec.Integer:
		x, err1 := strconv.ParseFloat(a, 64)
		y, err2 := strconv.ParseFloat(b, 64)
		return err1 == nil && err2 == nil && x == y
	case jobspec.Boolean:
		x, err1 := strconv.ParseBool(a)
		y, err2 := strconv.ParseBool(b)
		return err1 == nil && err2 == nil && x == y
	}
	return a == b
}

// TestBuiltinFolders: what a pipeline step needs of the verbs: a folder
// as a table input, output files in folders that do not exist yet, and
// validate's --expect-list and --report.
func TestBuiltinFolders(t *testing.T) {
	dir := t.TempDir()
	tr, te := filepath.Join(dir, "train", "train.csv"), filepath.Join(dir, "test", "test.csv")
	_, msg := mustRun(t, "split", "--input", filepath.Dir(chicagoCSV), "--output-train", tr, "--output-test", te, "--date-column", "date", "--before", "2014-01-01")
	if !strings.Contains(msg, "4727 rows to") || !strings.Contains(msg, "971 rows to") {
		t.Errorf("split of a folder said %q, want 4727 and 971 rows", msg)
	}
	model := filepath.Join(dir, "model")
	mustRun(t, "train-linear", "--train", filepath.Dir(tr), "--label", "ridership", "--drop-columns", "date", "--output", model)
	pred := filepath.Join(dir, "pred", "out", "predictions.csv")
	mustRun(t, "predict", "--model", model, "--input", filepath.Dir(te), "--output", pred)
	if n := readCSV(t, pred).NumRows(); n != 971 {
		t.Errorf("predictions: got %d rows, want 971", n)
	}
	metrics := filepath.Join(dir, "metrics", "metrics.json")
	mustRun(t, "evaluate", "--model", model, "--input", filepath.Dir(te), "--label", "ridership", "--output", metrics)
	if b, err := os.ReadFile(metrics); err != nil || !strings.Contains(string(b), `"rmse"`) {
		t.Errorf("metrics file: %q, %v", b, err)
	}

	for name, tc := range map[string]struct {
		expect string
		ok     bool
		out    string // a line stdout must have
	}{
		"passes": {expect: "ridership:numeric,not_null,min=0; date:date;", ok: true, out: "ok: " + te + " passed 6 expectations (971 rows)"},
		"fails":  {expect: "ridership:max=1;date:numeric", out: `FAIL column "date" is not numeric`},
	} {
		t.Run(name, func(t *testing.T) {
			report := filepath.Join(dir, name, "report.json")
			out, _, err := runBuiltin(t, "validate", "--input", te, "--expect-list", tc.expect, "--report", report)
			if (err == nil) != tc.ok {
				t.Fatalf("got error %v, want ok %v", err, tc.ok)
			}
			if !strings.Contains(out, tc.out) {
				t.Errorf("stdout %q lacks %q", out, tc.out)
			}
			var r struct {
				OK       bool     `json:"ok"`
				Rows     int      `json:"rows"`
				Failures []string `json:"failures"`
			}
			b, err := os.ReadFile(report)
			if err == nil {
				err = json.Unmarshal(b, &r)
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.OK != tc.ok || r.Rows != 971 || (len(r.Failures) == 0) != tc.ok {
				t.Errorf("report %s, want ok %v on 971 rows", b, tc.ok)
			}
		})
	}
}
