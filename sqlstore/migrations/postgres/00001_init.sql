-- Initial schema. Times are TIMESTAMPTZ (microsecond precision, as the store writes them).
-- Text is COLLATE "C" so that names sort by bytes, as in SQLite, whatever the
-- database's locale: lists and their page tokens order the same on both dialects.

-- +goose Up
CREATE TABLE workspaces (
    name         TEXT COLLATE "C" PRIMARY KEY,
    display_name TEXT COLLATE "C" NOT NULL DEFAULT '',
    description  TEXT COLLATE "C" NOT NULL DEFAULT '',
    tags         JSONB NOT NULL DEFAULT '{}',
    created_at   TIMESTAMPTZ NOT NULL,
    created_by   TEXT COLLATE "C" NOT NULL DEFAULT ''
);

CREATE TABLE identities (
    id         TEXT COLLATE "C" PRIMARY KEY,
    name       TEXT COLLATE "C" NOT NULL UNIQUE,
    kind       TEXT COLLATE "C" NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE tokens (
    id          TEXT COLLATE "C" PRIMARY KEY,
    name        TEXT COLLATE "C" NOT NULL,
    identity_id TEXT COLLATE "C" NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
    secret_hash BYTEA NOT NULL,
    prefix      TEXT COLLATE "C" NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ,
    revoked_at  TIMESTAMPTZ
);
CREATE UNIQUE INDEX tokens_secret_hash ON tokens (secret_hash);
CREATE INDEX tokens_created ON tokens (created_at, id);
CREATE INDEX tokens_identity ON tokens (identity_id);

-- workspace NULL means every workspace (a server-wide assignment).
CREATE TABLE role_assignments (
    id          TEXT COLLATE "C" PRIMARY KEY,
    identity_id TEXT COLLATE "C" NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
    role        TEXT COLLATE "C" NOT NULL,
    workspace   TEXT COLLATE "C" REFERENCES workspaces (name) ON DELETE CASCADE,
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX role_assignments_unique ON role_assignments (identity_id, COALESCE(workspace, ''), role);
CREATE INDEX role_assignments_workspace ON role_assignments (workspace);

CREATE TABLE secrets (
    workspace  TEXT COLLATE "C" NOT NULL REFERENCES workspaces (name) ON DELETE CASCADE,
    name       TEXT COLLATE "C" NOT NULL,
    version    INTEGER NOT NULL,
    ciphertext BYTEA NOT NULL, -- sealed with aad binding workspace and name
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (workspace, name)
);

CREATE TABLE secret_grants (
    workspace     TEXT COLLATE "C" NOT NULL,
    secret        TEXT COLLATE "C" NOT NULL,
    identity_name TEXT COLLATE "C" NOT NULL REFERENCES identities (name) ON DELETE CASCADE,
    created_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (workspace, secret, identity_name),
    FOREIGN KEY (workspace, secret) REFERENCES secrets (workspace, name) ON DELETE CASCADE
);
CREATE INDEX secret_grants_identity ON secret_grants (identity_name);

-- Audit events are kept forever: no foreign keys, so deleting a workspace keeps its history.
CREATE TABLE audit_events (
    seq        BIGINT PRIMARY KEY,
    time       TIMESTAMPTZ NOT NULL,
    actor      TEXT COLLATE "C" NOT NULL,
    actor_id   TEXT COLLATE "C" NOT NULL,
    action     TEXT COLLATE "C" NOT NULL,
    target     TEXT COLLATE "C" NOT NULL,
    workspace  TEXT COLLATE "C" NOT NULL DEFAULT '',
    request_id TEXT COLLATE "C" NOT NULL DEFAULT '',
    prev_hash  TEXT COLLATE "C" NOT NULL,
    hash       TEXT COLLATE "C" NOT NULL
);
CREATE INDEX audit_events_workspace ON audit_events (workspace, seq);
CREATE INDEX audit_events_target ON audit_events (target, seq);

-- The chain head: the last event's seq and hash (0 and the genesis hash when
-- empty). Every write transaction locks it first (SELECT ... FOR UPDATE), which
-- serialises appends across transactions and server processes.
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash TEXT COLLATE "C" NOT NULL
);
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
