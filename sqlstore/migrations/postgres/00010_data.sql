-- Datastores and data asset versions (data.go). A workspace's named
-- datastores are rows here; its default one (workspaceblobstore, the
-- artifact store) is not: every workspace has it. A data version is
-- immutable once created, except its archived flag; num is the version's
-- number when the version is a positive decimal integer (NULL otherwise),
-- which auto-numbering reads. seq is creation order: @latest is the newest
-- version that is not archived. Rows go with their workspace. Times are
-- TIMESTAMPTZ; text is COLLATE "C", compared byte by byte.

-- +goose Up
CREATE TABLE datastores (
    workspace   TEXT COLLATE "C" NOT NULL REFERENCES workspaces (name) ON DELETE CASCADE,
    name        TEXT COLLATE "C" NOT NULL,
    type        TEXT COLLATE "C" NOT NULL,
    root        TEXT COLLATE "C" NOT NULL,
    description TEXT COLLATE "C" NOT NULL,
    tags        TEXT COLLATE "C" NOT NULL, -- a JSON object
    created_at  TIMESTAMPTZ NOT NULL,
    created_by  TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (workspace, name)
);

CREATE TABLE data_versions (
    seq           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace     TEXT COLLATE "C" NOT NULL REFERENCES workspaces (name) ON DELETE CASCADE,
    name          TEXT COLLATE "C" NOT NULL,
    version       TEXT COLLATE "C" NOT NULL,
    num           BIGINT, -- the version as a number, or NULL
    type          TEXT COLLATE "C" NOT NULL,
    path          TEXT COLLATE "C" NOT NULL,
    datastore     TEXT COLLATE "C" NOT NULL,
    digest        TEXT COLLATE "C" NOT NULL, -- of the manifest, '' when not hashed
    manifest_size BIGINT NOT NULL,
    size          BIGINT NOT NULL,
    file_count    BIGINT NOT NULL,
    description   TEXT COLLATE "C" NOT NULL,
    tags          TEXT COLLATE "C" NOT NULL, -- a JSON object
    profile       TEXT COLLATE "C" NOT NULL,
    archived      BIGINT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    created_by    TEXT COLLATE "C" NOT NULL,
    UNIQUE (workspace, name, version)
);
CREATE INDEX data_versions_name ON data_versions (workspace, name, seq);
CREATE INDEX data_versions_datastore ON data_versions (workspace, datastore);

-- +goose Down
DROP TABLE data_versions;
DROP TABLE datastores;
