package hangar

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"time"
)

// Event is one entry of the append-only audit log. Each event is chained to
// the one before it: Hash covers the event's own fields and PrevHash, so
// altering or deleting any stored event breaks every link after it.
type Event struct {
	Seq       int64     `json:"seq"`
	Time      time.Time `json:"time"`
	Actor     string    `json:"actor"`    // identity name
	ActorID   string    `json:"actor_id"` // identity id
	Action    string    `json:"action"`   // an action string, e.g. "workspaces/write"
	Target    string    `json:"target"`   // what changed, e.g. "workspaces/default", "secrets/db-password"
	Workspace string    `json:"workspace,omitempty"`
	RequestID string    `json:"request_id,omitempty"`
	PrevHash  string    `json:"prev_hash"`
	Hash      string    `json:"hash"`
}

// GenesisHash is the PrevHash of the first event.
const GenesisHash = "0000000000000000000000000000000000000000000000000000000000000000"

// ComputeHash returns the hex SHA-256 of the event's fields and PrevHash.
// Fields are length-prefixed so no two events encode alike; time is in UTC
// nanoseconds, which both SQLite and PostgreSQL (microseconds) store exactly
// once stores truncate it to microseconds before hashing.
func (e *Event) ComputeHash() string {
	h := sha256.New()
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(e.Seq))
	h.Write(n[:])
	binary.BigEndian.PutUint64(n[:], uint64(e.Time.UTC().UnixNano()))
	h.Write(n[:])
	for _, s := range []string{e.Actor, e.ActorID, e.Action, e.Target, e.Workspace, e.RequestID, e.PrevHash} {
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// EventFilter narrows an audit listing; zero fields match all.
type EventFilter struct {
	Since     time.Time
	Target    string // exact target, or a prefix ending in "/" ("models/")
	Workspace string
}

// AuditVerification is the result of checking the whole chain.
type AuditVerification struct {
	OK     bool  `json:"ok"`
	Events int64 `json:"events"`
	// BrokenSeq is the sequence number of the first event whose link does not
	// hold (altered, inserted, or following a deleted one); 0 when OK.
	BrokenSeq int64  `json:"broken_seq,omitempty"`
	Reason    string `json:"reason,omitempty"`
}

// AuditService reads the audit log. Events are written by the stores
// themselves, in the transaction of the change they record.
type AuditService interface {
	// ListEvents lists events in sequence order, oldest first.
	ListEvents(ctx context.Context, f EventFilter, opt ListOptions) (*Page[*Event], error)
	// VerifyAudit walks the chain from the first event and reports the first broken link.
	VerifyAudit(ctx context.Context) (*AuditVerification, error)
}
