package disk_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/artifact"
	"github.com/hangar-ml/hangar/disk"
	"github.com/hangar-ml/hangar/internal/blobtest"
)

func newStore(t *testing.T) *disk.BlobStore {
	t.Helper()
	s := disk.New(filepath.Join(t.TempDir(), "artifacts"))
	if err := s.Init(t.Context()); err != nil {
		t.Fatalf("Init: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) hangar.BlobStore {
		s := newStore(t)
		t.Cleanup(func() { checkNoTemp(t, s) })
		return s
	})
}

// TestConformanceWithoutInit runs the suite on a store whose folder does not
// exist yet: Put creates it.
func TestConformanceWithoutInit(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) hangar.BlobStore {
		return disk.New(filepath.Join(t.TempDir(), "not", "yet", "there"))
	})
}

// checkNoTemp fails if an upload left its temporary file behind.
func checkNoTemp(t *testing.T, s *disk.BlobStore) {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(s.Root(), "tmp"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("temporary file %s left behind", e.Name())
	}
}

func TestLayout(t *testing.T) {
	s := newStore(t)
	info, err := s.Put(t.Context(), strings.NewReader("hello"))
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(s.Root(), "blobs", "sha256", info.Digest.Hex()[:2], info.Digest.Hex())
	got, err := s.Path(t.Context(), info.Digest)
	if err != nil || got != want {
		t.Fatalf("Path = %q, %v; want %q", got, err, want)
	}
	fi, err := os.Stat(want)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm()&0o222 != 0 {
		t.Errorf("blob mode %v, want read-only", fi.Mode())
	}
	if _, err := s.Path(t.Context(), blobtest.DigestOf([]byte("no"))); !hangar.IsCode(err, hangar.ENOTFOUND) {
		t.Errorf("Path of a missing blob: %v, want %s", err, hangar.ENOTFOUND)
	}
	if _, err := s.Path(t.Context(), "sha256:../../x"); !hangar.IsCode(err, hangar.EINVALID) {
		t.Errorf("Path of an invalid digest: %v, want %s", err, hangar.EINVALID)
	}
}

// TestDedupDoesNotRewrite checks that a second Put of the same content
// leaves the stored file alone.
func TestDedupDoesNotRewrite(t *testing.T) {
	s := newStore(t)
	b := blobtest.SeededBytes(1, 4096)
	info, err := s.Put(t.Context(), bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	p, _ := s.Path(t.Context(), info.Digest)
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
	before, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(t.Context(), bytes.NewReader(b)); err != nil {
		t.Fatal(err)
	}
	after, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) || !after.ModTime().Equal(old) {
		t.Errorf("second Put replaced the blob file (same file %v, mtime %v, want %v)", os.SameFile(before, after), after.ModTime(), old)
	}
	checkNoTemp(t, s)
}

// TestPutRepairsTruncatedBlob checks that a stored file of the wrong size
// (a damaged disk, a hand edit) is replaced by a Put of the right content.
func TestPutRepairsTruncatedBlob(t *testing.T) {
	s := newStore(t)
	b := []byte("the whole content")
	info, err := s.Put(t.Context(), bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	p, _ := s.Path(t.Context(), info.Digest)
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b[:4], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(t.Context(), bytes.NewReader(b)); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(p)
	if err != nil || !bytes.Equal(got, b) {
		t.Fatalf("after repair: %q, %v; want %q", got, err, b)
	}
}

func TestInitRemovesStaleTemp(t *testing.T) {
	root := filepath.Join(t.TempDir(), "artifacts")
	s := disk.New(root)
	if err := s.Init(t.Context()); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(root, "tmp")
	stale := filepath.Join(tmp, "put-123.tmp")
	fresh := filepath.Join(tmp, "put-456.tmp")
	other := filepath.Join(tmp, "not-ours")
	for _, p := range []string{stale, fresh, other} {
		if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-time.Hour)
	for _, p := range []string{stale, other} {
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	s = disk.New(root) // a restart
	s.StaleTempAge = 10 * time.Minute
	if err := s.Init(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path string
		want bool
	}{{stale, false}, {fresh, true}, {other, true}} {
		_, err := os.Stat(c.path)
		if exists := err == nil; exists != c.want {
			t.Errorf("%s exists = %v, want %v", filepath.Base(c.path), exists, c.want)
		}
	}
}

// TestCancelledPutLeavesNoTemp checks the disk side of the suite's
// cancellation test: no temporary file remains after a cancelled Put.
func TestCancelledPutLeavesNoTemp(t *testing.T) {
	s := newStore(t)
	ctx, cancel := context.WithCancel(t.Context())
	r := io.MultiReader(strings.NewReader("first part"), readerFunc(func(p []byte) (int, error) {
		cancel()
		return copy(p, "more"), nil
	}), strings.NewReader("rest"))
	if _, err := s.Put(ctx, r); !errors.Is(err, context.Canceled) {
		t.Fatalf("Put = %v, want context.Canceled", err)
	}
	checkNoTemp(t, s)
	blobs, err := filepath.Glob(filepath.Join(s.Root(), "blobs", "sha256", "*", "*"))
	if err != nil || len(blobs) != 0 {
		t.Errorf("blobs after a cancelled Put: %v, %v", blobs, err)
	}
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

// TestGetDirNoticesCorruption checks that GetDir refuses a blob whose
// content no longer matches its digest.
func TestGetDirNoticesCorruption(t *testing.T) {
	s := newStore(t)
	info, m, err := artifact.PutDir(t.Context(), s, blobtest.Folder())
	if err != nil {
		t.Fatal(err)
	}
	var victim hangar.ManifestEntry
	for _, e := range m.Files {
		if e.Path == "data/sub/deep.bin" {
			victim = e
		}
	}
	p, _ := s.Path(t.Context(), victim.Digest)
	os.Chmod(p, 0o644)
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte("X"), 1000)
	f.Close()
	dst := t.TempDir()
	err = artifact.GetDir(t.Context(), s, info.Digest, dst)
	if err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Fatalf("GetDir with a corrupt blob: %v, want a mismatch error", err)
	}
	if _, err := os.Stat(filepath.Join(dst, "data/sub/deep.bin")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the corrupt file was materialised: %v", err)
	}
	tmps, _ := filepath.Glob(filepath.Join(dst, "data/sub/.hangar-*"))
	if len(tmps) != 0 {
		t.Errorf("temporary files left: %v", tmps)
	}
}

func BenchmarkPut(b *testing.B) {
	for _, size := range []int{4 << 10, 1 << 20, 16 << 20} {
		b.Run(byteSize(size), func(b *testing.B) {
			s := disk.New(b.TempDir())
			b.SetBytes(int64(size))
			seed := uint64(0)
			for b.Loop() {
				seed++ // new content each time, so nothing is deduplicated
				if _, err := s.Put(b.Context(), blobtest.SeededReader(seed, int64(size))); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkOpen(b *testing.B) {
	s := disk.New(b.TempDir())
	info, err := s.Put(b.Context(), blobtest.SeededReader(1, 16<<20))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(info.Size)
	for b.Loop() {
		rc, err := s.Open(b.Context(), info.Digest)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, rc)
		rc.Close()
	}
}

func byteSize(n int) string {
	switch {
	case n >= 1<<20:
		return itoa(n>>20) + "MiB"
	default:
		return itoa(n>>10) + "KiB"
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestFilesArePrivate checks that blobs and the store's folders are not
// readable by other users, whatever the permissions the store was created with.
func TestFilesArePrivate(t *testing.T) {
	root := filepath.Join(t.TempDir(), "artifacts")
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	s := disk.New(root)
	if err := s.Init(t.Context()); err != nil {
		t.Fatal(err)
	}
	info, err := s.Put(t.Context(), strings.NewReader("private\n"))
	if err != nil {
		t.Fatal(err)
	}
	err = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %v, want no access for group and others", p, fi.Mode().Perm())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Stat(t.Context(), info.Digest); err != nil {
		t.Fatal(err)
	}
}

// TestCheck checks that the readiness probe writes to the store and fails
// when the store cannot take a write.
func TestCheck(t *testing.T) {
	s := newStore(t)
	if err := s.Check(t.Context()); err != nil {
		t.Fatalf("Check on a healthy store: %v", err)
	}
	checkNoTemp(t, s)
	// The upload folder replaced by a file: no write can succeed (a
	// permission change would not do, tests may run as root).
	tmp := filepath.Join(s.Root(), "tmp")
	if err := os.RemoveAll(tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tmp, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.Check(t.Context()); err == nil {
		t.Fatal("Check succeeded on a store whose upload folder is a file")
	}
}
