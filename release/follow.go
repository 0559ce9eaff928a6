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
)

// Following: several servers share one store, and each one's data plane
// follows the changes made through the others. Every change of an online
// endpoint, its keys or a deployment advances the store's serving
// generation in the same transaction; the service reads it every
// FollowInterval — one primary-key read when nothing changed — and, when
// it moved, reconciles every workspace's gateway with the store. A
// deployment Succeeded through another server is rolled out here as a
// follower: loaded and smoke-tested on this gateway, its outcome kept in
// its events and the log, never recorded — the server that rolled it out
// owns its state.

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
// when it moved since the last reconcile (or a change asked for one),
// reconciles. A failed reconcile is logged and returned; the generation
// it read is not taken as seen, so the next tick tries again.
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
		return nil
	}
	// The generation is read before the store is: a change made while
	// the reconcile reads moves it again, and the next tick sees it.
	if err := s.reconcile(ctx); err != nil {
		s.Logger.Error("release: follow the store: reconcile the data plane", "err", err)
		s.mu.Lock()
		s.resync = true
		s.mu.Unlock()
		return err
	}
	s.mu.Lock()
	s.followGen, s.followed = gen, true
	s.mu.Unlock()
	return nil
}

// reconcile brings every workspace's gateway in step with the store:
// endpoints the store has and the gateway lacks are loaded, those it no
// longer has are taken off, a changed endpoint gets its keys read again
// and its auth mode, token generation, traffic and mirror applied, and
// the deployments Succeeded in the store with a spec other than the one
// on the gateway are rolled out as a follower. Listing the workspaces or
// endpoints fails it at once, before it takes anything off the gateway;
// an endpoint that fails (reading its keys, say) does not stop the
// others, and the errors of all such are returned at the end. A failed
// follower rollout or traffic change is not an error: it is logged and
// left for the next change.
func (s *Service) reconcile(ctx context.Context) error {
	stored := map[string]bool{} // epKey of every stored endpoint
	var failed []error          // of single endpoints: the others go on
	var opt hangar.ListOptions
	for {
		page, err := s.Workspaces.ListWorkspaces(ctx, opt)
		if err != nil {
			return fmt.Errorf("list workspaces: %w", err)
		}
		for _, w := range page.Items {
			if err := s.reconcileWorkspace(ctx, w.Name, stored, &failed); err != nil {
				return err
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
	s.mu.Unlock()
	slices.Sort(gone)
	for _, k := range gone {
		ws, name, _ := strings.Cut(k, "/")
		// The store is asked again: an endpoint this server created after
		// the listing is not taken off.
		if _, err := s.Store.OnlineEndpoint(ctx, ws, name); !hangar.IsCode(err, hangar.ENOTFOUND) {
			if err != nil {
				return fmt.Errorf("online endpoint %s of workspace %q: %w", name, ws, err)
			}
			continue
		}
		s.takeOff(ctx, ws, name)
	}
	return errors.Join(failed...)
}

// reconcileWorkspace reconciles the endpoints of one workspace and adds
// their keys to stored. It returns the error of listing them; the error
// of an endpoint is added to failed.
func (s *Service) reconcileWorkspace(ctx context.Context, ws string, stored map[string]bool, failed *[]error) error {
	var opt hangar.ListOptions
	for {
		page, err := s.Store.ListOnlineEndpoints(ctx, ws, opt)
		if err != nil {
			return fmt.Errorf("list online endpoints of workspace %q: %w", ws, err)
		}
		for _, e := range page.Items {
			stored[epKey(ws, e.Name)] = true
			if err := s.reconcileEndpoint(ctx, ws, e); err != nil {
				if ctx.Err() != nil {
					return err
				}
				*failed = append(*failed, err)
			}
		}
		if page.NextPageToken == "" {
			return nil
		}
		opt.PageToken = page.NextPageToken
	}
}

// reconcileEndpoint brings one stored endpoint and its deployments onto
// the gateway.
func (s *Service) reconcileEndpoint(ctx context.Context, ws string, e *hangar.OnlineEndpoint) error {
	k := epKey(ws, e.Name)
	s.mu.Lock()
	m, marked := s.marks[k]
	s.mu.Unlock()
	if marked && m.tokenGeneration != int64(e.TokenGeneration) {
		// Deleted and created again under its name through another
		// server: another endpoint, whose predecessor goes first — its
		// deployments, keys and tokens with it.
		s.takeOff(ctx, ws, e.Name)
		marked = false
	}
	changed := !marked || !m.sameRow(e)
	if changed {
		// Keys and auth mode first, with the traffic the gateway has: a
		// regenerated key is refused from here on, and a new endpoint is
		// open before its deployments arrive.
		s.mu.Lock()
		delete(s.keys, k)
		err := s.syncLocked(ctx, ws, e.Name, false)
		s.mu.Unlock()
		if hangar.IsCode(err, hangar.ENOTFOUND) {
			return nil // gone since the listing; the next reconcile sees it
		}
		if err != nil {
			return fmt.Errorf("online endpoint %s of workspace %q: %w", e.Name, ws, err)
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
			return fmt.Errorf("list deployments of online endpoint %s of workspace %q: %w", e.Name, ws, err)
		}
		deps = append(deps, page.Items...)
		if page.NextPageToken == "" {
			break
		}
		opt.PageToken = page.NextPageToken
	}
	moved := false
	names := map[string]bool{}
	for _, d := range deps {
		names[d.Name] = true
		if d.State != hangar.StateSucceeded {
			// Creating and Updating ones are the rolling-out server's;
			// Failed ones are not loaded (an older version here serves on).
			continue
		}
		if s.followDeployment(ctx, ws, d) {
			moved = true
		}
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
		if !ok || names[name] || st.leading {
			continue
		}
		gone = append(gone, goneDep{name, st})
	}
	s.mu.Unlock()
	if changed || moved || len(gone) > 0 || !m.traffic {
		if err := s.sync(ctx, ws, e.Name); err != nil && !hangar.IsCode(err, hangar.ENOTFOUND) {
			// The traffic names a deployment this gateway could not load:
			// the traffic before stays; the next change tries again.
			s.Logger.Error("release: follow the store: apply the endpoint's traffic", "workspace", ws, "endpoint", e.Name, "err", err)
		}
	}
	for _, g := range gone {
		if _, err := s.Store.OnlineDeployment(ctx, ws, e.Name, g.name); !hangar.IsCode(err, hangar.ENOTFOUND) {
			continue // created since the listing (or the store failed): the next reconcile decides
		}
		dk := depKey(ws, e.Name, g.name)
		s.mu.Lock()
		if s.deps[dk] != g.st || g.st.leading {
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

// followDeployment rolls a deployment Succeeded in the store out on this
// gateway as a follower, unless the gateway serves its spec already, a
// rollout of this server that records its outcome is in progress (it
// decides), or the spec failed here before. It reports whether the
// gateway now serves the spec. A follower rollout records nothing in the
// store: a failure is in the deployment's events and the server log, and
// the version before keeps serving here.
func (s *Service) followDeployment(ctx context.Context, ws string, d *hangar.OnlineDeployment) bool {
	want := specJSON(d.Spec)
	s.mu.Lock()
	if !s.opened || s.ctx.Err() != nil {
		s.mu.Unlock()
		return false
	}
	st := s.stateLocked(depKey(ws, d.Endpoint, d.Name))
	st.mu.Lock()
	skip := bytes.Equal(st.served, want) || bytes.Equal(st.failed, want)
	st.mu.Unlock()
	if skip {
		s.mu.Unlock()
		return false
	}
	if st.leading {
		// That rollout may end with another spec than the store's (it
		// lost a race with another server): look again at the next tick,
		// whatever the generation.
		s.resync = true
		s.mu.Unlock()
		return false
	}
	st.supersede()
	gen := st.gen.Load()
	rctx, cancel := context.WithTimeout(ctx, s.deployTimeout())
	st.cancel = cancel
	s.mu.Unlock()
	defer cancel()

	st.run.Lock()
	defer st.run.Unlock()
	if st.gen.Load() != gen {
		return false
	}
	st.event(s.now(), "following: rollout of model %s:%s, Succeeded through another server", d.Spec.ModelName, d.Spec.ModelVersion)
	err := s.deployOnGateway(rctx, st, ws, d)
	if st.gen.Load() != gen {
		// A rollout of this server or a deletion took over; it decides.
		s.mu.Lock()
		gone := s.deps[depKey(ws, d.Endpoint, d.Name)] != st
		s.mu.Unlock()
		if err == nil && gone {
			s.removeFromGateway(context.WithoutCancel(rctx), st, ws, d.Endpoint, d.Name)
		}
		return false
	}
	if err != nil {
		if ctx.Err() != nil {
			st.event(s.now(), "following: rollout stopped")
			return false
		}
		st.mu.Lock()
		st.failed = want
		st.mu.Unlock()
		st.event(s.now(), "following: deployment failed on this server: %s; the version before (if any) keeps serving here", s.failureMessage(d.Spec, err))
		s.Logger.Warn("release: follow the store: deployment failed on this server", "workspace", ws, "endpoint", d.Endpoint, "deployment", d.Name, "err", err)
		return false
	}
	st.event(s.now(), "following: smoke test passed; deployment serving on this server")
	return true
}
