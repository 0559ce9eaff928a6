package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/hangar-ml/hangar"
)

// SecretService stores secrets per workspace, sealed with the DB's Sealer.
// It implements hangar.SecretService. Values never appear in errors, logs or
// audit events.
type SecretService struct {
	db *DB
}

// NewSecretService returns the secret service of db. Its methods that
// handle values fail unless db.Sealer is set.
func NewSecretService(db *DB) *SecretService { return &SecretService{db: db} }

// secretAAD binds a sealed value to its place, so a ciphertext copied to
// another row does not open. Workspace names cannot contain '/', so the
// encoding is unambiguous.
func secretAAD(workspace, name string) []byte {
	return []byte("hangar/secret/v1:" + workspace + "/" + name)
}

// checkSealer opens the newest stored secret in q with db.Sealer, so a
// server started with another key-encryption key than its secrets were
// sealed with fails at start, not at every later reveal. A store without
// secrets (or without a Sealer) passes.
func (db *DB) checkSealer(ctx context.Context, q querier) error {
	if db.Sealer == nil {
		return nil
	}
	var ws, name string
	var sealed []byte
	err := q.QueryRowContext(ctx, `SELECT workspace, name, ciphertext FROM secrets ORDER BY updated_at DESC, workspace, name LIMIT 1`).Scan(&ws, &name, &sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("check key-encryption key: %w", err)
	}
	if _, err := db.Sealer.Open(sealed, secretAAD(ws, name)); err != nil {
		return hangar.Errorf(hangar.EINVALID, "the key-encryption key cannot open secret %q of workspace %q (%v): start with the key this store's secrets were sealed with (--kek-file or HANGAR_KEK)", name, ws, err)
	}
	return nil
}

func secretNotFound(workspace, name string) error {
	return hangar.Errorf(hangar.ENOTFOUND, "secret %q not found in workspace %q", name, workspace)
}

func (s *SecretService) sealer() (hangar.Sealer, error) {
	if s.db.Sealer == nil {
		return nil, errors.New("no sealer configured for secrets")
	}
	return s.db.Sealer, nil
}

// SetSecret creates or replaces a value, bumping Version.
// Errors: EINVALID, ENOTFOUND (workspace).
func (s *SecretService) SetSecret(ctx context.Context, workspace, name string, value []byte) (*hangar.Secret, error) {
	if err := hangar.ValidateWorkspaceName(workspace); err != nil {
		return nil, err
	}
	if err := hangar.ValidateSecretName(name); err != nil {
		return nil, err
	}
	if err := hangar.ValidateSecretValue(value); err != nil {
		return nil, err
	}
	sealer, err := s.sealer()
	if err != nil {
		return nil, fmt.Errorf("set secret %q in workspace %q: %w", name, workspace, err)
	}
	sealed, err := sealer.Seal(value, secretAAD(workspace, name))
	if err != nil {
		return nil, fmt.Errorf("set secret %q in workspace %q: seal: %w", name, workspace, err)
	}
	var sec *hangar.Secret
	err = s.db.write(ctx, func(tx *wtx) error {
		if err := tx.requireWorkspace(ctx, workspace); err != nil {
			return err
		}
		cur, err := secretMeta(ctx, tx.Tx, tx.db, workspace, name)
		if err != nil && !hangar.IsCode(err, hangar.ENOTFOUND) {
			return err
		}
		if cur == nil {
			_, err = tx.ExecContext(ctx, tx.db.rebind(`INSERT INTO secrets
				(workspace, name, version, ciphertext, created_at, updated_at) VALUES (?, ?, 1, ?, ?, ?)`),
				workspace, name, sealed, tx.db.tv(tx.now), tx.db.tv(tx.now))
			cur = &hangar.Secret{Workspace: workspace, Name: name, Version: 1, CreatedAt: tx.now, UpdatedAt: tx.now}
		} else {
			_, err = tx.ExecContext(ctx, tx.db.rebind(`UPDATE secrets SET version = version + 1, ciphertext = ?, updated_at = ?
				WHERE workspace = ? AND name = ?`), sealed, tx.db.tv(tx.now), workspace, name)
			cur.Version++
			cur.UpdatedAt = tx.now
		}
		if err != nil {
			return fmt.Errorf("store: %w", err)
		}
		if err := tx.audit(ctx, hangar.ActSecretWrite, "secrets/"+name, workspace); err != nil {
			return err
		}
		sec = cur
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("set secret %q in workspace %q: %w", name, workspace, err)
	}
	return sec, nil
}

// secretMeta reads a secret's metadata and grants. Errors: ENOTFOUND.
func secretMeta(ctx context.Context, q querier, db *DB, workspace, name string) (*hangar.Secret, error) {
	var (
		sec              = hangar.Secret{Workspace: workspace, Name: name}
		created, updated dbTime
	)
	err := q.QueryRowContext(ctx, db.rebind(`SELECT version, created_at, updated_at FROM secrets WHERE workspace = ? AND name = ?`),
		workspace, name).Scan(&sec.Version, &created, &updated)
	if isNoRows(err) {
		return nil, secretNotFound(workspace, name)
	}
	if err != nil {
		return nil, fmt.Errorf("look up secret: %w", err)
	}
	sec.CreatedAt, sec.UpdatedAt = created.T, updated.T
	grants, err := secretGrants(ctx, q, db, workspace, name, name)
	if err != nil {
		return nil, err
	}
	sec.Grants = grants[name]
	return &sec, nil
}

// secretGrants returns the grants of the workspace's secrets whose names lie
// in [from, to], by secret name, identity names in order.
func secretGrants(ctx context.Context, q querier, db *DB, workspace, from, to string) (map[string][]string, error) {
	rows, err := q.QueryContext(ctx, db.rebind(`SELECT secret, identity_name FROM secret_grants
		WHERE workspace = ? AND secret >= ? AND secret <= ? ORDER BY secret, identity_name`), workspace, from, to)
	if err != nil {
		return nil, fmt.Errorf("read grants: %w", err)
	}
	grants := map[string][]string{}
	for rows.Next() {
		var secret, identity string
		if err := rows.Scan(&secret, &identity); err != nil {
			return nil, fmt.Errorf("read grants: %w", closeRows(rows, err))
		}
		grants[secret] = append(grants[secret], identity)
	}
	if err := closeRows(rows, nil); err != nil {
		return nil, fmt.Errorf("read grants: %w", err)
	}
	return grants, nil
}

// readTx runs fn in a read-only transaction, for reads that take several
// queries and must see one snapshot.
func (db *DB) readTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	opts := &sql.TxOptions{ReadOnly: true}
	if db.dialect == DialectPostgres {
		opts.Isolation = sql.LevelRepeatableRead
	}
	tx, err := db.reader.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("begin read transaction: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	return fn(tx)
}

// Secret returns a secret's metadata and grants, never its value.
// Errors: ENOTFOUND.
func (s *SecretService) Secret(ctx context.Context, workspace, name string) (*hangar.Secret, error) {
	if err := checkText("workspace name", workspace, "secret name", name); err != nil {
		return nil, err
	}
	var sec *hangar.Secret
	err := s.db.readTx(ctx, func(tx *sql.Tx) error {
		var err error
		sec, err = secretMeta(ctx, tx, s.db, workspace, name)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("get secret %q in workspace %q: %w", name, workspace, err)
	}
	return sec, nil
}

// ListSecrets lists the metadata of a workspace's secrets ordered by name.
// Errors: EINVALID (options), ENOTFOUND (workspace).
func (s *SecretService) ListSecrets(ctx context.Context, workspace string, opt hangar.ListOptions) (*hangar.Page[*hangar.Secret], error) {
	spec := listSpec[*hangar.Secret]{
		name:  "secrets",
		text:  []string{"workspace name", workspace},
		query: `SELECT name, version, created_at, updated_at FROM secrets`,
		keys:  []sortKey{{"name", keyText}},
		scan: func(sc rowScanner) (*hangar.Secret, error) {
			sec := &hangar.Secret{Workspace: workspace}
			var created, updated dbTime
			if err := sc.Scan(&sec.Name, &sec.Version, &created, &updated); err != nil {
				return nil, err
			}
			sec.CreatedAt, sec.UpdatedAt = created.T, updated.T
			return sec, nil
		},
		key: func(sec *hangar.Secret) []any { return []any{sec.Name} },
	}
	spec.filter(`workspace = ?`, workspace)
	var page *hangar.Page[*hangar.Secret]
	err := s.db.readTx(ctx, func(tx *sql.Tx) error {
		var err error
		if page, err = listPage(ctx, s.db, tx, spec, opt); err != nil {
			return err
		}
		if len(page.Items) == 0 {
			// No secrets, or no workspace: only the second is an error.
			var n int
			if err := tx.QueryRowContext(ctx, s.db.rebind(`SELECT COUNT(*) FROM workspaces WHERE name = ?`), workspace).Scan(&n); err != nil {
				return fmt.Errorf("look up workspace: %w", err)
			}
			if n == 0 {
				return hangar.Errorf(hangar.ENOTFOUND, "workspace %q not found", workspace)
			}
			return nil
		}
		// The grants of the whole page in one query.
		grants, err := secretGrants(ctx, tx, s.db, workspace, page.Items[0].Name, page.Items[len(page.Items)-1].Name)
		if err != nil {
			return err
		}
		for _, sec := range page.Items {
			sec.Grants = grants[sec.Name]
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list secrets of workspace %q: %w", workspace, err)
	}
	return page, nil
}

// DeleteSecret deletes a secret and its grants. Errors: ENOTFOUND.
func (s *SecretService) DeleteSecret(ctx context.Context, workspace, name string) error {
	if err := checkText("workspace name", workspace, "secret name", name); err != nil {
		return err
	}
	err := s.db.write(ctx, func(tx *wtx) error {
		res, err := tx.ExecContext(ctx, tx.db.rebind(`DELETE FROM secrets WHERE workspace = ? AND name = ?`), workspace, name)
		if err != nil {
			return fmt.Errorf("delete: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("delete: %w", err)
		} else if n == 0 {
			return secretNotFound(workspace, name)
		}
		return tx.audit(ctx, hangar.ActSecretDelete, "secrets/"+name, workspace)
	})
	if err != nil {
		return fmt.Errorf("delete secret %q in workspace %q: %w", name, workspace, err)
	}
	return nil
}

// RevealSecret returns the value and audits the reveal (secrets/reveal) in
// the same transaction: a value is returned only once its reveal is recorded.
// Callers check ActSecretReveal or a grant first. Errors: ENOTFOUND.
func (s *SecretService) RevealSecret(ctx context.Context, workspace, name string) ([]byte, error) {
	if err := checkText("workspace name", workspace, "secret name", name); err != nil {
		return nil, err
	}
	sealer, err := s.sealer()
	if err != nil {
		return nil, fmt.Errorf("reveal secret %q in workspace %q: %w", name, workspace, err)
	}
	var value []byte
	err = s.db.write(ctx, func(tx *wtx) error {
		var sealed []byte
		err := tx.QueryRowContext(ctx, tx.db.rebind(`SELECT ciphertext FROM secrets WHERE workspace = ? AND name = ?`),
			workspace, name).Scan(&sealed)
		if isNoRows(err) {
			return secretNotFound(workspace, name)
		}
		if err != nil {
			return fmt.Errorf("look up: %w", err)
		}
		v, err := sealer.Open(sealed, secretAAD(workspace, name))
		if err != nil {
			return fmt.Errorf("open sealed value: %w", err)
		}
		if err := tx.audit(ctx, hangar.ActSecretReveal, "secrets/"+name, workspace); err != nil {
			return err
		}
		value = v
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reveal secret %q in workspace %q: %w", name, workspace, err)
	}
	return value, nil
}

// GrantSecret lets the identity reveal the secret. The identity must hold a
// role with secrets/read on the workspace (there or server-wide): revealing
// takes the grant and that action, so a grant to, say, an Approver would do
// nothing. It is audited as secrets/write on the target
// secrets/<name>/grants/<identity>. Errors: ENOTFOUND (secret, identity),
// EINVALID (no secrets/read on the workspace), ECONFLICT (already granted).
func (s *SecretService) GrantSecret(ctx context.Context, workspace, name, identityName string) error {
	if err := checkText("workspace name", workspace, "secret name", name, "identity name", identityName); err != nil {
		return err
	}
	err := s.db.write(ctx, func(tx *wtx) error {
		if _, err := secretMeta(ctx, tx.Tx, tx.db, workspace, name); err != nil {
			return err
		}
		id, err := tx.identityByName(ctx, identityName)
		if err != nil {
			return err
		}
		if id == nil {
			return hangar.Errorf(hangar.ENOTFOUND, "identity %q not found", identityName)
		}
		// A grant works only with secrets/read on the workspace (the
		// reveal route checks both), so one that could not be used is
		// refused rather than stored to do nothing.
		held, err := queryAssignments(ctx, tx, tx.db, `SELECT `+assignmentColumns+assignmentFrom+`
			WHERE r.identity_id = ? AND (r.workspace = ? OR r.workspace IS NULL)`+assignmentOrder, id.ID, workspace)
		if err != nil {
			return fmt.Errorf("look up role assignments of %q: %w", identityName, err)
		}
		if !hangar.Authorize(held, workspace, hangar.ActSecretRead) {
			return hangar.Errorf(hangar.EINVALID, "identity %q holds no role with %s on workspace %s, without which a grant lets it reveal nothing: give it such a role first",
				identityName, hangar.ActSecretRead, workspace)
		}
		_, err = tx.ExecContext(ctx, tx.db.rebind(`INSERT INTO secret_grants (workspace, secret, identity_name, created_at)
			VALUES (?, ?, ?, ?)`), workspace, name, identityName, tx.db.tv(tx.now))
		if isUniqueViolation(err) {
			return hangar.Errorf(hangar.ECONFLICT, "identity %q is already granted secret %q in workspace %q", identityName, name, workspace)
		}
		if err != nil {
			return fmt.Errorf("insert grant: %w", err)
		}
		return tx.audit(ctx, hangar.ActSecretWrite, "secrets/"+name+"/grants/"+identityName, workspace)
	})
	if err != nil {
		return fmt.Errorf("grant secret %q in workspace %q to %q: %w", name, workspace, identityName, err)
	}
	return nil
}

// RevokeSecretGrant removes a grant. It is audited as secrets/delete on the
// target secrets/<name>/grants/<identity>, so a revocation is told apart from
// a grant by its action. Errors: ENOTFOUND (secret, grant).
func (s *SecretService) RevokeSecretGrant(ctx context.Context, workspace, name, identityName string) error {
	if err := checkText("workspace name", workspace, "secret name", name, "identity name", identityName); err != nil {
		return err
	}
	err := s.db.write(ctx, func(tx *wtx) error {
		if _, err := secretMeta(ctx, tx.Tx, tx.db, workspace, name); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, tx.db.rebind(`DELETE FROM secret_grants WHERE workspace = ? AND secret = ? AND identity_name = ?`),
			workspace, name, identityName)
		if err != nil {
			return fmt.Errorf("delete grant: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("delete grant: %w", err)
		} else if n == 0 {
			return hangar.Errorf(hangar.ENOTFOUND, "identity %q has no grant on secret %q in workspace %q", identityName, name, workspace)
		}
		return tx.audit(ctx, hangar.ActSecretDelete, "secrets/"+name+"/grants/"+identityName, workspace)
	})
	if err != nil {
		return fmt.Errorf("revoke grant of secret %q in workspace %q from %q: %w", name, workspace, identityName, err)
	}
	return nil
}
