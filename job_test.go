package hangar_test

import (
	"strings"
	"testing"

	"github.com/hangar-ml/hangar"
)

func TestJobSubmissionValidate(t *testing.T) {
	digest := hangar.Digest("sha256:" + strings.Repeat("ab", 32))
	good := func() hangar.JobSubmission {
		return hangar.JobSubmission{File: "pipeline.yml", YAML: "type: pipeline\n", Sets: []string{"inputs.lr=0.1", "name=x=y"},
			Files:   map[string]string{"../components/train.yml": "name: train\n"},
			Uploads: map[string]hangar.Digest{"./src": digest, "../shared/code": digest}}
	}
	for _, tc := range []struct {
		name   string
		change func(s *hangar.JobSubmission)
		want   string // "" for valid
	}{
		{"good", func(s *hangar.JobSubmission) {}, ""},
		{"minimal", func(s *hangar.JobSubmission) { *s = hangar.JobSubmission{File: "job.yaml", YAML: "command: echo\n"} }, ""},
		{"no file", func(s *hangar.JobSubmission) { s.File = "" }, "invalid job file name"},
		{"file with a folder", func(s *hangar.JobSubmission) { s.File = "jobs/job.yml" }, "base name"},
		{"file with a backslash", func(s *hangar.JobSubmission) { s.File = `jobs\job.yml` }, "base name"},
		{"file ..", func(s *hangar.JobSubmission) { s.File = ".." }, "base name"},
		{"file with NUL", func(s *hangar.JobSubmission) { s.File = "a\x00.yml" }, "file"},
		{"empty yaml", func(s *hangar.JobSubmission) { s.YAML = "\n\t " }, "YAML is empty"},
		{"yaml not UTF-8", func(s *hangar.JobSubmission) { s.YAML = "a: \xff" }, "yaml"},
		{"set without =", func(s *hangar.JobSubmission) { s.Sets = []string{"inputs.lr"} }, "want path=value"},
		{"set without path", func(s *hangar.JobSubmission) { s.Sets = []string{"=1"} }, "want path=value"},
		{"too many sets", func(s *hangar.JobSubmission) { s.Sets = make([]string, hangar.MaxJobSubmissionSets+1) }, "--set overrides"},
		{"empty file path", func(s *hangar.JobSubmission) { s.Files = map[string]string{"": "a: 1"} }, "empty path"},
		{"long file path", func(s *hangar.JobSubmission) {
			s.Files = map[string]string{strings.Repeat("a", hangar.MaxDataPathLength+1): "a: 1"}
		}, "path"},
		{"too much YAML", func(s *hangar.JobSubmission) {
			s.Files = map[string]string{"a.yml": strings.Repeat("x", hangar.MaxJobSubmissionSize-len(s.YAML)+1)}
		}, "the limit is"},
		{"bad digest", func(s *hangar.JobSubmission) { s.Uploads = map[string]hangar.Digest{"src": "sha256:zz"} }, "upload of src"},
		{"empty upload path", func(s *hangar.JobSubmission) { s.Uploads = map[string]hangar.Digest{"": digest} }, "empty path"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := good()
			tc.change(&s)
			err := s.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("got %v, want valid", err)
				}
				return
			}
			if hangar.ErrorCode(err) != hangar.EINVALID || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want EINVALID containing %q", err, tc.want)
			}
		})
	}
}

func TestJobSpecMustBeJSON(t *testing.T) {
	for _, spec := range []string{"", "{", `{"a":}`, "[]", `{"a":1} x`} {
		j := &hangar.Job{Name: "j", Type: hangar.JobTypeCommand, Spec: spec}
		if err := j.Validate(); hangar.ErrorCode(err) != hangar.EINVALID {
			t.Errorf("spec %q: got %v, want EINVALID", spec, err)
		}
	}
	j := &hangar.Job{Name: "j", Type: hangar.JobTypeCommand, Spec: `{"a": [1, 2]}`}
	if err := j.Validate(); err != nil {
		t.Errorf("a JSON object: %v", err)
	}
}
