package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/hangar-ml/hangar"
)

// Identities, tokens and roles are server-wide: they are not owned by a
// workspace, so reading and revoking them needs a server-wide assignment —
// except the tokens that belong to one workspace (every assignment of their
// identity is on it), which that workspace's tokens/read and tokens/delete
// list and revoke.

func (s *Server) listIdentities(w http.ResponseWriter, r *http.Request, _ *caller) error {
	return servePage(w, r, struct{}{}, unfiltered(s.Identities.ListIdentities))
}

// issueToken creates a token, and the identity and role assignment it names
// when missing. Its route lets only callers with tokens/write somewhere
// through; it needs tokens/write on the request's workspace scope, and,
// when the identity exists already, on the scope of each of its assignments:
// otherwise an Owner of one workspace could mint a token for a server-wide
// Owner. The store refuses a token for an existing identity unless it is a
// rotation (its assignments are exactly the requested role and scope); the
// check here comes first so that a caller without tokens/write on the
// identity's scopes gets 403 and does not learn the identity's roles from the
// store's 409.
func (s *Server) issueToken(w http.ResponseWriter, r *http.Request, c *caller) error {
	p := c.principal
	var req hangar.TokenRequest
	if err := s.decodeBody(w, r, &req); err != nil {
		return err
	}
	if err := p.require(req.Workspace, hangar.ActTokenWrite); err != nil {
		return err
	}
	if err := req.Validate(s.Now()); err != nil {
		return err
	}
	role, _ := hangar.LookupRole(req.Role) // validated above
	req.Role = role.Name
	ctx := r.Context()
	id, err := s.Identities.IdentityByName(ctx, req.Name)
	switch {
	case hangar.IsCode(err, hangar.ENOTFOUND):
	case err != nil:
		return err
	default:
		held, err := s.Roles.RoleAssignmentsOf(ctx, id.ID)
		if err != nil {
			return err
		}
		if len(held) == 0 {
			// An identity without roles is bound to no workspace (it may
			// hold secret grants anywhere): only a server-wide token
			// writer may give it its first token.
			if !p.can("", hangar.ActTokenWrite) {
				return hangar.Errorf(hangar.EFORBIDDEN, "identity %s lacks %s server-wide, which identity %s, holding no role, needs",
					p.name, hangar.ActTokenWrite, req.Name)
			}
		}
		for _, a := range held {
			if !p.can(a.Workspace, hangar.ActTokenWrite) {
				scope := "server-wide"
				if a.Workspace != "" {
					scope = "on workspace " + a.Workspace
				}
				return hangar.Errorf(hangar.EFORBIDDEN, "identity %s lacks %s for identity %s, which holds %s %s",
					p.name, hangar.ActTokenWrite, req.Name, a.Role, scope)
			}
		}
	}
	secret, hash, prefix, err := hangar.NewTokenSecret()
	if err != nil {
		return fmt.Errorf("issue token: %w", err)
	}
	tok, err := s.Identities.CreateToken(ctx, &req, hash, prefix)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, &hangar.IssuedToken{Token: *tok, Secret: secret})
}

// listTokens lists the tokens of the ?workspace= filter, on which its route
// authorized tokens/read (server-wide without one): those whose identity's
// assignments are all on the workspace.
func (s *Server) listTokens(w http.ResponseWriter, r *http.Request, c *caller) error {
	f := hangar.TokenFilter{Workspace: c.workspace}
	if f.Workspace != "" {
		if err := hangar.ValidateWorkspaceName(f.Workspace); err != nil {
			return err
		}
	}
	return servePage(w, r, f, s.Identities.ListTokens)
}

// revokeToken needs tokens/delete server-wide, or on the one workspace the
// token belongs to (its route lets only callers with tokens/delete
// somewhere through). A caller without the server-wide right gets 403 alike
// for a missing token and for one outside its workspaces: whether a token
// exists is not its business.
func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request, c *caller) error {
	p := c.principal
	id := r.PathValue("id")
	ctx := r.Context()
	if !p.can("", hangar.ActTokenDelete) {
		tok, err := s.Identities.Token(ctx, id)
		switch {
		case hangar.IsCode(err, hangar.ENOTFOUND), hangar.IsCode(err, hangar.EINVALID):
			return forbidden(p, "", hangar.ActTokenDelete)
		case err != nil:
			return err
		case !p.can(tok.Workspace, hangar.ActTokenDelete):
			// A token of no single workspace has Workspace "", which
			// the caller lacks: it was checked above.
			return forbidden(p, "", hangar.ActTokenDelete)
		}
	}
	if err := s.Identities.RevokeToken(ctx, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// ListIdentities lists identities by name.
func (c *Client) ListIdentities(ctx context.Context, opt hangar.ListOptions) (*hangar.Page[*hangar.Identity], error) {
	return listPage[*hangar.Identity](ctx, c, "/api/v1/identities", nil, opt)
}

// IssueToken creates a token (and its identity and role assignment when
// missing). The result carries the secret: the only time it is shown.
func (c *Client) IssueToken(ctx context.Context, r *hangar.TokenRequest) (*hangar.IssuedToken, error) {
	var tok hangar.IssuedToken
	if err := c.call(ctx, http.MethodPost, "/api/v1/tokens", nil, r, &tok); err != nil {
		return nil, err
	}
	return &tok, nil
}

// ListTokens lists the tokens that match f, newest first, revoked ones
// included. With f.Workspace set it needs only that workspace's tokens/read.
func (c *Client) ListTokens(ctx context.Context, f hangar.TokenFilter, opt hangar.ListOptions) (*hangar.Page[*hangar.Token], error) {
	q := url.Values{}
	if f.Workspace != "" {
		q.Set("workspace", f.Workspace)
	}
	return listPage[*hangar.Token](ctx, c, "/api/v1/tokens", q, opt)
}

// RevokeToken revokes a token by id. It needs tokens/delete server-wide or on
// the one workspace the token belongs to.
func (c *Client) RevokeToken(ctx context.Context, id string) error {
	return c.call(ctx, http.MethodDelete, pathf("/api/v1/tokens/%s", id), nil, nil, nil)
}
