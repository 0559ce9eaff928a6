package httpapi

import (
	"context"
	"net/http"
	"net/url"

	"github.com/hangar-ml/hangar"
)

// The client's batch endpoint methods implement hangar.BatchEndpointService
// over the batch endpoint routes (batch_endpoint.go).
var _ hangar.BatchEndpointService = (*Client)(nil)

func batchPath(workspace string, rest ...string) string {
	p := "/api/v1/workspaces/" + url.PathEscape(workspace) + "/batch-endpoints"
	for _, s := range rest {
		p += "/" + url.PathEscape(s)
	}
	return p
}

// CreateBatchEndpoint creates e in workspace and fills e with the stored
// endpoint.
func (c *Client) CreateBatchEndpoint(ctx context.Context, workspace string, e *hangar.BatchEndpoint) error {
	return c.call(ctx, http.MethodPost, batchPath(workspace), nil, e, e)
}

// BatchEndpoint returns an endpoint.
func (c *Client) BatchEndpoint(ctx context.Context, workspace, name string) (*hangar.BatchEndpoint, error) {
	var e hangar.BatchEndpoint
	if err := c.call(ctx, http.MethodGet, batchPath(workspace, name), nil, nil, &e); err != nil {
		return nil, err
	}
	return &e, nil
}

// ListBatchEndpoints lists a workspace's batch endpoints by name.
func (c *Client) ListBatchEndpoints(ctx context.Context, workspace string, opt hangar.ListOptions) (*hangar.Page[*hangar.BatchEndpoint], error) {
	return listPage[*hangar.BatchEndpoint](ctx, c, batchPath(workspace), nil, opt)
}

// UpdateBatchEndpoint applies u when the endpoint is at version (0: any).
func (c *Client) UpdateBatchEndpoint(ctx context.Context, workspace, name string, u hangar.BatchEndpointUpdate, version int64) (*hangar.BatchEndpoint, error) {
	var e hangar.BatchEndpoint
	body := BatchEndpointPatch{Description: u.Description, Tags: u.Tags, DefaultDeployment: u.DefaultDeployment, Version: version}
	if err := c.call(ctx, http.MethodPatch, batchPath(workspace, name), nil, body, &e); err != nil {
		return nil, err
	}
	return &e, nil
}

// DeleteBatchEndpoint deletes an endpoint and its deployments.
func (c *Client) DeleteBatchEndpoint(ctx context.Context, workspace, name string) error {
	return c.call(ctx, http.MethodDelete, batchPath(workspace, name), nil, nil, nil)
}

// CreateBatchDeployment creates d in its endpoint and fills d with the
// stored deployment: Succeeded, its model digest resolved. The
// endpoint's first deployment becomes its default; CreateBatchDeployment
// never makes another one the default (SetDefaultBatchDeployment does).
func (c *Client) CreateBatchDeployment(ctx context.Context, workspace string, d *hangar.BatchDeployment) error {
	return c.call(ctx, http.MethodPost, batchPath(workspace, d.Endpoint, "deployments"), nil, d, d)
}

// BatchDeployment returns a deployment.
func (c *Client) BatchDeployment(ctx context.Context, workspace, endpoint, name string) (*hangar.BatchDeployment, error) {
	var d hangar.BatchDeployment
	if err := c.call(ctx, http.MethodGet, batchPath(workspace, endpoint, "deployments", name), nil, nil, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// ListBatchDeployments lists an endpoint's deployments by name.
func (c *Client) ListBatchDeployments(ctx context.Context, workspace, endpoint string, opt hangar.ListOptions) (*hangar.Page[*hangar.BatchDeployment], error) {
	return listPage[*hangar.BatchDeployment](ctx, c, batchPath(workspace, endpoint, "deployments"), nil, opt)
}

// UpdateBatchDeployment applies u's description, tags, spec and settings
// (a client cannot set the state or message: the server does).
func (c *Client) UpdateBatchDeployment(ctx context.Context, workspace, endpoint, name string, u hangar.BatchDeploymentUpdate) (*hangar.BatchDeployment, error) {
	if u.State != "" || u.Message != nil {
		return nil, hangar.Errorf(hangar.EINVALID, "a batch deployment's state and message are the server's to set")
	}
	var d hangar.BatchDeployment
	body := BatchDeploymentPatch{Description: u.Description, Tags: u.Tags, Spec: u.Spec, Settings: u.Settings, Version: u.Version}
	if err := c.call(ctx, http.MethodPatch, batchPath(workspace, endpoint, "deployments", name), nil, body, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// DeleteBatchDeployment deletes a deployment that is not its endpoint's
// default.
func (c *Client) DeleteBatchDeployment(ctx context.Context, workspace, endpoint, name string) error {
	return c.call(ctx, http.MethodDelete, batchPath(workspace, endpoint, "deployments", name), nil, nil, nil)
}

// CreateBatchDeploymentDefault creates d as CreateBatchDeployment does
// and makes it its endpoint's default (az ml batch-deployment create
// --set-default).
func (c *Client) CreateBatchDeploymentDefault(ctx context.Context, workspace string, d *hangar.BatchDeployment) error {
	return c.call(ctx, http.MethodPost, batchPath(workspace, d.Endpoint, "deployments"), url.Values{"set_default": {"true"}}, d, d)
}

// InvokeBatchEndpoint starts a batch scoring job on an endpoint and
// returns the job (not started yet). in may name the job and override the
// deployment's mini_batch_size, instance_count and output_file_name for
// this job (the deployment is not changed). Errors: EINVALID (in's
// fields, checked as BatchInvocation.Validate and Apply do; an input that
// is not a data asset of the workspace), ENOTFOUND (the endpoint or
// deployment), ECONFLICT (a job has that name; the deployment is not
// Succeeded), EFORBIDDEN.
func (c *Client) InvokeBatchEndpoint(ctx context.Context, workspace, endpoint string, in BatchInvocation) (*hangar.Job, error) {
	var j hangar.Job
	if err := c.call(ctx, http.MethodPost, batchPath(workspace, endpoint, "invoke"), nil, in, &j); err != nil {
		return nil, err
	}
	return &j, nil
}

// ListBatchJobs lists the jobs invoked on an endpoint, newest first.
func (c *Client) ListBatchJobs(ctx context.Context, workspace, endpoint string, opt hangar.ListOptions) (*hangar.Page[*hangar.Job], error) {
	return listPage[*hangar.Job](ctx, c, batchPath(workspace, endpoint, "jobs"), nil, opt)
}
