package httpapi

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/hangar-ml/hangar"
)

// listEvents needs server-wide audit/read, or the workspace's audit/read
// with ?workspace=.
func (s *Server) listEvents(w http.ResponseWriter, r *http.Request, p *principal) error {
	q := r.URL.Query()
	ws := q.Get("workspace")
	if err := p.require(ws, hangar.ActAuditRead); err != nil {
		return err
	}
	return s.writeEvents(w, r, ws)
}

func (s *Server) listWorkspaceEvents(w http.ResponseWriter, r *http.Request, p *principal) error {
	ws, err := s.workspaceScope(r, p, hangar.ActAuditRead)
	if err != nil {
		return err
	}
	if q := r.URL.Query(); q.Has("workspace") && q.Get("workspace") != ws {
		return hangar.Errorf(hangar.EINVALID, "workspace=%q conflicts with the workspace %q of the path", truncate(q.Get("workspace"), 64), ws)
	}
	return s.writeEvents(w, r, ws)
}

func (s *Server) writeEvents(w http.ResponseWriter, r *http.Request, ws string) error {
	q := r.URL.Query()
	opt, err := listOptions(q)
	if err != nil {
		return err
	}
	since, err := timeParam(q, "since")
	if err != nil {
		return err
	}
	f := hangar.EventFilter{Since: since, Target: q.Get("target"), Workspace: ws}
	page, err := s.Audit.ListEvents(r.Context(), f, opt)
	if err != nil {
		return err
	}
	return writePage(w, page)
}

func (s *Server) verifyAudit(w http.ResponseWriter, r *http.Request, p *principal) error {
	if err := p.require("", hangar.ActAuditRead); err != nil {
		return err
	}
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
	var page hangar.Page[*hangar.Event]
	if err := c.call(ctx, http.MethodGet, "/api/v1/audit", listQuery(q, opt), nil, &page); err != nil {
		return nil, err
	}
	return &page, nil
}

// VerifyAudit has the server walk the audit chain.
func (c *Client) VerifyAudit(ctx context.Context) (*hangar.AuditVerification, error) {
	var v hangar.AuditVerification
	if err := c.call(ctx, http.MethodPost, "/api/v1/audit/verify", nil, nil, &v); err != nil {
		return nil, err
	}
	return &v, nil
}
