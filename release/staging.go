package release

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/serving"
)

// Staging garbage collection. The model and code folders a rollout
// materialises (Dir/models/<digest>, Dir/code/<digest>) are shared by
// every deployment of the same files, and counted: a folder is held by
// each rollout in progress that uses it (from before it is made), by each
// deployment version on a gateway (until the version is replaced, taken
// off or its endpoint deleted) and by each script runner started on it
// (until the runner is closed, after the version's last request, which
// can come after a newer version took its place). The last one to let go
// renames the folder out of the way (to a .tmp- name) under the count's
// lock, so a rollout that needs it again makes it anew, and removes it
// after unlocking: a big folder's removal holds up no rollout. At start the temporary folders of interrupted
// materialisations are removed (Open), and after Replay every folder no
// replayed deployment holds.

const tmpPrefix = ".tmp-" // a folder being materialised

// stagedDir is where the folder stored under manifest d is staged.
func (s *Service) stagedDir(kind string, d hangar.Digest) string {
	return filepath.Join(s.Dir, kind, d.Hex())
}

// staging counts the holders of each staged folder. The zero value is
// ready.
type staging struct {
	mu   sync.Mutex
	refs map[string]int // folder → holders
}

// acquire adds a holder to each folder, which need not exist yet.
func (st *staging) acquire(dirs ...string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.refs == nil {
		st.refs = map[string]int{}
	}
	for _, d := range dirs {
		st.refs[d]++
	}
}

// release takes a holder from each folder and removes a folder left with
// none.
func (st *staging) release(log *slog.Logger, dirs ...string) {
	if len(dirs) == 0 {
		return
	}
	var gone []string
	st.mu.Lock()
	for _, d := range dirs {
		if st.refs[d]--; st.refs[d] > 0 {
			continue
		}
		delete(st.refs, d)
		if g := moveAside(log, d); g != "" {
			gone = append(gone, g)
		}
	}
	st.mu.Unlock()
	removeAll(log, gone)
}

// moveAside renames dir to a new .tmp- folder beside it, which
// nothing reads or makes, and returns that folder for removeAll; "" when
// dir does not exist. When the rename fails dir is removed in place. The
// caller holds st.mu: once it unlocks, a rollout making dir again finds
// nothing of the old one.
func moveAside(log *slog.Logger, dir string) string {
	if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
		return ""
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), tmpPrefix+"gone-")
	if err == nil {
		if err = os.Rename(dir, filepath.Join(tmp, filepath.Base(dir))); err == nil {
			return tmp
		}
		_ = os.Remove(tmp)
	}
	log.Warn("release: move a staged folder no deployment uses aside: removing it in place", "dir", dir, "err", err)
	if err := os.RemoveAll(dir); err != nil {
		log.Error("release: remove a staged folder no deployment uses", "dir", dir, "err", err)
	}
	return ""
}

// removeAll removes the folders moveAside set aside; what is left of them
// after an error is removed at the next start (removeTemporary).
func removeAll(log *slog.Logger, dirs []string) {
	for _, d := range dirs {
		if err := os.RemoveAll(d); err != nil {
			log.Error("release: remove a staged folder no deployment uses", "dir", d, "err", err)
		}
	}
}

// holders returns a folder's count of holders, for tests.
func (st *staging) holders(dir string) int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.refs[dir]
}

// sweep removes the staged folders under root's models and code that
// nobody holds; folders being materialised are left alone.
func (st *staging) sweep(log *slog.Logger, root string) {
	var gone []string
	st.mu.Lock()
	for _, kind := range []string{"models", "code"} {
		ents, err := os.ReadDir(filepath.Join(root, kind))
		if err != nil {
			continue
		}
		for _, e := range ents {
			dir := filepath.Join(root, kind, e.Name())
			if strings.HasPrefix(e.Name(), tmpPrefix) || st.refs[dir] > 0 {
				continue
			}
			if g := moveAside(log, dir); g != "" {
				gone = append(gone, g)
			}
			log.Info("release: removed a staged folder no deployment uses", "dir", dir)
		}
	}
	st.mu.Unlock()
	removeAll(log, gone)
}

// removeTemporary removes the half-made folders of materialisations a
// stopped server interrupted. Only at Open: nothing is being made then.
func (st *staging) removeTemporary(root string) {
	for _, kind := range []string{"models", "code"} {
		tmps, _ := filepath.Glob(filepath.Join(root, kind, tmpPrefix+"*"))
		for _, t := range tmps {
			_ = os.RemoveAll(t)
		}
	}
}

// holdFor makes r hold dirs until it is closed.
func (st *staging) holdFor(r serving.ScriptRunner, log *slog.Logger, dirs ...string) serving.ScriptRunner {
	st.acquire(dirs...)
	h := &heldRunner{ScriptRunner: r}
	h.release = sync.OnceFunc(func() { st.release(log, dirs...) })
	return h
}

// heldRunner is a script runner holding staged folders until Close. It
// has every optional capability a runner may have, passing each on (a
// capability r lacks answers as if absent: ready, no stats, no logs).
type heldRunner struct {
	serving.ScriptRunner
	release func()
}

var (
	_ serving.Prober        = (*heldRunner)(nil)
	_ serving.StatsReporter = (*heldRunner)(nil)
	_ logSource             = (*heldRunner)(nil)
)

// Close closes the runner, then lets go of its folders.
func (h *heldRunner) Close() error {
	err := h.ScriptRunner.Close()
	h.release()
	return err
}

// Ready is the runner's readiness probe; nil when it has none.
func (h *heldRunner) Ready(ctx context.Context) error {
	if p, ok := h.ScriptRunner.(serving.Prober); ok {
		return p.Ready(ctx)
	}
	return nil
}

// WorkerStats are the runner's workers' stats; none when it has none.
func (h *heldRunner) WorkerStats() []serving.WorkerStat {
	if sr, ok := h.ScriptRunner.(serving.StatsReporter); ok {
		return sr.WorkerStats()
	}
	return nil
}

// Logs are the runner's workers' last lines; none when it keeps none.
func (h *heldRunner) Logs(n int) []string {
	if ls, ok := h.ScriptRunner.(logSource); ok {
		return ls.Logs(n)
	}
	return nil
}
