package serving

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/gbdt"
	"github.com/hangar-ml/hangar/score"
)

// mlflowFolder writes an MLflow model folder: MLmodel with the given
// flavors block and signature, and the files.
func mlflowFolder(t *testing.T, flavors, signature string, files map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	ml := "artifact_path: model\nflavors:\n" + flavors + "model_uuid: 0c8a1f6e2b1a4a5b9a3b1f8e5d2c7a10\nutc_time_created: '2026-11-30 10:00:00.000000'\n"
	if signature != "" {
		ml += "signature:\n  inputs: '" + signature + "'\n"
	}
	files["MLmodel"] = []byte(ml)
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// unnamedXGBoost returns an XGBoost JSON model whose file names no
// features.
func unnamedXGBoost(t *testing.T) []byte {
	t.Helper()
	d := &gbdt.Dataset{Features: []string{"p", "q"}, Columns: [][]float64{{0, 1, 2, 3, 4, 5}, {1, 0, 1, 0, 1, 0}}, Label: []float64{0, 1, 2, 3, 4, 5}}
	p := gbdt.DefaultParams()
	p.NEstimators, p.MinChildWeight = 3, 0.1
	m, err := gbdt.Train(context.Background(), p, d, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := m.SaveXGBoostJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	learner := doc["learner"].(map[string]any)
	learner["feature_names"], learner["feature_types"] = []string{}, []string{}
	b, _ := json.Marshal(doc)
	return b
}

func TestLoadModel(t *testing.T) {
	lgb, err := os.ReadFile("testdata/mlflow-lightgbm/model.lgb")
	if err != nil {
		t.Fatal(err)
	}
	xgb := unnamedXGBoost(t)
	tests := []struct {
		name  string
		path  string
		feats []string
		code  string
	}{
		{"mlflow lightgbm folder", "testdata/mlflow-lightgbm", []string{"x0", "x1", "x2"}, ""},
		{"mlflow xgboost folder, names from the signature", mlflowFolder(t, "  xgboost:\n    data: model.json\n    model_format: json\n  python_function:\n    loader_module: mlflow.xgboost\n",
			`[{"type": "double", "name": "age"}, {"type": "long", "name": "visits"}]`, map[string][]byte{"model.json": xgb}), []string{"age", "visits"}, ""},
		{"mlflow xgboost folder, signature of another width", mlflowFolder(t, "  xgboost:\n    data: model.json\n",
			`[{"type": "double", "name": "age"}]`, map[string][]byte{"model.json": xgb}), []string{"f0", "f1"}, ""},
		{"a model file", filepath.Join(mlflowFolder(t, "  xgboost:\n    data: model.json\n", "", map[string][]byte{"model.json": xgb}), "model.json"), []string{"f0", "f1"}, ""},
		{"sklearn flavor", mlflowFolder(t, "  sklearn:\n    pickled_model: model.pkl\n  python_function:\n    loader_module: mlflow.sklearn\n", "", map[string][]byte{"model.pkl": []byte("x")}), nil, hangar.ENOTIMPLEMENTED},
		{"data outside the folder", mlflowFolder(t, "  xgboost:\n    data: ../model.json\n", "", map[string][]byte{}), nil, hangar.EINVALID},
		{"old binary xgboost file", mlflowFolder(t, "  xgboost:\n    data: model.xgb\n", "", map[string][]byte{"model.xgb": {0x7b - 1, 1, 2}}), nil, hangar.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := LoadModel(tt.path)
			if tt.code != "" {
				if hangar.ErrorCode(err) != tt.code {
					t.Fatalf("got %v, want code %s", err, tt.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := m.Features(); !slices.Equal(got, tt.feats) {
				t.Errorf("features: got %v, want %v", got, tt.feats)
			}
		})
	}
	t.Run("lightgbm predictions are the file's", func(t *testing.T) {
		m, err := LoadModel("testdata/mlflow-lightgbm")
		if err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(t.TempDir(), "m.txt")
		os.WriteFile(f, lgb, 0o644)
		ref, err := score.Load(f, 1)
		if err != nil {
			t.Fatal(err)
		}
		rows := [][]float64{{0.5, -1, 0.25}, {-3, 2, 1}}
		if got, want := predictFor(m, rows), predictFor(ref, rows); !slices.Equal(got, want) {
			t.Errorf("got %v, want %v", got, want)
		}
	})
}

func TestDeployMLflowFolder(t *testing.T) {
	tg := newTestGateway(t, nil)
	xgbDir := mlflowFolder(t, "  xgboost:\n    data: model.json\n", `[{"type": "double", "name": "age"}, {"type": "long", "name": "visits"}]`, map[string][]byte{"model.json": unnamedXGBoost(t)})
	tg.deploy(t, DeploymentSpec{Name: "xgb", ModelDir: xgbDir})
	for _, tt := range []struct {
		body   string
		status int
		code   string
	}{
		{`{"data": [{"age": 31.5, "visits": 4}]}`, 200, ""},
		{`{"data": [{"age": 31.5, "visits": null}]}`, 200, ""},
		{`{"data": [{"age": 31.5, "visits": 4.5}]}`, 400, EBADTYPE},
		{`{"data": [{"age": 31.5}]}`, 400, EMISSING},
	} {
		got, err := tg.post(t, nil, "/endpoints/ep/score", "", tt.body, HeaderDeployment, "xgb")
		if err != nil || got.status != tt.status || tt.code != "" && !bytes.Contains([]byte(got.body), []byte(`"code":"`+tt.code+`"`)) {
			t.Errorf("%s: got %d %s %v, want %d %s", tt.body, got.status, got.body, err, tt.status, tt.code)
		}
	}
	tg.deploy(t, DeploymentSpec{Name: "lgb", ModelDir: "testdata/mlflow-lightgbm"})
	tg.traffic(t, map[string]int{"lgb": 100}, nil)
	got, err := tg.post(t, nil, "/endpoints/ep/invocations", "", `{"dataframe_split": {"columns": ["x2", "x1"], "data": [[1, 2]]}}`)
	if err != nil || got.status != 400 || !bytes.Contains([]byte(got.body), []byte(`\"x0\"`)) {
		t.Errorf("missing x0: got %d %s %v", got.status, got.body, err)
	}
	if _, err := tg.Deploy(t.Context(), DeploymentSpec{Endpoint: "ep", Name: "sk", ModelDir: mlflowFolder(t, "  sklearn:\n    pickled_model: m.pkl\n", "", map[string][]byte{})}); hangar.ErrorCode(err) != hangar.ENOTIMPLEMENTED {
		t.Errorf("deploying a sklearn folder natively: got %v, want %s", err, hangar.ENOTIMPLEMENTED)
	}
}
