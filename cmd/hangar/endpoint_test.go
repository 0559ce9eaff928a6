package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/disk"
	"github.com/hangar-ml/hangar/httpapi"
	"github.com/hangar-ml/hangar/internal/storetest"
	"github.com/hangar-ml/hangar/sqlstore"
)

// fakeDeployer plays the release controller for the CLI's tests: a
// deployment is stored, then succeeds in the background — or fails with
// the smoke test message its FAIL environment variable holds — and with
// all traffic takes the endpoint's live traffic.
type fakeDeployer struct {
	store hangar.EndpointService
	wg    sync.WaitGroup
}

func (f *fakeDeployer) Deploy(ctx context.Context, ws string, d *hangar.OnlineDeployment, allTraffic bool) error {
	if err := f.store.CreateOnlineDeployment(ctx, ws, d); err != nil {
		return err
	}
	f.finish(ctx, ws, d.Endpoint, d.Name, d.Spec, allTraffic)
	return nil
}

func (f *fakeDeployer) finish(ctx context.Context, ws, endpoint, name string, spec hangar.DeploymentSpec, allTraffic bool) {
	ctx = context.WithoutCancel(ctx)
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		time.Sleep(20 * time.Millisecond)
		to, msg := hangar.StateSucceeded, ""
		if fail := spec.EnvironmentVariables["FAIL"]; fail != "" {
			to, msg = hangar.StateFailed, "smoke test: "+fail
		}
		if _, err := f.store.TransitionOnlineDeployment(ctx, ws, endpoint, name, hangar.DeploymentTransition{To: to, Message: &msg}); err != nil {
			panic(err)
		}
		if to == hangar.StateSucceeded && allTraffic {
			time.Sleep(20 * time.Millisecond) // the CLI waits for the traffic too
			if _, err := f.store.SetTraffic(ctx, ws, endpoint, map[string]int{name: 100}, nil, 0); err != nil {
				panic(err)
			}
		}
	}()
}

func (f *fakeDeployer) Redeploy(ctx context.Context, ws, endpoint, name string, t hangar.DeploymentTransition) (*hangar.OnlineDeployment, error) {
	if t.Spec != nil {
		t.To = hangar.StateUpdating
	}
	d, err := f.store.TransitionOnlineDeployment(ctx, ws, endpoint, name, t)
	if err != nil {
		return nil, err
	}
	if t.Spec != nil {
		f.finish(ctx, ws, endpoint, name, *t.Spec, false)
	}
	return d, nil
}

func (f *fakeDeployer) Logs(_ context.Context, _, endpoint, name string, lines int) ([]string, error) {
	all := []string{"loading model", "worker 1 ready", "smoke test passed: " + endpoint + "/" + name}
	return all[max(0, len(all)-lines):], nil
}

func (f *fakeDeployer) Token(ctx context.Context, ws, endpoint string) (string, time.Time, error) {
	e, err := f.store.OnlineEndpoint(ctx, ws, endpoint)
	if err != nil {
		return "", time.Time{}, err
	}
	if e.AuthMode != hangar.EndpointAuthToken {
		return "", time.Time{}, hangar.Errorf(hangar.EINVALID, "endpoint %s takes keys, not tokens", endpoint)
	}
	return "tok-" + endpoint, time.Now().Add(time.Hour), nil
}

// endpointServer is a real server in the test's process (SQLite store,
// registry, environments, blobs and endpoints) with fakeDeployer, and a
// scorer on the scoring path that checks the endpoint's credentials and
// answers which deployment it chose.
type endpointServer struct {
	*registryServer
	store hangar.EndpointService
}

func newEndpointServer(t *testing.T) *endpointServer {
	t.Helper()
	actx := hangar.WithActor(t.Context(), hangar.Actor{IdentityID: "alice", Name: "alice"})
	dir := t.TempDir()
	db := sqlstore.New(filepath.Join(dir, "hangar.db"))
	db.Sealer = storetest.NewSealer()
	if err := db.Open(actx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	api := httpapi.NewServer()
	ids := sqlstore.NewIdentityService(db)
	api.Workspaces, api.Identities, api.Credentials = sqlstore.NewWorkspaceService(db), ids, ids
	api.Roles, api.Audit, api.Secrets = sqlstore.NewRoleService(db), sqlstore.NewAuditService(db), sqlstore.NewSecretService(db)
	api.Tracking, api.Registry = sqlstore.NewTrackingService(db), sqlstore.NewRegistryService(db)
	api.Environments = sqlstore.NewEnvironmentService(db)
	api.Blobs, api.BlobIndex, api.Artifacts = disk.New(filepath.Join(dir, "blobs")), sqlstore.NewBlobIndex(db), sqlstore.NewArtifactIndex(db)
	store := sqlstore.NewEndpointService(db)
	dep := &fakeDeployer{store: store}
	api.Endpoints, api.Deployer = store, dep
	t.Cleanup(dep.wg.Wait)

	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/workspaces/{ws}/endpoints/{name}/score", func(w http.ResponseWriter, r *http.Request) {
		ws, name := r.PathValue("ws"), r.PathValue("name")
		e, err := store.OnlineEndpoint(actx, ws, name)
		if err != nil {
			http.Error(w, `{"error":"no such endpoint","code":"not_found"}`, http.StatusNotFound)
			return
		}
		keys, err := store.EndpointKeys(actx, ws, name)
		if err != nil {
			t.Error(err)
			return
		}
		cred := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !(cred == keys.Primary || cred == keys.Secondary || e.AuthMode == hangar.EndpointAuthToken && cred == "tok-"+name) {
			http.Error(w, `{"error":"the credential is not a key or token of endpoint `+name+`","code":"unauthorized"}`, http.StatusUnauthorized)
			return
		}
		dep := r.Header.Get("azureml-model-deployment")
		for d, p := range e.Traffic {
			if dep == "" && p == 100 {
				dep = d
			}
		}
		body, _ := io.ReadAll(r.Body)
		b, _ := json.Marshal(map[string]any{"deployment": dep, "request": json.RawMessage(body)})
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
	})
	mux.Handle("/", api.Handler())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	tok, err := ids.IssueToken(actx, &hangar.TokenRequest{Name: "admin", Role: hangar.RoleOwner})
	if err != nil {
		t.Fatal(err)
	}
	return &endpointServer{registryServer: &registryServer{url: srv.URL, token: tok.Secret, api: api}, store: store}
}

// hangar runs the CLI against the server: exit code, stdout, stderr.
func (s *endpointServer) hangar(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	vars := map[string]string{"HANGAR_URL": s.url, "HANGAR_TOKEN": s.token, "HANGAR_HOME": t.TempDir()}
	var out, errOut bytes.Buffer
	code := run(t.Context(), args, strings.NewReader(""), &out, &errOut, func(k string) string { return vars[k] })
	return code, out.String(), errOut.String()
}

func (s *endpointServer) ok(t *testing.T, args ...string) (string, string) {
	t.Helper()
	code, out, errOut := s.hangar(t, args...)
	if code != 0 {
		t.Fatalf("hangar %s: exit %d\n%s", strings.Join(args, " "), code, errOut)
	}
	return out, errOut
}

func (s *endpointServer) fails(t *testing.T, want string, args ...string) string {
	t.Helper()
	code, out, errOut := s.hangar(t, args...)
	if code == 0 || !strings.Contains(errOut, want) {
		t.Fatalf("hangar %s: exit %d\n%s%s\nwant a failure saying %q", strings.Join(args, " "), code, out, errOut, want)
	}
	return errOut
}

func wantIn(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("%s: got\n%s\nwant %q in it", what, got, w)
		}
	}
}

// TestOnlineEndpointCommands drives Azure's safe-rollout sequence
// through the CLI: endpoint, blue with all traffic, green at 0%, a
// canary split, green tried by name, promotion, blue deleted, keys
// regenerated — and the failures a user meets on the way.
func TestOnlineEndpointCommands(t *testing.T) {
	s := newEndpointServer(t)
	dir := filepath.Dir(fixture(t, "endpoint.yml"))
	in := func(f string) string { return filepath.Join(dir, f) }

	out, _ := s.ok(t, "online-endpoint", "create", "-f", in("endpoint.yml"))
	ep := decodeInto[map[string]any](t, out)
	if ep["name"] != "my-endpoint" || ep["auth_mode"] != "key" || ep["scoring_uri"] != s.url+"/api/v1/workspaces/default/endpoints/my-endpoint/score" {
		t.Errorf("created endpoint: got %s", out)
	}
	s.fails(t, "my-endpoint", "online-endpoint", "create", "-f", in("endpoint.yml"))
	s.fails(t, "endpoint other: traffic names deployment blue (100%), which does not exist: a new endpoint has no deployments",
		"online-endpoint", "create", "-f", in("endpoint.yml"), "-n", "other", "--set", "traffic.blue=100")
	s.fails(t, `endpoint.yml: --set auth_mode=aad_token: auth_mode aad_token: Microsoft Entra ID tokens do not score online endpoints here`,
		"online-endpoint", "create", "-f", in("endpoint.yml"), "-n", "other", "--set", "auth_mode=aad_token")

	// blue takes all traffic once it succeeded.
	out, errOut := s.ok(t, "online-deployment", "create", "-f", in("blue-deployment.yml"), "--all-traffic", "--sample-request", in("sample-request.json"))
	wantIn(t, "create blue: stderr", errOut, "blue-deployment.yml: model registered as my-endpoint-blue:1", "environment registered as my-endpoint-blue-env:1",
		"online-deployment blue: Creating (", "online-deployment blue: Succeeded (", "online-deployment blue takes all the live traffic of endpoint my-endpoint")
	blue := decodeInto[hangar.OnlineDeployment](t, out)
	var sample bytes.Buffer
	json.Compact(&sample, blue.Spec.SampleRequest)
	if blue.State != hangar.StateSucceeded || blue.Spec.ModelName != "my-endpoint-blue" || blue.Spec.ModelDigest == "" || sample.String() != `{"data":[[1,2]]}` {
		t.Errorf("blue: got %s", out)
	}
	out, _ = s.ok(t, "online-endpoint", "show", "-n", "my-endpoint", "--query", "traffic", "-o", "json")
	wantIn(t, "traffic after blue", out, `"blue": 100`)
	out, _ = s.ok(t, "online-endpoint", "invoke", "-n", "my-endpoint", "--request-file", in("sample-request.json"))
	if out != `{"deployment":"blue","request":{"data":[[1,2]]}}`+"\n" {
		t.Errorf("invoke: got %q", out)
	}
	s.fails(t, "online-deployment blue of endpoint my-endpoint exists: change it with online-deployment update",
		"online-deployment", "create", "-f", in("blue-deployment.yml"))

	// green at 0%, tried by name, then a canary.
	_, errOut = s.ok(t, "online-deployment", "create", "-f", in("blue-deployment.yml"), "-n", "green")
	wantIn(t, "create green: stderr", errOut, "model registered as my-endpoint-green:1", "online-deployment green: Succeeded")
	out, _ = s.ok(t, "online-endpoint", "show", "-n", "my-endpoint", "--query", "traffic")
	if strings.Contains(out, "green") && !strings.Contains(out, `"green": 0`) {
		t.Errorf("green took traffic without --all-traffic: %s", out)
	}
	out, _ = s.ok(t, "online-endpoint", "invoke", "-n", "my-endpoint", "--request-file", in("sample-request.json"), "--deployment-name", "green")
	wantIn(t, "invoke green", out, `"deployment":"green"`)
	out, _ = s.ok(t, "online-endpoint", "update", "-n", "my-endpoint", "--traffic", "blue=90 green=10", "-o", "table")
	wantIn(t, "canary", out, `{"blue":90,"green":10}`)
	s.fails(t, "deployment green takes live traffic (10%) and mirrored traffic (10%)", "online-endpoint", "update", "-n", "my-endpoint", "--mirror-traffic", "green=10")
	s.fails(t, "traffic sums to 110%", "online-endpoint", "update", "-n", "my-endpoint", "--traffic", "blue=100 green=10")
	s.fails(t, `traffic "blue:100": want <deployment>=<percent> pairs`, "online-endpoint", "update", "-n", "my-endpoint", "--traffic", "blue:100")

	// A deployment that fails its smoke test leaves the traffic alone.
	errOut = s.fails(t, "online-deployment bad of endpoint my-endpoint failed: smoke test: boom",
		"online-deployment", "create", "-f", in("blue-deployment.yml"), "-n", "bad", "--set", "environment_variables.FAIL=boom", "--all-traffic")
	wantIn(t, "failed deployment's progress", errOut, "online-deployment bad: Failed: smoke test: boom (")
	out, _ = s.ok(t, "online-endpoint", "show", "-n", "my-endpoint", "--query", "traffic")
	wantIn(t, "traffic after a failed deployment", out, `"blue": 90`, `"green": 10`)
	s.ok(t, "online-deployment", "delete", "-n", "bad", "-e", "my-endpoint", "--yes")

	// Promote green, delete blue.
	s.fails(t, "", "online-deployment", "delete", "-n", "blue", "-e", "my-endpoint", "--yes")
	s.ok(t, "online-endpoint", "update", "-n", "my-endpoint", "--traffic", "blue=0 green=100")
	s.fails(t, "not deleted: confirm, or pass --yes", "online-deployment", "delete", "-n", "blue", "-e", "my-endpoint")
	_, errOut = s.ok(t, "online-deployment", "delete", "-n", "blue", "-e", "my-endpoint", "--yes")
	wantIn(t, "delete blue", errOut, "online-deployment blue deleted from endpoint my-endpoint")
	out, _ = s.ok(t, "online-deployment", "list", "-e", "my-endpoint", "-o", "tsv")
	if !strings.HasPrefix(out, "green\tmy-endpoint\tSucceeded\tmy-endpoint-green\t1\t") || strings.Count(out, "\n") != 1 {
		t.Errorf("list after promotion: got %q", out)
	}

	// An update by --set redeploys; a description alone does not.
	_, errOut = s.ok(t, "online-deployment", "update", "-n", "green", "-e", "my-endpoint", "--set", "instance_count=2")
	wantIn(t, "update green", errOut, "online-deployment green: Updating", "online-deployment green: Succeeded")
	out, _ = s.ok(t, "online-deployment", "show", "-n", "green", "-e", "my-endpoint", "--query", "spec.instance_count")
	if strings.TrimSpace(out) != "2" {
		t.Errorf("instance_count after update: got %s", out)
	}
	out, _ = s.ok(t, "online-deployment", "update", "-n", "green", "-e", "my-endpoint", "--set", "description=canary winner", "--query", "description")
	if strings.TrimSpace(out) != `"canary winner"` {
		t.Errorf("description after update: got %s", out)
	}
	_, errOut = s.ok(t, "online-deployment", "update", "-n", "green", "-e", "my-endpoint", "--set", "instance_count=2")
	wantIn(t, "update without a change", errOut, "online-deployment green: nothing to change")
	s.fails(t, "--set model=azureml:x:1: model cannot be set on a deployment", "online-deployment", "update", "-n", "green", "-e", "my-endpoint", "--set", "model=azureml:x:1")
	// An update from the file: the model folder holds the files green
	// runs, so no model is registered; instance_count goes back to 1.
	_, errOut = s.ok(t, "online-deployment", "update", "-f", in("blue-deployment.yml"), "-n", "green")
	wantIn(t, "update green from its file", errOut, "blue-deployment.yml: model.path holds the files of my-endpoint-green:1, which the deployment runs",
		"online-deployment green: Updating", "online-deployment green: Succeeded")
	_, errOut = s.ok(t, "online-deployment", "update", "-f", in("blue-deployment.yml"), "-n", "green")
	wantIn(t, "the same file again", errOut, "online-deployment green: nothing to change")
	// New model files: a new version, redeployed.
	writeFile(t, in("model-1/model/README.md"), "retrained\n")
	_, errOut = s.ok(t, "online-deployment", "update", "-f", in("blue-deployment.yml"), "-n", "green")
	wantIn(t, "update green with new files", errOut, "model registered as my-endpoint-green:2", "online-deployment green: Succeeded")

	out, _ = s.ok(t, "online-deployment", "get-logs", "-n", "green", "-e", "my-endpoint", "--lines", "2")
	if out != "worker 1 ready\nsmoke test passed: my-endpoint/green\n" {
		t.Errorf("get-logs: got %q", out)
	}

	// Keys: a regenerated key stops working, invoke fetches the new one.
	out, _ = s.ok(t, "online-endpoint", "get-credentials", "-n", "my-endpoint")
	keys := decodeInto[hangar.EndpointKeys](t, out)
	if keys.Primary == "" || keys.Secondary == "" || keys.Primary == keys.Secondary {
		t.Fatalf("get-credentials: got %s", out)
	}
	out, _ = s.ok(t, "online-endpoint", "regenerate-keys", "-n", "my-endpoint", "--key-type", "primary")
	after := decodeInto[hangar.EndpointKeys](t, out)
	if after.Primary == keys.Primary || after.Secondary != keys.Secondary {
		t.Errorf("regenerate-keys primary: got %s, want a new primary and the same secondary", out)
	}
	post := func(key string) int {
		req, _ := http.NewRequest(http.MethodPost, s.url+"/api/v1/workspaces/default/endpoints/my-endpoint/score", strings.NewReader(`{}`))
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := post(keys.Primary); got != http.StatusUnauthorized {
		t.Errorf("the old primary key: got %d, want 401", got)
	}
	if got := post(keys.Secondary); got != http.StatusOK {
		t.Errorf("the secondary key: got %d, want 200", got)
	}
	s.ok(t, "online-endpoint", "invoke", "-n", "my-endpoint", "--request-file", in("sample-request.json"))
	s.fails(t, `--key-type "tertiary": want primary or secondary`, "online-endpoint", "regenerate-keys", "-n", "my-endpoint", "--key-type", "tertiary")

	// Tokens.
	s.ok(t, "online-endpoint", "create", "-n", "tok-ep", "--auth-mode", "aml_token")
	out, _ = s.ok(t, "online-endpoint", "get-credentials", "-n", "tok-ep")
	tok := decodeInto[endpointToken](t, out)
	if tok.AccessToken != "tok-tok-ep" || tok.TokenType != "Bearer" || tok.Expiry <= time.Now().Unix() || tok.RefreshAt > tok.Expiry {
		t.Errorf("get-credentials of an aml_token endpoint: got %s", out)
	}

	// --no-wait returns the deployment as the server took it.
	out, errOut = s.ok(t, "online-deployment", "create", "-f", in("blue-deployment.yml"), "-n", "later", "--no-wait", "--query", "provisioning_state")
	if strings.TrimSpace(out) != `"Creating"` {
		t.Errorf("create --no-wait: got %s, want Creating", out)
	}
	wantIn(t, "create --no-wait", errOut, "follow it with: hangar online-deployment show -n later -e my-endpoint")
	out, _ = s.ok(t, "online-deployment", "get-logs", "-n", "later", "-e", "my-endpoint", "--lines", "1", "-o", "json")
	if got := decodeInto[map[string][]string](t, out); len(got["lines"]) != 1 {
		t.Errorf("get-logs -o json: got %s", out)
	}

	// Endpoint updates from a file and by --set.
	writeFile(t, in("endpoint-v2.yml"), "name: my-endpoint\ndescription: second\ntraffic:\n  green: 100\nmirror_traffic:\n  later: 0\n")
	out, _ = s.ok(t, "online-endpoint", "update", "-f", in("endpoint-v2.yml"))
	wantIn(t, "update -f", out, `"description": "second"`, `"green": 100`)
	out, _ = s.ok(t, "online-endpoint", "update", "-n", "my-endpoint", "--set", "tags.stage=prod", "--set", "description=third")
	// The file had no tags: they were cleared, as the file says.
	wantIn(t, "update --set", out, `"tags": {
    "stage": "prod"
  }`, `"description": "third"`, `"green": 100`)
	s.fails(t, "endpoint my-endpoint: --set traffic.green=x", "online-endpoint", "update", "-n", "my-endpoint", "--set", "traffic.green=x")
	s.fails(t, "endpoint-v2.yml: --set traffic.green=101: traffic.green 101 is out of range: 0 to 100", "online-endpoint", "update", "-f", in("endpoint-v2.yml"), "--set", "traffic.green=101")

	// Bad input.
	s.fails(t, "online endpoint nope not found", "online-endpoint", "show", "-n", "nope")
	s.fails(t, "online endpoint nope not found", "online-deployment", "create", "-f", in("blue-deployment.yml"), "-e", "nope")
	s.fails(t, "deployment nope not found in online endpoint my-endpoint", "online-deployment", "update", "-f", in("blue-deployment.yml"), "-n", "nope")
	s.fails(t, `blue-deployment.yml: model azureml:nope:1: `, "online-deployment", "create", "-f", in("blue-deployment.yml"), "-n", "ref", "--set", "model=azureml:nope:1")
	s.fails(t, "blue-deployment.yml:", "online-deployment", "create", "-f", in("blue-deployment.yml"), "-n", "x", "--set", "instance_count=-1")
	s.fails(t, "give the endpoint with --name/-n", "online-endpoint", "invoke", "--request-file", in("sample-request.json"))
	s.fails(t, "nothing to update", "online-endpoint", "update", "-n", "my-endpoint")

	_, errOut = s.ok(t, "online-endpoint", "delete", "-n", "my-endpoint", "--yes")
	wantIn(t, "delete", errOut, "online-endpoint my-endpoint deleted from workspace default")
	out, _ = s.ok(t, "online-endpoint", "list", "-o", "tsv")
	if !strings.HasPrefix(out, "tok-ep\taml_token\tSucceeded\t") || strings.Count(out, "\n") != 1 {
		t.Errorf("list: got %q", out)
	}
}

// FuzzScoreError reads any answer of a scoring route: it is always a
// domain error naming the endpoint.
func FuzzScoreError(f *testing.F) {
	for _, b := range []string{`{"error":"x","code":"timeout"}`, `{"error_code":"BAD_REQUEST","message":"m","code":"bad_json"}`, `nope`, ``, `{"code":7}`} {
		f.Add([]byte(b))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, status := range []int{400, 401, 404, 500, 503} {
			err := scoreError("e1", &http.Response{StatusCode: status, Status: http.StatusText(status)}, body)
			var he *hangar.Error
			if !errors.As(err, &he) || he.Code == "" || !strings.HasPrefix(he.Message, "invoke endpoint e1: ") {
				t.Fatalf("got %#v, want a domain error about e1", err)
			}
		}
	})
}
