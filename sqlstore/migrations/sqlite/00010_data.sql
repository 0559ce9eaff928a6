-- Datastores and data asset versions (data.go). A workspace's named
-- datastores are rows here; its default one (workspaceblobstore, the
-- artifact store) is not: every workspace has it. A data version is
-- immutable once created, except its archived flag; num is the version's
-- number when the version is a positive decimal integer (NULL otherwise),
-- which auto-numbering reads. seq is creation order: @latest is the newest
-- version that is not archived. Rows go with their workspace. Times are
-- INTEGER Unix microseconds.

-- +goose Up
CREATE TABLE datastores (
    workspace   TEXT NOT NULL REFERENCES workspaces (name) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    type        TEXT NOT NULL,
    root        TEXT NOT NULL,
    description TEXT NOT NULL,
    tags        TEXT NOT NULL, -- a JSON object
    created_at  INTEGER NOT NULL,
    created_by  TEXT NOT NULL,
    PRIMARY KEY (workspace, name)
) STRICT;

CREATE TABLE data_versions (
    seq           INTEGER PRIMARY KEY,
    workspace     TEXT NOT NULL REFERENCES workspaces (name) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    version       TEXT NOT NULL,
    num           INTEGER, -- the version as a number, or NULL
    type          TEXT NOT NULL,
    path          TEXT NOT NULL,
    datastore     TEXT NOT NULL,
    digest        TEXT NOT NULL, -- of the manifest, '' when not hashed
    manifest_size INTEGER NOT NULL,
    size          INTEGER NOT NULL,
    file_count    INTEGER NOT NULL,
    description   TEXT NOT NULL,
    tags          TEXT NOT NULL, -- a JSON object
    profile       TEXT NOT NULL,
    archived      INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    created_by    TEXT NOT NULL,
    UNIQUE (workspace, name, version)
) STRICT;
CREATE INDEX data_versions_name ON data_versions (workspace, name, seq);
CREATE INDEX data_versions_datastore ON data_versions (workspace, datastore);

-- +goose Down
DROP TABLE data_versions;
DROP TABLE datastores;
