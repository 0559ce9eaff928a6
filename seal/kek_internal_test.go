package seal

import (
	"bytes"
	"encoding/hex"
	"testing"

	"github.com/hangar-ml/hangar"
)

// FuzzParseKEKFile fuzzes the parser of KEK file contents, which adds the
// raw 32-byte form to ParseKEK's text forms.
func FuzzParseKEKFile(f *testing.F) {
	f.Add(bytes.Repeat([]byte{7}, KeySize))
	f.Add(append(bytes.Repeat([]byte{7}, KeySize), '\n'))
	f.Add([]byte(hex.EncodeToString(bytes.Repeat([]byte{7}, KeySize)) + "\n"))
	f.Add([]byte("\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := parseKEKFile(data)
		if err != nil {
			if !hangar.IsCode(err, hangar.EINVALID) {
				t.Fatalf("code %s, want %s", hangar.ErrorCode(err), hangar.EINVALID)
			}
			return
		}
		if len(k) != KeySize {
			t.Fatalf("parsed %d bytes", len(k))
		}
		if len(data) == KeySize && !bytes.Equal(k, data) {
			t.Fatalf("a 32-byte file parsed as %x, want the raw bytes", k)
		}
		if len(data) == KeySize {
			data[0] ^= 1 // the key must not alias the input
			if k[0] == data[0] {
				t.Fatal("the parsed key aliases the file buffer")
			}
		}
	})
}
