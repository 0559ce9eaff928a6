package gbdt

import (
	"bytes"
	"math"
	"testing"

	"github.com/hangar-ml/hangar/trees"

	"github.com/hangar-ml/hangar"
)

// TestTreesRuntimeLoadsModel checks that Hangar's runtime (package trees)
// loads what the trainer writes and predicts the same, for every objective.
func TestTreesRuntimeLoadsModel(t *testing.T) {
	train, test := chicago(t)
	med := median(train.Label)
	for _, obj := range []string{hangar.ObjectiveRegSquaredError, hangar.ObjectiveBinaryLogistic, hangar.ObjectiveMultiSoftprob, hangar.ObjectiveMultiSoftmax} {
		t.Run(obj, func(t *testing.T) {
			tr, te := *train, *test
			relabel := func(y []float64) []float64 {
				out := make([]float64, len(y))
				for i, v := range y {
					switch obj {
					case hangar.ObjectiveRegSquaredError:
						out[i] = v
					case hangar.ObjectiveBinaryLogistic:
						out[i] = b2f(v > med)
					default:
						out[i] = b2f(v > med) + b2f(v > med*1.2)
					}
				}
				return out
			}
			tr.Label, te.Label = relabel(train.Label), relabel(test.Label)
			te.Columns = append([][]float64(nil), test.Columns...)
			te.Columns[3] = append([]float64(nil), te.Columns[3]...)
			for i := 0; i < len(te.Label); i += 5 {
				te.Columns[3][i] = math.NaN() // missing values take the default branch
			}
			p := DefaultParams()
			p.Objective, p.NEstimators = obj, 8
			m, err := Train(t.Context(), p, &tr, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := m.SaveXGBoostJSON(&buf); err != nil {
				t.Fatal(err)
			}
			rm, err := trees.Load(&buf)
			if err != nil {
				t.Fatal(err)
			}
			if rm.NumFeatures() != len(m.Features) || rm.NumOutputs() != m.NumOutputs() || rm.Objective() != obj {
				t.Fatalf("runtime sees %d features, %d outputs, %q; want %d, %d, %q", rm.NumFeatures(), rm.NumOutputs(), rm.Objective(), len(m.Features), m.NumOutputs(), obj)
			}
			for j, f := range rm.Features() {
				if f.Name != m.Features[j] {
					t.Fatalf("feature %d is %q, want %q", j, f.Name, m.Features[j])
				}
			}
			ours := predictAll(m, &te)
			row := make([]float64, len(te.Columns))
			out := make([]float64, m.NumOutputs())
			for i := range te.Label {
				for j, c := range te.Columns {
					row[j] = c[i]
				}
				rm.Predict(row, out)
				for k, v := range out {
					if math.Abs(v-ours[i][k]) > 1e-5*max(1, math.Abs(v)) {
						t.Fatalf("row %d output %d: runtime %v, trainer %v", i, k, v, ours[i][k])
					}
				}
			}
		})
	}
}
