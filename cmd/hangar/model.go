package main

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/mlflow"
)

// mlflowClient returns an MLflow client of the configured server's
// workspace: its MLflow routes (<url>/w/<ws>/api/2.0/…), with the CLI's
// token and CA. `hangar model`, `run show` and the downloads go through the
// same routes as MLflow's Python client, so both see one registry.
func (c *clientConfig) mlflowClient() (*mlflow.Client, error) {
	hc, err := c.client() // resolves the configuration and checks the URL
	if err != nil {
		return nil, err
	}
	httpc := &http.Client{Timeout: mlflow.DefaultTimeout}
	if hc.HTTPClient != nil {
		copied := *hc.HTTPClient
		copied.Timeout = mlflow.DefaultTimeout
		httpc = &copied
	}
	base := strings.TrimRight(c.URL, "/") + "/w/" + url.PathEscape(c.Workspace)
	return &mlflow.Client{URL: base, Token: c.Token, HTTP: httpc}, nil
}

// registryError is an error of the registry routes as the other verbs
// show the server's errors: the server's own message (MLflow's), with the
// domain code the MLflow client gave it.
func registryError(err error) error {
	var ae *mlflow.AnswerError
	if errors.As(err, &ae) && ae.Body.Message != "" {
		return hangar.Errorf(ae.Err.Code, "%s", ae.Body.Message)
	}
	return err
}

func newModelCmd(cli *clientConfig) *cobra.Command {
	cmd := newGroup("model", "List, show and register models (the MLflow model registry)")
	cmd.Long = `List, show and register the workspace's models: the registered models and
versions of the MLflow model registry (registered-models/…, model-versions/…),
which MLflow clients read and write too.

A model is named as in Azure ML: NAME (the model), NAME:VERSION, NAME@ALIAS,
NAME@latest (its newest version), each optionally prefixed with "azureml:",
or as an MLflow URI: models:/NAME/VERSION, models:/NAME@ALIAS,
models:/NAME/latest, models:/NAME/STAGE.`
	cols := []string{"name", "latest_version", "aliases", "updated_at"}

	var filter string
	var orderBy []string
	var maxResults int
	list := &cobra.Command{
		Use:   "list",
		Short: "List registered models with their latest version and aliases",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := cli.mlflowClient()
			if err != nil {
				return err
			}
			models, err := collect(cmd.Context(), maxResults, func(ctx context.Context, opt hangar.ListOptions) (*hangar.Page[*hangar.RegisteredModel], error) {
				return c.SearchRegisteredModels(ctx, hangar.ModelSearch{Filter: filter, OrderBy: orderBy, MaxResults: opt.MaxResults, PageToken: opt.PageToken})
			})
			if err != nil {
				return err
			}
			views := make([]modelView, 0, len(models))
			for _, m := range models {
				views = append(views, newModelView(cli.Workspace, m))
			}
			return cli.printResult(cmd.OutOrStdout(), views, cols...)
		},
	}
	list.Flags().StringVar(&filter, "filter", "", `MLflow registry filter, e.g. "name LIKE 'churn%'" or "tags.team = 'risk'"`)
	list.Flags().StringArrayVar(&orderBy, "order-by", nil, `sort key: name, creation_timestamp or last_updated_timestamp, then ASC or DESC (repeatable)`)
	list.Flags().IntVarP(&maxResults, "max-results", "r", 0, "return at most this many models (default all)")

	var showLineage bool
	show := &cobra.Command{
		Use:   "show NAME[:VERSION|@ALIAS]",
		Short: "Show a registered model, or one of its versions",
		Example: "  hangar model show churn\n  hangar model show churn:3\n  hangar model show churn@champion\n" +
			"  hangar model show azureml:churn@latest\n  hangar model show models:/churn/Production",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref, err := parseModelRef(args[0])
			if err != nil {
				return err
			}
			c, err := cli.mlflowClient()
			if err != nil {
				return err
			}
			if ref.model() {
				m, err := c.RegisteredModel(cmd.Context(), ref.Name)
				if err != nil {
					return err
				}
				return cli.printResult(cmd.OutOrStdout(), newModelView(cli.Workspace, m), cols...)
			}
			v, err := resolveModelRef(cmd.Context(), c, ref)
			if err != nil {
				return err
			}
			v.Workspace = cli.Workspace
			if showLineage {
				return printLineage(cmd, cli, v.Name, v.Version)
			}
			return cli.printResult(cmd.OutOrStdout(), v, "name", "version", "current_stage", "aliases", "source")
		},
	}
	show.Flags().BoolVar(&showLineage, "lineage", false, "print the version's lineage: its run, the job steps that made it, back to the data asset versions (-o json: the graph of nodes and edges)")

	cmd.AddCommand(list, show, newModelCreateCmd(cli), newModelDownloadCmd(cli), newModelGateCmd(cli))
	cmd.AddCommand(newModelVersionCmds(cli)...) // model_lifecycle.go: update, archive, restore
	cmd.AddCommand(modelApprovalCmds(cli)...)   // model_approval.go
	cmd.AddCommand(newModelShareCmd(cli))       // share.go
	for _, sub := range cmd.Commands() {
		run := sub.RunE
		sub.RunE = func(cmd *cobra.Command, args []string) error { return registryError(run(cmd, args)) }
	}
	return cmd
}

func newModelCreateCmd(cli *clientConfig) *cobra.Command {
	var name, runID, artifactPath, source, description string
	var path, modelType, file, wantVersion string
	var tags, aliases []string
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Register a new model version (creating the registered model if needed)",
		Long: `Register a new version of a model, as 'az ml model create' and MLflow's
register_model do: the registered model is created when it does not exist yet,
then the next version ("1", "2", …) is added. The files are named by
--run-id and --artifact-path (the path of the model in the run's artifacts;
the version's source becomes the run's artifact URI joined with it) or by
--source (a URI such as mlflow-artifacts:/…, runs:/RUN_ID/PATH or s3://…).
--description and --tag describe the version; --alias points aliases at it
(moving them from another version). --path, as Azure's, names the files
instead: a local folder or file (uploaded to the artifact store), a job's
output azureml://jobs/<job>/outputs/<output> (logged as artifacts of the job's
MLflow run, so the version's lineage leads to the job), or runs:/<run>/<path>.
--type (custom_model, mlflow_model, triton_model) and what the folder says of
itself (MLmodel flavors and signature, size, file count) become hangar.* tags
of the version; an mlflow_model needs an MLmodel file.`,
		Example: "  hangar model create --name churn --run-id $RUN --artifact-path model --tag team=risk\n" +
			"  hangar model create --name churn --source runs:/$RUN/model",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var specTags map[string]string
			if file != "" {
				spec, err := readModelSpec(file)
				if err != nil {
					return err
				}
				name = firstNonEmpty(name, spec.Name)
				if !cmd.Flags().Changed("path") {
					path = spec.Path
				}
				if !cmd.Flags().Changed("type") && spec.Type != "" {
					modelType = spec.Type
				}
				description = firstNonEmpty(description, spec.Description)
				wantVersion = spec.Version
				specTags = spec.Tags
			}
			if name == "" {
				return invalidf("model create needs --name/-n")
			}
			if err := hangar.ValidateRegisteredModelName(name); err != nil {
				return err
			}
			if !slices.Contains(modelTypes, modelType) {
				return invalidf("--type %q: want %s", modelType, strings.Join(modelTypes, ", "))
			}
			tagMap, err := parseModelTags(tags)
			if err != nil {
				return err
			}
			for k, v := range specTags {
				if _, ok := tagMap[k]; !ok {
					if tagMap == nil {
						tagMap = map[string]string{}
					}
					tagMap[k] = v
				}
			}
			if path != "" && (runID != "" || source != "") {
				return invalidf("give one of --path, --run-id or --source")
			}
			var staged *modelFiles
			if path != "" && strings.HasPrefix(path, "runs:/") {
				source = path
			} else if path != "" {
				if staged, err = stagePath(cmd.Context(), cli, path); err != nil {
					return err
				}
				defer staged.clean()
				meta, err := describeModel(staged.dir, modelType)
				if err != nil {
					return err
				}
				if tagMap == nil {
					tagMap = map[string]string{}
				}
				for k, v := range meta {
					if _, ok := tagMap[k]; !ok {
						tagMap[k] = v
					}
				}
			} else if cmd.Flags().Changed("type") || file != "" {
				if tagMap == nil {
					tagMap = map[string]string{}
				}
				tagMap["hangar.model_type"] = modelType
			}
			if err := hangar.ValidateModelDescription(description); err != nil {
				return err
			}
			for _, a := range aliases {
				if err := hangar.ValidateModelAlias(a); err != nil {
					return invalidf("--alias %q: %s", a, hangar.ErrorMessage(err))
				}
			}
			pathSet := cmd.Flags().Changed("artifact-path")
			if strings.HasPrefix(source, "runs:/") {
				if runID != "" || pathSet {
					return invalidf("--source runs:/… names the run and the path itself: drop --run-id and --artifact-path")
				}
				if runID, artifactPath, err = parseRunsURI(source); err != nil {
					return err
				}
				source = ""
			}
			switch {
			case source != "" && pathSet:
				return invalidf("give --artifact-path with --run-id, or --source, not both")
			case source == "" && runID == "" && staged == nil:
				return invalidf("model create needs --path PATH, --run-id RUN_ID (with --artifact-path) or --source URI")
			}
			c, err := cli.mlflowClient()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if wantVersion != "" {
				// The registry numbers versions; a YAML's version must be
				// the one it would get.
				next := 1
				if m, err := c.RegisteredModel(ctx, name); err == nil {
					for _, lv := range m.LatestVersions {
						if n, err := strconv.Atoi(lv.Version); err == nil && n >= next {
							next = n + 1
						}
					}
				}
				if wantVersion != strconv.Itoa(next) {
					return invalidf("version %s: the registry numbers versions and the next version of %s is %d; leave version out or set it to %d", wantVersion, name, next, next)
				}
			}
			if staged != nil {
				if source, runID, err = uploadModel(ctx, c, name, staged); err != nil {
					return err
				}
			}
			if source == "" {
				if err := checkArtifactPath(artifactPath); err != nil {
					return err
				}
				run, err := c.GetRun(ctx, runID)
				if err != nil {
					return err
				}
				if run.Info.ArtifactURI == "" {
					return invalidf("run %s has no artifact URI to register a model from: give --source", runID)
				}
				source = strings.TrimRight(run.Info.ArtifactURI, "/")
				if artifactPath != "" {
					source += "/" + strings.Trim(artifactPath, "/")
				}
			}
			if _, err := c.CreateRegisteredModel(ctx, &hangar.RegisteredModel{Name: name}); err != nil && !hangar.IsCode(err, hangar.ECONFLICT) {
				return err
			}
			v, err := c.CreateModelVersion(ctx, &hangar.ModelVersion{Name: name, Source: source, RunID: runID, Description: description, Tags: tagMap})
			if err != nil {
				return err
			}
			for _, a := range aliases {
				if err := c.SetRegisteredModelAlias(ctx, name, a, v.Version); err != nil {
					return err
				}
				v.Aliases = append(v.Aliases, a)
			}
			slices.Sort(v.Aliases)
			v.Aliases = slices.Compact(v.Aliases)
			v.Workspace = cli.Workspace
			return cli.printResult(cmd.OutOrStdout(), v, "name", "version", "current_stage", "aliases", "source")
		},
	}
	f := cmd.Flags()
	f.StringVarP(&name, "name", "n", "", "registered model name (created when it does not exist)")
	f.StringVar(&runID, "run-id", "", "run whose artifacts hold the model")
	f.StringVar(&artifactPath, "artifact-path", "model", "path of the model in the run's artifacts")
	f.StringVar(&source, "source", "", "URI of the model files instead of --run-id (mlflow-artifacts:/…, runs:/RUN_ID/PATH, s3://…)")
	f.StringVarP(&path, "path", "p", "", "the model's files, as az ml model create: a local folder or file (uploaded), azureml://jobs/<job>/outputs/<output> (logged to the job's run) or runs:/<run>/<path>")
	f.StringVar(&modelType, "type", "custom_model", "model type: custom_model, mlflow_model (an MLmodel folder) or triton_model")
	f.StringVarP(&file, "file", "f", "", "a model YAML (name, path, type, description, tags; version only as the next one)")
	f.StringVarP(&description, "description", "d", "", "description of the version")
	f.StringArrayVar(&tags, "tag", nil, "tag of the version as KEY=VALUE (repeatable)")
	f.StringArrayVar(&aliases, "alias", nil, "alias to point at the new version, e.g. champion (repeatable)")
	return cmd
}

// modelView is a registered model as `hangar model list` and `show` print
// it: the model with its newest version.
type modelView struct {
	*hangar.RegisteredModel
	// LatestVersion is the highest version number of the model: the
	// highest of its latest version per stage.
	LatestVersion string `json:"latest_version,omitempty"`
}

func newModelView(ws string, m *hangar.RegisteredModel) modelView {
	m.Workspace = ws
	for _, v := range m.LatestVersions {
		v.Workspace = ws
	}
	return modelView{RegisteredModel: m, LatestVersion: newest(m.LatestVersions)}
}

// newest returns the highest version number of vs, "" when vs is empty.
func newest(vs []*hangar.ModelVersion) string {
	best, bestN := "", int64(-1)
	for _, v := range vs {
		if n, err := strconv.ParseInt(v.Version, 10, 64); err == nil && n > bestN {
			best, bestN = v.Version, n
		}
	}
	return best
}

// modelRef is a parsed model reference of `hangar model show`: with none
// of Version, Alias, Stage and Latest set it names the registered model.
type modelRef struct {
	Name    string
	Version string // NAME:3, models:/NAME/3
	Alias   string // NAME@champion, models:/NAME@champion
	Stage   string // models:/NAME/Production
	Latest  bool   // NAME@latest, models:/NAME/latest
}

// model reports whether the reference names the registered model itself.
func (r modelRef) model() bool {
	return r.Version == "" && r.Alias == "" && r.Stage == "" && !r.Latest
}

// String returns the reference as parseModelRef reads it back.
func (r modelRef) String() string {
	switch {
	case r.Version != "":
		return r.Name + ":" + r.Version
	case r.Alias != "":
		return r.Name + "@" + r.Alias
	case r.Latest:
		return r.Name + "@latest"
	case r.Stage != "":
		return "models:/" + r.Name + "/" + r.Stage
	}
	return r.Name
}

// parseModelRef reads a model reference: NAME, NAME:VERSION, NAME@ALIAS or
// NAME@latest, optionally after "azureml:", or a models:/ URI. A name may
// itself hold ':' (MLflow allows it): only a suffix of digits after the
// last ':' is a version. Errors: EINVALID.
func parseModelRef(s string) (modelRef, error) {
	const forms = "want NAME, NAME:VERSION, NAME@ALIAS, NAME@latest or models:/NAME/VERSION"
	if len(s) >= len("models:") && strings.EqualFold(s[:len("models:")], "models:") {
		u, err := hangar.ParseModelURI(s)
		if err != nil {
			return modelRef{}, err
		}
		if u.ModelID != "" {
			return modelRef{}, invalidf("model reference %q names an MLflow logged model, not a registered one: %s", s, forms)
		}
		ref := modelRef{Name: u.Name, Version: u.Version, Alias: u.Alias, Stage: u.Stage, Latest: u.Latest}
		if ref.Alias != "" {
			if err := hangar.ValidateModelAlias(ref.Alias); err != nil {
				return modelRef{}, invalidf("model reference %q: %s", s, hangar.ErrorMessage(err))
			}
		}
		return ref, checkModelRef(s, ref)
	}
	rest := s
	if len(rest) >= len("azureml:") && strings.EqualFold(rest[:len("azureml:")], "azureml:") {
		rest = rest[len("azureml:"):]
		if strings.HasPrefix(rest, "//") {
			return modelRef{}, invalidf("model reference %q: registry references (azureml://…) are not supported: %s", s, forms)
		}
	}
	var ref modelRef
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		ref.Name, ref.Alias = rest[:i], rest[i+1:]
		if strings.EqualFold(ref.Alias, "latest") {
			ref.Alias, ref.Latest = "", true
		} else if err := hangar.ValidateModelAlias(ref.Alias); err != nil {
			return modelRef{}, invalidf("model reference %q: %s", s, hangar.ErrorMessage(err))
		}
	} else if i := strings.LastIndexByte(rest, ':'); i >= 0 && isDigits(rest[i+1:]) {
		ref.Name, ref.Version = rest[:i], rest[i+1:]
	} else {
		ref.Name = rest
	}
	if ref.Name == "" {
		return modelRef{}, invalidf("model reference %q has no name: %s", s, forms)
	}
	return ref, checkModelRef(s, ref)
}

func checkModelRef(s string, ref modelRef) error {
	if err := hangar.ValidateRegisteredModelName(ref.Name); err != nil {
		return invalidf("model reference %q: %s", s, hangar.ErrorMessage(err))
	}
	return nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// resolveModelRef returns the version a reference names, as MLflow's
// client resolves models:/ URIs: a version by number, an alias by
// registered-models/alias, the newest version (or a stage's) by
// get-latest-versions. Errors: ENOTFOUND (model, version, no version),
// EINVALID (an alias the model does not have), and the client's others.
func resolveModelRef(ctx context.Context, c *mlflow.Client, ref modelRef) (*hangar.ModelVersion, error) {
	switch {
	case ref.Version != "":
		return c.ModelVersion(ctx, ref.Name, ref.Version)
	case ref.Alias != "":
		return c.ModelVersionByAlias(ctx, ref.Name, ref.Alias)
	}
	var stages []string
	if ref.Stage != "" {
		stages = []string{ref.Stage}
	}
	vs, err := c.LatestModelVersions(ctx, ref.Name, stages)
	if err != nil {
		return nil, err
	}
	best := newest(vs)
	if best == "" {
		if ref.Stage != "" {
			return nil, hangar.Errorf(hangar.ENOTFOUND, "model %q has no version in stage %s", ref.Name, ref.Stage)
		}
		return nil, hangar.Errorf(hangar.ENOTFOUND, "model %q has no versions", ref.Name)
	}
	// Fetch it again: get-latest-versions leaves out aliases (MLflow 2.x).
	return c.ModelVersion(ctx, ref.Name, best)
}

// parseModelTags reads --tag KEY=VALUE flags. Errors: EINVALID.
func parseModelTags(tags []string) (map[string]string, error) {
	if len(tags) == 0 {
		return nil, nil
	}
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		k, v, ok := strings.Cut(t, "=")
		if !ok {
			return nil, invalidf("--tag %q: want KEY=VALUE", t)
		}
		if err := hangar.ValidateModelVersionTag(k, v); err != nil {
			return nil, invalidf("--tag %q: %s", t, hangar.ErrorMessage(err))
		}
		m[k] = v
	}
	return m, nil
}

// parseRunsURI splits runs:/RUN_ID/PATH. Errors: EINVALID.
func parseRunsURI(s string) (runID, artifactPath string, err error) {
	rest := strings.TrimPrefix(s, "runs:/")
	runID, artifactPath, _ = strings.Cut(rest, "/")
	if runID == "" {
		return "", "", invalidf("--source %q: want runs:/RUN_ID/PATH", s)
	}
	return runID, artifactPath, checkArtifactPath(artifactPath)
}

// checkArtifactPath refuses an artifact path that would leave the run's
// artifacts: absolute, with "..", or not in normal form. Errors: EINVALID.
func checkArtifactPath(p string) error {
	if p == "" {
		return nil
	}
	if strings.HasPrefix(p, "/") || strings.Contains(p, `\`) || path.Clean(p) != strings.TrimSuffix(p, "/") || strings.HasPrefix(path.Clean(p), "..") {
		return invalidf("artifact path %q: want a relative path inside the run's artifacts, without '..'", p)
	}
	return nil
}

// printLineage prints a model version's lineage: as a tree back to the
// data (-o table, the default for a terminal reader), or the graph as JSON.
func printLineage(cmd *cobra.Command, cli *clientConfig, name, version string) error {
	c, err := cli.client()
	if err != nil {
		return err
	}
	g, err := c.ModelLineage(cmd.Context(), cli.Workspace, name, version)
	if err != nil {
		return err
	}
	if cli.output == "table" || cli.output == "tsv" {
		return g.WriteText(cmd.OutOrStdout())
	}
	return cli.printResult(cmd.OutOrStdout(), g)
}
