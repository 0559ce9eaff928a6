package hangar

import (
	"context"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The model registry: registered models and their numbered versions, with
// tags, aliases and (deprecated in MLflow, still served) stages. It is
// Hangar's one registry: the MLflow routes (registered-models/…,
// model-versions/…) and Hangar's own model commands read and write these
// same entities, per workspace. The rules follow MLflow's SQL registry store
// (2.10 wire behaviour, with the 3.x additions named where they apply); the
// messages are MLflow's, so clients and golden tests see the text they know.

// Stages of a model version (MLflow's current_stage). Aliases replace them
// in MLflow 2.9+, but old clients still call get-latest-versions and
// transition-stage.
const (
	StageNone       = "None"
	StageStaging    = "Staging"
	StageProduction = "Production"
	StageArchived   = "Archived"
)

// ModelVersionStages lists the stages in the order Hangar reports the latest
// version of each (RegisteredModel.LatestVersions, LatestModelVersions).
func ModelVersionStages() []string {
	return []string{StageNone, StageStaging, StageProduction, StageArchived}
}

// ModelVersionReady is the status of every stored model version: the SQL
// store registers a version at once (MLflow's PENDING_REGISTRATION and
// FAILED_REGISTRATION are never stored).
const ModelVersionReady = "READY"

// Limits on registry input. The tag limits are MLflow's validators'
// (mlflow/utils/validation.py MAX_MODEL_REGISTRY_TAG_KEY_LENGTH and
// _VALUE_LENGTH: 250 and 5000 in 2.x and still in 3.x); the alias limit is
// MAX_REGISTERED_MODEL_ALIAS_LENGTH. The others are the column sizes of
// MLflow's registry tables, which MLflow on PostgreSQL enforces with a 500
// and MLflow on SQLite not at all: Hangar answers EINVALID on both. Lengths
// count characters (code points), as Python's len does.
const (
	MaxModelNameLength        = 256  // registered_models.name String(256)
	MaxModelAliasLength       = 255  // MAX_REGISTERED_MODEL_ALIAS_LENGTH
	MaxModelTagKeyLength      = 250  // MAX_MODEL_REGISTRY_TAG_KEY_LENGTH
	MaxModelTagValueLength    = 5000 // MAX_MODEL_REGISTRY_TAG_VALUE_LENGTH
	MaxModelDescriptionLength = 5000 // description String(5000)
	MaxModelSourceLength      = 500  // model_versions.source String(500)
	MaxModelRunLinkLength     = 500  // model_versions.run_link String(500)
	MaxModelRunIDLength       = 32   // model_versions.run_id String(32)
	MaxModelIDLength          = 256  // model_versions.model_id (3.x logged models)
)

// Page sizes of the two registry searches: MLflow's
// SEARCH_REGISTERED_MODEL_MAX_RESULTS_DEFAULT and _THRESHOLD (100, 1000),
// SEARCH_MODEL_VERSION_MAX_RESULTS_DEFAULT (10000, what its store and
// Python client default to) and the model-version handler's cap (200000).
// On the wire MLflow differs for versions: the proto's default for an
// absent max_results is 200000, so an MLflow route answering a request
// without one passes MaxModelVersionSearchResults, not 0.
const (
	DefaultModelSearchResults        = 100
	MaxModelSearchResults            = 1000
	DefaultModelVersionSearchResults = 10000
	MaxModelVersionSearchResults     = 200000
)

// RegisteredModel is a named model in a workspace: the container of its
// numbered versions. Times have millisecond precision (MLflow's
// creation_timestamp and last_updated_timestamp).
type RegisteredModel struct {
	Workspace string `json:"workspace"`
	Name      string `json:"name"`
	// CreatedAt is the creation time; UpdatedAt moves on every change of
	// the model, its description, its name and its versions' number or
	// stage, as MLflow's last_updated_timestamp does (not on tags or aliases).
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// UserID is the name of the actor that created the model. (MLflow's
	// store never sets it.)
	UserID      string            `json:"user_id,omitempty"`
	Description string            `json:"description,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
	// Aliases are the model's aliases, sorted by alias.
	Aliases []RegisteredModelAlias `json:"aliases,omitempty"`
	// LatestVersions holds, for each stage some version is in, the highest
	// version in that stage, in the order of ModelVersionStages. These
	// versions carry no aliases, as in MLflow.
	LatestVersions []*ModelVersion `json:"latest_versions,omitempty"`
}

// RegisteredModelAlias names one version of a registered model
// ("champion" → "3"). An alias points at exactly one version; setting it
// again moves it.
type RegisteredModelAlias struct {
	Alias   string `json:"alias"`
	Version string `json:"version"`
}

// ModelVersion is one numbered version of a registered model. Versions are
// numbered "1", "2", … per model, in creation order; a number is never
// given twice, even after its version was deleted.
type ModelVersion struct {
	Workspace string `json:"workspace"`
	// Name is the registered model's name.
	Name    string `json:"name"`
	Version string `json:"version"`
	// CreatedAt and UpdatedAt have millisecond precision. UpdatedAt moves
	// with the description and the stage (not with tags or aliases), and
	// when the model is renamed.
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// UserID is the name of the actor that created the version.
	UserID string `json:"user_id,omitempty"`
	// Stage is MLflow's current_stage: one of the Stage constants.
	Stage       string `json:"current_stage"`
	Description string `json:"description,omitempty"`
	// Source is where the model's files were registered from, as the
	// client gave it (mlflow-artifacts:/…, runs:/…, models:/…, s3://…).
	Source string `json:"source"`
	// StorageLocation is where the files are when that differs from
	// Source: MLflow 3.x resolves a models:/ source when the version is
	// created. Empty means Source.
	StorageLocation string `json:"storage_location,omitempty"`
	RunID           string `json:"run_id,omitempty"`
	RunLink         string `json:"run_link,omitempty"`
	// ModelID is the MLflow 3.x logged model the version was made from.
	ModelID       string            `json:"model_id,omitempty"`
	Status        string            `json:"status"`
	StatusMessage string            `json:"status_message,omitempty"`
	Tags          map[string]string `json:"tags,omitempty"`
	// Aliases are the aliases pointing at this version, sorted.
	Aliases []string `json:"aliases,omitempty"`
}

// DownloadURI is where a client reads the version's files from: MLflow's
// get-download-uri answer (storage_location, else source).
func (v *ModelVersion) DownloadURI() string {
	if v.StorageLocation != "" {
		return v.StorageLocation
	}
	return v.Source
}

// ModelSearch asks for one page of a registry search: an MLflow filter
// (package mlflow/search has the grammar), order_by items, a page size and
// the previous page's token. MaxResults 0 means the default of the search.
type ModelSearch struct {
	Filter     string
	OrderBy    []string
	MaxResults int
	PageToken  string
}

// RegistryService stores the model registry of every workspace. Names are
// unique within a workspace; every method names its workspace, and a
// workspace that does not exist has no models (ENOTFOUND where a model is
// looked up, ENOTFOUND for the workspace where one is created or searched).
// Every change is audited in its own transaction: models/write or
// models/delete on "models/<name>", "models/<name>/versions/<v>" or
// "models/<name>/aliases/<alias>". A change that changes nothing (deleting
// a tag or an alias that is not there) succeeds without an event.
//
// Error messages are MLflow's ("Registered Model with name=x not found",
// "Model Version (name=x, version=3) not found", "Registered model alias
// champion not found."), so the MLflow routes can pass them through.
type RegistryService interface {
	// CreateRegisteredModel stores m (Workspace, Name, Description, Tags),
	// setting CreatedAt, UpdatedAt and UserID (the actor of ctx).
	// Errors: EINVALID (name, description, tags), ENOTFOUND (workspace),
	// ECONFLICT (the name is taken: MLflow's RESOURCE_ALREADY_EXISTS).
	CreateRegisteredModel(ctx context.Context, m *RegisteredModel) error
	// RegisteredModel returns a model with its tags, aliases and latest
	// versions. Errors: EINVALID (name), ENOTFOUND.
	RegisteredModel(ctx context.Context, ws, name string) (*RegisteredModel, error)
	// RenameRegisteredModel renames a model; its versions, tags and aliases
	// follow, and the model's and its versions' UpdatedAt move. models:/
	// URIs naming the old name stop resolving; stored sources do not
	// change. Errors: EINVALID (either name), ENOTFOUND, ECONFLICT (the new
	// name is taken).
	RenameRegisteredModel(ctx context.Context, ws, name, newName string) (*RegisteredModel, error)
	// UpdateRegisteredModel sets a model's description ("" clears it).
	// Errors: EINVALID, ENOTFOUND.
	UpdateRegisteredModel(ctx context.Context, ws, name, description string) (*RegisteredModel, error)
	// DeleteRegisteredModel deletes a model with all its versions, tags and
	// aliases (a hard delete, as MLflow's). Errors: EINVALID, ENOTFOUND.
	DeleteRegisteredModel(ctx context.Context, ws, name string) error
	// SearchRegisteredModels returns one page of the workspace's models
	// that match q.Filter (attribute name with = != LIKE ILIKE; tags.<key>
	// with = != LIKE ILIKE), ordered by q.OrderBy (name, timestamp or
	// last_updated_timestamp — both of the latter the last update —, then
	// name ASC), each with its tags, aliases and latest versions.
	// MaxResults defaults to DefaultModelSearchResults, at most
	// MaxModelSearchResults. Errors: EINVALID (filter, order_by,
	// max_results, page token), ENOTFOUND (workspace).
	SearchRegisteredModels(ctx context.Context, ws string, q ModelSearch) (*Page[*RegisteredModel], error)
	// SetRegisteredModelTag sets a tag of a model, replacing its value.
	// Errors: EINVALID (key, value), ENOTFOUND.
	SetRegisteredModelTag(ctx context.Context, ws, name, key, value string) error
	// DeleteRegisteredModelTag deletes a tag of a model; a tag that is not
	// there is no error (MLflow). Errors: EINVALID (key), ENOTFOUND (model).
	DeleteRegisteredModelTag(ctx context.Context, ws, name, key string) error

	// SetRegisteredModelAlias points an alias at a version, moving it when
	// it points elsewhere. This is the one way an alias moves. It does not
	// move the model's UpdatedAt (MLflow 3.x). Errors: EINVALID (alias
	// rules of ValidateModelAlias, version not an integer), ENOTFOUND (model
	// or version).
	SetRegisteredModelAlias(ctx context.Context, ws, name, alias, version string) error
	// DeleteRegisteredModelAlias deletes an alias; one that is not there is
	// no error (MLflow). Errors: EINVALID (alias), ENOTFOUND (model).
	DeleteRegisteredModelAlias(ctx context.Context, ws, name, alias string) error
	// ModelVersionByAlias returns the version an alias points at, with its
	// aliases. Errors: EINVALID (alias rules; an alias the model does not
	// have: MLflow answers a missing alias with INVALID_PARAMETER_VALUE),
	// ENOTFOUND (model).
	ModelVersionByAlias(ctx context.Context, ws, name, alias string) (*ModelVersion, error)
	// LatestModelVersions returns, for each of the stages (any case; none
	// means all four) that some version is in, the highest version in it,
	// with its aliases, in the order of ModelVersionStages.
	// Errors: EINVALID (a stage), ENOTFOUND (model).
	LatestModelVersions(ctx context.Context, ws, name string, stages []string) ([]*ModelVersion, error)

	// CreateModelVersion stores the next version of a model from v
	// (Workspace, Name, Source, RunID, RunLink, Description, Tags, ModelID,
	// StorageLocation), setting Version (one more than the highest number
	// the model ever gave), CreatedAt, UpdatedAt, UserID, Stage (None) and
	// Status (READY); the model's UpdatedAt moves. A source naming a
	// registered version (models:/name/1, models:/name@alias, …) gets that
	// version's download URI as StorageLocation, as MLflow 3.x does.
	// Errors: EINVALID (source rules of ValidateModelVersionSource, tags,
	// lengths, a models:/ source that does not resolve), ENOTFOUND (model).
	CreateModelVersion(ctx context.Context, v *ModelVersion) error
	// ModelVersion returns one version with its tags and aliases.
	// Errors: EINVALID (version not an integer), ENOTFOUND.
	ModelVersion(ctx context.Context, ws, name, version string) (*ModelVersion, error)
	// UpdateModelVersion sets a version's description ("" clears it).
	// Errors: EINVALID, ENOTFOUND.
	UpdateModelVersion(ctx context.Context, ws, name, version, description string) (*ModelVersion, error)
	// DeleteModelVersion deletes a version with its tags and the aliases
	// pointing at it; its number is not given again. The model's UpdatedAt
	// moves. Errors: EINVALID, ENOTFOUND.
	DeleteModelVersion(ctx context.Context, ws, name, version string) error
	// SearchModelVersions returns one page of the workspace's versions that
	// match q.Filter (name, source_path with = != LIKE ILIKE; run_id also
	// IN; version_number with = != < <= > >=; tags.<key> with = != LIKE
	// ILIKE), ordered by q.OrderBy (name, version_number,
	// creation_timestamp, last_updated_timestamp; by default
	// last_updated_timestamp DESC; then name ASC, version_number DESC), each
	// with its tags and aliases. MaxResults defaults to
	// DefaultModelVersionSearchResults, at most MaxModelVersionSearchResults.
	// Errors: EINVALID (filter, order_by, max_results, page token),
	// ENOTFOUND (workspace).
	SearchModelVersions(ctx context.Context, ws string, q ModelSearch) (*Page[*ModelVersion], error)
	// SetModelVersionTag sets a tag of a version, replacing its value.
	// Errors: EINVALID (key, value, version), ENOTFOUND.
	SetModelVersionTag(ctx context.Context, ws, name, version, key, value string) error
	// DeleteModelVersionTag deletes a tag of a version; a tag that is not
	// there is no error (MLflow). Errors: EINVALID, ENOTFOUND (version).
	DeleteModelVersionTag(ctx context.Context, ws, name, version, key string) error
	// TransitionModelVersionStage moves a version to a stage (any case).
	// With archiveExisting, the model's other versions in that stage move
	// to Archived first; only Staging and Production allow it. The version's
	// and the model's UpdatedAt move. Errors: EINVALID (stage, archiving to
	// a stage that is not Staging or Production — a 500 in MLflow),
	// ENOTFOUND.
	TransitionModelVersionStage(ctx context.Context, ws, name, version, stage string, archiveExisting bool) (*ModelVersion, error)
	// ModelVersionDownloadURI returns where a version's files are read from
	// (ModelVersion.DownloadURI). Errors: EINVALID, ENOTFOUND.
	ModelVersionDownloadURI(ctx context.Context, ws, name, version string) (string, error)
	// ResolveModelURI returns the version a models:/ URI names:
	// models:/name/3 that version, models:/name@alias the alias's,
	// models:/name/<stage> the highest version in the stage,
	// models:/name/latest the highest version. Errors: EINVALID (not a
	// registry models:/ URI — ParseModelURI —, a bad stage, a missing
	// alias), ENOTFOUND (model, version, or no version in the stage).
	ResolveModelURI(ctx context.Context, ws, uri string) (*ModelVersion, error)
}

// ValidateRegisteredModelName checks a registered model name: not empty
// (MLflow's only rule), at most MaxModelNameLength characters, valid text,
// and without '/', which no models:/ URI could name (MLflow accepts it,
// and such a model then cannot be loaded by URI). Errors: EINVALID.
func ValidateRegisteredModelName(name string) error {
	if name == "" {
		return Errorf(EINVALID, "Registered model name cannot be empty.")
	}
	if err := ValidateText("registered model name", name, len(name)); err != nil {
		return err
	}
	if n := utf8.RuneCountInString(name); n > MaxModelNameLength {
		return Errorf(EINVALID, "Registered model name '%s' had length %d, which exceeded length limit of %d", clipRunes(name, 250), n, MaxModelNameLength)
	}
	if strings.Contains(name, "/") {
		return Errorf(EINVALID, "Invalid registered model name: '%s'. A name must not contain '/': models:/<name>/<version> URIs could not name the model.", name)
	}
	return nil
}

// ValidateNewModelName checks the new name of a rename: MLflow's message
// for an empty one names the new_name field. Errors: EINVALID.
func ValidateNewModelName(name string) error {
	if name == "" {
		return Errorf(EINVALID, "Missing value for required parameter 'new_name'.")
	}
	return ValidateRegisteredModelName(name)
}

var (
	// MLflow's _REGISTERED_MODEL_ALIAS_REGEX ^[\w\-]*$, with Python's
	// Unicode \w: letters, digits and numeric characters of any script, and _.
	modelAliasRE = regexp.MustCompile(`^[\p{L}\p{N}_\-]*$`)
	// _REGISTERED_MODEL_ALIAS_VERSION_REGEX ^[vV]\d+$ (\d: any decimal digit).
	modelVersionAliasRE = regexp.MustCompile(`^[vV]\p{Nd}+$`)
)

// ValidateModelAlias applies MLflow's alias rules: not empty, only letters,
// digits, '_' and '-', at most MaxModelAliasLength characters, not
// "latest" in any case (models:/name/latest means the newest version) and
// not v<digits> (reserved for versions). Errors: EINVALID with MLflow's
// messages.
func ValidateModelAlias(alias string) error {
	if alias == "" {
		return Errorf(EINVALID, "Registered model alias name cannot be empty.")
	}
	if !utf8.ValidString(alias) || !modelAliasRE.MatchString(alias) {
		return Errorf(EINVALID, "Invalid alias name: '%s'. Names may only contain alphanumerics, underscores (_), and dashes (-).", strings.ToValidUTF8(alias, "\uFFFD"))
	}
	if n := utf8.RuneCountInString(alias); n > MaxModelAliasLength {
		return Errorf(EINVALID, "Registered model alias name '%s' had length %d, which exceeded length limit of %d", clipRunes(alias, 250), n, MaxModelAliasLength)
	}
	if strings.EqualFold(alias, "latest") {
		return Errorf(EINVALID, "'latest' alias name (case insensitive) is reserved.")
	}
	if modelVersionAliasRE.MatchString(alias) {
		return Errorf(EINVALID, "Version alias name '%s' is reserved.", alias)
	}
	return nil
}

// MLflow's tag name rule (validate_param_and_metric_name), with Python's
// Unicode \w. The colon is MLflow 3.x's (allowed on every server but
// Windows); 2.x refused it, and accepting it costs a 2.x client nothing.
var modelTagKeyRE = regexp.MustCompile(`^[/\p{L}\p{N}_.\- :]*$`)

// ValidateRegisteredModelTag checks a registered model tag: MLflow's tag
// name rules and limits (key ≤ MaxModelTagKeyLength, value ≤
// MaxModelTagValueLength characters, 2.x's messages). Errors: EINVALID.
func ValidateRegisteredModelTag(key, value string) error {
	return validateRegistryTag("Registered model", key, value)
}

// ValidateModelVersionTag checks a model version tag, as
// ValidateRegisteredModelTag does. Errors: EINVALID.
func ValidateModelVersionTag(key, value string) error {
	return validateRegistryTag("Model version", key, value)
}

// ValidateModelTagKey checks the key of a registry tag alone, as deleting
// a tag does (MLflow's _validate_tag_name). Errors: EINVALID.
func ValidateModelTagKey(key string) error {
	if err := ValidateText("tag key", key, len(key)); err != nil {
		return err
	}
	if !modelTagKeyRE.MatchString(key) {
		return Errorf(EINVALID, "Invalid tag name: '%s'. Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colons (:) and slashes (/).", key)
	}
	// posixpath.normpath rule (path_not_unique): tag keys may become file
	// names, so one must not name another (a/../b) or escape (../x, /x).
	norm := path.Clean(key)
	if norm != key || norm == "." || strings.HasPrefix(norm, "..") || strings.HasPrefix(norm, "/") {
		return Errorf(EINVALID, "Invalid tag name: '%s'. Names may be treated as files in certain cases, and must not resolve to other names when treated as such. This name would resolve to '%s'", key, norm)
	}
	return nil
}

func validateRegistryTag(entity, key, value string) error {
	if err := ValidateModelTagKey(key); err != nil {
		return err
	}
	if n := utf8.RuneCountInString(key); n > MaxModelTagKeyLength {
		return Errorf(EINVALID, "%s key '%s' had length %d, which exceeded length limit of %d", entity, clipRunes(key, 250), n, MaxModelTagKeyLength)
	}
	if err := ValidateText("tag value", value, len(value)); err != nil {
		return err
	}
	if n := utf8.RuneCountInString(value); n > MaxModelTagValueLength {
		return Errorf(EINVALID, "%s value '%s' had length %d, which exceeded length limit of %d", entity, clipRunes(value, 250), n, MaxModelTagValueLength)
	}
	return nil
}

// ValidateModelDescription checks the description of a model or version
// (at most MaxModelDescriptionLength characters). Errors: EINVALID.
func ValidateModelDescription(desc string) error {
	return validateModelField("description", desc, MaxModelDescriptionLength)
}

// validateModelField checks a free-text field against a character limit.
func validateModelField(field, s string, limit int) error {
	if err := ValidateText(field, s, len(s)); err != nil {
		return err
	}
	if n := utf8.RuneCountInString(s); n > limit {
		return Errorf(EINVALID, "'%s' exceeds the maximum length of %d characters (got %d)", field, limit, n)
	}
	return nil
}

// clipRunes returns the first n characters of s, as MLflow's messages
// quote value[:250].
func clipRunes(s string, n int) string {
	for i := range s {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
}

// ParseModelVersion reads a model version number ("3"; surrounding spaces
// and a sign are taken, as Python's int() does). Errors: EINVALID with
// MLflow 2.x's message.
func ParseModelVersion(v string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || !utf8.ValidString(v) {
		return 0, Errorf(EINVALID, "Model version must be an integer, got '%s'", strings.ToValidUTF8(v, "\uFFFD"))
	}
	return n, nil
}

// CanonicalStage returns the stage's canonical spelling ("production" →
// "Production"). Errors: EINVALID with MLflow 3.x's message, which names
// the valid stages (2.x said only "Invalid Model Version stage X.").
func CanonicalStage(stage string) (string, error) {
	stages := ModelVersionStages()
	for _, s := range stages {
		if strings.EqualFold(stage, s) {
			return s, nil
		}
	}
	return "", Errorf(EINVALID, "Invalid Model Version stage: %s. Value must be one of %s.", strings.ToValidUTF8(stage, "\uFFFD"), strings.Join(stages, ", "))
}

// CheckArchiveExisting checks transition-stage's archive_existing_versions
// against the target stage: archiving the other versions is allowed only
// when moving to Staging or Production. Errors: EINVALID with MLflow's
// message (MLflow answers it with a 500).
func CheckArchiveExisting(stage string, archiveExisting bool) error {
	canon, err := CanonicalStage(stage)
	if err != nil {
		return err
	}
	if archiveExisting && canon != StageStaging && canon != StageProduction {
		return Errorf(EINVALID, "Model version transition cannot archive existing model versions because '%s' is not an Active stage. Valid stages are ['Staging', 'Production']", stage)
	}
	return nil
}

// Validate checks the fields of a version a client supplies to
// CreateModelVersion: the model name, the source (ValidateModelVersionSource),
// the run id, run link, model id and description lengths, and the tags.
// Errors: EINVALID.
func (v *ModelVersion) Validate() error {
	if err := ValidateRegisteredModelName(v.Name); err != nil {
		return err
	}
	if err := ValidateModelVersionSource(v.Source); err != nil {
		return err
	}
	for _, f := range []struct {
		name, value string
		limit       int
	}{
		{"run_id", v.RunID, MaxModelRunIDLength},
		{"run_link", v.RunLink, MaxModelRunLinkLength},
		{"model_id", v.ModelID, MaxModelIDLength},
		{"storage_location", v.StorageLocation, MaxModelSourceLength},
		{"description", v.Description, MaxModelDescriptionLength},
	} {
		if err := validateModelField(f.name, f.value, f.limit); err != nil {
			return err
		}
	}
	for k, val := range v.Tags {
		if err := ValidateModelVersionTag(k, val); err != nil {
			return err
		}
	}
	return nil
}

// Validate checks the fields of a model a client supplies to
// CreateRegisteredModel: name, description and tags. Errors: EINVALID.
func (m *RegisteredModel) Validate() error {
	if err := ValidateRegisteredModelName(m.Name); err != nil {
		return err
	}
	if err := ValidateModelDescription(m.Description); err != nil {
		return err
	}
	for k, val := range m.Tags {
		if err := ValidateRegisteredModelTag(k, val); err != nil {
			return err
		}
	}
	return nil
}

// ValidateModelVersionSource applies MLflow's create-model-version source
// rules (server handlers _validate_source and
// _validate_non_local_source_contains_relative_paths), in the stricter form
// of MLflow 2.1x+, which also finds ".." hidden behind an encoded '#'
// (CVE-2024-1558):
//
//   - a local path (no scheme, or file: on this host) is refused: MLflow
//     takes one only inside the local artifact directory of the given run,
//     and Hangar's runs have none (their artifacts are mlflow-artifacts:/);
//   - any other file: URI is refused (MLflow's
//     MLFLOW_ALLOW_FILE_URI_AS_MODEL_VERSION_SOURCE switch has no Hangar
//     counterpart);
//   - after percent-decoding until nothing changes, the source must hold no
//     NUL and no ".." segment (split at '/' and, stricter than MLflow, '\'),
//     and its URL path must be absolute and already normal (no "." or
//     "..", no trailing '/'; repeated slashes count as one).
//
// The source must also be non-empty valid text of at most
// MaxModelSourceLength characters. Errors: EINVALID with MLflow's messages.
func ValidateModelVersionSource(source string) error {
	if source == "" {
		return Errorf(EINVALID, "Missing value for required parameter 'source'.")
	}
	if err := validateModelField("source", source, MaxModelSourceLength); err != nil {
		return err
	}
	u := splitSourceURL(source)
	switch {
	case u.scheme == "":
		return Errorf(EINVALID, "Invalid model version source: '%s'. To use a local path as a model version source, the run_id request parameter has to be specified and the local path has to be contained within the artifact directory of the run specified by the run_id.", source)
	case u.scheme == "file":
		if h := sourceHostname(u.netloc); h == "" || h == "." || strings.HasPrefix(h, "localhost") || strings.HasPrefix(h, "127.0.0.1") {
			return Errorf(EINVALID, "Invalid model version source: '%s'. To use a local path as a model version source, the run_id request parameter has to be specified and the local path has to be contained within the artifact directory of the run specified by the run_id.", source)
		}
		return Errorf(EINVALID, "Invalid model version source: '%s'. MLflow tracking server doesn't allow using a file URI as a model version source for security reasons. To disable this check, set the MLFLOW_ALLOW_FILE_URI_AS_MODEL_VERSION_SOURCE environment variable to True.", source)
	}
	bad := Errorf(EINVALID, "Invalid model version source: '%s'. If supplying a source as an http, https, local file path, ftp, objectstore, or mlflow-artifacts uri, an absolute path must be provided without relative path references present. Please provide an absolute path.", source)
	decoded := source
	for range len(source) + 1 { // every change shortens the text, so this ends
		next := unquotePlus(decoded)
		if next == decoded {
			break
		}
		decoded = next
	}
	if strings.IndexByte(decoded, 0) >= 0 {
		return bad
	}
	for _, seg := range strings.FieldsFunc(decoded, func(r rune) bool { return r == '/' || r == '\\' }) {
		if seg == ".." {
			return bad
		}
	}
	p := splitSourceURL(decoded).path
	for strings.Contains(p, "//") {
		p = strings.ReplaceAll(p, "//", "/")
	}
	p = strings.TrimRight(p, "/")
	// pathlib.Path(p).resolve() must give p back: an empty or relative
	// path resolves against the server's working directory and never does.
	if !strings.HasPrefix(p, "/") || path.Clean(p) != p {
		return bad
	}
	return nil
}

// sourceURL is the part of Python's urllib.parse.urlparse that the source
// rules use.
type sourceURL struct {
	scheme, netloc, path string
}

// splitSourceURL splits a URL as urlparse does: a scheme is letters,
// digits, '+', '-' and '.' before the first ':', starting with a letter
// (lower-cased); "//" then starts the network location, which runs to the
// next '/', '?' or '#'; the path runs to the next '?' or '#'.
func splitSourceURL(s string) sourceURL {
	var u sourceURL
	if i := strings.IndexByte(s, ':'); i > 0 && isASCIILetter(s[0]) {
		ok := true
		for j := 0; j < i; j++ {
			c := s[j]
			if !isASCIILetter(c) && !('0' <= c && c <= '9') && c != '+' && c != '-' && c != '.' {
				ok = false
				break
			}
		}
		if ok {
			u.scheme, s = strings.ToLower(s[:i]), s[i+1:]
		}
	}
	if strings.HasPrefix(s, "//") {
		s = s[2:]
		end := strings.IndexAny(s, "/?#")
		if end < 0 {
			end = len(s)
		}
		u.netloc, s = s[:end], s[end:]
	}
	if end := strings.IndexAny(s, "?#"); end >= 0 {
		s = s[:end]
	}
	u.path = s
	return u
}

// sourceHostname is urlparse's hostname: the network location without
// user information and port, lower-cased.
func sourceHostname(netloc string) string {
	if i := strings.LastIndexByte(netloc, '@'); i >= 0 {
		netloc = netloc[i+1:]
	}
	if strings.HasPrefix(netloc, "[") {
		if i := strings.IndexByte(netloc, ']'); i >= 0 {
			return strings.ToLower(netloc[1:i])
		}
	}
	if i := strings.IndexByte(netloc, ':'); i >= 0 {
		netloc = netloc[:i]
	}
	return strings.ToLower(netloc)
}

func isASCIILetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// unquotePlus decodes as Python's urllib.parse.unquote_plus: '+' is a
// space and %XX a byte; a '%' not followed by two hex digits stays as it is.
func unquotePlus(s string) string {
	if !strings.ContainsAny(s, "%+") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '+':
			b.WriteByte(' ')
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

// ModelURI is a parsed models:/ URI. Exactly one of Version, Alias, Stage,
// Latest or ModelID is set.
type ModelURI struct {
	Name    string // the registered model; empty for ModelID
	Version string // models:/name/3
	Alias   string // models:/name@champion
	Stage   string // models:/name/Production, as written (any case)
	Latest  bool   // models:/name/latest (any case)
	// ModelID is set for models:/<model_id>, MLflow 3.x's URI of a logged
	// model rather than a registered version.
	ModelID string
}

// ParseModelURI parses a models:/ URI as MLflow's client does
// (_parse_model_uri): models:/<name>/<suffix>, where the suffix is a
// version (digits), "latest" or a stage, or models:/<name>@<alias> (the
// last '@' splits). A query string is ignored. One more segment, an empty
// name, suffix or alias, or a network location (models://…) is refused.
// models:/<id> without '@' is MLflow 3.x's logged model URI (ModelID).
// Errors: EINVALID with MLflow's message.
func ParseModelURI(uri string) (ModelURI, error) {
	bad := Errorf(EINVALID, "Not a proper models:/ URI: %s. Models URIs must be of the form 'models:/model_name/suffix' or 'models:/model_name@alias' where suffix is a model version, stage, or the string 'latest' and where alias is a registered model alias. Only one of suffix or alias can be defined at a time.", strings.ToValidUTF8(uri, "\uFFFD"))
	if !utf8.ValidString(uri) || strings.IndexByte(uri, 0) >= 0 {
		return ModelURI{}, bad
	}
	rest, ok := cutPrefixFold(uri, "models:")
	if !ok || !strings.HasPrefix(rest, "/") || strings.HasPrefix(rest, "//") {
		return ModelURI{}, bad
	}
	if i := strings.IndexByte(rest, '?'); i >= 0 {
		rest = rest[:i]
	}
	parts := strings.Split(strings.TrimLeft(rest, "/"), "/")
	if len(parts) > 2 || strings.TrimSpace(parts[0]) == "" {
		return ModelURI{}, bad
	}
	if len(parts) == 2 {
		name, suffix := parts[0], parts[1]
		switch {
		case strings.TrimSpace(suffix) == "":
			return ModelURI{}, bad
		case isASCIIDigits(suffix):
			return ModelURI{Name: name, Version: suffix}, nil
		case strings.EqualFold(suffix, "latest"):
			return ModelURI{Name: name, Latest: true}, nil
		}
		return ModelURI{Name: name, Stage: suffix}, nil
	}
	i := strings.LastIndexByte(parts[0], '@')
	if i < 0 {
		return ModelURI{ModelID: parts[0]}, nil
	}
	name, alias := parts[0][:i], parts[0][i+1:]
	if strings.TrimSpace(alias) == "" || name == "" {
		return ModelURI{}, bad
	}
	return ModelURI{Name: name, Alias: alias}, nil
}

// String returns the URI in canonical form.
func (u ModelURI) String() string {
	switch {
	case u.ModelID != "":
		return "models:/" + u.ModelID
	case u.Alias != "":
		return "models:/" + u.Name + "@" + u.Alias
	case u.Version != "":
		return "models:/" + u.Name + "/" + u.Version
	case u.Stage != "":
		return "models:/" + u.Name + "/" + u.Stage
	}
	return "models:/" + u.Name + "/latest"
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

func isASCIIDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
