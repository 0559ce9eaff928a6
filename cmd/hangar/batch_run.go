package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/batchrun"
	"github.com/hangar-ml/hangar/jobspec"
	"github.com/hangar-ml/hangar/pyworker"
	"github.com/hangar-ml/hangar/score"
	"github.com/hangar-ml/hangar/snapshot"
)

// noTimeout stands for "no limit" where pyworker wants a duration: a
// mini-batch attempt without retry_settings.timeout.
const noTimeout = 7 * 24 * time.Hour

// newBatchRunCmd is the hidden `hangar batch-run` that the step of a
// batch endpoint's job runs (httpapi's invoke writes its command line).
// With --code and --scoring-script it runs an Azure-style batch scoring
// script in a pool of Python workers (pyworker's batch mode); else it
// scores with the model Hangar runs natively.
func newBatchRunCmd() *cobra.Command {
	var o batchrun.Options
	var model, code, script string
	var timeout int
	cmd := &cobra.Command{
		Use:    "batch-run --model DIR --input PATH --output DIR [--code DIR --scoring-script FILE]",
		Short:  "Score a batch endpoint job's input in mini-batches (run by the job's step)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Timeout = time.Duration(timeout) * time.Second
			o.Progress = cmd.OutOrStdout()
			if err := o.Check(); err != nil {
				return err
			}
			if (code == "") != (script == "") {
				return hangar.Errorf(hangar.EINVALID, "--code and --scoring-script go together: a scoring script is a file of the code folder")
			}
			var scorer batchrun.Scorer
			if code != "" {
				o.Workers = scriptWorkers(o.Workers)
				pool, err := startBatchScript(cmd.Context(), batchScriptConfig{
					code: code, script: script, model: model, output: o.Output,
					workers: o.Workers, timeout: o.Timeout, environ: os.Environ(), log: cmd.ErrOrStderr(),
				})
				if err != nil {
					return err
				}
				defer pool.Close()
				scorer = batchrun.ScriptScorer{Runner: pool}
			} else {
				m, err := loadBatchModel(model, max(1, o.Workers))
				if err != nil {
					return err
				}
				scorer = batchrun.ModelScorer{Model: m}
			}
			res, err := batchrun.Run(cmd.Context(), o, scorer)
			if res != nil {
				fmt.Fprintf(cmd.OutOrStdout(), "%d of %d mini-batches failed (%d of %d items)\n", res.Failed, res.MiniBatches, res.FailedItems, res.Items)
			}
			if errors.Is(err, batchrun.ErrThreshold) {
				return hangar.Errorf(hangar.EINVALID, "%s", err.Error())
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&model, "model", "", "the model folder (required)")
	f.StringVar(&o.Input, "input", "", "the input file or folder (required)")
	f.StringVar(&o.Output, "output", "", "the output folder (required)")
	f.StringVar(&code, "code", "", "the code folder of a batch scoring script (with --scoring-script)")
	f.StringVar(&script, "scoring-script", "", "the batch scoring script, a .py file relative to --code: init() and run(mini_batch)")
	f.IntVar(&o.MiniBatchSize, "mini-batch-size", 10, "files (or rows of a single table) per mini-batch")
	f.IntVar(&o.Workers, "workers", 1, "mini-batches scored at once")
	f.IntVar(&o.MaxRetries, "max-retries", 3, "retries of a failed mini-batch")
	f.IntVar(&timeout, "timeout", 30, "seconds per attempt at a mini-batch (0: none)")
	f.IntVar(&o.ErrorThreshold, "error-threshold", -1, "failed items tolerated (-1: any)")
	f.StringVar(&o.OutputAction, "output-action", batchrun.AppendRow, "append_row or summary_only")
	f.StringVar(&o.OutputFileName, "output-file-name", batchrun.DefaultOutputFileName, "the append_row output file")
	cmd.MarkFlagRequired("model")
	return cmd
}

// scriptWorkers is how many mini-batches a batch scoring script scores
// at once for instance_count × max_concurrency_per_instance = n: no more
// than its pool has workers (pyworker.MaxWorkers), as the others would
// wait for a worker inside their attempt's timeout and time out
// spuriously. The progress line then says the real count.
func scriptWorkers(n int) int {
	return min(n, pyworker.MaxWorkers)
}

// batchScriptConfig says how batch-run starts a batch scoring script.
type batchScriptConfig struct {
	code, script, model, output string
	workers                     int
	timeout                     time.Duration // per mini-batch attempt; 0 for none
	environ                     []string      // the job's environment, KEY=VALUE
	log                         io.Writer     // the workers' output and events
}

// startBatchScript starts a pool of Python workers in batch mode, one per
// mini-batch scored at once. The script sees the job's environment (the
// deployment's environment_variables are in it), AZUREML_MODEL_DIR (the
// model folder) and AZUREML_BI_OUTPUT_PATH (the output folder, where a
// summary_only script writes its outputs). A worker is killed when an
// attempt runs past the timeout, as batchrun abandons it then.
func startBatchScript(ctx context.Context, c batchScriptConfig) (*pyworker.Pool, error) {
	out, err := filepath.Abs(c.output)
	if err != nil {
		return nil, fmt.Errorf("--output: %w", err)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, fmt.Errorf("--output: %w", err)
	}
	env := map[string]string{}
	for _, kv := range c.environ {
		k, v, ok := strings.Cut(kv, "=")
		if ok && k != "" && !strings.ContainsRune(v, 0) {
			env[k] = v
		}
	}
	env["AZUREML_BI_OUTPUT_PATH"] = out
	timeout := c.timeout
	if timeout <= 0 {
		timeout = noTimeout
	}
	logger := slog.New(slog.NewTextHandler(c.log, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{} // the job's log has its own times
		}
		return a
	}}))
	pool, err := pyworker.Start(ctx, pyworker.Config{
		CodeDir: c.code, ScoringScript: c.script, ModelDir: c.model, Batch: true,
		Env: env, Workers: c.workers, RequestTimeout: timeout,
		// A mini-batch's answer holds all its rows.
		MaxResponseBytes: 256 << 20,
		Logger:           logger,
	})
	if err != nil {
		return nil, fmt.Errorf("batch scoring script %s: %w", c.script, err)
	}
	return pool, nil
}

// loadBatchModel loads a staged model folder; a folder of one model file
// under another name than score.Load looks for is that file.
func loadBatchModel(dir string, threads int) (*score.Model, error) {
	m, err := score.Load(dir, threads)
	if err == nil || !hangar.IsCode(err, hangar.EINVALID) {
		return m, err
	}
	ents, rerr := os.ReadDir(dir)
	if rerr != nil || len(ents) != 1 || !ents[0].Type().IsRegular() {
		return nil, fmt.Errorf("--model: %w", err)
	}
	return score.Load(filepath.Join(dir, ents[0].Name()), threads)
}

// batchScript is the scoring script of a batch deployment YAML's
// code_configuration, checked before anything is uploaded. Creating the
// deployment uploads the code folder as a snapshot and registers an
// inline environment, as an online deployment's resolver does.
type batchScript struct {
	dir    string // the code folder, from the YAML's folder
	script string // relative to dir, with forward slashes
}

// batchScriptOf checks a batch deployment's code_configuration; nil
// without one. Errors: EINVALID naming the file and the field.
func batchScriptOf(file string, c *jobspec.CodeConfiguration) (*batchScript, error) {
	if c == nil {
		return nil, nil
	}
	dir, err := snapshot.Path(file, "code_configuration.code", c.Code)
	if err != nil {
		return nil, err
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil, invalidf("%s: code_configuration.code %s is not a folder", file, c.Code)
	}
	script := path.Clean(strings.ReplaceAll(c.ScoringScript, `\`, "/"))
	if fi, err := os.Stat(filepath.Join(dir, filepath.FromSlash(script))); err != nil || !fi.Mode().IsRegular() {
		return nil, invalidf("%s: code_configuration.scoring_script %s is not a file in %s", file, c.ScoringScript, c.Code)
	}
	return &batchScript{dir: dir, script: script}, nil
}

// placeholders fills in what the uploads will, so that the deployment is
// validated before them.
func (s *batchScript) placeholders(sp *hangar.DeploymentSpec, env *jobspec.Environment) {
	if s == nil {
		return
	}
	sp.ScoringScript = s.script
	sp.CodeDigest = hangar.Digest("sha256:" + strings.Repeat("0", 64))
	if env != nil && env.Ref == nil {
		sp.EnvironmentName, sp.EnvironmentVersion = "pending", "1"
	}
}

// upload uploads the code folder and registers an inline environment.
func (s *batchScript) upload(ctx context.Context, r *deploymentResolver, d *hangar.BatchDeployment, env *jobspec.Environment) error {
	if s == nil {
		return nil
	}
	var err error
	d.Spec.ScoringScript = s.script
	if d.Spec.CodeDigest, err = snapshot.Folder(ctx, r.client.BlobStore(r.workspace), s.dir); err != nil {
		return inFile(r.file+": code_configuration.code", err)
	}
	if env != nil && env.Ref == nil {
		e, err := r.registerEnvironment(ctx, d.Endpoint, d.Name, env)
		if err != nil {
			return err
		}
		d.Spec.EnvironmentName, d.Spec.EnvironmentVersion = e.Name, e.Version
	}
	return nil
}
