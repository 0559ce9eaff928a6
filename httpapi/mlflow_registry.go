package httpapi

// The model registry over MLflow's REST API: the 21 routes of
// registered-models/… and model-versions/…, each a thin map from MLflow's
// request to one hangar.RegistryService method and from the result to
// MLflow's JSON (proto2 presence: name, version, timestamps, current_stage,
// source and status always; the rest only when set). The store's errors
// carry MLflow's messages and codes already: ECONFLICT answers
// RESOURCE_ALREADY_EXISTS (400), and a missing alias is the store's EINVALID,
// INVALID_PARAMETER_VALUE (400), as MLflow answers it.

import (
	"cmp"
	"math"
	"net/http"
	"slices"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/mlflow"
)

// mlflowRegistryRoutes returns the registry's MLflow routes, under every
// MLflow prefix (mlflowRoutes). GET registered-models/get-latest-versions
// is served as well as POST: MLflow's server takes both.
func (s *Server) mlflowRegistryRoutes() []route {
	const read, write, del = hangar.ActModelRead, hangar.ActModelWrite, hangar.ActModelDelete
	return mlflowRoutes(
		mlflowEndpoint{"POST mlflow/registered-models/create", write, s.mlflowCreateRegisteredModel},
		mlflowEndpoint{"GET mlflow/registered-models/get", read, s.mlflowGetRegisteredModel},
		mlflowEndpoint{"POST mlflow/registered-models/rename", write, s.mlflowRenameRegisteredModel},
		mlflowEndpoint{"PATCH mlflow/registered-models/update", write, s.mlflowUpdateRegisteredModel},
		mlflowEndpoint{"DELETE mlflow/registered-models/delete", del, s.mlflowDeleteRegisteredModel},
		mlflowEndpoint{"GET mlflow/registered-models/search", read, s.mlflowSearchRegisteredModels},
		mlflowEndpoint{"POST mlflow/registered-models/get-latest-versions", read, s.mlflowLatestModelVersions},
		mlflowEndpoint{"GET mlflow/registered-models/get-latest-versions", read, s.mlflowLatestModelVersions},
		mlflowEndpoint{"POST mlflow/registered-models/set-tag", write, s.mlflowSetRegisteredModelTag},
		mlflowEndpoint{"DELETE mlflow/registered-models/delete-tag", write, s.mlflowDeleteRegisteredModelTag},
		mlflowEndpoint{"POST mlflow/registered-models/alias", write, s.mlflowSetRegisteredModelAlias},
		mlflowEndpoint{"DELETE mlflow/registered-models/alias", write, s.mlflowDeleteRegisteredModelAlias},
		mlflowEndpoint{"GET mlflow/registered-models/alias", read, s.mlflowModelVersionByAlias},
		mlflowEndpoint{"POST mlflow/model-versions/create", write, s.mlflowCreateModelVersion},
		mlflowEndpoint{"GET mlflow/model-versions/get", read, s.mlflowGetModelVersion},
		mlflowEndpoint{"PATCH mlflow/model-versions/update", write, s.mlflowUpdateModelVersion},
		mlflowEndpoint{"DELETE mlflow/model-versions/delete", del, s.mlflowDeleteModelVersion},
		mlflowEndpoint{"GET mlflow/model-versions/search", read, s.mlflowSearchModelVersions},
		mlflowEndpoint{"GET mlflow/model-versions/get-download-uri", read, s.mlflowModelVersionDownloadURI},
		mlflowEndpoint{"POST mlflow/model-versions/set-tag", write, s.mlflowSetModelVersionTag},
		mlflowEndpoint{"DELETE mlflow/model-versions/delete-tag", write, s.mlflowDeleteModelVersionTag},
		mlflowEndpoint{"POST mlflow/model-versions/transition-stage", write, s.mlflowTransitionModelVersionStage},
	)
}

// registry returns the registry service: ENOTIMPLEMENTED (501
// NOT_IMPLEMENTED) when the server was built without one, as the blob
// routes answer without a blob store.
func (s *Server) registry() (hangar.RegistryService, error) {
	if s.Registry == nil {
		return nil, hangar.Errorf(hangar.ENOTIMPLEMENTED, "this server has no model registry")
	}
	return s.Registry, nil
}

// mlflowModelTag is MLflow's RegisteredModelTag and ModelVersionTag.
type mlflowModelTag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// mlflowModelAlias is MLflow's RegisteredModelAlias.
type mlflowModelAlias struct {
	Alias   string `json:"alias"`
	Version string `json:"version"`
}

// mlflowRegisteredModel is MLflow's RegisteredModel as its to_proto writes
// it: timestamps always, the rest when set.
type mlflowRegisteredModel struct {
	Name                 string                `json:"name"`
	CreationTimestamp    mlflow.Int64          `json:"creation_timestamp"`
	LastUpdatedTimestamp mlflow.Int64          `json:"last_updated_timestamp"`
	UserID               string                `json:"user_id,omitempty"`
	Description          string                `json:"description,omitempty"`
	LatestVersions       []*mlflowModelVersion `json:"latest_versions,omitempty"`
	Tags                 []mlflowModelTag      `json:"tags,omitempty"`
	Aliases              []mlflowModelAlias    `json:"aliases,omitempty"`
}

// mlflowModelVersion is MLflow's ModelVersion as its to_proto writes it:
// name, version, timestamps, current_stage, source and status always
// (status READY; the Python client polls for it), the rest when set.
// storage_location and model_id are MLflow 3.x's.
type mlflowModelVersion struct {
	Name                 string           `json:"name"`
	Version              string           `json:"version"`
	CreationTimestamp    mlflow.Int64     `json:"creation_timestamp"`
	LastUpdatedTimestamp mlflow.Int64     `json:"last_updated_timestamp"`
	UserID               string           `json:"user_id,omitempty"`
	CurrentStage         string           `json:"current_stage"`
	Description          string           `json:"description,omitempty"`
	Source               string           `json:"source"`
	RunID                string           `json:"run_id,omitempty"`
	Status               string           `json:"status"`
	StatusMessage        string           `json:"status_message,omitempty"`
	Tags                 []mlflowModelTag `json:"tags,omitempty"`
	RunLink              string           `json:"run_link,omitempty"`
	Aliases              []string         `json:"aliases,omitempty"`
	ModelID              string           `json:"model_id,omitempty"`
	StorageLocation      string           `json:"storage_location,omitempty"`
}

// mlflowModelTags returns tags as MLflow's list, sorted by key.
func mlflowModelTags(tags map[string]string) []mlflowModelTag {
	out := make([]mlflowModelTag, 0, len(tags))
	for k, v := range tags {
		out = append(out, mlflowModelTag{k, v})
	}
	slices.SortFunc(out, func(a, b mlflowModelTag) int { return cmp.Compare(a.Key, b.Key) })
	return out
}

// modelTagMap turns a request's tag list into the domain's map; a key sent
// twice keeps its last value, as MLflow's store does.
func modelTagMap(tags []mlflowModelTag) map[string]string {
	if len(tags) == 0 {
		return nil
	}
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[t.Key] = t.Value
	}
	return m
}

func toMLflowRegisteredModel(m *hangar.RegisteredModel) *mlflowRegisteredModel {
	out := &mlflowRegisteredModel{
		Name:                 m.Name,
		CreationTimestamp:    mlflow.Int64(m.CreatedAt.UnixMilli()),
		LastUpdatedTimestamp: mlflow.Int64(m.UpdatedAt.UnixMilli()),
		UserID:               m.UserID,
		Description:          m.Description,
		Tags:                 mlflowModelTags(m.Tags),
	}
	for _, v := range m.LatestVersions {
		out.LatestVersions = append(out.LatestVersions, toMLflowModelVersion(v))
	}
	for _, a := range m.Aliases {
		out.Aliases = append(out.Aliases, mlflowModelAlias(a))
	}
	return out
}

func toMLflowModelVersion(v *hangar.ModelVersion) *mlflowModelVersion {
	return &mlflowModelVersion{
		Name:                 v.Name,
		Version:              v.Version,
		CreationTimestamp:    mlflow.Int64(v.CreatedAt.UnixMilli()),
		LastUpdatedTimestamp: mlflow.Int64(v.UpdatedAt.UnixMilli()),
		UserID:               v.UserID,
		CurrentStage:         v.Stage,
		Description:          v.Description,
		Source:               v.Source,
		RunID:                v.RunID,
		Status:               v.Status,
		StatusMessage:        v.StatusMessage,
		Tags:                 mlflowModelTags(v.Tags),
		RunLink:              v.RunLink,
		Aliases:              v.Aliases,
		ModelID:              v.ModelID,
		StorageLocation:      v.StorageLocation,
	}
}

func toMLflowModelVersions(vs []*hangar.ModelVersion) []*mlflowModelVersion {
	var out []*mlflowModelVersion
	for _, v := range vs {
		out = append(out, toMLflowModelVersion(v))
	}
	return out
}

// registeredModelAnswer is the answer of the routes that return a model.
type registeredModelAnswer struct {
	RegisteredModel *mlflowRegisteredModel `json:"registered_model"`
}

// modelVersionAnswer is the answer of the routes that return a version.
type modelVersionAnswer struct {
	ModelVersion *mlflowModelVersion `json:"model_version"`
}

// modelVersionsAnswer is get-latest-versions' answer.
type modelVersionsAnswer struct {
	ModelVersions []*mlflowModelVersion `json:"model_versions,omitempty"`
}

// modelNameRequest is the request of the routes that name only a model.
type modelNameRequest struct {
	Name string `json:"name" mlflow:"required"`
}

// modelVersionRequest is the request of the routes that name a version.
type modelVersionRequest struct {
	Name    string `json:"name" mlflow:"required"`
	Version string `json:"version" mlflow:"required"`
}

func (s *Server) mlflowCreateRegisteredModel(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req struct {
		Name        string           `json:"name" mlflow:"required"`
		Tags        []mlflowModelTag `json:"tags"`
		Description string           `json:"description"`
	}
	if err := s.decodeMLflow(w, r, &req); err != nil {
		return err
	}
	reg, err := s.registry()
	if err != nil {
		return err
	}
	m := &hangar.RegisteredModel{Workspace: c.workspace, Name: req.Name, Description: req.Description, Tags: modelTagMap(req.Tags)}
	if err := reg.CreateRegisteredModel(r.Context(), m); err != nil {
		return err
	}
	return writeMLflow(w, registeredModelAnswer{toMLflowRegisteredModel(m)})
}

func (s *Server) mlflowGetRegisteredModel(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req modelNameRequest
	if err := s.decodeMLflow(w, r, &req); err != nil {
		return err
	}
	reg, err := s.registry()
	if err != nil {
		return err
	}
	m, err := reg.RegisteredModel(r.Context(), c.workspace, req.Name)
	if err != nil {
		return err
	}
	return writeMLflow(w, registeredModelAnswer{toMLflowRegisteredModel(m)})
}

func (s *Server) mlflowRenameRegisteredModel(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req struct {
		Name    string `json:"name" mlflow:"required"`
		NewName string `json:"new_name" mlflow:"required"`
	}
	if err := s.decodeMLflow(w, r, &req); err != nil {
		return err
	}
	reg, err := s.registry()
	if err != nil {
		return err
	}
	m, err := reg.RenameRegisteredModel(r.Context(), c.workspace, req.Name, req.NewName)
	if err != nil {
		return err
	}
	return writeMLflow(w, registeredModelAnswer{toMLflowRegisteredModel(m)})
}

func (s *Server) mlflowUpdateRegisteredModel(w http.ResponseWriter, r *http.Request, c *caller) error {
	// An absent description clears it, as MLflow's store sets whatever
	// the request holds.
	var req struct {
		Name        string `json:"name" mlflow:"required"`
		Description string `json:"description"`
	}
	if err := s.decodeMLflow(w, r, &req); err != nil {
		return err
	}
	reg, err := s.registry()
	if err != nil {
		return err
	}
	m, err := reg.UpdateRegisteredModel(r.Context(), c.workspace, req.Name, req.Description)
	if err != nil {
		return err
	}
	return writeMLflow(w, registeredModelAnswer{toMLflowRegisteredModel(m)})
}

func (s *Server) mlflowDeleteRegisteredModel(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req modelNameRequest
	if err := s.decodeMLflow(w, r, &req); err != nil {
		return err
	}
	reg, err := s.registry()
	if err != nil {
		return err
	}
	// Deleting a model drops its aliases: not a protected one.
	if m, err := reg.RegisteredModel(r.Context(), c.workspace, req.Name); err == nil {
		for _, a := range m.Aliases {
			if err := s.checkAliasUnprotected(r.Context(), c.workspace, req.Name, a.Alias); err != nil {
				return err
			}
		}
	}
	if err := reg.DeleteRegisteredModel(r.Context(), c.workspace, req.Name); err != nil {
		return err
	}
	return writeMLflow(w, nil)
}

// modelSearchRequest is the request of both registry searches.
// MaxResults is a pointer: model-versions/search tells an absent one from 0.
type modelSearchRequest struct {
	Filter     string   `json:"filter"`
	MaxResults *int64   `json:"max_results"`
	OrderBy    []string `json:"order_by"`
	PageToken  string   `json:"page_token"`
}

// search returns the store's query; absent is the page size an absent
// max_results means (0: the store's default).
func (q modelSearchRequest) search(absent int) hangar.ModelSearch {
	n := absent
	if q.MaxResults != nil {
		n = int(*q.MaxResults)
		if int64(n) != *q.MaxResults {
			// Beyond int's range (a 32-bit build): the store refuses it as
			// too large either way; clamp rather than wrap around.
			n = math.MaxInt32
			if *q.MaxResults < 0 {
				n = -1
			}
		}
	}
	return hangar.ModelSearch{Filter: q.Filter, OrderBy: q.OrderBy, MaxResults: n, PageToken: q.PageToken}
}

func (s *Server) mlflowSearchRegisteredModels(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req modelSearchRequest
	if err := s.decodeMLflow(w, r, &req); err != nil {
		return err
	}
	reg, err := s.registry()
	if err != nil {
		return err
	}
	page, err := reg.SearchRegisteredModels(r.Context(), c.workspace, req.search(0))
	if err != nil {
		return err
	}
	var ans struct {
		RegisteredModels []*mlflowRegisteredModel `json:"registered_models,omitempty"`
		NextPageToken    string                   `json:"next_page_token,omitempty"`
	}
	for _, m := range page.Items {
		ans.RegisteredModels = append(ans.RegisteredModels, toMLflowRegisteredModel(m))
	}
	ans.NextPageToken = page.NextPageToken
	return writeMLflow(w, ans)
}

func (s *Server) mlflowLatestModelVersions(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req struct {
		Name   string   `json:"name" mlflow:"required"`
		Stages []string `json:"stages"`
	}
	if err := s.decodeMLflow(w, r, &req); err != nil {
		return err
	}
	reg, err := s.registry()
	if err != nil {
		return err
	}
	vs, err := reg.LatestModelVersions(r.Context(), c.workspace, req.Name, req.Stages)
	if err != nil {
		return err
	}
	return writeMLflow(w, modelVersionsAnswer{toMLflowModelVersions(vs)})
}

func (s *Server) mlflowSetRegisteredModelTag(w http.ResponseWriter, r *http.Request, c *caller) error {
	// value is only type-checked, as MLflow's handler does: "" is a value.
	var req struct {
		Name  string `json:"name" mlflow:"required"`
		Key   string `json:"key" mlflow:"required"`
		Value string `json:"value"`
	}
	if err := s.decodeMLflow(w, r, &req); err != nil {
		return err
	}
	reg, err := s.registry()
	if err != nil {
		return err
	}
	if err := reg.SetRegisteredModelTag(r.Context(), c.workspace, req.Name, req.Key, req.Value); err != nil {
		return err
	}
	return writeMLflow(w, nil)
}

func (s *Server) mlflowDeleteRegisteredModelTag(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req struct {
		Name string `json:"name" mlflow:"required"`
		Key  string `json:"key" mlflow:"required"`
	}
	if err := s.decodeMLflow(w, r, &req); err != nil {
		return err
	}
	reg, err := s.registry()
	if err != nil {
		return err
	}
	if err := reg.DeleteRegisteredModelTag(r.Context(), c.workspace, req.Name, req.Key); err != nil {
		return err
	}
	return writeMLflow(w, nil)
}

// modelAliasRequest names an alias of a model.
type modelAliasRequest struct {
	Name  string `json:"name" mlflow:"required"`
	Alias string `json:"alias" mlflow:"required"`
}

func (s *Server) mlflowSetRegisteredModelAlias(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req struct {
		Name    string `json:"name" mlflow:"required"`
		Alias   string `json:"alias" mlflow:"required"`
		Version string `json:"version" mlflow:"required"`
	}
	if err := s.decodeMLflow(w, r, &req); err != nil {
		return err
	}
	reg, err := s.registry()
	if err != nil {
		return err
	}
	if err := s.checkAliasUnprotected(r.Context(), c.workspace, req.Name, req.Alias); err != nil {
		return err
	}
	if err := reg.SetRegisteredModelAlias(r.Context(), c.workspace, req.Name, req.Alias, req.Version); err != nil {
		return err
	}
	return writeMLflow(w, nil)
}

func (s *Server) mlflowDeleteRegisteredModelAlias(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req modelAliasRequest
	if err := s.decodeMLflow(w, r, &req); err != nil {
		return err
	}
	reg, err := s.registry()
	if err != nil {
		return err
	}
	if err := s.checkAliasUnprotected(r.Context(), c.workspace, req.Name, req.Alias); err != nil {
		return err
	}
	if err := reg.DeleteRegisteredModelAlias(r.Context(), c.workspace, req.Name, req.Alias); err != nil {
		return err
	}
	return writeMLflow(w, nil)
}

func (s *Server) mlflowModelVersionByAlias(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req modelAliasRequest
	if err := s.decodeMLflow(w, r, &req); err != nil {
		return err
	}
	reg, err := s.registry()
	if err != nil {
		return err
	}
	// A missing alias is the store's EINVALID: MLflow's 400
	// INVALID_PARAMETER_VALUE "Registered model alias x not found.".
	v, err := reg.ModelVersionByAlias(r.Context(), c.workspace, req.Name, req.Alias)
	if err != nil {
		return err
	}
	return writeMLflow(w, modelVersionAnswer{toMLflowModelVersion(v)})
}

func (s *Server) mlflowCreateModelVersion(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req struct {
		Name        string           `json:"name" mlflow:"required"`
		Source      string           `json:"source" mlflow:"required"`
		RunID       string           `json:"run_id"`
		Tags        []mlflowModelTag `json:"tags"`
		RunLink     string           `json:"run_link"`
		Description string           `json:"description"`
		ModelID     string           `json:"model_id"`
	}
	if err := s.decodeMLflow(w, r, &req); err != nil {
		return err
	}
	reg, err := s.registry()
	if err != nil {
		return err
	}
	v := &hangar.ModelVersion{
		Workspace: c.workspace, Name: req.Name, Source: req.Source, RunID: req.RunID,
		RunLink: req.RunLink, Description: req.Description, ModelID: req.ModelID, Tags: modelTagMap(req.Tags),
	}
	// MLflow 3.x: a source models:/<logged model id> (mlflow_logged_models.go).
	if err := s.resolveLoggedModelSource(r.Context(), c.workspace, v); err != nil {
		return err
	}
	if err := reg.CreateModelVersion(r.Context(), v); err != nil {
		return err
	}
	return writeMLflow(w, modelVersionAnswer{toMLflowModelVersion(v)})
}

func (s *Server) mlflowGetModelVersion(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req modelVersionRequest
	if err := s.decodeMLflow(w, r, &req); err != nil {
		return err
	}
	reg, err := s.registry()
	if err != nil {
		return err
	}
	v, err := reg.ModelVersion(r.Context(), c.workspace, req.Name, req.Version)
	if err != nil {
		return err
	}
	return writeMLflow(w, modelVersionAnswer{toMLflowModelVersion(v)})
}

func (s *Server) mlflowUpdateModelVersion(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req struct {
		Name        string `json:"name" mlflow:"required"`
		Version     string `json:"version" mlflow:"required"`
		Description string `json:"description"`
	}
	if err := s.decodeMLflow(w, r, &req); err != nil {
		return err
	}
	reg, err := s.registry()
	if err != nil {
		return err
	}
	v, err := reg.UpdateModelVersion(r.Context(), c.workspace, req.Name, req.Version, req.Description)
	if err != nil {
		return err
	}
	return writeMLflow(w, modelVersionAnswer{toMLflowModelVersion(v)})
}

func (s *Server) mlflowDeleteModelVersion(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req modelVersionRequest
	if err := s.decodeMLflow(w, r, &req); err != nil {
		return err
	}
	reg, err := s.registry()
	if err != nil {
		return err
	}
	// Deleting a version drops the aliases on it: not a protected one.
	if v, err := reg.ModelVersion(r.Context(), c.workspace, req.Name, req.Version); err == nil {
		for _, a := range v.Aliases {
			if err := s.checkAliasUnprotected(r.Context(), c.workspace, req.Name, a); err != nil {
				return err
			}
		}
	}
	if err := reg.DeleteModelVersion(r.Context(), c.workspace, req.Name, req.Version); err != nil {
		return err
	}
	return writeMLflow(w, nil)
}

func (s *Server) mlflowSearchModelVersions(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req modelSearchRequest
	if err := s.decodeMLflow(w, r, &req); err != nil {
		return err
	}
	reg, err := s.registry()
	if err != nil {
		return err
	}
	// The proto's default for an absent max_results is 200000, which
	// MLflow's handler passes to its store.
	page, err := reg.SearchModelVersions(r.Context(), c.workspace, req.search(hangar.MaxModelVersionSearchResults))
	if err != nil {
		return err
	}
	var ans struct {
		ModelVersions []*mlflowModelVersion `json:"model_versions,omitempty"`
		NextPageToken string                `json:"next_page_token,omitempty"`
	}
	ans.ModelVersions = toMLflowModelVersions(page.Items)
	ans.NextPageToken = page.NextPageToken
	return writeMLflow(w, ans)
}

func (s *Server) mlflowModelVersionDownloadURI(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req modelVersionRequest
	if err := s.decodeMLflow(w, r, &req); err != nil {
		return err
	}
	reg, err := s.registry()
	if err != nil {
		return err
	}
	uri, err := reg.ModelVersionDownloadURI(r.Context(), c.workspace, req.Name, req.Version)
	if err != nil {
		return err
	}
	return writeMLflow(w, struct {
		ArtifactURI string `json:"artifact_uri"`
	}{uri})
}

func (s *Server) mlflowSetModelVersionTag(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req struct {
		Name    string `json:"name" mlflow:"required"`
		Version string `json:"version" mlflow:"required"`
		Key     string `json:"key" mlflow:"required"`
		Value   string `json:"value"`
	}
	if err := s.decodeMLflow(w, r, &req); err != nil {
		return err
	}
	reg, err := s.registry()
	if err != nil {
		return err
	}
	if err := reg.SetModelVersionTag(r.Context(), c.workspace, req.Name, req.Version, req.Key, req.Value); err != nil {
		return err
	}
	return writeMLflow(w, nil)
}

func (s *Server) mlflowDeleteModelVersionTag(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req struct {
		Name    string `json:"name" mlflow:"required"`
		Version string `json:"version" mlflow:"required"`
		Key     string `json:"key" mlflow:"required"`
	}
	if err := s.decodeMLflow(w, r, &req); err != nil {
		return err
	}
	reg, err := s.registry()
	if err != nil {
		return err
	}
	if err := reg.DeleteModelVersionTag(r.Context(), c.workspace, req.Name, req.Version, req.Key); err != nil {
		return err
	}
	return writeMLflow(w, nil)
}

func (s *Server) mlflowTransitionModelVersionStage(w http.ResponseWriter, r *http.Request, c *caller) error {
	// archive_existing_versions is only type-checked by MLflow's handler:
	// absent means false.
	var req struct {
		Name            string `json:"name" mlflow:"required"`
		Version         string `json:"version" mlflow:"required"`
		Stage           string `json:"stage" mlflow:"required"`
		ArchiveExisting bool   `json:"archive_existing_versions"`
	}
	if err := s.decodeMLflow(w, r, &req); err != nil {
		return err
	}
	reg, err := s.registry()
	if err != nil {
		return err
	}
	v, err := reg.TransitionModelVersionStage(r.Context(), c.workspace, req.Name, req.Version, req.Stage, req.ArchiveExisting)
	if err != nil {
		return err
	}
	return writeMLflow(w, modelVersionAnswer{toMLflowModelVersion(v)})
}
