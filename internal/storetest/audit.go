package storetest

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hangar-ml/hangar"
)

func testAudit(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	if err := s.Workspaces.CreateWorkspace(ctx, &hangar.Workspace{Name: "audited"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Secrets.SetSecret(ctx, "audited", "model_key", []byte("v")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Secrets.SetSecret(ctx, hangar.DefaultWorkspace, "modelXkey", []byte("v")); err != nil {
		t.Fatal(err)
	}
	if err := s.Identities.CreateIdentity(hangar.WithActor(t.Context(), hangar.Actor{IdentityID: "id-bob", Name: "bob"}), &hangar.Identity{Name: "robot", Kind: hangar.KindWorkload}); err != nil {
		t.Fatal(err)
	}
	// A grant needs secrets/read: a role given underneath, so the events stay six.
	if err := s.Exec(ctx, `INSERT INTO role_assignments (id, identity_id, role, created_at)
		SELECT 'robot-reader', id, 'Reader', ? FROM identities WHERE name = ?`, s.Time(time.Now()), "robot"); err != nil {
		t.Fatal(err)
	}
	// Target secrets/modelXkey/grants/robot, which a LIKE 'secrets/model_key/%' would match.
	if err := s.Secrets.GrantSecret(ctx, hangar.DefaultWorkspace, "modelXkey", "robot"); err != nil {
		t.Fatal(err)
	}

	events := allEvents(t, s)
	if len(events) != 6 {
		t.Fatalf("got %d events, want 6", len(events))
	}
	prev := hangar.GenesisHash
	for i, e := range events {
		if e.Seq != int64(i+1) {
			t.Errorf("event %d has seq %d; want 1, 2, 3… without gaps", i, e.Seq)
		}
		if e.PrevHash != prev || e.Hash != e.ComputeHash() {
			t.Errorf("event %d: prev %s hash %s; want prev %s and hash %s", e.Seq, e.PrevHash, e.Hash, prev, e.ComputeHash())
		}
		if !e.Time.Equal(e.Time.Truncate(time.Microsecond)) || e.Time.Location().String() != "UTC" {
			t.Errorf("event %d time %v is not UTC microseconds", e.Seq, e.Time)
		}
		prev = e.Hash
	}
	if e := events[4]; e.Actor != "bob" || e.ActorID != "id-bob" || e.RequestID != "" {
		t.Errorf("event of bob without request id: got %+v", e)
	}
	if e := events[1]; e.Actor != "alice" || e.RequestID != "req-"+t.Name() {
		t.Errorf("event of alice: got %+v", e)
	}

	filter := func(f hangar.EventFilter) string {
		t.Helper()
		p, err := s.Audit.ListEvents(ctx, f, hangar.ListOptions{})
		if err != nil {
			t.Fatalf("list %+v: %v", f, err)
		}
		var seqs []string
		for _, e := range p.Items {
			seqs = append(seqs, fmt.Sprint(e.Seq))
		}
		return strings.Join(seqs, ",")
	}
	for _, tc := range []struct {
		name string
		f    hangar.EventFilter
		want string
	}{
		{"all", hangar.EventFilter{}, "1,2,3,4,5,6"},
		{"exact target", hangar.EventFilter{Target: "secrets/model_key"}, "3"},
		{"prefix", hangar.EventFilter{Target: "secrets/"}, "3,4,6"},
		{"prefix of grants", hangar.EventFilter{Target: "secrets/modelXkey/"}, "6"},
		{"prefix treats _ literally", hangar.EventFilter{Target: "secrets/model_key/"}, ""},
		{"workspaces prefix", hangar.EventFilter{Target: "workspaces/"}, "1,2"},
		{"workspace", hangar.EventFilter{Workspace: "audited"}, "2,3"},
		{"workspace and target", hangar.EventFilter{Workspace: hangar.DefaultWorkspace, Target: "secrets/"}, "4,6"},
		{"since", hangar.EventFilter{Since: events[2].Time}, sinceSeqs(events, 2)},
		{"no match", hangar.EventFilter{Target: "models/"}, ""},
	} {
		if got := filter(tc.f); got != tc.want {
			t.Errorf("%s: got events [%s], want [%s]", tc.name, got, tc.want)
		}
	}
	wantVerified(t, s, 6)
}

// sinceSeqs lists the seqs of events at or after events[i].Time.
func sinceSeqs(events []*hangar.Event, i int) string {
	var seqs []string
	for _, e := range events {
		if !e.Time.Before(events[i].Time) {
			seqs = append(seqs, fmt.Sprint(e.Seq))
		}
	}
	return strings.Join(seqs, ",")
}

func testAuditTampering(t *testing.T, open func(t *testing.T) *Store) {
	// Each case starts from events 1..6 and tampers with the stored log.
	for _, tc := range []struct {
		name   string
		tamper func(t *testing.T, s *Store)
		broken int64
	}{
		{"altered actor", func(t *testing.T, s *Store) {
			exec(t, s, `UPDATE audit_events SET actor = ? WHERE seq = ?`, "mallory", 3)
		}, 3},
		{"altered target", func(t *testing.T, s *Store) {
			exec(t, s, `UPDATE audit_events SET target = ? WHERE seq = ?`, "secrets/other", 2)
		}, 2},
		{"altered and rehashed", func(t *testing.T, s *Store) {
			e := allEvents(t, s)[3] // seq 4
			e.Actor = "mallory"
			exec(t, s, `UPDATE audit_events SET actor = ?, hash = ? WHERE seq = ?`, e.Actor, e.ComputeHash(), e.Seq)
		}, 5},
		{"deleted event", func(t *testing.T, s *Store) {
			exec(t, s, `DELETE FROM audit_events WHERE seq = ?`, 3)
		}, 4},
		{"deleted first event", func(t *testing.T, s *Store) {
			exec(t, s, `DELETE FROM audit_events WHERE seq = ?`, 1)
		}, 2},
		{"deleted last event", func(t *testing.T, s *Store) {
			exec(t, s, `DELETE FROM audit_events WHERE seq = ?`, 6)
		}, 6},
		{"deleted last two events", func(t *testing.T, s *Store) {
			exec(t, s, `DELETE FROM audit_events WHERE seq >= ?`, 5)
		}, 5},
		{"appended outside the store", func(t *testing.T, s *Store) {
			last := allEvents(t, s)[5]
			e := *last
			e.Seq, e.Actor, e.PrevHash = 7, "mallory", last.Hash
			e.Hash = e.ComputeHash() // same time as the last event: copied below
			exec(t, s, `INSERT INTO audit_events (seq, time, actor, actor_id, action, target, workspace, request_id, prev_hash, hash)
				SELECT ?, time, ?, actor_id, action, target, workspace, request_id, ?, ? FROM audit_events WHERE seq = ?`,
				e.Seq, e.Actor, e.PrevHash, e.Hash, last.Seq)
		}, 7},
		{"renumbered", func(t *testing.T, s *Store) {
			exec(t, s, `DELETE FROM audit_events WHERE seq = ?`, 6)
			exec(t, s, `UPDATE audit_events SET seq = ? WHERE seq = ?`, 6, 5)
		}, 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			ctx := actorCtx(t)
			for i := range 5 {
				if _, err := s.Secrets.SetSecret(ctx, hangar.DefaultWorkspace, fmt.Sprint("k", i), []byte("v")); err != nil {
					t.Fatal(err)
				}
			}
			wantVerified(t, s, 6)
			tc.tamper(t, s)
			v, err := s.Audit.VerifyAudit(t.Context())
			if err != nil {
				t.Fatalf("verify: %v", err)
			}
			if v.OK || v.BrokenSeq != tc.broken || v.Reason == "" {
				t.Errorf("verify after tampering: got %+v, want broken at %d with a reason", v, tc.broken)
			}
		})
	}
}

func exec(t *testing.T, s *Store, q string, args ...any) {
	t.Helper()
	if err := s.Exec(t.Context(), q, args...); err != nil {
		t.Fatalf("exec %s: %v", q, err)
	}
}

func testConcurrentWriters(t *testing.T, s *Store) {
	const writers = 16
	stores := []*Store{s}
	if s.Another != nil {
		stores = append(stores, s.Another(t)) // half the writers act as a second server process
	}
	ctx := actorCtx(t)
	var wg sync.WaitGroup
	errs := make(chan error, writers*3)
	for i := range writers {
		st := stores[i%len(stores)]
		wg.Go(func() {
			name := fmt.Sprintf("conc-%02d", i)
			if err := st.Workspaces.CreateWorkspace(ctx, &hangar.Workspace{Name: name}); err != nil {
				errs <- fmt.Errorf("writer %d: create workspace: %w", i, err)
				return
			}
			if _, err := st.Secrets.SetSecret(ctx, name, "key", []byte("v")); err != nil {
				errs <- fmt.Errorf("writer %d: set secret: %w", i, err)
			}
			if _, err := st.Secrets.SetSecret(ctx, hangar.DefaultWorkspace, "shared", []byte(name)); err != nil {
				errs <- fmt.Errorf("writer %d: set shared secret: %w", i, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err) // any "database is locked" surfaces here
	}
	if t.Failed() {
		return
	}
	p, err := s.Workspaces.ListWorkspaces(ctx, hangar.ListOptions{})
	if err != nil || len(p.Items) != writers+1 {
		t.Fatalf("workspaces after concurrent creates: %d (%v), want %d", len(p.Items), err, writers+1)
	}
	sec, err := s.Secrets.Secret(ctx, hangar.DefaultWorkspace, "shared")
	if err != nil || sec.Version != writers {
		t.Errorf("shared secret after %d concurrent sets: %+v, %v; want version %d", writers, sec, err, writers)
	}
	wantVerified(t, s, 1+3*writers)
}

func testNoPartialWrites(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	hash, prefix := tokenHash(t)
	if _, err := s.Credentials.CreateToken(ctx, &hangar.TokenRequest{Name: "holder", Role: "Reader"}, hash, prefix); err != nil {
		t.Fatal(err)
	}
	events := len(allEvents(t, s))
	for _, tc := range []struct {
		name string
		r    hangar.TokenRequest
		hash []byte
		code string
	}{
		// Fails before the identity is written.
		{"unknown workspace", hangar.TokenRequest{Name: "newcomer", Role: "Reader", Workspace: "nowhere"}, nil, hangar.ENOTFOUND},
		// Fails at the last insert, after the identity and its role assignment were written.
		{"duplicate secret hash", hangar.TokenRequest{Name: "newcomer", Role: "Owner", Workspace: hangar.DefaultWorkspace}, hash, hangar.ECONFLICT},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := tc.hash
			if h == nil {
				h, _ = tokenHash(t)
			}
			r := tc.r
			_, err := s.Credentials.CreateToken(ctx, &r, h, prefix)
			wantCode(t, "create token", err, tc.code)
			_, err = s.Identities.IdentityByName(ctx, "newcomer")
			wantCode(t, "identity of the failed request", err, hangar.ENOTFOUND)
			ra, err := s.Roles.ListRoleAssignments(ctx, hangar.RoleAssignmentFilter{IdentityName: "newcomer"}, hangar.ListOptions{})
			if err != nil || len(ra.Items) != 0 {
				t.Errorf("assignments of the failed request: %v, %v; want none", ra, err)
			}
			if n := len(allEvents(t, s)); n != events {
				t.Errorf("failed request left %d audit events", n-events)
			}
			wantVerified(t, s, int64(events))
		})
	}
}

// testRecordEvent: events recorded for outside changes join the chain with
// the actor and request id of the context; bad ones are refused and change
// nothing.
func testRecordEvent(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	target := "blobs/sha256:" + strings.Repeat("ab", 32)
	if err := s.Events.RecordEvent(ctx, "artifacts/write", target, hangar.DefaultWorkspace); err != nil {
		t.Fatalf("record: %v", err)
	}
	e := lastEvent(t, s)
	if e.Seq != 2 || e.Action != "artifacts/write" || e.Target != target || e.Workspace != hangar.DefaultWorkspace ||
		e.Actor != "alice" || e.ActorID != "id-alice" || e.RequestID != "req-"+t.Name() || e.Time.IsZero() {
		t.Errorf("recorded event: got %+v", e)
	}
	if err := s.Events.RecordEvent(ctx, "artifacts/write", "blobs/x", ""); err != nil {
		t.Fatalf("record server-wide: %v", err)
	}
	wantVerified(t, s, 3)
	for _, tc := range []struct{ name, action, target, workspace string }{
		{"empty action", "", target, ""},
		{"action without verb", "artifacts", target, ""},
		{"empty target", "artifacts/write", "", ""},
		{"NUL in target", "artifacts/write", "blobs/\x00", ""},
		{"invalid UTF-8 in target", "artifacts/write", "blobs/\xff", ""},
		{"long target", "artifacts/write", strings.Repeat("t", 1025), ""},
		{"bad workspace", "artifacts/write", target, "a\x00b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantCode(t, "record", s.Events.RecordEvent(ctx, tc.action, tc.target, tc.workspace), hangar.EINVALID)
		})
	}
	wantVerified(t, s, 3)
}
