package httpapi_test

import (
	"crypto/rand"
	"testing"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/seal"
)

// newSealer returns the AES-GCM sealer the store needs for secrets, under a
// fresh key-encryption key.
func newSealer(t testing.TB) hangar.Sealer {
	t.Helper()
	kek := make([]byte, seal.KeySize)
	rand.Read(kek)
	s, err := seal.New(kek)
	if err != nil {
		t.Fatalf("seal.New: %v", err)
	}
	return s
}
