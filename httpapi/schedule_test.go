package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/httpapi"
	"github.com/hangar-ml/hangar/schedule"
)

// namingSubmitter creates one command job per submission, named by its
// name=… override (as the firer sets it), and remembers what it got.
type namingSubmitter struct {
	jobs hangar.JobService
	mu   sync.Mutex
	got  []*hangar.JobSubmission
}

func (f *namingSubmitter) SubmitJob(ctx context.Context, workspace string, s *hangar.JobSubmission) (*hangar.Job, error) {
	f.mu.Lock()
	f.got = append(f.got, s)
	f.mu.Unlock()
	name := "unnamed"
	for _, set := range s.Sets {
		if v, ok := strings.CutPrefix(set, "name="); ok {
			name = v
		}
	}
	j := &hangar.Job{Name: name, Type: hangar.JobTypeCommand, Spec: `{}`, Properties: s.Properties}
	if err := f.jobs.CreateJob(ctx, workspace, j, nil); err != nil {
		return nil, err
	}
	return j, nil
}

type scheduleEnv struct {
	*env
	sub   *namingSubmitter
	firer *schedule.Firer
}

func newScheduleEnv(t *testing.T) *scheduleEnv {
	se := &scheduleEnv{sub: &namingSubmitter{}}
	se.env = newEnvWith(t, func(s *httpapi.Server) {
		se.firer = &schedule.Firer{Schedules: s.Schedules, Jobs: s.Jobs, Submitter: se.sub, Server: "test"}
		s.ScheduleFirer = se.firer
	})
	se.sub.jobs = se.api.Jobs
	return se
}

const scheduleYAML = `name: nightly
display_name: Nightly retrain
trigger:
  type: cron
  expression: "0 3 * * *"
  time_zone: Europe/Paris
create_job: ./job.yml
`

func jobSub() *hangar.JobSubmission {
	return &hangar.JobSubmission{File: "job.yml", YAML: "command: echo hi\n"}
}

func TestScheduleRoutes(t *testing.T) {
	se := newScheduleEnv(t)
	ctx := t.Context()
	ws := hangar.DefaultWorkspace
	sc, err := se.admin.CreateSchedule(ctx, ws, &hangar.ScheduleSubmission{File: "s.yml", YAML: scheduleYAML, Job: jobSub()})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	paris, _ := time.LoadLocation("Europe/Paris")
	if sc.Name != "nightly" || !sc.Enabled || sc.NextDue == nil || sc.NextDue.In(paris).Hour() != 3 || sc.Trigger != "cron 0 3 * * * (Europe/Paris)" {
		t.Errorf("created: got %+v, next %v, want enabled, due at 03:00 Paris", sc, sc.NextDue)
	}
	if ev := se.events(); ev[len(ev)-1].Action != hangar.ActScheduleWrite || ev[len(ev)-1].Target != "schedules/nightly" {
		t.Errorf("create: last event %+v, want schedules/write on schedules/nightly", ev[len(ev)-1])
	}
	_, err = se.admin.CreateSchedule(ctx, ws, &hangar.ScheduleSubmission{File: "s.yml", YAML: scheduleYAML, Job: jobSub()})
	wantErrCode(t, "create again", err, hangar.ECONFLICT)

	page, err := se.admin.ListSchedules(ctx, ws, hangar.ListOptions{})
	if err != nil || len(page.Items) != 1 || page.Items[0].Name != "nightly" {
		t.Fatalf("list: got %v, %v", page, err)
	}

	f, err := se.admin.TriggerSchedule(ctx, ws, "nightly")
	if err != nil {
		t.Fatalf("trigger: %v", err)
	}
	if !f.Manual || f.Job == "" || f.Error != "" || f.FiredBy != "test" {
		t.Fatalf("trigger: got %+v, want a manual firing with its job", f)
	}
	job, err := se.admin.Job(ctx, ws, f.Job)
	if err != nil || job.Properties[schedule.PropertySchedule] != "nightly" {
		t.Errorf("triggered job: got %+v, %v, want property %s=nightly", job, err, schedule.PropertySchedule)
	}
	if got := se.sub.got[0]; got.YAML != jobSub().YAML {
		t.Errorf("submitted: got %+v, want the job YAML sent at create", got)
	}

	d, err := se.admin.Schedule(ctx, ws, "nightly", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Upcoming) != 5 || !d.Upcoming[0].Equal(*sc.NextDue) || d.Upcoming[1].Sub(d.Upcoming[0]) != 24*time.Hour {
		t.Errorf("show: upcoming %v, want 5 days at 03:00", d.Upcoming)
	}
	if len(d.Firings) != 1 || d.Firings[0].Job != f.Job || d.LastFired == nil {
		t.Errorf("show: firings %+v, last fired %v, want the manual firing", d.Firings, d.LastFired)
	}

	off, err := se.admin.SetScheduleEnabled(ctx, ws, "nightly", false)
	if err != nil || off.Enabled {
		t.Fatalf("disable: got %+v, %v", off, err)
	}
	if d, _ := se.admin.Schedule(ctx, ws, "nightly", 0); len(d.Upcoming) != 0 || len(d.Firings) != 0 {
		t.Errorf("show disabled with firings=0: got upcoming %v firings %v, want none", d.Upcoming, d.Firings)
	}
	on, err := se.admin.SetScheduleEnabled(ctx, ws, "nightly", true)
	if err != nil || !on.Enabled || on.NextDue == nil {
		t.Fatalf("enable: got %+v, %v", on, err)
	}

	up, err := se.admin.UpdateSchedule(ctx, ws, "nightly", &hangar.ScheduleSubmission{File: "s.yml", YAML: scheduleYAML, Sets: []string{"trigger.expression=30 4 * * 1"}, Job: jobSub()})
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	if up.Trigger != "cron 30 4 * * 1 (Europe/Paris)" || up.NextDue.In(paris).Weekday() != time.Monday || !up.Enabled {
		t.Errorf("update: got %+v, want Mondays at 04:30", up)
	}
	_, err = se.admin.UpdateSchedule(ctx, ws, "nightly", &hangar.ScheduleSubmission{File: "s.yml", YAML: scheduleYAML, Sets: []string{"name=other"}, Job: jobSub()})
	wantErrCode(t, "rename by update", err, hangar.EINVALID)
	_, err = se.admin.UpdateSchedule(ctx, ws, "missing", &hangar.ScheduleSubmission{File: "s.yml", YAML: scheduleYAML, Job: jobSub()})
	wantErrCode(t, "update missing", err, hangar.ENOTFOUND)

	if err := se.admin.DeleteSchedule(ctx, ws, "nightly"); err != nil {
		t.Fatal(err)
	}
	if ev := se.events(); ev[len(ev)-1].Action != hangar.ActScheduleDelete {
		t.Errorf("delete: last event %+v, want schedules/delete", ev[len(ev)-1])
	}
	if _, err := se.admin.Job(ctx, ws, f.Job); err != nil {
		t.Errorf("the triggered job after delete: %v, want it kept", err)
	}
	_, err = se.admin.TriggerSchedule(ctx, ws, "nightly")
	wantErrCode(t, "trigger deleted", err, hangar.ENOTFOUND)
}

func TestScheduleFromExistingJob(t *testing.T) {
	se := newScheduleEnv(t)
	ctx := t.Context()
	ws := hangar.DefaultWorkspace
	actx := hangar.WithActor(ctx, hangar.Actor{IdentityID: "setup", Name: "setup"})
	if err := se.api.Jobs.CreateJob(actx, ws, &hangar.Job{Name: "train", Type: hangar.JobTypeCommand, Spec: `{"command":"echo"}`}, nil); err != nil {
		t.Fatal(err)
	}
	if err := se.api.Jobs.CreateJob(actx, ws, &hangar.Job{Name: "pipe", Type: hangar.JobTypePipeline, Spec: `{"steps":[]}`}, nil); err != nil {
		t.Fatal(err)
	}
	y := "name: hourly\ntrigger: {type: recurrence, frequency: hour}\ncreate_job: azureml:train\n"
	if _, err := se.admin.CreateSchedule(ctx, ws, &hangar.ScheduleSubmission{File: "s.yml", YAML: y}); err != nil {
		t.Fatal(err)
	}
	f, err := se.admin.TriggerSchedule(ctx, ws, "hourly")
	if err != nil || f.Job == "" {
		t.Fatalf("trigger: got %+v, %v", f, err)
	}
	j, err := se.admin.Job(ctx, ws, f.Job)
	if err != nil || j.Spec != `{"command":"echo"}` || j.Properties[schedule.PropertySchedule] != "hourly" {
		t.Errorf("copied job: got %+v, %v", j, err)
	}
	_, err = se.admin.CreateSchedule(ctx, ws, &hangar.ScheduleSubmission{File: "s.yml", YAML: strings.ReplaceAll(y, "train", "pipe")})
	if err == nil || !strings.Contains(err.Error(), "give the pipeline's YAML") {
		t.Errorf("schedule copying a pipeline: got %v, want a refusal naming the pipeline's YAML", err)
	}
}

func TestScheduleBadInput(t *testing.T) {
	se := newScheduleEnv(t)
	ws := hangar.DefaultWorkspace
	tok := se.adminToken()
	path := "/api/v1/workspaces/" + ws + "/schedules"
	tests := []struct {
		name, body string
		status     int
		want       string
	}{
		{"not JSON", `yaml`, http.StatusBadRequest, ""},
		{"unknown field", `{"file":"s.yml","yaml":"a: 1","extra":1}`, http.StatusBadRequest, "extra"},
		{"empty YAML", `{"file":"s.yml","yaml":""}`, http.StatusBadRequest, "s.yml: the schedule's YAML is empty"},
		{"bad cron", `{"file":"s.yml","yaml":"name: s\ntrigger: {type: cron, expression: '61 * * * *'}\ncreate_job: ./j.yml\n","job":{"file":"j.yml","yaml":"command: echo\n"}}`, http.StatusBadRequest, "s.yml:2: trigger.expression: minute field \"61\""},
		{"bad time zone", `{"file":"s.yml","yaml":"name: s\ntrigger: {type: cron, expression: '* * * * *', time_zone: Nowhere/City}\ncreate_job: ./j.yml\n","job":{"file":"j.yml","yaml":"command: echo\n"}}`, http.StatusBadRequest, "unknown time zone \"Nowhere/City\""},
		{"never fires", `{"file":"s.yml","yaml":"name: s\ntrigger: {type: cron, expression: '0 0 31 4 *'}\ncreate_job: ./j.yml\n","job":{"file":"j.yml","yaml":"command: echo\n"}}`, http.StatusBadRequest, "never fires"},
		{"no job sent", `{"file":"s.yml","yaml":"name: s\ntrigger: {type: cron, expression: '* * * * *'}\ncreate_job: ./j.yml\n"}`, http.StatusBadRequest, "send the job's submission"},
		{"bad job YAML", `{"file":"s.yml","yaml":"name: s\ntrigger: {type: cron, expression: '* * * * *'}\ncreate_job: ./j.yml\n","job":{"file":"j.yml","yaml":"commnd: echo\n"}}`, http.StatusBadRequest, "j.yml:1"},
		{"missing existing job", `{"file":"s.yml","yaml":"name: s\ntrigger: {type: cron, expression: '* * * * *'}\ncreate_job: azureml:nope\n"}`, http.StatusBadRequest, "job nope does not exist in workspace default"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(se.events())
			r := se.do(http.MethodPost, path, tok, tt.body, "Content-Type", "application/json")
			if r.status != tt.status {
				t.Fatalf("status %d (%s), want %d", r.status, r.body, tt.status)
			}
			code, msg := r.envelope(t)
			if code != hangar.EINVALID || !strings.Contains(msg, tt.want) {
				t.Errorf("got %s %q, want EINVALID containing %q", code, msg, tt.want)
			}
			if after := len(se.events()); after != before {
				t.Errorf("got %d audit events, want %d: bad input changed something", after, before)
			}
		})
	}
	if p, err := se.admin.ListSchedules(t.Context(), ws, hangar.ListOptions{}); err != nil || len(p.Items) != 0 {
		t.Errorf("schedules after bad input: got %v, %v, want none", p, err)
	}
	for _, c := range []struct{ method, path string }{
		{http.MethodGet, path + "/bad%20name"},
		{http.MethodGet, path + "/missing?firings=1000"},
		{http.MethodPost, path + "/bad%20name/trigger"},
	} {
		r := se.do(c.method, c.path, tok, "")
		if r.status != http.StatusBadRequest && r.status != http.StatusNotFound {
			t.Errorf("%s %s: status %d (%s), want 400 or 404", c.method, c.path, r.status, r.body)
		}
	}
	// A Reader reads schedules but neither makes nor fires them.
	reader := se.client("rita", hangar.RoleReader, ws)
	_, err := reader.CreateSchedule(t.Context(), ws, &hangar.ScheduleSubmission{File: "s.yml", YAML: scheduleYAML, Job: jobSub()})
	wantErrCode(t, "reader creates", err, hangar.EFORBIDDEN)
	if _, err := reader.ListSchedules(t.Context(), ws, hangar.ListOptions{}); err != nil {
		t.Errorf("reader lists: %v", err)
	}
}
