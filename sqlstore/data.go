package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hangar-ml/hangar"
)

// DataService stores datastores and data asset versions (tables datastores
// and data_versions, migration 00010). It implements hangar.DataService.
//
// Versions are numbered inside the write transaction, which holds the
// audit chain head (DB.write): writers are serialised, so two creators of
// the same name never read the same greatest number. The default datastore
// has no row; reads make it up from its workspace.
type DataService struct {
	db *DB
}

var _ hangar.DataService = (*DataService)(nil)

// NewDataService returns the data service of db.
func NewDataService(db *DB) *DataService { return &DataService{db: db} }

// dataTarget is the audit target of a data version.
func dataTarget(name, version string) string { return "data/" + name + "/versions/" + version }

// encodeDataTags returns tags as a JSON object ("{}" for none).
func encodeDataTags(tags map[string]string) (string, error) {
	if len(tags) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(tags)
	if err != nil {
		return "", fmt.Errorf("encode tags: %w", err)
	}
	return string(b), nil
}

// decodeDataTags reads a JSON object of tags (nil for none).
func decodeDataTags(s string) (map[string]string, error) {
	var tags map[string]string
	if err := json.Unmarshal([]byte(s), &tags); err != nil {
		return nil, fmt.Errorf("decode tags: %w", err)
	}
	if len(tags) == 0 {
		tags = nil
	}
	return tags, nil
}

// CreateDataVersion stores a new, numbered when Version is empty, version
// and gives the workspace its manifest blob, with the audit event, in one
// transaction. Errors: EINVALID, ENOTFOUND (workspace, datastore),
// ECONFLICT (the version exists).
func (s *DataService) CreateDataVersion(ctx context.Context, workspace string, a *hangar.DataAsset) (*hangar.DataAsset, error) {
	return s.CreateDataVersionOwning(ctx, workspace, a, nil)
}

// CreateDataVersionOwning is CreateDataVersion that also gives the
// workspace the blobs (the files of the version's manifest) in the same
// transaction: a version shared from another workspace, or snapshotted
// from a datastore, brings its content's ownership with it, or none of it.
// Errors: as CreateDataVersion; EINVALID for a bad blob.
func (s *DataService) CreateDataVersionOwning(ctx context.Context, workspace string, a *hangar.DataAsset, blobs []hangar.BlobInfo) (*hangar.DataAsset, error) {
	for _, b := range blobs {
		if _, err := hangar.ParseDigest(string(b.Digest)); err != nil {
			return nil, err
		}
		if b.Size < 0 {
			return nil, hangar.Errorf(hangar.EINVALID, "blob %s has negative size %d", b.Digest, b.Size)
		}
	}
	if err := hangar.ValidateWorkspaceName(workspace); err != nil {
		return nil, err
	}
	if err := a.Validate(); err != nil {
		return nil, err
	}
	tags, err := encodeDataTags(a.Tags)
	if err != nil {
		return nil, err
	}
	out := *a
	out.Workspace, out.Archived = workspace, false
	out.CreatedBy = hangar.ActorFrom(ctx).Name
	ds := a.Datastore()
	err = s.db.write(ctx, func(tx *wtx) error {
		if err := tx.requireWorkspace(ctx, workspace); err != nil {
			return err
		}
		if ds != hangar.DefaultDatastore {
			var n int
			if err := tx.QueryRowContext(ctx, tx.db.rebind(`SELECT COUNT(*) FROM datastores WHERE workspace = ? AND name = ?`),
				workspace, ds).Scan(&n); err != nil {
				return fmt.Errorf("look up datastore: %w", err)
			}
			if n == 0 {
				return hangar.DatastoreNotFound(ds)
			}
		}
		if out.Version == "" {
			var last sql.NullInt64
			if err := tx.QueryRowContext(ctx, tx.db.rebind(`SELECT MAX(num) FROM data_versions WHERE workspace = ? AND name = ?`),
				workspace, a.Name).Scan(&last); err != nil {
				return fmt.Errorf("number the version: %w", err)
			}
			out.Version = fmt.Sprint(last.Int64 + 1)
		}
		var num any
		if n, ok := hangar.DataVersionNumber(out.Version); ok {
			num = n
		}
		_, err := tx.ExecContext(ctx, tx.db.rebind(`INSERT INTO data_versions
			(workspace, name, version, num, type, path, datastore, digest, manifest_size, size, file_count,
			 description, tags, profile, archived, created_at, created_by)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)`),
			workspace, out.Name, out.Version, num, out.Type, out.Path, ds, string(out.Manifest.Digest), out.Manifest.Size,
			out.Size, out.FileCount, out.Description, tags, out.Profile, tx.db.tv(tx.now), out.CreatedBy)
		if isUniqueViolation(err) {
			return hangar.Errorf(hangar.ECONFLICT, "Data asset %s with version %s already exists: versions are immutable; create another version", out.Name, out.Version)
		}
		if err != nil {
			return fmt.Errorf("insert: %w", err)
		}
		owned := blobs
		if out.Manifest.Digest != "" {
			owned = append([]hangar.BlobInfo{out.Manifest}, blobs...)
		}
		for _, b := range owned {
			if _, err := tx.ExecContext(ctx, tx.db.rebind(`INSERT INTO workspace_blobs (workspace, digest, size, created_at)
				VALUES (?, ?, ?, ?) ON CONFLICT (workspace, digest) DO NOTHING`),
				workspace, string(b.Digest), b.Size, tx.db.tv(tx.now)); err != nil {
				return fmt.Errorf("record blob ownership: %w", err)
			}
		}
		out.CreatedAt = tx.now.UTC().Truncate(time.Microsecond)
		return tx.audit(ctx, hangar.ActDataWrite, dataTarget(out.Name, out.Version), workspace)
	})
	if err != nil {
		return nil, fmt.Errorf("create data asset %q version %q in workspace %q: %w", a.Name, a.Version, workspace, err)
	}
	return &out, nil
}

const dataColumns = `workspace, name, version, type, path, digest, manifest_size, size, file_count,
	description, tags, profile, archived, created_at, created_by`

func scanDataVersion(sc rowScanner) (*hangar.DataAsset, error) {
	var (
		a        hangar.DataAsset
		digest   string
		tags     string
		archived int64
		created  dbTime
	)
	if err := sc.Scan(&a.Workspace, &a.Name, &a.Version, &a.Type, &a.Path, &digest, &a.Manifest.Size, &a.Size, &a.FileCount,
		&a.Description, &tags, &a.Profile, &archived, &created, &a.CreatedBy); err != nil {
		return nil, err
	}
	a.Manifest.Digest = hangar.Digest(digest)
	var err error
	if a.Tags, err = decodeDataTags(tags); err != nil {
		return nil, fmt.Errorf("data asset %q version %q: %w", a.Name, a.Version, err)
	}
	a.Archived = archived == 1
	a.CreatedAt = created.T
	return &a, nil
}

// checkDataKey validates a workspace, a data asset name and a version.
func checkDataKey(workspace, name, version string) error {
	if err := hangar.ValidateWorkspaceName(workspace); err != nil {
		return err
	}
	if err := hangar.ValidateName("data asset", name); err != nil {
		return err
	}
	if version == "" {
		return nil
	}
	return hangar.ValidateDataVersion(version)
}

// DataVersion returns a version, archived or not. Errors: ENOTFOUND, EINVALID.
func (s *DataService) DataVersion(ctx context.Context, workspace, name, version string) (*hangar.DataAsset, error) {
	if version == "" {
		return nil, hangar.Errorf(hangar.EINVALID, "version is required: name a version, or ask for the latest")
	}
	if err := checkDataKey(workspace, name, version); err != nil {
		return nil, err
	}
	a, err := scanDataVersion(s.db.readRow(ctx, s.db.rebind(`SELECT `+dataColumns+` FROM data_versions
		WHERE workspace = ? AND name = ? AND version = ?`), workspace, name, version))
	if isNoRows(err) {
		return nil, hangar.DataVersionNotFound(name, version)
	}
	if err != nil {
		return nil, fmt.Errorf("get data asset %q version %q in workspace %q: %w", name, version, workspace, err)
	}
	return a, nil
}

// LatestDataVersion returns the newest version that is not archived.
// Errors: ENOTFOUND, EINVALID.
func (s *DataService) LatestDataVersion(ctx context.Context, workspace, name string) (*hangar.DataAsset, error) {
	if err := checkDataKey(workspace, name, ""); err != nil {
		return nil, err
	}
	a, err := scanDataVersion(s.db.readRow(ctx, s.db.rebind(`SELECT `+dataColumns+` FROM data_versions
		WHERE workspace = ? AND name = ? AND archived = 0 ORDER BY seq DESC LIMIT 1`), workspace, name))
	if isNoRows(err) {
		return nil, hangar.Errorf(hangar.ENOTFOUND, "Data asset %s has no version that is not archived: %s@%s names none.", name, name, hangar.LatestLabel)
	}
	if err != nil {
		return nil, fmt.Errorf("get latest version of data asset %q in workspace %q: %w", name, workspace, err)
	}
	return a, nil
}

// ListData returns the latest version of each data asset that has one not
// archived, by name. Errors: EINVALID.
func (s *DataService) ListData(ctx context.Context, workspace string, opt hangar.ListOptions) (*hangar.Page[*hangar.DataAsset], error) {
	if err := hangar.ValidateWorkspaceName(workspace); err != nil {
		return nil, err
	}
	spec := listSpec[*hangar.DataAsset]{
		name:  "data assets",
		query: `SELECT ` + dataColumns + ` FROM data_versions v`,
		keys:  []sortKey{{"name", keyText}},
		scan:  scanDataVersion,
		key:   func(a *hangar.DataAsset) []any { return []any{a.Name} },
	}
	spec.filter(`workspace = ?`, workspace)
	spec.filter(`seq = (SELECT MAX(x.seq) FROM data_versions x WHERE x.workspace = v.workspace AND x.name = v.name AND x.archived = 0)`)
	page, err := listPage(ctx, s.db, preparedReader{s.db}, spec, opt)
	if err != nil {
		return nil, fmt.Errorf("list data assets of workspace %q: %w", workspace, err)
	}
	return page, nil
}

// ListDataVersions returns a name's versions, newest first. Errors: EINVALID.
func (s *DataService) ListDataVersions(ctx context.Context, workspace, name string, includeArchived bool, opt hangar.ListOptions) (*hangar.Page[*hangar.DataAsset], error) {
	if err := checkDataKey(workspace, name, ""); err != nil {
		return nil, err
	}
	spec := listSpec[*hangar.DataAsset]{
		name:  "data versions",
		query: `SELECT ` + dataColumns + ` FROM data_versions`,
		keys:  []sortKey{{"created_at", keyTime}, {"version", keyText}},
		desc:  true,
		scan:  scanDataVersion,
		key:   func(a *hangar.DataAsset) []any { return []any{a.CreatedAt, a.Version} },
	}
	spec.filter(`workspace = ?`, workspace)
	spec.filter(`name = ?`, name)
	if !includeArchived {
		spec.filter(`archived = 0`)
	}
	page, err := listPage(ctx, s.db, preparedReader{s.db}, spec, opt)
	if err != nil {
		return nil, fmt.Errorf("list versions of data asset %q in workspace %q: %w", name, workspace, err)
	}
	return page, nil
}

// SetDataVersionArchived archives or restores a version; a change is
// audited. Errors: ENOTFOUND, EINVALID.
func (s *DataService) SetDataVersionArchived(ctx context.Context, workspace, name, version string, archived bool) (*hangar.DataAsset, error) {
	if version == "" {
		return nil, hangar.Errorf(hangar.EINVALID, "version is required: archive and restore name one version")
	}
	if err := checkDataKey(workspace, name, version); err != nil {
		return nil, err
	}
	flag := int64(0)
	if archived {
		flag = 1
	}
	var out *hangar.DataAsset
	err := s.db.write(ctx, func(tx *wtx) error {
		res, err := tx.ExecContext(ctx, tx.db.rebind(`UPDATE data_versions SET archived = ?
			WHERE workspace = ? AND name = ? AND version = ? AND archived <> ?`), flag, workspace, name, version, flag)
		if err != nil {
			return fmt.Errorf("update: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("update: %w", err)
		}
		out, err = scanDataVersion(tx.QueryRowContext(ctx, tx.db.rebind(`SELECT `+dataColumns+` FROM data_versions
			WHERE workspace = ? AND name = ? AND version = ?`), workspace, name, version))
		if isNoRows(err) {
			return hangar.DataVersionNotFound(name, version)
		}
		if err != nil {
			return fmt.Errorf("read back: %w", err)
		}
		if n == 0 {
			return nil // already so: no change, no event
		}
		return tx.audit(ctx, hangar.ActDataWrite, dataTarget(name, version), workspace)
	})
	if err != nil {
		return nil, fmt.Errorf("set archived=%t on data asset %q version %q in workspace %q: %w", archived, name, version, workspace, err)
	}
	return out, nil
}

// CreateDatastore stores a named datastore with its audit event. Errors:
// EINVALID, ENOTFOUND (workspace), ECONFLICT.
func (s *DataService) CreateDatastore(ctx context.Context, workspace string, d *hangar.Datastore) error {
	if err := hangar.ValidateWorkspaceName(workspace); err != nil {
		return err
	}
	if err := d.Validate(); err != nil {
		return err
	}
	tags, err := encodeDataTags(d.Tags)
	if err != nil {
		return err
	}
	createdBy := hangar.ActorFrom(ctx).Name
	var created time.Time
	err = s.db.write(ctx, func(tx *wtx) error {
		if err := tx.requireWorkspace(ctx, workspace); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, tx.db.rebind(`INSERT INTO datastores
			(workspace, name, type, root, description, tags, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
			workspace, d.Name, d.Type, d.Root, d.Description, tags, tx.db.tv(tx.now), createdBy)
		if isUniqueViolation(err) {
			return hangar.Errorf(hangar.ECONFLICT, "Datastore %s already exists.", d.Name)
		}
		if err != nil {
			return fmt.Errorf("insert: %w", err)
		}
		created = tx.now.UTC().Truncate(time.Microsecond)
		return tx.audit(ctx, hangar.ActDatastoreWrite, "datastores/"+d.Name, workspace)
	})
	if err != nil {
		return fmt.Errorf("create datastore %q in workspace %q: %w", d.Name, workspace, err)
	}
	d.Workspace, d.CreatedAt, d.CreatedBy = workspace, created, createdBy
	return nil
}

// datastoreQuery selects a workspace's datastores, the made-up default one
// included (its time and creator are its workspace's); its one argument is
// the workspace, for both halves.
const datastoreQuery = `SELECT workspace, name, type, root, description, tags, created_at, created_by FROM (
	SELECT workspace, name, type, root, description, tags, created_at, created_by FROM datastores WHERE workspace = ?
	UNION ALL
	SELECT name AS workspace, '` + hangar.DefaultDatastore + `' AS name, '` + hangar.DatastoreArtifactStore + `' AS type, '' AS root,
		'The artifact store: data uploaded to the workspace, named by digest.' AS description, '{}' AS tags, created_at, created_by
	FROM workspaces WHERE name = ?) d`

func scanDatastore(sc rowScanner) (*hangar.Datastore, error) {
	var (
		d       hangar.Datastore
		tags    string
		created dbTime
	)
	if err := sc.Scan(&d.Workspace, &d.Name, &d.Type, &d.Root, &d.Description, &tags, &created, &d.CreatedBy); err != nil {
		return nil, err
	}
	var err error
	if d.Tags, err = decodeDataTags(tags); err != nil {
		return nil, fmt.Errorf("datastore %q: %w", d.Name, err)
	}
	d.CreatedAt = created.T
	return &d, nil
}

// Datastore returns a datastore, the default one included. Errors:
// ENOTFOUND, EINVALID.
func (s *DataService) Datastore(ctx context.Context, workspace, name string) (*hangar.Datastore, error) {
	if err := hangar.ValidateWorkspaceName(workspace); err != nil {
		return nil, err
	}
	if err := hangar.ValidateName("datastore", name); err != nil {
		return nil, err
	}
	d, err := scanDatastore(s.db.readRow(ctx, s.db.rebind(datastoreQuery+` WHERE name = ?`), workspace, workspace, name))
	if isNoRows(err) {
		return nil, hangar.DatastoreNotFound(name)
	}
	if err != nil {
		return nil, fmt.Errorf("get datastore %q in workspace %q: %w", name, workspace, err)
	}
	return d, nil
}

// ListDatastores lists a workspace's datastores by name. Errors: EINVALID.
func (s *DataService) ListDatastores(ctx context.Context, workspace string, opt hangar.ListOptions) (*hangar.Page[*hangar.Datastore], error) {
	if err := hangar.ValidateWorkspaceName(workspace); err != nil {
		return nil, err
	}
	page, err := listPage(ctx, s.db, preparedReader{s.db}, listSpec[*hangar.Datastore]{
		name:  "datastores",
		query: datastoreQuery,
		args:  []any{workspace, workspace},
		keys:  []sortKey{{"name", keyText}},
		scan:  scanDatastore,
		key:   func(d *hangar.Datastore) []any { return []any{d.Name} },
	}, opt)
	if err != nil {
		return nil, fmt.Errorf("list datastores of workspace %q: %w", workspace, err)
	}
	return page, nil
}

// DeleteDatastore deletes a named datastore that no data version is on.
// Errors: ENOTFOUND, ECONFLICT, EINVALID.
func (s *DataService) DeleteDatastore(ctx context.Context, workspace, name string) error {
	if err := hangar.ValidateWorkspaceName(workspace); err != nil {
		return err
	}
	if err := hangar.ValidateName("datastore", name); err != nil {
		return err
	}
	if name == hangar.DefaultDatastore {
		return hangar.Errorf(hangar.ECONFLICT, "the default datastore %s cannot be deleted", name)
	}
	err := s.db.write(ctx, func(tx *wtx) error {
		var dataName, version string
		err := tx.QueryRowContext(ctx, tx.db.rebind(`SELECT name, version FROM data_versions
			WHERE workspace = ? AND datastore = ? ORDER BY seq LIMIT 1`), workspace, name).Scan(&dataName, &version)
		if err == nil {
			return hangar.Errorf(hangar.ECONFLICT, "datastore %s holds data asset %s version %s (and maybe more): it cannot be deleted while data versions are on it", name, dataName, version)
		}
		if !isNoRows(err) {
			return fmt.Errorf("look up data on it: %w", err)
		}
		res, err := tx.ExecContext(ctx, tx.db.rebind(`DELETE FROM datastores WHERE workspace = ? AND name = ?`), workspace, name)
		if err != nil {
			return fmt.Errorf("delete: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("delete: %w", err)
		} else if n == 0 {
			return hangar.DatastoreNotFound(name)
		}
		return tx.audit(ctx, hangar.ActDatastoreDelete, "datastores/"+name, workspace)
	})
	if err != nil {
		return fmt.Errorf("delete datastore %q in workspace %q: %w", name, workspace, err)
	}
	return nil
}
