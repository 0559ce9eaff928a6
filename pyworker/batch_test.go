package pyworker_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/pyworker"
)

// batchConfig runs testdata/scripts/batch_score.py in batch mode, returning
// what ret asks for.
func batchConfig(t testing.TB, ret string) pyworker.Config {
	cfg := scriptConfig(t, "batch_score.py")
	cfg.Batch = true
	cfg.Env = map[string]string{"RETURN": ret}
	return cfg
}

// files writes one file per content into a temporary folder named how
// (what batch_score.py is to return) and returns the mini-batch payload
// naming them.
func files(t *testing.T, how string, contents ...string) []byte {
	t.Helper()
	dir := filepath.Join(t.TempDir(), how)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var paths []string
	for i, c := range contents {
		p := filepath.Join(dir, string(rune('a'+i))+".txt")
		if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	b, _ := json.Marshal(map[string]any{"files": paths})
	return b
}

func TestRunBatch(t *testing.T) {
	rows := func(how string) []byte {
		return []byte(`{"columns": ["x", "label", "how"], "data": [[1, "a", "` + how + `"], [2.5, "b", null], [null, "c", null]]}`)
	}
	tests := []struct {
		name    string
		payload func(t *testing.T) []byte
		want    string
	}{
		{name: "paths, DataFrame", payload: func(t *testing.T) []byte { return files(t, "frame", "1", "2") },
			want: `{"columns":["name","score"],"data":[["a.txt",2.0],["b.txt",4.0]]}`},
		{name: "paths, list of dicts", payload: func(t *testing.T) []byte { return files(t, "dicts", "1", "2") },
			want: `{"values": [{"name": "a.txt", "score": 2.0}, {"name": "b.txt", "score": 4.0}]}`},
		{name: "paths, numpy array", payload: func(t *testing.T) []byte { return files(t, "numpy", "1", "2") },
			want: `{"values": [2.0, 4.0]}`},
		{name: "fewer elements than items", payload: func(t *testing.T) []byte { return files(t, "scalars", "1", "skip", "3") },
			want: `{"values": [2.0, 6.0]}`},
		{name: "rows as a DataFrame", payload: func(*testing.T) []byte { return rows("frame") },
			want: `{"columns":["x","label","double"],"data":[[1.0,"a",2.0],[2.5,"b",5.0],[null,"c",null]]}`},
		{name: "rows, the last dropped", payload: func(*testing.T) []byte { return rows("drop_last") },
			want: `{"columns":["x","label","double"],"data":[[1.0,"a",2.0],[2.5,"b",5.0]]}`},
	}
	// One pool: the script reads what to return from the mini-batch.
	p := start(t, batchConfig(t, "frame"))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := p.RunBatch(t.Context(), tt.payload(t))
			if err != nil {
				t.Fatalf("RunBatch: %v", err)
			}
			if string(got) != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
	if _, err := p.Run(t.Context(), []byte(`{}`)); hangar.ErrorCode(err) != hangar.EINVALID {
		t.Errorf("Run on a batch pool: got %v, want EINVALID", err)
	}
}

// TestRunBatchWithoutPandas: rows reach run() as a list of dicts when
// pandas does not import.
func TestRunBatchWithoutPandas(t *testing.T) {
	cfg := batchConfig(t, "frame")
	stub := t.TempDir()
	// A pandas that fails to import shadows Debian's.
	if err := os.MkdirAll(filepath.Join(stub, "pandas"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(stub, "pandas", "__init__.py"), []byte("raise ImportError('no pandas here')\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg.Env["PYTHONPATH"] = stub
	p := start(t, cfg)
	got, err := p.RunBatch(t.Context(), []byte(`{"columns": ["x"], "data": [[1], [2]]}`))
	if err != nil {
		t.Fatalf("RunBatch: %v", err)
	}
	if want := `{"values": [{"kind": "dicts", "double": 2}, {"kind": "dicts", "double": 4}]}`; string(got) != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestRunBatchErrors(t *testing.T) {
	tests := []struct {
		name    string
		payload func(t *testing.T) []byte
		code    string
		msg     string
	}{
		{name: "run raises", payload: func(t *testing.T) []byte { return files(t, "frame", "1", "raise") },
			code: pyworker.CodeScript, msg: "run() raised ValueError: cannot score b.txt"},
		{name: "run returns None", payload: func(t *testing.T) []byte { return files(t, "none", "1") },
			code: pyworker.CodeScript, msg: "run() returned NoneType: return a list, a numpy array or a pandas DataFrame"},
		{name: "run returns a string", payload: func(t *testing.T) []byte { return files(t, "str", "1") },
			code: pyworker.CodeScript, msg: "run() returned str"},
		{name: "not JSON", payload: func(*testing.T) []byte { return []byte("{") },
			code: pyworker.CodeBadRequest, msg: "the mini-batch is not JSON"},
	}
	p := start(t, batchConfig(t, "frame"))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := p.RunBatch(t.Context(), tt.payload(t))
			if codeOf(err) != tt.code || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("got %v, want %s containing %q", err, tt.code, tt.msg)
			}
			var pe *pyworker.Error
			if tt.code == pyworker.CodeScript && strings.Contains(tt.msg, "raised") && (!errors.As(err, &pe) || !strings.Contains(pe.Traceback, "Traceback")) {
				t.Errorf("got traceback %q, want the Python traceback", pe.Traceback)
			}
		})
	}
	// The worker stays in service after its script failed.
	if _, err := p.RunBatch(t.Context(), files(t, "frame", "1")); err != nil {
		t.Errorf("RunBatch after the failures: %v", err)
	}
}

func TestRunBatchMode(t *testing.T) {
	py := python(t)
	t.Run("init fails", func(t *testing.T) {
		cfg := scriptConfig(t, "init_raises.py")
		cfg.Batch = true
		_, err := pyworker.Start(t.Context(), cfg)
		if codeOf(err) != pyworker.CodeInitFailed || !strings.Contains(err.Error(), "init() raised RuntimeError: no model here") {
			t.Errorf("got %v, want init_failed naming the exception", err)
		}
	})
	t.Run("no run function", func(t *testing.T) {
		cfg := scriptConfig(t, "no_run.py")
		cfg.Batch = true
		_, err := pyworker.Start(t.Context(), cfg)
		if codeOf(err) != pyworker.CodeInitFailed || !strings.Contains(err.Error(), "defines no run() function") {
			t.Errorf("got %v, want init_failed saying run() is missing", err)
		}
	})
	t.Run("no scoring script", func(t *testing.T) {
		_, err := pyworker.Start(t.Context(), pyworker.Config{Python: py, ModelDir: "testdata/model", Batch: true})
		if hangar.ErrorCode(err) != hangar.EINVALID || !strings.Contains(err.Error(), "batch mode needs a scoring script") {
			t.Errorf("got %v, want EINVALID", err)
		}
	})
	t.Run("RunBatch on an online pool", func(t *testing.T) {
		p := start(t, scriptConfig(t, "trivial.py"))
		if _, err := p.RunBatch(t.Context(), []byte(`{}`)); hangar.ErrorCode(err) != hangar.EINVALID {
			t.Errorf("got %v, want EINVALID", err)
		}
	})
}
