// Package disk is the artifact store on a local folder: content-addressed
// blobs named by their SHA-256 digest, written so that a partial upload is
// never visible and a completed one survives a crash.
//
// Layout under the root folder:
//
//	blobs/sha256/ab/abcdef…   one read-only file per blob, sharded by the first two hex digits
//	tmp/put-*.tmp             uploads in progress, renamed into blobs/ once complete
//
// tmp/ is inside the root so that the final rename never crosses file
// systems. File and directory permissions follow the process umask; restrict
// access with the mode of the root folder.
package disk

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/artifact"
)

// DefaultStaleTempAge is how long an upload's temporary file may go
// unmodified before Init treats it as left over from a crash.
const DefaultStaleTempAge = 15 * time.Minute

// BlobStore is a hangar.BlobStore on a local folder. It is safe for
// concurrent use, also by several processes sharing the folder.
type BlobStore struct {
	// StaleTempAge is how long a temporary upload file may go unmodified
	// before Init removes it. Zero means DefaultStaleTempAge. A live upload
	// writes to its file continually; a crashed one stops.
	StaleTempAge time.Duration

	root string
}

var _ hangar.BlobStore = (*BlobStore)(nil)

// New returns a store on the folder root. Nothing is touched until Init or
// the first Put, which create the folders as needed.
func New(root string) *BlobStore {
	return &BlobStore{root: root}
}

// Root returns the store's folder.
func (s *BlobStore) Root() string { return s.root }

func (s *BlobStore) tmpDir() string  { return filepath.Join(s.root, "tmp") }
func (s *BlobStore) blobDir() string { return filepath.Join(s.root, "blobs", "sha256") }

// blobPath returns the file of a digest, which must be valid.
func (s *BlobStore) blobPath(d hangar.Digest) string {
	h := d.Hex()
	return filepath.Join(s.blobDir(), h[:2], h)
}

// Init creates the store's folders and removes temporary files that crashed
// uploads left behind (those unmodified for StaleTempAge). Call it once at
// start-up; the store also works without it.
//
// The store's folders are private to the server's user (0700) and blobs are
// read-only to it (0400), whatever the umask: artifacts are readable only
// through the server, which checks who asks. Init tightens the root of an
// existing store made with wider permissions.
func (s *BlobStore) Init(ctx context.Context) error {
	for _, dir := range []string{s.tmpDir(), s.blobDir()} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("disk: init %s: %w", s.root, err)
		}
	}
	for _, dir := range []string{s.root, filepath.Join(s.root, "blobs"), s.blobDir(), s.tmpDir()} {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("disk: init %s: %w", s.root, err)
		}
	}
	if _, err := s.RemoveStaleTemp(ctx); err != nil {
		return fmt.Errorf("disk: init %s: %w", s.root, err)
	}
	return nil
}

// Check reports whether the store can take a write now: it writes, syncs
// and removes a small file in the upload folder. A full disk, a read-only
// mount or lost permissions fail it; servers use it for readiness.
func (s *BlobStore) Check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f, err := s.createTemp()
	if err != nil {
		return fmt.Errorf("disk: check %s: %w", s.root, err)
	}
	defer os.Remove(f.Name())
	if _, err := f.Write([]byte("ready\n")); err != nil {
		f.Close()
		return fmt.Errorf("disk: check %s: %w", s.root, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("disk: check %s: %w", s.root, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("disk: check %s: %w", s.root, err)
	}
	return nil
}

// RemoveStaleTemp removes temporary upload files unmodified for
// StaleTempAge and returns how many it removed.
func (s *BlobStore) RemoveStaleTemp(ctx context.Context) (int, error) {
	age := s.StaleTempAge
	if age <= 0 {
		age = DefaultStaleTempAge
	}
	entries, err := os.ReadDir(s.tmpDir())
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("remove stale uploads: %w", err)
	}
	cutoff := time.Now().Add(-age)
	removed := 0
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return removed, err
		}
		if !e.Type().IsRegular() || !strings.HasPrefix(e.Name(), "put-") {
			continue
		}
		info, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue // finished meanwhile
		}
		if err != nil {
			return removed, fmt.Errorf("remove stale uploads: %w", err)
		}
		if info.ModTime().After(cutoff) {
			continue
		}
		err = os.Remove(filepath.Join(s.tmpDir(), e.Name()))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return removed, fmt.Errorf("remove stale uploads: %w", err)
		}
		if err == nil {
			removed++
		}
	}
	return removed, nil
}

var copyBufs = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// Put streams r into a temporary file while hashing it, syncs it, and renames
// it to its digest's name, syncing the directory after. Content already
// stored is not written again. If r fails or ctx is done before the rename,
// the temporary file is removed and nothing becomes visible. A reader
// blocked in Read is not interrupted: cancellation is noticed between reads.
func (s *BlobStore) Put(ctx context.Context, r io.Reader) (_ hangar.BlobInfo, err error) {
	if err := ctx.Err(); err != nil {
		return hangar.BlobInfo{}, fmt.Errorf("disk: put blob: %w", err)
	}
	f, err := s.createTemp()
	if err != nil {
		return hangar.BlobInfo{}, fmt.Errorf("disk: put blob: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()

	h := sha256.New()
	bufp := copyBufs.Get().(*[]byte)
	n, err := io.CopyBuffer(io.MultiWriter(f, h), artifact.ContextReader(ctx, r), *bufp)
	copyBufs.Put(bufp)
	if err != nil {
		return hangar.BlobInfo{}, fmt.Errorf("disk: put blob: %w", err)
	}
	if err = ctx.Err(); err != nil {
		return hangar.BlobInfo{}, fmt.Errorf("disk: put blob: %w", err)
	}
	info := hangar.BlobInfo{Digest: hangar.Digest("sha256:" + hex.EncodeToString(h.Sum(nil))), Size: n}
	final := s.blobPath(info.Digest)
	shard := filepath.Dir(final)

	if fi, statErr := os.Stat(final); statErr == nil && fi.Mode().IsRegular() && fi.Size() == n {
		// Stored already. Sync its directory in case the Put that wrote it
		// has not done so yet, then drop our copy.
		f.Close()
		os.Remove(tmp)
		if err = syncDir(shard); err != nil {
			return hangar.BlobInfo{}, fmt.Errorf("disk: put blob: %w", err)
		}
		return info, nil
	}

	if err = f.Chmod(0o400); err != nil { // blobs are immutable, and private
		return hangar.BlobInfo{}, fmt.Errorf("disk: put blob: %w", err)
	}
	if err = f.Sync(); err != nil {
		return hangar.BlobInfo{}, fmt.Errorf("disk: put blob: %w", err)
	}
	if err = f.Close(); err != nil {
		return hangar.BlobInfo{}, fmt.Errorf("disk: put blob: %w", err)
	}
	newShard := false
	if _, statErr := os.Stat(shard); errors.Is(statErr, fs.ErrNotExist) {
		if err = os.MkdirAll(shard, 0o700); err != nil {
			return hangar.BlobInfo{}, fmt.Errorf("disk: put blob: %w", err)
		}
		newShard = true
	}
	if err = os.Rename(tmp, final); err != nil {
		return hangar.BlobInfo{}, fmt.Errorf("disk: put blob: %w", err)
	}
	// The blob is in place; from here on a failure to sync is reported but
	// the (complete) blob stays.
	if err := syncDir(shard); err != nil {
		return hangar.BlobInfo{}, fmt.Errorf("disk: put blob: %w", err)
	}
	if newShard {
		// MkdirAll may have created blobs/ and blobs/sha256/ too (a store
		// used without Init); make every new directory entry durable.
		for _, dir := range []string{s.blobDir(), filepath.Dir(s.blobDir()), s.root} {
			if err := syncDir(dir); err != nil {
				return hangar.BlobInfo{}, fmt.Errorf("disk: put blob: %w", err)
			}
		}
	}
	return info, nil
}

// createTemp creates an upload file in tmp/, creating the folder on first use.
func (s *BlobStore) createTemp() (*os.File, error) {
	f, err := os.CreateTemp(s.tmpDir(), "put-*.tmp")
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(s.tmpDir(), 0o700); err != nil {
			return nil, err
		}
		f, err = os.CreateTemp(s.tmpDir(), "put-*.tmp")
	}
	return f, err
}

// Open returns the blob's file. The digest is validated before any file is
// touched. The ReadCloser is an *os.File, so it is also an io.ReadSeeker
// and io.ReaderAt (for range requests). Errors: EINVALID, ENOTFOUND.
func (s *BlobStore) Open(ctx context.Context, d hangar.Digest) (io.ReadCloser, error) {
	if _, err := hangar.ParseDigest(string(d)); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("disk: open blob: %w", err)
	}
	f, err := os.Open(s.blobPath(d))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, hangar.Errorf(hangar.ENOTFOUND, "blob %s not found", d)
	}
	if err != nil {
		return nil, fmt.Errorf("disk: open blob: %w", err)
	}
	return f, nil
}

// Stat returns the digest and size of a stored blob. Errors: EINVALID, ENOTFOUND.
func (s *BlobStore) Stat(ctx context.Context, d hangar.Digest) (hangar.BlobInfo, error) {
	if _, err := hangar.ParseDigest(string(d)); err != nil {
		return hangar.BlobInfo{}, err
	}
	if err := ctx.Err(); err != nil {
		return hangar.BlobInfo{}, fmt.Errorf("disk: stat blob: %w", err)
	}
	fi, err := os.Stat(s.blobPath(d))
	if errors.Is(err, fs.ErrNotExist) {
		return hangar.BlobInfo{}, hangar.Errorf(hangar.ENOTFOUND, "blob %s not found", d)
	}
	if err != nil {
		return hangar.BlobInfo{}, fmt.Errorf("disk: stat blob: %w", err)
	}
	return hangar.BlobInfo{Digest: d, Size: fi.Size()}, nil
}

// Path returns the file that holds a stored blob, for callers on the same
// host that can read it in place (mount it read-only into a job, say).
// The file must not be modified. Errors: EINVALID, ENOTFOUND.
func (s *BlobStore) Path(ctx context.Context, d hangar.Digest) (string, error) {
	if _, err := hangar.ParseDigest(string(d)); err != nil {
		return "", err
	}
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("disk: blob path: %w", err)
	}
	p := s.blobPath(d)
	if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
		return "", hangar.Errorf(hangar.ENOTFOUND, "blob %s not found", d)
	} else if err != nil {
		return "", fmt.Errorf("disk: blob path: %w", err)
	}
	return p, nil
}

// syncDir makes a rename or creation in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
