package sqlstore

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/hangar-ml/hangar"
)

// Approvals (migration 00015): protected aliases and approval requests.
// A request's expiry is read, never written: a pending row whose
// expires_at has passed lists and reads as expired, so expiry changes
// nothing and needs no sweeper. Deciding reads the request, checks it
// (hangar.CheckDecision) and, when approving, moves the alias, all in one
// write transaction, which holds the audit chain head and so serialises
// decisions: two approvers of one request never both succeed.

var _ hangar.ApprovalService = (*ApprovalService)(nil)

// ApprovalService stores protected aliases and approval requests. It
// implements hangar.ApprovalService.
type ApprovalService struct {
	db *DB
}

// NewApprovalService returns the approval service of db.
func NewApprovalService(db *DB) *ApprovalService { return &ApprovalService{db: db} }

func protectedAliasTarget(alias string) string { return "protectedAliases/" + alias }

func protectedAliasNotFound(ws, alias string) error {
	return hangar.Errorf(hangar.ENOTFOUND, "alias %q is not protected in workspace %q", alias, ws)
}

func approvalNotFound(id string) error {
	return hangar.Errorf(hangar.ENOTFOUND, "approval request %q not found", id)
}

// protectedArgs checks a workspace name and an alias.
func protectedArgs(ws, alias string) error {
	if err := checkText("workspace name", ws); err != nil {
		return err
	}
	return hangar.ValidateModelAlias(alias)
}

const protectedAliasColumns = `workspace, alias, created_by, created_at`

func scanProtectedAlias(sc rowScanner) (*hangar.ProtectedAlias, error) {
	var (
		p       hangar.ProtectedAlias
		created dbTime
	)
	if err := sc.Scan(&p.Workspace, &p.Alias, &p.CreatedBy, &created); err != nil {
		return nil, err
	}
	p.CreatedAt = created.T
	return &p, nil
}

// protectedAlias reads a protection through q. Errors: ENOTFOUND.
func (s *ApprovalService) protectedAlias(ctx context.Context, q querier, ws, alias string) (*hangar.ProtectedAlias, error) {
	p, err := scanProtectedAlias(q.QueryRowContext(ctx, s.db.rebind(`SELECT `+protectedAliasColumns+` FROM protected_aliases WHERE workspace = ? AND alias = ?`), ws, alias))
	if isNoRows(err) {
		return nil, protectedAliasNotFound(ws, alias)
	}
	if err != nil {
		return nil, fmt.Errorf("read protected alias: %w", err)
	}
	return p, nil
}

// ProtectAlias protects an alias name in a workspace. Errors: EINVALID,
// ENOTFOUND (workspace), ECONFLICT.
func (s *ApprovalService) ProtectAlias(ctx context.Context, ws, alias string) (*hangar.ProtectedAlias, error) {
	if err := protectedArgs(ws, alias); err != nil {
		return nil, err
	}
	p := &hangar.ProtectedAlias{Workspace: ws, Alias: alias, CreatedBy: hangar.ActorFrom(ctx).Name}
	err := s.db.write(ctx, func(tx *wtx) error {
		if err := tx.requireWorkspace(ctx, ws); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, tx.db.rebind(`INSERT INTO protected_aliases (`+protectedAliasColumns+`) VALUES (?, ?, ?, ?)`),
			ws, alias, p.CreatedBy, tx.db.tv(tx.now))
		if isUniqueViolation(err) {
			return hangar.Errorf(hangar.ECONFLICT, "alias %q is protected already in workspace %q", alias, ws)
		}
		if err != nil {
			return fmt.Errorf("insert: %w", err)
		}
		p.CreatedAt = tx.now
		return tx.audit(ctx, hangar.ActApprovalWrite, protectedAliasTarget(alias), ws)
	})
	if err != nil {
		return nil, fmt.Errorf("protect alias %q: %w", alias, err)
	}
	return p, nil
}

// UnprotectAlias lifts a protection. Pending requests for the alias stay
// and may still be decided. Errors: EINVALID, ENOTFOUND.
func (s *ApprovalService) UnprotectAlias(ctx context.Context, ws, alias string) error {
	if err := protectedArgs(ws, alias); err != nil {
		return err
	}
	err := s.db.write(ctx, func(tx *wtx) error {
		res, err := tx.ExecContext(ctx, tx.db.rebind(`DELETE FROM protected_aliases WHERE workspace = ? AND alias = ?`), ws, alias)
		if err != nil {
			return fmt.Errorf("delete: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("delete: %w", err)
		} else if n == 0 {
			return protectedAliasNotFound(ws, alias)
		}
		return tx.audit(ctx, hangar.ActApprovalWrite, protectedAliasTarget(alias), ws)
	})
	if err != nil {
		return fmt.Errorf("unprotect alias %q: %w", alias, err)
	}
	return nil
}

// ProtectedAlias returns the protection of an alias. Errors: EINVALID,
// ENOTFOUND.
func (s *ApprovalService) ProtectedAlias(ctx context.Context, ws, alias string) (*hangar.ProtectedAlias, error) {
	if err := protectedArgs(ws, alias); err != nil {
		return nil, err
	}
	p, err := s.protectedAlias(ctx, s.db.reader, ws, alias)
	if err != nil {
		return nil, fmt.Errorf("get protected alias %q: %w", alias, err)
	}
	return p, nil
}

// ListProtectedAliases lists a workspace's protected aliases by name.
// Errors: EINVALID.
func (s *ApprovalService) ListProtectedAliases(ctx context.Context, ws string, opt hangar.ListOptions) (*hangar.Page[*hangar.ProtectedAlias], error) {
	spec := listSpec[*hangar.ProtectedAlias]{
		name:  "protected aliases",
		text:  []string{"workspace name", ws},
		query: `SELECT ` + protectedAliasColumns + ` FROM protected_aliases`,
		keys:  []sortKey{{"alias", keyText}},
		scan:  scanProtectedAlias,
		key:   func(p *hangar.ProtectedAlias) []any { return []any{p.Alias} },
	}
	spec.filter(`workspace = ?`, ws)
	page, err := listPage(ctx, s.db, s.db.reader, spec, opt)
	if err != nil {
		return nil, fmt.Errorf("list protected aliases: %w", err)
	}
	return page, nil
}

// RequestApproval creates a pending request for a protected alias and an
// existing model version. Errors: EINVALID, ENOTFOUND.
func (s *ApprovalService) RequestApproval(ctx context.Context, n hangar.NewApprovalRequest) (*hangar.ApprovalRequest, error) {
	if err := registryArgs(n.Workspace, n.Name); err != nil {
		return nil, err
	}
	if err := hangar.ValidateModelAlias(n.Alias); err != nil {
		return nil, err
	}
	version, err := hangar.ParseModelVersion(n.Version)
	if err != nil {
		return nil, err
	}
	if err := n.Validate(); err != nil {
		return nil, err
	}
	actor := hangar.ActorFrom(ctx)
	r := &hangar.ApprovalRequest{
		ID: hangar.NewID(), Workspace: n.Workspace, Name: n.Name, Version: strconv.FormatInt(version, 10), Alias: n.Alias,
		Comment: n.Comment, Requester: actor.Name, RequesterID: actor.IdentityID, Status: hangar.ApprovalPending,
	}
	err = s.db.write(ctx, func(tx *wtx) error {
		reg := registry{db: tx.db, q: tx}
		if _, err := reg.versionKeyOf(ctx, n.Workspace, n.Name, version, n.Version); err != nil {
			return err
		}
		if _, err := s.protectedAlias(ctx, tx, n.Workspace, n.Alias); hangar.ErrorCode(err) == hangar.ENOTFOUND {
			return hangar.Errorf(hangar.EINVALID, "alias %q is not protected in workspace %q: set it directly, no approval is needed", n.Alias, n.Workspace)
		} else if err != nil {
			return err
		}
		r.CreatedAt = tx.now
		r.ExpiresAt = tx.now.Add(n.ExpiresIn)
		_, err := tx.ExecContext(ctx, tx.db.rebind(`INSERT INTO approval_requests
			(id, workspace, model, version, alias, comment, requester, requester_id, status, created_at, expires_at,
			 decided_by, decided_by_id, decided_at, decision_comment, previous_version)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', '', NULL, '', '')`),
			r.ID, r.Workspace, r.Name, version, r.Alias, r.Comment, r.Requester, r.RequesterID, r.Status,
			tx.db.tv(r.CreatedAt), tx.db.tv(r.ExpiresAt))
		if err != nil {
			return fmt.Errorf("insert: %w", err)
		}
		return tx.audit(ctx, hangar.ActModelWrite, hangar.ApprovalTarget(r.Name, r.ID), r.Workspace)
	})
	if err != nil {
		return nil, fmt.Errorf("request approval of alias %q for registered model %q version %s: %w", n.Alias, n.Name, n.Version, err)
	}
	return r, nil
}

const approvalColumns = `id, workspace, model, version, alias, comment, requester, requester_id, status, created_at, expires_at,
	decided_by, decided_by_id, decided_at, decision_comment, previous_version`

// scanApproval reads a request, its status as of now.
func scanApproval(sc rowScanner, now time.Time) (*hangar.ApprovalRequest, error) {
	var (
		r                         hangar.ApprovalRequest
		version                   int64
		created, expires, decided dbTime
	)
	if err := sc.Scan(&r.ID, &r.Workspace, &r.Name, &version, &r.Alias, &r.Comment, &r.Requester, &r.RequesterID, &r.Status,
		&created, &expires, &r.DecidedBy, &r.DecidedByID, &decided, &r.DecisionComment, &r.PreviousVersion); err != nil {
		return nil, err
	}
	r.Version = strconv.FormatInt(version, 10)
	r.CreatedAt, r.ExpiresAt, r.DecidedAt = created.T, expires.T, decided.ptr()
	r.Status = r.StatusAt(now)
	return &r, nil
}

// approval reads a request through q. Errors: ENOTFOUND.
func (s *ApprovalService) approval(ctx context.Context, q querier, ws, id string, now time.Time) (*hangar.ApprovalRequest, error) {
	r, err := scanApproval(q.QueryRowContext(ctx, s.db.rebind(`SELECT `+approvalColumns+` FROM approval_requests WHERE workspace = ? AND id = ?`), ws, id), now)
	if isNoRows(err) {
		return nil, approvalNotFound(id)
	}
	if err != nil {
		return nil, fmt.Errorf("read approval request: %w", err)
	}
	return r, nil
}

// ApprovalRequest returns one request. Errors: EINVALID, ENOTFOUND.
func (s *ApprovalService) ApprovalRequest(ctx context.Context, ws, id string) (*hangar.ApprovalRequest, error) {
	if err := checkText("workspace name", ws, "approval request id", id); err != nil {
		return nil, err
	}
	r, err := s.approval(ctx, s.db.reader, ws, id, s.db.now())
	if err != nil {
		return nil, fmt.Errorf("get approval request %q: %w", id, err)
	}
	return r, nil
}

// ListApprovalRequests lists requests, newest first. Errors: EINVALID.
func (s *ApprovalService) ListApprovalRequests(ctx context.Context, ws string, f hangar.ApprovalFilter, opt hangar.ListOptions) (*hangar.Page[*hangar.ApprovalRequest], error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	now := s.db.now()
	spec := listSpec[*hangar.ApprovalRequest]{
		name:  "approval requests",
		text:  []string{"workspace name", ws, "model filter", f.Name},
		query: `SELECT ` + approvalColumns + ` FROM approval_requests`,
		keys:  []sortKey{{"created_at", keyTime}, {"id", keyText}},
		desc:  true,
		scan:  func(sc rowScanner) (*hangar.ApprovalRequest, error) { return scanApproval(sc, now) },
		key:   func(r *hangar.ApprovalRequest) []any { return []any{r.CreatedAt, r.ID} },
	}
	spec.filter(`workspace = ?`, ws)
	if f.Name != "" {
		spec.filter(`model = ?`, f.Name)
	}
	switch f.Status {
	case hangar.ApprovalPending:
		spec.filter(`status = ? AND expires_at > ?`, hangar.ApprovalPending, s.db.tv(now))
	case hangar.ApprovalExpired:
		spec.filter(`status = ? AND expires_at <= ?`, hangar.ApprovalPending, s.db.tv(now))
	case hangar.ApprovalApproved, hangar.ApprovalRejected:
		spec.filter(`status = ?`, f.Status)
	}
	page, err := listPage(ctx, s.db, s.db.reader, spec, opt)
	if err != nil {
		return nil, fmt.Errorf("list approval requests: %w", err)
	}
	return page, nil
}

// DecideApproval approves or rejects a request; approving points its alias
// at its version in the same transaction. Both the decision
// (approvals/approve on the request) and an alias move (models/write on
// the alias, as the registry audits it) are audited. Errors: those of
// hangar.CheckDecision, EINVALID, ENOTFOUND, with nothing changed.
func (s *ApprovalService) DecideApproval(ctx context.Context, ws, id string, approve bool, comment string) (*hangar.ApprovalRequest, error) {
	if err := checkText("workspace name", ws, "approval request id", id); err != nil {
		return nil, err
	}
	actor := hangar.ActorFrom(ctx)
	var r *hangar.ApprovalRequest
	err := s.db.write(ctx, func(tx *wtx) error {
		var err error
		if r, err = s.approval(ctx, tx, ws, id, tx.now); err != nil {
			return err
		}
		if err := hangar.CheckDecision(r, actor, comment, tx.now); err != nil {
			return err
		}
		r.Status = hangar.ApprovalRejected
		if approve {
			r.Status = hangar.ApprovalApproved
			if r.PreviousVersion, err = s.moveAlias(ctx, tx, r); err != nil {
				return err
			}
		}
		now := tx.now
		r.DecidedBy, r.DecidedByID, r.DecidedAt, r.DecisionComment = actor.Name, actor.IdentityID, &now, comment
		_, err = tx.ExecContext(ctx, tx.db.rebind(`UPDATE approval_requests
			SET status = ?, decided_by = ?, decided_by_id = ?, decided_at = ?, decision_comment = ?, previous_version = ?
			WHERE id = ? AND status = ?`),
			r.Status, r.DecidedBy, r.DecidedByID, tx.db.tv(now), comment, r.PreviousVersion, id, hangar.ApprovalPending)
		if err != nil {
			return fmt.Errorf("record decision: %w", err)
		}
		return tx.audit(ctx, hangar.ActApprovalApprove, hangar.ApprovalTarget(r.Name, r.ID)+"/"+r.Status, ws)
	})
	if err != nil {
		verb := "reject"
		if approve {
			verb = "approve"
		}
		return nil, fmt.Errorf("%s approval request %q: %w", verb, id, err)
	}
	return r, nil
}

// moveAlias points r's alias at r's version, as
// RegistryService.SetRegisteredModelAlias does, and returns the version it
// pointed at before ("" for none). Errors: ENOTFOUND (the model or version
// was deleted since the request).
func (s *ApprovalService) moveAlias(ctx context.Context, tx *wtx, r *hangar.ApprovalRequest) (string, error) {
	n, err := strconv.ParseInt(r.Version, 10, 64)
	if err != nil {
		return "", fmt.Errorf("stored version %q: %w", r.Version, err)
	}
	reg := registry{db: tx.db, q: tx}
	k, err := reg.versionKeyOf(ctx, r.Workspace, r.Name, n, r.Version)
	if err != nil {
		return "", err
	}
	var prev string
	var pv int64
	err = tx.QueryRowContext(ctx, tx.db.rebind(`SELECT version FROM registered_model_aliases WHERE model_id = ? AND alias = ?`), k.model, r.Alias).Scan(&pv)
	switch {
	case isNoRows(err):
	case err != nil:
		return "", fmt.Errorf("read alias: %w", err)
	default:
		prev = strconv.FormatInt(pv, 10)
	}
	if _, err := tx.ExecContext(ctx, tx.db.rebind(`INSERT INTO registered_model_aliases (model_id, alias, version) VALUES (?, ?, ?)
		ON CONFLICT (model_id, alias) DO UPDATE SET version = excluded.version`), k.model, r.Alias, n); err != nil {
		return "", fmt.Errorf("set alias: %w", err)
	}
	if err := tx.audit(ctx, hangar.ActModelWrite, modelAliasTarget(r.Name, r.Alias), r.Workspace); err != nil {
		return "", err
	}
	return prev, nil
}
