package trees

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hangar-ml/hangar"
)

// minXGB is a hand-written XGBoost 1.7 model: b < 0.5 (NaN left) ? -1 : 2,
// plus base_score 0.5.
const minXGB = `{"learner":{"attributes":{},"feature_names":["a","b"],"feature_types":["float","float"],
"gradient_booster":{"model":{"gbtree_model_param":{"num_parallel_tree":"1","num_trees":"1"},"tree_info":[0],
"trees":[{"base_weights":[0,0,0],"categories":[],"categories_nodes":[],"categories_segments":[],"categories_sizes":[],
"default_left":[1,0,0],"id":0,"left_children":[1,-1,-1],"loss_changes":[0,0,0],"parents":[2147483647,0,0],
"right_children":[2,-1,-1],"split_conditions":[5E-1,-1E0,2E0],"split_indices":[1,0,0],"split_type":[0,0,0],
"sum_hessian":[1,1,1],"tree_param":{"num_deleted":"0","num_feature":"2","num_nodes":"3","size_leaf_vector":"0"}}]},"name":"gbtree"},
"learner_model_param":{"base_score":"5E-1","boost_from_average":"1","num_class":"0","num_feature":"2","num_target":"1"},
"objective":{"name":"reg:squarederror","reg_loss_param":{"scale_pos_weight":"1"}}},"version":[1,7,4]}`

func TestMinimalXGBoost(t *testing.T) {
	variants := map[string]string{
		"1.7":               minXGB,
		"2.x vector base":   strings.Replace(minXGB, `"base_score":"5E-1"`, `"base_score":"[5E-1]"`, 1),
		"bool default_left": strings.Replace(minXGB, `"default_left":[1,0,0]`, `"default_left":[true,false,false]`, 1),
		"no split_type":     strings.Replace(minXGB, `"split_type":[0,0,0],`, ``, 1),
		"leading space":     "\n  " + minXGB,
		"NaN in loss":       strings.Replace(minXGB, `"loss_changes":[0,0,0]`, `"loss_changes":[NaN,Infinity,-Infinity]`, 1),
	}
	for name, text := range variants {
		t.Run(name, func(t *testing.T) {
			m, err := Load(strings.NewReader(text))
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				row  []float64
				want float64
			}{
				{[]float64{0, 0.25}, -0.5},
				{[]float64{0, 0.5}, 2.5},
				{[]float64{0, math.NaN()}, -0.5},
				{[]float64{0, math.Inf(1)}, 2.5},
				{[]float64{0, math.Inf(-1)}, -0.5},
			} {
				out := []float64{0}
				m.Predict(c.row, out)
				if out[0] != c.want {
					t.Errorf("Predict(%v) = %v, want %v", c.row, out[0], c.want)
				}
			}
			want := []Feature{{"a", "float"}, {"b", "float"}}
			if got := m.Features(); len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
				t.Errorf("Features() = %v, want %v", got, want)
			}
			if s := m.Source(); s != (Source{Format: "xgboost-json", Version: "1.7.4", Booster: "gbtree", Objective: "reg:squarederror"}) {
				t.Errorf("Source() = %+v", s)
			}
		})
	}
}

func TestXGBoostSynthesisedFeatureNames(t *testing.T) {
	text := strings.Replace(minXGB, `"feature_names":["a","b"],"feature_types":["float","float"]`, `"feature_names":[],"feature_types":[]`, 1)
	m, err := LoadXGBoostJSON(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Features(); got[0] != (Feature{Name: "f0"}) || got[1] != (Feature{Name: "f1"}) {
		t.Errorf("Features() = %v, want f0, f1 without types", got)
	}
}

func TestBadModels(t *testing.T) {
	// model.ubj: XGBoost 1.7.4's save_model("m.ubj") of a one-tree model.
	ubj := readFixture(t, "ubj", "model.ubj")
	const ubjErr = "XGBoost UBJSON models are not supported: re-save with save_model('m.json')"
	lgbReg := readFixture(t, "lgb", "regression.txt")
	lgbCat := readFixture(t, "lgb", "categorical.txt")
	lgbMulti := readFixture(t, "lgb", "multiclass.txt")
	tests := []struct {
		name     string
		base     string
		old, new string // replace the first old with new; old == "" means use new as the whole file
		wantErr  string
	}{
		// XGBoost JSON.
		{"xgb child out of range", minXGB, `"left_children":[1,-1,-1]`, `"left_children":[5,-1,-1]`, "left child 5 out of range"},
		{"xgb negative child", minXGB, `"right_children":[2,-1,-1]`, `"right_children":[-7,-1,-1]`, "right child -7 out of range"},
		{"xgb self cycle", minXGB, `"left_children":[1,-1,-1]`, `"left_children":[0,-1,-1]`, "reached twice"},
		{"xgb cycle", minXGB, `"left_children":[1,-1,-1],"loss_changes":[0,0,0],"parents":[2147483647,0,0],
"right_children":[2,-1,-1]`, `"left_children":[1,0,-1],"loss_changes":[0,0,0],"parents":[2147483647,0,0],
"right_children":[2,2,-1]`, "reached twice"},
		{"xgb leaf with one child", minXGB, `"right_children":[2,-1,-1]`, `"right_children":[2,1,-1]`, "right child is 1"},
		{"xgb feature out of range", minXGB, `"split_indices":[1,0,0]`, `"split_indices":[2,0,0]`, "split feature 2 outside [0,2)"},
		{"xgb NaN threshold", minXGB, `"split_conditions":[5E-1,`, `"split_conditions":[NaN,`, "split condition is NaN"},
		{"xgb NaN leaf", minXGB, `-1E0,2E0]`, `NaN,2E0]`, "leaf value is NaN"},
		{"xgb short array", minXGB, `"default_left":[1,0,0]`, `"default_left":[1,0]`, "default_left has 2 entries"},
		{"xgb num_nodes", minXGB, `"num_nodes":"3"`, `"num_nodes":"4"`, "num_nodes"},
		{"xgb unknown objective", minXGB, `"name":"reg:squarederror"`, `"name":"reg:foo"`, `unsupported objective "reg:foo"`},
		{"xgb gblinear", minXGB, `"name":"gbtree"`, `"name":"gblinear"`, "gblinear"},
		{"xgb dart without weights", strings.Replace(minXGB, `]},"name":"gbtree"}`, `]},"name":"gbtree"}}`, 1),
			`"gradient_booster":{"model":`, `"gradient_booster":{"name":"dart","gbtree":{"model":`, "weight_drop"},
		{"xgb truncated", minXGB[:len(minXGB)/2], "", "", "not valid JSON at byte"},
		{"xgb ubjson", ubj, "", "", ubjErr},
		{"xgb ubjson int8 key", "{i\x07learner{i\x0aattributes{}", "", "", ubjErr},
		{"xgb ubjson typed", "{$U#i\x01i\x01aU\x01}", "", "", ubjErr},
		{"xgb ubjson count", " \n{#i\x00", "", "", ubjErr},
		{"xgb no learner", `{"version":[1,7,4]}`, "", "", "no \"learner\""},
		{"xgb learner not an object", `{"learner": "not a model"}`, "", "", "learner is a JSON string, want an object"},
		{"xgb number for a string", minXGB, `"num_feature":"2","num_target"`, `"num_feature":2,"num_target"`, "learner.learner_model_param.num_feature is a JSON number, want a string"},
		{"xgb booster not an object", minXGB, `"gradient_booster":{`, `"gradient_booster":"gbtree","unused":{`, "learner.gradient_booster is a JSON string, want an object"},
		{"xgb tree_info length", minXGB, `"tree_info":[0]`, `"tree_info":[0,0]`, "tree_info has 2 entries for 1 trees"},
		{"xgb tree_info range", minXGB, `"tree_info":[0]`, `"tree_info":[3]`, "tree_info[0] = 3"},
		{"xgb bad base_score", minXGB, `"base_score":"5E-1"`, `"base_score":"abc"`, "base_score"},
		{"xgb logistic base_score", minXGB, `"name":"reg:squarederror"`, `"name":"binary:logistic"`, ""},
		{"xgb logistic base_score out of range", minXGB, `"base_score":"5E-1","boost_from_average":"1","num_class":"0","num_feature":"2","num_target":"1"},
"objective":{"name":"reg:squarederror"`, `"base_score":"1.5E0","boost_from_average":"1","num_class":"0","num_feature":"2","num_target":"1"},
"objective":{"name":"binary:logistic"`, "must be in (0,1)"},
		{"xgb feature names", minXGB, `"feature_names":["a","b"]`, `"feature_names":["a"]`, "1 feature_names for 2 features"},
		{"xgb vector leaf", minXGB, `"size_leaf_vector":"0"}}]`, `"size_leaf_vector":"3"}}]`, "vector-leaf"},
		{"xgb multi-target", minXGB, `"num_target":"1"`, `"num_target":"2"`, "multi-target"},
		{"xgb split type", minXGB, `"split_type":[0,0,0]`, `"split_type":[2,0,0]`, "unknown split_type 2"},
		{"xgb categorical without categories", minXGB, `"split_type":[0,0,0]`, `"split_type":[1,0,0]`, "missing from categories_nodes"},
		{"xgb categorical segment", minXGB, `"categories":[],"categories_nodes":[],"categories_segments":[],"categories_sizes":[],
"default_left":[1,0,0],`, `"categories":[1],"categories_nodes":[0],"categories_segments":[0],"categories_sizes":[4],
"default_left":[1,0,0],`, "outside categories"},
		{"xgb num_feature", minXGB, `"num_feature":"2","num_target"`, `"num_feature":"x","num_target"`, "num_feature"},
		{"xgb multi without classes", minXGB, `"name":"reg:squarederror"`, `"name":"multi:softprob"`, "needs num_class"},

		// LightGBM text.
		{"lgb child out of range", lgbReg, "left_child=1 -1", "left_child=5 -1", "left child 5 out of range"},
		{"lgb cycle", lgbReg, "left_child=1 -1", "left_child=1 0", "reached twice"},
		{"lgb leaf out of range", lgbReg, "right_child=-2 -3", "right_child=-2 -9", "right child leaf 8 out of range"},
		{"lgb shared leaf", lgbReg, "right_child=-2 -3", "right_child=-2 -2", "reached twice"},
		{"lgb feature out of range", lgbReg, "split_feature=0 1", "split_feature=0 3", "split feature 3 outside [0,3)"},
		{"lgb NaN threshold", lgbReg, "threshold=0.5 -0.25", "threshold=nan -0.25", "threshold is NaN"},
		{"lgb short array", lgbReg, "decision_type=2 10", "decision_type=2", "decision_type has 1 values, want 2"},
		{"lgb missing array", lgbReg, "left_child=1 -1\n", "", "no left_child line"},
		{"lgb bad number", lgbReg, "leaf_value=1 2 3", "leaf_value=1 x 3", `leaf_value[1] = "x"`},
		{"lgb unknown objective", lgbReg, "objective=regression", "objective=lambdaforest", `unsupported objective "lambdaforest"`},
		{"lgb no objective", lgbReg, "objective=regression\n", "", "no objective"},
		{"lgb truncated", lgbReg[:len(lgbReg)/2], "", "", "truncated"},
		{"lgb no end of trees", lgbReg, "end of trees", "", "truncated"},
		{"lgb linear tree", lgbReg, "is_linear=0", "is_linear=1", "linear trees"},
		{"lgb not a model", "trees\nversion=v4\n", "", "", "unknown model format"},
		{"lgb tree numbering", lgbReg, "Tree=1", "Tree=7", "expected Tree=1"},
		{"lgb missing type 3", lgbReg, "decision_type=2 10", "decision_type=2 14", "unknown missing type"},
		{"lgb num_leaves", lgbReg, "num_leaves=3", "num_leaves=-1", "num_leaves"},
		{"lgb no max_feature_idx", lgbReg, "max_feature_idx=2\n", "", "max_feature_idx"},
		{"lgb feature names", lgbReg, "feature_names=x0 x1 x2", "feature_names=x0 x1", "2 feature_names for 3 features"},
		{"lgb category index", lgbCat, "threshold=0 1", "threshold=0 2", "not a category index"},
		{"lgb cat_threshold length", lgbCat, "cat_boundaries=0 1 3", "cat_boundaries=0 1 9", "cat_threshold has 3 values, want 9"},
		{"lgb cat_boundaries order", lgbCat, "cat_boundaries=0 1 3", "cat_boundaries=0 4 3", "decrease"},
		{"lgb num_class mismatch", lgbMulti, "objective=multiclass num_class:3", "objective=multiclass num_class:4", "does not match"},
		{"lgb trees per iteration", lgbMulti, "num_tree_per_iteration=3", "num_tree_per_iteration=4", "num_tree_per_iteration"},
		{"lgb bad sigmoid", lgbReg, "objective=regression", "objective=binary sigmoid:-1", "bad sigmoid"},

		// Neither.
		{"empty", "", "", "", "empty model file"},
		{"garbage", "hello", "", "", "unknown model format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := tt.base
			if tt.old != "" {
				if !strings.Contains(text, tt.old) {
					t.Fatalf("fixture lacks %q", tt.old)
				}
				text = strings.Replace(text, tt.old, tt.new, 1)
			}
			m, err := Load(strings.NewReader(text))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Load: %v, want success", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Load succeeded (%d trees), want error containing %q", m.NumTrees(), tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not contain %q", err, tt.wantErr)
			}
			if strings.Count(err.Error(), "XGBoost model:") > 1 {
				t.Errorf("error %q repeats its prefix", err)
			}
			if code := hangar.ErrorCode(err); code != hangar.EINVALID {
				t.Errorf("ErrorCode = %q, want %q", code, hangar.EINVALID)
			}
		})
	}
}

func TestLoadFileErrors(t *testing.T) {
	_, err := LoadFile(filepath.Join(t.TempDir(), "missing.json"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("LoadFile(missing) = %v, want os.ErrNotExist", err)
	}
}

func TestPredictPanicsOnShortInput(t *testing.T) {
	m, err := Load(strings.NewReader(minXGB))
	if err != nil {
		t.Fatal(err)
	}
	for name, f := range map[string]func(){
		"short row":   func() { m.Predict([]float64{1}, []float64{0}) },
		"short out":   func() { m.PredictRaw([]float64{1, 2}, nil) },
		"short batch": func() { m.PredictBatch([]float64{1, 2, 3}, 2, make([]float64, 2), 1) },
		"short bout":  func() { m.PredictBatchRaw([]float64{1, 2, 3, 4}, 2, make([]float64, 1), 1) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if r := recover(); r == nil {
					t.Error("no panic")
				} else if !strings.Contains(r.(string), "trees:") {
					t.Errorf("panic %v lacks a clear message", r)
				}
			}()
			f()
		})
	}
}

// TestXGBThreshold checks the float32 comparison folding exhaustively around
// many thresholds: float32(x) < t must equal x < xgbThreshold(t).
func TestXGBThreshold(t *testing.T) {
	f32 := func(b uint32) float32 { return math.Float32frombits(b) }
	ts := []float32{0, f32(0x80000000), 1, -1, 0.5, 0.1, -0.1, 3.4e38, -3.4e38, math.MaxFloat32, -math.MaxFloat32,
		f32(1), f32(0x80000001), f32(2), f32(0x007fffff), f32(0x00800000), 1e-38, 16777216, 16777217,
		float32(math.Inf(1)), float32(math.Inf(-1)), 0.53355056, -0.25, 1.5}
	for i := uint32(0); i < 2000; i++ {
		ts = append(ts, f32(i*2654435761)) // spread over the bit patterns
	}
	for _, tv := range ts {
		if math.IsNaN(float64(tv)) {
			continue
		}
		T := xgbThreshold(tv)
		p := float64(math.Nextafter32(tv, float32(math.Inf(-1))))
		n := float64(math.Nextafter32(tv, float32(math.Inf(1))))
		mids := []float64{(p + float64(tv)) / 2, (n + float64(tv)) / 2}
		if math.IsInf(float64(tv), 1) {
			mids = append(mids, math.MaxFloat32+math.Exp2(103))
		}
		xs := []float64{float64(tv), p, n, math.Inf(1), math.Inf(-1), 0, math.Copysign(0, -1)}
		for _, mid := range mids {
			xs = append(xs, mid, math.Nextafter(mid, math.Inf(1)), math.Nextafter(mid, math.Inf(-1)))
		}
		xs = append(xs, math.Nextafter(float64(tv), math.Inf(1)), math.Nextafter(float64(tv), math.Inf(-1)))
		for _, x := range xs {
			if math.IsNaN(x) {
				continue
			}
			want := float32(x) < tv
			got := !(x >= T)
			if got != want {
				t.Errorf("t=%v (bits %#x) x=%v: folded compare says left=%v, float32 compare %v", tv, math.Float32bits(tv), x, got, want)
			}
		}
	}
}

func readFixture(t testing.TB, parts ...string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(append([]string{"testdata"}, parts...)...))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestFastStep checks the sign-flip encoding of numeric splits against the
// plain rule (x >= T right, NaN to the default side) for both defaults.
func TestFastStep(t *testing.T) {
	ts := []float64{0, math.Copysign(0, -1), 1, -1, 0.5, -2.5, 1e-300, -1e-300, math.MaxFloat64, -math.MaxFloat64,
		math.SmallestNonzeroFloat64, -math.SmallestNonzeroFloat64, 3.4028235677973366e38}
	for _, T := range ts {
		for _, dl := range []bool{false, true} {
			m := &Model{numFeatures: 1}
			var flags uint32
			if dl {
				flags = flagDefaultLeft
			}
			// Node 0 splits; node 1 is the left leaf (-1), node 2 the right (+1).
			src := []srcNode{{left: 1, right: 2, threshold: T, flags: flags}, {leaf: true, value: -1}, {leaf: true, value: 1}}
			if _, err := m.addTree(src, 0, 0); err != nil {
				t.Fatal(err)
			}
			xs := []float64{T, math.Nextafter(T, math.Inf(1)), math.Nextafter(T, math.Inf(-1)), -T, 0,
				math.Copysign(0, -1), math.Inf(1), math.Inf(-1), math.NaN(), 1, -1}
			for _, x := range xs {
				want := -1.0
				if x >= T || (math.IsNaN(x) && !dl) {
					want = 1
				}
				if got := m.leaf(m.nodes, 0, []float64{x}); got != want {
					t.Errorf("T=%v defaultLeft=%v x=%v: single walk %v, want %v", T, dl, x, got, want)
				}
				idx := []int32{0}
				m.walkBlock(0, 3, false, []float64{x, 0}, 2, idx) // extra levels: leaves must hold
				if got := m.values[idx[0]]; got != want {
					t.Errorf("T=%v defaultLeft=%v x=%v: lockstep walk %v, want %v", T, dl, x, got, want)
				}
			}
		}
	}
}
