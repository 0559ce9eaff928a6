package batchrun

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/tabular"
)

// fakeRunner plays a scoring script: for rows, it returns them with a
// column double = 2x, without its last row when the first x is in drop;
// for files, one dict per file {"name", "size"}; raise[x] fails the
// mini-batch that starts at x. It records the payloads.
type fakeRunner struct {
	drop, raise map[float64]bool
	mu          sync.Mutex
	payloads    []string
}

func (f *fakeRunner) RunBatch(_ context.Context, payload []byte) ([]byte, error) {
	f.mu.Lock()
	f.payloads = append(f.payloads, string(payload))
	f.mu.Unlock()
	var req struct {
		Files   []string `json:"files"`
		Columns []string `json:"columns"`
		Data    [][]any  `json:"data"`
	}
	if err := json.Unmarshal(payload, &req); err != nil {
		return nil, err
	}
	if req.Files != nil {
		var values []map[string]any
		for _, p := range req.Files {
			st, err := os.Stat(p)
			if err != nil {
				return nil, err
			}
			values = append(values, map[string]any{"name": filepath.Base(p), "size": st.Size()})
		}
		return json.Marshal(map[string]any{"values": values})
	}
	first := req.Data[0][0].(float64)
	if f.raise[first] {
		return nil, errors.New("script_error: run() raised ValueError: bad rows")
	}
	rows := req.Data
	if f.drop[first] {
		rows = rows[:len(rows)-1]
	}
	for i, r := range rows {
		var double any
		if x, ok := r[0].(float64); ok {
			double = x * 2
		}
		rows[i] = append(r, double)
	}
	return json.Marshal(map[string]any{"columns": append(req.Columns, "double"), "data": rows})
}

func TestScriptScorerPayload(t *testing.T) {
	dir := t.TempDir()
	table := filepath.Join(dir, "t.csv")
	if err := os.WriteFile(table, []byte("x,name\n1,a\n,\n2.5,c\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mbs, err := Split(table, 10)
	if err != nil {
		t.Fatal(err)
	}
	r := &fakeRunner{}
	f, err := ScriptScorer{Runner: r}.Score(t.Context(), mbs[0])
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"columns":["x","name"],"data":[[1,"a"],[null,null],[2.5,"c"]]}`; r.payloads[0] != want {
		t.Errorf("got payload %s, want %s", r.payloads[0], want)
	}
	if got, want := strings.Join(f.Names(), ","), "x,name,double"; got != want {
		t.Errorf("got columns %s, want %s", got, want)
	}

	// Infinite values go as the tokens Python's json.loads reads as
	// floats (a string "+Inf" would reach run() as text); NaN is missing.
	inf := &MiniBatch{Names: []string{"t.parquet"}, Rows: &tabular.Frame{Columns: []*tabular.Column{
		{Name: "x", Kind: tabular.Numeric, Float: []float64{math.Inf(1), math.Inf(-1), math.NaN(), 0.5}},
		{Name: "s", Kind: tabular.String, Str: []string{"Infinity", "", "a\"b", "c"}},
	}}}
	got, err := scriptPayload(inf)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"columns":["x","s"],"data":[[Infinity,"Infinity"],[-Infinity,null],[null,"a\"b"],[0.5,"c"]]}`; string(got) != want {
		t.Errorf("got payload %s, want %s", got, want)
	}

	// A folder's files go as absolute paths, even from a relative input.
	t.Chdir(dir)
	if err := os.MkdirAll("in", 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"a.bin", "b.bin"} {
		if err := os.WriteFile(filepath.Join("in", n), []byte(n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mbs, err = Split("in", 10)
	if err != nil {
		t.Fatal(err)
	}
	r = &fakeRunner{}
	if _, err := (ScriptScorer{Runner: r}).Score(t.Context(), mbs[0]); err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs("in")
	want, _ := json.Marshal(map[string][]string{"files": {filepath.Join(abs, "a.bin"), filepath.Join(abs, "b.bin")}})
	if r.payloads[0] != string(want) {
		t.Errorf("got payload %s, want %s", r.payloads[0], want)
	}
}

func TestDecodeAnswer(t *testing.T) {
	tests := []struct {
		name   string
		answer string
		want   string // columns as name:kind, then rows as CSV text
		n      int
	}{
		{name: "DataFrame", answer: `{"columns":["name","score"],"data":[["a",2.0],["b",null]]}`,
			want: "name:string,score:numeric|a,2|b,", n: 2},
		{name: "dicts, keys in order of appearance", answer: `{"values": [{"b": 1, "a": "x"}, {"a": "y", "c": true}]}`,
			want: "b:numeric,a:string,c:string|1,x,|,y,True", n: 2},
		{name: "scalars", answer: `{"values": [1.5, 2, null]}`, want: "prediction:numeric|1.5|2|", n: 3},
		{name: "mixed scalars are text", answer: `{"values": [1.50, "two", false, [1, 2], {"k": 1}]}`,
			want: "prediction:string|1.50|two|False|[1,2]|{\"k\":1}", n: 5},
		{name: "empty list", answer: `{"values": []}`, want: "prediction:numeric", n: 0},
		{name: "empty DataFrame", answer: `{"columns":["a"],"data":[]}`, want: "a:numeric", n: 0},
		{name: "non-string column names", answer: `{"columns":[0, 1],"data":[[1, 2]]}`, want: "0:numeric,1:numeric|1,2", n: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, n, err := decodeAnswer([]byte(tt.answer))
			if err != nil {
				t.Fatal(err)
			}
			if n != tt.n {
				t.Errorf("got %d elements, want %d", n, tt.n)
			}
			if got := frameText(f); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func frameText(f *tabular.Frame) string {
	var cols []string
	for _, c := range f.Columns {
		cols = append(cols, c.Name+":"+c.Kind.String())
	}
	parts := []string{strings.Join(cols, ",")}
	for r := range f.NumRows() {
		var row []string
		for _, c := range f.Columns {
			row = append(row, c.Text(r))
		}
		parts = append(parts, strings.Join(row, ","))
	}
	return strings.Join(parts, "|")
}

func TestDecodeAnswerErrors(t *testing.T) {
	for answer, want := range map[string]string{
		`{`:                                  "not JSON of the batch protocol",
		`[1, 2]`:                             "not JSON of the batch protocol",
		`{}`:                                 "neither columns nor values",
		`{"columns":["a","a"],"data":[]}`:    `column "a" twice`,
		`{"columns":["a","b"],"data":[[1]]}`: "row 0 has 1 values for 2 columns",
	} {
		_, _, err := decodeAnswer([]byte(answer))
		if hangar.ErrorCode(err) != hangar.EINVALID || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want EINVALID containing %q", answer, err, want)
		}
	}
}

// FuzzDecodeAnswer: whatever a scoring script's worker answers, decoding
// returns a frame whose columns all have n values, or an error.
func FuzzDecodeAnswer(f *testing.F) {
	for _, s := range []string{
		`{"columns":["name","score"],"data":[["a",2.0],["b",null]]}`,
		`{"values": [{"b": 1, "a": "x"}, {"a": "y", "c": true}]}`,
		`{"values": [1.5, "two", false, [1, 2]]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, n, err := decodeAnswer(b)
		if err != nil {
			if hangar.ErrorCode(err) != hangar.EINVALID {
				t.Fatalf("got %v, want EINVALID", err)
			}
			return
		}
		for _, c := range fr.Columns {
			if c.Len() != n {
				t.Fatalf("column %s: got %d values, want %d", c.Name, c.Len(), n)
			}
		}
	})
}

func TestRunScriptScorer(t *testing.T) {
	dir := t.TempDir()
	table := filepath.Join(dir, "in.csv")
	writeTable(t, table, 0, 10) // mini-batches of 3: [0-2] [3-5] [6-8] [9]
	tests := []struct {
		name      string
		o         Options
		r         *fakeRunner
		wantErr   string
		wantItems int // failed
		wantOut   []string
		wantLog   []string
	}{
		{name: "every row labelled", o: Options{ErrorThreshold: -1}, r: &fakeRunner{},
			wantOut: []string{"file,row,x,y,double", "in.csv,0,0,1,0", "in.csv,9,9,19,18"}},
		{name: "a short answer fails its missing items, keeps its rows", o: Options{ErrorThreshold: 1, MaxRetries: 2}, r: &fakeRunner{drop: map[float64]bool{3: true}},
			wantItems: 1,
			wantOut:   []string{"file,row,x,y,double", "in.csv,2,2,5,4", ",,3,7,6", ",,4,9,8", "in.csv,6,6,13,12"},
			wantLog:   []string{"mini-batch 2 (in.csv rows 3-5) partly failed: run() returned 2 elements for 3 items: 1 of 3 items failed"}},
		{name: "a short first answer still gets the label columns", o: Options{ErrorThreshold: -1}, r: &fakeRunner{drop: map[float64]bool{0: true}},
			wantItems: 1,
			wantOut:   []string{"file,row,x,y,double", ",,0,1,0", ",,1,3,2", "in.csv,3,3,7,6"}},
		{name: "short answers over the threshold fail the job, naming the mini-batch", o: Options{ErrorThreshold: 0, Workers: 1}, r: &fakeRunner{drop: map[float64]bool{6: true}},
			wantItems: 1,
			wantErr:   "error threshold exceeded: 1 of 10 items failed, error_threshold is 0; the last: mini-batch 3 (in.csv rows 6-8): run() returned 2 elements for 3 items: 1 of 3 items failed"},
		{name: "summary_only counts short answers too", o: Options{ErrorThreshold: 0, OutputAction: SummaryOnly}, r: &fakeRunner{drop: map[float64]bool{9: true}},
			wantItems: 1, wantErr: "error threshold exceeded: 1 of 10 items failed"},
		{name: "summary_only under the threshold", o: Options{ErrorThreshold: 1, OutputAction: SummaryOnly}, r: &fakeRunner{drop: map[float64]bool{9: true}},
			wantItems: 1},
		{name: "run raising fails the mini-batch", o: Options{ErrorThreshold: 0}, r: &fakeRunner{raise: map[float64]bool{3: true}},
			wantItems: 3, wantErr: "the last: mini-batch 2 (in.csv rows 3-5): script_error: run() raised ValueError: bad rows"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log strings.Builder
			o := tt.o
			o.Input, o.Output, o.MiniBatchSize, o.Progress = table, t.TempDir(), 3, &syncWriter{w: &log}
			o.Workers = max(o.Workers, 2)
			if o.OutputAction == "" {
				o.OutputAction = AppendRow
			}
			res, err := Run(t.Context(), o, ScriptScorer{Runner: tt.r})
			if tt.wantErr != "" {
				if !errors.Is(err, ErrThreshold) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want ErrThreshold containing %q", err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if res.FailedItems != tt.wantItems {
				t.Errorf("got %d failed items, want %d", res.FailedItems, tt.wantItems)
			}
			for _, l := range tt.wantLog {
				if !strings.Contains(log.String(), l+"\n") {
					t.Errorf("log lacks %q:\n%s", l, log.String())
				}
			}
			ents, _ := os.ReadDir(o.Output)
			if tt.wantOut == nil {
				if len(ents) != 0 {
					t.Errorf("got %d output files, want none", len(ents))
				}
				return
			}
			b, err := os.ReadFile(filepath.Join(o.Output, DefaultOutputFileName))
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSpace(string(b)), "\n")
			for _, l := range tt.wantOut {
				if !contains(lines, l) {
					t.Errorf("output lacks line %q:\n%s", l, b)
				}
			}
			if lines[0] != tt.wantOut[0] {
				t.Errorf("got header %q, want %q", lines[0], tt.wantOut[0])
			}
			if want := 1 + 10 - tt.wantItems; len(lines) != want {
				t.Errorf("got %d lines, want %d:\n%s", len(lines), want, b)
			}
		})
	}
}

func contains(lines []string, l string) bool {
	for _, x := range lines {
		if x == l {
			return true
		}
	}
	return false
}

// TestRunScriptScorerFiles: a folder's mini-batches of files; elements
// that are dicts become columns, no labels are added.
func TestRunScriptScorerFiles(t *testing.T) {
	in := t.TempDir()
	for i := range 5 {
		if err := os.WriteFile(filepath.Join(in, "f"+strconv.Itoa(i)+".txt"), []byte(strings.Repeat("x", i)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := t.TempDir()
	res, err := Run(t.Context(), Options{Input: in, Output: out, MiniBatchSize: 2, Workers: 2, OutputAction: AppendRow, ErrorThreshold: -1}, ScriptScorer{Runner: &fakeRunner{}})
	if err != nil {
		t.Fatal(err)
	}
	if res.MiniBatches != 3 || res.Items != 5 || res.Rows != 5 || res.FailedItems != 0 {
		t.Errorf("got %+v, want 3 mini-batches, 5 items, 5 rows", res)
	}
	b, _ := os.ReadFile(res.OutputFile)
	if want := "name,size\nf0.txt,0\nf1.txt,1\nf2.txt,2\nf3.txt,3\nf4.txt,4\n"; string(b) != want {
		t.Errorf("got %q, want %q", b, want)
	}
}
