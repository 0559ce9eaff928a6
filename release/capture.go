package release

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/artifact"
	"github.com/hangar-ml/hangar/serving"
)

// Capture (Azure's data collector): the gateway samples requests and hands
// the records to a workspace's collector in batches, from its own
// goroutine — never on a request's path. The collector appends them as
// JSON lines to a staging file per deployment, collection and rolling
// window (Azure's rolling_rate: Minute, Hour — the default — or Day).
// When a window is over (or at Close) its file is stored in the blob store
// and registered as one version of a uri_folder data asset, by default
// named <endpoint>-<deployment>-<collection>. Every line carries the
// request's correlation id, so inputs, outputs and later ground truth
// join on it.
//
// A window whose registration fails is retried with exponential backoff
// (retryBase doubling up to retryMax, at most maxUploadAttempts tries);
// its files stay on disk until it is registered. At most
// maxPendingWindows windows of a workspace wait for a retry: one more
// drops the oldest (by window start), as does the last failed attempt —
// its files are deleted and it is counted in
// hangar_serving_capture_windows_dropped_total, so a broken data store
// can fill neither memory nor the disk. An error no retry can mend
// (EINVALID, EFORBIDDEN, ENOTFOUND: the workspace was deleted, say)
// drops the window at once. Each window folder has a sidecar
// "<folder>.json" describing it, so windows left on disk by a stopped or
// crashed server are registered after the next start (Open queues them,
// and each gets one attempt before the cap of pending windows applies to
// it). Close uploads only the windows still open, under one deadline for
// all (closeUploadTimeout); the pending ones stay on disk for the next
// start. Registration is at least once: a version registered whose
// answer was lost is registered again by the retry.

// Default collections when a data collector names none.
var defaultCollections = []string{"model_inputs", "model_outputs"}

// captureConfig is a deployment's data collector, as the collector
// applies it.
type captureConfig struct {
	rolling     time.Duration
	collections []collection
}

type collection struct {
	name     string
	dataName string
	output   bool // the response body; else the request body
}

// captureFor reads a deployment's data collector; no collections when
// capture is off.
func captureFor(endpoint, deployment string, dc *hangar.DataCollector) captureConfig {
	if dc == nil || dc.SamplingRate <= 0 {
		return captureConfig{}
	}
	cc := captureConfig{rolling: time.Hour}
	switch strings.ToLower(dc.RollingRate) {
	case "minute":
		cc.rolling = time.Minute
	case "day":
		cc.rolling = 24 * time.Hour
	}
	add := func(name, dataName string) {
		if dataName == "" {
			dataName = endpoint + "-" + deployment + "-" + name
		}
		out := strings.Contains(name, "output") || name == "response"
		cc.collections = append(cc.collections, collection{name: name, dataName: dataName, output: out})
	}
	if len(dc.Collections) == 0 {
		for _, n := range defaultCollections {
			add(n, "")
		}
		return cc
	}
	for _, name := range sortedKeys(dc.Collections) {
		if c := dc.Collections[name]; c.Enabled {
			add(name, c.DataName)
		}
	}
	return cc
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// Retry of the registration of capture windows.
// With these, the waits between the ten attempts are 1, 2, 4, …, 256 s:
// about 8.5 minutes in all (retryMax is not reached), plus the attempts
// themselves, each bounded by uploadTimeout — at most about 18.5 minutes
// from the first failure to the drop.
const (
	maxPendingWindows = 64 // per workspace, counting only windows tried at least once
	maxUploadAttempts = 10
	retryBase         = time.Second
	retryMax          = 10 * time.Minute
	uploadTimeout     = time.Minute // one attempt
	// closeUploadTimeout bounds the upload of the open windows at Close,
	// all workspaces together.
	closeUploadTimeout = 30 * time.Second
)

// window is one staging file: the records of one collection of one
// deployment in one rolling window.
type window struct {
	endpoint, deployment string
	col                  collection
	start, end           time.Time // end is zero for a window of an older server, found on disk
	dir, file            string    // the folder uploaded, and the file in it
	buf                  []byte    // lines not yet appended to the file

	attempts int       // failed registrations; 0 for a window found on disk at start
	next     time.Time // when a pending window is tried again
}

// collector is a workspace's capture sink.
type collector struct {
	s   *Service
	ws  string
	dir string
	// dropped counts the windows given up (nil: not registered).
	dropped prometheus.Counter

	mu      sync.Mutex
	cfgs    map[string]captureConfig // endpoint/deployment
	open    map[string]*window       // endpoint/deployment/collection
	done    []*window                // over, waiting for upload
	pending []*window                // registration failed (or found on disk at start), oldest window first
	// The retry bounds; tests lower them.
	maxPending, maxAttempts int
	retryBase, retryMax     time.Duration

	up sync.Mutex // one upload at a time
}

// collectorLocked returns the workspace's collector, making it. s.mu held.
func (s *Service) collectorLocked(ws string) *collector {
	if c := s.sinks[ws]; c != nil {
		return c
	}
	c := &collector{s: s, ws: ws, dir: filepath.Join(s.Dir, "capture", ws), cfgs: map[string]captureConfig{}, open: map[string]*window{},
		maxPending: maxPendingWindows, maxAttempts: maxUploadAttempts, retryBase: retryBase, retryMax: retryMax}
	if s.Registerer != nil {
		dropped := prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hangar_serving_capture_windows_dropped_total",
			Help: "Capture windows given up: their data asset version could not be registered in time, or too many waited for a retry.",
		})
		err := prometheus.WrapRegistererWith(prometheus.Labels{"workspace": ws}, s.Registerer).Register(dropped)
		var are prometheus.AlreadyRegisteredError
		switch {
		case errors.As(err, &are):
			dropped, _ = are.ExistingCollector.(prometheus.Counter)
		case err != nil:
			s.Logger.Error("capture: register the dropped windows metric", "workspace", ws, "err", err)
			dropped = nil
		}
		c.dropped = dropped
	}
	s.sinks[ws] = c
	return c
}

var _ serving.Sink = (*collector)(nil)

// configure sets or (cc nil or empty) removes a deployment's capture. The
// files of a removed deployment are uploaded at the next flush.
func (c *collector) configure(endpoint, deployment string, cc *captureConfig) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := endpoint + "/" + deployment
	if cc == nil || len(cc.collections) == 0 {
		delete(c.cfgs, k)
		return
	}
	c.cfgs[k] = *cc
}

// forgetEndpoint removes the capture of every deployment of an endpoint.
func (c *collector) forgetEndpoint(endpoint string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.cfgs {
		if strings.HasPrefix(k, endpoint+"/") {
			delete(c.cfgs, k)
		}
	}
}

// WriteCapture appends the batch to the windows' staging files; records
// of a new window close the previous one, which is uploaded before
// WriteCapture returns (on the gateway's capture goroutine).
func (c *collector) WriteCapture(ctx context.Context, batch []serving.Record) error {
	c.mu.Lock()
	touched := map[*window]bool{}
	var err error
	for i := range batch {
		r := &batch[i]
		cfg, ok := c.cfgs[r.Endpoint+"/"+r.Deployment]
		if !ok {
			continue
		}
		t := r.Time.UTC()
		start := t.Truncate(cfg.rolling)
		for _, col := range cfg.collections {
			k := r.Endpoint + "/" + r.Deployment + "/" + col.name
			w := c.open[k]
			if w != nil && start.After(w.start) {
				c.done = append(c.done, w)
				delete(c.open, k)
				w = nil
			}
			if w == nil {
				if w, err = c.newWindow(r.Endpoint, r.Deployment, col, start, cfg.rolling); err != nil {
					break
				}
				c.open[k] = w
			}
			data := r.Input
			if col.output {
				data = r.Output
			}
			w.buf = appendRecord(w.buf, r, col, t, data)
			touched[w] = true
		}
	}
	for w := range touched {
		if werr := appendFile(filepath.Join(w.dir, w.file), w.buf); werr != nil && err == nil {
			err = werr
		}
		w.buf = w.buf[:0]
	}
	done := c.done
	c.done = nil
	c.mu.Unlock()
	// On the gateway's capture goroutine: its end must not cut an upload.
	c.upload(context.WithoutCancel(ctx), done)
	if err != nil {
		return fmt.Errorf("capture: %w", err)
	}
	return nil
}

func (c *collector) newWindow(endpoint, deployment string, col collection, start time.Time, rolling time.Duration) (*window, error) {
	parent := filepath.Join(c.dir, endpoint, deployment, col.name)
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(parent, strconv.FormatInt(start.Unix(), 10)+"-")
	if err != nil {
		return nil, err
	}
	// Azure's layout inside the asset: yyyy/MM/dd/HH/<mm>.jsonl.
	file := filepath.Join(start.Format("2006"), start.Format("01"), start.Format("02"), start.Format("15"), start.Format("04")+".jsonl")
	w := &window{endpoint: endpoint, deployment: deployment, col: col, start: start, end: start.Add(rolling), dir: dir, file: file}
	meta, _ := json.Marshal(windowMeta{DataName: col.dataName, Output: col.output, Start: w.start, End: w.end}) // cannot fail
	if err := os.WriteFile(dir+".json", meta, 0o600); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return w, nil
}

// windowMeta is a window folder's sidecar "<folder>.json": what its path
// does not say, for the windows found on disk at start.
type windowMeta struct {
	DataName string    `json:"data_name"`
	Output   bool      `json:"output"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
}

// removeWindow deletes a window's folder and sidecar.
func removeWindow(w *window) {
	_ = os.RemoveAll(w.dir)
	_ = os.Remove(w.dir + ".json")
}

// appendRecord appends one JSON line: the correlation id, time, endpoint,
// deployment, model version, protocol, status and the body (JSON as it
// came, else a string) under "input" or "output".
func appendRecord(b []byte, r *serving.Record, col collection, t time.Time, data []byte) []byte {
	b = append(b, `{"correlationid":`...)
	b = appendString(b, r.ID)
	b = append(b, `,"time":"`...)
	b = t.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","endpoint":`...)
	b = appendString(b, r.Endpoint)
	b = append(b, `,"deployment":`...)
	b = appendString(b, r.Deployment)
	if r.ModelVersion != "" {
		b = append(b, `,"modelversion":`...)
		b = appendString(b, r.ModelVersion)
	}
	b = append(b, `,"protocol":`...)
	b = appendString(b, r.Protocol)
	b = append(b, `,"collection":`...)
	b = appendString(b, col.name)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(r.Status), 10)
	if col.output {
		b = append(b, `,"output":`...)
	} else {
		b = append(b, `,"input":`...)
	}
	if len(data) > 0 && json.Valid(data) {
		if bytes.ContainsAny(data, "\r\n") {
			var buf bytes.Buffer
			_ = json.Compact(&buf, data) // valid: cannot fail
			data = buf.Bytes()
		}
		b = append(b, data...)
	} else {
		b = appendString(b, strings.ToValidUTF8(string(data), "\uFFFD"))
	}
	return append(b, "}\n"...)
}

func appendString(b []byte, s string) []byte {
	// Ids and names need no escaping: quote them as encoding/json would,
	// without its allocation (six strings a record, on the capture path).
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

func appendFile(path string, b []byte) error {
	if len(b) == 0 {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// flush uploads the windows that are over — their time passed, or their
// deployment no longer captures — and tries again the pending windows
// whose time for a retry came. With closing (at Close) it uploads every
// window not yet tried, open or over, and leaves the pending ones on disk
// for the next start: a broken data store must not hold up a shutdown
// with retries. ctx bounds the uploads (each also by uploadTimeout).
func (c *collector) flush(ctx context.Context, closing bool) {
	now := c.s.now()
	c.mu.Lock()
	done := c.done
	c.done = nil
	for k, w := range c.open {
		_, live := c.cfgs[w.endpoint+"/"+w.deployment]
		if closing || !live || !now.Before(w.end) {
			done = append(done, w)
			delete(c.open, k)
		}
	}
	if closing {
		c.mu.Unlock()
		c.upload(ctx, done)
		return
	}
	kept := c.pending[:0]
	for _, w := range c.pending {
		if now.Before(w.next) {
			kept = append(kept, w)
		} else {
			done = append(done, w)
		}
	}
	clear(c.pending[len(kept):])
	c.pending = kept
	c.mu.Unlock()
	c.upload(ctx, done)
}

// upload stores each window's folder and registers it as a data asset
// version, each attempt bounded by ctx and uploadTimeout. A failure is
// logged and the window waits for a retry, its files left in the staging
// folder: captured data is never worth failing a request or a shutdown.
// Once ctx is done (Close) the windows not registered are left on disk,
// for the next start.
func (c *collector) upload(ctx context.Context, ws []*window) {
	if len(ws) == 0 {
		return
	}
	c.up.Lock()
	defer c.up.Unlock()
	for i, w := range ws {
		if ctx.Err() != nil {
			c.s.Logger.Warn("capture: no time left to register the windows: their files stay on disk until the next start",
				"workspace", c.ws, "windows", len(ws)-i, "err", context.Cause(ctx))
			return
		}
		uctx, cancel := context.WithTimeout(ctx, uploadTimeout)
		a, err := c.register(uctx, w)
		cancel()
		switch {
		case errors.Is(err, errEmptyWindow):
			removeWindow(w) // nothing was captured in it: nothing to keep
		case err != nil && ctx.Err() != nil:
			// Cut short by Close: not the data store's failure.
			c.s.Logger.Warn("capture: registering the window was cut short: its files stay on disk until the next start",
				"workspace", c.ws, "dir", w.dir, "err", err)
		case err != nil:
			c.retryLater(w, err)
		default:
			c.s.Logger.Info("capture: data asset version registered", "workspace", c.ws, "data", a.Name, "version", a.Version, "files", a.FileCount)
			removeWindow(w)
		}
	}
}

// retryLater queues w for another try after its failed registration, or
// drops it after its last attempt or an error no retry mends; a full
// queue drops its oldest window.
func (c *collector) retryLater(w *window, err error) {
	log := c.s.Logger.With("workspace", c.ws, "endpoint", w.endpoint, "deployment", w.deployment, "collection", w.col.name, "dir", w.dir)
	if permanent(err) {
		log.Error("capture: register the window's data: the data store refused it, the window is dropped", "reason", hangar.ErrorCode(err), "err", err)
		c.drop(w)
		return
	}
	c.mu.Lock()
	w.attempts++
	if w.attempts >= c.maxAttempts {
		c.mu.Unlock()
		log.Error("capture: register the window's data: giving up, the window is dropped", "attempts", w.attempts, "err", err)
		c.drop(w)
		return
	}
	wait := c.retryMax
	if w.attempts <= 20 {
		wait = min(c.retryBase<<(w.attempts-1), c.retryMax)
	}
	w.next = c.s.now().Add(wait)
	log.Warn("capture: register the window's data: will try again", "attempts", w.attempts, "next", w.next, "err", err)
	over := c.queueLocked(w)
	c.mu.Unlock()
	for _, o := range over {
		c.s.Logger.Error("capture: too many windows wait to be registered: the oldest is dropped", "workspace", c.ws,
			"endpoint", o.endpoint, "deployment", o.deployment, "collection", o.col.name, "dir", o.dir)
		c.drop(o)
	}
}

// permanent reports whether err is one no retry mends: the data store
// refused the version (EINVALID), the workspace's data is out of reach
// (EFORBIDDEN) or the workspace is gone (ENOTFOUND).
func permanent(err error) bool {
	switch hangar.ErrorCode(err) {
	case hangar.EINVALID, hangar.EFORBIDDEN, hangar.ENOTFOUND:
		return true
	}
	return false
}

// queueLocked adds w to the pending windows, oldest window first, and
// returns the oldest of those tried at least once beyond maxPending,
// which the caller drops. Windows found on disk at start and not tried
// yet do not count: each gets its attempt first. c.mu held.
func (c *collector) queueLocked(w *window) []*window {
	c.pending = append(c.pending, w)
	slices.SortStableFunc(c.pending, func(a, b *window) int { return a.start.Compare(b.start) })
	tried := 0
	for _, p := range c.pending {
		if p.attempts > 0 {
			tried++
		}
	}
	n := tried - max(c.maxPending, 1)
	if n <= 0 {
		return nil
	}
	var over []*window
	kept := c.pending[:0]
	for _, p := range c.pending {
		if n > 0 && p.attempts > 0 {
			over = append(over, p)
			n--
			continue
		}
		kept = append(kept, p)
	}
	clear(c.pending[len(kept):])
	c.pending = kept
	return over
}

// drop gives a window up: its files are deleted and it is counted.
func (c *collector) drop(w *window) {
	removeWindow(w)
	if c.dropped != nil {
		c.dropped.Inc()
	}
}

// recoverCaptureLocked queues for registration the capture windows left
// on disk by an earlier run of the server (stopped before they were
// registered, or crashed). Called by Open, before any window of this run
// exists; the first flush tries them. However many there are, none is
// dropped before its first attempt: the cap of pending windows counts
// only windows tried (queueLocked). s.mu held.
func (s *Service) recoverCaptureLocked() {
	if s.Data == nil || s.Blobs == nil {
		return
	}
	root := filepath.Join(s.Dir, "capture")
	wss, _ := os.ReadDir(root)
	for _, wsd := range wss {
		if !wsd.IsDir() || hangar.ValidateWorkspaceName(wsd.Name()) != nil {
			continue
		}
		var found []*window
		// <ws>/<endpoint>/<deployment>/<collection>/<start>-<random>
		dirs, _ := filepath.Glob(filepath.Join(root, wsd.Name(), "*", "*", "*", "*"))
		for _, dir := range dirs {
			if w := recoveredWindow(dir); w != nil {
				found = append(found, w)
			}
		}
		if len(found) == 0 {
			continue
		}
		c := s.collectorLocked(wsd.Name())
		s.Logger.Info("capture: windows left on disk by the last run will be registered", "workspace", c.ws, "windows", len(found))
		c.mu.Lock()
		for _, w := range found {
			_ = c.queueLocked(w) // not tried yet: drops none
		}
		c.mu.Unlock()
	}
}

// recoveredWindow reads a window folder found on disk; nil when dir is not
// one. A folder of an older server, without its sidecar, is registered
// under the default data name, its end unknown.
func recoveredWindow(dir string) *window {
	st, err := os.Stat(dir)
	if err != nil || !st.IsDir() {
		return nil
	}
	col := filepath.Dir(dir)
	dep := filepath.Dir(col)
	ep := filepath.Dir(dep)
	w := &window{endpoint: filepath.Base(ep), deployment: filepath.Base(dep), dir: dir}
	w.col.name = filepath.Base(col)
	if hangar.ValidateEndpointName(w.endpoint) != nil {
		return nil
	}
	var m windowMeta
	if b, err := os.ReadFile(dir + ".json"); err == nil && json.Unmarshal(b, &m) == nil && m.DataName != "" {
		w.col.dataName, w.col.output, w.start, w.end = m.DataName, m.Output, m.Start, m.End
		return w
	}
	unix, _, ok := strings.Cut(filepath.Base(dir), "-")
	sec, err := strconv.ParseInt(unix, 10, 64)
	if !ok || err != nil {
		return nil
	}
	w.start = time.Unix(sec, 0).UTC()
	w.col.dataName = w.endpoint + "-" + w.deployment + "-" + w.col.name
	w.col.output = strings.Contains(w.col.name, "output") || w.col.name == "response"
	return w
}

// errEmptyWindow: a window folder without a file.
var errEmptyWindow = errors.New("capture window has no files")

func (c *collector) register(ctx context.Context, w *window) (*hangar.DataAsset, error) {
	info, m, err := artifact.PutDir(ctx, c.s.Blobs, os.DirFS(w.dir))
	if err != nil {
		return nil, err
	}
	if len(m.Files) == 0 {
		return nil, errEmptyWindow
	}
	span := "from " + w.start.Format(time.RFC3339)
	tags := map[string]string{
		"endpoint": w.endpoint, "deployment": w.deployment, "collection": w.col.name,
		"window_start": w.start.Format(time.RFC3339),
	}
	if !w.end.IsZero() {
		span += " to " + w.end.Format(time.RFC3339)
		tags["window_end"] = w.end.Format(time.RFC3339)
	}
	return c.s.Data.CreateDataVersion(ctx, c.ws, &hangar.DataAsset{
		Name: w.col.dataName, Type: hangar.DataURIFolder, Path: string(info.Digest), Manifest: info,
		Size: m.TotalSize(), FileCount: int64(len(m.Files)),
		Description: fmt.Sprintf("%s captured by online endpoint %s, deployment %s, %s",
			w.col.name, w.endpoint, w.deployment, span),
		Tags: tags,
	})
}
