// Package mlflow is MLflow's REST wire format (API 2.0) and a small client
// for it: the JSON shapes of params, metrics, tags and log-batch requests,
// MLflow's limits on them, its conventions for numbers (NaN and infinities
// as strings, int64s as numbers that may arrive as strings) and its error
// body. Hangar's trainers log to an MLflow tracking server with Client, and
// Hangar's own tracking routes will speak the same types.
//
// The package never reads the environment: TrackingEnv carries the
// MLFLOW_* variables that the caller read.
package mlflow

// Limits of MLflow 2.10 on what one request may carry. A log-batch request
// over them is refused with 400 INVALID_PARAMETER_VALUE, so Client cuts
// larger batches into legal chunks, as MLflow's Python client does.
const (
	MaxParamsPerBatch   = 100     // params in one log-batch
	MaxMetricsPerBatch  = 1000    // metrics in one log-batch
	MaxTagsPerBatch     = 100     // tags in one log-batch
	MaxEntitiesPerBatch = 1000    // params, metrics and tags together in one log-batch
	MaxBatchBytes       = 1 << 20 // the JSON body of one log-batch
	MaxKeyLength        = 250     // characters in a param, metric or tag key
	MaxParamValueLength = 6000    // characters in a param value
	MaxTagValueLength   = 5000    // characters in a tag value (8000 since MLflow 3)
)

// Param is a run parameter: a key with a text value, set once per run.
type Param struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// RunTag is a run tag: a key with a text value that may be overwritten.
type RunTag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Metric is one value of a metric at a step; a metric's history is the
// list of its values. Timestamp is in Unix milliseconds.
type Metric struct {
	Key       string `json:"key"`
	Value     Double `json:"value"`
	Timestamp Int64  `json:"timestamp"`
	Step      Int64  `json:"step"`
}

// LogBatch is the body of POST /api/2.0/mlflow/runs/log-batch. Client
// always sends the three lists, empty ones as [].
type LogBatch struct {
	RunID   string   `json:"run_id"`
	Metrics []Metric `json:"metrics"`
	Params  []Param  `json:"params"`
	Tags    []RunTag `json:"tags"`
}

// ErrorBody is MLflow's error response: {"error_code": "...", "message": "..."}.
type ErrorBody struct {
	ErrorCode string `json:"error_code"`
	Message   string `json:"message"`
}

// ServerVersion is the MLflow version whose REST behaviour Hangar's MLflow
// routes follow (2.x, with the 3.x additions its docs name); GET /version
// answers it, so a client that compares versions takes the 2.x paths.
const ServerVersion = "2.10.2"
