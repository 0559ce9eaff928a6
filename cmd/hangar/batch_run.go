package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/batchrun"
	"github.com/hangar-ml/hangar/pyworker"
	"github.com/hangar-ml/hangar/score"
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
