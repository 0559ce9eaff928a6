package sweep

import (
	"fmt"
	"math"
	"slices"
)

// Stop decides whether the early termination policy ends a running trial.
// series holds each trial's primary metric values in the order logged
// (interval n is series[t][n-1]), the trial's own included under trial.
// The policy is applied at each interval of the trial that is a multiple
// of EvaluationInterval and at least DelayEvaluation (all of them, so a
// scheduler that looks late decides as one that looked at every
// interval); at interval n every trial is judged by its values up to n.
// It returns why the trial stops, or "" to let it run.
//
//   - bandit: the trial's best value up to n is worse than the best of
//     all trials' best values up to n by more than the slack: below
//     best/(1+slack_factor) or best−slack_amount when maximizing, above
//     best·(1+slack_factor) or best+slack_amount when minimizing.
//   - median_stopping: the trial's best value up to n is worse than the
//     median of the other trials' running averages (the mean of their
//     values up to n) — Google Vizier's median stopping rule.
//   - truncation_selection: the trial's value at interval n is among the
//     lowest truncation_percentage percent of all trials' values at n
//     (floor(count·percentage/100) trials, at least one trial besides
//     it).
func (c *Config) Stop(trial string, series map[string][]float64) string {
	p := c.Policy
	if p == nil {
		return ""
	}
	own := series[trial]
	interval := max(p.EvaluationInterval, 1)
	for n := 1; n <= len(own); n++ {
		if n%interval != 0 || n < p.DelayEvaluation {
			continue
		}
		if why := c.stopAt(trial, n, series); why != "" {
			return why
		}
	}
	return ""
}

func (c *Config) bestUpTo(vs []float64, n int) float64 {
	b := vs[0]
	for _, v := range vs[1:min(n, len(vs))] {
		if c.Better(v, b) {
			b = v
		}
	}
	return b
}

func (c *Config) stopAt(trial string, n int, series map[string][]float64) string {
	p := c.Policy
	own := c.bestUpTo(series[trial], n)
	names := make([]string, 0, len(series))
	for name, vs := range series {
		if len(vs) >= n {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	switch p.Type {
	case Bandit:
		best := own
		for _, name := range names {
			if b := c.bestUpTo(series[name], n); c.Better(b, best) {
				best = b
			}
		}
		var limit float64
		switch {
		case p.SlackFactor != nil && c.Goal == Maximize:
			limit = best / (1 + *p.SlackFactor)
		case p.SlackFactor != nil:
			limit = best * (1 + *p.SlackFactor)
		case c.Goal == Maximize:
			limit = best - *p.SlackAmount
		default:
			limit = best + *p.SlackAmount
		}
		if c.Better(limit, own) {
			return fmt.Sprintf("bandit policy: at interval %d its best %s %s is outside the slack of the best trial's %s (limit %s)",
				n, c.PrimaryMetric, FormatFloat(own), FormatFloat(best), FormatFloat(limit))
		}
	case MedianStopping:
		var avgs []float64
		for _, name := range names {
			if name == trial {
				continue
			}
			sum := 0.0
			for _, v := range series[name][:n] {
				sum += v
			}
			avgs = append(avgs, sum/float64(n))
		}
		if len(avgs) == 0 {
			return ""
		}
		slices.Sort(avgs)
		med := avgs[len(avgs)/2]
		if len(avgs)%2 == 0 {
			med = (avgs[len(avgs)/2-1] + avgs[len(avgs)/2]) / 2
		}
		if c.Better(med, own) {
			return fmt.Sprintf("median stopping policy: at interval %d its best %s %s is worse than the median %s of the other trials' running averages",
				n, c.PrimaryMetric, FormatFloat(own), FormatFloat(med))
		}
	case TruncationSelection:
		if len(names) < 2 {
			return ""
		}
		at := func(name string) float64 { return series[name][n-1] }
		// Worst first; ties broken by name, so the decision is stable.
		slices.SortStableFunc(names, func(a, b string) int {
			switch va, vb := at(a), at(b); {
			case c.Better(vb, va):
				return -1
			case c.Better(va, vb):
				return 1
			}
			return 0
		})
		cut := int(math.Floor(float64(len(names)*p.TruncationPercentage) / 100))
		if slices.Index(names, trial) < cut {
			return fmt.Sprintf("truncation selection policy: at interval %d its %s %s is in the lowest %d%% of the %d trials",
				n, c.PrimaryMetric, FormatFloat(at(trial)), p.TruncationPercentage, len(names))
		}
	}
	return ""
}
