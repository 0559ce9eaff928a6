package profile

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/internal/sampledata"
	"github.com/hangar-ml/hangar/tabular"
)

// checkAgainstExact holds a profile to the same statistics computed
// exactly from the whole table as tabular reads it: exact parts must be
// equal, estimates within their stated bounds. csvData, when the table is
// CSV, gives the text columns' values as written (tabular rewrites the
// numbers read before a column turned out to be text).
func checkAgainstExact(t *testing.T, p *Profile, f *tabular.Frame, csvData []byte) {
	t.Helper()
	var raw [][]string
	if csvData != nil {
		cr := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(csvData, []byte("\ufeff"))))
		recs, err := cr.ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		raw = make([][]string, len(f.Columns))
		for _, rec := range recs[1:] {
			for j, s := range rec {
				if tabular.IsMissing(s) || isNaNText(s) {
					s = ""
				}
				raw[j] = append(raw[j], s)
			}
		}
	}
	if err := p.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if got, want := p.Rows, int64(f.NumRows()); got != want {
		t.Fatalf("rows: got %d, want %d", got, want)
	}
	if got, want := len(p.Columns), len(f.Columns); got != want {
		t.Fatalf("columns: got %d, want %d", got, want)
	}
	for j, fc := range f.Columns {
		pc := &p.Columns[j]
		if pc.Name != fc.Name {
			t.Fatalf("column %d: got name %q, want %q", j, pc.Name, fc.Name)
		}
		text := fc.Str
		if raw != nil {
			text = raw[j]
		}
		var missing int64
		for i := range fc.Len() {
			if fc.IsMissing(i) || (fc.Kind == tabular.String && text[i] == "") {
				missing++
			}
		}
		if pc.Missing != missing || pc.Count != int64(fc.Len())-missing {
			t.Errorf("%s: got count %d missing %d, want %d %d", fc.Name, pc.Count, pc.Missing, int64(fc.Len())-missing, missing)
		}
		numeric := pc.Type == Integer || pc.Type == Number
		if numeric != (fc.Kind == tabular.Numeric) {
			t.Errorf("%s: got type %s, tabular reads it as %s", fc.Name, pc.Type, fc.Kind)
			continue
		}
		if numeric {
			checkNumeric(t, pc, fc.Float)
		} else {
			checkText(t, pc, text)
		}
	}
}

func checkNumeric(t *testing.T, pc *Column, col []float64) {
	t.Helper()
	var finite []float64
	var inf int64
	distinct := map[float64]bool{}
	text := map[string]int64{}
	for _, v := range col {
		if math.IsNaN(v) {
			continue
		}
		distinct[v] = true
		text[tabular.FormatFloat(v)]++
		if math.IsInf(v, 0) {
			inf++
			continue
		}
		finite = append(finite, v)
	}
	checkDistinct(t, pc, len(distinct))
	if pc.Count == 0 {
		if pc.Numeric != nil || pc.Histogram != nil {
			t.Errorf("%s: statistics without values", pc.Name)
		}
		return
	}
	n := pc.Numeric
	if n == nil {
		t.Fatalf("%s: no numeric statistics", pc.Name)
	}
	if n.Finite != int64(len(finite)) || n.Infinite != inf {
		t.Errorf("%s: got finite %d infinite %d, want %d %d", pc.Name, n.Finite, n.Infinite, len(finite), inf)
	}
	if len(finite) == 0 {
		return
	}
	sorted := slices.Sorted(slices.Values(finite))
	var sum float64
	for _, v := range finite {
		sum += v
	}
	mean := sum / float64(len(finite))
	var ss float64
	for _, v := range finite {
		ss += (v - mean) * (v - mean)
	}
	std := 0.0
	if len(finite) > 1 {
		std = math.Sqrt(ss / float64(len(finite)-1))
	}
	if n.Min != sorted[0] || n.Max != sorted[len(sorted)-1] {
		t.Errorf("%s: got min %v max %v, want %v %v", pc.Name, n.Min, n.Max, sorted[0], sorted[len(sorted)-1])
	}
	tol := 1e-9 * max(1, math.Abs(mean), std)
	if math.Abs(n.Mean-mean) > tol || math.Abs(n.Std-std) > tol {
		t.Errorf("%s: got mean %v std %v, want %v %v", pc.Name, n.Mean, n.Std, mean, std)
	}
	nf := len(sorted)
	for _, q := range n.Quantiles {
		target := max(int(math.Ceil(q.P*float64(nf))), 1)
		if n.RankError == 0 {
			if want := sorted[target-1]; q.Value != want {
				t.Errorf("%s: quantile %v got %v, want %v (exact)", pc.Name, q.P, q.Value, want)
			}
			continue
		}
		lo := sort.SearchFloat64s(sorted, q.Value) // values < v
		hi := sort.Search(nf, func(i int) bool { return sorted[i] > q.Value })
		off := 0
		if target <= lo {
			off = lo + 1 - target
		} else if target > hi {
			off = target - hi
		}
		if float64(off) > n.RankError*float64(nf)+1 {
			t.Errorf("%s: quantile %v = %v is %d ranks off, bound %.0f", pc.Name, q.P, q.Value, off, n.RankError*float64(nf))
		}
	}
	h := pc.Histogram
	if h == nil {
		t.Fatalf("%s: no histogram", pc.Name)
	}
	want := make([]int64, len(h.Counts))
	for _, v := range finite {
		want[bin(h.Edges, v)]++
	}
	if h.Edges[0] > sorted[0] || h.Edges[len(h.Edges)-1] < sorted[nf-1] {
		t.Errorf("%s: edges %v do not cover [%v, %v]", pc.Name, h.Edges, sorted[0], sorted[nf-1])
	}
	for i := range want {
		d := math.Abs(float64(h.Counts[i] - want[i]))
		if (h.Exact && d != 0) || d > 2*n.RankError*float64(nf)+1 {
			t.Errorf("%s: bin %d got %d, want %d (exact %v)", pc.Name, i, h.Counts[i], want[i], h.Exact)
		}
	}
	if cat := pc.Categories; cat != nil {
		checkCategories(t, pc, text)
	} else if pc.DistinctExact && pc.Distinct <= maxCategories {
		t.Errorf("%s: %d distinct values but no categories", pc.Name, pc.Distinct)
	}
}

func checkText(t *testing.T, pc *Column, col []string) {
	t.Helper()
	counts := map[string]int64{} // as JSON writes them
	distinct := map[string]bool{}
	var lo, hi time.Time
	for _, s := range col {
		if s == "" {
			continue
		}
		distinct[s] = true
		counts[strings.ToValidUTF8(s, "\uFFFD")]++
		if pc.Type == Datetime {
			v, err := tabular.ParseTime(s)
			if err != nil {
				t.Fatalf("%s: %q is not a time: %v", pc.Name, s, err)
			}
			if lo.IsZero() || v.Before(lo) {
				lo = v
			}
			if hi.IsZero() || v.After(hi) {
				hi = v
			}
		}
	}
	checkDistinct(t, pc, len(distinct))
	if pc.Count == 0 {
		return
	}
	checkCategories(t, pc, counts)
	if pc.Type == Datetime {
		want := DatetimeRange{Min: lo.UTC().Format(time.RFC3339Nano), Max: hi.UTC().Format(time.RFC3339Nano)}
		if pc.Datetime == nil || *pc.Datetime != want {
			t.Errorf("%s: got range %+v, want %+v", pc.Name, pc.Datetime, want)
		}
	}
}

func checkDistinct(t *testing.T, pc *Column, want int) {
	t.Helper()
	got := float64(pc.Distinct)
	if (pc.DistinctExact && pc.Distinct != int64(want)) || math.Abs(got-float64(want)) > hllRelError*float64(want) {
		t.Errorf("%s: got %d distinct (exact %v), want %d", pc.Name, pc.Distinct, pc.DistinctExact, want)
	}
}

func checkCategories(t *testing.T, pc *Column, counts map[string]int64) {
	t.Helper()
	cat := pc.Categories
	if cat == nil {
		t.Fatalf("%s: no categories", pc.Name)
	}
	var sum int64
	for _, c := range cat.Values {
		want := counts[c.Value]
		if c.Count > want || c.Count < want-cat.MaxError {
			t.Errorf("%s: category %q got %d, want %d (max error %d)", pc.Name, c.Value, c.Count, want, cat.MaxError)
		}
		sum += c.Count
	}
	if len(counts) <= maxCategories && cat.MaxError == 0 && len(cat.Values) != len(counts) {
		t.Errorf("%s: got %d categories, want all %d", pc.Name, len(cat.Values), len(counts))
	}
	if cat.Other != pc.Count-sum {
		t.Errorf("%s: other got %d, want %d", pc.Name, cat.Other, pc.Count-sum)
	}
}

func chicago(t testing.TB) []byte {
	t.Helper()
	r, err := sampledata.Chicago()
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if _, err := b.ReadFrom(r); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// optionsToTry read the same table sequentially and in small chunks over
// several workers, so the merges are exercised.
var optionsToTry = []Options{{Workers: 1}, {Workers: 3, ChunkSize: 4096}, {Workers: 2, ChunkSize: 1}}

func TestRealTablesAgainstExact(t *testing.T) {
	ames, err := os.ReadFile(filepath.Join("testdata", "ames600.csv"))
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"chicago": chicago(t), "ames": ames} {
		f, err := tabular.ReadCSV(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		for _, opt := range optionsToTry {
			t.Run(name, func(t *testing.T) {
				p, err := CSV(t.Context(), bytes.NewReader(data), opt)
				if err != nil {
					t.Fatal(err)
				}
				checkAgainstExact(t, p, f, data)
			})
		}
	}
}

// TestSyntheticAgainstExact profiles a table big enough for every
// estimate to be used (quantile sketch, HyperLogLog, Misra–Gries on the
// dates) and holds it to the exact statistics.
func TestSyntheticAgainstExact(t *testing.T) {
	rows := 100_000
	if testing.Short() || raceEnabled {
		rows = 30_000
	}
	path := filepath.Join(t.TempDir(), "synthetic.csv")
	writeSynthetic(t, path, rows)
	f, err := tabular.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p, err := File(t.Context(), path, Options{Workers: 2, ChunkSize: 256 << 10})
	if err != nil {
		t.Fatal(err)
	}
	checkAgainstExact(t, p, f, nil) // csv.Writer wrote the numbers as tabular does
	var sketched, lossyDates bool
	for _, c := range p.Columns {
		sketched = sketched || (c.Numeric != nil && c.Numeric.RankError > 0)
		lossyDates = lossyDates || (c.Type == Datetime && c.Categories.MaxError > 0 && !c.DistinctExact)
	}
	if !sketched || !lossyDates {
		t.Errorf("estimates not exercised: sketched quantiles %v, approximate dates %v", sketched, lossyDates)
	}
}

func TestTypes(t *testing.T) {
	tests := []struct {
		name   string
		values []string
		want   Type
	}{
		{"integers", []string{"1", "-2", "+3", " 4 ", "007"}, Integer},
		{"numbers", []string{"1", "2.5", "1e3"}, Number},
		{"infinity is a number", []string{"1", "Inf", "-inf"}, Number},
		{"booleans", []string{"true", "False", "TRUE"}, Boolean},
		{"0 and 1 are integers", []string{"0", "1"}, Integer},
		{"dates", []string{"2001-01-22", "2016-08-28T10:00:00Z", "2010-02-03 04:05:06"}, Datetime},
		{"not a day", []string{"2001-02-30"}, String},
		{"text after numbers", []string{"1", "2", "x"}, String},
		{"numbers after text", []string{"x", "1"}, String},
		{"booleans and numbers", []string{"true", "1"}, String},
		{"missing values", []string{"", "NA", "null", "None", "N/A", "NAN", "3"}, Integer},
		{"all missing", []string{"", "NA", "NaN"}, Number},
		{"int64 overflow is a number", []string{"99999999999999999999"}, Number},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			csv := "x\n" + strings.Join(quoteAll(tt.values), "\n") + "\n"
			f, err := tabular.ReadCSV(strings.NewReader(csv))
			if err != nil {
				t.Fatal(err)
			}
			for _, opt := range optionsToTry {
				p, err := CSV(t.Context(), strings.NewReader(csv), opt)
				if err != nil {
					t.Fatal(err)
				}
				if got := p.Columns[0].Type; got != tt.want {
					t.Errorf("%+v: got %s, want %s", opt, got, tt.want)
				}
				checkAgainstExact(t, p, f, []byte(csv))
			}
		})
	}
}

func quoteAll(values []string) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = `"` + v + `"`
	}
	return out
}

// TestCSVErrorsLikeReadCSV: bad input is refused with ReadCSV's message,
// the line counted from the start of the file even deep in a later chunk.
func TestCSVErrorsLikeReadCSV(t *testing.T) {
	long := strings.Repeat("1,2\n", 5000)
	tests := []string{
		"",
		"\ufeff",
		"\n\n",
		"a,a\n1,2\n",
		"a,\n",
		"a,b\n1\n",
		"a,b\n" + long + "1,2,3\n" + long,
		"a,b\n" + long + "\"x\ny\",\"z\n" + long,
		"a,b\n" + long + "1,x\"y\n",
		"a,\"b\n",
	}
	for _, in := range tests {
		_, want := tabular.ReadCSV(strings.NewReader(in))
		if want == nil {
			t.Fatalf("%.20q: ReadCSV accepts it", in)
		}
		for _, opt := range optionsToTry {
			_, err := CSV(t.Context(), strings.NewReader(in), opt)
			if err == nil || err.Error() != want.Error() || hangar.ErrorCode(err) != hangar.ErrorCode(want) {
				t.Errorf("%.20q %+v: got %v, want %v", in, opt, err, want)
			}
		}
	}
}

func TestQuotedNewlinesAcrossChunks(t *testing.T) {
	var b strings.Builder
	b.WriteString("id,note\n")
	for i := range 3000 {
		b.WriteString(`7,"line one` + "\n" + `line, ""two""` + "\r\n" + `"` + "\n")
		_ = i
	}
	f, err := tabular.ReadCSV(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	for _, opt := range optionsToTry {
		p, err := CSV(t.Context(), strings.NewReader(b.String()), opt)
		if err != nil {
			t.Fatal(err)
		}
		checkAgainstExact(t, p, f, []byte(b.String()))
		if c := p.Columns[1]; c.Distinct != 1 || c.Categories.Values[0].Count != 3000 {
			t.Errorf("%+v: got %+v, want one value 3000 times", opt, c.Categories)
		}
	}
}

func TestParquet(t *testing.T) {
	path := filepath.Join("..", "tabular", "testdata", "chicago40.parquet")
	f, err := tabular.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p, err := File(t.Context(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkAgainstExact(t, p, f, nil)
	types := map[string]Type{}
	for _, c := range p.Columns {
		types[c.Name] = c.Type
	}
	t.Logf("types: %v", types)
	if types["date"] != Datetime {
		t.Errorf("date: got %s, want datetime", types["date"])
	}
}

// TestJSONRoundTrip: a profile written as JSON reads back equal, and its
// field names are the documented snake_case ones.
func TestJSONRoundTrip(t *testing.T) {
	p, err := CSV(t.Context(), bytes.NewReader(chicago(t)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(p, got); d != "" {
		t.Errorf("round trip (-want +got):\n%s", d)
	}
	for _, field := range []string{`"version":1`, `"rows":5698`, `"distinct_exact"`, `"rank_error"`, `"max_error"`, `"quantiles"`, `"edges"`} {
		if !bytes.Contains(b, []byte(field)) {
			t.Errorf("JSON lacks %s", field)
		}
	}
}

func TestValidateRefuses(t *testing.T) {
	good, err := CSV(t.Context(), strings.NewReader("n,s,d\n1,a,2001-01-01\n2.5,b,2001-01-02\n,a,\n"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := good.Validate(); err != nil {
		t.Fatalf("good profile: %v", err)
	}
	tests := []struct {
		name   string
		break_ func(p *Profile)
	}{
		{"version", func(p *Profile) { p.Version = 2 }},
		{"negative rows", func(p *Profile) { p.Rows = -1 }},
		{"no name", func(p *Profile) { p.Columns[0].Name = "" }},
		{"duplicate name", func(p *Profile) { p.Columns[1].Name = "n" }},
		{"unknown type", func(p *Profile) { p.Columns[0].Type = "float" }},
		{"counts do not add up", func(p *Profile) { p.Columns[0].Missing++ }},
		{"distinct above count", func(p *Profile) { p.Columns[1].Distinct = 99 }},
		{"NaN mean", func(p *Profile) { p.Columns[0].Numeric.Mean = math.NaN() }},
		{"infinite std", func(p *Profile) { p.Columns[0].Numeric.Std = math.Inf(1) }},
		{"NaN quantile", func(p *Profile) { p.Columns[0].Numeric.Quantiles[2].Value = math.NaN() }},
		{"quantile outside range", func(p *Profile) { p.Columns[0].Numeric.Quantiles[6].Value = 99 }},
		{"quantiles out of order", func(p *Profile) { p.Columns[0].Numeric.Quantiles[0].P = 0.6 }},
		{"min above max", func(p *Profile) { p.Columns[0].Numeric.Min = 3 }},
		{"numeric on text", func(p *Profile) { p.Columns[1].Numeric = p.Columns[0].Numeric }},
		{"edge NaN", func(p *Profile) { p.Columns[0].Histogram.Edges[0] = math.NaN() }},
		{"edges out of order", func(p *Profile) { e := p.Columns[0].Histogram.Edges; e[0], e[1] = e[1], e[0] }},
		{"bin counts", func(p *Profile) { p.Columns[0].Histogram.Counts[0]++ }},
		{"edges and counts", func(p *Profile) { h := p.Columns[0].Histogram; h.Counts = h.Counts[1:] }},
		{"category counts", func(p *Profile) { p.Columns[1].Categories.Other++ }},
		{"duplicate category", func(p *Profile) {
			c := p.Columns[1].Categories
			c.Values[1].Value = c.Values[0].Value
		}},
		{"datetime range", func(p *Profile) { p.Columns[2].Datetime.Min = "yesterday" }},
		{"datetime reversed", func(p *Profile) { d := p.Columns[2].Datetime; d.Min, d.Max = d.Max, d.Min }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, _ := json.Marshal(good)
			p, err := Decode(b) // a deep copy
			if err != nil {
				t.Fatal(err)
			}
			tt.break_(p)
			if err := p.Validate(); hangar.ErrorCode(err) != hangar.EINVALID {
				t.Errorf("got %v, want EINVALID", err)
			}
		})
	}
	for _, bad := range []string{`{"version":1,"rows":0,"columns":[],"extra":1}`, `{"version":1,"rows":0,"columns":[]} {}`, `[]`, `{"version":1,"rows":"x"}`} {
		if _, err := Decode([]byte(bad)); hangar.ErrorCode(err) != hangar.EINVALID {
			t.Errorf("Decode(%s): got %v, want EINVALID", bad, err)
		}
	}
}

// TestHugeValuesStayValid: moments that overflow saturate instead of
// making a profile that cannot be written.
func TestHugeValuesStayValid(t *testing.T) {
	p, err := CSV(t.Context(), strings.NewReader("x\n1e308\n-1e308\n1.7e308\n"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	if _, err := json.Marshal(p); err != nil {
		t.Fatal(err)
	}
}

// TestSameProfileWhateverTheReads: chunks end where the data says, not
// where a Read stopped, so a reader that returns a few bytes at a time
// gives the very same profile, estimates included.
func TestSameProfileWhateverTheReads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.csv")
	writeSynthetic(t, path, 30_000)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	opt := Options{Workers: 2, ChunkSize: 64 << 10}
	want, err := CSV(t.Context(), bytes.NewReader(data), opt)
	if err != nil {
		t.Fatal(err)
	}
	got, err := CSV(t.Context(), iotest.HalfReader(bytes.NewReader(data)), opt)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("profile depends on the reads (-whole +halves):\n%s", d)
	}
}

func TestCSVCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := CSV(ctx, bytes.NewReader(chicago(t)), Options{ChunkSize: 4096})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
}
