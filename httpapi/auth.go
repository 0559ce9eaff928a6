package httpapi

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"

	"github.com/hangar-ml/hangar"
)

// principal is the authenticated caller of a request.
type principal struct {
	id          string
	name        string
	assignments []*hangar.RoleAssignment
}

// localPrincipal is who acts when authentication is disabled.
var localPrincipal = principal{
	id:          "local",
	name:        "local",
	assignments: []*hangar.RoleAssignment{{ID: "local", IdentityID: "local", IdentityName: "local", Role: hangar.RoleOwner}},
}

// authenticate finds the caller from the Authorization header and loads its
// role assignments.
func (s *Server) authenticate(r *http.Request) (*principal, error) {
	if s.AuthDisabled {
		p := localPrincipal
		return &p, nil
	}
	secret, err := credential(r.Header.Get("Authorization"))
	if err != nil {
		return nil, err
	}
	if !hangar.LooksLikeTokenSecret(secret) {
		return nil, hangar.Errorf(hangar.EUNAUTHORIZED, "invalid token")
	}
	ctx := r.Context()
	tok, err := s.Identities.TokenBySecretHash(ctx, hangar.HashTokenSecret(secret))
	if hangar.IsCode(err, hangar.ENOTFOUND) {
		return nil, hangar.Errorf(hangar.EUNAUTHORIZED, "invalid token")
	} else if err != nil {
		return nil, fmt.Errorf("authenticate: look up token: %w", err)
	}
	now := s.Now()
	switch {
	case tok.RevokedAt != nil:
		return nil, hangar.Errorf(hangar.EUNAUTHORIZED, "token revoked")
	case !tok.Active(now):
		return nil, hangar.Errorf(hangar.EUNAUTHORIZED, "token expired")
	}
	asg, err := s.Roles.RoleAssignmentsOf(ctx, tok.IdentityID)
	if err != nil {
		return nil, fmt.Errorf("authenticate: role assignments of %s: %w", tok.IdentityName, err)
	}
	return &principal{id: tok.IdentityID, name: tok.IdentityName, assignments: asg}, nil
}

// credential extracts the token secret from an Authorization header:
// "Bearer <token>", or HTTP Basic with the token as the password, which is
// what MLflow clients send when MLFLOW_TRACKING_USERNAME/PASSWORD are set.
func credential(header string) (string, error) {
	if header == "" {
		return "", hangar.Errorf(hangar.EUNAUTHORIZED, "missing bearer token")
	}
	scheme, rest, _ := strings.Cut(header, " ")
	rest = strings.TrimSpace(rest)
	switch {
	case strings.EqualFold(scheme, "Bearer") && rest != "":
		return rest, nil
	case strings.EqualFold(scheme, "Basic") && rest != "":
		b, err := base64.StdEncoding.DecodeString(rest)
		if err != nil {
			return "", hangar.Errorf(hangar.EUNAUTHORIZED, "invalid token")
		}
		_, password, ok := strings.Cut(string(b), ":")
		if !ok || password == "" {
			return "", hangar.Errorf(hangar.EUNAUTHORIZED, "invalid token")
		}
		return password, nil
	}
	return "", hangar.Errorf(hangar.EUNAUTHORIZED, "invalid token")
}

// can reports whether the caller may perform action on workspace ("" for
// server-wide).
func (p *principal) can(workspace, action string) bool {
	return hangar.Authorize(p.assignments, workspace, action)
}

// require returns EFORBIDDEN naming the action and scope unless the caller
// may perform action on workspace ("" for server-wide).
func (p *principal) require(workspace, action string) error {
	if p.can(workspace, action) {
		return nil
	}
	return forbidden(p, workspace, action)
}

func forbidden(p *principal, workspace, action string) error {
	if workspace == "" {
		return hangar.Errorf(hangar.EFORBIDDEN, "identity %s lacks %s server-wide", p.name, action)
	}
	return hangar.Errorf(hangar.EFORBIDDEN, "identity %s lacks %s on workspace %s", p.name, action, workspace)
}

// workspaceScope authorizes action on the {ws} of the route and then checks
// that the workspace exists, in that order, so that callers without access
// learn nothing about which workspaces exist.
func (s *Server) workspaceScope(r *http.Request, p *principal, action string) (string, error) {
	ws := r.PathValue("ws")
	if err := p.require(ws, action); err != nil {
		return "", err
	}
	if _, err := s.Workspaces.Workspace(r.Context(), ws); err != nil {
		return "", err
	}
	return ws, nil
}
