package artifact

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"

	"github.com/hangar-ml/hangar"
)

// Upload phases, in the order UploadDir goes through them.
const (
	PhaseHash   = "hashing"   // reading every file once to name it
	PhaseUpload = "uploading" // sending the content the store lacks
)

// Progress is the state of an upload, as UploadOptions.Progress receives it.
type Progress struct {
	Phase string // PhaseHash or PhaseUpload
	Done  int64  // bytes of the phase done
	Total int64  // bytes of the phase in all
	// Skipped is the bytes found in the store already, which are not sent.
	Skipped int64
}

// UploadOptions tune UploadDir; the zero value is the default.
type UploadOptions struct {
	// Progress, when set, is called from UploadDir's goroutine as bytes
	// are hashed and sent, at most about once per ProgressStep bytes, and
	// once at the end of each phase.
	Progress func(Progress)
}

// ProgressStep is about how many bytes pass between two Progress calls.
const ProgressStep = 1 << 20

// hashBufSize is the read size of Hash: large reads keep the hash, not
// system calls, the cost (sha256sum reads 32 KiB; more does not hurt).
const hashBufSize = 1 << 20

// Hash reads r to its end and returns the SHA-256 digest and size of what
// it read, calling step (when not nil) with the bytes of each read. It
// reads in large blocks itself rather than through io.Copy, which a file
// would turn into small reads (os.File.WriteTo), and hashes each byte once.
func Hash(ctx context.Context, r io.Reader, step func(n int64)) (hangar.BlobInfo, error) {
	h := sha256.New()
	buf := make([]byte, hashBufSize)
	var size int64
	for {
		if err := ctx.Err(); err != nil {
			return hangar.BlobInfo{}, err
		}
		n, err := io.ReadFull(r, buf)
		if n > 0 {
			h.Write(buf[:n])
			size += int64(n)
			if step != nil {
				step(int64(n))
			}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return hangar.BlobInfo{}, err
		}
	}
	return hangar.BlobInfo{Digest: hangar.Digest("sha256:" + hex.EncodeToString(h.Sum(nil))), Size: size}, nil
}

// UploadDir stores fsys in store as PutDir does, with the same manifest
// and the same rules for links and irregular files, but sends only what
// the store lacks: it hashes every file first, asks the store for each
// digest (Stat) and uploads only the content not found, so identical
// content is stored, and sent, once. Errors: as PutDir.
func UploadDir(ctx context.Context, store hangar.BlobStore, fsys fs.FS, opt UploadOptions) (hangar.BlobInfo, *hangar.Manifest, error) {
	type file struct {
		name, src string
		size      int64
		exec      bool
	}
	var files []file
	var total int64
	err := walkFiles(ctx, fsys, func(name, src string) error {
		fi, err := fs.Stat(fsys, src)
		if err != nil {
			return fmt.Errorf("stat %q: %w", name, err)
		}
		files = append(files, file{name: name, src: src, size: fi.Size(), exec: fi.Mode()&0o111 != 0})
		total += fi.Size()
		return nil
	})
	if err != nil {
		return hangar.BlobInfo{}, nil, fmt.Errorf("upload folder: %w", err)
	}
	rep := reporter{fn: opt.Progress, p: Progress{Phase: PhaseHash, Total: total}}
	m := &hangar.Manifest{Version: hangar.ManifestVersion, Files: make([]hangar.ManifestEntry, 0, len(files))}
	for _, f := range files {
		info, err := hashFile(ctx, fsys, f.src, rep.add)
		if err != nil {
			return hangar.BlobInfo{}, nil, fmt.Errorf("upload folder: hash %q: %w", f.name, err)
		}
		if info.Size != f.size {
			return hangar.BlobInfo{}, nil, hangar.Errorf(hangar.ECONFLICT, "file %q changed while it was hashed (%d bytes before, %d read)", f.name, f.size, info.Size)
		}
		m.Files = append(m.Files, hangar.ManifestEntry{Path: f.name, Digest: info.Digest, Size: info.Size, Executable: f.exec})
	}
	rep.end()

	// Which content is missing, each digest asked once.
	missing := map[hangar.Digest]bool{}
	var send int64
	for _, e := range m.Files {
		if _, seen := missing[e.Digest]; seen {
			continue
		}
		_, err := store.Stat(ctx, e.Digest)
		switch {
		case err == nil:
			missing[e.Digest] = false
		case hangar.IsCode(err, hangar.ENOTFOUND):
			missing[e.Digest] = true
			send += e.Size
		default:
			return hangar.BlobInfo{}, nil, fmt.Errorf("upload folder: %w", err)
		}
	}
	rep.p = Progress{Phase: PhaseUpload, Total: send, Skipped: total - send}
	for i, e := range m.Files {
		if !missing[e.Digest] {
			continue
		}
		missing[e.Digest] = false
		if err := sendFile(ctx, store, fsys, files[i].src, e, rep.add); err != nil {
			return hangar.BlobInfo{}, nil, fmt.Errorf("upload folder: %w", err)
		}
	}
	rep.end()
	return putManifest(ctx, store, m)
}

// UploadFile stores one file of fsys as a folder of that file alone, named
// by its base name, as UploadDir does.
func UploadFile(ctx context.Context, store hangar.BlobStore, fsys fs.FS, name string, opt UploadOptions) (hangar.BlobInfo, *hangar.Manifest, error) {
	sub, err := fs.Sub(fsys, path.Dir(name))
	if err != nil {
		return hangar.BlobInfo{}, nil, err
	}
	return UploadDir(ctx, store, onlyFile{FS: sub, name: path.Base(name)}, opt)
}

// onlyFile is a file system that shows one file of its FS at its root.
type onlyFile struct {
	fs.FS
	name string
}

func (o onlyFile) Open(name string) (fs.File, error) {
	if name != "." && name != o.name {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return o.FS.Open(name)
}

func (o onlyFile) ReadDir(name string) ([]fs.DirEntry, error) {
	if name != "." {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrNotExist}
	}
	fi, err := fs.Stat(o.FS, o.name)
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		return nil, hangar.Errorf(hangar.EINVALID, "%q is a folder, not a file", o.name)
	}
	return []fs.DirEntry{fs.FileInfoToDirEntry(fi)}, nil
}

func hashFile(ctx context.Context, fsys fs.FS, src string, step func(int64)) (hangar.BlobInfo, error) {
	f, err := fsys.Open(src)
	if err != nil {
		return hangar.BlobInfo{}, err
	}
	defer f.Close()
	return Hash(ctx, f, step)
}

// sendFile puts the file src, which must still have the entry's content.
func sendFile(ctx context.Context, store hangar.BlobStore, fsys fs.FS, src string, e hangar.ManifestEntry, step func(int64)) error {
	f, err := fsys.Open(src)
	if err != nil {
		return fmt.Errorf("open %q: %w", e.Path, err)
	}
	defer f.Close()
	info, err := store.Put(ctx, &countingReader{r: f, step: step})
	if err != nil {
		return fmt.Errorf("store %q: %w", e.Path, err)
	}
	if info.Digest != e.Digest {
		return hangar.Errorf(hangar.ECONFLICT, "file %q changed while it was uploaded (stored as %s, hashed as %s)", e.Path, info.Digest, e.Digest)
	}
	return nil
}

type countingReader struct {
	r    io.Reader
	step func(int64)
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n > 0 {
		c.step(int64(n))
	}
	if errors.Is(err, io.EOF) {
		return n, io.EOF
	}
	return n, err
}

// reporter calls a Progress function at most once per ProgressStep bytes.
type reporter struct {
	fn   func(Progress)
	p    Progress
	last int64
}

func (r *reporter) add(n int64) {
	r.p.Done += n
	if r.fn != nil && r.p.Done-r.last >= ProgressStep {
		r.last = r.p.Done
		r.fn(r.p)
	}
}

func (r *reporter) end() {
	r.last = 0
	if r.fn != nil {
		r.fn(r.p)
	}
}
