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
	return s.serveEvents(w, r, c.workspace)
}

// listWorkspaceEvents lists the events of the path's workspace.
func (s *Server) listWorkspaceEvents(w http.ResponseWriter, r *http.Request, c *caller) error {
	if q := r.URL.Query(); q.Has("workspace") && q.Get("workspace") != c.workspace {
		return hangar.Errorf(hangar.EINVALID, "workspace=%q conflicts with the workspace %q of the path", truncate(q.Get("workspace"), 64), c.workspace)
	}
	return s.serveEvents(w, r, c.workspace)
}

func (s *Server) serveEvents(w http.ResponseWriter, r *http.Request, ws string) error {
	q := r.URL.Query()
	since, err := timeParam(q, "since")
	if err != nil {
		return err
	}
	f := hangar.EventFilter{Since: since, Target: q.Get("target"), Workspace: ws}
	return servePage(w, r, f, s.Audit.ListEvents)
}

func (s *Server) verifyAudit(w http.ResponseWriter, r *http.Request, _ *caller) error {
	v, err := s.Audit.VerifyAudit(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
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
