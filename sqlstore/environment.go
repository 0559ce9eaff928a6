package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/hangar-ml/hangar"
)

// EnvironmentService stores environment versions in the table
// environment_versions (migration 00011; 00013 added the variables and the
// Dockerfile path). It implements hangar.EnvironmentService.
//
// A create is one write transaction: the workspace must exist and own the
// build context manifest (workspace_blobs), the version is numbered (the
// highest numeric version of the name plus one when not given), the row is
// inserted and the audit event (environments/write on
// environments/<name>/versions/<version>) appended. Write transactions are
// serialized (DB.write), so concurrent creators never draw the same number;
// the unique key (workspace, name, version) is the second line.
type EnvironmentService struct {
	db *DB
}

var _ hangar.EnvironmentService = (*EnvironmentService)(nil)

// NewEnvironmentService returns the environment service of db.
func NewEnvironmentService(db *DB) *EnvironmentService { return &EnvironmentService{db: db} }

// ecKind describes one of the versioned tables of migration 00011 for the
// helpers environments and components share.
type ecKind struct {
	table  string // environment_versions
	noun   string // Environment, in messages
	kind   string // environment, in messages
	target string // environments, the audit target's first segment
	write  string // the action of a create, an archive and a restore
}

var (
	environmentKind = ecKind{table: "environment_versions", noun: "Environment", kind: "environment", target: "environments", write: hangar.ActEnvironmentWrite}
	componentKind   = ecKind{table: "component_versions", noun: "Component", kind: "component", target: "components", write: hangar.ActComponentWrite}
)

func (k ecKind) auditTarget(name, version string) string {
	return k.target + "/" + name + "/versions/" + version
}

func (k ecKind) notFound(workspace, name, version string) error {
	return hangar.Errorf(hangar.ENOTFOUND, "%s %s:%s not found in workspace %q", k.noun, name, version, workspace)
}

// checkKey validates a workspace, a name and a version ("" for none).
func (k ecKind) checkKey(workspace, name, version string) error {
	if err := hangar.ValidateWorkspaceName(workspace); err != nil {
		return err
	}
	if err := hangar.ValidateName(k.kind, name); err != nil {
		return err
	}
	if version != "" {
		return hangar.ValidateEnvComponentVersion(k.kind, version)
	}
	return nil
}

// prepareCreate does what a create does before its insert: it requires the
// workspace and its ownership of the manifest (when given), and returns the
// version to create — the given one, or the next number — and, when no
// version was given and the latest version not archived has hash, that
// version's label (nothing is to be created then).
func (k ecKind) prepareCreate(ctx context.Context, tx *wtx, workspace, name, version, hash string, manifest hangar.Digest, what string) (next, existing string, err error) {
	if err := tx.requireWorkspace(ctx, workspace); err != nil {
		return "", "", err
	}
	if manifest != "" {
		var one int
		err := tx.QueryRowContext(ctx, tx.db.rebind(`SELECT 1 FROM workspace_blobs WHERE workspace = ? AND digest = ?`),
			workspace, string(manifest)).Scan(&one)
		if isNoRows(err) {
			return "", "", hangar.Errorf(hangar.ENOTFOUND, "%s %s: %s %s not found in workspace %q: upload it first", k.noun, name, what, manifest, workspace)
		}
		if err != nil {
			return "", "", fmt.Errorf("look up %s: %w", what, err)
		}
	}
	if version != "" {
		return version, "", nil
	}
	var latest, latestHash string
	err = tx.QueryRowContext(ctx, tx.db.rebind(`SELECT version, hash FROM `+k.table+`
		WHERE workspace = ? AND name = ? AND archived = 0 ORDER BY id DESC LIMIT 1`), workspace, name).Scan(&latest, &latestHash)
	switch {
	case err == nil && latestHash == hash:
		return "", latest, nil
	case err != nil && !isNoRows(err):
		return "", "", fmt.Errorf("look up the latest version: %w", err)
	}
	var max sql.NullInt64
	if err := tx.QueryRowContext(ctx, tx.db.rebind(`SELECT MAX(version_num) FROM `+k.table+` WHERE workspace = ? AND name = ?`),
		workspace, name).Scan(&max); err != nil {
		return "", "", fmt.Errorf("number the version: %w", err)
	}
	if max.Int64 == math.MaxInt64 {
		return "", "", hangar.Errorf(hangar.EINVALID, "%s %s: version %d is the highest number: give a version", k.noun, name, max.Int64)
	}
	return fmt.Sprint(max.Int64 + 1), "", nil
}

// ecVersionNum is the version_num column of a version label.
func ecVersionNum(version string) any {
	if n, ok := hangar.EnvComponentVersionNumber(version); ok {
		return n
	}
	return nil
}

// conflict is the error of a version that exists, in Azure's words.
func (k ecKind) conflict(workspace, name, version string) error {
	return hangar.Errorf(hangar.ECONFLICT, "%s %s version %s already exists in workspace %q: versions are immutable; create a new version with a different version number, or omit the version to number it automatically", k.noun, name, version, workspace)
}

// setArchived archives or restores a version and appends its audit event.
func (k ecKind) setArchived(ctx context.Context, tx *wtx, workspace, name, version string, archived bool) error {
	res, err := tx.ExecContext(ctx, tx.db.rebind(`UPDATE `+k.table+` SET archived = ? WHERE workspace = ? AND name = ? AND version = ?`),
		ecBool(archived), workspace, name, version)
	if err != nil {
		return fmt.Errorf("update: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("update: %w", err)
	} else if n == 0 {
		return k.notFound(workspace, name, version)
	}
	return tx.audit(ctx, k.write, k.auditTarget(name, version), workspace)
}

func ecBool(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func ecEncodeTags(tags map[string]string) (string, error) {
	if tags == nil {
		tags = map[string]string{}
	}
	b, err := json.Marshal(tags)
	return string(b), err
}

func ecDecodeTags(s string) (map[string]string, error) {
	var tags map[string]string
	if err := json.Unmarshal([]byte(s), &tags); err != nil {
		return nil, fmt.Errorf("decode tags: %w", err)
	}
	if len(tags) == 0 {
		tags = nil
	}
	return tags, nil
}

const environmentColumns = `id, workspace, name, version, image, conda_file, build_context, dockerfile_path, variables, description, tags, hash, archived, created_by, created_at`

// environmentRow is an environment version with its row id, the key of
// its lists.
type environmentRow struct {
	id int64
	e  *hangar.Environment
}

func scanEnvironment(sc rowScanner) (environmentRow, error) {
	var (
		r        environmentRow
		e        hangar.Environment
		build    string
		vars     string
		tags     string
		archived int64
		created  dbTime
	)
	if err := sc.Scan(&r.id, &e.Workspace, &e.Name, &e.Version, &e.Image, &e.CondaFile, &build, &e.DockerfilePath, &vars, &e.Description, &tags,
		&e.Hash, &archived, &e.CreatedBy, &created); err != nil {
		return r, err
	}
	var err error
	if e.Tags, err = ecDecodeTags(tags); err != nil {
		return r, fmt.Errorf("environment %s:%s: %w", e.Name, e.Version, err)
	}
	if e.Variables, err = ecDecodeTags(vars); err != nil {
		return r, fmt.Errorf("environment %s:%s: variables: %w", e.Name, e.Version, err)
	}
	e.BuildContext = hangar.Digest(build)
	e.Archived = archived == 1
	e.CreatedAt = created.T
	r.e = &e
	return r, nil
}

// CreateEnvironment is hangar.EnvironmentService.CreateEnvironment.
func (s *EnvironmentService) CreateEnvironment(ctx context.Context, in *hangar.Environment) (*hangar.Environment, error) {
	return s.CreateEnvironmentOwning(ctx, in, nil)
}

// CreateEnvironmentOwning is CreateEnvironment that also gives the workspace the blobs
// (the files of the version's manifest, and the manifest) in the same
// transaction: a version shared from another workspace brings its
// content's ownership with it, or none of it. Errors: as CreateEnvironment;
// EINVALID for a bad blob.
func (s *EnvironmentService) CreateEnvironmentOwning(ctx context.Context, in *hangar.Environment, blobs []hangar.BlobInfo) (*hangar.Environment, error) {
	if err := checkBlobs(blobs); err != nil {
		return nil, err
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	e := *in
	e.Hash = hangar.EnvironmentHash(&e)
	e.Archived = false
	e.CreatedBy = hangar.ActorFrom(ctx).Name
	tags, err := ecEncodeTags(e.Tags)
	if err != nil {
		return nil, err
	}
	vars, err := ecEncodeTags(e.Variables)
	if err != nil {
		return nil, err
	}
	var existing *hangar.Environment
	err = s.db.write(ctx, func(tx *wtx) error {
		e.CreatedAt = tx.now.UTC().Truncate(time.Microsecond)
		if err := tx.ownBlobs(ctx, e.Workspace, blobs); err != nil {
			return err
		}
		next, have, err := environmentKind.prepareCreate(ctx, tx, e.Workspace, e.Name, e.Version, e.Hash, e.BuildContext, "build context")
		if err != nil {
			return err
		}
		if have != "" {
			r, err := scanEnvironment(tx.QueryRowContext(ctx, tx.db.rebind(`SELECT `+environmentColumns+` FROM environment_versions
				WHERE workspace = ? AND name = ? AND version = ?`), e.Workspace, e.Name, have))
			if err != nil {
				return fmt.Errorf("read version %s: %w", have, err)
			}
			existing = r.e
			return nil
		}
		e.Version = next
		_, err = tx.ExecContext(ctx, tx.db.rebind(`INSERT INTO environment_versions
			(workspace, name, version, version_num, image, conda_file, build_context, dockerfile_path, variables, description, tags, hash, archived, created_by, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)`),
			e.Workspace, e.Name, e.Version, ecVersionNum(e.Version), e.Image, e.CondaFile, string(e.BuildContext), e.DockerfilePath, vars, e.Description, tags,
			e.Hash, e.CreatedBy, tx.db.tv(tx.now))
		if isUniqueViolation(err) {
			return environmentKind.conflict(e.Workspace, e.Name, e.Version)
		}
		if err != nil {
			return fmt.Errorf("insert: %w", err)
		}
		return tx.audit(ctx, hangar.ActEnvironmentWrite, environmentKind.auditTarget(e.Name, e.Version), e.Workspace)
	})
	if err != nil {
		return nil, fmt.Errorf("create environment %s in workspace %q: %w", e.Name, e.Workspace, err)
	}
	if existing != nil {
		existing.Existing = true
		return existing, nil
	}
	return &e, nil
}

// Environment is hangar.EnvironmentService.Environment.
func (s *EnvironmentService) Environment(ctx context.Context, workspace, name, version string) (*hangar.Environment, error) {
	if err := environmentKind.checkKey(workspace, name, version); err != nil {
		return nil, err
	}
	if version == "" {
		return nil, hangar.Errorf(hangar.EINVALID, "environment %s: give a version", name)
	}
	r, err := scanEnvironment(s.db.reader.QueryRowContext(ctx, s.db.rebind(`SELECT `+environmentColumns+` FROM environment_versions
		WHERE workspace = ? AND name = ? AND version = ?`), workspace, name, version))
	if isNoRows(err) {
		return nil, environmentKind.notFound(workspace, name, version)
	}
	if err != nil {
		return nil, fmt.Errorf("get environment %s:%s in workspace %q: %w", name, version, workspace, err)
	}
	return r.e, nil
}

// LatestEnvironment is hangar.EnvironmentService.LatestEnvironment.
func (s *EnvironmentService) LatestEnvironment(ctx context.Context, workspace, name string) (*hangar.Environment, error) {
	if err := environmentKind.checkKey(workspace, name, ""); err != nil {
		return nil, err
	}
	r, err := scanEnvironment(s.db.reader.QueryRowContext(ctx, s.db.rebind(`SELECT `+environmentColumns+` FROM environment_versions
		WHERE workspace = ? AND name = ? AND archived = 0 ORDER BY id DESC LIMIT 1`), workspace, name))
	if isNoRows(err) {
		return nil, environmentKind.notFound(workspace, name, "latest")
	}
	if err != nil {
		return nil, fmt.Errorf("get environment %s@latest in workspace %q: %w", name, workspace, err)
	}
	return r.e, nil
}

// ListEnvironments is hangar.EnvironmentService.ListEnvironments.
func (s *EnvironmentService) ListEnvironments(ctx context.Context, workspace string, opt hangar.ListOptions) (*hangar.Page[*hangar.Environment], error) {
	if err := hangar.ValidateWorkspaceName(workspace); err != nil {
		return nil, err
	}
	spec := listSpec[environmentRow]{
		name:  "environments",
		query: `SELECT ` + environmentColumns + ` FROM environment_versions v`,
		keys:  []sortKey{{col: "v.name", kind: keyText}},
		scan:  scanEnvironment,
		key:   func(r environmentRow) []any { return []any{r.e.Name} },
	}
	spec.filter(`v.workspace = ? AND v.archived = 0 AND v.id = (SELECT MAX(l.id) FROM environment_versions l
		WHERE l.workspace = v.workspace AND l.name = v.name AND l.archived = 0)`, workspace)
	return ecListRows(ctx, s.db, spec, opt, func(r environmentRow) *hangar.Environment { return r.e }, "list environments", workspace)
}

// ListEnvironmentVersions is hangar.EnvironmentService.ListEnvironmentVersions.
func (s *EnvironmentService) ListEnvironmentVersions(ctx context.Context, workspace, name string, includeArchived bool, opt hangar.ListOptions) (*hangar.Page[*hangar.Environment], error) {
	if err := environmentKind.checkKey(workspace, name, ""); err != nil {
		return nil, err
	}
	spec := listSpec[environmentRow]{
		name:  "environment versions",
		query: `SELECT ` + environmentColumns + ` FROM environment_versions`,
		keys:  []sortKey{{col: "id", kind: keyInt}},
		desc:  true,
		scan:  scanEnvironment,
		key:   func(r environmentRow) []any { return []any{r.id} },
	}
	spec.filter(`workspace = ? AND name = ?`, workspace, name)
	if !includeArchived {
		spec.filter(`archived = 0`)
	}
	return ecListRows(ctx, s.db, spec, opt, func(r environmentRow) *hangar.Environment { return r.e }, "list versions of environment "+name, workspace)
}

// SetEnvironmentArchived is hangar.EnvironmentService.SetEnvironmentArchived.
func (s *EnvironmentService) SetEnvironmentArchived(ctx context.Context, workspace, name, version string, archived bool) (*hangar.Environment, error) {
	if err := environmentKind.checkKey(workspace, name, version); err != nil {
		return nil, err
	}
	if version == "" {
		return nil, hangar.Errorf(hangar.EINVALID, "environment %s: give a version", name)
	}
	err := s.db.write(ctx, func(tx *wtx) error {
		return environmentKind.setArchived(ctx, tx, workspace, name, version, archived)
	})
	if err != nil {
		return nil, fmt.Errorf("archive environment %s:%s in workspace %q: %w", name, version, workspace, err)
	}
	return s.Environment(ctx, workspace, name, version)
}

// ecListRows pages a list of rows and returns their items. what and
// workspace name the list in errors.
func ecListRows[R, T any](ctx context.Context, db *DB, spec listSpec[R], opt hangar.ListOptions, item func(R) T, what, workspace string) (*hangar.Page[T], error) {
	p, err := listPage(ctx, db, db.reader, spec, opt)
	if err != nil {
		return nil, fmt.Errorf("%s in workspace %q: %w", what, workspace, err)
	}
	out := &hangar.Page[T]{Items: make([]T, len(p.Items)), NextPageToken: p.NextPageToken}
	for i, r := range p.Items {
		out.Items[i] = item(r)
	}
	return out, nil
}
