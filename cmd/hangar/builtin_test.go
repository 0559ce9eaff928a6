package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hangar-ml/hangar/mlmodel"
	"github.com/hangar-ml/hangar/tabular"
)

// runBuiltin executes `hangar builtin ARGS` in-process with an empty
// environment.
func runBuiltin(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	return runBuiltinEnv(t, func(string) string { return "" }, args...)
}

// runBuiltinEnv executes `hangar builtin ARGS` in-process with getenv as
// its environment.
func runBuiltinEnv(t *testing.T, getenv env, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := newBuiltinCmd(getenv)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	var out, errb bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SetArgs(args)
	err = cmd.ExecuteContext(t.Context())
	return out.String(), errb.String(), err
}

func mustRun(t *testing.T, args ...string) (string, string) {
	t.Helper()
	return mustRunEnv(t, func(string) string { return "" }, args...)
}

func mustRunEnv(t *testing.T, getenv env, args ...string) (string, string) {
	t.Helper()
	out, errOut, err := runBuiltinEnv(t, getenv, args...)
	if err != nil {
		t.Fatalf("builtin %s: %v\nstderr:\n%s", strings.Join(args, " "), err, errOut)
	}
	return out, errOut
}

func readCSV(t *testing.T, path string) *tabular.Frame {
	t.Helper()
	f, err := tabular.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

const chicagoCSV = "../../testdata/chicago/chicago.csv"

func TestBuiltinChicagoRegression(t *testing.T) {
	dir := t.TempDir()
	tr, te, model := filepath.Join(dir, "train.csv"), filepath.Join(dir, "test.csv"), filepath.Join(dir, "model")
	_, msg := mustRun(t, "split", "--input", chicagoCSV, "--output-train", tr, "--output-test", te, "--date-column", "date", "--before", "2014-01-01")
	if !strings.Contains(msg, "4727 rows to") || !strings.Contains(msg, "971 rows to") {
		t.Errorf("split said %q, want 4727 and 971 rows", msg)
	}
	_, progress := mustRun(t, "train-gbdt", "--train", tr, "--valid", te, "--label", "ridership", "--drop-columns", "date",
		"--output", model, "--n-estimators", "60", "--learning-rate", "0.2", "--log-every", "20", "--threads", "2")
	for _, want := range []string{"[0]\ttrain-rmse:", "[20]\ttrain-rmse:", "valid-rmse:", "trained 60 rounds"} {
		if !strings.Contains(progress, want) {
			t.Errorf("progress lacks %q:\n%s", want, progress)
		}
	}
	desc, err := mlmodel.Read(model)
	if err != nil {
		t.Fatal(err)
	}
	if _, fl, err := desc.Hangar(); err != nil || fl.Data != "model.json" || fl.Label != "ridership" {
		t.Errorf("flavor: %+v, %v", fl, err)
	}
	cols, _ := desc.Signature.InputSpecs()
	if len(cols) != 48 || cols[0].Name != "Austin" {
		t.Errorf("signature inputs: %d columns, first %+v; want 48 starting with Austin", len(cols), cols[0])
	}
	metrics, err := mlmodel.ReadMetrics(model)
	if err != nil {
		t.Fatal(err)
	}
	if metrics["valid_rmse"] <= 0 || metrics["valid_rmse"] > 5 || metrics["valid_r2"] < 0.6 {
		t.Errorf("metrics %v: want valid_rmse in (0, 5] and r2 >= 0.6", metrics)
	}

	// predict: extra input columns (date, ridership) are ignored.
	pred := filepath.Join(dir, "pred.csv")
	mustRun(t, "predict", "--model", model, "--input", te, "--output", pred)
	pf := readCSV(t, pred)
	if pf.NumRows() != 971 || len(pf.Columns) != 1 || pf.Columns[0].Name != "prediction" {
		t.Fatalf("predictions: %d rows, columns %v", pf.NumRows(), pf.Names())
	}
	// The same predictions through the XGBoost file itself.
	pred2 := filepath.Join(dir, "pred2.csv")
	mustRun(t, "predict", "--model", filepath.Join(model, "model.json"), "--input", te, "--output", pred2)
	p1, p2 := pf.Columns[0].Float, readCSV(t, pred2).Columns[0].Float
	for i := range p1 {
		if p1[i] != p2[i] {
			t.Fatalf("row %d: folder predicts %v, model.json %v", i, p1[i], p2[i])
		}
	}

	// evaluate agrees with the validation metrics written at training time.
	mfile := filepath.Join(dir, "eval.json")
	out, _ := mustRun(t, "evaluate", "--model", model, "--input", te, "--label", "ridership", "--output", mfile)
	var got map[string]float64
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("evaluate output %q: %v", out, err)
	}
	if math.Abs(got["rmse"]-metrics["valid_rmse"]) > 1e-4 {
		t.Errorf("evaluate rmse %v, training-time valid_rmse %v", got["rmse"], metrics["valid_rmse"])
	}
	if b, _ := os.ReadFile(mfile); string(b) != out {
		t.Errorf("--output file differs from stdout")
	}
}

// labelled writes a small classification table: x decides the class.
func labelled(t *testing.T, path string, labels []string) string {
	var b strings.Builder
	b.WriteString("id,x,noise,label\n")
	for i := range 300 {
		k := i % len(labels)
		x := float64(k)*10 + float64(i%7)
		b.WriteString(strings.Join([]string{tabular.FormatFloat(float64(i)), tabular.FormatFloat(x), tabular.FormatFloat(float64((i * 37) % 11)), labels[k]}, ",") + "\n")
	}
	return writeFile(t, path, b.String())
}

func TestBuiltinStringLabels(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		trainer, objective string
		labels             []string
		wantCols           []string
	}{
		{"train-gbdt", "binary:logistic", []string{"yes", "no"}, []string{"prediction", "probability"}},
		{"train-gbdt", "multi:softprob", []string{"setosa", "virginica", "versicolor"}, []string{"prediction", "prob_setosa", "prob_versicolor", "prob_virginica"}},
		{"train-gbdt", "multi:softmax", []string{"3", "1", "2"}, []string{"prediction", "prob_1", "prob_2", "prob_3"}},
		{"train-linear", "binary:logistic", []string{"-1", "1"}, []string{"prediction", "probability"}},
		{"train-linear", "multi:softmax", []string{"a", "b", "c", "d"}, []string{"prediction", "prob_a", "prob_b", "prob_c", "prob_d"}},
	} {
		t.Run(tc.trainer+"/"+tc.objective, func(t *testing.T) {
			data := labelled(t, filepath.Join(dir, "d.csv"), tc.labels)
			model := filepath.Join(dir, "m-"+tc.trainer+tc.objective)
			args := []string{tc.trainer, "--train", data, "--label", "label", "--drop-columns", "id", "--output", model, "--objective", tc.objective}
			if tc.trainer == "train-gbdt" {
				args = append(args, "--n-estimators", "20", "--min-child-weight", "0.1")
			}
			mustRun(t, args...)
			pred := filepath.Join(dir, "p.csv")
			mustRun(t, "predict", "--model", model, "--input", data, "--output", pred)
			pf := readCSV(t, pred)
			if strings.Join(pf.Names(), ",") != strings.Join(tc.wantCols, ",") {
				t.Fatalf("columns %v, want %v", pf.Names(), tc.wantCols)
			}
			truth := readCSV(t, data).Column("label")
			right := 0
			for i := range pf.NumRows() {
				if pf.Columns[0].Text(i) == truth.Text(i) {
					right++
				}
			}
			if acc := float64(right) / float64(pf.NumRows()); acc < 0.95 {
				t.Errorf("accuracy on the training data %.3f, want >= 0.95", acc)
			}
			out, _ := mustRun(t, "evaluate", "--model", model, "--input", data, "--label", "label")
			var m map[string]float64
			json.Unmarshal([]byte(out), &m)
			if m["accuracy"] < 0.95 || m["log_loss"] <= 0 {
				t.Errorf("evaluate: %v", m)
			}
		})
	}
}

func TestBuiltinLinearRegression(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("a,b,y\n")
	for i := range 200 {
		a, c := float64(i%17), float64((i*7)%23)
		b.WriteString(tabular.FormatFloat(a) + "," + tabular.FormatFloat(c) + "," + tabular.FormatFloat(3*a-2*c+5) + "\n")
	}
	data := writeFile(t, filepath.Join(dir, "d.csv"), b.String())
	model := filepath.Join(dir, "lin")
	mustRun(t, "train-linear", "--train", data, "--label", "y", "--output", model, "--l2", "0")
	m, _ := mlmodel.ReadMetrics(model)
	if m["train_rmse"] > 1e-6 {
		t.Errorf("exact linear data: train_rmse %v, want ~0", m["train_rmse"])
	}
	in := writeFile(t, filepath.Join(dir, "in.csv"), "b,extra,a\n1,x,2\n")
	pred := filepath.Join(dir, "p.csv")
	mustRun(t, "predict", "--model", model, "--input", in, "--output", pred, "--keep-input")
	pf := readCSV(t, pred)
	if got := pf.Column("prediction").Float[0]; math.Abs(got-9) > 1e-6 {
		t.Errorf("prediction %v, want 3*2-2*1+5 = 9", got)
	}
	if strings.Join(pf.Names(), ",") != "b,extra,a,prediction" {
		t.Errorf("--keep-input columns %v", pf.Names())
	}
}
