-- Environments and command components (environment.go, component.go):
-- immutable versions of a name in a workspace. id orders the versions of
-- every name by creation (latest = highest id not archived); version_num is
-- the version label's number when it is one (EnvComponentVersionNumber),
-- NULL otherwise, for auto-numbering. build_context and code are manifest
-- digests the workspace owned when the version was created ('' for none).
-- tags is a JSON object; archived and is_deterministic are 0 or 1. Times
-- are TIMESTAMPTZ; text is COLLATE "C", so names sort by bytes as in SQLite.

-- +goose Up
CREATE TABLE environment_versions (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace     TEXT COLLATE "C" NOT NULL REFERENCES workspaces (name) ON DELETE CASCADE,
    name          TEXT COLLATE "C" NOT NULL,
    version       TEXT COLLATE "C" NOT NULL,
    version_num   BIGINT,
    image         TEXT COLLATE "C" NOT NULL,
    conda_file    TEXT COLLATE "C" NOT NULL,
    build_context TEXT COLLATE "C" NOT NULL,
    description   TEXT COLLATE "C" NOT NULL,
    tags          TEXT COLLATE "C" NOT NULL,
    hash          TEXT COLLATE "C" NOT NULL,
    archived      INTEGER NOT NULL,
    created_by    TEXT COLLATE "C" NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    UNIQUE (workspace, name, version)
);
CREATE INDEX environment_versions_name ON environment_versions (workspace, name, id);

CREATE TABLE component_versions (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace        TEXT COLLATE "C" NOT NULL REFERENCES workspaces (name) ON DELETE CASCADE,
    name             TEXT COLLATE "C" NOT NULL,
    version          TEXT COLLATE "C" NOT NULL,
    version_num      BIGINT,
    display_name     TEXT COLLATE "C" NOT NULL,
    description      TEXT COLLATE "C" NOT NULL,
    tags             TEXT COLLATE "C" NOT NULL,
    spec             TEXT COLLATE "C" NOT NULL,
    code             TEXT COLLATE "C" NOT NULL,
    is_deterministic INTEGER NOT NULL,
    hash             TEXT COLLATE "C" NOT NULL,
    archived         INTEGER NOT NULL,
    created_by       TEXT COLLATE "C" NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    UNIQUE (workspace, name, version)
);
CREATE INDEX component_versions_name ON component_versions (workspace, name, id);

-- +goose Down
DROP TABLE component_versions;
DROP TABLE environment_versions;
