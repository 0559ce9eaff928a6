package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/gbdt"
	"github.com/hangar-ml/hangar/httpapi"
	"github.com/hangar-ml/hangar/internal/sampledata"
	"github.com/hangar-ml/hangar/mlflow"
	"github.com/hangar-ml/hangar/score"
	"github.com/hangar-ml/hangar/tabular"
	"github.com/hangar-ml/hangar/train"
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
role checks, an encrypted secret, content-addressed artifacts and the
hash-chained audit log. It exits when done; --serve keeps the server running.`,
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

// The quickstart's experiment and registered model in workspace demo.
const (
	quickstartExperiment = "chicago-ridership"
	quickstartModel      = "chicago-ridership"
)

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

	step := newSteps(stdout, 12)
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

	// The model loop on real data, with the built-in components and no Python.
	work := filepath.Join(cfg.DataDir, "work")
	if err := os.MkdirAll(work, 0o700); err != nil {
		return err
	}
	in := func(name string) string { return filepath.Join(work, name) }
	step.start("Splitting the Chicago ridership table by date (train < 2012 ≤ valid < 2014 ≤ test)")
	if err := sampledata.WriteChicago(in("chicago.csv")); err != nil {
		return err
	}
	if err := splitByDate(in("chicago.csv"), time.Date(2014, 1, 1, 0, 0, 0, 0, time.UTC), in("history.csv"), in("test.csv")); err != nil {
		return err
	}
	if err := splitByDate(in("history.csv"), time.Date(2012, 1, 1, 0, 0, 0, 0, time.UTC), in("train.csv"), in("valid.csv")); err != nil {
		return err
	}
	step.ok("train.csv, valid.csv, test.csv in %s", work)

	// Tracking and the registry through the MLflow REST API, with the
	// Data Scientist's token: what an unchanged mlflow client does.
	mc, err := mlflow.NewClient(srv.URL+"/w/demo", tok.Secret)
	if err != nil {
		return err
	}
	step.start("Starting an MLflow run in experiment %q (the MLflow REST API, /w/demo)", quickstartExperiment)
	expID, err := mc.CreateExperiment(ctx, quickstartExperiment)
	if hangar.IsCode(err, hangar.ECONFLICT) { // a second quickstart on the same data dir
		var exp *mlflow.Experiment
		if exp, err = mc.ExperimentByName(ctx, quickstartExperiment); err == nil {
			expID = exp.ExperimentID
		}
	}
	if err != nil {
		return err
	}
	run, err := mc.CreateRun(ctx, expID, "gbdt-quickstart",
		mlflow.RunTag{Key: "mlflow.source.name", Value: "hangar quickstart"}, mlflow.RunTag{Key: "mlflow.source.type", Value: "LOCAL"})
	if err != nil {
		return err
	}
	runID := run.Info.RunID
	step.ok("run %s, artifacts at %s", runID, run.Info.ArtifactURI)

	step.start("Training gradient-boosted trees with the built-in trainer (early stopping on valid, logged to the run)")
	modelDir := in("model")
	p := gbdt.DefaultParams()
	p.NEstimators, p.LearningRate, p.MaxDepth, p.EarlyStoppingRounds, p.Seed = 500, 0.1, 6, 25, 1
	res, err := train.GBDT(ctx, train.Options{
		Train: in("train.csv"), Valid: in("valid.csv"), Label: "ridership", Drop: []string{"date"},
		Output: modelDir, Version: version, RunID: runID, Tracker: mc.Run(runID),
	}, p, train.Progress{})
	if err != nil {
		return fmt.Errorf("train the model: %w", err)
	}
	history, err := mc.MetricHistory(ctx, runID, "valid_rmse")
	if err != nil {
		return err
	}
	step.ok("%d params and %d rounds of valid_rmse logged; model folder %s", len(res.Params), len(history), modelDir)

	step.start("Evaluating on the 2014–2016 test years")
	test, err := tabular.ReadFile(in("test.csv"))
	if err != nil {
		return err
	}
	model, err := score.Load(modelDir, 0)
	if err != nil {
		return err
	}
	metrics, err := model.Evaluate(test, "ridership")
	if err != nil {
		return err
	}
	var logged []mlflow.Metric
	for _, k := range []string{"rmse", "mae", "r2"} {
		logged = append(logged, mlflow.Metric{Key: "test_" + k, Value: mlflow.Double(metrics[k]), Timestamp: mlflow.Int64(time.Now().UnixMilli())})
	}
	if err := mc.LogBatch(ctx, runID, logged, nil, nil); err != nil {
		return err
	}
	step.ok("RMSE %.3f, MAE %.3f, R² %.3f (ridership in thousands), logged as test_*", metrics["rmse"], metrics["mae"], metrics["r2"])

	step.start("Logging the model folder as run artifacts (streamed through the MLflow artifact proxy)")
	if err := mc.LogArtifacts(ctx, "runs:/"+runID, modelDir, "model"); err != nil {
		return err
	}
	files, err := mc.ListArtifacts(ctx, "runs:/"+runID, "model")
	if err != nil {
		return err
	}
	if err := mc.EndRun(ctx, runID, "FINISHED"); err != nil {
		return err
	}
	step.ok("%d entries under runs:/%s/model in the content-addressed store; run FINISHED", len(files), runID)

	step.start("Registering the model as %q and pointing its @champion alias at the new version", quickstartModel)
	if _, err := mc.CreateRegisteredModel(ctx, &hangar.RegisteredModel{Name: quickstartModel, Description: "Daily CTA ridership at Clark/Lake, gradient-boosted trees"}); err != nil && !hangar.IsCode(err, hangar.ECONFLICT) {
		return err
	}
	mv, err := mc.CreateModelVersion(ctx, &hangar.ModelVersion{Name: quickstartModel, Source: run.Info.ArtifactURI + "/model", RunID: runID})
	if err != nil {
		return err
	}
	if err := mc.SetRegisteredModelAlias(ctx, quickstartModel, "champion", mv.Version); err != nil {
		return err
	}
	step.ok("version %s from %s", mv.Version, mv.Source)

	champion := "models:/" + quickstartModel + "@champion"
	step.start("Downloading %s and scoring the test table with it", champion)
	fetched := in("model-from-registry")
	if err := os.RemoveAll(fetched); err != nil {
		return err
	}
	if _, err := mc.DownloadArtifacts(ctx, champion, fetched); err != nil {
		return err
	}
	if model, err = score.Load(fetched, 0); err != nil {
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
  go run ./cmd/hangar run list -o table
  go run ./cmd/hangar model show %s@champion
  MLFLOW_TRACKING_URI=%s/w/demo MLFLOW_TRACKING_TOKEN=$HANGAR_TOKEN python3 -c 'import mlflow; print(mlflow.search_runs())'

The server's log is %s.

`, srv.URL, srv.TokenPath, quickstartModel, srv.URL, logPath)
	if !keep {
		cancel()
		return <-done
	}
	fmt.Fprintln(stdout, "Serving until Ctrl-C.")
	return <-done
}

// splitByDate splits a table by its date column: rows dated before
// `before` to trainPath, the rest to testPath, as CSV.
func splitByDate(input string, before time.Time, trainPath, testPath string) error {
	f, err := tabular.ReadFile(input)
	if err != nil {
		return err
	}
	tr, te, err := tabular.SplitByDate(f, "date", before)
	if err != nil {
		return fmt.Errorf("split %s: %w", input, err)
	}
	if err := tabular.WriteCSVFile(trainPath, f.Take(tr)); err != nil {
		return err
	}
	return tabular.WriteCSVFile(testPath, f.Take(te))
}
