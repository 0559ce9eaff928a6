package httpapi_test

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/artifact"
	"github.com/hangar-ml/hangar/httpapi"
	"github.com/hangar-ml/hangar/jobrun"
	"github.com/hangar-ml/hangar/sqlstore"
)

// batchEnv is newShareEnv's server (model m:1 in workspace dev) with batch
// endpoints, the real job submitter and a data asset rides:1 (a CSV file).
type batchEnv struct {
	*shareEnv
	ws string
}

func newBatchEnv(t *testing.T) *batchEnv {
	e := &batchEnv{shareEnv: newShareEnv(t), ws: "dev"}
	// Set before any request is served.
	e.api.BatchEndpoints = sqlstore.NewBatchEndpointService(e.db)
	e.api.JobSubmitter = &jobrun.Submitter{Jobs: e.api.Jobs, Data: e.api.Data, Environments: e.api.Environments, Components: e.api.Components}
	ctx := t.Context()
	info, m, err := artifact.PutDir(ctx, e.api.Blobs, fstest.MapFS{"rides.csv": {Data: []byte("x,y\n1,2\n3,4\n")}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.api.BlobIndex.AddBlob(ctx, e.ws, info); err != nil {
		t.Fatal(err)
	}
	for _, f := range m.Files {
		if err := e.api.BlobIndex.AddBlob(ctx, e.ws, hangar.BlobInfo{Digest: f.Digest, Size: f.Size}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.api.Data.CreateDataVersion(ctx, e.ws, &hangar.DataAsset{Name: "rides", Version: "1", Type: hangar.DataURIFile, Path: string(info.Digest), Manifest: info, Size: m.TotalSize(), FileCount: 1}); err != nil {
		t.Fatal(err)
	}
	return e
}

var probe = hangar.Probe{InitialDelay: 10, Period: 10, Timeout: 2, SuccessThreshold: 1, FailureThreshold: 30}

func batchDeployment(name string) *hangar.BatchDeployment {
	return &hangar.BatchDeployment{
		Endpoint: "scorer", Name: name,
		Spec: hangar.DeploymentSpec{
			ModelName: "m", ModelVersion: "1", InstanceCount: 2,
			// Online settings, unused by batch jobs but part of every spec.
			Request:  hangar.RequestSettings{RequestTimeoutMS: 5000, MaxConcurrentRequestsPerInstance: 1},
			Liveness: probe, Readiness: probe,
		},
		Settings: hangar.BatchSettings{
			MaxConcurrencyPerInstance: 3, MiniBatchSize: 5, MaxRetries: 2, RetryTimeoutSeconds: 30,
			ErrorThreshold: -1, LoggingLevel: "info", OutputAction: hangar.BatchAppendRow, OutputFileName: "predictions.csv",
		},
	}
}

func TestBatchEndpointRoutes(t *testing.T) {
	e := newBatchEnv(t)
	ctx := t.Context()
	ws := e.ws
	ep := &hangar.BatchEndpoint{Name: "scorer", Description: "nightly scoring"}
	if err := e.admin.CreateBatchEndpoint(ctx, ws, ep); err != nil {
		t.Fatalf("create endpoint: %v", err)
	}
	if ep.Workspace != ws || ep.State != hangar.StateSucceeded || ep.Version != 1 || ep.DefaultDeployment != "" {
		t.Errorf("created endpoint: got %+v", ep)
	}
	wantErrCode(t, "create again", e.admin.CreateBatchEndpoint(ctx, ws, &hangar.BatchEndpoint{Name: "scorer"}), hangar.ECONFLICT)

	blue := batchDeployment("blue")
	if err := e.admin.CreateBatchDeployment(ctx, ws, blue); err != nil {
		t.Fatalf("create deployment: %v", err)
	}
	if blue.State != hangar.StateSucceeded || blue.Spec.ModelDigest != e.digest || blue.Workspace != ws {
		t.Errorf("created deployment: got state %s digest %s, want Succeeded and the model's content digest %s", blue.State, blue.Spec.ModelDigest, e.digest)
	}
	if got, _ := e.admin.BatchEndpoint(ctx, ws, "scorer"); got.DefaultDeployment != "blue" {
		t.Errorf("the first deployment: endpoint default %q, want blue", got.DefaultDeployment)
	}
	green := batchDeployment("green")
	if err := e.admin.CreateBatchDeployment(ctx, ws, green); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.admin.BatchEndpoint(ctx, ws, "scorer"); got.DefaultDeployment != "blue" {
		t.Errorf("a second deployment: endpoint default %q, want blue kept", got.DefaultDeployment)
	}
	page, err := e.admin.ListBatchDeployments(ctx, ws, "scorer", hangar.ListOptions{})
	if err != nil || len(page.Items) != 2 || page.Items[0].Name != "blue" || page.Items[1].Name != "green" {
		t.Fatalf("list deployments: got %v, %v", page, err)
	}
	if eps, err := e.admin.ListBatchEndpoints(ctx, ws, hangar.ListOptions{}); err != nil || len(eps.Items) != 1 {
		t.Fatalf("list endpoints: got %v, %v", eps, err)
	}

	desc := "nightly, green"
	up, err := e.admin.UpdateBatchEndpoint(ctx, ws, "scorer", hangar.BatchEndpointUpdate{Description: &desc, DefaultDeployment: &green.Name}, 0)
	if err != nil || up.DefaultDeployment != "green" || up.Description != desc {
		t.Fatalf("update endpoint: got %+v, %v", up, err)
	}
	_, err = e.admin.UpdateBatchEndpoint(ctx, ws, "scorer", hangar.BatchEndpointUpdate{Description: &desc}, 1)
	wantErrCode(t, "update an old version", err, hangar.ECONFLICT)
	settings := green.Settings
	settings.MiniBatchSize = 1
	ud, err := e.admin.UpdateBatchDeployment(ctx, ws, "scorer", "green", hangar.BatchDeploymentUpdate{Settings: &settings})
	if err != nil || ud.Settings.MiniBatchSize != 1 {
		t.Fatalf("update deployment: got %+v, %v", ud, err)
	}

	job, err := e.admin.InvokeBatchEndpoint(ctx, ws, "scorer", httpapi.BatchInvocation{Input: "azureml:rides@latest"})
	if err != nil {
		t.Fatalf("invoke: %v", err)
	}
	if job.Tags[httpapi.TagBatchEndpoint] != "scorer" || job.Tags[httpapi.TagBatchDeployment] != "green" || job.ExperimentName != "scorer" || job.Status != hangar.JobNotStarted {
		t.Errorf("invoked job: got %+v, want tags scorer/green, experiment scorer", job)
	}
	var st jobrun.Step
	if err := json.Unmarshal([]byte(job.Spec), &st); err != nil {
		t.Fatalf("job spec: %v", err)
	}
	for _, want := range []string{"hangar batch-run --model ${{inputs.model}} --input ${{inputs.input}} --output ${{outputs.output}}", "--mini-batch-size 1 --workers 6 --max-retries 2 --timeout 30 --error-threshold -1 --output-action append_row --output-file-name predictions.csv"} {
		if !strings.Contains(st.Command, want) {
			t.Errorf("job command %q lacks %q", st.Command, want)
		}
	}
	if in := st.Inputs["input"]; in == nil || in.Asset != "rides:1" || in.Type != "uri_file" {
		t.Errorf("job input: got %+v, want rides:1, uri_file", in)
	}
	if in := st.Inputs["model"]; in == nil || in.Manifest != e.digest {
		t.Errorf("job model: got %+v, want the model's manifest %s", in, e.digest)
	}
	if o := st.Outputs["output"]; o == nil || o.Name != "scorer-green-output" {
		t.Errorf("job output: got %+v, want registered as scorer-green-output", o)
	}
	job2, err := e.admin.InvokeBatchEndpoint(ctx, ws, "scorer", httpapi.BatchInvocation{Input: "rides:1", DeploymentName: "blue", Output: "scores:7", ExperimentName: "adhoc"})
	if err != nil {
		t.Fatalf("invoke blue: %v", err)
	}
	if job2.Tags[httpapi.TagBatchDeployment] != "blue" || job2.ExperimentName != "adhoc" {
		t.Errorf("invoked blue: got %+v", job2)
	}
	// An ordinary job of the endpoint's experiment is not one of its jobs.
	if _, err := e.admin.SubmitJob(ctx, ws, &hangar.JobSubmission{File: "j.yml", YAML: "command: echo hi\nexperiment_name: scorer\n"}); err != nil {
		t.Fatal(err)
	}
	jobs, err := e.admin.ListBatchJobs(ctx, ws, "scorer", hangar.ListOptions{})
	if err != nil || len(jobs.Items) != 1 || jobs.Items[0].Name != job.Name {
		t.Errorf("list jobs: got %v, %v, want only %s", jobs, err, job.Name)
	}

	wantErrCode(t, "delete the default deployment", e.admin.DeleteBatchDeployment(ctx, ws, "scorer", "green"), hangar.ECONFLICT)
	if err := e.admin.DeleteBatchDeployment(ctx, ws, "scorer", "blue"); err != nil {
		t.Fatalf("delete blue: %v", err)
	}
	if err := e.admin.DeleteBatchEndpoint(ctx, ws, "scorer"); err != nil {
		t.Fatalf("delete endpoint: %v", err)
	}
	_, err = e.admin.BatchEndpoint(ctx, ws, "scorer")
	wantErrCode(t, "read deleted", err, hangar.ENOTFOUND)
	if _, err := e.admin.Job(ctx, ws, job.Name); err != nil {
		t.Errorf("the invoked job after the endpoint's deletion: %v, want it kept", err)
	}
	var actions []string
	for _, ev := range e.events() {
		if strings.HasPrefix(ev.Action, "batch") {
			actions = append(actions, ev.Action+" "+ev.Target)
		}
	}
	for _, want := range []string{"batchEndpoints/write batchEndpoints/scorer", "batchDeployments/write batchEndpoints/scorer/deployments/blue", "batchDeployments/delete batchEndpoints/scorer/deployments/blue", "batchEndpoints/delete batchEndpoints/scorer"} {
		if !strings.Contains(strings.Join(actions, "\n"), want) {
			t.Errorf("audit lacks %q:\n%s", want, strings.Join(actions, "\n"))
		}
	}
}

// TestBatchEndpointBadInput sends each route bad input: a precise error,
// and nothing changed.
func TestBatchEndpointBadInput(t *testing.T) {
	e := newBatchEnv(t)
	ctx := t.Context()
	ws := e.ws
	if err := e.admin.CreateBatchEndpoint(ctx, ws, &hangar.BatchEndpoint{Name: "scorer"}); err != nil {
		t.Fatal(err)
	}
	if err := e.admin.CreateBatchEndpoint(ctx, ws, &hangar.BatchEndpoint{Name: "empty"}); err != nil {
		t.Fatal(err)
	}
	if err := e.admin.CreateBatchDeployment(ctx, ws, batchDeployment("blue")); err != nil {
		t.Fatal(err)
	}
	script := batchDeployment("script")
	// A code snapshot the workspace owns that holds the scoring script.
	code, _, err := artifact.PutDir(ctx, e.api.Blobs, fstest.MapFS{"score.py": {Data: []byte("def init(): pass\n")}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.api.BlobIndex.AddBlob(ctx, ws, code); err != nil {
		t.Fatal(err)
	}
	script.Spec.CodeDigest, script.Spec.ScoringScript = code.Digest, "score.py"
	script.Spec.EnvironmentName, script.Spec.EnvironmentVersion = "py", "1"
	if _, err := e.api.Environments.CreateEnvironment(hangar.WithActor(ctx, hangar.Actor{Name: "setup"}), &hangar.Environment{Workspace: ws, Name: "py", Version: "1", Image: "python:3.12"}); err != nil {
		t.Fatal(err)
	}
	// A job whose name an invoke cannot take.
	if _, err := e.admin.SubmitJob(ctx, ws, &hangar.JobSubmission{File: "j.yml", YAML: "name: taken\ncommand: echo hi\n"}); err != nil {
		t.Fatal(err)
	}
	const p = "/api/v1/workspaces/dev/batch-endpoints"
	pj, _ := json.Marshal(probe)
	online := `"request_settings":{"request_timeout_ms":5000,"max_concurrent_requests_per_instance":1},"liveness_probe":` + string(pj) + `,"readiness_probe":` + string(pj)
	d := `"spec":{"model_name":"m","model_version":"1","instance_count":1,` + online + `},"settings":{"max_concurrency_per_instance":1,"mini_batch_size":1,"max_retries":0,"retry_timeout_seconds":1,"error_threshold":-1,"logging_level":"info","output_action":"append_row"}`
	tests := []struct {
		name, method, path, body string
		status                   int
		code, message            string
	}{
		{"endpoint bad name", "POST", p, `{"name":"-x"}`, 400, hangar.EINVALID, "endpoint name"},
		{"endpoint unknown key", "POST", p, `{"name":"x","auth":"key"}`, 400, hangar.EINVALID, `unknown field "auth"`},
		{"endpoint other workspace", "POST", p, `{"name":"x","workspace":"prod"}`, 400, hangar.EINVALID, `workspace "prod"`},
		{"endpoint with a default", "POST", p, `{"name":"x","default_deployment":"blue"}`, 400, hangar.EINVALID, "a new endpoint has no deployments"},
		{"endpoint not json", "POST", p, `name: x`, 400, hangar.EINVALID, ""},
		{"get missing", "GET", p + "/nope", "", 404, hangar.ENOTFOUND, "batch endpoint nope not found"},
		{"patch missing default", "PATCH", p + "/scorer", `{"default_deployment":"nope"}`, 400, hangar.EINVALID, "default deployment nope does not exist"},
		{"patch negative version", "PATCH", p + "/scorer", `{"version":-1}`, 400, hangar.EINVALID, "invalid version -1"},
		{"patch unknown key", "PATCH", p + "/scorer", `{"traffic":{}}`, 400, hangar.EINVALID, `unknown field "traffic"`},
		{"delete missing", "DELETE", p + "/nope", "", 404, hangar.ENOTFOUND, "not found"},
		{"deployment in missing endpoint", "POST", p + "/nope/deployments", `{"name":"dep",` + d + `}`, 404, hangar.ENOTFOUND, "batch endpoint nope not found"},
		{"deployment of another endpoint", "POST", p + "/scorer/deployments", `{"name":"dep","endpoint":"other",` + d + `}`, 400, hangar.EINVALID, `endpoint "other"`},
		{"deployment missing model", "POST", p + "/scorer/deployments", `{"name":"dep",` + strings.Replace(d, `"model_version":"1"`, `"model_version":"9"`, 1) + `}`, 400, hangar.EINVALID, "deployment dep: spec.model_version: model m version 9 not found in workspace dev"},
		{"deployment no model version", "POST", p + "/scorer/deployments", `{"name":"dep",` + strings.Replace(d, `"model_version":"1"`, `"model_version":""`, 1) + `}`, 400, hangar.EINVALID, "a deployment pins a model version"},
		{"deployment bad settings", "POST", p + "/scorer/deployments", `{"name":"dep",` + strings.Replace(d, `"mini_batch_size":1`, `"mini_batch_size":0`, 1) + `}`, 400, hangar.EINVALID, "mini_batch_size 0"},
		{"deployment missing environment", "POST", p + "/scorer/deployments", `{"name":"dep",` + strings.Replace(d, `"instance_count":1`, `"instance_count":1,"environment_name":"nope","environment_version":"1","code_digest":"`+string(e.digest)+`","scoring_script":"s.py"`, 1) + `}`, 400, hangar.EINVALID, "deployment dep: spec.environment_version: environment nope version 1 not found in workspace dev"},
		{"deployment code not owned", "POST", p + "/scorer/deployments", `{"name":"dep",` + strings.Replace(d, `"instance_count":1`, `"instance_count":1,"environment_name":"py","environment_version":"1","code_digest":"sha256:`+strings.Repeat("0", 64)+`","scoring_script":"s.py"`, 1) + `}`, 400, hangar.EINVALID, "deployment dep: spec.code_digest: code snapshot sha256:0000000000000000000000000000000000000000000000000000000000000000 not found in workspace dev"},
		{"deployment code not a snapshot", "POST", p + "/scorer/deployments", `{"name":"dep",` + strings.Replace(d, `"instance_count":1`, `"instance_count":1,"environment_name":"py","environment_version":"1","code_digest":"`+string(e.digest)+`","scoring_script":"s.py"`, 1) + `}`, 400, hangar.EINVALID, "deployment dep: spec.scoring_script s.py is not a file of code snapshot " + string(e.digest)},
		{"deployment wrong digest", "POST", p + "/scorer/deployments", `{"name":"dep",` + strings.Replace(d, `"instance_count":1`, `"instance_count":1,"model_digest":"sha256:`+strings.Repeat("1", 64)+`"`, 1) + `}`, 400, hangar.EINVALID, "deployment dep: spec.model_digest sha256:1111111111111111111111111111111111111111111111111111111111111111: model m version 1 has the files of"},
		{"deployment exists", "POST", p + "/scorer/deployments", `{"name":"blue",` + d + `}`, 409, hangar.ECONFLICT, "deployment blue exists in batch endpoint scorer"},
		{"deployment set_default", "POST", p + "/scorer/deployments?set_default=maybe", `{"name":"dep",` + d + `}`, 400, hangar.EINVALID, "set_default must be true or false"},
		{"patch deployment settings", "PATCH", p + "/scorer/deployments/blue", `{"settings":{"max_concurrency_per_instance":0}}`, 400, hangar.EINVALID, "max_concurrency_per_instance 0"},
		{"patch deployment model", "PATCH", p + "/scorer/deployments/blue", `{"spec":{"model_name":"zz","model_version":"1","instance_count":1,` + online + `}}`, 400, hangar.EINVALID, "deployment blue: spec.model_version: model zz version 1 not found in workspace dev"},
		{"patch deployment state", "PATCH", p + "/scorer/deployments/blue", `{"provisioning_state":"Failed"}`, 400, hangar.EINVALID, `unknown field "provisioning_state"`},
		{"get deployment missing", "GET", p + "/scorer/deployments/nope", "", 404, hangar.ENOTFOUND, "deployment nope not found"},
		{"delete the default", "DELETE", p + "/scorer/deployments/blue", "", 409, hangar.ECONFLICT, ""},
		{"invoke no input", "POST", p + "/scorer/invoke", `{}`, 400, hangar.EINVALID, "input is required"},
		{"invoke missing data", "POST", p + "/scorer/invoke", `{"input":"azureml:nope:1"}`, 400, hangar.EINVALID, "input azureml:nope:1"},
		{"invoke bad ref", "POST", p + "/scorer/invoke", `{"input":"azureml://registries/r/data/x/versions/1"}`, 400, hangar.EINVALID, "want a data asset of the workspace"},
		{"invoke label", "POST", p + "/scorer/invoke", `{"input":"rides@prod"}`, 400, hangar.EINVALID, `label "prod": only @latest`},
		{"invoke no default", "POST", p + "/empty/invoke", `{"input":"rides:1"}`, 400, hangar.EINVALID, "has no default deployment"},
		{"invoke missing deployment", "POST", p + "/scorer/invoke", `{"input":"rides:1","deployment_name":"nope"}`, 404, hangar.ENOTFOUND, "deployment nope not found"},
		{"invoke bad output", "POST", p + "/scorer/invoke", `{"input":"rides:1","output":"x:"}`, 400, hangar.EINVALID, `output "x:"`},
		{"invoke bad output name", "POST", p + "/scorer/invoke", `{"input":"rides:1","output":"a b"}`, 400, hangar.EINVALID, "output"},
		{"invoke missing endpoint", "POST", p + "/nope/invoke", `{"input":"rides:1"}`, 404, hangar.ENOTFOUND, "batch endpoint nope not found"},
		{"invoke unknown key", "POST", p + "/scorer/invoke", `{"input":"rides:1","inputs":{}}`, 400, hangar.EINVALID, `unknown field "inputs"`},
		{"invoke bad deployment_name", "POST", p + "/scorer/invoke", `{"input":"rides:1","deployment_name":"-x"}`, 400, hangar.EINVALID, `deployment_name: "-x" is not a valid name`},
		{"invoke mini_batch_size 0", "POST", p + "/scorer/invoke", `{"input":"rides:1","mini_batch_size":0}`, 400, hangar.EINVALID, "mini_batch_size 0: want at least 1"},
		{"invoke mini_batch_size negative", "POST", p + "/scorer/invoke", `{"input":"rides:1","mini_batch_size":-5}`, 400, hangar.EINVALID, "mini_batch_size -5: want at least 1"},
		{"invoke mini_batch_size text", "POST", p + "/scorer/invoke", `{"input":"rides:1","mini_batch_size":"10"}`, 400, hangar.EINVALID, "mini_batch_size"},
		{"invoke mini_batch_size fraction", "POST", p + "/scorer/invoke", `{"input":"rides:1","mini_batch_size":1.5}`, 400, hangar.EINVALID, "mini_batch_size"},
		{"invoke instance_count 0", "POST", p + "/scorer/invoke", `{"input":"rides:1","instance_count":0}`, 400, hangar.EINVALID, "instance_count 0: want 1 to 64"},
		{"invoke instance_count 65", "POST", p + "/scorer/invoke", `{"input":"rides:1","instance_count":65}`, 400, hangar.EINVALID, "instance_count 65: want 1 to 64"},
		{"invoke output_file_name path", "POST", p + "/scorer/invoke", `{"input":"rides:1","output_file_name":"out/x.csv"}`, 400, hangar.EINVALID, `output_file_name "out/x.csv": want a file name`},
		{"invoke output_file_name dotdot", "POST", p + "/scorer/invoke", `{"input":"rides:1","output_file_name":".."}`, 400, hangar.EINVALID, `output_file_name "..": want a file name`},
		{"invoke output_file_name shell", "POST", p + "/scorer/invoke", `{"input":"rides:1","output_file_name":"x.csv;touch pwned"}`, 400, hangar.EINVALID, `output_file_name "x.csv;touch pwned": want a file name`},
		{"invoke output_file_name flag", "POST", p + "/scorer/invoke", `{"input":"rides:1","output_file_name":"-rf"}`, 400, hangar.EINVALID, `output_file_name "-rf": want a file name`},
		{"invoke output_file_name space", "POST", p + "/scorer/invoke", `{"input":"rides:1","output_file_name":"my scores.csv"}`, 400, hangar.EINVALID, `output_file_name "my scores.csv"`},
		{"invoke job_name bad", "POST", p + "/scorer/invoke", `{"input":"rides:1","job_name":"no spaces"}`, 400, hangar.EINVALID, `job_name: invalid job name "no spaces"`},
		{"invoke job_name taken", "POST", p + "/scorer/invoke", `{"input":"rides:1","job_name":"taken"}`, 409, hangar.ECONFLICT, `job taken already exists in workspace "dev"`},
		{"invoke overrides on missing endpoint", "POST", p + "/nope/invoke", `{"input":"rides:1","mini_batch_size":3}`, 404, hangar.ENOTFOUND, "batch endpoint nope not found"},
		{"invoke overrides on missing data", "POST", p + "/scorer/invoke", `{"input":"nope:1","mini_batch_size":3,"job_name":"fresh"}`, 400, hangar.EINVALID, "input nope:1"},
		{"jobs of missing endpoint", "GET", p + "/nope/jobs", "", 404, hangar.ENOTFOUND, "batch endpoint nope not found"},
		{"jobs include_archived", "GET", p + "/scorer/jobs?include_archived=sometimes", "", 400, hangar.EINVALID, "include_archived must be true or false"},
	}
	tok := e.adminToken()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.batchState(t)
			r := e.do(tt.method, tt.path, tok, tt.body)
			if r.status != tt.status {
				t.Fatalf("status %d (%s), want %d", r.status, r.body, tt.status)
			}
			code, msg := r.envelope(t)
			if code != tt.code || !strings.Contains(msg, tt.message) {
				t.Errorf("got %s %q, want %s containing %q", code, msg, tt.code, tt.message)
			}
			if after := e.batchState(t); after != before {
				t.Errorf("the state changed:\nbefore:\n%s\nafter:\n%s", before, after)
			}
		})
	}
	// A scoring-script deployment is invoked: its code snapshot is an
	// input of the job, and batch-run runs the script from it.
	if err := e.admin.CreateBatchDeployment(ctx, ws, script); err != nil {
		t.Fatalf("create script deployment: %v", err)
	}
	job, err := e.admin.InvokeBatchEndpoint(ctx, ws, "scorer", httpapi.BatchInvocation{Input: "rides:1", DeploymentName: "script"})
	if err != nil {
		t.Fatalf("invoke a script deployment: %v", err)
	}
	var st jobrun.Step
	if err := json.Unmarshal([]byte(job.Spec), &st); err != nil {
		t.Fatalf("job spec: %v", err)
	}
	if want := " --output-file-name predictions.csv --code ${{inputs.code}} --scoring-script score.py"; !strings.HasSuffix(st.Command, want) {
		t.Errorf("job command %q, want it to end with %q", st.Command, want)
	}
	if in := st.Inputs["code"]; in == nil || in.Manifest != code.Digest || in.Type != "uri_folder" {
		t.Errorf("job code input: got %+v, want uri_folder of the code snapshot %s", in, code.Digest)
	}
	if in := st.Inputs["model"]; in == nil || in.Manifest != e.digest {
		t.Errorf("job model: got %+v, want the model's manifest %s", in, e.digest)
	}

	// A script whose path the job's command would read as an expression
	// is refused when the deployment is created (the invoke-time check
	// stays for deployments stored before), and nothing is stored.
	odd, _, err := artifact.PutDir(ctx, e.api.Blobs, fstest.MapFS{"s${{inputs.model}}.py": {Data: []byte("def init(): pass\n")}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.api.BlobIndex.AddBlob(ctx, ws, odd); err != nil {
		t.Fatal(err)
	}
	oddDep := batchDeployment("odd")
	oddDep.Spec.CodeDigest, oddDep.Spec.ScoringScript = odd.Digest, "s${{inputs.model}}.py"
	oddDep.Spec.EnvironmentName, oddDep.Spec.EnvironmentVersion = "py", "1"
	before := e.batchState(t)
	err = e.admin.CreateBatchDeployment(ctx, ws, oddDep)
	if !hangar.IsCode(err, hangar.EINVALID) || !strings.Contains(hangar.ErrorMessage(err), "expressions (${{ ... }}) are not allowed here") {
		t.Errorf("create deployment odd: got %v, want EINVALID", err)
	}
	if after := e.batchState(t); after != before {
		t.Errorf("the refused invoke changed the state:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// TestBatchInvokeOverrides: an invoke's job_name names the job and its
// mini_batch_size, instance_count and output_file_name change the job's
// command, not the deployment.
func TestBatchInvokeOverrides(t *testing.T) {
	e := newBatchEnv(t)
	ctx := t.Context()
	ws := e.ws
	if err := e.admin.CreateBatchEndpoint(ctx, ws, &hangar.BatchEndpoint{Name: "scorer"}); err != nil {
		t.Fatal(err)
	}
	if err := e.admin.CreateBatchDeployment(ctx, ws, batchDeployment("blue")); err != nil {
		t.Fatal(err)
	}
	before, err := e.admin.BatchDeployment(ctx, ws, "scorer", "blue")
	if err != nil {
		t.Fatal(err)
	}
	mb, ic := 7, 4
	tests := []struct {
		name string
		in   httpapi.BatchInvocation
		want []string // in the job's command
	}{
		{"none", httpapi.BatchInvocation{}, []string{"--mini-batch-size 5 --workers 6 ", "--output-file-name predictions.csv"}},
		{"mini_batch_size", httpapi.BatchInvocation{MiniBatchSize: &mb}, []string{"--mini-batch-size 7 --workers 6 ", "--output-file-name predictions.csv"}},
		{"instance_count", httpapi.BatchInvocation{InstanceCount: &ic}, []string{"--mini-batch-size 5 --workers 12 "}},
		{"output_file_name", httpapi.BatchInvocation{OutputFileName: "scores-2012_v1.csv"}, []string{"--mini-batch-size 5 --workers 6 ", "--output-file-name scores-2012_v1.csv"}},
		{"all and a name", httpapi.BatchInvocation{MiniBatchSize: &mb, InstanceCount: &ic, OutputFileName: "out.csv", JobName: "nightly_2012-12-31.1"},
			[]string{"--mini-batch-size 7 --workers 12 ", "--output-file-name out.csv"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			in.Input = "rides:1"
			job, err := e.admin.InvokeBatchEndpoint(ctx, ws, "scorer", in)
			if err != nil {
				t.Fatalf("invoke: %v", err)
			}
			if in.JobName != "" && job.Name != in.JobName {
				t.Errorf("got job name %q, want %q", job.Name, in.JobName)
			}
			var st jobrun.Step
			if err := json.Unmarshal([]byte(job.Spec), &st); err != nil {
				t.Fatalf("job spec: %v", err)
			}
			for _, want := range tt.want {
				if !strings.Contains(st.Command, want) {
					t.Errorf("job command %q lacks %q", st.Command, want)
				}
			}
			stored, err := e.admin.Job(ctx, ws, job.Name)
			if err != nil || stored.Tags[httpapi.TagBatchDeployment] != "blue" {
				t.Errorf("the stored job: got %+v, %v", stored, err)
			}
		})
	}
	// A job name is used once.
	_, err = e.admin.InvokeBatchEndpoint(ctx, ws, "scorer", httpapi.BatchInvocation{Input: "rides:1", JobName: "nightly_2012-12-31.1"})
	wantErrCode(t, "the same job name again", err, hangar.ECONFLICT)
	after, err := e.admin.BatchDeployment(ctx, ws, "scorer", "blue")
	if err != nil {
		t.Fatal(err)
	}
	if after.Version != before.Version || after.Settings != before.Settings || after.Spec.InstanceCount != before.Spec.InstanceCount {
		t.Errorf("the deployment changed: got %+v %+v, want %+v %+v", after.Settings, after.Spec, before.Settings, before.Spec)
	}
}

// TestBatchInvocationApply: Apply overrides a copy and checks it by the
// deployment's rules; the deployment given is never changed.
func TestBatchInvocationApply(t *testing.T) {
	zero, big, one := 0, 65, 1
	tests := []struct {
		name    string
		in      httpapi.BatchInvocation
		summary bool // the deployment's output_action is summary_only
		wantErr string
		compute string // the stored deployment's compute, when set
	}{
		{"nothing", httpapi.BatchInvocation{}, false, "", ""},
		{"a compute stored before its rule", httpapi.BatchInvocation{MiniBatchSize: &one, OutputFileName: "scores.csv"}, false, "", "gpu cluster"},
		{"output_file_name", httpapi.BatchInvocation{OutputFileName: "scores.csv"}, false, "", ""},
		{"output_file_name of summary_only", httpapi.BatchInvocation{OutputFileName: "scores.csv"}, true, "output_file_name scores.csv: deployment blue's output_action is summary_only, which writes no output file (append_row does)", ""},
		{"summary_only, other overrides", httpapi.BatchInvocation{MiniBatchSize: &one}, true, "", ""},
		{"bounds", httpapi.BatchInvocation{MiniBatchSize: &one, InstanceCount: &one}, false, "", ""},
		{"mini_batch_size 0", httpapi.BatchInvocation{MiniBatchSize: &zero}, false, "mini_batch_size 0: want at least 1", ""},
		{"instance_count 0", httpapi.BatchInvocation{InstanceCount: &zero}, false, "instance_count 0: want 1 to 64", ""},
		{"instance_count 65", httpapi.BatchInvocation{InstanceCount: &big}, false, "instance_count 65: want 1 to 64", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := batchDeployment("blue")
			if tt.compute != "" {
				d.Settings.Compute = tt.compute
			}
			if tt.summary {
				d.Settings.OutputAction = hangar.BatchSummaryOnly
			}
			orig := *d
			got, err := tt.in.Apply(d)
			if d.Settings != orig.Settings || d.Spec.InstanceCount != orig.Spec.InstanceCount {
				t.Errorf("Apply changed the deployment: got %+v, want %+v", d, orig)
			}
			if tt.wantErr != "" {
				if !hangar.IsCode(err, hangar.EINVALID) || !strings.Contains(hangar.ErrorMessage(err), tt.wantErr) {
					t.Errorf("got %v, want EINVALID %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if tt.in.MiniBatchSize != nil && got.Settings.MiniBatchSize != *tt.in.MiniBatchSize {
				t.Errorf("got mini_batch_size %d, want %d", got.Settings.MiniBatchSize, *tt.in.MiniBatchSize)
			}
			if tt.in.OutputFileName != "" && got.Settings.OutputFileName != tt.in.OutputFileName {
				t.Errorf("got output_file_name %q, want %q", got.Settings.OutputFileName, tt.in.OutputFileName)
			}
			if tt.in.InstanceCount != nil && got.Spec.InstanceCount != *tt.in.InstanceCount {
				t.Errorf("got instance_count %d, want %d", got.Spec.InstanceCount, *tt.in.InstanceCount)
			}
		})
	}
}

// TestBatchInvokeNeedsBothRights: invoking takes jobs/write (the route)
// and batchEndpoints/read (the handler); a Reader has neither.
func TestBatchInvokeNeedsBothRights(t *testing.T) {
	e := newBatchEnv(t)
	ctx := t.Context()
	if err := e.admin.CreateBatchEndpoint(ctx, e.ws, &hangar.BatchEndpoint{Name: "scorer"}); err != nil {
		t.Fatal(err)
	}
	if err := e.admin.CreateBatchDeployment(ctx, e.ws, batchDeployment("blue")); err != nil {
		t.Fatal(err)
	}
	reader := e.client("reader", hangar.RoleReader, e.ws)
	_, err := reader.InvokeBatchEndpoint(ctx, e.ws, "scorer", httpapi.BatchInvocation{Input: "rides:1"})
	wantErrCode(t, "reader invokes", err, hangar.EFORBIDDEN)
	if _, err := reader.ListBatchJobs(ctx, e.ws, "scorer", hangar.ListOptions{}); err != nil {
		t.Errorf("reader lists the jobs: %v", err)
	}
	ds := e.client("ds", hangar.RoleDataScientist, e.ws)
	if _, err := ds.InvokeBatchEndpoint(ctx, e.ws, "scorer", httpapi.BatchInvocation{Input: "rides:1"}); err != nil {
		t.Errorf("data scientist invokes: %v", err)
	}
}

// batchState is what the bad-input test compares: the endpoints and
// deployments of dev, its jobs and the number of audit events.
func (e *batchEnv) batchState(t *testing.T) string {
	t.Helper()
	ctx := t.Context()
	var b strings.Builder
	eps, err := e.api.BatchEndpoints.ListBatchEndpoints(ctx, e.ws, hangar.ListOptions{MaxResults: hangar.MaxMaxResults})
	if err != nil {
		t.Fatal(err)
	}
	for _, ep := range eps.Items {
		b.WriteString(ep.Name + " default=" + ep.DefaultDeployment + " v" + itoa(ep.Version) + "\n")
		ds, err := e.api.BatchEndpoints.ListBatchDeployments(ctx, e.ws, ep.Name, hangar.ListOptions{MaxResults: hangar.MaxMaxResults})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds.Items {
			b.WriteString("  " + d.Name + " " + string(d.State) + " v" + itoa(d.Version) + "\n")
		}
	}
	jobs, err := e.api.Jobs.ListJobs(ctx, e.ws, hangar.JobFilter{IncludeArchived: true}, hangar.ListOptions{MaxResults: hangar.MaxMaxResults})
	if err != nil {
		t.Fatal(err)
	}
	b.WriteString("jobs " + itoa(int64(len(jobs.Items))) + "\n")
	b.WriteString("events " + itoa(int64(len(e.events()))) + "\n")
	return b.String()
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
