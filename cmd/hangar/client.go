package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hangar-ml/hangar/httpapi"
)

// clientConfig is how CLI verbs reach a server: HANGAR_URL, HANGAR_TOKEN,
// HANGAR_WORKSPACE and HANGAR_CA_CERT, falling back to ~/.hangar/config.yaml
// (url, token, workspace, ca_cert) and, for a server on this machine, the owner token that the
// server wrote into its data directory.
type clientConfig struct {
	getenv    env
	output    string
	workspace string // --workspace-name/-w
	query     string

	URL       string `yaml:"url"`
	Token     string `yaml:"token"`
	Workspace string `yaml:"workspace"`
	CACert    string `yaml:"ca_cert"` // PEM file of a private CA (or HANGAR_CA_CERT)
}

func (c *clientConfig) bindGlobal(root *cobra.Command) {
	pf := root.PersistentFlags()
	pf.StringVarP(&c.output, "output", "o", "json", "output format: json, yaml, table, tsv or none")
	pf.StringVarP(&c.workspace, "workspace-name", "w", "", "workspace (default $HANGAR_WORKSPACE, the config file's, or \"default\")")
	pf.StringVar(&c.query, "query", "", "print only this field of the result (a dotted path such as name or traffic.blue)")
}

// resolve fills URL, Token and Workspace from the environment and config file.
func (c *clientConfig) resolve() error {
	home := defaultHome(c.getenv)
	if err := readYAMLFile(filepath.Join(home, "config.yaml"), c, false); err != nil {
		return err
	}
	c.URL = firstNonEmpty(c.getenv("HANGAR_URL"), c.URL, "http://127.0.0.1:8080")
	c.Token = firstNonEmpty(c.getenv("HANGAR_TOKEN"), c.Token)
	if c.Token == "" && isLocalURL(c.URL) {
		// A server started with the defaults on this machine writes its
		// owner token here, readable only by the user who started it. It is
		// sent only to a server on this machine, never to a remote URL.
		if b, err := os.ReadFile(filepath.Join(home, "owner.token")); err == nil {
			c.Token = strings.TrimSpace(string(b))
		}
	}
	c.Workspace = firstNonEmpty(c.workspace, c.getenv("HANGAR_WORKSPACE"), c.Workspace, "default")
	switch c.output {
	case "json", "yaml", "table", "tsv", "none":
	default:
		return fmt.Errorf("unknown output format %q: use json, yaml, table, tsv or none", c.output)
	}
	return nil
}

// client returns an HTTP API client for the resolved configuration.
func (c *clientConfig) client() (*httpapi.Client, error) {
	if err := c.resolve(); err != nil {
		return nil, err
	}
	if !strings.HasPrefix(c.URL, "http://") && !strings.HasPrefix(c.URL, "https://") {
		return nil, errors.New("HANGAR_URL must start with http:// or https://, got " + c.URL)
	}
	cl := httpapi.NewClient(strings.TrimRight(c.URL, "/"), c.Token)
	if ca := firstNonEmpty(c.getenv("HANGAR_CA_CERT"), c.CACert); ca != "" {
		hc, err := httpClientWithCA(ca)
		if err != nil {
			return nil, err
		}
		cl.HTTPClient = hc
	}
	return cl, nil
}

// httpClientWithCA trusts the PEM certificates in file besides the system's,
// for servers with a private or self-signed certificate.
func httpClientWithCA(file string) (*http.Client, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read CA certificate: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("CA certificate %s holds no PEM certificate", file)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: tr}, nil
}

// isLocalURL reports whether u names a server on a loopback address.
func isLocalURL(u string) bool {
	parsed, err := url.Parse(u)
	if err != nil {
		return false
	}
	return isLoopback(parsed.Hostname())
}
