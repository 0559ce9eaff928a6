// Package pyworker runs Python scoring code for online endpoints: a
// supervised pool of Debian python3 processes that serve an Azure-style
// scoring script (init() once, run(raw_data) per request, AZUREML_MODEL_DIR)
// or an MLflow python_function model that the native runtime cannot serve.
// In batch mode (Config.Batch) it runs a batch deployment's script instead:
// run(mini_batch) per RunBatch.
//
// Each worker runs an embedded bootstrap (bootstrap.py) and answers
// length-prefixed frames: requests on its stdin, answers on fd 3, so nothing
// the user's code prints can corrupt them; its stdout and stderr are kept in
// a bounded ring (Logs) and written through slog. One request is in a worker
// at a time. A worker that crashes is replaced and its request answered with
// CodeCrashed; one that runs past the request timeout is killed with its
// process group, replaced, and its request answered with CodeTimeout. The
// pool never installs Python packages and never reads the environment: what
// the worker sees is Config.Env plus what Start sets.
package pyworker

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/mlmodel"
)

//go:embed bootstrap.py
var bootstrap string

// Defaults of Config.
const (
	DefaultPython           = "/usr/bin/python3"
	DefaultStartTimeout     = 2 * time.Minute
	DefaultRequestTimeout   = 5 * time.Second // Azure's request_timeout_ms default
	DefaultMaxResponseBytes = 16 << 20
	DefaultLogLines         = 1000
	MaxWorkers              = 64 // per pool: more is a typo, not a deployment
)

// Config says what a pool serves and how.
type Config struct {
	// Python is the interpreter; DefaultPython when empty. Hangar uses
	// Debian's python3 and the Debian packages installed next to it.
	Python string
	// CodeDir and ScoringScript (a .py path relative to CodeDir) name an
	// Azure-style scoring script. When ScoringScript is empty, ModelDir must
	// be an MLflow model folder with a python_function flavor.
	CodeDir       string
	ScoringScript string
	// Batch runs the scoring script as a batch deployment's, init() once
	// and run(mini_batch) per RunBatch (which see); it needs a
	// ScoringScript. Run is refused on a batch pool and RunBatch on an
	// online one.
	Batch bool
	// ModelDir is the model folder, given to the script as AZUREML_MODEL_DIR.
	ModelDir string
	// Env is added to the worker's environment (environment_variables of the
	// deployment). The variables Start sets (AZUREML_MODEL_DIR,
	// AZUREML_ENTRY_SCRIPT, LANG, PYTHONUNBUFFERED, PYTHONDONTWRITEBYTECODE)
	// win, except PATH, which Env may replace.
	Env map[string]string
	// Workers is the number of processes; 1 when zero, at most MaxWorkers.
	Workers int
	// StartTimeout bounds one worker's start and init();
	// DefaultStartTimeout when zero.
	StartTimeout time.Duration
	// RequestTimeout bounds one request in a worker; DefaultRequestTimeout
	// when zero.
	RequestTimeout time.Duration
	// MaxResponseBytes bounds a response; DefaultMaxResponseBytes when zero.
	MaxResponseBytes int
	// LogLines is how many output lines Logs keeps; DefaultLogLines when zero.
	LogLines int
	// Logger receives the workers' output and the pool's events; discarded
	// when nil.
	Logger *slog.Logger
}

// Pool is a running set of workers. Its methods are safe for concurrent use.
type Pool struct {
	cfg  Config
	arg  string   // the bootstrap's JSON argument
	dir  string   // the workers' working directory
	env  []string // the workers' environment
	log  *slog.Logger
	logs *ring

	done  chan struct{} // closed by Close
	avail chan struct{} // a token per worker made idle; stale tokens are harmless
	wg    sync.WaitGroup

	mu     sync.Mutex
	closed bool
	idle   []*proc
	slots  []*slot
}

// slot is one worker position: the process in it changes on restarts.
type slot struct {
	index int
	// Guarded by Pool.mu.
	cur      *proc
	restarts int
	requests int64
}

// proc is one worker process.
type proc struct {
	slot   *slot
	cmd    *exec.Cmd
	pid    int
	in     *os.File      // requests: the pool's write end
	out    *os.File      // answers: the pool's read end
	exited chan struct{} // closed once the process is reaped and its output read
	closed sync.Once     // closes in and out

	mu      sync.Mutex
	gone    bool  // the process exited: no more signals to its group
	waitErr error // set before exited is closed

	// Guarded by Pool.mu.
	ready bool
	busy  bool
	dead  bool
}

// Start starts cfg.Workers workers and returns once every one has run init()
// (or loaded the MLflow model). If any fails, every worker is stopped and the
// error is the script's: an *Error with CodeInitFailed, CodeMissingPackages
// or CodeStartTimeout. A bad Config is EINVALID; a model folder without an
// MLmodel file is ENOTFOUND.
func Start(ctx context.Context, cfg Config) (*Pool, error) {
	cfg = withDefaults(cfg)
	p := &Pool{
		cfg:   cfg,
		log:   cfg.Logger,
		logs:  newRing(cfg.LogLines),
		done:  make(chan struct{}),
		avail: make(chan struct{}, cfg.Workers),
	}
	if err := p.configure(); err != nil {
		return nil, err
	}
	type started struct {
		pr  *proc
		err error
	}
	results := make(chan started, cfg.Workers)
	for i := range cfg.Workers {
		p.slots = append(p.slots, &slot{index: i})
	}
	for _, s := range p.slots {
		go func() {
			pr, err := p.spawn(ctx, s)
			results <- started{pr, err}
		}()
	}
	var procs []*proc
	var firstErr error
	for range cfg.Workers {
		r := <-results
		if r.err != nil {
			// The script's own error beats "stopped because another failed".
			var pe *Error
			if firstErr == nil || errors.As(firstErr, &pe) && pe.Code == CodeUnavailable {
				firstErr = r.err
			}
			if !p.isClosed() {
				p.shutdown()
			}
			continue
		}
		procs = append(procs, r.pr)
	}
	if firstErr != nil {
		p.shutdown()
		for _, pr := range procs {
			pr.kill()
			<-pr.exited
			pr.closePipes()
		}
		var pe *Error
		if errors.As(firstErr, &pe) && pe.Code == CodeMissingPackages && cfg.ScoringScript == "" {
			if reqs := requirements(filepath.Join(cfg.ModelDir, "requirements.txt")); reqs != "" {
				pe.Message += "; the model's requirements.txt asks for " + reqs
			}
		}
		return nil, fmt.Errorf("start python workers: %w", firstErr)
	}
	for _, pr := range procs {
		p.wg.Add(1)
		go p.supervise(pr)
	}
	p.log.Info("python workers ready", "workers", cfg.Workers, "python", cfg.Python)
	return p, nil
}

func withDefaults(cfg Config) Config {
	if cfg.Python == "" {
		cfg.Python = DefaultPython
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 1
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = DefaultStartTimeout
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	if cfg.MaxResponseBytes <= 0 {
		cfg.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if cfg.LogLines <= 0 {
		cfg.LogLines = DefaultLogLines
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return cfg
}

// configure checks the Config and prepares the bootstrap's argument, the
// working directory and the environment. Errors: EINVALID, ENOTFOUND.
func (p *Pool) configure() error {
	cfg := p.cfg
	if cfg.Workers > MaxWorkers {
		return hangar.Errorf(hangar.EINVALID, "workers %d is over the limit of %d", cfg.Workers, MaxWorkers)
	}
	if st, err := os.Stat(cfg.Python); err != nil || st.IsDir() {
		return hangar.Errorf(hangar.EINVALID, "python interpreter %s not found (Debian's python3; scripts/install-deps.sh installs what the tests need)", cfg.Python)
	}
	abs := func(field, dir string) (string, error) {
		if dir == "" {
			return "", nil
		}
		a, err := filepath.Abs(dir)
		if err != nil {
			return "", hangar.Errorf(hangar.EINVALID, "%s %q: %v", field, dir, err)
		}
		if st, err := os.Stat(a); err != nil || !st.IsDir() {
			return "", hangar.Errorf(hangar.EINVALID, "%s %q is not a folder", field, dir)
		}
		return a, nil
	}
	modelDir, err := abs("model dir", cfg.ModelDir)
	if err != nil {
		return err
	}
	arg := map[string]any{"model_dir": modelDir}
	if cfg.ScoringScript != "" {
		codeDir, err := abs("code dir", cfg.CodeDir)
		if err != nil {
			return err
		}
		if codeDir == "" {
			return hangar.Errorf(hangar.EINVALID, "scoring script %q needs a code folder", cfg.ScoringScript)
		}
		if !filepath.IsLocal(cfg.ScoringScript) || filepath.Ext(cfg.ScoringScript) != ".py" {
			return hangar.Errorf(hangar.EINVALID, "scoring script %q must be a .py file inside the code folder", cfg.ScoringScript)
		}
		if st, err := os.Stat(filepath.Join(codeDir, cfg.ScoringScript)); err != nil || !st.Mode().IsRegular() {
			return hangar.Errorf(hangar.EINVALID, "scoring script %q is not a file in the code folder", cfg.ScoringScript)
		}
		arg["mode"], arg["code_dir"], arg["script"] = "script", codeDir, filepath.ToSlash(cfg.ScoringScript)
		if cfg.Batch {
			arg["batch"] = true
		}
		p.dir = codeDir
	} else {
		if cfg.Batch {
			return hangar.Errorf(hangar.EINVALID, "batch mode needs a scoring script with init() and run(mini_batch)")
		}
		if modelDir == "" {
			return hangar.Errorf(hangar.EINVALID, "neither a scoring script nor a model folder to serve")
		}
		f, err := pyfuncFlavor(modelDir)
		if err != nil {
			return err
		}
		arg["mode"], arg["loader_module"], arg["data"], arg["code"] = "pyfunc", f.LoaderModule, f.Data, f.Code
		p.dir = modelDir
	}
	b, _ := json.Marshal(arg)
	p.arg = string(b)

	env := map[string]string{}
	for k, v := range cfg.Env {
		if k == "" || strings.ContainsAny(k, "=\x00") || strings.ContainsRune(v, 0) {
			return hangar.Errorf(hangar.EINVALID, "environment variable %q: a name must be non-empty without '=' and no value may hold a NUL byte", k)
		}
		env[k] = v
	}
	maps.Copy(env, map[string]string{
		"PATH":                    "/usr/local/bin:/usr/bin:/bin",
		"LANG":                    "C.UTF-8",
		"PYTHONUNBUFFERED":        "1",
		"PYTHONDONTWRITEBYTECODE": "1",
		"AZUREML_MODEL_DIR":       modelDir,
	})
	if cfg.ScoringScript != "" {
		env["AZUREML_ENTRY_SCRIPT"] = cfg.ScoringScript
	}
	if v, ok := cfg.Env["PATH"]; ok {
		env["PATH"] = v
	}
	for _, k := range slices.Sorted(maps.Keys(env)) {
		p.env = append(p.env, k+"="+env[k])
	}
	return nil
}

// requirements lists the packages of an MLflow model's requirements.txt
// (pip's format: comments and options skipped), "" when there is none.
func requirements(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	var reqs []string
	for line := range strings.Lines(string(b)) {
		line, _, _ = strings.Cut(line, "#")
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "-") && len(reqs) < 20 {
			reqs = append(reqs, line)
		}
	}
	return strings.Join(reqs, ", ")
}

// pyFunc is the part of MLflow's python_function flavor the worker needs.
type pyFunc struct {
	LoaderModule string
	Data         string
	Code         string
}

// pyfuncFlavor reads dir/MLmodel's python_function flavor. Errors:
// ENOTFOUND (no MLmodel), EINVALID.
func pyfuncFlavor(dir string) (*pyFunc, error) {
	m, err := mlmodel.Read(dir)
	if err != nil {
		return nil, err
	}
	raw, ok := m.Flavors[mlmodel.FlavorPyFunc]
	if !ok {
		return nil, hangar.Errorf(hangar.EINVALID, "MLmodel has no %s flavor: no scoring script and nothing for a Python worker to load", mlmodel.FlavorPyFunc)
	}
	str := func(key string) (string, error) {
		v, ok := raw[key]
		if !ok || v == nil {
			return "", nil
		}
		s, ok := v.(string)
		if !ok {
			return "", hangar.Errorf(hangar.EINVALID, "MLmodel %s.%s must be a string", mlmodel.FlavorPyFunc, key)
		}
		return s, nil
	}
	var f pyFunc
	if f.LoaderModule, err = str("loader_module"); err != nil {
		return nil, err
	}
	if !isModulePath(f.LoaderModule) {
		return nil, hangar.Errorf(hangar.EINVALID, "MLmodel %s.loader_module %q is not a Python module name", mlmodel.FlavorPyFunc, f.LoaderModule)
	}
	for _, k := range []struct {
		key string
		dst *string
	}{{"data", &f.Data}, {"code", &f.Code}} {
		if *k.dst, err = str(k.key); err != nil {
			return nil, err
		}
		if *k.dst != "" && !filepath.IsLocal(*k.dst) {
			return nil, hangar.Errorf(hangar.EINVALID, "MLmodel %s.%s %q must be a relative path inside the model folder", mlmodel.FlavorPyFunc, k.key, *k.dst)
		}
	}
	return &f, nil
}

// isModulePath reports whether s is a dotted Python module path of ASCII
// identifiers.
func isModulePath(s string) bool {
	if s == "" {
		return false
	}
	for part := range strings.SplitSeq(s, ".") {
		if part == "" || (part[0] >= '0' && part[0] <= '9') {
			return false
		}
		for _, c := range part {
			if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
				return false
			}
		}
	}
	return true
}

// spawn starts a worker in slot s and waits for its ready frame.
func (p *Pool) spawn(ctx context.Context, s *slot) (*proc, error) {
	reqR, reqW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("pipe: %w", err)
	}
	respR, respW, err := os.Pipe()
	if err != nil {
		reqR.Close()
		reqW.Close()
		return nil, fmt.Errorf("pipe: %w", err)
	}
	logR, logW, err := os.Pipe()
	if err != nil {
		reqR.Close()
		reqW.Close()
		respR.Close()
		respW.Close()
		return nil, fmt.Errorf("pipe: %w", err)
	}
	cmd := exec.Command(p.cfg.Python, "-s", "-c", bootstrap, p.arg)
	cmd.Dir = p.dir
	cmd.Env = p.env
	cmd.Stdin = reqR
	cmd.Stdout = logW
	cmd.Stderr = logW
	cmd.ExtraFiles = []*os.File{respW}
	cmd.SysProcAttr = sysProcAttr()
	err = cmd.Start()
	reqR.Close()
	respW.Close()
	logW.Close()
	if err != nil {
		reqW.Close()
		respR.Close()
		logR.Close()
		return nil, fmt.Errorf("start %s: %w", p.cfg.Python, err)
	}
	pr := &proc{slot: s, cmd: cmd, pid: cmd.Process.Pid, in: reqW, out: respR, exited: make(chan struct{})}
	logDone := make(chan struct{})
	go func() {
		capture(logR, p.logs, p.log, s.index, pr.pid, time.Now)
		close(logDone)
	}()
	go pr.wait(logR, logDone)

	p.mu.Lock()
	closed := p.closed
	if !closed {
		s.cur = pr
	}
	p.mu.Unlock()
	if closed {
		pr.kill()
		<-pr.exited
		pr.closePipes()
		return nil, &Error{Code: CodeUnavailable, Message: "the pool is closed"}
	}

	var timedOut, canceled atomic.Bool
	timer := time.AfterFunc(p.cfg.StartTimeout, func() { timedOut.Store(true); pr.kill() })
	stop := context.AfterFunc(ctx, func() { canceled.Store(true); pr.kill() })
	kind, payload, err := readFrame(pr.out, p.cfg.MaxResponseBytes)
	timer.Stop()
	stop()
	fail := func(e error) (*proc, error) {
		pr.kill()
		<-pr.exited
		pr.closePipes()
		return nil, e
	}
	switch {
	case err == nil && kind == kindReady && !timedOut.Load() && !canceled.Load():
		p.mu.Lock()
		pr.ready = true
		p.mu.Unlock()
		p.log.Info("python worker ready", "worker", s.index, "pid", pr.pid)
		return pr, nil
	case err == nil && kind == kindError:
		return fail(parseWorkerError(payload))
	case timedOut.Load():
		return fail(&Error{Code: CodeStartTimeout, Message: fmt.Sprintf("init() did not return within %s", p.cfg.StartTimeout)})
	case canceled.Load():
		return fail(fmt.Errorf("start python worker: %w", ctx.Err()))
	case p.isClosed():
		return fail(&Error{Code: CodeUnavailable, Message: "the pool is closed"})
	}
	pr.kill()
	<-pr.exited
	pr.closePipes()
	msg := fmt.Sprintf("the worker ended before init() returned (%s)", pr.exitReason())
	if last := p.lastLine(pr.pid); last != "" {
		msg += ": " + last
	}
	return nil, &Error{Code: CodeInitFailed, Message: msg}
}

// wait reaps the process. On Linux it first waits without reaping and kills
// the process group, so nothing the script started outlives it.
func (pr *proc) wait(logR *os.File, logDone chan struct{}) {
	if canWaitNoReap {
		waitExit(pr.pid)
		pr.mu.Lock()
		pr.gone = true
		syscall.Kill(-pr.pid, syscall.SIGKILL)
		pr.mu.Unlock()
	}
	err := pr.cmd.Wait()
	pr.mu.Lock()
	pr.gone = true
	pr.waitErr = err
	pr.mu.Unlock()
	// The request and answer pipes stay open: an answer written just before
	// the exit is still to be read. Whoever holds pr last closes them
	// (closePipes). The output pipe ends when the group is gone; a process that left the
	// group and kept it open loses it here.
	select {
	case <-logDone:
	case <-time.After(time.Second):
		logR.Close()
		<-logDone
	}
	logR.Close()
	close(pr.exited)
}

// closePipes closes the pool's ends of the request and answer pipes, once
// nothing reads or writes them any more.
func (pr *proc) closePipes() {
	pr.closed.Do(func() {
		pr.in.Close()
		pr.out.Close()
	})
}

// kill ends the worker's process group, unless the process has exited.
func (pr *proc) kill() {
	pr.mu.Lock()
	if !pr.gone {
		syscall.Kill(-pr.pid, syscall.SIGKILL)
	}
	pr.mu.Unlock()
}

// exitReason says how the process ended, once exited is closed.
func (pr *proc) exitReason() string {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	var ee *exec.ExitError
	if errors.As(pr.waitErr, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return "killed by signal " + ws.Signal().String()
		}
		return ee.String()
	}
	if pr.waitErr != nil {
		return pr.waitErr.Error()
	}
	return "exit status 0"
}

func (p *Pool) lastLine(pid int) string {
	lines := p.logs.last(0)
	for i := len(lines) - 1; i >= 0; i-- {
		if lines[i].PID == pid && strings.TrimSpace(lines[i].Text) != "" {
			return strings.TrimSpace(lines[i].Text)
		}
	}
	return ""
}

// supervise keeps slot pr.slot filled: it hands pr out, and when pr exits
// (crash, timeout kill) starts a replacement, retrying with backoff, until
// the pool closes.
func (p *Pool) supervise(pr *proc) {
	defer p.wg.Done()
	s := pr.slot
	for {
		p.release(pr)
		<-pr.exited
		p.mu.Lock()
		pr.dead = true
		p.idle = slices.DeleteFunc(p.idle, func(q *proc) bool { return q == pr })
		closed, busy := p.closed, pr.busy
		p.mu.Unlock()
		if !busy {
			pr.closePipes() // else the request's release does
		}
		if closed {
			return
		}
		p.log.Warn("python worker ended; starting a replacement", "worker", s.index, "pid", pr.pid, "reason", pr.exitReason())
		backoff := 100 * time.Millisecond
		for {
			next, err := p.spawn(context.Background(), s)
			if err == nil {
				p.mu.Lock()
				s.restarts++
				p.mu.Unlock()
				pr = next
				break
			}
			if p.isClosed() {
				return
			}
			p.log.Error("python worker replacement failed", "worker", s.index, "err", err)
			select {
			case <-time.After(backoff):
			case <-p.done:
				return
			}
			backoff = min(2*backoff, 10*time.Second)
		}
	}
}

// release ends a request's hold on pr: it becomes idle again unless it
// died (then its pipes are closed, if its supervisor saw the exit while the
// request held it) or the pool closed.
func (p *Pool) release(pr *proc) {
	p.mu.Lock()
	pr.busy = false
	if pr.dead {
		p.mu.Unlock()
		pr.closePipes()
		return
	}
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.idle = append(p.idle, pr)
	p.mu.Unlock()
	select {
	case p.avail <- struct{}{}:
	default:
	}
}

// acquire takes an idle worker, waiting for one.
func (p *Pool) acquire(ctx context.Context) (*proc, error) {
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return nil, &Error{Code: CodeUnavailable, Message: "the scoring workers are stopped"}
		}
		for len(p.idle) > 0 {
			pr := p.idle[0]
			p.idle = p.idle[1:]
			select {
			case <-pr.exited:
				continue // its supervisor is replacing it
			default:
			}
			pr.busy = true
			p.mu.Unlock()
			return pr, nil
		}
		p.mu.Unlock()
		select {
		case <-p.avail:
		case <-p.done:
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for a python worker: %w", ctx.Err())
		}
	}
}

// Run sends the request body to an idle worker (waiting for one as long as
// ctx allows) and returns the JSON the script's run() returned. Errors: an
// *Error (CodeScript, CodeBadRequest, CodeTimeout, CodeCrashed, CodeTooLarge,
// CodeUnavailable), ctx's error, or EINVALID on a batch pool. When ctx ends first the worker finishes
// the request in the background (bounded by RequestTimeout) and stays in the
// pool. A request that could not even be written to a worker (it died while
// idle) goes to another worker.
func (p *Pool) Run(ctx context.Context, raw []byte) ([]byte, error) {
	if p.cfg.Batch {
		return nil, hangar.Errorf(hangar.EINVALID, "the pool runs a batch scoring script: call RunBatch")
	}
	return p.run(ctx, raw)
}

// RunBatch scores one mini-batch in a worker of a batch pool (Config.Batch),
// as Run does a request. payload is JSON, {"files": [absolute paths]} for a
// mini-batch of files or {"columns": [names], "data": [[values]]} for rows
// of one table; the script's run(mini_batch) gets the list of paths, or the
// rows as a pandas DataFrame (a list of dicts when pandas does not import).
// The answer encodes what run() returned, one element per item it
// processed: {"columns": [names], "data": [[values]]} for a pandas
// DataFrame (pandas' to_json orient split: NaN as null, datetimes in ISO
// 8601), {"values": [elements]} for a list, tuple, numpy array or pandas
// Series. Any other return value is CodeScript, as is run() raising.
// Errors: those of Run, and EINVALID on a pool that is not a batch pool.
func (p *Pool) RunBatch(ctx context.Context, payload []byte) ([]byte, error) {
	if !p.cfg.Batch {
		return nil, hangar.Errorf(hangar.EINVALID, "the pool runs an online scoring script: call Run")
	}
	return p.run(ctx, payload)
}

func (p *Pool) run(ctx context.Context, raw []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("score: %w", err)
	}
	type outcome struct {
		body  []byte
		err   error
		retry bool
	}
	for {
		pr, err := p.acquire(ctx)
		if err != nil {
			return nil, err
		}
		ch := make(chan outcome, 1)
		go func() {
			body, retry, err := p.serve(pr, raw)
			ch <- outcome{body, err, retry}
		}()
		select {
		case o := <-ch:
			if o.retry {
				continue
			}
			return o.body, o.err
		case <-ctx.Done():
			return nil, fmt.Errorf("score: %w", ctx.Err())
		}
	}
}

// serve runs one request in pr, under the request timeout. retry is true
// when the request never reached the worker.
func (p *Pool) serve(pr *proc, raw []byte) (body []byte, retry bool, err error) {
	var timedOut atomic.Bool
	timer := time.AfterFunc(p.cfg.RequestTimeout, func() { timedOut.Store(true); pr.kill() })
	sent, kind, payload, err := pr.roundTrip(raw, p.cfg.MaxResponseBytes)
	timer.Stop()
	if !sent && !timedOut.Load() {
		pr.kill()
		<-pr.exited
		p.release(pr)
		return nil, !p.isClosed(), &Error{Code: CodeUnavailable, Message: "the scoring workers were stopped during the request"}
	}
	p.mu.Lock()
	pr.slot.requests++
	p.mu.Unlock()
	if timedOut.Load() {
		<-pr.exited // the kill is done: nothing of the request runs on
		p.release(pr)
		return nil, false, &Error{Code: CodeTimeout, Message: fmt.Sprintf("the scoring script did not answer within %s: its worker was stopped and is being replaced", p.cfg.RequestTimeout)}
	}
	switch {
	case errors.Is(err, errFrameTooLarge):
		p.release(pr)
		return nil, false, &Error{Code: CodeTooLarge, Message: fmt.Sprintf("the response is over %d bytes", p.cfg.MaxResponseBytes)}
	case err == nil && kind == kindResult:
		p.release(pr)
		return payload, false, nil
	case err == nil && kind == kindError:
		p.release(pr)
		return nil, false, parseWorkerError(payload)
	}
	// A broken pipe, an early end or an unexpected frame: the worker is
	// gone or out of step; it is killed and its supervisor replaces it.
	pr.kill()
	<-pr.exited
	p.release(pr)
	if p.isClosed() {
		return nil, false, &Error{Code: CodeUnavailable, Message: "the scoring workers were stopped during the request"}
	}
	msg := fmt.Sprintf("the scoring worker (pid %d) ended during the request (%s) and is being replaced", pr.pid, pr.exitReason())
	if err == nil {
		msg = fmt.Sprintf("the scoring worker (pid %d) sent an unexpected frame and is being replaced", pr.pid)
	}
	return nil, false, &Error{Code: CodeCrashed, Message: msg}
}

// roundTrip writes a request frame and reads the answer. sent is false when
// the frame could not be written (the worker's end of the pipe is closed:
// it never saw the request).
func (pr *proc) roundTrip(raw []byte, limit int) (sent bool, kind byte, payload []byte, err error) {
	if err := writeFrame(pr.in, kindRequest, raw); err != nil {
		return false, 0, nil, err
	}
	kind, payload, err = readFrame(pr.out, limit)
	return true, kind, payload, err
}

func (p *Pool) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

// shutdown marks the pool closed and kills every worker.
func (p *Pool) shutdown() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	close(p.done)
	p.idle = nil
	var procs []*proc
	for _, s := range p.slots {
		if s.cur != nil {
			procs = append(procs, s.cur)
		}
	}
	p.mu.Unlock()
	for _, pr := range procs {
		pr.kill()
	}
}

// Close stops every worker (SIGKILL to each process group: a scoring worker
// holds no state worth a graceful stop) and returns once all are reaped.
// Requests in flight get CodeUnavailable.
func (p *Pool) Close() error {
	p.shutdown()
	p.wg.Wait()
	return nil
}

// Ready reports whether the pool is open and at least one worker is alive
// and initialised.
func (p *Pool) Ready() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	for _, s := range p.slots {
		if pr := s.cur; pr != nil && pr.ready && !pr.dead {
			return true
		}
	}
	return false
}

// Worker states in WorkerStats.
const (
	StateStarting = "starting" // the process is starting or running init()
	StateIdle     = "idle"
	StateBusy     = "busy"
	StateStopped  = "stopped" // the pool is closed
)

// WorkerStats describes one worker slot.
type WorkerStats struct {
	Worker     int    // the slot, 0-based
	PID        int    // the current process
	State      string // StateStarting, StateIdle, StateBusy or StateStopped
	Restarts   int    // processes started in this slot after the first
	Requests   int64  // requests served in this slot, failed ones included
	CPUSeconds float64
	RSSBytes   int64
}

// Stats describes every worker; CPU and memory are read from /proc (zero
// where it is unavailable).
func (p *Pool) Stats() []WorkerStats {
	p.mu.Lock()
	out := make([]WorkerStats, 0, len(p.slots))
	for _, s := range p.slots {
		ws := WorkerStats{Worker: s.index, Restarts: s.restarts, Requests: s.requests, State: StateStarting}
		if pr := s.cur; pr != nil {
			ws.PID = pr.pid
			switch {
			case p.closed:
				ws.State = StateStopped
			case pr.dead || !pr.ready:
			case pr.busy:
				ws.State = StateBusy
			default:
				ws.State = StateIdle
			}
		}
		out = append(out, ws)
	}
	p.mu.Unlock()
	for i := range out {
		if out[i].PID != 0 && out[i].State != StateStopped {
			out[i].CPUSeconds, out[i].RSSBytes, _ = procUsage(out[i].PID)
		}
	}
	return out
}

// Logs returns up to n of the newest lines the workers wrote (all kept lines
// when n <= 0), oldest first.
func (p *Pool) Logs(n int) []LogLine {
	return p.logs.last(n)
}

var _ io.Closer = (*Pool)(nil)
