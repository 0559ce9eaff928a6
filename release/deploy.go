package release

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/artifact"
	"github.com/hangar-ml/hangar/endpointauth"
	"github.com/hangar-ml/hangar/serving"
)

// Bounds of Logs.
const (
	DefaultLogLines = 100
	MaxLogLines     = 5000
	eventLines      = 200 // release events kept per deployment
)

func depKey(ws, endpoint, name string) string { return ws + "/" + endpoint + "/" + name }

// depState is what the service knows of one deployment beyond the store:
// its rollout in progress and its recent events.
type depState struct {
	run    sync.Mutex    // one rollout at a time
	gen    atomic.Uint64 // bumped by every new rollout and by deletion
	cancel context.CancelFunc

	mu     sync.Mutex
	events []string
	runner serving.ScriptRunner // the last one started, for its workers' logs
	held   []string             // the staged folders of the version on the gateway
	// served is the spec (JSON) of the version on the gateway, nil for
	// none.
	served []byte
	// Of follower rollouts (follow.go): failed is the identity (followID)
	// of a deployment that failed here in a way that always recurs, not
	// tried again; retryID the one that failed otherwise, tried again
	// from retryAt, retryDelay the backoff step after that.
	failed, retryID string
	retryAt         time.Time
	retryDelay      time.Duration

	// The fields below are guarded by Service.mu.
	//
	// leadingGen is the generation of a rollout that records its outcome
	// (Deploy, Redeploy), while it runs: a follower rollout does not
	// supersede it. Tied to the generation, it ends with that rollout or
	// with whatever superseded it (a deletion, Replay) — see leadingLocked.
	leadingGen uint64
	// leadAll and leadCreated are the leading rollout's allTraffic and
	// its deployment's CreatedAt (to restart it, takeOff).
	leadAll     bool
	leadCreated time.Time
	// followGen and followID are the generation and the deployment
	// (followID) of the follower rollout started last.
	followGen uint64
	followID  string
}

// leadingLocked reports whether a rollout that records its outcome is in
// progress. Service.mu held.
func (st *depState) leadingLocked() bool {
	return st.leadingGen != 0 && st.leadingGen == st.gen.Load()
}

// offGateway forgets the version on the gateway, which is gone.
func (st *depState) offGateway() {
	st.mu.Lock()
	st.served = nil
	st.mu.Unlock()
}

// supersede makes the rollout in progress, if any, stop and give way.
// Service.mu held.
func (st *depState) supersede() {
	st.gen.Add(1)
	if st.cancel != nil {
		st.cancel()
		st.cancel = nil
	}
}

func (st *depState) event(now time.Time, format string, args ...any) {
	line := now.UTC().Format(time.RFC3339) + " " + fmt.Sprintf(format, args...)
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(st.events) == eventLines {
		st.events = slices.Delete(st.events, 0, 1)
	}
	st.events = append(st.events, line)
}

// stateLocked returns the deployment's state, making it. s.mu held.
func (s *Service) stateLocked(k string) *depState {
	st := s.deps[k]
	if st == nil {
		st = &depState{}
		s.deps[k] = st
	}
	return st
}

// Deploy stores d (Creating) and rolls it out in the background, bounded
// by the service's lifetime rather than the request's: the model (and
// code) are materialised, a script runner started when needed, and the
// gateway loads and smoke-tests the deployment. Then d becomes Succeeded
// and, with allTraffic, takes 100 % of the endpoint's live traffic — or
// Failed with the reason, leaving the traffic as it was. Errors: the
// store's (EINVALID, ENOTFOUND, ECONFLICT).
func (s *Service) Deploy(ctx context.Context, workspace string, d *hangar.OnlineDeployment, allTraffic bool) error {
	if err := s.Store.CreateOnlineDeployment(ctx, workspace, d); err != nil {
		return err
	}
	cp := *d
	s.start(workspace, &cp, allTraffic)
	return nil
}

// Redeploy applies t; with a new spec the deployment moves to Updating and
// the spec is rolled out in the background under the same name: the old
// one keeps serving until the new one passed its smoke test, then the
// gateway swaps them in one step and drains the old one. Without a spec
// (description, tags) it is the store's transition. Errors: the store's.
func (s *Service) Redeploy(ctx context.Context, workspace, endpoint, name string, t hangar.DeploymentTransition) (*hangar.OnlineDeployment, error) {
	if t.Spec == nil {
		return s.Store.TransitionOnlineDeployment(ctx, workspace, endpoint, name, t)
	}
	t.To = hangar.StateUpdating
	d, err := s.Store.TransitionOnlineDeployment(ctx, workspace, endpoint, name, t)
	if err != nil {
		return nil, err
	}
	cp := *d
	s.start(workspace, &cp, false)
	return d, nil
}

// start runs a rollout of d in the background, superseding one in
// progress.
func (s *Service) start(ws string, d *hangar.OnlineDeployment, allTraffic bool) {
	s.mu.Lock()
	if !s.opened || s.ctx.Err() != nil {
		s.mu.Unlock()
		s.Logger.Error("release: not rolling out: the service is closed", "workspace", ws, "endpoint", d.Endpoint, "deployment", d.Name)
		return
	}
	st := s.stateLocked(depKey(ws, d.Endpoint, d.Name))
	st.supersede()
	gen := st.gen.Load()
	ctx, cancel := context.WithTimeout(s.ctx, s.deployTimeout())
	st.cancel = cancel
	st.leadingGen, st.leadAll, st.leadCreated = gen, allTraffic, d.CreatedAt
	s.bg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.bg.Done()
		defer cancel()
		s.rollout(ctx, st, gen, ws, d, allTraffic)
		s.mu.Lock()
		if st.leadingGen == gen {
			st.leadingGen = 0
		}
		if _, ok := s.Store.(Generations); ok {
			// Following left this deployment to the rollout, which may
			// have lost a race with another server's: the endpoint is
			// looked at again at the next tick, whatever the generation.
			s.recheckLocked(epKey(ws, d.Endpoint), time.Time{})
		}
		s.mu.Unlock()
	}()
}

func (s *Service) deployTimeout() time.Duration {
	if s.DeployTimeout > 0 {
		return s.DeployTimeout
	}
	return 15 * time.Minute
}

// rollout deploys d on the gateway and records the outcome in the store,
// unless a newer rollout or a deletion superseded it meanwhile or the
// server is stopping (then the state stays, for Replay to finish).
func (s *Service) rollout(ctx context.Context, st *depState, gen uint64, ws string, d *hangar.OnlineDeployment, allTraffic bool) {
	st.run.Lock()
	defer st.run.Unlock()
	if st.gen.Load() != gen {
		return
	}
	st.event(s.now(), "rollout of model %s:%s started (%s)", d.Spec.ModelName, d.Spec.ModelVersion, d.State)
	err := s.deployOnGateway(ctx, st, ws, d)
	if st.gen.Load() != gen {
		// A newer rollout or a deletion took over; it decides. A deletion
		// may have looked at the gateway before this rollout added to it.
		s.mu.Lock()
		gone := s.deps[depKey(ws, d.Endpoint, d.Name)] != st
		s.mu.Unlock()
		if err == nil && gone {
			s.removeFromGateway(context.WithoutCancel(ctx), st, ws, d.Endpoint, d.Name)
		}
		return
	}
	if err != nil && errors.Is(ctx.Err(), context.Canceled) {
		st.event(s.now(), "rollout stopped: the server is shutting down")
		return
	}
	// Store writes get their own deadline: ctx may be the one that ended.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err != nil {
		// The message and the deployment's log say what is wrong in the
		// user's terms; the server log keeps the whole error.
		msg := "deployment failed: " + s.failureMessage(d.Spec, err)
		st.event(s.now(), "%s", msg)
		s.Logger.Warn("release: deployment failed", "workspace", ws, "endpoint", d.Endpoint, "deployment", d.Name, "err", err)
		s.record(wctx, st, ws, d, hangar.StateFailed, msg)
		return
	}
	st.event(s.now(), "smoke test passed; deployment serving")
	if !s.record(wctx, st, ws, d, hangar.StateSucceeded, "") {
		return
	}
	if allTraffic {
		if err := s.allTraffic(wctx, ws, d.Endpoint, d.Name); err != nil {
			st.event(s.now(), "setting all traffic failed: %v", err)
			s.Logger.Error("release: give the deployment all traffic", "workspace", ws, "endpoint", d.Endpoint, "deployment", d.Name, "err", err)
			return
		}
		st.event(s.now(), "deployment takes 100%% of the live traffic")
	}
}

// failureMessage is what a Failed deployment says of err, the error of
// its rollout: each layer of err's chain as it reads, a domain error's
// message without its code, and the server's staging folders of the
// deployment's model and code left out, so that a file is named relative
// to the model or code folder the user registered ("model.json: …", not
// "/var/lib/hangar/serving/models/<digest>/model.json: …").
func (s *Service) failureMessage(spec hangar.DeploymentSpec, err error) string {
	var b strings.Builder
	for e := err; e != nil; {
		if he, ok := e.(*hangar.Error); ok {
			b.WriteString(he.Message)
			break
		}
		inner := errors.Unwrap(e)
		var prefix string
		ok := false
		if inner != nil {
			prefix, ok = strings.CutSuffix(e.Error(), inner.Error())
		}
		if !ok {
			b.WriteString(e.Error())
			break
		}
		b.WriteString(prefix)
		e = inner
	}
	msg := b.String()
	for _, staged := range []struct {
		kind, folder string
		digest       hangar.Digest
	}{{"models", "the model folder", spec.ModelDigest}, {"code", "the code folder", spec.CodeDigest}} {
		if staged.digest == "" || s.Dir == "" {
			continue
		}
		dir := filepath.Join(s.Dir, staged.kind, staged.digest.Hex())
		msg = strings.ReplaceAll(msg, dir+string(filepath.Separator), "")
		msg = strings.ReplaceAll(msg, dir, staged.folder)
	}
	return msg
}

// record stores the outcome of a rollout and reports whether the
// deployment still exists. A deployment replayed from Succeeded stays
// Succeeded (a failed replay is in its message and the log).
func (s *Service) record(ctx context.Context, st *depState, ws string, d *hangar.OnlineDeployment, to hangar.ProvisioningState, msg string) bool {
	t := hangar.DeploymentTransition{From: []hangar.ProvisioningState{d.State}, To: to, Message: &msg}
	if d.State == hangar.StateSucceeded {
		t.To = ""
		if to == hangar.StateSucceeded {
			return true
		}
	}
	_, err := s.Store.TransitionOnlineDeployment(ctx, ws, d.Endpoint, d.Name, t)
	if hangar.IsCode(err, hangar.ENOTFOUND) {
		s.removeFromGateway(ctx, st, ws, d.Endpoint, d.Name)
		return false
	}
	if err != nil {
		s.Logger.Error("release: record the rollout", "workspace", ws, "endpoint", d.Endpoint, "deployment", d.Name, "state", to, "err", err)
		return false
	}
	return true
}

// removeFromGateway takes a deployment off the gateway and, once it is
// off, lets go of the staged folders st held for it. Gateway.RemoveDeployment
// refuses (ECONFLICT) only while the deployment still gets traffic, before
// taking it off: then it still serves from the folders, which are kept
// until the next start (its sweep). Any other error comes after the
// deployment is off (closing its script runner): the folders can go — a script
// runner still reading them holds them itself (heldRunner).
func (s *Service) removeFromGateway(ctx context.Context, st *depState, ws, endpoint, name string) {
	s.mu.Lock()
	g := (*s.gws.Load())[ws]
	s.mu.Unlock()
	if g != nil {
		err := g.RemoveDeployment(ctx, endpoint, name)
		switch {
		case hangar.IsCode(err, hangar.ECONFLICT):
			s.Logger.Error("release: take the deployment off the gateway: it stays, and its staged folders are kept until the next start",
				"workspace", ws, "endpoint", endpoint, "deployment", name, "err", err)
			return
		case err != nil && !hangar.IsCode(err, hangar.ENOTFOUND):
			s.Logger.Error("release: take the deployment off the gateway", "workspace", ws, "endpoint", endpoint, "deployment", name, "err", err)
		}
	}
	if st != nil {
		st.offGateway()
	}
	s.letGo(st)
}

// letGo releases the staged folders st holds for a deployment that is off
// the gateway.
func (s *Service) letGo(st *depState) {
	if st == nil {
		return
	}
	st.mu.Lock()
	held := st.held
	st.held = nil
	st.mu.Unlock()
	s.stage.release(s.Logger, held...)
}

// allTraffic gives name 100 % of the endpoint's live traffic and the
// others 0, by compare-and-set on the endpoint's version, retried when
// another change came first.
func (s *Service) allTraffic(ctx context.Context, ws, endpoint, name string) error {
	var err error
	for range 5 {
		var e *hangar.OnlineEndpoint
		if e, err = s.Store.OnlineEndpoint(ctx, ws, endpoint); err != nil {
			return err
		}
		live := map[string]int{name: 100}
		for n := range e.Traffic {
			if n != name {
				live[n] = 0
			}
		}
		var mirror map[string]int
		if e.MirrorTraffic[name] > 0 {
			mirror = maps.Clone(e.MirrorTraffic)
			mirror[name] = 0
		}
		if _, err = s.SetTraffic(ctx, ws, endpoint, live, mirror, e.Version); !hangar.IsCode(err, hangar.ECONFLICT) {
			return err
		}
	}
	return err
}

// deployOnGateway materialises d's files, builds the gateway's spec and
// deploys it: the gateway loads and smoke-tests it and only then routes
// to it, replacing a deployment of the same name in one step.
func (s *Service) deployOnGateway(ctx context.Context, st *depState, ws string, d *hangar.OnlineDeployment) (err error) {
	spec := d.Spec
	// The rollout holds the staged folders it uses from before they are
	// made; once the version is on the gateway, the deployment holds them
	// (and the previous version's are let go), else they are let go now.
	var held []string
	defer func() {
		if err != nil {
			s.stage.release(s.Logger, held...)
			return
		}
		st.mu.Lock()
		old := st.held
		st.held = held
		st.served = specJSON(spec)
		st.mu.Unlock()
		s.stage.release(s.Logger, old...)
	}()
	s.mu.Lock()
	g, err := s.gatewayLocked(ws)
	if err == nil {
		if _, ok := s.applied[epKey(ws, d.Endpoint)]; !ok {
			err = s.syncLocked(ctx, ws, d.Endpoint, true, 0)
		}
	}
	sink := s.sinks[ws]
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("open endpoint %s on the data plane: %w", d.Endpoint, err)
	}
	if spec.ModelDigest == "" {
		return hangar.Errorf(hangar.EINVALID, "model %s:%s: the deployment names no model files (model_digest is empty)", spec.ModelName, spec.ModelVersion)
	}
	if _, err := hangar.ParseDigest(string(spec.ModelDigest)); err != nil {
		return fmt.Errorf("model %s:%s: %w", spec.ModelName, spec.ModelVersion, err)
	}
	held = append(held, s.stagedDir("models", spec.ModelDigest))
	s.stage.acquire(held[len(held)-1])
	modelDir, err := s.materialise(ctx, "models", spec.ModelDigest)
	if err != nil {
		return fmt.Errorf("model %s:%s: %w", spec.ModelName, spec.ModelVersion, err)
	}
	ss := serving.DeploymentSpec{
		Endpoint: d.Endpoint, Name: d.Name, ModelName: spec.ModelName, ModelVersion: spec.ModelVersion,
		InstanceCount:                    spec.InstanceCount, // both bounded by hangar.MaxEndpointInstances
		MaxConcurrentRequestsPerInstance: min(spec.Request.MaxConcurrentRequestsPerInstance, 1000),
		RequestTimeout:                   time.Duration(spec.Request.RequestTimeoutMS) * time.Millisecond,
		Probe: serving.ProbeSettings{
			InitialDelay: seconds(spec.Readiness.InitialDelay), Period: seconds(spec.Readiness.Period),
			Timeout: seconds(spec.Readiness.Timeout), SuccessThreshold: spec.Readiness.SuccessThreshold,
			FailureThreshold: spec.Readiness.FailureThreshold,
		},
	}
	if len(spec.SampleRequest) > 0 {
		ss.Sample = spec.SampleRequest
	}
	script := ScriptConfig{ModelDir: modelDir, Workers: ss.InstanceCount, Env: spec.EnvironmentVariables, RequestTimeout: ss.RequestTimeout}
	needScript := spec.ScoringScript != ""
	if needScript {
		if _, err := hangar.ParseDigest(string(spec.CodeDigest)); err != nil {
			return fmt.Errorf("code of scoring script %s: %w", spec.ScoringScript, err)
		}
		held = append(held, s.stagedDir("code", spec.CodeDigest))
		s.stage.acquire(held[len(held)-1])
		if script.CodeDir, err = s.materialise(ctx, "code", spec.CodeDigest); err != nil {
			return fmt.Errorf("code of scoring script %s: %w", spec.ScoringScript, err)
		}
		script.ScoringScript = spec.ScoringScript
	} else {
		m, err := s.load(modelPath(modelDir))
		switch {
		case hangar.IsCode(err, hangar.ENOTIMPLEMENTED):
			needScript = true // an MLflow flavor served through its python_function
			st.event(s.now(), "model %s:%s is not served natively: running its python_function flavor", spec.ModelName, spec.ModelVersion)
		case err != nil:
			return fmt.Errorf("load model %s:%s: %w", spec.ModelName, spec.ModelVersion, loadError{err})
		default:
			ss.Model = m
		}
	}
	if needScript {
		if s.Scripts == nil {
			return hangar.Errorf(hangar.ENOTIMPLEMENTED, "this server runs no Python scoring workers")
		}
		st.event(s.now(), "starting %d scoring worker(s)", script.Workers)
		r, err := s.Scripts.StartScript(ctx, script)
		if err != nil {
			return fmt.Errorf("start the scoring workers: %w", err)
		}
		// The workers read the folders until they stop: the runner holds
		// them until it is closed, after the version's last request, which
		// may be after a newer version took the gateway.
		r = s.stage.holdFor(r, s.Logger, held...)
		st.mu.Lock()
		st.runner = r
		st.mu.Unlock()
		ss.Script = r
	}
	var cc captureConfig
	if sink != nil {
		cc = captureFor(d.Endpoint, d.Name, spec.DataCollector)
		if len(cc.collections) > 0 {
			ss.Capture.SamplingRate = spec.DataCollector.SamplingRate
		}
	}
	if _, err := g.Deploy(ctx, ss); err != nil {
		return err
	}
	// After the swap: a failed update keeps the old deployment and its
	// collections. Until this line the new one's records are filed under
	// the old collections — never lost, since live traffic reaches a new
	// name only after the rollout.
	if sink != nil {
		sink.configure(d.Endpoint, d.Name, &cc)
	}
	return nil
}

// loadError marks the error of loading a materialised model folder: it
// recurs with the same folder (follow.go does not retry it). It reads as
// the error it wraps.
type loadError struct{ err error }

func (e loadError) Error() string { return e.err.Error() }
func (e loadError) Unwrap() error { return e.err }

func seconds(n int) time.Duration { return time.Duration(n) * time.Second }

func (s *Service) load(path string) (serving.Model, error) {
	if s.Load != nil {
		return s.Load(path)
	}
	return serving.LoadModel(path)
}

// modelPath is what the native runtime opens: the folder, or the one file
// of a model registered as a single file.
func modelPath(dir string) string {
	ents, err := os.ReadDir(dir)
	if err != nil || len(ents) != 1 || !ents[0].Type().IsRegular() || ents[0].Name() == "MLmodel" {
		return dir
	}
	return filepath.Join(dir, ents[0].Name())
}

// materialise writes the folder stored under manifest d into the staging
// folder once: Dir/<kind>/<digest hex>, made in a temporary folder and
// renamed into place, so concurrent rollouts of the same model share it
// and a half-written folder is never used.
func (s *Service) materialise(ctx context.Context, kind string, d hangar.Digest) (string, error) {
	if _, err := hangar.ParseDigest(string(d)); err != nil {
		return "", err
	}
	if s.Blobs == nil {
		return "", hangar.Errorf(hangar.ENOTIMPLEMENTED, "no blob store to read %s from", d)
	}
	final := s.stagedDir(kind, d)
	if st, err := os.Stat(final); err == nil && st.IsDir() {
		return final, nil
	}
	tmp, err := os.MkdirTemp(filepath.Join(s.Dir, kind), tmpPrefix)
	if err != nil {
		return "", err
	}
	if err := artifact.GetDir(ctx, s.Blobs, d, tmp); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	if err := os.Rename(tmp, final); err != nil {
		os.RemoveAll(tmp)
		if st, serr := os.Stat(final); serr == nil && st.IsDir() {
			return final, nil // another rollout made it first
		}
		return "", err
	}
	return final, nil
}

// Logs returns the last lines of a deployment's log: the release events
// (rollout started, smoke test, failures) and its scoring workers' output.
// lines ≤ 0 is DefaultLogLines. Errors: ENOTFOUND, EINVALID.
func (s *Service) Logs(ctx context.Context, workspace, endpoint, name string, lines int) ([]string, error) {
	d, err := s.Store.OnlineDeployment(ctx, workspace, endpoint, name)
	if err != nil {
		return nil, err
	}
	if lines <= 0 {
		lines = DefaultLogLines
	}
	lines = min(lines, MaxLogLines)
	s.mu.Lock()
	st := s.deps[depKey(workspace, endpoint, name)]
	s.mu.Unlock()
	var out []string
	if st != nil {
		st.mu.Lock()
		out = append(out, st.events...)
		r := st.runner
		st.mu.Unlock()
		if ls, ok := r.(logSource); ok {
			out = append(out, ls.Logs(lines)...)
		}
	}
	if len(out) == 0 && d.Message != "" {
		out = append(out, d.Message)
	}
	if len(out) > lines {
		out = out[len(out)-lines:]
	}
	if out == nil {
		out = []string{}
	}
	return out, nil
}

// Token mints an aml_token for the endpoint, good for
// endpointauth.DefaultTTL or until the endpoint is deleted: it carries
// the endpoint's token generation. Errors: ENOTFOUND, EINVALID (the
// endpoint authenticates with keys; no token key is configured).
func (s *Service) Token(ctx context.Context, workspace, endpoint string) (string, time.Time, error) {
	e, err := s.Store.OnlineEndpoint(ctx, workspace, endpoint)
	if err != nil {
		return "", time.Time{}, err
	}
	if e.AuthMode != hangar.EndpointAuthToken {
		return "", time.Time{}, hangar.Errorf(hangar.EINVALID, "online endpoint %s authenticates with keys (auth_mode %s), not tokens: use its keys", endpoint, e.AuthMode)
	}
	tok, c, err := endpointauth.Mint(s.TokenKey, workspace, endpoint, e.TokenGeneration, s.now(), 0)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("token for online endpoint %s: %w", endpoint, err)
	}
	return tok, c.Expires, nil
}

// Replay brings the data plane back after a start: every endpoint of
// every workspace is opened with its keys, every deployment that is
// Succeeded, Updating or Creating is deployed again (Creating and
// Updating ones finish their rollout and are recorded; Failed ones are
// left), and then each endpoint's traffic is applied. Then the staged
// model and code folders no deployment uses are removed. It returns the
// first error reading the store; a deployment that fails is recorded and
// logged, and Replay goes on. Cancelling ctx stops it.
func (s *Service) Replay(ctx context.Context) error {
	if s.Workspaces == nil {
		return hangar.Errorf(hangar.EINVALID, "release service: no workspace lister for Replay")
	}
	// A reconcile of following waits: both bring the gateways in step.
	s.followMu.Lock()
	defer s.followMu.Unlock()
	// The serving generation is read before the store is, as a reconcile
	// reads it: once Replay is through, following takes it as seen and
	// does not do Replay's work again as a follower.
	var gen int64
	gens, following := s.Store.(Generations)
	if following {
		g, err := gens.ServingGeneration(ctx)
		if err != nil {
			return fmt.Errorf("replay endpoints: read the serving generation: %w", err)
		}
		gen = g
	}
	var opt hangar.ListOptions
	for {
		page, err := s.Workspaces.ListWorkspaces(ctx, opt)
		if err != nil {
			return fmt.Errorf("replay endpoints: %w", err)
		}
		for _, w := range page.Items {
			if err := s.replayWorkspace(ctx, w.Name); err != nil {
				return err
			}
		}
		if page.NextPageToken == "" {
			// Every deployment that serves holds its folders now: the
			// others are left from deployments gone while the server was
			// down (or before it cleaned up).
			s.stage.sweep(s.Logger, s.Dir)
			if following {
				s.mu.Lock()
				s.followGen, s.followed = gen, true
				s.mu.Unlock()
			}
			return nil
		}
		opt.PageToken = page.NextPageToken
	}
}

func (s *Service) replayWorkspace(ctx context.Context, ws string) error {
	var opt hangar.ListOptions
	for {
		page, err := s.Store.ListOnlineEndpoints(ctx, ws, opt)
		if err != nil {
			return fmt.Errorf("replay endpoints of workspace %q: %w", ws, err)
		}
		for _, e := range page.Items {
			if err := s.replayEndpoint(ctx, ws, e.Name); err != nil {
				if ctx.Err() != nil {
					return err
				}
				s.Logger.Error("release: replay endpoint", "workspace", ws, "endpoint", e.Name, "err", err)
				if _, ok := s.Store.(Generations); ok {
					// Following takes Replay's generation as seen: the
					// endpoint is reconciled alone, with a backoff.
					s.mu.Lock()
					s.recheckLocked(epKey(ws, e.Name), s.now().Add(followRetryMin))
					s.mu.Unlock()
				}
			}
		}
		if page.NextPageToken == "" {
			return nil
		}
		opt.PageToken = page.NextPageToken
	}
}

func (s *Service) replayEndpoint(ctx context.Context, ws, name string) error {
	s.mu.Lock()
	err := s.syncLocked(ctx, ws, name, false, 0)
	s.mu.Unlock()
	if err != nil {
		return err
	}
	var deps []*hangar.OnlineDeployment
	var opt hangar.ListOptions
	for {
		page, err := s.Store.ListOnlineDeployments(ctx, ws, name, opt)
		if err != nil {
			return err
		}
		deps = append(deps, page.Items...)
		if page.NextPageToken == "" {
			break
		}
		opt.PageToken = page.NextPageToken
	}
	for _, d := range deps {
		switch d.State {
		case hangar.StateSucceeded, hangar.StateUpdating, hangar.StateCreating:
		default:
			continue
		}
		s.mu.Lock()
		if s.ctx == nil || s.ctx.Err() != nil {
			s.mu.Unlock()
			return hangar.Errorf(hangar.EUNAVAILABLE, "release service is closed")
		}
		st := s.stateLocked(depKey(ws, name, d.Name))
		st.supersede()
		gen := st.gen.Load()
		rctx, cancel := context.WithTimeout(ctx, s.deployTimeout())
		st.cancel = cancel
		s.mu.Unlock()
		s.rollout(rctx, st, gen, ws, d, false)
		cancel()
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	err = s.sync(ctx, ws, name, 0)
	if err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("apply traffic: %w", err)
	}
	return err
}
