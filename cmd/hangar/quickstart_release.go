package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/artifact"
	"github.com/hangar-ml/hangar/httpapi"
	"github.com/hangar-ml/hangar/jobrun"
	"github.com/hangar-ml/hangar/jobspec"
	"github.com/hangar-ml/hangar/mlflow"
	"github.com/hangar-ml/hangar/sweep"
)

// The quickstart's release: the approved model goes to an online endpoint
// as blue, a challenger as green with a 10 % canary, the 2012 rows are
// replayed against it, and green is promoted and rolled back under load —
// as `hangar online-endpoint` and `online-deployment` would do it, through
// the same client.

const (
	quickstartEndpoint = "chicago-ridership"
	// quickstartReplayYear is the year of rows replayed against the
	// endpoint: validation data the models never trained on.
	quickstartReplayYear = "2012"
	// quickstartCallers score at once during the replay and the load.
	quickstartCallers = 4
)

// replayRows reads the rows of year from the Chicago table as /score
// bodies, one row each in Azure's input_data split form, with the
// features by name (every column but the label and the date).
func replayRows(file, year string) ([][]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	dateCol := slices.Index(header, "date")
	if dateCol < 0 {
		return nil, fmt.Errorf("%s has no date column", file)
	}
	var feats []int
	var names []string
	for i, h := range header {
		if h != "date" && h != "ridership" {
			feats, names = append(feats, i), append(names, h)
		}
	}
	cols, err := json.Marshal(names)
	if err != nil {
		return nil, err
	}
	var bodies [][]byte
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", file, err)
		}
		if !strings.HasPrefix(rec[dateCol], year+"-") {
			continue
		}
		var b bytes.Buffer
		b.WriteString(`{"input_data": {"columns": `)
		b.Write(cols)
		b.WriteString(`, "index": [0], "data": [[`)
		for j, i := range feats {
			v, err := strconv.ParseFloat(rec[i], 64)
			if err != nil {
				return nil, fmt.Errorf("%s: row of %s: column %s: %w", file, rec[dateCol], header[i], err)
			}
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
		}
		b.WriteString("]]}}")
		bodies = append(bodies, b.Bytes())
	}
	if len(bodies) == 0 {
		return nil, fmt.Errorf("%s has no rows of %s", file, year)
	}
	return bodies, nil
}

// replayStats counts the answers of a replay by deployment, and what
// failed.
type replayStats struct {
	mu       sync.Mutex
	requests int
	byDep    map[string]int
	failed   int
	firstErr string
	lat      []time.Duration
}

func (s *replayStats) add(dep string, d time.Duration, failure string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	if failure != "" {
		s.failed++
		if s.firstErr == "" {
			s.firstErr = failure
		}
		return
	}
	if s.byDep == nil {
		s.byDep = map[string]int{}
	}
	s.byDep[dep]++
	s.lat = append(s.lat, d)
}

// split says how many answers each deployment gave, by name.
func (s *replayStats) split() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var parts []string
	for _, d := range slices.Sorted(func(yield func(string) bool) {
		for k := range s.byDep {
			if !yield(k) {
				return
			}
		}
	}) {
		parts = append(parts, fmt.Sprintf("%d by %s", s.byDep[d], d))
	}
	return strings.Join(parts, ", ")
}

// p99 is the 99th percentile of the answers' latency.
func (s *replayStats) p99() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.lat) == 0 {
		return 0
	}
	l := slices.Clone(s.lat)
	sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
	return l[(len(l)*99)/100]
}

// scorer posts /score bodies to an endpoint with its key.
type scorer struct {
	client *http.Client
	url    string
	key    string
}

// score posts one body and says which deployment answered, or why the
// request failed.
func (sc scorer) score(ctx context.Context, body []byte) (dep, failure string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sc.url, bytes.NewReader(body))
	if err != nil {
		return "", err.Error()
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+sc.key)
	resp, err := sc.client.Do(req)
	if err != nil {
		return "", err.Error()
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", err.Error()
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Sprintf("%s: %s", resp.Status, bytes.TrimSpace(answer))
	}
	var preds []float64
	if err := json.Unmarshal(answer, &preds); err != nil || len(preds) != 1 {
		return "", fmt.Sprintf("answer %q: want one prediction", answer)
	}
	return resp.Header.Get("Azureml-Model-Deployment"), ""
}

// replay sends the bodies with quickstartCallers callers at once: once
// each, or round and round until stop is closed when stop is not nil.
func (sc scorer) replay(ctx context.Context, bodies [][]byte, stop <-chan struct{}) *replayStats {
	st := &replayStats{}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range quickstartCallers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if stop == nil && i >= len(bodies) {
					return
				}
				if stop != nil {
					select {
					case <-stop:
						return
					default:
					}
				}
				start := time.Now()
				dep, failure := sc.score(ctx, bodies[i%len(bodies)])
				st.add(dep, time.Since(start), failure)
			}
		}()
	}
	wg.Wait()
	return st
}

// stepWriter writes each line it is given as a detail of the current
// step, for the waits the CLI prints to a writer.
type stepWriter struct{ step *steps }

func (w stepWriter) Write(p []byte) (int, error) {
	for line := range strings.SplitSeq(strings.TrimRight(string(p), "\n"), "\n") {
		w.step.detail("%s", line)
	}
	return len(p), nil
}

// quickstartDeployment is a native deployment of a model version with
// Azure's default settings, capture of every request on.
func quickstartDeployment(name, model, version string) *hangar.OnlineDeployment {
	return &hangar.OnlineDeployment{
		Endpoint: quickstartEndpoint, Name: name,
		Description: fmt.Sprintf("%s:%s on the native tree runtime", model, version),
		Spec: hangar.DeploymentSpec{
			ModelName: model, ModelVersion: version, ModelType: "mlflow_model",
			InstanceCount: 1,
			Request:       hangar.RequestSettings{RequestTimeoutMS: 5000, MaxConcurrentRequestsPerInstance: quickstartCallers},
			Liveness:      hangar.Probe{InitialDelay: 0, Period: 10, Timeout: 2, SuccessThreshold: 1, FailureThreshold: 30},
			Readiness:     hangar.Probe{InitialDelay: 0, Period: 10, Timeout: 2, SuccessThreshold: 1, FailureThreshold: 30},
			DataCollector: &hangar.DataCollector{SamplingRate: 1, RollingRate: "Hour", Collections: map[string]hangar.DataCollection{
				"model_inputs": {Enabled: true}, "model_outputs": {Enabled: true},
			}},
		},
	}
}

// releaseDemo is the state the release steps share.
type releaseDemo struct {
	c      *httpapi.Client
	ws     string
	model  string
	scorer scorer
	rows   [][]byte
}

// recreateEndpoint makes a fresh endpoint, deleting one an earlier
// quickstart left (with its deployments).
func (r *releaseDemo) recreateEndpoint(ctx context.Context) (*hangar.OnlineEndpoint, error) {
	if _, err := r.c.OnlineEndpoint(ctx, r.ws, quickstartEndpoint); err == nil {
		if err := r.c.DeleteOnlineEndpoint(ctx, r.ws, quickstartEndpoint); err != nil {
			return nil, fmt.Errorf("delete the earlier endpoint: %w", err)
		}
	} else if !hangar.IsCode(err, hangar.ENOTFOUND) {
		return nil, err
	}
	e := &hangar.OnlineEndpoint{Name: quickstartEndpoint, AuthMode: hangar.EndpointAuthKey,
		Description: "Daily ridership at Clark/Lake: blue/green releases of the registered model"}
	if err := r.c.CreateOnlineEndpoint(ctx, r.ws, e); err != nil {
		return nil, err
	}
	return e, nil
}

// deploy deploys a model version and waits for it to succeed and, with
// allTraffic, to take all the traffic — as online-deployment create does.
func (r *releaseDemo) deploy(ctx context.Context, name, version string, allTraffic bool, out io.Writer) error {
	d := quickstartDeployment(name, r.model, version)
	if err := r.c.Deploy(ctx, r.ws, d, allTraffic); err != nil {
		return fmt.Errorf("deploy %s: %w", name, err)
	}
	api := struct {
		hangar.EndpointService
		httpapi.EndpointDeployer
	}{r.c, r.c.Deployer()}
	d, err := waitDeployment(ctx, api, r.ws, quickstartEndpoint, name, out, pollEvery)
	if err != nil {
		return err
	}
	if d.State != hangar.StateSucceeded {
		return fmt.Errorf("deployment %s %s: %s", name, d.State, d.Message)
	}
	if allTraffic {
		return waitTraffic(ctx, api, r.ws, quickstartEndpoint, name, pollEvery, allTrafficWait)
	}
	return nil
}

// shiftUnderLoad runs the callers round and round while each traffic
// change in turn is applied, pause apart, and reports what they saw.
func (r *releaseDemo) shiftUnderLoad(ctx context.Context, pause time.Duration, shifts ...map[string]int) (*replayStats, error) {
	stop := make(chan struct{})
	done := make(chan *replayStats, 1)
	go func() { done <- r.scorer.replay(ctx, r.rows, stop) }()
	var err error
	for _, t := range shifts {
		time.Sleep(pause)
		if _, err = r.c.SetTraffic(ctx, r.ws, quickstartEndpoint, t, nil, 0); err != nil {
			break
		}
	}
	time.Sleep(pause)
	close(stop)
	st := <-done
	if err != nil {
		return nil, fmt.Errorf("shift traffic: %w", err)
	}
	return st, nil
}

// challengerTrial is the sweep's runner-up: the completed trial with the
// lowest objective after the best one, whose model is the challenger.
func challengerTrial(ctx context.Context, c *httpapi.Client, mc *mlflow.Client, ws string, sweepJob *hangar.Job) (*hangar.Job, string, error) {
	sweepJob, err := originJob(ctx, c, ws, sweepJob)
	if err != nil {
		return nil, "", err
	}
	sw, err := jobrun.SweepOf(sweepJob)
	if err != nil {
		return nil, "", err
	}
	if sw.Best == nil {
		return nil, "", fmt.Errorf("sweep %s ended without a best trial", sweepJob.Name)
	}
	trials, err := c.ListJobs(ctx, ws, hangar.JobFilter{Parent: sweepJob.Name, Statuses: []hangar.JobStatus{hangar.JobCompleted}}, hangar.ListOptions{MaxResults: 100})
	if err != nil {
		return nil, "", err
	}
	var best *hangar.Job
	bestValue, about := 0.0, ""
	for _, t := range trials.Items {
		if t.Name == sw.Best.Job || t.RunID == "" || t.Outputs["model"].Manifest == "" {
			continue
		}
		run, err := mc.GetRun(ctx, t.RunID)
		if err != nil {
			return nil, "", err
		}
		v, ok := 0.0, false
		for _, m := range run.Data.Metrics {
			if m.Key == sw.Best.Metric {
				v, ok = float64(m.Value), true
			}
		}
		if !ok || best != nil && v >= bestValue {
			continue
		}
		var params []string
		for _, p := range run.Data.Params {
			if _, tuned := sw.Best.Params[p.Key]; tuned {
				params = append(params, p.Key+"="+p.Value)
			}
		}
		best, bestValue = t, v
		about = fmt.Sprintf("%s, %s %s", strings.Join(params, ", "), sw.Best.Metric, sweep.FormatFloat(v))
	}
	if best == nil {
		return nil, "", fmt.Errorf("sweep %s has no other completed trial with a model and %s", sweepJob.Name, sw.Best.Metric)
	}
	return best, about, nil
}

// registerJobModel logs a job's model output as artifacts of its run
// (unless an earlier quickstart did) and registers it as a new version of
// the model from there.
func registerJobModel(ctx context.Context, c *httpapi.Client, mc *mlflow.Client, ws, model string, j *hangar.Job, dir string) (*hangar.ModelVersion, error) {
	out, ok := j.Outputs["model"]
	if !ok || out.Manifest == "" {
		return nil, fmt.Errorf("job %s has no model output", j.Name)
	}
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	if err := artifact.GetDir(ctx, c.BlobStore(ws), out.Manifest, dir); err != nil {
		return nil, fmt.Errorf("download the model of %s: %w", j.Name, err)
	}
	run, err := mc.GetRun(ctx, j.RunID)
	if err != nil {
		return nil, err
	}
	runURI := "runs:/" + j.RunID
	files, err := mc.ListArtifacts(ctx, runURI, "model")
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		if err := mc.LogArtifacts(ctx, runURI, dir, "model"); err != nil {
			return nil, err
		}
	}
	return mc.CreateModelVersion(ctx, &hangar.ModelVersion{Name: model, Source: run.Info.ArtifactURI + "/model", RunID: j.RunID})
}

// quickstartRelease is the release part of the quickstart: the champion
// (mv, @production) on an endpoint as blue, the sweep's runner-up as green
// with a canary, the 2012 rows replayed, green promoted and rolled back
// under load.
func quickstartRelease(ctx context.Context, step *steps, c *httpapi.Client, mc *mlflow.Client, url string, sweepStep *hangar.Job, champion *hangar.ModelVersion, in func(string) string) error {
	step.start("Registering a challenger: the sweep's runner-up trial, as a new version with alias @challenger")
	trial, about, err := challengerTrial(ctx, c, mc, "demo", sweepStep)
	if err != nil {
		return err
	}
	challenger, err := registerJobModel(ctx, c, mc, "demo", quickstartModel, trial, in("challenger"))
	if err != nil {
		return fmt.Errorf("register the challenger: %w", err)
	}
	if err := mc.SetRegisteredModelAlias(ctx, quickstartModel, "challenger", challenger.Version); err != nil {
		return err
	}
	step.ok("version %s from trial %s (%s)", challenger.Version, trial.Name, about)

	r := &releaseDemo{c: c, ws: "demo", model: quickstartModel}
	step.start("Creating online endpoint %q and deploying @production (version %s) as blue with all traffic", quickstartEndpoint, champion.Version)
	e, err := r.recreateEndpoint(ctx)
	if err != nil {
		return err
	}
	if err := r.deploy(ctx, "blue", champion.Version, true, stepWriter{step}); err != nil {
		return err
	}
	keys, err := c.EndpointKeys(ctx, "demo", quickstartEndpoint)
	if err != nil {
		return err
	}
	r.scorer = scorer{client: &http.Client{Timeout: 30 * time.Second}, url: url + e.ScoringPath, key: keys.Primary}
	if r.rows, err = replayRows(in("chicago.csv"), quickstartReplayYear); err != nil {
		return err
	}
	if err := os.WriteFile(in("sample-request.json"), r.rows[0], 0o600); err != nil {
		return err
	}
	if dep, failure := r.scorer.score(ctx, r.rows[0]); failure != "" {
		return fmt.Errorf("score on blue: %s", failure)
	} else if dep != "blue" {
		return fmt.Errorf("score on blue: answered by %q", dep)
	}
	step.ok("%s (native tree runtime, key auth, every request captured)", url+e.ScoringPath)

	step.start("Deploying @challenger (version %s) as green, smoke-tested with no traffic, then a canary: blue 90 %%, green 10 %%", challenger.Version)
	if err := r.deploy(ctx, "green", challenger.Version, false, stepWriter{step}); err != nil {
		return err
	}
	if _, err := c.SetTraffic(ctx, "demo", quickstartEndpoint, map[string]int{"blue": 90, "green": 10}, nil, 0); err != nil {
		return err
	}
	step.ok("traffic blue=90 green=10")

	step.start("Replaying the %d rows of %s against the endpoint (%d callers at once)", len(r.rows), quickstartReplayYear, quickstartCallers)
	st := r.scorer.replay(ctx, r.rows, nil)
	if st.failed > 0 {
		return fmt.Errorf("%d of %d requests failed, the first: %s", st.failed, st.requests, st.firstErr)
	}
	step.ok("%d answers: %s; p99 %s; 0 failed", st.requests, st.split(), st.p99().Round(10*time.Microsecond))

	step.start("Promoting green to 100 %%, then rolling back to blue, while %d callers keep scoring", quickstartCallers)
	st, err = r.shiftUnderLoad(ctx, 500*time.Millisecond, map[string]int{"blue": 0, "green": 100}, map[string]int{"blue": 100, "green": 0})
	if err != nil {
		return err
	}
	if st.failed > 0 {
		return fmt.Errorf("%d of %d requests failed while shifting traffic, the first: %s", st.failed, st.requests, st.firstErr)
	}
	step.ok("%d answers: %s; 0 failed; blue has all traffic again", st.requests, st.split())

	return quickstartBatch(ctx, step, c, champion)
}

// quickstartBatchEndpoint is the quickstart's batch endpoint.
const quickstartBatchEndpoint = "chicago-ridership-batch"

// quickstartBatch scores the whole Chicago table with the champion
// through a batch endpoint: a job of mini-batches whose predictions
// become a data asset version.
func quickstartBatch(ctx context.Context, step *steps, c *httpapi.Client, champion *hangar.ModelVersion) error {
	step.start("Batch scoring the Chicago table with @production through batch endpoint %q (a job of mini-batches)", quickstartBatchEndpoint)
	if _, err := c.BatchEndpoint(ctx, "demo", quickstartBatchEndpoint); err == nil {
		if err := c.DeleteBatchEndpoint(ctx, "demo", quickstartBatchEndpoint); err != nil {
			return fmt.Errorf("delete the earlier batch endpoint: %w", err)
		}
	} else if !hangar.IsCode(err, hangar.ENOTFOUND) {
		return err
	}
	if err := c.CreateBatchEndpoint(ctx, "demo", &hangar.BatchEndpoint{Name: quickstartBatchEndpoint, Description: "Ridership predictions for whole tables"}); err != nil {
		return err
	}
	d := &hangar.BatchDeployment{
		Endpoint: quickstartBatchEndpoint, Name: "gbdt",
		Spec: hangar.DeploymentSpec{
			ModelName: quickstartModel, ModelVersion: champion.Version, ModelType: "mlflow_model", InstanceCount: 1,
			Request:  hangar.RequestSettings{RequestTimeoutMS: jobspec.DefaultRequestTimeoutMS, MaxConcurrentRequestsPerInstance: 1},
			Liveness: hangar.Probe(jobspec.DefaultProbe), Readiness: hangar.Probe(jobspec.DefaultProbe),
		},
		Settings: hangar.BatchSettings{MaxConcurrencyPerInstance: 2, MiniBatchSize: 1000, MaxRetries: 3, RetryTimeoutSeconds: 30,
			ErrorThreshold: -1, OutputAction: hangar.BatchAppendRow, OutputFileName: "predictions.csv"},
	}
	if err := c.CreateBatchDeploymentDefault(ctx, "demo", d); err != nil {
		return err
	}
	job, err := c.InvokeBatchEndpoint(ctx, "demo", quickstartBatchEndpoint, httpapi.BatchInvocation{Input: "azureml:" + quickstartData + "@latest"})
	if err != nil {
		return err
	}
	step.detail("job %s", job.Name)
	for !job.Status.Terminal() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if job, err = c.Job(ctx, "demo", job.Name); err != nil {
			return err
		}
	}
	if job.Status != hangar.JobCompleted {
		return fmt.Errorf("batch job %s %s: %s", job.Name, job.Status, job.Error)
	}
	out := job.Outputs["output"]
	if out.Asset == "" {
		return fmt.Errorf("batch job %s completed without registering its output", job.Name)
	}
	step.ok("job %s Completed; predictions.csv registered as data asset %s", job.Name, out.Asset)
	return nil
}
