package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/artifact"
	"github.com/hangar-ml/hangar/httpapi"
)

// storeDeployer is the test's EndpointDeployer: it does what release does
// to the store — the deployment stored Creating, then Succeeded, with all
// traffic when asked — through the real SQL store, and runs nothing.
type storeDeployer struct {
	store hangar.EndpointService
	mu    sync.Mutex
	calls []string
}

func (d *storeDeployer) record(s string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls = append(d.calls, s)
}

func (d *storeDeployer) Deploy(ctx context.Context, ws string, dep *hangar.OnlineDeployment, allTraffic bool) error {
	if err := d.store.CreateOnlineDeployment(ctx, ws, dep); err != nil {
		return err
	}
	d.record("deploy " + ws + "/" + dep.Endpoint + "/" + dep.Name)
	if _, err := d.store.TransitionOnlineDeployment(ctx, ws, dep.Endpoint, dep.Name, hangar.DeploymentTransition{
		From: []hangar.ProvisioningState{hangar.StateCreating}, To: hangar.StateSucceeded,
	}); err != nil {
		return err
	}
	if allTraffic {
		_, err := d.store.SetTraffic(ctx, ws, dep.Endpoint, map[string]int{dep.Name: 100}, nil, 0)
		return err
	}
	return nil
}

func (d *storeDeployer) Redeploy(ctx context.Context, ws, endpoint, name string, t hangar.DeploymentTransition) (*hangar.OnlineDeployment, error) {
	t.To = hangar.StateUpdating
	out, err := d.store.TransitionOnlineDeployment(ctx, ws, endpoint, name, t)
	if err != nil {
		return nil, err
	}
	d.record("redeploy " + ws + "/" + endpoint + "/" + name)
	if _, err := d.store.TransitionOnlineDeployment(ctx, ws, endpoint, name, hangar.DeploymentTransition{
		From: []hangar.ProvisioningState{hangar.StateUpdating}, To: hangar.StateSucceeded,
	}); err != nil {
		return nil, err
	}
	return out, nil
}

func (d *storeDeployer) Logs(ctx context.Context, ws, endpoint, name string, lines int) ([]string, error) {
	all := []string{"line 1", "line 2", "line 3"}
	return all[max(0, len(all)-lines):], nil
}

func (d *storeDeployer) Token(ctx context.Context, ws, endpoint string) (string, time.Time, error) {
	return "tok-" + endpoint, time.Now().Add(time.Hour), nil
}

type endpointEnv struct {
	*env
	dep      *storeDeployer
	tok      string            // a server-wide Owner's
	files    map[string]string // the model's files
	digest   hangar.Digest     // their manifest
	code     hangar.Digest     // a code snapshot of the default workspace
	codeElse hangar.Digest     // a code snapshot only workspace other owns
}

func newEndpointEnv(t *testing.T) *endpointEnv {
	ee := &endpointEnv{dep: &storeDeployer{}}
	ee.env = newEnvWith(t, func(s *httpapi.Server) {
		ee.dep.store = s.Endpoints
		s.Deployer = ee.dep
	})
	ctx := t.Context()
	ee.tok = ee.adminToken()
	ee.createWorkspace("other")
	ee.files = map[string]string{"MLmodel": "artifact_path: model\nflavors: {}\n", "model.json": `{"trees":[]}`}
	ee.digest = ee.registerModel("", "m", ee.files)
	ee.registerModel("/w/other", "m", ee.files)
	// m2 is never deployed: its manifest is not stored.
	ee.registerModel("", "m2", map[string]string{"MLmodel": "artifact_path: model\nflavors: {}\n", "model.json": `{"trees":[1]}`})
	if r := ee.mlflow("POST", "/api/2.0/mlflow/registered-models/create", ee.tok, `{"name":"ext"}`); r.status != http.StatusOK {
		t.Fatalf("create model ext: %d %s", r.status, r.body)
	}
	if r := ee.mlflow("POST", "/api/2.0/mlflow/model-versions/create", ee.tok, `{"name":"ext","source":"s3://bucket/models/ext"}`); r.status != http.StatusOK {
		t.Fatalf("create version of ext: %d %s", r.status, r.body)
	}
	for _, ws := range []string{hangar.DefaultWorkspace, "other"} {
		if _, err := ee.admin.CreateEnvironment(ctx, &hangar.Environment{Workspace: ws, Name: "py", Version: "1", Image: "python:3.12"}); err != nil {
			t.Fatalf("create environment in %s: %v", ws, err)
		}
	}
	put := func(ws, script string) hangar.Digest {
		info, _, err := artifact.PutDir(ctx, ee.admin.BlobStore(ws), fstest.MapFS{script: {Data: []byte("def init(): pass\ndef run(d): return d\n")}})
		if err != nil {
			t.Fatalf("put code in %s: %v", ws, err)
		}
		return info.Digest
	}
	ee.code = put(hangar.DefaultWorkspace, "score.py")
	ee.codeElse = put("other", "score_other.py")
	return ee
}

// registerModel registers model name version 1 in the workspace of the
// MLflow prefix, its files logged to a run, and returns their manifest
// digest.
func (e *endpointEnv) registerModel(prefix, name string, files map[string]string) hangar.Digest {
	t := e.t.(*testing.T)
	runID, uri := e.newMLflowRun(prefix, e.tok)
	root := strings.TrimPrefix(uri, "mlflow-artifacts:/")
	var entries []hangar.ManifestEntry
	for p, body := range files {
		if r := e.putArtifact(prefix, e.tok, root+"/model/"+p, body, "application/octet-stream"); r.status != http.StatusOK {
			t.Fatalf("put %s: %d %s", p, r.status, r.body)
		}
		entries = append(entries, hangar.ManifestEntry{Path: p, Digest: digestOf(body), Size: int64(len(body))})
	}
	if r := e.mlflow("POST", prefix+"/api/2.0/mlflow/registered-models/create", e.tok, `{"name":"`+name+`"}`); r.status != http.StatusOK {
		t.Fatalf("create model: %d %s", r.status, r.body)
	}
	body := `{"name":"` + name + `","source":"runs:/` + runID + `/model","run_id":"` + runID + `"}`
	if r := e.mlflow("POST", prefix+"/api/2.0/mlflow/model-versions/create", e.tok, body); r.status != http.StatusOK {
		t.Fatalf("create version: %d %s", r.status, r.body)
	}
	d, err := hangar.ModelContentDigest(entries)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// state renders what the endpoint routes can change in a workspace, read
// from the store (keys aside: reading them is audited), and the count
// of audit events.
func (e *endpointEnv) state(ws string) string {
	t := e.t
	ctx := t.Context()
	all := hangar.ListOptions{MaxResults: hangar.MaxMaxResults}
	eps, err := e.api.Endpoints.ListOnlineEndpoints(ctx, ws, all)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, ep := range eps.Items {
		deps, err := e.api.Endpoints.ListOnlineDeployments(ctx, ws, ep.Name, all)
		if err != nil {
			t.Fatal(err)
		}
		s, _ := jsonString(map[string]any{"endpoint": ep, "deployments": deps.Items})
		b.WriteString(s + "\n")
	}
	return b.String() + e.snapshot()
}

func minimalDeployment(endpoint, name string) *hangar.OnlineDeployment {
	return &hangar.OnlineDeployment{Endpoint: endpoint, Name: name, Spec: hangar.DeploymentSpec{ModelName: "m", ModelVersion: "1"}}
}

func (e *endpointEnv) lastEvent() *hangar.Event {
	ev := e.events()
	return ev[len(ev)-1]
}

// TestOnlineEndpointLifecycle drives every online endpoint route through
// the client against the real server and store: create, deploy blue with
// all traffic, deploy green with a scoring script, shift traffic with the
// version read, keys, token, logs, redeploy, delete.
func TestOnlineEndpointLifecycle(t *testing.T) {
	e := newEndpointEnv(t)
	ctx := t.Context()
	ws := hangar.DefaultWorkspace
	ds := e.client("ds", hangar.RoleDataScientist, ws)
	dep := ds.Deployer()

	ep := &hangar.OnlineEndpoint{Name: "ep1", Description: "churn", Tags: map[string]string{"team": "a"}}
	if err := ds.CreateOnlineEndpoint(ctx, ws, ep); err != nil {
		t.Fatalf("create endpoint: %v", err)
	}
	if ep.Workspace != ws || ep.Version != 1 || ep.AuthMode != hangar.EndpointAuthKey || ep.State != hangar.StateSucceeded ||
		ep.ScoringPath != hangar.OnlineEndpointScoringPath(ws, "ep1") || ep.CreatedBy != "ds" {
		t.Fatalf("create endpoint: got %+v, want version 1, key auth, Succeeded, its scoring path, by ds", ep)
	}
	if ev := e.lastEvent(); ev.Action != hangar.ActOnlineEndpointWrite || ev.Target != "onlineEndpoints/ep1" || ev.Actor != "ds" {
		t.Errorf("create endpoint: last event %+v, want onlineEndpoints/write on onlineEndpoints/ep1 by ds", ev)
	}

	// A minimal deployment gets Azure's defaults and the model's files pinned.
	blue := minimalDeployment("ep1", "blue")
	if err := dep.Deploy(ctx, ws, blue, true); err != nil {
		t.Fatalf("deploy blue: %v", err)
	}
	sp := blue.Spec
	if blue.State != hangar.StateCreating || blue.Version != 1 || sp.ModelDigest != e.digest || sp.InstanceCount != 1 ||
		sp.Request.RequestTimeoutMS != 5000 || sp.Request.MaxConcurrentRequestsPerInstance != 1 ||
		sp.Liveness != (hangar.Probe{InitialDelay: 10, Period: 10, Timeout: 2, SuccessThreshold: 1, FailureThreshold: 30}) || sp.Readiness != sp.Liveness {
		t.Fatalf("deploy blue: got %+v, want Creating at version 1 with model digest %s and the default settings", blue, e.digest)
	}
	m, err := artifact.ReadManifest(ctx, e.api.Blobs, sp.ModelDigest)
	if err != nil || len(m.Files) != len(e.files) || m.Files[0].Path != "MLmodel" || m.Files[0].Digest != digestOf(e.files["MLmodel"]) {
		t.Fatalf("model manifest %s: got %+v, %v, want the model's %d files", sp.ModelDigest, m, err, len(e.files))
	}
	if _, err := e.api.BlobIndex.WorkspaceBlob(ctx, ws, sp.ModelDigest); err != nil {
		t.Errorf("model manifest: not owned by %s: %v", ws, err)
	}
	got, err := ds.OnlineDeployment(ctx, ws, "ep1", "blue")
	if err != nil || got.State != hangar.StateSucceeded {
		t.Fatalf("blue after deploy: got %+v, %v, want Succeeded", got, err)
	}
	if ep, err = ds.OnlineEndpoint(ctx, ws, "ep1"); err != nil || hangar.FormatTraffic(ep.Traffic) != "blue=100" {
		t.Fatalf("traffic after deploy --all-traffic: got %+v, %v, want blue=100", ep, err)
	}

	green := minimalDeployment("ep1", "green")
	green.Spec.EnvironmentName, green.Spec.EnvironmentVersion = "py", "1"
	green.Spec.CodeDigest, green.Spec.ScoringScript = e.code, "score.py"
	green.Spec.InstanceCount = 2
	if err := dep.Deploy(ctx, ws, green, false); err != nil {
		t.Fatalf("deploy green: %v", err)
	}
	if green.Spec.InstanceCount != 2 || green.Spec.CodeDigest != e.code {
		t.Errorf("deploy green: got %+v, want its own instance count and code", green.Spec)
	}
	page, err := ds.ListOnlineDeployments(ctx, ws, "ep1", hangar.ListOptions{})
	if err != nil || len(page.Items) != 2 || page.Items[0].Name != "blue" || page.Items[1].Name != "green" {
		t.Fatalf("list deployments: got %+v, %v, want blue and green", page, err)
	}

	// Traffic moves by compare-and-set on the version read.
	ep, err = ds.SetTraffic(ctx, ws, "ep1", map[string]int{"blue": 90, "green": 10}, nil, ep.Version)
	if err != nil || hangar.FormatTraffic(ep.Traffic) != "blue=90 green=10" {
		t.Fatalf("set traffic: got %+v, %v", ep, err)
	}
	_, err = ds.SetTraffic(ctx, ws, "ep1", map[string]int{"blue": 100, "green": 0}, nil, ep.Version-1)
	wantErrCode(t, "set traffic on a stale version", err, hangar.ECONFLICT)
	if !strings.Contains(hangar.ErrorMessage(err), "read it again") {
		t.Errorf("stale version: message %q, want it to say to read the endpoint again", hangar.ErrorMessage(err))
	}

	// Description and traffic in one patch: traffic is applied last.
	desc := "churn v2"
	r := e.do("PATCH", "/api/v1/workspaces/default/online-endpoints/ep1", e.tok,
		`{"description":"churn v2","traffic":{"blue":50,"green":50},"mirror_traffic":{},"version":`+jsonInt(ep.Version)+`}`)
	if r.status != http.StatusOK {
		t.Fatalf("patch description and traffic: %d %s", r.status, r.body)
	}
	var patched hangar.OnlineEndpoint
	if err := json.Unmarshal(r.body, &patched); err != nil {
		t.Fatal(err)
	}
	if patched.Description != desc || hangar.FormatTraffic(patched.Traffic) != "blue=50 green=50" || patched.Version != ep.Version+2 {
		t.Fatalf("patch: got %+v, want the description, blue=50 green=50, version %d", patched, ep.Version+2)
	}
	if ev := e.events(); ev[len(ev)-2].Target != "onlineEndpoints/ep1" || ev[len(ev)-1].Target != "onlineEndpoints/ep1" {
		t.Errorf("patch: last events %+v %+v, want two changes of onlineEndpoints/ep1", ev[len(ev)-2], ev[len(ev)-1])
	}
	ep = &patched

	// Keys: list, regenerate one, the other stays.
	k1, err := ds.EndpointKeys(ctx, ws, "ep1")
	if err != nil || k1.Primary == "" || k1.Secondary == "" || k1.Primary == k1.Secondary {
		t.Fatalf("keys: got %+v, %v", k1, err)
	}
	if ev := e.lastEvent(); ev.Action != hangar.ActOnlineEndpointListKeys || strings.Contains(ev.Detail, k1.Primary) {
		t.Errorf("list keys: last event %+v, want onlineEndpoints/listKeys without the keys", ev)
	}
	k2, err := ds.RegenerateKey(ctx, ws, "ep1", hangar.KeySecondary)
	if err != nil || k2.Primary != k1.Primary || k2.Secondary == k1.Secondary {
		t.Fatalf("regenerate secondary: got %+v, %v, want the primary kept and a new secondary", k2, err)
	}
	r = e.do("POST", "/api/v1/workspaces/default/online-endpoints/ep1/list-keys", e.tok, "")
	if cc := r.header.Get("Cache-Control"); r.status != http.StatusOK || cc != "no-store" {
		t.Errorf("list-keys: status %d, Cache-Control %q, want 200 and no-store", r.status, cc)
	}
	if logs := e.logs.String(); strings.Contains(logs, k2.Primary) || strings.Contains(logs, k2.Secondary) {
		t.Errorf("a key was logged: %s", logs)
	}

	// Tokens: only for aml_token endpoints.
	_, _, err = dep.Token(ctx, ws, "ep1")
	wantErrCode(t, "token of a key endpoint", err, hangar.EINVALID)
	if err := ds.CreateOnlineEndpoint(ctx, ws, &hangar.OnlineEndpoint{Name: "ep-tok", AuthMode: hangar.EndpointAuthToken}); err != nil {
		t.Fatal(err)
	}
	r = e.do("POST", "/api/v1/workspaces/default/online-endpoints/ep-tok/token", e.tok, "")
	var tok httpapi.EndpointToken
	if r.status != http.StatusOK || json.Unmarshal(r.body, &tok) != nil || tok.AccessToken != "tok-ep-tok" || tok.TokenType != "Bearer" ||
		tok.ExpiryTimeUTC <= time.Now().Unix() || tok.RefreshAfterTimeUTC >= tok.ExpiryTimeUTC || tok.RefreshAfterTimeUTC < time.Now().Unix() {
		t.Fatalf("token: %d %s, want Azure's token answer, refreshed before it expires", r.status, r.body)
	}
	if s, exp, err := dep.Token(ctx, ws, "ep-tok"); err != nil || s != "tok-ep-tok" || exp.Unix() != tok.ExpiryTimeUTC {
		t.Errorf("client token: got %q %v %v", s, exp, err)
	}

	lines, err := dep.Logs(ctx, ws, "ep1", "blue", 2)
	if err != nil || strings.Join(lines, "|") != "line 2|line 3" {
		t.Errorf("logs: got %q, %v, want the last 2 lines", lines, err)
	}

	// Description alone: 200, no redeploy; a spec: 202, redeployed.
	note := "the blue one"
	d, err := ds.TransitionOnlineDeployment(ctx, ws, "ep1", "blue", hangar.DeploymentTransition{Description: &note})
	if err != nil || d.Description != note || d.State != hangar.StateSucceeded {
		t.Fatalf("describe blue: got %+v, %v", d, err)
	}
	ns := green.Spec
	ns.ModelDigest, ns.InstanceCount = "", 3
	d, err = dep.Redeploy(ctx, ws, "ep1", "green", hangar.DeploymentTransition{Spec: &ns, Version: green.Version + 1})
	if err != nil || d.State != hangar.StateUpdating || d.Spec.InstanceCount != 3 || d.Spec.ModelDigest != e.digest {
		t.Fatalf("redeploy green: got %+v, %v, want Updating with 3 instances and the model pinned", d, err)
	}
	if d, err = ds.OnlineDeployment(ctx, ws, "ep1", "green"); err != nil || d.State != hangar.StateSucceeded || d.Spec.InstanceCount != 3 {
		t.Fatalf("green after redeploy: got %+v, %v", d, err)
	}
	_, err = dep.Redeploy(ctx, ws, "ep1", "green", hangar.DeploymentTransition{Spec: &ns, Version: 1})
	wantErrCode(t, "redeploy a stale version", err, hangar.ECONFLICT)

	// A deployment with traffic stays; with none it goes.
	wantErrCode(t, "delete green with traffic", ds.DeleteOnlineDeployment(ctx, ws, "ep1", "green"), hangar.ECONFLICT)
	if _, err := ds.SetTraffic(ctx, ws, "ep1", map[string]int{"blue": 100, "green": 0}, nil, 0); err != nil {
		t.Fatal(err)
	}
	if err := ds.DeleteOnlineDeployment(ctx, ws, "ep1", "green"); err != nil {
		t.Fatalf("delete green: %v", err)
	}
	if ev := e.lastEvent(); ev.Action != hangar.ActOnlineDeploymentDelete || ev.Target != "onlineEndpoints/ep1/deployments/green" {
		t.Errorf("delete green: last event %+v", ev)
	}
	_, err = ds.OnlineDeployment(ctx, ws, "ep1", "green")
	wantErrCode(t, "green after delete", err, hangar.ENOTFOUND)

	eps, err := ds.ListOnlineEndpoints(ctx, ws, hangar.ListOptions{})
	if err != nil || len(eps.Items) != 2 || eps.Items[0].Name != "ep-tok" || eps.Items[1].Name != "ep1" {
		t.Fatalf("list endpoints: got %+v, %v", eps, err)
	}
	if err := ds.DeleteOnlineEndpoint(ctx, ws, "ep1"); err != nil {
		t.Fatalf("delete endpoint: %v", err)
	}
	_, err = ds.OnlineDeployment(ctx, ws, "ep1", "blue")
	wantErrCode(t, "blue after its endpoint was deleted", err, hangar.ENOTFOUND)
	if ev := e.lastEvent(); ev.Action != hangar.ActOnlineEndpointDelete || ev.Target != "onlineEndpoints/ep1" {
		t.Errorf("delete endpoint: last event %+v", ev)
	}
	if got := strings.Join(e.dep.calls, ", "); got != "deploy default/ep1/blue, deploy default/ep1/green, redeploy default/ep1/green" {
		t.Errorf("deployer calls: %s", got)
	}
}

func jsonInt(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// TestOnlineEndpointBadInput sends each route bad input: each is refused
// with its status, code and a message naming the problem, and nothing
// changes (the store's endpoints and deployments, the audit log).
func TestOnlineEndpointBadInput(t *testing.T) {
	e := newEndpointEnv(t)
	ctx := t.Context()
	ws := hangar.DefaultWorkspace
	if err := e.admin.CreateOnlineEndpoint(ctx, ws, &hangar.OnlineEndpoint{Name: "ep1"}); err != nil {
		t.Fatal(err)
	}
	if err := e.admin.Deployer().Deploy(ctx, ws, minimalDeployment("ep1", "blue"), true); err != nil {
		t.Fatal(err)
	}
	if err := e.admin.CreateOnlineEndpoint(ctx, "other", &hangar.OnlineEndpoint{Name: "ep-other"}); err != nil {
		t.Fatal(err)
	}
	if err := e.admin.Deployer().Deploy(ctx, "other", minimalDeployment("ep-other", "red"), false); err != nil {
		t.Fatal(err)
	}
	if err := e.admin.CreateOnlineEndpoint(ctx, ws, &hangar.OnlineEndpoint{Name: "ep-tok", AuthMode: hangar.EndpointAuthToken}); err != nil {
		t.Fatal(err)
	}
	tokKeys, err := e.api.Endpoints.EndpointKeys(ctx, ws, "ep-tok")
	if err != nil {
		t.Fatal(err)
	}
	ep, err := e.admin.OnlineEndpoint(ctx, ws, "ep1")
	if err != nil {
		t.Fatal(err)
	}
	reader := e.token("reader", hangar.RoleReader, ws)
	ds := e.token("ds", hangar.RoleDataScientist, ws)
	const base = "/api/v1/workspaces/default/online-endpoints"
	deployment := func(spec string) string {
		return `{"name":"green","spec":{"model_name":"m","model_version":"1"` + spec + `}}`
	}
	stale := jsonInt(ep.Version - 1)
	if ep.Version < 2 {
		t.Fatalf("endpoint version %d: want at least 2 after the traffic change", ep.Version)
	}
	tests := []struct {
		name, method, path, token, body string
		status                          int
		code, message                   string
	}{
		{"create: malformed JSON", "POST", base, ds, `{"name":`, 400, hangar.EINVALID, "JSON"},
		{"create: unknown field", "POST", base, ds, `{"name":"ep2","colour":"blue"}`, 400, hangar.EINVALID, "colour"},
		{"create: bad name", "POST", base, ds, `{"name":"2ep"}`, 400, hangar.EINVALID, "not a valid name"},
		{"create: bad auth_mode", "POST", base, ds, `{"name":"ep2","auth_mode":"aad_token"}`, 400, hangar.EINVALID, "auth_mode"},
		{"create: another workspace in the body", "POST", base, ds, `{"name":"ep2","workspace":"other"}`, 400, hangar.EINVALID, "the one of the path"},
		{"create: exists", "POST", base, ds, `{"name":"ep1"}`, 409, hangar.ECONFLICT, "already exists"},
		{"create: reader", "POST", base, reader, `{"name":"ep2"}`, 403, hangar.EFORBIDDEN, hangar.ActOnlineEndpointWrite},
		{"show: another workspace's endpoint", "GET", base + "/ep-other", ds, "", 404, hangar.ENOTFOUND, "ep-other not found"},
		{"show: outsider", "GET", "/api/v1/workspaces/other/online-endpoints/ep-other", ds, "", 403, hangar.EFORBIDDEN, hangar.ActOnlineEndpointRead},

		{"patch: nothing", "PATCH", base + "/ep1", ds, `{}`, 400, hangar.EINVALID, "changes nothing"},
		{"patch: unknown field", "PATCH", base + "/ep1", ds, `{"traffic":{"blue":100},"state":"Failed"}`, 400, hangar.EINVALID, "state"},
		{"patch: traffic sum", "PATCH", base + "/ep1", ds, `{"traffic":{"blue":90}}`, 400, hangar.EINVALID, "sums to 90%"},
		{"patch: traffic to a bad name", "PATCH", base + "/ep1", ds, `{"traffic":{"blue":90,"-x":10}}`, 400, hangar.EINVALID, "traffic: deployment"},
		{"patch: traffic to no deployment", "PATCH", base + "/ep1", ds, `{"traffic":{"blue":90,"green":10}}`, 400, hangar.EINVALID, "green"},
		{"patch: mirror above the bound", "PATCH", base + "/ep1", ds, `{"mirror_traffic":{"blue":60}}`, 400, hangar.EINVALID, "at most 50%"},
		{"patch: stale version", "PATCH", base + "/ep1", ds, `{"traffic":{"blue":100},"version":` + stale + `}`, 409, hangar.ECONFLICT, "read it again"},
		{"patch: stale version with a description", "PATCH", base + "/ep1", ds, `{"description":"x","traffic":{"blue":100},"version":` + stale + `}`, 409, hangar.ECONFLICT, "read it again"},
		{"patch: traffic to no deployment with a description", "PATCH", base + "/ep1", ds, `{"description":"x","traffic":{"blue":90,"green":10}}`, 400, hangar.EINVALID, "names deployment green, which does not exist"},
		{"patch: bad traffic with a description", "PATCH", base + "/ep1", ds, `{"description":"x","traffic":{"blue":101}}`, 400, hangar.EINVALID, "0 to 100"},
		{"patch: reader", "PATCH", base + "/ep1", reader, `{"description":"x"}`, 403, hangar.EFORBIDDEN, hangar.ActOnlineEndpointWrite},
		{"patch: missing endpoint", "PATCH", base + "/ep9", ds, `{"description":"x"}`, 404, hangar.ENOTFOUND, "ep9 not found"},
		{"delete: reader", "DELETE", base + "/ep1", reader, "", 403, hangar.EFORBIDDEN, hangar.ActOnlineEndpointDelete},
		{"delete: another workspace's endpoint", "DELETE", base + "/ep-other", ds, "", 404, hangar.ENOTFOUND, "ep-other not found"},

		{"list-keys: reader", "POST", base + "/ep1/list-keys", reader, "", 403, hangar.EFORBIDDEN, hangar.ActOnlineEndpointListKeys},
		{"regenerate-keys: reader", "POST", base + "/ep1/regenerate-keys", reader, `{"key_type":"primary"}`, 403, hangar.EFORBIDDEN, hangar.ActOnlineEndpointListKeys},
		{"regenerate-keys: bad key type", "POST", base + "/ep1/regenerate-keys", ds, `{"key_type":"tertiary"}`, 400, hangar.EINVALID, "key_type"},
		{"regenerate-keys: unknown field", "POST", base + "/ep1/regenerate-keys", ds, `{"key":"primary"}`, 400, hangar.EINVALID, "key"},
		{"regenerate-keys: aml_token endpoint", "POST", base + "/ep-tok/regenerate-keys", ds, `{"key_type":"primary"}`, 400, hangar.EINVALID, "online endpoint ep-tok authenticates callers with aml_token, not keys: its keys are not regenerated"},
		{"regenerate-keys: missing endpoint", "POST", base + "/ep9/regenerate-keys", ds, `{"key_type":"primary"}`, 404, hangar.ENOTFOUND, "ep9 not found"},
		{"token: key endpoint", "POST", base + "/ep1/token", ds, "", 400, hangar.EINVALID, "list-keys"},
		{"token: missing endpoint", "POST", base + "/ep9/token", ds, "", 404, hangar.ENOTFOUND, "ep9 not found"},

		{"deploy: malformed JSON", "POST", base + "/ep1/deployments", ds, `{"name":"green",`, 400, hangar.EINVALID, "JSON"},
		{"deploy: unknown field", "POST", base + "/ep1/deployments", ds, `{"name":"green","spec":{"model":"m"}}`, 400, hangar.EINVALID, "model"},
		{"deploy: bad name", "POST", base + "/ep1/deployments", ds, `{"name":"green_1","spec":{"model_name":"m","model_version":"1"}}`, 400, hangar.EINVALID, "deployment name"},
		{"deploy: another endpoint in the body", "POST", base + "/ep1/deployments", ds, `{"name":"green","endpoint":"ep2","spec":{"model_name":"m","model_version":"1"}}`, 400, hangar.EINVALID, "the one of the path"},
		{"deploy: another workspace in the body", "POST", base + "/ep1/deployments", ds, `{"name":"green","workspace":"other","spec":{"model_name":"m","model_version":"1"}}`, 400, hangar.EINVALID, "the one of the path"},
		{"deploy: no model version", "POST", base + "/ep1/deployments", ds, `{"name":"green","spec":{"model_name":"m"}}`, 400, hangar.EINVALID, "pins a model version"},
		{"deploy: missing model version", "POST", base + "/ep1/deployments", ds, `{"name":"green","spec":{"model_name":"m","model_version":"9"}}`, 400, hangar.EINVALID, "spec.model_version: model m version 9 not found in workspace default"},
		{"deploy: missing model", "POST", base + "/ep1/deployments", ds, `{"name":"green","spec":{"model_name":"nope","model_version":"1"}}`, 400, hangar.EINVALID, "spec.model_version: model nope version 1 not found"},
		{"deploy: model stored elsewhere", "POST", base + "/ep1/deployments", ds, `{"name":"green","spec":{"model_name":"ext","model_version":"1"}}`, 400, hangar.EINVALID, "spec.model_version: model ext:1 is stored at s3://bucket/models/ext, outside this server's artifact store: only a model whose files the server holds can be deployed"},
		{"deploy: new model, missing environment", "POST", base + "/ep1/deployments", ds, `{"name":"green","spec":{"model_name":"m2","model_version":"1","environment_name":"py","environment_version":"7"}}`, 400, hangar.EINVALID, "environment py version 7 not found"},
		{"deploy: model digest of other files", "POST", base + "/ep1/deployments", ds, deployment(`,"model_digest":"` + string(e.code) + `"`), 400, hangar.EINVALID, "spec.model_digest"},
		{"deploy: missing environment", "POST", base + "/ep1/deployments", ds, deployment(`,"environment_name":"py","environment_version":"7"`), 400, hangar.EINVALID, "environment py version 7 not found"},
		{"deploy: code digest not owned", "POST", base + "/ep1/deployments", ds, deployment(`,"environment_name":"py","environment_version":"1","code_digest":"` + string(e.codeElse) + `","scoring_script":"score_other.py"`), 400, hangar.EINVALID, "spec.code_digest: code snapshot"},
		{"deploy: code digest not a snapshot", "POST", base + "/ep1/deployments", ds, deployment(`,"environment_name":"py","environment_version":"1","code_digest":"` + string(digestOf(e.files["MLmodel"])) + `","scoring_script":"score.py"`), 400, hangar.EINVALID, "spec.code_digest"},
		{"deploy: scoring script not in the code", "POST", base + "/ep1/deployments", ds, deployment(`,"environment_name":"py","environment_version":"1","code_digest":"` + string(e.code) + `","scoring_script":"main.py"`), 400, hangar.EINVALID, "spec.scoring_script main.py"},
		{"deploy: script without environment", "POST", base + "/ep1/deployments", ds, deployment(`,"code_digest":"` + string(e.code) + `","scoring_script":"score.py"`), 400, hangar.EINVALID, "environment to run in"},
		{"deploy: instance count", "POST", base + "/ep1/deployments", ds, deployment(`,"instance_count":65`), 400, hangar.EINVALID, "instance_count 65"},
		{"deploy: request timeout", "POST", base + "/ep1/deployments", ds, deployment(`,"request_settings":{"request_timeout_ms":180001}`), 400, hangar.EINVALID, "request_timeout_ms 180001"},
		{"deploy: all_traffic", "POST", base + "/ep1/deployments?all_traffic=yes", ds, deployment(""), 400, hangar.EINVALID, "all_traffic"},
		{"deploy: exists", "POST", base + "/ep1/deployments", ds, `{"name":"blue","spec":{"model_name":"m","model_version":"1"}}`, 409, hangar.ECONFLICT, "already exists"},
		{"deploy: missing endpoint", "POST", base + "/ep9/deployments", ds, deployment(""), 404, hangar.ENOTFOUND, "ep9 not found"},
		{"deploy: another workspace's endpoint", "POST", base + "/ep-other/deployments", ds, deployment(""), 404, hangar.ENOTFOUND, "ep-other not found"},
		{"deploy: reader", "POST", base + "/ep1/deployments", reader, deployment(""), 403, hangar.EFORBIDDEN, hangar.ActOnlineDeploymentWrite},

		{"show deployment: another workspace's", "GET", base + "/ep-other/deployments/red", ds, "", 404, hangar.ENOTFOUND, "not found"},
		{"show deployment: missing", "GET", base + "/ep1/deployments/red", ds, "", 404, hangar.ENOTFOUND, "red not found"},
		{"list deployments: another workspace's", "GET", base + "/ep-other/deployments", ds, "", 404, hangar.ENOTFOUND, "ep-other not found"},
		{"patch deployment: nothing", "PATCH", base + "/ep1/deployments/blue", ds, `{}`, 400, hangar.EINVALID, "changes nothing"},
		{"patch deployment: state", "PATCH", base + "/ep1/deployments/blue", ds, `{"provisioning_state":"Failed"}`, 400, hangar.EINVALID, "provisioning_state"},
		{"patch deployment: missing model version", "PATCH", base + "/ep1/deployments/blue", ds, `{"spec":{"model_name":"m","model_version":"9"}}`, 400, hangar.EINVALID, "model m version 9 not found"},
		{"patch deployment: stale version", "PATCH", base + "/ep1/deployments/blue", ds, `{"description":"x","version":1}`, 409, hangar.ECONFLICT, "version"},
		{"patch deployment: another workspace's", "PATCH", base + "/ep-other/deployments/red", ds, `{"spec":{"model_name":"m","model_version":"1"}}`, 404, hangar.ENOTFOUND, "not found"},
		{"patch deployment: reader", "PATCH", base + "/ep1/deployments/blue", reader, `{"description":"x"}`, 403, hangar.EFORBIDDEN, hangar.ActOnlineDeploymentWrite},
		{"delete deployment: takes traffic", "DELETE", base + "/ep1/deployments/blue", ds, "", 409, hangar.ECONFLICT, "set its traffic to 0"},
		{"delete deployment: another workspace's", "DELETE", base + "/ep-other/deployments/red", ds, "", 404, hangar.ENOTFOUND, "not found"},
		{"delete deployment: reader", "DELETE", base + "/ep1/deployments/blue", reader, "", 403, hangar.EFORBIDDEN, hangar.ActOnlineDeploymentDelete},
		{"logs: lines 0", "GET", base + "/ep1/deployments/blue/logs?lines=0", ds, "", 400, hangar.EINVALID, "lines"},
		{"logs: lines too many", "GET", base + "/ep1/deployments/blue/logs?lines=10001", ds, "", 400, hangar.EINVALID, "1 to 10000"},
		{"logs: another workspace's", "GET", base + "/ep-other/deployments/red/logs", ds, "", 404, hangar.ENOTFOUND, "not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.state(ws) + e.state("other")
			r := e.do(tt.method, tt.path, tt.token, tt.body, "Content-Type", "application/json")
			if r.status != tt.status {
				t.Fatalf("%s %s: status %d (%s), want %d", tt.method, tt.path, r.status, r.body, tt.status)
			}
			code, msg := r.envelope(t)
			if code != tt.code || !strings.Contains(msg, tt.message) {
				t.Errorf("%s %s: got %s %q, want %s with %q", tt.method, tt.path, code, msg, tt.code, tt.message)
			}
			if after := e.state(ws) + e.state("other"); after != before {
				t.Errorf("%s %s changed the state:\nbefore %s\nafter  %s", tt.method, tt.path, before, after)
			}
		})
	}
	if got := strings.Join(e.dep.calls, ", "); got != "deploy default/ep1/blue, deploy other/ep-other/red" {
		t.Errorf("deployer calls: %s, want none from refused requests", got)
	}
	if k, err := e.api.Endpoints.EndpointKeys(ctx, ws, "ep-tok"); err != nil || *k != *tokKeys {
		t.Errorf("keys of the aml_token endpoint after a refused regeneration: got %v, %v, want them as they were", k, err)
	}
}

// TestOnlineEndpointKeyRights: reading an endpoint is not reading its
// keys. Reader reads the endpoint but not its keys; Contributor and Data
// Scientist hold onlineEndpoints/listKeys (Contributor through "*", as in
// Azure), so no built-in role writes endpoints without it.
func TestOnlineEndpointKeyRights(t *testing.T) {
	e := newEndpointEnv(t)
	ctx := t.Context()
	ws := hangar.DefaultWorkspace
	if err := e.admin.CreateOnlineEndpoint(ctx, ws, &hangar.OnlineEndpoint{Name: "ep1"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		role    string
		read    bool
		keys    bool
		regen   bool
		keysErr string
	}{
		{hangar.RoleReader, true, false, false, hangar.EFORBIDDEN},
		{hangar.RoleContributor, true, true, true, ""},
		{hangar.RoleDataScientist, true, true, true, ""},
		{hangar.RoleComputeOperator, false, false, false, hangar.EFORBIDDEN},
		{hangar.RoleApprover, false, false, false, hangar.EFORBIDDEN},
	}
	for _, tt := range tests {
		t.Run(tt.role, func(t *testing.T) {
			c := e.client("u-"+strings.ReplaceAll(strings.ToLower(tt.role), " ", "-"), tt.role, ws)
			_, err := c.OnlineEndpoint(ctx, ws, "ep1")
			if (err == nil) != tt.read {
				t.Errorf("read: got %v, want allowed %v", err, tt.read)
			}
			_, err = c.EndpointKeys(ctx, ws, "ep1")
			if (err == nil) != tt.keys || !tt.keys && hangar.ErrorCode(err) != tt.keysErr {
				t.Errorf("list keys: got %v, want allowed %v", err, tt.keys)
			}
			_, err = c.RegenerateKey(ctx, ws, "ep1", hangar.KeyPrimary)
			if (err == nil) != tt.regen {
				t.Errorf("regenerate: got %v, want allowed %v", err, tt.regen)
			}
		})
	}
}

// TestOnlineEndpointsNotEnabled: without an endpoint store every route
// answers 501; without a Deployer the routes that would run a deployment
// answer 501 and store nothing, while the others work.
func TestOnlineEndpointsNotEnabled(t *testing.T) {
	e := newEnvWith(t, func(s *httpapi.Server) { s.Endpoints = nil })
	tok := e.adminToken()
	if r := e.do("GET", "/api/v1/workspaces/default/online-endpoints", tok, ""); r.status != http.StatusNotImplemented {
		t.Errorf("list without a store: %d %s, want 501", r.status, r.body)
	}

	e = newEnv(t) // a store, no Deployer
	ctx := t.Context()
	ws := hangar.DefaultWorkspace
	tok = e.adminToken()
	if err := e.admin.CreateOnlineEndpoint(ctx, ws, &hangar.OnlineEndpoint{Name: "ep1", AuthMode: hangar.EndpointAuthToken}); err != nil {
		t.Fatalf("create endpoint without a deployer: %v", err)
	}
	err := e.admin.Deployer().Deploy(ctx, ws, minimalDeployment("ep1", "blue"), false)
	wantErrCode(t, "deploy without a deployer", err, hangar.ENOTIMPLEMENTED)
	page, err := e.admin.ListOnlineDeployments(ctx, ws, "ep1", hangar.ListOptions{})
	if err != nil || len(page.Items) != 0 {
		t.Fatalf("deployments after a refused deploy: got %+v, %v, want none", page, err)
	}
	_, _, err = e.admin.Deployer().Token(ctx, ws, "ep1")
	wantErrCode(t, "token without a deployer", err, hangar.ENOTIMPLEMENTED)
	_, err = e.admin.Deployer().Logs(ctx, ws, "ep1", "blue", 10)
	wantErrCode(t, "logs without a deployer", err, hangar.ENOTIMPLEMENTED)
	if r := e.do("PATCH", "/api/v1/workspaces/default/online-endpoints/ep1/deployments/blue", tok, `{"spec":{"model_name":"m","model_version":"1"}}`); r.status != http.StatusNotImplemented {
		t.Errorf("redeploy without a deployer: %d %s, want 501", r.status, r.body)
	}
}
