package jobrun_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/httpapi"
	"github.com/hangar-ml/hangar/jobrun"
)

// TestCommandJob runs a command job end to end on each backend: its
// MLflow run, the tracking environment, the log, its output, and the
// short-lived token revoked at the end.
func TestCommandJob(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, b.dsn(t), nil)
			j := e.submit(`
command: >-
  echo "run=$MLFLOW_RUN_ID exp=$MLFLOW_EXPERIMENT_ID greeting=${{inputs.greeting}}" &&
  test -n "$MLFLOW_TRACKING_TOKEN" && test -z "$HANGAR_TOKEN" &&
  echo "$MLFLOW_TRACKING_URI" &&
  printf 'x,y\n1,2\n3,4\n' > ${{outputs.out}}/result.csv
inputs:
  greeting: hello world
outputs:
  out:
    type: uri_folder
    name: lifecycle-result
experiment_name: lifecycle
`, nil)
			if j.Status != hangar.JobNotStarted || j.Type != hangar.JobTypeCommand {
				t.Fatalf("created %s %s", j.Type, j.Status)
			}
			j = e.wait(j.Name)
			log := e.log(j.Name)
			if j.Status != hangar.JobCompleted {
				t.Fatalf("job %s: %s\n%s", j.Status, j.Error, log)
			}
			if j.RunID == "" || !strings.Contains(log, "run="+j.RunID+" exp="+j.ExperimentID+" greeting=hello world") {
				t.Errorf("log lacks the run's variables (run %s):\n%s", j.RunID, log)
			}
			if !strings.Contains(log, e.srv.URL+"/w/default") {
				t.Errorf("MLFLOW_TRACKING_URI is not the workspace's MLflow URL:\n%s", log)
			}
			out := j.Outputs["out"]
			if out.Manifest == "" || out.URI != "azureml://jobs/"+j.Name+"/outputs/out" || out.Size != int64(len("x,y\n1,2\n3,4\n")) {
				t.Errorf("output %+v", out)
			}
			e.waitRun(j.RunID, hangar.RunFinished)
			// The output asked to be a data asset is one, with a profile.
			a, err := e.api.Data.DataVersion(t.Context(), hangar.DefaultWorkspace, "lifecycle-result", "1")
			if err != nil {
				t.Fatalf("registered output: %v", err)
			}
			if a.Manifest.Digest != out.Manifest || a.FileCount != 1 || !strings.Contains(a.Profile, `"rows":2`) {
				t.Errorf("registered output %+v", a)
			}
			if j, _ = e.admin.Job(t.Context(), hangar.DefaultWorkspace, j.Name); j.Outputs["out"].Asset != "lifecycle-result:1" {
				t.Errorf("job output %+v does not name its data asset", j.Outputs["out"])
			}
			// Every token the job had is revoked (when its end is settled,
			// as its run's).
			page, err := e.ids.ListTokens(t.Context(), hangar.TokenFilter{Workspace: hangar.DefaultWorkspace}, hangar.ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, tok := range page.Items {
				if tok.IdentityName == jobrun.JobRunnerIdentity(hangar.DefaultWorkspace) {
					n++
					if tok.RevokedAt == nil || tok.ExpiresAt == nil {
						t.Errorf("job token %s: revoked %v, expires %v", tok.ID, tok.RevokedAt, tok.ExpiresAt)
					}
				}
			}
			if n == 0 {
				t.Error("no job token was minted")
			}
		})
	}
}

// TestJobTokenIsNarrow checks what a job's credential may do: its own
// workspace's runs, its own job only among jobs, no submitting, no
// secrets, no deletes, no other workspace.
func TestJobTokenIsNarrow(t *testing.T) {
	e := newEnv(t, backends[0].dsn(t), nothing{})
	if err := e.admin.CreateWorkspace(t.Context(), &hangar.Workspace{Name: "other"}); err != nil {
		t.Fatal(err)
	}
	mine := e.submit("command: echo mine\n", nil)
	theirs := e.submit("command: echo theirs\n", nil)
	e.waitStatus(mine.Name, hangar.JobQueued)
	e.waitStatus(theirs.Name, hangar.JobQueued)
	secret, id, err := jobrun.IdentityTokens{Identities: e.ids}.MintJobToken(t.Context(), hangar.DefaultWorkspace, mine.Name, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	c := httpapi.NewClient(e.srv.URL, secret)
	ctx := t.Context()
	if _, err := c.ListJobs(ctx, hangar.DefaultWorkspace, hangar.JobFilter{}, hangar.ListOptions{}); err != nil {
		t.Errorf("list jobs: %v", err)
	}
	lease := httpapi.JobLeaseRequest{Holder: "r", LeaseSeconds: 30, From: []hangar.JobStatus{hangar.JobQueued}, To: hangar.JobPreparing}
	if _, err := c.LeaseJob(ctx, hangar.DefaultWorkspace, theirs.Name, lease); hangar.ErrorCode(err) != hangar.EFORBIDDEN {
		t.Errorf("lease another job: %v, want forbidden", err)
	}
	if _, err := c.CancelJob(ctx, hangar.DefaultWorkspace, theirs.Name); hangar.ErrorCode(err) != hangar.EFORBIDDEN {
		t.Errorf("cancel another job: %v, want forbidden", err)
	}
	if _, err := c.SubmitJob(ctx, hangar.DefaultWorkspace, &hangar.JobSubmission{File: "j.yml", YAML: "command: echo\n"}); hangar.ErrorCode(err) != hangar.EFORBIDDEN {
		t.Errorf("submit: %v, want forbidden", err)
	}
	if _, err := c.LeaseJob(ctx, hangar.DefaultWorkspace, mine.Name, lease); err != nil {
		t.Errorf("lease its own job: %v", err)
	}
	if _, err := c.ListSecrets(ctx, hangar.DefaultWorkspace, hangar.ListOptions{}); hangar.ErrorCode(err) != hangar.EFORBIDDEN {
		t.Errorf("list secrets: %v, want forbidden", err)
	}
	if _, err := c.ListJobs(ctx, "other", hangar.JobFilter{}, hangar.ListOptions{}); err == nil {
		t.Error("a job token read another workspace's jobs")
	}
	if err := c.DeleteWorkspace(ctx, hangar.DefaultWorkspace); err == nil {
		t.Error("a job token deleted its workspace")
	}
	tok, err := e.ids.Token(ctx, id)
	if err != nil || tok.Job != mine.Name || tok.Workspace != hangar.DefaultWorkspace {
		t.Errorf("token %+v, %v: want the job's", tok, err)
	}
	if err := (jobrun.IdentityTokens{Identities: e.ids}).RevokeJobToken(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListJobs(ctx, hangar.DefaultWorkspace, hangar.JobFilter{}, hangar.ListOptions{}); err == nil {
		t.Error("a revoked job token still works")
	}
}

// pidsAlive reports which of the pids in file are still running.
func pidsAlive(t *testing.T, file string) []int {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var alive []int
	for _, f := range strings.Fields(string(b)) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			t.Fatal(err)
		}
		if syscall.Kill(pid, 0) == nil {
			// A zombie is gone for our purpose: check its state.
			st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
			if fields := strings.Fields(string(st)); len(fields) > 2 && fields[2] == "Z" {
				continue
			}
			alive = append(alive, pid)
		}
	}
	return alive
}

// waitFile waits for a file to have content.
func waitFile(t *testing.T, file string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if b, err := os.ReadFile(file); err == nil && len(strings.Fields(string(b))) >= 2 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never written", file)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestCancelEndsProcessTree cancels a running job whose command started a
// background process: the job ends Canceled and both processes are gone.
func TestCancelEndsProcessTree(t *testing.T) {
	e := newEnv(t, backends[0].dsn(t), nil)
	pids := filepath.Join(t.TempDir(), "pids")
	j := e.submit(`
command: sleep 300 & echo $! > ${{inputs.pids}}.tmp; echo $$ >> ${{inputs.pids}}.tmp; mv ${{inputs.pids}}.tmp ${{inputs.pids}}; wait
inputs:
  pids:
    type: string
    default: `+pids+`
`, nil)
	waitFile(t, pids)
	if alive := pidsAlive(t, pids); len(alive) != 2 {
		t.Fatalf("before cancel: %d processes alive, want 2", len(alive))
	}
	if _, err := e.admin.CancelJob(t.Context(), hangar.DefaultWorkspace, j.Name); err != nil {
		t.Fatal(err)
	}
	j = e.wait(j.Name)
	if j.Status != hangar.JobCanceled {
		t.Fatalf("status %s (%s), want Canceled", j.Status, j.Error)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(pidsAlive(t, pids)) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("processes %v outlived the canceled job", pidsAlive(t, pids))
		}
		time.Sleep(50 * time.Millisecond)
	}
	e.waitRun(j.RunID, hangar.RunKilled)
}

// TestTimeout stops a command at limits.timeout and fails the job.
func TestTimeout(t *testing.T) {
	e := newEnv(t, backends[0].dsn(t), nil)
	j := e.submit("command: sleep 60\nlimits:\n  timeout: 1\n", nil)
	start := time.Now()
	j = e.wait(j.Name)
	if j.Status != hangar.JobFailed || !strings.Contains(j.Error, "limits.timeout of 1s reached") {
		t.Fatalf("status %s error %q", j.Status, j.Error)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("took %s", d)
	}
}

// nothing is an executor that starts no runner: jobs stay queued, or
// whatever the test makes of them.
type nothing struct{}

func (nothing) Start(ctx context.Context, d jobrun.Dispatch) error { return nil }

// TestLeaseExpired is what a server restart finds: a job left Running by
// a runner that stopped (its lease expired) is queued again once, then
// failed with the reason; never left Running.
func TestLeaseExpired(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, b.dsn(t), nothing{})
			j := e.submit("command: echo hi\n", nil)
			e.waitStatus(j.Name, hangar.JobQueued)
			claim := func() {
				t.Helper()
				for _, to := range []hangar.JobStatus{hangar.JobPreparing, hangar.JobRunning} {
					from := hangar.JobQueued
					if to == hangar.JobRunning {
						from = hangar.JobPreparing
					}
					if _, err := e.api.Jobs.TransitionJob(t.Context(), hangar.DefaultWorkspace, j.Name, hangar.JobTransition{
						From: []hangar.JobStatus{from}, To: to, Holder: "gone:1", Lease: time.Second,
					}); err != nil {
						t.Fatal(err)
					}
				}
			}
			claim()
			// The first loss queues it again.
			e.waitStatus(j.Name, hangar.JobQueued)
			if log := e.log(j.Name); !strings.Contains(log, "queued again (attempt 2 of 2)") {
				t.Errorf("log does not say it was queued again:\n%s", log)
			}
			claim()
			j = e.wait(j.Name)
			if j.Status != hangar.JobFailed || !strings.Contains(j.Error, "stopped renewing its lease") || !strings.Contains(j.Error, "Running") ||
				!strings.Contains(j.Error, "attempt 2 of 2") || j.Attempt != 2 {
				t.Fatalf("status %s attempt %d error %q", j.Status, j.Attempt, j.Error)
			}
			if log := e.log(j.Name); !strings.Contains(log, "stopped renewing its lease") {
				t.Errorf("log does not say why:\n%s", log)
			}
		})
	}
}

// TestPipelineReuse runs a pipeline whose steps pass a folder along, then
// the same pipeline again: every step is reused from the first run, with
// the same outputs; then a changed input reruns the steps it reaches.
func TestPipelineReuse(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, b.dsn(t), nil)
			yaml := `
type: pipeline
inputs:
  n: 3
outputs:
  final:
    type: uri_folder
jobs:
  make:
    command: seq ${{inputs.n}} > ${{outputs.nums}}/nums.txt
    inputs:
      n: ${{parent.inputs.n}}
    outputs:
      nums:
        type: uri_folder
  sum:
    command: awk '{s+=$1} END {print s}' ${{inputs.nums}}/nums.txt > ${{outputs.total}}/total.txt; cat ${{outputs.total}}/total.txt
    inputs:
      nums: ${{parent.jobs.make.outputs.nums}}
    outputs:
      total: ${{parent.outputs.final}}
`
			first := e.wait(e.submit(yaml, nil, "name=first").Name)
			if first.Status != hangar.JobCompleted {
				t.Fatalf("first: %s %s", first.Status, first.Error)
			}
			if log := e.log("first.sum"); !strings.Contains(log, "\n6\n") {
				t.Errorf("sum's log:\n%s", log)
			}
			if first.Outputs["final"].Manifest == "" {
				t.Errorf("pipeline outputs %+v", first.Outputs)
			}
			second := e.wait(e.submit(yaml, nil, "name=second").Name)
			if second.Status != hangar.JobCompleted {
				t.Fatalf("second: %s %s", second.Status, second.Error)
			}
			for _, step := range []string{"make", "sum"} {
				sj, err := e.admin.Job(t.Context(), hangar.DefaultWorkspace, "second."+step)
				if err != nil {
					t.Fatal(err)
				}
				if sj.ReusedFrom != "first."+step {
					t.Errorf("second.%s reused from %q, want first.%s", step, sj.ReusedFrom, step)
				}
			}
			if second.Outputs["final"].Manifest != first.Outputs["final"].Manifest {
				t.Errorf("reused output %s, want %s", second.Outputs["final"].Manifest, first.Outputs["final"].Manifest)
			}
			third := e.wait(e.submit(yaml, nil, "name=third", "inputs.n=4").Name)
			if third.Status != hangar.JobCompleted {
				t.Fatalf("third: %s %s", third.Status, third.Error)
			}
			if sj, _ := e.admin.Job(t.Context(), hangar.DefaultWorkspace, "third.sum"); sj.ReusedFrom != "" {
				t.Errorf("third.sum reused from %s though its input changed", sj.ReusedFrom)
			}
			if log := e.log("third.sum"); !strings.Contains(log, "\n10\n") {
				t.Errorf("third sum's log:\n%s", log)
			}
		})
	}
}

// TestContinueOnStepFailure: with continue_on_step_failure a failed step
// stops only the steps that need it; without, the pipeline stops at the
// first failure. Either way the pipeline fails, naming the step.
func TestContinueOnStepFailure(t *testing.T) {
	e := newEnv(t, backends[0].dsn(t), nil)
	yaml := `
type: pipeline
settings:
  continue_on_step_failure: %[1]s
jobs:
  bad:
    command: exit 4
    outputs:
      o:
        type: uri_folder
  after_bad:
    command: ls ${{inputs.i}}
    inputs:
      i: ${{parent.jobs.bad.outputs.o}}
  independent:
    command: sleep 1; echo fine %[1]s
`
	for _, c := range []struct {
		cont            string
		wantIndependent hangar.JobStatus
	}{
		{"true", hangar.JobCompleted},
		{"false", hangar.JobCanceled},
	} {
		t.Run("continue="+c.cont, func(t *testing.T) {
			j := e.wait(e.submit(fmt.Sprintf(yaml, c.cont), nil).Name)
			if j.Status != hangar.JobFailed || !strings.Contains(j.Error, "step bad failed") {
				t.Fatalf("pipeline %s: %s", j.Status, j.Error)
			}
			for step, want := range map[string]hangar.JobStatus{"bad": hangar.JobFailed, "after_bad": hangar.JobCanceled, "independent": c.wantIndependent} {
				sj, err := e.admin.Job(t.Context(), hangar.DefaultWorkspace, jobrun.StepJobName(j.Name, step))
				if err != nil {
					t.Fatal(err)
				}
				if sj.Status != want {
					t.Errorf("step %s: %s (%s), want %s", step, sj.Status, sj.Error, want)
				}
			}
		})
	}
}

// TestCancelPipeline cancels a running pipeline: its running step is
// stopped, the steps not started are canceled, the pipeline ends Canceled.
func TestCancelPipeline(t *testing.T) {
	e := newEnv(t, backends[0].dsn(t), nil)
	j := e.submit(`
type: pipeline
jobs:
  slow:
    command: sleep 300
    outputs:
      o:
        type: uri_folder
  next:
    command: ls ${{inputs.i}}
    inputs:
      i: ${{parent.jobs.slow.outputs.o}}
`, nil)
	e.waitStatus(jobrun.StepJobName(j.Name, "slow"), hangar.JobRunning)
	if _, err := e.admin.CancelJob(t.Context(), hangar.DefaultWorkspace, j.Name); err != nil {
		t.Fatal(err)
	}
	j = e.wait(j.Name)
	if j.Status != hangar.JobCanceled {
		t.Fatalf("pipeline %s: %s", j.Status, j.Error)
	}
	for _, step := range []string{"slow", "next"} {
		sj := e.wait(jobrun.StepJobName(j.Name, step))
		if sj.Status != hangar.JobCanceled {
			t.Errorf("step %s: %s (%s), want Canceled", step, sj.Status, sj.Error)
		}
	}
}

// TestGitCommitTagsRuns: the code's git commit the CLI sends becomes the
// job's property and, on every run of the job, MLflow's source tags.
func TestGitCommitTagsRuns(t *testing.T) {
	e := newEnv(t, backends[0].dsn(t), nil)
	j, err := e.admin.SubmitJob(t.Context(), hangar.DefaultWorkspace, &hangar.JobSubmission{
		File: "p.yml", YAML: "type: pipeline\njobs:\n  a:\n    command: echo git\n",
		Properties: map[string]string{"azureml.git.commit": "0123456789abcdef0123456789abcdef01234567", "azureml.git.branch": "main"},
	})
	if err != nil {
		t.Fatal(err)
	}
	j = e.wait(j.Name)
	if j.Status != hangar.JobCompleted || j.Properties["azureml.git.commit"] == "" {
		t.Fatalf("pipeline %s %v", j.Status, j.Properties)
	}
	step := e.wait(jobrun.StepJobName(j.Name, "a"))
	run, err := e.api.Tracking.Run(t.Context(), hangar.DefaultWorkspace, step.RunID)
	if err != nil {
		t.Fatal(err)
	}
	tags := map[string]string{}
	for _, tg := range run.Data.Tags {
		tags[tg.Key] = tg.Value
	}
	if tags["mlflow.source.git.commit"] != "0123456789abcdef0123456789abcdef01234567" || tags["mlflow.source.git.branch"] != "main" {
		t.Errorf("step run tags %v", tags)
	}
}
