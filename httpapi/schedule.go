package httpapi

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/jobspec"
	"github.com/hangar-ml/hangar/schedule"
)

// Schedules (schedule.go at the root, package schedule) under
// /api/v1/workspaces/{ws}/:
//
//	POST   schedules                    create from a ScheduleSubmission   schedules/write (+ jobs/write)
//	GET    schedules                    list by name                       schedules/read
//	GET    schedules/{name}             one, with its next due times and   schedules/read
//	                                    recent firings (?firings=N)
//	PUT    schedules/{name}             replace its definition             schedules/write (+ jobs/write)
//	DELETE schedules/{name}             delete (its jobs stay)             schedules/delete
//	POST   schedules/{name}/enable      enable: next due after now         schedules/write
//	POST   schedules/{name}/disable     disable                            schedules/write
//	POST   schedules/{name}/trigger     fire now, a manual firing          schedules/write (+ jobs/write)
//
// A schedule creates jobs, so creating, changing and triggering one also
// takes jobs/write on the workspace: schedules/write alone does not let
// anyone create jobs they could not submit. Azure's verbs are
// schedules/{name}:enable; these follow the job routes' /cancel.

// ScheduleFirer fires schedules: package schedule's Firer.
type ScheduleFirer interface {
	// Trigger fires a schedule now (a manual firing) and returns the
	// firing. Errors: ENOTFOUND.
	Trigger(ctx context.Context, workspace, name string) (*hangar.ScheduleFiring, error)
	// Changed wakes the firing loop after a schedule changed.
	Changed()
	// Time is the firer's clock: next due times are computed by it.
	Time() time.Time
}

// ScheduleDetail is a schedule as `schedule show` reads it: the stored
// schedule, its next due times and its recent firings, newest first.
type ScheduleDetail struct {
	*hangar.Schedule
	Upcoming []time.Time              `json:"upcoming"`
	Firings  []*hangar.ScheduleFiring `json:"firings"`
}

// upcomingCount is how many next due times show lists.
const upcomingCount = 5

func (s *Server) schedules() (hangar.ScheduleService, ScheduleFirer, error) {
	if s.Schedules == nil || s.ScheduleFirer == nil {
		return nil, nil, hangar.Errorf(hangar.ENOTIMPLEMENTED, "schedules are not enabled on this server")
	}
	return s.Schedules, s.ScheduleFirer, nil
}

// requireJobWrite is the narrower check of the routes that make a
// schedule create jobs.
func requireJobWrite(c *caller) error {
	if c.principal == nil {
		return nil
	}
	if c.principal.job != "" {
		return hangar.Errorf(hangar.EFORBIDDEN, "this token is the credential of job %s: a job's token makes no schedules", c.principal.job)
	}
	return c.require(c.workspace, hangar.ActJobWrite)
}

// buildSchedule checks a submission as create and update do: the
// schedule's YAML, the job YAML it submits (parsed as job create parses
// it) or the existing job it copies.
func (s *Server) buildSchedule(ctx context.Context, ws string, sub *hangar.ScheduleSubmission, defaultStart, now time.Time) (*hangar.Schedule, error) {
	sc, spec, err := schedule.Build(sub, defaultStart, now)
	if err != nil {
		return nil, err
	}
	if spec.CreateJob.Existing != "" {
		js, err := s.jobs()
		if err != nil {
			return nil, err
		}
		if err := schedule.CheckExisting(ctx, js, ws, spec.CreateJob.Existing); err != nil {
			if hangar.ErrorCode(err) == hangar.ENOTFOUND {
				return nil, hangar.Errorf(hangar.EINVALID, "%s: create_job: job %s does not exist in workspace %s", sub.File, spec.CreateJob.Existing, ws)
			}
			return nil, err
		}
		return sc, nil
	}
	if _, err := jobspec.ParseJob(sub.Job.File, []byte(sub.Job.YAML), sub.Job.Sets); err != nil {
		return nil, err
	}
	return sc, nil
}

func (s *Server) createSchedule(w http.ResponseWriter, r *http.Request, c *caller) error {
	svc, firer, err := s.schedules()
	if err != nil {
		return err
	}
	if err := requireJobWrite(c); err != nil {
		return err
	}
	var sub hangar.ScheduleSubmission
	if err := s.decodeBodyLimit(w, r, &sub, max(s.MaxBodyBytes, 2*hangar.MaxJobSubmissionSize)); err != nil {
		return err
	}
	now := firer.Time()
	sc, err := s.buildSchedule(r.Context(), c.workspace, &sub, now, now)
	if err != nil {
		return err
	}
	if err := svc.CreateSchedule(r.Context(), c.workspace, sc); err != nil {
		return err
	}
	firer.Changed()
	return writeJSON(w, http.StatusCreated, sc)
}

func (s *Server) listSchedules(w http.ResponseWriter, r *http.Request, c *caller) error {
	svc, _, err := s.schedules()
	if err != nil {
		return err
	}
	return servePage(w, r, c.workspace, svc.ListSchedules)
}

func (s *Server) getSchedule(w http.ResponseWriter, r *http.Request, c *caller) error {
	svc, _, err := s.schedules()
	if err != nil {
		return err
	}
	n := 10
	if v := r.URL.Query().Get("firings"); v != "" {
		if n, err = strconv.Atoi(v); err != nil || n < 0 || n > hangar.MaxScheduleFirings {
			return hangar.Errorf(hangar.EINVALID, "firings %q: want 0 to %d", truncate(v, 32), hangar.MaxScheduleFirings)
		}
	}
	sc, err := svc.Schedule(r.Context(), c.workspace, r.PathValue("name"))
	if err != nil {
		return err
	}
	d := &ScheduleDetail{Schedule: sc, Upcoming: []time.Time{}, Firings: []*hangar.ScheduleFiring{}}
	if sc.Enabled && sc.NextDue != nil {
		d.Upcoming = append(d.Upcoming, *sc.NextDue)
		if _, spec, err := schedule.Load(sc); err == nil {
			at := *sc.NextDue
			for len(d.Upcoming) < upcomingCount {
				next, ok := spec.Trigger.Next(at)
				if !ok {
					break
				}
				d.Upcoming, at = append(d.Upcoming, next.UTC()), next
			}
		}
	}
	if n > 0 {
		fs, err := svc.ScheduleFirings(r.Context(), c.workspace, sc.Name, n)
		if err != nil {
			return err
		}
		d.Firings = append(d.Firings, fs...)
	}
	return writeJSON(w, http.StatusOK, d)
}

func (s *Server) updateSchedule(w http.ResponseWriter, r *http.Request, c *caller) error {
	svc, firer, err := s.schedules()
	if err != nil {
		return err
	}
	if err := requireJobWrite(c); err != nil {
		return err
	}
	var sub hangar.ScheduleSubmission
	if err := s.decodeBodyLimit(w, r, &sub, max(s.MaxBodyBytes, 2*hangar.MaxJobSubmissionSize)); err != nil {
		return err
	}
	old, err := svc.Schedule(r.Context(), c.workspace, r.PathValue("name"))
	if err != nil {
		return err
	}
	// A recurrence without a start time keeps counting from the
	// schedule's creation.
	start := old.CreatedAt
	if def, _, err := schedule.Load(old); err == nil {
		start = def.Start
	}
	sc, err := s.buildSchedule(r.Context(), c.workspace, &sub, start, firer.Time())
	if err != nil {
		return err
	}
	if sc.Name != old.Name {
		return hangar.Errorf(hangar.EINVALID, "%s: name %s: the schedule updated is %s; a schedule is not renamed", sub.File, sc.Name, old.Name)
	}
	sc.Enabled = old.Enabled
	out, err := svc.UpdateSchedule(r.Context(), c.workspace, sc)
	if err != nil {
		return err
	}
	firer.Changed()
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) deleteSchedule(w http.ResponseWriter, r *http.Request, c *caller) error {
	svc, firer, err := s.schedules()
	if err != nil {
		return err
	}
	if err := svc.DeleteSchedule(r.Context(), c.workspace, r.PathValue("name")); err != nil {
		return err
	}
	firer.Changed()
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) enableSchedule(w http.ResponseWriter, r *http.Request, c *caller) error {
	return s.setScheduleEnabled(w, r, c, true)
}

func (s *Server) disableSchedule(w http.ResponseWriter, r *http.Request, c *caller) error {
	return s.setScheduleEnabled(w, r, c, false)
}

// setScheduleEnabled enables or disables a schedule. Enabling computes the
// next due time after now: the due times that passed while it was
// disabled do not fire.
func (s *Server) setScheduleEnabled(w http.ResponseWriter, r *http.Request, c *caller, enabled bool) error {
	svc, firer, err := s.schedules()
	if err != nil {
		return err
	}
	sc, err := svc.Schedule(r.Context(), c.workspace, r.PathValue("name"))
	if err != nil {
		return err
	}
	if sc.Enabled == enabled {
		return writeJSON(w, http.StatusOK, sc)
	}
	sc.Enabled = enabled
	if enabled {
		_, spec, err := schedule.Load(sc)
		if err != nil {
			return err
		}
		sc.NextDue = nil
		if next, ok := spec.Trigger.Next(firer.Time()); ok {
			sc.NextDue = &next
		}
	}
	out, err := svc.UpdateSchedule(r.Context(), c.workspace, sc)
	if err != nil {
		return err
	}
	firer.Changed()
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) triggerSchedule(w http.ResponseWriter, r *http.Request, c *caller) error {
	_, firer, err := s.schedules()
	if err != nil {
		return err
	}
	if err := requireJobWrite(c); err != nil {
		return err
	}
	f, err := firer.Trigger(r.Context(), c.workspace, r.PathValue("name"))
	if err != nil {
		return err
	}
	if f.Job != "" {
		s.jobEvent(c.workspace, f.Job)
	}
	return writeJSON(w, http.StatusOK, f)
}

func schedulesPath(ws string) string { return pathf("/api/v1/workspaces/%s/schedules", ws) }

func schedulePath(ws, name, suffix string) string {
	return pathf("/api/v1/workspaces/%s/schedules/%s", ws, name) + suffix
}

// CreateSchedule creates a schedule from its YAML and, for a job YAML,
// the job's submission.
func (c *Client) CreateSchedule(ctx context.Context, ws string, sub *hangar.ScheduleSubmission) (*hangar.Schedule, error) {
	var out hangar.Schedule
	if err := c.call(ctx, http.MethodPost, schedulesPath(ws), nil, sub, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateSchedule replaces a schedule's definition.
func (c *Client) UpdateSchedule(ctx context.Context, ws, name string, sub *hangar.ScheduleSubmission) (*hangar.Schedule, error) {
	var out hangar.Schedule
	if err := c.call(ctx, http.MethodPut, schedulePath(ws, name, ""), nil, sub, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Schedule returns a schedule with its next due times and up to firings
// recent firings.
func (c *Client) Schedule(ctx context.Context, ws, name string, firings int) (*ScheduleDetail, error) {
	out := &ScheduleDetail{}
	q := url.Values{"firings": {strconv.Itoa(firings)}}
	if err := c.call(ctx, http.MethodGet, schedulePath(ws, name, ""), q, nil, out); err != nil {
		return nil, err
	}
	return out, nil
}

// ListSchedules lists a workspace's schedules by name.
func (c *Client) ListSchedules(ctx context.Context, ws string, opt hangar.ListOptions) (*hangar.Page[*hangar.Schedule], error) {
	return listPage[*hangar.Schedule](ctx, c, schedulesPath(ws), nil, opt)
}

// DeleteSchedule deletes a schedule; the jobs it created stay.
func (c *Client) DeleteSchedule(ctx context.Context, ws, name string) error {
	return c.call(ctx, http.MethodDelete, schedulePath(ws, name, ""), nil, nil, nil)
}

// SetScheduleEnabled enables or disables a schedule.
func (c *Client) SetScheduleEnabled(ctx context.Context, ws, name string, enabled bool) (*hangar.Schedule, error) {
	suffix := "/disable"
	if enabled {
		suffix = "/enable"
	}
	var out hangar.Schedule
	if err := c.call(ctx, http.MethodPost, schedulePath(ws, name, suffix), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// TriggerSchedule fires a schedule now and returns the firing.
func (c *Client) TriggerSchedule(ctx context.Context, ws, name string) (*hangar.ScheduleFiring, error) {
	var out hangar.ScheduleFiring
	if err := c.call(ctx, http.MethodPost, schedulePath(ws, name, "/trigger"), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
