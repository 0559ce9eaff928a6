// Package sampledata ships real tables inside the binary, so `hangar
// quickstart` runs on a fresh machine with nothing downloaded: the Chicago
// L-train ridership table from the R package modeldata 1.1.0 (MIT licence,
// Max Kuhn and contributors; see LICENSE), the same file as
// testdata/chicago/chicago.csv, gzip-compressed.
package sampledata

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"fmt"
	"io"
	"os"
)

//go:embed chicago.csv.gz
var chicagoGz []byte

// Chicago returns the Chicago ridership table as CSV: 5,698 daily rows of
// `ridership` at Clark/Lake (thousands), lagged ridership at 19 other
// stations, weather, sports schedules and `date`.
func Chicago() (io.Reader, error) {
	zr, err := gzip.NewReader(bytes.NewReader(chicagoGz))
	if err != nil {
		return nil, fmt.Errorf("sample data: %w", err)
	}
	return zr, nil
}

// WriteChicago writes the table to path.
func WriteChicago(path string) error {
	r, err := Chicago()
	if err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("sample data: %w", err)
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return fmt.Errorf("sample data: %w", err)
	}
	return f.Close()
}
