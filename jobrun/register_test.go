package jobrun_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/artifact"
	"github.com/hangar-ml/hangar/jobrun"
)

// seenEnded polls a job until it ends and returns it as first seen ended,
// with the data assets its named outputs name read at that moment: what a
// client that waits for the status finds.
func (e *env) seenEnded(name string, outputs ...string) (*hangar.Job, map[string]*hangar.DataAsset) {
	e.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		j, err := e.admin.Job(e.t.Context(), hangar.DefaultWorkspace, name)
		if err != nil {
			e.t.Fatalf("job %s: %v", name, err)
		}
		if j.Status.Terminal() {
			assets := map[string]*hangar.DataAsset{}
			for _, o := range outputs {
				ref := j.Outputs[o].Asset
				n, v, ok := strings.Cut(ref, ":")
				if !ok {
					continue
				}
				if a, err := e.admin.DataVersion(e.t.Context(), hangar.DefaultWorkspace, n, v); err == nil {
					assets[o] = a
				}
			}
			return j, assets
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("job %s still %s after 60 s", name, j.Status)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestOutputsRegisteredBeforeCompleted: a job's named outputs are data
// assets by the time anyone sees it Completed — a command job, a
// pipeline's step, a reused step and a pipeline's own named output —
// even when registering takes a while.
func TestOutputsRegisteredBeforeCompleted(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, b.dsn(t), nil, slowRegister(300*time.Millisecond))
			j, assets := e.seenEnded(e.submit(`
command: printf 'x,y\n1,2\n' > ${{outputs.out}}/result.csv
outputs:
  out:
    type: uri_folder
    name: early-result
`, nil).Name, "out")
			if j.Status != hangar.JobCompleted {
				t.Fatalf("job %s: %s\n%s", j.Status, j.Error, e.log(j.Name))
			}
			if a := assets["out"]; a == nil || j.Outputs["out"].Asset != "early-result:1" || a.Manifest.Digest != j.Outputs["out"].Manifest {
				t.Errorf("seen Completed: output %+v, asset %+v; want data asset early-result:1 with the output's content", j.Outputs["out"], a)
			}
			if log := e.log(j.Name); !strings.Contains(log, "[hangar] output out registered as data asset early-result:1\n") {
				t.Errorf("log lacks the registration:\n%s", log)
			}

			pipeline := `
type: pipeline
outputs:
  final:
    type: uri_folder
    name: early-final
jobs:
  make:
    command: seq 3 > ${{outputs.nums}}/nums.txt
    outputs:
      nums:
        type: uri_folder
        name: early-nums
  sum:
    command: awk '{s+=$1} END {print s}' ${{inputs.nums}}/nums.txt > ${{outputs.total}}/total.txt
    inputs:
      nums: ${{parent.jobs.make.outputs.nums}}
    outputs:
      total: ${{parent.outputs.final}}
`
			for _, run := range []string{"first", "second"} {
				p := e.submit(pipeline, nil, "name="+run)
				step, assets := e.seenEnded(jobrun.StepJobName(p.Name, "make"), "nums")
				if step.Status != hangar.JobCompleted {
					t.Fatalf("%s: step make %s: %s", run, step.Status, step.Error)
				}
				if a := assets["nums"]; a == nil || a.Name != "early-nums" || a.Manifest.Digest != step.Outputs["nums"].Manifest {
					t.Errorf("%s: step make seen Completed (reused from %q): output %+v, asset %+v; want data asset early-nums", run, step.ReusedFrom, step.Outputs["nums"], a)
				}
				if run == "second" && step.ReusedFrom == "" {
					t.Errorf("second: step make was not reused")
				}
				pj, assets := e.seenEnded(p.Name, "final")
				if pj.Status != hangar.JobCompleted {
					t.Fatalf("%s: pipeline %s: %s", run, pj.Status, pj.Error)
				}
				if a := assets["final"]; a == nil || a.Name != "early-final" || a.Manifest.Digest != pj.Outputs["final"].Manifest {
					t.Errorf("%s: pipeline seen Completed: output %+v, asset %+v; want data asset early-final", run, pj.Outputs["final"], a)
				}
			}

			// A reused step whose output names a fixed version completes
			// with that version: the same content, registered by the
			// original step, is not a conflict.
			pinned := strings.NewReplacer("name: early-nums", "name: fixed-nums\n        version: \"1\"", "early-final", "fixed-final").Replace(pipeline)
			for _, run := range []string{"pinned-first", "pinned-second"} {
				p := e.submit(pinned, nil, "name="+run)
				step, assets := e.seenEnded(jobrun.StepJobName(p.Name, "make"), "nums")
				if step.Status != hangar.JobCompleted {
					t.Fatalf("%s: step make %s: %s", run, step.Status, step.Error)
				}
				if a := assets["nums"]; a == nil || step.Outputs["nums"].Asset != "fixed-nums:1" || a.Manifest.Digest != step.Outputs["nums"].Manifest {
					t.Errorf("%s: step make seen Completed (reused from %q): output %+v, asset %+v; want data asset fixed-nums:1", run, step.ReusedFrom, step.Outputs["nums"], a)
				}
				if run == "pinned-second" && step.ReusedFrom == "" {
					t.Errorf("%s: step make was not reused", run)
				}
				if pj := e.wait(p.Name); pj.Status != hangar.JobCompleted {
					t.Errorf("%s: pipeline %s: %s", run, pj.Status, pj.Error)
				}
			}
			// The same content again is the version that holds it, not
			// one more.
			for _, name := range []string{"early-nums", "early-final", "fixed-nums", "fixed-final"} {
				page, err := e.admin.ListDataVersions(t.Context(), hangar.DefaultWorkspace, name, false, hangar.ListOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if len(page.Items) != 1 {
					t.Errorf("data asset %s: got %d versions, want 1", name, len(page.Items))
				}
			}
		})
	}
}

// TestOutputNotRegisteredFailsJob: a job whose output cannot be
// registered (its version exists with other content) fails, saying why
// in its error and its log, its outputs still recorded; the version is
// untouched. An empty output is not registered and the job completes. The registrar's answer for a version
// that holds the same content already (a report sent again, a reused
// step) is that version, whichever job registered it; other content is
// ECONFLICT.
func TestOutputNotRegisteredFailsJob(t *testing.T) {
	e := newEnv(t, backends[0].dsn(t), nil)
	job := `
command: echo %s > ${{outputs.out}}/v.txt
outputs:
  out:
    type: uri_folder
    name: pinned
    version: "1"
`
	first := e.wait(e.submit(strings.Replace(job, "%s", "one", 1), nil).Name)
	if first.Status != hangar.JobCompleted || first.Outputs["out"].Asset != "pinned:1" {
		t.Fatalf("first: %s %s, output %+v", first.Status, first.Error, first.Outputs["out"])
	}
	second := e.wait(e.submit(strings.Replace(job, "%s", "two", 1), nil).Name)
	want := "output out was not registered as data asset pinned: "
	if second.Status != hangar.JobFailed || !strings.HasPrefix(second.Error, want) {
		t.Errorf("second: got %s %q, want Failed %q…", second.Status, second.Error, want)
	}
	if o := second.Outputs["out"]; o.Manifest == "" || o.Asset != "" {
		t.Errorf("second: output %+v, want its content recorded and no data asset", o)
	}
	if log := e.log(second.Name); !strings.Contains(log, "[hangar] "+want) {
		t.Errorf("second's log lacks why:\n%s", log)
	}
	a, err := e.admin.DataVersion(t.Context(), hangar.DefaultWorkspace, "pinned", "1")
	if err != nil || a.Manifest.Digest != first.Outputs["out"].Manifest || a.Tags["hangar.job"] != first.Name {
		t.Errorf("pinned:1 = %+v, %v; want the first job's", a, err)
	}

	// An output left empty is not registered and fails nothing.
	empty := e.wait(e.submit("command: 'true'\noutputs:\n  out:\n    type: uri_folder\n    name: nothing\n", nil).Name)
	if empty.Status != hangar.JobCompleted || empty.Outputs["out"].Asset != "" {
		t.Errorf("empty output: got %s %q, output %+v; want Completed without a data asset", empty.Status, empty.Error, empty.Outputs["out"])
	}
	if log := e.log(empty.Name); !strings.Contains(log, "[hangar] output out was not registered as data asset nothing: the output is empty") {
		t.Errorf("the empty output's log does not say why it was not registered:\n%s", log)
	}

	reg := jobrun.DataRegistrar{Data: e.api.Data, Blobs: e.api.Blobs}
	again := &hangar.DataAsset{Name: "pinned", Version: "1", Type: hangar.DataURIFolder, Manifest: hangar.BlobInfo{Digest: first.Outputs["out"].Manifest},
		Tags: map[string]string{"hangar.job": first.Name, "hangar.output": "out"}}
	if got, err := reg.Register(t.Context(), hangar.DefaultWorkspace, again); err != nil || got.Version != "1" {
		t.Errorf("register the same job's output again: got %+v, %v; want version 1", got, err)
	}
	// The same content from another job (a reused step, a rerun) is
	// version 1 too; other content is a conflict, whichever job sends it.
	again.Tags["hangar.job"] = second.Name
	if got, err := reg.Register(t.Context(), hangar.DefaultWorkspace, again); err != nil || got.Version != "1" || got.Manifest.Digest != first.Outputs["out"].Manifest {
		t.Errorf("register another job's output with pinned:1's content: got %+v, %v; want version 1", got, err)
	}
	again.Manifest.Digest = second.Outputs["out"].Manifest
	if _, err := reg.Register(t.Context(), hangar.DefaultWorkspace, again); hangar.ErrorCode(err) != hangar.ECONFLICT {
		t.Errorf("register another job's other content as pinned:1: got %v, want ECONFLICT", err)
	}
	again.Tags["hangar.job"] = first.Name
	if _, err := reg.Register(t.Context(), hangar.DefaultWorkspace, again); hangar.ErrorCode(err) != hangar.ECONFLICT {
		t.Errorf("register other content as pinned:1 under the first job's name: got %v, want ECONFLICT", err)
	}
}

// TestRegisterOutlastsLease: registering outputs for longer than the
// runner's lease (3 s here) neither fails the job nor runs it again: the
// lease is renewed while the outputs are registered.
func TestRegisterOutlastsLease(t *testing.T) {
	e := newEnv(t, backends[0].dsn(t), nil, slowRegister(4*time.Second))
	j := e.wait(e.submit(`
command: echo big > ${{outputs.out}}/big.txt
outputs:
  out:
    type: uri_folder
    name: slow-result
`, nil).Name)
	if j.Status != hangar.JobCompleted || j.Attempt != 1 || j.Outputs["out"].Asset != "slow-result:1" {
		t.Errorf("got %s (attempt %d, %q), output %+v; want Completed at the first attempt with data asset slow-result:1\n%s", j.Status, j.Attempt, j.Error, j.Outputs["out"], e.log(j.Name))
	}
}

// TestReportSentTwice: a runner's report sent again while the first is
// still registering (its request timed out) waits for the first and is
// refused as the job has ended: the output is registered once.
func TestReportSentTwice(t *testing.T) {
	e := newEnv(t, backends[0].dsn(t), nothing{}, slowRegister(300*time.Millisecond))
	ctx := t.Context()
	j := e.submit("command: 'true'\noutputs:\n  out:\n    type: uri_folder\n    name: twice\n", nil)
	e.waitStatus(j.Name, hangar.JobQueued)
	for _, to := range []hangar.JobStatus{hangar.JobPreparing, hangar.JobRunning, hangar.JobFinalizing} {
		if _, err := e.api.Jobs.TransitionJob(ctx, hangar.DefaultWorkspace, j.Name, hangar.JobTransition{To: to, Holder: "runner", Lease: time.Minute}); err != nil {
			t.Fatalf("%s: %v", to, err)
		}
	}
	info, _, err := artifact.PutDir(ctx, e.api.Blobs, fstest.MapFS{"a.txt": {Data: []byte("a\n")}})
	if err != nil {
		t.Fatal(err)
	}
	report := hangar.JobTransition{From: []hangar.JobStatus{hangar.JobFinalizing}, To: hangar.JobCompleted, Holder: "runner",
		Outputs: map[string]hangar.JobOutput{"out": {Type: "uri_folder", URI: hangar.JobOutputURI(j.Name, "out"), Manifest: info.Digest}}}
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() { _, errs[i] = e.api.Jobs.TransitionJob(ctx, hangar.DefaultWorkspace, j.Name, report) })
	}
	wg.Wait()
	if (errs[0] == nil) == (errs[1] == nil) || hangar.ErrorCode(errors.Join(errs...)) != hangar.ECONFLICT {
		t.Errorf("two reports: got %v and %v, want one taken and one ECONFLICT", errs[0], errs[1])
	}
	if n := e.registrations.Load(); n != 1 {
		t.Errorf("the output was registered %d times, want once", n)
	}
	page, err := e.admin.ListDataVersions(ctx, hangar.DefaultWorkspace, "twice", false, hangar.ListOptions{})
	if err != nil || len(page.Items) != 1 {
		t.Errorf("data asset twice: got %d versions (%v), want 1", len(page.Items), err)
	}
	if got, _ := e.admin.Job(ctx, hangar.DefaultWorkspace, j.Name); got.Status != hangar.JobCompleted || got.Outputs["out"].Asset != "twice:1" {
		t.Errorf("job %s, output %+v; want Completed with data asset twice:1", got.Status, got.Outputs["out"])
	}
}
