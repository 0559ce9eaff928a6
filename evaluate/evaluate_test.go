package evaluate

import (
	"math"
	"testing"

	"github.com/hangar-ml/hangar"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-4 }

func check(t *testing.T, got Metrics, want map[string]float64) {
	t.Helper()
	for k, w := range want {
		g, ok := got[k]
		if math.IsNaN(w) {
			if ok {
				t.Errorf("%s: got %v, want it left out", k, g)
			}
			continue
		}
		if !ok || !near(g, w) {
			t.Errorf("%s: got %v (present %v), want %v", k, g, ok, w)
		}
	}
}

// The expected values are scikit-learn's documentation examples
// (r2_score, mean_absolute_error, mean_squared_error, roc_auc_score,
// log_loss, precision_recall_fscore_support) or computed by hand.
func TestRegression(t *testing.T) {
	for _, tc := range []struct {
		name    string
		y, pred []float64
		want    map[string]float64
	}{
		{"sklearn docs", []float64{3, -0.5, 2, 7}, []float64{2.5, 0, 2, 8},
			map[string]float64{"mae": 0.5, "rmse": math.Sqrt(0.375), "r2": 0.948608, "mape": 0.327380, "mape_skipped_zero_targets": 0}},
		{"zero target skipped", []float64{0, 2, 4}, []float64{1, 1, 5},
			// MAPE over rows 2 and 3: (1/2 + 1/4)/2
			map[string]float64{"mae": 1, "rmse": 1, "mape": 0.375, "mape_skipped_zero_targets": 1, "r2": 1 - 3.0/8}},
		{"constant target, perfect", []float64{2, 2}, []float64{2, 2}, map[string]float64{"r2": 1, "rmse": 0}},
		{"constant target, off", []float64{2, 2}, []float64{1, 2}, map[string]float64{"r2": 0}},
		{"all zero targets", []float64{0, 0}, []float64{1, 0}, map[string]float64{"mape": math.NaN(), "mape_skipped_zero_targets": 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Regression(tc.y, tc.pred)
			if err != nil {
				t.Fatal(err)
			}
			check(t, got, tc.want)
		})
	}
}

func TestBinary(t *testing.T) {
	for _, tc := range []struct {
		name    string
		y, prob []float64
		want    map[string]float64
	}{
		// roc_auc_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.75
		{"sklearn auc", []float64{0, 0, 1, 1}, []float64{0.1, 0.4, 0.35, 0.8},
			map[string]float64{"roc_auc": 0.75, "accuracy": 0.75, "precision": 1, "recall": 0.5, "f1": 2.0 / 3,
				"log_loss": -(math.Log(0.9) + math.Log(0.6) + math.Log(0.35) + math.Log(0.8)) / 4}},
		// log_loss(["spam", "ham", "ham", "spam"], [[.1, .9], [.9, .1], [.8, .2], [.35, .65]]) == 0.21616
		{"sklearn log loss", []float64{1, 0, 0, 1}, []float64{0.9, 0.1, 0.2, 0.65}, map[string]float64{"log_loss": 0.21616, "roc_auc": 1}},
		{"ties count half", []float64{0, 1, 0, 1}, []float64{0.5, 0.5, 0.2, 0.9}, map[string]float64{"roc_auc": 0.875}},
		{"no positive predicted", []float64{0, 1}, []float64{0.1, 0.2}, map[string]float64{"precision": 0, "recall": 0, "f1": 0, "roc_auc": 1}},
		{"one class only", []float64{1, 1}, []float64{0.7, 0.2}, map[string]float64{"roc_auc": math.NaN(), "accuracy": 0.5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Binary(tc.y, tc.prob)
			if err != nil {
				t.Fatal(err)
			}
			check(t, got, tc.want)
		})
	}
}

func TestMulticlass(t *testing.T) {
	// precision_recall_fscore_support([0,1,2,0,1,2], [0,2,1,0,0,1], average="macro")
	// == (0.2222, 0.3333, 0.2666)
	y := []float64{0, 1, 2, 0, 1, 2}
	onehot := func(c int) []float64 { p := []float64{0.1, 0.1, 0.1}; p[c] = 0.8; return p }
	prob := [][]float64{onehot(0), onehot(2), onehot(1), onehot(0), onehot(0), onehot(1)}
	got, err := Multiclass(y, prob)
	if err != nil {
		t.Fatal(err)
	}
	check(t, got, map[string]float64{
		"precision_macro": 0.222222, "recall_macro": 0.333333, "f1_macro": 0.266666, "accuracy": 2.0 / 6,
		"log_loss": -(2*math.Log(0.8) + 4*math.Log(0.1)) / 6,
	})
	// Class 0 one-vs-rest: its two rows score 0.8, as does one of the four
	// negatives; of the 8 positive–negative pairs 6 are ordered right and 2
	// tie (half each): (6 + 1) / 8.
	pos := []bool{true, false, false, true, false, false}
	score := []float64{0.8, 0.1, 0.1, 0.8, 0.8, 0.1}
	if a := ROCAUC(pos, score); !near(a, 0.875) {
		t.Errorf("ROCAUC: got %v, want 0.875", a)
	}
}

func TestErrors(t *testing.T) {
	if _, err := Regression(nil, nil); hangar.ErrorCode(err) != hangar.EINVALID {
		t.Errorf("empty: got %v", err)
	}
	if _, err := Regression([]float64{1}, []float64{1, 2}); hangar.ErrorCode(err) != hangar.EINVALID {
		t.Errorf("mismatch: got %v", err)
	}
	if _, err := Binary([]float64{2}, []float64{0.5}); hangar.ErrorCode(err) != hangar.EINVALID {
		t.Errorf("binary label 2: got %v", err)
	}
	if _, err := Multiclass([]float64{3}, [][]float64{{0.5, 0.5}}); hangar.ErrorCode(err) != hangar.EINVALID {
		t.Errorf("class 3 of 2: got %v", err)
	}
	if _, err := Regression([]float64{math.NaN()}, []float64{1}); hangar.ErrorCode(err) != hangar.EINVALID {
		t.Errorf("NaN label: got %v", err)
	}
}

func TestForObjective(t *testing.T) {
	for _, tc := range []struct {
		objective string
		k         int
		y, out    []float64
		key       string
		want      float64
	}{
		{hangar.ObjectiveRegSquaredError, 1, []float64{1, 2}, []float64{1, 4}, "mae", 1},
		{hangar.ObjectiveBinaryLogistic, 1, []float64{0, 1}, []float64{0.2, 0.9}, "accuracy", 1},
		{hangar.ObjectiveMultiSoftprob, 3, []float64{0, 2}, []float64{0.8, 0.1, 0.1, 0.2, 0.3, 0.5}, "accuracy", 1},
		{hangar.ObjectiveMultiSoftmax, 2, []float64{1, 1}, []float64{0.6, 0.4, 0.1, 0.9}, "accuracy", 0.5},
		{"multi:ova", 2, []float64{0, 1}, []float64{0.6, 0.4, 0.1, 0.9}, "accuracy", 1},
		{"count:poisson", 1, []float64{2}, []float64{3}, "rmse", 1},
	} {
		m, err := ForObjective(tc.objective, tc.k, tc.y, tc.out)
		if err != nil || m[tc.key] != tc.want {
			t.Errorf("%s: got %s = %v (%v), want %v", tc.objective, tc.key, m[tc.key], err, tc.want)
		}
	}
	if _, err := ForObjective(hangar.ObjectiveMultiSoftprob, 3, []float64{0, 1}, []float64{1, 0, 0}); hangar.ErrorCode(err) != hangar.EINVALID {
		t.Errorf("short outputs: got %v, want EINVALID", err)
	}
}
