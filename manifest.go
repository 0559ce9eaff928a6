package hangar

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"unicode/utf8"
)

// ManifestVersion is the version of the manifest format that PutDir writes
// and ReadManifest accepts.
const ManifestVersion = 1

// Limits on manifests. They bound what ReadManifest reads from a store and
// keep paths portable to the file systems that GetDir writes to.
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

// PutDir stores every regular file of fsys in store, then the folder's
// manifest, and returns the manifest blob and the manifest. Symbolic links
// are stored as the file they point to when fsys can read links
// (fs.ReadLinkFS, as os.DirFS) and the target is a regular file inside the
// folder; links that leave the folder, point to a directory or dangle, and
// irregular files (devices, pipes, sockets) are errors (EINVALID), as are
// file names a manifest cannot hold (see ValidateManifestPath). A file that
// changes size while it is stored is an error (ECONFLICT).
func PutDir(ctx context.Context, store BlobStore, fsys fs.FS) (BlobInfo, *Manifest, error) {
	m := &Manifest{Version: ManifestVersion, Files: []ManifestEntry{}}
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("read folder: %w", err)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		if err := ValidateManifestPath(name); err != nil {
			return err
		}
		src := name
		switch typ := d.Type(); {
		case typ&fs.ModeSymlink != 0:
			if src, err = resolveLink(fsys, name); err != nil {
				return err
			}
			fi, err := fs.Stat(fsys, src)
			if err != nil {
				return fmt.Errorf("stat %q: %w", name, err)
			}
			if err := checkRegular(name, fi.Mode()); err != nil {
				return err
			}
		case !typ.IsRegular():
			// Checked before opening: opening a FIFO blocks.
			return checkRegular(name, typ)
		}
		e, err := putFile(ctx, store, fsys, name, src)
		if err != nil {
			return err
		}
		m.Files = append(m.Files, e)
		return nil
	})
	if err != nil {
		return BlobInfo{}, nil, fmt.Errorf("put folder: %w", err)
	}
	// WalkDir visits in lexical order per directory, which is not byte order
	// of whole paths ("a/b" vs "a-b"), so sort.
	slices.SortFunc(m.Files, func(a, b ManifestEntry) int { return strings.Compare(a.Path, b.Path) })
	data, err := m.Encode()
	if err != nil {
		return BlobInfo{}, nil, fmt.Errorf("put folder: %w", err)
	}
	info, err := store.Put(ctx, bytes.NewReader(data))
	if err != nil {
		return BlobInfo{}, nil, fmt.Errorf("put folder: store manifest: %w", err)
	}
	return info, m, nil
}

// putFile stores the regular file src of fsys under the manifest path name.
func putFile(ctx context.Context, store BlobStore, fsys fs.FS, name, src string) (ManifestEntry, error) {
	f, err := fsys.Open(src)
	if err != nil {
		return ManifestEntry{}, fmt.Errorf("open %q: %w", name, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return ManifestEntry{}, fmt.Errorf("stat %q: %w", name, err)
	}
	if err := checkRegular(name, fi.Mode()); err != nil {
		return ManifestEntry{}, err
	}
	info, err := store.Put(ctx, f)
	if err != nil {
		return ManifestEntry{}, fmt.Errorf("store %q: %w", name, err)
	}
	if info.Size != fi.Size() {
		return ManifestEntry{}, Errorf(ECONFLICT, "file %q changed while it was stored (%d bytes before, %d read)", name, fi.Size(), info.Size)
	}
	return ManifestEntry{Path: name, Digest: info.Digest, Size: info.Size, Executable: fi.Mode()&0o111 != 0}, nil
}

// checkRegular reports a file that PutDir cannot store.
func checkRegular(name string, mode fs.FileMode) error {
	switch {
	case mode.IsRegular():
		return nil
	case mode.IsDir():
		return Errorf(EINVALID, "%q is a symbolic link to a directory; only links to files are supported", name)
	}
	return Errorf(EINVALID, "%q is not a regular file (mode %v)", name, mode.Type())
}

// maxLinkHops bounds symbolic link resolution, as Linux's ELOOP does.
const maxLinkHops = 40

// resolveLink follows the symbolic link name one path element at a time and
// returns the path of its final target, which must stay inside fsys.
func resolveLink(fsys fs.FS, name string) (string, error) {
	lfs, ok := fsys.(fs.ReadLinkFS)
	if !ok {
		return "", Errorf(EINVALID, "%q is a symbolic link and this file system cannot read links", name)
	}
	var cur []string
	rest := strings.Split(name, "/")
	hops := 0
	for len(rest) > 0 {
		elem := rest[0]
		rest = rest[1:]
		switch elem {
		case "", ".":
			continue
		case "..":
			if len(cur) == 0 {
				return "", Errorf(EINVALID, "symbolic link %q points outside the folder", name)
			}
			cur = cur[:len(cur)-1]
			continue
		}
		p := path.Join(append(slices.Clone(cur), elem)...)
		fi, err := lfs.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			return "", Errorf(EINVALID, "symbolic link %q points to %q, which does not exist", name, p)
		}
		if err != nil {
			return "", fmt.Errorf("resolve link %q: %w", name, err)
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			cur = append(cur, elem)
			continue
		}
		if hops++; hops > maxLinkHops {
			return "", Errorf(EINVALID, "symbolic link %q: too many levels of links", name)
		}
		target, err := lfs.ReadLink(p)
		if err != nil {
			return "", fmt.Errorf("resolve link %q: %w", name, err)
		}
		if strings.HasPrefix(target, "/") || target == "" {
			return "", Errorf(EINVALID, "symbolic link %q points outside the folder", name)
		}
		rest = append(strings.Split(target, "/"), rest...)
	}
	if len(cur) == 0 {
		return "", Errorf(EINVALID, "symbolic link %q points to the folder itself", name)
	}
	return path.Join(cur...), nil
}

// ReadManifest reads and validates the manifest stored under d. Its content
// is checked against d, so a corrupt store is noticed. Errors: EINVALID,
// ENOTFOUND.
func ReadManifest(ctx context.Context, store BlobStore, d Digest) (*Manifest, error) {
	if _, err := ParseDigest(string(d)); err != nil {
		return nil, err
	}
	rc, err := store.Open(ctx, d)
	if err != nil {
		return nil, fmt.Errorf("read manifest %s: %w", d, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, MaxManifestSize+1))
	if err != nil {
		return nil, fmt.Errorf("read manifest %s: %w", d, err)
	}
	if len(data) > MaxManifestSize {
		return nil, Errorf(EINVALID, "manifest %s is over the limit of %d bytes", d, MaxManifestSize)
	}
	if got := sha256.Sum256(data); hex.EncodeToString(got[:]) != d.Hex() {
		return nil, fmt.Errorf("read manifest %s: stored content does not match its digest", d)
	}
	m, err := ParseManifest(data)
	if err != nil {
		return nil, fmt.Errorf("read manifest %s: %w", d, err)
	}
	return m, nil
}

// GetDir writes the folder whose manifest is stored under d into dstDir,
// creating it if needed. Files are written to a temporary name and renamed
// into place, so a file is either absent or complete; existing files with
// the same paths are replaced, other files are left alone. Writes cannot
// leave dstDir, even through symbolic links already in it (os.Root). Each
// file's content is checked against its digest. Executable files get mode
// 0755, others 0644 (less the umask). Errors: EINVALID, ENOTFOUND.
func GetDir(ctx context.Context, store BlobStore, d Digest, dstDir string) error {
	m, err := ReadManifest(ctx, store, d)
	if err != nil {
		return fmt.Errorf("get folder: %w", err)
	}
	if err := os.MkdirAll(dstDir, 0o755); err != nil {
		return fmt.Errorf("get folder: %w", err)
	}
	root, err := os.OpenRoot(dstDir)
	if err != nil {
		return fmt.Errorf("get folder: %w", err)
	}
	defer root.Close()
	for _, e := range m.Files {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("get folder: %w", err)
		}
		if err := getFile(ctx, store, root, e); err != nil {
			return fmt.Errorf("get folder %s: %w", d, err)
		}
	}
	return nil
}

// getFile writes one manifest entry below root via a temporary file.
func getFile(ctx context.Context, store BlobStore, root *os.Root, e ManifestEntry) (err error) {
	dir := path.Dir(e.Path)
	if err := root.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create directory for %q: %w", e.Path, err)
	}
	rc, err := store.Open(ctx, e.Digest)
	if err != nil {
		return fmt.Errorf("file %q: %w", e.Path, err)
	}
	defer rc.Close()

	perm := os.FileMode(0o644)
	if e.Executable {
		perm = 0o755
	}
	tmp := path.Join(dir, ".hangar-"+rand.Text()[:16]+".tmp")
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return fmt.Errorf("file %q: %w", e.Path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			root.Remove(tmp)
		}
	}()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), ContextReader(ctx, rc))
	if err != nil {
		return fmt.Errorf("file %q: %w", e.Path, err)
	}
	if n != e.Size || hex.EncodeToString(h.Sum(nil)) != e.Digest.Hex() {
		return fmt.Errorf("file %q: stored blob %s does not match the manifest (%d bytes read, want %d)", e.Path, e.Digest, n, e.Size)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("file %q: %w", e.Path, err)
	}
	if err = root.Rename(tmp, e.Path); err != nil {
		return fmt.Errorf("file %q: %w", e.Path, err)
	}
	return nil
}

// ContextReader returns a reader that fails with ctx's error once ctx is
// done, so a long copy (a blob upload or download) stops when its request does.
func ContextReader(ctx context.Context, r io.Reader) io.Reader {
	return &ctxReader{ctx: ctx, r: r}
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
