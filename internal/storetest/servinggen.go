package storetest

import (
	"context"
	"testing"

	"github.com/hangar-ml/hangar"
)

// servingGenerations is the optional capability of an endpoint store
// that lets several servers' release controllers follow it (package
// release): a counter every change of an online endpoint, its keys or a
// deployment advances.
type servingGenerations interface {
	ServingGeneration(ctx context.Context) (int64, error)
}

// testServingGeneration checks that every change of what a data plane
// serves — endpoints, keys, traffic, deployments, and a workspace's
// deletion cascading to them — advances the serving generation, that
// reading does not, and that a change of a batch endpoint does not either.
func testServingGeneration(t *testing.T, s *Store) {
	sg, ok := s.Endpoints.(servingGenerations)
	if !ok {
		t.Skip("the endpoint store has no serving generation")
	}
	ctx := actorCtx(t)
	const ws = "serving-gen"
	if err := s.Workspaces.CreateWorkspace(ctx, &hangar.Workspace{Name: ws}); err != nil {
		t.Fatal(err)
	}
	gen := func() int64 {
		t.Helper()
		g, err := sg.ServingGeneration(ctx)
		if err != nil {
			t.Fatalf("serving generation: %v", err)
		}
		return g
	}
	var version int64
	steps := []struct {
		name    string
		change  func() error
		advance bool
	}{
		{"create endpoint", func() error {
			return s.Endpoints.CreateOnlineEndpoint(ctx, ws, &hangar.OnlineEndpoint{Name: "gen"})
		}, true},
		{"read endpoint and keys", func() error {
			e, err := s.Endpoints.OnlineEndpoint(ctx, ws, "gen")
			if err != nil {
				return err
			}
			version = e.Version
			_, err = s.Endpoints.EndpointKeys(ctx, ws, "gen")
			return err
		}, false},
		{"update endpoint", func() error {
			d := "new"
			_, err := s.Endpoints.UpdateOnlineEndpoint(ctx, ws, "gen", hangar.OnlineEndpointUpdate{Description: &d}, 0)
			return err
		}, true},
		{"regenerate a key (and bump the version)", func() error {
			if _, err := s.Endpoints.RegenerateKey(ctx, ws, "gen", hangar.KeyPrimary); err != nil {
				return err
			}
			e, err := s.Endpoints.OnlineEndpoint(ctx, ws, "gen")
			if err != nil {
				return err
			}
			// Exactly one step per change: a following server tells its own
			// change from another's by it (release.keysCurrent).
			if e.Version != version+2 {
				t.Errorf("version after an update and a key regeneration: got %d, want %d", e.Version, version+2)
			}
			return nil
		}, true},
		{"create deployment", func() error {
			return s.Endpoints.CreateOnlineDeployment(ctx, ws, &hangar.OnlineDeployment{Endpoint: "gen", Name: "blue", Spec: epSpec("1")})
		}, true},
		{"deployment succeeds", func() error {
			_, err := s.Endpoints.TransitionOnlineDeployment(ctx, ws, "gen", "blue", hangar.DeploymentTransition{To: hangar.StateSucceeded})
			return err
		}, true},
		{"set traffic", func() error {
			_, err := s.Endpoints.SetTraffic(ctx, ws, "gen", map[string]int{"blue": 100}, nil, 0)
			return err
		}, true},
		{"create a batch endpoint", func() error {
			return s.BatchEndpoints.CreateBatchEndpoint(ctx, ws, &hangar.BatchEndpoint{Name: "batch-gen"})
		}, false},
		{"take the traffic away", func() error {
			_, err := s.Endpoints.SetTraffic(ctx, ws, "gen", map[string]int{}, nil, 0)
			return err
		}, true},
		{"delete deployment", func() error { return s.Endpoints.DeleteOnlineDeployment(ctx, ws, "gen", "blue") }, true},
		{"delete endpoint", func() error { return s.Endpoints.DeleteOnlineEndpoint(ctx, ws, "gen") }, true},
		{"create another endpoint", func() error {
			return s.Endpoints.CreateOnlineEndpoint(ctx, ws, &hangar.OnlineEndpoint{Name: "gen"})
		}, true},
		{"delete the workspace (cascading)", func() error { return s.Workspaces.DeleteWorkspace(ctx, ws) }, true},
	}
	for _, st := range steps {
		before := gen()
		if err := st.change(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		after := gen()
		if got := after > before; got != st.advance {
			t.Errorf("%s: serving generation %d → %d; want advanced %v", st.name, before, after, st.advance)
		}
	}
}
