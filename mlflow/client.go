package mlflow

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hangar-ml/hangar"
)

// Environment variables through which MLflow's clients, and Hangar's jobs,
// learn where to log: the tracking server, the run and the credentials (a
// bearer token, or a user name and password for HTTP Basic).
const (
	EnvTrackingURI      = "MLFLOW_TRACKING_URI"
	EnvRunID            = "MLFLOW_RUN_ID"
	EnvTrackingToken    = "MLFLOW_TRACKING_TOKEN"
	EnvTrackingUsername = "MLFLOW_TRACKING_USERNAME"
	EnvTrackingPassword = "MLFLOW_TRACKING_PASSWORD"
	EnvWorkspace        = "MLFLOW_WORKSPACE"
)

// WorkspaceHeader is the header through which MLflow 3 clients name the
// workspace (MLFLOW_WORKSPACE) of every request.
const WorkspaceHeader = "X-MLFLOW-WORKSPACE"

// TrackingEnv is what the MLFLOW_TRACKING_URI, MLFLOW_RUN_ID,
// MLFLOW_TRACKING_TOKEN, MLFLOW_TRACKING_USERNAME, MLFLOW_TRACKING_PASSWORD
// and MLFLOW_WORKSPACE variables say. The caller reads them; this
// package never looks at the environment.
type TrackingEnv struct {
	URI   string // MLFLOW_TRACKING_URI: the tracking server's base URL
	RunID string // MLFLOW_RUN_ID: the run to log to
	Token string // MLFLOW_TRACKING_TOKEN: sent as a bearer token when set
	// Username and Password (MLFLOW_TRACKING_USERNAME and _PASSWORD) are
	// sent as HTTP Basic credentials when both are set, in place of Token,
	// as MLflow's Python client does. Hangar takes a token as the password.
	Username string
	Password string
	// Workspace (MLFLOW_WORKSPACE) is sent in the X-MLFLOW-WORKSPACE
	// header when set, as MLflow 3 clients send it.
	Workspace string
}

// Run returns the run the environment names, or nil when URI or RunID is
// unset: tracking is then skipped. Errors: EINVALID when URI is not an
// http(s) URL.
func (e TrackingEnv) Run() (*Run, error) {
	if e.URI == "" || e.RunID == "" {
		return nil, nil
	}
	c, err := e.Client()
	if err != nil {
		return nil, err
	}
	return c.Run(e.RunID), nil
}

// Client returns a client of the tracking server the environment names,
// with its credentials. Errors: EINVALID when URI is unset or not an
// http(s) URL.
func (e TrackingEnv) Client() (*Client, error) {
	c, err := NewClient(e.URI, e.Token)
	if err != nil {
		if e.URI == "" {
			return nil, hangar.Errorf(hangar.EINVALID, "%s is not set: want the tracking server's http(s) URL", EnvTrackingURI)
		}
		return nil, hangar.Errorf(hangar.EINVALID, "%s %q: want an http(s) URL", EnvTrackingURI, e.URI)
	}
	c.Username, c.Password, c.Workspace = e.Username, e.Password, e.Workspace
	return c, nil
}

// DefaultTimeout bounds one request of a Client made by NewClient.
const DefaultTimeout = 30 * time.Second

// Client calls an MLflow tracking server's REST API.
type Client struct {
	// URL is the server's base URL, e.g. http://localhost:5000; the API is
	// under URL/api/2.0/mlflow. A path is kept: Hangar serves a workspace
	// other than the default one under http://host/w/<workspace>.
	URL string
	// Token is sent as "Authorization: Bearer <Token>" when set.
	Token string
	// Username and Password are sent as HTTP Basic credentials when both
	// are set; they take precedence over Token, as in MLflow's client.
	Username string
	Password string
	// Workspace, when set, is sent in the X-MLFLOW-WORKSPACE header of
	// every request: the server's workspace for a URL without /w/<ws>.
	Workspace string
	// HTTP sends the requests; nil means http.DefaultClient.
	HTTP *http.Client
}

// NewClient returns a client of the server at baseURL with a DefaultTimeout
// per request. Errors: EINVALID when baseURL is not an http(s) URL.
func NewClient(baseURL, token string) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, hangar.Errorf(hangar.EINVALID, "MLflow tracking URI %q: want an http(s) URL", baseURL)
	}
	return &Client{URL: strings.TrimSuffix(baseURL, "/"), Token: token, HTTP: &http.Client{Timeout: DefaultTimeout}}, nil
}

// Run returns the client bound to one run.
func (c *Client) Run(id string) *Run { return &Run{Client: c, ID: id} }

// Run is a Client bound to one MLflow run: what a trainer logs to.
type Run struct {
	Client *Client
	ID     string
}

// LogBatch logs to the run; see Client.LogBatch.
func (r *Run) LogBatch(ctx context.Context, metrics []Metric, params []Param, tags []RunTag) error {
	return r.Client.LogBatch(ctx, r.ID, metrics, params, tags)
}

// LogBatch logs metrics, params and tags to a run with POST
// runs/log-batch, in as many requests as MLflow's limits need: at most
// MaxParamsPerBatch params, MaxTagsPerBatch tags, MaxMetricsPerBatch metrics
// and MaxEntitiesPerBatch of them together per request, in order, params
// first. Nothing to log sends nothing. Param and tag values longer than MLflow accepts are cut to its
// limit (a shortened value beats a refused batch). Errors: EINVALID for a
// key longer than MaxKeyLength; for an error answer, the code its status
// means (400 EINVALID, 401 EUNAUTHORIZED, 403 EFORBIDDEN, 404 ENOTFOUND,
// otherwise EUNAVAILABLE) with MLflow's error_code and message; EUNAVAILABLE
// when the server cannot be reached.
func (c *Client) LogBatch(ctx context.Context, runID string, metrics []Metric, params []Param, tags []RunTag) error {
	params, tags = clipParams(params), clipTags(tags)
	if err := checkKeys(metrics, params, tags); err != nil {
		return err
	}
	for len(params)+len(metrics)+len(tags) > 0 {
		var body LogBatch
		body, params, metrics, tags = nextBatch(runID, params, metrics, tags)
		if err := c.post(ctx, "runs/log-batch", body); err != nil {
			return err
		}
	}
	return nil
}

// nextBatch takes the longest legal batch from the front of the lists and
// returns it with what is left.
func nextBatch(runID string, params []Param, metrics []Metric, tags []RunTag) (LogBatch, []Param, []Metric, []RunTag) {
	b := LogBatch{RunID: runID, Params: []Param{}, Metrics: []Metric{}, Tags: []RunTag{}}
	size := 64 + len(runID) // the body around the lists
	total := func() int { return len(b.Params) + len(b.Metrics) + len(b.Tags) }
	room := func(v any) bool {
		enc, _ := json.Marshal(v)
		if size+len(enc)+1 > MaxBatchBytes && total() > 0 { // one item always goes: the server may judge it
			return false
		}
		size += len(enc) + 1
		return true
	}
	for len(params) > 0 && len(b.Params) < MaxParamsPerBatch && total() < MaxEntitiesPerBatch && room(params[0]) {
		b.Params, params = append(b.Params, params[0]), params[1:]
	}
	for len(tags) > 0 && len(b.Tags) < MaxTagsPerBatch && total() < MaxEntitiesPerBatch && room(tags[0]) {
		b.Tags, tags = append(b.Tags, tags[0]), tags[1:]
	}
	for len(metrics) > 0 && len(b.Metrics) < MaxMetricsPerBatch && total() < MaxEntitiesPerBatch && room(metrics[0]) {
		b.Metrics, metrics = append(b.Metrics, metrics[0]), metrics[1:]
	}
	return b, params, metrics, tags
}

func checkKeys(metrics []Metric, params []Param, tags []RunTag) error {
	check := func(what, key string) error {
		if utf8.RuneCountInString(key) > MaxKeyLength {
			return hangar.Errorf(hangar.EINVALID, "MLflow %s key %q…: longer than %d characters", what, truncate(key, 40), MaxKeyLength)
		}
		return nil
	}
	for _, p := range params {
		if err := check("param", p.Key); err != nil {
			return err
		}
	}
	for _, m := range metrics {
		if err := check("metric", m.Key); err != nil {
			return err
		}
	}
	for _, t := range tags {
		if err := check("tag", t.Key); err != nil {
			return err
		}
	}
	return nil
}

func clipParams(ps []Param) []Param {
	var out []Param
	for i, p := range ps {
		if v := truncate(p.Value, MaxParamValueLength); v != p.Value {
			if out == nil {
				out = slices.Clone(ps) // never change the caller's slice
			}
			out[i].Value = v
		}
	}
	if out == nil {
		return ps
	}
	return out
}

func clipTags(ts []RunTag) []RunTag {
	var out []RunTag
	for i, t := range ts {
		if v := truncate(t.Value, MaxTagValueLength); v != t.Value {
			if out == nil {
				out = slices.Clone(ts)
			}
			out[i].Value = v
		}
	}
	if out == nil {
		return ts
	}
	return out
}

// truncate cuts s to at most n characters; MLflow counts characters (code
// points), not bytes.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}

// post sends one API request and reads MLflow's answer.
func (c *Client) post(ctx context.Context, method string, body any) error {
	return c.call(ctx, http.MethodPost, method, nil, body, nil)
}

// get sends a GET request with its fields in the query string, as
// MLflow's GET endpoints take them, and decodes the answer into out.
func (c *Client) get(ctx context.Context, method string, q url.Values, out any) error {
	return c.call(ctx, http.MethodGet, method, q, nil, out)
}

// call sends one request to URL/api/2.0/mlflow/<method>: body, when not
// nil, as JSON; q as the query string. A 2xx answer is decoded into out
// (when not nil); any other is the error answerError makes of it.
func (c *Client) call(ctx context.Context, httpMethod, method string, q url.Values, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("MLflow %s: %w", method, err)
		}
		rd = bytes.NewReader(b)
	}
	u := c.URL + "/api/2.0/mlflow/" + method
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, httpMethod, u, rd)
	if err != nil {
		return hangar.Errorf(hangar.EINVALID, "MLflow %s: %v", method, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	c.SetAuth(req)
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		action := "reaching"
		if httpMethod == http.MethodPost && strings.HasPrefix(method, "runs/") {
			action = "logging to"
		}
		return hangar.Errorf(hangar.EUNAVAILABLE, "%s MLflow at %s failed: %v", action, c.URL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return c.answerError(resp, msg)
	}
	if out == nil {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // keep the connection for the next request
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return hangar.Errorf(hangar.EUNAVAILABLE, "MLflow at %s answered %s with a body that is not its JSON: %v", c.URL, method, err)
	}
	return nil
}

// SetAuth puts the client's credentials on a request: HTTP Basic when
// Username and Password are both set, else a bearer Token when set, else
// nothing; and the workspace header when Workspace is set.
func (c *Client) SetAuth(req *http.Request) {
	if c.Workspace != "" {
		req.Header.Set(WorkspaceHeader, c.Workspace)
	}
	switch {
	case c.Username != "" && c.Password != "":
		req.SetBasicAuth(c.Username, c.Password)
	case c.Token != "":
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
}

// AnswerError is an error answer of an MLflow server. It wraps the
// domain error (hangar.ErrorCode and ErrorMessage find it: the code that
// MLflow's error_code means, AnswerCode, and a message naming the server,
// the status, the error_code and MLflow's message), and keeps MLflow's
// error body for a caller that shows the server's own words.
type AnswerError struct {
	Status int       // the HTTP status
	Body   ErrorBody // MLflow's error_code and message; empty for a body that is not MLflow's
	Err    *hangar.Error
}

// Error implements error.
func (e *AnswerError) Error() string { return e.Err.Error() }

// Unwrap returns the domain error.
func (e *AnswerError) Unwrap() error { return e.Err }

// answerError makes the AnswerError of an error answer.
func (c *Client) answerError(resp *http.Response, body []byte) error {
	ae := &AnswerError{Status: resp.StatusCode,
		Err: hangar.Errorf(AnswerCode(resp.StatusCode, body), "MLflow at %s answered %s: %s", c.URL, resp.Status, errorText(body))}
	if json.Unmarshal(body, &ae.Body) != nil {
		ae.Body = ErrorBody{}
	}
	return ae
}

// AnswerCode returns the domain code of an MLflow error answer: the one its
// error_code means (RESOURCE_ALREADY_EXISTS, which MLflow answers with 400,
// is ECONFLICT; RESOURCE_DOES_NOT_EXIST ENOTFOUND; INVALID_PARAMETER_VALUE
// EINVALID; …), else the one its HTTP status means (statusCode).
func AnswerCode(status int, body []byte) string {
	var e ErrorBody
	if json.Unmarshal(body, &e) == nil {
		switch e.ErrorCode {
		case "RESOURCE_ALREADY_EXISTS", "ALREADY_EXISTS", "RESOURCE_CONFLICT":
			return hangar.ECONFLICT
		case "RESOURCE_DOES_NOT_EXIST", "NOT_FOUND", "ENDPOINT_NOT_FOUND":
			return hangar.ENOTFOUND
		case "INVALID_PARAMETER_VALUE", "BAD_REQUEST", "INVALID_REQUEST":
			if status == http.StatusRequestEntityTooLarge {
				return hangar.ETOOLARGE
			}
			return hangar.EINVALID
		case "PERMISSION_DENIED":
			return hangar.EFORBIDDEN
		case "UNAUTHENTICATED", "CUSTOMER_UNAUTHORIZED":
			return hangar.EUNAUTHORIZED
		case "NOT_IMPLEMENTED":
			return hangar.ENOTIMPLEMENTED
		}
	}
	return statusCode(status)
}

// errorText renders an error answer: "ERROR_CODE: message" for MLflow's
// error body, else the body's first line.
func errorText(body []byte) string {
	var e ErrorBody
	if json.Unmarshal(body, &e) == nil && (e.ErrorCode != "" || e.Message != "") {
		if e.ErrorCode == "" {
			return e.Message
		}
		return e.ErrorCode + ": " + e.Message
	}
	text := strings.TrimSpace(string(body))
	if line, _, cut := strings.Cut(text, "\n"); cut {
		text = line + " …"
	}
	return truncate(text, 500)
}

// statusCode maps an HTTP error status to the domain code of the error.
func statusCode(status int) string {
	switch status {
	case http.StatusBadRequest:
		return hangar.EINVALID
	case http.StatusUnauthorized:
		return hangar.EUNAUTHORIZED
	case http.StatusForbidden:
		return hangar.EFORBIDDEN
	case http.StatusNotFound:
		return hangar.ENOTFOUND
	case http.StatusConflict:
		return hangar.ECONFLICT
	case http.StatusRequestEntityTooLarge:
		return hangar.ETOOLARGE
	case http.StatusNotImplemented:
		return hangar.ENOTIMPLEMENTED
	}
	return hangar.EUNAVAILABLE
}

// LogMetric logs one metric point to a run with POST runs/log-metric.
// Errors: as LogBatch's.
func (c *Client) LogMetric(ctx context.Context, runID string, m Metric) error {
	return c.post(ctx, "runs/log-metric", struct {
		RunID   string `json:"run_id"`
		RunUUID string `json:"run_uuid"`
		Metric
	}{runID, runID, m})
}

// LogParam logs one param to a run with POST runs/log-parameter. MLflow
// refuses a second, different value for a logged key (EINVALID).
// Errors: as LogBatch's.
func (c *Client) LogParam(ctx context.Context, runID string, p Param) error {
	return c.post(ctx, "runs/log-parameter", struct {
		RunID   string `json:"run_id"`
		RunUUID string `json:"run_uuid"`
		Param
	}{runID, runID, p})
}

// SetTag sets a tag of a run with POST runs/set-tag, replacing its value.
// Errors: as LogBatch's.
func (c *Client) SetTag(ctx context.Context, runID string, t RunTag) error {
	return c.post(ctx, "runs/set-tag", struct {
		RunID   string `json:"run_id"`
		RunUUID string `json:"run_uuid"`
		RunTag
	}{runID, runID, t})
}

// GetRun returns a run with GET runs/get: what it is, the latest value of
// each metric, its params and tags. Errors: ENOTFOUND for an unknown run;
// the others as LogBatch's.
func (c *Client) GetRun(ctx context.Context, runID string) (*RunEntity, error) {
	var ans struct {
		Run *RunEntity `json:"run"`
	}
	if err := c.get(ctx, "runs/get", url.Values{"run_id": {runID}}, &ans); err != nil {
		return nil, err
	}
	if ans.Run == nil {
		return nil, hangar.Errorf(hangar.EUNAVAILABLE, "MLflow at %s answered runs/get without a run", c.URL)
	}
	return ans.Run, nil
}

// MetricHistory returns every point of one metric of a run, paging
// through GET metrics/get-history. Errors: ENOTFOUND for an unknown run;
// the others as LogBatch's.
func (c *Client) MetricHistory(ctx context.Context, runID, key string) ([]Metric, error) {
	var all []Metric
	token := ""
	for {
		q := url.Values{"run_id": {runID}, "metric_key": {key}}
		if token != "" {
			q.Set("page_token", token)
		}
		var ans struct {
			Metrics       []Metric `json:"metrics"`
			NextPageToken string   `json:"next_page_token"`
		}
		if err := c.get(ctx, "metrics/get-history", q, &ans); err != nil {
			return nil, err
		}
		all = append(all, ans.Metrics...)
		if ans.NextPageToken == "" || ans.NextPageToken == token {
			return all, nil
		}
		token = ans.NextPageToken
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
}

// The model registry's wire shapes (MLflow's RegisteredModel and
// ModelVersion messages), as the client reads and writes them; Client's
// registry methods turn them into the domain's types.

type modelTag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type modelAlias struct {
	Alias   string `json:"alias"`
	Version string `json:"version"`
}

type registeredModel struct {
	Name                 string          `json:"name"`
	CreationTimestamp    Int64           `json:"creation_timestamp"`
	LastUpdatedTimestamp Int64           `json:"last_updated_timestamp"`
	UserID               string          `json:"user_id,omitempty"`
	Description          string          `json:"description,omitempty"`
	LatestVersions       []*modelVersion `json:"latest_versions,omitempty"`
	Tags                 []modelTag      `json:"tags,omitempty"`
	Aliases              []modelAlias    `json:"aliases,omitempty"`
}

type modelVersion struct {
	Name                 string     `json:"name"`
	Version              string     `json:"version"`
	CreationTimestamp    Int64      `json:"creation_timestamp"`
	LastUpdatedTimestamp Int64      `json:"last_updated_timestamp"`
	UserID               string     `json:"user_id,omitempty"`
	CurrentStage         string     `json:"current_stage"`
	Description          string     `json:"description,omitempty"`
	Source               string     `json:"source"`
	RunID                string     `json:"run_id,omitempty"`
	Status               string     `json:"status"`
	StatusMessage        string     `json:"status_message,omitempty"`
	Tags                 []modelTag `json:"tags,omitempty"`
	RunLink              string     `json:"run_link,omitempty"`
	Aliases              []string   `json:"aliases,omitempty"`
	ModelID              string     `json:"model_id,omitempty"`
	StorageLocation      string     `json:"storage_location,omitempty"`
}

func wireTags(tags map[string]string) []modelTag {
	out := make([]modelTag, 0, len(tags))
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		out = append(out, modelTag{k, tags[k]})
	}
	return out
}

func tagMap(tags []modelTag) map[string]string {
	if len(tags) == 0 {
		return nil
	}
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[t.Key] = t.Value
	}
	return m
}

func (m *registeredModel) domain() *hangar.RegisteredModel {
	out := &hangar.RegisteredModel{
		Name:        m.Name,
		CreatedAt:   time.UnixMilli(int64(m.CreationTimestamp)).UTC(),
		UpdatedAt:   time.UnixMilli(int64(m.LastUpdatedTimestamp)).UTC(),
		UserID:      m.UserID,
		Description: m.Description,
		Tags:        tagMap(m.Tags),
	}
	for _, a := range m.Aliases {
		out.Aliases = append(out.Aliases, hangar.RegisteredModelAlias(a))
	}
	for _, v := range m.LatestVersions {
		out.LatestVersions = append(out.LatestVersions, v.domain())
	}
	return out
}

func (v *modelVersion) domain() *hangar.ModelVersion {
	return &hangar.ModelVersion{
		Name:            v.Name,
		Version:         v.Version,
		CreatedAt:       time.UnixMilli(int64(v.CreationTimestamp)).UTC(),
		UpdatedAt:       time.UnixMilli(int64(v.LastUpdatedTimestamp)).UTC(),
		UserID:          v.UserID,
		Stage:           v.CurrentStage,
		Description:     v.Description,
		Source:          v.Source,
		StorageLocation: v.StorageLocation,
		RunID:           v.RunID,
		RunLink:         v.RunLink,
		ModelID:         v.ModelID,
		Status:          v.Status,
		StatusMessage:   v.StatusMessage,
		Tags:            tagMap(v.Tags),
		Aliases:         v.Aliases,
	}
}

func versionsOf(ws []*modelVersion) []*hangar.ModelVersion {
	out := make([]*hangar.ModelVersion, 0, len(ws))
	for _, v := range ws {
		out = append(out, v.domain())
	}
	return out
}

// registeredModelAnswer and modelVersionAnswer are the answers of the
// routes that return one model or one version.
type registeredModelAnswer struct {
	RegisteredModel *registeredModel `json:"registered_model"`
}

type modelVersionAnswer struct {
	ModelVersion *modelVersion `json:"model_version"`
}

func (c *Client) missing(method, what string) error {
	return hangar.Errorf(hangar.EUNAVAILABLE, "MLflow at %s answered %s without a %s", c.URL, method, what)
}

// CreateRegisteredModel creates a registered model (Name, Description,
// Tags of m) with POST registered-models/create and returns it as the
// server stored it. The domain types' Workspace is left empty: the
// workspace is the server's business (Hangar's: the URL's /w/<ws>).
// Errors: ECONFLICT when the name is taken (MLflow's
// RESOURCE_ALREADY_EXISTS), EINVALID, and the others of LogBatch.
func (c *Client) CreateRegisteredModel(ctx context.Context, m *hangar.RegisteredModel) (*hangar.RegisteredModel, error) {
	const method = "registered-models/create"
	var ans registeredModelAnswer
	req := struct {
		Name        string     `json:"name"`
		Tags        []modelTag `json:"tags,omitempty"`
		Description string     `json:"description,omitempty"`
	}{m.Name, wireTags(m.Tags), m.Description}
	if err := c.call(ctx, http.MethodPost, method, nil, req, &ans); err != nil {
		return nil, err
	}
	if ans.RegisteredModel == nil {
		return nil, c.missing(method, "registered_model")
	}
	return ans.RegisteredModel.domain(), nil
}

// RegisteredModel returns a registered model with its tags, aliases and
// latest version per stage (GET registered-models/get). Errors: ENOTFOUND,
// EINVALID, and the others of LogBatch.
func (c *Client) RegisteredModel(ctx context.Context, name string) (*hangar.RegisteredModel, error) {
	const method = "registered-models/get"
	var ans registeredModelAnswer
	if err := c.get(ctx, method, url.Values{"name": {name}}, &ans); err != nil {
		return nil, err
	}
	if ans.RegisteredModel == nil {
		return nil, c.missing(method, "registered_model")
	}
	return ans.RegisteredModel.domain(), nil
}

// searchQuery is the query string of the two registry searches.
func searchQuery(q hangar.ModelSearch) url.Values {
	v := url.Values{}
	if q.Filter != "" {
		v.Set("filter", q.Filter)
	}
	if q.MaxResults > 0 {
		v.Set("max_results", strconv.Itoa(q.MaxResults))
	}
	for _, o := range q.OrderBy {
		v.Add("order_by", o)
	}
	if q.PageToken != "" {
		v.Set("page_token", q.PageToken)
	}
	return v
}

// SearchRegisteredModels returns one page of registered models (GET
// registered-models/search) matching q, each with its tags, aliases and
// latest versions. Errors: EINVALID (filter, order, page token), and the
// others of LogBatch.
func (c *Client) SearchRegisteredModels(ctx context.Context, q hangar.ModelSearch) (*hangar.Page[*hangar.RegisteredModel], error) {
	var ans struct {
		RegisteredModels []*registeredModel `json:"registered_models"`
		NextPageToken    string             `json:"next_page_token"`
	}
	if err := c.get(ctx, "registered-models/search", searchQuery(q), &ans); err != nil {
		return nil, err
	}
	page := &hangar.Page[*hangar.RegisteredModel]{Items: []*hangar.RegisteredModel{}, NextPageToken: ans.NextPageToken}
	for _, m := range ans.RegisteredModels {
		page.Items = append(page.Items, m.domain())
	}
	return page, nil
}

// CreateModelVersion creates the next version of a registered model
// (POST model-versions/create) from v's Name, Source, RunID, RunLink,
// Description, Tags and ModelID, and returns it as stored. Errors:
// ENOTFOUND (model), EINVALID (source and the other fields), and the
// others of LogBatch.
func (c *Client) CreateModelVersion(ctx context.Context, v *hangar.ModelVersion) (*hangar.ModelVersion, error) {
	const method = "model-versions/create"
	req := struct {
		Name        string     `json:"name"`
		Source      string     `json:"source"`
		RunID       string     `json:"run_id,omitempty"`
		Tags        []modelTag `json:"tags,omitempty"`
		RunLink     string     `json:"run_link,omitempty"`
		Description string     `json:"description,omitempty"`
		ModelID     string     `json:"model_id,omitempty"`
	}{v.Name, v.Source, v.RunID, wireTags(v.Tags), v.RunLink, v.Description, v.ModelID}
	var ans modelVersionAnswer
	if err := c.call(ctx, http.MethodPost, method, nil, req, &ans); err != nil {
		return nil, err
	}
	if ans.ModelVersion == nil {
		return nil, c.missing(method, "model_version")
	}
	return ans.ModelVersion.domain(), nil
}

// ModelVersion returns one version of a registered model with its tags
// and aliases (GET model-versions/get). Errors: ENOTFOUND, EINVALID
// (version not an integer), and the others of LogBatch.
func (c *Client) ModelVersion(ctx context.Context, name, version string) (*hangar.ModelVersion, error) {
	const method = "model-versions/get"
	var ans modelVersionAnswer
	if err := c.get(ctx, method, url.Values{"name": {name}, "version": {version}}, &ans); err != nil {
		return nil, err
	}
	if ans.ModelVersion == nil {
		return nil, c.missing(method, "model_version")
	}
	return ans.ModelVersion.domain(), nil
}

// SearchModelVersions returns one page of model versions (GET
// model-versions/search) matching q. Errors: EINVALID (filter, order, page
// token), and the others of LogBatch.
func (c *Client) SearchModelVersions(ctx context.Context, q hangar.ModelSearch) (*hangar.Page[*hangar.ModelVersion], error) {
	var ans struct {
		ModelVersions []*modelVersion `json:"model_versions"`
		NextPageToken string          `json:"next_page_token"`
	}
	if err := c.get(ctx, "model-versions/search", searchQuery(q), &ans); err != nil {
		return nil, err
	}
	return &hangar.Page[*hangar.ModelVersion]{Items: versionsOf(ans.ModelVersions), NextPageToken: ans.NextPageToken}, nil
}

// LatestModelVersions returns, for each of the stages (none: all) that
// some version of the model is in, the highest version in it (POST
// registered-models/get-latest-versions, which old clients use for
// models:/name/<stage> and models:/name/latest). Errors: ENOTFOUND
// (model), EINVALID (a stage), and the others of LogBatch.
func (c *Client) LatestModelVersions(ctx context.Context, name string, stages []string) ([]*hangar.ModelVersion, error) {
	req := struct {
		Name   string   `json:"name"`
		Stages []string `json:"stages,omitempty"`
	}{name, stages}
	var ans struct {
		ModelVersions []*modelVersion `json:"model_versions"`
	}
	if err := c.call(ctx, http.MethodPost, "registered-models/get-latest-versions", nil, req, &ans); err != nil {
		return nil, err
	}
	return versionsOf(ans.ModelVersions), nil
}

// ModelVersionByAlias returns the version an alias of a registered model
// points at (GET registered-models/alias). Errors: EINVALID for an alias
// the model does not have (MLflow answers it with 400
// INVALID_PARAMETER_VALUE, not 404), ENOTFOUND (model), and the others of
// LogBatch.
func (c *Client) ModelVersionByAlias(ctx context.Context, name, alias string) (*hangar.ModelVersion, error) {
	const method = "registered-models/alias"
	var ans modelVersionAnswer
	if err := c.get(ctx, method, url.Values{"name": {name}, "alias": {alias}}, &ans); err != nil {
		return nil, err
	}
	if ans.ModelVersion == nil {
		return nil, c.missing(method, "model_version")
	}
	return ans.ModelVersion.domain(), nil
}

// ModelVersionDownloadURI returns where a version's files are read from
// (GET model-versions/get-download-uri): an mlflow-artifacts:/ URI on a
// server that proxies artifacts. Errors: ENOTFOUND, EINVALID, and the
// others of LogBatch.
func (c *Client) ModelVersionDownloadURI(ctx context.Context, name, version string) (string, error) {
	const method = "model-versions/get-download-uri"
	var ans struct {
		ArtifactURI string `json:"artifact_uri"`
	}
	if err := c.get(ctx, method, url.Values{"name": {name}, "version": {version}}, &ans); err != nil {
		return "", err
	}
	if ans.ArtifactURI == "" {
		return "", c.missing(method, "artifact_uri")
	}
	return ans.ArtifactURI, nil
}

// SetRegisteredModelAlias points an alias of a registered model at a
// version (POST registered-models/alias), moving it when it points
// elsewhere. Errors: EINVALID (alias rules), ENOTFOUND (model or version),
// and the others of LogBatch.
func (c *Client) SetRegisteredModelAlias(ctx context.Context, name, alias, version string) error {
	return c.post(ctx, "registered-models/alias", struct {
		Name    string `json:"name"`
		Alias   string `json:"alias"`
		Version string `json:"version"`
	}{name, alias, version})
}

// SetModelVersionTag sets a tag of a model version (POST
// model-versions/set-tag), replacing its value. Errors: ENOTFOUND (model or
// version), EINVALID (key or value), and the others of LogBatch.
func (c *Client) SetModelVersionTag(ctx context.Context, name, version, key, value string) error {
	return c.post(ctx, "model-versions/set-tag", struct {
		Name    string `json:"name"`
		Version string `json:"version"`
		Key     string `json:"key"`
		Value   string `json:"value"`
	}{name, version, key, value})
}

// CreateExperiment creates an experiment with POST experiments/create and
// returns its id. Errors: ECONFLICT when the name is taken; the others as
// LogBatch's.
func (c *Client) CreateExperiment(ctx context.Context, name string, tags ...ExperimentTag) (string, error) {
	var ans struct {
		ExperimentID string `json:"experiment_id"`
	}
	body := struct {
		Name string          `json:"name"`
		Tags []ExperimentTag `json:"tags,omitempty"`
	}{name, tags}
	if err := c.call(ctx, http.MethodPost, "experiments/create", nil, body, &ans); err != nil {
		return "", err
	}
	if ans.ExperimentID == "" {
		return "", hangar.Errorf(hangar.EUNAVAILABLE, "MLflow at %s answered experiments/create without an experiment_id", c.URL)
	}
	return ans.ExperimentID, nil
}

// ExperimentByName returns an experiment with GET
// experiments/get-by-name. Errors: ENOTFOUND when there is none; the
// others as LogBatch's.
func (c *Client) ExperimentByName(ctx context.Context, name string) (*Experiment, error) {
	var ans struct {
		Experiment *Experiment `json:"experiment"`
	}
	if err := c.get(ctx, "experiments/get-by-name", url.Values{"experiment_name": {name}}, &ans); err != nil {
		return nil, err
	}
	if ans.Experiment == nil {
		return nil, hangar.Errorf(hangar.EUNAVAILABLE, "MLflow at %s answered experiments/get-by-name without an experiment", c.URL)
	}
	return ans.Experiment, nil
}

// CreateRun starts a run in an experiment with POST runs/create, as
// mlflow.start_run does: its name (mlflow.runName), the start time now
// and the given tags. Errors: ENOTFOUND for an unknown experiment; the
// others as LogBatch's.
func (c *Client) CreateRun(ctx context.Context, experimentID, runName string, tags ...RunTag) (*RunEntity, error) {
	var ans struct {
		Run *RunEntity `json:"run"`
	}
	body := struct {
		ExperimentID string   `json:"experiment_id"`
		RunName      string   `json:"run_name,omitempty"`
		StartTime    Int64    `json:"start_time"`
		Tags         []RunTag `json:"tags,omitempty"`
	}{experimentID, runName, Int64(time.Now().UnixMilli()), tags}
	if err := c.call(ctx, http.MethodPost, "runs/create", nil, body, &ans); err != nil {
		return nil, err
	}
	if ans.Run == nil || ans.Run.Info.RunID == "" {
		return nil, hangar.Errorf(hangar.EUNAVAILABLE, "MLflow at %s answered runs/create without a run", c.URL)
	}
	return ans.Run, nil
}

// EndRun sets a run's status (FINISHED, FAILED or KILLED) and end time now
// with POST runs/update, as mlflow.end_run does. Errors: as LogBatch's.
func (c *Client) EndRun(ctx context.Context, runID, status string) error {
	return c.post(ctx, "runs/update", struct {
		RunID   string `json:"run_id"`
		RunUUID string `json:"run_uuid"`
		Status  string `json:"status"`
		EndTime Int64  `json:"end_time"`
	}{runID, runID, status, Int64(time.Now().UnixMilli())})
}
