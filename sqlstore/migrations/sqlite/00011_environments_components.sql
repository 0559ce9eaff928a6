-- Environments and command components (environment.go, component.go):
-- immutable versions of a name in a workspace. id orders the versions of
-- every name by creation (latest = highest id not archived); version_num is
-- the version label's number when it is one (EnvComponentVersionNumber),
-- NULL otherwise, for auto-numbering. build_context and code are manifest
-- digests the workspace owned when the version was created ('' for none).
-- tags is a JSON object; archived and is_deterministic are 0 or 1. Times are INTEGER Unix
-- microseconds, as every created_at.

-- +goose Up
CREATE TABLE environment_versions (
    id            INTEGER PRIMARY KEY,
    workspace     TEXT NOT NULL REFERENCES workspaces (name) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    version       TEXT NOT NULL,
    version_num   INTEGER,
    image         TEXT NOT NULL,
    conda_file    TEXT NOT NULL,
    build_context TEXT NOT NULL,
    description   TEXT NOT NULL,
    tags          TEXT NOT NULL,
    hash          TEXT NOT NULL,
    archived      INTEGER NOT NULL,
    created_by    TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    UNIQUE (workspace, name, version)
) STRICT;
CREATE INDEX environment_versions_name ON environment_versions (workspace, name, id);

CREATE TABLE component_versions (
    id               INTEGER PRIMARY KEY,
    workspace        TEXT NOT NULL REFERENCES workspaces (name) ON DELETE CASCADE,
    name             TEXT NOT NULL,
    version          TEXT NOT NULL,
    version_num      INTEGER,
    display_name     TEXT NOT NULL,
    description      TEXT NOT NULL,
    tags             TEXT NOT NULL,
    spec             TEXT NOT NULL,
    code             TEXT NOT NULL,
    is_deterministic INTEGER NOT NULL,
    hash             TEXT NOT NULL,
    archived         INTEGER NOT NULL,
    created_by       TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    UNIQUE (workspace, name, version)
) STRICT;
CREATE INDEX component_versions_name ON component_versions (workspace, name, id);

-- +goose Down
DROP TABLE component_versions;
DROP TABLE environment_versions;
