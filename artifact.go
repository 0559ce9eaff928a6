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

// BlobStore is content-addressed storage for artifacts. The implementations
// are disk (a local folder) and s3store (an S3 bucket); every one must
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

// BlobIndex records which workspaces own which blobs. Content is stored once
// for the whole server (BlobStore), but a workspace reads only the blobs
// uploaded to it: holding artifacts/read on one workspace must not reveal
// another's content, nor whether some content exists anywhere on the server.
type BlobIndex interface {
	// AddBlob records that workspace owns the stored blob info, and appends
	// the artifacts/write audit event of the upload (target
	// "blobs/<digest>", the actor and request id of ctx), in one
	// transaction. Recording a blob the workspace owns already is not an
	// error and is audited again: it is another upload. Errors: ENOTFOUND
	// (the workspace), EINVALID (digest, size, workspace name).
	AddBlob(ctx context.Context, workspace string, info BlobInfo) error
	// WorkspaceBlob returns the blob as recorded for workspace. Errors:
	// ENOTFOUND — with one message whether the workspace does not own the
	// blob or no workspace does —, EINVALID (digest, workspace name).
	// Size is -1 for ownership recovered from the audit log of uploads made
	// before sizes were recorded; the BlobStore knows the size of the content.
	WorkspaceBlob(ctx context.Context, workspace string, d Digest) (BlobInfo, error)
}

// BlobNotFound is the one error for a blob a workspace cannot read, whether
// it owns no such blob or no such content is stored at all: the two must
// not be told apart.
func BlobNotFound(workspace string, d Digest) error {
	return Errorf(ENOTFOUND, "blob %s not found in workspace %s", d, workspace)
}
