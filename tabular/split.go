package tabular

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/hangar-ml/hangar"
)

// SplitByDate splits f's rows by the date in column: rows dated before
// `before` go to train, the others to test, each in row order. Every value
// must parse with ParseTime. Errors: ENOTFOUND when the column is absent;
// EINVALID for an empty or unparsable date, naming the row (1-based, after
// the header).
func SplitByDate(f *Frame, column string, before time.Time) (train, test []int, err error) {
	c := f.Column(column)
	if c == nil {
		return nil, nil, hangar.Errorf(hangar.ENOTFOUND, "date column %q not found (columns: %s)", column, strings.Join(f.Names(), ", "))
	}
	for i := range c.Len() {
		if c.IsMissing(i) {
			return nil, nil, hangar.Errorf(hangar.EINVALID, "date column %q is empty in row %d", column, i+1)
		}
		t, err := ParseTime(c.Text(i))
		if err != nil {
			return nil, nil, hangar.Errorf(hangar.EINVALID, "date column %q row %d: %s", column, i+1, hangar.ErrorMessage(err))
		}
		if t.Before(before) {
			train = append(train, i)
		} else {
			test = append(test, i)
		}
	}
	return train, test, nil
}

// SplitRandom splits the row indices 0..n-1 at random: round(ratio·n) of
// them to train, the rest to test, each in ascending order. The same seed
// gives the same split. A ratio outside (0, 1) sends every row to one side
// (NaN: to test).
func SplitRandom(n int, ratio float64, seed uint64) (train, test []int) {
	perm := rand.New(rand.NewPCG(seed, 0x5eed)).Perm(n)
	k := 0
	switch {
	case ratio >= 1:
		k = n
	case ratio > 0:
		k = int(math.Round(ratio * float64(n)))
	}
	train, test = perm[:k], perm[k:]
	slices.Sort(train)
	slices.Sort(test)
	return train, test
}
