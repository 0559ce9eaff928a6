package hangar

import (
	"strings"
	"testing"
)

func TestParseDatastoreURI(t *testing.T) {
	tests := []struct {
		in       string
		ds, path string
		bad      bool
	}{
		{in: "azureml://datastores/workspaceblobstore/paths/a/b.csv", ds: "workspaceblobstore", path: "a/b.csv"},
		{in: "azureml://datastores/shared/paths/folder/", ds: "shared", path: "folder"},
		{in: "azureml://datastores/shared/paths/", ds: "shared", path: ""},
		{in: "azureml://datastores/shared/paths", ds: "shared", path: ""},
		{in: "azureml://datastores/s.1_x-y/paths/a b/c", ds: "s.1_x-y", path: "a b/c"},
		{in: "", bad: true},
		{in: "azureml://datastores/", bad: true},
		{in: "azureml://datastores/shared", bad: true},
		{in: "azureml://datastores/shared/files/a", bad: true},
		{in: "azureml://datastores/-x/paths/a", bad: true},
		{in: "azureml://datastores/shared/paths/../a", bad: true},
		{in: "azureml://datastores/shared/paths/a//b", bad: true},
		{in: "azureml://datastores/shared/paths/./a", bad: true},
		{in: "azureml://datastores/shared/paths//a", bad: true},
		{in: "azureml://datastores/shared/paths/a\\b", bad: true},
		{in: "azureml://datastores/shared/paths/a\x00", bad: true},
		{in: "azureml://jobs/j/outputs/o/paths/a", bad: true},
		{in: "azureml:iris:1", bad: true},
		{in: "azureml://datastores/shared/paths/" + strings.Repeat("a", MaxDataPathLength), bad: true},
	}
	for _, tt := range tests {
		ds, p, err := ParseDatastoreURI(tt.in)
		if tt.bad {
			if !IsCode(err, EINVALID) {
				t.Errorf("ParseDatastoreURI(%q): got %q, %q, %v; want EINVALID", tt.in, ds, p, err)
			}
			continue
		}
		if err != nil || ds != tt.ds || p != tt.path {
			t.Errorf("ParseDatastoreURI(%q): got %q, %q, %v; want %q, %q", tt.in, ds, p, err, tt.ds, tt.path)
		}
		if ds2, p2, err := ParseDatastoreURI(DatastoreURI(ds, p)); err != nil || ds2 != ds || p2 != p {
			t.Errorf("ParseDatastoreURI(DatastoreURI(%q, %q)): got %q, %q, %v", ds, p, ds2, p2, err)
		}
	}
}

func FuzzParseDatastoreURI(f *testing.F) {
	for _, s := range []string{"azureml://datastores/a/paths/b/c", "azureml://datastores/a/paths/", "azureml://datastores/a/paths/../b", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ds, p, err := ParseDatastoreURI(s)
		if err != nil {
			if !IsCode(err, EINVALID) {
				t.Fatalf("ParseDatastoreURI(%q): got %v, want EINVALID", s, err)
			}
			return
		}
		if ValidateName("datastore", ds) != nil || (p != "" && ValidateManifestPath(p) != nil) {
			t.Fatalf("ParseDatastoreURI(%q): got %q, %q, which do not validate", s, ds, p)
		}
		ds2, p2, err := ParseDatastoreURI(DatastoreURI(ds, p))
		if err != nil || ds2 != ds || p2 != p {
			t.Fatalf("round trip of %q: got %q, %q, %v; want %q, %q", s, ds2, p2, err, ds, p)
		}
	})
}

func TestDataVersionNumber(t *testing.T) {
	tests := []struct {
		in   string
		n    int64
		isNo bool
	}{
		{"1", 1, true}, {"42", 42, true}, {"999999999999999999", 999999999999999999, true},
		{"", 0, false}, {"0", 0, false}, {"007", 0, false}, {"v2", 0, false}, {"1.0", 0, false},
		{"-1", 0, false}, {"+1", 0, false}, {"1000000000000000000", 0, false},
	}
	for _, tt := range tests {
		if n, ok := DataVersionNumber(tt.in); n != tt.n || ok != tt.isNo {
			t.Errorf("DataVersionNumber(%q): got %d, %t; want %d, %t", tt.in, n, ok, tt.n, tt.isNo)
		}
	}
}

func TestValidateDataVersion(t *testing.T) {
	for _, v := range []string{"1", "v2", "2024.01.02", "_x", "a-b", strings.Repeat("9", MaxDataVersionLength)} {
		if err := ValidateDataVersion(v); err != nil {
			t.Errorf("ValidateDataVersion(%q): got %v, want nil", v, err)
		}
	}
	for _, v := range []string{"", "latest", ".1", "-1", "1/2", "1:2", "a@b", "é", strings.Repeat("9", MaxDataVersionLength+1)} {
		if err := ValidateDataVersion(v); !IsCode(err, EINVALID) {
			t.Errorf("ValidateDataVersion(%q): got %v, want EINVALID", v, err)
		}
	}
}

func TestDataAssetValidate(t *testing.T) {
	d := Digest("sha256:" + strings.Repeat("ab", 32))
	ok := func() DataAsset {
		return DataAsset{Name: "iris", Type: DataURIFolder, Path: string(d), Manifest: BlobInfo{Digest: d, Size: 10}, Size: 5, FileCount: 2}
	}
	tests := []struct {
		name string
		edit func(a *DataAsset)
		want string // part of the message, "" for valid
	}{
		{"upload", func(a *DataAsset) {}, ""},
		{"on a datastore, hashed", func(a *DataAsset) { a.Path = DatastoreURI("s", "x") }, ""},
		{"on a datastore, not hashed", func(a *DataAsset) { a.Path, a.Manifest, a.Size, a.FileCount = DatastoreURI("s", "x"), BlobInfo{}, 0, 0 }, ""},
		{"mltable", func(a *DataAsset) { a.Type = DataMLTable }, ""},
		{"uri_file", func(a *DataAsset) { a.Type, a.FileCount = DataURIFile, 1 }, ""},
		{"profile", func(a *DataAsset) { a.Profile = `{"columns":[]}` }, ""},
		{"no type", func(a *DataAsset) { a.Type = "" }, `invalid data asset type ""`},
		{"name", func(a *DataAsset) { a.Name = "a b" }, `invalid data asset name "a b"`},
		{"version", func(a *DataAsset) { a.Version = "a b" }, `invalid version "a b"`},
		{"upload without manifest", func(a *DataAsset) { a.Manifest = BlobInfo{} }, "they must be equal"},
		{"uri_file of two", func(a *DataAsset) { a.Type = DataURIFile }, "holds one file, not 2"},
		{"http path", func(a *DataAsset) { a.Path = "https://x/y" }, "invalid path"},
		{"default datastore path", func(a *DataAsset) { a.Path = DatastoreURI(DefaultDatastore, "x") }, "named by its digest"},
		{"profile too large", func(a *DataAsset) { a.Profile = `"` + strings.Repeat("x", MaxDataProfileSize) + `"` }, "profile is"},
		{"profile lone surrogate", func(a *DataAsset) { a.Profile = `"\ud800"` }, "surrogate"},
		{"too many tags", func(a *DataAsset) {
			a.Tags = map[string]string{}
			for i := range 51 {
				a.Tags[strings.Repeat("k", i+1)] = ""
			}
		}, "51 tags; the limit is 50"},
	}
	for _, tt := range tests {
		a := ok()
		tt.edit(&a)
		err := a.Validate()
		if tt.want == "" {
			if err != nil {
				t.Errorf("%s: got %v, want nil", tt.name, err)
			}
			continue
		}
		if !IsCode(err, EINVALID) || !strings.Contains(ErrorMessage(err), tt.want) {
			t.Errorf("%s: got %v, want EINVALID holding %q", tt.name, err, tt.want)
		}
	}
}

func TestDatastoreValidate(t *testing.T) {
	tests := []struct {
		name string
		d    Datastore
		code string
	}{
		{"local", Datastore{Name: "shared", Type: DatastoreLocal, Root: "/srv/data"}, ""},
		{"default", Datastore{Name: DefaultDatastore, Type: DatastoreLocal, Root: "/srv"}, ECONFLICT},
		{"artifact store", Datastore{Name: "x", Type: DatastoreArtifactStore}, EINVALID},
		{"no root", Datastore{Name: "x", Type: DatastoreLocal}, EINVALID},
		{"relative root", Datastore{Name: "x", Type: DatastoreLocal, Root: "srv"}, EINVALID},
		{"trailing slash", Datastore{Name: "x", Type: DatastoreLocal, Root: "/srv/"}, EINVALID},
		{"bad name", Datastore{Name: "", Type: DatastoreLocal, Root: "/srv"}, EINVALID},
		{"long description", Datastore{Name: "x", Type: DatastoreLocal, Root: "/srv", Description: strings.Repeat("x", MaxDataDescriptionLength+1)}, EINVALID},
	}
	for _, tt := range tests {
		if got := ErrorCode(tt.d.Validate()); got != tt.code {
			t.Errorf("%s: got code %q, want %q", tt.name, got, tt.code)
		}
	}
}
