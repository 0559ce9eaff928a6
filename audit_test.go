package hangar_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hangar-ml/hangar"
)

// goldenTime is the time of the golden events: microsecond precision, as stores keep it.
var goldenTime = time.Date(2026, 11, 30, 12, 0, 0, 123456000, time.UTC)

// goldenKey is the audit key of the golden hashes.
var goldenKey = []byte("hangar-golden-audit-key-32-bytes")

// goldenEvents are the events whose encoding and hashes are pinned.
var goldenEvents = []struct {
	name         string
	e            hangar.Event
	sha256, hmac string
}{
	{
		"every field set",
		hangar.Event{Seq: 1, Time: goldenTime, Actor: "owner", ActorID: "id-1", Action: "workspaces/write",
			Target: "workspaces/demo", Workspace: "demo", RequestID: "req-1", PrevHash: hangar.GenesisHash},
		"989fd490d7f2567e0eb245b9d3b4d4d01fe6c994052bd3ffc990ba6876a322e2",
		"df57d15044370262548e17640a8d4623de4e1d476b5de78863517768cbf0e0f1",
	},
	{
		"empty strings",
		hangar.Event{Seq: 2, Time: goldenTime, PrevHash: hangar.GenesisHash},
		"7652c2dcfd615229819d1c1de8034331ca4c8a45066013168c07b79b8fa6405e",
		"2ddd86f7e228f18601beeba4bca46aff80acda288a5b890ec731f35699e275d1",
	},
	{
		"unicode and a time in another zone",
		hangar.Event{Seq: 7, Time: goldenTime.In(time.FixedZone("x", -5*3600)), Actor: "ünïcode", ActorID: "x",
			Action: "secrets/reveal", Target: "secrets/db", Workspace: "ws", PrevHash: strings.Repeat("a", 64)},
		"bf3a916e7f470f1dc9790f806b0ea3a46b495c5932030265f76f88229ab06f3d",
		"e2aa56c32017a77641a622779fbfd5839f46361d797e2a1c8a6d8a04a7005584",
	},
	{
		// Python: the seven fields as above, then the detail length-prefixed.
		"with a detail",
		hangar.Event{Seq: 3, Time: goldenTime, Actor: "owner", ActorID: "id-1", Action: "models/write",
			Target: "models/m/versions/2", Workspace: "demo", RequestID: "req-3", PrevHash: hangar.GenesisHash,
			Detail: `{"gate":{"verdict":"passed","champion":"m:1"}}`},
		"49ae35e00fabda88ccd0ac7161b401583a8f16e1874312840157eb2beb57a3a7",
		"71434f3ba2a9d9aa8f70e049d275207d8844f0d87ce4405df7f046e96c321d85",
	},
}

// TestEventHashGolden pins the hash of known events. The expected values were
// computed by an independent implementation of the documented encoding:
// Python's struct, hashlib and hmac modules packing big-endian seq and UTC
// nanoseconds, then each string field length-prefixed, and taking
// hmac.new(goldenKey, encoding, hashlib.sha256). A change to the encoding or
// the MAC — which would break every stored chain — fails here rather than
// passing unnoticed.
func TestEventHashGolden(t *testing.T) {
	for _, tt := range goldenEvents {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.e.ComputeHash(goldenKey); got != tt.hmac {
				t.Errorf("ComputeHash() = %s, want %s", got, tt.hmac)
			}
		})
	}
}

// TestEventEncodingGolden pins the canonical encoding through its SHA-256:
// the hashes of the unkeyed chains stores wrote before chains were keyed,
// which a store verifies once before re-keying such a chain. The values are
// those the earlier golden test pinned, computed by Python's hashlib.
func TestEventEncodingGolden(t *testing.T) {
	for _, tt := range goldenEvents {
		t.Run(tt.name, func(t *testing.T) {
			sum := sha256.Sum256(tt.e.Encode())
			if got := hex.EncodeToString(sum[:]); got != tt.sha256 {
				t.Errorf("SHA-256 of Encode() = %s, want %s", got, tt.sha256)
			}
		})
	}
}

// TestEventHashNeedsTheKey checks that the hash depends on the key: without
// it (plain SHA-256 of the encoding) or with another key, nobody gets the
// stored hash.
func TestEventHashNeedsTheKey(t *testing.T) {
	e := goldenEvents[0].e
	h := e.ComputeHash(goldenKey)
	other := []byte("another-audit-key-of-thirty-two!")
	sum := sha256.Sum256(e.Encode())
	for name, got := range map[string]string{
		"another key":      e.ComputeHash(other),
		"no key":           e.ComputeHash(nil),
		"plain SHA-256":    hex.EncodeToString(sum[:]),
		"key one byte off": e.ComputeHash(append(goldenKey[:31:31], goldenKey[31]^1)),
	} {
		if got == h {
			t.Errorf("%s gives the same hash as the audit key", name)
		}
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
		"Detail":    func(e *hangar.Event) { e.Detail = `{"a":1}` },
	}
	for f := range reflect.TypeFor[hangar.Event]().Fields() {
		if _, ok := mutations[f.Name]; !ok && f.Name != "Hash" {
			t.Errorf("Event.%s has no mutation case: hash it (and add a case here)", f.Name)
		}
	}
	h := base.ComputeHash(goldenKey)
	for field, mutate := range mutations {
		e := base
		mutate(&e)
		if e.ComputeHash(goldenKey) == h {
			t.Errorf("changing %s left the hash unchanged", field)
		}
	}
	// Length prefixes: moving characters between neighbouring fields changes the hash.
	for _, shift := range []func(*hangar.Event){
		func(e *hangar.Event) { e.Actor, e.ActorID = "owne", "rid-1" },
		func(e *hangar.Event) { e.Action, e.Target = "workspaces/writeworkspaces", "/demo" },
		func(e *hangar.Event) { e.Workspace, e.RequestID = "demoreq", "-1" },
		func(e *hangar.Event) { e.PrevHash, e.Detail = e.PrevHash[:60], e.PrevHash[60:] },
	} {
		e := base
		shift(&e)
		if e.ComputeHash(goldenKey) == h {
			t.Errorf("moving characters between fields left the hash unchanged: %+v", e)
		}
	}
}

// TestCheckpointMACGolden pins the checkpoint MAC; the expected values were
// computed with Python's hmac module: the key hmac.new(goldenKey, b"hangar
// audit checkpoint v1", sha256).digest(), over struct.pack(">QQI", seq,
// unix seconds, nanoseconds) followed by the hash length-prefixed.
func TestCheckpointMACGolden(t *testing.T) {
	for _, tt := range []struct {
		cp   hangar.AuditCheckpoint
		want string
	}{
		{hangar.AuditCheckpoint{Seq: 42, Hash: goldenEvents[0].sha256, Time: goldenTime}, "cac13a38c1404992eb7fb8487c00d05691746c039c4bfcc6b56fb5134325087d"},
		{hangar.AuditCheckpoint{Seq: 0, Hash: hangar.GenesisHash, Time: goldenTime.In(time.FixedZone("y", 3600))}, "708df64644f7d1832553d266d878735ca882a7e5b166a473d6cc55e72d4330ee"},
	} {
		if got := tt.cp.ComputeMAC(goldenKey); got != tt.want {
			t.Errorf("ComputeMAC(%d) = %s, want %s", tt.cp.Seq, got, tt.want)
		}
	}
}

// TestCheckpointMACCoversEveryField alters each field of a signed
// checkpoint in turn: the MAC no longer verifies. Every field but MAC must
// have a case.
func TestCheckpointMACCoversEveryField(t *testing.T) {
	base := hangar.AuditCheckpoint{Seq: 42, Hash: goldenEvents[0].hmac, Time: goldenTime}
	base.MAC = base.ComputeMAC(goldenKey)
	if !base.ValidMAC(goldenKey) {
		t.Fatal("a checkpoint's own MAC does not verify")
	}
	if base.ValidMAC([]byte("another-audit-key-of-thirty-two!")) {
		t.Error("the MAC verifies under another key")
	}
	if base.MAC == (&hangar.Event{}).ComputeHash(goldenKey) || base.MAC == base.Hash {
		t.Error("the MAC equals an event hash")
	}
	mutations := map[string]func(*hangar.AuditCheckpoint){
		"Seq":  func(cp *hangar.AuditCheckpoint) { cp.Seq = 41 },
		"Hash": func(cp *hangar.AuditCheckpoint) { cp.Hash = goldenEvents[1].hmac },
		"Time": func(cp *hangar.AuditCheckpoint) { cp.Time = cp.Time.Add(time.Nanosecond) },
	}
	for f := range reflect.TypeFor[hangar.AuditCheckpoint]().Fields() {
		if _, ok := mutations[f.Name]; !ok && f.Name != "MAC" {
			t.Errorf("AuditCheckpoint.%s has no mutation case: cover it by the MAC (and add a case here)", f.Name)
		}
	}
	for field, mutate := range mutations {
		cp := base
		mutate(&cp)
		if cp.ValidMAC(goldenKey) {
			t.Errorf("changing %s left the MAC valid", field)
		}
	}
	// Times past 2262 (where UnixNano overflows) still differ.
	far := base
	far.Time = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	farther := far
	farther.Time = far.Time.Add(time.Second)
	if far.ComputeMAC(goldenKey) == farther.ComputeMAC(goldenKey) {
		t.Error("two far-future times give the same MAC")
	}
}

func TestCheckpointValidate(t *testing.T) {
	good := hangar.AuditCheckpoint{Seq: 3, Hash: goldenEvents[0].hmac, Time: goldenTime, MAC: goldenEvents[1].hmac}
	if err := good.Validate(); err != nil {
		t.Fatalf("Validate() of a good checkpoint: %v", err)
	}
	empty := hangar.AuditCheckpoint{Seq: 0, Hash: hangar.GenesisHash, Time: goldenTime, MAC: good.MAC}
	if err := empty.Validate(); err != nil {
		t.Fatalf("Validate() of an empty chain's checkpoint: %v", err)
	}
	for _, tt := range []struct {
		name   string
		mutate func(*hangar.AuditCheckpoint)
	}{
		{"negative seq", func(cp *hangar.AuditCheckpoint) { cp.Seq = -1 }},
		{"seq 0 with another hash", func(cp *hangar.AuditCheckpoint) { cp.Seq = 0 }},
		{"genesis hash with seq 3", func(cp *hangar.AuditCheckpoint) { cp.Hash = hangar.GenesisHash }},
		{"short hash", func(cp *hangar.AuditCheckpoint) { cp.Hash = cp.Hash[:63] }},
		{"uppercase hash", func(cp *hangar.AuditCheckpoint) { cp.Hash = strings.ToUpper(cp.Hash) }},
		{"missing mac", func(cp *hangar.AuditCheckpoint) { cp.MAC = "" }},
		{"mac not hex", func(cp *hangar.AuditCheckpoint) { cp.MAC = strings.Repeat("g", 64) }},
		{"missing time", func(cp *hangar.AuditCheckpoint) { cp.Time = time.Time{} }},
		{"time out of range", func(cp *hangar.AuditCheckpoint) {
			cp.Time = time.Date(9999, 12, 31, 23, 59, 59, 0, time.FixedZone("w", -60))
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cp := good
			tt.mutate(&cp)
			if err := cp.Validate(); !hangar.IsCode(err, hangar.EINVALID) {
				t.Errorf("Validate() = %v, want %s", err, hangar.EINVALID)
			}
		})
	}
}

func TestValidRequestID(t *testing.T) {
	for _, tt := range []struct {
		id   string
		want bool
	}{
		{"req-1", true},
		{"0f8fad5b-d9cb-469f-a165-70867728950e", true},
		{"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", true},
		{"a.b_c:d", true},
		{strings.Repeat("x", 128), true},
		{"", false},
		{strings.Repeat("x", 129), false},
		{"two words", false},
		{"line\nbreak", false},
		{"tab\t", false},
		{"quote\"", false},
		{"slash/", false},
		{"nul\x00", false},
		{"ünïcode", false},
		{"\xff", false},
	} {
		if got := hangar.ValidRequestID(tt.id); got != tt.want {
			t.Errorf("ValidRequestID(%q) = %v, want %v", tt.id, got, tt.want)
		}
	}
}

// TestEventDetailKeepsOldEncoding checks that an event without a detail
// encodes as events did before details existed (the seven fields alone),
// so stored chains still verify, and that a detail is appended after them.
func TestEventDetailKeepsOldEncoding(t *testing.T) {
	e := goldenEvents[0].e
	old := e.Encode()
	e.Detail = `{"k":"v"}`
	got := e.Encode()
	if !strings.HasPrefix(string(got), string(old)) {
		t.Fatalf("the encoding with a detail does not start with the encoding without one")
	}
	if want := len(old) + 8 + len(e.Detail); len(got) != want {
		t.Errorf("got an encoding of %d bytes, want %d", len(got), want)
	}
}

func TestValidateEventDetail(t *testing.T) {
	for _, tt := range []struct {
		name, detail string
		ok           bool
	}{
		{"empty", "", true},
		{"object", `{"gate":{"verdict":"passed"}}`, true},
		{"array", `[1]`, false},
		{"string", `"x"`, false},
		{"null", `null`, false},
		{"not JSON", `{`, false},
		{"NUL", "{\"a\":\"\x00\"}", false},
		{"too long", `{"a":"` + strings.Repeat("x", hangar.MaxEventDetail) + `"}`, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := hangar.ValidateEventDetail(tt.detail)
			if tt.ok && err != nil {
				t.Errorf("got %v, want no error", err)
			}
			if !tt.ok && hangar.ErrorCode(err) != hangar.EINVALID {
				t.Errorf("got %v, want EINVALID", err)
			}
		})
	}
}

func TestGateAuditDetail(t *testing.T) {
	for _, tt := range []struct {
		name, verdict, champion, rules, want string
	}{
		{"rules as JSON", "passed", "m:1", `[{"rule":"rmse <= 0.98 * champion.rmse"}]`,
			`{"gate":{"verdict":"passed","champion":"m:1","rules":[{"rule":"rmse <= 0.98 * champion.rmse"}]}}`},
		{"rules not JSON", "failed", "none", `rmse<1`, `{"gate":{"verdict":"failed","champion":"none","rules":"rmse<1"}}`},
		{"no rules", "passed", "", "", `{"gate":{"verdict":"passed"}}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := hangar.GateAuditDetail(tt.verdict, tt.champion, tt.rules)
			if got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
			if err := hangar.ValidateEventDetail(got); err != nil {
				t.Errorf("the detail does not validate: %v", err)
			}
		})
	}
	t.Run("too long", func(t *testing.T) {
		rules, _ := json.Marshal([]string{strings.Repeat("r", hangar.MaxEventDetail)})
		got := hangar.GateAuditDetail("failed", "m:2", string(rules))
		if err := hangar.ValidateEventDetail(got); err != nil {
			t.Fatalf("the detail does not validate: %v", err)
		}
		if !strings.Contains(got, `"verdict":"failed"`) || !strings.Contains(got, "left out") {
			t.Errorf("got %s, want the verdict kept and a note that the rules are left out", got)
		}
	})
}
