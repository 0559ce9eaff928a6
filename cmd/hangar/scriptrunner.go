package main

import (
	"context"
	"errors"
	"log/slog"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/pyworker"
	"github.com/hangar-ml/hangar/release"
	"github.com/hangar-ml/hangar/serving"
)

// scriptRunner makes a *pyworker.Pool a serving.ScriptRunner, Prober and
// StatsReporter. It lives in the wiring rather than in serving or
// pyworker so that neither engine imports the other: serving declares what
// it needs from a runner, pyworker knows nothing of HTTP, and this file is
// the one place where pyworker's codes become the data plane's statuses.
type scriptRunner struct {
	pool *pyworker.Pool
}

var (
	_ serving.ScriptRunner  = (*scriptRunner)(nil)
	_ serving.Prober        = (*scriptRunner)(nil)
	_ serving.StatsReporter = (*scriptRunner)(nil)
)

// Run scores one request in a worker. pyworker's errors become domain
// errors whose codes serving's status table maps: script_error and
// worker_crashed keep their codes (500, the message names the exception or
// the reason), bad_request is EINVALID (400), timeout is serving.ETIMEOUT
// (408), response_too_large is serving.EMODEL (424, like Azure) and
// unavailable is EUNAVAILABLE (503). ctx's own errors pass through for
// serving to map.
func (r *scriptRunner) Run(ctx context.Context, raw []byte) ([]byte, error) {
	out, err := r.pool.Run(ctx, raw)
	if err == nil {
		return out, nil
	}
	return nil, dataPlaneError(err)
}

// dataPlaneError maps an error of pyworker.Pool.Run to the data plane's
// codes. Only pyworker's caller-safe message is kept: the traceback is in
// the workers' log already (the pool writes their stderr through slog).
func dataPlaneError(err error) error {
	var pe *pyworker.Error
	if !errors.As(err, &pe) {
		return err
	}
	code := pe.Code
	switch pe.Code {
	case pyworker.CodeScript, pyworker.CodeCrashed:
		// Unknown to serving's table, so 500, with the stable code kept.
	case pyworker.CodeBadRequest:
		code = hangar.EINVALID
	case pyworker.CodeTimeout:
		code = serving.ETIMEOUT
	case pyworker.CodeTooLarge:
		code = serving.EMODEL
	case pyworker.CodeUnavailable:
		code = hangar.EUNAVAILABLE
	default:
		return err // serving answers it as a script failure, 424, and logs it
	}
	return &hangar.Error{Code: code, Message: pe.Message}
}

// Close stops the workers.
func (r *scriptRunner) Close() error { return r.pool.Close() }

// Ready reports EUNAVAILABLE when no worker is alive and initialised.
func (r *scriptRunner) Ready(context.Context) error {
	if !r.pool.Ready() {
		return hangar.Errorf(hangar.EUNAVAILABLE, "no python scoring worker is ready")
	}
	return nil
}

// WorkerStats reports the pool's live workers for the worker metrics.
func (r *scriptRunner) WorkerStats() []serving.WorkerStat {
	stats := r.pool.Stats()
	out := make([]serving.WorkerStat, 0, len(stats))
	for _, s := range stats {
		if s.PID == 0 || s.State == pyworker.StateStopped {
			continue
		}
		out = append(out, serving.WorkerStat{PID: s.PID, CPUSeconds: s.CPUSeconds, RSSBytes: s.RSSBytes})
	}
	return out
}

// Logs returns the workers' last n output lines, for
// `online-deployment get-logs` (the release controller asks for them).
func (r *scriptRunner) Logs(n int) []string {
	lines := r.pool.Logs(n)
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = l.String()
	}
	return out
}

// pythonScripts starts the release controller's script runners: pools of
// Debian python3 workers, one per deployment, instance_count strong.
type pythonScripts struct {
	logger *slog.Logger
}

var _ release.Scripts = pythonScripts{}

// StartScript starts the workers and returns once every one ran init()
// (or loaded the MLflow model).
func (p pythonScripts) StartScript(ctx context.Context, cfg release.ScriptConfig) (serving.ScriptRunner, error) {
	pool, err := pyworker.Start(ctx, pyworker.Config{
		CodeDir: cfg.CodeDir, ScoringScript: cfg.ScoringScript, ModelDir: cfg.ModelDir,
		Workers: cfg.Workers, Env: cfg.Env, RequestTimeout: cfg.RequestTimeout, Logger: p.logger,
	})
	if err != nil {
		return nil, err
	}
	return &scriptRunner{pool: pool}, nil
}
