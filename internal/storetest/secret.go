package storetest

import (
	"bytes"
	"strings"
	"testing"

	"github.com/hangar-ml/hangar"
)

func testSecrets(t *testing.T, open func(t *testing.T) *Store) {
	t.Run("SetRevealList", func(t *testing.T) {
		s := open(t)
		ctx := actorCtx(t)
		value := []byte("hunter2-correct-horse")
		sec, err := s.Secrets.SetSecret(ctx, hangar.DefaultWorkspace, "db-password", value)
		if err != nil {
			t.Fatalf("set: %v", err)
		}
		if sec.Version != 1 || sec.Workspace != hangar.DefaultWorkspace || sec.Name != "db-password" || sec.CreatedAt.IsZero() || !sec.UpdatedAt.Equal(sec.CreatedAt) {
			t.Errorf("set: got %+v, want version 1", sec)
		}
		if e := lastEvent(t, s); e.Action != hangar.ActSecretWrite || e.Target != "secrets/db-password" || e.Workspace != hangar.DefaultWorkspace {
			t.Errorf("set event: got %+v", e)
		}

		// At rest only ciphertext.
		var stored []byte
		if err := s.QueryRow(ctx, `SELECT ciphertext FROM secrets WHERE workspace = ? AND name = ?`, []any{hangar.DefaultWorkspace, "db-password"}, &stored); err != nil {
			t.Fatalf("read secret row: %v", err)
		}
		if len(stored) == 0 || bytes.Contains(stored, value) {
			t.Errorf("stored value %q contains the plaintext", stored)
		}

		got, err := s.Secrets.RevealSecret(ctx, hangar.DefaultWorkspace, "db-password")
		if err != nil || !bytes.Equal(got, value) {
			t.Fatalf("reveal: got %q, %v; want %q", got, err, value)
		}
		if e := lastEvent(t, s); e.Action != hangar.ActSecretReveal || e.Target != "secrets/db-password" || e.Actor != "alice" {
			t.Errorf("reveal event: got %+v", e)
		}

		value2 := []byte("rotated-value")
		sec2, err := s.Secrets.SetSecret(ctx, hangar.DefaultWorkspace, "db-password", value2)
		if err != nil {
			t.Fatalf("set again: %v", err)
		}
		if sec2.Version != 2 || !sec2.CreatedAt.Equal(sec.CreatedAt) || sec2.UpdatedAt.Before(sec.UpdatedAt) {
			t.Errorf("set again: got %+v, want version 2, same created_at", sec2)
		}
		if got, err := s.Secrets.RevealSecret(ctx, hangar.DefaultWorkspace, "db-password"); err != nil || !bytes.Equal(got, value2) {
			t.Errorf("reveal after set: got %q, %v; want %q", got, err, value2)
		}
		meta, err := s.Secrets.Secret(ctx, hangar.DefaultWorkspace, "db-password")
		if err != nil {
			t.Fatalf("get: %v", err)
		}
		if meta.Version != 2 || !meta.CreatedAt.Equal(sec.CreatedAt) || !meta.UpdatedAt.Equal(sec2.UpdatedAt) || meta.Grants != nil {
			t.Errorf("get: got %+v, want version 2 without grants", meta)
		}

		// Grants, to identities that hold secrets/read on the workspace.
		for _, n := range []string{"job-b", "job-a"} {
			if err := s.Identities.CreateIdentity(ctx, &hangar.Identity{Name: n, Kind: hangar.KindWorkload}); err != nil {
				t.Fatalf("create identity: %v", err)
			}
			if err := s.Roles.AssignRole(ctx, &hangar.RoleAssignment{IdentityName: n, Role: hangar.RoleReader, Workspace: hangar.DefaultWorkspace}); err != nil {
				t.Fatal(err)
			}
			if err := s.Secrets.GrantSecret(ctx, hangar.DefaultWorkspace, "db-password", n); err != nil {
				t.Fatalf("grant %s: %v", n, err)
			}
		}
		if e := lastEvent(t, s); e.Action != hangar.ActSecretWrite || e.Target != "secrets/db-password/grants/job-a" {
			t.Errorf("grant event: got %+v, want secrets/write on secrets/db-password/grants/job-a", e)
		}
		wantCode(t, "grant twice", s.Secrets.GrantSecret(ctx, hangar.DefaultWorkspace, "db-password", "job-a"), hangar.ECONFLICT)
		wantCode(t, "grant to unknown identity", s.Secrets.GrantSecret(ctx, hangar.DefaultWorkspace, "db-password", "ghost"), hangar.ENOTFOUND)
		wantCode(t, "grant unknown secret", s.Secrets.GrantSecret(ctx, hangar.DefaultWorkspace, "nope", "job-a"), hangar.ENOTFOUND)
		if meta, _ := s.Secrets.Secret(ctx, hangar.DefaultWorkspace, "db-password"); meta == nil || strings.Join(meta.Grants, ",") != "job-a,job-b" {
			t.Errorf("grants: got %+v, want job-a,job-b", meta)
		}
		if err := s.Secrets.RevokeSecretGrant(ctx, hangar.DefaultWorkspace, "db-password", "job-b"); err != nil {
			t.Fatalf("revoke grant: %v", err)
		}
		if e := lastEvent(t, s); e.Action != hangar.ActSecretDelete || e.Target != "secrets/db-password/grants/job-b" || e.Workspace != hangar.DefaultWorkspace {
			t.Errorf("revoke grant event: got %+v, want secrets/delete on secrets/db-password/grants/job-b", e)
		}
		wantCode(t, "revoke grant again", s.Secrets.RevokeSecretGrant(ctx, hangar.DefaultWorkspace, "db-password", "job-b"), hangar.ENOTFOUND)
		wantCode(t, "revoke grant of unknown secret", s.Secrets.RevokeSecretGrant(ctx, hangar.DefaultWorkspace, "nope", "job-a"), hangar.ENOTFOUND)

		for _, n := range []string{"b-key", "a-key", "c-key"} {
			if _, err := s.Secrets.SetSecret(ctx, hangar.DefaultWorkspace, n, []byte("v")); err != nil {
				t.Fatalf("set %s: %v", n, err)
			}
		}
		if err := s.Secrets.GrantSecret(ctx, hangar.DefaultWorkspace, "c-key", "job-b"); err != nil {
			t.Fatalf("grant c-key: %v", err)
		}
		p, err := s.Secrets.ListSecrets(ctx, hangar.DefaultWorkspace, hangar.ListOptions{})
		if err != nil {
			t.Fatalf("list: %v", err)
		}
		var keys []string
		for _, sec := range p.Items {
			keys = append(keys, sec.Name+"="+strings.Join(sec.Grants, "+"))
		}
		if got, want := strings.Join(keys, " "), "a-key= b-key= c-key=job-b db-password=job-a"; got != want {
			t.Errorf("list: got %s, want %s", got, want)
		}
		_, err = s.Secrets.ListSecrets(ctx, "no-such-ws", hangar.ListOptions{})
		wantCode(t, "list in unknown workspace", err, hangar.ENOTFOUND)

		if err := s.Secrets.DeleteSecret(ctx, hangar.DefaultWorkspace, "db-password"); err != nil {
			t.Fatalf("delete: %v", err)
		}
		if e := lastEvent(t, s); e.Action != hangar.ActSecretDelete || e.Target != "secrets/db-password" {
			t.Errorf("delete event: got %+v", e)
		}
		wantCode(t, "delete again", s.Secrets.DeleteSecret(ctx, hangar.DefaultWorkspace, "db-password"), hangar.ENOTFOUND)
		_, err = s.Secrets.Secret(ctx, hangar.DefaultWorkspace, "db-password")
		wantCode(t, "get deleted", err, hangar.ENOTFOUND)
		_, err = s.Secrets.RevealSecret(ctx, hangar.DefaultWorkspace, "db-password")
		wantCode(t, "reveal deleted", err, hangar.ENOTFOUND)
		// Setting it again starts over, without the old grants.
		sec3, err := s.Secrets.SetSecret(ctx, hangar.DefaultWorkspace, "db-password", value)
		if err != nil || sec3.Version != 1 || sec3.Grants != nil {
			t.Errorf("set after delete: got %+v, %v; want version 1 without grants", sec3, err)
		}

		// No audit event carries a value.
		for _, e := range allEvents(t, s) {
			for _, v := range [][]byte{value, value2} {
				if strings.Contains(e.Actor+e.ActorID+e.Action+e.Target+e.Workspace+e.RequestID, string(v)) {
					t.Errorf("event %d contains a secret value: %+v", e.Seq, e)
				}
			}
		}
		wantVerified(t, s, int64(len(allEvents(t, s))))
	})

	t.Run("GrantsNeedSecretsRead", func(t *testing.T) { testGrantsNeedSecretsRead(t, open(t)) })

	t.Run("Errors", func(t *testing.T) {
		s := open(t)
		ctx := actorCtx(t)
		big := bytes.Repeat([]byte("x"), hangar.MaxSecretSize+1)
		for _, tc := range []struct {
			name, ws, secret string
			value            []byte
			code             string
		}{
			{"bad name", hangar.DefaultWorkspace, "a/b", []byte("v"), hangar.EINVALID},
			{"empty name", hangar.DefaultWorkspace, "", []byte("v"), hangar.EINVALID},
			{"empty value", hangar.DefaultWorkspace, "k", nil, hangar.EINVALID},
			{"too large", hangar.DefaultWorkspace, "k", big, hangar.EINVALID},
			{"bad workspace name", "x", "k", []byte("v"), hangar.EINVALID},
			{"unknown workspace", "nowhere", "k", []byte("v"), hangar.ENOTFOUND},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := s.Secrets.SetSecret(ctx, tc.ws, tc.secret, tc.value)
				wantCode(t, "set", err, tc.code)
				if err != nil && strings.Contains(err.Error(), strings.Repeat("x", 64)) {
					t.Errorf("error %.200q… contains the value", err)
				}
			})
		}
		_, err := s.Secrets.Secret(ctx, hangar.DefaultWorkspace, "missing")
		wantCode(t, "get missing", err, hangar.ENOTFOUND)
		if err != nil && !strings.Contains(hangar.ErrorMessage(err), `"missing"`) {
			t.Errorf("not-found message %q does not name the secret", hangar.ErrorMessage(err))
		}
		wantVerified(t, s, 1)
	})

	t.Run("SealedValueIsBoundToItsPlace", func(t *testing.T) {
		s := open(t)
		ctx := actorCtx(t)
		if _, err := s.Secrets.SetSecret(ctx, hangar.DefaultWorkspace, "a", []byte("value-of-a")); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Secrets.SetSecret(ctx, hangar.DefaultWorkspace, "b", []byte("value-of-b")); err != nil {
			t.Fatal(err)
		}
		err := s.Exec(ctx, `UPDATE secrets SET ciphertext = (SELECT ciphertext FROM secrets WHERE workspace = ? AND name = ?) WHERE workspace = ? AND name = ?`,
			hangar.DefaultWorkspace, "a", hangar.DefaultWorkspace, "b")
		if err != nil {
			t.Fatalf("copy ciphertext: %v", err)
		}
		n := len(allEvents(t, s))
		got, err := s.Secrets.RevealSecret(ctx, hangar.DefaultWorkspace, "b")
		if err == nil {
			t.Fatalf("reveal of b holding a's ciphertext: got %q, want an error", got)
		}
		if len(allEvents(t, s)) != n {
			t.Errorf("a failed reveal was audited as a reveal")
		}
	})
}

// testGrantsNeedSecretsRead: revealing takes a grant and secrets/read on the
// workspace, so a grant to an identity without secrets/read there (an
// Approver, a Compute Operator, a role elsewhere, no role) is refused
// rather than stored to do nothing (issue 7 #7); a server-wide role with it
// counts. A refusal names none of the identity's roles and changes nothing.
func testGrantsNeedSecretsRead(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	if err := s.Workspaces.CreateWorkspace(ctx, &hangar.Workspace{Name: "team-b"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Secrets.SetSecret(ctx, hangar.DefaultWorkspace, "api-key", []byte("v")); err != nil {
		t.Fatal(err)
	}
	for _, id := range []struct{ name, role, ws string }{
		{"approver", hangar.RoleApprover, hangar.DefaultWorkspace},
		{"operator", hangar.RoleComputeOperator, hangar.DefaultWorkspace},
		{"elsewhere", hangar.RoleReader, "team-b"},
		{"srv-operator", hangar.RoleComputeOperator, ""},
		{"reader", hangar.RoleReader, hangar.DefaultWorkspace},
		{"scientist", hangar.RoleDataScientist, hangar.DefaultWorkspace},
		{"srv-reader", hangar.RoleReader, ""},
		{"approving-reader", hangar.RoleApprover, hangar.DefaultWorkspace},
	} {
		if err := s.Identities.CreateIdentity(ctx, &hangar.Identity{Name: id.name, Kind: hangar.KindWorkload}); err != nil {
			t.Fatal(err)
		}
		if err := s.Roles.AssignRole(ctx, &hangar.RoleAssignment{IdentityName: id.name, Role: id.role, Workspace: id.ws}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Roles.AssignRole(ctx, &hangar.RoleAssignment{IdentityName: "approving-reader", Role: hangar.RoleReader}); err != nil {
		t.Fatal(err)
	}
	if err := s.Identities.CreateIdentity(ctx, &hangar.Identity{Name: "roleless", Kind: hangar.KindWorkload}); err != nil {
		t.Fatal(err)
	}
	events := len(allEvents(t, s))
	for _, name := range []string{"approver", "operator", "elsewhere", "srv-operator", "roleless"} {
		err := s.Secrets.GrantSecret(ctx, hangar.DefaultWorkspace, "api-key", name)
		wantCode(t, "grant to "+name, err, hangar.EINVALID)
		msg := hangar.ErrorMessage(err)
		if want := `identity "` + name + `" holds no role with secrets/read on workspace default`; !strings.Contains(msg, want) {
			t.Errorf("grant to %s: message %q, want it to contain %q", name, msg, want)
		}
		for _, role := range []string{hangar.RoleApprover, hangar.RoleComputeOperator, "team-b", "server-wide"} {
			if strings.Contains(msg, role) {
				t.Errorf("grant to %s: message %q names %q", name, msg, role)
			}
		}
	}
	if n := len(allEvents(t, s)); n != events {
		t.Errorf("refused grants appended %d audit events", n-events)
	}
	for _, name := range []string{"reader", "scientist", "srv-reader", "approving-reader"} {
		if err := s.Secrets.GrantSecret(ctx, hangar.DefaultWorkspace, "api-key", name); err != nil {
			t.Errorf("grant to %s: %v", name, err)
		}
	}
	sec, err := s.Secrets.Secret(ctx, hangar.DefaultWorkspace, "api-key")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(sec.Grants, ","), "approving-reader,reader,scientist,srv-reader"; got != want {
		t.Errorf("grants %s, want %s", got, want)
	}
	wantCode(t, "grant to a missing identity", s.Secrets.GrantSecret(ctx, hangar.DefaultWorkspace, "api-key", "ghost"), hangar.ENOTFOUND)
}
