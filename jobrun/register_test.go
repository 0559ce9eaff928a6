package jobrun_test

import (
	"strings"
	"testing"
	"time"

	"github.com/hangar-ml/hangar"
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
			// The same content again is the version that holds it, not
			// one more.
			for _, name := range []string{"early-nums", "early-final"} {
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
// untouched. The registrar's answer for the version this same job
// registered already (a report sent again) is that version.
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

	reg := jobrun.DataRegistrar{Data: e.api.Data, Blobs: e.api.Blobs}
	again := &hangar.DataAsset{Name: "pinned", Version: "1", Type: hangar.DataURIFolder, Manifest: hangar.BlobInfo{Digest: first.Outputs["out"].Manifest},
		Tags: map[string]string{"hangar.job": first.Name, "hangar.output": "out"}}
	if got, err := reg.Register(t.Context(), hangar.DefaultWorkspace, again); err != nil || got.Version != "1" {
		t.Errorf("register the same job's output again: got %+v, %v; want version 1", got, err)
	}
	again.Tags["hangar.job"] = second.Name
	if _, err := reg.Register(t.Context(), hangar.DefaultWorkspace, again); hangar.ErrorCode(err) != hangar.ECONFLICT {
		t.Errorf("register another job's output as pinned:1: got %v, want ECONFLICT", err)
	}
}
