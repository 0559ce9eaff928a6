package hangar

import (
	"context"
	"encoding/hex"
	"io"
	"strings"
)

// Digest names content: "sha256:" followed by 64 lower-case hex digits.
type Digest string

// ParseDigest validates a digest string. Errors: EINVALID.
func ParseDigest(s string) (Digest, error) {
	hexpart, ok := strings.CutPrefix(s, "sha256:")
	if !ok || len(hexpart) != 64 || strings.ToLower(hexpart) != hexpart {
		return "", Errorf(EINVALID, "invalid digest %q: want sha256:<64 lower-case hex digits>", s)
	}
	if _, err := hex.DecodeString(hexpart); err != nil {
		return "", Errorf(EINVALID, "invalid digest %q: want sha256:<64 lower-case hex digits>", s)
	}
	return Digest(s), nil
}

// Hex returns the hex part of the digest.
func (d Digest) Hex() string { return strings.TrimPrefix(string(d), "sha256:") }

// BlobInfo describes stored content.
type BlobInfo struct {
	Digest Digest `json:"digest"`
	Size   int64  `json:"size"`
}

// BlobStore is content-addressed storage for artifacts. The one
// implementation today is disk (a local folder); every implementation must
// pass the conformance suite internal/blobtest.
type BlobStore interface {
	// Put streams r into the store, hashing it on the way in. The blob
	// becomes visible only once it is complete; identical content is stored
	// once. A failed or cancelled Put leaves nothing visible.
	Put(ctx context.Context, r io.Reader) (BlobInfo, error)
	// Open returns the content. Errors: ENOTFOUND, EINVALID (digest).
	Open(ctx context.Context, d Digest) (io.ReadCloser, error)
	// Stat returns the size of stored content. Errors: ENOTFOUND, EINVALID.
	Stat(ctx context.Context, d Digest) (BlobInfo, error)
}
