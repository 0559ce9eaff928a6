package linear

import (
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/tabular"
)

// synthetic returns n rows of three features: y = 2·x0 − 3·x1 + 1 (x2 is noise-free but unused).
func synthetic(n int) *Dataset {
	d := &Dataset{Features: []string{"x0", "x1", "x2"}, Columns: make([][]float64, 3), Label: make([]float64, n)}
	for j := range d.Columns {
		d.Columns[j] = make([]float64, n)
	}
	for i := range n {
		x0 := math.Sin(float64(i)) * 3
		x1 := math.Cos(float64(i)*0.7) + 5
		x2 := float64(i%13) / 13
		d.Columns[0][i], d.Columns[1][i], d.Columns[2][i] = x0, x1, x2
		d.Label[i] = 2*x0 - 3*x1 + 1
	}
	return d
}

// raw returns the model's coefficients on the raw (unstandardised) scale
// and the raw intercept.
func raw(m *Model, k int) ([]float64, float64) {
	c := make([]float64, len(m.Features))
	b := m.Intercept[k]
	for j := range c {
		c[j] = m.Coef[k][j] / m.Scale[j]
		b -= c[j] * m.Mean[j]
	}
	return c, b
}

func TestRidgeRecoversCoefficients(t *testing.T) {
	d := synthetic(500)
	for _, l1 := range []float64{0, 1e-9} { // closed form, then FISTA
		p := DefaultParams()
		p.L2, p.L1, p.MaxIter, p.Tol = 1e-9, l1, 20000, 1e-15
		m, err := Train(context.Background(), p, d)
		if err != nil {
			t.Fatal(err)
		}
		c, b := raw(m, 0)
		want := []float64{2, -3, 0}
		for j := range c {
			if math.Abs(c[j]-want[j]) > 1e-3 {
				t.Errorf("l1=%g: coef %d = %v, want %v", l1, j, c[j], want[j])
			}
		}
		if math.Abs(b-1) > 1e-2 {
			t.Errorf("l1=%g: intercept %v, want 1", l1, b)
		}
	}
}

func TestLassoZeroesUselessFeature(t *testing.T) {
	d := synthetic(500)
	p := DefaultParams()
	p.L1 = 0.05
	m, err := Train(context.Background(), p, d)
	if err != nil {
		t.Fatal(err)
	}
	if m.Coef[0][2] != 0 {
		t.Errorf("coef of x2 = %v, want exactly 0 under L1", m.Coef[0][2])
	}
	if m.Coef[0][0] == 0 || m.Coef[0][1] == 0 {
		t.Errorf("useful coefs zeroed: %v", m.Coef[0])
	}
}

func chicago(t *testing.T) (train, test *Dataset) {
	f, err := tabular.ReadFile("../testdata/chicago/chicago.csv")
	if err != nil {
		t.Fatal(err)
	}
	var tr, te []int
	for i, d := range f.Column("date").Str {
		if d < "2014-01-01" {
			tr = append(tr, i)
		} else {
			te = append(te, i)
		}
	}
	names := f.Drop("date", "ridership").Names()
	mk := func(rows []int) *Dataset {
		sub := f.Take(rows)
		cols, _ := sub.Features(names)
		y, _ := sub.Float("ridership")
		return &Dataset{Features: names, Columns: cols, Label: y}
	}
	return mk(tr), mk(te)
}

func accuracy(m *Model, d *Dataset, class func(out []float64) float64) float64 {
	out := make([]float64, m.NumOutputs())
	row := make([]float64, len(d.Columns))
	ok := 0
	for i := range d.Label {
		for j, c := range d.Columns {
			row[j] = c[i]
		}
		m.Predict(row, out)
		if class(out) == d.Label[i] {
			ok++
		}
	}
	return float64(ok) / float64(len(d.Label))
}

func TestChicagoLogistic(t *testing.T) {
	train, test := chicago(t)
	s := append([]float64(nil), train.Label...)
	med := median(s)
	for _, d := range []*Dataset{train, test} {
		for i, v := range d.Label {
			d.Label[i] = 0
			if v > med {
				d.Label[i] = 1
			}
		}
	}
	p := DefaultParams()
	p.Objective = hangar.ObjectiveBinaryLogistic
	m, err := Train(context.Background(), p, train)
	if err != nil {
		t.Fatal(err)
	}
	acc := accuracy(m, test, func(o []float64) float64 {
		if o[0] >= 0.5 {
			return 1
		}
		return 0
	})
	if acc < 0.85 {
		t.Errorf("test accuracy %.3f, want >= 0.85", acc)
	}
	// Optimality: the penalised gradient vanishes at the solution.
	X := (&Model{}).standardise(train.Columns)
	nf := len(train.Features)
	w := append(append([]float64(nil), m.Coef[0]...), m.Intercept[0])
	g := make([]float64, nf+1)
	lossGrad(X, train.Label, nf, 1, hangar.ObjectiveBinaryLogistic, w, g)
	norm := 0.0
	for j := range g {
		if j < nf {
			g[j] += p.L2 * w[j]
		}
		norm = max(norm, math.Abs(g[j]))
	}
	if norm > 1e-3 {
		t.Errorf("gradient at the solution has max |g| = %g, want < 1e-3", norm)
	}
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	for i := range s { // insertion sort is fine for a test
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s[len(s)/2]
}

func TestMultinomial(t *testing.T) {
	n := 600
	d := &Dataset{Features: []string{"a", "b"}, Columns: [][]float64{make([]float64, n), make([]float64, n)}, Label: make([]float64, n)}
	centres := [][2]float64{{0, 0}, {4, 0}, {0, 4}}
	for i := range n {
		c := i % 3
		d.Columns[0][i] = centres[c][0] + math.Sin(float64(i)*1.3)
		d.Columns[1][i] = centres[c][1] + math.Cos(float64(i)*0.9)
		d.Label[i] = float64(c)
	}
	d.Columns[0][5] = math.NaN() // missing → the mean
	p := DefaultParams()
	p.Objective = hangar.ObjectiveMultiSoftmax
	m, err := Train(context.Background(), p, d)
	if err != nil {
		t.Fatal(err)
	}
	if m.NumClass != 3 {
		t.Fatalf("num_class %d, want 3", m.NumClass)
	}
	acc := accuracy(m, d, func(o []float64) float64 {
		s := o[0] + o[1] + o[2]
		if math.Abs(s-1) > 1e-9 {
			t.Fatalf("probabilities sum to %v", s)
		}
		best := 0
		for k := range o {
			if o[k] > o[best] {
				best = k
			}
		}
		return float64(best)
	})
	if acc < 0.97 {
		t.Errorf("accuracy %.3f, want >= 0.97", acc)
	}
}

func TestWriteLoad(t *testing.T) {
	d := synthetic(50)
	m, err := Train(context.Background(), DefaultParams(), d)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "model")
	if err := m.Write(dir); err != nil {
		t.Fatal(err)
	}
	back, err := ReadFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	a, b := make([]float64, 1), make([]float64, 1)
	row := []float64{1, 2, math.NaN()}
	m.Predict(row, a)
	back.Predict(row, b)
	if a[0] != b[0] {
		t.Errorf("prediction after reload %v, want %v", b[0], a[0])
	}
	for _, bad := range []string{`{}`, `{"format":"hangar-linear","features":["a"],"mean":[],"scale":[1],"coef":[[1]],"intercept":[0]}`, `nope`} {
		if _, err := Load(strings.NewReader(bad)); hangar.ErrorCode(err) != hangar.EINVALID {
			t.Errorf("Load(%s): got %v, want EINVALID", bad, err)
		}
	}
}

func TestTrainErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		obj   string
		label []float64
		want  string
	}{
		"nan label":   {hangar.ObjectiveRegSquaredError, []float64{1, math.NaN()}, "finite"},
		"binary 2":    {hangar.ObjectiveBinaryLogistic, []float64{0, 2}, "0 or 1"},
		"multi frac":  {hangar.ObjectiveMultiSoftmax, []float64{0, 0.5}, "0..K-1"},
		"objective":   {"rank:pairwise", []float64{0, 1}, "unknown objective"},
		"empty":       {hangar.ObjectiveRegSquaredError, nil, "empty"},
		"multi 1 cls": {hangar.ObjectiveMultiSoftmax, []float64{0, 0}, "one class"},
	} {
		t.Run(name, func(t *testing.T) {
			cols := [][]float64{make([]float64, len(tc.label))}
			p := DefaultParams()
			p.Objective = tc.obj
			_, err := Train(context.Background(), p, &Dataset{Features: []string{"a"}, Columns: cols, Label: tc.label})
			if hangar.ErrorCode(err) != hangar.EINVALID || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want EINVALID mentioning %q", err, tc.want)
			}
		})
	}
}
