package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/hangar-ml/hangar/mlflow"
	"github.com/hangar-ml/hangar/score"
)

// loadModel loads --model.
func loadModel(path string, threads int) (*score.Model, error) {
	if path == "" {
		return nil, invalidf("--model is required")
	}
	m, err := score.Load(path, threads)
	if err != nil {
		return nil, cliError(err, "--model")
	}
	return m, nil
}

func newPredictCmd() *cobra.Command {
	var modelPath, input, output string
	var threads int
	var keep bool
	cmd := &cobra.Command{
		Use:   "predict",
		Short: "Score a table with a model",
		Long: `Score a table with a model: a Hangar model folder (MLmodel), a linear.json,
an XGBoost JSON model or a LightGBM text model. Input columns are matched by
name; extra columns are ignored and a missing one is an error. The output CSV
has a "prediction" column (the class label for classification, the value for
regression), plus "probability" (of the second class) for binary models and
one "prob_<class>" column per class for multiclass models. Empty cells, NA,
NaN and null are missing values; zeros are values (a model trained with
XGBoost's missing=0 needs its zeros blanked first).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output == "" {
				return invalidf("--output is required")
			}
			m, err := loadModel(modelPath, threads)
			if err != nil {
				return err
			}
			f, err := readTable(input, "input")
			if err != nil {
				return err
			}
			res, err := m.Predict(f)
			if err != nil {
				return cliError(err, "")
			}
			if keep {
				for _, c := range res.Columns {
					if f.Column(c.Name) != nil {
						return invalidf("--keep-input: the input already has a column %q, which the predictions would repeat; drop or rename it", c.Name)
					}
				}
				res.Columns = append(slices.Clone(f.Columns), res.Columns...)
			}
			if err := writeCSVFile(output, res); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "scored %d rows into %s\n", f.NumRows(), output)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&modelPath, "model", "", "model folder or file")
	fl.StringVar(&input, "input", "", "table to score (CSV or Parquet)")
	fl.StringVar(&output, "output", "", "CSV file to write")
	fl.IntVar(&threads, "threads", 0, "threads for tree models (0 = all cores)")
	fl.BoolVar(&keep, "keep-input", false, "copy the input columns into the output before the predictions")
	return cmd
}

func newEvaluateCmd(getenv env) *cobra.Command {
	var modelPath, input, label, output string
	var prefix string
	var threads int
	cmd := &cobra.Command{
		Use:   "evaluate",
		Short: "Compute a model's metrics on a labelled table",
		Long: `Compute a model's metrics on a labelled table and print them as JSON:
mae, rmse, mape (zero targets skipped and counted), r2 for regression;
accuracy, precision, recall, f1, roc_auc, log_loss for binary models;
accuracy, macro precision/recall/f1, one-vs-rest macro roc_auc and log_loss
for multiclass models. Definitions follow scikit-learn's.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if label == "" {
				return invalidf("--label is required")
			}
			run, err := trackingEnv(getenv).Run()
			if err != nil {
				return err
			}
			m, err := loadModel(modelPath, threads)
			if err != nil {
				return err
			}
			f, err := readTable(input, "input")
			if err != nil {
				return err
			}
			if f.NumRows() == 0 {
				return invalidf("--input %s has no rows", input)
			}
			metrics, err := m.Evaluate(f, label)
			if err != nil {
				return cliError(err, "")
			}
			b, _ := json.MarshalIndent(metrics, "", "  ")
			b = append(b, '\n')
			if output != "" {
				if err := os.WriteFile(output, b, 0o644); err != nil {
					return cliError(err, "--output")
				}
			}
			if _, err := cmd.OutOrStdout().Write(b); err != nil {
				return err
			}
			if run == nil {
				return nil
			}
			now := mlflow.Int64(time.Now().UnixMilli())
			var ms []mlflow.Metric
			for _, k := range slices.Sorted(maps.Keys(metrics)) {
				ms = append(ms, mlflow.Metric{Key: prefix + k, Value: mlflow.Double(metrics[k]), Timestamp: now})
			}
			return logged(cmd.ErrOrStderr(), run, cliError(run.LogBatch(cmd.Context(), ms, nil, nil), ""))
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&modelPath, "model", "", "model folder or file")
	fl.StringVar(&input, "input", "", "labelled table (CSV or Parquet)")
	fl.StringVar(&label, "label", "", "label column")
	fl.StringVar(&output, "output", "", "also write the metrics to this JSON file")
	fl.IntVar(&threads, "threads", 0, "threads for tree models (0 = all cores)")
	fl.StringVar(&prefix, "metric-prefix", "", "prefix of the metric names logged to MLflow tracking, e.g. test_")
	return cmd
}
