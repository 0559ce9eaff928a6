package storetest

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hangar-ml/hangar"
)

// testJobs: jobs, pipeline steps and logs — create and read back, bad
// input, lists and their filters and pages, conditional transitions and
// leases (two claimers never both win, also from two store processes),
// archive, reuse, the scheduler's active jobs and logs in ranges.
func testJobs(t *testing.T, open func(t *testing.T) *Store) {
	t.Run("Create", func(t *testing.T) { testJobCreate(t, open(t)) })
	t.Run("CreateErrors", func(t *testing.T) { testJobCreateErrors(t, open(t)) })
	t.Run("List", func(t *testing.T) { testJobList(t, open(t)) })
	t.Run("Transition", func(t *testing.T) { testJobTransition(t, open(t)) })
	t.Run("TransitionErrors", func(t *testing.T) { testJobTransitionErrors(t, open(t)) })
	t.Run("Leases", func(t *testing.T) { testJobLeases(t, open(t)) })
	t.Run("OutputAnnotation", func(t *testing.T) { testJobOutputAnnotation(t, open(t)) })
	t.Run("ConcurrentClaims", func(t *testing.T) { testJobConcurrentClaims(t, open(t), nil) })
	t.Run("ConcurrentClaimsTwoStores", func(t *testing.T) {
		s := open(t)
		if s.Another == nil {
			t.Skip("the backend cannot open a second store")
		}
		testJobConcurrentClaims(t, s, s.Another(t))
	})
	t.Run("Archive", func(t *testing.T) { testJobArchive(t, open(t)) })
	t.Run("Reusable", func(t *testing.T) { testJobReusable(t, open(t)) })
	t.Run("Active", func(t *testing.T) { testJobActive(t, open(t)) })
	t.Run("Logs", func(t *testing.T) { testJobLogs(t, open(t)) })
}

const jobSpec = `{"command":"python train.py"}`

func commandJob(name string) *hangar.Job {
	return &hangar.Job{Name: name, Type: hangar.JobTypeCommand, Spec: jobSpec}
}

func createJob(t *testing.T, s *Store, ws string, job *hangar.Job, steps ...*hangar.Job) {
	t.Helper()
	if err := s.Jobs.CreateJob(actorCtx(t), ws, job, steps); err != nil {
		t.Fatalf("create job %s: %v", job.Name, err)
	}
}

func getJob(t *testing.T, s *Store, ws, name string) *hangar.Job {
	t.Helper()
	j, err := s.Jobs.Job(t.Context(), ws, name)
	if err != nil {
		t.Fatalf("get job %s: %v", name, err)
	}
	return j
}

func jobNames(jobs []*hangar.Job) []string {
	out := make([]string, len(jobs))
	for i, j := range jobs {
		out[i] = j.Name
	}
	return out
}

func testJobCreate(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	ws := hangar.DefaultWorkspace
	before := len(allEvents(t, s))
	job := &hangar.Job{Name: "train_1", Type: hangar.JobTypeCommand, DisplayName: "Train", ExperimentName: "exp",
		Description: "trains", Tags: map[string]string{"a": "1"}, Properties: map[string]string{"p": "2"},
		Compute: "local", Spec: jobSpec, ReuseKey: "k1"}
	if err := s.Jobs.CreateJob(ctx, ws, job, nil); err != nil {
		t.Fatalf("create: %v", err)
	}
	if job.Workspace != ws || job.CreatedBy != "alice" || job.CreatedAt.IsZero() || job.Status != hangar.JobNotStarted {
		t.Errorf("created job: got workspace %q, by %q at %v, status %q; want %q, alice, a time, NotStarted",
			job.Workspace, job.CreatedBy, job.CreatedAt, job.Status, ws)
	}
	got := getJob(t, s, ws, "train_1")
	if diff := cmp.Diff(job, got); diff != "" {
		t.Errorf("read back (-created +got):\n%s", diff)
	}

	pipe := &hangar.Job{Name: "pipe_1", Type: hangar.JobTypePipeline, Spec: `{"jobs":{}}`, ExperimentName: "exp"}
	prep := &hangar.Job{Step: "prep", Type: hangar.JobTypeCommand, Spec: jobSpec}
	trainStep := &hangar.Job{Name: "custom-train", Parent: "pipe_1", Step: "train", Type: hangar.JobTypeCommand, Spec: jobSpec, Status: hangar.JobQueued}
	if err := s.Jobs.CreateJob(ctx, ws, pipe, []*hangar.Job{prep, trainStep}); err != nil {
		t.Fatalf("create pipeline: %v", err)
	}
	if prep.Name != "pipe_1.prep" || prep.Parent != "pipe_1" {
		t.Errorf("step without name: got name %q, parent %q; want pipe_1.prep, pipe_1", prep.Name, prep.Parent)
	}
	for _, want := range []*hangar.Job{pipe, prep, trainStep} {
		if diff := cmp.Diff(want, getJob(t, s, ws, want.Name)); diff != "" {
			t.Errorf("job %s read back (-created +got):\n%s", want.Name, diff)
		}
	}
	if got := getJob(t, s, ws, "custom-train").Status; got != hangar.JobQueued {
		t.Errorf("step created Queued: got %q", got)
	}

	// A step added later to an existing pipeline.
	late := &hangar.Job{Name: "pipe_1.late", Parent: "pipe_1", Step: "late", Type: hangar.JobTypeCommand, Spec: jobSpec}
	createJob(t, s, ws, late)

	// A trial added to a sweep as the sweep runs.
	createJob(t, s, ws, &hangar.Job{Name: "sweep_1", Type: hangar.JobTypeSweep, Spec: `{}`, ExperimentName: "exp"})
	createJob(t, s, ws, &hangar.Job{Name: "sweep_1.trial_0", Parent: "sweep_1", Step: "trial_0", Type: hangar.JobTypeCommand, Spec: jobSpec})
	if got := getJob(t, s, ws, "sweep_1.trial_0").Parent; got != "sweep_1" {
		t.Errorf("trial's parent: got %q, want sweep_1", got)
	}

	// A job without a name gets one.
	anon := commandJob("")
	createJob(t, s, ws, anon)
	if err := hangar.ValidateJobName(anon.Name); err != nil {
		t.Errorf("generated name %q: %v", anon.Name, err)
	}

	ev := allEvents(t, s)[before:]
	var targets []string
	for _, e := range ev {
		if e.Action != hangar.ActJobWrite || e.Actor != "alice" || e.Workspace != ws {
			t.Errorf("event %+v: want jobs/write by alice in %s", e, ws)
		}
		targets = append(targets, e.Target)
	}
	want := []string{"jobs/train_1", "jobs/pipe_1", "jobs/pipe_1.prep", "jobs/custom-train", "jobs/pipe_1.late", "jobs/sweep_1", "jobs/sweep_1.trial_0", "jobs/" + anon.Name}
	if diff := cmp.Diff(want, targets); diff != "" {
		t.Errorf("audit targets (-want +got):\n%s", diff)
	}
	wantVerified(t, s, int64(len(allEvents(t, s))))
}

func testJobCreateErrors(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	ws := hangar.DefaultWorkspace
	createJob(t, s, ws, commandJob("taken"))
	createJob(t, s, ws, &hangar.Job{Name: "pipe", Type: hangar.JobTypePipeline, Spec: `{}`})
	before := len(allEvents(t, s))
	manySteps := make([]*hangar.Job, hangar.MaxJobSteps+1)
	for i := range manySteps {
		manySteps[i] = &hangar.Job{Step: fmt.Sprintf("s%d", i), Type: hangar.JobTypeCommand, Spec: jobSpec}
	}
	for _, c := range []struct {
		name  string
		ws    string
		job   *hangar.Job
		steps []*hangar.Job
		code  string
	}{
		{"nil job", ws, nil, nil, hangar.EINVALID},
		{"bad workspace", "Bad WS", commandJob("a"), nil, hangar.EINVALID},
		{"missing workspace", "nowhere", commandJob("a"), nil, hangar.ENOTFOUND},
		{"bad name", ws, commandJob("-a"), nil, hangar.EINVALID},
		{"bad type", ws, &hangar.Job{Name: "a", Type: "automl", Spec: jobSpec}, nil, hangar.EINVALID},
		{"spec not an object", ws, &hangar.Job{Name: "a", Type: hangar.JobTypeCommand, Spec: `[1]`}, nil, hangar.EINVALID},
		{"spec not JSON", ws, &hangar.Job{Name: "a", Type: hangar.JobTypeCommand, Spec: `{`}, nil, hangar.EINVALID},
		{"bad status", ws, &hangar.Job{Name: "a", Type: hangar.JobTypeCommand, Spec: jobSpec, Status: "Done"}, nil, hangar.EINVALID},
		{"bad tag text", ws, &hangar.Job{Name: "a", Type: hangar.JobTypeCommand, Spec: jobSpec, Tags: map[string]string{"k": "a\x00b"}}, nil, hangar.EINVALID},
		{"bad output", ws, &hangar.Job{Name: "a", Type: hangar.JobTypeCommand, Spec: jobSpec, Outputs: map[string]hangar.JobOutput{"o": {Manifest: "nope"}}}, nil, hangar.EINVALID},
		{"bad reuse key text", ws, &hangar.Job{Name: "a", Type: hangar.JobTypeCommand, Spec: jobSpec, ReuseKey: "\xff"}, nil, hangar.EINVALID},
		{"steps of a command", ws, commandJob("a"), []*hangar.Job{{Step: "s", Type: hangar.JobTypeCommand, Spec: jobSpec}}, hangar.EINVALID},
		{"step of another parent", ws, &hangar.Job{Name: "p", Type: hangar.JobTypePipeline, Spec: `{}`},
			[]*hangar.Job{{Step: "s", Parent: "q", Type: hangar.JobTypeCommand, Spec: jobSpec}}, hangar.EINVALID},
		{"step without step name", ws, &hangar.Job{Name: "p", Type: hangar.JobTypePipeline, Spec: `{}`},
			[]*hangar.Job{{Name: "p.s", Type: hangar.JobTypeCommand, Spec: jobSpec}}, hangar.EINVALID},
		{"two steps of one name", ws, &hangar.Job{Name: "p", Type: hangar.JobTypePipeline, Spec: `{}`},
			[]*hangar.Job{{Step: "s", Type: hangar.JobTypeCommand, Spec: jobSpec}, {Step: "s", Type: hangar.JobTypeCommand, Spec: jobSpec}}, hangar.EINVALID},
		{"too many steps", ws, &hangar.Job{Name: "p", Type: hangar.JobTypePipeline, Spec: `{}`}, manySteps, hangar.EINVALID},
		{"name taken", ws, commandJob("taken"), nil, hangar.ECONFLICT},
		{"step name taken", ws, &hangar.Job{Name: "p", Type: hangar.JobTypePipeline, Spec: `{}`},
			[]*hangar.Job{{Name: "taken", Step: "s", Type: hangar.JobTypeCommand, Spec: jobSpec}}, hangar.ECONFLICT},
		{"parent missing", ws, &hangar.Job{Name: "x.s", Parent: "x", Step: "s", Type: hangar.JobTypeCommand, Spec: jobSpec}, nil, hangar.ENOTFOUND},
		{"parent not a pipeline", ws, &hangar.Job{Name: "taken.s", Parent: "taken", Step: "s", Type: hangar.JobTypeCommand, Spec: jobSpec}, nil, hangar.EINVALID},
	} {
		t.Run(c.name, func(t *testing.T) {
			wantCode(t, "create", s.Jobs.CreateJob(ctx, c.ws, c.job, c.steps), c.code)
		})
	}
	// Nothing of a failed create is stored: not the pipeline whose step
	// name was taken, nor its audit event.
	wantCode(t, "get p", func() error { _, err := s.Jobs.Job(ctx, ws, "p"); return err }(), hangar.ENOTFOUND)
	if n := len(allEvents(t, s)); n != before {
		t.Errorf("events after failed creates: got %d, want %d", n, before)
	}
	for _, c := range []struct{ ws, name, code string }{
		{ws, "missing", hangar.ENOTFOUND},
		{ws, "-bad", hangar.EINVALID},
		{"Bad WS", "taken", hangar.EINVALID},
		{"nowhere", "taken", hangar.ENOTFOUND},
	} {
		_, err := s.Jobs.Job(ctx, c.ws, c.name)
		wantCode(t, "get "+c.ws+"/"+c.name, err, c.code)
	}
}

func testJobList(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	ws := hangar.DefaultWorkspace
	if err := s.Workspaces.CreateWorkspace(ctx, &hangar.Workspace{Name: "other"}); err != nil {
		t.Fatalf("create workspace: %v", err)
	}
	createJob(t, s, "other", commandJob("elsewhere"))
	for i := range 5 {
		j := commandJob(fmt.Sprintf("job%d", i))
		if i%2 == 0 {
			j.ExperimentName = "even"
		}
		createJob(t, s, ws, j)
	}
	steps := []*hangar.Job{
		{Step: "b", Type: hangar.JobTypeCommand, Spec: jobSpec},
		{Step: "a", Type: hangar.JobTypeCommand, Spec: jobSpec},
		{Step: "c", Type: hangar.JobTypeCommand, Spec: jobSpec},
	}
	createJob(t, s, ws, &hangar.Job{Name: "pipe", Type: hangar.JobTypePipeline, Spec: `{}`}, steps...)
	if _, err := s.Jobs.TransitionJob(ctx, ws, "job1", hangar.JobTransition{To: hangar.JobQueued}); err != nil {
		t.Fatalf("queue job1: %v", err)
	}
	if _, err := s.Jobs.TransitionJob(ctx, ws, "job3", hangar.JobTransition{To: hangar.JobFailed}); err != nil {
		t.Fatalf("fail job3: %v", err)
	}
	if _, err := s.Jobs.SetJobArchived(ctx, ws, "job4", true); err != nil {
		t.Fatalf("archive job4: %v", err)
	}

	all := func(f hangar.JobFilter, size int) []string {
		t.Helper()
		var names []string
		opt := hangar.ListOptions{MaxResults: size}
		for range 20 {
			p, err := s.Jobs.ListJobs(ctx, ws, f, opt)
			if err != nil {
				t.Fatalf("list %+v: %v", f, err)
			}
			if len(p.Items) > size {
				t.Fatalf("list %+v: a page of %d items, want at most %d", f, len(p.Items), size)
			}
			names = append(names, jobNames(p.Items)...)
			if p.NextPageToken == "" {
				return names
			}
			opt.PageToken = p.NextPageToken
		}
		t.Fatalf("list %+v: too many pages", f)
		return nil
	}
	for _, c := range []struct {
		name string
		f    hangar.JobFilter
		want []string
	}{
		{"top level newest first", hangar.JobFilter{}, []string{"pipe", "job3", "job2", "job1", "job0"}},
		{"archived too", hangar.JobFilter{IncludeArchived: true}, []string{"pipe", "job4", "job3", "job2", "job1", "job0"}},
		{"steps in creation order", hangar.JobFilter{Parent: "pipe"}, []string{"pipe.b", "pipe.a", "pipe.c"}},
		{"statuses", hangar.JobFilter{Statuses: []hangar.JobStatus{hangar.JobQueued, hangar.JobFailed}}, []string{"job3", "job1"}},
		{"experiment", hangar.JobFilter{ExperimentName: "even", IncludeArchived: true}, []string{"job4", "job2", "job0"}},
		{"no such parent", hangar.JobFilter{Parent: "nope"}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, size := range []int{1, 2, 100} {
				if diff := cmp.Diff(c.want, all(c.f, size)); diff != "" {
					t.Errorf("pages of %d (-want +got):\n%s", size, diff)
				}
			}
		})
	}

	p, err := s.Jobs.ListJobs(ctx, ws, hangar.JobFilter{}, hangar.ListOptions{MaxResults: 1})
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	for _, c := range []struct {
		name string
		ws   string
		f    hangar.JobFilter
		opt  hangar.ListOptions
	}{
		{"bad workspace", "Bad WS", hangar.JobFilter{}, hangar.ListOptions{}},
		{"bad parent", ws, hangar.JobFilter{Parent: "-x"}, hangar.ListOptions{}},
		{"bad status", ws, hangar.JobFilter{Statuses: []hangar.JobStatus{"Done"}}, hangar.ListOptions{}},
		{"bad experiment text", ws, hangar.JobFilter{ExperimentName: "a\x00"}, hangar.ListOptions{}},
		{"negative page size", ws, hangar.JobFilter{}, hangar.ListOptions{MaxResults: -1}},
		{"bad token", ws, hangar.JobFilter{}, hangar.ListOptions{PageToken: "garbage"}},
		{"top-level token for steps", ws, hangar.JobFilter{Parent: "pipe"}, hangar.ListOptions{PageToken: p.NextPageToken}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := s.Jobs.ListJobs(ctx, c.ws, c.f, c.opt)
			wantCode(t, "list", err, hangar.EINVALID)
		})
	}
}

func testJobTransition(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	ws := hangar.DefaultWorkspace
	createJob(t, s, ws, commandJob("j"))
	step := func(what string, tr hangar.JobTransition) *hangar.Job {
		t.Helper()
		j, err := s.Jobs.TransitionJob(ctx, ws, "j", tr)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if diff := cmp.Diff(j, getJob(t, s, ws, "j")); diff != "" {
			t.Fatalf("%s: returned and stored differ (-returned +stored):\n%s", what, diff)
		}
		return j
	}
	events := len(allEvents(t, s))
	wantEvents := func(what string, n int) {
		t.Helper()
		if got := len(allEvents(t, s)) - events; got != n {
			t.Errorf("%s: got %d new audit events, want %d", what, got, n)
		}
		events += n
	}

	j := step("queue", hangar.JobTransition{From: []hangar.JobStatus{hangar.JobNotStarted}, To: hangar.JobQueued,
		Spec: `{"command":"resolved"}`, ReuseKey: "rk"})
	if j.Status != hangar.JobQueued || j.Spec != `{"command":"resolved"}` || j.ReuseKey != "rk" || j.Attempt != 0 {
		t.Errorf("queued: got %+v", j)
	}
	wantEvents("queue", 1)
	if last := lastEvent(t, s); last.Target != "jobs/j" || last.Action != hangar.ActJobWrite {
		t.Errorf("queue event: got %+v, want jobs/write on jobs/j", last)
	}

	j = step("claim", hangar.JobTransition{From: []hangar.JobStatus{hangar.JobQueued}, To: hangar.JobPreparing, Holder: "runner-1", Lease: time.Minute})
	if j.Attempt != 1 || j.Holder != "runner-1" || j.LeaseExpires == nil || j.StartedAt != nil {
		t.Errorf("claimed: got attempt %d, holder %q, lease %v, started %v; want 1, runner-1, a lease, not started", j.Attempt, j.Holder, j.LeaseExpires, j.StartedAt)
	}
	if d := j.LeaseExpires.Sub(j.CreatedAt); d < 59*time.Second || d > time.Hour {
		t.Errorf("lease expires %v after creation, want about a minute", d)
	}
	wantEvents("claim", 1)

	j = step("run", hangar.JobTransition{To: hangar.JobRunning, Holder: "runner-1", Lease: time.Minute, RunID: "run1", ExperimentID: "7"})
	if j.StartedAt == nil || j.RunID != "run1" || j.ExperimentID != "7" || j.Attempt != 1 {
		t.Errorf("running: got %+v", j)
	}
	started := *j.StartedAt
	wantEvents("run", 1)

	j = step("heartbeat", hangar.JobTransition{Holder: "runner-1", Lease: 2 * time.Minute})
	if j.Status != hangar.JobRunning || !j.StartedAt.Equal(started) || j.Holder != "runner-1" {
		t.Errorf("after heartbeat: got %+v", j)
	}
	wantEvents("heartbeat", 0)

	outs := map[string]hangar.JobOutput{
		"model": {Type: "uri_folder", URI: hangar.JobOutputURI("j", "model"), Manifest: hangar.Digest("sha256:" + strings.Repeat("ab", 32)), Size: 10},
		"acc":   {Type: "string", URI: hangar.JobOutputURI("j", "acc"), Value: "0.9"},
	}
	step("finalize", hangar.JobTransition{To: hangar.JobFinalizing, Holder: "runner-1"})
	j = step("complete", hangar.JobTransition{From: []hangar.JobStatus{hangar.JobFinalizing}, To: hangar.JobCompleted, Holder: "runner-1", Outputs: outs})
	if j.Status != hangar.JobCompleted || j.EndedAt == nil || j.Holder != "" || j.LeaseExpires != nil {
		t.Errorf("completed: got status %s, ended %v, holder %q, lease %v; want Completed, ended, no lease", j.Status, j.EndedAt, j.Holder, j.LeaseExpires)
	}
	if diff := cmp.Diff(outs, j.Outputs); diff != "" {
		t.Errorf("outputs (-want +got):\n%s", diff)
	}
	wantEvents("finalize and complete", 2)

	// Cancel: requested, then the scheduler ends it with a reason.
	createJob(t, s, ws, commandJob("c"))
	if _, err := s.Jobs.TransitionJob(ctx, ws, "c", hangar.JobTransition{To: hangar.JobCancelRequested}); err != nil {
		t.Fatalf("request cancel: %v", err)
	}
	_, err := s.Jobs.TransitionJob(ctx, ws, "c", hangar.JobTransition{To: hangar.JobRunning})
	wantCode(t, "run after cancel request", err, hangar.ECONFLICT)
	c, err := s.Jobs.TransitionJob(ctx, ws, "c", hangar.JobTransition{To: hangar.JobCanceled, Error: "canceled by alice"})
	if err != nil {
		t.Fatalf("cancel: %v", err)
	}
	if c.Status != hangar.JobCanceled || c.Error != "canceled by alice" || c.EndedAt == nil {
		t.Errorf("canceled: got %+v", c)
	}

	// A lease that expired is queued again by the scheduler.
	createJob(t, s, ws, commandJob("r"))
	if _, err := s.Jobs.TransitionJob(ctx, ws, "r", hangar.JobTransition{To: hangar.JobPreparing, Holder: "a", Lease: time.Minute}); err != nil {
		t.Fatalf("claim r: %v", err)
	}
	r, err := s.Jobs.TransitionJob(ctx, ws, "r", hangar.JobTransition{From: []hangar.JobStatus{hangar.JobPreparing}, To: hangar.JobQueued, Release: true})
	if err != nil {
		t.Fatalf("requeue r: %v", err)
	}
	if r.Holder != "" || r.LeaseExpires != nil || r.Attempt != 1 {
		t.Errorf("requeued: got holder %q, lease %v, attempt %d; want none, none, 1", r.Holder, r.LeaseExpires, r.Attempt)
	}
	r, err = s.Jobs.TransitionJob(ctx, ws, "r", hangar.JobTransition{To: hangar.JobPreparing, Holder: "b", Lease: time.Minute})
	if err != nil || r.Attempt != 2 {
		t.Errorf("second claim: got %v, attempt %d; want attempt 2", err, r.Attempt)
	}

	// A long error is cut to MaxJobErrorSize, on a rune boundary.
	long := strings.Repeat("é", hangar.MaxJobErrorSize)
	r, err = s.Jobs.TransitionJob(ctx, ws, "r", hangar.JobTransition{To: hangar.JobFailed, Error: long})
	if err != nil {
		t.Fatalf("fail with a long error: %v", err)
	}
	if len(r.Error) > hangar.MaxJobErrorSize || !strings.HasPrefix(long, r.Error) || len(r.Error) < hangar.MaxJobErrorSize-1 {
		t.Errorf("long error: got %d bytes, want the first %d", len(r.Error), hangar.MaxJobErrorSize)
	}
	wantVerified(t, s, int64(len(allEvents(t, s))))
}

func testJobTransitionErrors(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	ws := hangar.DefaultWorkspace
	createJob(t, s, ws, commandJob("j"))
	createJob(t, s, ws, &hangar.Job{Name: "done", Type: hangar.JobTypeCommand, Spec: jobSpec, Status: hangar.JobCompleted})
	if _, err := s.Jobs.TransitionJob(ctx, ws, "j", hangar.JobTransition{To: hangar.JobQueued}); err != nil {
		t.Fatalf("queue: %v", err)
	}
	before := getJob(t, s, ws, "j")
	events := len(allEvents(t, s))
	for _, c := range []struct {
		name, job string
		tr        hangar.JobTransition
		code      string
		msg       string
	}{
		{"missing job", "nope", hangar.JobTransition{To: hangar.JobQueued}, hangar.ENOTFOUND, ""},
		{"bad name", "-j", hangar.JobTransition{}, hangar.EINVALID, ""},
		{"bad from", "j", hangar.JobTransition{From: []hangar.JobStatus{"Done"}}, hangar.EINVALID, ""},
		{"bad to", "j", hangar.JobTransition{To: "Done"}, hangar.EINVALID, ""},
		{"lease without holder", "j", hangar.JobTransition{Lease: time.Minute}, hangar.EINVALID, ""},
		{"lease too long", "j", hangar.JobTransition{Holder: "h", Lease: 2 * time.Hour}, hangar.EINVALID, ""},
		{"bad spec", "j", hangar.JobTransition{Spec: "[]"}, hangar.EINVALID, ""},
		{"bad reused from", "j", hangar.JobTransition{ReusedFrom: "-x"}, hangar.EINVALID, ""},
		{"bad run id text", "j", hangar.JobTransition{RunID: "a\x00"}, hangar.EINVALID, ""},
		{"bad output", "j", hangar.JobTransition{Outputs: map[string]hangar.JobOutput{"o": {Manifest: "x"}}}, hangar.EINVALID, ""},
		{"status not in from", "j", hangar.JobTransition{From: []hangar.JobStatus{hangar.JobNotStarted, hangar.JobRunning}, To: hangar.JobPreparing},
			hangar.ECONFLICT, "is Queued, not one of NotStarted, Running"},
		{"back to NotStarted", "j", hangar.JobTransition{To: hangar.JobNotStarted}, hangar.ECONFLICT, "never goes back"},
		{"terminal is final", "done", hangar.JobTransition{To: hangar.JobRunning}, hangar.ECONFLICT, "is Completed: it is final"},
		{"no heartbeat on a terminal job", "done", hangar.JobTransition{Holder: "h", Lease: time.Minute}, hangar.ECONFLICT, "final"},
		{"no error on a terminal job", "done", hangar.JobTransition{Error: "late", Outputs: map[string]hangar.JobOutput{}}, hangar.ECONFLICT, "final"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := s.Jobs.TransitionJob(ctx, ws, c.job, c.tr)
			wantCode(t, "transition", err, c.code)
			if c.msg != "" && !strings.Contains(err.Error(), c.msg) {
				t.Errorf("error %q: want it to say %q", err, c.msg)
			}
		})
	}
	if diff := cmp.Diff(before, getJob(t, s, ws, "j")); diff != "" {
		t.Errorf("failed transitions changed the job (-before +after):\n%s", diff)
	}
	if n := len(allEvents(t, s)); n != events {
		t.Errorf("events after failed transitions: got %d, want %d", n, events)
	}
}

// testJobOutputAnnotation: the one change a completed job takes is the
// scheduler recording the data asset its outputs were registered as.
func testJobOutputAnnotation(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	ws := hangar.DefaultWorkspace
	createJob(t, s, ws, &hangar.Job{Name: "done", Type: hangar.JobTypeCommand, Spec: jobSpec, Status: hangar.JobCompleted})
	createJob(t, s, ws, &hangar.Job{Name: "failed", Type: hangar.JobTypeCommand, Spec: jobSpec, Status: hangar.JobFailed})
	outs := map[string]hangar.JobOutput{"o": {Type: "uri_folder", URI: hangar.JobOutputURI("done", "o"), Asset: "d:1"}}
	j, err := s.Jobs.TransitionJob(ctx, ws, "done", hangar.JobTransition{From: []hangar.JobStatus{hangar.JobCompleted}, Outputs: outs})
	if err != nil {
		t.Fatalf("annotate outputs: %v", err)
	}
	if j.Status != hangar.JobCompleted || j.Outputs["o"].Asset != "d:1" {
		t.Errorf("annotated job: %s %+v", j.Status, j.Outputs)
	}
	_, err = s.Jobs.TransitionJob(ctx, ws, "failed", hangar.JobTransition{Outputs: outs})
	wantCode(t, "annotate a failed job", err, hangar.ECONFLICT)
}

func testJobLeases(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	ws := hangar.DefaultWorkspace
	createJob(t, s, ws, commandJob("j"))
	if _, err := s.Jobs.TransitionJob(ctx, ws, "j", hangar.JobTransition{To: hangar.JobPreparing, Holder: "a", Lease: time.Minute}); err != nil {
		t.Fatalf("claim: %v", err)
	}
	// Another holder is refused while the lease runs, naming the holder.
	_, err := s.Jobs.TransitionJob(ctx, ws, "j", hangar.JobTransition{Holder: "b", Lease: time.Minute})
	wantCode(t, "heartbeat of another holder", err, hangar.ECONFLICT)
	if err != nil && !strings.Contains(err.Error(), "held by a") {
		t.Errorf("error %q: want it to name holder a", err)
	}
	_, err = s.Jobs.TransitionJob(ctx, ws, "j", hangar.JobTransition{To: hangar.JobRunning, Holder: "b"})
	wantCode(t, "run by another holder", err, hangar.ECONFLICT)
	// The holder itself renews.
	if _, err := s.Jobs.TransitionJob(ctx, ws, "j", hangar.JobTransition{Holder: "a", Lease: time.Minute}); err != nil {
		t.Fatalf("heartbeat: %v", err)
	}
	// Once the lease expired, another holder takes the job.
	if err := s.Exec(ctx, `UPDATE jobs SET lease_expires = ? WHERE name = ?`, time.Now().Add(-time.Second), "j"); err != nil {
		t.Fatalf("expire the lease: %v", err)
	}
	j, err := s.Jobs.TransitionJob(ctx, ws, "j", hangar.JobTransition{From: []hangar.JobStatus{hangar.JobPreparing}, Holder: "b", Lease: time.Minute})
	if err != nil {
		t.Fatalf("take an expired lease: %v", err)
	}
	if j.Holder != "b" || !j.LeaseExpires.After(time.Now()) {
		t.Errorf("taken lease: got holder %q until %v, want b in the future", j.Holder, j.LeaseExpires)
	}
	// The old holder lost it.
	_, err = s.Jobs.TransitionJob(ctx, ws, "j", hangar.JobTransition{Holder: "a", Lease: time.Minute})
	wantCode(t, "heartbeat of the old holder", err, hangar.ECONFLICT)
	// A transition without a holder (the scheduler's) overrides.
	j, err = s.Jobs.TransitionJob(ctx, ws, "j", hangar.JobTransition{To: hangar.JobQueued, Release: true})
	if err != nil || j.Holder != "" || j.LeaseExpires != nil {
		t.Errorf("release: got %v, holder %q, lease %v", err, j.Holder, j.LeaseExpires)
	}
}

// testJobConcurrentClaims has claimers race for each of several queued
// jobs, half of them through other (a second store on the same database)
// when given: exactly one claimer wins each job.
func testJobConcurrentClaims(t *testing.T, s, other *Store) {
	ctx := actorCtx(t)
	ws := hangar.DefaultWorkspace
	const jobs, claimers = 5, 6
	for i := range jobs {
		j := commandJob(fmt.Sprintf("j%d", i))
		j.Status = hangar.JobQueued
		createJob(t, s, ws, j)
	}
	for i := range jobs {
		name := fmt.Sprintf("j%d", i)
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			winners []string
		)
		for c := range claimers {
			st := s
			if other != nil && c%2 == 1 {
				st = other
			}
			holder := fmt.Sprintf("runner-%d", c)
			wg.Go(func() {
				_, err := st.Jobs.TransitionJob(ctx, ws, name, hangar.JobTransition{
					From: []hangar.JobStatus{hangar.JobQueued}, To: hangar.JobPreparing, Holder: holder, Lease: time.Minute})
				switch hangar.ErrorCode(err) {
				case "":
					mu.Lock()
					winners = append(winners, holder)
					mu.Unlock()
				case hangar.ECONFLICT:
				default:
					t.Errorf("claim %s by %s: %v", name, holder, err)
				}
			})
		}
		wg.Wait()
		if len(winners) != 1 {
			t.Fatalf("claims of %s: got winners %v, want exactly one", name, winners)
		}
		j := getJob(t, s, ws, name)
		if j.Holder != winners[0] || j.Attempt != 1 || j.Status != hangar.JobPreparing {
			t.Errorf("%s after the race: got holder %q, attempt %d, status %s; want %s, 1, Preparing", name, j.Holder, j.Attempt, j.Status, winners[0])
		}
	}
}

func testJobArchive(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	ws := hangar.DefaultWorkspace
	createJob(t, s, ws, &hangar.Job{Name: "p", Type: hangar.JobTypePipeline, Spec: `{}`}, &hangar.Job{Step: "s", Type: hangar.JobTypeCommand, Spec: jobSpec})
	events := len(allEvents(t, s))
	j, err := s.Jobs.SetJobArchived(ctx, ws, "p", true)
	if err != nil || !j.Archived {
		t.Fatalf("archive: got %v, archived %v", err, j != nil && j.Archived)
	}
	if last := lastEvent(t, s); last.Target != "jobs/p" || last.Action != hangar.ActJobWrite {
		t.Errorf("archive event: got %+v", last)
	}
	if _, err := s.Jobs.SetJobArchived(ctx, ws, "p", true); err != nil {
		t.Fatalf("archive again: %v", err)
	}
	if n := len(allEvents(t, s)) - events; n != 1 {
		t.Errorf("events after archiving twice: got %d, want 1 (no change, no event)", n)
	}
	j, err = s.Jobs.SetJobArchived(ctx, ws, "p", false)
	if err != nil || j.Archived {
		t.Fatalf("restore: got %v, archived %v", err, j != nil && j.Archived)
	}
	_, err = s.Jobs.SetJobArchived(ctx, ws, "p.s", true)
	wantCode(t, "archive a step", err, hangar.EINVALID)
	_, err = s.Jobs.SetJobArchived(ctx, ws, "nope", true)
	wantCode(t, "archive a missing job", err, hangar.ENOTFOUND)
	_, err = s.Jobs.SetJobArchived(ctx, ws, "-x", true)
	wantCode(t, "archive a bad name", err, hangar.EINVALID)
}

func testJobReusable(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	ws := hangar.DefaultWorkspace
	if err := s.Workspaces.CreateWorkspace(ctx, &hangar.Workspace{Name: "other"}); err != nil {
		t.Fatalf("create workspace: %v", err)
	}
	_, err := s.Jobs.ReusableJob(ctx, ws, "k")
	wantCode(t, "no job yet", err, hangar.ENOTFOUND)
	finish := func(ws, name, key string, status hangar.JobStatus, reusedFrom string) {
		t.Helper()
		j := commandJob(name)
		j.ReuseKey = key
		createJob(t, s, ws, j)
		if _, err := s.Jobs.TransitionJob(ctx, ws, name, hangar.JobTransition{To: status, ReusedFrom: reusedFrom}); err != nil {
			t.Fatalf("finish %s: %v", name, err)
		}
	}
	finish(ws, "first", "k", hangar.JobCompleted, "")
	finish(ws, "second", "k", hangar.JobCompleted, "")
	finish(ws, "failed", "k", hangar.JobFailed, "")
	finish(ws, "reused", "k", hangar.JobCompleted, "second")
	finish(ws, "otherkey", "k2", hangar.JobCompleted, "")
	finish("other", "elsewhere", "k3", hangar.JobCompleted, "")
	running := commandJob("running")
	running.ReuseKey = "k3"
	createJob(t, s, ws, running)

	j, err := s.Jobs.ReusableJob(ctx, ws, "k")
	if err != nil || j.Name != "second" {
		t.Errorf("reusable for k: got %v, %v; want second", j, err)
	}
	_, err = s.Jobs.ReusableJob(ctx, ws, "k3")
	wantCode(t, "key of another workspace", err, hangar.ENOTFOUND)
	_, err = s.Jobs.ReusableJob(ctx, ws, "")
	wantCode(t, "empty key", err, hangar.EINVALID)
	_, err = s.Jobs.ReusableJob(ctx, "Bad WS", "k")
	wantCode(t, "bad workspace", err, hangar.EINVALID)
}

func testJobActive(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	if err := s.Workspaces.CreateWorkspace(ctx, &hangar.Workspace{Name: "other"}); err != nil {
		t.Fatalf("create workspace: %v", err)
	}
	createJob(t, s, hangar.DefaultWorkspace, commandJob("a"))
	createJob(t, s, "other", commandJob("b"))
	createJob(t, s, hangar.DefaultWorkspace, commandJob("done"))
	createJob(t, s, hangar.DefaultWorkspace, &hangar.Job{Name: "p", Type: hangar.JobTypePipeline, Spec: `{}`},
		&hangar.Job{Step: "s", Type: hangar.JobTypeCommand, Spec: jobSpec})
	if _, err := s.Jobs.TransitionJob(ctx, hangar.DefaultWorkspace, "done", hangar.JobTransition{To: hangar.JobCanceled}); err != nil {
		t.Fatalf("cancel: %v", err)
	}
	if _, err := s.Jobs.TransitionJob(ctx, "other", "b", hangar.JobTransition{To: hangar.JobCancelRequested}); err != nil {
		t.Fatalf("request cancel: %v", err)
	}
	for _, c := range []struct {
		limit int
		want  []string
	}{{100, []string{"a", "b", "p", "p.s"}}, {2, []string{"a", "b"}}} {
		got, err := s.Jobs.ActiveJobs(ctx, c.limit)
		if err != nil {
			t.Fatalf("active jobs: %v", err)
		}
		if diff := cmp.Diff(c.want, jobNames(got)); diff != "" {
			t.Errorf("active jobs, limit %d (-want +got):\n%s", c.limit, diff)
		}
		if len(got) > 1 && got[1].Workspace != "other" {
			t.Errorf("active job b: got workspace %q, want other", got[1].Workspace)
		}
	}
	_, err := s.Jobs.ActiveJobs(ctx, 0)
	wantCode(t, "limit 0", err, hangar.EINVALID)
}

func testJobLogs(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	ws := hangar.DefaultWorkspace
	createJob(t, s, ws, commandJob("j"))
	createJob(t, s, ws, commandJob("quiet"))
	events := len(allEvents(t, s))
	var all []byte
	for i, chunk := range []string{"hello ", "", "world\n", strings.Repeat("x", 1000), "é\n"} {
		if err := s.Jobs.AppendJobLog(ctx, ws, "j", []byte(chunk)); err != nil {
			t.Fatalf("append chunk %d: %v", i, err)
		}
		all = append(all, chunk...)
	}
	if n := len(allEvents(t, s)); n != events {
		t.Errorf("events after log appends: got %d, want %d (logs are not audited)", n, events)
	}
	size := int64(len(all))
	for _, c := range []struct {
		off   int64
		limit int
	}{{0, 1 << 20}, {0, 3}, {3, 5}, {6, 6}, {5, 7}, {10, 1}, {size - 1, 10}, {size, 10}, {0, int(size)}, {100, 500}} {
		got, next, err := s.Jobs.JobLog(ctx, ws, "j", c.off, c.limit)
		if err != nil {
			t.Fatalf("log from %d, %d bytes: %v", c.off, c.limit, err)
		}
		end := min(c.off+int64(c.limit), size)
		if !bytes.Equal(got, all[c.off:end]) || next != end {
			t.Errorf("log from %d, %d bytes: got %q and next %d, want %q and %d", c.off, c.limit, got, next, all[c.off:end], end)
		}
	}
	// Reading the whole log by following next offsets gives it back.
	var read []byte
	for off := int64(0); off < size; {
		b, next, err := s.Jobs.JobLog(ctx, ws, "j", off, 7)
		if err != nil {
			t.Fatalf("log from %d: %v", off, err)
		}
		read, off = append(read, b...), next
	}
	if !bytes.Equal(read, all) {
		t.Errorf("log read in steps: got %q, want %q", read, all)
	}
	got, next, err := s.Jobs.JobLog(ctx, ws, "quiet", 0, 10)
	if err != nil || len(got) != 0 || next != 0 {
		t.Errorf("empty log: got %q, %d, %v; want nothing at 0", got, next, err)
	}

	wantCode(t, "append too much", s.Jobs.AppendJobLog(ctx, ws, "j", make([]byte, hangar.MaxJobLogChunk+1)), hangar.EINVALID)
	wantCode(t, "append to a missing job", s.Jobs.AppendJobLog(ctx, ws, "nope", []byte("x")), hangar.ENOTFOUND)
	wantCode(t, "append to a bad name", s.Jobs.AppendJobLog(ctx, ws, "-x", []byte("x")), hangar.EINVALID)
	if err := s.Jobs.AppendJobLog(ctx, ws, "j", make([]byte, hangar.MaxJobLogChunk)); err != nil {
		t.Errorf("append the largest chunk: %v", err)
	}
	for _, c := range []struct {
		name  string
		job   string
		off   int64
		limit int
		code  string
	}{
		{"missing job", "nope", 0, 10, hangar.ENOTFOUND},
		{"bad name", "-x", 0, 10, hangar.EINVALID},
		{"negative offset", "j", -1, 10, hangar.EINVALID},
		{"past the end", "j", size + hangar.MaxJobLogChunk + 1, 10, hangar.EINVALID},
		{"zero limit", "j", 0, 0, hangar.EINVALID},
	} {
		_, _, err := s.Jobs.JobLog(ctx, ws, c.job, c.off, c.limit)
		wantCode(t, "log: "+c.name, err, c.code)
	}
}
