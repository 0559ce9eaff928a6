package hangar_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hangar-ml/hangar"
)

// goldenTime is the time of the golden events: microsecond precision, as stores keep it.
var goldenTime = time.Date(2026, 11, 30, 12, 0, 0, 123456000, time.UTC)

// TestEventHashGolden pins the hash of known events. The expected values were
// computed by an independent implementation of the documented encoding
// (Python's hashlib over big-endian seq and UTC nanoseconds, then each string
// field length-prefixed), so a change to the encoding — which would break
// every stored chain — fails here rather than passing unnoticed.
func TestEventHashGolden(t *testing.T) {
	tests := []struct {
		name string
		e    hangar.Event
		want string
	}{
		{
			"every field set",
			hangar.Event{Seq: 1, Time: goldenTime, Actor: "owner", ActorID: "id-1", Action: "workspaces/write",
				Target: "workspaces/demo", Workspace: "demo", RequestID: "req-1", PrevHash: hangar.GenesisHash},
			"989fd490d7f2567e0eb245b9d3b4d4d01fe6c994052bd3ffc990ba6876a322e2",
		},
		{
			"empty strings",
			hangar.Event{Seq: 2, Time: goldenTime, PrevHash: hangar.GenesisHash},
			"7652c2dcfd615229819d1c1de8034331ca4c8a45066013168c07b79b8fa6405e",
		},
		{
			"unicode and a time in another zone",
			hangar.Event{Seq: 7, Time: goldenTime.In(time.FixedZone("x", -5*3600)), Actor: "ünïcode", ActorID: "x",
				Action: "secrets/reveal", Target: "secrets/db", Workspace: "ws", PrevHash: strings.Repeat("a", 64)},
			"bf3a916e7f470f1dc9790f806b0ea3a46b495c5932030265f76f88229ab06f3d",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.e.ComputeHash(); got != tt.want {
				t.Errorf("ComputeHash() = %s, want %s", got, tt.want)
			}
		})
	}
}

// TestEventHashCoversEveryField changes each hashed field in turn and
// requires a different hash. It also requires that every field of Event but
// Hash itself has a case here, so a field added to Event without being
// hashed (and so open to silent tampering) fails this test.
func TestEventHashCoversEveryField(t *testing.T) {
	base := hangar.Event{Seq: 1, Time: goldenTime, Actor: "owner", ActorID: "id-1", Action: "workspaces/write",
		Target: "workspaces/demo", Workspace: "demo", RequestID: "req-1", PrevHash: hangar.GenesisHash}
	mutations := map[string]func(*hangar.Event){
		"Seq":       func(e *hangar.Event) { e.Seq = 2 },
		"Time":      func(e *hangar.Event) { e.Time = e.Time.Add(time.Microsecond) },
		"Actor":     func(e *hangar.Event) { e.Actor = "mallory" },
		"ActorID":   func(e *hangar.Event) { e.ActorID = "id-2" },
		"Action":    func(e *hangar.Event) { e.Action = "workspaces/delete" },
		"Target":    func(e *hangar.Event) { e.Target = "workspaces/other" },
		"Workspace": func(e *hangar.Event) { e.Workspace = "other" },
		"RequestID": func(e *hangar.Event) { e.RequestID = "req-2" },
		"PrevHash":  func(e *hangar.Event) { e.PrevHash = strings.Repeat("f", 64) },
	}
	for f := range reflect.TypeFor[hangar.Event]().Fields() {
		if _, ok := mutations[f.Name]; !ok && f.Name != "Hash" {
			t.Errorf("Event.%s has no mutation case: hash it (and add a case here)", f.Name)
		}
	}
	h := base.ComputeHash()
	for field, mutate := range mutations {
		e := base
		mutate(&e)
		if e.ComputeHash() == h {
			t.Errorf("changing %s left the hash unchanged", field)
		}
	}
	// Length prefixes: moving characters between neighbouring fields changes the hash.
	for _, shift := range []func(*hangar.Event){
		func(e *hangar.Event) { e.Actor, e.ActorID = "owne", "rid-1" },
		func(e *hangar.Event) { e.Action, e.Target = "workspaces/writeworkspaces", "/demo" },
		func(e *hangar.Event) { e.Workspace, e.RequestID = "demoreq", "-1" },
	} {
		e := base
		shift(&e)
		if e.ComputeHash() == h {
			t.Errorf("moving characters between fields left the hash unchanged: %+v", e)
		}
	}
}
