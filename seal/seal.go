// Package seal encrypts small values at rest (secrets) with AES-256-GCM
// envelope encryption under a key-encryption key (KEK) that lives outside
// the database: in a file or an environment variable.
//
// Every value gets its own random 256-bit data key. The data key encrypts
// the value; the KEK encrypts (wraps) the data key. Both use AES-256-GCM
// with random 96-bit nonces. A sealed value is self-describing:
//
//	offset  size  field
//	0       1     format version (1)
//	1       8     key id: the first 8 bytes of SHA-256(KEK)
//	9       12    nonce of the wrapped data key
//	21      48    wrapped data key (32 bytes + 16-byte tag), aad = bytes 0..8
//	69      12    nonce of the value
//	81      n+16  encrypted value + tag, aad = bytes 0..80 followed by the caller's aad
//
// The key id lets Open say "sealed with a different key" instead of a bare
// authentication failure; it reveals nothing useful about a random 256-bit
// KEK. Binding the whole header and the caller's aad (a secret's workspace
// and name) into the value's tag means a sealed value copied to another
// row, or with any byte changed, fails to open. Per-value data keys keep
// the number of encryptions under the KEK to one per value, and allow a
// later KEK rotation to rewrap data keys without touching values.
//
// # Derived keys
//
// Other keys that must stay out of the database come from the KEK too, so
// that there is still one key to keep: DeriveKey(kek, purpose) is
// HMAC-SHA256(kek, purpose), a 32-byte key per purpose string (for the
// audit chain, hangar.AuditKeyPurpose). HMAC-SHA256 under a uniformly random
// 256-bit key is a pseudo-random function, so each derived key is
// independent of the others and of the KEK: knowing one reveals nothing
// about the KEK, another derived key, or the data keys.
package seal

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/hangar-ml/hangar"
)

// KeySize is the size of a KEK and of a data key: AES-256.
const KeySize = 32

const (
	version1   = 1
	keyIDSize  = 8
	nonceSize  = 12
	tagSize    = 16
	wrappedLen = KeySize + tagSize
	offKeyID   = 1
	offWrapNon = offKeyID + keyIDSize    // 9
	offWrapped = offWrapNon + nonceSize  // 21
	offDataNon = offWrapped + wrappedLen // 69
	headerSize = offDataNon + nonceSize  // 81
)

// Overhead is how many bytes sealing adds to a value.
const Overhead = headerSize + tagSize

// Errors of Open, for errors.Is. Their messages never contain the value.
var (
	// ErrWrongKey means the value was sealed under another KEK.
	ErrWrongKey = errors.New("sealed with a different key")
	// ErrTampered means authentication failed: the sealed bytes were
	// altered, or the aad is not the one the value was sealed with.
	ErrTampered = errors.New("authentication failed: the sealed value was altered or belongs to another place (aad mismatch)")
	// ErrFormat means the bytes are not a sealed value this version reads.
	ErrFormat = errors.New("not a sealed value")
)

// AESGCM is a hangar.Sealer using AES-256-GCM envelope encryption. It is
// safe for concurrent use.
type AESGCM struct {
	kek     cipher.AEAD
	keyID   [keyIDSize]byte
	kekCopy []byte // for DeriveKey
}

var _ hangar.Sealer = (*AESGCM)(nil)

// New returns a sealer for a 32-byte KEK. It keeps a copy of the KEK, for
// DeriveKey. Errors: EINVALID (wrong length).
func New(kek []byte) (*AESGCM, error) {
	if len(kek) != KeySize {
		return nil, hangar.Errorf(hangar.EINVALID, "seal: the key-encryption key is %d bytes, want %d", len(kek), KeySize)
	}
	aead, err := newGCM(kek)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	s := &AESGCM{kek: aead, kekCopy: bytes.Clone(kek)}
	sum := sha256.Sum256(kek)
	copy(s.keyID[:], sum[:keyIDSize])
	return s, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// DeriveKey returns the 32-byte key for purpose derived from the KEK:
// HMAC-SHA256(KEK, purpose). purpose names what the key is for and its
// version ("hangar audit chain v1"); distinct purposes give independent keys.
func DeriveKey(kek []byte, purpose string) []byte {
	m := hmac.New(sha256.New, kek)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

// DeriveKey returns the key for purpose derived from the sealer's KEK, as
// the package function DeriveKey does.
func (s *AESGCM) DeriveKey(purpose string) []byte { return DeriveKey(s.kekCopy, purpose) }

// KeyID returns the KEK's id in hex, as stored in every sealed value. It is
// safe to log, so operators can see which key a server runs with.
func (s *AESGCM) KeyID() string { return hex.EncodeToString(s.keyID[:]) }

// Seal encrypts plaintext bound to aad and returns the sealed value,
// len(plaintext)+Overhead bytes.
func (s *AESGCM) Seal(plaintext, aad []byte) ([]byte, error) {
	dek := make([]byte, KeySize)
	rand.Read(dek) // never fails (crypto/rand since Go 1.24)
	defer clear(dek)
	data, err := newGCM(dek)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}

	out := make([]byte, headerSize, headerSize+len(plaintext)+tagSize)
	out[0] = version1
	copy(out[offKeyID:], s.keyID[:])
	rand.Read(out[offWrapNon:offWrapped])
	s.kek.Seal(out[offWrapped:offWrapped], out[offWrapNon:offWrapped], dek, out[:offWrapNon])
	rand.Read(out[offDataNon:headerSize])
	return data.Seal(out, out[offDataNon:headerSize], plaintext, valueAAD(out[:headerSize], aad)), nil
}

// valueAAD is the header followed by the caller's aad; the header has a
// fixed size, so the concatenation is unambiguous.
func valueAAD(header, aad []byte) []byte {
	b := make([]byte, 0, len(header)+len(aad))
	return append(append(b, header...), aad...)
}

// Open decrypts a value sealed with the same KEK and aad. Errors wrap
// ErrFormat, ErrWrongKey or ErrTampered.
func (s *AESGCM) Open(sealed, aad []byte) ([]byte, error) {
	if len(sealed) < Overhead {
		return nil, fmt.Errorf("seal: open: %w: %d bytes, shorter than the %d-byte minimum", ErrFormat, len(sealed), Overhead)
	}
	if sealed[0] != version1 {
		return nil, fmt.Errorf("seal: open: %w: format version %d is not supported (want %d)", ErrFormat, sealed[0], version1)
	}
	if id := sealed[offKeyID:offWrapNon]; !bytes.Equal(id, s.keyID[:]) {
		return nil, fmt.Errorf("seal: open: %w (its key id is %x; this server's key id is %s)", ErrWrongKey, id, s.KeyID())
	}
	dek, err := s.kek.Open(make([]byte, 0, KeySize), sealed[offWrapNon:offWrapped], sealed[offWrapped:offDataNon], sealed[:offWrapNon])
	if err != nil {
		return nil, fmt.Errorf("seal: open: %w (data key)", ErrTampered)
	}
	defer clear(dek)
	data, err := newGCM(dek)
	if err != nil {
		return nil, fmt.Errorf("seal: open: %w", err)
	}
	plain, err := data.Open(nil, sealed[offDataNon:headerSize], sealed[headerSize:], valueAAD(sealed[:headerSize], aad))
	if err != nil {
		return nil, fmt.Errorf("seal: open: %w", ErrTampered)
	}
	if plain == nil {
		plain = []byte{}
	}
	return plain, nil
}
