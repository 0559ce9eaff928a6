package s3store_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/internal/blobtest"
	"github.com/hangar-ml/hangar/internal/s3test"
	"github.com/hangar-ml/hangar/s3store"
)

// counter counts the requests of each method that reach the server.
type counter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counter) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[r.Method]++
	c.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

func (c *counter) get(method string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[method]
}

func config(b s3test.Bucket, prefix string) s3store.Config {
	return s3store.Config{Bucket: b.Name, Prefix: prefix, Endpoint: b.Endpoint, Credentials: b.Credentials()}
}

// countingStore is a store on b (not initialised) whose requests c
// counts.
func countingStore(t *testing.T, b s3test.Bucket, c *counter) *s3store.BlobStore {
	t.Helper()
	cfg := config(b, "")
	cfg.Transport = c
	s, err := s3store.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newStore(t *testing.T, b s3test.Bucket, prefix string) *s3store.BlobStore {
	t.Helper()
	s, err := s3store.New(config(b, prefix))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := s.Init(t.Context()); err != nil {
		t.Fatalf("Init: %v", err)
	}
	return s
}

// checkNoTemp fails if an upload left a temporary object or an incomplete
// multipart upload behind.
func checkNoTemp(t *testing.T, b s3test.Bucket, prefix string) {
	t.Helper()
	for _, k := range b.Keys(t, prefix+"tmp/") {
		t.Errorf("temporary object %s left behind", k)
	}
	for up := range b.Client(t).ListIncompleteUploads(context.Background(), b.Name, prefix+"tmp/", true) {
		if up.Err != nil {
			t.Fatalf("list incomplete uploads: %v", up.Err)
		}
		t.Errorf("incomplete multipart upload %s of %s left behind", up.UploadID, up.Key)
	}
}

func TestConformance(t *testing.T) {
	for _, prefix := range []string{"", "hangar/prod/"} {
		t.Run("prefix="+prefix, func(t *testing.T) {
			blobtest.Run(t, func(t *testing.T) hangar.BlobStore {
				b := s3test.New(t)
				s := newStore(t, b, prefix)
				t.Cleanup(func() { checkNoTemp(t, b, prefix) })
				return s
			})
		})
	}
}

func TestLayout(t *testing.T) {
	b := s3test.New(t)
	s := newStore(t, b, "p/q/")
	small, err := s.Put(t.Context(), strings.NewReader("hello"))
	if err != nil {
		t.Fatal(err)
	}
	large, err := s.Put(t.Context(), blobtest.SeededReader(1, s3store.SmallBlobSize+1))
	if err != nil {
		t.Fatal(err)
	}
	got := b.Keys(t, "")
	want := []string{"p/q/blobs/sha256/" + small.Digest.Hex(), "p/q/blobs/sha256/" + large.Digest.Hex()}
	if len(got) != 2 || !(got[0] == want[0] && got[1] == want[1] || got[0] == want[1] && got[1] == want[0]) {
		t.Errorf("keys = %q, want %q", got, want)
	}
}

func TestCancelledPutLeavesNoTemp(t *testing.T) {
	b := s3test.New(t)
	s := newStore(t, b, "")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	// Past the first part, so a multipart upload is in progress.
	r := &cancelAfter{r: blobtest.SeededReader(5, 64<<20), after: s3store.PartSize + 3<<20, cancel: cancel}
	if _, err := s.Put(ctx, r); !errors.Is(err, context.Canceled) {
		t.Fatalf("Put cancelled mid-stream: %v, want context.Canceled", err)
	}
	checkNoTemp(t, b, "")
	if keys := b.Keys(t, ""); len(keys) != 0 {
		t.Errorf("objects after a cancelled Put: %q", keys)
	}
}

type cancelAfter struct {
	r      io.Reader
	n      int64
	after  int64
	cancel func()
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	if c.n >= c.after {
		c.cancel()
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func TestDedupDoesNotUpload(t *testing.T) {
	for _, size := range []int64{1000, s3store.SmallBlobSize + 1000} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			b := s3test.New(t)
			var c counter
			s := countingStore(t, b, &c)
			first, err := s.Put(t.Context(), blobtest.SeededReader(9, size))
			if err != nil {
				t.Fatal(err)
			}
			puts := c.get(http.MethodPut)
			if puts == 0 {
				t.Fatalf("first Put sent no PUT")
			}
			second, err := s.Put(t.Context(), blobtest.SeededReader(9, size))
			if err != nil || second != first {
				t.Fatalf("second Put = %+v, %v; want %+v", second, err, first)
			}
			// A small blob is checked before anything is sent; a large one
			// is uploaded to find its digest (S3 cannot hash for us), but
			// never copied onto the stored blob again.
			wantPuts := puts
			if size > s3store.SmallBlobSize {
				wantPuts = puts + (puts - 1) // again the part PUTs, not the copy's PUT
			}
			if got := c.get(http.MethodPut); got != wantPuts {
				t.Errorf("PUT requests after the second Put = %d, want %d", got, wantPuts)
			}
			checkNoTemp(t, b, "")
		})
	}
}

// TestLargePutBoundedMemory streams 64 MiB (4 parts) and checks that the
// heap never holds more than a few parts' worth.
func TestLargePutBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("64 MiB upload")
	}
	const size = 64 << 20
	b := s3test.New(t)
	s := newStore(t, b, "")
	// Collect often, so that the heap in use follows what is live rather
	// than how much garbage the pacer lets pile up.
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	})
	h := sha256.New()
	info, err := s.Put(t.Context(), io.TeeReader(blobtest.SeededReader(77, size), h))
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	if want := hangar.Digest("sha256:" + hex.EncodeToString(h.Sum(nil))); info.Digest != want || info.Size != size {
		t.Fatalf("Put = %+v, want %s of %d bytes", info, want, size)
	}
	grew := int64(peak.Load()) - int64(base.HeapInuse)
	t.Logf("heap in use grew by %d MiB during a %d MiB Put", grew>>20, size>>20)
	if limit := int64(size / 2); grew > limit {
		t.Errorf("heap in use grew by %d MiB, want under %d MiB: the upload is buffered", grew>>20, limit>>20)
	}
	checkNoTemp(t, b, "")
}

func TestWrongCredentials(t *testing.T) {
	b := s3test.New(t)
	for _, tc := range []struct {
		name           string
		access, secret string
		want           string
	}{
		{"unknown key", "nobody", b.SecretKey, "access key is not known"},
		{"wrong secret", b.AccessKey, "wrong-secret", "secret key does not match"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config(b, "")
			cfg.Credentials = credentials.NewStaticV4(tc.access, tc.secret, "")
			s, err := s3store.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			err = s.Init(t.Context())
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), b.Name) {
				t.Fatalf("Init with wrong credentials: %v; want an error naming the bucket and saying %q", err, tc.want)
			}
			if strings.Contains(err.Error(), tc.secret) {
				t.Errorf("error %q shows the secret", err)
			}
			if _, err := s.Put(t.Context(), strings.NewReader("x")); err == nil {
				t.Errorf("Put with wrong credentials succeeded")
			}
			if err := s.Check(t.Context()); err == nil {
				t.Errorf("Check with wrong credentials succeeded")
			}
		})
	}
}

func TestMissingBucket(t *testing.T) {
	b := s3test.New(t)
	b.Name = "hangar-no-such-bucket"
	s, err := s3store.New(config(b, ""))
	if err != nil {
		t.Fatal(err)
	}
	err = s.Init(t.Context())
	if !hangar.IsCode(err, hangar.ENOTFOUND) || !strings.Contains(err.Error(), "bucket hangar-no-such-bucket does not exist") {
		t.Fatalf("Init of a missing bucket: %v; want %s naming it", err, hangar.ENOTFOUND)
	}
	if ok, _ := b.Client(t).BucketExists(t.Context(), b.Name); ok {
		t.Errorf("Init created the bucket")
	}
}

func TestCheck(t *testing.T) {
	b := s3test.New(t)
	s := newStore(t, b, "x/")
	if err := s.Check(t.Context()); err != nil {
		t.Fatalf("Check: %v", err)
	}
	checkNoTemp(t, b, "x/")
}

func TestRemoveStaleTemp(t *testing.T) {
	b := s3test.New(t)
	c := b.Client(t)
	ctx := t.Context()
	if _, err := c.PutObject(ctx, b.Name, "pre/tmp/crashed", bytes.NewReader([]byte("x")), 1, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutObject(ctx, b.Name, "pre/blobs/sha256/keep", bytes.NewReader([]byte("x")), 1, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	core := &minio.Core{Client: c}
	if _, err := core.NewMultipartUpload(ctx, b.Name, "pre/tmp/crashed-multipart", minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	cfg := config(b, "pre/")
	cfg.StaleTempAge = time.Hour
	s, err := s3store.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := s.RemoveStaleTemp(ctx); err != nil || n != 0 {
		t.Fatalf("RemoveStaleTemp of a fresh upload = %d, %v; want 0, nil", n, err)
	}
	cfg.StaleTempAge = time.Nanosecond
	if s, err = s3store.New(cfg); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	if n, err := s.RemoveStaleTemp(ctx); err != nil || n != 2 {
		t.Fatalf("RemoveStaleTemp of an old object and multipart upload = %d, %v; want 2, nil", n, err)
	}
	checkNoTemp(t, b, "pre/")
	if got := b.Keys(t, ""); len(got) != 1 || got[0] != "pre/blobs/sha256/keep" {
		t.Errorf("keys after RemoveStaleTemp = %q, want only the blob", got)
	}
}

func TestNewRejects(t *testing.T) {
	creds := credentials.NewStaticV4("a", "b", "")
	for _, tc := range []struct {
		name string
		cfg  s3store.Config
	}{
		{"no bucket", s3store.Config{Credentials: creds}},
		{"bad bucket", s3store.Config{Bucket: "Bad_Bucket", Credentials: creds}},
		{"prefix without slash", s3store.Config{Bucket: "b-1", Prefix: "p", Credentials: creds}},
		{"prefix with ..", s3store.Config{Bucket: "b-1", Prefix: "../", Credentials: creds}},
		{"no credentials", s3store.Config{Bucket: "b-1"}},
		{"endpoint scheme", s3store.Config{Bucket: "b-1", Endpoint: "ftp://host", Credentials: creds}},
		{"endpoint path", s3store.Config{Bucket: "b-1", Endpoint: "http://host/path", Credentials: creds}},
		{"endpoint credentials", s3store.Config{Bucket: "b-1", Endpoint: "http://k:s@host", Credentials: creds}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := s3store.New(tc.cfg); err == nil {
				t.Errorf("New(%+v) succeeded, want an error", tc.cfg)
			} else if strings.Contains(err.Error(), "k:s@") {
				t.Errorf("error %q shows credentials", err)
			}
		})
	}
}

// TestBucketGone checks that a bucket deleted under a running store fails
// Put and the readiness check. (Open and Stat answer ENOTFOUND: S3 answers
// their HEAD requests without a body, so a missing bucket and a missing
// object look alike; readiness tells the operator.)
func TestBucketGone(t *testing.T) {
	b := s3test.New(t)
	s := newStore(t, b, "")
	info, err := s.Put(t.Context(), strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	c := b.Client(t)
	if err := c.RemoveObject(t.Context(), b.Name, "blobs/sha256/"+info.Digest.Hex(), minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.RemoveBucket(t.Context(), b.Name); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(t.Context(), strings.NewReader("y")); err == nil {
		t.Errorf("Put into a deleted bucket succeeded")
	}
	if err := s.Check(t.Context()); err == nil || !strings.Contains(err.Error(), b.Name) {
		t.Errorf("Check of a deleted bucket: %v; want an error naming it", err)
	}
}

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// TestCheckCached checks that Check answers a burst of probes with one
// write, and probes again once its result is CheckCacheAge old.
func TestCheckCached(t *testing.T) {
	b := s3test.New(t)
	var c counter
	s := countingStore(t, b, &c)
	clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s3store.SetTimeouts(s, s3store.InitTimeout, s3store.CheckTimeout, clk.now)
	for i := range 2 {
		if err := s.Check(t.Context()); err != nil {
			t.Fatalf("Check %d: %v", i, err)
		}
	}
	if got := c.get(http.MethodPut); got != 1 {
		t.Errorf("PUT requests after two Checks in a row = %d, want 1", got)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if err := s.Check(t.Context()); err != nil {
				t.Errorf("concurrent Check: %v", err)
			}
		})
	}
	wg.Wait()
	if got := c.get(http.MethodPut); got != 1 {
		t.Errorf("PUT requests after a burst of Checks = %d, want 1", got)
	}
	clk.add(s3store.CheckCacheAge)
	if err := s.Check(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := c.get(http.MethodPut); got != 2 {
		t.Errorf("PUT requests after a Check %v later = %d, want 2", s3store.CheckCacheAge, got)
	}
	checkNoTemp(t, b, "")
}

// TestCheckCachesFailure checks that a failed probe is remembered too: a
// burst of probes of a broken store does not each write.
func TestCheckCachesFailure(t *testing.T) {
	b := s3test.New(t)
	var c counter
	cfg := config(b, "")
	cfg.Transport = &c
	cfg.Credentials = credentials.NewStaticV4(b.AccessKey, "wrong-secret", "")
	s, err := s3store.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := s.Check(t.Context()); err == nil || !strings.Contains(err.Error(), "secret key does not match") {
			t.Fatalf("Check %d with a wrong secret: %v; want it to say so", i, err)
		}
	}
	if got := c.get(http.MethodPut); got != 1 {
		t.Errorf("PUT requests after three failing Checks = %d, want 1", got)
	}
}

// cancelOnPut cancels a context once the server has answered a PUT, as a
// readiness probe abandoned at the wrong moment would be.
type cancelOnPut struct {
	cancel context.CancelFunc
}

func (c *cancelOnPut) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if r.Method == http.MethodPut {
		c.cancel()
	}
	return resp, err
}

func TestCancelledCheckLeavesNoTemp(t *testing.T) {
	b := s3test.New(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	cfg := config(b, "")
	cfg.Transport = &cancelOnPut{cancel: cancel}
	s, err := s3store.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	err = s.Check(ctx)
	t.Logf("Check cancelled after its PUT: %v", err)
	checkNoTemp(t, b, "")
	if keys := b.Keys(t, ""); len(keys) != 0 {
		t.Errorf("objects after a cancelled Check: %q", keys)
	}
}

// hang is a transport whose requests never get an answer.
type hang struct{}

func (hang) RoundTrip(r *http.Request) (*http.Response, error) {
	<-r.Context().Done()
	return nil, r.Context().Err()
}

func TestTimeouts(t *testing.T) {
	b := s3test.New(t)
	cfg := config(b, "")
	cfg.Transport = hang{}
	s, err := s3store.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s3store.SetTimeouts(s, 200*time.Millisecond, 200*time.Millisecond, time.Now)
	host := strings.TrimPrefix(b.Endpoint, "http://")
	start := time.Now()
	err = s.Init(t.Context())
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), b.Name) || !strings.Contains(err.Error(), host) || !strings.Contains(err.Error(), "did not answer") {
		t.Errorf("Init of a server that does not answer: %v; want %v naming bucket %s and %s", err, context.DeadlineExceeded, b.Name, host)
	}
	err = s.Check(t.Context())
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), b.Name) {
		t.Errorf("Check of a server that does not answer: %v; want %v naming bucket %s", err, context.DeadlineExceeded, b.Name)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Init and Check took %v with 200ms deadlines", d)
	}
}
