package batchrun_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hangar-ml/hangar/batchrun"
	"github.com/hangar-ml/hangar/pyworker"
)

// TestScriptScorerPool runs a real batch scoring script in a pyworker
// pool: a table's rows (one of which run() skips) and a folder's files.
func TestScriptScorerPool(t *testing.T) {
	if _, err := os.Stat(pyworker.DefaultPython); err != nil {
		t.Skipf("%s is absent (scripts/install-deps.sh installs it)", pyworker.DefaultPython)
	}
	pool, err := pyworker.Start(t.Context(), pyworker.Config{
		CodeDir: "testdata/code", ScoringScript: "score.py", ModelDir: "testdata/model",
		Batch: true, Workers: 2, StartTimeout: time.Minute, RequestTimeout: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("x,label\n")
	for i := range 6 {
		b.WriteString(strconv.Itoa(i) + ",l" + strconv.Itoa(i) + "\n")
	}
	table := filepath.Join(dir, "t.csv")
	if err := os.WriteFile(table, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}

	out := t.TempDir()
	res, err := batchrun.Run(t.Context(), batchrun.Options{Input: table, Output: out, MiniBatchSize: 3, Workers: 2, OutputAction: batchrun.AppendRow, ErrorThreshold: 1}, batchrun.ScriptScorer{Runner: pool})
	if err != nil {
		t.Fatal(err)
	}
	if res.FailedItems != 1 || res.Rows != 5 {
		t.Errorf("got %+v, want 1 failed item, 5 rows", res)
	}
	got, _ := os.ReadFile(res.OutputFile)
	if want := "file,row,x,label,scaled\nt.csv,0,0,l0,0\nt.csv,1,1,l1,3\nt.csv,2,2,l2,6\n,,3,l3,9\n,,5,l5,15\n"; string(got) != want {
		t.Errorf("got output\n%s\nwant\n%s", got, want)
	}

	in := filepath.Join(dir, "in")
	for i := range 3 {
		writeCSV(t, filepath.Join(in, "p"+strconv.Itoa(i)+".csv"), "x\n1\n"+strconv.Itoa(i)+"\n")
	}
	res, err = batchrun.Run(t.Context(), batchrun.Options{Input: in, Output: out, MiniBatchSize: 2, Workers: 2, OutputAction: batchrun.AppendRow, OutputFileName: "files.csv"}, batchrun.ScriptScorer{Runner: pool})
	if err != nil {
		t.Fatal(err)
	}
	got, _ = os.ReadFile(res.OutputFile)
	if want := "file,sum\np0.csv,3\np1.csv,6\np2.csv,9\n"; string(got) != want {
		t.Errorf("got output\n%s\nwant\n%s", got, want)
	}
}

func writeCSV(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}
