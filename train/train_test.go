package train

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/gbdt"
	"github.com/hangar-ml/hangar/linear"
	"github.com/hangar-ml/hangar/mlflow"
	"github.com/hangar-ml/hangar/mlmodel"
	"github.com/hangar-ml/hangar/score"
	"github.com/hangar-ml/hangar/tabular"
)

func frame(t *testing.T, csv string) *tabular.Frame {
	t.Helper()
	f, err := tabular.ReadCSV(strings.NewReader(csv))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestPrepare(t *testing.T) {
	f := frame(t, "id,x,z,txt,y,kind,num3,neg\n1,1,2,a,0.5,low,1,-1\n2,2,3,b,1.5,high,2,1\n3,3,1,c,2.5,low,3,-1\n")
	for name, tc := range map[string]struct {
		label, objective string
		features, drop   []string
		want             *Inputs
	}{
		"all but the label and drop": {"y", hangar.ObjectiveRegSquaredError, nil, []string{"id", "txt", "kind"},
			&Inputs{Label: "y", Features: []string{"x", "z", "num3", "neg"}}},
		"features given": {"y", hangar.ObjectiveRegSquaredError, []string{"z", "x"}, nil, &Inputs{Label: "y", Features: []string{"z", "x"}}},
		"text classes in sorted order": {"kind", hangar.ObjectiveBinaryLogistic, []string{"x"}, nil,
			&Inputs{Label: "kind", Features: []string{"x"}, Classes: []string{"high", "low"}, Mapped: true}},
		"numbers 1..3 mapped": {"num3", hangar.ObjectiveMultiSoftprob, []string{"x"}, nil,
			&Inputs{Label: "num3", Features: []string{"x"}, Classes: []string{"1", "2", "3"}, Mapped: true}},
		"-1/1 mapped in numeric order": {"neg", hangar.ObjectiveBinaryLogistic, []string{"x"}, nil,
			&Inputs{Label: "neg", Features: []string{"x"}, Classes: []string{"-1", "1"}, Mapped: true}},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := Prepare(f, tc.label, tc.objective, tc.features, tc.drop)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	zeroOne := frame(t, "x,y\n1,0\n2,1\n3,2\n")
	in, err := Prepare(zeroOne, "y", hangar.ObjectiveMultiSoftmax, nil, nil)
	if err != nil || in.Mapped || !slices.Equal(in.Classes, []string{"0", "1", "2"}) {
		t.Errorf("labels 0..2: got %+v, %v; want classes 0,1,2 kept", in, err)
	}
}

func TestPrepareErrors(t *testing.T) {
	f := frame(t, "x,y,d,e,kind,one\n1,2,2001-01-01,a,p,k\n2,NA,2001-01-02,b,q,k\n3,inf,2001-01-03,c,r,k\n")
	for name, tc := range map[string]struct {
		label, objective string
		features, drop   []string
		want             string
	}{
		"no label":        {"nope", "", nil, nil, `label column "nope" not found in the training data (columns: x, y, d, e, kind, one)`},
		"drop unknown":    {"y", "", nil, []string{"q"}, `--drop-columns: column "q" not found`},
		"nothing left":    {"y", "", nil, []string{"x", "d", "e", "kind", "one"}, "no feature columns left after the label and --drop-columns"},
		"feature unknown": {"y", "", []string{"w"}, nil, `feature column "w" not found (columns: x, y, d, e, kind, one)`},
		"label feature":   {"y", "", []string{"x", "y"}, nil, `the label column "y" cannot also be a feature`},
		"twice":           {"y", "", []string{"x", "x"}, nil, `--features names "x" twice`},
		"one text":        {"y", "", []string{"x", "d"}, nil, `feature column "d" is not numeric (e.g. "2001-01-01"); drop it with --drop-columns d or choose --features`},
		"texts":           {"y", "", nil, nil, `4 feature columns are not numeric (d, e, kind, one; e.g. "2001-01-01" in d): drop them with --drop-columns d,e,kind,one or choose --features`},
		"missing label":   {"y", hangar.ObjectiveMultiSoftprob, []string{"x"}, nil, `label "y" is missing in row 2`},
		"three binary":    {"kind", hangar.ObjectiveBinaryLogistic, []string{"x"}, nil, `binary:logistic needs two classes, label "kind" has 3 (p, q, r…); use multi:softprob`},
		"one class":       {"one", hangar.ObjectiveMultiSoftprob, []string{"x"}, nil, `label "one" holds one class only (k); classification needs at least 2`},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Prepare(f, tc.label, tc.objective, tc.features, tc.drop)
			if hangar.ErrorCode(err) != hangar.EINVALID || hangar.ErrorMessage(err) != tc.want {
				t.Errorf("got %v\nwant EINVALID %q", err, tc.want)
			}
		})
	}
	inf := frame(t, "x,y\n1,0\n2,inf\n")
	if _, err := Prepare(inf, "y", hangar.ObjectiveBinaryLogistic, nil, nil); !strings.Contains(hangar.ErrorMessage(err), `label "y" in row 2 is +Inf; labels must be finite`) {
		t.Errorf("infinite label: got %v", err)
	}
}

// tracker records what a trainer logs.
type tracker struct {
	metrics []mlflow.Metric
	params  []mlflow.Param
	err     error
}

func (tr *tracker) LogBatch(_ context.Context, metrics []mlflow.Metric, params []mlflow.Param, tags []mlflow.RunTag) error {
	tr.metrics, tr.params = append(tr.metrics, metrics...), append(tr.params, params...)
	return tr.err
}

func writeCSV(t *testing.T, dir, name string, rows int, label func(i int) string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("day,x,z,y\n")
	for i := range rows {
		b.WriteString(strings.Join([]string{"2001-01-01", tabular.FormatFloat(float64(i % 12)), tabular.FormatFloat(float64(i % 5)), label(i)}, ",") + "\n")
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestGBDT(t *testing.T) {
	dir := t.TempDir()
	kind := func(i int) string {
		if i%12 >= 6 {
			return "high"
		}
		return "low"
	}
	data := writeCSV(t, dir, "d.csv", 120, kind)
	tr := &tracker{}
	var started []Started
	var rounds []gbdt.Progress
	var finished []Finished
	p := gbdt.DefaultParams()
	p.Objective, p.NEstimators, p.MinChildWeight = hangar.ObjectiveBinaryLogistic, 8, 0.1
	o := Options{Train: data, Valid: data, Label: "y", Drop: []string{"day"}, Output: filepath.Join(dir, "m"), RunID: "run7", Version: "v9", Tracker: tr}
	res, err := GBDT(t.Context(), o, p, Progress{
		Started:  func(s Started) { started = append(started, s) },
		Round:    func(pr gbdt.Progress) { rounds = append(rounds, pr) },
		Finished: func(f Finished) { finished = append(finished, f) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Started{{Objective: "binary:logistic", Rows: 120, Features: 2, ValidRows: 120}}, started); diff != "" {
		t.Errorf("Started (-want +got):\n%s", diff)
	}
	if len(rounds) != 8 || len(finished) != 1 || finished[0].Rounds != 8 || float64(finished[0].BestRound) != res.Metrics["best_iteration"] {
		t.Errorf("%d rounds reported, finished %+v, best_iteration %v", len(rounds), finished, res.Metrics["best_iteration"])
	}
	if !slices.Equal(res.Inputs.Classes, []string{"high", "low"}) || !res.Inputs.Mapped || len(res.History) != 8 {
		t.Errorf("inputs %+v, %d history entries", res.Inputs, len(res.History))
	}
	for _, k := range []string{"train_logloss", "valid_logloss", "valid_accuracy", "valid_roc_auc"} {
		if _, ok := res.Metrics[k]; !ok {
			t.Errorf("metrics lack %s: %v", k, res.Metrics)
		}
	}
	if res.Metrics["valid_accuracy"] != 1 {
		t.Errorf("valid_accuracy %v on separable data, want 1", res.Metrics["valid_accuracy"])
	}
	written, err := mlmodel.ReadMetrics(o.Output)
	if err != nil || !cmp.Equal(written, res.Metrics) {
		t.Errorf("metrics.json %v, %v; want %v", written, err, res.Metrics)
	}
	desc, err := mlmodel.Read(o.Output)
	if err != nil {
		t.Fatal(err)
	}
	_, fl, err := desc.Hangar()
	if err != nil || desc.RunID != "run7" || fl.HangarVersion != "v9" || fl.Label != "y" || !slices.Equal(fl.Classes, []string{"high", "low"}) {
		t.Errorf("MLmodel run %q, flavor %+v, %v", desc.RunID, fl, err)
	}
	outs, _ := desc.Signature.InputSpecs()
	if len(outs) != 2 || !strings.Contains(desc.Signature.Outputs, `"name":"probability"`) {
		t.Errorf("signature %+v", desc.Signature)
	}
	// The folder scores as the trained model does.
	loaded, err := score.Load(o.Output, 1)
	if err != nil {
		t.Fatal(err)
	}
	m, err := loaded.Evaluate(frame(t, mustRead(t, data)), "y")
	if err != nil || math.Abs(m["log_loss"]-res.Metrics["valid_log_loss"]) > 1e-4 {
		t.Errorf("loaded model: log_loss %v (%v), training-time valid_log_loss %v", m["log_loss"], err, res.Metrics["valid_log_loss"])
	}
	// Tracking: sorted params, a metric per round and set, then the finals.
	if len(tr.params) == 0 || !slices.IsSortedFunc(tr.params, func(a, b mlflow.Param) int { return strings.Compare(a.Key, b.Key) }) {
		t.Errorf("params %v, want them sorted by key", tr.params)
	}
	if !slices.Contains(tr.params, mlflow.Param{Key: "label", Value: "y"}) || !slices.Contains(tr.params, mlflow.Param{Key: "features", Value: "x,z"}) {
		t.Errorf("params lack label and features: %v", tr.params)
	}
	if got, want := len(tr.metrics), 8*2+len(res.Metrics); got != want {
		t.Errorf("logged %d metrics, want %d (8 rounds × train and valid, then the finals)", got, want)
	}
	if last := tr.metrics[len(tr.metrics)-1]; !strings.HasPrefix(last.Key, "final_") || last.Timestamp == 0 {
		t.Errorf("last metric %+v, want a final_ one with a timestamp", last)
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestLinear(t *testing.T) {
	dir := t.TempDir()
	data := writeCSV(t, dir, "d.csv", 60, func(i int) string { return tabular.FormatFloat(float64(2*(i%12) + i%5 + 1)) })
	p := linear.DefaultParams()
	p.L2 = 0
	var finished int
	res, err := Linear(t.Context(), Options{Train: data, Valid: data, Label: "y", Features: []string{"x", "z"}, Output: filepath.Join(dir, "lin")}, p,
		Progress{Finished: func(Finished) { finished++ }})
	if err != nil {
		t.Fatal(err)
	}
	if finished != 1 || res.Metrics["train_rmse"] > 1e-9 || res.Metrics["valid_rmse"] > 1e-9 || res.Metrics["valid_r2"] != 1 {
		t.Errorf("finished %d times, metrics %v; want an exact fit", finished, res.Metrics)
	}
	if res.Params["l2"] != "0" || res.Params["max_iter"] != "2000" || res.Params["objective"] != "reg:squarederror" {
		t.Errorf("params %v", res.Params)
	}
	if _, err := os.Stat(filepath.Join(dir, "lin", linear.ModelFile)); err != nil {
		t.Error(err)
	}
}

func TestTrainErrors(t *testing.T) {
	dir := t.TempDir()
	data := writeCSV(t, dir, "d.csv", 20, func(i int) string { return tabular.FormatFloat(float64(i)) })
	empty := filepath.Join(dir, "empty.csv")
	os.WriteFile(empty, []byte("day,x,z,y\n"), 0o644)
	out := filepath.Join(dir, "m")
	gp, lp := gbdt.DefaultParams(), linear.DefaultParams()
	badLinear := linear.DefaultParams()
	badLinear.Objective = "multi:softprob2"
	for name, tc := range map[string]struct {
		run  func() (*Result, error)
		want string
	}{
		"gbdt no output":   {func() (*Result, error) { return GBDT(t.Context(), Options{Train: data, Label: "y"}, gp, Progress{}) }, "--output is required"},
		"linear no output": {func() (*Result, error) { return Linear(t.Context(), Options{Train: data, Label: "y"}, lp, Progress{}) }, "--output is required"},
		"no label":         {func() (*Result, error) { return GBDT(t.Context(), Options{Train: data, Output: out}, gp, Progress{}) }, "--label is required"},
		"no train":         {func() (*Result, error) { return GBDT(t.Context(), Options{Label: "y", Output: out}, gp, Progress{}) }, "--train is required"},
		"empty train": {func() (*Result, error) {
			return GBDT(t.Context(), Options{Train: empty, Label: "y", Output: out}, gp, Progress{})
		}, "--train " + empty + " has no rows"},
		"empty valid": {func() (*Result, error) {
			return GBDT(t.Context(), Options{Train: data, Valid: empty, Label: "y", Drop: []string{"day"}, Output: out}, gp, Progress{})
		}, "--valid " + empty + " has no rows"},
		"linear objective": {func() (*Result, error) {
			return Linear(t.Context(), Options{Train: data, Label: "y", Output: out}, badLinear, Progress{})
		}, `unknown objective "multi:softprob2" for train-linear (want reg:squarederror, binary:logistic or multi:softmax)`},
	} {
		t.Run(name, func(t *testing.T) {
			res, err := tc.run()
			if res != nil || hangar.ErrorCode(err) != hangar.EINVALID || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, %v; want EINVALID containing %q", res, err, tc.want)
			}
		})
	}
	_, err := GBDT(t.Context(), Options{Train: filepath.Join(dir, "none.csv"), Label: "y", Output: out}, gp, Progress{})
	if !errors.Is(err, os.ErrNotExist) || !strings.HasPrefix(err.Error(), "--train: ") {
		t.Errorf("absent table: got %v, want a not-exist error naming --train", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = GBDT(ctx, Options{Train: data, Label: "y", Drop: []string{"day"}, Output: out}, gp, Progress{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: got %v, want context.Canceled", err)
	}
}

// TestTrackerFails: when only logging fails, the folder is complete and the
// result comes back with the error.
func TestTrackerFails(t *testing.T) {
	dir := t.TempDir()
	data := writeCSV(t, dir, "d.csv", 20, func(i int) string { return tabular.FormatFloat(float64(i)) })
	boom := hangar.Errorf(hangar.EUNAVAILABLE, "MLflow at http://x answered 503")
	p := gbdt.DefaultParams()
	p.NEstimators = 2
	o := Options{Train: data, Label: "y", Drop: []string{"day"}, Output: filepath.Join(dir, "m"), Tracker: &tracker{err: boom}}
	res, err := GBDT(t.Context(), o, p, Progress{})
	if res == nil || !errors.Is(err, boom) || err.Error() != "model written, but unavailable: MLflow at http://x answered 503" {
		t.Fatalf("got %v, %v; want the result and the tracker's error", res, err)
	}
	if !mlmodel.IsModelDir(o.Output) {
		t.Error("no model folder")
	}
}
