package release

import (
	"net/http"
	"testing"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/endpointauth"
)

// TestTokenOfADeletedEndpointNeverVerifies: an endpoint deleted and
// created again under its name is another endpoint — the first one's
// aml_tokens are refused (401) by the new one, before and after a
// restart, while the new one's tokens work, across a restart too.
func TestTokenOfADeletedEndpointNeverVerifies(t *testing.T) {
	f := newFixture(t)
	f.createEndpoint(t, "tok", hangar.EndpointAuthToken)
	f.deploy(t, "tok", "blue", spec(f.good), true, hangar.StateSucceeded)
	f.waitAllTraffic(t, "tok", "blue")
	old, _, err := f.svc.Token(f.ctx, ws, "tok")
	if err != nil {
		t.Fatal(err)
	}
	if code, body := score(t, f.svc, "tok", old); code != 200 {
		t.Fatalf("score with the token: got %d %s, want 200", code, body)
	}
	c, err := endpointauth.Parse(old)
	if err != nil {
		t.Fatal(err)
	}
	e, err := f.store.OnlineEndpoint(f.ctx, ws, "tok")
	if err != nil {
		t.Fatal(err)
	}
	if c.Generation == 0 || c.Generation != e.TokenGeneration {
		t.Fatalf("the token carries generation %x, want the endpoint's, %x", c.Generation, e.TokenGeneration)
	}

	if err := f.svc.DeleteOnlineEndpoint(f.ctx, ws, "tok"); err != nil {
		t.Fatal(err)
	}
	f.createEndpoint(t, "tok", hangar.EndpointAuthToken)
	f.deploy(t, "tok", "blue", spec(f.good), true, hangar.StateSucceeded)
	f.waitAllTraffic(t, "tok", "blue")
	if code, body := score(t, f.svc, "tok", old); code != http.StatusUnauthorized {
		t.Errorf("a token of the deleted endpoint: got %d %s, want 401", code, body)
	}
	fresh, _, err := f.svc.Token(f.ctx, ws, "tok")
	if err != nil {
		t.Fatal(err)
	}
	if code, body := score(t, f.svc, "tok", fresh); code != 200 {
		t.Errorf("a token of the new endpoint: got %d %s, want 200", code, body)
	}

	// The generation is stored: a restarted server agrees.
	restarted := f.newService(t)
	if err := restarted.Replay(f.ctx); err != nil {
		t.Fatal(err)
	}
	if code, body := score(t, restarted, "tok", fresh); code != 200 {
		t.Errorf("after a restart, a token of the new endpoint: got %d %s, want 200", code, body)
	}
	if code, _ := score(t, restarted, "tok", old); code != http.StatusUnauthorized {
		t.Errorf("after a restart, a token of the deleted endpoint: got %d, want 401", code)
	}

	// Deleted for good: no token scores (the endpoint is gone).
	if err := f.svc.DeleteOnlineEndpoint(f.ctx, ws, "tok"); err != nil {
		t.Fatal(err)
	}
	if code, _ := score(t, f.svc, "tok", fresh); code == 200 {
		t.Errorf("a token of a deleted endpoint: got %d, want a refusal", code)
	}
}
