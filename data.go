package hangar

// Data assets and datastores, after Azure ML (data.schema.json, az ml data
// and az ml datastore). A data asset is a name with immutable versions;
// each version pins a location — a path on a named datastore, or content
// uploaded to the workspace's default datastore and named by the digest of
// its manifest (manifest.go) — and the hash of that content. A datastore
// names where data lives: every workspace has the default one,
// workspaceblobstore (Azure's name for it), which is the artifact store;
// named ones are folders on the server's host (type local).

import (
	"context"
	"encoding/json"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The types of data asset (data.schema.json's type).
const (
	DataURIFile   = "uri_file"   // one file
	DataURIFolder = "uri_folder" // a folder: the default
	DataMLTable   = "mltable"    // a folder holding an MLTable file
)

// The types of datastore.
const (
	// DatastoreArtifactStore is the type of the default datastore: the
	// server's content-addressed artifact store (BlobStore).
	DatastoreArtifactStore = "artifact_store"
	// DatastoreLocal is a folder on the server's host.
	DatastoreLocal = "local"
)

// DefaultDatastore is the datastore every workspace has, named as Azure ML
// names its default one. It is the artifact store: uploaded data lives
// there, named by digest. It cannot be created, changed or deleted.
const DefaultDatastore = "workspaceblobstore"

// LatestLabel is the one label data references may carry (name@latest):
// the most recently created version that is not archived.
const LatestLabel = "latest"

// Limits of data assets and datastores.
const (
	MaxDataVersionLength     = 100     // bytes of a version string
	MaxDataDescriptionLength = 4096    // bytes, as a workspace's description
	MaxDataProfileSize       = 1 << 20 // bytes of a profile's JSON text
	MaxDataPathLength        = 4096    // bytes of a path or datastore root
)

// Datastore is where a workspace's data lives.
type Datastore struct {
	Workspace   string            `json:"workspace"`
	Name        string            `json:"name"`
	Type        string            `json:"type"`           // DatastoreLocal or DatastoreArtifactStore
	Root        string            `json:"root,omitempty"` // the absolute folder of a local datastore
	Description string            `json:"description,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
	CreatedAt   time.Time         `json:"created_at"`
	CreatedBy   string            `json:"created_by,omitempty"`
}

// Validate checks the fields a client supplies: the name (ValidateName, and
// not DefaultDatastore, which exists already: ECONFLICT), the type (only
// local datastores are created), an absolute, clean root, the description
// and tags. Errors: EINVALID, ECONFLICT.
func (d *Datastore) Validate() error {
	if err := ValidateName("datastore", d.Name); err != nil {
		return err
	}
	if d.Name == DefaultDatastore {
		return Errorf(ECONFLICT, "datastore %q already exists: it is the workspace's default datastore", d.Name)
	}
	if d.Type != DatastoreLocal {
		return Errorf(EINVALID, "invalid datastore type %q: want %q (the default datastore %q is the artifact store)", d.Type, DatastoreLocal, DefaultDatastore)
	}
	if err := ValidateText("root", d.Root, MaxDataPathLength); err != nil {
		return err
	}
	if !filepath.IsAbs(d.Root) || filepath.Clean(d.Root) != d.Root {
		return Errorf(EINVALID, "invalid datastore root %q: want an absolute, clean folder path", d.Root)
	}
	if err := ValidateText("description", d.Description, MaxDataDescriptionLength); err != nil {
		return err
	}
	return validateTags(d.Tags)
}

// DataAsset is one version of a data asset.
type DataAsset struct {
	Workspace string `json:"workspace"`
	Name      string `json:"name"`
	// Version is a string, as Azure's; the store numbers versions created
	// without one (DataVersionNumber).
	Version string `json:"version"`
	Type    string `json:"type"` // DataURIFile, DataURIFolder or DataMLTable
	// Path is where the data is: azureml://datastores/<ds>/paths/<p> on a
	// named datastore, or the digest of the manifest of content uploaded to
	// the default datastore (then equal to Manifest.Digest).
	Path string `json:"path"`
	// Manifest is the blob of the manifest that lists the version's files:
	// its digest is the content hash (identical content, identical digest).
	// It may be empty only for a path on a named datastore that was not
	// hashed. The version owns the blob in its workspace.
	Manifest  BlobInfo `json:"manifest"`
	Size      int64    `json:"size"`       // bytes of all files
	FileCount int64    `json:"file_count"` // files of the manifest
	// Description and Tags are the client's.
	Description string            `json:"description,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
	// Profile is the JSON text of the data's profile (package profile), or
	// empty: the store keeps it as it is.
	Profile   string    `json:"profile,omitempty"`
	Archived  bool      `json:"archived"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by,omitempty"`
}

// Datastore returns the datastore the version's data lives on.
func (a *DataAsset) Datastore() string {
	if ds, _, err := ParseDatastoreURI(a.Path); err == nil {
		return ds
	}
	return DefaultDatastore
}

// Validate checks the fields a client supplies: the name (ValidateName),
// the version when given (ValidateDataVersion), the type, the path (a
// datastore URI on a named datastore, or the manifest's digest), the
// manifest, sizes and counts (a uri_file has one file), the description,
// tags and profile. Errors: EINVALID.
func (a *DataAsset) Validate() error {
	if err := ValidateName("data asset", a.Name); err != nil {
		return err
	}
	if a.Version != "" {
		if err := ValidateDataVersion(a.Version); err != nil {
			return err
		}
	}
	switch a.Type {
	case DataURIFile, DataURIFolder, DataMLTable:
	default:
		return Errorf(EINVALID, "invalid data asset type %q: want %s, %s or %s", a.Type, DataURIFile, DataURIFolder, DataMLTable)
	}
	hashed := a.Manifest.Digest != ""
	if hashed {
		if _, err := ParseDigest(string(a.Manifest.Digest)); err != nil {
			return err
		}
		if a.Manifest.Size <= 0 {
			return Errorf(EINVALID, "invalid manifest size %d: a manifest blob is never empty", a.Manifest.Size)
		}
	}
	switch {
	case strings.HasPrefix(a.Path, "azureml:"):
		ds, _, err := ParseDatastoreURI(a.Path)
		if err != nil {
			return err
		}
		if ds == DefaultDatastore {
			return Errorf(EINVALID, "invalid path %q: content on the default datastore %s is named by its digest, not by a path", a.Path, DefaultDatastore)
		}
	case a.Path == "":
		return Errorf(EINVALID, "path is required: azureml://datastores/<datastore>/paths/<path> or the digest of uploaded content")
	default:
		if _, err := ParseDigest(a.Path); err != nil {
			return Errorf(EINVALID, "invalid path %q: want azureml://datastores/<datastore>/paths/<path> or the digest of uploaded content (sha256:<64 hex digits>)", a.Path)
		}
		if Digest(a.Path) != a.Manifest.Digest {
			return Errorf(EINVALID, "path %s names uploaded content, but the manifest digest is %q: they must be equal", a.Path, a.Manifest.Digest)
		}
	}
	switch {
	case a.Size < 0:
		return Errorf(EINVALID, "invalid size %d: must not be negative", a.Size)
	case a.FileCount < 0:
		return Errorf(EINVALID, "invalid file count %d: must not be negative", a.FileCount)
	case !hashed && (a.Size != 0 || a.FileCount != 0):
		return Errorf(EINVALID, "size and file count come from the manifest: give its digest and size too")
	case hashed && a.Type == DataURIFile && a.FileCount != 1:
		return Errorf(EINVALID, "a %s data asset holds one file, not %d", DataURIFile, a.FileCount)
	}
	if err := ValidateText("description", a.Description, MaxDataDescriptionLength); err != nil {
		return err
	}
	if err := validateTags(a.Tags); err != nil {
		return err
	}
	return ValidateDataProfile(a.Profile)
}

var dataVersionRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*$`)

// ValidateDataVersion checks a version string: 1 to MaxDataVersionLength
// letters, digits, '_', '.' or '-', starting with a letter, digit or '_'
// (the rule jobspec's references apply), and not the label "latest".
// Errors: EINVALID.
func ValidateDataVersion(v string) error {
	if len(v) > MaxDataVersionLength || !dataVersionRE.MatchString(v) {
		return Errorf(EINVALID, "invalid version %q: use 1 to %d letters, digits, '_', '.' or '-', starting with a letter, digit or '_'", v, MaxDataVersionLength)
	}
	if v == LatestLabel {
		return Errorf(EINVALID, "invalid version %q: it is a label (name@%s), not a version", v, LatestLabel)
	}
	return nil
}

// DataVersionNumber returns the number a version string stands for when it
// is a positive decimal integer of at most 18 digits without leading zeros:
// auto-numbering gives a new version the greatest such number of its name
// plus one, and ignores the other versions ("v2", "2024.1", "007").
func DataVersionNumber(v string) (int64, bool) {
	if v == "" || v[0] == '0' || len(v) > 18 || strings.Trim(v, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64) // 18 digits always fit
	return n, err == nil
}

// ValidateDataProfile checks a profile's text: empty, or a JSON document of
// at most MaxDataProfileSize bytes whose text CheckJSONText accepts.
// Errors: EINVALID.
func ValidateDataProfile(p string) error {
	if p == "" {
		return nil
	}
	if len(p) > MaxDataProfileSize {
		return Errorf(EINVALID, "profile is %d bytes; the limit is %d", len(p), MaxDataProfileSize)
	}
	if err := CheckJSONText([]byte(p)); err != nil {
		return err
	}
	if !json.Valid([]byte(p)) {
		return Errorf(EINVALID, "profile is not a JSON document")
	}
	return nil
}

// ParseDatastoreURI splits azureml://datastores/<ds>/paths/<p> into the
// datastore's name and the path on it ("" for the datastore's root, written
// …/paths/ or …/paths). The path is relative and clean: no empty, "." or
// ".." segments, no backslash or control character; a trailing slash (a
// folder, as Azure writes them) is dropped. Errors: EINVALID.
func ParseDatastoreURI(s string) (datastore, p string, err error) {
	bad := func(why string) error {
		return Errorf(EINVALID, "invalid datastore URI %q: %s", clipValue(s), why)
	}
	if len(s) > MaxDataPathLength {
		return "", "", Errorf(EINVALID, "invalid datastore URI: %d bytes; the limit is %d", len(s), MaxDataPathLength)
	}
	rest, ok := strings.CutPrefix(s, "azureml://datastores/")
	if !ok {
		return "", "", bad("want azureml://datastores/<datastore>/paths/<path>")
	}
	ds, rest, _ := strings.Cut(rest, "/")
	if ValidateName("datastore", ds) != nil {
		return "", "", bad("the datastore name must be 1 to 255 letters, digits, '.', '-' or '_', starting with a letter or digit")
	}
	if rest != "paths" {
		if rest, ok = strings.CutPrefix(rest, "paths/"); !ok {
			return "", "", bad("want azureml://datastores/<datastore>/paths/<path>")
		}
		p = strings.TrimSuffix(rest, "/")
	}
	if p != "" {
		if err := ValidateManifestPath(p); err != nil {
			return "", "", bad("the path must be relative and clean, without '.', '..' or empty segments, backslashes or control characters")
		}
	}
	return ds, p, nil
}

// DatastoreURI returns azureml://datastores/<ds>/paths/<p>, the form
// ParseDatastoreURI reads.
func DatastoreURI(datastore, p string) string {
	return "azureml://datastores/" + datastore + "/paths/" + p
}

// DataService stores datastores and data asset versions, workspace by
// workspace: nothing of one workspace is visible from another.
type DataService interface {
	// CreateDataVersion stores a new version of a data asset with its
	// audit event (data/write on data/<name>/versions/<version>) and gives
	// the workspace its manifest blob, in one transaction. An empty
	// Version is numbered (the greatest DataVersionNumber of the name plus
	// one, 1 for the first). It returns the version as stored, with
	// Workspace, Version, CreatedAt and CreatedBy set; a itself is left as
	// it was. Errors: EINVALID
	// (DataAsset.Validate), ENOTFOUND (workspace, or the datastore of the
	// path), ECONFLICT (the version exists: versions are immutable).
	CreateDataVersion(ctx context.Context, workspace string, a *DataAsset) (*DataAsset, error)
	// DataVersion returns a version, archived or not. Errors: ENOTFOUND,
	// EINVALID.
	DataVersion(ctx context.Context, workspace, name, version string) (*DataAsset, error)
	// LatestDataVersion returns the version name@latest names: the most
	// recently created one that is not archived. Errors: ENOTFOUND (no
	// version, or all archived), EINVALID.
	LatestDataVersion(ctx context.Context, workspace, name string) (*DataAsset, error)
	// ListData returns the latest version of each data asset, by name;
	// assets whose versions are all archived are left out. Errors:
	// EINVALID (options).
	ListData(ctx context.Context, workspace string, opt ListOptions) (*Page[*DataAsset], error)
	// ListDataVersions returns the versions of a data asset, newest first,
	// archived ones only when includeArchived. A name without versions has
	// an empty list. Errors: EINVALID.
	ListDataVersions(ctx context.Context, workspace, name string, includeArchived bool, opt ListOptions) (*Page[*DataAsset], error)
	// SetDataVersionArchived archives (hides from lists and @latest; it
	// stays readable by its version) or restores a version and returns it;
	// a change is audited (data/write), setting the state it has already
	// is not a change. Errors: ENOTFOUND, EINVALID.
	SetDataVersionArchived(ctx context.Context, workspace, name, version string, archived bool) (*DataAsset, error)

	// CreateDatastore stores a named datastore with its audit event
	// (datastores/write on datastores/<name>), setting Workspace,
	// CreatedAt and CreatedBy. Errors: EINVALID, ENOTFOUND (workspace),
	// ECONFLICT (exists; DefaultDatastore always does).
	CreateDatastore(ctx context.Context, workspace string, d *Datastore) error
	// Datastore returns a datastore; DefaultDatastore exists in every
	// workspace. Errors: ENOTFOUND, EINVALID.
	Datastore(ctx context.Context, workspace, name string) (*Datastore, error)
	// ListDatastores lists a workspace's datastores by name, the default
	// one included. Errors: EINVALID.
	ListDatastores(ctx context.Context, workspace string, opt ListOptions) (*Page[*Datastore], error)
	// DeleteDatastore deletes a named datastore with its audit event
	// (datastores/delete). Errors: ENOTFOUND, ECONFLICT (the default
	// datastore, or one that data versions are on), EINVALID.
	DeleteDatastore(ctx context.Context, workspace, name string) error
}

// DataVersionNotFound is the error for a data asset version that does not
// exist, worded as Azure ML's.
func DataVersionNotFound(name, version string) error {
	return Errorf(ENOTFOUND, "Data asset %s with version %s not found.", name, version)
}

// DatastoreNotFound is the error for a datastore that does not exist.
func DatastoreNotFound(name string) error {
	return Errorf(ENOTFOUND, "Datastore %s not found.", name)
}
