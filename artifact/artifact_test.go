package artifact_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/artifact"
	"github.com/hangar-ml/hangar/disk"
	"github.com/hangar-ml/hangar/internal/blobtest"
)

const (
	dHello = "sha256:5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03" // "hello\n"
	dEmpty = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)

func newStore(t testing.TB) *disk.BlobStore {
	return disk.New(filepath.Join(t.TempDir(), "store"))
}

func TestPutDirErrors(t *testing.T) {
	link := func(target string) *fstest.MapFile {
		return &fstest.MapFile{Data: []byte(target), Mode: fs.ModeSymlink | 0o777}
	}
	file := &fstest.MapFile{Data: []byte("hello\n")}
	tests := []struct {
		name    string
		fsys    fs.FS
		code    string
		wantErr string
	}{
		{"link up and out", fstest.MapFS{"a": file, "l": link("../outside")}, hangar.EINVALID, "points outside the folder"},
		{"link deep out", fstest.MapFS{"d/e/l": link("../../../x")}, hangar.EINVALID, "points outside the folder"},
		{"absolute link", fstest.MapFS{"l": link("/etc/passwd")}, hangar.EINVALID, "points outside the folder"},
		{"link via dir out", fstest.MapFS{"sub/f": file, "l": link("sub/../../x")}, hangar.EINVALID, "points outside the folder"},
		{"dir link used by a file link", fstest.MapFS{"sub/f": file, "l": link("dl/f"), "dl": link("sub")}, hangar.EINVALID, "to a directory"},
		{"dangling link", fstest.MapFS{"l": link("nothing")}, hangar.EINVALID, "does not exist"},
		{"link to dir", fstest.MapFS{"d/f": file, "l": link("d")}, hangar.EINVALID, "to a directory"},
		{"link to root", fstest.MapFS{"d/l": link("..")}, hangar.EINVALID, "folder itself"},
		{"link loop", fstest.MapFS{"x": link("y"), "y": link("x")}, hangar.EINVALID, "too many levels"},
		{"named pipe", fstest.MapFS{"p": {Mode: fs.ModeNamedPipe | 0o644}}, hangar.EINVALID, "not a regular file"},
		{"device", fstest.MapFS{"dev": {Mode: fs.ModeDevice | 0o644}}, hangar.EINVALID, "not a regular file"},
		{"backslash name", fstest.MapFS{`a\b`: file}, hangar.EINVALID, "backslash"},
		{"control char name", fstest.MapFS{"a\nb": file}, hangar.EINVALID, "control character"},
		{"link without ReadLinkFS", noLinks{fstest.MapFS{"l": link("a"), "a": file}}, hangar.EINVALID, "cannot read links"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			_, _, err := artifact.PutDir(t.Context(), s, tt.fsys)
			if !hangar.IsCode(err, tt.code) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("PutDir error = %v (code %s), want %s containing %q", err, hangar.ErrorCode(err), tt.code, tt.wantErr)
			}
		})
	}
}

// noLinks hides the ReadLinkFS methods of a file system.
type noLinks struct{ fsys fs.FS }

func (n noLinks) Open(name string) (fs.File, error) { return n.fsys.Open(name) }

func TestPutDirLinksInside(t *testing.T) {
	fsys := fstest.MapFS{
		"a.txt":    {Data: []byte("hello\n")},
		"d/l1":     {Data: []byte("../l2"), Mode: fs.ModeSymlink},
		"l2":       {Data: []byte("sub/../a.txt"), Mode: fs.ModeSymlink},
		"sub/x":    {Data: []byte("x")},
		"sub/up/x": {Data: []byte("x")},
		"via-dir":  {Data: []byte("sub/up/../x"), Mode: fs.ModeSymlink},
	}
	_, m, err := artifact.PutDir(t.Context(), newStore(t), fsys)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]hangar.Digest{}
	for _, e := range m.Files {
		got[e.Path] = e.Digest
	}
	want := map[string]hangar.Digest{
		"a.txt": dHello, "d/l1": dHello, "l2": dHello,
		"sub/x": blobtest.DigestOf([]byte("x")), "sub/up/x": blobtest.DigestOf([]byte("x")), "via-dir": blobtest.DigestOf([]byte("x")),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("PutDir files = %v, want %v", got, want)
	}
}

// TestPutDirRealLinks runs link handling on a real folder, both through
// os.DirFS and os.Root's FS.
func TestPutDirRealLinks(t *testing.T) {
	mk := func(t *testing.T, links map[string]string) string {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "a.txt"), []byte("hello\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		for name, target := range links {
			p := filepath.Join(dir, name)
			os.MkdirAll(filepath.Dir(p), 0o755)
			if err := os.Symlink(target, p); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	outside := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(outside, []byte("do not upload"), 0o644)

	tests := []struct {
		name    string
		links   map[string]string
		wantErr string
	}{
		{"inside", map[string]string{"d/l": "../a.txt"}, ""},
		{"absolute outside", map[string]string{"l": outside}, "points outside the folder"},
		{"relative outside", map[string]string{"d/l": "../../" + filepath.Base(filepath.Dir(outside)) + "/secret"}, "points outside the folder"},
		{"dir link outside", map[string]string{"l": filepath.Dir(outside)}, "points outside the folder"},
	}
	for _, tt := range tests {
		for _, via := range []string{"DirFS", "Root"} {
			t.Run(tt.name+"/"+via, func(t *testing.T) {
				dir := mk(t, tt.links)
				fsys := os.DirFS(dir)
				if via == "Root" {
					r, err := os.OpenRoot(dir)
					if err != nil {
						t.Fatal(err)
					}
					defer r.Close()
					fsys = r.FS()
				}
				_, m, err := artifact.PutDir(t.Context(), newStore(t), fsys)
				if tt.wantErr == "" {
					if err != nil {
						t.Fatal(err)
					}
					for _, e := range m.Files {
						if e.Digest != dHello {
							t.Errorf("%s stored as %s, want %s", e.Path, e.Digest, dHello)
						}
					}
					return
				}
				if !hangar.IsCode(err, hangar.EINVALID) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("PutDir error = %v, want EINVALID containing %q", err, tt.wantErr)
				}
			})
		}
	}
}

func TestPutDirRealFIFO(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(dir, "pipe"), 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	_, _, err := artifact.PutDir(t.Context(), newStore(t), os.DirFS(dir))
	if !hangar.IsCode(err, hangar.EINVALID) || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("PutDir with a FIFO: %v, want EINVALID not a regular file", err)
	}
}

func TestPutDirCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, _, err := artifact.PutDir(ctx, newStore(t), blobtest.Folder())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("PutDir with a cancelled context: %v", err)
	}
}

// TestGetDirStaysInside checks that a link already in the destination
// cannot redirect GetDir's writes out of it.
func TestGetDirStaysInside(t *testing.T) {
	s := newStore(t)
	info, _, err := artifact.PutDir(t.Context(), s, fstest.MapFS{"out/evil.txt": {Data: []byte("hello\n")}})
	if err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir()
	outside := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(dst, "out")); err != nil {
		t.Fatal(err)
	}
	if err := artifact.GetDir(t.Context(), s, info.Digest, dst); err == nil {
		t.Fatal("GetDir wrote through a link out of the destination")
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Fatalf("GetDir wrote outside the destination: %v", entries)
	}
}

// TestGetDirRejectsHostileManifest stores manifests that PutDir would never
// write and checks GetDir refuses them without writing anything.
func TestGetDirRejectsHostileManifest(t *testing.T) {
	s := newStore(t)
	if _, err := s.Put(t.Context(), strings.NewReader("hello\n")); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"../evil", "/tmp/evil", "a/../../evil", `..\evil`} {
		t.Run(p, func(t *testing.T) {
			data := `{"version":1,"files":[{"path":` + quote(p) + `,"digest":"` + dHello + `","size":6}]}`
			info, err := s.Put(t.Context(), strings.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			parent := t.TempDir()
			dst := filepath.Join(parent, "dst")
			err = artifact.GetDir(t.Context(), s, info.Digest, dst)
			if !hangar.IsCode(err, hangar.EINVALID) {
				t.Fatalf("GetDir = %v, want %s", err, hangar.EINVALID)
			}
			if entries, _ := os.ReadDir(parent); len(entries) != 0 {
				t.Errorf("GetDir wrote %v", entries)
			}
		})
	}
}

func quote(s string) string {
	return `"` + strings.ReplaceAll(s, `\`, `\\`) + `"`
}

func TestReadManifestChecksDigest(t *testing.T) {
	s := newStore(t)
	info, _, err := artifact.PutDir(t.Context(), s, fstest.MapFS{"a": {Data: []byte("hello\n")}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Path(t.Context(), info.Digest)
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(p, 0o644)
	data, _ := os.ReadFile(p)
	// Still a valid manifest, but not the one the digest names.
	os.WriteFile(p, bytes.Replace(data, []byte(`"a"`), []byte(`"b"`), 1), 0o644)
	if _, err := artifact.ReadManifest(t.Context(), s, info.Digest); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Fatalf("ReadManifest of altered content: %v, want a mismatch error", err)
	}
}

// FuzzReadManifest stores fuzzed bytes and reads them as a manifest, then
// materialises whatever was accepted: nothing may be written outside the
// destination.
func FuzzReadManifest(f *testing.F) {
	for _, s := range blobtest.ManifestSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s := newStore(t)
		// The files of the seeds exist, so accepted manifests materialise.
		s.Put(t.Context(), strings.NewReader("hello\n"))
		s.Put(t.Context(), strings.NewReader(""))
		info, err := s.Put(t.Context(), bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		m, err := artifact.ReadManifest(t.Context(), s, info.Digest)
		if _, perr := hangar.ParseManifest(data); (err == nil) != (perr == nil) {
			t.Fatalf("ReadManifest error %v, ParseManifest error %v", err, perr)
		}
		if err != nil {
			return
		}
		parent := t.TempDir()
		dst := filepath.Join(parent, "dst")
		err = artifact.GetDir(t.Context(), s, info.Digest, dst)
		if err != nil && !hangar.IsCode(err, hangar.ENOTFOUND) && !strings.Contains(err.Error(), "does not match") {
			t.Fatalf("GetDir of an accepted manifest: %v", err)
		}
		entries, _ := os.ReadDir(parent)
		if len(entries) != 1 || entries[0].Name() != "dst" {
			t.Fatalf("GetDir wrote outside the destination: %v", entries)
		}
		if err == nil {
			for _, e := range m.Files {
				if _, err := os.Stat(filepath.Join(dst, filepath.FromSlash(e.Path))); err != nil {
					t.Errorf("file %q not materialised: %v", e.Path, err)
				}
			}
		}
	})
}
