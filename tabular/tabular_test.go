package tabular

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hangar-ml/hangar"
	"github.com/parquet-go/parquet-go"
)

func TestReadCSV(t *testing.T) {
	in := "\ufeffx, y ,name,d\n1,2.5,a,2001-01-02\nNA,,b,\n3,1e3,NA,2002-03-04\n"
	f, err := ReadCSV(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(f.Names(), "|"), "x|y|name|d"; got != want {
		t.Fatalf("names: got %q, want %q", got, want)
	}
	if f.NumRows() != 3 {
		t.Fatalf("rows: got %d, want 3", f.NumRows())
	}
	x, err := f.Float("x")
	if err != nil {
		t.Fatal(err)
	}
	if x[0] != 1 || !math.IsNaN(x[1]) || x[2] != 3 {
		t.Errorf("x: got %v", x)
	}
	y, _ := f.Float("y")
	if y[0] != 2.5 || !math.IsNaN(y[1]) || y[2] != 1000 {
		t.Errorf("y: got %v", y)
	}
	name := f.Column("name")
	if name.Kind != String || name.Str[2] != "" || name.Str[0] != "a" {
		t.Errorf("name: got %+v", name)
	}
	if _, err := f.Float("d"); hangar.ErrorCode(err) != hangar.EINVALID || !strings.Contains(err.Error(), `"d" is not numeric`) {
		t.Errorf("Float(d): got %v, want EINVALID naming the column", err)
	}
	if _, err := f.Features([]string{"x", "nope"}); hangar.ErrorCode(err) != hangar.ENOTFOUND || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("Features(nope): got %v", err)
	}
}

func TestReadCSVTurnsColumnToString(t *testing.T) {
	f, err := ReadCSV(strings.NewReader("a\n1.50\nNA\nx\n"))
	if err != nil {
		t.Fatal(err)
	}
	c := f.Column("a")
	if c.Kind != String || strings.Join(c.Str, ",") != "1.5,,x" {
		t.Errorf("got %+v, want string column 1.5,,x", c)
	}
}

func TestReadCSVErrors(t *testing.T) {
	for name, in := range map[string]string{
		"empty":       "",
		"ragged":      "a,b\n1,2\n3\n",
		"dup":         "a,a\n1,2\n",
		"blank name":  "a,\n1,2\n",
		"bare quote":  "a\n\"x\"y\n",
		"ragged long": "a\n1,2\n",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := ReadCSV(strings.NewReader(in)); hangar.ErrorCode(err) != hangar.EINVALID {
				t.Errorf("got %v, want EINVALID", err)
			}
		})
	}
}

func TestWriteCSVRoundTrip(t *testing.T) {
	in := "a,b\n1,x\n,y\n0.1,\n"
	f, err := ReadCSV(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteCSV(&buf, f.Take([]int{2, 0, 1})); err != nil {
		t.Fatal(err)
	}
	if got, want := buf.String(), "a,b\n0.1,\n1,x\n,y\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestWriteCSVOneColumn: a one-column table with a missing value must not
// lose that row, as an empty line would (CSV readers skip empty lines).
func TestWriteCSVOneColumn(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"numeric", "y\n1\nNA\n3\n", "y\n1\n\"\"\n3\n"},
		{"string", "s\na\n\"\"\nb\n", "s\na\n\"\"\nb\n"},
		{"only missing", "s\nNA\nnull\n", "s\n\"\"\n\"\"\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := ReadCSV(strings.NewReader(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := WriteCSV(&buf, f); err != nil {
				t.Fatal(err)
			}
			if buf.String() != tc.want {
				t.Errorf("got %q, want %q", buf.String(), tc.want)
			}
			back, err := ReadCSV(&buf)
			if err != nil {
				t.Fatal(err)
			}
			if back.NumRows() != f.NumRows() {
				t.Errorf("read back %d rows, wrote %d", back.NumRows(), f.NumRows())
			}
		})
	}
}

func TestWriteCSVFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new", "dir", "t.csv")
	f, _ := ReadCSV(strings.NewReader("a,b\n1,x\n"))
	if err := WriteCSVFile(path, f); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "a,b\n1,x\n" {
		t.Errorf("got %q, %v", b, err)
	}
	blocker := filepath.Join(t.TempDir(), "file")
	os.WriteFile(blocker, nil, 0o644)
	if err := WriteCSVFile(filepath.Join(blocker, "t.csv"), f); err == nil || !strings.Contains(err.Error(), "write "+blocker) {
		t.Errorf("under a file: got %v, want an error naming the path", err)
	}
}

func TestChicago(t *testing.T) {
	f, err := ReadFile("../testdata/chicago/chicago.csv")
	if err != nil {
		t.Fatal(err)
	}
	if f.NumRows() != 5698 || len(f.Columns) != 50 {
		t.Fatalf("got %d×%d, want 5698×50", f.NumRows(), len(f.Columns))
	}
	if c := f.Column("date"); c.Kind != String || c.Str[0] != "2001-01-22" {
		t.Errorf("date column: kind %v first %q", c.Kind, c.Str[0])
	}
	numeric := 0
	for _, c := range f.Columns {
		if c.Kind == Numeric {
			numeric++
		}
	}
	if numeric != 49 {
		t.Errorf("numeric columns: got %d, want 49", numeric)
	}
}

type pqRow struct {
	X    float64  `parquet:"x"`
	N    int64    `parquet:"n"`
	B    bool     `parquet:"b"`
	Opt  *float64 `parquet:"opt,optional"`
	Name string   `parquet:"name"`
	Day  int32    `parquet:"day,date"` // days since 1970-01-01
}

func TestReadParquet(t *testing.T) {
	v := 2.5
	rows := []pqRow{
		{X: 1.5, N: 7, B: true, Opt: &v, Name: "a", Day: 16071},
		{X: -2, N: -1, B: false, Opt: nil, Name: "", Day: 11344},
	}
	path := filepath.Join(t.TempDir(), "t.parquet")
	var buf bytes.Buffer
	if err := parquet.Write(&buf, rows); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(f.Names(), "|"), "x|n|b|opt|name|day"; got != want {
		t.Fatalf("names: got %q, want %q", got, want)
	}
	check := func(name string, want0, want1 float64) {
		t.Helper()
		c, err := f.Float(name)
		if err != nil {
			t.Fatal(err)
		}
		ok1 := c[1] == want1 || (math.IsNaN(c[1]) && math.IsNaN(want1))
		if c[0] != want0 || !ok1 {
			t.Errorf("%s: got %v, want [%v %v]", name, c, want0, want1)
		}
	}
	check("x", 1.5, -2)
	check("n", 7, -1)
	check("b", 1, 0)
	check("opt", 2.5, math.NaN())
	if c := f.Column("day"); c.Kind != String || c.Str[0] != "2014-01-01" || c.Str[1] != "2001-01-22" {
		t.Errorf("day: got %+v", c)
	}
	if c := f.Column("name"); c.Kind != String || c.Str[0] != "a" {
		t.Errorf("name: got %+v", c)
	}
}

func TestParseTime(t *testing.T) {
	for _, s := range []string{"2014-01-01", "2014-01-01T00:00:00Z", "2014-01-01 00:00:00"} {
		got, err := ParseTime(s)
		if err != nil || !got.Equal(time.Date(2014, 1, 1, 0, 0, 0, 0, time.UTC)) {
			t.Errorf("ParseTime(%q) = %v, %v", s, got, err)
		}
	}
	if _, err := ParseTime("01/02/2014"); hangar.ErrorCode(err) != hangar.EINVALID {
		t.Errorf("got %v, want EINVALID", err)
	}
}

func FuzzReadCSV(f *testing.F) {
	f.Add("a,b\n1,2\n")
	f.Add("a,b\n1,x\nNA,\n")
	f.Add("x\n\"1\n2\"\n")
	f.Add("a\n1e309\n-inf\n")
	f.Add("a\n1\nNA\n\"\"\n")
	f.Fuzz(func(t *testing.T, in string) {
		fr, err := ReadCSV(strings.NewReader(in))
		if err != nil {
			if hangar.ErrorCode(err) != hangar.EINVALID {
				t.Fatalf("ReadCSV: %v, want EINVALID", err)
			}
			return
		}
		n := fr.NumRows()
		for _, c := range fr.Columns {
			if c.Len() != n {
				t.Fatalf("column %q has %d values, frame %d rows", c.Name, c.Len(), n)
			}
		}
		var buf bytes.Buffer
		if err := WriteCSV(&buf, fr); err != nil {
			t.Fatal(err)
		}
		written := buf.String()
		back, err := ReadCSV(&buf)
		if err != nil {
			t.Fatalf("written CSV does not read back: %v\n%q", err, written)
		}
		if back.NumRows() != n || len(back.Columns) != len(fr.Columns) {
			t.Fatalf("read back %d rows × %d columns, wrote %d × %d:\n%q", back.NumRows(), len(back.Columns), n, len(fr.Columns), written)
		}
		// Reading normalises (numbers to their shortest form, missing
		// markers to empty cells) once; after that a round trip changes nothing.
		buf.Reset()
		if err := WriteCSV(&buf, back); err != nil {
			t.Fatal(err)
		}
		if buf.String() != written {
			t.Fatalf("second round trip differs:\nfirst  %q\nsecond %q", written, buf.String())
		}
	})
}

func FuzzReadParquet(f *testing.F) {
	var buf bytes.Buffer
	v := 1.0
	if err := parquet.Write(&buf, []pqRow{{X: 1, N: 2, Opt: &v, Name: "a", Day: 3}, {X: 2}}); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := ReadParquet(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		for _, c := range fr.Columns {
			if c.Len() != fr.NumRows() {
				t.Fatalf("column %q has %d values, frame %d rows", c.Name, c.Len(), fr.NumRows())
			}
		}
	})
}

// TestReadParquetFile reads a Parquet file of 40 Chicago rows (written by
// parquet-go with an optional column, a date column and an int64 column).
func TestReadParquetFile(t *testing.T) {
	f, err := ReadFile(filepath.Join("testdata", "chicago40.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(f.Names(), ","), "ridership,Austin,weather_rain,Cubs_Home,date,note"; f.NumRows() != 40 || got != want {
		t.Fatalf("got %d rows of %s, want 40 of %s", f.NumRows(), got, want)
	}
	austin, _ := f.Float("Austin")
	if !math.IsNaN(austin[0]) || math.IsNaN(austin[1]) {
		t.Errorf("Austin starts %v, want missing, then a value", austin[:2])
	}
	if d := f.Column("date"); d.Kind != String || d.Str[0] != "2001-01-22" {
		t.Errorf("date: got %+v, want 2001-01-22 first", d.Str[:2])
	}
	if n := f.Column("note"); n.Str[0] != "holiday" || n.Str[1] != "" {
		t.Errorf("note starts %q, want holiday and an empty value", n.Str[:2])
	}
}

// TestWriteCSVKeepsLeadingBOM: a first column whose name starts with U+FEFF
// reads back with it, not as a byte-order mark.
func TestWriteCSVKeepsLeadingBOM(t *testing.T) {
	f := &Frame{Columns: []*Column{{Name: "\ufeffa", Kind: Numeric, Float: []float64{1}}, {Name: "a", Kind: Numeric, Float: []float64{2}}}}
	var buf bytes.Buffer
	if err := WriteCSV(&buf, f); err != nil {
		t.Fatal(err)
	}
	back, err := ReadCSV(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if got := back.Names(); got[0] != "\ufeffa" || got[1] != "a" {
		t.Errorf("names %q, want %q", got, f.Names())
	}
}

// TestReadCSVBOMBeforeQuotedField: spreadsheet exports put a byte-order mark
// before a quoted first header; it belongs to the file, not the field.
func TestReadCSVBOMBeforeQuotedField(t *testing.T) {
	f, err := ReadCSV(strings.NewReader("\ufeff\"first name\",b\nx,1\n"))
	if err != nil {
		t.Fatalf("ReadCSV: %v", err)
	}
	if got := f.Names(); got[0] != "first name" || got[1] != "b" {
		t.Errorf("names = %q, want [first name b]", got)
	}
}

// TestReadFileFolder: a folder (a pipeline step's uri_folder input) reads
// as the one table file in it.
func TestReadFileFolder(t *testing.T) {
	for name, tc := range map[string]struct {
		files map[string]string
		want  string // the first column's name, or the error's message part
		err   bool
	}{
		"one csv":         {files: map[string]string{"train.csv": "a,b\n1,2\n"}, want: "a"},
		"mltable aside":   {files: map[string]string{"MLTable": "paths: []\n", "data.CSV": "z\n1\n", ".hidden.csv": "h\n"}, want: "z"},
		"no table":        {files: map[string]string{"notes.txt": "x"}, want: "holds no table file", err: true},
		"two tables":      {files: map[string]string{"a.csv": "a\n1\n", "b.parquet": ""}, want: "holds 2 table files (a.csv, b.parquet): name one", err: true},
		"empty folder":    {files: nil, want: "holds no table file", err: true},
		"sub-folder only": {files: map[string]string{"sub.csv/x": "a\n1\n"}, want: "holds no table file", err: true},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			for p, content := range tc.files {
				p = filepath.Join(dir, p)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			f, err := ReadFile(dir)
			if tc.err {
				if !hangar.IsCode(err, hangar.EINVALID) || !strings.Contains(hangar.ErrorMessage(err), tc.want) {
					t.Fatalf("got %v, want EINVALID containing %q", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := f.Names()[0]; got != tc.want {
				t.Errorf("got column %q, want %q", got, tc.want)
			}
		})
	}
}
