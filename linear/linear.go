// Package linear trains regularised linear models: ridge (and lasso /
// elastic-net) regression, and binary and multinomial logistic regression
// with L2 and optional L1 penalties. Features are standardised (missing
// values become the training mean) before fitting; the model keeps the
// standardisation, so it predicts from raw values. Models are saved as
// linear.json.
//
// The objective, for n rows, is (1/n)·Σ loss + (L2/2)·‖w‖² + L1·‖w‖₁ with
// squared error (halved) or log loss; the intercept is not penalised. Ridge
// regression is solved in closed form (Cholesky); everything else by FISTA,
// accelerated proximal gradient descent, which handles the L1 term exactly
// (soft thresholding) and so yields true zeros.
package linear

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"

	"github.com/hangar-ml/hangar"
)

// Params are the training parameters.
type Params struct {
	Objective string  // reg:squarederror (default), binary:logistic, multi:softmax (or multi:softprob)
	NumClass  int     // classes for multi:*; 0 = max(label)+1
	L2        float64 // default DefaultL2
	L1        float64 // default 0
	MaxIter   int     // FISTA iterations; default 2000
	Tol       float64 // relative objective change that stops FISTA; default 1e-9
}

// DefaultL2 is the default ridge penalty: light, enough to make the problem
// well-posed when features are collinear.
const DefaultL2 = 1e-3

// DefaultParams returns the defaults.
func DefaultParams() Params {
	return Params{Objective: hangar.ObjectiveRegSquaredError, L2: DefaultL2, MaxIter: 2000, Tol: 1e-9}
}

// Dataset is a training table: feature columns and labels.
type Dataset struct {
	Features []string
	Columns  [][]float64 // Columns[j][i]: feature j of row i; NaN = missing
	Label    []float64
}

// Model is a fitted linear model.
type Model struct {
	Format    string      `json:"format"` // "hangar-linear"
	Version   int         `json:"version"`
	Objective string      `json:"objective"`
	Features  []string    `json:"features"`
	NumClass  int         `json:"num_class,omitempty"`
	Mean      []float64   `json:"mean"`      // per feature, for standardising
	Scale     []float64   `json:"scale"`     // per feature standard deviation (1 when constant)
	Coef      [][]float64 `json:"coef"`      // per output, per standardised feature
	Intercept []float64   `json:"intercept"` // per output
	L2        float64     `json:"l2"`
	L1        float64     `json:"l1"`
}

// NumOutputs returns NumClass for multi:*, else 1.
func (m *Model) NumOutputs() int { return max(1, m.NumClass) }

// Predict writes the prediction for one row of raw feature values (NaN =
// missing) into out: the value for regression, the probability of class 1
// for binary:logistic, class probabilities for multi:*.
func (m *Model) Predict(row, out []float64) {
	for k := range m.NumOutputs() {
		s := m.Intercept[k]
		for j, x := range row[:len(m.Features)] {
			if !math.IsNaN(x) {
				s += m.Coef[k][j] * (x - m.Mean[j]) / m.Scale[j]
			}
		}
		out[k] = s
	}
	switch m.Objective {
	case hangar.ObjectiveBinaryLogistic:
		out[0] = 1 / (1 + math.Exp(-out[0]))
	case hangar.ObjectiveMultiSoftmax, hangar.ObjectiveMultiSoftprob:
		softmax(out[:m.NumClass])
	}
}

func softmax(v []float64) {
	mx := math.Inf(-1)
	for _, x := range v {
		mx = max(mx, x)
	}
	s := 0.0
	for i, x := range v {
		v[i] = math.Exp(x - mx)
		s += v[i]
	}
	for i := range v {
		v[i] /= s
	}
}

// ModelFile is the model's file name in a model folder.
const ModelFile = "linear.json"

// Write saves the model as dir/linear.json, creating dir.
func (m *Model) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write linear model: %w", err)
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("write linear model: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, ModelFile), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write linear model: %w", err)
	}
	return nil
}

// Load reads a model written by Write and checks it: a known objective,
// num_class 2 or more for multi:* (else none), shapes that agree with the
// features and outputs, and positive scales. Errors: EINVALID.
func Load(r io.Reader) (*Model, error) {
	var m Model
	if err := json.NewDecoder(r).Decode(&m); err != nil {
		return nil, hangar.Errorf(hangar.EINVALID, "read linear model: %v", err)
	}
	if m.Format != "hangar-linear" {
		return nil, hangar.Errorf(hangar.EINVALID, "read linear model: format %q, want hangar-linear", m.Format)
	}
	switch m.Objective {
	case hangar.ObjectiveRegSquaredError, hangar.ObjectiveBinaryLogistic:
		if m.NumClass != 0 {
			return nil, hangar.Errorf(hangar.EINVALID, "read linear model: num_class %d for %s, want none", m.NumClass, m.Objective)
		}
	case hangar.ObjectiveMultiSoftmax, hangar.ObjectiveMultiSoftprob:
		if m.NumClass < 2 {
			return nil, hangar.Errorf(hangar.EINVALID, "read linear model: num_class %d for %s, want at least 2", m.NumClass, m.Objective)
		}
	default:
		return nil, hangar.Errorf(hangar.EINVALID, "read linear model: unknown objective %q", m.Objective)
	}
	nf, K := len(m.Features), m.NumOutputs()
	if len(m.Mean) != nf || len(m.Scale) != nf || len(m.Coef) != K || len(m.Intercept) != K {
		return nil, hangar.Errorf(hangar.EINVALID, "read linear model: inconsistent shapes")
	}
	for _, c := range m.Coef {
		if len(c) != nf {
			return nil, hangar.Errorf(hangar.EINVALID, "read linear model: inconsistent shapes")
		}
	}
	for j, s := range m.Scale {
		if !(s > 0) || math.IsInf(s, 0) {
			return nil, hangar.Errorf(hangar.EINVALID, "read linear model: scale %v of feature %q, want a positive number", s, m.Features[j])
		}
	}
	return &m, nil
}

// ReadFile reads dir/linear.json, or the file itself when path is a file.
func ReadFile(path string) (*Model, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, ModelFile)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read linear model: %w", err)
	}
	defer f.Close()
	return Load(f)
}

// Train fits a model. Errors: EINVALID for bad parameters or labels
// (non-finite, outside 0/1 for binary, not 0..K-1 for multi), an empty
// set or mismatched columns; the context's error.
func Train(ctx context.Context, p Params, d *Dataset) (*Model, error) {
	if err := validate(p); err != nil {
		return nil, err
	}
	if len(d.Columns) != len(d.Features) || len(d.Features) == 0 {
		return nil, hangar.Errorf(hangar.EINVALID, "training set has %d columns and %d feature names; want the same, at least 1", len(d.Columns), len(d.Features))
	}
	n := len(d.Label)
	if n == 0 {
		return nil, hangar.Errorf(hangar.EINVALID, "training set is empty")
	}
	for j, c := range d.Columns {
		if len(c) != n {
			return nil, hangar.Errorf(hangar.EINVALID, "column %q has %d rows, labels %d", d.Features[j], len(c), n)
		}
	}
	K, err := checkLabels(p, d.Label)
	if err != nil {
		return nil, err
	}
	m := &Model{Format: "hangar-linear", Version: 1, Objective: p.Objective, Features: append([]string(nil), d.Features...), L2: p.L2, L1: p.L1}
	if p.Objective == hangar.ObjectiveMultiSoftmax || p.Objective == hangar.ObjectiveMultiSoftprob {
		m.NumClass = K
	}
	X := m.standardise(d.Columns) // row-major n × F
	nf := len(d.Features)
	m.Coef = make([][]float64, m.NumOutputs())
	for k := range m.Coef {
		m.Coef[k] = make([]float64, nf)
	}
	m.Intercept = make([]float64, m.NumOutputs())
	if p.Objective == hangar.ObjectiveRegSquaredError && p.L1 == 0 {
		if err := ridge(X, d.Label, nf, p.L2, m); err == nil {
			return m, nil
		}
		// A singular system (L2 = 0 with collinear features): fall through to FISTA.
	}
	if err := fista(ctx, X, d.Label, nf, p, m); err != nil {
		return nil, err
	}
	return m, nil
}

func validate(p Params) error {
	switch p.Objective {
	case hangar.ObjectiveRegSquaredError, hangar.ObjectiveBinaryLogistic, hangar.ObjectiveMultiSoftmax, hangar.ObjectiveMultiSoftprob:
	default:
		return hangar.Errorf(hangar.EINVALID, "unknown objective %q for a linear model (want %s, %s or %s)", p.Objective, hangar.ObjectiveRegSquaredError, hangar.ObjectiveBinaryLogistic, hangar.ObjectiveMultiSoftmax)
	}
	fin := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) && v >= 0 }
	switch {
	case !fin(p.L2):
		return hangar.Errorf(hangar.EINVALID, "parameter l2 = %v: want >= 0", p.L2)
	case !fin(p.L1):
		return hangar.Errorf(hangar.EINVALID, "parameter l1 = %v: want >= 0", p.L1)
	case p.MaxIter < 1:
		return hangar.Errorf(hangar.EINVALID, "parameter max_iter = %d: want >= 1", p.MaxIter)
	case !fin(p.Tol):
		return hangar.Errorf(hangar.EINVALID, "parameter tol = %v: want >= 0", p.Tol)
	case p.NumClass < 0 || p.NumClass == 1:
		return hangar.Errorf(hangar.EINVALID, "parameter num_class = %d: want 0 or at least 2", p.NumClass)
	}
	return nil
}

func checkLabels(p Params, y []float64) (int, error) {
	maxLabel := 0.0
	for i, v := range y {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return 0, hangar.Errorf(hangar.EINVALID, "label in row %d is %v; labels must be finite", i+1, v)
		}
		switch p.Objective {
		case hangar.ObjectiveBinaryLogistic:
			if v != 0 && v != 1 {
				return 0, hangar.Errorf(hangar.EINVALID, "label in row %d is %v; binary:logistic needs labels 0 or 1", i+1, v)
			}
		case hangar.ObjectiveMultiSoftmax, hangar.ObjectiveMultiSoftprob:
			if v < 0 || v != math.Trunc(v) || (p.NumClass > 0 && v >= float64(p.NumClass)) {
				return 0, hangar.Errorf(hangar.EINVALID, "label in row %d is %v; %s needs class labels 0..K-1", i+1, v, p.Objective)
			}
			maxLabel = max(maxLabel, v)
		}
	}
	switch p.Objective {
	case hangar.ObjectiveMultiSoftmax, hangar.ObjectiveMultiSoftprob:
		if p.NumClass > 0 {
			return p.NumClass, nil
		}
		if maxLabel < 1 {
			return 0, hangar.Errorf(hangar.EINVALID, "labels hold one class only; %s needs at least 2", p.Objective)
		}
		return int(maxLabel) + 1, nil
	case hangar.ObjectiveBinaryLogistic:
		return 1, nil
	}
	return 1, nil
}

// standardise records each feature's mean and standard deviation and
// returns the standardised matrix, row-major, missing values as 0 (the mean).
func (m *Model) standardise(cols [][]float64) []float64 {
	nf, n := len(cols), len(cols[0])
	m.Mean, m.Scale = make([]float64, nf), make([]float64, nf)
	X := make([]float64, n*nf)
	for j, c := range cols {
		var s, cnt float64
		for _, v := range c {
			if !math.IsNaN(v) {
				s += v
				cnt++
			}
		}
		mean := 0.0
		if cnt > 0 {
			mean = s / cnt
		}
		var ss float64
		for _, v := range c {
			if !math.IsNaN(v) {
				ss += (v - mean) * (v - mean)
			}
		}
		sd := 1.0
		if cnt > 0 && ss > 0 {
			sd = math.Sqrt(ss / cnt)
		}
		m.Mean[j], m.Scale[j] = mean, sd
		for i, v := range c {
			if !math.IsNaN(v) {
				X[i*nf+j] = (v - mean) / sd
			}
		}
	}
	return X
}
