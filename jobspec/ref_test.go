package jobspec

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hangar-ml/hangar"
)

// TestParseRefHangar: the hangar: short form names a built-in component
// exactly as its azureml://registries/hangar/… reference does.
func TestParseRefHangar(t *testing.T) {
	builtin := func(name, version, label string) Ref {
		return Ref{Registry: HangarRegistry, Kind: "components", Name: name, Version: version, Label: label}
	}
	tests := []struct {
		in     string
		files  bool
		want   Ref
		canon  string // want.String()
		errMsg string
	}{
		{"hangar:train_gbdt:1", true, builtin("train_gbdt", "1", ""), "azureml://registries/hangar/components/train_gbdt/versions/1", ""},
		{"hangar:train_gbdt@latest", true, builtin("train_gbdt", "", "latest"), "azureml://registries/hangar/components/train_gbdt/labels/latest", ""},
		{"hangar:split", true, builtin("split", "", "latest"), "azureml://registries/hangar/components/split/labels/latest", ""},
		{"azureml://registries/hangar/components/split/labels/latest", true, builtin("split", "", "latest"), "azureml://registries/hangar/components/split/labels/latest", ""},
		{"hangar:train_gbdt:", true, Ref{}, "", `reference "hangar:train_gbdt:": no version after the colon`},
		{"hangar:train_gbdt@", true, Ref{}, "", `reference "hangar:train_gbdt@": no label after @ (e.g. @latest)`},
		{"hangar:", true, Ref{}, "", `reference "hangar:": "" is not an asset name (letters, digits, _ . -)`},
		{"hangar:a:b:c", true, Ref{}, "", `reference "hangar:a:b:c": "b:c" is not a version`},
		{"hangar:train_gbdt:1", false, Ref{}, "", `"hangar:train_gbdt:1" is not a reference: want azureml:<name>:<version> or azureml:<name>@latest`},
		// A file path that starts with hangar is still a file.
		{"./hangar:x.yml", true, Ref{File: "./hangar:x.yml"}, "./hangar:x.yml", ""},
	}
	for _, tt := range tests {
		got, err := ParseRef(tt.in, tt.files)
		if msg := hangar.ErrorMessage(err); msg != tt.errMsg {
			t.Errorf("ParseRef(%q) error %q, want %q", tt.in, msg, tt.errMsg)
			continue
		}
		if err != nil {
			if !hangar.IsCode(err, hangar.EINVALID) {
				t.Errorf("ParseRef(%q) error code %s, want %s", tt.in, hangar.ErrorCode(err), hangar.EINVALID)
			}
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ParseRef(%q) (-want +got):\n%s", tt.in, diff)
		}
		if s := got.String(); s != tt.canon {
			t.Errorf("ParseRef(%q).String() = %q, want %q", tt.in, s, tt.canon)
		}
	}
}

// FuzzParseRef parses any string as a reference, with and without file
// references allowed: it fails with EINVALID or succeeds, and a parsed
// reference other than a file reads back to itself from its String form.
func FuzzParseRef(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		for _, files := range []bool{false, true} {
			r, err := ParseRef(s, files)
			if err != nil {
				if !hangar.IsCode(err, hangar.EINVALID) {
					t.Fatalf("ParseRef(%q, %v): error %v, want code %s", s, files, err, hangar.EINVALID)
				}
				continue
			}
			if r.IsFile() {
				continue
			}
			back, err := ParseRef(r.String(), files)
			if err != nil {
				t.Fatalf("ParseRef(%q, %v) = %+v, whose String %q does not parse: %v", s, files, r, r.String(), err)
			}
			if back != r {
				t.Fatalf("ParseRef(%q, %v) = %+v; its String %q reads back as %+v", s, files, r, r.String(), back)
			}
		}
	})
}

// TestRefCurated: Azure's curated environments are named by registry
// azureml or by an AzureML- name; nothing else is.
func TestRefCurated(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want bool
	}{
		{"azureml://registries/azureml/environments/sklearn-1.5/labels/latest", true},
		{"azureml:AzureML-sklearn-1.0-ubuntu20.04-py38-cpu:1", true},
		{"azureml:AzureML-sklearn-1.0-ubuntu20.04-py38-cpu@latest", true},
		{"azureml:sklearn-env:1", false},
		{"azureml://registries/other/environments/sklearn/versions/1", false},
		{"azureml:azureml-lower:1", false},
	} {
		r, err := ParseRef(tt.in, false)
		if err != nil {
			t.Fatalf("ParseRef(%q): %v", tt.in, err)
		}
		if got := r.Curated(); got != tt.want {
			t.Errorf("ParseRef(%q).Curated() = %v, want %v", tt.in, got, tt.want)
		}
	}
}
