package profile

import (
	"cmp"
	"math"
	"math/bits"
	"slices"
)

// hllP is the HyperLogLog precision: 2^14 one-byte registers (16 KiB per
// column), a standard error of 1.04/√2^14 ≈ 0.8 %.
const hllP = 14

// hllRelError is the relative error stated for a distinct estimate: three
// standard errors of the estimator.
const hllRelError = 3 * 1.04 / 128

// hll is a HyperLogLog distinct counter over 64-bit hashes, with linear
// counting for small cardinalities (Flajolet et al. 2007; Heule et al. 2013
// without the empirical bias table). Merging takes the register maximum.
type hll struct {
	reg [1 << hllP]uint8
}

func (h *hll) add(x uint64) {
	i := x >> (64 - hllP)
	w := x<<hllP | 1<<(hllP-1) // the guard bit caps the run of zeros
	if r := uint8(bits.LeadingZeros64(w) + 1); r > h.reg[i] {
		h.reg[i] = r
	}
}

func (h *hll) merge(o *hll) {
	for i, r := range o.reg {
		if r > h.reg[i] {
			h.reg[i] = r
		}
	}
}

func (h *hll) estimate() int64 {
	const m = float64(1 << hllP)
	var sum float64
	zeros := 0
	for _, r := range h.reg {
		sum += math.Ldexp(1, -int(r))
		if r == 0 {
			zeros++
		}
	}
	e := 0.7213 / (1 + 1.079/m) * m * m / sum
	if e <= 2.5*m && zeros > 0 {
		e = m * math.Log(m/float64(zeros))
	}
	return int64(math.Round(e))
}

// mix64 is MurmurHash3's 64-bit finaliser: every input bit affects every
// output bit, so the top bits pick HyperLogLog registers evenly.
func mix64(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}

// hashString is FNV-1a over the bytes, then mixed.
func hashString(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return mix64(h)
}

// hashFloat hashes a number by value, so 1, 1.0 and 1e0 are one value.
func hashFloat(v float64) uint64 {
	if v == 0 {
		v = 0 // -0 is 0
	}
	return mix64(math.Float64bits(v) ^ 0x5bd1e9955bd1e995)
}

// mgK is how many counters a frequent-items summary keeps; a column with
// at most mgK distinct values is counted exactly.
const mgK = 1024

// frequent is a Misra–Gries frequent-items summary (mergeable as in Agarwal
// et al. 2012) over text values. Every kept count is a lower bound of the
// true count, low by at most err, and err ≤ n/(mgK+1) for n values counted;
// a value whose true count exceeds err is kept. err == 0 means exact.
type frequent struct {
	counts map[string]int64
	err    int64
}

func newFrequent() *frequent { return &frequent{counts: make(map[string]int64)} }

// add counts one occurrence of s. s is kept as a map key without copying:
// the caller hands over strings it does not reuse. It returns false, and
// does nothing, when s is new, the summary full and still exact: the
// caller then calls decrement, after noting what it needs of the exact
// counts.
func (f *frequent) add(s string) bool {
	if c, ok := f.counts[s]; ok {
		f.counts[s] = c + 1
		return true
	}
	if len(f.counts) < mgK {
		f.counts[s] = 1
		return true
	}
	if f.err == 0 {
		return false
	}
	f.decrement()
	return true
}

// decrement counts a new value when the summary is full: it and one
// occurrence of every kept value cancel out.
func (f *frequent) decrement() {
	f.err++
	for k, c := range f.counts {
		if c == 1 {
			delete(f.counts, k)
		} else {
			f.counts[k] = c - 1
		}
	}
}

// merge adds o's counts and, when more than mgK values remain, subtracts
// the (mgK+1)-th largest count from every count, keeping the positive ones.
func (f *frequent) merge(o *frequent) {
	for k, c := range o.counts {
		f.counts[k] += c
	}
	f.err += o.err
	if len(f.counts) <= mgK {
		return
	}
	cs := make([]int64, 0, len(f.counts))
	for _, c := range f.counts {
		cs = append(cs, c)
	}
	slices.SortFunc(cs, func(a, b int64) int { return cmp.Compare(b, a) })
	cut := cs[mgK]
	for k, c := range f.counts {
		if c <= cut {
			delete(f.counts, k)
		} else {
			f.counts[k] = c - cut
		}
	}
	f.err += cut
}

// rawCap is how many finite values a column holds as they are before
// they go to the quantile sketch: tables up to this many rows get exact
// quantiles and histograms whatever their values.
const rawCap = 16384

// valueCap is how many distinct numbers a column's exact value counts
// hold; past it they are dropped and the sketches answer alone.
const valueCap = 1024

// valueTable counts up to valueCap distinct numbers exactly: open
// addressing on the float's bits, cheaper than a Go map on the hot path.
// -0 is counted as 0; NaN never enters. It also keeps how each number was
// written (the first spelling, and whether another one was seen), so that
// a column that turns out to be text can count its values by their text.
type valueTable struct {
	keys   [2 * valueCap]uint64
	counts [2 * valueCap]int64 // 0: empty slot
	texts  [2 * valueCap]string
	mixed  [2 * valueCap]bool // written in more than one way ("1" and "1.0")
	n      int
}

func (t *valueTable) slot(bits uint64) int {
	const mask = 2*valueCap - 1
	i := int(mix64(bits) & mask)
	for t.counts[i] != 0 && t.keys[i] != bits {
		i = (i + 1) & mask
	}
	return i
}

// add counts v, written as text, w times, or returns false, changing
// nothing, when v is new and the table holds valueCap values already.
func (t *valueTable) add(v float64, text string, w int64) bool {
	if v == 0 {
		v = 0
	}
	bits := math.Float64bits(v)
	i := t.slot(bits)
	if t.counts[i] == 0 {
		if t.n == valueCap {
			return false
		}
		t.keys[i], t.texts[i] = bits, text
		t.n++
	} else if !t.mixed[i] && t.texts[i] != text {
		t.mixed[i] = true
	}
	t.counts[i] += w
	return true
}

// each calls fn for every value, its count, its spelling and whether it
// had others.
func (t *valueTable) each(fn func(v float64, n int64, text string, mixed bool)) {
	for i, n := range t.counts {
		if n != 0 {
			fn(math.Float64frombits(t.keys[i]), n, t.texts[i], t.mixed[i])
		}
	}
}

// merge adds o's counts to t, or returns false, changing nothing, when the
// union would hold more than valueCap values.
func (t *valueTable) merge(o *valueTable) bool {
	fresh := 0
	o.each(func(v float64, _ int64, _ string, _ bool) {
		if t.counts[t.slot(math.Float64bits(v))] == 0 {
			fresh++
		}
	})
	if t.n+fresh > valueCap {
		return false
	}
	o.each(func(v float64, n int64, text string, mixed bool) {
		t.add(v, text, n)
		if mixed {
			t.mixed[t.slot(math.Float64bits(v))] = true
		}
	})
	return true
}
