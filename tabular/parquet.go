package tabular

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"

	"github.com/hangar-ml/hangar"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

// ReadParquet reads a flat Parquet file (one leaf column per top-level
// field; nested or repeated fields are an error). Booleans and integer and
// floating-point columns become numeric (nulls as NaN); byte-array columns
// become strings; DATE columns become "2006-01-02" strings and TIMESTAMP
// columns RFC 3339 strings, so they can drive a date split. Rows are read a
// row group at a time.
func ReadParquet(r io.ReaderAt, size int64) (f *Frame, err error) {
	// The Parquet library panics on some malformed files (slice bounds);
	// a bad upload must be an error, not a crash.
	defer func() {
		if p := recover(); p != nil {
			f, err = nil, hangar.Errorf(hangar.EINVALID, "malformed Parquet file: %v", p)
		}
	}()
	if err := checkFooter(r, size); err != nil {
		return nil, err
	}
	// The page index and bloom filters serve lookups, not full scans; skipping
	// them also skips allocations sized by lengths the file states.
	pf, err := parquet.OpenFile(r, size, parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return nil, hangar.Errorf(hangar.EINVALID, "open Parquet: %v", err)
	}
	fields := pf.Schema().Fields()
	f = &Frame{Columns: make([]*Column, len(fields))}
	conv := make([]func(parquet.Value, *Column), len(fields))
	for i, fd := range fields {
		if !fd.Leaf() || fd.Repeated() {
			return nil, hangar.Errorf(hangar.EINVALID, "Parquet column %q is nested or repeated; only flat tables are supported", fd.Name())
		}
		c := &Column{Name: fd.Name(), Kind: Numeric}
		f.Columns[i] = c
		conv[i], c.Kind = converter(fd.Type())
	}
	buf := make([]parquet.Row, 1024)
	for _, rg := range pf.RowGroups() {
		rows := rg.Rows()
		for {
			n, err := rows.ReadRows(buf)
			for _, row := range buf[:n] {
				if len(row) != len(fields) {
					rows.Close()
					return nil, hangar.Errorf(hangar.EINVALID, "Parquet row has %d values, want %d", len(row), len(fields))
				}
				for _, v := range row {
					j := v.Column()
					if j < 0 || j >= len(fields) {
						rows.Close()
						return nil, hangar.Errorf(hangar.EINVALID, "Parquet value for unknown column %d", j)
					}
					conv[j](v, f.Columns[j])
				}
			}
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				rows.Close()
				return nil, fmt.Errorf("read Parquet rows: %w", err)
			}
		}
		if err := rows.Close(); err != nil {
			return nil, fmt.Errorf("read Parquet rows: %w", err)
		}
	}
	return f, nil
}

// converter picks how a Parquet column's values become Frame values.
func converter(t parquet.Type) (func(parquet.Value, *Column), Kind) {
	var lt format.LogicalTypeValue
	if l := t.LogicalType(); l != nil {
		lt = l.Value
	}
	switch lt := lt.(type) {
	case *format.DateType:
		return func(v parquet.Value, c *Column) {
			if v.IsNull() {
				c.Str = append(c.Str, "")
				return
			}
			c.Str = append(c.Str, time.Unix(int64(v.Int32())*86400, 0).UTC().Format("2006-01-02"))
		}, String
	case *format.TimestampType:
		unit := time.Millisecond
		switch lt.Unit.Value.(type) {
		case *format.MicroSeconds:
			unit = time.Microsecond
		case *format.NanoSeconds:
			unit = time.Nanosecond
		}
		return func(v parquet.Value, c *Column) {
			if v.IsNull() {
				c.Str = append(c.Str, "")
				return
			}
			ts := time.Unix(0, 0).Add(time.Duration(v.Int64()) * unit).UTC()
			c.Str = append(c.Str, ts.Format(time.RFC3339Nano))
		}, String
	}
	switch t.Kind() {
	case parquet.ByteArray, parquet.FixedLenByteArray:
		return func(v parquet.Value, c *Column) {
			if v.IsNull() {
				c.Str = append(c.Str, "")
				return
			}
			c.Str = append(c.Str, string(v.ByteArray()))
		}, String
	}
	return func(v parquet.Value, c *Column) {
		if v.IsNull() {
			c.Float = append(c.Float, math.NaN())
			return
		}
		var x float64
		switch v.Kind() {
		case parquet.Boolean:
			if v.Boolean() {
				x = 1
			}
		case parquet.Int32:
			x = float64(v.Int32())
		case parquet.Int64:
			x = float64(v.Int64())
		case parquet.Float:
			x = float64(v.Float())
		case parquet.Double:
			x = v.Double()
		default:
			x, _ = strconv.ParseFloat(v.String(), 64)
		}
		c.Float = append(c.Float, x)
	}, Numeric
}

// checkFooter validates the magic numbers and the footer length before the
// Parquet library reads the footer: the library allocates whatever length
// the file states, so a corrupt length would allocate gigabytes.
func checkFooter(r io.ReaderAt, size int64) error {
	if size < 12 {
		return hangar.Errorf(hangar.EINVALID, "not a Parquet file: %d bytes", size)
	}
	var head [4]byte
	var tail [8]byte
	if _, err := r.ReadAt(head[:], 0); err != nil {
		return fmt.Errorf("read Parquet header: %w", err)
	}
	if _, err := r.ReadAt(tail[:], size-8); err != nil {
		return fmt.Errorf("read Parquet footer: %w", err)
	}
	if string(head[:]) != "PAR1" || string(tail[4:]) != "PAR1" {
		return hangar.Errorf(hangar.EINVALID, "not a Parquet file (no PAR1 magic)")
	}
	if n := int64(binary.LittleEndian.Uint32(tail[:4])); n > size-12 {
		return hangar.Errorf(hangar.EINVALID, "malformed Parquet file: footer of %d bytes in a %d-byte file", n, size)
	}
	return nil
}
