// Package blobtest is the conformance suite that every hangar.BlobStore
// implementation must pass: disk runs it on a temporary folder, s3store
// on a real S3 server (versitygw, internal/s3test), and any other backend
// must run it against a real server too. A store that passes it keeps the
// contract written on hangar.BlobStore, as callers rely on it.
package blobtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/artifact"
)

// LargeSize is the size of the blob streamed by the "Large" test (2 MiB
// under -short). It is generated and checked as a stream, never held in
// memory.
const LargeSize = 20 << 20

// Run runs the suite. newStore returns a new, empty store for each subtest;
// the store is expected to clean up after itself through t.Cleanup.
//
// Beyond hangar.BlobStore's documented contract the suite requires that a
// Put failing because of its reader returns an error wrapping the reader's
// error, and one cancelled through its context an error wrapping
// context.Canceled, so callers can tell the cause.
func Run(t *testing.T, newStore func(t *testing.T) hangar.BlobStore) {
	t.Run("RoundTrip", func(t *testing.T) { testRoundTrip(t, newStore(t)) })
	t.Run("Empty", func(t *testing.T) { testEmpty(t, newStore(t)) })
	t.Run("Large", func(t *testing.T) { testLarge(t, newStore(t)) })
	t.Run("Dedup", func(t *testing.T) { testDedup(t, newStore(t)) })
	t.Run("NotFound", func(t *testing.T) { testNotFound(t, newStore(t)) })
	t.Run("InvalidDigest", func(t *testing.T) { testInvalidDigest(t, newStore(t)) })
	t.Run("CancelledBeforePut", func(t *testing.T) { testCancelledBefore(t, newStore(t)) })
	t.Run("CancelledMidStream", func(t *testing.T) { testCancelledMidStream(t, newStore(t)) })
	t.Run("FailingReader", func(t *testing.T) { testFailingReader(t, newStore(t)) })
	t.Run("ConcurrentSameContent", func(t *testing.T) { testConcurrentSame(t, newStore(t)) })
	t.Run("ConcurrentDifferentContent", func(t *testing.T) { testConcurrentDifferent(t, newStore(t)) })
	t.Run("Folder", func(t *testing.T) { testFolder(t, newStore(t)) })
	t.Run("FolderErrors", func(t *testing.T) { testFolderErrors(t, newStore(t)) })
}

// DigestOf returns the digest of b.
func DigestOf(b []byte) hangar.Digest {
	sum := sha256.Sum256(b)
	return hangar.Digest("sha256:" + hex.EncodeToString(sum[:]))
}

// SeededReader returns n pseudo-random bytes determined by seed, generated
// as they are read.
func SeededReader(seed uint64, n int64) io.Reader {
	var s [32]byte
	for i := range 8 {
		s[i] = byte(seed >> (8 * i))
	}
	return io.LimitReader(rand.NewChaCha8(s), n)
}

// SeededBytes returns the n bytes of SeededReader(seed, n).
func SeededBytes(seed uint64, n int) []byte {
	b, err := io.ReadAll(SeededReader(seed, int64(n)))
	if err != nil {
		panic(err) // ChaCha8 never fails
	}
	return b
}

// put stores b and checks the returned info.
func put(t *testing.T, s hangar.BlobStore, b []byte) hangar.BlobInfo {
	t.Helper()
	info, err := s.Put(t.Context(), bytes.NewReader(b))
	if err != nil {
		t.Fatalf("Put(%d bytes): %v", len(b), err)
	}
	if want := (hangar.BlobInfo{Digest: DigestOf(b), Size: int64(len(b))}); info != want {
		t.Fatalf("Put(%d bytes) = %+v, want %+v", len(b), info, want)
	}
	return info
}

// get reads a whole blob.
func get(t *testing.T, s hangar.BlobStore, d hangar.Digest) []byte {
	t.Helper()
	rc, err := s.Open(t.Context(), d)
	if err != nil {
		t.Fatalf("Open(%s): %v", d, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %s: %v", d, err)
	}
	return b
}

// wantAbsent checks that d is not visible through Stat and Open.
func wantAbsent(t *testing.T, s hangar.BlobStore, d hangar.Digest) {
	t.Helper()
	if info, err := s.Stat(t.Context(), d); !hangar.IsCode(err, hangar.ENOTFOUND) {
		t.Errorf("Stat(%s) = %+v, %v; want %s", d, info, err, hangar.ENOTFOUND)
	}
	rc, err := s.Open(t.Context(), d)
	if err == nil {
		rc.Close()
	}
	if !hangar.IsCode(err, hangar.ENOTFOUND) {
		t.Errorf("Open(%s) error = %v; want %s", d, err, hangar.ENOTFOUND)
	}
}

func testRoundTrip(t *testing.T, s hangar.BlobStore) {
	for _, size := range []int{1, 100, 64 << 10, 1<<20 + 7} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			b := SeededBytes(uint64(size), size)
			info := put(t, s, b)
			if got := get(t, s, info.Digest); !bytes.Equal(got, b) {
				t.Fatalf("Open returned %d bytes (digest %s), want the %d stored", len(got), DigestOf(got), len(b))
			}
			st, err := s.Stat(t.Context(), info.Digest)
			if err != nil {
				t.Fatalf("Stat: %v", err)
			}
			if st != info {
				t.Errorf("Stat = %+v, want %+v", st, info)
			}
		})
	}
}

func testEmpty(t *testing.T, s hangar.BlobStore) {
	info := put(t, s, nil)
	if want := hangar.Digest("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"); info.Digest != want {
		t.Fatalf("empty blob digest = %s, want %s", info.Digest, want)
	}
	if got := get(t, s, info.Digest); len(got) != 0 {
		t.Errorf("empty blob read back as %d bytes", len(got))
	}
	st, err := s.Stat(t.Context(), info.Digest)
	if err != nil || st != info {
		t.Errorf("Stat = %+v, %v; want %+v", st, err, info)
	}
}

func testLarge(t *testing.T, s hangar.BlobStore) {
	size := int64(LargeSize)
	if testing.Short() {
		size = 2 << 20
	}
	h := sha256.New()
	if _, err := io.Copy(h, SeededReader(7, size)); err != nil {
		t.Fatal(err)
	}
	want := hangar.BlobInfo{Digest: hangar.Digest("sha256:" + hex.EncodeToString(h.Sum(nil))), Size: size}

	info, err := s.Put(t.Context(), SeededReader(7, size))
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	if info != want {
		t.Fatalf("Put = %+v, want %+v", info, want)
	}
	rc, err := s.Open(t.Context(), info.Digest)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer rc.Close()
	h.Reset()
	n, err := io.Copy(h, rc)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if got := hangar.Digest("sha256:" + hex.EncodeToString(h.Sum(nil))); got != want.Digest || n != size {
		t.Fatalf("read back %d bytes with digest %s, want %d bytes with %s", n, got, size, want.Digest)
	}
}

func testDedup(t *testing.T, s hangar.BlobStore) {
	b := SeededBytes(3, 10_000)
	first := put(t, s, b)
	second := put(t, s, b)
	if first != second {
		t.Fatalf("second Put = %+v, want %+v", second, first)
	}
	if got := get(t, s, first.Digest); !bytes.Equal(got, b) {
		t.Fatalf("content changed after the second Put")
	}
}

func testNotFound(t *testing.T, s hangar.BlobStore) {
	put(t, s, []byte("something else"))
	wantAbsent(t, s, DigestOf([]byte("never stored")))
}

// InvalidDigests are digests every store must reject with EINVALID before
// looking anything up: wrong algorithm, case, length, and path tricks.
var InvalidDigests = []string{
	"",
	"sha256:",
	"sha256",
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	"SHA256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	"sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
	"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85",
	"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8555",
	"sha512:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	"md5:d41d8cd98f00b204e9800998ecf8427e",
	"sha256:../../../../../../../../../../../../../../../../../../etc/passwd",
	"sha256:e3/../../../../../../../../../../../../../../../../../../../../..",
	"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85/",
	"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85\x00",
	"sha256:g3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	" sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
}

func testInvalidDigest(t *testing.T, s hangar.BlobStore) {
	put(t, s, nil) // so a digest that sneaks past validation could find something
	for _, d := range InvalidDigests {
		t.Run(fmt.Sprintf("%q", d), func(t *testing.T) {
			if info, err := s.Stat(t.Context(), hangar.Digest(d)); !hangar.IsCode(err, hangar.EINVALID) {
				t.Errorf("Stat = %+v, %v; want %s", info, err, hangar.EINVALID)
			}
			rc, err := s.Open(t.Context(), hangar.Digest(d))
			if err == nil {
				rc.Close()
			}
			if !hangar.IsCode(err, hangar.EINVALID) {
				t.Errorf("Open error = %v; want %s", err, hangar.EINVALID)
			}
		})
	}
}

func testCancelledBefore(t *testing.T, s hangar.BlobStore) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	b := []byte("cancelled before it started")
	if info, err := s.Put(ctx, bytes.NewReader(b)); !errors.Is(err, context.Canceled) {
		t.Fatalf("Put with a cancelled context = %+v, %v; want context.Canceled", info, err)
	}
	wantAbsent(t, s, DigestOf(b))
}

// recordingReader yields SeededReader bytes, hashing what it hands out, and
// after limit bytes calls onLimit once and either keeps going or fails.
type recordingReader struct {
	r       io.Reader
	limit   int64
	n       int64
	h       io.Writer
	sum     func() []byte
	onLimit func()
	failErr error
}

func newRecordingReader(seed uint64, size, limit int64) *recordingReader {
	h := sha256.New()
	return &recordingReader{r: SeededReader(seed, size), limit: limit, h: h, sum: func() []byte { return h.Sum(nil) }}
}

func (r *recordingReader) Read(p []byte) (int, error) {
	if r.n >= r.limit {
		if r.onLimit != nil {
			r.onLimit()
			r.onLimit = nil
		}
		if r.failErr != nil {
			return 0, r.failErr
		}
	}
	if len(p) > 32<<10 {
		p = p[:32<<10]
	}
	n, err := r.r.Read(p)
	r.n += int64(n)
	r.h.Write(p[:n])
	return n, err
}

func (r *recordingReader) digest() hangar.Digest {
	return hangar.Digest("sha256:" + hex.EncodeToString(r.sum()))
}

func testCancelledMidStream(t *testing.T, s hangar.BlobStore) {
	const size = 8 << 20
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	r := newRecordingReader(11, size, 1<<20)
	r.onLimit = cancel
	if info, err := s.Put(ctx, r); !errors.Is(err, context.Canceled) {
		t.Fatalf("Put cancelled mid-stream = %+v, %v; want context.Canceled", info, err)
	}
	wantAbsent(t, s, r.digest())
	full := sha256.New()
	io.Copy(full, SeededReader(11, size))
	wantAbsent(t, s, hangar.Digest("sha256:"+hex.EncodeToString(full.Sum(nil))))
	// The store is still usable, and the same content can be stored whole.
	info, err := s.Put(t.Context(), SeededReader(11, size))
	if err != nil {
		t.Fatalf("Put after a cancelled Put: %v", err)
	}
	if info.Size != size {
		t.Fatalf("Put after a cancelled Put stored %d bytes, want %d", info.Size, size)
	}
}

func testFailingReader(t *testing.T, s hangar.BlobStore) {
	errBoom := errors.New("boom: the client went away")
	for _, limit := range []int64{0, 1, 100 << 10} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			r := newRecordingReader(13, 4<<20, limit)
			r.failErr = errBoom
			if info, err := s.Put(t.Context(), r); !errors.Is(err, errBoom) {
				t.Fatalf("Put from a failing reader = %+v, %v; want an error wrapping %v", info, err, errBoom)
			}
			wantAbsent(t, s, r.digest())
		})
	}
}

func testConcurrentSame(t *testing.T, s hangar.BlobStore) {
	b := SeededBytes(17, 512<<10)
	want := hangar.BlobInfo{Digest: DigestOf(b), Size: int64(len(b))}
	const n = 8
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make([]error, n)
	infos := make([]hangar.BlobInfo, n)
	for i := range n {
		wg.Go(func() {
			<-start
			infos[i], errs[i] = s.Put(t.Context(), bytes.NewReader(b))
		})
	}
	close(start)
	wg.Wait()
	for i := range n {
		if errs[i] != nil || infos[i] != want {
			t.Errorf("Put %d = %+v, %v; want %+v", i, infos[i], errs[i], want)
		}
	}
	if got := get(t, s, want.Digest); !bytes.Equal(got, b) {
		t.Fatalf("content after concurrent Puts is %d bytes with digest %s, want %s", len(got), DigestOf(got), want.Digest)
	}
}

func testConcurrentDifferent(t *testing.T, s hangar.BlobStore) {
	const n = 8
	var wg sync.WaitGroup
	blobs := make([][]byte, n)
	errs := make([]error, n)
	for i := range n {
		blobs[i] = SeededBytes(uint64(100+i), 100<<10+i)
		wg.Go(func() { _, errs[i] = s.Put(t.Context(), bytes.NewReader(blobs[i])) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("Put %d: %v", i, errs[i])
		}
		if got := get(t, s, DigestOf(blobs[i])); !bytes.Equal(got, blobs[i]) {
			t.Errorf("blob %d read back wrong", i)
		}
	}
}

// Folder is the tree the folder tests store: nested directories, an
// executable, an empty file, names whose byte order differs from a
// per-directory walk ("a-b" < "a/b"), non-ASCII, a duplicate content and a
// symbolic link inside the tree.
func Folder() fstest.MapFS {
	return fstest.MapFS{
		"a.txt":             {Data: []byte("hello\n"), Mode: 0o644},
		"a-b":               {Data: []byte("dash\n"), Mode: 0o644},
		"a/b":               {Data: []byte("slash\n"), Mode: 0o644},
		"bin/train.sh":      {Data: []byte("#!/bin/sh\necho train\n"), Mode: 0o755},
		"empty":             {Data: nil, Mode: 0o644},
		"copy-of-a.txt":     {Data: []byte("hello\n"), Mode: 0o644},
		"data/ünïcode.csv":  {Data: []byte("x,y\n1,2\n"), Mode: 0o644},
		"data/sub/deep.bin": {Data: SeededBytes(21, 300<<10), Mode: 0o644},
		"link-to-a":         {Data: []byte("a.txt"), Mode: fs.ModeSymlink | 0o777},
		"data/up-link":      {Data: []byte("../bin/train.sh"), Mode: fs.ModeSymlink | 0o777},
		"emptydir":          {Mode: fs.ModeDir | 0o755},
	}
}

// folderFiles returns the files of Folder as materialised: links become
// the files they point to.
func folderFiles() map[string]fstest.MapFile {
	src := Folder()
	out := map[string]fstest.MapFile{}
	for name, f := range src {
		switch {
		case f.Mode.IsDir():
		case f.Mode&fs.ModeSymlink != 0:
			target := filepath.ToSlash(filepath.Join(filepath.Dir(name), string(f.Data)))
			out[name] = *src[target]
		default:
			out[name] = *f
		}
	}
	return out
}

func testFolder(t *testing.T, s hangar.BlobStore) {
	ctx := t.Context()
	info, m, err := artifact.PutDir(ctx, s, Folder())
	if err != nil {
		t.Fatalf("PutDir: %v", err)
	}
	want := folderFiles()
	if len(m.Files) != len(want) {
		t.Errorf("manifest has %d files, want %d: %+v", len(m.Files), len(want), m.Files)
	}
	for i, e := range m.Files {
		if i > 0 && m.Files[i-1].Path >= e.Path {
			t.Errorf("manifest not sorted: %q before %q", m.Files[i-1].Path, e.Path)
		}
		f, ok := want[e.Path]
		if !ok {
			t.Errorf("manifest lists %q, which is not in the folder", e.Path)
			continue
		}
		if e.Digest != DigestOf(f.Data) || e.Size != int64(len(f.Data)) || e.Executable != (f.Mode&0o111 != 0) {
			t.Errorf("entry %+v, want digest %s size %d executable %v", e, DigestOf(f.Data), len(f.Data), f.Mode&0o111 != 0)
		}
		if got := get(t, s, e.Digest); !bytes.Equal(got, f.Data) {
			t.Errorf("blob of %q read back wrong", e.Path)
		}
	}

	got, err := artifact.ReadManifest(ctx, s, info.Digest)
	if err != nil {
		t.Fatalf("ReadManifest: %v", err)
	}
	if !reflect.DeepEqual(got, m) {
		t.Errorf("ReadManifest = %+v, want %+v", got, m)
	}

	again, _, err := artifact.PutDir(ctx, s, Folder())
	if err != nil || again != info {
		t.Errorf("PutDir again = %+v, %v; want the same manifest %+v", again, err, info)
	}

	dst := filepath.Join(t.TempDir(), "out")
	if err := artifact.GetDir(ctx, s, info.Digest, dst); err != nil {
		t.Fatalf("GetDir: %v", err)
	}
	checkTree(t, dst, want)

	// Materialising twice replaces files in place.
	if err := artifact.GetDir(ctx, s, info.Digest, dst); err != nil {
		t.Fatalf("GetDir into a populated folder: %v", err)
	}
	checkTree(t, dst, want)

	// The materialised folder stores back to the same manifest.
	back, _, err := artifact.PutDir(ctx, s, os.DirFS(dst))
	if err != nil {
		t.Fatalf("PutDir of the materialised folder: %v", err)
	}
	if back != info {
		t.Errorf("PutDir of the materialised folder = %+v, want %+v", back, info)
	}
}

// checkTree compares the regular files below dir with want.
func checkTree(t *testing.T, dir string, want map[string]fstest.MapFile) {
	t.Helper()
	seen := map[string]bool{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		seen[rel] = true
		f, ok := want[rel]
		if !ok {
			t.Errorf("unexpected file %q", rel)
			return nil
		}
		if !d.Type().IsRegular() {
			t.Errorf("%q is %v, want a regular file", rel, d.Type())
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if !bytes.Equal(b, f.Data) {
			t.Errorf("%q has %d bytes (%s), want %d (%s)", rel, len(b), DigestOf(b), len(f.Data), DigestOf(f.Data))
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if exec := fi.Mode()&0o100 != 0; exec != (f.Mode&0o111 != 0) {
			t.Errorf("%q has mode %v, want executable=%v", rel, fi.Mode(), f.Mode&0o111 != 0)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for name := range want {
		if !seen[name] {
			t.Errorf("missing file %q", name)
		}
	}
}

func testFolderErrors(t *testing.T, s hangar.BlobStore) {
	ctx := t.Context()
	dst := t.TempDir()
	if err := artifact.GetDir(ctx, s, DigestOf([]byte("absent")), dst); !hangar.IsCode(err, hangar.ENOTFOUND) {
		t.Errorf("GetDir of a missing manifest: %v, want %s", err, hangar.ENOTFOUND)
	}
	notManifest := put(t, s, []byte("just some bytes"))
	if err := artifact.GetDir(ctx, s, notManifest.Digest, dst); !hangar.IsCode(err, hangar.EINVALID) {
		t.Errorf("GetDir of a blob that is no manifest: %v, want %s", err, hangar.EINVALID)
	}
	if err := artifact.GetDir(ctx, s, "sha256:../x", dst); !hangar.IsCode(err, hangar.EINVALID) {
		t.Errorf("GetDir of an invalid digest: %v, want %s", err, hangar.EINVALID)
	}
	// A manifest listing a file that is not stored.
	missing := `{"version":1,"files":[{"path":"f","digest":"` + string(DigestOf([]byte("absent"))) + `","size":6}]}`
	mi := put(t, s, []byte(missing))
	if err := artifact.GetDir(ctx, s, mi.Digest, dst); !hangar.IsCode(err, hangar.ENOTFOUND) {
		t.Errorf("GetDir with a missing file blob: %v, want %s", err, hangar.ENOTFOUND)
	}
	entries, err := os.ReadDir(dst)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Errorf("failed GetDir left %d entries in the destination: %v", len(entries), entries)
	}
}

// ManifestSeeds are encoded manifests, valid and not, that the fuzz tests
// of manifest readers start from: empty, one file, paths that sort
// differently byte-wise and element-wise, a path leaving the folder, a file
// that is also a directory, and escaped Unicode.
func ManifestSeeds() [][]byte {
	hello, empty := string(DigestOf([]byte("hello\n"))), string(DigestOf(nil))
	return [][]byte{
		[]byte(`{"version":1,"files":[]}`),
		[]byte(`{"version":1,"files":[{"path":"a","digest":"` + hello + `","size":6}]}`),
		[]byte(`{"version":1,"files":[{"path":"a-b","digest":"` + hello + `","size":6},{"path":"a/b","digest":"` + empty + `","size":0,"executable":true}]}`),
		[]byte(`{"version":1,"files":[{"path":"../a","digest":"` + hello + `","size":6}]}`),
		[]byte(`{"version":1,"files":[{"path":"a","digest":"` + hello + `","size":6},{"path":"a/b","digest":"` + hello + `","size":6}]}`),
		[]byte(`{"version":1,"files":[{"path":"\u00fc\u003c","digest":"` + hello + `","size":6}]}`),
	}
}
