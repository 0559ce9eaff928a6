package hangar

// Logged models: MLflow 3.x's model entity. A 3.x client's log_model
// creates one (PENDING) in the run's experiment, links it to the run as an
// output (runs/outputs), uploads the files under the model's own artifact
// location <experiment location>/models/<model id>/artifacts, and then
// finalizes it (READY, or UPLOAD_FAILED when the upload failed). A
// registered model version may then be made from it with the source
// models:/<model id>. Wire shapes: mlflow/protos/service.proto
// (CreateLoggedModel, LoggedModelInfo, LoggedModelStatus …); store rules:
// mlflow/store/tracking/sqlalchemy_store.py (create_logged_model …,
// search_logged_models) of MLflow 3.x.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"math"
	"strings"
	"unicode/utf8"
)

// The statuses of a logged model, as LoggedModelStatus of service.proto
// names them on the wire.
const (
	LoggedModelPending      = "LOGGED_MODEL_PENDING"       // created, files not yet all uploaded
	LoggedModelReady        = "LOGGED_MODEL_READY"         // files uploaded
	LoggedModelUploadFailed = "LOGGED_MODEL_UPLOAD_FAILED" // the upload failed
)

// Limits of logged models, from MLflow 3.x's tables (dbmodels/models.py:
// logged_models.name and model_type String(500), status_message
// String(1000)) and the run limits for params and tags.
const (
	MaxLoggedModelNameLength          = 500
	MaxLoggedModelTypeLength          = 500
	MaxLoggedModelStatusMessageLength = 1000
	// MaxLoggedModelParams and MaxLoggedModelTags bound one request, as
	// log-batch bounds a run's.
	MaxLoggedModelParams = MaxBatchParams
	MaxLoggedModelTags   = MaxBatchTags
	// DefaultLoggedModelResults and MaxLoggedModelResults bound a
	// logged-models/search page: the proto's default (50) and MLflow's
	// search ceiling.
	DefaultLoggedModelResults = 50
	MaxLoggedModelResults     = MaxSearchResults
)

// LoggedModel is an MLflow 3.x logged model of an experiment.
type LoggedModel struct {
	ModelID       string // m-<32 hex>
	ExperimentID  string
	Name          string
	ModelType     string
	SourceRunID   string
	Status        string // LoggedModelPending, LoggedModelReady or LoggedModelUploadFailed
	StatusMessage string
	// ArtifactURI is where the model's files are:
	// <experiment artifact location>/models/<model id>/artifacts.
	ArtifactURI    string
	CreationTime   int64 // Unix ms
	LastUpdateTime int64 // Unix ms
	// Creator is the name of the identity that created the model. (MLflow's
	// creator_id is an int64 user id, which Hangar identities do not have;
	// it is not sent.)
	Creator string
	Tags    []LoggedModelTag   // ordered by key
	Params  []LoggedModelParam // ordered by key
	// Registrations are the registered model versions made from the model.
	Registrations []LoggedModelRegistration
	// Metrics are every point logged with the model's id (a log-batch or
	// log-metric whose metric names model_id), in the order logged.
	Metrics []LoggedModelMetric
}

// LoggedModelMetric is a point of a metric logged with a logged model's id
// (MLflow 3.x): it belongs to the run it was logged to as well, and may
// name the dataset it was computed on.
type LoggedModelMetric struct {
	Metric
	ModelID       string
	RunID         string // the run it was logged to
	DatasetName   string
	DatasetDigest string
}

// LoggedModelTag is a mutable key-value pair of a logged model.
type LoggedModelTag struct {
	Key   string
	Value string
}

// LoggedModelParam is an immutable key-value pair of a logged model.
type LoggedModelParam struct {
	Key   string
	Value string
}

// LoggedModelRegistration is a registered model version made from a logged
// model.
type LoggedModelRegistration struct {
	Name    string
	Version string
}

// LoggedModelCreate is what logged-models (create) takes.
type LoggedModelCreate struct {
	ExperimentID string
	Name         string // a made-up name when empty, as MLflow
	ModelType    string
	SourceRunID  string
	Params       []LoggedModelParam
	Tags         []LoggedModelTag
}

// LoggedModelOrder is one key of a logged-models/search order: an
// attribute (name, model_id, creation_timestamp, …) or metrics.<key>.
type LoggedModelOrder struct {
	FieldName     string
	Ascending     bool
	DatasetName   string
	DatasetDigest string
}

// LoggedModelSearch is a logged-models/search.
type LoggedModelSearch struct {
	ExperimentIDs []string
	Filter        string
	OrderBy       []LoggedModelOrder
	MaxResults    int // 1 to MaxLoggedModelResults
	PageToken     string
	// Datasets restricts metric clauses to metrics of these datasets.
	Datasets []LoggedModelDataset
}

// LoggedModelDataset names a dataset for a search's metric clauses.
type LoggedModelDataset struct {
	Name   string
	Digest string
}

// ModelOutput links a run to a logged model it produced, at a step.
type ModelOutput struct {
	ModelID string
	Step    int64
}

// LoggedModelService stores MLflow 3.x logged models and runs' model
// outputs. It is separate from TrackingService, which it does not change:
// a server may have tracking without logged models (then the 3.x routes
// answer 501).
type LoggedModelService interface {
	// CreateLoggedModel stores a new PENDING model in an active experiment
	// of the workspace, with its params and tags. Errors: EINVALID
	// (ValidateLoggedModelCreate, a deleted experiment), ENOTFOUND
	// (experiment).
	CreateLoggedModel(ctx context.Context, workspace string, c LoggedModelCreate) (*LoggedModel, error)
	// LoggedModel returns a model of the workspace that is not deleted.
	// Errors: ENOTFOUND.
	LoggedModel(ctx context.Context, workspace, id string) (*LoggedModel, error)
	// FinalizeLoggedModel sets a model's status (READY or UPLOAD_FAILED)
	// and returns it. Errors: EINVALID (status), ENOTFOUND.
	FinalizeLoggedModel(ctx context.Context, workspace, id, status string) (*LoggedModel, error)
	// DeleteLoggedModel marks a model deleted: get and search no longer
	// find it. Errors: ENOTFOUND.
	DeleteLoggedModel(ctx context.Context, workspace, id string) error
	// SetLoggedModelTags sets (adds or replaces) tags of a model and
	// returns it. Errors: EINVALID (ValidateLoggedModelTag), ENOTFOUND.
	SetLoggedModelTags(ctx context.Context, workspace, id string, tags []LoggedModelTag) (*LoggedModel, error)
	// DeleteLoggedModelTag deletes a tag of a model. Errors: ENOTFOUND (the
	// model, or the tag, as MLflow).
	DeleteLoggedModelTag(ctx context.Context, workspace, id, key string) error
	// LogLoggedModelParams adds params to a model; a param logged again
	// with the same value is fine, with another value EINVALID (params are
	// immutable). Errors: EINVALID, ENOTFOUND.
	LogLoggedModelParams(ctx context.Context, workspace, id string, params []LoggedModelParam) error
	// SearchLoggedModels returns a page of the models of the experiments
	// that are not deleted. Errors: EINVALID (filter, order, page size,
	// page token, datasets).
	SearchLoggedModels(ctx context.Context, workspace string, q LoggedModelSearch) (*Page[*LoggedModel], error)
	// LogOutputs links an active run to models of the workspace it
	// produced. Errors: EINVALID (a deleted run), ENOTFOUND (run, model).
	LogOutputs(ctx context.Context, workspace, runID string, outputs []ModelOutput) error
	// RunOutputs returns the models a run produced, in the order they were
	// linked. A run without outputs, or none, has none.
	RunOutputs(ctx context.Context, workspace, runID string) ([]ModelOutput, error)
}

// NewLoggedModelID returns a new logged model id: "m-" and 32 lower-case
// hex digits, as MLflow's f"m-{uuid4().hex}".
func NewLoggedModelID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])  // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40 // a version 4 UUID, as MLflow's
	b[8] = b[8]&0x3f | 0x80
	return "m-" + hex.EncodeToString(b[:])
}

// LoggedModelArtifactURI is where a logged model's files are: <experiment
// location>/models/<id>/artifacts, as MLflow's create_logged_model makes
// it (append_to_uri_path).
func LoggedModelArtifactURI(experimentLocation, id string) string {
	return strings.TrimSuffix(experimentLocation, "/") + "/models/" + id + "/artifacts"
}

// LoggedModelNotFound is MLflow's error for a logged model id that names
// none (sqlalchemy_store._raise_model_not_found).
func LoggedModelNotFound(id string) error {
	return Errorf(ENOTFOUND, "Logged model with ID '%s' not found.", clipValue(id))
}

// ValidLoggedModelID reports whether id has the shape of a logged model id
// (m- and 32 lower-case hex digits). Ids of another shape name no model.
func ValidLoggedModelID(id string) bool {
	if len(id) != 34 || !strings.HasPrefix(id, "m-") {
		return false
	}
	for _, c := range id[2:] {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// ParseLoggedModelStatus returns the status a finalize asks for: READY or
// UPLOAD_FAILED, by its proto name or number. Errors: EINVALID, naming the
// values allowed (PENDING and UNSPECIFIED are not final).
func ParseLoggedModelStatus(s string) (string, error) {
	switch s {
	case LoggedModelReady, "2":
		return LoggedModelReady, nil
	case LoggedModelUploadFailed, "3":
		return LoggedModelUploadFailed, nil
	case "":
		return "", Errorf(EINVALID, "Missing value for required parameter 'status'.")
	}
	return "", Errorf(EINVALID, "Invalid value '%s' for parameter 'status': a logged model is finalized as %s or %s", clipValue(s), LoggedModelReady, LoggedModelUploadFailed)
}

// ValidateLoggedModelName checks a model name: at most
// MaxLoggedModelNameLength characters, none of / : . % " ' (MLflow 3.x's
// _validate_logged_model_name refuses these, since the name appears in
// models:/ URIs; its text is recalled, not read from the source). An empty
// name is fine: the store makes one up.
func ValidateLoggedModelName(name string) error {
	if strings.ContainsAny(name, "/:.%\"'") {
		return Errorf(EINVALID, "Invalid model name ('%s') provided. Model name must be a non-empty string and cannot contain the following characters: ('/', ':', '.', '%%', '\"', \"'\")", clipValue(name))
	}
	if utf8.RuneCountInString(name) > MaxLoggedModelNameLength {
		return Errorf(EINVALID, "Model name exceeds the maximum length of %d characters", MaxLoggedModelNameLength)
	}
	return ValidateText("model name", name, math.MaxInt)
}

// ValidateLoggedModelTag checks a tag of a logged model with the limits of a
// run tag (ValidateRunTag).
func ValidateLoggedModelTag(t LoggedModelTag) error {
	return ValidateRunTag(RunTag(t))
}

// ValidateLoggedModelParam checks a param of a logged model with the limits
// of a run param (ValidateParam).
func ValidateLoggedModelParam(p LoggedModelParam) error {
	return ValidateParam(Param(p))
}

// ValidateLoggedModelCreate checks a create: the name, model type, source
// run id (when given), params (at most MaxLoggedModelParams, no key twice
// with different values) and tags (at most MaxLoggedModelTags).
func ValidateLoggedModelCreate(c LoggedModelCreate) error {
	if err := ValidateLoggedModelName(c.Name); err != nil {
		return err
	}
	if utf8.RuneCountInString(c.ModelType) > MaxLoggedModelTypeLength {
		return Errorf(EINVALID, "Model type exceeds the maximum length of %d characters", MaxLoggedModelTypeLength)
	}
	if err := ValidateText("model_type", c.ModelType, math.MaxInt); err != nil {
		return err
	}
	if c.SourceRunID != "" {
		if err := ValidateRunID(c.SourceRunID); err != nil {
			return err
		}
	}
	if err := ValidateLoggedModelParams(c.Params); err != nil {
		return err
	}
	return ValidateLoggedModelTags(c.Tags)
}

// ValidateLoggedModelParams checks params of one request: each param, at
// most MaxLoggedModelParams, and no key twice with different values.
func ValidateLoggedModelParams(params []LoggedModelParam) error {
	if len(params) > MaxLoggedModelParams {
		return Errorf(EINVALID, "A logged model request may hold at most %d params. Got %d.", MaxLoggedModelParams, len(params))
	}
	seen := make(map[string]string, len(params))
	for _, p := range params {
		if err := ValidateLoggedModelParam(p); err != nil {
			return err
		}
		if v, ok := seen[p.Key]; ok && v != p.Value {
			return Errorf(EINVALID, "Duplicate parameter keys have been submitted: ['%s']. Please ensure the request contains only one param value per param key.", clipValue(p.Key))
		}
		seen[p.Key] = p.Value
	}
	return nil
}

// ValidateLoggedModelTags checks tags of one request: each tag, and at most
// MaxLoggedModelTags.
func ValidateLoggedModelTags(tags []LoggedModelTag) error {
	if len(tags) > MaxLoggedModelTags {
		return Errorf(EINVALID, "A logged model request may hold at most %d tags. Got %d.", MaxLoggedModelTags, len(tags))
	}
	for _, t := range tags {
		if err := ValidateLoggedModelTag(t); err != nil {
			return err
		}
	}
	return nil
}
