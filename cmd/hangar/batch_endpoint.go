package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/httpapi"
	"github.com/hangar-ml/hangar/jobspec"
)

// `hangar batch-endpoint`, `hangar batch-deployment` (issue 11, item 5)
// over the batch endpoint routes (httpapi/batch_endpoint.go), and the
// hidden `hangar batch-run` an invoked job's step runs (package batchrun).

var (
	batchEndpointColumns   = []string{"name", "default_deployment", "provisioning_state", "description"}
	batchDeploymentColumns = []string{"name", "endpoint", "provisioning_state", "spec.model_name", "spec.model_version", "settings.mini_batch_size", "settings.output_action"}
	batchJobColumns        = []string{"name", "status", "deployment", "created_at"}
)

func newBatchEndpointCmd(cli *clientConfig) *cobra.Command {
	cmd := newGroup("batch-endpoint", "Batch endpoints: score data assets with a deployment, as jobs")
	cmd.Long = `Batch endpoints, as Azure ML's: a name that batch scoring jobs are invoked on,
and the deployment (hangar batch-deployment) they use by default. 'invoke'
starts a job that scores a data asset in mini-batches and registers its
output as a data asset version; the job is an ordinary job (hangar job
show|stream|cancel).`
	cmd.AddCommand(newBatchEndpointCreateCmd(cli, false), newBatchEndpointCreateCmd(cli, true),
		newBatchEndpointShowCmd(cli),
		newListCmd(cli, "list", "List the workspace's batch endpoints", batchEndpointColumns,
			func(ctx context.Context, c *httpapi.Client, opt hangar.ListOptions) (*hangar.Page[*hangar.BatchEndpoint], error) {
				return c.ListBatchEndpoints(ctx, cli.Workspace, opt)
			}),
		newBatchEndpointDeleteCmd(cli), newBatchInvokeCmd(cli), newBatchListJobsCmd(cli))
	return cmd
}

func newBatchDeploymentCmd(cli *clientConfig) *cobra.Command {
	cmd := newGroup("batch-deployment", "Batch deployments: the model and settings a batch endpoint's jobs run")
	cmd.Long = `Batch deployments, as Azure ML's (type model): the model a batch endpoint's
jobs score with and how — mini_batch_size, max_concurrency_per_instance ×
instance_count workers, retry_settings, error_threshold, output_action
(append_row, with output_file_name) — from Azure's batch deployment YAML. A
model reference (azureml:<name>:<version>, azureml:<name>@latest) is resolved
in the registry; a local model path is registered as a new version first.
Hangar models and MLflow model folders run natively; a scoring script
(code_configuration) runs in the server's python3. compute and
resources.instance_type are recorded: the jobs run on the server's machine.`
	var endpoint string
	listCmd := newListCmd(cli, "list", "List a batch endpoint's deployments", batchDeploymentColumns,
		func(ctx context.Context, c *httpapi.Client, opt hangar.ListOptions) (*hangar.Page[*hangar.BatchDeployment], error) {
			if endpoint == "" {
				return nil, invalidf("--endpoint-name/-e is required")
			}
			return c.ListBatchDeployments(ctx, cli.Workspace, endpoint, opt)
		})
	listCmd.Flags().StringVarP(&endpoint, "endpoint-name", "e", "", "the batch endpoint (required)")
	cmd.AddCommand(newBatchDeploymentCreateCmd(cli, false), newBatchDeploymentCreateCmd(cli, true),
		newBatchDeploymentShowCmd(cli), listCmd, newBatchDeploymentDeleteCmd(cli))
	return cmd
}

// readSpec reads a spec file, or without one a spec of just its name (so
// that `update -n NAME --set key=value` needs no file).
func readSpec(file, name string) (string, []byte, error) {
	if file == "" {
		if name == "" {
			return "", nil, invalidf("give --file/-f, or --name/-n")
		}
		return "command line", []byte("name: " + name + "\n"), nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", nil, invalidf("read the spec file: %v", err)
	}
	return file, b, nil
}

func newBatchEndpointCreateCmd(cli *clientConfig, update bool) *cobra.Command {
	var file, name string
	var sets []string
	cmd := &cobra.Command{
		Use:     "create -f FILE",
		Short:   "Create a batch endpoint from Azure ML batch endpoint YAML",
		Example: "  hangar batch-endpoint create -f endpoint.yml\n  hangar batch-endpoint create -f endpoint.yml -n scoring --set description='nightly scoring'",
		Args:    cobra.NoArgs,
	}
	if update {
		cmd.Use, cmd.Short = "update -f FILE | -n NAME --set KEY=VALUE", "Change a batch endpoint's description, tags or default deployment"
		cmd.Example = "  hangar batch-endpoint update -n scoring --set defaults.deployment_name=green\n  hangar batch-endpoint update -f endpoint.yml"
	}
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if name != "" {
			sets = append([]string{"name=" + name}, sets...)
		}
		path, b, err := readSpec(file, name)
		if err != nil {
			return err
		}
		if !update && file == "" {
			return invalidf("batch-endpoint create needs --file/-f")
		}
		spec, err := jobspec.ParseBatchEndpoint(path, b, sets)
		if err != nil {
			return err
		}
		c, err := cli.client()
		if err != nil {
			return err
		}
		ctx := cmd.Context()
		if !update {
			e := &hangar.BatchEndpoint{Name: spec.Name, Description: spec.Description, Tags: spec.Tags}
			if err := c.CreateBatchEndpoint(ctx, cli.Workspace, e); err != nil {
				return err
			}
			if spec.DefaultDeployment != "" {
				fmt.Fprintf(cmd.ErrOrStderr(), "defaults.deployment_name %s: the endpoint has no deployments yet; its first deployment becomes the default\n", spec.DefaultDeployment)
			}
			return cli.printResult(cmd.OutOrStdout(), e, batchEndpointColumns...)
		}
		var u hangar.BatchEndpointUpdate
		if spec.Description != "" {
			u.Description = &spec.Description
		}
		u.Tags = spec.Tags
		if spec.DefaultDeployment != "" {
			u.DefaultDeployment = &spec.DefaultDeployment
		}
		e, err := c.UpdateBatchEndpoint(ctx, cli.Workspace, spec.Name, u, 0)
		if err != nil {
			return err
		}
		return cli.printResult(cmd.OutOrStdout(), e, batchEndpointColumns...)
	}
	f := cmd.Flags()
	f.StringVarP(&file, "file", "f", "", "the endpoint's YAML file")
	f.StringVarP(&name, "name", "n", "", "the endpoint's name (overrides the file's)")
	f.StringArrayVar(&sets, "set", nil, "override a field of the YAML: PATH=VALUE (repeatable)")
	return cmd
}

func newBatchEndpointShowCmd(cli *clientConfig) *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use: "show -n NAME", Short: "Show a batch endpoint", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := cli.client()
			if err != nil {
				return err
			}
			e, err := c.BatchEndpoint(cmd.Context(), cli.Workspace, name)
			if err != nil {
				return err
			}
			return cli.printResult(cmd.OutOrStdout(), e, batchEndpointColumns...)
		},
	}
	requiredName(cmd, &name, "the batch endpoint")
	return cmd
}

func newBatchEndpointDeleteCmd(cli *clientConfig) *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use: "delete -n NAME", Short: "Delete a batch endpoint and its deployments (its jobs stay)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := cli.client()
			if err != nil {
				return err
			}
			if err := c.DeleteBatchEndpoint(cmd.Context(), cli.Workspace, name); err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.ErrOrStderr(), "batch endpoint %s deleted from workspace %s\n", name, cli.Workspace)
			return err
		},
	}
	requiredName(cmd, &name, "the batch endpoint")
	return cmd
}

func requiredName(cmd *cobra.Command, name *string, what string) {
	cmd.Flags().StringVarP(name, "name", "n", "", what+" (required)")
	cmd.MarkFlagRequired("name")
}

func newBatchInvokeCmd(cli *clientConfig) *cobra.Command {
	var name, inputType, outputPath, progressMode string
	var in httpapi.BatchInvocation
	var miniBatch, instances int
	var sets []string
	var stream bool
	cmd := &cobra.Command{
		Use:   "invoke -n NAME --input azureml:DATA@latest|PATH",
		Short: "Start a batch scoring job on a data asset or a local file or folder; print the job (and with --stream follow its log)",
		Long: `Start a batch scoring job, as 'az ml batch-endpoint invoke' does: the
deployment (the endpoint's default, or --deployment-name) scores --input in
mini-batches; the rows go to its output_file_name, registered as a data asset
version (--output-data NAME[:VERSION], default <endpoint>-<deployment>-output).

--input is a data asset (azureml:NAME:VERSION, azureml:NAME@latest; the
azureml: prefix may be left out) or a local file or folder: file:PATH, a path
starting with /, ./ or ../, or any other text naming an existing file or
folder. A local input is uploaded (content the server has is not sent again)
and registered as the next version of data asset <endpoint>-input, of type
uri_file or uri_folder as it is a file or a folder (--input-type, when given,
must agree).

--mini-batch-size/-m, --instance-count/-c and --set output_file_name=NAME
(or settings.output_file_name=NAME) change the deployment's settings for this
job only; --job-name names the job. The job's name is printed; with --stream
the command follows the job's log to its end and fails when the job did not
complete.`,
		Example: "  hangar batch-endpoint invoke -n scoring --input azureml:rides@latest --stream\n" +
			"  hangar batch-endpoint invoke -n scoring --input rides:3 --deployment-name green --output-data scores\n" +
			"  hangar batch-endpoint invoke -n scoring --input ./rides.csv -m 500 -c 2 --job-name rides-2012 --set output_file_name=rides-2012.csv\n" +
			"  hangar batch-endpoint invoke -n scoring --input ./images/ --input-type uri_folder",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			flags := cmd.Flags()
			if outputPath != "" {
				return invalidf("--output-path: a batch job's output is registered as a data asset version, not written to a datastore path: name it with --output-data NAME[:VERSION] and fetch it with 'hangar job download -n JOB --output-name output' or 'hangar data download'")
			}
			switch inputType {
			case "", hangar.DataURIFile, hangar.DataURIFolder:
			default:
				return invalidf("--input-type %q: want %s or %s", inputType, hangar.DataURIFile, hangar.DataURIFolder)
			}
			if flags.Changed("mini-batch-size") {
				in.MiniBatchSize = &miniBatch
			}
			if flags.Changed("instance-count") {
				in.InstanceCount = &instances
			}
			for _, set := range sets {
				key, value, _ := strings.Cut(set, "=")
				switch key {
				case "output_file_name", "settings.output_file_name":
					if value == "" {
						return invalidf("--set %s: give a file name, %s=NAME", set, key)
					}
					in.OutputFileName = value
				default:
					return invalidf("--set %s: invoke overrides output_file_name=NAME (or settings.output_file_name=NAME) only; use --mini-batch-size/-m and --instance-count/-c for those, and batch-deployment update for other settings", set)
				}
			}
			if err := in.Validate(); err != nil {
				return err
			}
			local, isLocal, err := batchLocalInput(in.Input)
			if err != nil {
				return err
			}
			bar, err := newProgressBar(cmd.ErrOrStderr(), progressMode)
			if err != nil {
				return err
			}
			c, err := cli.client()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if isLocal {
				if in.Input, err = uploadBatchInput(ctx, cli, c, name, &in, local, inputType, bar, cmd.ErrOrStderr()); err != nil {
					return err
				}
			} else if inputType != "" {
				if err := checkBatchInputType(ctx, c, cli.Workspace, in.Input, inputType); err != nil {
					return err
				}
			}
			j, err := c.InvokeBatchEndpoint(ctx, cli.Workspace, name, in)
			if err != nil {
				return err
			}
			if err := cli.printResult(cmd.OutOrStdout(), j, jobColumnsOf()...); err != nil {
				return err
			}
			if !stream {
				return nil
			}
			return streamJob(ctx, c, cli.Workspace, j.Name, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	requiredName(cmd, &name, "the batch endpoint")
	f := cmd.Flags()
	f.StringVar(&in.Input, "input", "", "what to score: a data asset, azureml:NAME:VERSION or azureml:NAME@latest, or a local file or folder (uploaded as data asset <endpoint>-input) (required)")
	f.StringVar(&inputType, "input-type", "", "uri_file or uri_folder (default: a local file is uri_file, a folder uri_folder; a data asset's type)")
	f.StringVarP(&in.DeploymentName, "deployment-name", "d", "", "the deployment (default: the endpoint's default)")
	f.IntVarP(&miniBatch, "mini-batch-size", "m", 0, "files (or rows of one table) per mini-batch, for this job (default: the deployment's)")
	f.IntVarP(&instances, "instance-count", "c", 0, "instances for this job: workers = instances × max_concurrency_per_instance (default: the deployment's)")
	f.StringVar(&in.JobName, "job-name", "", "the job's name (default: a new one)")
	f.StringArrayVar(&sets, "set", nil, "override the deployment's output_file_name for this job: output_file_name=NAME")
	f.StringVar(&in.Output, "output-data", "", "register the output as this data asset, NAME or NAME:VERSION (default <endpoint>-<deployment>-output)")
	f.StringVar(&outputPath, "output-path", "", "not supported: the output is a data asset version (see --output-data)")
	f.StringVar(&in.ExperimentName, "experiment-name", "", "the job's experiment (default: the endpoint's name)")
	f.StringVar(&progressMode, "progress", "auto", "upload progress of a local --input on stderr: auto (a bar on a terminal, a final line otherwise), bar, line or none")
	f.BoolVarP(&stream, "stream", "s", false, "follow the job's log until it ends")
	cmd.MarkFlagRequired("input")
	return cmd
}

// batchLocalInput tells whether an invoke's --input is a local file or
// folder and returns its path: file:PATH (or file://PATH), a path that
// starts with /, ./ or ../ (which must then exist), or any other text
// that names an existing file or folder. azureml: references, and names
// of nothing local, are data assets the server resolves; datastore paths
// and URLs are refused.
func batchLocalInput(s string) (string, bool, error) {
	switch {
	case strings.HasPrefix(s, "azureml://"):
		return "", false, invalidf("--input %s: a datastore or registry path is not read directly: register it with 'hangar data create --path %s' and invoke on that data asset", s, s)
	case strings.HasPrefix(s, "azureml:"):
		return "", false, nil
	case strings.HasPrefix(s, "file:"):
		p := strings.TrimPrefix(strings.TrimPrefix(s, "file:"), "//")
		if p == "" {
			return "", false, invalidf("--input %s: give the file or folder, file:PATH", s)
		}
		return p, true, nil
	case strings.Contains(s, "://"):
		return "", false, invalidf("--input %s: URLs are not fetched: download the data and give its local path", s)
	case filepath.IsAbs(s) || s == "." || s == ".." || strings.HasPrefix(s, "./") || strings.HasPrefix(s, "../"):
		return s, true, nil
	}
	if _, err := os.Stat(s); err == nil {
		return s, true, nil
	}
	return "", false, nil
}

// uploadBatchInput registers a local --input as the next version of data
// asset <endpoint>-input, as `hangar data create` would, and returns its
// reference. What the server would refuse first — the input's type, the
// endpoint and deployment, the overrides — is checked before anything is
// uploaded.
func uploadBatchInput(ctx context.Context, cli *clientConfig, c *httpapi.Client, endpoint string, in *httpapi.BatchInvocation, local, inputType string, bar *progressBar, errOut io.Writer) (string, error) {
	fi, err := os.Stat(local)
	if errors.Is(err, fs.ErrNotExist) {
		return "", invalidf("--input %s: no such file or folder", local)
	} else if err != nil {
		return "", fmt.Errorf("--input: %w", err)
	}
	typ, what := hangar.DataURIFile, "file"
	if fi.IsDir() {
		typ, what = hangar.DataURIFolder, "folder"
	}
	if inputType != "" && inputType != typ {
		return "", invalidf("--input-type %s: %s is a %s, which is %s: give --input-type %s or leave it out", inputType, local, what, typ, typ)
	}
	e, err := c.BatchEndpoint(ctx, cli.Workspace, endpoint)
	if err != nil {
		return "", err
	}
	dep := in.DeploymentName
	if dep == "" {
		if dep = e.DefaultDeployment; dep == "" {
			return "", invalidf("batch endpoint %s has no default deployment: give --deployment-name, or create a deployment first", e.Name)
		}
	}
	d, err := c.BatchDeployment(ctx, cli.Workspace, endpoint, dep)
	if err != nil {
		return "", err
	}
	if _, err := in.Apply(d); err != nil {
		return "", err
	}
	path, err := uploadDataPath(ctx, c, cli.Workspace, typ, ".", local, bar)
	if err != nil {
		return "", err
	}
	a, err := c.CreateDataVersion(ctx, cli.Workspace, &hangar.DataAsset{Name: endpoint + "-input", Type: typ, Path: path,
		Description: "Input of a batch-endpoint invoke on " + endpoint})
	if err != nil {
		return "", err
	}
	fmt.Fprintf(errOut, "--input %s: registered as data asset %s:%s\n", local, a.Name, a.Version)
	return "azureml:" + a.Name + ":" + a.Version, nil
}

// checkBatchInputType checks --input-type against the type of the data
// asset --input names (an mltable is read as a folder). What the server
// refuses — a malformed reference, an asset that does not exist — is
// left to it.
func checkBatchInputType(ctx context.Context, c *httpapi.Client, ws, input, want string) error {
	text := input
	if !strings.HasPrefix(text, "azureml:") {
		text = "azureml:" + text
	}
	ref, err := jobspec.ParseRef(text, false)
	if err != nil || ref.Registry != "" {
		return nil
	}
	var a *hangar.DataAsset
	switch {
	case ref.Version != "":
		a, err = c.DataVersion(ctx, ws, ref.Name, ref.Version)
	case ref.Label == "" || ref.Label == "latest":
		a, err = c.LatestDataVersion(ctx, ws, ref.Name)
	default:
		return nil
	}
	if hangar.IsCode(err, hangar.ENOTFOUND) {
		return nil
	} else if err != nil {
		return err
	}
	typ := a.Type
	if typ == hangar.DataMLTable {
		typ = hangar.DataURIFolder
	}
	if typ != want {
		return invalidf("--input-type %s: data asset %s:%s is a %s: give --input-type %s or leave it out", want, a.Name, a.Version, a.Type, typ)
	}
	return nil
}

// jobColumnsOf are the columns a job prints in with -o table.
func jobColumnsOf() []string { return []string{"name", "status", "experiment_name"} }

// batchJob is a job as list-jobs prints it: the deployment that ran it
// is a field of its own, since the tag that holds it has dots in its
// key, which a column's dotted path cannot name.
type batchJob struct {
	*hangar.Job
	Deployment string `json:"deployment"`
}

func newBatchListJobsCmd(cli *clientConfig) *cobra.Command {
	var name string
	cmd := newListCmd(cli, "list-jobs -n NAME", "List the jobs invoked on a batch endpoint, newest first", batchJobColumns,
		func(ctx context.Context, c *httpapi.Client, opt hangar.ListOptions) (*hangar.Page[batchJob], error) {
			page, err := c.ListBatchJobs(ctx, cli.Workspace, name, opt)
			if err != nil {
				return nil, err
			}
			out := &hangar.Page[batchJob]{NextPageToken: page.NextPageToken, Items: make([]batchJob, len(page.Items))}
			for i, j := range page.Items {
				out.Items[i] = batchJob{Job: j, Deployment: j.Tags[httpapi.TagBatchDeployment]}
			}
			return out, nil
		})
	requiredName(cmd, &name, "the batch endpoint")
	return cmd
}

func newBatchDeploymentCreateCmd(cli *clientConfig, update bool) *cobra.Command {
	var file, endpoint, name string
	var sets []string
	var setDefault bool
	cmd := &cobra.Command{
		Use:   "create -f FILE",
		Short: "Create a batch deployment from Azure ML batch deployment YAML",
		Example: "  hangar batch-deployment create -f deployment.yml --set-default\n" +
			"  hangar batch-deployment create -f deployment.yml -e scoring --set settings.mini_batch_size=100",
		Args: cobra.NoArgs,
	}
	if update {
		cmd.Use, cmd.Short = "update -f FILE", "Replace a batch deployment's model, settings, description and tags from its YAML"
		cmd.Example = "  hangar batch-deployment update -f deployment.yml --set settings.error_threshold=10"
	}
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if endpoint != "" {
			sets = append([]string{"endpoint_name=" + endpoint}, sets...)
		}
		if name != "" {
			sets = append([]string{"name=" + name}, sets...)
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return invalidf("read the deployment file: %v", err)
		}
		spec, err := jobspec.ParseBatchDeployment(file, b, sets)
		if err != nil {
			return err
		}
		c, err := cli.client()
		if err != nil {
			return err
		}
		ctx := cmd.Context()
		d, err := batchDeploymentOf(ctx, cli, c, file, spec, update, cmd.ErrOrStderr())
		if err != nil {
			return err
		}
		if update {
			out, err := c.UpdateBatchDeployment(ctx, cli.Workspace, d.Endpoint, d.Name, hangar.BatchDeploymentUpdate{
				Description: &d.Description, Tags: d.Tags, Spec: &d.Spec, Settings: &d.Settings,
			})
			if err != nil {
				return err
			}
			return cli.printResult(cmd.OutOrStdout(), out, batchDeploymentColumns...)
		}
		create := c.CreateBatchDeployment
		if setDefault {
			create = c.CreateBatchDeploymentDefault
		}
		if err := create(ctx, cli.Workspace, d); err != nil {
			return err
		}
		return cli.printResult(cmd.OutOrStdout(), d, batchDeploymentColumns...)
	}
	f := cmd.Flags()
	f.StringVarP(&file, "file", "f", "", "the deployment's YAML file (required)")
	f.StringVarP(&endpoint, "endpoint-name", "e", "", "the batch endpoint (overrides the file's endpoint_name)")
	f.StringVarP(&name, "name", "n", "", "the deployment's name (overrides the file's)")
	f.StringArrayVar(&sets, "set", nil, "override a field of the YAML: PATH=VALUE (repeatable)")
	if !update {
		f.BoolVar(&setDefault, "set-default", false, "make it the endpoint's default deployment (the first deployment always is)")
	}
	cmd.MarkFlagRequired("file")
	return cmd
}

// batchDeploymentOf turns a parsed deployment YAML into what the server
// takes, through the resolver of online deployments: the model resolved
// to a registered version (a local path is registered as the next version
// of <endpoint>-<deployment>, unless the deployment being updated runs its
// files already), the environment to a registered version, and the
// online-only settings every spec carries at Azure's defaults. A create
// is refused before anything is registered when the deployment exists.
func batchDeploymentOf(ctx context.Context, cli *clientConfig, c *httpapi.Client, file string, spec *jobspec.BatchDeployment, update bool, errOut io.Writer) (*hangar.BatchDeployment, error) {
	d := &hangar.BatchDeployment{
		Endpoint: spec.EndpointName, Name: spec.Name, Description: spec.Description, Tags: spec.Tags,
		Spec: hangar.DeploymentSpec{
			InstanceType:         spec.InstanceType,
			InstanceCount:        spec.InstanceCount,
			EnvironmentVariables: spec.EnvironmentVariables,
			Request:              hangar.RequestSettings{RequestTimeoutMS: jobspec.DefaultRequestTimeoutMS, MaxConcurrentRequestsPerInstance: 1},
			Liveness:             hangar.Probe(jobspec.DefaultProbe),
			Readiness:            hangar.Probe(jobspec.DefaultProbe),
		},
		Settings: hangar.BatchSettings{
			MaxConcurrencyPerInstance: spec.MaxConcurrencyPerInstance, MiniBatchSize: spec.MiniBatchSize,
			MaxRetries: spec.MaxRetries, RetryTimeoutSeconds: spec.RetryTimeoutSeconds, ErrorThreshold: spec.ErrorThreshold,
			LoggingLevel: spec.LoggingLevel, OutputAction: spec.OutputAction, OutputFileName: spec.OutputFileName,
		},
	}
	if spec.Compute != "" && spec.Compute != "local" {
		d.Settings.Compute = spec.Compute
		fmt.Fprintf(errOut, "%s: compute %s is recorded, not applied: the jobs run on the server's machine (instance_count × max_concurrency_per_instance workers)\n", file, spec.Compute)
	}
	if _, err := c.BatchEndpoint(ctx, cli.Workspace, spec.EndpointName); err != nil {
		return nil, err
	}
	cur, err := c.BatchDeployment(ctx, cli.Workspace, spec.EndpointName, spec.Name)
	switch {
	case !update && err == nil:
		return nil, hangar.Errorf(hangar.ECONFLICT, "batch-deployment %s of endpoint %s exists: change it with batch-deployment update", spec.Name, spec.EndpointName)
	case !update && hangar.IsCode(err, hangar.ENOTFOUND):
		cur = nil
	case err != nil:
		return nil, err
	}
	reg, err := cli.mlflowClient()
	if err != nil {
		return nil, err
	}
	r := &deploymentResolver{workspace: cli.Workspace, file: file, registry: reg, client: c, stderr: errOut, kind: "batch"}
	if cur != nil {
		r.current = &cur.Spec
	}
	// Local paths and references before anything is registered.
	modelDir, err := r.modelPath(spec.Model)
	if err != nil {
		return nil, err
	}
	// A batch deployment records an inline environment only for its
	// scoring script.
	code, err := r.codeOf(spec.Code, spec.Environment, spec.Code != nil)
	if err != nil {
		return nil, err
	}
	if spec.Model.Ref != nil {
		if err := r.modelRef(ctx, &d.Spec, spec.Model); err != nil {
			return nil, err
		}
	}
	if e := spec.Environment; e != nil {
		if e.Ref == nil {
			if code.env == nil {
				fmt.Fprintf(errOut, "%s: the inline environment is not recorded: a model Hangar runs natively needs none\n", file)
			}
		} else {
			if err := r.environment(ctx, *e.Ref, code, &d.Spec); err != nil {
				return nil, err
			}
		}
	}
	// A bad deployment is refused before the model is registered.
	check := *d
	if modelDir != "" {
		check.Spec.ModelName, check.Spec.ModelVersion = "pending", "1"
	}
	code.placeholders(&check.Spec)
	if err := check.Validate(); err != nil {
		return nil, inFile(file, err)
	}
	if err := r.uploadCode(ctx, code, &d.Spec, spec.EndpointName, spec.Name); err != nil {
		return nil, err
	}
	if modelDir != "" {
		if err := r.localModel(ctx, &d.Spec, spec.EndpointName, spec.Name, spec.Model, modelDir); err != nil {
			return nil, err
		}
	}
	return d, nil
}

func newBatchDeploymentShowCmd(cli *clientConfig) *cobra.Command {
	var name, endpoint string
	cmd := &cobra.Command{
		Use: "show -n NAME -e ENDPOINT", Short: "Show a batch deployment", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := cli.client()
			if err != nil {
				return err
			}
			d, err := c.BatchDeployment(cmd.Context(), cli.Workspace, endpoint, name)
			if err != nil {
				return err
			}
			return cli.printResult(cmd.OutOrStdout(), d, batchDeploymentColumns...)
		},
	}
	requiredName(cmd, &name, "the deployment")
	cmd.Flags().StringVarP(&endpoint, "endpoint-name", "e", "", "the batch endpoint (required)")
	cmd.MarkFlagRequired("endpoint-name")
	return cmd
}

func newBatchDeploymentDeleteCmd(cli *clientConfig) *cobra.Command {
	var name, endpoint string
	cmd := &cobra.Command{
		Use: "delete -n NAME -e ENDPOINT", Short: "Delete a batch deployment that is not its endpoint's default", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := cli.client()
			if err != nil {
				return err
			}
			if err := c.DeleteBatchDeployment(cmd.Context(), cli.Workspace, endpoint, name); err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.ErrOrStderr(), "batch deployment %s deleted from endpoint %s\n", name, endpoint)
			return err
		},
	}
	requiredName(cmd, &name, "the deployment")
	cmd.Flags().StringVarP(&endpoint, "endpoint-name", "e", "", "the batch endpoint (required)")
	cmd.MarkFlagRequired("endpoint-name")
	return cmd
}
