-- The job a token is the credential of (identity.go: Token.Job): '' for
-- every token but those minted for a running job, which act on that job
-- (and its pipeline's steps) only among the jobs of their workspace.

-- +goose Up
ALTER TABLE tokens ADD COLUMN job TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE tokens DROP COLUMN job;
