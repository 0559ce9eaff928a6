package profile

import (
	"math"
	"slices"
)

// kllK is the KLL sketch's accuracy parameter: the top compactor holds k
// items and each level below holds 2/3 of the one above (at least
// kllMinWidth), so a sketch keeps at most about 3k values whatever it has
// seen. For k = 1024 the normalised rank error of a single quantile is
// below kllRankError with 99 % confidence.
const (
	kllK        = 1024
	kllMinWidth = 8
)

// kllRankError bounds the normalised rank error of a quantile read from a
// compacted sketch: |rank(estimate) − q·n| ≤ kllRankError·n with 99 %
// confidence. It is Apache DataSketches' fitted bound for KLL with
// k = 1024, 2.296/k^0.9723 = 0.00272, rounded up; the sketch here is built
// the same way (level capacities k·(2/3)^depth, random halving), and the
// tests check the bound against exact quantiles of real and generated data.
const kllRankError = 0.0028

// kll is a KLL quantile sketch (Karnin, Lang, Liberty 2016) over float64
// values that are neither NaN nor infinite. levels[h] holds values of
// weight 2^h. It is mergeable: merging two sketches gives a sketch of the
// concatenated streams with the same error bound.
type kll struct {
	levels    [][]float64 // levels[0] in arrival order, the others sorted
	caps      []int       // capacity of each level, for the current height
	n         int64
	compacted bool
	rng       uint64
}

func newKLL() *kll {
	s := &kll{levels: [][]float64{make([]float64, 0, kllMinWidth)}, rng: 0x9e3779b97f4a7c15}
	s.setCaps()
	return s
}

// setCaps computes the level capacities after the number of levels
// changed: the top level holds k values, each one below 2/3 of the one
// above, at least kllMinWidth.
func (s *kll) setCaps() {
	s.caps = s.caps[:0]
	for h := range s.levels {
		depth := len(s.levels) - 1 - h
		c := int(math.Ceil(kllK * math.Pow(2.0/3.0, float64(depth))))
		s.caps = append(s.caps, max(c, kllMinWidth))
	}
}

// capacity is how many values level h may hold before it is compacted.
func (s *kll) capacity(h int) int { return s.caps[h] }

// addLevel adds an empty level on top.
func (s *kll) addLevel() {
	s.levels = append(s.levels, nil)
	s.setCaps()
}

func (s *kll) add(v float64) {
	s.levels[0] = append(s.levels[0], v)
	s.n++
	if len(s.levels[0]) >= s.capacity(0) {
		s.compress()
	}
}

// bit returns a pseudo-random bit: xorshift64, seeded the same in every
// sketch, so a profile of the same data read the same way is the same.
func (s *kll) bit() int {
	s.rng ^= s.rng << 13
	s.rng ^= s.rng >> 7
	s.rng ^= s.rng << 17
	return int(s.rng >> 63)
}

// compress compacts levels over capacity, lowest first, until none is.
func (s *kll) compress() {
	for h := 0; h < len(s.levels); h++ {
		if len(s.levels[h]) < s.capacity(h) {
			continue
		}
		if h+1 == len(s.levels) {
			s.addLevel()
		}
		s.compact(h)
		h = -1 // capacities changed if a level was added; look again from the bottom
	}
}

// compact sorts level h and promotes every other value (starting at a
// random one of the first two) to level h+1 with twice the weight; with an
// odd count, one end value stays behind, so the total weight is unchanged.
func (s *kll) compact(h int) {
	s.compacted = true
	lv := s.levels[h]
	if h == 0 {
		slices.Sort(lv)
	}
	var keep []float64
	if len(lv)%2 == 1 {
		if s.bit() == 0 {
			keep, lv = lv[:1], lv[1:]
		} else {
			keep, lv = lv[len(lv)-1:], lv[:len(lv)-1]
		}
	}
	off := s.bit()
	half := make([]float64, 0, len(lv)/2+1)
	for i := off; i < len(lv); i += 2 {
		half = append(half, lv[i])
	}
	s.levels[h+1] = mergeSorted(s.levels[h+1], half)
	rest := s.levels[h][:0]
	s.levels[h] = append(rest, keep...)
}

// mergeSorted merges two sorted runs into a, growing it in place.
func mergeSorted(a, b []float64) []float64 {
	n := len(a)
	a = append(a, b...)
	// Merge from the back: a[:n] and b into a[:n+len(b)].
	i, j, k := n-1, len(b)-1, len(a)-1
	for j >= 0 {
		if i >= 0 && a[i] > b[j] {
			a[k] = a[i]
			i--
		} else {
			a[k] = b[j]
			j--
		}
		k--
	}
	return a
}

// merge adds o's values to s.
func (s *kll) merge(o *kll) {
	for len(s.levels) < len(o.levels) {
		s.addLevel()
	}
	for h, lv := range o.levels {
		if h == 0 {
			s.levels[0] = append(s.levels[0], lv...)
		} else {
			s.levels[h] = mergeSorted(s.levels[h], lv)
		}
	}
	s.n += o.n
	s.compacted = s.compacted || o.compacted
	s.compress()
}

// weighted is one retained value and its weight.
type weighted struct {
	v float64
	w int64
}

// sorted returns the retained values in order with their weights; the
// weights add up to n.
func (s *kll) sorted() []weighted {
	var out []weighted
	for h, lv := range s.levels {
		for _, v := range lv {
			out = append(out, weighted{v, int64(1) << h})
		}
	}
	slices.SortFunc(out, func(a, b weighted) int {
		switch {
		case a.v < b.v:
			return -1
		case a.v > b.v:
			return 1
		}
		return 0
	})
	return out
}

// quantiles returns, for each q in qs, the smallest retained value whose
// cumulative weight reaches ceil(q·n) — the inverse of the empirical CDF,
// exact while the sketch has never compacted.
func quantilesOf(items []weighted, n int64, qs []float64) []float64 {
	out := make([]float64, len(qs))
	if n == 0 {
		return out
	}
	for i, q := range qs {
		target := max(int64(math.Ceil(q*float64(n))), 1)
		var cum int64
		for _, it := range items {
			cum += it.w
			if cum >= target {
				out[i] = it.v
				break
			}
		}
	}
	return out
}

// addWeighted adds w copies of v, as a compacted sketch would hold them:
// one copy at level h for each bit h set in w. Exact counts of a column
// move into the sketch this way when they overflow.
func (s *kll) addWeighted(v float64, w int64) {
	s.n += w
	for h := 0; w > 0; h, w = h+1, w>>1 {
		if w&1 == 0 {
			continue
		}
		for len(s.levels) <= h {
			s.addLevel()
		}
		if h == 0 {
			s.levels[0] = append(s.levels[0], v)
		} else {
			s.levels[h] = mergeSorted(s.levels[h], []float64{v})
		}
	}
}
