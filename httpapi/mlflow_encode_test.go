package httpapi

import (
	"bytes"
	"math"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/mlflow"
)

// TestMetricHistoryEncoding holds writeMetricHistory to the bytes
// writeMLflow writes for the same answer through encoding/json.
func TestMetricHistoryEncoding(t *testing.T) {
	many := make([]hangar.Metric, 5000) // more than one chunk
	for i := range many {
		many[i] = hangar.Metric{Key: "loss", Value: 1 / float64(i+1), Timestamp: 1700000000000 + int64(i), Step: int64(i)}
	}
	tests := []struct {
		name string
		page hangar.Page[hangar.Metric]
	}{
		{"empty", hangar.Page[hangar.Metric]{Items: []hangar.Metric{}}},
		{"nil", hangar.Page[hangar.Metric]{}},
		{"only a token", hangar.Page[hangar.Metric]{NextPageToken: "abc"}},
		{"special values", hangar.Page[hangar.Metric]{Items: []hangar.Metric{
			{Key: "a<b>&\"c\"\u2028é", Value: math.NaN(), Timestamp: -1, Step: math.MinInt64},
			{Key: "a<b>&\"c\"\u2028é", Value: math.Inf(1), Timestamp: math.MaxInt64, Step: 3},
			{Key: "a<b>&\"c\"\u2028é", Value: math.Inf(-1)},
			{Key: "x", Value: 1e-7}, {Key: "x", Value: -1e-7}, {Key: "x", Value: 1e21}, {Key: "x", Value: 1e20},
			{Key: "x", Value: 0}, {Key: "x", Value: math.Copysign(0, -1)}, {Key: "x", Value: 5e-324},
			{Key: "x", Value: math.MaxFloat64}, {Key: "x", Value: 123456789.125}, {Key: "x", Value: 1.5e-10},
		}, NextPageToken: "tok<&>"}},
		{"many points", hangar.Page[hangar.Metric]{Items: many, NextPageToken: "next"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := httptest.NewRecorder()
			if err := writeMetricHistory(got, &tt.page); err != nil {
				t.Fatal(err)
			}
			want := httptest.NewRecorder()
			if err := writeMLflow(want, historyResponse(&tt.page)); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Body.Bytes(), want.Body.Bytes()) {
				t.Errorf("got  %.300s\nwant %.300s", got.Body.Bytes(), want.Body.Bytes())
			}
			if g, w := got.Header().Get("Content-Type"), want.Header().Get("Content-Type"); g != w || got.Code != want.Code {
				t.Errorf("got %d %q, want %d %q", got.Code, g, want.Code, w)
			}
		})
	}
}

// historyResponse is the answer as encoding/json writes it.
func historyResponse(page *hangar.Page[hangar.Metric]) any {
	resp := struct {
		Metrics       []mlflow.Metric `json:"metrics,omitempty"`
		NextPageToken string          `json:"next_page_token,omitempty"`
	}{NextPageToken: page.NextPageToken}
	for _, m := range page.Items {
		resp.Metrics = append(resp.Metrics, mlflow.Metric{Key: m.Key, Value: mlflow.Double(m.Value), Timestamp: mlflow.Int64(m.Timestamp), Step: mlflow.Int64(m.Step)})
	}
	return resp
}

// FuzzAppendDouble checks appendDouble against mlflow.Double's MarshalJSON.
func FuzzAppendDouble(f *testing.F) {
	for _, v := range []float64{0, 1, -1, 1e-6, 1e-7, 9.999999e-7, 1e21, 1e20, 1e-300, math.NaN(), math.Inf(1), 0.1, 1.0 / 3} {
		f.Add(math.Float64bits(v))
	}
	f.Fuzz(func(t *testing.T, bits uint64) {
		v := math.Float64frombits(bits)
		want, err := mlflow.Double(v).MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		if got := appendDouble(nil, v); !bytes.Equal(got, want) {
			t.Errorf("appendDouble(%v): got %s, want %s", v, got, want)
		}
	})
}

// FuzzParseLogBatch checks that whatever parseLogBatch takes,
// decodeLogBatch (the generic decoder every other body goes to) takes with
// the same run id and batch, and that the handler's reading of the body
// gives the same result as decodeLogBatch alone for any body.
func FuzzParseLogBatch(f *testing.F) {
	for _, seed := range []string{
		`{"run_id":"abc","metrics":[{"key":"m","value":1.5,"timestamp":1700000000000,"step":3}],"params":[],"tags":[]}`,
		`{"run_id": "abc", "metrics": [{"key": "m", "value": -0, "timestamp": 1, "step": 0}, {"step": 2, "timestamp": 2, "value": 1e-7, "key": "é"}], "params": [], "tags": []}`,
		"{\n\t\"metrics\" : [ ] , \"run_id\" : \"r\"\r\n}",
		`{"run_id":"abc","metrics":[{"key":"m","value":1,"timestamp":1}]}`,
		`{"run_id":"abc","metrics":[{"key":"m","value":"NaN","timestamp":1}]}`,
		`{"run_id":"abc","metrics":[{"key":"m","value":1,"timestamp":1.5}]}`,
		`{"run_id":"abc","metrics":[{"key":"m","value":1,"timestamp":1e3}]}`,
		`{"run_id":"abc","metrics":[{"key":"m","value":1e400,"timestamp":1}]}`,
		`{"run_id":"abc","metrics":[{"Key":"m","value":1,"timestamp":1}]}`,
		`{"run_id":"abc","metrics":[{"key":"m","key":"n","value":1,"timestamp":1}]}`,
		`{"run_id":"abc","run_id":"def"}`,
		`{"run_uuid":"abc"}`,
		`{"run_id":""}`,
		`{"run_id":"a\"b"}`,
		`{"run_id":"abc","params":[{"key":"p","value":"v"}]}`,
		`{"run_id":"abc","metrics":[{"key":"m","value":01,"timestamp":1}]}`,
		`{"run_id":"abc"} x`,
		`"{\"run_id\":\"abc\"}"`,
		`{"run_id":"abc","metrics":[{"key":"m","value":1,"timestamp":-9223372036854775808,"step":9223372036854775807}]}`,
		`{"run_id":"abc","metrics":[{"key":"m","value":1,"timestamp":9223372036854775808}]}`,
		``,
	} {
		f.Add([]byte(seed))
	}
	s := NewServer()
	decode := func(body []byte, fast bool) (string, hangar.LogBatch, error) {
		r := httptest.NewRequest("POST", "/api/2.0/mlflow/runs/log-batch", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		if fast {
			return s.logBatchRequest(httptest.NewRecorder(), r)
		}
		return s.decodeLogBatch(httptest.NewRecorder(), r)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		wantID, want, wantErr := decode(body, false)
		if id, b, ok := parseLogBatch(body); ok {
			if wantErr != nil {
				t.Fatalf("parseLogBatch took %q, which decodeLogBatch refuses: %v", body, wantErr)
			}
			if id != wantID || !sameBatch(b, want) {
				t.Fatalf("body %q:\n parseLogBatch  %q %+v\n decodeLogBatch %q %+v", body, id, b, wantID, want)
			}
		}
		gotID, got, gotErr := decode(body, true)
		if (gotErr == nil) != (wantErr == nil) || (gotErr != nil && gotErr.Error() != wantErr.Error()) {
			t.Fatalf("body %q: logBatchRequest error %v, decodeLogBatch error %v", body, gotErr, wantErr)
		}
		if gotErr == nil && (gotID != wantID || !sameBatch(got, want)) {
			t.Fatalf("body %q:\n logBatchRequest %q %+v\n decodeLogBatch  %q %+v", body, gotID, got, wantID, want)
		}
	})
}

// sameBatch compares batches, values by their bits (NaN, -0).
func sameBatch(a, b hangar.LogBatch) bool {
	if len(a.Metrics) != len(b.Metrics) || (a.Metrics == nil) != (b.Metrics == nil) ||
		!slices.Equal(a.Params, b.Params) || !slices.Equal(a.Tags, b.Tags) ||
		(a.Params == nil) != (b.Params == nil) || (a.Tags == nil) != (b.Tags == nil) {
		return false
	}
	for i := range a.Metrics {
		x, y := a.Metrics[i], b.Metrics[i]
		if x.Key != y.Key || x.Timestamp != y.Timestamp || x.Step != y.Step || math.Float64bits(x.Value) != math.Float64bits(y.Value) {
			return false
		}
	}
	return true
}

// FuzzSearchRunsEncoding holds writeSearchRuns to the bytes writeMLflow
// writes for the same page through encoding/json, for runs made of the
// fuzzed strings and numbers.
func FuzzSearchRunsEncoding(f *testing.F) {
	f.Add("run-1", "<a&b>\u2028\"é\x01", int64(1700000000000), int64(0), 1.5, uint8(3), "tok")
	f.Add("", "", int64(0), int64(-5), math.NaN(), uint8(0), "")
	f.Add("x", "\xff", int64(math.MaxInt64), int64(1), 1e-9, uint8(255), "t<")
	f.Fuzz(func(t *testing.T, a, b string, n1, n2 int64, v float64, shape uint8, token string) {
		end := n2
		run := &hangar.Run{
			Info: hangar.RunInfo{RunID: a, RunName: b, ExperimentID: a + b, UserID: b, Status: "RUNNING", StartTime: n1, LifecycleStage: "active"},
		}
		if shape&1 != 0 {
			run.Info.EndTime = &end
			run.Info.ArtifactURI = b
		}
		if shape&2 != 0 {
			run.Data.Metrics = []hangar.Metric{{Key: a, Value: v, Timestamp: n1, Step: n2}, {Key: b, Value: -v, Timestamp: n2, Step: n1}}
		}
		if shape&4 != 0 {
			run.Data.Params = []hangar.Param{{Key: a, Value: b}}
		}
		if shape&8 != 0 {
			run.Data.Tags = []hangar.RunTag{{Key: b, Value: a}, {Key: "k", Value: ""}}
		}
		if shape&16 != 0 {
			in := hangar.DatasetInput{Dataset: hangar.Dataset{Name: a, Digest: b, SourceType: "local", Source: a}}
			if shape&32 != 0 {
				in.Tags = []hangar.InputTag{{Key: a, Value: b}}
				in.Dataset.Schema, in.Dataset.Profile = b, a
			}
			run.Inputs.DatasetInputs = []hangar.DatasetInput{in, {Dataset: hangar.Dataset{Name: b}}}
		}
		page := &hangar.Page[*hangar.Run]{NextPageToken: token}
		if shape&64 == 0 {
			page.Items = []*hangar.Run{run, run}
		}
		got := httptest.NewRecorder()
		if err := writeSearchRuns(got, page); err != nil {
			t.Fatal(err)
		}
		resp := struct {
			Runs          []mlflow.RunEntity `json:"runs,omitempty"`
			NextPageToken string             `json:"next_page_token,omitempty"`
		}{NextPageToken: page.NextPageToken}
		for _, r := range page.Items {
			resp.Runs = append(resp.Runs, wireRun(r))
		}
		want := httptest.NewRecorder()
		if err := writeMLflow(want, resp); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Body.Bytes(), want.Body.Bytes()) {
			t.Fatalf("got  %s\nwant %s", got.Body.Bytes(), want.Body.Bytes())
		}
	})
}
