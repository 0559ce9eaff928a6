package main

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/hangar-ml/hangar/disk"
	"github.com/hangar-ml/hangar/jobspec"
)

// TestJobSubmissionCollect checks what `job create` sends for the Azure-
// style pipeline of testdata/jobs/pipeline: the component and conda files
// as text, keyed relative to the pipeline's folder, and each local path
// uploaded once (three components share one code folder).
func TestJobSubmissionCollect(t *testing.T) {
	file := filepath.Join("testdata", "jobs", "pipeline", "pipeline.yml")
	blobs := disk.New(t.TempDir())
	js, job, err := newJobSubmission(file, []string{"inputs.test_fraction=0.3"}, blobs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := jobspec.PlanPipeline(t.Context(), job, jobspec.Files{}); err != nil {
		t.Fatalf("plan: %v", err)
	}
	ups, err := js.collect(job)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, u := range ups {
		keys = append(keys, u.key)
	}
	slices.Sort(keys)
	if want := []string{"data/chicago.csv", "src"}; !slices.Equal(keys, want) {
		t.Errorf("uploads %v, want %v", keys, want)
	}
	var files []string
	for k := range js.sub.Files {
		files = append(files, k)
	}
	slices.Sort(files)
	if want := []string{"components/evaluate.yml", "components/prep.yml", "components/train.yml", "env/conda.yml"}; !slices.Equal(files, want) {
		t.Errorf("files %v, want %v", files, want)
	}
	if err := js.upload(t.Context(), ups); err != nil {
		t.Fatal(err)
	}
	first := js.sub.Uploads["src"]
	if first == "" || js.sub.Uploads["data/chicago.csv"] == "" {
		t.Fatalf("uploads %v", js.sub.Uploads)
	}
	// The same folder uploads to the same manifest.
	if err := js.upload(t.Context(), ups); err != nil {
		t.Fatal(err)
	}
	if js.sub.Uploads["src"] != first {
		t.Errorf("second upload of src: %s, want %s", js.sub.Uploads["src"], first)
	}
	if js.sub.File != "pipeline.yml" || len(js.sub.Sets) != 1 {
		t.Errorf("submission file %q sets %v", js.sub.File, js.sub.Sets)
	}
}
