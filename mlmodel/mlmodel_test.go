package mlmodel

import (
	"os"
	"regexp"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hangar-ml/hangar"
)

func TestWriteRead(t *testing.T) {
	dir := t.TempDir()
	m := New(time.Date(2026, 1, 2, 3, 4, 5, 600000000, time.UTC))
	m.ArtifactPath = "model"
	m.RunID = "abc"
	m.Signature = NewSignature([]ColSpec{{"double", "x1"}, {"double", "x2"}}, []ColSpec{{Type: "double"}})
	f := Flavor{Data: "model.json", Format: FormatXGBoostJSON, Objective: "multi:softprob", NumClass: 3, Label: "y", Classes: []string{"a", "b", "c"}}
	m.SetFlavor(FlavorGBDT, f)
	if err := m.Write(dir); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(m.ModelUUID) {
		t.Errorf("model_uuid %q, want 32 hex digits", m.ModelUUID)
	}
	raw, _ := os.ReadFile(dir + "/MLmodel")
	for _, want := range []string{"utc_time_created: \"2026-01-02 03:04:05.600000\"", `inputs: '[{"type":"double","name":"x1"},{"type":"double","name":"x2"}]'`, "model_class: xgboost.core.Booster", "hangar_gbdt:"} {
		if !regexp.MustCompile(regexp.QuoteMeta(want)).Match(raw) {
			t.Errorf("MLmodel lacks %q:\n%s", want, raw)
		}
	}
	back, err := Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	name, got, err := back.Hangar()
	if err != nil {
		t.Fatal(err)
	}
	if name != FlavorGBDT {
		t.Errorf("flavor %q, want %q", name, FlavorGBDT)
	}
	if diff := cmp.Diff(&f, got); diff != "" {
		t.Errorf("flavor (-want +got):\n%s", diff)
	}
	cols, err := back.Signature.InputSpecs()
	if err != nil || len(cols) != 2 || cols[1].Name != "x2" {
		t.Errorf("inputs: %v, %v", cols, err)
	}
	if err := WriteMetrics(dir, map[string]float64{"rmse": 1.5}); err != nil {
		t.Fatal(err)
	}
	mt, err := ReadMetrics(dir)
	if err != nil || mt["rmse"] != 1.5 {
		t.Errorf("metrics: %v, %v", mt, err)
	}
	if !IsModelDir(dir) || IsModelDir(t.TempDir()) {
		t.Error("IsModelDir is wrong")
	}
}

func TestReadMLflowWritten(t *testing.T) {
	b, err := os.ReadFile("testdata/mlflow_xgboost.MLmodel")
	if err != nil {
		t.Fatal(err)
	}
	m, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if m.Flavors[FlavorXGBoost]["data"] != "model.xgb" || m.RunID == "" {
		t.Errorf("got %+v", m)
	}
	if _, _, err := m.Hangar(); hangar.ErrorCode(err) != hangar.EINVALID {
		t.Errorf("Hangar() on an MLflow-only folder: got %v, want EINVALID", err)
	}
}

func TestErrors(t *testing.T) {
	if _, err := Read(t.TempDir()); hangar.ErrorCode(err) != hangar.ENOTFOUND {
		t.Errorf("no MLmodel: got %v", err)
	}
	for _, bad := range []string{"flavors: {}\n", "flavors: [\n", "flavors:\n  hangar_gbdt: {data: x}\nsignature:\n  inputs: '[nope'\n"} {
		if _, err := Parse([]byte(bad)); hangar.ErrorCode(err) != hangar.EINVALID {
			t.Errorf("Parse(%q): got %v, want EINVALID", bad, err)
		}
	}
	m, _ := Parse([]byte("flavors:\n  hangar_gbdt: {data: ../../etc/passwd}\n"))
	if _, _, err := m.Hangar(); hangar.ErrorCode(err) != hangar.EINVALID {
		t.Errorf("escaping data path: got %v, want EINVALID", err)
	}
}

func FuzzParse(f *testing.F) {
	b, _ := os.ReadFile("testdata/mlflow_xgboost.MLmodel")
	f.Add(b)
	f.Add([]byte("flavors:\n  hangar_linear: {data: linear.json, format: hangar_linear_json, objective: reg:squarederror}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b)
		if err != nil {
			return
		}
		if _, f, err := m.Hangar(); err == nil && !filepathLocal(f.Data) {
			t.Fatalf("Hangar() accepted data path %q", f.Data)
		}
	})
}

func filepathLocal(p string) bool {
	return p != "" && !regexp.MustCompile(`^/|(^|/)\.\.(/|$)`).MatchString(p)
}
