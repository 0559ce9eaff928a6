package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hangar-ml/hangar/httpapi"
)

// writeSelfSignedCert writes a certificate for 127.0.0.1 and its key as PEM files.
func writeSelfSignedCert(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "hangar test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// TestServeTLS serves HTTPS and drives it with the CLI, trusting the
// server's certificate through HANGAR_CA_CERT.
func TestServeTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := writeSelfSignedCert(t, dir)
	cfg := &serverConfig{
		Addr: "127.0.0.1:0", DataDir: dir, DB: filepath.Join(dir, "hangar.db"),
		Artifacts: filepath.Join(dir, "artifacts"), KEKFile: filepath.Join(dir, "kek"),
		TLSCert: certFile, TLSKey: keyFile,
	}
	ctx, cancel := context.WithCancel(t.Context())
	up := make(chan running, 1)
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, cfg, slog.New(slog.NewJSONHandler(io.Discard, nil)), func(r running) { up <- r })
	}()
	var srv running
	select {
	case srv = <-up:
	case err := <-done:
		t.Fatalf("serve: %v", err)
	}
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve returned %v after cancel; want nil", err)
		}
	}()
	if !strings.HasPrefix(srv.URL, "https://") {
		t.Fatalf("URL = %s, want https", srv.URL)
	}
	tests := []struct {
		name     string
		ca       string
		wantCode int
		wantOut  string
	}{
		{"trusted", certFile, 0, "default"},
		{"untrusted", "", 1, "certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"HANGAR_URL": srv.URL, "HANGAR_TOKEN": srv.OwnerToken, "HANGAR_CA_CERT": tt.ca, "HOME": dir}
			var out, errb strings.Builder
			code := run(t.Context(), []string{"workspace", "show", "-n", "default", "--query", "name", "-o", "tsv"},
				strings.NewReader(""), &out, &errb, func(k string) string { return env[k] })
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tt.wantCode, errb.String())
			}
			if !strings.Contains(out.String()+errb.String(), tt.wantOut) {
				t.Fatalf("output %q + %q lacks %q", out.String(), errb.String(), tt.wantOut)
			}
		})
	}
}

// TestStaticBuild checks that the binary builds without cgo, as a release must.
func TestStaticBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go tool not on PATH")
	}
	cmd := exec.Command("go", "build", "-o", filepath.Join(t.TempDir(), "hangar"), ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("CGO_ENABLED=0 go build: %v\n%s", err, out)
	}
}

// TestServeEdge: the server's listener comes from httpapi.NewHTTPServer with
// the configured timeouts (a client trickling its headers is dropped), and
// --metrics-auth puts /metrics behind a token.
func TestServeEdge(t *testing.T) {
	dir := t.TempDir()
	cfg := &serverConfig{
		Addr: "127.0.0.1:0", DataDir: dir, DB: filepath.Join(dir, "hangar.db"),
		Artifacts: filepath.Join(dir, "artifacts"), KEKFile: filepath.Join(dir, "kek"),
		MetricsAuth: true,
		Timeouts:    httpapi.Timeouts{ReadHeader: 300 * time.Millisecond},
	}
	ctx, cancel := context.WithCancel(t.Context())
	up := make(chan running, 1)
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, cfg, slog.New(slog.NewJSONHandler(io.Discard, nil)), func(r running) { up <- r })
	}()
	var srv running
	select {
	case srv = <-up:
	case err := <-done:
		t.Fatalf("serve: %v", err)
	}
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve returned %v after cancel; want nil", err)
		}
	}()

	for _, tt := range []struct {
		token string
		want  int
	}{{"", http.StatusUnauthorized}, {srv.OwnerToken, http.StatusOK}} {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/metrics", nil)
		if tt.token != "" {
			req.Header.Set("Authorization", "Bearer "+tt.token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("GET /metrics with token %v: status %d, want %d", tt.token != "", resp.StatusCode, tt.want)
		}
	}

	c, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
	c.SetReadDeadline(time.Now().Add(5 * time.Second)) // the default ReadHeader is 10 s
	if _, err := io.ReadAll(c); err != nil {
		t.Errorf("a client that never ends its headers: %v; want the server to close the connection", err)
	}
}

// TestMetricsAuthSetting: --metrics-auth, HANGAR_METRICS_AUTH and
// metrics_auth in the config file, in that order of precedence.
func TestMetricsAuthSetting(t *testing.T) {
	for _, tt := range []struct {
		name, file, env string
		args            []string
		want            bool
		err             string
	}{
		{name: "default"},
		{name: "file", file: "metrics_auth: true\n", want: true},
		{name: "env over file", file: "metrics_auth: true\n", env: "false"},
		{name: "env", env: "1", want: true},
		{name: "flag over env", env: "true", args: []string{"--metrics-auth=false"}},
		{name: "flag", args: []string{"--metrics-auth"}, want: true},
		{name: "bad env", env: "maybe", err: `metrics-auth: want true or false, got "maybe"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := testServerConfig(t, tt.file, "HANGAR_METRICS_AUTH", tt.env, tt.args)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("loadServerConfig: %v, want an error containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.MetricsAuth != tt.want {
				t.Errorf("MetricsAuth = %v, want %v", cfg.MetricsAuth, tt.want)
			}
		})
	}
}

// testServerConfig loads `hangar server`'s configuration as the command
// does: from a server.yaml holding file (when not ""), the environment
// variable key set to value, and the flags args.
func testServerConfig(t *testing.T, file, key, value string, args []string) (*serverConfig, error) {
	t.Helper()
	dir := t.TempDir()
	if file != "" {
		if err := os.WriteFile(filepath.Join(dir, "server.yaml"), []byte(file), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	env := map[string]string{"HANGAR_HOME": dir, key: value}
	getenv := func(k string) string { return env[k] }
	cmd := newServerCmd(getenv)
	if err := cmd.Flags().Parse(args); err != nil {
		t.Fatal(err)
	}
	return loadServerConfig(cmd, getenv)
}
