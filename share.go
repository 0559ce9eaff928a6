package hangar

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
)

// Sharing copies a version of a model, component or environment into a
// registry or another workspace (Azure ML's `az ml model share`): the same
// bytes — the files' blobs, which become the target's in the transaction
// that creates the copy — under the name and version the target gives it.
// A copy remembers where it came from in its tags (the Tag… constants
// below), so its lineage traces back through the source; approvals stay
// with the workspace where they were decided and the copy names them.

// The tags a shared model version carries.
const (
	// TagSharedFromWorkspace, …Model and …Version name the version the
	// copy was made from (the registry or workspace it was shared from).
	TagSharedFromWorkspace = "hangar.shared_from.workspace"
	TagSharedFromModel     = "hangar.shared_from.model"
	TagSharedFromVersion   = "hangar.shared_from.version"
	// TagSharedFromName names the component or environment a shared
	// version was copied from.
	TagSharedFromName = "hangar.shared_from.name"
	// TagSharedFromRun and TagSharedFromJob are the run and job that made
	// the original, carried along every share of a chain so that a copy
	// two shares away still names them.
	TagSharedFromRun = "hangar.shared_from.run"
	TagSharedFromJob = "hangar.shared_from.job"
	// TagSharedFromApprovals lists the approvals the source was promoted
	// under, where they were decided: "<workspace>/<request id>
	// (<alias>)", comma-separated, in order of decision.
	TagSharedFromApprovals = "hangar.shared_from.approvals"
	// TagContentDigest is the digest of the manifest of the model's files
	// (ModelContentDigest): equal in every copy, it shows the same bytes.
	TagContentDigest = "hangar.content_digest"
)

// ShareRequest asks to share a version: into the registry Registry or
// the workspace ToWorkspace (exactly one), as Name and Version there (the
// source's name, and the next number or the source's version, when empty).
type ShareRequest struct {
	Registry    string `json:"registry,omitempty"`
	ToWorkspace string `json:"to_workspace,omitempty"`
	Name        string `json:"name,omitempty"`
	Version     string `json:"version,omitempty"`
}

// Target returns the workspace the request shares into, checking that
// exactly one of Registry and ToWorkspace is given and the names. Errors:
// EINVALID.
func (r *ShareRequest) Target() (string, error) {
	switch {
	case r.Registry == "" && r.ToWorkspace == "":
		return "", Errorf(EINVALID, "share needs a target: a registry (--registry-name) or a workspace (--to-workspace)")
	case r.Registry != "" && r.ToWorkspace != "":
		return "", Errorf(EINVALID, "share takes one target: a registry (--registry-name %s) or a workspace (--to-workspace %s), not both", r.Registry, r.ToWorkspace)
	}
	t := r.Registry + r.ToWorkspace
	if err := ValidateWorkspaceName(t); err != nil {
		return "", err
	}
	return t, nil
}

// ModelShare is the result of sharing a model version.
type ModelShare struct {
	// Version is the copy in the target.
	Version *ModelVersion `json:"version"`
	// ContentDigest is the digest of the manifest of the files, the same
	// at the source and in the copy.
	ContentDigest Digest `json:"content_digest"`
	// Existing is set when the version had been shared into the target
	// before with the same content and no version was asked for: nothing
	// was created and Version is that earlier copy.
	Existing bool `json:"existing,omitempty"`
}

// SharedFile is one file of a shared model: its path in the target's
// artifact index and its blob.
type SharedFile struct {
	Path string
	Blob BlobInfo
}

// ModelSharer stores a shared model version (sqlstore.ShareService).
type ModelSharer interface {
	// ShareModelVersion creates v (Workspace, Name, Version or "" for the
	// next number, Source, Description, Tags) with its files, in one
	// transaction: the registered model when it does not exist, the
	// artifact paths of files, the target's ownership of their blobs and
	// the version, audited with a detail naming the source. Without a
	// version, a version of the model whose TagSharedFrom… tags and
	// TagContentDigest equal v's is returned instead, with Existing set.
	// Errors: EINVALID, ENOTFOUND (workspace), ECONFLICT (the version
	// exists, or its number was given before).
	ShareModelVersion(ctx context.Context, v *ModelVersion, files []SharedFile, detail string) (*ModelShare, error)
}

// ModelContentDigest returns the digest of the manifest of a model's
// files (paths relative to the model's folder): the identity of the
// content, whatever workspace or path the files are named by. Errors:
// EINVALID (a file path a manifest refuses).
func ModelContentDigest(files []ManifestEntry) (Digest, error) {
	files = slices.Clone(files)
	slices.SortFunc(files, func(a, b ManifestEntry) int { return strings.Compare(a.Path, b.Path) })
	m := Manifest{Version: ManifestVersion, Files: files}
	b, err := m.Encode()
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return Digest("sha256:" + hex.EncodeToString(sum[:])), nil
}
