package httpapi

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/hangar-ml/hangar"
)

// listEvents lists the events of the ?workspace= filter, on which its route
// authorized audit/read (server-wide without one).
func (s *Server) listEvents(w http.ResponseWriter, r *http.Request, c *caller) error {
	// A reader of the whole log sees every workspace that had the name.
	return s.serveEvents(w, r, c.workspace, c.principal != nil && c.can("", hangar.ActAuditRead))
}

// listWorkspaceEvents lists the events of the path's workspace.
func (s *Server) listWorkspaceEvents(w http.ResponseWriter, r *http.Request, c *caller) error {
	if q := r.URL.Query(); q.Has("workspace") && q.Get("workspace") != c.workspace {
		return hangar.Errorf(hangar.EINVALID, "workspace=%q conflicts with the workspace %q of the path", truncate(q.Get("workspace"), 64), c.workspace)
	}
	return s.serveEvents(w, r, c.workspace, false)
}

func (s *Server) serveEvents(w http.ResponseWriter, r *http.Request, ws string, all bool) error {
	q := r.URL.Query()
	since, err := timeParam(q, "since")
	if err != nil {
		return err
	}
	f := hangar.EventFilter{Since: since, Target: q.Get("target"), Workspace: ws, AllIncarnations: all}
	return servePage(w, r, f, s.Audit.ListEvents)
}

// verifyAudit verifies the chain, and against the checkpoint in the body
// when there is one.
func (s *Server) verifyAudit(w http.ResponseWriter, r *http.Request, _ *caller) error {
	var cp *hangar.AuditCheckpoint
	if r.ContentLength != 0 {
		cp = new(hangar.AuditCheckpoint)
		if err := s.decodeBody(w, r, cp); err != nil {
			return err
		}
	}
	v, err := s.Audit.VerifyAuditCheckpoint(r.Context(), cp)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

// auditCheckpoint answers the signed chain head.
func (s *Server) auditCheckpoint(w http.ResponseWriter, r *http.Request, _ *caller) error {
	cp, err := s.Audit.Checkpoint(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, cp)
}

// Checkpoint fetches a signed checkpoint of the audit chain head, to keep
// outside the server.
func (c *Client) Checkpoint(ctx context.Context) (*hangar.AuditCheckpoint, error) {
	var cp hangar.AuditCheckpoint
	if err := c.call(ctx, http.MethodGet, "/api/v1/audit/checkpoint", nil, nil, &cp); err != nil {
		return nil, err
	}
	return &cp, nil
}

// VerifyAuditCheckpoint has the server walk the audit chain and check it
// against cp (nil: the chain alone).
func (c *Client) VerifyAuditCheckpoint(ctx context.Context, cp *hangar.AuditCheckpoint) (*hangar.AuditVerification, error) {
	var in any
	if cp != nil {
		in = cp
	}
	var v hangar.AuditVerification
	if err := c.call(ctx, http.MethodPost, "/api/v1/audit/verify", nil, in, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// ListEvents lists audit events in sequence order. With f.Workspace set it
// needs only that workspace's audit/read.
func (c *Client) ListEvents(ctx context.Context, f hangar.EventFilter, opt hangar.ListOptions) (*hangar.Page[*hangar.Event], error) {
	q := url.Values{}
	if !f.Since.IsZero() {
		q.Set("since", f.Since.UTC().Format(time.RFC3339Nano))
	}
	if f.Target != "" {
		q.Set("target", f.Target)
	}
	if f.Workspace != "" {
		q.Set("workspace", f.Workspace)
	}
	return listPage[*hangar.Event](ctx, c, "/api/v1/audit", q, opt)
}

// VerifyAudit has the server walk the audit chain.
func (c *Client) VerifyAudit(ctx context.Context) (*hangar.AuditVerification, error) {
	var v hangar.AuditVerification
	if err := c.call(ctx, http.MethodPost, "/api/v1/audit/verify", nil, nil, &v); err != nil {
		return nil, err
	}
	return &v, nil
}
