package tabular

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hangar-ml/hangar"
)

func TestSplitByDate(t *testing.T) {
	f, err := ReadCSV(strings.NewReader("day,x\n2013-12-31,1\n2014-01-01,2\n2013-06-01T10:00:00Z,3\n2014-02-01 00:00:00,4\n"))
	if err != nil {
		t.Fatal(err)
	}
	cut := time.Date(2014, 1, 1, 0, 0, 0, 0, time.UTC)
	train, test, err := SplitByDate(f, "day", cut)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(train, []int{0, 2}) || !slices.Equal(test, []int{1, 3}) {
		t.Errorf("got train %v test %v, want [0 2] and [1 3]", train, test)
	}
	for name, tc := range map[string]struct {
		csv, column string
		code, want  string
	}{
		"no column":  {"day\n2014-01-01\n", "date", hangar.ENOTFOUND, `date column "date" not found (columns: day)`},
		"empty date": {"day,x\n2014-01-01,1\n,2\n", "day", hangar.EINVALID, `date column "day" is empty in row 2`},
		"bad date":   {"day\n2014-01-01\nyesterday\n", "day", hangar.EINVALID, `date column "day" row 2: "yesterday" is not a date`},
		"numbers":    {"day\n1\n", "day", hangar.EINVALID, `date column "day" row 1: "1" is not a date`},
	} {
		t.Run(name, func(t *testing.T) {
			f, err := ReadCSV(strings.NewReader(tc.csv))
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = SplitByDate(f, tc.column, cut)
			if hangar.ErrorCode(err) != tc.code || !strings.Contains(hangar.ErrorMessage(err), tc.want) {
				t.Errorf("got %v, want %s containing %q", err, tc.code, tc.want)
			}
		})
	}
}

func TestSplitRandom(t *testing.T) {
	train, test := SplitRandom(10, 0.7, 3)
	if len(train) != 7 || len(test) != 3 || !slices.IsSorted(train) || !slices.IsSorted(test) {
		t.Fatalf("got train %v test %v, want 7 and 3 sorted rows", train, test)
	}
	all := slices.Sorted(slices.Values(append(slices.Clone(train), test...)))
	if diff := cmp.Diff([]int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, all); diff != "" {
		t.Errorf("rows lost or repeated (-want +got):\n%s", diff)
	}
	again, _ := SplitRandom(10, 0.7, 3)
	other, _ := SplitRandom(10, 0.7, 4)
	if !slices.Equal(train, again) || slices.Equal(train, other) {
		t.Errorf("seed 3 twice: %v, %v; seed 4: %v — want the same, then a different split", train, again, other)
	}
	// The Chicago table's 0.8 split with seed 7, pinned: a change of the
	// generator would silently change every saved split.
	chiTrain, chiTest := SplitRandom(5698, 0.8, 7)
	if want := []int{11, 14, 21, 22, 24, 28, 34, 41}; len(chiTrain) != 4558 || !slices.Equal(chiTest[:8], want) {
		t.Errorf("Chicago split: %d training rows, test rows start %v; want 4558 and %v", len(chiTrain), chiTest[:8], want)
	}
	for _, ratio := range []float64{0, -1, 1, 2} {
		tr, te := SplitRandom(4, ratio, 1)
		if len(tr)+len(te) != 4 || (ratio >= 1) != (len(tr) == 4) {
			t.Errorf("ratio %v: %d train, %d test", ratio, len(tr), len(te))
		}
	}
}
