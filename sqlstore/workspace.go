package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/hangar-ml/hangar"
)

// WorkspaceService stores workspaces. It implements hangar.WorkspaceService.
type WorkspaceService struct {
	db *DB
}

// NewWorkspaceService returns the workspace service of db.
func NewWorkspaceService(db *DB) *WorkspaceService { return &WorkspaceService{db: db} }

// CreateWorkspace stores w, setting CreatedAt and CreatedBy (the actor of
// ctx). Errors: EINVALID, ECONFLICT.
func (s *WorkspaceService) CreateWorkspace(ctx context.Context, w *hangar.Workspace) error {
	if err := w.Validate(); err != nil {
		return err
	}
	err := s.db.write(ctx, func(tx *wtx) error {
		exists, err := tx.workspaceExists(ctx, w.Name)
		if err != nil {
			return err
		}
		if exists {
			return hangar.Errorf(hangar.ECONFLICT, "workspace %q already exists", w.Name)
		}
		return tx.insertWorkspace(ctx, w)
	})
	if err != nil {
		return fmt.Errorf("create workspace %q: %w", w.Name, err)
	}
	return nil
}

// insertWorkspace stores w with the transaction's time and actor and audits it.
func (tx *wtx) insertWorkspace(ctx context.Context, w *hangar.Workspace) error {
	tags, err := json.Marshal(w.Tags)
	if err != nil {
		return fmt.Errorf("encode tags: %w", err)
	}
	if len(w.Tags) == 0 {
		tags = []byte("{}")
	}
	createdBy := hangar.ActorFrom(ctx).Name
	kind := w.Kind
	if kind == "" {
		kind = hangar.WorkspaceKindWorkspace
	}
	// The creation event comes first: its seq is where the workspace's
	// audit listing starts (audit_seq), so the events of a deleted
	// workspace of the same name stay out of it.
	if err := tx.audit(ctx, hangar.ActWorkspaceWrite, "workspaces/"+w.Name, w.Name); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, tx.db.rebind(`INSERT INTO workspaces
		(name, display_name, description, tags, created_at, created_by, audit_seq, kind) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
		w.Name, w.DisplayName, w.Description, string(tags), tx.db.tv(tx.now), createdBy, tx.headSeq, kind)
	if isUniqueViolation(err) {
		return hangar.Errorf(hangar.ECONFLICT, "workspace %q already exists", w.Name)
	}
	if err != nil {
		return fmt.Errorf("insert workspace: %w", err)
	}
	w.CreatedAt, w.CreatedBy, w.Kind = tx.now, createdBy, kind
	return nil
}

// workspaceExists reports whether the workspace exists, inside the transaction.
func (tx *wtx) workspaceExists(ctx context.Context, name string) (bool, error) {
	var n int
	err := tx.QueryRowContext(ctx, tx.db.rebind(`SELECT COUNT(*) FROM workspaces WHERE name = ?`), name).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("look up workspace: %w", err)
	}
	return n > 0, nil
}

// requireWorkspace returns ENOTFOUND unless the workspace exists.
func (tx *wtx) requireWorkspace(ctx context.Context, name string) error {
	ok, err := tx.workspaceExists(ctx, name)
	if err != nil {
		return err
	}
	if !ok {
		return hangar.Errorf(hangar.ENOTFOUND, "workspace %q not found", name)
	}
	return nil
}

const workspaceColumns = `name, display_name, description, tags, created_at, created_by, kind`

func scanWorkspace(sc rowScanner) (*hangar.Workspace, error) {
	var (
		w       hangar.Workspace
		tags    string
		created dbTime
	)
	if err := sc.Scan(&w.Name, &w.DisplayName, &w.Description, &tags, &created, &w.CreatedBy, &w.Kind); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(tags), &w.Tags); err != nil {
		return nil, fmt.Errorf("decode tags of workspace %q: %w", w.Name, err)
	}
	if len(w.Tags) == 0 {
		w.Tags = nil
	}
	w.CreatedAt = created.T
	return &w, nil
}

// Workspace returns one workspace. Errors: ENOTFOUND, EINVALID (a name
// with a NUL or invalid UTF-8).
func (s *WorkspaceService) Workspace(ctx context.Context, name string) (*hangar.Workspace, error) {
	if err := checkText("workspace name", name); err != nil {
		return nil, err
	}
	row := s.db.readRow(ctx, s.db.rebind(`SELECT `+workspaceColumns+` FROM workspaces WHERE name = ?`), name)
	w, err := scanWorkspace(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, hangar.Errorf(hangar.ENOTFOUND, "workspace %q not found", name)
	}
	if err != nil {
		return nil, fmt.Errorf("get workspace %q: %w", name, err)
	}
	return w, nil
}

// AuthGeneration is IdentityService.AuthGeneration: every workspace
// creation and deletion advances it, so a server may cache workspaces
// while it stays the same.
func (s *WorkspaceService) AuthGeneration(ctx context.Context) (int64, error) {
	return s.db.authGeneration(ctx)
}

// ListWorkspaces lists workspaces ordered by name. Errors: EINVALID (options).
func (s *WorkspaceService) ListWorkspaces(ctx context.Context, opt hangar.ListOptions) (*hangar.Page[*hangar.Workspace], error) {
	page, err := listPage(ctx, s.db, s.db.reader, listSpec[*hangar.Workspace]{
		name:  "workspaces",
		query: `SELECT ` + workspaceColumns + ` FROM workspaces`,
		keys:  []sortKey{{"name", keyText}},
		scan:  scanWorkspace,
		key:   func(w *hangar.Workspace) []any { return []any{w.Name} },
	}, opt)
	if err != nil {
		return nil, fmt.Errorf("list workspaces: %w", err)
	}
	return page, nil
}

// DeleteWorkspace deletes a workspace and, by foreign-key cascade, its
// secrets, their grants and its role assignments. Audit events are kept,
// but a workspace created later under the same name lists only its own
// (ListEvents).
// Errors: ENOTFOUND, ECONFLICT (the default workspace), EINVALID.
func (s *WorkspaceService) DeleteWorkspace(ctx context.Context, name string) error {
	if name == hangar.DefaultWorkspace {
		return hangar.Errorf(hangar.ECONFLICT, "the %q workspace cannot be deleted", hangar.DefaultWorkspace)
	}
	if err := checkText("workspace name", name); err != nil {
		return err
	}
	err := s.db.write(ctx, func(tx *wtx) error {
		res, err := tx.ExecContext(ctx, tx.db.rebind(`DELETE FROM workspaces WHERE name = ?`), name)
		if err != nil {
			return fmt.Errorf("delete: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("delete: %w", err)
		} else if n == 0 {
			return hangar.Errorf(hangar.ENOTFOUND, "workspace %q not found", name)
		}
		return tx.audit(ctx, hangar.ActWorkspaceDelete, "workspaces/"+name, name)
	})
	if err != nil {
		return fmt.Errorf("delete workspace %q: %w", name, err)
	}
	return nil
}
