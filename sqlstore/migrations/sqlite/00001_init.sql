-- Initial schema. Times are INTEGER microseconds since the Unix epoch (UTC).
-- Tables are STRICT so a value of the wrong type is an error, not a surprise.

-- +goose Up
CREATE TABLE workspaces (
    name         TEXT PRIMARY KEY,
    display_name TEXT NOT NULL DEFAULT '',
    description  TEXT NOT NULL DEFAULT '',
    tags         TEXT NOT NULL DEFAULT '{}', -- JSON object
    created_at   INTEGER NOT NULL,
    created_by   TEXT NOT NULL DEFAULT ''
) STRICT;

CREATE TABLE identities (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    kind       TEXT NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE tokens (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    identity_id TEXT NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
    secret_hash BLOB NOT NULL,
    prefix      TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER,
    revoked_at  INTEGER
) STRICT;
CREATE UNIQUE INDEX tokens_secret_hash ON tokens (secret_hash);
CREATE INDEX tokens_created ON tokens (created_at, id);
CREATE INDEX tokens_identity ON tokens (identity_id);

-- workspace NULL means every workspace (a server-wide assignment).
CREATE TABLE role_assignments (
    id          TEXT PRIMARY KEY,
    identity_id TEXT NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
    role        TEXT NOT NULL,
    workspace   TEXT REFERENCES workspaces (name) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX role_assignments_unique ON role_assignments (identity_id, COALESCE(workspace, ''), role);
CREATE INDEX role_assignments_workspace ON role_assignments (workspace);

CREATE TABLE secrets (
    workspace  TEXT NOT NULL REFERENCES workspaces (name) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    version    INTEGER NOT NULL,
    ciphertext BLOB NOT NULL, -- sealed with aad binding workspace and name
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (workspace, name)
) STRICT;

CREATE TABLE secret_grants (
    workspace     TEXT NOT NULL,
    secret        TEXT NOT NULL,
    identity_name TEXT NOT NULL REFERENCES identities (name) ON DELETE CASCADE,
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (workspace, secret, identity_name),
    FOREIGN KEY (workspace, secret) REFERENCES secrets (workspace, name) ON DELETE CASCADE
) STRICT;
CREATE INDEX secret_grants_identity ON secret_grants (identity_name);

-- Audit events are kept forever: no foreign keys, so deleting a workspace keeps its history.
CREATE TABLE audit_events (
    seq        INTEGER PRIMARY KEY,
    time       INTEGER NOT NULL,
    actor      TEXT NOT NULL,
    actor_id   TEXT NOT NULL,
    action     TEXT NOT NULL,
    target     TEXT NOT NULL,
    workspace  TEXT NOT NULL DEFAULT '',
    request_id TEXT NOT NULL DEFAULT '',
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
) STRICT;
CREATE INDEX audit_events_workspace ON audit_events (workspace, seq);
CREATE INDEX audit_events_target ON audit_events (target, seq);

-- The chain head: the last event's seq and hash (0 and the genesis hash when
-- empty). Every write transaction locks it first.
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash TEXT NOT NULL
) STRICT;
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- +goose Down
DROP TABLE audit_head;
DROP TABLE audit_events;
DROP TABLE secret_grants;
DROP TABLE secrets;
DROP TABLE role_assignments;
DROP TABLE tokens;
DROP TABLE identities;
DROP TABLE workspaces;
