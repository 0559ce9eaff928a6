package httpapi

import (
	"bytes"
	"math"
	"net/http/httptest"
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
