package dataprep

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/tabular"
)

const chicago = "../testdata/chicago/chicago.csv"

func write(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func rows(t *testing.T, path string) int {
	t.Helper()
	f, err := tabular.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return f.NumRows()
}

func TestSplit(t *testing.T) {
	dir := t.TempDir()
	for name, tc := range map[string]struct {
		o             SplitOptions
		trainN, testN int
	}{
		"by date":      {SplitOptions{Input: chicago, DateColumn: "date", Before: "2014-01-01"}, 4727, 971},
		"at random":    {SplitOptions{Input: chicago, Ratio: 0.8, Seed: 7}, 4558, 1140},
		"folder input": {SplitOptions{Input: filepath.Dir(chicago), Ratio: 0.5, Seed: 1}, -1, -1},
	} {
		t.Run(name, func(t *testing.T) {
			o := tc.o
			o.Train, o.Test = filepath.Join(dir, name, "a", "train.csv"), filepath.Join(dir, name, "b", "test.csv")
			res, err := Split(t.Context(), o)
			if err != nil {
				t.Fatal(err)
			}
			if tc.trainN >= 0 && (res.TrainRows != tc.trainN || res.TestRows != tc.testN) {
				t.Errorf("got %d + %d rows, want %d + %d", res.TrainRows, res.TestRows, tc.trainN, tc.testN)
			}
			if got, want := rows(t, o.Train)+rows(t, o.Test), 5698; got != want || rows(t, o.Train) != res.TrainRows {
				t.Errorf("files hold %d rows (train %d), want %d (train %d)", got, rows(t, o.Train), want, res.TrainRows)
			}
		})
	}
}

func TestSplitErrors(t *testing.T) {
	dir := t.TempDir()
	good := write(t, filepath.Join(dir, "good.csv"), "x,date\n1,2001-01-01\n2,2001-01-02\n")
	a, b := filepath.Join(dir, "a.csv"), filepath.Join(dir, "b.csv")
	for name, tc := range map[string]struct {
		o    SplitOptions
		code string
		msg  string
	}{
		"no outputs":   {SplitOptions{Input: good, Ratio: 0.5}, hangar.EINVALID, "--output-train and --output-test are required"},
		"same file":    {SplitOptions{Input: good, Train: a, Test: a, Ratio: 0.5}, hangar.EINVALID, "--output-test and --output-train name the same file"},
		"both":         {SplitOptions{Input: good, Train: a, Test: b, Ratio: 0.5, DateColumn: "date", Before: "2001-01-02"}, hangar.EINVALID, "use either --ratio or --date-column with --before, not both"},
		"half a date":  {SplitOptions{Input: good, Train: a, Test: b, DateColumn: "date"}, hangar.EINVALID, "a date split needs both --date-column and --before"},
		"ratio 1":      {SplitOptions{Input: good, Train: a, Test: b, Ratio: 1}, hangar.EINVALID, "--ratio 1: want a fraction between 0 and 1 (exclusive)"},
		"no input":     {SplitOptions{Train: a, Test: b, Ratio: 0.5}, hangar.EINVALID, "--input is required"},
		"bad date":     {SplitOptions{Input: good, Train: a, Test: b, DateColumn: "date", Before: "soon"}, hangar.EINVALID, `--before: "soon" is not a date`},
		"no column":    {SplitOptions{Input: good, Train: a, Test: b, DateColumn: "day", Before: "2001-01-02"}, hangar.EINVALID, `--date-column "day" not found (columns: x, date)`},
		"empty folder": {SplitOptions{Input: t.TempDir(), Train: a, Test: b, Ratio: 0.5}, hangar.EINVALID, "holds no table file"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Split(t.Context(), tc.o)
			if !hangar.IsCode(err, tc.code) || !strings.Contains(hangar.ErrorMessage(err), tc.msg) {
				t.Errorf("got %v, want %s containing %q", err, tc.code, tc.msg)
			}
		})
	}
	_, err := Split(t.Context(), SplitOptions{Input: filepath.Join(dir, "none.csv"), Train: a, Test: b, Ratio: 0.5})
	if !errors.Is(err, fs.ErrNotExist) || !strings.HasPrefix(err.Error(), "--input: ") {
		t.Errorf("missing input: got %v, want fs.ErrNotExist naming --input", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := Split(ctx, SplitOptions{Input: good, Train: a, Test: b, Ratio: 0.5}); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: got %v, want %v", err, context.Canceled)
	}
}

func TestValidate(t *testing.T) {
	dir := t.TempDir()
	schema := write(t, filepath.Join(dir, "schema.yml"), "columns:\n  - {name: ridership, type: numeric, min: 0}\nmin_rows: 10\n")
	for name, tc := range map[string]struct {
		o        ValidateOptions
		ok       bool
		checks   int
		failures []string
	}{
		"schema":      {ValidateOptions{Input: chicago, Schema: schema}, true, 4, nil},
		"schema+list": {ValidateOptions{Input: chicago, Schema: schema, Expect: SplitExpectations(" date:date ;; ridership:max=1")}, false, 8, []string{`column "ridership" has 5692 values above max 1 (largest 26.058)`}},
	} {
		t.Run(name, func(t *testing.T) {
			tc.o.Report = filepath.Join(dir, name, "report.json")
			res, err := Validate(t.Context(), tc.o)
			if (err == nil) != tc.ok || res == nil {
				t.Fatalf("got %v, %v; want ok %v with a result", res, err, tc.ok)
			}
			if !tc.ok && !hangar.IsCode(err, hangar.EINVALID) {
				t.Errorf("got %v, want %s", err, hangar.EINVALID)
			}
			if res.Checks != tc.checks || res.Rows != 5698 || strings.Join(res.Failures, "|") != strings.Join(tc.failures, "|") {
				t.Errorf("got %d checks on %d rows, failures %q; want %d on 5698, %q", res.Checks, res.Rows, res.Failures, tc.checks, tc.failures)
			}
			var r report
			b, err := os.ReadFile(tc.o.Report)
			if err == nil {
				err = json.Unmarshal(b, &r)
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.OK != tc.ok || r.Checks != tc.checks || r.Rows != 5698 || r.Input != chicago || len(r.Failures) != len(tc.failures) {
				t.Errorf("report %s", b)
			}
		})
	}
	for name, tc := range map[string]struct {
		o   ValidateOptions
		msg string
	}{
		"nothing":    {ValidateOptions{Input: chicago}, "nothing to check: give --schema or --expect"},
		"bad expect": {ValidateOptions{Input: chicago, Expect: []string{"x:minimum=3"}}, "unknown check"},
		"bad schema": {ValidateOptions{Input: chicago, Schema: write(t, filepath.Join(dir, "bad.yml"), "columns:\n  - {name: n, tpye: numeric}\n")}, "tpye"},
		"no input":   {ValidateOptions{Expect: []string{"x:numeric"}}, "--input is required"},
	} {
		t.Run(name, func(t *testing.T) {
			res, err := Validate(t.Context(), tc.o)
			if res != nil || !hangar.IsCode(err, hangar.EINVALID) || !strings.Contains(hangar.ErrorMessage(err), tc.msg) {
				t.Errorf("got %v, %v; want no result and EINVALID containing %q", res, err, tc.msg)
			}
		})
	}
}

func TestSplitExpectations(t *testing.T) {
	for in, want := range map[string]string{
		"":                            "",
		" ; ;":                        "",
		"a:numeric":                   "a:numeric",
		"a:numeric,min=0; b:date;":    "a:numeric,min=0|b:date",
		"w:allowed=rain|snow;x:max=1": "w:allowed=rain|snow|x:max=1",
	} {
		if got := strings.Join(SplitExpectations(in), "|"); got != want {
			t.Errorf("SplitExpectations(%q) = %q, want %q", in, got, want)
		}
	}
}
