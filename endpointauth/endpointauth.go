// Package endpointauth mints and verifies the tokens of online endpoints
// whose auth mode is aml_token: stateless, signed tokens scoped to one
// endpoint of one workspace, with an expiry. Nothing is stored: a token is
// good until it expires, and changing the key (a new key-encryption key)
// voids every token at once.
//
// A token is "hgt1.<payload>.<mac>", both parts base64url without
// padding: the payload is "<workspace>/<endpoint>/<expiry in Unix
// seconds>" (neither name can hold a '/'), the mac HMAC-SHA256 under the
// token key of "hgt1.<payload>". The token key is derived from the
// key-encryption key for Purpose (seal.DeriveKey), as the audit key is
// for its own purpose, so it is never stored and never equals another key.
package endpointauth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/hangar-ml/hangar"
)

// Purpose is what the token key is derived for from the key-encryption
// key: the key is seal.DeriveKey(kek, Purpose). A new purpose string would
// be a new, independent key.
const Purpose = "hangar endpoint token v1"

// Token lifetimes.
const (
	DefaultTTL = time.Hour // Azure's aml_token lives an hour too
	MaxTTL     = 24 * time.Hour
	// MinKeySize is the shortest key Mint and Verify accept, in bytes.
	MinKeySize = 32
	// MaxTokenSize bounds what Parse reads: a longer string is refused
	// before any decoding.
	MaxTokenSize = 512
)

const prefix = "hgt1."

// Claims are what a token says: the endpoint it is good for and until when.
type Claims struct {
	Workspace string
	Endpoint  string
	Expires   time.Time // whole seconds, UTC
}

// Mint returns a token for the endpoint that expires ttl after now
// (DefaultTTL when ttl is 0). Errors: EINVALID (a short key, a ttl
// outside 1 s to MaxTTL, a bad workspace or endpoint name).
func Mint(key []byte, workspace, endpoint string, now time.Time, ttl time.Duration) (string, Claims, error) {
	if len(key) < MinKeySize {
		return "", Claims{}, hangar.Errorf(hangar.EINVALID, "endpoint token key is %d bytes, want at least %d", len(key), MinKeySize)
	}
	if ttl == 0 {
		ttl = DefaultTTL
	}
	if ttl < time.Second || ttl > MaxTTL {
		return "", Claims{}, hangar.Errorf(hangar.EINVALID, "token lifetime %s: want 1s to %s", ttl, MaxTTL)
	}
	if err := hangar.ValidateWorkspaceName(workspace); err != nil {
		return "", Claims{}, err
	}
	if err := hangar.ValidateEndpointName(endpoint); err != nil {
		return "", Claims{}, err
	}
	c := Claims{Workspace: workspace, Endpoint: endpoint, Expires: now.Add(ttl).UTC().Truncate(time.Second)}
	payload := base64.RawURLEncoding.EncodeToString([]byte(workspace + "/" + endpoint + "/" + strconv.FormatInt(c.Expires.Unix(), 10)))
	return prefix + payload + "." + base64.RawURLEncoding.EncodeToString(sign(key, payload)), c, nil
}

func sign(key []byte, payload string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(prefix))
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// Verify checks that token was minted under key for the endpoint of the
// workspace and has not expired at now, and returns its claims. The mac
// is compared in constant time, before the claims are believed. Errors:
// EUNAUTHORIZED (malformed, forged, expired, or for another endpoint —
// the message says which, never the token).
func Verify(key []byte, token, workspace, endpoint string, now time.Time) (Claims, error) {
	if len(key) < MinKeySize {
		return Claims{}, hangar.Errorf(hangar.EUNAUTHORIZED, "endpoint tokens are not configured")
	}
	payload, mac, err := split(token)
	if err != nil {
		return Claims{}, err
	}
	if !hmac.Equal(mac, sign(key, payload)) {
		return Claims{}, hangar.Errorf(hangar.EUNAUTHORIZED, "endpoint token is not valid")
	}
	c, err := parsePayload(payload)
	if err != nil {
		return Claims{}, err
	}
	if c.Workspace != workspace || c.Endpoint != endpoint {
		return Claims{}, hangar.Errorf(hangar.EUNAUTHORIZED, "endpoint token is for another endpoint")
	}
	if !now.Before(c.Expires) {
		return Claims{}, hangar.Errorf(hangar.EUNAUTHORIZED, "endpoint token expired at %s", c.Expires.Format(time.RFC3339))
	}
	return c, nil
}

// Parse reads a token's claims without checking its mac: for messages
// and tests only, never to trust a caller. Errors: EUNAUTHORIZED.
func Parse(token string) (Claims, error) {
	payload, _, err := split(token)
	if err != nil {
		return Claims{}, err
	}
	return parsePayload(payload)
}

func malformed() error {
	return hangar.Errorf(hangar.EUNAUTHORIZED, "endpoint token is malformed")
}

// split returns a token's payload (still encoded) and its decoded mac.
func split(token string) (string, []byte, error) {
	if len(token) > MaxTokenSize || !strings.HasPrefix(token, prefix) {
		return "", nil, malformed()
	}
	payload, macText, ok := strings.Cut(token[len(prefix):], ".")
	if !ok || payload == "" {
		return "", nil, malformed()
	}
	mac, err := base64.RawURLEncoding.Strict().DecodeString(macText)
	if err != nil || len(mac) != sha256.Size {
		return "", nil, malformed()
	}
	return payload, mac, nil
}

func parsePayload(payload string) (Claims, error) {
	raw, err := base64.RawURLEncoding.Strict().DecodeString(payload)
	if err != nil {
		return Claims{}, malformed()
	}
	parts := strings.Split(string(raw), "/")
	if len(parts) != 3 || hangar.ValidateWorkspaceName(parts[0]) != nil || hangar.ValidateEndpointName(parts[1]) != nil {
		return Claims{}, malformed()
	}
	exp, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil || exp <= 0 || strconv.FormatInt(exp, 10) != parts[2] || exp > 1<<40 {
		return Claims{}, malformed()
	}
	return Claims{Workspace: parts[0], Endpoint: parts[1], Expires: time.Unix(exp, 0).UTC()}, nil
}

// Verifier checks the tokens of one workspace's endpoints; its Verify has
// the shape of the data plane's token check (serving.TokenVerifier), so a
// gateway serving a workspace takes a Verifier as it is.
type Verifier struct {
	Key       []byte // the token key: seal.DeriveKey(kek, Purpose)
	Workspace string
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// Verify checks token for endpoint of v.Workspace, as the package's Verify
// does. Errors: EUNAUTHORIZED.
func (v *Verifier) Verify(ctx context.Context, endpoint, token string) error {
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	_, err := Verify(v.Key, token, v.Workspace, endpoint, now())
	return err
}
