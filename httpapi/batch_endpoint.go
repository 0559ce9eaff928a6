package httpapi

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/jobspec"
)

// Batch endpoints (endpoint.go at the root) under /api/v1/workspaces/{ws}/:
//
//	POST   batch-endpoints                              create                         batchEndpoints/write
//	GET    batch-endpoints                              list by name                   batchEndpoints/read
//	GET    batch-endpoints/{name}                       one                            batchEndpoints/read
//	PATCH  batch-endpoints/{name}                       description, tags, default     batchEndpoints/write
//	DELETE batch-endpoints/{name}                       with its deployments           batchEndpoints/delete
//	POST   batch-endpoints/{name}/deployments           create (?set_default=true)     batchDeployments/write
//	GET    batch-endpoints/{name}/deployments           list by name                   batchDeployments/read
//	GET    batch-endpoints/{name}/deployments/{dep}     one                            batchDeployments/read
//	PATCH  batch-endpoints/{name}/deployments/{dep}     spec, settings, description…   batchDeployments/write
//	DELETE batch-endpoints/{name}/deployments/{dep}     not the default one            batchDeployments/delete
//	POST   batch-endpoints/{name}/invoke                a scoring job → 202            jobs/write (+ batchEndpoints/read)
//	GET    batch-endpoints/{name}/jobs                  the jobs invoked on it         jobs/read (+ batchEndpoints/read)
//
// A deployment's spec arrives resolved by the client (model name and
// version, environment name and version, the code snapshot's digest); the
// server checks each exists in the workspace and fills the model's digest:
// the manifest of the version's files, stored and owned by the workspace,
// which is what an invoked job stages. A batch deployment needs no
// provisioning, so it is Succeeded once stored; the endpoint's first
// deployment becomes its default.
//
// Invoking creates a command job through Server.JobSubmitter, exactly as
// `hangar job create` would: it is listed, streamed, cancelled and audited
// like any job. Its one step runs `hangar batch-run` (package batchrun) on
// the staged input and model; its output folder is registered as a data
// asset version. The job's experiment is the endpoint's name and its
// tags name the endpoint and deployment (TagBatchEndpoint,
// TagBatchDeployment), which is how the jobs route finds them. An invoke
// may name its job and override the deployment's mini_batch_size,
// instance_count and output_file_name for that job only (as az ml
// batch-endpoint invoke's --job-name, -m, -c and --set
// output_file_name=…): they are applied to a copy of the deployment,
// checked by the deployment's own rules, before the job's YAML is written.

// Tags of the jobs a batch endpoint's invoke creates.
const (
	TagBatchEndpoint   = "azureml.batchrun.endpoint"
	TagBatchDeployment = "azureml.batchrun.deployment"
)

// BatchEndpointPatch is the body of PATCH batch-endpoints/{name}: the
// fields to change (absent ones are kept) and, when Version is set, the
// version the endpoint must be at.
type BatchEndpointPatch struct {
	Description       *string           `json:"description,omitempty"`
	Tags              map[string]string `json:"tags,omitempty"`
	DefaultDeployment *string           `json:"default_deployment,omitempty"`
	Version           int64             `json:"version,omitempty"`
}

// BatchDeploymentPatch is the body of PATCH …/deployments/{dep}.
type BatchDeploymentPatch struct {
	Description *string                `json:"description,omitempty"`
	Tags        map[string]string      `json:"tags,omitempty"`
	Spec        *hangar.DeploymentSpec `json:"spec,omitempty"`
	Settings    *hangar.BatchSettings  `json:"settings,omitempty"`
	Version     int64                  `json:"version,omitempty"`
}

// BatchInvocation is the body of POST batch-endpoints/{name}/invoke.
type BatchInvocation struct {
	// Input is a data asset of the workspace: azureml:<name>:<version>,
	// azureml:<name>@latest or azureml:<name> (the prefix may be left out).
	Input string `json:"input"`
	// DeploymentName picks a deployment; empty: the endpoint's default.
	DeploymentName string `json:"deployment_name,omitempty"`
	// Output names the data asset the job's output is registered as,
	// <name> or <name>:<version>; empty: <endpoint>-<deployment>-output,
	// next version.
	Output string `json:"output,omitempty"`
	// ExperimentName is the job's experiment; empty: the endpoint's name.
	ExperimentName string `json:"experiment_name,omitempty"`
	// JobName names the job (az ml batch-endpoint invoke --job-name);
	// empty: a new name. A name a job has already is a conflict.
	JobName string `json:"job_name,omitempty"`

	// The overrides below change the deployment for this job only
	// (Apply); nil or empty keeps the deployment's value.

	// MiniBatchSize overrides settings.mini_batch_size (--mini-batch-size).
	MiniBatchSize *int `json:"mini_batch_size,omitempty"`
	// InstanceCount overrides instance_count (--instance-count): the job
	// scores with instance_count × max_concurrency_per_instance workers.
	InstanceCount *int `json:"instance_count,omitempty"`
	// OutputFileName overrides settings.output_file_name, append_row's
	// file (--set output_file_name=…): a file name of letters, digits,
	// '.', '-' and '_'.
	OutputFileName string `json:"output_file_name,omitempty"`
}

// outputFileName is what an invoke's output_file_name may be: a plain
// file name, since it is written into the job's command line.
var outputFileName = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,254}$`)

// Validate checks what an invocation names on its own, before anything
// is looked up: deployment_name, experiment_name, job_name and
// output_file_name. The numbers are checked by Apply, against the
// deployment's own rules. Errors: EINVALID.
func (in *BatchInvocation) Validate() error {
	if in.DeploymentName != "" {
		if err := hangar.ValidateEndpointName(in.DeploymentName); err != nil {
			return hangar.Errorf(hangar.EINVALID, "deployment_name: %s", hangar.ErrorMessage(err))
		}
	}
	if in.ExperimentName != "" {
		if err := hangar.ValidateText("experiment_name", in.ExperimentName, 256); err != nil {
			return err
		}
	}
	if in.JobName != "" {
		if err := hangar.ValidateJobName(in.JobName); err != nil {
			return hangar.Errorf(hangar.EINVALID, "job_name: %s", hangar.ErrorMessage(err))
		}
	}
	if in.OutputFileName != "" && !outputFileName.MatchString(in.OutputFileName) {
		return hangar.Errorf(hangar.EINVALID, "output_file_name %q: want a file name of letters, digits, '.', '-' and '_' (not a path), at most 255 characters", truncate(in.OutputFileName, 64))
	}
	return nil
}

// Apply returns a copy of d with the invocation's overrides, checked by
// the rules of the deployment's own settings (mini_batch_size,
// output_file_name) and spec (instance_count); d is unchanged, and
// without overrides nothing is checked again. Errors: EINVALID.
func (in *BatchInvocation) Apply(d *hangar.BatchDeployment) (*hangar.BatchDeployment, error) {
	out := *d
	if in.MiniBatchSize != nil || in.OutputFileName != "" {
		if in.MiniBatchSize != nil {
			out.Settings.MiniBatchSize = *in.MiniBatchSize
		}
		if in.OutputFileName != "" {
			if d.Settings.OutputAction != hangar.BatchAppendRow {
				return nil, hangar.Errorf(hangar.EINVALID, "output_file_name %s: deployment %s's output_action is %s, which writes no output file (append_row does)", in.OutputFileName, d.Name, d.Settings.OutputAction)
			}
			out.Settings.OutputFileName = in.OutputFileName
		}
		// Checked by the deployment's rules, but for the compute the
		// invocation does not touch: a deployment stored before its
		// rule (any text) still takes invocations.
		check := out.Settings
		check.Compute = ""
		if err := check.Validate(); err != nil {
			return nil, err
		}
	}
	if in.InstanceCount != nil {
		out.Spec.InstanceCount = *in.InstanceCount
		if err := out.Spec.Validate(); err != nil {
			return nil, err
		}
	}
	return &out, nil
}

func (s *Server) batchEndpoints() (hangar.BatchEndpointService, error) {
	if s.BatchEndpoints == nil {
		return nil, hangar.Errorf(hangar.ENOTIMPLEMENTED, "batch endpoints are not enabled on this server")
	}
	return s.BatchEndpoints, nil
}

// batchEndpointRoutes are the batch endpoint routes of the route table.
func (s *Server) batchEndpointRoutes() []route {
	const p = "/api/v1/workspaces/{ws}/batch-endpoints"
	return []route{
		{"POST " + p, hangar.ActBatchEndpointWrite, scopeWorkspace, s.createBatchEndpoint, nativeErrors},
		{"GET " + p, hangar.ActBatchEndpointRead, scopeWorkspace, s.listBatchEndpoints, nativeErrors},
		{"GET " + p + "/{name}", hangar.ActBatchEndpointRead, scopeWorkspace, s.getBatchEndpoint, nativeErrors},
		{"PATCH " + p + "/{name}", hangar.ActBatchEndpointWrite, scopeWorkspace, s.patchBatchEndpoint, nativeErrors},
		{"DELETE " + p + "/{name}", hangar.ActBatchEndpointDelete, scopeWorkspace, s.deleteBatchEndpoint, nativeErrors},
		{"POST " + p + "/{name}/deployments", hangar.ActBatchDeploymentWrite, scopeWorkspace, s.createBatchDeployment, nativeErrors},
		{"GET " + p + "/{name}/deployments", hangar.ActBatchDeploymentRead, scopeWorkspace, s.listBatchDeployments, nativeErrors},
		{"GET " + p + "/{name}/deployments/{dep}", hangar.ActBatchDeploymentRead, scopeWorkspace, s.getBatchDeployment, nativeErrors},
		{"PATCH " + p + "/{name}/deployments/{dep}", hangar.ActBatchDeploymentWrite, scopeWorkspace, s.patchBatchDeployment, nativeErrors},
		{"DELETE " + p + "/{name}/deployments/{dep}", hangar.ActBatchDeploymentDelete, scopeWorkspace, s.deleteBatchDeployment, nativeErrors},
		// Invoking creates a job: jobs/write here, batchEndpoints/read in the handler.
		{"POST " + p + "/{name}/invoke", hangar.ActJobWrite, scopeWorkspace, s.invokeBatchEndpoint, nativeErrors},
		{"GET " + p + "/{name}/jobs", hangar.ActJobRead, scopeWorkspace, s.listBatchJobs, nativeErrors},
	}
}

func (s *Server) createBatchEndpoint(w http.ResponseWriter, r *http.Request, c *caller) error {
	svc, err := s.batchEndpoints()
	if err != nil {
		return err
	}
	var e hangar.BatchEndpoint
	if err := s.decodeBody(w, r, &e); err != nil {
		return err
	}
	if e.Workspace != "" && e.Workspace != c.workspace {
		return hangar.Errorf(hangar.EINVALID, "workspace %q: the endpoint is created in the path's workspace %s", truncate(e.Workspace, 64), c.workspace)
	}
	if e.DefaultDeployment != "" {
		return hangar.Errorf(hangar.EINVALID, "default_deployment %q: a new endpoint has no deployments; its first deployment becomes the default", truncate(e.DefaultDeployment, 64))
	}
	if err := e.Validate(); err != nil {
		return err
	}
	if err := svc.CreateBatchEndpoint(r.Context(), c.workspace, &e); err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, &e)
}

func (s *Server) listBatchEndpoints(w http.ResponseWriter, r *http.Request, c *caller) error {
	svc, err := s.batchEndpoints()
	if err != nil {
		return err
	}
	return servePage(w, r, c.workspace, svc.ListBatchEndpoints)
}

func (s *Server) getBatchEndpoint(w http.ResponseWriter, r *http.Request, c *caller) error {
	svc, err := s.batchEndpoints()
	if err != nil {
		return err
	}
	e, err := svc.BatchEndpoint(r.Context(), c.workspace, r.PathValue("name"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, e)
}

func (s *Server) patchBatchEndpoint(w http.ResponseWriter, r *http.Request, c *caller) error {
	svc, err := s.batchEndpoints()
	if err != nil {
		return err
	}
	var p BatchEndpointPatch
	if err := s.decodeBody(w, r, &p); err != nil {
		return err
	}
	if p.Version < 0 {
		return hangar.Errorf(hangar.EINVALID, "invalid version %d", p.Version)
	}
	e, err := svc.UpdateBatchEndpoint(r.Context(), c.workspace, r.PathValue("name"),
		hangar.BatchEndpointUpdate{Description: p.Description, Tags: p.Tags, DefaultDeployment: p.DefaultDeployment}, p.Version)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, e)
}

func (s *Server) deleteBatchEndpoint(w http.ResponseWriter, r *http.Request, c *caller) error {
	svc, err := s.batchEndpoints()
	if err != nil {
		return err
	}
	if err := svc.DeleteBatchEndpoint(r.Context(), c.workspace, r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) createBatchDeployment(w http.ResponseWriter, r *http.Request, c *caller) error {
	svc, err := s.batchEndpoints()
	if err != nil {
		return err
	}
	setDefault := false
	if v := r.URL.Query().Get("set_default"); v != "" {
		if setDefault, err = strconv.ParseBool(v); err != nil {
			return hangar.Errorf(hangar.EINVALID, "set_default must be true or false, got %q", truncate(v, 32))
		}
	}
	var d hangar.BatchDeployment
	if err := s.decodeBody(w, r, &d); err != nil {
		return err
	}
	endpoint := r.PathValue("name")
	switch {
	case d.Workspace != "" && d.Workspace != c.workspace:
		return hangar.Errorf(hangar.EINVALID, "workspace %q: the deployment is created in the path's workspace %s", truncate(d.Workspace, 64), c.workspace)
	case d.Endpoint != "" && d.Endpoint != endpoint:
		return hangar.Errorf(hangar.EINVALID, "endpoint %q: the deployment is created in the path's endpoint %s", truncate(d.Endpoint, 64), endpoint)
	}
	d.Endpoint = endpoint
	if err := d.Validate(); err != nil {
		return err
	}
	ctx := r.Context()
	e, err := svc.BatchEndpoint(ctx, c.workspace, endpoint)
	if err != nil {
		return err
	}
	// Refused before the spec is resolved, which may record an upload.
	if _, err := svc.BatchDeployment(ctx, c.workspace, endpoint, d.Name); err == nil {
		return hangar.Errorf(hangar.ECONFLICT, "deployment %s exists in batch endpoint %s: update it instead", d.Name, endpoint)
	} else if !hangar.IsCode(err, hangar.ENOTFOUND) {
		return err
	}
	if err := s.resolveSpec(ctx, c.workspace, &d.Spec); err != nil {
		return inDeployment(d.Name, err)
	}
	d.State = hangar.StateCreating
	if err := svc.CreateBatchDeployment(ctx, c.workspace, &d); err != nil {
		return err
	}
	// Nothing to provision: the deployment is usable once stored.
	out, err := svc.UpdateBatchDeployment(ctx, c.workspace, endpoint, d.Name, hangar.BatchDeploymentUpdate{Version: d.Version, State: hangar.StateSucceeded})
	if err != nil {
		return err
	}
	if setDefault || e.DefaultDeployment == "" {
		if _, err := svc.UpdateBatchEndpoint(ctx, c.workspace, endpoint, hangar.BatchEndpointUpdate{DefaultDeployment: &d.Name}, 0); err != nil {
			return err
		}
	}
	return writeJSON(w, http.StatusCreated, out)
}

// batchDeploymentFilter is the filter of a deployment list.
type batchDeploymentFilter struct{ workspace, endpoint string }

func (s *Server) listBatchDeployments(w http.ResponseWriter, r *http.Request, c *caller) error {
	svc, err := s.batchEndpoints()
	if err != nil {
		return err
	}
	return servePage(w, r, batchDeploymentFilter{c.workspace, r.PathValue("name")},
		func(ctx context.Context, f batchDeploymentFilter, opt hangar.ListOptions) (*hangar.Page[*hangar.BatchDeployment], error) {
			return svc.ListBatchDeployments(ctx, f.workspace, f.endpoint, opt)
		})
}

func (s *Server) getBatchDeployment(w http.ResponseWriter, r *http.Request, c *caller) error {
	svc, err := s.batchEndpoints()
	if err != nil {
		return err
	}
	d, err := svc.BatchDeployment(r.Context(), c.workspace, r.PathValue("name"), r.PathValue("dep"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, d)
}

func (s *Server) patchBatchDeployment(w http.ResponseWriter, r *http.Request, c *caller) error {
	svc, err := s.batchEndpoints()
	if err != nil {
		return err
	}
	var p BatchDeploymentPatch
	if err := s.decodeBody(w, r, &p); err != nil {
		return err
	}
	if p.Version < 0 {
		return hangar.Errorf(hangar.EINVALID, "invalid version %d", p.Version)
	}
	ctx := r.Context()
	if p.Spec != nil {
		if err := p.Spec.Validate(); err != nil {
			return err
		}
		if err := s.resolveSpec(ctx, c.workspace, p.Spec); err != nil {
			return inDeployment(r.PathValue("dep"), err)
		}
	}
	if p.Settings != nil {
		if err := p.Settings.Validate(); err != nil {
			return err
		}
	}
	d, err := svc.UpdateBatchDeployment(ctx, c.workspace, r.PathValue("name"), r.PathValue("dep"), hangar.BatchDeploymentUpdate{
		Version: p.Version, Description: p.Description, Tags: p.Tags, Spec: p.Spec, Settings: p.Settings,
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, d)
}

func (s *Server) deleteBatchDeployment(w http.ResponseWriter, r *http.Request, c *caller) error {
	svc, err := s.batchEndpoints()
	if err != nil {
		return err
	}
	if err := svc.DeleteBatchDeployment(r.Context(), c.workspace, r.PathValue("name"), r.PathValue("dep")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// requireBatchRead is the narrower check of the invoke and jobs routes:
// batchEndpoints/read besides their jobs/ action.
func requireBatchRead(c *caller) error {
	if c.principal == nil {
		return nil
	}
	return c.require(c.workspace, hangar.ActBatchEndpointRead)
}

func (s *Server) invokeBatchEndpoint(w http.ResponseWriter, r *http.Request, c *caller) error {
	svc, err := s.batchEndpoints()
	if err != nil {
		return err
	}
	if s.JobSubmitter == nil {
		return hangar.Errorf(hangar.ENOTIMPLEMENTED, "this server does not run jobs: it has no job submitter")
	}
	if c.principal != nil && c.principal.job != "" {
		return hangar.Errorf(hangar.EFORBIDDEN, "this token is the credential of job %s: a job's token submits no jobs", c.principal.job)
	}
	if err := requireBatchRead(c); err != nil {
		return err
	}
	var in BatchInvocation
	if err := s.decodeBody(w, r, &in); err != nil {
		return err
	}
	if err := in.Validate(); err != nil {
		return err
	}
	ctx := r.Context()
	e, err := svc.BatchEndpoint(ctx, c.workspace, r.PathValue("name"))
	if err != nil {
		return err
	}
	depName := in.DeploymentName
	if depName == "" {
		if e.DefaultDeployment == "" {
			return hangar.Errorf(hangar.EINVALID, "batch endpoint %s has no default deployment: give deployment_name, or create a deployment first", e.Name)
		}
		depName = e.DefaultDeployment
	}
	d, err := svc.BatchDeployment(ctx, c.workspace, e.Name, depName)
	if err != nil {
		return err
	}
	if d.State != hangar.StateSucceeded {
		return hangar.Errorf(hangar.ECONFLICT, "deployment %s is %s, not %s", d.Name, d.State, hangar.StateSucceeded)
	}
	if strings.Contains(d.Spec.ScoringScript, "${{") {
		// The job's command would read it as an expression.
		return hangar.Errorf(hangar.EINVALID, "deployment %s: scoring script %q: a path with ${{ cannot be run; rename the file", d.Name, truncate(d.Spec.ScoringScript, 200))
	}
	if d.Spec.ModelDigest == "" {
		return hangar.Errorf(hangar.EINVALID, "deployment %s has no resolved model files: update its model", d.Name)
	}
	// The overrides change this job's copy of the deployment only.
	if d, err = in.Apply(d); err != nil {
		return err
	}
	input, inType, err := s.batchInput(ctx, c.workspace, in.Input)
	if err != nil {
		return err
	}
	outName, outVersion, err := batchOutput(in.Output, e.Name, d.Name)
	if err != nil {
		return err
	}
	sub := &hangar.JobSubmission{
		File:    "batch-invoke.yml",
		YAML:    batchJobYAML(e, d, input, inType, outName, outVersion, in.ExperimentName),
		Uploads: map[string]hangar.Digest{"model": d.Spec.ModelDigest},
	}
	if in.JobName != "" {
		// As `hangar job create --name` names a job.
		sub.Sets = []string{"name=" + in.JobName}
	}
	if d.Spec.ScoringScript != "" {
		// The code snapshot reaches the step as an input folder, as the
		// model does.
		sub.Uploads["code"] = d.Spec.CodeDigest
	}
	if err := sub.Validate(); err != nil {
		return err
	}
	job, err := s.JobSubmitter.SubmitJob(ctx, c.workspace, sub)
	if err != nil {
		return err
	}
	s.jobEvent(c.workspace, job.Name)
	return writeJSON(w, http.StatusAccepted, job)
}

// batchInput resolves an invoke's input to azureml:<name>:<version> and
// its type. Errors: EINVALID (the form; a data asset that does not exist).
func (s *Server) batchInput(ctx context.Context, ws, input string) (string, string, error) {
	if input == "" {
		return "", "", hangar.Errorf(hangar.EINVALID, "input is required: a data asset, azureml:<name>:<version> or azureml:<name>@latest")
	}
	if s.Data == nil {
		return "", "", hangar.Errorf(hangar.ENOTIMPLEMENTED, "data assets are not enabled on this server")
	}
	text := input
	if !strings.HasPrefix(text, "azureml:") {
		text = "azureml:" + text
	}
	ref, err := jobspec.ParseRef(text, false)
	if err != nil || ref.Registry != "" {
		return "", "", hangar.Errorf(hangar.EINVALID, "input %q: want a data asset of the workspace, azureml:<name>:<version> or azureml:<name>@latest", truncate(input, 200))
	}
	var a *hangar.DataAsset
	switch {
	case ref.Version != "":
		a, err = s.Data.DataVersion(ctx, ws, ref.Name, ref.Version)
	case ref.Label == "" || ref.Label == "latest":
		a, err = s.Data.LatestDataVersion(ctx, ws, ref.Name)
	default:
		return "", "", hangar.Errorf(hangar.EINVALID, "input %s: label %q: only @latest is supported", truncate(input, 200), truncate(ref.Label, 64))
	}
	if hangar.IsCode(err, hangar.ENOTFOUND) {
		return "", "", hangar.Errorf(hangar.EINVALID, "input %s: %s", truncate(input, 200), hangar.ErrorMessage(err))
	} else if err != nil {
		return "", "", err
	}
	typ := a.Type
	if typ == hangar.DataMLTable {
		typ = hangar.DataURIFolder
	}
	return "azureml:" + a.Name + ":" + a.Version, typ, nil
}

// batchOutput reads an invoke's output name[:version].
func batchOutput(out, endpoint, deployment string) (string, string, error) {
	if out == "" {
		return endpoint + "-" + deployment + "-output", "", nil
	}
	name, version, _ := strings.Cut(strings.TrimPrefix(out, "azureml:"), ":")
	if err := hangar.ValidateName("output", name); err != nil {
		return "", "", err
	}
	if strings.Contains(out, ":") && version == "" {
		return "", "", hangar.Errorf(hangar.EINVALID, "output %q: want <name> or <name>:<version>", truncate(out, 200))
	}
	if err := hangar.ValidateText("output version", version, 128); err != nil {
		return "", "", err
	}
	if strings.ContainsAny(version, " \t\n\"'\\:") {
		return "", "", hangar.Errorf(hangar.EINVALID, "output version %q: letters, digits, '.', '-' and '_' only", truncate(version, 64))
	}
	return name, version, nil
}

// batchJobYAML is the command job an invoke submits: every value comes
// from a validated name or number, and is written as a JSON string
// (valid YAML) so none can change the document's structure. A scoring
// script deployment adds its code snapshot as input code and the script's
// path to the command as one single-quoted shell word.
func batchJobYAML(e *hangar.BatchEndpoint, d *hangar.BatchDeployment, input, inType, outName, outVersion, experiment string) string {
	q := strconv.Quote
	st := d.Settings
	workers := max(d.Spec.InstanceCount, 1) * max(st.MaxConcurrencyPerInstance, 1)
	fileName := st.OutputFileName
	if fileName == "" {
		fileName = "predictions.csv"
	}
	if experiment == "" {
		experiment = e.Name
	}
	modelType := d.Spec.ModelType
	if modelType != "mlflow_model" {
		modelType = "custom_model"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "type: command\n")
	fmt.Fprintf(&b, "display_name: %s\n", q("batch "+e.Name+"/"+d.Name))
	fmt.Fprintf(&b, "experiment_name: %s\n", q(experiment))
	fmt.Fprintf(&b, "description: %s\n", q("Batch scoring job of endpoint "+e.Name+", deployment "+d.Name+" (model "+d.Spec.ModelName+":"+d.Spec.ModelVersion+")"))
	fmt.Fprintf(&b, "compute: local\n")
	fmt.Fprintf(&b, "tags:\n  %s: %s\n  %s: %s\n", TagBatchEndpoint, q(e.Name), TagBatchDeployment, q(d.Name))
	fmt.Fprintf(&b, "inputs:\n")
	fmt.Fprintf(&b, "  input:\n    type: %s\n    path: %s\n", inType, q(input))
	fmt.Fprintf(&b, "  model:\n    type: %s\n    path: ./model\n", modelType)
	script := ""
	if d.Spec.ScoringScript != "" {
		fmt.Fprintf(&b, "  code:\n    type: uri_folder\n    path: ./code\n")
		script = " --code ${{inputs.code}} --scoring-script " + shellQuote(d.Spec.ScoringScript)
	}
	fmt.Fprintf(&b, "outputs:\n  output:\n    type: uri_folder\n    name: %s\n", q(outName))
	if outVersion != "" {
		fmt.Fprintf(&b, "    version: %s\n", q(outVersion))
	}
	if len(d.Spec.EnvironmentVariables) > 0 {
		fmt.Fprintf(&b, "environment_variables:\n")
		for _, k := range slices.Sorted(maps.Keys(d.Spec.EnvironmentVariables)) {
			fmt.Fprintf(&b, "  %s: %s\n", q(k), q(d.Spec.EnvironmentVariables[k]))
		}
	}
	fmt.Fprintf(&b, "command: %s\n", q(fmt.Sprintf("hangar batch-run --model ${{inputs.model}} --input ${{inputs.input}} --output ${{outputs.output}}"+
		" --mini-batch-size %d --workers %d --max-retries %d --timeout %d --error-threshold %d --output-action %s --output-file-name %s%s",
		max(st.MiniBatchSize, 1), workers, st.MaxRetries, st.RetryTimeoutSeconds, st.ErrorThreshold, shellQuote(st.OutputAction), shellQuote(fileName), script)))
	return b.String()
}

// shellQuote quotes s as one word of a POSIX shell command line (a job's
// command runs in /bin/sh -c).
// A word of only letters, digits and _ . / - (none of them special to
// the shell) is left as it is, as Python's shlex.quote does.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./-") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// listBatchJobs lists the jobs invoked on an endpoint, newest first: the
// jobs of its experiment (?experiment_name= for one given at invoke) that
// carry its tag; archived ones with ?include_archived=true. A page may
// hold fewer items than asked while other jobs of the experiment are
// skipped; its next_page_token still leads on.
func (s *Server) listBatchJobs(w http.ResponseWriter, r *http.Request, c *caller) error {
	svc, err := s.batchEndpoints()
	if err != nil {
		return err
	}
	js, err := s.jobs()
	if err != nil {
		return err
	}
	if err := requireBatchRead(c); err != nil {
		return err
	}
	name := r.PathValue("name")
	if _, err := svc.BatchEndpoint(r.Context(), c.workspace, name); err != nil {
		return err
	}
	q := r.URL.Query()
	experiment := q.Get("experiment_name")
	if experiment == "" {
		experiment = name
	}
	archived := false
	if v := q.Get("include_archived"); v != "" {
		if archived, err = strconv.ParseBool(v); err != nil {
			return hangar.Errorf(hangar.EINVALID, "include_archived must be true or false, got %q", truncate(v, 32))
		}
	}
	return servePage(w, r, c.workspace, func(ctx context.Context, ws string, opt hangar.ListOptions) (*hangar.Page[*hangar.Job], error) {
		page, err := js.ListJobs(ctx, ws, hangar.JobFilter{ExperimentName: experiment, IncludeArchived: archived}, opt)
		if err != nil {
			return nil, err
		}
		page.Items = slices.DeleteFunc(page.Items, func(j *hangar.Job) bool { return j.Tags[TagBatchEndpoint] != name })
		return page, nil
	})
}
