package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/artifact"
)

// Sharing copies a model, component or environment version into a
// registry or another workspace (POST …/versions/{version}/share, body
// hangar.ShareRequest), as `az ml model share` does: the same bytes, whose
// blobs the target comes to own in the transaction that creates the copy.
// The route checks <kind>/read on the source; the handler then requires
// artifacts/read on the source (the content leaves with the copy) and
// <kind>/write on the target, before it reads anything, so a caller
// without a role on the target learns nothing and changes nothing.

// componentOwner and environmentOwner create a version and give the
// workspace its blobs in one transaction (sqlstore).
type componentOwner interface {
	CreateComponentOwning(ctx context.Context, c *hangar.Component, blobs []hangar.BlobInfo) (*hangar.Component, error)
}

type environmentOwner interface {
	CreateEnvironmentOwning(ctx context.Context, e *hangar.Environment, blobs []hangar.BlobInfo) (*hangar.Environment, error)
}

// maxSharedFiles bounds the files of a shared model.
const maxSharedFiles = 10000

// shareTarget decodes the request and checks the caller's rights and the
// target: it returns the request and the target workspace. A registry
// named by --registry-name must be one; the target cannot be the source's
// own workspace.
func (s *Server) shareTarget(w http.ResponseWriter, r *http.Request, c *caller, write string) (*hangar.ShareRequest, string, error) {
	var req hangar.ShareRequest
	if err := s.decodeBody(w, r, &req); err != nil {
		return nil, "", err
	}
	target, err := req.Target()
	if err != nil {
		return nil, "", err
	}
	if err := c.require(c.workspace, hangar.ActArtifactRead); err != nil {
		return nil, "", err
	}
	if err := c.require(target, write); err != nil {
		return nil, "", err
	}
	ws, err := s.workspace(r.Context(), c.principal, target)
	if err != nil {
		return nil, "", err
	}
	if req.Registry != "" && !ws.IsRegistry() {
		return nil, "", hangar.Errorf(hangar.ENOTFOUND, "registry %q not found: %q is a workspace; share into it with --to-workspace", target, target)
	}
	if target == c.workspace {
		return nil, "", hangar.Errorf(hangar.EINVALID, "the version is in %q already: share into another workspace or a registry", target)
	}
	return &req, target, nil
}

// shareModelVersion answers POST …/models/{name}/versions/{version}/share:
// the version's files are named in the target under
// models/<name>/<id>/ and owned there, and the copy records its source,
// the run and job that made the original, the approvals it was promoted
// under and the content digest (hangar.TagSharedFrom…). The same version
// shared again without a version returns the earlier copy (200).
func (s *Server) shareModelVersion(w http.ResponseWriter, r *http.Request, c *caller) error {
	reg, err := s.registry()
	if err != nil {
		return err
	}
	sharer, ok := reg.(hangar.ModelSharer)
	if !ok || s.Artifacts == nil {
		return hangar.Errorf(hangar.ENOTIMPLEMENTED, "this server's model registry cannot share versions")
	}
	req, target, err := s.shareTarget(w, r, c, hangar.ActModelWrite)
	if err != nil {
		return err
	}
	ctx := r.Context()
	src, err := reg.ModelVersion(ctx, c.workspace, r.PathValue("name"), r.PathValue("version"))
	if err != nil {
		return err
	}
	entries, err := s.modelFiles(ctx, c.workspace, src)
	if err != nil {
		return err
	}
	digest, err := hangar.ModelContentDigest(entries)
	if err != nil {
		return err
	}
	dst := &hangar.ModelVersion{Workspace: target, Name: src.Name, Version: req.Version, Description: src.Description, Tags: map[string]string{}}
	if req.Name != "" {
		dst.Name = req.Name
	}
	if err := hangar.ValidateNewModelName(dst.Name); err != nil {
		return err
	}
	for k, v := range src.Tags {
		if !strings.HasPrefix(k, "hangar.shared_from.") {
			dst.Tags[k] = v
		}
	}
	run, job := src.RunID, ""
	if run == "" {
		run, job = src.Tags[hangar.TagSharedFromRun], src.Tags[hangar.TagSharedFromJob]
	} else if s.Tracking != nil {
		if rn, err := s.Tracking.Run(ctx, c.workspace, run); err == nil {
			for _, t := range rn.Data.Tags {
				if t.Key == "hangar.job" {
					job = t.Value
				}
			}
		}
	}
	approvals, err := s.approvalsOf(ctx, c.workspace, src)
	if err != nil {
		return err
	}
	for k, v := range map[string]string{
		hangar.TagSharedFromWorkspace: c.workspace, hangar.TagSharedFromModel: src.Name, hangar.TagSharedFromVersion: src.Version,
		hangar.TagSharedFromRun: run, hangar.TagSharedFromJob: job, hangar.TagSharedFromApprovals: approvals,
		hangar.TagContentDigest: string(digest),
	} {
		if v != "" {
			dst.Tags[k] = v
		}
	}
	root := "models/" + dst.Name + "/" + hangar.NewID()
	dst.Source = "mlflow-artifacts:/" + root
	files := make([]hangar.SharedFile, len(entries))
	for i, e := range entries {
		files[i] = hangar.SharedFile{Path: root + "/" + e.Path, Blob: hangar.BlobInfo{Digest: e.Digest, Size: e.Size}}
	}
	detail, err := shareDetail(c.workspace, "model", src.Name, src.Version, digest, len(files))
	if err != nil {
		return err
	}
	out, err := sharer.ShareModelVersion(ctx, dst, files, detail)
	if err != nil {
		return err
	}
	return writeJSON(w, createdStatus(out.Existing), out)
}

// shareDetail is the audit detail of a share: where the copy came from.
func shareDetail(ws, kind, name, version string, digest hangar.Digest, files int) (string, error) {
	b, err := json.Marshal(map[string]any{"share": map[string]any{
		"from":           map[string]string{"workspace": ws, kind: name, "version": version},
		"content_digest": digest,
		"files":          files,
	}})
	return string(b), err
}

// approvalsOf lists the approved requests that promoted the version in
// ws, after those its source carried: "<ws>/<id> (<alias>)", comma-separated.
func (s *Server) approvalsOf(ctx context.Context, ws string, v *hangar.ModelVersion) (string, error) {
	var list []string
	if prev := v.Tags[hangar.TagSharedFromApprovals]; prev != "" {
		list = append(list, prev)
	}
	if s.Approvals == nil {
		return strings.Join(list, ", "), nil
	}
	var mine []*hangar.ApprovalRequest
	opt := hangar.ListOptions{MaxResults: hangar.MaxMaxResults}
	for {
		p, err := s.Approvals.ListApprovalRequests(ctx, ws, hangar.ApprovalFilter{Name: v.Name, Status: hangar.ApprovalApproved}, opt)
		if err != nil {
			return "", err
		}
		for _, a := range p.Items {
			if a.Version == v.Version {
				mine = append(mine, a)
			}
		}
		if p.NextPageToken == "" {
			break
		}
		opt.PageToken = p.NextPageToken
	}
	slices.Reverse(mine) // listed newest first
	for _, a := range mine {
		list = append(list, ws+"/"+a.ID+" ("+a.Alias+")")
	}
	return strings.Join(list, ", "), nil
}

// modelFiles returns the files of a model version, paths relative to its
// folder (or the file's name, for a model that is one file), from the
// workspace's artifact index. Only a version whose files the server holds
// (an mlflow-artifacts:/ or runs:/ location) can be shared. Errors:
// EINVALID.
func (s *Server) modelFiles(ctx context.Context, ws string, v *hangar.ModelVersion) ([]hangar.ManifestEntry, error) {
	uri := v.DownloadURI()
	if rest, ok := strings.CutPrefix(uri, "runs:/"); ok {
		id, sub, _ := strings.Cut(rest, "/")
		if s.Tracking == nil || id == "" {
			return nil, hangar.Errorf(hangar.EINVALID, "model %s:%s: its source %s names no run this server can read", v.Name, v.Version, uri)
		}
		run, err := s.Tracking.Run(ctx, ws, id)
		if err != nil {
			return nil, hangar.Errorf(hangar.EINVALID, "model %s:%s: its source %s: %s", v.Name, v.Version, uri, hangar.ErrorMessage(err))
		}
		uri = strings.TrimRight(run.Info.ArtifactURI, "/") + "/" + sub
	}
	root, ok := proxyPath(uri)
	if !ok || root == "" {
		return nil, hangar.Errorf(hangar.EINVALID, "model %s:%s is stored at %s, outside this server's artifact store: only a model whose files the server holds can be shared", v.Name, v.Version, v.DownloadURI())
	}
	if e, err := s.Artifacts.Artifact(ctx, ws, root); err == nil {
		_, name := hangar.ArtifactDir(root)
		return []hangar.ManifestEntry{{Path: name, Digest: e.Digest, Size: e.Size}}, nil
	} else if hangar.ErrorCode(err) != hangar.ENOTFOUND {
		return nil, err
	}
	var out []hangar.ManifestEntry
	dirs := []string{root}
	for len(dirs) > 0 {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		dir := dirs[0]
		dirs = dirs[1:]
		list, err := s.Artifacts.ListArtifacts(ctx, ws, dir)
		if err != nil {
			return nil, err
		}
		for _, e := range list {
			if e.IsDir {
				dirs = append(dirs, e.Path)
				continue
			}
			out = append(out, hangar.ManifestEntry{Path: strings.TrimPrefix(e.Path, root+"/"), Digest: e.Digest, Size: e.Size})
			if len(out) > maxSharedFiles {
				return nil, hangar.Errorf(hangar.EINVALID, "model %s:%s has more than %d files; the limit of a share", v.Name, v.Version, maxSharedFiles)
			}
		}
	}
	if len(out) == 0 {
		return nil, hangar.Errorf(hangar.EINVALID, "model %s:%s: no file at %s in workspace %q", v.Name, v.Version, v.DownloadURI(), ws)
	}
	return out, nil
}

// contentBlobs returns the blobs of a stored folder: its manifest and its
// files, which the workspace owns.
func (s *Server) contentBlobs(ctx context.Context, ws string, d hangar.Digest) ([]hangar.BlobInfo, error) {
	if d == "" {
		return nil, nil
	}
	bs, err := s.blobStore()
	if err != nil {
		return nil, err
	}
	if s.BlobIndex == nil {
		return nil, hangar.Errorf(hangar.ENOTIMPLEMENTED, "this server has no blob index")
	}
	info, err := s.BlobIndex.WorkspaceBlob(ctx, ws, d)
	if err != nil {
		return nil, err
	}
	m, err := artifact.ReadManifest(ctx, bs, d)
	if err != nil {
		return nil, err
	}
	blobs := []hangar.BlobInfo{info}
	for _, f := range m.Files {
		blobs = append(blobs, hangar.BlobInfo{Digest: f.Digest, Size: f.Size})
	}
	return blobs, nil
}

// sharedTags are the tags of a shared component or environment: the
// source's, with where it came from.
func sharedTags(src map[string]string, ws, name, version string) map[string]string {
	out := map[string]string{}
	for k, v := range src {
		if !strings.HasPrefix(k, "hangar.shared_from.") {
			out[k] = v
		}
	}
	out[hangar.TagSharedFromWorkspace] = ws
	out[hangar.TagSharedFromName] = name
	out[hangar.TagSharedFromVersion] = version
	return out
}

// shareComponent answers POST …/components/{name}/versions/{version}/share:
// the same spec and code snapshot, the snapshot's blobs owned by the
// target in the transaction of the new version. Without a version, a
// version of the same content that is the target's latest is returned
// (200).
func (s *Server) shareComponent(w http.ResponseWriter, r *http.Request, c *caller) error {
	svc, err := s.componentService()
	if err != nil {
		return err
	}
	owner, ok := svc.(componentOwner)
	if !ok {
		return hangar.Errorf(hangar.ENOTIMPLEMENTED, "this server's component store cannot share versions")
	}
	req, target, err := s.shareTarget(w, r, c, hangar.ActComponentWrite)
	if err != nil {
		return err
	}
	ctx := r.Context()
	src, err := svc.Component(ctx, c.workspace, r.PathValue("name"), r.PathValue("version"))
	if err != nil {
		return err
	}
	blobs, err := s.contentBlobs(ctx, c.workspace, src.Code)
	if err != nil {
		return err
	}
	dst := *src
	dst.Workspace, dst.Version, dst.Archived, dst.Existing = target, req.Version, false, false
	if req.Name != "" {
		dst.Name = req.Name
	}
	dst.Tags = sharedTags(src.Tags, c.workspace, src.Name, src.Version)
	out, err := owner.CreateComponentOwning(ctx, &dst, blobs)
	if err != nil {
		return err
	}
	return writeJSON(w, createdStatus(out.Existing), out)
}

// shareEnvironment answers POST …/environments/{name}/versions/{version}/share,
// as shareComponent with the build context.
func (s *Server) shareEnvironment(w http.ResponseWriter, r *http.Request, c *caller) error {
	svc, err := s.environmentService()
	if err != nil {
		return err
	}
	owner, ok := svc.(environmentOwner)
	if !ok {
		return hangar.Errorf(hangar.ENOTIMPLEMENTED, "this server's environment store cannot share versions")
	}
	req, target, err := s.shareTarget(w, r, c, hangar.ActEnvironmentWrite)
	if err != nil {
		return err
	}
	ctx := r.Context()
	src, err := svc.Environment(ctx, c.workspace, r.PathValue("name"), r.PathValue("version"))
	if err != nil {
		return err
	}
	blobs, err := s.contentBlobs(ctx, c.workspace, src.BuildContext)
	if err != nil {
		return err
	}
	dst := *src
	dst.Workspace, dst.Version, dst.Archived, dst.Existing = target, req.Version, false, false
	if req.Name != "" {
		dst.Name = req.Name
	}
	dst.Tags = sharedTags(src.Tags, c.workspace, src.Name, src.Version)
	out, err := owner.CreateEnvironmentOwning(ctx, &dst, blobs)
	if err != nil {
		return err
	}
	return writeJSON(w, createdStatus(out.Existing), out)
}

// ShareModelVersion copies a model version into a registry or another
// workspace (req names which, and the copy's name and version).
func (c *Client) ShareModelVersion(ctx context.Context, workspace, name, version string, req hangar.ShareRequest) (*hangar.ModelShare, error) {
	var out hangar.ModelShare
	if err := c.call(ctx, http.MethodPost, pathf("/api/v1/workspaces/%s/models/%s/versions/%s/share", workspace, name, version), nil, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ShareComponent copies a component version into a registry or another
// workspace.
func (c *Client) ShareComponent(ctx context.Context, workspace, name, version string, req hangar.ShareRequest) (*hangar.Component, error) {
	var out hangar.Component
	if err := c.call(ctx, http.MethodPost, pathf("/api/v1/workspaces/%s/components/%s/versions/%s/share", workspace, name, version), nil, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ShareEnvironment copies an environment version into a registry or
// another workspace.
func (c *Client) ShareEnvironment(ctx context.Context, workspace, name, version string, req hangar.ShareRequest) (*hangar.Environment, error) {
	var out hangar.Environment
	if err := c.call(ctx, http.MethodPost, pathf("/api/v1/workspaces/%s/environments/%s/versions/%s/share", workspace, name, version), nil, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
