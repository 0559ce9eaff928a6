// Package httpapi is Hangar's HTTP edge: the native JSON API server over the
// root service interfaces, and a Go client for it that implements the same
// interfaces.
//
// # Routes
//
// The server is built from one route table (Server.routes). Each entry is
//
//	route{pattern, action, scope, fn, errors}
//
// a net/http pattern ("GET /api/v1/workspaces/{ws}"), the hangar action the
// route needs (hangar.ActWorkspaceRead; every action is declared in the
// root's action.go), where that action is checked, the handler, and the
// envelope its errors are answered in. One wrapper authenticates the caller
// and authorizes the action on the scope before the handler runs, so no
// handler can forget to; handlers only add checks narrower than their
// route's. The scope kinds:
//
//   - scopePublic: no token, no action (/healthz, /readyz, and /metrics
//     unless Server.MetricsAuth makes it a scopeServer route of
//     metrics/read).
//   - scopeServer: the action held server-wide (create a workspace, list
//     identities, verify the audit chain).
//   - scopeWorkspace: the action held on the workspace of the {ws} path
//     value, or when the pattern has no {ws} (the MLflow routes:
//     /api/2.0/mlflow/...) on the workspace the X-MLFLOW-WORKSPACE header
//     names, else the default one; /w/{ws}/api/2.0/mlflow/... serves
//     another workspace by path (mlflow.go). Only after the action is
//     authorized is the workspace looked up, so outsiders get 403 whether or
//     not it exists and only callers holding the action learn of a 404.
//   - scopeQuery: the action held on the workspace of ?workspace=, or
//     server-wide without it (lists of tokens, role assignments, events).
//   - scopeAnywhere: the action held on at least one scope; the handler then
//     checks the precise scope, named in the body or found from the stored
//     object (issue a token, assign a role, revoke a token, remove an
//     assignment), decides between rights (reveal a secret: secrets/reveal,
//     or a grant), or narrows what it lists (workspaces).
//
// A caller with no role is thus refused (403) on every route but the public
// ones, and a request without a token gets 401; a test walks the table and
// checks both for every route. Handler refuses to build a table whose
// routes break these rules (checkRoutes): an undeclared action, a public
// route with an action, a route without a scope.
//
// # Errors
//
// Every handler returns an error; the wrapper answers it with the status
// and code of one table (errorTable), which maps each domain code to its
// native status and to the MLflow error_code and status, and holds the
// router's own answers: 405 (EMETHODNOTALLOWED) and the 404 of unknown
// paths. A route's errors field picks the envelope: native
// ({"error":{"code":"...","message":"..."}}) or MLflow's
// ({"error_code":"...","message":"..."}); paths no route matches get
// MLflow's envelope under the MLflow API prefixes (ENDPOINT_NOT_FOUND, which
// MLflow clients understand) and the native one elsewhere.
//
// # Lists
//
// Every list route is the same shape (servePage): the handler builds the
// filter, servePage reads max_results and page_token once, calls the
// service's List…(ctx, filter, opt) and writes the page with "value": []
// rather than null. On the client every List… method is one listPage call,
// and allItems follows next_page_token for the helpers that need every item.
//
// # Edge checks and observability
//
// Middleware around the router assigns request ids (a client's own only
// when it is 1 to 128 of [A-Za-z0-9-_.:]), writes one structured access-log
// line per request, counts and times requests in Prometheus by route
// pattern, method and status, counts 401 and 403 by reason and identity
// (logging them at most once per identity a minute), and recovers panics. A
// request the client cancelled is counted and logged as 499 and answered
// with nothing. Before any route runs, a path with empty, "." or ".."
// segments is refused with a JSON 400 (the router would redirect it), and
// with AuthDisabled so is a request a web page could send: a Host that is
// not a loopback name, a POST or body that is not JSON or octet-stream
// (checkLocalRequest). Input is checked at the edge before any store sees
// it: every path and query value must be UTF-8 without NUL (checkParams),
// and JSON bodies follow the one text rule (hangar.CheckJSONText) and are
// decoded strictly — no unknown, miscased or duplicate keys, no trailing
// data (decodeJSON); MLflow routes ignore unknown keys instead, as MLflow's
// server does, but keep the text rule and refuse duplicates (decodeMLflow).
//
// # Connections
//
// NewHTTPServer makes the *http.Server to serve the handler with: header,
// read, write and idle timeouts bound ordinary requests, while blob
// uploads and downloads keep their connection only as long as they keep a
// minimum pace (Timeouts). An error answered before the request body was
// read closes the connection instead of waiting for the rest of the body.
package httpapi

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"mime"
	"net"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hangar-ml/hangar"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Default limits.
const (
	// DefaultMaxBodyBytes bounds a JSON request body.
	DefaultMaxBodyBytes = 1 << 20
	// DefaultMaxBlobBytes bounds one streamed artifact upload.
	DefaultMaxBlobBytes = 5 << 30
)

// Server serves the native API. Set the exported fields, then call Handler
// once; the fields must not change afterwards.
type Server struct {
	Workspaces hangar.WorkspaceService
	Identities hangar.IdentityService
	Roles      hangar.RoleService
	Audit      hangar.AuditService
	Secrets    hangar.SecretService
	// Credentials finds a request's token and its identity's roles, and
	// what an identity holds when the server decides whether a caller may
	// see it. Only stores implement it (sqlstore.IdentityService).
	Credentials hangar.CredentialStore
	// Blobs stores artifact content, once for the whole server; when nil
	// the blob routes answer 501.
	Blobs hangar.BlobStore
	// BlobIndex records which workspace owns which blob, and audits each
	// upload in the same transaction: a workspace reads only the blobs
	// uploaded to it. It is required when Blobs is set (Handler panics
	// otherwise: an upload that leaves no audit event is a silent gap).
	// sqlstore.BlobIndex implements it.
	BlobIndex hangar.BlobIndex
	// Artifacts names a workspace's artifact files by path (MLflow's
	// artifact proxy, mlflow_artifacts.go), their content in Blobs; when
	// it or Blobs is nil those routes answer 501. sqlstore.ArtifactIndex
	// implements it.
	Artifacts hangar.ArtifactIndex
	// Tracking stores experiments and runs, for the MLflow tracking routes;
	// when nil they answer 501.
	Tracking hangar.TrackingService
	// Registry stores the model registry the MLflow routes
	// (registered-models/…, model-versions/…) serve; when nil they answer
	// 501. sqlstore.RegistryService implements it.
	Registry hangar.RegistryService
	// LoggedModels stores MLflow 3.x logged models and runs' model outputs
	// (logged-models/…, runs/outputs); when nil those routes answer 501.
	// sqlstore.LoggedModelService implements it.
	LoggedModels hangar.LoggedModelService
	// Jobs stores jobs and their logs, for the job routes (job.go); when
	// nil they answer 501. sqlstore.JobService implements it.
	Jobs hangar.JobService
	// JobSubmitter turns a submitted job's YAML into jobs (package
	// jobrun); when nil, submitting answers 501.
	JobSubmitter JobSubmitter
	// JobEvents, when set, is called after a job was created, its cancel
	// requested, or a runner moved or finished it, so that an in-process
	// scheduler wakes at once rather than at its next poll.
	JobEvents func(workspace, name string)
	// Environments and Components store versioned environments and
	// command components (environment.go, component.go); when nil their
	// routes answer 501.
	Environments hangar.EnvironmentService
	Components   hangar.ComponentService
	// CheckComponentSpec, when set, checks a component version before it
	// is stored, after Validate: cmd wires jobspec's check that its spec
	// reads back (and agrees with the version's fields), so that every
	// stored spec does; without it the spec need only be a JSON object.
	CheckComponentSpec func(c *hangar.Component) error
	// Data stores datastores and data asset versions (data.go); when nil
	// those routes answer 501. sqlstore.DataService implements it, and the
	// optional CreateDataVersionOwning that sharing and datastore
	// snapshots need.
	Data hangar.DataService
	// Approvals stores protected aliases and approval requests
	// (approval.go); when nil those routes answer 501 and no alias is
	// protected. sqlstore.ApprovalService implements it.
	Approvals hangar.ApprovalService
	// Schedules stores job schedules and ScheduleFirer fires them
	// (schedule.go); when either is nil those routes answer 501.
	// sqlstore.ScheduleService and schedule.Firer implement them.
	Schedules     hangar.ScheduleService
	ScheduleFirer ScheduleFirer
	// Endpoints stores online endpoints, their deployments and keys
	// (endpoint.go); when nil those routes answer 501. cmd passes
	// release.Service, which keeps the data plane in step with the store.
	Endpoints hangar.EndpointService
	// Deployer runs online deployments; when nil, creating a deployment,
	// changing its spec, its logs and aml_tokens answer 501.
	Deployer EndpointDeployer
	// BatchEndpoints stores batch endpoints and deployments (batch_endpoint.go); nil: those routes answer 501.
	BatchEndpoints hangar.BatchEndpointService

	// Logger receives the access log and internal errors; nil discards them.
	Logger *slog.Logger
	// Registerer receives the HTTP metrics and Gatherer serves /metrics.
	// NewServer sets both to one fresh registry; cmd passes its own registry
	// with the Go and process collectors.
	Registerer prometheus.Registerer
	Gatherer   prometheus.Gatherer
	// Ready reports whether the server can serve (for /readyz), e.g. a
	// database ping; nil means always ready.
	Ready func(ctx context.Context) error

	// AuthDisabled skips authentication: every request acts as the built-in
	// identity "local" holding Owner server-wide. Only for explicit local
	// use: the server then answers only requests whose Host is a loopback
	// name (checkLocalRequest), so a web page cannot reach it by DNS
	// rebinding, and only POSTs and bodies of a type a browser cannot send
	// cross-site without asking first.
	AuthDisabled bool
	// MetricsAuth makes /metrics a route like the others: the caller needs
	// metrics/read server-wide (Reader and above). Without it /metrics is
	// public, for a scraper on a trusted network.
	MetricsAuth bool

	// MaxBodyBytes bounds JSON request bodies (DefaultMaxBodyBytes when <= 0).
	MaxBodyBytes int64
	// MaxBlobBytes bounds one artifact upload (DefaultMaxBlobBytes when <= 0).
	MaxBlobBytes int64

	// Now tells the time for token expiry; time.Now when nil.
	Now hangar.Clock

	auth   authCache // verified tokens and read workspaces (auth.go)
	uiOnce sync.Once
	uiRuns chan struct{} // heavy pages of the web UI being drawn (ui.go, uiHeavy)
}

// NewServer returns a server with its own metrics registry and defaults set.
// The services must be set before calling Handler.
func NewServer() *Server {
	reg := prometheus.NewRegistry()
	return &Server{
		Registerer:   reg,
		Gatherer:     reg,
		MaxBodyBytes: DefaultMaxBodyBytes,
		MaxBlobBytes: DefaultMaxBlobBytes,
		Now:          time.Now,
	}
}

// apiFunc is the shape of every route handler. c is the caller, already
// authorized for the route's action on the route's scope; its principal is
// nil on public routes.
type apiFunc func(w http.ResponseWriter, r *http.Request, c *caller) error

// route is one entry of the route table. The wrapper authenticates the
// caller and authorizes action on scope before fn runs, so a handler cannot
// forget to; handlers only add checks narrower than the route's.
type route struct {
	pattern string
	action  string // a declared hangar action; "" exactly on public routes
	scope   scope
	fn      apiFunc
	errors  errorStyle // the envelope errors are answered in
}

// routes is the route table: every pattern the server serves.
func (s *Server) routes() []route {
	rs := []route{
		{"GET /healthz", "", scopePublic, s.healthz, nativeErrors},
		{"GET /readyz", "", scopePublic, s.readyz, nativeErrors},
		s.metricsRoute(),
		{"GET /health", "", scopePublic, s.mlflowHealth, nativeErrors},   // MLflow's liveness check: the text OK
		{"GET /version", "", scopePublic, s.mlflowVersion, nativeErrors}, // MLflow's: the MLflow version followed

		{"GET /api/v1/workspaces", hangar.ActWorkspaceRead, scopeAnywhere, s.listWorkspaces, nativeErrors},
		{"POST /api/v1/workspaces", hangar.ActWorkspaceWrite, scopeServer, s.createWorkspace, nativeErrors},
		{"GET /api/v1/workspaces/{ws}", hangar.ActWorkspaceRead, scopeWorkspace, s.getWorkspace, nativeErrors},
		{"DELETE /api/v1/workspaces/{ws}", hangar.ActWorkspaceDelete, scopeWorkspace, s.deleteWorkspace, nativeErrors},
		// Registries (registryws.go): workspaces of kind registry.
		{"GET /api/v1/registries", hangar.ActWorkspaceRead, scopeAnywhere, s.listRegistries, nativeErrors},
		{"POST /api/v1/registries", hangar.ActRegistryWrite, scopeServer, s.createRegistry, nativeErrors},
		{"GET /api/v1/registries/{ws}", hangar.ActWorkspaceRead, scopeWorkspace, s.getRegistry, nativeErrors},

		{"GET /api/v1/identities", hangar.ActIdentityRead, scopeServer, s.listIdentities, nativeErrors},
		{"POST /api/v1/identities", hangar.ActIdentityWrite, scopeServer, s.createIdentity, nativeErrors},
		{"GET /api/v1/identities/{name}", hangar.ActIdentityRead, scopeAnywhere, s.getIdentity, nativeErrors},
		{"POST /api/v1/tokens", hangar.ActTokenWrite, scopeAnywhere, s.issueToken, nativeErrors},
		{"GET /api/v1/tokens", hangar.ActTokenRead, scopeQuery, s.listTokens, nativeErrors},
		{"GET /api/v1/tokens/{id}", hangar.ActTokenRead, scopeAnywhere, s.getToken, nativeErrors},
		{"DELETE /api/v1/tokens/{id}", hangar.ActTokenDelete, scopeAnywhere, s.revokeToken, nativeErrors},

		{"GET /api/v1/roles", hangar.ActRoleDefinitionRead, scopeAnywhere, s.listRoles, nativeErrors},
		{"POST /api/v1/role-assignments", hangar.ActRoleAssignmentWrite, scopeAnywhere, s.assignRole, nativeErrors},
		{"GET /api/v1/role-assignments", hangar.ActRoleAssignmentRead, scopeQuery, s.listRoleAssignments, nativeErrors},
		{"DELETE /api/v1/role-assignments/{id}", hangar.ActRoleAssignmentDelete, scopeAnywhere, s.removeRoleAssignment, nativeErrors},

		{"GET /api/v1/audit", hangar.ActAuditRead, scopeQuery, s.listEvents, nativeErrors},
		{"POST /api/v1/audit/verify", hangar.ActAuditRead, scopeServer, s.verifyAudit, nativeErrors},
		{"GET /api/v1/audit/checkpoint", hangar.ActAuditRead, scopeServer, s.auditCheckpoint, nativeErrors},
		{"GET /api/v1/workspaces/{ws}/audit", hangar.ActAuditRead, scopeWorkspace, s.listWorkspaceEvents, nativeErrors},

		{"GET /api/v1/workspaces/{ws}/secrets", hangar.ActSecretRead, scopeWorkspace, s.listSecrets, nativeErrors},
		{"GET /api/v1/workspaces/{ws}/secrets/{name}", hangar.ActSecretRead, scopeWorkspace, s.getSecret, nativeErrors},
		{"PUT /api/v1/workspaces/{ws}/secrets/{name}", hangar.ActSecretWrite, scopeWorkspace, s.setSecret, nativeErrors},
		{"DELETE /api/v1/workspaces/{ws}/secrets/{name}", hangar.ActSecretDelete, scopeWorkspace, s.deleteSecret, nativeErrors},
		// Revealing takes secrets/reveal on the workspace, or a grant of the
		// secret and secrets/read on it: the handler decides which, and
		// tells a caller with neither nothing about the workspace.
		{"POST /api/v1/workspaces/{ws}/secrets/{name}/reveal", hangar.ActSecretRead, scopeAnywhere, s.revealSecret, nativeErrors},
		// Granting also takes secrets/reveal, which the handler checks.
		{"PUT /api/v1/workspaces/{ws}/secrets/{name}/grants/{identity}", hangar.ActSecretWrite, scopeWorkspace, s.grantSecret, nativeErrors},
		{"DELETE /api/v1/workspaces/{ws}/secrets/{name}/grants/{identity}", hangar.ActSecretWrite, scopeWorkspace, s.revokeSecretGrant, nativeErrors},

		{"PUT /api/v1/workspaces/{ws}/blobs", hangar.ActArtifactWrite, scopeWorkspace, s.putBlob, nativeErrors},
		{"GET /api/v1/workspaces/{ws}/blobs/{digest}", hangar.ActArtifactRead, scopeWorkspace, s.getBlob, nativeErrors},

		{"GET /api/v1/workspaces/{ws}/datastores", hangar.ActDatastoreRead, scopeWorkspace, s.listDatastores, nativeErrors},
		// Creating a local datastore also takes datastores/write server-wide (data.go).
		{"POST /api/v1/workspaces/{ws}/datastores", hangar.ActDatastoreWrite, scopeWorkspace, s.createDatastore, nativeErrors},
		{"GET /api/v1/workspaces/{ws}/datastores/{name}", hangar.ActDatastoreRead, scopeWorkspace, s.getDatastore, nativeErrors},
		{"DELETE /api/v1/workspaces/{ws}/datastores/{name}", hangar.ActDatastoreDelete, scopeWorkspace, s.deleteDatastore, nativeErrors},
		{"GET /api/v1/workspaces/{ws}/data", hangar.ActDataRead, scopeWorkspace, s.listData, nativeErrors},
		{"GET /api/v1/workspaces/{ws}/data/{name}/versions", hangar.ActDataRead, scopeWorkspace, s.listDataVersions, nativeErrors},
		{"POST /api/v1/workspaces/{ws}/data/{name}/versions", hangar.ActDataWrite, scopeWorkspace, s.createDataVersion, nativeErrors},
		{"GET /api/v1/workspaces/{ws}/data/{name}/versions/{version}", hangar.ActDataRead, scopeWorkspace, s.getDataVersion, nativeErrors},
		{"POST /api/v1/workspaces/{ws}/data/{name}/versions/{version}/archive", hangar.ActDataWrite, scopeWorkspace, s.archiveDataVersion, nativeErrors},
		{"POST /api/v1/workspaces/{ws}/data/{name}/versions/{version}/restore", hangar.ActDataWrite, scopeWorkspace, s.restoreDataVersion, nativeErrors},
		// Sharing also takes artifacts/read here and data/write on the target (data.go).
		{"POST /api/v1/workspaces/{ws}/data/{name}/versions/{version}/share", hangar.ActDataRead, scopeWorkspace, s.shareDataVersion, nativeErrors},

		{"GET /api/v1/workspaces/{ws}/experiments", hangar.ActExperimentRead, scopeWorkspace, s.listExperiments, nativeErrors},
		{"GET /api/v1/workspaces/{ws}/experiments/{id}", hangar.ActExperimentRead, scopeWorkspace, s.getExperiment, nativeErrors},
		{"GET /api/v1/workspaces/{ws}/runs", hangar.ActRunRead, scopeWorkspace, s.listRuns, nativeErrors},
		{"GET /api/v1/workspaces/{ws}/runs/{id}", hangar.ActRunRead, scopeWorkspace, s.getRun, nativeErrors},
		// A model version's lineage (lineage.go), over the registry, runs and jobs.
		{"GET /api/v1/workspaces/{ws}/models/{name}/versions/{version}/lineage", hangar.ActModelRead, scopeWorkspace, s.getModelLineage, nativeErrors},
		// Sharing (share.go): read on the source here; artifacts/read on
		// it and <kind>/write on the target in the handler.
		{"POST /api/v1/workspaces/{ws}/models/{name}/versions/{version}/share", hangar.ActModelRead, scopeWorkspace, s.shareModelVersion, nativeErrors},
		{"POST /api/v1/workspaces/{ws}/components/{name}/versions/{version}/share", hangar.ActComponentRead, scopeWorkspace, s.shareComponent, nativeErrors},
		{"POST /api/v1/workspaces/{ws}/environments/{name}/versions/{version}/share", hangar.ActEnvironmentRead, scopeWorkspace, s.shareEnvironment, nativeErrors},
		{"GET /api/v1/workspaces/{ws}/data/{name}/versions/{version}/models", hangar.ActModelRead, scopeWorkspace, s.getDataModels, nativeErrors},
		{"DELETE /api/v1/workspaces/{ws}/runs/{id}", hangar.ActRunDelete, scopeWorkspace, s.deleteRun, nativeErrors},

		// Jobs (job.go); the runner's lease, finish and log appends are
		// jobs/write, as what it does is changing the job.
		{"POST /api/v1/workspaces/{ws}/jobs", hangar.ActJobWrite, scopeWorkspace, s.submitJob, nativeErrors},
		{"GET /api/v1/workspaces/{ws}/jobs", hangar.ActJobRead, scopeWorkspace, s.listJobs, nativeErrors},
		{"GET /api/v1/workspaces/{ws}/jobs/{name}", hangar.ActJobRead, scopeWorkspace, s.getJob, nativeErrors},
		{"POST /api/v1/workspaces/{ws}/jobs/{name}/cancel", hangar.ActJobWrite, scopeWorkspace, s.cancelJob, nativeErrors},
		{"POST /api/v1/workspaces/{ws}/jobs/{name}/archive", hangar.ActJobWrite, scopeWorkspace, s.archiveJob, nativeErrors},
		{"POST /api/v1/workspaces/{ws}/jobs/{name}/restore", hangar.ActJobWrite, scopeWorkspace, s.restoreJob, nativeErrors},
		{"GET /api/v1/workspaces/{ws}/jobs/{name}/logs", hangar.ActJobRead, scopeWorkspace, s.readJobLog, nativeErrors},
		{"POST /api/v1/workspaces/{ws}/jobs/{name}/logs", hangar.ActJobWrite, scopeWorkspace, s.appendJobLog, nativeErrors},
		{"POST /api/v1/workspaces/{ws}/jobs/{name}/lease", hangar.ActJobWrite, scopeWorkspace, s.leaseJob, nativeErrors},
		{"POST /api/v1/workspaces/{ws}/jobs/{name}/finish", hangar.ActJobWrite, scopeWorkspace, s.finishJob, nativeErrors},
		{"GET /api/v1/workspaces/{ws}/environments", hangar.ActEnvironmentRead, scopeWorkspace, s.listEnvironments, nativeErrors},
		{"GET /api/v1/workspaces/{ws}/environments/{name}/versions", hangar.ActEnvironmentRead, scopeWorkspace, s.listEnvironmentVersions, nativeErrors},
		{"POST /api/v1/workspaces/{ws}/environments/{name}/versions", hangar.ActEnvironmentWrite, scopeWorkspace, s.createEnvironment, nativeErrors},
		{"GET /api/v1/workspaces/{ws}/environments/{name}/versions/{version}", hangar.ActEnvironmentRead, scopeWorkspace, s.getEnvironment, nativeErrors},
		{"GET /api/v1/workspaces/{ws}/environments/{name}/latest", hangar.ActEnvironmentRead, scopeWorkspace, s.latestEnvironment, nativeErrors},
		{"POST /api/v1/workspaces/{ws}/environments/{name}/versions/{version}/archive", hangar.ActEnvironmentWrite, scopeWorkspace, s.archiveEnvironment, nativeErrors},
		{"POST /api/v1/workspaces/{ws}/environments/{name}/versions/{version}/restore", hangar.ActEnvironmentWrite, scopeWorkspace, s.restoreEnvironment, nativeErrors},

		{"GET /api/v1/workspaces/{ws}/components", hangar.ActComponentRead, scopeWorkspace, s.listComponents, nativeErrors},
		{"GET /api/v1/workspaces/{ws}/components/{name}/versions", hangar.ActComponentRead, scopeWorkspace, s.listComponentVersions, nativeErrors},
		{"POST /api/v1/workspaces/{ws}/components/{name}/versions", hangar.ActComponentWrite, scopeWorkspace, s.createComponent, nativeErrors},
		{"GET /api/v1/workspaces/{ws}/components/{name}/versions/{version}", hangar.ActComponentRead, scopeWorkspace, s.getComponent, nativeErrors},
		{"GET /api/v1/workspaces/{ws}/components/{name}/latest", hangar.ActComponentRead, scopeWorkspace, s.latestComponent, nativeErrors},
		{"POST /api/v1/workspaces/{ws}/components/{name}/versions/{version}/archive", hangar.ActComponentWrite, scopeWorkspace, s.archiveComponent, nativeErrors},
		{"POST /api/v1/workspaces/{ws}/components/{name}/versions/{version}/restore", hangar.ActComponentWrite, scopeWorkspace, s.restoreComponent, nativeErrors},

		// Approvals (approval.go): reading takes models/read, asking
		// models/write, protecting approvals/write (Owner), deciding
		// approvals/approve (Owner, Approver).
		{"GET /api/v1/workspaces/{ws}/protected-aliases", hangar.ActModelRead, scopeWorkspace, s.listProtectedAliases, nativeErrors},
		{"GET /api/v1/workspaces/{ws}/protected-aliases/{alias}", hangar.ActModelRead, scopeWorkspace, s.getProtectedAlias, nativeErrors},
		{"PUT /api/v1/workspaces/{ws}/protected-aliases/{alias}", hangar.ActApprovalWrite, scopeWorkspace, s.protectAlias, nativeErrors},
		{"DELETE /api/v1/workspaces/{ws}/protected-aliases/{alias}", hangar.ActApprovalWrite, scopeWorkspace, s.unprotectAlias, nativeErrors},
		{"POST /api/v1/workspaces/{ws}/approvals", hangar.ActModelWrite, scopeWorkspace, s.requestApproval, nativeErrors},
		{"GET /api/v1/workspaces/{ws}/approvals", hangar.ActModelRead, scopeWorkspace, s.listApprovals, nativeErrors},
		{"GET /api/v1/workspaces/{ws}/approvals/{id}", hangar.ActModelRead, scopeWorkspace, s.getApproval, nativeErrors},
		{"POST /api/v1/workspaces/{ws}/approvals/{id}/approve", hangar.ActApprovalApprove, scopeWorkspace, s.approveApproval, nativeErrors},
		{"POST /api/v1/workspaces/{ws}/approvals/{id}/reject", hangar.ActApprovalApprove, scopeWorkspace, s.rejectApproval, nativeErrors},
		// Schedules (schedule.go): creating, changing and triggering also
		// take jobs/write, checked by the handler.
		{"POST /api/v1/workspaces/{ws}/schedules", hangar.ActScheduleWrite, scopeWorkspace, s.createSchedule, nativeErrors},
		{"GET /api/v1/workspaces/{ws}/schedules", hangar.ActScheduleRead, scopeWorkspace, s.listSchedules, nativeErrors},
		{"GET /api/v1/workspaces/{ws}/schedules/{name}", hangar.ActScheduleRead, scopeWorkspace, s.getSchedule, nativeErrors},
		{"PUT /api/v1/workspaces/{ws}/schedules/{name}", hangar.ActScheduleWrite, scopeWorkspace, s.updateSchedule, nativeErrors},
		{"DELETE /api/v1/workspaces/{ws}/schedules/{name}", hangar.ActScheduleDelete, scopeWorkspace, s.deleteSchedule, nativeErrors},
		{"POST /api/v1/workspaces/{ws}/schedules/{name}/enable", hangar.ActScheduleWrite, scopeWorkspace, s.enableSchedule, nativeErrors},
		{"POST /api/v1/workspaces/{ws}/schedules/{name}/disable", hangar.ActScheduleWrite, scopeWorkspace, s.disableSchedule, nativeErrors},
		{"POST /api/v1/workspaces/{ws}/schedules/{name}/trigger", hangar.ActScheduleWrite, scopeWorkspace, s.triggerSchedule, nativeErrors},
	}
	// MLflow's REST API: each endpoint, with its action, under every MLflow
	// prefix (mlflowRoutes), and MLflow 3's workspaces list.
	rs = append(rs, mlflowRoutes(s.mlflowTrackingEndpoints()...)...)
	rs = append(rs, s.mlflowWorkspaceRoutes()...)
	// The model registry over MLflow's API (mlflow_registry.go):
	// models/read, models/write and models/delete on the workspace.
	rs = append(rs, s.mlflowRegistryRoutes()...)
	// MLflow 3.x's logged models and runs/outputs (mlflow_logged_models.go):
	// runs/read, runs/write and runs/delete, as the runs they come from.
	rs = append(rs, mlflowRoutes(s.mlflowLoggedModelEndpoints()...)...)
	// MLflow's artifact proxy and artifacts/list (mlflow_artifacts.go).
	rs = append(rs, mlflowRoutes(s.mlflowArtifactEndpoints()...)...)
	rs = append(rs, s.onlineEndpointRoutes()...)
	rs = append(rs, s.batchEndpointRoutes()...)
	// The web UI's pages (ui.go).
	rs = append(rs, s.uiRoutes()...)
	rs = append(rs, s.uiModelRoutes()...)
	return rs
}

// metricsRoute serves /metrics: publicly, or with MetricsAuth to callers
// holding metrics/read server-wide.
func (s *Server) metricsRoute() route {
	if s.MetricsAuth {
		return route{"GET /metrics", hangar.ActMetricsRead, scopeServer, s.metrics, nativeErrors}
	}
	return route{"GET /metrics", "", scopePublic, s.metrics, nativeErrors}
}

// checkRoutes refuses a route table that breaks the rules the wrapper relies
// on, so that a mistake in a new route stops the server from starting
// rather than leaving a route open.
func checkRoutes(routes []route) error {
	seen := map[string]bool{}
	for _, rt := range routes {
		switch {
		case seen[rt.pattern]:
			return fmt.Errorf("route %s is declared twice", rt.pattern)
		case rt.fn == nil:
			return fmt.Errorf("route %s has no handler", rt.pattern)
		case rt.scope <= scopeUnset || rt.scope > scopeAnywhere:
			return fmt.Errorf("route %s has no scope: say where its action is authorized", rt.pattern)
		case rt.scope == scopePublic && rt.action != "":
			return fmt.Errorf("public route %s names action %q, which nothing would check", rt.pattern, rt.action)
		case rt.scope != scopePublic && !hangar.IsAction(rt.action):
			return fmt.Errorf("route %s names action %q, which package hangar does not declare", rt.pattern, rt.action)
		case rt.errors != nativeErrors && rt.errors != mlflowErrors && rt.errors != htmlErrors:
			return fmt.Errorf("route %s has an unknown error style %d", rt.pattern, rt.errors)
		}
		_, path, _ := strings.Cut(rt.pattern, " ")
		if isMLflowPath(path) && rt.errors != mlflowErrors {
			return fmt.Errorf("route %s serves the MLflow API but answers errors in the native envelope", rt.pattern)
		}
		seen[rt.pattern] = true
	}
	return nil
}

// Handler returns the HTTP handler with every route and the middleware. It
// fills in defaults for unset fields (Logger, Now, limits) and registers the
// HTTP metrics on s.Registerer. It panics when Blobs is set without
// BlobIndex (that is a wiring mistake, and serving uploads nobody audits is
// worse than not starting) and when the route table breaks its rules
// (checkRoutes).
//
// Serve it with NewHTTPServer: blob streams extend the connection deadlines
// that server sets, by the Timeouts it was given.
func (s *Server) Handler() http.Handler {
	if s.Blobs != nil && s.BlobIndex == nil {
		panic("httpapi: Server.Blobs is set but Server.BlobIndex is nil: artifact uploads would not be audited nor owned by their workspace; set BlobIndex (sqlstore.NewBlobIndex)")
	}
	routes := s.routes()
	if err := checkRoutes(routes); err != nil {
		panic("httpapi: " + err.Error())
	}
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.MaxBodyBytes <= 0 {
		s.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if s.MaxBlobBytes <= 0 {
		s.MaxBlobBytes = DefaultMaxBlobBytes
	}
	mux := http.NewServeMux()
	for _, rt := range routes {
		mux.Handle(rt.pattern, s.wrap(rt))
	}
	return s.middleware(mux)
}

// wrap adapts an apiFunc: it checks the parameters, authenticates the
// caller and authorizes the route's action on its scope (unless the route is
// public), runs the handler and writes any error it returns in the route's
// error style.
func (s *Server) wrap(rt route) http.Handler {
	wildcards := wildcardsOf(rt.pattern)
	inPath := slices.Contains(wildcards, "ws")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if st := stateFrom(r.Context()); st != nil {
			st.errors = rt.errors
		}
		if err := checkParams(r, wildcards); err != nil {
			s.writeError(w, r, err)
			return
		}
		c := &caller{}
		if rt.scope != scopePublic {
			if rt.errors == htmlErrors {
				// A page of the web UI: the browser's token is in the
				// UI's cookie, which authenticates these pages only.
				r = uiCredential(r)
			}
			p, err := s.authenticate(r)
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			ctx := hangar.WithActor(r.Context(), hangar.Actor{IdentityID: p.id, Name: p.name})
			r = r.WithContext(ctx)
			if st := stateFrom(ctx); st != nil {
				st.actor = p.name
			}
			c.principal = p
			if err := s.authorize(r, rt, inPath, c); err != nil {
				s.writeError(w, r, err)
				return
			}
		}
		if err := rt.fn(w, r, c); err != nil {
			s.writeError(w, r, err)
		}
	})
}

var wildcardRE = regexp.MustCompile(`\{([A-Za-z0-9_]+)(\.\.\.)?\}`)

// wildcardsOf returns the names of the wildcards of a route pattern.
func wildcardsOf(pattern string) []string {
	var names []string
	for _, m := range wildcardRE.FindAllStringSubmatch(pattern, -1) {
		names = append(names, m[1])
	}
	return names
}

// checkParams refuses, before anything else looks at the request, a query
// string that does not parse and any decoded path value, query key or query
// value that holds a NUL or invalid UTF-8. Such text is never a valid name,
// filter or token; refusing it here, with 400 naming the parameter, keeps it
// from reaching a store, where PostgreSQL fails on it and SQLite does not.
func checkParams(r *http.Request, wildcards []string) error {
	for _, name := range wildcards {
		if err := hangar.ValidateText(fmt.Sprintf("path parameter {%s}", name), r.PathValue(name), math.MaxInt); err != nil {
			return err
		}
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return hangar.Errorf(hangar.EINVALID, "invalid query string: %s", strings.TrimPrefix(err.Error(), "invalid "))
	}
	for k, vs := range q {
		if err := hangar.ValidateText("query parameter name", k, math.MaxInt); err != nil {
			return err
		}
		for _, v := range vs {
			if err := hangar.ValidateText(fmt.Sprintf("query parameter %q", k), v, math.MaxInt); err != nil {
				return err
			}
		}
	}
	return nil
}

// requestState is shared between the middleware and the route wrapper of one
// request, so the access log can name the caller and the error code.
type requestState struct {
	actor     string
	errorCode string
	errors    errorStyle // of the matched route, or of the path when none matched
	// identity is the identity of the token the request presented, noted
	// as soon as the token is found (noteIdentity), so that a refusal of an
	// expired or revoked token is counted against its identity.
	identity string
	// refusal names why a request was refused when the error code does
	// not say it precisely enough ("host_not_loopback").
	refusal string
	// clientClosed marks a request the client cancelled: nothing is
	// answered, and it is counted and logged with status 499.
	clientClosed bool
	// body is the request body, nil when the request has none.
	body *trackedBody
}

type stateKey struct{}

func stateFrom(ctx context.Context) *requestState {
	st, _ := ctx.Value(stateKey{}).(*requestState)
	return st
}

// noteIdentity tells the middleware whose token the request presented,
// before that token is found good or bad.
func noteIdentity(r *http.Request, name string) {
	if st := stateFrom(r.Context()); st != nil {
		st.identity = name
	}
}

// trackedBody remembers whether the handler read the request body to its end.
type trackedBody struct {
	io.ReadCloser
	eof bool
}

func (b *trackedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.eof = true
	}
	return n, err
}

// statusClientClosed is nginx's "client closed request": the status the
// metrics and the access log give a request whose client went away before
// it was answered. It is never sent.
const statusClientClosed = 499

// httpMetrics are the request counters and latencies by route pattern,
// method and status code, and the refusals by reason and identity.
type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	refused  *prometheus.CounterVec
}

func (s *Server) newMetrics() *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hangar_http_requests_total",
			Help: "HTTP requests served, by route pattern, method and status code (499: the client went away first).",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "hangar_http_request_duration_seconds",
			Help:    "Time to serve HTTP requests, by route pattern, method and status code.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route", "method", "code"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hangar_http_refused_total",
			Help: `Requests refused with 401 or 403, by reason and by the identity of the token ("anonymous" when there is none or it is unknown).`,
		}, []string{"reason", "identity"}),
	}
	if s.Registerer == nil {
		return m
	}
	m.requests = register(s.Registerer, m.requests)
	m.duration = register(s.Registerer, m.duration)
	m.refused = register(s.Registerer, m.refused)
	return m
}

// register registers c, or returns the collector already registered under
// its name, so that calling Handler twice on one registry works.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic(fmt.Sprintf("httpapi: register metrics: %v", err))
	}
	return c
}

// unmatchedRoute labels requests that match no pattern, so that scanning
// random paths cannot grow the metric's cardinality.
const unmatchedRoute = "unmatched"

// middleware assigns the request id, recovers panics, logs each request once
// and records metrics. Before any route runs it refuses, with a JSON error,
// a path that is not canonical and, when authentication is disabled, a
// request a web page could have sent (checkLocalRequest). Requests that match
// no route get a JSON 404 or 405.
func (s *Server) middleware(mux *http.ServeMux) http.Handler {
	m := s.newMetrics()
	refusals := &refusalLog{seen: map[string]*refusalEntry{}}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rid := requestIDOf(r)
		w.Header().Set("X-Request-Id", rid)
		st := &requestState{}
		if r.Body != nil && r.Body != http.NoBody {
			st.body = &trackedBody{ReadCloser: r.Body}
			r.Body = st.body
		}
		ctx := hangar.WithRequestID(r.Context(), rid)
		ctx = context.WithValue(ctx, stateKey{}, st)
		r = r.WithContext(ctx)

		sw := &statusWriter{ResponseWriter: w}
		var out http.ResponseWriter = sw
		routeLabel := unmatchedRoute
		early := checkCanonicalPath(r)
		if early == nil {
			_, pattern := mux.Handler(r)
			if pattern != "" {
				routeLabel = pattern
			} else {
				st.errors = errorStyleOfPath(r.URL.Path)
				out = &fallbackWriter{statusWriter: sw, s: s, r: r}
			}
			if s.AuthDisabled {
				early = checkLocalRequest(r)
			}
		}
		if early != nil {
			st.errors = errorStyleOfPath(r.URL.Path)
		}

		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.Logger.ErrorContext(ctx, "panic serving request",
					slog.String("request_id", rid),
					slog.String("route", routeLabel),
					slog.Any("panic", v),
					slog.String("stack", string(debug.Stack())))
				if !sw.wroteHeader {
					writeEnvelope(sw, st.errors, errorAnswerOf(hangar.EINTERNAL), internalMessage(rid))
				}
				st.errorCode = hangar.EINTERNAL
			}
			status := sw.status
			switch {
			case st.clientClosed:
				status = statusClientClosed
			case !sw.wroteHeader:
				status = http.StatusOK
			}
			d := time.Since(start)
			code := strconv.Itoa(status)
			m.requests.WithLabelValues(routeLabel, r.Method, code).Inc()
			m.duration.WithLabelValues(routeLabel, r.Method, code).Observe(d.Seconds())
			attrs := []slog.Attr{
				slog.String("method", r.Method),
				slog.String("route", routeLabel),
				slog.Int("status", status),
				slog.Duration("duration", d),
				slog.Int64("bytes", sw.bytes),
				slog.String("request_id", rid),
			}
			if st.actor != "" {
				attrs = append(attrs, slog.String("actor", st.actor))
			}
			if st.errorCode != "" {
				attrs = append(attrs, slog.String("error_code", st.errorCode))
			}
			s.Logger.LogAttrs(ctx, slog.LevelInfo, "http request", attrs...)
			if st.errorCode == hangar.EUNAUTHORIZED || st.errorCode == hangar.EFORBIDDEN {
				s.countRefusal(ctx, m, refusals, r, st, routeLabel)
			}
		}()
		if early != nil {
			s.writeError(sw, r, early)
			return
		}
		mux.ServeHTTP(out, r)
	})
}

// countRefusal counts a 401 or 403 by reason and identity, and logs it
// unless that identity's refusals were logged less than refusalLogEvery ago:
// a client retrying a bad token thousands of times a minute costs one log
// line a minute, while the counter keeps every one.
func (s *Server) countRefusal(ctx context.Context, m *httpMetrics, l *refusalLog, r *http.Request, st *requestState, route string) {
	identity := cmp.Or(st.actor, st.identity, "anonymous")
	reason := st.refusal
	switch {
	case reason != "":
	case st.errorCode == hangar.EFORBIDDEN:
		reason = "forbidden"
	case st.identity != "":
		reason = "inactive_token" // expired or revoked
	case r.Header.Get("Authorization") == "":
		reason = "missing_token"
	default:
		reason = "invalid_token"
	}
	m.refused.WithLabelValues(reason, identity).Inc()
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	held, ok := l.admit(identity, now())
	if !ok {
		return
	}
	s.Logger.LogAttrs(ctx, slog.LevelWarn, "request refused",
		slog.String("identity", identity),
		slog.String("reason", reason),
		slog.String("method", r.Method),
		slog.String("route", route),
		slog.String("request_id", hangar.RequestIDFrom(ctx)),
		slog.Int("not_logged_since_last", held))
}

// refusalLogEvery is the least time between two log lines about one
// identity's refused requests.
const refusalLogEvery = time.Minute

// refusalLog decides which refusals are logged: at most one line per
// identity per refusalLogEvery. It forgets identities not logged for that
// long once it holds maxRefusalIdentities of them, so its size is bounded
// by the identities refused within a minute.
type refusalLog struct {
	mu   sync.Mutex
	seen map[string]*refusalEntry
}

type refusalEntry struct {
	logged time.Time // when the identity's last line was written
	held   int       // refusals not logged since
}

const maxRefusalIdentities = 10000

// admit reports whether a refusal of identity at now is logged and, if so,
// how many of its refusals were held back since its last line.
func (l *refusalLog) admit(identity string, now time.Time) (held int, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.seen[identity]
	if e != nil && now.Sub(e.logged) < refusalLogEvery {
		e.held++
		return 0, false
	}
	if e == nil {
		if len(l.seen) >= maxRefusalIdentities {
			for k, old := range l.seen {
				if now.Sub(old.logged) >= refusalLogEvery {
					delete(l.seen, k)
				}
			}
		}
		e = &refusalEntry{}
		l.seen[identity] = e
	}
	held = e.held
	e.logged, e.held = now, 0
	return held, true
}

// checkCanonicalPath refuses a path the router would redirect to its clean
// form (empty, "." or ".." segments): a JSON client gains nothing from an
// HTML redirect, and following one can move a request to another route.
func checkCanonicalPath(r *http.Request) error {
	if r.Method == http.MethodConnect {
		return nil
	}
	p := r.URL.EscapedPath()
	if clean := cleanPath(p); clean != p {
		return hangar.Errorf(hangar.EINVALID, "path %q is not canonical: it has empty, \".\" or \"..\" segments (its clean form is %q)",
			truncate(p, 256), truncate(clean, 256))
	}
	return nil
}

// cleanPath is net/http's canonical form of a path, as ServeMux computes it
// before redirecting: rooted, without empty, "." and ".." segments, keeping
// a trailing slash.
func cleanPath(p string) string {
	if p == "" {
		return "/"
	}
	if p[0] != '/' {
		p = "/" + p
	}
	np := path.Clean(p)
	if p[len(p)-1] == '/' && np != "/" {
		if len(p) == len(np)+1 && strings.HasPrefix(p, np) {
			np = p
		} else {
			np += "/"
		}
	}
	return np
}

// checkLocalRequest guards a server without authentication against web
// pages, which a browser lets send requests to it: the Host must be a
// loopback name, so a page served from an attacker's domain that resolves
// to 127.0.0.1 (DNS rebinding) is refused; and a POST must declare a JSON
// or octet-stream content type, which a browser does not send to another
// site without a CORS preflight that this server never grants (text/plain,
// form and multipart POSTs it sends freely). PUT, PATCH and DELETE always
// take a preflight in a browser, whatever their type, so they keep the
// type their client gives: MLflow's client uploads an artifact with the
// file's own (text/plain for a .txt).
func checkLocalRequest(r *http.Request) error {
	if !isLoopbackHost(r.Host) {
		if st := stateFrom(r.Context()); st != nil {
			st.refusal = "host_not_loopback"
		}
		return hangar.Errorf(hangar.EFORBIDDEN, "host %q is not a loopback name: with authentication disabled the server answers only requests to localhost, 127.0.0.1 or [::1]", truncate(r.Host, 256))
	}
	if r.Method != http.MethodPost && (r.ContentLength == 0 || r.Method != http.MethodGet && r.Method != http.MethodHead) {
		return nil
	}
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err == nil && (mt == "application/json" || mt == "application/octet-stream" ||
		(strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))) {
		return nil
	}
	return hangar.Errorf(hangar.EINVALID, "content type %q refused: with authentication disabled, a POST must declare application/json (application/octet-stream for uploads), which a web page cannot send to this server", truncate(ct, 256))
}

// isLoopbackHost reports whether a Host header, with or without a port,
// names this machine: localhost, or a loopback address (127.0.0.0/8, ::1).
func isLoopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	} else if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// statusWriter remembers the status and counts the body bytes.
type statusWriter struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
	bytes       int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.wroteHeader {
		return
	}
	w.status, w.wroteHeader = code, true
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// written reports whether the status is out, after which an error can no
// longer be answered with an envelope.
func (w *statusWriter) written() bool { return w.wroteHeader }

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// fallbackWriter replaces the plain-text 404 and 405 answers of the mux with
// JSON envelopes, in the error style of the path (errorStyleOfPath); the
// mux's own body is dropped.
type fallbackWriter struct {
	*statusWriter
	s        *Server
	r        *http.Request
	replaced bool
}

func (w *fallbackWriter) WriteHeader(code int) {
	switch code {
	case http.StatusNotFound:
		w.replaced = true
		w.s.answer(w.statusWriter, w.r, noRoute, fmt.Sprintf("no route for %s %s", w.r.Method, w.r.URL.Path))
	case http.StatusMethodNotAllowed:
		w.replaced = true
		w.s.answer(w.statusWriter, w.r, hangar.EMETHODNOTALLOWED, fmt.Sprintf("method %s is not allowed on %s; allowed: %s",
			w.r.Method, w.r.URL.Path, w.Header().Get("Allow")))
	default:
		w.statusWriter.WriteHeader(code)
	}
}

func (w *fallbackWriter) Write(b []byte) (int, error) {
	if w.replaced {
		return len(b), nil
	}
	return w.statusWriter.Write(b)
}

// requestIDOf accepts the caller's request id when it is sane, so that a
// client can correlate its logs with ours, and makes a fresh one otherwise.
func requestIDOf(r *http.Request) string {
	for _, h := range []string{"X-Request-Id", "X-Ms-Client-Request-Id"} {
		if v := r.Header.Get(h); hangar.ValidRequestID(v) {
			return v
		}
	}
	return hangar.NewID()
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request, _ *caller) error {
	return writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request, _ *caller) error {
	if s.Ready != nil {
		if err := s.Ready(r.Context()); err != nil {
			// The cause stays in our log: /readyz is public.
			s.Logger.WarnContext(r.Context(), "not ready",
				slog.String("request_id", hangar.RequestIDFrom(r.Context())),
				slog.String("error", err.Error()))
			return hangar.Errorf(hangar.EUNAVAILABLE, "server is not ready")
		}
	}
	return writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func (s *Server) metrics(w http.ResponseWriter, r *http.Request, _ *caller) error {
	if s.Gatherer == nil {
		return hangar.Errorf(hangar.ENOTIMPLEMENTED, "metrics are not enabled on this server")
	}
	promhttp.HandlerFor(s.Gatherer, promhttp.HandlerOpts{}).ServeHTTP(w, r)
	return nil
}
