package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/disk"
	"github.com/hangar-ml/hangar/httpapi"
	"github.com/hangar-ml/hangar/internal/storetest"
	"github.com/hangar-ml/hangar/sqlstore"
)

// artifactServer is a real server in the test's process with a blob store
// and the artifact index, an Owner token and a run in workspace team-a.
type artifactServer struct {
	url, token, runID string
}

func newArtifactServer(t *testing.T) *artifactServer {
	t.Helper()
	ctx := hangar.WithActor(t.Context(), hangar.Actor{IdentityID: "alice", Name: "alice"})
	dir := t.TempDir()
	db := sqlstore.New(filepath.Join(dir, "hangar.db"))
	db.Sealer = storetest.NewSealer()
	if err := db.Open(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	api := httpapi.NewServer()
	ids := sqlstore.NewIdentityService(db)
	api.Workspaces, api.Identities, api.Credentials = sqlstore.NewWorkspaceService(db), ids, ids
	api.Roles, api.Audit, api.Secrets = sqlstore.NewRoleService(db), sqlstore.NewAuditService(db), sqlstore.NewSecretService(db)
	api.Tracking, api.Registry = sqlstore.NewTrackingService(db), sqlstore.NewRegistryService(db)
	api.Blobs, api.BlobIndex, api.Artifacts = disk.New(filepath.Join(dir, "blobs")), sqlstore.NewBlobIndex(db), sqlstore.NewArtifactIndex(db)
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(srv.Close)
	tok, err := ids.IssueToken(ctx, &hangar.TokenRequest{Name: "admin", Role: hangar.RoleOwner})
	if err != nil {
		t.Fatal(err)
	}
	if err := api.Workspaces.CreateWorkspace(ctx, &hangar.Workspace{Name: "team-a"}); err != nil {
		t.Fatal(err)
	}
	run, err := api.Tracking.CreateRun(ctx, "team-a", hangar.RunCreate{ExperimentID: "0", StartTime: 1})
	if err != nil {
		t.Fatal(err)
	}
	return &artifactServer{url: srv.URL, token: tok.Secret, runID: run.Info.RunID}
}

// hangar runs the CLI with the variables a job step gets and HANGAR_*,
// and returns its exit code, stdout and stderr.
func (s *artifactServer) hangar(t *testing.T, vars map[string]string, args ...string) (int, string, string) {
	t.Helper()
	env := map[string]string{
		"HANGAR_URL": s.url, "HANGAR_TOKEN": s.token, "HANGAR_HOME": t.TempDir(),
		"MLFLOW_TRACKING_URI": s.url + "/w/team-a", "MLFLOW_RUN_ID": s.runID, "MLFLOW_TRACKING_TOKEN": s.token,
	}
	for k, v := range vars {
		env[k] = v
	}
	var out, errOut bytes.Buffer
	code := run(t.Context(), args, strings.NewReader(""), &out, &errOut, func(k string) string { return env[k] })
	return code, out.String(), errOut.String()
}

func (s *artifactServer) mustHangar(t *testing.T, args ...string) (string, string) {
	t.Helper()
	code, out, errOut := s.hangar(t, nil, args...)
	if code != 0 {
		t.Fatalf("hangar %s: exit %d\n%s", strings.Join(args, " "), code, errOut)
	}
	return out, errOut
}

// post sends an MLflow API request to workspace team-a.
func (s *artifactServer) post(t *testing.T, path, body string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), "POST", s.url+"/w/team-a/api/2.0/mlflow/"+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %s %s", path, resp.Status, b)
	}
}

func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for p, body := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func wantTree(t *testing.T, what, dir string, files map[string]string) {
	t.Helper()
	for p, body := range files {
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
		if err != nil || string(b) != body {
			t.Errorf("%s: %s: got %d bytes, %v; want %d", what, p, len(b), err, len(body))
		}
	}
}

func TestArtifactCommands(t *testing.T) {
	s := newArtifactServer(t)
	src := t.TempDir()
	model := map[string]string{"MLmodel": "flavors: {}\n", "model.json": `{"trees":[]}`, "data/w.bin": "\x00\x01"}
	writeTree(t, filepath.Join(src, "model"), model)
	writeTree(t, src, map[string]string{"notes.txt": "notes", "big.bin": strings.Repeat("b", 9<<20)})

	// A folder under --artifact-path, a file at the root, a big file with
	// progress on stderr.
	out, _ := s.mustHangar(t, "log", "artifact", filepath.Join(src, "model"), "--artifact-path", "model")
	if want := `"artifact_uri": "runs:/` + s.runID + `/model"`; !strings.Contains(out, want) || !strings.Contains(out, `"files": 3`) {
		t.Errorf("log artifact of a folder printed %s, want %s and 3 files", out, want)
	}
	out, _ = s.mustHangar(t, "log", "artifact", filepath.Join(src, "notes.txt"))
	if want := `"artifact_uri": "runs:/` + s.runID + `/notes.txt"`; !strings.Contains(out, want) {
		t.Errorf("log artifact of a file printed %s, want %s", out, want)
	}
	_, errOut := s.mustHangar(t, "log", "artifact", filepath.Join(src, "big.bin"), "--artifact-path", "blobs")
	if !strings.Contains(errOut, "blobs/big.bin: 100% (9 of 9 MiB)") || !strings.Contains(errOut, "blobs/big.bin: 50%") {
		t.Errorf("progress of a 9 MiB upload: %q", errOut)
	}

	// run download: everything, then one folder, with paths relative to
	// the run's root; -w names the workspace.
	dst := filepath.Join(t.TempDir(), "all")
	out, _ = s.mustHangar(t, "run", "download", s.runID, "-w", "team-a", "-o", dst)
	if !strings.Contains(out, `"path": "`+dst+`"`) {
		t.Errorf("run download printed %s", out)
	}
	wantTree(t, "run download", filepath.Join(dst, "model"), model)
	wantTree(t, "run download", dst, map[string]string{"notes.txt": "notes"})
	dst = filepath.Join(t.TempDir(), "sub")
	s.mustHangar(t, "run", "download", s.runID, "-w", "team-a", "--path", "model/data", "-o", dst)
	wantTree(t, "run download --path", dst, map[string]string{"model/data/w.bin": "\x00\x01"})
	if _, err := os.Stat(filepath.Join(dst, "model", "MLmodel")); !os.IsNotExist(err) {
		t.Errorf("run download --path model/data also wrote model/MLmodel: %v", err)
	}

	// model download by version, alias, latest and Azure ML's forms.
	s.post(t, "registered-models/create", `{"name":"churn"}`)
	s.post(t, "model-versions/create", fmt.Sprintf(`{"name":"churn","source":"runs:/%s/model","run_id":%q}`, s.runID, s.runID))
	s.post(t, "registered-models/alias", `{"name":"churn","alias":"champion","version":"1"}`)
	for _, ref := range []string{"churn:1", "churn@champion", "churn@latest", "azureml:churn:1", "churn"} {
		dst := filepath.Join(t.TempDir(), "m")
		s.mustHangar(t, "model", "download", ref, "-w", "team-a", "-o", dst)
		wantTree(t, "model download "+ref, dst, model)
	}

	// Refusals, each with a line that says why.
	for _, tc := range []struct {
		vars map[string]string
		args []string
		want string
	}{
		{map[string]string{"MLFLOW_RUN_ID": ""}, []string{"log", "artifact", src}, "no run to log to: set MLFLOW_RUN_ID"},
		{map[string]string{"MLFLOW_TRACKING_URI": ""}, []string{"log", "artifact", src}, "MLFLOW_TRACKING_URI is not set"},
		{nil, []string{"log", "artifact", filepath.Join(src, "nothing")}, "no such file"},
		{nil, []string{"log", "artifact", src, "--artifact-path", "../up"}, "Invalid path"},
		{map[string]string{"MLFLOW_TRACKING_TOKEN": "hgr_bad"}, []string{"log", "artifact", filepath.Join(src, "notes.txt")}, "401"},
		{nil, []string{"run", "download", s.runID, "--path", "../../etc"}, "Invalid path"},
		{nil, []string{"run", "download", "not-a-run"}, "run"},
		{nil, []string{"run", "download", s.runID, "-w", "team-a", "--path", "missing", "-o", t.TempDir()}, "No such file"},
		{nil, []string{"run", "download", s.runID, "-o", t.TempDir()}, "not found"}, // the run is in team-a, not default
		{nil, []string{"model", "download", "churn:x"}, "version after ':' must be a number"},
		{nil, []string{"model", "download", "nope:1", "-w", "team-a", "-o", t.TempDir()}, "nope"},
	} {
		code, _, errOut := s.hangar(t, tc.vars, tc.args...)
		if code == 0 || !strings.Contains(errOut, tc.want) {
			t.Errorf("hangar %s: exit %d, stderr %q; want an error with %q", strings.Join(tc.args, " "), code, errOut, tc.want)
		}
	}
}
