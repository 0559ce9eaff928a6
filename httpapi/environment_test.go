package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/artifact"
	"github.com/hangar-ml/hangar/httpapi"
)

// TestEnvironments drives every environment route through the client
// against the real server and store.
func TestEnvironments(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	ds := e.client("ds", hangar.RoleDataScientist, hangar.DefaultWorkspace)
	ws := hangar.DefaultWorkspace
	in := &hangar.Environment{Workspace: ws, Name: "sklearn", Image: "python:3.12", CondaFile: "name: sk\n",
		Variables: map[string]string{"OMP_NUM_THREADS": "1"}, Description: "d", Tags: map[string]string{"k": "v"}}
	v1, err := ds.CreateEnvironment(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if v1.Version != "1" || v1.Existing || v1.CreatedBy != "ds" || v1.Hash != hangar.EnvironmentHash(in) || v1.Variables["OMP_NUM_THREADS"] != "1" {
		t.Fatalf("create: got %+v, want version 1 by ds with the variables and hash %s", v1, hangar.EnvironmentHash(in))
	}
	again, err := ds.CreateEnvironment(ctx, in)
	if err != nil || again.Version != "1" || !again.Existing {
		t.Fatalf("same definition again: got %+v, %v, want the existing version 1", again, err)
	}
	in2 := *in
	in2.Variables = map[string]string{"OMP_NUM_THREADS": "2"}
	v2, err := ds.CreateEnvironment(ctx, &in2)
	if err != nil || v2.Version != "2" || v2.Existing {
		t.Fatalf("other variables: got %+v, %v, want a new version 2", v2, err)
	}
	in3 := *in
	in3.Version = "2"
	if _, err := ds.CreateEnvironment(ctx, &in3); hangar.ErrorCode(err) != hangar.ECONFLICT || !strings.Contains(hangar.ErrorMessage(err), "version 2 already exists") {
		t.Errorf("existing version: got %v, want ECONFLICT", err)
	}

	got, err := ds.Environment(ctx, ws, "sklearn", "1")
	if err != nil || got.Hash != v1.Hash || got.CondaFile != "name: sk\n" || got.Tags["k"] != "v" || got.Existing {
		t.Errorf("show 1: got %+v, %v", got, err)
	}
	if latest, err := ds.LatestEnvironment(ctx, ws, "sklearn"); err != nil || latest.Version != "2" {
		t.Errorf("latest: got %+v, %v, want version 2", latest, err)
	}
	if _, err := ds.Environment(ctx, ws, "sklearn", "9"); hangar.ErrorCode(err) != hangar.ENOTFOUND {
		t.Errorf("missing version: got %v, want ENOTFOUND", err)
	}

	if a, err := ds.SetEnvironmentArchived(ctx, ws, "sklearn", "2", true); err != nil || !a.Archived {
		t.Fatalf("archive: got %+v, %v", a, err)
	}
	if latest, err := ds.LatestEnvironment(ctx, ws, "sklearn"); err != nil || latest.Version != "1" {
		t.Errorf("latest after archiving 2: got %+v, %v, want version 1", latest, err)
	}
	versions := func(include bool) []string {
		p, err := ds.ListEnvironmentVersions(ctx, ws, "sklearn", include, hangar.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, v := range p.Items {
			out = append(out, v.Version)
		}
		return out
	}
	if got := strings.Join(versions(false), ","); got != "1" {
		t.Errorf("versions: got %s, want 1", got)
	}
	if got := strings.Join(versions(true), ","); got != "2,1" {
		t.Errorf("versions with archived: got %s, want 2,1", got)
	}
	if r, err := ds.SetEnvironmentArchived(ctx, ws, "sklearn", "2", false); err != nil || r.Archived {
		t.Fatalf("restore: got %+v, %v", r, err)
	}
	if _, err := ds.CreateEnvironment(ctx, &hangar.Environment{Workspace: ws, Name: "base", Image: "ubuntu"}); err != nil {
		t.Fatal(err)
	}
	p, err := ds.ListEnvironments(ctx, ws, hangar.ListOptions{MaxResults: 1})
	if err != nil || len(p.Items) != 1 || p.Items[0].Name != "base" || p.NextPageToken == "" {
		t.Fatalf("list page 1: got %+v, %v", p, err)
	}
	p, err = ds.ListEnvironments(ctx, ws, hangar.ListOptions{PageToken: p.NextPageToken})
	if err != nil || len(p.Items) != 1 || p.Items[0].Name != "sklearn" || p.Items[0].Version != "2" {
		t.Fatalf("list page 2: got %+v, %v", p, err)
	}

	// A build context is a manifest the workspace owns.
	info, _, err := artifact.PutDir(ctx, ds.BlobStore(ws), fstest.MapFS{"Dockerfile": {Data: []byte("FROM python:3.12\n")}})
	if err != nil {
		t.Fatal(err)
	}
	if b, err := ds.CreateEnvironment(ctx, &hangar.Environment{Workspace: ws, Name: "docker", BuildContext: info.Digest, DockerfilePath: "Dockerfile"}); err != nil || b.BuildContext != info.Digest {
		t.Errorf("build context: got %+v, %v", b, err)
	}
	if b, err := ds.Environment(ctx, ws, "docker", "1"); err != nil || b.BuildContext != info.Digest || b.DockerfilePath != "Dockerfile" {
		t.Errorf("show build context: got %+v, %v", b, err)
	}
	e.createWorkspace("other")
	if _, err := e.admin.CreateEnvironment(ctx, &hangar.Environment{Workspace: "other", Name: "docker", BuildContext: info.Digest}); hangar.ErrorCode(err) != hangar.ENOTFOUND {
		t.Errorf("build context of another workspace: got %v, want ENOTFOUND", err)
	}
}

// TestEnvironmentAnswers checks the statuses and bodies of the routes
// that the client hides: 201 then 200 on create, strict bodies, the
// query, a Reader's refusal.
func TestEnvironmentAnswers(t *testing.T) {
	e := newEnv(t)
	ds := e.token("ds", hangar.RoleDataScientist, hangar.DefaultWorkspace)
	reader := e.token("reader", hangar.RoleReader, hangar.DefaultWorkspace)
	const path = "/api/v1/workspaces/default/environments/env/versions"
	const body = `{"image":"python:3.12","variables":{"A":"1"}}`
	if r := e.do(http.MethodPost, path, ds, body); r.status != http.StatusCreated {
		t.Fatalf("create: status %d (%s), want 201", r.status, r.body)
	}
	r := e.do(http.MethodPost, path, ds, body)
	if r.status != http.StatusOK || !strings.Contains(string(r.body), `"existing":true`) {
		t.Fatalf("create again: status %d (%s), want 200 with existing", r.status, r.body)
	}
	for _, tt := range []refused{
		{name: "unknown key", method: http.MethodPost, path: path, token: ds, body: `{"image":"i","environment_variables":{}}`,
			status: http.StatusBadRequest, code: hangar.EINVALID, message: `unknown field "environment_variables"`},
		{name: "bad variable", method: http.MethodPost, path: path, token: ds, body: `{"image":"i","variables":{"1A":"x"}}`,
			status: http.StatusBadRequest, code: hangar.EINVALID, message: `environment "env": environment variable name "1A"`},
		{name: "no image", method: http.MethodPost, path: path, token: ds, body: `{}`,
			status: http.StatusBadRequest, code: hangar.EINVALID, message: `environment "env": give an image or a build context`},
		{name: "bad name", method: http.MethodPost, path: "/api/v1/workspaces/default/environments/a%20b/versions", token: ds, body: `{"image":"i"}`,
			status: http.StatusBadRequest, code: hangar.EINVALID, message: `invalid environment name "a b"`},
		{name: "bad include_archived", method: http.MethodGet, path: path + "?include_archived=maybe", token: ds,
			status: http.StatusBadRequest, code: hangar.EINVALID, message: "include_archived must be true or false"},
		{name: "reader creates", method: http.MethodPost, path: path, token: reader, body: `{"image":"python:3.13"}`,
			status: http.StatusForbidden, code: hangar.EFORBIDDEN, message: "identity reader lacks environments/write"},
		{name: "reader archives", method: http.MethodPost, path: path + "/1/archive", token: reader,
			status: http.StatusForbidden, code: hangar.EFORBIDDEN, message: "identity reader lacks environments/write"},
		{name: "missing latest", method: http.MethodGet, path: "/api/v1/workspaces/default/environments/nope/latest", token: reader,
			status: http.StatusNotFound, code: hangar.ENOTFOUND, message: "Environment nope:latest not found"},
	} {
		t.Run(tt.name, func(t *testing.T) { e.check(t, tt) })
	}
	if r := e.do(http.MethodGet, path+"/1", reader, ""); r.status != http.StatusOK {
		t.Errorf("reader shows: status %d (%s)", r.status, r.body)
	}
}

// TestEnvironmentsNotEnabled: a server without the services answers 501.
func TestEnvironmentsNotEnabled(t *testing.T) {
	e := newEnvWith(t, func(s *httpapi.Server) { s.Environments, s.Components = nil, nil })
	for _, p := range []string{"/api/v1/workspaces/default/environments", "/api/v1/workspaces/default/components"} {
		if r := e.do(http.MethodGet, p, e.token("o", hangar.RoleOwner, ""), ""); r.status != http.StatusNotImplemented {
			t.Errorf("GET %s: status %d (%s), want 501", p, r.status, r.body)
		}
	}
}
