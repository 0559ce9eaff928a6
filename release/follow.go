package release

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/serving"
)

// Following: several servers share one store, and each one's data plane
// follows the changes made through the others. Every change of an online
// endpoint, its keys or a deployment advances the store's serving
// generation in the same transaction; the service reads it every
// FollowInterval — one primary-key read when nothing changed — and, when
// it moved, reconciles every workspace's gateway with the store. A
// deployment Succeeded through another server is rolled out here as a
// follower, in the background: loaded and smoke-tested on this gateway,
// its outcome kept in its events and the log, never recorded — the
// server that rolled it out owns its state. An endpoint that fails to
// reconcile, and a follower rollout to try again, are reconciled alone
// later (retries), not by reconciling everything at every tick.

// Generations is the optional capability of a Store that other servers
// share (sqlstore.EndpointService has it): ServingGeneration returns a
// counter that every change of an online endpoint, its keys (which bump
// the endpoint's Version) or a deployment advances. A Store without it is
// not followed.
type Generations interface {
	ServingGeneration(ctx context.Context) (int64, error)
}

// mark is what the gateway was last given of a stored endpoint row: its
// Version moves with every change (keys, auth, traffic), its token
// generation with every re-creation under the same name; traffic says
// whether the row's traffic was applied too (it is not while it names a
// deployment the gateway lacks).
type mark struct {
	version, tokenGeneration int64
	traffic                  bool
}

func markOf(e *hangar.OnlineEndpoint, traffic bool) mark {
	return mark{version: e.Version, tokenGeneration: int64(e.TokenGeneration), traffic: traffic}
}

// sameRow reports whether m was made from the row e, as it is now.
func (m mark) sameRow(e *hangar.OnlineEndpoint) bool {
	return m.version == e.Version && m.tokenGeneration == int64(e.TokenGeneration)
}

// specJSON is the spec as compared between the store and the gateway:
// its JSON, in which a nil and an empty map or sample read the same.
func specJSON(spec hangar.DeploymentSpec) []byte {
	b, err := json.Marshal(spec)
	if err != nil {
		// A spec is plain data; if it ever does not encode, it never
		// equals what the gateway serves and is rolled out again.
		return []byte(err.Error())
	}
	return b
}

// Backoff of an endpoint whose reconcile failed, and of a follower
// rollout that failed in a way that may not recur (a blob store timeout,
// the deadline): the first retry after followRetryMin, each next one
// after twice the wait before, up to followRetryMax.
const (
	followRetryMin = 10 * time.Second
	followRetryMax = 5 * time.Minute
)

// retry is when an endpoint is reconciled again on its own, and the wait
// after that.
type retry struct {
	at    time.Time
	delay time.Duration
}

// followID is what tells a deployment's follower rollouts apart: the
// deployment (its CreatedAt: one deleted and created again under its name
// is another) and its spec.
func followID(d *hangar.OnlineDeployment) string {
	return d.CreatedAt.UTC().Format(time.RFC3339Nano) + " " + string(specJSON(d.Spec))
}

// followLoop reads the serving generation every FollowInterval and
// reconciles when it moved.
func (s *Service) followLoop(gens Generations) {
	defer close(s.followDone)
	t := time.NewTicker(s.FollowInterval)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
		// Replay holds followMu while it brings the gateways back: its
		// work is this reconcile's, and the next tick comes soon.
		if !s.followMu.TryLock() {
			continue
		}
		_ = s.followLocked(s.ctx, gens)
		s.followMu.Unlock()
	}
}

// follow is one tick of following: it reads the serving generation and,
// when it moved since the last reconcile (or a failed one asked for
// another), reconciles; otherwise it reconciles the endpoints whose retry
// is due, alone. A reconcile that could not list the store is logged and
// returned; the generation it read is not taken as seen, so the next tick
// tries again. The errors of single endpoints are logged and returned
// too, but those endpoints are retried alone, with a backoff.
func (s *Service) follow(ctx context.Context, gens Generations) error {
	s.followMu.Lock()
	defer s.followMu.Unlock()
	return s.followLocked(ctx, gens)
}

// followLocked is follow with followMu held.
func (s *Service) followLocked(ctx context.Context, gens Generations) error {
	gen, err := gens.ServingGeneration(ctx)
	if err != nil {
		s.Logger.Error("release: follow the store: read the serving generation", "err", err)
		return err
	}
	s.mu.Lock()
	moved := !s.followed || gen != s.followGen || s.resync
	s.resync = false
	s.mu.Unlock()
	if !moved {
		return s.retryDue(ctx)
	}
	// The generation is read before the store is: a change made while
	// the reconcile reads moves it again, and the next tick sees it.
	failed, err := s.reconcile(ctx)
	if err != nil {
		s.Logger.Error("release: follow the store: reconcile the data plane", "err", err)
		s.mu.Lock()
		s.resync = true
		s.mu.Unlock()
		return err
	}
	s.mu.Lock()
	s.followGen, s.followed = gen, true
	s.mu.Unlock()
	return failed
}

// endpointDone records the outcome of reconciling one endpoint (key k):
// a failure is logged and the endpoint retried alone after the next step
// of its backoff; a success ends its backoff, and its retry unless one
// is set for later (a follower rollout to try again then).
func (s *Service) endpointDone(k string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err == nil {
		if r, ok := s.retries[k]; ok {
			if r.at.After(s.now()) {
				s.retries[k] = retry{at: r.at}
			} else {
				delete(s.retries, k)
			}
		}
		return
	}
	r := s.retries[k]
	r.delay = min(max(2*r.delay, followRetryMin), followRetryMax)
	r.at = s.now().Add(r.delay)
	s.retries[k] = r
	ws, name, _ := strings.Cut(k, "/")
	s.Logger.Error("release: follow the store: bring the endpoint in step; retrying", "workspace", ws, "endpoint", name, "retry_in", r.delay, "err", err)
}

// recheckLocked has the endpoint (key k) reconciled alone at the first
// tick of following from at (the zero time: the next tick) — or sooner,
// when a retry set before is due sooner; its backoff is kept. s.mu held.
func (s *Service) recheckLocked(k string, at time.Time) {
	r, ok := s.retries[k]
	if !ok || !r.at.After(s.now()) || at.Before(r.at) {
		r.at = at
	}
	s.retries[k] = r
}

// retryDue reconciles, one by one, the endpoints whose retry is due. An
// endpoint gone from the store meanwhile is left to the reconcile its
// deletion asks for (the serving generation moved).
func (s *Service) retryDue(ctx context.Context) error {
	now := s.now()
	var due []string
	s.mu.Lock()
	for k, r := range s.retries {
		if !r.at.After(now) {
			due = append(due, k)
		}
	}
	s.mu.Unlock()
	slices.Sort(due)
	var failed []error
	for _, k := range due {
		ws, name, _ := strings.Cut(k, "/")
		e, err := s.Store.OnlineEndpoint(ctx, ws, name)
		if hangar.IsCode(err, hangar.ENOTFOUND) {
			s.mu.Lock()
			delete(s.retries, k)
			s.mu.Unlock()
			continue
		}
		if err == nil {
			err = s.reconcileEndpoint(ctx, ws, e)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			err = fmt.Errorf("online endpoint %s of workspace %q: %w", name, ws, err)
			failed = append(failed, err)
		}
		s.endpointDone(k, err)
	}
	return errors.Join(failed...)
}

// reconcile brings every workspace's gateway in step with the store:
// endpoints the store has and the gateway lacks are loaded, those it no
// longer has are taken off, a changed endpoint gets its keys read again
// and its auth mode, token generation, traffic and mirror applied, and
// the deployments Succeeded in the store with a spec other than the one
// on the gateway are rolled out as a follower — in the background, so
// that one slow rollout delays no other endpoint. Listing the workspaces
// or endpoints fails it at once (err), before it takes anything off the
// gateway; an endpoint that fails (reading its keys, say) does not stop
// the others: it is retried alone with a backoff, and the errors of all
// such are returned (failed). A failed follower rollout or traffic
// change is not an error: it is logged.
func (s *Service) reconcile(ctx context.Context) (failed, err error) {
	stored := map[string]bool{} // epKey of every stored endpoint
	var errs []error            // of single endpoints: the others go on
	var opt hangar.ListOptions
	for {
		page, err := s.Workspaces.ListWorkspaces(ctx, opt)
		if err != nil {
			return nil, fmt.Errorf("list workspaces: %w", err)
		}
		for _, w := range page.Items {
			if err := s.reconcileWorkspace(ctx, w.Name, stored, &errs); err != nil {
				return nil, err
			}
		}
		if page.NextPageToken == "" {
			break
		}
		opt.PageToken = page.NextPageToken
	}
	s.mu.Lock()
	var gone []string
	for k := range s.applied {
		if !stored[k] {
			gone = append(gone, k)
		}
	}
	for k := range s.retries {
		if !stored[k] {
			delete(s.retries, k)
		}
	}
	s.mu.Unlock()
	slices.Sort(gone)
	for _, k := range gone {
		ws, name, _ := strings.Cut(k, "/")
		// The store is asked again: an endpoint this server created after
		// the listing is not taken off.
		if _, err := s.Store.OnlineEndpoint(ctx, ws, name); !hangar.IsCode(err, hangar.ENOTFOUND) {
			if err != nil {
				return nil, fmt.Errorf("online endpoint %s of workspace %q: %w", name, ws, err)
			}
			continue
		}
		s.takeOff(ctx, ws, name, false)
	}
	return errors.Join(errs...), nil
}

// reconcileWorkspace reconciles the endpoints of one workspace and adds
// their keys to stored. It returns the error of listing them; the error
// of an endpoint is added to failed and the endpoint retried alone.
func (s *Service) reconcileWorkspace(ctx context.Context, ws string, stored map[string]bool, failed *[]error) error {
	var opt hangar.ListOptions
	for {
		page, err := s.Store.ListOnlineEndpoints(ctx, ws, opt)
		if err != nil {
			return fmt.Errorf("list online endpoints of workspace %q: %w", ws, err)
		}
		for _, e := range page.Items {
			k := epKey(ws, e.Name)
			stored[k] = true
			err := s.reconcileEndpoint(ctx, ws, e)
			if err != nil && ctx.Err() != nil {
				return err
			}
			if err != nil {
				err = fmt.Errorf("online endpoint %s of workspace %q: %w", e.Name, ws, err)
				*failed = append(*failed, err)
			}
			s.endpointDone(k, err)
		}
		if page.NextPageToken == "" {
			return nil
		}
		opt.PageToken = page.NextPageToken
	}
}

// reconcileEndpoint brings one stored endpoint and its deployments onto
// the gateway: its keys, auth mode and token generation at once, its
// deployments as follower rollouts in the background (each applies the
// endpoint's traffic when it is on the gateway).
func (s *Service) reconcileEndpoint(ctx context.Context, ws string, e *hangar.OnlineEndpoint) error {
	k := epKey(ws, e.Name)
	s.mu.Lock()
	m, marked := s.marks[k]
	s.mu.Unlock()
	if marked && m.tokenGeneration != int64(e.TokenGeneration) {
		// Deleted and created again under its name through another
		// server: another endpoint, whose predecessor goes first — its
		// deployments, keys and tokens with it. A rollout of this server
		// on the new endpoint starts again.
		s.takeOff(ctx, ws, e.Name, true)
		marked = false
	}
	changed := !marked || !m.sameRow(e)
	if changed {
		// Keys and auth mode first, with the traffic the gateway has: a
		// regenerated key is refused from here on, and a new endpoint is
		// open before its deployments arrive.
		s.mu.Lock()
		delete(s.keys, k)
		err := s.syncLocked(ctx, ws, e.Name, false, 0)
		s.mu.Unlock()
		if hangar.IsCode(err, hangar.ENOTFOUND) {
			return nil // gone since the listing; the next reconcile sees it
		}
		if err != nil {
			return err
		}
	}
	var deps []*hangar.OnlineDeployment
	var opt hangar.ListOptions
	for {
		page, err := s.Store.ListOnlineDeployments(ctx, ws, e.Name, opt)
		if hangar.IsCode(err, hangar.ENOTFOUND) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("list deployments: %w", err)
		}
		deps = append(deps, page.Items...)
		if page.NextPageToken == "" {
			break
		}
		opt.PageToken = page.NextPageToken
	}
	names := map[string]bool{}
	for _, d := range deps {
		names[d.Name] = true
		if d.State != hangar.StateSucceeded {
			// Creating and Updating ones are the rolling-out server's;
			// Failed ones are not loaded (an older version here serves on).
			continue
		}
		s.followDeployment(ws, d)
	}
	// Deployments the store no longer has: after the traffic, which no
	// longer names them (the store refuses to delete one that takes
	// traffic), they come off the gateway.
	prefix := k + "/"
	type goneDep struct {
		name string
		st   *depState
	}
	var gone []goneDep
	s.mu.Lock()
	for dk, st := range s.deps {
		name, ok := strings.CutPrefix(dk, prefix)
		if !ok || names[name] || st.leadingLocked() {
			continue
		}
		gone = append(gone, goneDep{name, st})
	}
	s.mu.Unlock()
	if changed || len(gone) > 0 || !m.traffic {
		// The Version is read again: one that moved since the listing
		// (a key regenerated through another server meanwhile) has its
		// keys read again too.
		if err := s.sync(ctx, ws, e.Name, 0); err != nil && !hangar.IsCode(err, hangar.ENOTFOUND) {
			// The traffic names a deployment this gateway does not have
			// yet (a follower rollout in progress applies it when done)
			// or could not load: the traffic before stays.
			s.Logger.Debug("release: follow the store: apply the endpoint's traffic", "workspace", ws, "endpoint", e.Name, "err", err)
		}
	}
	for _, g := range gone {
		if _, err := s.Store.OnlineDeployment(ctx, ws, e.Name, g.name); !hangar.IsCode(err, hangar.ENOTFOUND) {
			continue // created since the listing (or the store failed): the next reconcile decides
		}
		dk := depKey(ws, e.Name, g.name)
		s.mu.Lock()
		if s.deps[dk] != g.st || g.st.leadingLocked() {
			s.mu.Unlock()
			continue
		}
		g.st.supersede()
		delete(s.deps, dk)
		if c := s.sinks[ws]; c != nil {
			c.configure(e.Name, g.name, nil)
		}
		s.mu.Unlock()
		s.removeFromGateway(ctx, g.st, ws, e.Name, g.name)
	}
	return nil
}

// followDeployment starts a follower rollout of a deployment Succeeded in
// the store, in the background, unless the gateway serves its spec
// already, the endpoint is not on the gateway (taken off meanwhile), a
// follower rollout of it is in progress, a rollout of this server that
// records its outcome is in progress (it decides; its end has the
// endpoint looked at again), or it failed here before — for good, or
// with its retry not due yet. A newer spec supersedes a follower rollout
// in progress.
func (s *Service) followDeployment(ws string, d *hangar.OnlineDeployment) {
	want, id := specJSON(d.Spec), followID(d)
	k, epk := depKey(ws, d.Endpoint, d.Name), epKey(ws, d.Endpoint)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.opened || s.ctx.Err() != nil {
		return
	}
	if _, ok := s.applied[epk]; !ok {
		return
	}
	st := s.deps[k]
	if st != nil {
		if st.leadingLocked() {
			return
		}
		if st.followID == id && st.followGen == st.gen.Load() {
			return // in progress
		}
		st.mu.Lock()
		skip := bytes.Equal(st.served, want) || st.failed == id
		if !skip && st.retryID == id && s.now().Before(st.retryAt) {
			skip = true
			s.recheckLocked(epk, st.retryAt)
		}
		st.mu.Unlock()
		if skip {
			return
		}
	}
	st = s.stateLocked(k)
	st.supersede()
	gen := st.gen.Load()
	st.followGen, st.followID = gen, id
	ctx, cancel := context.WithTimeout(s.ctx, s.deployTimeout())
	st.cancel = cancel
	s.bg.Add(1)
	s.followers.Add(1)
	go func() {
		defer s.bg.Done()
		defer s.followers.Done()
		defer cancel()
		s.followRollout(ctx, st, gen, id, ws, d.Endpoint, d.Name)
		s.mu.Lock()
		if st.followGen == gen {
			st.followGen, st.followID = 0, ""
		}
		s.mu.Unlock()
	}()
}

// followRollout rolls a deployment out on this gateway as a follower. It
// reads the deployment again first — deleted through this server, or
// changed, since the reconcile listed it, it is not rolled out — and
// records nothing in the store: the outcome is in the deployment's events
// and the server log, and on failure the version before keeps serving
// here. Once the deployment is on the gateway, the endpoint's traffic is
// applied again (it may name the deployment).
func (s *Service) followRollout(ctx context.Context, st *depState, gen uint64, id, ws, endpoint, name string) {
	st.run.Lock()
	defer st.run.Unlock()
	if st.gen.Load() != gen {
		return
	}
	k, epk := depKey(ws, endpoint, name), epKey(ws, endpoint)
	d, err := s.Store.OnlineDeployment(ctx, ws, endpoint, name)
	if err != nil || d.State != hangar.StateSucceeded || followID(d) != id {
		if err != nil && !hangar.IsCode(err, hangar.ENOTFOUND) && ctx.Err() == nil {
			s.Logger.Error("release: follow the store: read the deployment", "workspace", ws, "endpoint", endpoint, "deployment", name, "err", err)
			s.mu.Lock()
			s.recheckLocked(epk, s.now().Add(followRetryMin))
			s.mu.Unlock()
		}
		return // gone or changed: the reconcile that change asks for decides
	}
	st.event(s.now(), "following: rollout of model %s:%s, Succeeded through another server", d.Spec.ModelName, d.Spec.ModelVersion)
	err = s.deployOnGateway(ctx, st, ws, d)
	if st.gen.Load() != gen {
		// A rollout of this server or a deletion took over; it decides.
		s.mu.Lock()
		gone := s.deps[k] != st
		s.mu.Unlock()
		if err == nil && gone {
			s.removeFromGateway(context.WithoutCancel(ctx), st, ws, endpoint, name)
		}
		return
	}
	if err != nil {
		if errors.Is(ctx.Err(), context.Canceled) {
			st.event(s.now(), "following: rollout stopped")
			return
		}
		msg := s.failureMessage(d.Spec, err)
		if recurs(ctx, err) {
			st.mu.Lock()
			st.failed = id
			st.mu.Unlock()
			st.event(s.now(), "following: deployment failed on this server: %s; the version before (if any) keeps serving here", msg)
			s.Logger.Warn("release: follow the store: deployment failed on this server", "workspace", ws, "endpoint", endpoint, "deployment", name, "err", err)
			return
		}
		st.mu.Lock()
		if st.retryID != id {
			st.retryID, st.retryDelay = id, 0
		}
		st.retryDelay = min(max(2*st.retryDelay, followRetryMin), followRetryMax)
		st.retryAt = s.now().Add(st.retryDelay)
		delay, at := st.retryDelay, st.retryAt
		st.mu.Unlock()
		s.mu.Lock()
		s.recheckLocked(epk, at)
		s.mu.Unlock()
		st.event(s.now(), "following: deployment failed on this server: %s; the version before (if any) keeps serving here; retrying in %s", msg, delay)
		s.Logger.Warn("release: follow the store: deployment failed on this server; retrying", "workspace", ws, "endpoint", endpoint, "deployment", name, "retry_in", delay, "err", err)
		return
	}
	st.mu.Lock()
	st.retryID, st.retryDelay = "", 0
	st.mu.Unlock()
	st.event(s.now(), "following: smoke test passed; deployment serving on this server")
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.applied[epk]; !ok || s.deps[k] != st {
		return
	}
	if err := s.syncLocked(context.WithoutCancel(ctx), ws, endpoint, true, 0); err != nil && !hangar.IsCode(err, hangar.ENOTFOUND) {
		// It names another deployment still on its way (whose end applies
		// it) or one that failed here: the traffic before stays.
		s.Logger.Debug("release: follow the store: apply the endpoint's traffic", "workspace", ws, "endpoint", endpoint, "err", err)
	}
}

// recurs reports whether a follower rollout's error would recur if the
// same deployment were rolled out again: the deployment is invalid, the
// model does not load or fails its smoke test, this server cannot run it.
// Others — a store or blob store that failed, the deadline — are retried.
func recurs(ctx context.Context, err error) bool {
	if ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	return hangar.IsCode(err, hangar.EINVALID) || hangar.IsCode(err, serving.ESMOKEFAILED) ||
		hangar.IsCode(err, hangar.ENOTIMPLEMENTED) || errors.As(err, new(loadError))
}
