package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hangar-ml/hangar/quality"
	"github.com/hangar-ml/hangar/tabular"
)

func newSplitCmd() *cobra.Command {
	var input, outTrain, outTest, dateCol, before string
	var ratio float64
	var seed uint64
	cmd := &cobra.Command{
		Use:   "split",
		Short: "Split a table into training and test files, at random or by date",
		Long: `Split a table into two CSV files, either at random (--ratio of the rows to
the training file, reproducible with --seed) or by date (rows whose
--date-column is before --before go to the training file, the rest to the
test file). Row order is kept within each file.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if outTrain == "" || outTest == "" {
				return invalidf("--output-train and --output-test are required")
			}
			if err := distinctPaths(map[string]string{"--input": input, "--output-train": outTrain, "--output-test": outTest}); err != nil {
				return err
			}
			byDate := dateCol != "" || before != ""
			ratioSet := cmd.Flags().Changed("ratio")
			switch {
			case byDate && ratioSet:
				return invalidf("use either --ratio or --date-column with --before, not both")
			case byDate && (dateCol == "" || before == ""):
				return invalidf("a date split needs both --date-column and --before")
			case !byDate && !(ratio > 0 && ratio < 1):
				return invalidf("--ratio %v: want a fraction between 0 and 1 (exclusive)", ratio)
			}
			f, err := readTable(input, "input")
			if err != nil {
				return err
			}
			var tr, te []int
			if byDate {
				cut, err := tabular.ParseTime(before)
				if err != nil {
					return cliError(err, "--before")
				}
				if f.Column(dateCol) == nil {
					return invalidf("--date-column %q not found (columns: %s)", dateCol, strings.Join(f.Names(), ", "))
				}
				if tr, te, err = tabular.SplitByDate(f, dateCol, cut); err != nil {
					return cliError(err, "")
				}
			} else {
				tr, te = tabular.SplitRandom(f.NumRows(), ratio, seed)
			}
			if err := writeCSVFile(outTrain, f.Take(tr)); err != nil {
				return err
			}
			if err := writeCSVFile(outTest, f.Take(te)); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "%d rows to %s, %d rows to %s\n", len(tr), outTrain, len(te), outTest)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&input, "input", "", "table to split (CSV or Parquet)")
	fl.StringVar(&outTrain, "output-train", "", "CSV file for the training rows")
	fl.StringVar(&outTest, "output-test", "", "CSV file for the test rows")
	fl.Float64Var(&ratio, "ratio", 0.8, "fraction of rows for training (random split)")
	fl.Uint64Var(&seed, "seed", 0, "random seed (random split)")
	fl.StringVar(&dateCol, "date-column", "", "date column (date split)")
	fl.StringVar(&before, "before", "", "rows dated before this go to training, e.g. 2014-01-01 (date split)")
	return cmd
}

func newValidateCmd() *cobra.Command {
	var input, schemaPath string
	var expects []string
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "Check a table against a schema and data-quality expectations",
		Long: `Check a table against a schema and data-quality expectations: column
presence, types (numeric, string, date), missing values (not_null,
max_null_fraction), numeric ranges (min, max) and allowed values. Every
failed expectation is listed on stdout and the exit status is non-zero.

--schema FILE (YAML):
  columns:
    - {name: ridership, type: numeric, not_null: true, min: 0, max: 50}
    - {name: date, type: date}
    - {name: weather, type: string, max_null_fraction: 0.05, allowed: [rain, snow, clear]}
  min_rows: 100
  allow_extra_columns: true

--expect COL:CHECK,CHECK,… (repeatable), checks as above:
  --expect ridership:numeric,not_null,min=0,max=50 --expect date:date --expect weather:allowed=rain|snow,max_null=0.05`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s := &quality.Schema{}
			if schemaPath != "" {
				b, err := os.ReadFile(schemaPath)
				if err != nil {
					return cliError(err, "--schema")
				}
				if s, err = quality.ParseSchema(b); err != nil {
					return cliError(err, "--schema %s", schemaPath)
				}
			}
			for _, x := range expects {
				e, err := quality.ParseExpect(x)
				if err != nil {
					return err
				}
				s.Columns = append(s.Columns, e)
			}
			if len(s.Columns) == 0 {
				return invalidf("nothing to check: give --schema or --expect")
			}
			f, err := readTable(input, "input")
			if err != nil {
				return err
			}
			r := quality.Check(f, s)
			out := cmd.OutOrStdout()
			for _, msg := range r.Failures {
				fmt.Fprintln(out, "FAIL", msg)
			}
			if !r.OK() {
				return invalidf("%s: %d of %d expectations failed", input, len(r.Failures), r.Checks)
			}
			fmt.Fprintf(out, "ok: %s passed %d expectations (%d rows)\n", input, r.Checks, f.NumRows())
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&input, "input", "", "table to check (CSV or Parquet)")
	fl.StringVar(&schemaPath, "schema", "", "YAML schema file")
	fl.StringArrayVar(&expects, "expect", nil, "column expectation COL:CHECK,… (repeatable)")
	return cmd
}
