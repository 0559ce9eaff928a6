package jobrun_test

import (
	"crypto/rand"
	"path/filepath"
	"testing"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/builtin"
	"github.com/hangar-ml/hangar/jobrun"
	"github.com/hangar-ml/hangar/seal"
	"github.com/hangar-ml/hangar/sqlstore"
)

// FuzzSubmitJob submits arbitrary YAML (with a component file beside it)
// to the submitter on a real store: it never panics, answers only
// EINVALID, ENOTFOUND or ECONFLICT when it refuses, and what it accepts
// reads back as a job whose spec jobrun reads.
func FuzzSubmitJob(f *testing.F) {
	for _, seed := range []struct{ job, comp string }{
		{"command: echo ${{inputs.x}}\ninputs:\n  x: 1\n", ""},
		{"type: pipeline\njobs:\n  a:\n    component: ./c.yml\n    inputs:\n      n: 3\n  b:\n    command: cat ${{inputs.i}}\n    inputs:\n      i: ${{parent.jobs.a.outputs.o}}\n",
			"name: c\ninputs:\n  n:\n    type: integer\noutputs:\n  o:\n    type: uri_folder\ncommand: seq ${{inputs.n}} > ${{outputs.o}}/x\n"},
		{"type: pipeline\ninputs:\n  d:\n    type: uri_file\n    path: azureml:chicago@latest\njobs:\n  s:\n    component: hangar:split\n    inputs:\n      input: ${{parent.inputs.d}}\n", ""},
		{"command: ls ${{inputs.d}}\ninputs:\n  d:\n    type: uri_folder\n    path: ./data\n", ""},
		{"command: x\ncompute: azureml:gpu\nenvironment: azureml:env@latest\n", ""},
		{"type: sweep\ntrial:\n  command: echo ${{search_space.lr}} ${{inputs.n}}\ninputs:\n  n: 2\nsearch_space:\n  lr: {type: loguniform, min_value: -5, max_value: -1}\nobjective: {goal: maximize, primary_metric: auc}\nsampling_algorithm: {type: random, seed: 3}\nlimits: {max_total_trials: 4}\nearly_termination: {type: median_stopping}\n", ""},
		{"type: sweep\ntrial: ./c.yml\ninputs:\n  m: ${{search_space.k}}\nsearch_space:\n  n: {type: choice, values: [1, 2]}\n  k: {type: randint, upper: 3}\nobjective: {goal: minimize, primary_metric: loss}\nsampling_algorithm: random\n",
			"name: c\ninputs:\n  n:\n    type: integer\n  m:\n    type: integer\noutputs:\n  o:\n    type: uri_folder\ncommand: seq ${{inputs.n}} ${{inputs.m}} > ${{outputs.o}}/x\n"},
		{"type: pipeline\njobs:\n  t:\n    type: sweep\n    trial: ./c.yml\n    search_space:\n      n: {type: quniform, min_value: 1, max_value: 9, q: 2}\n    objective: {goal: minimize, primary_metric: l}\n    sampling_algorithm: bayesian\n  b:\n    command: cat ${{inputs.i}}\n    inputs:\n      i: ${{parent.jobs.t.outputs.o}}\n",
			"name: c\ninputs:\n  n:\n    type: integer\noutputs:\n  o:\n    type: uri_folder\ncommand: seq ${{inputs.n}} > ${{outputs.o}}/x\n"},
	} {
		f.Add(seed.job, seed.comp)
	}
	dir := f.TempDir()
	db := sqlstore.New(filepath.Join(dir, "hangar.db"))
	kek := make([]byte, seal.KeySize)
	rand.Read(kek)
	sealer, err := seal.New(kek)
	if err != nil {
		f.Fatal(err)
	}
	db.Sealer = sealer
	if err := db.Open(f.Context()); err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	jobs := sqlstore.NewJobService(db)
	s := &jobrun.Submitter{Jobs: jobs, Data: sqlstore.NewDataService(db), Environments: sqlstore.NewEnvironmentService(db),
		Components: sqlstore.NewComponentService(db), Builtin: builtin.Resolver{}}
	f.Fuzz(func(t *testing.T, job, comp string) {
		sub := &hangar.JobSubmission{File: "job.yml", YAML: job, Files: map[string]string{"c.yml": comp},
			Uploads: map[string]hangar.Digest{"data": "sha256:ab00000000000000000000000000000000000000000000000000000000000000"}}
		j, err := s.SubmitJob(t.Context(), hangar.DefaultWorkspace, sub)
		if err != nil {
			switch hangar.ErrorCode(err) {
			case hangar.EINVALID, hangar.ENOTFOUND, hangar.ECONFLICT:
				return
			}
			t.Fatalf("submit: %v (code %s)", err, hangar.ErrorCode(err))
		}
		got, err := jobs.Job(t.Context(), hangar.DefaultWorkspace, j.Name)
		if err != nil {
			t.Fatalf("read back %s: %v", j.Name, err)
		}
		if got.Type == hangar.JobTypePipeline {
			if _, err := jobrun.PipelineOf(got); err != nil {
				t.Fatalf("pipeline spec: %v", err)
			}
			steps, err := jobs.ListJobs(t.Context(), hangar.DefaultWorkspace, hangar.JobFilter{Parent: j.Name}, hangar.ListOptions{MaxResults: hangar.MaxMaxResults})
			if err != nil {
				t.Fatal(err)
			}
			for _, st := range steps.Items {
				if st.Type == hangar.JobTypeSweep {
					if _, err := jobrun.SweepOf(st); err != nil {
						t.Fatalf("sweep step spec: %v", err)
					}
				} else if _, err := jobrun.StepOf(st); err != nil {
					t.Fatalf("step spec: %v", err)
				}
			}
		} else if got.Type == hangar.JobTypeSweep {
			if _, err := jobrun.SweepOf(got); err != nil {
				t.Fatalf("sweep spec: %v", err)
			}
		} else if _, err := jobrun.StepOf(got); err != nil {
			t.Fatalf("command spec: %v", err)
		}
	})
}
