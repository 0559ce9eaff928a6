package main

import (
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// TestServeRegistry: the server serves the model registry over the MLflow
// API (the store is wired, so the routes do not answer 501): MLflow's
// register_model calls, then a read back by alias.
func TestServeRegistry(t *testing.T) {
	dir := t.TempDir()
	cfg := &serverConfig{
		Addr: "127.0.0.1:0", DataDir: dir, DB: filepath.Join(dir, "hangar.db"),
		Artifacts: filepath.Join(dir, "artifacts"), KEKFile: filepath.Join(dir, "kek"),
	}
	srv := startServer(t, cfg)

	for _, tt := range []struct{ method, path, body, want string }{
		{"POST", "registered-models/create", `{"name": "iris"}`, `"name":"iris"`},
		{"POST", "model-versions/create", `{"name": "iris", "source": "mlflow-artifacts:/0/abc/artifacts/model"}`, `"version":"1"`},
		{"POST", "registered-models/alias", `{"name": "iris", "alias": "champion", "version": "1"}`, `{}`},
		{"GET", "registered-models/alias?name=iris&alias=champion", "", `"aliases":["champion"]`},
	} {
		var body io.Reader
		if tt.body != "" {
			body = strings.NewReader(tt.body)
		}
		req, _ := http.NewRequestWithContext(t.Context(), tt.method, srv.URL+"/api/2.0/mlflow/"+tt.path, body)
		req.Header.Set("Authorization", "Bearer "+srv.OwnerToken)
		if tt.body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), tt.want) {
			t.Errorf("%s %s: %d %s, want 200 with %s", tt.method, tt.path, resp.StatusCode, b, tt.want)
		}
	}
}
