package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/tabular"
)

func TestBuiltinErrors(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, filepath.Join(dir, "good.csv"), "x,y,date\n1,2,2001-01-01\n2,4,2001-01-02\n3,6,2001-01-03\n")
	nanLabel := writeFile(t, filepath.Join(dir, "nan.csv"), "x,y\n1,2\n2,NA\n")
	infLabel := writeFile(t, filepath.Join(dir, "inf.csv"), "x,y\n1,2\n2,inf\n")
	empty := writeFile(t, filepath.Join(dir, "empty.csv"), "x,y\n")
	three := writeFile(t, filepath.Join(dir, "three.csv"), "x,y\n1,a\n2,b\n3,c\n")
	model := filepath.Join(dir, "m")
	mustRun(t, "train-gbdt", "--train", good, "--label", "y", "--drop-columns", "date", "--output", model, "--n-estimators", "2")
	noX := writeFile(t, filepath.Join(dir, "nox.csv"), "y,z\n1,2\n")
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"label missing":     {[]string{"train-gbdt", "--train", good, "--label", "nope", "--output", model}, `label column "nope" not found`},
		"nan label":         {[]string{"train-gbdt", "--train", nanLabel, "--label", "y", "--output", model}, "row 2"},
		"inf label":         {[]string{"train-linear", "--train", infLabel, "--label", "y", "--output", model}, "finite"},
		"empty":             {[]string{"train-gbdt", "--train", empty, "--label", "y", "--output", model}, "no rows"},
		"unknown objective": {[]string{"train-gbdt", "--train", good, "--label", "y", "--output", model, "--objective", "reg:nope"}, `unknown objective "reg:nope"`},
		"string feature":    {[]string{"train-gbdt", "--train", good, "--label", "y", "--output", model}, `feature column "date" is not numeric`},
		"binary 3 classes":  {[]string{"train-gbdt", "--train", three, "--label", "y", "--output", model, "--objective", "binary:logistic"}, "two classes"},
		"no train file":     {[]string{"train-gbdt", "--train", filepath.Join(dir, "none.csv"), "--label", "y", "--output", model}, "no such file"},
		"predict column":    {[]string{"predict", "--model", model, "--input", noX, "--output", filepath.Join(dir, "p.csv")}, `no column "x"`},
		"no model":          {[]string{"predict", "--model", filepath.Join(dir, "nomodel"), "--input", good, "--output", filepath.Join(dir, "p.csv")}, "--model"},
		"split both":        {[]string{"split", "--input", good, "--output-train", "a", "--output-test", "b", "--ratio", "0.5", "--date-column", "date", "--before", "2001-01-02"}, "not both"},
		"split ratio":       {[]string{"split", "--input", good, "--output-train", "a", "--output-test", "b", "--ratio", "1.5"}, "--ratio"},
		"split bad date":    {[]string{"split", "--input", good, "--output-train", "a", "--output-test", "b", "--date-column", "x", "--before", "2001-01-02"}, "not a date"},
		"split same file":   {[]string{"split", "--input", good, "--output-train", filepath.Join(dir, "s.csv"), "--output-test", filepath.Join(dir, "s.csv")}, "name the same file"},
		"split over input":  {[]string{"split", "--input", good, "--output-train", good, "--output-test", filepath.Join(dir, "t.csv")}, "name the same file"},
		"keep-input clash":  {[]string{"predict", "--model", model, "--input", writeFile(t, filepath.Join(dir, "clash.csv"), "x,prediction\n1,2\n"), "--output", filepath.Join(dir, "p.csv"), "--keep-input"}, `already has a column "prediction"`},
		"duplicate feature": {[]string{"train-gbdt", "--train", good, "--label", "y", "--features", "x,x", "--output", model}, `names "x" twice`},
		"es without valid":  {[]string{"train-gbdt", "--train", good, "--label", "y", "--drop-columns", "date", "--output", model, "--early-stopping-rounds", "3"}, "validation set"},
	} {
		t.Run(name, func(t *testing.T) {
			_, _, err := runBuiltin(t, tc.args...)
			if err == nil || !strings.Contains(hangar.ErrorMessage(err), tc.want) {
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
			if err != nil && strings.Contains(hangar.ErrorMessage(err), "\n") {
				t.Errorf("error is not one line: %q", hangar.ErrorMessage(err))
			}
		})
	}
}

func TestBuiltinSplitRatio(t *testing.T) {
	dir := t.TempDir()
	run := func(seed string) (string, string) {
		a, b := filepath.Join(dir, "a"+seed+".csv"), filepath.Join(dir, "b"+seed+".csv")
		mustRun(t, "split", "--input", chicagoCSV, "--output-train", a, "--output-test", b, "--ratio", "0.8", "--seed", seed)
		ba, _ := os.ReadFile(a)
		bb, _ := os.ReadFile(b)
		return string(ba), string(bb)
	}
	a1, b1 := run("7")
	a2, _ := run("7")
	a3, _ := run("8")
	if a1 != a2 {
		t.Error("same seed, different split")
	}
	if a1 == a3 {
		t.Error("different seeds, same split")
	}
	ta, _ := tabular.ReadCSV(strings.NewReader(a1))
	tb, _ := tabular.ReadCSV(strings.NewReader(b1))
	if ta.NumRows() != 4558 || tb.NumRows() != 1140 {
		t.Errorf("split rows %d + %d, want 4558 + 1140", ta.NumRows(), tb.NumRows())
	}
	d := ta.Column("date").Str
	for i := 1; i < len(d); i++ {
		if d[i] < d[i-1] {
			t.Fatalf("row order not kept: %s after %s", d[i], d[i-1])
		}
	}
}

func TestBuiltinValidate(t *testing.T) {
	dir := t.TempDir()
	data := writeFile(t, filepath.Join(dir, "d.csv"), "n,s,d\n1,a,2001-01-01\n5,b,2001-13-01\n,c,\n100,a,2001-01-03\n")
	out, _ := mustRun(t, "validate", "--input", data, "--expect", "n:numeric,min=0,max=1000", "--expect", "s:allowed=a|b|c,not_null")
	if !strings.HasPrefix(out, "ok:") {
		t.Errorf("passing validate printed %q", out)
	}
	schema := writeFile(t, filepath.Join(dir, "schema.yml"), `columns:
  - {name: n, type: numeric, not_null: true, min: 0, max: 50}
  - {name: s, type: numeric, allowed: [a, b]}
  - {name: d, type: date, max_null_fraction: 0.1}
  - {name: missing}
min_rows: 10
allow_extra_columns: false
`)
	out, _, err := runBuiltin(t, "validate", "--input", data, "--schema", schema)
	if err == nil {
		t.Fatal("validate passed a bad table")
	}
	for _, want := range []string{
		`FAIL table has 4 rows, expected at least 10`,
		`FAIL column "n" has 1 missing values`,
		`FAIL column "n" has 1 values above max 50 (largest 100)`,
		`FAIL column "s" is not numeric`,
		`FAIL column "d" is 0.25 missing, expected at most 0.1`,
		`FAIL column "d" is not a date: row 2 is "2001-13-01"`,
		`FAIL column "missing" is missing`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(hangar.ErrorMessage(err), "7 of") {
		t.Errorf("error %q, want a count of 7 failures", hangar.ErrorMessage(err))
	}
	bad := writeFile(t, filepath.Join(dir, "bad.yml"), "columns:\n  - {name: n, tpye: numeric}\n")
	if _, _, err := runBuiltin(t, "validate", "--input", data, "--schema", bad); err == nil || !strings.Contains(err.Error(), "tpye") {
		t.Errorf("unknown schema key: got %v", err)
	}
	if _, _, err := runBuiltin(t, "validate", "--input", data, "--expect", "n:minimum=3"); err == nil || !strings.Contains(err.Error(), "unknown check") {
		t.Errorf("bad --expect: got %v", err)
	}
}

type pqRow struct {
	A     float64  `parquet:"a"`
	B     *float64 `parquet:"b,optional"`
	Label string   `parquet:"label"`
}

// TestBuiltinParquet trains on and scores Parquet files.
func TestBuiltinParquet(t *testing.T) {
	dir := t.TempDir()
	var rows []pqRow
	for i := range 200 {
		r := pqRow{A: float64(i % 20), Label: "small"}
		if i%20 >= 10 {
			r.Label = "large"
		}
		if i%3 != 0 {
			b := float64(i % 7)
			r.B = &b
		}
		rows = append(rows, r)
	}
	var buf bytes.Buffer
	if err := parquet.Write(&buf, rows); err != nil {
		t.Fatal(err)
	}
	data := writeFile(t, filepath.Join(dir, "d.parquet"), buf.String())
	model := filepath.Join(dir, "m")
	mustRun(t, "train-gbdt", "--train", data, "--label", "label", "--objective", "binary:logistic", "--output", model, "--n-estimators", "10")
	pred := filepath.Join(dir, "p.csv")
	mustRun(t, "predict", "--model", model, "--input", data, "--output", pred)
	pf := readCSV(t, pred)
	for i, r := range rows {
		if got := pf.Columns[0].Str[i]; got != r.Label {
			t.Fatalf("row %d: predicted %q, want %q", i, got, r.Label)
		}
	}
}
