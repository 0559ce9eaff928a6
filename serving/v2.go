package serving

import (
	"context"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hangar-ml/hangar"
)

// v2Request is what the gateway keeps of a V2 inference request besides
// its rows: the id to echo and the outputs asked for.
type v2Request struct {
	id      []byte   // the id as JSON, or nil
	outputs []string // nil: all
}

// v2Input is one input tensor of a V2 request.
type v2Input struct {
	name     string
	shape    []int
	datatype string
	data     span
}

// decodeV2 reads an Open Inference Protocol V2 inference request. The
// rows come either as one 2-D tensor [rows, features] in the model's
// feature order, or as one tensor per feature named after it, of shape
// [rows] or [rows, 1] (MLServer's "pd" content type).
func (r *rows) decodeV2(body []byte) (v2Request, error) {
	var req v2Request
	s := scanner{b: body}
	if s.peek() != '{' {
		return req, errf(EBADJSON, `body must be a JSON object with "inputs"`)
	}
	var sp [3]span
	if err := s.fields([]string{"id", "inputs", "outputs"}, sp[:]); err != nil {
		return req, err
	}
	if err := s.end(); err != nil {
		return req, err
	}
	if sp[0].ok() {
		c := s.at(sp[0])
		if _, err := c.str(); err != nil {
			return req, errf(EBADJSON, "id must be a string")
		}
		req.id = body[sp[0].lo:sp[0].hi]
	}
	if sp[2].ok() {
		c := s.at(sp[2])
		err := c.array(func(i int) error {
			var o [1]span
			if err := c.fields([]string{"name"}, o[:]); err != nil {
				return err
			}
			n := c.at(o[0])
			name, err := n.str()
			if err != nil {
				return errf(EBADJSON, "outputs[%d].name must be a string", i)
			}
			req.outputs = append(req.outputs, string(name))
			return nil
		})
		if err != nil {
			return req, err
		}
	}
	if !sp[1].ok() {
		return req, errf(hangar.EINVALID, `body has no "inputs"`)
	}
	var ins []v2Input
	c := s.at(sp[1])
	err := c.array(func(i int) error {
		var f [4]span
		if err := c.fields([]string{"name", "shape", "datatype", "data"}, f[:]); err != nil {
			return err
		}
		var in v2Input
		for j, what := range []string{"name", "shape", "datatype", "data"} {
			if !f[j].ok() {
				return errf(hangar.EINVALID, "inputs[%d] has no %s", i, what)
			}
		}
		n := c.at(f[0])
		name, err := n.str()
		if err != nil {
			return errf(EBADJSON, "inputs[%d].name must be a string", i)
		}
		in.name = string(name)
		dt := c.at(f[2])
		t, err := dt.str()
		if err != nil {
			return errf(EBADJSON, "inputs[%d].datatype must be a string", i)
		}
		in.datatype = string(t)
		sh := c.at(f[1])
		err = sh.array(func(int) error {
			v, nn, err := sh.num(false)
			if err != nil || nn != nil || v < 0 || v != math.Trunc(v) || v > 1<<31 {
				return errf(EBADSHAPE, "input %q: shape must be a list of non-negative integers", in.name)
			}
			in.shape = append(in.shape, int(v))
			return nil
		})
		if err != nil {
			return err
		}
		in.data = f[3]
		ins = append(ins, in)
		return nil
	})
	if err != nil {
		return req, err
	}
	if len(ins) == 0 {
		return req, errf(hangar.EINVALID, "inputs is empty")
	}
	for _, in := range ins {
		if err := checkDatatype(in); err != nil {
			return req, err
		}
	}
	nf := len(r.feats)
	if _, named := r.index[ins[0].name]; len(ins) == 1 && len(ins[0].shape) == 2 && !(named && nf == 1) {
		in := ins[0]
		if in.shape[1] != nf {
			return req, errf(EBADSHAPE, "input %q has shape [%d, %d]; the model takes %d features (%s)", in.name, in.shape[0], in.shape[1], nf, strings.Join(r.feats, ", "))
		}
		r.n = in.shape[0]
		if r.n > len(body) {
			return req, errf(EBADSHAPE, "input %q: shape %v needs more values than the body holds", in.name, in.shape)
		}
		if err := r.tensor(&s, in, -1); err != nil {
			return req, err
		}
		return req, nil
	}
	// one tensor per feature
	n := -1
	for _, in := range ins {
		f, ok := r.index[in.name]
		if !ok {
			continue
		}
		if r.seen[f] {
			return req, errf(hangar.EINVALID, "input %q appears twice", in.name)
		}
		r.seen[f] = true
		if len(in.shape) == 0 || len(in.shape) > 2 || len(in.shape) == 2 && in.shape[1] != 1 {
			return req, errf(EBADSHAPE, "input %q: want shape [rows] or [rows, 1] for a feature", in.name)
		}
		if n >= 0 && in.shape[0] != n {
			return req, errf(EBADSHAPE, "inputs have %d and %d rows", n, in.shape[0])
		}
		n = in.shape[0]
	}
	if err := r.missing(); err != nil {
		return req, err
	}
	if n > len(body) {
		return req, errf(EBADSHAPE, "inputs of %d rows need more values than the body holds", n)
	}
	r.n = max(n, 0)
	r.vals = resize(r.vals, r.n*nf)
	for _, in := range ins {
		if f, ok := r.index[in.name]; ok {
			if err := r.tensor(&s, in, f); err != nil {
				return req, err
			}
		}
	}
	return req, nil
}

// checkDatatype accepts the V2 numeric and boolean datatypes.
func checkDatatype(in v2Input) error {
	switch in.datatype {
	case "BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64", "FP16", "FP32", "FP64":
		return nil
	case "BYTES":
		return errf(EBADTYPE, "input %q has datatype BYTES; the model takes numbers", in.name)
	}
	return errf(hangar.EINVALID, "input %q: unknown datatype %q", in.name, in.datatype)
}

// tensor reads an input's data, nested or flat, into the rows: the whole
// row-major matrix (f < 0) or feature f's column. The count must match
// the shape and each value its datatype.
func (r *rows) tensor(s *scanner, in v2Input, f int) error {
	want := 1
	for _, d := range in.shape {
		want *= d
		// Every value takes at least one byte of the body: a shape the
		// body cannot fill is refused before anything is allocated for it.
		if want > len(s.b) {
			return errf(EBADSHAPE, "input %q: shape %v needs more values than the body holds", in.name, in.shape)
		}
	}
	nf := len(r.feats)
	if f < 0 {
		r.vals = resize(r.vals, want)
	}
	isBool := in.datatype == "BOOL"
	isInt := strings.Contains(in.datatype, "INT")
	got := 0
	var walk func(c *scanner, depth int) error
	walk = func(c *scanner, depth int) error {
		if depth > maxDepth {
			return errf(EBADJSON, "body is nested deeper than %d levels", maxDepth)
		}
		if c.peek() == '[' {
			return c.array(func(int) error { return walk(c, depth+1) })
		}
		c.ws()
		lit := c.i < len(c.b) && (c.b[c.i] == 't' || c.b[c.i] == 'f')
		v, nn, err := c.num(isBool)
		if err != nil {
			return err
		}
		if got >= want {
			got++
			return nil
		}
		switch {
		case nn != nil:
			return errf(EBADTYPE, "input %q: want %s values, got %s", in.name, in.datatype, nn.what)
		case isBool && !lit:
			return errf(EBADTYPE, "input %q: want BOOL values (true or false)", in.name)
		case isInt && v != math.Trunc(v) && !math.IsNaN(v):
			return errf(EBADTYPE, "input %q: want %s values, got %v", in.name, in.datatype, v)
		}
		if f < 0 {
			r.vals[got] = v
		} else {
			r.vals[got*nf+f] = v
		}
		got++
		return nil
	}
	c := s.at(in.data)
	if err := walk(&c, 0); err != nil {
		return err
	}
	if got != want {
		return errf(EBADSHAPE, "input %q has %d values; its shape %v needs %d", in.name, got, in.shape, want)
	}
	return nil
}

// appendV2 appends the V2 inference response: "predict" (values, or class
// labels as BYTES) and, for classifiers, "predict_proba" [rows, classes].
func (d *Deployment) appendV2(b []byte, req *v2Request, model, version string, out []float64, n int) ([]byte, error) {
	wantPred, wantProba := true, d.labels != nil
	if req.outputs != nil {
		wantPred, wantProba = false, false
		for _, o := range req.outputs {
			switch {
			case o == "predict":
				wantPred = true
			case o == "predict_proba" && d.labels != nil:
				wantProba = true
			default:
				return nil, errf(hangar.EINVALID, "the model has no output %q (outputs: %s)", o, strings.Join(d.outputNames(), ", "))
			}
		}
	}
	b = append(b, `{"model_name":`...)
	b = appendJSONString(b, model)
	if version != "" {
		b = append(b, `,"model_version":`...)
		b = appendJSONString(b, version)
	}
	if req.id != nil {
		b = append(b, `,"id":`...)
		b = append(b, req.id...)
	}
	b = append(b, `,"outputs":[`...)
	if wantPred {
		dt := "FP64"
		if d.labels != nil {
			dt = "BYTES"
		}
		b = append(b, `{"name":"predict","datatype":"`...)
		b = append(b, dt...)
		b = append(b, `","shape":[`...)
		b = strconv.AppendInt(b, int64(n), 10)
		b = append(b, `],"data":`...)
		b = d.appendPredictions(b, out, n)
		b = append(b, '}')
	}
	if wantProba {
		if wantPred {
			b = append(b, ',')
		}
		k := len(d.labels)
		b = append(b, `{"name":"predict_proba","datatype":"FP64","shape":[`...)
		b = strconv.AppendInt(b, int64(n), 10)
		b = append(b, ',')
		b = strconv.AppendInt(b, int64(k), 10)
		b = append(b, `],"data":[`...)
		for i := range n {
			for c := range k {
				if i+c > 0 {
					b = append(b, ',')
				}
				var p float64
				if d.multi {
					p = out[i*k+c]
				} else if c == 1 {
					p = out[i]
				} else {
					p = 1 - out[i]
				}
				b = appendFloat(b, p)
			}
		}
		b = append(b, "]}"...)
	}
	return append(b, "]}"...), nil
}

func (d *Deployment) outputNames() []string {
	if d.labels != nil {
		return []string{"predict", "predict_proba"}
	}
	return []string{"predict"}
}

// v2Metadata answers V2 model metadata for an endpoint or deployment.
func (g *Gateway) v2Metadata(w http.ResponseWriter, r *http.Request) {
	t := g.endpoint(w, r, protoV2)
	if t == nil {
		return
	}
	if err := g.authorize(r, t); err != nil {
		g.fail(w, protoV2, t.name, "", err)
		return
	}
	model, version := r.PathValue("model"), r.PathValue("version")
	d, _, err := chooseV2(t, model, version)
	if err != nil {
		g.fail(w, protoV2, t.name, "", err)
		return
	}
	b := []byte(`{"name":`)
	b = appendJSONString(b, model)
	if v := d.spec.ModelVersion; v != "" {
		b = append(b, `,"versions":[`...)
		b = appendJSONString(b, v)
		b = append(b, ']')
	}
	if d.script != nil {
		b = append(b, `,"platform":"hangar_script","inputs":[],"outputs":[]}`...)
		writeJSON(w, http.StatusOK, b)
		return
	}
	b = append(b, `,"platform":"hangar_native","inputs":[`...)
	for i, f := range d.feats {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"name":`...)
		b = appendJSONString(b, f)
		b = append(b, `,"datatype":"FP64","shape":[-1]}`...)
	}
	b = append(b, `],"outputs":[`...)
	if d.labels != nil {
		b = append(b, `{"name":"predict","datatype":"BYTES","shape":[-1]},{"name":"predict_proba","datatype":"FP64","shape":[-1,`...)
		b = strconv.AppendInt(b, int64(len(d.labels)), 10)
		b = append(b, "]}"...)
	} else {
		b = append(b, `{"name":"predict","datatype":"FP64","shape":[-1]}`...)
	}
	b = append(b, "]}"...)
	writeJSON(w, http.StatusOK, b)
}

// v2Ready answers V2 model readiness.
func (g *Gateway) v2Ready(w http.ResponseWriter, r *http.Request) {
	t := g.endpoint(w, r, protoV2)
	if t == nil {
		return
	}
	model := r.PathValue("model")
	d, _, err := chooseV2(t, model, r.PathValue("version"))
	if err != nil {
		g.fail(w, protoV2, t.name, "", err)
		return
	}
	if !d.Ready() {
		g.fail(w, protoV2, t.name, d.spec.Name, errf(ENOTREADY, "Model with name %s is not ready.", model))
		return
	}
	b := []byte(`{"name":`)
	b = appendJSONString(b, model)
	writeJSON(w, http.StatusOK, append(b, `,"ready":true}`...))
}

// Smoke sends a sample request to d, outside its endpoint's traffic, and
// returns nil when d answers it. sample is a /score body; nil builds one
// row of zeros from the model's features (a script deployment without a
// sample is probed instead, when its runner can be). Deploy calls it
// before a deployment takes traffic; the control plane may call it again.
// Errors: ESMOKEFAILED, with the answer's error.
func (g *Gateway) Smoke(ctx context.Context, d *Deployment, sample []byte) error {
	if sample == nil {
		if d.script != nil {
			if p, ok := d.script.(Prober); ok {
				if err := p.Ready(ctx); err != nil {
					return errf(ESMOKEFAILED, "deployment %s: readiness probe: %v", d.spec.Name, err)
				}
			}
			return nil
		}
		b := []byte(`{"input_data":{"columns":[`)
		for i, f := range d.feats {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, f)
		}
		b = append(b, `],"data":[[`...)
		for i := range d.feats {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '0')
		}
		sample = append(b, "]]}}"...)
	}
	st := g.pool.Get().(*reqState)
	defer g.pool.Put(st)
	deadline := time.Now().Add(d.spec.RequestTimeout)
	out, err := d.answer(ctx, protoScore, "application/json", "", "", sample, st, deadline)
	if err != nil {
		return errf(ESMOKEFAILED, "deployment %s failed its smoke test: %s", d.spec.Name, smokeMessage(err))
	}
	if d.model != nil {
		for _, v := range st.out {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return errf(ESMOKEFAILED, "deployment %s failed its smoke test: the model predicted %v", d.spec.Name, v)
			}
		}
	}
	_ = out
	return nil
}

func smokeMessage(err error) string {
	if c := errCode(err); c != hangar.EINTERNAL {
		return hangar.ErrorMessage(err)
	}
	return err.Error()
}
