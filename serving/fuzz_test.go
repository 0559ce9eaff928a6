package serving

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/hangar-ml/hangar"
)

// fuzzRows is a decoder for a model with features a, b, c.
func fuzzRows() *rows {
	r := &rows{}
	feats := []string{"a", "b", "c"}
	r.reset(feats, map[string]int{"a": 0, "b": 1, "c": 2})
	return r
}

// checkDecoded holds a decoder to its contract: an error with a stable
// input code, or rows of the model's width and only JSON it accepts.
func checkDecoded(t *testing.T, body []byte, r *rows, err error, jsonBody bool) {
	t.Helper()
	if err != nil {
		switch c := hangar.ErrorCode(err); c {
		case hangar.EINVALID, EMISSING, EBADTYPE, EBADJSON, EBADSHAPE:
		default:
			t.Fatalf("error with code %s (want an input error): %v", c, err)
		}
		return
	}
	if len(r.vals) != r.n*len(r.feats) {
		t.Fatalf("%d values for %d rows of %d features", len(r.vals), r.n, len(r.feats))
	}
	for _, v := range r.vals {
		if math.IsInf(v, 0) {
			t.Fatalf("decoded an infinity from %q", body)
		}
	}
	if jsonBody && !json.Valid(body) {
		t.Fatalf("accepted a body that is not JSON: %q", body)
	}
}

func FuzzDecodeScore(f *testing.F) {
	for _, s := range []string{
		`{"data": [[1, 2, 3]]}`, `{"data": [{"a": 1, "b": null, "c": 3}]}`, `{"data": [1, 2, 3]}`,
		`{"input_data": {"columns": ["c", "a", "b"], "index": [0], "data": [[3, 1, 2]]}}`,
		`{"input_data": {"a": [1], "b": [[2]], "c": [3]}}`, `{"input_data": [[1e3, -0.5, 0]], "params": {}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := fuzzRows()
		err := r.decodeScore(body)
		checkDecoded(t, body, r, err, true)
	})
}

func FuzzDecodeInvocations(f *testing.F) {
	for _, s := range []string{
		`{"dataframe_split": {"columns": ["a", "b", "c"], "data": [[1, 2, 3]]}}`,
		`{"dataframe_records": [{"a": 1, "b": 2, "c": 3}]}`, `{"instances": [[1, 2, 3]]}`,
		`{"instances": [{"a": 1, "b": 2, "c": 3}]}`, `{"inputs": {"a": [1], "b": [2], "c": [3]}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := fuzzRows()
		err := r.decodeInvocations(body)
		checkDecoded(t, body, r, err, true)
	})
}

func FuzzDecodeV2(f *testing.F) {
	for _, s := range []string{
		`{"id": "1", "inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP64", "data": [[1, 2, 3]]}]}`,
		`{"inputs": [{"name": "a", "shape": [1], "datatype": "INT32", "data": [1]}, {"name": "b", "shape": [1, 1], "datatype": "BOOL", "data": [[true]]}, {"name": "c", "shape": [1], "datatype": "FP32", "data": [0.5]}], "outputs": [{"name": "predict"}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := fuzzRows()
		_, err := r.decodeV2(body)
		checkDecoded(t, body, r, err, true)
	})
}

func FuzzDecodeCSV(f *testing.F) {
	for _, s := range []string{"a,b,c\n1,2,3\n", "c,x,a,b\n3,,1,2\n4,y,5,\n", "a,b,c\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := fuzzRows()
		err := r.decodeCSV(body)
		checkDecoded(t, body, r, err, false)
	})
}
