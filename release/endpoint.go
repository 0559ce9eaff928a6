package release

import (
	"context"
	"fmt"
	"strings"

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
	s.syncLog(ctx, workspace, e.Name)
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
	s.syncLog(ctx, workspace, name)
	return e, nil
}

// DeleteOnlineEndpoint deletes the endpoint from the store, stops its
// rollouts, then takes it off the gateway, draining its deployments.
func (s *Service) DeleteOnlineEndpoint(ctx context.Context, workspace, name string) error {
	if err := s.Store.DeleteOnlineEndpoint(ctx, workspace, name); err != nil {
		return err
	}
	s.takeOff(ctx, workspace, name)
	return nil
}

// takeOff takes an endpoint the store no longer has off the gateway: its
// rollouts stop, its keys and token generation are forgotten, its
// deployments drain and then their staged folders go.
func (s *Service) takeOff(ctx context.Context, workspace, name string) {
	k := epKey(workspace, name)
	s.mu.Lock()
	prefix := k + "/"
	var gone []*depState
	for dk, st := range s.deps {
		if strings.HasPrefix(dk, prefix) {
			st.supersede()
			delete(s.deps, dk)
			gone = append(gone, st)
		}
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
		s.letGo(st)
	}
	s.mu.Lock()
	if _, ok := s.applied[k]; ok {
		// An endpoint of this name created meanwhile reached the gateway
		// before DeleteEndpoint took it off again: forget that it is
		// there, so that the next reconcile (when following) loads it.
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
	}
	s.mu.Unlock()
	for _, st := range gone {
		s.letGo(st)
	}
}

// SetTraffic changes the traffic in the store (its compare-and-set
// decides) and then on the gateway, in one step every request sees whole.
func (s *Service) SetTraffic(ctx context.Context, workspace, name string, traffic, mirror map[string]int, version int64) (*hangar.OnlineEndpoint, error) {
	e, err := s.Store.SetTraffic(ctx, workspace, name, traffic, mirror, version)
	if err != nil {
		return nil, err
	}
	if err := s.sync(ctx, workspace, name); err != nil {
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
	s.mu.Lock()
	s.keys[epKey(workspace, name)] = *keys
	s.mu.Unlock()
	if err := s.sync(ctx, workspace, name); err != nil {
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
func (s *Service) syncLog(ctx context.Context, ws, name string) {
	if err := s.sync(ctx, ws, name); err != nil {
		s.Logger.Error("release: apply the endpoint to the gateway", "workspace", ws, "endpoint", name, "err", err)
	}
}

// sync reads the endpoint from the store and gives the gateway its auth
// mode, keys and traffic. The read and the change happen under s.mu, so
// two changes racing each other leave the gateway with the newer one:
// whoever applies last read last.
func (s *Service) sync(ctx context.Context, ws, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.syncLocked(ctx, ws, name, true)
}

// syncLocked applies the stored endpoint to the gateway; without traffic,
// only its auth and keys (Replay, before the deployments are back).
// s.mu held.
func (s *Service) syncLocked(ctx context.Context, ws, name string, traffic bool) error {
	e, err := s.Store.OnlineEndpoint(ctx, ws, name)
	if err != nil {
		return err
	}
	g, err := s.gatewayLocked(ws)
	if err != nil {
		return err
	}
	k := epKey(ws, name)
	if m, ok := s.marks[k]; !ok || m.tokenGeneration != int64(e.TokenGeneration) || e.Version != m.version && e.Version != m.version+1 {
		// Every change bumps the Version by one, a key regeneration too:
		// the Version one past the last one applied is this server's own
		// change (whose keys are cached right); more than one, and another
		// server may have changed the keys in between.
		delete(s.keys, k)
	}
	keys, ok := s.keys[k]
	if !ok {
		// The one read of the keys per endpoint and server start; the
		// store audits it as a listKeys by the system actor, which is
		// what it is: the server loading them into the data plane.
		k, err := s.Store.EndpointKeys(ctx, ws, name)
		if err != nil {
			return err
		}
		keys = *k
		s.keys[epKey(ws, name)] = keys
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
