package httpapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/hangar-ml/hangar"
)

// TestEveryRouteNeedsAToken walks the route table: every route but the
// public ones answers 401 without a token, before any service is touched
// (the server here has none).
func TestEveryRouteNeedsAToken(t *testing.T) {
	s := NewServer()
	h := s.Handler()
	wildcard := regexp.MustCompile(`\{[a-z]+\}`)
	public := map[string]bool{"GET /healthz": true, "GET /readyz": true, "GET /metrics": true, "GET /health": true, "GET /version": true,
		// The web UI's sign-in, sign-out and home page (ui.go).
		"GET /ui/": true, "GET /ui/login": true, "POST /ui/login": true, "POST /ui/logout": true}
	for _, rt := range s.routes() {
		if isPublic := rt.scope == scopePublic; isPublic != public[rt.pattern] {
			t.Errorf("route %s: public = %v, want %v", rt.pattern, isPublic, public[rt.pattern])
		}
		if rt.scope == scopePublic {
			continue
		}
		method, path, _ := strings.Cut(rt.pattern, " ")
		path = wildcard.ReplaceAllString(path, "x1x")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(method, path, strings.NewReader(`{}`)))
		if rec.Code != http.StatusUnauthorized {
			t.Errorf("%s %s: status %d, want 401", method, path, rec.Code)
			continue
		}
		if rt.errors == mlflowErrors {
			if e := decodeMLflowEnvelope(t, rec); e.ErrorCode != "UNAUTHENTICATED" || e.Message != "missing bearer token" {
				t.Errorf("%s %s: MLflow envelope %+v", method, path, e)
			}
			continue
		}
		if rt.errors == htmlErrors {
			if body := rec.Body.String(); !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") || !strings.Contains(body, "missing bearer token") || !strings.Contains(body, hangar.EUNAUTHORIZED) {
				t.Errorf("%s %s: HTML error page %q", method, path, body)
			}
			continue
		}
		if e := decodeEnvelope(t, rec); e.Code != hangar.EUNAUTHORIZED || e.Message != "missing bearer token" {
			t.Errorf("%s %s: envelope %+v", method, path, e)
		}
	}
}

// TestRouteActionsAreDeclared: every route but the public ones names an
// action that package hangar declares, and the table passes checkRoutes.
func TestRouteActionsAreDeclared(t *testing.T) {
	routes := NewServer().routes()
	for _, rt := range routes {
		if rt.scope == scopePublic {
			if rt.action != "" {
				t.Errorf("public route %s names action %q", rt.pattern, rt.action)
			}
			continue
		}
		if !hangar.IsAction(rt.action) {
			t.Errorf("route %s names action %q, which package hangar does not declare", rt.pattern, rt.action)
		}
	}
	if err := checkRoutes(routes); err != nil {
		t.Errorf("checkRoutes(the route table): %v", err)
	}
}

// TestCheckRoutes breaks each rule of the route table once and expects
// checkRoutes, and so Handler, to refuse it.
func TestCheckRoutes(t *testing.T) {
	fn := func(w http.ResponseWriter, r *http.Request, _ *caller) error { return nil }
	ok := route{"GET /api/v1/things", hangar.ActWorkspaceRead, scopeServer, fn, nativeErrors}
	tests := []struct {
		name  string
		route route
		want  string // substring of the error; "" for none
	}{
		{"valid", ok, ""},
		{"valid public", route{"GET /healthz", "", scopePublic, fn, nativeErrors}, ""},
		{"valid MLflow", route{"GET /w/{ws}/api/2.0/mlflow/experiments/get", hangar.ActExperimentRead, scopeWorkspace, fn, mlflowErrors}, ""},
		{"undeclared action", route{"GET /api/v1/widgets", "widgets/read", scopeServer, fn, nativeErrors}, `action "widgets/read", which package hangar does not declare`},
		{"no action", route{"GET /api/v1/widgets", "", scopeWorkspace, fn, nativeErrors}, `action "", which package hangar does not declare`},
		{"public with an action", route{"GET /api/v1/widgets", hangar.ActWorkspaceRead, scopePublic, fn, nativeErrors}, "public route"},
		{"no scope", route{"GET /api/v1/widgets", hangar.ActWorkspaceRead, scopeUnset, fn, nativeErrors}, "has no scope"},
		{"unknown scope", route{"GET /api/v1/widgets", hangar.ActWorkspaceRead, scopeAnywhere + 1, fn, nativeErrors}, "has no scope"},
		{"no handler", route{"GET /api/v1/widgets", hangar.ActWorkspaceRead, scopeServer, nil, nativeErrors}, "has no handler"},
		{"MLflow route with native errors", route{"POST /api/2.0/mlflow/runs/create", hangar.ActRunWrite, scopeWorkspace, fn, nativeErrors}, "MLflow API"},
		{"MLflow route of a workspace with native errors", route{"GET /w/{ws}/api/2.0/mlflow/runs/get", hangar.ActRunRead, scopeWorkspace, fn, nativeErrors}, "MLflow API"},
		{"unknown error style", route{"GET /api/v1/widgets", hangar.ActWorkspaceRead, scopeServer, fn, htmlErrors + 1}, "error style"},
		{"UI page with HTML errors", route{"GET /ui/w/{ws}", hangar.ActExperimentRead, scopeWorkspace, fn, htmlErrors}, ""},
		{"declared twice", ok, "declared twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			routes := []route{tt.route}
			if tt.name == "declared twice" {
				routes = append(routes, ok)
			}
			err := checkRoutes(routes)
			if tt.want == "" {
				if err != nil {
					t.Errorf("checkRoutes: %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("checkRoutes: %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// workspacesOf is a WorkspaceService that knows the named workspaces and
// nothing else.
type workspacesOf []string

func (ws workspacesOf) Workspace(_ context.Context, name string) (*hangar.Workspace, error) {
	for _, n := range ws {
		if n == name {
			return &hangar.Workspace{Name: n}, nil
		}
	}
	return nil, hangar.Errorf(hangar.ENOTFOUND, "workspace %s not found", name)
}
func (workspacesOf) CreateWorkspace(context.Context, *hangar.Workspace) error { return nil }
func (workspacesOf) ListWorkspaces(context.Context, hangar.ListOptions) (*hangar.Page[*hangar.Workspace], error) {
	return nil, nil
}
func (workspacesOf) DeleteWorkspace(context.Context, string) error { return nil }

// TestAuthorizeScopes checks each scope kind: where the action is looked
// for, which workspace the handler is given, and that a missing workspace is
// told only to callers who hold the action.
func TestAuthorizeScopes(t *testing.T) {
	s := NewServer()
	s.Workspaces = workspacesOf{hangar.DefaultWorkspace, "ws1"}
	who := func(name, role, ws string) *principal {
		p := &principal{id: name, name: name}
		if role != "" {
			p.assignments = []*hangar.RoleAssignment{{IdentityName: name, Role: role, Workspace: ws}}
		}
		return p
	}
	var (
		defReader = who("defreader", hangar.RoleReader, hangar.DefaultWorkspace)
		w1Reader  = who("w1reader", hangar.RoleReader, "ws1")
		srvReader = who("srvreader", hangar.RoleReader, "")
		operator  = who("operator", hangar.RoleComputeOperator, "ws1")
		nobody    = who("nobody", "", "")
	)
	fn := func(w http.ResponseWriter, r *http.Request, _ *caller) error { return nil }
	var (
		defaultWS = route{"GET /api/2.0/mlflow/experiments/get", hangar.ActExperimentRead, scopeWorkspace, fn, mlflowErrors}
		pathWS    = route{"GET /w/{ws}/api/2.0/mlflow/experiments/get", hangar.ActExperimentRead, scopeWorkspace, fn, mlflowErrors}
		queryWS   = route{"GET /api/v1/tokens", hangar.ActTokenRead, scopeQuery, fn, nativeErrors}
		server    = route{"GET /api/v1/identities", hangar.ActIdentityRead, scopeServer, fn, nativeErrors}
		anywhere  = route{"GET /api/v1/workspaces", hangar.ActWorkspaceRead, scopeAnywhere, fn, nativeErrors}
	)
	tests := []struct {
		name      string
		route     route
		target    string // path and query
		ws        string // the {ws} path value
		p         *principal
		code      string // "" when authorized
		message   string
		workspace string // given to the handler
	}{
		{"no {ws}: the default workspace", defaultWS, "/api/2.0/mlflow/experiments/get", "", defReader, "", "", hangar.DefaultWorkspace},
		{"no {ws}: another workspace's role does not count", defaultWS, "/api/2.0/mlflow/experiments/get", "", w1Reader, hangar.EFORBIDDEN,
			"identity w1reader lacks experiments/read on workspace default", ""},
		{"no {ws}: a server-wide role counts", defaultWS, "/api/2.0/mlflow/experiments/get", "", srvReader, "", "", hangar.DefaultWorkspace},
		{"{ws}: its own workspace", pathWS, "/w/ws1/api/2.0/mlflow/experiments/get", "ws1", w1Reader, "", "", "ws1"},
		{"{ws}: not another", pathWS, "/w/ws1/api/2.0/mlflow/experiments/get", "ws1", defReader, hangar.EFORBIDDEN,
			"identity defreader lacks experiments/read on workspace ws1", ""},
		{"{ws}: a missing workspace is 403 without the action", pathWS, "/w/gone/api/2.0/mlflow/experiments/get", "gone", w1Reader, hangar.EFORBIDDEN,
			"identity w1reader lacks experiments/read on workspace gone", ""},
		{"{ws}: a missing workspace is 404 with it", pathWS, "/w/gone/api/2.0/mlflow/experiments/get", "gone", srvReader, hangar.ENOTFOUND, "gone", ""},
		{"{ws}: a role without the action", pathWS, "/w/ws1/api/2.0/mlflow/experiments/get", "ws1", operator, hangar.EFORBIDDEN,
			"identity operator lacks experiments/read on workspace ws1", ""},
		{"query: the filter's workspace", queryWS, "/api/v1/tokens?workspace=ws1", "", w1Reader, "", "", "ws1"},
		{"query: server-wide without a filter", queryWS, "/api/v1/tokens", "", w1Reader, hangar.EFORBIDDEN, "identity w1reader lacks tokens/read server-wide", ""},
		{"query: another workspace", queryWS, "/api/v1/tokens?workspace=default", "", w1Reader, hangar.EFORBIDDEN,
			"identity w1reader lacks tokens/read on workspace default", ""},
		{"query: server-wide role", queryWS, "/api/v1/tokens", "", srvReader, "", "", ""},
		{"server: a workspace role does not count", server, "/api/v1/identities", "", w1Reader, hangar.EFORBIDDEN, "identity w1reader lacks identities/read server-wide", ""},
		{"server: a server-wide role", server, "/api/v1/identities", "", srvReader, "", "", ""},
		{"anywhere: one workspace is enough", anywhere, "/api/v1/workspaces", "", w1Reader, "", "", ""},
		{"anywhere: no role at all", anywhere, "/api/v1/workspaces", "", nobody, hangar.EFORBIDDEN,
			"identity nobody lacks workspaces/read server-wide and on every workspace", ""},
		{"workspace: no role at all", pathWS, "/w/ws1/api/2.0/mlflow/experiments/get", "ws1", nobody, hangar.EFORBIDDEN, "identity nobody lacks", ""},
		{"query: no role at all", queryWS, "/api/v1/tokens?workspace=ws1", "", nobody, hangar.EFORBIDDEN, "identity nobody lacks", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, tt.target, nil)
			inPath := strings.Contains(tt.route.pattern, "{ws}")
			if inPath {
				r.SetPathValue("ws", tt.ws)
			}
			c := &caller{principal: tt.p}
			err := s.authorize(r, tt.route, inPath, c)
			if code := hangar.ErrorCode(err); code != tt.code || !strings.Contains(hangar.ErrorMessage(err), tt.message) {
				t.Fatalf("authorize: %v, want code %q message containing %q", err, tt.code, tt.message)
			}
			if err != nil {
				return
			}
			if c.workspace != tt.workspace {
				t.Errorf("caller's workspace %q, want %q", c.workspace, tt.workspace)
			}
			if tt.route.scope == scopeWorkspace && (c.ws == nil || c.ws.Name != tt.workspace) {
				t.Errorf("caller's ws %+v, want workspace %s as read", c.ws, tt.workspace)
			}
		})
	}
}
