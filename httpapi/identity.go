package httpapi

import (
	"context"
	"net/http"
	"net/url"
	"slices"

	"github.com/hangar-ml/hangar"
)

// Identities, tokens and roles are server-wide: they are not owned by a
// workspace. Tokens are scoped when they are minted, so a token scoped to
// a workspace is that workspace's: its tokens/read, tokens/write and
// tokens/delete list, mint, rotate and revoke it, whatever roles its
// identity holds elsewhere.
//
// Visibility. A caller with identities/read server-wide may know of every
// identity. Any other caller may know only of the identities that hold a
// role on a workspace where it holds identities/read — those it could find
// in that workspace's role assignments anyway. Routes that take an identity
// name answer such a caller alike for an identity it may not see and for
// one that does not exist, so that names cannot be enumerated; only that a
// name is taken can be learnt, by trying to create it.

// identityRequest is the body of POST /api/v1/identities.
type identityRequest struct {
	Name string              `json:"name"`
	Kind hangar.IdentityKind `json:"kind"`
}

func (s *Server) listIdentities(w http.ResponseWriter, r *http.Request, _ *caller) error {
	return servePage(w, r, struct{}{}, unfiltered(s.Identities.ListIdentities))
}

// createIdentity creates a user or service principal without roles; its
// route takes identities/write server-wide. Workload identities belong to
// the jobs and deployments the server runs, which create them.
func (s *Server) createIdentity(w http.ResponseWriter, r *http.Request, _ *caller) error {
	var req identityRequest
	if err := s.decodeBody(w, r, &req); err != nil {
		return err
	}
	switch req.Kind {
	case hangar.KindUser, hangar.KindServicePrincipal:
	case hangar.KindWorkload:
		return hangar.Errorf(hangar.EINVALID, "identity kind %s belongs to the jobs and deployments the server runs: create a %s or a %s",
			req.Kind, hangar.KindUser, hangar.KindServicePrincipal)
	default:
		return hangar.Errorf(hangar.EINVALID, "invalid identity kind %q: use %s or %s", req.Kind, hangar.KindUser, hangar.KindServicePrincipal)
	}
	id := &hangar.Identity{Name: req.Name, Kind: req.Kind}
	if err := s.Identities.CreateIdentity(r.Context(), id); err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, id)
}

// getIdentity returns an identity the caller may see (its route lets
// callers with identities/read somewhere through), and 404 alike for one
// it may not see and one that does not exist.
func (s *Server) getIdentity(w http.ResponseWriter, r *http.Request, c *caller) error {
	name := r.PathValue("name")
	id, visible, err := s.lookupVisible(r.Context(), c.principal, name)
	if err != nil {
		return err
	}
	if id == nil || !visible {
		return hangar.Errorf(hangar.ENOTFOUND, "identity %q not found", name)
	}
	return writeJSON(w, http.StatusOK, id)
}

// lookupVisible returns the identity with the name (nil when there is none)
// and whether p may know of it (see Visibility above).
func (s *Server) lookupVisible(ctx context.Context, p *principal, name string) (*hangar.Identity, bool, error) {
	if err := hangar.ValidateName("identity", name); err != nil {
		return nil, false, err
	}
	id, err := s.Identities.IdentityByName(ctx, name)
	if hangar.IsCode(err, hangar.ENOTFOUND) {
		return nil, false, nil
	} else if err != nil {
		return nil, false, err
	}
	if p.can("", hangar.ActIdentityRead) {
		return id, true, nil
	}
	held, err := s.Credentials.RoleAssignmentsOf(ctx, id.ID)
	if err != nil {
		return nil, false, err
	}
	visible := slices.ContainsFunc(held, func(a *hangar.RoleAssignment) bool {
		return a.Workspace != "" && p.can(a.Workspace, hangar.ActIdentityRead)
	})
	return id, visible, nil
}

// requireVisible refuses, for a caller without identities/read server-wide,
// an identity it may not see with the same 404 as a missing one: "identity
// X holds no role on workspace W", W being the workspace the request is
// about. Callers with the right get nil and the store's precise answers.
func (s *Server) requireVisible(ctx context.Context, p *principal, name, workspace string) error {
	if p.can("", hangar.ActIdentityRead) {
		return nil
	}
	id, visible, err := s.lookupVisible(ctx, p, name)
	if err != nil {
		return err
	}
	if id != nil && visible {
		return nil
	}
	if workspace == "" {
		return hangar.Errorf(hangar.ENOTFOUND, "identity %q not found", name)
	}
	return hangar.Errorf(hangar.ENOTFOUND, "identity %q holds no role on workspace %s", name, workspace)
}

// issueToken creates a token scoped to the request's workspace ("" =
// server-wide), and the identity and role assignment it names when
// missing. Its route lets only callers with tokens/write somewhere through;
// it needs tokens/write on the request's scope, so only a caller with
// tokens/write server-wide mints a server-wide token. A token scoped to a
// workspace acts only there, so that workspace's token writer may mint it
// for any identity it may see; the store then refuses unless the token
// would carry exactly the requested role (a rotation). An existing identity
// the caller may not see is refused as a name that is taken, saying
// nothing about it: that the name is taken cannot be hidden from whoever
// tries to create it.
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
	if !p.can("", hangar.ActIdentityRead) {
		id, visible, err := s.lookupVisible(ctx, p, req.Name)
		if err != nil {
			return err
		}
		if id != nil && !visible {
			return hangar.Errorf(hangar.ECONFLICT, "identity name %q is taken: choose another name", req.Name)
		}
	}
	tok, err := s.Identities.IssueToken(ctx, &req)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, tok)
}

// listTokens lists the tokens of the ?workspace= filter, on which its route
// authorized tokens/read (server-wide without one): those scoped to it.
func (s *Server) listTokens(w http.ResponseWriter, r *http.Request, c *caller) error {
	f := hangar.TokenFilter{Workspace: c.workspace}
	if f.Workspace != "" {
		if err := hangar.ValidateWorkspaceName(f.Workspace); err != nil {
			return err
		}
	}
	return servePage(w, r, f, s.Identities.ListTokens)
}

// tokenInScope returns the token with the id when the caller may act on it
// with action: server-wide, or on the workspace the token is scoped to. A
// caller without the server-wide right gets 403 alike for a missing token
// and for one outside its workspaces: whether a token exists is not its
// business.
func (s *Server) tokenInScope(ctx context.Context, p *principal, id, action string) (*hangar.Token, error) {
	if p.can("", action) {
		return s.Identities.Token(ctx, id)
	}
	tok, err := s.Identities.Token(ctx, id)
	switch {
	case hangar.IsCode(err, hangar.ENOTFOUND), hangar.IsCode(err, hangar.EINVALID):
		return nil, forbidden(p, "", action)
	case err != nil:
		return nil, err
	case !p.can(tok.Workspace, action):
		// A server-wide token has Workspace "", which the caller lacks.
		return nil, forbidden(p, "", action)
	}
	return tok, nil
}

// getToken returns a token (never its secret) to callers with tokens/read
// server-wide or on its workspace.
func (s *Server) getToken(w http.ResponseWriter, r *http.Request, c *caller) error {
	tok, err := s.tokenInScope(r.Context(), c.principal, r.PathValue("id"), hangar.ActTokenRead)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, tok)
}

// revokeToken needs tokens/delete server-wide, or on the workspace the
// token is scoped to (its route lets only callers with tokens/delete
// somewhere through).
func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request, c *caller) error {
	ctx := r.Context()
	id := r.PathValue("id")
	if !c.can("", hangar.ActTokenDelete) {
		if _, err := s.tokenInScope(ctx, c.principal, id, hangar.ActTokenDelete); err != nil {
			return err
		}
	}
	if err := s.Identities.RevokeToken(ctx, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// CreateIdentity creates a user or service principal without roles (it
// needs identities/write server-wide) and fills in the fields the server
// sets.
func (c *Client) CreateIdentity(ctx context.Context, id *hangar.Identity) error {
	return c.call(ctx, http.MethodPost, "/api/v1/identities", nil, identityRequest{Name: id.Name, Kind: id.Kind}, id)
}

// IdentityByName returns an identity the caller may see: any with
// identities/read server-wide, otherwise one that holds a role on a
// workspace where the caller holds identities/read.
func (c *Client) IdentityByName(ctx context.Context, name string) (*hangar.Identity, error) {
	var id hangar.Identity
	if err := c.call(ctx, http.MethodGet, pathf("/api/v1/identities/%s", name), nil, nil, &id); err != nil {
		return nil, err
	}
	return &id, nil
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

// Token returns a token by id, never its secret. It needs tokens/read
// server-wide or on the workspace the token is scoped to.
func (c *Client) Token(ctx context.Context, id string) (*hangar.Token, error) {
	var tok hangar.Token
	if err := c.call(ctx, http.MethodGet, pathf("/api/v1/tokens/%s", id), nil, nil, &tok); err != nil {
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
// the workspace the token is scoped to.
func (c *Client) RevokeToken(ctx context.Context, id string) error {
	return c.call(ctx, http.MethodDelete, pathf("/api/v1/tokens/%s", id), nil, nil, nil)
}
