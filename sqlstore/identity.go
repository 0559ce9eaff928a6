package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/hangar-ml/hangar"
)

// IdentityService stores identities and their tokens. It implements
// hangar.IdentityService and, for the server, hangar.CredentialStore.
type IdentityService struct {
	db *DB
}

var _ hangar.CredentialStore = (*IdentityService)(nil)

// NewIdentityService returns the identity service of db.
func NewIdentityService(db *DB) *IdentityService { return &IdentityService{db: db} }

// maxTokenPrefix bounds the stored display prefix of a token.
const maxTokenPrefix = 32

// CreateIdentity stores a new identity, setting its ID and CreatedAt.
// Errors: EINVALID, ECONFLICT.
func (s *IdentityService) CreateIdentity(ctx context.Context, id *hangar.Identity) error {
	if err := validateIdentity(id); err != nil {
		return err
	}
	err := s.db.write(ctx, func(tx *wtx) error {
		existing, err := tx.identityByName(ctx, id.Name)
		if err != nil {
			return err
		}
		if existing != nil {
			return hangar.Errorf(hangar.ECONFLICT, "identity %q already exists", id.Name)
		}
		return tx.insertIdentity(ctx, id)
	})
	if err != nil {
		return fmt.Errorf("create identity %q: %w", id.Name, err)
	}
	return nil
}

func validateIdentity(id *hangar.Identity) error {
	if err := hangar.ValidateName("identity", id.Name); err != nil {
		return err
	}
	if !id.Kind.Valid() {
		return hangar.Errorf(hangar.EINVALID, "invalid identity kind %q: use %s, %s or %s", id.Kind, hangar.KindUser, hangar.KindServicePrincipal, hangar.KindWorkload)
	}
	return nil
}

// insertIdentity stores id with a fresh ID and audits it.
func (tx *wtx) insertIdentity(ctx context.Context, id *hangar.Identity) error {
	newID := hangar.NewID()
	_, err := tx.ExecContext(ctx, tx.db.rebind(`INSERT INTO identities (id, name, kind, created_at) VALUES (?, ?, ?, ?)`),
		newID, id.Name, string(id.Kind), tx.db.tv(tx.now))
	if isUniqueViolation(err) {
		return hangar.Errorf(hangar.ECONFLICT, "identity %q already exists", id.Name)
	}
	if err != nil {
		return fmt.Errorf("insert identity: %w", err)
	}
	if err := tx.audit(ctx, hangar.ActIdentityWrite, "identities/"+id.Name, ""); err != nil {
		return err
	}
	id.ID, id.CreatedAt = newID, tx.now
	return nil
}

// identityByName returns the identity or nil when there is none.
func (tx *wtx) identityByName(ctx context.Context, name string) (*hangar.Identity, error) {
	row := tx.QueryRowContext(ctx, tx.db.rebind(`SELECT `+identityColumns+` FROM identities WHERE name = ?`), name)
	id, err := scanIdentity(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("look up identity: %w", err)
	}
	return id, nil
}

const identityColumns = `id, name, kind, created_at`

func scanIdentity(sc rowScanner) (*hangar.Identity, error) {
	var (
		id      hangar.Identity
		kind    string
		created dbTime
	)
	if err := sc.Scan(&id.ID, &id.Name, &kind, &created); err != nil {
		return nil, err
	}
	id.Kind, id.CreatedAt = hangar.IdentityKind(kind), created.T
	return &id, nil
}

// IdentityByName returns an identity. Errors: ENOTFOUND, EINVALID.
func (s *IdentityService) IdentityByName(ctx context.Context, name string) (*hangar.Identity, error) {
	if err := checkText("identity name", name); err != nil {
		return nil, err
	}
	row := s.db.reader.QueryRowContext(ctx, s.db.rebind(`SELECT `+identityColumns+` FROM identities WHERE name = ?`), name)
	id, err := scanIdentity(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, hangar.Errorf(hangar.ENOTFOUND, "identity %q not found", name)
	}
	if err != nil {
		return nil, fmt.Errorf("get identity %q: %w", name, err)
	}
	return id, nil
}

// ListIdentities lists identities ordered by name. Errors: EINVALID (options).
func (s *IdentityService) ListIdentities(ctx context.Context, opt hangar.ListOptions) (*hangar.Page[*hangar.Identity], error) {
	page, err := listPage(ctx, s.db, s.db.reader, listSpec[*hangar.Identity]{
		name:  "identities",
		query: `SELECT ` + identityColumns + ` FROM identities`,
		keys:  []sortKey{{"name", keyText}},
		scan:  scanIdentity,
		key:   func(id *hangar.Identity) []any { return []any{id.Name} },
	}, opt)
	if err != nil {
		return nil, fmt.Errorf("list identities: %w", err)
	}
	return page, nil
}

// IssueToken creates a token with a fresh secret (hangar.NewTokenSecret)
// and returns it with the secret, the only time it is shown; see
// CreateToken for what it may create and refuse.
func (s *IdentityService) IssueToken(ctx context.Context, r *hangar.TokenRequest) (*hangar.IssuedToken, error) {
	secret, hash, prefix, err := hangar.NewTokenSecret()
	if err != nil {
		return nil, fmt.Errorf("issue token %q: %w", r.Name, err)
	}
	tok, err := s.CreateToken(ctx, r, hash, prefix)
	if err != nil {
		return nil, err
	}
	return &hangar.IssuedToken{Token: *tok, Secret: secret}, nil
}

// CreateToken stores a token scoped to r.Workspace with the secret hash,
// creating the identity r.Name (a service principal) with the role r.Role
// on r.Workspace when it is missing, all in one transaction with their
// audit events: a failure leaves nothing behind. The secret itself never
// reaches the store.
//
// For an identity that exists already a token is only a rotation: the
// token must carry exactly r.Role on r.Workspace (hangar.TokenCarriesExactly
// of the identity's assignments). The one exception is an identity with no
// assignment and no active token, such as one made by CreateIdentity: it
// gets the role with its first token. Anything else is ECONFLICT, because
// a token acts with every assignment of its identity that applies to its
// scope: issuing one "with role Reader" for an Owner would hand out an
// Owner token. The message names no role the identity holds: the caller
// may not be allowed to know them. Roles are changed with AssignRole and
// RemoveRoleAssignment.
//
// Errors: EINVALID, ENOTFOUND (workspace), ECONFLICT (an identity with other
// roles, a token with this hash).
func (s *IdentityService) CreateToken(ctx context.Context, r *hangar.TokenRequest, secretHash []byte, prefix string) (*hangar.Token, error) {
	if err := r.Validate(s.db.now()); err != nil {
		return nil, err
	}
	if len(secretHash) != sha256.Size {
		return nil, hangar.Errorf(hangar.EINVALID, "token secret hash is %d bytes; want a %d-byte SHA-256", len(secretHash), sha256.Size)
	}
	if prefix == "" || len(prefix) > maxTokenPrefix {
		return nil, hangar.Errorf(hangar.EINVALID, "token prefix must be 1 to %d characters, got %d", maxTokenPrefix, len(prefix))
	}
	if err := checkText("token prefix", prefix); err != nil {
		return nil, err
	}
	role, err := hangar.LookupRole(r.Role)
	if err != nil {
		return nil, err
	}
	var expires *time.Time
	if r.ExpiresAt != nil {
		// Validate checked the bounds already; the store checks what it
		// writes itself, so that no caller can store a time it cannot read
		// back (issue 7 #1).
		e := r.ExpiresAt.UTC().Truncate(time.Microsecond)
		if err := hangar.ValidateTime("expires_at", e); err != nil {
			return nil, err
		}
		expires = &e
	}
	var tok *hangar.Token
	err = s.db.write(ctx, func(tx *wtx) error {
		if r.Workspace != "" {
			if err := tx.requireWorkspace(ctx, r.Workspace); err != nil {
				return err
			}
		}
		id, err := tx.identityByName(ctx, r.Name)
		if err != nil {
			return err
		}
		if id == nil {
			id = &hangar.Identity{Name: r.Name, Kind: hangar.KindServicePrincipal}
			if err := tx.insertIdentity(ctx, id); err != nil {
				return err
			}
			a := &hangar.RoleAssignment{IdentityName: id.Name, Role: role.Name, Workspace: r.Workspace}
			if err := tx.insertAssignment(ctx, id, a); err != nil {
				return err
			}
		} else if err := tx.checkRotation(ctx, id, role.Name, r.Workspace); err != nil {
			return err
		}
		t := &hangar.Token{
			ID:           hangar.NewID(),
			Name:         r.Name,
			IdentityID:   id.ID,
			IdentityName: id.Name,
			Prefix:       prefix,
			CreatedAt:    tx.now,
			ExpiresAt:    expires,
			Workspace:    r.Workspace,
			Job:          r.Job,
		}
		_, err = tx.ExecContext(ctx, tx.db.rebind(`INSERT INTO tokens
			(id, name, identity_id, secret_hash, prefix, created_at, expires_at, workspace, job) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			t.ID, t.Name, t.IdentityID, secretHash, t.Prefix, tx.db.tv(t.CreatedAt), tx.db.tvPtr(t.ExpiresAt), nullString(t.Workspace), t.Job)
		if isUniqueViolation(err) {
			return hangar.Errorf(hangar.ECONFLICT, "a token with this secret already exists")
		}
		if err != nil {
			return fmt.Errorf("insert token: %w", err)
		}
		if err := tx.audit(ctx, hangar.ActTokenWrite, "tokens/"+t.ID, r.Workspace); err != nil {
			return err
		}
		tok = t
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("create token %q: %w", r.Name, err)
	}
	return tok, nil
}

const tokenColumns = `t.id, t.name, t.identity_id, i.name, t.prefix, t.created_at, t.expires_at, t.revoked_at, COALESCE(t.workspace, ''), t.job`
const tokenFrom = ` FROM tokens t JOIN identities i ON i.id = t.identity_id`

func scanToken(sc rowScanner) (*hangar.Token, error) {
	var (
		t                         hangar.Token
		created, expires, revoked dbTime
	)
	if err := sc.Scan(&t.ID, &t.Name, &t.IdentityID, &t.IdentityName, &t.Prefix, &created, &expires, &revoked, &t.Workspace, &t.Job); err != nil {
		return nil, err
	}
	t.CreatedAt, t.ExpiresAt, t.RevokedAt = created.T, expires.ptr(), revoked.ptr()
	if t.ExpiresAt != nil && t.ExpiresAt.After(hangar.MaxTime) {
		// Written before the store refused such times (migration 00002
		// clamps them too): read back as the latest time a response can
		// carry, so that one bad row cannot break every list it is on.
		e := hangar.MaxTime
		t.ExpiresAt = &e
	}
	return &t, nil
}

// TokenBySecretHash finds a token by the hash of its secret, whether or not
// it is active. Errors: ENOTFOUND.
func (s *IdentityService) TokenBySecretHash(ctx context.Context, secretHash []byte) (*hangar.Token, error) {
	row := s.db.readRow(ctx, s.db.rebind(`SELECT `+tokenColumns+tokenFrom+` WHERE t.secret_hash = ?`), secretHash)
	t, err := scanToken(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, hangar.Errorf(hangar.ENOTFOUND, "token not found")
	}
	if err != nil {
		return nil, fmt.Errorf("get token by secret hash: %w", err)
	}
	return t, nil
}

// Token returns a token by id, whether or not it is active.
// Errors: ENOTFOUND, EINVALID.
func (s *IdentityService) Token(ctx context.Context, id string) (*hangar.Token, error) {
	if err := checkText("token id", id); err != nil {
		return nil, err
	}
	row := s.db.reader.QueryRowContext(ctx, s.db.rebind(`SELECT `+tokenColumns+tokenFrom+` WHERE t.id = ?`), id)
	t, err := scanToken(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, hangar.Errorf(hangar.ENOTFOUND, "token %q not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("get token %q: %w", id, err)
	}
	return t, nil
}

// ListTokens lists the tokens that match f newest first, revoked ones
// included: with f.Workspace, the tokens scoped to it. Errors: EINVALID
// (options, filter).
func (s *IdentityService) ListTokens(ctx context.Context, f hangar.TokenFilter, opt hangar.ListOptions) (*hangar.Page[*hangar.Token], error) {
	spec := listSpec[*hangar.Token]{
		name:  "tokens",
		text:  []string{"workspace filter", f.Workspace},
		query: `SELECT ` + tokenColumns + tokenFrom,
		// Two tokens may be created in one microsecond: the id breaks the tie.
		keys: []sortKey{{"t.created_at", keyTime}, {"t.id", keyText}},
		desc: true,
		scan: scanToken,
		key:  func(t *hangar.Token) []any { return []any{t.CreatedAt, t.ID} },
	}
	if f.Workspace != "" {
		spec.filter(`t.workspace = ?`, f.Workspace)
	}
	page, err := listPage(ctx, s.db, s.db.reader, spec, opt)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	return page, nil
}

// RevokeToken marks a token revoked. Errors: ENOTFOUND, ECONFLICT (already
// revoked), EINVALID.
func (s *IdentityService) RevokeToken(ctx context.Context, id string) error {
	if err := checkText("token id", id); err != nil {
		return err
	}
	err := s.db.write(ctx, func(tx *wtx) error {
		var (
			revoked dbTime
			ws      string
		)
		err := tx.QueryRowContext(ctx, tx.db.rebind(`SELECT revoked_at, COALESCE(workspace, '') FROM tokens WHERE id = ?`), id).Scan(&revoked, &ws)
		if errors.Is(err, sql.ErrNoRows) {
			return hangar.Errorf(hangar.ENOTFOUND, "token %q not found", id)
		}
		if err != nil {
			return fmt.Errorf("look up token: %w", err)
		}
		if revoked.Valid {
			return hangar.Errorf(hangar.ECONFLICT, "token %q was already revoked at %s", id, revoked.T.Format("2006-01-02T15:04:05Z07:00"))
		}
		if _, err := tx.ExecContext(ctx, tx.db.rebind(`UPDATE tokens SET revoked_at = ? WHERE id = ?`), tx.db.tv(tx.now), id); err != nil {
			return fmt.Errorf("revoke: %w", err)
		}
		// Under the token's scope, as its creation was, so that the
		// workspace's audit readers see it.
		return tx.audit(ctx, hangar.ActTokenDelete, "tokens/"+id, ws)
	})
	if err != nil {
		return fmt.Errorf("revoke token %q: %w", id, err)
	}
	return nil
}

// AuthGeneration returns the authentication generation: a counter that
// every change of an identity, token, role assignment or workspace
// advances in the same transaction (the triggers of migration 00008), by
// whichever process makes it. A server that caches what it verified keeps
// the cache only while the generation stays the same, and reads it once a
// request: one primary-key read.
func (s *IdentityService) AuthGeneration(ctx context.Context) (int64, error) {
	return s.db.authGeneration(ctx)
}

// authGeneration reads the generation (IdentityService.AuthGeneration).
func (db *DB) authGeneration(ctx context.Context) (int64, error) {
	if db.reader == nil {
		return 0, errors.New("read auth generation: store is not open")
	}
	var gen int64
	// One primary-key read on every request: not worth the watcher
	// goroutine a cancellable context costs (see writeTx).
	if err := db.readRow(context.WithoutCancel(ctx), `SELECT gen FROM auth_generation WHERE id = 1`).Scan(&gen); err != nil {
		return 0, fmt.Errorf("read auth generation: %w", err)
	}
	return gen, nil
}

// RoleAssignmentsOf returns every assignment of an identity, for
// authorization, ordered as ListRoleAssignments orders them; none is an
// empty slice, not an error. Errors: EINVALID.
func (s *IdentityService) RoleAssignmentsOf(ctx context.Context, identityID string) ([]*hangar.RoleAssignment, error) {
	if err := checkText("identity id", identityID); err != nil {
		return nil, err
	}
	items, err := queryAssignments(ctx, preparedReader{s.db}, s.db, `SELECT `+assignmentColumns+assignmentFrom+` WHERE r.identity_id = ?`+assignmentOrder, identityID)
	if err != nil {
		return nil, fmt.Errorf("role assignments of identity %q: %w", identityID, err)
	}
	return items, nil
}

// checkRotation allows a new token scoped to workspace ("" for server-wide)
// for the existing identity id only when it would carry exactly role there
// (hangar.TokenCarriesExactly), or when the identity has no assignment and
// no active token at all, in which case it assigns the role. Errors:
// ECONFLICT, naming none of the identity's roles.
func (tx *wtx) checkRotation(ctx context.Context, id *hangar.Identity, role, workspace string) error {
	held, err := queryAssignments(ctx, tx, tx.db, `SELECT `+assignmentColumns+assignmentFrom+` WHERE r.identity_id = ?`+assignmentOrder, id.ID)
	if err != nil {
		return fmt.Errorf("look up role assignments of %q: %w", id.Name, err)
	}
	if hangar.TokenCarriesExactly(held, role, workspace) {
		return nil
	}
	if len(held) == 0 {
		// An identity without roles and without a usable token (created by
		// CreateIdentity, as the server's owner bootstrap does) gets its
		// first role and token here: no other token of it gains power.
		var n int
		err := tx.QueryRowContext(ctx, tx.db.rebind(`SELECT COUNT(*) FROM tokens
			WHERE identity_id = ? AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)`), id.ID, tx.db.tv(tx.now)).Scan(&n)
		if err != nil {
			return fmt.Errorf("look up tokens of %q: %w", id.Name, err)
		}
		if n == 0 {
			a := &hangar.RoleAssignment{IdentityName: id.Name, Role: role, Workspace: workspace}
			return tx.insertAssignment(ctx, id, a)
		}
		return hangar.Errorf(hangar.ECONFLICT, "identity %q exists, holds no role and still has an active token; give it a role with \"hangar role assign\" or choose another name", id.Name)
	}
	if workspace == "" {
		return hangar.Errorf(hangar.ECONFLICT, "identity %q exists and its roles are not exactly %s server-wide, which a server-wide token would carry all of; change its roles with \"hangar role assign\" or choose another name", id.Name, role)
	}
	return hangar.Errorf(hangar.ECONFLICT, "identity %q exists and its roles that apply to workspace %s are not exactly %s, which a token scoped to %s would carry all of; change its roles with \"hangar role assign\" or choose another name", id.Name, workspace, role, workspace)
}
