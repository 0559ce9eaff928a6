-- Approvals (approval.go): protected_aliases are the alias names that, on
-- every registered model of their workspace, move only by an approved
-- request; approval_requests ask to point alias of model at version.
-- status is pending, approved or rejected: expiry is read from expires_at,
-- never stored. decided_* are '' (decided_at NULL) until a decision;
-- previous_version is the version the alias left when approved, '' for
-- none. model is the name at request time. Times are INTEGER Unix
-- microseconds.

-- +goose Up
CREATE TABLE protected_aliases (
    workspace  TEXT NOT NULL REFERENCES workspaces (name) ON DELETE CASCADE,
    alias      TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (workspace, alias)
);

CREATE TABLE approval_requests (
    id               TEXT PRIMARY KEY,
    workspace        TEXT NOT NULL REFERENCES workspaces (name) ON DELETE CASCADE,
    model            TEXT NOT NULL,
    version          INTEGER NOT NULL,
    alias            TEXT NOT NULL,
    comment          TEXT NOT NULL,
    requester        TEXT NOT NULL,
    requester_id     TEXT NOT NULL,
    status           TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL,
    decided_by       TEXT NOT NULL,
    decided_by_id    TEXT NOT NULL,
    decided_at       INTEGER,
    decision_comment TEXT NOT NULL,
    previous_version TEXT NOT NULL
);
CREATE INDEX approval_requests_list ON approval_requests (workspace, created_at, id);

-- +goose Down
DROP TABLE approval_requests;
DROP TABLE protected_aliases;
