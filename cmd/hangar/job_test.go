package main

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/artifact"
	"github.com/hangar-ml/hangar/disk"
	"github.com/hangar-ml/hangar/httpapi"
	"github.com/hangar-ml/hangar/internal/storetest"
	"github.com/hangar-ml/hangar/sqlstore"
)

// jobServer is a real server in the test's process with the job store
// and a blob store; the test plays the scheduler and the runners through
// the store.
type jobServer struct {
	url, token string
	jobs       hangar.JobService
	client     *httpapi.Client
}

func newJobServer(t *testing.T) *jobServer {
	t.Helper()
	ctx := hangar.WithActor(t.Context(), hangar.Actor{IdentityID: "alice", Name: "alice"})
	dir := t.TempDir()
	db := sqlstore.New(filepath.Join(dir, "hangar.db"))
	db.Sealer = storetest.NewSealer()
	if err := db.Open(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	api := httpapi.NewServer()
	ids := sqlstore.NewIdentityService(db)
	api.Workspaces, api.Identities, api.Credentials = sqlstore.NewWorkspaceService(db), ids, ids
	api.Roles, api.Audit = sqlstore.NewRoleService(db), sqlstore.NewAuditService(db)
	api.Blobs, api.BlobIndex = disk.New(filepath.Join(dir, "blobs")), sqlstore.NewBlobIndex(db)
	api.Jobs = sqlstore.NewJobService(db)
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(srv.Close)
	tok, err := ids.IssueToken(ctx, &hangar.TokenRequest{Name: "admin", Role: hangar.RoleOwner})
	if err != nil {
		t.Fatal(err)
	}
	return &jobServer{url: srv.URL, token: tok.Secret, jobs: api.Jobs, client: httpapi.NewClient(srv.URL, tok.Secret)}
}

// hangar runs the CLI against the server and returns its exit code,
// stdout and stderr.
func (s *jobServer) hangar(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	env := map[string]string{"HANGAR_URL": s.url, "HANGAR_TOKEN": s.token, "HANGAR_HOME": t.TempDir()}
	var out, errOut bytes.Buffer
	code := run(t.Context(), args, strings.NewReader(""), &out, &errOut, func(k string) string { return env[k] })
	return code, out.String(), errOut.String()
}

func (s *jobServer) mustHangar(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errOut := s.hangar(t, args...)
	if code != 0 {
		t.Fatalf("hangar %s: exit %d\n%s", strings.Join(args, " "), code, errOut)
	}
	return out
}

func (s *jobServer) create(t *testing.T, j *hangar.Job, steps ...*hangar.Job) {
	t.Helper()
	if err := s.jobs.CreateJob(t.Context(), hangar.DefaultWorkspace, j, steps); err != nil {
		t.Fatal(err)
	}
}

func (s *jobServer) move(t *testing.T, name string, tr hangar.JobTransition) {
	t.Helper()
	if _, err := s.jobs.TransitionJob(t.Context(), hangar.DefaultWorkspace, name, tr); err != nil {
		t.Errorf("move %s: %v", name, err)
	}
}

func (s *jobServer) log(t *testing.T, name, text string) {
	t.Helper()
	if err := s.jobs.AppendJobLog(t.Context(), hangar.DefaultWorkspace, name, []byte(text)); err != nil {
		t.Errorf("log %s: %v", name, err)
	}
}

func TestJobShowListCancelArchive(t *testing.T) {
	s := newJobServer(t)
	s.create(t, &hangar.Job{Name: "cmd1", Type: hangar.JobTypeCommand, Spec: `{}`, ExperimentName: "exp"})
	s.create(t, &hangar.Job{Name: "pipe", Type: hangar.JobTypePipeline, Spec: `{}`},
		&hangar.Job{Step: "prep", Type: hangar.JobTypeCommand, Spec: `{}`},
		&hangar.Job{Step: "train", Type: hangar.JobTypeCommand, Spec: `{}`})
	s.move(t, "pipe.prep", hangar.JobTransition{To: hangar.JobCompleted, ReusedFrom: "cmd1"})
	s.move(t, "pipe.train", hangar.JobTransition{To: hangar.JobRunning, RunID: "run-7"})

	var v struct {
		Name   string `json:"name"`
		Status string `json:"status"`
		Steps  []struct {
			Step, Name, Status string
			ReusedFrom         string `json:"reused_from"`
		} `json:"steps"`
	}
	if err := json.Unmarshal([]byte(s.mustHangar(t, "job", "show", "-n", "pipe")), &v); err != nil {
		t.Fatal(err)
	}
	if v.Name != "pipe" || v.Status != "NotStarted" || len(v.Steps) != 2 || v.Steps[0].Step != "prep" ||
		v.Steps[0].ReusedFrom != "cmd1" || v.Steps[0].Status != "Completed" || v.Steps[1].Status != "Running" {
		t.Errorf("job show: got %+v", v)
	}
	table := s.mustHangar(t, "job", "show", "-n", "pipe", "-o", "table")
	for _, want := range []string{"NotStarted", "prep", "REUSED FROM", "cmd1", "pipe.train", "Running"} {
		if !strings.Contains(table, want) {
			t.Errorf("job show -o table: want %q in\n%s", want, table)
		}
	}
	if out := s.mustHangar(t, "job", "show", "-n", "pipe.train", "--query", "run_id"); strings.TrimSpace(out) != `"run-7"` {
		t.Errorf("job show --query run_id: got %q", out)
	}
	code, _, errOut := s.hangar(t, "job", "show", "-n", "nope")
	if code != 1 || !strings.Contains(errOut, "Job nope not found.") {
		t.Errorf("job show of a missing job: exit %d, %q", code, errOut)
	}
	if code, _, errOut := s.hangar(t, "job", "show"); code == 0 || !strings.Contains(errOut, "name") {
		t.Errorf("job show without -n: exit %d, %q", code, errOut)
	}

	list := s.mustHangar(t, "job", "list", "-o", "tsv")
	if got := firstFields(list); got != "pipe cmd1" {
		t.Errorf("job list: got %q, want %q", got, "pipe cmd1")
	}
	if got := firstFields(s.mustHangar(t, "job", "list", "--parent-job-name", "pipe", "-o", "tsv")); got != "prep train" {
		t.Errorf("job list --parent-job-name: got %q", got)
	}
	if got := firstFields(s.mustHangar(t, "job", "list", "-p", "pipe", "--status", "Running", "-o", "tsv")); got != "train" {
		t.Errorf("job list --status Running: got %q", got)
	}
	if got := firstFields(s.mustHangar(t, "job", "list", "--max-results", "1", "-o", "tsv")); got != "pipe" {
		t.Errorf("job list --max-results 1: got %q", got)
	}
	if got := firstFields(s.mustHangar(t, "job", "list", "--max-results", "1", "--all-results", "-o", "tsv")); got != "pipe cmd1" {
		t.Errorf("job list --all-results: got %q", got)
	}
	if code, _, errOut := s.hangar(t, "job", "list", "--status", "Done"); code != 1 || !strings.Contains(errOut, `--status "Done"`) {
		t.Errorf("job list --status Done: exit %d, %q", code, errOut)
	}

	if out := s.mustHangar(t, "job", "cancel", "-n", "cmd1", "--query", "status"); strings.TrimSpace(out) != `"CancelRequested"` {
		t.Errorf("job cancel: got %q", out)
	}
	s.move(t, "cmd1", hangar.JobTransition{To: hangar.JobCanceled})
	if code, _, errOut := s.hangar(t, "job", "cancel", "-n", "cmd1"); code != 1 || !strings.Contains(errOut, "Canceled") {
		t.Errorf("job cancel of an ended job: exit %d, %q", code, errOut)
	}
	if out := s.mustHangar(t, "job", "archive", "-n", "cmd1", "--query", "archived"); strings.TrimSpace(out) != "true" {
		t.Errorf("job archive: got %q", out)
	}
	if got := firstFields(s.mustHangar(t, "job", "list", "-o", "tsv")); got != "pipe" {
		t.Errorf("job list after archive: got %q", got)
	}
	if got := firstFields(s.mustHangar(t, "job", "list", "--include-archived", "-o", "tsv")); got != "pipe cmd1" {
		t.Errorf("job list --include-archived: got %q", got)
	}
	if out := s.mustHangar(t, "job", "restore", "-n", "cmd1", "--query", "archived"); strings.TrimSpace(out) != "false" {
		t.Errorf("job restore: got %q", out)
	}
}

// firstFields returns the first field of each line, joined by spaces.
func firstFields(out string) string {
	var names []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			names = append(names, f[0])
		}
	}
	return strings.Join(names, " ")
}

func TestJobStream(t *testing.T) {
	t.Run("command", func(t *testing.T) {
		s := newJobServer(t)
		s.create(t, &hangar.Job{Name: "j", Type: hangar.JobTypeCommand, Spec: `{}`})
		go func() {
			time.Sleep(200 * time.Millisecond)
			s.move(t, "j", hangar.JobTransition{To: hangar.JobRunning})
			s.log(t, "j", "epoch 1\n")
			time.Sleep(200 * time.Millisecond)
			s.log(t, "j", "epoch 2\nno newline")
			s.move(t, "j", hangar.JobTransition{To: hangar.JobCompleted})
		}()
		code, out, errOut := s.hangar(t, "job", "stream", "-n", "j")
		if code != 0 || out != "epoch 1\nepoch 2\nno newline" || !strings.Contains(errOut, "job j: Completed") {
			t.Errorf("stream: exit %d, stdout %q, stderr %q", code, out, errOut)
		}
	})
	t.Run("failed", func(t *testing.T) {
		s := newJobServer(t)
		s.create(t, &hangar.Job{Name: "j", Type: hangar.JobTypeCommand, Spec: `{}`})
		s.log(t, "j", "Traceback\n")
		s.move(t, "j", hangar.JobTransition{To: hangar.JobFailed, Error: "exit status 2"})
		code, out, errOut := s.hangar(t, "job", "stream", "-n", "j")
		if code != 1 || out != "Traceback\n" || !strings.Contains(errOut, "job j Failed: exit status 2") {
			t.Errorf("stream of a failed job: exit %d, stdout %q, stderr %q", code, out, errOut)
		}
	})
	t.Run("pipeline", func(t *testing.T) {
		s := newJobServer(t)
		s.create(t, &hangar.Job{Name: "p", Type: hangar.JobTypePipeline, Spec: `{}`},
			&hangar.Job{Step: "prep", Type: hangar.JobTypeCommand, Spec: `{}`},
			&hangar.Job{Step: "train", Type: hangar.JobTypeCommand, Spec: `{}`},
			&hangar.Job{Step: "score", Type: hangar.JobTypeCommand, Spec: `{}`})
		go func() {
			s.move(t, "p", hangar.JobTransition{To: hangar.JobRunning})
			s.move(t, "p.prep", hangar.JobTransition{To: hangar.JobCompleted, ReusedFrom: "old.prep"})
			s.move(t, "p.train", hangar.JobTransition{To: hangar.JobRunning})
			s.log(t, "p.train", "loss 0.5\nloss ")
			time.Sleep(1500 * time.Millisecond)
			s.log(t, "p.train", "0.4\n")
			s.move(t, "p.train", hangar.JobTransition{To: hangar.JobCompleted})
			s.move(t, "p.score", hangar.JobTransition{To: hangar.JobRunning})
			s.log(t, "p.score", "auc 0.9")
			s.move(t, "p.score", hangar.JobTransition{To: hangar.JobCompleted})
			s.move(t, "p", hangar.JobTransition{To: hangar.JobCompleted})
		}()
		code, out, errOut := s.hangar(t, "job", "stream", "-n", "p")
		want := "[train] loss 0.5\n[train] loss 0.4\n[score] auc 0.9\n"
		if code != 0 || out != want {
			t.Errorf("stream of a pipeline: exit %d, stdout %q, want %q; stderr %q", code, out, want, errOut)
		}
		for _, w := range []string{"[prep] Completed (reused from old.prep)", "[train] Running", "[train] Completed", "job p: Completed"} {
			if !strings.Contains(errOut, w) {
				t.Errorf("stream of a pipeline: stderr %q lacks %q", errOut, w)
			}
		}
	})
	t.Run("missing", func(t *testing.T) {
		s := newJobServer(t)
		if code, _, errOut := s.hangar(t, "job", "stream", "-n", "nope"); code != 1 || !strings.Contains(errOut, "Job nope not found.") {
			t.Errorf("stream of a missing job: exit %d, %q", code, errOut)
		}
	})
}

func TestJobDownload(t *testing.T) {
	s := newJobServer(t)
	ctx := t.Context()
	src := t.TempDir()
	writeTree(t, src, map[string]string{"model.txt": "weights", "sub/conf.json": "{}"})
	d, _, err := artifact.PutDir(ctx, s.client.BlobStore(hangar.DefaultWorkspace), os.DirFS(src))
	if err != nil {
		t.Fatal(err)
	}
	s.create(t, &hangar.Job{Name: "j", Type: hangar.JobTypeCommand, Spec: `{}`})
	s.create(t, &hangar.Job{Name: "empty", Type: hangar.JobTypeCommand, Spec: `{}`})
	s.move(t, "j", hangar.JobTransition{To: hangar.JobCompleted, Outputs: map[string]hangar.JobOutput{
		"model": {Type: "uri_folder", URI: hangar.JobOutputURI("j", "model"), Manifest: d.Digest},
		"acc":   {Type: "string", URI: hangar.JobOutputURI("j", "acc"), Value: "0.93"},
	}})

	dst := t.TempDir()
	s.mustHangar(t, "job", "download", "-n", "j", "--output-name", "model", "--download-path", dst)
	for p, want := range map[string]string{"model.txt": "weights", "sub/conf.json": "{}"} {
		b, err := os.ReadFile(filepath.Join(dst, "named-outputs", "model", filepath.FromSlash(p)))
		if err != nil || string(b) != want {
			t.Errorf("downloaded %s: got %q, %v; want %q", p, b, err, want)
		}
	}
	all := t.TempDir()
	out := s.mustHangar(t, "job", "download", "-n", "j", "--all", "--download-path", all)
	if !strings.Contains(out, `"value": "0.93"`) || !strings.Contains(out, filepath.Join(all, "named-outputs", "model")) {
		t.Errorf("download --all: got %s", out)
	}
	if _, err := os.Stat(filepath.Join(all, "named-outputs", "model", "model.txt")); err != nil {
		t.Errorf("download --all: %v", err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-n", "j", "--output-name", "nope"}, `job j has no output "nope": it has [acc model]`},
		{[]string{"-n", "j", "--output-name", "acc"}, "output acc of job j is a value, not files: 0.93"},
		{[]string{"-n", "j", "--output-name", "model", "--all"}, "not both"},
		{[]string{"-n", "empty", "--output-name", "model"}, "job empty (NotStarted) has no outputs"},
	} {
		code, _, errOut := s.hangar(t, append([]string{"job", "download", "--download-path", t.TempDir()}, c.args...)...)
		if code != 1 || !strings.Contains(errOut, c.want) {
			t.Errorf("download %v: exit %d, %q; want %q", c.args, code, errOut, c.want)
		}
	}
}
