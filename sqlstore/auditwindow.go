package sqlstore

import (
	"sync"
	"time"
)

// MetricAuditWindow is how long one audit event stands for an actor's
// metric-only writes to a run. Metric points are a run's data, logged by
// the thousand: the audit log records that an actor logged metrics to a
// run at the first such write of each window, and the writes that follow
// within the window by the same actor to the same run are covered by that
// event instead of appending one each. Every other change (params, tags,
// lifecycle, everything outside tracking) still appends its own event.
const MetricAuditWindow = time.Minute

// maxAuditWindowKeys bounds the memory of an auditWindow: past it, the
// entries older than the window are dropped, and if that is not enough
// all of them (which only means more audit events, never fewer).
const maxAuditWindowKeys = 10_000

// auditWindow remembers, per actor and run, when the last audit event for
// metric-only writes was committed. It lives in one process: several
// servers on one database each record their own events.
type auditWindow struct {
	mu   sync.Mutex
	last map[string]time.Time
}

func newAuditWindow() *auditWindow {
	return &auditWindow{last: make(map[string]time.Time)}
}

// auditWindowKey identifies an actor's writes to one run of a workspace.
func auditWindowKey(workspace, runID, actorID string) string {
	return workspace + "\x00" + runID + "\x00" + actorID
}

// due reports whether a write at now needs an audit event of its own:
// none was committed for key within the window before now.
func (w *auditWindow) due(key string, now time.Time) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	t, ok := w.last[key]
	return !ok || now.Sub(t) >= MetricAuditWindow || now.Before(t)
}

// committed records that an audit event for key was committed at t.
func (w *auditWindow) committed(key string, t time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.last) >= maxAuditWindowKeys {
		for k, at := range w.last {
			if t.Sub(at) >= MetricAuditWindow {
				delete(w.last, k)
			}
		}
		if len(w.last) >= maxAuditWindowKeys {
			clear(w.last)
		}
	}
	w.last[key] = t
}
