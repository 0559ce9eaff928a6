package main

import (
	"os"
	"strings"
	"testing"

	"github.com/hangar-ml/hangar"
)

// TestBatchLocalInput: which --input values are local paths to upload and
// which are data assets the server resolves, as Azure's CLI reads them.
func TestBatchLocalInput(t *testing.T) {
	t.Chdir(t.TempDir())
	if err := os.WriteFile("rides.csv", []byte("x\n1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir("parts", 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		input     string
		wantPath  string
		wantLocal bool
		wantErr   string
	}{
		{"azureml:rides@latest", "", false, ""},
		{"azureml:rides.csv:1", "", false, ""},
		{"rides:1", "", false, ""},
		{"rides@latest", "", false, ""},
		{"nothing-here", "", false, ""},
		{"rides.csv", "rides.csv", true, ""},
		{"parts", "parts", true, ""},
		{"./missing.csv", "./missing.csv", true, ""},
		{"../elsewhere", "../elsewhere", true, ""},
		{".", ".", true, ""},
		{"/abs/rides.csv", "/abs/rides.csv", true, ""},
		{"file:rides.csv", "rides.csv", true, ""},
		{"file://rides.csv", "rides.csv", true, ""},
		{"file:///abs/rides.csv", "/abs/rides.csv", true, ""},
		{"file:", "", false, "give the file or folder"},
		{"azureml://datastores/workspaceblobstore/paths/rides", "", false, "a datastore or registry path is not read directly"},
		{"azureml://registries/shared/data/rides/versions/1", "", false, "a datastore or registry path is not read directly"},
		{"https://example.com/rides.csv", "", false, "URLs are not fetched"},
		{"wasbs://c@a.blob.core.windows.net/rides", "", false, "URLs are not fetched"},
	}
	for _, tt := range tests {
		t.Run(tt.input, func(t *testing.T) {
			path, local, err := batchLocalInput(tt.input)
			if tt.wantErr != "" {
				if !hangar.IsCode(err, hangar.EINVALID) || !strings.Contains(hangar.ErrorMessage(err), tt.wantErr) {
					t.Errorf("got %v, want EINVALID %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || path != tt.wantPath || local != tt.wantLocal {
				t.Errorf("got %q, %v, %v; want %q, %v", path, local, err, tt.wantPath, tt.wantLocal)
			}
		})
	}
}

// FuzzBatchLocalInput: a reference is never taken for a local path, and
// a local path is never empty.
func FuzzBatchLocalInput(f *testing.F) {
	for _, s := range []string{"azureml:rides@latest", "./x.csv", "file:", "file:///a", "https://x/y", "rides:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, input string) {
		path, local, err := batchLocalInput(input)
		if err != nil {
			if local || path != "" || !hangar.IsCode(err, hangar.EINVALID) {
				t.Errorf("%q: got %q, %v, %v", input, path, local, err)
			}
			return
		}
		if local == (path == "") {
			t.Errorf("%q: got path %q, local %v", input, path, local)
		}
		if local && strings.HasPrefix(input, "azureml:") {
			t.Errorf("%q: a reference taken for local path %q", input, path)
		}
	})
}
