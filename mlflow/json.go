package mlflow

import (
	"encoding/json"
	"math"
	"strconv"

	"github.com/hangar-ml/hangar"
)

// Double is a float64 in MLflow's JSON. Finite values are JSON numbers;
// NaN, +Inf and -Inf, which JSON cannot write as numbers, are the strings
// "NaN", "Infinity" and "-Infinity", both ways, as MLflow (and proto3's
// JSON mapping) does. On input a number written as a string ("0.5") is
// accepted too, as proto3 JSON parsers accept it.
type Double float64

// MarshalJSON implements json.Marshaler.
func (d Double) MarshalJSON() ([]byte, error) {
	switch f := float64(d); {
	case math.IsNaN(f):
		return []byte(`"NaN"`), nil
	case math.IsInf(f, 1):
		return []byte(`"Infinity"`), nil
	case math.IsInf(f, -1):
		return []byte(`"-Infinity"`), nil
	default:
		return json.Marshal(f)
	}
}

// UnmarshalJSON implements json.Unmarshaler. Errors: EINVALID for anything
// but a number, a string holding one, "NaN", "Infinity" or "-Infinity";
// null leaves d as it is.
func (d *Double) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	if PlainNumber(b) { // the common case, without the reflection of json.Unmarshal
		f, err := strconv.ParseFloat(string(b), 64)
		if err != nil {
			return hangar.Errorf(hangar.EINVALID, "MLflow double %s is out of range", clip(b))
		}
		*d = Double(f)
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return badNumber("double", b)
		}
		switch s {
		case "NaN":
			*d = Double(math.NaN())
			return nil
		case "Infinity":
			*d = Double(math.Inf(1))
			return nil
		case "-Infinity":
			*d = Double(math.Inf(-1))
			return nil
		}
	}
	n, err := number(b, "double")
	if err != nil {
		return err
	}
	f, err := strconv.ParseFloat(n, 64)
	if err != nil { // out of float64's range: MLflow wants "Infinity" spelled out
		return hangar.Errorf(hangar.EINVALID, "MLflow double %s is out of range", clip(b))
	}
	*d = Double(f)
	return nil
}

// Int64 is an int64 in MLflow's JSON (timestamps, steps, sizes). MLflow
// writes it as a JSON number, where proto3's mapping would use a string,
// and accepts either on input, so UnmarshalJSON does too. A number with a
// fraction or an exponent is accepted when its value is a whole number in
// range ("1e3" is 1000).
type Int64 int64

// MarshalJSON implements json.Marshaler.
func (i Int64) MarshalJSON() ([]byte, error) {
	return strconv.AppendInt(nil, int64(i), 10), nil
}

// UnmarshalJSON implements json.Unmarshaler. Errors: EINVALID for anything
// but a whole number in int64's range, as a number or a string; null leaves
// i as it is.
func (i *Int64) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	if PlainNumber(b) {
		if v, err := strconv.ParseInt(string(b), 10, 64); err == nil {
			*i = Int64(v)
			return nil
		}
	}
	n, err := number(b, "int64")
	if err != nil {
		return err
	}
	if v, err := strconv.ParseInt(n, 10, 64); err == nil {
		*i = Int64(v)
		return nil
	}
	f, err := strconv.ParseFloat(n, 64)
	// 2⁶³ is exact in float64; every whole float64 below it fits.
	if err != nil || f != math.Trunc(f) || f < math.MinInt64 || f >= math.MaxInt64 {
		return hangar.Errorf(hangar.EINVALID, "MLflow int64 %s: want a whole number in int64's range", clip(b))
	}
	*i = Int64(f)
	return nil
}

// number returns the JSON number literal in b, which is either that
// literal or a string holding one.
func number(b []byte, what string) (string, error) {
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return "", badNumber(what, b)
	}
	return string(n), nil
}

func badNumber(what string, b []byte) error {
	want := "a number"
	if what == "double" {
		want = `a number, "NaN", "Infinity" or "-Infinity"`
	}
	return hangar.Errorf(hangar.EINVALID, "MLflow %s %s: want %s", what, clip(b), want)
}

// clip shortens raw JSON for an error message.
func clip(b []byte) string {
	const n = 40
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}

// ExperimentID is an experiment id in MLflow's JSON: a decimal string
// ("0" is the Default experiment). MLflow's server turns a number it finds
// in experiment_id or experiment_ids into a string before parsing the
// request, so UnmarshalJSON accepts a JSON number as well and keeps its
// text; it is written as a string.
type ExperimentID string

// UnmarshalJSON implements json.Unmarshaler. Errors: EINVALID for anything
// but a string or a number; null leaves id as it is.
func (id *ExperimentID) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return hangar.Errorf(hangar.EINVALID, "MLflow experiment id %s: want a string", clip(b))
		}
		*id = ExperimentID(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return hangar.Errorf(hangar.EINVALID, "MLflow experiment id %s: want a string or a number", clip(b))
	}
	*id = ExperimentID(n.String())
	return nil
}

// PlainNumber reports whether b is a JSON number literal of at most 32
// bytes: an optional minus, digits, an optional fraction and exponent, as
// JSON's grammar has them (no leading zeros, no plus, no bare dot).
func PlainNumber(b []byte) bool {
	if len(b) == 0 || len(b) > 32 {
		return false
	}
	i := 0
	if b[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
			n++
		}
		return n
	}
	start := i
	n := digits()
	if n == 0 || (n > 1 && b[start] == '0') {
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(b)
}
