// Package profile computes statistical profiles of tables: the reference
// data monitoring compares against. A profile is made in one streaming pass
// over a CSV or Parquet file, in memory that does not depend on the number
// of rows, and holds per column the inferred type, counts of present,
// missing and distinct values, moments, quantiles, a histogram on fixed
// edges and the most frequent categories — with each estimate's error
// stated in the profile itself. Profiles are JSON with stable snake_case
// field names and a version; Decode and Validate refuse one that would not
// read back.
//
// The rules (see ARCHITECTURE.md, "Profiles"):
//   - Missing: the cells tabular.ReadCSV reads as missing ("", NA, NaN,
//     nan, null, NULL, None, N/A, na) and any text that parses as NaN, in
//     every column, so that nothing depends on the order of the rows; for
//     Parquet, nulls. Missing cells count in missing and nowhere else.
//   - Types: integer or number exactly when tabular reads the column as
//     numeric (integer when every value parses with strconv.ParseInt);
//     otherwise boolean (true/false in three casings), datetime (every value
//     read by tabular.ParseTime) or string. A column with no value is a
//     number column, as tabular reads it.
//   - Infinite numbers are counted (numeric.infinite) but kept out of the
//     moments, quantiles and histogram.
//   - Exact where it is cheap: value counts are kept exactly while a
//     numeric column has at most 1024 distinct values, and its first 16,384
//     finite values as they are; then quantiles and histogram are exact.
//     Text columns are counted exactly, by their values as written, while
//     they have at most 1024 distinct values.
//   - Beyond that: quantiles from a KLL sketch (k = 1024, rank error ≤
//     0.28 % of the count, stated as numeric.rank_error), distinct values
//     from HyperLogLog (2^14 registers, ≈ 0.8 % standard error), categories
//     from a Misra–Gries summary (each count low by at most
//     categories.max_error ≤ n/1025).
//   - Histogram edges are fixed after the pass from the exact min and max:
//     one bin per integer for an integer column spanning at most 50 values,
//     else Sturges' number of equal-width bins, at most 50. Bins are
//     [e_i, e_i+1), the last one closed — numpy's rule.
package profile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"time"
	"unicode/utf8"

	"github.com/hangar-ml/hangar"
)

// Version is the version of the profile format this package writes and
// reads.
const Version = 1

// Type is a column's inferred type.
type Type string

// Column types.
const (
	Integer  Type = "integer"
	Number   Type = "number"
	Boolean  Type = "boolean"
	Datetime Type = "datetime"
	String   Type = "string"
)

// Profile is the statistical profile of a table.
type Profile struct {
	Version int      `json:"version"`
	Rows    int64    `json:"rows"`
	Columns []Column `json:"columns"`
}

// Column is the profile of one column.
type Column struct {
	Name    string `json:"name"`
	Type    Type   `json:"type"`
	Count   int64  `json:"count"`   // values present
	Missing int64  `json:"missing"` // count + missing = rows
	// Distinct is the number of distinct values present: exact when
	// DistinctExact, else a HyperLogLog estimate (relative error within
	// about 2.5 % at three standard errors). Numbers are compared by value.
	Distinct      int64          `json:"distinct"`
	DistinctExact bool           `json:"distinct_exact"`
	Numeric       *Numeric       `json:"numeric,omitempty"`    // integer and number columns with a value
	Datetime      *DatetimeRange `json:"datetime,omitempty"`   // datetime columns
	Histogram     *Histogram     `json:"histogram,omitempty"`  // integer and number columns with a finite value
	Categories    *Categories    `json:"categories,omitempty"` // text columns; numeric ones with at most 100 distinct values
}

// Numeric holds the statistics of a numeric column's finite values.
type Numeric struct {
	Finite   int64   `json:"finite"`   // finite values; the statistics below are over these
	Infinite int64   `json:"infinite"` // ±Inf values; finite + infinite = count
	Min      float64 `json:"min"`
	Max      float64 `json:"max"`
	Mean     float64 `json:"mean"`
	// Std is the sample standard deviation (n − 1 in the denominator, as
	// pandas' describe); the population one is Std·√((n−1)/n). 0 for one
	// value.
	Std       float64    `json:"std"`
	Quantiles []Quantile `json:"quantiles"`
	// RankError bounds each quantile's error in rank as a share of Finite
	// (99 % confidence); 0 when the quantiles are exact.
	RankError float64 `json:"rank_error"`
}

// Quantile is the value at probability P: the smallest value v such that
// at least ⌈P·n⌉ values are ≤ v.
type Quantile struct {
	P     float64 `json:"p"`
	Value float64 `json:"value"`
}

// DatetimeRange is the range of a datetime column, in RFC 3339 UTC.
type DatetimeRange struct {
	Min string `json:"min"`
	Max string `json:"max"`
}

// Histogram counts a numeric column's finite values in bins on fixed
// edges: bin i is [Edges[i], Edges[i+1]), the last one closed. When not
// Exact, each count is within 2·rank_error·finite of the truth.
type Histogram struct {
	Edges  []float64 `json:"edges"`
	Counts []int64   `json:"counts"`
	Exact  bool      `json:"exact"`
}

// Categories are a column's most frequent values with their counts, most
// frequent first, and the count of all other values present. Each count is
// low by at most MaxError (0: exact).
type Categories struct {
	Values   []Category `json:"values"`
	Other    int64      `json:"other"`
	MaxError int64      `json:"max_error"`
}

// Category is one value and how often it occurs.
type Category struct {
	Value string `json:"value"`
	Count int64  `json:"count"`
}

// Decode reads a profile from JSON and validates it. Unknown fields are
// refused. Errors: EINVALID.
func Decode(data []byte) (*Profile, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var p Profile
	if err := dec.Decode(&p); err != nil {
		return nil, hangar.Errorf(hangar.EINVALID, "profile: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, hangar.Errorf(hangar.EINVALID, "profile: data after the JSON object")
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

// Validate checks that the profile is one this package could have written
// and that it survives a JSON round trip: the version, known types, no NaN
// or infinity, counts that add up, ordered quantiles and edges. Errors:
// EINVALID naming the column and field.
func (p *Profile) Validate() error {
	if p.Version != Version {
		return hangar.Errorf(hangar.EINVALID, "profile: version %d, want %d", p.Version, Version)
	}
	if p.Rows < 0 {
		return hangar.Errorf(hangar.EINVALID, "profile: rows %d is negative", p.Rows)
	}
	seen := make(map[string]bool, len(p.Columns))
	for i := range p.Columns {
		c := &p.Columns[i]
		if c.Name == "" {
			return hangar.Errorf(hangar.EINVALID, "profile: column %d has no name", i+1)
		}
		if !utf8.ValidString(c.Name) {
			return hangar.Errorf(hangar.EINVALID, "profile: column %d: name %q is not UTF-8", i+1, c.Name)
		}
		if seen[c.Name] {
			return hangar.Errorf(hangar.EINVALID, "profile: duplicate column %q", c.Name)
		}
		seen[c.Name] = true
		if err := c.validate(p.Rows); err != nil {
			return hangar.Errorf(hangar.EINVALID, "profile: column %q: %v", c.Name, err)
		}
	}
	return nil
}

func (c *Column) validate(rows int64) error {
	numeric := false
	switch c.Type {
	case Integer, Number:
		numeric = true
	case Boolean, Datetime, String:
	default:
		return errorf("unknown type %q", c.Type)
	}
	switch {
	case c.Count < 0 || c.Missing < 0 || c.Count+c.Missing != rows || c.Count+c.Missing < 0:
		return errorf("count %d and missing %d do not add up to the %d rows", c.Count, c.Missing, rows)
	case c.Distinct < 0 || c.Distinct > c.Count || (c.Count > 0 && c.Distinct == 0):
		return errorf("distinct %d with count %d", c.Distinct, c.Count)
	case c.Numeric != nil && !numeric:
		return errorf("numeric statistics on a %s column", c.Type)
	case c.Histogram != nil && c.Numeric == nil:
		return errorf("histogram without numeric statistics")
	case c.Datetime != nil && c.Type != Datetime:
		return errorf("datetime range on a %s column", c.Type)
	}
	if n := c.Numeric; n != nil {
		if err := n.validate(c.Count); err != nil {
			return err
		}
		if h := c.Histogram; h != nil {
			if err := h.validate(n.Finite); err != nil {
				return err
			}
		}
	}
	if d := c.Datetime; d != nil {
		lo, err1 := time.Parse(time.RFC3339Nano, d.Min)
		hi, err2 := time.Parse(time.RFC3339Nano, d.Max)
		if err1 != nil || err2 != nil || hi.Before(lo) {
			return errorf("datetime range %q … %q", d.Min, d.Max)
		}
	}
	if cat := c.Categories; cat != nil {
		if err := cat.validate(c.Count); err != nil {
			return err
		}
	}
	return nil
}

func (n *Numeric) validate(count int64) error {
	for _, v := range []float64{n.Min, n.Max, n.Mean, n.Std, n.RankError} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return errorf("numeric statistics hold %v", v)
		}
	}
	switch {
	case n.Finite < 0 || n.Infinite < 0 || n.Finite+n.Infinite != count:
		return errorf("finite %d and infinite %d do not add up to count %d", n.Finite, n.Infinite, count)
	case n.Std < 0 || n.RankError < 0 || n.RankError >= 1:
		return errorf("std %v, rank error %v", n.Std, n.RankError)
	case n.Finite == 0 && (n.Min != 0 || n.Max != 0 || n.Mean != 0 || n.Std != 0 || len(n.Quantiles) > 0):
		return errorf("statistics without a finite value")
	case n.Finite > 0 && n.Min > n.Max:
		return errorf("min %v > max %v", n.Min, n.Max)
	}
	for i, q := range n.Quantiles {
		switch {
		case math.IsNaN(q.P) || math.IsInf(q.Value, 0) || math.IsNaN(q.Value):
			return errorf("quantile %v = %v", q.P, q.Value)
		case q.P <= 0 || q.P >= 1:
			return errorf("quantile probability %v outside (0, 1)", q.P)
		case q.Value < n.Min || q.Value > n.Max:
			return errorf("quantile %v = %v outside [%v, %v]", q.P, q.Value, n.Min, n.Max)
		case i > 0 && (q.P <= n.Quantiles[i-1].P || q.Value < n.Quantiles[i-1].Value):
			return errorf("quantiles out of order at %v", q.P)
		}
	}
	return nil
}

func (h *Histogram) validate(finite int64) error {
	if len(h.Edges) < 2 || len(h.Counts) != len(h.Edges)-1 {
		return errorf("histogram with %d edges and %d counts", len(h.Edges), len(h.Counts))
	}
	for i, e := range h.Edges {
		if math.IsNaN(e) || math.IsInf(e, 0) {
			return errorf("histogram edge %v", e)
		}
		// Edges increase; only a single bin may be one point [v, v].
		if i > 0 && (e < h.Edges[i-1] || (e == h.Edges[i-1] && len(h.Edges) > 2)) {
			return errorf("histogram edges out of order at %v", e)
		}
	}
	var sum int64
	for _, n := range h.Counts {
		if n < 0 || sum+n < sum {
			return errorf("histogram count %d", n)
		}
		sum += n
	}
	if sum != finite {
		return errorf("histogram counts add up to %d, want %d finite values", sum, finite)
	}
	return nil
}

func (cat *Categories) validate(count int64) error {
	if cat.Other < 0 || cat.MaxError < 0 {
		return errorf("categories: other %d, max error %d", cat.Other, cat.MaxError)
	}
	seen := make(map[string]bool, len(cat.Values))
	sum := cat.Other
	for _, v := range cat.Values {
		if v.Count <= 0 || seen[v.Value] || sum+v.Count < sum || !utf8.ValidString(v.Value) {
			return errorf("category %q counted %d", v.Value, v.Count)
		}
		seen[v.Value] = true
		sum += v.Count
	}
	if sum != count {
		return errorf("categories add up to %d, want count %d", sum, count)
	}
	return nil
}

// errorf words what is wrong inside a column; Validate adds the code and
// the column's name.
func errorf(format string, args ...any) error {
	return fmt.Errorf(format, args...)
}
