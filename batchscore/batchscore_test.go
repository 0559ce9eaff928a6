package batchscore

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/linear"
	"github.com/hangar-ml/hangar/mlflow"
	"github.com/hangar-ml/hangar/tabular"
	"github.com/hangar-ml/hangar/train"
)

// fixture writes a labelled table (y = 2x + 1) in a folder of its own and
// trains a linear model folder on it.
func fixture(t *testing.T) (table, model string) {
	t.Helper()
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("x,y\n")
	for i := range 20 {
		b.WriteString(tabular.FormatFloat(float64(i)) + "," + tabular.FormatFloat(float64(2*i+1)) + "\n")
	}
	table = filepath.Join(dir, "data", "table.csv")
	if err := os.MkdirAll(filepath.Dir(table), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(table, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	model = filepath.Join(dir, "model")
	if _, err := train.Linear(t.Context(), train.Options{Train: table, Label: "y", Output: model}, linear.DefaultParams(), train.Progress{}); err != nil {
		t.Fatal(err)
	}
	return table, model
}

func TestPredict(t *testing.T) {
	table, model := fixture(t)
	dir := t.TempDir()
	clash, noX := filepath.Join(dir, "clash.csv"), filepath.Join(dir, "nox.csv")
	if err := os.WriteFile(clash, []byte("x,prediction\n1,2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(noX, []byte("y\n1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		o     PredictOptions
		names []string
	}{
		"file":       {PredictOptions{Model: model, Input: table}, []string{"prediction"}},
		"folder":     {PredictOptions{Model: model, Input: filepath.Dir(table)}, []string{"prediction"}},
		"keep input": {PredictOptions{Model: model, Input: table, KeepInput: true}, []string{"x", "y", "prediction"}},
	} {
		t.Run(name, func(t *testing.T) {
			o := tc.o
			o.Output = filepath.Join(dir, name, "out", "predictions.csv")
			res, err := Predict(t.Context(), o)
			if err != nil {
				t.Fatal(err)
			}
			f, err := tabular.ReadFile(o.Output)
			if err != nil {
				t.Fatal(err)
			}
			if res.Rows != 20 || f.NumRows() != 20 || !slices.Equal(f.Names(), tc.names) {
				t.Errorf("got %d rows, file %d rows of %v; want 20 of %v", res.Rows, f.NumRows(), f.Names(), tc.names)
			}
			p, _ := f.Float("prediction")
			if d := p[3] - 7; d > 0.1 || d < -0.1 {
				t.Errorf("prediction for x=3: got %v, want about 7", p[3])
			}
		})
	}
	for name, tc := range map[string]struct {
		o    PredictOptions
		code string
		msg  string
	}{
		"no output":    {PredictOptions{Model: model, Input: table}, hangar.EINVALID, "--output is required"},
		"no model":     {PredictOptions{Input: table, Output: "p.csv"}, hangar.EINVALID, "--model is required"},
		"no input":     {PredictOptions{Model: model, Output: "p.csv"}, hangar.EINVALID, "--input is required"},
		"column clash": {PredictOptions{Model: model, Input: clash, Output: filepath.Join(dir, "p.csv"), KeepInput: true}, hangar.EINVALID, `--keep-input: the input already has a column "prediction"`},
		"no feature":   {PredictOptions{Model: model, Input: noX, Output: filepath.Join(dir, "p.csv")}, hangar.EINVALID, `"x"`},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Predict(t.Context(), tc.o)
			if !hangar.IsCode(err, tc.code) || !strings.Contains(hangar.ErrorMessage(err), tc.msg) {
				t.Errorf("got %v, want %s containing %q", err, tc.code, tc.msg)
			}
		})
	}
	_, err := Predict(t.Context(), PredictOptions{Model: filepath.Join(dir, "nomodel"), Input: table, Output: filepath.Join(dir, "p.csv")})
	if !errors.Is(err, fs.ErrNotExist) || !strings.HasPrefix(err.Error(), "--model: ") {
		t.Errorf("missing model: got %v, want fs.ErrNotExist naming --model", err)
	}
}

// tracker records what it is asked to log and fails with err.
type tracker struct {
	metrics []mlflow.Metric
	err     error
}

func (tr *tracker) LogBatch(_ context.Context, ms []mlflow.Metric, _ []mlflow.Param, _ []mlflow.RunTag) error {
	tr.metrics = append(tr.metrics, ms...)
	return tr.err
}

func TestEvaluate(t *testing.T) {
	table, model := fixture(t)
	out := filepath.Join(t.TempDir(), "metrics", "metrics.json")
	tr := &tracker{}
	m, err := Evaluate(t.Context(), EvaluateOptions{Model: model, Input: filepath.Dir(table), Label: "y", Output: out, Tracker: tr, MetricPrefix: "test_"})
	if err != nil {
		t.Fatal(err)
	}
	if m["rmse"] > 0.1 || len(m) == 0 {
		t.Errorf("metrics %v, want rmse about 0", m)
	}
	b, err := os.ReadFile(out)
	if err != nil || string(b) != string(MarshalMetrics(m)) {
		t.Errorf("metrics file %q (%v), want %q", b, err, MarshalMetrics(m))
	}
	var keys []string
	for _, x := range tr.metrics {
		keys = append(keys, x.Key)
	}
	if !slices.IsSorted(keys) || len(keys) != len(m) || !slices.Contains(keys, "test_rmse") {
		t.Errorf("logged %v, want every metric sorted with prefix test_", keys)
	}

	failing := &tracker{err: hangar.Errorf(hangar.EUNAVAILABLE, "tracking server down")}
	m, err = Evaluate(t.Context(), EvaluateOptions{Model: model, Input: table, Label: "y", Tracker: failing})
	if m == nil || !hangar.IsCode(err, hangar.EUNAVAILABLE) {
		t.Errorf("failing tracker: got %v, %v; want the metrics and its error", m, err)
	}

	empty := filepath.Join(t.TempDir(), "empty.csv")
	if err := os.WriteFile(empty, []byte("x,y\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		o   EvaluateOptions
		msg string
	}{
		"no label":  {EvaluateOptions{Model: model, Input: table}, "--label is required"},
		"empty":     {EvaluateOptions{Model: model, Input: empty, Label: "y"}, "has no rows"},
		"bad label": {EvaluateOptions{Model: model, Input: table, Label: "z"}, `"z"`},
	} {
		t.Run(name, func(t *testing.T) {
			m, err := Evaluate(t.Context(), tc.o)
			if m != nil || !hangar.IsCode(err, hangar.EINVALID) || !strings.Contains(hangar.ErrorMessage(err), tc.msg) {
				t.Errorf("got %v, %v; want EINVALID containing %q", m, err, tc.msg)
			}
		})
	}
}
