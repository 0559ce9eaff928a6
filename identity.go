package hangar

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"time"
)

// IdentityKind says what an identity stands for.
type IdentityKind string

// Identity kinds.
const (
	KindUser             IdentityKind = "user"
	KindServicePrincipal IdentityKind = "service_principal"
	KindWorkload         IdentityKind = "workload" // a job or deployment; its tokens are short-lived
)

// Valid reports whether k is a known kind.
func (k IdentityKind) Valid() bool {
	return k == KindUser || k == KindServicePrincipal || k == KindWorkload
}

// Identity is a principal that holds tokens and role assignments. Names are
// unique server-wide.
type Identity struct {
	ID        string       `json:"id"`
	Name      string       `json:"name"`
	Kind      IdentityKind `json:"kind"`
	CreatedAt time.Time    `json:"created_at"`
}

// Token is a bearer credential of an identity. The secret itself is never
// stored: only its SHA-256 (the secret carries 256 random bits, so a fast hash
// is enough) and a short prefix that helps people recognise it.
//
// Workspace is the token's scope, fixed when it is minted: a token scoped to
// a workspace acts only there, with those of its identity's role assignments
// that apply to it (ScopeAssignments); "" is a server-wide token, which acts
// with all of them. Giving the identity roles elsewhere later never widens
// the token, and the workspace's Owner lists and revokes it whatever other
// roles the identity gains.
type Token struct {
	ID           string     `json:"id"`
	Name         string     `json:"name"`
	IdentityID   string     `json:"identity_id"`
	IdentityName string     `json:"identity_name"`
	Prefix       string     `json:"prefix"`
	CreatedAt    time.Time  `json:"created_at"`
	ExpiresAt    *time.Time `json:"expires_at,omitempty"`
	RevokedAt    *time.Time `json:"revoked_at,omitempty"`
	Workspace    string     `json:"workspace,omitempty"`
	// Job, when set, is the job (of Workspace) the token is the
	// credential of: among jobs it acts on that one and its pipeline's
	// steps only, and submits none.
	Job string `json:"job,omitempty"`
}

// TokenFilter narrows a list of tokens; empty fields match all.
type TokenFilter struct {
	// Workspace keeps the tokens scoped to this workspace (Token.Workspace).
	Workspace string
}

// Active reports whether the token may be used at now.
func (t *Token) Active(now time.Time) bool {
	return t.RevokedAt == nil && (t.ExpiresAt == nil || now.Before(*t.ExpiresAt))
}

// TokenRequest asks for a token for the identity Name (a service principal,
// created when missing) with Role assigned on Workspace ("" = every workspace
// and the server itself). Workspace is also the token's scope.
type TokenRequest struct {
	Name      string     `json:"name"`
	Role      string     `json:"role"`
	Workspace string     `json:"workspace,omitempty"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	// Job makes the token the credential of one job of Workspace
	// (Token.Job).
	Job string `json:"job,omitempty"`
}

// Validate checks the request against the roles and name rules.
func (r *TokenRequest) Validate(now time.Time) error {
	if err := ValidateName("token", r.Name); err != nil {
		return err
	}
	if _, err := LookupRole(r.Role); err != nil {
		return err
	}
	if r.Workspace != "" {
		if err := ValidateWorkspaceName(r.Workspace); err != nil {
			return err
		}
	}
	if r.Job != "" {
		if r.Workspace == "" {
			return Errorf(EINVALID, "a token for job %s must be scoped to the job's workspace", r.Job)
		}
		if err := ValidateJobName(r.Job); err != nil {
			return err
		}
	}
	if r.ExpiresAt != nil {
		if err := ValidateTime("expires_at", *r.ExpiresAt); err != nil {
			return err
		}
		if !r.ExpiresAt.After(now) {
			return Errorf(EINVALID, "token expiry %s is not in the future", r.ExpiresAt.UTC().Format(time.RFC3339))
		}
	}
	return nil
}

// IssuedToken is a newly created token together with its secret, which is
// shown once and never again.
type IssuedToken struct {
	Token
	Secret string `json:"token"`
}

// IdentityService is what a client may do with identities and tokens: the
// SQL store implements it, and so does the HTTP client, against the routes
// that check the caller's rights.
type IdentityService interface {
	// CreateIdentity stores a new identity, without roles.
	// Errors: EINVALID, ECONFLICT.
	CreateIdentity(ctx context.Context, id *Identity) error
	// IdentityByName returns an identity. Errors: ENOTFOUND.
	IdentityByName(ctx context.Context, name string) (*Identity, error)
	// ListIdentities lists identities by name.
	ListIdentities(ctx context.Context, opt ListOptions) (*Page[*Identity], error)

	// IssueToken creates a token scoped to r.Workspace with a fresh secret,
	// which the result carries (the only time it is shown), in one
	// transaction with the identity r.Name and its role when the identity
	// is missing (a service principal with r.Role on r.Workspace). An
	// existing identity gets a token only when the token would carry exactly
	// r.Role on r.Workspace (TokenCarriesExactly): a rotation. The one
	// exception is an identity with no role and no active token, which gets
	// r.Role on r.Workspace with it. A token thus never carries more than
	// the role it names. Errors: EINVALID, ENOTFOUND (workspace), ECONFLICT
	// (other roles; the message never names them).
	IssueToken(ctx context.Context, r *TokenRequest) (*IssuedToken, error)
	// Token returns a token by id, whether or not it is active. Errors: ENOTFOUND.
	Token(ctx context.Context, id string) (*Token, error)
	// ListTokens lists the tokens that match f, newest first; revoked ones included.
	ListTokens(ctx context.Context, f TokenFilter, opt ListOptions) (*Page[*Token], error)
	// RevokeToken marks a token revoked. Errors: ENOTFOUND, ECONFLICT (already revoked).
	RevokeToken(ctx context.Context, id string) error
}

// CredentialStore is the store side of authentication: what a server looks
// up to find a request's caller and its roles, and how it bootstraps its
// owner. Only stores implement it; clients never get it.
type CredentialStore interface {
	// CreateToken is IssueToken with a secret the caller made: it stores
	// only secretHash and the display prefix. Errors: those of IssueToken,
	// and ECONFLICT for a hash already stored.
	CreateToken(ctx context.Context, r *TokenRequest, secretHash []byte, prefix string) (*Token, error)
	// TokenBySecretHash finds a token for authentication, whether or not it is
	// active. Errors: ENOTFOUND.
	TokenBySecretHash(ctx context.Context, secretHash []byte) (*Token, error)
	// RoleAssignmentsOf returns every assignment of an identity, for
	// authorization; none is an empty slice, not an error.
	RoleAssignmentsOf(ctx context.Context, identityID string) ([]*RoleAssignment, error)
}

// TokenSecretPrefix starts every token secret, so leaked tokens can be found by scanners.
const TokenSecretPrefix = "hgr_"

// NewTokenSecret returns a fresh token secret (32 random bytes), its hash and
// its display prefix.
func NewTokenSecret() (secret string, hash []byte, prefix string, err error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", nil, "", err
	}
	secret = TokenSecretPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	return secret, HashTokenSecret(secret), secret[:len(TokenSecretPrefix)+6], nil
}

// HashTokenSecret is the hash under which a token secret is stored.
func HashTokenSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// LooksLikeTokenSecret reports whether s has the shape of a token secret;
// the HTTP edge rejects anything else before touching the store.
func LooksLikeTokenSecret(s string) bool {
	if !strings.HasPrefix(s, TokenSecretPrefix) {
		return false
	}
	b, err := base64.RawURLEncoding.DecodeString(s[len(TokenSecretPrefix):])
	return err == nil && len(b) == 32
}

// EqualHash compares two hashes in constant time.
func EqualHash(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }

// NewID returns a random identifier: 16 random bytes in hex.
func NewID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("crypto/rand failed: " + err.Error()) // rand.Read never fails on supported platforms
	}
	return hex.EncodeToString(b[:])
}
