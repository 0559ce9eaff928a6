// Package gate is the evaluation gate of the model registry: a small,
// declarative rule language over a candidate model's metrics, with
// comparisons against the current champion's, and its evaluation into a
// verdict that says, for each rule, which values were compared and why it
// passed, failed or was skipped.
//
// A rules file is YAML:
//
//	rules:
//	  - rmse <= 0.98 * champion.rmse
//	  - mape < 0.15
//	  - r2 >= 0.8
//
// Each rule is `<metric> <op> <expr>` with op one of < <= > >= == !=, and
//
//	expr    = product { "+" number }
//	product = { number "*" } atom
//	atom    = number | metric | "champion." metric
//	number  = [ "-" | "+" ] decimal or exponent literal, finite
//	metric  = letter or "_", then letters, digits, "_", "." or "/"
//
// The left side is a metric of the candidate; a bare metric on the right is
// the candidate's too, and champion.<metric> is the champion's. When there
// is no champion, rules naming champion. are skipped and the others alone
// decide. The package prints nothing and talks to no server: callers fetch
// the metrics (from metrics.json or the MLflow registry) and record the
// verdict.
package gate

import (
	"bytes"
	"errors"
	"io"
	"math"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/hangar-ml/hangar"
)

// MaxRules bounds the rules of one set, and MaxRuleLen the length of one
// rule, so that a hostile file cannot make evaluation or the recorded tag
// grow without bound.
const (
	MaxRules   = 100
	MaxRuleLen = 500
)

// ChampionPrefix names a champion's metric in an expression.
const ChampionPrefix = "champion."

// Op is a comparison operator.
type Op string

// The comparison operators.
const (
	LT Op = "<"
	LE Op = "<="
	GT Op = ">"
	GE Op = ">="
	EQ Op = "=="
	NE Op = "!="
)

// holds reports whether a op b. A NaN on either side never holds, != included,
// so that a broken metric never passes a gate.
func (o Op) holds(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return false
	}
	switch o {
	case LT:
		return a < b
	case LE:
		return a <= b
	case GT:
		return a > b
	case GE:
		return a >= b
	case EQ:
		return a == b
	case NE:
		return a != b
	}
	return false
}

// Expr is the right side of a rule: a number, a metric of the candidate, a
// metric of the champion, a number times an expression, or an expression
// plus a number.
type Expr struct {
	// Kind says which fields are set.
	Kind ExprKind
	// Number is the literal (KindNumber), the factor (KindMul) or the
	// addend (KindAdd).
	Number float64
	// Metric is the metric's name, without champion. (KindMetric,
	// KindChampion).
	Metric string
	// X is the operand of KindMul and KindAdd.
	X *Expr
}

// ExprKind is the kind of an Expr.
type ExprKind int

// The kinds of expressions.
const (
	KindNumber   ExprKind = iota // Number
	KindMetric                   // the candidate's Metric
	KindChampion                 // the champion's Metric
	KindMul                      // Number * X
	KindAdd                      // X + Number
)

// String renders the expression in the rule syntax, canonically spaced.
func (e *Expr) String() string {
	switch e.Kind {
	case KindNumber:
		return formatNumber(e.Number)
	case KindMetric:
		return e.Metric
	case KindChampion:
		return ChampionPrefix + e.Metric
	case KindMul:
		return formatNumber(e.Number) + " * " + e.X.String()
	case KindAdd:
		return e.X.String() + " + " + formatNumber(e.Number)
	}
	return "?"
}

func formatNumber(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// champion reports whether the expression names a champion's metric.
func (e *Expr) champion() bool {
	switch e.Kind {
	case KindChampion:
		return true
	case KindMul, KindAdd:
		return e.X.champion()
	}
	return false
}

// value computes the expression. look returns a metric's value, from the
// champion's metrics when champion is set.
func (e *Expr) value(look func(metric string, champion bool) (float64, error)) (float64, error) {
	switch e.Kind {
	case KindNumber:
		return e.Number, nil
	case KindMetric, KindChampion:
		return look(e.Metric, e.Kind == KindChampion)
	case KindMul, KindAdd:
		x, err := e.X.value(look)
		if err != nil {
			return 0, err
		}
		if e.Kind == KindMul {
			return e.Number * x, nil
		}
		return x + e.Number, nil
	}
	return 0, hangar.Errorf(hangar.EINTERNAL, "gate: expression of unknown kind %d", e.Kind)
}

// Rule is one parsed rule: Metric Op Expr.
type Rule struct {
	// Text is the rule as written.
	Text   string
	Metric string
	Op     Op
	Expr   *Expr
}

// String renders the rule canonically spaced; parsing it gives the same rule.
func (r *Rule) String() string { return r.Metric + " " + string(r.Op) + " " + r.Expr.String() }

// NeedsChampion reports whether the rule compares with the champion.
func (r *Rule) NeedsChampion() bool { return r.Expr.champion() }

// Parse reads a rules file: a YAML mapping whose one key, rules, is a
// list of rule strings. Errors: EINVALID for YAML that is not that shape,
// for no rules or more than MaxRules, and for a rule that does not parse
// (naming the rule and the token).
func Parse(data []byte) ([]*Rule, error) {
	var doc struct {
		Rules []string `yaml:"rules"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, hangar.Errorf(hangar.EINVALID, "rules file is empty: want a mapping with a list under rules:")
		}
		return nil, hangar.Errorf(hangar.EINVALID, "rules file: %s (want a mapping with a list of strings under rules:)", yamlMessage(err))
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, hangar.Errorf(hangar.EINVALID, "rules file: want one YAML document")
	}
	return ParseRules(doc.Rules)
}

// yamlMessage drops the yaml package's "yaml: " prefix.
func yamlMessage(err error) string {
	return strings.TrimPrefix(strings.TrimPrefix(err.Error(), "yaml: "), "unmarshal errors:\n  ")
}

// ParseList parses rules separated by ";" (or new lines), the form a
// pipeline passes as one string. Empty parts are ignored. Errors: as
// ParseRules'.
func ParseList(s string) ([]*Rule, error) {
	var texts []string
	for _, line := range strings.Split(s, "\n") {
		for _, p := range strings.Split(line, ";") {
			if p = strings.TrimSpace(p); p != "" {
				texts = append(texts, p)
			}
		}
	}
	return ParseRules(texts)
}

// ParseRules parses each rule. Errors: EINVALID for none, more than
// MaxRules, or one that does not parse.
func ParseRules(texts []string) ([]*Rule, error) {
	if len(texts) == 0 {
		return nil, hangar.Errorf(hangar.EINVALID, "no rules: want at least one, e.g. \"rmse <= 0.98 * champion.rmse\"")
	}
	if len(texts) > MaxRules {
		return nil, hangar.Errorf(hangar.EINVALID, "%d rules: want at most %d", len(texts), MaxRules)
	}
	rules := make([]*Rule, 0, len(texts))
	for i, t := range texts {
		r, err := ParseRule(t)
		if err != nil {
			return nil, hangar.Errorf(hangar.EINVALID, "rule %d: %s", i+1, hangar.ErrorMessage(err))
		}
		rules = append(rules, r)
	}
	return rules, nil
}

// ParseRule parses one rule. Errors: EINVALID naming the rule and the
// token that does not fit, or the rule when it is empty or too long.
func ParseRule(text string) (*Rule, error) {
	if len(text) > MaxRuleLen {
		return nil, hangar.Errorf(hangar.EINVALID, "rule %.40q…: %d bytes, want at most %d", text, len(text), MaxRuleLen)
	}
	toks, err := lex(text)
	if err != nil {
		return nil, err
	}
	p := &parser{text: text, toks: toks}
	r, err := p.rule()
	if err != nil {
		return nil, err
	}
	r.Text = text
	return r, nil
}

type tokKind int

const (
	tokEOF tokKind = iota
	tokNumber
	tokIdent
	tokOp
	tokStar
	tokPlus
	tokMinus
)

type token struct {
	kind tokKind
	text string
	pos  int // byte offset in the rule
}

func (t token) String() string {
	if t.kind == tokEOF {
		return "end of rule"
	}
	return strconv.Quote(t.text)
}

func isIdentStart(c byte) bool {
	return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

func isIdent(c byte) bool {
	return isIdentStart(c) || '0' <= c && c <= '9' || c == '.' || c == '/'
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// lex splits a rule into tokens. Errors: EINVALID naming a character that
// starts no token.
func lex(text string) ([]token, error) {
	var toks []token
	for i := 0; i < len(text); {
		c := text[i]
		switch {
		case c == ' ' || c == '\t':
			i++
		case isIdentStart(c):
			j := i + 1
			for j < len(text) && isIdent(text[j]) {
				j++
			}
			toks = append(toks, token{tokIdent, text[i:j], i})
			i = j
		case isDigit(c) || c == '.':
			j := i
			for j < len(text) && (isDigit(text[j]) || text[j] == '.') {
				j++
			}
			if j < len(text) && (text[j] == 'e' || text[j] == 'E') {
				k := j + 1
				if k < len(text) && (text[k] == '+' || text[k] == '-') {
					k++
				}
				if k < len(text) && isDigit(text[k]) {
					for j = k; j < len(text) && isDigit(text[j]); j++ {
					}
				}
			}
			toks = append(toks, token{tokNumber, text[i:j], i})
			i = j
		case c == '*':
			toks = append(toks, token{tokStar, "*", i})
			i++
		case c == '+':
			toks = append(toks, token{tokPlus, "+", i})
			i++
		case c == '-':
			toks = append(toks, token{tokMinus, "-", i})
			i++
		case c == '<' || c == '>' || c == '=' || c == '!':
			j := i + 1
			if j < len(text) && text[j] == '=' {
				j++
			}
			op := text[i:j]
			if op == "=" || op == "!" {
				return nil, invalidToken(text, token{tokOp, op, i}, "want one of < <= > >= == !=")
			}
			toks = append(toks, token{tokOp, op, i})
			i = j
		default:
			r := []rune(text[i:])[0]
			return nil, invalidToken(text, token{tokOp, string(r), i}, "want a metric, a number or one of < <= > >= == != * +")
		}
	}
	return append(toks, token{tokEOF, "", len(text)}), nil
}

func invalidToken(text string, t token, want string) error {
	return hangar.Errorf(hangar.EINVALID, "rule %q: unexpected %s at column %d: %s", text, t, t.pos+1, want)
}

type parser struct {
	text string
	toks []token
	i    int
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tokEOF {
		p.i++
	}
	return t
}

func (p *parser) fail(t token, want string) error { return invalidToken(p.text, t, want) }

// rule = metric op expr EOF.
func (p *parser) rule() (*Rule, error) {
	t := p.next()
	if t.kind == tokEOF {
		return nil, hangar.Errorf(hangar.EINVALID, "empty rule: want <metric> <op> <expression>, e.g. \"rmse <= 0.98 * champion.rmse\"")
	}
	if t.kind != tokIdent {
		return nil, p.fail(t, "want the candidate's metric first")
	}
	if strings.HasPrefix(t.text, ChampionPrefix) {
		return nil, p.fail(t, "want the candidate's metric on the left; champion.<metric> goes on the right")
	}
	r := &Rule{Metric: t.text}
	op := p.next()
	if op.kind != tokOp {
		return nil, p.fail(op, "want one of < <= > >= == !=")
	}
	r.Op = Op(op.text)
	e, err := p.expr()
	if err != nil {
		return nil, err
	}
	r.Expr = e
	if t := p.next(); t.kind != tokEOF {
		return nil, p.fail(t, "want \"+ <number>\" or the end of the rule")
	}
	return r, nil
}

// expr = product { "+" number }.
func (p *parser) expr() (*Expr, error) {
	e, err := p.product()
	if err != nil {
		return nil, err
	}
	for p.peek().kind == tokPlus {
		p.next()
		n, t, err := p.number()
		if err != nil {
			return nil, err
		}
		if t.kind != tokNumber {
			return nil, p.fail(t, "want a number after +")
		}
		e = &Expr{Kind: KindAdd, Number: n, X: e}
	}
	return e, nil
}

// product = { number "*" } atom.
func (p *parser) product() (*Expr, error) {
	t := p.peek()
	switch t.kind {
	case tokIdent:
		p.next()
		if m, ok := strings.CutPrefix(t.text, ChampionPrefix); ok {
			if m == "" || !isIdentStart(m[0]) {
				return nil, p.fail(t, "want champion.<metric>")
			}
			return &Expr{Kind: KindChampion, Metric: m}, nil
		}
		return &Expr{Kind: KindMetric, Metric: t.text}, nil
	case tokNumber, tokMinus, tokPlus:
		n, nt, err := p.number()
		if err != nil {
			return nil, err
		}
		if nt.kind != tokNumber {
			return nil, p.fail(nt, "want a number")
		}
		if p.peek().kind != tokStar {
			return &Expr{Kind: KindNumber, Number: n}, nil
		}
		p.next()
		x, err := p.product()
		if err != nil {
			return nil, err
		}
		return &Expr{Kind: KindMul, Number: n, X: x}, nil
	}
	return nil, p.fail(p.next(), "want a number, a metric or champion.<metric>")
}

// number = [ "-" | "+" ] literal. It returns the token that was not a
// number (with a zero value) for the caller to name.
func (p *parser) number() (float64, token, error) {
	sign := 1.0
	if t := p.peek(); t.kind == tokMinus || t.kind == tokPlus {
		p.next()
		if t.kind == tokMinus {
			sign = -1
		}
	}
	t := p.next()
	if t.kind != tokNumber {
		return 0, t, nil
	}
	f, err := strconv.ParseFloat(t.text, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, t, p.fail(t, "want a finite decimal number, e.g. 0.98 or 1e-3")
	}
	return sign * f, t, nil
}
