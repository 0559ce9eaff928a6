package sweep

import (
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
)

// Observation is a finished trial as a sampler learns from it: its
// parameters (as Suggest returned them) and its final primary metric.
type Observation struct {
	Params map[string]string
	Value  float64
}

// Suggest returns the parameters of trial i (from 0), as the text each is
// substituted as, or false when the sweep has no trial i (past Trials).
// It is a pure function of the config, i and (bayesian only) the
// observations, in trial order: a restarted scheduler suggests the same.
//
// Grid walks the choices' product in order (the last parameter, by name,
// fastest). Random draws each parameter, in name order, from a generator
// seeded by the seed and i. Bayesian is the tree-structured Parzen
// estimator (Bergstra et al. 2011, Hyperopt's tpe.suggest): random for
// the first trials, then, per parameter, the candidate that maximises
// l(x)/g(x), where l and g are Parzen densities of the best quarter of
// the observations and of the rest.
func (c *Config) Suggest(i int, obs []Observation) (map[string]string, bool) {
	if i < 0 || i >= c.Trials() {
		return nil, false
	}
	switch c.Algorithm {
	case Grid:
		return c.grid(i), true
	case Bayesian:
		return c.tpe(i, obs), true
	}
	r := c.rng(i)
	out := map[string]string{}
	for _, name := range c.Space.Names() {
		out[name] = c.Space[name].Sample(r)
	}
	return out, true
}

func (c *Config) rng(i int) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(c.Seed), uint64(i)+0x9e3779b97f4a7c15))
}

func (c *Config) grid(i int) map[string]string {
	names := c.Space.Names()
	out := make(map[string]string, len(names))
	for k := len(names) - 1; k >= 0; k-- {
		vs := c.Space[names[k]].Values
		out[names[k]] = vs[i%len(vs)]
		i /= len(vs)
	}
	return out
}

// Sample draws one value of the parameter with r, as text.
func (p *Param) Sample(r *rand.Rand) string {
	switch p.Type {
	case Choice:
		return p.Values[r.IntN(len(p.Values))]
	case RandInt:
		return strconv.FormatInt(r.Int64N(*p.Upper), 10)
	}
	var v float64
	switch p.Type {
	case Uniform, QUniform, LogUniform, QLogUniform:
		v = *p.MinValue + (*p.MaxValue-*p.MinValue)*r.Float64()
	default:
		v = *p.Mu + *p.Sigma*r.NormFloat64()
	}
	return p.finish(v)
}

// finish maps a draw of the underlying uniform or normal to the
// parameter's value: exp for the log forms, then rounding for the q forms.
func (p *Param) finish(v float64) string {
	switch p.Type {
	case LogUniform, QLogUniform, LogNormal, QLogNormal:
		v = math.Exp(v)
	}
	if p.Q != nil {
		v = math.RoundToEven(v/(*p.Q)) * *p.Q
	}
	return FormatFloat(v)
}

// FormatFloat is how a sampled number is written: the shortest text that
// reads back as the same float64 ("3" for 3.0, "0.05").
func FormatFloat(v float64) string {
	if v == 0 {
		v = 0 // no "-0"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

func intText(s string) (int64, bool) {
	v, err := strconv.ParseInt(s, 10, 64)
	return v, err == nil
}

func floatText(s string) (float64, bool) {
	v, err := strconv.ParseFloat(s, 64)
	return v, err == nil && !math.IsNaN(v) && !math.IsInf(v, 0)
}

// TPE settings: Hyperopt's defaults.
const (
	tpeStartup    = 10   // random trials before the model is used (n_startup_jobs … Hangar: 10 or a fifth of the trials)
	tpeGamma      = 0.25 // the best quarter is "good"
	tpeCandidates = 24   // n_EI_candidates
)

func (c *Config) tpe(i int, obs []Observation) map[string]string {
	r := c.rng(i)
	startup := min(tpeStartup, max(2, c.MaxTotalTrials/5))
	var usable []Observation
	for _, o := range obs {
		if !math.IsNaN(o.Value) && !math.IsInf(o.Value, 0) {
			usable = append(usable, o)
		}
	}
	out := map[string]string{}
	if len(usable) < startup {
		for _, name := range c.Space.Names() {
			out[name] = c.Space[name].Sample(r)
		}
		return out
	}
	// Best first; ties by trial order (a stable sort).
	sorted := slices.Clone(usable)
	slices.SortStableFunc(sorted, func(a, b Observation) int {
		switch {
		case c.Better(a.Value, b.Value):
			return -1
		case c.Better(b.Value, a.Value):
			return 1
		}
		return 0
	})
	nGood := max(1, int(math.Ceil(tpeGamma*float64(len(sorted)))))
	good, bad := sorted[:nGood], sorted[nGood:]
	for _, name := range c.Space.Names() {
		p := c.Space[name]
		if p.Type == Choice {
			out[name] = p.tpeChoice(r, name, good, bad)
		} else {
			out[name] = p.tpeUniform(r, name, good, bad)
		}
	}
	return out
}

func (p *Param) tpeChoice(r *rand.Rand, name string, good, bad []Observation) string {
	k := len(p.Values)
	weights := func(os []Observation) []float64 {
		w := make([]float64, k)
		for j := range w {
			w[j] = 1 // the prior: one pseudo-count each
		}
		for _, o := range os {
			if j := slices.Index(p.Values, o.Params[name]); j >= 0 {
				w[j]++
			}
		}
		sum := 0.0
		for _, x := range w {
			sum += x
		}
		for j := range w {
			w[j] /= sum
		}
		return w
	}
	l, g := weights(good), weights(bad)
	best, bestScore := 0, math.Inf(-1)
	for range tpeCandidates {
		u, j := r.Float64(), 0
		for ; j < k-1 && u >= l[j]; j++ {
			u -= l[j]
		}
		if s := math.Log(l[j]) - math.Log(g[j]); s > bestScore {
			best, bestScore = j, s
		}
	}
	return p.Values[best]
}

// parzen is a mixture of Gaussians truncated to [lo, hi]: one at each
// observed value and one wide prior at the middle, all weighted alike.
type parzen struct {
	mus, sigmas []float64
	lo, hi      float64
}

func newParzen(xs []float64, lo, hi float64) parzen {
	z := parzen{lo: lo, hi: hi}
	width := hi - lo
	z.mus = append(z.mus, (lo+hi)/2)
	z.sigmas = append(z.sigmas, width)
	// Hyperopt's bandwidth: the larger gap to a neighbour, clipped to
	// [width/min(100, n+1), width].
	sorted := slices.Sorted(slices.Values(xs))
	n := len(sorted)
	minS := width / math.Min(100, float64(n+1))
	for j, x := range sorted {
		left, right := x-lo, hi-x
		if j > 0 {
			left = x - sorted[j-1]
		}
		if j < n-1 {
			right = sorted[j+1] - x
		}
		z.mus = append(z.mus, x)
		z.sigmas = append(z.sigmas, math.Min(width, math.Max(minS, math.Max(left, right))))
	}
	return z
}

func (z parzen) sample(r *rand.Rand) float64 {
	j := r.IntN(len(z.mus))
	for range 100 {
		if x := z.mus[j] + z.sigmas[j]*r.NormFloat64(); x >= z.lo && x <= z.hi {
			return x
		}
	}
	return z.lo + (z.hi-z.lo)*r.Float64()
}

func (z parzen) logPDF(x float64) float64 {
	sum := 0.0
	for j, mu := range z.mus {
		s := z.sigmas[j]
		mass := normCDF((z.hi-mu)/s) - normCDF((z.lo-mu)/s)
		if mass <= 0 {
			continue
		}
		d := (x - mu) / s
		sum += math.Exp(-d*d/2) / (s * math.Sqrt(2*math.Pi) * mass)
	}
	return math.Log(sum / float64(len(z.mus)))
}

func normCDF(x float64) float64 { return 0.5 * math.Erfc(-x/math.Sqrt2) }

func (p *Param) tpeUniform(r *rand.Rand, name string, good, bad []Observation) string {
	lo, hi := *p.MinValue, *p.MaxValue
	values := func(os []Observation) []float64 {
		var xs []float64
		for _, o := range os {
			if v, ok := floatText(o.Params[name]); ok && v >= lo && v <= hi {
				xs = append(xs, v)
			}
		}
		return xs
	}
	l, g := newParzen(values(good), lo, hi), newParzen(values(bad), lo, hi)
	best, bestScore := lo, math.Inf(-1)
	for range tpeCandidates {
		x := l.sample(r)
		if s := l.logPDF(x) - g.logPDF(x); s > bestScore {
			best, bestScore = x, s
		}
	}
	return p.finish(best)
}
