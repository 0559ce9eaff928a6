package sqlstore

import (
	"path/filepath"
	"testing"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/internal/pgtest"
)

// TestAuthGenerationAdvances checks that every change of what
// authenticates a request advances the authentication generation
// (migration 00008), including a cascade, and that a change of anything
// else does not.
func TestAuthGenerationAdvances(t *testing.T) {
	for _, b := range []struct {
		name string
		dsn  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "hangar.db") }},
		{"postgres", func(t *testing.T) string { return pgtest.URL(t) }},
	} {
		t.Run(b.name, func(t *testing.T) {
			db := openDB(t, b.dsn(t))
			ctx := hangar.WithActor(t.Context(), hangar.Actor{IdentityID: "test", Name: "test"})
			ws, ids, roles := NewWorkspaceService(db), NewIdentityService(db), NewRoleService(db)
			secrets, tracking := NewSecretService(db), NewTrackingService(db)
			gen := func() int64 {
				t.Helper()
				g, err := ids.AuthGeneration(ctx)
				if err != nil {
					t.Fatalf("auth generation: %v", err)
				}
				if g2, err := ws.AuthGeneration(ctx); err != nil || g2 != g {
					t.Fatalf("workspace service's generation: got %d, %v; want %d", g2, err, g)
				}
				return g
			}
			var tok *hangar.IssuedToken
			var asg *hangar.RoleAssignment
			steps := []struct {
				name    string
				change  func() error
				advance bool
			}{
				{"create workspace", func() error { return ws.CreateWorkspace(ctx, &hangar.Workspace{Name: "team"}) }, true},
				{"create identity", func() error {
					return ids.CreateIdentity(ctx, &hangar.Identity{Name: "alice", Kind: hangar.KindUser})
				}, true},
				{"assign role", func() error {
					asg = &hangar.RoleAssignment{IdentityName: "alice", Role: hangar.RoleReader, Workspace: "team"}
					return roles.AssignRole(ctx, asg)
				}, true},
				{"issue token", func() (err error) {
					tok, err = ids.IssueToken(ctx, &hangar.TokenRequest{Name: "bot", Role: hangar.RoleReader, Workspace: "team"})
					return err
				}, true},
				{"set a secret", func() error {
					_, err := secrets.SetSecret(ctx, "team", "key", []byte("v"))
					return err
				}, false},
				{"create an experiment", func() error {
					return tracking.CreateExperiment(ctx, "team", &hangar.Experiment{Name: "exp"})
				}, false},
				{"revoke token", func() error { return ids.RevokeToken(ctx, tok.ID) }, true},
				{"remove role", func() error { return roles.RemoveRoleAssignment(ctx, asg.ID) }, true},
				{"delete workspace (cascading)", func() error { return ws.DeleteWorkspace(ctx, "team") }, true},
			}
			for _, s := range steps {
				before := gen()
				if err := s.change(); err != nil {
					t.Fatalf("%s: %v", s.name, err)
				}
				after := gen()
				if got := after > before; got != s.advance {
					t.Errorf("%s: generation %d → %d; want advanced %v", s.name, before, after, s.advance)
				}
			}
		})
	}
}
