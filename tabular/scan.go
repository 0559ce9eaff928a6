package tabular

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/hangar-ml/hangar"
	"github.com/parquet-go/parquet-go"
)

// This file holds what a streaming reader of tables needs to read them as
// ReadCSV and ReadParquet do without holding the whole table: the missing
// and number rules of a CSV cell, the header rules, and a Parquet reader
// that hands over batches of rows.

// IsMissing reports whether a CSV cell stands for a missing value: "", NA,
// NaN, nan, null, NULL, None, N/A or na — the values ReadCSV reads as NaN in
// a numeric column and as "" in a string column.
func IsMissing(s string) bool { return isMissing(s) }

// ParseNumber reads a CSV cell as ReadCSV does: a column is numeric while
// every value that is not missing parses here. Surrounding spaces are
// ignored; infinities are accepted. A cell such as "NAN" that parses as a
// NaN reads as a missing value.
func ParseNumber(s string) (float64, bool) { return parseNumber(s) }

// CSVHeader checks a CSV header row as ReadCSV does and returns the column
// names with their surrounding spaces removed. A byte-order mark before
// the first name must have been dropped already. Errors: EINVALID for an
// empty or duplicate name.
func CSVHeader(header []string) ([]string, error) {
	names := make([]string, len(header))
	seen := make(map[string]bool, len(header))
	for i, h := range header {
		h = strings.TrimSpace(h)
		if h == "" {
			return nil, hangar.Errorf(hangar.EINVALID, "CSV header: column %d has no name", i+1)
		}
		if seen[h] {
			return nil, hangar.Errorf(hangar.EINVALID, "CSV header: duplicate column %q", h)
		}
		seen[h] = true
		names[i] = h
	}
	return names, nil
}

// ScanParquet reads a flat Parquet file as ReadParquet does, but hands its
// rows to fn in batches of at most batch rows instead of holding them all:
// each call gets a Frame with the file's columns (same names and kinds as
// ReadParquet gives) holding that batch only. The Frame and its slices are
// reused by the next call, so fn must not keep them. Memory is one batch
// and one row group's pages, whatever the number of rows. An error from fn
// stops the scan and is returned as it is. Errors: EINVALID for a file that
// is not flat Parquet or is malformed.
func ScanParquet(ctx context.Context, r io.ReaderAt, size int64, batch int, fn func(*Frame) error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = hangar.Errorf(hangar.EINVALID, "malformed Parquet file: %v", p)
		}
	}()
	if batch <= 0 {
		batch = 4096
	}
	if err := checkFooter(r, size); err != nil {
		return err
	}
	pf, err := parquet.OpenFile(r, size, parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return hangar.Errorf(hangar.EINVALID, "open Parquet: %v", err)
	}
	fields := pf.Schema().Fields()
	f := &Frame{Columns: make([]*Column, len(fields))}
	conv := make([]func(parquet.Value, *Column), len(fields))
	for i, fd := range fields {
		if !fd.Leaf() || fd.Repeated() {
			return hangar.Errorf(hangar.EINVALID, "Parquet column %q is nested or repeated; only flat tables are supported", fd.Name())
		}
		c := &Column{Name: fd.Name()}
		f.Columns[i] = c
		conv[i], c.Kind = converter(fd.Type())
	}
	flush := func() error {
		if f.NumRows() == 0 {
			return nil
		}
		if err := fn(f); err != nil {
			return err
		}
		for _, c := range f.Columns {
			c.Float, c.Str = c.Float[:0], c.Str[:0]
		}
		return nil
	}
	buf := make([]parquet.Row, min(batch, 1024))
	var fnErr error
	for _, rg := range pf.RowGroups() {
		rows := rg.Rows()
		for {
			if err := ctx.Err(); err != nil {
				rows.Close()
				return err
			}
			n, err := rows.ReadRows(buf)
			for _, row := range buf[:n] {
				if len(row) != len(fields) {
					rows.Close()
					return hangar.Errorf(hangar.EINVALID, "Parquet row has %d values, want %d", len(row), len(fields))
				}
				for _, v := range row {
					j := v.Column()
					if j < 0 || j >= len(fields) {
						rows.Close()
						return hangar.Errorf(hangar.EINVALID, "Parquet value for unknown column %d", j)
					}
					conv[j](v, f.Columns[j])
				}
				if f.NumRows() >= batch {
					if fnErr = flush(); fnErr != nil {
						rows.Close()
						return fnErr
					}
				}
			}
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				rows.Close()
				return fmt.Errorf("read Parquet rows: %w", err)
			}
		}
		if err := rows.Close(); err != nil {
			return fmt.Errorf("read Parquet rows: %w", err)
		}
	}
	return flush()
}
