package sampledata

import (
	"crypto/sha256"
	"io"
	"os"
	"testing"
)

// TestChicagoMatchesTestdata guards against the embedded copy drifting from
// the table the tests use.
func TestChicagoMatchesTestdata(t *testing.T) {
	r, err := Chicago()
	if err != nil {
		t.Fatal(err)
	}
	got := sha256.New()
	if _, err := io.Copy(got, r); err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("../../testdata/chicago/chicago.csv")
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(want); string(got.Sum(nil)) != string(sum[:]) {
		t.Fatal("embedded chicago.csv.gz differs from testdata/chicago/chicago.csv: regenerate it with gzip -9 -n")
	}
}
