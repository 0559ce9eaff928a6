// Package dataprep prepares tables for training, as the built-in `split`
// and `validate` components do: split a table into training and test
// files (at random or by date) and check a table against data-quality
// expectations. The CLI (`hangar builtin split|validate`) and pipeline
// steps share it; it prints nothing.
//
// Errors name the component's inputs as its command line spells them
// (--input, --output-train, --ratio …): that is how the built-in
// components are called, from a shell or from a pipeline step.
package dataprep

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/tabular"
)

// readTable reads a CSV or Parquet file (or the one table file of a
// folder) with the flag that named it in its errors.
func readTable(path, flag string) (*tabular.Frame, error) {
	if path == "" {
		return nil, hangar.Errorf(hangar.EINVALID, "--%s is required", flag)
	}
	f, err := tabular.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--%s: %w", flag, err)
	}
	return f, nil
}

// writeCSV writes f to path, creating the file's folder: a pipeline step
// writes into the output folder it is given (${{outputs.train}}/train.csv).
func writeCSV(path string, f *tabular.Frame) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return tabular.WriteCSVFile(path, f)
}

// distinctPaths refuses flags that name the same file, where writing one
// would overwrite another (or the input) without a word.
func distinctPaths(flags map[string]string) error {
	seen := map[string]string{}
	for _, flag := range slices.Sorted(maps.Keys(flags)) {
		abs, err := filepath.Abs(flags[flag])
		if err != nil {
			return fmt.Errorf("%s: %w", flag, err)
		}
		if other, ok := seen[abs]; ok {
			return hangar.Errorf(hangar.EINVALID, "%s and %s name the same file %s", other, flag, flags[flag])
		}
		seen[abs] = flag
	}
	return nil
}
