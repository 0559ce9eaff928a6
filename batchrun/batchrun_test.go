package batchrun

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/linear"
	"github.com/hangar-ml/hangar/score"
	"github.com/hangar-ml/hangar/tabular"
	"github.com/hangar-ml/hangar/train"
)

// writeTable writes a CSV table x,y (y = 2x + 1) of n rows from x = from.
func writeTable(t *testing.T, path string, from, n int) {
	t.Helper()
	var b strings.Builder
	b.WriteString("x,y\n")
	for i := from; i < from+n; i++ {
		b.WriteString(strconv.Itoa(i) + "," + strconv.Itoa(2*i+1) + "\n")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestSplit(t *testing.T) {
	dir := t.TempDir()
	folder := filepath.Join(dir, "folder")
	for i := range 5 {
		writeTable(t, filepath.Join(folder, "part-"+strconv.Itoa(i)+".csv"), i*10, 3)
	}
	writeTable(t, filepath.Join(folder, ".hidden.csv"), 0, 1)
	writeTable(t, filepath.Join(folder, "sub", "z.csv"), 0, 1)
	table := filepath.Join(dir, "table.csv")
	writeTable(t, table, 0, 7)
	blob := filepath.Join(dir, "image.png")
	if err := os.WriteFile(blob, []byte("not a table"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		input string
		size  int
		want  []string // per mini-batch: names, or first row-count
	}{
		"files by two":   {folder, 2, []string{"part-0.csv,part-1.csv", "part-2.csv,part-3.csv", "part-4.csv,sub/z.csv"}},
		"files all":      {folder, 10, []string{"part-0.csv,part-1.csv,part-2.csv,part-3.csv,part-4.csv,sub/z.csv"}},
		"rows by three":  {table, 3, []string{"table.csv@0+3", "table.csv@3+3", "table.csv@6+1"}},
		"rows all":       {table, 100, []string{"table.csv@0+7"}},
		"one other file": {blob, 5, []string{"image.png"}},
	} {
		t.Run(name, func(t *testing.T) {
			mbs, err := Split(tc.input, tc.size)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for i, mb := range mbs {
				if mb.Index != i {
					t.Errorf("mini-batch %d: got index %d", i, mb.Index)
				}
				if mb.Rows != nil {
					got = append(got, mb.Names[0]+"@"+strconv.Itoa(mb.FirstRow)+"+"+strconv.Itoa(mb.Rows.NumRows()))
					continue
				}
				got = append(got, strings.Join(mb.Names, ","))
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	empty := filepath.Join(dir, "empty")
	if err := os.MkdirAll(filepath.Join(empty, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	noRows := filepath.Join(dir, "norows.csv")
	if err := os.WriteFile(noRows, []byte("x,y\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		input string
		size  int
		code  string
		want  string
	}{
		"empty folder": {empty, 1, hangar.EINVALID, "holds no file to score"},
		"no rows":      {noRows, 1, hangar.EINVALID, "has no rows"},
		"missing":      {filepath.Join(dir, "nope"), 1, hangar.ENOTFOUND, "does not exist"},
		"size 0":       {folder, 0, hangar.EINVALID, "mini_batch_size 0"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Split(tc.input, tc.size)
			if hangar.ErrorCode(err) != tc.code || !strings.Contains(hangar.ErrorMessage(err), tc.want) {
				t.Errorf("got %v (%s), want %s containing %q", err, hangar.ErrorCode(err), tc.code, tc.want)
			}
		})
	}
}

// fakeScorer answers each row of a table mini-batch with x*10, failing
// mini-batches by plan: fail[i] is how many attempts at mini-batch i
// fail; hang[i] makes them wait for their context instead.
type fakeScorer struct {
	mu    sync.Mutex
	fail  map[int]int
	hang  map[int]bool
	tries map[int]int
}

func (f *fakeScorer) Score(ctx context.Context, mb *MiniBatch) (*tabular.Frame, error) {
	f.mu.Lock()
	if f.tries == nil {
		f.tries = map[int]int{}
	}
	f.tries[mb.Index]++
	try := f.tries[mb.Index]
	f.mu.Unlock()
	if f.hang[mb.Index] && try <= f.fail[mb.Index] {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if try <= f.fail[mb.Index] {
		return nil, errors.New("boom\nsecond line")
	}
	x := mb.Rows.Column("x").Float
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = v * 10
	}
	return &tabular.Frame{Columns: []*tabular.Column{{Name: "prediction", Kind: tabular.Numeric, Float: out}}}, nil
}

func TestRun(t *testing.T) {
	dir := t.TempDir()
	table := filepath.Join(dir, "in.csv")
	writeTable(t, table, 0, 10) // mini-batches of 3: [0-2] [3-5] [6-8] [9]
	for name, tc := range map[string]struct {
		o          Options
		s          *fakeScorer
		wantErr    error
		wantFailed int
		wantRows   []string // x of each output row, in order
		wantLog    []string
		wantTries  map[int]int
	}{
		"all good, in order with 4 workers": {
			o: Options{Workers: 4}, s: &fakeScorer{},
			wantRows: []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"},
			wantLog:  []string{"4 mini-batches of up to 3 rows, 4 workers", "mini-batch 4/4 done, 0 failed", "10 rows written to predictions.csv"},
		},
		"retried until it works": {
			o: Options{MaxRetries: 2}, s: &fakeScorer{fail: map[int]int{1: 2}},
			wantRows:  []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"},
			wantLog:   []string{"mini-batch 2: retry 1 of 2 after: boom; second line", "mini-batch 2: retry 2 of 2 after: boom; second line"},
			wantTries: map[int]int{0: 1, 1: 3, 2: 1, 3: 1},
		},
		"failures under the threshold are skipped": {
			o: Options{MaxRetries: 1, ErrorThreshold: 3}, s: &fakeScorer{fail: map[int]int{1: 2}},
			wantFailed: 1,
			wantRows:   []string{"0", "1", "2", "6", "7", "8", "9"},
			wantLog:    []string{"mini-batch 2 (in.csv rows 3-5) failed: boom; second line", "mini-batch 4/4 done, 1 failed"},
			wantTries:  map[int]int{1: 2},
		},
		"-1 ignores every failure": {
			o: Options{ErrorThreshold: -1}, s: &fakeScorer{fail: map[int]int{0: 1, 3: 1}},
			wantFailed: 2, wantRows: []string{"3", "4", "5", "6", "7", "8"},
		},
		"over the threshold fails the job": {
			o: Options{ErrorThreshold: 2}, s: &fakeScorer{fail: map[int]int{2: 1}},
			wantErr: ErrThreshold, wantFailed: 1,
		},
		"timeout per attempt": {
			o: Options{Timeout: 50 * time.Millisecond, MaxRetries: 1, ErrorThreshold: -1}, s: &fakeScorer{fail: map[int]int{0: 2}, hang: map[int]bool{0: true}},
			wantFailed: 1, wantRows: []string{"3", "4", "5", "6", "7", "8", "9"},
			wantLog:   []string{"mini-batch 1: retry 1 of 1 after: timed out after 50ms", "failed: timed out after 50ms"},
			wantTries: map[int]int{0: 2},
		},
		"timeout then success": {
			o: Options{Timeout: 50 * time.Millisecond, MaxRetries: 1}, s: &fakeScorer{fail: map[int]int{3: 1}, hang: map[int]bool{3: true}},
			wantRows: []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"},
		},
	} {
		t.Run(name, func(t *testing.T) {
			var log strings.Builder
			o := tc.o
			o.Input, o.Output, o.MiniBatchSize, o.OutputAction, o.Progress = table, t.TempDir(), 3, AppendRow, &syncWriter{w: &log}
			if o.Workers == 0 {
				o.Workers = 1
			}
			res, err := Run(t.Context(), o, tc.s)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("got error %v, want %v", err, tc.wantErr)
			}
			if res.Failed != tc.wantFailed {
				t.Errorf("got %d failed mini-batches, want %d", res.Failed, tc.wantFailed)
			}
			for _, l := range tc.wantLog {
				if !strings.Contains(log.String(), l+"\n") {
					t.Errorf("log lacks %q:\n%s", l, log.String())
				}
			}
			for i, n := range tc.wantTries {
				if got := tc.s.tries[i]; got != n {
					t.Errorf("mini-batch %d: got %d tries, want %d", i, got, n)
				}
			}
			out := filepath.Join(o.Output, DefaultOutputFileName)
			if tc.wantErr != nil {
				if _, err := os.Stat(out); err == nil {
					t.Errorf("a failed run wrote %s", out)
				}
				return
			}
			f, err := tabular.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := strings.Join(f.Names(), ","), "file,row,prediction"; got != want {
				t.Errorf("got columns %s, want %s", got, want)
			}
			var rows []string
			for i := range f.NumRows() {
				row := f.Column("row").Text(i)
				rows = append(rows, row)
				if got, want := f.Column("prediction").Text(i), row+"0"; got != want && row != "0" {
					t.Errorf("row %s: got prediction %s, want %s", row, got, want)
				}
				if got := f.Column("file").Text(i); got != "in.csv" {
					t.Errorf("row %s: got file %q, want in.csv", row, got)
				}
			}
			if strings.Join(rows, ",") != strings.Join(tc.wantRows, ",") {
				t.Errorf("got rows %v, want %v", rows, tc.wantRows)
			}
			if res.Rows != len(tc.wantRows) {
				t.Errorf("got Rows %d, want %d", res.Rows, len(tc.wantRows))
			}
		})
	}
}

func TestRunSummaryOnlyWritesNothing(t *testing.T) {
	dir := t.TempDir()
	table := filepath.Join(dir, "in.csv")
	writeTable(t, table, 0, 4)
	out := t.TempDir()
	res, err := Run(t.Context(), Options{Input: table, Output: out, MiniBatchSize: 2, Workers: 2, OutputAction: SummaryOnly}, &fakeScorer{})
	if err != nil {
		t.Fatal(err)
	}
	if res.MiniBatches != 2 || res.Items != 4 || res.OutputFile != "" {
		t.Errorf("got %+v, want 2 mini-batches, 4 items, no output file", res)
	}
	if ents, _ := os.ReadDir(out); len(ents) != 0 {
		t.Errorf("summary_only wrote %d files", len(ents))
	}
}

func TestRunCanceled(t *testing.T) {
	dir := t.TempDir()
	table := filepath.Join(dir, "in.csv")
	writeTable(t, table, 0, 4)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := Run(ctx, Options{Input: table, Output: t.TempDir(), MiniBatchSize: 1, Workers: 2, OutputAction: AppendRow}, &fakeScorer{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
}

func TestOptionsCheck(t *testing.T) {
	good := Options{Input: "in", Output: "out", MiniBatchSize: 1, Workers: 1, ErrorThreshold: -1, OutputAction: AppendRow}
	for name, tc := range map[string]struct {
		edit func(*Options)
		want string
	}{
		"no input":         {func(o *Options) { o.Input = "" }, "--input is required"},
		"no output":        {func(o *Options) { o.Output = "" }, "--output is required"},
		"mini batch 0":     {func(o *Options) { o.MiniBatchSize = 0 }, "mini_batch_size 0"},
		"no workers":       {func(o *Options) { o.Workers = 0 }, "workers 0"},
		"negative retries": {func(o *Options) { o.MaxRetries = -1 }, "max_retries -1"},
		"negative timeout": {func(o *Options) { o.Timeout = -time.Second }, "timeout -1s"},
		"threshold -2":     {func(o *Options) { o.ErrorThreshold = -2 }, "error_threshold -2"},
		"action":           {func(o *Options) { o.OutputAction = "append" }, `output_action "append"`},
		"file name a path": {func(o *Options) { o.OutputFileName = "../x.csv" }, "must be a file name"},
	} {
		t.Run(name, func(t *testing.T) {
			o := good
			tc.edit(&o)
			err := o.Check()
			if hangar.ErrorCode(err) != hangar.EINVALID || !strings.Contains(hangar.ErrorMessage(err), tc.want) {
				t.Errorf("got %v, want EINVALID containing %q", err, tc.want)
			}
		})
	}
	if err := good.Check(); err != nil {
		t.Errorf("good options: %v", err)
	}
}

// TestModelScorer scores with a real linear model (y = 2x + 1), a table
// split by rows and a folder split by files.
func TestModelScorer(t *testing.T) {
	dir := t.TempDir()
	trainTable := filepath.Join(dir, "train", "t.csv")
	writeTable(t, trainTable, 0, 20)
	modelDir := filepath.Join(dir, "model")
	if _, err := train.Linear(t.Context(), train.Options{Train: trainTable, Label: "y", Output: modelDir}, linear.DefaultParams(), train.Progress{}); err != nil {
		t.Fatal(err)
	}
	m, err := score.Load(modelDir, 1)
	if err != nil {
		t.Fatal(err)
	}
	folder := filepath.Join(dir, "folder")
	writeTable(t, filepath.Join(folder, "a.csv"), 100, 2)
	writeTable(t, filepath.Join(folder, "b.csv"), 200, 3)
	writeTable(t, filepath.Join(folder, "c.csv"), 300, 1)
	for name, tc := range map[string]struct {
		input string
		want  []string // file:row:x
	}{
		"rows":  {trainTable, nil},
		"files": {folder, []string{"a.csv:0:100", "a.csv:1:101", "b.csv:0:200", "b.csv:1:201", "b.csv:2:202", "c.csv:0:300"}},
	} {
		t.Run(name, func(t *testing.T) {
			out := t.TempDir()
			res, err := Run(t.Context(), Options{Input: tc.input, Output: out, MiniBatchSize: 2, Workers: 2, OutputAction: AppendRow, ErrorThreshold: 0, OutputFileName: "scores.csv"}, ModelScorer{Model: m})
			if err != nil {
				t.Fatal(err)
			}
			f, err := tabular.ReadFile(filepath.Join(out, "scores.csv"))
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == nil {
				if f.NumRows() != 20 || res.Rows != 20 {
					t.Errorf("got %d rows (Rows %d), want 20", f.NumRows(), res.Rows)
				}
				tc.want = nil
			}
			for i, w := range tc.want {
				parts := strings.Split(w, ":")
				x, _ := strconv.ParseFloat(parts[2], 64)
				if got := f.Column("file").Text(i) + ":" + f.Column("row").Text(i); got != parts[0]+":"+parts[1] {
					t.Errorf("row %d: got %s, want %s:%s", i, got, parts[0], parts[1])
				}
				if p := f.Column("prediction").Float[i]; p < (2*x+1)*0.98 || p > (2*x+1)*1.02 {
					t.Errorf("row %d: got prediction %g, want about %g", i, p, 2*x+1)
				}
			}
			for i := range f.NumRows() {
				row, _ := strconv.Atoi(f.Column("row").Text(i))
				if tc.input == trainTable && row != i {
					t.Errorf("row %d: got row number %d", i, row)
				}
			}
		})
	}
	// A file without the model's feature fails its mini-batch.
	bad := filepath.Join(dir, "bad")
	if err := os.MkdirAll(bad, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bad, "a.csv"), []byte("z\n1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	_, err = Run(t.Context(), Options{Input: bad, Output: t.TempDir(), MiniBatchSize: 1, Workers: 1, OutputAction: AppendRow, ErrorThreshold: 0, Progress: &log}, ModelScorer{Model: m})
	if !errors.Is(err, ErrThreshold) || !strings.Contains(log.String(), `a.csv: input has no column "x"`) {
		t.Errorf("got %v, log:\n%s\nwant ErrThreshold and the missing column", err, log.String())
	}
}

type syncWriter struct {
	mu sync.Mutex
	w  *strings.Builder
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// TestLabelAndWriteRows: the output of mini-batches of two rows each,
// their answers labelled as Run labels them.
func TestLabelAndWriteRows(t *testing.T) {
	num := func(name string, v ...float64) *tabular.Column {
		return &tabular.Column{Name: name, Kind: tabular.Numeric, Float: v}
	}
	str := func(name string, v ...string) *tabular.Column {
		return &tabular.Column{Name: name, Kind: tabular.String, Str: v}
	}
	tests := []struct {
		name    string
		answers [][]*tabular.Column // per mini-batch; nil: it failed
		want    string
		wantErr string
	}{
		{name: "labelled", answers: [][]*tabular.Column{{num("score", 1, 2)}, {num("score", 3, 4)}},
			want: "file,row,score\nt.csv,0,1\nt.csv,1,2\nt.csv,2,3\nt.csv,3,4\n"},
		{name: "the script's own row column is kept, not labelled", answers: [][]*tabular.Column{{num("row", 7, 8), num("score", 1, 2)}},
			want: "row,score\n7,1\n8,2\n"},
		{name: "the script's own file column is kept, not labelled", answers: [][]*tabular.Column{{str("file", "a", "b"), num("score", 1, 2)}},
			want: "file,score\na,1\nb,2\n"},
		{name: "columns are the union in first-seen order", answers: [][]*tabular.Column{{num("a", 1), num("b", 2)}, nil, {num("c", 3), num("a", 4)}},
			want: "a,b,c\n1,2,\n4,,3\n"},
		{name: "labels in front when only a later answer has them", answers: [][]*tabular.Column{{num("x", 1)}, {num("x", 2, 3)}},
			want: "file,row,x\n,,1\nt.csv,2,2\nt.csv,3,3\n"},
		{name: "a column of numbers in one answer and text in another keeps each", answers: [][]*tabular.Column{{num("y", 1.5)}, {str("y", "n/a")}},
			want: "y\n1.5\nn/a\n"},
		{name: "a column twice is refused", answers: [][]*tabular.Column{{num("a", 1)}, {num("b", 1), str("b", "x")}},
			wantErr: `mini-batch 2 returned column "b" twice`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var batches []*MiniBatch
			var frames []*tabular.Frame
			for i, cols := range tt.answers {
				mb := &MiniBatch{Index: i, Names: []string{"t.csv"}, FirstRow: 2 * i, Rows: &tabular.Frame{Columns: []*tabular.Column{num("in", 0, 0)}}}
				batches = append(batches, mb)
				if cols == nil {
					frames = append(frames, nil)
					continue
				}
				f, err := label(&tabular.Frame{Columns: cols}, mb)
				if err != nil {
					t.Fatal(err)
				}
				frames = append(frames, f)
			}
			path := filepath.Join(t.TempDir(), "out.csv")
			_, err := writeRows(path, batches, frames)
			if tt.wantErr != "" {
				if hangar.ErrorCode(err) != hangar.EINVALID || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want EINVALID containing %q", err, tt.wantErr)
				}
				if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("got output file (stat: %v), want none", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			b, _ := os.ReadFile(path)
			if string(b) != tt.want {
				t.Errorf("got %q, want %q", b, tt.want)
			}
		})
	}
}
