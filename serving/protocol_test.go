package serving

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/hangar-ml/hangar"
)

// predictFor scores rows with the model directly: the answer every
// protocol must give.
func predictFor(m Model, rows [][]float64) []float64 {
	nf, k := len(m.Features()), m.NumOutputs()
	flat := make([]float64, 0, len(rows)*nf)
	for _, r := range rows {
		flat = append(flat, r...)
	}
	out := make([]float64, len(rows)*k)
	m.PredictRows(flat, len(rows), out)
	return out
}

func TestProtocols(t *testing.T) {
	reg := trainGBDT(t, hangar.ObjectiveRegSquaredError, 10, 3)
	bin := trainGBDT(t, hangar.ObjectiveBinaryLogistic, 10, 3)
	multi := trainGBDT(t, "multi:softprob", 10, 3)
	tg := newTestGateway(t, nil)
	tg.deploy(t, DeploymentSpec{Name: "reg", Model: reg, ModelName: "m", ModelVersion: "3"})
	tg.deploy(t, DeploymentSpec{Name: "bin", Model: bin})
	tg.deploy(t, DeploymentSpec{Name: "multi", Model: multi})
	tg.traffic(t, map[string]int{"reg": 100}, nil)

	r1 := []float64{0.5, -1, 2}
	r2 := []float64{-0.25, 0.75, 0}
	want := predictFor(reg, [][]float64{r1, r2})
	wantNaN := predictFor(reg, [][]float64{{0.5, nan(), 2}})
	wantBin := predictFor(bin, [][]float64{r1, r2})
	labels := func(p []float64) []any {
		var l []any
		for _, v := range p {
			l = append(l, map[bool]string{false: "no", true: "yes"}[v >= 0.5])
		}
		return l
	}
	nums := func(p []float64) []any {
		var l []any
		for _, v := range p {
			l = append(l, v)
		}
		return l
	}

	tests := []struct {
		name   string
		path   string
		ct     string
		body   string
		hdr    []string
		status int
		code   string // error code, or "" for success
		want   any    // the decoded answer on success
	}{
		// Azure /score
		{name: "score data rows", path: "/endpoints/ep/score", body: `{"data": [[0.5, -1, 2], [-0.25, 0.75, 0]]}`, status: 200, want: nums(want)},
		{name: "score data one flat row", path: "/endpoints/ep/score", body: `{"data": [0.5, -1, 2]}`, status: 200, want: nums(want[:1])},
		{name: "score data records", path: "/endpoints/ep/score", body: `{"data": [{"f0": 0.5, "f1": -1, "f2": 2, "extra": "x"}, {"f2": 0, "f1": 0.75, "f0": -0.25}]}`, status: 200, want: nums(want)},
		{name: "score input_data split", path: "/endpoints/ep/score", body: `{"input_data": {"columns": ["f2", "f0", "f1"], "index": [0, 1], "data": [[2, 0.5, -1], [0, -0.25, 0.75]]}}`, status: 200, want: nums(want)},
		{name: "score input_data tensor", path: "/endpoints/ep/score", body: `{"input_data": [[0.5, -1, 2], [-0.25, 0.75, 0]]}`, status: 200, want: nums(want)},
		{name: "score input_data named columns", path: "/endpoints/ep/score", body: `{"input_data": {"f0": [0.5, -0.25], "f1": [-1, 0.75], "f2": [[2], [0]]}}`, status: 200, want: nums(want)},
		{name: "score null is missing", path: "/endpoints/ep/score", body: `{"data": [[0.5, null, 2]]}`, status: 200, want: nums(wantNaN)},
		{name: "score no rows", path: "/endpoints/ep/score", body: `{"data": []}`, status: 200, want: []any{}},
		{name: "score no content type", path: "/endpoints/ep/score", ct: "", body: `{"data": [[0.5, -1, 2]]}`, hdr: []string{"Content-Type", ""}, status: 200, want: nums(want[:1])},
		{name: "score deployment header", path: "/endpoints/ep/score", body: `{"data": [[0.5, -1, 2], [-0.25, 0.75, 0]]}`, hdr: []string{HeaderDeployment, "bin"}, status: 200, want: labels(wantBin)},
		{name: "score escaped column name", path: "/endpoints/ep/score", body: `{"input_data": {"columns": ["f\u0030", "f1", "f2"], "data": [[0.5, -1, 2]]}}`, status: 200, want: nums(want[:1])},

		{name: "score missing feature", path: "/endpoints/ep/score", body: `{"input_data": {"columns": ["f0", "f1"], "data": [[1, 2]]}}`, status: 400, code: EMISSING},
		{name: "score records missing feature", path: "/endpoints/ep/score", body: `{"data": [{"f0": 1, "f1": 2}]}`, status: 400, code: EMISSING},
		{name: "score string value", path: "/endpoints/ep/score", body: `{"data": [[0.5, "x", 2]]}`, status: 400, code: EBADTYPE},
		{name: "score bool value", path: "/endpoints/ep/score", body: `{"data": [[0.5, true, 2]]}`, status: 200, want: nums(predictFor(reg, [][]float64{{0.5, 1, 2}}))},
		{name: "score short row", path: "/endpoints/ep/score", body: `{"data": [[0.5, 2]]}`, status: 400, code: EBADSHAPE},
		{name: "score long row", path: "/endpoints/ep/score", body: `{"data": [[0.5, 2, 3, 4]]}`, status: 400, code: EBADSHAPE},
		{name: "score malformed", path: "/endpoints/ep/score", body: `{"data": [[0.5, 2, 3]`, status: 400, code: EBADJSON},
		{name: "score trailing garbage", path: "/endpoints/ep/score", body: `{"data": [[0.5, 2, 3]]} x`, status: 400, code: EBADJSON},
		{name: "score bad number", path: "/endpoints/ep/score", body: `{"data": [[0.5, 1e999, 3]]}`, status: 400, code: EBADJSON},
		{name: "score not an object", path: "/endpoints/ep/score", body: `[[1, 2, 3]]`, status: 400, code: EBADJSON},
		{name: "score no data", path: "/endpoints/ep/score", body: `{"rows": [[1, 2, 3]]}`, status: 400, code: hangar.EINVALID},
		{name: "score both keys", path: "/endpoints/ep/score", body: `{"data": [[1, 2, 3]], "input_data": [[1, 2, 3]]}`, status: 400, code: hangar.EINVALID},
		{name: "score wrong content type", path: "/endpoints/ep/score", ct: "text/plain", body: `{"data": [[1, 2, 3]]}`, status: 415, code: EMEDIATYPE},
		{name: "score latin1", path: "/endpoints/ep/score", ct: "application/json; charset=latin1", body: `{"data": [[1, 2, 3]]}`, status: 415, code: EMEDIATYPE},
		{name: "score oversized", path: "/endpoints/ep/score", body: `{"data": [[1, 2, 3]], "pad": "` + strings.Repeat("x", 1600<<10) + `"}`, status: 413, code: hangar.ETOOLARGE},
		{name: "score unknown deployment", path: "/endpoints/ep/score", body: `{"data": [[1, 2, 3]]}`, hdr: []string{HeaderDeployment, "nope"}, status: 404, code: hangar.ENOTFOUND},
		{name: "score unknown endpoint", path: "/endpoints/nope/score", body: `{"data": [[1, 2, 3]]}`, status: 404, code: hangar.ENOTFOUND},
		{name: "score no key", path: "/endpoints/ep/score", body: `{"data": [[1, 2, 3]]}`, hdr: []string{"Authorization", ""}, status: 401, code: hangar.EUNAUTHORIZED},
		{name: "score wrong key", path: "/endpoints/ep/score", body: `{"data": [[1, 2, 3]]}`, hdr: []string{"Authorization", "Bearer " + testKey + "x"}, status: 401, code: hangar.EUNAUTHORIZED},
		{name: "score secondary key", path: "/endpoints/ep/score", body: `{"data": [[0.5, -1, 2]]}`, hdr: []string{"Authorization", "Bearer k-secondary"}, status: 200, want: nums(want[:1])},
		{name: "score deep nesting", path: "/endpoints/ep/score", body: `{"x": ` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `, "data": [[1, 2, 3]]}`, status: 400, code: EBADJSON},

		// MLflow /invocations
		{name: "mlflow dataframe_split", path: "/endpoints/ep/invocations", body: `{"dataframe_split": {"columns": ["f0", "f1", "f2"], "data": [[0.5, -1, 2], [-0.25, 0.75, 0]]}}`, status: 200, want: map[string]any{"predictions": nums(want)}},
		{name: "mlflow dataframe_records", path: "/endpoints/ep/invocations", body: `{"dataframe_records": [{"f0": 0.5, "f1": -1, "f2": 2}, {"f0": -0.25, "f1": 0.75, "f2": 0}]}`, status: 200, want: map[string]any{"predictions": nums(want)}},
		{name: "mlflow instances rows", path: "/endpoints/ep/invocations", body: `{"instances": [[0.5, -1, 2], [-0.25, 0.75, 0]], "params": {"x": 1}}`, status: 200, want: map[string]any{"predictions": nums(want)}},
		{name: "mlflow instances records", path: "/endpoints/ep/invocations", body: `{"instances": [{"f0": 0.5, "f1": -1, "f2": 2}]}`, status: 200, want: map[string]any{"predictions": nums(want[:1])}},
		{name: "mlflow inputs columns", path: "/endpoints/ep/invocations", body: `{"inputs": {"f0": [0.5, -0.25], "f1": [-1, 0.75], "f2": [2, 0]}}`, status: 200, want: map[string]any{"predictions": nums(want)}},
		{name: "mlflow csv", path: "/endpoints/ep/invocations", ct: "text/csv", body: "f1,f0,f2,other\n-1,0.5,2,a\n0.75,-0.25,0,b\n", status: 200, want: map[string]any{"predictions": nums(want)}},
		{name: "mlflow csv empty is missing", path: "/endpoints/ep/invocations", ct: "text/csv; charset=utf-8", body: "f0,f1,f2\n0.5,,2\n", status: 200, want: map[string]any{"predictions": nums(wantNaN)}},

		{name: "mlflow two keys", path: "/endpoints/ep/invocations", body: `{"instances": [[1, 2, 3]], "inputs": [[1, 2, 3]]}`, status: 400, code: hangar.EINVALID},
		{name: "mlflow no key", path: "/endpoints/ep/invocations", body: `{"data": [[1, 2, 3]]}`, status: 400, code: hangar.EINVALID},
		{name: "mlflow missing feature", path: "/endpoints/ep/invocations", body: `{"dataframe_split": {"columns": ["f0", "f2"], "data": [[1, 2]]}}`, status: 400, code: EMISSING},
		{name: "mlflow csv missing feature", path: "/endpoints/ep/invocations", ct: "text/csv", body: "f0,f2\n1,2\n", status: 400, code: EMISSING},
		{name: "mlflow csv bad number", path: "/endpoints/ep/invocations", ct: "text/csv", body: "f0,f1,f2\n1,x,2\n", status: 400, code: EBADTYPE},
		{name: "mlflow csv ragged", path: "/endpoints/ep/invocations", ct: "text/csv", body: "f0,f1,f2\n1,2\n", status: 400, code: EBADSHAPE},
		{name: "mlflow records string", path: "/endpoints/ep/invocations", body: `{"dataframe_records": [{"f0": "1", "f1": 2, "f2": 3}]}`, status: 400, code: EBADTYPE},
		{name: "mlflow no content type", path: "/endpoints/ep/invocations", body: `{"instances": [[1, 2, 3]]}`, hdr: []string{"Content-Type", ""}, status: 415, code: EMEDIATYPE},
		{name: "mlflow xml", path: "/endpoints/ep/invocations", ct: "application/xml", body: `<x/>`, status: 415, code: EMEDIATYPE},

		// Open Inference Protocol V2
		{name: "v2 tensor", path: "/endpoints/ep/v2/models/ep/infer", body: `{"id": "r1", "inputs": [{"name": "x", "shape": [2, 3], "datatype": "FP64", "data": [[0.5, -1, 2], [-0.25, 0.75, 0]]}]}`, status: 200,
			want: map[string]any{"model_name": "ep", "id": "r1", "outputs": []any{map[string]any{"name": "predict", "datatype": "FP64", "shape": []any{2.0}, "data": nums(want)}}}},
		{name: "v2 flat tensor", path: "/endpoints/ep/v2/models/ep/infer", body: `{"inputs": [{"name": "x", "shape": [2, 3], "datatype": "FP32", "data": [0.5, -1, 2, -0.25, 0.75, 0]}]}`, status: 200,
			want: map[string]any{"model_name": "ep", "outputs": []any{map[string]any{"name": "predict", "datatype": "FP64", "shape": []any{2.0}, "data": nums(want)}}}},
		{name: "v2 named tensors", path: "/endpoints/ep/v2/models/ep/infer", body: `{"parameters": {"content_type": "pd"}, "inputs": [{"name": "f2", "shape": [2], "datatype": "INT64", "data": [2, 0]}, {"name": "f0", "shape": [2, 1], "datatype": "FP64", "data": [[0.5], [-0.25]]}, {"name": "f1", "shape": [2], "datatype": "FP64", "data": [-1, 0.75]}]}`, status: 200,
			want: map[string]any{"model_name": "ep", "outputs": []any{map[string]any{"name": "predict", "datatype": "FP64", "shape": []any{2.0}, "data": nums(want)}}}},
		{name: "v2 version", path: "/endpoints/ep/v2/models/ep/versions/3/infer", body: `{"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP64", "data": [0.5, -1, 2]}]}`, status: 200,
			want: map[string]any{"model_name": "ep", "model_version": "3", "outputs": []any{map[string]any{"name": "predict", "datatype": "FP64", "shape": []any{1.0}, "data": nums(want[:1])}}}},
		{name: "v2 classifier by deployment", path: "/endpoints/ep/v2/models/bin/infer", body: `{"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP64", "data": [0.5, -1, 2]}]}`, status: 200,
			want: map[string]any{"model_name": "bin", "outputs": []any{
				map[string]any{"name": "predict", "datatype": "BYTES", "shape": []any{1.0}, "data": labels(wantBin[:1])},
				map[string]any{"name": "predict_proba", "datatype": "FP64", "shape": []any{1.0, 2.0}, "data": []any{1 - wantBin[0], wantBin[0]}},
			}}},
		{name: "v2 outputs filter", path: "/endpoints/ep/v2/models/bin/infer", body: `{"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP64", "data": [0.5, -1, 2]}], "outputs": [{"name": "predict_proba"}]}`, status: 200,
			want: map[string]any{"model_name": "bin", "outputs": []any{
				map[string]any{"name": "predict_proba", "datatype": "FP64", "shape": []any{1.0, 2.0}, "data": []any{1 - wantBin[0], wantBin[0]}},
			}}},

		{name: "v2 missing feature", path: "/endpoints/ep/v2/models/ep/infer", body: `{"inputs": [{"name": "f0", "shape": [1], "datatype": "FP64", "data": [1]}, {"name": "f1", "shape": [1], "datatype": "FP64", "data": [1]}]}`, status: 400, code: EMISSING},
		{name: "v2 wrong width", path: "/endpoints/ep/v2/models/ep/infer", body: `{"inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP64", "data": [1, 2]}]}`, status: 400, code: EBADSHAPE},
		{name: "v2 shape mismatch", path: "/endpoints/ep/v2/models/ep/infer", body: `{"inputs": [{"name": "x", "shape": [2, 3], "datatype": "FP64", "data": [1, 2, 3]}]}`, status: 400, code: EBADSHAPE},
		{name: "v2 bytes", path: "/endpoints/ep/v2/models/ep/infer", body: `{"inputs": [{"name": "x", "shape": [1, 3], "datatype": "BYTES", "data": ["a", "b", "c"]}]}`, status: 400, code: EBADTYPE},
		{name: "v2 fraction in INT32", path: "/endpoints/ep/v2/models/ep/infer", body: `{"inputs": [{"name": "x", "shape": [1, 3], "datatype": "INT32", "data": [1, 2.5, 3]}]}`, status: 400, code: EBADTYPE},
		{name: "v2 number in BOOL", path: "/endpoints/ep/v2/models/ep/infer", body: `{"inputs": [{"name": "x", "shape": [1, 3], "datatype": "BOOL", "data": [true, 1, false]}]}`, status: 400, code: EBADTYPE},
		{name: "v2 string in FP64", path: "/endpoints/ep/v2/models/ep/infer", body: `{"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP64", "data": [1, "2", 3]}]}`, status: 400, code: EBADTYPE},
		{name: "v2 unknown datatype", path: "/endpoints/ep/v2/models/ep/infer", body: `{"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP128", "data": [1, 2, 3]}]}`, status: 400, code: hangar.EINVALID},
		{name: "v2 no inputs", path: "/endpoints/ep/v2/models/ep/infer", body: `{"id": "x"}`, status: 400, code: hangar.EINVALID},
		{name: "v2 input without data", path: "/endpoints/ep/v2/models/ep/infer", body: `{"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP64"}]}`, status: 400, code: hangar.EINVALID},
		{name: "v2 negative shape", path: "/endpoints/ep/v2/models/ep/infer", body: `{"inputs": [{"name": "x", "shape": [-1, 3], "datatype": "FP64", "data": []}]}`, status: 400, code: EBADSHAPE},
		{name: "v2 huge shape, small body", path: "/endpoints/ep/v2/models/ep/infer", body: `{"inputs": [{"name": "x", "shape": [1000000000, 3], "datatype": "FP64", "data": [1, 2, 3]}]}`, status: 400, code: EBADSHAPE},
		{name: "v2 huge named shape", path: "/endpoints/ep/v2/models/ep/infer", body: `{"inputs": [{"name": "f0", "shape": [1000000000], "datatype": "FP64", "data": [1]}, {"name": "f1", "shape": [1000000000], "datatype": "FP64", "data": [1]}, {"name": "f2", "shape": [1000000000], "datatype": "FP64", "data": [1]}]}`, status: 400, code: EBADSHAPE},
		{name: "v2 unknown output", path: "/endpoints/ep/v2/models/ep/infer", body: `{"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP64", "data": [1, 2, 3]}], "outputs": [{"name": "proba"}]}`, status: 400, code: hangar.EINVALID},
		{name: "v2 unknown model", path: "/endpoints/ep/v2/models/nope/infer", body: `{"inputs": []}`, status: 404, code: hangar.ENOTFOUND},
		{name: "v2 unknown version", path: "/endpoints/ep/v2/models/ep/versions/9/infer", body: `{"inputs": []}`, status: 404, code: hangar.ENOTFOUND},
		{name: "v2 id not a string", path: "/endpoints/ep/v2/models/ep/infer", body: `{"id": 1, "inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP64", "data": [1, 2, 3]}]}`, status: 400, code: EBADJSON},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tg.post(t, nil, tt.path, tt.ct, tt.body, tt.hdr...)
			if err != nil {
				t.Fatal(err)
			}
			if got.status != tt.status {
				t.Fatalf("status: got %d (%s), want %d", got.status, got.body, tt.status)
			}
			if ct := got.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type: got %q, want application/json", ct)
			}
			if got.header.Get(HeaderRequestID) == "" {
				t.Errorf("no %s header", HeaderRequestID)
			}
			var body any
			if err := json.Unmarshal([]byte(got.body), &body); err != nil {
				t.Fatalf("answer is not JSON: %v: %s", err, got.body)
			}
			if tt.code != "" {
				m, _ := body.(map[string]any)
				if m["code"] != tt.code {
					t.Errorf("code: got %v, want %s (body %s)", m["code"], tt.code, got.body)
				}
				msgKey := "error"
				if strings.Contains(tt.path, "/invocations") {
					msgKey = "message"
					if m["error_code"] == nil {
						t.Errorf("MLflow error without error_code: %s", got.body)
					}
				}
				if msg, _ := m[msgKey].(string); msg == "" {
					t.Errorf("no %s message: %s", msgKey, got.body)
				}
				return
			}
			if diff := cmp.Diff(tt.want, body, cmpopts.EquateApprox(0, 1e-12), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("answer (-want +got):\n%s", diff)
			}
		})
	}
}

func nan() float64 { var z float64; return z / z }

func TestMissingFeatureNamesIt(t *testing.T) {
	tg := newTestGateway(t, nil)
	tg.deploy(t, DeploymentSpec{Name: "reg", Model: trainGBDT(t, hangar.ObjectiveRegSquaredError, 10, 3)})
	tg.traffic(t, map[string]int{"reg": 100}, nil)
	got, err := tg.post(t, nil, "/endpoints/ep/score", "", `{"input_data": {"columns": ["f0", "f2"], "data": [[1, 2]]}}`)
	if err != nil {
		t.Fatal(err)
	}
	if got.status != http.StatusBadRequest || !strings.Contains(got.body, `\"f1\"`) {
		t.Errorf("got %d %s, want 400 naming \"f1\"", got.status, got.body)
	}
}

func TestHealthAndMetadata(t *testing.T) {
	tg := newTestGateway(t, nil)
	bin := trainGBDT(t, hangar.ObjectiveBinaryLogistic, 10, 3)
	tests := []struct {
		path   string
		status int
		want   string
	}{
		{"/endpoints/ep/", 200, `{"live":true}`},
		{"/endpoints/ep/v2/health/live", 200, `{"live":true}`},
		{"/endpoints/ep/v2/health/ready", 503, `"code":"no_traffic"`},
		{"/endpoints/nope/v2/health/live", 404, `"code":"not_found"`},
		{"/endpoints/ep/score", 405, `"code":"method_not_allowed"`},
		{"/elsewhere", 404, `"code":"not_found"`},
	}
	for _, tt := range tests {
		got := tg.get(t, tt.path)
		if got.status != tt.status || !strings.Contains(got.body, tt.want) {
			t.Errorf("GET %s: got %d %s, want %d with %s", tt.path, got.status, got.body, tt.status, tt.want)
		}
	}
	tg.deploy(t, DeploymentSpec{Name: "blue", Model: bin, ModelName: "churn", ModelVersion: "2"})
	tg.traffic(t, map[string]int{"blue": 100}, nil)
	tests = []struct {
		path   string
		status int
		want   string
	}{
		{"/endpoints/ep/v2/health/ready", 200, `{"ready":true}`},
		{"/endpoints/ep/ping", 200, `{"ready":true}`},
		{"/endpoints/ep/v2/models/ep/ready", 200, `{"name":"ep","ready":true}`},
		{"/endpoints/ep/v2/models/blue/versions/2/ready", 200, `{"name":"blue","ready":true}`},
		{"/endpoints/ep/v2/models/blue/versions/3/ready", 404, `"code":"not_found"`},
		{"/endpoints/ep/v2", 200, `"name":"hangar"`},
		{"/endpoints/ep/v2/models/ep", 200, `{"name":"ep","versions":["2"],"platform":"hangar_native","inputs":[{"name":"f0","datatype":"FP64","shape":[-1]},{"name":"f1","datatype":"FP64","shape":[-1]},{"name":"f2","datatype":"FP64","shape":[-1]}],"outputs":[{"name":"predict","datatype":"BYTES","shape":[-1]},{"name":"predict_proba","datatype":"FP64","shape":[-1,2]}]}`},
	}
	for _, tt := range tests {
		got := tg.get(t, tt.path)
		if got.status != tt.status || !strings.Contains(got.body, tt.want) {
			t.Errorf("GET %s: got %d %s, want %d with %s", tt.path, got.status, got.body, tt.status, tt.want)
		}
	}
	_ = fmt.Sprint()
}
