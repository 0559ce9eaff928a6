package storetest

import (
	"encoding/base64"
	"encoding/json"
	"maps"
	"testing"

	"github.com/hangar-ml/hangar"
)

// testBadText passes text that PostgreSQL cannot hold (a NUL, invalid
// UTF-8) and SQLite can to every method that takes a string, including the
// keys of a forged page token: every backend must answer EINVALID, never an
// internal error, and change nothing.
func testBadText(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	if _, err := s.Secrets.SetSecret(ctx, hangar.DefaultWorkspace, "api-key", []byte("v")); err != nil {
		t.Fatal(err)
	}
	hash, prefix := tokenHash(t)
	if _, err := s.Credentials.CreateToken(ctx, &hangar.TokenRequest{Name: "bot", Role: hangar.RoleReader}, hash, prefix); err != nil {
		t.Fatal(err)
	}
	events := len(allEvents(t, s))
	// forged returns a page token of list whose keys are all bad.
	forged := func(list, bad string, n int) string {
		key := make([]string, n)
		for i := range key {
			key[i] = bad
		}
		b, _ := json.Marshal(struct {
			List string   `json:"l"`
			Key  []string `json:"k"`
		}{list, key})
		return base64.RawURLEncoding.EncodeToString(b)
	}
	all := hangar.ListOptions{}
	for _, bad := range []struct{ name, s string }{{"NUL", "a\x00b"}, {"invalid UTF-8", "a\xffb"}} {
		b := bad.s
		calls := map[string]func() error{
			"CreateWorkspace name": func() error { return s.Workspaces.CreateWorkspace(ctx, &hangar.Workspace{Name: b}) },
			"CreateWorkspace display name": func() error {
				return s.Workspaces.CreateWorkspace(ctx, &hangar.Workspace{Name: "ws-x", DisplayName: b})
			},
			"CreateWorkspace description": func() error {
				return s.Workspaces.CreateWorkspace(ctx, &hangar.Workspace{Name: "ws-x", Description: b})
			},
			"CreateWorkspace tag": func() error {
				return s.Workspaces.CreateWorkspace(ctx, &hangar.Workspace{Name: "ws-x", Tags: map[string]string{"k": b}})
			},
			"Workspace":       func() error { _, err := s.Workspaces.Workspace(ctx, b); return err },
			"DeleteWorkspace": func() error { return s.Workspaces.DeleteWorkspace(ctx, b) },
			"CreateIdentity": func() error {
				return s.Identities.CreateIdentity(ctx, &hangar.Identity{Name: b, Kind: hangar.KindUser})
			},
			"IdentityByName": func() error { _, err := s.Identities.IdentityByName(ctx, b); return err },
			"CreateToken name": func() error {
				h, p := tokenHash(t)
				_, err := s.Credentials.CreateToken(ctx, &hangar.TokenRequest{Name: b, Role: hangar.RoleReader}, h, p)
				return err
			},
			"CreateToken workspace": func() error {
				h, p := tokenHash(t)
				_, err := s.Credentials.CreateToken(ctx, &hangar.TokenRequest{Name: "bot2", Role: hangar.RoleReader, Workspace: b}, h, p)
				return err
			},
			"CreateToken prefix": func() error {
				h, _ := tokenHash(t)
				_, err := s.Credentials.CreateToken(ctx, &hangar.TokenRequest{Name: "bot2", Role: hangar.RoleReader}, h, b)
				return err
			},
			"RevokeToken": func() error { return s.Identities.RevokeToken(ctx, b) },
			"Token":       func() error { _, err := s.Identities.Token(ctx, b); return err },
			"ListTokens workspace": func() error {
				_, err := s.Identities.ListTokens(ctx, hangar.TokenFilter{Workspace: b}, all)
				return err
			},
			"AssignRole identity": func() error {
				return s.Roles.AssignRole(ctx, &hangar.RoleAssignment{IdentityName: b, Role: hangar.RoleReader})
			},
			"AssignRole workspace": func() error {
				return s.Roles.AssignRole(ctx, &hangar.RoleAssignment{IdentityName: "bot", Role: hangar.RoleReader, Workspace: b})
			},
			"AssignRole role": func() error {
				return s.Roles.AssignRole(ctx, &hangar.RoleAssignment{IdentityName: "bot", Role: b})
			},
			"ListRoleAssignments identity": func() error {
				_, err := s.Roles.ListRoleAssignments(ctx, hangar.RoleAssignmentFilter{IdentityName: b}, all)
				return err
			},
			"ListRoleAssignments workspace": func() error {
				_, err := s.Roles.ListRoleAssignments(ctx, hangar.RoleAssignmentFilter{Workspace: b}, all)
				return err
			},
			"RoleAssignmentsOf":    func() error { _, err := s.Credentials.RoleAssignmentsOf(ctx, b); return err },
			"RemoveRoleAssignment": func() error { return s.Roles.RemoveRoleAssignment(ctx, b) },
			"ListEvents target": func() error {
				_, err := s.Audit.ListEvents(ctx, hangar.EventFilter{Target: b}, all)
				return err
			},
			"ListEvents target prefix": func() error {
				_, err := s.Audit.ListEvents(ctx, hangar.EventFilter{Target: b + "/"}, all)
				return err
			},
			"ListEvents workspace": func() error {
				_, err := s.Audit.ListEvents(ctx, hangar.EventFilter{Workspace: b}, all)
				return err
			},
			"SetSecret workspace": func() error {
				_, err := s.Secrets.SetSecret(ctx, b, "api-key", []byte("v"))
				return err
			},
			"SetSecret name": func() error {
				_, err := s.Secrets.SetSecret(ctx, hangar.DefaultWorkspace, b, []byte("v"))
				return err
			},
			"Secret workspace": func() error { _, err := s.Secrets.Secret(ctx, b, "api-key"); return err },
			"Secret name":      func() error { _, err := s.Secrets.Secret(ctx, hangar.DefaultWorkspace, b); return err },
			"ListSecrets": func() error {
				_, err := s.Secrets.ListSecrets(ctx, b, all)
				return err
			},
			"DeleteSecret": func() error { return s.Secrets.DeleteSecret(ctx, hangar.DefaultWorkspace, b) },
			"RevealSecret": func() error { _, err := s.Secrets.RevealSecret(ctx, hangar.DefaultWorkspace, b); return err },
			"GrantSecret identity": func() error {
				return s.Secrets.GrantSecret(ctx, hangar.DefaultWorkspace, "api-key", b)
			},
			"GrantSecret name": func() error { return s.Secrets.GrantSecret(ctx, hangar.DefaultWorkspace, b, "bot") },
			"RevokeSecretGrant identity": func() error {
				return s.Secrets.RevokeSecretGrant(ctx, hangar.DefaultWorkspace, "api-key", b)
			},
			"RevokeSecretGrant workspace": func() error { return s.Secrets.RevokeSecretGrant(ctx, b, "api-key", "bot") },
		}
		// JSON has no invalid UTF-8 (decoding replaces it), so only a NUL
		// (\u0000) can reach SQL through a page token.
		if bad.name == "NUL" {
			tokenCalls := map[string]func() error{
				"ListWorkspaces token": func() error {
					_, err := s.Workspaces.ListWorkspaces(ctx, hangar.ListOptions{PageToken: forged("workspaces", b, 1)})
					return err
				},
				"ListIdentities token": func() error {
					_, err := s.Identities.ListIdentities(ctx, hangar.ListOptions{PageToken: forged("identities", b, 1)})
					return err
				},
				"ListTokens token": func() error {
					_, err := s.Identities.ListTokens(ctx, hangar.TokenFilter{}, hangar.ListOptions{PageToken: forgedTokens(b)})
					return err
				},
				"ListRoleAssignments token": func() error {
					_, err := s.Roles.ListRoleAssignments(ctx, hangar.RoleAssignmentFilter{}, hangar.ListOptions{PageToken: forged("role assignments", b, 3)})
					return err
				},
				"ListSecrets token": func() error {
					_, err := s.Secrets.ListSecrets(ctx, hangar.DefaultWorkspace, hangar.ListOptions{PageToken: forged("secrets", b, 1)})
					return err
				},
			}
			maps.Copy(calls, tokenCalls)
		}
		for name, call := range calls {
			t.Run(bad.name+"/"+name, func(t *testing.T) {
				wantCode(t, name, call(), hangar.EINVALID)
			})
		}
	}
	if n := len(allEvents(t, s)); n != events {
		t.Errorf("refused calls appended %d audit events", n-events)
	}
	wantVerified(t, s, int64(events))
}

// forgedTokens returns a tokens page token (created-at micros, id) whose id is bad.
func forgedTokens(bad string) string {
	b, _ := json.Marshal(struct {
		List string   `json:"l"`
		Key  []string `json:"k"`
	}{"tokens", []string{"1700000000000000", bad}})
	return base64.RawURLEncoding.EncodeToString(b)
}
