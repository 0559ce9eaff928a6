// Package quality checks a table against a schema of data-quality
// expectations: column presence, types (numeric, string, date), missing
// values, numeric ranges and allowed values. Schemas come from YAML
// (ParseSchema) or from the one-line syntax of `hangar builtin validate
// --expect` (ParseExpect); Check lists every failed expectation.
package quality

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/tabular"
)

// Expectation is one column's checks in a validation schema.
type Expectation struct {
	Name string `yaml:"name"`
	// Type is numeric, string (any values) or date (every value parses as a date).
	Type            string   `yaml:"type,omitempty"`
	NotNull         bool     `yaml:"not_null,omitempty"`
	MaxNullFraction *float64 `yaml:"max_null_fraction,omitempty"`
	Min             *float64 `yaml:"min,omitempty"`
	Max             *float64 `yaml:"max,omitempty"`
	Allowed         []string `yaml:"allowed,omitempty"`
}

// Schema is a table's expectations: the YAML file validate's --schema reads.
type Schema struct {
	Columns           []Expectation `yaml:"columns"`
	MinRows           int           `yaml:"min_rows,omitempty"`
	AllowExtraColumns *bool         `yaml:"allow_extra_columns,omitempty"` // default true
}

// ParseSchema reads a YAML schema strictly: unknown keys are errors.
// Errors: EINVALID, for malformed YAML, no columns, or a bad expectation.
func ParseSchema(b []byte) (*Schema, error) {
	var s Schema
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil && err != io.EOF {
		return nil, hangar.Errorf(hangar.EINVALID, "schema: %v", err)
	}
	if len(s.Columns) == 0 {
		return nil, hangar.Errorf(hangar.EINVALID, "schema: no columns to check")
	}
	for i, e := range s.Columns {
		if err := e.check(); err != nil {
			return nil, hangar.Errorf(hangar.EINVALID, "schema: columns[%d]: %v", i, hangar.ErrorMessage(err))
		}
	}
	return &s, nil
}

func (e *Expectation) check() error {
	if e.Name == "" {
		return hangar.Errorf(hangar.EINVALID, "column without a name")
	}
	switch e.Type {
	case "", "numeric", "string", "date":
	default:
		return hangar.Errorf(hangar.EINVALID, "column %q: type %q, want numeric, string or date", e.Name, e.Type)
	}
	if f := e.MaxNullFraction; f != nil && !(*f >= 0 && *f <= 1) {
		return hangar.Errorf(hangar.EINVALID, "column %q: max_null_fraction %v, want 0 to 1", e.Name, *f)
	}
	if (e.Min != nil && math.IsNaN(*e.Min)) || (e.Max != nil && math.IsNaN(*e.Max)) {
		return hangar.Errorf(hangar.EINVALID, "column %q: min and max must be numbers, not NaN", e.Name)
	}
	if e.Min != nil && e.Max != nil && *e.Min > *e.Max {
		return hangar.Errorf(hangar.EINVALID, "column %q: min %v above max %v", e.Name, *e.Min, *e.Max)
	}
	return nil
}

// ParseExpect reads one expectation in the syntax of validate's --expect
// flag: col:type,not_null,min=0,max=10,max_null=0.1,allowed=a|b. Errors:
// EINVALID, naming the flag's value.
func ParseExpect(s string) (Expectation, error) {
	name, rest, _ := strings.Cut(s, ":")
	e := Expectation{Name: strings.TrimSpace(name)}
	for _, part := range strings.Split(rest, ",") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		key, val, hasVal := strings.Cut(part, "=")
		num := func() (*float64, error) {
			v, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
			if err != nil || !hasVal || math.IsNaN(v) {
				return nil, hangar.Errorf(hangar.EINVALID, "--expect %q: %s needs a number", s, key)
			}
			return &v, nil
		}
		var err error
		switch key = strings.TrimSpace(key); key {
		case "numeric", "string", "date":
			e.Type = key
		case "not_null":
			e.NotNull = true
		case "min":
			e.Min, err = num()
		case "max":
			e.Max, err = num()
		case "max_null", "max_null_fraction":
			e.MaxNullFraction, err = num()
		case "allowed":
			e.Allowed = strings.Split(val, "|")
		default:
			return e, hangar.Errorf(hangar.EINVALID, "--expect %q: unknown check %q (want numeric, string, date, not_null, min=, max=, max_null=, allowed=a|b)", s, key)
		}
		if err != nil {
			return e, err
		}
	}
	if err := e.check(); err != nil {
		return e, hangar.Errorf(hangar.EINVALID, "--expect %q: %s", s, hangar.ErrorMessage(err))
	}
	return e, nil
}

// Report is the outcome of Check.
type Report struct {
	Checks   int      // expectations checked
	Failures []string // one line per failed expectation, in schema order
}

// OK reports whether every expectation held.
func (r Report) OK() bool { return len(r.Failures) == 0 }

// Check checks every expectation of s against f and reports every failure,
// not only the first.
func Check(f *tabular.Frame, s *Schema) Report {
	var checks int
	var failures []string
	fail := func(format string, args ...any) { failures = append(failures, fmt.Sprintf(format, args...)) }
	n := f.NumRows()
	if s.MinRows > 0 {
		checks++
		if n < s.MinRows {
			fail("table has %d rows, expected at least %d", n, s.MinRows)
		}
	}
	if s.AllowExtraColumns != nil && !*s.AllowExtraColumns {
		checks++
		for _, name := range f.Names() {
			if !slices.ContainsFunc(s.Columns, func(e Expectation) bool { return e.Name == name }) {
				fail("column %q is not in the schema", name)
			}
		}
	}
	for _, e := range s.Columns {
		checks++
		c := f.Column(e.Name)
		if c == nil {
			fail("column %q is missing", e.Name)
			continue
		}
		nulls := 0
		for i := range n {
			if c.IsMissing(i) {
				nulls++
			}
		}
		if e.NotNull {
			checks++
			if nulls > 0 {
				fail("column %q has %d missing values, expected none", e.Name, nulls)
			}
		}
		if e.MaxNullFraction != nil {
			checks++
			if frac := float64(nulls) / float64(max(n, 1)); frac > *e.MaxNullFraction {
				fail("column %q is %.4g missing, expected at most %.4g", e.Name, frac, *e.MaxNullFraction)
			}
		}
		switch e.Type {
		case "numeric":
			checks++
			if c.Kind != tabular.Numeric {
				fail("column %q is not numeric (e.g. %q)", e.Name, firstText(c))
				continue
			}
		case "date":
			checks++
			for i := range n {
				if !c.IsMissing(i) {
					if _, err := tabular.ParseTime(c.Text(i)); err != nil {
						fail("column %q is not a date: row %d is %q", e.Name, i+1, c.Text(i))
						break
					}
				}
			}
		case "string":
			checks++ // every column can be read as text
		}
		if e.Min != nil || e.Max != nil {
			checks++
			if c.Kind != tabular.Numeric {
				fail("column %q has a range check but is not numeric (e.g. %q)", e.Name, firstText(c))
			} else {
				lo, hi, below, above := math.Inf(1), math.Inf(-1), 0, 0
				for _, v := range c.Float {
					if math.IsNaN(v) {
						continue
					}
					lo, hi = min(lo, v), max(hi, v)
					if e.Min != nil && v < *e.Min {
						below++
					}
					if e.Max != nil && v > *e.Max {
						above++
					}
				}
				if below > 0 {
					fail("column %q has %d values below min %v (smallest %v)", e.Name, below, *e.Min, lo)
				}
				if above > 0 {
					fail("column %q has %d values above max %v (largest %v)", e.Name, above, *e.Max, hi)
				}
			}
		}
		if len(e.Allowed) > 0 {
			checks++
			bad := map[string]int{}
			for i := range n {
				if t := c.Text(i); !c.IsMissing(i) && !slices.Contains(e.Allowed, t) {
					bad[t]++
				}
			}
			if len(bad) > 0 {
				vals := slices.Sorted(func(yield func(string) bool) {
					for k := range bad {
						if !yield(k) {
							return
						}
					}
				})
				if len(vals) > 5 {
					vals = append(vals[:5], "…")
				}
				fail("column %q has values outside %v: %s", e.Name, e.Allowed, strings.Join(vals, ", "))
			}
		}
	}
	return Report{Checks: checks, Failures: failures}
}

func firstText(c *tabular.Column) string {
	for i := range c.Len() {
		if !c.IsMissing(i) {
			return c.Text(i)
		}
	}
	return ""
}
