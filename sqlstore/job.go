package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hangar-ml/hangar"
)

// JobService stores jobs, pipeline steps and job logs in the tables jobs
// and job_logs (migration 00012). It implements hangar.JobService.
//
// Every change is one write transaction, and write transactions are
// serialised on the audit chain head (DB.write), on SQLite and across
// PostgreSQL servers alike. TransitionJob reads the job, checks the
// transition's conditions and writes it back inside that transaction: a
// compare-and-set, so of two runners claiming a queued job one wins and the
// other gets ECONFLICT. Log appends are not audited (a job's log is its
// own record); a change of status, a create and an archive are.
type JobService struct {
	db *DB
}

var _ hangar.JobService = (*JobService)(nil)

// NewJobService returns the job service of db.
func NewJobService(db *DB) *JobService { return &JobService{db: db} }

// maxActiveJobs caps one ActiveJobs call; maxJobLogRead caps one JobLog
// read, whatever limit the caller asks for.
const (
	maxActiveJobs = 10000
	maxJobLogRead = 4 * hangar.MaxJobLogChunk
)

// jobTarget is the audit target of a job.
func jobTarget(name string) string { return "jobs/" + name }

const jobColumns = `id, workspace, name, type, parent, step, display_name, experiment_name, description, tags, properties,
	compute, status, spec, reuse_key, reused_from, outputs, experiment_id, run_id, error_message, attempt, holder,
	lease_expires, archived, created_by, created_at, started_at, ended_at`

// jobRow is a job with its row id, the key of its lists and logs.
type jobRow struct {
	id  int64
	job *hangar.Job
}

func scanJob(sc rowScanner) (jobRow, error) {
	var (
		r                              jobRow
		j                              hangar.Job
		tags, props, outputs, status   string
		archived                       int64
		lease, created, started, ended dbTime
	)
	if err := sc.Scan(&r.id, &j.Workspace, &j.Name, &j.Type, &j.Parent, &j.Step, &j.DisplayName, &j.ExperimentName,
		&j.Description, &tags, &props, &j.Compute, &status, &j.Spec, &j.ReuseKey, &j.ReusedFrom, &outputs,
		&j.ExperimentID, &j.RunID, &j.Error, &j.Attempt, &j.Holder, &lease, &archived, &j.CreatedBy, &created,
		&started, &ended); err != nil {
		return r, err
	}
	var err error
	if j.Tags, err = decodeDataTags(tags); err != nil {
		return r, fmt.Errorf("job %s: %w", j.Name, err)
	}
	if j.Properties, err = decodeDataTags(props); err != nil {
		return r, fmt.Errorf("job %s: properties: %w", j.Name, err)
	}
	if err := json.Unmarshal([]byte(outputs), &j.Outputs); err != nil {
		return r, fmt.Errorf("job %s: decode outputs: %w", j.Name, err)
	}
	if len(j.Outputs) == 0 {
		j.Outputs = nil
	}
	j.Status = hangar.JobStatus(status)
	j.Archived = archived == 1
	j.LeaseExpires = lease.ptr()
	j.CreatedAt = created.T
	j.StartedAt = started.ptr()
	j.EndedAt = ended.ptr()
	r.job = &j
	return r, nil
}

func encodeJobOutputs(outs map[string]hangar.JobOutput) (string, error) {
	if len(outs) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(outs)
	if err != nil {
		return "", fmt.Errorf("encode outputs: %w", err)
	}
	return string(b), nil
}

// checkJobKey validates a workspace and a job name.
func checkJobKey(workspace, name string) error {
	if err := hangar.ValidateWorkspaceName(workspace); err != nil {
		return err
	}
	return hangar.ValidateJobName(name)
}

// CreateJob is hangar.JobService.CreateJob. A job without a name gets
// hangar.NewJobName; a step without a name gets <pipeline>.<step>, and a
// step without Parent the pipeline's name. Steps belong to a pipeline job
// only. A job created with Parent set is a step added to an existing
// pipeline, or a trial added to a sweep (ENOTFOUND when there is none).
func (s *JobService) CreateJob(ctx context.Context, workspace string, job *hangar.Job, steps []*hangar.Job) error {
	if err := hangar.ValidateWorkspaceName(workspace); err != nil {
		return err
	}
	if job == nil {
		return hangar.Errorf(hangar.EINVALID, "no job to create")
	}
	if job.Name == "" {
		job.Name = hangar.NewJobName()
	}
	if len(steps) > 0 && job.Type != hangar.JobTypePipeline {
		return hangar.Errorf(hangar.EINVALID, "job %s: only a pipeline job has steps", job.Name)
	}
	if len(steps) > hangar.MaxJobSteps {
		return hangar.Errorf(hangar.EINVALID, "job %s: %d steps; the limit is %d", job.Name, len(steps), hangar.MaxJobSteps)
	}
	all := make([]*hangar.Job, 0, 1+len(steps))
	all = append(all, job)
	seen := map[string]bool{job.Name: true}
	for _, st := range steps {
		if st == nil {
			return hangar.Errorf(hangar.EINVALID, "job %s: a nil step", job.Name)
		}
		if st.Parent == "" {
			st.Parent = job.Name
		}
		if st.Parent != job.Name {
			return hangar.Errorf(hangar.EINVALID, "job %s: step %s names parent %q", job.Name, st.Step, st.Parent)
		}
		if st.Name == "" && st.Step != "" {
			st.Name = job.Name + "." + st.Step
		}
		if seen[st.Name] {
			return hangar.Errorf(hangar.EINVALID, "job %s: two jobs named %s", job.Name, st.Name)
		}
		seen[st.Name] = true
		all = append(all, st)
	}
	type enc struct{ tags, props, outputs string }
	encs := make([]enc, len(all))
	for i, j := range all {
		if j.Status == "" {
			j.Status = hangar.JobNotStarted
		}
		if err := j.Validate(); err != nil {
			return err
		}
		var e enc
		var err error
		if e.tags, err = encodeDataTags(j.Tags); err != nil {
			return err
		}
		if e.props, err = encodeDataTags(j.Properties); err != nil {
			return err
		}
		if e.outputs, err = encodeJobOutputs(j.Outputs); err != nil {
			return err
		}
		if err := checkText("reuse_key", j.ReuseKey, "experiment_id", j.ExperimentID, "run_id", j.RunID, "error", j.Error, "holder", j.Holder); err != nil {
			return err
		}
		if j.ReusedFrom != "" {
			if err := hangar.ValidateJobName(j.ReusedFrom); err != nil {
				return err
			}
		}
		encs[i] = e
	}
	actor := hangar.ActorFrom(ctx).Name
	err := s.db.write(ctx, func(tx *wtx) error {
		if err := tx.requireWorkspace(ctx, workspace); err != nil {
			return err
		}
		if job.Parent != "" {
			var typ string
			err := tx.QueryRowContext(ctx, tx.db.rebind(`SELECT type FROM jobs WHERE workspace = ? AND name = ?`), workspace, job.Parent).Scan(&typ)
			if isNoRows(err) {
				return hangar.JobNotFound(job.Parent)
			}
			if err != nil {
				return fmt.Errorf("look up pipeline %s: %w", job.Parent, err)
			}
			if typ != hangar.JobTypePipeline && typ != hangar.JobTypeSweep {
				return hangar.Errorf(hangar.EINVALID, "job %s: parent %s is not a pipeline or sweep job", job.Name, job.Parent)
			}
		}
		now := tx.now.UTC().Truncate(time.Microsecond)
		for i, j := range all {
			_, err := tx.ExecContext(ctx, tx.db.rebind(`INSERT INTO jobs (workspace, name, type, parent, step, display_name,
				experiment_name, description, tags, properties, compute, status, spec, reuse_key, reused_from, outputs,
				experiment_id, run_id, error_message, attempt, holder, lease_expires, archived, log_size, created_by, created_at,
				started_at, ended_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, '', NULL, 0, 0, ?, ?, NULL, ?)`),
				workspace, j.Name, j.Type, j.Parent, j.Step, j.DisplayName, j.ExperimentName, j.Description, encs[i].tags,
				encs[i].props, j.Compute, string(j.Status), j.Spec, j.ReuseKey, j.ReusedFrom, encs[i].outputs,
				j.ExperimentID, j.RunID, j.Error, actor, tx.db.tv(now), endedAt(tx.db, j.Status, now))
			if isUniqueViolation(err) {
				return hangar.Errorf(hangar.ECONFLICT, "job %s already exists in workspace %q", j.Name, workspace)
			}
			if err != nil {
				return fmt.Errorf("insert job %s: %w", j.Name, err)
			}
			if err := tx.audit(ctx, hangar.ActJobWrite, jobTarget(j.Name), workspace); err != nil {
				return err
			}
		}
		for _, j := range all {
			j.Workspace, j.CreatedBy, j.CreatedAt = workspace, actor, now
			j.Attempt, j.Holder, j.LeaseExpires, j.Archived, j.StartedAt, j.EndedAt = 0, "", nil, false, nil, nil
			if j.Status.Terminal() {
				t := now
				j.EndedAt = &t
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("create job %s in workspace %q: %w", job.Name, workspace, err)
	}
	return nil
}

// endedAt is the ended_at of a job created in status: now for a terminal
// status (a job created as already reused, say), NULL otherwise.
func endedAt(db *DB, status hangar.JobStatus, now time.Time) any {
	if status.Terminal() {
		return db.tv(now)
	}
	return nil
}

// Job is hangar.JobService.Job.
func (s *JobService) Job(ctx context.Context, workspace, name string) (*hangar.Job, error) {
	if err := checkJobKey(workspace, name); err != nil {
		return nil, err
	}
	r, err := scanJob(s.db.reader.QueryRowContext(ctx, s.db.rebind(`SELECT `+jobColumns+` FROM jobs WHERE workspace = ? AND name = ?`), workspace, name))
	if isNoRows(err) {
		return nil, hangar.JobNotFound(name)
	}
	if err != nil {
		return nil, fmt.Errorf("get job %s in workspace %q: %w", name, workspace, err)
	}
	return r.job, nil
}

// ListJobs is hangar.JobService.ListJobs: top-level jobs newest first, a
// pipeline's steps in creation order.
func (s *JobService) ListJobs(ctx context.Context, workspace string, f hangar.JobFilter, opt hangar.ListOptions) (*hangar.Page[*hangar.Job], error) {
	if err := hangar.ValidateWorkspaceName(workspace); err != nil {
		return nil, err
	}
	if f.Parent != "" {
		if err := hangar.ValidateJobName(f.Parent); err != nil {
			return nil, err
		}
	}
	for _, st := range f.Statuses {
		if !st.Valid() {
			return nil, hangar.Errorf(hangar.EINVALID, "invalid job status %q", st)
		}
	}
	spec := listSpec[jobRow]{
		name:  "jobs",
		text:  []string{"experiment_name", f.ExperimentName},
		query: `SELECT ` + jobColumns + ` FROM jobs`,
		keys:  []sortKey{{col: "id", kind: keyInt}},
		desc:  f.Parent == "",
		scan:  scanJob,
		key:   func(r jobRow) []any { return []any{r.id} },
	}
	if f.Parent != "" {
		// The steps of one pipeline are another list than the top-level
		// one: a token of either is refused by the other.
		spec.name = "job steps"
	}
	spec.filter(`workspace = ? AND parent = ?`, workspace, f.Parent)
	if len(f.Statuses) > 0 {
		args := make([]any, len(f.Statuses))
		for i, st := range f.Statuses {
			args[i] = string(st)
		}
		spec.filter(`status IN (`+strings.TrimSuffix(strings.Repeat("?, ", len(args)), ", ")+`)`, args...)
	}
	if f.ExperimentName != "" {
		spec.filter(`experiment_name = ?`, f.ExperimentName)
	}
	if !f.IncludeArchived {
		spec.filter(`archived = 0`)
	}
	return ecListRows(ctx, s.db, spec, opt, func(r jobRow) *hangar.Job { return r.job }, "list jobs", workspace)
}

// transitionAllowed reports why a job in status cannot take t, or "":
// a terminal job changes no more, and a job whose cancel was requested
// only ends. Within these rules t's From decides (the scheduler queues a
// job whose runner's lease expired again, for instance).
func transitionAllowed(status hangar.JobStatus, t *hangar.JobTransition) string {
	if status.Terminal() {
		// One change only: the scheduler records, on a completed job's
		// outputs, the data asset versions they were registered as.
		if status == hangar.JobCompleted && t.To == "" && t.Outputs != nil && t.Holder == "" && t.Lease == 0 && !t.Release &&
			t.Spec == "" && t.ReuseKey == "" && t.ReusedFrom == "" && t.RunID == "" && t.ExperimentID == "" && t.Error == "" {
			return ""
		}
		return "it is final"
	}
	if t.To == "" || t.To == status {
		return ""
	}
	if t.To == hangar.JobNotStarted {
		return "a job never goes back to " + string(hangar.JobNotStarted)
	}
	if status == hangar.JobCancelRequested && !t.To.Terminal() {
		return "its cancel was requested: it can only end"
	}
	return ""
}

// TransitionJob is hangar.JobService.TransitionJob. Besides t's own
// conditions, a terminal job changes no more, a job whose cancel was
// requested only moves to a terminal status, and no job moves back to
// NotStarted: ECONFLICT.
func (s *JobService) TransitionJob(ctx context.Context, workspace, name string, t hangar.JobTransition) (*hangar.Job, error) {
	if err := checkJobKey(workspace, name); err != nil {
		return nil, err
	}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	if err := checkText("reuse_key", t.ReuseKey, "experiment_id", t.ExperimentID, "run_id", t.RunID); err != nil {
		return nil, err
	}
	var outputs string
	if t.Outputs != nil {
		var err error
		if outputs, err = encodeJobOutputs(t.Outputs); err != nil {
			return nil, err
		}
	}
	var out *hangar.Job
	err := s.db.write(ctx, func(tx *wtx) error {
		r, err := scanJob(tx.QueryRowContext(ctx, tx.db.rebind(`SELECT `+jobColumns+` FROM jobs WHERE workspace = ? AND name = ?`), workspace, name))
		if isNoRows(err) {
			return hangar.JobNotFound(name)
		}
		if err != nil {
			return fmt.Errorf("read: %w", err)
		}
		j := r.job
		now := tx.now.UTC().Truncate(time.Microsecond)
		if len(t.From) > 0 && !slices.Contains(t.From, j.Status) {
			return hangar.Errorf(hangar.ECONFLICT, "job %s is %s, not %s", name, j.Status, joinStatuses(t.From))
		}
		if why := transitionAllowed(j.Status, &t); why != "" {
			return hangar.Errorf(hangar.ECONFLICT, "job %s is %s: %s", name, j.Status, why)
		}
		leased := j.Holder != "" && j.LeaseExpires != nil && j.LeaseExpires.After(now)
		if t.Holder != "" && leased && j.Holder != t.Holder {
			return hangar.Errorf(hangar.ECONFLICT, "job %s is held by %s until %s", name, j.Holder, j.LeaseExpires.Format(time.RFC3339))
		}
		from := j.Status
		if t.To != "" && t.To != j.Status {
			if t.To == hangar.JobPreparing {
				j.Attempt++
			}
			if t.To == hangar.JobRunning && j.StartedAt == nil {
				j.StartedAt = &now
			}
			j.Status = t.To
		}
		switch {
		case j.Status.Terminal():
			j.Holder, j.LeaseExpires = "", nil
			if j.EndedAt == nil {
				j.EndedAt = &now
			}
		case t.Release:
			j.Holder, j.LeaseExpires = "", nil
		case t.Lease > 0:
			exp := now.Add(t.Lease)
			j.Holder, j.LeaseExpires = t.Holder, &exp
		}
		if t.Error != "" {
			j.Error = t.Error
		}
		if t.Outputs != nil {
			j.Outputs = t.Outputs
			if len(j.Outputs) == 0 {
				j.Outputs = nil
			}
		} else {
			if outputs, err = encodeJobOutputs(j.Outputs); err != nil {
				return err
			}
		}
		for _, f := range []struct {
			dst *string
			v   string
		}{{&j.ReusedFrom, t.ReusedFrom}, {&j.ExperimentID, t.ExperimentID}, {&j.RunID, t.RunID}, {&j.Spec, t.Spec}, {&j.ReuseKey, t.ReuseKey}} {
			if f.v != "" {
				*f.dst = f.v
			}
		}
		_, err = tx.ExecContext(ctx, tx.db.rebind(`UPDATE jobs SET status = ?, spec = ?, reuse_key = ?, reused_from = ?,
			outputs = ?, experiment_id = ?, run_id = ?, error_message = ?, attempt = ?, holder = ?, lease_expires = ?,
			started_at = ?, ended_at = ? WHERE id = ?`),
			string(j.Status), j.Spec, j.ReuseKey, j.ReusedFrom, outputs, j.ExperimentID, j.RunID, j.Error, j.Attempt,
			j.Holder, tx.db.tvPtr(j.LeaseExpires), tx.db.tvPtr(j.StartedAt), tx.db.tvPtr(j.EndedAt), r.id)
		if err != nil {
			return fmt.Errorf("update: %w", err)
		}
		if j.Status != from {
			if err := tx.audit(ctx, hangar.ActJobWrite, jobTarget(name), workspace); err != nil {
				return err
			}
		}
		out = j
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("transition job %s in workspace %q: %w", name, workspace, err)
	}
	return out, nil
}

func joinStatuses(ss []hangar.JobStatus) string {
	parts := make([]string, len(ss))
	for i, s := range ss {
		parts[i] = string(s)
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return "one of " + strings.Join(parts, ", ")
}

// SetJobArchived is hangar.JobService.SetJobArchived. A step is archived
// with its pipeline: EINVALID.
func (s *JobService) SetJobArchived(ctx context.Context, workspace, name string, archived bool) (*hangar.Job, error) {
	if err := checkJobKey(workspace, name); err != nil {
		return nil, err
	}
	err := s.db.write(ctx, func(tx *wtx) error {
		var (
			parent string
			was    int64
		)
		err := tx.QueryRowContext(ctx, tx.db.rebind(`SELECT parent, archived FROM jobs WHERE workspace = ? AND name = ?`), workspace, name).Scan(&parent, &was)
		if isNoRows(err) {
			return hangar.JobNotFound(name)
		}
		if err != nil {
			return fmt.Errorf("read: %w", err)
		}
		if parent != "" {
			return hangar.Errorf(hangar.EINVALID, "job %s is a step of pipeline %s: archive the pipeline", name, parent)
		}
		if (was == 1) == archived {
			return nil
		}
		if _, err := tx.ExecContext(ctx, tx.db.rebind(`UPDATE jobs SET archived = ? WHERE workspace = ? AND name = ?`), ecBool(archived), workspace, name); err != nil {
			return fmt.Errorf("update: %w", err)
		}
		return tx.audit(ctx, hangar.ActJobWrite, jobTarget(name), workspace)
	})
	if err != nil {
		return nil, fmt.Errorf("archive job %s in workspace %q: %w", name, workspace, err)
	}
	return s.Job(ctx, workspace, name)
}

// ReusableJob is hangar.JobService.ReusableJob. Errors: ENOTFOUND,
// EINVALID (an empty key).
func (s *JobService) ReusableJob(ctx context.Context, workspace, reuseKey string) (*hangar.Job, error) {
	if err := hangar.ValidateWorkspaceName(workspace); err != nil {
		return nil, err
	}
	if reuseKey == "" {
		return nil, hangar.Errorf(hangar.EINVALID, "no reuse key")
	}
	if err := checkText("reuse_key", reuseKey); err != nil {
		return nil, err
	}
	r, err := scanJob(s.db.reader.QueryRowContext(ctx, s.db.rebind(`SELECT `+jobColumns+` FROM jobs
		WHERE workspace = ? AND reuse_key = ? AND status = ? AND reused_from = '' ORDER BY ended_at DESC, id DESC LIMIT 1`),
		workspace, reuseKey, string(hangar.JobCompleted)))
	if isNoRows(err) {
		return nil, hangar.Errorf(hangar.ENOTFOUND, "no completed job with reuse key %s in workspace %q", reuseKey, workspace)
	}
	if err != nil {
		return nil, fmt.Errorf("find a reusable job in workspace %q: %w", workspace, err)
	}
	return r.job, nil
}

// ActiveJobs is hangar.JobService.ActiveJobs. A limit above 10000 is
// taken as 10000. Errors: EINVALID (limit < 1).
func (s *JobService) ActiveJobs(ctx context.Context, limit int) ([]*hangar.Job, error) {
	if limit < 1 {
		return nil, hangar.Errorf(hangar.EINVALID, "invalid limit %d: want at least 1", limit)
	}
	limit = min(limit, maxActiveJobs)
	rows, err := s.db.reader.QueryContext(ctx, s.db.rebind(`SELECT `+jobColumns+` FROM jobs
		WHERE status NOT IN (?, ?, ?) ORDER BY id LIMIT ?`),
		string(hangar.JobCompleted), string(hangar.JobFailed), string(hangar.JobCanceled), limit)
	if err != nil {
		return nil, fmt.Errorf("list active jobs: %w", err)
	}
	out := []*hangar.Job{}
	for rows.Next() {
		r, err := scanJob(rows)
		if err != nil {
			return nil, fmt.Errorf("list active jobs: %w", closeRows(rows, err))
		}
		out = append(out, r.job)
	}
	if err := closeRows(rows, nil); err != nil {
		return nil, fmt.Errorf("list active jobs: %w", err)
	}
	return out, nil
}

// AppendJobLog is hangar.JobService.AppendJobLog. An empty append only
// checks that the job exists.
func (s *JobService) AppendJobLog(ctx context.Context, workspace, name string, data []byte) error {
	if err := checkJobKey(workspace, name); err != nil {
		return err
	}
	if len(data) > hangar.MaxJobLogChunk {
		return hangar.Errorf(hangar.EINVALID, "job %s: a log chunk of %d bytes; the limit is %d", name, len(data), hangar.MaxJobLogChunk)
	}
	err := s.db.write(ctx, func(tx *wtx) error {
		var id, size int64
		err := tx.QueryRowContext(ctx, tx.db.rebind(`SELECT id, log_size FROM jobs WHERE workspace = ? AND name = ?`), workspace, name).Scan(&id, &size)
		if isNoRows(err) {
			return hangar.JobNotFound(name)
		}
		if err != nil {
			return fmt.Errorf("read: %w", err)
		}
		if len(data) == 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, tx.db.rebind(`INSERT INTO job_logs (job_id, off, data) VALUES (?, ?, ?)`), id, size, data); err != nil {
			return fmt.Errorf("insert chunk: %w", err)
		}
		if _, err := tx.ExecContext(ctx, tx.db.rebind(`UPDATE jobs SET log_size = ? WHERE id = ?`), size+int64(len(data)), id); err != nil {
			return fmt.Errorf("update log size: %w", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("append to the log of job %s in workspace %q: %w", name, workspace, err)
	}
	return nil
}

// JobLog is hangar.JobService.JobLog. A limit above 4 MiB is taken as
// 4 MiB; an offset at the log's end returns no bytes and the same offset.
// Errors: ENOTFOUND, EINVALID (a negative offset or one past the log's
// end, limit < 1).
func (s *JobService) JobLog(ctx context.Context, workspace, name string, offset int64, limit int) ([]byte, int64, error) {
	if err := checkJobKey(workspace, name); err != nil {
		return nil, 0, err
	}
	if offset < 0 {
		return nil, 0, hangar.Errorf(hangar.EINVALID, "invalid log offset %d", offset)
	}
	if limit < 1 {
		return nil, 0, hangar.Errorf(hangar.EINVALID, "invalid log limit %d: want at least 1", limit)
	}
	limit = min(limit, maxJobLogRead)
	var id, size int64
	err := s.db.reader.QueryRowContext(ctx, s.db.rebind(`SELECT id, log_size FROM jobs WHERE workspace = ? AND name = ?`), workspace, name).Scan(&id, &size)
	if isNoRows(err) {
		return nil, 0, hangar.JobNotFound(name)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("read the log of job %s in workspace %q: %w", name, workspace, err)
	}
	if offset > size {
		return nil, 0, hangar.Errorf(hangar.EINVALID, "log offset %d is past the end of job %s's log (%d bytes)", offset, name, size)
	}
	end := min(offset+int64(limit), size)
	if offset == end {
		return []byte{}, offset, nil
	}
	// Chunks are immutable once appended and size was read before them, so
	// the chunks up to end are all there, whatever is appended meanwhile.
	rows, err := s.db.reader.QueryContext(ctx, s.db.rebind(`SELECT off, data FROM job_logs WHERE job_id = ?
		AND off >= COALESCE((SELECT MAX(off) FROM job_logs WHERE job_id = ? AND off <= ?), 0) AND off < ? ORDER BY off`),
		id, id, offset, end)
	if err != nil {
		return nil, 0, fmt.Errorf("read the log of job %s in workspace %q: %w", name, workspace, err)
	}
	out := make([]byte, 0, end-offset)
	for rows.Next() {
		var (
			off  int64
			data []byte
		)
		if err := rows.Scan(&off, &data); err != nil {
			return nil, 0, fmt.Errorf("read the log of job %s: %w", name, closeRows(rows, err))
		}
		lo := max(offset-off, 0)
		hi := min(end-off, int64(len(data)))
		if lo < hi {
			out = append(out, data[lo:hi]...)
		}
	}
	if err := closeRows(rows, nil); err != nil {
		return nil, 0, fmt.Errorf("read the log of job %s: %w", name, err)
	}
	if int64(len(out)) != end-offset {
		return nil, 0, fmt.Errorf("read the log of job %s: got %d bytes from %d, want %d", name, len(out), offset, end-offset)
	}
	return out, end, nil
}
