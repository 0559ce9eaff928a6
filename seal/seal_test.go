package seal_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/seal"
)

func key(b byte) []byte { return bytes.Repeat([]byte{b}, seal.KeySize) }

func newSealer(t testing.TB, kek []byte) *seal.AESGCM {
	t.Helper()
	s, err := seal.New(kek)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestNewKeyLength(t *testing.T) {
	for _, n := range []int{0, 16, 24, 31, 33, 64} {
		if _, err := seal.New(make([]byte, n)); !hangar.IsCode(err, hangar.EINVALID) {
			t.Errorf("New(%d bytes) error = %v, want %s", n, err, hangar.EINVALID)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	s := newSealer(t, key(1))
	tests := []struct {
		name       string
		plain, aad []byte
	}{
		{"empty value", []byte{}, []byte("ws/name")},
		{"nil aad", []byte("hunter2"), nil},
		{"typical", []byte("postgres://user:pw@db/x"), []byte("default\x00db-url")},
		{"max secret", bytes.Repeat([]byte{0xAB}, hangar.MaxSecretSize), []byte("ws\x00big")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sealed, err := s.Seal(tt.plain, tt.aad)
			if err != nil {
				t.Fatal(err)
			}
			if len(sealed) != len(tt.plain)+seal.Overhead {
				t.Errorf("sealed is %d bytes, want %d", len(sealed), len(tt.plain)+seal.Overhead)
			}
			if len(tt.plain) >= 4 && bytes.Contains(sealed, tt.plain) {
				t.Error("sealed value contains the plaintext")
			}
			got, err := s.Open(sealed, tt.aad)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if !bytes.Equal(got, tt.plain) {
				t.Errorf("Open = %q, want %q", got, tt.plain)
			}
			// A second sealer from the same KEK (a restart) opens it too.
			if got, err := newSealer(t, key(1)).Open(sealed, tt.aad); err != nil || !bytes.Equal(got, tt.plain) {
				t.Errorf("Open with a new sealer = %q, %v", got, err)
			}
		})
	}
}

func TestSealIsRandomized(t *testing.T) {
	s := newSealer(t, key(1))
	a, _ := s.Seal([]byte("same"), []byte("aad"))
	b, _ := s.Seal([]byte("same"), []byte("aad"))
	if bytes.Equal(a, b) {
		t.Fatal("two seals of the same value are equal; nonces or data keys repeat")
	}
	// Different data keys: the wrapped keys differ, not only the nonces.
	if bytes.Equal(a[21:69], b[21:69]) {
		t.Fatal("wrapped data keys are equal")
	}
}

func TestFormat(t *testing.T) {
	s := newSealer(t, key(7))
	sealed, _ := s.Seal([]byte("v"), nil)
	if sealed[0] != 1 {
		t.Errorf("version byte = %d, want 1", sealed[0])
	}
	sum := sha256.Sum256(key(7))
	if got, want := hex.EncodeToString(sealed[1:9]), hex.EncodeToString(sum[:8]); got != want || s.KeyID() != want {
		t.Errorf("key id in value %s, KeyID() %s, want %s", got, s.KeyID(), want)
	}
}

func TestOpenErrors(t *testing.T) {
	secret := []byte("the-secret-value-42")
	s := newSealer(t, key(1))
	aad := []byte("ws\x00name")
	sealed, err := s.Seal(secret, aad)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) []byte {
		b := bytes.Clone(sealed)
		b[i] ^= 0x01
		return b
	}
	tests := []struct {
		name    string
		sealer  *seal.AESGCM
		data    []byte
		aad     []byte
		want    error
		message string
	}{
		{"wrong key", newSealer(t, key(2)), sealed, aad, seal.ErrWrongKey, "sealed with a different key"},
		{"wrong aad", s, sealed, []byte("ws\x00other"), seal.ErrTampered, "aad mismatch"},
		{"missing aad", s, sealed, nil, seal.ErrTampered, "authentication failed"},
		{"flipped version", s, flip(0), aad, seal.ErrFormat, "format version"},
		{"flipped key id", s, flip(3), aad, seal.ErrWrongKey, "different key"},
		{"flipped wrap nonce", s, flip(10), aad, seal.ErrTampered, "data key"},
		{"flipped wrapped key", s, flip(30), aad, seal.ErrTampered, "data key"},
		{"flipped data nonce", s, flip(70), aad, seal.ErrTampered, "authentication failed"},
		{"flipped ciphertext", s, flip(85), aad, seal.ErrTampered, "authentication failed"},
		{"flipped tag", s, flip(len(sealed) - 1), aad, seal.ErrTampered, "authentication failed"},
		{"truncated", s, sealed[:len(sealed)-1], aad, seal.ErrTampered, "authentication failed"},
		{"extended", s, append(bytes.Clone(sealed), 0), aad, seal.ErrTampered, "authentication failed"},
		{"too short", s, sealed[:seal.Overhead-1], aad, seal.ErrFormat, "shorter"},
		{"empty", s, nil, aad, seal.ErrFormat, "shorter"},
		{"plaintext", s, []byte(strings.Repeat("plaintext!", 20)), aad, seal.ErrFormat, "format version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.sealer.Open(tt.data, tt.aad)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Open = %q, %v; want %v", got, err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.message) {
				t.Errorf("error %q does not say %q", err, tt.message)
			}
			if strings.Contains(err.Error(), string(secret)) || strings.Contains(err.Error(), "ws\x00") {
				t.Errorf("error %q leaks the value or aad", err)
			}
			if got != nil {
				t.Errorf("Open returned %q with an error", got)
			}
		})
	}
}

// TestMoveWrappedKey checks that a data key cannot be transplanted from one
// sealed value to another under the same KEK.
func TestMoveWrappedKey(t *testing.T) {
	s := newSealer(t, key(1))
	a, _ := s.Seal([]byte("value a"), []byte("aad"))
	b, _ := s.Seal([]byte("value b"), []byte("aad"))
	mixed := bytes.Clone(b)
	copy(mixed[9:69], a[9:69]) // a's wrap nonce and wrapped key into b
	if _, err := s.Open(mixed, []byte("aad")); !errors.Is(err, seal.ErrTampered) {
		t.Fatalf("Open with a transplanted data key: %v, want ErrTampered", err)
	}
}

func FuzzOpen(f *testing.F) {
	s := newSealer(f, key(9))
	for _, c := range []struct{ plain, aad string }{{"", ""}, {"x", "ws\x00n"}, {"a longer secret value", "aad"}} {
		sealed, err := s.Seal([]byte(c.plain), []byte(c.aad))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(sealed, []byte(c.aad))
	}
	f.Add([]byte{1}, []byte(nil))
	f.Add(bytes.Repeat([]byte{1}, seal.Overhead), []byte(nil))
	f.Fuzz(func(t *testing.T, data, aad []byte) {
		plain, err := s.Open(data, aad)
		if err != nil {
			if plain != nil {
				t.Fatalf("Open returned %q with error %v", plain, err)
			}
			if !errors.Is(err, seal.ErrFormat) && !errors.Is(err, seal.ErrWrongKey) && !errors.Is(err, seal.ErrTampered) {
				t.Fatalf("Open error %v is none of ErrFormat, ErrWrongKey, ErrTampered", err)
			}
			return
		}
		if len(data) != len(plain)+seal.Overhead {
			t.Fatalf("opened %d bytes from %d sealed", len(plain), len(data))
		}
		resealed, err := s.Seal(plain, aad)
		if err != nil {
			t.Fatal(err)
		}
		if again, err := s.Open(resealed, aad); err != nil || !bytes.Equal(again, plain) {
			t.Fatalf("reseal round trip = %q, %v", again, err)
		}
	})
}

func BenchmarkSeal(b *testing.B) {
	s := newSealer(b, key(1))
	v := bytes.Repeat([]byte("x"), 256)
	b.SetBytes(int64(len(v)))
	for b.Loop() {
		if _, err := s.Seal(v, []byte("ws\x00name")); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	s := newSealer(b, key(1))
	v := bytes.Repeat([]byte("x"), 256)
	sealed, _ := s.Seal(v, []byte("ws\x00name"))
	b.SetBytes(int64(len(v)))
	for b.Loop() {
		if _, err := s.Open(sealed, []byte("ws\x00name")); err != nil {
			b.Fatal(err)
		}
	}
}

// TestDeriveKey pins the derivation: the expected keys were computed with
// Python's hmac module, hmac.new(bytes(range(32)), purpose, sha256). The
// sealer derives the same keys from its KEK, and a key depends on both the
// KEK and the purpose.
func TestDeriveKey(t *testing.T) {
	kek := make([]byte, seal.KeySize)
	for i := range kek {
		kek[i] = byte(i)
	}
	for _, tt := range []struct{ purpose, want string }{
		{hangar.AuditKeyPurpose, "37230931fc150f668983c43b393792dec55900fca322c143bf37b95567280b0e"},
		{"other", "cb58d869828e0e55637d8adf34e91ca5d1ef130074bdf4e040f812bb96f05d5e"},
	} {
		if got := hex.EncodeToString(seal.DeriveKey(kek, tt.purpose)); got != tt.want {
			t.Errorf("DeriveKey(kek, %q) = %s, want %s", tt.purpose, got, tt.want)
		}
		if got := hex.EncodeToString(newSealer(t, kek).DeriveKey(tt.purpose)); got != tt.want {
			t.Errorf("(*AESGCM).DeriveKey(%q) = %s, want %s", tt.purpose, got, tt.want)
		}
	}
	if bytes.Equal(seal.DeriveKey(key(1), hangar.AuditKeyPurpose), seal.DeriveKey(key(2), hangar.AuditKeyPurpose)) {
		t.Error("two KEKs derive the same key")
	}
	// The sealer keeps its own copy: clearing the caller's KEK changes nothing.
	k := key(3)
	s := newSealer(t, k)
	want := seal.DeriveKey(key(3), hangar.AuditKeyPurpose)
	clear(k)
	if got := s.DeriveKey(hangar.AuditKeyPurpose); !bytes.Equal(got, want) || len(got) != seal.KeySize {
		t.Errorf("derived key after the caller cleared its KEK: %x, want %x", got, want)
	}
}
