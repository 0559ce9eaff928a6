package profile

import (
	"cmp"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hangar-ml/hangar/tabular"
)

// Type candidates a column still has; each value removes those it rules out.
const (
	candInteger uint8 = 1 << iota
	candNumber
	candBoolean
	candDatetime
	candAll     = candInteger | candNumber | candBoolean | candDatetime
	candNumeric = candInteger | candNumber
)

// column accumulates one column's statistics in one pass, in memory that
// does not grow with the number of rows. A column starts in numeric mode;
// at the first value that is neither missing nor a number it moves to text
// mode for good, as tabular.ReadCSV turns a column into a string column.
type column struct {
	name        string
	cand        uint8
	text        bool // text mode
	textMissing bool // only "" is missing (Parquet strings), not the CSV spellings
	count       int64
	missing     int64
	hll         *hll // nil while the exact counts hold every distinct value (values, or freq while exact)

	// Numeric mode.
	finite, infinite int64
	mean, m2         float64 // Welford
	min, max         float64
	raw              []float64 // the finite values themselves while at most rawCap; then they go to kll
	kll              *kll
	values           *valueTable // exact counts while at most valueCap distinct; nil after (then raw, then kll)

	// Text mode.
	freq       *frequent
	lost       int64 // values counted before the switch to text whose texts were not kept
	tmin, tmax time.Time
	hasTime    bool
}

func newColumn(name string) *column {
	return &column{
		name: name, cand: candAll, kll: newKLL(), raw: make([]float64, 0, 64),
		values: new(valueTable), min: math.Inf(1), max: math.Inf(-1),
	}
}

// newTextColumn is a column that is text from the start (a Parquet string
// column, which tabular reads as strings whatever they hold).
func newTextColumn(name string) *column {
	c := newColumn(name)
	c.textMissing = true
	c.toText()
	return c
}

// addText counts one CSV cell.
func (c *column) addText(s string) {
	if c.textMissing {
		if s == "" {
			c.missing++
			return
		}
	} else if tabular.IsMissing(s) || isNaNText(s) {
		c.missing++ // "NAN", "+nan": ReadCSV reads them as NaN in a numeric column
		return
	}
	if !c.text {
		if v, isInt, ok := parseNumber(s, c.cand&candInteger != 0); ok {
			if math.IsNaN(v) {
				c.missing++ // isNaNText caught it already; kept for safety
				return
			}
			if !isInt {
				c.cand &^= candInteger
			}
			c.count++
			c.addNumber(v, s)
			return
		}
		c.toText()
	}
	c.count++
	if !c.freq.add(s) {
		c.needHLL() // the summary is about to lose values: remember the set first
		c.freq.decrement()
	}
	if c.hll != nil {
		c.hll.add(hashString(s))
	}
	if c.cand&candBoolean != 0 && !isBool(s) {
		c.cand &^= candBoolean
	}
	if c.cand&candDatetime != 0 {
		if t, ok := parseTime(s); ok {
			if !c.hasTime || t.Before(c.tmin) {
				c.tmin = t
			}
			if !c.hasTime || t.After(c.tmax) {
				c.tmax = t
			}
			c.hasTime = true
		} else {
			c.cand &^= candDatetime
		}
	}
}

// addFloat counts one value of a numeric Parquet column (NaN = missing).
func (c *column) addFloat(v float64) {
	if math.IsNaN(v) {
		c.missing++
		return
	}
	if v != math.Trunc(v) || math.Abs(v) >= 1<<63 {
		c.cand &^= candInteger
	}
	c.count++
	c.addNumber(v, "")
}

// addNumber counts a number, written as text ("" when it was not text).
func (c *column) addNumber(v float64, text string) {
	if c.values != nil && !c.values.add(v, text, 1) {
		c.needHLL()
		c.spillValues()
	}
	if c.values == nil {
		c.hll.add(hashFloat(v))
	}
	if math.IsInf(v, 0) {
		c.infinite++
		return
	}
	c.finite++
	d := v - c.mean
	c.mean += d / float64(c.finite)
	c.m2 += d * (v - c.mean)
	c.min = min(c.min, v)
	c.max = max(c.max, v)
	if c.values == nil {
		c.addSketch(v)
	}
}

// addSketch keeps a finite value for the quantiles: as it is while there
// are at most rawCap of them, then in the sketch.
func (c *column) addSketch(v float64) {
	if c.raw != nil {
		c.raw = append(c.raw, v)
		if len(c.raw) > rawCap {
			c.spill()
		}
		return
	}
	c.kll.add(v)
}

// spillValues gives up the exact value counts when a column has more than
// valueCap distinct values: their finite values move to raw when there
// are few enough of them, else into the sketch with their weights.
func (c *column) spillValues() {
	if c.values == nil {
		return
	}
	t := c.values
	c.values = nil
	if c.finite <= rawCap {
		t.each(func(v float64, n int64, _ string, _ bool) {
			if !math.IsInf(v, 0) {
				for range n {
					c.raw = append(c.raw, v)
				}
			}
		})
		return
	}
	c.spill()
	t.each(func(v float64, n int64, _ string, _ bool) {
		if !math.IsInf(v, 0) {
			c.kll.addWeighted(v, n)
		}
	})
	c.kll.compress()
}

// spill moves the held values into the sketch.
func (c *column) spill() {
	for _, v := range c.raw {
		c.kll.add(v)
	}
	c.raw = nil
}

// needHLL starts the distinct counter, from the set of values the exact
// counts hold, before they stop holding all of them.
func (c *column) needHLL() {
	if c.hll != nil {
		return
	}
	c.hll = new(hll)
	switch {
	case c.values != nil:
		c.values.each(func(v float64, _ int64, _ string, _ bool) { c.hll.add(hashFloat(v)) })
	case c.freq != nil:
		for s := range c.freq.counts {
			c.hll.add(hashString(s))
		}
	}
}

// toText moves the column to text mode. The numbers counted so far are
// counted by how they were written when their exact counts are still held
// and each was written one way; the others are counted as lost, which
// widens the stated error of the category counts.
func (c *column) toText() {
	if c.text {
		return
	}
	c.text = true
	c.cand &^= candNumeric
	if c.count > 0 {
		c.cand = 0 // numbers ruled out booleans and dates already
	}
	c.freq = newFrequent()
	if c.values != nil {
		var lost int64
		c.values.each(func(v float64, n int64, text string, mixed bool) {
			if mixed || text == "" {
				lost += n
				return
			}
			c.freq.counts[text] += n
		})
		if lost > 0 {
			c.needHLL() // the exact counts no longer hold every value
			c.lost += lost
		}
	} else {
		c.lost = c.count
	}
	c.values, c.kll, c.raw = nil, nil, nil
	c.finite, c.infinite, c.mean, c.m2 = 0, 0, 0, 0
	c.min, c.max = math.Inf(1), math.Inf(-1)
}

// merge adds o, a column of the same name over other rows, to c.
func (c *column) merge(o *column) {
	if c.text != o.text {
		c.toText()
		o.toText()
	}
	c.cand &= o.cand
	c.count += o.count
	c.missing += o.missing
	// The distinct counter is needed when either side has one or the
	// union may no longer be held exactly.
	var lossy bool
	if c.text {
		lossy = c.freq.err > 0 || o.freq.err > 0 || c.lost > 0 || o.lost > 0 || len(c.freq.counts)+len(o.freq.counts) > mgK
	} else {
		lossy = c.values == nil || o.values == nil || c.values.n+o.values.n > valueCap
	}
	if lossy || c.hll != nil || o.hll != nil {
		c.needHLL()
		o.needHLL()
		c.hll.merge(o.hll)
	}
	if c.text {
		c.freq.merge(o.freq)
		c.lost += o.lost
		if c.freq.err == 0 && c.lost == 0 {
			c.hll = nil // still exact
		}
		if o.hasTime {
			if !c.hasTime || o.tmin.Before(c.tmin) {
				c.tmin = o.tmin
			}
			if !c.hasTime || o.tmax.After(c.tmax) {
				c.tmax = o.tmax
			}
			c.hasTime = true
		}
		return
	}
	if n := c.finite + o.finite; n > 0 {
		d := o.mean - c.mean
		fa, fb := float64(c.finite), float64(o.finite)
		c.mean += d * fb / float64(n)
		c.m2 += o.m2 + d*d*fa*fb/float64(n)
		c.finite = n
	}
	c.infinite += o.infinite
	c.min, c.max = min(c.min, o.min), max(c.max, o.max)
	if c.values != nil && o.values != nil && c.values.merge(o.values) {
		c.hll = nil // still exact
		return
	}
	c.spillValues()
	o.spillValues()
	if c.raw != nil && o.raw != nil && len(c.raw)+len(o.raw) <= rawCap {
		c.raw = append(c.raw, o.raw...)
		return
	}
	if c.raw != nil {
		c.spill()
	}
	if o.raw != nil {
		o.spill()
	}
	c.kll.merge(o.kll)
}

// parseNumber reads a cell as tabular.ParseNumber does and says whether it
// is an integer (strconv.ParseInt of the trimmed text succeeds). Plain
// integers of up to 18 digits take a fast path that allocates nothing.
func parseNumber(s string, wantInt bool) (v float64, isInt, ok bool) {
	if n, ok := fastInt(s); ok {
		return float64(n), true, true
	}
	v, ok = tabular.ParseNumber(s)
	if !ok {
		return 0, false, false
	}
	if wantInt {
		_, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		isInt = err == nil
	}
	return v, isInt, true
}

func fastInt(s string) (int64, bool) {
	i, neg := 0, false
	if len(s) > 0 && (s[0] == '-' || s[0] == '+') {
		neg, i = s[0] == '-', 1
	}
	if len(s) == i || len(s)-i > 18 {
		return 0, false
	}
	var n int64
	for ; i < len(s); i++ {
		d := s[i] - '0'
		if d > 9 {
			return 0, false
		}
		n = n*10 + int64(d)
	}
	if neg {
		n = -n
	}
	return n, true
}

// isNaNText reports whether s reads as a NaN ("NAN", " nan "): ReadCSV
// reads it as a missing number in a numeric column; the profile counts it
// as missing in every column, so that what is missing does not depend on
// the order of the rows.
func isNaNText(s string) bool {
	if len(s) < 3 {
		return false
	}
	if len(s) > 4 && s[0] > ' ' && s[0] < utf8.RuneSelf && s[len(s)-1] > ' ' && s[len(s)-1] < utf8.RuneSelf {
		return false // no space to trim, too long for [+-]nan
	}
	t := strings.TrimSpace(s)
	if len(t) < 3 || len(t) > 4 || !strings.ContainsAny(t[:1], "nN+-") {
		return false
	}
	v, ok := tabular.ParseNumber(t)
	return ok && math.IsNaN(v)
}

func isBool(s string) bool {
	switch s {
	case "true", "false", "True", "False", "TRUE", "FALSE":
		return true
	}
	return false
}

// parseTime reads a date or time as tabular.ParseTime does, after a cheap
// check that the text starts like 2006-01-02, which every form it accepts
// does, so that text columns do not pay for failed parses.
func parseTime(s string) (time.Time, bool) {
	t := strings.TrimSpace(s)
	if len(t) < 10 || t[4] != '-' || t[7] != '-' {
		return time.Time{}, false
	}
	for _, i := range []int{0, 1, 2, 3, 5, 6, 8, 9} {
		if t[i] < '0' || t[i] > '9' {
			return time.Time{}, false
		}
	}
	if len(t) == 10 {
		return parseDate(t)
	}
	v, err := tabular.ParseTime(t)
	if err != nil {
		return time.Time{}, false
	}
	return v, true
}

// parseDate reads 2006-01-02 whose digits are checked, as time.Parse
// does (month 1–12, day within the month), without its cost.
func parseDate(t string) (time.Time, bool) {
	num := func(s string) int {
		n := 0
		for i := 0; i < len(s); i++ {
			n = n*10 + int(s[i]-'0')
		}
		return n
	}
	y, m, d := num(t[:4]), num(t[5:7]), num(t[8:10])
	if m < 1 || m > 12 || d < 1 {
		return time.Time{}, false
	}
	v := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if v.Day() != d { // past the month's last day: time.Date normalised it
		return time.Time{}, false
	}
	return v, true
}

// Report limits.
const (
	maxCategories = 100 // categories listed per column; the rest are "other"
	maxBins       = 50  // histogram bins at most
)

// probabilities are the quantiles every numeric column reports.
var probabilities = [...]float64{0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99}

// result turns the accumulated state into the column's profile.
func (c *column) result() Column {
	out := Column{Name: c.name, Count: c.count, Missing: c.missing}
	switch {
	case c.count == 0 && c.textMissing:
		out.Type = String // a Parquet string column of nulls
	case c.count == 0:
		out.Type = Number // all missing: tabular reads it as a numeric column of NaN
	case !c.text && c.cand&candInteger != 0:
		out.Type = Integer
	case !c.text:
		out.Type = Number
	case c.cand&candBoolean != 0:
		out.Type = Boolean
	case c.cand&candDatetime != 0:
		out.Type = Datetime
	default:
		out.Type = String
	}
	// Distinct values: exact while every distinct value is still counted,
	// else the HyperLogLog estimate, kept within what is known for sure.
	known := int64(0)
	switch {
	case !c.text && c.values != nil:
		out.Distinct, out.DistinctExact = int64(c.values.n), true
	case c.text && c.freq.err == 0 && c.lost == 0:
		out.Distinct, out.DistinctExact = int64(len(c.freq.counts)), true
	default:
		if c.text {
			known = int64(len(c.freq.counts))
		} else {
			known = min(c.count, valueCap+1)
		}
		out.Distinct = min(max(c.hll.estimate(), known), c.count)
	}
	if c.count == 0 {
		return out
	}
	if c.text {
		out.Categories = c.categories()
		if out.Type == Datetime {
			out.Datetime = &DatetimeRange{Min: c.tmin.UTC().Format(time.RFC3339Nano), Max: c.tmax.UTC().Format(time.RFC3339Nano)}
		}
		return out
	}
	out.Numeric = c.numeric()
	if c.values != nil && c.values.n <= maxCategories {
		cat := &Categories{}
		c.values.each(func(v float64, n int64, _ string, _ bool) {
			cat.Values = append(cat.Values, Category{Value: tabular.FormatFloat(v), Count: n})
		})
		sortCategories(cat.Values)
		out.Categories = cat
	}
	if c.finite > 0 {
		out.Histogram = c.histogram(out.Type == Integer)
	}
	return out
}

// items returns the finite values with their weights, in order: exact from
// the value counts when they are held, from the sketch otherwise.
func (c *column) items() (items []weighted, exact bool) {
	if c.values != nil {
		c.values.each(func(v float64, n int64, _ string, _ bool) {
			if !math.IsInf(v, 0) {
				items = append(items, weighted{v, n})
			}
		})
		slices.SortFunc(items, func(a, b weighted) int { return cmp.Compare(a.v, b.v) })
		return items, true
	}
	if c.raw != nil {
		items = make([]weighted, len(c.raw))
		for i, v := range c.raw {
			items[i] = weighted{v, 1}
		}
		slices.SortFunc(items, func(a, b weighted) int { return cmp.Compare(a.v, b.v) })
		return items, true
	}
	return c.kll.sorted(), !c.kll.compacted
}

func (c *column) numeric() *Numeric {
	nm := &Numeric{Finite: c.finite, Infinite: c.infinite}
	if c.finite == 0 {
		return nm
	}
	nm.Min, nm.Max = c.min, c.max
	nm.Mean = saturate(c.mean)
	if c.finite > 1 {
		nm.Std = saturate(math.Sqrt(c.m2 / float64(c.finite-1)))
	}
	items, exact := c.items()
	qs := quantilesOf(items, c.finite, probabilities[:])
	for i, p := range probabilities {
		nm.Quantiles = append(nm.Quantiles, Quantile{P: p, Value: qs[i]})
	}
	if !exact {
		nm.RankError = kllRankError
	}
	return nm
}

// saturate keeps a moment that overflowed (values near ±MaxFloat64)
// finite, so that the profile stays valid JSON; it is then a bound, not a
// value.
func saturate(v float64) float64 {
	switch {
	case math.IsInf(v, 1) || math.IsNaN(v):
		return math.MaxFloat64
	case math.IsInf(v, -1):
		return -math.MaxFloat64
	}
	return v
}

// histogram bins the finite values on fixed edges chosen from min and max
// after the pass: one bin per integer when an integer column spans at most
// maxBins values, else Sturges' count of equal-width bins (at most
// maxBins). Counts are exact when the value counts are held (at most
// valueCap distinct values) or the sketch never compacted; otherwise they
// come from the sketch's retained values, so each bin's count is within
// 2·rank_error·finite of the truth.
func (c *column) histogram(integer bool) *Histogram {
	lo, hi := c.min, c.max
	var edges []float64
	switch {
	case lo == hi:
		edges = []float64{lo, hi}
	case integer && hi-lo < maxBins && math.Abs(lo) < 1<<52 && math.Abs(hi) < 1<<52:
		for v := lo; v <= hi+1; v++ {
			edges = append(edges, v)
		}
	default:
		bins := int(math.Ceil(math.Log2(float64(c.finite)))) + 1
		bins = min(max(bins, 1), maxBins)
		edges = append(edges, lo)
		for i := 1; i < bins; i++ {
			t := float64(i) / float64(bins)
			e := lo*(1-t) + hi*t // no overflow when hi−lo would
			if e > edges[len(edges)-1] && e < hi {
				edges = append(edges, e)
			}
		}
		edges = append(edges, hi)
	}
	items, exact := c.items()
	h := &Histogram{Edges: edges, Counts: make([]int64, len(edges)-1), Exact: exact}
	for _, it := range items {
		h.Counts[bin(edges, it.v)] += it.w
	}
	return h
}

// bin returns the bin of v: bins are [e_i, e_i+1), the last one closed.
func bin(edges []float64, v float64) int {
	i, _ := slices.BinarySearch(edges, v)
	// i is the first edge ≥ v: v's bin starts at i when v is that edge.
	if i < len(edges) && edges[i] == v {
		return min(i, len(edges)-2)
	}
	return max(i-1, 0)
}

func (c *column) categories() *Categories {
	cat := &Categories{MaxError: c.freq.err + c.lost}
	all := make([]Category, 0, len(c.freq.counts))
	var fold map[string]int64 // values that are not UTF-8, as JSON will write them
	for v, n := range c.freq.counts {
		if !utf8.ValidString(v) {
			if fold == nil {
				fold = map[string]int64{}
			}
			fold[strings.ToValidUTF8(v, "\uFFFD")] += n
			continue
		}
		all = append(all, Category{Value: v, Count: n})
	}
	if fold != nil {
		for i := range all {
			if n, ok := fold[all[i].Value]; ok {
				all[i].Count += n
				delete(fold, all[i].Value)
			}
		}
		for v, n := range fold {
			all = append(all, Category{Value: v, Count: n})
		}
	}
	sortCategories(all)
	if len(all) > maxCategories {
		all = all[:maxCategories]
	}
	var listed int64
	for i := range all {
		all[i].Value = strings.Clone(all[i].Value) // not a view of a whole CSV line
		listed += all[i].Count
	}
	cat.Values = all
	cat.Other = c.count - listed
	return cat
}

// sortCategories orders by count, most frequent first, then by value.
func sortCategories(cs []Category) {
	slices.SortFunc(cs, func(a, b Category) int {
		if a.Count != b.Count {
			return cmp.Compare(b.Count, a.Count)
		}
		return strings.Compare(a.Value, b.Value)
	})
}
