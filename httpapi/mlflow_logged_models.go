package httpapi

// MLflow 3.x's logged models over Server.LoggedModels: the logged-models
// routes and runs/outputs, which a 3.x client's log_model calls
// (mlflow/models/model.py, Model.log: create the model, link it to the run
// with runs/outputs, upload its files under the model's artifact_uri, then
// finalize it with PATCH logged-models/{id}), and the model's outputs on
// runs/get. Request and response shapes are service.proto's
// (CreateLoggedModel, FinalizeLoggedModel, SearchLoggedModels,
// SetLoggedModelTags, DeleteLoggedModelTag, LogLoggedModelParamsRequest,
// ListLoggedModelArtifacts, LogOutputs; LoggedModel{info, data}).
//
// Actions: runs/read, runs/write and (DELETE of a model) runs/delete on the
// workspace. A logged model lives in an experiment next to its runs and is
// made by the run's process, so whoever may log to runs may log models: a
// job's token with runs/write can call log_model. The registry is
// separate: making a registered version from a logged model
// (model-versions/create with models:/<id>) takes models/write.

import (
	"context"
	"net/http"
	"strings"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/mlflow"
)

// mlflowLoggedModelEndpoints are MLflow 3.x's logged-model endpoints and
// runs/outputs, each with the action it needs on the workspace.
func (s *Server) mlflowLoggedModelEndpoints() []mlflowEndpoint {
	const read, write, del = hangar.ActRunRead, hangar.ActRunWrite, hangar.ActRunDelete
	return []mlflowEndpoint{
		{"POST mlflow/logged-models", write, s.mlflowCreateLoggedModel},
		{"GET mlflow/logged-models/{model_id}", read, s.mlflowGetLoggedModel},
		{"PATCH mlflow/logged-models/{model_id}", write, s.mlflowFinalizeLoggedModel},
		{"DELETE mlflow/logged-models/{model_id}", del, s.mlflowDeleteLoggedModel},
		{"POST mlflow/logged-models/search", read, s.mlflowSearchLoggedModels},
		{"PATCH mlflow/logged-models/{model_id}/tags", write, s.mlflowSetLoggedModelTags},
		{"DELETE mlflow/logged-models/{model_id}/tags/{tag_key...}", write, s.mlflowDeleteLoggedModelTag},
		{"POST mlflow/logged-models/{model_id}/params", write, s.mlflowLogLoggedModelParams},
		{"GET mlflow/logged-models/{model_id}/artifacts/directories", read, s.mlflowListLoggedModelArtifacts},
		{"POST mlflow/runs/outputs", write, s.mlflowLogOutputs},
	}
}

// loggedModels returns the logged model service, or ENOTIMPLEMENTED (501
// NOT_IMPLEMENTED) on a server built without one.
func (s *Server) loggedModels() (hangar.LoggedModelService, error) {
	if s.LoggedModels == nil {
		return nil, hangar.Errorf(hangar.ENOTIMPLEMENTED, "MLflow 3.x logged models are not enabled on this server")
	}
	return s.LoggedModels, nil
}

// Wire types: service.proto's LoggedModel and its parts. Empty fields are
// left out, as MLflow's proto JSON leaves unset ones; data is always there
// (MLflow sets it, empty or not).
type (
	wireLoggedModel struct {
		Info wireLoggedModelInfo `json:"info"`
		Data wireLoggedModelData `json:"data"`
	}
	wireLoggedModelInfo struct {
		ModelID        string                `json:"model_id"`
		ExperimentID   string                `json:"experiment_id"`
		Name           string                `json:"name"`
		CreationTime   mlflow.Int64          `json:"creation_timestamp_ms"`
		LastUpdateTime mlflow.Int64          `json:"last_updated_timestamp_ms"`
		ArtifactURI    string                `json:"artifact_uri"`
		Status         string                `json:"status"`
		ModelType      string                `json:"model_type,omitempty"`
		SourceRunID    string                `json:"source_run_id,omitempty"`
		StatusMessage  string                `json:"status_message,omitempty"`
		Tags           []wireKeyValue        `json:"tags,omitempty"`
		Registrations  []wireModelRegistered `json:"registrations,omitempty"`
	}
	wireLoggedModelData struct {
		Params  []wireKeyValue         `json:"params,omitempty"`
		Metrics []wireLoggedModelPoint `json:"metrics,omitempty"`
	}
	// wireLoggedModelPoint is service.proto's Metric with the 3.x fields.
	wireLoggedModelPoint struct {
		Key           string        `json:"key"`
		Value         mlflow.Double `json:"value"`
		Timestamp     mlflow.Int64  `json:"timestamp"`
		Step          mlflow.Int64  `json:"step"`
		DatasetName   string        `json:"dataset_name,omitempty"`
		DatasetDigest string        `json:"dataset_digest,omitempty"`
		ModelID       string        `json:"model_id"`
		RunID         string        `json:"run_id"`
	}
	wireKeyValue struct {
		Key   string `json:"key"`
		Value string `json:"value"`
	}
	wireModelRegistered struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	}
	// loggedModelAnswer is the answer of create, get, finalize and
	// set-tags.
	loggedModelAnswer struct {
		Model wireLoggedModel `json:"model"`
	}
)

func toWireLoggedModel(m *hangar.LoggedModel) wireLoggedModel {
	out := wireLoggedModel{Info: wireLoggedModelInfo{
		ModelID: m.ModelID, ExperimentID: m.ExperimentID, Name: m.Name,
		CreationTime: mlflow.Int64(m.CreationTime), LastUpdateTime: mlflow.Int64(m.LastUpdateTime),
		ArtifactURI: m.ArtifactURI, Status: m.Status, ModelType: m.ModelType, SourceRunID: m.SourceRunID, StatusMessage: m.StatusMessage,
	}}
	for _, t := range m.Tags {
		out.Info.Tags = append(out.Info.Tags, wireKeyValue(t))
	}
	for _, r := range m.Registrations {
		out.Info.Registrations = append(out.Info.Registrations, wireModelRegistered(r))
	}
	for _, p := range m.Params {
		out.Data.Params = append(out.Data.Params, wireKeyValue(p))
	}
	for _, p := range m.Metrics {
		out.Data.Metrics = append(out.Data.Metrics, wireLoggedModelPoint{
			Key: p.Key, Value: mlflow.Double(p.Value), Timestamp: mlflow.Int64(p.Timestamp), Step: mlflow.Int64(p.Step),
			DatasetName: p.DatasetName, DatasetDigest: p.DatasetDigest, ModelID: p.ModelID, RunID: p.RunID,
		})
	}
	return out
}

// requiredKeyValue is a params or tags item: the key is required (a
// pointer tells missing from empty).
type requiredKeyValue struct {
	Key   *string `json:"key"`
	Value string  `json:"value"`
}

// keyValues checks that every item has a key and returns the pairs.
func keyValues(field string, items []requiredKeyValue) ([][2]string, error) {
	out := make([][2]string, len(items))
	for i, it := range items {
		if it.Key == nil {
			return nil, missingValue(field + ".key")
		}
		out[i] = [2]string{*it.Key, it.Value}
	}
	return out, nil
}

func loggedModelParams(items []requiredKeyValue) ([]hangar.LoggedModelParam, error) {
	kvs, err := keyValues("params", items)
	if err != nil {
		return nil, err
	}
	out := make([]hangar.LoggedModelParam, len(kvs))
	for i, kv := range kvs {
		out[i] = hangar.LoggedModelParam{Key: kv[0], Value: kv[1]}
	}
	return out, nil
}

func loggedModelTags(items []requiredKeyValue) ([]hangar.LoggedModelTag, error) {
	kvs, err := keyValues("tags", items)
	if err != nil {
		return nil, err
	}
	out := make([]hangar.LoggedModelTag, len(kvs))
	for i, kv := range kvs {
		out[i] = hangar.LoggedModelTag{Key: kv[0], Value: kv[1]}
	}
	return out, nil
}

// modelIDRequest is the body of the routes that name the model in their
// path: clients send model_id in the body too, which the path overrides.
type modelIDRequest struct {
	ModelID string `json:"model_id"`
}

func (s *Server) mlflowCreateLoggedModel(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req struct {
		ExperimentID mlflow.ExperimentID `json:"experiment_id" mlflow:"required"`
		Name         string              `json:"name"`
		ModelType    string              `json:"model_type"`
		SourceRunID  string              `json:"source_run_id"`
		Params       []requiredKeyValue  `json:"params"`
		Tags         []requiredKeyValue  `json:"tags"`
	}
	if err := s.decodeMLflow(w, r, &req); err != nil {
		return err
	}
	lm, err := s.loggedModels()
	if err != nil {
		return err
	}
	create := hangar.LoggedModelCreate{ExperimentID: string(req.ExperimentID), Name: req.Name, ModelType: req.ModelType, SourceRunID: req.SourceRunID}
	if create.Params, err = loggedModelParams(req.Params); err != nil {
		return err
	}
	if create.Tags, err = loggedModelTags(req.Tags); err != nil {
		return err
	}
	m, err := lm.CreateLoggedModel(r.Context(), c.workspace, create)
	if err != nil {
		return err
	}
	return writeMLflow(w, loggedModelAnswer{toWireLoggedModel(m)})
}

func (s *Server) mlflowGetLoggedModel(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req modelIDRequest
	if err := s.decodeMLflow(w, r, &req); err != nil {
		return err
	}
	lm, err := s.loggedModels()
	if err != nil {
		return err
	}
	m, err := lm.LoggedModel(r.Context(), c.workspace, r.PathValue("model_id"))
	if err != nil {
		return err
	}
	return writeMLflow(w, loggedModelAnswer{toWireLoggedModel(m)})
}

func (s *Server) mlflowFinalizeLoggedModel(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req struct {
		ModelID string     `json:"model_id"`
		Status  mlflowEnum `json:"status" mlflow:"required"`
	}
	if err := s.decodeMLflow(w, r, &req); err != nil {
		return err
	}
	lm, err := s.loggedModels()
	if err != nil {
		return err
	}
	m, err := lm.FinalizeLoggedModel(r.Context(), c.workspace, r.PathValue("model_id"), string(req.Status))
	if err != nil {
		return err
	}
	return writeMLflow(w, loggedModelAnswer{toWireLoggedModel(m)})
}

func (s *Server) mlflowDeleteLoggedModel(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req modelIDRequest
	if err := s.decodeMLflow(w, r, &req); err != nil {
		return err
	}
	lm, err := s.loggedModels()
	if err != nil {
		return err
	}
	if err := lm.DeleteLoggedModel(r.Context(), c.workspace, r.PathValue("model_id")); err != nil {
		return err
	}
	return writeMLflow(w, nil)
}

func (s *Server) mlflowSetLoggedModelTags(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req struct {
		ModelID string             `json:"model_id"`
		Tags    []requiredKeyValue `json:"tags"`
	}
	if err := s.decodeMLflow(w, r, &req); err != nil {
		return err
	}
	lm, err := s.loggedModels()
	if err != nil {
		return err
	}
	tags, err := loggedModelTags(req.Tags)
	if err != nil {
		return err
	}
	m, err := lm.SetLoggedModelTags(r.Context(), c.workspace, r.PathValue("model_id"), tags)
	if err != nil {
		return err
	}
	return writeMLflow(w, loggedModelAnswer{toWireLoggedModel(m)})
}

func (s *Server) mlflowDeleteLoggedModelTag(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req struct {
		ModelID string `json:"model_id"`
		TagKey  string `json:"tag_key"`
	}
	if err := s.decodeMLflow(w, r, &req); err != nil {
		return err
	}
	lm, err := s.loggedModels()
	if err != nil {
		return err
	}
	if err := lm.DeleteLoggedModelTag(r.Context(), c.workspace, r.PathValue("model_id"), r.PathValue("tag_key")); err != nil {
		return err
	}
	return writeMLflow(w, nil)
}

func (s *Server) mlflowLogLoggedModelParams(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req struct {
		ModelID string             `json:"model_id"`
		Params  []requiredKeyValue `json:"params"`
	}
	if err := s.decodeMLflow(w, r, &req); err != nil {
		return err
	}
	lm, err := s.loggedModels()
	if err != nil {
		return err
	}
	params, err := loggedModelParams(req.Params)
	if err != nil {
		return err
	}
	if err := lm.LogLoggedModelParams(r.Context(), c.workspace, r.PathValue("model_id"), params); err != nil {
		return err
	}
	return writeMLflow(w, nil)
}

func (s *Server) mlflowSearchLoggedModels(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req struct {
		ExperimentIDs []mlflow.ExperimentID `json:"experiment_ids"`
		Filter        string                `json:"filter"`
		Datasets      []struct {
			DatasetName   string `json:"dataset_name"`
			DatasetDigest string `json:"dataset_digest"`
		} `json:"datasets"`
		MaxResults *int32 `json:"max_results"`
		OrderBy    []struct {
			FieldName     string `json:"field_name"`
			Ascending     *bool  `json:"ascending"`
			DatasetName   string `json:"dataset_name"`
			DatasetDigest string `json:"dataset_digest"`
		} `json:"order_by"`
		PageToken string `json:"page_token"`
	}
	if err := s.decodeMLflow(w, r, &req); err != nil {
		return err
	}
	q := hangar.LoggedModelSearch{Filter: req.Filter, MaxResults: hangar.DefaultLoggedModelResults, PageToken: req.PageToken}
	if req.MaxResults != nil {
		q.MaxResults = int(*req.MaxResults)
	}
	for _, id := range req.ExperimentIDs {
		q.ExperimentIDs = append(q.ExperimentIDs, string(id))
	}
	for _, d := range req.Datasets {
		q.Datasets = append(q.Datasets, hangar.LoggedModelDataset{Name: d.DatasetName, Digest: d.DatasetDigest})
	}
	for _, o := range req.OrderBy {
		asc := o.Ascending == nil || *o.Ascending // the proto's default is ascending
		q.OrderBy = append(q.OrderBy, hangar.LoggedModelOrder{FieldName: o.FieldName, Ascending: asc, DatasetName: o.DatasetName, DatasetDigest: o.DatasetDigest})
	}
	lm, err := s.loggedModels()
	if err != nil {
		return err
	}
	page, err := lm.SearchLoggedModels(r.Context(), c.workspace, q)
	if err != nil {
		return err
	}
	resp := struct {
		Models        []wireLoggedModel `json:"models,omitempty"`
		NextPageToken string            `json:"next_page_token,omitempty"`
	}{NextPageToken: page.NextPageToken}
	for _, m := range page.Items {
		resp.Models = append(resp.Models, toWireLoggedModel(m))
	}
	return writeMLflow(w, resp)
}

// mlflowListLoggedModelArtifacts is ListLoggedModelArtifacts: one level of
// the files under a model's artifact_uri (or under artifact_directory_path
// in it), paths relative to that root, with root_uri, as artifacts/list
// answers for a run. A model whose artifacts are not behind this server's
// proxy lists only its root_uri. Every entry is in one page.
func (s *Server) mlflowListLoggedModelArtifacts(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req struct {
		ModelID               string `json:"model_id"`
		ArtifactDirectoryPath string `json:"artifact_directory_path"`
		PageToken             string `json:"page_token"`
	}
	if err := s.decodeMLflow(w, r, &req); err != nil {
		return err
	}
	lm, err := s.loggedModels()
	if err != nil {
		return err
	}
	m, err := lm.LoggedModel(r.Context(), c.workspace, r.PathValue("model_id"))
	if err != nil {
		return err
	}
	idx, _, err := s.artifactStores()
	if err != nil {
		return err
	}
	sub, err := hangar.CleanArtifactPath(req.ArtifactDirectoryPath)
	if err != nil {
		return err
	}
	resp := mlflow.ListArtifactsResponse{RootURI: m.ArtifactURI}
	root, ok := proxyPath(m.ArtifactURI)
	if !ok {
		return writeMLflow(w, resp)
	}
	es, err := idx.ListArtifacts(r.Context(), c.workspace, joinArtifactPath(root, sub))
	if err != nil {
		return err
	}
	for _, e := range es {
		resp.Files = append(resp.Files, fileInfo(strings.TrimPrefix(strings.TrimPrefix(e.Path, root), "/"), e))
	}
	return writeMLflow(w, resp)
}

func (s *Server) mlflowLogOutputs(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req struct {
		RunID  string `json:"run_id" mlflow:"required"`
		Models []struct {
			ModelID *string       `json:"model_id"`
			Step    *mlflow.Int64 `json:"step"`
		} `json:"models"`
	}
	if err := s.decodeMLflow(w, r, &req); err != nil {
		return err
	}
	outputs := make([]hangar.ModelOutput, len(req.Models))
	for i, m := range req.Models {
		// Both are required by the proto (ModelOutput).
		if m.ModelID == nil || *m.ModelID == "" {
			return missingValue("models.model_id")
		}
		if m.Step == nil {
			return missingValue("models.step")
		}
		outputs[i] = hangar.ModelOutput{ModelID: *m.ModelID, Step: int64(*m.Step)}
	}
	lm, err := s.loggedModels()
	if err != nil {
		return err
	}
	if err := lm.LogOutputs(r.Context(), c.workspace, req.RunID, outputs); err != nil {
		return err
	}
	return writeMLflow(w, nil)
}

// runWithOutputs is a run on the wire with MLflow 3.x's outputs: the
// models the run produced, left out when there are none (as 2.x servers
// answer, and as the answers before logged models were).
type runWithOutputs struct {
	mlflow.RunEntity
	Outputs *wireRunOutputs `json:"outputs,omitempty"`
}

type wireRunOutputs struct {
	ModelOutputs []wireModelOutput `json:"model_outputs"`
}

type wireModelOutput struct {
	ModelID string       `json:"model_id"`
	Step    mlflow.Int64 `json:"step"`
}

// runAnswer is runs/get's answer: the run, with its model outputs when the
// server has logged models and the run has any.
func (s *Server) runAnswer(ctx context.Context, workspace string, run *hangar.Run) (any, error) {
	out := runWithOutputs{RunEntity: wireRun(run)}
	if s.LoggedModels != nil {
		outputs, err := s.LoggedModels.RunOutputs(ctx, workspace, run.Info.RunID)
		if err != nil {
			return nil, err
		}
		if len(outputs) > 0 {
			out.Outputs = &wireRunOutputs{}
			for _, o := range outputs {
				out.Outputs.ModelOutputs = append(out.Outputs.ModelOutputs, wireModelOutput{o.ModelID, mlflow.Int64(o.Step)})
			}
		}
	}
	return struct {
		Run runWithOutputs `json:"run"`
	}{out}, nil
}

// resolveLoggedModelSource is MLflow 3.x's resolution of a model version
// whose source is a logged model, models:/<model id>: the version records
// the model's id, its files are the model's artifact_uri
// (storage_location, which get-download-uri returns) and, without a
// run_id, its run is the model's source run. A logged model that does not
// exist in the workspace is refused as MLflow refuses a models:/ source
// that does not resolve. Other sources are left to the registry.
func (s *Server) resolveLoggedModelSource(ctx context.Context, workspace string, v *hangar.ModelVersion) error {
	u, err := hangar.ParseModelURI(v.Source)
	if err != nil || u.ModelID == "" || s.LoggedModels == nil || v.StorageLocation != "" {
		return nil
	}
	m, err := s.LoggedModels.LoggedModel(ctx, workspace, u.ModelID)
	if err != nil {
		return hangar.Errorf(hangar.EINVALID, "Unable to fetch model from model URI source artifact location '%s'. Error: %s", v.Source, hangar.ErrorMessage(err))
	}
	if v.ModelID == "" {
		v.ModelID = m.ModelID
	}
	if v.RunID == "" {
		v.RunID = m.SourceRunID
	}
	v.StorageLocation = m.ArtifactURI
	return nil
}
