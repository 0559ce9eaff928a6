package main

import (
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/hangar-ml/hangar"
)

// TestStartPprof checks the --pprof listener: loopback only, and the
// profile index answers there.
func TestStartPprof(t *testing.T) {
	logger := slog.New(slog.DiscardHandler)
	for _, addr := range []string{"0.0.0.0:0", ":0", "10.1.2.3:0", "localhost"} {
		if _, _, err := startPprof(addr, logger); !hangar.IsCode(err, hangar.EINVALID) {
			t.Errorf("startPprof(%q): got %v, want EINVALID", addr, err)
		}
	}
	url, stop, err := startPprof("127.0.0.1:0", logger)
	if err != nil {
		t.Fatalf("startPprof: %v", err)
	}
	defer stop()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), "goroutine") {
		t.Errorf("GET %s: got %d %.80q, want 200 and the profile index", url, resp.StatusCode, b)
	}
	for _, c := range []struct {
		path, host string
		want       int
	}{
		{"cmdline", "", http.StatusNotFound},                      // may hold a --db password
		{"heap?debug=1", "evil.example:80", http.StatusForbidden}, // a rebound DNS name
		{"heap?debug=1", "localhost", http.StatusOK},
		{"heap?debug=1", "", http.StatusOK},
	} {
		req, _ := http.NewRequestWithContext(t.Context(), "GET", url+c.path, nil)
		if c.host != "" {
			req.Host = c.host
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("GET %s (Host %q): got %d, want %d", c.path, c.host, resp.StatusCode, c.want)
		}
	}
}
