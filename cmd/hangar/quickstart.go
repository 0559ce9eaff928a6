package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/artifact"
	"github.com/hangar-ml/hangar/httpapi"
	"github.com/hangar-ml/hangar/internal/sampledata"
	"github.com/hangar-ml/hangar/jobrun"
	"github.com/hangar-ml/hangar/mlflow"
	"github.com/hangar-ml/hangar/profile"
	"github.com/hangar-ml/hangar/score"
	"github.com/hangar-ml/hangar/sweep"
	"github.com/hangar-ml/hangar/tabular"
)

func newQuickstartCmd(getenv env) *cobra.Command {
	var addr, dataDir string
	var keep bool
	cmd := &cobra.Command{
		Use:   "quickstart",
		Short: "Run Hangar end to end on the embedded defaults, then print what to do next",
		Long: `Start an embedded server (SQLite and a local artifact folder under
<data-dir>, default $HANGAR_HOME/quickstart or ~/.hangar/quickstart), create a
demo workspace, and walk through what the server does so far: scoped tokens,
role checks, an encrypted secret, a versioned and profiled data asset (the
Chicago ridership table), a training pipeline of built-in components (no
Python) run by the server with its steps tracked as MLflow runs, the model
gated, registered as @candidate, promoted to @production by an Approver,
used to score, and the hash-chained audit log.
A second run on the same data dir reuses the data version and every step.
It exits when done; --serve keeps the server running.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dataDir == "" {
				dataDir = filepath.Join(defaultHome(getenv), "quickstart")
			}
			cfg := &serverConfig{
				Addr: addr, DataDir: dataDir, Demo: true,
				DB:        filepath.Join(dataDir, "hangar.db"),
				Artifacts: filepath.Join(dataDir, "artifacts"),
				KEKFile:   filepath.Join(dataDir, "kek"),
			}
			if err := cfg.validate(); err != nil {
				return err
			}
			return quickstart(cmd.Context(), cfg, keep, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:0", "address of the embedded server (port 0 picks a free one)")
	cmd.Flags().StringVar(&dataDir, "data-dir", "", "data directory of the embedded server")
	cmd.Flags().BoolVar(&keep, "serve", false, "keep the server running after the walk-through, until Ctrl-C")
	return cmd
}

// The quickstart's data asset and registered model in workspace demo
// (its pipeline's experiment is named in quickstart.yml).
const (
	quickstartData  = "chicago"
	quickstartModel = "chicago-ridership"
)

// quickstartPipeline is the quickstart's training pipeline: built-in
// components on data asset chicago.
//
//go:embed quickstart.yml
var quickstartPipeline string

// registerQuickstartData uploads the table and makes it the latest version
// of data asset chicago, unless that version holds the same content
// already (a second quickstart): then it returns that one and true.
func registerQuickstartData(ctx context.Context, c *httpapi.Client, file string) (*hangar.DataAsset, bool, error) {
	info, _, err := artifact.UploadFile(ctx, c.BlobStore("demo"), os.DirFS(filepath.Dir(file)), filepath.Base(file), artifact.UploadOptions{})
	if err != nil {
		return nil, false, fmt.Errorf("upload %s: %w", file, err)
	}
	latest, err := c.LatestDataVersion(ctx, "demo", quickstartData)
	switch {
	case err == nil && latest.Manifest.Digest == info.Digest:
		return latest, true, nil
	case err != nil && !hangar.IsCode(err, hangar.ENOTFOUND):
		return nil, false, err
	}
	a, err := c.CreateDataVersion(ctx, "demo", &hangar.DataAsset{Name: quickstartData, Type: hangar.DataURIFile,
		Path: string(info.Digest), Description: "Daily CTA ridership at Clark/Lake, 2001–2016, with Chicago weather"})
	if err != nil {
		return nil, false, fmt.Errorf("create data asset %s: %w", quickstartData, err)
	}
	return a, false, nil
}

// waitPipeline waits for a pipeline job to end, calling progress with each
// step's changes of status, and returns the ended job and its steps by
// step name. A pipeline that did not complete is an error that names its
// failed steps.
func waitPipeline(ctx context.Context, c *httpapi.Client, ws, name string, progress func(format string, args ...any)) (*hangar.Job, map[string]*hangar.Job, error) {
	seen := map[string]hangar.JobStatus{}
	began := map[string]time.Time{}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		job, err := c.Job(ctx, ws, name)
		if err != nil {
			return nil, nil, err
		}
		// The steps after the pipeline: a pipeline that has ended holds
		// steps that have.
		steps, err := jobSteps(ctx, c, ws, name)
		if err != nil {
			return nil, nil, err
		}
		byStep := map[string]*hangar.Job{}
		for _, st := range steps {
			byStep[st.Step] = st
			if seen[st.Step] == st.Status {
				continue
			}
			seen[st.Step] = st.Status
			switch {
			case st.Status == hangar.JobRunning:
				began[st.Step] = time.Now()
				progress("%s: Running", st.Step)
			case st.ReusedFrom != "":
				progress("%s: %s (reused from %s)", st.Step, st.Status, st.ReusedFrom)
			case st.Status.Terminal() && st.Error != "":
				progress("%s: %s: %s", st.Step, st.Status, st.Error)
			case st.Status.Terminal() && st.StartedAt != nil && st.EndedAt != nil:
				progress("%s: %s in %s", st.Step, st.Status, st.EndedAt.Sub(*st.StartedAt).Round(time.Millisecond))
			case st.Status.Terminal():
				progress("%s: %s", st.Step, st.Status)
			}
		}
		if job.Status.Terminal() {
			if job.Status != hangar.JobCompleted {
				return nil, nil, fmt.Errorf("pipeline %s %s: %s (see `hangar job show -n %s -w %s`)", name, job.Status, job.Error, name, ws)
			}
			return job, byStep, nil
		}
		select {
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		case <-tick.C:
		}
	}
}

// bestTrial is the job that trained the model of the train step, a
// sweep: its best trial. It says which, for people.
func bestTrial(ctx context.Context, c *httpapi.Client, ws string, st *hangar.Job) (*hangar.Job, string, error) {
	st, err := originJob(ctx, c, ws, st)
	if err != nil {
		return nil, "", err
	}
	if st.Type != hangar.JobTypeSweep {
		return st, "no sweep", nil
	}
	sw, err := jobrun.SweepOf(st)
	if err != nil {
		return nil, "", err
	}
	if sw.Best == nil {
		return nil, "", fmt.Errorf("sweep %s ended without a best trial", st.Name)
	}
	best, err := c.Job(ctx, ws, sw.Best.Job)
	if err != nil {
		return nil, "", err
	}
	return best, fmt.Sprintf("the best of %d trials: %s, %s %s", sw.Best.Trials, formatParams(sw.Best.Params), sw.Best.Metric, sweep.FormatFloat(sw.Best.Value)), nil
}

// originJob is the job that produced a step's outputs: the step itself,
// or the job it reused them from (and that one's, if it reused too).
func originJob(ctx context.Context, c *httpapi.Client, ws string, st *hangar.Job) (*hangar.Job, error) {
	if st == nil {
		return nil, fmt.Errorf("the pipeline has no such step")
	}
	for range 100 {
		if st.ReusedFrom == "" {
			return st, nil
		}
		next, err := c.Job(ctx, ws, st.ReusedFrom)
		if err != nil {
			return nil, fmt.Errorf("job %s reused from %s: %w", st.Name, st.ReusedFrom, err)
		}
		st = next
	}
	return nil, fmt.Errorf("job %s: too long a chain of reused_from", st.Name)
}

func quickstart(ctx context.Context, cfg *serverConfig, keep bool, stdout, stderr io.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The server logs to a file in the data dir so the walk-through stays readable.
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	logPath := filepath.Join(cfg.DataDir, "server.log")
	logFile, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open server log: %w", err)
	}
	defer logFile.Close()
	logger := slog.New(slog.NewJSONHandler(logFile, nil))
	up := make(chan running, 1)
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, logger, func(r running) { up <- r }) }()

	step := newSteps(stdout, 20)
	step.start("Starting the embedded server (SQLite + local artifacts in %s)", cfg.DataDir)
	var srv running
	select {
	case srv = <-up:
	case err := <-done:
		return fmt.Errorf("start server: %w", err)
	}
	owner := srv.OwnerToken
	if owner == "" {
		b, err := readToken(srv.TokenPath)
		if err != nil {
			return err
		}
		owner = b
	}
	step.ok("%s", srv.URL)

	oc := httpapi.NewClient(srv.URL, owner)
	step.start("Workspace %q", "demo")
	ws, err := oc.Workspace(ctx, "demo")
	if err != nil {
		return err
	}
	step.ok("created %s", ws.CreatedAt.Format(time.RFC3339))

	step.start("Issuing a Data Scientist token scoped to the demo workspace (expires in 24h)")
	exp := time.Now().Add(24 * time.Hour)
	tok, err := oc.IssueToken(ctx, &hangar.TokenRequest{Name: "quickstart-ds", Role: hangar.RoleDataScientist, Workspace: "demo", ExpiresAt: &exp})
	if err != nil {
		return err
	}
	step.ok("token %s… (stored only as a SHA-256 hash)", tok.Prefix)

	step.start("Storing an encrypted secret and checking who may read it")
	if _, err := oc.SetSecret(ctx, "demo", "warehouse-password", []byte("correct horse battery staple")); err != nil {
		return err
	}
	dc := httpapi.NewClient(srv.URL, tok.Secret)
	_, err = dc.RevealSecret(ctx, "demo", "warehouse-password")
	if !hangar.IsCode(err, hangar.EFORBIDDEN) {
		return fmt.Errorf("a Data Scientist revealed a secret: want forbidden, got %v", err)
	}
	_, err = dc.Workspace(ctx, hangar.DefaultWorkspace)
	if !hangar.IsCode(err, hangar.EFORBIDDEN) {
		return fmt.Errorf("a token scoped to demo read the default workspace: want forbidden, got %v", err)
	}
	step.ok("sealed with AES-256-GCM; the Data Scientist is refused the value and other workspaces")

	// The model loop on real data: a pipeline of built-in components (no
	// Python) run by the server's scheduler, with the Data Scientist's
	// token, as `hangar data create` and `hangar job create` would.
	work := filepath.Join(cfg.DataDir, "work")
	if err := os.MkdirAll(work, 0o700); err != nil {
		return err
	}
	in := func(name string) string { return filepath.Join(work, name) }
	step.start("Registering the Chicago ridership table as data asset %q (profiled at creation)", quickstartData)
	if err := sampledata.WriteChicago(in("chicago.csv")); err != nil {
		return err
	}
	asset, existed, err := registerQuickstartData(ctx, dc, in("chicago.csv"))
	if err != nil {
		return err
	}
	var prof profile.Profile
	if err := json.Unmarshal([]byte(asset.Profile), &prof); err != nil {
		return fmt.Errorf("read the profile of %s:%s: %w", asset.Name, asset.Version, err)
	}
	same := ""
	if existed {
		same = "; the same content as before, so the existing version"
	}
	step.ok("%s:%s, %d rows × %d columns, %s%s", asset.Name, asset.Version, prof.Rows, len(prof.Columns), asset.Manifest.Digest, same)

	step.start("Submitting the training pipeline (split → split → a train_gbdt sweep → evaluate → gate: built-in components, no Python)")
	job, err := dc.SubmitJob(ctx, "demo", &hangar.JobSubmission{File: "quickstart.yml", YAML: quickstartPipeline})
	if err != nil {
		return fmt.Errorf("submit the training pipeline: %w", err)
	}
	step.ok("job %s on %s:%s, experiment %q", job.Name, asset.Name, asset.Version, job.ExperimentName)

	step.start("Running it on compute local (each step a `hangar run-step` process)")
	job, byStep, err := waitPipeline(ctx, dc, "demo", job.Name, step.detail)
	if err != nil {
		return err
	}
	reused := 0
	for _, st := range byStep {
		if st.ReusedFrom != "" {
			reused++
		}
	}
	step.ok("%s, %d of %d steps reused from earlier jobs", job.Status, reused, len(byStep))

	// Tracking and the registry through the MLflow REST API, with the
	// Data Scientist's token: what an unchanged mlflow client does.
	mc, err := mlflow.NewClient(srv.URL+"/w/demo", tok.Secret)
	if err != nil {
		return err
	}
	// A reused step's own run records only that it was reused: the
	// metrics and the model belong to the run of the job that trained.
	trainJob, tuned, err := bestTrial(ctx, dc, "demo", byStep["train"])
	if err != nil {
		return err
	}
	evalJob, err := originJob(ctx, dc, "demo", byStep["evaluate"])
	if err != nil {
		return err
	}
	step.start("Reading the training over the MLflow API (the best trial's run, a child of the sweep's)")
	trainRun, err := mc.GetRun(ctx, trainJob.RunID)
	if err != nil {
		return err
	}
	history, err := mc.MetricHistory(ctx, trainJob.RunID, "valid_rmse")
	if err != nil {
		return err
	}
	step.ok("run %s of job %s (%s): %d params and %d rounds of valid_rmse", trainJob.RunID, trainJob.Name, tuned, len(trainRun.Data.Params), len(history))

	step.start("Reading the evaluation on the 2014–2016 test years (the evaluate step's run)")
	evalRun, err := mc.GetRun(ctx, evalJob.RunID)
	if err != nil {
		return err
	}
	metrics := map[string]float64{}
	for _, m := range evalRun.Data.Metrics {
		metrics[m.Key] = float64(m.Value)
	}
	for _, k := range []string{"test_rmse", "test_mae", "test_r2"} {
		if _, ok := metrics[k]; !ok {
			return fmt.Errorf("the evaluate step's run %s has no metric %s", evalJob.RunID, k)
		}
	}
	// The model's own run (the train step's, which the version is
	// registered from) carries its test metrics too, as MLflow users log
	// them: the next run's gate compares with the champion by them.
	now := time.Now().UnixMilli()
	var onModelRun []mlflow.Metric
	for _, k := range []string{"test_rmse", "test_mae", "test_r2"} {
		onModelRun = append(onModelRun, mlflow.Metric{Key: k, Value: mlflow.Double(metrics[k]), Timestamp: mlflow.Int64(now)})
	}
	if err := mc.LogBatch(ctx, trainJob.RunID, onModelRun, nil, nil); err != nil {
		return fmt.Errorf("log the test metrics to the model's run: %w", err)
	}
	step.ok("RMSE %.3f, MAE %.3f, R² %.3f (ridership in thousands), also logged to the model's run", metrics["test_rmse"], metrics["test_mae"], metrics["test_r2"])

	step.start("Downloading the job's model output and logging it as artifacts of the best trial's run")
	modelOut, ok := job.Outputs["model"]
	if !ok || modelOut.Manifest == "" {
		return fmt.Errorf("job %s completed without its model output", job.Name)
	}
	modelDir := in("model")
	if err := os.RemoveAll(modelDir); err != nil {
		return err
	}
	if err := artifact.GetDir(ctx, dc.BlobStore("demo"), modelOut.Manifest, modelDir); err != nil {
		return fmt.Errorf("download the model output: %w", err)
	}
	runURI := "runs:/" + trainJob.RunID
	files, err := mc.ListArtifacts(ctx, runURI, "model")
	if err != nil {
		return err
	}
	logged := "already there (logged by an earlier quickstart)"
	if len(files) == 0 {
		if err := mc.LogArtifacts(ctx, runURI, modelDir, "model"); err != nil {
			return err
		}
		if files, err = mc.ListArtifacts(ctx, runURI, "model"); err != nil {
			return err
		}
		logged = "in the content-addressed store"
	}
	step.ok("%s → %s; %d entries under %s/model %s", modelOut.URI, modelDir, len(files), runURI, logged)

	step.start("Registering the model as %q (the gate passed) with alias @candidate", quickstartModel)
	if _, err := mc.CreateRegisteredModel(ctx, &hangar.RegisteredModel{Name: quickstartModel, Description: "Daily CTA ridership at Clark/Lake, gradient-boosted trees"}); err != nil && !hangar.IsCode(err, hangar.ECONFLICT) {
		return err
	}
	mv, err := mc.CreateModelVersion(ctx, &hangar.ModelVersion{Name: quickstartModel, Source: trainRun.Info.ArtifactURI + "/model", RunID: trainJob.RunID})
	if err != nil {
		return err
	}
	if err := mc.SetRegisteredModelAlias(ctx, quickstartModel, "candidate", mv.Version); err != nil {
		return err
	}
	step.ok("version %s from %s", mv.Version, mv.Source)

	// Release: @production is protected; the data scientist asks, an
	// Approver (another identity) approves, and the alias moves.
	step.start("Promoting it to @production: protected alias, approval requested by the Data Scientist, granted by an Approver")
	if _, err := oc.ProtectAlias(ctx, "demo", "production"); err != nil && !hangar.IsCode(err, hangar.ECONFLICT) {
		return fmt.Errorf("protect @production: %w", err)
	}
	req, err := dc.RequestApproval(ctx, hangar.NewApprovalRequest{Workspace: "demo", Name: quickstartModel, Version: mv.Version, Alias: "production",
		Comment: fmt.Sprintf("gate passed: test RMSE %.3f, R² %.3f", metrics["test_rmse"], metrics["test_r2"])})
	if err != nil {
		return fmt.Errorf("request approval: %w", err)
	}
	approverTok, err := oc.IssueToken(ctx, &hangar.TokenRequest{Name: "quickstart-approver", Role: hangar.RoleApprover, Workspace: "demo", ExpiresAt: &exp})
	if err != nil {
		return err
	}
	ac := httpapi.NewClient(srv.URL, approverTok.Secret)
	decided, err := ac.DecideApproval(ctx, "demo", req.ID, true, "reviewed the gate verdict and the lineage")
	if err != nil {
		return fmt.Errorf("approve: %w", err)
	}
	step.ok("request %s approved by %s; %s@production is version %s", decided.ID, approverTok.IdentityName, quickstartModel, mv.Version)

	// The test years, as the pipeline's first split wrote them.
	testOut, ok := byStep["split_test"].Outputs["test"]
	if !ok || testOut.Manifest == "" {
		return fmt.Errorf("step split_test completed without its test output")
	}
	if err := os.RemoveAll(in("test")); err != nil {
		return err
	}
	if err := artifact.GetDir(ctx, dc.BlobStore("demo"), testOut.Manifest, in("test")); err != nil {
		return fmt.Errorf("download the test table: %w", err)
	}
	test, err := tabular.ReadFile(in("test"))
	if err != nil {
		return err
	}
	champion := "models:/" + quickstartModel + "@production"
	step.start("Downloading %s and scoring the test table with it", champion)
	fetched := in("model-from-registry")
	if err := os.RemoveAll(fetched); err != nil {
		return err
	}
	if _, err := mc.DownloadArtifacts(ctx, champion, fetched); err != nil {
		return err
	}
	model, err := score.Load(fetched, 0)
	if err != nil {
		return err
	}
	pred, err := model.Predict(test)
	if err != nil {
		return err
	}
	if err := tabular.WriteCSVFile(in("predictions.csv"), pred); err != nil {
		return err
	}
	step.ok("%s", in("predictions.csv"))

	if err := quickstartRelease(ctx, step, dc, mc, srv.URL, byStep["train"], mv, in); err != nil {
		return err
	}

	step.start("Verifying the hash-chained audit log")
	v, err := oc.VerifyAudit(ctx)
	if err != nil {
		return err
	}
	if !v.OK {
		return fmt.Errorf("audit chain broken at event %d: %s", v.BrokenSeq, v.Reason)
	}
	step.ok("%d events, chain intact", v.Events)

	intro := "Hangar is running at %s. Try it from another shell:"
	if !keep {
		intro = "Done. To keep the server up, run `go run ./cmd/hangar quickstart --serve` (it was at %s), then from another shell:"
	}
	fmt.Fprintf(stdout, "\n"+intro+"\n\n", srv.URL)
	fmt.Fprintf(stdout, `  export HANGAR_URL=%s HANGAR_TOKEN=$(cat %s) HANGAR_WORKSPACE=demo
  go run ./cmd/hangar workspace list -o table
  go run ./cmd/hangar secret list -o table
  go run ./cmd/hangar audit list -o table
  go run ./cmd/hangar audit verify
  go run ./cmd/hangar data show -n %s -o table
  go run ./cmd/hangar job show -n %s -o table
  go run ./cmd/hangar job list --parent-job-name %s -o table
  go run ./cmd/hangar run list -o table
  go run ./cmd/hangar model show %[6]s@production --lineage -o table
  go run ./cmd/hangar model approvals -o table
  go run ./cmd/hangar online-endpoint show -n %[6]s -o table
  go run ./cmd/hangar online-deployment list -e %[6]s -o table
  go run ./cmd/hangar online-endpoint invoke -n %[6]s --request-file %[9]s
  go run ./cmd/hangar batch-endpoint list-jobs -n %[6]s-batch -o table
  MLFLOW_TRACKING_URI=%[7]s/w/demo MLFLOW_TRACKING_TOKEN=$HANGAR_TOKEN python3 -c 'import mlflow; print(mlflow.search_runs())'

In a browser, %[7]s/ui/w/demo shows the experiments, runs and metric curves (sign in with the
token in %[2]s).

The server's log is %[8]s.

`, srv.URL, srv.TokenPath, quickstartData, job.Name, job.Name, quickstartModel, srv.URL, logPath, in("sample-request.json"))
	if !keep {
		cancel()
		return <-done
	}
	fmt.Fprintln(stdout, "Serving until Ctrl-C.")
	return <-done
}
