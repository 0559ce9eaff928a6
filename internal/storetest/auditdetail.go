package storetest

import (
	"testing"

	"github.com/hangar-ml/hangar"
)

// testAuditDetail checks the details of audit events: recording a gate's
// verdict tag puts the verdict, the rules and the champion the gate wrote
// before it into the event's detail; other tag writes have none; the chain
// with details verifies.
func testAuditDetail(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	newModel(t, s, "gated", nil)
	v := newVersion(t, s, "gated", "mlflow-artifacts:/models/gated/1", "", nil)
	rules := `[{"rule":"rmse <= 0.98 * champion.rmse","candidate":1.5,"outcome":"passed"}]`
	for _, kv := range [][2]string{
		{hangar.TagGateRules, rules},
		{hangar.TagGateChampion, "gated:0"},
	} {
		if err := s.Registry.SetModelVersionTag(ctx, registryWS, "gated", v.Version, kv[0], kv[1]); err != nil {
			t.Fatal(err)
		}
		if e := lastEvent(t, s); e.Detail != "" {
			t.Errorf("setting %s: got detail %s, want none", kv[0], e.Detail)
		}
	}
	if err := s.Registry.SetModelVersionTag(ctx, registryWS, "gated", v.Version, hangar.TagGateVerdict, "passed"); err != nil {
		t.Fatal(err)
	}
	e := lastEvent(t, s)
	want := `{"gate":{"verdict":"passed","champion":"gated:0","rules":` + rules + `}}`
	if e.Detail != want {
		t.Errorf("verdict event: got detail %s, want %s", e.Detail, want)
	}
	if e.Action != hangar.ActModelWrite || e.Target != "models/gated/versions/"+v.Version {
		t.Errorf("verdict event: got %s on %s, want %s on models/gated/versions/%s", e.Action, e.Target, hangar.ActModelWrite, v.Version)
	}
	if got := e.ComputeHash(s.AuditKey); got != e.Hash {
		t.Errorf("verdict event: stored hash %s, recomputed %s: the detail is not hashed as stored", e.Hash, got)
	}
	// An event's hash covers its detail: without it, the hash differs.
	plain := *e
	plain.Detail = ""
	if plain.ComputeHash(s.AuditKey) == e.Hash {
		t.Errorf("the verdict event's hash does not cover its detail")
	}
	v2, err := s.Audit.VerifyAudit(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !v2.OK {
		t.Errorf("verify: got %+v, want OK", v2)
	}
	// A second verdict carries the tags as they are then.
	if err := s.Registry.SetModelVersionTag(ctx, registryWS, "gated", v.Version, hangar.TagGateVerdict, "failed"); err != nil {
		t.Fatal(err)
	}
	if e := lastEvent(t, s); e.Detail != `{"gate":{"verdict":"failed","champion":"gated:0","rules":`+rules+`}}` {
		t.Errorf("second verdict: got detail %s", e.Detail)
	}
}
