package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/mlflow"
)

const trackingHelp = `

Tracking: when MLFLOW_TRACKING_URI and MLFLOW_RUN_ID are both set, the
parameters and the per-round metrics are logged to that MLflow run
(POST /api/2.0/mlflow/runs/log-batch, with "Authorization: Bearer
$MLFLOW_TRACKING_TOKEN" when that is set). When either is unset, tracking is
skipped silently.`

// newBuiltinCmd is `hangar builtin`: the built-in components. Their logic
// lives in packages train, batchscore and dataprep, which pipeline steps
// share (package builtin declares them as components); the verbs parse
// flags, call them and print. getenv supplies the MLflow tracking variables.
func newBuiltinCmd(getenv env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "builtin",
		Short: "Built-in trainers and data tools that need no Python",
		Long: `Built-in trainers and data tools that run in the hangar binary itself:
train-gbdt (XGBoost-compatible gradient boosting), train-linear, predict,
evaluate, split, validate and gate (an evaluation gate on metrics). Tables are CSV (header row) or Parquet.

Each is also a pipeline component, version 1, named with underscores:
component: hangar:train_gbdt:1 (or azureml://registries/hangar/components/train_gbdt/versions/1).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newTrainGBDTCmd(getenv), newTrainLinearCmd(getenv), newPredictCmd(), newEvaluateCmd(getenv), newSplitCmd(), newValidateCmd(), newGateCmd(getenv))
	return cmd
}

// cliError turns any error into a domain error whose message keeps the
// whole context chain (main prints only the message of domain errors).
// A missing file is ENOTFOUND; other outside errors are EINVALID.
func cliError(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	code := hangar.ErrorCode(err)
	var he *hangar.Error
	if errors.As(err, &he) {
		msg = strings.Replace(msg, he.Error(), he.Message, 1)
	} else if errors.Is(err, fs.ErrNotExist) {
		code = hangar.ENOTFOUND
	} else if code == hangar.EINTERNAL {
		code = hangar.EINVALID
	}
	if errors.Is(err, context.Canceled) {
		code = hangar.EUNAVAILABLE
	}
	if format != "" {
		msg = fmt.Sprintf(format, args...) + ": " + msg
	}
	return hangar.Errorf(code, "%s", msg)
}

func invalidf(format string, args ...any) error {
	return hangar.Errorf(hangar.EINVALID, format, args...)
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// trackingEnv reads the MLflow tracking variables.
func trackingEnv(getenv env) mlflow.TrackingEnv {
	return mlflow.TrackingEnv{
		URI:   getenv(mlflow.EnvTrackingURI),
		RunID: getenv(mlflow.EnvRunID),
		Token: getenv(mlflow.EnvTrackingToken),

		Username: getenv(mlflow.EnvTrackingUsername),
		Password: getenv(mlflow.EnvTrackingPassword),

		Workspace: getenv(mlflow.EnvWorkspace),
	}
}

// logged reports a tracked run once its batch went through.
func logged(w io.Writer, run *mlflow.Run, err error) error {
	if err == nil && run != nil {
		fmt.Fprintf(w, "logged to MLflow run %s\n", run.ID)
	}
	return err
}
