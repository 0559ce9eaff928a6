package jobrun

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"time"
)

// Local is the executor of compute "local": it runs each step runner as a
// `hangar run-step` process on this machine, at most Parallel at once
// (the rest wait in order).
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

	once sync.Once
	slot chan struct{}
	wg   sync.WaitGroup
}

func (l *Local) init() {
	l.once.Do(func() {
		n := l.Parallel
		if n <= 0 {
			n = 4
		}
		l.slot = make(chan struct{}, n)
		if l.Logger == nil {
			l.Logger = slog.New(slog.DiscardHandler)
		}
	})
}

// Start implements Executor.
func (l *Local) Start(ctx context.Context, d Dispatch) error {
	l.init()
	if l.Binary == "" {
		return fmt.Errorf("local executor: no hangar binary to run steps with")
	}
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		select {
		case l.slot <- struct{}{}:
		case <-ctx.Done():
			return
		}
		defer func() { <-l.slot }()
		args := []string{"run-step", "--workspace", d.Workspace, "--job", d.Job}
		if l.WorkDir != "" {
			args = append(args, "--work-dir", l.WorkDir)
		}
		if l.Lease > 0 {
			args = append(args, "--lease", l.Lease.String())
		}
		// The runner outlives a cancelled dispatch context: it ends its
		// own job (and the server's restart leaves it to finish or to
		// lose its lease).
		cmd := exec.Command(l.Binary, args...)
		// argv[0] is the command's name whatever the file is called (a
		// test binary that serves as hangar dispatches on it).
		cmd.Args[0] = "hangar"
		cmd.Env = append(append(os.Environ(), l.Env...), "HANGAR_URL="+l.ServerURL, "HANGAR_TOKEN="+d.Token)
		out := l.Output
		if out == nil {
			out = io.Discard
		}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Run(); err != nil {
			l.Logger.Error("step runner", "workspace", d.Workspace, "job", d.Job, "err", err)
		}
	}()
	return nil
}

// Wait waits for the runners started so far.
func (l *Local) Wait() { l.wg.Wait() }

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
