package profile

import (
	"context"
	"io"

	"github.com/hangar-ml/hangar/tabular"
)

// Parquet profiles a flat Parquet file, read as tabular.ReadParquet reads
// it but a batch of rows at a time (tabular.ScanParquet). Numeric Parquet
// columns (integers, floats, booleans as 0/1) are integer when every value
// is a whole number, else number; byte-array columns are text, whatever
// they hold, as tabular reads them; DATE and TIMESTAMP columns are
// datetime. Nulls are missing. Errors: EINVALID for a file that is not
// flat Parquet or is malformed.
func Parquet(ctx context.Context, r io.ReaderAt, size int64) (*Profile, error) {
	var t *table
	err := tabular.ScanParquet(ctx, r, size, 4096, func(f *tabular.Frame) error {
		if t == nil {
			if err := utf8Names(f.Names()); err != nil {
				return err
			}
			t = &table{cols: make([]*column, len(f.Columns))}
			for i, c := range f.Columns {
				if c.Kind == tabular.String {
					t.cols[i] = newTextColumn(c.Name)
				} else {
					t.cols[i] = newColumn(c.Name)
				}
			}
		}
		for i, c := range f.Columns {
			col := t.cols[i]
			if c.Kind == tabular.String {
				for _, s := range c.Str {
					col.addText(s)
				}
			} else {
				for _, v := range c.Float {
					col.addFloat(v)
				}
			}
		}
		t.rows += int64(f.NumRows())
		return nil
	})
	if err != nil {
		return nil, err
	}
	if t == nil {
		// No rows: the columns still have names, but ScanParquet calls
		// back only with rows, so read the schema from an empty read.
		names, kinds, err := parquetColumns(r, size)
		if err != nil {
			return nil, err
		}
		if err := utf8Names(names); err != nil {
			return nil, err
		}
		t = &table{cols: make([]*column, len(names))}
		for i, n := range names {
			if kinds[i] == tabular.String {
				t.cols[i] = newTextColumn(n)
			} else {
				t.cols[i] = newColumn(n)
			}
		}
	}
	return t.result(), nil
}

// parquetColumns returns the names and kinds of a Parquet file's columns.
func parquetColumns(r io.ReaderAt, size int64) ([]string, []tabular.Kind, error) {
	f, err := tabular.ReadParquet(r, size) // no rows: nothing to hold
	if err != nil {
		return nil, nil, err
	}
	kinds := make([]tabular.Kind, len(f.Columns))
	for i, c := range f.Columns {
		kinds[i] = c.Kind
	}
	return f.Names(), kinds, nil
}
