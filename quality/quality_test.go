package quality

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/tabular"
)

func frame(t *testing.T, csv string) *tabular.Frame {
	t.Helper()
	f, err := tabular.ReadCSV(strings.NewReader(csv))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func ptr(v float64) *float64 { return &v }

func TestParseExpect(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Expectation
	}{
		{"n:numeric,not_null,min=0,max=10", Expectation{Name: "n", Type: "numeric", NotNull: true, Min: ptr(0), Max: ptr(10)}},
		{" s : allowed=a|b|c , max_null=0.1", Expectation{Name: "s", Allowed: []string{"a", "b", "c"}, MaxNullFraction: ptr(0.1)}},
		{"d:date,max_null_fraction=0", Expectation{Name: "d", Type: "date", MaxNullFraction: ptr(0)}},
		{"x", Expectation{Name: "x"}},
	} {
		got, err := ParseExpect(tc.in)
		if err != nil {
			t.Errorf("ParseExpect(%q): %v", tc.in, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("ParseExpect(%q) (-want +got):\n%s", tc.in, diff)
		}
	}
	for in, want := range map[string]string{
		"n:minimum=3":    `--expect "n:minimum=3": unknown check "minimum"`,
		"n:min":          `--expect "n:min": min needs a number`,
		"n:min=x":        `--expect "n:min=x": min needs a number`,
		"n:max=nan":      `--expect "n:max=nan": max needs a number`,
		"n:min=3,max=1":  `--expect "n:min=3,max=1": column "n": min 3 above max 1`,
		":numeric":       `--expect ":numeric": column without a name`,
		"n:max_null=1.5": `max_null_fraction 1.5, want 0 to 1`,
	} {
		_, err := ParseExpect(in)
		if hangar.ErrorCode(err) != hangar.EINVALID || !strings.Contains(hangar.ErrorMessage(err), want) {
			t.Errorf("ParseExpect(%q): got %v, want EINVALID containing %q", in, err, want)
		}
	}
}

func TestParseSchema(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "chicago.yml"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := ParseSchema(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Columns) != 5 || s.MinRows != 5000 || s.AllowExtraColumns == nil || !*s.AllowExtraColumns {
		t.Errorf("got %+v", s)
	}
	if w := s.Columns[3]; w.Name != "weather_rain" || w.Type != "numeric" || *w.Min != 0 || *w.Max != 1 {
		t.Errorf("weather_rain: got %+v", w)
	}
	chicago, err := tabular.ReadFile(filepath.Join("..", "testdata", "chicago", "chicago.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if r := Check(chicago, s); !r.OK() || r.Checks != 17 {
		t.Errorf("the Chicago table against its schema: got %+v, want 17 checks passed", r)
	}
	for name, tc := range map[string]struct{ in, want string }{
		"unknown key":  {"columns:\n  - {name: n, tpye: numeric}\n", "tpye"},
		"no columns":   {"columns: []\n", "no columns to check"},
		"empty":        {"", "no columns to check"},
		"bad type":     {"columns:\n  - {name: n, type: int}\n", `columns[0]: column "n": type "int", want numeric, string or date`},
		"no name":      {"columns:\n  - {type: numeric}\n", "columns[0]: column without a name"},
		"min over max": {"columns:\n  - {name: n, min: 2, max: 1}\n", "min 2 above max 1"},
		"nan min":      {"columns:\n  - {name: n, min: .nan}\n", "not NaN"},
		"fraction":     {"columns:\n  - {name: n, max_null_fraction: 2}\n", "max_null_fraction 2, want 0 to 1"},
		"not yaml":     {"columns: [", "schema:"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseSchema([]byte(tc.in))
			if hangar.ErrorCode(err) != hangar.EINVALID || !strings.Contains(hangar.ErrorMessage(err), tc.want) {
				t.Errorf("got %v, want EINVALID containing %q", err, tc.want)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	f := frame(t, "n,s,d\n1,a,2001-01-01\n5,b,2001-13-01\n,c,\n100,a,2001-01-03\n")
	no := false
	s := &Schema{
		Columns: []Expectation{
			{Name: "n", Type: "numeric", NotNull: true, Min: ptr(0), Max: ptr(50)},
			{Name: "s", Type: "numeric", Allowed: []string{"a", "b"}},
			{Name: "d", Type: "date", MaxNullFraction: ptr(0.1)},
			{Name: "missing"},
		},
		MinRows:           10,
		AllowExtraColumns: &no,
	}
	got := Check(f, s)
	want := []string{
		`table has 4 rows, expected at least 10`,
		`column "n" has 1 missing values, expected none`,
		`column "n" has 1 values above max 50 (largest 100)`,
		`column "s" is not numeric (e.g. "a")`,
		`column "d" is 0.25 missing, expected at most 0.1`,
		`column "d" is not a date: row 2 is "2001-13-01"`,
		`column "missing" is missing`,
	}
	if diff := cmp.Diff(want, got.Failures); diff != "" {
		t.Errorf("failures (-want +got):\n%s", diff)
	}
	if got.Checks != 12 || got.OK() {
		t.Errorf("checks %d, OK %v; want 12 checks, not OK", got.Checks, got.OK())
	}

	s = &Schema{Columns: []Expectation{
		{Name: "n", Min: ptr(2)},
		{Name: "s", Type: "string", Allowed: []string{"a"}},
		{Name: "d", Min: ptr(0)},
	}}
	got = Check(f, s)
	want = []string{
		`column "n" has 1 values below min 2 (smallest 1)`,
		`column "s" has values outside [a]: b, c`,
		`column "d" has a range check but is not numeric (e.g. "2001-01-01")`,
	}
	if diff := cmp.Diff(want, got.Failures); diff != "" {
		t.Errorf("failures (-want +got):\n%s", diff)
	}

	ok := Check(f, &Schema{Columns: []Expectation{{Name: "n", Type: "numeric", Min: ptr(0), Max: ptr(100)}, {Name: "s", Allowed: []string{"a", "b", "c"}, NotNull: true}}})
	if !ok.OK() || ok.Checks != 6 {
		t.Errorf("passing table: got %+v, want 6 checks and no failures", ok)
	}
}

func FuzzParseExpect(f *testing.F) {
	for _, s := range []string{"n:numeric,min=0,max=1", "s:allowed=a|b,not_null,max_null=0.1", "d:date", ":", "x:min=nan"} {
		f.Add(s)
	}
	fr, err := tabular.ReadCSV(strings.NewReader("n,s\n1,a\n,\n"))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseExpect(s)
		if err != nil {
			if hangar.ErrorCode(err) != hangar.EINVALID {
				t.Fatalf("ParseExpect(%q): %v, want EINVALID", s, err)
			}
			return
		}
		if e.Name == "" || (e.Min != nil && e.Max != nil && *e.Min > *e.Max) {
			t.Fatalf("accepted %q as %+v", s, e)
		}
		Check(fr, &Schema{Columns: []Expectation{e}}) // must not panic
	})
}

func FuzzParseSchema(f *testing.F) {
	f.Add("columns:\n  - {name: n, type: numeric, min: 0}\nmin_rows: 3\n")
	f.Add("columns: []\n")
	fr, err := tabular.ReadCSV(strings.NewReader("n,s\n1,a\n,\n"))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sc, err := ParseSchema([]byte(s))
		if err != nil {
			if hangar.ErrorCode(err) != hangar.EINVALID {
				t.Fatalf("ParseSchema: %v, want EINVALID", err)
			}
			return
		}
		if len(sc.Columns) == 0 {
			t.Fatalf("accepted a schema without columns: %q", s)
		}
		r := Check(fr, sc) // must not panic
		if r.Checks < len(sc.Columns) {
			t.Fatalf("%d checks for %d columns", r.Checks, len(sc.Columns))
		}
	})
}
