package mlflow

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/hangar-ml/hangar"
)

// FileInfo is one entry of an artifact listing: MLflow's FileInfo. In the
// proxy's listing (GET mlflow-artifacts/artifacts?path=) Path is the
// basename; in artifacts/list it is relative to the run's artifact root.
// IsDir is always sent (the Python client reads f["is_dir"]); FileSize
// only for files.
type FileInfo struct {
	Path     string `json:"path"`
	IsDir    bool   `json:"is_dir"`
	FileSize *Int64 `json:"file_size,omitempty"`
}

// ListArtifactsResponse is the answer of both artifact listings: the proxy's
// has Files only ({} when there are none), artifacts/list also RootURI.
type ListArtifactsResponse struct {
	RootURI       string     `json:"root_uri,omitempty"`
	Files         []FileInfo `json:"files,omitempty"`
	NextPageToken string     `json:"next_page_token,omitempty"`
}

// UnsupportedMultipartMessage is MLflow's message for a multipart upload
// the artifact store cannot do (_UnsupportedMultipartUploadException): its
// client matches this prefix of a 501 NOT_IMPLEMENTED to fall back to one
// plain PUT.
const UnsupportedMultipartMessage = "Multipart upload is not supported for the current artifact repository"

// Artifacts through an MLflow tracking server's artifact proxy
// (mlflow-artifacts/…): what `mlflow.log_artifact(s)` and
// `mlflow.artifacts.download_artifacts` do in Python, for Hangar's CLI and
// job steps. Files are streamed both ways, never held in memory; the
// requests of a stream are bounded by ctx, not by the client's per-request
// timeout, which suits short API calls and not a 5 GiB model.

// ArtifactRoot is where an artifact URI's files are on the wire: the server
// (BaseURL, with any path prefix such as /w/<workspace> the tracking URI
// has) and the proxy path under
// BaseURL/api/2.0/mlflow-artifacts/artifacts/. Sub is the part of the URI
// below the root it names, "" when the URI names a root (a run's
// artifacts, a model version): downloads put a root's contents in the
// destination, and anything else under its last segment, as MLflow's
// download_artifacts(artifact_uri=…) does.
type ArtifactRoot struct {
	BaseURL string
	Path    string // clean, relative to the proxy's root
	Sub     string // clean, relative to Path
}

// full is the proxy path of the URI: Path joined with Sub.
func (a ArtifactRoot) full() string { return joinPath(a.Path, a.Sub) }

// url is the proxy URL of a clean path, each segment escaped.
func (a ArtifactRoot) url(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return a.BaseURL + "/api/2.0/mlflow-artifacts/artifacts/" + strings.Join(segs, "/")
}

func joinPath(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "/" + b
}

// ResolveArtifactURI finds where the files of an artifact URI are:
//
//   - mlflow-artifacts:/P — P on this client's server;
//     mlflow-artifacts://host[:port]/P — P on that host, with this client's
//     scheme and path prefix, as MLflow's client resolves it;
//   - runs:/<run id>[/path] — the run's artifact_uri (runs/get), then path;
//   - models:/<name>/<version>, models:/<name>@<alias>,
//     models:/<name>/latest — the version (registered-models/alias, or
//     get-latest-versions for latest), then its download URI
//     (model-versions/get-download-uri), itself resolved in turn.
//
// Errors: EINVALID (a URI of another scheme, or whose artifacts are not
// behind a server's proxy, an unsafe path), ENOTFOUND (run, model, version,
// alias), and the codes of error answers (see LogBatch).
func (c *Client) ResolveArtifactURI(ctx context.Context, uri string) (ArtifactRoot, error) {
	return c.resolveArtifactURI(ctx, uri, 0)
}

func (c *Client) resolveArtifactURI(ctx context.Context, uri string, depth int) (ArtifactRoot, error) {
	if depth > 3 {
		return ArtifactRoot{}, hangar.Errorf(hangar.EINVALID, "artifact URI %q: too many indirections", uri)
	}
	scheme, rest, _ := strings.Cut(uri, ":")
	switch strings.ToLower(scheme) {
	case "mlflow-artifacts":
		base := c.URL
		if host, p, ok := strings.Cut(strings.TrimPrefix(rest, "//"), "/"); strings.HasPrefix(rest, "//") {
			if !ok {
				p = ""
			}
			u, err := url.Parse(c.URL)
			if err != nil || host == "" {
				return ArtifactRoot{}, hangar.Errorf(hangar.EINVALID, "artifact URI %q names no host", uri)
			}
			u.Host = host
			base, rest = strings.TrimSuffix(u.String(), "/"), p
		}
		p, err := hangar.CleanArtifactPath(strings.TrimPrefix(rest, "/"))
		if err != nil {
			return ArtifactRoot{}, fmt.Errorf("artifact URI %q: %w", uri, err)
		}
		dir, name := hangar.ArtifactDir(p)
		return ArtifactRoot{BaseURL: base, Path: dir, Sub: name}, nil
	case "runs":
		idAndPath := strings.TrimLeft(rest, "/")
		id, sub, _ := strings.Cut(idAndPath, "/")
		if id == "" {
			return ArtifactRoot{}, hangar.Errorf(hangar.EINVALID, "artifact URI %q: want runs:/<run_id>/<path>", uri)
		}
		sub, err := hangar.CleanArtifactPath(sub)
		if err != nil {
			return ArtifactRoot{}, fmt.Errorf("artifact URI %q: %w", uri, err)
		}
		var resp struct {
			Run struct {
				Info struct {
					ArtifactURI string `json:"artifact_uri"`
				} `json:"info"`
			} `json:"run"`
		}
		if err := c.artifactGetJSON(ctx, "runs/get", url.Values{"run_id": {id}, "run_uuid": {id}}, &resp); err != nil {
			return ArtifactRoot{}, err
		}
		root, err := c.resolveArtifactURI(ctx, resp.Run.Info.ArtifactURI, depth+1)
		if err != nil {
			return ArtifactRoot{}, fmt.Errorf("artifacts of run %s: %w", id, err)
		}
		return ArtifactRoot{BaseURL: root.BaseURL, Path: root.full(), Sub: sub}, nil
	case "models":
		mu, err := hangar.ParseModelURI(uri)
		if err != nil {
			return ArtifactRoot{}, err
		}
		version, err := c.modelVersion(ctx, mu)
		if err != nil {
			return ArtifactRoot{}, err
		}
		var resp struct {
			ArtifactURI string `json:"artifact_uri"`
		}
		if err := c.artifactGetJSON(ctx, "model-versions/get-download-uri", url.Values{"name": {mu.Name}, "version": {version}}, &resp); err != nil {
			return ArtifactRoot{}, err
		}
		root, err := c.resolveArtifactURI(ctx, resp.ArtifactURI, depth+1)
		if err != nil {
			return ArtifactRoot{}, fmt.Errorf("model %s version %s: %w", mu.Name, version, err)
		}
		return ArtifactRoot{BaseURL: root.BaseURL, Path: root.full()}, nil
	}
	return ArtifactRoot{}, hangar.Errorf(hangar.EINVALID, "artifact URI %q: want mlflow-artifacts:, runs:/ or models:/ (other stores are not reached through the server)", uri)
}

// modelVersion returns the version a parsed models:/ URI names.
func (c *Client) modelVersion(ctx context.Context, mu hangar.ModelURI) (string, error) {
	switch {
	case mu.Version != "":
		return mu.Version, nil
	case mu.Alias != "":
		var resp struct {
			ModelVersion struct {
				Version string `json:"version"`
			} `json:"model_version"`
		}
		if err := c.artifactGetJSON(ctx, "registered-models/alias", url.Values{"name": {mu.Name}, "alias": {mu.Alias}}, &resp); err != nil {
			return "", err
		}
		return resp.ModelVersion.Version, nil
	case mu.Latest || mu.Stage != "":
		q := url.Values{"name": {mu.Name}}
		if mu.Stage != "" {
			q.Set("stages", mu.Stage)
		}
		var resp struct {
			ModelVersions []struct {
				Version string `json:"version"`
			} `json:"model_versions"`
		}
		if err := c.artifactGetJSON(ctx, "registered-models/get-latest-versions", q, &resp); err != nil {
			return "", err
		}
		best, bestN := "", int64(-1)
		for _, v := range resp.ModelVersions {
			if n, err := strconv.ParseInt(v.Version, 10, 64); err == nil && n > bestN {
				best, bestN = v.Version, n
			}
		}
		if best == "" {
			return "", hangar.Errorf(hangar.ENOTFOUND, "No versions of model with name '%s' found", mu.Name)
		}
		return best, nil
	}
	return "", hangar.Errorf(hangar.EINVALID, "models:/%s: a logged model (MLflow 3) has no registry version to download", mu.ModelID)
}

// ModelRefURI turns a model reference as Hangar's and Azure ML's CLIs
// write it into a models:/ URI: name:version, name@alias, name@latest,
// each optionally prefixed with azureml:, and a bare name for its latest
// version; a models:/ URI passes as it is. Errors: EINVALID.
func ModelRefURI(ref string) (string, error) {
	if strings.HasPrefix(ref, "models:") {
		mu, err := hangar.ParseModelURI(ref)
		if err != nil {
			return "", err
		}
		if mu.Name == "" || mu.ModelID != "" {
			return "", hangar.Errorf(hangar.EINVALID, "model reference %q names no registered model: want models:/NAME/VERSION, models:/NAME@ALIAS or models:/NAME/latest", ref)
		}
		return ref, nil
	}
	r := strings.TrimPrefix(ref, "azureml:")
	var uri string
	if name, alias, ok := strings.Cut(r, "@"); ok {
		if strings.EqualFold(alias, "latest") {
			uri = "models:/" + name + "/latest"
		} else {
			uri = "models:/" + name + "@" + alias
		}
	} else if name, version, ok := strings.Cut(r, ":"); ok {
		if version == "" || strings.Trim(version, "0123456789") != "" {
			return "", hangar.Errorf(hangar.EINVALID, "model reference %q: the version after ':' must be a number", ref)
		}
		uri = "models:/" + name + "/" + version
	} else {
		uri = "models:/" + r + "/latest"
	}
	mu, err := hangar.ParseModelURI(uri)
	if err != nil || mu.ModelID != "" {
		return "", hangar.Errorf(hangar.EINVALID, "model reference %q: want NAME, NAME:VERSION, NAME@ALIAS or NAME@latest (optionally azureml:…)", ref)
	}
	if err := hangar.ValidateRegisteredModelName(mu.Name); err != nil {
		return "", hangar.Errorf(hangar.EINVALID, "model reference %q: %s", ref, hangar.ErrorMessage(err))
	}
	return uri, nil
}

// ArtifactOption changes how artifacts are moved.
type ArtifactOption func(*artifactOptions)

type artifactOptions struct {
	progress func(path string, done, total int64)
}

// WithProgress has fn called as each file's bytes go out or come in: path
// is the artifact path, done the bytes moved so far, total the file's size
// (-1 when unknown). It is called at least once per file, last with all of
// its bytes (0, 0 for an empty file).
func WithProgress(fn func(path string, done, total int64)) ArtifactOption {
	return func(o *artifactOptions) { o.progress = fn }
}

func artifactOpts(opts []ArtifactOption) artifactOptions {
	var o artifactOptions
	for _, f := range opts {
		f(&o)
	}
	return o
}

// UploadFile logs one local file under artifactPath ("" for the root) of
// the artifact URI, as MLflow's log_artifact does: to
// <root>/<artifactPath>/<the file's base name>. The file is streamed.
func (c *Client) UploadFile(ctx context.Context, artifactURI, localPath, artifactPath string, opts ...ArtifactOption) error {
	root, err := c.ResolveArtifactURI(ctx, artifactURI)
	if err != nil {
		return err
	}
	dst, err := hangar.CleanArtifactPath(artifactPath)
	if err != nil {
		return err
	}
	return c.putFile(ctx, root, localPath, joinPath(dst, filepath.Base(localPath)), artifactOpts(opts))
}

// LogArtifacts logs every regular file under the local folder localDir
// below artifactPath ("" for the root) of the artifact URI, keeping their
// relative paths, as MLflow's log_artifacts does; each file is streamed.
// Symbolic links below localDir and other special files are skipped (a
// link could point anywhere on the machine). Errors: EINVALID (a file name the server would
// refuse), those of the requests.
func (c *Client) LogArtifacts(ctx context.Context, artifactURI, localDir, artifactPath string, opts ...ArtifactOption) error {
	root, err := c.ResolveArtifactURI(ctx, artifactURI)
	if err != nil {
		return err
	}
	dst, err := hangar.CleanArtifactPath(artifactPath)
	if err != nil {
		return err
	}
	o := artifactOpts(opts)
	// The folder itself may be a link (WalkDir would not enter it); links
	// inside it are skipped.
	if localDir, err = filepath.EvalSymlinks(localDir); err != nil {
		return hangar.Errorf(hangar.EINVALID, "log artifacts: %v", err)
	}
	return filepath.WalkDir(localDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(localDir, p)
		if err != nil {
			return err
		}
		return c.putFile(ctx, root, p, joinPath(dst, filepath.ToSlash(rel)), o)
	})
}

// putFile streams a local file to the artifact path rel below root.
func (c *Client) putFile(ctx context.Context, root ArtifactRoot, local, rel string, o artifactOptions) error {
	target, err := hangar.CleanArtifactPath(joinPath(root.full(), rel))
	if err != nil {
		return fmt.Errorf("upload %s: %w", local, err)
	}
	f, err := os.Open(local)
	if err != nil {
		return hangar.Errorf(hangar.EINVALID, "upload: %v", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("upload %s: %w", local, err)
	}
	var body io.Reader = f
	if o.progress != nil {
		body = &progressReader{r: f, path: rel, total: st.Size(), fn: o.progress}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, root.url(target), body)
	if err != nil {
		return hangar.Errorf(hangar.EINVALID, "upload %s: %v", local, err)
	}
	req.ContentLength = st.Size()
	if st.Size() == 0 {
		req.Body = http.NoBody
	}
	// The server ignores the type; octet-stream is also what a server
	// without authentication accepts from a non-browser client.
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := c.artifactDo(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if o.progress != nil && st.Size() == 0 {
		o.progress(rel, 0, 0)
	}
	return nil
}

// progressReader reports the bytes read through it.
type progressReader struct {
	r     io.Reader
	path  string
	done  int64
	total int64
	fn    func(path string, done, total int64)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		p.done += int64(n)
		p.fn(p.path, p.done, p.total)
	}
	return n, err
}

// ListArtifacts lists one level under path ("" for the URI itself) of an
// artifact URI through the proxy: paths relative to the URI, directories
// with IsDir. A file or a missing path lists nothing, as MLflow's does.
func (c *Client) ListArtifacts(ctx context.Context, artifactURI, path string) ([]FileInfo, error) {
	root, err := c.ResolveArtifactURI(ctx, artifactURI)
	if err != nil {
		return nil, err
	}
	sub, err := hangar.CleanArtifactPath(path)
	if err != nil {
		return nil, err
	}
	files, err := c.listProxy(ctx, root, joinPath(root.full(), sub))
	if err != nil {
		return nil, err
	}
	for i := range files {
		files[i].Path = joinPath(sub, files[i].Path)
	}
	return files, nil
}

// listProxy lists one level of the proxy path dir, refusing entries whose
// names are not one plain segment (a server must not steer a download
// outside its destination).
func (c *Client) listProxy(ctx context.Context, root ArtifactRoot, dir string) ([]FileInfo, error) {
	u := root.BaseURL + "/api/2.0/mlflow-artifacts/artifacts?" + url.Values{"path": {dir}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, hangar.Errorf(hangar.EINVALID, "list artifacts: %v", err)
	}
	resp, err := c.artifactDo(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out ListArtifactsResponse
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&out); err != nil {
		return nil, hangar.Errorf(hangar.EUNAVAILABLE, "list artifacts of %q: the answer is not MLflow's listing: %v", dir, err)
	}
	for _, f := range out.Files {
		if err := checkEntryName(f.Path); err != nil {
			return nil, fmt.Errorf("list artifacts of %q: %w", dir, err)
		}
	}
	return out.Files, nil
}

// checkEntryName refuses a listed name that is not one safe path segment.
func checkEntryName(name string) error {
	clean, err := hangar.CleanArtifactPath(name)
	if err != nil || clean != name || name == "" || strings.Contains(name, "/") {
		return hangar.Errorf(hangar.EINVALID, "the server listed an unsafe artifact name %q", truncate(name, 200))
	}
	return nil
}

// DownloadArtifacts downloads what an artifact URI names into the local
// folder dst (created if needed) and returns the local path of what it
// wrote: a root's contents (runs:/<id>, models:/…) go into dst itself, a
// directory or file below a root into dst/<its last segment>, as MLflow's
// download_artifacts(artifact_uri=…, dst_path=…) does. Files are streamed
// and checked against their listed size; every name the server lists must
// be one plain segment, and every file is written through an os.Root on
// dst, so nothing lands outside it.
func (c *Client) DownloadArtifacts(ctx context.Context, uri, dst string, opts ...ArtifactOption) (string, error) {
	root, err := c.ResolveArtifactURI(ctx, uri)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return "", hangar.Errorf(hangar.EINVALID, "download: %v", err)
	}
	fsRoot, err := os.OpenRoot(dst)
	if err != nil {
		return "", hangar.Errorf(hangar.EINVALID, "download: %v", err)
	}
	defer fsRoot.Close()
	o := artifactOpts(opts)
	src := root.full()
	files, err := c.listProxy(ctx, root, src)
	if err != nil {
		return "", err
	}
	local := "."
	if root.Sub != "" {
		_, local = hangar.ArtifactDir(root.Sub)
	}
	if len(files) == 0 && root.Sub != "" {
		// Not a directory: a file, or nothing.
		if err := c.getFile(ctx, root, src, fsRoot, local, -1, o); err != nil {
			return "", err
		}
		return filepath.Join(dst, local), nil
	}
	if len(files) == 0 {
		return "", hangar.Errorf(hangar.ENOTFOUND, "no artifacts at %s", uri)
	}
	if err := c.getTree(ctx, root, src, files, fsRoot, local, o, 0); err != nil {
		return "", err
	}
	return filepath.Join(dst, local), nil
}

// maxArtifactDepth bounds how deep a download follows a server's listing.
const maxArtifactDepth = 64

// getTree downloads the listed entries of the proxy directory src into
// the local directory local of fsRoot.
func (c *Client) getTree(ctx context.Context, root ArtifactRoot, src string, files []FileInfo, fsRoot *os.Root, local string, o artifactOptions, depth int) error {
	if depth > maxArtifactDepth {
		return hangar.Errorf(hangar.EINVALID, "artifact tree deeper than %d levels at %q", maxArtifactDepth, src)
	}
	if err := fsRoot.MkdirAll(local, 0o755); err != nil {
		return hangar.Errorf(hangar.EINVALID, "download: %v", err)
	}
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		p := joinPath(src, f.Path)
		lp := filepath.Join(local, f.Path)
		if !f.IsDir {
			size := int64(-1)
			if f.FileSize != nil {
				size = int64(*f.FileSize)
			}
			if err := c.getFile(ctx, root, p, fsRoot, lp, size, o); err != nil {
				return err
			}
			continue
		}
		sub, err := c.listProxy(ctx, root, p)
		if err != nil {
			return err
		}
		if err := c.getTree(ctx, root, p, sub, fsRoot, lp, o, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// getFile streams the proxy file p into local (a path in fsRoot), through
// a temporary file renamed into place once complete and of the size the
// server said (size, or its Content-Length; -1 when neither is known).
func (c *Client) getFile(ctx context.Context, root ArtifactRoot, p string, fsRoot *os.Root, local string, size int64, o artifactOptions) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, root.url(p), nil)
	if err != nil {
		return hangar.Errorf(hangar.EINVALID, "download %q: %v", p, err)
	}
	resp, err := c.artifactDo(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if size < 0 {
		size = resp.ContentLength
	}
	tmp := local + ".part"
	f, err := fsRoot.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return hangar.Errorf(hangar.EINVALID, "download %q: %v", p, err)
	}
	var body io.Reader = resp.Body
	if o.progress != nil {
		body = &progressReader{r: resp.Body, path: p, total: size, fn: o.progress}
	}
	n, err := io.Copy(f, body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && size >= 0 && n != size {
		err = hangar.Errorf(hangar.EUNAVAILABLE, "got %d bytes, want %d", n, size)
	}
	if err == nil {
		err = fsRoot.Rename(tmp, local)
	}
	if err != nil {
		fsRoot.Remove(tmp)
		return fmt.Errorf("download %q: %w", p, err)
	}
	if o.progress != nil && n == 0 {
		o.progress(p, 0, 0)
	}
	return nil
}

// artifactGetJSON sends GET /api/2.0/mlflow/<method>?q and decodes the answer.
func (c *Client) artifactGetJSON(ctx context.Context, method string, q url.Values, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.URL+"/api/2.0/mlflow/"+method+"?"+q.Encode(), nil)
	if err != nil {
		return hangar.Errorf(hangar.EINVALID, "MLflow %s: %v", method, err)
	}
	resp, err := c.artifactDo(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(out); err != nil {
		return hangar.Errorf(hangar.EUNAVAILABLE, "MLflow %s: the answer is not JSON: %v", method, err)
	}
	return nil
}

// artifactDo sends a request with the client's credentials, without the
// per-request timeout (streams are bounded by their context), and turns
// an error answer into an error (see LogBatch for the codes). The caller
// closes the body of a 2xx answer.
func (c *Client) artifactDo(req *http.Request) (*http.Response, error) {
	c.SetAuth(req)
	hc := http.Client{}
	if c.HTTP != nil {
		hc = *c.HTTP
		hc.Timeout = 0
	}
	resp, err := hc.Do(req)
	if err != nil {
		if req.Context().Err() != nil {
			return nil, req.Context().Err()
		}
		return nil, hangar.Errorf(hangar.EUNAVAILABLE, "MLflow at %s: %s %s failed: %v", req.URL.Host, req.Method, req.URL.Path, err)
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return nil, hangar.Errorf(AnswerCode(resp.StatusCode, msg), "MLflow at %s answered %s to %s %s: %s", req.URL.Host, resp.Status, req.Method, req.URL.Path, errorText(msg))
}
