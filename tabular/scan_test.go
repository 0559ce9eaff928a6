package tabular

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hangar-ml/hangar"
)

// TestScanParquetMatchesReadParquet reads the same file whole and in
// batches of several sizes: the batches laid end to end are the table.
func TestScanParquetMatchesReadParquet(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "chicago40.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := ReadParquet(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	for _, batch := range []int{1, 7, 40, 1000} {
		got := &Frame{}
		var calls int
		err := ScanParquet(t.Context(), bytes.NewReader(b), int64(len(b)), batch, func(f *Frame) error {
			calls++
			if f.NumRows() > batch {
				t.Errorf("batch %d: got %d rows in one call", batch, f.NumRows())
			}
			if len(got.Columns) == 0 {
				for _, c := range f.Columns {
					got.Columns = append(got.Columns, &Column{Name: c.Name, Kind: c.Kind})
				}
			}
			for j, c := range f.Columns {
				got.Columns[j].Float = append(got.Columns[j].Float, c.Float...)
				got.Columns[j].Str = append(got.Columns[j].Str, c.Str...)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("batch %d: %v", batch, err)
		}
		if wantCalls := (40 + batch - 1) / batch; calls != wantCalls {
			t.Errorf("batch %d: got %d calls, want %d", batch, calls, wantCalls)
		}
		if g, w := strings.Join(got.Names(), ","), strings.Join(want.Names(), ","); g != w {
			t.Fatalf("batch %d: names got %s, want %s", batch, g, w)
		}
		for j, wc := range want.Columns {
			gc := got.Columns[j]
			if gc.Kind != wc.Kind || gc.Len() != wc.Len() {
				t.Fatalf("batch %d: column %s got kind %v len %d, want %v %d", batch, wc.Name, gc.Kind, gc.Len(), wc.Kind, wc.Len())
			}
			for i := range wc.Len() {
				if gc.Text(i) != wc.Text(i) || gc.IsMissing(i) != wc.IsMissing(i) {
					t.Fatalf("batch %d: %s[%d] got %q, want %q", batch, wc.Name, i, gc.Text(i), wc.Text(i))
				}
			}
		}
	}
}

func TestScanParquetStopsOnCallbackError(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "chicago40.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	stop := errors.New("stop")
	calls := 0
	err = ScanParquet(t.Context(), bytes.NewReader(b), int64(len(b)), 10, func(*Frame) error {
		calls++
		return stop
	})
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("got %v after %d calls, want stop after 1", err, calls)
	}
	err = ScanParquet(t.Context(), bytes.NewReader([]byte("PAR1 not parquet PAR1")), 21, 10, func(*Frame) error { return nil })
	if hangar.ErrorCode(err) != hangar.EINVALID {
		t.Errorf("garbage: got %v, want EINVALID", err)
	}
}

// TestCSVHeaderAgreesWithReadCSV holds CSVHeader to ReadCSV's header rules.
func TestCSVHeaderAgreesWithReadCSV(t *testing.T) {
	for _, header := range [][]string{
		{"a", "b"}, {" a ", "b"}, {"a", ""}, {"a", " "}, {"a", "a"}, {"a", " a"}, {"x"},
	} {
		csv := `"` + strings.Join(header, `","`) + `"` + "\n"
		_, wantErr := ReadCSV(strings.NewReader(csv))
		names, err := CSVHeader(header)
		if (err == nil) != (wantErr == nil) || (err != nil && err.Error() != wantErr.Error()) {
			t.Errorf("%q: got %v, want %v", header, err, wantErr)
		}
		if err == nil {
			f, _ := ReadCSV(strings.NewReader(csv))
			if got, want := strings.Join(names, "|"), strings.Join(f.Names(), "|"); got != want {
				t.Errorf("%q: got names %q, want %q", header, got, want)
			}
		}
	}
}

// TestCellRulesAgreeWithReadCSV holds IsMissing and ParseNumber to what
// ReadCSV makes of a one-column table holding the cell.
func TestCellRulesAgreeWithReadCSV(t *testing.T) {
	for _, cell := range []string{"", "NA", "NaN", "nan", "NAN", "null", "None", "N/A", "na", "n/a", "1", " 2 ", "1e3", "Inf", "-inf", "1e999", "0x1p3", "abc", "true", "1_000"} {
		f, err := ReadCSV(strings.NewReader("x\n\"" + cell + "\"\n"))
		if err != nil {
			t.Fatalf("%q: %v", cell, err)
		}
		c := f.Columns[0]
		v, num := ParseNumber(cell)
		missing := IsMissing(cell) || (num && math.IsNaN(v))
		if got, want := missing, c.IsMissing(0); got != want {
			t.Errorf("%q: missing got %v, want %v", cell, got, want)
		}
		if got, want := num || IsMissing(cell), c.Kind == Numeric; got != want {
			t.Errorf("%q: numeric got %v, want %v", cell, got, want)
		}
	}
}
