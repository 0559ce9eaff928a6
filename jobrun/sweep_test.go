package jobrun_test

import (
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/jobrun"
)

// logMetric is a shell function a trial's command defines to log a
// metric to its run over MLflow's REST API (no Python, no hangar binary):
// logm KEY VALUE STEP.
const logMetric = `logm() { curl -sf -o /dev/null -H "Authorization: Bearer $MLFLOW_TRACKING_TOKEN" -H 'Content-Type: application/json' ` +
	`-d "{\"run_id\":\"$MLFLOW_RUN_ID\",\"key\":\"$1\",\"value\":$2,\"timestamp\":0,\"step\":$3}" "$MLFLOW_TRACKING_URI/api/2.0/mlflow/runs/log-metric"; }; `

func trials(t *testing.T, e *env, sweep string) map[string]*hangar.Job {
	t.Helper()
	page, err := e.admin.ListJobs(t.Context(), hangar.DefaultWorkspace, hangar.JobFilter{Parent: sweep}, hangar.ListOptions{MaxResults: 1000})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*hangar.Job{}
	for _, j := range page.Items {
		out[j.Step] = j
	}
	return out
}

// TestSweep runs a random sweep whose trials log loss = (x-3)² and write
// x to an output: the best trial is the one with x nearest 3, its outputs
// are the sweep's, each trial is a child run with its parameters.
func TestSweep(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, b.dsn(t), nil)
			j := e.submit(`
$schema: https://azuremlschemas.azureedge.net/latest/sweepJob.schema.json
type: sweep
experiment_name: tune
trial:
  command: >-
    `+logMetric+`
    logm loss $(awk "BEGIN{print (${{search_space.x}}-3)^2}") 0 &&
    echo ${{search_space.x}} ${{inputs.tag}} > ${{outputs.model}}/x.txt
inputs:
  tag: hello
outputs:
  model:
search_space:
  x: {type: uniform, min_value: 0, max_value: 6}
objective: {goal: minimize, primary_metric: loss}
sampling_algorithm: {type: random, seed: 11}
limits: {max_total_trials: 6, max_concurrent_trials: 2}
`, nil)
			if j.Type != hangar.JobTypeSweep || j.Status != hangar.JobNotStarted {
				t.Fatalf("created %s %s", j.Type, j.Status)
			}
			j = e.wait(j.Name)
			if j.Status != hangar.JobCompleted {
				t.Fatalf("sweep %s: %s\n%s", j.Status, j.Error, e.log(j.Name))
			}
			ts := trials(t, e, j.Name)
			if len(ts) != 6 {
				t.Fatalf("got %d trials, want 6", len(ts))
			}
			bestX, bestLoss, bestTrial := 0.0, math.Inf(1), ""
			for step, tj := range ts {
				if tj.Status != hangar.JobCompleted {
					t.Fatalf("trial %s: %s %s\n%s", step, tj.Status, tj.Error, e.log(tj.Name))
				}
				run, err := e.api.Tracking.Run(t.Context(), hangar.DefaultWorkspace, tj.RunID)
				if err != nil {
					t.Fatal(err)
				}
				var parent, x string
				for _, tag := range run.Data.Tags {
					if tag.Key == "mlflow.parentRunId" {
						parent = tag.Value
					}
				}
				for _, p := range run.Data.Params {
					if p.Key == "x" {
						x = p.Value
					}
				}
				if parent != j.RunID {
					t.Errorf("trial %s: parent run %q, want the sweep's %q", step, parent, j.RunID)
				}
				v, err := strconv.ParseFloat(x, 64)
				if err != nil || v < 0 || v > 6 {
					t.Fatalf("trial %s: param x %q, want a number in [0, 6]", step, x)
				}
				if loss := (v - 3) * (v - 3); loss < bestLoss {
					bestX, bestLoss, bestTrial = v, loss, tj.Name
				}
			}
			sw, err := jobrun.SweepOf(j)
			if err != nil {
				t.Fatal(err)
			}
			if sw.Best == nil || sw.Best.Job != bestTrial || sw.Best.Params["x"] != strconv.FormatFloat(bestX, 'g', -1, 64) || sw.Best.Trials != 6 {
				t.Fatalf("best: got %+v, want %s with x=%v", sw.Best, bestTrial, bestX)
			}
			if math.Abs(sw.Best.Value-bestLoss) > 1e-6 {
				t.Errorf("best value: got %v, want %v", sw.Best.Value, bestLoss)
			}
			bj := ts[strings.TrimPrefix(bestTrial, j.Name+".")]
			if got, want := j.Outputs["model"].Manifest, bj.Outputs["model"].Manifest; got == "" || got != want {
				t.Errorf("sweep output manifest %q, want the best trial's %q", got, want)
			}
			if log := e.log(j.Name); !strings.Contains(log, "best trial "+bj.Step) {
				t.Errorf("sweep log does not name the best trial:\n%s", log)
			}
			e.waitRun(j.RunID, hangar.RunFinished)
		})
	}
}

// TestSweepBandit: trials whose metric is x·n/20 at interval n
// (maximize), x from a grid of 1, 2, 9 and 10, all running at once. With
// slack_factor 0.2 the bandit policy stops x = 1 and x = 2 (below
// 10/1.2 of the best) early — their processes end — and lets 9 and 10
// run to the end.
func TestSweepBandit(t *testing.T) {
	e := newEnv(t, backends[0].dsn(t), nil)
	j := e.submit(`
type: sweep
trial:
  command: >-
    `+logMetric+`
    for n in $(seq 1 20); do logm acc $(awk "BEGIN{print ${{search_space.x}}*$n/20}") $n; sleep 0.25; done
search_space:
  x: {type: choice, values: [1, 2, 9, 10]}
objective: {goal: maximize, primary_metric: acc}
sampling_algorithm: grid
limits: {max_concurrent_trials: 4}
early_termination: {type: bandit, slack_factor: 0.2, evaluation_interval: 1, delay_evaluation: 2}
`, nil)
	j = e.wait(j.Name)
	if j.Status != hangar.JobCompleted {
		t.Fatalf("sweep %s: %s\n%s", j.Status, j.Error, e.log(j.Name))
	}
	for _, tj := range trials(t, e, j.Name) {
		st, err := jobrun.StepOf(tj)
		if err != nil {
			t.Fatal(err)
		}
		x := st.SearchSpace["x"]
		page, err := e.api.Tracking.MetricHistory(t.Context(), hangar.DefaultWorkspace, tj.RunID, "acc", hangar.ListOptions{MaxResults: 1000})
		if err != nil {
			t.Fatal(err)
		}
		logged := len(page.Items)
		switch x {
		case "1", "2":
			if tj.Status != hangar.JobCanceled || logged >= 20 {
				t.Errorf("x=%s: %s after %d intervals (%s); want Canceled early", x, tj.Status, logged, tj.Error)
			}
			if log := e.log(tj.Name); !strings.Contains(log, "early termination: bandit policy") {
				t.Errorf("x=%s: the log does not say why it stopped:\n%s", x, log)
			}
		case "9", "10":
			if tj.Status != hangar.JobCompleted || logged != 20 {
				t.Errorf("x=%s: %s after %d intervals (%s); want Completed after 20", x, tj.Status, logged, tj.Error)
			}
		default:
			t.Errorf("unexpected x %q", x)
		}
	}
	sw, _ := jobrun.SweepOf(j)
	if sw == nil || sw.Best == nil || sw.Best.Params["x"] != "10" || sw.Best.Value != 10 {
		t.Errorf("best: got %+v, want x=10 with acc 10", sw)
	}
}

// TestSweepMetricNeverLogged fails the sweep, saying which metric.
func TestSweepMetricNeverLogged(t *testing.T) {
	e := newEnv(t, backends[0].dsn(t), nil)
	j := e.wait(e.submit(`
type: sweep
trial: {command: "echo ${{search_space.n}}"}
search_space: {n: {type: randint, upper: 5}}
objective: {goal: maximize, primary_metric: accuracy}
sampling_algorithm: random
limits: {max_total_trials: 2}
`, nil).Name)
	if j.Status != hangar.JobFailed || !strings.Contains(j.Error, `the primary metric "accuracy" was logged by none of the 2 completed trials`) {
		t.Errorf("got %s %q, want Failed naming the metric", j.Status, j.Error)
	}
}

// TestSweepBadInput: problems are refused at create time with file and
// line, and nothing is created.
func TestSweepBadInput(t *testing.T) {
	e := newEnv(t, backends[0].dsn(t), nothing{})
	tests := []struct {
		name, yaml, want string
	}{
		{"unknown distribution", "type: sweep\ntrial: {command: \"echo ${{search_space.a}}\"}\nsearch_space:\n  a: {type: gaussian, mu: 0, sigma: 1}\nobjective: {goal: minimize, primary_metric: l}\nsampling_algorithm: random\n",
			`job.yml:4: search_space.a: unknown distribution "gaussian"`},
		{"empty space", "type: sweep\ntrial: {command: echo}\nsearch_space: {}\nobjective: {goal: minimize, primary_metric: l}\nsampling_algorithm: random\n",
			"job.yml:3: search_space is empty: give at least one parameter"},
		{"wrong arguments", "type: sweep\ntrial: {command: \"echo ${{search_space.a}}\"}\nsearch_space:\n  a: {type: uniform, mu: 0, sigma: 1}\nobjective: {goal: minimize, primary_metric: l}\nsampling_algorithm: random\n",
			"job.yml:4: search_space.a: uniform takes min_value, max_value, not mu"},
		{"component without the parameter's input", "type: sweep\ntrial: azureml://registries/hangar/components/train_gbdt/labels/latest\ninputs:\n  training_data: {type: uri_file, path: azureml:nope:1}\nsearch_space:\n  leaves: {type: choice, values: [8, 16]}\nobjective: {goal: minimize, primary_metric: l}\nsampling_algorithm: grid\n",
			`search_space.leaves: component train_gbdt`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.admin.SubmitJob(t.Context(), hangar.DefaultWorkspace, &hangar.JobSubmission{File: "job.yml", YAML: tt.yaml})
			if hangar.ErrorCode(err) != hangar.EINVALID || !strings.Contains(hangar.ErrorMessage(err), tt.want) {
				t.Fatalf("got %v, want EINVALID with %q", err, tt.want)
			}
		})
	}
	page, err := e.admin.ListJobs(t.Context(), hangar.DefaultWorkspace, hangar.JobFilter{}, hangar.ListOptions{})
	if err != nil || len(page.Items) != 0 {
		t.Errorf("jobs after refused submissions: %d (%v), want none", len(page.Items), err)
	}
}

// TestSweepStep runs a sweep as a pipeline step: its trial reads a
// pipeline input, and the step after it reads the best trial's output.
func TestSweepStep(t *testing.T) {
	e := newEnv(t, backends[0].dsn(t), nil)
	j := e.submit(`
type: pipeline
inputs:
  base: 100
jobs:
  tune:
    type: sweep
    trial:
      command: >-
        `+logMetric+`
        logm score $(( ${{inputs.base}} + ${{search_space.k}} )) 0 && echo ${{search_space.k}} > ${{outputs.best}}/k.txt
    inputs:
      base: ${{parent.inputs.base}}
    outputs:
      best:
    search_space:
      k: {type: choice, values: [1, 7, 3]}
    objective: {goal: maximize, primary_metric: score}
    sampling_algorithm: grid
  after:
    command: grep -q 7 ${{inputs.best}}/k.txt && echo picked 7
    inputs:
      best: ${{parent.jobs.tune.outputs.best}}
`, nil)
	j = e.wait(j.Name)
	if j.Status != hangar.JobCompleted {
		for step, s := range trials(t, e, j.Name) {
			t.Logf("step %s: %s %s", step, s.Status, s.Error)
		}
		t.Fatalf("pipeline %s: %s", j.Status, j.Error)
	}
	tune, err := e.admin.Job(t.Context(), hangar.DefaultWorkspace, jobrun.StepJobName(j.Name, "tune"))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(trials(t, e, tune.Name)); n != 3 {
		t.Errorf("got %d trials, want 3", n)
	}
	sw, err := jobrun.SweepOf(tune)
	if err != nil || sw.Best == nil || sw.Best.Params["k"] != "7" || sw.Best.Value != 107 {
		t.Errorf("best: got %+v (%v), want k=7 with 107", sw, err)
	}
	if log := e.log(jobrun.StepJobName(j.Name, "after")); !strings.Contains(log, "picked 7") {
		t.Errorf("the step after the sweep did not read the best output:\n%s", log)
	}
}

// TestSweepCancelAndTimeout: canceling a sweep cancels its running
// trials (their processes end) and starts no more; a sweep past
// limits.timeout is canceled with its trials, saying why.
func TestSweepCancelAndTimeout(t *testing.T) {
	e := newEnv(t, backends[0].dsn(t), nil)
	pids := filepath.Join(t.TempDir(), "pids")
	j := e.submit(`
type: sweep
trial:
  command: sleep 300 & echo $! >> `+pids+`; wait
search_space: {x: {type: choice, values: [1, 2, 3, 4]}}
objective: {goal: minimize, primary_metric: loss}
sampling_algorithm: grid
limits: {max_concurrent_trials: 2}
`, nil)
	waitFile(t, pids)
	deadline := time.Now().Add(30 * time.Second)
	for len(pidsAlive(t, pids)) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("the trials did not start: %d processes", len(pidsAlive(t, pids)))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := e.admin.CancelJob(t.Context(), hangar.DefaultWorkspace, j.Name); err != nil {
		t.Fatal(err)
	}
	j = e.wait(j.Name)
	if j.Status != hangar.JobCanceled {
		t.Fatalf("sweep %s (%s), want Canceled", j.Status, j.Error)
	}
	ts := trials(t, e, j.Name)
	if len(ts) != 2 {
		t.Errorf("got %d trials, want the 2 that ran (no more started)", len(ts))
	}
	for step, tj := range ts {
		if tj.Status != hangar.JobCanceled {
			t.Errorf("trial %s: %s, want Canceled", step, tj.Status)
		}
	}
	deadline = time.Now().Add(10 * time.Second)
	for len(pidsAlive(t, pids)) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("processes %v outlived the canceled sweep", pidsAlive(t, pids))
		}
		time.Sleep(50 * time.Millisecond)
	}
	e.waitRun(j.RunID, hangar.RunKilled)

	j = e.wait(e.submit(`
type: sweep
trial: {command: sleep 300}
search_space: {x: {type: choice, values: [1, 2]}}
objective: {goal: minimize, primary_metric: loss}
sampling_algorithm: grid
limits: {timeout: 1}
`, nil).Name)
	if j.Status != hangar.JobCanceled || !strings.Contains(j.Error, "the sweep reached limits.timeout (1s)") {
		t.Errorf("got %s %q, want Canceled by limits.timeout", j.Status, j.Error)
	}
	for step, tj := range trials(t, e, j.Name) {
		if tj.Status != hangar.JobCanceled {
			t.Errorf("trial %s: %s, want Canceled", step, tj.Status)
		}
	}
}

// TestSweepBayesian runs a bayesian sweep end to end: after its random
// start it learns from the completed trials (their parameters read back
// from their specs) and ends with the best. One trial at a time, so each
// suggestion sees every earlier trial and the run is deterministic.
func TestSweepBayesian(t *testing.T) {
	e := newEnv(t, backends[0].dsn(t), nil)
	j := e.wait(e.submit(`
type: sweep
trial:
  command: >-
    `+logMetric+`
    logm loss $(awk "BEGIN{print (${{search_space.x}}-0.7)^2 + (${{search_space.c}} == 2 ? 0 : 1)}") 0
search_space:
  x: {type: uniform, min_value: 0, max_value: 1}
  c: {type: choice, values: [1, 2, 3]}
objective: {goal: minimize, primary_metric: loss}
sampling_algorithm: bayesian
limits: {max_total_trials: 12, max_concurrent_trials: 1}
`, nil).Name)
	if j.Status != hangar.JobCompleted {
		t.Fatalf("sweep %s: %s", j.Status, j.Error)
	}
	if n := len(trials(t, e, j.Name)); n != 12 {
		t.Errorf("got %d trials, want 12", n)
	}
	sw, err := jobrun.SweepOf(j)
	if err != nil || sw.Best == nil || sw.Best.Trials != 12 {
		t.Fatalf("best: got %+v (%v)", sw, err)
	}
	// c other than 2 costs 1: the best has found c=2 and x near 0.7.
	if sw.Best.Params["c"] != "2" || sw.Best.Value > 0.2 {
		t.Errorf("best: got %+v, want c=2 and a loss under 0.2", sw.Best)
	}
}
