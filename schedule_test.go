package hangar_test

import (
	"strings"
	"testing"

	"github.com/hangar-ml/hangar"
)

func TestScheduleValidate(t *testing.T) {
	good := func() hangar.Schedule {
		return hangar.Schedule{Name: "nightly", Trigger: "every day (UTC)", Spec: `{"yaml":"x"}`, Tags: map[string]string{"a": "b"}}
	}
	s := good()
	if err := s.Validate(); err != nil {
		t.Fatalf("good schedule: %v", err)
	}
	tests := []struct {
		name string
		mod  func(*hangar.Schedule)
		want string
	}{
		{"bad name", func(s *hangar.Schedule) { s.Name = "a b" }, "invalid schedule name"},
		{"empty spec", func(s *hangar.Schedule) { s.Spec = "" }, "spec is not a JSON object"},
		{"spec not an object", func(s *hangar.Schedule) { s.Spec = "[1]" }, "spec is not a JSON object"},
		{"spec too large", func(s *hangar.Schedule) { s.Spec = "{" + strings.Repeat(" ", hangar.MaxScheduleSpecSize) + "}" }, "the limit is"},
		{"NUL in the trigger", func(s *hangar.Schedule) { s.Trigger = "a\x00" }, "trigger contains a NUL"},
		{"long display name", func(s *hangar.Schedule) { s.DisplayName = strings.Repeat("x", 300) }, "display_name is 300 bytes"},
		{"empty tag key", func(s *hangar.Schedule) { s.Tags = map[string]string{"": "x"} }, "tag key is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := good()
			tt.mod(&s)
			err := s.Validate()
			if hangar.ErrorCode(err) != hangar.EINVALID || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want EINVALID containing %q", err, tt.want)
			}
		})
	}
}

func TestScheduleSubmissionValidate(t *testing.T) {
	good := func() hangar.ScheduleSubmission {
		return hangar.ScheduleSubmission{File: "s.yml", YAML: "name: s", Sets: []string{"name=t"},
			Job: &hangar.JobSubmission{File: "job.yml", YAML: "command: echo"}}
	}
	s := good()
	if err := s.Validate(); err != nil {
		t.Fatalf("good submission: %v", err)
	}
	tests := []struct {
		name string
		mod  func(*hangar.ScheduleSubmission)
		want string
	}{
		{"no file", func(s *hangar.ScheduleSubmission) { s.File = "" }, "invalid schedule file name"},
		{"file with a folder", func(s *hangar.ScheduleSubmission) { s.File = `a\s.yml` }, "invalid schedule file name"},
		{"empty YAML", func(s *hangar.ScheduleSubmission) { s.YAML = "\n" }, "s.yml: the schedule's YAML is empty"},
		{"bad UTF-8", func(s *hangar.ScheduleSubmission) { s.YAML = "\xff" }, "yaml is not valid UTF-8"},
		{"set without =", func(s *hangar.ScheduleSubmission) { s.Sets = []string{"name"} }, `invalid --set "name"`},
		{"too many sets", func(s *hangar.ScheduleSubmission) { s.Sets = make([]string, hangar.MaxJobSubmissionSets+1) }, "--set overrides; the limit is"},
		{"bad job", func(s *hangar.ScheduleSubmission) { s.Job.File = "" }, "invalid job file name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := good()
			tt.mod(&s)
			err := s.Validate()
			if hangar.ErrorCode(err) != hangar.EINVALID || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want EINVALID containing %q", err, tt.want)
			}
		})
	}
}
