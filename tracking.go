package hangar

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Experiment tracking, as MLflow's tracking server keeps it: experiments
// hold runs; a run has params (set once), tags, metrics (every point, and
// the latest per key) and dataset inputs. Hangar serves it through MLflow's
// REST API, so the rules here are MLflow's (2.x, with the 3.x additions
// ARCHITECTURE.md lists), with MLflow's error messages, which its clients
// and users know. Every entity belongs to a workspace; experiment ids are
// numbers per workspace, written as decimal strings, and "0" is the Default
// experiment every workspace has. Times are Unix milliseconds, as in MLflow.

// Lifecycle stages of experiments and runs: deleting is a soft delete that
// restore undoes.
const (
	LifecycleActive  = "active"
	LifecycleDeleted = "deleted"
)

// Run statuses. MLflow allows any status to follow any other (a finished
// run is resumed by setting it RUNNING again).
const (
	RunRunning   = "RUNNING"
	RunScheduled = "SCHEDULED"
	RunFinished  = "FINISHED"
	RunFailed    = "FAILED"
	RunKilled    = "KILLED"
)

// RunStatuses lists the run statuses in MLflow's enum order.
func RunStatuses() []string {
	return []string{RunRunning, RunScheduled, RunFinished, RunFailed, RunKilled}
}

// The Default experiment every workspace has.
const (
	DefaultExperimentID   = "0"
	DefaultExperimentName = "Default"
)

// System tags MLflow's clients and server set on runs and dataset inputs.
const (
	TagRunName         = "mlflow.runName"
	TagParentRunID     = "mlflow.parentRunId"
	TagUser            = "mlflow.user"
	TagSourceName      = "mlflow.source.name"
	TagSourceType      = "mlflow.source.type"
	TagLogModelHistory = "mlflow.log-model.history"
	TagDatasetContext  = "mlflow.data.context"
)

// Tracking limits, as MLflow's: longer keys and values, and larger batches,
// are refused with EINVALID (MLflow 2.11+ cuts long param and tag values
// silently instead; Hangar keeps 2.10's refusal, with 3.x's tag limit).
const (
	MaxTrackingKeyLength        = 250  // characters in a metric, param or tag key
	MaxParamValueLength         = 6000 // characters in a param value
	MaxRunTagValueLength        = 8000 // characters in a run tag value (MLflow 3.x; 5000 in 2.10)
	MaxExperimentTagValueLength = 5000 // characters in an experiment tag value
	MaxExperimentNameLength     = 500  // characters in an experiment name
	MaxBatchMetrics             = 1000 // metrics in one log-batch
	MaxBatchParams              = 100  // params in one log-batch
	MaxBatchTags                = 100  // tags in one log-batch
	MaxBatchEntities            = 1000 // metrics, params and tags together in one log-batch
	MaxBatchDatasets            = 1000 // dataset inputs in one log-inputs
	MaxDatasetNameLength        = 500
	MaxDatasetDigestLength      = 36
	MaxDatasetSourceLength      = 65535
	MaxDatasetSchemaLength      = 1048575
	MaxDatasetProfileLength     = 16777215
	MaxInputTagKeyLength        = 255
	MaxInputTagValueLength      = 500
	// MaxLogModelHistoryLength bounds the mlflow.log-model.history tag,
	// which log-model appends to (MLflow caps it at the tag limit, then
	// fails or, in 2.11+, cuts the JSON; Hangar takes far more and says so
	// when full).
	MaxLogModelHistoryLength = 1 << 20

	// MaxSearchResults is the largest page of a run or experiment search.
	MaxSearchResults = 50000
	// DefaultSearchRunsResults is the page size of runs/search when the
	// request gives none (MLflow's proto default).
	DefaultSearchRunsResults = 1000
	// DefaultMetricHistoryResults is the page of metrics/get-history when
	// the request gives none, and MaxMetricHistoryResults the largest; a
	// larger request gets that much and a page token.
	DefaultMetricHistoryResults = 25000
	MaxMetricHistoryResults     = 100000
)

// ViewType selects experiments or runs by lifecycle stage in searches.
type ViewType int

// The view types, with MLflow's enum names. The zero value is ActiveOnly,
// MLflow's default.
const (
	ViewActiveOnly  ViewType = iota // ACTIVE_ONLY
	ViewDeletedOnly                 // DELETED_ONLY
	ViewAll                         // ALL
)

// String returns MLflow's name of the view type.
func (v ViewType) String() string {
	switch v {
	case ViewDeletedOnly:
		return "DELETED_ONLY"
	case ViewAll:
		return "ALL"
	}
	return "ACTIVE_ONLY"
}

// Stages returns the lifecycle stages the view type selects.
func (v ViewType) Stages() []string {
	switch v {
	case ViewDeletedOnly:
		return []string{LifecycleDeleted}
	case ViewAll:
		return []string{LifecycleActive, LifecycleDeleted}
	}
	return []string{LifecycleActive}
}

// ParseViewType reads a view type as MLflow's protobuf parser does: its
// name, or its enum number (1, 2, 3); "" is ACTIVE_ONLY. Errors: EINVALID.
func ParseViewType(s string) (ViewType, error) {
	switch s {
	case "", "ACTIVE_ONLY", "1":
		return ViewActiveOnly, nil
	case "DELETED_ONLY", "2":
		return ViewDeletedOnly, nil
	case "ALL", "3":
		return ViewAll, nil
	}
	return 0, Errorf(EINVALID, "Invalid value %s for parameter 'view_type' supplied: want ACTIVE_ONLY, DELETED_ONLY or ALL", clipValue(s))
}

// Experiment is a named group of runs in a workspace.
type Experiment struct {
	// ID is the experiment's number in its workspace, in decimal; "0" is
	// the Default experiment.
	ID               string          `json:"experiment_id"`
	Name             string          `json:"name"`
	ArtifactLocation string          `json:"artifact_location"`
	LifecycleStage   string          `json:"lifecycle_stage"`
	CreationTime     int64           `json:"creation_time"` // Unix ms
	LastUpdateTime   int64           `json:"last_update_time"`
	Tags             []ExperimentTag `json:"tags,omitempty"`
}

// ExperimentTag is a tag of an experiment.
type ExperimentTag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Run is one run of an experiment, with its latest metrics, params, tags
// and dataset inputs.
type Run struct {
	Info   RunInfo   `json:"info"`
	Data   RunData   `json:"data"`
	Inputs RunInputs `json:"inputs"`
}

// RunInfo is what a run is, apart from what was logged to it.
type RunInfo struct {
	RunID          string `json:"run_id"` // 32 lower-case hex digits
	RunName        string `json:"run_name"`
	ExperimentID   string `json:"experiment_id"`
	UserID         string `json:"user_id"`
	Status         string `json:"status"`
	StartTime      int64  `json:"start_time"`         // Unix ms, as the client sent it
	EndTime        *int64 `json:"end_time,omitempty"` // nil until set
	ArtifactURI    string `json:"artifact_uri"`
	LifecycleStage string `json:"lifecycle_stage"`
}

// RunData is what was logged to a run: the latest value of each metric
// (greatest step, then timestamp, then value), params and tags, each
// ordered by key.
type RunData struct {
	Metrics []Metric `json:"metrics,omitempty"`
	Params  []Param  `json:"params,omitempty"`
	Tags    []RunTag `json:"tags,omitempty"`
}

// RunInputs are the dataset inputs of a run, in the order they were first
// logged.
type RunInputs struct {
	DatasetInputs []DatasetInput `json:"dataset_inputs,omitempty"`
}

// Metric is one point of a metric: its value at a step and a time.
type Metric struct {
	Key       string  `json:"key"`
	Value     float64 `json:"value"` // NaN and ±Inf are "NaN", "Infinity", "-Infinity" in JSON
	Timestamp int64   `json:"timestamp"`
	Step      int64   `json:"step"`
}

// MarshalJSON writes NaN and infinite values as MLflow does, as the strings
// "NaN", "Infinity" and "-Infinity", which JSON numbers cannot hold.
func (m Metric) MarshalJSON() ([]byte, error) {
	var v any = m.Value
	switch {
	case math.IsNaN(m.Value):
		v = "NaN"
	case math.IsInf(m.Value, 1):
		v = "Infinity"
	case math.IsInf(m.Value, -1):
		v = "-Infinity"
	}
	return json.Marshal(struct {
		Key       string `json:"key"`
		Value     any    `json:"value"`
		Timestamp int64  `json:"timestamp"`
		Step      int64  `json:"step"`
	}{m.Key, v, m.Timestamp, m.Step})
}

// UnmarshalJSON reads what MarshalJSON writes (numbers as numbers or
// strings).
func (m *Metric) UnmarshalJSON(b []byte) error {
	var w struct {
		Key       string          `json:"key"`
		Value     json.RawMessage `json:"value"`
		Timestamp int64           `json:"timestamp"`
		Step      int64           `json:"step"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	v := 0.0
	if len(w.Value) > 0 && string(w.Value) != "null" {
		var s string
		if w.Value[0] == '"' {
			if err := json.Unmarshal(w.Value, &s); err != nil {
				return err
			}
		} else {
			s = string(w.Value)
		}
		switch s {
		case "NaN":
			v = math.NaN()
		case "Infinity":
			v = math.Inf(1)
		case "-Infinity":
			v = math.Inf(-1)
		default:
			f, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return Errorf(EINVALID, "metric %s: value %s is not a number", clipValue(w.Key), clipValue(s))
			}
			v = f
		}
	}
	*m = Metric{Key: w.Key, Value: v, Timestamp: w.Timestamp, Step: w.Step}
	return nil
}

// Param is a run parameter: logged once per key, its value never changes.
type Param struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// RunTag is a tag of a run; setting it again overwrites it.
type RunTag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// DatasetInput is a dataset a run used, with tags of its use (the
// mlflow.data.context tag: "training", "eval", …).
type DatasetInput struct {
	Tags    []InputTag `json:"tags,omitempty"`
	Dataset Dataset    `json:"dataset"`
}

// InputTag is a tag of a dataset input.
type InputTag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Dataset describes a dataset; one (name, digest) is stored once per
// experiment. Source, Schema and Profile are JSON text, as the client sends
// them.
type Dataset struct {
	Name       string `json:"name"`
	Digest     string `json:"digest"`
	SourceType string `json:"source_type"`
	Source     string `json:"source"`
	Schema     string `json:"schema,omitempty"`
	Profile    string `json:"profile,omitempty"`
}

// RunCreate is what a client gives when it starts a run.
type RunCreate struct {
	// ExperimentID is the experiment of the run; "" is the Default one.
	ExperimentID string
	UserID       string
	// RunName names the run; without one the mlflow.runName tag does, and
	// without either a name is made up (NewRunName). The name is also
	// kept in the mlflow.runName tag.
	RunName   string
	StartTime int64 // Unix ms; as sent, 0 when not
	Tags      []RunTag
}

// RunUpdate changes a run; only what is set changes.
type RunUpdate struct {
	Status  string // "" keeps it
	EndTime *int64 // nil keeps it
	RunName string // "" keeps it; a name also sets the mlflow.runName tag
}

// LogBatch is what one log-batch request logs to a run: all of it, or
// nothing, in one transaction.
type LogBatch struct {
	Metrics []Metric
	Params  []Param
	Tags    []RunTag
	// ModelMetrics are the points of Metrics that name a logged model
	// (MLflow 3.x model_id, with the dataset they were computed on): each
	// is also one of Metrics, which the run keeps as every other point.
	ModelMetrics []LoggedModelMetric
}

// RunSearch asks for runs of experiments.
type RunSearch struct {
	ExperimentIDs []string
	// Filter and OrderBy are in MLflow's search grammar (package
	// mlflow/search); "" and none match and sort as MLflow does.
	Filter  string
	OrderBy []string
	View    ViewType
	// MaxResults is the page size, 1 to MaxSearchResults.
	MaxResults int
	PageToken  string
}

// ExperimentSearch asks for experiments of a workspace.
type ExperimentSearch struct {
	Filter     string
	OrderBy    []string
	View       ViewType
	MaxResults int // 1 to MaxSearchResults
	PageToken  string
}

// TrackingService stores experiments and runs of workspaces, with MLflow's
// rules and messages. Every write is audited in its own transaction:
// experiments/write|delete on experiments/<workspace-scoped id>, and
// runs/write|delete on runs/<run id>, one event per call however much a
// batch logs. Every method takes the workspace first; entities of another
// workspace are not found (ENOTFOUND). Errors common to all: EINVALID for
// text with NUL or invalid UTF-8, ENOTFOUND for a workspace that does not
// exist.
type TrackingService interface {
	// CreateExperiment stores e, setting its ID, ArtifactLocation (unless
	// given), LifecycleStage and times. Errors: EINVALID (name, tags),
	// ECONFLICT (the name is taken, also by a deleted experiment).
	CreateExperiment(ctx context.Context, workspace string, e *Experiment) error
	// Experiment returns an experiment of any stage. Errors: ENOTFOUND.
	Experiment(ctx context.Context, workspace, id string) (*Experiment, error)
	// ExperimentByName returns the experiment of that name, of any stage.
	// Errors: ENOTFOUND.
	ExperimentByName(ctx context.Context, workspace, name string) (*Experiment, error)
	// SearchExperiments returns a page of experiments. Errors: EINVALID
	// (filter, order, page size, page token).
	SearchExperiments(ctx context.Context, workspace string, q ExperimentSearch) (*Page[*Experiment], error)
	// RenameExperiment renames an active experiment. Errors: ENOTFOUND,
	// EINVALID (a deleted experiment, the name), ECONFLICT.
	RenameExperiment(ctx context.Context, workspace, id, name string) error
	// DeleteExperiment marks an active experiment and all its runs deleted.
	// Errors: ENOTFOUND (also when it is deleted already).
	DeleteExperiment(ctx context.Context, workspace, id string) error
	// RestoreExperiment makes a deleted experiment and all its runs active.
	// Errors: ENOTFOUND (also when it is active).
	RestoreExperiment(ctx context.Context, workspace, id string) error
	// SetExperimentTag sets a tag of an active experiment. Errors:
	// ENOTFOUND, EINVALID (key, value, a deleted experiment).
	SetExperimentTag(ctx context.Context, workspace, id string, tag ExperimentTag) error

	// CreateRun starts a run: RUNNING, active, with a new id. Errors:
	// ENOTFOUND (experiment), EINVALID (a deleted experiment, a name that
	// differs from the mlflow.runName tag, tags).
	CreateRun(ctx context.Context, workspace string, c RunCreate) (*Run, error)
	// Run returns a run of any stage. Errors: ENOTFOUND.
	Run(ctx context.Context, workspace, id string) (*Run, error)
	// UpdateRun changes an active run and returns its info. Errors:
	// ENOTFOUND, EINVALID (status, a deleted run).
	UpdateRun(ctx context.Context, workspace, id string, u RunUpdate) (*RunInfo, error)
	// DeleteRun marks a run deleted (again is fine). Errors: ENOTFOUND.
	DeleteRun(ctx context.Context, workspace, id string) error
	// RestoreRun makes a run active (again is fine). Errors: ENOTFOUND.
	RestoreRun(ctx context.Context, workspace, id string) error
	// SearchRuns returns a page of runs of the experiments, whole (latest
	// metrics, params, tags, inputs). Errors: EINVALID (filter, order, page
	// size, page token).
	SearchRuns(ctx context.Context, workspace string, q RunSearch) (*Page[*Run], error)
	// LogBatch logs metrics, params and tags to an active run in one
	// transaction: every metric point is kept (an exact duplicate once),
	// the latest per key follows, a param may be logged again only with
	// the same value, tags are overwritten (the last of a batch wins).
	// Errors: EINVALID (ValidateLogBatch, a changed param, a deleted run),
	// ENOTFOUND.
	LogBatch(ctx context.Context, workspace, runID string, b LogBatch) error
	// SetRunTag sets one tag of an active run; mlflow.runName also renames
	// it. Errors: EINVALID, ENOTFOUND.
	SetRunTag(ctx context.Context, workspace, runID string, tag RunTag) error
	// DeleteRunTag deletes a tag of an active run. Errors: ENOTFOUND (run
	// or tag), EINVALID (a deleted run).
	DeleteRunTag(ctx context.Context, workspace, runID, key string) error
	// LogInputs records datasets an active run used; a dataset is stored
	// once per experiment, an input once per run (its tags are those of
	// its first logging). Errors: EINVALID, ENOTFOUND.
	LogInputs(ctx context.Context, workspace, runID string, inputs []DatasetInput) error
	// LogModel appends a model's MLmodel description (JSON) to the run's
	// mlflow.log-model.history tag. Errors: EINVALID (not an MLmodel
	// description, a deleted run, a full history), ENOTFOUND.
	LogModel(ctx context.Context, workspace, runID, modelJSON string) error
	// MetricHistory returns a page of every point of a run's metric, by
	// timestamp, then step, then value (a NaN after every number). A run that does not exist has no
	// points. opt.MaxResults <= 0 means DefaultMetricHistoryResults; more
	// than MaxMetricHistoryResults gets that many. Errors: EINVALID (page
	// token).
	MetricHistory(ctx context.Context, workspace, runID, key string, opt ListOptions) (*Page[Metric], error)
}

// ParseExperimentID returns the number of an experiment id: a decimal
// string without sign or leading zeros. Errors: ENOTFOUND with MLflow's
// message, since an id that is not a number names no experiment.
func ParseExperimentID(id string) (int64, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != id {
		return 0, ExperimentNotFound(id)
	}
	return n, nil
}

// ExperimentNotFound is MLflow's error for an experiment id that names none.
func ExperimentNotFound(id string) error {
	return Errorf(ENOTFOUND, "No Experiment with id=%s exists", clipValue(id))
}

// RunNotFound is MLflow's error for a run id that names none.
func RunNotFound(id string) error {
	return Errorf(ENOTFOUND, "Run with id=%s not found", clipValue(id))
}

// RunNotActive is MLflow's error for a change to a deleted run.
func RunNotActive(id, stage string) error {
	return Errorf(EINVALID, "The run %s must be in the 'active' state. Current state is %s.", id, stage)
}

// ExperimentNotActive is MLflow's error for a change to a deleted experiment.
func ExperimentNotActive(id, stage string) error {
	return Errorf(EINVALID, "The experiment %s must be in the 'active' state. Current state is %s.", id, stage)
}

// ExperimentArtifactLocation is where an experiment's artifacts live: the
// server's artifact proxy (mlflow-artifacts:/<id>), so that MLflow clients
// send artifacts through Hangar rather than to a path of their own.
func ExperimentArtifactLocation(id string) string { return "mlflow-artifacts:/" + id }

// RunArtifactURI is where a run's artifacts live: <experiment's
// location>/<run id>/artifacts, as MLflow makes it.
func RunArtifactURI(experimentLocation, runID string) string {
	return strings.TrimSuffix(experimentLocation, "/") + "/" + runID + "/artifacts"
}

// ValidateExperimentName checks an experiment name with MLflow's messages.
func ValidateExperimentName(name string) error {
	if name == "" {
		return Errorf(EINVALID, "Invalid experiment name: ''")
	}
	if n := utf8.RuneCountInString(name); n > MaxExperimentNameLength {
		return Errorf(EINVALID, "Experiment name exceeds the maximum length of %d characters", MaxExperimentNameLength)
	}
	return ValidateText("experiment name", name, math.MaxInt)
}

// ValidateExperimentTag checks an experiment tag: a tag name, a key of at
// most MaxTrackingKeyLength and a value of at most
// MaxExperimentTagValueLength characters.
func ValidateExperimentTag(t ExperimentTag) error {
	if err := validateKey("tag", t.Key); err != nil {
		return err
	}
	if err := validateLength("Tag key", MaxTrackingKeyLength, t.Key); err != nil {
		return err
	}
	if err := validateLength("Tag value", MaxExperimentTagValueLength, t.Value); err != nil {
		return err
	}
	return ValidateText("tag value", t.Value, math.MaxInt)
}

// ValidateMetric checks a metric point: its key, a timestamp that is not
// negative. Any step and any value (NaN and ±Inf included) are fine.
func ValidateMetric(m Metric) error {
	if err := validateKey("metric", m.Key); err != nil {
		return err
	}
	if m.Timestamp < 0 {
		return Errorf(EINVALID, "Got invalid timestamp %d for metric '%s' (value=%s). Timestamp must be a nonnegative long (64-bit integer) ",
			m.Timestamp, m.Key, pyFloat(m.Value))
	}
	return validateLength("Metric name", MaxTrackingKeyLength, m.Key)
}

// ValidateParam checks a param: its key, a key of at most
// MaxTrackingKeyLength and a value of at most MaxParamValueLength
// characters.
func ValidateParam(p Param) error {
	if err := validateKey("parameter", p.Key); err != nil {
		return err
	}
	if err := validateLength("Param key", MaxTrackingKeyLength, p.Key); err != nil {
		return err
	}
	if err := validateLength("Param value", MaxParamValueLength, p.Value); err != nil {
		return err
	}
	return ValidateText("param value", p.Value, math.MaxInt)
}

// ValidateRunTag checks a run tag: its key, a key of at most
// MaxTrackingKeyLength and a value of at most MaxRunTagValueLength
// characters.
func ValidateRunTag(t RunTag) error {
	if err := validateKey("tag", t.Key); err != nil {
		return err
	}
	if err := validateLength("Tag key", MaxTrackingKeyLength, t.Key); err != nil {
		return err
	}
	if err := validateLength("Tag value", MaxRunTagValueLength, t.Value); err != nil {
		return err
	}
	return ValidateText("tag value", t.Value, math.MaxInt)
}

// ValidateLogBatch checks a log-batch as MLflow does, in its order: every
// metric, param and tag, then the counts (MaxBatchMetrics, MaxBatchParams,
// MaxBatchTags, MaxBatchEntities), then that no param key comes twice.
func ValidateLogBatch(b LogBatch) error {
	for _, m := range b.Metrics {
		if err := ValidateMetric(m); err != nil {
			return err
		}
	}
	for _, p := range b.Params {
		if err := ValidateParam(p); err != nil {
			return err
		}
	}
	for _, t := range b.Tags {
		if err := ValidateRunTag(t); err != nil {
			return err
		}
	}
	for _, m := range b.ModelMetrics {
		if !ValidLoggedModelID(m.ModelID) {
			return Errorf(EINVALID, "Invalid model_id '%s' of metric '%s': a logged model id is m- and 32 hexadecimal digits.", firstRunes(m.ModelID, 250), m.Key)
		}
		if err := validateLength("Metric dataset_name", MaxDatasetNameLength, m.DatasetName); err != nil {
			return err
		}
		if err := validateLength("Metric dataset_digest", MaxDatasetDigestLength, m.DatasetDigest); err != nil {
			return err
		}
		if err := ValidateText("metric dataset_name", m.DatasetName, MaxDatasetNameLength*4); err != nil {
			return err
		}
		if err := ValidateText("metric dataset_digest", m.DatasetDigest, MaxDatasetDigestLength*4); err != nil {
			return err
		}
	}
	for _, l := range []struct {
		what     string
		limit, n int
	}{
		{"metrics", MaxBatchMetrics, len(b.Metrics)},
		{"params", MaxBatchParams, len(b.Params)},
		{"tags", MaxBatchTags, len(b.Tags)},
		{"metrics, params, and tags", MaxBatchEntities, len(b.Metrics) + len(b.Params) + len(b.Tags)},
	} {
		if l.n > l.limit {
			return Errorf(EINVALID, "A batch logging request can contain at most %d %s. Got %d %s. Please split up %s across multiple requests and try again.",
				l.limit, l.what, l.n, l.what, l.what)
		}
	}
	seen := make(map[string]bool, len(b.Params))
	var dupes []string
	for _, p := range b.Params {
		if seen[p.Key] {
			dupes = append(dupes, p.Key)
		}
		seen[p.Key] = true
	}
	if len(dupes) > 0 {
		return Errorf(EINVALID, "Duplicate parameter keys have been submitted: %s. Please ensure the request contains only one param value per param key.", pyStrings(dupes))
	}
	return nil
}

var runIDRE = regexp.MustCompile(`^[a-zA-Z0-9][\w\-]{0,255}$`)

// ValidateRunID checks the form MLflow requires of a run id in log-batch
// and log-inputs.
func ValidateRunID(id string) error {
	if !runIDRE.MatchString(id) {
		return Errorf(EINVALID, "Invalid run ID: '%s'", clipValue(id))
	}
	return nil
}

// ValidateRunStatus checks a run status.
func ValidateRunStatus(s string) error {
	if !slices.Contains(RunStatuses(), s) {
		return Errorf(EINVALID, "Invalid value %s for parameter 'status' supplied: want one of %s", clipValue(s), strings.Join(RunStatuses(), ", "))
	}
	return nil
}

// ValidateDatasetInputs checks the datasets of a log-inputs with MLflow's
// rules and messages: at most MaxBatchDatasets; name, digest, source type
// and source given; each field and input tag within its length.
func ValidateDatasetInputs(inputs []DatasetInput) error {
	if len(inputs) > MaxBatchDatasets {
		return Errorf(EINVALID, "A request can contain at most %d dataset inputs. Got %d dataset inputs.", MaxBatchDatasets, len(inputs))
	}
	for _, in := range inputs {
		d := in.Dataset
		for _, f := range []struct {
			what, v string
			limit   int
		}{
			{"name", d.Name, MaxDatasetNameLength},
			{"digest", d.Digest, MaxDatasetDigestLength},
			{"source_type", d.SourceType, -1},
			{"source", d.Source, MaxDatasetSourceLength},
			{"schema", d.Schema, MaxDatasetSchemaLength},
			{"profile", d.Profile, MaxDatasetProfileLength},
		} {
			required := f.what == "name" || f.what == "digest" || f.what == "source_type" || f.what == "source"
			if required && f.v == "" {
				return Errorf(EINVALID, "Dataset %s cannot be None", f.what)
			}
			if f.limit >= 0 && utf8.RuneCountInString(f.v) > f.limit {
				return Errorf(EINVALID, "Dataset %s exceeds the maximum length of %d", f.what, f.limit)
			}
			if err := ValidateText("dataset "+f.what, f.v, math.MaxInt); err != nil {
				return err
			}
		}
		for _, t := range in.Tags {
			if t.Key == "" {
				return Errorf(EINVALID, "InputTag key cannot be None")
			}
			if utf8.RuneCountInString(t.Key) > MaxInputTagKeyLength {
				return Errorf(EINVALID, "InputTag key exceeds the maximum length of %d", MaxInputTagKeyLength)
			}
			if utf8.RuneCountInString(t.Value) > MaxInputTagValueLength {
				return Errorf(EINVALID, "InputTag value exceeds the maximum length of %d", MaxInputTagValueLength)
			}
			if err := ValidateText("input tag", t.Key+t.Value, math.MaxInt); err != nil {
				return err
			}
		}
	}
	return nil
}

// LogModelEntry checks the model_json of a log-model request, MLflow's
// description of a logged model, and returns it as compact JSON to append
// to the mlflow.log-model.history tag. Errors: EINVALID with MLflow's
// messages for text that is not a JSON object and for missing fields.
func LogModelEntry(modelJSON string) (json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(modelJSON), &m); err != nil || m == nil {
		return nil, Errorf(EINVALID, "Malformed model info. \n %s \n is not a valid JSON.", clipValue(modelJSON))
	}
	var missing []string
	for _, k := range []string{"artifact_path", "flavors", "utc_time_created", "run_id"} {
		if _, ok := m[k]; !ok {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return nil, Errorf(EINVALID, "Model json is missing mandatory fields: %s", pySet(missing))
	}
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(modelJSON)); err != nil {
		return nil, Errorf(EINVALID, "Malformed model info. \n %s \n is not a valid JSON.", clipValue(modelJSON))
	}
	return b.Bytes(), nil
}

// AppendLogModelHistory appends a model entry (LogModelEntry) to the
// mlflow.log-model.history tag's JSON list. Errors: EINVALID when the
// history would exceed MaxLogModelHistoryLength.
func AppendLogModelHistory(history string, entry json.RawMessage) (string, error) {
	var list []json.RawMessage
	if history != "" && json.Unmarshal([]byte(history), &list) != nil {
		list = nil // a history someone overwrote with something else starts again
	}
	list = append(list, entry)
	b, err := json.Marshal(list)
	if err != nil {
		return "", fmt.Errorf("encode %s: %w", TagLogModelHistory, err)
	}
	if len(b) > MaxLogModelHistoryLength {
		return "", Errorf(EINVALID, "Tag %s would be %d bytes long, over its limit of %d: the run has logged too many models", TagLogModelHistory, len(b), MaxLogModelHistoryLength)
	}
	return string(b), nil
}

// validateKey checks a metric, param or tag key with MLflow's rules: only
// letters, digits, '_', '-', '.', ' ', '/' and ':' (MLflow 3.x allows the
// colon; letters and digits of any script, as Python's \w), and a path
// that names itself (not ".", no "..", not absolute, no "//" or trailing
// "/"). what is "metric", "parameter" or "tag".
func validateKey(what, key string) error {
	for _, r := range key {
		if !(unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Nl, r) || unicode.Is(unicode.No, r) ||
			r == '_' || r == '-' || r == '.' || r == ' ' || r == '/' || r == ':') {
			return Errorf(EINVALID, "Invalid %s name: '%s'. Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colons (:), and slashes (/).",
				what, clipValue(key))
		}
	}
	if norm := normPath(key); norm != key || norm == "." || strings.HasPrefix(norm, "..") || strings.HasPrefix(norm, "/") {
		return Errorf(EINVALID, "Invalid %s name: '%s'. Names may be treated as files in certain cases, and must not resolve to other names when treated as such. This name would resolve to '%s'",
			what, clipValue(key), clipValue(norm))
	}
	return nil
}

// normPath is Python's posixpath.normpath, which differs from path.Clean in
// keeping a leading "//".
func normPath(p string) string {
	if strings.HasPrefix(p, "//") && !strings.HasPrefix(p, "///") {
		return "/" + path.Clean(p)
	}
	return path.Clean(p)
}

// validateLength is MLflow's length check, counting characters (code
// points, as Python's len) and quoting the first 250 of the value.
func validateLength(entity string, limit int, v string) error {
	if n := utf8.RuneCountInString(v); n > limit {
		return Errorf(EINVALID, "%s '%s' had length %d, which exceeded length limit of %d", entity, firstRunes(v, 250), n, limit)
	}
	return nil
}

func firstRunes(s string, n int) string {
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}

// clipValue shortens what a client sent before a message quotes it.
func clipValue(s string) string {
	if utf8.RuneCountInString(s) > 250 {
		return firstRunes(s, 250) + "…"
	}
	return s
}

// pyFloat formats a float as Python's repr does for the messages MLflow
// writes: 1.0, 0.5, nan, inf.
func pyFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if !strings.ContainsAny(s, ".eEn") {
		s += ".0"
	}
	return s
}

// pyStrings renders strings as a Python list does: ['a', 'b'].
func pyStrings(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = "'" + clipValue(s) + "'"
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// pySet renders strings as a Python set does: {'a', 'b'}.
func pySet(ss []string) string {
	l := pyStrings(ss)
	return "{" + l[1:len(l)-1] + "}"
}

// NewRunName makes up a run name as MLflow does for a run started without
// one: <adjective>-<animal>-<0 to 1000>.
func NewRunName() string {
	adjectives := [...]string{"amber", "bold", "brave", "bright", "calm", "clever", "crisp", "deft", "eager", "fair",
		"gentle", "glad", "keen", "kind", "lively", "lucid", "merry", "nimble", "proud", "quick", "quiet", "rare",
		"sharp", "shy", "sleek", "smart", "steady", "swift", "tidy", "vivid", "warm", "wise", "witty", "zesty"}
	animals := [...]string{"ant", "bass", "bat", "bear", "bee", "cat", "colt", "crab", "crow", "deer", "doe", "dove",
		"duck", "eel", "elk", "finch", "fox", "frog", "goat", "gull", "hare", "hawk", "jay", "kite", "lark", "lynx",
		"mole", "moth", "newt", "owl", "ram", "seal", "slug", "swan", "toad", "vole", "wasp", "wolf", "wren", "yak"}
	return fmt.Sprintf("%s-%s-%d", adjectives[rand.IntN(len(adjectives))], animals[rand.IntN(len(animals))], rand.IntN(1001))
}

// LatestMetricLess reports whether a sorts before b in MLflow's choice of a
// metric's latest value: by step, then timestamp, then value, where NaN
// counts as 0 (MLflow stores NaN as 0 with a flag and compares the stored
// value).
func LatestMetricLess(a, b Metric) bool {
	if a.Step != b.Step {
		return a.Step < b.Step
	}
	if a.Timestamp != b.Timestamp {
		return a.Timestamp < b.Timestamp
	}
	return nanAsZero(a.Value) < nanAsZero(b.Value)
}

func nanAsZero(f float64) float64 {
	if math.IsNaN(f) {
		return 0
	}
	return f
}
