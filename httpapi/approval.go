package httpapi

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/hangar-ml/hangar"
)

// Approvals (approval.go at the root) under /api/v1/workspaces/{ws}/:
//
//	GET    protected-aliases                 protected alias names         models/read
//	GET    protected-aliases/{alias}         one, or 404 when unprotected  models/read
//	PUT    protected-aliases/{alias}         protect                       approvals/write
//	DELETE protected-aliases/{alias}         unprotect                     approvals/write
//	POST   approvals                         request an alias move         models/write
//	GET    approvals                         ?name= &status=, newest first models/read
//	GET    approvals/{id}                    one request                   models/read
//	POST   approvals/{id}/approve            approve: the alias moves      approvals/approve
//	POST   approvals/{id}/reject             reject                        approvals/approve
//
// Reading requests takes models/read, not approvals/read: a request is part
// of its model's record, like its aliases, and the Contributor or Data
// Scientist who asked (whose roles exclude approvals/*) must see what
// became of it. Asking takes models/write, what moving an unprotected
// alias takes. That the decider is not the requester is the store's rule
// (hangar.CheckDecision), so it holds for every client.

func (s *Server) approvalService() (hangar.ApprovalService, error) {
	if s.Approvals == nil {
		return nil, hangar.Errorf(hangar.ENOTIMPLEMENTED, "approvals are not enabled on this server")
	}
	return s.Approvals, nil
}

// approvalRequestBody is the body of a request for approval.
type approvalRequestBody struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Alias   string `json:"alias"`
	Comment string `json:"comment,omitempty"`
	// ExpiresIn is a Go duration ("72h"); empty for the default.
	ExpiresIn string `json:"expires_in,omitempty"`
}

// decisionBody is the body of an approval or a rejection.
type decisionBody struct {
	Comment string `json:"comment"`
}

// checkAliasUnprotected refuses to move or delete alias directly when the
// workspace protects it: the hook of the MLflow alias routes. An alias
// the registry would refuse anyway (EINVALID) is left to it, so that its
// MLflow error is the one the client gets.
func (s *Server) checkAliasUnprotected(ctx context.Context, ws, name, alias string) error {
	if s.Approvals == nil {
		return nil
	}
	_, err := s.Approvals.ProtectedAlias(ctx, ws, alias)
	switch hangar.ErrorCode(err) {
	case "":
		return hangar.ProtectedAliasError(ws, name, alias)
	case hangar.ENOTFOUND, hangar.EINVALID:
		return nil
	}
	return err
}

func (s *Server) listProtectedAliases(w http.ResponseWriter, r *http.Request, c *caller) error {
	svc, err := s.approvalService()
	if err != nil {
		return err
	}
	return servePage(w, r, c.workspace, svc.ListProtectedAliases)
}

func (s *Server) getProtectedAlias(w http.ResponseWriter, r *http.Request, c *caller) error {
	svc, err := s.approvalService()
	if err != nil {
		return err
	}
	p, err := svc.ProtectedAlias(r.Context(), c.workspace, r.PathValue("alias"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, p)
}

func (s *Server) protectAlias(w http.ResponseWriter, r *http.Request, c *caller) error {
	svc, err := s.approvalService()
	if err != nil {
		return err
	}
	p, err := svc.ProtectAlias(r.Context(), c.workspace, r.PathValue("alias"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, p)
}

func (s *Server) unprotectAlias(w http.ResponseWriter, r *http.Request, c *caller) error {
	svc, err := s.approvalService()
	if err != nil {
		return err
	}
	if err := svc.UnprotectAlias(r.Context(), c.workspace, r.PathValue("alias")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) requestApproval(w http.ResponseWriter, r *http.Request, c *caller) error {
	svc, err := s.approvalService()
	if err != nil {
		return err
	}
	var b approvalRequestBody
	if err := s.decodeBody(w, r, &b); err != nil {
		return err
	}
	n := hangar.NewApprovalRequest{Workspace: c.workspace, Name: b.Name, Version: b.Version, Alias: b.Alias, Comment: b.Comment}
	if b.ExpiresIn != "" {
		d, err := time.ParseDuration(b.ExpiresIn)
		if err != nil {
			return hangar.Errorf(hangar.EINVALID, "expires_in %q is not a duration such as 72h or 30m", truncate(b.ExpiresIn, 32))
		}
		if d == 0 {
			return hangar.Errorf(hangar.EINVALID, "expires_in must be positive; leave it out for the default %s", hangar.DefaultApprovalExpiry)
		}
		n.ExpiresIn = d
	}
	req, err := svc.RequestApproval(r.Context(), n)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, req)
}

func (s *Server) listApprovals(w http.ResponseWriter, r *http.Request, c *caller) error {
	svc, err := s.approvalService()
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := hangar.ApprovalFilter{Name: q.Get("name"), Status: q.Get("status")}
	return servePage(w, r, f, func(ctx context.Context, f hangar.ApprovalFilter, opt hangar.ListOptions) (*hangar.Page[*hangar.ApprovalRequest], error) {
		return svc.ListApprovalRequests(ctx, c.workspace, f, opt)
	})
}

func (s *Server) getApproval(w http.ResponseWriter, r *http.Request, c *caller) error {
	svc, err := s.approvalService()
	if err != nil {
		return err
	}
	req, err := svc.ApprovalRequest(r.Context(), c.workspace, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, req)
}

func (s *Server) approveApproval(w http.ResponseWriter, r *http.Request, c *caller) error {
	return s.decideApproval(w, r, c, true)
}

func (s *Server) rejectApproval(w http.ResponseWriter, r *http.Request, c *caller) error {
	return s.decideApproval(w, r, c, false)
}

func (s *Server) decideApproval(w http.ResponseWriter, r *http.Request, c *caller, approve bool) error {
	svc, err := s.approvalService()
	if err != nil {
		return err
	}
	var b decisionBody
	if err := s.decodeBody(w, r, &b); err != nil {
		return err
	}
	req, err := svc.DecideApproval(r.Context(), c.workspace, r.PathValue("id"), approve, b.Comment)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, req)
}

// The client's approval methods implement hangar.ApprovalService.
var _ hangar.ApprovalService = (*Client)(nil)

// ProtectAlias protects an alias name in a workspace.
func (c *Client) ProtectAlias(ctx context.Context, ws, alias string) (*hangar.ProtectedAlias, error) {
	var out hangar.ProtectedAlias
	if err := c.call(ctx, http.MethodPut, pathf("/api/v1/workspaces/%s/protected-aliases/%s", ws, alias), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UnprotectAlias lifts the protection of an alias name.
func (c *Client) UnprotectAlias(ctx context.Context, ws, alias string) error {
	return c.call(ctx, http.MethodDelete, pathf("/api/v1/workspaces/%s/protected-aliases/%s", ws, alias), nil, nil, nil)
}

// ProtectedAlias returns the protection of an alias name; ENOTFOUND when
// it is not protected.
func (c *Client) ProtectedAlias(ctx context.Context, ws, alias string) (*hangar.ProtectedAlias, error) {
	var out hangar.ProtectedAlias
	if err := c.call(ctx, http.MethodGet, pathf("/api/v1/workspaces/%s/protected-aliases/%s", ws, alias), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListProtectedAliases lists a workspace's protected alias names.
func (c *Client) ListProtectedAliases(ctx context.Context, ws string, opt hangar.ListOptions) (*hangar.Page[*hangar.ProtectedAlias], error) {
	return listPage[*hangar.ProtectedAlias](ctx, c, pathf("/api/v1/workspaces/%s/protected-aliases", ws), nil, opt)
}

// RequestApproval asks for an alias move; the caller is the requester.
func (c *Client) RequestApproval(ctx context.Context, n hangar.NewApprovalRequest) (*hangar.ApprovalRequest, error) {
	b := approvalRequestBody{Name: n.Name, Version: n.Version, Alias: n.Alias, Comment: n.Comment}
	if n.ExpiresIn != 0 {
		b.ExpiresIn = n.ExpiresIn.String()
	}
	var out hangar.ApprovalRequest
	if err := c.call(ctx, http.MethodPost, pathf("/api/v1/workspaces/%s/approvals", n.Workspace), nil, b, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ApprovalRequest returns one approval request.
func (c *Client) ApprovalRequest(ctx context.Context, ws, id string) (*hangar.ApprovalRequest, error) {
	var out hangar.ApprovalRequest
	if err := c.call(ctx, http.MethodGet, pathf("/api/v1/workspaces/%s/approvals/%s", ws, id), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListApprovalRequests lists approval requests, newest first.
func (c *Client) ListApprovalRequests(ctx context.Context, ws string, f hangar.ApprovalFilter, opt hangar.ListOptions) (*hangar.Page[*hangar.ApprovalRequest], error) {
	q := url.Values{}
	if f.Name != "" {
		q.Set("name", f.Name)
	}
	if f.Status != "" {
		q.Set("status", f.Status)
	}
	return listPage[*hangar.ApprovalRequest](ctx, c, pathf("/api/v1/workspaces/%s/approvals", ws), q, opt)
}

// DecideApproval approves or rejects an approval request with a comment.
func (c *Client) DecideApproval(ctx context.Context, ws, id string, approve bool, comment string) (*hangar.ApprovalRequest, error) {
	verb := "reject"
	if approve {
		verb = "approve"
	}
	var out hangar.ApprovalRequest
	if err := c.call(ctx, http.MethodPost, pathf("/api/v1/workspaces/%s/approvals/%s/"+verb, ws, id), nil, decisionBody{Comment: comment}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
