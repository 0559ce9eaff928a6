package release

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/serving"
	"github.com/hangar-ml/hangar/sqlstore"
)

// countingStore counts the reads a service makes of the endpoint store
// and of the workspaces, and the serving generation reads apart.
type countingStore struct {
	*sqlstore.EndpointService
	ws    Workspaces
	reads atomic.Int64
	gens  atomic.Int64
	down  atomic.Bool // ListOnlineEndpoints fails
	// afterList, when set, runs once after a ListOnlineDeployments read
	// the store: a change made through another server right then.
	afterList atomic.Pointer[func()]
	// badKeys, when set, names the endpoint whose keys cannot be read.
	badKeys atomic.Pointer[string]
}

func (c *countingStore) ServingGeneration(ctx context.Context) (int64, error) {
	c.gens.Add(1)
	return c.EndpointService.ServingGeneration(ctx)
}

func (c *countingStore) ListWorkspaces(ctx context.Context, opt hangar.ListOptions) (*hangar.Page[*hangar.Workspace], error) {
	c.reads.Add(1)
	return c.ws.ListWorkspaces(ctx, opt)
}

func (c *countingStore) OnlineEndpoint(ctx context.Context, workspace, name string) (*hangar.OnlineEndpoint, error) {
	c.reads.Add(1)
	return c.EndpointService.OnlineEndpoint(ctx, workspace, name)
}

func (c *countingStore) ListOnlineEndpoints(ctx context.Context, workspace string, opt hangar.ListOptions) (*hangar.Page[*hangar.OnlineEndpoint], error) {
	c.reads.Add(1)
	if c.down.Load() {
		return nil, hangar.Errorf(hangar.EUNAVAILABLE, "the store is down")
	}
	return c.EndpointService.ListOnlineEndpoints(ctx, workspace, opt)
}

func (c *countingStore) EndpointKeys(ctx context.Context, workspace, name string) (*hangar.EndpointKeys, error) {
	c.reads.Add(1)
	if bad := c.badKeys.Load(); bad != nil && *bad == name {
		return nil, hangar.Errorf(hangar.EINTERNAL, "the keys of %s do not decrypt", name)
	}
	return c.EndpointService.EndpointKeys(ctx, workspace, name)
}

func (c *countingStore) OnlineDeployment(ctx context.Context, workspace, endpoint, name string) (*hangar.OnlineDeployment, error) {
	c.reads.Add(1)
	return c.EndpointService.OnlineDeployment(ctx, workspace, endpoint, name)
}

func (c *countingStore) ListOnlineDeployments(ctx context.Context, workspace, endpoint string, opt hangar.ListOptions) (*hangar.Page[*hangar.OnlineDeployment], error) {
	c.reads.Add(1)
	page, err := c.EndpointService.ListOnlineDeployments(ctx, workspace, endpoint, opt)
	if f := c.afterList.Swap(nil); f != nil {
		(*f)()
	}
	return page, err
}

// follower is a second server's release service over the fixture's
// store (its own staging folder and metrics), counting its store reads.
type follower struct {
	*Service
	store *countingStore
	reg   *prometheus.Registry
}

func (f *fixture) newFollower(t *testing.T, configure func(*Service)) *follower {
	t.Helper()
	fl := &follower{store: &countingStore{EndpointService: f.store, ws: f.workspaces}, reg: prometheus.NewRegistry()}
	fl.Service = f.newServiceWith(t, func(s *Service) {
		s.Store, s.Workspaces, s.Registerer = fl.store, fl.store, fl.reg
		if configure != nil {
			configure(s)
		}
	})
	return fl
}

// reconcile runs one tick of following, fails the test on an error and
// waits for the follower rollouts it started to end.
func (fl *follower) reconcile(t *testing.T, ctx context.Context) {
	t.Helper()
	if err := fl.follow(ctx, fl.store); err != nil {
		t.Fatalf("follow: %v", err)
	}
	fl.followers.Wait()
}

// served counts the requests the follower's gateway answered with a
// deployment of an endpoint.
func (fl *follower) served(t *testing.T, endpoint, deployment string) int {
	t.Helper()
	mfs, err := fl.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, mf := range mfs {
		if mf.GetName() != "hangar_serving_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["endpoint"] == endpoint && labels["deployment"] == deployment && labels["code"] == "200" {
				n += int(m.GetCounter().GetValue())
			}
		}
	}
	return n
}

// wantScore scores through h and fails unless the status is want.
func wantScore(t *testing.T, what string, h http.Handler, endpoint, bearer string, want int, hdr ...string) {
	t.Helper()
	if code, body := score(t, h, endpoint, bearer, hdr...); code != want {
		t.Errorf("%s: got %d %s, want %d", what, code, body, want)
	}
}

// TestFollowerServesWhatAnotherServerChanged: two release services over
// one store, as two servers over one database. Every change made through
// A — an endpoint and its deployment, a regenerated key, a traffic
// shift, a new spec, deletions, a re-creation under the same name —
// reaches B's data plane at B's next reconcile, and a reconcile when
// nothing changed reads nothing but the serving generation.
func TestFollowerServesWhatAnotherServerChanged(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			f := newFixtureOn(t, b.dsn(t))
			a := f.svc
			fl := f.newFollower(t, nil)
			ctx := f.ctx

			// Created and deployed through A: B serves it with its keys.
			f.createEndpoint(t, "churn", "")
			f.deploy(t, "churn", "blue", spec(f.good), true, hangar.StateSucceeded)
			f.waitAllTraffic(t, "churn", "blue")
			keys, err := a.EndpointKeys(ctx, ws, "churn")
			if err != nil {
				t.Fatal(err)
			}
			wantScore(t, "B before it reconciled", fl, "churn", keys.Primary, http.StatusNotFound)
			fl.reconcile(t, ctx)
			wantScore(t, "B with the primary key", fl, "churn", keys.Primary, http.StatusOK)
			wantScore(t, "B with the secondary key", fl, "churn", keys.Secondary, http.StatusOK)
			wantScore(t, "B with a wrong key", fl, "churn", "nope", http.StatusUnauthorized)
			if lines, err := fl.Logs(ctx, ws, "churn", "blue", 0); err != nil || !strings.Contains(strings.Join(lines, "\n"), "following: smoke test passed") {
				t.Errorf("B's log of blue: got %q, %v; want its follower rollout", lines, err)
			}
			if d, err := f.store.OnlineDeployment(ctx, ws, "churn", "blue"); err != nil || d.Version != 2 {
				t.Errorf("blue after B followed: got version %v, %v; want 2 (B recorded nothing)", d.Version, err)
			}

			// Nothing changed: one read of the generation, nothing else.
			fl.store.reads.Store(0)
			fl.store.gens.Store(0)
			for range 3 {
				fl.reconcile(t, ctx)
			}
			if r, g := fl.store.reads.Load(), fl.store.gens.Load(); r != 0 || g != 3 {
				t.Errorf("3 reconciles with nothing changed: got %d store reads and %d generation reads, want 0 and 3", r, g)
			}

			// A regenerated (leaked) key stops working on B.
			nk, err := a.RegenerateKey(ctx, ws, "churn", hangar.KeyPrimary)
			if err != nil {
				t.Fatal(err)
			}
			fl.reconcile(t, ctx)
			wantScore(t, "B with the regenerated key", fl, "churn", nk.Primary, http.StatusOK)
			wantScore(t, "B with the old primary key", fl, "churn", keys.Primary, http.StatusUnauthorized)
			wantScore(t, "B with the secondary key after regenerating the primary", fl, "churn", keys.Secondary, http.StatusOK)

			// Traffic shifted through A: B routes to green.
			f.deploy(t, "churn", "green", spec(f.putModel(t, "green")), false, hangar.StateSucceeded)
			e, err := a.SetTraffic(ctx, ws, "churn", map[string]int{"blue": 0, "green": 100}, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			fl.reconcile(t, ctx)
			blue, green := fl.served(t, "churn", "blue"), fl.served(t, "churn", "green")
			for range 5 {
				wantScore(t, "B after the traffic shift", fl, "churn", nk.Primary, http.StatusOK)
			}
			if gb, gg := fl.served(t, "churn", "blue")-blue, fl.served(t, "churn", "green")-green; gb != 0 || gg != 5 {
				t.Errorf("B after the shift to green (%s): blue answered %d, green %d; want 0 and 5", hangar.FormatTraffic(e.Traffic), gb, gg)
			}

			// A new spec for green through A: B serves the new version.
			newSpec := spec(f.putModel(t, "green v2"))
			newSpec.ModelVersion = "2"
			f.redeploy(t, "churn", "green", newSpec, hangar.StateSucceeded)
			fl.reconcile(t, ctx)
			fl.mu.Lock()
			st := fl.deps[depKey(ws, "churn", "green")]
			fl.mu.Unlock()
			st.mu.Lock()
			served := string(st.served)
			st.mu.Unlock()
			if served != string(specJSON(newSpec)) {
				t.Errorf("B's green after the update: serves %s, want %s", served, specJSON(newSpec))
			}
			wantScore(t, "B after the update", fl, "churn", nk.Primary, http.StatusOK)

			// Tags only: the spec is the same, B rolls nothing out again.
			events := func() int {
				lines, _ := fl.Logs(ctx, ws, "churn", "green", 0)
				return strings.Count(strings.Join(lines, "\n"), "following: rollout")
			}
			before := events()
			if _, err := a.Redeploy(ctx, ws, "churn", "green", hangar.DeploymentTransition{Tags: map[string]string{"team": "risk"}}); err != nil {
				t.Fatal(err)
			}
			fl.reconcile(t, ctx)
			if got := events(); got != before {
				t.Errorf("B's follower rollouts of green after a tag change: got %d, want %d", got, before)
			}

			// Blue deleted through A: B no longer has it.
			if err := a.DeleteOnlineDeployment(ctx, ws, "churn", "blue"); err != nil {
				t.Fatal(err)
			}
			fl.reconcile(t, ctx)
			wantScore(t, "B scoring the deleted blue by name", fl, "churn", nk.Primary, http.StatusNotFound, "azureml-model-deployment", "blue")
			wantScore(t, "B scoring green by name", fl, "churn", nk.Primary, http.StatusOK, "azureml-model-deployment", "green")

			// The endpoint deleted through A: B answers 404.
			if err := a.DeleteOnlineEndpoint(ctx, ws, "churn"); err != nil {
				t.Fatal(err)
			}
			fl.reconcile(t, ctx)
			wantScore(t, "B after the endpoint was deleted", fl, "churn", nk.Primary, http.StatusNotFound)
		})
	}
}

// TestFollowerRefusesTheTokensOfARecreatedEndpoint: an endpoint deleted
// and created again under its name through A is another endpoint on B
// too: the old aml_token is refused, the new one scores.
func TestFollowerRefusesTheTokensOfARecreatedEndpoint(t *testing.T) {
	f := newFixture(t)
	a := f.svc
	fl := f.newFollower(t, nil)
	ctx := f.ctx
	f.createEndpoint(t, "tok", hangar.EndpointAuthToken)
	f.deploy(t, "tok", "blue", spec(f.good), true, hangar.StateSucceeded)
	f.waitAllTraffic(t, "tok", "blue")
	old, _, err := a.Token(ctx, ws, "tok")
	if err != nil {
		t.Fatal(err)
	}
	fl.reconcile(t, ctx)
	wantScore(t, "B with the token", fl, "tok", old, http.StatusOK)

	if err := a.DeleteOnlineEndpoint(ctx, ws, "tok"); err != nil {
		t.Fatal(err)
	}
	f.createEndpoint(t, "tok", hangar.EndpointAuthToken)
	f.deploy(t, "tok", "blue", spec(f.good), true, hangar.StateSucceeded)
	f.waitAllTraffic(t, "tok", "blue")
	fresh, _, err := a.Token(ctx, ws, "tok")
	if err != nil {
		t.Fatal(err)
	}
	fl.reconcile(t, ctx)
	wantScore(t, "B with a token of the deleted endpoint", fl, "tok", old, http.StatusUnauthorized)
	wantScore(t, "B with a token of the new endpoint", fl, "tok", fresh, http.StatusOK)
}

// TestFollowerRolloutLeavesALocalRolloutAlone: a reconcile that finds a
// deployment Succeeded in the store with a spec its gateway does not
// serve while this server's own rollout of that deployment is in
// progress leaves that rollout alone (it records its outcome); once it
// ended, the next reconcile rolls the stored spec out. A follower rollout
// that fails records nothing and is not tried again for the same spec.
func TestFollowerRolloutLeavesALocalRolloutAlone(t *testing.T) {
	f := newFixture(t)
	v2, v3 := f.putModel(t, "v2"), f.putModel(t, "v3")
	var (
		mu      sync.Mutex
		blocked = make(chan struct{})
		gate    chan struct{}
	)
	fl := f.newFollower(t, func(s *Service) {
		s.Load = func(dir string) (serving.Model, error) {
			mu.Lock()
			g := gate
			mu.Unlock()
			if g != nil && strings.Contains(dir, v2.Hex()) {
				close(blocked)
				<-g
			}
			return serving.LoadModel(dir)
		}
	})
	ctx := f.ctx
	f.createEndpoint(t, "race", "")
	if err := fl.Deploy(ctx, ws, &hangar.OnlineDeployment{Endpoint: "race", Name: "blue", Spec: spec(f.good)}, true); err != nil {
		t.Fatal(err)
	}
	f.wait(t, "race", "blue", hangar.StateSucceeded)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if e, err := f.store.OnlineEndpoint(ctx, ws, "race"); err == nil && e.Traffic["blue"] == 100 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("blue did not get all the traffic")
		}
	}

	// fl's own update to v2 holds in its model load …
	mu.Lock()
	gate = make(chan struct{})
	mu.Unlock()
	s2 := spec(v2)
	if _, err := fl.Redeploy(ctx, ws, "race", "blue", hangar.DeploymentTransition{Spec: &s2}); err != nil {
		t.Fatal(err)
	}
	<-blocked
	// … while another server records v3 as Succeeded.
	s3 := spec(v3)
	if _, err := f.store.TransitionOnlineDeployment(ctx, ws, "race", "blue", hangar.DeploymentTransition{Spec: &s3}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.TransitionOnlineDeployment(ctx, ws, "race", "blue", hangar.DeploymentTransition{To: hangar.StateSucceeded}); err != nil {
		t.Fatal(err)
	}
	fl.mu.Lock()
	st := fl.deps[depKey(ws, "race", "blue")]
	gen := st.gen.Load()
	fl.mu.Unlock()
	fl.reconcile(t, ctx)
	if got := st.gen.Load(); got != gen {
		t.Errorf("a reconcile during the local rollout superseded it: generation %d → %d", gen, got)
	}
	close(gate)
	// The local rollout ends; the store's state is not its to record any
	// more (ECONFLICT, logged). The next reconcile serves v3.
	deadline := time.Now().Add(30 * time.Second)
	for {
		fl.mu.Lock()
		leading := st.leadingLocked()
		fl.mu.Unlock()
		if !leading {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the local rollout did not end")
		}
		time.Sleep(10 * time.Millisecond)
	}
	st.mu.Lock()
	served := string(st.served)
	st.mu.Unlock()
	if served != string(specJSON(s2)) {
		t.Fatalf("after the local rollout: serves %s, want v2", served)
	}
	if err := fl.follow(ctx, fl.store); err != nil {
		t.Fatal(err)
	}
	fl.followers.Wait()
	st.mu.Lock()
	served = string(st.served)
	st.mu.Unlock()
	if served != string(specJSON(s3)) {
		t.Errorf("after the next reconcile: serves %s, want v3", served)
	}

	// A spec that fails here: the store keeps its state, and the same
	// spec is not rolled out again at the next change.
	bad := spec(f.bad)
	if _, err := f.store.TransitionOnlineDeployment(ctx, ws, "race", "blue", hangar.DeploymentTransition{Spec: &bad}); err != nil {
		t.Fatal(err)
	}
	d, err := f.store.TransitionOnlineDeployment(ctx, ws, "race", "blue", hangar.DeploymentTransition{To: hangar.StateSucceeded})
	if err != nil {
		t.Fatal(err)
	}
	fl.reconcile(t, ctx)
	if got, err := f.store.OnlineDeployment(ctx, ws, "race", "blue"); err != nil || got.Version != d.Version || got.State != hangar.StateSucceeded {
		t.Errorf("after a failed follower rollout: got %+v, %v; want it unchanged", got, err)
	}
	lines, _ := fl.Logs(ctx, ws, "race", "blue", 0)
	if n := strings.Count(strings.Join(lines, "\n"), "following: deployment failed on this server"); n != 1 {
		t.Errorf("failed follower rollouts in the log: got %d, want 1:\n%s", n, strings.Join(lines, "\n"))
	}
	d2 := "changed"
	if _, err := f.store.UpdateOnlineEndpoint(ctx, ws, "race", hangar.OnlineEndpointUpdate{Description: &d2}, 0); err != nil {
		t.Fatal(err)
	}
	fl.reconcile(t, ctx)
	lines, _ = fl.Logs(ctx, ws, "race", "blue", 0)
	if n := strings.Count(strings.Join(lines, "\n"), "following: deployment failed on this server"); n != 1 {
		t.Errorf("failed follower rollouts after another change: got %d, want 1", n)
	}
	keys, err := f.store.EndpointKeys(ctx, ws, "race")
	if err != nil {
		t.Fatal(err)
	}
	wantScore(t, "v3 serving on after the failed rollout", fl, "race", keys.Primary, http.StatusOK)
}

// TestFollowLoop: with FollowInterval set, the service follows on its
// own: an endpoint created and deployed through A scores on B.
func TestFollowLoop(t *testing.T) {
	f := newFixture(t)
	fl := f.newFollower(t, func(s *Service) { s.FollowInterval = 20 * time.Millisecond })
	f.createEndpoint(t, "loop", "")
	f.deploy(t, "loop", "blue", spec(f.good), true, hangar.StateSucceeded)
	f.waitAllTraffic(t, "loop", "blue")
	keys, err := f.svc.EndpointKeys(f.ctx, ws, "loop")
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, _ := score(t, fl, "loop", keys.Primary)
		if code == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("B's answer 30 s after the deployment: got %d, want 200", code)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestFailedReconcileIsRetried: a reconcile that cannot read the store
// returns its error and leaves the generation unseen, so the next tick
// reconciles again although nothing changed since.
func TestFailedReconcileIsRetried(t *testing.T) {
	f := newFixture(t)
	fl := f.newFollower(t, nil)
	f.createEndpoint(t, "retry", "")
	f.deploy(t, "retry", "blue", spec(f.good), true, hangar.StateSucceeded)
	f.waitAllTraffic(t, "retry", "blue")
	keys, err := f.svc.EndpointKeys(f.ctx, ws, "retry")
	if err != nil {
		t.Fatal(err)
	}
	fl.store.down.Store(true)
	if err := fl.follow(f.ctx, fl.store); !hangar.IsCode(err, hangar.EUNAVAILABLE) {
		t.Fatalf("follow with the store down: got %v, want EUNAVAILABLE", err)
	}
	wantScore(t, "B after a failed reconcile", fl, "retry", keys.Primary, http.StatusNotFound)
	fl.store.down.Store(false)
	fl.reconcile(t, f.ctx)
	wantScore(t, "B after the store came back", fl, "retry", keys.Primary, http.StatusOK)
}
