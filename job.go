package hangar

// Jobs: command jobs, pipeline jobs and the steps of pipelines (Azure ML's
// job assets, reference/azureml.md §2.3, §2.4). A pipeline's steps are jobs
// too, children of the pipeline job (Parent), as Azure lists them with
// `az ml job list --parent-job-name`. The root knows a job's identity,
// status, lease and results; its definition is Spec, JSON text that package
// jobrun writes and reads (the resolved command, inputs, outputs,
// environment and code of a step; the steps and bindings of a pipeline).
//
// Status moves forward only:
//
//	NotStarted → Queued → Preparing → Running → Finalizing → Completed
//	                         any non-terminal → CancelRequested → Canceled
//	                         any non-terminal → Failed | Canceled
//
// A step runner holds a job while it works on it under a lease (Holder,
// LeaseExpires) that it renews with heartbeats; a job whose lease expired
// is failed or queued again by the scheduler, never left Running.

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// JobStatus is a job's status, with Azure ML's names.
type JobStatus string

// Job statuses.
const (
	JobNotStarted      JobStatus = "NotStarted" // created; a step waits for the steps it needs
	JobQueued          JobStatus = "Queued"     // ready, waiting for a runner
	JobPreparing       JobStatus = "Preparing"  // claimed: staging code and inputs
	JobRunning         JobStatus = "Running"    // the command runs (a pipeline: its steps run)
	JobFinalizing      JobStatus = "Finalizing" // uploading outputs
	JobCancelRequested JobStatus = "CancelRequested"
	JobCompleted       JobStatus = "Completed"
	JobFailed          JobStatus = "Failed"
	JobCanceled        JobStatus = "Canceled"
)

// JobStatuses lists every status in lifecycle order.
var JobStatuses = []JobStatus{JobNotStarted, JobQueued, JobPreparing, JobRunning, JobFinalizing, JobCancelRequested, JobCompleted, JobFailed, JobCanceled}

// Terminal reports whether the status is final.
func (s JobStatus) Terminal() bool {
	return s == JobCompleted || s == JobFailed || s == JobCanceled
}

// Valid reports whether s is one of JobStatuses.
func (s JobStatus) Valid() bool { return slices.Contains(JobStatuses, s) }

// Job types.
const (
	JobTypeCommand  = "command"
	JobTypePipeline = "pipeline"
	// JobTypeSweep is a hyperparameter sweep: its children are its
	// trials, created as the sweep runs (package jobrun).
	JobTypeSweep = "sweep"
)

// Limits of jobs.
const (
	MaxJobSpecSize   = 4 << 20 // bytes of a job's Spec
	MaxJobErrorSize  = 8192    // bytes of Error (longer errors are cut)
	MaxJobLogChunk   = 1 << 20 // bytes of one AppendJobLog call
	MaxJobSteps      = 1000    // steps of one pipeline
	MaxJobLeaseTime  = time.Hour
	MaxJobOutputs    = 100
	jobNameMaxLength = 255
)

// Job is a command job, a pipeline job or one step of a pipeline.
type Job struct {
	Workspace string `json:"workspace"`
	// Name is unique in the workspace (Azure's job name); NewJobName
	// makes one when the submitter gives none. A step's name is
	// <pipeline name>.<step name> unless the store is given another.
	Name string `json:"name"`
	Type string `json:"type"` // JobTypeCommand, JobTypePipeline or JobTypeSweep
	// Parent is the pipeline job of a step (or the sweep of a trial);
	// Step the step's (trial's) name in it.
	Parent string `json:"parent,omitempty"`
	Step   string `json:"step,omitempty"`

	DisplayName    string            `json:"display_name,omitempty"`
	ExperimentName string            `json:"experiment_name,omitempty"`
	Description    string            `json:"description,omitempty"`
	Tags           map[string]string `json:"tags,omitempty"`
	Properties     map[string]string `json:"properties,omitempty"`
	Compute        string            `json:"compute,omitempty"`

	Status JobStatus `json:"status"`
	// Spec is the job's resolved definition, a JSON object of at most
	// MaxJobSpecSize bytes (package jobrun).
	Spec string `json:"spec"`
	// ReuseKey is the hash of everything that decides a deterministic
	// step's result (component, code, command, environment, resolved
	// inputs); empty for a job that is never reused.
	ReuseKey string `json:"reuse_key,omitempty"`
	// ReusedFrom is the job whose outputs a reused step took.
	ReusedFrom string `json:"reused_from,omitempty"`
	// Outputs are the job's results, by output name, once it completed.
	Outputs map[string]JobOutput `json:"outputs,omitempty"`

	// ExperimentID and RunID are the MLflow experiment and run that track
	// the job.
	ExperimentID string `json:"experiment_id,omitempty"`
	RunID        string `json:"run_id,omitempty"`
	// Error says why the job failed or was canceled.
	Error string `json:"error,omitempty"`
	// Attempt counts the times a runner claimed the job.
	Attempt int `json:"attempt"`

	// Holder is who holds the job's lease (a step runner, or the scheduler
	// for a pipeline), until LeaseExpires; empty when nobody does.
	Holder       string     `json:"holder,omitempty"`
	LeaseExpires *time.Time `json:"lease_expires,omitempty"`

	Archived  bool       `json:"archived"`
	CreatedAt time.Time  `json:"created_at"`
	CreatedBy string     `json:"created_by"`
	StartedAt *time.Time `json:"started_at,omitempty"`
	EndedAt   *time.Time `json:"ended_at,omitempty"`
}

// JobOutput is one output of a finished job.
type JobOutput struct {
	Type string `json:"type"` // a data type of jobspec (uri_folder, uri_file, …) or a literal's
	// URI is where the output is: azureml://jobs/<job>/outputs/<name>.
	URI string `json:"uri"`
	// Manifest is the manifest of the output's files in the workspace's
	// blob store; empty for a literal output.
	Manifest Digest `json:"manifest,omitempty"`
	Size     int64  `json:"size,omitempty"`
	// Asset is name:version of the data asset the output was registered
	// as, when the job asked for it.
	Asset string `json:"asset,omitempty"`
	// Value is a literal output's value.
	Value string `json:"value,omitempty"`
}

// JobOutputURI is the URI of a job's output.
func JobOutputURI(job, output string) string {
	return "azureml://jobs/" + job + "/outputs/" + output
}

var jobName = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,254}$`)

// ValidateJobName checks a job name: letters, digits, '_', '-' and '.',
// not starting with '-' or '.', at most 255 bytes. Errors: EINVALID.
func ValidateJobName(name string) error {
	if !jobName.MatchString(name) {
		return Errorf(EINVALID, "invalid job name %q: use letters, digits, '_', '-' and '.', starting with a letter, digit or '_', at most %d characters", name, jobNameMaxLength)
	}
	return nil
}

// NewJobName returns a fresh job name in Azure's style: two words and a
// random suffix ("calm_river_k3x9q2m1p0").
func NewJobName() string {
	adjs := []string{"amber", "bold", "brave", "calm", "clever", "crisp", "eager", "fresh", "gentle", "happy", "keen", "lively", "lucid", "mellow", "nimble", "quiet", "rapid", "sharp", "steady", "swift", "tidy", "vivid", "warm", "witty"}
	nouns := []string{"anchor", "apple", "basket", "cloud", "comet", "coral", "engine", "feather", "forest", "garden", "harbor", "island", "lantern", "meadow", "orbit", "pepper", "planet", "river", "rocket", "sail", "spring", "thunder", "tower", "valley"}
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	var b [12]byte
	rand.Read(b[:])
	suffix := make([]byte, 10)
	for i := range suffix {
		suffix[i] = alphabet[int(b[i+2])%len(alphabet)]
	}
	return adjs[int(b[0])%len(adjs)] + "_" + nouns[int(b[1])%len(nouns)] + "_" + string(suffix)
}

// JobFilter narrows a list of jobs. Empty fields match all.
type JobFilter struct {
	// Parent lists the steps of this pipeline job (in creation order);
	// empty lists top-level jobs only, newest first.
	Parent string
	// Statuses keeps jobs in one of these statuses.
	Statuses []JobStatus
	// ExperimentName keeps the jobs of this experiment.
	ExperimentName string
	// IncludeArchived lists archived jobs too.
	IncludeArchived bool
}

// JobTransition is a conditional change of a job: it applies only when the
// job's status is one of From (any status when From is empty) and, when
// Holder is set and the job has a holder whose lease has not expired, the
// holders are the same. Fields left zero are not changed.
type JobTransition struct {
	From []JobStatus
	// To is the new status ("" keeps the status: a heartbeat). Entering
	// Preparing counts an attempt; leaving for Running sets StartedAt once;
	// a terminal status sets EndedAt and drops the lease.
	To JobStatus
	// Holder takes or keeps the lease for Lease (> 0, ≤ MaxJobLeaseTime);
	// Release drops it.
	Holder  string
	Lease   time.Duration
	Release bool

	Error        string
	Outputs      map[string]JobOutput
	ReusedFrom   string
	ExperimentID string
	RunID        string
	Spec         string // a pipeline's scheduler rewrites a step's spec once its bindings resolve
	ReuseKey     string
}

// JobService stores jobs.
type JobService interface {
	// CreateJob stores a job and, for a pipeline, its steps (Parent set
	// to the pipeline's name), in one transaction with an audit event
	// (jobs/write on jobs/<name>) for each. It sets Workspace, CreatedAt
	// and CreatedBy on each; Status defaults to NotStarted. Errors:
	// EINVALID (Validate; a step's Parent that is not job's name),
	// ENOTFOUND (workspace), ECONFLICT (a name exists).
	CreateJob(ctx context.Context, workspace string, job *Job, steps []*Job) error
	// Job returns a job. Errors: ENOTFOUND, EINVALID.
	Job(ctx context.Context, workspace, name string) (*Job, error)
	// ListJobs lists jobs (JobFilter). Errors: EINVALID.
	ListJobs(ctx context.Context, workspace string, f JobFilter, opt ListOptions) (*Page[*Job], error)
	// TransitionJob applies t to a job and returns it as changed; a change
	// of status is audited (jobs/write). A terminal job takes one change
	// only: a Completed job's Outputs alone (the data assets they were
	// registered as). Errors: ENOTFOUND, EINVALID (t),
	// ECONFLICT naming the job's status or holder when t's conditions do
	// not hold (nothing changes then).
	TransitionJob(ctx context.Context, workspace, name string, t JobTransition) (*Job, error)
	// SetJobArchived archives or restores a top-level job and returns it;
	// a change is audited. Errors: ENOTFOUND, EINVALID.
	SetJobArchived(ctx context.Context, workspace, name string, archived bool) (*Job, error)
	// ReusableJob returns the most recently ended Completed job of the
	// workspace with this reuse key that was not itself reused, or
	// ENOTFOUND.
	ReusableJob(ctx context.Context, workspace, reuseKey string) (*Job, error)
	// ActiveJobs returns, across workspaces, up to limit jobs that are not
	// in a terminal status, oldest first: what a scheduler looks at.
	ActiveJobs(ctx context.Context, limit int) ([]*Job, error)

	// AppendJobLog appends up to MaxJobLogChunk bytes to a job's log.
	// Errors: ENOTFOUND, EINVALID (too long).
	AppendJobLog(ctx context.Context, workspace, name string, data []byte) error
	// JobLog returns up to limit bytes of a job's log from offset, and the
	// offset after them. Errors: ENOTFOUND, EINVALID.
	JobLog(ctx context.Context, workspace, name string, offset int64, limit int) ([]byte, int64, error)
}

// Validate checks the fields a submitter supplies: the name, type, parent
// and step names, the text fields, tags and properties, the status, the
// spec (CheckJSONText, a JSON object, ≤ MaxJobSpecSize) and outputs.
func (j *Job) Validate() error {
	if err := ValidateJobName(j.Name); err != nil {
		return err
	}
	if j.Type != JobTypeCommand && j.Type != JobTypePipeline && j.Type != JobTypeSweep {
		return Errorf(EINVALID, "job %s: invalid type %q: want %q, %q or %q", j.Name, j.Type, JobTypeCommand, JobTypePipeline, JobTypeSweep)
	}
	if j.Parent != "" {
		if err := ValidateJobName(j.Parent); err != nil {
			return err
		}
		if j.Step == "" {
			return Errorf(EINVALID, "job %s: a step needs its step name", j.Name)
		}
	}
	if j.Step != "" {
		if !jobName.MatchString(j.Step) {
			return Errorf(EINVALID, "job %s: invalid step name %q", j.Name, j.Step)
		}
	}
	for _, f := range []struct{ name, v string }{{"display_name", j.DisplayName}, {"experiment_name", j.ExperimentName}, {"compute", j.Compute}} {
		if err := ValidateText(f.name, f.v, MaxAssetDisplayNameLength); err != nil {
			return err
		}
	}
	if err := ValidateText("description", j.Description, MaxAssetDescriptionLength); err != nil {
		return err
	}
	if err := validateTags(j.Tags); err != nil {
		return err
	}
	if err := validateTags(j.Properties); err != nil {
		return err
	}
	if j.Status != "" && !j.Status.Valid() {
		return Errorf(EINVALID, "job %s: invalid status %q", j.Name, j.Status)
	}
	if err := validateJobSpec(j.Name, j.Spec); err != nil {
		return err
	}
	return validateJobOutputs(j.Name, j.Outputs)
}

func validateJobSpec(name, spec string) error {
	if len(spec) > MaxJobSpecSize {
		return Errorf(EINVALID, "job %s: spec is %d bytes; the limit is %d", name, len(spec), MaxJobSpecSize)
	}
	if err := CheckJSONText([]byte(spec)); err != nil {
		return Errorf(EINVALID, "job %s: spec: %v", name, err)
	}
	if len(spec) == 0 || spec[0] != '{' || !json.Valid([]byte(spec)) {
		return Errorf(EINVALID, "job %s: spec is not a JSON object", name)
	}
	return nil
}

func validateJobOutputs(name string, outs map[string]JobOutput) error {
	if len(outs) > MaxJobOutputs {
		return Errorf(EINVALID, "job %s: %d outputs; the limit is %d", name, len(outs), MaxJobOutputs)
	}
	for k, o := range outs {
		if err := ValidateName("output", k); err != nil {
			return err
		}
		for _, f := range []struct{ name, v string }{{"type", o.Type}, {"uri", o.URI}, {"asset", o.Asset}} {
			if err := ValidateText(f.name, f.v, MaxDataPathLength); err != nil {
				return err
			}
		}
		if err := ValidateText("value", o.Value, MaxAssetDescriptionLength); err != nil {
			return err
		}
		if o.Manifest != "" {
			if _, err := ParseDigest(string(o.Manifest)); err != nil {
				return Errorf(EINVALID, "job %s: output %s: %v", name, k, err)
			}
		}
	}
	return nil
}

// Validate checks a transition's fields. Errors: EINVALID.
func (t *JobTransition) Validate() error {
	for _, s := range t.From {
		if !s.Valid() {
			return Errorf(EINVALID, "invalid job status %q", s)
		}
	}
	if t.To != "" && !t.To.Valid() {
		return Errorf(EINVALID, "invalid job status %q", t.To)
	}
	if t.Lease < 0 || t.Lease > MaxJobLeaseTime {
		return Errorf(EINVALID, "invalid lease %s: want at most %s", t.Lease, MaxJobLeaseTime)
	}
	if t.Lease > 0 && t.Holder == "" {
		return Errorf(EINVALID, "a lease needs a holder")
	}
	if err := ValidateText("holder", t.Holder, MaxAssetDisplayNameLength); err != nil {
		return err
	}
	if len(t.Error) > MaxJobErrorSize {
		t.Error = t.Error[:MaxJobErrorSize]
		for !utf8.ValidString(t.Error) {
			t.Error = t.Error[:len(t.Error)-1]
		}
	}
	if err := ValidateText("error", t.Error, MaxJobErrorSize); err != nil {
		return err
	}
	if t.ReusedFrom != "" {
		if err := ValidateJobName(t.ReusedFrom); err != nil {
			return err
		}
	}
	if t.Spec != "" {
		if err := validateJobSpec("", t.Spec); err != nil {
			return err
		}
	}
	return validateJobOutputs("", t.Outputs)
}

// JobNotFound is the error for a job that does not exist.
func JobNotFound(name string) error {
	return Errorf(ENOTFOUND, "Job %s not found.", name)
}

// Limits of a job submission.
const (
	MaxJobSubmissionSize  = 4 << 20 // bytes of all YAML text of one submission
	MaxJobSubmissionFiles = 200     // YAML files besides File
	MaxJobSubmissionSets  = 100     // --set overrides
	MaxJobUploads         = 1000    // local paths uploaded
)

// JobSubmission is what `hangar job create` sends: the job's YAML and what
// it refers to on the submitter's machine, resolved there (the server
// cannot read the submitter's files).
type JobSubmission struct {
	// File is the YAML file's base name, for messages.
	File string `json:"file"`
	// YAML is the job's YAML text.
	YAML string `json:"yaml"`
	// Sets are the --set overrides, "path=value", in order.
	Sets []string `json:"sets,omitempty"`
	// Files are other YAML files the job names (component files, say),
	// by their path as written, relative to File's folder.
	Files map[string]string `json:"files,omitempty"`
	// Uploads maps each local path the job names, as written (relative
	// to File's folder), to the manifest digest of its uploaded content.
	Uploads map[string]Digest `json:"uploads,omitempty"`
	// Properties are added to the job's (the YAML's win): what the
	// submitter knows of the code, as Azure records it —
	// azureml.git.repository_uri, azureml.git.branch,
	// azureml.git.commit, azureml.git.dirty.
	Properties map[string]string `json:"properties,omitempty"`
}

// Validate checks a submission's sizes, names, paths and digests.
// Errors: EINVALID.
func (s *JobSubmission) Validate() error {
	if s.File == "" || len(s.File) > jobNameMaxLength || strings.ContainsAny(s.File, `/\`) || s.File == "." || s.File == ".." {
		return Errorf(EINVALID, "invalid job file name %q: want the YAML file's base name", s.File)
	}
	if err := ValidateText("file", s.File, jobNameMaxLength); err != nil {
		return err
	}
	if strings.TrimSpace(s.YAML) == "" {
		return Errorf(EINVALID, "%s: the job's YAML is empty", s.File)
	}
	size := len(s.YAML)
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
	if len(s.Files) > MaxJobSubmissionFiles {
		return Errorf(EINVALID, "%d YAML files; the limit is %d", len(s.Files), MaxJobSubmissionFiles)
	}
	for p, text := range s.Files {
		if err := validateSubmissionPath(p); err != nil {
			return err
		}
		if err := ValidateText("file "+p, text, MaxJobSubmissionSize); err != nil {
			return err
		}
		size += len(text)
	}
	if size > MaxJobSubmissionSize {
		return Errorf(EINVALID, "the job's YAML files hold %d bytes; the limit is %d", size, MaxJobSubmissionSize)
	}
	if err := validateTags(s.Properties); err != nil {
		return Errorf(EINVALID, "properties: %v", ErrorMessage(err))
	}
	if len(s.Uploads) > MaxJobUploads {
		return Errorf(EINVALID, "%d uploaded paths; the limit is %d", len(s.Uploads), MaxJobUploads)
	}
	for p, d := range s.Uploads {
		if err := validateSubmissionPath(p); err != nil {
			return err
		}
		if _, err := ParseDigest(string(d)); err != nil {
			return Errorf(EINVALID, "upload of %s: %v", p, err)
		}
	}
	return nil
}

// validateSubmissionPath checks a path as the job's YAML writes it: any
// text (relative paths may climb with ".."), not empty, at most
// MaxDataPathLength bytes.
func validateSubmissionPath(p string) error {
	if p == "" {
		return Errorf(EINVALID, "an empty path in the submission")
	}
	return ValidateText("path", p, MaxDataPathLength)
}
