package gate

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/hangar-ml/hangar"
)

// Outcome is what became of one rule.
type Outcome string

// The outcomes of a rule.
const (
	Passed  Outcome = "passed"
	Failed  Outcome = "failed"
	Skipped Outcome = "skipped" // it names champion. and there is no champion
)

// Result is one rule's evaluation: the values compared and the outcome.
type Result struct {
	// Rule is the rule as written.
	Rule   string `json:"rule"`
	Metric string `json:"metric"`
	Op     Op     `json:"op"`
	// Candidate is the candidate's value of Metric.
	Candidate Number `json:"candidate"`
	// Champion holds the champion's metrics the rule named, by name
	// (without champion.); empty when it names none or was skipped.
	Champion map[string]Number `json:"champion,omitempty"`
	// Threshold is the right side's value; nil when skipped.
	Threshold *Number `json:"threshold,omitempty"`
	Outcome   Outcome `json:"outcome"`
	// Reason says why a rule was skipped or failed without a comparison.
	Reason string `json:"reason,omitempty"`
}

// Number is a metric value that renders NaN and the infinities as JSON
// strings ("NaN", "Infinity", "-Infinity"), as MLflow does, since JSON
// numbers cannot hold them.
type Number float64

// MarshalJSON implements json.Marshaler.
func (n Number) MarshalJSON() ([]byte, error) {
	f := float64(n)
	switch {
	case math.IsNaN(f):
		return []byte(`"NaN"`), nil
	case math.IsInf(f, 1):
		return []byte(`"Infinity"`), nil
	case math.IsInf(f, -1):
		return []byte(`"-Infinity"`), nil
	}
	return json.Marshal(f)
}

// UnmarshalJSON implements json.Unmarshaler.
func (n *Number) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case `"NaN"`:
		*n = Number(math.NaN())
		return nil
	case `"Infinity"`:
		*n = Number(math.Inf(1))
		return nil
	case `"-Infinity"`:
		*n = Number(math.Inf(-1))
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	*n = Number(f)
	return nil
}

// Verdict is the evaluation of a rule set.
type Verdict struct {
	// Passed is true when no rule failed: skipped rules do not count.
	Passed bool `json:"passed"`
	// Verdict is "passed" or "failed", as recorded on the version.
	Verdict Outcome `json:"verdict"`
	// Candidate and Champion name what was compared (name:version, or a
	// path), when the caller knows; Champion is empty when there was none.
	Candidate string   `json:"candidate,omitempty"`
	Champion  string   `json:"champion,omitempty"`
	Rules     []Result `json:"rules"`
}

// Failed returns the results that failed.
func (v *Verdict) Failed() []Result {
	var out []Result
	for _, r := range v.Rules {
		if r.Outcome == Failed {
			out = append(out, r)
		}
	}
	return out
}

// Summary is one line on the verdict: how many rules passed, failed and
// were skipped, and the failed rules with their values.
func (v *Verdict) Summary() string {
	var p, f, s int
	var failed []string
	for _, r := range v.Rules {
		switch r.Outcome {
		case Passed:
			p++
		case Failed:
			f++
			if r.Threshold != nil {
				failed = append(failed, fmt.Sprintf("%s (%s = %s, threshold %s)", r.Rule, r.Metric, formatNumber(float64(r.Candidate)), formatNumber(float64(*r.Threshold))))
			} else {
				failed = append(failed, fmt.Sprintf("%s (%s)", r.Rule, r.Reason))
			}
		case Skipped:
			s++
		}
	}
	msg := fmt.Sprintf("gate %s: %d passed, %d failed, %d skipped", v.Verdict, p, f, s)
	if len(failed) > 0 {
		msg += "; failed: " + strings.Join(failed, "; ")
	}
	return msg
}

// Evaluate applies the rules to the candidate's metrics and, when champion
// is not nil, the champion's; with a nil champion the rules naming
// champion. are skipped. A NaN on either side fails the rule. Errors:
// EINVALID naming a metric the candidate (or the champion) lacks.
func Evaluate(rules []*Rule, candidate, champion map[string]float64) (*Verdict, error) {
	v := &Verdict{Passed: true, Verdict: Passed, Rules: make([]Result, 0, len(rules))}
	for _, r := range rules {
		c, ok := candidate[r.Metric]
		if !ok {
			return nil, lacks("the candidate", r, r.Metric, candidate)
		}
		res := Result{Rule: r.Text, Metric: r.Metric, Op: r.Op, Candidate: Number(c)}
		if res.Rule == "" {
			res.Rule = r.String()
		}
		if champion == nil && r.NeedsChampion() {
			res.Outcome, res.Reason = Skipped, "no champion to compare with"
			v.Rules = append(v.Rules, res)
			continue
		}
		th, err := r.Expr.value(func(m string, champ bool) (float64, error) {
			if !champ {
				x, ok := candidate[m]
				if !ok {
					return 0, lacks("the candidate", r, m, candidate)
				}
				return x, nil
			}
			x, ok := champion[m]
			if !ok {
				return 0, lacks("the champion", r, ChampionPrefix+m, champion)
			}
			if res.Champion == nil {
				res.Champion = map[string]Number{}
			}
			res.Champion[m] = Number(x)
			return x, nil
		})
		if err != nil {
			return nil, err
		}
		res.Threshold = new(Number(th))
		res.Outcome = Failed
		if r.Op.holds(c, th) {
			res.Outcome = Passed
		} else if math.IsNaN(c) || math.IsNaN(th) {
			res.Reason = "NaN never passes"
		}
		if res.Outcome == Failed {
			v.Passed, v.Verdict = false, Failed
		}
		v.Rules = append(v.Rules, res)
	}
	return v, nil
}

// lacks is the error of a rule naming a metric that is not there.
func lacks(who string, r *Rule, metric string, have map[string]float64) error {
	list := strings.Join(slices.Sorted(maps.Keys(have)), ", ")
	if list == "" {
		list = "none"
	}
	return hangar.Errorf(hangar.EINVALID, "rule %q names metric %q, which %s lacks (its metrics: %s)", r.Text, metric, who, list)
}
