// Package s3store is the artifact store on an S3-compatible object store
// (AWS S3, MinIO, Ceph RGW, versitygw, …): content-addressed blobs named by
// their SHA-256 digest, written so that a partial upload is never visible.
//
// Layout under the bucket and the configured prefix:
//
//	blobs/sha256/abcdef…   one object per blob, never modified once written
//	tmp/<random>           uploads in progress, copied into blobs/ once hashed
//
// An upload cannot know its digest — its object key — before it has read the
// whole stream, and S3 has no rename. Put therefore streams to a temporary
// key while hashing, then copies that object server-side to its digest's key
// (no bytes travel through the server again) and deletes the temporary one.
// Content small enough to hold in memory (SmallBlobSize) is hashed first and
// written straight to its final key in one PUT, which S3 makes visible whole
// or not at all. Content already stored is not uploaded or copied again.
//
// The store relies on S3's strong read-after-write consistency (AWS S3 since
// December 2020; MinIO, Ceph and versitygw alike): a blob Put returns is
// visible to every server sharing the bucket.
package s3store

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/s3utils"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/artifact"
)

const (
	// PartSize is the part size of a streamed (multipart) upload. The
	// client holds one part in memory per upload in progress, so it bounds
	// a Put's memory; S3 allows 10,000 parts, so it also bounds a blob's
	// size: 16 MiB × 10,000 ≈ 156 GiB. 16 MiB is minio-go's own default —
	// large enough for throughput, small enough for many parallel uploads.
	PartSize = 16 << 20

	// MaxBlobSize is the largest blob Put accepts: PartSize × 10,000 parts.
	MaxBlobSize = PartSize * 10_000

	// SmallBlobSize is the size up to which Put reads the whole content
	// before it writes anything: such a blob is hashed first, skipped if
	// stored already, else written in one PUT to its final key — two
	// requests instead of a multipart upload, a copy and a delete. Most
	// artifacts (manifests, metrics, configs, small models) are that small.
	SmallBlobSize = 1 << 20

	// DefaultStaleTempAge is how long an upload's temporary object may
	// exist before Init treats it as left over from a crash.
	DefaultStaleTempAge = 24 * time.Hour

	// DefaultRegion is the region used when Config.Region is empty.
	DefaultRegion = "us-east-1"

	// InitTimeout bounds Init: minio-go retries failed requests and dials
	// for up to 30 s each, so an unreachable server would otherwise hold
	// the server's start for minutes without a word.
	InitTimeout = 30 * time.Second

	// CheckTimeout bounds Check, a readiness probe: a probe that hangs
	// is a failed probe.
	CheckTimeout = 5 * time.Second

	// CheckCacheAge is how long Check answers with the result of its last
	// probe. Readiness is polled, and public: a burst of probes makes one
	// S3 write rather than one each.
	CheckCacheAge = 2 * time.Second
)

// Config says where the store is and how to reach it.
type Config struct {
	// Bucket is the bucket, which must exist: the store never creates one.
	Bucket string
	// Prefix is prepended to every key: "" or a path ending in "/"
	// ("hangar/"). ParseLocation returns it in that form.
	Prefix string
	// Endpoint is the URL of an S3-compatible server
	// ("http://127.0.0.1:7070", "https://minio.example.com"); https when
	// the URL has no scheme. Empty means AWS S3. With an endpoint the
	// store addresses buckets path-style (https://host/bucket/key), which
	// every S3-compatible server supports; on AWS virtual-host style.
	Endpoint string
	// Region is the bucket's region; DefaultRegion when empty.
	Region string
	// Credentials signs the requests; DefaultCredentials gives the usual
	// AWS chain. Required.
	Credentials *credentials.Credentials
	// Transport, when set, carries the requests (tests use it to count them).
	Transport http.RoundTripper
	// StaleTempAge is how long a temporary upload object may exist before
	// Init removes it. Zero means DefaultStaleTempAge. Keep it above the
	// longest upload: S3 gives an object no modification time until it is
	// complete, so a live upload's parts are told from a crashed one's
	// only by their age.
	StaleTempAge time.Duration
}

// BlobStore is a hangar.BlobStore on an S3 bucket. It is safe for
// concurrent use, also by several servers sharing the bucket and prefix.
type BlobStore struct {
	client *minio.Client
	bucket string
	prefix string
	stale  time.Duration

	// Deadlines and the clock, fixed by New; tests shorten them.
	initTimeout, checkTimeout time.Duration
	now                       func() time.Time

	// checking holds a token while a probe runs: Check waits for it, or
	// for its context, then answers from the cache when it is fresh.
	checking  chan struct{}
	checkedAt time.Time // zero: never probed
	checkErr  error
}

var _ hangar.BlobStore = (*BlobStore)(nil)

// New returns a store for cfg. It checks the configuration but does not
// talk to the server; Init does.
func New(cfg Config) (*BlobStore, error) {
	if err := s3utils.CheckValidBucketNameStrict(cfg.Bucket); err != nil {
		return nil, fmt.Errorf("s3store: bucket %q: %w", cfg.Bucket, err)
	}
	if err := checkPrefix(cfg.Prefix); err != nil {
		return nil, fmt.Errorf("s3store: %w", err)
	}
	if cfg.Credentials == nil {
		return nil, errors.New("s3store: no credentials")
	}
	host, secure, err := parseEndpoint(cfg.Endpoint)
	if err != nil {
		return nil, fmt.Errorf("s3store: %w", err)
	}
	lookup := minio.BucketLookupPath
	if cfg.Endpoint == "" {
		lookup = minio.BucketLookupDNS
	}
	region := cfg.Region
	if region == "" {
		region = DefaultRegion
	}
	client, err := minio.New(host, &minio.Options{
		Creds:        cfg.Credentials,
		Secure:       secure,
		Region:       region,
		BucketLookup: lookup,
		Transport:    cfg.Transport,
	})
	if err != nil {
		return nil, fmt.Errorf("s3store: %w", err)
	}
	stale := cfg.StaleTempAge
	if stale <= 0 {
		stale = DefaultStaleTempAge
	}
	return &BlobStore{
		client: client, bucket: cfg.Bucket, prefix: cfg.Prefix, stale: stale,
		initTimeout: InitTimeout, checkTimeout: CheckTimeout, now: time.Now,
		checking: make(chan struct{}, 1),
	}, nil
}

// parseEndpoint returns the host[:port] of an endpoint URL and whether it
// is reached over TLS. An empty endpoint is AWS S3.
func parseEndpoint(endpoint string) (host string, secure bool, err error) {
	if endpoint == "" {
		return "s3.amazonaws.com", true, nil
	}
	raw := endpoint
	if !strings.Contains(raw, "://") {
		raw = "https://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", false, fmt.Errorf("endpoint %q: not a URL", endpoint)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", false, fmt.Errorf("endpoint %q: scheme must be http or https", endpoint)
	case u.User != nil:
		return "", false, errors.New("endpoint: credentials in the URL are not accepted; use the AWS credential variables or files")
	case u.Host == "":
		return "", false, fmt.Errorf("endpoint %q: no host", endpoint)
	case u.Path != "" && u.Path != "/", u.RawQuery != "", u.Fragment != "":
		return "", false, fmt.Errorf("endpoint %q: must be scheme://host[:port] only", endpoint)
	}
	return u.Host, u.Scheme == "https", nil
}

// checkPrefix accepts "" or slash-separated names ending in "/".
func checkPrefix(p string) error {
	if p == "" {
		return nil
	}
	if !strings.HasSuffix(p, "/") {
		return fmt.Errorf("prefix %q must end with /", p)
	}
	for _, seg := range strings.Split(strings.TrimSuffix(p, "/"), "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("prefix %q: empty, . or .. path element", p)
		}
	}
	return nil
}

// Bucket returns the store's bucket.
func (s *BlobStore) Bucket() string { return s.bucket }

// Prefix returns the store's key prefix ("" or ending in "/").
func (s *BlobStore) Prefix() string { return s.prefix }

func (s *BlobStore) blobKey(d hangar.Digest) string { return s.prefix + "blobs/sha256/" + d.Hex() }
func (s *BlobStore) tmpPrefix() string              { return s.prefix + "tmp/" }

// tempKey returns a new temporary key for an upload.
func (s *BlobStore) tempKey() string {
	var b [16]byte
	rand.Read(b[:])
	return s.tmpPrefix() + hex.EncodeToString(b[:])
}

// Init checks that the bucket exists and the credentials open it, then
// removes what crashed uploads left behind (temporary objects and
// multipart uploads older than StaleTempAge). Call it once at start-up:
// a missing bucket or refused credentials are reported here, by name,
// rather than at the first upload. It gives up after InitTimeout, naming
// the endpoint and the bucket.
func (s *BlobStore) Init(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.initTimeout)
	defer cancel()
	if err := s.init(ctx); err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("s3store: bucket %s at %s did not answer within %v: %w", s.bucket, s.client.EndpointURL().Host, s.initTimeout, err)
		}
		return err
	}
	return nil
}

func (s *BlobStore) init(ctx context.Context) error {
	// A listing, not HEAD bucket: HEAD's answers have no body, so an
	// unknown access key can look like a missing bucket.
	var err error
	for o := range s.client.ListObjectsIter(ctx, s.bucket, minio.ListObjectsOptions{Prefix: s.tmpPrefix(), MaxKeys: 1}) {
		err = o.Err
		break
	}
	if minio.ToErrorResponse(err).Code == "NoSuchBucket" {
		return hangar.Errorf(hangar.ENOTFOUND, "s3store: bucket %s does not exist at %s; create it first (Hangar never creates buckets)", s.bucket, s.client.EndpointURL().Host)
	}
	if err != nil {
		return fmt.Errorf("s3store: open bucket %s at %s: %w", s.bucket, s.client.EndpointURL().Host, explain(err))
	}
	if _, err := s.RemoveStaleTemp(ctx); err != nil {
		return fmt.Errorf("s3store: init bucket %s at %s: %w", s.bucket, s.client.EndpointURL().Host, err)
	}
	return nil
}

// explain turns the S3 error codes of a refused request into a sentence
// that says what to check.
func explain(err error) error {
	switch minio.ToErrorResponse(err).Code {
	case "InvalidAccessKeyId", "XAdminUserNotFound": // the second is versitygw's
		return fmt.Errorf("the access key is not known to the server; check AWS_ACCESS_KEY_ID or the credentials file: %w", err)
	case "SignatureDoesNotMatch":
		return fmt.Errorf("the secret key does not match the access key; check AWS_SECRET_ACCESS_KEY or the credentials file: %w", err)
	case "AccessDenied", "Forbidden":
		return fmt.Errorf("access denied: the credentials may not use this bucket, or are wrong: %w", err)
	case "ExpiredToken", "InvalidToken":
		return fmt.Errorf("the session token is expired or invalid: %w", err)
	}
	if minio.ToErrorResponse(err).StatusCode == http.StatusForbidden {
		return fmt.Errorf("refused (403): check the credentials and the bucket's policy: %w", err)
	}
	return err
}

// Check reports whether the store can take a write now: it writes and
// removes a small temporary object. Lost credentials or permissions and an
// unreachable server fail it; servers use it for readiness. A probe gives
// up after CheckTimeout, and its result answers the calls of the next
// CheckCacheAge, so concurrent and repeated calls make one probe. The
// probe object is removed even when ctx ends during the probe.
func (s *BlobStore) Check(ctx context.Context) error {
	select {
	case s.checking <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.checking }()
	if !s.checkedAt.IsZero() && s.now().Sub(s.checkedAt) < CheckCacheAge {
		return s.checkErr
	}
	err := s.probe(ctx)
	// A probe cut short by the caller says nothing about the store.
	if ctx.Err() == nil {
		s.checkedAt, s.checkErr = s.now(), err
	}
	return err
}

// probe writes and removes a temporary object.
func (s *BlobStore) probe(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.checkTimeout)
	defer cancel()
	key := s.tempKey()
	b := []byte("ready\n")
	_, err := s.client.PutObject(ctx, s.bucket, key, bytes.NewReader(b), int64(len(b)), minio.PutObjectOptions{})
	// Also after a failed PUT: the server may have stored the object
	// before ctx ended.
	rerr := s.removeTemp(ctx, key, s.checkTimeout)
	if err == nil {
		err = rerr
	}
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%w)", ctx.Err(), err)
		} else {
			err = explain(err)
		}
		return fmt.Errorf("s3store: check bucket %s: %w", s.bucket, err)
	}
	return nil
}

// RemoveStaleTemp removes temporary objects and incomplete multipart
// uploads under tmp/ older than StaleTempAge, and returns how many it
// removed. A bucket lifecycle rule on the tmp/ prefix does the same
// without a server (see the README).
func (s *BlobStore) RemoveStaleTemp(ctx context.Context) (int, error) {
	cutoff := time.Now().Add(-s.stale)
	removed := 0
	for obj := range s.client.ListObjectsIter(ctx, s.bucket, minio.ListObjectsOptions{Prefix: s.tmpPrefix(), Recursive: true}) {
		if obj.Err != nil {
			return removed, fmt.Errorf("remove stale uploads: %w", explain(obj.Err))
		}
		if obj.LastModified.After(cutoff) {
			continue
		}
		err := s.client.RemoveObject(ctx, s.bucket, obj.Key, minio.RemoveObjectOptions{})
		if err != nil && !isNotFound(err) {
			return removed, fmt.Errorf("remove stale uploads: %w", explain(err))
		}
		removed++
	}
	for up := range s.client.ListIncompleteUploads(ctx, s.bucket, s.tmpPrefix(), true) {
		if up.Err != nil {
			return removed, fmt.Errorf("remove stale uploads: %w", explain(up.Err))
		}
		if up.Initiated.After(cutoff) {
			continue
		}
		if err := s.client.RemoveIncompleteUpload(ctx, s.bucket, up.Key); err != nil && !isNotFound(err) {
			return removed, fmt.Errorf("remove stale uploads: %w", explain(err))
		}
		removed++
	}
	return removed, nil
}

// isNotFound reports whether S3 answered that the object or upload is not
// there. An answer that names a missing bucket (NoSuchBucket, on requests
// whose errors have a body: GET, PUT, DELETE, listings) is not that: it is
// the operator's error. HEAD answers have no body, so a bucket gone reads
// as a plain 404 there and Stat and Open answer ENOTFOUND; Check, which
// writes, reports the missing bucket.
func isNotFound(err error) bool {
	r := minio.ToErrorResponse(err)
	if r.Code == "NoSuchBucket" {
		return false
	}
	return r.StatusCode == http.StatusNotFound || r.Code == "NoSuchKey" || r.Code == "NoSuchUpload"
}

// hashReader hashes and counts what it reads and remembers the first error
// of the reader it wraps, so that Put can tell the caller's reader failing
// (or its context ending) from S3 failing.
type hashReader struct {
	r   io.Reader
	h   hash.Hash
	n   int64
	err error
}

func (h *hashReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	h.h.Write(p[:n])
	h.n += int64(n)
	if err != nil && err != io.EOF && h.err == nil {
		h.err = err
	}
	if h.n > MaxBlobSize && h.err == nil {
		h.err = hangar.Errorf(hangar.EINVALID, "blob larger than %d bytes, the most the S3 store takes", int64(MaxBlobSize))
		return n, h.err
	}
	return n, err
}

func (h *hashReader) info() hangar.BlobInfo {
	return hangar.BlobInfo{Digest: hangar.Digest("sha256:" + hex.EncodeToString(h.h.Sum(nil))), Size: h.n}
}

// Put streams r into the store while hashing it; see the package comment
// for how. A failed or cancelled Put leaves nothing visible: its temporary
// object is deleted and its multipart upload aborted (best effort, with a
// fresh context when ctx ended; RemoveStaleTemp catches what a crash
// leaves). An error of r, and the end of ctx, are wrapped in the returned
// error. A reader blocked in Read is not interrupted: cancellation is
// noticed between reads. Blobs over MaxBlobSize fail with EINVALID.
func (s *BlobStore) Put(ctx context.Context, r io.Reader) (hangar.BlobInfo, error) {
	if err := ctx.Err(); err != nil {
		return hangar.BlobInfo{}, fmt.Errorf("s3store: put blob: %w", err)
	}
	hr := &hashReader{r: artifact.ContextReader(ctx, r), h: sha256.New()}
	// readerErr prefers the cause on the caller's side to the error S3 reports.
	readerErr := func(err error) error {
		if hr.err != nil {
			err = hr.err
		} else if ctx.Err() != nil {
			err = ctx.Err()
		} else {
			err = explain(err)
		}
		return fmt.Errorf("s3store: put blob: %w", err)
	}

	// The buffer grows with the content, so a small blob costs what it weighs.
	var head bytes.Buffer
	n, rerr := io.CopyN(&head, hr, SmallBlobSize+1)
	if rerr != nil && rerr != io.EOF {
		return hangar.BlobInfo{}, readerErr(rerr)
	}
	if n <= SmallBlobSize {
		return s.putSmall(ctx, head.Bytes(), hr.info())
	}

	// From here on the temporary object goes, whatever happens: after a
	// copy it is a duplicate, after a failure garbage.
	tmp := s.tempKey()
	defer s.removeTemp(ctx, tmp, time.Minute)
	body := io.MultiReader(&head, hr)
	if _, err := s.client.PutObject(ctx, s.bucket, tmp, body, -1, minio.PutObjectOptions{
		PartSize:    PartSize,
		ContentType: "application/octet-stream",
	}); err != nil {
		return hangar.BlobInfo{}, readerErr(err)
	}
	if hr.err != nil || ctx.Err() != nil {
		return hangar.BlobInfo{}, readerErr(nil)
	}
	info := hr.info()
	final := s.blobKey(info.Digest)
	if st, err := s.client.StatObject(ctx, s.bucket, final, minio.StatObjectOptions{}); err == nil && st.Size == info.Size {
		return info, nil // stored already: the deferred call drops our copy
	} else if err != nil && !isNotFound(err) {
		return hangar.BlobInfo{}, readerErr(err)
	}
	// ComposeObject copies server-side: in one CopyObject up to 5 GiB, in
	// UploadPartCopy parts of up to 5 GiB beyond that.
	if _, err := s.client.ComposeObject(ctx,
		minio.CopyDestOptions{Bucket: s.bucket, Object: final},
		minio.CopySrcOptions{Bucket: s.bucket, Object: tmp},
	); err != nil {
		return hangar.BlobInfo{}, readerErr(err)
	}
	return info, nil
}

// putSmall stores content held in memory, whose info is known, in one PUT
// to its final key unless it is stored already.
func (s *BlobStore) putSmall(ctx context.Context, b []byte, info hangar.BlobInfo) (hangar.BlobInfo, error) {
	final := s.blobKey(info.Digest)
	if st, err := s.client.StatObject(ctx, s.bucket, final, minio.StatObjectOptions{}); err == nil && st.Size == info.Size {
		return info, nil
	} else if err != nil && !isNotFound(err) {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return hangar.BlobInfo{}, fmt.Errorf("s3store: put blob: %w", explain(err))
	}
	if _, err := s.client.PutObject(ctx, s.bucket, final, bytes.NewReader(b), int64(len(b)), minio.PutObjectOptions{
		ContentType: "application/octet-stream",
	}); err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return hangar.BlobInfo{}, fmt.Errorf("s3store: put blob: %w", explain(err))
	}
	return info, nil
}

// removeTemp deletes a temporary object, also after ctx ended, waiting at
// most timeout: a cancelled Put or Check must not leave it behind. Put
// leaves failures to RemoveStaleTemp; Check reports them.
func (s *BlobStore) removeTemp(ctx context.Context, key string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	return s.client.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{})
}

// Open returns the blob's content as a stream. The digest is validated
// before any request; the content is not verified against it (blobs are
// written only under their digest). The ReadCloser is also an io.Seeker
// and io.ReaderAt, each read a ranged GET. Errors: EINVALID, ENOTFOUND.
func (s *BlobStore) Open(ctx context.Context, d hangar.Digest) (io.ReadCloser, error) {
	if _, err := hangar.ParseDigest(string(d)); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("s3store: open blob: %w", err)
	}
	obj, err := s.client.GetObject(ctx, s.bucket, s.blobKey(d), minio.GetObjectOptions{})
	if err != nil {
		return nil, fmt.Errorf("s3store: open blob: %w", explain(err))
	}
	// GetObject is lazy: Stat makes the request, so a missing blob fails here.
	if _, err := obj.Stat(); err != nil {
		obj.Close()
		if isNotFound(err) {
			return nil, hangar.Errorf(hangar.ENOTFOUND, "blob %s not found", d)
		}
		return nil, fmt.Errorf("s3store: open blob: %w", explain(err))
	}
	return obj, nil
}

// Stat returns the digest and size of a stored blob. Errors: EINVALID, ENOTFOUND.
func (s *BlobStore) Stat(ctx context.Context, d hangar.Digest) (hangar.BlobInfo, error) {
	if _, err := hangar.ParseDigest(string(d)); err != nil {
		return hangar.BlobInfo{}, err
	}
	if err := ctx.Err(); err != nil {
		return hangar.BlobInfo{}, fmt.Errorf("s3store: stat blob: %w", err)
	}
	st, err := s.client.StatObject(ctx, s.bucket, s.blobKey(d), minio.StatObjectOptions{})
	if isNotFound(err) {
		return hangar.BlobInfo{}, hangar.Errorf(hangar.ENOTFOUND, "blob %s not found", d)
	}
	if err != nil {
		return hangar.BlobInfo{}, fmt.Errorf("s3store: stat blob: %w", explain(err))
	}
	return hangar.BlobInfo{Digest: d, Size: st.Size}, nil
}
