package storetest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/schedule"
)

// testSchedules checks schedules and their firings (issue 12, item 2).
func testSchedules(t *testing.T, open func(t *testing.T) *Store) {
	t.Run("CRUD", func(t *testing.T) { testScheduleCRUD(t, open(t)) })
	t.Run("BadInput", func(t *testing.T) { testScheduleBadInput(t, open(t)) })
	t.Run("Claim", func(t *testing.T) { testScheduleClaim(t, open(t)) })
	t.Run("MissedTicksFireOnce", func(t *testing.T) { testScheduleMissed(t, open(t)) })
	t.Run("FiringsPruned", func(t *testing.T) { testScheduleFiringsPruned(t, open(t)) })
	t.Run("UnfinishedFiringsResumed", func(t *testing.T) { testScheduleResume(t, open(t)) })
	t.Run("TwoServers", func(t *testing.T) {
		s := open(t)
		if s.Another == nil {
			t.Skip("the backend cannot open a second store")
		}
		testScheduleTwoServers(t, s, s.Another(t))
	})
}

// scheduleYAML is a schedule of name firing every minute that copies
// job j.
func scheduleYAML(name string) string {
	return "name: " + name + "\ntrigger: {type: recurrence, frequency: minute, interval: 1}\ncreate_job: azureml:j\n"
}

// newSchedule builds a schedule of name as created at now (its first
// firing a minute later).
func newSchedule(t *testing.T, name string, now time.Time) *hangar.Schedule {
	t.Helper()
	sc, _, err := schedule.Build(&hangar.ScheduleSubmission{File: "s.yml", YAML: scheduleYAML(name)}, now, now)
	if err != nil {
		t.Fatalf("build schedule: %v", err)
	}
	return sc
}

func createSchedule(t *testing.T, s *Store, sc *hangar.Schedule) {
	t.Helper()
	if err := s.Schedules.CreateSchedule(actorCtx(t), hangar.DefaultWorkspace, sc); err != nil {
		t.Fatalf("create schedule %s: %v", sc.Name, err)
	}
}

func testScheduleCRUD(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	ws := hangar.DefaultWorkspace
	now := time.Now().UTC().Truncate(time.Second)
	sc := newSchedule(t, "nightly", now)
	sc.Tags = map[string]string{"team": "ml"}
	createSchedule(t, s, sc)
	wantEvent(t, s, "create", hangar.ActScheduleWrite, "schedules/nightly", ws)
	if sc.CreatedBy != "alice" || sc.Workspace != ws || sc.CreatedAt.IsZero() {
		t.Errorf("created: got %+v, want created by alice in %s", sc, ws)
	}
	got, err := s.Schedules.Schedule(ctx, ws, "nightly")
	if err != nil {
		t.Fatal(err)
	}
	if got.Spec != sc.Spec || !got.Enabled || got.NextDue == nil || !got.NextDue.Equal(*sc.NextDue) || got.Tags["team"] != "ml" || got.Trigger != "every minute (UTC)" || got.LastFired != nil {
		t.Errorf("got %+v, want the schedule as created", got)
	}
	wantCode(t, "create again", s.Schedules.CreateSchedule(ctx, ws, newSchedule(t, "nightly", now)), hangar.ECONFLICT)
	wantCode(t, "create in a missing workspace", s.Schedules.CreateSchedule(ctx, "nowhere", newSchedule(t, "x", now)), hangar.ENOTFOUND)
	_, err = s.Schedules.Schedule(ctx, ws, "missing")
	wantCode(t, "get missing", err, hangar.ENOTFOUND)

	createSchedule(t, s, newSchedule(t, "a-first", now))
	page, err := s.Schedules.ListSchedules(ctx, ws, hangar.ListOptions{MaxResults: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 1 || page.Items[0].Name != "a-first" || page.NextPageToken == "" {
		t.Fatalf("list page 1: got %d items, token %q, want a-first and a token", len(page.Items), page.NextPageToken)
	}
	page, err = s.Schedules.ListSchedules(ctx, ws, hangar.ListOptions{MaxResults: 1, PageToken: page.NextPageToken})
	if err != nil || len(page.Items) != 1 || page.Items[0].Name != "nightly" {
		t.Fatalf("list page 2: got %v, %v, want nightly", page, err)
	}

	got.Enabled, got.NextDue, got.Description = false, nil, "off for now"
	up, err := s.Schedules.UpdateSchedule(asActor(t, "bob"), ws, got)
	if err != nil {
		t.Fatal(err)
	}
	if up.Enabled || up.NextDue != nil || up.Description != "off for now" || up.UpdatedBy != "bob" || up.CreatedBy != "alice" {
		t.Errorf("updated: got %+v, want disabled, no next due, updated by bob", up)
	}
	_, err = s.Schedules.UpdateSchedule(ctx, ws, newSchedule(t, "missing", now))
	wantCode(t, "update missing", err, hangar.ENOTFOUND)

	if _, err := s.Schedules.ClaimFiring(ctx, ws, "nightly", &hangar.ScheduleFiring{Due: now, Manual: true, FiredBy: "srv"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Schedules.DeleteSchedule(ctx, ws, "nightly"); err != nil {
		t.Fatal(err)
	}
	wantEvent(t, s, "delete", hangar.ActScheduleDelete, "schedules/nightly", ws)
	wantCode(t, "delete again", s.Schedules.DeleteSchedule(ctx, ws, "nightly"), hangar.ENOTFOUND)
	_, err = s.Schedules.ScheduleFirings(ctx, ws, "nightly", 10)
	wantCode(t, "firings of a deleted schedule", err, hangar.ENOTFOUND)
	// A new schedule of the same name starts with no firings.
	createSchedule(t, s, newSchedule(t, "nightly", now))
	if fs, err := s.Schedules.ScheduleFirings(ctx, ws, "nightly", 10); err != nil || len(fs) != 0 {
		t.Errorf("firings of a new schedule: got %v, %v, want none", fs, err)
	}
}

func testScheduleBadInput(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	ws := hangar.DefaultWorkspace
	now := time.Now()
	before := len(allEvents(t, s))
	bad := func(mod func(*hangar.Schedule)) *hangar.Schedule {
		sc := newSchedule(t, "s", now)
		mod(sc)
		return sc
	}
	for _, c := range []struct {
		name string
		sc   *hangar.Schedule
	}{
		{"bad name", bad(func(sc *hangar.Schedule) { sc.Name = "-x" })},
		{"spec not JSON", bad(func(sc *hangar.Schedule) { sc.Spec = "yaml" })},
		{"NUL in description", bad(func(sc *hangar.Schedule) { sc.Description = "a\x00b" })},
		{"bad UTF-8 in a tag", bad(func(sc *hangar.Schedule) { sc.Tags = map[string]string{"k": "\xff"} })},
	} {
		t.Run(c.name, func(t *testing.T) {
			wantCode(t, "create", s.Schedules.CreateSchedule(ctx, ws, c.sc), hangar.EINVALID)
		})
	}
	_, err := s.Schedules.Schedule(ctx, "ws\x00", "s")
	wantCode(t, "get in a NUL workspace", err, hangar.EINVALID)
	_, err = s.Schedules.ClaimFiring(ctx, ws, "s", &hangar.ScheduleFiring{FiredBy: "x"}, nil)
	wantCode(t, "claim without a due time", err, hangar.EINVALID)
	_, err = s.Schedules.FinishFiring(ctx, ws, "s", "id", "bad job name!", "")
	wantCode(t, "finish with a bad job name", err, hangar.EINVALID)
	if got := len(allEvents(t, s)); got != before {
		t.Errorf("got %d audit events, want %d: bad input changed something", got, before)
	}
}

func testScheduleClaim(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	ws := hangar.DefaultWorkspace
	now := time.Now().UTC().Truncate(time.Second)
	sc := newSchedule(t, "s", now)
	createSchedule(t, s, sc)
	due := *sc.NextDue
	if got, err := s.Schedules.NextScheduleDue(ctx); err != nil || got == nil || !got.Equal(due) {
		t.Fatalf("next due: got %v, %v, want %s", got, err, due)
	}
	if got, err := s.Schedules.DueSchedules(ctx, now, 10); err != nil || len(got) != 0 {
		t.Fatalf("due before its time: got %v, %v, want none", got, err)
	}
	if got, err := s.Schedules.DueSchedules(ctx, due, 10); err != nil || len(got) != 1 {
		t.Fatalf("due at its time: got %v, %v, want s", got, err)
	}
	next := due.Add(time.Minute)
	f, err := s.Schedules.ClaimFiring(ctx, ws, "s", &hangar.ScheduleFiring{Due: due, FiredBy: "srv-1"}, &next)
	if err != nil {
		t.Fatal(err)
	}
	wantEvent(t, s, "claim", hangar.ActScheduleWrite, "schedules/s/firings/"+f.ID, ws)
	_, err = s.Schedules.ClaimFiring(ctx, ws, "s", &hangar.ScheduleFiring{Due: due, FiredBy: "srv-2"}, &next)
	wantCode(t, "claim the same due time again", err, hangar.ECONFLICT)
	got, _ := s.Schedules.Schedule(ctx, ws, "s")
	if got.NextDue == nil || !got.NextDue.Equal(next) || got.LastFired == nil || !got.LastFired.Equal(due) {
		t.Errorf("after the claim: next %v last %v, want %s and %s", got.NextDue, got.LastFired, next, due)
	}
	fin, err := s.Schedules.FinishFiring(ctx, ws, "s", f.ID, "s-job", "")
	if err != nil || fin.Job != "s-job" || !fin.Due.Equal(due) || fin.FiredBy != "srv-1" {
		t.Fatalf("finish: got %+v, %v", fin, err)
	}
	_, err = s.Schedules.FinishFiring(ctx, ws, "s", "missing", "", "boom")
	wantCode(t, "finish a missing firing", err, hangar.ENOTFOUND)

	// Disabled: no automatic firing, but a manual one.
	got.Enabled = false
	if _, err := s.Schedules.UpdateSchedule(ctx, ws, got); err != nil {
		t.Fatal(err)
	}
	_, err = s.Schedules.ClaimFiring(ctx, ws, "s", &hangar.ScheduleFiring{Due: next, FiredBy: "srv-1"}, nil)
	wantCode(t, "claim a disabled schedule", err, hangar.ECONFLICT)
	if due, err := s.Schedules.NextScheduleDue(ctx); err != nil || due != nil {
		t.Errorf("next due with every schedule disabled: got %v, %v, want none", due, err)
	}
	m, err := s.Schedules.ClaimFiring(ctx, ws, "s", &hangar.ScheduleFiring{Due: now.Add(time.Hour), Manual: true, FiredBy: "srv-1"}, nil)
	if err != nil {
		t.Fatalf("manual claim of a disabled schedule: %v", err)
	}
	long := strings.Repeat("é", hangar.MaxJobErrorSize)
	if fin, err := s.Schedules.FinishFiring(ctx, ws, "s", m.ID, "", long); err != nil || len(fin.Error) > hangar.MaxJobErrorSize || fin.Job != "" {
		t.Fatalf("finish with a long error: got %d bytes, %v", len(fin.Error), err)
	}
	fs, err := s.Schedules.ScheduleFirings(ctx, ws, "s", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 2 || fs[0].ID != m.ID || !fs[0].Manual || fs[1].ID != f.ID || fs[1].Job != "s-job" {
		t.Errorf("firings: got %+v, want the manual one, then the first", fs)
	}
}

// scheduleFirer is a Firer over s copying job j, with clock now.
func scheduleFirer(s *Store, server string, now func() time.Time) *schedule.Firer {
	return &schedule.Firer{Schedules: s.Schedules, Jobs: s.Jobs, Server: server, Now: now}
}

func testScheduleMissed(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	ws := hangar.DefaultWorkspace
	createJob(t, s, ws, commandJob("j"))
	created := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	createSchedule(t, s, newSchedule(t, "s", created))
	// The server was down for an hour: 60 due times passed.
	now := time.Now().UTC()
	f := scheduleFirer(s, "srv", func() time.Time { return now })
	if err := f.FireDue(ctx); err != nil {
		t.Fatal(err)
	}
	fs, err := s.Schedules.ScheduleFirings(ctx, ws, "s", 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 1 || fs[0].Error != "" || fs[0].Job == "" {
		t.Fatalf("firings: got %+v, want one with its job", fs)
	}
	sc, _ := s.Schedules.Schedule(ctx, ws, "s")
	if sc.NextDue == nil || !sc.NextDue.After(now) || sc.NextDue.After(now.Add(time.Minute)) {
		t.Errorf("next due: got %v, want within the minute after %s", sc.NextDue, now)
	}
	job := getJob(t, s, ws, fs[0].Job)
	if job.Properties[schedule.PropertySchedule] != "s" || job.Spec != jobSpec || job.Status != hangar.JobNotStarted {
		t.Errorf("job: got %+v, want a copy of j recording schedule s", job)
	}
	// Again at the same time: nothing is due.
	if err := f.FireDue(ctx); err != nil {
		t.Fatal(err)
	}
	if fs, _ := s.Schedules.ScheduleFirings(ctx, ws, "s", 100); len(fs) != 1 {
		t.Errorf("after a second look: got %d firings, want 1", len(fs))
	}
}

// testScheduleTwoServers races two servers, each with its own store handle
// on one database, for the same due times: each fires exactly once.
func testScheduleTwoServers(t *testing.T, a, b *Store) {
	ctx := actorCtx(t)
	ws := hangar.DefaultWorkspace
	createJob(t, a, ws, commandJob("j"))
	created := time.Now().UTC().Add(-10 * time.Minute).Truncate(time.Second)
	const n = 5
	for i := range n {
		createSchedule(t, a, newSchedule(t, "s"+string(rune('0'+i)), created))
	}
	now := time.Now().UTC()
	clock := func() time.Time { return now }
	var wg sync.WaitGroup
	for _, f := range []*schedule.Firer{scheduleFirer(a, "srv-a", clock), scheduleFirer(b, "srv-b", clock), scheduleFirer(b, "srv-c", clock)} {
		wg.Go(func() {
			if err := f.FireDue(context.WithoutCancel(ctx)); err != nil {
				t.Errorf("fire: %v", err)
			}
		})
	}
	wg.Wait()
	jobs, err := a.Jobs.ListJobs(ctx, ws, hangar.JobFilter{}, hangar.ListOptions{MaxResults: 100})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(jobs.Items); got != n+1 {
		t.Errorf("got %d jobs, want %d (j and one per schedule): %v", got, n+1, jobNames(jobs.Items))
	}
	for i := range n {
		name := "s" + string(rune('0'+i))
		fs, err := b.Schedules.ScheduleFirings(ctx, ws, name, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(fs) != 1 || fs[0].Job == "" {
			t.Errorf("schedule %s: got firings %+v, want exactly one with a job", name, fs)
		}
	}
}

// testScheduleFiringsPruned claims a few more firings than a schedule
// keeps: the oldest are gone (finishing one is ENOTFOUND), the kept ones
// and another schedule's are untouched, and the listing still shows the
// newest first.
func testScheduleFiringsPruned(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	ws := hangar.DefaultWorkspace
	start := time.Now().UTC().Add(-24 * time.Hour).Truncate(time.Minute)
	other := newSchedule(t, "other", start)
	createSchedule(t, s, other)
	otherFiring, err := s.Schedules.ClaimFiring(ctx, ws, "other", &hangar.ScheduleFiring{Due: *other.NextDue, FiredBy: "srv"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sc := newSchedule(t, "s", start)
	createSchedule(t, s, sc)
	const extra = 3
	due := *sc.NextDue
	ids := make([]string, 0, hangar.KeptScheduleFirings+extra)
	for range hangar.KeptScheduleFirings + extra {
		next := due.Add(time.Minute)
		f, err := s.Schedules.ClaimFiring(ctx, ws, "s", &hangar.ScheduleFiring{Due: due, FiredBy: "srv"}, &next)
		if err != nil {
			t.Fatalf("claim firing %d: %v", len(ids)+1, err)
		}
		ids = append(ids, f.ID)
		due = next
	}
	for i, id := range ids[:extra] {
		_, err := s.Schedules.FinishFiring(ctx, ws, "s", id, "", "late")
		wantCode(t, fmt.Sprintf("finish pruned firing %d", i+1), err, hangar.ENOTFOUND)
	}
	if _, err := s.Schedules.FinishFiring(ctx, ws, "s", ids[extra], "", "late"); err != nil {
		t.Errorf("finish the oldest kept firing: got %v, want it kept", err)
	}
	if _, err := s.Schedules.FinishFiring(ctx, ws, "other", otherFiring.ID, "", "late"); err != nil {
		t.Errorf("finish another schedule's firing: got %v, want it kept", err)
	}
	fs, err := s.Schedules.ScheduleFirings(ctx, ws, "s", hangar.MaxScheduleFirings)
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != hangar.MaxScheduleFirings {
		t.Fatalf("listing: got %d firings, want %d", len(fs), hangar.MaxScheduleFirings)
	}
	for i, f := range fs {
		if want := ids[len(ids)-1-i]; f.ID != want {
			t.Fatalf("listing[%d]: got firing %s due %s, want %s (newest first)", i, f.ID, f.Due, want)
		}
	}
}

// testScheduleResume leaves firings claimed and unfinished, as a server
// that stopped between a claim and its job's submission leaves them, and
// checks that ResumeUnfinished makes each due time's job exactly once:
// submitted when missing (once, with two servers resuming at once),
// recorded when the first attempt made it, not run late when the schedule
// fired again since (a manual firing does not count), when it was disabled
// or when the due time is too old, refused for a manual firing, left alone
// while its first attempt may still be running, and left for later when
// the server stops midway.
func testScheduleResume(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	ws := hangar.DefaultWorkspace
	createJob(t, s, ws, commandJob("j"))
	created := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	claim := func(name string, due time.Time, manual bool) *hangar.ScheduleFiring {
		t.Helper()
		next := due.Add(time.Minute)
		fr, err := s.Schedules.ClaimFiring(ctx, ws, name, &hangar.ScheduleFiring{Due: due, Manual: manual, FiredBy: "stopped"}, &next)
		if err != nil {
			t.Fatalf("claim %s at %s: %v", name, due, err)
		}
		return fr
	}
	firing := func(name, id string) *hangar.ScheduleFiring {
		t.Helper()
		fs, err := s.Schedules.ScheduleFirings(ctx, ws, name, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fs {
			if f.ID == id {
				return f
			}
		}
		t.Fatalf("firing %s of %s is gone", id, name)
		return nil
	}
	// "lost": claimed, no job made. "made": claimed, job made, not recorded.
	// "superseded": claimed, then the schedule fired (and finished) again.
	// "manual": a manual firing left unfinished. "manual-after": claimed,
	// then triggered by hand. "disabled": claimed, then disabled. "stale":
	// due two days ago. "race": resumed by two servers at once.
	scs := map[string]*hangar.Schedule{}
	for _, name := range []string{"lost", "made", "superseded", "manual", "manual-after", "disabled", "race"} {
		scs[name] = newSchedule(t, name, created)
		createSchedule(t, s, scs[name])
	}
	scs["stale"] = newSchedule(t, "stale", created.Add(-47*time.Hour))
	createSchedule(t, s, scs["stale"])
	lost := claim("lost", *scs["lost"].NextDue, false)
	made := claim("made", *scs["made"].NextDue, false)
	madeJob := commandJob(schedule.JobName("made", made.Due, false))
	madeJob.Properties = map[string]string{schedule.PropertySchedule: "made", schedule.PropertyScheduleDue: made.Due.UTC().Format(time.RFC3339)}
	createJob(t, s, ws, madeJob)
	old := claim("superseded", *scs["superseded"].NextDue, false)
	newer := claim("superseded", old.Due.Add(time.Minute), false)
	if _, err := s.Schedules.FinishFiring(ctx, ws, "superseded", newer.ID, "j", ""); err != nil {
		t.Fatal(err)
	}
	manual := claim("manual", created.Add(30*time.Second), true)
	beforeManual := claim("manual-after", *scs["manual-after"].NextDue, false)
	byHand := claim("manual-after", beforeManual.Due.Add(time.Second), true)
	if _, err := s.Schedules.FinishFiring(ctx, ws, "manual-after", byHand.ID, "j", ""); err != nil {
		t.Fatal(err)
	}
	offFiring := claim("disabled", *scs["disabled"].NextDue, false)
	off, err := s.Schedules.Schedule(ctx, ws, "disabled")
	if err != nil {
		t.Fatal(err)
	}
	off.Enabled = false
	if _, err := s.Schedules.UpdateSchedule(ctx, ws, off); err != nil {
		t.Fatal(err)
	}
	stale := claim("stale", *scs["stale"].NextDue, false)
	race := claim("race", *scs["race"].NextDue, false)

	// While their first attempts may still be running, nothing is touched.
	now := time.Now().UTC()
	f := scheduleFirer(s, "srv", func() time.Time { return now })
	if err := f.ResumeUnfinished(ctx); err != nil {
		t.Fatal(err)
	}
	all := map[string]string{"lost": lost.ID, "made": made.ID, "superseded": old.ID, "manual": manual.ID,
		"manual-after": beforeManual.ID, "disabled": offFiring.ID, "stale": stale.ID, "race": race.ID}
	for name, id := range all {
		if fr := firing(name, id); fr.Job != "" || fr.Error != "" {
			t.Fatalf("%s: finished within ResumeAfter of its claim: %+v", name, fr)
		}
	}
	before := listAllJobs(t, s, ws)

	// The server stops while it resumes: what it was doing stays
	// unfinished, for the next resume.
	stopping, stop := context.WithCancel(ctx)
	f = scheduleFirer(s, "srv", func() time.Time { return now })
	f.ResumeAfter = time.Nanosecond
	f.Jobs = stopOnCreate{JobService: s.Jobs, stop: stop}
	if err := f.ResumeUnfinished(stopping); err == nil {
		t.Errorf("resume with the server stopping: got no error")
	}
	for _, name := range []string{"lost", "race"} {
		if fr := firing(name, all[name]); fr.Job != "" || fr.Error != "" {
			t.Errorf("%s after a stop midway: got %+v, want it left unfinished", name, fr)
		}
	}

	// ResumeAfter later, they are taken for left by a stopped server; two
	// servers resume at once.
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			f := scheduleFirer(s, "srv", func() time.Time { return now })
			f.ResumeAfter = time.Nanosecond
			if err := f.ResumeUnfinished(ctx); err != nil {
				t.Errorf("resume: %v", err)
			}
		})
	}
	wg.Wait()
	for _, name := range []string{"lost", "manual-after", "race"} {
		fr := firing(name, all[name])
		wantName := schedule.JobName(name, fr.Due, false)
		if fr.Job != wantName || fr.Error != "" {
			t.Errorf("%s: got job %q error %q, want job %s", name, fr.Job, fr.Error, wantName)
			continue
		}
		job := getJob(t, s, ws, wantName)
		if job.Properties[schedule.PropertySchedule] != name || job.Properties[schedule.PropertyScheduleDue] != fr.Due.UTC().Format(time.RFC3339) || job.Spec != jobSpec {
			t.Errorf("%s's job: got %+v, want a copy of j recording its schedule and due time", name, job)
		}
	}
	if fr := firing("made", made.ID); fr.Job != madeJob.Name || fr.Error != "" {
		t.Errorf("made: got job %q error %q, want the job its first attempt made, %s", fr.Job, fr.Error, madeJob.Name)
	}
	for name, want := range map[string]string{"superseded": "fired again", "manual": "trigger the schedule again", "disabled": "disabled", "stale": "this late"} {
		if fr := firing(name, all[name]); fr.Job != "" || !strings.Contains(fr.Error, want) {
			t.Errorf("%s: got job %q error %q, want no job and an error saying %q", name, fr.Job, fr.Error, want)
		}
	}
	after := listAllJobs(t, s, ws)
	if len(after) != len(before)+3 {
		t.Errorf("jobs: got %v after resuming, want %v and the jobs of lost, manual-after and race only", after, before)
	}
	// The first to finish a firing decides: a late error does not
	// overwrite the job recorded.
	if fr, err := s.Schedules.FinishFiring(ctx, ws, "lost", lost.ID, "", "late"); err != nil || fr.Job != schedule.JobName("lost", lost.Due, false) || fr.Error != "" {
		t.Errorf("finishing lost again: got %+v, %v, want it as it was", fr, err)
	}
	// Again: every firing is finished, nothing more is made.
	f = scheduleFirer(s, "srv", func() time.Time { return now })
	f.ResumeAfter = time.Nanosecond
	if err := f.ResumeUnfinished(ctx); err != nil {
		t.Fatal(err)
	}
	if again := listAllJobs(t, s, ws); len(again) != len(after) {
		t.Errorf("jobs after a second resume: got %v, want %v", again, after)
	}
}

// stopOnCreate is a job service whose CreateJob stops the server (its
// context) before it gets to store anything.
type stopOnCreate struct {
	hangar.JobService
	stop func()
}

func (j stopOnCreate) CreateJob(ctx context.Context, ws string, job *hangar.Job, steps []*hangar.Job) error {
	j.stop()
	return ctx.Err()
}

// listAllJobs returns the names of the jobs of workspace ws.
func listAllJobs(t *testing.T, s *Store, ws string) []string {
	t.Helper()
	page, err := s.Jobs.ListJobs(actorCtx(t), ws, hangar.JobFilter{}, hangar.ListOptions{MaxResults: 100})
	if err != nil {
		t.Fatal(err)
	}
	return jobNames(page.Items)
}
