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
	"github.com/hangar-ml/hangar/artifact"
	"github.com/hangar-ml/hangar/gbdt"
	"github.com/hangar-ml/hangar/httpapi"
	"github.com/hangar-ml/hangar/internal/sampledata"
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

	step := newSteps(stdout, 10)
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

	step.start("Training gradient-boosted trees with the built-in trainer (early stopping on valid)")
	modelDir := in("model")
	p := gbdt.DefaultParams()
	p.NEstimators, p.LearningRate, p.MaxDepth, p.EarlyStoppingRounds, p.Seed = 500, 0.1, 6, 25, 1
	if _, err := train.GBDT(ctx, train.Options{
		Train: in("train.csv"), Valid: in("valid.csv"), Label: "ridership", Drop: []string{"date"},
		Output: modelDir, Version: version,
	}, p, train.Progress{}); err != nil {
		return fmt.Errorf("train the model: %w", err)
	}
	step.ok("model folder %s (MLmodel + XGBoost-format model.json)", modelDir)

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
	step.ok("RMSE %.3f, MAE %.3f, R² %.3f (ridership in thousands)", metrics["rmse"], metrics["mae"], metrics["r2"])

	step.start("Storing the model folder in the content-addressed artifact store")
	info, mf, err := artifact.PutDir(ctx, dc.BlobStore("demo"), os.DirFS(modelDir))
	if err != nil {
		return err
	}
	step.ok("manifest %s (%d files, %d bytes)", info.Digest, len(mf.Files), mf.TotalSize())

	step.start("Fetching the stored model back and scoring the test table with it")
	fetched := in("model-from-store")
	if err := os.RemoveAll(fetched); err != nil {
		return err
	}
	if err := artifact.GetDir(ctx, dc.BlobStore("demo"), info.Digest, fetched); err != nil {
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

The server's log is %s.

`, srv.URL, srv.TokenPath, logPath)
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
