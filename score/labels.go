package score

import (
	"math"
	"strconv"
	"strings"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/tabular"
)

// Labels returns f's label column as numbers: the values themselves for a
// regression (classes nil), else each row's class index in classes (index
// → label text, matched against the column's text). what names the table
// in errors ("training", "validation", "input"). Errors: EINVALID for a
// missing column, a text column in a regression, a missing or non-finite
// label, or a class that classes lacks.
func Labels(f *tabular.Frame, label string, classes []string, what string) ([]float64, error) {
	c := f.Column(label)
	if c == nil {
		return nil, hangar.Errorf(hangar.EINVALID, "label column %q not found in the %s data (columns: %s)", label, what, strings.Join(f.Names(), ", "))
	}
	if classes == nil {
		if c.Kind != tabular.Numeric {
			return nil, hangar.Errorf(hangar.EINVALID, "label column %q is not numeric (e.g. %q); a regression needs numbers", label, c.Str[0])
		}
		for i, v := range c.Float {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, hangar.Errorf(hangar.EINVALID, "label %q in row %d of the %s data is %s; labels must be finite numbers", label, i+1, what, labelText(v))
			}
		}
		return c.Float, nil
	}
	index := map[string]int{}
	for k, s := range classes {
		index[s] = k
	}
	y := make([]float64, c.Len())
	for i := range y {
		if c.IsMissing(i) {
			return nil, hangar.Errorf(hangar.EINVALID, "label %q is missing in row %d of the %s data", label, i+1, what)
		}
		k, ok := index[c.Text(i)]
		if !ok {
			return nil, hangar.Errorf(hangar.EINVALID, "label %q in row %d of the %s data is %q, a class the training data does not have (%s)", label, i+1, what, c.Text(i), strings.Join(classes, ", "))
		}
		y[i] = float64(k)
	}
	return y, nil
}

func labelText(v float64) string {
	if math.IsNaN(v) {
		return "missing (NaN)"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}
