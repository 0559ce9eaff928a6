package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/evaluate"
	"github.com/hangar-ml/hangar/gbdt"
	"github.com/hangar-ml/hangar/linear"
	"github.com/hangar-ml/hangar/mlmodel"
	"github.com/hangar-ml/hangar/tabular"
	"github.com/hangar-ml/hangar/trees"
)

// builtinEnv is what the built-in verbs read from the environment: the
// MLflow tracking variables. Tests replace it.
var builtinEnv = os.Getenv

const trackingHelp = `

Tracking: when MLFLOW_TRACKING_URI and MLFLOW_RUN_ID are both set, the
parameters and the per-round metrics are logged to that MLflow run
(POST /api/2.0/mlflow/runs/log-batch, with "Authorization: Bearer
$MLFLOW_TRACKING_TOKEN" when that is set). When either is unset, tracking is
skipped silently.`

func newBuiltinCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "builtin",
		Short: "Built-in trainers and data tools that need no Python",
		Long: `Built-in trainers and data tools that run in the hangar binary itself:
train-gbdt (XGBoost-compatible gradient boosting), train-linear, predict,
evaluate, split and validate. Tables are CSV (header row) or Parquet.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newTrainGBDTCmd(), newTrainLinearCmd(), newPredictCmd(), newEvaluateCmd(), newSplitCmd(), newValidateCmd())
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

// readTable reads a CSV or Parquet file with the path in its errors.
func readTable(path, flag string) (*tabular.Frame, error) {
	if path == "" {
		return nil, invalidf("--%s is required", flag)
	}
	f, err := tabular.ReadFile(path)
	if err != nil {
		return nil, cliError(err, "--%s", flag)
	}
	return f, nil
}

// trainInputs are the columns a trainer takes from its tables.
type trainInputs struct {
	label    string
	features []string
	classes  []string // class index → label text, when labels were mapped
	mapped   bool
}

// chooseFeatures picks the feature columns: --features, or every column
// but the label and --drop-columns. Text columns are an error naming them.
func chooseFeatures(f *tabular.Frame, label string, features, drop []string) ([]string, error) {
	if f.Column(label) == nil {
		return nil, invalidf("label column %q not found in the training data (columns: %s)", label, strings.Join(f.Names(), ", "))
	}
	for _, d := range drop {
		if f.Column(d) == nil {
			return nil, invalidf("--drop-columns: column %q not found", d)
		}
	}
	if len(features) == 0 {
		for _, n := range f.Names() {
			if n != label && !slices.Contains(drop, n) {
				features = append(features, n)
			}
		}
	}
	if len(features) == 0 {
		return nil, invalidf("no feature columns left after the label and --drop-columns")
	}
	var text []string
	seen := map[string]bool{}
	for _, n := range features {
		c := f.Column(n)
		switch {
		case c == nil:
			return nil, invalidf("feature column %q not found (columns: %s)", n, strings.Join(f.Names(), ", "))
		case n == label:
			return nil, invalidf("the label column %q cannot also be a feature", n)
		case seen[n]:
			return nil, invalidf("--features names %q twice", n)
		case c.Kind != tabular.Numeric:
			text = append(text, n)
		}
		seen[n] = true
	}
	if len(text) > 0 {
		ex := ""
		for _, s := range f.Column(text[0]).Str {
			if s != "" {
				ex = s
				break
			}
		}
		if len(text) == 1 {
			return nil, invalidf("feature column %q is not numeric (e.g. %q); drop it with --drop-columns %s or choose --features", text[0], ex, text[0])
		}
		return nil, invalidf("%d feature columns are not numeric (%s; e.g. %q in %s): drop them with --drop-columns %s or choose --features",
			len(text), strings.Join(text, ", "), ex, text[0], strings.Join(text, ","))
	}
	return features, nil
}

// labelClasses decides how the label column becomes class indices for a
// classification objective. Labels that are already 0..K-1 (0/1 for binary)
// are kept; any other labels (text, or numbers such as 1..3 or -1/1) are
// mapped in sorted order to 0..K-1 and the mapping is recorded.
func labelClasses(c *tabular.Column, binary bool) (classes []string, mapped bool, err error) {
	seen := map[string]bool{}
	numericOK := c.Kind == tabular.Numeric
	maxV := -1.0
	for i := range c.Len() {
		if c.IsMissing(i) {
			return nil, false, invalidf("label %q is missing in row %d", c.Name, i+1)
		}
		if c.Kind == tabular.Numeric {
			v := c.Float[i]
			if math.IsInf(v, 0) {
				return nil, false, invalidf("label %q in row %d is %v; labels must be finite", c.Name, i+1, v)
			}
			if v < 0 || v != math.Trunc(v) {
				numericOK = false
			}
			maxV = max(maxV, v)
		}
		seen[c.Text(i)] = true
	}
	if numericOK && len(seen) == int(maxV)+1 && (!binary || maxV <= 1) {
		for k := 0; k <= int(maxV); k++ {
			classes = append(classes, strconv.Itoa(k))
		}
		return classes, false, nil
	}
	for s := range seen {
		classes = append(classes, s)
	}
	if c.Kind == tabular.Numeric {
		sort.Slice(classes, func(a, b int) bool {
			x, _ := strconv.ParseFloat(classes[a], 64)
			y, _ := strconv.ParseFloat(classes[b], 64)
			return x < y
		})
	} else {
		sort.Strings(classes)
	}
	if binary && len(classes) > 2 {
		return nil, false, invalidf("binary:logistic needs two classes, label %q has %d (%s…); use multi:softprob", c.Name, len(classes), strings.Join(classes[:3], ", "))
	}
	return classes, true, nil
}

// labels returns the label column as numbers: the values for regression,
// class indices for classification (mapped through classes when mapped).
func (in *trainInputs) labels(f *tabular.Frame, what string) ([]float64, error) {
	c := f.Column(in.label)
	if c == nil {
		return nil, invalidf("label column %q not found in the %s data (columns: %s)", in.label, what, strings.Join(f.Names(), ", "))
	}
	if in.classes == nil {
		if c.Kind != tabular.Numeric {
			return nil, invalidf("label column %q is not numeric (e.g. %q); a regression needs numbers", in.label, c.Str[0])
		}
		for i, v := range c.Float {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, invalidf("label %q in row %d of the %s data is %s; labels must be finite numbers", in.label, i+1, what, labelText(v))
			}
		}
		return c.Float, nil
	}
	index := map[string]int{}
	for k, s := range in.classes {
		index[s] = k
	}
	y := make([]float64, c.Len())
	for i := range y {
		if c.IsMissing(i) {
			return nil, invalidf("label %q is missing in row %d of the %s data", in.label, i+1, what)
		}
		k, ok := index[c.Text(i)]
		if !ok {
			return nil, invalidf("label %q in row %d of the %s data is %q, a class the training data does not have (%s)", in.label, i+1, what, c.Text(i), strings.Join(in.classes, ", "))
		}
		y[i] = float64(k)
	}
	return y, nil
}

func labelText(v float64) string {
	if math.IsNaN(v) {
		return "missing (NaN)"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

func isClassification(objective string) bool {
	return objective == hangar.ObjectiveBinaryLogistic || strings.HasPrefix(objective, "multi:")
}

// prepareTraining reads the training (and validation) tables and resolves
// the label, the classes and the features.
func prepareTraining(trainPath, validPath, label, objective string, features, drop []string) (in *trainInputs, train, valid *tabular.Frame, err error) {
	if label == "" {
		return nil, nil, nil, invalidf("--label is required")
	}
	if train, err = readTable(trainPath, "train"); err != nil {
		return nil, nil, nil, err
	}
	if train.NumRows() == 0 {
		return nil, nil, nil, invalidf("--train %s has no rows", trainPath)
	}
	in = &trainInputs{label: label}
	if in.features, err = chooseFeatures(train, label, features, drop); err != nil {
		return nil, nil, nil, err
	}
	if isClassification(objective) {
		if in.classes, in.mapped, err = labelClasses(train.Column(label), objective == hangar.ObjectiveBinaryLogistic); err != nil {
			return nil, nil, nil, err
		}
		if len(in.classes) < 2 {
			return nil, nil, nil, invalidf("label %q holds one class only (%s); classification needs at least 2", label, in.classes[0])
		}
	}
	if validPath != "" {
		if valid, err = readTable(validPath, "valid"); err != nil {
			return nil, nil, nil, err
		}
		if valid.NumRows() == 0 {
			return nil, nil, nil, invalidf("--valid %s has no rows", validPath)
		}
	}
	return in, train, valid, nil
}

// signature returns the MLflow signature of a model over the features.
func signature(features []string, outputs []mlmodel.ColSpec) *mlmodel.Signature {
	in := make([]mlmodel.ColSpec, len(features))
	for i, f := range features {
		in[i] = mlmodel.ColSpec{Type: "double", Name: f}
	}
	return mlmodel.NewSignature(in, outputs)
}

func outputSpecs(objective string, classes []string) []mlmodel.ColSpec {
	out := []mlmodel.ColSpec{{Type: "double", Name: "prediction"}}
	if isClassification(objective) {
		out[0].Type = "string"
		if objective == hangar.ObjectiveBinaryLogistic {
			return append(out, mlmodel.ColSpec{Type: "double", Name: "probability"})
		}
		for _, c := range classes {
			out = append(out, mlmodel.ColSpec{Type: "double", Name: "prob_" + c})
		}
	}
	return out
}

type gbdtFlags struct {
	train, valid, label, output string
	features, drop              string
	p                           gbdt.Params
	logEvery                    int
}

func newTrainGBDTCmd() *cobra.Command {
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
		RunE: func(cmd *cobra.Command, _ []string) error { return runTrainGBDT(cmd, &o) },
	}
	fl := cmd.Flags()
	fl.StringVar(&o.train, "train", "", "training table (CSV or Parquet)")
	fl.StringVar(&o.valid, "valid", "", "validation table, for metrics and early stopping")
	fl.StringVar(&o.label, "label", "", "label column")
	fl.StringVar(&o.output, "output", "", "model folder to write")
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
	fl.StringVar(&o.features, "features", "", "comma-separated feature columns (default: all but the label and --drop-columns)")
	fl.StringVar(&o.drop, "drop-columns", "", "comma-separated columns to leave out")
	fl.IntVar(&o.logEvery, "log-every", 10, "print progress to stderr every N rounds (0 = never)")
	return cmd
}

func runTrainGBDT(cmd *cobra.Command, o *gbdtFlags) error {
	if o.output == "" {
		return invalidf("--output is required")
	}
	if err := o.p.Validate(); err != nil {
		return err
	}
	in, train, valid, err := prepareTraining(o.train, o.valid, o.label, o.p.Objective, splitList(o.features), splitList(o.drop))
	if err != nil {
		return err
	}
	trainSet, err := gbdtDataset(in, train, "training")
	if err != nil {
		return err
	}
	var validSet *gbdt.Dataset
	if valid != nil {
		if validSet, err = gbdtDataset(in, valid, "validation"); err != nil {
			return err
		}
	}
	if strings.HasPrefix(o.p.Objective, "multi:") {
		o.p.NumClass = len(in.classes)
	}
	stderr := cmd.ErrOrStderr()
	fmt.Fprintf(stderr, "training %s on %d rows × %d features", o.p.Objective, train.NumRows(), len(in.features))
	if valid != nil {
		fmt.Fprintf(stderr, ", validating on %d rows", valid.NumRows())
	}
	fmt.Fprintln(stderr)
	start := time.Now()
	m, err := gbdt.Train(cmd.Context(), o.p, trainSet, validSet, func(pr gbdt.Progress) error {
		if o.logEvery > 0 && (pr.Iteration%o.logEvery == 0 || pr.Iteration == o.p.NEstimators-1) {
			fmt.Fprintf(stderr, "[%d]\ttrain-%s:%.5f", pr.Iteration, pr.Metric, pr.Train)
			if !math.IsNaN(pr.Valid) {
				fmt.Fprintf(stderr, "\tvalid-%s:%.5f", pr.Metric, pr.Valid)
			}
			fmt.Fprintln(stderr)
		}
		return nil
	})
	if err != nil {
		return cliError(err, "train")
	}
	fmt.Fprintf(stderr, "trained %d rounds in %s (best round %d)\n", len(m.History), time.Since(start).Round(time.Millisecond), m.BestIteration)

	metrics := map[string]float64{"best_iteration": float64(m.BestIteration)}
	last := m.History[m.BestIteration]
	metrics["train_"+last.Metric] = last.Train
	if validSet != nil {
		metrics["valid_"+last.Metric] = last.Valid
		if err := addValidMetrics(metrics, &gbdtScorer{m}, validSet.Columns, validSet.Label, o.p.Objective); err != nil {
			return err
		}
	}
	fl := mlmodel.Flavor{Data: gbdt.ModelFile, Format: mlmodel.FormatXGBoostJSON, Objective: o.p.Objective, NumClass: m.NumClass}
	if err := writeModelFolder(o.output, m.Write, mlmodel.FlavorGBDT, fl, in, metrics); err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "model written to %s\n", o.output)

	params := map[string]string{}
	for k, v := range o.p.Map() {
		params[k] = fmt.Sprint(v)
	}
	params["features"] = strings.Join(in.features, ",")
	params["label"] = in.label
	var steps []trackedMetric
	for _, h := range m.History {
		steps = append(steps, trackedMetric{"train_" + h.Metric, h.Train, h.Iteration})
		if !math.IsNaN(h.Valid) {
			steps = append(steps, trackedMetric{"valid_" + h.Metric, h.Valid, h.Iteration})
		}
	}
	return track(cmd, params, steps, metrics)
}

// addValidMetrics scores the validation set and adds its metrics as valid_*.
func addValidMetrics(metrics map[string]float64, s scorer, cols [][]float64, y []float64, objective string) error {
	vm, err := evalMetrics(s, cols, y, objective)
	if err != nil {
		return cliError(err, "evaluate on --valid")
	}
	for k, v := range vm {
		metrics["valid_"+k] = v
	}
	return nil
}

// writeModelFolder writes a model folder: the model file (writeModel), the
// MLmodel descriptor (flavor, signature, label and class mapping, the MLflow
// run when tracked) and metrics.json.
func writeModelFolder(dir string, writeModel func(string) error, flavor string, fl mlmodel.Flavor, in *trainInputs, metrics map[string]float64) error {
	if err := writeModel(dir); err != nil {
		return cliError(err, "")
	}
	desc := mlmodel.New(time.Now())
	desc.RunID = builtinEnv("MLFLOW_RUN_ID")
	desc.Signature = signature(in.features, outputSpecs(fl.Objective, in.classes))
	fl.Label, fl.HangarVersion = in.label, version
	if in.mapped {
		fl.Classes = in.classes
	}
	desc.SetFlavor(flavor, fl)
	if err := desc.Write(dir); err != nil {
		return cliError(err, "")
	}
	if err := mlmodel.WriteMetrics(dir, metrics); err != nil {
		return cliError(err, "")
	}
	return nil
}

func gbdtDataset(in *trainInputs, f *tabular.Frame, what string) (*gbdt.Dataset, error) {
	y, err := in.labels(f, what)
	if err != nil {
		return nil, err
	}
	cols, err := f.Features(in.features)
	if err != nil {
		return nil, cliError(err, "%s data", what)
	}
	return &gbdt.Dataset{Features: in.features, Columns: cols, Label: y}, nil
}

type linearFlags struct {
	train, valid, label, output string
	features, drop              string
	p                           linear.Params
}

func newTrainLinearCmd() *cobra.Command {
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
		RunE: func(cmd *cobra.Command, _ []string) error { return runTrainLinear(cmd, &o) },
	}
	fl := cmd.Flags()
	fl.StringVar(&o.train, "train", "", "training table (CSV or Parquet)")
	fl.StringVar(&o.valid, "valid", "", "validation table, for metrics")
	fl.StringVar(&o.label, "label", "", "label column")
	fl.StringVar(&o.output, "output", "", "model folder to write")
	fl.StringVar(&o.p.Objective, "objective", o.p.Objective, "reg:squarederror, binary:logistic or multi:softmax")
	fl.Float64Var(&o.p.L2, "l2", o.p.L2, "L2 penalty")
	fl.Float64Var(&o.p.L1, "l1", 0, "L1 penalty")
	fl.IntVar(&o.p.MaxIter, "max-iter", o.p.MaxIter, "maximum iterations of the iterative solver")
	fl.StringVar(&o.features, "features", "", "comma-separated feature columns (default: all but the label and --drop-columns)")
	fl.StringVar(&o.drop, "drop-columns", "", "comma-separated columns to leave out")
	return cmd
}

func runTrainLinear(cmd *cobra.Command, o *linearFlags) error {
	if o.output == "" {
		return invalidf("--output is required")
	}
	switch o.p.Objective {
	case hangar.ObjectiveRegSquaredError, hangar.ObjectiveBinaryLogistic, hangar.ObjectiveMultiSoftmax, hangar.ObjectiveMultiSoftprob:
	default:
		return invalidf("unknown objective %q for train-linear (want reg:squarederror, binary:logistic or multi:softmax)", o.p.Objective)
	}
	in, train, valid, err := prepareTraining(o.train, o.valid, o.label, o.p.Objective, splitList(o.features), splitList(o.drop))
	if err != nil {
		return err
	}
	y, err := in.labels(train, "training")
	if err != nil {
		return err
	}
	cols, err := train.Features(in.features)
	if err != nil {
		return cliError(err, "training data")
	}
	if strings.HasPrefix(o.p.Objective, "multi:") {
		o.p.NumClass = len(in.classes)
	}
	stderr := cmd.ErrOrStderr()
	fmt.Fprintf(stderr, "training linear %s on %d rows × %d features\n", o.p.Objective, train.NumRows(), len(in.features))
	start := time.Now()
	m, err := linear.Train(cmd.Context(), o.p, &linear.Dataset{Features: in.features, Columns: cols, Label: y})
	if err != nil {
		return cliError(err, "train")
	}
	fmt.Fprintf(stderr, "trained in %s\n", time.Since(start).Round(time.Millisecond))
	metrics := map[string]float64{}
	tm, err := evalMetrics(&linearScorer{m}, cols, y, o.p.Objective)
	if err != nil {
		return cliError(err, "evaluate on --train")
	}
	for k, v := range tm {
		metrics["train_"+k] = v
	}
	if valid != nil {
		vy, err := in.labels(valid, "validation")
		if err != nil {
			return err
		}
		vc, err := valid.Features(in.features)
		if err != nil {
			return cliError(err, "validation data")
		}
		if err := addValidMetrics(metrics, &linearScorer{m}, vc, vy, o.p.Objective); err != nil {
			return err
		}
	}
	fl := mlmodel.Flavor{Data: linear.ModelFile, Format: mlmodel.FormatLinearJSON, Objective: o.p.Objective, NumClass: m.NumClass}
	if err := writeModelFolder(o.output, m.Write, mlmodel.FlavorLinear, fl, in, metrics); err != nil {
		return err
	}
	for _, k := range slices.Sorted(maps.Keys(metrics)) {
		fmt.Fprintf(stderr, "%s: %.5f\n", k, metrics[k])
	}
	fmt.Fprintf(cmd.OutOrStdout(), "model written to %s\n", o.output)
	params := map[string]string{
		"objective": o.p.Objective, "l2": fmt.Sprint(o.p.L2), "l1": fmt.Sprint(o.p.L1),
		"max_iter": fmt.Sprint(o.p.MaxIter), "features": strings.Join(in.features, ","), "label": in.label,
	}
	return track(cmd, params, nil, metrics)
}

// scorer is a loaded model of any kind the built-in verbs score with.
type scorer interface {
	features() []string
	numOutputs() int
	objective() string
	// predictBatch writes transformed predictions (row-major, numOutputs
	// per row) for row-major rows.
	predictBatch(rows []float64, n int, out []float64)
}

type gbdtScorer struct{ m *gbdt.Model }

func (s *gbdtScorer) features() []string { return s.m.Features }
func (s *gbdtScorer) numOutputs() int    { return s.m.NumOutputs() }
func (s *gbdtScorer) objective() string  { return s.m.Objective }
func (s *gbdtScorer) predictBatch(rows []float64, n int, out []float64) {
	nf, k := len(s.m.Features), s.m.NumOutputs()
	for i := range n {
		s.m.Predict(rows[i*nf:(i+1)*nf], out[i*k:(i+1)*k])
	}
}

type linearScorer struct{ m *linear.Model }

func (s *linearScorer) features() []string { return s.m.Features }
func (s *linearScorer) numOutputs() int    { return s.m.NumOutputs() }
func (s *linearScorer) objective() string  { return s.m.Objective }
func (s *linearScorer) predictBatch(rows []float64, n int, out []float64) {
	nf, k := len(s.m.Features), s.m.NumOutputs()
	for i := range n {
		s.m.Predict(rows[i*nf:(i+1)*nf], out[i*k:(i+1)*k])
	}
}

type treesScorer struct {
	m       *trees.Model
	threads int
}

func (s *treesScorer) features() []string {
	var names []string
	for _, f := range s.m.Features() {
		names = append(names, f.Name)
	}
	return names
}
func (s *treesScorer) numOutputs() int   { return s.m.NumOutputs() }
func (s *treesScorer) objective() string { return s.m.Objective() }
func (s *treesScorer) predictBatch(rows []float64, n int, out []float64) {
	s.m.PredictBatch(rows, n, out, s.threads)
}

// loadedModel is a scorer with the class names of its outputs.
type loadedModel struct {
	scorer
	classes []string // class index → label; nil for regression
}

// loadModel opens a Hangar model folder (MLmodel), a folder or file with
// linear.json, or an XGBoost JSON / LightGBM text model file.
func loadModel(path string, threads int) (*loadedModel, error) {
	if path == "" {
		return nil, invalidf("--model is required")
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, cliError(err, "--model")
	}
	if st.IsDir() {
		if !mlmodel.IsModelDir(path) {
			for _, name := range []string{linear.ModelFile, gbdt.ModelFile} {
				if _, err := os.Stat(filepath.Join(path, name)); err == nil {
					return loadModel(filepath.Join(path, name), threads)
				}
			}
			return nil, invalidf("--model %s is a folder without MLmodel, %s or %s", path, gbdt.ModelFile, linear.ModelFile)
		}
		desc, err := mlmodel.Read(path)
		if err != nil {
			return nil, cliError(err, "--model")
		}
		name, fl, err := desc.Hangar()
		if err != nil {
			return nil, cliError(err, "--model %s", path)
		}
		lm, err := loadModel(filepath.Join(path, fl.Data), threads)
		if err != nil {
			return nil, err
		}
		if len(fl.Classes) > 0 {
			if len(fl.Classes) < 2 || (fl.Objective != hangar.ObjectiveBinaryLogistic && len(fl.Classes) != lm.numOutputs()) {
				return nil, invalidf("--model %s: flavor %s lists %d classes for %d outputs", path, name, len(fl.Classes), lm.numOutputs())
			}
			lm.classes = fl.Classes
		}
		return lm, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, cliError(err, "--model")
	}
	var probe struct {
		Format string `json:"format"`
	}
	if json.Unmarshal(b, &probe) == nil && probe.Format == "hangar-linear" {
		m, err := linear.Load(bytes.NewReader(b))
		if err != nil {
			return nil, cliError(err, "--model %s", path)
		}
		return withDefaultClasses(&linearScorer{m}), nil
	}
	m, err := trees.Load(bytes.NewReader(b))
	if err != nil {
		return nil, cliError(err, "--model %s", path)
	}
	return withDefaultClasses(&treesScorer{m, threads}), nil
}

func withDefaultClasses(s scorer) *loadedModel {
	lm := &loadedModel{scorer: s}
	switch obj := s.objective(); {
	case obj == hangar.ObjectiveBinaryLogistic:
		lm.classes = []string{"0", "1"}
	case strings.HasPrefix(obj, "multi:"):
		for k := range s.numOutputs() {
			lm.classes = append(lm.classes, strconv.Itoa(k))
		}
	}
	return lm
}

// matrix takes the model's feature columns from f by name, row-major.
func (lm *loadedModel) matrix(f *tabular.Frame) ([]float64, error) {
	feats := lm.features()
	for _, n := range feats {
		if f.Column(n) == nil {
			return nil, invalidf("input has no column %q, which the model needs (model features: %s)", n, strings.Join(feats, ", "))
		}
	}
	rows, err := f.RowMajor(feats)
	if err != nil {
		return nil, cliError(err, "--input")
	}
	return rows, nil
}

func (lm *loadedModel) predict(f *tabular.Frame) ([]float64, error) {
	rows, err := lm.matrix(f)
	if err != nil {
		return nil, err
	}
	n := f.NumRows()
	out := make([]float64, n*lm.numOutputs())
	lm.predictBatch(rows, n, out)
	return out, nil
}

// evalMetrics computes the metrics of a scorer on columns and labels
// (class indices for classification).
func evalMetrics(s scorer, cols [][]float64, y []float64, objective string) (evaluate.Metrics, error) {
	nf, n := len(cols), len(y)
	rows := make([]float64, n*nf)
	for j, c := range cols {
		for i, v := range c {
			rows[i*nf+j] = v
		}
	}
	k := s.numOutputs()
	out := make([]float64, n*k)
	s.predictBatch(rows, n, out)
	return metricsFor(objective, k, y, out)
}

func metricsFor(objective string, k int, y, out []float64) (evaluate.Metrics, error) {
	switch {
	case objective == hangar.ObjectiveBinaryLogistic:
		return evaluate.Binary(y, out)
	case strings.HasPrefix(objective, "multi:"):
		prob := make([][]float64, len(y))
		for i := range prob {
			prob[i] = out[i*k : (i+1)*k]
		}
		return evaluate.Multiclass(y, prob)
	}
	return evaluate.Regression(y, out)
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
			lm, err := loadModel(modelPath, threads)
			if err != nil {
				return err
			}
			f, err := readTable(input, "input")
			if err != nil {
				return err
			}
			out, err := lm.predict(f)
			if err != nil {
				return err
			}
			res := lm.frame(out, f.NumRows())
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

// frame turns predictions into output columns.
func (lm *loadedModel) frame(out []float64, n int) *tabular.Frame {
	k := lm.numOutputs()
	if lm.classes == nil {
		return &tabular.Frame{Columns: []*tabular.Column{{Name: "prediction", Kind: tabular.Numeric, Float: out[:n]}}}
	}
	pred := &tabular.Column{Name: "prediction", Kind: tabular.String, Str: make([]string, n)}
	res := &tabular.Frame{Columns: []*tabular.Column{pred}}
	if k == 1 { // binary: the probability of the second class
		prob := &tabular.Column{Name: "probability", Kind: tabular.Numeric, Float: out[:n]}
		for i, p := range out[:n] {
			pred.Str[i] = lm.classes[b2i(p >= 0.5)]
		}
		res.Columns = append(res.Columns, prob)
		return res
	}
	for c := range k {
		col := &tabular.Column{Name: "prob_" + lm.classes[c], Kind: tabular.Numeric, Float: make([]float64, n)}
		for i := range n {
			col.Float[i] = out[i*k+c]
		}
		res.Columns = append(res.Columns, col)
	}
	for i := range n {
		row := out[i*k : (i+1)*k]
		pred.Str[i] = lm.classes[slices.Index(row, slices.Max(row))]
	}
	return res
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func writeCSVFile(path string, f *tabular.Frame) error {
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return cliError(err, "write %s", path)
		}
	}
	fh, err := os.Create(path)
	if err != nil {
		return cliError(err, "write %s", path)
	}
	if err := tabular.WriteCSV(fh, f); err != nil {
		fh.Close()
		return cliError(err, "write %s", path)
	}
	if err := fh.Close(); err != nil {
		return cliError(err, "write %s", path)
	}
	return nil
}

func newEvaluateCmd() *cobra.Command {
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
			lm, err := loadModel(modelPath, threads)
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
			in := &trainInputs{label: label, classes: lm.classes}
			y, err := in.labels(f, "input")
			if err != nil {
				return err
			}
			out, err := lm.predict(f)
			if err != nil {
				return err
			}
			m, err := metricsFor(lm.objective(), lm.numOutputs(), y, out)
			if err != nil {
				return cliError(err, "evaluate")
			}
			b, _ := json.MarshalIndent(m, "", "  ")
			b = append(b, '\n')
			if output != "" {
				if err := os.WriteFile(output, b, 0o644); err != nil {
					return cliError(err, "--output")
				}
			}
			if _, err := cmd.OutOrStdout().Write(b); err != nil {
				return err
			}
			var logged []trackedMetric
			for _, k := range slices.Sorted(maps.Keys(m)) {
				logged = append(logged, trackedMetric{prefix + k, m[k], 0})
			}
			return track(cmd, nil, logged, nil)
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

func newSplitCmd() *cobra.Command {
	var input, outTrain, outTest, dateCol, before string
	var ratio float64
	var seed uint64
	cmd := &cobra.Command{
		Use:   "split",
		Short: "Split a table into training and test files, at random or by date",
		Long: `Split a table into two CSV files, either at random (--ratio of the rows to
the training file, reproducible with --seed) or by date (rows whose
--date-column is before --before go to the training file, the rest to the
test file). Row order is kept within each file.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if outTrain == "" || outTest == "" {
				return invalidf("--output-train and --output-test are required")
			}
			if err := distinctPaths(map[string]string{"--input": input, "--output-train": outTrain, "--output-test": outTest}); err != nil {
				return err
			}
			byDate := dateCol != "" || before != ""
			ratioSet := cmd.Flags().Changed("ratio")
			switch {
			case byDate && ratioSet:
				return invalidf("use either --ratio or --date-column with --before, not both")
			case byDate && (dateCol == "" || before == ""):
				return invalidf("a date split needs both --date-column and --before")
			case !byDate && !(ratio > 0 && ratio < 1):
				return invalidf("--ratio %v: want a fraction between 0 and 1 (exclusive)", ratio)
			}
			f, err := readTable(input, "input")
			if err != nil {
				return err
			}
			var tr, te []int
			if byDate {
				cut, err := tabular.ParseTime(before)
				if err != nil {
					return cliError(err, "--before")
				}
				c := f.Column(dateCol)
				if c == nil {
					return invalidf("--date-column %q not found (columns: %s)", dateCol, strings.Join(f.Names(), ", "))
				}
				for i := range c.Len() {
					if c.IsMissing(i) {
						return invalidf("--date-column %q is empty in row %d", dateCol, i+1)
					}
					t, err := tabular.ParseTime(c.Text(i))
					if err != nil {
						return cliError(err, "--date-column %q row %d", dateCol, i+1)
					}
					if t.Before(cut) {
						tr = append(tr, i)
					} else {
						te = append(te, i)
					}
				}
			} else {
				n := f.NumRows()
				perm := rand.New(rand.NewPCG(seed, 0x5eed)).Perm(n)
				k := int(math.Round(ratio * float64(n)))
				tr, te = perm[:k], perm[k:]
				slices.Sort(tr)
				slices.Sort(te)
			}
			if err := writeCSVFile(outTrain, f.Take(tr)); err != nil {
				return err
			}
			if err := writeCSVFile(outTest, f.Take(te)); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "%d rows to %s, %d rows to %s\n", len(tr), outTrain, len(te), outTest)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&input, "input", "", "table to split (CSV or Parquet)")
	fl.StringVar(&outTrain, "output-train", "", "CSV file for the training rows")
	fl.StringVar(&outTest, "output-test", "", "CSV file for the test rows")
	fl.Float64Var(&ratio, "ratio", 0.8, "fraction of rows for training (random split)")
	fl.Uint64Var(&seed, "seed", 0, "random seed (random split)")
	fl.StringVar(&dateCol, "date-column", "", "date column (date split)")
	fl.StringVar(&before, "before", "", "rows dated before this go to training, e.g. 2014-01-01 (date split)")
	return cmd
}

// Expectation is one column's checks in a validation schema.
type Expectation struct {
	Name string `yaml:"name"`
	// Type is numeric, string (any values) or date (every value parses as a date).
	Type            string   `yaml:"type,omitempty"`
	NotNull         bool     `yaml:"not_null,omitempty"`
	MaxNullFraction *float64 `yaml:"max_null_fraction,omitempty"`
	Min             *float64 `yaml:"min,omitempty"`
	Max             *float64 `yaml:"max,omitempty"`
	Allowed         []string `yaml:"allowed,omitempty"`
}

// Schema is the file --schema reads.
type Schema struct {
	Columns           []Expectation `yaml:"columns"`
	MinRows           int           `yaml:"min_rows,omitempty"`
	AllowExtraColumns *bool         `yaml:"allow_extra_columns,omitempty"` // default true
}

// parseSchema reads a --schema file strictly: unknown keys are errors.
func parseSchema(b []byte) (*Schema, error) {
	var s Schema
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil && err != io.EOF {
		return nil, invalidf("schema: %v", err)
	}
	if len(s.Columns) == 0 {
		return nil, invalidf("schema: no columns to check")
	}
	for i, e := range s.Columns {
		if err := e.check(); err != nil {
			return nil, invalidf("schema: columns[%d]: %v", i, hangar.ErrorMessage(err))
		}
	}
	return &s, nil
}

func (e *Expectation) check() error {
	if e.Name == "" {
		return invalidf("column without a name")
	}
	switch e.Type {
	case "", "numeric", "string", "date":
	default:
		return invalidf("column %q: type %q, want numeric, string or date", e.Name, e.Type)
	}
	if f := e.MaxNullFraction; f != nil && !(*f >= 0 && *f <= 1) {
		return invalidf("column %q: max_null_fraction %v, want 0 to 1", e.Name, *f)
	}
	if e.Min != nil && e.Max != nil && *e.Min > *e.Max {
		return invalidf("column %q: min %v above max %v", e.Name, *e.Min, *e.Max)
	}
	return nil
}

// parseExpect reads one --expect: col:type,not_null,min=0,max=10,max_null=0.1,allowed=a|b.
func parseExpect(s string) (Expectation, error) {
	name, rest, _ := strings.Cut(s, ":")
	e := Expectation{Name: strings.TrimSpace(name)}
	for _, part := range splitList(rest) {
		key, val, hasVal := strings.Cut(part, "=")
		num := func() (*float64, error) {
			v, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
			if err != nil || !hasVal || math.IsNaN(v) {
				return nil, invalidf("--expect %q: %s needs a number", s, key)
			}
			return &v, nil
		}
		var err error
		switch key = strings.TrimSpace(key); key {
		case "numeric", "string", "date":
			e.Type = key
		case "not_null":
			e.NotNull = true
		case "min":
			e.Min, err = num()
		case "max":
			e.Max, err = num()
		case "max_null", "max_null_fraction":
			e.MaxNullFraction, err = num()
		case "allowed":
			e.Allowed = strings.Split(val, "|")
		default:
			return e, invalidf("--expect %q: unknown check %q (want numeric, string, date, not_null, min=, max=, max_null=, allowed=a|b)", s, key)
		}
		if err != nil {
			return e, err
		}
	}
	if err := e.check(); err != nil {
		return e, invalidf("--expect %q: %s", s, hangar.ErrorMessage(err))
	}
	return e, nil
}

// validateFrame checks the expectations and returns every failure.
func validateFrame(f *tabular.Frame, s *Schema) (checks int, failures []string) {
	fail := func(format string, args ...any) { failures = append(failures, fmt.Sprintf(format, args...)) }
	n := f.NumRows()
	if s.MinRows > 0 {
		checks++
		if n < s.MinRows {
			fail("table has %d rows, expected at least %d", n, s.MinRows)
		}
	}
	if s.AllowExtraColumns != nil && !*s.AllowExtraColumns {
		checks++
		for _, name := range f.Names() {
			if !slices.ContainsFunc(s.Columns, func(e Expectation) bool { return e.Name == name }) {
				fail("column %q is not in the schema", name)
			}
		}
	}
	for _, e := range s.Columns {
		checks++
		c := f.Column(e.Name)
		if c == nil {
			fail("column %q is missing", e.Name)
			continue
		}
		nulls := 0
		for i := range n {
			if c.IsMissing(i) {
				nulls++
			}
		}
		if e.NotNull {
			checks++
			if nulls > 0 {
				fail("column %q has %d missing values, expected none", e.Name, nulls)
			}
		}
		if e.MaxNullFraction != nil {
			checks++
			if frac := float64(nulls) / float64(max(n, 1)); frac > *e.MaxNullFraction {
				fail("column %q is %.4g missing, expected at most %.4g", e.Name, frac, *e.MaxNullFraction)
			}
		}
		switch e.Type {
		case "numeric":
			checks++
			if c.Kind != tabular.Numeric {
				fail("column %q is not numeric (e.g. %q)", e.Name, firstText(c))
				continue
			}
		case "date":
			checks++
			for i := range n {
				if !c.IsMissing(i) {
					if _, err := tabular.ParseTime(c.Text(i)); err != nil {
						fail("column %q is not a date: row %d is %q", e.Name, i+1, c.Text(i))
						break
					}
				}
			}
		case "string":
			checks++ // every column can be read as text
		}
		if e.Min != nil || e.Max != nil {
			checks++
			if c.Kind != tabular.Numeric {
				fail("column %q has a range check but is not numeric (e.g. %q)", e.Name, firstText(c))
			} else {
				lo, hi, below, above := math.Inf(1), math.Inf(-1), 0, 0
				for _, v := range c.Float {
					if math.IsNaN(v) {
						continue
					}
					lo, hi = min(lo, v), max(hi, v)
					if e.Min != nil && v < *e.Min {
						below++
					}
					if e.Max != nil && v > *e.Max {
						above++
					}
				}
				if below > 0 {
					fail("column %q has %d values below min %v (smallest %v)", e.Name, below, *e.Min, lo)
				}
				if above > 0 {
					fail("column %q has %d values above max %v (largest %v)", e.Name, above, *e.Max, hi)
				}
			}
		}
		if len(e.Allowed) > 0 {
			checks++
			bad := map[string]int{}
			for i := range n {
				if t := c.Text(i); !c.IsMissing(i) && !slices.Contains(e.Allowed, t) {
					bad[t]++
				}
			}
			if len(bad) > 0 {
				vals := slices.Sorted(func(yield func(string) bool) {
					for k := range bad {
						if !yield(k) {
							return
						}
					}
				})
				if len(vals) > 5 {
					vals = append(vals[:5], "…")
				}
				fail("column %q has values outside %v: %s", e.Name, e.Allowed, strings.Join(vals, ", "))
			}
		}
	}
	return checks, failures
}

func firstText(c *tabular.Column) string {
	for i := range c.Len() {
		if !c.IsMissing(i) {
			return c.Text(i)
		}
	}
	return ""
}

func newValidateCmd() *cobra.Command {
	var input, schemaPath string
	var expects []string
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "Check a table against a schema and data-quality expectations",
		Long: `Check a table against a schema and data-quality expectations: column
presence, types (numeric, string, date), missing values (not_null,
max_null_fraction), numeric ranges (min, max) and allowed values. Every
failed expectation is listed on stdout and the exit status is non-zero.

--schema FILE (YAML):
  columns:
    - {name: ridership, type: numeric, not_null: true, min: 0, max: 50}
    - {name: date, type: date}
    - {name: weather, type: string, max_null_fraction: 0.05, allowed: [rain, snow, clear]}
  min_rows: 100
  allow_extra_columns: true

--expect COL:CHECK,CHECK,… (repeatable), checks as above:
  --expect ridership:numeric,not_null,min=0,max=50 --expect date:date --expect weather:allowed=rain|snow,max_null=0.05`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s := &Schema{}
			if schemaPath != "" {
				b, err := os.ReadFile(schemaPath)
				if err != nil {
					return cliError(err, "--schema")
				}
				if s, err = parseSchema(b); err != nil {
					return cliError(err, "--schema %s", schemaPath)
				}
			}
			for _, x := range expects {
				e, err := parseExpect(x)
				if err != nil {
					return err
				}
				s.Columns = append(s.Columns, e)
			}
			if len(s.Columns) == 0 {
				return invalidf("nothing to check: give --schema or --expect")
			}
			f, err := readTable(input, "input")
			if err != nil {
				return err
			}
			checks, failures := validateFrame(f, s)
			out := cmd.OutOrStdout()
			for _, msg := range failures {
				fmt.Fprintln(out, "FAIL", msg)
			}
			if len(failures) > 0 {
				return invalidf("%s: %d of %d expectations failed", input, len(failures), checks)
			}
			fmt.Fprintf(out, "ok: %s passed %d expectations (%d rows)\n", input, checks, f.NumRows())
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&input, "input", "", "table to check (CSV or Parquet)")
	fl.StringVar(&schemaPath, "schema", "", "YAML schema file")
	fl.StringArrayVar(&expects, "expect", nil, "column expectation COL:CHECK,… (repeatable)")
	return cmd
}

// trackedMetric is one metric value at a step, for MLflow.
type trackedMetric struct {
	key   string
	value float64
	step  int
}

// track logs params and metrics to the MLflow run named by
// MLFLOW_TRACKING_URI and MLFLOW_RUN_ID; without them it does nothing.
func track(cmd *cobra.Command, params map[string]string, steps []trackedMetric, final map[string]float64) error {
	base, runID := builtinEnv("MLFLOW_TRACKING_URI"), builtinEnv("MLFLOW_RUN_ID")
	if base == "" || runID == "" {
		return nil
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return invalidf("MLFLOW_TRACKING_URI %q: want an http(s) URL", base)
	}
	type param struct {
		Key   string `json:"key"`
		Value string `json:"value"`
	}
	type metric struct {
		Key       string  `json:"key"`
		Value     float64 `json:"value"`
		Timestamp int64   `json:"timestamp"`
		Step      int     `json:"step"`
	}
	now := time.Now().UnixMilli()
	var ps []param
	for _, k := range slices.Sorted(maps.Keys(params)) {
		v := params[k]
		if len(v) > 6000 { // MLflow's limit on a param value
			v = v[:6000]
		}
		ps = append(ps, param{k, v})
	}
	var ms []metric
	for _, s := range steps {
		if !math.IsNaN(s.value) && !math.IsInf(s.value, 0) { // MLflow's JSON cannot carry them
			ms = append(ms, metric{s.key, s.value, now, s.step})
		}
	}
	for _, k := range slices.Sorted(maps.Keys(final)) {
		if !math.IsNaN(final[k]) && !math.IsInf(final[k], 0) {
			ms = append(ms, metric{"final_" + k, final[k], now, 0})
		}
	}
	endpoint := strings.TrimSuffix(base, "/") + "/api/2.0/mlflow/runs/log-batch"
	client := &http.Client{Timeout: 30 * time.Second}
	// MLflow accepts at most 100 params and 1000 metrics per request.
	for first := true; first || len(ps) > 0 || len(ms) > 0; first = false {
		body := map[string]any{"run_id": runID}
		// ... and at most 1000 params, metrics and tags together.
		np := min(len(ps), 100)
		nm := min(len(ms), 1000-np)
		body["params"], body["metrics"] = ps[:np], ms[:nm]
		ps, ms = ps[np:], ms[nm:]
		b, _ := json.Marshal(body)
		req, err := http.NewRequestWithContext(cmd.Context(), http.MethodPost, endpoint, bytes.NewReader(b))
		if err != nil {
			return cliError(err, "MLflow tracking")
		}
		req.Header.Set("Content-Type", "application/json")
		if tok := builtinEnv("MLFLOW_TRACKING_TOKEN"); tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := client.Do(req)
		if err != nil {
			return hangar.Errorf(hangar.EUNAVAILABLE, "model written, but logging to MLflow at %s failed: %v", base, err)
		}
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			return hangar.Errorf(hangar.EUNAVAILABLE, "model written, but MLflow at %s answered %s: %s", base, resp.Status, strings.TrimSpace(string(msg)))
		}
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "logged to MLflow run %s\n", runID)
	return nil
}

// distinctPaths refuses flags that name the same file, where writing one
// would overwrite another (or the input) without a word.
func distinctPaths(flags map[string]string) error {
	seen := map[string]string{}
	for _, flag := range slices.Sorted(maps.Keys(flags)) {
		abs, err := filepath.Abs(flags[flag])
		if err != nil {
			return cliError(err, "%s", flag)
		}
		if other, ok := seen[abs]; ok {
			return invalidf("%s and %s name the same file %s", other, flag, flags[flag])
		}
		seen[abs] = flag
	}
	return nil
}
