package mlflow

// The tracking entities as MLflow's server writes them (service.proto,
// proto2): a field MLflow's to_proto sets explicitly is present even when
// it is zero ("step": 0, "user_id": ""), the others are left out when
// empty, and so are empty lists; int64s are numbers, doubles may be "NaN",
// "Infinity" or "-Infinity".

// Experiment is an experiment.
type Experiment struct {
	ExperimentID     string          `json:"experiment_id"`
	Name             string          `json:"name"`
	ArtifactLocation string          `json:"artifact_location"`
	LifecycleStage   string          `json:"lifecycle_stage"`
	LastUpdateTime   Int64           `json:"last_update_time"`
	CreationTime     Int64           `json:"creation_time"`
	Tags             []ExperimentTag `json:"tags,omitempty"`
}

// ExperimentTag is a tag of an experiment.
type ExperimentTag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// RunEntity is MLflow's Run message (Run is this package's handle on a run
// to log to): what a run is, what was logged to it (the latest value of
// each metric) and its dataset inputs. MLflow always sends data and inputs,
// {} when empty.
type RunEntity struct {
	Info   RunInfo   `json:"info"`
	Data   RunData   `json:"data"`
	Inputs RunInputs `json:"inputs"`
}

// RunInfo is what a run is. Both run_id and the deprecated run_uuid carry
// the id; end_time is left out until the run has one, artifact_uri when
// empty.
type RunInfo struct {
	RunUUID        string `json:"run_uuid"`
	RunName        string `json:"run_name"`
	ExperimentID   string `json:"experiment_id"`
	UserID         string `json:"user_id"`
	Status         string `json:"status"`
	StartTime      Int64  `json:"start_time"`
	EndTime        Int64  `json:"end_time,omitempty"`
	ArtifactURI    string `json:"artifact_uri,omitempty"`
	LifecycleStage string `json:"lifecycle_stage"`
	RunID          string `json:"run_id"`
}

// RunData is what was logged to a run.
type RunData struct {
	Metrics []Metric `json:"metrics,omitempty"`
	Params  []Param  `json:"params,omitempty"`
	Tags    []RunTag `json:"tags,omitempty"`
}

// RunInputs are the dataset inputs of a run.
type RunInputs struct {
	DatasetInputs []DatasetInput `json:"dataset_inputs,omitempty"`
}

// DatasetInput is a dataset a run used, with tags of its use (the
// mlflow.data.context tag).
type DatasetInput struct {
	Tags    []InputTag `json:"tags,omitempty"`
	Dataset Dataset    `json:"dataset"`
}

// InputTag is a tag of a dataset input.
type InputTag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Dataset describes a dataset. Source, Schema and Profile hold JSON text.
type Dataset struct {
	Name       string `json:"name"`
	Digest     string `json:"digest"`
	SourceType string `json:"source_type"`
	Source     string `json:"source"`
	Schema     string `json:"schema,omitempty"`
	Profile    string `json:"profile,omitempty"`
}

// Workspace is a workspace as MLflow 3's workspaces API lists it.
type Workspace struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
}

// RunStatuses are MLflow's run statuses in the order of its enum, whose
// numbers start at 1: a request may name a status by number.
func RunStatuses() []string {
	return []string{"RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"}
}
