package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hangar-ml/hangar"
)

// BatchEndpointService stores batch endpoints and their deployments
// (migration 19). It implements hangar.BatchEndpointService. As for
// online endpoints, every change is one write transaction with its audit
// event, so the checks that a default deployment exists and that a
// deployment being deleted is not the default hold when the change commits.
type BatchEndpointService struct {
	db *DB
}

var _ hangar.BatchEndpointService = (*BatchEndpointService)(nil)

// NewBatchEndpointService returns the batch endpoint service of db.
func NewBatchEndpointService(db *DB) *BatchEndpointService { return &BatchEndpointService{db: db} }

func batchEndpointTarget(name string) string { return "batchEndpoints/" + name }

func batchDeploymentTarget(endpoint, name string) string {
	return "batchEndpoints/" + endpoint + "/deployments/" + name
}

const batchEndpointColumns = `workspace, name, description, tags, default_deployment, state, version, created_by, created_at, updated_by, updated_at`

func scanBatchEndpoint(sc rowScanner) (*hangar.BatchEndpoint, error) {
	var (
		e                hangar.BatchEndpoint
		tags, state      string
		created, updated dbTime
	)
	if err := sc.Scan(&e.Workspace, &e.Name, &e.Description, &tags, &e.DefaultDeployment, &state, &e.Version,
		&e.CreatedBy, &created, &e.UpdatedBy, &updated); err != nil {
		return nil, err
	}
	var err error
	if e.Tags, err = ecDecodeTags(tags); err != nil {
		return nil, err
	}
	e.State = hangar.ProvisioningState(state)
	e.CreatedAt, e.UpdatedAt = created.T, updated.T
	return &e, nil
}

func batchEndpoint(ctx context.Context, db *DB, q querier, workspace, name string) (*hangar.BatchEndpoint, error) {
	e, err := scanBatchEndpoint(q.QueryRowContext(ctx, db.rebind(`SELECT `+batchEndpointColumns+` FROM batch_endpoints WHERE workspace = ? AND name = ?`), workspace, name))
	if isNoRows(err) {
		return nil, hangar.BatchEndpointNotFound(workspace, name)
	}
	if err != nil {
		return nil, fmt.Errorf("read batch endpoint: %w", err)
	}
	return e, nil
}

// CreateBatchEndpoint is hangar.BatchEndpointService.CreateBatchEndpoint.
func (s *BatchEndpointService) CreateBatchEndpoint(ctx context.Context, workspace string, e *hangar.BatchEndpoint) error {
	if err := hangar.ValidateWorkspaceName(workspace); err != nil {
		return err
	}
	if err := e.Validate(); err != nil {
		return err
	}
	if e.DefaultDeployment != "" {
		return hangar.Errorf(hangar.EINVALID, "batch endpoint %s: default deployment %s does not exist: a new endpoint has no deployments; create one, then make it the default", e.Name, e.DefaultDeployment)
	}
	tags, err := ecEncodeTags(e.Tags)
	if err != nil {
		return err
	}
	actor := hangar.ActorFrom(ctx).Name
	err = s.db.write(ctx, func(tx *wtx) error {
		if err := tx.requireWorkspace(ctx, workspace); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, tx.db.rebind(`INSERT INTO batch_endpoints
			(workspace, name, description, tags, default_deployment, state, version, created_by, created_at, updated_by, updated_at)
			VALUES (?, ?, ?, ?, '', ?, 1, ?, ?, ?, ?)`),
			workspace, e.Name, e.Description, tags, string(hangar.StateSucceeded), actor, tx.db.tv(tx.now), actor, tx.db.tv(tx.now))
		if isUniqueViolation(err) {
			return hangar.Errorf(hangar.ECONFLICT, "batch endpoint %s already exists in workspace %q", e.Name, workspace)
		}
		if err != nil {
			return fmt.Errorf("insert: %w", err)
		}
		if err := tx.audit(ctx, hangar.ActBatchEndpointWrite, batchEndpointTarget(e.Name), workspace); err != nil {
			return err
		}
		now := tx.now.UTC().Truncate(time.Microsecond)
		e.Workspace, e.State, e.Version = workspace, hangar.StateSucceeded, 1
		e.CreatedBy, e.UpdatedBy, e.CreatedAt, e.UpdatedAt = actor, actor, now, now
		return nil
	})
	if err != nil {
		return fmt.Errorf("create batch endpoint %s in workspace %q: %w", e.Name, workspace, err)
	}
	return nil
}

// BatchEndpoint is hangar.BatchEndpointService.BatchEndpoint.
func (s *BatchEndpointService) BatchEndpoint(ctx context.Context, workspace, name string) (*hangar.BatchEndpoint, error) {
	if err := checkEndpointKey(workspace, name); err != nil {
		return nil, err
	}
	e, err := batchEndpoint(ctx, s.db, s.db.reader, workspace, name)
	if err != nil {
		return nil, fmt.Errorf("get batch endpoint %s in workspace %q: %w", name, workspace, err)
	}
	return e, nil
}

// ListBatchEndpoints is hangar.BatchEndpointService.ListBatchEndpoints.
func (s *BatchEndpointService) ListBatchEndpoints(ctx context.Context, workspace string, opt hangar.ListOptions) (*hangar.Page[*hangar.BatchEndpoint], error) {
	if err := hangar.ValidateWorkspaceName(workspace); err != nil {
		return nil, err
	}
	spec := listSpec[*hangar.BatchEndpoint]{
		name:  "batch endpoints",
		query: `SELECT ` + batchEndpointColumns + ` FROM batch_endpoints`,
		keys:  []sortKey{{col: "name", kind: keyText}},
		scan:  scanBatchEndpoint,
		key:   func(e *hangar.BatchEndpoint) []any { return []any{e.Name} },
	}
	spec.filter(`workspace = ?`, workspace)
	return ecListRows(ctx, s.db, spec, opt, func(e *hangar.BatchEndpoint) *hangar.BatchEndpoint { return e }, "list batch endpoints", workspace)
}

// UpdateBatchEndpoint is hangar.BatchEndpointService.UpdateBatchEndpoint.
func (s *BatchEndpointService) UpdateBatchEndpoint(ctx context.Context, workspace, name string, u hangar.BatchEndpointUpdate, version int64) (*hangar.BatchEndpoint, error) {
	if err := checkEndpointKey(workspace, name); err != nil {
		return nil, err
	}
	if version < 0 {
		return nil, hangar.Errorf(hangar.EINVALID, "invalid version %d", version)
	}
	var out *hangar.BatchEndpoint
	err := s.db.write(ctx, func(tx *wtx) error {
		e, err := batchEndpoint(ctx, tx.db, tx.Tx, workspace, name)
		if err != nil {
			return err
		}
		if err := checkVersion("batch endpoint "+name, e.Version, version); err != nil {
			return err
		}
		if u.Description != nil {
			e.Description = *u.Description
		}
		if u.Tags != nil {
			e.Tags = u.Tags
		}
		if u.DefaultDeployment != nil {
			e.DefaultDeployment = *u.DefaultDeployment
		}
		if err := e.Validate(); err != nil {
			return err
		}
		if u.DefaultDeployment != nil && e.DefaultDeployment != "" {
			if _, err := batchDeployment(ctx, tx.db, tx.Tx, workspace, name, e.DefaultDeployment); hangar.IsCode(err, hangar.ENOTFOUND) {
				return hangar.Errorf(hangar.EINVALID, "default deployment %s does not exist in batch endpoint %s", e.DefaultDeployment, name)
			} else if err != nil {
				return err
			}
		}
		tags, err := ecEncodeTags(e.Tags)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, tx.db.rebind(`UPDATE batch_endpoints SET description = ?, tags = ?, default_deployment = ?,
			version = version + 1, updated_by = ?, updated_at = ? WHERE workspace = ? AND name = ?`),
			e.Description, tags, e.DefaultDeployment, hangar.ActorFrom(ctx).Name, tx.db.tv(tx.now), workspace, name)
		if err != nil {
			return fmt.Errorf("update: %w", err)
		}
		if err := tx.audit(ctx, hangar.ActBatchEndpointWrite, batchEndpointTarget(name), workspace); err != nil {
			return err
		}
		out, err = batchEndpoint(ctx, tx.db, tx.Tx, workspace, name)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("update batch endpoint %s in workspace %q: %w", name, workspace, err)
	}
	return out, nil
}

// DeleteBatchEndpoint is hangar.BatchEndpointService.DeleteBatchEndpoint.
func (s *BatchEndpointService) DeleteBatchEndpoint(ctx context.Context, workspace, name string) error {
	if err := checkEndpointKey(workspace, name); err != nil {
		return err
	}
	err := s.db.write(ctx, func(tx *wtx) error {
		if _, err := batchEndpoint(ctx, tx.db, tx.Tx, workspace, name); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, tx.db.rebind(`SELECT name FROM batch_deployments WHERE workspace = ? AND endpoint = ? ORDER BY name`), workspace, name)
		if err != nil {
			return fmt.Errorf("read deployments: %w", err)
		}
		var deps []string
		for rows.Next() {
			var d string
			if err := rows.Scan(&d); err != nil {
				return closeRows(rows, err)
			}
			deps = append(deps, d)
		}
		if err := closeRows(rows, nil); err != nil {
			return err
		}
		for _, d := range deps {
			if err := tx.audit(ctx, hangar.ActBatchDeploymentDelete, batchDeploymentTarget(name, d), workspace); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, tx.db.rebind(`DELETE FROM batch_deployments WHERE workspace = ? AND endpoint = ?`), workspace, name); err != nil {
			return fmt.Errorf("delete deployments: %w", err)
		}
		if _, err := tx.ExecContext(ctx, tx.db.rebind(`DELETE FROM batch_endpoints WHERE workspace = ? AND name = ?`), workspace, name); err != nil {
			return fmt.Errorf("delete: %w", err)
		}
		return tx.audit(ctx, hangar.ActBatchEndpointDelete, batchEndpointTarget(name), workspace)
	})
	if err != nil {
		return fmt.Errorf("delete batch endpoint %s in workspace %q: %w", name, workspace, err)
	}
	return nil
}

const batchDeploymentColumns = `workspace, endpoint, name, description, tags, spec, settings, state, message, version, created_by, created_at, updated_by, updated_at`

func scanBatchDeployment(sc rowScanner) (*hangar.BatchDeployment, error) {
	var (
		d                      hangar.BatchDeployment
		tags, spec, set, state string
		created, updated       dbTime
	)
	if err := sc.Scan(&d.Workspace, &d.Endpoint, &d.Name, &d.Description, &tags, &spec, &set, &state, &d.Message, &d.Version,
		&d.CreatedBy, &created, &d.UpdatedBy, &updated); err != nil {
		return nil, err
	}
	var err error
	if d.Tags, err = ecDecodeTags(tags); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(spec), &d.Spec); err != nil {
		return nil, fmt.Errorf("decode spec of batch deployment %s: %w", d.Name, err)
	}
	if err := json.Unmarshal([]byte(set), &d.Settings); err != nil {
		return nil, fmt.Errorf("decode settings of batch deployment %s: %w", d.Name, err)
	}
	d.State = hangar.ProvisioningState(state)
	d.CreatedAt, d.UpdatedAt = created.T, updated.T
	return &d, nil
}

func batchDeployment(ctx context.Context, db *DB, q querier, workspace, endpoint, name string) (*hangar.BatchDeployment, error) {
	d, err := scanBatchDeployment(q.QueryRowContext(ctx, db.rebind(`SELECT `+batchDeploymentColumns+` FROM batch_deployments
		WHERE workspace = ? AND endpoint = ? AND name = ?`), workspace, endpoint, name))
	if isNoRows(err) {
		return nil, hangar.BatchDeploymentNotFound(endpoint, name)
	}
	if err != nil {
		return nil, fmt.Errorf("read batch deployment: %w", err)
	}
	return d, nil
}

// CreateBatchDeployment is hangar.BatchEndpointService.CreateBatchDeployment.
func (s *BatchEndpointService) CreateBatchDeployment(ctx context.Context, workspace string, d *hangar.BatchDeployment) error {
	if err := hangar.ValidateWorkspaceName(workspace); err != nil {
		return err
	}
	if err := d.Validate(); err != nil {
		return err
	}
	tags, err := ecEncodeTags(d.Tags)
	if err != nil {
		return err
	}
	spec, err := encodeJSON(d.Spec)
	if err != nil {
		return err
	}
	set, err := encodeJSON(d.Settings)
	if err != nil {
		return err
	}
	actor := hangar.ActorFrom(ctx).Name
	err = s.db.write(ctx, func(tx *wtx) error {
		if err := tx.requireWorkspace(ctx, workspace); err != nil {
			return err
		}
		if _, err := batchEndpoint(ctx, tx.db, tx.Tx, workspace, d.Endpoint); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, tx.db.rebind(`INSERT INTO batch_deployments
			(workspace, endpoint, name, description, tags, spec, settings, state, message, version, created_by, created_at, updated_by, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?)`),
			workspace, d.Endpoint, d.Name, d.Description, tags, spec, set, string(hangar.StateCreating), d.Message,
			actor, tx.db.tv(tx.now), actor, tx.db.tv(tx.now))
		if isUniqueViolation(err) {
			return hangar.Errorf(hangar.ECONFLICT, "deployment %s already exists in batch endpoint %s", d.Name, d.Endpoint)
		}
		if err != nil {
			return fmt.Errorf("insert: %w", err)
		}
		if err := tx.audit(ctx, hangar.ActBatchDeploymentWrite, batchDeploymentTarget(d.Endpoint, d.Name), workspace); err != nil {
			return err
		}
		now := tx.now.UTC().Truncate(time.Microsecond)
		d.Workspace, d.State, d.Version = workspace, hangar.StateCreating, 1
		d.CreatedBy, d.UpdatedBy, d.CreatedAt, d.UpdatedAt = actor, actor, now, now
		return nil
	})
	if err != nil {
		return fmt.Errorf("create deployment %s of batch endpoint %s in workspace %q: %w", d.Name, d.Endpoint, workspace, err)
	}
	return nil
}

// BatchDeployment is hangar.BatchEndpointService.BatchDeployment.
func (s *BatchEndpointService) BatchDeployment(ctx context.Context, workspace, endpoint, name string) (*hangar.BatchDeployment, error) {
	if err := checkDeploymentKey(workspace, endpoint, name); err != nil {
		return nil, err
	}
	d, err := batchDeployment(ctx, s.db, s.db.reader, workspace, endpoint, name)
	if err != nil {
		return nil, fmt.Errorf("get deployment %s of batch endpoint %s in workspace %q: %w", name, endpoint, workspace, err)
	}
	return d, nil
}

// ListBatchDeployments is hangar.BatchEndpointService.ListBatchDeployments.
func (s *BatchEndpointService) ListBatchDeployments(ctx context.Context, workspace, endpoint string, opt hangar.ListOptions) (*hangar.Page[*hangar.BatchDeployment], error) {
	if err := checkEndpointKey(workspace, endpoint); err != nil {
		return nil, err
	}
	if _, err := batchEndpoint(ctx, s.db, s.db.reader, workspace, endpoint); err != nil {
		return nil, fmt.Errorf("list deployments of batch endpoint %s in workspace %q: %w", endpoint, workspace, err)
	}
	spec := listSpec[*hangar.BatchDeployment]{
		name:  "batch deployments",
		query: `SELECT ` + batchDeploymentColumns + ` FROM batch_deployments`,
		keys:  []sortKey{{col: "name", kind: keyText}},
		scan:  scanBatchDeployment,
		key:   func(d *hangar.BatchDeployment) []any { return []any{d.Name} },
	}
	spec.filter(`workspace = ? AND endpoint = ?`, workspace, endpoint)
	return ecListRows(ctx, s.db, spec, opt, func(d *hangar.BatchDeployment) *hangar.BatchDeployment { return d }, "list batch deployments", workspace)
}

// UpdateBatchDeployment is hangar.BatchEndpointService.UpdateBatchDeployment.
func (s *BatchEndpointService) UpdateBatchDeployment(ctx context.Context, workspace, endpoint, name string, u hangar.BatchDeploymentUpdate) (*hangar.BatchDeployment, error) {
	if err := checkDeploymentKey(workspace, endpoint, name); err != nil {
		return nil, err
	}
	if u.Version < 0 {
		return nil, hangar.Errorf(hangar.EINVALID, "invalid version %d", u.Version)
	}
	if u.State != "" && !u.State.Valid() {
		return nil, hangar.Errorf(hangar.EINVALID, "invalid provisioning state %q", u.State)
	}
	var out *hangar.BatchDeployment
	err := s.db.write(ctx, func(tx *wtx) error {
		d, err := batchDeployment(ctx, tx.db, tx.Tx, workspace, endpoint, name)
		if err != nil {
			return err
		}
		if err := checkVersion("batch deployment "+name, d.Version, u.Version); err != nil {
			return err
		}
		if u.State != "" {
			if why := hangar.DeploymentMoveAllowed(d.State, u.State); why != "" {
				return hangar.Errorf(hangar.ECONFLICT, "batch deployment %s is %s: %s", name, d.State, why)
			}
			d.State = u.State
		}
		if u.Description != nil {
			d.Description = *u.Description
		}
		if u.Tags != nil {
			d.Tags = u.Tags
		}
		if u.Spec != nil {
			d.Spec = *u.Spec
		}
		if u.Settings != nil {
			d.Settings = *u.Settings
		}
		if u.Message != nil {
			d.Message = *u.Message
		}
		// Validate as at create, with the state checked above.
		check := *d
		check.State = ""
		if err := check.Validate(); err != nil {
			return err
		}
		tags, err := ecEncodeTags(d.Tags)
		if err != nil {
			return err
		}
		spec, err := encodeJSON(d.Spec)
		if err != nil {
			return err
		}
		set, err := encodeJSON(d.Settings)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, tx.db.rebind(`UPDATE batch_deployments SET description = ?, tags = ?, spec = ?, settings = ?, state = ?, message = ?,
			version = version + 1, updated_by = ?, updated_at = ? WHERE workspace = ? AND endpoint = ? AND name = ?`),
			d.Description, tags, spec, set, string(d.State), d.Message, hangar.ActorFrom(ctx).Name, tx.db.tv(tx.now), workspace, endpoint, name)
		if err != nil {
			return fmt.Errorf("update: %w", err)
		}
		if err := tx.audit(ctx, hangar.ActBatchDeploymentWrite, batchDeploymentTarget(endpoint, name), workspace); err != nil {
			return err
		}
		out, err = batchDeployment(ctx, tx.db, tx.Tx, workspace, endpoint, name)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("update deployment %s of batch endpoint %s in workspace %q: %w", name, endpoint, workspace, err)
	}
	return out, nil
}

// DeleteBatchDeployment is hangar.BatchEndpointService.DeleteBatchDeployment.
func (s *BatchEndpointService) DeleteBatchDeployment(ctx context.Context, workspace, endpoint, name string) error {
	if err := checkDeploymentKey(workspace, endpoint, name); err != nil {
		return err
	}
	err := s.db.write(ctx, func(tx *wtx) error {
		e, err := batchEndpoint(ctx, tx.db, tx.Tx, workspace, endpoint)
		if err != nil {
			return err
		}
		if _, err := batchDeployment(ctx, tx.db, tx.Tx, workspace, endpoint, name); err != nil {
			return err
		}
		if e.DefaultDeployment == name {
			return hangar.Errorf(hangar.ECONFLICT, "deployment %s is the default of batch endpoint %s: make another deployment the default first", name, endpoint)
		}
		if _, err := tx.ExecContext(ctx, tx.db.rebind(`DELETE FROM batch_deployments WHERE workspace = ? AND endpoint = ? AND name = ?`), workspace, endpoint, name); err != nil {
			return fmt.Errorf("delete: %w", err)
		}
		return tx.audit(ctx, hangar.ActBatchDeploymentDelete, batchDeploymentTarget(endpoint, name), workspace)
	})
	if err != nil {
		return fmt.Errorf("delete deployment %s of batch endpoint %s in workspace %q: %w", name, endpoint, workspace, err)
	}
	return nil
}
