package hangar

import (
	"context"
	"encoding/json"
	"time"
)

// Component is one immutable version of a named command component of a
// workspace (see environment.go for versions, archiving and hashes). Its
// definition is Spec, the normalized component spec as JSON text: the root
// does not read it, jobspec writes and reads it. The spec should not carry
// the name and version, which are the version's own fields, so that the
// same definition hashes alike under any name and version.
type Component struct {
	Workspace   string            `json:"workspace"`
	Name        string            `json:"name"`
	Version     string            `json:"version"` // as Environment.Version
	DisplayName string            `json:"display_name,omitempty"`
	Description string            `json:"description,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
	// Spec is the normalized spec, a JSON object of at most
	// MaxComponentSpecSize bytes.
	Spec string `json:"spec"`
	// Code is the manifest digest of the code snapshot, which the workspace
	// must own; empty for none.
	Code Digest `json:"code,omitempty"`
	// IsDeterministic allows reusing a previous run of a step of the
	// component with the same inputs.
	IsDeterministic bool `json:"is_deterministic"`
	// Hash is ComponentHash of the version, set by the store.
	Hash      string    `json:"hash"`
	Archived  bool      `json:"archived"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	// Existing is set on the version CreateComponent returned when it created
	// nothing: no version was given and the latest version not archived
	// had the same hash. It is not stored.
	Existing bool `json:"existing,omitempty"`
}

// ComponentService stores component versions, as EnvironmentService stores
// environment versions.
type ComponentService interface {
	// CreateComponent stores a new version of c.Name in c.Workspace and
	// returns it, with Version (when empty), Hash, CreatedBy and CreatedAt
	// set. Without a version, when the latest version not archived has the
	// same hash, that version is returned and nothing is created. Errors:
	// EINVALID (Validate), ENOTFOUND (workspace, or a code snapshot the
	// workspace does not own), ECONFLICT (the version exists).
	CreateComponent(ctx context.Context, c *Component) (*Component, error)
	// Component returns a version, archived or not. Errors: ENOTFOUND,
	// EINVALID.
	Component(ctx context.Context, workspace, name, version string) (*Component, error)
	// LatestComponent returns the most recently created version of the
	// name that is not archived. Errors: ENOTFOUND, EINVALID.
	LatestComponent(ctx context.Context, workspace, name string) (*Component, error)
	// ListComponents lists the names that have a version not archived, each
	// as its latest such version, ordered by name.
	ListComponents(ctx context.Context, workspace string, opt ListOptions) (*Page[*Component], error)
	// ListComponentVersions lists the versions of a name, newest first,
	// archived ones only when includeArchived.
	ListComponentVersions(ctx context.Context, workspace, name string, includeArchived bool, opt ListOptions) (*Page[*Component], error)
	// SetComponentArchived archives or restores a version and returns it.
	// Errors: ENOTFOUND, EINVALID.
	SetComponentArchived(ctx context.Context, workspace, name, version string, archived bool) (*Component, error)
}

// Validate checks the fields a client supplies: the workspace, the name
// (ValidateName), the version when given, the display name, description
// and tags, the spec (CheckJSONText, a JSON object, at most
// MaxComponentSpecSize bytes) and the code digest.
func (c *Component) Validate() error {
	if err := ValidateWorkspaceName(c.Workspace); err != nil {
		return err
	}
	if err := ValidateName("component", c.Name); err != nil {
		return err
	}
	if c.Version != "" {
		if err := ValidateEnvComponentVersion("component", c.Version); err != nil {
			return err
		}
	}
	if err := ValidateText("display_name", c.DisplayName, MaxAssetDisplayNameLength); err != nil {
		return err
	}
	if err := ValidateText("description", c.Description, MaxAssetDescriptionLength); err != nil {
		return err
	}
	if err := validateTags(c.Tags); err != nil {
		return err
	}
	if len(c.Spec) > MaxComponentSpecSize {
		return Errorf(EINVALID, "component %q: spec is %d bytes; the limit is %d", c.Name, len(c.Spec), MaxComponentSpecSize)
	}
	if err := CheckJSONText([]byte(c.Spec)); err != nil {
		return Errorf(EINVALID, "component %q: spec: %v", c.Name, err)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(c.Spec), &obj); err != nil || obj == nil {
		return Errorf(EINVALID, "component %q: spec is not a JSON object", c.Name)
	}
	if c.Code != "" {
		if _, err := ParseDigest(string(c.Code)); err != nil {
			return Errorf(EINVALID, "component %q: code: %v", c.Name, err)
		}
	}
	return nil
}

// ComponentHash is the content hash of a component's definition: as
// EnvironmentHash, over the spec text and the code digest. Identical specs
// (byte for byte: the spec is normalized before it is stored) with the same
// code have the same hash.
func ComponentHash(c *Component) string {
	return contentHash("hangar-component-v1", c.Spec, string(c.Code))
}
