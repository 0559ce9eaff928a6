package dataprep

import (
	"context"
	"strings"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/tabular"
)

// SplitOptions say how to split a table. A split is random (Ratio of the
// rows to Train, reproducible with Seed) unless DateColumn and Before are
// set: then rows dated before Before go to Train, the rest to Test.
type SplitOptions struct {
	Input string // table to split, CSV or Parquet, or a folder holding one
	Train string // CSV file for the training rows (its folder is created)
	Test  string // CSV file for the test rows
	// Ratio is the fraction of rows for training, between 0 and 1
	// exclusive (random split); it must be 0 for a date split.
	Ratio float64
	Seed  uint64 // random seed (random split)
	// DateColumn and Before (a date such as 2014-01-01) ask for a split
	// by date.
	DateColumn, Before string
}

// SplitResult counts the rows each file received.
type SplitResult struct {
	TrainRows, TestRows int
}

// Split reads o.Input and writes its rows to o.Train and o.Test, keeping
// their order within each file.
// Errors: EINVALID for contradictory or missing options, an unreadable
// table or a bad date; ENOTFOUND (wrapped fs.ErrNotExist) for a missing
// input; ctx's error.
func Split(ctx context.Context, o SplitOptions) (*SplitResult, error) {
	if o.Train == "" || o.Test == "" {
		return nil, hangar.Errorf(hangar.EINVALID, "--output-train and --output-test are required")
	}
	if err := distinctPaths(map[string]string{"--input": o.Input, "--output-train": o.Train, "--output-test": o.Test}); err != nil {
		return nil, err
	}
	byDate := o.DateColumn != "" || o.Before != ""
	switch {
	case byDate && o.Ratio != 0:
		return nil, hangar.Errorf(hangar.EINVALID, "use either --ratio or --date-column with --before, not both")
	case byDate && (o.DateColumn == "" || o.Before == ""):
		return nil, hangar.Errorf(hangar.EINVALID, "a date split needs both --date-column and --before")
	case !byDate && !(o.Ratio > 0 && o.Ratio < 1):
		return nil, hangar.Errorf(hangar.EINVALID, "--ratio %v: want a fraction between 0 and 1 (exclusive)", o.Ratio)
	}
	f, err := readTable(o.Input, "input")
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var tr, te []int
	if byDate {
		cut, err := tabular.ParseTime(o.Before)
		if err != nil {
			return nil, hangar.Errorf(hangar.EINVALID, "--before: %s", hangar.ErrorMessage(err))
		}
		if f.Column(o.DateColumn) == nil {
			return nil, hangar.Errorf(hangar.EINVALID, "--date-column %q not found (columns: %s)", o.DateColumn, strings.Join(f.Names(), ", "))
		}
		if tr, te, err = tabular.SplitByDate(f, o.DateColumn, cut); err != nil {
			return nil, err
		}
	} else {
		tr, te = tabular.SplitRandom(f.NumRows(), o.Ratio, o.Seed)
	}
	if err := writeCSV(o.Train, f.Take(tr)); err != nil {
		return nil, err
	}
	if err := writeCSV(o.Test, f.Take(te)); err != nil {
		return nil, err
	}
	return &SplitResult{TrainRows: len(tr), TestRows: len(te)}, nil
}
