package mlflow

import (
	"context"
	"net/http"

	"github.com/hangar-ml/hangar"
)

// UpdateModelVersion sets a version's description (PATCH
// model-versions/update) and returns the version. Errors: ENOTFOUND,
// EINVALID, and the others of LogBatch.
func (c *Client) UpdateModelVersion(ctx context.Context, name, version, description string) (*hangar.ModelVersion, error) {
	const method = "model-versions/update"
	req := struct {
		Name        string `json:"name"`
		Version     string `json:"version"`
		Description string `json:"description"`
	}{name, version, description}
	var ans modelVersionAnswer
	if err := c.call(ctx, http.MethodPatch, method, nil, req, &ans); err != nil {
		return nil, err
	}
	if ans.ModelVersion == nil {
		return nil, c.missing(method, "model_version")
	}
	return ans.ModelVersion.domain(), nil
}

// TransitionModelVersionStage moves a version to a stage (None, Staging,
// Production, Archived) with POST model-versions/transition-stage, without
// archiving the versions already there. Errors: ENOTFOUND, EINVALID, and
// the others of LogBatch.
func (c *Client) TransitionModelVersionStage(ctx context.Context, name, version, stage string) (*hangar.ModelVersion, error) {
	const method = "model-versions/transition-stage"
	req := struct {
		Name    string `json:"name"`
		Version string `json:"version"`
		Stage   string `json:"stage"`
		Archive bool   `json:"archive_existing_versions"`
	}{name, version, stage, false}
	var ans modelVersionAnswer
	if err := c.call(ctx, http.MethodPost, method, nil, req, &ans); err != nil {
		return nil, err
	}
	if ans.ModelVersion == nil {
		return nil, c.missing(method, "model_version")
	}
	return ans.ModelVersion.domain(), nil
}
