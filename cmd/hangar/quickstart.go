package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/artifact"
	"github.com/hangar-ml/hangar/httpapi"
	"github.com/hangar-ml/hangar/internal/sampledata"
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
	logger := slog.New(slog.NewJSONHandler(io.Discard, nil))
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
	if _, err := builtin(ctx, "split", "--input", in("chicago.csv"), "--date-column", "date", "--before", "2014-01-01",
		"--output-train", in("history.csv"), "--output-test", in("test.csv")); err != nil {
		return err
	}
	if _, err := builtin(ctx, "split", "--input", in("history.csv"), "--date-column", "date", "--before", "2012-01-01",
		"--output-train", in("train.csv"), "--output-test", in("valid.csv")); err != nil {
		return err
	}
	step.ok("train.csv, valid.csv, test.csv in %s", work)

	step.start("Training gradient-boosted trees with the built-in trainer (early stopping on valid)")
	modelDir := in("model")
	if _, err := builtin(ctx, "train-gbdt", "--train", in("train.csv"), "--valid", in("valid.csv"),
		"--label", "ridership", "--drop-columns", "date", "--output", modelDir,
		"--n-estimators", "500", "--learning-rate", "0.1", "--max-depth", "6",
		"--early-stopping-rounds", "25", "--seed", "1"); err != nil {
		return err
	}
	step.ok("model folder %s (MLmodel + XGBoost-format model.json)", modelDir)

	step.start("Evaluating on the 2014–2016 test years")
	out, err := builtin(ctx, "evaluate", "--model", modelDir, "--input", in("test.csv"), "--label", "ridership")
	if err != nil {
		return err
	}
	var metrics map[string]float64
	if err := json.Unmarshal([]byte(out), &metrics); err != nil {
		return fmt.Errorf("read metrics: %w", err)
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
	if _, err := builtin(ctx, "predict", "--model", fetched, "--input", in("test.csv"), "--output", in("predictions.csv")); err != nil {
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

`, srv.URL, srv.TokenPath)
	if !keep {
		cancel()
		return <-done
	}
	fmt.Fprintln(stdout, "Serving until Ctrl-C.")
	return <-done
}

// builtin runs `hangar builtin <args>` in this process, the same code a
// pipeline step runs, and returns its standard output.
func builtin(ctx context.Context, args ...string) (string, error) {
	var out, errb strings.Builder
	if code := run(ctx, append([]string{"builtin"}, args...), strings.NewReader(""), &out, &errb, func(string) string { return "" }); code != 0 {
		return "", fmt.Errorf("hangar builtin %s: %s", args[0], strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}
