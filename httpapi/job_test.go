package httpapi_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/artifact"
	"github.com/hangar-ml/hangar/httpapi"
)

// fakeSubmitter creates one command job per submission, named after the
// file, in the store, and remembers what it got.
type fakeSubmitter struct {
	jobs hangar.JobService
	mu   sync.Mutex
	got  []*hangar.JobSubmission
}

func (f *fakeSubmitter) SubmitJob(ctx context.Context, workspace string, s *hangar.JobSubmission) (*hangar.Job, error) {
	f.mu.Lock()
	f.got = append(f.got, s)
	f.mu.Unlock()
	j := &hangar.Job{Name: strings.TrimSuffix(s.File, ".yml"), Type: hangar.JobTypeCommand, Spec: `{}`}
	if err := f.jobs.CreateJob(ctx, workspace, j, nil); err != nil {
		return nil, err
	}
	return j, nil
}

// jobEnv is a server with jobs, a fake submitter and a recorder of job
// events.
type jobEnv struct {
	*env
	sub    *fakeSubmitter
	mu     sync.Mutex
	events []string
}

func newJobEnv(t *testing.T) *jobEnv {
	je := &jobEnv{}
	je.env = newEnvWith(t, func(s *httpapi.Server) {
		je.sub = &fakeSubmitter{}
		s.JobSubmitter = je.sub
		s.JobEvents = func(ws, name string) {
			je.mu.Lock()
			je.events = append(je.events, ws+"/"+name)
			je.mu.Unlock()
		}
	})
	je.sub.jobs = je.api.Jobs
	return je
}

func (je *jobEnv) takeEvents() []string {
	je.mu.Lock()
	defer je.mu.Unlock()
	ev := je.events
	je.events = nil
	return ev
}

func (je *jobEnv) submit(t *testing.T, file string) *hangar.Job {
	t.Helper()
	j, err := je.admin.SubmitJob(t.Context(), hangar.DefaultWorkspace, &hangar.JobSubmission{File: file, YAML: "command: echo hi\n"})
	if err != nil {
		t.Fatalf("submit %s: %v", file, err)
	}
	return j
}

func TestJobSubmit(t *testing.T) {
	ctx := t.Context()
	t.Run("no submitter", func(t *testing.T) {
		e := newEnv(t)
		_, err := e.admin.SubmitJob(ctx, hangar.DefaultWorkspace, &hangar.JobSubmission{File: "job.yml", YAML: "x: 1"})
		if hangar.ErrorCode(err) != hangar.ENOTIMPLEMENTED || !strings.Contains(err.Error(), "job submitter") {
			t.Errorf("got %v, want not_implemented naming the job submitter", err)
		}
	})
	je := newJobEnv(t)
	sub := &hangar.JobSubmission{File: "train.yml", YAML: "command: python train.py\n", Sets: []string{"inputs.lr=0.1"},
		Files:   map[string]string{"../components/train.yml": "name: train\n"},
		Uploads: map[string]hangar.Digest{"./src": hangar.Digest("sha256:" + strings.Repeat("ab", 32))}}
	j, err := je.admin.SubmitJob(ctx, hangar.DefaultWorkspace, sub)
	if err != nil {
		t.Fatalf("submit: %v", err)
	}
	if j.Name != "train" || j.Workspace != hangar.DefaultWorkspace || j.Status != hangar.JobNotStarted || j.CreatedBy != "admin" {
		t.Errorf("submitted job: got %+v", j)
	}
	if len(je.sub.got) != 1 || je.sub.got[0].Files["../components/train.yml"] != "name: train\n" || je.sub.got[0].Sets[0] != "inputs.lr=0.1" ||
		je.sub.got[0].Uploads["./src"] != sub.Uploads["./src"] {
		t.Errorf("submitter got %+v, want the submission", je.sub.got)
	}
	if got := je.takeEvents(); len(got) != 1 || got[0] != "default/train" {
		t.Errorf("job events: got %v, want [default/train]", got)
	}
	_, err = je.admin.SubmitJob(ctx, hangar.DefaultWorkspace, sub)
	if hangar.ErrorCode(err) != hangar.ECONFLICT {
		t.Errorf("submit twice: got %v, want conflict", err)
	}
	for _, c := range []struct {
		name string
		sub  hangar.JobSubmission
	}{
		{"no file", hangar.JobSubmission{YAML: "a: 1"}},
		{"file with a folder", hangar.JobSubmission{File: "x/job.yml", YAML: "a: 1"}},
		{"empty yaml", hangar.JobSubmission{File: "job.yml", YAML: " \n"}},
		{"bad set", hangar.JobSubmission{File: "job.yml", YAML: "a: 1", Sets: []string{"novalue"}}},
		{"bad digest", hangar.JobSubmission{File: "job.yml", YAML: "a: 1", Uploads: map[string]hangar.Digest{"src": "md5:x"}}},
		{"empty path", hangar.JobSubmission{File: "job.yml", YAML: "a: 1", Files: map[string]string{"": "a: 1"}}},
		{"too large", hangar.JobSubmission{File: "job.yml", YAML: "a: 1", Files: map[string]string{
			"a.yml": strings.Repeat("x", hangar.MaxJobSubmissionSize/2+1), "b.yml": strings.Repeat("x", hangar.MaxJobSubmissionSize/2)}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := je.admin.SubmitJob(ctx, hangar.DefaultWorkspace, &c.sub)
			if hangar.ErrorCode(err) != hangar.EINVALID {
				t.Errorf("got %v, want invalid", err)
			}
		})
	}
	if len(je.sub.got) != 2 {
		t.Errorf("submitter calls: got %d, want 2 (bad submissions never reach it)", len(je.sub.got))
	}
	// A reader may not submit.
	reader := je.client("reader", hangar.RoleReader, hangar.DefaultWorkspace)
	_, err = reader.SubmitJob(ctx, hangar.DefaultWorkspace, &hangar.JobSubmission{File: "r.yml", YAML: "a: 1"})
	if hangar.ErrorCode(err) != hangar.EFORBIDDEN {
		t.Errorf("submit as reader: got %v, want forbidden", err)
	}
}

func TestJobReadListArchive(t *testing.T) {
	ctx := t.Context()
	je := newJobEnv(t)
	ws := hangar.DefaultWorkspace
	je.submit(t, "a.yml")
	je.submit(t, "b.yml")
	if err := je.api.Jobs.CreateJob(ctx, ws, &hangar.Job{Name: "p", Type: hangar.JobTypePipeline, Spec: `{}`, ExperimentName: "exp"},
		[]*hangar.Job{{Step: "s1", Type: hangar.JobTypeCommand, Spec: `{}`}, {Step: "s2", Type: hangar.JobTypeCommand, Spec: `{}`}}); err != nil {
		t.Fatal(err)
	}
	if _, err := je.api.Jobs.TransitionJob(ctx, ws, "a", hangar.JobTransition{To: hangar.JobQueued}); err != nil {
		t.Fatal(err)
	}
	reader := je.client("reader", hangar.RoleReader, ws)
	j, err := reader.Job(ctx, ws, "p.s2")
	if err != nil || j.Parent != "p" || j.Step != "s2" {
		t.Fatalf("get step: got %+v, %v", j, err)
	}
	_, err = reader.Job(ctx, ws, "nope")
	if hangar.ErrorCode(err) != hangar.ENOTFOUND {
		t.Errorf("get missing: got %v, want not found", err)
	}
	names := func(f hangar.JobFilter, size int) []string {
		t.Helper()
		var out []string
		opt := hangar.ListOptions{MaxResults: size}
		for {
			p, err := reader.ListJobs(ctx, ws, f, opt)
			if err != nil {
				t.Fatalf("list %+v: %v", f, err)
			}
			for _, j := range p.Items {
				out = append(out, j.Name)
			}
			if p.NextPageToken == "" {
				return out
			}
			opt.PageToken = p.NextPageToken
		}
	}
	for _, c := range []struct {
		name string
		f    hangar.JobFilter
		want string
	}{
		{"top level", hangar.JobFilter{}, "p b a"},
		{"steps", hangar.JobFilter{Parent: "p"}, "p.s1 p.s2"},
		{"statuses", hangar.JobFilter{Statuses: []hangar.JobStatus{hangar.JobQueued, hangar.JobRunning}}, "a"},
		{"experiment", hangar.JobFilter{ExperimentName: "exp"}, "p"},
	} {
		if got := strings.Join(names(c.f, 1), " "); got != c.want {
			t.Errorf("list %s: got %q, want %q", c.name, got, c.want)
		}
	}
	for _, q := range []string{"status=Done", "include_archived=maybe", "max_results=x", "parent=-x"} {
		r := je.do("GET", "/api/v1/workspaces/default/jobs?"+q, je.adminToken(), "")
		if r.status != http.StatusBadRequest {
			t.Errorf("list ?%s: status %d (%s), want 400", q, r.status, r.body)
		}
	}

	if _, err := reader.SetJobArchived(ctx, ws, "b", true); hangar.ErrorCode(err) != hangar.EFORBIDDEN {
		t.Errorf("archive as reader: got %v, want forbidden", err)
	}
	j, err = je.admin.SetJobArchived(ctx, ws, "b", true)
	if err != nil || !j.Archived {
		t.Fatalf("archive: got %+v, %v", j, err)
	}
	if got := strings.Join(names(hangar.JobFilter{}, 10), " "); got != "p a" {
		t.Errorf("list after archive: got %q, want %q", got, "p a")
	}
	if got := strings.Join(names(hangar.JobFilter{IncludeArchived: true}, 10), " "); got != "p b a" {
		t.Errorf("list archived too: got %q", got)
	}
	if j, err = je.admin.SetJobArchived(ctx, ws, "b", false); err != nil || j.Archived {
		t.Fatalf("restore: got %+v, %v", j, err)
	}
	if _, err := je.admin.SetJobArchived(ctx, ws, "p.s1", true); hangar.ErrorCode(err) != hangar.EINVALID {
		t.Errorf("archive a step: got %v, want invalid", err)
	}
}

func TestJobCancel(t *testing.T) {
	ctx := t.Context()
	je := newJobEnv(t)
	ws := hangar.DefaultWorkspace
	je.submit(t, "a.yml")
	je.takeEvents()
	j, err := je.admin.CancelJob(ctx, ws, "a")
	if err != nil || j.Status != hangar.JobCancelRequested {
		t.Fatalf("cancel: got %+v, %v", j, err)
	}
	if got := je.takeEvents(); len(got) != 1 || got[0] != "default/a" {
		t.Errorf("job events: got %v", got)
	}
	if j, err = je.admin.CancelJob(ctx, ws, "a"); err != nil || j.Status != hangar.JobCancelRequested {
		t.Errorf("cancel again: got %+v, %v; want CancelRequested", j, err)
	}
	if _, err := je.api.Jobs.TransitionJob(ctx, ws, "a", hangar.JobTransition{To: hangar.JobCanceled}); err != nil {
		t.Fatal(err)
	}
	_, err = je.admin.CancelJob(ctx, ws, "a")
	if hangar.ErrorCode(err) != hangar.ECONFLICT || !strings.Contains(err.Error(), "Canceled") {
		t.Errorf("cancel an ended job: got %v, want conflict naming Canceled", err)
	}
	_, err = je.admin.CancelJob(ctx, ws, "nope")
	if hangar.ErrorCode(err) != hangar.ENOTFOUND {
		t.Errorf("cancel a missing job: got %v", err)
	}
}

func TestJobRunnerControl(t *testing.T) {
	ctx := t.Context()
	je := newJobEnv(t)
	ws := hangar.DefaultWorkspace
	je.submit(t, "a.yml")
	if _, err := je.api.Jobs.TransitionJob(ctx, ws, "a", hangar.JobTransition{To: hangar.JobQueued}); err != nil {
		t.Fatal(err)
	}
	je.takeEvents()
	runner := je.client("runner", hangar.RoleContributor, ws)
	claim := httpapi.JobLeaseRequest{Holder: "r1", LeaseSeconds: 60, From: []hangar.JobStatus{hangar.JobQueued}, To: hangar.JobPreparing}
	j, err := runner.LeaseJob(ctx, ws, "a", claim)
	if err != nil || j.Status != hangar.JobPreparing || j.Holder != "r1" || j.Attempt != 1 {
		t.Fatalf("claim: got %+v, %v", j, err)
	}
	claim.Holder = "r2"
	if _, err := runner.LeaseJob(ctx, ws, "a", claim); hangar.ErrorCode(err) != hangar.ECONFLICT {
		t.Errorf("second claim: got %v, want conflict", err)
	}
	for _, c := range []struct {
		name string
		req  httpapi.JobLeaseRequest
	}{
		{"no holder", httpapi.JobLeaseRequest{LeaseSeconds: 60}},
		{"no lease", httpapi.JobLeaseRequest{Holder: "r1"}},
		{"lease too long", httpapi.JobLeaseRequest{Holder: "r1", LeaseSeconds: 3601}},
		{"to a terminal status", httpapi.JobLeaseRequest{Holder: "r1", LeaseSeconds: 60, To: hangar.JobCompleted}},
		{"to Queued", httpapi.JobLeaseRequest{Holder: "r1", LeaseSeconds: 60, To: hangar.JobQueued}},
		{"bad from", httpapi.JobLeaseRequest{Holder: "r1", LeaseSeconds: 60, From: []hangar.JobStatus{"x"}}},
	} {
		if _, err := runner.LeaseJob(ctx, ws, "a", c.req); hangar.ErrorCode(err) != hangar.EINVALID {
			t.Errorf("lease %s: got %v, want invalid", c.name, err)
		}
	}
	// What the scheduler alone sets cannot be sent.
	for _, body := range []string{
		`{"holder":"r1","lease_seconds":60,"spec":"{}"}`,
		`{"holder":"r1","lease_seconds":60,"reuse_key":"k"}`,
		`{"holder":"r1","status":"Completed","run_id":"x"}`,
		`{"holder":"r1","status":"Completed","reused_from":"b"}`,
	} {
		path := "/api/v1/workspaces/default/jobs/a/lease"
		if strings.Contains(body, "status") {
			path = "/api/v1/workspaces/default/jobs/a/finish"
		}
		if r := je.do("POST", path, je.adminToken(), body, "Content-Type", "application/json"); r.status != http.StatusBadRequest {
			t.Errorf("POST %s %s: status %d (%s), want 400", path, body, r.status, r.body)
		}
	}
	j, err = runner.LeaseJob(ctx, ws, "a", httpapi.JobLeaseRequest{Holder: "r1", LeaseSeconds: 60, To: hangar.JobRunning})
	if err != nil || j.Status != hangar.JobRunning || j.StartedAt == nil {
		t.Fatalf("run: got %+v, %v", j, err)
	}
	if got := je.takeEvents(); len(got) != 2 {
		t.Errorf("job events after claim and run: got %v, want two", got)
	}

	// Logs: the holder appends; others are refused.
	if err := runner.AppendJobLog(ctx, ws, "a", "r1", []byte("hello ")); err != nil {
		t.Fatalf("append: %v", err)
	}
	if err := runner.AppendJobLog(ctx, ws, "a", "r1", []byte("world\n")); err != nil {
		t.Fatalf("append: %v", err)
	}
	if err := runner.AppendJobLog(ctx, ws, "a", "r2", []byte("x")); hangar.ErrorCode(err) != hangar.ECONFLICT {
		t.Errorf("append by another holder: got %v, want conflict", err)
	}
	if err := runner.AppendJobLog(ctx, ws, "a", "", []byte("x")); hangar.ErrorCode(err) != hangar.EINVALID {
		t.Errorf("append without holder: got %v, want invalid", err)
	}
	if err := runner.AppendJobLog(ctx, ws, "a", "r1", make([]byte, hangar.MaxJobLogChunk+1)); hangar.ErrorCode(err) != hangar.ETOOLARGE {
		t.Errorf("append too much: got %v, want too_large", err)
	}
	reader := je.client("reader", hangar.RoleReader, ws)
	if err := reader.AppendJobLog(ctx, ws, "a", "r1", []byte("x")); hangar.ErrorCode(err) != hangar.EFORBIDDEN {
		t.Errorf("append as reader: got %v, want forbidden", err)
	}
	ch, err := reader.JobLog(ctx, ws, "a", 0, 0)
	if err != nil || string(ch.Data) != "hello world\n" || ch.Next != 12 || ch.Status != hangar.JobRunning || ch.Terminal {
		t.Fatalf("read log: got %+v, %v", ch, err)
	}
	if ch, err = reader.JobLog(ctx, ws, "a", 6, 0); err != nil || string(ch.Data) != "world\n" || ch.Next != 12 {
		t.Errorf("read log from 6: got %+v, %v", ch, err)
	}

	// A waiting read returns as soon as bytes come.
	go func() {
		time.Sleep(300 * time.Millisecond)
		runner.AppendJobLog(context.WithoutCancel(ctx), ws, "a", "r1", []byte("more\n"))
	}()
	start := time.Now()
	ch, err = reader.JobLog(ctx, ws, "a", 12, 20*time.Second)
	if err != nil || string(ch.Data) != "more\n" || ch.Next != 17 {
		t.Fatalf("waiting read: got %+v, %v", ch, err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("waiting read took %v", d)
	}
	// A read with a short wait and no bytes answers empty when it runs out.
	if ch, err = reader.JobLog(ctx, ws, "a", 17, 300*time.Millisecond); err != nil || len(ch.Data) != 0 || ch.Next != 17 || ch.Terminal {
		t.Errorf("read at the end: got %+v, %v", ch, err)
	}
	for _, q := range []string{"offset=-1", "offset=x", "wait=31", "wait=-1", "offset=100"} {
		if r := je.do("GET", "/api/v1/workspaces/default/jobs/a/logs?"+q, je.adminToken(), ""); r.status != http.StatusBadRequest {
			t.Errorf("read log ?%s: status %d (%s), want 400", q, r.status, r.body)
		}
	}

	// A cancel shows in the runner's heartbeat.
	if _, err := je.admin.CancelJob(ctx, ws, "a"); err != nil {
		t.Fatal(err)
	}
	j, err = runner.LeaseJob(ctx, ws, "a", httpapi.JobLeaseRequest{Holder: "r1", LeaseSeconds: 60})
	if err != nil || j.Status != hangar.JobCancelRequested {
		t.Fatalf("heartbeat after cancel: got %+v, %v", j, err)
	}

	// Finish.
	if _, err := runner.FinishJob(ctx, ws, "a", httpapi.JobFinishRequest{Holder: "r2", Status: hangar.JobCanceled}); hangar.ErrorCode(err) != hangar.ECONFLICT {
		t.Errorf("finish by another holder: got %v, want conflict", err)
	}
	if _, err := runner.FinishJob(ctx, ws, "a", httpapi.JobFinishRequest{Holder: "r1", Status: hangar.JobRunning}); hangar.ErrorCode(err) != hangar.EINVALID {
		t.Errorf("finish as Running: got %v, want invalid", err)
	}
	je.takeEvents()
	// The outputs' content was uploaded to the job's workspace
	// (TestJobFinishOutputsOwned: other content is refused).
	info, _, err := artifact.UploadDir(ctx, runner.BlobStore(ws), fstest.MapFS{"m.txt": {Data: []byte("m")}}, artifact.UploadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	outs := map[string]hangar.JobOutput{"m": {Type: "uri_folder", URI: hangar.JobOutputURI("a", "m"), Manifest: info.Digest}}
	j, err = runner.FinishJob(ctx, ws, "a", httpapi.JobFinishRequest{Holder: "r1", Status: hangar.JobCanceled, Error: "canceled", Outputs: outs})
	if err != nil || j.Status != hangar.JobCanceled || j.Error != "canceled" || j.Holder != "" || j.EndedAt == nil || j.Outputs["m"] != outs["m"] {
		t.Fatalf("finish: got %+v, %v", j, err)
	}
	if got := je.takeEvents(); len(got) != 1 {
		t.Errorf("job events after finish: got %v, want one", got)
	}
	// An ended job's log read says so, at once even when asked to wait.
	start = time.Now()
	ch, err = reader.JobLog(ctx, ws, "a", 17, 20*time.Second)
	if err != nil || !ch.Terminal || ch.Status != hangar.JobCanceled || len(ch.Data) != 0 {
		t.Errorf("read an ended job's log: got %+v, %v", ch, err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("read of an ended job's log waited %v", d)
	}
	if _, err := runner.FinishJob(ctx, ws, "a", httpapi.JobFinishRequest{Holder: "r1", Status: hangar.JobCompleted}); hangar.ErrorCode(err) != hangar.ECONFLICT {
		t.Errorf("finish twice: got %v, want conflict", err)
	}
	if err := runner.AppendJobLog(ctx, ws, "a", "r1", []byte("late")); hangar.ErrorCode(err) != hangar.ECONFLICT {
		t.Errorf("append after finish: got %v, want conflict", err)
	}
	full, err := reader.JobLog(ctx, ws, "a", 0, 0)
	if err != nil || !bytes.Equal(full.Data, []byte("hello world\nmore\n")) {
		t.Errorf("whole log: got %+v, %v", full, err)
	}
}

// TestJobFinishOutputsOwned: a runner (or the job's own code, holding the
// job's token) finishing a job reports outputs by manifest digest; content
// its workspace does not own — another workspace's manifest, a manifest of
// another workspace's files, a digest stored nowhere — is refused as `data
// create` refuses it, naming the output, and the job stays as it was; its
// own content finishes it.
func TestJobFinishOutputsOwned(t *testing.T) {
	ctx := t.Context()
	je := newJobEnv(t)
	ws := hangar.DefaultWorkspace
	je.createWorkspace("other")
	je.submit(t, "a.yml")
	if _, err := je.api.Jobs.TransitionJob(ctx, ws, "a", hangar.JobTransition{To: hangar.JobQueued}); err != nil {
		t.Fatal(err)
	}
	runner := je.client("runner", hangar.RoleContributor, ws)
	if _, err := runner.LeaseJob(ctx, ws, "a", httpapi.JobLeaseRequest{Holder: "r1", LeaseSeconds: 60, From: []hangar.JobStatus{hangar.JobQueued}, To: hangar.JobRunning}); err != nil {
		t.Fatal(err)
	}
	otherOwner := je.client("other-owner", hangar.RoleOwner, "other")
	theirs, _, err := artifact.UploadDir(ctx, otherOwner.BlobStore("other"), fstest.MapFS{"secret.csv": {Data: []byte("x\n42\n")}}, artifact.UploadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// A manifest uploaded to the job's workspace listing the other
	// workspace's files: the manifest is owned, its files are not.
	m, err := artifact.ReadManifest(ctx, je.api.Blobs, theirs.Digest)
	if err != nil {
		t.Fatal(err)
	}
	data, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	forged, err := runner.PutBlob(ctx, ws, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	notManifest, err := runner.PutBlob(ctx, ws, strings.NewReader("not a manifest"))
	if err != nil {
		t.Fatal(err)
	}
	mine, _, err := artifact.UploadDir(ctx, runner.BlobStore(ws), fstest.MapFS{"nums.txt": {Data: []byte("1\n2\n")}}, artifact.UploadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := func(d hangar.Digest) hangar.JobOutput {
		return hangar.JobOutput{Type: hangar.DataURIFolder, URI: hangar.JobOutputURI("a", "out"), Manifest: d}
	}
	for _, c := range []struct {
		name string
		d    hangar.Digest
		code string
	}{
		{"another workspace's manifest", theirs.Digest, hangar.ENOTFOUND},
		{"a manifest of another workspace's files", forged.Digest, hangar.ENOTFOUND},
		{"content stored nowhere", hangar.Digest("sha256:" + strings.Repeat("cd", 32)), hangar.ENOTFOUND},
		{"a blob that is not a manifest", notManifest.Digest, hangar.EINVALID},
	} {
		for _, status := range []hangar.JobStatus{hangar.JobCompleted, hangar.JobFailed} {
			// The job's own output beside it does not let it through.
			outs := map[string]hangar.JobOutput{"mine": out(mine.Digest), "out": out(c.d)}
			_, err := runner.FinishJob(ctx, ws, "a", httpapi.JobFinishRequest{Holder: "r1", Status: status, Outputs: outs})
			if got := hangar.ErrorCode(err); got != c.code || !strings.Contains(err.Error(), "output out") {
				t.Errorf("finish %s with %s: got %v (%s), want %s naming output out", status, c.name, err, got, c.code)
			}
			j, err := je.admin.Job(ctx, ws, "a")
			if err != nil || j.Status != hangar.JobRunning || j.Holder != "r1" || len(j.Outputs) != 0 {
				t.Errorf("after finishing %s with %s was refused: job %+v, %v; want it Running, held by r1, without outputs", status, c.name, j, err)
			}
		}
	}
	j, err := runner.FinishJob(ctx, ws, "a", httpapi.JobFinishRequest{Holder: "r1", Status: hangar.JobCompleted, Outputs: map[string]hangar.JobOutput{"out": out(mine.Digest)}})
	if err != nil || j.Status != hangar.JobCompleted || j.Outputs["out"].Manifest != mine.Digest {
		t.Fatalf("finish with the workspace's own content: got %+v, %v; want Completed with it", j, err)
	}
}

func TestJobsNotEnabled(t *testing.T) {
	e := newEnvWith(t, func(s *httpapi.Server) { s.Jobs = nil })
	_, err := e.admin.Job(t.Context(), hangar.DefaultWorkspace, "a")
	if hangar.ErrorCode(err) != hangar.ENOTIMPLEMENTED {
		t.Errorf("get a job without a job store: got %v, want not_implemented", err)
	}
}
