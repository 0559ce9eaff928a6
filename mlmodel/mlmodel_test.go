package mlmodel

import (
	"os"
	"path/filepath"
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
	paths, _ := filepath.Glob("testdata/*.MLmodel")
	if len(paths) < 3 {
		f.Fatalf("want the MLmodel files in testdata as seeds, got %v", paths)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("flavors:\n  hangar_linear: {data: linear.json, format: hangar_linear_json, objective: reg:squarederror}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b)
		if err != nil {
			if hangar.ErrorCode(err) != hangar.EINVALID {
				t.Fatalf("Parse: %v, want EINVALID", err)
			}
			return
		}
		name, fl, flErr := m.Hangar()
		if flErr == nil && !filepathLocal(fl.Data) {
			t.Fatalf("Hangar() accepted data path %q", fl.Data)
		}
		// What Parse accepts writes and reads back with the same flavor.
		dir := t.TempDir()
		if err := m.Write(dir); err != nil {
			t.Fatalf("accepted MLmodel does not write: %v", err)
		}
		back, err := Read(dir)
		if err != nil {
			t.Fatalf("written MLmodel does not read back: %v", err)
		}
		name2, fl2, err2 := back.Hangar()
		if (flErr == nil) != (err2 == nil) || name2 != name || (flErr == nil && !cmp.Equal(fl, fl2)) {
			t.Fatalf("flavor changed in a round trip: %s %+v (%v) → %s %+v (%v)", name, fl, flErr, name2, fl2, err2)
		}
	})
}

// TestReadTestdata reads the MLmodel files in testdata: MLflow's own and
// the two that Hangar's trainers write.
func TestReadTestdata(t *testing.T) {
	for _, tc := range []struct {
		file, flavor, data string
	}{
		{"hangar_gbdt.MLmodel", FlavorGBDT, "model.json"},
		{"hangar_linear.MLmodel", FlavorLinear, "linear.json"},
	} {
		b, err := os.ReadFile(filepath.Join("testdata", tc.file))
		if err != nil {
			t.Fatal(err)
		}
		m, err := Parse(b)
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		name, fl, err := m.Hangar()
		if err != nil || name != tc.flavor || fl.Data != tc.data {
			t.Errorf("%s: flavor %s %+v, %v; want %s with data %s", tc.file, name, fl, err, tc.flavor, tc.data)
		}
		if cols, err := m.Signature.InputSpecs(); err != nil || len(cols) != 2 {
			t.Errorf("%s: inputs %v, %v; want 2 columns", tc.file, cols, err)
		}
	}
}

func filepathLocal(p string) bool {
	return p != "" && !regexp.MustCompile(`^/|(^|/)\.\.(/|$)`).MatchString(p)
}

// FuzzReadMetrics: a model folder's metrics.json comes from outside (an
// upload, a download); whatever ReadMetrics accepts writes back the same.
func FuzzReadMetrics(f *testing.F) {
	b, err := os.ReadFile(filepath.Join("testdata", "metrics.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	// In memory: ReadMetrics and WriteMetrics only add the file around
	// these (a temporary folder per input made the target slow enough to
	// stall on a loaded machine).
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseMetrics(b)
		if err != nil {
			if hangar.ErrorCode(err) != hangar.EINVALID {
				t.Fatalf("parseMetrics: %v, want EINVALID", err)
			}
			return
		}
		enc, err := encodeMetrics(m)
		if err != nil {
			t.Fatalf("accepted metrics do not encode: %v", err)
		}
		back, err := parseMetrics(enc)
		if err != nil || !cmp.Equal(m, back) {
			t.Fatalf("round trip: %v → %v, %v", m, back, err)
		}
	})
}
