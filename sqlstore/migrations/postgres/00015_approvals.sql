-- Approvals (approval.go): protected_aliases are the alias names that, on
-- every registered model of their workspace, move only by an approved
-- request; approval_requests ask to point alias of model at version.
-- status is pending, approved or rejected: expiry is read from expires_at,
-- never stored. decided_* are '' (decided_at NULL) until a decision;
-- previous_version is the version the alias left when approved, '' for
-- none. model is the name at request time. Times are TIMESTAMPTZ;
-- text is COLLATE "C", so names sort by bytes as in SQLite.

-- +goose Up
CREATE TABLE protected_aliases (
    workspace  TEXT COLLATE "C" NOT NULL REFERENCES workspaces (name) ON DELETE CASCADE,
    alias      TEXT COLLATE "C" NOT NULL,
    created_by TEXT COLLATE "C" NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (workspace, alias)
);

CREATE TABLE approval_requests (
    id               TEXT COLLATE "C" PRIMARY KEY,
    workspace        TEXT COLLATE "C" NOT NULL REFERENCES workspaces (name) ON DELETE CASCADE,
    model            TEXT COLLATE "C" NOT NULL,
    version          BIGINT NOT NULL,
    alias            TEXT COLLATE "C" NOT NULL,
    comment          TEXT COLLATE "C" NOT NULL,
    requester        TEXT COLLATE "C" NOT NULL,
    requester_id     TEXT COLLATE "C" NOT NULL,
    status           TEXT COLLATE "C" NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    expires_at       TIMESTAMPTZ NOT NULL,
    decided_by       TEXT COLLATE "C" NOT NULL,
    decided_by_id    TEXT COLLATE "C" NOT NULL,
    decided_at       TIMESTAMPTZ,
    decision_comment TEXT COLLATE "C" NOT NULL,
    previous_version TEXT COLLATE "C" NOT NULL
);
CREATE INDEX approval_requests_list ON approval_requests (workspace, created_at, id);

-- +goose Down
DROP TABLE approval_requests;
DROP TABLE protected_aliases;
