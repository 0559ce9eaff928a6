-- Endpoints (endpoint.go): online endpoints and their deployments, batch
-- endpoints and theirs. An endpoint's version is its etag, bumped by every
-- change (SetTraffic compares it). primary_key and secondary_key are the
-- endpoint's keys sealed with the store's Sealer (aad binds workspace,
-- endpoint and which key), never plain. tags, traffic, mirror_traffic,
-- spec and settings are JSON objects. Deployments go with their endpoint
-- (ON DELETE CASCADE); the store refuses to delete a deployment that takes
-- traffic. Times are TIMESTAMPTZ;
-- text is COLLATE "C", so names sort by bytes as in SQLite.

-- +goose Up
CREATE TABLE online_endpoints (
    workspace      TEXT COLLATE "C" NOT NULL REFERENCES workspaces (name) ON DELETE CASCADE,
    name           TEXT COLLATE "C" NOT NULL,
    description    TEXT COLLATE "C" NOT NULL,
    tags           TEXT COLLATE "C" NOT NULL,
    auth_mode      TEXT COLLATE "C" NOT NULL,
    traffic        TEXT COLLATE "C" NOT NULL,
    mirror_traffic TEXT COLLATE "C" NOT NULL,
    state          TEXT COLLATE "C" NOT NULL,
    version        BIGINT NOT NULL,
    primary_key    BYTEA NOT NULL,
    secondary_key  BYTEA NOT NULL,
    created_by     TEXT COLLATE "C" NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_by     TEXT COLLATE "C" NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (workspace, name)
);

CREATE TABLE online_deployments (
    workspace   TEXT COLLATE "C" NOT NULL,
    endpoint    TEXT COLLATE "C" NOT NULL,
    name        TEXT COLLATE "C" NOT NULL,
    description TEXT COLLATE "C" NOT NULL,
    tags        TEXT COLLATE "C" NOT NULL,
    spec        TEXT COLLATE "C" NOT NULL,
    state       TEXT COLLATE "C" NOT NULL,
    message     TEXT COLLATE "C" NOT NULL,
    version     BIGINT NOT NULL,
    created_by  TEXT COLLATE "C" NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_by  TEXT COLLATE "C" NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (workspace, endpoint, name),
    FOREIGN KEY (workspace, endpoint) REFERENCES online_endpoints (workspace, name) ON DELETE CASCADE
);

CREATE TABLE batch_endpoints (
    workspace          TEXT COLLATE "C" NOT NULL REFERENCES workspaces (name) ON DELETE CASCADE,
    name               TEXT COLLATE "C" NOT NULL,
    description        TEXT COLLATE "C" NOT NULL,
    tags               TEXT COLLATE "C" NOT NULL,
    default_deployment TEXT COLLATE "C" NOT NULL,
    state              TEXT COLLATE "C" NOT NULL,
    version            BIGINT NOT NULL,
    created_by         TEXT COLLATE "C" NOT NULL,
    created_at         TIMESTAMPTZ NOT NULL,
    updated_by         TEXT COLLATE "C" NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (workspace, name)
);

CREATE TABLE batch_deployments (
    workspace   TEXT COLLATE "C" NOT NULL,
    endpoint    TEXT COLLATE "C" NOT NULL,
    name        TEXT COLLATE "C" NOT NULL,
    description TEXT COLLATE "C" NOT NULL,
    tags        TEXT COLLATE "C" NOT NULL,
    spec        TEXT COLLATE "C" NOT NULL,
    settings    TEXT COLLATE "C" NOT NULL,
    state       TEXT COLLATE "C" NOT NULL,
    message     TEXT COLLATE "C" NOT NULL,
    version     BIGINT NOT NULL,
    created_by  TEXT COLLATE "C" NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_by  TEXT COLLATE "C" NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (workspace, endpoint, name),
    FOREIGN KEY (workspace, endpoint) REFERENCES batch_endpoints (workspace, name) ON DELETE CASCADE
);

-- +goose Down
DROP TABLE batch_deployments;
DROP TABLE batch_endpoints;
DROP TABLE online_deployments;
DROP TABLE online_endpoints;
