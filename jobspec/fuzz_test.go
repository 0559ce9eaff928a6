package jobspec

import (
	"strings"
	"testing"

	"github.com/hangar-ml/hangar"
)

// FuzzParse feeds any bytes to every parser: each either succeeds or
// fails with EINVALID, never panics; what parses also plans (pipelines)
// or renders (commands).
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		check := func(what string, err error) {
			if err != nil && !hangar.IsCode(err, hangar.EINVALID) {
				t.Fatalf("%s: error %v, want code %s", what, err, hangar.EINVALID)
			}
		}
		j, err := ParseJob("fuzz.yml", b, []string{"tags.fuzz=1"})
		check("ParseJob", err)
		if err == nil && j.Type == PipelineJob {
			// No files: a fuzzed reference must not read the disk.
			_, err := PlanPipeline(t.Context(), j, registered{})
			check("PlanPipeline", err)
		} else if err == nil && j.Type == SweepJob {
			if j.ComponentRef == nil {
				renderAll(t, j.Template, j.Inputs, j.Outputs)
			}
			_, err := PlanSweep(t.Context(), j, registered{})
			check("PlanSweep", err)
		} else if err == nil {
			renderAll(t, j.Template, j.Inputs, j.Outputs)
		}
		c, err := ParseComponent("fuzz.yml", b)
		check("ParseComponent", err)
		if err == nil {
			renderAll(t, c.Template, c.Inputs, c.Outputs)
		}
		_, err = ParseEnvironment("fuzz.yml", b)
		check("ParseEnvironment", err)
		_, err = ParseData("fuzz.yml", b)
		check("ParseData", err)
	})
}

// renderAll renders a checked command with a value for every input and
// output: it must succeed.
func renderAll(t *testing.T, tmpl Template, inputs map[string]*Input, outputs map[string]*Output) {
	t.Helper()
	in, out := map[string]string{}, map[string]string{}
	for k := range inputs {
		in[k] = "a b'c"
	}
	for k := range outputs {
		out[k] = "/out/" + k
	}
	if _, err := tmpl.Render(in, out); err != nil {
		t.Fatalf("Render of a checked command: %v", err)
	}
}

// FuzzTemplate parses any command and renders it with any value for every
// input and output: rendering succeeds whenever the command uses only
// inputs and outputs (and places none after a here-document), and a value
// never changes the shell's quoting state (it can only ever be data, never
// syntax).
func FuzzTemplate(f *testing.F) {
	f.Fuzz(func(t *testing.T, src, value []byte) {
		tmpl, err := ParseTemplate(string(src))
		if err != nil {
			if !hangar.IsCode(err, hangar.EINVALID) {
				t.Fatalf("error %v, want code %s", err, hangar.EINVALID)
			}
			return
		}
		in, out := map[string]string{}, map[string]string{}
		plain := true
		for _, e := range tmpl.Exprs() {
			switch {
			case len(e) == 2 && e[0] == "inputs":
				in[e[1]] = string(value)
			case len(e) == 2 && e[0] == "outputs":
				out[e[1]] = string(value)
			default:
				plain = false
			}
		}
		got, err := tmpl.Render(in, out)
		if err != nil && strings.Contains(hangar.ErrorMessage(err), "here-document") {
			return // refused on purpose: see errHeredoc
		}
		if plain != (err == nil) {
			t.Fatalf("Render error %v for a template with only inputs and outputs = %v", err, plain)
		}
		if err != nil {
			return
		}
		// The command with each value replaced by a plain letter: what
		// the shell must see, quoting-wise, whatever the value is.
		var text func(segs []Segment) string
		text = func(segs []Segment) string {
			var s string
			for _, seg := range segs {
				s += seg.Text + text(seg.Optional)
				if seg.Expr != nil {
					s += "X"
				}
			}
			return s
		}
		var want, have shellState
		want.scan(text(tmpl))
		have.scan(got)
		if want.q != have.q || want.subst != have.subst || len(want.outer) != len(have.outer) || want.comment != have.comment {
			t.Fatalf("quoting state after %q is %q in %q (depth %d), with plain values %q in %q (depth %d)",
				got, have.q, have.subst, len(have.outer), want.q, want.subst, len(want.outer))
		}
	})
}
