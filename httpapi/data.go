package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/artifact"
	"github.com/hangar-ml/hangar/dataset"
)

// Data assets and datastores under /api/v1/workspaces/{ws}/: the verbs of
// `az ml data` and `az ml datastore`. A version is created from content
// already uploaded to the workspace (its path is the digest of the
// manifest the client stored with PutBlob) or from a datastore location,
// which the server snapshots into the blob store (package dataset). Either
// way the server reads the manifest itself: sizes and counts are its, not
// the client's, every file must be a blob the workspace owns (a manifest
// cannot smuggle in another workspace's content), and a CSV or Parquet
// table gets its profile before the version is stored.

// dataOwner is the store method that creates a version and gives its
// workspace the blobs of its files in the same transaction
// (sqlstore.DataService): needed to share a version and to snapshot a
// datastore.
type dataOwner interface {
	CreateDataVersionOwning(ctx context.Context, workspace string, a *hangar.DataAsset, blobs []hangar.BlobInfo) (*hangar.DataAsset, error)
}

// dataVersionRequest is the body of POST …/data/{name}/versions.
type dataVersionRequest struct {
	Version     string            `json:"version,omitempty"`
	Type        string            `json:"type,omitempty"` // uri_folder when empty
	Path        string            `json:"path"`           // a datastore URI or the digest of an uploaded manifest
	Description string            `json:"description,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
}

// shareRequest is the body of POST …/versions/{version}/share.
type shareRequest struct {
	ToWorkspace string `json:"to_workspace"`
	Name        string `json:"name,omitempty"`    // the source's when empty
	Version     string `json:"version,omitempty"` // the source's when empty
}

func (s *Server) dataService() (hangar.DataService, error) {
	if s.Data == nil {
		return nil, hangar.Errorf(hangar.ENOTIMPLEMENTED, "this server has no data service")
	}
	return s.Data, nil
}

func (s *Server) resolver() *dataset.Resolver {
	return &dataset.Resolver{Data: s.Data, Blobs: s.Blobs, Artifacts: s.Artifacts}
}

func (s *Server) listDatastores(w http.ResponseWriter, r *http.Request, c *caller) error {
	ds, err := s.dataService()
	if err != nil {
		return err
	}
	return servePage(w, r, c.workspace, ds.ListDatastores)
}

func (s *Server) getDatastore(w http.ResponseWriter, r *http.Request, c *caller) error {
	ds, err := s.dataService()
	if err != nil {
		return err
	}
	d, err := ds.Datastore(r.Context(), c.workspace, r.PathValue("name"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, d)
}

// createDatastore creates a local datastore. Besides datastores/write on
// the workspace, which the route checks, it takes datastores/write
// server-wide: a local datastore reads a folder of the server's host, and
// only those trusted with the server may point the server's file access
// somewhere (a workspace's Contributor could otherwise read any file the
// server can).
func (s *Server) createDatastore(w http.ResponseWriter, r *http.Request, c *caller) error {
	ds, err := s.dataService()
	if err != nil {
		return err
	}
	var d hangar.Datastore
	if err := s.decodeBody(w, r, &d); err != nil {
		return err
	}
	if d.Workspace != "" || !d.CreatedAt.IsZero() || d.CreatedBy != "" {
		return hangar.Errorf(hangar.EINVALID, "workspace, created_at and created_by are set by the server")
	}
	if err := d.Validate(); err != nil {
		return err
	}
	if err := c.require("", hangar.ActDatastoreWrite); err != nil {
		return fmt.Errorf("%w: a local datastore opens a folder of the server's host, which takes %s server-wide", err, hangar.ActDatastoreWrite)
	}
	if err := ds.CreateDatastore(r.Context(), c.workspace, &d); err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, &d)
}

func (s *Server) deleteDatastore(w http.ResponseWriter, r *http.Request, c *caller) error {
	ds, err := s.dataService()
	if err != nil {
		return err
	}
	if err := ds.DeleteDatastore(r.Context(), c.workspace, r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) listData(w http.ResponseWriter, r *http.Request, c *caller) error {
	ds, err := s.dataService()
	if err != nil {
		return err
	}
	return servePage(w, r, c.workspace, ds.ListData)
}

// dataVersionsQuery is the filter of a version list.
type dataVersionsQuery struct {
	workspace, name string
	archived        bool
}

func (s *Server) listDataVersions(w http.ResponseWriter, r *http.Request, c *caller) error {
	ds, err := s.dataService()
	if err != nil {
		return err
	}
	q := dataVersionsQuery{workspace: c.workspace, name: r.PathValue("name")}
	switch v := r.URL.Query().Get("include_archived"); v {
	case "", "false":
	case "true":
		q.archived = true
	default:
		return hangar.Errorf(hangar.EINVALID, "include_archived must be true or false, got %q", truncate(v, 32))
	}
	return servePage(w, r, q, func(ctx context.Context, q dataVersionsQuery, opt hangar.ListOptions) (*hangar.Page[*hangar.DataAsset], error) {
		return ds.ListDataVersions(ctx, q.workspace, q.name, q.archived, opt)
	})
}

// isLatest reports whether a version path value names the label: latest
// or @latest (no version may be called either).
func isLatest(v string) bool {
	return v == hangar.LatestLabel || v == "@"+hangar.LatestLabel
}

// dataVersion reads the version of the path, resolving the label.
func dataVersion(ctx context.Context, ds hangar.DataService, workspace, name, version string) (*hangar.DataAsset, error) {
	if isLatest(version) {
		return ds.LatestDataVersion(ctx, workspace, name)
	}
	return ds.DataVersion(ctx, workspace, name, version)
}

func (s *Server) getDataVersion(w http.ResponseWriter, r *http.Request, c *caller) error {
	ds, err := s.dataService()
	if err != nil {
		return err
	}
	a, err := dataVersion(r.Context(), ds, c.workspace, r.PathValue("name"), r.PathValue("version"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a)
}

func (s *Server) archiveDataVersion(w http.ResponseWriter, r *http.Request, c *caller) error {
	return s.setDataArchived(w, r, c, true)
}

func (s *Server) restoreDataVersion(w http.ResponseWriter, r *http.Request, c *caller) error {
	return s.setDataArchived(w, r, c, false)
}

func (s *Server) setDataArchived(w http.ResponseWriter, r *http.Request, c *caller, archived bool) error {
	ds, err := s.dataService()
	if err != nil {
		return err
	}
	a, err := ds.SetDataVersionArchived(r.Context(), c.workspace, r.PathValue("name"), r.PathValue("version"), archived)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a)
}

// createDataVersion stores a new version from uploaded content or a
// datastore location, with its profile. Nothing is stored when anything
// is wrong: the checks (name, version free, location, manifest, ownership)
// come before the store's one transaction.
func (s *Server) createDataVersion(w http.ResponseWriter, r *http.Request, c *caller) error {
	ds, err := s.dataService()
	if err != nil {
		return err
	}
	bs, err := s.blobStore()
	if err != nil {
		return err
	}
	var body dataVersionRequest
	if err := s.decodeBody(w, r, &body); err != nil {
		return err
	}
	// Snapshotting a datastore and profiling a table are the server's own
	// work, proportional to the data rather than to the client's pace:
	// they get maxDataWork instead of the ordinary write timeout. The
	// request's context still ends it when the client goes.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(maxDataWork))
	ctx := r.Context()
	a := &hangar.DataAsset{Name: r.PathValue("name"), Version: body.Version, Type: body.Type, Path: body.Path,
		Description: body.Description, Tags: body.Tags}
	if a.Type == "" {
		a.Type = hangar.DataURIFolder
	}
	if err := hangar.ValidateName("data asset", a.Name); err != nil {
		return err
	}
	if a.Version != "" {
		if err := hangar.ValidateDataVersion(a.Version); err != nil {
			return err
		}
		if _, err := ds.DataVersion(ctx, c.workspace, a.Name, a.Version); err == nil {
			return versionExists(a.Name, a.Version)
		} else if !hangar.IsCode(err, hangar.ENOTFOUND) {
			return err
		}
	}
	var (
		m     *hangar.Manifest
		blobs []hangar.BlobInfo
	)
	switch {
	case strings.HasPrefix(a.Path, "azureml:"):
		if err := checkDataType(a.Type); err != nil {
			return err
		}
		snap, err := s.resolver().Snapshot(ctx, c.workspace, a.Path, a.Type)
		if err != nil {
			return err
		}
		m, blobs, a.Manifest = snap.Files, snap.Blobs, snap.Manifest
		if dsName, _, _ := hangar.ParseDatastoreURI(a.Path); dsName == hangar.DefaultDatastore {
			// The default datastore names content by digest.
			a.Path = string(snap.Manifest.Digest)
		}
	default:
		d, err := hangar.ParseDigest(a.Path)
		if err != nil {
			return hangar.Errorf(hangar.EINVALID, "invalid path %q: want azureml://datastores/<datastore>/paths/<path>, or the digest of a manifest uploaded to the workspace (sha256:<64 hex digits>)", truncate(a.Path, 200))
		}
		if m, a.Manifest, err = s.ownedManifest(ctx, bs, c.workspace, d); err != nil {
			return err
		}
	}
	if err := checkManifestKind(a.Type, m); err != nil {
		return err
	}
	a.Size, a.FileCount = m.TotalSize(), int64(len(m.Files))
	if a.Profile, err = dataset.Profile(ctx, bs, a.Type, m); err != nil {
		if hangar.ErrorCode(err) != hangar.EINVALID {
			return err
		}
		// A file named .csv that is no table is still data: store it
		// without a profile, and say why in the log.
		s.Logger.WarnContext(ctx, "data version stored without a profile",
			slog.String("request_id", hangar.RequestIDFrom(ctx)), slog.String("workspace", c.workspace),
			slog.String("name", a.Name), slog.String("error", err.Error()))
	}
	var out *hangar.DataAsset
	if len(blobs) > 0 {
		owner, ok := ds.(dataOwner)
		if !ok {
			return hangar.Errorf(hangar.ENOTIMPLEMENTED, "this server's data store cannot snapshot datastores")
		}
		out, err = owner.CreateDataVersionOwning(ctx, c.workspace, a, blobs)
	} else {
		out, err = ds.CreateDataVersion(ctx, c.workspace, a)
	}
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, out)
}

// maxDataWork bounds the time a data version's creation may take on the
// server (snapshot and profile).
const maxDataWork = time.Hour

// versionExists is the error of a version created twice.
func versionExists(name, version string) error {
	return hangar.Errorf(hangar.ECONFLICT, "Data asset %s with version %s already exists: versions are immutable; create another version", name, version)
}

func checkDataType(t string) error {
	switch t {
	case hangar.DataURIFile, hangar.DataURIFolder, hangar.DataMLTable:
		return nil
	}
	return hangar.Errorf(hangar.EINVALID, "invalid data asset type %q: want %s, %s or %s", t, hangar.DataURIFile, hangar.DataURIFolder, hangar.DataMLTable)
}

// checkManifestKind checks a manifest against the type: one file for
// uri_file, an MLTable file for mltable, at least one file for the rest.
func checkManifestKind(typ string, m *hangar.Manifest) error {
	switch {
	case typ == hangar.DataURIFile && len(m.Files) != 1:
		return hangar.Errorf(hangar.EINVALID, "a %s data asset is one file; this content has %d", hangar.DataURIFile, len(m.Files))
	case typ == hangar.DataMLTable && !hasFile(m, dataset.MLTableFile):
		return hangar.Errorf(hangar.EINVALID, "an %s data asset is a folder with an %s file; this one has none", hangar.DataMLTable, dataset.MLTableFile)
	case len(m.Files) == 0:
		return hangar.Errorf(hangar.EINVALID, "the folder is empty: a data asset holds at least one file")
	}
	return nil
}

func hasFile(m *hangar.Manifest, p string) bool {
	for _, e := range m.Files {
		if e.Path == p {
			return true
		}
	}
	return false
}

// ownedManifest reads the manifest d, which the workspace must own, and
// checks that the workspace owns every file it lists.
func (s *Server) ownedManifest(ctx context.Context, bs hangar.BlobStore, workspace string, d hangar.Digest) (*hangar.Manifest, hangar.BlobInfo, error) {
	info, err := s.BlobIndex.WorkspaceBlob(ctx, workspace, d)
	if err != nil {
		return nil, hangar.BlobInfo{}, fmt.Errorf("uploaded content %s: %w", d, err)
	}
	m, err := artifact.ReadManifest(ctx, bs, d)
	if err != nil {
		return nil, hangar.BlobInfo{}, err
	}
	if info.Size < 0 {
		if info, err = bs.Stat(ctx, d); err != nil {
			return nil, hangar.BlobInfo{}, err
		}
	}
	for _, b := range dataset.FileBlobs(m) {
		if _, err := s.BlobIndex.WorkspaceBlob(ctx, workspace, b.Digest); err != nil {
			return nil, hangar.BlobInfo{}, fmt.Errorf("file of manifest %s: %w", d, err)
		}
	}
	return m, info, nil
}

// shareDataVersion copies a version into another workspace: the same
// manifest digest, named there by its digest (the target may not have the
// source's datastore), with the ownership of the manifest and every file
// given to the target in the same transaction as the new version, audited
// there as data/write. The route checked data/read on the source; sharing
// also takes artifacts/read on the source (the content leaves with it) and
// data/write on the target.
func (s *Server) shareDataVersion(w http.ResponseWriter, r *http.Request, c *caller) error {
	ds, err := s.dataService()
	if err != nil {
		return err
	}
	bs, err := s.blobStore()
	if err != nil {
		return err
	}
	owner, ok := ds.(dataOwner)
	if !ok {
		return hangar.Errorf(hangar.ENOTIMPLEMENTED, "this server's data store cannot share versions")
	}
	var body shareRequest
	if err := s.decodeBody(w, r, &body); err != nil {
		return err
	}
	if err := hangar.ValidateWorkspaceName(body.ToWorkspace); err != nil {
		return err
	}
	if err := c.require(c.workspace, hangar.ActArtifactRead); err != nil {
		return err
	}
	if err := c.require(body.ToWorkspace, hangar.ActDataWrite); err != nil {
		return err
	}
	ctx := r.Context()
	if _, err := s.workspace(ctx, c.principal, body.ToWorkspace); err != nil {
		return err
	}
	src, err := dataVersion(ctx, ds, c.workspace, r.PathValue("name"), r.PathValue("version"))
	if err != nil {
		return err
	}
	if src.Manifest.Digest == "" {
		return hangar.Errorf(hangar.EINVALID, "data asset %s version %s has no content hash; only hashed versions can be shared", src.Name, src.Version)
	}
	m, err := artifact.ReadManifest(ctx, bs, src.Manifest.Digest)
	if err != nil {
		return err
	}
	dst := *src
	dst.Workspace, dst.CreatedAt, dst.CreatedBy, dst.Archived = "", src.CreatedAt, "", false
	dst.Path = string(src.Manifest.Digest)
	if body.Name != "" {
		dst.Name = body.Name
	}
	if body.Version != "" {
		dst.Version = body.Version
	}
	out, err := owner.CreateDataVersionOwning(ctx, body.ToWorkspace, &dst, dataset.FileBlobs(m))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, out)
}

// CreateDataVersion creates a version of a data asset from a.Path: a
// datastore URI, or the digest of a manifest uploaded to the workspace
// (artifact.PutDir over BlobStore(workspace), or UploadDir). The server
// sets the sizes, the manifest and the profile; of a only Name, Version,
// Type, Path, Description and Tags are sent.
func (c *Client) CreateDataVersion(ctx context.Context, workspace string, a *hangar.DataAsset) (*hangar.DataAsset, error) {
	var out hangar.DataAsset
	body := dataVersionRequest{Version: a.Version, Type: a.Type, Path: a.Path, Description: a.Description, Tags: a.Tags}
	if err := c.call(ctx, http.MethodPost, pathf("/api/v1/workspaces/%s/data/%s/versions", workspace, a.Name), nil, body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DataVersion returns a version, archived or not.
func (c *Client) DataVersion(ctx context.Context, workspace, name, version string) (*hangar.DataAsset, error) {
	if version == "" {
		return nil, hangar.Errorf(hangar.EINVALID, "version is required: name a version, or ask for the latest")
	}
	var out hangar.DataAsset
	if err := c.call(ctx, http.MethodGet, pathf("/api/v1/workspaces/%s/data/%s/versions/%s", workspace, name, version), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// LatestDataVersion returns name@latest.
func (c *Client) LatestDataVersion(ctx context.Context, workspace, name string) (*hangar.DataAsset, error) {
	var out hangar.DataAsset
	if err := c.call(ctx, http.MethodGet, pathf("/api/v1/workspaces/%s/data/%s/versions/%s", workspace, name, hangar.LatestLabel), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListData returns the latest version of each data asset.
func (c *Client) ListData(ctx context.Context, workspace string, opt hangar.ListOptions) (*hangar.Page[*hangar.DataAsset], error) {
	return listPage[*hangar.DataAsset](ctx, c, pathf("/api/v1/workspaces/%s/data", workspace), nil, opt)
}

// ListDataVersions returns a data asset's versions, newest first.
func (c *Client) ListDataVersions(ctx context.Context, workspace, name string, includeArchived bool, opt hangar.ListOptions) (*hangar.Page[*hangar.DataAsset], error) {
	q := url.Values{}
	if includeArchived {
		q.Set("include_archived", "true")
	}
	return listPage[*hangar.DataAsset](ctx, c, pathf("/api/v1/workspaces/%s/data/%s/versions", workspace, name), q, opt)
}

// SetDataVersionArchived archives or restores a version.
func (c *Client) SetDataVersionArchived(ctx context.Context, workspace, name, version string, archived bool) (*hangar.DataAsset, error) {
	verb := "restore"
	if archived {
		verb = "archive"
	}
	var out hangar.DataAsset
	if err := c.call(ctx, http.MethodPost, pathf("/api/v1/workspaces/%s/data/%s/versions/%s/", workspace, name, version)+verb, nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ShareDataVersion copies a version into the workspace to, under newName
// and newVersion (the source's when empty), and returns the copy.
func (c *Client) ShareDataVersion(ctx context.Context, workspace, name, version, to, newName, newVersion string) (*hangar.DataAsset, error) {
	var out hangar.DataAsset
	body := shareRequest{ToWorkspace: to, Name: newName, Version: newVersion}
	if err := c.call(ctx, http.MethodPost, pathf("/api/v1/workspaces/%s/data/%s/versions/%s/share", workspace, name, version), nil, body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// CreateDatastore creates a local datastore.
func (c *Client) CreateDatastore(ctx context.Context, workspace string, d *hangar.Datastore) error {
	body := *d
	body.Workspace, body.CreatedBy = "", ""
	var out hangar.Datastore
	if err := c.call(ctx, http.MethodPost, pathf("/api/v1/workspaces/%s/datastores", workspace), nil, body, &out); err != nil {
		return err
	}
	*d = out
	return nil
}

// Datastore returns a datastore.
func (c *Client) Datastore(ctx context.Context, workspace, name string) (*hangar.Datastore, error) {
	var out hangar.Datastore
	if err := c.call(ctx, http.MethodGet, pathf("/api/v1/workspaces/%s/datastores/%s", workspace, name), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListDatastores lists a workspace's datastores.
func (c *Client) ListDatastores(ctx context.Context, workspace string, opt hangar.ListOptions) (*hangar.Page[*hangar.Datastore], error) {
	return listPage[*hangar.Datastore](ctx, c, pathf("/api/v1/workspaces/%s/datastores", workspace), nil, opt)
}

// DeleteDatastore deletes a named datastore.
func (c *Client) DeleteDatastore(ctx context.Context, workspace, name string) error {
	return c.call(ctx, http.MethodDelete, pathf("/api/v1/workspaces/%s/datastores/%s", workspace, name), nil, nil, nil)
}

var _ hangar.DataService = (*Client)(nil)
