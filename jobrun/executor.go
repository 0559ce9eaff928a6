package jobrun

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// Local is the executor of compute "local": it keeps up to Parallel
// `hangar run-step --serve` processes on this machine and hands each
// dispatched job to a free one, in order. A serving runner does one job at
// a time with RunStep, exactly as a one-shot `hangar run-step` does, and
// takes the next when told; keeping it saves starting a process per step.
// A runner that dies is replaced (its job's lease expires and the
// scheduler queues it again); when the server stops, its runners finish
// the job in hand and exit.
type Local struct {
	// Binary is the hangar binary (os.Executable() of the server).
	Binary string
	// ServerURL is where the runner reaches the server.
	ServerURL string
	// Parallel bounds the runners at once (default 4).
	Parallel int
	// Lease is the runners' lease (their default when zero).
	Lease time.Duration
	// WorkDir is where runners make working folders ("" = the system's
	// temporary folder).
	WorkDir string
	// Env is added to the runners' environment (HANGAR_CA_CERT for a
	// server with its own certificate).
	Env []string
	// Output receives what the runner processes themselves print (their
	// own errors; the commands' output goes to the job logs).
	Output io.Writer
	Logger *slog.Logger

	once   sync.Once
	mu     sync.Mutex
	queue  []Dispatch
	ready  *sync.Cond
	closed bool
	wg     sync.WaitGroup
}

func (l *Local) init() {
	l.once.Do(func() {
		n := l.Parallel
		if n <= 0 {
			n = 4
		}
		if l.Logger == nil {
			l.Logger = slog.New(slog.DiscardHandler)
		}
		if l.Output == nil {
			l.Output = io.Discard
		}
		l.ready = sync.NewCond(&l.mu)
		for range n {
			l.wg.Add(1)
			go l.serve()
		}
	})
}

// Start implements Executor: the job waits for a free runner.
func (l *Local) Start(ctx context.Context, d Dispatch) error {
	if l.Binary == "" {
		return fmt.Errorf("local executor: no hangar binary to run steps with")
	}
	l.init()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return fmt.Errorf("local executor: stopped")
	}
	for _, q := range l.queue {
		if q.Workspace == d.Workspace && q.Job == d.Job {
			return nil // waiting already (a dispatch again after a long wait)
		}
	}
	l.queue = append(l.queue, d)
	l.ready.Signal()
	return nil
}

// next waits for a dispatch; false once the executor is closed.
func (l *Local) next() (Dispatch, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for len(l.queue) == 0 && !l.closed {
		l.ready.Wait()
	}
	if l.closed {
		return Dispatch{}, false
	}
	d := l.queue[0]
	l.queue = l.queue[1:]
	return d, true
}

// serve is one runner slot: it keeps a serving runner process and feeds
// it one job at a time.
func (l *Local) serve() {
	defer l.wg.Done()
	var w *localRunner
	defer func() {
		if w != nil {
			w.close()
		}
	}()
	for {
		d, ok := l.next()
		if !ok {
			return
		}
		if w == nil {
			var err error
			if w, err = l.startRunner(); err != nil {
				l.Logger.Error("start a step runner", "err", err)
				continue // the job stays Queued and is dispatched again
			}
		}
		if err := w.run(d); err != nil {
			l.Logger.Error("step runner", "workspace", d.Workspace, "job", d.Job, "err", err)
			w.close()
			w = nil
		}
	}
}

// localRunner is one `hangar run-step --serve` process.
type localRunner struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
}

func (l *Local) startRunner() (*localRunner, error) {
	args := []string{"run-step", "--serve"}
	if l.WorkDir != "" {
		args = append(args, "--work-dir", l.WorkDir)
	}
	if l.Lease > 0 {
		args = append(args, "--lease", l.Lease.String())
	}
	cmd := exec.Command(l.Binary, args...)
	// argv[0] is the command's name whatever the file is called (a test
	// binary that serves as hangar dispatches on it).
	cmd.Args[0] = "hangar"
	cmd.Env = append(append(os.Environ(), l.Env...), "HANGAR_URL="+l.ServerURL)
	cmd.Stderr = l.Output
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s run-step --serve: %w", l.Binary, err)
	}
	return &localRunner{cmd: cmd, in: in, out: bufio.NewReader(out)}, nil
}

// run hands the runner a job and waits until it is done with it.
func (w *localRunner) run(d Dispatch) error {
	b, err := json.Marshal(Assignment(d))
	if err != nil {
		return err
	}
	if _, err := w.in.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("hand over the job: %w", err)
	}
	line, err := w.out.ReadString('\n')
	if err != nil {
		return fmt.Errorf("the runner ended while running the job: %w", err)
	}
	if msg := strings.TrimSpace(line); msg != "done" {
		return fmt.Errorf("runner: %s", msg)
	}
	return nil
}

func (w *localRunner) close() {
	w.in.Close()
	done := make(chan struct{})
	go func() { w.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		w.cmd.Process.Kill()
		<-done
	}
}

// Close stops handing out jobs and ends the runners once they finished
// the job in hand; queued jobs stay Queued in the store.
func (l *Local) Close() {
	l.init()
	l.mu.Lock()
	l.closed = true
	l.ready.Broadcast()
	l.mu.Unlock()
	l.wg.Wait()
}

// Assignment is one job handed to a serving runner: a line of JSON on its
// standard input.
type Assignment struct {
	Workspace string `json:"workspace"`
	Job       string `json:"job"`
	Token     string `json:"token,omitempty"`
}

// ServeSteps is `hangar run-step --serve`: it reads assignments, one JSON
// line each, from in until it ends, runs each with RunStep (prepare gives
// the Control and options of one assignment, with its token), and writes
// "done" to out after each. A job's own failure is its job's, reported to
// the server; ServeSteps returns only when in ends or ctx does.
func ServeSteps(ctx context.Context, in io.Reader, out io.Writer, prepare func(Assignment) (Control, RunOptions), logf func(format string, args ...any)) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var a Assignment
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil || a.Workspace == "" || a.Job == "" {
			return fmt.Errorf("bad assignment %q: want {\"workspace\", \"job\", \"token\"}", sc.Text())
		}
		ctl, opt := prepare(a)
		opt.Workspace, opt.Job, opt.Token = a.Workspace, a.Job, a.Token
		if err := RunStep(ctx, ctl, opt); err != nil && logf != nil {
			logf("job %s: %v", a.Job, err)
		}
		if _, err := io.WriteString(out, "done\n"); err != nil {
			return err
		}
	}
	return sc.Err()
}

// InProcess runs step runners as goroutines of this process, with the same
// RunStep as `hangar run-step`: for tests and for a server that has no
// binary to exec.
type InProcess struct {
	// Control reaches the server; NewControl, when set, makes one per
	// dispatch from its token.
	Control    Control
	NewControl func(token string) Control
	Options    RunOptions
	Parallel   int
	Logger     *slog.Logger

	once sync.Once
	slot chan struct{}
	wg   sync.WaitGroup
}

// Start implements Executor.
func (p *InProcess) Start(ctx context.Context, d Dispatch) error {
	p.once.Do(func() {
		n := p.Parallel
		if n <= 0 {
			n = 4
		}
		p.slot = make(chan struct{}, n)
		if p.Logger == nil {
			p.Logger = slog.New(slog.DiscardHandler)
		}
	})
	ctl := p.Control
	if p.NewControl != nil {
		ctl = p.NewControl(d.Token)
	}
	opt := p.Options
	opt.Workspace, opt.Job, opt.Token = d.Workspace, d.Job, d.Token
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		select {
		case p.slot <- struct{}{}:
		case <-ctx.Done():
			return
		}
		defer func() { <-p.slot }()
		if err := RunStep(context.WithoutCancel(ctx), ctl, opt); err != nil {
			p.Logger.Error("step runner", "workspace", d.Workspace, "job", d.Job, "err", err)
		}
	}()
	return nil
}

// Wait waits for the runners started so far.
func (p *InProcess) Wait() { p.wg.Wait() }
