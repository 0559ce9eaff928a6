package trees

import (
	"math"
	"path/filepath"
	"slices"
	"testing"
)

var nan = math.NaN()

func sigmoid(s, x float64) float64 { return 1 / (1 + math.Exp(-s*x)) }

func softmax(x []float64) []float64 {
	var sum float64
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = math.Exp(v)
		sum += out[i]
	}
	for i := range out {
		out[i] /= sum
	}
	return out
}

// TestLightGBMFixtures checks hand-written models whose paths are worked out
// by hand in the comments, covering default-left/right, the None, Zero and
// NaN missing types, categorical bitsets, single-leaf trees, multiclass,
// multiclassova, rf averaging and the sigmoid parameter.
func TestLightGBMFixtures(t *testing.T) {
	// regression.txt trees:
	//  T0: x0<=0.5 (None, dflt L) ? [x1<=-0.25 (NaN, dflt L) ? 1 : 3] : 2
	//  T1: x2<=0.1 (Zero, dflt R) ? -0.5 : [x0<=1e-35f (None, dflt R) ? 0.125 : 0.75]
	//  T2: 0.25
	regRows := []struct {
		row  []float64
		want float64
	}{
		{[]float64{0.1, -1, -0.3}, 1 - 0.5 + 0.25},
		{[]float64{0.5, 0, 0}, 3 + 0.75 + 0.25},         // x0 == threshold goes left; x2 zero is missing → right
		{[]float64{nan, nan, nan}, 1 + 0.125 + 0.25},    // NaN→0 (None); NaN default left; NaN→0 is zero → right
		{[]float64{0.6, 5, 1e-36}, 2 + 0.75 + 0.25},     // |1e-36| <= kZeroThreshold counts as zero
		{[]float64{-1e-36, -0.25, 0.1}, 1 - 0.5 + 0.25}, // 0.1 <= 0.10000000000000001 (same double)
		{[]float64{-2, nan, 0.2}, 1 + 0.125 + 0.25},
		{[]float64{0.5000000000000001, 0, -1e-35}, 2 + 0.75 + 0.25},
		{[]float64{1.0000000180025095e-35, 0, 1}, 3 + 0.125 + 0.25},
	}
	// categorical.txt: x0 in {0,1,3} ? 10 : [x0 in {34} ? 20 : 30]
	catRows := []struct {
		row  []float64
		want float64
	}{
		{[]float64{0, 0}, 10}, {[]float64{1, 0}, 10}, {[]float64{3, 0}, 10},
		{[]float64{2, 0}, 30}, {[]float64{34, 0}, 20}, {[]float64{34.9, 0}, 20},
		{[]float64{-0.5, 0}, 10}, // static_cast<int>(-0.5) == 0
		{[]float64{-1, 0}, 30}, {[]float64{nan, 0}, 30}, {[]float64{1e10, 0}, 30},
		{[]float64{64, 0}, 30}, {[]float64{35, 0}, 30},
	}
	// multiclass.txt, classes c0 = T0+T3, c1 = T1+T4, c2 = T2+T5:
	//  T0: x<=0 (None, dflt L) ? 1 : -1      T3: 0.125
	//  T1: x<=1 (None, dflt R) ? 0.5 : 2     T4: x<=-2 (Zero, dflt L) ? 0.75 : -0.75
	//  T2: -0.25                             T5: 1.5
	multiRows := []struct {
		row  []float64
		want []float64
	}{
		{[]float64{-3}, []float64{1.125, 1.25, 1.25}},
		{[]float64{0}, []float64{1.125, 1.25, 1.25}},
		{[]float64{nan}, []float64{1.125, 1.25, 1.25}},
		{[]float64{0.5}, []float64{-0.875, -0.25, 1.25}},
		{[]float64{2}, []float64{-0.875, 1.25, 1.25}},
	}

	type check struct {
		row      []float64
		raw      []float64
		predicts []float64
	}
	tests := []struct {
		file      string
		objective string
		outputs   int
		trees     int
		features  []Feature
		checks    []check
	}{
		{file: "regression.txt", objective: "reg:squarederror", outputs: 1, trees: 3,
			features: []Feature{{"x0", "float"}, {"x1", "float"}, {"x2", "float"}},
			checks: func() (cs []check) {
				for _, r := range regRows {
					cs = append(cs, check{r.row, []float64{r.want}, []float64{r.want}})
				}
				return cs
			}()},
		{file: "rf_xentropy.txt", objective: "reg:logistic", outputs: 1, trees: 3,
			checks: func() (cs []check) {
				for _, r := range regRows {
					cs = append(cs, check{r.row, []float64{r.want / 3}, []float64{sigmoid(1, r.want/3)}})
				}
				return cs
			}()},
		{file: "binary.txt", objective: "binary:logistic", outputs: 1, trees: 1,
			features: []Feature{{"Column_0", "float"}, {"Column_1", "float"}},
			checks: []check{
				{[]float64{-1, 0}, []float64{-0.4}, []float64{sigmoid(2, -0.4)}},
				{[]float64{0, 0}, []float64{-0.4}, []float64{sigmoid(2, -0.4)}},
				{[]float64{1e-300, 0}, []float64{0.3}, []float64{sigmoid(2, 0.3)}},
				{[]float64{nan, 0}, []float64{0.3}, []float64{sigmoid(2, 0.3)}}, // NaN type, default right
			}},
		{file: "categorical.txt", objective: "reg:squarederror", outputs: 1, trees: 1,
			features: []Feature{{"color", "c"}, {"size", "float"}},
			checks: func() (cs []check) {
				for _, r := range catRows {
					cs = append(cs, check{r.row, []float64{r.want}, []float64{r.want}})
				}
				return cs
			}()},
		{file: "multiclass.txt", objective: "multi:softprob", outputs: 3, trees: 6,
			checks: func() (cs []check) {
				for _, r := range multiRows {
					cs = append(cs, check{r.row, r.want, softmax(r.want)})
				}
				return cs
			}()},
		{file: "multiclassova.txt", objective: "multi:ova", outputs: 3, trees: 6,
			checks: func() (cs []check) {
				for _, r := range multiRows {
					p := make([]float64, 3)
					for k, v := range r.want {
						p[k] = sigmoid(1.5, v)
					}
					cs = append(cs, check{r.row, r.want, p})
				}
				return cs
			}()},
	}
	approx := func(a, b []float64) bool {
		return slices.EqualFunc(a, b, func(x, y float64) bool { return math.Abs(x-y) <= 1e-12 })
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			m, err := LoadFile(filepath.Join("testdata", "lgb", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if m.Objective() != tt.objective || m.NumOutputs() != tt.outputs || m.NumTrees() != tt.trees {
				t.Fatalf("got objective %q, %d outputs, %d trees; want %q, %d, %d",
					m.Objective(), m.NumOutputs(), m.NumTrees(), tt.objective, tt.outputs, tt.trees)
			}
			if m.Source().Format != "lightgbm-text" {
				t.Errorf("Source().Format = %q", m.Source().Format)
			}
			if tt.features != nil {
				if got := m.Features(); !slices.Equal(got, tt.features) {
					t.Errorf("Features() = %v, want %v", got, tt.features)
				}
			}
			raw := make([]float64, m.NumOutputs())
			out := make([]float64, m.NumOutputs())
			for _, c := range tt.checks {
				m.PredictRaw(c.row, raw)
				if !approx(raw, c.raw) {
					t.Errorf("PredictRaw(%v) = %v, want %v", c.row, raw, c.raw)
				}
				m.Predict(c.row, out)
				if !approx(out, c.predicts) {
					t.Errorf("Predict(%v) = %v, want %v", c.row, out, c.predicts)
				}
			}
		})
	}
}

func TestLightGBMSourceAndRF(t *testing.T) {
	m, err := LoadFile(filepath.Join("testdata", "lgb", "rf_xentropy.txt"))
	if err != nil {
		t.Fatal(err)
	}
	want := Source{Format: "lightgbm-text", Version: "v4", Booster: "rf", Objective: "cross_entropy"}
	if got := m.Source(); got != want {
		t.Errorf("Source() = %+v, want %+v", got, want)
	}
	m, err = LoadFile(filepath.Join("testdata", "lgb", "binary.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Source().Objective; got != "binary sigmoid:2" {
		t.Errorf("Source().Objective = %q, want the file's own line", got)
	}
}
