package httpapi_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/disk"
	"github.com/hangar-ml/hangar/httpapi"
	"github.com/hangar-ml/hangar/internal/pgtest"
	"github.com/hangar-ml/hangar/sqlstore"
)

// env is a server on a real SQLite store and disk blob store, with an
// Owner client ("admin") bootstrapped through the store.
type env struct {
	t      testing.TB
	srv    *httptest.Server
	api    *httpapi.Server
	db     *sqlstore.DB
	logs   *httpapi.SyncBuffer
	admin  *httpapi.Client
	offset atomic.Int64 // added to the server's clock, in nanoseconds
}

func newEnv(t testing.TB) *env { t.Helper(); return newEnvWith(t, nil) }

// newEnvWith lets configure change the server before its handler is built.
func newEnvWith(t testing.TB, configure func(*httpapi.Server)) *env {
	t.Helper()
	return newEnvOn(t, "", configure)
}

// backends are the metadata stores tests that must agree across backends
// run on: each returns a DSN for the test, or skips it.
var backends = []struct {
	name string
	dsn  func(t testing.TB) string
}{
	{"sqlite", func(t testing.TB) string { return filepath.Join(t.TempDir(), "hangar.db") }},
	{"postgres", func(t testing.TB) string { return pgtest.URL(t) }},
}

// newEnvOn is newEnvWith on the store at dsn ("" for a fresh SQLite file).
func newEnvOn(t testing.TB, dsn string, configure func(*httpapi.Server)) *env {
	t.Helper()
	dir := t.TempDir()
	ctx := t.Context()
	if dsn == "" {
		dsn = filepath.Join(dir, "hangar.db")
	}
	db := sqlstore.New(dsn)
	db.Sealer = newSealer(t)
	if err := db.Open(ctx); err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { db.Close() })

	e := &env{t: t, db: db, logs: &httpapi.SyncBuffer{}}
	s := httpapi.NewServer()
	s.Workspaces = sqlstore.NewWorkspaceService(db)
	ids := sqlstore.NewIdentityService(db)
	s.Identities = ids
	s.Credentials = ids
	s.Roles = sqlstore.NewRoleService(db)
	s.Audit = sqlstore.NewAuditService(db)
	s.Secrets = sqlstore.NewSecretService(db)
	s.Blobs = disk.New(filepath.Join(dir, "blobs"))
	s.BlobIndex = sqlstore.NewBlobIndex(db)
	s.Artifacts = sqlstore.NewArtifactIndex(db)
	s.Tracking = sqlstore.NewTrackingService(db)
	s.Registry = sqlstore.NewRegistryService(db)
	s.LoggedModels = sqlstore.NewLoggedModelService(db)
	s.Jobs = sqlstore.NewJobService(db)
	s.Environments = sqlstore.NewEnvironmentService(db)
	s.Components = sqlstore.NewComponentService(db)
	s.Data = sqlstore.NewDataService(db)
	s.Approvals = sqlstore.NewApprovalService(db)
	s.Schedules = sqlstore.NewScheduleService(db)
	s.Endpoints = sqlstore.NewEndpointService(db)
	s.Logger = slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s.Ready = db.Ping
	s.Now = func() time.Time { return time.Now().Add(time.Duration(e.offset.Load())) }
	if configure != nil {
		configure(s)
	}
	e.api = s
	e.srv = httptest.NewServer(s.Handler())
	t.Cleanup(e.srv.Close)

	// The first Owner comes from the store, as `hangar server` bootstraps it.
	admin, err := s.Identities.IssueToken(ctx, &hangar.TokenRequest{Name: "admin", Role: hangar.RoleOwner})
	if err != nil {
		t.Fatalf("bootstrap admin token: %v", err)
	}
	e.admin = httpapi.NewClient(e.srv.URL, admin.Secret)
	return e
}

// client issues a token for name with role on workspace ("" = server-wide)
// and returns a client that uses it.
func (e *env) client(name, role, workspace string) *httpapi.Client {
	e.t.Helper()
	tok, err := e.admin.IssueToken(e.t.Context(), &hangar.TokenRequest{Name: name, Role: role, Workspace: workspace})
	if err != nil {
		e.t.Fatalf("issue token for %s (%s on %q): %v", name, role, workspace, err)
	}
	return httpapi.NewClient(e.srv.URL, tok.Secret)
}

// token is like client but returns the secret.
func (e *env) token(name, role, workspace string) string {
	e.t.Helper()
	tok, err := e.admin.IssueToken(e.t.Context(), &hangar.TokenRequest{Name: name, Role: role, Workspace: workspace})
	if err != nil {
		e.t.Fatalf("issue token for %s: %v", name, err)
	}
	return tok.Secret
}

func (e *env) createWorkspace(name string) {
	e.t.Helper()
	if err := e.admin.CreateWorkspace(e.t.Context(), &hangar.Workspace{Name: name}); err != nil {
		e.t.Fatalf("create workspace %s: %v", name, err)
	}
}

// events returns every audit event, read from the store directly.
func (e *env) events() []*hangar.Event {
	e.t.Helper()
	var all []*hangar.Event
	for ev, err := range httpapi.AllItems(e.t.Context(), hangar.EventFilter{}, e.api.Audit.ListEvents) {
		if err != nil {
			e.t.Fatalf("list events: %v", err)
		}
		all = append(all, ev)
	}
	return all
}

// response is a raw answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

// envelope decodes an error answer.
func (r response) envelope(t *testing.T) (code, message string) {
	t.Helper()
	var env struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(r.body, &env); err != nil || env.Error.Code == "" {
		t.Fatalf("status %d body %q is not an error envelope (%v)", r.status, r.body, err)
	}
	return env.Error.Code, env.Error.Message
}

// do sends a raw request; header pairs follow the body.
func (e *env) do(method, path, token string, body string, header ...string) response {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(e.t.Context(), method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// adminToken returns a fresh server-wide Owner token secret.
func (e *env) adminToken() string {
	e.t.Helper()
	return e.token("root-"+hangar.NewID()[:8], hangar.RoleOwner, "")
}

func jsonString(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

// snapshot renders the whole stored state (and the audit event count), for
// checking that a refused request changed nothing.
func (e *env) snapshot() string {
	e.t.Helper()
	ctx := e.t.Context()
	all := hangar.ListOptions{MaxResults: hangar.MaxMaxResults}
	var b strings.Builder
	add := func(what string, v any, err error) {
		if err != nil {
			e.t.Fatalf("snapshot %s: %v", what, err)
		}
		s, err := jsonString(v)
		if err != nil {
			e.t.Fatal(err)
		}
		b.WriteString(what + ": " + s + "\n")
	}
	wss, err := e.api.Workspaces.ListWorkspaces(ctx, all)
	add("workspaces", wss, err)
	ids, err := e.api.Identities.ListIdentities(ctx, all)
	add("identities", ids, err)
	toks, err := e.api.Identities.ListTokens(ctx, hangar.TokenFilter{}, all)
	add("tokens", toks, err)
	asg, err := e.api.Roles.ListRoleAssignments(ctx, hangar.RoleAssignmentFilter{}, all)
	add("assignments", asg, err)
	for _, ws := range wss.Items {
		secs, err := e.api.Secrets.ListSecrets(ctx, ws.Name, all)
		add("secrets of "+ws.Name, secs, err)
	}
	add("events", len(e.events()), nil)
	return b.String()
}
