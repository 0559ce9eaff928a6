package mlflow

import (
	"encoding/json"
	"math"
	"strconv"
	"testing"

	"github.com/hangar-ml/hangar"
)

func TestDoubleJSON(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		want string
	}{
		{0.5, `0.5`},
		{-3, `-3`},
		{1e21, `1e+21`},
		{math.NaN(), `"NaN"`},
		{math.Inf(1), `"Infinity"`},
		{math.Inf(-1), `"-Infinity"`},
	} {
		b, err := json.Marshal(Double(tc.v))
		if err != nil || string(b) != tc.want {
			t.Errorf("Marshal(%v): got %s, %v; want %s", tc.v, b, err, tc.want)
		}
	}
	for _, tc := range []struct {
		in   string
		want float64
	}{
		{`0.5`, 0.5},
		{`-3`, -3},
		{`"0.25"`, 0.25},
		{`1e3`, 1000},
		{`"NaN"`, math.NaN()},
		{`"Infinity"`, math.Inf(1)},
		{`"-Infinity"`, math.Inf(-1)},
		{`"\u004eaN"`, math.NaN()}, // escaped, still "NaN"
	} {
		var d Double
		if err := json.Unmarshal([]byte(tc.in), &d); err != nil {
			t.Errorf("Unmarshal(%s): %v", tc.in, err)
			continue
		}
		if got := float64(d); got != tc.want && !(math.IsNaN(got) && math.IsNaN(tc.want)) {
			t.Errorf("Unmarshal(%s): got %v, want %v", tc.in, got, tc.want)
		}
	}
	for _, in := range []string{`"nan"`, `"inf"`, `"x"`, `""`, `true`, `[1]`, `{}`, `1e400`, `"1e400"`, `" 1"`, `"0x10"`} {
		var d Double
		if err := json.Unmarshal([]byte(in), &d); hangar.ErrorCode(err) != hangar.EINVALID {
			t.Errorf("Unmarshal(%s): got %v, want EINVALID", in, err)
		}
	}
	d := Double(7)
	if err := json.Unmarshal([]byte(`null`), &d); err != nil || d != 7 {
		t.Errorf("null: got %v, %v; want 7 unchanged", d, err)
	}
}

func TestInt64JSON(t *testing.T) {
	if b, _ := json.Marshal(Int64(1700000000000)); string(b) != `1700000000000` {
		t.Errorf("Marshal: got %s, want a JSON number", b)
	}
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{`1700000000000`, 1700000000000},
		{`"1700000000000"`, 1700000000000},
		{`-5`, -5},
		{`9223372036854775807`, math.MaxInt64},
		{`-9223372036854775808`, math.MinInt64},
		{`1e3`, 1000},
		{`2.0`, 2},
	} {
		var i Int64
		if err := json.Unmarshal([]byte(tc.in), &i); err != nil || int64(i) != tc.want {
			t.Errorf("Unmarshal(%s): got %d, %v; want %d", tc.in, i, err, tc.want)
		}
	}
	for _, in := range []string{`1.5`, `"x"`, `9223372036854775808`, `1e19`, `-1e19`, `true`, `"NaN"`, `""`} {
		var i Int64
		if err := json.Unmarshal([]byte(in), &i); hangar.ErrorCode(err) != hangar.EINVALID {
			t.Errorf("Unmarshal(%s): got %v, want EINVALID", in, err)
		}
	}
}

func TestLogBatchJSON(t *testing.T) {
	in := `{"run_id":"r1","metrics":[{"key":"loss","value":"NaN","timestamp":"1700000000000","step":3}],"params":[{"key":"lr","value":"0.1"}]}`
	var b LogBatch
	if err := json.Unmarshal([]byte(in), &b); err != nil {
		t.Fatal(err)
	}
	if b.RunID != "r1" || len(b.Metrics) != 1 || !math.IsNaN(float64(b.Metrics[0].Value)) ||
		b.Metrics[0].Timestamp != 1700000000000 || b.Metrics[0].Step != 3 || b.Params[0] != (Param{"lr", "0.1"}) {
		t.Errorf("got %+v", b)
	}
	out, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"run_id":"r1","metrics":[{"key":"loss","value":"NaN","timestamp":1700000000000,"step":3}],"params":[{"key":"lr","value":"0.1"}],"tags":null}`
	if string(out) != want {
		t.Errorf("got %s\nwant %s", out, want)
	}
}

// same reports whether two doubles are the same value (NaN equals NaN).
func same(a, b Double) bool {
	return a == b || (math.IsNaN(float64(a)) && math.IsNaN(float64(b)))
}

// FuzzDoubleJSON: whatever Double accepts writes back as JSON that reads
// as the same value.
func FuzzDoubleJSON(f *testing.F) {
	for _, s := range []string{`0.5`, `"NaN"`, `"Infinity"`, `"-Infinity"`, `"1e-3"`, `-0`, `1e308`, `null`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var d Double
		if err := json.Unmarshal(b, &d); err != nil {
			return
		}
		out, err := json.Marshal(d)
		if err != nil {
			t.Fatalf("%s read as %v, which does not write: %v", b, d, err)
		}
		var back Double
		if err := json.Unmarshal(out, &back); err != nil || !same(back, d) {
			t.Fatalf("%s → %v → %s → %v, %v", b, d, out, back, err)
		}
	})
}

// FuzzInt64JSON: whatever Int64 accepts writes back as a JSON number that
// reads as the same value.
func FuzzInt64JSON(f *testing.F) {
	for _, s := range []string{`1700000000000`, `"42"`, `-9223372036854775808`, `1e3`, `null`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var i Int64
		if err := json.Unmarshal(b, &i); err != nil {
			return
		}
		out, err := json.Marshal(i)
		if err != nil {
			t.Fatal(err)
		}
		var back Int64
		if err := json.Unmarshal(out, &back); err != nil || back != i {
			t.Fatalf("%s → %d → %s → %d, %v", b, i, out, back, err)
		}
	})
}

// FuzzLogBatchJSON decodes log-batch bodies as the tracking server will:
// whatever decodes re-encodes and decodes to the same batch.
func FuzzLogBatchJSON(f *testing.F) {
	f.Add([]byte(`{"run_id":"r1","metrics":[{"key":"m","value":1.5,"timestamp":1,"step":0}],"params":[{"key":"p","value":"v"}],"tags":[{"key":"t","value":"x"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var in LogBatch
		if err := json.Unmarshal(b, &in); err != nil {
			return
		}
		out, err := json.Marshal(in)
		if err != nil {
			t.Fatalf("decoded %+v does not encode: %v", in, err)
		}
		var back LogBatch
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("%s does not decode: %v", out, err)
		}
		if back.RunID != in.RunID || len(back.Metrics) != len(in.Metrics) || len(back.Params) != len(in.Params) || len(back.Tags) != len(in.Tags) {
			t.Fatalf("round trip: %+v → %+v", in, back)
		}
		for i, m := range in.Metrics {
			if g := back.Metrics[i]; g.Key != m.Key || !same(g.Value, m.Value) || g.Timestamp != m.Timestamp || g.Step != m.Step {
				t.Fatalf("metric %d: %+v → %+v", i, m, g)
			}
		}
	})
}

// FuzzPlainNumber holds the fast path of Double and Int64 to encoding/json:
// what PlainNumber takes is a JSON number, and decodes to the same value
// both ways.
func FuzzPlainNumber(f *testing.F) {
	for _, s := range []string{"0", "-0", "1.5", "1e3", "-2E-7", "01", "1.", ".5", "+1", "1e", "NaN", `"1"`, "9223372036854775808"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if !PlainNumber(b) {
			return
		}
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			t.Fatalf("PlainNumber(%q) but encoding/json refuses it: %v", b, err)
		}
		var d Double
		if err := d.UnmarshalJSON(b); err == nil {
			if want, err := strconv.ParseFloat(n.String(), 64); err != nil || float64(d) != want {
				t.Fatalf("Double(%q) = %v, want %v", b, d, want)
			}
		}
	})
}
