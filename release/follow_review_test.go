package release

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/serving"
)

// fakeClock is a clock the test moves.
type fakeClock struct{ offset atomic.Int64 }

func (c *fakeClock) now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *fakeClock) advance(d time.Duration) { c.offset.Add(int64(d)) }

// gate holds the model loads of one model digest until it is opened.
type gate struct {
	model   hangar.Digest
	once    sync.Once
	blocked chan struct{} // closed when a load is held
	open    chan struct{}
}

func newGate(model hangar.Digest) *gate {
	return &gate{model: model, blocked: make(chan struct{}), open: make(chan struct{})}
}

func (g *gate) load(dir string) (serving.Model, error) {
	if strings.Contains(dir, g.model.Hex()) {
		g.once.Do(func() { close(g.blocked) })
		<-g.open
	}
	return serving.LoadModel(dir)
}

// TestFollowerReadsAKeyRegeneratedWhileItReconciles is the reviewer's
// repro: a key regenerated through A while B's reconcile lists the
// deployments bumps the Version by one past B's mark — not B's own
// change. B must read the keys again, not keep the old ones for good.
func TestFollowerReadsAKeyRegeneratedWhileItReconciles(t *testing.T) {
	f := newFixture(t)
	a := f.svc
	fl := f.newFollower(t, nil)
	ctx := f.ctx
	f.createEndpoint(t, "leak", "")
	f.deploy(t, "leak", "blue", spec(f.good), true, hangar.StateSucceeded)
	f.waitAllTraffic(t, "leak", "blue")
	old, err := a.EndpointKeys(ctx, ws, "leak")
	if err != nil {
		t.Fatal(err)
	}
	fl.reconcile(t, ctx)
	wantScore(t, "B before", fl, "leak", old.Primary, http.StatusOK)

	v2 := spec(f.putModel(t, "v2"))
	v2.ModelVersion = "2"
	f.redeploy(t, "leak", "blue", v2, hangar.StateSucceeded)
	var fresh *hangar.EndpointKeys
	regenerate := func() {
		var err error
		if fresh, err = a.RegenerateKey(ctx, ws, "leak", hangar.KeyPrimary); err != nil {
			t.Error(err)
		}
	}
	fl.store.afterList.Store(&regenerate)
	for range 4 {
		fl.reconcile(t, ctx)
	}
	if fresh == nil {
		t.Fatal("the key was not regenerated during the reconcile")
	}
	wantScore(t, "B with the old primary key", fl, "leak", old.Primary, http.StatusUnauthorized)
	wantScore(t, "B with the new primary key", fl, "leak", fresh.Primary, http.StatusOK)
}

// TestLeadingEndsWhenReplaySupersedesIt: a local rollout superseded by
// Replay no longer counts as leading, so that following takes the
// deployment up again (and a deletion through another server takes it
// off).
func TestLeadingEndsWhenReplaySupersedesIt(t *testing.T) {
	f := newFixture(t)
	v2, v3 := f.putModel(t, "v2"), f.putModel(t, "v3")
	g := newGate(v2)
	fl := f.newFollower(t, func(s *Service) { s.Load = g.load })
	ctx := f.ctx
	f.createEndpoint(t, "lead", "")
	f.deploy(t, "lead", "blue", spec(f.good), true, hangar.StateSucceeded)
	f.waitAllTraffic(t, "lead", "blue")
	fl.reconcile(t, ctx)

	s2 := spec(v2)
	if _, err := fl.Redeploy(ctx, ws, "lead", "blue", hangar.DeploymentTransition{Spec: &s2}); err != nil {
		t.Fatal(err)
	}
	<-g.blocked
	fl.mu.Lock()
	st := fl.deps[depKey(ws, "lead", "blue")]
	gen := st.gen.Load()
	fl.mu.Unlock()
	replayed := make(chan error, 1)
	go func() { replayed <- fl.Replay(ctx) }()
	waitFor(t, "Replay superseding the rollout", func() bool { return st.gen.Load() != gen })
	close(g.open)
	if err := <-replayed; err != nil {
		t.Fatalf("Replay: %v", err)
	}
	f.wait(t, "lead", "blue", hangar.StateSucceeded)
	// The rollout Replay superseded ends after it.
	waitFor(t, "the superseded rollout's end", func() bool {
		if !st.run.TryLock() {
			return false
		}
		st.run.Unlock()
		return true
	})
	fl.mu.Lock()
	leading := st.leadingLocked()
	fl.mu.Unlock()
	if leading {
		t.Fatal("the deployment is leading after Replay superseded its rollout and finished it")
	}

	// Another server records v3: B follows it.
	s3 := spec(v3)
	if _, err := f.store.TransitionOnlineDeployment(ctx, ws, "lead", "blue", hangar.DeploymentTransition{Spec: &s3}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.TransitionOnlineDeployment(ctx, ws, "lead", "blue", hangar.DeploymentTransition{To: hangar.StateSucceeded}); err != nil {
		t.Fatal(err)
	}
	fl.reconcile(t, ctx)
	st.mu.Lock()
	served := string(st.served)
	st.mu.Unlock()
	if served != string(specJSON(s3)) {
		t.Errorf("B after another server recorded v3: serves %s, want v3", served)
	}
}

// TestRecreatedEndpointRestartsALocalRollout: an endpoint deleted and
// created again through A while B rolls out a deployment of the new
// endpoint: B's reconcile takes the old endpoint off but starts its own
// rollout again, which is recorded — never left Creating.
func TestRecreatedEndpointRestartsALocalRollout(t *testing.T) {
	f := newFixture(t)
	v2 := f.putModel(t, "v2")
	g := newGate(v2)
	fl := f.newFollower(t, func(s *Service) { s.Load = g.load })
	ctx := f.ctx
	f.createEndpoint(t, "again", "")
	fl.reconcile(t, ctx)
	if err := f.svc.DeleteOnlineEndpoint(ctx, ws, "again"); err != nil {
		t.Fatal(err)
	}
	f.createEndpoint(t, "again", "")
	if err := fl.Deploy(ctx, ws, &hangar.OnlineDeployment{Endpoint: "again", Name: "blue", Spec: spec(v2)}, true); err != nil {
		t.Fatal(err)
	}
	<-g.blocked
	fl.reconcile(t, ctx)
	close(g.open)
	f.wait(t, "again", "blue", hangar.StateSucceeded)
	keys, err := f.store.EndpointKeys(ctx, ws, "again")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "blue taking all the traffic", func() bool {
		e, err := f.store.OnlineEndpoint(ctx, ws, "again")
		return err == nil && e.Traffic["blue"] == 100
	})
	wantScore(t, "B after its rollout on the re-created endpoint", fl, "again", keys.Primary, http.StatusOK)
}

// TestFollowerRetriesATransientFailure: a follower rollout that failed for
// a reason that may pass (here the blob store, unavailable) is tried
// again after its backoff.
func TestFollowerRetriesATransientFailure(t *testing.T) {
	f := newFixture(t)
	clock := &fakeClock{}
	var fail atomic.Bool
	fail.Store(true)
	fl := f.newFollower(t, func(s *Service) {
		s.Now = clock.now
		s.Blobs = flakyBlobs{s.Blobs, &fail}
	})
	ctx := f.ctx
	f.createEndpoint(t, "flaky", "")
	f.deploy(t, "flaky", "blue", spec(f.good), true, hangar.StateSucceeded)
	f.waitAllTraffic(t, "flaky", "blue")
	keys, err := f.store.EndpointKeys(ctx, ws, "flaky")
	if err != nil {
		t.Fatal(err)
	}
	fl.reconcile(t, ctx)
	wantScore(t, "B after a transient failure", fl, "flaky", keys.Primary, http.StatusServiceUnavailable)
	fail.Store(false)
	fl.reconcile(t, ctx)
	wantScore(t, "B before the retry is due", fl, "flaky", keys.Primary, http.StatusServiceUnavailable)
	// A change through A meanwhile: the whole reconcile it causes keeps
	// the retry.
	desc := "changed"
	if _, err := f.svc.UpdateOnlineEndpoint(ctx, ws, "flaky", hangar.OnlineEndpointUpdate{Description: &desc}, 0); err != nil {
		t.Fatal(err)
	}
	fl.reconcile(t, ctx)
	wantScore(t, "B after another change, before the retry is due", fl, "flaky", keys.Primary, http.StatusServiceUnavailable)
	clock.advance(followRetryMin + time.Second)
	fl.reconcile(t, ctx)
	wantScore(t, "B after the retry", fl, "flaky", keys.Primary, http.StatusOK)
	if lines, _ := fl.Logs(ctx, ws, "flaky", "blue", 0); t.Failed() {
		t.Logf("B's log of blue:\n%s", strings.Join(lines, "\n"))
	}
}

// flakyBlobs is a blob store that is unavailable while fail is set.
type flakyBlobs struct {
	hangar.BlobStore
	fail *atomic.Bool
}

func (b flakyBlobs) Open(ctx context.Context, d hangar.Digest) (io.ReadCloser, error) {
	if b.fail.Load() {
		return nil, hangar.Errorf(hangar.EUNAVAILABLE, "the blob store is down")
	}
	return b.BlobStore.Open(ctx, d)
}

// TestFollowerDoesNotRollOutALocallyDeletedDeployment: a deployment
// deleted through this server after a reconcile listed it is not rolled
// out again as a follower.
func TestFollowerDoesNotRollOutALocallyDeletedDeployment(t *testing.T) {
	f := newFixture(t)
	fl := f.newFollower(t, nil)
	ctx := f.ctx
	f.createEndpoint(t, "del", "")
	f.deploy(t, "del", "blue", spec(f.good), true, hangar.StateSucceeded)
	f.waitAllTraffic(t, "del", "blue")
	fl.reconcile(t, ctx)
	f.deploy(t, "del", "green", spec(f.putModel(t, "green")), false, hangar.StateSucceeded)
	remove := func() {
		if err := fl.DeleteOnlineDeployment(ctx, ws, "del", "green"); err != nil {
			t.Error(err)
		}
	}
	fl.store.afterList.Store(&remove)
	fl.reconcile(t, ctx)
	keys, err := f.store.EndpointKeys(ctx, ws, "del")
	if err != nil {
		t.Fatal(err)
	}
	wantScore(t, "B scoring the deleted green by name", fl, "del", keys.Primary, http.StatusNotFound, "azureml-model-deployment", "green")
	wantScore(t, "B scoring blue", fl, "del", keys.Primary, http.StatusOK)
}

// TestFailingEndpointIsRetriedAlone: an endpoint whose keys cannot be
// read does not make every tick a full reconcile: it is retried alone,
// after a backoff, and the others are left alone.
func TestFailingEndpointIsRetriedAlone(t *testing.T) {
	f := newFixture(t)
	clock := &fakeClock{}
	fl := f.newFollower(t, func(s *Service) { s.Now = clock.now })
	ctx := f.ctx
	f.createEndpoint(t, "fine", "")
	f.createEndpoint(t, "broken", "")
	bad := "broken"
	fl.store.badKeys.Store(&bad)
	if err := fl.follow(ctx, fl.store); !hangar.IsCode(err, hangar.EINTERNAL) || !strings.Contains(err.Error(), "broken") {
		t.Fatalf("follow with a broken endpoint: got %v, want its EINTERNAL", err)
	}
	keys, err := f.store.EndpointKeys(ctx, ws, "fine")
	if err != nil {
		t.Fatal(err)
	}
	// The others are on the gateway (no deployment yet: 404 but not 401).
	wantScore(t, "B with a wrong key of the good endpoint", fl, "fine", "nope", http.StatusUnauthorized)
	wantScore(t, "B with the key of the good endpoint", fl, "fine", keys.Primary, http.StatusServiceUnavailable)

	fl.store.reads.Store(0)
	for range 3 {
		if err := fl.follow(ctx, fl.store); err != nil {
			t.Fatalf("follow before the retry is due: %v", err)
		}
	}
	if r := fl.store.reads.Load(); r != 0 {
		t.Errorf("3 ticks before the retry is due: got %d store reads, want 0", r)
	}
	clock.advance(followRetryMin + time.Second)
	if err := fl.follow(ctx, fl.store); !hangar.IsCode(err, hangar.EINTERNAL) {
		t.Fatalf("the retry: got %v, want EINTERNAL", err)
	}
	if r := fl.store.reads.Load(); r == 0 || r > 4 {
		t.Errorf("the retry of one endpoint: got %d store reads, want 1 to 4 (no listing)", r)
	}
	fl.store.badKeys.Store(nil)
	clock.advance(followRetryMin + time.Second)
	if err := fl.follow(ctx, fl.store); err != nil {
		t.Fatal(err)
	}
	// The backoff doubled to 20 s: not retried yet.
	wantScore(t, "B with a wrong key of the broken endpoint within its backoff", fl, "broken", "nope", http.StatusNotFound)
	clock.advance(2 * followRetryMin)
	if err := fl.follow(ctx, fl.store); err != nil {
		t.Fatalf("the retry after the store mended: %v", err)
	}
	bk, err := f.store.EndpointKeys(ctx, ws, "broken")
	if err != nil {
		t.Fatal(err)
	}
	wantScore(t, "B with a wrong key of the mended endpoint", fl, "broken", "nope", http.StatusUnauthorized)
	wantScore(t, "B with the key of the mended endpoint", fl, "broken", bk.Primary, http.StatusServiceUnavailable)
}

// TestSlowFollowerRolloutDelaysNoKeys: a follower rollout that takes its
// time (a model load held here) does not hold up the reconcile: a key
// regenerated on another endpoint is refused at once.
func TestSlowFollowerRolloutDelaysNoKeys(t *testing.T) {
	f := newFixture(t)
	v2 := f.putModel(t, "slow")
	g := newGate(v2)
	fl := f.newFollower(t, func(s *Service) { s.Load = g.load })
	ctx := f.ctx
	f.createEndpoint(t, "slow", "")
	f.createEndpoint(t, "fast", "")
	fl.reconcile(t, ctx)
	old, err := f.store.EndpointKeys(ctx, ws, "fast")
	if err != nil {
		t.Fatal(err)
	}
	f.deploy(t, "slow", "blue", spec(v2), true, hangar.StateSucceeded) // A's load is not held
	if _, err := f.svc.RegenerateKey(ctx, ws, "fast", hangar.KeyPrimary); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- fl.follow(ctx, fl.store) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		close(g.open)
		t.Fatal("the reconcile waited for a follower rollout")
	}
	<-g.blocked
	wantScore(t, "B with the regenerated key of the other endpoint", fl, "fast", old.Primary, http.StatusUnauthorized)
	close(g.open)
	fl.followers.Wait()
	keys, err := f.store.EndpointKeys(ctx, ws, "slow")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "B serving the slow deployment", func() bool {
		code, _ := score(t, fl, "slow", keys.Primary)
		return code == http.StatusOK
	})
}

// TestReplayIsNotFollowedAgain: the serving generation Replay read is
// taken as seen: the next tick of following reads nothing else.
func TestReplayIsNotFollowedAgain(t *testing.T) {
	f := newFixture(t)
	f.createEndpoint(t, "once", "")
	f.deploy(t, "once", "blue", spec(f.good), true, hangar.StateSucceeded)
	f.waitAllTraffic(t, "once", "blue")
	fl := f.newFollower(t, nil)
	if err := fl.Replay(f.ctx); err != nil {
		t.Fatal(err)
	}
	fl.store.reads.Store(0)
	if err := fl.follow(f.ctx, fl.store); err != nil {
		t.Fatal(err)
	}
	if r := fl.store.reads.Load(); r != 0 {
		t.Errorf("the tick after Replay: got %d store reads, want 0", r)
	}
}

// TestFollowerFailsClosedWhenItCannotReadChangedKeys: a key regenerated
// through A while B cannot read the keys (a store blip) is refused by B at
// once — B gives its gateway keys nobody holds until a read succeeds —
// and the new key works once the read does.
func TestFollowerFailsClosedWhenItCannotReadChangedKeys(t *testing.T) {
	f := newFixture(t)
	clock := &fakeClock{}
	fl := f.newFollower(t, func(s *Service) { s.Now = clock.now })
	ctx := f.ctx
	f.createEndpoint(t, "fenced", "")
	if err := fl.follow(ctx, fl.store); err != nil {
		t.Fatal(err)
	}
	old, err := f.store.EndpointKeys(ctx, ws, "fenced")
	if err != nil {
		t.Fatal(err)
	}
	wantScore(t, "B with the key before", fl, "fenced", old.Primary, http.StatusServiceUnavailable)
	if _, err := f.svc.RegenerateKey(ctx, ws, "fenced", hangar.KeyPrimary); err != nil {
		t.Fatal(err)
	}
	bad := "fenced"
	fl.store.badKeys.Store(&bad)
	if err := fl.follow(ctx, fl.store); err == nil {
		t.Fatal("follow with the keys unreadable: got no error")
	}
	wantScore(t, "B with the regenerated (old) key while it cannot read the keys", fl, "fenced", old.Primary, http.StatusUnauthorized)
	wantScore(t, "B with the secondary key while it cannot read the keys", fl, "fenced", old.Secondary, http.StatusUnauthorized)
	fl.store.badKeys.Store(nil)
	clock.advance(followRetryMax + time.Second)
	if err := fl.follow(ctx, fl.store); err != nil {
		t.Fatal(err)
	}
	fresh, err := f.store.EndpointKeys(ctx, ws, "fenced")
	if err != nil {
		t.Fatal(err)
	}
	wantScore(t, "B with the old key after", fl, "fenced", old.Primary, http.StatusUnauthorized)
	wantScore(t, "B with the new key after", fl, "fenced", fresh.Primary, http.StatusServiceUnavailable)
}
