package storetest

import (
	"bytes"
	"encoding/base64"
	"maps"
	"strings"
	"sync"
	"testing"

	"github.com/hangar-ml/hangar"
)

// testEndpoints checks online endpoints, their deployments, traffic and
// keys, and batch endpoints and deployments (issue 11, items 1 and 5: the
// control plane's store).
func testEndpoints(t *testing.T, open func(t *testing.T) *Store) {
	t.Run("Lifecycle", func(t *testing.T) { testEndpointLifecycle(t, open(t)) })
	t.Run("Traffic", func(t *testing.T) { testEndpointTraffic(t, open(t)) })
	t.Run("ConcurrentTraffic", func(t *testing.T) { testEndpointConcurrentTraffic(t, open(t)) })
	t.Run("DeploymentStates", func(t *testing.T) { testDeploymentStates(t, open(t)) })
	t.Run("Keys", func(t *testing.T) { testEndpointKeys(t, open(t)) })
	t.Run("Workspaces", func(t *testing.T) { testEndpointWorkspaces(t, open(t)) })
	t.Run("BadInput", func(t *testing.T) { testEndpointBadInput(t, open(t)) })
	t.Run("Batch", func(t *testing.T) { testBatchEndpoints(t, open(t)) })
	t.Run("ServingGeneration", func(t *testing.T) { testServingGeneration(t, open(t)) })
}

const epWS = hangar.DefaultWorkspace

// epSpec is a valid spec of a natively served model version.
func epSpec(version string) hangar.DeploymentSpec {
	p := hangar.Probe{InitialDelay: 10, Period: 10, Timeout: 2, SuccessThreshold: 1, FailureThreshold: 30}
	return hangar.DeploymentSpec{
		ModelName: "credit", ModelVersion: version, InstanceCount: 1,
		Request:  hangar.RequestSettings{RequestTimeoutMS: 5000, MaxConcurrentRequestsPerInstance: 1},
		Liveness: p, Readiness: p,
		EnvironmentVariables: map[string]string{"LOG_LEVEL": "info"},
	}
}

// newEndpoint creates an online endpoint.
func newEndpoint(t *testing.T, s *Store, ws, name string) *hangar.OnlineEndpoint {
	t.Helper()
	e := &hangar.OnlineEndpoint{Name: name, Description: "scores credit", Tags: map[string]string{"team": "risk"}}
	if err := s.Endpoints.CreateOnlineEndpoint(actorCtx(t), ws, e); err != nil {
		t.Fatalf("create endpoint %s: %v", name, err)
	}
	return e
}

// newDeployment creates a deployment and, unless state is Creating,
// moves it there.
func newDeployment(t *testing.T, s *Store, ws, endpoint, name string, state hangar.ProvisioningState) *hangar.OnlineDeployment {
	t.Helper()
	d := &hangar.OnlineDeployment{Endpoint: endpoint, Name: name, Spec: epSpec("1")}
	if err := s.Endpoints.CreateOnlineDeployment(actorCtx(t), ws, d); err != nil {
		t.Fatalf("create deployment %s: %v", name, err)
	}
	if state == hangar.StateCreating {
		return d
	}
	got, err := s.Endpoints.TransitionOnlineDeployment(actorCtx(t), ws, endpoint, name, hangar.DeploymentTransition{To: state})
	if err != nil {
		t.Fatalf("move deployment %s to %s: %v", name, state, err)
	}
	return got
}

// setTraffic sets traffic and fails the test on an error.
func setTraffic(t *testing.T, s *Store, endpoint string, live, mirror map[string]int) *hangar.OnlineEndpoint {
	t.Helper()
	e, err := s.Endpoints.SetTraffic(actorCtx(t), epWS, endpoint, live, mirror, 0)
	if err != nil {
		t.Fatalf("set traffic %v mirror %v: %v", live, mirror, err)
	}
	return e
}

// wantTraffic fails unless the stored endpoint has this traffic.
func wantTraffic(t *testing.T, s *Store, endpoint string, live, mirror map[string]int) {
	t.Helper()
	e, err := s.Endpoints.OnlineEndpoint(t.Context(), epWS, endpoint)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(e.Traffic, live) || !maps.Equal(e.MirrorTraffic, mirror) {
		t.Fatalf("traffic: got %v mirror %v, want %v mirror %v", e.Traffic, e.MirrorTraffic, live, mirror)
	}
}

func testEndpointLifecycle(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	e := newEndpoint(t, s, epWS, "credit")
	if e.Workspace != epWS || e.AuthMode != hangar.EndpointAuthKey || e.State != hangar.StateSucceeded || e.Version != 1 ||
		e.CreatedBy != "alice" || e.CreatedAt.IsZero() || e.ScoringPath != hangar.OnlineEndpointScoringPath(epWS, "credit") {
		t.Fatalf("created: got %+v", e)
	}
	if ev := lastEvent(t, s); ev.Action != hangar.ActOnlineEndpointWrite || ev.Target != "onlineEndpoints/credit" || ev.Workspace != epWS || ev.Actor != "alice" {
		t.Errorf("create event: got %+v", ev)
	}
	got, err := s.Endpoints.OnlineEndpoint(ctx, epWS, "credit")
	if err != nil {
		t.Fatal(err)
	}
	if got.Description != "scores credit" || got.Tags["team"] != "risk" || got.Version != 1 || !got.CreatedAt.Equal(e.CreatedAt) || len(got.Traffic) != 0 {
		t.Errorf("get: got %+v, want %+v", got, e)
	}
	// The token generation: random, non-zero, set by the store alone, kept
	// by every change (migration 00022).
	gen := e.TokenGeneration
	if gen == 0 || got.TokenGeneration != gen {
		t.Errorf("token generation: created %x, read %x; want the same non-zero value", gen, got.TokenGeneration)
	}
	err = s.Endpoints.CreateOnlineEndpoint(ctx, epWS, &hangar.OnlineEndpoint{Name: "credit"})
	wantCode(t, "create twice", err, hangar.ECONFLICT)
	set := &hangar.OnlineEndpoint{Name: "chosen", TokenGeneration: 42}
	if err := s.Endpoints.CreateOnlineEndpoint(ctx, epWS, set); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Endpoints.OnlineEndpoint(ctx, epWS, "chosen"); err != nil || got.TokenGeneration == 42 || got.TokenGeneration != set.TokenGeneration {
		t.Errorf("a token generation the caller chose: stored %+v (%v), want the store's own, %x", got, err, set.TokenGeneration)
	}
	if err := s.Endpoints.DeleteOnlineEndpoint(ctx, epWS, "chosen"); err != nil {
		t.Fatal(err)
	}

	// Update is a compare-and-set on the version.
	desc := "scores credit, v2"
	u, err := s.Endpoints.UpdateOnlineEndpoint(ctx, epWS, "credit", hangar.OnlineEndpointUpdate{Description: &desc, AuthMode: hangar.EndpointAuthToken}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if u.Description != desc || u.AuthMode != hangar.EndpointAuthToken || u.Version != 2 || u.Tags["team"] != "risk" || u.TokenGeneration != gen {
		t.Errorf("update: got %+v", u)
	}
	_, err = s.Endpoints.UpdateOnlineEndpoint(ctx, epWS, "credit", hangar.OnlineEndpointUpdate{Description: &desc}, 1)
	wantCode(t, "update an old version", err, hangar.ECONFLICT)

	newEndpoint(t, s, epWS, "another")
	p, err := s.Endpoints.ListOnlineEndpoints(ctx, epWS, hangar.ListOptions{MaxResults: 1})
	if err != nil || len(p.Items) != 1 || p.Items[0].Name != "another" || p.NextPageToken == "" {
		t.Fatalf("list page 1: got %+v, %v", p, err)
	}
	p, err = s.Endpoints.ListOnlineEndpoints(ctx, epWS, hangar.ListOptions{MaxResults: 1, PageToken: p.NextPageToken})
	if err != nil || len(p.Items) != 1 || p.Items[0].Name != "credit" || p.NextPageToken != "" {
		t.Fatalf("list page 2: got %+v, %v", p, err)
	}
	if p.Items[0].TokenGeneration != gen {
		t.Errorf("list: token generation %x, want %x", p.Items[0].TokenGeneration, gen)
	}

	// Deployments.
	d := newDeployment(t, s, epWS, "credit", "blue", hangar.StateCreating)
	if d.State != hangar.StateCreating || d.Version != 1 || d.Workspace != epWS || d.CreatedBy != "alice" {
		t.Errorf("created deployment: got %+v", d)
	}
	if ev := lastEvent(t, s); ev.Action != hangar.ActOnlineDeploymentWrite || ev.Target != "onlineEndpoints/credit/deployments/blue" {
		t.Errorf("create deployment event: got %+v", ev)
	}
	gd, err := s.Endpoints.OnlineDeployment(ctx, epWS, "credit", "blue")
	if err != nil {
		t.Fatal(err)
	}
	if gd.Spec.ModelName != "credit" || gd.Spec.ModelVersion != "1" || gd.Spec.EnvironmentVariables["LOG_LEVEL"] != "info" || gd.Spec.Readiness.FailureThreshold != 30 {
		t.Errorf("deployment spec: got %+v", gd.Spec)
	}
	err = s.Endpoints.CreateOnlineDeployment(ctx, epWS, &hangar.OnlineDeployment{Endpoint: "credit", Name: "blue", Spec: epSpec("1")})
	wantCode(t, "create deployment twice", err, hangar.ECONFLICT)
	err = s.Endpoints.CreateOnlineDeployment(ctx, epWS, &hangar.OnlineDeployment{Endpoint: "missing", Name: "blue", Spec: epSpec("1")})
	wantCode(t, "deployment of a missing endpoint", err, hangar.ENOTFOUND)
	newDeployment(t, s, epWS, "credit", "green", hangar.StateSucceeded)
	dp, err := s.Endpoints.ListOnlineDeployments(ctx, epWS, "credit", hangar.ListOptions{})
	if err != nil || len(dp.Items) != 2 || dp.Items[0].Name != "blue" || dp.Items[1].Name != "green" {
		t.Fatalf("list deployments: got %+v, %v", dp, err)
	}
	_, err = s.Endpoints.ListOnlineDeployments(ctx, epWS, "missing", hangar.ListOptions{})
	wantCode(t, "list deployments of a missing endpoint", err, hangar.ENOTFOUND)

	// Deleting the endpoint deletes its deployments, each audited.
	if e := setTraffic(t, s, "credit", map[string]int{"green": 100}, nil); e.TokenGeneration != gen {
		t.Errorf("set traffic: token generation %x, want %x", e.TokenGeneration, gen)
	}
	before := len(allEvents(t, s))
	if err := s.Endpoints.DeleteOnlineEndpoint(ctx, epWS, "credit"); err != nil {
		t.Fatal(err)
	}
	ev := allEvents(t, s)[before:]
	var acts []string
	for _, e := range ev {
		acts = append(acts, e.Action+" "+e.Target)
	}
	want := []string{
		"onlineDeployments/delete onlineEndpoints/credit/deployments/blue",
		"onlineDeployments/delete onlineEndpoints/credit/deployments/green",
		"onlineEndpoints/delete onlineEndpoints/credit",
	}
	if strings.Join(acts, "\n") != strings.Join(want, "\n") {
		t.Errorf("delete events: got %q, want %q", acts, want)
	}
	_, err = s.Endpoints.OnlineEndpoint(ctx, epWS, "credit")
	wantCode(t, "get a deleted endpoint", err, hangar.ENOTFOUND)
	_, err = s.Endpoints.OnlineDeployment(ctx, epWS, "credit", "blue")
	wantCode(t, "get a deployment of a deleted endpoint", err, hangar.ENOTFOUND)
	wantCode(t, "delete twice", s.Endpoints.DeleteOnlineEndpoint(ctx, epWS, "credit"), hangar.ENOTFOUND)
	// A new endpoint of the same name starts afresh, with a new token
	// generation: the tokens of the first one never verify for it.
	if e := newEndpoint(t, s, epWS, "credit"); e.Version != 1 || e.TokenGeneration == 0 || e.TokenGeneration == gen {
		t.Errorf("recreated: version %d, token generation %x (the first one's: %x)", e.Version, e.TokenGeneration, gen)
	}
	dp, err = s.Endpoints.ListOnlineDeployments(ctx, epWS, "credit", hangar.ListOptions{})
	if err != nil || len(dp.Items) != 0 {
		t.Fatalf("deployments of the recreated endpoint: got %+v, %v", dp, err)
	}
	wantVerified(t, s, int64(len(allEvents(t, s))))
}

func testEndpointTraffic(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	newEndpoint(t, s, epWS, "credit")
	newDeployment(t, s, epWS, "credit", "blue", hangar.StateSucceeded)
	newDeployment(t, s, epWS, "credit", "green", hangar.StateCreating)
	newDeployment(t, s, epWS, "credit", "red", hangar.StateFailed)

	e := setTraffic(t, s, "credit", map[string]int{"blue": 100}, nil)
	if e.Version != 2 || e.Traffic["blue"] != 100 || e.UpdatedBy != "alice" {
		t.Fatalf("set traffic: got %+v", e)
	}
	if ev := lastEvent(t, s); ev.Action != hangar.ActOnlineEndpointWrite || ev.Target != "onlineEndpoints/credit" {
		t.Errorf("set traffic event: got %+v", ev)
	}
	refusals := []struct {
		name         string
		live, mirror map[string]int
		code, msg    string
	}{
		{"a creating deployment", map[string]int{"blue": 90, "green": 10}, nil, hangar.EINVALID, "green 10%, but it is Creating"},
		{"a failed deployment", map[string]int{"blue": 90, "red": 10}, nil, hangar.EINVALID, "red 10%, but it is Failed"},
		{"a failed mirror", nil, map[string]int{"red": 10}, hangar.EINVALID, "red 10%, but it is Failed"},
		{"a missing deployment", map[string]int{"blue": 90, "black": 10}, nil, hangar.EINVALID, "black, which does not exist"},
		{"a missing deployment at 0", map[string]int{"blue": 100, "black": 0}, nil, hangar.EINVALID, "black, which does not exist"},
		{"a sum of 90", map[string]int{"blue": 90}, nil, hangar.EINVALID, "sums to 90%"},
		{"a sum of 110", map[string]int{"blue": 100, "green": 10}, nil, hangar.EINVALID, "sums to 110%"},
		{"mirror and live", nil, map[string]int{"blue": 10}, hangar.EINVALID, "one or the other"},
		{"too much mirrored", nil, map[string]int{"green": 60}, hangar.EINVALID, "at most 50%"},
	}
	for _, r := range refusals {
		_, err := s.Endpoints.SetTraffic(ctx, epWS, "credit", r.live, r.mirror, 0)
		wantCode(t, r.name, err, r.code)
		if !strings.Contains(err.Error(), r.msg) {
			t.Errorf("%s: got %v, want a message with %q", r.name, err, r.msg)
		}
		wantTraffic(t, s, "credit", map[string]int{"blue": 100}, map[string]int{})
	}
	// A deployment given 0% need not be Succeeded.
	setTraffic(t, s, "credit", map[string]int{"blue": 100, "red": 0}, nil)

	// Green comes up: canary, then mirror; nil keeps what is there.
	if _, err := s.Endpoints.TransitionOnlineDeployment(ctx, epWS, "credit", "green", hangar.DeploymentTransition{To: hangar.StateSucceeded}); err != nil {
		t.Fatal(err)
	}
	setTraffic(t, s, "credit", map[string]int{"blue": 90, "green": 10}, nil)
	wantTraffic(t, s, "credit", map[string]int{"blue": 90, "green": 10}, map[string]int{})
	setTraffic(t, s, "credit", map[string]int{"blue": 100, "green": 0}, map[string]int{"green": 20})
	setTraffic(t, s, "credit", nil, map[string]int{})
	wantTraffic(t, s, "credit", map[string]int{"blue": 100, "green": 0}, map[string]int{})
	setTraffic(t, s, "credit", nil, map[string]int{"green": 20})

	// A deployment taking live or mirrored traffic is not deleted.
	for _, name := range []string{"blue", "green"} {
		err := s.Endpoints.DeleteOnlineDeployment(ctx, epWS, "credit", name)
		wantCode(t, "delete "+name+" in traffic", err, hangar.ECONFLICT)
		if !strings.Contains(err.Error(), "set its traffic to 0 first") {
			t.Errorf("delete %s: got %v", name, err)
		}
		if _, err := s.Endpoints.OnlineDeployment(ctx, epWS, "credit", name); err != nil {
			t.Fatalf("%s after a refused delete: %v", name, err)
		}
		_, err = s.Endpoints.TransitionOnlineDeployment(ctx, epWS, "credit", name, hangar.DeploymentTransition{To: hangar.StateDeleting})
		wantCode(t, "start deleting "+name+" in traffic", err, hangar.ECONFLICT)
	}
	// Once out of traffic it goes, and its name leaves the traffic maps.
	setTraffic(t, s, "credit", map[string]int{"blue": 100, "green": 0}, map[string]int{"green": 0})
	if err := s.Endpoints.DeleteOnlineDeployment(ctx, epWS, "credit", "green"); err != nil {
		t.Fatal(err)
	}
	if ev := lastEvent(t, s); ev.Action != hangar.ActOnlineDeploymentDelete || ev.Target != "onlineEndpoints/credit/deployments/green" {
		t.Errorf("delete deployment event: got %+v", ev)
	}
	wantTraffic(t, s, "credit", map[string]int{"blue": 100}, map[string]int{})
	setTraffic(t, s, "credit", nil, nil) // still consistent
	wantCode(t, "delete a missing deployment", s.Endpoints.DeleteOnlineDeployment(ctx, epWS, "credit", "green"), hangar.ENOTFOUND)

	// An old version is refused and changes nothing.
	e, err := s.Endpoints.OnlineEndpoint(ctx, epWS, "credit")
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Endpoints.SetTraffic(ctx, epWS, "credit", map[string]int{"blue": 0}, nil, e.Version-1)
	wantCode(t, "set traffic at an old version", err, hangar.ECONFLICT)
	got, err := s.Endpoints.SetTraffic(ctx, epWS, "credit", map[string]int{"blue": 0}, nil, e.Version)
	if err != nil || got.Version != e.Version+1 {
		t.Fatalf("set traffic at the current version: got %+v, %v", got, err)
	}
	_, err = s.Endpoints.SetTraffic(ctx, epWS, "missing", map[string]int{}, nil, 0)
	wantCode(t, "set traffic of a missing endpoint", err, hangar.ENOTFOUND)
	wantVerified(t, s, int64(len(allEvents(t, s))))
}

// testEndpointConcurrentTraffic races two traffic changes made from the
// same read: exactly one wins, the other gets ECONFLICT, and the stored
// traffic is the winner's.
func testEndpointConcurrentTraffic(t *testing.T, s *Store) {
	newEndpoint(t, s, epWS, "credit")
	newDeployment(t, s, epWS, "credit", "blue", hangar.StateSucceeded)
	newDeployment(t, s, epWS, "credit", "green", hangar.StateSucceeded)
	base := setTraffic(t, s, "credit", map[string]int{"blue": 100}, nil)
	other := s
	if s.Another != nil {
		other = s.Another(t) // a second server process
	}
	for round := range 5 {
		e, err := s.Endpoints.OnlineEndpoint(t.Context(), epWS, "credit")
		if err != nil {
			t.Fatal(err)
		}
		wants := []map[string]int{{"blue": 100 - round, "green": round}, {"blue": round, "green": 100 - round}}
		var (
			wg   sync.WaitGroup
			errs [2]error
		)
		for i, store := range []*Store{s, other} {
			wg.Go(func() {
				_, errs[i] = store.Endpoints.SetTraffic(actorCtx(t), epWS, "credit", wants[i], nil, e.Version)
			})
		}
		wg.Wait()
		won := -1
		for i, err := range errs {
			switch hangar.ErrorCode(err) {
			case "":
				if won != -1 {
					t.Fatalf("round %d: both updates from version %d won", round, e.Version)
				}
				won = i
			case hangar.ECONFLICT:
			default:
				t.Fatalf("round %d: update %d: %v", round, i, err)
			}
		}
		if won == -1 {
			t.Fatalf("round %d: no update won: %v", round, errs)
		}
		wantTraffic(t, s, "credit", wants[won], map[string]int{})
	}
	if e, _ := s.Endpoints.OnlineEndpoint(t.Context(), epWS, "credit"); e.Version != base.Version+5 {
		t.Errorf("version after 5 rounds: got %d, want %d", e.Version, base.Version+5)
	}
}

func testDeploymentStates(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	newEndpoint(t, s, epWS, "credit")
	newDeployment(t, s, epWS, "credit", "blue", hangar.StateCreating)
	tr := func(tt hangar.DeploymentTransition) (*hangar.OnlineDeployment, error) {
		return s.Endpoints.TransitionOnlineDeployment(ctx, epWS, "credit", "blue", tt)
	}
	_, err := tr(hangar.DeploymentTransition{To: hangar.StateUpdating})
	wantCode(t, "Creating to Updating", err, hangar.ECONFLICT)
	_, err = tr(hangar.DeploymentTransition{From: []hangar.ProvisioningState{hangar.StateUpdating}, To: hangar.StateSucceeded})
	wantCode(t, "from a state it is not in", err, hangar.ECONFLICT)
	_, err = tr(hangar.DeploymentTransition{Version: 7, To: hangar.StateSucceeded})
	wantCode(t, "at another version", err, hangar.ECONFLICT)
	msg := "readiness probe failed 30 times"
	d, err := tr(hangar.DeploymentTransition{From: []hangar.ProvisioningState{hangar.StateCreating}, Version: 1, To: hangar.StateFailed, Message: &msg})
	if err != nil {
		t.Fatal(err)
	}
	if d.State != hangar.StateFailed || d.Message != msg || d.Version != 2 {
		t.Fatalf("failed: got %+v", d)
	}
	// An update with a new spec moves to Updating.
	spec := epSpec("2")
	spec.InstanceCount = 3
	d, err = tr(hangar.DeploymentTransition{Spec: &spec})
	if err != nil {
		t.Fatal(err)
	}
	if d.State != hangar.StateUpdating || d.Spec.ModelVersion != "2" || d.Spec.InstanceCount != 3 || d.Message != msg {
		t.Fatalf("update: got %+v", d)
	}
	empty := ""
	d, err = tr(hangar.DeploymentTransition{To: hangar.StateSucceeded, Message: &empty})
	if err != nil || d.State != hangar.StateSucceeded || d.Message != "" {
		t.Fatalf("succeeded: got %+v, %v", d, err)
	}
	_, err = tr(hangar.DeploymentTransition{To: hangar.StateCreating})
	wantCode(t, "back to Creating", err, hangar.ECONFLICT)
	bad := epSpec("2")
	bad.InstanceCount = 0
	_, err = tr(hangar.DeploymentTransition{Spec: &bad})
	wantCode(t, "a bad spec", err, hangar.EINVALID)
	if d, err = tr(hangar.DeploymentTransition{To: hangar.StateDeleting}); err != nil || d.State != hangar.StateDeleting {
		t.Fatalf("deleting: got %+v, %v", d, err)
	}
	_, err = tr(hangar.DeploymentTransition{To: hangar.StateSucceeded})
	wantCode(t, "out of Deleting", err, hangar.ECONFLICT)
	if _, err := s.Endpoints.SetTraffic(ctx, epWS, "credit", map[string]int{"blue": 100}, nil, 0); hangar.ErrorCode(err) != hangar.EINVALID {
		t.Fatalf("traffic to a deleting deployment: got %v, want EINVALID", err)
	}
	if err := s.Endpoints.DeleteOnlineDeployment(ctx, epWS, "credit", "blue"); err != nil {
		t.Fatal(err)
	}
	_, err = tr(hangar.DeploymentTransition{To: hangar.StateSucceeded})
	wantCode(t, "a deleted deployment", err, hangar.ENOTFOUND)
}

func testEndpointKeys(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	newEndpoint(t, s, epWS, "credit")
	newEndpoint(t, s, epWS, "fraud")
	keys, err := s.Endpoints.EndpointKeys(ctx, epWS, "credit")
	if err != nil {
		t.Fatal(err)
	}
	other, err := s.Endpoints.EndpointKeys(ctx, epWS, "fraud")
	if err != nil {
		t.Fatal(err)
	}
	all := []string{keys.Primary, keys.Secondary, other.Primary, other.Secondary}
	for i, k := range all {
		raw, err := base64.RawURLEncoding.DecodeString(k)
		if err != nil || len(raw) != hangar.EndpointKeySize {
			t.Fatalf("key %d: %d bytes, %v; want %d bytes of base64url", i, len(raw), err, hangar.EndpointKeySize)
		}
		for j := range i {
			if all[j] == k {
				t.Fatalf("keys %d and %d are the same", j, i)
			}
		}
	}
	if ev := lastEvent(t, s); ev.Action != hangar.ActOnlineEndpointListKeys || ev.Target != "onlineEndpoints/fraud" {
		t.Errorf("get keys event: got %+v", ev)
	}
	// At rest: sealed bytes, not the key nor its bytes.
	var primary, secondary []byte
	if err := s.QueryRow(ctx, `SELECT primary_key, secondary_key FROM online_endpoints WHERE workspace = ? AND name = ?`,
		[]any{epWS, "credit"}, &primary, &secondary); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		stored []byte
		key    string
	}{{primary, keys.Primary}, {secondary, keys.Secondary}} {
		raw, _ := base64.RawURLEncoding.DecodeString(c.key)
		if len(c.stored) == 0 || bytes.Contains(c.stored, []byte(c.key)) || bytes.Contains(c.stored, raw) {
			t.Errorf("the stored column holds the key: %q", c.stored)
		}
	}

	// Regenerating one key keeps the other.
	again, err := s.Endpoints.RegenerateKey(ctx, epWS, "credit", hangar.KeySecondary)
	if err != nil {
		t.Fatal(err)
	}
	if again.Primary != keys.Primary || again.Secondary == keys.Secondary {
		t.Errorf("regenerate secondary: got %+v, was %+v", again, keys)
	}
	if ev := lastEvent(t, s); ev.Action != hangar.ActOnlineEndpointWrite || ev.Target != "onlineEndpoints/credit/keys/secondary" {
		t.Errorf("regenerate event: got %+v", ev)
	}
	third, err := s.Endpoints.RegenerateKey(ctx, epWS, "credit", hangar.KeyPrimary)
	if err != nil {
		t.Fatal(err)
	}
	if third.Primary == keys.Primary || third.Secondary != again.Secondary {
		t.Errorf("regenerate primary: got %+v, was %+v", third, again)
	}
	if got, err := s.Endpoints.EndpointKeys(ctx, epWS, "credit"); err != nil || *got != *third {
		t.Errorf("keys after regenerating: got %+v, %v; want %+v", got, err, third)
	}
	if got, err := s.Endpoints.EndpointKeys(ctx, epWS, "fraud"); err != nil || *got != *other {
		t.Errorf("another endpoint's keys changed: got %+v, %v; want %+v", got, err, other)
	}
	_, err = s.Endpoints.RegenerateKey(ctx, epWS, "credit", "tertiary")
	wantCode(t, "regenerate a key that is not", err, hangar.EINVALID)
	_, err = s.Endpoints.RegenerateKey(ctx, epWS, "missing", hangar.KeyPrimary)
	wantCode(t, "regenerate a missing endpoint's key", err, hangar.ENOTFOUND)
	_, err = s.Endpoints.EndpointKeys(ctx, epWS, "missing")
	wantCode(t, "keys of a missing endpoint", err, hangar.ENOTFOUND)

	// A sealed key copied to another endpoint does not open there.
	if err := s.Exec(ctx, `UPDATE online_endpoints SET primary_key = ? WHERE workspace = ? AND name = ?`, primary, epWS, "fraud"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Endpoints.EndpointKeys(ctx, epWS, "fraud"); err == nil {
		t.Error("a key sealed for credit opened as fraud's")
	}

	// No key in any audit event or error.
	for _, ev := range allEvents(t, s) {
		text := ev.Actor + ev.Action + ev.Target + ev.Workspace + ev.RequestID
		for _, k := range append(all, again.Secondary, third.Primary) {
			if strings.Contains(text, k) {
				t.Fatalf("event %d holds a key: %+v", ev.Seq, ev)
			}
		}
	}
}

func testEndpointWorkspaces(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	if err := s.Workspaces.CreateWorkspace(ctx, &hangar.Workspace{Name: "other"}); err != nil {
		t.Fatal(err)
	}
	newEndpoint(t, s, epWS, "credit")
	newEndpoint(t, s, "other", "credit") // names are unique per workspace
	newEndpoint(t, s, epWS, "fraud")
	newDeployment(t, s, epWS, "credit", "blue", hangar.StateSucceeded)

	_, err := s.Endpoints.OnlineEndpoint(ctx, "other", "fraud")
	wantCode(t, "an endpoint of another workspace", err, hangar.ENOTFOUND)
	_, err = s.Endpoints.OnlineDeployment(ctx, "other", "credit", "blue")
	wantCode(t, "a deployment of another workspace's endpoint", err, hangar.ENOTFOUND)
	_, err = s.Endpoints.SetTraffic(ctx, "other", "credit", map[string]int{"blue": 100}, nil, 0)
	wantCode(t, "traffic to another workspace's deployment", err, hangar.EINVALID)
	wantCode(t, "delete another workspace's deployment", s.Endpoints.DeleteOnlineDeployment(ctx, "other", "credit", "blue"), hangar.ENOTFOUND)
	p, err := s.Endpoints.ListOnlineEndpoints(ctx, "other", hangar.ListOptions{})
	if err != nil || len(p.Items) != 1 || p.Items[0].Name != "credit" || p.Items[0].Workspace != "other" {
		t.Fatalf("list other: got %+v, %v", p, err)
	}
	a, err := s.Endpoints.EndpointKeys(ctx, epWS, "credit")
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Endpoints.EndpointKeys(ctx, "other", "credit")
	if err != nil {
		t.Fatal(err)
	}
	if a.Primary == b.Primary || a.Secondary == b.Secondary {
		t.Error("two workspaces' endpoints share a key")
	}
	if err := s.Endpoints.DeleteOnlineEndpoint(ctx, "other", "credit"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Endpoints.OnlineDeployment(ctx, epWS, "credit", "blue"); err != nil {
		t.Fatalf("deleting other's endpoint touched default's: %v", err)
	}
	err = s.Endpoints.CreateOnlineEndpoint(ctx, "missing", &hangar.OnlineEndpoint{Name: "credit"})
	wantCode(t, "an endpoint in a missing workspace", err, hangar.ENOTFOUND)

	// Deleting a workspace takes its endpoints and deployments with it.
	newEndpoint(t, s, "other", "credit")
	newDeployment(t, s, "other", "credit", "blue", hangar.StateSucceeded)
	if _, err := s.Endpoints.SetTraffic(ctx, "other", "credit", map[string]int{"blue": 100}, nil, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.Workspaces.DeleteWorkspace(ctx, "other"); err != nil {
		t.Fatalf("delete a workspace with endpoints: %v", err)
	}
	var n int
	if err := s.QueryRow(ctx, `SELECT COUNT(*) FROM online_deployments WHERE workspace = ?`, []any{"other"}, &n); err != nil || n != 0 {
		t.Fatalf("deployments left of a deleted workspace: %d, %v", n, err)
	}
	if err := s.Workspaces.CreateWorkspace(ctx, &hangar.Workspace{Name: "other"}); err != nil {
		t.Fatal(err)
	}
	_, err = s.Endpoints.OnlineEndpoint(ctx, "other", "credit")
	wantCode(t, "an endpoint of a deleted workspace", err, hangar.ENOTFOUND)
	if _, err := s.Endpoints.OnlineDeployment(ctx, epWS, "credit", "blue"); err != nil {
		t.Fatalf("deleting other touched default's endpoints: %v", err)
	}
}

func testEndpointBadInput(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	newEndpoint(t, s, epWS, "credit")
	newDeployment(t, s, epWS, "credit", "blue", hangar.StateSucceeded)
	before := len(allEvents(t, s))
	bad := epSpec("1")
	bad.Request.RequestTimeoutMS = 0
	cases := []struct {
		name string
		err  error
	}{
		{"endpoint name", s.Endpoints.CreateOnlineEndpoint(ctx, epWS, &hangar.OnlineEndpoint{Name: "a_b"})},
		{"workspace name", s.Endpoints.CreateOnlineEndpoint(ctx, "a/b", &hangar.OnlineEndpoint{Name: "abc"})},
		{"auth mode", s.Endpoints.CreateOnlineEndpoint(ctx, epWS, &hangar.OnlineEndpoint{Name: "abc", AuthMode: "aad_token"})},
		{"traffic at create", s.Endpoints.CreateOnlineEndpoint(ctx, epWS, &hangar.OnlineEndpoint{Name: "abc", Traffic: map[string]int{"blue": 100}})},
		{"description", s.Endpoints.CreateOnlineEndpoint(ctx, epWS, &hangar.OnlineEndpoint{Name: "abc", Description: "a\x00b"})},
		{"deployment name", s.Endpoints.CreateOnlineDeployment(ctx, epWS, &hangar.OnlineDeployment{Endpoint: "credit", Name: "-x", Spec: epSpec("1")})},
		{"deployment spec", s.Endpoints.CreateOnlineDeployment(ctx, epWS, &hangar.OnlineDeployment{Endpoint: "credit", Name: "green", Spec: bad})},
		{"deployment state", s.Endpoints.CreateOnlineDeployment(ctx, epWS, &hangar.OnlineDeployment{Endpoint: "credit", Name: "green", Spec: epSpec("1"), State: hangar.StateSucceeded})},
		{"deployment key", s.Endpoints.DeleteOnlineDeployment(ctx, epWS, "credit", "b")},
	}
	for _, c := range cases {
		wantCode(t, c.name, c.err, hangar.EINVALID)
	}
	_, err := s.Endpoints.OnlineEndpoint(ctx, epWS, "x/y")
	wantCode(t, "get a bad name", err, hangar.EINVALID)
	_, err = s.Endpoints.SetTraffic(ctx, epWS, "credit", map[string]int{"blue": 100}, nil, -1)
	wantCode(t, "a negative version", err, hangar.EINVALID)
	_, err = s.Endpoints.TransitionOnlineDeployment(ctx, epWS, "credit", "blue", hangar.DeploymentTransition{To: "Sleeping"})
	wantCode(t, "a bad state", err, hangar.EINVALID)
	_, err = s.Endpoints.ListOnlineEndpoints(ctx, epWS, hangar.ListOptions{PageToken: "nope"})
	wantCode(t, "a bad page token", err, hangar.EINVALID)
	if got := len(allEvents(t, s)); got != before {
		t.Errorf("bad input wrote %d audit events", got-before)
	}
	p, err := s.Endpoints.ListOnlineEndpoints(ctx, epWS, hangar.ListOptions{})
	if err != nil || len(p.Items) != 1 {
		t.Fatalf("endpoints after bad input: got %+v, %v", p, err)
	}
	wantTraffic(t, s, "credit", map[string]int{}, map[string]int{})
}

// batchSettings are Azure's defaults.
func batchSettings() hangar.BatchSettings {
	return hangar.BatchSettings{MaxConcurrencyPerInstance: 1, MiniBatchSize: 10, MaxRetries: 3, RetryTimeoutSeconds: 30,
		ErrorThreshold: -1, LoggingLevel: "info", OutputAction: hangar.BatchAppendRow, OutputFileName: "predictions.csv"}
}

func testBatchEndpoints(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	b := s.BatchEndpoints
	e := &hangar.BatchEndpoint{Name: "nightly", Description: "scores every night"}
	if err := b.CreateBatchEndpoint(ctx, epWS, e); err != nil {
		t.Fatal(err)
	}
	if e.State != hangar.StateSucceeded || e.Version != 1 || e.Workspace != epWS || e.CreatedBy != "alice" {
		t.Fatalf("created: got %+v", e)
	}
	if ev := lastEvent(t, s); ev.Action != hangar.ActBatchEndpointWrite || ev.Target != "batchEndpoints/nightly" {
		t.Errorf("create event: got %+v", ev)
	}
	wantCode(t, "create twice", b.CreateBatchEndpoint(ctx, epWS, &hangar.BatchEndpoint{Name: "nightly"}), hangar.ECONFLICT)
	wantCode(t, "a default at create", b.CreateBatchEndpoint(ctx, epWS, &hangar.BatchEndpoint{Name: "weekly", DefaultDeployment: "blue"}), hangar.EINVALID)

	d := &hangar.BatchDeployment{Endpoint: "nightly", Name: "blue", Spec: epSpec("1"), Settings: batchSettings()}
	if err := b.CreateBatchDeployment(ctx, epWS, d); err != nil {
		t.Fatal(err)
	}
	if d.State != hangar.StateCreating || d.Version != 1 {
		t.Fatalf("created deployment: got %+v", d)
	}
	bad := &hangar.BatchDeployment{Endpoint: "nightly", Name: "green", Spec: epSpec("1"), Settings: batchSettings()}
	bad.Settings.OutputAction = hangar.BatchSummaryOnly
	wantCode(t, "summary_only without a script", b.CreateBatchDeployment(ctx, epWS, bad), hangar.EINVALID)
	bad.Settings = batchSettings()
	bad.Settings.MiniBatchSize = 0
	wantCode(t, "mini_batch_size 0", b.CreateBatchDeployment(ctx, epWS, bad), hangar.EINVALID)
	wantCode(t, "a deployment of a missing endpoint", b.CreateBatchDeployment(ctx, epWS, &hangar.BatchDeployment{Endpoint: "weekly", Name: "blue", Spec: epSpec("1"), Settings: batchSettings()}), hangar.ENOTFOUND)

	// The default deployment must exist.
	missing := "green"
	_, err := b.UpdateBatchEndpoint(ctx, epWS, "nightly", hangar.BatchEndpointUpdate{DefaultDeployment: &missing}, 0)
	wantCode(t, "a missing default", err, hangar.EINVALID)
	blue := "blue"
	u, err := b.UpdateBatchEndpoint(ctx, epWS, "nightly", hangar.BatchEndpointUpdate{DefaultDeployment: &blue}, 1)
	if err != nil || u.DefaultDeployment != "blue" || u.Version != 2 {
		t.Fatalf("set the default: got %+v, %v", u, err)
	}
	_, err = b.UpdateBatchEndpoint(ctx, epWS, "nightly", hangar.BatchEndpointUpdate{DefaultDeployment: &blue}, 1)
	wantCode(t, "update an old version", err, hangar.ECONFLICT)

	// Updates of a deployment: settings, state moves, version.
	set := batchSettings()
	set.MiniBatchSize = 5
	got, err := b.UpdateBatchDeployment(ctx, epWS, "nightly", "blue", hangar.BatchDeploymentUpdate{Version: 1, Settings: &set, State: hangar.StateSucceeded})
	if err != nil || got.Settings.MiniBatchSize != 5 || got.State != hangar.StateSucceeded || got.Version != 2 {
		t.Fatalf("update deployment: got %+v, %v", got, err)
	}
	_, err = b.UpdateBatchDeployment(ctx, epWS, "nightly", "blue", hangar.BatchDeploymentUpdate{State: hangar.StateCreating})
	wantCode(t, "back to Creating", err, hangar.ECONFLICT)
	_, err = b.UpdateBatchDeployment(ctx, epWS, "nightly", "blue", hangar.BatchDeploymentUpdate{Version: 1})
	wantCode(t, "update an old deployment version", err, hangar.ECONFLICT)
	gd, err := b.BatchDeployment(ctx, epWS, "nightly", "blue")
	if err != nil || gd.Settings != set || gd.Spec.ModelVersion != "1" {
		t.Fatalf("get deployment: got %+v, %v", gd, err)
	}

	// The default is not deleted; another one is.
	wantCode(t, "delete the default", b.DeleteBatchDeployment(ctx, epWS, "nightly", "blue"), hangar.ECONFLICT)
	if err := b.CreateBatchDeployment(ctx, epWS, &hangar.BatchDeployment{Endpoint: "nightly", Name: "green", Spec: epSpec("2"), Settings: batchSettings()}); err != nil {
		t.Fatal(err)
	}
	p, err := b.ListBatchDeployments(ctx, epWS, "nightly", hangar.ListOptions{})
	if err != nil || len(p.Items) != 2 || p.Items[0].Name != "blue" || p.Items[1].Name != "green" {
		t.Fatalf("list deployments: got %+v, %v", p, err)
	}
	if err := b.DeleteBatchDeployment(ctx, epWS, "nightly", "green"); err != nil {
		t.Fatal(err)
	}
	if ev := lastEvent(t, s); ev.Action != hangar.ActBatchDeploymentDelete || ev.Target != "batchEndpoints/nightly/deployments/green" {
		t.Errorf("delete deployment event: got %+v", ev)
	}

	// Workspaces are apart.
	if err := s.Workspaces.CreateWorkspace(ctx, &hangar.Workspace{Name: "other"}); err != nil {
		t.Fatal(err)
	}
	_, err = b.BatchEndpoint(ctx, "other", "nightly")
	wantCode(t, "another workspace's batch endpoint", err, hangar.ENOTFOUND)
	if err := b.CreateBatchEndpoint(ctx, "other", &hangar.BatchEndpoint{Name: "nightly"}); err != nil {
		t.Fatal(err)
	}
	le, err := b.ListBatchEndpoints(ctx, "other", hangar.ListOptions{})
	if err != nil || len(le.Items) != 1 || le.Items[0].DefaultDeployment != "" {
		t.Fatalf("list other: got %+v, %v", le, err)
	}

	// Deleting the endpoint deletes its deployments.
	if err := b.DeleteBatchEndpoint(ctx, epWS, "nightly"); err != nil {
		t.Fatal(err)
	}
	_, err = b.BatchDeployment(ctx, epWS, "nightly", "blue")
	wantCode(t, "a deployment of a deleted endpoint", err, hangar.ENOTFOUND)
	if _, err := b.BatchEndpoint(ctx, "other", "nightly"); err != nil {
		t.Fatalf("deleting default's endpoint touched other's: %v", err)
	}
	_, err = b.BatchEndpoint(ctx, epWS, "x")
	wantCode(t, "a bad name", err, hangar.EINVALID)
	wantVerified(t, s, int64(len(allEvents(t, s))))
}
