// Package tabular reads tables (CSV and Parquet) into a column-oriented Frame:
// numeric columns as float64 with NaN for missing values, everything else as
// strings; it writes frames back as CSV and splits their rows for training
// and testing (by date or at random). It is the input side of the built-in
// trainers, the batch scorer and the data checks, none of which need Python.
package tabular

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hangar-ml/hangar"
)

// Kind says how a column is stored.
type Kind int

// Column kinds.
const (
	Numeric Kind = iota // float64 values, NaN = missing
	String              // text values, "" = missing
)

// String returns "numeric" or "string".
func (k Kind) String() string {
	if k == String {
		return "string"
	}
	return "numeric"
}

// Column is one named column. Exactly one of Float and Str holds the values,
// as Kind says.
type Column struct {
	Name  string
	Kind  Kind
	Float []float64
	Str   []string
}

// Len returns the number of values.
func (c *Column) Len() int {
	if c.Kind == String {
		return len(c.Str)
	}
	return len(c.Float)
}

// IsMissing reports whether row i holds no value.
func (c *Column) IsMissing(i int) bool {
	if c.Kind == String {
		return c.Str[i] == ""
	}
	return math.IsNaN(c.Float[i])
}

// Text returns row i as text: strings as they are, numbers in their shortest
// form that reads back exactly, missing values as "".
func (c *Column) Text(i int) string {
	if c.Kind == String {
		return c.Str[i]
	}
	return FormatFloat(c.Float[i])
}

// FormatFloat writes v in its shortest exact form, NaN as "".
func FormatFloat(v float64) string {
	if math.IsNaN(v) {
		return ""
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// Frame is a table held column by column. All columns have the same length.
type Frame struct {
	Columns []*Column
}

// NumRows returns the number of rows.
func (f *Frame) NumRows() int {
	if len(f.Columns) == 0 {
		return 0
	}
	return f.Columns[0].Len()
}

// Names returns the column names in order.
func (f *Frame) Names() []string {
	names := make([]string, len(f.Columns))
	for i, c := range f.Columns {
		names[i] = c.Name
	}
	return names
}

// Column returns the named column, or nil.
func (f *Frame) Column(name string) *Column {
	for _, c := range f.Columns {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// Float returns the values of a numeric column. Errors: ENOTFOUND when the
// column is absent, EINVALID when it holds text.
func (f *Frame) Float(name string) ([]float64, error) {
	c := f.Column(name)
	if c == nil {
		return nil, hangar.Errorf(hangar.ENOTFOUND, "column %q not found (columns: %s)", name, strings.Join(f.Names(), ", "))
	}
	if c.Kind != Numeric {
		return nil, hangar.Errorf(hangar.EINVALID, "column %q is not numeric (e.g. %q)", name, firstValue(c))
	}
	return c.Float, nil
}

func firstValue(c *Column) string {
	for _, s := range c.Str {
		if s != "" {
			return s
		}
	}
	return ""
}

// Features returns the named numeric columns, in the order given. It is how
// trainers and scorers take their inputs: a missing column or a text column
// is an error that names it.
func (f *Frame) Features(names []string) ([][]float64, error) {
	cols := make([][]float64, len(names))
	for i, n := range names {
		v, err := f.Float(n)
		if err != nil {
			return nil, err
		}
		cols[i] = v
	}
	return cols, nil
}

// RowMajor returns the named numeric columns as one row-major matrix
// (row i, feature j at i*len(names)+j), the layout of batch prediction.
func (f *Frame) RowMajor(names []string) ([]float64, error) {
	cols, err := f.Features(names)
	if err != nil {
		return nil, err
	}
	n := f.NumRows()
	out := make([]float64, n*len(names))
	for j, c := range cols {
		for i, v := range c {
			out[i*len(names)+j] = v
		}
	}
	return out, nil
}

// Take returns a new frame with the given rows, in that order.
func (f *Frame) Take(rows []int) *Frame {
	out := &Frame{Columns: make([]*Column, len(f.Columns))}
	for j, c := range f.Columns {
		nc := &Column{Name: c.Name, Kind: c.Kind}
		if c.Kind == String {
			nc.Str = make([]string, len(rows))
			for i, r := range rows {
				nc.Str[i] = c.Str[r]
			}
		} else {
			nc.Float = make([]float64, len(rows))
			for i, r := range rows {
				nc.Float[i] = c.Float[r]
			}
		}
		out.Columns[j] = nc
	}
	return out
}

// Drop returns a frame without the named columns (absent names are ignored).
// Columns are shared with f, not copied.
func (f *Frame) Drop(names ...string) *Frame {
	drop := map[string]bool{}
	for _, n := range names {
		drop[n] = true
	}
	out := &Frame{}
	for _, c := range f.Columns {
		if !drop[c.Name] {
			out.Columns = append(out.Columns, c)
		}
	}
	return out
}

// ReadFile reads a table by its file extension: .parquet (or .pq) as
// Parquet, anything else as CSV. A folder (a pipeline step's uri_folder
// or mltable input) stands for the one table file in it: its only file
// named *.csv, *.parquet or *.pq, hidden files and an MLTable file aside.
// Errors: EINVALID for a folder without exactly one table file.
func ReadFile(path string) (*Frame, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read table: %w", err)
	}
	defer fh.Close()
	if st, err := fh.Stat(); err == nil && st.IsDir() {
		file, err := TableInFolder(path)
		if err != nil {
			return nil, err
		}
		return ReadFile(file)
	}
	var f *Frame
	switch strings.ToLower(filepath.Ext(path)) {
	case ".parquet", ".pq":
		st, err := fh.Stat()
		if err != nil {
			return nil, fmt.Errorf("read table: %w", err)
		}
		f, err = ReadParquet(fh, st.Size())
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	default:
		f, err = ReadCSV(fh)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	return f, nil
}

// TableInFolder returns the path of the one table file in folder dir: its
// only regular file named *.csv, *.parquet or *.pq (hidden files aside).
// Errors: EINVALID when there is none or more than one.
func TableInFolder(dir string) (string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return "", fmt.Errorf("read table: %w", err)
	}
	var tables []string
	for _, e := range ents {
		name := e.Name()
		switch strings.ToLower(filepath.Ext(name)) {
		case ".csv", ".parquet", ".pq":
			if e.Type().IsRegular() && !strings.HasPrefix(name, ".") {
				tables = append(tables, name)
			}
		}
	}
	switch len(tables) {
	case 0:
		return "", hangar.Errorf(hangar.EINVALID, "folder %s holds no table file (*.csv, *.parquet)", dir)
	case 1:
		return filepath.Join(dir, tables[0]), nil
	}
	return "", hangar.Errorf(hangar.EINVALID, "folder %s holds %d table files (%s): name one", dir, len(tables), strings.Join(tables, ", "))
}

// ParseTime reads a date or time in one of the usual forms: 2006-01-02,
// 2006-01-02T15:04:05Z07:00 (RFC 3339), "2006-01-02 15:04:05", or
// 2006-01-02T15:04:05 (taken as UTC).
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{"2006-01-02", time.RFC3339Nano, "2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02 15:04:05Z07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, hangar.Errorf(hangar.EINVALID, "%q is not a date (want 2006-01-02 or RFC 3339)", s)
}
