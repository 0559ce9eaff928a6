package storetest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"reflect"
	"slices"
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
		if want := e.ComputeHash(s.AuditKey); e.PrevHash != prev || e.Hash != want {
			t.Errorf("event %d: prev %s hash %s; want prev %s and hash %s", e.Seq, e.PrevHash, e.Hash, prev, want)
		}
		if !e.Time.Equal(e.Time.Truncate(time.Microsecond)) || e.Time.Location().String() != "UTC" {
			t.Errorf("event %d time %v is not UTC microseconds", e.Seq, e.Time)
		}
		prev = e.Hash
	}
	if e := events[4]; e.Actor != "bob" || e.ActorID != "id-bob" || e.RequestID != "" {
		t.Errorf("event of bob without request id: got %+v", e)
	}
	if e := events[1]; e.Actor != "alice" || e.RequestID != requestID(t) {
		t.Errorf("event of alice: got %+v", e)
	}

	// The store records only request ids hangar.ValidRequestID accepts;
	// others (which the HTTP edge never passes) are dropped, not stored.
	for _, tc := range []struct{ name, id, want string }{
		{"valid", "trace-0af7651916cd43dd8448eb211c80319c:01", "trace-0af7651916cd43dd8448eb211c80319c:01"},
		{"forged log line", "req-1\n2026-01-01 audit ok", ""},
		{"too long", strings.Repeat("r", 129), ""},
		{"NUL", "req\x00", ""},
		{"invalid UTF-8", "req-\xff", ""},
	} {
		rctx := hangar.WithRequestID(ctx, tc.id)
		if err := s.Workspaces.CreateWorkspace(rctx, &hangar.Workspace{Name: "rid-" + strings.ReplaceAll(strings.ToLower(tc.name), " ", "-")}); err != nil {
			t.Fatalf("%s request id: %v", tc.name, err)
		}
		if e := lastEvent(t, s); e.RequestID != tc.want {
			t.Errorf("%s request id: recorded %q, want %q", tc.name, e.RequestID, tc.want)
		}
	}
	wantVerified(t, s, 11)
	events = allEvents(t, s)

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
		{"all", hangar.EventFilter{}, "1,2,3,4,5,6,7,8,9,10,11"},
		{"exact target", hangar.EventFilter{Target: "secrets/model_key"}, "3"},
		{"prefix", hangar.EventFilter{Target: "secrets/"}, "3,4,6"},
		{"prefix of grants", hangar.EventFilter{Target: "secrets/modelXkey/"}, "6"},
		{"prefix treats _ literally", hangar.EventFilter{Target: "secrets/model_key/"}, ""},
		{"workspaces prefix", hangar.EventFilter{Target: "workspaces/"}, "1,2,7,8,9,10,11"},
		{"workspace", hangar.EventFilter{Workspace: "audited"}, "2,3"},
		{"workspace and target", hangar.EventFilter{Workspace: hangar.DefaultWorkspace, Target: "secrets/"}, "4,6"},
		{"since", hangar.EventFilter{Since: events[2].Time}, sinceSeqs(events, 2)},
		{"no match", hangar.EventFilter{Target: "models/"}, ""},
	} {
		if got := filter(tc.f); got != tc.want {
			t.Errorf("%s: got events [%s], want [%s]", tc.name, got, tc.want)
		}
	}
	wantVerified(t, s, 11)
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

// Hash functions a tamperer might re-hash a chain with.
func plainSHA256(e *hangar.Event) string {
	sum := sha256.Sum256(e.Encode())
	return hex.EncodeToString(sum[:])
}

func withKey(key []byte) func(*hangar.Event) string {
	return func(e *hangar.Event) string { return e.ComputeHash(key) }
}

// wrongKey is an audit key that is not the store's.
func wrongKey() []byte {
	k := make([]byte, hangar.MinAuditKeySize)
	rand.Read(k)
	return k
}

// rehash rewrites the stored chain from event from on as whoever knows hash
// would: every prev_hash and hash recomputed, and the head moved to the
// last event, so that nothing but the hashes themselves can give it away.
func rehash(t *testing.T, s *Store, from int64, hash func(*hangar.Event) string) {
	t.Helper()
	events := allEvents(t, s)
	prev := hangar.GenesisHash
	for _, e := range events {
		if e.Seq >= from {
			e.PrevHash = prev
			e.Hash = hash(e)
			exec(t, s, `UPDATE audit_events SET prev_hash = ?, hash = ? WHERE seq = ?`, e.PrevHash, e.Hash, e.Seq)
		}
		prev = e.Hash
	}
	last := events[len(events)-1]
	exec(t, s, `UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1`, last.Seq, last.Hash)
}

// eraseAction deletes every event of action and renumbers the rest to close
// the gaps, returning the first seq that changed.
func eraseAction(t *testing.T, s *Store, action string) int64 {
	t.Helper()
	var first, next int64
	for _, e := range allEvents(t, s) {
		if e.Action == action {
			exec(t, s, `DELETE FROM audit_events WHERE seq = ?`, e.Seq)
			if first == 0 {
				first = e.Seq
			}
			continue
		}
		next++
		if e.Seq != next {
			exec(t, s, `UPDATE audit_events SET seq = ? WHERE seq = ?`, next, e.Seq)
		}
	}
	if first == 0 {
		t.Fatalf("no %s event to erase", action)
	}
	return first
}

// revealSome adds events 7 to 10 to the tampering cases' log: two secret
// reveals, each followed by another write.
func revealSome(t *testing.T, s *Store) {
	t.Helper()
	ctx := actorCtx(t)
	for _, k := range []string{"k0", "k1"} {
		if _, err := s.Secrets.RevealSecret(ctx, hangar.DefaultWorkspace, k); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Secrets.SetSecret(ctx, hangar.DefaultWorkspace, "after-"+k, []byte("v")); err != nil {
			t.Fatal(err)
		}
	}
}

// columnTampering alters one column of event 3 for every hashed field of
// hangar.Event, with the seq verification reports broken.
var columnTampering = map[string]struct {
	column string
	value  func(e *hangar.Event) any
	broken int64
}{
	"Seq":       {"seq", func(*hangar.Event) any { return int64(100) }, 4}, // event 4 then follows event 2
	"Time":      {"time", func(e *hangar.Event) any { return e.Time.Add(time.Microsecond) }, 3},
	"Actor":     {"actor", func(*hangar.Event) any { return "mallory" }, 3},
	"ActorID":   {"actor_id", func(*hangar.Event) any { return "id-mallory" }, 3},
	"Action":    {"action", func(*hangar.Event) any { return hangar.ActSecretReveal }, 3},
	"Target":    {"target", func(*hangar.Event) any { return "secrets/other" }, 3},
	"Workspace": {"workspace", func(*hangar.Event) any { return "other" }, 3},
	"RequestID": {"request_id", func(*hangar.Event) any { return "req-forged" }, 3},
	"PrevHash":  {"prev_hash", func(*hangar.Event) any { return strings.Repeat("f", 64) }, 3},
	"Hash":      {"hash", func(*hangar.Event) any { return strings.Repeat("e", 64) }, 3},
	// A detail added to an event that had none: hashed once not empty.
	"Detail": {"detail", func(*hangar.Event) any { return `{"forged":true}` }, 3},
}

func testAuditTampering(t *testing.T, open func(t *testing.T) *Store) {
	type tamperCase struct {
		name   string
		tamper func(t *testing.T, s *Store)
		broken int64 // 0: the tampering is one the chain cannot show
	}
	// Each case starts from events 1..6 and tampers with the stored log.
	cases := []tamperCase{
		{"altered actor", func(t *testing.T, s *Store) {
			exec(t, s, `UPDATE audit_events SET actor = ? WHERE seq = ?`, "mallory", 3)
		}, 3},
		{"altered target", func(t *testing.T, s *Store) {
			exec(t, s, `UPDATE audit_events SET target = ? WHERE seq = ?`, "secrets/other", 2)
		}, 2},
		{"altered and re-hashed with the audit key but not re-linked", func(t *testing.T, s *Store) {
			e := allEvents(t, s)[3] // seq 4
			e.Actor = "mallory"
			exec(t, s, `UPDATE audit_events SET actor = ?, hash = ? WHERE seq = ?`, e.Actor, e.ComputeHash(s.AuditKey), e.Seq)
		}, 5},
		{"altered and re-hashed with plain SHA-256", func(t *testing.T, s *Store) {
			e := allEvents(t, s)[3]
			e.Actor = "mallory"
			exec(t, s, `UPDATE audit_events SET actor = ?, hash = ? WHERE seq = ?`, e.Actor, plainSHA256(e), e.Seq)
		}, 4},
		// What the key buys: rewriting an event and re-hashing and
		// re-linking everything after it, head included, is caught unless
		// done with the audit key itself.
		{"rewritten and the chain re-hashed with plain SHA-256", func(t *testing.T, s *Store) {
			exec(t, s, `UPDATE audit_events SET actor = ? WHERE seq = ?`, "mallory", 3)
			rehash(t, s, 3, plainSHA256)
		}, 3},
		{"rewritten and the chain re-hashed with a wrong key", func(t *testing.T, s *Store) {
			exec(t, s, `UPDATE audit_events SET actor = ? WHERE seq = ?`, "mallory", 3)
			rehash(t, s, 3, withKey(wrongKey()))
		}, 3},
		{"every reveal erased and the rest re-linked with plain SHA-256", func(t *testing.T, s *Store) {
			revealSome(t, s)
			rehash(t, s, eraseAction(t, s, hangar.ActSecretReveal), plainSHA256)
		}, 7},
		{"every reveal erased and the rest re-linked with a wrong key", func(t *testing.T, s *Store) {
			revealSome(t, s)
			rehash(t, s, eraseAction(t, s, hangar.ActSecretReveal), withKey(wrongKey()))
		}, 7},
		// The control: the same rewrites done with the audit key verify,
		// so the cases above are caught by the key alone — and whoever
		// holds the key-encryption key (which the audit key derives from)
		// and the database can rewrite the log. Checkpoints kept outside
		// the database catch that up to the last checkpoint.
		{"control: rewritten and re-hashed with the audit key", func(t *testing.T, s *Store) {
			exec(t, s, `UPDATE audit_events SET actor = ? WHERE seq = ?`, "mallory", 3)
			rehash(t, s, 3, withKey(s.AuditKey))
		}, 0},
		{"control: every reveal erased and re-linked with the audit key", func(t *testing.T, s *Store) {
			revealSome(t, s)
			rehash(t, s, eraseAction(t, s, hangar.ActSecretReveal), withKey(s.AuditKey))
		}, 0},
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
			e.Hash = e.ComputeHash(s.AuditKey) // same time as the last event: copied below
			exec(t, s, `INSERT INTO audit_events (seq, time, actor, actor_id, action, target, workspace, request_id, prev_hash, hash)
				SELECT ?, time, ?, actor_id, action, target, workspace, request_id, ?, ? FROM audit_events WHERE seq = ?`,
				e.Seq, e.Actor, e.PrevHash, e.Hash, last.Seq)
		}, 7},
		{"renumbered", func(t *testing.T, s *Store) {
			exec(t, s, `DELETE FROM audit_events WHERE seq = ?`, 6)
			exec(t, s, `UPDATE audit_events SET seq = ? WHERE seq = ?`, 6, 5)
		}, 6},
	}
	// Every hashed column, altered once. A field of Event without a case
	// fails here, so a new field cannot go untested.
	for f := range reflect.TypeFor[hangar.Event]().Fields() {
		if _, ok := columnTampering[f.Name]; !ok {
			t.Errorf("Event.%s has no column tampering case", f.Name)
		}
	}
	for _, field := range slices.Sorted(maps.Keys(columnTampering)) {
		c := columnTampering[field]
		cases = append(cases, tamperCase{"column " + c.column, func(t *testing.T, s *Store) {
			e := allEvents(t, s)[2] // seq 3
			exec(t, s, `UPDATE audit_events SET `+c.column+` = ? WHERE seq = ?`, c.value(e), e.Seq)
		}, c.broken})
	}
	for _, tc := range cases {
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
			if tc.broken == 0 {
				if !v.OK {
					t.Errorf("verify after re-hashing with the audit key: got %+v, want OK (the rewrite itself is faithful)", v)
				}
				return
			}
			if v.OK || v.BrokenSeq != tc.broken || v.Reason == "" {
				t.Errorf("verify after tampering: got %+v, want broken at %d with a reason", v, tc.broken)
			}
		})
	}
}

// testAuditCheckpoints: a checkpoint signs the head; verifying against it
// catches what the chain alone cannot (the newest events deleted and the
// head moved back) and a rewrite by the key's holder of events up to it,
// and refuses checkpoints that were altered or made up.
func testAuditCheckpoints(t *testing.T, open func(t *testing.T) *Store) {
	// setup writes events 2..8 and returns checkpoints taken at 1, 6 and 8.
	setup := func(t *testing.T) (s *Store, at1, at6, at8 *hangar.AuditCheckpoint) {
		s = open(t)
		ctx := actorCtx(t)
		take := func(seq int64) *hangar.AuditCheckpoint {
			t.Helper()
			cp, err := s.Checkpoints.Checkpoint(t.Context())
			if err != nil {
				t.Fatalf("checkpoint: %v", err)
			}
			last := lastEvent(t, s)
			if cp.Seq != seq || cp.Hash != last.Hash || cp.Time.IsZero() || !cp.ValidMAC(s.AuditKey) || cp.Validate() != nil {
				t.Fatalf("checkpoint: got %+v, want seq %d, hash %s, a time and a MAC under the audit key", cp, seq, last.Hash)
			}
			return cp
		}
		at1 = take(1)
		for i := range 7 {
			if _, err := s.Secrets.SetSecret(ctx, hangar.DefaultWorkspace, fmt.Sprint("k", i), []byte("v")); err != nil {
				t.Fatal(err)
			}
			if i == 4 {
				at6 = take(6)
			}
		}
		return s, at1, at6, take(8)
	}
	verify := func(t *testing.T, s *Store, cp *hangar.AuditCheckpoint) *hangar.AuditVerification {
		t.Helper()
		v, err := s.Checkpoints.VerifyAuditCheckpoint(t.Context(), cp)
		if err != nil {
			t.Fatalf("verify against checkpoint %+v: %v", cp, err)
		}
		return v
	}
	wantOK := func(t *testing.T, v *hangar.AuditVerification, what string) {
		t.Helper()
		if !v.OK || v.BrokenSeq != 0 {
			t.Errorf("%s: got %+v, want OK", what, v)
		}
	}
	wantBroken := func(t *testing.T, v *hangar.AuditVerification, seq int64, reason, what string) {
		t.Helper()
		if v.OK || v.BrokenSeq != seq || !strings.Contains(v.Reason, reason) {
			t.Errorf("%s: got %+v, want broken at %d with a reason saying %q", what, v, seq, reason)
		}
	}

	t.Run("intact", func(t *testing.T) {
		s, at1, at6, at8 := setup(t)
		for _, cp := range []*hangar.AuditCheckpoint{nil, at1, at6, at8} {
			if v := verify(t, s, cp); !v.OK || v.Events != 8 {
				t.Errorf("verify against %+v: got %+v, want OK with 8 events", cp, v)
			}
		}
	})
	t.Run("newest events deleted and the head moved back", func(t *testing.T) {
		s, _, at6, at8 := setup(t)
		sixth := allEvents(t, s)[5]
		exec(t, s, `DELETE FROM audit_events WHERE seq > ?`, 6)
		exec(t, s, `UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1`, sixth.Seq, sixth.Hash)
		wantVerified(t, s, 6) // the chain alone cannot tell
		wantOK(t, verify(t, s, at6), "against the checkpoint at 6")
		wantBroken(t, verify(t, s, at8), 7, "deleted from the end", "against the checkpoint at 8")
	})
	t.Run("history up to the checkpoint rewritten with the audit key", func(t *testing.T) {
		s, at1, at6, at8 := setup(t)
		exec(t, s, `UPDATE audit_events SET actor = ? WHERE seq = ?`, "mallory", 3)
		rehash(t, s, 3, withKey(s.AuditKey))
		wantVerified(t, s, 8)
		wantOK(t, verify(t, s, at1), "against the checkpoint before the rewrite")
		wantBroken(t, verify(t, s, at6), 6, "rewritten", "against the checkpoint at 6")
		wantBroken(t, verify(t, s, at8), 8, "rewritten", "against the checkpoint at 8")
	})
	t.Run("a broken chain is reported first", func(t *testing.T) {
		s, _, at6, _ := setup(t)
		exec(t, s, `UPDATE audit_events SET actor = ? WHERE seq = ?`, "mallory", 2)
		wantBroken(t, verify(t, s, at6), 2, "altered", "against the checkpoint at 6")
	})
	t.Run("altered or made-up checkpoints are refused", func(t *testing.T) {
		s, at1, at6, at8 := setup(t)
		moved := *at8
		moved.Seq, moved.Hash = at6.Seq, at6.Hash // a real head, with another checkpoint's MAC
		later := *at6
		later.Time = later.Time.Add(time.Hour)
		forged := *at6
		forged.MAC = forged.ComputeMAC(wrongKey())
		sha := *at6
		sha.MAC = plainSHA256(&hangar.Event{Seq: sha.Seq, PrevHash: sha.Hash})
		malformed := *at1
		malformed.Hash = "not a hash"
		for name, cp := range map[string]*hangar.AuditCheckpoint{
			"seq and hash moved": &moved, "time moved": &later, "signed with another key": &forged,
			"made-up mac": &sha, "malformed": &malformed,
		} {
			_, err := s.Checkpoints.VerifyAuditCheckpoint(t.Context(), cp)
			wantCode(t, name, err, hangar.EINVALID)
		}
	})
	t.Run("checkpoint of a head that is not the newest event", func(t *testing.T) {
		s, _, _, _ := setup(t)
		exec(t, s, `DELETE FROM audit_events WHERE seq = ?`, 8)
		if cp, err := s.Checkpoints.Checkpoint(t.Context()); err == nil {
			t.Errorf("checkpoint of a head beyond the log: got %+v, want an error", cp)
		}
	})
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
		e.Actor != "alice" || e.ActorID != "id-alice" || e.RequestID != requestID(t) || e.Time.IsZero() {
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
