package hangar

// Schedules: job schedules (Azure ML's schedule asset, reference/azureml.md
// §2.12). A schedule holds its definition (Spec, JSON text that package
// schedule writes and reads: the schedule's YAML and the job submission it
// creates jobs from), whether it is enabled, and NextDue, the next time it
// fires. Firing is a claim: the store records one ScheduleFiring per
// (schedule, due time) and advances NextDue in the same transaction, so
// several servers on one database fire each due time once.

import (
	"context"
	"strings"
	"time"
)

// Limits of schedules.
const (
	MaxScheduleSpecSize = MaxJobSubmissionSize + 1<<20 // bytes of a schedule's Spec
	MaxScheduleFirings  = 100                          // firings one ListScheduleFirings returns
	// KeptScheduleFirings is how many firings of a schedule the store
	// keeps: claiming one more deletes the oldest (a schedule firing every
	// minute would otherwise keep half a million a year). A thousand is
	// 16 hours of a schedule firing every minute, over two years of a
	// daily one, and always more than one listing shows.
	KeptScheduleFirings = 1000
)

// Schedule is a job schedule.
type Schedule struct {
	Workspace   string            `json:"workspace"`
	Name        string            `json:"name"`
	DisplayName string            `json:"display_name,omitempty"`
	Description string            `json:"description,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
	// Trigger describes when the schedule fires, for people ("cron 0 3 * *
	// * Europe/Paris"); Spec holds the definition.
	Trigger string `json:"trigger"`
	// Spec is the schedule's definition, a JSON object of at most
	// MaxScheduleSpecSize bytes (package schedule).
	Spec    string `json:"spec"`
	Enabled bool   `json:"enabled"`
	// NextDue is the next time the schedule fires; nil when it never
	// fires again (its end time passed).
	NextDue *time.Time `json:"next_due,omitempty"`
	// LastFired is the due time of the last firing.
	LastFired *time.Time `json:"last_fired,omitempty"`

	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by"`
	UpdatedAt time.Time `json:"updated_at"`
	UpdatedBy string    `json:"updated_by"`
}

// ScheduleFiring records one firing of a schedule: the job it created, or
// why it created none.
type ScheduleFiring struct {
	ID        string    `json:"id"`
	Workspace string    `json:"workspace"`
	Schedule  string    `json:"schedule"`
	Due       time.Time `json:"due"`
	// Manual marks a firing asked for by `schedule trigger`.
	Manual  bool      `json:"manual,omitempty"`
	FiredAt time.Time `json:"fired_at"`
	// FiredBy names the server that claimed the firing.
	FiredBy string `json:"fired_by"`
	// Job is the job the firing created; empty until it is submitted, and
	// when submission failed (Error says why).
	Job   string `json:"job,omitempty"`
	Error string `json:"error,omitempty"`
}

// ScheduleService stores schedules and their firings.
type ScheduleService interface {
	// CreateSchedule stores a schedule, audited (schedules/write on
	// schedules/<name>); it sets Workspace and the created and updated
	// fields. Errors: EINVALID (Validate), ENOTFOUND (workspace),
	// ECONFLICT (the name exists).
	CreateSchedule(ctx context.Context, workspace string, s *Schedule) error
	// Schedule returns a schedule. Errors: EINVALID, ENOTFOUND.
	Schedule(ctx context.Context, workspace, name string) (*Schedule, error)
	// ListSchedules lists a workspace's schedules by name. Errors: EINVALID.
	ListSchedules(ctx context.Context, workspace string, opt ListOptions) (*Page[*Schedule], error)
	// UpdateSchedule replaces a schedule's definition (DisplayName,
	// Description, Tags, Trigger, Spec), its Enabled and NextDue, audited,
	// and returns it as stored. Errors: EINVALID, ENOTFOUND.
	UpdateSchedule(ctx context.Context, workspace string, s *Schedule) (*Schedule, error)
	// DeleteSchedule deletes a schedule and its firings, audited (the
	// jobs it created stay). Errors: EINVALID, ENOTFOUND.
	DeleteSchedule(ctx context.Context, workspace, name string) error

	// DueSchedules returns, across workspaces, up to limit enabled
	// schedules whose NextDue is at or before now, earliest first.
	DueSchedules(ctx context.Context, now time.Time, limit int) ([]*Schedule, error)
	// NextScheduleDue returns the earliest NextDue of the enabled
	// schedules, or nil when none is due ever.
	NextScheduleDue(ctx context.Context) (*time.Time, error)
	// ClaimFiring claims the firing of a schedule at due and, in the same
	// transaction, moves NextDue to next (nil: never again) and LastFired to
	// due; the claim is audited (schedules/write on
	// schedules/<name>/firings/<id>). It applies only while the schedule
	// is enabled and its NextDue is due: of several servers racing for one
	// due time exactly one succeeds, the others get ECONFLICT. A manual
	// firing (f.Manual) is claimed whatever NextDue is and leaves it.
	// The schedule keeps its newest KeptScheduleFirings firings (by
	// FiredAt; any fired in the same microsecond as the oldest kept stay
	// too): the claim deletes the older ones in its transaction.
	// f names the due time, Manual and FiredBy; the store sets the rest.
	// Errors: EINVALID, ENOTFOUND, ECONFLICT.
	ClaimFiring(ctx context.Context, workspace, name string, f *ScheduleFiring, next *time.Time) (*ScheduleFiring, error)
	// FinishFiring records the job a claimed firing created, or the error
	// that kept it from creating one, and returns the firing. The first
	// call decides: a firing finished already is returned as it is.
	// Errors: EINVALID, ENOTFOUND.
	FinishFiring(ctx context.Context, workspace, name, id, job, errText string) (*ScheduleFiring, error)
	// ScheduleFirings returns up to limit (≤ MaxScheduleFirings) firings of
	// a schedule, newest first. Errors: EINVALID, ENOTFOUND.
	ScheduleFirings(ctx context.Context, workspace, name string, limit int) ([]*ScheduleFiring, error)
}

// ScheduleSubmission is what `hangar schedule create` and `update` send:
// the schedule's YAML and, when its create_job is a job YAML (a file or
// inline), that job's submission with its local paths uploaded, as
// `hangar job create` sends it.
type ScheduleSubmission struct {
	// File is the YAML file's base name, for messages.
	File string `json:"file"`
	// YAML is the schedule's YAML text.
	YAML string `json:"yaml"`
	// Sets are the --set overrides of the schedule's YAML, in order.
	Sets []string `json:"sets,omitempty"`
	// Job is the job the schedule creates; nil when create_job names an
	// existing job (azureml:<name>).
	Job *JobSubmission `json:"job,omitempty"`
}

// Validate checks a submission's sizes and names. Errors: EINVALID.
func (s *ScheduleSubmission) Validate() error {
	if s.File == "" || len(s.File) > jobNameMaxLength || strings.ContainsAny(s.File, `/\`) || s.File == "." || s.File == ".." {
		return Errorf(EINVALID, "invalid schedule file name %q: want the YAML file's base name", truncateText(s.File, 64))
	}
	if err := ValidateText("file", s.File, jobNameMaxLength); err != nil {
		return err
	}
	if strings.TrimSpace(s.YAML) == "" {
		return Errorf(EINVALID, "%s: the schedule's YAML is empty", s.File)
	}
	if err := ValidateText("yaml", s.YAML, MaxJobSubmissionSize); err != nil {
		return err
	}
	if len(s.Sets) > MaxJobSubmissionSets {
		return Errorf(EINVALID, "%d --set overrides; the limit is %d", len(s.Sets), MaxJobSubmissionSets)
	}
	for _, set := range s.Sets {
		if err := ValidateText("set", set, MaxAssetDescriptionLength); err != nil {
			return err
		}
		if k, _, ok := strings.Cut(set, "="); !ok || k == "" {
			return Errorf(EINVALID, "invalid --set %q: want path=value", truncateText(set, 64))
		}
	}
	if s.Job != nil {
		if err := s.Job.Validate(); err != nil {
			return err
		}
	}
	return nil
}

// ValidateScheduleName checks a schedule name: Azure's asset name rule.
// Errors: EINVALID.
func ValidateScheduleName(name string) error { return ValidateName("schedule", name) }

// Validate checks a schedule's fields. Errors: EINVALID.
func (s *Schedule) Validate() error {
	if err := ValidateScheduleName(s.Name); err != nil {
		return err
	}
	if err := ValidateText("display_name", s.DisplayName, MaxAssetDisplayNameLength); err != nil {
		return err
	}
	if err := ValidateText("description", s.Description, MaxAssetDescriptionLength); err != nil {
		return err
	}
	if err := ValidateText("trigger", s.Trigger, MaxAssetDescriptionLength); err != nil {
		return err
	}
	if err := validateTags(s.Tags); err != nil {
		return err
	}
	if len(s.Spec) > MaxScheduleSpecSize {
		return Errorf(EINVALID, "schedule %s: spec is %d bytes; the limit is %d", s.Name, len(s.Spec), MaxScheduleSpecSize)
	}
	if err := CheckJSONText([]byte(s.Spec)); err != nil {
		return Errorf(EINVALID, "schedule %s: spec: %v", s.Name, err)
	}
	if len(s.Spec) == 0 || s.Spec[0] != '{' {
		return Errorf(EINVALID, "schedule %s: spec is not a JSON object", s.Name)
	}
	return nil
}

// ScheduleNotFound is the error for a schedule that does not exist.
func ScheduleNotFound(name string) error {
	return Errorf(ENOTFOUND, "Schedule %s not found.", name)
}
