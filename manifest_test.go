package hangar_test

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

func TestValidateManifestPath(t *testing.T) {
	tests := []struct {
		path string
		ok   bool
	}{
		{"a", true},
		{"a/b/c.txt", true},
		{".hidden", true},
		{"a/..b", true},
		{"ünïcode/ファイル", true},
		{"with space", true},
		{"", false},
		{".", false},
		{"..", false},
		{"../a", false},
		{"a/../b", false},
		{"a/./b", false},
		{"./a", false},
		{"/a", false},
		{"a/", false},
		{"a//b", false},
		{`a\b`, false},
		{`..\..\evil`, false},
		{"a\x00b", false},
		{"a\nb", false},
		{"a\x7fb", false},
		{"bad\xffutf8", false},
		{strings.Repeat("x", 255), true},
		{strings.Repeat("x", 256), false},
		{strings.Repeat("abcdefg/", 512)[:4095], true},
		{strings.Repeat("abcdefg/", 513)[:4097], false},
	}
	for _, tt := range tests {
		err := hangar.ValidateManifestPath(tt.path)
		if (err == nil) != tt.ok {
			t.Errorf("ValidateManifestPath(%q) = %v, want ok=%v", tt.path, err, tt.ok)
		}
		if err != nil && !hangar.IsCode(err, hangar.EINVALID) {
			t.Errorf("ValidateManifestPath(%q) code = %s, want %s", tt.path, hangar.ErrorCode(err), hangar.EINVALID)
		}
	}
}

func TestManifestEncodeGolden(t *testing.T) {
	m := &hangar.Manifest{Version: 1, Files: []hangar.ManifestEntry{
		{Path: "a<b>&c", Digest: dHello, Size: 6},
		{Path: "bin/run", Digest: dEmpty, Size: 0, Executable: true},
	}}
	got, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"version":1,"files":[{"path":"a\u003cb\u003e\u0026c","digest":"` + dHello + `","size":6},{"path":"bin/run","digest":"` + dEmpty + `","size":0,"executable":true}]}`
	if string(got) != want {
		t.Fatalf("Encode =\n%s\nwant\n%s", got, want)
	}
	back, err := hangar.ParseManifest(got)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, m) {
		t.Errorf("ParseManifest(Encode(m)) = %+v, want %+v", back, m)
	}
	if empty, _ := (&hangar.Manifest{Version: 1}).Encode(); string(empty) != `{"version":1,"files":[]}` {
		t.Errorf("empty manifest encodes as %s", empty)
	}
}

func TestParseManifest(t *testing.T) {
	entry := func(p string) string { return `{"path":"` + p + `","digest":"` + dHello + `","size":6}` }
	files := func(e ...string) string { return `{"version":1,"files":[` + strings.Join(e, ",") + `]}` }
	tests := []struct {
		name    string
		data    string
		wantErr string // "" for success
	}{
		{"empty folder", `{"version":1,"files":[]}`, ""},
		{"one file", files(entry("a")), ""},
		{"byte order", files(entry("a-b"), entry("a/b")), ""},
		{"not json", `hello`, "invalid manifest"},
		{"empty", ``, "invalid manifest"},
		{"null", `null`, "version 0"},
		{"no version", `{"files":[]}`, "version 0"},
		{"version 2", `{"version":2,"files":[]}`, "version 2"},
		{"unknown field", `{"version":1,"files":[],"extra":1}`, "unknown field"},
		{"unknown entry field", `{"version":1,"files":[{"path":"a","digest":"` + dHello + `","size":6,"mode":420}]}`, "unknown field"},
		{"trailing data", `{"version":1,"files":[]}{}`, "after the JSON"},
		{"trailing newline", `{"version":1,"files":[]}` + "\n", "canonical"},
		{"whitespace", `{"version": 1, "files": []}`, "canonical"},
		{"field order", `{"files":[],"version":1}`, "canonical"},
		{"null files", `{"version":1,"files":null}`, "canonical"},
		{"missing files", `{"version":1}`, "canonical"},
		{"upper-case key", `{"VERSION":1,"files":[]}`, "canonical"},
		{"executable false spelled out", files(`{"path":"a","digest":"` + dHello + `","size":6,"executable":false}`), "canonical"},
		{"unescaped html", files(entry("a<b")), "canonical"},
		{"escaped slash", files(`{"path":"a\/b","digest":"` + dHello + `","size":6}`), "canonical"},
		{"unsorted", files(entry("b"), entry("a")), "not sorted"},
		{"duplicate", files(entry("a"), entry("a")), "listed twice"},
		{"file and dir", files(entry("a"), entry("a/b")), "also the directory"},
		{"file and deep dir", files(entry("a"), entry("a-b"), entry("a/b/c")), "also the directory"},
		{"dotdot", files(entry("../etc/passwd")), "invalid file path"},
		{"inner dotdot", files(entry("a/../../b")), "invalid file path"},
		{"absolute", files(entry("/etc/passwd")), "invalid file path"},
		{"backslash", files(entry(`..\\evil`)), "invalid file path"},
		{"empty path", files(entry("")), "invalid file path"},
		{"null entry", files(`null`), "invalid file path"},
		{"bad digest", files(`{"path":"a","digest":"sha256:abc","size":6}`), "invalid digest"},
		{"negative size", files(`{"path":"a","digest":"` + dHello + `","size":-1}`), "negative size"},
		{"float size", files(`{"path":"a","digest":"` + dHello + `","size":6.5}`), "invalid manifest"},
		{"string size", files(`{"path":"a","digest":"` + dHello + `","size":"6"}`), "invalid manifest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := hangar.ParseManifest([]byte(tt.data))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("ParseManifest: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("ParseManifest = %+v, want an error containing %q", m, tt.wantErr)
			}
			if !hangar.IsCode(err, hangar.EINVALID) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("ParseManifest error = %v (code %s), want %s containing %q", err, hangar.ErrorCode(err), hangar.EINVALID, tt.wantErr)
			}
		})
	}
}

func TestParseManifestTooLarge(t *testing.T) {
	_, err := hangar.ParseManifest(make([]byte, hangar.MaxManifestSize+1))
	if !hangar.IsCode(err, hangar.EINVALID) || !strings.Contains(err.Error(), "limit") {
		t.Fatalf("ParseManifest of an oversized manifest: %v", err)
	}
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
			_, _, err := hangar.PutDir(t.Context(), s, tt.fsys)
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
	_, m, err := hangar.PutDir(t.Context(), newStore(t), fsys)
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
				_, m, err := hangar.PutDir(t.Context(), newStore(t), fsys)
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
	_, _, err := hangar.PutDir(t.Context(), newStore(t), os.DirFS(dir))
	if !hangar.IsCode(err, hangar.EINVALID) || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("PutDir with a FIFO: %v, want EINVALID not a regular file", err)
	}
}

func TestPutDirCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, _, err := hangar.PutDir(ctx, newStore(t), blobtest.Folder())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("PutDir with a cancelled context: %v", err)
	}
}

// TestGetDirStaysInside checks that a link already in the destination
// cannot redirect GetDir's writes out of it.
func TestGetDirStaysInside(t *testing.T) {
	s := newStore(t)
	info, _, err := hangar.PutDir(t.Context(), s, fstest.MapFS{"out/evil.txt": {Data: []byte("hello\n")}})
	if err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir()
	outside := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(dst, "out")); err != nil {
		t.Fatal(err)
	}
	if err := hangar.GetDir(t.Context(), s, info.Digest, dst); err == nil {
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
			err = hangar.GetDir(t.Context(), s, info.Digest, dst)
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
	info, _, err := hangar.PutDir(t.Context(), s, fstest.MapFS{"a": {Data: []byte("hello\n")}})
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
	if _, err := hangar.ReadManifest(t.Context(), s, info.Digest); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Fatalf("ReadManifest of altered content: %v, want a mismatch error", err)
	}
}

func manifestSeeds() [][]byte {
	return [][]byte{
		[]byte(`{"version":1,"files":[]}`),
		[]byte(`{"version":1,"files":[{"path":"a","digest":"` + dHello + `","size":6}]}`),
		[]byte(`{"version":1,"files":[{"path":"a-b","digest":"` + dHello + `","size":6},{"path":"a/b","digest":"` + dEmpty + `","size":0,"executable":true}]}`),
		[]byte(`{"version":1,"files":[{"path":"../a","digest":"` + dHello + `","size":6}]}`),
		[]byte(`{"version":1,"files":[{"path":"a","digest":"` + dHello + `","size":6},{"path":"a/b","digest":"` + dHello + `","size":6}]}`),
		[]byte(`{"version":1,"files":[{"path":"\u00fc\u003c","digest":"` + dHello + `","size":6}]}`),
	}
}

func FuzzParseManifest(f *testing.F) {
	for _, s := range manifestSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := hangar.ParseManifest(data)
		if err != nil {
			if !hangar.IsCode(err, hangar.EINVALID) {
				t.Fatalf("ParseManifest error code %s, want %s: %v", hangar.ErrorCode(err), hangar.EINVALID, err)
			}
			return
		}
		enc, err := m.Encode()
		if err != nil {
			t.Fatalf("Encode of a parsed manifest: %v", err)
		}
		if !bytes.Equal(enc, data) {
			t.Fatalf("accepted a non-canonical manifest:\n%s\nre-encodes as\n%s", data, enc)
		}
		for _, e := range m.Files {
			if err := hangar.ValidateManifestPath(e.Path); err != nil || !fs.ValidPath(e.Path) {
				t.Fatalf("accepted path %q: %v", e.Path, err)
			}
		}
	})
}

// FuzzReadManifest stores fuzzed bytes and reads them as a manifest, then
// materialises whatever was accepted: nothing may be written outside the
// destination.
func FuzzReadManifest(f *testing.F) {
	for _, s := range manifestSeeds() {
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
		m, err := hangar.ReadManifest(t.Context(), s, info.Digest)
		if _, perr := hangar.ParseManifest(data); (err == nil) != (perr == nil) {
			t.Fatalf("ReadManifest error %v, ParseManifest error %v", err, perr)
		}
		if err != nil {
			return
		}
		parent := t.TempDir()
		dst := filepath.Join(parent, "dst")
		err = hangar.GetDir(t.Context(), s, info.Digest, dst)
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
