package gbdt

import (
	"bytes"
	"slices"
	"testing"
)

// leafCount returns the number of leaves of a tree and its depth.
func leafCount(tr *Tree) (leaves, depth int) {
	d := make([]int, len(tr.Left))
	for i, l := range tr.Left {
		if l < 0 {
			leaves++
			depth = max(depth, d[i])
			continue
		}
		d[l], d[tr.Right[i]] = d[i]+1, d[i]+1
	}
	return leaves, depth
}

// TestGrowPolicyTreeShapesMatchXGBoost trains on data with few distinct
// values per feature, where Hangar's bins and XGBoost's coincide, so both
// grow the same trees: same node numbering (breadth-first for depthwise,
// by expansion for lossguide), same split features, same leaf limits.
func TestGrowPolicyTreeShapesMatchXGBoost(t *testing.T) {
	t.Parallel()
	n := 3000
	x1, x2, x3, y := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	for i := range n {
		x1[i] = float64(i%97) / 97
		x2[i] = float64((i*31)%101) / 101
		x3[i] = float64((i*17)%53) / 53
		y[i] = x1[i]*3 + x2[i]*x2[i]*5 - x3[i]*2*x1[i]
	}
	d := &Dataset{Features: []string{"x1", "x2", "x3"}, Columns: [][]float64{x1, x2, x3}, Label: y}
	for _, c := range []struct {
		name             string
		policy           string
		depth, maxLeaves int
	}{
		{"lossguide leaves", Lossguide, 0, 7},
		{"lossguide depth", Lossguide, 3, 0},
		{"lossguide both", Lossguide, 4, 9},
		{"depthwise leaves", Depthwise, 6, 5},
		{"depthwise depth", Depthwise, 3, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := DefaultParams()
			p.GrowPolicy, p.MaxDepth, p.MaxLeaves, p.NEstimators, p.Threads = c.policy, c.depth, c.maxLeaves, 4, 2
			m, err := Train(t.Context(), p, d, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			for i, tr := range m.Trees {
				leaves, depth := leafCount(tr)
				if (c.maxLeaves > 0 && leaves > c.maxLeaves) || (c.depth > 0 && depth > c.depth) {
					t.Errorf("tree %d has %d leaves and depth %d; limits %d and %d", i, leaves, depth, c.maxLeaves, c.depth)
				}
			}
			havePython(t)
			_, op, shapes := runXGBoostTrees(t, map[string]any{
				"objective": "reg:squarederror", "n_estimators": 4, "nthread": 2,
				"grow_policy": c.policy, "max_depth": c.depth, "max_leaves": c.maxLeaves,
			}, d, d, m)
			if len(shapes) != len(m.Trees) {
				t.Fatalf("XGBoost grew %d trees, we %d", len(shapes), len(m.Trees))
			}
			for i, tr := range m.Trees {
				s := shapes[i]
				if !slices.Equal(tr.Left, s.Left) || !slices.Equal(tr.Right, s.Right) || !slices.Equal(tr.Feature, s.Feature) {
					t.Errorf("tree %d differs from XGBoost's:\nours left %v features %v\nxgb  left %v features %v", i, tr.Left, tr.Feature, s.Left, s.Feature)
				}
			}
			sameAsXGBoost(t, predictAll(m, d), op)
		})
	}
}

// TestChicagoLossguideVsXGBoost compares test RMSE with XGBoost's
// (grow_policy lossguide, max_leaves 31, no depth limit) and checks XGBoost
// loads the model and predicts what Hangar predicts.
func TestChicagoLossguideVsXGBoost(t *testing.T) {
	t.Parallel()
	train, test := chicago(t)
	const rounds, leaves = 50, 31
	p := DefaultParams()
	p.GrowPolicy, p.MaxLeaves, p.MaxDepth, p.NEstimators, p.Threads = Lossguide, leaves, 0, rounds, 2
	m, err := Train(t.Context(), p, train, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	full, deepest := 0, 0
	for i, tr := range m.Trees {
		l, d := leafCount(tr)
		if l > leaves {
			t.Fatalf("tree %d has %d leaves, want <= %d", i, l, leaves)
		}
		if l == leaves {
			full++
		}
		deepest = max(deepest, d)
	}
	if full == 0 || deepest <= 5 {
		t.Errorf("%d trees reach %d leaves, deepest %d: want some full trees deeper than a balanced one (5)", full, leaves, deepest)
	}
	ours := predictAll(m, test)
	ourRMSE := rmse(ours, test.Label)
	havePython(t)
	xp, op := runXGBoost(t, map[string]any{
		"objective": "reg:squarederror", "n_estimators": rounds, "nthread": 2,
		"grow_policy": "lossguide", "max_leaves": leaves, "max_depth": 0,
	}, train, test, m)
	xgbPred := make([][]float64, len(xp))
	for i, v := range xp {
		xgbPred[i] = []float64{v}
	}
	xgbRMSE := rmse(xgbPred, test.Label)
	t.Logf("lossguide test RMSE: hangar %.4f, xgboost %.4f", ourRMSE, xgbRMSE)
	if ourRMSE > 1.05*xgbRMSE {
		t.Errorf("hangar test RMSE %.4f is more than 5%% above XGBoost's %.4f", ourRMSE, xgbRMSE)
	}
	sameAsXGBoost(t, ours, op)
}

func TestLossguideDeterministic(t *testing.T) {
	t.Parallel()
	train, _ := chicago(t)
	p := DefaultParams()
	p.GrowPolicy, p.MaxLeaves, p.MaxDepth = Lossguide, 31, 0
	p.NEstimators, p.Subsample, p.ColsampleBytree, p.Seed = 6, 0.7, 0.6, 42
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
		t.Error("lossguide models differ between runs with the same seed and 1 or 2 threads")
	}
}
