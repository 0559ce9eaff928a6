// Package batchrun runs a batch deployment's scoring over its input, as
// Azure ML's batch endpoints do: the input's files are split into
// mini-batches of MiniBatchSize files (a single table file into
// mini-batches of MiniBatchSize rows), scored by Workers workers at once,
// each mini-batch retried up to MaxRetries times with a Timeout per
// attempt; the job fails once more than ErrorThreshold items (files, or
// rows of a single table) failed, and with append_row the rows every
// mini-batch returned are written in input order to one CSV file.
//
// A mini-batch is scored by a Scorer: ModelScorer for a model Hangar runs
// natively, ScriptScorer for an Azure-style batch scoring script
// (init() and run(mini_batch)) that a BatchRunner, a pool of Python
// workers, runs.
//
// It is what the hidden `hangar batch-run` command of a batch endpoint's
// job calls; it prints only progress lines to Options.Progress.
package batchrun

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/score"
	"github.com/hangar-ml/hangar/tabular"
)

// Output actions, as hangar.BatchAppendRow and hangar.BatchSummaryOnly.
const (
	AppendRow   = hangar.BatchAppendRow
	SummaryOnly = hangar.BatchSummaryOnly
)

// Columns Run adds in front of a mini-batch's rows in the append_row
// output: the input file a row came from (relative to the input folder)
// and its row number in that file, from 0. They make every output row
// joinable with its input, whatever order the mini-batches ran in.
const (
	ColumnFile = "file"
	ColumnRow  = "row"
)

// Options say how to run a batch scoring job. Their meanings are those of
// a batch deployment's settings (hangar.BatchSettings).
type Options struct {
	// Input is a file or a folder; a folder's regular files, hidden
	// ones aside, are the items, in path order.
	Input string
	// Output is the folder the output file is written to (created).
	Output string
	// MiniBatchSize is the number of files per mini-batch, or of rows
	// when Input is one table file (CSV or Parquet). At least 1.
	MiniBatchSize int
	// Workers score mini-batches at once: instance_count ×
	// max_concurrency_per_instance. At least 1.
	Workers int
	// MaxRetries is how many more times a failed mini-batch is tried.
	MaxRetries int
	// Timeout bounds one attempt at a mini-batch; 0 for none.
	Timeout time.Duration
	// ErrorThreshold is how many items may fail before the job is
	// stopped; -1 for any number.
	ErrorThreshold int
	// OutputAction is AppendRow or SummaryOnly.
	OutputAction string
	// OutputFileName is the append_row file in Output (predictions.csv
	// when empty).
	OutputFileName string
	// Progress receives one line per finished mini-batch; nil discards.
	Progress io.Writer
}

// DefaultOutputFileName is Azure's default output_file_name.
const DefaultOutputFileName = "predictions.csv"

// MiniBatch is one unit of work: files, or rows of one table.
type MiniBatch struct {
	Index int // from 0, in input order
	// Files are the paths of a file mini-batch, and Names the same files
	// relative to the input (the output's file column).
	Files, Names []string
	// Rows holds the rows of a table mini-batch, which start at row
	// FirstRow of the table Names[0].
	Rows     *tabular.Frame
	FirstRow int
}

// Items is the number of files, or of rows, the mini-batch holds: what
// error_threshold counts.
func (mb *MiniBatch) Items() int {
	if mb.Rows != nil {
		return mb.Rows.NumRows()
	}
	return len(mb.Files)
}

// Scorer scores one mini-batch: for append_row, the rows to append (its
// ColumnFile and ColumnRow columns, when it returns them, are kept;
// otherwise Run adds them when the row count allows); nil for
// summary_only. A Scorer that scored only some items returns their rows
// with a *Partial error. It must return soon after ctx is done.
type Scorer interface {
	Score(ctx context.Context, mb *MiniBatch) (*tabular.Frame, error)
}

// Result says what Run did.
type Result struct {
	MiniBatches int `json:"mini_batches"`
	Failed      int `json:"failed_mini_batches"`
	Items       int `json:"items"`
	FailedItems int `json:"failed_items"`
	Rows        int `json:"rows"` // rows written by append_row
	// OutputFile is the append_row file's path; "" for summary_only.
	OutputFile string `json:"output_file,omitempty"`
}

// Check validates o. Errors: EINVALID naming the setting.
func (o *Options) Check() error {
	switch {
	case o.Input == "":
		return hangar.Errorf(hangar.EINVALID, "--input is required")
	case o.Output == "":
		return hangar.Errorf(hangar.EINVALID, "--output is required")
	case o.MiniBatchSize < 1:
		return hangar.Errorf(hangar.EINVALID, "mini_batch_size %d: want at least 1", o.MiniBatchSize)
	case o.Workers < 1:
		return hangar.Errorf(hangar.EINVALID, "workers %d: want at least 1", o.Workers)
	case o.MaxRetries < 0:
		return hangar.Errorf(hangar.EINVALID, "max_retries %d: want 0 or more", o.MaxRetries)
	case o.Timeout < 0:
		return hangar.Errorf(hangar.EINVALID, "timeout %s: want 0 or more", o.Timeout)
	case o.ErrorThreshold < -1:
		return hangar.Errorf(hangar.EINVALID, "error_threshold %d: want -1 or more", o.ErrorThreshold)
	case o.OutputAction != AppendRow && o.OutputAction != SummaryOnly:
		return hangar.Errorf(hangar.EINVALID, "output_action %q: want %s or %s", o.OutputAction, AppendRow, SummaryOnly)
	}
	if name := o.OutputFileName; name != "" && (strings.ContainsAny(name, `/\`) || name == "." || name == "..") {
		return hangar.Errorf(hangar.EINVALID, "output_file_name %q must be a file name, not a path", name)
	}
	return nil
}

// ErrThreshold is wrapped by Run's error when more items failed than
// ErrorThreshold allows.
var ErrThreshold = errors.New("error threshold exceeded")

// Run splits o.Input into mini-batches, scores them with s and writes
// the output. Mini-batches that still fail after their retries are
// reported in Progress and counted, as are the failed items of a
// *Partial answer (whose rows are written; it is not retried); Run fails
// (wrapping ErrThreshold, naming the last failure) once the failed items
// exceed o.ErrorThreshold, and then writes no output. Errors: EINVALID (options, an empty or unreadable input),
// ErrThreshold, ctx's error, the output's write errors.
func Run(ctx context.Context, o Options, s Scorer) (*Result, error) {
	if err := o.Check(); err != nil {
		return nil, err
	}
	if o.OutputFileName == "" {
		o.OutputFileName = DefaultOutputFileName
	}
	progress := o.Progress
	if progress == nil {
		progress = io.Discard
	}
	batches, err := Split(o.Input, o.MiniBatchSize)
	if err != nil {
		return nil, err
	}
	res := &Result{MiniBatches: len(batches)}
	for _, mb := range batches {
		res.Items += mb.Items()
	}
	fmt.Fprintf(progress, "%s of up to %d %s, %s\n", plural(len(batches), "mini-batch", "mini-batches"), o.MiniBatchSize, unit(batches), plural(o.Workers, "worker", "workers"))

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	frames := make([]*tabular.Frame, len(batches))
	work := make(chan int)
	var (
		mu   sync.Mutex
		done int
		wg   sync.WaitGroup
	)
	for range min(o.Workers, max(len(batches), 1)) {
		wg.Go(func() {
			for i := range work {
				if ctx.Err() != nil {
					continue // the run stopped: what is left is not scored
				}
				mb := batches[i]
				f, err := attempt(ctx, o, s, mb, progress)
				mu.Lock()
				if err != nil && ctx.Err() != nil {
					// Stopped by the run's end (the threshold another
					// mini-batch crossed, or ctx), not failed on its own.
					mu.Unlock()
					continue
				}
				done++
				partial := partialOf(err)
				if err != nil {
					what := "failed"
					if partial != nil {
						res.FailedItems += partial.Failed
						frames[i] = f
						what = "partly failed"
					} else {
						res.Failed++
						res.FailedItems += mb.Items()
					}
					fmt.Fprintf(progress, "mini-batch %d (%s) %s: %s\n", i+1, describe(mb), what, oneLine(err))
					if o.ErrorThreshold >= 0 && res.FailedItems > o.ErrorThreshold {
						cancel(fmt.Errorf("%w: %d of %d items failed, error_threshold is %d; the last: mini-batch %d (%s): %s",
							ErrThreshold, res.FailedItems, res.Items, o.ErrorThreshold, i+1, describe(mb), oneLine(err)))
					}
				} else {
					frames[i] = f
				}
				fmt.Fprintf(progress, "mini-batch %d/%d done, %d failed\n", done, len(batches), res.Failed)
				mu.Unlock()
			}
		})
	}
feed:
	for i := range batches {
		select {
		case work <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return res, err
	}
	if o.OutputAction == SummaryOnly {
		return res, nil
	}
	res.OutputFile = filepath.Join(o.Output, o.OutputFileName)
	n, err := writeRows(res.OutputFile, batches, frames)
	res.Rows = n
	if err != nil {
		return res, err
	}
	fmt.Fprintf(progress, "%d rows written to %s\n", n, o.OutputFileName)
	return res, nil
}

// attempt scores mb, retrying up to o.MaxRetries times.
func attempt(ctx context.Context, o Options, s Scorer, mb *MiniBatch, progress io.Writer) (*tabular.Frame, error) {
	var last error
	for try := 0; try <= o.MaxRetries; try++ {
		if err := ctx.Err(); err != nil {
			return nil, context.Cause(ctx)
		}
		if try > 0 {
			fmt.Fprintf(progress, "mini-batch %d: retry %d of %d after: %s\n", mb.Index+1, try, o.MaxRetries, oneLine(last))
		}
		f, err := scoreOnce(ctx, o.Timeout, s, mb)
		if err == nil || partialOf(err) != nil {
			// A partial answer is the script's last word on the
			// mini-batch: Azure retries none of it.
			labelled, lerr := label(f, mb)
			if lerr == nil {
				return labelled, err
			}
			err = lerr
		}
		last = err
	}
	return nil, last
}

// scoreOnce runs one attempt, bounded by timeout: a scorer that does not
// return in time is abandoned (its result discarded) and the attempt
// fails.
func scoreOnce(ctx context.Context, timeout time.Duration, s Scorer, mb *MiniBatch) (*tabular.Frame, error) {
	if timeout <= 0 {
		return s.Score(ctx, mb)
	}
	actx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	type answer struct {
		f   *tabular.Frame
		err error
	}
	ch := make(chan answer, 1)
	go func() {
		f, err := s.Score(actx, mb)
		ch <- answer{f, err}
	}()
	select {
	case a := <-ch:
		if a.err != nil && actx.Err() != nil && ctx.Err() == nil {
			return nil, fmt.Errorf("timed out after %s", timeout)
		}
		return a.f, a.err
	case <-actx.Done():
		if ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		return nil, fmt.Errorf("timed out after %s", timeout)
	}
}

// label adds the file and row columns to a mini-batch's rows when the
// scorer returned neither, and the rows match the input one to one: a
// scorer's own file or row column is its answer, not to be shadowed.
func label(f *tabular.Frame, mb *MiniBatch) (*tabular.Frame, error) {
	if f == nil || f.Column(ColumnFile) != nil || f.Column(ColumnRow) != nil {
		return f, nil
	}
	n := f.NumRows()
	if mb.Rows == nil || n != mb.Rows.NumRows() {
		return f, nil
	}
	file := &tabular.Column{Name: ColumnFile, Kind: tabular.String, Str: make([]string, n)}
	row := &tabular.Column{Name: ColumnRow, Kind: tabular.Numeric, Float: make([]float64, n)}
	for i := range n {
		file.Str[i] = mb.Names[0]
		row.Float[i] = float64(mb.FirstRow + i)
	}
	return &tabular.Frame{Columns: append([]*tabular.Column{file, row}, f.Columns...)}, nil
}

// writeRows writes the frames of the mini-batches that succeeded, in
// input order, to one CSV file under the header headerOf makes; a frame's
// missing columns are empty, and each cell is written as its own frame's
// text (a column numeric in one mini-batch and text in another stays
// each). Errors: EINVALID for a frame with a column name twice, checked
// before the file is created.
func writeRows(path string, batches []*MiniBatch, frames []*tabular.Frame) (int, error) {
	header, err := headerOf(batches, frames)
	if err != nil {
		return 0, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return 0, err
	}
	fh, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	w := csv.NewWriter(fh)
	if header != nil {
		w.Write(header) // an error stays in w, for w.Error below
	}
	rows := 0
	for _, f := range frames {
		if f == nil {
			continue
		}
		cols := make([]*tabular.Column, len(header))
		for j, name := range header {
			cols[j] = f.Column(name)
		}
		rec := make([]string, len(header))
		for r := range f.NumRows() {
			for j, c := range cols {
				rec[j] = ""
				if c != nil {
					rec[j] = c.Text(r)
				}
			}
			if err := w.Write(rec); err != nil {
				break
			}
			rows++
		}
	}
	w.Flush()
	err = w.Error()
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return rows, fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	return rows, nil
}

// headerOf is the output's header: the union of the frames' columns in
// the order they are first seen, except that ColumnFile and ColumnRow go
// in front when a later frame has them and the first does not (a scoring
// script's mini-batch that returned fewer rows than it held has no
// labels, a complete one does). nil when every frame is nil. Errors:
// EINVALID for a frame with a column name twice (the output could not
// say which is which).
func headerOf(batches []*MiniBatch, frames []*tabular.Frame) ([]string, error) {
	var header, first []string
	seen := map[string]bool{}
	for i, f := range frames {
		if f == nil {
			continue
		}
		names := f.Names()
		if first == nil {
			first = names
		}
		own := map[string]bool{}
		for _, name := range names {
			if own[name] {
				return nil, hangar.Errorf(hangar.EINVALID, "mini-batch %d returned column %q twice", batches[i].Index+1, name)
			}
			own[name] = true
			if !seen[name] {
				seen[name] = true
				header = append(header, name)
			}
		}
	}
	if header == nil {
		return nil, nil
	}
	var labels []string
	for _, name := range []string{ColumnFile, ColumnRow} {
		if seen[name] && !slices.Contains(first, name) {
			labels = append(labels, name)
		}
	}
	rest := slices.DeleteFunc(header, func(name string) bool { return slices.Contains(labels, name) })
	return append(labels, rest...), nil
}

// Split returns the mini-batches of input: size files each of a folder's
// files (hidden ones aside, in path order), or size rows each of a
// single table file (CSV or Parquet); any other single file is one
// mini-batch. Errors: EINVALID for an input with nothing to score, or a
// table that does not read; ENOTFOUND (wrapping fs.ErrNotExist).
func Split(input string, size int) ([]*MiniBatch, error) {
	if size < 1 {
		return nil, hangar.Errorf(hangar.EINVALID, "mini_batch_size %d: want at least 1", size)
	}
	st, err := os.Stat(input)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, hangar.Errorf(hangar.ENOTFOUND, "--input %s does not exist", input)
		}
		return nil, err
	}
	if !st.IsDir() {
		if !isTable(input) {
			return []*MiniBatch{{Files: []string{input}, Names: []string{filepath.Base(input)}}}, nil
		}
		f, err := tabular.ReadFile(input)
		if err != nil {
			return nil, hangar.Errorf(hangar.EINVALID, "--input: %s", message(err))
		}
		n := f.NumRows()
		if n == 0 {
			return nil, hangar.Errorf(hangar.EINVALID, "--input %s has no rows", filepath.Base(input))
		}
		var out []*MiniBatch
		for lo := 0; lo < n; lo += size {
			hi := min(lo+size, n)
			idx := make([]int, hi-lo)
			for i := range idx {
				idx[i] = lo + i
			}
			out = append(out, &MiniBatch{Index: len(out), Rows: f.Take(idx), FirstRow: lo, Files: []string{input}, Names: []string{filepath.Base(input)}})
		}
		return out, nil
	}
	var files []string
	err = filepath.WalkDir(input, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != input && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, hangar.Errorf(hangar.EINVALID, "--input %s holds no file to score", input)
	}
	slices.Sort(files)
	var out []*MiniBatch
	for lo := 0; lo < len(files); lo += size {
		mb := &MiniBatch{Index: len(out), Files: files[lo:min(lo+size, len(files))]}
		for _, f := range mb.Files {
			rel, _ := filepath.Rel(input, f)
			mb.Names = append(mb.Names, filepath.ToSlash(rel))
		}
		out = append(out, mb)
	}
	return out, nil
}

func isTable(p string) bool {
	switch strings.ToLower(filepath.Ext(p)) {
	case ".csv", ".parquet", ".pq":
		return true
	}
	return false
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func unit(batches []*MiniBatch) string {
	if len(batches) > 0 && batches[0].Rows != nil {
		return "rows"
	}
	return "files"
}

func describe(mb *MiniBatch) string {
	if mb.Rows != nil {
		return fmt.Sprintf("%s rows %d-%d", mb.Names[0], mb.FirstRow, mb.FirstRow+mb.Rows.NumRows()-1)
	}
	if len(mb.Names) == 1 {
		return mb.Names[0]
	}
	return fmt.Sprintf("%s … %s, %d files", mb.Names[0], mb.Names[len(mb.Names)-1], len(mb.Names))
}

// oneLine is err's message on one line: a domain error's message
// without its code, any other error's text (a scorer's errors are the
// user's to read in the job log).
func oneLine(err error) string {
	return strings.ReplaceAll(message(err), "\n", "; ")
}

func message(err error) string {
	var e *hangar.Error
	if !errors.As(err, &e) {
		return err.Error()
	}
	if error(e) == err {
		return e.Message
	}
	return strings.Replace(err.Error(), e.Error(), e.Message, 1)
}

// ModelScorer scores mini-batches with a model Hangar runs natively
// (package score: a model folder with an MLmodel file, linear.json, an
// XGBoost JSON or LightGBM text model), in process: the rows of a table
// mini-batch, or each table file of a file mini-batch.
type ModelScorer struct {
	Model *score.Model
}

// Score implements Scorer: the prediction columns of score.Model.Predict,
// after the file and row columns.
func (m ModelScorer) Score(ctx context.Context, mb *MiniBatch) (*tabular.Frame, error) {
	if mb.Rows != nil {
		return m.Model.Predict(mb.Rows)
	}
	var parts []*tabular.Frame
	for i, p := range mb.Files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		f, err := tabular.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("%s: %s", mb.Names[i], message(err))
		}
		pred, err := m.Model.Predict(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %s", mb.Names[i], message(err))
		}
		labelled, _ := label(pred, &MiniBatch{Rows: f, Names: mb.Names[i : i+1]})
		parts = append(parts, labelled)
	}
	return concat(parts)
}

// concat appends frames with the same columns.
func concat(parts []*tabular.Frame) (*tabular.Frame, error) {
	if len(parts) == 0 {
		return nil, nil
	}
	out := &tabular.Frame{}
	for _, c := range parts[0].Columns {
		out.Columns = append(out.Columns, &tabular.Column{Name: c.Name, Kind: c.Kind})
	}
	for _, p := range parts {
		if !slices.Equal(p.Names(), parts[0].Names()) {
			return nil, hangar.Errorf(hangar.EINVALID, "files gave different columns: %s and %s", strings.Join(parts[0].Names(), ","), strings.Join(p.Names(), ","))
		}
		for j, c := range p.Columns {
			oc := out.Columns[j]
			if c.Kind != oc.Kind {
				return nil, hangar.Errorf(hangar.EINVALID, "column %s is numeric in one file and text in another", c.Name)
			}
			oc.Float = append(oc.Float, c.Float...)
			oc.Str = append(oc.Str, c.Str...)
		}
	}
	return out, nil
}
