package httpapi

import (
	"context"
	"net/http"
	"slices"

	"github.com/hangar-ml/hangar"
)

// secretValue is the body of PUT …/secrets/{name}. Its value is never
// logged nor quoted in an error.
type secretValue struct {
	Value string `json:"value"`
}

// revealedSecret is the answer of POST …/secrets/{name}/reveal.
type revealedSecret struct {
	Name    string `json:"name"`
	Value   string `json:"value"`
	Version int    `json:"version"`
}

func (s *Server) listSecrets(w http.ResponseWriter, r *http.Request, c *caller) error {
	return servePage(w, r, c.workspace, s.Secrets.ListSecrets)
}

func (s *Server) getSecret(w http.ResponseWriter, r *http.Request, c *caller) error {
	sec, err := s.Secrets.Secret(r.Context(), c.workspace, r.PathValue("name"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, sec)
}

func (s *Server) setSecret(w http.ResponseWriter, r *http.Request, c *caller) error {
	name := r.PathValue("name")
	if err := hangar.ValidateSecretName(name); err != nil {
		return err
	}
	var body secretValue
	if err := s.decodeBody(w, r, &body); err != nil {
		return err
	}
	value := []byte(body.Value)
	if err := hangar.ValidateSecretValue(value); err != nil {
		return err
	}
	sec, err := s.Secrets.SetSecret(r.Context(), c.workspace, name, value)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, sec)
}

func (s *Server) deleteSecret(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := s.Secrets.DeleteSecret(r.Context(), c.workspace, r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// revealSecret returns the value to callers with secrets/reveal on the
// workspace (Owner) and to identities the secret is granted to that hold
// secrets/read there. Its route lets only callers with secrets/read
// somewhere through. A refusal says which of the two a grantee lacks: the
// grant, or secrets/read (roles change after a grant; a token scoped to
// another workspace has none there). Whether the secret exists is told to
// no caller that holds neither the action nor a grant of it.
func (s *Server) revealSecret(w http.ResponseWriter, r *http.Request, c *caller) error {
	ctx := r.Context()
	ws, name := r.PathValue("ws"), r.PathValue("name")
	if !c.can(ws, hangar.ActSecretReveal) {
		sec, err := s.Secrets.Secret(ctx, ws, name)
		if err != nil && !hangar.IsCode(err, hangar.ENOTFOUND) {
			return err
		}
		// Grants are kept by identity name; a grant counts only with
		// secrets/read on the secret's workspace, which a token scoped
		// elsewhere never has.
		switch {
		case sec == nil || !slices.Contains(sec.Grants, c.name):
			return hangar.Errorf(hangar.EFORBIDDEN, "identity %s lacks %s on workspace %s and holds no grant of secret %s%s",
				c.name, hangar.ActSecretReveal, ws, name, c.scopeNote(ws))
		case !c.can(ws, hangar.ActSecretRead):
			return hangar.Errorf(hangar.EFORBIDDEN, "identity %s holds a grant of secret %s but lacks %s on workspace %s, which revealing by grant also takes%s",
				c.name, name, hangar.ActSecretRead, ws, c.scopeNote(ws))
		}
	} else if _, err := s.Workspaces.Workspace(ctx, ws); err != nil {
		return err
	}
	sec, err := s.Secrets.Secret(ctx, ws, name)
	if err != nil {
		return err
	}
	value, err := s.Secrets.RevealSecret(ctx, ws, name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, revealedSecret{Name: name, Value: string(value), Version: sec.Version})
}

// requireGrantRight authorizes changing who may reveal a secret: besides
// secrets/write, which the route checked, it takes secrets/reveal on the
// workspace, because a grant hands out the power to read the value and
// callers may only hand out what they hold (otherwise a Contributor could
// grant a secret to itself and reveal it). Among the built-in roles only
// Owner has both.
func requireGrantRight(c *caller) error {
	return c.require(c.workspace, hangar.ActSecretReveal)
}

func (s *Server) grantSecret(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := requireGrantRight(c); err != nil {
		return err
	}
	identity := r.PathValue("identity")
	if err := hangar.ValidateName("identity", identity); err != nil {
		return err
	}
	// A grantee must hold secrets/read on the workspace (the store refuses
	// others, EINVALID); one the caller may not see is answered as a
	// missing one, so grants cannot enumerate names.
	if err := s.requireVisible(r.Context(), c.principal, identity, c.workspace); err != nil {
		return err
	}
	if err := s.Secrets.GrantSecret(r.Context(), c.workspace, r.PathValue("name"), identity); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) revokeSecretGrant(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := requireGrantRight(c); err != nil {
		return err
	}
	if err := s.Secrets.RevokeSecretGrant(r.Context(), c.workspace, r.PathValue("name"), r.PathValue("identity")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// SetSecret creates or replaces a secret's value and returns its metadata.
func (c *Client) SetSecret(ctx context.Context, workspace, name string, value []byte) (*hangar.Secret, error) {
	var sec hangar.Secret
	err := c.call(ctx, http.MethodPut, pathf("/api/v1/workspaces/%s/secrets/%s", workspace, name), nil,
		secretValue{Value: string(value)}, &sec)
	if err != nil {
		return nil, err
	}
	return &sec, nil
}

// Secret returns a secret's metadata, never its value.
func (c *Client) Secret(ctx context.Context, workspace, name string) (*hangar.Secret, error) {
	var sec hangar.Secret
	if err := c.call(ctx, http.MethodGet, pathf("/api/v1/workspaces/%s/secrets/%s", workspace, name), nil, nil, &sec); err != nil {
		return nil, err
	}
	return &sec, nil
}

// ListSecrets lists a workspace's secrets by name.
func (c *Client) ListSecrets(ctx context.Context, workspace string, opt hangar.ListOptions) (*hangar.Page[*hangar.Secret], error) {
	return listPage[*hangar.Secret](ctx, c, pathf("/api/v1/workspaces/%s/secrets", workspace), nil, opt)
}

// DeleteSecret deletes a secret and its grants.
func (c *Client) DeleteSecret(ctx context.Context, workspace, name string) error {
	return c.call(ctx, http.MethodDelete, pathf("/api/v1/workspaces/%s/secrets/%s", workspace, name), nil, nil, nil)
}

// RevealSecret returns a secret's value; the server audits the reveal.
func (c *Client) RevealSecret(ctx context.Context, workspace, name string) ([]byte, error) {
	var rs revealedSecret
	err := c.call(ctx, http.MethodPost, pathf("/api/v1/workspaces/%s/secrets/%s/reveal", workspace, name), nil, nil, &rs)
	if err != nil {
		return nil, err
	}
	return []byte(rs.Value), nil
}

// GrantSecret lets the identity reveal the secret.
func (c *Client) GrantSecret(ctx context.Context, workspace, name, identityName string) error {
	return c.call(ctx, http.MethodPut, pathf("/api/v1/workspaces/%s/secrets/%s/grants/%s", workspace, name, identityName), nil, nil, nil)
}

// RevokeSecretGrant removes a grant.
func (c *Client) RevokeSecretGrant(ctx context.Context, workspace, name, identityName string) error {
	return c.call(ctx, http.MethodDelete, pathf("/api/v1/workspaces/%s/secrets/%s/grants/%s", workspace, name, identityName), nil, nil, nil)
}
