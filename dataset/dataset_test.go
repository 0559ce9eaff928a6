package dataset_test

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/artifact"
	"github.com/hangar-ml/hangar/dataset"
	"github.com/hangar-ml/hangar/disk"
	"github.com/hangar-ml/hangar/internal/storetest"
	"github.com/hangar-ml/hangar/sqlstore"
)

// newResolver returns a resolver over a fresh SQLite store and disk blob
// store, with a local datastore "files" whose root holds the returned
// folder's files.
func newResolver(t *testing.T) (*dataset.Resolver, string) {
	t.Helper()
	dir := t.TempDir()
	db := sqlstore.New(filepath.Join(dir, "hangar.db"))
	db.Sealer = storetest.NewSealer()
	if err := db.Open(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	r := &dataset.Resolver{Data: sqlstore.NewDataService(db), Blobs: disk.New(filepath.Join(dir, "blobs")), Artifacts: sqlstore.NewArtifactIndex(db)}
	root := filepath.Join(dir, "files")
	writeFiles(t, root, map[string]string{"t.csv": "a,b\n1,x\n2,y\n", "sub/n.txt": "n", "sub/MLTable": "paths: []"})
	if err := os.Symlink(dir, filepath.Join(root, "escape")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("n.txt", filepath.Join(root, "sub", "link.txt")); err != nil {
		t.Fatal(err)
	}
	if err := r.Data.CreateDatastore(t.Context(), hangar.DefaultWorkspace, &hangar.Datastore{Name: "files", Type: hangar.DatastoreLocal, Root: root}); err != nil {
		t.Fatal(err)
	}
	return r, root
}

func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestStage(t *testing.T) {
	r, _ := newResolver(t)
	ctx := t.Context()
	ws := hangar.DefaultWorkspace
	snap, err := r.Snapshot(ctx, ws, "azureml://datastores/files/paths/t.csv", hangar.DataURIFile)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Data.CreateDataVersion(ctx, ws, &hangar.DataAsset{Name: "t", Version: "1", Type: hangar.DataURIFile,
		Path: string(snap.Manifest.Digest), Manifest: snap.Manifest, Size: snap.Files.TotalSize(), FileCount: 1}); err != nil {
		t.Fatal(err)
	}
	// The default datastore's paths are the workspace's artifact paths.
	info, err := r.Blobs.Put(ctx, bytes.NewReader([]byte("logged")))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Artifacts.PutArtifact(ctx, ws, "azureml/job1/out/model.txt", info); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		src  string
		want string // the staged path, relative to dst
		file string // a file below dst and its content
		body string
	}{
		{"azureml:t:1", "t.csv", "t.csv", "a,b\n1,x\n2,y\n"},
		{"t@latest", "t.csv", "t.csv", "a,b\n1,x\n2,y\n"},
		{"azureml://datastores/files/paths/sub", ".", "MLTable", "paths: []"},
		{"azureml://datastores/files/paths/sub", ".", "link.txt", "n"}, // a link inside the root: its file
		{"azureml://datastores/files/paths/t.csv", "t.csv", "t.csv", "a,b\n1,x\n2,y\n"},
		{"azureml://datastores/workspaceblobstore/paths/azureml/job1", ".", "out/model.txt", "logged"},
		{"azureml://datastores/workspaceblobstore/paths/azureml/job1/out/model.txt", "model.txt", "model.txt", "logged"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			dst := filepath.Join(t.TempDir(), "in")
			got, err := r.Stage(ctx, ws, tt.src, dst)
			if err != nil {
				t.Fatalf("Stage(%s): %v", tt.src, err)
			}
			if want := filepath.Join(dst, tt.want); got != want {
				t.Errorf("Stage(%s) = %s, want %s", tt.src, got, want)
			}
			b, err := os.ReadFile(filepath.Join(dst, filepath.FromSlash(tt.file)))
			if err != nil || string(b) != tt.body {
				t.Errorf("%s after Stage(%s) = %q, %v; want %q", tt.file, tt.src, b, err, tt.body)
			}
		})
	}

	bad := []struct {
		src, code string
	}{
		{"azureml://datastores/files/paths/escape", hangar.EINVALID},
		{"azureml://datastores/files/paths/", hangar.EINVALID}, // the root holds the escaping link
		{"azureml://datastores/files/paths/escape/hangar.db", hangar.EINVALID},
		{"azureml://datastores/files/paths/../x", hangar.EINVALID},
		{"azureml://datastores/files/paths/none", hangar.ENOTFOUND},
		{"azureml://datastores/ghost/paths/x", hangar.ENOTFOUND},
		{"azureml://datastores/workspaceblobstore/paths/none", hangar.ENOTFOUND},
		{"t:2", hangar.ENOTFOUND},
		{"t@newest", hangar.EINVALID},
		{"t", hangar.EINVALID},
	}
	for _, tt := range bad {
		if _, err := r.Stage(ctx, ws, tt.src, filepath.Join(t.TempDir(), "x")); hangar.ErrorCode(err) != tt.code {
			t.Errorf("Stage(%s): got %v, want %s", tt.src, err, tt.code)
		}
	}
}

func TestSnapshot(t *testing.T) {
	r, root := newResolver(t)
	ctx := t.Context()
	ws := hangar.DefaultWorkspace
	snap, err := r.Snapshot(ctx, ws, "azureml://datastores/files/paths/sub", hangar.DataMLTable)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(snap.Files.Files); got != 3 || len(snap.Blobs) != 2 {
		t.Errorf("snapshot of sub: %d files, %d blobs; want 3 (link.txt is n.txt) and 2", got, len(snap.Blobs))
	}
	// Later edits do not change a snapshot, and the same content hashes
	// the same.
	again, err := r.Snapshot(ctx, ws, "azureml://datastores/files/paths/sub", hangar.DataURIFolder)
	if err != nil || again.Manifest != snap.Manifest {
		t.Errorf("second snapshot %v (%v), want %v", again.Manifest, err, snap.Manifest)
	}
	writeFiles(t, root, map[string]string{"sub/n.txt": "changed"})
	dst := t.TempDir()
	if err := artifact.GetDir(ctx, r.Blobs, snap.Manifest.Digest, dst); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dst, "n.txt")); string(b) != "n" {
		t.Errorf("n.txt of the snapshot = %q, want n", b)
	}
	kinds := []struct{ uri, typ string }{
		{"azureml://datastores/files/paths/sub", hangar.DataURIFile},
		{"azureml://datastores/files/paths/t.csv", hangar.DataURIFolder},
		{"azureml://datastores/files/paths/", hangar.DataMLTable},
	}
	for _, k := range kinds {
		if _, err := r.Snapshot(ctx, ws, k.uri, k.typ); !hangar.IsCode(err, hangar.EINVALID) {
			t.Errorf("Snapshot(%s as %s): got %v, want EINVALID", k.uri, k.typ, err)
		}
	}
}

func TestTableFiles(t *testing.T) {
	tests := []struct {
		typ   string
		files []string
		want  []string
	}{
		{hangar.DataURIFile, []string{"a.csv"}, []string{"a.csv"}},
		{hangar.DataURIFile, []string{"a.PARQUET"}, []string{"a.PARQUET"}},
		{hangar.DataURIFile, []string{"a.json"}, nil},
		{hangar.DataURIFolder, []string{"README.md", "data/a.pq"}, []string{"data/a.pq"}},
		{hangar.DataURIFolder, []string{".hidden.csv", "a.csv"}, []string{"a.csv"}},
		{hangar.DataURIFolder, []string{"a.csv", "b.csv"}, []string{"a.csv", "b.csv"}},
		{hangar.DataURIFolder, []string{"a.csv", "b.parquet"}, nil},
		{hangar.DataURIFolder, []string{"a.parquet", "b.parquet"}, nil},
		{hangar.DataMLTable, []string{"MLTable", "train.csv"}, []string{"train.csv"}},
	}
	for _, tt := range tests {
		m := &hangar.Manifest{}
		for _, f := range tt.files {
			m.Files = append(m.Files, hangar.ManifestEntry{Path: f})
		}
		got, ok := dataset.TableFiles(tt.typ, m)
		var paths []string
		for _, e := range got {
			paths = append(paths, e.Path)
		}
		if !slices.Equal(paths, tt.want) || ok != (tt.want != nil) {
			t.Errorf("TableFiles(%s, %v) = %q, %v; want %q", tt.typ, tt.files, paths, ok, tt.want)
		}
	}
}

func TestParseRef(t *testing.T) {
	tests := []struct {
		in, name, version string
		bad               bool
	}{
		{in: "azureml:iris:1", name: "iris", version: "1"},
		{in: "iris:v2.1", name: "iris", version: "v2.1"},
		{in: "azureml:iris@latest", name: "iris", version: "latest"},
		{in: "iris@latest", name: "iris", version: "latest"},
		{in: "iris@prod", bad: true},
		{in: "iris", bad: true},
		{in: "iris:", bad: true},
		{in: ":1", bad: true},
		{in: "iris:latest", bad: true},
		{in: "azureml://datastores/x/paths/y", bad: true},
	}
	for _, tt := range tests {
		name, version, err := dataset.ParseRef(tt.in)
		if tt.bad {
			if !hangar.IsCode(err, hangar.EINVALID) {
				t.Errorf("ParseRef(%q) = %q, %q, %v; want EINVALID", tt.in, name, version, err)
			}
			continue
		}
		if err != nil || name != tt.name || version != tt.version {
			t.Errorf("ParseRef(%q) = %q, %q, %v; want %q, %q", tt.in, name, version, err, tt.name, tt.version)
		}
	}
}

// FuzzParseRef: a reference parses into a valid name and version, or is
// EINVALID; never a panic.
func FuzzParseRef(f *testing.F) {
	for _, s := range []string{"azureml:iris:1", "iris@latest", "a:b:c", "@", ":"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		name, version, err := dataset.ParseRef(s)
		if err != nil {
			if !hangar.IsCode(err, hangar.EINVALID) {
				t.Fatalf("ParseRef(%q): %v, want EINVALID", s, err)
			}
			return
		}
		if hangar.ValidateName("data asset", name) != nil {
			t.Fatalf("ParseRef(%q) gave an invalid name %q", s, name)
		}
		if version != hangar.LatestLabel && hangar.ValidateDataVersion(version) != nil {
			t.Fatalf("ParseRef(%q) gave an invalid version %q", s, version)
		}
	})
}
