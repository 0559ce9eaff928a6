package seal

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/hangar-ml/hangar"
)

// A KEK file holds 32 raw bytes, 64 hex digits, or the base64 (standard or
// URL alphabet, padded or not) of 32 bytes; surrounding whitespace such as
// a trailing newline is ignored for the text forms. LoadOrCreateKEK writes
// 64 hex digits and a newline, the same text HANGAR_KEK takes.
//
// Permissions: a KEK file must not be writable by its group nor readable,
// writable or executable by others (mode & 0o027 == 0). Whoever can replace
// the key can have new secrets sealed under a key they know; whoever can
// read it can read every secret. Group read is allowed so that a secret
// mounted with a group (Kubernetes defaultMode 0440 with fsGroup) works;
// the Kubernetes and Docker default 0644/0444 is refused, with a message
// that says what to set. The check is on the file the path resolves to, so
// the symbolic links Kubernetes uses for mounted secrets are fine.
const forbiddenKEKPerm = 0o027

// maxKEKFile bounds what LoadOrCreateKEK reads; a key file is tiny.
const maxKEKFile = 1024

// ParseKEK parses a KEK given as text, as in the HANGAR_KEK environment
// variable: 64 hex digits or the base64 of 32 bytes, surrounding whitespace
// ignored. An all-zero key is refused as a placeholder. Error messages never
// contain the text. Errors: EINVALID.
func ParseKEK(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	var key []byte
	if len(s) == 2*KeySize {
		if k, err := hex.DecodeString(s); err == nil {
			key = k
		}
	}
	if key == nil {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			if k, err := enc.DecodeString(s); err == nil && len(k) == KeySize {
				key = k
				break
			}
		}
	}
	if key == nil {
		return nil, hangar.Errorf(hangar.EINVALID, "a key-encryption key must be 64 hex digits or the base64 of 32 bytes (got %d characters that are neither); generate one with: openssl rand -hex 32", len(s))
	}
	return checkKEK(key)
}

func checkKEK(key []byte) ([]byte, error) {
	for _, b := range key {
		if b != 0 {
			return key, nil
		}
	}
	return nil, hangar.Errorf(hangar.EINVALID, "the key-encryption key is all zeros; use a random key (openssl rand -hex 32)")
}

// parseKEKFile parses the content of a KEK file.
func parseKEKFile(data []byte) ([]byte, error) {
	switch {
	case len(data) == KeySize:
		return checkKEK(append([]byte(nil), data...))
	case len(data) == KeySize+1 && data[KeySize] == '\n':
		return checkKEK(append([]byte(nil), data[:KeySize]...))
	}
	k, err := ParseKEK(string(data))
	if err != nil {
		return nil, fmt.Errorf("%w (or exactly 32 raw bytes in a file)", err)
	}
	return k, nil
}

// LoadOrCreateKEK reads the KEK file at path, or when there is none creates
// one with a new random key and mode 0600 and reports created. The new file
// appears atomically and never replaces an existing one (it is written
// under a temporary name, synced, and hard-linked into place), so two
// servers starting at once agree on one key. Errors: EINVALID for a file
// that is no key or whose mode is too open (see the package's rules above).
func LoadOrCreateKEK(path string) (key []byte, created bool, err error) {
	key, err = loadKEK(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, false, err
	}
	key, err = createKEK(path)
	if errors.Is(err, fs.ErrExist) { // lost a race with another process
		key, err = loadKEK(path)
		return key, false, err
	}
	if err != nil {
		return nil, false, err
	}
	return key, true, nil
}

func loadKEK(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("seal: read key file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("seal: read key file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, hangar.Errorf(hangar.EINVALID, "key file %s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&forbiddenKEKPerm != 0 {
		return nil, hangar.Errorf(hangar.EINVALID, "key file %s has mode %04o; it must not be writable by its group or accessible to others: chmod 600 it (for a mounted secret set its mode to 0400, or 0440 with a group)", path, perm)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKEKFile+1))
	if err != nil {
		return nil, fmt.Errorf("seal: read key file: %w", err)
	}
	if len(data) > maxKEKFile {
		return nil, hangar.Errorf(hangar.EINVALID, "key file %s is over %d bytes; it is not a key file", path, maxKEKFile)
	}
	key, err := parseKEKFile(data)
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	return key, nil
}

// createKEK writes a new key to path, failing with fs.ErrExist if the file
// exists by then.
func createKEK(path string) (_ []byte, err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("seal: create key file: %w", err)
	}
	key := make([]byte, KeySize)
	rand.Read(key)
	tmp, err := os.CreateTemp(dir, ".kek-*.tmp") // mode 0600
	if err != nil {
		return nil, fmt.Errorf("seal: create key file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(hex.EncodeToString(key) + "\n"); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("seal: create key file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("seal: create key file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("seal: create key file: %w", err)
	}
	// link(2) never replaces an existing file: exclusive like O_EXCL, and
	// the file appears complete.
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, err
		}
		return nil, fmt.Errorf("seal: create key file: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		err = d.Sync()
		d.Close()
		if err != nil {
			return nil, fmt.Errorf("seal: create key file: sync %s: %w", dir, err)
		}
	}
	return key, nil
}
