package serving

import (
	"context"
	"time"
)

// Model is what the native runtime needs from a loaded model: its input
// columns, its outputs and a scorer of row-major rows. *score.Model
// implements it (XGBoost, LightGBM, Hangar gbdt and linear folders, and
// MLflow folders with a flavor Hangar serves natively). Implementations
// must be safe for concurrent use.
type Model interface {
	// Features returns the input columns in the order PredictRows wants
	// them. The caller does not change the slice.
	Features() []string
	// NumOutputs returns the values predicted per row: 1 for regression
	// and binary models, the number of classes otherwise.
	NumOutputs() int
	// Classes returns the class labels by index, or nil for regression.
	Classes() []string
	// Objective returns the objective in XGBoost's spelling.
	Objective() string
	// PredictRows writes NumOutputs values per row for n row-major rows
	// into out; it must not keep rows or out.
	PredictRows(rows []float64, n int, out []float64)
}

// ScriptRunner runs a model Hangar does not serve natively: an Azure
// scoring script (init() once, run(raw_data) per request) or an MLflow
// folder of another flavor, usually in a pool of worker processes
// (package pyworker). The gateway passes the request body as it came and
// returns the answer as it goes.
type ScriptRunner interface {
	// Run scores one request body and returns the JSON answer. It returns
	// when ctx is done, with ctx's error. Errors: a *hangar.Error with
	// EINVALID for input the script rejects (400 to the caller); any other
	// error is the script's failure (424 to the caller, like Azure).
	Run(ctx context.Context, raw []byte) ([]byte, error)
	// Close stops the runner's workers; the gateway calls it once, after
	// the deployment's last request finished.
	Close() error
}

// Prober is an optional capability of a ScriptRunner: the readiness
// check the gateway runs every ProbeSettings.Period. Ready reports nil
// when the runner can take requests.
type Prober interface {
	Ready(ctx context.Context) error
}

// WorkerStat is one worker process of a runner, for the worker CPU and
// memory metrics.
type WorkerStat struct {
	PID        int
	CPUSeconds float64 // user+system CPU time used so far
	RSSBytes   int64   // resident memory
}

// StatsReporter is an optional capability of a ScriptRunner: it reports
// its workers at every /metrics scrape. WorkerStats must be cheap and
// must not block.
type StatsReporter interface {
	WorkerStats() []WorkerStat
}

// TokenVerifier checks a bearer token on an endpoint whose AuthMode is
// AuthToken (Azure's aml_token). The control plane implements it; the
// gateway only asks. Verify returns nil when token may score on endpoint,
// else an error (the caller sees 401).
type TokenVerifier interface {
	Verify(ctx context.Context, endpoint, token string) error
}

// ScriptFunc adapts a Go function to a ScriptRunner: in-process scoring,
// for tests and for embedders with their own scoring code.
type ScriptFunc func(ctx context.Context, raw []byte) ([]byte, error)

// Run calls f.
func (f ScriptFunc) Run(ctx context.Context, raw []byte) ([]byte, error) { return f(ctx, raw) }

// Close does nothing.
func (f ScriptFunc) Close() error { return nil }

var _ ScriptRunner = ScriptFunc(nil)

// ProbeSettings are a deployment's liveness/readiness probe settings
// (Azure's readiness_probe): a runner implementing Prober is asked every
// Period, with Timeout, and marked not ready after FailureThreshold
// failures in a row, ready again after SuccessThreshold successes.
type ProbeSettings struct {
	InitialDelay     time.Duration
	Period           time.Duration
	Timeout          time.Duration
	SuccessThreshold int
	FailureThreshold int
}
