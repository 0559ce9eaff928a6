package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/hangar-ml/hangar/dataprep"
)

func newSplitCmd() *cobra.Command {
	var o dataprep.SplitOptions
	cmd := &cobra.Command{
		Use:   "split",
		Short: "Split a table into training and test files, at random or by date",
		Long: `Split a table into two CSV files, either at random (--ratio of the rows to
the training file, reproducible with --seed) or by date (rows whose
--date-column is before --before go to the training file, the rest to the
test file). Row order is kept within each file. The input may be a folder
holding one table file; the output files' folders are created.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// The flag's default 0.8 applies to a random split only: a
			// date split refuses an explicit --ratio, even --ratio 0.
			if byDate := o.DateColumn != "" || o.Before != ""; byDate && !cmd.Flags().Changed("ratio") {
				o.Ratio = 0
			} else if byDate && o.Ratio == 0 {
				return invalidf("use either --ratio or --date-column with --before, not both")
			}
			res, err := dataprep.Split(cmd.Context(), o)
			if err != nil {
				return cliError(err, "")
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "%d rows to %s, %d rows to %s\n", res.TrainRows, o.Train, res.TestRows, o.Test)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.Input, "input", "", "table to split (CSV or Parquet, or a folder holding one)")
	fl.StringVar(&o.Train, "output-train", "", "CSV file for the training rows")
	fl.StringVar(&o.Test, "output-test", "", "CSV file for the test rows")
	fl.Float64Var(&o.Ratio, "ratio", 0.8, "fraction of rows for training (random split)")
	fl.Uint64Var(&o.Seed, "seed", 0, "random seed (random split)")
	fl.StringVar(&o.DateColumn, "date-column", "", "date column (date split)")
	fl.StringVar(&o.Before, "before", "", "rows dated before this go to training, e.g. 2014-01-01 (date split)")
	return cmd
}

func newValidateCmd() *cobra.Command {
	var o dataprep.ValidateOptions
	var expectList string
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "Check a table against a schema and data-quality expectations",
		Long: `Check a table against a schema and data-quality expectations: column
presence, types (numeric, string, date), missing values (not_null,
max_null_fraction), numeric ranges (min, max) and allowed values. Every
failed expectation is listed on stdout and the exit status is non-zero.
--report FILE also writes the outcome as JSON (ok, rows, checks, failures).

--schema FILE (YAML):
  columns:
    - {name: ridership, type: numeric, not_null: true, min: 0, max: 50}
    - {name: date, type: date}
    - {name: weather, type: string, max_null_fraction: 0.05, allowed: [rain, snow, clear]}
  min_rows: 100
  allow_extra_columns: true

--expect COL:CHECK,CHECK,… (repeatable), checks as above:
  --expect ridership:numeric,not_null,min=0,max=50 --expect date:date --expect weather:allowed=rain|snow,max_null=0.05

--expect-list takes several expectations separated by semicolons:
  --expect-list 'ridership:numeric,min=0; date:date'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Expect = append(o.Expect, dataprep.SplitExpectations(expectList)...)
			res, err := dataprep.Validate(cmd.Context(), o)
			out := cmd.OutOrStdout()
			if res != nil {
				for _, msg := range res.Failures {
					fmt.Fprintln(out, "FAIL", msg)
				}
			}
			if err != nil {
				return cliError(err, "")
			}
			fmt.Fprintf(out, "ok: %s passed %d expectations (%d rows)\n", o.Input, res.Checks, res.Rows)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.Input, "input", "", "table to check (CSV or Parquet, or a folder holding one)")
	fl.StringVar(&o.Schema, "schema", "", "YAML schema file")
	fl.StringArrayVar(&o.Expect, "expect", nil, "column expectation COL:CHECK,… (repeatable)")
	fl.StringVar(&expectList, "expect-list", "", "column expectations separated by semicolons")
	fl.StringVar(&o.Report, "report", "", "also write the outcome to this JSON file")
	return cmd
}
