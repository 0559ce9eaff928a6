package serving

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hangar-ml/hangar"
)

// Defaults of a deployment's request settings, Azure's.
const (
	DefaultRequestTimeout = 5 * time.Second
	MaxRequestTimeout     = 180 * time.Second
)

// DeploymentSpec is what the control plane asks the gateway to run: one
// deployment of an endpoint, with its model and request settings (Azure's
// managed online deployment, resolved: the model is a folder on disk or
// already loaded, the script runner already started).
type DeploymentSpec struct {
	Endpoint string // the endpoint it belongs to; SetEndpoint must have created it
	Name     string // unique in the endpoint, e.g. blue

	// ModelName and ModelVersion describe the model in V2 metadata and
	// capture records.
	ModelName    string
	ModelVersion string

	// Exactly one of ModelDir, Model and Script is set. ModelDir is a
	// model folder or file the native runtime loads (Gateway.Load);
	// Model is one loaded already; Script runs anything else.
	ModelDir string
	Model    Model
	Script   ScriptRunner

	// InstanceCount × MaxConcurrentRequestsPerInstance requests run at
	// once; as many again wait (up to RequestTimeout); any more are
	// answered 429, like Azure's "2 × max_concurrent × instance_count
	// pending". Both default to 1.
	InstanceCount                    int
	MaxConcurrentRequestsPerInstance int
	// RequestTimeout answers 408 after this long (default 5 s, at most
	// 180 s).
	RequestTimeout time.Duration

	// Sample is the smoke-test request: a /score body. Nil builds one row
	// of zeros from the model's features; a script deployment without a
	// sample is only probed.
	Sample []byte

	// Capture samples the deployment's inputs and outputs to the
	// gateway's Sink.
	Capture CaptureSettings

	// Probe is the readiness probe of a script runner that implements
	// Prober; zero values take Azure's defaults.
	Probe ProbeSettings
}

// validate checks the spec and fills in defaults. Errors: EINVALID naming
// the field.
func (s *DeploymentSpec) validate() error {
	if err := checkName("endpoint", s.Endpoint); err != nil {
		return err
	}
	if err := checkName("deployment name", s.Name); err != nil {
		return err
	}
	n := 0
	for _, set := range []bool{s.ModelDir != "", s.Model != nil, s.Script != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		return hangar.Errorf(hangar.EINVALID, "deployment %s: set exactly one of a model folder, a loaded model and a script runner", s.Name)
	}
	if s.InstanceCount < 0 || s.InstanceCount > hangar.MaxEndpointInstances {
		return hangar.Errorf(hangar.EINVALID, "deployment %s: instance_count %d is not in 1..%d", s.Name, s.InstanceCount, hangar.MaxEndpointInstances)
	}
	if s.MaxConcurrentRequestsPerInstance < 0 || s.MaxConcurrentRequestsPerInstance > 1000 {
		return hangar.Errorf(hangar.EINVALID, "deployment %s: max_concurrent_requests_per_instance %d is not in 1..1000", s.Name, s.MaxConcurrentRequestsPerInstance)
	}
	if s.RequestTimeout < 0 || s.RequestTimeout > MaxRequestTimeout {
		return hangar.Errorf(hangar.EINVALID, "deployment %s: request_timeout_ms %d is not in 1..%d", s.Name, s.RequestTimeout.Milliseconds(), MaxRequestTimeout.Milliseconds())
	}
	if r := s.Capture.SamplingRate; r < 0 || r > 1 || math.IsNaN(r) {
		return hangar.Errorf(hangar.EINVALID, "deployment %s: data_collector.sampling_rate %v is not in 0..1", s.Name, r)
	}
	s.InstanceCount = max(s.InstanceCount, 1)
	s.MaxConcurrentRequestsPerInstance = max(s.MaxConcurrentRequestsPerInstance, 1)
	if s.RequestTimeout == 0 {
		s.RequestTimeout = DefaultRequestTimeout
	}
	return nil
}

// checkName accepts Azure's endpoint and deployment names: letters,
// digits and '-', starting with a letter, at most 32 characters.
func checkName(what, name string) error {
	ok := len(name) >= 1 && len(name) <= 32
	for i, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && (c >= '0' && c <= '9' || c == '-')) {
			ok = false
		}
	}
	if !ok {
		return hangar.Errorf(hangar.EINVALID, "%s %q: want 1 to 32 letters, digits or '-', starting with a letter", what, name)
	}
	return nil
}

// Deployment is a deployment the gateway runs: loaded, smoke-tested and
// ready to take the traffic its endpoint gives it.
type Deployment struct {
	spec   DeploymentSpec
	model  Model
	script ScriptRunner

	feats  []string
	index  map[string]int
	labels [][]byte // JSON-quoted class labels; nil for regression
	kinds  []kind   // per feature, from the signature; nil: any number
	multi  bool

	slots   chan struct{} // running requests
	pending atomic.Int64  // admitted requests: running and waiting
	limit   int64

	inflight atomic.Int64 // requests holding the deployment (drain waits for 0)
	closing  atomic.Bool  // set when it leaves the routing; no new requests
	ready    atomic.Bool

	hdrName  []string // the azureml-model-deployment header value, shared read-only
	m        *depMetrics
	stop     chan struct{} // stops the probe loop
	stopOnce sync.Once
}

// Name returns the deployment's name.
func (d *Deployment) Name() string { return d.spec.Name }

// Endpoint returns the name of the deployment's endpoint.
func (d *Deployment) Endpoint() string { return d.spec.Endpoint }

// Ready reports whether the deployment takes requests: it passed its smoke
// test and, for a script runner with a readiness probe, its last probes.
func (d *Deployment) Ready() bool { return d.ready.Load() && !d.closing.Load() }

// Features returns the input columns of a native deployment's model, or
// nil for a script deployment.
func (d *Deployment) Features() []string { return d.feats }

func newDeployment(spec DeploymentSpec, model Model) (*Deployment, error) {
	d := &Deployment{spec: spec, model: model, script: spec.Script, stop: make(chan struct{}), hdrName: []string{spec.Name}}
	n := spec.InstanceCount * spec.MaxConcurrentRequestsPerInstance
	d.slots = make(chan struct{}, n)
	d.limit = int64(2 * n)
	if model == nil {
		return d, nil
	}
	d.feats = model.Features()
	d.index = make(map[string]int, len(d.feats))
	for i, f := range d.feats {
		if _, dup := d.index[f]; dup {
			return nil, hangar.Errorf(hangar.EINVALID, "deployment %s: the model names feature %q twice", spec.Name, f)
		}
		d.index[f] = i
	}
	if ft, ok := model.(interface{ FeatureTypes() []string }); ok {
		d.kinds = kinds(ft.FeatureTypes(), len(d.feats))
	}
	if cl := model.Classes(); cl != nil {
		d.multi = hangar.IsMulticlass(model.Objective())
		want := max(model.NumOutputs(), 2)
		if len(cl) != want {
			return nil, hangar.Errorf(hangar.EINVALID, "deployment %s: the model has %d classes for %d outputs", spec.Name, len(cl), model.NumOutputs())
		}
		for _, c := range cl {
			q, err := json.Marshal(c)
			if err != nil {
				return nil, fmt.Errorf("deployment %s: class label: %w", spec.Name, err)
			}
			d.labels = append(d.labels, q)
		}
	}
	return d, nil
}

// acquire takes a hold on d for one request; false when d is leaving the
// routing, and the caller picks again from the new table.
func (d *Deployment) acquire() bool {
	d.inflight.Add(1)
	if d.closing.Load() {
		d.inflight.Add(-1)
		return false
	}
	return true
}

func (d *Deployment) release() { d.inflight.Add(-1) }

// admit applies the deployment's concurrency limit: it returns a func
// that gives the slot back, or ETOOMANY when the queue is full, or
// ETIMEOUT when no slot came free before the deadline.
func (d *Deployment) admit(ctx context.Context, deadline time.Time) (ok bool, err error) {
	if d.pending.Add(1) > d.limit {
		d.pending.Add(-1)
		return false, errf(ETOOMANY, "deployment %s has %d requests pending, its limit (2 × max_concurrent_requests_per_instance × instance_count)", d.spec.Name, d.limit)
	}
	select {
	case d.slots <- struct{}{}:
		return true, nil
	default:
	}
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case d.slots <- struct{}{}:
		return true, nil
	case <-t.C:
	case <-ctx.Done():
	}
	d.pending.Add(-1)
	return false, errf(ETIMEOUT, "deployment %s: no free instance within request_timeout_ms %d", d.spec.Name, d.spec.RequestTimeout.Milliseconds())
}

func (d *Deployment) leave() {
	<-d.slots
	d.pending.Add(-1)
}

// drain waits until no request holds d, then closes its runner. d must
// have left the routing (closing set) first.
func (d *Deployment) drain() error {
	d.closing.Store(true)
	d.stopOnce.Do(func() { close(d.stop) })
	for d.inflight.Load() > 0 {
		time.Sleep(time.Millisecond)
	}
	if d.script != nil {
		return d.script.Close()
	}
	return nil
}

// appendPredictions appends the JSON list of predictions of n rows: the
// value for regression, the class label for classifiers.
func (d *Deployment) appendPredictions(b []byte, out []float64, n int) []byte {
	b = append(b, '[')
	k := d.model.NumOutputs()
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		switch {
		case d.labels == nil:
			b = appendFloat(b, out[i])
		case !d.multi:
			c := 0
			if out[i] >= 0.5 {
				c = 1
			}
			b = append(b, d.labels[c]...)
		default:
			row := out[i*k : (i+1)*k]
			b = append(b, d.labels[slices.Index(row, slices.Max(row))]...)
		}
	}
	return append(b, ']')
}

// appendFloat appends v as JSON; NaN and infinities, which JSON cannot
// carry, become null.
func appendFloat(b []byte, v float64) []byte {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return append(b, "null"...)
	}
	return strconvAppendFloat(b, v)
}

// kind is what a signature allows in a feature.
type kind uint8

const (
	anyNumber kind = iota
	integral       // long, integer
	boolean        // boolean: 0 or 1 (true or false in JSON)
)

// kinds maps signature types to kinds; nil when none constrains.
func kinds(types []string, n int) []kind {
	if len(types) != n {
		return nil
	}
	ks := make([]kind, n)
	constrained := false
	for i, t := range types {
		switch t {
		case "long", "integer":
			ks[i], constrained = integral, true
		case "boolean":
			ks[i], constrained = boolean, true
		}
	}
	if !constrained {
		return nil
	}
	return ks
}

// checkKinds refuses a value its feature's signature type does not
// allow. Missing values (NaN) pass: the runtime treats them as missing.
func (d *Deployment) checkKinds(r *rows) error {
	nf := len(d.feats)
	for i := range r.n {
		for f, k := range d.kinds {
			v := r.vals[i*nf+f]
			switch {
			case k == anyNumber || math.IsNaN(v):
			case k == integral && v != math.Trunc(v):
				return errf(EBADTYPE, "feature %q, row %d: want a long (the model's signature), got %v", d.feats[f], i, v)
			case k == boolean && v != 0 && v != 1:
				return errf(EBADTYPE, "feature %q, row %d: want a boolean (the model's signature), got %v", d.feats[f], i, v)
			}
		}
	}
	return nil
}
