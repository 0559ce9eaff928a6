package hangar_test

import (
	"strings"
	"testing"
	"time"

	"github.com/hangar-ml/hangar"
)

func TestApprovalRequestStatusAt(t *testing.T) {
	exp := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		status string
		now    time.Time
		want   string
	}{
		{hangar.ApprovalPending, exp.Add(-time.Second), hangar.ApprovalPending},
		{hangar.ApprovalPending, exp, hangar.ApprovalExpired},
		{hangar.ApprovalPending, exp.Add(time.Hour), hangar.ApprovalExpired},
		{hangar.ApprovalApproved, exp.Add(time.Hour), hangar.ApprovalApproved},
		{hangar.ApprovalRejected, exp.Add(time.Hour), hangar.ApprovalRejected},
	}
	for _, tt := range tests {
		r := &hangar.ApprovalRequest{Status: tt.status, ExpiresAt: exp}
		if got := r.StatusAt(tt.now); got != tt.want {
			t.Errorf("%s at %v: got %q, want %q", tt.status, tt.now, got, tt.want)
		}
	}
}

func TestCheckDecision(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	decided := now.Add(-time.Hour)
	pending := hangar.ApprovalRequest{ID: "r1", Status: hangar.ApprovalPending, RequesterID: "id-bob", Requester: "bob", ExpiresAt: now.Add(time.Hour)}
	approver := hangar.Actor{IdentityID: "id-carol", Name: "carol"}
	tests := []struct {
		name    string
		edit    func(r *hangar.ApprovalRequest)
		actor   hangar.Actor
		comment string
		code    string
		msg     string
	}{
		{"pending, another identity", func(*hangar.ApprovalRequest) {}, approver, "ok", "", ""},
		{"own request", func(*hangar.ApprovalRequest) {}, hangar.Actor{IdentityID: "id-bob", Name: "bob"}, "ok", hangar.EFORBIDDEN, "bob requested approval request r1 and may not decide it"},
		{"expired", func(r *hangar.ApprovalRequest) { r.ExpiresAt = now }, approver, "ok", hangar.ECONFLICT, "expired at 2026-01-01T00:00:00Z"},
		{"approved", func(r *hangar.ApprovalRequest) {
			r.Status, r.DecidedBy, r.DecidedAt = hangar.ApprovalApproved, "dave", &decided
		}, approver, "ok", hangar.ECONFLICT, "already approved by dave at 2025-12-31T23:00:00Z"},
		{"rejected and expired", func(r *hangar.ApprovalRequest) {
			r.Status, r.DecidedBy, r.ExpiresAt = hangar.ApprovalRejected, "dave", now.Add(-time.Hour)
		}, approver, "ok", hangar.ECONFLICT, "already rejected"},
		{"no comment", func(*hangar.ApprovalRequest) {}, approver, "", hangar.EINVALID, "needs a comment"},
		{"comment too long", func(*hangar.ApprovalRequest) {}, approver, strings.Repeat("x", hangar.MaxApprovalComment+1), hangar.EINVALID, "comment"},
		{"comment with NUL", func(*hangar.ApprovalRequest) {}, approver, "a\x00b", hangar.EINVALID, "comment"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := pending
			tt.edit(&r)
			err := hangar.CheckDecision(&r, tt.actor, tt.comment, now)
			if got := hangar.ErrorCode(err); got != tt.code {
				t.Fatalf("got %v (code %q), want code %q", err, got, tt.code)
			}
			if err != nil && !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("got message %q, want it to contain %q", err, tt.msg)
			}
		})
	}
}

func TestNewApprovalRequestValidate(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want time.Duration
		code string
	}{
		{0, hangar.DefaultApprovalExpiry, ""},
		{time.Hour, time.Hour, ""},
		{hangar.MaxApprovalExpiry, hangar.MaxApprovalExpiry, ""},
		{hangar.MaxApprovalExpiry + time.Second, 0, hangar.EINVALID},
		{time.Second, 0, hangar.EINVALID},
		{-time.Hour, 0, hangar.EINVALID},
	}
	for _, tt := range tests {
		n := hangar.NewApprovalRequest{ExpiresIn: tt.in, Comment: "why"}
		err := n.Validate()
		if got := hangar.ErrorCode(err); got != tt.code {
			t.Errorf("expiry %v: got %v, want code %q", tt.in, err, tt.code)
			continue
		}
		if err == nil && n.ExpiresIn != tt.want {
			t.Errorf("expiry %v: got %v, want %v", tt.in, n.ExpiresIn, tt.want)
		}
	}
	n := hangar.NewApprovalRequest{Comment: "a\x00"}
	if got := hangar.ErrorCode(n.Validate()); got != hangar.EINVALID {
		t.Errorf("comment with NUL: got code %q, want %q", got, hangar.EINVALID)
	}
}

func TestApprovalFilterValidate(t *testing.T) {
	for _, s := range []string{"", "pending", "approved", "rejected", "expired"} {
		if err := (hangar.ApprovalFilter{Status: s}).Validate(); err != nil {
			t.Errorf("status %q: got %v, want nil", s, err)
		}
	}
	for _, s := range []string{"Pending", "done", "pending "} {
		if got := hangar.ErrorCode((hangar.ApprovalFilter{Status: s}).Validate()); got != hangar.EINVALID {
			t.Errorf("status %q: got code %q, want %q", s, got, hangar.EINVALID)
		}
	}
}

// Only Owner protects aliases: a Contributor or Data Scientist who could
// lift a protection could move the alias unapproved, and an Approver who
// could would decide alone what needs approval.
func TestApprovalWriteRoles(t *testing.T) {
	for _, tt := range []struct {
		role string
		want bool
	}{
		{hangar.RoleOwner, true},
		{hangar.RoleContributor, false},
		{hangar.RoleDataScientist, false},
		{hangar.RoleApprover, false},
		{hangar.RoleReader, false},
		{hangar.RoleJobRunner, false},
		{hangar.RoleComputeOperator, false},
	} {
		r, err := hangar.LookupRole(tt.role)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Allows(hangar.ActApprovalWrite); got != tt.want {
			t.Errorf("%s allows %s: got %v, want %v", tt.role, hangar.ActApprovalWrite, got, tt.want)
		}
	}
}

func TestProtectedAliasError(t *testing.T) {
	err := hangar.ProtectedAliasError("prod-ws", "churn", "production")
	if got := hangar.ErrorCode(err); got != hangar.EFORBIDDEN {
		t.Fatalf("got code %q, want %q", got, hangar.EFORBIDDEN)
	}
	for _, want := range []string{`alias "production" is protected`, "hangar model request-approval -n churn -v VERSION --alias production"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("got %q, want it to contain %q", err, want)
		}
	}
}
