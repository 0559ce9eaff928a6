package artifact_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/artifact"
)

// countingStore counts the bytes Put sends to a store.
type countingStore struct {
	hangar.BlobStore
	sent atomic.Int64
	puts atomic.Int64
}

func (c *countingStore) Put(ctx context.Context, r io.Reader) (hangar.BlobInfo, error) {
	info, err := c.BlobStore.Put(ctx, r)
	c.sent.Add(info.Size)
	c.puts.Add(1)
	return info, err
}

func TestUploadDir(t *testing.T) {
	ctx := t.Context()
	big := bytes.Repeat([]byte("0123456789abcdef"), 300_000) // 4.8 MB: several progress steps
	fsys := fstest.MapFS{
		"a.txt":     {Data: []byte("a")},
		"b/big.bin": {Data: big},
		"b/same":    {Data: []byte("a")}, // the same content as a.txt: sent once
		"run.sh":    {Data: []byte("#!/bin/sh\n"), Mode: 0o755},
	}
	store := &countingStore{BlobStore: newStore(t)}
	var reports []artifact.Progress
	info, m, err := artifact.UploadDir(ctx, store, fsys, artifact.UploadOptions{Progress: func(p artifact.Progress) { reports = append(reports, p) }})
	if err != nil {
		t.Fatal(err)
	}
	// The same manifest as PutDir's.
	wantInfo, _, err := artifact.PutDir(ctx, newStore(t), fsys)
	if err != nil {
		t.Fatal(err)
	}
	if info != wantInfo {
		t.Errorf("UploadDir manifest %v, PutDir's %v: want equal", info, wantInfo)
	}
	if !m.Files[3].Executable || m.Files[0].Executable {
		t.Errorf("executable bits %+v: want run.sh only", m.Files)
	}
	total := int64(1 + len(big) + 1 + len("#!/bin/sh\n"))
	if got, want := store.sent.Load(), total-1+info.Size; got != want {
		t.Errorf("sent %d bytes, want %d (each content once, and the manifest)", got, want)
	}
	var hashEnd, uploadEnd *artifact.Progress
	for i, p := range reports {
		switch {
		case p.Phase == artifact.PhaseHash && p.Done == p.Total:
			hashEnd = &reports[i]
		case p.Phase == artifact.PhaseUpload && p.Done == p.Total:
			uploadEnd = &reports[i]
		}
	}
	if hashEnd == nil || hashEnd.Total != total || uploadEnd == nil || uploadEnd.Total != total-1 || uploadEnd.Skipped != 1 {
		t.Errorf("progress reports %+v: want the hashing of %d bytes and the upload of %d, 1 skipped", reports, total, total-1)
	}
	if len(reports) < 6 {
		t.Errorf("%d progress reports for %d bytes: want one per MiB or so", len(reports), total)
	}

	// Again: everything is in the store, only the manifest is put.
	store.sent.Store(0)
	store.puts.Store(0)
	var last artifact.Progress
	if _, _, err := artifact.UploadDir(ctx, store, fsys, artifact.UploadOptions{Progress: func(p artifact.Progress) { last = p }}); err != nil {
		t.Fatal(err)
	}
	if store.puts.Load() != 1 || last.Phase != artifact.PhaseUpload || last.Total != 0 || last.Skipped != total {
		t.Errorf("second upload: %d puts, last report %+v; want only the manifest put and %d bytes skipped", store.puts.Load(), last, total)
	}
}

func TestUploadFile(t *testing.T) {
	ctx := t.Context()
	fsys := fstest.MapFS{"d/t.csv": {Data: []byte("a\n1\n")}, "d/other": {Data: []byte("x")}}
	_, m, err := artifact.UploadFile(ctx, newStore(t), fsys, "d/t.csv", artifact.UploadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Files) != 1 || m.Files[0].Path != "t.csv" || m.Files[0].Size != 4 {
		t.Errorf("UploadFile manifest %+v: want t.csv alone", m.Files)
	}
	if _, _, err := artifact.UploadFile(ctx, newStore(t), fsys, "d/none", artifact.UploadOptions{}); err == nil {
		t.Error("UploadFile of a missing file: no error")
	}
}

func TestHash(t *testing.T) {
	for _, n := range []int{0, 1, 1 << 20, 1<<20 + 1, 3 << 20} {
		data := bytes.Repeat([]byte{'x'}, n)
		var steps int64
		got, err := artifact.Hash(t.Context(), bytes.NewReader(data), func(k int64) { steps += k })
		sum := sha256.Sum256(data)
		want := hangar.BlobInfo{Digest: hangar.Digest("sha256:" + hex.EncodeToString(sum[:])), Size: int64(n)}
		if err != nil || got != want || steps != int64(n) {
			t.Errorf("Hash(%d bytes) = %v, %v, %d stepped; want %v", n, got, err, steps, want)
		}
	}
}

var hashBenchSize = flag.Int64("hashbench.size", 1<<30, "bytes of the file BenchmarkUploadHash hashes")

// BenchmarkUploadHash measures upload hashing (artifact.Hash over a file,
// as UploadDir reads it) against sha256sum on the same file in the same
// run, and reports both rates and their ratio; BENCHMARKS.md has the
// command and the result. The file is written once, then read by
// sha256sum first so both read it from the page cache.
func BenchmarkUploadHash(b *testing.B) {
	sha256sum, err := exec.LookPath("sha256sum")
	if err != nil {
		b.Skip("sha256sum not on PATH")
	}
	path := filepath.Join(b.TempDir(), "data.bin")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	block := bytes.Repeat([]byte("hangar upload hashing benchmark "), 1<<15) // 1 MiB
	for n := int64(0); n < *hashBenchSize; n += int64(len(block)) {
		if _, err := f.Write(block[:min(int64(len(block)), *hashBenchSize-n)]); err != nil {
			b.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	if err := exec.Command(sha256sum, path).Run(); err != nil { // warm the page cache
		b.Fatal(err)
	}
	var theirs, ours time.Duration
	var sumTheirs, sumOurs string
	for b.Loop() {
		start := time.Now()
		out, err := exec.Command(sha256sum, path).Output()
		if err != nil {
			b.Fatal(err)
		}
		theirs += time.Since(start)
		sumTheirs, _, _ = strings.Cut(string(out), " ")

		start = time.Now()
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		info, err := artifact.Hash(b.Context(), f, nil)
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
		ours += time.Since(start)
		sumOurs = info.Digest.Hex()
	}
	if sumOurs != sumTheirs {
		b.Fatalf("digest %s, sha256sum's %s", sumOurs, sumTheirs)
	}
	mb := float64(*hashBenchSize) * float64(b.N) / 1e6
	b.ReportMetric(mb/ours.Seconds(), "ours-MB/s")
	b.ReportMetric(mb/theirs.Seconds(), "sha256sum-MB/s")
	b.ReportMetric(theirs.Seconds()/ours.Seconds(), "ours/sha256sum")
	b.Logf("%d MB: artifact.Hash %.0f MB/s, sha256sum %.0f MB/s: %.0f%%", *hashBenchSize/1e6, mb/ours.Seconds(), mb/theirs.Seconds(), 100*theirs.Seconds()/ours.Seconds())
}
