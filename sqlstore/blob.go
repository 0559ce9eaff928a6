package sqlstore

import (
	"context"
	"fmt"

	"github.com/hangar-ml/hangar"
)

// BlobIndex records which workspaces own which blobs, in the table
// workspace_blobs: a workspace's rows go with it when it is deleted, so a
// workspace re-created under the same name owns nothing. It implements
// hangar.BlobIndex; the content itself lives in a hangar.BlobStore.
type BlobIndex struct {
	db *DB
}

var _ hangar.BlobIndex = (*BlobIndex)(nil)

// NewBlobIndex returns the blob index of db.
func NewBlobIndex(db *DB) *BlobIndex { return &BlobIndex{db: db} }

// AddBlob records that workspace owns the blob and audits the upload
// (artifacts/write on blobs/<digest>) in the same transaction. Recording it
// again keeps the first record and appends another event. Errors:
// ENOTFOUND (workspace), EINVALID.
func (x *BlobIndex) AddBlob(ctx context.Context, workspace string, info hangar.BlobInfo) error {
	if err := checkBlobKey(workspace, info.Digest); err != nil {
		return err
	}
	if info.Size < 0 {
		return hangar.Errorf(hangar.EINVALID, "blob %s has a negative size %d", info.Digest, info.Size)
	}
	err := x.db.write(ctx, func(tx *wtx) error {
		if err := tx.requireWorkspace(ctx, workspace); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, tx.db.rebind(`INSERT INTO workspace_blobs (workspace, digest, size, created_at)
			VALUES (?, ?, ?, ?) ON CONFLICT (workspace, digest) DO NOTHING`),
			workspace, string(info.Digest), info.Size, tx.db.tv(tx.now))
		if err != nil {
			return fmt.Errorf("insert: %w", err)
		}
		return tx.audit(ctx, hangar.ActArtifactWrite, "blobs/"+string(info.Digest), workspace)
	})
	if err != nil {
		return fmt.Errorf("add blob %s to workspace %q: %w", info.Digest, workspace, err)
	}
	return nil
}

// WorkspaceBlob returns the blob as workspace owns it. Errors: ENOTFOUND
// (hangar.BlobNotFound, for a blob the workspace does not own and for a
// workspace that does not exist alike), EINVALID.
func (x *BlobIndex) WorkspaceBlob(ctx context.Context, workspace string, d hangar.Digest) (hangar.BlobInfo, error) {
	if err := checkBlobKey(workspace, d); err != nil {
		return hangar.BlobInfo{}, err
	}
	info := hangar.BlobInfo{Digest: d}
	err := x.db.reader.QueryRowContext(ctx, x.db.rebind(`SELECT size FROM workspace_blobs WHERE workspace = ? AND digest = ?`),
		workspace, string(d)).Scan(&info.Size)
	if isNoRows(err) {
		return hangar.BlobInfo{}, hangar.BlobNotFound(workspace, d)
	}
	if err != nil {
		return hangar.BlobInfo{}, fmt.Errorf("look up blob %s in workspace %q: %w", d, workspace, err)
	}
	return info, nil
}

// checkBlobKey validates the workspace name and the digest.
func checkBlobKey(workspace string, d hangar.Digest) error {
	if err := hangar.ValidateWorkspaceName(workspace); err != nil {
		return err
	}
	_, err := hangar.ParseDigest(string(d))
	return err
}
