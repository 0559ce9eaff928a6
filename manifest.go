package hangar

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
	"unicode/utf8"
)

// ManifestVersion is the version of the manifest format that artifact.PutDir writes
// and artifact.ReadManifest accepts.
const ManifestVersion = 1

// Limits on manifests. They bound what artifact.ReadManifest reads from a store and
// keep paths portable to the file systems that artifact.GetDir writes to.
const (
	MaxManifestSize    = 64 << 20 // bytes of encoded manifest
	MaxManifestPath    = 4096     // bytes of one path
	MaxManifestElement = 255      // bytes of one path element
)

// Manifest lists the regular files of a folder. It is stored as a blob of
// its own, so one digest names a whole folder. Empty directories are not
// recorded: a folder is the set of its files.
type Manifest struct {
	Version int             `json:"version"`
	Files   []ManifestEntry `json:"files"` // sorted by Path, paths unique
}

// ManifestEntry is one file of a folder.
type ManifestEntry struct {
	// Path is slash-separated and relative to the folder, in the form
	// fs.ValidPath accepts ("a/b.txt"; no ".", "..", empty elements or
	// leading slash), valid UTF-8 without control characters or backslashes.
	Path       string `json:"path"`
	Digest     Digest `json:"digest"`
	Size       int64  `json:"size"`
	Executable bool   `json:"executable,omitempty"`
}

// TotalSize returns the sum of the file sizes.
func (m *Manifest) TotalSize() int64 {
	var n int64
	for _, e := range m.Files {
		n += e.Size
	}
	return n
}

// Encode returns the canonical encoding of the manifest: compact JSON, fields
// in a fixed order, files sorted by path. The same folder always encodes to
// the same bytes, so its manifest digest identifies it. Errors: EINVALID when
// the manifest breaks a rule of ParseManifest.
func (m *Manifest) Encode() ([]byte, error) {
	if err := m.validate(); err != nil {
		return nil, err
	}
	files := m.Files
	if files == nil {
		files = []ManifestEntry{} // "files":[] rather than null
	}
	return json.Marshal(Manifest{Version: m.Version, Files: files})
}

// ParseManifest decodes and validates an encoded manifest. Only the canonical
// encoding that Encode produces is accepted, so that one folder never has two
// manifest digests. Errors: EINVALID.
func ParseManifest(data []byte) (*Manifest, error) {
	if len(data) > MaxManifestSize {
		return nil, Errorf(EINVALID, "manifest is %d bytes; the limit is %d", len(data), MaxManifestSize)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, Errorf(EINVALID, "invalid manifest: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, Errorf(EINVALID, "invalid manifest: data after the JSON object")
	}
	if err := m.validate(); err != nil {
		return nil, err
	}
	canon, err := m.Encode()
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(canon, data) {
		return nil, Errorf(EINVALID, "invalid manifest: not in canonical form (compact JSON, fields in order, no extra whitespace)")
	}
	return &m, nil
}

func (m *Manifest) validate() error {
	if m.Version != ManifestVersion {
		return Errorf(EINVALID, "invalid manifest: version %d is not supported (want %d)", m.Version, ManifestVersion)
	}
	files := make(map[string]bool, len(m.Files))
	for i, e := range m.Files {
		if err := ValidateManifestPath(e.Path); err != nil {
			return fmt.Errorf("invalid manifest: file %d: %w", i, err)
		}
		if _, err := ParseDigest(string(e.Digest)); err != nil {
			return fmt.Errorf("invalid manifest: file %q: %w", e.Path, err)
		}
		if e.Size < 0 {
			return Errorf(EINVALID, "invalid manifest: file %q has negative size %d", e.Path, e.Size)
		}
		if i > 0 && m.Files[i-1].Path >= e.Path {
			if m.Files[i-1].Path == e.Path {
				return Errorf(EINVALID, "invalid manifest: file %q is listed twice", e.Path)
			}
			return Errorf(EINVALID, "invalid manifest: files are not sorted by path (%q before %q)", m.Files[i-1].Path, e.Path)
		}
		files[e.Path] = true
	}
	// A path cannot be both a file and a directory ("a" and "a/b").
	for _, e := range m.Files {
		for dir := path.Dir(e.Path); dir != "."; dir = path.Dir(dir) {
			if files[dir] {
				return Errorf(EINVALID, "invalid manifest: %q is a file and also the directory of %q", dir, e.Path)
			}
		}
	}
	return nil
}

// ValidateManifestPath checks a file path of a manifest: relative,
// slash-separated and clean (fs.ValidPath, and not "."), at most
// MaxManifestPath bytes with elements of at most MaxManifestElement bytes,
// valid UTF-8 without control characters or backslashes (which would mean
// different things on different systems). Errors: EINVALID.
func ValidateManifestPath(p string) error {
	bad := func(why string) error {
		return Errorf(EINVALID, "invalid file path %q: %s", p, why)
	}
	switch {
	case p == "" || p == ".":
		return bad("empty")
	case len(p) > MaxManifestPath:
		return Errorf(EINVALID, "invalid file path: %d bytes; the limit is %d", len(p), MaxManifestPath)
	case !utf8.ValidString(p):
		return bad("not valid UTF-8")
	case strings.ContainsRune(p, '\\'):
		return bad("contains a backslash")
	case strings.ContainsFunc(p, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return bad("contains a control character")
	case !fs.ValidPath(p):
		return bad("must be relative, slash-separated and clean (no '.', '..' or empty elements)")
	}
	for elem := range strings.SplitSeq(p, "/") {
		if len(elem) > MaxManifestElement {
			return bad(fmt.Sprintf("element of %d bytes; the limit is %d", len(elem), MaxManifestElement))
		}
	}
	return nil
}
