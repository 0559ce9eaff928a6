package search

import (
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/hangar-ml/hangar"
)

// maxMessage bounds an error message: user text in it is clipped.
const maxMessage = 8 << 10

// fuzzRecords are evaluated by every parsed filter and order, so the
// evaluator meets whatever patterns and keys the fuzzer invents.
func fuzzRecords() []MapRecord {
	runs := testRuns()
	out := []MapRecord{{}, {
		Metrics: map[string]float64{"a": math.Inf(-1), "x": 0},
		Params:  map[string]string{"a": "%_%", "x": ""},
		Tags:    map[string]string{"a": "\xff", "x": "日本"},
		Strings: map[string]string{"name": "a", "run_id": "x", "source_path": "%"},
		Numbers: map[string]int64{"version_number": math.MinInt64, "start_time": math.MaxInt64},
		Inputs:  []DatasetInput{{}},
	}}
	for _, id := range []string{"a1", "b2", "c3", "d4"} {
		out = append(out, runs[id])
	}
	return out
}

// checkFilter is the fuzz invariant of every filter parser: no panic; an
// error is EINVALID with a bounded message; a parsed filter's String parses
// back to an equal Filter, and evaluating it does not panic.
func checkFilter(t *testing.T, target Target, s string) {
	f, err := ParseFilter(target, s)
	if err != nil {
		if !hangar.IsCode(err, hangar.EINVALID) {
			t.Fatalf("ParseFilter(%v, %q): error code %q, want %q", target, s, hangar.ErrorCode(err), hangar.EINVALID)
		}
		if msg := hangar.ErrorMessage(err); len(msg) > maxMessage || !strings.Contains(msg, "invalid filter") {
			t.Fatalf("ParseFilter(%v, %q): message of %d bytes: %.200q", target, s, len(msg), msg)
		}
		return
	}
	canon := f.String()
	again, err := ParseFilter(target, canon)
	if err != nil {
		t.Fatalf("ParseFilter(%v, %q) = %#v, whose String %q does not parse: %v", target, s, f, canon, err)
	}
	if !reflect.DeepEqual(again, f) {
		t.Fatalf("ParseFilter(%v, %q) = %#v; String %q parses to %#v", target, s, f, canon, again)
	}
	if again.String() != canon {
		t.Fatalf("String is not stable: %q then %q", canon, again.String())
	}
	for _, r := range fuzzRecords() {
		f.Match(r)
	}
}

func FuzzParseRunFilter(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		checkFilter(t, Runs, s)
	})
}

// FuzzParseRegistryFilter covers the experiment, registered-model and
// model-version filters; which is chosen by the first argument.
func FuzzParseRegistryFilter(f *testing.F) {
	f.Fuzz(func(t *testing.T, which uint8, s string) {
		targets := []Target{Experiments, RegisteredModels, ModelVersions}
		checkFilter(t, targets[int(which)%len(targets)], s)
	})
}

// FuzzParseOrderBy parses order_by lists (items separated by newlines) for
// any target: no panic, errors are EINVALID, Strings parses back to an equal
// OrderBy, and Compare is a consistent order over the fuzz records.
func FuzzParseOrderBy(f *testing.F) {
	f.Fuzz(func(t *testing.T, which uint8, list string) {
		targets := []Target{Runs, Experiments, RegisteredModels, ModelVersions}
		target := targets[int(which)%len(targets)]
		var items []string
		if list != "" {
			items = strings.Split(list, "\n")
		}
		o, err := ParseOrderBy(target, items)
		if err != nil {
			if !hangar.IsCode(err, hangar.EINVALID) {
				t.Fatalf("ParseOrderBy(%v, %q): error code %q, want %q", target, items, hangar.ErrorCode(err), hangar.EINVALID)
			}
			if msg := hangar.ErrorMessage(err); len(msg) > maxMessage || !strings.Contains(msg, "invalid order_by") {
				t.Fatalf("ParseOrderBy(%v, %q): message of %d bytes: %.200q", target, items, len(msg), msg)
			}
			return
		}
		again, err := ParseOrderBy(target, o.Strings())
		if err != nil || !reflect.DeepEqual(again, o) {
			t.Fatalf("ParseOrderBy(%v, %q) = %+v; Strings %q parses to %+v, %v", target, items, o, o.Strings(), again, err)
		}
		rs := fuzzRecords()
		for _, a := range rs {
			if c := o.Compare(a, a); c != 0 {
				t.Fatalf("Compare(r, r) = %d for %+v", c, a)
			}
			for _, b := range rs {
				if ab, ba := o.Compare(a, b), o.Compare(b, a); sign(ab) != -sign(ba) {
					t.Fatalf("Compare(a, b) = %d but Compare(b, a) = %d\na %+v\nb %+v", ab, ba, a, b)
				}
			}
		}
	})
}

func sign(c int) int {
	switch {
	case c < 0:
		return -1
	case c > 0:
		return 1
	}
	return 0
}
