package httpapi_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/httpapi"
	"github.com/hangar-ml/hangar/mlflow"
)

// newMLflowRun creates a run in experiment 0 of the workspace the prefix
// names ("" or "/w/<ws>") and returns its id and artifact URI.
func (e *env) newMLflowRun(prefix, token string) (id, artifactURI string) {
	e.t.Helper()
	r := e.mlflow("POST", prefix+"/api/2.0/mlflow/runs/create", token, `{"experiment_id":"0","start_time":1700000000000}`)
	if r.status != http.StatusOK {
		e.t.Fatalf("runs/create: %d %s", r.status, r.body)
	}
	tt := e.t.(*testing.T)
	return field(tt, r.body, "run.info.run_id"), field(tt, r.body, "run.info.artifact_uri")
}

// putArtifact PUTs a file as MLflow's Python client does: the raw bytes,
// the file's guessed type as Content-Type.
func (e *env) putArtifact(prefix, token, path, body, contentType string, header ...string) response {
	e.t.Helper()
	return e.do("PUT", prefix+"/api/2.0/mlflow-artifacts/artifacts/"+path, token, body,
		append([]string{"User-Agent", "mlflow-python-client/2.10.2", "Content-Type", contentType}, header...)...)
}

func TestMLflowArtifactProxy(t *testing.T) {
	e := newEnv(t)
	tok := e.adminToken()
	runID, uri := e.newMLflowRun("", tok)
	if want := "mlflow-artifacts:/0/" + runID + "/artifacts"; uri != want {
		t.Fatalf("artifact_uri %q, want %q", uri, want)
	}
	root := "0/" + runID + "/artifacts"

	// The client's log_artifact and log_model: one PUT per file, {} back.
	files := map[string]string{
		"docs/notes.txt":           "hello artifacts\n",
		"model/MLmodel":            "artifact_path: model\nflavors: {}\n",
		"model/model.pkl":          strings.Repeat("\x00\x01pickle", 1000),
		"model/requirements.txt":   "scikit-learn\n",
		"model/sub dir/a b%20.txt": "spaces",
	}
	for p, body := range files {
		ct := "application/octet-stream"
		if strings.HasSuffix(p, ".txt") {
			ct = "text/plain"
		}
		r := e.putArtifact("", tok, root+"/"+strings.ReplaceAll(strings.ReplaceAll(p, "%", "%25"), " ", "%20"), body, ct)
		if r.status != http.StatusOK {
			t.Fatalf("PUT %s: %d %s", p, r.status, r.body)
		}
		sameJSON(t, "PUT "+p, r.body, `{}`)
	}
	ev := e.events()
	last := ev[len(ev)-1]
	if last.Action != hangar.ActArtifactWrite || !strings.HasPrefix(last.Target, "artifacts/"+root+"/") || last.Workspace != "default" || last.Actor == "" {
		t.Errorf("event of a PUT: got %+v, want artifacts/write on artifacts/%s/… in default by the caller", last, root)
	}

	// The proxy's listing: basenames, one level, is_dir always, file_size for files.
	list := func(path string) response {
		t.Helper()
		q := ""
		if path != "-" {
			q = "?path=" + strings.ReplaceAll(path, " ", "%20")
		}
		return e.mlflow("GET", "/api/2.0/mlflow-artifacts/artifacts"+q, tok, "")
	}
	sameJSON(t, "list root", list("-").body, `{"files":[{"path":"0","is_dir":true}]}`)
	sameJSON(t, "list the run", list(root).body, `{"files":[{"path":"docs","is_dir":true},{"path":"model","is_dir":true}]}`)
	sameJSON(t, "list model", list(root+"/model").body, fmt.Sprintf(`{"files":[
		{"path":"MLmodel","is_dir":false,"file_size":%d},
		{"path":"model.pkl","is_dir":false,"file_size":%d},
		{"path":"requirements.txt","is_dir":false,"file_size":13},
		{"path":"sub dir","is_dir":true}]}`, len(files["model/MLmodel"]), len(files["model/model.pkl"])))
	sameJSON(t, "list a file", list(root+"/docs/notes.txt").body, `{}`)
	sameJSON(t, "list a missing path", list(root+"/nothing").body, `{}`)
	sameJSON(t, "list with a trailing slash", list(root+"/docs/").body, `{"files":[{"path":"notes.txt","is_dir":false,"file_size":16}]}`)

	// artifacts/list: paths relative to the run's root, and root_uri.
	r := e.mlflow("GET", "/api/2.0/mlflow/artifacts/list?run_uuid="+runID+"&run_id="+runID, tok, "")
	sameJSON(t, "artifacts/list", r.body, fmt.Sprintf(`{"root_uri":%q,"files":[{"path":"docs","is_dir":true},{"path":"model","is_dir":true}]}`, uri))
	r = e.mlflow("GET", "/api/2.0/mlflow/artifacts/list?run_id="+runID+"&path=model/sub%20dir", tok, "")
	sameJSON(t, "artifacts/list of a directory", r.body, fmt.Sprintf(`{"root_uri":%q,"files":[{"path":"model/sub dir/a b%%20.txt","is_dir":false,"file_size":6}]}`, uri))
	r = e.mlflow("GET", "/api/2.0/mlflow/artifacts/list?run_id=0123456789abcdef0123456789abcdef", tok, "")
	if r.status != http.StatusNotFound || field(t, r.body, "error_code") != "RESOURCE_DOES_NOT_EXIST" {
		t.Errorf("artifacts/list of a missing run: %d %s, want 404 RESOURCE_DOES_NOT_EXIST", r.status, r.body)
	}
	wantMLflowError(t, "artifacts/list without run_id", e.mlflow("GET", "/api/2.0/mlflow/artifacts/list", tok, ""),
		http.StatusBadRequest, "INVALID_PARAMETER_VALUE", "Missing value for required parameter 'run_id'. See the API docs for more information about request parameters.")

	// Downloads: the bytes, as an attachment, with a guessed type and a length.
	r = e.mlflow("GET", "/api/2.0/mlflow-artifacts/artifacts/"+root+"/docs/notes.txt", tok, "")
	if r.status != http.StatusOK || string(r.body) != files["docs/notes.txt"] {
		t.Fatalf("GET notes.txt: %d %q", r.status, r.body)
	}
	for k, want := range map[string]string{
		"Content-Disposition":    `attachment; filename=notes.txt`,
		"Content-Type":           "text/plain; charset=utf-8",
		"Content-Length":         "16",
		"X-Content-Type-Options": "nosniff",
	} {
		if got := r.header.Get(k); got != want {
			t.Errorf("GET notes.txt: %s %q, want %q", k, got, want)
		}
	}
	r = e.mlflow("GET", "/api/2.0/mlflow-artifacts/artifacts/"+root+"/model/sub%20dir/a%20b%2520.txt", tok, "")
	if r.status != http.StatusOK || string(r.body) != "spaces" || r.header.Get("Content-Disposition") != `attachment; filename="a b%20.txt"` {
		t.Errorf("GET a name with spaces: %d %q %q", r.status, r.body, r.header.Get("Content-Disposition"))
	}
	r = e.mlflow("GET", "/api/2.0/mlflow-artifacts/artifacts/"+root+"/model/model.pkl", tok, "")
	if r.status != http.StatusOK || string(r.body) != files["model/model.pkl"] || r.header.Get("Content-Type") != "application/octet-stream" {
		t.Errorf("GET model.pkl: %d, %d bytes, %q", r.status, len(r.body), r.header.Get("Content-Type"))
	}
	r = e.do("HEAD", "/api/2.0/mlflow-artifacts/artifacts/"+root+"/docs/notes.txt", tok, "")
	if r.status != http.StatusOK || len(r.body) != 0 || r.header.Get("Content-Length") != "16" {
		t.Errorf("HEAD notes.txt: %d %q length %q", r.status, r.body, r.header.Get("Content-Length"))
	}
	for _, p := range []string{root + "/docs", root + "/missing.txt"} {
		wantMLflowError(t, "GET "+p, e.mlflow("GET", "/api/2.0/mlflow-artifacts/artifacts/"+p, tok, ""),
			http.StatusNotFound, "RESOURCE_DOES_NOT_EXIST", fmt.Sprintf("No such file or directory: '%s'", p))
	}

	// A PUT to the same path replaces the file.
	if r := e.putArtifact("", tok, root+"/docs/notes.txt", "v2", "text/plain"); r.status != http.StatusOK {
		t.Fatalf("PUT again: %d %s", r.status, r.body)
	}
	if r := e.mlflow("GET", "/api/2.0/mlflow-artifacts/artifacts/"+root+"/docs/notes.txt", tok, ""); string(r.body) != "v2" {
		t.Errorf("GET after a second PUT: %q, want v2", r.body)
	}
	// A file under a file is refused.
	r = e.putArtifact("", tok, root+"/docs/notes.txt/x", "x", "text/plain")
	if r.status != http.StatusBadRequest || field(t, r.body, "error_code") != "RESOURCE_ALREADY_EXISTS" {
		t.Errorf("PUT under a file: %d %s, want 400 RESOURCE_ALREADY_EXISTS", r.status, r.body)
	}

	// DELETE: a file, then a directory with all under it; {} each time,
	// nothing there being no error.
	for _, p := range []string{root + "/docs/notes.txt", root + "/model", root + "/model"} {
		r := e.mlflow("DELETE", "/api/2.0/mlflow-artifacts/artifacts/"+p, tok, "")
		if r.status != http.StatusOK {
			t.Fatalf("DELETE %s: %d %s", p, r.status, r.body)
		}
		sameJSON(t, "DELETE "+p, r.body, `{}`)
	}
	sameJSON(t, "list root after deleting everything", list("-").body, `{}`)
	ev = e.events()
	if last := ev[len(ev)-1]; last.Action != hangar.ActArtifactWrite || last.Target != "artifacts/"+root+"/model" {
		t.Errorf("event of a DELETE: got %+v, want artifacts/write on artifacts/%s/model", last, root)
	}

	// Multipart uploads: MLflow's answer for a store without them, on
	// which its client falls back to one PUT.
	for _, op := range []string{"create", "complete", "abort"} {
		wantMLflowError(t, "mpu/"+op, e.mlflow("POST", "/api/2.0/mlflow-artifacts/mpu/"+op+"/"+root+"/big.bin", tok, `{"path":"big.bin","num_parts":3}`),
			http.StatusNotImplemented, "NOT_IMPLEMENTED", "Multipart upload is not supported for the current artifact repository")
	}
}

// TestMLflowArtifactPathSafety: every route refuses paths that climb out,
// are absolute or use another separator, in any encoding, with MLflow's 400.
func TestMLflowArtifactPathSafety(t *testing.T) {
	e := newEnv(t)
	tok := e.adminToken()
	if r := e.putArtifact("", tok, "safe/file.txt", "ok", "text/plain"); r.status != http.StatusOK {
		t.Fatalf("PUT: %d %s", r.status, r.body)
	}
	for _, p := range []string{
		"../x",              // the router's canonical-path check
		"a/../../x",         //
		"%2e%2e/x",          // encoded dot-dot
		"a/%2E%2E/%2e%2e/x", //
		"%252e%252e/x",      // double encoding
		"%25252e%25252e/x",  // triple
		"a%5c..%5cx",        // encoded backslash
		"a%255c..%255cx",    // double-encoded backslash
		"%2fetc%2fpasswd",   // encoded absolute path
		"C:%5cWindows",      // Windows drive
		"c%3a/x",            // encoded drive
		"a%23b",             // '#'
		"a%00b",             // NUL
		"a%2F%2Fb",          // an encoded empty segment
		"",                  // the root names no file
		strings.Repeat("a/", 600) + "x",
	} {
		for _, m := range []string{"PUT", "GET", "DELETE"} {
			r := e.do(m, "/api/2.0/mlflow-artifacts/artifacts/"+p, tok, "x", "Content-Type", "text/plain")
			if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), `"INVALID_PARAMETER_VALUE"`) {
				t.Errorf("%s %q: %d %s, want 400 INVALID_PARAMETER_VALUE", m, p, r.status, r.body)
			}
		}
	}
	for _, q := range []string{"../x", "%2e%2e", "%252e%252e%252fx", "/etc", "a%5cb", "a\\b", "C:/x"} {
		r := e.mlflow("GET", "/api/2.0/mlflow-artifacts/artifacts?path="+q, tok, "")
		if r.status != http.StatusBadRequest || field(t, r.body, "error_code") != "INVALID_PARAMETER_VALUE" || !strings.HasPrefix(field(t, r.body, "message"), "Invalid path") {
			t.Errorf("list %q: %d %s, want 400 INVALID_PARAMETER_VALUE Invalid path", q, r.status, r.body)
		}
	}
	// Nothing got written.
	sameJSON(t, "list root", e.mlflow("GET", "/api/2.0/mlflow-artifacts/artifacts", tok, "").body, `{"files":[{"path":"safe","is_dir":true}]}`)
}

// TestMLflowArtifactWorkspaces: artifacts belong to a workspace, whichever
// way it is named (/w/{ws}, the X-MLFLOW-WORKSPACE header); another
// workspace sees nothing, not even by the content's digest.
func TestMLflowArtifactWorkspaces(t *testing.T) {
	e := newEnv(t)
	tok := e.adminToken()
	e.createWorkspace("team-a")
	e.createWorkspace("team-b")
	body := "team-a's model"
	sum := sha256.Sum256([]byte(body))
	digest := "sha256:" + hex.EncodeToString(sum[:])
	if r := e.putArtifact("/w/team-a", tok, "1/r/artifacts/model.bin", body, "application/octet-stream"); r.status != http.StatusOK {
		t.Fatalf("PUT in team-a: %d %s", r.status, r.body)
	}
	get := func(prefix, p string, header ...string) response {
		return e.do("GET", prefix+"/api/2.0/mlflow-artifacts/artifacts/"+p, tok, "", header...)
	}
	if r := get("/w/team-a", "1/r/artifacts/model.bin"); r.status != http.StatusOK || string(r.body) != body {
		t.Errorf("GET in team-a: %d %q", r.status, r.body)
	}
	if r := get("", "1/r/artifacts/model.bin", "X-MLFLOW-WORKSPACE", "team-a"); r.status != http.StatusOK || string(r.body) != body {
		t.Errorf("GET with the header: %d %q", r.status, r.body)
	}
	for _, prefix := range []string{"", "/w/team-b"} {
		if r := get(prefix, "1/r/artifacts/model.bin"); r.status != http.StatusNotFound {
			t.Errorf("GET from %q: %d %s, want 404", prefix, r.status, r.body)
		}
		sameJSON(t, "list from "+prefix, e.mlflow("GET", prefix+"/api/2.0/mlflow-artifacts/artifacts?path=1", tok, "").body, `{}`)
		if r := e.do("GET", "/api/v1/workspaces/"+strings.TrimPrefix(cmpOr(prefix, "/w/default"), "/w/")+"/blobs/"+digest, tok, ""); r.status != http.StatusNotFound {
			t.Errorf("blob of team-a's artifact from %q: %d, want 404", prefix, r.status)
		}
	}
	// The upload gave team-a the blob: the native route serves it there.
	if r := e.do("GET", "/api/v1/workspaces/team-a/blobs/"+digest, tok, ""); r.status != http.StatusOK || string(r.body) != body {
		t.Errorf("team-a's blob: %d %q", r.status, r.body)
	}
	// A DELETE from another workspace deletes nothing of team-a's.
	e.do("DELETE", "/w/team-b/api/2.0/mlflow-artifacts/artifacts/1", tok, "")
	if r := get("/w/team-a", "1/r/artifacts/model.bin"); r.status != http.StatusOK {
		t.Errorf("GET in team-a after team-b's DELETE: %d", r.status)
	}

	// Roles: a Reader of team-a reads and lists, and may not write or delete.
	reader := e.token("reader-a", hangar.RoleReader, "team-a")
	if r := e.do("GET", "/w/team-a/api/2.0/mlflow-artifacts/artifacts/1/r/artifacts/model.bin", reader, ""); r.status != http.StatusOK {
		t.Errorf("a reader's GET: %d %s", r.status, r.body)
	}
	for _, m := range []string{"PUT", "DELETE"} {
		r := e.do(m, "/w/team-a/api/2.0/mlflow-artifacts/artifacts/1/r/artifacts/model.bin", reader, "x", "Content-Type", "text/plain")
		if r.status != http.StatusForbidden || field(t, r.body, "error_code") != "PERMISSION_DENIED" {
			t.Errorf("a reader's %s: %d %s, want 403 PERMISSION_DENIED", m, r.status, r.body)
		}
	}
	// … and nothing of team-b.
	if r := e.do("GET", "/w/team-b/api/2.0/mlflow-artifacts/artifacts?path=", reader, ""); r.status != http.StatusForbidden {
		t.Errorf("a team-a reader listing team-b: %d, want 403", r.status)
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// TestMLflowArtifactLimits: an upload is bounded by MaxBlobBytes, not by
// the 1 MiB JSON limit.
func TestMLflowArtifactLimits(t *testing.T) {
	e := newEnvWith(t, func(s *httpapi.Server) { s.MaxBlobBytes = 3 << 20 })
	tok := e.adminToken()
	big := strings.Repeat("x", 2<<20)
	if r := e.putArtifact("", tok, "a/big.bin", big, "application/octet-stream"); r.status != http.StatusOK {
		t.Fatalf("PUT of 2 MiB (over the JSON limit): %d %s", r.status, r.body)
	}
	// Over the limit, declared or found while reading (a chunked body).
	small := newEnvWith(t, func(s *httpapi.Server) { s.MaxBlobBytes = 1000 })
	stok := small.adminToken()
	r := small.putArtifact("", stok, "a/huge.bin", strings.Repeat("x", 1001), "application/octet-stream")
	wantMLflowError(t, "PUT over MaxBlobBytes", r, http.StatusRequestEntityTooLarge, "BAD_REQUEST", "request body of 1001 bytes exceeds the limit of 1000 bytes")
	req, err := http.NewRequestWithContext(t.Context(), "PUT", small.srv.URL+"/api/2.0/mlflow-artifacts/artifacts/a/chunked.bin",
		io.MultiReader(strings.NewReader(strings.Repeat("y", 1001))))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+stok)
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := small.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("chunked PUT over MaxBlobBytes: %s, want 413", resp.Status)
	}
	sameJSON(t, "list after refused PUTs", small.mlflow("GET", "/api/2.0/mlflow-artifacts/artifacts?path=a", stok, "").body, `{}`)
	sameJSON(t, "list", e.mlflow("GET", "/api/2.0/mlflow-artifacts/artifacts?path=a", tok, "").body,
		fmt.Sprintf(`{"files":[{"path":"big.bin","is_dir":false,"file_size":%d}]}`, 2<<20))
}

// TestMLflowArtifactStreamingMemory streams a large artifact up and down
// through the server and bounds the memory allocated on the way: the whole
// process (client and server) allocates a small fraction of the file, so
// neither side buffers it. (Not a timed test: only bytes are counted.)
// HANGAR_STREAM_TEST_MIB sets another size, e.g. 1024 for the 1 GB of
// issue 8 (BENCHMARKS.md).
func TestMLflowArtifactStreamingMemory(t *testing.T) {
	size := int64(256 << 20)
	if testing.Short() {
		size = 32 << 20
	}
	if v := os.Getenv("HANGAR_STREAM_TEST_MIB"); v != "" {
		mib, err := strconv.ParseInt(v, 10, 64)
		if err != nil || mib <= 0 {
			t.Fatalf("HANGAR_STREAM_TEST_MIB=%q: want a positive number of MiB", v)
		}
		size = mib << 20
	}
	e := newEnv(t)
	tok := e.adminToken()
	url := e.srv.URL + "/api/2.0/mlflow-artifacts/artifacts/0/run/artifacts/big.bin"

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)

	req, err := http.NewRequestWithContext(t.Context(), http.MethodPut, url, &patternReader{n: size})
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = size
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT: %s", resp.Status)
	}
	got := downloadSize(t, e, url, tok)
	runtime.ReadMemStats(&after)
	if got != size {
		t.Fatalf("GET: %d bytes, want %d", got, size)
	}
	allocated := after.TotalAlloc - before.TotalAlloc
	if limit := uint64(16 << 20); allocated > limit {
		t.Errorf("streaming %d MiB up and down allocated %d MiB, want under %d MiB", size>>20, allocated>>20, limit>>20)
	}
	t.Logf("streamed %d MiB up and down; %.1f MiB allocated, heap in use %d MiB", size>>20, float64(allocated)/(1<<20), after.HeapInuse>>20)
}

func downloadSize(t *testing.T, e *env, url, tok string) int64 {
	t.Helper()
	req, err := http.NewRequestWithContext(context.WithoutCancel(t.Context()), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET: %s", resp.Status)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// patternReader yields n bytes of a repeating pattern without allocating.
type patternReader struct{ n, off int64 }

func (r *patternReader) Read(p []byte) (int, error) {
	if r.off >= r.n {
		return 0, io.EOF
	}
	if rest := r.n - r.off; int64(len(p)) > rest {
		p = p[:rest]
	}
	for i := range p {
		p[i] = byte((r.off + int64(i)) * 31 >> 3)
	}
	r.off += int64(len(p))
	return len(p), nil
}

// TestMLflowArtifactClient: package mlflow's artifact client against the
// server, in a workspace named by the tracking URI's path: a folder logged
// and a file uploaded come back byte for byte by runs:/, models:/ (version,
// alias, latest) and mlflow-artifacts: URIs.
func TestMLflowArtifactClient(t *testing.T) {
	e := newEnv(t)
	tok := e.adminToken()
	e.createWorkspace("team-a")
	ctx := t.Context()
	runID, uri := e.newMLflowRun("/w/team-a", tok)
	c, err := mlflow.NewClient(e.srv.URL+"/w/team-a", tok)
	if err != nil {
		t.Fatal(err)
	}

	src := t.TempDir()
	files := map[string]string{
		"MLmodel":             "artifact_path: model\n",
		"model.pkl":           strings.Repeat("p", 100000),
		"data/weights.bin":    "w",
		"data/deeper/x y.txt": "spaces",
		"empty":               "",
	}
	for p, body := range files {
		full := filepath.Join(src, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var progressed []string
	if err := c.LogArtifacts(ctx, uri, src, "model", mlflow.WithProgress(func(p string, done, total int64) {
		if done == total {
			progressed = append(progressed, p)
		}
	})); err != nil {
		t.Fatalf("log artifacts: %v", err)
	}
	if len(progressed) != len(files) {
		t.Errorf("progress reported the end of %d files (%v), want %d", len(progressed), progressed, len(files))
	}
	note := filepath.Join(t.TempDir(), "notes.txt")
	os.WriteFile(note, []byte("a note"), 0o644)
	if err := c.UploadFile(ctx, "runs:/"+runID, note, "docs"); err != nil {
		t.Fatalf("upload a file: %v", err)
	}

	got, err := c.ListArtifacts(ctx, "runs:/"+runID, "model/data")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Path != "model/data/deeper" || !got[0].IsDir || got[1].Path != "model/data/weights.bin" || got[1].FileSize == nil || *got[1].FileSize != 1 {
		t.Errorf("list model/data: %+v", got)
	}
	// Not visible from the default workspace.
	def, _ := mlflow.NewClient(e.srv.URL, tok)
	if got, err := def.ListArtifacts(ctx, uri, "model"); err != nil || len(got) != 0 {
		t.Errorf("list from the default workspace: %+v, %v; want nothing", got, err)
	}

	// Register the model and download it every way.
	for _, call := range []struct{ method, path, body string }{
		{"POST", "registered-models/create", `{"name":"churn"}`},
		{"POST", "model-versions/create", fmt.Sprintf(`{"name":"churn","source":%q,"run_id":%q}`, uri+"/model", runID)},
		{"POST", "registered-models/alias", `{"name":"churn","alias":"champion","version":"1"}`},
	} {
		if r := e.mlflow(call.method, "/w/team-a/api/2.0/mlflow/"+call.path, tok, call.body); r.status != http.StatusOK {
			t.Fatalf("%s: %d %s", call.path, r.status, r.body)
		}
	}
	sameTree := func(what, dir string) {
		t.Helper()
		for p, body := range files {
			b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
			if err != nil || string(b) != body {
				t.Errorf("%s: %s: %d bytes, %v; want %d", what, p, len(b), err, len(body))
			}
		}
	}
	for _, u := range []string{"models:/churn/1", "models:/churn@champion", "models:/churn/latest"} {
		dst := t.TempDir()
		if _, err := c.DownloadArtifacts(ctx, u, dst); err != nil {
			t.Fatalf("download %s: %v", u, err)
		}
		sameTree(u, dst)
	}
	dst := t.TempDir()
	if got, err := c.DownloadArtifacts(ctx, "runs:/"+runID+"/model", dst); err != nil || got != filepath.Join(dst, "model") {
		t.Fatalf("download runs:/…/model: %q, %v", got, err)
	}
	sameTree("runs:/…/model", filepath.Join(dst, "model"))
	dst = t.TempDir()
	if _, err := c.DownloadArtifacts(ctx, uri, dst); err != nil {
		t.Fatal(err)
	}
	// The run's artifact URI names its last segment, as MLflow's
	// download_artifacts(artifact_uri=…) has it: dst/artifacts/….
	sameTree("the run's artifact URI", filepath.Join(dst, "artifacts", "model"))
	if b, _ := os.ReadFile(filepath.Join(dst, "artifacts", "docs", "notes.txt")); string(b) != "a note" {
		t.Errorf("docs/notes.txt: %q", b)
	}
}
