package hangar

import (
	"context"
	"regexp"
	"time"
	"unicode/utf8"
)

// Secret is the metadata of a stored secret. Its value is never part of it:
// values are sealed at rest and only RevealSecret returns one.
type Secret struct {
	Workspace string    `json:"workspace"`
	Name      string    `json:"name"`
	Version   int       `json:"version"` // bumps on every set
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// Grants are the names of the identities (workloads, service principals)
	// allowed to reveal the value besides Owners.
	Grants []string `json:"grants,omitempty"`
}

// MaxSecretSize bounds a secret value, as Key Vault does (25 KiB).
const MaxSecretSize = 25 * 1024

var secretNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,126}$`)

// ValidateSecretName allows 1 to 127 letters, digits, '-' and '_', starting
// with a letter or digit (Key Vault's rule plus '_', so names can mirror
// environment variables).
func ValidateSecretName(name string) error {
	if !secretNameRE.MatchString(name) {
		return Errorf(EINVALID, "invalid secret name %q: use 1 to 127 letters, digits, '-' or '_', starting with a letter or digit", name)
	}
	return nil
}

// ValidateSecretValue checks a value's size and that it is UTF-8 text (as
// Key Vault's secrets are: the API carries values as JSON strings, which
// would silently mangle other bytes; base64-encode binary values). The
// message never contains the value.
func ValidateSecretValue(value []byte) error {
	if len(value) == 0 {
		return Errorf(EINVALID, "secret value is empty")
	}
	if !utf8.Valid(value) {
		return Errorf(EINVALID, "secret value is not UTF-8 text: base64-encode binary values")
	}
	if len(value) > MaxSecretSize {
		return Errorf(EINVALID, "secret value is %d bytes; the limit is %d", len(value), MaxSecretSize)
	}
	return nil
}

// SecretService stores secrets per workspace. Implementations seal values
// with a Sealer and never log or audit them.
type SecretService interface {
	// SetSecret creates or replaces a value. Errors: EINVALID, ENOTFOUND (workspace).
	SetSecret(ctx context.Context, workspace, name string, value []byte) (*Secret, error)
	// Secret returns metadata. Errors: ENOTFOUND.
	Secret(ctx context.Context, workspace, name string) (*Secret, error)
	// ListSecrets lists metadata ordered by name.
	ListSecrets(ctx context.Context, workspace string, opt ListOptions) (*Page[*Secret], error)
	// DeleteSecret deletes a secret and its grants. Errors: ENOTFOUND.
	DeleteSecret(ctx context.Context, workspace, name string) error
	// RevealSecret returns the value. Callers check ActSecretReveal or a grant
	// first; the reveal itself is audited. Errors: ENOTFOUND.
	RevealSecret(ctx context.Context, workspace, name string) ([]byte, error)
	// GrantSecret lets the identity reveal the secret. The identity must
	// hold a role with ActSecretRead on the workspace, which revealing by
	// grant also takes. Errors: ENOTFOUND, EINVALID (no secrets/read there), ECONFLICT.
	GrantSecret(ctx context.Context, workspace, name, identityName string) error
	// RevokeSecretGrant removes a grant. Errors: ENOTFOUND.
	RevokeSecretGrant(ctx context.Context, workspace, name, identityName string) error
}

// Sealer encrypts small values at rest. aad binds a ciphertext to its place
// (workspace and name), so a sealed value copied to another row fails to open.
type Sealer interface {
	Seal(plaintext, aad []byte) ([]byte, error)
	Open(ciphertext, aad []byte) ([]byte, error)
}
