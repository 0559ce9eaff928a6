// Package endpointauth mints and verifies the tokens of online endpoints
// whose auth mode is aml_token: stateless, signed tokens scoped to one
// endpoint of one workspace — one incarnation of it: its token
// generation — with an expiry. Nothing is stored per token: a token is
// good until it expires or its endpoint is deleted, and changing the key
// (a new key-encryption key) voids every token at once.
//
// The token generation is a random non-zero 64-bit number the store gives
// each endpoint row when it is created (hangar.OnlineEndpoint's
// TokenGeneration). A token carries it, so deleting an endpoint and
// creating another under the same name voids every token of the first:
// the new row's generation is one no earlier token could carry (but with
// a chance of 2^-64).
//
// A token is "hgt2.<payload>.<mac>", both parts base64url without
// padding: the payload is "<workspace>/<endpoint>/<generation, 16 lower
// case hex digits>/<expiry in Unix seconds>" (neither name can hold a
// '/'), the mac HMAC-SHA256 under the token key of "hgt2.<payload>". The
// token key is derived from the key-encryption key for Purpose
// (seal.DeriveKey), as the audit key is for its own purpose, so it is
// never stored and never equals another key. Tokens of the first format,
// "hgt1." (no generation), are refused: their holders get new ones.
package endpointauth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"sync"
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

const (
	prefix   = "hgt2."
	prefixV1 = "hgt1." // before token generations: never accepted
)

// Claims are what a token says: the endpoint (and its generation) it is
// good for and until when.
type Claims struct {
	Workspace  string
	Endpoint   string
	Generation uint64    // the endpoint's token generation
	Expires    time.Time // whole seconds, UTC
}

// Mint returns a token for the endpoint whose token generation is
// generation, expiring ttl after now (DefaultTTL when ttl is 0). Errors:
// EINVALID (a short key, a ttl outside 1 s to MaxTTL, a bad workspace or
// endpoint name, a zero generation).
func Mint(key []byte, workspace, endpoint string, generation uint64, now time.Time, ttl time.Duration) (string, Claims, error) {
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
	if generation == 0 {
		return "", Claims{}, hangar.Errorf(hangar.EINVALID, "online endpoint %s has no token generation", endpoint)
	}
	c := Claims{Workspace: workspace, Endpoint: endpoint, Generation: generation, Expires: now.Add(ttl).UTC().Truncate(time.Second)}
	payload := base64.RawURLEncoding.EncodeToString([]byte(workspace + "/" + endpoint + "/" + formatGeneration(generation) + "/" + strconv.FormatInt(c.Expires.Unix(), 10)))
	return prefix + payload + "." + base64.RawURLEncoding.EncodeToString(sign(key, payload)), c, nil
}

// formatGeneration is a generation as a token carries it: 16 hex digits,
// so one value has one spelling.
func formatGeneration(g uint64) string {
	s := strconv.FormatUint(g, 16)
	return strings.Repeat("0", 16-len(s)) + s
}

func sign(key []byte, payload string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(prefix))
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// Verify checks that token was minted under key for the endpoint of the
// workspace in its token generation and has not expired at now, and
// returns its claims. The mac is compared in constant time, before the
// claims are believed. A token of an earlier endpoint of the same name (a
// generation that is not the endpoint's) is refused as a token of
// another endpoint is: it is one. Errors: EUNAUTHORIZED (malformed,
// forged, expired, or for another endpoint — the message says which,
// never the token).
func Verify(key []byte, token, workspace, endpoint string, generation uint64, now time.Time) (Claims, error) {
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
	if c.Workspace != workspace || c.Endpoint != endpoint || c.Generation != generation {
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
		if len(token) <= MaxTokenSize && strings.HasPrefix(token, prefixV1) {
			return "", nil, hangar.Errorf(hangar.EUNAUTHORIZED, "endpoint token is of a format this server no longer accepts: get a new token")
		}
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
	if len(parts) != 4 || hangar.ValidateWorkspaceName(parts[0]) != nil || hangar.ValidateEndpointName(parts[1]) != nil {
		return Claims{}, malformed()
	}
	gen, err := strconv.ParseUint(parts[2], 16, 64)
	if err != nil || gen == 0 || formatGeneration(gen) != parts[2] {
		return Claims{}, malformed()
	}
	exp, err := strconv.ParseInt(parts[3], 10, 64)
	if err != nil || exp <= 0 || strconv.FormatInt(exp, 10) != parts[3] || exp > 1<<40 {
		return Claims{}, malformed()
	}
	return Claims{Workspace: parts[0], Endpoint: parts[1], Generation: gen, Expires: time.Unix(exp, 0).UTC()}, nil
}

// Verifier checks the tokens of one workspace's endpoints; its Verify has
// the shape of the data plane's token check (serving.TokenVerifier), so a
// gateway serving a workspace takes a Verifier as it is. It knows the
// token generation of each endpoint it was told of (SetGeneration): a
// token of an endpoint it does not know is refused. Its methods may be
// called concurrently; the zero Verifier with Key and Workspace set is
// ready to use.
type Verifier struct {
	Key       []byte // the token key: seal.DeriveKey(kek, Purpose)
	Workspace string
	// Now is the clock; nil is time.Now.
	Now func() time.Time

	gens sync.Map // endpoint name → uint64 token generation
}

// SetGeneration tells v the token generation of an endpoint of
// v.Workspace: from now on only tokens of that generation verify for it.
func (v *Verifier) SetGeneration(endpoint string, generation uint64) {
	v.gens.Store(endpoint, generation)
}

// Forget makes v refuse every token of the endpoint (it was deleted).
func (v *Verifier) Forget(endpoint string) {
	v.gens.Delete(endpoint)
}

// Verify checks token for endpoint of v.Workspace in the generation
// SetGeneration gave, as the package's Verify does. Errors: EUNAUTHORIZED.
func (v *Verifier) Verify(ctx context.Context, endpoint, token string) error {
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	var gen uint64 // 0: no token carries it, so every token is refused
	if g, ok := v.gens.Load(endpoint); ok {
		gen = g.(uint64)
	}
	_, err := Verify(v.Key, token, v.Workspace, endpoint, gen, now())
	return err
}
