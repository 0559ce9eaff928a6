package dataset_test

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"

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
