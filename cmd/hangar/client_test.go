package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestOwnerTokenOnlyForLocalServers checks that the owner token file in
// HANGAR_HOME is used for a server on this machine and never sent elsewhere.
func TestOwnerTokenOnlyForLocalServers(t *testing.T) {
	home := t.TempDir()
	if err := os.WriteFile(filepath.Join(home, "owner.token"), []byte("hgr_local\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		url, explicit, want string
	}{
		{"", "", "hgr_local"},
		{"http://127.0.0.1:8080", "", "hgr_local"},
		{"https://localhost:9443", "", "hgr_local"},
		{"http://[::1]:8080", "", "hgr_local"},
		{"https://hangar.example.com", "", ""},
		{"http://10.0.0.5:8080", "", ""},
		{"https://hangar.example.com", "hgr_given", "hgr_given"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			env := map[string]string{"HANGAR_HOME": home, "HANGAR_URL": tt.url, "HANGAR_TOKEN": tt.explicit}
			c := &clientConfig{getenv: func(k string) string { return env[k] }, output: "json"}
			if err := c.resolve(); err != nil {
				t.Fatal(err)
			}
			if c.Token != tt.want {
				t.Errorf("token = %q, want %q", c.Token, tt.want)
			}
		})
	}
}
