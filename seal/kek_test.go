package seal_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/seal"
)

// testKEK is a fixed non-trivial key for parser tests.
var testKEK = func() []byte {
	k := make([]byte, seal.KeySize)
	for i := range k {
		k[i] = byte(i*7 + 3)
	}
	k[31] = '\n' // a raw key may end in a newline byte
	return k
}()

func TestParseKEK(t *testing.T) {
	hexKey := hex.EncodeToString(testKEK)
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"hex", hexKey, true},
		{"hex upper", strings.ToUpper(hexKey), true},
		{"hex newline", hexKey + "\n", true},
		{"hex crlf and spaces", "  " + hexKey + "\r\n", true},
		{"base64", base64.StdEncoding.EncodeToString(testKEK), true},
		{"base64 newline", base64.StdEncoding.EncodeToString(testKEK) + "\n", true},
		{"base64 raw", base64.RawStdEncoding.EncodeToString(testKEK), true},
		{"base64 url", base64.URLEncoding.EncodeToString(testKEK), true},
		{"base64 raw url", base64.RawURLEncoding.EncodeToString(testKEK), true},
		{"empty", "", false},
		{"spaces", "   \n", false},
		{"hex short", hexKey[:62], false},
		{"hex long", hexKey + "00", false},
		{"hex bad digit", "zz" + hexKey[2:], false},
		{"hex inner space", hexKey[:32] + " " + hexKey[32:], false},
		{"base64 of 31 bytes", base64.StdEncoding.EncodeToString(testKEK[:31]), false},
		{"base64 of 33 bytes", base64.StdEncoding.EncodeToString(append(bytes.Clone(testKEK), 1)), false},
		{"raw bytes", string(testKEK), false},
		{"all zero", strings.Repeat("0", 64), false},
		{"passphrase", "correct horse battery staple", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := seal.ParseKEK(tt.in)
			if !tt.ok {
				if err == nil {
					t.Fatalf("ParseKEK = %x, want an error", got)
				}
				if !hangar.IsCode(err, hangar.EINVALID) {
					t.Errorf("code %s, want %s", hangar.ErrorCode(err), hangar.EINVALID)
				}
				if s := strings.TrimSpace(tt.in); len(s) >= 8 && strings.Contains(err.Error(), s) {
					t.Errorf("error %q echoes the key text", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseKEK: %v", err)
			}
			if !bytes.Equal(got, testKEK) {
				t.Errorf("ParseKEK = %x, want %x", got, testKEK)
			}
		})
	}
}

func TestLoadOrCreateKEK(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "secrets", "kek") // the folder is created too
	k1, created, err := seal.LoadOrCreateKEK(path)
	if err != nil || !created || len(k1) != seal.KeySize {
		t.Fatalf("first LoadOrCreateKEK = %d bytes, created %v, %v", len(k1), created, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %04o, want 0600", fi.Mode().Perm())
	}
	data, _ := os.ReadFile(path)
	if want := hex.EncodeToString(k1) + "\n"; string(data) != want {
		t.Errorf("key file holds %q, want 64 hex digits and a newline", data)
	}
	k2, created, err := seal.LoadOrCreateKEK(path)
	if err != nil || created || !bytes.Equal(k1, k2) {
		t.Fatalf("second LoadOrCreateKEK = %x, created %v, %v; want %x", k2, created, err, k1)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(dir, "secrets", ".kek-*")); len(leftovers) != 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
}

func TestLoadOrCreateKEKConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kek")
	const n = 8
	keys := make([][]byte, n)
	created := make([]bool, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { keys[i], created[i], errs[i] = seal.LoadOrCreateKEK(path) })
	}
	wg.Wait()
	creators := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("LoadOrCreateKEK %d: %v", i, errs[i])
		}
		if !bytes.Equal(keys[i], keys[0]) {
			t.Fatalf("callers got different keys")
		}
		if created[i] {
			creators++
		}
	}
	if creators != 1 {
		t.Errorf("%d callers report creating the key, want 1", creators)
	}
}

func TestLoadKEKFile(t *testing.T) {
	hexKey := hex.EncodeToString(testKEK)
	tests := []struct {
		name    string
		content []byte
		mode    os.FileMode
		wantErr string // "" for success
	}{
		{"raw", testKEK, 0o600, ""},
		{"raw newline", append(bytes.Clone(testKEK), '\n'), 0o600, ""},
		{"hex", []byte(hexKey), 0o600, ""},
		{"hex newline", []byte(hexKey + "\n"), 0o400, ""},
		{"base64 newline", []byte(base64.StdEncoding.EncodeToString(testKEK) + "\n"), 0o600, ""},
		{"group readable", []byte(hexKey), 0o640, ""},
		{"mounted secret with group", []byte(hexKey), 0o440, ""},
		{"world readable", []byte(hexKey), 0o644, "mode 0644"},
		{"docker default", []byte(hexKey), 0o444, "mode 0444"},
		{"group writable", []byte(hexKey), 0o660, "mode 0660"},
		{"world writable", []byte(hexKey), 0o602, "mode 0602"},
		{"empty", nil, 0o600, "64 hex digits"},
		{"31 raw bytes", testKEK[:31], 0o600, "64 hex digits"},
		{"garbage", []byte("not a key at all\n"), 0o600, "64 hex digits"},
		{"huge", bytes.Repeat([]byte("a"), 4096), 0o600, "over 1024 bytes"},
		{"all zero raw", make([]byte, 32), 0o600, "all zeros"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "kek")
			if err := os.WriteFile(path, tt.content, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tt.mode); err != nil {
				t.Fatal(err)
			}
			got, created, err := seal.LoadOrCreateKEK(path)
			if created {
				t.Error("created a key although a file exists")
			}
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("LoadOrCreateKEK: %v", err)
				}
				if !bytes.Equal(got, testKEK) {
					t.Errorf("key = %x, want %x", got, testKEK)
				}
				return
			}
			if err == nil || !hangar.IsCode(err, hangar.EINVALID) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("LoadOrCreateKEK error = %v, want %s containing %q", err, hangar.EINVALID, tt.wantErr)
			}
			if len(tt.content) >= 8 && strings.Contains(err.Error(), strings.TrimSpace(string(tt.content))) {
				t.Errorf("error %q echoes the file content", err)
			}
			// The file is left alone.
			if data, _ := os.ReadFile(path); !bytes.Equal(data, tt.content) {
				t.Error("the existing key file was changed")
			}
		})
	}
}

func TestLoadKEKSymlinkAndDir(t *testing.T) {
	dir := t.TempDir()
	// Kubernetes mounts secrets as links into a ..data folder.
	data := filepath.Join(dir, "..data")
	os.Mkdir(data, 0o755)
	if err := os.WriteFile(filepath.Join(data, "kek"), []byte(hex.EncodeToString(testKEK)), 0o440); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "kek")
	if err := os.Symlink(filepath.Join("..data", "kek"), link); err != nil {
		t.Fatal(err)
	}
	if got, _, err := seal.LoadOrCreateKEK(link); err != nil || !bytes.Equal(got, testKEK) {
		t.Fatalf("LoadOrCreateKEK through a link = %x, %v", got, err)
	}
	if _, _, err := seal.LoadOrCreateKEK(data); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("LoadOrCreateKEK of a folder: %v, want not a regular file", err)
	}
}

func FuzzParseKEK(f *testing.F) {
	f.Add(hex.EncodeToString(testKEK))
	f.Add(base64.StdEncoding.EncodeToString(testKEK) + "\n")
	f.Add(base64.RawURLEncoding.EncodeToString(testKEK))
	f.Add("")
	f.Add(strings.Repeat("0", 64))
	f.Fuzz(func(t *testing.T, s string) {
		k, err := seal.ParseKEK(s)
		if err != nil {
			if !hangar.IsCode(err, hangar.EINVALID) {
				t.Fatalf("code %s, want %s", hangar.ErrorCode(err), hangar.EINVALID)
			}
			if trimmed := strings.TrimSpace(s); len(trimmed) >= 24 && strings.Contains(err.Error(), trimmed) {
				t.Fatalf("error %q echoes the input", err)
			}
			return
		}
		if len(k) != seal.KeySize {
			t.Fatalf("ParseKEK returned %d bytes", len(k))
		}
		if again, err := seal.ParseKEK(hex.EncodeToString(k)); err != nil || !bytes.Equal(again, k) {
			t.Fatalf("hex round trip = %x, %v; want %x", again, err, k)
		}
		if _, err := seal.New(k); err != nil {
			t.Fatalf("New of a parsed key: %v", err)
		}
	})
}
