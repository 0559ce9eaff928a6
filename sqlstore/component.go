package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/hangar-ml/hangar"
)

// ComponentService stores command component versions in the table
// component_versions (migration 00011), as EnvironmentService stores
// environments: the workspace must own the code snapshot's manifest, and
// the audit event is components/write on components/<name>/versions/<version>.
// It implements hangar.ComponentService.
type ComponentService struct {
	db *DB
}

var _ hangar.ComponentService = (*ComponentService)(nil)

// NewComponentService returns the component service of db.
func NewComponentService(db *DB) *ComponentService { return &ComponentService{db: db} }

const componentColumns = `id, workspace, name, version, display_name, description, tags, spec, code, is_deterministic, hash, archived, created_by, created_at`

// componentRow is a component version with its row id, the key of its
// lists.
type componentRow struct {
	id int64
	c  *hangar.Component
}

func scanComponent(sc rowScanner) (componentRow, error) {
	var (
		r                       componentRow
		c                       hangar.Component
		code, tags              string
		deterministic, archived int64
		created                 dbTime
	)
	if err := sc.Scan(&r.id, &c.Workspace, &c.Name, &c.Version, &c.DisplayName, &c.Description, &tags, &c.Spec, &code,
		&deterministic, &c.Hash, &archived, &c.CreatedBy, &created); err != nil {
		return r, err
	}
	var err error
	if c.Tags, err = ecDecodeTags(tags); err != nil {
		return r, fmt.Errorf("component %s:%s: %w", c.Name, c.Version, err)
	}
	c.Code = hangar.Digest(code)
	c.IsDeterministic = deterministic == 1
	c.Archived = archived == 1
	c.CreatedAt = created.T
	r.c = &c
	return r, nil
}

// CreateComponent is hangar.ComponentService.CreateComponent.
func (s *ComponentService) CreateComponent(ctx context.Context, in *hangar.Component) (*hangar.Component, error) {
	return s.CreateComponentOwning(ctx, in, nil)
}

// CreateComponentOwning is CreateComponent that also gives the workspace the blobs
// (the files of the version's manifest, and the manifest) in the same
// transaction: a version shared from another workspace brings its
// content's ownership with it, or none of it. Errors: as CreateComponent;
// EINVALID for a bad blob.
func (s *ComponentService) CreateComponentOwning(ctx context.Context, in *hangar.Component, blobs []hangar.BlobInfo) (*hangar.Component, error) {
	if err := checkBlobs(blobs); err != nil {
		return nil, err
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	c := *in
	c.Hash = hangar.ComponentHash(&c)
	c.Archived = false
	c.CreatedBy = hangar.ActorFrom(ctx).Name
	tags, err := ecEncodeTags(c.Tags)
	if err != nil {
		return nil, err
	}
	var existing *hangar.Component
	err = s.db.write(ctx, func(tx *wtx) error {
		c.CreatedAt = tx.now.UTC().Truncate(time.Microsecond)
		if err := tx.ownBlobs(ctx, c.Workspace, blobs); err != nil {
			return err
		}
		next, have, err := componentKind.prepareCreate(ctx, tx, c.Workspace, c.Name, c.Version, c.Hash, c.Code, "code snapshot")
		if err != nil {
			return err
		}
		if have != "" {
			r, err := scanComponent(tx.QueryRowContext(ctx, tx.db.rebind(`SELECT `+componentColumns+` FROM component_versions
				WHERE workspace = ? AND name = ? AND version = ?`), c.Workspace, c.Name, have))
			if err != nil {
				return fmt.Errorf("read version %s: %w", have, err)
			}
			existing = r.c
			return nil
		}
		c.Version = next
		_, err = tx.ExecContext(ctx, tx.db.rebind(`INSERT INTO component_versions
			(workspace, name, version, version_num, display_name, description, tags, spec, code, is_deterministic, hash, archived, created_by, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)`),
			c.Workspace, c.Name, c.Version, ecVersionNum(c.Version), c.DisplayName, c.Description, tags, c.Spec, string(c.Code),
			ecBool(c.IsDeterministic), c.Hash, c.CreatedBy, tx.db.tv(tx.now))
		if isUniqueViolation(err) {
			return componentKind.conflict(c.Workspace, c.Name, c.Version)
		}
		if err != nil {
			return fmt.Errorf("insert: %w", err)
		}
		return tx.audit(ctx, hangar.ActComponentWrite, componentKind.auditTarget(c.Name, c.Version), c.Workspace)
	})
	if err != nil {
		return nil, fmt.Errorf("create component %s in workspace %q: %w", c.Name, c.Workspace, err)
	}
	if existing != nil {
		existing.Existing = true
		return existing, nil
	}
	return &c, nil
}

// Component is hangar.ComponentService.Component.
func (s *ComponentService) Component(ctx context.Context, workspace, name, version string) (*hangar.Component, error) {
	if err := componentKind.checkKey(workspace, name, version); err != nil {
		return nil, err
	}
	if version == "" {
		return nil, hangar.Errorf(hangar.EINVALID, "component %s: give a version", name)
	}
	r, err := scanComponent(s.db.reader.QueryRowContext(ctx, s.db.rebind(`SELECT `+componentColumns+` FROM component_versions
		WHERE workspace = ? AND name = ? AND version = ?`), workspace, name, version))
	if isNoRows(err) {
		return nil, componentKind.notFound(workspace, name, version)
	}
	if err != nil {
		return nil, fmt.Errorf("get component %s:%s in workspace %q: %w", name, version, workspace, err)
	}
	return r.c, nil
}

// LatestComponent is hangar.ComponentService.LatestComponent.
func (s *ComponentService) LatestComponent(ctx context.Context, workspace, name string) (*hangar.Component, error) {
	if err := componentKind.checkKey(workspace, name, ""); err != nil {
		return nil, err
	}
	r, err := scanComponent(s.db.reader.QueryRowContext(ctx, s.db.rebind(`SELECT `+componentColumns+` FROM component_versions
		WHERE workspace = ? AND name = ? AND archived = 0 ORDER BY id DESC LIMIT 1`), workspace, name))
	if isNoRows(err) {
		return nil, componentKind.notFound(workspace, name, "latest")
	}
	if err != nil {
		return nil, fmt.Errorf("get component %s@latest in workspace %q: %w", name, workspace, err)
	}
	return r.c, nil
}

// ListComponents is hangar.ComponentService.ListComponents.
func (s *ComponentService) ListComponents(ctx context.Context, workspace string, opt hangar.ListOptions) (*hangar.Page[*hangar.Component], error) {
	if err := hangar.ValidateWorkspaceName(workspace); err != nil {
		return nil, err
	}
	spec := listSpec[componentRow]{
		name:  "components",
		query: `SELECT ` + componentColumns + ` FROM component_versions v`,
		keys:  []sortKey{{col: "v.name", kind: keyText}},
		scan:  scanComponent,
		key:   func(r componentRow) []any { return []any{r.c.Name} },
	}
	spec.filter(`v.workspace = ? AND v.archived = 0 AND v.id = (SELECT MAX(l.id) FROM component_versions l
		WHERE l.workspace = v.workspace AND l.name = v.name AND l.archived = 0)`, workspace)
	return ecListRows(ctx, s.db, spec, opt, func(r componentRow) *hangar.Component { return r.c }, "list components", workspace)
}

// ListComponentVersions is hangar.ComponentService.ListComponentVersions.
func (s *ComponentService) ListComponentVersions(ctx context.Context, workspace, name string, includeArchived bool, opt hangar.ListOptions) (*hangar.Page[*hangar.Component], error) {
	if err := componentKind.checkKey(workspace, name, ""); err != nil {
		return nil, err
	}
	spec := listSpec[componentRow]{
		name:  "component versions",
		query: `SELECT ` + componentColumns + ` FROM component_versions`,
		keys:  []sortKey{{col: "id", kind: keyInt}},
		desc:  true,
		scan:  scanComponent,
		key:   func(r componentRow) []any { return []any{r.id} },
	}
	spec.filter(`workspace = ? AND name = ?`, workspace, name)
	if !includeArchived {
		spec.filter(`archived = 0`)
	}
	return ecListRows(ctx, s.db, spec, opt, func(r componentRow) *hangar.Component { return r.c }, "list versions of component "+name, workspace)
}

// SetComponentArchived is hangar.ComponentService.SetComponentArchived.
func (s *ComponentService) SetComponentArchived(ctx context.Context, workspace, name, version string, archived bool) (*hangar.Component, error) {
	if err := componentKind.checkKey(workspace, name, version); err != nil {
		return nil, err
	}
	if version == "" {
		return nil, hangar.Errorf(hangar.EINVALID, "component %s: give a version", name)
	}
	err := s.db.write(ctx, func(tx *wtx) error {
		return componentKind.setArchived(ctx, tx, workspace, name, version, archived)
	})
	if err != nil {
		return nil, fmt.Errorf("archive component %s:%s in workspace %q: %w", name, version, workspace, err)
	}
	return s.Component(ctx, workspace, name, version)
}
