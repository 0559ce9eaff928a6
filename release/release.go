// Package release is the release controller of online endpoints: it keeps
// the data plane (one serving.Gateway per workspace) in step with the
// control plane (the stored endpoints, deployments and keys).
//
// Service wraps the store's hangar.EndpointService and implements it
// itself: every change goes to the store first — the store checks, audits
// and decides — and only then to the workspace's gateway, so the data
// plane never runs ahead of what was recorded. Deploy and Redeploy store
// the deployment and roll it out in the background: the model (and code)
// are materialised from the blob store, a script runner is started when
// the model needs Python, the gateway loads and smoke-tests it, and only
// then does the deployment become Succeeded — or Failed with the reason,
// traffic untouched. ServeHTTP answers the scoring routes of every
// workspace by handing each request to that workspace's gateway.
//
// The gateways keep nothing but memory: Replay rebuilds them from the
// store at server start.
package release

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/endpointauth"
	"github.com/hangar-ml/hangar/serving"
)

// Workspaces lists the workspaces Replay restores (hangar.WorkspaceService
// has this method).
type Workspaces interface {
	ListWorkspaces(ctx context.Context, opt hangar.ListOptions) (*hangar.Page[*hangar.Workspace], error)
}

// DataVersions registers captured data as data asset versions
// (hangar.DataService has this method).
type DataVersions interface {
	CreateDataVersion(ctx context.Context, workspace string, a *hangar.DataAsset) (*hangar.DataAsset, error)
}

// ScriptConfig is what a script runner is started with: an Azure scoring
// script (CodeDir + ScoringScript) or, with ScoringScript empty, an MLflow
// model folder of a flavor Hangar does not serve natively (ModelDir, run
// through its python_function flavor).
type ScriptConfig struct {
	CodeDir       string
	ScoringScript string // a .py path inside CodeDir; "" for an MLflow pyfunc folder
	ModelDir      string // AZUREML_MODEL_DIR of a scoring script
	Workers       int    // the deployment's instance_count
	Env           map[string]string
	// RequestTimeout bounds one request in a worker.
	RequestTimeout time.Duration
}

// Scripts starts script runners (in `hangar server`, pools of Python
// worker processes). A runner that also has `Logs(n int) []string`
// contributes its workers' output to Service.Logs.
type Scripts interface {
	StartScript(ctx context.Context, cfg ScriptConfig) (serving.ScriptRunner, error)
}

// logSource is the optional capability of a script runner that keeps its
// workers' last output lines.
type logSource interface {
	Logs(n int) []string
}

// Service is the release controller. Set its fields, Open it, serve it
// (ServeHTTP) and Close it. Make it with New.
type Service struct {
	// Store is where endpoints, deployments and keys are kept (sqlstore).
	Store hangar.EndpointService
	// Workspaces lists the workspaces for Replay.
	Workspaces Workspaces
	// Blobs holds the model and code folders that deployment specs name
	// by manifest digest (ModelDigest, CodeDigest), and takes captured data.
	Blobs hangar.BlobStore
	// Data registers captured data as data asset versions; nil turns
	// capture off.
	Data DataVersions
	// Dir is the staging folder: model and code folders by digest,
	// shared by deployments, and capture files waiting for their window
	// to close.
	Dir string
	// Scripts starts the runners of scoring scripts and of MLflow folders
	// Hangar does not serve natively; nil: such deployments fail.
	Scripts Scripts
	// TokenKey signs and checks aml_token tokens:
	// seal.DeriveKey(kek, endpointauth.Purpose). Empty: Token fails and
	// aml_token endpoints refuse every call.
	TokenKey []byte
	// Load opens a model folder for the native runtime (default
	// serving.LoadModel); ENOTIMPLEMENTED sends the folder to a script
	// runner.
	Load func(dir string) (serving.Model, error)
	// Logger receives what goes wrong in the background. Default: discard.
	Logger *slog.Logger
	// Registerer receives every gateway's metrics, labelled with the
	// workspace. Nil: not registered.
	Registerer prometheus.Registerer
	// Now is the clock (capture windows, tokens); default time.Now.
	Now func() time.Time
	// DeployTimeout bounds one background rollout (default 15 min).
	DeployTimeout time.Duration
	// CaptureInterval is how often the gateways hand captured records on
	// and the capture windows are checked for closing (default 1 s).
	CaptureInterval time.Duration
	// FollowInterval is how often the service reads the store's serving
	// generation to follow the changes other servers sharing the store
	// make (follow.go); 0 follows none: the data plane then changes only
	// through this service and Replay. Following needs a Store with
	// ServingGeneration (Generations) and Workspaces.
	FollowInterval time.Duration

	ctx    context.Context // the service's lifetime: background rollouts
	cancel context.CancelFunc
	bg     sync.WaitGroup

	mu       sync.Mutex // guards the maps below and orders gateway changes
	gws      atomic.Pointer[map[string]*serving.Gateway]
	sinks    map[string]*collector
	keys     map[string]hangar.EndpointKeys    // workspace/endpoint → keys, as the gateway has them
	applied  map[string]serving.EndpointConfig // workspace/endpoint → what the gateway has
	deps     map[string]*depState              // workspace/endpoint/deployment
	none     *serving.Gateway                  // answers for unknown workspaces: its 404s
	opened   bool
	rollDone chan struct{}
	stage    staging // who uses each staged model and code folder (deploy.go)
	// marks: workspace/endpoint → the stored row the gateway was last
	// brought in step with, traffic included (follow.go).
	marks map[string]mark
	// followMu makes Replay and the reconciles of following take turns.
	followMu   sync.Mutex
	followDone chan struct{} // closed when the follow loop ends; nil: none
	followGen  int64         // the serving generation of the last reconcile; s.mu
	followed   bool          // a reconcile succeeded (followGen is set); s.mu
	resync     bool          // reconcile at the next tick whatever the generation; s.mu
	// retries: workspace/endpoint → when following reconciles it alone
	// again (a failed reconcile, a follower rollout to retry); s.mu.
	retries map[string]retry
	// followers counts the follower rollouts in progress (tests wait).
	followers sync.WaitGroup
	// closeUpload bounds Close's upload of the open capture windows
	// (default closeUploadTimeout); tests shorten it.
	closeUpload time.Duration
}

var _ hangar.EndpointService = (*Service)(nil)

// New returns a Service over store with default settings.
func New(store hangar.EndpointService) *Service {
	return &Service{
		Store:           store,
		Load:            serving.LoadModel,
		Logger:          slog.New(slog.DiscardHandler),
		Now:             time.Now,
		DeployTimeout:   15 * time.Minute,
		CaptureInterval: time.Second,
		sinks:           map[string]*collector{},
		keys:            map[string]hangar.EndpointKeys{},
		applied:         map[string]serving.EndpointConfig{},
		deps:            map[string]*depState{},
		marks:           map[string]mark{},
		retries:         map[string]retry{},
	}
}

// Open prepares the staging folder and starts the background work; ctx
// bounds nothing but that work, which Close ends.
func (s *Service) Open(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.opened || s.ctx != nil {
		return hangar.Errorf(hangar.ECONFLICT, "release service is open already or was closed")
	}
	if s.Dir == "" {
		return hangar.Errorf(hangar.EINVALID, "release service: no staging folder (Dir)")
	}
	for _, d := range []string{"models", "code", "capture"} {
		if err := os.MkdirAll(filepath.Join(s.Dir, d), 0o700); err != nil {
			return err
		}
	}
	s.stage.removeTemporary(s.Dir)
	s.recoverCaptureLocked()
	s.ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	s.none = serving.NewGateway()
	if err := s.none.Open(s.ctx); err != nil {
		return err
	}
	empty := map[string]*serving.Gateway{}
	s.gws.Store(&empty)
	s.rollDone = make(chan struct{})
	go s.rollLoop()
	if gens, ok := s.Store.(Generations); ok && s.FollowInterval > 0 && s.Workspaces != nil {
		s.followDone = make(chan struct{})
		go s.followLoop(gens)
	}
	s.opened = true
	return nil
}

// Close stops the rollouts in progress, drains every gateway (in-flight
// requests are answered, script runners closed) and uploads the capture
// files of the windows still open, within closeUploadTimeout for all
// workspaces; windows waiting for a retry, and those the deadline cut
// off, stay on disk and are registered after the next start.
func (s *Service) Close() error {
	s.mu.Lock()
	if !s.opened {
		s.mu.Unlock()
		return nil
	}
	// Under s.mu: start checks the context and adds to s.bg under it too,
	// so no rollout starts once Wait may be waiting.
	s.cancel()
	s.opened = false
	s.mu.Unlock()
	s.bg.Wait()
	<-s.rollDone
	if s.followDone != nil {
		<-s.followDone
	}
	s.mu.Lock()
	gws := *s.gws.Load()
	sinks := s.sinks
	s.mu.Unlock()
	var first error
	for _, g := range gws {
		if err := g.Close(); err != nil && first == nil {
			first = err
		}
	}
	ctx, cancel := context.WithTimeoutCause(context.Background(), cmp.Or(s.closeUpload, closeUploadTimeout),
		errors.New("release: Close's time for capture uploads is up"))
	defer cancel()
	for ws := range gws {
		if c := sinks[ws]; c != nil {
			c.flush(ctx, true)
		}
	}
	_ = s.none.Close()
	return first
}

// rollLoop closes capture windows whose time is up.
func (s *Service) rollLoop() {
	defer close(s.rollDone)
	t := time.NewTicker(max(s.CaptureInterval, 10*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
		s.mu.Lock()
		sinks := make([]*collector, 0, len(s.sinks))
		for _, c := range s.sinks {
			sinks = append(sinks, c)
		}
		s.mu.Unlock()
		for _, c := range sinks {
			// Close cuts an upload in progress short: its window stays
			// on disk for the next start.
			c.flush(s.ctx, false)
		}
	}
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// gateway returns the workspace's gateway, creating and opening it on
// first use. s.mu held.
func (s *Service) gatewayLocked(ws string) (*serving.Gateway, error) {
	if !s.opened {
		return nil, hangar.Errorf(hangar.EUNAVAILABLE, "release service is not open")
	}
	if g := (*s.gws.Load())[ws]; g != nil {
		return g, nil
	}
	g := serving.NewGateway()
	g.Logger = s.Logger.With("workspace", ws)
	if s.Registerer != nil {
		g.Registerer = prometheus.WrapRegistererWith(prometheus.Labels{"workspace": ws}, s.Registerer)
	}
	g.Tokens = &endpointauth.Verifier{Key: s.TokenKey, Workspace: ws, Now: s.Now}
	g.CaptureInterval = s.CaptureInterval
	if s.Data != nil && s.Blobs != nil {
		g.Sink = s.collectorLocked(ws)
	}
	if err := g.Open(s.ctx); err != nil {
		return nil, err
	}
	old := *s.gws.Load()
	m := make(map[string]*serving.Gateway, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	m[ws] = g
	s.gws.Store(&m)
	return g, nil
}

const scorePrefix = "/api/v1/workspaces/"

// ServeHTTP answers /api/v1/workspaces/{ws}/endpoints/{name}/… from the
// workspace's gateway, which sees the path /endpoints/{name}/…: it checks
// the endpoint's key or token itself. An unknown workspace is answered as
// an unknown endpoint. It does no work but a path cut and one map read
// before the gateway: this is the path of every scoring request. The
// gateway answers /score and /invocations with the path cut
// (Gateway.ServeScoring); only other routes get a copy of the request
// with the cut path, for the gateway's mux.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g := s.none
	path, ok := gatewayPath(r.URL.Path)
	if m := s.gws.Load(); ok && m != nil {
		ws := r.URL.Path[len(scorePrefix) : len(r.URL.Path)-len(path)]
		if wg := (*m)[ws]; wg != nil {
			g = wg
		}
	}
	if !ok || g == nil {
		http.NotFound(w, r)
		return
	}
	if g.ServeScoring(w, r, path) {
		return
	}
	r2 := *r
	u := *r.URL
	u.Path = path
	u.RawPath = ""
	if rp, ok := gatewayPath(r.URL.RawPath); ok {
		u.RawPath = rp
	}
	r2.URL = &u
	g.ServeHTTP(w, &r2)
}

// IsScoringPath reports whether a server should hand a request for p to
// ServeHTTP without routing it itself: p is a clean path under
// /api/v1/workspaces/{ws}/endpoints/ — the paths a server's mux sends to
// ServeHTTP when it mounts it at that pattern, as `hangar server` does.
// Paths that are not clean (a mux would redirect them) are not taken.
func IsScoringPath(p string) bool {
	if _, ok := gatewayPath(p); !ok {
		return false
	}
	for i := 0; i < len(p); i++ {
		if p[i] != '/' {
			continue
		}
		// No empty, "." or ".." segment.
		seg := p[i+1:]
		if j := strings.IndexByte(seg, '/'); j >= 0 {
			seg = seg[:j]
		}
		if seg == "" && i+1 < len(p) || seg == "." || seg == ".." {
			return false
		}
	}
	return true
}

// gatewayPath returns the /endpoints/… part of a scoring path under the
// workspace prefix.
func gatewayPath(p string) (string, bool) {
	rest, ok := strings.CutPrefix(p, scorePrefix)
	if !ok {
		return "", false
	}
	i := strings.IndexByte(rest, '/')
	if i <= 0 || !strings.HasPrefix(rest[i:], "/endpoints/") {
		return "", false
	}
	return rest[i:], true
}
