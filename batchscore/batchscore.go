// Package batchscore scores tables with a model from files, as the
// built-in `predict` and `evaluate` components do: load a model folder or
// file (package score), read a CSV or Parquet table, and write the
// predictions or the metrics. The CLI (`hangar builtin predict|evaluate`)
// and pipeline steps share it; it prints nothing.
//
// Errors name the component's inputs as its command line spells them
// (--model, --input, --label …): that is how the built-in components are
// called, from a shell or from a pipeline step.
package batchscore

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/evaluate"
	"github.com/hangar-ml/hangar/mlflow"
	"github.com/hangar-ml/hangar/score"
	"github.com/hangar-ml/hangar/tabular"
)

// PredictOptions say what to score with which model.
type PredictOptions struct {
	// Model is a Hangar model folder (MLmodel), a linear.json, an XGBoost
	// JSON model or a LightGBM text model.
	Model string
	// Input is the table to score, CSV or Parquet, or a folder holding one.
	Input string
	// Output is the CSV file to write (its folder is created).
	Output  string
	Threads int // threads for tree models (0 = all cores)
	// KeepInput copies the input columns into the output before the
	// predictions.
	KeepInput bool
}

// PredictResult says what Predict wrote.
type PredictResult struct {
	Rows int
}

// Predict scores o.Input with o.Model and writes o.Output: a "prediction"
// column (the class label for classification, the value for regression),
// plus "probability" for binary models and "prob_<class>" columns for
// multiclass models.
// Errors: EINVALID for missing options, a model or table that does not
// load, or a missing feature column; ENOTFOUND (wrapped fs.ErrNotExist)
// for a missing file; ctx's error.
func Predict(ctx context.Context, o PredictOptions) (*PredictResult, error) {
	if o.Output == "" {
		return nil, hangar.Errorf(hangar.EINVALID, "--output is required")
	}
	m, err := loadModel(o.Model, o.Threads)
	if err != nil {
		return nil, err
	}
	f, err := readTable(o.Input)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res, err := m.Predict(f)
	if err != nil {
		return nil, err
	}
	if o.KeepInput {
		for _, c := range res.Columns {
			if f.Column(c.Name) != nil {
				return nil, hangar.Errorf(hangar.EINVALID, "--keep-input: the input already has a column %q, which the predictions would repeat; drop or rename it", c.Name)
			}
		}
		res.Columns = append(slices.Clone(f.Columns), res.Columns...)
	}
	if err := os.MkdirAll(filepath.Dir(o.Output), 0o755); err != nil {
		return nil, err
	}
	if err := tabular.WriteCSVFile(o.Output, res); err != nil {
		return nil, err
	}
	return &PredictResult{Rows: f.NumRows()}, nil
}

// Tracker logs metrics to a run; *mlflow.Run is one.
type Tracker interface {
	LogBatch(ctx context.Context, metrics []mlflow.Metric, params []mlflow.Param, tags []mlflow.RunTag) error
}

var _ Tracker = (*mlflow.Run)(nil)

// EvaluateOptions say which model to evaluate on which labelled table.
type EvaluateOptions struct {
	Model   string // as PredictOptions.Model
	Input   string // labelled table, CSV or Parquet, or a folder holding one
	Label   string // label column (required)
	Threads int    // threads for tree models (0 = all cores)
	// Output, when set, is a JSON file to write the metrics to (its
	// folder is created).
	Output string
	// Tracker, when set, receives the metrics, named MetricPrefix+name.
	Tracker      Tracker
	MetricPrefix string
}

// Evaluate computes o.Model's metrics on o.Input: mae, rmse, mape, r2 for
// regression; accuracy, precision, recall, f1, roc_auc, log_loss for
// classification (scikit-learn's definitions). It writes them to
// o.Output and logs them to o.Tracker; when only the logging fails, the
// metrics are returned with the error.
// Errors: EINVALID for missing options, a model or table that does not
// load, an empty table or bad labels; ENOTFOUND (wrapped fs.ErrNotExist)
// for a missing file; the tracker's errors; ctx's error.
func Evaluate(ctx context.Context, o EvaluateOptions) (evaluate.Metrics, error) {
	if o.Label == "" {
		return nil, hangar.Errorf(hangar.EINVALID, "--label is required")
	}
	m, err := loadModel(o.Model, o.Threads)
	if err != nil {
		return nil, err
	}
	f, err := readTable(o.Input)
	if err != nil {
		return nil, err
	}
	if f.NumRows() == 0 {
		return nil, hangar.Errorf(hangar.EINVALID, "--input %s has no rows", o.Input)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	metrics, err := m.Evaluate(f, o.Label)
	if err != nil {
		return nil, err
	}
	if o.Output != "" {
		if err := writeJSON(o.Output, metrics); err != nil {
			return nil, fmt.Errorf("--output: %w", err)
		}
	}
	if o.Tracker == nil {
		return metrics, nil
	}
	now := mlflow.Int64(time.Now().UnixMilli())
	var ms []mlflow.Metric
	for _, k := range slices.Sorted(maps.Keys(metrics)) {
		ms = append(ms, mlflow.Metric{Key: o.MetricPrefix + k, Value: mlflow.Double(metrics[k]), Timestamp: now})
	}
	return metrics, o.Tracker.LogBatch(ctx, ms, nil, nil)
}

// MarshalMetrics is the JSON form of metrics that Evaluate writes (and
// the CLI prints): an indented object, sorted by name, with a final
// newline.
func MarshalMetrics(m evaluate.Metrics) []byte {
	b, _ := json.MarshalIndent(m, "", "  ") // a map of float64: cannot fail but on NaN
	return append(b, '\n')
}

func writeJSON(path string, m evaluate.Metrics) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, MarshalMetrics(m), 0o644)
}

// loadModel loads --model.
func loadModel(path string, threads int) (*score.Model, error) {
	if path == "" {
		return nil, hangar.Errorf(hangar.EINVALID, "--model is required")
	}
	m, err := score.Load(path, threads)
	if err != nil {
		return nil, fmt.Errorf("--model: %w", err)
	}
	return m, nil
}

// readTable reads --input.
func readTable(path string) (*tabular.Frame, error) {
	if path == "" {
		return nil, hangar.Errorf(hangar.EINVALID, "--input is required")
	}
	f, err := tabular.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--input: %w", err)
	}
	return f, nil
}
