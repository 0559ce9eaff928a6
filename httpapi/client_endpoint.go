package httpapi

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/hangar-ml/hangar"
)

// The client is both the endpoint store and, through Deployer, the
// deployer over HTTP: the CLI manages endpoints through the same
// interfaces the server is built on.
var (
	_ hangar.EndpointService = (*Client)(nil)
	_ EndpointDeployer       = clientDeployer{}
)

// Deployer returns the client as an EndpointDeployer. Client.Token is
// already the identity service's (a workspace token by id), so the
// deployer's Token is Client.EndpointToken; Deploy, Redeploy and Logs
// are the client's own.
func (c *Client) Deployer() EndpointDeployer { return clientDeployer{c} }

// clientDeployer is a Client whose Token is EndpointToken.
type clientDeployer struct{ *Client }

// Token is EndpointToken.
func (d clientDeployer) Token(ctx context.Context, ws, endpoint string) (string, time.Time, error) {
	return d.EndpointToken(ctx, ws, endpoint)
}

func onlineEndpointsPath(ws string) string {
	return pathf("/api/v1/workspaces/%s/online-endpoints", ws)
}

func onlineEndpointPath(ws, name, suffix string) string {
	return pathf("/api/v1/workspaces/%s/online-endpoints/%s", ws, name) + suffix
}

func onlineDeploymentPath(ws, endpoint, name, suffix string) string {
	return pathf("/api/v1/workspaces/%s/online-endpoints/%s/deployments/%s", ws, endpoint, name) + suffix
}

// CreateOnlineEndpoint creates an endpoint and fills e with what the
// server stored (its state, scoring path, version and times). Its keys
// are read with EndpointKeys.
func (c *Client) CreateOnlineEndpoint(ctx context.Context, ws string, e *hangar.OnlineEndpoint) error {
	return c.call(ctx, http.MethodPost, onlineEndpointsPath(ws), nil, e, e)
}

// OnlineEndpoint returns an endpoint.
func (c *Client) OnlineEndpoint(ctx context.Context, ws, name string) (*hangar.OnlineEndpoint, error) {
	var out hangar.OnlineEndpoint
	if err := c.call(ctx, http.MethodGet, onlineEndpointPath(ws, name, ""), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListOnlineEndpoints lists a workspace's endpoints by name.
func (c *Client) ListOnlineEndpoints(ctx context.Context, ws string, opt hangar.ListOptions) (*hangar.Page[*hangar.OnlineEndpoint], error) {
	return listPage[*hangar.OnlineEndpoint](ctx, c, onlineEndpointsPath(ws), nil, opt)
}

// UpdateOnlineEndpoint changes an endpoint's description, tags or
// auth_mode when its version is version (0: any). The state is the
// server's: u.State set is EINVALID.
func (c *Client) UpdateOnlineEndpoint(ctx context.Context, ws, name string, u hangar.OnlineEndpointUpdate, version int64) (*hangar.OnlineEndpoint, error) {
	if u.State != "" {
		return nil, hangar.Errorf(hangar.EINVALID, "online endpoint %s: its provisioning state is the server's to set", name)
	}
	return c.patchOnlineEndpoint(ctx, ws, name, &onlineEndpointPatch{Description: u.Description, Tags: u.Tags, AuthMode: u.AuthMode, Version: version})
}

// SetTraffic replaces the endpoint's live traffic and mirrored traffic
// (nil keeps either) when its version is version (0: any).
func (c *Client) SetTraffic(ctx context.Context, ws, name string, traffic, mirror map[string]int, version int64) (*hangar.OnlineEndpoint, error) {
	if traffic == nil && mirror == nil {
		return c.OnlineEndpoint(ctx, ws, name)
	}
	return c.patchOnlineEndpoint(ctx, ws, name, &onlineEndpointPatch{Traffic: traffic, MirrorTraffic: mirror, Version: version})
}

func (c *Client) patchOnlineEndpoint(ctx context.Context, ws, name string, p *onlineEndpointPatch) (*hangar.OnlineEndpoint, error) {
	var out hangar.OnlineEndpoint
	if err := c.call(ctx, http.MethodPatch, onlineEndpointPath(ws, name, ""), nil, p, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteOnlineEndpoint deletes an endpoint with its deployments.
func (c *Client) DeleteOnlineEndpoint(ctx context.Context, ws, name string) error {
	return c.call(ctx, http.MethodDelete, onlineEndpointPath(ws, name, ""), nil, nil, nil)
}

// EndpointKeys returns the endpoint's two keys.
func (c *Client) EndpointKeys(ctx context.Context, ws, name string) (*hangar.EndpointKeys, error) {
	var out hangar.EndpointKeys
	if err := c.call(ctx, http.MethodPost, onlineEndpointPath(ws, name, "/list-keys"), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// RegenerateKey replaces the primary or secondary key and returns both.
func (c *Client) RegenerateKey(ctx context.Context, ws, name, which string) (*hangar.EndpointKeys, error) {
	var out hangar.EndpointKeys
	if err := c.call(ctx, http.MethodPost, onlineEndpointPath(ws, name, "/regenerate-keys"), nil, &regenerateKeysRequest{KeyType: which}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// EndpointToken returns an aml_token of an endpoint whose auth_mode is
// aml_token, and when it expires: EndpointDeployer's Token (see Deployer).
func (c *Client) EndpointToken(ctx context.Context, ws, endpoint string) (string, time.Time, error) {
	var out EndpointToken
	if err := c.call(ctx, http.MethodPost, onlineEndpointPath(ws, endpoint, "/token"), nil, nil, &out); err != nil {
		return "", time.Time{}, err
	}
	return out.AccessToken, time.Unix(out.ExpiryTimeUTC, 0).UTC(), nil
}

// CreateOnlineDeployment is Deploy without all traffic: over HTTP, a
// deployment is stored only to be deployed.
func (c *Client) CreateOnlineDeployment(ctx context.Context, ws string, d *hangar.OnlineDeployment) error {
	return c.Deploy(ctx, ws, d, false)
}

// Deploy creates the deployment d, resolved (model and environment
// versions, code digest), in endpoint d.Endpoint; the server deploys it in
// the background. d is filled with the deployment as stored (Creating,
// with the model's digest); with allTraffic it takes all the live
// traffic once it succeeded. Wait for it by reading OnlineDeployment.
func (c *Client) Deploy(ctx context.Context, ws string, d *hangar.OnlineDeployment, allTraffic bool) error {
	var q url.Values
	if allTraffic {
		q = url.Values{"all_traffic": {"true"}}
	}
	path := onlineEndpointPath(ws, d.Endpoint, "/deployments")
	return c.call(ctx, http.MethodPost, path, q, d, d)
}

// OnlineDeployment returns a deployment.
func (c *Client) OnlineDeployment(ctx context.Context, ws, endpoint, name string) (*hangar.OnlineDeployment, error) {
	var out hangar.OnlineDeployment
	if err := c.call(ctx, http.MethodGet, onlineDeploymentPath(ws, endpoint, name, ""), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListOnlineDeployments lists an endpoint's deployments by name.
func (c *Client) ListOnlineDeployments(ctx context.Context, ws, endpoint string, opt hangar.ListOptions) (*hangar.Page[*hangar.OnlineDeployment], error) {
	return listPage[*hangar.OnlineDeployment](ctx, c, onlineEndpointPath(ws, endpoint, "/deployments"), nil, opt)
}

// TransitionOnlineDeployment is Redeploy: over HTTP a caller changes a
// deployment's spec, description and tags; its state and message are the
// server's (t.From, t.To or t.Message set is EINVALID).
func (c *Client) TransitionOnlineDeployment(ctx context.Context, ws, endpoint, name string, t hangar.DeploymentTransition) (*hangar.OnlineDeployment, error) {
	return c.Redeploy(ctx, ws, endpoint, name, t)
}

// Redeploy changes a deployment when its version is t.Version (0: any):
// a new t.Spec (resolved, as for Deploy) is deployed in the background
// and replaces the running one once it passed its smoke test; t's
// Description and Tags replace the deployment's when set. It returns the
// deployment as changed (Updating when a spec was given).
func (c *Client) Redeploy(ctx context.Context, ws, endpoint, name string, t hangar.DeploymentTransition) (*hangar.OnlineDeployment, error) {
	if len(t.From) > 0 || t.To != "" || t.Message != nil {
		return nil, hangar.Errorf(hangar.EINVALID, "deployment %s: its provisioning state and message are the server's to set", name)
	}
	p := &onlineDeploymentPatch{Spec: t.Spec, Description: t.Description, Tags: t.Tags, Version: t.Version}
	var out hangar.OnlineDeployment
	if err := c.call(ctx, http.MethodPatch, onlineDeploymentPath(ws, endpoint, name, ""), nil, p, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteOnlineDeployment deletes a deployment that takes no traffic.
func (c *Client) DeleteOnlineDeployment(ctx context.Context, ws, endpoint, name string) error {
	return c.call(ctx, http.MethodDelete, onlineDeploymentPath(ws, endpoint, name, ""), nil, nil, nil)
}

// Logs returns up to the last lines lines of a deployment's log (the
// server's default when lines <= 0).
func (c *Client) Logs(ctx context.Context, ws, endpoint, name string, lines int) ([]string, error) {
	var q url.Values
	if lines > 0 {
		q = url.Values{"lines": {strconv.Itoa(lines)}}
	}
	var out deploymentLogs
	if err := c.call(ctx, http.MethodGet, onlineDeploymentPath(ws, endpoint, name, "/logs"), q, nil, &out); err != nil {
		return nil, err
	}
	return out.Lines, nil
}
