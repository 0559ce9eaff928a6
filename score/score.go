// Package score loads a model of any kind Hangar runs and scores tables
// with it: a Hangar model folder (MLmodel with the hangar_gbdt or
// hangar_linear flavor), a linear.json, an XGBoost JSON model or a LightGBM
// text model. Predictions come back as a table — the predicted value or
// class, and the class probabilities — and Evaluate computes a model's
// metrics on a labelled table. The batch scorer, the trainers' validation
// metrics and, later, the serving endpoints share it.
package score

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/evaluate"
	"github.com/hangar-ml/hangar/gbdt"
	"github.com/hangar-ml/hangar/linear"
	"github.com/hangar-ml/hangar/mlmodel"
	"github.com/hangar-ml/hangar/tabular"
	"github.com/hangar-ml/hangar/trees"
)

// predictor is the runtime of one model kind.
type predictor interface {
	numFeatures() int
	features() []string
	numOutputs() int
	objective() string
	// predictBatch writes transformed predictions (row-major, numOutputs
	// per row) for n row-major rows.
	predictBatch(rows []float64, n int, out []float64)
}

// Model is a loaded model with the names of its classes. It is safe for
// concurrent use.
type Model struct {
	p        predictor
	classes  []string // class index → label; nil for regression
	feats    sync.Once
	features []string // the predictor's, named once on first use
}

// NewGBDT wraps a freshly trained GBDT model. classes names the classes of
// a classifier (index → label); nil means 0..K-1.
func NewGBDT(m *gbdt.Model, classes []string) *Model {
	return withClasses(&gbdtPredictor{m}, classes)
}

// NewLinear wraps a freshly trained linear model; see NewGBDT.
func NewLinear(m *linear.Model, classes []string) *Model {
	return withClasses(&linearPredictor{m}, classes)
}

// Features returns the input columns the model needs, in its order. The
// slice is the model's own: do not change it.
func (m *Model) Features() []string {
	m.feats.Do(func() { m.features = m.p.features() })
	return m.features
}

// Objective returns the model's objective in XGBoost's spelling.
func (m *Model) Objective() string { return m.p.objective() }

// NumOutputs returns the number of values predicted per row: 1 for
// regression and binary models, the number of classes otherwise.
func (m *Model) NumOutputs() int { return m.p.numOutputs() }

// Classes returns the class labels by class index, or nil for regression.
func (m *Model) Classes() []string { return m.classes }

// Load opens a model: a Hangar model folder (MLmodel), a folder or file
// with linear.json or model.json, or an XGBoost JSON or LightGBM text model
// file. threads bounds the tree runtime's batch scoring (0 = all cores).
// Errors: the os error when path cannot be read (errors.Is
// fs.ErrNotExist when it does not exist); EINVALID for a folder without a
// model or a malformed model, naming the path.
func Load(path string, threads int) (*Model, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return loadDir(path, threads)
	}
	return loadFile(path, threads)
}

// loadFile loads a model file: linear.json, XGBoost JSON or LightGBM text.
func loadFile(path string, threads int) (*Model, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, hangar.Errorf(hangar.EINVALID, "%s is not a model file", path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var probe struct {
		Format string `json:"format"`
	}
	if json.Unmarshal(b, &probe) == nil && probe.Format == "hangar-linear" {
		m, err := linear.Load(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return withClasses(&linearPredictor{m}, nil), nil
	}
	m, err := trees.Load(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return withClasses(&treesPredictor{m, threads}, nil), nil
}

// loadDir loads a model folder: the file its MLmodel names, or without an
// MLmodel its linear.json or model.json. The file must not be a folder, so
// an MLmodel cannot send Load round in circles (data: .).
func loadDir(path string, threads int) (*Model, error) {
	if !mlmodel.IsModelDir(path) {
		for _, name := range []string{linear.ModelFile, gbdt.ModelFile} {
			if _, err := os.Stat(filepath.Join(path, name)); err == nil {
				return loadFile(filepath.Join(path, name), threads)
			}
		}
		return nil, hangar.Errorf(hangar.EINVALID, "%s is a folder without MLmodel, %s or %s", path, gbdt.ModelFile, linear.ModelFile)
	}
	desc, err := mlmodel.Read(path)
	if err != nil {
		return nil, err
	}
	name, fl, err := desc.Hangar()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	m, err := loadFile(filepath.Join(path, fl.Data), threads)
	if err != nil {
		return nil, err
	}
	if len(fl.Classes) > 0 {
		// Checked against the model file, not the flavor's own objective,
		// which a hand-edited MLmodel may get wrong.
		k := m.NumOutputs()
		if !hangar.IsClassification(m.Objective()) || len(fl.Classes) != max(k, 2) {
			return nil, hangar.Errorf(hangar.EINVALID, "%s: flavor %s lists %d classes for a %s model with %d outputs", path, name, len(fl.Classes), m.Objective(), k)
		}
		m.classes = fl.Classes
	}
	return m, nil
}

// withClasses names a classifier's classes: the given ones, or 0..K-1
// ("0", "1" for binary models).
func withClasses(p predictor, classes []string) *Model {
	m := &Model{p: p, classes: classes}
	if classes != nil {
		return m
	}
	switch obj := p.objective(); {
	case obj == hangar.ObjectiveBinaryLogistic:
		m.classes = []string{"0", "1"}
	case hangar.IsMulticlass(obj):
		for k := range p.numOutputs() {
			m.classes = append(m.classes, strconv.Itoa(k))
		}
	}
	return m
}

// Outputs returns the model's predictions for the rows of f, row-major
// with NumOutputs values per row: the value for regression, the
// probability of the second class for binary models, one probability per
// class for multiclass models. Columns are matched by name; extra ones are
// ignored. Errors: EINVALID naming a column the model needs that f lacks,
// or holds text.
func (m *Model) Outputs(f *tabular.Frame) ([]float64, error) {
	feats := m.Features()
	for _, n := range feats {
		if f.Column(n) == nil {
			return nil, hangar.Errorf(hangar.EINVALID, "input has no column %q, which the model needs (model features: %s)", n, strings.Join(feats, ", "))
		}
	}
	rows, err := f.RowMajor(feats)
	if err != nil {
		return nil, fmt.Errorf("input: %w", err)
	}
	n := f.NumRows()
	out := make([]float64, n*m.NumOutputs())
	m.p.predictBatch(rows, n, out)
	return out, nil
}

// PredictRows writes the predictions for n row-major rows of
// len(Features()) values each into out (NumOutputs() per row, as
// Outputs). It allocates nothing, so the serving hot path can call it per
// request; rows and out must be long enough (it panics otherwise).
func (m *Model) PredictRows(rows []float64, n int, out []float64) {
	m.p.predictBatch(rows, n, out)
}

// Predict scores f and returns the prediction columns: "prediction" (the
// value for regression, the class label for classifiers), then
// "probability" (of the second class) for binary models or one
// "prob_<class>" per class for multiclass models. Errors: as Outputs.
func (m *Model) Predict(f *tabular.Frame) (*tabular.Frame, error) {
	out, err := m.Outputs(f)
	if err != nil {
		return nil, err
	}
	return m.frame(out, f.NumRows()), nil
}

// frame turns predictions into output columns.
func (m *Model) frame(out []float64, n int) *tabular.Frame {
	k := m.NumOutputs()
	if m.classes == nil {
		return &tabular.Frame{Columns: []*tabular.Column{{Name: "prediction", Kind: tabular.Numeric, Float: out[:n]}}}
	}
	pred := &tabular.Column{Name: "prediction", Kind: tabular.String, Str: make([]string, n)}
	res := &tabular.Frame{Columns: []*tabular.Column{pred}}
	if !hangar.IsMulticlass(m.Objective()) { // binary: the probability of the second class
		prob := &tabular.Column{Name: "probability", Kind: tabular.Numeric, Float: out[:n]}
		for i, p := range out[:n] {
			pred.Str[i] = m.classes[b2i(p >= 0.5)]
		}
		res.Columns = append(res.Columns, prob)
		return res
	}
	for c := range k {
		col := &tabular.Column{Name: "prob_" + m.classes[c], Kind: tabular.Numeric, Float: make([]float64, n)}
		for i := range n {
			col.Float[i] = out[i*k+c]
		}
		res.Columns = append(res.Columns, col)
	}
	for i := range n {
		row := out[i*k : (i+1)*k]
		pred.Str[i] = m.classes[slices.Index(row, slices.Max(row))]
	}
	return res
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Evaluate scores f and computes the model's metrics against its label
// column (see package evaluate): regression metrics, or classification
// metrics with the labels mapped to the model's classes. Errors: EINVALID
// for a missing or unknown label, as Outputs, or from evaluate.
func (m *Model) Evaluate(f *tabular.Frame, label string) (evaluate.Metrics, error) {
	y, err := Labels(f, label, m.classes, "input")
	if err != nil {
		return nil, err
	}
	out, err := m.Outputs(f)
	if err != nil {
		return nil, err
	}
	metrics, err := evaluate.ForObjective(m.Objective(), m.NumOutputs(), y, out)
	if err != nil {
		return nil, fmt.Errorf("evaluate: %w", err)
	}
	return metrics, nil
}
