package trees

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// fuzzRows scores a few rows through every entry point: whatever a loader
// accepts must predict without panicking or looping.
func fuzzRows(t *testing.T, m *Model) {
	nf, no := m.NumFeatures(), m.NumOutputs()
	if nf > 1<<16 || no > 1<<12 {
		return // accepted but too wide to score cheaply here
	}
	rows := make([]float64, 4*nf)
	for i := range nf {
		rows[i] = 0
		rows[nf+i] = math.NaN()
		rows[2*nf+i] = float64(i%7) - 2.5
		rows[3*nf+i] = 1e-36
	}
	out := make([]float64, 4*no)
	m.PredictBatch(rows, 4, out, 2)
	m.PredictBatchRaw(rows, 4, out, 1)
	for r := range 4 {
		m.Predict(rows[r*nf:(r+1)*nf], out[:no])
		m.PredictRaw(rows[r*nf:(r+1)*nf], out[:no])
	}
}

func addSeeds(f *testing.F, pattern string) {
	paths, err := filepath.Glob(pattern)
	if err != nil || len(paths) == 0 {
		f.Fatalf("no seeds match %s", pattern)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

func FuzzLoadXGBoostJSON(f *testing.F) {
	addSeeds(f, filepath.Join("testdata", "xgb", "*", "model.json"))
	f.Add([]byte(minXGB))
	addSeeds(f, filepath.Join("testdata", "ubj", "*.ubj"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := LoadXGBoostJSON(bytes.NewReader(b))
		if err != nil {
			return
		}
		fuzzRows(t, m)
	})
}

func FuzzLoadLightGBM(f *testing.F) {
	addSeeds(f, filepath.Join("testdata", "lgb", "*.txt"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := LoadLightGBM(bytes.NewReader(b))
		if err != nil {
			return
		}
		fuzzRows(t, m)
	})
}
