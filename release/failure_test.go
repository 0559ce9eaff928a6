package release

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hangar-ml/hangar"
)

func TestFailureMessage(t *testing.T) {
	s := &Service{Dir: filepath.Join("/var", "lib", "hangar", "serving")}
	model := hangar.Digest("sha256:" + strings.Repeat("a", 64))
	code := hangar.Digest("sha256:" + strings.Repeat("b", 64))
	modelDir := filepath.Join(s.Dir, "models", model.Hex())
	codeDir := filepath.Join(s.Dir, "code", code.Hex())
	spec := hangar.DeploymentSpec{ModelDigest: model, CodeDigest: code}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"a domain error: its message, not its code",
			hangar.Errorf(hangar.EINVALID, "model_digest is empty"),
			"model_digest is empty"},
		{"wrapped: every layer, the model's file relative to its folder",
			fmt.Errorf("load model m:1: %w", fmt.Errorf("%s: %w", filepath.Join(modelDir, "model.json"), fmt.Errorf("XGBoost model: %w", hangar.Errorf(hangar.EINVALID, "learner is a JSON string, want an object")))),
			"load model m:1: model.json: XGBoost model: learner is a JSON string, want an object"},
		{"an os error names the file in the model folder",
			fmt.Errorf("load model m:1: %w", &fs.PathError{Op: "open", Path: filepath.Join(modelDir, "sub", "MLmodel"), Err: fs.ErrPermission}),
			"load model m:1: open " + filepath.Join("sub", "MLmodel") + ": permission denied"},
		{"the folder itself",
			fmt.Errorf("load model m:1: %s is not a model", modelDir),
			"load model m:1: the model folder is not a model"},
		{"the code folder",
			fmt.Errorf("start the scoring workers: %w", hangar.Errorf(hangar.EINVALID, "%s: init() raised ValueError", filepath.Join(codeDir, "score.py"))),
			"start the scoring workers: score.py: init() raised ValueError"},
		{"joined errors read as they are",
			errors.Join(errors.New("a"), errors.New("b")),
			"a\nb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := s.failureMessage(spec, tt.err); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// lockedBuffer is a log sink the rollout goroutines may write to while
// the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestFailedLoadLogsTheDetails: a model that does not load is Failed
// with a message in the user's terms, its log too; the server log keeps
// where the files were staged.
func TestFailedLoadLogsTheDetails(t *testing.T) {
	f := newFixture(t)
	var log lockedBuffer
	f.svc = f.newServiceWith(t, func(s *Service) { s.Logger = slog.New(slog.NewTextHandler(&log, nil)) })
	f.createEndpoint(t, "churn", "")
	d := f.deploy(t, "churn", "bad", spec(f.bad), false, hangar.StateFailed)
	const want = "deployment failed: load model m:1: model.json: XGBoost model: learner is a JSON string, want an object"
	if d.Message != want {
		t.Errorf("message: got %q, want %q", d.Message, want)
	}
	lines, err := f.svc.Logs(f.ctx, ws, "churn", "bad", 0)
	if err != nil {
		t.Fatal(err)
	}
	if all := strings.Join(lines, "\n"); !strings.Contains(all, want) || strings.Contains(all, f.svc.Dir) {
		t.Errorf("deployment log: got %q, want the message and not the staging folder %s", all, f.svc.Dir)
	}
	staged := filepath.Join(f.svc.Dir, "models", f.bad.Hex(), "model.json")
	if got := log.String(); !strings.Contains(got, "deployment failed") || !strings.Contains(got, staged) {
		t.Errorf("server log: got %q, want the failure with the staged file %s", got, staged)
	}
}
