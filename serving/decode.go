package serving

import (
	"github.com/hangar-ml/hangar"
	mrand "math/rand/v2"

	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"
)

// The body decoders turn the row formats of the three protocols into
// row-major float64 rows in the model's feature order. They are written
// by hand over the body bytes — no reflection, no maps or interface
// values per value — because they run once per request on the hot path;
// FuzzDecode* hold them to "an error or rows of the right shape, never a
// panic".

// maxDepth bounds nesting when a decoder skips a value it ignores.
const maxDepth = 64

// rows is a decoded batch: n rows of len(feats) values, row-major. A
// missing value (JSON null, an empty CSV field, a record without the key)
// is NaN, which the tree runtimes send down their default branch.
type rows struct {
	feats []string       // the model's features, in order
	index map[string]int // feature → position; the deployment's, read-only
	vals  []float64
	n     int
	seen  []bool // per feature: given by the input (named formats)
	spans []span // per feature: the column's value (columnar formats)
	cols  []int  // per input column: the feature's position, or -1
}

// reset empties r for a model with the given features, keeping its
// buffers.
func (r *rows) reset(feats []string, index map[string]int) {
	r.feats, r.index = feats, index
	r.vals, r.n = r.vals[:0], 0
	r.seen = resize(r.seen, len(feats))
	clear(r.seen)
	r.spans = r.spans[:0]
	r.cols = r.cols[:0]
}

func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// missing returns EMISSING naming the features no input column gave, or
// nil.
func (r *rows) missing() error {
	var names []string
	for i, ok := range r.seen {
		if !ok {
			names = append(names, r.feats[i])
		}
	}
	if names == nil {
		return nil
	}
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return errf(EMISSING, "input has no %s %s, which the model needs (model features: %s)",
		plural(len(names), "column", "columns"), strings.Join(q, ", "), strings.Join(r.feats, ", "))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// span is the bytes of one JSON value in the body.
type span struct{ lo, hi int }

func (s span) ok() bool { return s.hi > s.lo }

// scanner reads JSON from b at i.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) peek() byte {
	s.ws()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func (s *scanner) eat(c byte) bool {
	if s.peek() == c {
		s.i++
		return true
	}
	return false
}

func (s *scanner) syntax(want string) error {
	if s.i >= len(s.b) {
		return errf(EBADJSON, "body is not valid JSON: want %s, got the end of the body", want)
	}
	return errf(EBADJSON, "body is not valid JSON: want %s at offset %d, got %q", want, s.i, s.b[s.i])
}

func (s *scanner) expect(c byte) error {
	if !s.eat(c) {
		return s.syntax(strconv.QuoteRune(rune(c)))
	}
	return nil
}

// end checks that nothing but space follows the value.
func (s *scanner) end() error {
	if s.peek() != 0 || s.i < len(s.b) {
		return errf(EBADJSON, "body is not valid JSON: data after the value at offset %d", s.i)
	}
	return nil
}

// str reads a string. The result aliases the body unless the string has
// escapes.
func (s *scanner) str() ([]byte, error) {
	if s.peek() != '"' {
		return nil, s.syntax("a string")
	}
	start := s.i
	s.i++
	esc := false
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			if !esc {
				return s.b[start+1 : s.i-1], nil
			}
			var out string
			if err := json.Unmarshal(s.b[start:s.i], &out); err != nil {
				return nil, errf(EBADJSON, "body is not valid JSON: bad string at offset %d", start)
			}
			return []byte(out), nil
		case c == '\\':
			esc = true
			s.i += 2
			continue
		case c < 0x20:
			return nil, errf(EBADJSON, "body is not valid JSON: control character in a string at offset %d", s.i)
		}
		s.i++
	}
	return nil, errf(EBADJSON, "body is not valid JSON: unterminated string at offset %d", start)
}

// errNotNumber tells the caller the value is valid JSON but no number, so
// it can name the feature.
type notNumber struct{ what string }

// num reads a number, null (NaN) or, with bools, true/false (1/0). A
// value of another JSON type is skipped and reported as *notNumber.
func (s *scanner) num(bools bool) (float64, *notNumber, error) {
	switch c := s.peek(); {
	case c == '-' || c >= '0' && c <= '9':
		start := s.i
		if !s.number() {
			return 0, nil, errf(EBADJSON, "body is not valid JSON: bad number at offset %d", start)
		}
		v, err := strconv.ParseFloat(string(s.b[start:s.i]), 64)
		if err != nil || math.IsInf(v, 0) {
			return 0, nil, errf(EBADJSON, "body is not valid JSON: bad number %q at offset %d", s.b[start:s.i], start)
		}
		return v, nil, nil
	case c == 'n':
		if err := s.lit("null"); err != nil {
			return 0, nil, err
		}
		return math.NaN(), nil, nil
	case c == 't' || c == 'f':
		lit := "true"
		if c == 'f' {
			lit = "false"
		}
		if err := s.lit(lit); err != nil {
			return 0, nil, err
		}
		if bools {
			if c == 't' {
				return 1, nil, nil
			}
			return 0, nil, nil
		}
		return 0, &notNumber{"a boolean"}, nil
	case c == '"':
		_, err := s.str()
		return 0, &notNumber{"a string"}, err
	case c == '[':
		return 0, &notNumber{"an array"}, s.skip(0)
	case c == '{':
		return 0, &notNumber{"an object"}, s.skip(0)
	}
	return 0, nil, s.syntax("a value")
}

// number passes over a number in JSON's grammar:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *scanner) number() bool {
	b, i := s.b, s.i
	digits := func() bool {
		j := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i > j
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case !digits():
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			return false
		}
	}
	s.i = i
	return true
}

func (s *scanner) lit(l string) error {
	if !bytes.HasPrefix(s.b[s.i:], []byte(l)) {
		return s.syntax(l)
	}
	s.i += len(l)
	return nil
}

// skip passes over one value of any type.
func (s *scanner) skip(depth int) error {
	if depth > maxDepth {
		return errf(EBADJSON, "body is nested deeper than %d levels", maxDepth)
	}
	switch c := s.peek(); c {
	case '"':
		_, err := s.str()
		return err
	case '{':
		return s.object(func(_ []byte) error { return s.skip(depth + 1) })
	case '[':
		return s.array(func(_ int) error { return s.skip(depth + 1) })
	case 't':
		return s.lit("true")
	case 'f':
		return s.lit("false")
	case 'n':
		return s.lit("null")
	default:
		// Checked against the grammar only: a skipped number is never
		// converted, and the decoders skip every value once to find keys.
		start := s.i
		if !s.number() {
			if start >= len(s.b) {
				return s.syntax("a value")
			}
			return errf(EBADJSON, "body is not valid JSON: bad value at offset %d", start)
		}
		return nil
	}
}

// value skips one value and returns its span.
func (s *scanner) value() (span, error) {
	s.ws()
	lo := s.i
	err := s.skip(0)
	return span{lo, s.i}, err
}

// object reads an object, calling fn with each key with the scanner at
// its value; fn must read the value.
func (s *scanner) object(fn func(key []byte) error) error {
	if err := s.expect('{'); err != nil {
		return err
	}
	if s.eat('}') {
		return nil
	}
	for {
		k, err := s.str()
		if err != nil {
			return err
		}
		if err := s.expect(':'); err != nil {
			return err
		}
		if err := fn(k); err != nil {
			return err
		}
		if s.eat(',') {
			continue
		}
		return s.expect('}')
	}
}

// array reads an array, calling fn for each element with the scanner at
// it; fn must read the element.
func (s *scanner) array(fn func(i int) error) error {
	if err := s.expect('['); err != nil {
		return err
	}
	if s.eat(']') {
		return nil
	}
	for i := 0; ; i++ {
		if err := fn(i); err != nil {
			return err
		}
		if s.eat(',') {
			continue
		}
		return s.expect(']')
	}
}

// fields reads an object and records the span of each key in keys (the
// last one wins); other keys are skipped.
func (s *scanner) fields(keys []string, spans []span) error {
	return s.object(func(k []byte) error {
		for j, want := range keys {
			if string(k) == want {
				sp, err := s.value()
				spans[j] = sp
				return err
			}
		}
		return s.skip(1)
	})
}

// at returns a scanner over the body positioned at sp.
func (s *scanner) at(sp span) scanner { return scanner{b: s.b[:sp.hi], i: sp.lo} }

// badType names the feature and row of a value that is no number.
func (r *rows) badType(f, row int, nn *notNumber) error {
	return errf(EBADTYPE, "feature %q, row %d: want a number, got %s", r.feats[f], row, nn.what)
}

// positional reads an array of rows, each an array of exactly
// len(r.cols) values (or len(r.feats) when r.cols is empty) in that
// order. A 1-D array of numbers is one row.
func (r *rows) positional(s *scanner) error {
	nf := len(r.feats)
	width := nf
	named := len(r.cols) > 0
	if named {
		width = len(r.cols)
	}
	s.ws()
	if s.i+1 < len(s.b) && s.b[s.i] == '[' {
		t := scanner{b: s.b, i: s.i + 1}
		if c := t.peek(); c != '[' && c != ']' && c != '{' {
			return r.row(s, width, named) // one flat row
		}
	}
	return s.array(func(i int) error {
		if s.peek() != '[' {
			return errf(EBADSHAPE, "row %d is not an array of %d values", i, width)
		}
		return r.row(s, width, named)
	})
}

// row reads one array of width values into a new row.
func (r *rows) row(s *scanner, width int, named bool) error {
	nf := len(r.feats)
	base := len(r.vals)
	row := r.n
	if named {
		r.vals = appendNaN(r.vals, nf)
	}
	got := 0
	err := s.array(func(j int) error {
		got++
		if j >= width {
			return s.skip(0)
		}
		v, nn, err := s.num(true)
		if err != nil {
			return err
		}
		f := j
		if named {
			f = r.cols[j]
			if f < 0 {
				return nil
			}
		}
		if nn != nil {
			return r.badType(f, row, nn)
		}
		if named {
			r.vals[base+f] = v
		} else {
			r.vals = append(r.vals, v)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if got != width {
		if named {
			return errf(EBADSHAPE, "row %d has %d values for %d columns", row, got, width)
		}
		return errf(EBADSHAPE, "row %d has %d values; the model takes %d features (%s)", row, got, nf, strings.Join(r.feats, ", "))
	}
	r.n++
	return nil
}

func appendNaN(v []float64, n int) []float64 {
	for range n {
		v = append(v, math.NaN())
	}
	return v
}

// columns reads a list of column names and maps each to its feature.
func (r *rows) columns(s *scanner) error {
	return s.array(func(j int) error {
		name, err := s.str()
		if err != nil {
			return errf(EBADJSON, "columns: entry %d is not a string", j)
		}
		f, ok := r.index[string(name)]
		if !ok {
			f = -1
		} else {
			if r.seen[f] {
				return errf(hangar.EINVALID, "columns: %q appears twice", name)
			}
			r.seen[f] = true
		}
		r.cols = append(r.cols, f)
		return nil
	})
}

// split reads pandas' split orient: {"columns": [...], "index": [...],
// "data": [[...]]}. Without columns the rows are positional.
func (r *rows) split(s *scanner) error {
	var sp [2]span
	if err := s.fields([]string{"columns", "data"}, sp[:]); err != nil {
		return err
	}
	if !sp[1].ok() {
		return errf(EBADJSON, `split input has no "data"`)
	}
	if sp[0].ok() {
		c := s.at(sp[0])
		if err := r.columns(&c); err != nil {
			return err
		}
		if err := r.missing(); err != nil {
			return err
		}
	}
	d := s.at(sp[1])
	return r.positional(&d)
}

// records reads an array of {"feature": value} objects. A feature absent
// from a record is missing (NaN) in that row; absent from all, an error.
func (r *rows) records(s *scanner) error {
	nf := len(r.feats)
	err := s.array(func(i int) error {
		if s.peek() != '{' {
			return errf(EBADSHAPE, "record %d is not an object", i)
		}
		base := len(r.vals)
		r.vals = appendNaN(r.vals, nf)
		r.n++
		return s.object(func(k []byte) error {
			f, ok := r.index[string(k)]
			if !ok {
				return s.skip(1)
			}
			v, nn, err := s.num(true)
			if err != nil {
				return err
			}
			if nn != nil {
				return r.badType(f, i, nn)
			}
			r.seen[f] = true
			r.vals[base+f] = v
			return nil
		})
	})
	if err != nil {
		return err
	}
	return r.missing()
}

// columnar reads {"feature": [v, ...], ...}: one array per feature, all
// of one length; [[v], ...] (a column vector) is taken too.
func (r *rows) columnar(s *scanner) error {
	nf := len(r.feats)
	r.spans = resize(r.spans, nf)
	clear(r.spans)
	err := s.object(func(k []byte) error {
		f, ok := r.index[string(k)]
		if !ok {
			return s.skip(1)
		}
		sp, err := s.value()
		r.spans[f] = sp
		r.seen[f] = true
		return err
	})
	if err != nil {
		return err
	}
	if err := r.missing(); err != nil {
		return err
	}
	n := -1
	for f := range nf {
		c := s.at(r.spans[f])
		got := 0
		var err error
		if c.peek() == '[' {
			err = c.array(func(int) error { got++; return c.skip(1) })
		} else {
			err = errf(EBADSHAPE, "feature %q: want an array of values", r.feats[f])
		}
		if err != nil {
			return err
		}
		if n >= 0 && got != n {
			return errf(EBADSHAPE, "feature %q has %d values, feature %q has %d", r.feats[0], n, r.feats[f], got)
		}
		n = got
	}
	r.n = max(n, 0)
	r.vals = resize(r.vals, r.n*nf)
	for f := range nf {
		c := s.at(r.spans[f])
		err := c.array(func(i int) error {
			vec := c.eat('[')
			v, nn, err := c.num(true)
			if err != nil {
				return err
			}
			if nn != nil {
				return r.badType(f, i, nn)
			}
			if vec {
				if !c.eat(']') {
					return errf(EBADSHAPE, "feature %q, row %d: want one value", r.feats[f], i)
				}
			}
			r.vals[i*nf+f] = v
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// tensorOrRecords reads an array of rows (arrays) or of records
// (objects), deciding by its first element.
func (r *rows) tensorOrRecords(s *scanner) error {
	s.ws()
	t := scanner{b: s.b, i: s.i}
	if t.eat('[') && t.peek() == '{' {
		return r.records(s)
	}
	return r.positional(s)
}

// anyInput reads the forms Azure's input_data and MLflow's inputs take:
// an array (rows or records), a split object (with "data"), or columns by
// name.
func (r *rows) anyInput(s *scanner) error {
	switch s.peek() {
	case '[':
		return r.tensorOrRecords(s)
	case '{':
		t := scanner{b: s.b, i: s.i}
		var sp [1]span
		if err := t.fields([]string{"data"}, sp[:]); err != nil {
			return err
		}
		if sp[0].ok() {
			return r.split(s)
		}
		return r.columnar(s)
	}
	return errf(EBADJSON, "input is neither an array nor an object")
}

// decodeScore reads an Azure /score body: {"data": rows|records} or
// {"input_data": rows|split|columns}; other keys (Azure's "params") are
// ignored.
func (r *rows) decodeScore(body []byte) error {
	s := scanner{b: body}
	var sp [2]span
	if s.peek() != '{' {
		return errf(EBADJSON, `body must be a JSON object with "data" or "input_data"`)
	}
	if err := s.fields([]string{"data", "input_data"}, sp[:]); err != nil {
		return err
	}
	if err := s.end(); err != nil {
		return err
	}
	switch {
	case sp[0].ok() && sp[1].ok():
		return errf(hangar.EINVALID, `body has both "data" and "input_data"; send one`)
	case sp[0].ok():
		d := s.at(sp[0])
		return r.anyInput(&d)
	case sp[1].ok():
		d := s.at(sp[1])
		return r.anyInput(&d)
	}
	return errf(hangar.EINVALID, `body has neither "data" nor "input_data"`)
}

// mlflowKeys are the input keys of MLflow's scoring protocol.
var mlflowKeys = [...]string{"dataframe_split", "dataframe_records", "instances", "inputs"}

// decodeInvocations reads an MLflow /invocations JSON body: exactly one of
// dataframe_split, dataframe_records, instances, inputs ("params" is
// ignored).
func (r *rows) decodeInvocations(body []byte) error {
	s := scanner{b: body}
	var sp [len(mlflowKeys)]span
	if s.peek() != '{' {
		return errf(EBADJSON, "body must be a JSON object with one of %s", strings.Join(mlflowKeys[:], ", "))
	}
	if err := s.fields(mlflowKeys[:], sp[:]); err != nil {
		return err
	}
	if err := s.end(); err != nil {
		return err
	}
	k := -1
	for j := range sp {
		if sp[j].ok() {
			if k >= 0 {
				return errf(hangar.EINVALID, "body has both %q and %q; send exactly one of %s", mlflowKeys[k], mlflowKeys[j], strings.Join(mlflowKeys[:], ", "))
			}
			k = j
		}
	}
	if k < 0 {
		return errf(hangar.EINVALID, "body has none of %s", strings.Join(mlflowKeys[:], ", "))
	}
	d := s.at(sp[k])
	switch k {
	case 0:
		if d.peek() != '{' {
			return errf(EBADJSON, "dataframe_split must be an object with columns and data")
		}
		return r.split(&d)
	case 1:
		if d.peek() != '[' {
			return errf(EBADJSON, "dataframe_records must be an array of objects")
		}
		return r.records(&d)
	}
	return r.anyInput(&d)
}

func strconvAppendFloat(b []byte, v float64) []byte { return strconv.AppendFloat(b, v, 'g', -1, 64) }

func randFloat() float64  { return mrand.Float64() }
func mrandIntN(n int) int { return mrand.IntN(n) }
