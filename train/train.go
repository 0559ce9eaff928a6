// Package train runs Hangar's built-in trainers end to end, as the
// `hangar builtin train-gbdt` and `train-linear` components do: read the
// training (and validation) tables, resolve the label, classes and
// features, train, compute the training and validation metrics, write the
// model folder (MLmodel, the model file and metrics.json) and log the
// parameters and metrics to a tracker. The trainers print nothing; a caller
// follows them through Progress.
//
// Errors name the component's inputs as its command line spells them
// (--train, --label, --drop-columns …): that is how the built-in components
// are called, from a shell or from a pipeline step.
package train

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/evaluate"
	"github.com/hangar-ml/hangar/gbdt"
	"github.com/hangar-ml/hangar/linear"
	"github.com/hangar-ml/hangar/mlflow"
	"github.com/hangar-ml/hangar/mlmodel"
	"github.com/hangar-ml/hangar/score"
	"github.com/hangar-ml/hangar/tabular"
)

// Options are what both trainers take besides their parameters.
type Options struct {
	Train  string // training table, CSV or Parquet (required)
	Valid  string // validation table, for metrics and early stopping; "" for none
	Label  string // label column (required)
	Output string // model folder to write (required)
	// Features are the feature columns; nil means every column but Label
	// and Drop.
	Features []string
	Drop     []string // columns to leave out
	RunID    string   // the MLflow run recorded in MLmodel; "" for none
	Version  string   // the Hangar version recorded in the flavor
	// Tracker receives the parameters and metrics once the model folder is
	// written; nil logs nowhere.
	Tracker Tracker
}

// Tracker logs a training's parameters and metrics to a run; *mlflow.Run
// is one.
type Tracker interface {
	LogBatch(ctx context.Context, metrics []mlflow.Metric, params []mlflow.Param, tags []mlflow.RunTag) error
}

var _ Tracker = (*mlflow.Run)(nil)

// Progress hears how a training goes; any field may be nil.
type Progress struct {
	// Started is called once the tables are read, before training.
	Started func(Started)
	// Round is called after each boosting round (GBDT only).
	Round func(gbdt.Progress)
	// Finished is called when training ends, before the metrics are
	// computed and the model folder is written.
	Finished func(Finished)
}

// Started says what a trainer is about to train on.
type Started struct {
	Objective string
	Rows      int // training rows
	Features  int
	ValidRows int // 0 without a validation table
}

// Finished says how a training went.
type Finished struct {
	Rounds    int // boosting rounds trained (GBDT only)
	BestRound int // the round the model keeps (GBDT only)
	Elapsed   time.Duration
}

// Result is what a trainer produced. The model folder holds the same.
type Result struct {
	Inputs *Inputs
	Model  *score.Model // the trained model, ready to score
	// Metrics are train_* and valid_* metrics (and best_iteration for
	// GBDT), as written to metrics.json.
	Metrics map[string]float64
	History []gbdt.Progress   // one entry per boosting round (GBDT only)
	Params  map[string]string // the parameters, as logged to the tracker
}

// GBDT trains gradient-boosted trees (package gbdt) with p and writes the
// model folder o.Output: MLmodel, model.json (XGBoost JSON) and
// metrics.json. With o.Valid it reports validation metrics, and
// p.EarlyStoppingRounds stops on them. p.NumClass is set from the classes.
// Errors: EINVALID for bad options, parameters or tables; gbdt.Train's
// errors and the context's; the file system's. When only the tracker
// fails, GBDT returns the result with the error: the folder is complete.
func GBDT(ctx context.Context, o Options, p gbdt.Params, progress Progress) (*Result, error) {
	if o.Output == "" {
		return nil, invalidf("--output is required")
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	in, train, valid, err := prepare(o, p.Objective)
	if err != nil {
		return nil, err
	}
	trainSet, err := dataset(in, train, "training")
	if err != nil {
		return nil, err
	}
	var validSet *gbdt.Dataset
	if valid != nil {
		if validSet, err = dataset(in, valid, "validation"); err != nil {
			return nil, err
		}
	}
	if hangar.IsMulticlass(p.Objective) {
		p.NumClass = len(in.Classes)
	}
	st := Started{Objective: p.Objective, Rows: train.NumRows(), Features: len(in.Features)}
	if valid != nil {
		st.ValidRows = valid.NumRows()
	}
	progress.started(st)
	start := time.Now()
	m, err := gbdt.Train(ctx, p, trainSet, validSet, func(pr gbdt.Progress) error {
		if progress.Round != nil {
			progress.Round(pr)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	progress.finished(Finished{Rounds: len(m.History), BestRound: m.BestIteration, Elapsed: time.Since(start)})

	res := &Result{Inputs: in, Model: score.NewGBDT(m, in.Classes), History: m.History}
	res.Metrics = map[string]float64{"best_iteration": float64(m.BestIteration)}
	last := m.History[m.BestIteration]
	res.Metrics["train_"+last.Metric] = last.Train
	if valid != nil {
		res.Metrics["valid_"+last.Metric] = last.Valid
		if err := addMetrics(res.Metrics, "valid_", res.Model, valid, validSet.Label); err != nil {
			return nil, fmt.Errorf("evaluate on --valid: %w", err)
		}
	}
	fl := mlmodel.Flavor{Data: gbdt.ModelFile, Format: mlmodel.FormatXGBoostJSON, Objective: p.Objective, NumClass: m.NumClass}
	if err := writeModelFolder(o, m.Write, mlmodel.FlavorGBDT, fl, in, res.Metrics); err != nil {
		return nil, err
	}

	res.Params = map[string]string{"features": strings.Join(in.Features, ","), "label": in.Label}
	for k, v := range p.Map() {
		res.Params[k] = fmt.Sprint(v)
	}
	var steps []mlflow.Metric
	for _, h := range m.History {
		steps = append(steps, mlflow.Metric{Key: "train_" + h.Metric, Value: mlflow.Double(h.Train), Step: mlflow.Int64(h.Iteration)})
		if !math.IsNaN(h.Valid) {
			steps = append(steps, mlflow.Metric{Key: "valid_" + h.Metric, Value: mlflow.Double(h.Valid), Step: mlflow.Int64(h.Iteration)})
		}
	}
	return res, track(ctx, o.Tracker, res.Params, steps, res.Metrics)
}

// Linear trains a regularised linear or logistic regression (package
// linear) with p and writes the model folder o.Output: MLmodel,
// linear.json and metrics.json, with training metrics and, with o.Valid,
// validation metrics. p.NumClass is set from the classes. Errors: as GBDT.
func Linear(ctx context.Context, o Options, p linear.Params, progress Progress) (*Result, error) {
	if o.Output == "" {
		return nil, invalidf("--output is required")
	}
	switch p.Objective {
	case hangar.ObjectiveRegSquaredError, hangar.ObjectiveBinaryLogistic, hangar.ObjectiveMultiSoftmax, hangar.ObjectiveMultiSoftprob:
	default:
		return nil, invalidf("unknown objective %q for train-linear (want %s, %s or %s)", p.Objective,
			hangar.ObjectiveRegSquaredError, hangar.ObjectiveBinaryLogistic, hangar.ObjectiveMultiSoftmax)
	}
	in, train, valid, err := prepare(o, p.Objective)
	if err != nil {
		return nil, err
	}
	y, err := in.Labels(train, "training")
	if err != nil {
		return nil, err
	}
	cols, err := train.Features(in.Features)
	if err != nil {
		return nil, fmt.Errorf("training data: %w", err)
	}
	if hangar.IsMulticlass(p.Objective) {
		p.NumClass = len(in.Classes)
	}
	st := Started{Objective: p.Objective, Rows: train.NumRows(), Features: len(in.Features)}
	if valid != nil {
		st.ValidRows = valid.NumRows()
	}
	progress.started(st)
	start := time.Now()
	m, err := linear.Train(ctx, p, &linear.Dataset{Features: in.Features, Columns: cols, Label: y})
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	progress.finished(Finished{Elapsed: time.Since(start)})

	res := &Result{Inputs: in, Model: score.NewLinear(m, in.Classes), Metrics: map[string]float64{}}
	if err := addMetrics(res.Metrics, "train_", res.Model, train, y); err != nil {
		return nil, fmt.Errorf("evaluate on --train: %w", err)
	}
	if valid != nil {
		vy, err := in.Labels(valid, "validation")
		if err != nil {
			return nil, err
		}
		if _, err := valid.Features(in.Features); err != nil {
			return nil, fmt.Errorf("validation data: %w", err)
		}
		if err := addMetrics(res.Metrics, "valid_", res.Model, valid, vy); err != nil {
			return nil, fmt.Errorf("evaluate on --valid: %w", err)
		}
	}
	fl := mlmodel.Flavor{Data: linear.ModelFile, Format: mlmodel.FormatLinearJSON, Objective: p.Objective, NumClass: m.NumClass}
	if err := writeModelFolder(o, m.Write, mlmodel.FlavorLinear, fl, in, res.Metrics); err != nil {
		return nil, err
	}
	res.Params = map[string]string{
		"objective": p.Objective, "l2": fmt.Sprint(p.L2), "l1": fmt.Sprint(p.L1),
		"max_iter": fmt.Sprint(p.MaxIter), "features": strings.Join(in.Features, ","), "label": in.Label,
	}
	return res, track(ctx, o.Tracker, res.Params, nil, res.Metrics)
}

func (p Progress) started(s Started) {
	if p.Started != nil {
		p.Started(s)
	}
}

func (p Progress) finished(f Finished) {
	if p.Finished != nil {
		p.Finished(f)
	}
}

// dataset takes a trainer's columns from a table.
func dataset(in *Inputs, f *tabular.Frame, what string) (*gbdt.Dataset, error) {
	y, err := in.Labels(f, what)
	if err != nil {
		return nil, err
	}
	cols, err := f.Features(in.Features)
	if err != nil {
		return nil, fmt.Errorf("%s data: %w", what, err)
	}
	return &gbdt.Dataset{Features: in.Features, Columns: cols, Label: y}, nil
}

// addMetrics scores f with m and adds its metrics against labels y
// (values, or class indices) to metrics under prefix.
func addMetrics(metrics map[string]float64, prefix string, m *score.Model, f *tabular.Frame, y []float64) error {
	out, err := m.Outputs(f)
	if err != nil {
		return err
	}
	got, err := evaluate.ForObjective(m.Objective(), m.NumOutputs(), y, out)
	if err != nil {
		return err
	}
	for k, v := range got {
		metrics[prefix+k] = v
	}
	return nil
}

// track logs the parameters, the per-round metrics and the final metrics
// (as final_<name>) to t, when there is one.
func track(ctx context.Context, t Tracker, params map[string]string, steps []mlflow.Metric, final map[string]float64) error {
	if t == nil {
		return nil
	}
	now := mlflow.Int64(time.Now().UnixMilli())
	var ps []mlflow.Param
	for _, k := range slices.Sorted(maps.Keys(params)) {
		ps = append(ps, mlflow.Param{Key: k, Value: params[k]})
	}
	ms := slices.Clone(steps)
	for i := range ms {
		ms[i].Timestamp = now
	}
	for _, k := range slices.Sorted(maps.Keys(final)) {
		ms = append(ms, mlflow.Metric{Key: "final_" + k, Value: mlflow.Double(final[k]), Timestamp: now})
	}
	if err := t.LogBatch(ctx, ms, ps, nil); err != nil {
		return fmt.Errorf("model written, but %w", err)
	}
	return nil
}

// writeModelFolder writes a model folder: the model file (writeModel), the
// MLmodel descriptor (flavor, signature, label and class mapping, the MLflow
// run) and metrics.json.
func writeModelFolder(o Options, writeModel func(string) error, flavor string, fl mlmodel.Flavor, in *Inputs, metrics map[string]float64) error {
	if err := writeModel(o.Output); err != nil {
		return err
	}
	desc := mlmodel.New(time.Now())
	desc.RunID = o.RunID
	desc.Signature = signature(in.Features, outputSpecs(fl.Objective, in.Classes))
	fl.Label, fl.HangarVersion = in.Label, o.Version
	if in.Mapped {
		fl.Classes = in.Classes
	}
	desc.SetFlavor(flavor, fl)
	if err := desc.Write(o.Output); err != nil {
		return err
	}
	return mlmodel.WriteMetrics(o.Output, metrics)
}

// signature returns the MLflow signature of a model over the features.
func signature(features []string, outputs []mlmodel.ColSpec) *mlmodel.Signature {
	in := make([]mlmodel.ColSpec, len(features))
	for i, f := range features {
		in[i] = mlmodel.ColSpec{Type: "double", Name: f}
	}
	return mlmodel.NewSignature(in, outputs)
}

// outputSpecs are the columns score.Model.Predict returns for the model.
func outputSpecs(objective string, classes []string) []mlmodel.ColSpec {
	out := []mlmodel.ColSpec{{Type: "double", Name: "prediction"}}
	if hangar.IsClassification(objective) {
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
