package search

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/hangar-ml/hangar"
)

// Limits on outside input. MLflow has none; these keep a hostile filter from
// costing more than a legitimate one could need. The length limit alone
// bounds every allocation: the parser is a single left-to-right pass with no
// recursion.
const (
	// MaxFilterLength is the longest filter accepted, in bytes (64 KiB).
	// It also bounds the sum of the lengths of one order_by list.
	MaxFilterLength = 64 << 10
	// MaxClauses is the most clauses one filter may AND together; each is a
	// join or a subquery in the SQL store.
	MaxClauses = 100
	// MaxListLength is the most values one IN or NOT IN list may hold: more
	// than the ~1,800 quoted 32-character run ids that fit in MaxFilterLength.
	MaxListLength = 2000
)

// Filter is a parsed search filter: clauses that must all hold (MLflow has
// no OR). The zero Filter, and the result of parsing an empty or blank
// string, matches everything.
type Filter struct {
	Target  Target
	Clauses []Clause
}

// Clause is one comparison of a filter.
type Clause struct {
	Kind Kind
	// Key is the metric, param, tag or dataset key, or the canonical
	// attribute key with aliases resolved ("created" is "start_time",
	// "run name" is "run_name").
	Key string
	Op  Op
	// Numeric is set for metrics and numeric attributes (start_time,
	// end_time, creation_time, last_update_time, version_number): the operand
	// is Num. Otherwise it is Str, or List for IN and NOT IN; IS NULL and
	// IS NOT NULL have none.
	Numeric bool
	Num     float64
	Str     string
	List    []string
}

// ParseRunFilter parses the filter of runs/search. An empty or blank filter
// matches every run. Errors are hangar.EINVALID and name the offending token
// and its position.
func ParseRunFilter(s string) (Filter, error) { return parseFilter(Runs, s) }

// ParseExperimentFilter parses the filter of experiments/search.
func ParseExperimentFilter(s string) (Filter, error) { return parseFilter(Experiments, s) }

// ParseRegisteredModelFilter parses the filter of registered-models/search.
func ParseRegisteredModelFilter(s string) (Filter, error) { return parseFilter(RegisteredModels, s) }

// ParseModelVersionFilter parses the filter of model-versions/search.
func ParseModelVersionFilter(s string) (Filter, error) { return parseFilter(ModelVersions, s) }

// ParseFilter parses a filter of the target; the Parse…Filter functions
// call it.
func ParseFilter(t Target, s string) (Filter, error) { return parseFilter(t, s) }

func parseFilter(t Target, s string) (Filter, error) {
	f := Filter{Target: t}
	p := &parser{src: s, what: "filter"}
	if t < Runs || t > LoggedModels {
		return f, p.fail(0, "unknown search target %d", int(t))
	}
	if err := p.checkInput(MaxFilterLength); err != nil {
		return f, err
	}
	p.skipSpace()
	for !p.eof() {
		if len(f.Clauses) == MaxClauses {
			return f, p.fail(p.pos, "a filter may AND together at most %d clauses", MaxClauses)
		}
		c, err := p.clause(t)
		if err != nil {
			return f, err
		}
		f.Clauses = append(f.Clauses, c)
		p.skipSpace()
		if p.eof() {
			break
		}
		if p.src[p.pos] == ';' {
			return f, p.fail(p.pos, "Search filter contained multiple expression '%s'. Provide AND-ed expression list.", p.shown())
		}
		at := p.pos
		if w := p.word(); strings.EqualFold(w, "AND") {
			p.skipSpace()
			if p.eof() {
				return f, p.fail(at, "expected a clause after 'AND', found the end of the filter")
			}
			continue
		}
		p.pos = at
		tok := p.token(at)
		hint := ""
		if strings.EqualFold(tok, "OR") {
			hint = "; clauses are joined by AND only"
		}
		return f, p.fail(at, "Invalid clause(s) in filter string: '%s'%s", tok, hint)
	}
	return f, nil
}

// clause parses <identifier> <comparator> [<value>].
func (p *parser) clause(t Target) (Clause, error) {
	id, err := p.ident()
	if err != nil {
		return Clause{}, err
	}
	var c Clause
	var a attr
	c.Kind = Attribute
	if id.hasEntity {
		k, ok := entityKind(t, id.entity)
		if !ok {
			return Clause{}, p.fail(id.start, "%s", entityError(t, clip(id.entity)))
		}
		c.Kind = k
	}
	switch c.Kind {
	case Attribute:
		var ok bool
		if a, ok = filterAttribute(t, id.key); !ok {
			return Clause{}, p.fail(id.keyPos, "Invalid attribute key '%s' specified. Valid keys are %s", clip(id.key), filterAttributeKeys(t))
		}
		c.Key, c.Numeric = a.key, a.numeric
	case Dataset:
		if !datasetKey(id.key) {
			return Clause{}, p.fail(id.keyPos, "Invalid dataset key '%s' specified. Valid keys are 'name', 'digest', 'context'", clip(id.key))
		}
		c.Key = id.key
	case Metric:
		c.Key, c.Numeric = id.key, true
	default:
		c.Key = id.key
	}

	p.skipSpace()
	opAt := p.pos
	op, text, err := p.comparator(id.text)
	if err != nil {
		return Clause{}, err
	}
	if msg := comparatorError(t, c.Kind, a, op, clip(text)); msg != "" {
		return Clause{}, p.fail(opAt, "%s", msg)
	}
	c.Op = op
	switch op {
	case IsNull, IsNotNull:
		return c, nil
	case In, NotIn:
		p.skipSpace()
		c.List, err = p.list(op)
		return c, err
	}

	p.skipSpace()
	v, err := p.value(op)
	if err != nil {
		return Clause{}, err
	}
	if c.Numeric {
		if v.kind == valString && t == ModelVersions {
			// MLflow's model-version store hands the string to the database,
			// which compares the integer column with it as a number.
			if n, ok := parseNumber(v.str); ok {
				v = value{kind: valNumber, num: n, text: v.text, at: v.at}
			}
		}
		if v.kind != valNumber {
			if c.Kind == Metric {
				return Clause{}, p.fail(v.at, "Expected numeric value type for metric. Found %s", clip(v.text))
			}
			return Clause{}, p.fail(v.at, "Expected numeric value type for numeric attribute: %s. Found %s", c.Key, clip(v.text))
		}
		c.Num = v.num
		return c, nil
	}
	if v.kind != valString {
		switch {
		case c.Kind == Param:
			return Clause{}, p.fail(v.at, "Expected a quoted string value for parameter (e.g. 'my-value'). Got value %s", clip(v.text))
		case c.Kind == Tag:
			return Clause{}, p.fail(v.at, "Expected a quoted string value for tag (e.g. 'my-value'). Got value %s", clip(v.text))
		case c.Kind == Dataset:
			return Clause{}, p.fail(v.at, "Expected a quoted string value for dataset attributes. Got value %s", clip(v.text))
		default:
			return Clause{}, p.fail(v.at, "Expected a quoted string value for attributes. Got value %s", clip(v.text))
		}
	}
	c.Str = v.str
	return c, nil
}

// parser scans one filter or one order_by item left to right.
type parser struct {
	src   string
	pos   int    // byte offset
	what  string // "filter" or "order_by item …", for messages
	order bool   // parsing an order_by item
}

// fail returns the EINVALID error for a problem at byte offset at.
func (p *parser) fail(at int, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	return hangar.Errorf(hangar.EINVALID, "invalid %s \"%s\": %s (at position %d)", p.what, p.shown(), msg, p.position(at))
}

// position turns a byte offset into a 1-based character position.
func (p *parser) position(at int) int {
	at = min(max(at, 0), len(p.src))
	return utf8.RuneCountInString(p.src[:at]) + 1
}

// shown is the input as messages quote it: at most 200 characters, control
// characters blanked so a message stays one line (positions are unchanged:
// each character is replaced by one).
func (p *parser) shown() string {
	var b strings.Builder
	n := 0
	for _, r := range p.src {
		if n == 200 {
			b.WriteString("…")
			break
		}
		if unicode.IsControl(r) {
			r = ' '
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// checkInput refuses input that is too long, not UTF-8, or holds NUL (which
// no stored key or value can hold, and PostgreSQL cannot bind).
func (p *parser) checkInput(limit int) error {
	if len(p.src) > limit {
		return hangar.Errorf(hangar.EINVALID, "invalid %s: it is %d bytes long; the limit is %d", p.what, len(p.src), limit)
	}
	for i := 0; i < len(p.src); {
		r, n := utf8.DecodeRuneInString(p.src[i:])
		if r == utf8.RuneError && n == 1 {
			return hangar.Errorf(hangar.EINVALID, "invalid %s: byte %d is not valid UTF-8", p.what, i)
		}
		if r == 0 {
			return p.fail(i, "the NUL character is not allowed")
		}
		i += n
	}
	return nil
}

func (p *parser) eof() bool { return p.pos >= len(p.src) }

func (p *parser) skipSpace() {
	for p.pos < len(p.src) {
		r, n := utf8.DecodeRuneInString(p.src[p.pos:])
		if !unicode.IsSpace(r) {
			return
		}
		p.pos += n
	}
}

// clip shortens user text quoted in a message to 100 characters.
func clip(s string) string {
	if utf8.RuneCountInString(s) <= 100 {
		return s
	}
	return string([]rune(s)[:100]) + "…"
}

func isWordRune(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }

// wordAt returns the end of the run of word characters starting at i.
func (p *parser) wordAt(i int) int {
	for i < len(p.src) {
		r, n := utf8.DecodeRuneInString(p.src[i:])
		if !isWordRune(r) {
			break
		}
		i += n
	}
	return i
}

// word consumes and returns a run of word characters ("" if none).
func (p *parser) word() string {
	start := p.pos
	p.pos = p.wordAt(p.pos)
	return p.src[start:p.pos]
}

// token describes the token at byte offset at, for messages: a word, a
// quoted string, a run of operator characters, or one character.
func (p *parser) token(at int) string {
	if at >= len(p.src) {
		return ""
	}
	end := at
	switch c := p.src[at]; {
	case c == '\'' || c == '"' || c == '`':
		if i := strings.IndexByte(p.src[at+1:], c); i >= 0 {
			end = at + 1 + i + 1
		} else {
			end = len(p.src)
		}
	case strings.IndexByte("<>=!~", c) >= 0:
		for end < len(p.src) && strings.IndexByte("<>=!~", p.src[end]) >= 0 {
			end++
		}
	default:
		if end = p.wordAt(at); end == at {
			_, n := utf8.DecodeRuneInString(p.src[at:])
			end = at + n
		}
	}
	tok := p.src[at:end]
	if utf8.RuneCountInString(tok) > 40 {
		tok = string([]rune(tok)[:40]) + "…"
	}
	return tok
}

// found describes what is at the parser's position, for "expected …, found …".
func (p *parser) found() string {
	if p.eof() {
		return "the end of the " + strings.Fields(p.what)[0]
	}
	return "'" + p.token(p.pos) + "'"
}

// quoted consumes a string delimited by q at the parser's position. MLflow
// has no escape: the string ends at the next q.
func (p *parser) quoted() (string, error) {
	q := p.src[p.pos]
	start := p.pos
	i := strings.IndexByte(p.src[start+1:], q)
	if i < 0 {
		return "", p.fail(start, "the string opened with %c has no closing %c", q, q)
	}
	p.pos = start + 1 + i + 1
	if p.pos < len(p.src) && p.src[p.pos] == q {
		return "", p.fail(p.pos, "MLflow has no escape for %c inside a %c-quoted string; quote with the other kind", q, q)
	}
	return p.src[start+1 : start+1+i], nil
}

// ident is a parsed identifier: [entity "."] key.
type ident struct {
	hasEntity bool
	entity    string // without backticks
	key       string // quotes stripped
	start     int    // byte offset of the identifier
	keyPos    int    // byte offset of the key
	text      string // the identifier as written
}

// ident parses an identifier. The entity is a word or a backticked word; the
// key a word (dots allowed inside: tags.mlflow.runName), or any text in
// backticks, double or single quotes. Without a dot the whole identifier is
// an attribute key.
func (p *parser) ident() (ident, error) {
	id := ident{start: p.pos}
	if p.eof() {
		return id, p.fail(p.pos, "expected a key such as metrics.acc, found %s", p.found())
	}
	var first string
	firstQuote := byte(0)
	switch c := p.src[p.pos]; c {
	case '`', '"':
		s, err := p.quoted()
		if err != nil {
			return id, err
		}
		first, firstQuote = s, c
	default:
		if first = p.word(); first == "" {
			if p.order {
				return id, p.fail(p.pos, "Invalid order_by clause '%s'. Could not be parsed: expected a key such as metrics.acc, found %s", p.shown(), p.found())
			}
			return id, p.fail(p.pos, "Invalid clause(s) in filter string: '%s'; expected a key such as metrics.acc", p.token(p.pos))
		}
	}
	if p.eof() || p.src[p.pos] != '.' || firstQuote == '"' {
		// A bare attribute key: status, `run name`, "run_id".
		id.key, id.keyPos = first, id.start
		if first == "" {
			return id, p.fail(id.start, "empty key")
		}
		id.text = p.src[id.start:p.pos]
		return id, nil
	}
	id.hasEntity, id.entity = true, first
	p.pos++ // the dot
	id.keyPos = p.pos
	if p.eof() {
		return id, p.fail(p.pos, "expected a key after '%s', found the end of the %s", clip(p.src[id.start:p.pos]), strings.Fields(p.what)[0])
	}
	switch p.src[p.pos] {
	case '`', '"', '\'':
		s, err := p.quoted()
		if err != nil {
			return id, err
		}
		id.key = s
	default:
		// word(.word)*: a dot continues the key only when a word follows.
		for {
			if w := p.word(); w == "" {
				break
			}
			if p.pos+1 < len(p.src) && p.src[p.pos] == '.' && p.wordAt(p.pos+1) > p.pos+1 {
				p.pos++
				continue
			}
			break
		}
		id.key = p.src[id.keyPos:p.pos]
		if id.key == "" {
			return id, p.fail(p.pos, "expected a key after '%s', found %s; quote keys that hold characters other than letters, digits, '_' and '.', e.g. metrics.`f1-score`", clip(p.src[id.start:p.pos]), p.found())
		}
	}
	if id.key == "" {
		return id, p.fail(id.keyPos, "empty key")
	}
	id.text = p.src[id.start:p.pos]
	return id, nil
}

// comparator parses a comparator. An unknown one is returned with op 0 and
// its text, for the caller's per-key message.
func (p *parser) comparator(after string) (Op, string, error) {
	if p.eof() {
		return 0, "", p.fail(p.pos, "expected a comparator after '%s', found the end of the filter", clip(after))
	}
	start := p.pos
	if strings.IndexByte("<>=!~", p.src[p.pos]) >= 0 {
		for p.pos < len(p.src) && strings.IndexByte("<>=!~", p.src[p.pos]) >= 0 {
			p.pos++
		}
		text := p.src[start:p.pos]
		switch text {
		case "=":
			return Eq, text, nil
		case "!=":
			return Ne, text, nil
		case "<":
			return Lt, text, nil
		case "<=":
			return Le, text, nil
		case ">":
			return Gt, text, nil
		case ">=":
			return Ge, text, nil
		}
		return 0, text, nil
	}
	w := p.word()
	switch strings.ToUpper(w) {
	case "":
		return 0, "", p.fail(start, "expected a comparator after '%s', found %s; quote keys that hold characters other than letters, digits, '_' and '.', e.g. metrics.`f1-score`", clip(after), p.found())
	case "LIKE":
		return Like, w, nil
	case "ILIKE":
		return ILike, w, nil
	case "IN":
		return In, w, nil
	case "NOT":
		p.skipSpace()
		at := p.pos
		if w2 := p.word(); strings.EqualFold(w2, "IN") {
			return NotIn, w + " " + w2, nil
		}
		p.pos = at
		return 0, w + " " + p.token(at), nil
	case "IS":
		p.skipSpace()
		at := p.pos
		w2 := p.word()
		if strings.EqualFold(w2, "NULL") {
			return IsNull, w + " " + w2, nil
		}
		if strings.EqualFold(w2, "NOT") {
			p.skipSpace()
			at3 := p.pos
			if w3 := p.word(); strings.EqualFold(w3, "NULL") {
				return IsNotNull, w + " " + w2 + " " + w3, nil
			}
			return 0, "", p.fail(at3, "expected NULL after '%s %s', found %s", w, w2, p.found())
		}
		p.pos = at
		return 0, "", p.fail(at, "expected NULL or NOT NULL after '%s', found %s", w, p.found())
	}
	return 0, w, nil
}

type valueKind int

const (
	valString valueKind = iota + 1
	valNumber
)

type value struct {
	kind valueKind
	str  string
	num  float64
	text string // as written, for messages
	at   int
}

// value parses the operand of a scalar comparator: a quoted string or a
// number.
func (p *parser) value(op Op) (value, error) {
	v := value{at: p.pos}
	if p.eof() {
		return v, p.fail(p.pos, "expected a value after '%s', found the end of the filter", op)
	}
	switch c := p.src[p.pos]; {
	case c == '\'' || c == '"':
		s, err := p.quoted()
		if err != nil {
			return v, err
		}
		v.kind, v.str, v.text = valString, s, p.src[v.at:p.pos]
		return v, nil
	case c == '-' || c == '.' || (c >= '0' && c <= '9'):
		end := scanNumber(p.src, p.pos)
		if end == p.pos || (end < len(p.src) && (p.src[end] == '.' || p.wordAt(end) > end)) {
			return v, p.fail(p.pos, "'%s' is not a number", clip(p.tokenThrough(p.pos)))
		}
		n, err := strconv.ParseFloat(p.src[p.pos:end], 64)
		if err != nil || math.IsInf(n, 0) {
			return v, p.fail(p.pos, "number %s is out of range", clip(p.src[p.pos:end]))
		}
		v.kind, v.num, v.text = valNumber, n, p.src[p.pos:end]
		p.pos = end
		return v, nil
	case c == '(':
		return v, p.fail(p.pos, "a list of values needs IN or NOT IN, not '%s'", op)
	}
	// A bare word or a backticked string: MLflow reads it as an identifier.
	tok := p.token(p.pos)
	return v, p.fail(p.pos, "Parameter value is either not quoted or unidentified quote types used for string value %s. Use either single or double quotes.", tok)
}

// tokenThrough is the run of number-ish characters at i, for messages.
func (p *parser) tokenThrough(i int) string {
	end := i
	for end < len(p.src) {
		r, n := utf8.DecodeRuneInString(p.src[end:])
		if !isWordRune(r) && r != '.' && r != '-' && r != '+' {
			break
		}
		end += n
	}
	if end == i {
		return p.token(i)
	}
	return p.src[i:end]
}

// scanNumber returns the end of the number at i, or i if there is none:
// -?(digits[.digits*]|.digits)([eE][+-]?digits)?
func scanNumber(s string, i int) int {
	start := i
	if i < len(s) && s[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			n++
		}
		return n
	}
	intDigits := digits()
	fracDigits := 0
	if i < len(s) && s[i] == '.' {
		i++
		fracDigits = digits()
	}
	if intDigits == 0 && fracDigits == 0 {
		return start
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		j := i
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return j // "1e" is the number 1 followed by a word: refused by the caller
		}
	}
	return i
}

// parseNumber parses s when all of it is a number of the grammar.
func parseNumber(s string) (float64, bool) {
	if s == "" || scanNumber(s, 0) != len(s) {
		return 0, false
	}
	n, err := strconv.ParseFloat(s, 64)
	return n, err == nil && !math.IsInf(n, 0)
}

// list parses ('a', 'b', …): single-quoted strings only, as in MLflow.
func (p *parser) list(op Op) ([]string, error) {
	if p.eof() || p.src[p.pos] != '(' {
		return nil, p.fail(p.pos, "%s needs a parenthesised list of quoted strings, e.g. ('a', 'b'), found %s", op, p.found())
	}
	open := p.pos
	p.pos++
	p.skipSpace()
	if !p.eof() && p.src[p.pos] == ')' {
		return nil, p.fail(open, "While parsing a list in the query, expected a non-empty list of string values, but got empty list")
	}
	var out []string
	for {
		if p.eof() {
			return nil, p.fail(open, "While parsing a list in the query, expected a non-empty list of string values, but got ill-formed list: '(' has no closing ')'")
		}
		if p.src[p.pos] != '\'' {
			return nil, p.fail(p.pos, "While parsing a list in the query, expected string value, punctuation, or whitespace, but got different type in list: %s", p.found())
		}
		if len(out) == MaxListLength {
			return nil, p.fail(p.pos, "a list may hold at most %d values", MaxListLength)
		}
		s, err := p.quoted()
		if err != nil {
			return nil, err
		}
		out = append(out, s)
		p.skipSpace()
		if p.eof() {
			continue // reported above
		}
		switch p.src[p.pos] {
		case ')':
			p.pos++
			return out, nil
		case ',':
			p.pos++
			p.skipSpace()
		default:
			return nil, p.fail(p.pos, "While parsing a list in the query, expected a non-empty list of string values, but got ill-formed list: expected ',' or ')', found %s", p.found())
		}
	}
}

// String returns the filter in canonical form, which parses back to an equal
// Filter: clauses joined by " AND ", canonical entity prefixes (metrics.,
// params., tags., attributes., datasets. for runs; tags. and bare attribute
// keys otherwise), keys quoted only when they must be, strings in single
// quotes unless they hold one.
func (f Filter) String() string {
	var b strings.Builder
	for i, c := range f.Clauses {
		if i > 0 {
			b.WriteString(" AND ")
		}
		c.write(&b, f.Target)
	}
	return b.String()
}

func (c Clause) write(b *strings.Builder, t Target) {
	writeKey(b, t, c.Kind, c.Key)
	b.WriteByte(' ')
	b.WriteString(c.Op.String())
	switch c.Op {
	case IsNull, IsNotNull:
		return
	case In, NotIn:
		b.WriteString(" (")
		for i, s := range c.List {
			if i > 0 {
				b.WriteString(", ")
			}
			writeString(b, s)
		}
		b.WriteByte(')')
		return
	}
	b.WriteByte(' ')
	if c.Numeric {
		b.WriteString(formatNumber(c.Num))
	} else {
		writeString(b, c.Str)
	}
}

// writeKey writes an identifier: prefix and key, quoted if need be.
func writeKey(b *strings.Builder, t Target, k Kind, key string) {
	if t == Runs || k != Attribute {
		b.WriteString(k.String())
		b.WriteByte('.')
	}
	if plainKey(key) {
		b.WriteString(key)
		return
	}
	for _, q := range []byte{'`', '"', '\''} {
		if strings.IndexByte(key, q) < 0 {
			b.WriteByte(q)
			b.WriteString(key)
			b.WriteByte(q)
			return
		}
	}
	b.WriteString(key) // unreachable for a parsed key: it came from one of the quotes
}

// plainKey reports whether key parses unquoted: word(.word)*.
func plainKey(key string) bool {
	if key == "" {
		return false
	}
	for _, part := range strings.Split(key, ".") {
		if part == "" {
			return false
		}
		for _, r := range part {
			if !isWordRune(r) {
				return false
			}
		}
	}
	return true
}

func writeString(b *strings.Builder, s string) {
	q := byte('\'')
	if strings.IndexByte(s, '\'') >= 0 {
		q = '"'
	}
	b.WriteByte(q)
	b.WriteString(s)
	b.WriteByte(q)
}

// formatNumber writes integers without an exponent (timestamps read better)
// and other values in the shortest form that parses back exactly.
func formatNumber(n float64) string {
	if n == math.Trunc(n) && math.Abs(n) < 1e21 {
		return strconv.FormatFloat(n, 'f', -1, 64)
	}
	return strconv.FormatFloat(n, 'g', -1, 64)
}
