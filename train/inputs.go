package train

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/score"
	"github.com/hangar-ml/hangar/tabular"
)

// Inputs are the columns a trainer takes from its tables.
type Inputs struct {
	Label    string
	Features []string
	// Classes maps class indices to label text for a classification
	// objective; nil for a regression.
	Classes []string
	// Mapped reports that the labels were not already 0..K-1 (text, or
	// numbers such as -1/1) and were mapped to Classes in sorted order; the
	// model folder then records the mapping.
	Mapped bool
}

// Prepare resolves the inputs of a training on the training table: the
// feature columns (features, or every column but the label and drop) and,
// for a classification objective, the classes. Errors: EINVALID naming the
// column at fault — an absent label or feature, a text feature, a feature
// named twice, missing or non-finite labels, a single class, more than two
// classes for binary:logistic.
func Prepare(train *tabular.Frame, label, objective string, features, drop []string) (*Inputs, error) {
	in := &Inputs{Label: label}
	var err error
	if in.Features, err = chooseFeatures(train, label, features, drop); err != nil {
		return nil, err
	}
	if hangar.IsClassification(objective) {
		if in.Classes, in.Mapped, err = labelClasses(train.Column(label), objective == hangar.ObjectiveBinaryLogistic); err != nil {
			return nil, err
		}
		if len(in.Classes) < 2 {
			return nil, invalidf("label %q holds one class only (%s); classification needs at least 2", label, in.Classes[0])
		}
	}
	return in, nil
}

// Labels returns f's label column as numbers: the values for a
// regression, class indices for a classification. what names the table in
// errors ("training", "validation"). Errors: as score.Labels.
func (in *Inputs) Labels(f *tabular.Frame, what string) ([]float64, error) {
	return score.Labels(f, in.Label, in.Classes, what)
}

func invalidf(format string, args ...any) error {
	return hangar.Errorf(hangar.EINVALID, format, args...)
}

// prepare reads the training (and validation) tables and resolves the
// inputs on them.
func prepare(o Options, objective string) (in *Inputs, train, valid *tabular.Frame, err error) {
	if o.Label == "" {
		return nil, nil, nil, invalidf("--label is required")
	}
	if train, err = readTable(o.Train, "train"); err != nil {
		return nil, nil, nil, err
	}
	if train.NumRows() == 0 {
		return nil, nil, nil, invalidf("--train %s has no rows", o.Train)
	}
	if in, err = Prepare(train, o.Label, objective, o.Features, o.Drop); err != nil {
		return nil, nil, nil, err
	}
	if o.Valid != "" {
		if valid, err = readTable(o.Valid, "valid"); err != nil {
			return nil, nil, nil, err
		}
		if valid.NumRows() == 0 {
			return nil, nil, nil, invalidf("--valid %s has no rows", o.Valid)
		}
	}
	return in, train, valid, nil
}

// readTable reads a CSV or Parquet file, naming the input in its errors.
func readTable(path, input string) (*tabular.Frame, error) {
	if path == "" {
		return nil, invalidf("--%s is required", input)
	}
	f, err := tabular.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--%s: %w", input, err)
	}
	return f, nil
}

// chooseFeatures picks the feature columns: features, or every column but
// the label and drop. Text columns are an error naming them.
func chooseFeatures(f *tabular.Frame, label string, features, drop []string) ([]string, error) {
	if f.Column(label) == nil {
		return nil, invalidf("label column %q not found in the training data (columns: %s)", label, strings.Join(f.Names(), ", "))
	}
	for _, d := range drop {
		if f.Column(d) == nil {
			return nil, invalidf("--drop-columns: column %q not found", d)
		}
	}
	if len(features) == 0 {
		for _, n := range f.Names() {
			if n != label && !slices.Contains(drop, n) {
				features = append(features, n)
			}
		}
	}
	if len(features) == 0 {
		return nil, invalidf("no feature columns left after the label and --drop-columns")
	}
	var text []string
	seen := map[string]bool{}
	for _, n := range features {
		c := f.Column(n)
		switch {
		case c == nil:
			return nil, invalidf("feature column %q not found (columns: %s)", n, strings.Join(f.Names(), ", "))
		case n == label:
			return nil, invalidf("the label column %q cannot also be a feature", n)
		case seen[n]:
			return nil, invalidf("--features names %q twice", n)
		case c.Kind != tabular.Numeric:
			text = append(text, n)
		}
		seen[n] = true
	}
	if len(text) > 0 {
		ex := ""
		for _, s := range f.Column(text[0]).Str {
			if s != "" {
				ex = s
				break
			}
		}
		if len(text) == 1 {
			return nil, invalidf("feature column %q is not numeric (e.g. %q); drop it with --drop-columns %s or choose --features", text[0], ex, text[0])
		}
		return nil, invalidf("%d feature columns are not numeric (%s; e.g. %q in %s): drop them with --drop-columns %s or choose --features",
			len(text), strings.Join(text, ", "), ex, text[0], strings.Join(text, ","))
	}
	return features, nil
}

// labelClasses decides how the label column becomes class indices for a
// classification objective. Labels that are already 0..K-1 (0/1 for binary)
// are kept; any other labels (text, or numbers such as 1..3 or -1/1) are
// mapped in sorted order to 0..K-1 and the mapping is recorded.
func labelClasses(c *tabular.Column, binary bool) (classes []string, mapped bool, err error) {
	seen := map[string]bool{}
	numericOK := c.Kind == tabular.Numeric
	maxV := -1.0
	for i := range c.Len() {
		if c.IsMissing(i) {
			return nil, false, invalidf("label %q is missing in row %d", c.Name, i+1)
		}
		if c.Kind == tabular.Numeric {
			v := c.Float[i]
			if math.IsInf(v, 0) {
				return nil, false, invalidf("label %q in row %d is %v; labels must be finite", c.Name, i+1, v)
			}
			if v < 0 || v != math.Trunc(v) {
				numericOK = false
			}
			maxV = max(maxV, v)
		}
		seen[c.Text(i)] = true
	}
	if numericOK && len(seen) == int(maxV)+1 && (!binary || maxV <= 1) {
		for k := 0; k <= int(maxV); k++ {
			classes = append(classes, strconv.Itoa(k))
		}
		return classes, false, nil
	}
	for s := range seen {
		classes = append(classes, s)
	}
	if c.Kind == tabular.Numeric {
		sort.Slice(classes, func(a, b int) bool {
			x, _ := strconv.ParseFloat(classes[a], 64)
			y, _ := strconv.ParseFloat(classes[b], 64)
			return x < y
		})
	} else {
		sort.Strings(classes)
	}
	if binary && len(classes) > 2 {
		return nil, false, invalidf("binary:logistic needs two classes, label %q has %d (%s…); use multi:softprob", c.Name, len(classes), strings.Join(classes[:3], ", "))
	}
	return classes, true, nil
}
