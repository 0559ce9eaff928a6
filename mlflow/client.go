package mlflow

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hangar-ml/hangar"
)

// Environment variables through which MLflow's clients, and Hangar's jobs,
// learn where to log: the tracking server, the run and a bearer token.
const (
	EnvTrackingURI   = "MLFLOW_TRACKING_URI"
	EnvRunID         = "MLFLOW_RUN_ID"
	EnvTrackingToken = "MLFLOW_TRACKING_TOKEN"
)

// TrackingEnv is what the MLFLOW_TRACKING_URI, MLFLOW_RUN_ID and
// MLFLOW_TRACKING_TOKEN variables say. The caller reads them; this package
// never looks at the environment.
type TrackingEnv struct {
	URI   string // MLFLOW_TRACKING_URI: the tracking server's base URL
	RunID string // MLFLOW_RUN_ID: the run to log to
	Token string // MLFLOW_TRACKING_TOKEN: sent as a bearer token when set
}

// Run returns the run the environment names, or nil when URI or RunID is
// unset: tracking is then skipped. Errors: EINVALID when URI is not an
// http(s) URL.
func (e TrackingEnv) Run() (*Run, error) {
	if e.URI == "" || e.RunID == "" {
		return nil, nil
	}
	c, err := NewClient(e.URI, e.Token)
	if err != nil {
		return nil, hangar.Errorf(hangar.EINVALID, "%s %q: want an http(s) URL", EnvTrackingURI, e.URI)
	}
	return c.Run(e.RunID), nil
}

// DefaultTimeout bounds one request of a Client made by NewClient.
const DefaultTimeout = 30 * time.Second

// Client calls an MLflow tracking server's REST API.
type Client struct {
	// URL is the server's base URL, e.g. http://localhost:5000; the API is
	// under URL/api/2.0/mlflow.
	URL string
	// Token is sent as "Authorization: Bearer <Token>" when set.
	Token string
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
	b, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("MLflow %s: %w", method, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL+"/api/2.0/mlflow/"+method, bytes.NewReader(b))
	if err != nil {
		return hangar.Errorf(hangar.EINVALID, "MLflow %s: %v", method, err)
	}
	req.Header.Set("Content-Type", "application/json")
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return hangar.Errorf(hangar.EUNAVAILABLE, "logging to MLflow at %s failed: %v", c.URL, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 == 2 {
		return nil
	}
	return hangar.Errorf(statusCode(resp.StatusCode), "MLflow at %s answered %s: %s", c.URL, resp.Status, errorText(msg))
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
	}
	return hangar.EUNAVAILABLE
}
