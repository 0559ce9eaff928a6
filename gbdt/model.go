package gbdt

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"github.com/hangar-ml/hangar"
)

// Tree is one regression tree in XGBoost's array layout: node 0 is the
// root; a leaf has Left = Right = -1 and its value in Cond; an inner node
// sends x to Left when float32(x) < Cond, and a missing x to Left when
// DefaultLeft.
type Tree struct {
	Left, Right, Parent []int32
	Feature             []int32
	Cond                []float32
	DefaultLeft         []bool
	LossChange          []float32
	SumHessian          []float32
	BaseWeight          []float32

	bin []int32 // split bins while training
}

// leaf returns the leaf value for a row of raw feature values.
func (tr *Tree) leaf(row []float64) float64 {
	id := int32(0)
	for tr.Left[id] >= 0 {
		x := row[tr.Feature[id]]
		switch {
		case math.IsNaN(x):
			if tr.DefaultLeft[id] {
				id = tr.Left[id]
			} else {
				id = tr.Right[id]
			}
		case float32(x) < tr.Cond[id]:
			id = tr.Left[id]
		default:
			id = tr.Right[id]
		}
	}
	return float64(tr.Cond[id])
}

// Model is a trained ensemble.
type Model struct {
	Objective string
	NumClass  int // number of classes for multi:*, else 0
	Features  []string
	BaseScore float64 // in output space, as XGBoost's base_score
	Trees     []*Tree
	TreeInfo  []int // output (class) of each tree
	// BestIteration is, with early stopping, the round with the best
	// validation metric, and the model keeps the trees up to and including
	// it only, so every reader predicts with the best model; without early
	// stopping it is the last round and every round's trees are kept.
	BestIteration int
	Params        Params     // the parameters trained with (NumClass filled in)
	History       []Progress // one entry per round trained
}

// NumOutputs returns the number of margins per row: NumClass for multi:*, else 1.
func (m *Model) NumOutputs() int { return max(1, m.NumClass) }

// PredictMargin writes the untransformed scores of one row (feature values
// in Features order, NaN = missing) into out (len NumOutputs).
func (m *Model) PredictMargin(row, out []float64) {
	base := baseMargin(Params{Objective: m.Objective, BaseScore: m.BaseScore})
	for k := range out[:m.NumOutputs()] {
		out[k] = base
	}
	for i, tr := range m.Trees {
		out[m.TreeInfo[i]] += tr.leaf(row)
	}
}

// Predict writes the prediction of one row into out: the value for
// regression, the probability of class 1 for binary:logistic, the class
// probabilities for multi:* (argmax is the class).
func (m *Model) Predict(row, out []float64) {
	m.PredictMargin(row, out)
	switch m.Objective {
	case hangar.ObjectiveBinaryLogistic:
		out[0] = sigmoid(out[0])
	case hangar.ObjectiveMultiSoftmax, hangar.ObjectiveMultiSoftprob:
		softmax(out[:m.NumClass], out[:m.NumClass])
	}
}

// ModelFile is the name of the model file in a model folder.
const ModelFile = "model.json"

// Write saves the model in XGBoost JSON format as dir/model.json, creating dir.
func (m *Model) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write model: %w", err)
	}
	f, err := os.Create(filepath.Join(dir, ModelFile))
	if err != nil {
		return fmt.Errorf("write model: %w", err)
	}
	w := bufio.NewWriter(f)
	if err := m.SaveXGBoostJSON(w); err != nil {
		f.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("write model: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write model: %w", err)
	}
	return nil
}

// Types of XGBoost's JSON model (the schema of XGBoost 1.7's save_model
// with a .json name; 2.x reads it too).
type (
	xgbFile struct {
		Learner xgbLearner `json:"learner"`
		Version [3]int     `json:"version"`
	}
	xgbLearner struct {
		Attributes       map[string]string `json:"attributes"`
		FeatureNames     []string          `json:"feature_names"`
		FeatureTypes     []string          `json:"feature_types"`
		GradientBooster  xgbBooster        `json:"gradient_booster"`
		LearnerModelPara map[string]string `json:"learner_model_param"`
		Objective        map[string]any    `json:"objective"`
	}
	xgbBooster struct {
		Model xgbGBTree `json:"model"`
		Name  string    `json:"name"`
	}
	xgbGBTree struct {
		Param    map[string]string `json:"gbtree_model_param"`
		TreeInfo []int             `json:"tree_info"`
		Trees    []xgbTree         `json:"trees"`
	}
	xgbTree struct {
		BaseWeights        f32s              `json:"base_weights"`
		Categories         []int             `json:"categories"`
		CategoriesNodes    []int             `json:"categories_nodes"`
		CategoriesSegments []int             `json:"categories_segments"`
		CategoriesSizes    []int             `json:"categories_sizes"`
		DefaultLeft        []int             `json:"default_left"`
		ID                 int               `json:"id"`
		LeftChildren       []int32           `json:"left_children"`
		LossChanges        f32s              `json:"loss_changes"`
		Parents            []int32           `json:"parents"`
		RightChildren      []int32           `json:"right_children"`
		SplitConditions    f32s              `json:"split_conditions"`
		SplitIndices       []int32           `json:"split_indices"`
		SplitType          []int             `json:"split_type"`
		SumHessian         f32s              `json:"sum_hessian"`
		TreeParam          map[string]string `json:"tree_param"`
	}
)

// SaveXGBoostJSON writes the model in XGBoost's JSON model format.
func (m *Model) SaveXGBoostJSON(w io.Writer) error {
	nf := strconv.Itoa(len(m.Features))
	obj := map[string]any{"name": m.Objective}
	switch m.Objective {
	case hangar.ObjectiveMultiSoftmax, hangar.ObjectiveMultiSoftprob:
		obj["softmax_multiclass_param"] = map[string]string{"num_class": strconv.Itoa(m.NumClass)}
	default:
		obj["reg_loss_param"] = map[string]string{"scale_pos_weight": "1"}
	}
	ftypes := make([]string, len(m.Features))
	for i := range ftypes {
		ftypes[i] = "float"
	}
	trees := make([]xgbTree, len(m.Trees))
	for i, tr := range m.Trees {
		nn := len(tr.Left)
		dl := make([]int, nn)
		for j, b := range tr.DefaultLeft {
			if b {
				dl[j] = 1
			}
		}
		trees[i] = xgbTree{
			BaseWeights: tr.BaseWeight, Categories: []int{}, CategoriesNodes: []int{},
			CategoriesSegments: []int{}, CategoriesSizes: []int{}, DefaultLeft: dl, ID: i,
			LeftChildren: tr.Left, LossChanges: tr.LossChange, Parents: tr.Parent, RightChildren: tr.Right,
			SplitConditions: tr.Cond, SplitIndices: tr.Feature, SplitType: make([]int, nn), SumHessian: tr.SumHessian,
			TreeParam: map[string]string{"num_deleted": "0", "num_feature": nf, "num_nodes": strconv.Itoa(nn), "size_leaf_vector": "0"},
		}
	}
	doc := xgbFile{
		Version: [3]int{1, 7, 4},
		Learner: xgbLearner{
			Attributes: map[string]string{
				"best_iteration":   strconv.Itoa(m.BestIteration),
				"best_ntree_limit": strconv.Itoa(m.BestIteration + 1),
			},
			FeatureNames: m.Features,
			FeatureTypes: ftypes,
			GradientBooster: xgbBooster{Name: "gbtree", Model: xgbGBTree{
				Param:    map[string]string{"num_parallel_tree": "1", "num_trees": strconv.Itoa(len(m.Trees)), "size_leaf_vector": "0"},
				TreeInfo: m.TreeInfo,
				Trees:    trees,
			}},
			LearnerModelPara: map[string]string{
				"base_score":         strconv.FormatFloat(float64(float32(m.BaseScore)), 'E', -1, 32),
				"boost_from_average": "1",
				"num_class":          strconv.Itoa(m.NumClass),
				"num_feature":        nf,
				"num_target":         "1",
			},
			Objective: obj,
		},
	}
	if err := json.NewEncoder(w).Encode(doc); err != nil {
		return fmt.Errorf("write XGBoost JSON: %w", err)
	}
	return nil
}

// f32s encodes float32s as JSON numbers that always carry a decimal point
// or an exponent: XGBoost's JSON reader types "1" as an integer and refuses
// it where it wants a number.
type f32s []float32

// MarshalJSON implements json.Marshaler.
func (v f32s) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 2+12*len(v))
	b = append(b, '[')
	for i, x := range v {
		if i > 0 {
			b = append(b, ',')
		}
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return nil, fmt.Errorf("non-finite value %v in model", x)
		}
		start := len(b)
		b = strconv.AppendFloat(b, float64(x), 'g', -1, 32)
		if !bytes.ContainsAny(b[start:], ".eE") {
			b = append(b, ".0"...)
		}
	}
	return append(b, ']'), nil
}
