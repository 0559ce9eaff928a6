// Package mlmodel reads and writes Hangar's model folder, which is an
// MLflow model directory: an MLmodel YAML descriptor (artifact_path,
// flavors, model_uuid, utc_time_created, signature) next to the model file
// — model.json in XGBoost's JSON format for gradient-boosted trees, or
// linear.json for linear models — and metrics.json. The registry and the
// endpoints load models from this folder; MLflow can too, through the
// xgboost flavor that tree models also carry.
package mlmodel

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/hangar-ml/hangar"
)

// File names in a model folder.
const (
	FileName    = "MLmodel"
	MetricsFile = "metrics.json"
)

// Flavor names.
const (
	FlavorGBDT    = "hangar_gbdt"   // Hangar's gradient-boosted trees (model.json, XGBoost JSON)
	FlavorLinear  = "hangar_linear" // Hangar's linear models (linear.json)
	FlavorXGBoost = "xgboost"       // MLflow's xgboost flavor, for MLflow clients
	FlavorPyFunc  = "python_function"
)

// TimeLayout is MLflow's utc_time_created format.
const TimeLayout = "2006-01-02 15:04:05.000000"

// Model is the MLmodel descriptor.
type Model struct {
	ArtifactPath   string                    `yaml:"artifact_path,omitempty"`
	Flavors        map[string]map[string]any `yaml:"flavors"`
	ModelUUID      string                    `yaml:"model_uuid"`
	RunID          string                    `yaml:"run_id,omitempty"`
	UTCTimeCreated string                    `yaml:"utc_time_created"`
	Signature      *Signature                `yaml:"signature,omitempty"`
	Metadata       map[string]any            `yaml:"metadata,omitempty"`
}

// Signature holds MLflow's column-based signature: JSON lists of column
// specs, stored as strings as MLflow does.
type Signature struct {
	Inputs  string `yaml:"inputs"`
	Outputs string `yaml:"outputs,omitempty"`
}

// ColSpec is one column of a signature.
type ColSpec struct {
	Type string `json:"type"` // double, long, string, boolean, …
	Name string `json:"name,omitempty"`
}

// NewSignature encodes column specs.
func NewSignature(inputs, outputs []ColSpec) *Signature {
	in, _ := json.Marshal(inputs)
	s := &Signature{Inputs: string(in)}
	if outputs != nil {
		out, _ := json.Marshal(outputs)
		s.Outputs = string(out)
	}
	return s
}

// InputSpecs decodes the input columns. Errors: EINVALID.
func (s *Signature) InputSpecs() ([]ColSpec, error) {
	var cols []ColSpec
	if err := json.Unmarshal([]byte(s.Inputs), &cols); err != nil {
		return nil, hangar.Errorf(hangar.EINVALID, "MLmodel signature inputs: %v", err)
	}
	return cols, nil
}

// Flavor is the entry of a Hangar flavor (hangar_gbdt or hangar_linear).
type Flavor struct {
	Data      string `yaml:"data"`   // model file, relative to the folder
	Format    string `yaml:"format"` // xgboost_json or hangar_linear_json
	Objective string `yaml:"objective"`
	NumClass  int    `yaml:"num_class,omitempty"`
	Label     string `yaml:"label,omitempty"` // the label column trained on
	// Classes maps class indices to the original labels when the labels
	// were not already 0..K-1 (for example strings); absent otherwise.
	Classes       []string `yaml:"classes,omitempty"`
	HangarVersion string   `yaml:"hangar_version,omitempty"`
}

// Formats of the Hangar flavors' model files.
const (
	FormatXGBoostJSON = "xgboost_json"
	FormatLinearJSON  = "hangar_linear_json"
)

// New returns a descriptor with a fresh model_uuid and the creation time.
func New(now time.Time) *Model {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40 // UUID version 4, as MLflow's uuid4().hex
	b[8] = b[8]&0x3f | 0x80
	return &Model{
		Flavors:        map[string]map[string]any{},
		ModelUUID:      hex.EncodeToString(b[:]),
		UTCTimeCreated: now.UTC().Format(TimeLayout),
	}
}

// SetFlavor stores a Hangar flavor entry under name. For FlavorGBDT it also
// writes MLflow's xgboost and python_function flavors naming the same file,
// so MLflow's mlflow.xgboost.load_model and pyfunc can load the folder.
func (m *Model) SetFlavor(name string, f Flavor) {
	if m.Flavors == nil {
		m.Flavors = map[string]map[string]any{}
	}
	m.Flavors[name] = toMap(f)
	if name == FlavorGBDT {
		m.Flavors[FlavorXGBoost] = map[string]any{
			"code": nil, "data": f.Data, "model_class": "xgboost.core.Booster",
			"model_format": "json", "xgb_version": "1.7.4",
		}
		m.Flavors[FlavorPyFunc] = map[string]any{
			"loader_module": "mlflow.xgboost", "data": f.Data, "python_version": "3.11",
		}
	}
}

func toMap(f Flavor) map[string]any {
	b, _ := yaml.Marshal(f)
	var out map[string]any
	yaml.Unmarshal(b, &out)
	return out
}

// Hangar returns the Hangar flavor of the model and its name (FlavorGBDT or
// FlavorLinear). Errors: EINVALID when there is none or it is malformed.
func (m *Model) Hangar() (string, *Flavor, error) {
	for _, name := range []string{FlavorGBDT, FlavorLinear} {
		raw, ok := m.Flavors[name]
		if !ok {
			continue
		}
		b, err := yaml.Marshal(raw)
		if err != nil {
			return "", nil, hangar.Errorf(hangar.EINVALID, "MLmodel flavor %s: %v", name, err)
		}
		var f Flavor
		if err := yaml.Unmarshal(b, &f); err != nil {
			return "", nil, hangar.Errorf(hangar.EINVALID, "MLmodel flavor %s: %v", name, err)
		}
		if f.Data == "" || filepath.IsAbs(f.Data) || !filepath.IsLocal(f.Data) {
			return "", nil, hangar.Errorf(hangar.EINVALID, "MLmodel flavor %s: data %q must be a relative path inside the model folder", name, f.Data)
		}
		return name, &f, nil
	}
	return "", nil, hangar.Errorf(hangar.EINVALID, "MLmodel has no %s or %s flavor", FlavorGBDT, FlavorLinear)
}

// Parse reads an MLmodel descriptor. Errors: EINVALID.
func Parse(b []byte) (*Model, error) {
	var m Model
	dec := yaml.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&m); err != nil {
		return nil, hangar.Errorf(hangar.EINVALID, "parse MLmodel: %v", err)
	}
	if len(m.Flavors) == 0 {
		return nil, hangar.Errorf(hangar.EINVALID, "parse MLmodel: no flavors")
	}
	if m.Signature != nil && m.Signature.Inputs != "" {
		if _, err := m.Signature.InputSpecs(); err != nil {
			return nil, err
		}
	}
	return &m, nil
}

// Read reads dir/MLmodel. Errors: ENOTFOUND when the folder has none, EINVALID.
func Read(dir string) (*Model, error) {
	b, err := os.ReadFile(filepath.Join(dir, FileName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, hangar.Errorf(hangar.ENOTFOUND, "%s has no MLmodel file", dir)
	}
	if err != nil {
		return nil, fmt.Errorf("read MLmodel: %w", err)
	}
	m, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	return m, nil
}

// IsModelDir reports whether dir holds an MLmodel file.
func IsModelDir(dir string) bool {
	st, err := os.Stat(filepath.Join(dir, FileName))
	return err == nil && st.Mode().IsRegular()
}

// Write writes dir/MLmodel, creating dir.
func (m *Model) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write MLmodel: %w", err)
	}
	b, err := yaml.Marshal(m)
	if err != nil {
		return fmt.Errorf("write MLmodel: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, FileName), b, 0o644); err != nil {
		return fmt.Errorf("write MLmodel: %w", err)
	}
	return nil
}

// WriteMetrics writes dir/metrics.json: metric name → value.
func WriteMetrics(dir string, metrics map[string]float64) error {
	b, err := encodeMetrics(metrics)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, MetricsFile), b, 0o644); err != nil {
		return fmt.Errorf("write metrics: %w", err)
	}
	return nil
}

// encodeMetrics is metrics.json's content.
func encodeMetrics(metrics map[string]float64) ([]byte, error) {
	b, err := json.MarshalIndent(metrics, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("write metrics: %w", err)
	}
	return append(b, '\n'), nil
}

// ReadMetrics reads dir/metrics.json. Errors: ENOTFOUND, EINVALID.
func ReadMetrics(dir string) (map[string]float64, error) {
	b, err := os.ReadFile(filepath.Join(dir, MetricsFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, hangar.Errorf(hangar.ENOTFOUND, "%s has no metrics.json", dir)
	}
	if err != nil {
		return nil, fmt.Errorf("read metrics: %w", err)
	}
	return parseMetrics(b)
}

// parseMetrics reads metrics.json's content. Errors: EINVALID.
func parseMetrics(b []byte) (map[string]float64, error) {
	var m map[string]float64
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, hangar.Errorf(hangar.EINVALID, "read metrics: %v", err)
	}
	return m, nil
}
