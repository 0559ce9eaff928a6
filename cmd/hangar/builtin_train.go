package main

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/hangar-ml/hangar/gbdt"
	"github.com/hangar-ml/hangar/linear"
	"github.com/hangar-ml/hangar/mlflow"
	"github.com/hangar-ml/hangar/train"
)

// trainFlags are the flags both trainers share.
type trainFlags struct {
	train, valid, label, output string
	features, drop              string
}

func (f *trainFlags) bindTables(fl *pflag.FlagSet, validHelp string) {
	fl.StringVar(&f.train, "train", "", "training table (CSV or Parquet)")
	fl.StringVar(&f.valid, "valid", "", validHelp)
	fl.StringVar(&f.label, "label", "", "label column")
	fl.StringVar(&f.output, "output", "", "model folder to write")
}

func (f *trainFlags) bindColumns(fl *pflag.FlagSet) {
	fl.StringVar(&f.features, "features", "", "comma-separated feature columns (default: all but the label and --drop-columns)")
	fl.StringVar(&f.drop, "drop-columns", "", "comma-separated columns to leave out")
}

// options returns the trainer's options and the MLflow run the
// environment names (nil when tracking is off).
func (f *trainFlags) options(getenv env) (train.Options, *mlflow.Run, error) {
	te := trackingEnv(getenv)
	run, err := te.Run()
	if err != nil {
		return train.Options{}, nil, err
	}
	o := train.Options{
		Train: f.train, Valid: f.valid, Label: f.label, Output: f.output,
		Features: splitList(f.features), Drop: splitList(f.drop),
		RunID: te.RunID, Version: version,
	}
	if run != nil { // a nil *mlflow.Run in the interface would not be nil
		o.Tracker = run
	}
	return o, run, nil
}

type gbdtFlags struct {
	trainFlags
	p        gbdt.Params
	logEvery int
}

func newTrainGBDTCmd(getenv env) *cobra.Command {
	o := gbdtFlags{p: gbdt.DefaultParams()}
	cmd := &cobra.Command{
		Use:   "train-gbdt",
		Short: "Train gradient-boosted trees (XGBoost hist semantics) into a model folder",
		Long: `Train gradient-boosted trees with XGBoost's histogram method, parameter
names and defaults, and write a model folder: MLmodel (MLflow format),
model.json (XGBoost JSON, loadable by XGBoost itself) and metrics.json.

Features are every column but the label and --drop-columns, or --features.
For classification, labels that are not already 0..K-1 (text, or numbers
such as -1/1) are mapped to classes in sorted order and the mapping is
recorded in MLmodel. base_score is 0.5, as in XGBoost 1.7. With --valid and
--early-stopping-rounds N, training stops once the validation metric (rmse,
logloss or mlogloss) has not improved for N rounds, and the model keeps the
trees up to the best round.` + trackingHelp,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cliError(runTrainGBDT(cmd, &o, getenv), "") },
	}
	fl := cmd.Flags()
	o.bindTables(fl, "validation table, for metrics and early stopping")
	fl.StringVar(&o.p.Objective, "objective", o.p.Objective, "reg:squarederror, binary:logistic, multi:softmax or multi:softprob")
	fl.IntVar(&o.p.NEstimators, "n-estimators", o.p.NEstimators, "boosting rounds")
	fl.Float64Var(&o.p.LearningRate, "learning-rate", o.p.LearningRate, "learning rate (eta)")
	fl.IntVar(&o.p.MaxDepth, "max-depth", o.p.MaxDepth, "maximum tree depth (0 = no limit, with --grow-policy lossguide only)")
	fl.StringVar(&o.p.GrowPolicy, "grow-policy", o.p.GrowPolicy, "depthwise (split level by level) or lossguide (split the best leaf first)")
	fl.IntVar(&o.p.MaxLeaves, "max-leaves", o.p.MaxLeaves, "maximum leaves per tree (0 = no limit; also caps depthwise trees)")
	fl.Float64Var(&o.p.MinChildWeight, "min-child-weight", o.p.MinChildWeight, "minimum hessian sum in a child")
	fl.Float64Var(&o.p.RegLambda, "reg-lambda", o.p.RegLambda, "L2 regularisation of leaf weights")
	fl.Float64Var(&o.p.Gamma, "gamma", o.p.Gamma, "minimum loss reduction to split (min_split_loss)")
	fl.Float64Var(&o.p.Subsample, "subsample", o.p.Subsample, "row fraction per tree")
	fl.Float64Var(&o.p.ColsampleBytree, "colsample-bytree", o.p.ColsampleBytree, "feature fraction per tree")
	fl.IntVar(&o.p.MaxBin, "max-bin", o.p.MaxBin, "maximum histogram bins per feature")
	fl.IntVar(&o.p.EarlyStoppingRounds, "early-stopping-rounds", 0, "stop after N rounds without improvement on --valid (0 = off)")
	fl.Float64Var(&o.p.BaseScore, "base-score", o.p.BaseScore, "initial prediction (XGBoost 1.7's default 0.5)")
	fl.Uint64Var(&o.p.Seed, "seed", 0, "random seed for subsampling")
	fl.IntVar(&o.p.Threads, "threads", 0, "threads (0 = all cores)")
	o.bindColumns(fl)
	fl.IntVar(&o.logEvery, "log-every", 10, "print progress to stderr every N rounds (0 = never)")
	return cmd
}

func runTrainGBDT(cmd *cobra.Command, o *gbdtFlags, getenv env) error {
	opts, run, err := o.options(getenv)
	if err != nil {
		return err
	}
	stderr := cmd.ErrOrStderr()
	res, err := train.GBDT(cmd.Context(), opts, o.p, train.Progress{
		Started: func(s train.Started) {
			fmt.Fprintf(stderr, "training %s on %d rows × %d features", s.Objective, s.Rows, s.Features)
			if s.ValidRows > 0 {
				fmt.Fprintf(stderr, ", validating on %d rows", s.ValidRows)
			}
			fmt.Fprintln(stderr)
		},
		Round: func(pr gbdt.Progress) {
			if o.logEvery > 0 && (pr.Iteration%o.logEvery == 0 || pr.Iteration == o.p.NEstimators-1) {
				fmt.Fprintf(stderr, "[%d]\ttrain-%s:%.5f", pr.Iteration, pr.Metric, pr.Train)
				if !math.IsNaN(pr.Valid) {
					fmt.Fprintf(stderr, "\tvalid-%s:%.5f", pr.Metric, pr.Valid)
				}
				fmt.Fprintln(stderr)
			}
		},
		Finished: func(f train.Finished) {
			fmt.Fprintf(stderr, "trained %d rounds in %s (best round %d)\n", f.Rounds, f.Elapsed.Round(time.Millisecond), f.BestRound)
		},
	})
	if res == nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "model written to %s\n", opts.Output)
	return logged(stderr, run, err)
}

type linearFlags struct {
	trainFlags
	p linear.Params
}

func newTrainLinearCmd(getenv env) *cobra.Command {
	o := linearFlags{p: linear.DefaultParams()}
	cmd := &cobra.Command{
		Use:   "train-linear",
		Short: "Train a regularised linear or logistic regression into a model folder",
		Long: `Train ridge / lasso regression (reg:squarederror) or logistic regression
(binary:logistic, multi:softmax) on standardised features, and write a model
folder: MLmodel, linear.json and metrics.json. The loss is averaged over rows
and penalised by (l2/2)·‖w‖² + l1·‖w‖₁; missing feature values count as the
training mean.` + trackingHelp,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cliError(runTrainLinear(cmd, &o, getenv), "") },
	}
	fl := cmd.Flags()
	o.bindTables(fl, "validation table, for metrics")
	fl.StringVar(&o.p.Objective, "objective", o.p.Objective, "reg:squarederror, binary:logistic or multi:softmax")
	fl.Float64Var(&o.p.L2, "l2", o.p.L2, "L2 penalty")
	fl.Float64Var(&o.p.L1, "l1", 0, "L1 penalty")
	fl.IntVar(&o.p.MaxIter, "max-iter", o.p.MaxIter, "maximum iterations of the iterative solver")
	o.bindColumns(fl)
	return cmd
}

func runTrainLinear(cmd *cobra.Command, o *linearFlags, getenv env) error {
	opts, run, err := o.options(getenv)
	if err != nil {
		return err
	}
	stderr := cmd.ErrOrStderr()
	res, err := train.Linear(cmd.Context(), opts, o.p, train.Progress{
		Started: func(s train.Started) {
			fmt.Fprintf(stderr, "training linear %s on %d rows × %d features\n", s.Objective, s.Rows, s.Features)
		},
		Finished: func(f train.Finished) {
			fmt.Fprintf(stderr, "trained in %s\n", f.Elapsed.Round(time.Millisecond))
		},
	})
	if res == nil {
		return err
	}
	for _, k := range slices.Sorted(maps.Keys(res.Metrics)) {
		fmt.Fprintf(stderr, "%s: %.5f\n", k, res.Metrics[k])
	}
	fmt.Fprintf(cmd.OutOrStdout(), "model written to %s\n", opts.Output)
	return logged(stderr, run, err)
}
