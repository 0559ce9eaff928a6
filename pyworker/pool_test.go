package pyworker_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/pyworker"
)

// python returns Debian's python3 after checking it has what the scoring
// tests use. Tests skip nothing: a machine without it fails with the fix.
func python(t testing.TB) string {
	t.Helper()
	py := pyworker.DefaultPython
	if out, err := exec.Command(py, "-c", "import numpy, pandas, sklearn").CombinedOutput(); err != nil {
		t.Fatalf("%s with numpy, pandas and sklearn is required (run scripts/install-deps.sh): %v: %s", py, err, out)
	}
	return py
}

// scriptConfig serves testdata/scripts/<script> with testdata/model.
func scriptConfig(t testing.TB, script string) pyworker.Config {
	return pyworker.Config{
		Python:        python(t),
		CodeDir:       "testdata/scripts",
		ScoringScript: script,
		ModelDir:      "testdata/model",
		Env:           map[string]string{"GREETING": "hello"},
		StartTimeout:  30 * time.Second,
		// The script imports pandas on its first use, which takes more
		// than Azure's 5 s on a loaded machine; the tests of timeouts
		// set their own.
		RequestTimeout: 30 * time.Second,
	}
}

func start(t testing.TB, cfg pyworker.Config) *pyworker.Pool {
	t.Helper()
	p, err := pyworker.Start(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// codeOf returns the pool error code of err, or "" when err is not an *Error.
func codeOf(err error) string {
	var e *pyworker.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// alive reports whether a process with the pid exists (a zombie counts).
func alive(pid int) bool {
	return syscall.Kill(pid, 0) == nil
}

// running reports whether the pid is a process that has not exited (not a
// zombie).
func running(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	return !strings.HasPrefix(s[strings.LastIndexByte(s, ')')+1:], " Z")
}

// pythonChildren lists this test process's child processes, zombies
// included: after Close or a failed Start there must be none left.
func pythonChildren(t *testing.T) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, e := range entries {
		var pid int
		if _, err := fmt.Sscan(e.Name(), &pid); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(b)
		rest := s[strings.LastIndexByte(s, ')')+2:]
		var state string
		var ppid int
		fmt.Sscan(rest, &state, &ppid)
		if ppid == os.Getpid() && strings.Contains(s, "(python3") {
			pids = append(pids, pid)
		}
	}
	return pids
}

func TestRun(t *testing.T) {
	cfg := scriptConfig(t, "score.py")
	cfg.Workers = 2
	cfg.MaxResponseBytes = 4096
	p := start(t, cfg)
	tests := []struct {
		name     string
		body     string
		want     string // the JSON body, when the run succeeds
		wantCode string // pool error code
		wantMsg  string // a part of the error message
	}{
		{name: "echo", body: `{"op":"echo","value":[1,"a"]}`, want: `{"echo": [1, "a"], "scale": 2}`},
		{name: "prints do not corrupt the protocol", body: `{"op":"print","value":1}`, want: `{"printed": true}`},
		{name: "numpy values", body: `{"op":"numpy"}`, want: `{"array": [0, 2, 4], "scalar": 7, "float": 0.5}`},
		{name: "pandas frame as records", body: `{"op":"pandas"}`, want: `[{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]`},
		{name: "pandas series as a list", body: `{"op":"series"}`, want: `[1.5, 2.5]`},
		{name: "NaN and infinity become null", body: `{"op":"nan"}`, want: `[1.0, null, null]`},
		{name: "a str is JSON-encoded as on Azure", body: `{"op":"str"}`, want: `"[1, 2]"`},
		{name: "run raises", body: `{"op":"raise","value":42}`, wantCode: pyworker.CodeScript, wantMsg: "run() raised ValueError: bad value 42"},
		{name: "sys.exit in run is an exception", body: `{"op":"sysexit"}`, wantCode: pyworker.CodeScript, wantMsg: "run() raised SystemExit: 4"},
		{name: "body that is not JSON", body: `{not json`, wantCode: pyworker.CodeScript, wantMsg: "JSONDecodeError"},
		{name: "unknown op", body: `{"op":"nope"}`, wantCode: pyworker.CodeScript, wantMsg: "KeyError: 'nope'"},
		{name: "response over the limit", body: `{"op":"big","size":5000}`, wantCode: pyworker.CodeTooLarge, wantMsg: "over 4096 bytes"},
		{name: "a return value that is not JSON", body: `{"op":"object"}`, wantCode: pyworker.CodeScript, wantMsg: "run() returned a value that is not JSON: TypeError: Object of type object is not JSON serializable"},
		{name: "a body that is not UTF-8 arrives with U+FFFD", body: "{\"op\":\"text\",\"v\":\"\xff\"}", want: `"{\"op\":\"text\",\"v\":\"\ufffd\"}"`},
		{name: "empty body", body: ``, wantCode: pyworker.CodeScript, wantMsg: "JSONDecodeError"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := p.Run(t.Context(), []byte(tt.body))
			if tt.wantCode != "" {
				if code := codeOf(err); code != tt.wantCode || !strings.Contains(err.Error(), tt.wantMsg) {
					t.Fatalf("got %q, %v; want code %s with %q", got, err, tt.wantCode, tt.wantMsg)
				}
				return
			}
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if string(got) != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
			if !json.Valid(got) {
				t.Errorf("got invalid JSON %s", got)
			}
		})
	}
	// No error above cost a worker.
	for _, ws := range p.Stats() {
		if ws.Restarts != 0 || ws.State != pyworker.StateIdle {
			t.Errorf("worker %d: got restarts %d, state %s; want 0, idle", ws.Worker, ws.Restarts, ws.State)
		}
	}
	// The script's prints, its traceback and the environment reached the logs.
	// Output is read concurrently with the answers: wait for the last line.
	waitFor(t, func() bool { return logText(p, 0) != "" && strings.Contains(logText(p, 0), "ValueError: bad value 42") })
	all := logText(p, 0)
	for _, want := range []string{
		"init: model loaded, scale 2", "init: env GREETING = hello", "run: printing to stdout 1",
		"no newline at the end", "straight to fd 1", "ValueError: bad value 42",
		`Traceback (most recent call last):`,
	} {
		if !strings.Contains(all, want) {
			t.Errorf("logs lack %q:\n%s", want, all)
		}
	}
}

func logText(p *pyworker.Pool, n int) string {
	var lines []string
	for _, l := range p.Logs(n) {
		lines = append(lines, l.Text)
	}
	return strings.Join(lines, "\n")
}

func TestRunErrorCodes(t *testing.T) {
	// The root code a data plane maps when it does not know pyworker's.
	tests := []struct {
		code string
		want string
	}{
		{pyworker.CodeScript, hangar.EINTERNAL},
		{pyworker.CodeCrashed, hangar.EINTERNAL},
		{pyworker.CodeBadRequest, hangar.EINVALID},
		{pyworker.CodeInitFailed, hangar.EINVALID},
		{pyworker.CodeMissingPackages, hangar.EINVALID},
		{pyworker.CodeTimeout, hangar.EUNAVAILABLE},
		{pyworker.CodeUnavailable, hangar.EUNAVAILABLE},
		{pyworker.CodeStartTimeout, hangar.EUNAVAILABLE},
		{pyworker.CodeTooLarge, hangar.ETOOLARGE},
	}
	for _, tt := range tests {
		err := fmt.Errorf("wrapped: %w", &pyworker.Error{Code: tt.code, Message: "m"})
		if got := hangar.ErrorCode(err); got != tt.want {
			t.Errorf("%s: got root code %s, want %s", tt.code, got, tt.want)
		}
		if got := hangar.ErrorMessage(err); got != "m" {
			t.Errorf("%s: got message %q, want %q", tt.code, got, "m")
		}
	}
}

func TestStartFails(t *testing.T) {
	py := python(t)
	tests := []struct {
		name     string
		cfg      pyworker.Config
		wantCode string // pool error code, or "" for a root code
		wantRoot string
		wantMsg  string
	}{
		{name: "init raises", cfg: scriptConfig(t, "init_raises.py"), wantCode: pyworker.CodeInitFailed,
			wantMsg: "init() raised RuntimeError: no model here"},
		{name: "init exits", cfg: scriptConfig(t, "init_exits.py"), wantCode: pyworker.CodeInitFailed,
			wantMsg: "the worker ended before init() returned (exit status 7): init: giving up"},
		{name: "no run function", cfg: scriptConfig(t, "no_run.py"), wantCode: pyworker.CodeInitFailed,
			wantMsg: "defines no run() function"},
		{name: "syntax error", cfg: scriptConfig(t, "syntax_error.py"), wantCode: pyworker.CodeInitFailed,
			wantMsg: "SyntaxError"},
		{name: "missing package", cfg: scriptConfig(t, "missing_package.py"), wantCode: pyworker.CodeMissingPackages,
			wantMsg: "needs the Python package 'not_a_real_package'"},
		{name: "inference_schema decorators", cfg: scriptConfig(t, "schema.py"), wantCode: pyworker.CodeInitFailed,
			wantMsg: "does not support the inference_schema decorators"},
		{name: "init hangs", cfg: func() pyworker.Config {
			c := scriptConfig(t, "init_hangs.py")
			c.StartTimeout = time.Second
			c.Workers = 2
			return c
		}(), wantCode: pyworker.CodeStartTimeout, wantMsg: "init() did not return within 1s"},
		{name: "MLflow model needing mlflow", cfg: pyworker.Config{Python: py, ModelDir: "testdata/pyfunc_mlflow"},
			wantCode: pyworker.CodeMissingPackages, wantMsg: "the MLflow model needs the Python package 'mlflow', which /usr/bin/python3 cannot import (Hangar never installs packages: install the Debian package that provides it); the model's requirements.txt asks for mlflow==2.9.2, cloudpickle==2.2.1, scikit-learn==1.2.1"},
		{name: "no such script", cfg: scriptConfig(t, "nope.py"), wantRoot: hangar.EINVALID, wantMsg: `scoring script "nope.py" is not a file`},
		{name: "script outside the code folder", cfg: scriptConfig(t, "../model/x.py"), wantRoot: hangar.EINVALID, wantMsg: "inside the code folder"},
		{name: "not a python file", cfg: scriptConfig(t, "score.txt"), wantRoot: hangar.EINVALID, wantMsg: "must be a .py file"},
		{name: "no code folder", cfg: pyworker.Config{Python: py, ScoringScript: "score.py"}, wantRoot: hangar.EINVALID, wantMsg: "needs a code folder"},
		{name: "nothing to serve", cfg: pyworker.Config{Python: py}, wantRoot: hangar.EINVALID, wantMsg: "neither a scoring script nor a model folder"},
		{name: "model folder without MLmodel", cfg: pyworker.Config{Python: py, ModelDir: "testdata/model"}, wantRoot: hangar.ENOTFOUND, wantMsg: "has no MLmodel file"},
		{name: "missing python", cfg: func() pyworker.Config {
			c := scriptConfig(t, "score.py")
			c.Python = "/nonexistent/python3"
			return c
		}(), wantRoot: hangar.EINVALID, wantMsg: "scripts/install-deps.sh"},
		{name: "too many workers", cfg: func() pyworker.Config {
			c := scriptConfig(t, "score.py")
			c.Workers = pyworker.MaxWorkers + 1
			return c
		}(), wantRoot: hangar.EINVALID, wantMsg: "workers 65 is over the limit of 64"},
		{name: "bad environment name", cfg: func() pyworker.Config {
			c := scriptConfig(t, "score.py")
			c.Env = map[string]string{"A=B": "x"}
			return c
		}(), wantRoot: hangar.EINVALID, wantMsg: `environment variable "A=B"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := pyworker.Start(t.Context(), tt.cfg)
			if err == nil {
				p.Close()
				t.Fatal("Start succeeded, want an error")
			}
			if tt.wantCode != "" && codeOf(err) != tt.wantCode {
				t.Errorf("got %v, want code %s", err, tt.wantCode)
			}
			if tt.wantRoot != "" && hangar.ErrorCode(err) != tt.wantRoot {
				t.Errorf("got %v, want root code %s", err, tt.wantRoot)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("got %v, want it to contain %q", err, tt.wantMsg)
			}
			if left := pythonChildren(t); len(left) > 0 {
				t.Errorf("got python processes %v left after the failed Start, want none", left)
			}
		})
	}
}

// scorer is what the serving package needs of a pool.
var _ interface {
	Run(ctx context.Context, raw []byte) ([]byte, error)
	Close() error
} = (*pyworker.Pool)(nil)

// TestStartCanceled: Start gives up with its context and leaves nothing.
func TestStartCanceled(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	cfg := scriptConfig(t, "init_hangs.py")
	cfg.Workers = 2
	_, err := pyworker.Start(ctx, cfg)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want %v", err, context.DeadlineExceeded)
	}
	if left := pythonChildren(t); len(left) > 0 {
		t.Errorf("got python processes %v left, want none", left)
	}
}

// TestCrashReplaced: a worker that dies during a request is replaced and
// the request answered with CodeCrashed naming how it died.
func TestCrashReplaced(t *testing.T) {
	p := start(t, scriptConfig(t, "score.py"))
	tests := []struct {
		op      string
		wantMsg string
	}{
		{"exit", "(exit status 3)"},
		{"kill", "(killed by signal killed)"},
		{"segv", "(killed by signal segmentation fault)"},
	}
	for i, tt := range tests {
		t.Run(tt.op, func(t *testing.T) {
			before := p.Stats()[0].PID
			_, err := p.Run(t.Context(), []byte(`{"op":"`+tt.op+`"}`))
			if codeOf(err) != pyworker.CodeCrashed || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("got %v, want %s with %q", err, pyworker.CodeCrashed, tt.wantMsg)
			}
			if hangar.ErrorCode(err) != hangar.EINTERNAL {
				t.Errorf("got root code %s, want %s", hangar.ErrorCode(err), hangar.EINTERNAL)
			}
			got, err := p.Run(t.Context(), []byte(`{"op":"pid"}`))
			if err != nil {
				t.Fatalf("the replacement: %v", err)
			}
			ws := p.Stats()[0]
			if ws.Restarts != i+1 {
				t.Errorf("got restarts %d, want %d", ws.Restarts, i+1)
			}
			if want := fmt.Sprintf(`{"pid": %d}`, ws.PID); string(got) != want || ws.PID == before {
				t.Errorf("got %s from pid %d (before %d), want %s from a new process", got, ws.PID, before, want)
			}
			if alive(before) {
				t.Errorf("the crashed worker %d still exists", before)
			}
		})
	}
}

// TestTimeout: a hung request kills its worker and everything the worker
// started, answers CodeTimeout, and the slot serves again.
func TestTimeout(t *testing.T) {
	cfg := scriptConfig(t, "score.py")
	cfg.RequestTimeout = time.Second
	p := start(t, cfg)
	got, err := p.Run(t.Context(), []byte(`{"op":"hang_child"}`))
	if err != nil {
		t.Fatal(err)
	}
	var child struct{ Child int }
	if err := json.Unmarshal(got, &child); err != nil || child.Child == 0 {
		t.Fatalf("got %s, %v; want a child pid", got, err)
	}
	pid := p.Stats()[0].PID
	_, err = p.Run(t.Context(), []byte(`{"op":"hang"}`))
	if codeOf(err) != pyworker.CodeTimeout || !strings.Contains(err.Error(), "did not answer within 1s") {
		t.Fatalf("got %v, want %s", err, pyworker.CodeTimeout)
	}
	if hangar.ErrorCode(err) != hangar.EUNAVAILABLE {
		t.Errorf("got root code %s, want %s", hangar.ErrorCode(err), hangar.EUNAVAILABLE)
	}
	if _, err := p.Run(t.Context(), []byte(`{"op":"echo"}`)); err != nil {
		t.Fatalf("after the timeout: %v", err)
	}
	if ws := p.Stats()[0]; ws.Restarts != 1 || ws.PID == pid {
		t.Errorf("got restarts %d, pid %d; want 1 and not %d", ws.Restarts, ws.PID, pid)
	}
	if alive(pid) {
		t.Errorf("worker %d survived the timeout kill", pid)
	}
	// The script's child went with its process group (init reaps it).
	waitFor(t, func() bool { return !alive(child.Child) })
}

// TestKilledInFlight: kill -9 of a worker holding a request.
func TestKilledInFlight(t *testing.T) {
	p := start(t, scriptConfig(t, "score.py"))
	pid := p.Stats()[0].PID
	errc := make(chan error, 1)
	go func() {
		_, err := p.Run(context.Background(), []byte(`{"op":"hang"}`))
		errc <- err
	}()
	waitFor(t, func() bool { return p.Stats()[0].State == pyworker.StateBusy })
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err := <-errc
	if codeOf(err) != pyworker.CodeCrashed || !strings.Contains(err.Error(), fmt.Sprintf("(pid %d) ended during the request (killed by signal killed)", pid)) {
		t.Fatalf("got %v, want %s", err, pyworker.CodeCrashed)
	}
	if _, err := p.Run(t.Context(), []byte(`{"op":"echo"}`)); err != nil {
		t.Fatalf("after the kill: %v", err)
	}
	if got := p.Stats()[0].Restarts; got != 1 {
		t.Errorf("got restarts %d, want 1", got)
	}
}

// TestKilledIdle: a worker that dies between requests is replaced before the
// next request needs it, or the request waits for the replacement.
func TestKilledIdle(t *testing.T) {
	p := start(t, scriptConfig(t, "score.py"))
	pid := p.Stats()[0].PID
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// Once it is dead the request goes to the replacement, whether the pool
	// noticed the death yet or only finds its pipe broken.
	waitFor(t, func() bool { return !running(pid) })
	if _, err := p.Run(t.Context(), []byte(`{"op":"echo"}`)); err != nil {
		t.Fatalf("after the kill: %v", err)
	}
	if ws := p.Stats()[0]; ws.Restarts != 1 || ws.PID == pid {
		t.Errorf("got restarts %d, pid %d; want 1 and a new pid", ws.Restarts, ws.PID)
	}
}

// syncBuffer is a bytes.Buffer for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestConcurrent: requests spread over the workers, and each gets its own
// answer.
func TestConcurrent(t *testing.T) {
	cfg := scriptConfig(t, "score.py")
	cfg.Workers = 3
	p := start(t, cfg)
	var mu sync.Mutex
	pids := map[int]int{}
	var wg sync.WaitGroup
	for i := range 24 {
		wg.Go(func() {
			body := `{"op":"sleep","seconds":0.05}`
			if i%2 == 1 {
				body = fmt.Sprintf(`{"op":"echo","value":%d}`, i)
			}
			got, err := p.Run(t.Context(), []byte(body))
			if err != nil {
				t.Errorf("request %d: %v", i, err)
				return
			}
			if i%2 == 1 {
				if want := fmt.Sprintf(`{"echo": %d, "scale": 2}`, i); string(got) != want {
					t.Errorf("request %d: got %s, want %s", i, got, want)
				}
				return
			}
			var r struct{ PID int }
			json.Unmarshal(got, &r)
			mu.Lock()
			pids[r.PID]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if len(pids) < 2 {
		t.Errorf("got answers from workers %v, want at least 2 of 3", pids)
	}
	var total int64
	for _, ws := range p.Stats() {
		total += ws.Requests
		if ws.CPUSeconds <= 0 || ws.RSSBytes < 1<<20 {
			t.Errorf("worker %d: got cpu %.2fs, rss %d; want both read from /proc", ws.Worker, ws.CPUSeconds, ws.RSSBytes)
		}
	}
	if total != 24 {
		t.Errorf("got %d requests counted, want 24", total)
	}
}

// TestClose: Close ends every process, answers requests in flight and
// refuses new ones.
func TestClose(t *testing.T) {
	cfg := scriptConfig(t, "score.py")
	cfg.Workers = 2
	p, err := pyworker.Start(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Ready() {
		t.Error("got not ready after Start, want ready")
	}
	var pids []int
	for _, ws := range p.Stats() {
		pids = append(pids, ws.PID)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := p.Run(context.Background(), []byte(`{"op":"hang"}`))
		errc <- err
	}()
	waitFor(t, func() bool {
		return slices.ContainsFunc(p.Stats(), func(ws pyworker.WorkerStats) bool { return ws.State == pyworker.StateBusy })
	})
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; codeOf(err) != pyworker.CodeUnavailable {
		t.Errorf("in flight: got %v, want %s", err, pyworker.CodeUnavailable)
	}
	for _, pid := range pids {
		if alive(pid) {
			t.Errorf("worker %d still exists after Close", pid)
		}
	}
	if left := pythonChildren(t); len(left) > 0 {
		t.Errorf("got python processes %v after Close, want none", left)
	}
	if _, err := p.Run(t.Context(), []byte(`{}`)); codeOf(err) != pyworker.CodeUnavailable {
		t.Errorf("after Close: got %v, want %s", err, pyworker.CodeUnavailable)
	}
	if p.Ready() {
		t.Error("got ready after Close, want not ready")
	}
	for _, ws := range p.Stats() {
		if ws.State != pyworker.StateStopped {
			t.Errorf("worker %d: got state %s after Close, want %s", ws.Worker, ws.State, pyworker.StateStopped)
		}
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestLargeBodies: megabytes each way pass the pipes without a deadlock.
func TestLargeBodies(t *testing.T) {
	p := start(t, scriptConfig(t, "score.py"))
	value := strings.Repeat("x", 3<<20)
	got, err := p.Run(t.Context(), []byte(`{"op":"echo","value":"`+value+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"echo": "` + value + `", "scale": 2}`; string(got) != want {
		t.Errorf("got %d bytes, want the %d-byte echo", len(got), len(want))
	}
}

// TestRunContext: a caller that gives up gets its context's error; the
// worker finishes the request and serves again without a restart.
func TestRunContext(t *testing.T) {
	p := start(t, scriptConfig(t, "score.py"))
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	_, err := p.Run(ctx, []byte(`{"op":"sleep","seconds":0.5}`))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want %v", err, context.DeadlineExceeded)
	}
	if _, err := p.Run(t.Context(), []byte(`{"op":"echo"}`)); err != nil {
		t.Fatal(err)
	}
	if got := p.Stats()[0].Restarts; got != 0 {
		t.Errorf("got restarts %d, want 0", got)
	}
	// A context that already ended sends nothing.
	before := p.Stats()[0].Requests
	done, cancelNow := context.WithCancel(t.Context())
	cancelNow()
	if _, err := p.Run(done, []byte(`{"op":"echo"}`)); !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want %v", err, context.Canceled)
	}
	if got := p.Stats()[0].Requests; got != before {
		t.Errorf("got %d requests, want %d: nothing sent", got, before)
	}
}

// TestSklearnScript runs the README's example: a scikit-learn model saved
// with joblib, loaded from AZUREML_MODEL_DIR.
func TestSklearnScript(t *testing.T) {
	cfg := scriptConfig(t, "sklearn_score.py")
	cfg.ModelDir = t.TempDir()
	fit := `import sys, joblib, numpy as np
from sklearn.linear_model import LinearRegression
x = np.array([[0.0], [1.0], [2.0], [3.0]])
joblib.dump(LinearRegression().fit(x, 2 * x[:, 0] + 1), sys.argv[1])`
	if out, err := exec.Command(cfg.Python, "-c", fit, filepath.Join(cfg.ModelDir, "model.pkl")).CombinedOutput(); err != nil {
		t.Fatalf("save the model: %v: %s", err, out)
	}
	p := start(t, cfg)
	got, err := p.Run(t.Context(), []byte(`{"data": [[4], [5]]}`))
	if err != nil {
		t.Fatal(err)
	}
	var preds []float64
	if err := json.Unmarshal(got, &preds); err != nil || len(preds) != 2 || preds[0] < 8.99 || preds[0] > 9.01 || preds[1] < 10.99 || preds[1] > 11.01 {
		t.Errorf("got %s, want [9, 11]", got)
	}
}

func TestPyfunc(t *testing.T) {
	p := start(t, pyworker.Config{Python: python(t), ModelDir: "testdata/pyfunc", StartTimeout: 30 * time.Second})
	tests := []struct {
		name     string
		body     string
		want     string
		wantCode string
		wantMsg  string
	}{
		{name: "dataframe_split", body: `{"dataframe_split":{"columns":["a","b"],"data":[[1,2],[3,4]]}}`, want: `{"predictions": [30, 70]}`},
		{name: "dataframe_records", body: `{"dataframe_records":[{"a":1,"b":2}]}`, want: `{"predictions": [30]}`},
		{name: "instances", body: `{"instances":[{"a":1,"b":1}]}`, want: `{"predictions": [20]}`},
		{name: "inputs as columns", body: `{"inputs":{"a":[1,2],"b":[0,0]}}`, want: `{"predictions": [10, 20]}`},
		{name: "params", body: `{"dataframe_records":[{"a":1}],"params":{"offset":5}}`, want: `{"predictions": [15]}`},
		{name: "Azure input_data split", body: `{"input_data":{"columns":["a"],"index":[0],"data":[[2]]}}`, want: `[20]`},
		{name: "Azure input_data tensor", body: `{"input_data":[[1,1,1]]}`, want: `[30]`},
		{name: "not JSON", body: `nope`, wantCode: pyworker.CodeBadRequest, wantMsg: "the body is not JSON"},
		{name: "not an object", body: `[1]`, wantCode: pyworker.CodeBadRequest, wantMsg: "must be a JSON object"},
		{name: "no known key", body: `{"data":[[1]]}`, wantCode: pyworker.CodeBadRequest, wantMsg: "exactly one of dataframe_split"},
		{name: "two keys", body: `{"inputs":[[1]],"instances":[[1]]}`, wantCode: pyworker.CodeBadRequest, wantMsg: "exactly one of"},
		{name: "records not a list", body: `{"dataframe_records":3}`, wantCode: pyworker.CodeBadRequest, wantMsg: "dataframe_records must be a list"},
		{name: "split with ragged data", body: `{"dataframe_split":{"columns":["a","b"],"data":[[1]]}}`, wantCode: pyworker.CodeBadRequest, wantMsg: "dataframe_split:"},
		{name: "predict raises", body: `{"dataframe_records":[{"a":"x"}]}`, wantCode: pyworker.CodeScript, wantMsg: "predict() raised"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := p.Run(t.Context(), []byte(tt.body))
			if tt.wantCode != "" {
				if codeOf(err) != tt.wantCode || !strings.Contains(err.Error(), tt.wantMsg) {
					t.Fatalf("got %s, %v; want %s with %q", got, err, tt.wantCode, tt.wantMsg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestLogs(t *testing.T) {
	cfg := scriptConfig(t, "score.py")
	cfg.LogLines = 3
	var slogged syncBuffer
	cfg.Logger = slog.New(slog.NewTextHandler(&slogged, nil))
	p := start(t, cfg)
	for i := range 3 {
		if _, err := p.Run(t.Context(), fmt.Appendf(nil, `{"op":"print","value":%d}`, i)); err != nil {
			t.Fatal(err)
		}
	}
	pid := p.Stats()[0].PID
	waitFor(t, func() bool {
		return strings.HasSuffix(logText(p, 0), "straight to fd 1") && strings.Contains(logText(p, 0), "stdout 2")
	})
	got := p.Logs(0)
	want := []string{"run: printing to stdout 2", "no newline at the end", "straight to fd 1"}
	if len(got) != len(want) {
		t.Fatalf("got %d lines %v, want %d (the ring's bound)", len(got), got, len(want))
	}
	for i, l := range got {
		if l.Text != want[i] || l.PID != pid || l.Worker != 0 || l.Time.IsZero() {
			t.Errorf("line %d: got %+v, want %q from worker 0 pid %d", i, l, want[i], pid)
		}
	}
	if last := p.Logs(1); len(last) != 1 || last[0].Text != "straight to fd 1" {
		t.Errorf("Logs(1): got %v, want the newest line", last)
	}
	if s := got[0].String(); !strings.Contains(s, fmt.Sprintf("worker=0 pid=%d run: printing", pid)) {
		t.Errorf("String: got %q", s)
	}
	// Every line also went through slog, with its worker and pid.
	if want := fmt.Sprintf(`msg="run: printing to stdout 2" worker=0 pid=%d`, pid); !strings.Contains(slogged.String(), want) {
		t.Errorf("slog: got\n%s\nwant a record with %s", slogged.String(), want)
	}
}
