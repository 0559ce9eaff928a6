package score

import (
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/tabular"
)

func readTable(t *testing.T, path string) *tabular.Frame {
	t.Helper()
	f, err := tabular.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func csv(t *testing.T, s string) *tabular.Frame {
	t.Helper()
	f, err := tabular.ReadCSV(strings.NewReader(s))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestLoad(t *testing.T) {
	for _, tc := range []struct {
		path      string
		objective string
		features  []string
		classes   []string
		columns   []string
	}{
		{"testdata/gbdt-binary", hangar.ObjectiveBinaryLogistic, []string{"x", "z"}, []string{"high", "low"}, []string{"prediction", "probability"}},
		{"testdata/gbdt-binary/model.json", hangar.ObjectiveBinaryLogistic, []string{"x", "z"}, []string{"0", "1"}, []string{"prediction", "probability"}},
		{"testdata/linear-multiclass", hangar.ObjectiveMultiSoftmax, []string{"a", "b"}, []string{"c0", "c1", "c2"}, []string{"prediction", "prob_c0", "prob_c1", "prob_c2"}},
		{"testdata/linear-multiclass/linear.json", hangar.ObjectiveMultiSoftmax, []string{"a", "b"}, []string{"0", "1", "2"}, []string{"prediction", "prob_0", "prob_1", "prob_2"}},
		{"testdata/lightgbm-multiclass.txt", hangar.ObjectiveMultiSoftprob, []string{"x"}, []string{"0", "1", "2"}, []string{"prediction", "prob_0", "prob_1", "prob_2"}},
	} {
		t.Run(tc.path, func(t *testing.T) {
			m, err := Load(tc.path, 1)
			if err != nil {
				t.Fatal(err)
			}
			if m.Objective() != tc.objective || !slices.Equal(m.Features(), tc.features) || !slices.Equal(m.Classes(), tc.classes) {
				t.Fatalf("got %s over %v with classes %v; want %s over %v with %v", m.Objective(), m.Features(), m.Classes(), tc.objective, tc.features, tc.classes)
			}
			in := csv(t, "a,b,x,z,extra\n1,2,3,4,q\n,,,,\n")
			pred, err := m.Predict(in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.columns, pred.Names()); diff != "" {
				t.Fatalf("columns (-want +got):\n%s", diff)
			}
			for i := range pred.NumRows() {
				if !slices.Contains(tc.classes, pred.Columns[0].Str[i]) {
					t.Errorf("row %d predicts %q, not a class", i, pred.Columns[0].Str[i])
				}
				sum := 0.0
				for _, c := range pred.Columns[1:] {
					sum += c.Float[i]
				}
				if len(pred.Columns) > 2 && math.Abs(sum-1) > 1e-6 {
					t.Errorf("row %d: probabilities sum to %v", i, sum)
				}
			}
		})
	}
}

func TestPredictRegression(t *testing.T) {
	dir := t.TempDir()
	lin := `{"format":"hangar-linear","version":1,"objective":"reg:squarederror","features":["a","b"],"mean":[0,0],"scale":[1,2],"coef":[[3,4]],"intercept":[1]}`
	if err := os.WriteFile(filepath.Join(dir, "linear.json"), []byte(lin), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := Load(dir, 0) // a folder with linear.json and no MLmodel
	if err != nil {
		t.Fatal(err)
	}
	pred, err := m.Predict(csv(t, "b,a\n2,1\n,1\n"))
	if err != nil {
		t.Fatal(err)
	}
	// 1 + 3·1 + 4·2/2 = 8; a missing b counts as its mean.
	if got := pred.Column("prediction").Float; pred.Columns[0].Kind != tabular.Numeric || !slices.Equal(got, []float64{8, 4}) {
		t.Errorf("predictions %v, want [8 4]", got)
	}
	if m.Classes() != nil {
		t.Errorf("classes %v for a regression", m.Classes())
	}
}

func TestOutputsErrors(t *testing.T) {
	m, err := Load("testdata/gbdt-binary", 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.Predict(csv(t, "z,y\n1,2\n"))
	if hangar.ErrorCode(err) != hangar.EINVALID || hangar.ErrorMessage(err) != `input has no column "x", which the model needs (model features: x, z)` {
		t.Errorf("missing column: got %v", err)
	}
	_, err = m.Predict(csv(t, "x,z\n1,a\n"))
	if hangar.ErrorCode(err) != hangar.EINVALID || !strings.Contains(err.Error(), `input: `) || !strings.Contains(err.Error(), `"z" is not numeric`) {
		t.Errorf("text column: got %v", err)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	model, _ := os.ReadFile("testdata/gbdt-binary/model.json")
	write("three/model.json", string(model))
	write("three/MLmodel", "flavors:\n  hangar_gbdt: {data: model.json, objective: binary:logistic, classes: [a, b, c]}\n")
	write("lies/model.json", string(model))
	write("lies/MLmodel", "flavors:\n  hangar_gbdt: {data: model.json, objective: multi:softprob, classes: [a, b, c]}\n")
	lgb, _ := os.ReadFile("testdata/lightgbm-multiclass.txt")
	write("two/model.txt", string(lgb))
	write("two/MLmodel", "flavors:\n  hangar_gbdt: {data: model.txt, objective: binary:logistic, classes: [a, b]}\n")
	write("noflavor/MLmodel", "flavors:\n  python_function: {loader_module: x}\n")
	write("escape/MLmodel", "flavors:\n  hangar_gbdt: {data: ../model.json}\n")
	write("itself/MLmodel", "flavors:\n  hangar_gbdt: {data: .}\n")
	write("sub/MLmodel", "flavors:\n  hangar_linear: {data: inner}\n")
	write("sub/inner/MLmodel", "flavors:\n  hangar_linear: {data: .}\n")
	os.Mkdir(filepath.Join(dir, "empty"), 0o755)
	for name, tc := range map[string]struct{ path, want string }{
		"binary, three classes":          {"three", "lists 3 classes for a binary:logistic model with 1 outputs"},
		"flavor objective lies":          {"lies", "lists 3 classes for a binary:logistic model with 1 outputs"},
		"multiclass model, two classes":  {"two", "lists 2 classes for a multi:softprob model with 3 outputs"},
		"no hangar flavor":               {"noflavor", "no hangar_gbdt or hangar_linear flavor"},
		"data outside the folder":        {"escape", "must be a relative path inside the model folder"},
		"data is the folder":             {"itself", "is not a model file"},
		"data is a folder":               {"sub", "inner is not a model file"},
		"folder without a model":         {"empty", "is a folder without MLmodel, model.json or linear.json"},
		"not a model":                    {write("x.csv", "a,b\n1,2\n"), "unknown model format"},
		"linear.json with a wrong shape": {write("bad.json", `{"format":"hangar-linear","objective":"reg:squarederror","features":["a"]}`), "inconsistent shapes"},
	} {
		t.Run(name, func(t *testing.T) {
			p := tc.path
			if !filepath.IsAbs(p) {
				p = filepath.Join(dir, p)
			}
			_, err := Load(p, 0)
			if hangar.ErrorCode(err) != hangar.EINVALID || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want EINVALID containing %q", err, tc.want)
			}
		})
	}
	if _, err := Load(filepath.Join(dir, "nothing"), 0); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("absent path: got %v, want fs.ErrNotExist", err)
	}
}

func TestEvaluate(t *testing.T) {
	m, err := Load("testdata/linear-multiclass", 0)
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.Evaluate(readTable(t, "testdata/mc.csv"), "c")
	if err != nil {
		t.Fatal(err)
	}
	if got["accuracy"] != 1 || got["log_loss"] <= 0 {
		t.Errorf("metrics %v, want accuracy 1 and a log loss", got)
	}
	g, err := Load("testdata/gbdt-binary", 0)
	if err != nil {
		t.Fatal(err)
	}
	got, err = g.Evaluate(readTable(t, "testdata/data.csv"), "kind")
	if err != nil || got["accuracy"] < 0.9 || got["roc_auc"] < 0.9 {
		t.Errorf("binary metrics %v, %v; want accuracy and ROC AUC >= 0.9", got, err)
	}
	for name, tc := range map[string]struct{ csv, label, want string }{
		"no label":      {"a,b\n1,2\n", "c", `label column "c" not found in the input data (columns: a, b)`},
		"unknown class": {"a,b,c\n1,2,c9\n", "c", `label "c" in row 1 of the input data is "c9", a class the training data does not have (c0, c1, c2)`},
		"missing label": {"a,b,c\n1,2,NA\n", "c", `label "c" is missing in row 1 of the input data`},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := m.Evaluate(csv(t, tc.csv), tc.label)
			if hangar.ErrorCode(err) != hangar.EINVALID || hangar.ErrorMessage(err) != tc.want {
				t.Errorf("got %v, want EINVALID %q", err, tc.want)
			}
		})
	}
}

func TestLabels(t *testing.T) {
	f := csv(t, "y,t,n\n1.5,b,NA\n-2,a,3\n")
	for _, tc := range []struct {
		label   string
		classes []string
		want    []float64
		err     string
	}{
		{"y", nil, []float64{1.5, -2}, ""},
		{"t", []string{"a", "b"}, []float64{1, 0}, ""},
		{"y", []string{"-2", "1.5"}, []float64{1, 0}, ""},
		{"t", nil, nil, `label column "t" is not numeric (e.g. "b"); a regression needs numbers`},
		{"n", nil, nil, `label "n" in row 1 of the validation data is missing (NaN); labels must be finite numbers`},
		{"t", []string{"a"}, nil, `label "t" in row 1 of the validation data is "b", a class the training data does not have (a)`},
		{"q", nil, nil, `label column "q" not found in the validation data (columns: y, t, n)`},
	} {
		got, err := Labels(f, tc.label, tc.classes, "validation")
		if tc.err != "" {
			if hangar.ErrorCode(err) != hangar.EINVALID || hangar.ErrorMessage(err) != tc.err {
				t.Errorf("Labels(%s, %v): got %v, want %q", tc.label, tc.classes, err, tc.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("Labels(%s, %v): got %v, %v; want %v", tc.label, tc.classes, got, err, tc.want)
		}
	}
}

// FuzzLoadFolder loads model folders from outside (an upload, a registry
// download): an MLmodel and a model file. Whatever Load accepts scores a
// table without panicking.
func FuzzLoadFolder(f *testing.F) {
	for _, dir := range []string{"testdata/gbdt-binary", "testdata/linear-multiclass"} {
		desc, err := os.ReadFile(filepath.Join(dir, "MLmodel"))
		if err != nil {
			f.Fatal(err)
		}
		paths, _ := filepath.Glob(filepath.Join(dir, "*.json"))
		model, err := os.ReadFile(paths[0])
		if err != nil {
			f.Fatal(err)
		}
		f.Add(desc, model)
	}
	lgb, err := os.ReadFile("testdata/lightgbm-multiclass.txt")
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte("flavors:\n  hangar_gbdt: {data: model.json, objective: multi:softprob, classes: [a, b, c]}\n"), lgb)
	f.Fuzz(func(t *testing.T, desc, model []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "MLmodel"), desc, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "model.json"), model, 0o644); err != nil {
			t.Fatal(err)
		}
		m, err := Load(dir, 1)
		if err != nil {
			return
		}
		if m.p.numFeatures() > 1<<10 || m.NumOutputs() > 1<<10 {
			return // accepted but too wide to score cheaply here
		}
		feats := m.Features()
		cols := make([]*tabular.Column, len(feats))
		for j, name := range feats {
			cols[j] = &tabular.Column{Name: name, Kind: tabular.Numeric, Float: []float64{0, math.NaN(), 1e10}}
		}
		in := &tabular.Frame{Columns: cols}
		pred, err := m.Predict(in)
		if err != nil {
			t.Fatalf("a loaded model does not score a table with its features: %v", err)
		}
		if pred.NumRows() != in.NumRows() {
			t.Fatalf("%d predictions for %d rows", pred.NumRows(), in.NumRows())
		}
	})
}
