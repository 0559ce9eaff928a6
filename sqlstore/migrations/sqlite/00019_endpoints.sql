-- Endpoints (endpoint.go): online endpoints and their deployments, batch
-- endpoints and theirs. An endpoint's version is its etag, bumped by every
-- change (SetTraffic compares it). primary_key and secondary_key are the
-- endpoint's keys sealed with the store's Sealer (aad binds workspace,
-- endpoint and which key), never plain. tags, traffic, mirror_traffic,
-- spec and settings are JSON objects. Deployments go with their endpoint
-- (ON DELETE CASCADE); the store refuses to delete a deployment that takes
-- traffic. Times are INTEGER Unix microseconds.

-- +goose Up
CREATE TABLE online_endpoints (
    workspace      TEXT NOT NULL REFERENCES workspaces (name) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    description    TEXT NOT NULL,
    tags           TEXT NOT NULL,
    auth_mode      TEXT NOT NULL,
    traffic        TEXT NOT NULL,
    mirror_traffic TEXT NOT NULL,
    state          TEXT NOT NULL,
    version        INTEGER NOT NULL,
    primary_key    BLOB NOT NULL,
    secondary_key  BLOB NOT NULL,
    created_by     TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_by     TEXT NOT NULL,
    updated_at     INTEGER NOT NULL,
    PRIMARY KEY (workspace, name)
);

CREATE TABLE online_deployments (
    workspace   TEXT NOT NULL,
    endpoint    TEXT NOT NULL,
    name        TEXT NOT NULL,
    description TEXT NOT NULL,
    tags        TEXT NOT NULL,
    spec        TEXT NOT NULL,
    state       TEXT NOT NULL,
    message     TEXT NOT NULL,
    version     INTEGER NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_by  TEXT NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (workspace, endpoint, name),
    FOREIGN KEY (workspace, endpoint) REFERENCES online_endpoints (workspace, name) ON DELETE CASCADE
);

CREATE TABLE batch_endpoints (
    workspace          TEXT NOT NULL REFERENCES workspaces (name) ON DELETE CASCADE,
    name               TEXT NOT NULL,
    description        TEXT NOT NULL,
    tags               TEXT NOT NULL,
    default_deployment TEXT NOT NULL,
    state              TEXT NOT NULL,
    version            INTEGER NOT NULL,
    created_by         TEXT NOT NULL,
    created_at         INTEGER NOT NULL,
    updated_by         TEXT NOT NULL,
    updated_at         INTEGER NOT NULL,
    PRIMARY KEY (workspace, name)
);

CREATE TABLE batch_deployments (
    workspace   TEXT NOT NULL,
    endpoint    TEXT NOT NULL,
    name        TEXT NOT NULL,
    description TEXT NOT NULL,
    tags        TEXT NOT NULL,
    spec        TEXT NOT NULL,
    settings    TEXT NOT NULL,
    state       TEXT NOT NULL,
    message     TEXT NOT NULL,
    version     INTEGER NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_by  TEXT NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (workspace, endpoint, name),
    FOREIGN KEY (workspace, endpoint) REFERENCES batch_endpoints (workspace, name) ON DELETE CASCADE
);

-- +goose Down
DROP TABLE batch_deployments;
DROP TABLE batch_endpoints;
DROP TABLE online_deployments;
DROP TABLE online_endpoints;
