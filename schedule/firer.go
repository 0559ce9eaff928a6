package schedule

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"time"

	"github.com/hangar-ml/hangar"
)

// JobSubmitter turns a job submission into stored jobs, as `hangar job
// create` does (jobrun.Submitter implements it).
type JobSubmitter interface {
	SubmitJob(ctx context.Context, workspace string, sub *hangar.JobSubmission) (*hangar.Job, error)
}

// PropertySchedule is the job property that names the schedule a job was
// created by, as Azure records it; PropertyScheduleDue its due time.
const (
	PropertySchedule    = "azureml.schedule"
	PropertyScheduleDue = "azureml.schedule_due"
)

// Firer fires due schedules: it wakes at the earliest next due time (or
// when told a schedule changed, or every PollInterval to see other
// servers' changes), claims each due firing in the store and submits its
// job. Set the fields, then call Run once.
type Firer struct {
	Schedules hangar.ScheduleService
	// Jobs reads the existing job a schedule copies and stores the copy.
	Jobs hangar.JobService
	// Submitter submits a schedule's job YAML.
	Submitter JobSubmitter
	// JobCreated, when set, is called after a copied job is stored (it
	// wakes the job scheduler; the Submitter does so itself).
	JobCreated func(workspace, name string)
	// Server names this server in the firings it claims.
	Server string
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Speed, when above 1, is how much faster than real time Now runs
	// (a test clock): Run's waits shrink by as much.
	Speed float64
	// PollInterval bounds the sleep between looks at the store (default a
	// minute): another server's new schedule is seen within it.
	PollInterval time.Duration
	// ResumeAfter is how long after its claim a firing with neither a job
	// nor an error is taken for one whose server stopped before it
	// submitted the job, and resumed (ResumeUnfinished); default
	// DefaultResumeAfter.
	ResumeAfter time.Duration
	// MaxResumeAge is how far in the past a resumed firing's due time may
	// be for its job to run late; an older one is finished with why it was
	// not. Default DefaultMaxResumeAge.
	MaxResumeAge time.Duration
	Logger       *slog.Logger

	once sync.Once
	wake chan struct{}
}

func (f *Firer) init() {
	f.once.Do(func() { f.wake = make(chan struct{}, 1) })
}

func (f *Firer) now() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
}

func (f *Firer) logger() *slog.Logger {
	if f.Logger != nil {
		return f.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// Time is the firer's clock (Now): next due times are computed by it.
func (f *Firer) Time() time.Time { return f.now() }

// Changed wakes the loop: a schedule was created, changed or enabled.
func (f *Firer) Changed() {
	f.init()
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// DefaultResumeAfter is Firer.ResumeAfter's default: far longer than a
// submission takes, and a resumed firing submits under the job name the
// first attempt used, so a slow first attempt still makes one job.
// DefaultMaxResumeAge is Firer.MaxResumeAge's: a due time further in the
// past is not run late.
const (
	DefaultResumeAfter  = 2 * time.Minute
	DefaultMaxResumeAge = 24 * time.Hour
)

// transientFor is how long after its claim a firing whose submission
// failed with an internal error is still left for a later resume: a store
// that failed for a moment gets several more tries (ResumeUnfinished runs
// at every wake, at least once a minute), a fault that stays is recorded
// with its own message after that.
const transientFor = 10 * time.Minute

// transient reports whether err, met while firing fr, may not happen
// again: the server is stopping (ctx ended), a service is unavailable, or
// an internal error within transientFor of the claim. Such a firing is
// left for a later resume instead of recorded as failed.
func transient(ctx context.Context, err error, fr *hangar.ScheduleFiring, now time.Time) bool {
	if ctx.Err() != nil {
		return true
	}
	switch hangar.ErrorCode(err) {
	case hangar.EUNAVAILABLE:
		return true
	case hangar.EINTERNAL:
		return now.Sub(fr.FiredAt) < transientFor
	}
	return false
}

// Run fires due schedules, and resumes the firings a stopped server left
// unfinished, until ctx ends.
func (f *Firer) Run(ctx context.Context) {
	f.init()
	poll := f.PollInterval
	if poll <= 0 {
		poll = time.Minute
	}
	for ctx.Err() == nil {
		if err := f.FireDue(ctx); err != nil && ctx.Err() == nil {
			f.logger().Error("fire schedules", "err", err)
		}
		// After FireDue: a missed due time it just fired supersedes an
		// older unfinished firing of the same schedule.
		if err := f.ResumeUnfinished(ctx); err != nil && ctx.Err() == nil {
			f.logger().Error("resume unfinished schedule firings", "err", err)
		}
		wait := poll
		if next, err := f.Schedules.NextScheduleDue(ctx); err != nil {
			if ctx.Err() == nil {
				f.logger().Error("next schedule due", "err", err)
			}
		} else if next != nil {
			wait = min(wait, max(next.Sub(f.now()), 0))
		}
		if wait <= 0 {
			// Due already (a firing failed to claim, or the clock is
			// ahead of the store's): look again soon, not in a spin.
			wait = time.Second
		}
		if f.Speed > 1 {
			wait = time.Duration(float64(wait) / f.Speed)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-f.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// FireDue fires every schedule due now, once each: a schedule that missed
// several due times (every server was down) fires once, and its next due
// time moves past now.
func (f *Firer) FireDue(ctx context.Context) error {
	// A full batch is followed by another, a few at most per wake.
	for range 10 {
		now := f.now()
		due, err := f.Schedules.DueSchedules(ctx, now, 100)
		if err != nil {
			return err
		}
		for _, s := range due {
			if _, err := f.fire(ctx, s, *s.NextDue, false); err != nil && hangar.ErrorCode(err) != hangar.ECONFLICT {
				f.logger().Error("fire schedule", "workspace", s.Workspace, "schedule", s.Name, "err", err)
			}
		}
		if len(due) < 100 || ctx.Err() != nil {
			break
		}
	}
	return ctx.Err()
}

// Trigger fires a schedule now, whatever its trigger and whether it is
// enabled: a manual firing, recorded like any other. It returns the
// firing with the job it created, or the error that kept it from creating
// one. Errors: ENOTFOUND, EINVALID.
func (f *Firer) Trigger(ctx context.Context, workspace, name string) (*hangar.ScheduleFiring, error) {
	s, err := f.Schedules.Schedule(ctx, workspace, name)
	if err != nil {
		return nil, err
	}
	return f.fire(ctx, s, f.now(), true)
}

// fire claims the firing of s at due and submits its job. Of several
// servers racing for one due time, the losers get ECONFLICT.
func (f *Firer) fire(ctx context.Context, s *hangar.Schedule, due time.Time, manual bool) (*hangar.ScheduleFiring, error) {
	def, spec, loadErr := Load(s)
	var next *time.Time
	if !manual {
		// Past now, so missed due times fire once; a definition that no
		// longer reads fires no more (the firing records why).
		if loadErr == nil {
			if t, ok := spec.Trigger.Next(maxTime(due, f.now())); ok {
				next = &t
			}
		}
	}
	claimed, err := f.Schedules.ClaimFiring(ctx, s.Workspace, s.Name, &hangar.ScheduleFiring{Due: due, Manual: manual, FiredBy: f.Server}, next)
	if err != nil {
		return nil, err
	}
	var job *hangar.Job
	if loadErr != nil {
		err = loadErr
	} else {
		job, err = f.submit(ctx, s, def, claimed)
		if hangar.IsCode(err, hangar.ECONFLICT) {
			// A slow submission that ResumeUnfinished took for a lost one
			// and submitted meanwhile: its job is this firing's.
			if name, ok, _ := f.madeBy(ctx, claimed, JobName(s.Name, claimed.Due, manual)); ok {
				job, err = &hangar.Job{Name: name}, nil
			}
		}
	}
	jobName, errText := "", ""
	if err != nil {
		if !manual && transient(ctx, err, claimed, f.now()) {
			// The server is stopping, or the store or a service failed
			// for now: left unfinished, the firing is resumed later
			// (ResumeUnfinished) rather than recorded as failed.
			f.logger().Warn("schedule firing left for a later resume", "workspace", s.Workspace, "schedule", s.Name, "due", due, "err", err)
			return claimed, err
		}
		errText = hangar.ErrorMessage(err)
		f.logger().Warn("schedule firing created no job", "workspace", s.Workspace, "schedule", s.Name, "due", due, "err", err)
	} else {
		jobName = job.Name
	}
	// The firing is finished even when the request that asked for it
	// ended: the claim is made.
	finished, ferr := f.Schedules.FinishFiring(context.WithoutCancel(ctx), s.Workspace, s.Name, claimed.ID, jobName, errText)
	if ferr != nil {
		return nil, fmt.Errorf("record firing of schedule %s: %w", s.Name, ferr)
	}
	return finished, nil
}

// unfinishedFirings is the store's optional capability of listing the
// firings claimed and never finished (sqlstore's ScheduleService has it).
type unfinishedFirings interface {
	UnfinishedFirings(ctx context.Context, olderThan time.Duration, limit int) ([]*hangar.ScheduleFiring, error)
}

// ResumeUnfinished finishes the firings claimed more than ResumeAfter ago
// that recorded neither a job nor an error — their server stopped between
// the claim and the submission — so that a due time the store claimed
// makes its job at least once, and exactly once: the job is submitted
// under the name the first attempt used (JobName), and a job of that name
// that the schedule created already is recorded instead of a second one.
// A firing that a later firing of its schedule superseded (the schedule
// fired again meanwhile, e.g. its missed due time at this start) is
// finished with that as its error rather than run late, as is a manual
// firing, whose caller was told it failed. Without the store's capability
// it does nothing.
func (f *Firer) ResumeUnfinished(ctx context.Context) error {
	store, ok := f.Schedules.(unfinishedFirings)
	if !ok {
		return nil
	}
	after := f.ResumeAfter
	if after <= 0 {
		after = DefaultResumeAfter
	}
	// The store compares the age with its own clock, the one fired_at
	// was written with (Now may run faster, or be another server's).
	firings, err := store.UnfinishedFirings(ctx, after, 100)
	if err != nil {
		return err
	}
	for _, fr := range firings {
		if ctx.Err() != nil {
			break
		}
		if err := f.resume(ctx, fr); err != nil && ctx.Err() == nil {
			f.logger().Error("resume schedule firing", "workspace", fr.Workspace, "schedule", fr.Schedule, "due", fr.Due, "err", err)
		}
	}
	return ctx.Err()
}

// resume finishes one unfinished firing (ResumeUnfinished), or leaves it
// for the next try when what failed may not fail again (transient) and
// its due time is recent enough to run late.
func (f *Firer) resume(ctx context.Context, fr *hangar.ScheduleFiring) error {
	job, err := f.resumeJob(ctx, fr)
	if err != nil && transient(ctx, err, fr, f.now()) && f.now().Sub(fr.Due) < f.maxResumeAge() {
		return err
	}
	errText := ""
	if err != nil {
		errText = hangar.ErrorMessage(err)
		f.logger().Warn("resumed schedule firing created no job", "workspace", fr.Workspace, "schedule", fr.Schedule, "due", fr.Due, "err", err)
	} else {
		f.logger().Info("resumed schedule firing", "workspace", fr.Workspace, "schedule", fr.Schedule, "due", fr.Due, "job", job)
	}
	_, ferr := f.Schedules.FinishFiring(context.WithoutCancel(ctx), fr.Workspace, fr.Schedule, fr.ID, job, errText)
	if hangar.IsCode(ferr, hangar.ENOTFOUND) {
		return nil // pruned, or its schedule deleted meanwhile
	}
	return ferr
}

// resumeJob returns the job of an unfinished firing: the one its first
// attempt created, or one submitted now under the same name.
func (f *Firer) resumeJob(ctx context.Context, fr *hangar.ScheduleFiring) (string, error) {
	name := JobName(fr.Schedule, fr.Due, fr.Manual)
	if name, ok, err := f.madeBy(ctx, fr, name); ok || err != nil {
		return name, err
	}
	if fr.Manual {
		return "", hangar.Errorf(hangar.ECONFLICT, "the server stopped before it submitted this manual firing's job: trigger the schedule again")
	}
	if age := f.now().Sub(fr.Due); age >= f.maxResumeAge() {
		return "", hangar.Errorf(hangar.ECONFLICT, "the server stopped before it submitted this firing's job, %s ago: not run this late", age.Round(time.Minute))
	}
	// The newest firing due by the schedule (a manual one does not stand
	// for a due time).
	recent, err := f.Schedules.ScheduleFirings(ctx, fr.Workspace, fr.Schedule, hangar.MaxScheduleFirings)
	if err != nil {
		return "", err
	}
	for _, n := range recent {
		if n.Manual {
			continue
		}
		if n.ID != fr.ID {
			return "", hangar.Errorf(hangar.ECONFLICT, "the server stopped before it submitted this firing's job, and the schedule fired again (due %s) since: not run late",
				n.Due.UTC().Format(time.RFC3339))
		}
		break
	}
	s, err := f.Schedules.Schedule(ctx, fr.Workspace, fr.Schedule)
	if err != nil {
		return "", err
	}
	if !s.Enabled {
		return "", hangar.Errorf(hangar.ECONFLICT, "the server stopped before it submitted this firing's job, and the schedule was disabled since: not run")
	}
	def, _, err := Load(s)
	if err != nil {
		return "", err
	}
	job, err := f.submit(ctx, s, def, fr)
	if hangar.IsCode(err, hangar.ECONFLICT) {
		// Another server resumed it first.
		if name, ok, merr := f.madeBy(ctx, fr, name); ok || merr != nil {
			return name, merr
		}
	}
	if err != nil {
		return "", err
	}
	return job.Name, nil
}

func (f *Firer) maxResumeAge() time.Duration {
	if f.MaxResumeAge > 0 {
		return f.MaxResumeAge
	}
	return DefaultMaxResumeAge
}

// madeBy reports whether job name exists as the job of firing fr (its
// schedule and due time in its properties). A job of that name made
// otherwise is ECONFLICT.
func (f *Firer) madeBy(ctx context.Context, fr *hangar.ScheduleFiring, name string) (string, bool, error) {
	if f.Jobs == nil {
		return "", false, nil
	}
	j, err := f.Jobs.Job(ctx, fr.Workspace, name)
	switch {
	case hangar.IsCode(err, hangar.ENOTFOUND):
		return "", false, nil
	case err != nil:
		return "", false, err
	case j.Properties[PropertySchedule] != fr.Schedule || j.Properties[PropertyScheduleDue] != fr.Due.UTC().Format(time.RFC3339):
		return "", false, hangar.Errorf(hangar.ECONFLICT, "job %s exists and was not created by this firing of schedule %s", name, fr.Schedule)
	}
	return j.Name, true, nil
}

// JobName is the name of the job a firing creates: the schedule's name
// and the due time, so a due time's job is named once.
func JobName(schedule string, due time.Time, manual bool) string {
	suffix := "-" + due.UTC().Format("20060102t150405")
	if manual {
		suffix = "-manual-" + due.UTC().Format("20060102t150405.000")
	}
	if len(schedule)+len(suffix) > 255 {
		schedule = schedule[:255-len(suffix)]
	}
	return schedule + suffix
}

func (f *Firer) submit(ctx context.Context, s *hangar.Schedule, def *Definition, fr *hangar.ScheduleFiring) (*hangar.Job, error) {
	ctx = hangar.WithActor(ctx, hangar.Actor{IdentityID: "system", Name: "schedule:" + s.Name})
	name := JobName(s.Name, fr.Due, fr.Manual)
	props := map[string]string{PropertySchedule: s.Name, PropertyScheduleDue: fr.Due.UTC().Format(time.RFC3339)}
	if def.Existing != "" {
		return f.copyJob(ctx, s.Workspace, def.Existing, name, props)
	}
	if def.Job == nil {
		return nil, hangar.Errorf(hangar.EINVALID, "schedule %s has no job to submit", s.Name)
	}
	sub := *def.Job
	sub.Sets = append(append([]string(nil), sub.Sets...), "name="+name)
	sub.Properties = maps.Clone(sub.Properties)
	if sub.Properties == nil {
		sub.Properties = map[string]string{}
	}
	maps.Copy(sub.Properties, props)
	return f.Submitter.SubmitJob(ctx, s.Workspace, &sub)
}

// copyJob stores a copy of an existing command job under name: its
// resolved definition (code, inputs, environment) as it was submitted. A
// pipeline's steps are rewritten as they run, so a pipeline is not copied:
// its schedule names its YAML instead.
func (f *Firer) copyJob(ctx context.Context, ws, existing, name string, props map[string]string) (*hangar.Job, error) {
	src, err := f.Jobs.Job(ctx, ws, existing)
	if err != nil {
		return nil, fmt.Errorf("create_job azureml:%s: %w", existing, err)
	}
	if err := copyable(src); err != nil {
		return nil, err
	}
	j := &hangar.Job{
		Name: name, Type: src.Type, DisplayName: src.DisplayName, ExperimentName: src.ExperimentName,
		Description: src.Description, Tags: maps.Clone(src.Tags), Properties: maps.Clone(src.Properties),
		Compute: src.Compute, Status: hangar.JobNotStarted, Spec: src.Spec,
	}
	if j.Properties == nil {
		j.Properties = map[string]string{}
	}
	maps.Copy(j.Properties, props)
	if err := f.Jobs.CreateJob(ctx, ws, j, nil); err != nil {
		return nil, err
	}
	if f.JobCreated != nil {
		f.JobCreated(ws, j.Name)
	}
	return j, nil
}

// CheckExisting checks that a job a schedule names (azureml:<name>) can be
// copied: a top-level command job. Errors: ENOTFOUND, EINVALID.
func CheckExisting(ctx context.Context, jobs hangar.JobService, ws, name string) error {
	j, err := jobs.Job(ctx, ws, name)
	if err != nil {
		return err
	}
	return copyable(j)
}

func copyable(j *hangar.Job) error {
	switch {
	case j.Parent != "":
		return hangar.Errorf(hangar.EINVALID, "create_job azureml:%s: the job is a step of pipeline %s: schedule the pipeline's YAML", j.Name, j.Parent)
	case j.Type != hangar.JobTypeCommand:
		return hangar.Errorf(hangar.EINVALID, "create_job azureml:%s: the job is a %s job: a schedule copies command jobs only; give the pipeline's YAML (create_job: ./pipeline.yml)", j.Name, j.Type)
	case strings.TrimSpace(j.Spec) == "":
		return hangar.Errorf(hangar.EINVALID, "create_job azureml:%s: the job has no definition to copy", j.Name)
	}
	return nil
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
