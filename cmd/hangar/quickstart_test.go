package main

import (
	"slices"
	"testing"

	"github.com/hangar-ml/hangar/builtin"
	"github.com/hangar-ml/hangar/jobspec"
)

// TestQuickstartPipeline checks the embedded pipeline as the server will
// at submit time: it parses, its built-in components resolve, its
// bindings type-check, and the steps the quickstart reads exist in order.
func TestQuickstartPipeline(t *testing.T) {
	job, err := jobspec.ParseJob("quickstart.yml", []byte(quickstartPipeline), nil)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := jobspec.PlanPipeline(t.Context(), job, builtin.Resolver{})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"split_test", "split_valid", "train", "evaluate", "gate"}; !slices.Equal(plan.Order, want) {
		t.Errorf("got steps %v, want %v", plan.Order, want)
	}
	for _, tc := range []struct{ step, needs string }{
		{"split_valid", "split_test"},
		{"train", "split_valid"},
		{"evaluate", "train"},
		{"evaluate", "split_test"},
	} {
		if !slices.Contains(plan.Needs[tc.step], tc.needs) {
			t.Errorf("got %s needs %v, want it to need %s", tc.step, plan.Needs[tc.step], tc.needs)
		}
	}
	if job.ExperimentName != "chicago-ridership" {
		t.Errorf("got experiment %q, want chicago-ridership", job.ExperimentName)
	}
}
