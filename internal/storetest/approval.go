package storetest

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hangar-ml/hangar"
)

// testApprovals checks protected aliases and approval requests (issue 10,
// item 4).
func testApprovals(t *testing.T, open func(t *testing.T) *Store) {
	t.Run("Protect", func(t *testing.T) { testApprovalProtect(t, open(t)) })
	t.Run("Approve", func(t *testing.T) { testApprovalApprove(t, open(t)) })
	t.Run("Reject", func(t *testing.T) { testApprovalReject(t, open(t)) })
	t.Run("Expiry", func(t *testing.T) { testApprovalExpiry(t, open(t)) })
	t.Run("List", func(t *testing.T) { testApprovalList(t, open(t)) })
	t.Run("VersionDeleted", func(t *testing.T) { testApprovalVersionDeleted(t, open(t)) })
	t.Run("ConcurrentDecisions", func(t *testing.T) { testApprovalConcurrent(t, open(t)) })
}

// asActor returns a context acting as the named identity (id "id-<name>").
func asActor(t *testing.T, name string) context.Context {
	return hangar.WithActor(t.Context(), hangar.Actor{IdentityID: "id-" + name, Name: name})
}

// approvalSetup creates model m with versions 1 and 2, points production
// at 1 and protects production.
func approvalSetup(t *testing.T, s *Store) {
	t.Helper()
	newModel(t, s, "m", nil)
	newVersion(t, s, "m", "s3://b/m1", "", nil)
	newVersion(t, s, "m", "s3://b/m2", "", nil)
	if err := s.Registry.SetRegisteredModelAlias(actorCtx(t), registryWS, "m", "production", "1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Approvals.ProtectAlias(actorCtx(t), registryWS, "production"); err != nil {
		t.Fatalf("protect: %v", err)
	}
}

// request asks, as who, for alias production of m at version.
func request(t *testing.T, s *Store, who, version string) *hangar.ApprovalRequest {
	t.Helper()
	r, err := s.Approvals.RequestApproval(asActor(t, who), hangar.NewApprovalRequest{
		Workspace: registryWS, Name: "m", Version: version, Alias: "production", Comment: "better recall",
	})
	if err != nil {
		t.Fatalf("request approval: %v", err)
	}
	return r
}

// wantAlias fails unless alias of m points at version.
func wantAlias(t *testing.T, s *Store, alias, version string) {
	t.Helper()
	v, err := s.Registry.ModelVersionByAlias(t.Context(), registryWS, "m", alias)
	if err != nil {
		t.Fatalf("alias %s: %v", alias, err)
	}
	if v.Version != version {
		t.Errorf("alias %s: got version %s, want %s", alias, v.Version, version)
	}
}

// wantApprovalEvent fails unless e has the action, target and actor.
func wantApprovalEvent(t *testing.T, e *hangar.Event, action, target, actor string) {
	t.Helper()
	if e.Action != action || e.Target != target || e.Actor != actor || e.Workspace != registryWS {
		t.Errorf("event: got %s on %s by %s in %q, want %s on %s by %s in %q", e.Action, e.Target, e.Actor, e.Workspace, action, target, actor, registryWS)
	}
}

func testApprovalProtect(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	p, err := s.Approvals.ProtectAlias(ctx, registryWS, "production")
	if err != nil {
		t.Fatalf("protect: %v", err)
	}
	if p.Workspace != registryWS || p.Alias != "production" || p.CreatedBy != "alice" || p.CreatedAt.IsZero() {
		t.Errorf("protect: got %+v, want production by alice with a time", p)
	}
	wantApprovalEvent(t, lastEvent(t, s), hangar.ActApprovalWrite, "protectedAliases/production", "alice")
	got, err := s.Approvals.ProtectedAlias(ctx, registryWS, "production")
	if err != nil || got.Alias != "production" || !got.CreatedAt.Equal(p.CreatedAt) {
		t.Errorf("get: got %+v, %v; want %+v", got, err, p)
	}
	n := len(allEvents(t, s))
	_, err = s.Approvals.ProtectAlias(ctx, registryWS, "production")
	wantCode(t, "protect twice", err, hangar.ECONFLICT)
	_, err = s.Approvals.ProtectAlias(ctx, "ghost-ws", "production")
	wantCode(t, "protect in a missing workspace", err, hangar.ENOTFOUND)
	for _, bad := range []string{"", "latest", "v1", "a b", "x\x00"} {
		_, err = s.Approvals.ProtectAlias(ctx, registryWS, bad)
		wantCode(t, "protect "+bad, err, hangar.EINVALID)
	}
	if got := len(allEvents(t, s)); got != n {
		t.Errorf("events after refused protections: got %d, want %d", got, n)
	}
	_, err = s.Approvals.ProtectedAlias(ctx, registryWS, "staging")
	wantCode(t, "get unprotected", err, hangar.ENOTFOUND)
	if _, err := s.Approvals.ProtectAlias(ctx, registryWS, "champion"); err != nil {
		t.Fatal(err)
	}
	page, err := s.Approvals.ListProtectedAliases(ctx, registryWS, hangar.ListOptions{})
	if err != nil || len(page.Items) != 2 || page.Items[0].Alias != "champion" || page.Items[1].Alias != "production" {
		t.Fatalf("list: got %+v, %v; want champion, production", page, err)
	}
	page, err = s.Approvals.ListProtectedAliases(ctx, registryWS, hangar.ListOptions{MaxResults: 1})
	if err != nil || len(page.Items) != 1 || page.NextPageToken == "" {
		t.Fatalf("list page of 1: got %+v, %v", page, err)
	}
	page, err = s.Approvals.ListProtectedAliases(ctx, registryWS, hangar.ListOptions{MaxResults: 1, PageToken: page.NextPageToken})
	if err != nil || len(page.Items) != 1 || page.Items[0].Alias != "production" || page.NextPageToken != "" {
		t.Fatalf("list second page: got %+v, %v", page, err)
	}
	if err := s.Approvals.UnprotectAlias(ctx, registryWS, "champion"); err != nil {
		t.Fatalf("unprotect: %v", err)
	}
	wantApprovalEvent(t, lastEvent(t, s), hangar.ActApprovalWrite, "protectedAliases/champion", "alice")
	wantCode(t, "unprotect twice", s.Approvals.UnprotectAlias(ctx, registryWS, "champion"), hangar.ENOTFOUND)
	wantVerified(t, s, int64(len(allEvents(t, s))))
}

func testApprovalApprove(t *testing.T, s *Store) {
	approvalSetup(t, s)
	bob, carol := asActor(t, "bob"), asActor(t, "carol")
	r := request(t, s, "bob", "2")
	if r.ID == "" || r.Name != "m" || r.Version != "2" || r.Alias != "production" || r.Comment != "better recall" ||
		r.Requester != "bob" || r.RequesterID != "id-bob" || r.Status != hangar.ApprovalPending ||
		!r.ExpiresAt.Equal(r.CreatedAt.Add(hangar.DefaultApprovalExpiry)) || r.DecidedAt != nil {
		t.Errorf("request: got %+v, want pending by bob for m/2 production expiring in 72h", r)
	}
	wantApprovalEvent(t, lastEvent(t, s), hangar.ActModelWrite, "models/m/approvals/"+r.ID, "bob")
	got, err := s.Approvals.ApprovalRequest(bob, registryWS, r.ID)
	if err != nil || got.Status != hangar.ApprovalPending || !got.ExpiresAt.Equal(r.ExpiresAt) || got.RequesterID != "id-bob" {
		t.Errorf("get: got %+v, %v; want %+v", got, err, r)
	}
	_, err = s.Approvals.ApprovalRequest(bob, "other-ws", r.ID)
	wantCode(t, "get in another workspace", err, hangar.ENOTFOUND)

	// Refused requests store nothing.
	n := len(allEvents(t, s))
	for _, tc := range []struct {
		name string
		req  hangar.NewApprovalRequest
		code string
		msg  string
	}{
		{"unprotected alias", hangar.NewApprovalRequest{Name: "m", Version: "2", Alias: "staging"}, hangar.EINVALID, `alias "staging" is not protected`},
		{"missing version", hangar.NewApprovalRequest{Name: "m", Version: "9", Alias: "production"}, hangar.ENOTFOUND, "version=9"},
		{"missing model", hangar.NewApprovalRequest{Name: "ghost", Version: "1", Alias: "production"}, hangar.ENOTFOUND, "ghost"},
		{"bad version", hangar.NewApprovalRequest{Name: "m", Version: "two", Alias: "production"}, hangar.EINVALID, ""},
		{"bad alias", hangar.NewApprovalRequest{Name: "m", Version: "2", Alias: "latest"}, hangar.EINVALID, ""},
		{"expiry too long", hangar.NewApprovalRequest{Name: "m", Version: "2", Alias: "production", ExpiresIn: 31 * 24 * time.Hour}, hangar.EINVALID, "expiry"},
		{"comment with NUL", hangar.NewApprovalRequest{Name: "m", Version: "2", Alias: "production", Comment: "\x00"}, hangar.EINVALID, "comment"},
	} {
		tc.req.Workspace = registryWS
		_, err := s.Approvals.RequestApproval(bob, tc.req)
		wantCode(t, tc.name, err, tc.code)
		if err != nil && !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: got %q, want it to contain %q", tc.name, err, tc.msg)
		}
	}
	if got := len(allEvents(t, s)); got != n {
		t.Errorf("events after refused requests: got %d, want %d", got, n)
	}

	// The requester may not decide; nor may anyone without a comment.
	_, err = s.Approvals.DecideApproval(bob, registryWS, r.ID, true, "mine")
	wantCode(t, "approve own request", err, hangar.EFORBIDDEN)
	_, err = s.Approvals.DecideApproval(bob, registryWS, r.ID, false, "mine")
	wantCode(t, "reject own request", err, hangar.EFORBIDDEN)
	_, err = s.Approvals.DecideApproval(carol, registryWS, r.ID, true, "")
	wantCode(t, "approve without a comment", err, hangar.EINVALID)
	_, err = s.Approvals.DecideApproval(carol, registryWS, "nope", true, "ok")
	wantCode(t, "approve a missing request", err, hangar.ENOTFOUND)
	_, err = s.Approvals.DecideApproval(carol, "other-ws", r.ID, true, "ok")
	wantCode(t, "approve from another workspace", err, hangar.ENOTFOUND)
	if got := len(allEvents(t, s)); got != n {
		t.Errorf("events after refused decisions: got %d, want %d", got, n)
	}
	wantAlias(t, s, "production", "1")
	if got, _ := s.Approvals.ApprovalRequest(bob, registryWS, r.ID); got.Status != hangar.ApprovalPending {
		t.Errorf("after refused decisions: got status %q, want pending", got.Status)
	}

	// Approving moves the alias and records the decision, both audited.
	d, err := s.Approvals.DecideApproval(carol, registryWS, r.ID, true, "metrics checked")
	if err != nil {
		t.Fatalf("approve: %v", err)
	}
	if d.Status != hangar.ApprovalApproved || d.DecidedBy != "carol" || d.DecidedByID != "id-carol" || d.DecidedAt == nil ||
		d.DecisionComment != "metrics checked" || d.PreviousVersion != "1" {
		t.Errorf("approve: got %+v, want approved by carol, previous version 1", d)
	}
	wantAlias(t, s, "production", "2")
	ev := allEvents(t, s)
	if len(ev) != n+2 {
		t.Fatalf("events after approving: got %d, want %d", len(ev), n+2)
	}
	wantApprovalEvent(t, ev[n], hangar.ActModelWrite, "models/m/aliases/production", "carol")
	wantApprovalEvent(t, ev[n+1], hangar.ActApprovalApprove, "models/m/approvals/"+r.ID+"/approved", "carol")
	got, err = s.Approvals.ApprovalRequest(bob, registryWS, r.ID)
	if err != nil || got.Status != hangar.ApprovalApproved || got.DecidedBy != "carol" || got.DecisionComment != "metrics checked" ||
		got.PreviousVersion != "1" || got.DecidedAt == nil || !got.DecidedAt.Equal(*d.DecidedAt) {
		t.Errorf("get approved: got %+v, %v; want %+v", got, err, d)
	}

	// A decided request is not decided again.
	dave := asActor(t, "dave")
	_, err = s.Approvals.DecideApproval(dave, registryWS, r.ID, true, "again")
	wantCode(t, "approve twice", err, hangar.ECONFLICT)
	if err != nil && !strings.Contains(err.Error(), "already approved by carol") {
		t.Errorf("approve twice: got %q, want it to name the decision", err)
	}
	_, err = s.Approvals.DecideApproval(dave, registryWS, r.ID, false, "too late")
	wantCode(t, "reject approved", err, hangar.ECONFLICT)
	wantVerified(t, s, int64(len(allEvents(t, s))))
}

func testApprovalReject(t *testing.T, s *Store) {
	approvalSetup(t, s)
	r := request(t, s, "bob", "2")
	d, err := s.Approvals.DecideApproval(asActor(t, "carol"), registryWS, r.ID, false, "recall regressed on segment B")
	if err != nil {
		t.Fatalf("reject: %v", err)
	}
	if d.Status != hangar.ApprovalRejected || d.DecidedBy != "carol" || d.DecisionComment != "recall regressed on segment B" || d.PreviousVersion != "" {
		t.Errorf("reject: got %+v", d)
	}
	wantAlias(t, s, "production", "1")
	wantApprovalEvent(t, lastEvent(t, s), hangar.ActApprovalApprove, "models/m/approvals/"+r.ID+"/rejected", "carol")
	_, err = s.Approvals.DecideApproval(asActor(t, "dave"), registryWS, r.ID, true, "overrule")
	wantCode(t, "approve rejected", err, hangar.ECONFLICT)
	wantAlias(t, s, "production", "1")
}

func testApprovalExpiry(t *testing.T, s *Store) {
	approvalSetup(t, s)
	ctx := t.Context()
	r := request(t, s, "bob", "2")
	past := time.Now().Add(-time.Minute)
	if err := s.Exec(ctx, `UPDATE approval_requests SET expires_at = ? WHERE id = ?`, past, r.ID); err != nil {
		t.Fatal(err)
	}
	got, err := s.Approvals.ApprovalRequest(ctx, registryWS, r.ID)
	if err != nil || got.Status != hangar.ApprovalExpired {
		t.Fatalf("get expired: got %+v, %v; want status expired", got, err)
	}
	n := len(allEvents(t, s))
	_, err = s.Approvals.DecideApproval(asActor(t, "carol"), registryWS, r.ID, true, "ok")
	wantCode(t, "approve expired", err, hangar.ECONFLICT)
	if err != nil && !strings.Contains(err.Error(), "expired") {
		t.Errorf("approve expired: got %q, want it to say expired", err)
	}
	wantAlias(t, s, "production", "1")
	if got := len(allEvents(t, s)); got != n {
		t.Errorf("events after approving an expired request: got %d, want %d", got, n)
	}
	var status string
	if err := s.QueryRow(ctx, `SELECT status FROM approval_requests WHERE id = ?`, []any{r.ID}, &status); err != nil || status != hangar.ApprovalPending {
		t.Errorf("stored status: got %q, %v; want pending (expiry is read, not written)", status, err)
	}
	for _, tc := range []struct {
		status string
		want   int
	}{{hangar.ApprovalExpired, 1}, {hangar.ApprovalPending, 0}, {"", 1}} {
		page, err := s.Approvals.ListApprovalRequests(ctx, registryWS, hangar.ApprovalFilter{Status: tc.status}, hangar.ListOptions{})
		if err != nil || len(page.Items) != tc.want {
			t.Errorf("list %q: got %+v, %v; want %d", tc.status, page, err, tc.want)
			continue
		}
		if tc.want == 1 && page.Items[0].Status != hangar.ApprovalExpired {
			t.Errorf("list %q: got status %q, want expired", tc.status, page.Items[0].Status)
		}
	}
}

func testApprovalList(t *testing.T, s *Store) {
	approvalSetup(t, s)
	newModel(t, s, "other", nil)
	newVersion(t, s, "other", "s3://b/o1", "", nil)
	ctx := t.Context()
	var ids []string
	for i := range 4 {
		ids = append(ids, request(t, s, "bob", []string{"1", "2"}[i%2]).ID)
	}
	o, err := s.Approvals.RequestApproval(asActor(t, "bob"), hangar.NewApprovalRequest{Workspace: registryWS, Name: "other", Version: "1", Alias: "production"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Approvals.DecideApproval(asActor(t, "carol"), registryWS, ids[0], false, "no"); err != nil {
		t.Fatal(err)
	}
	list := func(f hangar.ApprovalFilter, size int) []string {
		t.Helper()
		var out []string
		opt := hangar.ListOptions{MaxResults: size}
		for {
			page, err := s.Approvals.ListApprovalRequests(ctx, registryWS, f, opt)
			if err != nil {
				t.Fatalf("list %+v: %v", f, err)
			}
			for _, r := range page.Items {
				out = append(out, r.ID)
			}
			if page.NextPageToken == "" {
				return out
			}
			opt.PageToken = page.NextPageToken
		}
	}
	newestFirst := []string{o.ID, ids[3], ids[2], ids[1], ids[0]}
	for _, size := range []int{0, 1, 2} {
		if got := list(hangar.ApprovalFilter{}, size); strings.Join(got, ",") != strings.Join(newestFirst, ",") {
			t.Errorf("list all in pages of %d: got %v, want %v", size, got, newestFirst)
		}
	}
	if got, want := list(hangar.ApprovalFilter{Name: "m", Status: hangar.ApprovalPending}, 2), newestFirst[1:4]; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("list pending of m: got %v, want %v", got, want)
	}
	if got := list(hangar.ApprovalFilter{Status: hangar.ApprovalRejected}, 0); len(got) != 1 || got[0] != ids[0] {
		t.Errorf("list rejected: got %v, want [%s]", got, ids[0])
	}
	if got := list(hangar.ApprovalFilter{Name: "ghost"}, 0); len(got) != 0 {
		t.Errorf("list of a missing model: got %v, want none", got)
	}
	_, err = s.Approvals.ListApprovalRequests(ctx, registryWS, hangar.ApprovalFilter{Status: "done"}, hangar.ListOptions{})
	wantCode(t, "list with a bad status", err, hangar.EINVALID)
	_, err = s.Approvals.ListApprovalRequests(ctx, registryWS, hangar.ApprovalFilter{Name: "a\x00"}, hangar.ListOptions{})
	wantCode(t, "list with a NUL", err, hangar.EINVALID)
}

func testApprovalVersionDeleted(t *testing.T, s *Store) {
	approvalSetup(t, s)
	r := request(t, s, "bob", "2")
	if err := s.Registry.DeleteModelVersion(actorCtx(t), registryWS, "m", "2"); err != nil {
		t.Fatal(err)
	}
	n := len(allEvents(t, s))
	_, err := s.Approvals.DecideApproval(asActor(t, "carol"), registryWS, r.ID, true, "ok")
	wantCode(t, "approve a deleted version", err, hangar.ENOTFOUND)
	if got, _ := s.Approvals.ApprovalRequest(t.Context(), registryWS, r.ID); got == nil || got.Status != hangar.ApprovalPending {
		t.Errorf("after a refused approval: got %+v, want pending", got)
	}
	if got := len(allEvents(t, s)); got != n {
		t.Errorf("events: got %d, want %d", got, n)
	}
	wantAlias(t, s, "production", "1")
}

// Two approvers deciding one request at once: exactly one succeeds.
func testApprovalConcurrent(t *testing.T, s *Store) {
	approvalSetup(t, s)
	r := request(t, s, "bob", "2")
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for i, who := range []string{"carol", "dave", "erin", "frank"} {
		wg.Go(func() {
			_, err := s.Approvals.DecideApproval(asActor(t, who), registryWS, r.ID, i%2 == 0, "decided by "+who)
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch hangar.ErrorCode(err) {
		case "":
			ok++
		case hangar.ECONFLICT:
		default:
			t.Errorf("concurrent decision: got %v, want success or %s", err, hangar.ECONFLICT)
		}
	}
	if ok != 1 {
		t.Errorf("concurrent decisions: %d succeeded, want 1", ok)
	}
	wantVerified(t, s, int64(len(allEvents(t, s))))
}
