package linear

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hangar-ml/hangar"
)

// TestLoadTestdata loads the models the CLI wrote into testdata and checks
// what they predict.
func TestLoadTestdata(t *testing.T) {
	for _, tc := range []struct {
		file      string
		objective string
		outputs   int
	}{
		{"regression.json", hangar.ObjectiveRegSquaredError, 1},
		{"binary.json", hangar.ObjectiveBinaryLogistic, 1},
		{"multiclass.json", hangar.ObjectiveMultiSoftmax, 3},
	} {
		t.Run(tc.file, func(t *testing.T) {
			m, err := ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if m.Objective != tc.objective || m.NumOutputs() != tc.outputs {
				t.Fatalf("objective %s with %d outputs, want %s with %d", m.Objective, m.NumOutputs(), tc.objective, tc.outputs)
			}
			out := make([]float64, m.NumOutputs())
			m.Predict([]float64{3, math.NaN()}, out)
			sum := 0.0
			for _, v := range out {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					t.Fatalf("predicted %v", out)
				}
				sum += v
			}
			if tc.outputs > 1 && math.Abs(sum-1) > 1e-12 {
				t.Errorf("class probabilities %v sum to %v, want 1", out, sum)
			}
		})
	}
}

func FuzzLoad(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	if len(paths) == 0 {
		f.Fatal("no seeds in testdata")
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Load(bytes.NewReader(b))
		if err != nil {
			if hangar.ErrorCode(err) != hangar.EINVALID {
				t.Fatalf("Load: %v, want EINVALID", err)
			}
			return
		}
		if m.NumOutputs() > 1<<12 || len(m.Features) > 1<<12 {
			return // accepted but too wide to score cheaply here
		}
		// Whatever Load accepts predicts without panicking, also from
		// missing values.
		out := make([]float64, m.NumOutputs())
		for _, x := range []float64{0, math.NaN(), 1e300} {
			row := make([]float64, len(m.Features))
			for j := range row {
				row[j] = x
			}
			m.Predict(row, out)
		}
		// and writes what reads back the same.
		dir := t.TempDir()
		if err := m.Write(dir); err != nil {
			t.Fatalf("accepted model does not write: %v", err)
		}
		back, err := ReadFile(dir)
		if err != nil {
			t.Fatalf("written model does not load: %v", err)
		}
		if back.Objective != m.Objective || back.NumOutputs() != m.NumOutputs() || len(back.Features) != len(m.Features) {
			t.Fatalf("round trip changed the model: %+v → %+v", m, back)
		}
	})
}

func TestLoadRejects(t *testing.T) {
	const good = `"format":"hangar-linear","features":["a"],"mean":[0],"scale":[1]`
	for name, tc := range map[string]struct{ in, want string }{
		"not json":           {`{`, "read linear model"},
		"format":             {`{"format":"sklearn"}`, `format "sklearn"`},
		"objective":          {`{` + good + `,"objective":"rank:ndcg","coef":[[1]],"intercept":[0]}`, `unknown objective "rank:ndcg"`},
		"no objective":       {`{` + good + `,"coef":[[1]],"intercept":[0]}`, `unknown objective ""`},
		"negative classes":   {`{` + good + `,"objective":"multi:softmax","num_class":-1,"coef":[[1]],"intercept":[0]}`, "num_class -1"},
		"one class":          {`{` + good + `,"objective":"multi:softprob","num_class":1,"coef":[[1]],"intercept":[0]}`, "num_class 1"},
		"classes for binary": {`{` + good + `,"objective":"binary:logistic","num_class":2,"coef":[[1],[1]],"intercept":[0,0]}`, "num_class 2"},
		"coef shape":         {`{` + good + `,"objective":"reg:squarederror","coef":[[1,2]],"intercept":[0]}`, "inconsistent shapes"},
		"outputs":            {`{` + good + `,"objective":"multi:softmax","num_class":3,"coef":[[1],[1]],"intercept":[0,0]}`, "inconsistent shapes"},
		"zero scale":         {`{"format":"hangar-linear","features":["a"],"mean":[0],"scale":[0],"objective":"reg:squarederror","coef":[[1]],"intercept":[0]}`, `scale 0 of feature "a"`},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Load(bytes.NewReader([]byte(tc.in)))
			if hangar.ErrorCode(err) != hangar.EINVALID || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want EINVALID containing %q", err, tc.want)
			}
		})
	}
}
