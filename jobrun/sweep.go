package jobrun

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/sweep"
)

// A sweep job runs like a pipeline whose steps appear as it goes: its
// trials are child jobs (Parent the sweep, Step trial_<i>), each a
// command job with its own MLflow run, a child of the sweep's run, with
// the sampled parameters logged as params. On each pass the scheduler
// reads every trial's primary metric from MLflow, asks the early
// termination policy which running trials to stop (they are cancelled
// like any job: CancelRequested, their runner ends the process), starts
// new trials while fewer than max_concurrent_trials run and fewer than
// max_total_trials exist, and ends the sweep when every trial has ended:
// Completed with the best trial's outputs, or Failed when no trial
// logged the primary metric. Every decision is a function of what the
// store and MLflow hold (trial i's parameters included: package sweep),
// so a scheduler that restarts, or another one on the same database,
// decides the same; a trial created twice is refused by its name.

// TrialName is the step name of trial i of a sweep.
func TrialName(i int) string { return "trial_" + strconv.Itoa(i) }

func trialIndex(step string) (int, bool) {
	n, err := strconv.Atoi(strings.TrimPrefix(step, "trial_"))
	return n, err == nil && strings.HasPrefix(step, "trial_") && n >= 0
}

// trialState is what a pass knows of one trial.
type trialState struct {
	job    *hangar.Job
	index  int
	params map[string]string
	series []float64 // the primary metric's values, in logged order
}

// paramsOf returns the trial's sampled parameters, read from its spec
// the first time.
func (t *trialState) paramsOf() map[string]string {
	if t.params == nil {
		if st, err := StepOf(t.job); err == nil {
			t.params = st.SearchSpace
		}
	}
	return t.params
}

// final is the trial's last logged value of the primary metric.
func (t *trialState) final() (float64, bool) {
	if len(t.series) == 0 {
		return 0, false
	}
	return t.series[len(t.series)-1], true
}

// advanceSweep moves a sweep: starts it, stops and starts trials, and
// ends it once its trials have ended.
func (s *Scheduler) advanceSweep(ctx context.Context, sj *hangar.Job) error {
	sw, err := SweepOf(sj)
	if err != nil {
		_, terr := s.Jobs.TransitionJob(ctx, sj.Workspace, sj.Name, hangar.JobTransition{From: []hangar.JobStatus{sj.Status}, To: hangar.JobFailed, Error: hangar.ErrorMessage(err), Release: true})
		return terr
	}
	cfg := sw.Config
	var parent *hangar.Job
	if sj.Parent != "" {
		if parent, err = s.Jobs.Job(ctx, sj.Workspace, sj.Parent); err != nil {
			return err
		}
	}
	if sj.Status == hangar.JobNotStarted || sj.Status == hangar.JobQueued {
		run, err := s.startRun(ctx, sj, parent, "")
		if err != nil {
			return err
		}
		sj, err = s.Jobs.TransitionJob(ctx, sj.Workspace, sj.Name, hangar.JobTransition{From: []hangar.JobStatus{sj.Status}, To: hangar.JobRunning, RunID: run.Info.RunID, ExperimentID: run.Info.ExperimentID})
		if err != nil {
			return err
		}
		s.logSweepConfig(ctx, sj, cfg)
	}
	page, err := s.Jobs.ListJobs(ctx, sj.Workspace, hangar.JobFilter{Parent: sj.Name, IncludeArchived: true}, hangar.ListOptions{MaxResults: hangar.MaxMaxResults})
	if err != nil {
		return err
	}
	var trials []*trialState
	created := 0
	for _, tj := range page.Items {
		i, ok := trialIndex(tj.Step)
		if !ok {
			continue
		}
		trials = append(trials, &trialState{job: tj, index: i})
		created = max(created, i+1)
	}
	slices.SortFunc(trials, func(a, b *trialState) int { return cmp.Compare(a.index, b.index) })
	// Running trials' metrics matter to a policy only; ended trials' are
	// read once (and kept) for bayesian sampling and the best trial.
	s.readMetrics(ctx, sj.Workspace, cfg.PrimaryMetric, trials, cfg.Policy != nil)

	// Why the sweep stops starting trials and cancels those that run.
	stop := ""
	switch {
	case sj.Status == hangar.JobCancelRequested:
		stop = "the sweep was canceled"
	case sj.StartedAt != nil && time.Since(*sj.StartedAt) > time.Duration(cfg.TimeoutSeconds)*time.Second:
		stop = fmt.Sprintf("the sweep reached limits.timeout (%ds)", cfg.TimeoutSeconds)
	}
	active := 0
	series := map[string][]float64{}
	for _, t := range trials {
		if len(t.series) > 0 {
			series[t.job.Name] = t.series
		}
	}
	for _, t := range trials {
		tj := t.job
		if tj.Status.Terminal() {
			s.settle(ctx, tj.Workspace, tj.Name)
			continue
		}
		active++
		switch {
		case stop != "" && (tj.Status == hangar.JobNotStarted || tj.Status == hangar.JobQueued && tj.Holder == ""):
			if _, err := s.Jobs.TransitionJob(ctx, tj.Workspace, tj.Name, hangar.JobTransition{From: []hangar.JobStatus{tj.Status}, To: hangar.JobCanceled, Error: stop}); err == nil {
				s.settle(ctx, tj.Workspace, tj.Name)
			}
		case stop != "" && tj.Status != hangar.JobCancelRequested:
			s.Jobs.TransitionJob(ctx, tj.Workspace, tj.Name, hangar.JobTransition{From: []hangar.JobStatus{tj.Status}, To: hangar.JobCancelRequested, Error: stop})
		case stop == "" && tj.Status != hangar.JobCancelRequested && tj.Status != hangar.JobNotStarted:
			if why := cfg.Stop(tj.Name, series); why != "" {
				// The policy's reason goes to the log: the runner ends the
				// job with its own words for a cancel.
				msg := "[hangar] early termination: " + why + "\n"
				s.Jobs.AppendJobLog(ctx, tj.Workspace, tj.Name, []byte(msg))
				s.Jobs.AppendJobLog(ctx, sj.Workspace, sj.Name, []byte("[hangar] "+tj.Step+": "+why+"\n"))
				s.Jobs.TransitionJob(ctx, tj.Workspace, tj.Name, hangar.JobTransition{From: []hangar.JobStatus{tj.Status}, To: hangar.JobCancelRequested, Error: "stopped early by the " + why})
				continue
			}
			fallthrough
		default:
			if err := s.tend(ctx, tj, sj); err != nil && hangar.ErrorCode(err) != hangar.ECONFLICT {
				s.Logger.Error("job scheduler", "job", tj.Name, "err", err)
			}
		}
	}
	// New trials, while slots are free.
	for stop == "" && active < cfg.MaxConcurrentTrials && created < cfg.Trials() {
		var obs []sweep.Observation
		if cfg.Algorithm == sweep.Bayesian {
			obs = observations(trials)
		}
		params, ok := cfg.Suggest(created, obs)
		if !ok {
			break
		}
		tj, err := s.startTrial(ctx, sj, sw, created, params)
		created++
		if err != nil {
			if hangar.ErrorCode(err) == hangar.ECONFLICT {
				continue // another scheduler made it
			}
			return err
		}
		trials = append(trials, &trialState{job: tj, index: created - 1, params: params})
		active++
	}
	if active > 0 || (stop == "" && created < cfg.Trials()) {
		return nil
	}
	return s.endSweep(ctx, sj, sw, trials, stop)
}

// readMetrics fills each trial's series of the primary metric. An ended
// trial's series no longer changes: it is read once and kept until the
// sweep ends, so a pass reads the metrics of running trials only.
func (s *Scheduler) readMetrics(ctx context.Context, ws, metric string, trials []*trialState, running bool) {
	for _, t := range trials {
		if t.job.RunID == "" || t.job.Status == hangar.JobNotStarted || t.job.Status == hangar.JobQueued || (!running && !t.job.Status.Terminal()) {
			continue
		}
		k := key(t.job.Workspace, t.job.Name)
		s.mu.Lock()
		cached, ok := s.series[k]
		s.mu.Unlock()
		if ok {
			t.series = cached
			continue
		}
		var ms []hangar.Metric
		opt := hangar.ListOptions{MaxResults: hangar.MaxMaxResults}
		complete := true
		for {
			page, err := s.Tracking.MetricHistory(ctx, ws, t.job.RunID, metric, opt)
			if err != nil {
				complete = false
				break
			}
			ms = append(ms, page.Items...)
			if page.NextPageToken == "" {
				break
			}
			opt.PageToken = page.NextPageToken
		}
		slices.SortStableFunc(ms, func(a, b hangar.Metric) int {
			return cmp.Or(cmp.Compare(a.Step, b.Step), cmp.Compare(a.Timestamp, b.Timestamp))
		})
		for _, m := range ms {
			if !math.IsNaN(m.Value) {
				t.series = append(t.series, m.Value)
			}
		}
		if t.job.Status.Terminal() && complete {
			s.mu.Lock()
			s.series[k] = t.series
			s.mu.Unlock()
		}
	}
}

// observations are the completed trials' parameters and final metrics,
// in trial order: what bayesian sampling learns from.
func observations(trials []*trialState) []sweep.Observation {
	var out []sweep.Observation
	for _, t := range trials {
		if v, ok := t.final(); ok && t.job.Status == hangar.JobCompleted && t.paramsOf() != nil {
			out = append(out, sweep.Observation{Params: t.params, Value: v})
		}
	}
	return out
}

// startTrial creates trial i with its parameters, queues it (creating
// its MLflow run, a child of the sweep's) and logs the parameters.
func (s *Scheduler) startTrial(ctx context.Context, sj *hangar.Job, sw *Sweep, i int, params map[string]string) (*hangar.Job, error) {
	st := *sw.Trial
	st.Inputs = make(map[string]*Input, len(sw.Trial.Inputs))
	for name, in := range sw.Trial.Inputs {
		cp := *in
		if len(in.Bind) == 2 && in.Bind[0] == "search_space" {
			cp.Bind = nil
			cp.Value, cp.HasValue = params[in.Bind[1]], true
		}
		st.Inputs[name] = &cp
	}
	st.SearchSpace = params
	text, err := specText(&st)
	if err != nil {
		return nil, err
	}
	step := TrialName(i)
	tj := &hangar.Job{
		Name:           StepJobName(sj.Name, step),
		Type:           hangar.JobTypeCommand,
		Parent:         sj.Name,
		Step:           step,
		DisplayName:    step,
		ExperimentName: sj.ExperimentName,
		Compute:        sj.Compute,
		Status:         hangar.JobNotStarted,
		Spec:           text,
		Tags:           map[string]string{"hangar.sweep": sj.Name},
	}
	if err := s.Jobs.CreateJob(ctx, sj.Workspace, tj, nil); err != nil {
		return nil, err
	}
	q, err := s.queue(ctx, tj, sj, "")
	if err != nil {
		return nil, err
	}
	if q.RunID != "" {
		ps := make([]hangar.Param, 0, len(params))
		for _, k := range slices.Sorted(maps.Keys(params)) {
			ps = append(ps, hangar.Param{Key: k, Value: params[k]})
		}
		if err := s.Tracking.LogBatch(ctx, sj.Workspace, q.RunID, hangar.LogBatch{Params: ps}); err != nil {
			s.Logger.Warn("log a trial's parameters", "job", tj.Name, "err", err)
		}
	}
	return q, nil
}

// logSweepConfig records the sweep's settings on its run, as tags.
func (s *Scheduler) logSweepConfig(ctx context.Context, sj *hangar.Job, cfg *sweep.Config) {
	if sj.RunID == "" {
		return
	}
	tags := []hangar.RunTag{
		{Key: "hangar.sweep.sampling_algorithm", Value: cfg.Algorithm},
		{Key: "hangar.sweep.primary_metric", Value: cfg.PrimaryMetric},
		{Key: "hangar.sweep.goal", Value: cfg.Goal},
	}
	if err := s.Tracking.LogBatch(ctx, sj.Workspace, sj.RunID, hangar.LogBatch{Tags: tags}); err != nil {
		s.Logger.Warn("tag a sweep's run", "job", sj.Name, "err", err)
	}
}

// endSweep ends a sweep whose trials have all ended: Completed with the
// best trial's outputs, Failed when no completed trial logged the primary
// metric, Canceled when it was canceled or timed out.
func (s *Scheduler) endSweep(ctx context.Context, sj *hangar.Job, sw *Sweep, trials []*trialState, stop string) error {
	cfg := sw.Config
	var best *trialState
	completed, withMetric := 0, 0
	for _, t := range trials {
		if t.job.Status != hangar.JobCompleted {
			continue
		}
		completed++
		v, ok := t.final()
		if !ok {
			continue
		}
		withMetric++
		if bv, _ := best.finalOr(); best == nil || cfg.Better(v, bv) {
			best = t
		}
	}
	status, msg := hangar.JobCompleted, ""
	var outs map[string]hangar.JobOutput
	switch {
	case sj.Status == hangar.JobCancelRequested:
		status, msg = hangar.JobCanceled, "canceled by request"
	case stop != "":
		status, msg = hangar.JobCanceled, stop
	case completed == 0:
		status, msg = hangar.JobFailed, "no trial completed"
		for _, t := range trials {
			if t.job.Error != "" {
				msg += fmt.Sprintf(" (%s %s: %s)", t.job.Step, strings.ToLower(string(t.job.Status)), t.job.Error)
				break
			}
		}
	case best == nil:
		status, msg = hangar.JobFailed, fmt.Sprintf("the primary metric %q was logged by none of the %d completed trials: log it with mlflow.log_metric(%q, value), or change objective.primary_metric", cfg.PrimaryMetric, completed, cfg.PrimaryMetric)
	default:
		outs = map[string]hangar.JobOutput{}
		for name, o := range best.job.Outputs {
			o.Asset = ""
			outs[name] = o
		}
	}
	t := hangar.JobTransition{From: []hangar.JobStatus{sj.Status}, To: status, Error: msg, Outputs: outs, Release: true}
	if best != nil {
		v, _ := best.final()
		sw.Best = &BestTrial{Job: best.job.Name, RunID: best.job.RunID, Params: best.paramsOf(), Metric: cfg.PrimaryMetric, Value: v, Trials: withMetric}
		text, err := specText(sw)
		if err != nil {
			return err
		}
		t.Spec = text
		if sj.RunID != "" {
			s.Tracking.LogBatch(ctx, sj.Workspace, sj.RunID, hangar.LogBatch{
				Tags:    []hangar.RunTag{{Key: "hangar.sweep.best_trial", Value: best.job.Name}, {Key: "best_child_run_id", Value: best.job.RunID}},
				Metrics: []hangar.Metric{{Key: cfg.PrimaryMetric, Value: v, Timestamp: time.Now().UnixMilli()}},
			})
		}
		s.Jobs.AppendJobLog(ctx, sj.Workspace, sj.Name, fmt.Appendf(nil, "[hangar] best trial %s: %s = %s with %s\n", best.job.Step, cfg.PrimaryMetric, sweep.FormatFloat(v), formatParams(best.params)))
	}
	if _, err := s.Jobs.TransitionJob(ctx, sj.Workspace, sj.Name, t); err != nil {
		return err
	}
	s.settle(ctx, sj.Workspace, sj.Name)
	s.mu.Lock()
	for _, t := range trials {
		delete(s.settled, key(t.job.Workspace, t.job.Name))
		delete(s.series, key(t.job.Workspace, t.job.Name))
	}
	if sj.Parent == "" {
		delete(s.settled, key(sj.Workspace, sj.Name))
	}
	s.mu.Unlock()
	if sj.Parent != "" {
		s.Wake() // the pipeline moves on
	}
	return nil
}

func (t *trialState) finalOr() (float64, bool) {
	if t == nil {
		return 0, false
	}
	return t.final()
}

// formatParams is "a=1, b=x" in name order.
func formatParams(p map[string]string) string {
	parts := make([]string, 0, len(p))
	for _, k := range slices.Sorted(maps.Keys(p)) {
		parts = append(parts, k+"="+p[k])
	}
	return strings.Join(parts, ", ")
}
