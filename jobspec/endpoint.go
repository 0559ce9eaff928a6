package jobspec

import (
	"maps"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/hangar-ml/hangar"
)

// This file reads Azure ML's endpoint and deployment YAML (reference
// azureml.md §2.9–2.11): managedOnlineEndpoint, managedOnlineDeployment,
// batchEndpoint and batchDeployment. Parsing checks each field and fills
// Azure's defaults; what a spec names (models, environments, deployments)
// is resolved by the server.

// Auth modes of endpoints.
const (
	AuthKey      = "key"       // endpoint keys, primary and secondary
	AuthAMLToken = "aml_token" // short-lived tokens from get-credentials
	AuthAADToken = "aad_token" // batch endpoints: the caller's workspace token
)

// Limits and defaults of online deployments (Azure's).
const (
	DefaultRequestTimeoutMS = 5000
	MaxRequestTimeoutMS     = 180000
	MaxMirrorPercent        = hangar.MaxMirrorPercent
	// MaxInstances bounds instance_count: instances are worker processes
	// on the server's machine.
	MaxInstances = 64
)

// OnlineEndpoint is a managedOnlineEndpoint spec.
type OnlineEndpoint struct {
	Name        string
	Description string
	Tags        map[string]string
	AuthMode    string // AuthKey (default) or AuthAMLToken
	// Traffic and MirrorTraffic map deployment names to percents;
	// nil when the spec does not set them (an update then keeps them).
	Traffic       map[string]int
	MirrorTraffic map[string]int
	// Accepted and recorded, not applied on one machine.
	Identity            map[string]any
	PublicNetworkAccess string
}

// Model is the model of a deployment: a registered one (Ref) or a local
// path registered when the deployment is created (Path, with its Type).
type Model struct {
	Ref  *Ref
	Path string // relative to the spec's file unless absolute
	Type string // custom_model (default) or mlflow_model
	// Name and Version are an inline model's: the name it is registered
	// under (default <endpoint>-<deployment>) and the version Azure would
	// give it, which create says it does not apply (the registry numbers
	// versions itself).
	Name, Version string
	// Description and Tags are an inline model's, given to the version it
	// is registered as.
	Description string
	Tags        map[string]string
	Line        int
}

// CodeConfiguration is a scoring script and the folder it is in.
type CodeConfiguration struct {
	Code          string // a local folder, relative to the spec's file
	ScoringScript string // relative to Code
}

// Probe is a liveness or readiness probe, in seconds.
type Probe struct {
	InitialDelay     int
	Period           int
	Timeout          int
	SuccessThreshold int
	FailureThreshold int
}

// DefaultProbe is Azure's probe: 10 s initial delay and period, 2 s
// timeout, 1 success, 30 failures.
var DefaultProbe = Probe{InitialDelay: 10, Period: 10, Timeout: 2, SuccessThreshold: 1, FailureThreshold: 30}

// RequestSettings bound an online deployment's requests.
type RequestSettings struct {
	RequestTimeoutMS int // 1 to MaxRequestTimeoutMS; past it the request is a 408
	// MaxConcurrentRequestsPerInstance × instances are served at once;
	// past twice that many pending, a request is a 429.
	MaxConcurrentRequestsPerInstance int
	MaxQueueWaitMS                   int // deprecated by Azure; recorded
}

// DataCollector is Azure's production data collection of a deployment.
type DataCollector struct {
	SamplingRate float64 // 0 to 1, default 1
	RollingRate  string  // Minute, Hour (default), Day, Month, Year
	// Collections by name: request and response are the HTTP payloads,
	// model_inputs and model_outputs the data a scoring script collects.
	Collections map[string]Collection
}

// Collection is one collection of a data collector.
type Collection struct {
	Enabled bool
	// Data names the data asset the samples go to; empty fields take
	// Azure's defaults (<endpoint>-<deployment>-<collection>, version 1).
	DataName, DataPath, DataVersion string
}

// OnlineDeployment is a managedOnlineDeployment spec.
type OnlineDeployment struct {
	Name         string
	EndpointName string
	Description  string
	Tags         map[string]string
	Model        *Model
	Code         *CodeConfiguration
	Environment  *Environment
	// EnvironmentVariables are set for the deployment's workers.
	EnvironmentVariables map[string]string
	InstanceType         string // recorded
	InstanceCount        int    // at least 1
	Request              RequestSettings
	Liveness, Readiness  Probe
	DataCollector        *DataCollector
	// Accepted and recorded, not applied on one machine.
	AppInsightsEnabled       bool
	EgressPublicAccess       string
	PrivateNetworkConnection bool // the older form of egress_public_network_access: disabled
	ScaleSettings            map[string]any
}

// BatchEndpoint is a batchEndpoint spec.
type BatchEndpoint struct {
	Name              string
	Description       string
	Tags              map[string]string
	AuthMode          string // AuthAADToken: callers use their workspace token
	DefaultDeployment string // defaults.deployment_name: which deployment invoke uses
}

// Output actions of batch deployments.
const (
	AppendRow   = "append_row"   // the rows run() returns go to one file
	SummaryOnly = "summary_only" // the script writes its own outputs
)

// BatchDeployment is a batchDeployment spec of type model (the legacy
// form with its settings at the top level is read too).
type BatchDeployment struct {
	Name         string
	EndpointName string
	Description  string
	Tags         map[string]string
	Model        *Model
	Code         *CodeConfiguration
	Environment  *Environment
	// Compute is the cluster the file names (azureml:cpu-cluster),
	// recorded: Hangar runs batch jobs on the server's machine. "local"
	// (or empty) says so.
	Compute       string
	InstanceType  string // resources.instance_type, recorded
	InstanceCount int
	// Settings, with Azure's defaults.
	MaxConcurrencyPerInstance int    // 1
	MiniBatchSize             int    // 10 files per run() call
	MaxRetries                int    // 3
	RetryTimeoutSeconds       int    // 30, per mini-batch
	ErrorThreshold            int    // -1: any number of failed files
	LoggingLevel              string // info
	OutputAction              string // AppendRow or SummaryOnly
	OutputFileName            string // predictions.csv
	EnvironmentVariables      map[string]string
}

// ParseOnlineEndpoint reads a managedOnlineEndpoint spec, with --set
// overrides (key.path=value). Errors are EINVALID, one line per problem,
// each naming the file and line.
func ParseOnlineEndpoint(file string, b []byte, sets []string) (*OnlineEndpoint, error) {
	root, d, err := loadSpec(file, b, sets)
	if err != nil {
		return nil, err
	}
	e := &OnlineEndpoint{AuthMode: AuthKey}
	d.fields(root, "", map[string]func(*yaml.Node){
		"$schema":        d.specSchema("managedOnlineEndpoint.schema.json", "kubernetesOnlineEndpoint.schema.json"),
		"name":           func(v *yaml.Node) { d.resourceName(v, "name", &e.Name) },
		"description":    func(v *yaml.Node) { d.str(v, "description", &e.Description) },
		"tags":           func(v *yaml.Node) { d.strMap(v, "tags", &e.Tags) },
		"auth_mode":      func(v *yaml.Node) { d.authMode(v, &e.AuthMode, AuthKey, AuthAMLToken) },
		"traffic":        func(v *yaml.Node) { e.Traffic = d.percents(v, "traffic") },
		"mirror_traffic": func(v *yaml.Node) { e.MirrorTraffic = d.percents(v, "mirror_traffic") },
		"identity":       func(v *yaml.Node) { d.raw(v, "identity", &e.Identity) },
		"public_network_access": func(v *yaml.Node) {
			d.oneOfFold(v, "public_network_access", &e.PublicNetworkAccess, "enabled", "disabled")
		},
		"compute": func(v *yaml.Node) {
			d.errorf(v, "compute: Kubernetes online endpoints are not supported; Hangar serves endpoints itself (remove compute)")
		},
		"type": func(v *yaml.Node) {
			var s string
			d.str(v, "type", &s)
			if s != "" && !strings.EqualFold(s, "online") {
				d.errorf(v, "type %q: this is an online endpoint's spec (type online); a batch endpoint is created with hangar batch-endpoint create", s)
			}
		},
		"deployments": func(v *yaml.Node) {
			d.errorf(v, "deployments: deployments inside the endpoint's file are Azure's preview schema, which its CLI no longer reads; write each deployment in its own file and create it with hangar online-deployment create -f")
		},
		"kind": func(v *yaml.Node) {
			var s string
			d.str(v, "kind", &s)
			if s != "" && !strings.EqualFold(s, "managed") {
				d.errorf(v, "kind %q: only managed online endpoints are supported", s)
			}
		},
	})
	if e.Name == "" && d.err() == nil {
		d.errorf(root, "name is required")
	}
	if e.Traffic != nil || e.MirrorTraffic != nil {
		if err := CheckTraffic(e.Traffic, e.MirrorTraffic); err != nil {
			d.errorf(root, "%s", msgOf(err))
		}
	}
	if err := d.err(); err != nil {
		return nil, err
	}
	return e, nil
}

// ParseOnlineDeployment reads a managedOnlineDeployment spec, with --set
// overrides. Errors are EINVALID, one line per problem.
func ParseOnlineDeployment(file string, b []byte, sets []string) (*OnlineDeployment, error) {
	root, d, err := loadSpec(file, b, sets)
	if err != nil {
		return nil, err
	}
	dep := &OnlineDeployment{
		InstanceCount: 1,
		Request:       RequestSettings{RequestTimeoutMS: DefaultRequestTimeoutMS, MaxConcurrentRequestsPerInstance: 1, MaxQueueWaitMS: 500},
		Liveness:      DefaultProbe,
		Readiness:     DefaultProbe,
	}
	d.fields(root, "", map[string]func(*yaml.Node){
		"$schema":       d.specSchema("managedOnlineDeployment.schema.json", "kubernetesOnlineDeployment.schema.json"),
		"name":          func(v *yaml.Node) { d.resourceName(v, "name", &dep.Name) },
		"endpoint_name": func(v *yaml.Node) { d.resourceName(v, "endpoint_name", &dep.EndpointName) },
		"description":   func(v *yaml.Node) { d.str(v, "description", &dep.Description) },
		"tags":          func(v *yaml.Node) { d.strMap(v, "tags", &dep.Tags) },
		"model":         func(v *yaml.Node) { dep.Model = d.model(v, "model") },
		"code_configuration": func(v *yaml.Node) {
			dep.Code = d.codeConfiguration(v, "code_configuration")
		},
		"environment":           func(v *yaml.Node) { dep.Environment = d.environment(v, "environment", false) },
		"environment_variables": func(v *yaml.Node) { d.envVars(v, "environment_variables", &dep.EnvironmentVariables) },
		"instance_type":         func(v *yaml.Node) { d.str(v, "instance_type", &dep.InstanceType) },
		"instance_count":        func(v *yaml.Node) { dep.InstanceCount = d.boundedInt(v, "instance_count", 1, MaxInstances) },
		"app_insights_enabled":  func(v *yaml.Node) { d.boolean(v, "app_insights_enabled", &dep.AppInsightsEnabled) },
		"egress_public_network_access": func(v *yaml.Node) {
			d.oneOfFold(v, "egress_public_network_access", &dep.EgressPublicAccess, "enabled", "disabled")
		},
		"private_network_connection": func(v *yaml.Node) {
			d.boolean(v, "private_network_connection", &dep.PrivateNetworkConnection)
		},
		"scale_settings":   func(v *yaml.Node) { dep.ScaleSettings = d.scaleSettings(v) },
		"request_settings": func(v *yaml.Node) { d.requestSettings(v, &dep.Request) },
		"liveness_probe":   func(v *yaml.Node) { d.probe(v, "liveness_probe", &dep.Liveness, true) },
		"readiness_probe":  func(v *yaml.Node) { d.probe(v, "readiness_probe", &dep.Readiness, false) },
		"data_collector":   func(v *yaml.Node) { dep.DataCollector = d.dataCollector(v) },
		"type": func(v *yaml.Node) {
			var s string
			d.str(v, "type", &s)
			if s != "" && !strings.EqualFold(s, "managed") {
				d.errorf(v, "type %q: only managed online deployments are supported (Kubernetes deployments are not)", s)
			}
		},
		"model_mount_path": func(v *yaml.Node) {
			d.errorf(v, "model_mount_path: custom containers are not supported; the model is given to the scoring script in AZUREML_MODEL_DIR")
		},
		"with_package": func(v *yaml.Node) { d.errorf(v, "with_package: model packaging is not supported") },
	})
	d.servedBy(dep.Environment, "environment")
	if d.err() == nil {
		d.requireDeployment(root, dep.Name, dep.EndpointName, dep.Model, dep.Code, dep.Environment)
	}
	if err := d.err(); err != nil {
		return nil, err
	}
	return dep, nil
}

// ParseBatchEndpoint reads a batchEndpoint spec, with --set overrides.
func ParseBatchEndpoint(file string, b []byte, sets []string) (*BatchEndpoint, error) {
	root, d, err := loadSpec(file, b, sets)
	if err != nil {
		return nil, err
	}
	e := &BatchEndpoint{AuthMode: AuthAADToken}
	d.fields(root, "", map[string]func(*yaml.Node){
		"$schema":     d.specSchema("batchEndpoint.schema.json"),
		"name":        func(v *yaml.Node) { d.resourceName(v, "name", &e.Name) },
		"description": func(v *yaml.Node) { d.str(v, "description", &e.Description) },
		"tags":        func(v *yaml.Node) { d.strMap(v, "tags", &e.Tags) },
		"auth_mode":   func(v *yaml.Node) { d.authMode(v, &e.AuthMode, AuthAADToken) },
		"defaults": func(v *yaml.Node) {
			d.fields(v, "defaults", map[string]func(*yaml.Node){
				"deployment_name": func(v *yaml.Node) { d.resourceName(v, "defaults.deployment_name", &e.DefaultDeployment) },
			})
		},
		"type": func(v *yaml.Node) {
			var s string
			d.str(v, "type", &s)
			if s != "" && !strings.EqualFold(s, "batch") {
				d.errorf(v, "type %q: this is a batch endpoint's spec (type batch); an online endpoint is created with hangar online-endpoint create", s)
			}
		},
		"traffic": func(v *yaml.Node) {
			d.errorf(v, "traffic: a batch endpoint has a default deployment, not traffic (Azure's preview schema): write defaults.deployment_name")
		},
		"deployments": func(v *yaml.Node) {
			d.errorf(v, "deployments: deployments inside the endpoint's file are Azure's preview schema: write each in its own file and create it with hangar batch-deployment create -f")
		},
	})
	if e.Name == "" && d.err() == nil {
		d.errorf(root, "name is required")
	}
	if err := d.err(); err != nil {
		return nil, err
	}
	return e, nil
}

// ParseBatchDeployment reads a batchDeployment spec of type model, in
// the current form (settings under settings:, resources.instance_count)
// or the legacy one (settings at the top level), with --set overrides.
func ParseBatchDeployment(file string, b []byte, sets []string) (*BatchDeployment, error) {
	root, d, err := loadSpec(file, b, sets)
	if err != nil {
		return nil, err
	}
	dep := &BatchDeployment{
		InstanceCount: 1, MaxConcurrencyPerInstance: 1, MiniBatchSize: 10, MaxRetries: 3, RetryTimeoutSeconds: 30,
		ErrorThreshold: -1, LoggingLevel: "info", OutputAction: AppendRow, OutputFileName: "predictions.csv",
	}
	// A pipeline deployment (type: pipeline, with component: and its own
	// settings) is refused in one line, not with every key it has.
	if t := mappingValue(root, "type"); t != nil && t.Kind == yaml.ScalarNode && t.Value == "pipeline" {
		d.errorf(t, "type pipeline: pipeline component batch deployments are not supported; run the pipeline as a job (hangar job create)")
		return nil, d.err()
	}
	settings := d.batchSettings(dep, "")
	fs := map[string]func(*yaml.Node){
		"$schema":       d.specSchema("batchDeployment.schema.json", "modelBatchDeployment.schema.json"),
		"name":          func(v *yaml.Node) { d.resourceName(v, "name", &dep.Name) },
		"endpoint_name": func(v *yaml.Node) { d.resourceName(v, "endpoint_name", &dep.EndpointName) },
		"description":   func(v *yaml.Node) { d.str(v, "description", &dep.Description) },
		"tags":          func(v *yaml.Node) { d.strMap(v, "tags", &dep.Tags) },
		"model":         func(v *yaml.Node) { dep.Model = d.model(v, "model") },
		"code_configuration": func(v *yaml.Node) {
			dep.Code = d.codeConfiguration(v, "code_configuration")
		},
		"environment": func(v *yaml.Node) { dep.Environment = d.environment(v, "environment", false) },
		"compute": func(v *yaml.Node) {
			if v = d.deref(v); v != nil && v.Kind == yaml.MappingNode {
				d.errorf(v, "compute: a mapping (target, instance_count) is Azure's preview schema: write compute: azureml:<cluster> and resources.instance_count")
				return
			}
			var s string
			d.str(v, "compute", &s)
			switch {
			case s == "" || s == "local" || s == "azureml:local":
				dep.Compute = "local"
			case hangar.ValidateBatchCompute(s) == nil:
				dep.Compute = s
			case hangar.ValidateBatchCompute("azureml:"+s) == nil:
				dep.Compute = "azureml:" + s
			default:
				d.errorf(v, "compute %q: want a compute cluster's name (azureml:cpu-cluster), recorded; Hangar runs batch jobs on the server's machine", s)
			}
		},
		"resources": func(v *yaml.Node) {
			d.fields(v, "resources", map[string]func(*yaml.Node){
				"instance_count": func(v *yaml.Node) {
					dep.InstanceCount = d.boundedInt(v, "resources.instance_count", 1, MaxInstances)
				},
				"instance_type": func(v *yaml.Node) { d.str(v, "resources.instance_type", &dep.InstanceType) },
				"properties":    func(*yaml.Node) {},
			})
		},
		"component": func(v *yaml.Node) {
			d.errorf(v, "component: pipeline component batch deployments are not supported; run the pipeline as a job (hangar job create)")
		},
		"job_definition": func(v *yaml.Node) {
			d.errorf(v, "job_definition: pipeline component batch deployments are not supported; run the pipeline as a job (hangar job create)")
		},
		"type": func(v *yaml.Node) {
			var s string
			d.str(v, "type", &s)
			switch s {
			case "", "model":
			case "pipeline":
				d.errorf(v, "type pipeline: pipeline component batch deployments are not supported; run the pipeline as a job (hangar job create)")
			default:
				d.errorf(v, "type %q is not a batch deployment type (model)", s)
			}
		},
		"settings": func(v *yaml.Node) {
			dep2 := d.batchSettings(dep, "settings")
			d.fields(v, "settings", dep2)
		},
	}
	// The legacy form: settings at the top level.
	maps.Copy(fs, settings)
	d.fields(root, "", fs)
	d.servedBy(dep.Environment, "environment")
	if d.err() == nil {
		d.requireDeployment(root, dep.Name, dep.EndpointName, dep.Model, dep.Code, dep.Environment)
		if dep.OutputAction == SummaryOnly && dep.Code == nil {
			d.errorf(root, "output_action summary_only needs a scoring script (code_configuration) that writes the outputs")
		}
	}
	if err := d.err(); err != nil {
		return nil, err
	}
	return dep, nil
}

// requireDeployment checks what every deployment spec needs: a name, its
// endpoint, a model, and an environment for a scoring script.
func (d *decoder) requireDeployment(root *yaml.Node, name, endpoint string, model *Model, code *CodeConfiguration, env *Environment) {
	switch {
	case name == "":
		d.errorf(root, "name is required")
	case endpoint == "":
		d.errorf(root, "endpoint_name is required (or give --endpoint-name)")
	case model == nil:
		d.errorf(root, "model is required: a registered model (azureml:<name>:<version>, azureml:<name>@latest) or a path")
	}
	if code != nil && env == nil {
		d.errorf(root, "code_configuration needs an environment to run the scoring script in")
	}
}

// servedBy refuses what asks for a server other than Hangar's: a custom
// container (an environment's inference_config, at path: Azure then runs
// the image's own server on its routes, which Hangar does not start).
// Ignoring it would serve the model some other way than the file says,
// in a deployment or in one that uses a registered environment later.
func (d *decoder) servedBy(env *Environment, path string) {
	if env != nil && len(env.InferenceConfig) > 0 {
		// A key that came from --set has no line: the environment's
		// says where, or the file alone when --set made both.
		at := d.file
		switch {
		case env.inferenceLine > 0:
			at += ":" + strconv.Itoa(env.inferenceLine)
		case env.Line > 0:
			at += ":" + strconv.Itoa(env.Line)
		}
		d.errorAt(at, join(path, "inference_config")+": custom serving containers are not supported: Hangar does not start the image's server; "+
			"deploy the model with a scoring script (code_configuration) run by python3, or an MLflow model served natively")
	}
}

// mappingValue is the value of key in the mapping n, or nil.
func mappingValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Kind == yaml.ScalarNode && n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// scaleSettings decodes scale_settings: type default (managed) or
// target_utilization (Kubernetes) with its bounds, recorded — instances
// are instance_count workers on the server's machine. The preview form
// (scale_type, instance_count) is refused: its instance_count would be
// silently lost.
func (d *decoder) scaleSettings(v *yaml.Node) map[string]any {
	const p = "scale_settings"
	said := false
	preview := func(v *yaml.Node) {
		if !said {
			d.errorf(v, "%s: scale_type and instance_count are Azure's preview schema: write instance_count at the top level (and scale_settings: {type: default}, or nothing)", p)
		}
		said = true
	}
	var typ string
	d.fields(v, p, map[string]func(*yaml.Node){
		"type": func(v *yaml.Node) {
			d.oneOfFold(v, p+".type", &typ, "default", "target_utilization")
		},
		"min_instances":                 func(v *yaml.Node) { d.boundedInt(v, p+".min_instances", 0, 1000) },
		"max_instances":                 func(v *yaml.Node) { d.boundedInt(v, p+".max_instances", 1, 1000) },
		"polling_interval":              func(v *yaml.Node) { d.boundedInt(v, p+".polling_interval", 1, 86400) },
		"target_utilization_percentage": func(v *yaml.Node) { d.boundedInt(v, p+".target_utilization_percentage", 1, 100) },
		"scale_type":                    preview,
		"instance_count":                preview,
	})
	var m map[string]any
	d.raw(v, p, &m)
	return m
}

// batchSettings are the keys of a batch deployment's settings, under
// path ("settings", or "" for the legacy top-level form).
func (d *decoder) batchSettings(dep *BatchDeployment, path string) map[string]func(*yaml.Node) {
	return map[string]func(*yaml.Node){
		"max_concurrency_per_instance": func(v *yaml.Node) {
			dep.MaxConcurrencyPerInstance = d.boundedInt(v, join(path, "max_concurrency_per_instance"), 1, 256)
		},
		"mini_batch_size": func(v *yaml.Node) {
			dep.MiniBatchSize = d.boundedInt(v, join(path, "mini_batch_size"), 1, 1_000_000)
		},
		"error_threshold": func(v *yaml.Node) {
			dep.ErrorThreshold = d.boundedInt(v, join(path, "error_threshold"), -1, 1<<31-1)
		},
		"logging_level": func(v *yaml.Node) {
			d.oneOfFold(v, join(path, "logging_level"), &dep.LoggingLevel, "warning", "info", "debug")
		},
		"output_action": func(v *yaml.Node) {
			d.oneOfFold(v, join(path, "output_action"), &dep.OutputAction, AppendRow, SummaryOnly)
		},
		"output_file_name": func(v *yaml.Node) {
			d.str(v, join(path, "output_file_name"), &dep.OutputFileName)
			if dep.OutputFileName == "" || strings.ContainsAny(dep.OutputFileName, `/\`) || dep.OutputFileName == "." || dep.OutputFileName == ".." {
				d.errorf(v, "%s must be a file name, not a path", join(path, "output_file_name"))
			}
		},
		"environment_variables": func(v *yaml.Node) {
			d.envVars(v, join(path, "environment_variables"), &dep.EnvironmentVariables)
		},
		"retry_settings": func(v *yaml.Node) {
			p := join(path, "retry_settings")
			d.fields(v, p, map[string]func(*yaml.Node){
				"max_retries": func(v *yaml.Node) { dep.MaxRetries = d.boundedInt(v, p+".max_retries", 0, 100) },
				"timeout":     func(v *yaml.Node) { dep.RetryTimeoutSeconds = d.boundedInt(v, p+".timeout", 1, 86400) },
			})
		},
	}
}

// loadSpec loads a spec file and applies --set overrides.
func loadSpec(file string, b []byte, sets []string) (*yaml.Node, *decoder, error) {
	root, err := load(file, b)
	if err != nil {
		return nil, nil, err
	}
	d := newDecoder(file)
	d.applySets(root, sets)
	if err := d.err(); err != nil {
		return nil, nil, err
	}
	return root, d, nil
}

// specSchema accepts a $schema naming one of the given schema files (or
// one Hangar does not know), and refuses one of another kind of spec.
func (d *decoder) specSchema(want ...string) func(*yaml.Node) {
	return func(v *yaml.Node) {
		var s string
		d.str(v, "$schema", &s)
		base := s[strings.LastIndex(s, "/")+1:]
		if slices.ContainsFunc(want, func(w string) bool { return strings.EqualFold(w, base) }) {
			return
		}
		if kind, known := schemaKind(base); known || strings.HasSuffix(strings.ToLower(base), "endpoint.schema.json") || strings.HasSuffix(strings.ToLower(base), "deployment.schema.json") {
			if kind == "" {
				kind = "another"
			}
			d.errorf(v, "$schema %s is not a %s spec (%s)", base, strings.TrimSuffix(want[0], ".schema.json"), kind)
		}
	}
}

// resourceName decodes the name of an endpoint or deployment: Azure's
// rule, 3 to 32 characters, a letter first, then letters, digits and
// hyphens, not ending in a hyphen.
func (d *decoder) resourceName(v *yaml.Node, path string, dst *string) {
	var s string
	d.str(v, path, &s)
	if err := ValidateResourceName(s); err != nil {
		d.errorf(v, "%s: %s", path, msgOf(err))
		return
	}
	*dst = s
}

// ValidateResourceName checks an endpoint or deployment name: 3 to 32
// characters, a letter first, then letters, digits and hyphens, and not a
// hyphen last (Azure's rule, which makes the name safe in a host name and
// a URL path).
func ValidateResourceName(s string) error { return hangar.ValidateEndpointName(s) }

// authMode decodes auth_mode, one of allowed.
func (d *decoder) authMode(v *yaml.Node, dst *string, allowed ...string) {
	var s string
	d.str(v, "auth_mode", &s)
	// Azure's loader takes any case (its Kubernetes samples write Key)
	// and the camel-case forms of its API (AMLToken, AADToken).
	if mode, ok := map[string]string{"key": AuthKey, "aml_token": AuthAMLToken, "amltoken": AuthAMLToken,
		"aad_token": AuthAADToken, "aadtoken": AuthAADToken}[strings.ToLower(s)]; ok {
		s = mode
	}
	switch {
	case slices.Contains(allowed, s):
		*dst = s
	case s == AuthAADToken:
		d.errorf(v, "auth_mode aad_token: Microsoft Entra ID tokens do not score online endpoints here (Hangar has no Entra ID, and its workspace tokens never score); use key or aml_token")
	default:
		d.errorf(v, "auth_mode %q is not one of %s", s, strings.Join(allowed, ", "))
	}
}

// oneOfFold decodes a string that must be one of allowed, in any case,
// keeping allowed's spelling: Azure's loader reads its enums in any case
// (public_network_access: Enabled works).
func (d *decoder) oneOfFold(v *yaml.Node, path string, dst *string, allowed ...string) {
	var s string
	d.str(v, path, &s)
	i := slices.IndexFunc(allowed, func(a string) bool { return strings.EqualFold(a, s) })
	if i < 0 {
		d.errorf(v, "%s %q is not one of %s", path, s, strings.Join(allowed, ", "))
		return
	}
	*dst = allowed[i]
}

// boundedInt decodes an integer from lo to hi.
func (d *decoder) boundedInt(v *yaml.Node, path string, lo, hi int64) int {
	n, ok := d.integer(v, path)
	if !ok {
		return int(lo)
	}
	if n < lo || n > hi {
		d.errorf(v, "%s %d is out of range: %d to %d", path, n, lo, hi)
		return int(lo)
	}
	return int(n)
}

// envVars decodes environment_variables and checks their names.
func (d *decoder) envVars(v *yaml.Node, path string, dst *map[string]string) {
	d.strMap(v, path, dst)
	if err := hangar.ValidateEnvironmentVariables(*dst); err != nil {
		d.errorf(v, "%s: %s", path, msgOf(err))
	}
}

// percents decodes a map of deployment names to whole percents.
func (d *decoder) percents(v *yaml.Node, path string) map[string]int {
	out := map[string]int{}
	d.entries(v, path, func(k, val *yaml.Node) {
		if err := ValidateResourceName(k.Value); err != nil {
			d.errorf(k, "%s: deployment %s", path, msgOf(err))
			return
		}
		out[k.Value] = d.boundedInt(val, join(path, k.Value), 0, 100)
	})
	return out
}

// model decodes a deployment's model: a reference, a local path, or an
// inline model with a path (registered at create).
func (d *decoder) model(v *yaml.Node, path string) *Model {
	if v = d.deref(v); v == nil {
		return nil
	}
	m := &Model{Line: v.Line, Type: "custom_model"}
	before := d.problems()
	if v.Kind == yaml.ScalarNode {
		s := v.Value
		if strings.HasPrefix(s, "azureml:") {
			r, err := ParseRef(s, false)
			if err != nil {
				d.errorf(v, "%s: %s", path, msgOf(err))
				return nil
			}
			if r.Registry != "" && r.Kind != "models" {
				d.errorf(v, "%s: %s names %s, not a model", path, s, r.Kind)
				return nil
			}
			m.Ref = &r
			return m
		}
		if s == "" || !IsLocal(s) {
			d.errorf(v, "%s: %q is neither a registered model (azureml:<name>:<version>, azureml:<name>@latest) nor a local path", path, s)
			return nil
		}
		m.Path = s
		return m
	}
	d.fields(v, path, map[string]func(*yaml.Node){
		"path": func(v *yaml.Node) { d.str(v, join(path, "path"), &m.Path) },
		"type": func(v *yaml.Node) {
			var s string
			d.str(v, join(path, "type"), &s)
			switch s {
			case "custom_model", "mlflow_model":
				m.Type = s
			case "triton_model":
				d.errorf(v, "%s.type triton_model: Triton Inference Server is not supported; deploy an MLflow model (type: mlflow_model) or a custom_model with a scoring script (code_configuration)", path)
			default:
				d.errorf(v, "%s.type %q is not one of custom_model, mlflow_model", path, s)
			}
		},
		"name": func(v *yaml.Node) {
			d.str(v, join(path, "name"), &m.Name)
			if !assetName.MatchString(m.Name) {
				d.errorf(v, "%s.name %q: use letters, digits, _ . and -", path, m.Name)
			}
		},
		"version": func(v *yaml.Node) { d.str(v, join(path, "version"), &m.Version) },
		"local_path": func(v *yaml.Node) {
			d.errorf(v, "%s.local_path is Azure's preview schema: write %s.path", path, path)
		},
		"model_format": func(v *yaml.Node) {
			d.errorf(v, "%s.model_format is Azure's preview schema: write %s.type (mlflow_model for an MLflow model)", path, path)
		},
		"description": func(v *yaml.Node) { d.str(v, join(path, "description"), &m.Description) },
		"tags":        func(v *yaml.Node) { d.strMap(v, join(path, "tags"), &m.Tags) },
		"$schema":     func(*yaml.Node) {},
	})
	if d.problems() > before {
		return nil
	}
	if m.Path == "" {
		d.errorf(v, "%s needs a path (or give a registered model: azureml:<name>:<version>)", path)
		return nil
	}
	if !IsLocal(m.Path) {
		d.errorf(v, "%s.path %q: an inline model's path must be local; register it first (hangar model create) and give azureml:<name>:<version>", path, m.Path)
		return nil
	}
	return m
}

// codeConfiguration decodes code and scoring_script.
func (d *decoder) codeConfiguration(v *yaml.Node, path string) *CodeConfiguration {
	c := &CodeConfiguration{}
	before := d.problems()
	if !d.fields(v, path, map[string]func(*yaml.Node){
		"code": func(v *yaml.Node) {
			if v = d.deref(v); v != nil && v.Kind == yaml.MappingNode {
				d.errorf(v, "%s.code: a mapping (local_path: …) is Azure's preview schema: write the folder, code: ./src", path)
				return
			}
			d.str(v, join(path, "code"), &c.Code)
		},
		"scoring_script": func(v *yaml.Node) { d.str(v, join(path, "scoring_script"), &c.ScoringScript) },
	}) || d.problems() > before {
		return nil
	}
	switch {
	case c.Code == "":
		d.errorf(v, "%s.code is required: the folder of the scoring script", path)
	case !IsLocal(c.Code):
		d.errorf(v, "%s.code %q must be a local folder", path, c.Code)
	case c.ScoringScript == "":
		d.errorf(v, "%s.scoring_script is required: the script's path in code", path)
	case strings.HasPrefix(c.ScoringScript, "/") || slices.Contains(strings.Split(strings.ReplaceAll(c.ScoringScript, `\`, "/"), "/"), ".."):
		d.errorf(v, "%s.scoring_script %q must be a path inside code", path, c.ScoringScript)
	}
	return c
}

// requestSettings decodes request_settings.
func (d *decoder) requestSettings(v *yaml.Node, r *RequestSettings) {
	const p = "request_settings"
	d.fields(v, p, map[string]func(*yaml.Node){
		"request_timeout_ms": func(v *yaml.Node) {
			r.RequestTimeoutMS = d.boundedInt(v, p+".request_timeout_ms", 1, MaxRequestTimeoutMS)
		},
		"max_concurrent_requests_per_instance": func(v *yaml.Node) {
			r.MaxConcurrentRequestsPerInstance = d.boundedInt(v, p+".max_concurrent_requests_per_instance", 1, 10_000)
		},
		"max_queue_wait_ms": func(v *yaml.Node) { r.MaxQueueWaitMS = d.boundedInt(v, p+".max_queue_wait_ms", 0, 1<<31-1) },
	})
}

// probe decodes a liveness or readiness probe; a liveness probe's
// success_threshold is 1 (Azure fixes it).
func (d *decoder) probe(v *yaml.Node, path string, pr *Probe, liveness bool) {
	d.fields(v, path, map[string]func(*yaml.Node){
		"initial_delay": func(v *yaml.Node) { pr.InitialDelay = d.boundedInt(v, path+".initial_delay", 0, 3600) },
		"period":        func(v *yaml.Node) { pr.Period = d.boundedInt(v, path+".period", 1, 3600) },
		"timeout":       func(v *yaml.Node) { pr.Timeout = d.boundedInt(v, path+".timeout", 1, 3600) },
		"success_threshold": func(v *yaml.Node) {
			pr.SuccessThreshold = d.boundedInt(v, path+".success_threshold", 1, 1000)
			if liveness && pr.SuccessThreshold != 1 {
				d.errorf(v, "%s.success_threshold must be 1 for a liveness probe", path)
			}
		},
		"failure_threshold": func(v *yaml.Node) { pr.FailureThreshold = d.boundedInt(v, path+".failure_threshold", 1, 1000) },
	})
}

// dataCollector decodes data_collector.
func (d *decoder) dataCollector(v *yaml.Node) *DataCollector {
	const p = "data_collector"
	dc := &DataCollector{SamplingRate: 1, RollingRate: "Hour", Collections: map[string]Collection{}}
	d.fields(v, p, map[string]func(*yaml.Node){
		"sampling_rate": func(v *yaml.Node) {
			if r, ok := d.number(v, p+".sampling_rate"); ok {
				if r < 0 || r > 1 {
					d.errorf(v, "%s.sampling_rate %v is out of range: 0 to 1", p, r)
					return
				}
				dc.SamplingRate = r
			}
		},
		"rolling_rate": func(v *yaml.Node) {
			// Azure's examples write it in lower case (rolling_rate: hour).
			d.oneOfFold(v, p+".rolling_rate", &dc.RollingRate, "Minute", "Hour", "Day", "Month", "Year")
		},
		"collections": func(v *yaml.Node) {
			d.entries(v, p+".collections", func(k, v *yaml.Node) {
				cp := p + ".collections." + k.Value
				var c Collection
				d.fields(v, cp, map[string]func(*yaml.Node){
					"enabled": func(v *yaml.Node) {
						// Azure's examples write 'True' as a string.
						if s, ok := d.scalar(v, cp+".enabled", "true or false"); ok {
							b, err := strconv.ParseBool(s)
							if err != nil {
								d.errorf(v, "%s.enabled must be true or false, not %q", cp, s)
							}
							c.Enabled = b
						}
					},
					"data": func(v *yaml.Node) {
						d.fields(v, cp+".data", map[string]func(*yaml.Node){
							"name":    func(v *yaml.Node) { d.str(v, cp+".data.name", &c.DataName) },
							"path":    func(v *yaml.Node) { d.str(v, cp+".data.path", &c.DataPath) },
							"version": func(v *yaml.Node) { d.str(v, cp+".data.version", &c.DataVersion) },
						})
					},
					"client_id":           func(*yaml.Node) {},
					"sampling_rate":       func(*yaml.Node) {},
					"log_analytics":       func(*yaml.Node) {},
					"rolling_rate":        func(*yaml.Node) {},
					"payload_format":      func(*yaml.Node) {},
					"collections_format":  func(*yaml.Node) {},
					"request_logging":     func(*yaml.Node) {},
					"data_collection_set": func(*yaml.Node) {},
				})
				dc.Collections[k.Value] = c
			})
		},
		"request_logging": func(*yaml.Node) {},
	})
	return dc
}

// CheckTraffic checks an endpoint's live and mirrored traffic as Azure
// does: whole percents, live traffic summing to 0 or 100, at most one
// mirrored deployment with at most MaxMirrorPercent, and no deployment
// both live (above 0) and mirrored (above 0).
func CheckTraffic(live, mirror map[string]int) error {
	return hangar.ValidateTraffic(live, mirror)
}

// ParseTraffic parses the --traffic and --mirror-traffic flags of
// online-endpoint update: "blue=90 green=10" (spaces or commas between
// pairs). An empty string is an empty map.
func ParseTraffic(s string) (map[string]int, error) {
	out := map[string]int{}
	for _, pair := range strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' }) {
		name, pct, ok := strings.Cut(pair, "=")
		if !ok {
			return nil, hangar.Errorf(hangar.EINVALID, "traffic %q: want <deployment>=<percent> pairs, e.g. \"blue=90 green=10\"", s)
		}
		if err := ValidateResourceName(name); err != nil {
			return nil, hangar.Errorf(hangar.EINVALID, "traffic %q: deployment %s", s, msgOf(err))
		}
		if _, dup := out[name]; dup {
			return nil, hangar.Errorf(hangar.EINVALID, "traffic %q names %s twice", s, name)
		}
		n, err := strconv.Atoi(strings.TrimSuffix(pct, "%"))
		if err != nil || n < 0 || n > 100 {
			return nil, hangar.Errorf(hangar.EINVALID, "traffic %q: %s=%s is not a whole percent from 0 to 100", s, name, pct)
		}
		out[name] = n
	}
	return out, nil
}

// FormatTraffic writes traffic as ParseTraffic reads it, by name.
func FormatTraffic(t map[string]int) string { return hangar.FormatTraffic(t) }
