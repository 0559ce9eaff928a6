package httpapi_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/artifact"
)

// shareEnv is a server with workspaces dev and prod, registry shared, and
// model m version 1 in dev registered from a run's files.
type shareEnv struct {
	*env
	tok    string // the admin's
	runID  string
	files  map[string]string // the model's files, by path in its folder
	digest hangar.Digest     // their content digest
}

func newShareEnv(t *testing.T) *shareEnv {
	e := &shareEnv{env: newEnv(t), tok: ""}
	ctx := t.Context()
	e.tok = e.adminToken()
	e.createWorkspace("dev")
	e.createWorkspace("prod")
	if err := e.admin.CreateRegistry(ctx, &hangar.Workspace{Name: "shared", Description: "models for every team"}); err != nil {
		t.Fatalf("create registry: %v", err)
	}
	var uri string
	e.runID, uri = e.newMLflowRun("/w/dev", e.tok)
	root := strings.TrimPrefix(uri, "mlflow-artifacts:/")
	e.files = map[string]string{"MLmodel": "artifact_path: model\nflavors: {}\n", "model.json": `{"trees":[]}`, "sub/notes.txt": "hello"}
	var entries []hangar.ManifestEntry
	for p, body := range e.files {
		if r := e.putArtifact("/w/dev", e.tok, root+"/model/"+p, body, "application/octet-stream"); r.status != http.StatusOK {
			t.Fatalf("put %s: %d %s", p, r.status, r.body)
		}
		entries = append(entries, hangar.ManifestEntry{Path: p, Digest: digestOf(body), Size: int64(len(body))})
	}
	var err error
	if e.digest, err = hangar.ModelContentDigest(entries); err != nil {
		t.Fatal(err)
	}
	if r := e.mlflow("POST", "/w/dev/api/2.0/mlflow/registered-models/create", e.tok, `{"name":"m"}`); r.status != http.StatusOK {
		t.Fatalf("create model: %d %s", r.status, r.body)
	}
	body := `{"name":"m","source":"runs:/` + e.runID + `/model","run_id":"` + e.runID + `","tags":[{"key":"hangar.model_type","value":"custom_model"}]}`
	if r := e.mlflow("POST", "/w/dev/api/2.0/mlflow/model-versions/create", e.tok, body); r.status != http.StatusOK {
		t.Fatalf("create version: %d %s", r.status, r.body)
	}
	return e
}

func digestOf(s string) hangar.Digest {
	sum := sha256.Sum256([]byte(s))
	return hangar.Digest("sha256:" + hex.EncodeToString(sum[:]))
}

// readShared reads a file of a shared version through the MLflow
// artifact proxy of its workspace.
func (e *shareEnv) readShared(t *testing.T, ws string, v *hangar.ModelVersion, p string) string {
	t.Helper()
	r := e.do("GET", "/w/"+ws+"/api/2.0/mlflow-artifacts/artifacts/"+strings.TrimPrefix(v.Source, "mlflow-artifacts:/")+"/"+p, e.tok, "")
	if r.status != http.StatusOK {
		t.Fatalf("read %s of %s:%s in %s: %d %s", p, v.Name, v.Version, ws, r.status, r.body)
	}
	return string(r.body)
}

func TestShareModelDevToRegistryToProd(t *testing.T) {
	e := newShareEnv(t)
	ctx := t.Context()

	// dev → registry.
	out, err := e.admin.ShareModelVersion(ctx, "dev", "m", "1", hangar.ShareRequest{Registry: "shared"})
	if err != nil {
		t.Fatalf("share to the registry: %v", err)
	}
	v := out.Version
	if v.Workspace != "shared" || v.Name != "m" || v.Version != "1" || out.Existing || out.ContentDigest != e.digest {
		t.Fatalf("share to the registry: got %s/%s:%s existing %v digest %s, want shared/m:1 new with digest %s", v.Workspace, v.Name, v.Version, out.Existing, out.ContentDigest, e.digest)
	}
	for k, want := range map[string]string{
		hangar.TagSharedFromWorkspace: "dev", hangar.TagSharedFromModel: "m", hangar.TagSharedFromVersion: "1",
		hangar.TagSharedFromRun: e.runID, hangar.TagContentDigest: string(e.digest), "hangar.model_type": "custom_model",
	} {
		if got := v.Tags[k]; got != want {
			t.Errorf("registry copy: tag %s = %q, want %q", k, got, want)
		}
	}
	for p, body := range e.files {
		if got := e.readShared(t, "shared", v, p); got != body {
			t.Errorf("registry copy: %s = %q, want %q", p, got, body)
		}
	}
	var audited *hangar.Event
	for _, ev := range e.events() {
		if ev.Action == hangar.ActModelWrite && ev.Target == "models/m/versions/1" && ev.Workspace == "shared" {
			audited = ev
		}
	}
	if audited == nil || !strings.Contains(audited.Detail, `"share":{`) || !strings.Contains(audited.Detail, string(e.digest)) {
		t.Errorf("the share into the registry: got event %+v, want models/write on models/m/versions/1 in shared with a share detail", audited)
	}

	// The same again: the earlier copy, nothing written.
	n := len(e.events())
	again, err := e.admin.ShareModelVersion(ctx, "dev", "m", "1", hangar.ShareRequest{Registry: "shared"})
	if err != nil || !again.Existing || again.Version.Version != "1" {
		t.Fatalf("share again: got %+v, %v, want the existing version 1", again, err)
	}
	if got := len(e.events()); got != n {
		t.Errorf("share again: %d events were appended, want none", got-n)
	}

	// Registry → prod under another name and a chosen version.
	out2, err := e.admin.ShareModelVersion(ctx, "shared", "m", "1", hangar.ShareRequest{ToWorkspace: "prod", Name: "churn", Version: "7"})
	if err != nil {
		t.Fatalf("share to prod: %v", err)
	}
	p := out2.Version
	if p.Workspace != "prod" || p.Name != "churn" || p.Version != "7" || out2.ContentDigest != e.digest {
		t.Fatalf("share to prod: got %s/%s:%s digest %s, want prod/churn:7 with digest %s", p.Workspace, p.Name, p.Version, out2.ContentDigest, e.digest)
	}
	if p.Tags[hangar.TagSharedFromWorkspace] != "shared" || p.Tags[hangar.TagSharedFromRun] != e.runID {
		t.Errorf("prod copy: shared_from %q, run %q; want the registry and the original run %s", p.Tags[hangar.TagSharedFromWorkspace], p.Tags[hangar.TagSharedFromRun], e.runID)
	}
	for path, body := range e.files {
		if got := e.readShared(t, "prod", p, path); got != body {
			t.Errorf("prod copy: %s = %q, want %q", path, got, body)
		}
	}
	// The version number is never given twice.
	if _, err := e.admin.ShareModelVersion(ctx, "shared", "m", "1", hangar.ShareRequest{ToWorkspace: "prod", Name: "churn", Version: "3"}); !hangar.IsCode(err, hangar.ECONFLICT) {
		t.Errorf("share as a version below the last: got %v, want ECONFLICT", err)
	}

	// The lineage in prod traces back through the registry to dev's run.
	g, err := e.admin.ModelLineage(ctx, "prod", "churn", "7")
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, nd := range g.Nodes {
		ids[nd.ID] = true
	}
	for _, id := range []string{"model:churn:7", "model:shared/m:1", "model:dev/m:1", "run:dev/" + e.runID} {
		if !ids[id] {
			t.Errorf("prod lineage: no node %s in %v", id, ids)
		}
	}

	// A caller who reads prod but not dev sees the chain stop, marked.
	reader := e.client("prod-reader", hangar.RoleReader, "prod")
	g, err = reader.ModelLineage(ctx, "prod", "churn", "7")
	if err != nil {
		t.Fatal(err)
	}
	for _, nd := range g.Nodes {
		if nd.ID == "model:shared/m:1" && !strings.Contains(nd.Attrs["missing"], "no models/read on workspace shared") {
			t.Errorf("prod reader's lineage: node %s attrs %v, want it marked missing", nd.ID, nd.Attrs)
		}
		if nd.ID == "model:dev/m:1" {
			t.Errorf("prod reader's lineage reaches %s", nd.ID)
		}
	}
}

// TestShareRefused: bad input and missing rights, each refused precisely
// with nothing changed.
func TestShareRefused(t *testing.T) {
	e := newShareEnv(t)
	ctx := t.Context()
	if _, err := e.admin.ShareModelVersion(ctx, "dev", "m", "1", hangar.ShareRequest{Registry: "shared", Version: "2"}); err != nil {
		t.Fatal(err)
	}
	devOnly := e.token("dev-contributor", hangar.RoleContributor, "dev")
	prodReader := e.token("prod-only", hangar.RoleContributor, "prod")
	share := "/api/v1/workspaces/dev/models/m/versions/1/share"
	for _, tt := range []refused{
		{"no role on the target", "POST", share, devOnly, `{"to_workspace":"prod"}`, nil, http.StatusForbidden, hangar.EFORBIDDEN, "identity dev-contributor lacks models/write on workspace prod"},
		{"no role on the registry", "POST", share, devOnly, `{"registry":"shared"}`, nil, http.StatusForbidden, hangar.EFORBIDDEN, "lacks models/write on workspace shared"},
		{"no role on the source", "POST", share, prodReader, `{"to_workspace":"prod"}`, nil, http.StatusForbidden, hangar.EFORBIDDEN, "identity prod-only lacks models/read on workspace dev"},
		{"unknown source version", "POST", "/api/v1/workspaces/dev/models/m/versions/9/share", e.tok, `{"to_workspace":"prod"}`, nil, http.StatusNotFound, hangar.ENOTFOUND, "Model Version (name=m, version=9) not found"},
		{"unknown source model", "POST", "/api/v1/workspaces/dev/models/nope/versions/1/share", e.tok, `{"to_workspace":"prod"}`, nil, http.StatusNotFound, hangar.ENOTFOUND, "nope"},
		{"unknown target", "POST", share, e.tok, `{"to_workspace":"nowhere"}`, nil, http.StatusNotFound, hangar.ENOTFOUND, `workspace "nowhere" not found`},
		{"a workspace named as registry", "POST", share, e.tok, `{"registry":"prod"}`, nil, http.StatusNotFound, hangar.ENOTFOUND, `registry "prod" not found: "prod" is a workspace`},
		{"no target", "POST", share, e.tok, `{}`, nil, http.StatusBadRequest, hangar.EINVALID, "share needs a target"},
		{"two targets", "POST", share, e.tok, `{"registry":"shared","to_workspace":"prod"}`, nil, http.StatusBadRequest, hangar.EINVALID, "share takes one target"},
		{"into itself", "POST", share, e.tok, `{"to_workspace":"dev"}`, nil, http.StatusBadRequest, hangar.EINVALID, `the version is in "dev" already`},
		{"bad target name", "POST", share, e.tok, `{"to_workspace":"a"}`, nil, http.StatusBadRequest, hangar.EINVALID, `invalid workspace name "a"`},
		{"bad version", "POST", share, e.tok, `{"registry":"shared","version":"x"}`, nil, http.StatusBadRequest, hangar.EINVALID, "x"},
		{"the same version again", "POST", share, e.tok, `{"registry":"shared","version":"2"}`, nil, http.StatusConflict, hangar.ECONFLICT, "Model Version (name=m, version=2) already exists in workspace \"shared\""},
		{"an unknown field", "POST", share, e.tok, `{"registry":"shared","share_with":"x"}`, nil, http.StatusBadRequest, hangar.EINVALID, "share_with"},
		// A registry runs nothing.
		{"a job in a registry", "POST", "/api/v1/workspaces/shared/jobs", e.tok, `{}`, nil, http.StatusBadRequest, hangar.EINVALID, `"shared" is a registry`},
		{"a workspace as a registry", "GET", "/api/v1/registries/dev", e.tok, "", nil, http.StatusNotFound, hangar.ENOTFOUND, `registry "dev" not found`},
		{"a registry without registries/write", "POST", "/api/v1/registries", devOnly, `{"name":"other"}`, nil, http.StatusForbidden, hangar.EFORBIDDEN, "lacks registries/write server-wide"},
		{"a registry that exists", "POST", "/api/v1/registries", e.tok, `{"name":"shared"}`, nil, http.StatusConflict, hangar.ECONFLICT, `workspace "shared" already exists`},
		{"a reserved registry name", "POST", "/api/v1/registries", e.tok, `{"name":"hangar"}`, nil, http.StatusBadRequest, hangar.EINVALID, `registry name "hangar" is reserved`},
		{"a registry with a bad name", "POST", "/api/v1/registries", e.tok, `{"name":"x"}`, nil, http.StatusBadRequest, hangar.EINVALID, `invalid workspace name "x"`},
	} {
		t.Run(tt.name, func(t *testing.T) { e.check(t, tt) })
	}
}

func TestRegistries(t *testing.T) {
	e := newShareEnv(t)
	ctx := t.Context()
	got, err := e.admin.Registry(ctx, "shared")
	if err != nil || got.Kind != hangar.WorkspaceKindRegistry || got.Description != "models for every team" {
		t.Fatalf("registry shared: got %+v, %v", got, err)
	}
	if ws, err := e.admin.Workspace(ctx, "dev"); err != nil || ws.Kind != hangar.WorkspaceKindWorkspace {
		t.Errorf("workspace dev: got %+v, %v, want kind workspace", ws, err)
	}
	page, err := e.admin.ListRegistries(ctx, hangar.ListOptions{})
	if err != nil || len(page.Items) != 1 || page.Items[0].Name != "shared" {
		t.Errorf("list registries: got %+v, %v, want shared alone", page, err)
	}
	// A role on the registry is a role on a workspace: its Reader lists it.
	rd := e.client("registry-reader", hangar.RoleReader, "shared")
	page, err = rd.ListRegistries(ctx, hangar.ListOptions{})
	if err != nil || len(page.Items) != 1 || page.Items[0].Name != "shared" {
		t.Errorf("registry reader lists: got %+v, %v, want shared", page, err)
	}
	devReader := e.client("dev-reader", hangar.RoleReader, "dev")
	page, err = devReader.ListRegistries(ctx, hangar.ListOptions{})
	if err != nil || len(page.Items) != 0 {
		t.Errorf("dev reader lists registries: got %+v, %v, want none", page, err)
	}
}

// TestShareComponentAndEnvironment shares versions with content: the
// target comes to own the code snapshot and the build context.
func TestShareComponentAndEnvironment(t *testing.T) {
	e := newShareEnv(t)
	ctx := t.Context()
	code, _, err := artifact.PutDir(ctx, e.admin.BlobStore("dev"), fstest.MapFS{"train.py": {Data: []byte("print(1)\n")}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := e.admin.CreateComponent(ctx, &hangar.Component{Workspace: "dev", Name: "train", Spec: `{"type":"command","command":"python train.py"}`, Code: code.Digest})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.admin.BlobStore("prod").Open(ctx, code.Digest); err == nil {
		t.Fatal("prod reads dev's code before any share")
	}
	out, err := e.admin.ShareComponent(ctx, "dev", "train", c.Version, hangar.ShareRequest{ToWorkspace: "prod", Version: "1.0"})
	if err != nil {
		t.Fatalf("share component: %v", err)
	}
	if out.Workspace != "prod" || out.Version != "1.0" || out.Code != code.Digest || out.Hash != c.Hash || out.Tags[hangar.TagSharedFromWorkspace] != "dev" {
		t.Errorf("shared component: got %+v", out)
	}
	rc, err := e.admin.BlobStore("prod").Open(ctx, code.Digest)
	if err != nil {
		t.Fatalf("prod reads the shared code: %v", err)
	}
	io.Copy(io.Discard, rc)
	rc.Close()
	if _, err := e.admin.ShareComponent(ctx, "dev", "train", c.Version, hangar.ShareRequest{ToWorkspace: "prod", Version: "1.0"}); !hangar.IsCode(err, hangar.ECONFLICT) {
		t.Errorf("share the component as 1.0 again: got %v, want ECONFLICT", err)
	}
	if again, err := e.admin.ShareComponent(ctx, "dev", "train", c.Version, hangar.ShareRequest{ToWorkspace: "prod"}); err != nil || !again.Existing || again.Version != "1.0" {
		t.Errorf("share the component again without a version: got %+v, %v, want the existing 1.0", again, err)
	}

	env, err := e.admin.CreateEnvironment(ctx, &hangar.Environment{Workspace: "dev", Name: "py", Image: "python:3.12"})
	if err != nil {
		t.Fatal(err)
	}
	outE, err := e.admin.ShareEnvironment(ctx, "dev", "py", env.Version, hangar.ShareRequest{Registry: "shared"})
	if err != nil {
		t.Fatalf("share environment: %v", err)
	}
	if outE.Workspace != "shared" || outE.Image != "python:3.12" || outE.Hash != env.Hash {
		t.Errorf("shared environment: got %+v", outE)
	}
	var body struct {
		Error struct{ Code, Message string }
	}
	r := e.do("POST", "/api/v1/workspaces/dev/environments/py/versions/9/share", e.tok, `{"registry":"shared"}`)
	json.Unmarshal(r.body, &body)
	if r.status != http.StatusNotFound {
		t.Errorf("share an unknown environment version: %d %s, want 404", r.status, r.body)
	}
}
