package trees

import (
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// expectFile is what testdata/gen/xgb_parity.py records next to each model:
// input rows and XGBoost's own outputs, floats as repr() strings.
type expectFile struct {
	Name       string     `json:"name"`
	Objective  string     `json:"objective"`
	NumOutputs int        `json:"num_outputs"`
	Version    string     `json:"xgboost_version"`
	Rows       [][]string `json:"rows"`
	Margin     [][]string `json:"margin"`
	Pred       [][]string `json:"pred"`
}

func parseMatrix(t *testing.T, what string, in [][]string) [][]float64 {
	t.Helper()
	out := make([][]float64, len(in))
	for i, row := range in {
		out[i] = make([]float64, len(row))
		for j, s := range row {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				t.Fatalf("%s[%d][%d] = %q: %v", what, i, j, s, err)
			}
			out[i][j] = v
		}
	}
	return out
}

// closeTo is the parity tolerance: 1e-6 absolute, relative for magnitudes
// above 1. XGBoost computes in float32, whose spacing at 1e4 is ~1e-3, so an
// absolute bound would be meaningless there; our sums use the same float32
// operations in the same order, so in practice the values are bit-equal and
// the tolerance only absorbs expf/logf differing from Go's float64 exp/log
// rounded to float32 (one float32 ulp, ~6e-8 relative).
func closeTo(got, want float64) bool {
	if math.IsNaN(want) {
		return math.IsNaN(got)
	}
	return math.Abs(got-want) <= 1e-6*math.Max(1, math.Abs(want))
}

// checkParityDir loads every dir/<case>/model.json and compares our
// predictions for the recorded rows with XGBoost's.
func checkParityDir(t *testing.T, dir string) {
	t.Helper()
	cases, err := filepath.Glob(filepath.Join(dir, "*", "expect.json"))
	if err != nil || len(cases) == 0 {
		t.Fatalf("no cases in %s (%v)", dir, err)
	}
	for _, path := range cases {
		caseDir := filepath.Dir(path)
		t.Run(filepath.Base(caseDir), func(t *testing.T) {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var e expectFile
			if err := json.Unmarshal(b, &e); err != nil {
				t.Fatal(err)
			}
			m, err := LoadFile(filepath.Join(caseDir, "model.json"))
			if err != nil {
				t.Fatalf("LoadFile: %v", err)
			}
			if m.NumOutputs() != e.NumOutputs {
				t.Fatalf("NumOutputs() = %d, want %d", m.NumOutputs(), e.NumOutputs)
			}
			if m.Objective() != e.Objective {
				t.Errorf("Objective() = %q, want %q", m.Objective(), e.Objective)
			}
			rows := parseMatrix(t, "rows", e.Rows)
			margins := parseMatrix(t, "margin", e.Margin)
			preds := parseMatrix(t, "pred", e.Pred)
			no := m.NumOutputs()
			raw := make([]float64, no)
			out := make([]float64, no)
			flat := make([]float64, 0, len(rows)*m.NumFeatures())
			bad, exact, total := 0, 0, 0
			for i, row := range rows {
				flat = append(flat, row...)
				m.PredictRaw(row, raw)
				m.Predict(row, out)
				for k := range no {
					total++
					if raw[k] == margins[i][k] {
						exact++
					}
					if !closeTo(raw[k], margins[i][k]) && bad < 5 {
						bad++
						t.Errorf("row %d %v: margin[%d] = %.9g, XGBoost %.9g", i, row, k, raw[k], margins[i][k])
					}
				}
				if e.Objective == "multi:softmax" {
					// XGBoost's predict() gives the class; ours the probabilities.
					best := 0
					for k := range no {
						if out[k] > out[best] {
							best = k
						}
					}
					if float64(best) != preds[i][0] {
						bad++
						t.Errorf("row %d: argmax = %d, XGBoost class %v", i, best, preds[i][0])
					}
					continue
				}
				for k := range no {
					if !closeTo(out[k], preds[i][k]) && bad < 5 {
						bad++
						t.Errorf("row %d %v: pred[%d] = %.9g, XGBoost %.9g", i, row, k, out[k], preds[i][k])
					}
				}
			}
			t.Logf("XGBoost %s: %d of %d margins bit-equal", e.Version, exact, total)
			// The batch paths must agree exactly with the single-row path.
			for _, threads := range []int{1, 2, 3} {
				got := make([]float64, len(rows)*no)
				m.PredictBatchRaw(flat, len(rows), got, threads)
				for i := range rows {
					m.PredictRaw(rows[i], raw)
					for k := range no {
						if got[i*no+k] != raw[k] {
							t.Fatalf("threads=%d row %d: PredictBatchRaw %v, PredictRaw %v", threads, i, got[i*no+k], raw[k])
						}
					}
				}
				m.PredictBatch(flat, len(rows), got, threads)
				for i := range rows {
					m.Predict(rows[i], out)
					for k := range no {
						if got[i*no+k] != out[k] {
							t.Fatalf("threads=%d row %d: PredictBatch %v, Predict %v", threads, i, got[i*no+k], out[k])
						}
					}
				}
			}
		})
	}
}

// TestXGBoostGolden checks the committed fixtures (made by
// testdata/gen/xgb_parity.py --small), so parity is covered without Python.
func TestXGBoostGolden(t *testing.T) {
	checkParityDir(t, filepath.Join("testdata", "xgb"))
}

// TestXGBoostParity trains fresh models with the installed XGBoost and
// compares. It needs /usr/bin/python3 with xgboost (Debian python3-xgboost):
// skipped locally when missing, a failure in CI.
func TestXGBoostParity(t *testing.T) {
	if testing.Short() {
		t.Skip("trains XGBoost models; skipped with -short")
	}
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import xgboost").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s cannot import xgboost (%v); install python3-xgboost", py, err)
		}
		t.Skipf("%s cannot import xgboost (%v)", py, err)
	}
	dir := t.TempDir()
	cmd := exec.Command(py, filepath.Join("testdata", "gen", "xgb_parity.py"), dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("xgb_parity.py: %v\n%s", err, out)
	}
	checkParityDir(t, dir)
}
