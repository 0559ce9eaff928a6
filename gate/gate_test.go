package gate

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hangar-ml/hangar"
)

func TestParseRule(t *testing.T) {
	tests := []struct {
		text, want string // want is the canonical form
		champion   bool
	}{
		{"rmse <= 0.98 * champion.rmse", "rmse <= 0.98 * champion.rmse", true},
		{"mape<0.15", "mape < 0.15", false},
		{"r2 >= 0.8", "r2 >= 0.8", false},
		{"auc > champion.auc + 0.01", "auc > champion.auc + 0.01", true},
		{"auc > champion.auc + -0.01", "auc > champion.auc + -0.01", true},
		{"mae == 2 * 0.5 * mape + 1 + 2", "mae == 2 * 0.5 * mape + 1 + 2", false},
		{"x != -1e-3", "x != -0.001", false},
		{"test_rmse <= 1.1 * champion.test_rmse", "test_rmse <= 1.1 * champion.test_rmse", true},
		{"eval/rmse <= .5", "eval/rmse <= 0.5", false},
		{"a.b >= +3", "a.b >= 3", false},
		{"\trmse   <=   champion.rmse  ", "rmse <= champion.rmse", true},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			r, err := ParseRule(tt.text)
			if err != nil {
				t.Fatalf("ParseRule: %v", err)
			}
			if got := r.String(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if got := r.NeedsChampion(); got != tt.champion {
				t.Errorf("NeedsChampion: got %v, want %v", got, tt.champion)
			}
			if r.Text != tt.text {
				t.Errorf("Text: got %q, want %q", r.Text, tt.text)
			}
			again, err := ParseRule(r.String())
			if err != nil || again.String() != r.String() {
				t.Errorf("reparse of %q: got %v, %v", r.String(), again, err)
			}
		})
	}
}

func TestParseRuleErrors(t *testing.T) {
	tests := []struct{ text, want string }{
		{"", `empty rule`},
		{"   ", `empty rule`},
		{"rmse", `rule "rmse": unexpected end of rule at column 5: want one of < <= > >= == !=`},
		{"rmse <=", `rule "rmse <=": unexpected end of rule at column 8: want a number, a metric or champion.<metric>`},
		{"rmse = 1", `rule "rmse = 1": unexpected "=" at column 6: want one of < <= > >= == !=`},
		{"rmse ! 1", `unexpected "!" at column 6`},
		{"rmse => 1", `rule "rmse => 1": unexpected "=" at column 6: want one of < <= > >= == !=`},
		{"rmse <= 0.98 x champion.rmse", `unexpected "x" at column 14: want "+ <number>" or the end of the rule`},
		{"rmse <= champion.rmse * 0.98", `unexpected "*" at column 23: want "+ <number>" or the end of the rule`},
		{"rmse <= champion.rmse - 0.1", `unexpected "-" at column 23`},
		{"rmse <= 1 + rmse", `unexpected "rmse" at column 13: want a number after +`},
		{"rmse <= 1.2.3", `unexpected "1.2.3" at column 9: want a finite decimal number`},
		{"rmse <= 1e999", `unexpected "1e999" at column 9: want a finite decimal number`},
		{"rmse <= .", `unexpected "." at column 9: want a finite decimal number`},
		{"champion.rmse <= 1", `unexpected "champion.rmse" at column 1: want the candidate's metric on the left`},
		{"rmse <= champion.", `unexpected "champion." at column 9: want champion.<metric>`},
		{"rmse <= champion.1x", `unexpected "champion.1x"`},
		{"0.5 < rmse", `unexpected "0.5" at column 1: want the candidate's metric first`},
		{"rmse <= (1)", `unexpected "(" at column 9`},
		{"rmse <= 1 # comment", `unexpected "#" at column 11`},
		{"rmse ≤ 1", `unexpected "≤" at column 6`},
		{"rmse <= - champion.rmse", `unexpected "champion.rmse" at column 11: want a number`},
		{"rmse < 1 < 2", `unexpected "<" at column 10`},
		{"rmse <= " + strings.Repeat("1", MaxRuleLen), `bytes, want at most 500`},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			r, err := ParseRule(tt.text)
			if err == nil {
				t.Fatalf("got %v, want an error", r)
			}
			if hangar.ErrorCode(err) != hangar.EINVALID {
				t.Errorf("code: got %q, want %q", hangar.ErrorCode(err), hangar.EINVALID)
			}
			if got := hangar.ErrorMessage(err); !strings.Contains(got, tt.want) {
				t.Errorf("got %q, want it to contain %q", got, tt.want)
			}
		})
	}
}

func TestParse(t *testing.T) {
	rules, err := Parse([]byte("rules:\n  - rmse <= 0.98 * champion.rmse\n  - mape < 0.15\n  - r2 >= 0.8\n"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rules {
		got = append(got, r.Text)
	}
	want := []string{"rmse <= 0.98 * champion.rmse", "mape < 0.15", "r2 >= 0.8"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rules (-want +got):\n%s", diff)
	}

	bad := []struct{ name, doc, want string }{
		{"empty", "", "rules file is empty"},
		{"no rules", "rules: []\n", "no rules"},
		{"unknown key", "rules: [a < 1]\nextra: 1\n", "field extra not found"},
		{"not a list", "rules: a < 1\n", "want a mapping with a list of strings under rules:"},
		{"not strings", "rules:\n  - {a: 1}\n", "want a mapping with a list of strings under rules:"},
		{"a list", "- a < 1\n", "want a mapping"},
		{"two documents", "rules: [a < 1]\n---\nrules: [b < 1]\n", "want one YAML document"},
		{"bad rule", "rules:\n  - a < 1\n  - b <> 1\n", `rule 2: rule "b <> 1": unexpected ">" at column 4`},
		{"too many", "rules:\n" + strings.Repeat("  - a < 1\n", MaxRules+1), "101 rules: want at most 100"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.doc))
			if hangar.ErrorCode(err) != hangar.EINVALID {
				t.Fatalf("got %v, want an %s error", err, hangar.EINVALID)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestParseList(t *testing.T) {
	rules, err := ParseList(" rmse <= champion.rmse ;mape < 0.15;\n r2 >= 0.8;; ")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(rules), 3; got != want {
		t.Fatalf("got %d rules, want %d", got, want)
	}
	if got, want := rules[2].String(), "r2 >= 0.8"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if _, err := ParseList(" ; "); hangar.ErrorCode(err) != hangar.EINVALID {
		t.Errorf("empty list: got %v, want %s", err, hangar.EINVALID)
	}
}

func num(f float64) *Number { n := Number(f); return &n }

func TestEvaluate(t *testing.T) {
	rules, err := ParseRules([]string{"rmse <= 0.98 * champion.rmse", "mape < 0.15", "r2 >= 0.8", "mae < champion.mae + 0.5"})
	if err != nil {
		t.Fatal(err)
	}
	cand := map[string]float64{"rmse": 1.0, "mape": 0.1, "r2": 0.85, "mae": 3}
	tests := []struct {
		name     string
		cand     map[string]float64
		champion map[string]float64
		want     Verdict
	}{{
		name:     "better than the champion",
		cand:     cand,
		champion: map[string]float64{"rmse": 1.1, "mae": 2.6, "other": 1},
		want: Verdict{Passed: true, Verdict: Passed, Rules: []Result{
			{Rule: "rmse <= 0.98 * champion.rmse", Metric: "rmse", Op: LE, Candidate: 1, Champion: map[string]Number{"rmse": 1.1}, Threshold: num(0.98 * 1.1), Outcome: Passed},
			{Rule: "mape < 0.15", Metric: "mape", Op: LT, Candidate: 0.1, Threshold: num(0.15), Outcome: Passed},
			{Rule: "r2 >= 0.8", Metric: "r2", Op: GE, Candidate: 0.85, Threshold: num(0.8), Outcome: Passed},
			{Rule: "mae < champion.mae + 0.5", Metric: "mae", Op: LT, Candidate: 3, Champion: map[string]Number{"mae": 2.6}, Threshold: num(2.6 + 0.5), Outcome: Passed},
		}},
	}, {
		name:     "not 2% better than the champion",
		cand:     cand,
		champion: map[string]float64{"rmse": 1.01, "mae": 3},
		want: Verdict{Passed: false, Verdict: Failed, Rules: []Result{
			{Rule: "rmse <= 0.98 * champion.rmse", Metric: "rmse", Op: LE, Candidate: 1, Champion: map[string]Number{"rmse": 1.01}, Threshold: num(0.98 * 1.01), Outcome: Failed},
			{Rule: "mape < 0.15", Metric: "mape", Op: LT, Candidate: 0.1, Threshold: num(0.15), Outcome: Passed},
			{Rule: "r2 >= 0.8", Metric: "r2", Op: GE, Candidate: 0.85, Threshold: num(0.8), Outcome: Passed},
			{Rule: "mae < champion.mae + 0.5", Metric: "mae", Op: LT, Candidate: 3, Champion: map[string]Number{"mae": 3}, Threshold: num(3.5), Outcome: Passed},
		}},
	}, {
		name: "no champion: the absolute rules decide",
		cand: cand,
		want: Verdict{Passed: true, Verdict: Passed, Rules: []Result{
			{Rule: "rmse <= 0.98 * champion.rmse", Metric: "rmse", Op: LE, Candidate: 1, Outcome: Skipped, Reason: "no champion to compare with"},
			{Rule: "mape < 0.15", Metric: "mape", Op: LT, Candidate: 0.1, Threshold: num(0.15), Outcome: Passed},
			{Rule: "r2 >= 0.8", Metric: "r2", Op: GE, Candidate: 0.85, Threshold: num(0.8), Outcome: Passed},
			{Rule: "mae < champion.mae + 0.5", Metric: "mae", Op: LT, Candidate: 3, Outcome: Skipped, Reason: "no champion to compare with"},
		}},
	}, {
		name: "no champion, an absolute rule fails",
		cand: map[string]float64{"rmse": 1.0, "mape": 0.2, "r2": 0.85, "mae": 3},
		want: Verdict{Passed: false, Verdict: Failed, Rules: []Result{
			{Rule: "rmse <= 0.98 * champion.rmse", Metric: "rmse", Op: LE, Candidate: 1, Outcome: Skipped, Reason: "no champion to compare with"},
			{Rule: "mape < 0.15", Metric: "mape", Op: LT, Candidate: 0.2, Threshold: num(0.15), Outcome: Failed},
			{Rule: "r2 >= 0.8", Metric: "r2", Op: GE, Candidate: 0.85, Threshold: num(0.8), Outcome: Passed},
			{Rule: "mae < champion.mae + 0.5", Metric: "mae", Op: LT, Candidate: 3, Outcome: Skipped, Reason: "no champion to compare with"},
		}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Evaluate(rules, tt.cand, tt.champion)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(&tt.want, got); diff != "" {
				t.Errorf("verdict (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEvaluateOps(t *testing.T) {
	tests := []struct {
		rule string
		x    float64
		want Outcome
	}{
		{"x < 1", 0.5, Passed}, {"x < 1", 1, Failed},
		{"x <= 1", 1, Passed}, {"x <= 1", 1.5, Failed},
		{"x > 1", 1.5, Passed}, {"x > 1", 1, Failed},
		{"x >= 1", 1, Passed}, {"x >= 1", 0.5, Failed},
		{"x == 1", 1, Passed}, {"x == 1", 0.5, Failed},
		{"x != 1", 0.5, Passed}, {"x != 1", 1, Failed},
		{"x != 1", math.NaN(), Failed}, {"x < 1", math.NaN(), Failed},
		{"x <= y", 1, Failed}, // y is NaN
		{"x < 1", math.Inf(-1), Passed},
		{"x < 2 * y + 1", 0.5, Failed},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			r, err := ParseRule(tt.rule)
			if err != nil {
				t.Fatal(err)
			}
			v, err := Evaluate([]*Rule{r}, map[string]float64{"x": tt.x, "y": math.NaN()}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := v.Rules[0].Outcome; got != tt.want {
				t.Errorf("x = %v: got %s, want %s", tt.x, got, tt.want)
			}
			if got, want := v.Passed, tt.want == Passed; got != want {
				t.Errorf("Passed: got %v, want %v", got, want)
			}
		})
	}
}

func TestEvaluateMissingMetric(t *testing.T) {
	tests := []struct {
		rule     string
		champion map[string]float64
		want     string
	}{
		{"auc >= 0.8", nil, `rule "auc >= 0.8" names metric "auc", which the candidate lacks (its metrics: mape, rmse)`},
		{"rmse <= mae", nil, `rule "rmse <= mae" names metric "mae", which the candidate lacks`},
		{"rmse <= champion.mae", map[string]float64{"rmse": 1}, `rule "rmse <= champion.mae" names metric "champion.mae", which the champion lacks (its metrics: rmse)`},
		{"rmse <= champion.mae", map[string]float64{}, `which the champion lacks (its metrics: none)`},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			r, err := ParseRule(tt.rule)
			if err != nil {
				t.Fatal(err)
			}
			_, err = Evaluate([]*Rule{r}, map[string]float64{"rmse": 1, "mape": 0.1}, tt.champion)
			if hangar.ErrorCode(err) != hangar.EINVALID {
				t.Fatalf("got %v, want an %s error", err, hangar.EINVALID)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestVerdictJSON(t *testing.T) {
	v := &Verdict{Passed: false, Verdict: Failed, Champion: "m:1", Rules: []Result{
		{Rule: "x < 1", Metric: "x", Op: LT, Candidate: Number(math.NaN()), Threshold: num(1), Outcome: Failed, Reason: "NaN never passes"},
		{Rule: "y < champion.y", Metric: "y", Op: LT, Candidate: Number(math.Inf(1)), Champion: map[string]Number{"y": Number(math.Inf(-1))}, Threshold: num(math.Inf(-1)), Outcome: Failed},
	}}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"passed":false,"verdict":"failed","champion":"m:1","rules":[` +
		`{"rule":"x \u003c 1","metric":"x","op":"\u003c","candidate":"NaN","threshold":1,"outcome":"failed","reason":"NaN never passes"},` +
		`{"rule":"y \u003c champion.y","metric":"y","op":"\u003c","candidate":"Infinity","champion":{"y":"-Infinity"},"threshold":"-Infinity","outcome":"failed"}]}`
	if got := string(b); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	var back Verdict
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !math.IsNaN(float64(back.Rules[0].Candidate)) || !math.IsInf(float64(*back.Rules[1].Threshold), -1) {
		t.Errorf("round trip: got %+v", back.Rules)
	}
	if got, want := v.Summary(), "gate failed: 0 passed, 2 failed, 0 skipped; failed: x < 1 (x = NaN, threshold 1); y < champion.y (y = +Inf, threshold -Inf)"; got != want {
		t.Errorf("Summary: got %q, want %q", got, want)
	}
}
