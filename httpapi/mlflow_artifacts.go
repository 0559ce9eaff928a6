package httpapi

// MLflow's artifact proxy (mlflow-artifacts/…, what `mlflow server
// --serve-artifacts` serves) and artifacts/list, over Hangar's blob store
// (Server.Blobs: content stored once, by digest) and the workspace's
// artifact index (Server.Artifacts: path → digest). Runs' artifact URIs
// are mlflow-artifacts:/<experiment>/<run>/artifacts, so an unchanged
// MLflow client PUTs and GETs each file here; the tracking URI's path is
// kept by the client, so /w/{ws}/api/2.0/mlflow-artifacts/… reaches another
// workspace, as the X-MLFLOW-WORKSPACE header does.
//
// Bodies are streamed both ways: an upload goes straight from the
// connection into the blob store (hashed on the way, bounded by
// MaxBlobBytes, never by the JSON limit, never buffered whole), and a
// download from the store to the connection. Deleting takes artifacts/write,
// not an action of its own: a PUT to the same path replaces the file and
// loses the old content's name just as a DELETE does, so a separate delete
// right would protect nothing that the write right does not already give
// away. The content itself is never deleted: the blob store keeps it (other
// paths, workspaces or runs may name the same digest) and the workspace
// keeps owning it.

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/mlflow"
)

// mlflowArtifactEndpoints are the artifact proxy's endpoints (MLflow 2.x,
// mlflow_artifacts.proto) and the tracking API's artifacts/list, each with
// its action on the workspace.
func (s *Server) mlflowArtifactEndpoints() []mlflowEndpoint {
	return []mlflowEndpoint{
		{"PUT mlflow-artifacts/artifacts/{path...}", hangar.ActArtifactWrite, s.mlflowPutArtifact},
		{"GET mlflow-artifacts/artifacts/{path...}", hangar.ActArtifactRead, s.mlflowGetArtifact},
		{"DELETE mlflow-artifacts/artifacts/{path...}", hangar.ActArtifactWrite, s.mlflowDeleteArtifact},
		{"GET mlflow-artifacts/artifacts", hangar.ActArtifactRead, s.mlflowListArtifacts},
		{"POST mlflow-artifacts/mpu/create/{path...}", hangar.ActArtifactWrite, s.mlflowMultipartUpload},
		{"POST mlflow-artifacts/mpu/complete/{path...}", hangar.ActArtifactWrite, s.mlflowMultipartUpload},
		{"POST mlflow-artifacts/mpu/abort/{path...}", hangar.ActArtifactWrite, s.mlflowMultipartUpload},
		// Also runs/read, which the handler checks: it reads the run.
		{"GET mlflow/artifacts/list", hangar.ActArtifactRead, s.mlflowRunArtifacts},
	}
}

// artifactStores returns the artifact index and the blob store, or
// ENOTIMPLEMENTED on a server built without either.
func (s *Server) artifactStores() (hangar.ArtifactIndex, hangar.BlobStore, error) {
	if s.Artifacts == nil || s.Blobs == nil {
		return nil, nil, hangar.Errorf(hangar.ENOTIMPLEMENTED, "this server does not serve artifacts (no artifact store or index)")
	}
	return s.Artifacts, s.Blobs, nil
}

// artifactPath returns the clean path of a proxy route's {path...}; the
// root names no file. The router has refused empty and "." segments in the
// path as sent (checkCanonicalPath), so any left in the decoded value came
// from encoded slashes ("a%2F%2Fb"): refused too, rather than cleaned, so
// that one file has one URL. Errors: EINVALID ("Invalid path", MLflow's).
func artifactPath(r *http.Request) (string, error) {
	raw := r.PathValue("path")
	p, err := hangar.CleanArtifactPath(raw)
	if err != nil {
		return "", err
	}
	switch {
	case p == "":
		return "", hangar.Errorf(hangar.EINVALID, "Invalid path: the artifact root names no file")
	case p != raw:
		return "", hangar.Errorf(hangar.EINVALID, "Invalid path: %q has empty or '.' segments once decoded", raw)
	}
	return p, nil
}

// mlflowPutArtifact stores the request body as the file at path: streamed
// into the blob store, then named in the workspace's index with the
// upload's audit event. The Content-Type is not looked at: MLflow's client
// sends the file's guessed type. It answers {} as MLflow does.
func (s *Server) mlflowPutArtifact(w http.ResponseWriter, r *http.Request, c *caller) error {
	idx, bs, err := s.artifactStores()
	if err != nil {
		return err
	}
	p, err := artifactPath(r)
	if err != nil {
		return err
	}
	if r.ContentLength > s.MaxBlobBytes {
		return hangar.Errorf(hangar.ETOOLARGE, "request body of %d bytes exceeds the limit of %d bytes", r.ContentLength, s.MaxBlobBytes)
	}
	body := pacedReader{r: r.Body, p: newPacer(r, http.NewResponseController(w).SetReadDeadline)}
	info, err := bs.Put(r.Context(), http.MaxBytesReader(w, io.NopCloser(body), s.MaxBlobBytes))
	endStream(w, r)
	if err != nil {
		return bodyEndedEarly(r, err)
	}
	// The content is stored: name it even if the client has gone meanwhile.
	ctx := context.WithoutCancel(r.Context())
	if err := idx.PutArtifact(ctx, c.workspace, p, info); err != nil {
		return fmt.Errorf("record artifact %q: %w", p, err)
	}
	return writeMLflow(w, nil)
}

// mlflowGetArtifact streams the file at path as an attachment with its
// guessed content type and its length; HEAD answers the headers only. A
// directory or a missing path is 404 RESOURCE_DOES_NOT_EXIST.
func (s *Server) mlflowGetArtifact(w http.ResponseWriter, r *http.Request, c *caller) error {
	idx, bs, err := s.artifactStores()
	if err != nil {
		return err
	}
	p, err := artifactPath(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	e, err := idx.Artifact(ctx, c.workspace, p)
	if err != nil {
		return err
	}
	rc, err := bs.Open(ctx, e.Digest)
	if hangar.IsCode(err, hangar.ENOTFOUND) {
		// Named but gone from the store (another artifact folder, or removed
		// by hand): the operator should know, the client sees 404.
		s.Logger.WarnContext(ctx, "artifact named in a workspace's index is missing from the artifact store",
			slog.String("request_id", hangar.RequestIDFrom(ctx)),
			slog.String("workspace", c.workspace),
			slog.String("path", p),
			slog.String("digest", string(e.Digest)))
		return hangar.ArtifactNotFound(p)
	}
	if err != nil {
		return err
	}
	defer rc.Close()
	_, name := hangar.ArtifactDir(p)
	h := w.Header()
	h.Set("Content-Type", artifactContentType(name))
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Length", strconv.FormatInt(e.Size, 10))
	h.Set("ETag", `"`+string(e.Digest)+`"`)
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		return nil
	}
	w.WriteHeader(http.StatusOK)
	out := pacedWriter{w: w, p: newPacer(r, http.NewResponseController(w).SetWriteDeadline)}
	_, err = io.Copy(out, rc)
	endStream(w, r)
	if err != nil {
		// The status is out; the short body tells the client. Log once.
		return errWritten{fmt.Errorf("stream artifact %q: %w", p, err)}
	}
	return nil
}

// artifactContentType guesses a file's type from its name, as MLflow's
// server does (Python's mimetypes): application/octet-stream when unknown.
func artifactContentType(name string) string {
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}

// mlflowDeleteArtifact deletes the file at path, or the directory and
// everything under it, and answers {}: also when nothing was there, as
// MLflow's local artifact store does. The content stays in the blob store.
func (s *Server) mlflowDeleteArtifact(w http.ResponseWriter, r *http.Request, c *caller) error {
	idx, _, err := s.artifactStores()
	if err != nil {
		return err
	}
	p, err := artifactPath(r)
	if err != nil {
		return err
	}
	if _, err := idx.DeleteArtifacts(r.Context(), c.workspace, p); err != nil {
		return err
	}
	return writeMLflow(w, nil)
}

// mlflowListArtifacts is the proxy's listing of one directory level:
// {files: [{path: <basename>, is_dir, file_size}]}, or {} for a file or a
// path with nothing under it. The client lists a path to learn whether it
// is a directory.
func (s *Server) mlflowListArtifacts(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req struct {
		Path string `json:"path"`
	}
	if err := s.decodeMLflow(w, r, &req); err != nil {
		return err
	}
	idx, _, err := s.artifactStores()
	if err != nil {
		return err
	}
	dir, err := hangar.CleanArtifactPath(req.Path)
	if err != nil {
		return err
	}
	es, err := idx.ListArtifacts(r.Context(), c.workspace, dir)
	if err != nil {
		return err
	}
	resp := mlflow.ListArtifactsResponse{}
	for _, e := range es {
		_, name := hangar.ArtifactDir(e.Path)
		resp.Files = append(resp.Files, fileInfo(name, e))
	}
	return writeMLflow(w, resp)
}

// fileInfo is the wire form of an index entry under the given path.
func fileInfo(p string, e hangar.ArtifactEntry) mlflow.FileInfo {
	fi := mlflow.FileInfo{Path: p, IsDir: e.IsDir}
	if !e.IsDir {
		size := mlflow.Int64(e.Size)
		fi.FileSize = &size
	}
	return fi
}

// mlflowMultipartUpload answers the multipart upload routes as MLflow's
// server does for an artifact store without multipart uploads (a local
// folder): 501 NOT_IMPLEMENTED with the message its client recognises, on
// which it falls back to one streamed PUT. The path is checked first, as
// MLflow checks it.
func (s *Server) mlflowMultipartUpload(w http.ResponseWriter, r *http.Request, c *caller) error {
	if _, err := artifactPath(r); err != nil {
		return err
	}
	return hangar.Errorf(hangar.ENOTIMPLEMENTED, "%s", mlflow.UnsupportedMultipartMessage)
}

// mlflowRunArtifacts is the tracking API's artifacts/list: one directory
// level of a run's artifacts, paths relative to the run's artifact root
// (root_uri, the run's artifact_uri). It reads the run, so it also takes
// runs/read. A run whose artifacts are not behind this server's proxy (an
// experiment created with an artifact location of its own) lists nothing
// but its root_uri: Hangar does not reach into other stores. Every entry
// is answered in one page; page_token is accepted and ignored.
func (s *Server) mlflowRunArtifacts(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := c.require(c.workspace, hangar.ActRunRead); err != nil {
		return err
	}
	var req struct {
		RunID     string `json:"run_id" mlflow:"required,alias=run_uuid"`
		RunUUID   string `json:"run_uuid"`
		Path      string `json:"path"`
		PageToken string `json:"page_token"`
	}
	if err := s.decodeMLflow(w, r, &req); err != nil {
		return err
	}
	t, err := s.tracking()
	if err != nil {
		return err
	}
	idx, _, err := s.artifactStores()
	if err != nil {
		return err
	}
	sub, err := hangar.CleanArtifactPath(req.Path)
	if err != nil {
		return err
	}
	run, err := t.Run(r.Context(), c.workspace, req.RunID)
	if err != nil {
		return err
	}
	resp := mlflow.ListArtifactsResponse{RootURI: run.Info.ArtifactURI}
	root, ok := proxyPath(run.Info.ArtifactURI)
	if !ok {
		return writeMLflow(w, resp)
	}
	dir := joinArtifactPath(root, sub)
	es, err := idx.ListArtifacts(r.Context(), c.workspace, dir)
	if err != nil {
		return err
	}
	for _, e := range es {
		rel := strings.TrimPrefix(strings.TrimPrefix(e.Path, root), "/")
		resp.Files = append(resp.Files, fileInfo(rel, e))
	}
	return writeMLflow(w, resp)
}

// proxyPath returns the proxy path of an mlflow-artifacts:/P URI (P,
// clean), and false for any other URI, one naming another host
// (mlflow-artifacts://host/P) included.
func proxyPath(uri string) (string, bool) {
	rest, ok := strings.CutPrefix(uri, "mlflow-artifacts:")
	if !ok || strings.HasPrefix(rest, "//") {
		return "", false
	}
	p, err := hangar.CleanArtifactPath(strings.TrimPrefix(rest, "/"))
	if err != nil {
		return "", false
	}
	return p, true
}

// joinArtifactPath joins two clean paths, either of which may be the root.
func joinArtifactPath(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "/" + b
}
