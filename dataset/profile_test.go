package dataset_test

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/artifact"
	"github.com/hangar-ml/hangar/dataset"
	"github.com/hangar-ml/hangar/disk"
	"github.com/hangar-ml/hangar/profile"
)

// streamOnly hides everything of a store's readers but Read and Close, as
// a remote store's would be: Parquet is then spooled.
type streamOnly struct{ hangar.BlobStore }

func (s streamOnly) Open(ctx context.Context, d hangar.Digest) (io.ReadCloser, error) {
	rc, err := s.BlobStore.Open(ctx, d)
	return struct{ io.ReadCloser }{rc}, err
}

func TestProfileParquet(t *testing.T) {
	ctx := t.Context()
	src := filepath.Join("..", "tabular", "testdata", "chicago40.parquet")
	want, err := profile.File(ctx, src, profile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	store := disk.New(t.TempDir())
	_, m, err := artifact.UploadFile(ctx, store, os.DirFS(filepath.Dir(src)), filepath.Base(src), artifact.UploadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for name, bs := range map[string]hangar.BlobStore{"in place": store, "spooled": streamOnly{store}} {
		got, err := dataset.Profile(ctx, bs, hangar.DataURIFile, m)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		p, err := profile.Decode([]byte(got))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		a, _ := json.Marshal(p)
		b, _ := json.Marshal(want)
		if string(a) != string(b) {
			t.Errorf("%s: profile from the blob store differs from profile.File's", name)
		}
	}
	// No table, no profile.
	none := &hangar.Manifest{Files: []hangar.ManifestEntry{{Path: "a.txt"}}}
	if got, err := dataset.Profile(ctx, store, hangar.DataURIFolder, none); got != "" || err != nil {
		t.Errorf("Profile of a folder without a table = %q, %v; want nothing", got, err)
	}
}

// TestProfileCSVParts: the CSV parts of a folder are one table when their
// header lines agree (a part without a final newline included), and no
// table when they do not.
func TestProfileCSVParts(t *testing.T) {
	ctx := t.Context()
	store := disk.New(t.TempDir())
	upload := func(files fstest.MapFS) *hangar.Manifest {
		t.Helper()
		_, m, err := artifact.UploadDir(ctx, store, files, artifact.UploadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	whole, err := profile.CSV(ctx, strings.NewReader("x,s\n1,a\n2,b\n3,a\n4,c\n"), profile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(whole)
	parts := upload(fstest.MapFS{
		"part-0.csv": {Data: []byte("x,s\n1,a\n2,b")}, // no final newline
		"part-1.csv": {Data: []byte("x,s\r\n3,a\n")},
		"part-2.csv": {Data: []byte("x,s\n4,c\n")},
	})
	got, err := dataset.Profile(ctx, store, hangar.DataURIFolder, parts)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("profile of the parts\n%s\nwant that of the whole table\n%s", got, want)
	}
	mixed := upload(fstest.MapFS{"a.csv": {Data: []byte("x,s\n1,a\n")}, "b.csv": {Data: []byte("y,s\n1,a\n")}})
	if got, err := dataset.Profile(ctx, store, hangar.DataURIFolder, mixed); got != "" || err != nil {
		t.Errorf("parts with different headers: profile %q, %v; want none", got, err)
	}
	bad := upload(fstest.MapFS{"a.csv": {Data: []byte("x,s\n1,\"a\n")}})
	if _, err := dataset.Profile(ctx, store, hangar.DataURIFile, bad); !hangar.IsCode(err, hangar.EINVALID) || !strings.Contains(err.Error(), "a.csv") {
		t.Errorf("a malformed CSV: got %v, want EINVALID naming a.csv", err)
	}
}
