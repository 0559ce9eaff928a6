package dataprep

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/quality"
)

// ValidateOptions say which table to check against which expectations:
// a YAML schema file, one-line expectations, or both.
type ValidateOptions struct {
	Input  string // table to check, CSV or Parquet, or a folder holding one
	Schema string // YAML schema file (quality.ParseSchema); "" for none
	// Expect are expectations in the one-line syntax COL:CHECK,…
	// (quality.ParseExpect), checked after the schema's.
	Expect []string
	// Report, when set, is a JSON file to write the outcome to (its
	// folder is created), whether the table passed or not.
	Report string
}

// ValidateResult is the outcome of a check.
type ValidateResult struct {
	quality.Report
	Rows int // rows of the table checked
}

// report is the JSON form of a ValidateResult.
type report struct {
	Input    string   `json:"input"`
	OK       bool     `json:"ok"`
	Rows     int      `json:"rows"`
	Checks   int      `json:"checks"`
	Failures []string `json:"failures"`
}

// Validate checks o.Input against the expectations. When the table was
// checked, the result is returned even if expectations failed; then the
// error (EINVALID) counts the failures.
// Errors: EINVALID for no or malformed expectations, an unreadable table
// or failed expectations; ENOTFOUND (wrapped fs.ErrNotExist) for a
// missing file; ctx's error.
func Validate(ctx context.Context, o ValidateOptions) (*ValidateResult, error) {
	s := &quality.Schema{}
	if o.Schema != "" {
		b, err := os.ReadFile(o.Schema)
		if err != nil {
			return nil, fmt.Errorf("--schema: %w", err)
		}
		if s, err = quality.ParseSchema(b); err != nil {
			return nil, fmt.Errorf("--schema %s: %w", o.Schema, err)
		}
	}
	for _, x := range o.Expect {
		e, err := quality.ParseExpect(x)
		if err != nil {
			return nil, err
		}
		s.Columns = append(s.Columns, e)
	}
	if len(s.Columns) == 0 {
		return nil, hangar.Errorf(hangar.EINVALID, "nothing to check: give --schema or --expect")
	}
	f, err := readTable(o.Input, "input")
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res := &ValidateResult{Report: quality.Check(f, s), Rows: f.NumRows()}
	if o.Report != "" {
		if err := writeReport(o.Report, o.Input, res); err != nil {
			return nil, fmt.Errorf("--report: %w", err)
		}
	}
	if !res.OK() {
		return res, hangar.Errorf(hangar.EINVALID, "%s: %d of %d expectations failed", o.Input, len(res.Failures), res.Checks)
	}
	return res, nil
}

func writeReport(path, input string, res *ValidateResult) error {
	r := report{Input: input, OK: res.OK(), Rows: res.Rows, Checks: res.Checks, Failures: res.Failures}
	if r.Failures == nil {
		r.Failures = []string{}
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// SplitExpectations splits a list of one-line expectations separated by
// semicolons (the form a pipeline step's string input carries, e.g.
// "ridership:numeric,min=0; date:date"), dropping empty items.
func SplitExpectations(list string) []string {
	var out []string
	for _, x := range strings.Split(list, ";") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}
