package jobrun

import (
	"context"
	"fmt"
	"time"

	"github.com/hangar-ml/hangar"
)

// IdentityTokens mints job credentials with an identity service: the jobs
// of a workspace act as the service principal "job-runner.<workspace>",
// which holds only hangar.RoleJobRunner, on that workspace only, and each
// token is the credential of its job (hangar.Token.Job): among jobs it
// acts on that job and its pipeline's steps only, and submits none. Each
// top-level job gets its own token, which expires after the job's timeout
// (a day without one) and is revoked when the job ends: no long-lived
// credential reaches a step.
type IdentityTokens struct {
	Identities hangar.IdentityService
}

// JobRunnerIdentity is the identity a workspace's jobs act as.
func JobRunnerIdentity(workspace string) string { return "job-runner." + workspace }

// MintJobToken implements TokenMinter.
func (t IdentityTokens) MintJobToken(ctx context.Context, workspace, job string, ttl time.Duration) (string, string, error) {
	exp := time.Now().Add(ttl).UTC().Truncate(time.Second)
	it, err := t.Identities.IssueToken(ctx, &hangar.TokenRequest{Name: JobRunnerIdentity(workspace), Role: hangar.RoleJobRunner, Workspace: workspace, ExpiresAt: &exp, Job: job})
	if err != nil {
		return "", "", fmt.Errorf("mint the token of job %s: %w", job, err)
	}
	return it.Secret, it.ID, nil
}

// RevokeJobToken implements TokenMinter.
func (t IdentityTokens) RevokeJobToken(ctx context.Context, id string) error {
	return t.Identities.RevokeToken(ctx, id)
}
