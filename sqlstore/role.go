package sqlstore

import (
	"context"
	"fmt"

	"github.com/hangar-ml/hangar"
)

// RoleService stores role assignments. It implements hangar.RoleService.
type RoleService struct {
	db *DB
}

// NewRoleService returns the role service of db.
func NewRoleService(db *DB) *RoleService { return &RoleService{db: db} }

// AssignRole stores an assignment of a.Role to the identity a.IdentityName
// on a.Workspace ("" for every workspace). It sets ID, IdentityID,
// CreatedAt and the canonical role name. Errors: EINVALID (unknown role, bad
// identity or workspace name), ENOTFOUND (identity, workspace), ECONFLICT (exists).
func (s *RoleService) AssignRole(ctx context.Context, a *hangar.RoleAssignment) error {
	if err := hangar.ValidateName("identity", a.IdentityName); err != nil {
		return err
	}
	role, err := hangar.LookupRole(a.Role)
	if err != nil {
		return err
	}
	if a.Workspace != "" {
		if err := hangar.ValidateWorkspaceName(a.Workspace); err != nil {
			return err
		}
	}
	a.Role = role.Name
	err = s.db.write(ctx, func(tx *wtx) error {
		id, err := tx.identityByName(ctx, a.IdentityName)
		if err != nil {
			return err
		}
		if id == nil {
			return hangar.Errorf(hangar.ENOTFOUND, "identity %q not found", a.IdentityName)
		}
		if a.Workspace != "" {
			if err := tx.requireWorkspace(ctx, a.Workspace); err != nil {
				return err
			}
		}
		has, err := tx.hasAssignment(ctx, id.ID, a.Role, a.Workspace)
		if err != nil {
			return err
		}
		if has {
			return assignmentConflict(a)
		}
		return tx.insertAssignment(ctx, id, a)
	})
	if err != nil {
		return fmt.Errorf("assign role %q to %q: %w", a.Role, a.IdentityName, err)
	}
	return nil
}

func assignmentConflict(a *hangar.RoleAssignment) error {
	scope := "every workspace"
	if a.Workspace != "" {
		scope = fmt.Sprintf("workspace %q", a.Workspace)
	}
	return hangar.Errorf(hangar.ECONFLICT, "identity %q already has role %q on %s", a.IdentityName, a.Role, scope)
}

// nullString maps "" to NULL.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// hasAssignment reports whether the identity holds the role on the workspace.
func (tx *wtx) hasAssignment(ctx context.Context, identityID, role, workspace string) (bool, error) {
	var n int
	err := tx.QueryRowContext(ctx, tx.db.rebind(`SELECT COUNT(*) FROM role_assignments
		WHERE identity_id = ? AND role = ? AND COALESCE(workspace, '') = ?`), identityID, role, workspace).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("look up role assignment: %w", err)
	}
	return n > 0, nil
}

// insertAssignment stores a for the identity id and audits it. a.Role must be canonical.
func (tx *wtx) insertAssignment(ctx context.Context, id *hangar.Identity, a *hangar.RoleAssignment) error {
	newID := hangar.NewID()
	_, err := tx.ExecContext(ctx, tx.db.rebind(`INSERT INTO role_assignments (id, identity_id, role, workspace, created_at)
		VALUES (?, ?, ?, ?, ?)`), newID, id.ID, a.Role, nullString(a.Workspace), tx.db.tv(tx.now))
	if isUniqueViolation(err) {
		return assignmentConflict(a)
	}
	if err != nil {
		return fmt.Errorf("insert role assignment: %w", err)
	}
	if err := tx.audit(ctx, hangar.ActRoleAssignmentWrite, "roleAssignments/"+newID, a.Workspace); err != nil {
		return err
	}
	a.ID, a.IdentityID, a.IdentityName, a.CreatedAt = newID, id.ID, id.Name, tx.now
	return nil
}

const assignmentColumns = `r.id, r.identity_id, i.name, r.role, COALESCE(r.workspace, ''), r.created_at`
const assignmentFrom = ` FROM role_assignments r JOIN identities i ON i.id = r.identity_id`
const assignmentOrder = ` ORDER BY i.name, COALESCE(r.workspace, ''), r.role`

func scanAssignment(sc rowScanner) (*hangar.RoleAssignment, error) {
	var (
		a       hangar.RoleAssignment
		created dbTime
	)
	if err := sc.Scan(&a.ID, &a.IdentityID, &a.IdentityName, &a.Role, &a.Workspace, &created); err != nil {
		return nil, err
	}
	a.CreatedAt = created.T
	return &a, nil
}

// ListRoleAssignments lists assignments ordered by identity name, workspace
// ("" first) and role. Errors: EINVALID (options, filters with a NUL or
// invalid UTF-8).
func (s *RoleService) ListRoleAssignments(ctx context.Context, f hangar.RoleAssignmentFilter, opt hangar.ListOptions) (*hangar.Page[*hangar.RoleAssignment], error) {
	spec := listSpec[*hangar.RoleAssignment]{
		name:  "role assignments",
		text:  []string{"identity filter", f.IdentityName, "workspace filter", f.Workspace},
		query: `SELECT ` + assignmentColumns + assignmentFrom,
		keys:  []sortKey{{"i.name", keyText}, {"COALESCE(r.workspace, '')", keyText}, {"r.role", keyText}},
		scan:  scanAssignment,
		key: func(a *hangar.RoleAssignment) []any {
			return []any{a.IdentityName, a.Workspace, a.Role}
		},
	}
	if f.IdentityName != "" {
		spec.filter(`i.name = ?`, f.IdentityName)
	}
	if f.Workspace != "" {
		spec.filter(`r.workspace = ?`, f.Workspace)
	}
	page, err := listPage(ctx, s.db, s.db.reader, spec, opt)
	if err != nil {
		return nil, fmt.Errorf("list role assignments: %w", err)
	}
	return page, nil
}

// queryAssignments runs a query of assignmentColumns.
func queryAssignments(ctx context.Context, q querier, db *DB, query string, args ...any) ([]*hangar.RoleAssignment, error) {
	rows, err := q.QueryContext(ctx, db.rebind(query), args...)
	if err != nil {
		return nil, err
	}
	items := []*hangar.RoleAssignment{}
	for rows.Next() {
		a, err := scanAssignment(rows)
		if err != nil {
			return nil, closeRows(rows, err)
		}
		items = append(items, a)
	}
	return items, closeRows(rows, nil)
}

// RemoveRoleAssignment deletes an assignment by id. Errors: ENOTFOUND.
func (s *RoleService) RemoveRoleAssignment(ctx context.Context, id string) error {
	if err := checkText("role assignment id", id); err != nil {
		return err
	}
	err := s.db.write(ctx, func(tx *wtx) error {
		var workspace string
		err := tx.QueryRowContext(ctx, tx.db.rebind(`SELECT COALESCE(workspace, '') FROM role_assignments WHERE id = ?`), id).Scan(&workspace)
		if err != nil {
			if isNoRows(err) {
				return hangar.Errorf(hangar.ENOTFOUND, "role assignment %q not found", id)
			}
			return fmt.Errorf("look up: %w", err)
		}
		if _, err := tx.ExecContext(ctx, tx.db.rebind(`DELETE FROM role_assignments WHERE id = ?`), id); err != nil {
			return fmt.Errorf("delete: %w", err)
		}
		return tx.audit(ctx, hangar.ActRoleAssignmentDelete, "roleAssignments/"+id, workspace)
	})
	if err != nil {
		return fmt.Errorf("remove role assignment %q: %w", id, err)
	}
	return nil
}
