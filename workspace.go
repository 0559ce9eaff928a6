package hangar

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Workspace is the top-level scope: every asset, job, endpoint, secret and
// role assignment (except server-wide ones) belongs to exactly one.
type Workspace struct {
	Name string `json:"name"`
	// Kind is WorkspaceKindWorkspace or WorkspaceKindRegistry; stores
	// read "" as a workspace.
	Kind        string            `json:"kind,omitempty"`
	DisplayName string            `json:"display_name,omitempty"`
	Description string            `json:"description,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
	CreatedAt   time.Time         `json:"created_at"`
	CreatedBy   string            `json:"created_by,omitempty"`
}

// WorkspaceService stores workspaces.
type WorkspaceService interface {
	// CreateWorkspace stores w, setting CreatedAt and CreatedBy.
	// Errors: EINVALID (bad name), ECONFLICT (exists).
	CreateWorkspace(ctx context.Context, w *Workspace) error
	// Workspace returns one workspace. Errors: ENOTFOUND.
	Workspace(ctx context.Context, name string) (*Workspace, error)
	// ListWorkspaces lists workspaces ordered by name.
	ListWorkspaces(ctx context.Context, opt ListOptions) (*Page[*Workspace], error)
	// DeleteWorkspace deletes a workspace with everything scoped to it.
	// Errors: ENOTFOUND, ECONFLICT (the default workspace cannot be deleted).
	DeleteWorkspace(ctx context.Context, name string) error
}

// Workspace kinds. A registry is a workspace that holds models,
// components, environments and data to share across workspaces (Azure ML's
// registries): roles, storage, blobs and the audit log work as in any
// workspace, and assets are shared into and out of it (model share), but
// nothing runs there — RegistryRefuses lists what it refuses.
const (
	WorkspaceKindWorkspace = "workspace"
	WorkspaceKindRegistry  = "registry"
)

// IsRegistry reports whether the workspace is a registry.
func (w *Workspace) IsRegistry() bool { return w.Kind == WorkspaceKindRegistry }

// registryRefuses are the actions a registry refuses: running jobs,
// compute, endpoints, schedules and monitors belong to workspaces.
var registryRefuses = []string{
	ActJobWrite, ActComputeWrite,
	ActOnlineEndpointWrite, ActOnlineDeploymentWrite, ActBatchEndpointWrite, ActBatchDeploymentWrite,
	ActScheduleWrite, ActMonitorWrite,
}

// RegistryRefuses returns the actions a registry refuses, whatever the
// caller's roles (CheckKindAllows).
func RegistryRefuses() []string { return slices.Clone(registryRefuses) }

// CheckKindAllows returns EINVALID when the workspace's kind refuses the
// action: a registry refuses RegistryRefuses(). Errors: EINVALID.
func (w *Workspace) CheckKindAllows(action string) error {
	if w.IsRegistry() && slices.Contains(registryRefuses, action) {
		return Errorf(EINVALID, "%q is a registry: it holds models, components, environments and data to share, and refuses %s (jobs, compute, endpoints, schedules and monitors belong to a workspace)", w.Name, action)
	}
	return nil
}

// Validate checks the fields a client supplies.
func (w *Workspace) Validate() error {
	if err := ValidateWorkspaceName(w.Name); err != nil {
		return err
	}
	switch w.Kind {
	case "", WorkspaceKindWorkspace:
	case WorkspaceKindRegistry:
		// References name these registries already (jobspec): the
		// built-in components and Azure's curated environments.
		if w.Name == "hangar" || w.Name == "azureml" {
			return Errorf(EINVALID, "registry name %q is reserved: azureml://registries/hangar/… names the built-in components and azureml://registries/azureml/… Azure's curated environments", w.Name)
		}
	default:
		return Errorf(EINVALID, "invalid workspace kind %q: want %s or %s", w.Kind, WorkspaceKindWorkspace, WorkspaceKindRegistry)
	}
	if err := ValidateText("display_name", w.DisplayName, 256); err != nil {
		return err
	}
	if err := ValidateText("description", w.Description, 4096); err != nil {
		return err
	}
	return validateTags(w.Tags)
}

var workspaceNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{2,32}$`)

// ValidateWorkspaceName applies Azure ML's workspace name rule: 3 to 33
// characters, letters, digits, hyphens and underscores, starting with a letter or digit.
func ValidateWorkspaceName(name string) error {
	if !workspaceNameRE.MatchString(name) {
		return Errorf(EINVALID, "invalid workspace name %q: use 3 to 33 letters, digits, '-' or '_', starting with a letter or digit", name)
	}
	return nil
}

var assetNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$`)

// ValidateName applies Azure ML's asset name rule (models, data, components,
// tokens, identities): 1 to 255 letters, digits, '.', '-' or '_', starting
// with a letter or digit. kind names the entity in the message.
func ValidateName(kind, name string) error {
	if !assetNameRE.MatchString(name) {
		return Errorf(EINVALID, "invalid %s name %q: use 1 to 255 letters, digits, '.', '-' or '_', starting with a letter or digit", kind, name)
	}
	return nil
}

func validateTags(tags map[string]string) error {
	if len(tags) > 50 {
		return Errorf(EINVALID, "%d tags; the limit is 50", len(tags))
	}
	for k, v := range tags {
		if k == "" {
			return Errorf(EINVALID, "tag key is empty")
		}
		if err := ValidateText("tag key", k, 256); err != nil {
			return err
		}
		if err := ValidateText("tag value", v, 4096); err != nil {
			return err
		}
	}
	return nil
}

// ValidateText checks free text a client supplies: valid UTF-8, no NUL
// (PostgreSQL cannot store it, SQLite can: refusing it keeps the backends
// alike), at most max bytes. field names it in the message.
func ValidateText(field, s string, max int) error {
	switch {
	case len(s) > max:
		return Errorf(EINVALID, "%s is %d bytes; the limit is %d", field, len(s), max)
	case !utf8.ValidString(s):
		return Errorf(EINVALID, "%s is not valid UTF-8", field)
	case strings.IndexByte(s, 0) >= 0:
		return Errorf(EINVALID, "%s contains a NUL character", field)
	}
	return nil
}
