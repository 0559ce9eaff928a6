package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/artifact"
	"github.com/hangar-ml/hangar/httpapi"
	"github.com/hangar-ml/hangar/jobspec"
	"github.com/hangar-ml/hangar/mlflow"
	"github.com/hangar-ml/hangar/snapshot"
)

// endpointAPI is what the online-endpoint and online-deployment verbs
// need of a server: the endpoint store and the deployer behind the
// management routes, both of which httpapi.Client is.
type endpointAPI interface {
	hangar.EndpointService
	httpapi.EndpointDeployer
}

// endpointClient returns the server's endpoint API and the client it is.
func (c *clientConfig) endpointClient() (endpointAPI, *httpapi.Client, error) {
	cl, err := c.client()
	if err != nil {
		return nil, nil, err
	}
	return struct {
		hangar.EndpointService
		httpapi.EndpointDeployer
	}{cl, cl.Deployer()}, cl, nil
}

// pollEvery is how often create and update look at a deployment they
// wait for.
const pollEvery = 300 * time.Millisecond

// deploymentColumns are the table columns of a deployment.
var deploymentColumns = []string{"name", "endpoint", "provisioning_state", "spec.model_name", "spec.model_version", "message"}

func newOnlineDeploymentCmd(cli *clientConfig) *cobra.Command {
	cmd := newGroup("online-deployment", "Create, update, show, list and delete deployments of online endpoints")
	cmd.Long = `Deployments of online endpoints, as 'az ml online-deployment': a deployment is
one model (with, for a scoring script, its code and environment) behind an
endpoint. create and update read Azure's managedOnlineDeployment YAML and
resolve what it names on this machine before sending it: a registered model
(azureml:NAME:VERSION, azureml:NAME@latest, azureml:NAME@ALIAS) becomes its
version; a local model folder is registered as a new version of the model
<endpoint>-<deployment>; the code folder is uploaded as a content-addressed
snapshot; an environment reference becomes its version and an inline
environment is registered as <endpoint>-<deployment>-env (an identical
definition reuses its version).

The server loads the model, starts its workers and smoke-tests the
deployment before it takes traffic; create and update wait until it
succeeded or failed (progress on stderr), unless --no-wait.`
	cmd.AddCommand(newDeploymentCreateCmd(cli, false), newDeploymentCreateCmd(cli, true),
		newDeploymentShowCmd(cli), newDeploymentListCmd(cli), newDeploymentDeleteCmd(cli), newDeploymentLogsCmd(cli))
	return cmd
}

// deploymentFlags are the flags naming a deployment.
type deploymentFlags struct {
	name, endpoint string
}

func (f *deploymentFlags) bind(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&f.name, "name", "n", "", "deployment name (overrides the file's)")
	cmd.Flags().StringVarP(&f.endpoint, "endpoint-name", "e", "", "endpoint name (overrides the file's endpoint_name)")
}

// require checks that both names are given.
func (f *deploymentFlags) require() error {
	switch {
	case f.endpoint == "":
		return invalidf("give the endpoint with --endpoint-name/-e")
	case f.name == "":
		return invalidf("give the deployment with --name/-n")
	}
	return nil
}

func newDeploymentCreateCmd(cli *clientConfig, update bool) *cobra.Command {
	var names deploymentFlags
	var file, sampleFile string
	var sets []string
	var allTraffic, noWait bool
	cmd := &cobra.Command{
		Use:   "create -f FILE",
		Short: "Create a deployment from its YAML and wait until it succeeded or failed",
		Example: "  hangar online-deployment create -f blue-deployment.yml --all-traffic\n" +
			"  hangar online-deployment create -f green-deployment.yml --endpoint-name churn --sample-request sample.json",
		Args: cobra.NoArgs,
	}
	if update {
		cmd.Use = "update [-f FILE] [--set KEY=VALUE]"
		cmd.Short = "Update a deployment (new spec: redeployed, the old one serving until the new one passed its smoke test)"
		cmd.Example = "  hangar online-deployment update -f green-deployment.yml\n" +
			"  hangar online-deployment update -n blue -e churn --set instance_count=2"
	}
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		ctx := cmd.Context()
		if file == "" && !update {
			return invalidf("online-deployment create needs the deployment's YAML (-f)")
		}
		var sample json.RawMessage
		if sampleFile != "" {
			b, err := readSpecFile(sampleFile)
			if err != nil {
				return err
			}
			if !json.Valid(b) {
				return invalidf("--sample-request %s is not valid JSON", sampleFile)
			}
			sample = bytes.TrimSpace(b)
		}
		api, cl, err := cli.endpointClient()
		if err != nil {
			return err
		}
		var d *hangar.OnlineDeployment
		if file != "" {
			if d, err = readDeployment(ctx, cli, cl, api, file, names, sets, sample, !update, cmd.ErrOrStderr()); err != nil {
				return err
			}
		} else if err := names.require(); err != nil {
			return err
		}
		if !update {
			if err := api.Deploy(ctx, cli.Workspace, d, allTraffic); err != nil {
				return err
			}
		} else {
			ep, name := names.endpoint, names.name
			if d != nil {
				ep, name = d.Endpoint, d.Name
			}
			cur, err := api.OnlineDeployment(ctx, cli.Workspace, ep, name)
			if err != nil {
				return err
			}
			var t *hangar.DeploymentTransition
			if d != nil {
				t = fileTransition(cur, d)
			} else if t, err = setTransition(cur, sets, sample); err != nil {
				return err
			}
			if t == nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "online-deployment %s: nothing to change\n", name)
				return cli.printResult(cmd.OutOrStdout(), cur, deploymentColumns...)
			}
			t.Version = cur.Version
			if d, err = api.Redeploy(ctx, cli.Workspace, ep, name, *t); err != nil {
				return err
			}
			if t.Spec == nil {
				return cli.printResult(cmd.OutOrStdout(), d, deploymentColumns...)
			}
		}
		if noWait {
			fmt.Fprintf(cmd.ErrOrStderr(), "online-deployment %s: deploying in the background; follow it with: hangar online-deployment show -n %s -e %s\n", d.Name, d.Name, d.Endpoint)
			return cli.printResult(cmd.OutOrStdout(), d, deploymentColumns...)
		}
		got, err := waitDeployment(ctx, api, cli.Workspace, d.Endpoint, d.Name, cmd.ErrOrStderr(), pollEvery)
		if err != nil {
			return err
		}
		if got.State == hangar.StateFailed {
			return fmt.Errorf("online-deployment %s of endpoint %s failed: %s", got.Name, got.Endpoint, firstNonEmpty(got.Message, "no reason given"))
		}
		if allTraffic {
			if err := waitTraffic(ctx, api, cli.Workspace, got.Endpoint, got.Name, pollEvery, allTrafficWait); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "online-deployment %s takes all the live traffic of endpoint %s\n", got.Name, got.Endpoint)
		}
		return cli.printResult(cmd.OutOrStdout(), got, deploymentColumns...)
	}
	f := cmd.Flags()
	names.bind(cmd)
	f.StringVarP(&file, "file", "f", "", "managedOnlineDeployment YAML")
	f.StringArrayVar(&sets, "set", nil, "override a field of the YAML (or, without -f, of the deployment) as KEY=VALUE, e.g. instance_count=2 (repeatable)")
	f.StringVar(&sampleFile, "sample-request", "", "JSON file: the smoke-test request the deployment must answer before it takes traffic (Hangar extension)")
	f.BoolVar(&noWait, "no-wait", false, "return once the server accepted the deployment, without waiting for it")
	if !update {
		f.BoolVar(&allTraffic, "all-traffic", false, "give the deployment 100% of the endpoint's live traffic once it succeeded")
	}
	return cmd
}

// readDeployment reads a deployment YAML, with the names of the flags
// and the sets, and resolves it into the request the server takes.
// forCreate checks first that the deployment does not exist.
func readDeployment(ctx context.Context, cli *clientConfig, cl *httpapi.Client, api endpointAPI, file string, names deploymentFlags, sets []string, sample json.RawMessage, forCreate bool, stderr io.Writer) (*hangar.OnlineDeployment, error) {
	b, err := readSpecFile(file)
	if err != nil {
		return nil, err
	}
	// The flags go first, so that the file's --set may still name them.
	var all []string
	if names.endpoint != "" {
		all = append(all, "endpoint_name="+names.endpoint)
	}
	if names.name != "" {
		all = append(all, "name="+names.name)
	}
	spec, err := jobspec.ParseOnlineDeployment(file, b, append(all, sets...))
	if err != nil {
		return nil, err
	}
	if _, err := api.OnlineEndpoint(ctx, cli.Workspace, spec.EndpointName); err != nil {
		return nil, err
	}
	cur, err := api.OnlineDeployment(ctx, cli.Workspace, spec.EndpointName, spec.Name)
	switch {
	case forCreate && err == nil:
		return nil, hangar.Errorf(hangar.ECONFLICT, "online-deployment %s of endpoint %s exists: change it with online-deployment update", spec.Name, spec.EndpointName)
	case forCreate && hangar.IsCode(err, hangar.ENOTFOUND):
		cur = nil
	case err != nil:
		return nil, err
	}
	reg, err := cli.mlflowClient()
	if err != nil {
		return nil, err
	}
	r := &deploymentResolver{workspace: cli.Workspace, file: file, registry: reg, client: cl, stderr: stderr, kind: "online"}
	if cur != nil {
		r.current = &cur.Spec
	}
	return r.resolve(ctx, spec, sample)
}

// deploymentResolver turns a deployment YAML into the spec the server
// takes (DECISIONS: specs arrive resolved): references become versions,
// local files become a registered model version, a code snapshot and an
// environment version. Online and batch deployments share it, so a
// model or environment is found and registered alike for both.
type deploymentResolver struct {
	workspace string
	file      string // the YAML, whose folder relative paths start from
	registry  *mlflow.Client
	client    *httpapi.Client
	stderr    io.Writer // notes on what is registered and what is not applied
	kind      string    // "online" or "batch", in the description of a registered model
	// current is the spec of the deployment an update changes (nil for
	// a create): a local model folder whose files it already runs is
	// not registered again.
	current *hangar.DeploymentSpec
}

// resolve checks every local path first, then looks up the references,
// and only then uploads and registers. Errors: EINVALID naming the file
// and the field, ENOTFOUND for a model or environment that does not exist.
func (r *deploymentResolver) resolve(ctx context.Context, spec *jobspec.OnlineDeployment, sample json.RawMessage) (*hangar.OnlineDeployment, error) {
	d := &hangar.OnlineDeployment{
		Workspace: r.workspace, Endpoint: spec.EndpointName, Name: spec.Name,
		Description: spec.Description, Tags: spec.Tags,
		Spec: deploymentSpec(spec),
	}
	d.Spec.SampleRequest = sample
	if sample == nil && r.current != nil {
		// The smoke test is a flag, not a field of the file: an update
		// keeps the one the deployment has unless it is given again.
		d.Spec.SampleRequest = r.current.SampleRequest
	}
	for _, note := range unapplied(spec) {
		fmt.Fprintf(r.stderr, "%s: %s\n", r.file, note)
	}
	// Local paths, before anything is uploaded.
	modelDir, err := r.modelPath(spec.Model)
	if err != nil {
		return nil, err
	}
	// An online deployment records its inline environment, with a
	// scoring script or without.
	code, err := r.codeOf(spec.Code, spec.Environment, true)
	if err != nil {
		return nil, err
	}
	d.Spec.ScoringScript = code.script
	// References.
	if m := spec.Model; m != nil && m.Ref != nil {
		if err := r.modelRef(ctx, &d.Spec, m); err != nil {
			return nil, err
		}
	}
	if env := spec.Environment; env != nil && env.Ref != nil {
		if err := r.environment(ctx, *env.Ref, code, &d.Spec); err != nil {
			return nil, err
		}
	}
	// A bad spec is refused before the uploads: what they will fill in
	// stands in as placeholders.
	check := *d
	if modelDir != "" {
		check.Spec.ModelName, check.Spec.ModelVersion = "pending", "1"
	}
	code.placeholders(&check.Spec)
	if err := check.Validate(); err != nil {
		return nil, inFile(r.file, err)
	}
	// Uploads and registrations.
	if err := r.uploadCode(ctx, code, &d.Spec, spec.EndpointName, spec.Name); err != nil {
		return nil, err
	}
	if modelDir != "" {
		if err := r.localModel(ctx, &d.Spec, spec.EndpointName, spec.Name, spec.Model, modelDir); err != nil {
			return nil, err
		}
	}
	if err := d.Validate(); err != nil {
		return nil, inFile(r.file, err)
	}
	return d, nil
}

// deploymentCode is what a deployment YAML's code_configuration and
// inline environment make, checked before anything is uploaded: the code
// folder to upload as a snapshot, and the environment to register. Online
// and batch deployment create and update share it.
type deploymentCode struct {
	dir    string               // the code folder, from the YAML's folder; "" without code_configuration
	script string               // the scoring script, relative to dir, with forward slashes
	env    *jobspec.Environment // the inline environment to register; nil for none
	// curated is the reference to one of Azure's curated environments
	// whose stand-in is registered with the uploads; nil for none.
	curated *jobspec.Ref
}

// codeOf checks a deployment YAML's code_configuration (its folder and
// scoring script) and, when registerEnv and the environment is inline,
// its conda file. registerEnv says whether an inline environment is
// registered: an online deployment's always is, a batch deployment's
// only with a scoring script (a model Hangar runs natively needs none).
// Errors: EINVALID naming the file and the field.
func (r *deploymentResolver) codeOf(c *jobspec.CodeConfiguration, env *jobspec.Environment, registerEnv bool) (*deploymentCode, error) {
	out := &deploymentCode{}
	if c != nil {
		dir, err := snapshot.Path(r.file, "code_configuration.code", c.Code)
		if err != nil {
			return nil, err
		}
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			return nil, invalidf("%s: code_configuration.code %s is not a folder", r.file, c.Code)
		}
		script := path.Clean(strings.ReplaceAll(c.ScoringScript, `\`, "/"))
		if fi, err := os.Stat(filepath.Join(dir, filepath.FromSlash(script))); err != nil || !fi.Mode().IsRegular() {
			return nil, invalidf("%s: code_configuration.scoring_script %s is not a file in %s", r.file, c.ScoringScript, c.Code)
		}
		out.dir, out.script = dir, script
	}
	if env != nil && env.Ref == nil && registerEnv {
		if env.CondaFile != "" {
			if _, err := snapshot.CondaFile(r.file, "environment.conda_file", env.CondaFile); err != nil {
				return nil, err
			}
		}
		out.env = env
	}
	return out, nil
}

// placeholders fills in what uploadCode will, so that a deployment is
// validated before the uploads.
func (c *deploymentCode) placeholders(sp *hangar.DeploymentSpec) {
	if c.dir != "" {
		sp.ScoringScript = c.script
		sp.CodeDigest = hangar.Digest("sha256:" + strings.Repeat("0", 64))
	}
	if c.env != nil || c.curated != nil {
		sp.EnvironmentName, sp.EnvironmentVersion = "pending", "1"
	}
}

// uploadCode uploads the code folder as a snapshot and registers the
// inline environment or the curated one's stand-in, for the deployment
// name of endpoint, into sp.
func (r *deploymentResolver) uploadCode(ctx context.Context, c *deploymentCode, sp *hangar.DeploymentSpec, endpoint, name string) error {
	if c.dir != "" {
		var err error
		sp.ScoringScript = c.script
		if sp.CodeDigest, err = snapshot.Folder(ctx, r.client.BlobStore(r.workspace), c.dir); err != nil {
			return inFile(r.file+": code_configuration.code", err)
		}
	}
	if c.env != nil {
		e, err := r.registerEnvironment(ctx, endpoint, name, c.env)
		if err != nil {
			return err
		}
		sp.EnvironmentName, sp.EnvironmentVersion = e.Name, e.Version
	}
	if c.curated != nil {
		e, err := r.curatedEnvironment(ctx, *c.curated, endpoint, name)
		if err != nil {
			return err
		}
		sp.EnvironmentName, sp.EnvironmentVersion = e.Name, e.Version
	}
	return nil
}

// deploymentSpec maps what the YAML says of how the deployment runs.
func deploymentSpec(s *jobspec.OnlineDeployment) hangar.DeploymentSpec {
	probe := func(p jobspec.Probe) hangar.Probe {
		return hangar.Probe{InitialDelay: p.InitialDelay, Period: p.Period, Timeout: p.Timeout, SuccessThreshold: p.SuccessThreshold, FailureThreshold: p.FailureThreshold}
	}
	out := hangar.DeploymentSpec{
		EnvironmentVariables: s.EnvironmentVariables,
		InstanceType:         s.InstanceType,
		InstanceCount:        s.InstanceCount,
		Request: hangar.RequestSettings{
			RequestTimeoutMS:                 s.Request.RequestTimeoutMS,
			MaxConcurrentRequestsPerInstance: s.Request.MaxConcurrentRequestsPerInstance,
			MaxQueueWaitMS:                   s.Request.MaxQueueWaitMS,
		},
		Liveness:  probe(s.Liveness),
		Readiness: probe(s.Readiness),
	}
	if dc := s.DataCollector; dc != nil {
		out.DataCollector = &hangar.DataCollector{SamplingRate: dc.SamplingRate, RollingRate: dc.RollingRate, Collections: map[string]hangar.DataCollection{}}
		for name, c := range dc.Collections {
			out.DataCollector.Collections[name] = hangar.DataCollection{Enabled: c.Enabled, DataName: c.DataName, DataPath: c.DataPath, DataVersion: c.DataVersion}
		}
	}
	return out
}

// unapplied lists what a deployment YAML sets that one machine records
// nowhere, so that nobody believes it applied.
func unapplied(s *jobspec.OnlineDeployment) []string {
	var notes []string
	if s.AppInsightsEnabled {
		notes = append(notes, "app_insights_enabled is not applied: the deployment's metrics are on the server's /metrics")
	}
	if s.EgressPublicAccess != "" {
		notes = append(notes, "egress_public_network_access is not applied: workers run on the server's machine and network")
	}
	if s.PrivateNetworkConnection {
		notes = append(notes, "private_network_connection is not applied: workers run on the server's machine and network")
	}
	if len(s.ScaleSettings) > 0 {
		notes = append(notes, "scale_settings is not applied: instance_count workers run on the server's machine")
	}
	return notes
}

// modelPath checks a local model path (none for a reference) and returns
// it from the YAML's folder. Errors: EINVALID naming the file.
func (r *deploymentResolver) modelPath(m *jobspec.Model) (string, error) {
	if m == nil || m.Ref != nil {
		return "", nil
	}
	return snapshot.Path(r.file, "model.path", m.Path)
}

// modelRef sets the spec's model from a reference in the workspace's
// registry; the type the version was registered with wins over the
// YAML's (whose default is custom_model).
func (r *deploymentResolver) modelRef(ctx context.Context, sp *hangar.DeploymentSpec, m *jobspec.Model) error {
	v, err := r.modelVersion(ctx, *m.Ref)
	if err != nil {
		return err
	}
	sp.ModelName, sp.ModelVersion = v.Name, v.Version
	sp.ModelType = firstNonEmpty(v.Tags["hangar.model_type"], m.Type)
	if sp.ModelType == "triton_model" {
		return invalidf("%s: model %s is a triton_model: Triton Inference Server is not supported; deploy an MLflow model or a custom_model with a scoring script (code_configuration)", r.file, m.Ref)
	}
	return nil
}

// localModel sets the spec's model from the local folder (or file) dir:
// the version the deployment being updated runs when dir holds its files,
// else dir registered as the next version of <endpoint>-<deployment>.
func (r *deploymentResolver) localModel(ctx context.Context, sp *hangar.DeploymentSpec, endpoint, name string, m *jobspec.Model, dir string) error {
	folder, clean, err := modelFolder(r.file, dir)
	if err != nil {
		return err
	}
	defer clean()
	if r.unchangedModel(ctx, endpoint, name, m, folder) {
		c := r.current
		sp.ModelName, sp.ModelVersion, sp.ModelType = c.ModelName, c.ModelVersion, c.ModelType
		fmt.Fprintf(r.stderr, "%s: model.path holds the files of %s:%s, which the deployment runs\n", r.file, c.ModelName, c.ModelVersion)
		return nil
	}
	v, err := r.registerModel(ctx, endpoint, name, m, folder)
	if err != nil {
		return err
	}
	sp.ModelName, sp.ModelVersion, sp.ModelType = v.Name, v.Version, m.Type
	return nil
}

// modelFolder is the folder a local model path is registered from: the
// folder itself, or for a model file (Azure's samples name one,
// model.pkl) a temporary folder holding a copy of it, which clean
// removes. The copy is streamed, so a model of many gigabytes is not held
// in memory, and made once for both the comparison with the deployment's
// current model and the upload. Errors: EINVALID naming the file.
func modelFolder(file, dir string) (folder string, clean func(), err error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return "", nil, invalidf("%s: model.path: %v", file, err)
	}
	if fi.IsDir() {
		return dir, func() {}, nil
	}
	tmp, err := os.MkdirTemp("", "hangar-model-")
	if err != nil {
		return "", nil, err
	}
	if err := streamFile(dir, filepath.Join(tmp, filepath.Base(dir))); err != nil {
		os.RemoveAll(tmp)
		return "", nil, invalidf("%s: model.path: %v", file, err)
	}
	return tmp, func() { os.RemoveAll(tmp) }, nil
}

// streamFile copies the file src to dst through a small buffer.
func streamFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// modelVersion resolves a model reference through the registry:
// azureml:NAME:VERSION, azureml:NAME@latest (the newest version) or
// azureml:NAME@ALIAS. Errors: EINVALID (a registry's model), ENOTFOUND.
func (r *deploymentResolver) modelVersion(ctx context.Context, ref jobspec.Ref) (*hangar.ModelVersion, error) {
	if ref.Registry != "" {
		return nil, invalidf("%s: model %s: a registry's model is deployed from a workspace: register it in this one first (hangar model create)", r.file, ref)
	}
	mr := modelRef{Name: ref.Name, Version: ref.Version}
	switch {
	case ref.Version != "":
	case strings.EqualFold(ref.Label, "latest"):
		mr.Latest = true
	default:
		mr.Alias = ref.Label
	}
	v, err := resolveModelRef(ctx, r.registry, mr)
	if err != nil {
		return nil, inFile(fmt.Sprintf("%s: model %s", r.file, ref), registryError(err))
	}
	return v, nil
}

// environment resolves an environment reference into sp: a version
// that must exist, or the latest one. One of Azure's curated
// environments (azureml://registries/azureml/environments/…, or an
// AzureML-… name the workspace does not have) is marked in c, to be
// registered with the uploads as the deployment's environment
// <endpoint>-<deployment>-env recording it — as jobs record it: Hangar
// has not its image, and a scoring script runs in the server's python3
// either way. Nothing is written here, so that a deployment refused
// afterwards leaves nothing behind. Errors: EINVALID, ENOTFOUND.
func (r *deploymentResolver) environment(ctx context.Context, ref jobspec.Ref, c *deploymentCode, sp *hangar.DeploymentSpec) error {
	if ref.Registry != "" && !ref.Curated() {
		return invalidf("%s: environment %s: a registry's environment is used from a workspace: create it in this one first (hangar environment create)", r.file, ref)
	}
	var e *hangar.Environment
	var err error
	switch {
	case ref.Registry != "":
		err = hangar.Errorf(hangar.ENOTFOUND, "curated")
	case ref.Version != "":
		e, err = r.client.Environment(ctx, r.workspace, ref.Name, ref.Version)
		if ref.Curated() && hangar.IsCode(err, hangar.ENOTFOUND) {
			// The stand-in is for a name the workspace does not have:
			// a missing version of one it has is not found.
			switch _, lerr := r.client.LatestEnvironment(ctx, r.workspace, ref.Name); {
			case lerr == nil:
				return hangar.Errorf(hangar.ENOTFOUND, "%s: environment %s: version %s not found: the workspace's environment %s has other versions (hangar environment list)", r.file, ref, ref.Version, ref.Name)
			case !hangar.IsCode(lerr, hangar.ENOTFOUND):
				return inFile(fmt.Sprintf("%s: environment %s", r.file, ref), lerr)
			}
		}
	case strings.EqualFold(ref.Label, "latest"):
		e, err = r.client.LatestEnvironment(ctx, r.workspace, ref.Name)
	default:
		return invalidf("%s: environment %s: an environment is named by version or @latest", r.file, ref)
	}
	if ref.Curated() && hangar.IsCode(err, hangar.ENOTFOUND) {
		c.curated = &ref
		return nil
	}
	if err != nil {
		return inFile(fmt.Sprintf("%s: environment %s", r.file, ref), err)
	}
	sp.EnvironmentName, sp.EnvironmentVersion = e.Name, e.Version
	return nil
}

// curatedEnvironment registers the environment that stands for one of
// Azure's curated environments: its image is where Azure publishes the
// curated ones (mcr.microsoft.com/azureml/curated/<name>, the name
// without its AzureML- prefix), and the tag azureml.curated holds the
// reference as the file wrote it. An identical definition is the version
// it already is.
func (r *deploymentResolver) curatedEnvironment(ctx context.Context, ref jobspec.Ref, endpoint, name string) (*hangar.Environment, error) {
	tag := firstNonEmpty(ref.Version, ref.Label, "latest")
	image := strings.ToLower(strings.TrimPrefix(ref.Name, "AzureML-"))
	in := &hangar.Environment{Workspace: r.workspace, Name: endpoint + "-" + name + "-env",
		Image:       "mcr.microsoft.com/azureml/curated/" + image + ":" + tag,
		Description: "Azure's curated environment " + ref.String() + ", recorded: the scoring script runs in the server's python3",
		Tags:        map[string]string{"azureml.curated": ref.String()}}
	out, err := r.client.CreateEnvironment(ctx, in)
	if err != nil {
		return nil, inFile(fmt.Sprintf("%s: environment %s", r.file, ref), err)
	}
	recorded := "recorded as"
	if out.Existing {
		recorded = "recorded already as"
	}
	fmt.Fprintf(r.stderr, "%s: environment %s is one of Azure's curated environments: %s %s:%s, not applied (python3 runs the scoring script)\n", r.file, ref, recorded, out.Name, out.Version)
	return out, nil
}

// registerEnvironment registers an inline environment as a version of
// its name, or of <endpoint>-<deployment>-env without one: an identical
// definition is the version it already is.
func (r *deploymentResolver) registerEnvironment(ctx context.Context, endpoint, name string, env *jobspec.Environment) (*hangar.Environment, error) {
	if err := snapshot.Environment(ctx, r.client.BlobStore(r.workspace), r.file, "environment.", env); err != nil {
		return nil, err
	}
	in := &hangar.Environment{Workspace: r.workspace, Name: firstNonEmpty(env.Name, endpoint+"-"+name+"-env"), Version: env.Version,
		Image: env.Image, CondaFile: env.CondaSpec, Variables: env.Variables, Description: env.Description, Tags: env.Tags}
	if env.Build != nil {
		in.BuildContext, in.DockerfilePath = hangar.Digest(env.Build.Path), env.Build.DockerfilePath
	}
	out, err := r.client.CreateEnvironment(ctx, in)
	if err != nil {
		return nil, inFile(r.file+": environment", err)
	}
	if !out.Existing {
		fmt.Fprintf(r.stderr, "%s: environment registered as %s:%s\n", r.file, out.Name, out.Version)
	}
	return out, nil
}

// registerModel registers a local model folder as the next version of
// the inline model's name or else of the model <endpoint>-<deployment>,
// as `hangar model create --path` does: Azure registers a deployment's
// local model as an anonymous model; naming it after the deployment lets
// `hangar model list` show where it came from. The inline model's
// description and tags go to the version, with the tags Hangar reads from
// the folder (hangar.…), which win.
func (r *deploymentResolver) registerModel(ctx context.Context, endpoint, deployment string, m *jobspec.Model, folder string) (*hangar.ModelVersion, error) {
	name := localModelName(endpoint, deployment, m)
	mf := &modelFiles{dir: folder, clean: func() {}}
	described, err := describeModel(mf.dir, m.Type)
	if err != nil {
		return nil, inFile(r.file+": model.path", err)
	}
	tags := map[string]string{}
	for k, v := range m.Tags {
		if strings.HasPrefix(k, "hangar.") {
			fmt.Fprintf(r.stderr, "%s: model.tags.%s is not applied: hangar.… tags are the ones Hangar reads from the model\n", r.file, k)
			continue
		}
		tags[k] = v
	}
	maps.Copy(tags, described)
	tags["hangar.deployment"] = endpoint + "/" + deployment
	source, runID, err := uploadModel(ctx, r.registry, name, mf)
	if err != nil {
		return nil, registryError(err)
	}
	if _, err := r.registry.CreateRegisteredModel(ctx, &hangar.RegisteredModel{Name: name}); err != nil && !hangar.IsCode(err, hangar.ECONFLICT) {
		return nil, registryError(err)
	}
	v, err := r.registry.CreateModelVersion(ctx, &hangar.ModelVersion{Name: name, Source: source, RunID: runID,
		Description: firstNonEmpty(m.Description, "model of "+r.kind+" deployment "+deployment+" of endpoint "+endpoint), Tags: tags})
	if err != nil {
		return nil, registryError(err)
	}
	fmt.Fprintf(r.stderr, "%s: model registered as %s:%s\n", r.file, v.Name, v.Version)
	if m.Version != "" && m.Version != v.Version {
		fmt.Fprintf(r.stderr, "%s: model.version %s is not applied: the registry numbers a model's versions\n", r.file, m.Version)
	}
	return v, nil
}

// localModelName is the model a deployment's local model folder is
// registered as: the inline model's name, or <endpoint>-<deployment>.
func localModelName(endpoint, deployment string, m *jobspec.Model) string {
	return firstNonEmpty(m.Name, endpoint+"-"+deployment)
}

// inFile puts prefix (the file and the field) before an error's message,
// keeping its code: the CLI prints a domain error's message alone.
func inFile(prefix string, err error) error {
	var he *hangar.Error
	if errors.As(err, &he) {
		return hangar.Errorf(he.Code, "%s: %s", prefix, he.Message)
	}
	return fmt.Errorf("%s: %w", prefix, err)
}

// unchangedModel reports whether the model folder dir (see modelFolder)
// holds the files of the model version the deployment being updated
// runs, the one an earlier create or update registered from its folder:
// Azure's anonymous models are named by their content, so applying the
// same YAML again changes nothing; here the content digest decides.
func (r *deploymentResolver) unchangedModel(ctx context.Context, endpoint, name string, m *jobspec.Model, dir string) bool {
	c := r.current
	if c == nil || c.ModelName != localModelName(endpoint, name, m) || c.ModelDigest == "" || c.ModelType != m.Type {
		return false
	}
	_, manifest, err := artifact.PutDir(ctx, hashOnly{}, os.DirFS(dir))
	if err != nil {
		return false
	}
	d, err := hangar.ModelContentDigest(manifest.Files)
	return err == nil && d == c.ModelDigest
}

// hashOnly is a blob store that keeps nothing: Put only hashes, so
// artifact.PutDir computes a folder's manifest without sending it.
type hashOnly struct{}

func (hashOnly) Put(ctx context.Context, r io.Reader) (hangar.BlobInfo, error) {
	return artifact.Hash(ctx, r, nil)
}

func (hashOnly) Open(context.Context, hangar.Digest) (io.ReadCloser, error) {
	return nil, hangar.Errorf(hangar.ENOTFOUND, "a hashing store holds nothing")
}

func (hashOnly) Stat(context.Context, hangar.Digest) (hangar.BlobInfo, error) {
	return hangar.BlobInfo{}, hangar.Errorf(hangar.ENOTFOUND, "a hashing store holds nothing")
}

// fileTransition is the change from the deployment cur to d (read from
// a file): its spec when it differs, description and tags when they do;
// nil when nothing differs.
func fileTransition(cur, d *hangar.OnlineDeployment) *hangar.DeploymentTransition {
	var t hangar.DeploymentTransition
	changed := false
	if !sameSpec(cur.Spec, d.Spec) {
		spec := d.Spec
		t.Spec, changed = &spec, true
	}
	if cur.Description != d.Description {
		desc := d.Description
		t.Description, changed = &desc, true
	}
	if !maps.Equal(cur.Tags, d.Tags) {
		t.Tags, changed = d.Tags, true
		if t.Tags == nil {
			t.Tags = map[string]string{}
		}
	}
	if !changed {
		return nil
	}
	return &t
}

// sameSpec compares two specs as the server stores them: the model's
// digest is the server's to fill, so it is left out.
func sameSpec(a, b hangar.DeploymentSpec) bool {
	a.ModelDigest, b.ModelDigest = "", ""
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

// settable are the fields `online-deployment update --set` changes
// without a file: how the deployment runs, not what it runs.
var settable = []string{"description", "tags", "instance_count", "instance_type", "environment_variables",
	"request_settings", "liveness_probe", "readiness_probe", "data_collector", "sample_request"}

// setTransition applies --set KEY=VALUE overrides (and a new sample
// request) to the deployment cur, Azure's `update --set instance_count=2`:
// the keys are the YAML's (and the spec's JSON names). The model, code
// and environment change only with a file. Errors: EINVALID.
func setTransition(cur *hangar.OnlineDeployment, sets []string, sample json.RawMessage) (*hangar.DeploymentTransition, error) {
	if len(sets) == 0 && sample == nil {
		return nil, invalidf("nothing to update: give the deployment's YAML (-f), --set KEY=VALUE or --sample-request")
	}
	raw, err := json.Marshal(cur.Spec)
	if err != nil {
		return nil, err
	}
	doc := map[string]any{}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	doc["description"] = cur.Description
	tags := map[string]any{}
	for k, v := range cur.Tags {
		tags[k] = v
	}
	doc["tags"] = tags
	for _, s := range sets {
		key, val, ok := strings.Cut(s, "=")
		if !ok || key == "" {
			return nil, invalidf("--set %s: want KEY=VALUE, e.g. instance_count=2", s)
		}
		parts := strings.Split(key, ".")
		if !slices.Contains(settable, parts[0]) {
			return nil, invalidf("--set %s: %s cannot be set on a deployment; give its YAML with -f to change the model, code or environment (settable: %s)", s, parts[0], strings.Join(settable, ", "))
		}
		var v any
		if err := yaml.Unmarshal([]byte(val), &v); err != nil {
			return nil, invalidf("--set %s: the value is not valid YAML", s)
		}
		if parts[0] == "sample_request" {
			if s, ok := v.(string); ok {
				v = json.RawMessage(s) // a JSON text given as a string
			}
		}
		m := doc
		for i, p := range parts {
			if p == "" {
				return nil, invalidf("--set %s: empty name in %s", s, key)
			}
			if i == len(parts)-1 {
				m[p] = v
				break
			}
			next, ok := m[p].(map[string]any)
			if !ok {
				next = map[string]any{}
				m[p] = next
			}
			m = next
		}
	}
	var t hangar.DeploymentTransition
	changed := false
	desc, ok := doc["description"].(string)
	if !ok {
		return nil, invalidf("--set description: want a string")
	}
	delete(doc, "description")
	if desc != cur.Description {
		t.Description, changed = &desc, true
	}
	newTags := map[string]string{}
	tm, ok := doc["tags"].(map[string]any)
	if !ok {
		return nil, invalidf("--set tags: want a map of strings")
	}
	for k, v := range tm {
		if v == nil {
			continue // --set tags.k=null removes the tag
		}
		newTags[k] = fmt.Sprint(v)
	}
	delete(doc, "tags")
	if !maps.Equal(newTags, cur.Tags) && (len(newTags) > 0 || len(cur.Tags) > 0) {
		t.Tags, changed = newTags, true
	}
	if sample != nil {
		doc["sample_request"] = sample
	}
	raw, err = json.Marshal(doc)
	if err != nil {
		return nil, invalidf("--set: %v", err)
	}
	var spec hangar.DeploymentSpec
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&spec); err != nil {
		return nil, invalidf("--set: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	if !sameSpec(cur.Spec, spec) {
		t.Spec, changed = &spec, true
	}
	if !changed {
		return nil, nil
	}
	return &t, nil
}

// waitDeployment polls a deployment until it succeeded or failed, and
// tells each change of its state or message on w.
func waitDeployment(ctx context.Context, api endpointAPI, ws, endpoint, name string, w io.Writer, every time.Duration) (*hangar.OnlineDeployment, error) {
	start := time.Now()
	var last string
	for {
		d, err := api.OnlineDeployment(ctx, ws, endpoint, name)
		if err != nil {
			return nil, fmt.Errorf("wait for online-deployment %s: %w", name, err)
		}
		line := string(d.State)
		if d.Message != "" {
			line += ": " + strings.Join(strings.Fields(d.Message), " ")
		}
		if line != last {
			fmt.Fprintf(w, "online-deployment %s: %s (%s)\n", name, line, time.Since(start).Round(100*time.Millisecond))
			last = line
		}
		if d.State == hangar.StateSucceeded || d.State == hangar.StateFailed {
			return d, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("stopped waiting for online-deployment %s (%s); it goes on: hangar online-deployment show -n %s -e %s", name, d.State, name, endpoint)
		case <-time.After(every):
		}
	}
}

// allTrafficWait bounds how long create --all-traffic waits, after the
// deployment succeeded, for the server to move the traffic to it.
const allTrafficWait = 30 * time.Second

// waitTraffic waits until the endpoint sends all its live traffic to
// deployment: the server shifts it once the deployment succeeded, so that
// a command run after create --all-traffic is scored by it.
func waitTraffic(ctx context.Context, api endpointAPI, ws, endpoint, deployment string, every, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		e, err := api.OnlineEndpoint(ctx, ws, endpoint)
		if err != nil {
			return fmt.Errorf("wait for the traffic of endpoint %s: %w", endpoint, err)
		}
		if e.Traffic[deployment] == 100 {
			return nil
		}
		if time.Now().After(deadline) {
			return hangar.Errorf(hangar.ECONFLICT, "online-deployment %s succeeded but endpoint %s still sends it %d%% of its traffic (%s): set it with online-endpoint update --traffic",
				deployment, endpoint, e.Traffic[deployment], firstNonEmpty(hangar.FormatTraffic(e.Traffic), "no traffic"))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(every):
		}
	}
}

func newDeploymentShowCmd(cli *clientConfig) *cobra.Command {
	var names deploymentFlags
	cmd := &cobra.Command{
		Use:     "show -n NAME -e ENDPOINT",
		Short:   "Show a deployment: its resolved spec, state and message",
		Example: "  hangar online-deployment show -n blue -e churn",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := names.require(); err != nil {
				return err
			}
			api, _, err := cli.endpointClient()
			if err != nil {
				return err
			}
			d, err := api.OnlineDeployment(cmd.Context(), cli.Workspace, names.endpoint, names.name)
			if err != nil {
				return err
			}
			return cli.printResult(cmd.OutOrStdout(), d, deploymentColumns...)
		},
	}
	names.bind(cmd)
	return cmd
}

func newDeploymentListCmd(cli *clientConfig) *cobra.Command {
	var names deploymentFlags
	cmd := &cobra.Command{
		Use:     "list -e ENDPOINT",
		Short:   "List an endpoint's deployments",
		Example: "  hangar online-deployment list -e churn -o table",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if names.endpoint == "" {
				return invalidf("give the endpoint with --endpoint-name/-e")
			}
			api, _, err := cli.endpointClient()
			if err != nil {
				return err
			}
			ds, err := collect(cmd.Context(), 0, func(ctx context.Context, opt hangar.ListOptions) (*hangar.Page[*hangar.OnlineDeployment], error) {
				return api.ListOnlineDeployments(ctx, cli.Workspace, names.endpoint, opt)
			})
			if err != nil {
				return err
			}
			return cli.printResult(cmd.OutOrStdout(), ds, deploymentColumns...)
		},
	}
	cmd.Flags().StringVarP(&names.endpoint, "endpoint-name", "e", "", "endpoint name")
	return cmd
}

func newDeploymentDeleteCmd(cli *clientConfig) *cobra.Command {
	var names deploymentFlags
	var yes bool
	cmd := &cobra.Command{
		Use:     "delete -n NAME -e ENDPOINT",
		Short:   "Delete a deployment that takes no traffic",
		Example: "  hangar online-deployment delete -n blue -e churn --yes",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := names.require(); err != nil {
				return err
			}
			if !yes && !confirm(cmd, fmt.Sprintf("Delete deployment %s of endpoint %s?", names.name, names.endpoint)) {
				return invalidf("not deleted: confirm, or pass --yes")
			}
			api, _, err := cli.endpointClient()
			if err != nil {
				return err
			}
			if err := api.DeleteOnlineDeployment(cmd.Context(), cli.Workspace, names.endpoint, names.name); err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.ErrOrStderr(), "online-deployment %s deleted from endpoint %s\n", names.name, names.endpoint)
			return err
		},
	}
	names.bind(cmd)
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}

func newDeploymentLogsCmd(cli *clientConfig) *cobra.Command {
	var names deploymentFlags
	var lines int
	cmd := &cobra.Command{
		Use:     "get-logs -n NAME -e ENDPOINT",
		Short:   "Print the last lines of a deployment's logs (its workers' output and the server's notes on it)",
		Example: "  hangar online-deployment get-logs -n blue -e churn --lines 100",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := names.require(); err != nil {
				return err
			}
			if lines < 1 {
				return invalidf("--lines %d: want at least 1", lines)
			}
			api, _, err := cli.endpointClient()
			if err != nil {
				return err
			}
			ls, err := api.Logs(cmd.Context(), cli.Workspace, names.endpoint, names.name, lines)
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("output") || cli.query != "" {
				return cli.printResult(cmd.OutOrStdout(), map[string][]string{"lines": ls})
			}
			w := cmd.OutOrStdout()
			for _, l := range ls {
				if _, err := fmt.Fprintln(w, l); err != nil {
					return err
				}
			}
			return nil
		},
	}
	names.bind(cmd)
	cmd.Flags().IntVarP(&lines, "lines", "l", 5000, "how many of the last lines")
	return cmd
}
