package hangar

import (
	"context"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// Artifacts through the server (MLflow's artifact proxy): a file logged to
// a run is stored as a blob (BlobStore, content-addressed, once for the
// whole server) and named by a path in its workspace's artifact index
// (ArtifactIndex). The path is the one the MLflow client puts after
// /api/2.0/mlflow-artifacts/artifacts/, "<experiment id>/<run id>/
// artifacts/<file>", checked and normalised by CleanArtifactPath.

// Limits of an artifact path: the whole path in bytes (PostgreSQL indexes
// keys of at most about 2700 bytes) and one of its segments (a file name
// on every common file system).
const (
	MaxArtifactPathBytes    = 1024
	MaxArtifactSegmentBytes = 255
)

// maxArtifactDecodes is how many rounds of percent-decoding a path may take
// before it is refused, as MLflow's validate_path_is_safe.
const maxArtifactDecodes = 10

// CleanArtifactPath checks an artifact path as it arrives (decoded once, by
// the HTTP router or the query string parser) and returns it normalised.
// It follows MLflow's validate_path_is_safe and is stricter: the path and
// every further percent-decoding of it (up to 10 rounds, as MLflow; a path
// still changing after that is refused) must hold no ".." segment, no
// backslash, no '#', no control character or invalid UTF-8, must not be
// absolute (a leading '/') nor start with a Windows drive ("C:"). Empty and
// "." segments are dropped from the path as given ("a//./b/" is "a/b": one
// file has one name in the index), but refused once they appear only after
// decoding ("a%2F%2Fb"), since a real file name never needs them encoded.
// The empty path is the root (""). Errors: EINVALID, one message ("Invalid
// path", MLflow's) followed by the reason.
func CleanArtifactPath(p string) (string, error) {
	if len(p) > MaxArtifactPathBytes {
		return "", invalidArtifactPath(p, "longer than %d bytes", MaxArtifactPathBytes)
	}
	if err := checkArtifactForm(p, p, true); err != nil {
		return "", err
	}
	var segs []string
	for s := range strings.SplitSeq(p, "/") {
		if s != "" && s != "." {
			segs = append(segs, s)
		}
	}
	clean := strings.Join(segs, "/")
	cur := clean
	for range maxArtifactDecodes {
		dec, err := url.PathUnescape(cur)
		if err != nil || dec == cur {
			// Not valid percent-encoding: what is there is a literal '%',
			// which MLflow's unquote also leaves as it is.
			return clean, nil
		}
		if err := checkArtifactForm(p, dec, false); err != nil {
			return "", err
		}
		cur = dec
	}
	if dec, err := url.PathUnescape(cur); err == nil && dec != cur {
		return "", invalidArtifactPath(p, "still percent-encoded after %d rounds of decoding", maxArtifactDecodes)
	}
	return clean, nil
}

// checkArtifactForm checks one form of path orig (as given when given is
// true, else a decoding of it).
func checkArtifactForm(orig, p string, given bool) error {
	if !utf8.ValidString(p) {
		return invalidArtifactPath(orig, "not valid UTF-8")
	}
	for _, r := range p {
		switch {
		case r < 0x20 || r == 0x7f:
			return invalidArtifactPath(orig, "a control character")
		case r == '\\':
			return invalidArtifactPath(orig, "a backslash")
		case r == '#':
			return invalidArtifactPath(orig, "a '#'")
		}
	}
	if strings.HasPrefix(p, "/") {
		return invalidArtifactPath(orig, "an absolute path")
	}
	if len(p) >= 2 && p[1] == ':' && ('a' <= p[0]|0x20 && p[0]|0x20 <= 'z') {
		return invalidArtifactPath(orig, "a Windows drive")
	}
	for s := range strings.SplitSeq(p, "/") {
		switch {
		case s == "..":
			return invalidArtifactPath(orig, "a '..' segment")
		case !given && (s == "." || s == "") && p != "":
			return invalidArtifactPath(orig, "an encoded empty or '.' segment")
		case len(s) > MaxArtifactSegmentBytes:
			return invalidArtifactPath(orig, "a name longer than %d bytes", MaxArtifactSegmentBytes)
		}
	}
	return nil
}

func invalidArtifactPath(p, why string, args ...any) error {
	return Errorf(EINVALID, "Invalid path: %q: "+why, append([]any{truncateText(p, 256)}, args...)...)
}

// truncateText cuts s to at most n bytes on a rune boundary, for messages.
func truncateText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// ArtifactDir returns the directory of a clean artifact path ("" at the
// root) and its last segment.
func ArtifactDir(p string) (dir, name string) {
	i := strings.LastIndexByte(p, '/')
	if i < 0 {
		return "", p
	}
	return p[:i], p[i+1:]
}

// ArtifactEntry is one entry of a workspace's artifact index: a file
// (Digest and Size set) or a directory, which exists while some file lies
// under it.
type ArtifactEntry struct {
	Path      string    `json:"path"` // clean, relative to the workspace's artifact root
	IsDir     bool      `json:"is_dir"`
	Digest    Digest    `json:"digest,omitempty"`
	Size      int64     `json:"size"`
	CreatedAt time.Time `json:"created_at"`
}

// ArtifactIndex names a workspace's artifact files: a clean path
// (CleanArtifactPath) → the digest and size of its content in the
// BlobStore. Paths of one workspace are invisible from every other; the same
// content logged in two workspaces belongs to each. Every method takes
// clean paths and refuses others (EINVALID); the empty path is the root.
type ArtifactIndex interface {
	// PutArtifact names the stored blob info by path in workspace,
	// replacing the file of that path if there is one, records that the
	// workspace owns the blob (as BlobIndex.AddBlob) and appends the
	// artifacts/write audit event (target "artifacts/<path>"), in one
	// transaction. Errors: EINVALID (path, digest, size, workspace name),
	// ENOTFOUND (workspace), ECONFLICT (path or one of its parents is the
	// other kind: a file where a directory is, or the reverse).
	PutArtifact(ctx context.Context, workspace, path string, info BlobInfo) error
	// Artifact returns the file at path. Errors: ENOTFOUND (no file there:
	// nothing, or a directory; also for a workspace that does not exist),
	// EINVALID.
	Artifact(ctx context.Context, workspace, path string) (ArtifactEntry, error)
	// ListArtifacts returns the entries directly under directory dir,
	// directories and files by name (byte order). A file, or a path with
	// nothing under it, lists nothing (no error), as MLflow's proxy does.
	// Errors: EINVALID.
	ListArtifacts(ctx context.Context, workspace, dir string) ([]ArtifactEntry, error)
	// DeleteArtifacts deletes the file at path, or every file under the
	// directory path, and appends one artifacts/write audit event (target
	// "artifacts/<path>") in the same transaction; it returns the number
	// of files deleted. Deleting nothing is not an error and is not
	// audited. The content stays in the BlobStore and the workspace keeps
	// owning it. The root cannot be deleted. Errors: EINVALID.
	DeleteArtifacts(ctx context.Context, workspace, path string) (int, error)
}

// ArtifactNotFound is the error for an artifact path that names no file.
func ArtifactNotFound(path string) error {
	return Errorf(ENOTFOUND, "No such file or directory: '%s'", path)
}
