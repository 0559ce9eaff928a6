package serving

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/mlmodel"
	"github.com/hangar-ml/hangar/score"
)

// nativeFlavors are the MLflow flavors whose model file the tree runtime
// reads: XGBoost JSON (or UBJSON) and LightGBM text models.
var nativeFlavors = []string{"xgboost", "lightgbm"}

// LoadModel opens a model folder or file for the native runtime: what
// score.Load opens (Hangar model folders, linear.json, XGBoost JSON,
// LightGBM text), and MLflow folders logged by mlflow.xgboost or
// mlflow.lightgbm, whose model file it reads directly. When the model file
// names no features (f0, f1, …) and the MLmodel signature names as many
// columns, the columns take the signature's names, so requests are
// checked against them. It is the Gateway's default Load.
// Errors: ENOTIMPLEMENTED for an MLflow folder of another flavor (run it
// with a ScriptRunner); EINVALID for a malformed model; the os error when
// path cannot be read.
func LoadModel(path string) (Model, error) {
	if !mlmodel.IsModelDir(path) {
		return score.Load(path, 1)
	}
	desc, err := mlmodel.Read(path)
	if err != nil {
		return nil, err
	}
	var m Model
	if _, _, err := desc.Hangar(); err == nil {
		sm, err := score.Load(path, 1)
		if err != nil {
			return nil, err
		}
		m = sm
	} else {
		file, err := nativeFile(path, desc)
		if err != nil {
			return nil, err
		}
		sm, err := score.Load(file, 1)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		m = sm
	}
	return withSignatureNames(m, desc)
}

// nativeFile returns the model file of an MLflow flavor Hangar serves.
func nativeFile(dir string, desc *mlmodel.Model) (string, error) {
	for _, name := range nativeFlavors {
		fl, ok := desc.Flavors[name]
		if !ok {
			continue
		}
		data, _ := fl["data"].(string)
		if data == "" || filepath.IsAbs(data) || !filepath.IsLocal(data) {
			return "", hangar.Errorf(hangar.EINVALID, "%s: MLmodel flavor %s: data %q must be a relative path inside the model folder", dir, name, data)
		}
		file := filepath.Join(dir, data)
		if st, err := os.Stat(file); err != nil {
			return "", err
		} else if st.IsDir() {
			return "", hangar.Errorf(hangar.EINVALID, "%s: MLmodel flavor %s: data %q is a folder", dir, name, data)
		}
		return file, nil
	}
	names := make([]string, 0, len(desc.Flavors))
	for n := range desc.Flavors {
		names = append(names, n)
	}
	sort.Strings(names)
	return "", hangar.Errorf(hangar.ENOTIMPLEMENTED, "%s: flavors %s are not served natively (native: %s, %s, %s); run it with a script runner",
		dir, strings.Join(names, ", "), mlmodel.FlavorGBDT, mlmodel.FlavorLinear, strings.Join(nativeFlavors, ", "))
}

// withSignatureNames gives a model whose file names no features the
// column names of its signature, and a model whose features are the
// signature's columns the signature's column types (FeatureTypes), which
// requests are checked against.
func withSignatureNames(m Model, desc *mlmodel.Model) (Model, error) {
	if desc.Signature == nil || desc.Signature.Inputs == "" {
		return m, nil
	}
	specs, err := desc.Signature.InputSpecs()
	if err != nil {
		return nil, err
	}
	feats := m.Features()
	if len(specs) != len(feats) {
		return m, nil
	}
	names := make([]string, len(specs))
	types := make([]string, len(specs))
	for i, s := range specs {
		if s.Name == "" {
			return m, nil
		}
		names[i], types[i] = s.Name, s.Type
	}
	switch {
	case slices.Equal(names, feats):
	case defaultNames(feats):
		feats = names
	default:
		return m, nil // the signature describes other columns: trust the model file
	}
	return typed{m, feats, types}, nil
}

// defaultNames reports whether feats are the names a model file without
// names gets: f0, f1, …
func defaultNames(feats []string) bool {
	for i, f := range feats {
		if f != "f"+strconv.Itoa(i) {
			return false
		}
	}
	return true
}

// typed is a model with its features named and typed by its signature.
type typed struct {
	Model
	feats []string
	types []string
}

func (t typed) Features() []string { return t.feats }

// FeatureTypes returns the signature's type of each feature (MLflow's
// names: double, float, long, integer, boolean, …).
func (t typed) FeatureTypes() []string { return t.types }
