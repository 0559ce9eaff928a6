package mlflow

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hangar-ml/hangar"
)

func TestModelRefURI(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"churn:3", "models:/churn/3"},
		{"azureml:churn:3", "models:/churn/3"},
		{"churn@champion", "models:/churn@champion"},
		{"azureml:churn@champion", "models:/churn@champion"},
		{"churn@latest", "models:/churn/latest"},
		{"churn@LATEST", "models:/churn/latest"},
		{"churn", "models:/churn/latest"},
		{"models:/churn/2", "models:/churn/2"},
		{"models:/churn@prod", "models:/churn@prod"},
		{"my model:12", "models:/my model/12"},
	} {
		got, err := ModelRefURI(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ModelRefURI(%q): got %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "churn:", "churn:x", "churn:1.5", ":3", "@a", "a/b:1", "churn@", "models:/", "azureml:", "a:1:2", "models:/0", "models:/m-0123456789abcdef0123456789abcdef"} {
		if got, err := ModelRefURI(bad); !hangar.IsCode(err, hangar.EINVALID) {
			t.Errorf("ModelRefURI(%q): got %q, %v; want EINVALID", bad, got, err)
		}
	}
}

// FuzzModelRefURI: an accepted reference always gives a registry models:/
// URI that MLflow's parser takes.
func FuzzModelRefURI(f *testing.F) {
	for _, s := range []string{"churn:3", "azureml:churn@champion", "churn@latest", "churn", "models:/a/1", "a:1:2", "@"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ref string) {
		uri, err := ModelRefURI(ref)
		if err != nil {
			if !hangar.IsCode(err, hangar.EINVALID) {
				t.Fatalf("ModelRefURI(%q): %v, want EINVALID", ref, err)
			}
			return
		}
		mu, err := hangar.ParseModelURI(uri)
		if err != nil || mu.Name == "" || mu.ModelID != "" {
			t.Fatalf("ModelRefURI(%q) = %q, which parses to %+v, %v", ref, uri, mu, err)
		}
	})
}

// fakeServer answers the tracking and registry reads ResolveArtifactURI
// makes, and the proxy's list and GET from a map of files, recording the
// paths asked for.
type fakeServer struct {
	mu    sync.Mutex
	paths []string
	files map[string]string // proxy path → content
	list  map[string]string // proxy dir → raw JSON answer, overriding files
}

func (f *fakeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.paths = append(f.paths, r.Method+" "+r.URL.RequestURI())
	f.mu.Unlock()
	p := r.URL.Path
	if i := strings.Index(p, "/api/2.0/"); i > 0 {
		p = p[i:] // a /w/<ws> prefix
	}
	q := r.URL.Query()
	switch {
	case p == "/api/2.0/mlflow/runs/get":
		io.WriteString(w, `{"run":{"info":{"run_id":"`+q.Get("run_id")+`","artifact_uri":"mlflow-artifacts:/0/`+q.Get("run_id")+`/artifacts"}}}`)
	case p == "/api/2.0/mlflow/registered-models/alias":
		io.WriteString(w, `{"model_version":{"name":"m","version":"2"}}`)
	case p == "/api/2.0/mlflow/registered-models/get-latest-versions":
		io.WriteString(w, `{"model_versions":[{"version":"3"},{"version":"10"},{"version":"9"}]}`)
	case p == "/api/2.0/mlflow/model-versions/get-download-uri":
		io.WriteString(w, `{"artifact_uri":"runs:/r`+q.Get("version")+`/model"}`)
	case p == "/api/2.0/mlflow-artifacts/artifacts":
		dir := q.Get("path")
		if raw, ok := f.list[dir]; ok {
			io.WriteString(w, raw)
			return
		}
		var resp ListArtifactsResponse
		seen := map[string]bool{}
		for fp, body := range f.files {
			rest, ok := strings.CutPrefix(fp, dir+"/")
			if !ok {
				continue
			}
			name, _, deeper := strings.Cut(rest, "/")
			if seen[name] {
				continue
			}
			seen[name] = true
			fi := FileInfo{Path: name, IsDir: deeper}
			if !deeper {
				n := Int64(len(body))
				fi.FileSize = &n
			}
			resp.Files = append(resp.Files, fi)
		}
		json.NewEncoder(w).Encode(resp)
	case strings.HasPrefix(p, "/api/2.0/mlflow-artifacts/artifacts/"):
		body, ok := f.files[strings.TrimPrefix(p, "/api/2.0/mlflow-artifacts/artifacts/")]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"error_code":"RESOURCE_DOES_NOT_EXIST","message":"nope"}`)
			return
		}
		io.WriteString(w, body)
	default:
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"error_code":"ENDPOINT_NOT_FOUND","message":"no"}`)
	}
}

func TestResolveArtifactURI(t *testing.T) {
	srv := httptest.NewServer(&fakeServer{})
	defer srv.Close()
	c, err := NewClient(srv.URL+"/w/team-a", "tok")
	if err != nil {
		t.Fatal(err)
	}
	base := srv.URL + "/w/team-a"
	for _, tc := range []struct {
		uri  string
		want ArtifactRoot
	}{
		{"mlflow-artifacts:/0/abc/artifacts", ArtifactRoot{base, "0/abc", "artifacts"}},
		{"mlflow-artifacts:/0/abc/artifacts/model/", ArtifactRoot{base, "0/abc/artifacts", "model"}},
		{"mlflow-artifacts:/", ArtifactRoot{base, "", ""}},
		{"mlflow-artifacts://other:9000/0/x", ArtifactRoot{"http://other:9000/w/team-a", "0", "x"}},
		{"runs:/abc", ArtifactRoot{base, "0/abc/artifacts", ""}},
		{"runs:/abc/model/MLmodel", ArtifactRoot{base, "0/abc/artifacts", "model/MLmodel"}},
		{"models:/m/7", ArtifactRoot{base, "0/r7/artifacts/model", ""}},
		{"models:/m@champion", ArtifactRoot{base, "0/r2/artifacts/model", ""}},
		{"models:/m/latest", ArtifactRoot{base, "0/r10/artifacts/model", ""}},
	} {
		got, err := c.ResolveArtifactURI(t.Context(), tc.uri)
		if err != nil || got != tc.want {
			t.Errorf("ResolveArtifactURI(%q): got %+v, %v; want %+v", tc.uri, got, err, tc.want)
		}
	}
	for _, bad := range []string{"s3://bucket/x", "file:///etc", "/abs", "mlflow-artifacts:/../x", "mlflow-artifacts:/%2e%2e/x", "runs:/", "runs:/abc/../../x", "models:/", "models:/m/1/2"} {
		if got, err := c.ResolveArtifactURI(t.Context(), bad); !hangar.IsCode(err, hangar.EINVALID) {
			t.Errorf("ResolveArtifactURI(%q): got %+v, %v; want EINVALID", bad, got, err)
		}
	}
}

// TestDownloadRefusesUnsafeNames: a server that lists names climbing out
// of the destination gets nothing written outside it.
func TestDownloadRefusesUnsafeNames(t *testing.T) {
	for _, name := range []string{"..", "../evil", "a/../../evil", "/etc/passwd", `..\evil`, "%2e%2e", "", ".", "a/b"} {
		t.Run(name, func(t *testing.T) {
			raw, _ := json.Marshal(ListArtifactsResponse{Files: []FileInfo{{Path: name, IsDir: false}}})
			f := &fakeServer{
				files: map[string]string{"0/r/artifacts/ok.txt": "ok"},
				list:  map[string]string{"0/r/artifacts": string(raw)},
			}
			srv := httptest.NewServer(f)
			defer srv.Close()
			c, _ := NewClient(srv.URL, "")
			dir := t.TempDir()
			dst := filepath.Join(dir, "out")
			_, err := c.DownloadArtifacts(t.Context(), "runs:/r", dst)
			if !hangar.IsCode(err, hangar.EINVALID) {
				t.Errorf("download of a listing naming %q: %v, want EINVALID", name, err)
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) > 1 {
				t.Errorf("files written beside the destination: %v", entries)
			}
		})
	}
}

func TestDownloadArtifacts(t *testing.T) {
	f := &fakeServer{files: map[string]string{
		"0/r/artifacts/model/MLmodel":      "flavors: {}\n",
		"0/r/artifacts/model/data/w.bin":   "weights",
		"0/r/artifacts/model/data/empty":   "",
		"0/r/artifacts/notes.txt":          "notes",
		"0/r/artifacts/dir with space/a%b": "pct",
	}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	c, _ := NewClient(srv.URL, "tok")
	read := func(p string) string {
		t.Helper()
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}

	// A run's root: its contents into dst.
	dst := t.TempDir()
	got, err := c.DownloadArtifacts(t.Context(), "runs:/r", dst)
	if err != nil || got != dst {
		t.Fatalf("download runs:/r: %q, %v", got, err)
	}
	for p, want := range map[string]string{"model/MLmodel": "flavors: {}\n", "model/data/w.bin": "weights", "model/data/empty": "", "notes.txt": "notes", "dir with space/a%b": "pct"} {
		if b := read(filepath.Join(dst, p)); b != want {
			t.Errorf("%s: %q, want %q", p, b, want)
		}
	}
	// A directory below a root: into dst/<its name>; a file likewise.
	dst = t.TempDir()
	if got, err := c.DownloadArtifacts(t.Context(), "runs:/r/model/data", dst); err != nil || got != filepath.Join(dst, "data") {
		t.Fatalf("download a directory: %q, %v", got, err)
	}
	if b := read(filepath.Join(dst, "data", "w.bin")); b != "weights" {
		t.Errorf("data/w.bin: %q", b)
	}
	if got, err := c.DownloadArtifacts(t.Context(), "runs:/r/notes.txt", dst); err != nil || got != filepath.Join(dst, "notes.txt") || read(got) != "notes" {
		t.Errorf("download a file: %q, %v", got, err)
	}
	// A models:/ URI: the version's contents into dst.
	f.files["0/r4/artifacts/model/MLmodel"] = "m4"
	dst = t.TempDir()
	if _, err := c.DownloadArtifacts(t.Context(), "models:/m/4", dst); err != nil || read(filepath.Join(dst, "MLmodel")) != "m4" {
		t.Errorf("download models:/m/4: %v", err)
	}
	// Nothing there.
	if _, err := c.DownloadArtifacts(t.Context(), "runs:/r/missing.txt", t.TempDir()); !hangar.IsCode(err, hangar.ENOTFOUND) {
		t.Errorf("download a missing file: %v, want ENOTFOUND", err)
	}
	// The listing's sizes are checked.
	f.list = map[string]string{"0/r/artifacts": `{"files":[{"path":"notes.txt","is_dir":false,"file_size":99}]}`}
	if _, err := c.DownloadArtifacts(t.Context(), "runs:/r", t.TempDir()); err == nil || !strings.Contains(err.Error(), "want 99") {
		t.Errorf("download of a file shorter than listed: %v", err)
	}
}

// TestLogArtifactsSkipsLinks: a folder given through a link is walked, but
// links inside it are not followed (they could point anywhere).
func TestLogArtifactsSkipsLinks(t *testing.T) {
	var mu sync.Mutex
	var put []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			put = append(put, strings.TrimPrefix(r.URL.Path, "/api/2.0/mlflow-artifacts/artifacts/")+"="+string(b))
			mu.Unlock()
		}
		io.WriteString(w, "{}")
	}))
	defer srv.Close()
	dir := t.TempDir()
	folder := filepath.Join(dir, "folder")
	os.MkdirAll(filepath.Join(folder, "sub"), 0o755)
	os.WriteFile(filepath.Join(folder, "sub", "f.txt"), []byte("f"), 0o644)
	os.WriteFile(filepath.Join(dir, "secret"), []byte("secret"), 0o644)
	if err := os.Symlink(filepath.Join(dir, "secret"), filepath.Join(folder, "link")); err != nil {
		t.Skip(err)
	}
	os.Symlink(folder, filepath.Join(dir, "via-link"))
	c, _ := NewClient(srv.URL, "")
	if err := c.LogArtifacts(t.Context(), "mlflow-artifacts:/0/r/artifacts", filepath.Join(dir, "via-link"), "out"); err != nil {
		t.Fatal(err)
	}
	if want := []string{"0/r/artifacts/out/sub/f.txt=f"}; strings.Join(put, ",") != strings.Join(want, ",") {
		t.Errorf("uploaded %q, want %q", put, want)
	}
}
