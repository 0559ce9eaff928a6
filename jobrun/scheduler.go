package jobrun

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/hangar-ml/hangar"
)

// Executor starts step runners. Start hands over one queued job and
// returns at once; the executor bounds how many run together.
type Executor interface {
	Start(ctx context.Context, d Dispatch) error
}

// Dispatch is what an executor needs to run one job's step runner.
type Dispatch struct {
	Workspace, Job string
	// Token is the job's short-lived credential ("" when the server runs
	// without authentication): the runner uses it and hands it to the
	// command as MLFLOW_TRACKING_TOKEN.
	Token string
}

// TokenMinter makes the short-lived, workspace-scoped credential of a
// job, and revokes it when the job ends.
type TokenMinter interface {
	MintJobToken(ctx context.Context, workspace, job string, ttl time.Duration) (secret, id string, err error)
	RevokeJobToken(ctx context.Context, id string) error
}

// Scheduler moves jobs through their lifecycle: it creates their MLflow
// runs, queues command jobs and the steps of pipelines whose needs have
// completed (resolving their bindings, or reusing a previous identical
// step), hands queued jobs to the executor, fails jobs whose runner
// stopped renewing its lease, propagates cancellation and failure through
// pipelines, and ends pipelines. Every change is a conditional transition
// in the store, so several schedulers on one database never apply one
// twice.
type Scheduler struct {
	Jobs     hangar.JobService
	Tracking hangar.TrackingService
	Data     hangar.DataService
	Executor Executor
	Tokens   TokenMinter // nil: no credentials (authentication disabled)
	Logger   *slog.Logger
	// Poll is how often the scheduler looks when nothing woke it
	// (default 1 s).
	Poll time.Duration
	// Redispatch is how long a queued job waits for a runner to claim it
	// before it is handed to the executor again (default 1 min).
	Redispatch time.Duration
	// MaxAttempts is how many times a job is started when its runner is
	// lost (its lease expired) before it fails (default 2; 1 never
	// retries). A command that fails is not retried.
	MaxAttempts int
	// Register registers a job output as a data asset version (nil: not
	// registered, said in the job's log), before the scheduler records a
	// reused step or a pipeline Completed (RegisteringJobs). A runner's
	// report of Completed is the store's to register for: give the
	// server's JobService as a RegisteringJobs (which Jobs may be too).
	Register func(ctx context.Context, workspace string, a *hangar.DataAsset) (*hangar.DataAsset, error)

	once       sync.Once
	wake       chan struct{}
	mu         sync.Mutex
	dispatched map[string]time.Time // workspace/job → when handed to the executor
	tokens     map[string]jobToken  // workspace/top-level job → its credential
	settled    map[string]bool      // workspace/job whose end was processed
	changed    map[string][2]string // workspace/job reported changed, to settle if it ended
	series     map[string][]float64 // workspace/trial that ended → its primary metric's values
}

func (s *Scheduler) init() {
	s.once.Do(func() {
		s.wake = make(chan struct{}, 1)
		s.dispatched = map[string]time.Time{}
		s.tokens = map[string]jobToken{}
		s.settled = map[string]bool{}
		s.changed = map[string][2]string{}
		s.series = map[string][]float64{}
		if s.Logger == nil {
			s.Logger = slog.New(slog.DiscardHandler)
		}
		if s.Poll <= 0 {
			s.Poll = time.Second
		}
		if s.Redispatch <= 0 {
			s.Redispatch = time.Minute
		}
	})
}

// Wake makes the scheduler look at once (after a job was created or
// changed).
func (s *Scheduler) Wake() {
	s.init()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Changed is called when a job changed (httpapi's JobEvents): a job that
// ended has its run ended and its token revoked, and the scheduler wakes.
func (s *Scheduler) Changed(workspace, name string) {
	s.init()
	s.mu.Lock()
	s.changed[key(workspace, name)] = [2]string{workspace, name}
	s.mu.Unlock()
	s.Wake()
}

// settleChanged settles the reported jobs that ended.
func (s *Scheduler) settleChanged(ctx context.Context) bool {
	s.mu.Lock()
	changed := s.changed
	s.changed = map[string][2]string{}
	s.mu.Unlock()
	matters := false
	for _, c := range changed {
		j, err := s.Jobs.Job(ctx, c[0], c[1])
		if err != nil {
			continue
		}
		switch j.Status {
		case hangar.JobNotStarted, hangar.JobQueued, hangar.JobCancelRequested:
			// Submitted, or to be cancelled: the scheduler acts.
			matters = true
		}
		if !j.Status.Terminal() {
			continue
		}
		// An ended job may free the steps after it, or end its pipeline.
		matters = true
		s.settle(ctx, c[0], c[1])
		if j.Parent == "" && j.Type == hangar.JobTypeCommand {
			s.mu.Lock()
			delete(s.settled, key(c[0], c[1]))
			s.mu.Unlock()
		}
	}
	return matters
}

// Run ticks until ctx ends: at once when a job is submitted, ends or is
// to be cancelled (Changed), and every Poll otherwise. A runner's move
// from Preparing to Running wakes it for nothing more than that check.
func (s *Scheduler) Run(ctx context.Context) error {
	s.init()
	t := time.NewTicker(s.Poll)
	defer t.Stop()
	for {
		if err := s.tick(ctx); err != nil && ctx.Err() == nil {
			s.Logger.Error("job scheduler", "err", err)
		}
	wait:
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.wake:
			if !s.settleChanged(ctx) {
				goto wait
			}
		case <-t.C:
			s.settleChanged(ctx)
		}
	}
}

// Tick looks at every active job once.
func (s *Scheduler) Tick(ctx context.Context) error {
	s.init()
	s.settleChanged(ctx)
	return s.tick(ctx)
}

func (s *Scheduler) tick(ctx context.Context) error {
	jobs, err := s.Jobs.ActiveJobs(ctx, 10000)
	if err != nil {
		return fmt.Errorf("list active jobs: %w", err)
	}
	// parents are the active pipelines and sweeps: their steps and trials
	// are theirs to move.
	parents := map[string]bool{}
	for _, j := range jobs {
		if j.Type == hangar.JobTypePipeline || j.Type == hangar.JobTypeSweep {
			parents[j.Workspace+"/"+j.Name] = true
		}
	}
	for _, j := range jobs {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var err error
		switch {
		case j.Type == hangar.JobTypePipeline:
			err = s.advancePipeline(ctx, j)
		case j.Parent != "" && !parents[j.Workspace+"/"+j.Parent]:
			// A step whose pipeline (a trial whose sweep) ended, or a
			// store out of step: nothing will ever run it.
			_, err = s.Jobs.TransitionJob(ctx, j.Workspace, j.Name, hangar.JobTransition{
				From: []hangar.JobStatus{j.Status}, To: hangar.JobCanceled, Error: "its " + parentNoun(j) + " ended", Release: true,
			})
		case j.Type == hangar.JobTypeSweep && (j.Parent == "" || j.Status != hangar.JobNotStarted):
			// A sweep step starts when its pipeline queues it.
			err = s.advanceSweep(ctx, j)
		case j.Parent == "":
			err = s.tend(ctx, j, nil)
		}
		if err != nil && hangar.ErrorCode(err) != hangar.ECONFLICT && ctx.Err() == nil {
			s.Logger.Error("job scheduler", "workspace", j.Workspace, "job", j.Name, "err", err)
		}
	}
	return nil
}

func key(ws, name string) string { return ws + "/" + name }

// parentNoun names what a child job's parent is, for messages.
func parentNoun(j *hangar.Job) string {
	if strings.HasPrefix(j.Step, "trial_") {
		return "sweep"
	}
	return "pipeline"
}

func (s *Scheduler) maxAttempts() int {
	if s.MaxAttempts > 0 {
		return s.MaxAttempts
	}
	return 2
}

// tend moves a command job or step that is ready (NotStarted, its needs
// met) or under way. parentRun is the pipeline's MLflow run for a step.
func (s *Scheduler) tend(ctx context.Context, j *hangar.Job, parent *hangar.Job) error {
	now := time.Now()
	switch j.Status {
	case hangar.JobNotStarted:
		_, err := s.queue(ctx, j, parent, "")
		return err
	case hangar.JobQueued:
		s.mu.Lock()
		at, ok := s.dispatched[key(j.Workspace, j.Name)]
		s.mu.Unlock()
		if !ok || now.Sub(at) > s.Redispatch {
			return s.dispatch(ctx, j)
		}
	case hangar.JobPreparing, hangar.JobRunning, hangar.JobFinalizing, hangar.JobCancelRequested:
		if j.Status == hangar.JobCancelRequested && j.Holder == "" {
			_, err := s.Jobs.TransitionJob(ctx, j.Workspace, j.Name, hangar.JobTransition{From: []hangar.JobStatus{j.Status}, To: hangar.JobCanceled, Error: "canceled by request"})
			if err == nil {
				s.settle(ctx, j.Workspace, j.Name)
			}
			return err
		}
		if j.LeaseExpires != nil && now.After(*j.LeaseExpires) {
			msg := fmt.Sprintf("the step runner %s stopped renewing its lease (expired %s): the runner or the server was stopped while the job was %s", j.Holder, j.LeaseExpires.UTC().Format(time.RFC3339), j.Status)
			if j.Status != hangar.JobCancelRequested && j.Attempt < s.maxAttempts() {
				// A lost runner is the machine's failure, not the
				// command's: the job runs again, from the start.
				retry := fmt.Sprintf("%s; queued again (attempt %d of %d)", msg, j.Attempt+1, s.maxAttempts())
				s.Jobs.AppendJobLog(ctx, j.Workspace, j.Name, []byte("[hangar] "+retry+"\n"))
				q, err := s.Jobs.TransitionJob(ctx, j.Workspace, j.Name, hangar.JobTransition{From: []hangar.JobStatus{j.Status}, To: hangar.JobQueued, Release: true})
				if err != nil {
					return err
				}
				return s.dispatch(ctx, q)
			}
			if j.Attempt > 1 {
				msg += fmt.Sprintf(" (attempt %d of %d)", j.Attempt, s.maxAttempts())
			}
			to := hangar.JobFailed
			if j.Status == hangar.JobCancelRequested {
				to, msg = hangar.JobCanceled, "canceled by request ("+msg+")"
			}
			// The log says why before the job ends, so whoever reads
			// the ended job's log finds the reason.
			s.Jobs.AppendJobLog(ctx, j.Workspace, j.Name, []byte("[hangar] "+msg+"\n"))
			_, err := s.Jobs.TransitionJob(ctx, j.Workspace, j.Name, hangar.JobTransition{From: []hangar.JobStatus{j.Status}, To: to, Error: msg, Release: true})
			if err == nil {
				s.settle(ctx, j.Workspace, j.Name)
			}
			return err
		}
	}
	return nil
}

// queue creates the job's MLflow run and queues it (or, for a reusable
// step, completes it with the outputs of the run it reuses). spec, when
// set, is the step's spec with its bindings resolved. It returns the job
// as it became.
func (s *Scheduler) queue(ctx context.Context, j *hangar.Job, parent *hangar.Job, spec string) (*hangar.Job, error) {
	t := hangar.JobTransition{From: []hangar.JobStatus{hangar.JobNotStarted}, To: hangar.JobQueued, Spec: spec}
	if parent != nil && parent.Type == hangar.JobTypePipeline {
		if spec == "" {
			spec = j.Spec
		}
		p, err := PipelineOf(parent)
		if err != nil {
			return nil, err
		}
		var st Step
		if err := json.Unmarshal([]byte(spec), &st); err != nil {
			return nil, fmt.Errorf("step %s: %w", j.Name, err)
		}
		if st.IsDeterministic {
			t.ReuseKey = ReuseKey(&st)
			if !p.ForceRerun {
				if src, err := s.Jobs.ReusableJob(ctx, j.Workspace, t.ReuseKey); err == nil && src.Name != j.Name {
					return s.reuse(ctx, j, parent, t, src)
				}
			}
		}
	}
	run, err := s.startRun(ctx, j, parent, "")
	if err != nil {
		return nil, err
	}
	t.RunID, t.ExperimentID = run.Info.RunID, run.Info.ExperimentID
	q, err := s.Jobs.TransitionJob(ctx, j.Workspace, j.Name, t)
	if err != nil {
		return nil, err
	}
	return q, s.dispatch(ctx, q)
}

// reuse completes a step with the outputs of an identical earlier one.
func (s *Scheduler) reuse(ctx context.Context, j, parent *hangar.Job, t hangar.JobTransition, src *hangar.Job) (*hangar.Job, error) {
	run, err := s.startRun(ctx, j, parent, src.Name)
	if err != nil {
		return nil, err
	}
	outs := map[string]hangar.JobOutput{}
	for name, o := range src.Outputs {
		o.URI = hangar.JobOutputURI(j.Name, name)
		o.Asset = ""
		outs[name] = o
	}
	t.To = hangar.JobCompleted
	t.ReusedFrom = src.Name
	if src.ReusedFrom != "" {
		t.ReusedFrom = src.ReusedFrom
	}
	t.Outputs = outs
	t.RunID, t.ExperimentID = run.Info.RunID, run.Info.ExperimentID
	done, err := s.complete(ctx, j.Workspace, j.Name, t)
	if err != nil {
		return nil, err
	}
	s.Jobs.AppendJobLog(ctx, j.Workspace, j.Name, fmt.Appendf(nil, "[hangar] reused the outputs of job %s: the component, code, command, environment and inputs are unchanged\n", t.ReusedFrom))
	s.settle(ctx, j.Workspace, j.Name)
	return done, nil
}

// startRun creates the job's MLflow run in its experiment (made when
// missing), a child of the pipeline's run for a step.
func (s *Scheduler) startRun(ctx context.Context, j, parent *hangar.Job, reusedFrom string) (*hangar.Run, error) {
	expName := j.ExperimentName
	if expName == "" {
		expName = "Default"
	}
	exp, err := s.Tracking.ExperimentByName(ctx, j.Workspace, expName)
	if hangar.ErrorCode(err) == hangar.ENOTFOUND {
		e := &hangar.Experiment{Name: expName}
		if err = s.Tracking.CreateExperiment(ctx, j.Workspace, e); err == nil {
			exp = e
		} else if hangar.ErrorCode(err) == hangar.ECONFLICT {
			exp, err = s.Tracking.ExperimentByName(ctx, j.Workspace, expName)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("experiment %s: %w", expName, err)
	}
	tags := []hangar.RunTag{
		{Key: "mlflow.source.type", Value: "JOB"},
		{Key: "mlflow.source.name", Value: j.Name},
		{Key: "hangar.job", Value: j.Name},
	}
	if j.CreatedBy != "" {
		tags = append(tags, hangar.RunTag{Key: "mlflow.user", Value: j.CreatedBy})
	}
	if parent != nil {
		tags = append(tags, hangar.RunTag{Key: "mlflow.parentRunId", Value: parent.RunID}, hangar.RunTag{Key: "hangar.step", Value: j.Step})
	}
	// The code's git commit, as MLflow's own clients tag it.
	props := j.Properties
	if parent != nil {
		props = parent.Properties
	}
	for from, to := range map[string]string{"azureml.git.commit": "mlflow.source.git.commit", "azureml.git.branch": "mlflow.source.git.branch", "azureml.git.repository_uri": "mlflow.source.git.repoURL"} {
		if v := props[from]; v != "" {
			tags = append(tags, hangar.RunTag{Key: to, Value: v})
		}
	}
	if reusedFrom != "" {
		tags = append(tags, hangar.RunTag{Key: "hangar.reused_from", Value: reusedFrom})
	}
	name := j.DisplayName
	if name == "" {
		name = j.Name
	}
	run, err := s.Tracking.CreateRun(ctx, j.Workspace, hangar.RunCreate{ExperimentID: exp.ID, UserID: j.CreatedBy, RunName: name, StartTime: time.Now().UnixMilli(), Tags: tags})
	if err != nil {
		return nil, fmt.Errorf("create the run of job %s: %w", j.Name, err)
	}
	if reusedFrom != "" {
		s.endRun(ctx, j.Workspace, run.Info.RunID, hangar.JobCompleted)
	}
	return run, nil
}

func (s *Scheduler) endRun(ctx context.Context, ws, runID string, status hangar.JobStatus) {
	if runID == "" {
		return
	}
	rs := hangar.RunFinished
	switch status {
	case hangar.JobFailed:
		rs = hangar.RunFailed
	case hangar.JobCanceled:
		rs = hangar.RunKilled
	}
	if run, err := s.Tracking.Run(ctx, ws, runID); err != nil || run.Info.Status != hangar.RunRunning {
		return
	}
	end := time.Now().UnixMilli()
	if _, err := s.Tracking.UpdateRun(ctx, ws, runID, hangar.RunUpdate{Status: rs, EndTime: &end}); err != nil && hangar.ErrorCode(err) != hangar.ENOTFOUND {
		s.Logger.Warn("end the run of a job", "workspace", ws, "run", runID, "err", err)
	}
}

// dispatch hands a queued job to the executor with the credential of its
// top-level job: a command job's own, or its pipeline's, shared by the
// pipeline's steps and revoked when the pipeline ends.
func (s *Scheduler) dispatch(ctx context.Context, j *hangar.Job) error {
	d := Dispatch{Workspace: j.Workspace, Job: j.Name}
	if s.Tokens != nil {
		top := j.Name
		if j.Parent != "" {
			top = j.Parent
		}
		k := key(j.Workspace, top)
		s.mu.Lock()
		tok, ok := s.tokens[k]
		s.mu.Unlock()
		if !ok {
			ttl := 24 * time.Hour
			if st, err := StepOf(j); err == nil && j.Parent == "" && st.TimeoutSeconds > 0 {
				ttl = time.Duration(st.TimeoutSeconds)*time.Second + time.Hour
			}
			secret, id, err := s.Tokens.MintJobToken(ctx, j.Workspace, top, ttl)
			if err != nil {
				return fmt.Errorf("job %s: credential: %w", j.Name, err)
			}
			s.mu.Lock()
			if old, ok := s.tokens[k]; ok {
				s.Tokens.RevokeJobToken(ctx, old.id)
			}
			tok = jobToken{secret: secret, id: id}
			s.tokens[k] = tok
			s.mu.Unlock()
		}
		d.Token = tok.secret
	}
	s.mu.Lock()
	s.dispatched[key(j.Workspace, j.Name)] = time.Now()
	s.mu.Unlock()
	return s.Executor.Start(ctx, d)
}

// jobToken is a minted credential of a top-level job.
type jobToken struct{ secret, id string }

// settle finishes what follows a job's end once: its MLflow run ends and
// its credential is revoked. (Its outputs were registered as data assets
// before it completed: RegisteringJobs.)
func (s *Scheduler) settle(ctx context.Context, ws, name string) {
	k := key(ws, name)
	s.mu.Lock()
	if s.settled[k] {
		s.mu.Unlock()
		return
	}
	s.settled[k] = true
	delete(s.dispatched, k)
	tok := s.tokens[k].id
	delete(s.tokens, k)
	s.mu.Unlock()
	if tok != "" && s.Tokens != nil {
		if err := s.Tokens.RevokeJobToken(ctx, tok); err != nil && hangar.ErrorCode(err) != hangar.ECONFLICT {
			s.Logger.Warn("revoke a job's token", "workspace", ws, "job", name, "err", err)
		}
	}
	j, err := s.Jobs.Job(ctx, ws, name)
	if err != nil {
		return
	}
	if j.ReusedFrom == "" {
		s.endRun(ctx, ws, j.RunID, j.Status)
	}
}

// complete applies a transition that may complete a job, registering
// the outputs it names as data assets first (RegisteringJobs).
func (s *Scheduler) complete(ctx context.Context, ws, name string, t hangar.JobTransition) (*hangar.Job, error) {
	if r, ok := s.Jobs.(*RegisteringJobs); ok {
		return r.TransitionJob(ctx, ws, name, t)
	}
	return (&RegisteringJobs{JobService: s.Jobs, Register: s.Register}).TransitionJob(ctx, ws, name, t)
}

// advancePipeline moves a pipeline's steps and ends it when they all have.
func (s *Scheduler) advancePipeline(ctx context.Context, pj *hangar.Job) error {
	p, err := PipelineOf(pj)
	if err != nil {
		return err
	}
	if pj.Status == hangar.JobNotStarted || pj.Status == hangar.JobQueued {
		run, err := s.startRun(ctx, pj, nil, "")
		if err != nil {
			return err
		}
		pj, err = s.Jobs.TransitionJob(ctx, pj.Workspace, pj.Name, hangar.JobTransition{From: []hangar.JobStatus{pj.Status}, To: hangar.JobRunning, RunID: run.Info.RunID, ExperimentID: run.Info.ExperimentID})
		if err != nil {
			return err
		}
	}
	page, err := s.Jobs.ListJobs(ctx, pj.Workspace, hangar.JobFilter{Parent: pj.Name, IncludeArchived: true}, hangar.ListOptions{MaxResults: hangar.MaxMaxResults})
	if err != nil {
		return err
	}
	steps := map[string]*hangar.Job{}
	for _, sj := range page.Items {
		steps[sj.Step] = sj
	}
	cancel := pj.Status == hangar.JobCancelRequested
	var failed []string
	for _, name := range p.Steps {
		if sj := steps[name]; sj != nil && (sj.Status == hangar.JobFailed || sj.Status == hangar.JobCanceled) {
			failed = append(failed, name)
		}
	}
	stop := cancel || (len(failed) > 0 && !p.ContinueOnStepFailure)
	// moved is set when this pass may have changed a step's status; when
	// none did, the listing above says whether the pipeline has ended.
	moved := false
	ended := true
	for _, name := range p.Steps {
		sj := steps[name]
		if sj == nil || sj.Status.Terminal() {
			if sj != nil {
				s.settle(ctx, sj.Workspace, sj.Name)
			}
			continue
		}
		ended = false
		if stop {
			moved = true
			why := "the pipeline was canceled"
			if !cancel {
				why = "step " + failed[0] + " failed and the pipeline stops at the first failure (settings.continue_on_step_failure: false)"
			}
			switch {
			case sj.Type == hangar.JobTypeSweep && sj.Status == hangar.JobCancelRequested:
				// advanceSweep cancels its trials, then ends it.
			case sj.Status == hangar.JobNotStarted || (sj.Status == hangar.JobQueued && sj.Holder == "" && sj.Type != hangar.JobTypeSweep):
				if _, err := s.Jobs.TransitionJob(ctx, sj.Workspace, sj.Name, hangar.JobTransition{From: []hangar.JobStatus{sj.Status}, To: hangar.JobCanceled, Error: why}); err == nil {
					s.settle(ctx, sj.Workspace, sj.Name)
				}
			case sj.Status != hangar.JobCancelRequested:
				s.Jobs.TransitionJob(ctx, sj.Workspace, sj.Name, hangar.JobTransition{From: []hangar.JobStatus{sj.Status}, To: hangar.JobCancelRequested, Error: why})
			default:
				s.tend(ctx, sj, pj)
			}
			continue
		}
		if sj.Status != hangar.JobNotStarted && sj.Type == hangar.JobTypeSweep {
			continue // advanceSweep moves it
		}
		if sj.Status != hangar.JobNotStarted {
			if sj.Status == hangar.JobCancelRequested || (sj.LeaseExpires != nil && time.Now().After(*sj.LeaseExpires)) {
				moved = true
			}
			if err := s.tend(ctx, sj, pj); err != nil && hangar.ErrorCode(err) != hangar.ECONFLICT {
				s.Logger.Error("job scheduler", "job", sj.Name, "err", err)
			}
			continue
		}
		ready, blocked := true, ""
		for _, need := range p.Needs[name] {
			switch n := steps[need]; {
			case n == nil:
				blocked = need
			case n.Status == hangar.JobFailed || n.Status == hangar.JobCanceled:
				blocked = need
			case n.Status != hangar.JobCompleted:
				ready = false
			}
		}
		if blocked != "" {
			moved = true
			if _, err := s.Jobs.TransitionJob(ctx, sj.Workspace, sj.Name, hangar.JobTransition{From: []hangar.JobStatus{hangar.JobNotStarted}, To: hangar.JobCanceled, Error: "step " + blocked + " it needs did not complete"}); err == nil {
				s.settle(ctx, sj.Workspace, sj.Name)
			}
			continue
		}
		if !ready {
			continue
		}
		moved = true
		spec, err := bindSpec(sj, steps)
		if err != nil {
			s.Jobs.TransitionJob(ctx, sj.Workspace, sj.Name, hangar.JobTransition{From: []hangar.JobStatus{hangar.JobNotStarted}, To: hangar.JobFailed, Error: err.Error()})
			continue
		}
		if sj.Type == hangar.JobTypeSweep {
			// Queued with its trial's bindings resolved; advanceSweep
			// starts it and its trials.
			nj, err := s.Jobs.TransitionJob(ctx, sj.Workspace, sj.Name, hangar.JobTransition{From: []hangar.JobStatus{hangar.JobNotStarted}, To: hangar.JobQueued, Spec: spec})
			if err == nil {
				steps[name] = nj
				err = s.advanceSweep(ctx, nj)
			}
			if err != nil && hangar.ErrorCode(err) != hangar.ECONFLICT {
				s.Logger.Error("job scheduler: start a sweep step", "job", sj.Name, "err", err)
			}
			continue
		}
		// A step reused at once is Completed for the steps after it in
		// this same pass (Steps is in dependency order): a chain of
		// reused steps completes in one pass.
		nj, err := s.queue(ctx, sj, pj, spec)
		switch {
		case err == nil:
			steps[name] = nj
		case hangar.ErrorCode(err) != hangar.ECONFLICT:
			s.Logger.Error("job scheduler: queue a step", "job", sj.Name, "err", err)
		}
	}
	// Ended when every step has.
	if !moved && !ended {
		return nil
	}
	page, err = s.Jobs.ListJobs(ctx, pj.Workspace, hangar.JobFilter{Parent: pj.Name, IncludeArchived: true}, hangar.ListOptions{MaxResults: hangar.MaxMaxResults})
	if err != nil {
		return err
	}
	status, msg := hangar.JobCompleted, ""
	outs := map[string]hangar.JobOutput{}
	byStep := map[string]*hangar.Job{}
	for _, sj := range page.Items {
		byStep[sj.Step] = sj
		if !sj.Status.Terminal() {
			return nil
		}
	}
	for _, name := range p.Steps {
		sj := byStep[name]
		if sj == nil {
			continue
		}
		if sj.Status != hangar.JobCompleted && status == hangar.JobCompleted {
			status, msg = hangar.JobFailed, fmt.Sprintf("step %s %s: %s", name, strings.ToLower(string(sj.Status)), sj.Error)
		}
	}
	if cancel {
		status, msg = hangar.JobCanceled, "canceled by request"
	}
	for oname, o := range p.Outputs {
		if len(o.Bind) == 5 {
			if sj := byStep[o.Bind[2]]; sj != nil {
				if so, ok := sj.Outputs[o.Bind[4]]; ok {
					so.Asset = ""
					outs[oname] = so
				}
			}
		}
	}
	if status != hangar.JobCompleted {
		outs = nil
	}
	if _, err := s.complete(ctx, pj.Workspace, pj.Name, hangar.JobTransition{From: []hangar.JobStatus{pj.Status}, To: status, Error: msg, Outputs: outs, Release: true}); err != nil {
		return err
	}
	s.settle(ctx, pj.Workspace, pj.Name)
	s.mu.Lock()
	for _, sj := range page.Items {
		delete(s.settled, key(sj.Workspace, sj.Name))
	}
	delete(s.settled, key(pj.Workspace, pj.Name))
	s.mu.Unlock()
	return nil
}

// bindSpec resolves a ready step's bindings to other steps from their
// results, returning its new spec ("" when it has none).
func bindSpec(sj *hangar.Job, steps map[string]*hangar.Job) (string, error) {
	if sj.Type == hangar.JobTypeSweep {
		sw, err := SweepOf(sj)
		if err != nil {
			return "", err
		}
		changed, err := bindStep(sw.Trial, steps)
		if err != nil || !changed {
			return "", err
		}
		return specText(sw)
	}
	st, err := StepOf(sj)
	if err != nil {
		return "", err
	}
	changed, err := bindStep(st, steps)
	if err != nil || !changed {
		return "", err
	}
	return specText(st)
}

// bindStep resolves a step's bindings to other steps from their results
// and reports whether any changed.
func bindStep(st *Step, steps map[string]*hangar.Job) (bool, error) {
	changed := false
	for name, in := range st.Inputs {
		if len(in.Bind) != 5 {
			continue
		}
		src := steps[in.Bind[2]]
		if src == nil {
			return false, fmt.Errorf("input %s: step %s does not exist", name, in.Bind[2])
		}
		switch in.Bind[3] {
		case "outputs":
			o, ok := src.Outputs[in.Bind[4]]
			if !ok {
				return false, fmt.Errorf("input %s: step %s has no output %s", name, in.Bind[2], in.Bind[4])
			}
			in.Manifest, in.URI = o.Manifest, hangar.JobOutputURI(src.Name, in.Bind[4])
			if o.Value != "" {
				in.Value, in.HasValue = o.Value, true
			}
		case "inputs":
			sst, err := StepOf(src)
			if err != nil {
				return false, err
			}
			sin := sst.Inputs[in.Bind[4]]
			if sin == nil {
				delete(st.Inputs, name)
				changed = true
				continue
			}
			mode, typ := in.Mode, in.Type
			*in = *sin
			if mode != "" {
				in.Mode = mode
			}
			if typ != "" {
				in.Type = typ
			}
		}
		in.Bind = nil
		changed = true
	}
	return changed, nil
}

// ReuseKey is the hash of what decides a step's result: its command,
// component, code, environment, variables and resolved inputs (content
// digests, values and modes) and its outputs' types and modes.
func ReuseKey(st *Step) string {
	type in struct {
		Type, Mode, Value, Manifest, URI string
		HasValue                         bool
	}
	k := struct {
		V         int
		Command   string
		Component string
		Code      hangar.Digest
		Env       *Environment
		Vars      map[string]string
		Inputs    map[string]in
		Outputs   map[string]string
		Timeout   int64
	}{V: 1, Command: st.Command, Component: st.ComponentHash, Code: st.Code, Env: st.Environment, Vars: st.EnvironmentVariables, Inputs: map[string]in{}, Outputs: map[string]string{}, Timeout: st.TimeoutSeconds}
	if k.Component == "" {
		k.Component = st.Component
	}
	for name, i := range st.Inputs {
		v := in{Type: i.Type, Mode: i.Mode, Value: i.Value, HasValue: i.HasValue, Manifest: string(i.Manifest)}
		if i.Manifest == "" {
			v.URI = i.URI
		}
		k.Inputs[name] = v
	}
	for name, o := range st.Outputs {
		k.Outputs[name] = o.Type + "/" + o.Mode
	}
	b, _ := json.Marshal(k) // maps marshal in key order
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}
