package gate

import (
	"testing"

	"github.com/hangar-ml/hangar"
)

// FuzzParseRule: any string either parses into a rule whose canonical
// form parses back to itself and evaluates without panicking, or is
// refused with EINVALID.
func FuzzParseRule(f *testing.F) {
	for _, s := range []string{
		"rmse <= 0.98 * champion.rmse", "mape < 0.15", "auc > champion.auc + -0.01",
		"x != -1e-3", "rmse = 1", "rmse <= 1.2.3", "champion.x < 1", "rmse ≤ 1", "a < 2 * 3 * b + 1 + 2",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRule(s)
		if err != nil {
			if hangar.ErrorCode(err) != hangar.EINVALID {
				t.Fatalf("ParseRule(%q): got code %q, want %q: %v", s, hangar.ErrorCode(err), hangar.EINVALID, err)
			}
			return
		}
		canon := r.String()
		again, err := ParseRule(canon)
		if err != nil {
			t.Fatalf("canonical %q of %q does not parse: %v", canon, s, err)
		}
		if got := again.String(); got != canon {
			t.Fatalf("canonical form of %q: got %q, then %q", s, canon, got)
		}
		m := map[string]float64{}
		var names func(e *Expr)
		names = func(e *Expr) {
			switch e.Kind {
			case KindMetric, KindChampion:
				m[e.Metric] = 1
			case KindMul, KindAdd:
				names(e.X)
			}
		}
		m[r.Metric] = 1
		names(r.Expr)
		for _, champ := range []map[string]float64{nil, m} {
			v, err := Evaluate([]*Rule{r}, m, champ)
			if err != nil {
				t.Fatalf("Evaluate(%q): %v", s, err)
			}
			if len(v.Rules) != 1 {
				t.Fatalf("Evaluate(%q): got %d results, want 1", s, len(v.Rules))
			}
		}
	})
}

// FuzzParse: any rules file parses or is refused with EINVALID.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"rules:\n  - rmse <= 0.98 * champion.rmse\n  - mape < 0.15\n",
		"rules: [a < 1]\n", "rules: []\n", "", "- a < 1\n", "rules: {a: 1}\n", "rules: [a < 1]\n---\nx: 1\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		rules, err := Parse(b)
		if err != nil {
			if hangar.ErrorCode(err) != hangar.EINVALID {
				t.Fatalf("Parse(%q): got code %q, want %q: %v", b, hangar.ErrorCode(err), hangar.EINVALID, err)
			}
			return
		}
		if len(rules) == 0 || len(rules) > MaxRules {
			t.Fatalf("Parse(%q): got %d rules", b, len(rules))
		}
	})
}
