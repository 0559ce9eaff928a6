package gbdt

import (
	"math"
	"slices"
	"sort"
)

// cutsFor returns the bin boundaries of one feature: ascending float32
// values c such that bin(v) = #{c <= v}. With at most maxBin distinct values
// every value gets its own bin (the boundaries are the values themselves, as
// XGBoost's split conditions are); otherwise the boundaries are the values
// at maxBin-quantiles. Missing values (NaN) are left out.
func cutsFor(col []float64, maxBin int, scratch []float64) []float64 {
	vals := scratch[:0]
	for _, v := range col {
		if !math.IsNaN(v) {
			vals = append(vals, float64(float32(v)))
		}
	}
	if len(vals) == 0 {
		return nil
	}
	slices.Sort(vals)
	uniq := slices.Compact(slices.Clone(vals))
	if len(uniq) <= maxBin {
		return slices.Clone(uniq[1:])
	}
	cuts := make([]float64, 0, maxBin)
	for i := 1; i < maxBin; i++ {
		c := vals[i*len(vals)/maxBin]
		if c > vals[0] && (len(cuts) == 0 || c > cuts[len(cuts)-1]) {
			cuts = append(cuts, c)
		}
	}
	return cuts
}

// binOf returns the bin of v, or missing for NaN.
func binOf(cuts []float64, v float64, missing int) int {
	if math.IsNaN(v) {
		return missing
	}
	x := float64(float32(v))
	return sort.Search(len(cuts), func(i int) bool { return cuts[i] > x })
}

// binned is a feature matrix cut into bins, column-major: feature f of row
// i is at f*n+i. Bin nbins[f] of feature f stands for a missing value. One
// byte per value when every feature has at most 255 bins, else two.
type binned struct {
	n     int
	nbins []int // real bins per feature (len(cuts)+1)
	u8    []uint8
	u16   []uint16
}

func newBinned(cols [][]float64, cuts [][]float64, wide bool) *binned {
	n := 0
	if len(cols) > 0 {
		n = len(cols[0])
	}
	b := &binned{n: n, nbins: make([]int, len(cols))}
	if wide {
		b.u16 = make([]uint16, n*len(cols))
	} else {
		b.u8 = make([]uint8, n*len(cols))
	}
	for f, col := range cols {
		nb := len(cuts[f]) + 1
		b.nbins[f] = nb
		for i, v := range col {
			bin := binOf(cuts[f], v, nb)
			if wide {
				b.u16[f*n+i] = uint16(bin)
			} else {
				b.u8[f*n+i] = uint8(bin)
			}
		}
	}
	return b
}

// at returns the bin of row i for feature f.
func (b *binned) at(f, i int) int {
	if b.u8 != nil {
		return int(b.u8[f*b.n+i])
	}
	return int(b.u16[f*b.n+i])
}

// histFeature adds the gradients of rows into h, one feature's histogram;
// grad[i] is the gradient of rows[i].
func (b *binned) histFeature(f int, rows []int32, grad []gpair, h []gpair) {
	if b.u8 != nil {
		accumulate(b.u8[f*b.n:(f+1)*b.n], rows, grad, h)
		return
	}
	accumulate(b.u16[f*b.n:(f+1)*b.n], rows, grad, h)
}

func accumulate[T uint8 | uint16](col []T, rows []int32, grad []gpair, h []gpair) {
	grad = grad[:len(rows)]
	for i, r := range rows {
		g := grad[i]
		e := &h[col[r]]
		e.g += g.g
		e.h += g.h
	}
}
