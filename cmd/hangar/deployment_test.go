package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/disk"
	"github.com/hangar-ml/hangar/httpapi"
	"github.com/hangar-ml/hangar/internal/storetest"
	"github.com/hangar-ml/hangar/jobspec"
	"github.com/hangar-ml/hangar/mlflow"
	"github.com/hangar-ml/hangar/sqlstore"
)

// registryServer is a real server in the test's process with the model
// registry, environments and the blob and artifact stores: what a
// deployment YAML is resolved against.
type registryServer struct {
	url, token string
	api        *httpapi.Server
}

func newRegistryServer(t *testing.T) *registryServer {
	t.Helper()
	ctx := hangar.WithActor(t.Context(), hangar.Actor{IdentityID: "alice", Name: "alice"})
	dir := t.TempDir()
	db := sqlstore.New(filepath.Join(dir, "hangar.db"))
	db.Sealer = storetest.NewSealer()
	if err := db.Open(ctx); err != nil {
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
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(srv.Close)
	tok, err := ids.IssueToken(ctx, &hangar.TokenRequest{Name: "admin", Role: hangar.RoleOwner})
	if err != nil {
		t.Fatal(err)
	}
	return &registryServer{url: srv.URL, token: tok.Secret, api: api}
}

func (s *registryServer) resolver(t *testing.T, file string) (*deploymentResolver, *bytes.Buffer) {
	var notes bytes.Buffer
	return &deploymentResolver{
		workspace: hangar.DefaultWorkspace, file: file,
		registry: &mlflow.Client{URL: s.url + "/w/" + hangar.DefaultWorkspace, Token: s.token, HTTP: http.DefaultClient},
		client:   httpapi.NewClient(s.url, s.token), stderr: &notes,
	}, &notes
}

// fixture copies testdata/endpoints to a folder of the test and returns
// the path of file in it.
func fixture(t *testing.T, file string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("testdata/endpoints")); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, file)
}

func readParsed(t *testing.T, file string, sets ...string) *jobspec.OnlineDeployment {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := jobspec.ParseOnlineDeployment(file, b, sets)
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

func TestResolveDeployment(t *testing.T) {
	s := newRegistryServer(t)
	ctx := hangar.WithActor(t.Context(), hangar.Actor{IdentityID: "alice", Name: "alice"})
	// my-model has versions 1 and 2, alias champion on 1; my-env has 1.
	for range 2 {
		if err := s.api.Registry.CreateRegisteredModel(ctx, &hangar.RegisteredModel{Workspace: hangar.DefaultWorkspace, Name: "my-model"}); err != nil && !hangar.IsCode(err, hangar.ECONFLICT) {
			t.Fatal(err)
		}
		if err := s.api.Registry.CreateModelVersion(ctx, &hangar.ModelVersion{Workspace: hangar.DefaultWorkspace, Name: "my-model", Source: "mlflow-artifacts:/m", Tags: map[string]string{"hangar.model_type": "mlflow_model"}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.api.Registry.SetRegisteredModelAlias(ctx, hangar.DefaultWorkspace, "my-model", "champion", "1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.api.Environments.CreateEnvironment(ctx, &hangar.Environment{Workspace: hangar.DefaultWorkspace, Name: "my-env", Version: "1", Image: "python:3.12"}); err != nil {
		t.Fatal(err)
	}
	sample := json.RawMessage(`{"data": [[1, 2]]}`)
	defaults := hangar.DeploymentSpec{
		InstanceCount: 1,
		Request:       hangar.RequestSettings{RequestTimeoutMS: 5000, MaxConcurrentRequestsPerInstance: 1, MaxQueueWaitMS: 500},
		Liveness:      hangar.Probe{InitialDelay: 10, Period: 10, Timeout: 2, SuccessThreshold: 1, FailureThreshold: 30},
		Readiness:     hangar.Probe{InitialDelay: 10, Period: 10, Timeout: 2, SuccessThreshold: 1, FailureThreshold: 30},
	}
	for _, tc := range []struct {
		name, file string
		sets       []string
		want       func(s *hangar.DeploymentSpec)
		wantNotes  []string
	}{
		{
			name: "local model, code and inline environment", file: "blue-deployment.yml",
			want: func(s *hangar.DeploymentSpec) {
				s.ModelName, s.ModelVersion, s.ModelType = "my-endpoint-blue", "1", "custom_model"
				s.EnvironmentName, s.EnvironmentVersion = "my-endpoint-blue-env", "1"
				s.ScoringScript, s.InstanceType = "score.py", "Standard_DS3_v2"
			},
			wantNotes: []string{"model registered as my-endpoint-blue:1", "environment registered as my-endpoint-blue-env:1"},
		},
		{
			name: "references and settings", file: "green-deployment.yml",
			want: func(s *hangar.DeploymentSpec) {
				s.ModelName, s.ModelVersion, s.ModelType = "my-model", "2", "mlflow_model"
				s.EnvironmentName, s.EnvironmentVersion = "my-env", "1"
				s.ScoringScript, s.InstanceType = "score.py", "Standard_DS3_v2"
				s.Request.RequestTimeoutMS, s.Request.MaxConcurrentRequestsPerInstance = 3000, 2
				s.EnvironmentVariables = map[string]string{"SCALE_NOTE": "green"}
			},
		},
		{
			name: "model by version", file: "green-deployment.yml", sets: []string{"model=azureml:my-model:1"},
			want: func(s *hangar.DeploymentSpec) {
				s.ModelName, s.ModelVersion, s.ModelType = "my-model", "1", "mlflow_model"
				s.EnvironmentName, s.EnvironmentVersion = "my-env", "1"
				s.ScoringScript, s.InstanceType = "score.py", "Standard_DS3_v2"
				s.Request.RequestTimeoutMS, s.Request.MaxConcurrentRequestsPerInstance = 3000, 2
				s.EnvironmentVariables = map[string]string{"SCALE_NOTE": "green"}
			},
		},
		{
			name: "model by alias, environment by latest", file: "green-deployment.yml", sets: []string{"model=azureml:my-model@champion", "environment=azureml:my-env@latest", "instance_count=3"},
			want: func(s *hangar.DeploymentSpec) {
				s.ModelName, s.ModelVersion, s.ModelType = "my-model", "1", "mlflow_model"
				s.EnvironmentName, s.EnvironmentVersion = "my-env", "1"
				s.ScoringScript, s.InstanceType, s.InstanceCount = "score.py", "Standard_DS3_v2", 3
				s.Request.RequestTimeoutMS, s.Request.MaxConcurrentRequestsPerInstance = 3000, 2
				s.EnvironmentVariables = map[string]string{"SCALE_NOTE": "green"}
			},
		},
		{
			name: "native model folder", file: "native-deployment.yml", sets: []string{"app_insights_enabled=true"},
			want: func(s *hangar.DeploymentSpec) {
				s.ModelName, s.ModelVersion, s.ModelType = "my-endpoint-native", "1", "mlflow_model"
			},
			wantNotes: []string{"app_insights_enabled is not applied", "model registered as my-endpoint-native:1"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := fixture(t, tc.file)
			r, notes := s.resolver(t, file)
			got, err := r.resolve(t.Context(), readParsed(t, file, tc.sets...), sample)
			if err != nil {
				t.Fatal(err)
			}
			want := defaults
			want.SampleRequest = sample
			tc.want(&want)
			if want.ScoringScript != "" {
				if _, err := hangar.ParseDigest(string(got.Spec.CodeDigest)); err != nil {
					t.Errorf("code digest: %v", err)
				}
				want.CodeDigest = got.Spec.CodeDigest
			}
			if diff := cmp.Diff(want, got.Spec); diff != "" {
				t.Errorf("spec (-want +got):\n%s", diff)
			}
			for _, n := range tc.wantNotes {
				if !strings.Contains(notes.String(), n) {
					t.Errorf("notes: got %q, want %q in them", notes.String(), n)
				}
			}
		})
	}

	t.Run("the same code is the same snapshot", func(t *testing.T) {
		file := fixture(t, "green-deployment.yml")
		r, _ := s.resolver(t, file)
		a, err := r.resolve(t.Context(), readParsed(t, file), nil)
		if err != nil {
			t.Fatal(err)
		}
		b, err := r.resolve(t.Context(), readParsed(t, file, "name=green2"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if a.Spec.CodeDigest != b.Spec.CodeDigest {
			t.Errorf("code digests: got %s and %s, want one", a.Spec.CodeDigest, b.Spec.CodeDigest)
		}
	})

	for _, tc := range []struct {
		name, file string
		sets       []string
		edit       func(dir string) // changes the copied fixture
		code       string
		want       string
	}{
		{name: "unknown model version", file: "green-deployment.yml", sets: []string{"model=azureml:my-model:9"},
			code: hangar.ENOTFOUND, want: "green-deployment.yml: model azureml:my-model:9: "},
		{name: "unknown model", file: "green-deployment.yml", sets: []string{"model=azureml:nope@latest"},
			code: hangar.ENOTFOUND, want: "green-deployment.yml: model azureml:nope@latest: "},
		{name: "unknown alias", file: "green-deployment.yml", sets: []string{"model=azureml:my-model@prod"},
			// MLflow's answer to an alias the model does not have.
			code: hangar.EINVALID, want: "green-deployment.yml: model azureml:my-model@prod: "},
		{name: "registry model", file: "green-deployment.yml", sets: []string{"model=azureml://registries/shared/models/m/versions/1"},
			code: hangar.EINVALID, want: "a registry's model is deployed from a workspace"},
		{name: "unknown environment", file: "green-deployment.yml", sets: []string{"environment=azureml:my-env:7"},
			code: hangar.ENOTFOUND, want: "green-deployment.yml: environment azureml:my-env:7: "},
		{name: "missing code folder", file: "green-deployment.yml", sets: []string{"code_configuration.code=nowhere"},
			code: hangar.EINVALID, want: "code_configuration.code nowhere does not exist"},
		{name: "missing scoring script", file: "green-deployment.yml", sets: []string{"code_configuration.scoring_script=main.py"},
			code: hangar.EINVALID, want: "code_configuration.scoring_script main.py is not a file in model-1/onlinescoring/"},
		{name: "missing model folder", file: "blue-deployment.yml", sets: []string{"model.path=model-9"},
			code: hangar.EINVALID, want: "model.path model-9 does not exist"},
		{name: "model folder outside the spec's tree", file: "blue-deployment.yml", sets: []string{"model.path=/etc"},
			code: hangar.EINVALID, want: "is outside the spec's tree"},
		{name: "missing conda file", file: "blue-deployment.yml", sets: []string{"environment.conda_file=nope.yml"},
			code: hangar.EINVALID, want: "environment.conda_file nope.yml does not exist"},
		{name: "empty model folder", file: "native-deployment.yml",
			edit: func(dir string) {
				os.RemoveAll(filepath.Join(dir, "model-2/model"))
				os.Mkdir(filepath.Join(dir, "model-2/model"), 0o755)
			},
			code: hangar.EINVALID, want: "holds no file"},
		{name: "mlflow_model without MLmodel", file: "native-deployment.yml", edit: func(dir string) { os.Remove(filepath.Join(dir, "model-2/model/MLmodel")) },
			code: hangar.EINVALID, want: "an mlflow_model folder has an MLmodel file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := fixture(t, tc.file)
			if tc.edit != nil {
				tc.edit(filepath.Dir(file))
			}
			r, _ := s.resolver(t, file)
			before := len(modelNames(t, s))
			_, err := r.resolve(t.Context(), readParsed(t, file, tc.sets...), nil)
			if hangar.ErrorCode(err) != tc.code || !strings.Contains(hangar.ErrorMessage(err), tc.want) {
				t.Fatalf("got %v (%s), want %s containing %q", err, hangar.ErrorCode(err), tc.code, tc.want)
			}
			if after := len(modelNames(t, s)); after != before && tc.name != "mlflow_model without MLmodel" && tc.name != "empty model folder" {
				t.Errorf("registered models: got %d after the error, want %d: nothing is registered on a bad spec", after, before)
			}
		})
	}
}

// modelNames lists the workspace's registered models.
func modelNames(t *testing.T, s *registryServer) []string {
	t.Helper()
	page, err := s.api.Registry.SearchRegisteredModels(t.Context(), hangar.DefaultWorkspace, hangar.ModelSearch{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range page.Items {
		names = append(names, m.Name)
	}
	return names
}

func TestSetTransition(t *testing.T) {
	cur := &hangar.OnlineDeployment{
		Endpoint: "my-endpoint", Name: "blue", Description: "first", Tags: map[string]string{"team": "risk"}, Version: 4,
		Spec: hangar.DeploymentSpec{
			ModelName: "my-model", ModelVersion: "1", InstanceCount: 1,
			Request:   hangar.RequestSettings{RequestTimeoutMS: 5000, MaxConcurrentRequestsPerInstance: 1},
			Liveness:  hangar.Probe{Period: 10, Timeout: 2, SuccessThreshold: 1, FailureThreshold: 30},
			Readiness: hangar.Probe{Period: 10, Timeout: 2, SuccessThreshold: 1, FailureThreshold: 30},
		},
	}
	spec := func(f func(s *hangar.DeploymentSpec)) *hangar.DeploymentSpec {
		s := cur.Spec
		f(&s)
		return &s
	}
	str := func(s string) *string { return &s }
	for _, tc := range []struct {
		name   string
		sets   []string
		sample json.RawMessage
		want   *hangar.DeploymentTransition
	}{
		{"instance count", []string{"instance_count=2"}, nil,
			&hangar.DeploymentTransition{Spec: spec(func(s *hangar.DeploymentSpec) { s.InstanceCount = 2 })}},
		{"nested setting", []string{"request_settings.request_timeout_ms=900", "environment_variables.MODE=fast"}, nil,
			&hangar.DeploymentTransition{Spec: spec(func(s *hangar.DeploymentSpec) {
				s.Request.RequestTimeoutMS, s.EnvironmentVariables = 900, map[string]string{"MODE": "fast"}
			})}},
		{"description and tags only", []string{"description=second", "tags.stage=prod"}, nil,
			&hangar.DeploymentTransition{Description: str("second"), Tags: map[string]string{"team": "risk", "stage": "prod"}}},
		{"a tag removed", []string{"tags.team=null"}, nil, &hangar.DeploymentTransition{Tags: map[string]string{}}},
		{"sample request", nil, json.RawMessage(`{"data":[[1,2]]}`),
			&hangar.DeploymentTransition{Spec: spec(func(s *hangar.DeploymentSpec) { s.SampleRequest = json.RawMessage(`{"data":[[1,2]]}`) })}},
		{"no change", []string{"instance_count=1", "description=first"}, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := setTransition(cur, tc.sets, tc.sample)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("transition (-want +got):\n%s", diff)
			}
		})
	}
	for _, tc := range []struct {
		name string
		sets []string
		want string
	}{
		{"nothing", nil, "nothing to update"},
		{"the model", []string{"model=azureml:m:2"}, "model cannot be set on a deployment; give its YAML with -f"},
		{"the environment", []string{"environment_name=x"}, "environment_name cannot be set"},
		{"no value", []string{"instance_count"}, "want KEY=VALUE"},
		{"an unknown setting", []string{"request_settings.speed=9"}, `unknown field "speed"`},
		{"a wrong type", []string{"instance_count=many"}, "--set: cannot unmarshal"},
		{"out of range", []string{"instance_count=0"}, "instance_count 0: want 1 to 64"},
		{"empty name", []string{"request_settings..x=1"}, "empty name"},
	} {
		t.Run("bad "+tc.name, func(t *testing.T) {
			_, err := setTransition(cur, tc.sets, nil)
			if hangar.ErrorCode(err) != hangar.EINVALID || !strings.Contains(hangar.ErrorMessage(err), tc.want) {
				t.Errorf("got %v, want EINVALID containing %q", err, tc.want)
			}
		})
	}
}

func TestFileTransition(t *testing.T) {
	cur := &hangar.OnlineDeployment{Name: "blue", Description: "d", Tags: map[string]string{"a": "1"},
		Spec: hangar.DeploymentSpec{ModelName: "m", ModelVersion: "1", ModelDigest: hangar.Digest("sha256:" + strings.Repeat("a", 64)), InstanceCount: 1}}
	same := *cur
	same.Spec.ModelDigest = "" // the server's to fill: not a change
	if got := fileTransition(cur, &same); got != nil {
		t.Errorf("same deployment: got %+v, want no change", got)
	}
	next := same
	next.Spec.ModelVersion, next.Tags = "2", nil
	got := fileTransition(cur, &next)
	if got == nil || got.Spec == nil || got.Spec.ModelVersion != "2" || got.Description != nil || got.Tags == nil || len(got.Tags) != 0 {
		t.Errorf("new version, tags removed: got %+v, want the spec and empty tags", got)
	}
}

// fakeEndpoints is an endpoint API double that records the changes asked
// of it; methods a test does not set panic (the nil embedded interface).
type fakeEndpoints struct {
	hangar.EndpointService
	endpoint *hangar.OnlineEndpoint
	states   []hangar.OnlineDeployment // OnlineDeployment answers these in turn, then the last
	calls    []string
}

func (f *fakeEndpoints) Deploy(context.Context, string, *hangar.OnlineDeployment, bool) error {
	panic("not used")
}

func (f *fakeEndpoints) Redeploy(context.Context, string, string, string, hangar.DeploymentTransition) (*hangar.OnlineDeployment, error) {
	panic("not used")
}

func (f *fakeEndpoints) Logs(context.Context, string, string, string, int) ([]string, error) {
	panic("not used")
}

func (f *fakeEndpoints) Token(context.Context, string, string) (string, time.Time, error) {
	panic("not used")
}

func (f *fakeEndpoints) OnlineDeployment(_ context.Context, _, _, _ string) (*hangar.OnlineDeployment, error) {
	d := f.states[0]
	if len(f.states) > 1 {
		f.states = f.states[1:]
	}
	return &d, nil
}

func (f *fakeEndpoints) UpdateOnlineEndpoint(_ context.Context, _, name string, u hangar.OnlineEndpointUpdate, version int64) (*hangar.OnlineEndpoint, error) {
	desc := "<keep>"
	if u.Description != nil {
		desc = *u.Description
	}
	f.calls = append(f.calls, "update "+name+" v"+itoa(version)+" description="+desc+" tags="+hangar.FormatTraffic(tagsAsInts(u.Tags))+" auth="+u.AuthMode)
	e := *f.endpoint
	e.Version++
	f.endpoint = &e
	return &e, nil
}

func (f *fakeEndpoints) SetTraffic(_ context.Context, _, name string, live, mirror map[string]int, version int64) (*hangar.OnlineEndpoint, error) {
	f.calls = append(f.calls, "traffic "+name+" v"+itoa(version)+" live="+fmtNil(live)+" mirror="+fmtNil(mirror))
	e := *f.endpoint
	e.Version++
	f.endpoint = &e
	return &e, nil
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

func fmtNil(m map[string]int) string {
	if m == nil {
		return "<keep>"
	}
	return "[" + hangar.FormatTraffic(m) + "]"
}

func tagsAsInts(m map[string]string) map[string]int {
	out := map[string]int{}
	for k := range m {
		out[k] = len(m[k])
	}
	return out
}

func TestUpdateEndpoint(t *testing.T) {
	cur := &hangar.OnlineEndpoint{Name: "my-endpoint", AuthMode: "key", Description: "d", Version: 7,
		Traffic: map[string]int{"blue": 100, "green": 0}, MirrorTraffic: map[string]int{}}
	for _, tc := range []struct {
		name string
		spec jobspec.OnlineEndpoint
		want []string
	}{
		{"nothing", jobspec.OnlineEndpoint{Description: "d", AuthMode: "key"}, nil},
		{"the same traffic, written otherwise", jobspec.OnlineEndpoint{Description: "d", Traffic: map[string]int{"blue": 100}}, nil},
		{"a traffic shift", jobspec.OnlineEndpoint{Description: "d", Traffic: map[string]int{"blue": 90, "green": 10}},
			[]string{"traffic my-endpoint v7 live=[blue=90 green=10] mirror=<keep>"}},
		{"mirror only", jobspec.OnlineEndpoint{Description: "d", MirrorTraffic: map[string]int{"green": 10}},
			[]string{"traffic my-endpoint v7 live=<keep> mirror=[green=10]"}},
		{"description, then traffic on the new version", jobspec.OnlineEndpoint{Description: "e", Traffic: map[string]int{"green": 100}},
			[]string{"update my-endpoint v7 description=e tags= auth=", "traffic my-endpoint v8 live=[green=100] mirror=<keep>"}},
		{"auth mode", jobspec.OnlineEndpoint{Description: "d", AuthMode: "aml_token"},
			[]string{"update my-endpoint v7 description=<keep> tags= auth=aml_token"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeEndpoints{endpoint: cur}
			spec := tc.spec
			if _, err := updateEndpoint(t.Context(), f, "default", cur, &spec); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, f.calls); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEndpointYAMLReadsBack(t *testing.T) {
	e := &hangar.OnlineEndpoint{Name: "my-endpoint", AuthMode: "aml_token", Description: "d", Tags: map[string]string{"a": "b"},
		Traffic: map[string]int{"blue": 100}}
	b, err := endpointYAML(e)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := jobspec.ParseOnlineEndpoint("endpoint my-endpoint", b, []string{"traffic.green=0", "tags.c=d"})
	if err != nil {
		t.Fatal(err)
	}
	want := &jobspec.OnlineEndpoint{Name: "my-endpoint", AuthMode: "aml_token", Description: "d", Tags: map[string]string{"a": "b", "c": "d"},
		Traffic: map[string]int{"blue": 100, "green": 0}, MirrorTraffic: map[string]int{}}
	if diff := cmp.Diff(want, spec); diff != "" {
		t.Errorf("read back (-want +got):\n%s", diff)
	}
}

func TestWaitDeployment(t *testing.T) {
	for _, tc := range []struct {
		name   string
		states []hangar.OnlineDeployment
		want   hangar.ProvisioningState
		lines  []string
	}{
		{"succeeds", []hangar.OnlineDeployment{
			{State: hangar.StateCreating}, {State: hangar.StateCreating, Message: "loading the model"},
			{State: hangar.StateCreating, Message: "loading the model"}, {State: hangar.StateSucceeded},
		}, hangar.StateSucceeded, []string{"blue: Creating (", "blue: Creating: loading the model (", "blue: Succeeded ("}},
		{"fails", []hangar.OnlineDeployment{
			{State: hangar.StateUpdating}, {State: hangar.StateFailed, Message: "smoke test:\n  400 missing feature x"},
		}, hangar.StateFailed, []string{"blue: Updating (", "blue: Failed: smoke test: 400 missing feature x ("}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var w bytes.Buffer
			got, err := waitDeployment(t.Context(), &fakeEndpoints{states: tc.states}, "default", "my-endpoint", "blue", &w, time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			if got.State != tc.want {
				t.Errorf("state: got %s, want %s", got.State, tc.want)
			}
			lines := strings.Split(strings.TrimSpace(w.String()), "\n")
			if len(lines) != len(tc.lines) {
				t.Fatalf("progress: got %q, want %d lines", w.String(), len(tc.lines))
			}
			for i, l := range tc.lines {
				if !strings.Contains(lines[i], l) {
					t.Errorf("progress line %d: got %q, want %q in it", i, lines[i], l)
				}
			}
		})
	}
	t.Run("stops with its context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := waitDeployment(ctx, &fakeEndpoints{states: []hangar.OnlineDeployment{{State: hangar.StateCreating}}}, "default", "my-endpoint", "blue", &bytes.Buffer{}, time.Hour)
		if err == nil || !strings.Contains(err.Error(), "it goes on: hangar online-deployment show -n blue -e my-endpoint") {
			t.Errorf("got %v, want the command to follow it", err)
		}
	})
}

func TestScoreError(t *testing.T) {
	for _, tc := range []struct {
		status     int
		body, code string
		want       string
	}{
		{401, `{"error":"invalid endpoint key","code":"unauthorized"}`, hangar.EUNAUTHORIZED, "invoke endpoint e1: 401 Unauthorized: invalid endpoint key (unauthorized)"},
		{400, `{"error":"feature x is missing","code":"missing_feature"}`, "missing_feature", "400 Bad Request: feature x is missing (missing_feature)"},
		{400, `{"error_code":"BAD_REQUEST","message":"bad rows","code":"bad_shape"}`, "bad_shape", "bad rows (bad_shape)"},
		{404, `404 page not found`, hangar.ENOTFOUND, "404 Not Found: 404 page not found (not_found)"},
		{502, ``, hangar.EINVALID, "502 Bad Gateway: 502 Bad Gateway (invalid)"},
	} {
		resp := &http.Response{StatusCode: tc.status, Status: itoa(int64(tc.status)) + " " + http.StatusText(tc.status)}
		err := scoreError("e1", resp, []byte(tc.body))
		if hangar.ErrorCode(err) != tc.code || !strings.Contains(hangar.ErrorMessage(err), tc.want) {
			t.Errorf("%d %s: got %v (%s), want %s containing %q", tc.status, tc.body, err, hangar.ErrorCode(err), tc.code, tc.want)
		}
	}
}

// FuzzSetTransition feeds update --set any KEY=VALUE: it never panics, a
// refusal is EINVALID, and what it accepts is a valid spec.
func FuzzSetTransition(f *testing.F) {
	for _, s := range []string{"instance_count=2", "request_settings.request_timeout_ms=900", "tags.team=null",
		"environment_variables.A=b", "sample_request={\"data\": [[1]]}", "description=[1, 2]", "liveness_probe=7", "model=x", "a..b=1"} {
		f.Add(s)
	}
	cur := &hangar.OnlineDeployment{Name: "blue", Endpoint: "ep1", Spec: hangar.DeploymentSpec{
		ModelName: "m", ModelVersion: "1", InstanceCount: 1,
		Request:   hangar.RequestSettings{RequestTimeoutMS: 5000, MaxConcurrentRequestsPerInstance: 1},
		Liveness:  hangar.Probe{Period: 10, Timeout: 2, SuccessThreshold: 1, FailureThreshold: 30},
		Readiness: hangar.Probe{Period: 10, Timeout: 2, SuccessThreshold: 1, FailureThreshold: 30},
	}}
	f.Fuzz(func(t *testing.T, set string) {
		tr, err := setTransition(cur, []string{set}, nil)
		if err != nil {
			if hangar.ErrorCode(err) != hangar.EINVALID {
				t.Fatalf("--set %q: got %v, want EINVALID", set, err)
			}
			return
		}
		if tr != nil && tr.Spec != nil {
			if err := tr.Spec.Validate(); err != nil {
				t.Fatalf("--set %q: accepted an invalid spec: %v", set, err)
			}
		}
	})
}

// TestDeploymentCode: online and batch deployments check their code
// configuration and inline environment alike, before any upload; a batch
// deployment registers an inline environment only for its scoring script.
func TestDeploymentCode(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "deployment.yml")
	if err := os.MkdirAll(filepath.Join(dir, "src", "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"src/sub/score.py", "conda.yml", "deployment.yml"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("x: 1\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	code := &jobspec.CodeConfiguration{Code: "./src", ScoringScript: `sub\score.py`}
	inline := &jobspec.Environment{Image: "python:3.12", CondaFile: "conda.yml"}
	noConda := &jobspec.Environment{Image: "python:3.12", CondaFile: "nope.yml"}
	tests := []struct {
		name        string
		code        *jobspec.CodeConfiguration
		env         *jobspec.Environment
		registerEnv bool
		wantScript  string
		wantEnv     bool
		wantErr     string
	}{
		{name: "code and environment", code: code, env: inline, registerEnv: true, wantScript: "sub/score.py", wantEnv: true},
		{name: "an online environment without code", env: inline, registerEnv: true, wantEnv: true},
		{name: "a batch environment without a script is not registered, nor its conda file read", env: noConda},
		{name: "a missing conda file, before any upload", code: code, env: noConda, registerEnv: true,
			wantErr: "deployment.yml: environment.conda_file nope.yml"},
		{name: "no folder", code: &jobspec.CodeConfiguration{Code: "./src/sub/score.py", ScoringScript: "x.py"},
			wantErr: "code_configuration.code ./src/sub/score.py is not a folder"},
		{name: "no script", code: &jobspec.CodeConfiguration{Code: "./src", ScoringScript: "nope.py"},
			wantErr: "code_configuration.scoring_script nope.py is not a file in ./src"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &deploymentResolver{file: file}
			c, err := r.codeOf(tt.code, tt.env, tt.registerEnv)
			if tt.wantErr != "" {
				if hangar.ErrorCode(err) != hangar.EINVALID || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want EINVALID containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.script != tt.wantScript || (c.env != nil) != tt.wantEnv {
				t.Errorf("got script %q, environment %v; want %q, %v", c.script, c.env != nil, tt.wantScript, tt.wantEnv)
			}
			var sp hangar.DeploymentSpec
			c.placeholders(&sp)
			if got, want := sp.ScoringScript != "" && sp.CodeDigest != "", tt.code != nil; got != want {
				t.Errorf("placeholders: got script %q, code %q; want them set: %v", sp.ScoringScript, sp.CodeDigest, want)
			}
			if got := sp.EnvironmentName != ""; got != tt.wantEnv {
				t.Errorf("placeholders: got environment %q, want one: %v", sp.EnvironmentName, tt.wantEnv)
			}
		})
	}
}

// TestModelFolderStreams: a model file is copied into the folder it is
// registered from without being read into memory — a model.pkl of many
// gigabytes would not fit — and a folder is used as it is.
func TestModelFolderStreams(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "model.pkl")
	const size = 64 << 20
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	folder, clean, err := modelFolder("d.yml", file)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(clean)
	if got := after.TotalAlloc - before.TotalAlloc; got > size/8 {
		t.Errorf("copying a %d-byte model allocated %d bytes, want it streamed", size, got)
	}
	fi, err := os.Stat(filepath.Join(folder, "model.pkl"))
	if err != nil || fi.Size() != size {
		t.Fatalf("got %v, %v; want the folder to hold model.pkl of %d bytes", fi, err, size)
	}
	clean()
	if _, err := os.Stat(folder); !os.IsNotExist(err) {
		t.Errorf("after clean: got %v, want the folder removed", err)
	}
	if got, _, err := modelFolder("d.yml", dir); err != nil || got != dir {
		t.Errorf("modelFolder(a folder): got %q, %v; want %q", got, err, dir)
	}
	if _, _, err := modelFolder("d.yml", filepath.Join(dir, "missing.pkl")); hangar.ErrorCode(err) != hangar.EINVALID || !strings.Contains(err.Error(), "d.yml: model.path") {
		t.Errorf("modelFolder(missing): got %v, want EINVALID naming d.yml: model.path", err)
	}
}
