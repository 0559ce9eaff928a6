package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/hangar-ml/hangar"
)

// Client calls a Hangar server's native API. It implements the root service
// interfaces, so code written against them works remotely; server errors come
// back as *hangar.Error with the server's code and message.
type Client struct {
	// HTTPClient sends the requests; http.DefaultClient when nil. cmd sets
	// one with its TLS configuration.
	HTTPClient *http.Client

	baseURL string
	token   string
}

// The client implements every client-facing service interface; the
// store-only ones (hangar.CredentialStore) it never offers.
var (
	_ hangar.WorkspaceService = (*Client)(nil)
	_ hangar.IdentityService  = (*Client)(nil)
	_ hangar.RoleService      = (*Client)(nil)
	_ hangar.AuditService     = (*Client)(nil)
	_ hangar.SecretService    = (*Client)(nil)
)

// NewClient returns a client of the server at baseURL ("https://host:port")
// that authenticates with the bearer token (none when empty).
func NewClient(baseURL, token string) *Client {
	return &Client{baseURL: strings.TrimRight(baseURL, "/"), token: token}
}

func (c *Client) httpClient() *http.Client {
	if c.HTTPClient != nil {
		return c.HTTPClient
	}
	return http.DefaultClient
}

// newRequest builds a request for path (already escaped) and query. The
// context's request id, if any, travels as X-Request-Id so the server's
// logs and audit events carry it.
func (c *Client) newRequest(ctx context.Context, method, path string, q url.Values, body io.Reader) (*http.Request, error) {
	// An empty name or id leaves an empty path segment, which the server
	// would answer as an unknown route: say what is wrong instead.
	if strings.Contains(path, "//") || len(path) > 1 && strings.HasSuffix(path, "/") {
		return nil, hangar.Errorf(hangar.EINVALID, "%s %s: a name or id in the request is empty", method, path)
	}
	u := c.baseURL + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if rid := hangar.RequestIDFrom(ctx); rid != "" {
		req.Header.Set("X-Request-Id", rid)
	}
	req.Header.Set("Accept", "application/json")
	return req, nil
}

// send performs req and turns error answers into *hangar.Error. On success
// the caller owns the response body.
func (c *Client) send(req *http.Request) (*http.Response, error) {
	resp, err := c.httpClient().Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the url.Error repeats the whole URL
		}
		return nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	return nil, responseError(req, resp)
}

// responseError reads an error answer: the envelope when there is one, else
// a code derived from the status.
func responseError(req *http.Request, resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var env errorEnvelope
	if json.Unmarshal(b, &env) == nil && env.Error.Code != "" {
		return &hangar.Error{Code: env.Error.Code, Message: env.Error.Message}
	}
	snippet := strings.TrimSpace(string(b))
	if len(snippet) > 200 {
		snippet = snippet[:200] + "…"
	}
	return hangar.Errorf(codeOfStatus(resp.StatusCode), "%s %s: HTTP %s: %s", req.Method, req.URL.Path, resp.Status, snippet)
}

// call sends in (when non-nil) as JSON and decodes the answer into out (when
// non-nil).
func (c *Client) call(ctx context.Context, method, path string, q url.Values, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("%s %s: encode request: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := c.newRequest(ctx, method, path, q, body)
	if err != nil {
		return err
	}
	if in != nil || method == http.MethodPost {
		// A server without authentication takes no POST without it (see
		// Server.AuthDisabled), even one without a body.
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.send(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := decodeResponse(resp, out); err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	return nil
}

// decodeResponse decodes a JSON answer into out.
func decodeResponse(resp *http.Response, out any) error {
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("decode response: %w", err)
	}
	return nil
}

// pathf builds a path from a format whose %s verbs are filled with escaped
// path segments.
func pathf(format string, segments ...string) string {
	args := make([]any, len(segments))
	for i, s := range segments {
		args[i] = url.PathEscape(s)
	}
	return fmt.Sprintf(format, args...)
}

// Health returns nil when the server answers /healthz.
func (c *Client) Health(ctx context.Context) error {
	return c.call(ctx, http.MethodGet, "/healthz", nil, nil, nil)
}

// Ready returns nil when the server answers /readyz with 200, and an
// EUNAVAILABLE error when it is not ready.
func (c *Client) Ready(ctx context.Context) error {
	return c.call(ctx, http.MethodGet, "/readyz", nil, nil, nil)
}
