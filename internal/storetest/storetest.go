// Package storetest is the conformance suite of Hangar's metadata stores:
// every backend (sqlstore on SQLite and on PostgreSQL) runs Run and must pass
// all of it — every service method, its error codes, pagination, the audit
// hash chain and its tamper detection, concurrent writers and the atomicity
// of multi-row writes.
//
// The suite talks to the services through the root interfaces only. To
// tamper with the audit log and to check what is stored at rest it also
// needs raw access to the database, which the backend's test supplies in
// Store.Exec and Store.QueryRow (SQL with "?" placeholders, against the
// schema of sqlstore's migrations).
package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/hangar-ml/hangar"
)

// Store is one freshly opened, empty backend under test: its migrations
// applied and only the default workspace created.
type Store struct {
	Workspaces hangar.WorkspaceService
	Identities hangar.IdentityService
	Roles      hangar.RoleService
	Audit      hangar.AuditService
	Secrets    hangar.SecretService
	// Credentials is the store side of authentication (the Identities
	// store, as a server sees it).
	Credentials hangar.CredentialStore
	Blobs       hangar.BlobIndex
	Artifacts   hangar.ArtifactIndex
	Registry    hangar.RegistryService
	Tracking    hangar.TrackingService
	// LoggedModels stores MLflow 3.x logged models (loggedmodel.go).
	LoggedModels hangar.LoggedModelService
	Data         hangar.DataService // datastores and data assets (data.go)
	// Environments and Components store versioned environments and
	// command components (environment.go, component.go).
	Environments hangar.EnvironmentService
	Components   hangar.ComponentService
	// Jobs stores jobs, pipeline steps and job logs (job.go).
	Jobs hangar.JobService
	// Approvals stores protected aliases and approval requests (approval.go).
	Approvals hangar.ApprovalService
	// Schedules stores job schedules and their firings (schedule.go).
	Schedules hangar.ScheduleService
	// Endpoints stores online endpoints, deployments and keys (endpoint.go).
	Endpoints hangar.EndpointService
	// BatchEndpoints stores batch endpoints and deployments (endpoint.go).
	BatchEndpoints hangar.BatchEndpointService
	// Events records the events of changes made outside the store.
	Events EventRecorder
	// Checkpoints signs the audit chain head and verifies against it.
	Checkpoints hangar.AuditCheckpointService
	// AuditKey is the key the store hashes audit events with: the suite
	// checks stored hashes with it, and re-hashes a tampered chain with it
	// to show what only the key's holder can do.
	AuditKey []byte

	// Exec runs one raw SQL statement with "?" placeholders against the
	// store's database, bypassing every rule and the audit log. A
	// time.Time argument is passed as the backend's time column value.
	Exec func(ctx context.Context, query string, args ...any) error
	// QueryRow runs a raw query with "?" placeholders and scans its one row into dest.
	QueryRow func(ctx context.Context, query string, args []any, dest ...any) error
	// Time converts a time to the value a time column holds, for Exec.
	Time func(t time.Time) any
	// Another opens a second, independent Store on the same database, as a
	// second server process would; nil when the backend cannot.
	Another func(t *testing.T) *Store
}

// EventRecorder appends an audit event through the store's chained append,
// for changes the store does not make itself (artifact uploads).
type EventRecorder interface {
	RecordEvent(ctx context.Context, action, target, workspace string) error
}

// Run runs the whole suite. open must return a new, empty Store for each call
// and close it when the test ends.
func Run(t *testing.T, open func(t *testing.T) *Store) {
	t.Run("Open", func(t *testing.T) { testOpen(t, open(t)) })
	t.Run("Workspaces", func(t *testing.T) { testWorkspaces(t, open) })
	t.Run("Identities", func(t *testing.T) { testIdentities(t, open(t)) })
	t.Run("Tokens", func(t *testing.T) { testTokens(t, open) })
	t.Run("Roles", func(t *testing.T) { testRoles(t, open(t)) })
	t.Run("Secrets", func(t *testing.T) { testSecrets(t, open) })
	t.Run("Pagination", func(t *testing.T) { testPagination(t, open(t)) })
	t.Run("Audit", func(t *testing.T) { testAudit(t, open(t)) })
	t.Run("Blobs", func(t *testing.T) { testBlobs(t, open) })
	t.Run("Artifacts", func(t *testing.T) { testArtifacts(t, open) })
	t.Run("RecordEvent", func(t *testing.T) { testRecordEvent(t, open(t)) })
	t.Run("AuditTampering", func(t *testing.T) { testAuditTampering(t, open) })
	t.Run("AuditCheckpoints", func(t *testing.T) { testAuditCheckpoints(t, open) })
	t.Run("AuditDetail", func(t *testing.T) { testAuditDetail(t, open(t)) })
	t.Run("ConcurrentWriters", func(t *testing.T) { testConcurrentWriters(t, open(t)) })
	t.Run("NoPartialWrites", func(t *testing.T) { testNoPartialWrites(t, open(t)) })
	t.Run("BadText", func(t *testing.T) { testBadText(t, open(t)) })
	t.Run("Registry", func(t *testing.T) { testRegistry(t, open) })
	t.Run("Tracking", func(t *testing.T) { testTracking(t, open) })
	t.Run("TrackingSearch", func(t *testing.T) { testTrackingSearch(t, open) })
	t.Run("LoggedModels", func(t *testing.T) { testLoggedModels(t, open) })
	t.Run("Data", func(t *testing.T) { testData(t, open) })
	t.Run("Environments", func(t *testing.T) { testEnvironments(t, open) })
	t.Run("Components", func(t *testing.T) { testComponents(t, open) })
	t.Run("Jobs", func(t *testing.T) { testJobs(t, open) })
	t.Run("Approvals", func(t *testing.T) { testApprovals(t, open) })
	t.Run("Share", func(t *testing.T) { testShare(t, open) })
	t.Run("Schedules", func(t *testing.T) { testSchedules(t, open) })
	t.Run("Endpoints", func(t *testing.T) { testEndpoints(t, open) })
}

// actorCtx returns a context acting as alice with the test's request id.
func actorCtx(t *testing.T) context.Context {
	ctx := hangar.WithActor(t.Context(), hangar.Actor{IdentityID: "id-alice", Name: "alice"})
	return hangar.WithRequestID(ctx, requestID(t))
}

// requestID is a request id made of the test's name, with the characters
// hangar.ValidRequestID refuses ("/" of subtests) replaced by ".".
func requestID(t *testing.T) string {
	id := []byte("req-" + t.Name())
	for i, c := range id {
		if !hangar.ValidRequestID(string(c)) {
			id[i] = '.'
		}
	}
	return string(id[:min(len(id), 128)])
}

// wantCode fails unless err carries code ("" meaning no error).
func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := hangar.ErrorCode(err); got != code {
		t.Fatalf("%s: got error %v (code %q), want code %q", what, err, got, code)
	}
}

// allEvents lists every audit event.
func allEvents(t *testing.T, s *Store) []*hangar.Event {
	t.Helper()
	var out []*hangar.Event
	opt := hangar.ListOptions{MaxResults: hangar.MaxMaxResults}
	for {
		p, err := s.Audit.ListEvents(t.Context(), hangar.EventFilter{}, opt)
		if err != nil {
			t.Fatalf("list events: %v", err)
		}
		out = append(out, p.Items...)
		if p.NextPageToken == "" {
			return out
		}
		opt.PageToken = p.NextPageToken
	}
}

// lastEvent returns the newest audit event.
func lastEvent(t *testing.T, s *Store) *hangar.Event {
	t.Helper()
	ev := allEvents(t, s)
	if len(ev) == 0 {
		t.Fatal("audit log is empty")
	}
	return ev[len(ev)-1]
}

// wantVerified fails unless the chain verifies with n events.
func wantVerified(t *testing.T, s *Store, n int64) {
	t.Helper()
	v, err := s.Audit.VerifyAudit(t.Context())
	if err != nil {
		t.Fatalf("verify audit: %v", err)
	}
	if !v.OK || v.Events != n || v.BrokenSeq != 0 {
		t.Fatalf("verify audit: got %+v, want OK with %d events", v, n)
	}
}

func testOpen(t *testing.T, s *Store) {
	ctx := t.Context()
	w, err := s.Workspaces.Workspace(ctx, hangar.DefaultWorkspace)
	if err != nil {
		t.Fatalf("default workspace: %v", err)
	}
	if w.CreatedBy != "system" || w.CreatedAt.IsZero() {
		t.Errorf("default workspace: got created_by %q at %v, want system and a time", w.CreatedBy, w.CreatedAt)
	}
	ev := allEvents(t, s)
	if len(ev) != 1 {
		t.Fatalf("events after open: got %d, want 1 (the default workspace)", len(ev))
	}
	e := ev[0]
	want := hangar.Event{Seq: 1, Actor: "system", ActorID: "system", Action: hangar.ActWorkspaceWrite,
		Target: "workspaces/default", Workspace: hangar.DefaultWorkspace, PrevHash: hangar.GenesisHash}
	if e.Seq != want.Seq || e.Actor != want.Actor || e.ActorID != want.ActorID || e.Action != want.Action ||
		e.Target != want.Target || e.Workspace != want.Workspace || e.PrevHash != want.PrevHash {
		t.Errorf("first event: got %+v, want %+v", e, want)
	}
	if want := e.ComputeHash(s.AuditKey); e.Hash != want {
		t.Errorf("first event hash %s, recomputed under the audit key %s", e.Hash, want)
	}
	wantVerified(t, s, 1)
}

// sameEvent reports whether two events are equal field by field.
func sameEvent(a, b *hangar.Event) bool {
	x, y := *a, *b
	if !x.Time.Equal(y.Time) {
		return false
	}
	x.Time, y.Time = time.Time{}, time.Time{}
	return x == y
}
