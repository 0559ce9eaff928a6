package release

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/artifact"
	"github.com/hangar-ml/hangar/serving"
)

// exists reports whether the staged folder is on disk.
func exists(t *testing.T, dir string) bool {
	t.Helper()
	st, err := os.Stat(dir)
	return err == nil && st.IsDir()
}

// waitGone waits until a staged folder was removed.
func waitGone(t *testing.T, what, dir string) {
	t.Helper()
	waitFor(t, what+" removed", func() bool { return !exists(t, dir) })
}

// putModel stores another natively served model: the test model with one
// more file, so another manifest digest.
func (f *fixture) putModel(t *testing.T, extra string) hangar.Digest {
	t.Helper()
	fsys := fstest.MapFS{}
	src := "../serving/testdata/mlflow-lightgbm"
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		fsys[filepath.ToSlash(rel)] = &fstest.MapFile{Data: b}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	fsys["README.txt"] = &fstest.MapFile{Data: []byte(extra)}
	info, _, err := artifact.PutDir(f.ctx, f.blobs, fsys)
	if err != nil {
		t.Fatal(err)
	}
	return info.Digest
}

// TestStagedModelFoldersGoWhenNoDeploymentUsesThem: a model folder shared
// by two endpoints stays while one of them serves it, and goes when an
// update replaced it, a deployment was deleted or its endpoint was.
func TestStagedModelFoldersGoWhenNoDeploymentUsesThem(t *testing.T) {
	f := newFixture(t)
	other := f.putModel(t, "v2")
	first := f.svc.stagedDir("models", f.good)
	second := f.svc.stagedDir("models", other)
	f.createEndpoint(t, "churn", "")
	f.createEndpoint(t, "credit", "")
	f.deploy(t, "churn", "blue", spec(f.good), false, hangar.StateSucceeded)
	f.deploy(t, "credit", "blue", spec(f.good), true, hangar.StateSucceeded)
	f.waitAllTraffic(t, "credit", "blue")
	if !exists(t, first) || f.svc.stage.holders(first) != 2 {
		t.Fatalf("shared model folder: exists %v, %d holders; want it, 2", exists(t, first), f.svc.stage.holders(first))
	}

	// Deleting one deployment leaves the folder to the other.
	if err := f.svc.DeleteOnlineDeployment(f.ctx, ws, "churn", "blue"); err != nil {
		t.Fatal(err)
	}
	if !exists(t, first) || f.svc.stage.holders(first) != 1 {
		t.Fatalf("after one user went: exists %v, %d holders; want it, 1", exists(t, first), f.svc.stage.holders(first))
	}

	// A failed update keeps the old version serving, and its folder; the
	// failed version's folder goes.
	f.redeploy(t, "credit", "blue", spec(f.bad), hangar.StateFailed)
	waitGone(t, "the failed version's folder", f.svc.stagedDir("models", f.bad))
	if !exists(t, first) {
		t.Fatalf("the serving version's folder went with a failed update")
	}

	// An update that passed replaces the version: the old folder goes.
	f.redeploy(t, "credit", "blue", spec(other), hangar.StateSucceeded)
	waitGone(t, "the replaced version's folder", first)
	if !exists(t, second) {
		t.Fatalf("the new version's folder is missing")
	}
	keys, _ := f.svc.EndpointKeys(f.ctx, ws, "credit")
	if code, body := score(t, f.svc, "credit", keys.Primary); code != 200 {
		t.Fatalf("score the new version: got %d %s", code, body)
	}

	// Deleting the endpoint lets go of its deployments' folders.
	if err := f.svc.DeleteOnlineEndpoint(f.ctx, ws, "credit"); err != nil {
		t.Fatal(err)
	}
	waitGone(t, "the deleted endpoint's folder", second)
	if n := f.svc.stage.holders(second); n != 0 {
		t.Errorf("holders of a removed folder: %d", n)
	}
	// Used again, a folder is made again.
	f.deploy(t, "churn", "green", spec(other), false, hangar.StateSucceeded)
	if !exists(t, second) {
		t.Errorf("a model deployed again was not staged again")
	}
}

// redeploy rolls out a new spec and waits for its outcome.
func (f *fixture) redeploy(t *testing.T, endpoint, name string, s hangar.DeploymentSpec, want hangar.ProvisioningState) {
	t.Helper()
	if _, err := f.svc.Redeploy(f.ctx, ws, endpoint, name, hangar.DeploymentTransition{Spec: &s}); err != nil {
		t.Fatal(err)
	}
	f.wait(t, endpoint, name, want)
}

// blockingScripts starts runners that hold each request until release is
// closed, and records which runners were closed.
type blockingScripts struct {
	release chan struct{}
	started chan struct{} // a request reached a runner
	mu      sync.Mutex
	closed  []string // CodeDir of each closed runner
}

type blockingRunner struct {
	s   *blockingScripts
	cfg ScriptConfig
}

func (s *blockingScripts) StartScript(ctx context.Context, cfg ScriptConfig) (serving.ScriptRunner, error) {
	return &blockingRunner{s: s, cfg: cfg}, nil
}

func (r *blockingRunner) Run(ctx context.Context, raw []byte) ([]byte, error) {
	if _, err := os.Stat(filepath.Join(r.cfg.CodeDir, "score.py")); err != nil {
		return nil, err // the worker lost its files
	}
	if raw != nil && string(raw) != "{}" { // not the smoke test
		select {
		case r.s.started <- struct{}{}:
		default:
		}
		select {
		case <-r.s.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if _, err := os.Stat(filepath.Join(r.cfg.CodeDir, "score.py")); err != nil {
			return nil, err
		}
	}
	return []byte(`[1.5]`), nil
}

func (r *blockingRunner) Close() error {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	r.s.closed = append(r.s.closed, r.cfg.CodeDir)
	return nil
}

// TestStagedCodeStaysWhileItsWorkersServe: an update replaces a scoring
// script's code while the old version still answers a request; the old
// code folder stays until that request is answered and its workers
// stopped, then goes.
func TestStagedCodeStaysWhileItsWorkersServe(t *testing.T) {
	f := newFixture(t)
	scripts := &blockingScripts{release: make(chan struct{}), started: make(chan struct{}, 1)}
	f.svc.Scripts = scripts
	put := func(src string) hangar.Digest {
		info, _, err := artifact.PutDir(f.ctx, f.blobs, fstest.MapFS{"score.py": {Data: []byte(src)}})
		if err != nil {
			t.Fatal(err)
		}
		return info.Digest
	}
	v1, v2 := put("# v1\n"), put("# v2\n")
	s := spec(f.good)
	s.CodeDigest, s.ScoringScript = v1, "score.py"
	s.EnvironmentName, s.EnvironmentVersion = "sklearn", "1"
	s.Request.RequestTimeoutMS = 30000
	s.SampleRequest = []byte("{}")
	f.createEndpoint(t, "churn", "")
	f.deploy(t, "churn", "blue", s, true, hangar.StateSucceeded)
	f.waitAllTraffic(t, "churn", "blue")
	keys, _ := f.svc.EndpointKeys(f.ctx, ws, "churn")
	old := f.svc.stagedDir("code", v1)

	answered := make(chan int, 1)
	go func() {
		code, _ := score(t, f.svc, "churn", keys.Primary)
		answered <- code
	}()
	<-scripts.started
	s.CodeDigest = v2
	f.redeploy(t, "churn", "blue", s, hangar.StateSucceeded)
	// The old version drains: its request is in flight, its folder stays.
	time.Sleep(50 * time.Millisecond)
	if !exists(t, old) {
		t.Fatalf("the old code folder went while its worker answers a request")
	}
	close(scripts.release)
	if code := <-answered; code != http.StatusOK {
		t.Errorf("the request the old version answered: got %d, want 200", code)
	}
	waitGone(t, "the old code folder", old)
	scripts.mu.Lock()
	closed := scripts.closed
	scripts.mu.Unlock()
	if len(closed) != 1 || closed[0] != old {
		t.Errorf("closed runners: got %v, want the old version's", closed)
	}
	if !exists(t, f.svc.stagedDir("code", v2)) {
		t.Errorf("the new code folder is missing")
	}
}

// TestReplayRemovesUnusedStagedFolders: at start, half-made folders and
// the folders of deployments gone while the server was down are removed;
// the replayed deployments' folders stay.
func TestReplayRemovesUnusedStagedFolders(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	first := f.newServiceWith(t, func(s *Service) { s.Dir = dir })
	f.svc = first
	f.createEndpoint(t, "churn", "")
	f.deploy(t, "churn", "blue", spec(f.good), true, hangar.StateSucceeded)
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	kept := first.stagedDir("models", f.good)
	stray := filepath.Join(dir, "models", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
	half := filepath.Join(dir, "code", tmpPrefix+"42")
	for _, d := range []string{stray, half} {
		if err := os.MkdirAll(filepath.Join(d, "sub"), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if !exists(t, kept) {
		t.Fatalf("Close removed a serving deployment's folder")
	}

	second := f.newServiceWith(t, func(s *Service) { s.Dir = dir })
	if exists(t, half) {
		t.Errorf("Open left a half-made folder")
	}
	if err := second.Replay(f.ctx); err != nil {
		t.Fatal(err)
	}
	if exists(t, stray) {
		t.Errorf("Replay left a folder no deployment uses")
	}
	if !exists(t, kept) {
		t.Errorf("Replay removed the folder of the deployment it replayed")
	}
	keys, _ := second.EndpointKeys(f.ctx, ws, "churn")
	if code, body := score(t, second, "churn", keys.Primary); code != 200 {
		t.Errorf("score after Replay: got %d %s", code, body)
	}
}

// TestStagingRemovesAFolderOutsideItsLock: the last holder's release, and
// the sweep, remove a folder through a .tmp- name (so a rollout making it
// again never meets the old one) and leave nothing behind.
func TestStagingRemovesAFolderOutsideItsLock(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	for _, how := range []string{"release", "sweep"} {
		t.Run(how, func(t *testing.T) {
			root := t.TempDir()
			dir := filepath.Join(root, "models", "abc")
			if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "sub", "model.json"), []byte("{}"), 0o600); err != nil {
				t.Fatal(err)
			}
			var st staging
			switch how {
			case "release":
				st.acquire(dir, dir)
				st.release(log, dir)
				if !exists(t, dir) {
					t.Fatal("removed with a holder left")
				}
				st.release(log, dir)
			case "sweep":
				st.sweep(log, root)
			}
			if exists(t, dir) {
				t.Errorf("%s is left", dir)
			}
			if ents, _ := os.ReadDir(filepath.Join(root, "models")); len(ents) != 0 {
				t.Errorf("left in models: got %v, want nothing", ents)
			}
			if n := st.holders(dir); n != 0 {
				t.Errorf("holders: got %d, want 0", n)
			}
			// Made again, it is a new folder.
			st.acquire(dir)
			if err := os.MkdirAll(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			st.release(log, dir)
			if exists(t, dir) {
				t.Errorf("%s is left after its second release", dir)
			}
		})
	}
}
