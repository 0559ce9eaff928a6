// Package serving is Hangar's online scoring data plane: a Gateway that
// answers the scoring routes of every endpoint — Azure's /score, the Open
// Inference Protocol V2 and MLflow's /invocations — from deployments that
// run a model natively (the tree and linear runtimes, in process) or
// through a ScriptRunner (Azure scoring scripts, other MLflow flavors).
//
// The control plane drives it: SetEndpoint creates an endpoint or swaps
// its keys, traffic and mirror in one atomic step; Deploy loads a
// deployment, smoke-tests it and only then lets the endpoint route to it;
// RemoveDeployment and DeleteEndpoint take deployments out of the routing
// and close them once their in-flight requests are answered. Requests
// never see a half-made change: each one reads the endpoint's routing
// table once, through an atomic pointer, and holds its deployment until it
// is answered.
//
// The gateway keeps no state beyond memory: the control plane stores
// endpoints, deployments and keys, and replays them on start.
package serving

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hangar-ml/hangar"
)

// AuthMode is how callers of an endpoint authenticate.
type AuthMode string

// Auth modes (Azure's auth_mode; aad_token is not offered).
const (
	AuthKey   AuthMode = "key"       // Authorization: Bearer <primary or secondary key>
	AuthToken AuthMode = "aml_token" // Authorization: Bearer <token>, checked by Gateway.Tokens
)

// EndpointConfig is an endpoint's routing: who may call it and which
// deployments get its traffic. SetEndpoint swaps it atomically.
type EndpointConfig struct {
	Name     string
	AuthMode AuthMode // default AuthKey
	// Keys are the endpoint's keys (primary, secondary) for AuthKey; a
	// caller must present one of them. The control plane generates and
	// stores them.
	Keys []string
	// Traffic maps deployments to percentages summing to 0 or 100.
	Traffic map[string]int
	// Mirror maps at most one deployment, without live traffic, to the
	// percentage (≤ 50) of requests copied to it; its answers are
	// discarded.
	Mirror map[string]int
}

// Gateway answers the scoring routes of every endpoint. Set its fields,
// call Open, and serve it (ServeHTTP); Close drains it. The zero value is
// not usable: make it with NewGateway.
type Gateway struct {
	// Logger receives errors the client does not see (a capture batch
	// lost, a failing runner's details). Default: discard.
	Logger *slog.Logger
	// Registerer receives the gateway's metrics (the server's registry,
	// so they appear on its /metrics). Nil: not registered.
	Registerer prometheus.Registerer
	// Tokens verifies bearer tokens of AuthToken endpoints; without it
	// those endpoints refuse every call.
	Tokens TokenVerifier
	// Sink receives captured inputs and outputs; nil turns capture off.
	Sink Sink
	// CaptureBuffer is the number of records waiting for the sink before
	// new ones are dropped (default 8192); CaptureBatch the most records
	// per WriteCapture (default 512), CaptureInterval the longest a record
	// waits (default 1 s).
	CaptureBuffer   int
	CaptureBatch    int
	CaptureInterval time.Duration
	// MaxBodyBytes limits a request body (default 1.5 MB, Azure's limit;
	// larger bodies get 413).
	MaxBodyBytes int64
	// MirrorConcurrency bounds mirrored copies in flight (default 64);
	// more are dropped and counted, so a slow mirror never slows callers.
	MirrorConcurrency int
	// Load opens a model folder for a DeploymentSpec with ModelDir.
	// Default: LoadModel.
	Load func(dir string) (Model, error)

	mu        sync.Mutex // serialises control-plane changes
	endpoints atomic.Pointer[map[string]*endpoint]
	metrics   *metrics
	capture   *capturer
	mirrorSem chan struct{}
	pool      sync.Pool // *reqState
	idPrefix  string
	idSeq     atomic.Uint64
	cancel    context.CancelFunc
	bg        sync.WaitGroup // drains and probe loops
	mux       *http.ServeMux
	opened    bool
}

// NewGateway returns a gateway with default settings.
func NewGateway() *Gateway {
	g := &Gateway{
		Logger:            slog.New(slog.DiscardHandler),
		CaptureBuffer:     8192,
		CaptureBatch:      512,
		CaptureInterval:   time.Second,
		MaxBodyBytes:      1536 << 10,
		Load:              LoadModel,
		MirrorConcurrency: 64,
	}
	empty := map[string]*endpoint{}
	g.endpoints.Store(&empty)
	g.pool.New = func() any { return new(reqState) }
	g.metrics = newMetrics()
	var b [10]byte
	_, _ = rand.Read(b[:])
	g.idPrefix = hex.EncodeToString(b[:4]) + "-" + hex.EncodeToString(b[4:6]) + "-" + hex.EncodeToString(b[6:8]) + "-" + hex.EncodeToString(b[8:10]) + "-"
	g.mux = g.routes()
	return g
}

// Open registers the metrics and starts the capture writer. ctx bounds
// nothing but the gateway's own background work, which Close stops.
func (g *Gateway) Open(ctx context.Context) error {
	if g.opened {
		return hangar.Errorf(hangar.ECONFLICT, "gateway is open already")
	}
	if g.Registerer != nil {
		if err := g.metrics.register(g.Registerer, newWorkerCollector(g)); err != nil {
			return fmt.Errorf("serving metrics: %w", err)
		}
	}
	g.mirrorSem = make(chan struct{}, max(g.MirrorConcurrency, 1))
	ctx, g.cancel = context.WithCancel(context.WithoutCancel(ctx))
	if g.Sink != nil {
		g.capture = &capturer{
			sink: g.Sink, limit: max(g.CaptureBuffer, 1), batch: max(g.CaptureBatch, 1),
			interval: max(g.CaptureInterval, time.Millisecond), log: g.Logger,
			done: make(chan struct{}), wake: make(chan struct{}, 1),
			onDrop: g.metrics.captureDropped.Inc,
			onWrite: func(n int, err error) {
				res := "ok"
				if err != nil {
					res = "error"
				}
				g.metrics.captureWritten.WithLabelValues(res).Add(float64(n))
			},
		}
		go g.capture.run(ctx)
	}
	g.opened = true
	return nil
}

// Close takes every endpoint out of service, waits for in-flight requests
// and the capture writer to finish, and closes the script runners.
func (g *Gateway) Close() error {
	g.mu.Lock()
	eps := *g.endpoints.Load()
	empty := map[string]*endpoint{}
	g.endpoints.Store(&empty)
	var errs []error
	for _, ep := range eps {
		for _, d := range ep.deps {
			errs = append(errs, g.retire(d, false))
		}
	}
	g.mu.Unlock()
	g.bg.Wait()
	if g.cancel != nil {
		g.cancel()
	}
	if g.capture != nil {
		<-g.capture.done
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// CaptureDropped returns the number of captured samples dropped because
// the buffer was full.
func (g *Gateway) CaptureDropped() uint64 {
	if g.capture == nil {
		return 0
	}
	return g.capture.dropped.Load()
}

// endpoint is one endpoint: its configuration and deployments (guarded by
// Gateway.mu) and the routing table requests read without a lock.
type endpoint struct {
	cfg   EndpointConfig
	deps  map[string]*Deployment
	table atomic.Pointer[table]
}

// table is an endpoint's routing, immutable once published.
type table struct {
	name      string
	auth      AuthMode
	keys      [][]byte
	byName    map[string]*Deployment // every deployment, for the azureml-model-deployment header
	live      []weighted             // deployments with traffic, cumulative weights
	mirror    *Deployment
	mirrorPct int
}

type weighted struct {
	d   *Deployment
	cum int
}

// pick chooses a deployment by the traffic weights.
func (t *table) pick() *Deployment {
	switch len(t.live) {
	case 0:
		return nil
	case 1: // all the traffic: no draw
		return t.live[0].d
	}
	x := mrand.IntN(100)
	for _, w := range t.live {
		if x < w.cum {
			return w.d
		}
	}
	return t.live[len(t.live)-1].d
}

// publish rebuilds ep's table from its configuration and deployments.
func (ep *endpoint) publish() {
	t := &table{name: ep.cfg.Name, auth: ep.cfg.AuthMode, byName: make(map[string]*Deployment, len(ep.deps))}
	for _, k := range ep.cfg.Keys {
		if k != "" {
			sum := sha256.Sum256([]byte(k))
			t.keys = append(t.keys, sum[:])
		}
	}
	for n, d := range ep.deps {
		t.byName[n] = d
	}
	names := make([]string, 0, len(ep.cfg.Traffic))
	for n, w := range ep.cfg.Traffic {
		if w > 0 {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	cum := 0
	for _, n := range names {
		cum += ep.cfg.Traffic[n]
		t.live = append(t.live, weighted{ep.deps[n], cum})
	}
	for n, w := range ep.cfg.Mirror {
		if w > 0 {
			t.mirror, t.mirrorPct = ep.deps[n], w
		}
	}
	ep.table.Store(t)
}

// swapEndpoints replaces the endpoint map (copy on write). g.mu held.
func (g *Gateway) swapEndpoints(fn func(m map[string]*endpoint)) {
	old := *g.endpoints.Load()
	m := make(map[string]*endpoint, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	fn(m)
	g.endpoints.Store(&m)
}

// SetEndpoint creates the endpoint or replaces its configuration, in one
// step every request sees whole: a request reads either the old routing
// or the new one. Deployments named in Traffic and Mirror must be
// deployed (create the endpoint with no traffic, Deploy, then set the
// traffic). Errors: EINVALID for a bad name, auth mode, missing keys, or
// weights that break Azure's rules (each 0..100, summing to 0 or 100; one
// mirror of at most 50 % that has no live traffic); ENOTFOUND for a
// deployment the endpoint does not have.
func (g *Gateway) SetEndpoint(cfg EndpointConfig) error {
	if err := checkName("endpoint", cfg.Name); err != nil {
		return err
	}
	switch cfg.AuthMode {
	case "":
		cfg.AuthMode = AuthKey
	case AuthKey, AuthToken:
	default:
		return hangar.Errorf(hangar.EINVALID, "endpoint %s: auth_mode %q: want key or aml_token", cfg.Name, cfg.AuthMode)
	}
	if cfg.AuthMode == AuthKey && !slices.ContainsFunc(cfg.Keys, func(k string) bool { return k != "" }) {
		return hangar.Errorf(hangar.EINVALID, "endpoint %s: auth_mode key needs a key", cfg.Name)
	}
	cfg.Keys = slices.Clone(cfg.Keys)
	cfg.Traffic = cloneMap(cfg.Traffic)
	cfg.Mirror = cloneMap(cfg.Mirror)
	g.mu.Lock()
	defer g.mu.Unlock()
	ep := (*g.endpoints.Load())[cfg.Name]
	var deps map[string]*Deployment
	if ep != nil {
		deps = ep.deps
	}
	if err := checkTraffic(cfg, deps); err != nil {
		return err
	}
	if ep != nil {
		ep.cfg = cfg
		ep.publish()
		return nil
	}
	ep = &endpoint{cfg: cfg, deps: map[string]*Deployment{}}
	ep.publish()
	g.swapEndpoints(func(m map[string]*endpoint) { m[cfg.Name] = ep })
	return nil
}

func cloneMap(m map[string]int) map[string]int {
	if m == nil {
		return nil
	}
	c := make(map[string]int, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// checkTraffic applies Azure's rules for traffic and mirror_traffic.
func checkTraffic(cfg EndpointConfig, deps map[string]*Deployment) error {
	sum := 0
	for n, w := range cfg.Traffic {
		if w < 0 || w > 100 {
			return hangar.Errorf(hangar.EINVALID, "endpoint %s: traffic %s=%d: want 0..100", cfg.Name, n, w)
		}
		if deps[n] == nil {
			return hangar.Errorf(hangar.ENOTFOUND, "endpoint %s: traffic names deployment %s, which it does not have", cfg.Name, n)
		}
		sum += w
	}
	if sum != 0 && sum != 100 {
		return hangar.Errorf(hangar.EINVALID, "endpoint %s: traffic sums to %d; want 0 or 100", cfg.Name, sum)
	}
	mirrors := 0
	for n, w := range cfg.Mirror {
		if w < 0 || w > 50 {
			return hangar.Errorf(hangar.EINVALID, "endpoint %s: mirror_traffic %s=%d: want 0..50", cfg.Name, n, w)
		}
		if deps[n] == nil {
			return hangar.Errorf(hangar.ENOTFOUND, "endpoint %s: mirror_traffic names deployment %s, which it does not have", cfg.Name, n)
		}
		if w > 0 && cfg.Traffic[n] > 0 {
			return hangar.Errorf(hangar.EINVALID, "endpoint %s: deployment %s gets live traffic; it cannot get mirrored traffic too", cfg.Name, n)
		}
		if w > 0 {
			mirrors++
		}
	}
	if mirrors > 1 {
		return hangar.Errorf(hangar.EINVALID, "endpoint %s: mirror_traffic may name one deployment", cfg.Name)
	}
	return nil
}

// Deploy loads a deployment, smoke-tests it and adds it to its endpoint,
// with the traffic the endpoint already gives its name (none for a new
// name). Deploying a name again replaces the deployment in one step once
// the new one passed; the old one finishes its in-flight requests before
// it is closed. A deployment that fails to load or fails its smoke test
// is closed and leaves the endpoint as it was. Errors: EINVALID for a bad
// spec or model, ENOTFOUND for an unknown endpoint, ESMOKEFAILED when the
// smoke test fails. Deploy owns spec.Script from the call on: it closes
// it on every error.
func (g *Gateway) Deploy(ctx context.Context, spec DeploymentSpec) (_ *Deployment, err error) {
	defer func() {
		if err != nil {
			closeRunner(spec.Script)
		}
	}()
	if err := spec.validate(); err != nil {
		return nil, err
	}
	if (*g.endpoints.Load())[spec.Endpoint] == nil {
		return nil, hangar.Errorf(hangar.ENOTFOUND, "endpoint %s does not exist", spec.Endpoint)
	}
	model := spec.Model
	if spec.ModelDir != "" {
		m, err := g.Load(spec.ModelDir)
		if err != nil {
			return nil, fmt.Errorf("deployment %s: load model: %w", spec.Name, err)
		}
		model = m
	}
	d, err := newDeployment(spec, model)
	if err != nil {
		return nil, err
	}
	d.m = g.metrics.deployment(spec.Endpoint, spec.Name)
	d.ready.Store(true)
	if err := g.Smoke(ctx, d, spec.Sample); err != nil {
		return nil, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	ep := (*g.endpoints.Load())[spec.Endpoint]
	if ep == nil {
		return nil, hangar.Errorf(hangar.ENOTFOUND, "endpoint %s does not exist", spec.Endpoint)
	}
	old := ep.deps[spec.Name]
	ep.deps = cloneDeps(ep.deps)
	ep.deps[spec.Name] = d
	ep.publish()
	if old != nil {
		_ = g.retire(old, true)
	}
	if p, ok := spec.Script.(Prober); ok {
		g.bg.Add(1)
		go func() {
			defer g.bg.Done()
			g.probe(d, p)
		}()
	}
	return d, nil
}

func closeRunner(s ScriptRunner) {
	if s != nil {
		_ = s.Close()
	}
}

func cloneDeps(m map[string]*Deployment) map[string]*Deployment {
	c := make(map[string]*Deployment, len(m)+1)
	for k, v := range m {
		c[k] = v
	}
	return c
}

// retire drains d in the background (async) or now, then closes it and
// forgets its metrics unless a successor took its name.
func (g *Gateway) retire(d *Deployment, async bool) error {
	d.closing.Store(true)
	run := func() error {
		err := d.drain()
		if err != nil {
			g.Logger.Error("serving: close deployment", "endpoint", d.spec.Endpoint, "deployment", d.spec.Name, "err", err)
		}
		return err
	}
	if !async {
		return run()
	}
	g.bg.Add(1)
	go func() {
		defer g.bg.Done()
		_ = run()
	}()
	return nil
}

// RemoveDeployment takes a deployment out of its endpoint and closes it
// after its in-flight requests are answered. Errors: ENOTFOUND for an
// unknown endpoint or deployment; ECONFLICT while the endpoint gives it
// live or mirrored traffic (set the traffic first, like Azure).
func (g *Gateway) RemoveDeployment(ctx context.Context, endpointName, name string) error {
	g.mu.Lock()
	ep := (*g.endpoints.Load())[endpointName]
	if ep == nil {
		g.mu.Unlock()
		return hangar.Errorf(hangar.ENOTFOUND, "endpoint %s does not exist", endpointName)
	}
	d := ep.deps[name]
	if d == nil {
		g.mu.Unlock()
		return hangar.Errorf(hangar.ENOTFOUND, "endpoint %s has no deployment %s", endpointName, name)
	}
	if ep.cfg.Traffic[name] > 0 || ep.cfg.Mirror[name] > 0 {
		g.mu.Unlock()
		return hangar.Errorf(hangar.ECONFLICT, "deployment %s gets traffic on endpoint %s; set its traffic to 0 first", name, endpointName)
	}
	ep.deps = cloneDeps(ep.deps)
	delete(ep.deps, name)
	delete(ep.cfg.Traffic, name)
	delete(ep.cfg.Mirror, name)
	ep.publish()
	d.closing.Store(true)
	g.mu.Unlock()
	err := d.drain()
	d.m.forget()
	return err
}

// DeleteEndpoint removes an endpoint and closes its deployments after
// their in-flight requests. Errors: ENOTFOUND.
func (g *Gateway) DeleteEndpoint(ctx context.Context, name string) error {
	g.mu.Lock()
	ep := (*g.endpoints.Load())[name]
	if ep == nil {
		g.mu.Unlock()
		return hangar.Errorf(hangar.ENOTFOUND, "endpoint %s does not exist", name)
	}
	g.swapEndpoints(func(m map[string]*endpoint) { delete(m, name) })
	for _, d := range ep.deps {
		d.closing.Store(true)
	}
	g.mu.Unlock()
	var first error
	for _, d := range ep.deps {
		if err := d.drain(); err != nil && first == nil {
			first = err
		}
		d.m.forget()
	}
	return first
}

// deployments lists every deployment, for the worker metrics.
func (g *Gateway) deployments() []*Deployment {
	var ds []*Deployment
	for _, ep := range *g.endpoints.Load() {
		for _, d := range ep.table.Load().byName {
			ds = append(ds, d)
		}
	}
	return ds
}

// probe runs a script runner's readiness probe until the deployment is
// retired.
func (g *Gateway) probe(d *Deployment, p Prober) {
	ps := d.spec.Probe
	period := cmpOr(ps.Period, 10*time.Second)
	timeout := cmpOr(ps.Timeout, 2*time.Second)
	fails := cmpOr(ps.FailureThreshold, 30)
	oks := cmpOr(ps.SuccessThreshold, 1)
	select {
	case <-time.After(ps.InitialDelay):
	case <-d.stop:
		return
	}
	t := time.NewTicker(period)
	defer t.Stop()
	nf, ns := 0, 0
	for {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		err := p.Ready(ctx)
		cancel()
		if err != nil {
			nf, ns = nf+1, 0
			if nf >= fails && d.ready.Swap(false) {
				g.Logger.Warn("serving: deployment not ready", "endpoint", d.spec.Endpoint, "deployment", d.spec.Name, "err", err)
			}
		} else {
			nf, ns = 0, ns+1
			if ns >= oks {
				d.ready.Store(true)
			}
		}
		select {
		case <-t.C:
		case <-d.stop:
			return
		}
	}
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}
