package storetest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hangar-ml/hangar"
)

func testWorkspaces(t *testing.T, open func(t *testing.T) *Store) {
	t.Run("CreateGetList", func(t *testing.T) {
		s := open(t)
		ctx := actorCtx(t)
		before := time.Now().Add(-time.Second)
		w := &hangar.Workspace{Name: "team-a", DisplayName: "Team A", Description: "first", Tags: map[string]string{"env": "dev", "owner": "ml"}}
		if err := s.Workspaces.CreateWorkspace(ctx, w); err != nil {
			t.Fatalf("create: %v", err)
		}
		if w.CreatedBy != "alice" || w.CreatedAt.Before(before) {
			t.Errorf("create set created_by %q, created_at %v; want alice and now", w.CreatedBy, w.CreatedAt)
		}
		got, err := s.Workspaces.Workspace(ctx, "team-a")
		if err != nil {
			t.Fatalf("get: %v", err)
		}
		if got.Name != w.Name || got.DisplayName != w.DisplayName || got.Description != w.Description ||
			got.CreatedBy != "alice" || !got.CreatedAt.Equal(w.CreatedAt) || fmt.Sprint(got.Tags) != fmt.Sprint(w.Tags) {
			t.Errorf("get: got %+v, want %+v", got, w)
		}
		noTags := &hangar.Workspace{Name: "team-b"}
		if err := s.Workspaces.CreateWorkspace(ctx, noTags); err != nil {
			t.Fatalf("create without tags: %v", err)
		}
		if got, err := s.Workspaces.Workspace(ctx, "team-b"); err != nil || got.Tags != nil {
			t.Errorf("workspace without tags: got %+v, %v; want nil tags", got, err)
		}
		p, err := s.Workspaces.ListWorkspaces(ctx, hangar.ListOptions{})
		if err != nil {
			t.Fatalf("list: %v", err)
		}
		if names := workspaceNames(p.Items); names != "default,team-a,team-b" || p.NextPageToken != "" {
			t.Errorf("list: got %s (next %q), want default,team-a,team-b and no next page", names, p.NextPageToken)
		}
		ev := lastEvent(t, s)
		if ev.Action != hangar.ActWorkspaceWrite || ev.Target != "workspaces/team-b" || ev.Workspace != "team-b" ||
			ev.Actor != "alice" || ev.ActorID != "id-alice" || ev.RequestID != requestID(t) {
			t.Errorf("audit event of create: got %+v", ev)
		}
	})

	t.Run("CreateErrors", func(t *testing.T) {
		s := open(t)
		ctx := actorCtx(t)
		if err := s.Workspaces.CreateWorkspace(ctx, &hangar.Workspace{Name: "dup"}); err != nil {
			t.Fatalf("create: %v", err)
		}
		many := map[string]string{}
		for i := range 51 {
			many[fmt.Sprint("k", i)] = "v"
		}
		for _, tc := range []struct {
			name string
			w    hangar.Workspace
			code string
		}{
			{"too short", hangar.Workspace{Name: "ab"}, hangar.EINVALID},
			{"bad character", hangar.Workspace{Name: "a/b/c"}, hangar.EINVALID},
			{"leading dash", hangar.Workspace{Name: "-abc"}, hangar.EINVALID},
			{"too long", hangar.Workspace{Name: strings.Repeat("a", 34)}, hangar.EINVALID},
			{"long description", hangar.Workspace{Name: "okname", Description: strings.Repeat("d", 4097)}, hangar.EINVALID},
			{"too many tags", hangar.Workspace{Name: "okname", Tags: many}, hangar.EINVALID},
			{"exists", hangar.Workspace{Name: "dup"}, hangar.ECONFLICT},
			{"default exists", hangar.Workspace{Name: hangar.DefaultWorkspace}, hangar.ECONFLICT},
		} {
			t.Run(tc.name, func(t *testing.T) {
				n := len(allEvents(t, s))
				w := tc.w
				wantCode(t, "create "+tc.name, s.Workspaces.CreateWorkspace(ctx, &w), tc.code)
				if got := len(allEvents(t, s)); got != n {
					t.Errorf("failed create wrote %d audit events", got-n)
				}
			})
		}
		_, err := s.Workspaces.Workspace(ctx, "missing")
		wantCode(t, "get missing", err, hangar.ENOTFOUND)
		if err != nil && !strings.Contains(hangar.ErrorMessage(err), `"missing"`) {
			t.Errorf("not-found message %q does not name the workspace", hangar.ErrorMessage(err))
		}
	})

	t.Run("RecreatedAudit", func(t *testing.T) { testRecreatedWorkspaceAudit(t, open(t)) })

	t.Run("Delete", func(t *testing.T) {
		s := open(t)
		ctx := actorCtx(t)
		wantCode(t, "delete default", s.Workspaces.DeleteWorkspace(ctx, hangar.DefaultWorkspace), hangar.ECONFLICT)
		wantCode(t, "delete missing", s.Workspaces.DeleteWorkspace(ctx, "missing"), hangar.ENOTFOUND)

		for _, name := range []string{"doomed", "kept"} {
			if err := s.Workspaces.CreateWorkspace(ctx, &hangar.Workspace{Name: name}); err != nil {
				t.Fatalf("create %s: %v", name, err)
			}
			if _, err := s.Secrets.SetSecret(ctx, name, "api-key", []byte("v-"+name)); err != nil {
				t.Fatalf("set secret in %s: %v", name, err)
			}
			if err := s.Identities.CreateIdentity(ctx, &hangar.Identity{Name: "bot-" + name, Kind: hangar.KindWorkload}); err != nil {
				t.Fatalf("create identity: %v", err)
			}
			if err := s.Roles.AssignRole(ctx, &hangar.RoleAssignment{IdentityName: "bot-" + name, Role: hangar.RoleReader, Workspace: name}); err != nil {
				t.Fatalf("assign: %v", err)
			}
			if err := s.Secrets.GrantSecret(ctx, name, "api-key", "bot-"+name); err != nil {
				t.Fatalf("grant: %v", err)
			}
		}
		before := allEvents(t, s)
		if err := s.Workspaces.DeleteWorkspace(ctx, "doomed"); err != nil {
			t.Fatalf("delete: %v", err)
		}
		_, err := s.Workspaces.Workspace(ctx, "doomed")
		wantCode(t, "get deleted", err, hangar.ENOTFOUND)
		wantCode(t, "delete again", s.Workspaces.DeleteWorkspace(ctx, "doomed"), hangar.ENOTFOUND)
		_, err = s.Secrets.Secret(ctx, "doomed", "api-key")
		wantCode(t, "secret of deleted workspace", err, hangar.ENOTFOUND)
		var n int
		if err := s.QueryRow(ctx, `SELECT COUNT(*) FROM secret_grants WHERE workspace = ?`, []any{"doomed"}, &n); err != nil || n != 0 {
			t.Errorf("grants of deleted workspace: %d rows (%v), want 0", n, err)
		}
		ra, err := s.Roles.ListRoleAssignments(ctx, hangar.RoleAssignmentFilter{}, hangar.ListOptions{})
		if err != nil {
			t.Fatalf("list assignments: %v", err)
		}
		for _, a := range ra.Items {
			if a.Workspace == "doomed" {
				t.Errorf("assignment %+v survived its workspace", a)
			}
		}
		if len(ra.Items) != 1 || ra.Items[0].Workspace != "kept" {
			t.Errorf("assignments after delete: got %d, want the one on kept", len(ra.Items))
		}
		if sec, err := s.Secrets.Secret(ctx, "kept", "api-key"); err != nil || len(sec.Grants) != 1 {
			t.Errorf("secret of the other workspace: got %+v, %v; want it with its grant", sec, err)
		}
		after := allEvents(t, s)
		if len(after) != len(before)+1 {
			t.Fatalf("delete wrote %d events, want 1", len(after)-len(before))
		}
		for i, e := range before {
			if !sameEvent(after[i], e) {
				t.Errorf("event %d changed by deleting a workspace: %+v -> %+v", e.Seq, e, after[i])
			}
		}
		if e := after[len(after)-1]; e.Action != hangar.ActWorkspaceDelete || e.Target != "workspaces/doomed" || e.Workspace != "doomed" {
			t.Errorf("delete event: got %+v", e)
		}
		wantVerified(t, s, int64(len(after)))
		// The name is free again.
		if err := s.Workspaces.CreateWorkspace(ctx, &hangar.Workspace{Name: "doomed"}); err != nil {
			t.Fatalf("re-create deleted workspace: %v", err)
		}
		if sec, err := s.Secrets.ListSecrets(ctx, "doomed", hangar.ListOptions{}); err != nil || len(sec.Items) != 0 {
			t.Errorf("re-created workspace has secrets %+v (%v), want none", sec, err)
		}
	})
}

// testRecreatedWorkspaceAudit: a workspace created under the name of a
// deleted one is a new workspace, and its audit listing shows only its own
// events to its members; the whole log still holds the old ones.
func testRecreatedWorkspaceAudit(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	list := func(f hangar.EventFilter) []*hangar.Event {
		t.Helper()
		var out []*hangar.Event
		opt := hangar.ListOptions{MaxResults: 2} // pages must not mix the two either
		for {
			p, err := s.Audit.ListEvents(ctx, f, opt)
			if err != nil {
				t.Fatalf("list %+v: %v", f, err)
			}
			out = append(out, p.Items...)
			if p.NextPageToken == "" {
				return out
			}
			opt.PageToken = p.NextPageToken
		}
	}
	targets := func(ev []*hangar.Event) string {
		var ts []string
		for _, e := range ev {
			ts = append(ts, e.Action+" "+e.Target)
		}
		return strings.Join(ts, ", ")
	}
	if err := s.Workspaces.CreateWorkspace(ctx, &hangar.Workspace{Name: "phoenix"}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"old-a", "old-b"} {
		if _, err := s.Secrets.SetSecret(ctx, "phoenix", name, []byte("v")); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Workspaces.DeleteWorkspace(ctx, "phoenix"); err != nil {
		t.Fatal(err)
	}
	if got := list(hangar.EventFilter{Workspace: "phoenix"}); len(got) != 0 {
		t.Errorf("events of a deleted workspace listed by its name: [%s], want none (no workspace has the name)", targets(got))
	}
	if err := s.Workspaces.CreateWorkspace(ctx, &hangar.Workspace{Name: "phoenix"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Secrets.SetSecret(ctx, "phoenix", "new", []byte("v")); err != nil {
		t.Fatal(err)
	}
	want := "workspaces/write workspaces/phoenix, secrets/write secrets/new"
	if got := targets(list(hangar.EventFilter{Workspace: "phoenix"})); got != want {
		t.Errorf("events of the re-created workspace: [%s], want [%s]", got, want)
	}
	if got := targets(list(hangar.EventFilter{Workspace: "phoenix", Target: "secrets/"})); got != "secrets/write secrets/new" {
		t.Errorf("secret events of the re-created workspace: [%s], want only the new one", got)
	}
	all := targets(list(hangar.EventFilter{Workspace: "phoenix", AllIncarnations: true}))
	wantAll := "workspaces/write workspaces/phoenix, secrets/write secrets/old-a, secrets/write secrets/old-b, " +
		"workspaces/delete workspaces/phoenix, " + want
	if all != wantAll {
		t.Errorf("every event under the name: [%s], want [%s]", all, wantAll)
	}
	if n := len(list(hangar.EventFilter{})); n != len(allEvents(t, s)) || n != 7 {
		t.Errorf("the whole log: %d events, want all 7", n)
	}
	// Other workspaces are unaffected: default's listing starts at its creation, event 1.
	if got := list(hangar.EventFilter{Workspace: hangar.DefaultWorkspace}); len(got) != 1 || got[0].Seq != 1 {
		t.Errorf("events of the default workspace: [%s], want its creation", targets(got))
	}
	wantVerified(t, s, 7)
}

func workspaceNames(ws []*hangar.Workspace) string {
	names := make([]string, len(ws))
	for i, w := range ws {
		names[i] = w.Name
	}
	return strings.Join(names, ",")
}
