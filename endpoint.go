package hangar

// Endpoints: Azure ML's online endpoints and deployments and batch
// endpoints and deployments (reference/azureml.md §2.9–2.11), as the
// control plane stores them. An online endpoint is a stable scoring
// address with its keys and its traffic: which deployments take what
// percent of live requests, and which one gets a mirrored copy. A
// deployment is one model, environment and code, resolved and pinned
// (DeploymentSpec), with the state of its rollout.
//
// A deployment's state moves like this:
//
//	Creating → Succeeded | Failed
//	Succeeded | Failed → Updating → Succeeded | Failed
//	any → Deleting
//
// Only a Succeeded deployment is given traffic (SetTraffic checks it); a
// deployment that takes live or mirrored traffic cannot be deleted, and
// deleting an endpoint deletes its deployments. Traffic changes are one
// compare-and-set on the endpoint's Version, so two operators shifting
// traffic at once cannot silently overwrite each other.

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// ProvisioningState is the state of an endpoint or deployment, with
// Azure's names.
type ProvisioningState string

// Provisioning states.
const (
	StateCreating  ProvisioningState = "Creating"
	StateSucceeded ProvisioningState = "Succeeded"
	StateFailed    ProvisioningState = "Failed"
	StateUpdating  ProvisioningState = "Updating"
	StateDeleting  ProvisioningState = "Deleting"
)

// ProvisioningStates lists every state.
var ProvisioningStates = []ProvisioningState{StateCreating, StateSucceeded, StateFailed, StateUpdating, StateDeleting}

// Valid reports whether s is one of ProvisioningStates.
func (s ProvisioningState) Valid() bool { return slices.Contains(ProvisioningStates, s) }

// Endpoint auth modes (Azure's auth_mode of online endpoints).
const (
	EndpointAuthKey   = "key"       // a primary or secondary endpoint key
	EndpointAuthToken = "aml_token" // a short-lived signed token (package endpointauth)
)

// Limits and rules of endpoints.
const (
	MaxMirrorPercent      = 50 // Azure's bound on mirror_traffic
	MaxEndpointInstances  = 64 // instance_count: instances are worker processes on the server's machine
	MaxRequestTimeoutMS   = 180000
	MaxEndpointDeployment = 20 // deployments of one endpoint
	MaxEnvironmentVars    = 100
	endpointNameMin       = 3
	endpointNameMax       = 32
)

// ValidateEndpointName checks the name of an endpoint or deployment
// (Azure's rule): 3 to 32 characters, a letter first, then letters,
// digits and hyphens, not ending in a hyphen. Errors: EINVALID.
func ValidateEndpointName(s string) error {
	ok := len(s) >= endpointNameMin && len(s) <= endpointNameMax && s[len(s)-1] != '-'
	for i := 0; ok && i < len(s); i++ {
		c := s[i]
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		ok = letter || i > 0 && (c >= '0' && c <= '9' || c == '-')
	}
	if !ok {
		return Errorf(EINVALID, "%q is not a valid name: 3 to 32 characters, a letter first, then letters, digits and hyphens, not ending in a hyphen", s)
	}
	return nil
}

// ValidateTraffic checks an endpoint's live and mirrored traffic by the
// rules alone (which deployments exist is the store's check): live
// percents are 0 to 100 and sum to 0 or 100; at most one deployment is
// mirrored to, with at most MaxMirrorPercent, and it takes no live
// traffic. Errors: EINVALID.
func ValidateTraffic(live, mirror map[string]int) error {
	sum := 0
	for _, name := range slices.Sorted(maps.Keys(live)) {
		p := live[name]
		if p < 0 || p > 100 {
			return Errorf(EINVALID, "traffic of %s is %d%%: a percent is 0 to 100", name, p)
		}
		sum += p
	}
	if sum != 0 && sum != 100 {
		return Errorf(EINVALID, "traffic sums to %d%% (%s): it must be 0 or 100", sum, FormatTraffic(live))
	}
	mirrored := 0
	for _, name := range slices.Sorted(maps.Keys(mirror)) {
		p := mirror[name]
		if p < 0 || p > MaxMirrorPercent {
			return Errorf(EINVALID, "mirror_traffic of %s is %d%%: at most %d%% may be mirrored", name, p, MaxMirrorPercent)
		}
		if p > 0 {
			mirrored++
			if live[name] > 0 {
				return Errorf(EINVALID, "deployment %s takes live traffic (%d%%) and mirrored traffic (%d%%): a deployment gets one or the other", name, live[name], p)
			}
		}
	}
	if mirrored > 1 {
		return Errorf(EINVALID, "mirror_traffic names %d deployments (%s): at most one may be mirrored to", mirrored, FormatTraffic(mirror))
	}
	return nil
}

// FormatTraffic writes traffic as "blue=90 green=10", by name.
func FormatTraffic(t map[string]int) string {
	parts := make([]string, 0, len(t))
	for _, name := range slices.Sorted(maps.Keys(t)) {
		parts = append(parts, fmt.Sprintf("%s=%d", name, t[name]))
	}
	return strings.Join(parts, " ")
}

// TakesTraffic reports whether the endpoint sends deployment a positive
// share of its live or mirrored traffic.
func (e *OnlineEndpoint) TakesTraffic(deployment string) bool {
	return e.Traffic[deployment] > 0 || e.MirrorTraffic[deployment] > 0
}

// OnlineEndpoint is a managed online endpoint of a workspace.
type OnlineEndpoint struct {
	Workspace   string            `json:"workspace"`
	Name        string            `json:"name"` // unique in the workspace (ValidateEndpointName)
	Description string            `json:"description,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
	AuthMode    string            `json:"auth_mode"` // EndpointAuthKey (default) or EndpointAuthToken
	// Traffic and MirrorTraffic map deployment names to percents
	// (ValidateTraffic); only SetTraffic changes them.
	Traffic       map[string]int    `json:"traffic"`
	MirrorTraffic map[string]int    `json:"mirror_traffic"`
	State         ProvisioningState `json:"provisioning_state"`
	// ScoringPath is where the endpoint is scored, on the server:
	// OnlineEndpointScoringPath.
	ScoringPath string `json:"scoring_path"`
	// Version counts the endpoint's changes; it is the etag that
	// SetTraffic and UpdateOnlineEndpoint compare.
	Version   int64     `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by"`
	UpdatedAt time.Time `json:"updated_at"`
	UpdatedBy string    `json:"updated_by"`
	// TokenGeneration is a random non-zero number the store gives the
	// endpoint when it creates it, which every aml_token of the endpoint
	// carries: a token of an endpoint deleted and created again under the
	// same name names an earlier generation and is refused. The store sets
	// it; it is never sent or read over the API.
	TokenGeneration uint64 `json:"-"`
}

// OnlineEndpointScoringPath is the path an endpoint's /score answers on:
// the data plane (package serving) serves /endpoints/{endpoint}/… under
// the workspace's prefix.
func OnlineEndpointScoringPath(workspace, name string) string {
	return "/api/v1/workspaces/" + workspace + "/endpoints/" + name + "/score"
}

// Validate checks the fields a creator supplies. Errors: EINVALID.
func (e *OnlineEndpoint) Validate() error {
	if err := ValidateEndpointName(e.Name); err != nil {
		return Errorf(EINVALID, "endpoint name: %s", ErrorMessage(err))
	}
	if err := ValidateText("description", e.Description, MaxAssetDescriptionLength); err != nil {
		return err
	}
	if err := validateTags(e.Tags); err != nil {
		return err
	}
	if e.AuthMode != "" && e.AuthMode != EndpointAuthKey && e.AuthMode != EndpointAuthToken {
		return Errorf(EINVALID, "endpoint %s: auth_mode %q: want %q or %q", e.Name, e.AuthMode, EndpointAuthKey, EndpointAuthToken)
	}
	if e.State != "" && !e.State.Valid() {
		return Errorf(EINVALID, "endpoint %s: invalid provisioning state %q", e.Name, e.State)
	}
	return validateTrafficNames(e.Traffic, e.MirrorTraffic)
}

// validateTrafficNames checks the deployment names of traffic maps and
// then the traffic rules.
func validateTrafficNames(live, mirror map[string]int) error {
	for _, m := range []map[string]int{live, mirror} {
		if len(m) > MaxEndpointDeployment {
			return Errorf(EINVALID, "traffic names %d deployments; an endpoint has at most %d", len(m), MaxEndpointDeployment)
		}
		for name := range m {
			if err := ValidateEndpointName(name); err != nil {
				return Errorf(EINVALID, "traffic: deployment %s", ErrorMessage(err))
			}
		}
	}
	return ValidateTraffic(live, mirror)
}

// OnlineEndpointUpdate changes an endpoint's descriptive fields; nil
// fields are kept. Traffic changes go through SetTraffic.
type OnlineEndpointUpdate struct {
	Description *string
	Tags        map[string]string // nil keeps; empty clears
	AuthMode    string            // "" keeps
	State       ProvisioningState // "" keeps
}

// RequestSettings bound an online deployment's requests.
type RequestSettings struct {
	// RequestTimeoutMS is 1 to MaxRequestTimeoutMS; past it a request is
	// answered 408.
	RequestTimeoutMS int `json:"request_timeout_ms"`
	// MaxConcurrentRequestsPerInstance × instances are served at once;
	// past that a request waits, and is answered 429 when too many do.
	MaxConcurrentRequestsPerInstance int `json:"max_concurrent_requests_per_instance"`
	MaxQueueWaitMS                   int `json:"max_queue_wait_ms,omitempty"` // deprecated by Azure; recorded
}

// Probe is a liveness or readiness probe, in seconds.
type Probe struct {
	InitialDelay     int `json:"initial_delay"`
	Period           int `json:"period"`
	Timeout          int `json:"timeout"`
	SuccessThreshold int `json:"success_threshold"`
	FailureThreshold int `json:"failure_threshold"`
}

// DataCollector is a deployment's production data collection.
type DataCollector struct {
	SamplingRate float64 `json:"sampling_rate"` // 0 to 1
	RollingRate  string  `json:"rolling_rate,omitempty"`
	// Collections by name (request, response, model_inputs,
	// model_outputs): the data asset each one writes to.
	Collections map[string]DataCollection `json:"collections,omitempty"`
}

// DataCollection is one collection of a data collector.
type DataCollection struct {
	Enabled     bool   `json:"enabled"`
	DataName    string `json:"data_name,omitempty"`
	DataPath    string `json:"data_path,omitempty"`
	DataVersion string `json:"data_version,omitempty"`
}

// DeploymentSpec is what a deployment runs, resolved by the server and
// pinned: no "latest", no local path — versions and digests.
type DeploymentSpec struct {
	// ModelName and ModelVersion name a registered model version; ModelDigest
	// is the manifest of its files when the server resolved it.
	ModelName    string `json:"model_name"`
	ModelVersion string `json:"model_version"`
	ModelDigest  Digest `json:"model_digest,omitempty"`
	ModelType    string `json:"model_type,omitempty"` // custom_model, mlflow_model, triton_model
	// EnvironmentName and EnvironmentVersion name the environment a
	// scoring script runs in; empty for a model served natively.
	EnvironmentName    string `json:"environment_name,omitempty"`
	EnvironmentVersion string `json:"environment_version,omitempty"`
	// CodeDigest is the manifest of the code snapshot and ScoringScript
	// the script in it; both empty without a scoring script.
	CodeDigest    Digest `json:"code_digest,omitempty"`
	ScoringScript string `json:"scoring_script,omitempty"`

	EnvironmentVariables map[string]string `json:"environment_variables,omitempty"`
	InstanceType         string            `json:"instance_type,omitempty"`
	InstanceCount        int               `json:"instance_count"`
	Request              RequestSettings   `json:"request_settings"`
	Liveness             Probe             `json:"liveness_probe"`
	Readiness            Probe             `json:"readiness_probe"`
	DataCollector        *DataCollector    `json:"data_collector,omitempty"`
	// SampleRequest is the smoke-test request, a /score body (a JSON
	// value of at most MaxSampleRequestBytes); empty: one row built from
	// the model's signature, or for a scoring script only its readiness.
	SampleRequest json.RawMessage `json:"sample_request,omitempty"`
}

// MaxSampleRequestBytes bounds a deployment's SampleRequest.
const MaxSampleRequestBytes = 256 << 10

// Validate checks a spec. Errors: EINVALID naming the field.
func (s *DeploymentSpec) Validate() error {
	if err := ValidateName("model", s.ModelName); err != nil {
		return err
	}
	if err := ValidateText("model_version", s.ModelVersion, MaxAssetDisplayNameLength); err != nil {
		return err
	}
	if s.ModelVersion == "" {
		return Errorf(EINVALID, "model %s: a deployment pins a model version", s.ModelName)
	}
	for _, d := range []struct {
		field string
		v     Digest
	}{{"model_digest", s.ModelDigest}, {"code_digest", s.CodeDigest}} {
		if d.v == "" {
			continue
		}
		if _, err := ParseDigest(string(d.v)); err != nil {
			return Errorf(EINVALID, "%s: %s", d.field, ErrorMessage(err))
		}
	}
	for _, f := range []struct{ name, v string }{
		{"model_type", s.ModelType}, {"environment_name", s.EnvironmentName}, {"environment_version", s.EnvironmentVersion},
		{"instance_type", s.InstanceType},
	} {
		if err := ValidateText(f.name, f.v, MaxAssetDisplayNameLength); err != nil {
			return err
		}
	}
	if err := ValidateText("scoring_script", s.ScoringScript, MaxDataPathLength); err != nil {
		return err
	}
	if err := noExpression("scoring_script", s.ScoringScript); err != nil {
		return err
	}
	if (s.CodeDigest == "") != (s.ScoringScript == "") {
		return Errorf(EINVALID, "code_digest and scoring_script go together: a scoring script is a file of a code snapshot")
	}
	if s.ScoringScript != "" && s.EnvironmentName == "" {
		return Errorf(EINVALID, "a scoring script needs an environment to run in")
	}
	if (s.EnvironmentName == "") != (s.EnvironmentVersion == "") {
		return Errorf(EINVALID, "environment_name and environment_version go together")
	}
	if len(s.EnvironmentVariables) > MaxEnvironmentVars {
		return Errorf(EINVALID, "%d environment_variables; the limit is %d", len(s.EnvironmentVariables), MaxEnvironmentVars)
	}
	for k, v := range s.EnvironmentVariables {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return Errorf(EINVALID, "environment variable name %q: not empty, no '=' or NUL", truncateText(k, 64))
		}
		if err := ValidateText("environment variable "+k, v, MaxAssetDescriptionLength); err != nil {
			return err
		}
	}
	if s.InstanceCount < 1 || s.InstanceCount > MaxEndpointInstances {
		return Errorf(EINVALID, "instance_count %d: want 1 to %d", s.InstanceCount, MaxEndpointInstances)
	}
	if r := s.Request; r.RequestTimeoutMS < 1 || r.RequestTimeoutMS > MaxRequestTimeoutMS {
		return Errorf(EINVALID, "request_settings.request_timeout_ms %d: want 1 to %d", r.RequestTimeoutMS, MaxRequestTimeoutMS)
	}
	if r := s.Request; r.MaxConcurrentRequestsPerInstance < 1 || r.MaxQueueWaitMS < 0 {
		return Errorf(EINVALID, "request_settings: max_concurrent_requests_per_instance is at least 1 and max_queue_wait_ms not negative")
	}
	for _, p := range []struct {
		name string
		p    Probe
	}{{"liveness_probe", s.Liveness}, {"readiness_probe", s.Readiness}} {
		if p.p.InitialDelay < 0 || p.p.Period < 1 || p.p.Timeout < 1 || p.p.SuccessThreshold < 1 || p.p.FailureThreshold < 1 {
			return Errorf(EINVALID, "%s: initial_delay is at least 0 and period, timeout and the thresholds at least 1", p.name)
		}
	}
	if n := len(s.SampleRequest); n > 0 {
		if n > MaxSampleRequestBytes {
			return Errorf(EINVALID, "sample_request is %d bytes; the limit is %d", n, MaxSampleRequestBytes)
		}
		if !json.Valid(s.SampleRequest) {
			return Errorf(EINVALID, "sample_request is not valid JSON")
		}
		if err := CheckJSONText(s.SampleRequest); err != nil {
			return Errorf(EINVALID, "sample_request: %s", ErrorMessage(err))
		}
	}
	if dc := s.DataCollector; dc != nil {
		if dc.SamplingRate < 0 || dc.SamplingRate > 1 || dc.SamplingRate != dc.SamplingRate {
			return Errorf(EINVALID, "data_collector.sampling_rate %v: want 0 to 1", dc.SamplingRate)
		}
		if err := ValidateText("data_collector.rolling_rate", dc.RollingRate, MaxAssetDisplayNameLength); err != nil {
			return err
		}
		for name, c := range dc.Collections {
			if err := ValidateName("collection", name); err != nil {
				return err
			}
			for _, f := range []struct{ name, v string }{{"data_name", c.DataName}, {"data_path", c.DataPath}, {"data_version", c.DataVersion}} {
				if err := ValidateText("data_collector."+name+"."+f.name, f.v, MaxDataPathLength); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// OnlineDeployment is one deployment of an online endpoint.
type OnlineDeployment struct {
	Workspace   string            `json:"workspace"`
	Endpoint    string            `json:"endpoint"`
	Name        string            `json:"name"` // unique in the endpoint (ValidateEndpointName)
	Description string            `json:"description,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
	Spec        DeploymentSpec    `json:"spec"`
	State       ProvisioningState `json:"provisioning_state"`
	// Message says why the deployment failed, or what it is doing.
	Message   string    `json:"message,omitempty"`
	Version   int64     `json:"version"` // counts changes
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by"`
	UpdatedAt time.Time `json:"updated_at"`
	UpdatedBy string    `json:"updated_by"`
}

// MaxDeploymentMessage bounds a deployment's Message (longer ones are cut).
const MaxDeploymentMessage = 8192

// Validate checks the fields a creator supplies. Errors: EINVALID.
func (d *OnlineDeployment) Validate() error {
	if err := ValidateEndpointName(d.Endpoint); err != nil {
		return Errorf(EINVALID, "endpoint name: %s", ErrorMessage(err))
	}
	if err := ValidateEndpointName(d.Name); err != nil {
		return Errorf(EINVALID, "deployment name: %s", ErrorMessage(err))
	}
	if err := ValidateText("description", d.Description, MaxAssetDescriptionLength); err != nil {
		return err
	}
	if err := validateTags(d.Tags); err != nil {
		return err
	}
	if d.State != "" && d.State != StateCreating {
		return Errorf(EINVALID, "deployment %s: a new deployment is %s, not %q", d.Name, StateCreating, d.State)
	}
	if err := ValidateText("message", d.Message, MaxDeploymentMessage); err != nil {
		return err
	}
	if err := d.Spec.Validate(); err != nil {
		return Errorf(EINVALID, "deployment %s: %s", d.Name, ErrorMessage(err))
	}
	return nil
}

// DeploymentTransition is a conditional change of a deployment, as
// JobTransition is of a job: it applies only when the deployment's state
// is one of From (any when From is empty) and, when Version is set, its
// Version is that. Fields left zero are not changed.
type DeploymentTransition struct {
	From    []ProvisioningState
	Version int64
	// To is the new state; "" keeps it. Allowed moves are the ones in
	// the package comment (DeploymentMoveAllowed).
	To      ProvisioningState
	Message *string         // nil keeps; a message is cut to MaxDeploymentMessage
	Spec    *DeploymentSpec // a new spec: an update, which moves to Updating
	// Description and Tags replace the deployment's when not nil.
	Description *string
	Tags        map[string]string
}

// Validate checks a transition's fields. Errors: EINVALID.
func (t *DeploymentTransition) Validate() error {
	for _, s := range t.From {
		if !s.Valid() {
			return Errorf(EINVALID, "invalid provisioning state %q", s)
		}
	}
	if t.To != "" && !t.To.Valid() {
		return Errorf(EINVALID, "invalid provisioning state %q", t.To)
	}
	if t.Version < 0 {
		return Errorf(EINVALID, "invalid version %d", t.Version)
	}
	if t.Message != nil {
		m := *t.Message
		if len(m) > MaxDeploymentMessage {
			m = truncateText(m, MaxDeploymentMessage-len("…"))
		}
		t.Message = &m
		if err := ValidateText("message", m, MaxDeploymentMessage); err != nil {
			return err
		}
	}
	if t.Spec != nil {
		if err := t.Spec.Validate(); err != nil {
			return err
		}
	}
	if t.Description != nil {
		if err := ValidateText("description", *t.Description, MaxAssetDescriptionLength); err != nil {
			return err
		}
	}
	return validateTags(t.Tags)
}

// DeploymentMoveAllowed reports why a deployment cannot move from one
// state to another, or "" when it can: Creating ends in Succeeded or
// Failed; Succeeded and Failed are updated (Updating) which ends in
// Succeeded or Failed; anything may start Deleting; nothing leaves
// Deleting but the deletion.
func DeploymentMoveAllowed(from, to ProvisioningState) string {
	if from == to {
		return ""
	}
	switch {
	case from == StateDeleting:
		return "it is being deleted"
	case to == StateDeleting:
		return ""
	case to == StateCreating:
		return "a deployment never goes back to " + string(StateCreating)
	case to == StateUpdating && (from == StateSucceeded || from == StateFailed):
		return ""
	case (to == StateSucceeded || to == StateFailed) && (from == StateCreating || from == StateUpdating):
		return ""
	}
	return fmt.Sprintf("it cannot move from %s to %s", from, to)
}

// Endpoint key names.
const (
	KeyPrimary   = "primary"
	KeySecondary = "secondary"
)

// EndpointKeySize is the number of random bytes of an endpoint key.
const EndpointKeySize = 32

// EndpointKeys are an online endpoint's two keys: either authenticates a
// caller, so one can be regenerated while clients move to the other.
type EndpointKeys struct {
	Primary   string `json:"primaryKey"`
	Secondary string `json:"secondaryKey"`
}

// NewEndpointKey returns a fresh endpoint key: EndpointKeySize random
// bytes, base64url without padding.
func NewEndpointKey() string {
	b := make([]byte, EndpointKeySize)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// OnlineEndpointNotFound is the error for an endpoint that does not exist.
func OnlineEndpointNotFound(workspace, name string) error {
	return Errorf(ENOTFOUND, "online endpoint %s not found in workspace %q", name, workspace)
}

// OnlineDeploymentNotFound is the error for a deployment that does not exist.
func OnlineDeploymentNotFound(endpoint, name string) error {
	return Errorf(ENOTFOUND, "deployment %s not found in online endpoint %s", name, endpoint)
}

// EndpointService stores online endpoints, their deployments and keys.
// Every change is audited in the same transaction (onlineEndpoints/write
// and /delete on onlineEndpoints/<name>, onlineDeployments/write and
// /delete on onlineEndpoints/<endpoint>/deployments/<name>); keys are
// sealed at rest and never logged or audited by value.
type EndpointService interface {
	// CreateOnlineEndpoint stores an endpoint with two fresh keys. It sets
	// Workspace, State (Succeeded: an endpoint needs no provisioning
	// here), ScoringPath, Version 1 and the created and updated fields;
	// AuthMode defaults to key. Its traffic must be empty or all zero
	// (there are no deployments yet). Errors: EINVALID, ENOTFOUND
	// (workspace), ECONFLICT (the name exists).
	CreateOnlineEndpoint(ctx context.Context, workspace string, e *OnlineEndpoint) error
	// OnlineEndpoint returns an endpoint. Errors: ENOTFOUND, EINVALID.
	OnlineEndpoint(ctx context.Context, workspace, name string) (*OnlineEndpoint, error)
	// ListOnlineEndpoints lists a workspace's endpoints by name.
	// Errors: EINVALID.
	ListOnlineEndpoints(ctx context.Context, workspace string, opt ListOptions) (*Page[*OnlineEndpoint], error)
	// UpdateOnlineEndpoint applies u when the endpoint's Version is
	// version (0: any) and returns the endpoint. Errors: EINVALID,
	// ENOTFOUND, ECONFLICT (another version).
	UpdateOnlineEndpoint(ctx context.Context, workspace, name string, u OnlineEndpointUpdate, version int64) (*OnlineEndpoint, error)
	// DeleteOnlineEndpoint deletes an endpoint, its deployments and keys.
	// Errors: ENOTFOUND, EINVALID.
	DeleteOnlineEndpoint(ctx context.Context, workspace, name string) error
	// SetTraffic replaces the endpoint's live traffic (nil keeps it) and
	// mirrored traffic (nil keeps it) in one compare-and-set: only when
	// the endpoint's Version is version (0: any), the result passes
	// ValidateTraffic and every deployment named exists and is
	// Succeeded (a name given 0 must exist too). Errors: EINVALID (the
	// rules; a deployment missing or not Succeeded), ENOTFOUND
	// (endpoint), ECONFLICT (another version; nothing changes then).
	SetTraffic(ctx context.Context, workspace, name string, traffic, mirror map[string]int, version int64) (*OnlineEndpoint, error)
	// EndpointKeys returns the endpoint's keys (get-credentials); the
	// reading is audited (onlineEndpoints/listKeys), the keys are not.
	// Errors: ENOTFOUND, EINVALID.
	EndpointKeys(ctx context.Context, workspace, name string) (*EndpointKeys, error)
	// RegenerateKey replaces one key (KeyPrimary or KeySecondary) with a
	// fresh one, bumps the endpoint's Version (a change of the endpoint)
	// and returns both. Errors: EINVALID, ENOTFOUND.
	RegenerateKey(ctx context.Context, workspace, name, which string) (*EndpointKeys, error)

	// CreateOnlineDeployment stores a deployment in state Creating with
	// Version 1. Errors: EINVALID, ENOTFOUND (workspace, endpoint),
	// ECONFLICT (the name exists; the endpoint is being deleted).
	CreateOnlineDeployment(ctx context.Context, workspace string, d *OnlineDeployment) error
	// OnlineDeployment returns a deployment. Errors: ENOTFOUND, EINVALID.
	OnlineDeployment(ctx context.Context, workspace, endpoint, name string) (*OnlineDeployment, error)
	// ListOnlineDeployments lists an endpoint's deployments by name.
	// Errors: ENOTFOUND (endpoint), EINVALID.
	ListOnlineDeployments(ctx context.Context, workspace, endpoint string, opt ListOptions) (*Page[*OnlineDeployment], error)
	// TransitionOnlineDeployment applies t and returns the deployment as
	// changed (Version + 1). Errors: EINVALID (t), ENOTFOUND, ECONFLICT
	// naming the state or version when t's conditions do not hold or the
	// move is not allowed (DeploymentMoveAllowed; nothing changes then).
	TransitionOnlineDeployment(ctx context.Context, workspace, endpoint, name string, t DeploymentTransition) (*OnlineDeployment, error)
	// DeleteOnlineDeployment deletes a deployment that takes no live or
	// mirrored traffic (Azure's rule). Errors: ENOTFOUND, EINVALID,
	// ECONFLICT (it takes traffic: set it to 0 first).
	DeleteOnlineDeployment(ctx context.Context, workspace, endpoint, name string) error
}

// BatchEndpoint is a batch endpoint of a workspace: a name that batch
// scoring jobs are invoked on, and the deployment they use by default.
// Callers authenticate with their workspace token (Azure's aad_token).
type BatchEndpoint struct {
	Workspace   string            `json:"workspace"`
	Name        string            `json:"name"`
	Description string            `json:"description,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
	// DefaultDeployment is the deployment invoke uses; "" until one is
	// set. It must name an existing deployment.
	DefaultDeployment string            `json:"default_deployment,omitempty"`
	State             ProvisioningState `json:"provisioning_state"`
	Version           int64             `json:"version"`
	CreatedAt         time.Time         `json:"created_at"`
	CreatedBy         string            `json:"created_by"`
	UpdatedAt         time.Time         `json:"updated_at"`
	UpdatedBy         string            `json:"updated_by"`
}

// Validate checks the fields a creator supplies. Errors: EINVALID.
func (e *BatchEndpoint) Validate() error {
	if err := ValidateEndpointName(e.Name); err != nil {
		return Errorf(EINVALID, "endpoint name: %s", ErrorMessage(err))
	}
	if e.DefaultDeployment != "" {
		if err := ValidateEndpointName(e.DefaultDeployment); err != nil {
			return Errorf(EINVALID, "default deployment: %s", ErrorMessage(err))
		}
	}
	if err := ValidateText("description", e.Description, MaxAssetDescriptionLength); err != nil {
		return err
	}
	return validateTags(e.Tags)
}

// BatchEndpointUpdate changes a batch endpoint; nil fields are kept.
type BatchEndpointUpdate struct {
	Description       *string
	Tags              map[string]string // nil keeps; empty clears
	DefaultDeployment *string           // must name an existing deployment; "" clears
}

// Output actions of batch deployments.
const (
	BatchAppendRow   = "append_row"   // the rows run() returns go to one file
	BatchSummaryOnly = "summary_only" // the scoring script writes its own outputs
)

// BatchSettings are how a batch deployment runs a scoring job, with
// Azure's meanings.
type BatchSettings struct {
	MaxConcurrencyPerInstance int    `json:"max_concurrency_per_instance"`
	MiniBatchSize             int    `json:"mini_batch_size"`
	MaxRetries                int    `json:"max_retries"`
	RetryTimeoutSeconds       int    `json:"retry_timeout_seconds"`
	ErrorThreshold            int    `json:"error_threshold"` // -1: any number of failed files
	LoggingLevel              string `json:"logging_level,omitempty"`
	OutputAction              string `json:"output_action"` // BatchAppendRow or BatchSummaryOnly
	OutputFileName            string `json:"output_file_name,omitempty"`
	// Compute is the compute cluster the deployment's YAML names
	// (azureml:cpu-cluster), recorded: batch jobs run on the server's
	// machine.
	Compute string `json:"compute,omitempty"`
}

// Validate checks the settings. Errors: EINVALID naming the field.
func (s *BatchSettings) Validate() error {
	switch {
	case s.MaxConcurrencyPerInstance < 1:
		return Errorf(EINVALID, "max_concurrency_per_instance %d: want at least 1", s.MaxConcurrencyPerInstance)
	case s.MiniBatchSize < 1:
		return Errorf(EINVALID, "mini_batch_size %d: want at least 1", s.MiniBatchSize)
	case s.MaxRetries < 0 || s.RetryTimeoutSeconds < 0:
		return Errorf(EINVALID, "retry_settings: max_retries and timeout are not negative")
	case s.ErrorThreshold < -1:
		return Errorf(EINVALID, "error_threshold %d: want -1 (no limit) or more", s.ErrorThreshold)
	case s.OutputAction != BatchAppendRow && s.OutputAction != BatchSummaryOnly:
		return Errorf(EINVALID, "output_action %q: want %q or %q", s.OutputAction, BatchAppendRow, BatchSummaryOnly)
	}
	if err := ValidateText("logging_level", s.LoggingLevel, MaxAssetDisplayNameLength); err != nil {
		return err
	}
	if err := ValidateText("output_file_name", s.OutputFileName, MaxDataPathLength); err != nil {
		return err
	}
	if err := ValidateBatchCompute(s.Compute); err != nil {
		return err
	}
	return noExpression("output_file_name", s.OutputFileName)
}

// ValidateBatchCompute checks a batch deployment's compute: none (the
// server's machine), local, or azureml:<name> naming a compute cluster,
// which is recorded (batch jobs run on the server's machine). The CLI
// reads a deployment YAML's compute by the same rule, so the API refuses
// what the CLI refuses. Errors: EINVALID.
func ValidateBatchCompute(compute string) error {
	if compute == "" || compute == "local" {
		return nil
	}
	name, ok := strings.CutPrefix(compute, "azureml:")
	if !ok || ValidateName("compute", name) != nil {
		return Errorf(EINVALID, "compute %q: want local or azureml:<name> naming a compute cluster (azureml:cpu-cluster), recorded; batch jobs run on the server's machine", compute)
	}
	return nil
}

// noExpression refuses a value that holds "${{": a batch job's command
// would read it as an expression, so the deployment is refused when it
// is created or updated rather than when it is invoked. Errors: EINVALID.
func noExpression(field, v string) error {
	if strings.Contains(v, "${{") {
		return Errorf(EINVALID, "%s %q: expressions (${{ ... }}) are not allowed here; rename the file", field, v)
	}
	return nil
}

// BatchDeployment is one deployment of a batch endpoint: what a batch
// scoring job runs (Spec: the model, environment and code; its instance
// count) and how (Settings). Request settings, probes and the data
// collector of Spec do not apply to batch jobs.
type BatchDeployment struct {
	Workspace   string            `json:"workspace"`
	Endpoint    string            `json:"endpoint"`
	Name        string            `json:"name"`
	Description string            `json:"description,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
	Spec        DeploymentSpec    `json:"spec"`
	Settings    BatchSettings     `json:"settings"`
	State       ProvisioningState `json:"provisioning_state"`
	Message     string            `json:"message,omitempty"`
	Version     int64             `json:"version"`
	CreatedAt   time.Time         `json:"created_at"`
	CreatedBy   string            `json:"created_by"`
	UpdatedAt   time.Time         `json:"updated_at"`
	UpdatedBy   string            `json:"updated_by"`
}

// Validate checks the fields a creator supplies. Errors: EINVALID.
func (d *BatchDeployment) Validate() error {
	o := OnlineDeployment{Endpoint: d.Endpoint, Name: d.Name, Description: d.Description, Tags: d.Tags, Spec: d.Spec, State: d.State, Message: d.Message}
	if err := o.Validate(); err != nil {
		return err
	}
	if err := d.Settings.Validate(); err != nil {
		return Errorf(EINVALID, "deployment %s: %s", d.Name, ErrorMessage(err))
	}
	if d.Settings.OutputAction == BatchSummaryOnly && d.Spec.ScoringScript == "" {
		return Errorf(EINVALID, "deployment %s: output_action summary_only needs a scoring script that writes the outputs", d.Name)
	}
	return nil
}

// BatchDeploymentUpdate changes a batch deployment when its Version is
// Version (0: any); nil fields are kept. A new Spec or Settings is
// validated as at create.
type BatchDeploymentUpdate struct {
	Version     int64
	Description *string
	Tags        map[string]string
	Spec        *DeploymentSpec
	Settings    *BatchSettings
	State       ProvisioningState // "" keeps; moves as DeploymentMoveAllowed says
	Message     *string
}

// BatchEndpointNotFound is the error for a batch endpoint that does not exist.
func BatchEndpointNotFound(workspace, name string) error {
	return Errorf(ENOTFOUND, "batch endpoint %s not found in workspace %q", name, workspace)
}

// BatchDeploymentNotFound is the error for a batch deployment that does not exist.
func BatchDeploymentNotFound(endpoint, name string) error {
	return Errorf(ENOTFOUND, "deployment %s not found in batch endpoint %s", name, endpoint)
}

// BatchEndpointService stores batch endpoints and their deployments. Every
// change is audited in its transaction (batchEndpoints/write and /delete
// on batchEndpoints/<name>, batchDeployments/… on
// batchEndpoints/<endpoint>/deployments/<name>).
type BatchEndpointService interface {
	// CreateBatchEndpoint stores an endpoint (State Succeeded, Version 1);
	// its DefaultDeployment must be empty. Errors: EINVALID, ENOTFOUND
	// (workspace), ECONFLICT (the name exists).
	CreateBatchEndpoint(ctx context.Context, workspace string, e *BatchEndpoint) error
	// BatchEndpoint returns an endpoint. Errors: ENOTFOUND, EINVALID.
	BatchEndpoint(ctx context.Context, workspace, name string) (*BatchEndpoint, error)
	// ListBatchEndpoints lists a workspace's batch endpoints by name.
	ListBatchEndpoints(ctx context.Context, workspace string, opt ListOptions) (*Page[*BatchEndpoint], error)
	// UpdateBatchEndpoint applies u when the Version is version (0: any).
	// Errors: EINVALID (a default deployment that does not exist),
	// ENOTFOUND, ECONFLICT (another version).
	UpdateBatchEndpoint(ctx context.Context, workspace, name string, u BatchEndpointUpdate, version int64) (*BatchEndpoint, error)
	// DeleteBatchEndpoint deletes an endpoint and its deployments.
	// Errors: ENOTFOUND, EINVALID.
	DeleteBatchEndpoint(ctx context.Context, workspace, name string) error

	// CreateBatchDeployment stores a deployment in state Creating with
	// Version 1. Errors: EINVALID,
	// ENOTFOUND (workspace, endpoint), ECONFLICT (the name exists).
	CreateBatchDeployment(ctx context.Context, workspace string, d *BatchDeployment) error
	// BatchDeployment returns a deployment. Errors: ENOTFOUND, EINVALID.
	BatchDeployment(ctx context.Context, workspace, endpoint, name string) (*BatchDeployment, error)
	// ListBatchDeployments lists an endpoint's deployments by name.
	// Errors: ENOTFOUND (endpoint), EINVALID.
	ListBatchDeployments(ctx context.Context, workspace, endpoint string, opt ListOptions) (*Page[*BatchDeployment], error)
	// UpdateBatchDeployment applies u. Errors: EINVALID, ENOTFOUND,
	// ECONFLICT (another version; a move DeploymentMoveAllowed refuses).
	UpdateBatchDeployment(ctx context.Context, workspace, endpoint, name string, u BatchDeploymentUpdate) (*BatchDeployment, error)
	// DeleteBatchDeployment deletes a deployment that is not its
	// endpoint's default (Azure's rule). Errors: ENOTFOUND, EINVALID,
	// ECONFLICT (it is the default).
	DeleteBatchDeployment(ctx context.Context, workspace, endpoint, name string) error
}
