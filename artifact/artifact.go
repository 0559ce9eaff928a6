// Package artifact stores folders in any content-addressed hangar.BlobStore:
// PutDir walks a file system and stores each regular file plus a manifest
// that lists them, so one digest names a whole folder; GetDir materialises
// such a folder on disk, checking every file against its digest;
// ReadManifest reads and validates a stored manifest. The manifest format
// itself (hangar.Manifest) is part of the domain; this package holds the
// file-system work around it.
package artifact

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/hangar-ml/hangar"
)

// PutDir stores every regular file of fsys in store, then the folder's
// manifest, and returns the manifest blob and the manifest. Symbolic links
// are stored as the file they point to when fsys can read links
// (fs.ReadLinkFS, as os.DirFS) and the target is a regular file inside the
// folder; links that leave the folder, point to a directory or dangle, and
// irregular files (devices, pipes, sockets) are errors (EINVALID), as are
// file names a manifest cannot hold (see ValidateManifestPath). A file that
// changes size while it is stored is an error (ECONFLICT).
func PutDir(ctx context.Context, store hangar.BlobStore, fsys fs.FS) (hangar.BlobInfo, *hangar.Manifest, error) {
	m := &hangar.Manifest{Version: hangar.ManifestVersion, Files: []hangar.ManifestEntry{}}
	err := walkFiles(ctx, fsys, func(name, src string) error {
		e, err := putFile(ctx, store, fsys, name, src)
		if err != nil {
			return err
		}
		m.Files = append(m.Files, e)
		return nil
	})
	if err != nil {
		return hangar.BlobInfo{}, nil, fmt.Errorf("put folder: %w", err)
	}
	return putManifest(ctx, store, m)
}

// walkFiles calls fn with the manifest path and the path to read of every
// regular file of fsys, symbolic links resolved and irregular files
// refused as PutDir says.
func walkFiles(ctx context.Context, fsys fs.FS, fn func(name, src string) error) error {
	return fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("read folder: %w", err)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		if err := hangar.ValidateManifestPath(name); err != nil {
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
		return fn(name, src)
	})
}

// putManifest sorts m's files, stores its encoding and returns the blob.
func putManifest(ctx context.Context, store hangar.BlobStore, m *hangar.Manifest) (hangar.BlobInfo, *hangar.Manifest, error) {
	// WalkDir visits in lexical order per directory, which is not byte order
	// of whole paths ("a/b" vs "a-b"), so sort.
	slices.SortFunc(m.Files, func(a, b hangar.ManifestEntry) int { return strings.Compare(a.Path, b.Path) })
	data, err := m.Encode()
	if err != nil {
		return hangar.BlobInfo{}, nil, fmt.Errorf("put folder: %w", err)
	}
	info, err := store.Put(ctx, bytes.NewReader(data))
	if err != nil {
		return hangar.BlobInfo{}, nil, fmt.Errorf("put folder: store manifest: %w", err)
	}
	return info, m, nil
}

// putFile stores the regular file src of fsys under the manifest path name.
func putFile(ctx context.Context, store hangar.BlobStore, fsys fs.FS, name, src string) (hangar.ManifestEntry, error) {
	f, err := fsys.Open(src)
	if err != nil {
		return hangar.ManifestEntry{}, fmt.Errorf("open %q: %w", name, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return hangar.ManifestEntry{}, fmt.Errorf("stat %q: %w", name, err)
	}
	if err := checkRegular(name, fi.Mode()); err != nil {
		return hangar.ManifestEntry{}, err
	}
	info, err := store.Put(ctx, f)
	if err != nil {
		return hangar.ManifestEntry{}, fmt.Errorf("store %q: %w", name, err)
	}
	if info.Size != fi.Size() {
		return hangar.ManifestEntry{}, hangar.Errorf(hangar.ECONFLICT, "file %q changed while it was stored (%d bytes before, %d read)", name, fi.Size(), info.Size)
	}
	return hangar.ManifestEntry{Path: name, Digest: info.Digest, Size: info.Size, Executable: fi.Mode()&0o111 != 0}, nil
}

// checkRegular reports a file that PutDir cannot store.
func checkRegular(name string, mode fs.FileMode) error {
	switch {
	case mode.IsRegular():
		return nil
	case mode.IsDir():
		return hangar.Errorf(hangar.EINVALID, "%q is a symbolic link to a directory; only links to files are supported", name)
	}
	return hangar.Errorf(hangar.EINVALID, "%q is not a regular file (mode %v)", name, mode.Type())
}

// maxLinkHops bounds symbolic link resolution, as Linux's ELOOP does.
const maxLinkHops = 40

// resolveLink follows the symbolic link name one path element at a time and
// returns the path of its final target, which must stay inside fsys.
func resolveLink(fsys fs.FS, name string) (string, error) {
	lfs, ok := fsys.(fs.ReadLinkFS)
	if !ok {
		return "", hangar.Errorf(hangar.EINVALID, "%q is a symbolic link and this file system cannot read links", name)
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
				return "", hangar.Errorf(hangar.EINVALID, "symbolic link %q points outside the folder", name)
			}
			cur = cur[:len(cur)-1]
			continue
		}
		p := path.Join(append(slices.Clone(cur), elem)...)
		fi, err := lfs.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			return "", hangar.Errorf(hangar.EINVALID, "symbolic link %q points to %q, which does not exist", name, p)
		}
		if err != nil {
			return "", fmt.Errorf("resolve link %q: %w", name, err)
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			cur = append(cur, elem)
			continue
		}
		if hops++; hops > maxLinkHops {
			return "", hangar.Errorf(hangar.EINVALID, "symbolic link %q: too many levels of links", name)
		}
		target, err := lfs.ReadLink(p)
		if err != nil {
			return "", fmt.Errorf("resolve link %q: %w", name, err)
		}
		if strings.HasPrefix(target, "/") || target == "" {
			return "", hangar.Errorf(hangar.EINVALID, "symbolic link %q points outside the folder", name)
		}
		rest = append(strings.Split(target, "/"), rest...)
	}
	if len(cur) == 0 {
		return "", hangar.Errorf(hangar.EINVALID, "symbolic link %q points to the folder itself", name)
	}
	return path.Join(cur...), nil
}

// ReadManifest reads and validates the manifest stored under d. Its content
// is checked against d, so a corrupt store is noticed. Errors: EINVALID,
// ENOTFOUND.
func ReadManifest(ctx context.Context, store hangar.BlobStore, d hangar.Digest) (*hangar.Manifest, error) {
	if _, err := hangar.ParseDigest(string(d)); err != nil {
		return nil, err
	}
	rc, err := store.Open(ctx, d)
	if err != nil {
		return nil, fmt.Errorf("read manifest %s: %w", d, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, hangar.MaxManifestSize+1))
	if err != nil {
		return nil, fmt.Errorf("read manifest %s: %w", d, err)
	}
	if len(data) > hangar.MaxManifestSize {
		return nil, hangar.Errorf(hangar.EINVALID, "manifest %s is over the limit of %d bytes", d, hangar.MaxManifestSize)
	}
	if got := sha256.Sum256(data); hex.EncodeToString(got[:]) != d.Hex() {
		return nil, fmt.Errorf("read manifest %s: stored content does not match its digest", d)
	}
	m, err := hangar.ParseManifest(data)
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
func GetDir(ctx context.Context, store hangar.BlobStore, d hangar.Digest, dstDir string) error {
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
func getFile(ctx context.Context, store hangar.BlobStore, root *os.Root, e hangar.ManifestEntry) (err error) {
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
