package trees

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// synthXGB writes an XGBoost JSON model of full binary trees with random
// splits, so the benchmarks have a 100-tree, depth-6 model without Python.
func synthXGB(trees, depth, features int, seed int64) string {
	r := rand.New(rand.NewSource(seed))
	var sb strings.Builder
	fmt.Fprintf(&sb, `{"learner":{"feature_names":[],"feature_types":[],"gradient_booster":{"name":"gbtree","model":{"tree_info":[%s],"trees":[`,
		strings.TrimSuffix(strings.Repeat("0,", trees), ","))
	for t := range trees {
		n := 1<<(depth+1) - 1
		left, right, feat, cond, dl := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		for i := range n {
			if i < 1<<depth-1 {
				left[i], right[i] = fmt.Sprint(2*i+1), fmt.Sprint(2*i+2)
				feat[i] = fmt.Sprint(r.Intn(features))
				cond[i] = fmt.Sprint(float32(r.NormFloat64()))
			} else {
				left[i], right[i], feat[i] = "-1", "-1", "0"
				cond[i] = fmt.Sprint(float32(r.NormFloat64() * 0.1))
			}
			dl[i] = fmt.Sprint(r.Intn(2))
		}
		if t > 0 {
			sb.WriteString(",")
		}
		fmt.Fprintf(&sb, `{"left_children":[%s],"right_children":[%s],"split_indices":[%s],"split_conditions":[%s],"default_left":[%s],"tree_param":{"num_nodes":"%d"}}`,
			strings.Join(left, ","), strings.Join(right, ","), strings.Join(feat, ","), strings.Join(cond, ","), strings.Join(dl, ","), n)
	}
	fmt.Fprintf(&sb, `]}},"learner_model_param":{"base_score":"5E-1","num_class":"0","num_feature":"%d"},"objective":{"name":"binary:logistic"}},"version":[1,7,4]}`, features)
	return sb.String()
}

func synthModel(tb testing.TB) *Model {
	tb.Helper()
	m, err := LoadXGBoostJSON(strings.NewReader(synthXGB(100, 6, 20, 1)))
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

func randomRows(n, nf int, seed int64) []float64 {
	r := rand.New(rand.NewSource(seed))
	rows := make([]float64, n*nf)
	for i := range rows {
		if r.Intn(20) == 0 {
			rows[i] = math.NaN()
		} else {
			rows[i] = r.NormFloat64()
		}
	}
	return rows
}

func TestSynthModel(t *testing.T) {
	m := synthModel(t)
	if m.NumTrees() != 100 || m.NumFeatures() != 20 || len(m.nodes) != 100*127 {
		t.Fatalf("synthetic model: %d trees, %d features, %d nodes", m.NumTrees(), m.NumFeatures(), len(m.nodes))
	}
	if n := testing.AllocsPerRun(100, func() {
		m.Predict(randomRowsFixed[:20], outFixed[:1])
	}); n != 0 {
		t.Errorf("Predict allocates %v times per row, want 0", n)
	}
}

var (
	randomRowsFixed = randomRows(1, 20, 7)
	outFixed        = make([]float64, 1)
)

// BenchmarkPredictSingle scores one row of a 100-tree, depth-6, 20-feature
// model (target: under 5 µs, no allocations).
func BenchmarkPredictSingle(b *testing.B) {
	m := synthModel(b)
	rows := randomRows(1024, 20, 3)
	out := make([]float64, 1)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		m.Predict(rows[i*20:i*20+20], out)
		i = (i + 1) & 1023
	}
}

// xgbBench runs testdata/gen/xgb_bench.py once per process: it trains the
// benchmark model with XGBoost, writes model.json and the rows, and times
// XGBoost's inplace_predict on them with 2 threads.
//
// With TREES_BENCH_DIR set to a directory an earlier run filled, it reuses
// that model and those rows (xgb_bench.py --reuse), so repeated runs compare
// the same inputs.
var xgbBench = sync.OnceValues(func() (dir string, result map[string]any) {
	args := []string{filepath.Join("testdata", "gen", "xgb_bench.py")}
	if dir = os.Getenv("TREES_BENCH_DIR"); dir != "" {
		args = append(args, dir)
		if _, err := os.Stat(filepath.Join(dir, "model.json")); err == nil {
			args = append(args, "--reuse")
		}
	} else {
		var err error
		if dir, err = os.MkdirTemp("", "trees-bench"); err != nil {
			return "", nil
		}
		args = append(args, dir)
	}
	args = append(args, "--rows", "100000", "--threads", "2", "--repeat", "20")
	out, err := exec.Command("/usr/bin/python3", args...).Output()
	if err != nil {
		return "", nil
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if json.Unmarshal([]byte(lines[len(lines)-1]), &result) != nil {
		return "", nil
	}
	return dir, result
})

// BenchmarkPredictBatch scores 100,000 rows. The "xgboost-model" cases load
// the model.json that XGBoost trained in xgb_bench.py and score the same rows
// XGBoost's inplace_predict was timed on, reporting XGBoost's rows/s beside
// ours (xgb-rows/s); they are skipped when Python or xgboost is missing.
func BenchmarkPredictBatch(b *testing.B) {
	const nrows = 100_000
	run := func(b *testing.B, m *Model, rows []float64, threads int) {
		out := make([]float64, nrows*m.NumOutputs())
		b.ReportAllocs()
		for b.Loop() {
			m.PredictBatch(rows, nrows, out, threads)
		}
		b.ReportMetric(float64(nrows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	}
	synth := synthModel(b)
	synthRows := randomRows(nrows, 20, 5)
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("synthetic/threads=%d", threads), func(b *testing.B) {
			run(b, synth, synthRows, threads)
		})
	}
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("xgboost-model/threads=%d", threads), func(b *testing.B) {
			dir, res := xgbBench()
			if res == nil {
				b.Skip("needs /usr/bin/python3 with xgboost")
			}
			m, err := LoadFile(filepath.Join(dir, "model.json"))
			if err != nil {
				b.Fatal(err)
			}
			raw, err := os.ReadFile(filepath.Join(dir, "rows.f64"))
			if err != nil || len(raw) != nrows*20*8 {
				b.Fatalf("rows.f64: %v (%d bytes)", err, len(raw))
			}
			rows := make([]float64, nrows*20)
			for i := range rows {
				rows[i] = math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:]))
			}
			run(b, m, rows, threads)
			if threads == 2 {
				b.ReportMetric(res["rows_per_sec"].(float64), "xgb-rows/s")
			}
		})
	}
}
