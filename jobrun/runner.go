package jobrun

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/artifact"
	"github.com/hangar-ml/hangar/jobspec"
)

// Control is what a step runner needs from the server: the lease, the
// result, the log and the blob store (httpapi.Client, through Remote).
type Control interface {
	// LeaseJob claims (From Queued, To Preparing), moves (To Running or
	// Finalizing) or renews (To "") the lease of a job and returns it.
	// Errors: ECONFLICT when the job is not in From or another holds it.
	LeaseJob(ctx context.Context, workspace, name string, r LeaseRequest) (*hangar.Job, error)
	// FinishJob ends a job the holder holds.
	FinishJob(ctx context.Context, workspace, name string, r FinishRequest) (*hangar.Job, error)
	// AppendJobLog appends to the job's log.
	AppendJobLog(ctx context.Context, workspace, name, holder string, data []byte) error
	// BlobStore is the workspace's blob store.
	BlobStore(workspace string) hangar.BlobStore
}

// LeaseRequest asks for a job's lease.
type LeaseRequest struct {
	Holder string
	Lease  time.Duration
	From   []hangar.JobStatus
	To     hangar.JobStatus
}

// FinishRequest ends a job.
type FinishRequest struct {
	Holder  string
	Status  hangar.JobStatus
	Error   string
	Outputs map[string]hangar.JobOutput
}

// Stager stages data that is not in the blob store (a datastore URI) into
// dst, returning the local path to give the step.
type Stager func(ctx context.Context, workspace, uri string, file bool, dst string) (string, error)

// RunOptions configure RunStep.
type RunOptions struct {
	Workspace, Job string
	// Holder names this runner in leases ("host:pid" when empty).
	Holder string
	// Lease is how long a lease lasts without a heartbeat (default 30 s);
	// the runner renews it every third of that.
	Lease time.Duration
	// WorkDir is where working folders are made (os.TempDir() when empty).
	WorkDir string
	// TrackingURI and Token are handed to the step as MLFLOW_TRACKING_URI
	// (with /w/<workspace> appended) and MLFLOW_TRACKING_TOKEN.
	TrackingURI, Token string
	// BinDir is put first on the step's PATH (the folder of the hangar
	// binary), so `hangar log …` and the built-in components work.
	BinDir string
	// Env is the base environment of the step (os.Environ() when nil).
	Env []string
	// Stage stages datastore URIs; nil refuses them.
	Stage Stager
	// KillGrace is how long a cancelled command has between SIGTERM and
	// SIGKILL (default 5 s).
	KillGrace time.Duration
	// Keep keeps the working folder.
	Keep bool
}

// RunStep is the step runner: it claims the job under a lease, stages its
// code and inputs, runs its command in its own process group with the
// tracking environment, renews the lease while it runs (ending the whole
// process tree when the job is cancelled or its timeout passes), streams
// the command's output to the job's log, uploads the outputs and reports
// the result. A job another runner claimed first is not an error: RunStep
// returns nil having done nothing.
func RunStep(ctx context.Context, ctl Control, opt RunOptions) error {
	if opt.Holder == "" {
		host, _ := os.Hostname()
		opt.Holder = fmt.Sprintf("%s:%d", host, os.Getpid())
	}
	if opt.Lease <= 0 {
		opt.Lease = 30 * time.Second
	}
	if opt.KillGrace <= 0 {
		opt.KillGrace = 5 * time.Second
	}
	ws, name := opt.Workspace, opt.Job
	job, err := ctl.LeaseJob(ctx, ws, name, LeaseRequest{Holder: opt.Holder, Lease: opt.Lease, From: []hangar.JobStatus{hangar.JobQueued}, To: hangar.JobPreparing})
	if hangar.ErrorCode(err) == hangar.ECONFLICT {
		return nil
	} else if err != nil {
		return fmt.Errorf("claim job %s: %w", name, err)
	}
	r := &runner{ctl: ctl, opt: opt, job: job}
	r.log = newLogWriter(ctx, ctl, ws, name, opt.Holder)
	status, msg, outputs := r.run(ctx)
	r.log.Close()
	fin := FinishRequest{Holder: opt.Holder, Status: status, Error: msg, Outputs: outputs}
	// The result must reach the server even when ctx ended (a cancelled
	// runner reports Canceled).
	// A server that is restarting gets the result when it is back: the
	// runner tries for as long as its lease would have lasted, and more.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	for wait := 250 * time.Millisecond; ; wait = min(2*wait, 5*time.Second) {
		_, err := ctl.FinishJob(fctx, ws, name, fin)
		switch {
		case err == nil:
			return nil
		case serverAnswered(err):
			return fmt.Errorf("finish job %s: %w", name, err)
		}
		select {
		case <-fctx.Done():
			return fmt.Errorf("finish job %s: %w", name, err)
		case <-time.After(wait):
		}
	}
}

// serverAnswered reports whether an error is the server's answer (a conflict,
// an unknown job, a refusal), not the server being away (a restart).
func serverAnswered(err error) bool {
	switch hangar.ErrorCode(err) {
	case hangar.ECONFLICT, hangar.ENOTFOUND, hangar.EINVALID, hangar.EFORBIDDEN, hangar.EUNAUTHORIZED:
		return true
	}
	return false
}

// transition moves the job from one state to the next under the lease,
// trying again while the server is away (restarting) for as long as the
// lease would last and more, as the final report does: a command that ends
// while the server is down still finalizes when it is back.
func (r *runner) transition(ctx context.Context, from, to hangar.JobStatus) error {
	tctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	req := LeaseRequest{Holder: r.opt.Holder, Lease: r.opt.Lease, From: []hangar.JobStatus{from}, To: to}
	for wait := 250 * time.Millisecond; ; wait = min(2*wait, 5*time.Second) {
		_, err := r.ctl.LeaseJob(tctx, r.opt.Workspace, r.job.Name, req)
		if err == nil || serverAnswered(err) {
			return err
		}
		select {
		case <-tctx.Done():
			return err
		case <-time.After(wait):
		}
	}
}

type runner struct {
	ctl Control
	opt RunOptions
	job *hangar.Job
	log *logWriter

	mu        sync.Mutex
	cancelled bool // the job's status became CancelRequested
	lost      bool // the lease was lost
}

func (r *runner) logf(format string, args ...any) {
	fmt.Fprintf(r.log, "[hangar] "+format+"\n", args...)
}

// run does the work and returns the final status, its reason and the
// outputs.
func (r *runner) run(ctx context.Context) (hangar.JobStatus, string, map[string]hangar.JobOutput) {
	st, err := StepOf(r.job)
	if err != nil {
		return hangar.JobFailed, err.Error(), nil
	}
	r.logf("job %s, attempt %d, runner %s, compute %s", r.job.Name, r.job.Attempt, r.opt.Holder, orString(r.job.Compute, "local"))
	for _, n := range st.Notes {
		r.logf("note: %s", n)
	}

	// Heartbeats run from the claim on; they cancel runCtx when the job
	// is cancelled or the lease is lost.
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	hbDone := make(chan struct{})
	go func() {
		defer close(hbDone)
		r.heartbeat(runCtx, stop)
	}()
	defer func() { stop(); <-hbDone }()

	base := r.opt.WorkDir
	if base == "" {
		base = os.TempDir()
	}
	wd, err := os.MkdirTemp(base, "hangar-job-"+safeName(r.job.Name)+"-")
	if err != nil {
		return hangar.JobFailed, "make the working folder: " + err.Error(), nil
	}
	if !r.opt.Keep {
		defer os.RemoveAll(wd)
	}
	code := filepath.Join(wd, "code")
	inputs, outputs, err := r.stage(runCtx, st, wd, code)
	if err != nil {
		return r.ended(runCtx, hangar.JobFailed, "stage inputs: "+err.Error())
	}
	tmpl, err := jobspec.ParseTemplate(st.Command)
	if err != nil {
		return hangar.JobFailed, "command: " + err.Error(), nil
	}
	cmdline, err := tmpl.Render(inputs, outputs)
	if err != nil {
		return hangar.JobFailed, "command: " + hangar.ErrorMessage(err), nil
	}
	if err := r.transition(runCtx, hangar.JobPreparing, hangar.JobRunning); err != nil {
		return r.ended(runCtx, hangar.JobFailed, "start: "+err.Error())
	}
	r.logf("running: %s", cmdline)
	if status, msg := r.exec(runCtx, st, cmdline, code, wd); status != hangar.JobCompleted {
		return status, msg, nil
	}
	if err := r.transition(runCtx, hangar.JobRunning, hangar.JobFinalizing); err != nil {
		return r.ended(runCtx, hangar.JobFailed, "finalize: "+err.Error())
	}
	outs, err := r.upload(runCtx, st, outputs)
	if err != nil {
		return r.ended(runCtx, hangar.JobFailed, "upload outputs: "+err.Error())
	}
	r.logf("completed")
	return hangar.JobCompleted, "", outs
}

// ended turns a failure into Canceled when the job was cancelled.
func (r *runner) ended(ctx context.Context, status hangar.JobStatus, msg string) (hangar.JobStatus, string, map[string]hangar.JobOutput) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cancelled {
		return hangar.JobCanceled, "canceled by request", nil
	}
	if ctx.Err() != nil && !r.lost {
		return hangar.JobCanceled, "the step runner was stopped", nil
	}
	return status, msg, nil
}

func (r *runner) heartbeat(ctx context.Context, cancel context.CancelFunc) {
	t := time.NewTicker(r.opt.Lease / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		job, err := r.ctl.LeaseJob(ctx, r.opt.Workspace, r.job.Name, LeaseRequest{
			Holder: r.opt.Holder, Lease: r.opt.Lease,
			From: []hangar.JobStatus{hangar.JobPreparing, hangar.JobRunning, hangar.JobFinalizing, hangar.JobCancelRequested},
		})
		switch {
		case ctx.Err() != nil:
			return
		case hangar.ErrorCode(err) == hangar.ECONFLICT || hangar.ErrorCode(err) == hangar.ENOTFOUND:
			r.mu.Lock()
			r.lost = true
			r.mu.Unlock()
			r.logf("lost the lease: %s", hangar.ErrorMessage(err))
			cancel()
			return
		case err != nil:
			// A server briefly away: try again at the next beat; the
			// lease outlives two missed beats.
			continue
		case job.Status == hangar.JobCancelRequested:
			r.mu.Lock()
			r.cancelled = true
			r.mu.Unlock()
			r.logf("cancel requested: stopping the command")
			cancel()
			return
		}
	}
}

// stage fills the working folder: the code snapshot, each data input, an
// empty place for each output. It returns the values the command's
// ${{inputs.x}} and ${{outputs.y}} take.
func (r *runner) stage(ctx context.Context, st *Step, wd, code string) (map[string]string, map[string]string, error) {
	blobs := r.ctl.BlobStore(r.opt.Workspace)
	if st.Code != "" {
		if err := artifact.GetDir(ctx, blobs, st.Code, code); err != nil {
			return nil, nil, fmt.Errorf("code: %w", err)
		}
	} else if err := os.MkdirAll(code, 0o755); err != nil {
		return nil, nil, err
	}
	inputs := map[string]string{}
	for _, name := range sortedKeys(st.Inputs) {
		in := st.Inputs[name]
		typ := jobspec.Type(in.Type)
		switch {
		case len(in.Bind) > 0:
			return nil, nil, fmt.Errorf("input %s: binding %s was never resolved", name, strings.Join(in.Bind, "."))
		case in.HasValue:
			inputs[name] = in.Value
			if typ.IsLiteral() {
				inputs[name] = jobspec.RenderValue(typ, in.Value)
			}
		case jobspec.Mode(in.Mode) == jobspec.Direct:
			inputs[name] = in.URI
		case in.Manifest != "":
			dst := filepath.Join(wd, "inputs", name)
			if err := artifact.GetDir(ctx, blobs, in.Manifest, dst); err != nil {
				return nil, nil, fmt.Errorf("input %s (%s): %w", name, in.URI, err)
			}
			p := dst
			if typ == jobspec.URIFile {
				f, err := singleFile(dst)
				if err != nil {
					return nil, nil, fmt.Errorf("input %s (%s): %w", name, in.URI, err)
				}
				p = f
			}
			makeReadOnly(dst)
			inputs[name] = p
			r.logf("input %s: %s staged at %s", name, orString(in.Asset, in.URI), p)
		case in.URI != "":
			if r.opt.Stage == nil {
				return nil, nil, fmt.Errorf("input %s: %s cannot be staged by this runner", name, in.URI)
			}
			p, err := r.opt.Stage(ctx, r.opt.Workspace, in.URI, typ == jobspec.URIFile, filepath.Join(wd, "inputs", name))
			if err != nil {
				return nil, nil, fmt.Errorf("input %s (%s): %w", name, in.URI, err)
			}
			inputs[name] = p
			r.logf("input %s: %s staged at %s", name, in.URI, p)
		}
	}
	outputs := map[string]string{}
	for _, name := range sortedKeys(st.Outputs) {
		dir := filepath.Join(wd, "outputs", name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, nil, err
		}
		outputs[name] = dir
		if st.Outputs[name].Type == string(jobspec.URIFile) {
			outputs[name] = filepath.Join(dir, name)
		}
	}
	return inputs, outputs, nil
}

// singleFile returns the one file of a staged uri_file input.
func singleFile(dir string) (string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		return "", err
	}
	if len(files) != 1 {
		return "", fmt.Errorf("a uri_file input holds %d files, want 1", len(files))
	}
	return files[0], nil
}

// makeReadOnly makes a staged input read-only, as a ro_mount is.
func makeReadOnly(dir string) {
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			os.Chmod(p, 0o444)
		}
		return nil
	})
}

// exec runs the command and returns Completed, or Failed/Canceled with
// the reason.
func (r *runner) exec(ctx context.Context, st *Step, cmdline, dir, wd string) (hangar.JobStatus, string) {
	shell := "/bin/bash"
	if _, err := os.Stat(shell); err != nil {
		shell = "/bin/sh"
	}
	cctx := ctx
	var cancelTimeout context.CancelFunc
	if st.TimeoutSeconds > 0 {
		cctx, cancelTimeout = context.WithTimeout(ctx, time.Duration(st.TimeoutSeconds)*time.Second)
		defer cancelTimeout()
	}
	cmd := exec.CommandContext(cctx, shell, "-c", cmdline)
	cmd.Dir = dir
	cmd.Env = r.environ(st, wd)
	cmd.Stdout = r.log
	cmd.Stderr = r.log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// The whole process group ends: SIGTERM, then SIGKILL after the grace.
	cmd.Cancel = func() error {
		pg := -cmd.Process.Pid
		syscall.Kill(pg, syscall.SIGTERM)
		go func() {
			time.Sleep(r.opt.KillGrace)
			syscall.Kill(pg, syscall.SIGKILL)
		}()
		return nil
	}
	cmd.WaitDelay = r.opt.KillGrace + 2*time.Second
	err := cmd.Run()
	// Whatever the command left behind in its group goes too.
	if cmd.Process != nil {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	r.log.Flush()
	switch {
	case err == nil:
		return hangar.JobCompleted, ""
	case st.TimeoutSeconds > 0 && errors.Is(cctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil:
		r.logf("limits.timeout of %ds reached: the command was stopped", st.TimeoutSeconds)
		return hangar.JobFailed, fmt.Sprintf("limits.timeout of %ds reached: the command was stopped", st.TimeoutSeconds)
	case ctx.Err() != nil:
		s, m, _ := r.ended(ctx, hangar.JobFailed, "the lease was lost: the command was stopped")
		return s, m
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		msg := fmt.Sprintf("the command exited with status %d", ee.ExitCode())
		if ee.ExitCode() < 0 {
			msg = "the command was killed: " + ee.String()
		}
		if tail := r.log.Tail(); tail != "" {
			msg += ": " + tail
		}
		r.logf("%s", msg)
		return hangar.JobFailed, msg
	}
	return hangar.JobFailed, "run the command: " + err.Error()
}

// environ is the step's environment: the base one, the environment's and
// the job's variables, the tracking variables and PATH.
func (r *runner) environ(st *Step, wd string) []string {
	base := r.opt.Env
	if base == nil {
		base = os.Environ()
	}
	env := map[string]string{}
	for _, kv := range base {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	// The runner's own credential never reaches the command.
	for _, k := range []string{"HANGAR_TOKEN", "HANGAR_URL", "HANGAR_OWNER_TOKEN"} {
		delete(env, k)
	}
	if st.Environment != nil {
		for k, v := range st.Environment.Variables {
			env[k] = v
		}
	}
	for k, v := range st.EnvironmentVariables {
		env[k] = v
	}
	if r.opt.BinDir != "" {
		env["PATH"] = r.opt.BinDir + string(os.PathListSeparator) + env["PATH"]
	}
	if r.opt.TrackingURI != "" {
		env["MLFLOW_TRACKING_URI"] = strings.TrimSuffix(r.opt.TrackingURI, "/") + "/w/" + r.opt.Workspace
	}
	if r.opt.Token != "" {
		env["MLFLOW_TRACKING_TOKEN"] = r.opt.Token
	}
	env["MLFLOW_WORKSPACE"] = r.opt.Workspace
	if r.job.RunID != "" {
		env["MLFLOW_RUN_ID"] = r.job.RunID
	}
	if r.job.ExperimentID != "" {
		env["MLFLOW_EXPERIMENT_ID"] = r.job.ExperimentID
	}
	env["MLFLOW_EXPERIMENT_NAME"] = r.job.ExperimentName
	env["AZUREML_RUN_ID"] = r.job.Name
	env["AZUREML_ARM_WORKSPACE_NAME"] = r.opt.Workspace
	env["AZUREML_CR_EXECUTION_WORKING_DIR_PATH"] = wd
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// upload stores each output folder and returns the outputs.
func (r *runner) upload(ctx context.Context, st *Step, paths map[string]string) (map[string]hangar.JobOutput, error) {
	blobs := r.ctl.BlobStore(r.opt.Workspace)
	outs := map[string]hangar.JobOutput{}
	for _, name := range sortedKeys(st.Outputs) {
		dir := paths[name]
		if st.Outputs[name].Type == string(jobspec.URIFile) {
			dir = filepath.Dir(dir)
		}
		info, m, err := artifact.PutDir(ctx, blobs, os.DirFS(dir))
		if err != nil {
			return nil, fmt.Errorf("output %s: %w", name, err)
		}
		if st.Outputs[name].Type == string(jobspec.URIFile) && len(m.Files) != 1 {
			return nil, fmt.Errorf("output %s is a uri_file: the command must write exactly the file %s (found %d files)", name, paths[name], len(m.Files))
		}
		outs[name] = hangar.JobOutput{Type: st.Outputs[name].Type, URI: hangar.JobOutputURI(r.job.Name, name), Manifest: info.Digest, Size: m.TotalSize()}
		r.logf("output %s: %d files, %d bytes, %s", name, len(m.Files), m.TotalSize(), info.Digest)
	}
	return outs, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == os.PathSeparator {
			return '_'
		}
		return r
	}, s)
}

// logWriter sends what the command writes to the job's log in chunks: at
// most every flushEvery, or when 64 KiB are waiting. It keeps the last
// lines for the failure message.
type logWriter struct {
	ctx                  context.Context
	ctl                  Control
	ws, name, holder     string
	mu                   sync.Mutex
	buf                  bytes.Buffer
	tail                 []byte
	done                 chan struct{}
	wg                   sync.WaitGroup
	closed               bool
	sendErr              error
	dropped              int64
	maxTail, maxBuffered int
}

const flushEvery = 200 * time.Millisecond

func newLogWriter(ctx context.Context, ctl Control, ws, name, holder string) *logWriter {
	w := &logWriter{ctx: context.WithoutCancel(ctx), ctl: ctl, ws: ws, name: name, holder: holder, done: make(chan struct{}), maxTail: 512, maxBuffered: 8 << 20}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		t := time.NewTicker(flushEvery)
		defer t.Stop()
		for {
			select {
			case <-w.done:
				return
			case <-t.C:
				w.Flush()
			}
		}
	}()
	return w
}

// Write implements io.Writer; it never fails (a log the server cannot
// take is dropped past 8 MiB waiting, and counted).
func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	if w.buf.Len()+len(p) > w.maxBuffered {
		w.dropped += int64(len(p))
	} else {
		w.buf.Write(p)
	}
	w.tail = append(w.tail, p...)
	if len(w.tail) > 4*w.maxTail {
		w.tail = append([]byte(nil), w.tail[len(w.tail)-w.maxTail:]...)
	}
	big := w.buf.Len() >= 64<<10
	w.mu.Unlock()
	if big {
		w.Flush()
	}
	return len(p), nil
}

// Flush sends what is waiting.
func (w *logWriter) Flush() { w.flush() }

// flush sends what is waiting and reports whether all of it went. Bytes
// the server could not take for a passing reason (it is down, it
// restarts) stay waiting for the next flush; bytes it refuses (the job is
// no longer this runner's) are dropped and counted.
func (w *logWriter) flush() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for w.buf.Len() > 0 {
		chunk := w.buf.Bytes()[:min(w.buf.Len(), hangar.MaxJobLogChunk)]
		ctx, cancel := context.WithTimeout(w.ctx, 10*time.Second)
		err := w.ctl.AppendJobLog(ctx, w.ws, w.name, w.holder, chunk)
		cancel()
		if err != nil {
			w.sendErr = err
			switch hangar.ErrorCode(err) {
			case hangar.ECONFLICT, hangar.ENOTFOUND, hangar.EINVALID, hangar.EFORBIDDEN:
				w.dropped += int64(len(chunk))
			default:
				return false // kept: sent again at the next flush
			}
		}
		w.buf.Next(len(chunk))
	}
	return true
}

// Tail returns the last line or two the command wrote, for the failure
// message.
func (w *logWriter) Tail() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	t := strings.TrimSpace(string(w.tail))
	lines := strings.Split(t, "\n")
	var keep []string
	for i := len(lines) - 1; i >= 0 && len(keep) < 2; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" && !strings.HasPrefix(l, "[hangar]") {
			keep = append([]string{l}, keep...)
		}
	}
	s := strings.Join(keep, " | ")
	if len(s) > w.maxTail {
		s = s[len(s)-w.maxTail:]
	}
	return s
}

// Close flushes and stops the writer.
func (w *logWriter) Close() {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return
	}
	w.closed = true
	if w.dropped > 0 {
		fmt.Fprintf(&w.buf, "[hangar] %d bytes of log were lost (%v)\n", w.dropped, w.sendErr)
	}
	w.mu.Unlock()
	close(w.done)
	w.wg.Wait()
	// The server may be restarting: try for a while before giving up.
	for wait := 250 * time.Millisecond; !w.flush() && wait < 30*time.Second; wait *= 2 {
		time.Sleep(wait)
	}
}

var _ io.Writer = (*logWriter)(nil)
