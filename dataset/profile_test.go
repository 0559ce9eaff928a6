package dataset_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
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

// FuzzProfileCSVParts: two CSV parts profile as one table, as no table
// (their headers differ), or fail EINVALID; never a panic, and a profile
// is one profile.Decode accepts.
func FuzzProfileCSVParts(f *testing.F) {
	f.Add([]byte("x,s\n1,a\n"), []byte("x,s\n2,b\n"))
	f.Add([]byte("x\n1"), []byte("x\r\n2\r\n"))
	f.Add([]byte("a,b\n"), []byte("c\n\"\n"))
	store := disk.New(f.TempDir())
	f.Fuzz(func(t *testing.T, a, b []byte) {
		ctx := t.Context()
		m := &hangar.Manifest{Version: hangar.ManifestVersion}
		for i, part := range [][]byte{a, b} {
			info, err := store.Put(ctx, bytes.NewReader(part))
			if err != nil {
				t.Fatal(err)
			}
			m.Files = append(m.Files, hangar.ManifestEntry{Path: fmt.Sprintf("part-%d.csv", i), Digest: info.Digest, Size: info.Size})
		}
		got, err := dataset.Profile(ctx, store, hangar.DataURIFolder, m)
		if err != nil {
			if !hangar.IsCode(err, hangar.EINVALID) {
				t.Fatalf("error %v, want EINVALID", err)
			}
			return
		}
		if got != "" {
			if _, err := profile.Decode([]byte(got)); err != nil {
				t.Fatalf("profile %s does not decode: %v", got, err)
			}
		}
	})
}
