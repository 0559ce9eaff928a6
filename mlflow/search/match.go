package search

import (
	"cmp"
	"math"
	"slices"
	"unicode/utf8"
)

// Record is what a filter is evaluated against and an order_by sorts: one
// run, experiment, registered model or model version. Every lookup reports
// whether the key is present; a method for something the target does not
// have (metrics of an experiment) returns false.
//
// Attribute keys are the canonical keys of Clause.Key and OrderKey.Key:
//
//	runs:              run_id, run_name, status, user_id, artifact_uri (string);
//	                   start_time, end_time (numeric, ms)
//	experiments:       name (string); experiment_id, creation_time, last_update_time (numeric)
//	registered models: name (string); last_updated_timestamp (numeric)
//	model versions:    name, run_id, source_path (string);
//	                   version_number, creation_timestamp, last_updated_timestamp (numeric)
//
// A run's run_name is its name (MLflow filters on the mlflow.runName tag and
// keeps both equal); an end_time of a run that has not ended is absent.
type Record interface {
	// Metric returns the run's latest value of the metric: MLflow's
	// latest_metrics row, the value with the greatest (step, timestamp,
	// value).
	Metric(key string) (float64, bool)
	// Param returns the value of a run parameter.
	Param(key string) (string, bool)
	// Tag returns the value of a tag.
	Tag(key string) (string, bool)
	// StringAttribute returns a string attribute.
	StringAttribute(key string) (string, bool)
	// NumericAttribute returns a numeric attribute.
	NumericAttribute(key string) (int64, bool)
	// Datasets returns the dataset inputs of a run.
	Datasets() []DatasetInput
}

// DatasetInput is one dataset input of a run, as datasets.* clauses see it.
type DatasetInput struct {
	Name   string
	Digest string
	// Context is the value of the input's mlflow.data.context tag, when
	// HasContext says the tag is there.
	Context    string
	HasContext bool
}

// MapRecord is a Record held in maps, for tests and for callers that
// already have the values in memory. Nil maps are empty.
type MapRecord struct {
	Metrics map[string]float64
	Params  map[string]string
	Tags    map[string]string
	Strings map[string]string // string attributes
	Numbers map[string]int64  // numeric attributes
	Inputs  []DatasetInput
}

var _ Record = MapRecord{}

// Metric implements Record.
func (m MapRecord) Metric(key string) (float64, bool) { v, ok := m.Metrics[key]; return v, ok }

// Param implements Record.
func (m MapRecord) Param(key string) (string, bool) { v, ok := m.Params[key]; return v, ok }

// Tag implements Record.
func (m MapRecord) Tag(key string) (string, bool) { v, ok := m.Tags[key]; return v, ok }

// StringAttribute implements Record.
func (m MapRecord) StringAttribute(key string) (string, bool) { v, ok := m.Strings[key]; return v, ok }

// NumericAttribute implements Record.
func (m MapRecord) NumericAttribute(key string) (int64, bool) { v, ok := m.Numbers[key]; return v, ok }

// Datasets implements Record.
func (m MapRecord) Datasets() []DatasetInput { return m.Inputs }

// Match reports whether the record satisfies every clause. It is the
// reference semantics the SQL store is tested against; see the package
// documentation for each rule and the MLflow version it follows.
func (f Filter) Match(r Record) bool {
	for _, c := range f.Clauses {
		if !c.Match(r) {
			return false
		}
	}
	return true
}

// Match reports whether the record satisfies the clause. A key the record
// lacks satisfies nothing, not even != or NOT IN, except IS NULL.
func (c Clause) Match(r Record) bool {
	switch c.Kind {
	case Metric:
		v, ok := r.Metric(c.Key)
		// NaN compares with nothing. (MLflow's SQL store keeps NaN as 0 with
		// an is_nan flag and so matches it with "= 0"; that quirk is not kept.)
		if !ok || math.IsNaN(v) {
			return false
		}
		return c.Op.holds(cmp.Compare(v, c.Num))
	case Param, Tag:
		get := r.Param
		if c.Kind == Tag {
			get = r.Tag
		}
		v, ok := get(c.Key)
		switch c.Op {
		case IsNull:
			return !ok
		case IsNotNull:
			return ok
		}
		return ok && c.matchString(v)
	case Attribute:
		if c.Numeric {
			v, ok := r.NumericAttribute(c.Key)
			return ok && c.Op.holds(compareIntFloat(v, c.Num))
		}
		v, ok := r.StringAttribute(c.Key)
		return ok && c.matchString(v)
	case Dataset:
		// Some dataset input satisfies the clause; each clause looks on its
		// own, as MLflow joins one subquery per clause.
		for _, d := range r.Datasets() {
			v, ok := d.Name, true
			switch c.Key {
			case "digest":
				v = d.Digest
			case "context":
				v, ok = d.Context, d.HasContext
			}
			if ok && c.matchString(v) {
				return true
			}
		}
		return false
	}
	return false
}

// matchString applies a string comparator to a present value.
func (c Clause) matchString(v string) bool {
	switch c.Op {
	case Eq:
		return v == c.Str
	case Ne:
		return v != c.Str
	case Like:
		return like(v, c.Str, false)
	case ILike:
		return like(v, c.Str, true)
	case In:
		return slices.Contains(c.List, v)
	case NotIn:
		return !slices.Contains(c.List, v)
	}
	return false
}

// holds applies a numeric comparator to the result of a three-way compare.
func (o Op) holds(c int) bool {
	switch o {
	case Eq:
		return c == 0
	case Ne:
		return c != 0
	case Lt:
		return c < 0
	case Le:
		return c <= 0
	case Gt:
		return c > 0
	case Ge:
		return c >= 0
	}
	return false
}

// compareIntFloat compares an integer with a finite float exactly (a
// float64 conversion would round integers beyond 2^53).
func compareIntFloat(a int64, f float64) int {
	switch {
	case f >= 1<<63:
		return -1
	case f < -(1 << 63):
		return 1
	}
	t := math.Trunc(f)
	if c := cmp.Compare(a, int64(t)); c != 0 {
		return c
	}
	return cmp.Compare(t, f) // a == trunc(f): a < f when f has a positive fraction
}

// like reports whether s matches the SQL LIKE pattern: % matches any run of
// characters (also none), _ exactly one character, anything else itself.
// There is no escape character. fold compares ASCII letters without case,
// as SQLite's LIKE does; other characters must be equal. It runs in
// O(len(s)·len(pattern)) at worst: one backtrack point, the last %.
func like(s, pattern string, fold bool) bool {
	si, pi := 0, 0
	star, starS := -1, 0 // pattern offset after the last %, and where in s it resumed
	for si < len(s) {
		if pi < len(pattern) {
			pr, pn := utf8.DecodeRuneInString(pattern[pi:])
			if pr == '%' {
				pi += pn
				star, starS = pi, si
				continue
			}
			sr, sn := utf8.DecodeRuneInString(s[si:])
			if pr == '_' || pr == sr || (fold && lowerASCII(pr) == lowerASCII(sr)) {
				pi += pn
				si += sn
				continue
			}
		}
		if star < 0 {
			return false
		}
		// Let the last % take one more character and retry from there.
		_, sn := utf8.DecodeRuneInString(s[starS:])
		starS += sn
		si, pi = starS, star
	}
	for pi < len(pattern) && pattern[pi] == '%' {
		pi++
	}
	return pi == len(pattern)
}

func lowerASCII(r rune) rune {
	if r >= 'A' && r <= 'Z' {
		return r + 'a' - 'A'
	}
	return r
}
