package sqlstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/hangar-ml/hangar"
)

// Sharing: the registry stores the copy of a shared model version
// (hangar.ModelSharer) with its files, owned by the target in the
// transaction that creates the copy. Components and environments are
// shared through ComponentService.CreateComponentOwning and
// EnvironmentService.CreateEnvironmentOwning.

var _ hangar.ModelSharer = (*RegistryService)(nil)

// sharedFromTags are the tags that say where a copy came from: a copy is
// the same as an earlier one when these and the content digest are equal.
var sharedFromTags = []string{hangar.TagSharedFromWorkspace, hangar.TagSharedFromModel, hangar.TagSharedFromVersion, hangar.TagContentDigest}

// ShareModelVersion is hangar.ModelSharer.ShareModelVersion. detail is the
// audit detail of the version's creation event (a JSON object, or "").
func (s *RegistryService) ShareModelVersion(ctx context.Context, v *hangar.ModelVersion, files []hangar.SharedFile, detail string) (*hangar.ModelShare, error) {
	if err := hangar.ValidateWorkspaceName(v.Workspace); err != nil {
		return nil, err
	}
	if err := v.Validate(); err != nil {
		return nil, err
	}
	if err := hangar.ValidateEventDetail(detail); err != nil {
		return nil, err
	}
	var want int64
	if v.Version != "" {
		n, err := hangar.ParseModelVersion(v.Version)
		if err != nil {
			return nil, err
		}
		if n < 1 {
			return nil, hangar.Errorf(hangar.EINVALID, "invalid model version %q: versions are numbered from 1", v.Version)
		}
		want = n
	}
	if len(files) == 0 {
		return nil, hangar.Errorf(hangar.EINVALID, "model %s: no file to share", v.Name)
	}
	for _, f := range files {
		if err := checkArtifactKey(v.Workspace, f.Path, false); err != nil {
			return nil, err
		}
		if _, err := hangar.ParseDigest(string(f.Blob.Digest)); err != nil {
			return nil, err
		}
		if f.Blob.Size < 0 {
			return nil, hangar.Errorf(hangar.EINVALID, "blob %s has a negative size %d", f.Blob.Digest, f.Blob.Size)
		}
	}
	out := &hangar.ModelShare{ContentDigest: hangar.Digest(v.Tags[hangar.TagContentDigest])}
	err := s.db.write(ctx, func(tx *wtx) error {
		r := registry{db: s.db, q: tx}
		if err := tx.requireWorkspace(ctx, v.Workspace); err != nil {
			return err
		}
		now := tx.now.UnixMilli()
		user := hangar.ActorFrom(ctx).Name
		id, err := r.modelID(ctx, v.Workspace, v.Name)
		if hangar.ErrorCode(err) == hangar.ENOTFOUND {
			// The first version shared under the name brings its model.
			if err := tx.QueryRowContext(ctx, tx.db.rebind(`INSERT INTO registered_models
				(workspace, name, description, user_id, creation_time, last_updated_time) VALUES (?, ?, '', ?, ?, ?) RETURNING id`),
				v.Workspace, v.Name, user, now, now).Scan(&id); err != nil {
				return fmt.Errorf("create registered model: %w", err)
			}
			if err := tx.audit(ctx, hangar.ActModelWrite, registeredModelTarget(v.Name), v.Workspace); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		if want == 0 {
			if n, ok, err := sameShare(ctx, tx, id, v.Tags); err != nil {
				return err
			} else if ok {
				mv, err := r.version(ctx, v.Workspace, v.Name, n, strconv.FormatInt(n, 10))
				if err != nil {
					return err
				}
				out.Version, out.Existing = mv, true
				return nil
			}
		}
		var last int64
		if err := tx.QueryRowContext(ctx, tx.db.rebind(`SELECT last_version FROM registered_models WHERE id = ?`), id).Scan(&last); err != nil {
			return fmt.Errorf("number the version: %w", err)
		}
		n := last + 1
		if want != 0 {
			if want <= last {
				return hangar.Errorf(hangar.ECONFLICT, "Model Version (name=%s, version=%d) already exists in workspace %q, or did and was deleted: versions are immutable and a number is never given twice; share as version %d or later, or omit the version", v.Name, want, v.Workspace, last+1)
			}
			n = want
		}
		if _, err := tx.ExecContext(ctx, tx.db.rebind(`UPDATE registered_models SET last_version = ?, last_updated_time = ? WHERE id = ?`), n, now, id); err != nil {
			return fmt.Errorf("number the version: %w", err)
		}
		for _, f := range files {
			if err := tx.putArtifact(ctx, v.Workspace, f.Path, f.Blob); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, tx.db.rebind(`INSERT INTO model_versions
			(model_id, version, creation_time, last_updated_time, user_id, current_stage, description, source, storage_location,
			 run_id, run_link, logged_model_id, status, status_message)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, '', NULL, '', '', ?, '')`),
			id, n, now, now, user, hangar.StageNone, v.Description, v.Source, hangar.ModelVersionReady); err != nil {
			return fmt.Errorf("insert version: %w", err)
		}
		for k, val := range v.Tags {
			if _, err := tx.ExecContext(ctx, tx.db.rebind(`INSERT INTO model_version_tags (model_id, version, key, value) VALUES (?, ?, ?, ?)`), id, n, k, val); err != nil {
				return fmt.Errorf("insert tag: %w", err)
			}
		}
		if err := tx.auditDetail(ctx, hangar.ActModelWrite, modelVersionTarget(v.Name, n), v.Workspace, detail); err != nil {
			return err
		}
		mv, err := r.version(ctx, v.Workspace, v.Name, n, strconv.FormatInt(n, 10))
		if err != nil {
			return err
		}
		out.Version = mv
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("share a version of registered model %q into workspace %q: %w", v.Name, v.Workspace, err)
	}
	return out, nil
}

// sameShare returns the newest version of the model whose shared-from tags
// and content digest are those of tags: the same source shared again.
func sameShare(ctx context.Context, tx *wtx, model int64, tags map[string]string) (int64, bool, error) {
	var (
		q    strings.Builder
		args = []any{model}
	)
	q.WriteString(`SELECT v.version FROM model_versions v WHERE v.model_id = ?`)
	for _, k := range sharedFromTags {
		if tags[k] == "" {
			return 0, false, nil
		}
		q.WriteString(` AND EXISTS (SELECT 1 FROM model_version_tags t WHERE t.model_id = v.model_id AND t.version = v.version AND t.key = ? AND t.value = ?)`)
		args = append(args, k, tags[k])
	}
	q.WriteString(` ORDER BY v.version DESC LIMIT 1`)
	var n int64
	err := tx.QueryRowContext(ctx, tx.db.rebind(q.String()), args...).Scan(&n)
	if isNoRows(err) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("look up an earlier share: %w", err)
	}
	return n, true, nil
}

// checkBlobs checks the blobs a create is to give its workspace.
func checkBlobs(blobs []hangar.BlobInfo) error {
	for _, b := range blobs {
		if _, err := hangar.ParseDigest(string(b.Digest)); err != nil {
			return err
		}
		if b.Size < 0 {
			return hangar.Errorf(hangar.EINVALID, "blob %s has negative size %d", b.Digest, b.Size)
		}
	}
	return nil
}

// ownBlobs gives the workspace the blobs inside the transaction (none
// when blobs is empty), after requiring the workspace.
func (tx *wtx) ownBlobs(ctx context.Context, workspace string, blobs []hangar.BlobInfo) error {
	if len(blobs) == 0 {
		return nil
	}
	if err := tx.requireWorkspace(ctx, workspace); err != nil {
		return err
	}
	for _, b := range blobs {
		if _, err := tx.ExecContext(ctx, tx.db.rebind(`INSERT INTO workspace_blobs (workspace, digest, size, created_at)
			VALUES (?, ?, ?, ?) ON CONFLICT (workspace, digest) DO NOTHING`),
			workspace, string(b.Digest), b.Size, tx.db.tv(tx.now)); err != nil {
			return fmt.Errorf("record blob ownership: %w", err)
		}
	}
	return nil
}
