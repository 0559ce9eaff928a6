package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/hangar-ml/hangar"
)

// principal is the authenticated caller of a request.
type principal struct {
	id   string
	name string
	// scope is the workspace the caller's token is scoped to, "" for a
	// server-wide token.
	scope string
	// job is the job the token is the credential of (hangar.Token.Job),
	// "" for other tokens.
	job string
	// assignments are the identity's role assignments the token acts with:
	// narrowed to scope (hangar.ScopeAssignments).
	assignments []*hangar.RoleAssignment
	// gen is the authentication generation the principal was verified
	// under, when cached says the store reports one (authGenerations).
	gen    int64
	cached bool
}

// localPrincipal is who acts when authentication is disabled.
var localPrincipal = principal{
	id:          "local",
	name:        "local",
	assignments: []*hangar.RoleAssignment{{ID: "local", IdentityID: "local", IdentityName: "local", Role: hangar.RoleOwner}},
}

// authenticate finds the caller from the Authorization header and loads the
// role assignments its token acts with: for a token scoped to a workspace,
// only those that apply to it, narrowed to it, so that the token can never
// act elsewhere whatever roles its identity gains later.
//
// When the credential store reports an authentication generation
// (authGenerations), what was verified is cached under it (authCache):
// each request then costs one read of the generation, and any change of a
// token, identity, role assignment or workspace, by whichever process,
// drops the cache before the next request is answered.
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
	if s.Credentials == nil {
		return nil, errors.New("authenticate: Server.Credentials is not set")
	}
	ctx := r.Context()
	hash := hangar.HashTokenSecret(secret)
	gens, cached := s.Credentials.(authGenerations)
	var gen int64
	if cached {
		if gen, err = gens.AuthGeneration(ctx); err != nil {
			return nil, fmt.Errorf("authenticate: %w", err)
		}
		if v, ok := s.auth.token(gen, hash); ok {
			noteIdentity(r, v.tok.IdentityName)
			if !v.tok.Active(s.Now()) {
				return nil, hangar.Errorf(hangar.EUNAUTHORIZED, "token expired")
			}
			return &principal{id: v.tok.IdentityID, name: v.tok.IdentityName, scope: v.tok.Workspace, job: v.tok.Job, assignments: v.assignments, gen: gen, cached: true}, nil
		}
	}
	tok, err := s.Credentials.TokenBySecretHash(ctx, hash)
	if hangar.IsCode(err, hangar.ENOTFOUND) {
		return nil, hangar.Errorf(hangar.EUNAUTHORIZED, "invalid token")
	} else if err != nil {
		return nil, fmt.Errorf("authenticate: look up token: %w", err)
	}
	noteIdentity(r, tok.IdentityName) // a refusal from here on is counted against it
	now := s.Now()
	switch {
	case tok.RevokedAt != nil:
		return nil, hangar.Errorf(hangar.EUNAUTHORIZED, "token revoked")
	case !tok.Active(now):
		return nil, hangar.Errorf(hangar.EUNAUTHORIZED, "token expired")
	}
	asg, err := s.Credentials.RoleAssignmentsOf(ctx, tok.IdentityID)
	if err != nil {
		return nil, fmt.Errorf("authenticate: role assignments of %s: %w", tok.IdentityName, err)
	}
	p := &principal{id: tok.IdentityID, name: tok.IdentityName, scope: tok.Workspace, job: tok.Job, assignments: hangar.ScopeAssignments(asg, tok.Workspace), gen: gen, cached: cached}
	if cached {
		// Read after gen: if anything changed since, the generation moved
		// and the next request reads past this entry.
		s.auth.putToken(gen, hash, verifiedToken{tok: tok, assignments: p.assignments})
	}
	return p, nil
}

// authGenerations is what a credential or workspace store offers for the
// server to cache what it verified (sqlstore's services do): a counter that
// every change of a token, identity, role assignment or workspace advances,
// read in one cheap query. Server.Credentials and Server.Workspaces that
// both offer it must share one database, since one reading stands for both.
type authGenerations interface {
	AuthGeneration(ctx context.Context) (int64, error)
}

// maxCachedTokens and maxCachedWorkspaces bound the cache; when one is full
// it starts over, so a flood of distinct tokens costs lookups, not memory.
const (
	maxCachedTokens     = 4096
	maxCachedWorkspaces = 1024
)

// authCache keeps, for one authentication generation, the tokens that
// verified (with the assignments they act with) and the workspaces that
// were read. Anything it holds was read at or after that generation, so
// while the store's generation is unchanged it is still what the store
// holds; an entry read under an older generation is never stored. Only
// active tokens are kept: expiry, which needs no write, is checked on every
// use. The zero value is an empty cache.
type authCache struct {
	mu         sync.Mutex
	gen        int64
	tokens     map[[sha256.Size]byte]verifiedToken
	workspaces map[string]*hangar.Workspace
}

// verifiedToken is an active token and the assignments it acts with.
type verifiedToken struct {
	tok         *hangar.Token
	assignments []*hangar.RoleAssignment
}

// at moves the cache to generation gen, dropping everything when it holds
// another one (older or newer: a database restored from a backup goes
// back). An entry is used only by a request that read exactly the
// generation it is stored under, and was itself read after that reading,
// so it is never older than the state the request saw. c.mu must be held.
func (c *authCache) at(gen int64) {
	if gen == c.gen && c.tokens != nil {
		return
	}
	c.gen = gen
	c.tokens = map[[sha256.Size]byte]verifiedToken{}
	c.workspaces = map[string]*hangar.Workspace{}
}

func (c *authCache) token(gen int64, hash []byte) (verifiedToken, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.at(gen)
	v, ok := c.tokens[[sha256.Size]byte(hash)]
	return v, ok
}

func (c *authCache) putToken(gen int64, hash []byte, v verifiedToken) {
	if len(hash) != sha256.Size {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.at(gen)
	if len(c.tokens) >= maxCachedTokens {
		clear(c.tokens)
	}
	c.tokens[[sha256.Size]byte(hash)] = v
}

func (c *authCache) workspace(gen int64, name string) *hangar.Workspace {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.at(gen)
	return c.workspaces[name]
}

func (c *authCache) putWorkspace(gen int64, ws *hangar.Workspace) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.at(gen)
	if len(c.workspaces) >= maxCachedWorkspaces {
		clear(c.workspaces)
	}
	c.workspaces[ws.Name] = ws
}

// workspace returns the workspace name for caller p, from the cache when
// p's generation was read from a store that also serves workspaces.
func (s *Server) workspace(ctx context.Context, p *principal, name string) (*hangar.Workspace, error) {
	_, cacheable := s.Workspaces.(authGenerations)
	cacheable = cacheable && p != nil && p.cached
	if cacheable {
		if ws := s.auth.workspace(p.gen, name); ws != nil {
			return ws, nil
		}
	}
	ws, err := s.Workspaces.Workspace(ctx, name)
	if err != nil {
		return nil, err
	}
	if cacheable {
		s.auth.putWorkspace(p.gen, ws)
	}
	return ws, nil
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

// canSomewhere reports whether the caller may perform action on at least
// one scope: server-wide or on some workspace.
func (p *principal) canSomewhere(action string) bool {
	for _, a := range p.assignments {
		if p.can(a.Workspace, action) {
			return true
		}
	}
	return false
}

// require returns EFORBIDDEN naming the action and scope unless the caller
// may perform action on workspace ("" for server-wide).
func (p *principal) require(workspace, action string) error {
	if p.can(workspace, action) {
		return nil
	}
	return forbidden(p, workspace, action)
}

// forbidden returns EFORBIDDEN naming the caller, the action and the scope
// asked for, and nothing else: never another identity's roles. A token
// scoped to another workspace is said, since that, not the identity's roles,
// may be why.
func forbidden(p *principal, workspace, action string) error {
	where := "server-wide"
	if workspace != "" {
		where = "on workspace " + workspace
	}
	return hangar.Errorf(hangar.EFORBIDDEN, "identity %s lacks %s %s%s", p.name, action, where, p.scopeNote(workspace))
}

// scopeNote is "" unless the caller's token is scoped to a workspace other
// than the one asked for ("" for server-wide).
func (p *principal) scopeNote(workspace string) string {
	if p.scope == "" || p.scope == workspace {
		return ""
	}
	return " (its token is scoped to workspace " + p.scope + ")"
}

// scope says where a route's action is authorized before its handler runs.
type scope int

const (
	// scopeUnset is the zero value, which checkRoutes refuses: a route
	// must say where its action is checked.
	scopeUnset scope = iota
	// scopePublic routes need no token and name no action (/healthz,
	// /readyz, /metrics).
	scopePublic
	// scopeServer: the action must be held server-wide (create a
	// workspace, list identities, verify the audit chain).
	scopeServer
	// scopeWorkspace: the action must be held on the workspace of the
	// {ws} path value, or, when the pattern has no {ws} (the MLflow routes
	// under /api/2.0/mlflow), on the workspace of the X-MLFLOW-WORKSPACE
	// header or else the default workspace (routeWorkspace). Only then is
	// the workspace looked up, so a caller without the action gets 403
	// whether or not it exists, and one with it gets 404 when it does not.
	scopeWorkspace
	// scopeQuery: the action must be held on the workspace of the
	// ?workspace= query parameter, or server-wide when it is absent (lists
	// of tokens, role assignments and audit events). The workspace need
	// not exist: the list is then empty.
	scopeQuery
	// scopeAnywhere: the action must be held on at least one scope,
	// server-wide or some workspace. The handler then makes the precise
	// check, on a scope named in the body (issue a token, assign a role) or
	// found from the stored object (revoke a token, remove a role
	// assignment), or narrows what it shows (list workspaces). A caller
	// with no role at all is thus refused before any handler runs.
	scopeAnywhere
)

// String names the scope kind.
func (sc scope) String() string {
	switch sc {
	case scopeUnset:
		return "unset"
	case scopePublic:
		return "public"
	case scopeServer:
		return "server-wide"
	case scopeWorkspace:
		return "workspace"
	case scopeQuery:
		return "query workspace"
	case scopeAnywhere:
		return "anywhere"
	}
	return fmt.Sprintf("scope(%d)", int(sc))
}

// caller is the authenticated principal of a request together with where the
// route's action was authorized.
type caller struct {
	*principal // nil on public routes
	// workspace is the workspace the action was authorized on: the path's
	// or the default one (scopeWorkspace), the ?workspace= filter
	// (scopeQuery), or "" (server-wide, public and anywhere routes).
	workspace string
	// ws is the workspace of scopeWorkspace routes, as read when its
	// existence was checked; nil on other routes.
	ws *hangar.Workspace
}

// authorize checks the route's action on its scope for the authenticated
// caller c and records the scope in c. inPath says whether the pattern has
// a {ws} wildcard.
func (s *Server) authorize(r *http.Request, rt route, inPath bool, c *caller) error {
	switch rt.scope {
	case scopeServer:
		return c.require("", rt.action)
	case scopeWorkspace:
		name, err := routeWorkspace(r, rt, inPath)
		if err != nil {
			return err
		}
		if err := c.require(name, rt.action); err != nil {
			return err
		}
		ws, err := s.workspace(r.Context(), c.principal, name)
		if err != nil {
			return err
		}
		// A registry runs nothing: jobs, compute, endpoints are refused
		// there whatever the caller's roles (registryws.go).
		if err := ws.CheckKindAllows(rt.action); err != nil {
			return err
		}
		c.workspace, c.ws = name, ws
		return nil
	case scopeQuery:
		name := r.URL.Query().Get("workspace")
		if err := c.require(name, rt.action); err != nil {
			return err
		}
		c.workspace = name
		return nil
	case scopeAnywhere:
		if !c.canSomewhere(rt.action) {
			return hangar.Errorf(hangar.EFORBIDDEN, "identity %s lacks %s server-wide and on every workspace%s", c.name, rt.action, c.scopeNote(""))
		}
		return nil
	}
	// checkRoutes refuses any other scope before the server starts.
	return fmt.Errorf("route %s: unknown scope %v", rt.pattern, rt.scope)
}
