package release

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/endpointauth"
	"github.com/hangar-ml/hangar/serving"
)

// The hangar.EndpointService methods: the store first, then the gateway.
// A gateway change that fails after the store accepted is logged, not
// returned: the store is the truth, and Replay or the next change brings
// the gateway back in step.

func epKey(ws, name string) string { return ws + "/" + name }

// CreateOnlineEndpoint stores the endpoint and opens it on the
// workspace's gateway with its keys.
func (s *Service) CreateOnlineEndpoint(ctx context.Context, workspace string, e *hangar.OnlineEndpoint) error {
	if err := s.Store.CreateOnlineEndpoint(ctx, workspace, e); err != nil {
		return err
	}
	s.syncLog(ctx, workspace, e.Name, 0)
	return nil
}

// OnlineEndpoint is the store's.
func (s *Service) OnlineEndpoint(ctx context.Context, workspace, name string) (*hangar.OnlineEndpoint, error) {
	return s.Store.OnlineEndpoint(ctx, workspace, name)
}

// ListOnlineEndpoints is the store's.
func (s *Service) ListOnlineEndpoints(ctx context.Context, workspace string, opt hangar.ListOptions) (*hangar.Page[*hangar.OnlineEndpoint], error) {
	return s.Store.ListOnlineEndpoints(ctx, workspace, opt)
}

// UpdateOnlineEndpoint updates the store, then the gateway (the auth mode
// may have changed).
func (s *Service) UpdateOnlineEndpoint(ctx context.Context, workspace, name string, u hangar.OnlineEndpointUpdate, version int64) (*hangar.OnlineEndpoint, error) {
	e, err := s.Store.UpdateOnlineEndpoint(ctx, workspace, name, u, version)
	if err != nil {
		return nil, err
	}
	s.syncLog(ctx, workspace, name, e.Version)
	return e, nil
}

// DeleteOnlineEndpoint deletes the endpoint from the store, stops its
// rollouts, then takes it off the gateway, draining its deployments.
func (s *Service) DeleteOnlineEndpoint(ctx context.Context, workspace, name string) error {
	if err := s.Store.DeleteOnlineEndpoint(ctx, workspace, name); err != nil {
		return err
	}
	s.takeOff(ctx, workspace, name, false)
	return nil
}

// takeOff takes an endpoint the store no longer has off the gateway: its
// rollouts stop, its keys and token generation are forgotten, its
// deployments drain and then their staged folders go. With restart (the
// endpoint was deleted and created again under its name through another
// server), a rollout of this server that records its outcome and belongs
// to the new endpoint — its deployment is still stored, with the
// CreatedAt it started with — starts again, so that it is recorded
// rather than left Creating or Updating.
func (s *Service) takeOff(ctx context.Context, workspace, name string, restart bool) {
	k := epKey(workspace, name)
	type leader struct {
		st      *depState
		name    string
		all     bool
		created time.Time
	}
	var leaders []leader
	s.mu.Lock()
	prefix := k + "/"
	var gone []*depState
	for dk, st := range s.deps {
		if !strings.HasPrefix(dk, prefix) {
			continue
		}
		if restart && st.leadingLocked() {
			// Kept in s.deps: the rollout superseded here gives way to
			// the one started again below (st.run orders them), and does
			// not take the deployment off the gateway after it.
			leaders = append(leaders, leader{st, strings.TrimPrefix(dk, prefix), st.leadAll, st.leadCreated})
		} else {
			delete(s.deps, dk)
		}
		st.supersede()
		gone = append(gone, st)
	}
	delete(s.keys, k)
	delete(s.applied, k)
	delete(s.marks, k)
	g := (*s.gws.Load())[workspace]
	if v := tokenVerifier(g); v != nil {
		// Its tokens are void from here, even those in flight: a new
		// endpoint of this name gets a new generation.
		v.Forget(name)
	}
	if c := s.sinks[workspace]; c != nil {
		c.forgetEndpoint(name)
	}
	s.mu.Unlock()
	if g != nil {
		// DeleteEndpoint returns once the deployments' last requests are
		// answered: their staged folders may go then.
		if err := g.DeleteEndpoint(ctx, name); err != nil && !hangar.IsCode(err, hangar.ENOTFOUND) {
			s.Logger.Error("release: take the endpoint off the gateway", "workspace", workspace, "endpoint", name, "err", err)
		}
	}
	for _, st := range gone {
		st.offGateway()
		s.letGo(st)
	}
	s.mu.Lock()
	healed := false
	if _, ok := s.applied[k]; ok {
		// An endpoint of this name created meanwhile reached the gateway
		// before DeleteEndpoint took it off again: forget that it is
		// there, apply it again below and, when following, have the next
		// reconcile load its deployments.
		delete(s.applied, k)
		delete(s.marks, k)
		gone = gone[:0]
		for dk, st := range s.deps {
			if strings.HasPrefix(dk, prefix) {
				st.offGateway()
				gone = append(gone, st)
			}
		}
		s.resync = true
		healed = true
	}
	s.mu.Unlock()
	for _, st := range gone {
		s.letGo(st)
	}
	if healed {
		if err := s.sync(ctx, workspace, name, 0); err != nil && !hangar.IsCode(err, hangar.ENOTFOUND) {
			s.Logger.Error("release: apply the endpoint to the gateway", "workspace", workspace, "endpoint", name, "err", err)
		}
	}
	for _, l := range leaders {
		d, err := s.Store.OnlineDeployment(ctx, workspace, name, l.name)
		if err == nil && d.CreatedAt.Equal(l.created) && (d.State == hangar.StateCreating || d.State == hangar.StateUpdating) {
			s.start(workspace, d, l.all)
			continue
		}
		// The rollout was the old endpoint's (or is recorded already, or
		// the store failed): nothing to start again here.
		s.mu.Lock()
		if s.deps[depKey(workspace, name, l.name)] == l.st && !l.st.leadingLocked() {
			l.st.mu.Lock()
			served := l.st.served != nil
			l.st.mu.Unlock()
			if !served {
				delete(s.deps, depKey(workspace, name, l.name))
			}
		}
		s.mu.Unlock()
		if err != nil && !hangar.IsCode(err, hangar.ENOTFOUND) {
			s.Logger.Error("release: read a deployment to roll it out again", "workspace", workspace, "endpoint", name, "deployment", l.name, "err", err)
		}
	}
}

// SetTraffic changes the traffic in the store (its compare-and-set
// decides) and then on the gateway, in one step every request sees whole.
func (s *Service) SetTraffic(ctx context.Context, workspace, name string, traffic, mirror map[string]int, version int64) (*hangar.OnlineEndpoint, error) {
	e, err := s.Store.SetTraffic(ctx, workspace, name, traffic, mirror, version)
	if err != nil {
		return nil, err
	}
	if err := s.sync(ctx, workspace, name, e.Version); err != nil {
		// The store changed; the gateway refused (it lacks a deployment
		// the store has as Succeeded, which Replay brings back).
		s.Logger.Error("release: apply traffic to the gateway", "workspace", workspace, "endpoint", name, "err", err)
	}
	return e, nil
}

// EndpointKeys is the store's (audited as onlineEndpoints/listKeys).
func (s *Service) EndpointKeys(ctx context.Context, workspace, name string) (*hangar.EndpointKeys, error) {
	return s.Store.EndpointKeys(ctx, workspace, name)
}

// RegenerateKey replaces the key in the store and on the gateway: the old
// key is refused from the moment RegenerateKey returns.
func (s *Service) RegenerateKey(ctx context.Context, workspace, name, which string) (*hangar.EndpointKeys, error) {
	keys, err := s.Store.RegenerateKey(ctx, workspace, name, which)
	if err != nil {
		return nil, err
	}
	// The keys returned are not given to the gateway as they are: the
	// store does not say which Version they belong to, and another
	// server may have regenerated a key since. sync reads them again
	// (the Version moved past the mark), audited as the system's listKeys.
	if err := s.sync(ctx, workspace, name, 0); err != nil {
		return nil, fmt.Errorf("regenerate the %s key of online endpoint %s: apply it to the data plane: %w", which, name, err)
	}
	return keys, nil
}

// CreateOnlineDeployment stores a deployment without rolling it out: use
// Deploy for that.
func (s *Service) CreateOnlineDeployment(ctx context.Context, workspace string, d *hangar.OnlineDeployment) error {
	return s.Store.CreateOnlineDeployment(ctx, workspace, d)
}

// OnlineDeployment is the store's.
func (s *Service) OnlineDeployment(ctx context.Context, workspace, endpoint, name string) (*hangar.OnlineDeployment, error) {
	return s.Store.OnlineDeployment(ctx, workspace, endpoint, name)
}

// ListOnlineDeployments is the store's.
func (s *Service) ListOnlineDeployments(ctx context.Context, workspace, endpoint string, opt hangar.ListOptions) (*hangar.Page[*hangar.OnlineDeployment], error) {
	return s.Store.ListOnlineDeployments(ctx, workspace, endpoint, opt)
}

// TransitionOnlineDeployment is the store's: a new spec given here is
// recorded but not rolled out (Redeploy does both).
func (s *Service) TransitionOnlineDeployment(ctx context.Context, workspace, endpoint, name string, t hangar.DeploymentTransition) (*hangar.OnlineDeployment, error) {
	return s.Store.TransitionOnlineDeployment(ctx, workspace, endpoint, name, t)
}

// DeleteOnlineDeployment deletes the deployment from the store (which
// refuses while it takes traffic), stops its rollout, then takes it off
// the gateway once its in-flight requests are answered.
func (s *Service) DeleteOnlineDeployment(ctx context.Context, workspace, endpoint, name string) error {
	if err := s.Store.DeleteOnlineDeployment(ctx, workspace, endpoint, name); err != nil {
		return err
	}
	s.mu.Lock()
	k := depKey(workspace, endpoint, name)
	st := s.deps[k]
	if st != nil {
		st.supersede()
		delete(s.deps, k)
	}
	if c := s.sinks[workspace]; c != nil {
		c.configure(endpoint, name, nil)
	}
	s.mu.Unlock()
	// Once off the gateway — its last request answered — its staged
	// folders may go.
	s.removeFromGateway(ctx, st, workspace, endpoint, name)
	return nil
}

// syncLog is sync whose failure is only logged.
func (s *Service) syncLog(ctx context.Context, ws, name string, own int64) {
	if err := s.sync(ctx, ws, name, own); err != nil {
		s.Logger.Error("release: apply the endpoint to the gateway", "workspace", ws, "endpoint", name, "err", err)
	}
}

// sync reads the endpoint from the store and gives the gateway its auth
// mode, keys and traffic. The read and the change happen under s.mu, so
// two changes racing each other leave the gateway with the newer one:
// whoever applies last read last. own is the Version this server's own
// store write of the endpoint returned (UpdateOnlineEndpoint, SetTraffic:
// writes that leave the keys as they are), 0 for none.
func (s *Service) sync(ctx context.Context, ws, name string, own int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.syncLocked(ctx, ws, name, true, own)
}

// syncLocked applies the stored endpoint to the gateway; without traffic,
// only its auth and keys (Replay, before the deployments are back). own
// is as for sync. s.mu held.
func (s *Service) syncLocked(ctx context.Context, ws, name string, traffic bool, own int64) error {
	e, err := s.Store.OnlineEndpoint(ctx, ws, name)
	if err != nil {
		return err
	}
	g, err := s.gatewayLocked(ws)
	if err != nil {
		return err
	}
	k := epKey(ws, name)
	if m, ok := s.marks[k]; !ok || !keysCurrent(m, e, own) {
		delete(s.keys, k)
	}
	keys, ok := s.keys[k]
	if !ok {
		// The one read of the keys per endpoint and server start; the
		// store audits it as a listKeys by the system actor, which is
		// what it is: the server loading them into the data plane.
		kk, err := s.Store.EndpointKeys(ctx, ws, name)
		if err != nil {
			// The endpoint changed (its keys may have been regenerated)
			// and its keys cannot be read: fail closed — the gateway
			// gets keys nobody holds until a read succeeds, so a key
			// revoked elsewhere never keeps working here meanwhile.
			if prev, had := s.applied[k]; had {
				prev.Keys = []string{hangar.NewEndpointKey(), hangar.NewEndpointKey()}
				if g.SetEndpoint(prev) == nil {
					s.applied[k] = prev
				}
			}
			return err
		}
		keys = *kk
		s.keys[k] = keys
	}
	if v := tokenVerifier(g); v != nil {
		// Before the gateway knows the endpoint: a token is never checked
		// against another endpoint's generation.
		v.SetGeneration(name, e.TokenGeneration)
	}
	cfg := serving.EndpointConfig{
		Name: name, AuthMode: serving.AuthMode(e.AuthMode),
		Keys: []string{keys.Primary, keys.Secondary},
	}
	if traffic {
		cfg.Traffic, cfg.Mirror = positive(e.Traffic), positive(e.MirrorTraffic)
	}
	prev, had := s.applied[epKey(ws, name)]
	if !traffic && had {
		cfg.Traffic, cfg.Mirror = prev.Traffic, prev.Mirror
	}
	err = g.SetEndpoint(cfg)
	if err != nil && had {
		// The traffic names a deployment the gateway lacks: keep the
		// keys and auth in step anyway, with the traffic it had.
		prev.AuthMode, prev.Keys = cfg.AuthMode, cfg.Keys
		if g.SetEndpoint(prev) == nil {
			s.applied[k] = prev
			s.marks[k] = markOf(e, false)
		}
		return err
	}
	if err != nil {
		return err
	}
	s.applied[k] = cfg
	s.marks[k] = markOf(e, traffic)
	return nil
}

// keysCurrent reports whether the keys cached with mark m are those of
// the stored row e. They are when e is the row m was made from, or when
// e's Version is the one this server's own write (own, which left the
// keys alone) returned and that write is the only change since m: every
// change bumps the Version by exactly one, a key regeneration too. Any
// other Version may hide a key regenerated through another server — even
// one past the mark, when the step was not this server's — and the keys
// are read again.
func keysCurrent(m mark, e *hangar.OnlineEndpoint, own int64) bool {
	if m.tokenGeneration != int64(e.TokenGeneration) {
		return false
	}
	return e.Version == m.version || own != 0 && e.Version == own && own == m.version+1
}

// tokenVerifier is the aml_token verifier of a workspace's gateway, which
// learns each endpoint's token generation from syncLocked; nil for none.
func tokenVerifier(g *serving.Gateway) *endpointauth.Verifier {
	if g == nil {
		return nil
	}
	v, _ := g.Tokens.(*endpointauth.Verifier)
	return v
}

// positive keeps the entries with a positive share: the gateway needs
// only those, and a name at 0 need not be deployed on it.
func positive(m map[string]int) map[string]int {
	var out map[string]int
	for k, v := range m {
		if v > 0 {
			if out == nil {
				out = map[string]int{}
			}
			out[k] = v
		}
	}
	return out
}
