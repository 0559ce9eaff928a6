package hangar

import (
	"context"
	"fmt"
	"time"
)

// Approvals (issue 10, item 4). A workspace marks some alias names as
// protected (ProtectedAlias): on every registered model of the workspace,
// such an alias moves only when an identity holding approvals/approve,
// other than the one who asked, approves an ApprovalRequest for it. The
// approval moves the alias in the same transaction that records the
// decision, so an approved request and its alias never disagree.

// Statuses of an approval request. Expired is never stored: a pending
// request whose ExpiresAt has passed reads as expired (ApprovalRequest.StatusAt),
// so expiry changes nothing in the database and needs no sweeper.
const (
	ApprovalPending  = "pending"
	ApprovalApproved = "approved"
	ApprovalRejected = "rejected"
	ApprovalExpired  = "expired"
)

// Limits of approval requests.
const (
	// DefaultApprovalExpiry is how long a request waits for a decision
	// when the requester names no expiry.
	DefaultApprovalExpiry = 72 * time.Hour
	// MaxApprovalExpiry bounds a request's expiry: an approval asked for
	// long ago approves what was true long ago.
	MaxApprovalExpiry = 30 * 24 * time.Hour
	// MinApprovalExpiry keeps a request open long enough to be seen.
	MinApprovalExpiry = time.Minute
	// MaxApprovalComment bounds a request's or a decision's comment, in
	// bytes.
	MaxApprovalComment = 5000
)

// ProtectedAlias is an alias name that, on every registered model of its
// workspace, moves only by an approved ApprovalRequest.
type ProtectedAlias struct {
	Workspace string    `json:"workspace"`
	Alias     string    `json:"alias"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
}

// ApprovalRequest asks to point Alias of the registered model Name at
// Version. The requester is the identity that created it; the decider the
// one that approved or rejected it.
type ApprovalRequest struct {
	ID          string `json:"id"`
	Workspace   string `json:"workspace"`
	Name        string `json:"name"` // the registered model
	Version     string `json:"version"`
	Alias       string `json:"alias"`
	Comment     string `json:"comment,omitempty"`
	Requester   string `json:"requester"`
	RequesterID string `json:"requester_id"`
	// Status is pending, approved, rejected or expired (StatusAt).
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
	// DecidedBy, DecidedByID, DecidedAt and DecisionComment record the
	// decision; empty while pending.
	DecidedBy       string     `json:"decided_by,omitempty"`
	DecidedByID     string     `json:"decided_by_id,omitempty"`
	DecidedAt       *time.Time `json:"decided_at,omitempty"`
	DecisionComment string     `json:"decision_comment,omitempty"`
	// PreviousVersion is the version the alias pointed at when the request
	// was approved, "" when it pointed nowhere or the request was not
	// approved.
	PreviousVersion string `json:"previous_version,omitempty"`
}

// StatusAt returns the request's status at now: a pending request whose
// expiry has passed is expired.
func (r *ApprovalRequest) StatusAt(now time.Time) string {
	if r.Status == ApprovalPending && !now.Before(r.ExpiresAt) {
		return ApprovalExpired
	}
	return r.Status
}

// NewApprovalRequest is what a requester asks for. ExpiresIn 0 means
// DefaultApprovalExpiry.
type NewApprovalRequest struct {
	Workspace string
	Name      string
	Version   string
	Alias     string
	Comment   string
	ExpiresIn time.Duration
}

// Validate checks the comment and expiry and applies the default expiry;
// the store checks the model, version and alias. Errors: EINVALID.
func (n *NewApprovalRequest) Validate() error {
	if err := ValidateText("comment", n.Comment, MaxApprovalComment); err != nil {
		return err
	}
	if n.ExpiresIn == 0 {
		n.ExpiresIn = DefaultApprovalExpiry
	}
	if n.ExpiresIn < MinApprovalExpiry || n.ExpiresIn > MaxApprovalExpiry {
		return Errorf(EINVALID, "expiry %s is out of range: use %s to %s", n.ExpiresIn, MinApprovalExpiry, MaxApprovalExpiry)
	}
	return nil
}

// ApprovalFilter narrows a list of approval requests; empty fields match all.
type ApprovalFilter struct {
	Name   string // the registered model
	Status string // pending, approved, rejected or expired
}

// Validate checks the status. Errors: EINVALID.
func (f ApprovalFilter) Validate() error {
	switch f.Status {
	case "", ApprovalPending, ApprovalApproved, ApprovalRejected, ApprovalExpired:
		return nil
	}
	return Errorf(EINVALID, "unknown approval status %q: use pending, approved, rejected or expired", clipRunes(f.Status, 32))
}

// CheckDecision reports whether actor may approve or reject r at now, with
// comment: r must be pending and unexpired, the actor must not be its
// requester, and the comment must say why (a decision nobody can explain
// later is not an audit trail). Errors: ECONFLICT (decided, expired),
// EFORBIDDEN (the requester), EINVALID (comment).
func CheckDecision(r *ApprovalRequest, actor Actor, comment string, now time.Time) error {
	switch r.StatusAt(now) {
	case ApprovalApproved, ApprovalRejected:
		return Errorf(ECONFLICT, "approval request %s was already %s by %s at %s", r.ID, r.Status, r.DecidedBy, formatDecisionTime(r.DecidedAt))
	case ApprovalExpired:
		return Errorf(ECONFLICT, "approval request %s expired at %s: ask for a new one (hangar model request-approval)", r.ID, r.ExpiresAt.UTC().Format(time.RFC3339))
	}
	if actor.IdentityID == r.RequesterID {
		return Errorf(EFORBIDDEN, "%s requested approval request %s and may not decide it: another identity holding %s must", actor.Name, r.ID, ActApprovalApprove)
	}
	if comment == "" {
		return Errorf(EINVALID, "a decision needs a comment saying why")
	}
	return ValidateText("comment", comment, MaxApprovalComment)
}

func formatDecisionTime(t *time.Time) string {
	if t == nil {
		return "an unknown time"
	}
	return t.UTC().Format(time.RFC3339)
}

// ProtectedAliasError is the error a direct move or deletion of a protected
// alias gets: EFORBIDDEN naming the alias and how to ask for approval.
func ProtectedAliasError(ws, name, alias string) error {
	return Errorf(EFORBIDDEN, "alias %q is protected in workspace %q: moving or deleting it on registered model %q takes an approved request "+
		"(hangar model request-approval -n %s -v VERSION --alias %s, then an Approver runs hangar model approve)", alias, ws, name, name, alias)
}

// ApprovalService stores protected aliases and approval requests. The SQL
// store and the HTTP client implement it. The requester and the decider
// are the actor of ctx.
type ApprovalService interface {
	// ProtectAlias protects an alias name in a workspace. Errors: EINVALID
	// (alias rules), ENOTFOUND (workspace), ECONFLICT (protected already).
	ProtectAlias(ctx context.Context, ws, alias string) (*ProtectedAlias, error)
	// UnprotectAlias lifts the protection. Errors: EINVALID, ENOTFOUND
	// (not protected).
	UnprotectAlias(ctx context.Context, ws, alias string) error
	// ProtectedAlias returns the protection of an alias. Errors: EINVALID,
	// ENOTFOUND (not protected).
	ProtectedAlias(ctx context.Context, ws, alias string) (*ProtectedAlias, error)
	// ListProtectedAliases lists a workspace's protected aliases by name.
	ListProtectedAliases(ctx context.Context, ws string, opt ListOptions) (*Page[*ProtectedAlias], error)
	// RequestApproval creates a pending request. Errors: EINVALID (comment,
	// expiry, version, alias not protected), ENOTFOUND (model version).
	RequestApproval(ctx context.Context, n NewApprovalRequest) (*ApprovalRequest, error)
	// ApprovalRequest returns one request. Errors: ENOTFOUND.
	ApprovalRequest(ctx context.Context, ws, id string) (*ApprovalRequest, error)
	// ListApprovalRequests lists requests, newest first. Errors: EINVALID.
	ListApprovalRequests(ctx context.Context, ws string, f ApprovalFilter, opt ListOptions) (*Page[*ApprovalRequest], error)
	// DecideApproval approves (moving the alias, in the same transaction)
	// or rejects a request, recording the decider, time and comment.
	// Errors: those of CheckDecision, ENOTFOUND (request, or the model
	// version, deleted since), with nothing changed.
	DecideApproval(ctx context.Context, ws, id string, approve bool, comment string) (*ApprovalRequest, error)
}

// ApprovalTarget is the audit target of an approval request.
func ApprovalTarget(name, id string) string { return fmt.Sprintf("models/%s/approvals/%s", name, id) }
