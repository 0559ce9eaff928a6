package hangar

// Environments and command components: versioned, immutable definitions of
// where a step runs and what it runs (Azure ML's environment and command
// component assets, reference/azureml.md §2.5, §2.6, §4.1). A version is
// never changed once created, only archived (hidden from lists and from
// @latest, still usable by name and version) and restored. Each version
// carries a content hash of its defining fields, so that identical
// definitions are recognized: creating a version without an explicit
// version whose hash equals the latest (not archived) version's returns that version
// instead of adding an identical one (as Azure does for anonymous
// environments and components); an explicit version is always created, or
// refused (ECONFLICT) when it exists.

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"time"
)

// Limits of environments and components.
const (
	MaxEnvironmentImageLength = 1024      // bytes of an image reference
	MaxCondaFileSize          = 256 << 10 // bytes of a conda environment file
	MaxComponentSpecSize      = 1 << 20   // bytes of a component's normalized spec
	MaxAssetDescriptionLength = 4096      // bytes of a description, as a workspace's
	MaxAssetDisplayNameLength = 256       // bytes of a display name, as a workspace's
	MaxEnvironmentVariables   = 100       // variables of an environment
	MaxEnvironmentVariableLen = 32 << 10  // bytes of one variable's value
	maxEnvironmentVarNameLen  = 256
	maxEnvComponentVersionLen = 64
)

// Environment is one immutable version of a named environment of a
// workspace: a Docker image, a conda file built on top of it, or a build
// context (a manifest of the context's files in the blob store).
type Environment struct {
	Workspace string `json:"workspace"`
	Name      string `json:"name"`
	// Version is the version's label: given by the creator, or the next
	// number (the highest numeric version of the name plus one) when not.
	Version string `json:"version"`
	Image   string `json:"image,omitempty"`
	// CondaFile is the content of the conda environment file (YAML text).
	CondaFile string `json:"conda_file,omitempty"`
	// BuildContext is the manifest digest of the Docker build context, which
	// the workspace must own; empty for none.
	BuildContext Digest `json:"build_context,omitempty"`
	// DockerfilePath is the Dockerfile's path in the build context; empty
	// for Azure's default, "Dockerfile". Only with a build context.
	DockerfilePath string `json:"dockerfile_path,omitempty"`
	// Variables are environment variables a step run in the environment
	// gets (the YAML's environment_variables), by name.
	Variables   map[string]string `json:"variables,omitempty"`
	Description string            `json:"description,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
	// Hash is EnvironmentHash of the version, set by the store.
	Hash      string    `json:"hash"`
	Archived  bool      `json:"archived"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	// Existing is set on the version CreateEnvironment returned when it created
	// nothing: no version was given and the latest version not archived
	// had the same hash. It is not stored.
	Existing bool `json:"existing,omitempty"`
}

// EnvironmentService stores environment versions.
type EnvironmentService interface {
	// CreateEnvironment stores a new version of e.Name in e.Workspace and
	// returns it, with Version (when empty), Hash, CreatedBy and CreatedAt
	// set. Without a version, when the latest version not archived has the
	// same hash, that version is returned and nothing is created. Errors:
	// EINVALID (Validate), ENOTFOUND (workspace, or a build context the
	// workspace does not own), ECONFLICT (the version exists).
	CreateEnvironment(ctx context.Context, e *Environment) (*Environment, error)
	// Environment returns a version, archived or not. Errors: ENOTFOUND,
	// EINVALID.
	Environment(ctx context.Context, workspace, name, version string) (*Environment, error)
	// LatestEnvironment returns the most recently created version of the
	// name that is not archived. Errors: ENOTFOUND, EINVALID.
	LatestEnvironment(ctx context.Context, workspace, name string) (*Environment, error)
	// ListEnvironments lists the names that have a version not archived,
	// each as its latest such version, ordered by name.
	ListEnvironments(ctx context.Context, workspace string, opt ListOptions) (*Page[*Environment], error)
	// ListEnvironmentVersions lists the versions of a name, newest first,
	// archived ones only when includeArchived. A name without versions has
	// an empty list.
	ListEnvironmentVersions(ctx context.Context, workspace, name string, includeArchived bool, opt ListOptions) (*Page[*Environment], error)
	// SetEnvironmentArchived archives or restores a version and returns it.
	// Errors: ENOTFOUND, EINVALID.
	SetEnvironmentArchived(ctx context.Context, workspace, name, version string, archived bool) (*Environment, error)
}

// Validate checks the fields a client supplies: the workspace, the name
// (ValidateName), the version when given, at least an image or a build
// context, the text fields' limits, a conda file only on top of an image,
// the build context digest, the variables (ValidateEnvironmentVariables)
// and the tags.
func (e *Environment) Validate() error {
	if err := ValidateWorkspaceName(e.Workspace); err != nil {
		return err
	}
	if err := ValidateName("environment", e.Name); err != nil {
		return err
	}
	if e.Version != "" {
		if err := ValidateEnvComponentVersion("environment", e.Version); err != nil {
			return err
		}
	}
	if e.Image == "" && e.BuildContext == "" {
		return Errorf(EINVALID, "environment %q: give an image or a build context", e.Name)
	}
	if e.Image != "" && e.BuildContext != "" {
		return Errorf(EINVALID, "environment %q: give an image or a build context, not both", e.Name)
	}
	if e.CondaFile != "" && e.Image == "" {
		return Errorf(EINVALID, "environment %q: a conda file needs an image to be built on", e.Name)
	}
	if err := ValidateText("image", e.Image, MaxEnvironmentImageLength); err != nil {
		return err
	}
	if err := ValidateText("conda file", e.CondaFile, MaxCondaFileSize); err != nil {
		return err
	}
	if e.BuildContext != "" {
		if _, err := ParseDigest(string(e.BuildContext)); err != nil {
			return Errorf(EINVALID, "environment %q: build context: %v", e.Name, err)
		}
	}
	if e.DockerfilePath != "" {
		if e.BuildContext == "" {
			return Errorf(EINVALID, "environment %q: a Dockerfile path needs a build context", e.Name)
		}
		if err := ValidateManifestPath(e.DockerfilePath); err != nil {
			return Errorf(EINVALID, "environment %q: Dockerfile path: %s", e.Name, ErrorMessage(err))
		}
	}
	if err := ValidateText("description", e.Description, MaxAssetDescriptionLength); err != nil {
		return err
	}
	if err := ValidateEnvironmentVariables(e.Variables); err != nil {
		return Errorf(EINVALID, "environment %q: %s", e.Name, ErrorMessage(err))
	}
	return validateTags(e.Tags)
}

var envVarNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// ValidateEnvironmentVariables checks environment variables: at most
// MaxEnvironmentVariables, each named as a POSIX shell variable (a letter
// or '_', then letters, digits or '_'; at most 256 bytes) and with a value
// of at most MaxEnvironmentVariableLen bytes of UTF-8 without NUL, which
// no process environment can carry.
func ValidateEnvironmentVariables(vars map[string]string) error {
	if len(vars) > MaxEnvironmentVariables {
		return Errorf(EINVALID, "%d environment variables; the limit is %d", len(vars), MaxEnvironmentVariables)
	}
	for _, k := range slices.Sorted(maps.Keys(vars)) {
		if len(k) > maxEnvironmentVarNameLen || !envVarNameRE.MatchString(k) {
			return Errorf(EINVALID, "environment variable name %q: use a letter or _, then letters, digits or _ (at most %d bytes)", clipValue(k), maxEnvironmentVarNameLen)
		}
		if err := ValidateText("environment variable "+k, vars[k], MaxEnvironmentVariableLen); err != nil {
			return err
		}
	}
	return nil
}

// EnvironmentHash is the content hash of an environment's definition:
// "sha256:" and the hex SHA-256 of a canonical encoding of the image, the
// conda file, the build context digest, the Dockerfile path and the
// variables (each name and value, by name), each length-prefixed after a
// format label. Identical definitions have the same hash whatever their
// name, version, description or tags. An environment without variables
// and Dockerfile path hashes as before those existed (format
// hangar-environment-v1), so the versions stored then are still
// recognized.
func EnvironmentHash(e *Environment) string {
	if len(e.Variables) == 0 && e.DockerfilePath == "" {
		return contentHash("hangar-environment-v1", e.Image, e.CondaFile, string(e.BuildContext))
	}
	fields := []string{e.Image, e.CondaFile, string(e.BuildContext), e.DockerfilePath}
	for _, k := range slices.Sorted(maps.Keys(e.Variables)) {
		fields = append(fields, k, e.Variables[k])
	}
	return contentHash("hangar-environment-v2", fields...)
}

// contentHash hashes a label and fields, each prefixed with its length in
// 8 bytes big-endian, so no two field lists encode alike.
func contentHash(label string, fields ...string) string {
	h := sha256.New()
	var n [8]byte
	for _, f := range append([]string{label}, fields...) {
		binary.BigEndian.PutUint64(n[:], uint64(len(f)))
		h.Write(n[:])
		h.Write([]byte(f))
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

var envComponentVersionRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// ValidateEnvComponentVersion checks a version label of an environment or
// component (kind): 1 to 64 letters, digits, '.', '-' or '_', starting
// with a letter or digit.
func ValidateEnvComponentVersion(kind, v string) error {
	if !envComponentVersionRE.MatchString(v) {
		return Errorf(EINVALID, "invalid %s version %q: use 1 to %d letters, digits, '.', '-' or '_', starting with a letter or digit", kind, clipValue(v), maxEnvComponentVersionLen)
	}
	return nil
}

// EnvComponentVersionNumber returns the number a version label is, for
// auto-numbering: a label of decimal digits only, without a leading zero,
// that fits an int64. Other labels ("1.0", "v2", "007") are not numbers.
func EnvComponentVersionNumber(v string) (int64, bool) {
	if v == "" || (v[0] == '0' && v != "0") {
		return 0, false
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, false
	}
	return n, true
}
