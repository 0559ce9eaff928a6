package httpapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/hangar-ml/hangar"
)

// Jobs under /api/v1/workspaces/{ws}/jobs: submit (through
// Server.JobSubmitter, which resolves the YAML into jobs), read, list,
// cancel, archive and restore, and follow a job's log; and the runner's
// control routes — take or renew a lease and move the job forward, finish
// it, append to its log — which set only what a runner may: never the
// spec, the reuse key, the reused-from job nor the run (the in-process
// scheduler sets those through the store).

// JobSubmitter turns a submission into stored jobs: package jobrun
// resolves the YAML, its components and its uploads, plans a pipeline's
// steps and creates the jobs. Errors: EINVALID (the YAML), ENOTFOUND (an
// asset it names), ECONFLICT (the name is taken).
type JobSubmitter interface {
	SubmitJob(ctx context.Context, workspace string, s *hangar.JobSubmission) (*hangar.Job, error)
}

// Long-polling a job's log.
const (
	// MaxJobLogWait bounds the wait parameter of a log read.
	MaxJobLogWait = 30 * time.Second
	// jobLogPoll is how often a waiting log read looks again: the store
	// has no notifications, and four cheap reads a second per waiting
	// client cost less than a notification path would.
	jobLogPoll = 250 * time.Millisecond
)

// Headers of the job log routes.
const (
	// HeaderJobLogOffset is the offset after the bytes of a log answer:
	// the next read's offset.
	HeaderJobLogOffset = "Hangar-Log-Offset"
	// HeaderJobStatus is the job's status when its log was read.
	HeaderJobStatus = "Hangar-Job-Status"
	// HeaderJobTerminal is "true" when the job had ended when its log was
	// read: the answer holds the log's last bytes from the offset (up to
	// MaxJobLogChunk of them; read on until an empty answer).
	HeaderJobTerminal = "Hangar-Job-Terminal"
	// HeaderJobHolder names the lease holder that appends to a log.
	HeaderJobHolder = "Hangar-Job-Holder"
)

// JobLeaseRequest is the body of POST …/jobs/{name}/lease: a runner takes
// or renews the lease of a job in one of From (any when empty) and moves
// it To Preparing, Running or Finalizing ("" renews only: a heartbeat).
type JobLeaseRequest struct {
	Holder       string             `json:"holder"`
	LeaseSeconds int                `json:"lease_seconds"`
	From         []hangar.JobStatus `json:"from,omitempty"`
	To           hangar.JobStatus   `json:"to,omitempty"`
}

// JobFinishRequest is the body of POST …/jobs/{name}/finish: the holder
// ends the job it holds as Completed, Failed or Canceled. The workspace
// must own each output's manifest and every file it lists (uploaded to it).
type JobFinishRequest struct {
	Holder  string                      `json:"holder"`
	Status  hangar.JobStatus            `json:"status"`
	Error   string                      `json:"error,omitempty"`
	Outputs map[string]hangar.JobOutput `json:"outputs,omitempty"`
}

// JobLogChunk is one answer of a job log read.
type JobLogChunk struct {
	Data []byte
	// Next is the offset to read from next.
	Next int64
	// Status is the job's status when the log was read; Terminal says
	// whether it had ended then.
	Status   hangar.JobStatus
	Terminal bool
}

// runnerStatuses are the statuses a runner's lease moves a job to.
var runnerStatuses = []hangar.JobStatus{"", hangar.JobPreparing, hangar.JobRunning, hangar.JobFinalizing}

// activeStatuses are the statuses of a job that has not ended.
func activeStatuses() []hangar.JobStatus {
	var out []hangar.JobStatus
	for _, s := range hangar.JobStatuses {
		if !s.Terminal() {
			out = append(out, s)
		}
	}
	return out
}

func (s *Server) jobs() (hangar.JobService, error) {
	if s.Jobs == nil {
		return nil, hangar.Errorf(hangar.ENOTIMPLEMENTED, "jobs are not enabled on this server")
	}
	return s.Jobs, nil
}

// jobEvent tells the in-process scheduler about a change of a job.
func (s *Server) jobEvent(workspace, name string) {
	if s.JobEvents != nil {
		s.JobEvents(workspace, name)
	}
}

// submitJob hands the submission to the JobSubmitter and answers the job
// it created (201). The body may be larger than other JSON bodies: the
// YAML files of a pipeline travel in it.
func (s *Server) submitJob(w http.ResponseWriter, r *http.Request, c *caller) error {
	if s.JobSubmitter == nil {
		return hangar.Errorf(hangar.ENOTIMPLEMENTED, "this server does not run jobs: it has no job submitter")
	}
	if c.principal != nil && c.principal.job != "" {
		return hangar.Errorf(hangar.EFORBIDDEN, "this token is the credential of job %s: a job's token submits no jobs", c.principal.job)
	}
	var sub hangar.JobSubmission
	if err := s.decodeBodyLimit(w, r, &sub, max(s.MaxBodyBytes, 2*hangar.MaxJobSubmissionSize)); err != nil {
		return err
	}
	if err := sub.Validate(); err != nil {
		return err
	}
	job, err := s.JobSubmitter.SubmitJob(r.Context(), c.workspace, &sub)
	if err != nil {
		return err
	}
	s.jobEvent(c.workspace, job.Name)
	return writeJSON(w, http.StatusCreated, job)
}

// decodeBodyLimit is decodeBody with another bound than MaxBodyBytes.
func (s *Server) decodeBodyLimit(w http.ResponseWriter, r *http.Request, v any, limit int64) error {
	if err := checkJSONContentType(r.Header.Get("Content-Type")); err != nil {
		return err
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if !errors.As(err, &mbe) && !errors.Is(err, os.ErrDeadlineExceeded) && r.Context().Err() != nil {
			return err
		}
		return decodeError(err)
	}
	return decodeJSON(bytes.NewReader(body), v)
}

// jobQuery is the filter of a job list.
type jobQuery struct {
	workspace string
	filter    hangar.JobFilter
}

// listJobs lists top-level jobs newest first, or with parent the steps of
// a pipeline; status (repeated), experiment_name and include_archived
// filter.
func (s *Server) listJobs(w http.ResponseWriter, r *http.Request, c *caller) error {
	js, err := s.jobs()
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := jobQuery{c.workspace, hangar.JobFilter{Parent: q.Get("parent"), ExperimentName: q.Get("experiment_name")}}
	for _, st := range q["status"] {
		f.filter.Statuses = append(f.filter.Statuses, hangar.JobStatus(st))
	}
	if v := q.Get("include_archived"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return hangar.Errorf(hangar.EINVALID, "include_archived must be true or false, got %q", truncate(v, 32))
		}
		f.filter.IncludeArchived = b
	}
	return servePage(w, r, f, func(ctx context.Context, f jobQuery, opt hangar.ListOptions) (*hangar.Page[*hangar.Job], error) {
		return js.ListJobs(ctx, f.workspace, f.filter, opt)
	})
}

func (s *Server) getJob(w http.ResponseWriter, r *http.Request, c *caller) error {
	js, err := s.jobs()
	if err != nil {
		return err
	}
	j, err := js.Job(r.Context(), c.workspace, r.PathValue("name"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, j)
}

// cancelJob asks for a job's cancel: a job that has not ended moves to
// CancelRequested and the scheduler ends it; a job whose cancel was
// requested already is answered as it is; an ended job is ECONFLICT.
func (s *Server) cancelJob(w http.ResponseWriter, r *http.Request, c *caller) error {
	js, err := s.jobs()
	if err != nil {
		return err
	}
	ctx, name := r.Context(), r.PathValue("name")
	if err := s.ownJob(ctx, js, c, name); err != nil {
		return err
	}
	from := activeStatuses()
	j, err := js.TransitionJob(ctx, c.workspace, name, hangar.JobTransition{From: from, To: hangar.JobCancelRequested})
	if err != nil {
		return err
	}
	s.jobEvent(c.workspace, name)
	return writeJSON(w, http.StatusOK, j)
}

func (s *Server) archiveJob(w http.ResponseWriter, r *http.Request, c *caller) error {
	return s.setJobArchived(w, r, c, true)
}

func (s *Server) restoreJob(w http.ResponseWriter, r *http.Request, c *caller) error {
	return s.setJobArchived(w, r, c, false)
}

func (s *Server) setJobArchived(w http.ResponseWriter, r *http.Request, c *caller, archived bool) error {
	js, err := s.jobs()
	if err != nil {
		return err
	}
	if err := s.ownJob(r.Context(), js, c, r.PathValue("name")); err != nil {
		return err
	}
	j, err := js.SetJobArchived(r.Context(), c.workspace, r.PathValue("name"), archived)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, j)
}

// readJobLog answers the job's log from ?offset= (0 by default), at most
// MaxJobLogChunk bytes, as octet-stream with the next offset, the job's
// status and whether it ended in headers. With ?wait=S (seconds, at most
// 30) it waits for bytes past offset until the job ends or S pass.
func (s *Server) readJobLog(w http.ResponseWriter, r *http.Request, c *caller) error {
	js, err := s.jobs()
	if err != nil {
		return err
	}
	q := r.URL.Query()
	var offset int64
	if v := q.Get("offset"); v != "" {
		if offset, err = strconv.ParseInt(v, 10, 64); err != nil || offset < 0 {
			return hangar.Errorf(hangar.EINVALID, "offset must be a whole number of bytes, at least 0, got %q", truncate(v, 32))
		}
	}
	var wait time.Duration
	if v := q.Get("wait"); v != "" {
		sec, err := strconv.ParseFloat(v, 64)
		if err != nil || sec < 0 || sec > MaxJobLogWait.Seconds() {
			return hangar.Errorf(hangar.EINVALID, "wait must be a number of seconds from 0 to %d, got %q", int(MaxJobLogWait.Seconds()), truncate(v, 32))
		}
		wait = time.Duration(sec * float64(time.Second))
	}
	ctx, name := r.Context(), r.PathValue("name")
	deadline := time.Now().Add(wait)
	for {
		// The status is read before the log: when it says the job ended,
		// the log read after it holds everything the job wrote.
		j, err := js.Job(ctx, c.workspace, name)
		if err != nil {
			return err
		}
		data, next, err := js.JobLog(ctx, c.workspace, name, offset, hangar.MaxJobLogChunk)
		if err != nil {
			return err
		}
		if len(data) > 0 || j.Status.Terminal() || !time.Now().Before(deadline) {
			h := w.Header()
			h.Set("Content-Type", "application/octet-stream")
			h.Set("Content-Length", strconv.Itoa(len(data)))
			h.Set(HeaderJobLogOffset, strconv.FormatInt(next, 10))
			h.Set(HeaderJobStatus, string(j.Status))
			h.Set(HeaderJobTerminal, strconv.FormatBool(j.Status.Terminal()))
			w.WriteHeader(http.StatusOK)
			if _, err := w.Write(data); err != nil {
				return errWritten{fmt.Errorf("write the log of job %s: %w", name, err)}
			}
			return nil
		}
		t := time.NewTimer(min(jobLogPoll, time.Until(deadline)))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// appendJobLog appends the octet-stream body (at most MaxJobLogChunk
// bytes) to the log of a job that the holder named in the
// Hangar-Job-Holder header holds.
func (s *Server) appendJobLog(w http.ResponseWriter, r *http.Request, c *caller) error {
	js, err := s.jobs()
	if err != nil {
		return err
	}
	ctx, name := r.Context(), r.PathValue("name")
	if err := s.ownJob(ctx, js, c, name); err != nil {
		return err
	}
	holder := r.Header.Get(HeaderJobHolder)
	if holder == "" {
		return hangar.Errorf(hangar.EINVALID, "name the lease holder in the %s header", HeaderJobHolder)
	}
	if r.ContentLength > hangar.MaxJobLogChunk {
		// A body just over the limit is read and dropped, so the client,
		// still sending it, gets the 413 rather than a reset connection;
		// a far larger one is not read (the connection closes).
		if r.ContentLength <= 2*hangar.MaxJobLogChunk {
			io.Copy(io.Discard, io.LimitReader(r.Body, 2*hangar.MaxJobLogChunk))
		}
		return hangar.Errorf(hangar.ETOOLARGE, "a log chunk of %d bytes; the limit is %d", r.ContentLength, hangar.MaxJobLogChunk)
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, hangar.MaxJobLogChunk))
	if err != nil {
		return bodyEndedEarly(r, err)
	}
	j, err := js.Job(ctx, c.workspace, name)
	if err != nil {
		return err
	}
	if j.Holder != holder {
		return notHolder(j, holder)
	}
	if err := js.AppendJobLog(ctx, c.workspace, name, data); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// notHolder is the ECONFLICT of a runner that does not hold the job.
func notHolder(j *hangar.Job, holder string) error {
	if j.Holder == "" {
		return hangar.Errorf(hangar.ECONFLICT, "job %s is %s and held by nobody, not by %s", j.Name, j.Status, holder)
	}
	return hangar.Errorf(hangar.ECONFLICT, "job %s is %s and held by %s, not by %s", j.Name, j.Status, j.Holder, holder)
}

// leaseJob takes or renews a job's lease for a runner and moves it as the
// request says (JobLeaseRequest), answering the job: a runner sees a
// requested cancel in its status.
func (s *Server) leaseJob(w http.ResponseWriter, r *http.Request, c *caller) error {
	js, err := s.jobs()
	if err != nil {
		return err
	}
	if err := s.ownJob(r.Context(), js, c, r.PathValue("name")); err != nil {
		return err
	}
	var req JobLeaseRequest
	if err := s.decodeBody(w, r, &req); err != nil {
		return err
	}
	if req.Holder == "" {
		return hangar.Errorf(hangar.EINVALID, "a lease needs a holder")
	}
	if req.LeaseSeconds < 1 || time.Duration(req.LeaseSeconds)*time.Second > hangar.MaxJobLeaseTime {
		return hangar.Errorf(hangar.EINVALID, "lease_seconds must be from 1 to %d, got %d", int(hangar.MaxJobLeaseTime.Seconds()), req.LeaseSeconds)
	}
	if !slices.Contains(runnerStatuses, req.To) {
		return hangar.Errorf(hangar.EINVALID, "a runner moves a job to Preparing, Running or Finalizing, or renews its lease (no status), not to %q", truncate(string(req.To), 32))
	}
	ctx, name := r.Context(), r.PathValue("name")
	j, err := js.TransitionJob(ctx, c.workspace, name, hangar.JobTransition{
		From: req.From, To: req.To, Holder: req.Holder, Lease: time.Duration(req.LeaseSeconds) * time.Second})
	if err != nil {
		return err
	}
	if req.To != "" {
		s.jobEvent(c.workspace, name)
	}
	return writeJSON(w, http.StatusOK, j)
}

// finishJob ends a job its holder holds (JobFinishRequest), once the
// workspace is known to own the content of every output (ownedOutputs).
func (s *Server) finishJob(w http.ResponseWriter, r *http.Request, c *caller) error {
	js, err := s.jobs()
	if err != nil {
		return err
	}
	if err := s.ownJob(r.Context(), js, c, r.PathValue("name")); err != nil {
		return err
	}
	var req JobFinishRequest
	if err := s.decodeBody(w, r, &req); err != nil {
		return err
	}
	if req.Holder == "" {
		return hangar.Errorf(hangar.EINVALID, "name the lease holder that finishes the job")
	}
	if !req.Status.Terminal() {
		return hangar.Errorf(hangar.EINVALID, "a job finishes as Completed, Failed or Canceled, not %q", truncate(string(req.Status), 32))
	}
	ctx, name := r.Context(), r.PathValue("name")
	cur, err := js.Job(ctx, c.workspace, name)
	if err != nil {
		return err
	}
	if cur.Holder != req.Holder {
		return notHolder(cur, req.Holder)
	}
	if err := s.ownedOutputs(ctx, c.workspace, req.Outputs); err != nil {
		return err
	}
	// From keeps a job the scheduler queued again meanwhile from being
	// finished by its old runner; the store checks the holder again.
	j, err := js.TransitionJob(ctx, c.workspace, name, hangar.JobTransition{
		From:   []hangar.JobStatus{hangar.JobPreparing, hangar.JobRunning, hangar.JobFinalizing, hangar.JobCancelRequested},
		To:     req.Status,
		Holder: req.Holder, Error: req.Error, Outputs: req.Outputs})
	if err != nil {
		return err
	}
	s.jobEvent(c.workspace, name)
	return writeJSON(w, http.StatusOK, j)
}

// ownedOutputs checks that the workspace owns the manifest of every output
// a runner reports and every file it lists, as `data create` does
// (ownedManifest): the caller chose the digests — it may be the job's own
// code holding the job's token — and the outputs become downloadable from
// the job, and named ones data asset versions of the workspace
// (jobrun.RegisteringJobs), so another workspace's content must not get in
// by its digest. Errors: ENOTFOUND (content the workspace does not own,
// answered as content stored nowhere), EINVALID (not a manifest),
// ENOTIMPLEMENTED (a server without an artifact store), naming the output.
func (s *Server) ownedOutputs(ctx context.Context, workspace string, outs map[string]hangar.JobOutput) error {
	for _, name := range slices.Sorted(maps.Keys(outs)) {
		d := outs[name].Manifest
		if d == "" {
			continue
		}
		bs, err := s.blobStore()
		if err != nil {
			return err
		}
		if _, _, err := s.ownedManifest(ctx, bs, workspace, d); err != nil {
			// The answer names the output: the client sees the error's
			// message, not the context wrapped around it.
			if code := hangar.ErrorCode(err); code == hangar.ENOTFOUND || code == hangar.EINVALID {
				return hangar.Errorf(code, "output %s: %s", truncate(name, 64), hangar.ErrorMessage(err))
			}
			return fmt.Errorf("output %s: %w", truncate(name, 64), err)
		}
	}
	return nil
}

// Client.

var _ JobSubmitter = (*Client)(nil)

func jobsPath(workspace string) string { return pathf("/api/v1/workspaces/%s/jobs", workspace) }

func jobPath(workspace, name, suffix string) string {
	return pathf("/api/v1/workspaces/%s/jobs/%s", workspace, name) + suffix
}

// SubmitJob submits a job's YAML and what it refers to, and returns the
// job the server created.
func (c *Client) SubmitJob(ctx context.Context, workspace string, s *hangar.JobSubmission) (*hangar.Job, error) {
	var j hangar.Job
	if err := c.call(ctx, http.MethodPost, jobsPath(workspace), nil, s, &j); err != nil {
		return nil, err
	}
	return &j, nil
}

// Job returns a job.
func (c *Client) Job(ctx context.Context, workspace, name string) (*hangar.Job, error) {
	var j hangar.Job
	if err := c.call(ctx, http.MethodGet, jobPath(workspace, name, ""), nil, nil, &j); err != nil {
		return nil, err
	}
	return &j, nil
}

// ListJobs lists a page of jobs (hangar.JobFilter).
func (c *Client) ListJobs(ctx context.Context, workspace string, f hangar.JobFilter, opt hangar.ListOptions) (*hangar.Page[*hangar.Job], error) {
	q := url.Values{}
	if f.Parent != "" {
		q.Set("parent", f.Parent)
	}
	for _, s := range f.Statuses {
		q.Add("status", string(s))
	}
	if f.ExperimentName != "" {
		q.Set("experiment_name", f.ExperimentName)
	}
	if f.IncludeArchived {
		q.Set("include_archived", "true")
	}
	return listPage[*hangar.Job](ctx, c, jobsPath(workspace), q, opt)
}

// CancelJob asks for a job's cancel and returns the job.
func (c *Client) CancelJob(ctx context.Context, workspace, name string) (*hangar.Job, error) {
	return c.jobPost(ctx, workspace, name, "/cancel", nil)
}

// SetJobArchived archives or restores a top-level job.
func (c *Client) SetJobArchived(ctx context.Context, workspace, name string, archived bool) (*hangar.Job, error) {
	if archived {
		return c.jobPost(ctx, workspace, name, "/archive", nil)
	}
	return c.jobPost(ctx, workspace, name, "/restore", nil)
}

// LeaseJob takes or renews a job's lease for a runner (JobLeaseRequest).
func (c *Client) LeaseJob(ctx context.Context, workspace, name string, req JobLeaseRequest) (*hangar.Job, error) {
	return c.jobPost(ctx, workspace, name, "/lease", req)
}

// FinishJob ends a job its holder holds (JobFinishRequest).
func (c *Client) FinishJob(ctx context.Context, workspace, name string, req JobFinishRequest) (*hangar.Job, error) {
	return c.jobPost(ctx, workspace, name, "/finish", req)
}

func (c *Client) jobPost(ctx context.Context, workspace, name, suffix string, in any) (*hangar.Job, error) {
	var j hangar.Job
	if err := c.call(ctx, http.MethodPost, jobPath(workspace, name, suffix), nil, in, &j); err != nil {
		return nil, err
	}
	return &j, nil
}

// AppendJobLog appends data (at most hangar.MaxJobLogChunk bytes) to the
// log of a job that holder holds.
func (c *Client) AppendJobLog(ctx context.Context, workspace, name, holder string, data []byte) error {
	path := jobPath(workspace, name, "/logs")
	req, err := c.newRequest(ctx, http.MethodPost, path, nil, bytes.NewReader(data))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set(HeaderJobHolder, holder)
	resp, err := c.send(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return nil
}

// JobLog reads a job's log from offset; with wait > 0 (at most
// MaxJobLogWait) the server waits up to wait for bytes to come while the
// job runs.
func (c *Client) JobLog(ctx context.Context, workspace, name string, offset int64, wait time.Duration) (*JobLogChunk, error) {
	path := jobPath(workspace, name, "/logs")
	q := url.Values{"offset": {strconv.FormatInt(offset, 10)}}
	if wait > 0 {
		q.Set("wait", strconv.FormatFloat(wait.Seconds(), 'f', -1, 64))
	}
	req, err := c.newRequest(ctx, http.MethodGet, path, q, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.send(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, hangar.MaxJobLogChunk+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: read the log: %w", path, err)
	}
	next, err := strconv.ParseInt(resp.Header.Get(HeaderJobLogOffset), 10, 64)
	if err != nil {
		return nil, fmt.Errorf("GET %s: bad %s header %q", path, HeaderJobLogOffset, resp.Header.Get(HeaderJobLogOffset))
	}
	return &JobLogChunk{Data: data, Next: next, Status: hangar.JobStatus(resp.Header.Get(HeaderJobStatus)),
		Terminal: resp.Header.Get(HeaderJobTerminal) == "true"}, nil
}

// ownJob refuses a job's token (hangar.Token.Job) acting on another job:
// it acts on its own job and, for a pipeline, that pipeline's steps only.
// Other callers pass. Errors: EFORBIDDEN, and those of reading the job.
func (s *Server) ownJob(ctx context.Context, js hangar.JobService, c *caller, name string) error {
	if c.principal == nil || c.principal.job == "" || name == c.principal.job {
		return nil
	}
	j, err := js.Job(ctx, c.workspace, name)
	if err != nil {
		return err
	}
	if j.Parent != "" && j.Parent == c.principal.job {
		return nil
	}
	return hangar.Errorf(hangar.EFORBIDDEN, "this token is the credential of job %s: it acts on that job and its steps only, not on job %s", c.principal.job, name)
}
