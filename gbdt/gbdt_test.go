package gbdt

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/tabular"
)

// chicago returns the Chicago ridership table split by date: before
// 2014-01-01 for training, the rest for testing; label ridership, date dropped.
func chicago(tb testing.TB) (train, test *Dataset) {
	tb.Helper()
	f, err := tabular.ReadFile("../testdata/chicago/chicago.csv")
	if err != nil {
		tb.Fatal(err)
	}
	dates := f.Column("date").Str
	var tr, te []int
	for i, d := range dates {
		if d < "2014-01-01" {
			tr = append(tr, i)
		} else {
			te = append(te, i)
		}
	}
	feats := f.Drop("date", "ridership")
	mk := func(rows []int) *Dataset {
		sub := f.Take(rows)
		cols, err := sub.Features(feats.Names())
		if err != nil {
			tb.Fatal(err)
		}
		y, _ := sub.Float("ridership")
		return &Dataset{Features: feats.Names(), Columns: cols, Label: y}
	}
	return mk(tr), mk(te)
}

func predictAll(m *Model, d *Dataset) [][]float64 {
	out := make([][]float64, len(d.Label))
	row := make([]float64, len(d.Columns))
	for i := range d.Label {
		for j, c := range d.Columns {
			row[j] = c[i]
		}
		out[i] = make([]float64, m.NumOutputs())
		m.Predict(row, out[i])
	}
	return out
}

func rmse(pred [][]float64, y []float64) float64 {
	s := 0.0
	for i, p := range pred {
		s += (p[0] - y[i]) * (p[0] - y[i])
	}
	return math.Sqrt(s / float64(len(y)))
}

// havePython reports whether /usr/bin/python3 can import xgboost; without
// it the comparison tests skip, except in CI where they fail.
func havePython(t *testing.T) {
	t.Helper()
	if err := exec.Command("/usr/bin/python3", "-c", "import xgboost").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("python3 with xgboost is required in CI: %v", err)
		}
		t.Skipf("python3 with xgboost not available: %v", err)
	}
}

func writeCSV(t *testing.T, path string, d *Dataset) {
	t.Helper()
	var b strings.Builder
	b.WriteString("label," + strings.Join(d.Features, ",") + "\n")
	for i, y := range d.Label {
		b.WriteString(tabular.FormatFloat(y))
		for _, c := range d.Columns {
			b.WriteString("," + tabular.FormatFloat(c[i]))
		}
		b.WriteString("\n")
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

type xgbResult struct {
	Version     string          `json:"xgboost_version"`
	Seconds     float64         `json:"train_seconds"`
	XGBPred     json.RawMessage `json:"xgb_pred"`
	OursPred    json.RawMessage `json:"ours_pred"`
	NumFeatures int             `json:"ours_num_features"`
	Trees       []xgbShape      `json:"xgb_trees"`
}

// xgbShape is the shape of one of XGBoost's trees.
type xgbShape struct {
	Left    []int32 `json:"left_children"`
	Right   []int32 `json:"right_children"`
	Feature []int32 `json:"split_indices"`
}

// runXGBoost trains XGBoost on train with params and predicts test; it also
// loads model m (when not nil) into XGBoost and returns its predictions,
// flattened row-major.
func runXGBoost(t *testing.T, params map[string]any, train, test *Dataset, m *Model) (xgbPred []float64, oursPred []float64) {
	t.Helper()
	xgbPred, oursPred, _ = runXGBoostTrees(t, params, train, test, m)
	return xgbPred, oursPred
}

// runXGBoostTrees is runXGBoost that also returns the shapes of XGBoost's trees.
func runXGBoostTrees(t *testing.T, params map[string]any, train, test *Dataset, m *Model) (xgbPred, oursPred []float64, trees []xgbShape) {
	t.Helper()
	dir := t.TempDir()
	writeCSV(t, filepath.Join(dir, "train.csv"), train)
	writeCSV(t, filepath.Join(dir, "test.csv"), test)
	pj, _ := json.Marshal(params)
	os.WriteFile(filepath.Join(dir, "params.json"), pj, 0o644)
	args := []string{"testdata/xgb_compare.py", filepath.Join(dir, "params.json"), filepath.Join(dir, "train.csv"), filepath.Join(dir, "test.csv")}
	if m != nil {
		if err := m.Write(dir); err != nil {
			t.Fatal(err)
		}
		args = append(args, filepath.Join(dir, ModelFile))
	}
	cmd := exec.Command("/usr/bin/python3", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	// Passive waiting keeps OpenMP from spinning when the machine is busy
	// (go test runs packages in parallel); it does not change results.
	cmd.Env = append(os.Environ(), "OMP_NUM_THREADS=2", "OMP_WAIT_POLICY=PASSIVE")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("xgb_compare.py: %v\n%s", err, stderr.String())
	}
	var res xgbResult
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("xgb_compare.py output: %v", err)
	}
	if m != nil {
		if res.NumFeatures != len(m.Features) {
			t.Errorf("XGBoost sees %d features in our model, want %d", res.NumFeatures, len(m.Features))
		}
		oursPred = flatten(t, res.OursPred)
	}
	return flatten(t, res.XGBPred), oursPred, res.Trees
}

func flatten(t *testing.T, raw json.RawMessage) []float64 {
	var flat []float64
	if json.Unmarshal(raw, &flat) == nil {
		return flat
	}
	flat = nil // a failed Unmarshal may have filled it partly
	var nested [][]float64
	if err := json.Unmarshal(raw, &nested); err != nil {
		t.Fatalf("predictions: %v", err)
	}
	for _, r := range nested {
		flat = append(flat, r...)
	}
	return flat
}

// sameAsXGBoost checks that XGBoost, loading our model file, predicts what
// our model predicts (to float32 precision).
func sameAsXGBoost(t *testing.T, ours [][]float64, theirs []float64) {
	t.Helper()
	k := len(ours[0])
	if len(theirs) != len(ours)*k {
		t.Fatalf("XGBoost returned %d predictions, want %d", len(theirs), len(ours)*k)
	}
	worst := 0.0
	for i, row := range ours {
		for j, v := range row {
			worst = max(worst, math.Abs(v-theirs[i*k+j])/max(1, math.Abs(v)))
		}
	}
	if worst > 1e-5 {
		t.Errorf("XGBoost's predictions of our model differ by up to %g (relative), want <= 1e-5", worst)
	}
}

func TestChicagoRegressionVsXGBoost(t *testing.T) {
	t.Parallel()
	train, test := chicago(t)
	p := DefaultParams()
	p.NEstimators, p.MaxDepth, p.LearningRate, p.MaxBin, p.Threads = 300, 6, 0.1, 256, 2
	m, err := Train(t.Context(), p, train, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ours := predictAll(m, test)
	ourRMSE := rmse(ours, test.Label)
	havePython(t)
	xp, op := runXGBoost(t, map[string]any{"objective": "reg:squarederror", "n_estimators": 300, "max_depth": 6, "eta": 0.1, "max_bin": 256, "nthread": 2}, train, test, m)
	xgbPred := make([][]float64, len(xp))
	for i, v := range xp {
		xgbPred[i] = []float64{v}
	}
	xgbRMSE := rmse(xgbPred, test.Label)
	t.Logf("test RMSE: hangar %.4f, xgboost %.4f", ourRMSE, xgbRMSE)
	if ourRMSE > 1.05*xgbRMSE {
		t.Errorf("hangar test RMSE %.4f is more than 5%% above XGBoost's %.4f", ourRMSE, xgbRMSE)
	}
	sameAsXGBoost(t, ours, op)
}

func TestChicagoBinary(t *testing.T) {
	t.Parallel()
	train, test := chicago(t)
	med := median(train.Label)
	for _, d := range []*Dataset{train, test} {
		for i, v := range d.Label {
			d.Label[i] = b2f(v > med)
		}
	}
	p := DefaultParams()
	p.Objective, p.NEstimators, p.LearningRate, p.Threads = hangar.ObjectiveBinaryLogistic, 30, 0.3, 2
	m, err := Train(t.Context(), p, train, test, nil)
	if err != nil {
		t.Fatal(err)
	}
	ours := predictAll(m, test)
	correct := 0
	for i, pr := range ours {
		if b2f(pr[0] > 0.5) == test.Label[i] {
			correct++
		}
	}
	acc := float64(correct) / float64(len(ours))
	if acc < 0.85 {
		t.Errorf("binary test accuracy %.3f, want >= 0.85", acc)
	}
	if h := m.History; h[len(h)-1].Metric != "logloss" || h[len(h)-1].Train >= h[0].Train {
		t.Errorf("training logloss did not fall: first %+v, last %+v", h[0], h[len(h)-1])
	}
	havePython(t)
	_, op := runXGBoost(t, map[string]any{"objective": "binary:logistic", "n_estimators": 1}, train, test, m)
	sameAsXGBoost(t, ours, op)
}

func TestChicagoMulticlass(t *testing.T) {
	t.Parallel()
	train, test := chicago(t)
	s := slices.Sorted(slices.Values(train.Label))
	q1, q2 := s[len(s)/3], s[2*len(s)/3]
	for _, d := range []*Dataset{train, test} {
		for i, v := range d.Label {
			switch {
			case v < q1:
				d.Label[i] = 0
			case v < q2:
				d.Label[i] = 1
			default:
				d.Label[i] = 2
			}
		}
	}
	for _, obj := range []string{hangar.ObjectiveMultiSoftprob, hangar.ObjectiveMultiSoftmax} {
		t.Run(obj, func(t *testing.T) {
			p := DefaultParams()
			p.Objective, p.NEstimators, p.Threads = obj, 10, 2
			m, err := Train(t.Context(), p, train, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if m.NumClass != 3 || len(m.Trees) != 30 {
				t.Fatalf("got %d classes and %d trees, want 3 and 30", m.NumClass, len(m.Trees))
			}
			ours := predictAll(m, test)
			correct := 0
			for i, pr := range ours {
				if float64(argmax(pr)) == test.Label[i] {
					correct++
				}
			}
			if acc := float64(correct) / float64(len(ours)); acc < 0.7 {
				t.Errorf("3-class test accuracy %.3f, want >= 0.7", acc)
			}
			havePython(t)
			_, op := runXGBoost(t, map[string]any{"objective": obj, "num_class": 3, "n_estimators": 1}, train, test, m)
			if obj == hangar.ObjectiveMultiSoftmax { // XGBoost predicts the class
				for i, pr := range ours {
					if float64(argmax(pr)) != op[i] {
						t.Fatalf("row %d: XGBoost predicts class %v from our model, we %d", i, op[i], argmax(pr))
					}
				}
				return
			}
			sameAsXGBoost(t, ours, op)
		})
	}
}

// TestMissingValues trains on data where missingness carries the signal, so
// the learned default direction matters, and checks XGBoost agrees.
func TestMissingValues(t *testing.T) {
	t.Parallel()
	n := 2000
	x1, x2, y := make([]float64, n), make([]float64, n), make([]float64, n)
	for i := range n {
		x1[i] = float64(i%97) / 97
		x2[i] = float64((i*31)%101) / 101
		y[i] = x1[i]
		if i%5 == 0 {
			x1[i] = math.NaN()
			y[i] = 3
		}
		if i%7 == 0 {
			x2[i] = math.NaN()
		}
	}
	d := &Dataset{Features: []string{"x1", "x2"}, Columns: [][]float64{x1, x2}, Label: y}
	p := DefaultParams()
	p.NEstimators = 50
	m, err := Train(t.Context(), p, d, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float64, 1)
	m.Predict([]float64{math.NaN(), 0.5}, out)
	if math.Abs(out[0]-3) > 0.1 {
		t.Errorf("prediction for missing x1: got %v, want about 3", out[0])
	}
	m.Predict([]float64{0.25, math.NaN()}, out)
	if math.Abs(out[0]-0.25) > 0.1 {
		t.Errorf("prediction for x1=0.25: got %v, want about 0.25", out[0])
	}
	havePython(t)
	_, op := runXGBoost(t, map[string]any{"objective": "reg:squarederror", "n_estimators": 1}, d, d, m)
	sameAsXGBoost(t, predictAll(m, d), op)
}

func TestDeterministic(t *testing.T) {
	train, _ := chicago(t)
	p := DefaultParams()
	p.NEstimators, p.Subsample, p.ColsampleBytree, p.Seed = 20, 0.7, 0.6, 42
	var outs []string
	for _, threads := range []int{1, 2, 2} {
		p.Threads = threads
		m, err := Train(t.Context(), p, train, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := m.SaveXGBoostJSON(&b); err != nil {
			t.Fatal(err)
		}
		outs = append(outs, b.String())
	}
	if outs[0] != outs[1] || outs[1] != outs[2] {
		t.Error("models differ between runs with the same seed")
	}
	p.Seed = 43
	m, _ := Train(t.Context(), p, train, nil, nil)
	var b bytes.Buffer
	m.SaveXGBoostJSON(&b)
	if b.String() == outs[0] {
		t.Error("a different seed gave the same model")
	}
}

func TestEarlyStopping(t *testing.T) {
	train, test := chicago(t)
	p := DefaultParams()
	p.NEstimators, p.EarlyStoppingRounds, p.LearningRate = 500, 5, 0.5
	var calls int
	m, err := Train(t.Context(), p, train, test, func(pr Progress) error {
		calls++
		if math.IsNaN(pr.Valid) || pr.Metric != "rmse" {
			return fmt.Errorf("bad progress %+v", pr)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if calls >= 500 || calls != len(m.History) {
		t.Fatalf("got %d rounds, want early stopping before 500", calls)
	}
	if len(m.Trees) != m.BestIteration+1 || calls != m.BestIteration+1+5 {
		t.Errorf("best %d, %d trees, %d rounds: want trees = best+1 and rounds = best+1+5", m.BestIteration, len(m.Trees), calls)
	}
	best := m.History[m.BestIteration].Valid
	for _, h := range m.History {
		if h.Valid < best {
			t.Errorf("round %d has valid %v below best %v", h.Iteration, h.Valid, best)
		}
	}
}

func TestTrainErrors(t *testing.T) {
	good := func() *Dataset {
		return &Dataset{Features: []string{"a"}, Columns: [][]float64{{1, 2, 3}}, Label: []float64{0, 1, 2}}
	}
	with := func(f func(*Params, *Dataset)) (Params, *Dataset) {
		p, d := DefaultParams(), good()
		f(&p, d)
		return p, d
	}
	for name, tc := range map[string]struct {
		f    func(*Params, *Dataset)
		want string
	}{
		"nan label":                {func(p *Params, d *Dataset) { d.Label[1] = math.NaN() }, "row 2"},
		"inf label":                {func(p *Params, d *Dataset) { d.Label[0] = math.Inf(1) }, "finite"},
		"empty":                    {func(p *Params, d *Dataset) { d.Label = nil; d.Columns[0] = nil }, "empty"},
		"objective":                {func(p *Params, d *Dataset) { p.Objective = "reg:linear2" }, "unknown objective"},
		"multi fraction":           {func(p *Params, d *Dataset) { p.Objective = hangar.ObjectiveMultiSoftmax; d.Label[1] = 1.5 }, "0..K-1"},
		"multi one class":          {func(p *Params, d *Dataset) { p.Objective = hangar.ObjectiveMultiSoftprob; d.Label = []float64{0, 0, 0} }, "one class"},
		"binary range":             {func(p *Params, d *Dataset) { p.Objective = hangar.ObjectiveBinaryLogistic }, "[0, 1]"},
		"early stopping":           {func(p *Params, d *Dataset) { p.EarlyStoppingRounds = 3 }, "validation set"},
		"eta":                      {func(p *Params, d *Dataset) { p.LearningRate = 0 }, "learning_rate"},
		"ragged":                   {func(p *Params, d *Dataset) { d.Columns[0] = d.Columns[0][:2] }, "rows"},
		"grow_policy":              {func(p *Params, d *Dataset) { p.GrowPolicy = "leafwise" }, "grow_policy"},
		"depthwise no depth limit": {func(p *Params, d *Dataset) { p.MaxDepth = 0 }, "needs lossguide"},
		"lossguide depth":          {func(p *Params, d *Dataset) { p.GrowPolicy, p.MaxDepth = Lossguide, -1 }, "max_depth"},
		"max_leaves":               {func(p *Params, d *Dataset) { p.MaxLeaves = -1 }, "max_leaves"},
	} {
		t.Run(name, func(t *testing.T) {
			p, d := with(tc.f)
			_, err := Train(context.Background(), p, d, nil, nil)
			if hangar.ErrorCode(err) != hangar.EINVALID || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want EINVALID mentioning %q", err, tc.want)
			}
		})
	}
}

func TestCuts(t *testing.T) {
	c := cutsFor([]float64{3, 1, math.NaN(), 2, 2}, 256, nil)
	if !slices.Equal(c, []float64{2, 3}) {
		t.Errorf("few values: got %v, want [2 3]", c)
	}
	var many []float64
	for i := range 1000 {
		many = append(many, float64(i))
	}
	c = cutsFor(many, 10, nil)
	if len(c) != 9 || c[0] != 100 || c[8] != 900 {
		t.Errorf("quantiles: got %v", c)
	}
	for _, tc := range []struct {
		v    float64
		want int
	}{{0, 0}, {99.5, 0}, {100, 1}, {950, 9}, {math.NaN(), 10}} {
		if got := binOf(c, tc.v, 10); got != tc.want {
			t.Errorf("binOf(%v) = %d, want %d", tc.v, got, tc.want)
		}
	}
}

func median(v []float64) float64 {
	s := slices.Sorted(slices.Values(v))
	return s[len(s)/2]
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func argmax(v []float64) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}

// BenchmarkTrainChicago trains 300 rounds (depth 6, eta 0.1, 256 bins) on
// the Chicago training years (4,5xx rows × 49 features) with 2 threads.
func BenchmarkTrainChicago(b *testing.B) {
	train, _ := chicago(b)
	p := DefaultParams()
	p.NEstimators, p.MaxDepth, p.LearningRate, p.MaxBin, p.Threads = 300, 6, 0.1, 256, 2
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Train(context.Background(), p, train, nil, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func TestValidWithoutEarlyStoppingKeepsAllRounds(t *testing.T) {
	train, test := chicago(t)
	p := DefaultParams()
	p.NEstimators, p.LearningRate = 40, 0.9 // overfits: the best round is early
	m, err := Train(t.Context(), p, train, test, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Trees) != 40 || m.BestIteration != 39 {
		t.Errorf("got %d trees, best %d; want all 40 rounds kept, best 39", len(m.Trees), m.BestIteration)
	}
	if best := m.History[39].Best; best == 39 {
		t.Logf("validation kept improving (best %d); the check above still holds", best)
	}
}
