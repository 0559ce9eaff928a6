package httpapi

// MLflow's tracking routes (experiments, runs, metrics) over
// Server.Tracking, and MLflow 3's workspaces list. Requests are decoded by
// decodeMLflow into the structs below, whose json tags are the proto's
// field names; answers are package mlflow's wire types. The handlers map,
// and leave every rule to the store, which has MLflow's messages.

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/mlflow"
)

// mlflowTrackingEndpoints are the tracking endpoints of MLflow's REST API
// (2.x, reference §1.9), each with the action it needs on the workspace.
func (s *Server) mlflowTrackingEndpoints() []mlflowEndpoint {
	return []mlflowEndpoint{
		{"POST mlflow/experiments/create", hangar.ActExperimentWrite, s.mlflowCreateExperiment},
		{"GET mlflow/experiments/get", hangar.ActExperimentRead, s.mlflowGetExperiment},
		{"GET mlflow/experiments/get-by-name", hangar.ActExperimentRead, s.mlflowGetExperimentByName},
		{"GET mlflow/experiments/search", hangar.ActExperimentRead, s.mlflowSearchExperiments},
		{"POST mlflow/experiments/search", hangar.ActExperimentRead, s.mlflowSearchExperiments},
		{"POST mlflow/experiments/update", hangar.ActExperimentWrite, s.mlflowUpdateExperiment},
		{"POST mlflow/experiments/delete", hangar.ActExperimentDelete, s.mlflowDeleteExperiment},
		{"POST mlflow/experiments/restore", hangar.ActExperimentWrite, s.mlflowRestoreExperiment},
		{"POST mlflow/experiments/set-experiment-tag", hangar.ActExperimentWrite, s.mlflowSetExperimentTag},

		{"POST mlflow/runs/create", hangar.ActRunWrite, s.mlflowCreateRun},
		{"GET mlflow/runs/get", hangar.ActRunRead, s.mlflowGetRun},
		{"POST mlflow/runs/update", hangar.ActRunWrite, s.mlflowUpdateRun},
		{"POST mlflow/runs/delete", hangar.ActRunDelete, s.mlflowDeleteRun},
		{"POST mlflow/runs/restore", hangar.ActRunWrite, s.mlflowRestoreRun},
		{"POST mlflow/runs/log-metric", hangar.ActRunWrite, s.mlflowLogMetric},
		{"POST mlflow/runs/log-parameter", hangar.ActRunWrite, s.mlflowLogParam},
		{"POST mlflow/runs/set-tag", hangar.ActRunWrite, s.mlflowSetTag},
		{"POST mlflow/runs/delete-tag", hangar.ActRunWrite, s.mlflowDeleteTag},
		{"POST mlflow/runs/log-batch", hangar.ActRunWrite, s.mlflowLogBatch},
		{"POST mlflow/runs/log-inputs", hangar.ActRunWrite, s.mlflowLogInputs},
		{"POST mlflow/runs/log-model", hangar.ActRunWrite, s.mlflowLogModel},
		{"POST mlflow/runs/search", hangar.ActRunRead, s.mlflowSearchRuns},
		{"GET mlflow/metrics/get-history", hangar.ActRunRead, s.mlflowMetricHistory},
	}
}

// tracking returns the tracking service, or ENOTIMPLEMENTED on a server
// built without one.
func (s *Server) tracking() (hangar.TrackingService, error) {
	if s.Tracking == nil {
		return nil, hangar.Errorf(hangar.ENOTIMPLEMENTED, "experiment tracking is not enabled on this server")
	}
	return s.Tracking, nil
}

// Conversions to the wire types.

func wireExperiment(e *hangar.Experiment) mlflow.Experiment {
	out := mlflow.Experiment{
		ExperimentID: e.ID, Name: e.Name, ArtifactLocation: e.ArtifactLocation, LifecycleStage: e.LifecycleStage,
		LastUpdateTime: mlflow.Int64(e.LastUpdateTime), CreationTime: mlflow.Int64(e.CreationTime),
	}
	for _, t := range e.Tags {
		out.Tags = append(out.Tags, mlflow.ExperimentTag{Key: t.Key, Value: t.Value})
	}
	return out
}

func wireRunInfo(i hangar.RunInfo) mlflow.RunInfo {
	out := mlflow.RunInfo{
		RunUUID: i.RunID, RunID: i.RunID, RunName: i.RunName, ExperimentID: i.ExperimentID, UserID: i.UserID,
		Status: i.Status, StartTime: mlflow.Int64(i.StartTime), ArtifactURI: i.ArtifactURI, LifecycleStage: i.LifecycleStage,
	}
	if i.EndTime != nil {
		out.EndTime = mlflow.Int64(*i.EndTime)
	}
	return out
}

func wireRun(r *hangar.Run) mlflow.RunEntity {
	out := mlflow.RunEntity{Info: wireRunInfo(r.Info)}
	for _, m := range r.Data.Metrics {
		out.Data.Metrics = append(out.Data.Metrics, mlflow.Metric{Key: m.Key, Value: mlflow.Double(m.Value), Timestamp: mlflow.Int64(m.Timestamp), Step: mlflow.Int64(m.Step)})
	}
	for _, p := range r.Data.Params {
		out.Data.Params = append(out.Data.Params, mlflow.Param{Key: p.Key, Value: p.Value})
	}
	for _, t := range r.Data.Tags {
		out.Data.Tags = append(out.Data.Tags, mlflow.RunTag{Key: t.Key, Value: t.Value})
	}
	for _, in := range r.Inputs.DatasetInputs {
		d := in.Dataset
		w := mlflow.DatasetInput{Dataset: mlflow.Dataset{Name: d.Name, Digest: d.Digest, SourceType: d.SourceType, Source: d.Source, Schema: d.Schema, Profile: d.Profile}}
		for _, t := range in.Tags {
			w.Tags = append(w.Tags, mlflow.InputTag{Key: t.Key, Value: t.Value})
		}
		out.Inputs.DatasetInputs = append(out.Inputs.DatasetInputs, w)
	}
	return out
}

// Experiments.

func (s *Server) mlflowCreateExperiment(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req struct {
		Name             string                 `json:"name" mlflow:"required"`
		ArtifactLocation string                 `json:"artifact_location"`
		Tags             []mlflow.ExperimentTag `json:"tags"`
	}
	if err := s.decodeMLflow(w, r, &req); err != nil {
		return err
	}
	t, err := s.tracking()
	if err != nil {
		return err
	}
	e := &hangar.Experiment{Name: req.Name, ArtifactLocation: req.ArtifactLocation}
	for _, tag := range req.Tags {
		e.Tags = append(e.Tags, hangar.ExperimentTag{Key: tag.Key, Value: tag.Value})
	}
	if err := t.CreateExperiment(r.Context(), c.workspace, e); err != nil {
		return err
	}
	return writeMLflow(w, struct {
		ExperimentID string `json:"experiment_id"`
	}{e.ID})
}

// experimentResponse is the answer of experiments/get and get-by-name.
type experimentResponse struct {
	Experiment mlflow.Experiment `json:"experiment"`
}

func (s *Server) mlflowGetExperiment(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req struct {
		ExperimentID mlflow.ExperimentID `json:"experiment_id" mlflow:"required"`
	}
	if err := s.decodeMLflow(w, r, &req); err != nil {
		return err
	}
	t, err := s.tracking()
	if err != nil {
		return err
	}
	e, err := t.Experiment(r.Context(), c.workspace, string(req.ExperimentID))
	if err != nil {
		return err
	}
	return writeMLflow(w, experimentResponse{wireExperiment(e)})
}

func (s *Server) mlflowGetExperimentByName(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req struct {
		ExperimentName string `json:"experiment_name" mlflow:"required"`
	}
	if err := s.decodeMLflow(w, r, &req); err != nil {
		return err
	}
	t, err := s.tracking()
	if err != nil {
		return err
	}
	e, err := t.ExperimentByName(r.Context(), c.workspace, req.ExperimentName)
	if err != nil {
		return err
	}
	return writeMLflow(w, experimentResponse{wireExperiment(e)})
}

func (s *Server) mlflowSearchExperiments(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req struct {
		MaxResults int64      `json:"max_results"`
		PageToken  string     `json:"page_token"`
		Filter     string     `json:"filter"`
		OrderBy    []string   `json:"order_by"`
		ViewType   mlflowEnum `json:"view_type"`
	}
	if err := s.decodeMLflow(w, r, &req); err != nil {
		return err
	}
	view, err := viewType("view_type", req.ViewType)
	if err != nil {
		return err
	}
	t, err := s.tracking()
	if err != nil {
		return err
	}
	// MLflow's proto gives max_results no default: its absence is the
	// store's "must be a positive integer" error, as in MLflow.
	q := hangar.ExperimentSearch{Filter: req.Filter, OrderBy: req.OrderBy, View: view, MaxResults: clampInt(req.MaxResults), PageToken: req.PageToken}
	page, err := t.SearchExperiments(r.Context(), c.workspace, q)
	if err != nil {
		return err
	}
	resp := struct {
		Experiments   []mlflow.Experiment `json:"experiments,omitempty"`
		NextPageToken string              `json:"next_page_token,omitempty"`
	}{NextPageToken: page.NextPageToken}
	for _, e := range page.Items {
		resp.Experiments = append(resp.Experiments, wireExperiment(e))
	}
	return writeMLflow(w, resp)
}

// clampInt converts a page size to int, keeping values far out of range
// out of range (the store refuses them with its message).
func clampInt(n int64) int {
	switch {
	case n > 1<<31:
		return 1 << 31
	case n < -1<<31:
		return -1 << 31
	}
	return int(n)
}

func (s *Server) mlflowUpdateExperiment(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req struct {
		ExperimentID mlflow.ExperimentID `json:"experiment_id" mlflow:"required"`
		NewName      string              `json:"new_name" mlflow:"required"`
	}
	if err := s.decodeMLflow(w, r, &req); err != nil {
		return err
	}
	t, err := s.tracking()
	if err != nil {
		return err
	}
	if err := t.RenameExperiment(r.Context(), c.workspace, string(req.ExperimentID), req.NewName); err != nil {
		return err
	}
	return writeMLflow(w, nil)
}

// experimentIDRequest is the body of experiments/delete and restore.
type experimentIDRequest struct {
	ExperimentID mlflow.ExperimentID `json:"experiment_id" mlflow:"required"`
}

func (s *Server) mlflowDeleteExperiment(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req experimentIDRequest
	if err := s.decodeMLflow(w, r, &req); err != nil {
		return err
	}
	t, err := s.tracking()
	if err != nil {
		return err
	}
	if err := t.DeleteExperiment(r.Context(), c.workspace, string(req.ExperimentID)); err != nil {
		return err
	}
	return writeMLflow(w, nil)
}

func (s *Server) mlflowRestoreExperiment(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req experimentIDRequest
	if err := s.decodeMLflow(w, r, &req); err != nil {
		return err
	}
	t, err := s.tracking()
	if err != nil {
		return err
	}
	if err := t.RestoreExperiment(r.Context(), c.workspace, string(req.ExperimentID)); err != nil {
		return err
	}
	return writeMLflow(w, nil)
}

func (s *Server) mlflowSetExperimentTag(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req struct {
		ExperimentID mlflow.ExperimentID `json:"experiment_id" mlflow:"required"`
		Key          string              `json:"key" mlflow:"required"`
		Value        string              `json:"value"`
	}
	if err := s.decodeMLflow(w, r, &req); err != nil {
		return err
	}
	t, err := s.tracking()
	if err != nil {
		return err
	}
	if err := t.SetExperimentTag(r.Context(), c.workspace, string(req.ExperimentID), hangar.ExperimentTag{Key: req.Key, Value: req.Value}); err != nil {
		return err
	}
	return writeMLflow(w, nil)
}

// Runs.

// runResponse is the answer of runs/create and runs/get.
type runResponse struct {
	Run mlflow.RunEntity `json:"run"`
}

func (s *Server) mlflowCreateRun(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req struct {
		ExperimentID mlflow.ExperimentID `json:"experiment_id"`
		UserID       string              `json:"user_id"`
		RunName      string              `json:"run_name"`
		StartTime    int64               `json:"start_time"`
		Tags         []mlflow.RunTag     `json:"tags"`
	}
	if err := s.decodeMLflow(w, r, &req); err != nil {
		return err
	}
	t, err := s.tracking()
	if err != nil {
		return err
	}
	rc := hangar.RunCreate{ExperimentID: string(req.ExperimentID), UserID: req.UserID, RunName: req.RunName, StartTime: req.StartTime}
	for _, tag := range req.Tags {
		rc.Tags = append(rc.Tags, hangar.RunTag{Key: tag.Key, Value: tag.Value})
	}
	run, err := t.CreateRun(r.Context(), c.workspace, rc)
	if err != nil {
		return err
	}
	return writeMLflow(w, runResponse{wireRun(run)})
}

// runIDRequest names a run: run_id, or the deprecated run_uuid that
// clients send along.
type runIDRequest struct {
	RunID   string `json:"run_id" mlflow:"required,alias=run_uuid"`
	RunUUID string `json:"run_uuid"`
}

func (s *Server) mlflowGetRun(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req runIDRequest
	if err := s.decodeMLflow(w, r, &req); err != nil {
		return err
	}
	t, err := s.tracking()
	if err != nil {
		return err
	}
	run, err := t.Run(r.Context(), c.workspace, req.RunID)
	if err != nil {
		return err
	}
	answer, err := s.runAnswer(r.Context(), c.workspace, run) // with MLflow 3.x's outputs (mlflow_logged_models.go)
	if err != nil {
		return err
	}
	return writeMLflow(w, answer)
}

// mlflowEnum is an enum field of a request: its name, or its number, which
// MLflow's protobuf parser accepts too (kept as its decimal text).
type mlflowEnum string

// UnmarshalJSON implements json.Unmarshaler.
func (e *mlflowEnum) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*e = mlflowEnum(s)
		return nil
	}
	var n int32
	if err := json.Unmarshal(b, &n); err != nil {
		return hangar.Errorf(hangar.EINVALID, "an enum is a name or a number")
	}
	*e = mlflowEnum(strconv.Itoa(int(n)))
	return nil
}

// viewType reads a ViewType enum, with MLflow's message for a bad one.
func viewType(field string, e mlflowEnum) (hangar.ViewType, error) {
	v, err := hangar.ParseViewType(string(e))
	if err != nil {
		raw, _ := json.Marshal(string(e))
		return 0, invalidValue(field, raw)
	}
	return v, nil
}

// runStatus reads a RunStatus enum as MLflow's protobuf parser does: its
// name, or its number (from 1).
func runStatus(s string) (string, error) {
	if slices.Contains(mlflow.RunStatuses(), s) {
		return s, nil
	}
	if n, err := strconv.Atoi(s); err == nil && n >= 1 && n <= len(mlflow.RunStatuses()) {
		return mlflow.RunStatuses()[n-1], nil
	}
	raw, _ := json.Marshal(s)
	return "", invalidValue("status", raw)
}

func (s *Server) mlflowUpdateRun(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req struct {
		RunID   string     `json:"run_id" mlflow:"required,alias=run_uuid"`
		RunUUID string     `json:"run_uuid"`
		Status  mlflowEnum `json:"status"`
		EndTime *int64     `json:"end_time"`
		RunName string     `json:"run_name"`
	}
	if err := s.decodeMLflow(w, r, &req); err != nil {
		return err
	}
	u := hangar.RunUpdate{EndTime: req.EndTime, RunName: req.RunName}
	if req.Status != "" {
		var err error
		if u.Status, err = runStatus(string(req.Status)); err != nil {
			return err
		}
	}
	t, err := s.tracking()
	if err != nil {
		return err
	}
	info, err := t.UpdateRun(r.Context(), c.workspace, req.RunID, u)
	if err != nil {
		return err
	}
	return writeMLflow(w, struct {
		RunInfo mlflow.RunInfo `json:"run_info"`
	}{wireRunInfo(*info)})
}

func (s *Server) mlflowDeleteRun(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req runIDRequest
	if err := s.decodeMLflow(w, r, &req); err != nil {
		return err
	}
	t, err := s.tracking()
	if err != nil {
		return err
	}
	if err := t.DeleteRun(r.Context(), c.workspace, req.RunID); err != nil {
		return err
	}
	return writeMLflow(w, nil)
}

func (s *Server) mlflowRestoreRun(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req runIDRequest
	if err := s.decodeMLflow(w, r, &req); err != nil {
		return err
	}
	t, err := s.tracking()
	if err != nil {
		return err
	}
	if err := t.RestoreRun(r.Context(), c.workspace, req.RunID); err != nil {
		return err
	}
	return writeMLflow(w, nil)
}

func (s *Server) mlflowLogMetric(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req struct {
		RunID     string  `json:"run_id" mlflow:"required,alias=run_uuid"`
		RunUUID   string  `json:"run_uuid"`
		Key       string  `json:"key" mlflow:"required"`
		Value     float64 `json:"value" mlflow:"required"`
		Timestamp int64   `json:"timestamp" mlflow:"required"`
		Step      int64   `json:"step"`
		// MLflow 3.x: the logged model and the dataset the point is of.
		ModelID       string `json:"model_id"`
		DatasetName   string `json:"dataset_name"`
		DatasetDigest string `json:"dataset_digest"`
	}
	if err := s.decodeMLflow(w, r, &req); err != nil {
		return err
	}
	t, err := s.tracking()
	if err != nil {
		return err
	}
	m := hangar.Metric{Key: req.Key, Value: req.Value, Timestamp: req.Timestamp, Step: req.Step}
	b := hangar.LogBatch{Metrics: []hangar.Metric{m}}
	if req.ModelID != "" {
		b.ModelMetrics = []hangar.LoggedModelMetric{{Metric: m, ModelID: req.ModelID, DatasetName: req.DatasetName, DatasetDigest: req.DatasetDigest}}
	}
	if err := t.LogBatch(r.Context(), c.workspace, req.RunID, b); err != nil {
		return err
	}
	return writeMLflow(w, nil)
}

func (s *Server) mlflowLogParam(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req struct {
		RunID   string `json:"run_id" mlflow:"required,alias=run_uuid"`
		RunUUID string `json:"run_uuid"`
		Key     string `json:"key" mlflow:"required"`
		Value   string `json:"value"`
	}
	if err := s.decodeMLflow(w, r, &req); err != nil {
		return err
	}
	t, err := s.tracking()
	if err != nil {
		return err
	}
	p := hangar.Param{Key: req.Key, Value: req.Value}
	if err := t.LogBatch(r.Context(), c.workspace, req.RunID, hangar.LogBatch{Params: []hangar.Param{p}}); err != nil {
		return err
	}
	return writeMLflow(w, nil)
}

// runTagRequest is the body of runs/set-tag and runs/delete-tag.
type runTagRequest struct {
	RunID   string `json:"run_id" mlflow:"required,alias=run_uuid"`
	RunUUID string `json:"run_uuid"`
	Key     string `json:"key" mlflow:"required"`
	Value   string `json:"value"`
}

func (s *Server) mlflowSetTag(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req runTagRequest
	if err := s.decodeMLflow(w, r, &req); err != nil {
		return err
	}
	t, err := s.tracking()
	if err != nil {
		return err
	}
	if err := t.SetRunTag(r.Context(), c.workspace, req.RunID, hangar.RunTag{Key: req.Key, Value: req.Value}); err != nil {
		return err
	}
	return writeMLflow(w, nil)
}

func (s *Server) mlflowDeleteTag(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req runTagRequest
	if err := s.decodeMLflow(w, r, &req); err != nil {
		return err
	}
	t, err := s.tracking()
	if err != nil {
		return err
	}
	if err := t.DeleteRunTag(r.Context(), c.workspace, req.RunID, req.Key); err != nil {
		return err
	}
	return writeMLflow(w, nil)
}

// batchMetric and batchKeyValue are log-batch's items, with pointers where
// MLflow requires the field (a metric's key, value and timestamp; a param's
// or tag's key).
type (
	batchMetric struct {
		Key       *string        `json:"key"`
		Value     *mlflow.Double `json:"value"`
		Timestamp *mlflow.Int64  `json:"timestamp"`
		Step      mlflow.Int64   `json:"step"`
		// MLflow 3.x: the logged model and the dataset the point is of.
		ModelID       string `json:"model_id,omitempty"`
		DatasetName   string `json:"dataset_name,omitempty"`
		DatasetDigest string `json:"dataset_digest,omitempty"`
	}
	batchKeyValue struct {
		Key   *string `json:"key"`
		Value string  `json:"value"`
	}
)

func (s *Server) mlflowLogBatch(w http.ResponseWriter, r *http.Request, c *caller) error {
	runID, b, err := s.logBatchRequest(w, r)
	if err != nil {
		return err
	}
	t, err := s.tracking()
	if err != nil {
		return err
	}
	if err := t.LogBatch(r.Context(), c.workspace, runID, b); err != nil {
		return err
	}
	return writeMLflow(w, nil)
}

// logBatchRequest reads the body of runs/log-batch. The common body — what
// MLflow's clients send: run_id, metrics with plain numbers, empty params
// and tags — is parsed by parseLogBatch in one pass; for anything else, or
// when that parser is unsure, the body is replayed to decodeMLflow, which
// gives every answer and error. Profiling log-batch showed the generic
// path (a map of raw fields, encoding/json by reflection, the duplicate-key
// scan) taking a fifth of the request's CPU.
func (s *Server) logBatchRequest(w http.ResponseWriter, r *http.Request) (string, hangar.LogBatch, error) {
	if r.Method == http.MethodPost && r.Body != nil && checkMLflowContentType(r.Header.Get("Content-Type")) == nil {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.MaxBodyBytes))
		if err == nil {
			if runID, b, ok := parseLogBatch(body); ok {
				return runID, b, nil
			}
		}
		// decodeMLflow reads the same bytes, then the same error.
		r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), errReader{err}))
	}
	return s.decodeLogBatch(w, r)
}

// errReader returns err, or io.EOF when it is nil.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) {
	if e.err == nil {
		return 0, io.EOF
	}
	return 0, e.err
}

// decodeLogBatch decodes runs/log-batch the generic way (decodeMLflow).
func (s *Server) decodeLogBatch(w http.ResponseWriter, r *http.Request) (string, hangar.LogBatch, error) {
	var req struct {
		RunID   string          `json:"run_id" mlflow:"required,alias=run_uuid"`
		RunUUID string          `json:"run_uuid"`
		Metrics []batchMetric   `json:"metrics"`
		Params  []batchKeyValue `json:"params"`
		Tags    []batchKeyValue `json:"tags"`
	}
	if err := s.decodeMLflow(w, r, &req); err != nil {
		return "", hangar.LogBatch{}, err
	}
	// MLflow checks each item's required fields and answers the type
	// message for the whole list.
	b := hangar.LogBatch{Metrics: make([]hangar.Metric, len(req.Metrics))}
	for i, m := range req.Metrics {
		if m.Key == nil || m.Value == nil || m.Timestamp == nil {
			raw, _ := json.Marshal(req.Metrics)
			return "", hangar.LogBatch{}, invalidValue("metrics", raw)
		}
		b.Metrics[i] = hangar.Metric{Key: *m.Key, Value: float64(*m.Value), Timestamp: int64(*m.Timestamp), Step: int64(m.Step)}
		if m.ModelID != "" {
			b.ModelMetrics = append(b.ModelMetrics, hangar.LoggedModelMetric{Metric: b.Metrics[i], ModelID: m.ModelID, DatasetName: m.DatasetName, DatasetDigest: m.DatasetDigest})
		}
	}
	for _, p := range req.Params {
		if p.Key == nil {
			raw, _ := json.Marshal(req.Params)
			return "", hangar.LogBatch{}, invalidValue("params", raw)
		}
		b.Params = append(b.Params, hangar.Param{Key: *p.Key, Value: p.Value})
	}
	for _, tag := range req.Tags {
		if tag.Key == nil {
			raw, _ := json.Marshal(req.Tags)
			return "", hangar.LogBatch{}, invalidValue("tags", raw)
		}
		b.Tags = append(b.Tags, hangar.RunTag{Key: *tag.Key, Value: tag.Value})
	}
	return req.RunID, b, nil
}

// parseLogBatch parses the common body of runs/log-batch:
//
//	{"run_id": "…", "metrics": [{"key": "…", "value": 1.5, "timestamp": 1, "step": 0}, …], "params": [], "tags": []}
//
// with any whitespace and order, each field at most once, params and tags
// optional and empty, step optional, strings without escapes, numbers as
// plain JSON numbers in range. ok is false for anything else, which
// decodeLogBatch then decodes (FuzzParseLogBatch checks that whatever this
// parser takes, decodeLogBatch takes with the same result).
func parseLogBatch(body []byte) (runID string, b hangar.LogBatch, ok bool) {
	if hangar.CheckJSONText(body) != nil {
		return "", b, false
	}
	p := batchParser{buf: body}
	if !p.byte('{') {
		return "", b, false
	}
	var seenRun, seenMetrics, seenParams, seenTags bool
	for first := true; ; first = false {
		if p.byte('}') {
			break
		}
		if !first && !p.byte(',') {
			return "", b, false
		}
		name, ok := p.str()
		if !ok || !p.byte(':') {
			return "", b, false
		}
		switch name {
		case "run_id":
			if seenRun {
				return "", b, false
			}
			seenRun = true
			if runID, ok = p.str(); !ok || runID == "" {
				return "", b, false
			}
		case "metrics":
			if seenMetrics {
				return "", b, false
			}
			seenMetrics = true
			if b.Metrics, ok = p.metrics(); !ok {
				return "", b, false
			}
		case "params", "tags":
			if (name == "params" && seenParams) || (name == "tags" && seenTags) {
				return "", b, false
			}
			seenParams = seenParams || name == "params"
			seenTags = seenTags || name == "tags"
			if !p.byte('[') || !p.byte(']') {
				return "", b, false
			}
		default:
			return "", b, false
		}
	}
	p.space()
	if !seenRun || p.i != len(p.buf) {
		return "", b, false
	}
	if b.Metrics == nil {
		b.Metrics = []hangar.Metric{}
	}
	return runID, b, true
}

// batchParser reads the JSON of parseLogBatch.
type batchParser struct {
	buf []byte
	i   int
}

func (p *batchParser) space() {
	for p.i < len(p.buf) {
		switch p.buf[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// byte skips whitespace and c, reporting whether c was there.
func (p *batchParser) byte(c byte) bool {
	p.space()
	if p.i < len(p.buf) && p.buf[p.i] == c {
		p.i++
		return true
	}
	return false
}

// str reads a string without escapes or control characters.
func (p *batchParser) str() (string, bool) {
	if !p.byte('"') {
		return "", false
	}
	start := p.i
	for p.i < len(p.buf) {
		switch c := p.buf[p.i]; {
		case c == '"':
			s := string(p.buf[start:p.i])
			p.i++
			return s, true
		case c == '\\' || c < 0x20:
			return "", false
		}
		p.i++
	}
	return "", false
}

// number reads a plain JSON number token (at most 32 bytes, as
// mlflow.Double and mlflow.Int64 parse them without reflection).
func (p *batchParser) number() ([]byte, bool) {
	p.space()
	start := p.i
	for p.i < len(p.buf) {
		c := p.buf[p.i]
		if (c < '0' || c > '9') && c != '-' && c != '+' && c != '.' && c != 'e' && c != 'E' {
			break
		}
		p.i++
	}
	tok := p.buf[start:p.i]
	return tok, mlflow.PlainNumber(tok)
}

func (p *batchParser) metrics() ([]hangar.Metric, bool) {
	if !p.byte('[') {
		return nil, false
	}
	out := make([]hangar.Metric, 0, 16)
	if p.byte(']') {
		return out, true
	}
	for {
		m, ok := p.metric()
		if !ok {
			return nil, false
		}
		out = append(out, m)
		if p.byte(']') {
			return out, true
		}
		if !p.byte(',') {
			return nil, false
		}
	}
}

func (p *batchParser) metric() (hangar.Metric, bool) {
	var m hangar.Metric
	if !p.byte('{') {
		return m, false
	}
	var seen [4]bool // key, value, timestamp, step
	for first := true; ; first = false {
		if p.byte('}') {
			break
		}
		if !first && !p.byte(',') {
			return m, false
		}
		name, ok := p.str()
		if !ok || !p.byte(':') {
			return m, false
		}
		field := -1
		switch name {
		case "key":
			field = 0
			m.Key, ok = p.str()
		case "value":
			field = 1
			var tok []byte
			if tok, ok = p.number(); ok {
				var err error
				m.Value, err = strconv.ParseFloat(string(tok), 64)
				ok = err == nil
			}
		case "timestamp", "step":
			field = 2
			if name == "step" {
				field = 3
			}
			var tok []byte
			var n int64
			if tok, ok = p.number(); ok {
				var err error
				n, err = strconv.ParseInt(string(tok), 10, 64)
				ok = err == nil
			}
			if field == 2 {
				m.Timestamp = n
			} else {
				m.Step = n
			}
		}
		if field < 0 || !ok || seen[field] {
			return m, false
		}
		seen[field] = true
	}
	return m, seen[0] && seen[1] && seen[2]
}

func (s *Server) mlflowLogInputs(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req struct {
		RunID    string                `json:"run_id" mlflow:"required,alias=run_uuid"`
		RunUUID  string                `json:"run_uuid"`
		Datasets []mlflow.DatasetInput `json:"datasets" mlflow:"required"`
	}
	if err := s.decodeMLflow(w, r, &req); err != nil {
		return err
	}
	t, err := s.tracking()
	if err != nil {
		return err
	}
	inputs := make([]hangar.DatasetInput, len(req.Datasets))
	for i, in := range req.Datasets {
		d := in.Dataset
		inputs[i].Dataset = hangar.Dataset{Name: d.Name, Digest: d.Digest, SourceType: d.SourceType, Source: d.Source, Schema: d.Schema, Profile: d.Profile}
		for _, tag := range in.Tags {
			inputs[i].Tags = append(inputs[i].Tags, hangar.InputTag{Key: tag.Key, Value: tag.Value})
		}
	}
	if err := t.LogInputs(r.Context(), c.workspace, req.RunID, inputs); err != nil {
		return err
	}
	return writeMLflow(w, nil)
}

func (s *Server) mlflowLogModel(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req struct {
		RunID     string `json:"run_id" mlflow:"required,alias=run_uuid"`
		RunUUID   string `json:"run_uuid"`
		ModelJSON string `json:"model_json" mlflow:"required"`
	}
	if err := s.decodeMLflow(w, r, &req); err != nil {
		return err
	}
	t, err := s.tracking()
	if err != nil {
		return err
	}
	if err := t.LogModel(r.Context(), c.workspace, req.RunID, req.ModelJSON); err != nil {
		return err
	}
	return writeMLflow(w, nil)
}

func (s *Server) mlflowSearchRuns(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req struct {
		ExperimentIDs []mlflow.ExperimentID `json:"experiment_ids"`
		Filter        string                `json:"filter"`
		RunViewType   mlflowEnum            `json:"run_view_type"`
		MaxResults    *int32                `json:"max_results"`
		OrderBy       []string              `json:"order_by"`
		PageToken     string                `json:"page_token"`
	}
	if err := s.decodeMLflow(w, r, &req); err != nil {
		return err
	}
	view, err := viewType("run_view_type", req.RunViewType)
	if err != nil {
		return err
	}
	q := hangar.RunSearch{Filter: req.Filter, OrderBy: req.OrderBy, View: view, MaxResults: hangar.DefaultSearchRunsResults, PageToken: req.PageToken}
	if req.MaxResults != nil {
		// MLflow's schema caps max_results at 50000 with its type message.
		if *req.MaxResults > hangar.MaxSearchResults {
			return invalidValue("max_results", json.RawMessage(strconv.Itoa(int(*req.MaxResults))))
		}
		q.MaxResults = int(*req.MaxResults)
	}
	for _, id := range req.ExperimentIDs {
		q.ExperimentIDs = append(q.ExperimentIDs, string(id))
	}
	t, err := s.tracking()
	if err != nil {
		return err
	}
	page, err := t.SearchRuns(r.Context(), c.workspace, q)
	if err != nil {
		return err
	}
	return writeSearchRuns(w, page)
}

// writeSearchRuns answers a page of runs/search exactly as writeMLflow
// answers
//
//	struct {
//		Runs          []mlflow.RunEntity `json:"runs,omitempty"`
//		NextPageToken string             `json:"next_page_token,omitempty"`
//	}
//
// (FuzzSearchRunsEncoding holds it to that), without reflection and in
// chunks: for 1,000 runs encoding/json took a fifth of the request.
func writeSearchRuns(w http.ResponseWriter, page *hangar.Page[*hangar.Run]) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	buf := make([]byte, 0, metricHistoryChunk+4096)
	buf = append(buf, '{')
	if len(page.Items) > 0 {
		buf = append(buf, `"runs":[`...)
		for i, run := range page.Items {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = appendRunEntity(buf, wireRun(run))
			if len(buf) >= metricHistoryChunk {
				if _, err := w.Write(buf); err != nil {
					return errWritten{err}
				}
				buf = buf[:0]
			}
		}
		buf = append(buf, ']')
	}
	if page.NextPageToken != "" {
		if len(page.Items) > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, `"next_page_token":`...)
		buf = appendJSONString(buf, page.NextPageToken)
	}
	buf = append(buf, "}\n"...)
	if _, err := w.Write(buf); err != nil {
		return errWritten{err}
	}
	return nil
}

// appendRunEntity appends r as encoding/json writes an mlflow.RunEntity.
func appendRunEntity(b []byte, r mlflow.RunEntity) []byte {
	i := r.Info
	b = append(b, `{"info":{"run_uuid":`...)
	b = appendJSONString(b, i.RunUUID)
	b = append(b, `,"run_name":`...)
	b = appendJSONString(b, i.RunName)
	b = append(b, `,"experiment_id":`...)
	b = appendJSONString(b, i.ExperimentID)
	b = append(b, `,"user_id":`...)
	b = appendJSONString(b, i.UserID)
	b = append(b, `,"status":`...)
	b = appendJSONString(b, i.Status)
	b = append(b, `,"start_time":`...)
	b = strconv.AppendInt(b, int64(i.StartTime), 10)
	if i.EndTime != 0 {
		b = append(b, `,"end_time":`...)
		b = strconv.AppendInt(b, int64(i.EndTime), 10)
	}
	if i.ArtifactURI != "" {
		b = append(b, `,"artifact_uri":`...)
		b = appendJSONString(b, i.ArtifactURI)
	}
	b = append(b, `,"lifecycle_stage":`...)
	b = appendJSONString(b, i.LifecycleStage)
	b = append(b, `,"run_id":`...)
	b = appendJSONString(b, i.RunID)
	b = append(b, `},"data":{`...)
	sep := false
	if len(r.Data.Metrics) > 0 {
		b = append(b, `"metrics":[`...)
		for k, m := range r.Data.Metrics {
			if k > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"key":`...)
			b = appendJSONString(b, m.Key)
			b = append(b, `,"value":`...)
			b = appendDouble(b, float64(m.Value))
			b = append(b, `,"timestamp":`...)
			b = strconv.AppendInt(b, int64(m.Timestamp), 10)
			b = append(b, `,"step":`...)
			b = strconv.AppendInt(b, int64(m.Step), 10)
			b = append(b, '}')
		}
		b = append(b, ']')
		sep = true
	}
	keyValues := func(name string, n int, kv func(int) (string, string)) {
		if n == 0 {
			return
		}
		if sep {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, name...)
		b = append(b, `":[`...)
		for k := range n {
			if k > 0 {
				b = append(b, ',')
			}
			key, value := kv(k)
			b = append(b, `{"key":`...)
			b = appendJSONString(b, key)
			b = append(b, `,"value":`...)
			b = appendJSONString(b, value)
			b = append(b, '}')
		}
		b = append(b, ']')
		sep = true
	}
	keyValues("params", len(r.Data.Params), func(k int) (string, string) { return r.Data.Params[k].Key, r.Data.Params[k].Value })
	keyValues("tags", len(r.Data.Tags), func(k int) (string, string) { return r.Data.Tags[k].Key, r.Data.Tags[k].Value })
	b = append(b, `},"inputs":{`...)
	if len(r.Inputs.DatasetInputs) > 0 {
		b = append(b, `"dataset_inputs":[`...)
		for k, in := range r.Inputs.DatasetInputs {
			if k > 0 {
				b = append(b, ',')
			}
			b = append(b, '{')
			if len(in.Tags) > 0 {
				sep = false
				keyValues("tags", len(in.Tags), func(t int) (string, string) { return in.Tags[t].Key, in.Tags[t].Value })
				b = append(b, ',')
			}
			d := in.Dataset
			b = append(b, `"dataset":{"name":`...)
			b = appendJSONString(b, d.Name)
			b = append(b, `,"digest":`...)
			b = appendJSONString(b, d.Digest)
			b = append(b, `,"source_type":`...)
			b = appendJSONString(b, d.SourceType)
			b = append(b, `,"source":`...)
			b = appendJSONString(b, d.Source)
			if d.Schema != "" {
				b = append(b, `,"schema":`...)
				b = appendJSONString(b, d.Schema)
			}
			if d.Profile != "" {
				b = append(b, `,"profile":`...)
				b = appendJSONString(b, d.Profile)
			}
			b = append(b, `}}`...)
		}
		b = append(b, ']')
	}
	return append(b, `}}`...)
}

// appendJSONString appends s as encoding/json writes a string (HTML
// characters escaped): directly when it holds only printable ASCII that
// needs no escape, through encoding/json otherwise.
func appendJSONString(b []byte, s string) []byte {
	for k := 0; k < len(s); k++ {
		if c := s[k]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always encodes
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

func (s *Server) mlflowMetricHistory(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req struct {
		RunID      string `json:"run_id" mlflow:"required,alias=run_uuid"`
		RunUUID    string `json:"run_uuid"`
		MetricKey  string `json:"metric_key" mlflow:"required"`
		PageToken  string `json:"page_token"`
		MaxResults int32  `json:"max_results"`
	}
	if err := s.decodeMLflow(w, r, &req); err != nil {
		return err
	}
	t, err := s.tracking()
	if err != nil {
		return err
	}
	page, err := t.MetricHistory(r.Context(), c.workspace, req.RunID, req.MetricKey, hangar.ListOptions{MaxResults: max(0, int(req.MaxResults)), PageToken: req.PageToken})
	if err != nil {
		return err
	}
	return writeMetricHistory(w, page)
}

// appendDouble appends f as mlflow.Double's MarshalJSON writes it: NaN and
// the infinities as MLflow's strings, any other number as encoding/json
// writes a float64.
func appendDouble(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(b, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(b, `"-Infinity"`...)
	}
	// encoding/json's float encoder: exponent form outside [1e-6, 1e21),
	// with a one-digit negative exponent written without its zero.
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// metricHistoryChunk is how much of a metric history's answer is built
// before it is written.
const metricHistoryChunk = 64 << 10

// writeMetricHistory answers a page of a metric's history exactly as
// writeMLflow answers
//
//	struct {
//		Metrics       []mlflow.Metric `json:"metrics,omitempty"`
//		NextPageToken string          `json:"next_page_token,omitempty"`
//	}
//
// (TestMetricHistoryEncoding holds it to that), without reflection and in
// chunks: encoding/json spent more than a microsecond a point, mostly in
// mlflow.Double's MarshalJSON and the compaction of what it returns, and
// held the whole answer (100,000 points are about 8 MB) in memory twice.
func writeMetricHistory(w http.ResponseWriter, page *hangar.Page[hangar.Metric]) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	buf := make([]byte, 0, metricHistoryChunk+256)
	buf = append(buf, '{')
	if len(page.Items) > 0 {
		buf = append(buf, `"metrics":[`...)
		var key []byte // the JSON of the key, the same for every point
		lastKey := ""
		for i, m := range page.Items {
			if i == 0 || m.Key != lastKey {
				key, _ = json.Marshal(m.Key) // a string always encodes
				lastKey = m.Key
			}
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = append(buf, `{"key":`...)
			buf = append(buf, key...)
			buf = append(buf, `,"value":`...)
			buf = appendDouble(buf, m.Value)
			buf = append(buf, `,"timestamp":`...)
			buf = strconv.AppendInt(buf, m.Timestamp, 10)
			buf = append(buf, `,"step":`...)
			buf = strconv.AppendInt(buf, m.Step, 10)
			buf = append(buf, '}')
			if len(buf) >= metricHistoryChunk {
				if _, err := w.Write(buf); err != nil {
					return errWritten{err}
				}
				buf = buf[:0]
			}
		}
		buf = append(buf, ']')
	}
	if page.NextPageToken != "" {
		if len(page.Items) > 0 {
			buf = append(buf, ',')
		}
		t, _ := json.Marshal(page.NextPageToken)
		buf = append(buf, `"next_page_token":`...)
		buf = append(buf, t...)
	}
	buf = append(buf, "}\n"...)
	if _, err := w.Write(buf); err != nil {
		return errWritten{err}
	}
	return nil
}

// Workspaces (MLflow 3).

// mlflowWorkspaceRoutes serve MLflow 3's workspaces API, which a client
// with MLFLOW_WORKSPACE set calls: the list of the workspaces the caller
// may read, and one of them. Clients of early 2026 call it under
// /api/2.0, later ones under /api/3.0; the answer is the same.
func (s *Server) mlflowWorkspaceRoutes() []route {
	var out []route
	for _, base := range []string{"/api/2.0/", "/ajax-api/2.0/", "/api/3.0/", "/ajax-api/3.0/"} {
		out = append(out,
			route{"GET " + base + "mlflow/workspaces", hangar.ActWorkspaceRead, scopeAnywhere, s.mlflowListWorkspaces, mlflowErrors},
			route{"GET " + base + "mlflow/workspaces/{ws}", hangar.ActWorkspaceRead, scopeWorkspace, s.mlflowGetWorkspace, mlflowErrors})
	}
	return out
}

func wireWorkspace(ws *hangar.Workspace) mlflow.Workspace {
	return mlflow.Workspace{Name: ws.Name, Description: ws.Description}
}

func (s *Server) mlflowListWorkspaces(w http.ResponseWriter, r *http.Request, c *caller) error {
	list := s.Workspaces.ListWorkspaces
	if !c.can("", hangar.ActWorkspaceRead) {
		list = func(ctx context.Context, opt hangar.ListOptions) (*hangar.Page[*hangar.Workspace], error) {
			return s.readableWorkspaces(ctx, c.principal, opt)
		}
	}
	resp := struct {
		Workspaces []mlflow.Workspace `json:"workspaces"`
	}{Workspaces: []mlflow.Workspace{}}
	for ws, err := range allItems(r.Context(), struct{}{}, func(ctx context.Context, _ struct{}, opt hangar.ListOptions) (*hangar.Page[*hangar.Workspace], error) {
		return list(ctx, opt)
	}) {
		if err != nil {
			return err
		}
		resp.Workspaces = append(resp.Workspaces, wireWorkspace(ws))
	}
	return writeMLflow(w, resp)
}

func (s *Server) mlflowGetWorkspace(w http.ResponseWriter, r *http.Request, c *caller) error {
	return writeMLflow(w, struct {
		Workspace mlflow.Workspace `json:"workspace"`
	}{wireWorkspace(c.ws)})
}
