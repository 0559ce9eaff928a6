package hangar

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"
)

// Event is one entry of the append-only audit log. Each event is chained to
// the one before it: Hash covers the event's own fields and PrevHash, so
// altering or deleting any stored event breaks every link after it. Hash is
// a MAC under the audit key, which is not in the database, so whoever can
// write the database but does not hold the key cannot re-hash the chain
// after altering it.
type Event struct {
	Seq       int64     `json:"seq"`
	Time      time.Time `json:"time"`
	Actor     string    `json:"actor"`    // identity name
	ActorID   string    `json:"actor_id"` // identity id
	Action    string    `json:"action"`   // an action string, e.g. "workspaces/write"
	Target    string    `json:"target"`   // what changed, e.g. "workspaces/default", "secrets/db-password"
	Workspace string    `json:"workspace,omitempty"`
	RequestID string    `json:"request_id,omitempty"`
	// Detail says more of the change than Action and Target can, as a JSON
	// object (e.g. a gate's verdict: {"gate":{"verdict":…}}); empty for
	// most events. It is hashed only when not empty, so events stored
	// before it existed keep their hashes.
	Detail   string `json:"detail,omitempty"`
	PrevHash string `json:"prev_hash"`
	Hash     string `json:"hash"`
}

// GenesisHash is the PrevHash of the first event.
const GenesisHash = "0000000000000000000000000000000000000000000000000000000000000000"

// AuditKeyPurpose is the purpose string the audit key is derived under from
// the key-encryption key (seal.DeriveKey): the audit key is
// HMAC-SHA256(KEK, AuditKeyPurpose). A new purpose string would be a new,
// independent key.
const AuditKeyPurpose = "hangar audit chain v1"

// MinAuditKeySize is the shortest audit key stores accept, in bytes.
const MinAuditKeySize = 32

// Encode returns the canonical encoding of the event's hashed fields: Seq
// and the time in UTC nanoseconds since the Unix epoch as big-endian 64-bit
// integers, then Actor, ActorID, Action, Target, Workspace, RequestID and
// PrevHash, each as its big-endian 64-bit byte length followed by its bytes,
// and, only when it is not empty, Detail in the same form. An event without
// a detail thus encodes as it did before details existed, so old chains
// still verify. The length prefixes mean no two events encode alike (an
// encoding parses back into its seven fields and, when bytes remain, the
// detail); stores truncate
// times to microseconds before hashing, which both SQLite and PostgreSQL
// keep exactly.
func (e *Event) Encode() []byte {
	n := 16
	fields := [...]string{e.Actor, e.ActorID, e.Action, e.Target, e.Workspace, e.RequestID, e.PrevHash}
	for _, s := range fields {
		n += 8 + len(s)
	}
	if e.Detail != "" {
		n += 8 + len(e.Detail)
	}
	b := make([]byte, 0, n)
	b = binary.BigEndian.AppendUint64(b, uint64(e.Seq))
	b = binary.BigEndian.AppendUint64(b, uint64(e.Time.UTC().UnixNano()))
	for _, s := range fields {
		b = binary.BigEndian.AppendUint64(b, uint64(len(s)))
		b = append(b, s...)
	}
	if e.Detail != "" {
		b = binary.BigEndian.AppendUint64(b, uint64(len(e.Detail)))
		b = append(b, e.Detail...)
	}
	return b
}

// MaxEventDetail is the longest Detail stores record, in bytes.
const MaxEventDetail = 16 << 10

// ValidateEventDetail checks an audit event's detail: empty, or a JSON
// object of at most MaxEventDetail bytes in valid UTF-8 without NUL.
// Errors: EINVALID.
func ValidateEventDetail(detail string) error {
	if detail == "" {
		return nil
	}
	if err := ValidateText("audit detail", detail, MaxEventDetail); err != nil {
		return err
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(detail), &obj); err != nil || obj == nil {
		return Errorf(EINVALID, "audit detail is not a JSON object")
	}
	return nil
}

// The model-version tags an evaluation gate records on the candidate
// (package gate writes them; stores read them to put the verdict into the
// audit log).
const (
	TagGateVerdict  = "hangar.gate.verdict"  // passed or failed; written last
	TagGateRules    = "hangar.gate.rules"    // JSON: each rule's values and outcome
	TagGateChampion = "hangar.gate.champion" // name:version compared, or "none"
)

// GateAuditDetail returns the audit detail of recording a gate's verdict:
// {"gate":{"verdict":…,"champion":…,"rules":…}} from the version's gate
// tags — rules as the JSON the tag holds, or as a string when it holds
// something else. A detail too long for the log keeps the verdict and the
// champion and drops the rules, saying so.
func GateAuditDetail(verdict, champion, rules string) string {
	type gateDetail struct {
		Verdict  string          `json:"verdict"`
		Champion string          `json:"champion,omitempty"`
		Rules    json.RawMessage `json:"rules,omitempty"`
		Note     string          `json:"note,omitempty"`
	}
	g := gateDetail{Verdict: verdict, Champion: champion}
	switch {
	case rules == "":
	case json.Valid([]byte(rules)):
		g.Rules = json.RawMessage(rules)
	default:
		var b bytes.Buffer
		en := json.NewEncoder(&b)
		en.SetEscapeHTML(false)
		_ = en.Encode(rules) // a string always encodes
		g.Rules = bytes.TrimSuffix(b.Bytes(), []byte("\n"))
	}
	enc := func() string {
		var b bytes.Buffer
		en := json.NewEncoder(&b)
		en.SetEscapeHTML(false) // "<=" stays readable
		_ = en.Encode(map[string]gateDetail{"gate": g})
		return strings.TrimSuffix(b.String(), "\n")
	}
	s := enc()
	if len(s) > MaxEventDetail || !utf8.ValidString(s) {
		g.Rules, g.Note = nil, "the rules are left out: too long for the audit log; see the version's hangar.gate.rules tag"
		s = enc()
	}
	return s
}

// ComputeHash returns the event's hash: the hex HMAC-SHA256 under key of
// its canonical encoding (Encode). key is the audit key.
func (e *Event) ComputeHash(key []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write(e.Encode())
	return hex.EncodeToString(m.Sum(nil))
}

// EventFilter narrows an audit listing; zero fields match all.
type EventFilter struct {
	Since  time.Time
	Target string // exact target, or a prefix ending in "/" ("models/")
	// Workspace selects the events of one workspace: those of the workspace
	// that has the name now, from the event of its creation on. A workspace
	// that was deleted and created again is a new workspace whose members
	// do not see the deleted one's events; a name no workspace has now
	// matches no event.
	Workspace string
	// AllIncarnations, with Workspace, selects every event ever recorded
	// under the name, those of deleted workspaces that had it included: for
	// readers of the whole log.
	AllIncarnations bool
}

// AuditVerification is the result of checking the whole chain.
type AuditVerification struct {
	OK     bool  `json:"ok"`
	Events int64 `json:"events"`
	// BrokenSeq is the sequence number of the first event whose link does not
	// hold (altered, inserted, or following a deleted one), or the first
	// event a checkpoint proves missing; 0 when OK.
	BrokenSeq int64  `json:"broken_seq,omitempty"`
	Reason    string `json:"reason,omitempty"`
}

// AuditCheckpoint is a signed copy of the chain head, to keep outside the
// database: a later verification against it proves that the chain still
// holds event Seq with hash Hash and has not shrunk below it, which the
// database alone cannot prove once its newest events were deleted and its
// head moved back. MAC is an HMAC under the audit key, so a checkpoint
// cannot be made up or altered without that key.
type AuditCheckpoint struct {
	Seq  int64     `json:"seq"`  // the head's sequence number (0 for an empty chain)
	Hash string    `json:"hash"` // the head's hash (GenesisHash for an empty chain)
	Time time.Time `json:"time"` // when the checkpoint was taken
	MAC  string    `json:"mac"`
}

// checkpointPurpose separates checkpoint MACs from event hashes, which are
// made with the same audit key: a checkpoint's MAC is made with a key
// derived from the audit key for this purpose, so no event hash can ever
// serve as a checkpoint MAC, or the reverse.
const checkpointPurpose = "hangar audit checkpoint v1"

// ComputeMAC returns the checkpoint's MAC under the audit key: the hex
// HMAC-SHA256, under HMAC-SHA256(key, "hangar audit checkpoint v1"), of Seq
// as a big-endian 64-bit integer, the time in UTC as big-endian 64-bit Unix
// seconds and 32-bit nanoseconds (exact for every valid time), and Hash's
// big-endian 64-bit length followed by its bytes.
func (cp *AuditCheckpoint) ComputeMAC(key []byte) string {
	k := hmac.New(sha256.New, key)
	k.Write([]byte(checkpointPurpose))
	m := hmac.New(sha256.New, k.Sum(nil))
	t := cp.Time.UTC()
	b := make([]byte, 0, 28+len(cp.Hash))
	b = binary.BigEndian.AppendUint64(b, uint64(cp.Seq))
	b = binary.BigEndian.AppendUint64(b, uint64(t.Unix()))
	b = binary.BigEndian.AppendUint32(b, uint32(t.Nanosecond()))
	b = binary.BigEndian.AppendUint64(b, uint64(len(cp.Hash)))
	b = append(b, cp.Hash...)
	m.Write(b)
	return hex.EncodeToString(m.Sum(nil))
}

// ValidMAC reports whether MAC is the checkpoint's MAC under key, comparing
// in constant time.
func (cp *AuditCheckpoint) ValidMAC(key []byte) bool {
	return hmac.Equal([]byte(cp.MAC), []byte(cp.ComputeMAC(key)))
}

// Validate checks the checkpoint's shape (not its MAC): Seq not negative,
// Hash and MAC 64 lowercase hex digits, GenesisHash exactly when Seq is 0,
// and a time that is set and in range. Errors: EINVALID.
func (cp *AuditCheckpoint) Validate() error {
	switch {
	case cp.Seq < 0:
		return Errorf(EINVALID, "checkpoint seq %d is negative", cp.Seq)
	case !isHexDigest(cp.Hash):
		return Errorf(EINVALID, "checkpoint hash is not 64 lowercase hex digits")
	case !isHexDigest(cp.MAC):
		return Errorf(EINVALID, "checkpoint mac is not 64 lowercase hex digits")
	case (cp.Seq == 0) != (cp.Hash == GenesisHash):
		return Errorf(EINVALID, "checkpoint seq %d does not go with hash %s: only an empty chain (seq 0) has the genesis hash", cp.Seq, cp.Hash)
	case cp.Time.IsZero():
		return Errorf(EINVALID, "checkpoint time is missing")
	}
	return ValidateTime("checkpoint time", cp.Time)
}

// isHexDigest reports whether s is 64 lowercase hex digits, a SHA-256 size
// digest as the audit log writes them.
func isHexDigest(s string) bool {
	if len(s) != 2*sha256.Size {
		return false
	}
	for i := range len(s) {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// ValidRequestID reports whether s may be recorded as a request id: 1 to 128
// ASCII letters, digits and "-_.:" — enough for UUIDs and trace ids, nothing
// that could forge a log line or bloat the audit log. Servers replace a
// client's id that fails it, and stores record none rather than one that
// fails it.
func ValidRequestID(s string) bool {
	if len(s) == 0 || len(s) > 128 {
		return false
	}
	for i := range len(s) {
		switch c := s[i]; {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-', c == '_', c == '.', c == ':':
		default:
			return false
		}
	}
	return true
}

// AuditService reads the audit log. Events are written by the stores
// themselves, in the transaction of the change they record.
type AuditService interface {
	// ListEvents lists events in sequence order, oldest first. Errors: EINVALID.
	ListEvents(ctx context.Context, f EventFilter, opt ListOptions) (*Page[*Event], error)
	// VerifyAudit walks the chain from the first event and reports the first broken link.
	VerifyAudit(ctx context.Context) (*AuditVerification, error)
	AuditCheckpointService
}

// AuditCheckpointService signs the chain head and checks the chain against
// such a signed head, kept outside the database.
type AuditCheckpointService interface {
	// Checkpoint returns the current chain head, signed. Errors: EINTERNAL
	// when the head does not match the newest event (run VerifyAudit).
	Checkpoint(ctx context.Context) (*AuditCheckpoint, error)
	// VerifyAuditCheckpoint verifies the chain as VerifyAudit does and then
	// that it still holds event cp.Seq with hash cp.Hash and its head is not
	// behind cp.Seq; BrokenSeq and Reason say which does not hold. A nil cp
	// verifies the chain alone. Errors: EINVALID for a checkpoint that is
	// malformed or whose MAC does not verify under this store's audit key
	// (altered, or issued under another key).
	VerifyAuditCheckpoint(ctx context.Context, cp *AuditCheckpoint) (*AuditVerification, error)
}
