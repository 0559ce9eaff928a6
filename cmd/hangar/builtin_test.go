package main

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/mlmodel"
	"github.com/hangar-ml/hangar/tabular"
)

// runBuiltin executes `hangar builtin ARGS` in-process.
func runBuiltin(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := newBuiltinCmd()
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
	out, errOut, err := runBuiltin(t, args...)
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

func TestBuiltinErrors(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, filepath.Join(dir, "good.csv"), "x,y,date\n1,2,2001-01-01\n2,4,2001-01-02\n3,6,2001-01-03\n")
	nanLabel := writeFile(t, filepath.Join(dir, "nan.csv"), "x,y\n1,2\n2,NA\n")
	infLabel := writeFile(t, filepath.Join(dir, "inf.csv"), "x,y\n1,2\n2,inf\n")
	empty := writeFile(t, filepath.Join(dir, "empty.csv"), "x,y\n")
	three := writeFile(t, filepath.Join(dir, "three.csv"), "x,y\n1,a\n2,b\n3,c\n")
	model := filepath.Join(dir, "m")
	mustRun(t, "train-gbdt", "--train", good, "--label", "y", "--drop-columns", "date", "--output", model, "--n-estimators", "2")
	noX := writeFile(t, filepath.Join(dir, "nox.csv"), "y,z\n1,2\n")
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"label missing":     {[]string{"train-gbdt", "--train", good, "--label", "nope", "--output", model}, `label column "nope" not found`},
		"nan label":         {[]string{"train-gbdt", "--train", nanLabel, "--label", "y", "--output", model}, "row 2"},
		"inf label":         {[]string{"train-linear", "--train", infLabel, "--label", "y", "--output", model}, "finite"},
		"empty":             {[]string{"train-gbdt", "--train", empty, "--label", "y", "--output", model}, "no rows"},
		"unknown objective": {[]string{"train-gbdt", "--train", good, "--label", "y", "--output", model, "--objective", "reg:nope"}, `unknown objective "reg:nope"`},
		"string feature":    {[]string{"train-gbdt", "--train", good, "--label", "y", "--output", model}, `feature column "date" is not numeric`},
		"binary 3 classes":  {[]string{"train-gbdt", "--train", three, "--label", "y", "--output", model, "--objective", "binary:logistic"}, "two classes"},
		"no train file":     {[]string{"train-gbdt", "--train", filepath.Join(dir, "none.csv"), "--label", "y", "--output", model}, "no such file"},
		"predict column":    {[]string{"predict", "--model", model, "--input", noX, "--output", filepath.Join(dir, "p.csv")}, `no column "x"`},
		"no model":          {[]string{"predict", "--model", filepath.Join(dir, "nomodel"), "--input", good, "--output", filepath.Join(dir, "p.csv")}, "--model"},
		"split both":        {[]string{"split", "--input", good, "--output-train", "a", "--output-test", "b", "--ratio", "0.5", "--date-column", "date", "--before", "2001-01-02"}, "not both"},
		"split ratio":       {[]string{"split", "--input", good, "--output-train", "a", "--output-test", "b", "--ratio", "1.5"}, "--ratio"},
		"split bad date":    {[]string{"split", "--input", good, "--output-train", "a", "--output-test", "b", "--date-column", "x", "--before", "2001-01-02"}, "not a date"},
		"split same file":   {[]string{"split", "--input", good, "--output-train", filepath.Join(dir, "s.csv"), "--output-test", filepath.Join(dir, "s.csv")}, "name the same file"},
		"split over input":  {[]string{"split", "--input", good, "--output-train", good, "--output-test", filepath.Join(dir, "t.csv")}, "name the same file"},
		"keep-input clash":  {[]string{"predict", "--model", model, "--input", writeFile(t, filepath.Join(dir, "clash.csv"), "x,prediction\n1,2\n"), "--output", filepath.Join(dir, "p.csv"), "--keep-input"}, `already has a column "prediction"`},
		"duplicate feature": {[]string{"train-gbdt", "--train", good, "--label", "y", "--features", "x,x", "--output", model}, `names "x" twice`},
		"es without valid":  {[]string{"train-gbdt", "--train", good, "--label", "y", "--drop-columns", "date", "--output", model, "--early-stopping-rounds", "3"}, "validation set"},
	} {
		t.Run(name, func(t *testing.T) {
			_, _, err := runBuiltin(t, tc.args...)
			if err == nil || !strings.Contains(hangar.ErrorMessage(err), tc.want) {
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
			if err != nil && strings.Contains(hangar.ErrorMessage(err), "\n") {
				t.Errorf("error is not one line: %q", hangar.ErrorMessage(err))
			}
		})
	}
}

func TestBuiltinSplitRatio(t *testing.T) {
	dir := t.TempDir()
	run := func(seed string) (string, string) {
		a, b := filepath.Join(dir, "a"+seed+".csv"), filepath.Join(dir, "b"+seed+".csv")
		mustRun(t, "split", "--input", chicagoCSV, "--output-train", a, "--output-test", b, "--ratio", "0.8", "--seed", seed)
		ba, _ := os.ReadFile(a)
		bb, _ := os.ReadFile(b)
		return string(ba), string(bb)
	}
	a1, b1 := run("7")
	a2, _ := run("7")
	a3, _ := run("8")
	if a1 != a2 {
		t.Error("same seed, different split")
	}
	if a1 == a3 {
		t.Error("different seeds, same split")
	}
	ta, _ := tabular.ReadCSV(strings.NewReader(a1))
	tb, _ := tabular.ReadCSV(strings.NewReader(b1))
	if ta.NumRows() != 4558 || tb.NumRows() != 1140 {
		t.Errorf("split rows %d + %d, want 4558 + 1140", ta.NumRows(), tb.NumRows())
	}
	d := ta.Column("date").Str
	for i := 1; i < len(d); i++ {
		if d[i] < d[i-1] {
			t.Fatalf("row order not kept: %s after %s", d[i], d[i-1])
		}
	}
}

func TestBuiltinValidate(t *testing.T) {
	dir := t.TempDir()
	data := writeFile(t, filepath.Join(dir, "d.csv"), "n,s,d\n1,a,2001-01-01\n5,b,2001-13-01\n,c,\n100,a,2001-01-03\n")
	out, _ := mustRun(t, "validate", "--input", data, "--expect", "n:numeric,min=0,max=1000", "--expect", "s:allowed=a|b|c,not_null")
	if !strings.HasPrefix(out, "ok:") {
		t.Errorf("passing validate printed %q", out)
	}
	schema := writeFile(t, filepath.Join(dir, "schema.yml"), `columns:
  - {name: n, type: numeric, not_null: true, min: 0, max: 50}
  - {name: s, type: numeric, allowed: [a, b]}
  - {name: d, type: date, max_null_fraction: 0.1}
  - {name: missing}
min_rows: 10
allow_extra_columns: false
`)
	out, _, err := runBuiltin(t, "validate", "--input", data, "--schema", schema)
	if err == nil {
		t.Fatal("validate passed a bad table")
	}
	for _, want := range []string{
		`FAIL table has 4 rows, expected at least 10`,
		`FAIL column "n" has 1 missing values`,
		`FAIL column "n" has 1 values above max 50 (largest 100)`,
		`FAIL column "s" is not numeric`,
		`FAIL column "d" is 0.25 missing, expected at most 0.1`,
		`FAIL column "d" is not a date: row 2 is "2001-13-01"`,
		`FAIL column "missing" is missing`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(hangar.ErrorMessage(err), "7 of") {
		t.Errorf("error %q, want a count of 7 failures", hangar.ErrorMessage(err))
	}
	bad := writeFile(t, filepath.Join(dir, "bad.yml"), "columns:\n  - {name: n, tpye: numeric}\n")
	if _, _, err := runBuiltin(t, "validate", "--input", data, "--schema", bad); err == nil || !strings.Contains(err.Error(), "tpye") {
		t.Errorf("unknown schema key: got %v", err)
	}
	if _, _, err := runBuiltin(t, "validate", "--input", data, "--expect", "n:minimum=3"); err == nil || !strings.Contains(err.Error(), "unknown check") {
		t.Errorf("bad --expect: got %v", err)
	}
}

func TestBuiltinTracking(t *testing.T) {
	var mu sync.Mutex
	var bodies []map[string]any
	var auth []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/api/2.0/mlflow/runs/log-batch" {
			http.Error(w, "wrong route", http.StatusNotFound)
			return
		}
		b, _ := io.ReadAll(r.Body)
		var body map[string]any
		json.Unmarshal(b, &body)
		mu.Lock()
		bodies = append(bodies, body)
		auth = append(auth, r.Header.Get("Authorization"))
		mu.Unlock()
		w.Write([]byte("{}"))
	}))
	defer srv.Close()
	env := map[string]string{"MLFLOW_TRACKING_URI": srv.URL, "MLFLOW_RUN_ID": "run1", "MLFLOW_TRACKING_TOKEN": "tok"}
	builtinEnv = func(k string) string { return env[k] }
	t.Cleanup(func() { builtinEnv = os.Getenv })

	dir := t.TempDir()
	data := labelled(t, filepath.Join(dir, "d.csv"), []string{"a", "b"})
	mustRun(t, "train-gbdt", "--train", data, "--valid", data, "--label", "label", "--output", filepath.Join(dir, "m"),
		"--objective", "binary:logistic", "--n-estimators", "600", "--learning-rate", "0.01")
	if len(bodies) != 2 { // 1200 per-round metrics + finals: two requests of at most 1000
		t.Fatalf("got %d log-batch requests, want 2", len(bodies))
	}
	if auth[0] != "Bearer tok" {
		t.Errorf("Authorization %q, want Bearer tok", auth[0])
	}
	if bodies[0]["run_id"] != "run1" {
		t.Errorf("run_id %v", bodies[0]["run_id"])
	}
	params := bodies[0]["params"].([]any)
	found := false
	for _, p := range params {
		if pm := p.(map[string]any); pm["key"] == "learning_rate" && pm["value"] == "0.01" {
			found = true
		}
	}
	if !found {
		t.Errorf("params lack learning_rate=0.01: %v", params)
	}
	for i, b := range bodies { // MLflow's limit counts params, metrics and tags together
		if n := len(b["params"].([]any)) + len(b["metrics"].([]any)); n > 1000 {
			t.Errorf("request %d carries %d params and metrics; MLflow accepts at most 1000", i, n)
		}
	}
	metrics := append(bodies[0]["metrics"].([]any), bodies[1]["metrics"].([]any)...)
	if len(metrics) < 1200 {
		t.Errorf("got %d metrics, want 600 rounds × train and valid", len(metrics))
	}
	desc, _ := mlmodel.Read(filepath.Join(dir, "m"))
	if desc.RunID != "run1" {
		t.Errorf("MLmodel run_id %q, want run1", desc.RunID)
	}

	// evaluate logs its metrics too, under --metric-prefix.
	n0 := len(bodies)
	mustRun(t, "evaluate", "--model", filepath.Join(dir, "m"), "--input", data, "--label", "label", "--metric-prefix", "test_")
	if len(bodies) != n0+1 {
		t.Fatalf("evaluate sent %d log-batch requests, want 1", len(bodies)-n0)
	}
	var keys []string
	for _, m := range bodies[n0]["metrics"].([]any) {
		keys = append(keys, m.(map[string]any)["key"].(string))
	}
	if !slices.Contains(keys, "test_accuracy") || !slices.Contains(keys, "test_roc_auc") {
		t.Errorf("evaluate logged %v, want test_accuracy and test_roc_auc among them", keys)
	}

	// Without the variables, nothing is sent.
	env = map[string]string{}
	n := len(bodies)
	mustRun(t, "train-linear", "--train", data, "--label", "label", "--output", filepath.Join(dir, "l"), "--objective", "binary:logistic")
	if len(bodies) != n {
		t.Error("tracked without MLFLOW_TRACKING_URI")
	}
}

func FuzzParseExpect(f *testing.F) {
	for _, s := range []string{"n:numeric,min=0,max=1", "s:allowed=a|b,not_null,max_null=0.1", "d:date", ":", "x:min=nan"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := parseExpect(s)
		if err != nil {
			return
		}
		if e.Name == "" || (e.Min != nil && e.Max != nil && *e.Min > *e.Max) {
			t.Fatalf("accepted %q as %+v", s, e)
		}
	})
}

func FuzzParseSchema(f *testing.F) {
	f.Add("columns:\n  - {name: n, type: numeric, min: 0}\nmin_rows: 3\n")
	f.Add("columns: []\n")
	f.Fuzz(func(t *testing.T, s string) {
		sc, err := parseSchema([]byte(s))
		if err != nil {
			return
		}
		fr, _ := tabular.ReadCSV(strings.NewReader("n,s\n1,a\n"))
		validateFrame(fr, sc) // must not panic
	})
}

type pqRow struct {
	A     float64  `parquet:"a"`
	B     *float64 `parquet:"b,optional"`
	Label string   `parquet:"label"`
}

// TestBuiltinParquet trains on and scores Parquet files.
func TestBuiltinParquet(t *testing.T) {
	dir := t.TempDir()
	var rows []pqRow
	for i := range 200 {
		r := pqRow{A: float64(i % 20), Label: "small"}
		if i%20 >= 10 {
			r.Label = "large"
		}
		if i%3 != 0 {
			b := float64(i % 7)
			r.B = &b
		}
		rows = append(rows, r)
	}
	var buf bytes.Buffer
	if err := parquet.Write(&buf, rows); err != nil {
		t.Fatal(err)
	}
	data := writeFile(t, filepath.Join(dir, "d.parquet"), buf.String())
	model := filepath.Join(dir, "m")
	mustRun(t, "train-gbdt", "--train", data, "--label", "label", "--objective", "binary:logistic", "--output", model, "--n-estimators", "10")
	pred := filepath.Join(dir, "p.csv")
	mustRun(t, "predict", "--model", model, "--input", data, "--output", pred)
	pf := readCSV(t, pred)
	for i, r := range rows {
		if got := pf.Columns[0].Str[i]; got != r.Label {
			t.Fatalf("row %d: predicted %q, want %q", i, got, r.Label)
		}
	}
}
