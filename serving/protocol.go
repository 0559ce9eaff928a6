package serving

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/csv"
	"errors"
	"io"
	"math"
	"mime"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/hangar-ml/hangar"
)

// proto is a scoring protocol.
type proto uint8

const (
	protoScore       proto = iota // Azure POST /score
	protoInvocations              // MLflow POST /invocations
	protoV2                       // Open Inference Protocol V2 POST .../infer
)

var protoNames = [...]string{"score", "invocations", "v2"}

// Headers of the scoring routes.
const (
	HeaderDeployment      = "azureml-model-deployment" // names the deployment to score with, bypassing traffic and mirror
	HeaderRequestID       = "x-request-id"             // the correlation id: the caller's, or one the gateway made
	HeaderClientRequestID = "x-ms-client-request-id"   // Azure's caller id, also taken as the correlation id and echoed
	headerModelError      = "ms-azureml-model-error-statuscode"

	// canonical forms, to index header maps without
	// http.CanonicalHeaderKey's allocation per request
	canonDeployment = "Azureml-Model-Deployment"
)

// Pre-built header values, assigned to header maps without the
// allocation Header.Set makes.
var (
	jsonType = []string{"application/json"}
)

// target is what a scoring route's path names: the endpoint and, for
// V2, the model (an endpoint or deployment name) and its version.
type target struct {
	endpoint, model, version string
}

// pathTarget reads the target from the path values the mux matched.
func pathTarget(r *http.Request) target {
	return target{endpoint: r.PathValue("endpoint"), model: r.PathValue("model"), version: r.PathValue("version")}
}

// reqState is the per-request scratch space, pooled.
type reqState struct {
	body []byte
	rows rows
	out  []float64
	resp []byte
	id   []byte
}

// routes builds the scoring routes. Every endpoint's routes live under
// /endpoints/{endpoint}: the same paths on the workspace server and on a
// dedicated scoring listener.
func (g *Gateway) routes() *http.ServeMux {
	mux := http.NewServeMux()
	const p = "/endpoints/{endpoint}"
	// ServeScoring answers the first two without the mux; they stay here
	// for the requests it leaves to the mux (paths it does not take as
	// they are).
	mux.HandleFunc("POST "+p+"/score", func(w http.ResponseWriter, r *http.Request) { g.serve(w, r, protoScore, pathTarget(r)) })
	mux.HandleFunc("POST "+p+"/invocations", func(w http.ResponseWriter, r *http.Request) { g.serve(w, r, protoInvocations, pathTarget(r)) })
	mux.HandleFunc("POST "+p+"/v2/models/{model}/infer", func(w http.ResponseWriter, r *http.Request) { g.serve(w, r, protoV2, pathTarget(r)) })
	mux.HandleFunc("POST "+p+"/v2/models/{model}/versions/{version}/infer", func(w http.ResponseWriter, r *http.Request) { g.serve(w, r, protoV2, pathTarget(r)) })
	mux.HandleFunc("GET "+p+"/{$}", g.live)
	mux.HandleFunc("GET "+p+"/v2/health/live", g.live)
	mux.HandleFunc("GET "+p+"/v2/health/ready", g.ready)
	mux.HandleFunc("GET "+p+"/ping", g.ready)
	mux.HandleFunc("GET "+p+"/health", g.ready)
	mux.HandleFunc("GET "+p+"/version", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, []byte(`{"version":"hangar-serving/1"}`))
	})
	mux.HandleFunc("GET "+p+"/v2", func(w http.ResponseWriter, r *http.Request) {
		if g.endpoint(w, r, protoV2) == nil {
			return
		}
		writeJSON(w, http.StatusOK, []byte(`{"name":"hangar","version":"1","extensions":[]}`))
	})
	mux.HandleFunc("GET "+p+"/v2/models/{model}", g.v2Metadata)
	mux.HandleFunc("GET "+p+"/v2/models/{model}/versions/{version}", g.v2Metadata)
	mux.HandleFunc("GET "+p+"/v2/models/{model}/ready", g.v2Ready)
	mux.HandleFunc("GET "+p+"/v2/models/{model}/versions/{version}/ready", g.v2Ready)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		pr := protoScore
		if strings.Contains(r.URL.Path, "/v2") {
			pr = protoV2
		} else if strings.HasSuffix(r.URL.Path, "/invocations") {
			pr = protoInvocations
		}
		for _, suffix := range []string{"/score", "/invocations", "/infer"} {
			if strings.HasSuffix(r.URL.Path, suffix) && strings.HasPrefix(r.URL.Path, "/endpoints/") {
				g.fail(w, pr, "", "", errf(hangar.EMETHODNOTALLOWED, "%s takes POST, not %s", suffix, r.Method))
				return
			}
		}
		g.fail(w, pr, "", "", errf(hangar.ENOTFOUND, "no scoring route %s %s", r.Method, r.URL.Path))
	})
	return mux
}

// ServeHTTP answers the scoring routes.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if g.ServeScoring(w, r, r.URL.Path) {
		return
	}
	g.mux.ServeHTTP(w, r)
}

// ServeScoring answers r when it is a POST to /endpoints/{endpoint}/score
// or /endpoints/{endpoint}/invocations — the routes of nearly every
// scoring request — and reports whether it did. path is r's path as the
// gateway sees it: r.URL.Path, or the part of it after the prefix a
// server mounts the gateway under, so that server need not copy the
// request to cut its path. It takes only paths the mux would route to
// the same handler with the same endpoint: a name of Azure's characters,
// nothing to clean or unescape (a URL with escapes, r.URL.RawPath set, is
// never taken); anything else is left to ServeHTTP, with the path cut, so
// the answer is the mux's.
func (g *Gateway) ServeScoring(w http.ResponseWriter, r *http.Request, path string) bool {
	if r.Method != http.MethodPost || r.URL.RawPath != "" {
		return false
	}
	rest, ok := strings.CutPrefix(path, "/endpoints/")
	if !ok {
		return false
	}
	i := strings.IndexByte(rest, '/')
	if i <= 0 || !nameChars(rest[:i]) {
		return false
	}
	var pr proto
	switch rest[i:] {
	case "/score":
		pr = protoScore
	case "/invocations":
		pr = protoInvocations
	default:
		return false
	}
	g.serve(w, r, pr, target{endpoint: rest[:i]})
	return true
}

// nameChars reports whether s holds only the characters of Azure's
// endpoint names, which a path carries as they are.
func nameChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// serve is the scoring hot path, shared by the three protocols.
func (g *Gateway) serve(w http.ResponseWriter, r *http.Request, pr proto, tg target) {
	start := time.Now()
	st := g.pool.Get().(*reqState)
	defer g.pool.Put(st)
	id := g.requestID(r, st)
	h := w.Header()
	h["X-Request-Id"] = []string{id}
	if c := r.Header["X-Ms-Client-Request-Id"]; len(c) > 0 {
		h["X-Ms-Client-Request-Id"] = c[:1]
	}
	epName := tg.endpoint
	ep := (*g.endpoints.Load())[epName]
	if ep == nil {
		g.fail(w, pr, epName, "", errf(hangar.ENOTFOUND, "endpoint %s does not exist", epName))
		return
	}
	t := ep.table.Load()
	if err := g.authorize(r, t); err != nil {
		h["Www-Authenticate"] = []string{"Bearer"}
		g.fail(w, pr, epName, "", err)
		return
	}
	body, err := g.readBody(r, st, pr)
	if err != nil {
		g.fail(w, pr, epName, "", err)
		return
	}
	var (
		d        *Deployment
		targeted bool
	)
	for try := 0; ; try++ {
		d, targeted, err = choose(r, t, pr, tg)
		if err != nil {
			g.fail(w, pr, epName, "", err)
			return
		}
		if d.acquire() {
			break
		}
		if try == 3 {
			g.fail(w, pr, epName, "", errf(hangar.EUNAVAILABLE, "endpoint %s is changing its deployments; try again", epName))
			return
		}
		runtime.Gosched()
		t = ep.table.Load() // d left the routing: the new table no longer has it
	}
	defer d.release()
	h[canonDeployment] = d.hdrName
	resp, took, err := g.answerTimed(r.Context(), d, pr, r, tg, body, st, start)
	if err != nil {
		g.fail(w, pr, epName, d.spec.Name, err)
		return
	}
	h["Content-Type"] = jsonType
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(resp)
	d.m.ok.Inc()
	d.m.latency.Observe(took.Seconds())
	if g.capture != nil && d.spec.Capture.SamplingRate > 0 && (d.spec.Capture.SamplingRate >= 1 || randFloat() < d.spec.Capture.SamplingRate) {
		// One allocation holds both copies.
		inout := make([]byte, len(body)+len(resp))
		copy(inout, body)
		copy(inout[len(body):], resp)
		g.capture.offer(Record{
			ID: id, Endpoint: epName, Deployment: d.spec.Name, ModelVersion: d.spec.ModelVersion,
			Protocol: protoNames[pr], Time: start, Status: http.StatusOK,
			Input: inout[:len(body):len(body)], Output: inout[len(body):],
		})
	}
	if !targeted && t.mirror != nil && t.mirror != d && mrandIntN(100) < t.mirrorPct {
		g.mirror(t.mirror, pr, r, tg, body)
	}
}

// answerTimed admits the request to d, answers it and enforces the
// deployment's request timeout; it returns the time from start to the
// answer, which one clock read gives both the timeout check and the
// latency metric.
func (g *Gateway) answerTimed(ctx context.Context, d *Deployment, pr proto, r *http.Request, tg target, body []byte, st *reqState, start time.Time) ([]byte, time.Duration, error) {
	if !d.ready.Load() {
		return nil, 0, errf(ENOTREADY, "deployment %s is not ready", d.spec.Name)
	}
	deadline := start.Add(d.spec.RequestTimeout)
	if _, err := d.admit(ctx, deadline); err != nil {
		return nil, 0, err
	}
	d.m.inflight.Inc()
	resp, err := d.answer(ctx, pr, contentType(r), tg.model, tg.version, body, st, deadline)
	d.m.inflight.Dec()
	d.leave()
	took := time.Since(start)
	if err == nil && took > d.spec.RequestTimeout {
		err = errf(ETIMEOUT, "deployment %s took longer than request_timeout_ms %d", d.spec.Name, d.spec.RequestTimeout.Milliseconds())
	}
	return resp, took, err
}

// mirror sends a copy of the request to the mirror deployment in the
// background; when MirrorConcurrency copies are in flight it drops this
// one, so the caller never waits for the mirror.
func (g *Gateway) mirror(d *Deployment, pr proto, r *http.Request, tg target, body []byte) {
	ep := tg.endpoint
	select {
	case g.mirrorSem <- struct{}{}:
	default:
		g.metrics.mirrorDropped.WithLabelValues(ep).Inc()
		return
	}
	if !d.acquire() {
		<-g.mirrorSem
		return
	}
	body = bytes.Clone(body)
	ct := contentType(r)
	model, version := tg.model, tg.version
	go func() {
		defer func() { <-g.mirrorSem }()
		defer d.release()
		start := time.Now()
		st := g.pool.Get().(*reqState)
		defer g.pool.Put(st)
		deadline := start.Add(d.spec.RequestTimeout)
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		defer cancel()
		if _, err := d.admit(ctx, deadline); err != nil {
			g.count(pr, ep, d.spec.Name, err)
			return
		}
		d.m.inflight.Inc()
		_, err := d.answer(ctx, pr, ct, model, version, body, st, deadline)
		d.m.inflight.Dec()
		d.leave()
		if err != nil {
			g.count(pr, ep, d.spec.Name, err)
			return
		}
		d.m.ok.Inc()
		d.m.latency.Observe(time.Since(start).Seconds())
	}()
}

// choose picks the deployment: the one the azureml-model-deployment
// header or the V2 model path names, else one by the traffic weights.
func choose(r *http.Request, t *table, pr proto, tg target) (*Deployment, bool, error) {
	if pr == protoV2 {
		return chooseV2(t, tg.model, tg.version)
	}
	if v := r.Header[canonDeployment]; len(v) > 0 && v[0] != "" {
		d := t.byName[v[0]]
		if d == nil {
			return nil, false, errf(hangar.ENOTFOUND, "endpoint %s has no deployment %s", t.name, v[0])
		}
		return d, true, nil
	}
	d := t.pick()
	if d == nil {
		return nil, false, errf(ENOTRAFFIC, "endpoint %s gives no deployment traffic", t.name)
	}
	return d, false, nil
}

// chooseV2 resolves a V2 model path: the endpoint's name routes by
// traffic (or, with a version, to the deployment serving that model
// version); a deployment's name targets it.
func chooseV2(t *table, model, version string) (*Deployment, bool, error) {
	if model == t.name {
		if version == "" {
			d := t.pick()
			if d == nil {
				return nil, false, errf(ENOTRAFFIC, "endpoint %s gives no deployment traffic", t.name)
			}
			return d, false, nil
		}
		var found *Deployment
		for _, d := range t.byName {
			if d.spec.ModelVersion == version && (found == nil || d.spec.Name < found.spec.Name) {
				found = d
			}
		}
		if found == nil {
			return nil, false, errf(hangar.ENOTFOUND, "Model with name %s and version %s does not exist.", model, version)
		}
		return found, true, nil
	}
	d := t.byName[model]
	if d == nil || version != "" && d.spec.ModelVersion != version {
		if version != "" {
			return nil, false, errf(hangar.ENOTFOUND, "Model with name %s and version %s does not exist.", model, version)
		}
		return nil, false, errf(hangar.ENOTFOUND, "Model with name %s does not exist.", model)
	}
	return d, true, nil
}

// authorize checks the caller's bearer key or token. Keys are compared
// as SHA-256 digests in constant time, so neither their content nor their
// length leaks through timing.
func (g *Gateway) authorize(r *http.Request, t *table) error {
	a := r.Header["Authorization"]
	if len(a) == 0 || len(a[0]) < 7 || !strings.EqualFold(a[0][:7], "bearer ") {
		return errf(hangar.EUNAUTHORIZED, "endpoint %s needs Authorization: Bearer <key or token>", t.name)
	}
	cred := strings.TrimSpace(a[0][7:])
	if t.auth == AuthToken {
		if g.Tokens == nil {
			return errf(hangar.EUNAUTHORIZED, "endpoint %s takes tokens, and this gateway verifies none", t.name)
		}
		if err := g.Tokens.Verify(r.Context(), t.name, cred); err != nil {
			return errf(hangar.EUNAUTHORIZED, "the token is not valid for endpoint %s", t.name)
		}
		return nil
	}
	// Hashed from a stack buffer: []byte(cred) would allocate for a
	// key longer than 32 bytes.
	var buf [128]byte
	var sum [sha256.Size]byte
	if len(cred) <= len(buf) {
		sum = sha256.Sum256(append(buf[:0], cred...))
	} else {
		sum = sha256.Sum256([]byte(cred))
	}
	ok := 0
	for _, k := range t.keys {
		ok |= subtle.ConstantTimeCompare(sum[:], k)
	}
	if ok != 1 {
		return errf(hangar.EUNAUTHORIZED, "the key is not a key of endpoint %s", t.name)
	}
	return nil
}

// readBody checks the content type and reads the body into st, up to
// MaxBodyBytes.
func (g *Gateway) readBody(r *http.Request, st *reqState, pr proto) ([]byte, error) {
	if err := checkContentType(r.Header["Content-Type"], pr); err != nil {
		return nil, err
	}
	limit := g.MaxBodyBytes
	if r.ContentLength > limit {
		return nil, errf(hangar.ETOOLARGE, "the body has %d bytes; the limit is %d", r.ContentLength, limit)
	}
	buf := st.body[:0]
	if r.ContentLength > 0 && int64(cap(buf)) < r.ContentLength {
		buf = make([]byte, 0, r.ContentLength)
	}
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > limit {
			st.body = buf[:0]
			return nil, errf(hangar.ETOOLARGE, "the body is over the limit of %d bytes", limit)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			st.body = buf[:0]
			return nil, errf(hangar.EINVALID, "reading the body: %v", err)
		}
	}
	st.body = buf
	return buf, nil
}

// contentType is the request's Content-Type: Header.Get without its
// canonicalization, for a name that is canonical already.
func contentType(r *http.Request) string {
	if v := r.Header["Content-Type"]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// checkContentType accepts JSON (UTF-8) on every protocol, no content
// type on /score and V2 (curl's habit), and CSV on /invocations.
func checkContentType(v []string, pr proto) error {
	if len(v) == 0 || v[0] == "" {
		if pr == protoInvocations {
			return errf(EMEDIATYPE, "/invocations needs Content-Type application/json or text/csv")
		}
		return nil
	}
	if v[0] == "application/json" {
		return nil
	}
	mt, params, err := mime.ParseMediaType(v[0])
	if err != nil {
		return errf(EMEDIATYPE, "bad Content-Type %q", v[0])
	}
	for k, val := range params {
		if k != "charset" || !strings.EqualFold(val, "utf-8") {
			return errf(EMEDIATYPE, "Content-Type parameter %s=%s is not supported; send UTF-8", k, val)
		}
	}
	switch {
	case mt == "application/json":
		return nil
	case mt == "text/csv" && pr == protoInvocations:
		return nil
	case pr == protoInvocations:
		return errf(EMEDIATYPE, "Content-Type %s is not supported; send application/json or text/csv", mt)
	}
	return errf(EMEDIATYPE, "Content-Type %s is not supported; send application/json", mt)
}

// answer scores one request body on d and returns the answer's bytes,
// which alias st until st goes back to the pool.
func (d *Deployment) answer(ctx context.Context, pr proto, ct, model, version string, body []byte, st *reqState, deadline time.Time) ([]byte, error) {
	if d.script != nil {
		return d.runScript(ctx, pr, body, deadline)
	}
	r := &st.rows
	r.reset(d.feats, d.index)
	var (
		err error
		v2  v2Request
	)
	switch pr {
	case protoScore:
		err = r.decodeScore(body)
	case protoInvocations:
		if strings.HasPrefix(ct, "text/csv") {
			err = r.decodeCSV(body)
		} else {
			err = r.decodeInvocations(body)
		}
	case protoV2:
		v2, err = r.decodeV2(body)
	}
	if err == nil && d.kinds != nil {
		err = d.checkKinds(r)
	}
	if err != nil {
		return nil, err
	}
	k := d.model.NumOutputs()
	st.out = resize(st.out, r.n*k)
	if r.n > 0 {
		d.model.PredictRows(r.vals, r.n, st.out)
	}
	b := st.resp[:0]
	switch pr {
	case protoScore:
		b = d.appendPredictions(b, st.out, r.n)
	case protoInvocations:
		b = append(b, `{"predictions":`...)
		b = d.appendPredictions(b, st.out, r.n)
		b = append(b, '}')
	case protoV2:
		b, err = d.appendV2(b, &v2, model, version, st.out, r.n)
	}
	st.resp = b
	return b, err
}

// runScript passes the body to the deployment's script runner.
func (d *Deployment) runScript(ctx context.Context, pr proto, body []byte, deadline time.Time) ([]byte, error) {
	if pr == protoV2 {
		return nil, errf(hangar.ENOTIMPLEMENTED, "deployment %s runs a scoring script, which takes /score and /invocations, not V2", d.spec.Name)
	}
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	out, err := d.script.Run(ctx, body)
	switch {
	case err == nil:
		return out, nil
	case errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
		return nil, errf(ETIMEOUT, "deployment %s took longer than request_timeout_ms %d", d.spec.Name, d.spec.RequestTimeout.Milliseconds())
	}
	var he *hangar.Error
	if errors.As(err, &he) && he.Code != hangar.EINTERNAL {
		return nil, err
	}
	return nil, &scriptError{dep: d.spec.Name, err: err}
}

// scriptError is a scoring script's failure: the caller gets 424 and the
// code, the log gets the details.
type scriptError struct {
	dep string
	err error
}

func (e *scriptError) Error() string {
	return "deployment " + e.dep + ": scoring script: " + e.err.Error()
}
func (e *scriptError) Unwrap() error { return e.err }

// fail answers an error in the protocol's error shape.
func (g *Gateway) fail(w http.ResponseWriter, pr proto, ep, dep string, err error) {
	code := errCode(err)
	msg := hangar.ErrorMessage(err)
	var se *scriptError
	if errors.As(err, &se) {
		code, msg = EMODEL, "deployment "+se.dep+": the scoring script failed"
		w.Header().Set(headerModelError, "500")
		g.Logger.Error("serving: scoring script failed", "endpoint", ep, "deployment", dep, "err", se.err)
	} else if code == hangar.EINTERNAL {
		g.Logger.Error("serving: request failed", "endpoint", ep, "deployment", dep, "err", err)
	}
	if code == ETIMEOUT {
		msg = hangar.ErrorMessage(err)
	}
	st := status(code)
	g.metrics.failed(ep, dep, st, code)
	b := make([]byte, 0, 96+len(msg))
	if pr == protoInvocations {
		b = append(b, `{"error_code":`...)
		b = strconv.AppendQuote(b, mlflowCode(st))
		b = append(b, `,"message":`...)
		b = appendJSONString(b, msg)
	} else {
		b = append(b, `{"error":`...)
		b = appendJSONString(b, msg)
	}
	b = append(b, `,"code":`...)
	b = strconv.AppendQuote(b, code)
	b = append(b, '}')
	writeJSON(w, st, b)
}

// count records a failed mirrored request.
func (g *Gateway) count(pr proto, ep, dep string, err error) {
	code := errCode(err)
	var se *scriptError
	if errors.As(err, &se) {
		code = EMODEL
	}
	g.metrics.failed(ep, dep, status(code), code)
}

// mlflowCode is MLflow's error_code for a status.
func mlflowCode(st int) string {
	switch st {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
		return "BAD_REQUEST"
	case http.StatusUnauthorized:
		return "UNAUTHENTICATED"
	case http.StatusForbidden:
		return "PERMISSION_DENIED"
	case http.StatusNotFound:
		return "RESOURCE_DOES_NOT_EXIST"
	case http.StatusTooManyRequests:
		return "REQUEST_LIMIT_EXCEEDED"
	case http.StatusServiceUnavailable:
		return "TEMPORARILY_UNAVAILABLE"
	case http.StatusNotImplemented:
		return "NOT_IMPLEMENTED"
	case http.StatusRequestTimeout:
		return "DEADLINE_EXCEEDED"
	}
	return "INTERNAL_ERROR"
}

func writeJSON(w http.ResponseWriter, st int, b []byte) {
	w.Header()["Content-Type"] = jsonType
	w.WriteHeader(st)
	_, _ = w.Write(b)
}

// appendJSONString appends s as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	b = appendJSONChars(b, s)
	return append(b, '"')
}

// appendJSONChars appends s escaped for the inside of a JSON string. Runs
// of bytes that need no escape are appended whole.
func appendJSONChars(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, s[start:i]...)
			b = append(b, '\\', c)
		case c < 0x20 || c == '<' || c == '>' || c == '&':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			continue
		}
		start = i + 1
	}
	return append(b, s[start:]...)
}

// requestID returns the caller's correlation id (x-request-id or
// x-ms-client-request-id, when it is 1..128 safe characters) or a new
// one: the gateway's random prefix and a counter, unique without a
// random read per request.
func (g *Gateway) requestID(r *http.Request, st *reqState) string {
	for _, k := range [...]string{"X-Request-Id", "X-Ms-Client-Request-Id"} {
		if v := r.Header[k]; len(v) > 0 && safeID(v[0]) {
			return v[0]
		}
	}
	b := append(st.id[:0], g.idPrefix...)
	n := g.idSeq.Add(1)
	const hex = "0123456789abcdef"
	for i := 44; i >= 0; i -= 4 {
		b = append(b, hex[(n>>uint(i))&0xf])
	}
	st.id = b
	return string(b)
}

func safeID(s string) bool {
	if len(s) == 0 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':') {
			return false
		}
	}
	return true
}

// endpoint finds the request's endpoint for the non-scoring routes,
// answering 404 itself when there is none.
func (g *Gateway) endpoint(w http.ResponseWriter, r *http.Request, pr proto) *table {
	name := r.PathValue("endpoint")
	ep := (*g.endpoints.Load())[name]
	if ep == nil {
		g.fail(w, pr, name, "", errf(hangar.ENOTFOUND, "endpoint %s does not exist", name))
		return nil
	}
	return ep.table.Load()
}

// live answers liveness: the endpoint exists.
func (g *Gateway) live(w http.ResponseWriter, r *http.Request) {
	if g.endpoint(w, r, protoV2) == nil {
		return
	}
	writeJSON(w, http.StatusOK, []byte(`{"live":true}`))
}

// ready answers readiness: every deployment with live traffic is ready,
// and there is one.
func (g *Gateway) ready(w http.ResponseWriter, r *http.Request) {
	t := g.endpoint(w, r, protoV2)
	if t == nil {
		return
	}
	if len(t.live) == 0 {
		g.fail(w, protoV2, t.name, "", errf(ENOTRAFFIC, "endpoint %s gives no deployment traffic", t.name))
		return
	}
	for _, l := range t.live {
		if !l.d.Ready() {
			g.fail(w, protoV2, t.name, l.d.spec.Name, errf(ENOTREADY, "deployment %s is not ready", l.d.spec.Name))
			return
		}
	}
	writeJSON(w, http.StatusOK, []byte(`{"ready":true}`))
}

// decodeCSV reads an MLflow text/csv body: a header of column names, then
// rows; an empty field is missing (NaN).
func (r *rows) decodeCSV(body []byte) error {
	cr := csv.NewReader(bytes.NewReader(body))
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err != nil {
		return errf(EBADJSON, "CSV body has no header: %v", err)
	}
	r.cols = r.cols[:0]
	for _, name := range head {
		f, ok := r.index[name]
		if !ok {
			f = -1
		} else {
			if r.seen[f] {
				return errf(hangar.EINVALID, "CSV header names %q twice", name)
			}
			r.seen[f] = true
		}
		r.cols = append(r.cols, f)
	}
	if err := r.missing(); err != nil {
		return err
	}
	nf := len(r.feats)
	for row := 0; ; row++ {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return errf(EBADSHAPE, "CSV row %d: %v", row, err)
		}
		base := len(r.vals)
		r.vals = appendNaN(r.vals, nf)
		r.n++
		for j, field := range rec {
			f := r.cols[j]
			if f < 0 || field == "" {
				continue
			}
			v, err := strconv.ParseFloat(strings.TrimSpace(field), 64)
			if err != nil || math.IsInf(v, 0) {
				return errf(EBADTYPE, "feature %q, row %d: want a number, got %q", r.feats[f], row, field)
			}
			r.vals[base+f] = v
		}
	}
}
