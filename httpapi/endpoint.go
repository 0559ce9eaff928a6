package httpapi

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/artifact"
	"github.com/hangar-ml/hangar/jobspec"
)

// Online endpoints and their deployments (endpoint.go at the root) under
// /api/v1/workspaces/{ws}/:
//
//	POST   online-endpoints                          create                         onlineEndpoints/write
//	GET    online-endpoints                          list by name                   onlineEndpoints/read
//	GET    online-endpoints/{name}                   one                            onlineEndpoints/read
//	PATCH  online-endpoints/{name}                   description, tags, auth_mode,  onlineEndpoints/write
//	                                                 traffic, mirror_traffic
//	DELETE online-endpoints/{name}                   delete with its deployments    onlineEndpoints/delete
//	POST   online-endpoints/{name}/list-keys         its two keys                   onlineEndpoints/listKeys
//	POST   online-endpoints/{name}/regenerate-keys   a fresh primary or secondary   onlineEndpoints/listKeys (+ write)
//	POST   online-endpoints/{name}/token             an aml_token                   onlineEndpoints/read
//	POST   online-endpoints/{name}/deployments       create and deploy (202)        onlineDeployments/write
//	GET    online-endpoints/{name}/deployments       list by name                   onlineDeployments/read
//	GET    …/deployments/{dep}                       one                            onlineDeployments/read
//	PATCH  …/deployments/{dep}                       a new spec (202, redeployed),  onlineDeployments/write
//	                                                 or description and tags (200)
//	DELETE …/deployments/{dep}                       delete (no traffic left)       onlineDeployments/delete
//	GET    …/deployments/{dep}/logs?lines=N          its last log lines             onlineDeployments/read
//
// The routes store through Server.Endpoints, which audits every change (and
// every reading of the keys) in its transaction; what runs a deployment —
// model files, script workers, the smoke test, the swap of an update — is
// Server.Deployer's. Regenerating a key changes the endpoint, so it also
// takes onlineEndpoints/write. Scoring is not here: the data plane serves
// /api/v1/workspaces/{ws}/endpoints/{name}/score before this handler.

// EndpointDeployer runs online deployments: package release's Service.
// httpapi.Client implements it too, over these routes.
type EndpointDeployer interface {
	// Deploy stores d in state Creating (filling its stored fields) and
	// deploys it in the background: the model's files materialised, the
	// scoring script started, the smoke test run; the deployment then
	// moves to Succeeded — and with allTraffic takes 100% of the live
	// traffic — or to Failed with a message. Errors: those of
	// hangar.EndpointService.CreateOnlineDeployment.
	Deploy(ctx context.Context, workspace string, d *hangar.OnlineDeployment, allTraffic bool) error
	// Redeploy applies t. With t.Spec set the deployment moves to
	// Updating and the new spec is deployed in the background; the old
	// one keeps serving until the new one passed its smoke test, then is
	// replaced at once. Errors: those of
	// hangar.EndpointService.TransitionOnlineDeployment.
	Redeploy(ctx context.Context, workspace, endpoint, name string, t hangar.DeploymentTransition) (*hangar.OnlineDeployment, error)
	// Logs returns up to the last lines lines of a deployment's log,
	// oldest first. Errors: ENOTFOUND, EINVALID.
	Logs(ctx context.Context, workspace, endpoint, name string, lines int) ([]string, error)
	// Token mints an aml_token for an endpoint whose auth_mode is
	// aml_token, and says when it expires. Errors: ENOTFOUND, EINVALID
	// (the endpoint takes keys).
	Token(ctx context.Context, workspace, endpoint string) (token string, expires time.Time, err error)
}

// Limits of the endpoint routes.
const (
	// DefaultDeploymentLogLines is how many log lines …/logs returns
	// without ?lines=.
	DefaultDeploymentLogLines = 100
	// MaxDeploymentLogLines bounds ?lines=.
	MaxDeploymentLogLines = 10000
)

// EndpointToken is the answer of …/token, with Azure's field names (az ml
// online-endpoint get-credentials): the times are Unix seconds.
type EndpointToken struct {
	AccessToken         string `json:"accessToken"`
	TokenType           string `json:"tokenType"` // "Bearer"
	ExpiryTimeUTC       int64  `json:"expiryTimeUtc"`
	RefreshAfterTimeUTC int64  `json:"refreshAfterTimeUtc"`
}

// onlineEndpointPatch is the body of PATCH online-endpoints/{name}. Absent
// (null) fields are kept; tags {} clears them, mirror_traffic {} stops the
// mirror. Version, when set, is the endpoint version the caller read.
type onlineEndpointPatch struct {
	Description   *string           `json:"description,omitempty"`
	Tags          map[string]string `json:"tags"`
	AuthMode      string            `json:"auth_mode,omitempty"`
	Traffic       map[string]int    `json:"traffic"`
	MirrorTraffic map[string]int    `json:"mirror_traffic"`
	Version       int64             `json:"version,omitempty"`
}

// onlineDeploymentPatch is the body of PATCH …/deployments/{dep}: a whole
// new spec (resolved as at create), and or new description and tags.
type onlineDeploymentPatch struct {
	Spec        *hangar.DeploymentSpec `json:"spec,omitempty"`
	Description *string                `json:"description,omitempty"`
	Tags        map[string]string      `json:"tags"`
	Version     int64                  `json:"version,omitempty"`
}

// regenerateKeysRequest is the body of …/regenerate-keys.
type regenerateKeysRequest struct {
	KeyType string `json:"key_type"`
}

// deploymentLogs is the answer of …/logs.
type deploymentLogs struct {
	Lines []string `json:"lines"`
}

// onlineEndpointRoutes are the routes of this file, appended to the table
// by Server.routes.
func (s *Server) onlineEndpointRoutes() []route {
	const (
		eps = "/api/v1/workspaces/{ws}/online-endpoints"
		ep  = eps + "/{name}"
		dps = ep + "/deployments"
		dp  = dps + "/{dep}"
	)
	return []route{
		{"POST " + eps, hangar.ActOnlineEndpointWrite, scopeWorkspace, s.createOnlineEndpoint, nativeErrors},
		{"GET " + eps, hangar.ActOnlineEndpointRead, scopeWorkspace, s.listOnlineEndpoints, nativeErrors},
		{"GET " + ep, hangar.ActOnlineEndpointRead, scopeWorkspace, s.getOnlineEndpoint, nativeErrors},
		{"PATCH " + ep, hangar.ActOnlineEndpointWrite, scopeWorkspace, s.patchOnlineEndpoint, nativeErrors},
		{"DELETE " + ep, hangar.ActOnlineEndpointDelete, scopeWorkspace, s.deleteOnlineEndpoint, nativeErrors},
		{"POST " + ep + "/list-keys", hangar.ActOnlineEndpointListKeys, scopeWorkspace, s.listEndpointKeys, nativeErrors},
		// Regenerating also takes onlineEndpoints/write, checked by the handler.
		{"POST " + ep + "/regenerate-keys", hangar.ActOnlineEndpointListKeys, scopeWorkspace, s.regenerateEndpointKey, nativeErrors},
		{"POST " + ep + "/token", hangar.ActOnlineEndpointRead, scopeWorkspace, s.endpointToken, nativeErrors},
		{"POST " + dps, hangar.ActOnlineDeploymentWrite, scopeWorkspace, s.createOnlineDeployment, nativeErrors},
		{"GET " + dps, hangar.ActOnlineDeploymentRead, scopeWorkspace, s.listOnlineDeployments, nativeErrors},
		{"GET " + dp, hangar.ActOnlineDeploymentRead, scopeWorkspace, s.getOnlineDeployment, nativeErrors},
		{"PATCH " + dp, hangar.ActOnlineDeploymentWrite, scopeWorkspace, s.patchOnlineDeployment, nativeErrors},
		{"DELETE " + dp, hangar.ActOnlineDeploymentDelete, scopeWorkspace, s.deleteOnlineDeployment, nativeErrors},
		{"GET " + dp + "/logs", hangar.ActOnlineDeploymentRead, scopeWorkspace, s.onlineDeploymentLogs, nativeErrors},
	}
}

func (s *Server) endpoints() (hangar.EndpointService, error) {
	if s.Endpoints == nil {
		return nil, hangar.Errorf(hangar.ENOTIMPLEMENTED, "online endpoints are not enabled on this server")
	}
	return s.Endpoints, nil
}

// deployer is the Deployer of the routes that run a deployment: without
// one they answer 501 rather than store a deployment nothing would ever
// move out of Creating.
func (s *Server) deployer() (hangar.EndpointService, EndpointDeployer, error) {
	svc, err := s.endpoints()
	if err != nil {
		return nil, nil, err
	}
	if s.Deployer == nil {
		return nil, nil, hangar.Errorf(hangar.ENOTIMPLEMENTED, "this server does not run online deployments")
	}
	return svc, s.Deployer, nil
}

func (s *Server) createOnlineEndpoint(w http.ResponseWriter, r *http.Request, c *caller) error {
	svc, err := s.endpoints()
	if err != nil {
		return err
	}
	var e hangar.OnlineEndpoint
	if err := s.decodeBody(w, r, &e); err != nil {
		return err
	}
	if e.Workspace != "" && e.Workspace != c.workspace {
		return hangar.Errorf(hangar.EINVALID, "workspace %q: the endpoint is created in workspace %q, the one of the path", truncate(e.Workspace, 64), c.workspace)
	}
	if err := svc.CreateOnlineEndpoint(r.Context(), c.workspace, &e); err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, &e)
}

func (s *Server) listOnlineEndpoints(w http.ResponseWriter, r *http.Request, c *caller) error {
	svc, err := s.endpoints()
	if err != nil {
		return err
	}
	return servePage(w, r, c.workspace, svc.ListOnlineEndpoints)
}

func (s *Server) getOnlineEndpoint(w http.ResponseWriter, r *http.Request, c *caller) error {
	svc, err := s.endpoints()
	if err != nil {
		return err
	}
	e, err := svc.OnlineEndpoint(r.Context(), c.workspace, r.PathValue("name"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, e)
}

// patchOnlineEndpoint changes the descriptive fields (UpdateOnlineEndpoint)
// and then the traffic (SetTraffic, a compare-and-set on the version the
// first change left): traffic last, so a refused traffic change leaves
// the endpoint serving as before. Traffic is checked by the rules before
// anything is written, so a patch with a bad split changes nothing.
func (s *Server) patchOnlineEndpoint(w http.ResponseWriter, r *http.Request, c *caller) error {
	svc, err := s.endpoints()
	if err != nil {
		return err
	}
	var p onlineEndpointPatch
	if err := s.decodeBody(w, r, &p); err != nil {
		return err
	}
	update := p.Description != nil || p.Tags != nil || p.AuthMode != ""
	traffic := p.Traffic != nil || p.MirrorTraffic != nil
	if !update && !traffic {
		return hangar.Errorf(hangar.EINVALID, "the patch changes nothing: give description, tags, auth_mode, traffic or mirror_traffic")
	}
	if p.Version < 0 {
		return hangar.Errorf(hangar.EINVALID, "version %d: give the version read, or none", p.Version)
	}
	if traffic {
		if err := checkTrafficPatch(p.Traffic, p.MirrorTraffic); err != nil {
			return err
		}
	}
	ctx, name, version := r.Context(), r.PathValue("name"), p.Version
	if update && traffic {
		// The store checks the traffic against the deployments; checking
		// first too keeps the common refusals from leaving the
		// descriptive change half applied.
		if err := checkTrafficDeployments(ctx, svc, c.workspace, name, p.Traffic, p.MirrorTraffic); err != nil {
			return err
		}
	}
	var e *hangar.OnlineEndpoint
	if update {
		u := hangar.OnlineEndpointUpdate{Description: p.Description, Tags: p.Tags, AuthMode: p.AuthMode}
		if e, err = svc.UpdateOnlineEndpoint(ctx, c.workspace, name, u, version); err != nil {
			return err
		}
		if version != 0 {
			version = e.Version
		}
	}
	if traffic {
		if e, err = svc.SetTraffic(ctx, c.workspace, name, p.Traffic, p.MirrorTraffic, version); err != nil {
			return err
		}
	}
	return writeJSON(w, http.StatusOK, e)
}

// checkTrafficPatch checks the names and the rules of a traffic change on
// its own, before anything is stored; the store checks the result against
// the deployments.
func checkTrafficPatch(live, mirror map[string]int) error {
	for _, m := range []map[string]int{live, mirror} {
		for _, name := range slices.Sorted(maps.Keys(m)) {
			if err := hangar.ValidateEndpointName(name); err != nil {
				return hangar.Errorf(hangar.EINVALID, "traffic: deployment %s", hangar.ErrorMessage(err))
			}
		}
	}
	return hangar.ValidateTraffic(live, mirror)
}

// checkTrafficDeployments checks that a traffic change names only
// deployments of the endpoint, and gives a positive share only to
// Succeeded ones, as SetTraffic does in its transaction.
func checkTrafficDeployments(ctx context.Context, svc hangar.EndpointService, ws, endpoint string, live, mirror map[string]int) error {
	page, err := svc.ListOnlineDeployments(ctx, ws, endpoint, hangar.ListOptions{MaxResults: hangar.MaxMaxResults})
	if err != nil {
		return err
	}
	states := map[string]hangar.ProvisioningState{}
	for _, d := range page.Items {
		states[d.Name] = d.State
	}
	for _, m := range []struct {
		what string
		t    map[string]int
	}{{"traffic", live}, {"mirror_traffic", mirror}} {
		for _, d := range slices.Sorted(maps.Keys(m.t)) {
			st, ok := states[d]
			switch {
			case !ok && page.NextPageToken == "":
				return hangar.Errorf(hangar.EINVALID, "%s names deployment %s, which does not exist in online endpoint %s", m.what, d, endpoint)
			case ok && st != hangar.StateSucceeded && m.t[d] > 0:
				return hangar.Errorf(hangar.EINVALID, "%s gives deployment %s %d%%, but it is %s: only a %s deployment takes traffic", m.what, d, m.t[d], st, hangar.StateSucceeded)
			}
		}
	}
	return nil
}

func (s *Server) deleteOnlineEndpoint(w http.ResponseWriter, r *http.Request, c *caller) error {
	svc, err := s.endpoints()
	if err != nil {
		return err
	}
	if err := svc.DeleteOnlineEndpoint(r.Context(), c.workspace, r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// writeKeys answers with an endpoint's keys, which no cache may keep.
func writeKeys(w http.ResponseWriter, k *hangar.EndpointKeys) error {
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusOK, k)
}

func (s *Server) listEndpointKeys(w http.ResponseWriter, r *http.Request, c *caller) error {
	svc, err := s.endpoints()
	if err != nil {
		return err
	}
	k, err := svc.EndpointKeys(r.Context(), c.workspace, r.PathValue("name"))
	if err != nil {
		return err
	}
	return writeKeys(w, k)
}

func (s *Server) regenerateEndpointKey(w http.ResponseWriter, r *http.Request, c *caller) error {
	svc, err := s.endpoints()
	if err != nil {
		return err
	}
	if err := c.require(c.workspace, hangar.ActOnlineEndpointWrite); err != nil {
		return err
	}
	var req regenerateKeysRequest
	if err := s.decodeBody(w, r, &req); err != nil {
		return err
	}
	if req.KeyType != hangar.KeyPrimary && req.KeyType != hangar.KeySecondary {
		return hangar.Errorf(hangar.EINVALID, "key_type %q: want %q or %q", truncate(req.KeyType, 32), hangar.KeyPrimary, hangar.KeySecondary)
	}
	// As Azure does: an aml_token endpoint's keys are not its callers'
	// credential (its gateway takes tokens only), so regenerating them
	// would void nothing while suggesting it did.
	ctx := r.Context()
	e, err := svc.OnlineEndpoint(ctx, c.workspace, r.PathValue("name"))
	if err != nil {
		return err
	}
	if e.AuthMode == hangar.EndpointAuthToken {
		return hangar.Errorf(hangar.EINVALID, "online endpoint %s authenticates callers with aml_token, not keys: its keys are not regenerated (a token expires on its own; get one with get-credentials)", e.Name)
	}
	k, err := svc.RegenerateKey(ctx, c.workspace, e.Name, req.KeyType)
	if err != nil {
		return err
	}
	return writeKeys(w, k)
}

// endpointToken mints an aml_token. Only endpoints whose auth_mode is
// aml_token have tokens; a key endpoint is refused here rather than
// handed a token its gateway would not take.
func (s *Server) endpointToken(w http.ResponseWriter, r *http.Request, c *caller) error {
	svc, dep, err := s.deployer()
	if err != nil {
		return err
	}
	ctx := r.Context()
	e, err := svc.OnlineEndpoint(ctx, c.workspace, r.PathValue("name"))
	if err != nil {
		return err
	}
	if e.AuthMode != hangar.EndpointAuthToken {
		return hangar.Errorf(hangar.EINVALID, "online endpoint %s takes keys (auth_mode %s), not tokens: read its keys with list-keys", e.Name, e.AuthMode)
	}
	tok, exp, err := dep.Token(ctx, c.workspace, e.Name)
	if err != nil {
		return err
	}
	now := s.Now()
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusOK, &EndpointToken{
		AccessToken: tok, TokenType: "Bearer",
		ExpiryTimeUTC: exp.Unix(), RefreshAfterTimeUTC: now.Add(exp.Sub(now) / 2).Unix(),
	})
}

// createOnlineDeployment answers POST …/deployments: the deployment is
// checked and resolved here (defaults, the model version's files, the
// environment, the code snapshot), stored in Creating and deployed in the
// background by the Deployer; 202 with the stored deployment.
func (s *Server) createOnlineDeployment(w http.ResponseWriter, r *http.Request, c *caller) error {
	svc, dep, err := s.deployer()
	if err != nil {
		return err
	}
	allTraffic, err := boolQuery(r, "all_traffic")
	if err != nil {
		return err
	}
	var d hangar.OnlineDeployment
	if err := s.decodeBodyLimit(w, r, &d, max(s.MaxBodyBytes, 2*hangar.MaxSampleRequestBytes)); err != nil {
		return err
	}
	ctx, endpoint := r.Context(), r.PathValue("name")
	switch {
	case d.Workspace != "" && d.Workspace != c.workspace:
		return hangar.Errorf(hangar.EINVALID, "workspace %q: the deployment is created in workspace %q, the one of the path", truncate(d.Workspace, 64), c.workspace)
	case d.Endpoint != "" && d.Endpoint != endpoint:
		return hangar.Errorf(hangar.EINVALID, "endpoint %q: the deployment is created in online endpoint %s, the one of the path", truncate(d.Endpoint, 64), endpoint)
	}
	d.Workspace, d.Endpoint = c.workspace, endpoint
	if _, err := svc.OnlineEndpoint(ctx, c.workspace, endpoint); err != nil {
		return err
	}
	defaultSpec(&d.Spec)
	if err := d.Validate(); err != nil {
		return err
	}
	if err := s.resolveSpec(ctx, c.workspace, &d.Spec); err != nil {
		return inDeployment(d.Name, err)
	}
	if err := dep.Deploy(ctx, c.workspace, &d, allTraffic); err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, &d)
}

// inDeployment names the deployment in a refusal of its spec; other
// errors are wrapped, so their cause reaches the log.
func inDeployment(name string, err error) error {
	if hangar.ErrorCode(err) == hangar.EINVALID {
		return hangar.Errorf(hangar.EINVALID, "deployment %s: %s", name, hangar.ErrorMessage(err))
	}
	return fmt.Errorf("deployment %s: %w", name, err)
}

// boolQuery reads an optional true/false query parameter.
func boolQuery(r *http.Request, name string) (bool, error) {
	switch v := r.URL.Query().Get(name); v {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	default:
		return false, hangar.Errorf(hangar.EINVALID, "%s %q: want true or false", name, truncate(v, 32))
	}
}

// defaultSpec fills the settings a minimal deployment leaves zero with
// Azure's defaults, as jobspec.ParseOnlineDeployment does for YAML.
func defaultSpec(sp *hangar.DeploymentSpec) {
	if sp.InstanceCount == 0 {
		sp.InstanceCount = 1
	}
	if sp.Request.RequestTimeoutMS == 0 {
		sp.Request.RequestTimeoutMS = jobspec.DefaultRequestTimeoutMS
	}
	if sp.Request.MaxConcurrentRequestsPerInstance == 0 {
		sp.Request.MaxConcurrentRequestsPerInstance = 1
	}
	p := jobspec.DefaultProbe
	def := hangar.Probe{InitialDelay: p.InitialDelay, Period: p.Period, Timeout: p.Timeout, SuccessThreshold: p.SuccessThreshold, FailureThreshold: p.FailureThreshold}
	for _, probe := range []*hangar.Probe{&sp.Liveness, &sp.Readiness} {
		if *probe == (hangar.Probe{}) {
			*probe = def
		}
	}
}

// resolveSpec checks what a valid spec names against the workspace and
// pins the model's files: the model version must exist and its files be
// held by the server (their manifest is stored as a blob the workspace
// owns, and ModelDigest names it); a named environment version must
// exist; the code snapshot must be a manifest the workspace owns that
// holds the scoring script. Everything is checked before the model's
// manifest is stored, so a refused spec leaves nothing behind. Online and
// batch deployments are resolved alike, so both routes refuse the same
// specs with the same words. Errors: EINVALID naming the field,
// ENOTIMPLEMENTED (a service the server lacks).
func (s *Server) resolveSpec(ctx context.Context, ws string, sp *hangar.DeploymentSpec) error {
	reg, err := s.registry()
	if err != nil {
		return err
	}
	bs, err := s.blobStore()
	if err != nil {
		return err
	}
	if s.Artifacts == nil {
		return hangar.Errorf(hangar.ENOTIMPLEMENTED, "this server has no artifact index to read model files from")
	}
	v, err := reg.ModelVersion(ctx, ws, sp.ModelName, sp.ModelVersion)
	if hangar.ErrorCode(err) == hangar.ENOTFOUND {
		return hangar.Errorf(hangar.EINVALID, "spec.model_version: model %s version %s not found in workspace %s", sp.ModelName, sp.ModelVersion, ws)
	}
	if err != nil {
		return err
	}
	manifest, digest, err := s.modelManifest(ctx, ws, v)
	if err != nil {
		return err
	}
	if sp.ModelDigest != "" && sp.ModelDigest != digest {
		return hangar.Errorf(hangar.EINVALID, "spec.model_digest %s: model %s version %s has the files of %s (leave it out, the server fills it)", sp.ModelDigest, v.Name, v.Version, digest)
	}

	if sp.EnvironmentName != "" {
		envs, err := s.environmentService()
		if err != nil {
			return err
		}
		_, err = envs.Environment(ctx, ws, sp.EnvironmentName, sp.EnvironmentVersion)
		if hangar.ErrorCode(err) == hangar.ENOTFOUND {
			return hangar.Errorf(hangar.EINVALID, "spec.environment_version: environment %s version %s not found in workspace %s", sp.EnvironmentName, sp.EnvironmentVersion, ws)
		}
		if err != nil {
			return err
		}
	}

	if sp.CodeDigest != "" {
		if _, err := s.BlobIndex.WorkspaceBlob(ctx, ws, sp.CodeDigest); err != nil {
			if hangar.ErrorCode(err) == hangar.ENOTFOUND {
				return hangar.Errorf(hangar.EINVALID, "spec.code_digest: code snapshot %s not found in workspace %s: upload the code folder first", sp.CodeDigest, ws)
			}
			return err
		}
		m, err := artifact.ReadManifest(ctx, bs, sp.CodeDigest)
		if err != nil {
			if code := hangar.ErrorCode(err); code == hangar.EINVALID || code == hangar.ENOTFOUND {
				return hangar.Errorf(hangar.EINVALID, "spec.code_digest %s is not a code snapshot (the manifest of a folder): %s", sp.CodeDigest, hangar.ErrorMessage(err))
			}
			return err
		}
		if !slices.ContainsFunc(m.Files, func(e hangar.ManifestEntry) bool { return e.Path == sp.ScoringScript }) {
			return hangar.Errorf(hangar.EINVALID, "spec.scoring_script %s is not a file of code snapshot %s", sp.ScoringScript, sp.CodeDigest)
		}
	}

	// The manifest becomes a blob of the workspace, unless it is one
	// already (an upload, audited as one by the BlobIndex).
	if _, err := s.BlobIndex.WorkspaceBlob(ctx, ws, digest); hangar.ErrorCode(err) == hangar.ENOTFOUND {
		info, err := bs.Put(ctx, bytes.NewReader(manifest))
		if err != nil {
			return err
		}
		if err := s.BlobIndex.AddBlob(ctx, ws, info); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	sp.ModelDigest = digest
	return nil
}

// modelManifest returns the encoded manifest of a model version's files
// and its digest (hangar.ModelContentDigest). Errors: EINVALID (the
// files are not the server's).
func (s *Server) modelManifest(ctx context.Context, ws string, v *hangar.ModelVersion) ([]byte, hangar.Digest, error) {
	files, err := s.modelFiles(ctx, ws, v)
	if hangar.ErrorCode(err) == hangar.EINVALID {
		// modelFiles serves sharing too; its words say what was refused.
		msg := strings.Replace(hangar.ErrorMessage(err), "can be shared", "can be deployed", 1)
		return nil, "", hangar.Errorf(hangar.EINVALID, "spec.model_version: %s", msg)
	}
	if err != nil {
		return nil, "", err
	}
	slices.SortFunc(files, func(a, b hangar.ManifestEntry) int { return strings.Compare(a.Path, b.Path) })
	m := hangar.Manifest{Version: hangar.ManifestVersion, Files: files}
	data, err := m.Encode()
	if err != nil {
		return nil, "", hangar.Errorf(hangar.EINVALID, "spec.model_version: model %s version %s: its files make no manifest: %s", v.Name, v.Version, hangar.ErrorMessage(err))
	}
	digest, err := hangar.ModelContentDigest(files)
	if err != nil {
		return nil, "", err
	}
	return data, digest, nil
}

func (s *Server) listOnlineDeployments(w http.ResponseWriter, r *http.Request, c *caller) error {
	svc, err := s.endpoints()
	if err != nil {
		return err
	}
	list := func(ctx context.Context, endpoint string, opt hangar.ListOptions) (*hangar.Page[*hangar.OnlineDeployment], error) {
		return svc.ListOnlineDeployments(ctx, c.workspace, endpoint, opt)
	}
	return servePage(w, r, r.PathValue("name"), list)
}

func (s *Server) getOnlineDeployment(w http.ResponseWriter, r *http.Request, c *caller) error {
	svc, err := s.endpoints()
	if err != nil {
		return err
	}
	d, err := svc.OnlineDeployment(r.Context(), c.workspace, r.PathValue("name"), r.PathValue("dep"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, d)
}

// patchOnlineDeployment answers PATCH …/deployments/{dep}: a new spec is
// resolved as at create and redeployed by the Deployer (202); description
// and tags alone are a change of the store (200).
func (s *Server) patchOnlineDeployment(w http.ResponseWriter, r *http.Request, c *caller) error {
	svc, err := s.endpoints()
	if err != nil {
		return err
	}
	var p onlineDeploymentPatch
	if err := s.decodeBodyLimit(w, r, &p, max(s.MaxBodyBytes, 2*hangar.MaxSampleRequestBytes)); err != nil {
		return err
	}
	if p.Spec == nil && p.Description == nil && p.Tags == nil {
		return hangar.Errorf(hangar.EINVALID, "the patch changes nothing: give spec, description or tags")
	}
	if p.Version < 0 {
		return hangar.Errorf(hangar.EINVALID, "version %d: give the version read, or none", p.Version)
	}
	ctx, endpoint, name := r.Context(), r.PathValue("name"), r.PathValue("dep")
	t := hangar.DeploymentTransition{Version: p.Version, Description: p.Description, Tags: p.Tags}
	if p.Spec == nil {
		if err := t.Validate(); err != nil {
			return err
		}
		d, err := svc.TransitionOnlineDeployment(ctx, c.workspace, endpoint, name, t)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, d)
	}
	_, dep, err := s.deployer()
	if err != nil {
		return err
	}
	if _, err := svc.OnlineDeployment(ctx, c.workspace, endpoint, name); err != nil {
		return err
	}
	defaultSpec(p.Spec)
	t.Spec = p.Spec
	if err := t.Validate(); err != nil {
		return hangar.Errorf(hangar.EINVALID, "deployment %s: %s", name, hangar.ErrorMessage(err))
	}
	if err := s.resolveSpec(ctx, c.workspace, p.Spec); err != nil {
		return inDeployment(name, err)
	}
	d, err := dep.Redeploy(ctx, c.workspace, endpoint, name, t)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, d)
}

func (s *Server) deleteOnlineDeployment(w http.ResponseWriter, r *http.Request, c *caller) error {
	svc, err := s.endpoints()
	if err != nil {
		return err
	}
	if err := svc.DeleteOnlineDeployment(r.Context(), c.workspace, r.PathValue("name"), r.PathValue("dep")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// onlineDeploymentLogs answers …/logs. The deployment is read from the
// store first, so a name of another workspace is a 404 whatever the
// Deployer keeps.
func (s *Server) onlineDeploymentLogs(w http.ResponseWriter, r *http.Request, c *caller) error {
	svc, dep, err := s.deployer()
	if err != nil {
		return err
	}
	n := DefaultDeploymentLogLines
	if v := r.URL.Query().Get("lines"); v != "" {
		if n, err = strconv.Atoi(v); err != nil || n < 1 || n > MaxDeploymentLogLines {
			return hangar.Errorf(hangar.EINVALID, "lines %q: want 1 to %d", truncate(v, 32), MaxDeploymentLogLines)
		}
	}
	ctx, endpoint, name := r.Context(), r.PathValue("name"), r.PathValue("dep")
	if _, err := svc.OnlineDeployment(ctx, c.workspace, endpoint, name); err != nil {
		return err
	}
	lines, err := dep.Logs(ctx, c.workspace, endpoint, name, n)
	if err != nil {
		return err
	}
	if lines == nil {
		lines = []string{}
	}
	return writeJSON(w, http.StatusOK, &deploymentLogs{Lines: lines})
}
