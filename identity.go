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
// Workspace is the one workspace the token belongs to: set when every role
// assignment of its identity is on that workspace, "" when the identity holds
// a server-wide assignment, assignments on several workspaces or none. The
// store computes it from the assignments when the token is read, so it
// follows role changes.
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
}

// TokenFilter narrows a list of tokens; empty fields match all.
type TokenFilter struct {
	// Workspace keeps the tokens that belong to this workspace (see
	// Token.Workspace).
	Workspace string
}

// Active reports whether the token may be used at now.
func (t *Token) Active(now time.Time) bool {
	return t.RevokedAt == nil && (t.ExpiresAt == nil || now.Before(*t.ExpiresAt))
}

// TokenRequest asks for a token for the identity Name (a service principal,
// created when missing) with Role assigned on Workspace ("" = every workspace).
type TokenRequest struct {
	Name      string     `json:"name"`
	Role      string     `json:"role"`
	Workspace string     `json:"workspace,omitempty"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
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

// IdentityService stores identities and their tokens.
type IdentityService interface {
	// CreateIdentity stores a new identity. Errors: EINVALID, ECONFLICT.
	CreateIdentity(ctx context.Context, id *Identity) error
	// IdentityByName returns an identity. Errors: ENOTFOUND.
	IdentityByName(ctx context.Context, name string) (*Identity, error)
	// ListIdentities lists identities by name.
	ListIdentities(ctx context.Context, opt ListOptions) (*Page[*Identity], error)

	// CreateToken stores a token with the given secret hash for the identity
	// r.Name, in one transaction: a missing identity is created (a service
	// principal) with r.Role on r.Workspace; an existing one gets another
	// token only when its roles are exactly r.Role on r.Workspace (a
	// rotation), or when it has no roles and no active token yet (then it
	// gets the role). A token thus never carries more than the role it names.
	// Errors: EINVALID, ENOTFOUND (workspace), ECONFLICT (other roles, duplicate hash).
	CreateToken(ctx context.Context, r *TokenRequest, secretHash []byte, prefix string) (*Token, error)
	// TokenBySecretHash finds a token for authentication, whether or not it is
	// active. Errors: ENOTFOUND.
	TokenBySecretHash(ctx context.Context, secretHash []byte) (*Token, error)
	// Token returns a token by id, whether or not it is active. Errors: ENOTFOUND.
	Token(ctx context.Context, id string) (*Token, error)
	// ListTokens lists the tokens that match f, newest first; revoked ones included.
	ListTokens(ctx context.Context, f TokenFilter, opt ListOptions) (*Page[*Token], error)
	// RevokeToken marks a token revoked. Errors: ENOTFOUND, ECONFLICT (already revoked).
	RevokeToken(ctx context.Context, id string) error
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
