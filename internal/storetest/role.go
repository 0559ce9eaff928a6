package storetest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hangar-ml/hangar"
)

func testRoles(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	for _, w := range []string{"ws-one", "ws-two"} {
		if err := s.Workspaces.CreateWorkspace(ctx, &hangar.Workspace{Name: w}); err != nil {
			t.Fatalf("create workspace: %v", err)
		}
	}
	for _, n := range []string{"zed", "amy"} {
		if err := s.Identities.CreateIdentity(ctx, &hangar.Identity{Name: n, Kind: hangar.KindUser}); err != nil {
			t.Fatalf("create identity: %v", err)
		}
	}
	amy, _ := s.Identities.IdentityByName(ctx, "amy")

	a := &hangar.RoleAssignment{IdentityName: "amy", Role: "data-scientist", Workspace: "ws-two"}
	if err := s.Roles.AssignRole(ctx, a); err != nil {
		t.Fatalf("assign: %v", err)
	}
	if a.ID == "" || a.Role != hangar.RoleDataScientist || a.IdentityID != amy.ID || a.CreatedAt.IsZero() {
		t.Errorf("assign set %+v; want id, canonical role, identity id and time", a)
	}
	if e := lastEvent(t, s); e.Action != hangar.ActRoleAssignmentWrite || e.Target != "roleAssignments/"+a.ID || e.Workspace != "ws-two" {
		t.Errorf("assign event: got %+v", e)
	}
	for _, ra := range []*hangar.RoleAssignment{
		{IdentityName: "amy", Role: "Reader", Workspace: "ws-one"},
		{IdentityName: "amy", Role: "Owner"}, // server-wide
		{IdentityName: "zed", Role: "Reader", Workspace: "ws-one"},
		{IdentityName: "amy", Role: "Approver", Workspace: "ws-two"},
	} {
		if err := s.Roles.AssignRole(ctx, ra); err != nil {
			t.Fatalf("assign %+v: %v", ra, err)
		}
	}

	for _, tc := range []struct {
		name string
		a    hangar.RoleAssignment
		code string
	}{
		{"unknown role", hangar.RoleAssignment{IdentityName: "amy", Role: "Janitor", Workspace: "ws-one"}, hangar.EINVALID},
		{"bad workspace name", hangar.RoleAssignment{IdentityName: "amy", Role: "Reader", Workspace: "a"}, hangar.EINVALID},
		{"unknown identity", hangar.RoleAssignment{IdentityName: "nobody", Role: "Reader", Workspace: "ws-one"}, hangar.ENOTFOUND},
		{"unknown workspace", hangar.RoleAssignment{IdentityName: "amy", Role: "Reader", Workspace: "ws-none"}, hangar.ENOTFOUND},
		{"exists", hangar.RoleAssignment{IdentityName: "amy", Role: "reader", Workspace: "ws-one"}, hangar.ECONFLICT},
		{"exists server-wide", hangar.RoleAssignment{IdentityName: "amy", Role: "owner"}, hangar.ECONFLICT},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := tc.a
			wantCode(t, "assign", s.Roles.AssignRole(ctx, &a), tc.code)
		})
	}

	list := func(f hangar.RoleAssignmentFilter) string {
		t.Helper()
		p, err := s.Roles.ListRoleAssignments(ctx, f, hangar.ListOptions{})
		if err != nil {
			t.Fatalf("list %+v: %v", f, err)
		}
		return assignmentKeys(p.Items)
	}
	if got, want := list(hangar.RoleAssignmentFilter{}),
		"amy//Owner amy/ws-one/Reader amy/ws-two/Approver amy/ws-two/Data Scientist zed/ws-one/Reader"; got != want {
		t.Errorf("list all:\n got %s\nwant %s", got, want)
	}
	if got, want := list(hangar.RoleAssignmentFilter{IdentityName: "zed"}), "zed/ws-one/Reader"; got != want {
		t.Errorf("list by identity: got %s, want %s", got, want)
	}
	if got, want := list(hangar.RoleAssignmentFilter{Workspace: "ws-one"}), "amy/ws-one/Reader zed/ws-one/Reader"; got != want {
		t.Errorf("list by workspace: got %s, want %s", got, want)
	}
	if got, want := list(hangar.RoleAssignmentFilter{IdentityName: "amy", Workspace: "ws-two"}), "amy/ws-two/Approver amy/ws-two/Data Scientist"; got != want {
		t.Errorf("list by both: got %s, want %s", got, want)
	}
	// Pages of two walk the same order.
	var keys []string
	opt := hangar.ListOptions{MaxResults: 2}
	for {
		p, err := s.Roles.ListRoleAssignments(ctx, hangar.RoleAssignmentFilter{}, opt)
		if err != nil {
			t.Fatalf("list page: %v", err)
		}
		if len(p.Items) > 2 {
			t.Fatalf("page of %d, want at most 2", len(p.Items))
		}
		keys = append(keys, assignmentKeys(p.Items))
		if p.NextPageToken == "" {
			break
		}
		opt.PageToken = p.NextPageToken
	}
	if got, want := strings.Join(keys, " "), list(hangar.RoleAssignmentFilter{}); got != want {
		t.Errorf("paged list:\n got %s\nwant %s", got, want)
	}

	of, err := s.Credentials.RoleAssignmentsOf(ctx, amy.ID)
	if err != nil {
		t.Fatalf("assignments of: %v", err)
	}
	if got, want := assignmentKeys(of), "amy//Owner amy/ws-one/Reader amy/ws-two/Approver amy/ws-two/Data Scientist"; got != want {
		t.Errorf("assignments of amy: got %s, want %s", got, want)
	}
	if none, err := s.Credentials.RoleAssignmentsOf(ctx, "no-such-id"); err != nil || len(none) != 0 {
		t.Errorf("assignments of unknown id: got %v, %v; want none", none, err)
	}

	if err := s.Roles.RemoveRoleAssignment(ctx, a.ID); err != nil {
		t.Fatalf("remove: %v", err)
	}
	if e := lastEvent(t, s); e.Action != hangar.ActRoleAssignmentDelete || e.Target != "roleAssignments/"+a.ID || e.Workspace != "ws-two" {
		t.Errorf("remove event: got %+v", e)
	}
	wantCode(t, "remove again", s.Roles.RemoveRoleAssignment(ctx, a.ID), hangar.ENOTFOUND)
	if got, want := list(hangar.RoleAssignmentFilter{IdentityName: "amy", Workspace: "ws-two"}), "amy/ws-two/Approver"; got != want {
		t.Errorf("after remove: got %s, want %s", got, want)
	}
	wantVerified(t, s, int64(len(allEvents(t, s))))
}

func assignmentKeys(as []*hangar.RoleAssignment) string {
	keys := make([]string, len(as))
	for i, a := range as {
		keys[i] = fmt.Sprintf("%s/%s/%s", a.IdentityName, a.Workspace, a.Role)
	}
	return strings.Join(keys, " ")
}
