package sqlstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/hangar-ml/hangar"
)

// ArtifactIndex is the per-workspace artifact index (table artifact_paths,
// migration 00007): clean paths naming blobs, with a row per directory so
// that listing one level is one range of the primary key. It implements
// hangar.ArtifactIndex; the content lives in a hangar.BlobStore, and every
// file put here also gives its workspace the blob (workspace_blobs).
type ArtifactIndex struct {
	db *DB
}

var _ hangar.ArtifactIndex = (*ArtifactIndex)(nil)

// NewArtifactIndex returns the artifact index of db.
func NewArtifactIndex(db *DB) *ArtifactIndex { return &ArtifactIndex{db: db} }

// checkArtifactKey validates the workspace name and that path is clean:
// the index never holds a path CleanArtifactPath would change.
func checkArtifactKey(workspace, path string, root bool) error {
	if err := hangar.ValidateWorkspaceName(workspace); err != nil {
		return err
	}
	clean, err := hangar.CleanArtifactPath(path)
	if err != nil {
		return err
	}
	if clean != path {
		return hangar.Errorf(hangar.EINVALID, "Invalid path: %q is not clean (%q)", path, clean)
	}
	if path == "" && !root {
		return hangar.Errorf(hangar.EINVALID, "Invalid path: the artifact root names no file")
	}
	return nil
}

// PutArtifact names the blob by path, replacing a file there, creates the
// missing parent directories, gives the workspace the blob and audits the
// upload (artifacts/write on artifacts/<path>), in one transaction.
// Errors: EINVALID, ENOTFOUND (workspace), ECONFLICT (a file where a
// directory is needed, or the reverse).
func (x *ArtifactIndex) PutArtifact(ctx context.Context, workspace, path string, info hangar.BlobInfo) error {
	if err := checkArtifactKey(workspace, path, false); err != nil {
		return err
	}
	if _, err := hangar.ParseDigest(string(info.Digest)); err != nil {
		return err
	}
	if info.Size < 0 {
		return hangar.Errorf(hangar.EINVALID, "blob %s has a negative size %d", info.Digest, info.Size)
	}
	err := x.db.write(ctx, func(tx *wtx) error {
		if err := tx.requireWorkspace(ctx, workspace); err != nil {
			return err
		}
		if err := tx.putArtifact(ctx, workspace, path, info); err != nil {
			return err
		}
		return tx.audit(ctx, hangar.ActArtifactWrite, "artifacts/"+path, workspace)
	})
	if err != nil {
		return fmt.Errorf("put artifact %q in workspace %q: %w", path, workspace, err)
	}
	return nil
}

// putArtifact names the blob by path in the workspace's artifact index,
// replacing a file there, creates the missing parent directories and gives
// the workspace the blob, inside the transaction; the caller requires the
// workspace and audits. Errors: ECONFLICT (a file where a directory is
// needed, or the reverse).
func (tx *wtx) putArtifact(ctx context.Context, workspace, path string, info hangar.BlobInfo) error {
	now := tx.db.tv(tx.now)
	// Parents first, from the root down: each must be a directory.
	segs := strings.Split(path, "/")
	for i := range len(segs) - 1 {
		dir, name := strings.Join(segs[:i], "/"), segs[i]
		res, err := tx.ExecContext(ctx, tx.db.rebind(`INSERT INTO artifact_paths (workspace, dir, name, is_dir, digest, size, created_at)
			VALUES (?, ?, ?, 1, NULL, 0, ?) ON CONFLICT (workspace, dir, name) DO NOTHING`), workspace, dir, name, now)
		if err != nil {
			return fmt.Errorf("insert directory: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("insert directory: %w", err)
		} else if n == 1 {
			continue
		}
		var isDir int64
		if err := tx.QueryRowContext(ctx, tx.db.rebind(`SELECT is_dir FROM artifact_paths WHERE workspace = ? AND dir = ? AND name = ?`),
			workspace, dir, name).Scan(&isDir); err != nil {
			return fmt.Errorf("look up directory: %w", err)
		}
		if isDir != 1 {
			return hangar.Errorf(hangar.ECONFLICT, "cannot write %q: %q is a file, not a directory", path, strings.Join(segs[:i+1], "/"))
		}
	}
	dir, name := hangar.ArtifactDir(path)
	res, err := tx.ExecContext(ctx, tx.db.rebind(`INSERT INTO artifact_paths (workspace, dir, name, is_dir, digest, size, created_at)
		VALUES (?, ?, ?, 0, ?, ?, ?)
		ON CONFLICT (workspace, dir, name) DO UPDATE SET digest = excluded.digest, size = excluded.size, created_at = excluded.created_at
		WHERE artifact_paths.is_dir = 0`), workspace, dir, name, string(info.Digest), info.Size, now)
	if err != nil {
		return fmt.Errorf("insert file: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("insert file: %w", err)
	} else if n != 1 {
		return hangar.Errorf(hangar.ECONFLICT, "cannot write %q: it is a directory", path)
	}
	if _, err := tx.ExecContext(ctx, tx.db.rebind(`INSERT INTO workspace_blobs (workspace, digest, size, created_at)
		VALUES (?, ?, ?, ?) ON CONFLICT (workspace, digest) DO NOTHING`),
		workspace, string(info.Digest), info.Size, now); err != nil {
		return fmt.Errorf("record blob ownership: %w", err)
	}
	return nil
}

const artifactColumns = `dir, name, is_dir, digest, size, created_at`

func scanArtifact(sc rowScanner) (hangar.ArtifactEntry, error) {
	var (
		e         hangar.ArtifactEntry
		dir, name string
		isDir     int64
		digest    *string
		created   dbTime
	)
	if err := sc.Scan(&dir, &name, &isDir, &digest, &e.Size, &created); err != nil {
		return e, err
	}
	e.Path = name
	if dir != "" {
		e.Path = dir + "/" + name
	}
	e.IsDir = isDir == 1
	if digest != nil {
		e.Digest = hangar.Digest(*digest)
	}
	e.CreatedAt = created.T
	return e, nil
}

// Artifact returns the file at path. Errors: ENOTFOUND (nothing there, a
// directory, or no such workspace), EINVALID.
func (x *ArtifactIndex) Artifact(ctx context.Context, workspace, path string) (hangar.ArtifactEntry, error) {
	if err := checkArtifactKey(workspace, path, false); err != nil {
		return hangar.ArtifactEntry{}, err
	}
	dir, name := hangar.ArtifactDir(path)
	e, err := scanArtifact(x.db.reader.QueryRowContext(ctx, x.db.rebind(`SELECT `+artifactColumns+`
		FROM artifact_paths WHERE workspace = ? AND dir = ? AND name = ?`), workspace, dir, name))
	if isNoRows(err) || (err == nil && e.IsDir) {
		return hangar.ArtifactEntry{}, hangar.ArtifactNotFound(path)
	}
	if err != nil {
		return hangar.ArtifactEntry{}, fmt.Errorf("look up artifact %q in workspace %q: %w", path, workspace, err)
	}
	return e, nil
}

// ListArtifacts returns the entries directly under dir, by name: one range
// of the primary key. Errors: EINVALID.
func (x *ArtifactIndex) ListArtifacts(ctx context.Context, workspace, dir string) ([]hangar.ArtifactEntry, error) {
	if err := checkArtifactKey(workspace, dir, true); err != nil {
		return nil, err
	}
	rows, err := x.db.reader.QueryContext(ctx, x.db.rebind(`SELECT `+artifactColumns+`
		FROM artifact_paths WHERE workspace = ? AND dir = ? ORDER BY name`), workspace, dir)
	if err != nil {
		return nil, fmt.Errorf("list artifacts of %q in workspace %q: %w", dir, workspace, err)
	}
	var out []hangar.ArtifactEntry
	for rows.Next() {
		e, err := scanArtifact(rows)
		if err != nil {
			return nil, closeRows(rows, fmt.Errorf("scan artifact: %w", err))
		}
		out = append(out, e)
	}
	if err := closeRows(rows, nil); err != nil {
		return nil, fmt.Errorf("list artifacts of %q in workspace %q: %w", dir, workspace, err)
	}
	return out, nil
}

// subtreeEnd is the first path after every path under dir+"/" (those
// starting with dir+"/"): '0' is the byte after '/'.
func subtreeEnd(dir string) string { return dir + "0" }

// DeleteArtifacts deletes the file at path or the directory path with
// everything under it, then the parent directories left empty, with one
// audit event (artifacts/write on artifacts/<path>) when something was
// deleted. Errors: EINVALID.
func (x *ArtifactIndex) DeleteArtifacts(ctx context.Context, workspace, path string) (int, error) {
	if err := checkArtifactKey(workspace, path, false); err != nil {
		return 0, err
	}
	files := 0
	err := x.db.write(ctx, func(tx *wtx) error {
		dir, name := hangar.ArtifactDir(path)
		var isDir int64
		err := tx.QueryRowContext(ctx, tx.db.rebind(`SELECT is_dir FROM artifact_paths WHERE workspace = ? AND dir = ? AND name = ?`),
			workspace, dir, name).Scan(&isDir)
		if isNoRows(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("look up: %w", err)
		}
		files = 1
		if isDir == 1 {
			under := tx.db.rebind(`FROM artifact_paths WHERE workspace = ? AND (dir = ? OR (dir >= ? AND dir < ?))`)
			args := []any{workspace, path, path + "/", subtreeEnd(path)}
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) `+under+` AND is_dir = 0`, args...).Scan(&files); err != nil {
				return fmt.Errorf("count files: %w", err)
			}
			if _, err := tx.ExecContext(ctx, `DELETE `+under, args...); err != nil {
				return fmt.Errorf("delete directory: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, tx.db.rebind(`DELETE FROM artifact_paths WHERE workspace = ? AND dir = ? AND name = ?`),
			workspace, dir, name); err != nil {
			return fmt.Errorf("delete: %w", err)
		}
		// Parent directories left empty go too: a directory exists while
		// something lies under it.
		for dir != "" {
			parent, pname := hangar.ArtifactDir(dir)
			res, err := tx.ExecContext(ctx, tx.db.rebind(`DELETE FROM artifact_paths WHERE workspace = ? AND dir = ? AND name = ? AND is_dir = 1
				AND NOT EXISTS (SELECT 1 FROM artifact_paths c WHERE c.workspace = ? AND c.dir = ?)`),
				workspace, parent, pname, workspace, dir)
			if err != nil {
				return fmt.Errorf("delete empty directory: %w", err)
			}
			if n, err := res.RowsAffected(); err != nil {
				return fmt.Errorf("delete empty directory: %w", err)
			} else if n == 0 {
				break
			}
			dir = parent
		}
		return tx.audit(ctx, hangar.ActArtifactWrite, "artifacts/"+path, workspace)
	})
	if err != nil {
		return 0, fmt.Errorf("delete artifacts %q in workspace %q: %w", path, workspace, err)
	}
	return files, nil
}
