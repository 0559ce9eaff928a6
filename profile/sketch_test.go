package profile

import (
	"bytes"
	"math"
	"slices"
	"sort"
	"testing"

	"github.com/hangar-ml/hangar/tabular"
)

// rankOff returns how many ranks v is from target in sorted.
func rankOff(sorted []float64, v float64, target int) int {
	lo := sort.SearchFloat64s(sorted, v)
	hi := sort.Search(len(sorted), func(i int) bool { return sorted[i] > v })
	switch {
	case target <= lo:
		return lo + 1 - target
	case target > hi:
		return target - hi
	}
	return 0
}

// TestKLLRankError checks the stated rank error on real columns (Chicago's
// ridership and temperature, repeated 40 times in file order, ≈ 228,000
// values) and on a million generated log-normal values, each as one sketch
// and as seven sketches merged.
func TestKLLRankError(t *testing.T) {
	f, err := tabular.ReadCSV(bytes.NewReader(chicago(t)))
	if err != nil {
		t.Fatal(err)
	}
	streams := map[string][]float64{}
	for _, name := range []string{"ridership", "temp", "Clark_Lake"} {
		col, err := f.Float(name)
		if err != nil {
			t.Fatal(err)
		}
		for range 40 {
			streams[name] = append(streams[name], col...)
		}
	}
	n := 1_000_000
	if testing.Short() || raceEnabled {
		n = 200_000
	}
	state := uint64(7)
	uniform := func() float64 {
		state ^= state << 13
		state ^= state >> 7
		state ^= state << 17
		return (float64(state>>11) + 0.5) / (1 << 53)
	}
	for range n {
		// Box–Muller, then exp: a skewed, heavy-tailed stream.
		z := math.Sqrt(-2*math.Log(uniform())) * math.Cos(2*math.Pi*uniform())
		streams["lognormal"] = append(streams["lognormal"], math.Exp(z))
	}
	for name, vals := range streams {
		sorted := slices.Sorted(slices.Values(vals))
		one := newKLL()
		parts := make([]*kll, 7)
		for i := range parts {
			parts[i] = newKLL()
		}
		for i, v := range vals {
			one.add(v)
			parts[i*7/len(vals)].add(v)
		}
		merged := parts[0]
		for _, p := range parts[1:] {
			merged.merge(p)
		}
		for label, s := range map[string]*kll{"one": one, "merged": merged} {
			if s.n != int64(len(vals)) || !s.compacted {
				t.Fatalf("%s %s: n %d compacted %v", name, label, s.n, s.compacted)
			}
			items := s.sorted()
			if len(items) > 4*kllK {
				t.Errorf("%s %s: keeps %d values, want at most %d", name, label, len(items), 4*kllK)
			}
			var qs []float64
			for q := 0.01; q < 1; q += 0.01 {
				qs = append(qs, q)
			}
			worst := 0
			for i, v := range quantilesOf(items, s.n, qs) {
				target := max(int(math.Ceil(qs[i]*float64(len(vals)))), 1)
				worst = max(worst, rankOff(sorted, v, target))
			}
			bound := kllRankError * float64(len(vals))
			t.Logf("%s %s: worst rank error %d of %d (%.4f %%), bound %.0f", name, label, worst, len(vals), 100*float64(worst)/float64(len(vals)), bound)
			if float64(worst) > bound {
				t.Errorf("%s %s: rank error %d above the bound %.0f", name, label, worst, bound)
			}
		}
	}
}

func TestHLLEstimate(t *testing.T) {
	for _, n := range []int{1, 10, 1000, 30_000, 100_000, 1_000_000} {
		var h, a, b hll
		for i := range n {
			x := hashFloat(float64(i))
			h.add(x)
			if i%2 == 0 {
				a.add(x)
			} else {
				b.add(x)
			}
		}
		a.merge(&b)
		for _, got := range []int64{h.estimate(), a.estimate()} {
			if math.Abs(float64(got-int64(n))) > hllRelError*float64(n)+1 {
				t.Errorf("%d distinct: got %d", n, got)
			}
		}
	}
}

// TestFrequentBound: every kept count is low by at most err, err is at
// most n/(k+1), and a value more frequent than err is kept — alone and
// after a merge.
func TestFrequentBound(t *testing.T) {
	state := uint64(3)
	var vals []string
	for range 300_000 {
		state = state*6364136223846793005 + 1442695040888963407
		// A Zipf-like stream: a few heavy values, many rare ones.
		r := int(state>>33) % 100_000
		v := r
		if r < 50_000 {
			v = r % 20
		}
		vals = append(vals, tabular.FormatFloat(float64(v)))
	}
	truth := map[string]int64{}
	for _, v := range vals {
		truth[v]++
	}
	one, a, b := newFrequent(), newFrequent(), newFrequent()
	add := func(f *frequent, s string) {
		if !f.add(s) {
			f.decrement()
		}
	}
	for i, v := range vals {
		add(one, v)
		if i < len(vals)/3 {
			add(a, v)
		} else {
			add(b, v)
		}
	}
	a.merge(b)
	for label, f := range map[string]*frequent{"one": one, "merged": a} {
		if limit := int64(len(vals)) / (mgK + 1); f.err > limit || f.err == 0 {
			t.Errorf("%s: err %d, want in (0, %d]", label, f.err, limit)
		}
		if len(f.counts) > mgK {
			t.Errorf("%s: keeps %d values", label, len(f.counts))
		}
		for v, want := range truth {
			got := f.counts[v]
			if got > want || got < want-f.err || (want > f.err && got == 0) {
				t.Errorf("%s: %q got %d, want %d (err %d)", label, v, got, want, f.err)
			}
		}
	}
}
