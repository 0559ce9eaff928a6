package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/hangar-ml/hangar/batchscore"
)

func newPredictCmd() *cobra.Command {
	var o batchscore.PredictOptions
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
			res, err := batchscore.Predict(cmd.Context(), o)
			if err != nil {
				return cliError(err, "")
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "scored %d rows into %s\n", res.Rows, o.Output)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.Model, "model", "", "model folder or file")
	fl.StringVar(&o.Input, "input", "", "table to score (CSV or Parquet, or a folder holding one)")
	fl.StringVar(&o.Output, "output", "", "CSV file to write")
	fl.IntVar(&o.Threads, "threads", 0, "threads for tree models (0 = all cores)")
	fl.BoolVar(&o.KeepInput, "keep-input", false, "copy the input columns into the output before the predictions")
	return cmd
}

func newEvaluateCmd(getenv env) *cobra.Command {
	var o batchscore.EvaluateOptions
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
			if o.Label == "" {
				return invalidf("--label is required")
			}
			run, err := trackingEnv(getenv).Run()
			if err != nil {
				return err
			}
			if run != nil { // a nil *mlflow.Run in the interface would not be nil
				o.Tracker = run
			}
			metrics, err := batchscore.Evaluate(cmd.Context(), o)
			if metrics == nil {
				return cliError(err, "")
			}
			if _, werr := cmd.OutOrStdout().Write(batchscore.MarshalMetrics(metrics)); werr != nil {
				return werr
			}
			if run == nil {
				return nil
			}
			return logged(cmd.ErrOrStderr(), run, cliError(err, ""))
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.Model, "model", "", "model folder or file")
	fl.StringVar(&o.Input, "input", "", "labelled table (CSV or Parquet, or a folder holding one)")
	fl.StringVar(&o.Label, "label", "", "label column")
	fl.StringVar(&o.Output, "output", "", "also write the metrics to this JSON file")
	fl.IntVar(&o.Threads, "threads", 0, "threads for tree models (0 = all cores)")
	fl.StringVar(&o.MetricPrefix, "metric-prefix", "", "prefix of the metric names logged to MLflow tracking, e.g. test_")
	return cmd
}
