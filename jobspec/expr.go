package jobspec

import (
	"slices"
	"strings"

	"github.com/hangar-ml/hangar"
)

// Expr is one ${{…}} expression: its dotted path, e.g. ["inputs", "lr"]
// or ["parent", "jobs", "train", "outputs", "model"].
type Expr []string

// String is the expression as written canonically: ${{a.b.c}}.
func (e Expr) String() string { return "${{" + strings.Join(e, ".") + "}}" }

// Segment is one piece of a Template: literal text, an expression, or an
// optional block ($[[…]]) of further segments.
type Segment struct {
	Text     string
	Expr     Expr
	Optional []Segment
}

// Template is a parsed string that may hold ${{…}} expressions and
// $[[…]] optional blocks: a command, or a binding.
type Template []Segment

// Exprs lists every expression of the template, those inside optional
// blocks included, in order.
func (t Template) Exprs() []Expr {
	var out []Expr
	for _, s := range t {
		if s.Expr != nil {
			out = append(out, s.Expr)
		}
		out = append(out, Template(s.Optional).Exprs()...)
	}
	return out
}

// isIdent reports whether s is a name an expression may use: a letter or
// underscore, then letters, digits, underscores or hyphens.
func isIdent(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for i, c := range s {
		switch {
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		case i > 0 && (c >= '0' && c <= '9' || c == '-'):
		default:
			return false
		}
	}
	return true
}

// ParseTemplate splits s into text, ${{…}} expressions and $[[…]]
// optional blocks. It checks syntax only (closed brackets, dotted names,
// no nested optional blocks, no expression-free optional block); which
// names an expression may use depends on where the string is, and is
// checked by the caller. Errors: EINVALID.
func ParseTemplate(s string) (Template, error) {
	var (
		out   Template
		block []Segment // open optional block, or nil
		open  bool
		text  strings.Builder
	)
	add := func(seg Segment) {
		if open {
			block = append(block, seg)
		} else {
			out = append(out, seg)
		}
	}
	flush := func() {
		if text.Len() > 0 {
			add(Segment{Text: text.String()})
			text.Reset()
		}
	}
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], "${{"):
			end := strings.Index(s[i+3:], "}}")
			if end < 0 || strings.Contains(s[i+3:i+3+end], "${{") {
				return nil, hangar.Errorf(hangar.EINVALID, "unclosed ${{ at offset %d", i)
			}
			body := strings.TrimSpace(s[i+3 : i+3+end])
			parts := strings.Split(body, ".")
			for _, p := range parts {
				if !isIdent(p) {
					return nil, hangar.Errorf(hangar.EINVALID, "bad expression ${{%s}}: want dotted names like ${{inputs.learning_rate}}", body)
				}
			}
			flush()
			add(Segment{Expr: Expr(parts)})
			i += 3 + end + 2
		case strings.HasPrefix(s[i:], "$[["):
			if open {
				return nil, hangar.Errorf(hangar.EINVALID, "$[[ inside $[[…]] at offset %d: optional blocks do not nest", i)
			}
			flush()
			open, block = true, []Segment{}
			i += 3
		case open && strings.HasPrefix(s[i:], "]]"):
			flush()
			if !slices.ContainsFunc(block, func(s Segment) bool { return s.Expr != nil }) {
				return nil, hangar.Errorf(hangar.EINVALID, "optional block $[[…]] without an ${{inputs.…}} expression at offset %d", i)
			}
			open = false
			out = append(out, Segment{Optional: block})
			block = nil
			i += 2
		default:
			text.WriteByte(s[i])
			i++
		}
	}
	if open {
		return nil, hangar.Errorf(hangar.EINVALID, "unclosed $[[ optional block")
	}
	flush()
	return out, nil
}

// Render substitutes the values of the inputs and outputs into the
// template and returns the command text to hand to `sh -c`.
//
// inputs maps each input that has a value to it (a literal rendered as
// text, or the local path of a data input); an input missing from the map
// was not given. An optional block is dropped when any input it names is
// not given, and kept (without its $[[ ]]) otherwise. outputs maps output
// names to their local paths.
//
// Values are quoted for the shell by where they land in the command, so
// each arrives as written — one word — whatever characters it holds (see
// Quote). A value made only of letters, digits and _ @ % + = : , . / -
// is inserted as is, exactly as Azure's textual substitution would.
//
// Errors: EINVALID for an expression other than inputs.<name> or
// outputs.<name>, an input used outside an optional block without a
// value, or an unknown output.
func (t Template) Render(inputs, outputs map[string]string) (string, error) {
	var sh shellState
	var b strings.Builder
	var emit func(segs []Segment) error
	emit = func(segs []Segment) error {
		for _, s := range segs {
			switch {
			case s.Optional != nil:
				given := true
				for _, e := range Template(s.Optional).Exprs() {
					if len(e) == 2 && e[0] == "inputs" {
						if _, ok := inputs[e[1]]; !ok {
							given = false
						}
					}
				}
				if given {
					if err := emit(s.Optional); err != nil {
						return err
					}
				}
			case s.Expr != nil:
				v, err := lookup(s.Expr, inputs, outputs)
				if err != nil {
					return err
				}
				if sh.heredoc {
					return errHeredoc(s.Expr)
				}
				b.WriteString(sh.quote(v))
			default:
				b.WriteString(s.Text)
				sh.scan(s.Text)
			}
		}
		return nil
	}
	if err := emit(t); err != nil {
		return "", err
	}
	return b.String(), nil
}

func lookup(e Expr, inputs, outputs map[string]string) (string, error) {
	if len(e) == 2 {
		switch e[0] {
		case "inputs":
			if v, ok := inputs[e[1]]; ok {
				return v, nil
			}
			return "", hangar.Errorf(hangar.EINVALID, "%s has no value: give the input, or wrap its use in $[[…]] if it is optional", e)
		case "outputs":
			if v, ok := outputs[e[1]]; ok {
				return v, nil
			}
			return "", hangar.Errorf(hangar.EINVALID, "%s: no such output", e)
		}
	}
	return "", hangar.Errorf(hangar.EINVALID, "%s cannot be used in a command: only ${{inputs.<name>}} and ${{outputs.<name>}}", e)
}

// shellState tracks the POSIX shell's quoting state across command text,
// so a value can be quoted for the place it lands in. Command
// substitutions ($(…) and `…`) open a fresh context inside any quoting;
// the enclosing states wait on a stack.
type shellState struct {
	q      byte // 0 (unquoted), '\'', '"' or '$' (inside $'…')
	escape bool // the previous character was a backslash that escapes the next
	dollar bool // the previous character was a $ that may start an expansion
	subst  byte // 0 at the top, '(' inside $(…), '`' inside `…`
	// heredoc is set once an unquoted << has been seen: what follows may
	// be a here-document body, where no quoting keeps a value data.
	heredoc bool
	comment bool // inside a # comment, up to the end of the line
	prev    byte // the last character scanned, 0 at the start
	parens  int  // open parentheses inside the current $(…)
	outer   []shellState
}

func (s *shellState) push(kind byte) {
	s.outer = append(s.outer, shellState{q: s.q, subst: s.subst, parens: s.parens})
	s.q, s.subst, s.parens = 0, kind, 0
}

// inBackquotes reports whether the state is inside a `…`, at any depth.
func (s *shellState) inBackquotes() bool {
	if s.subst == '`' {
		return true
	}
	for _, o := range s.outer {
		if o.subst == '`' {
			return true
		}
	}
	return false
}

// closeBackquote pops the states up to and including the innermost `…`:
// a bare backquote ends it whatever was opened inside.
func (s *shellState) closeBackquote() {
	for s.subst != '`' {
		s.pop()
	}
	s.pop()
}

func (s *shellState) pop() {
	o := s.outer[len(s.outer)-1]
	s.outer = s.outer[:len(s.outer)-1]
	s.q, s.subst, s.parens = o.q, o.subst, o.parens
}

// scan advances the state over literal command text.
func (s *shellState) scan(text string) {
	for i := 0; i < len(text); i++ {
		c := text[i]
		prev := s.prev
		s.prev = c
		if s.comment {
			s.comment = c != '\n'
			continue
		}
		if c == '\\' && i+1 < len(text) && strings.IndexByte("\\`$", text[i+1]) >= 0 && s.inBackquotes() {
			// Inside `…` the shell removes this backslash before
			// parsing the inner command; an escaped backquote (a
			// nested substitution) is taken as plain text.
			i++
			if c = text[i]; c == '`' {
				s.escape, s.dollar = false, false
				continue
			}
		}
		dollar := s.dollar
		s.dollar = false
		if s.escape {
			s.escape = false
			s.prev = 'x' // an escaped character is part of a word
			continue
		}
		switch s.q {
		case 0:
			switch {
			case c == '#' && wordStart(prev):
				s.comment = true
			case c == '\\':
				s.escape = true
			case c == '\'':
				s.q = '\''
			case c == '"':
				s.q = '"'
			case c == '`' && s.inBackquotes():
				s.closeBackquote()
			case c == '`':
				s.push('`')
			case c == '(' && dollar:
				s.push('(')
			case c == '(' && s.subst == '(':
				s.parens++
			case c == ')' && s.subst == '(' && s.parens > 0:
				s.parens--
			case c == ')' && s.subst == '(':
				s.pop()
			case c == '$' && i+1 < len(text) && text[i+1] == '\'':
				s.q = '$'
				i++
			case c == '$':
				s.dollar = true
			case c == '<' && strings.HasPrefix(text[i:], "<<") && !strings.HasPrefix(text[i:], "<<<"):
				s.heredoc = true
				i++
			case c == '<' && strings.HasPrefix(text[i:], "<<<"):
				i += 2
			}
		case '\'':
			if c == '\'' {
				s.q = 0
			}
		case '"':
			switch {
			case c == '\\':
				s.escape = true
			case c == '"':
				s.q = 0
			case c == '`' && s.inBackquotes():
				s.closeBackquote()
			case c == '`':
				s.push('`')
			case c == '(' && dollar:
				s.push('(')
			case c == '$':
				s.dollar = true
			}
		case '$':
			if c == '\\' {
				s.escape = true
			} else if c == '\'' {
				s.q = 0
			}
		}
	}
}

// quote renders v for the current state; the state after the quoted value
// is the state before it.
func (s *shellState) quote(v string) string {
	if s.comment {
		// Never run, but a newline would end the comment early.
		return strings.NewReplacer("\n", " ", "\r", " ").Replace(v)
	}
	s.prev = 'x' // a value is part of a word
	prefix := ""
	if s.escape {
		// A backslash right before the expression escapes the first
		// character of whatever follows: give it a second backslash to
		// escape, so the value's own first character keeps its quoting.
		prefix = `\`
	}
	var q string
	switch s.q {
	case '\'':
		q = strings.ReplaceAll(v, "'", `'\''`)
	case '"':
		q = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "$", `\$`, "`", "\\`").Replace(v)
		if s.dollar && !s.escape && v != "" && !isNameByte(v[0]) {
			// "$" then "(" or "{" would start an expansion: close and
			// reopen the quotes so the $ stands alone.
			prefix = `""`
		}
	case '$':
		q = strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v)
	default:
		q = Quote(v)
		if s.dollar && !s.escape && strings.HasPrefix(q, "'") {
			// "$" then "'…'" would read as bash's $'…', where
			// backslashes are escapes: an empty quoted string keeps
			// them apart.
			prefix = "''"
		}
	}
	s.escape, s.dollar = false, false
	out := prefix + q
	// Inside `…` the shell first removes one level of backslashes before
	// \, ` and $; add that level so the inner command sees the quoted
	// value.
	if s.inBackquotes() {
		out = strings.NewReplacer(`\`, `\\`, "`", "\\`", "$", `\$`).Replace(out)
	}
	return out
}

// errHeredoc refuses an expression that may sit in a here-document: its
// body expands $ and backquotes but removes no quotes, and a line equal
// to the delimiter ends it, so no quoting keeps a value data there.
func errHeredoc(e Expr) error {
	return hangar.Errorf(hangar.EINVALID, "%s comes after a here-document (<<), where a value cannot be quoted safely; pass it as an argument or through an environment variable", e)
}

// wordStart reports whether a character after c starts a word (where #
// starts a comment).
func wordStart(c byte) bool {
	return c == 0 || strings.IndexByte(" \t\n;&|()<>", c) >= 0
}

// isNameByte reports whether c may continue a $name expansion.
func isNameByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// Quote returns v as one POSIX shell word: unchanged when it holds only
// characters the shell never treats specially (letters, digits and
// _ @ % + = : , . / -), else wrapped in single quotes, each single quote
// inside written as quote, backslash, quote, quote. The empty string is a
// pair of single quotes, so it stays one (empty) word.
func Quote(v string) string {
	if v != "" && strings.IndexFunc(v, func(c rune) bool {
		return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("_@%+=:,./-", c))
	}) < 0 {
		return v
	}
	return "'" + strings.ReplaceAll(v, "'", `'\''`) + "'"
}
