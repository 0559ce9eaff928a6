package tabular

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/hangar-ml/hangar"
)

// isMissing reports whether a CSV cell stands for a missing value.
func isMissing(s string) bool {
	switch s {
	case "", "NA", "NaN", "nan", "null", "NULL", "None", "N/A", "na":
		return true
	}
	return false
}

// parseNumber reads a numeric cell. Infinities are accepted, as strconv
// spells them, so a validator can reject them by name later.
func parseNumber(s string) (float64, bool) {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && ne.Err == strconv.ErrRange {
			return v, true // ±Inf or 0 on overflow/underflow, as ParseFloat returns
		}
		return 0, false
	}
	return v, true
}

// ReadCSV reads a CSV table with a header row. It streams: each record is
// parsed into its columns as it is read. A column is numeric while every
// value in it parses as a number or is missing ("", NA, NaN, null, …); at
// the first other value it becomes a string column, and the numbers read
// before are kept in their shortest exact form (missing ones as "").
// Errors: EINVALID for malformed CSV (with its line), an empty input, or
// duplicate or empty column names.
func ReadCSV(r io.Reader) (*Frame, error) {
	// A byte-order mark (spreadsheet exports write one) belongs to the
	// file, not to the first field: drop it before the CSV parser sees it,
	// so that a quoted first field after it parses.
	br := bufio.NewReader(r)
	if b, err := br.Peek(3); err == nil && string(b) == "\ufeff" {
		br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err == io.EOF {
		return nil, hangar.Errorf(hangar.EINVALID, "empty CSV: no header row")
	}
	if err != nil {
		return nil, csvError(err)
	}
	f := &Frame{Columns: make([]*Column, len(header))}
	seen := map[string]bool{}
	for i, h := range header {
		h = strings.TrimSpace(h)
		if h == "" {
			return nil, hangar.Errorf(hangar.EINVALID, "CSV header: column %d has no name", i+1)
		}
		if seen[h] {
			return nil, hangar.Errorf(hangar.EINVALID, "CSV header: duplicate column %q", h)
		}
		seen[h] = true
		f.Columns[i] = &Column{Name: h, Kind: Numeric}
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, csvError(err)
		}
		for i, s := range rec {
			c := f.Columns[i]
			if c.Kind == String {
				if isMissing(s) {
					s = ""
				}
				c.Str = append(c.Str, s)
				continue
			}
			if isMissing(s) {
				c.Float = append(c.Float, math.NaN())
				continue
			}
			if v, ok := parseNumber(s); ok {
				c.Float = append(c.Float, v)
				continue
			}
			toString(c)
			c.Str = append(c.Str, s)
		}
	}
	return f, nil
}

// toString turns a numeric column into a string column.
func toString(c *Column) {
	c.Str = make([]string, len(c.Float), max(len(c.Float)*2, 16))
	for i, v := range c.Float {
		c.Str[i] = FormatFloat(v)
	}
	c.Float = nil
	c.Kind = String
}

func csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return hangar.Errorf(hangar.EINVALID, "CSV line %d: %v", pe.Line, pe.Err)
	}
	return fmt.Errorf("read CSV: %w", err)
}

// WriteCSV writes the frame as CSV with a header row. Numbers are written in
// their shortest exact form, missing values as empty cells. A row of a
// one-column table whose value is empty is written as "" (two quotes), not
// as an empty line, which CSV readers skip: what WriteCSV writes, ReadCSV
// reads back with every row.
func WriteCSV(w io.Writer, f *Frame) error {
	// The csv.Writer writes into bw itself (bufio.NewWriter returns a
	// *bufio.Writer of at least the default size as it is), so the "" lines
	// written to bw directly keep their place among its records.
	bw := bufio.NewWriter(w)
	cw := csv.NewWriter(bw)
	write := func(rec []string) error {
		if len(rec) == 1 && rec[0] == "" {
			_, err := bw.WriteString(`""` + "\n")
			return err
		}
		return cw.Write(rec)
	}
	names := f.Names()
	if len(names) > 0 && strings.HasPrefix(names[0], "\ufeff") {
		// ReadCSV takes a U+FEFF at the start of the file for a
		// byte-order mark and drops it; a BOM in front keeps the name's own.
		if _, err := bw.WriteString("\ufeff"); err != nil {
			return fmt.Errorf("write CSV: %w", err)
		}
	}
	if err := write(names); err != nil {
		return fmt.Errorf("write CSV: %w", err)
	}
	rec := make([]string, len(f.Columns))
	for i := range f.NumRows() {
		for j, c := range f.Columns {
			rec[j] = c.Text(i)
		}
		if err := write(rec); err != nil {
			return fmt.Errorf("write CSV: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write CSV: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write CSV: %w", err)
	}
	return nil
}

// WriteCSVFile writes the frame as CSV to path (see WriteCSV), creating
// path's folder when it does not exist.
func WriteCSVFile(path string, f *Frame) error {
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	fh, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := WriteCSV(fh, f); err != nil {
		fh.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := fh.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
