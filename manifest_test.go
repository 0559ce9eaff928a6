package hangar_test

import (
	"bytes"
	"io/fs"
	"reflect"
	"strings"
	"testing"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/internal/blobtest"
)

const (
	dHello = "sha256:5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03" // "hello\n"
	dEmpty = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)

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

func FuzzParseManifest(f *testing.F) {
	for _, s := range blobtest.ManifestSeeds() {
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
