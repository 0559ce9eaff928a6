-- The model registry (MLflow's registered models and model versions), per
-- workspace. Models have a surrogate id, so a rename is one row and the
-- versions, tags and aliases follow it; deleting a model deletes them all
-- (a hard delete, as MLflow's). Times are BIGINT milliseconds since the
-- Unix epoch (MLflow's creation_timestamp and last_updated_timestamp), so
-- ordering by them agrees with what clients see. Text columns are
-- COLLATE "C": they compare and sort byte by byte, as on SQLite.

-- +goose Up
CREATE TABLE registered_models (
    -- An identity: an id is never given to another model, so rows that
    -- will name a model by id (lineage, approvals) never name a successor.
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace         TEXT COLLATE "C" NOT NULL REFERENCES workspaces (name) ON DELETE CASCADE,
    name              TEXT COLLATE "C" NOT NULL,
    description       TEXT COLLATE "C" NOT NULL DEFAULT '',
    user_id           TEXT COLLATE "C" NOT NULL DEFAULT '',
    creation_time     BIGINT NOT NULL,
    last_updated_time BIGINT NOT NULL,
    -- The highest version number the model ever gave: versions are
    -- numbered from it and a deleted version's number is not given again
    -- (MLflow: max over all versions, soft-deleted ones included, plus one).
    last_version      BIGINT NOT NULL DEFAULT 0,
    UNIQUE (workspace, name)
);
CREATE INDEX registered_models_updated ON registered_models (workspace, last_updated_time);

CREATE TABLE model_versions (
    model_id          BIGINT NOT NULL REFERENCES registered_models (id) ON DELETE CASCADE,
    version           BIGINT NOT NULL,
    creation_time     BIGINT NOT NULL,
    last_updated_time BIGINT NOT NULL,
    user_id           TEXT COLLATE "C" NOT NULL DEFAULT '',
    current_stage     TEXT COLLATE "C" NOT NULL DEFAULT 'None',
    description       TEXT COLLATE "C" NOT NULL DEFAULT '',
    source            TEXT COLLATE "C" NOT NULL,
    storage_location  TEXT COLLATE "C" NOT NULL DEFAULT '',
    -- NULL when the version names no run, so that, as in MLflow, a filter
    -- run_id != 'x' does not match it.
    run_id            TEXT COLLATE "C",
    run_link          TEXT COLLATE "C" NOT NULL DEFAULT '',
    logged_model_id   TEXT COLLATE "C" NOT NULL DEFAULT '', -- MLflow 3.x model_id
    status            TEXT COLLATE "C" NOT NULL DEFAULT 'READY',
    status_message    TEXT COLLATE "C" NOT NULL DEFAULT '',
    PRIMARY KEY (model_id, version)
);
CREATE INDEX model_versions_stage ON model_versions (model_id, current_stage, version);
CREATE INDEX model_versions_run ON model_versions (run_id);

CREATE TABLE registered_model_tags (
    model_id BIGINT NOT NULL REFERENCES registered_models (id) ON DELETE CASCADE,
    key      TEXT COLLATE "C" NOT NULL,
    value    TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (model_id, key)
);

CREATE TABLE model_version_tags (
    model_id BIGINT NOT NULL,
    version  BIGINT NOT NULL,
    key      TEXT COLLATE "C" NOT NULL,
    value    TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (model_id, version, key),
    FOREIGN KEY (model_id, version) REFERENCES model_versions (model_id, version) ON DELETE CASCADE
);

-- An alias points at one version; deleting the version deletes it.
CREATE TABLE registered_model_aliases (
    model_id BIGINT NOT NULL REFERENCES registered_models (id) ON DELETE CASCADE,
    alias    TEXT COLLATE "C" NOT NULL,
    version  BIGINT NOT NULL,
    PRIMARY KEY (model_id, alias),
    FOREIGN KEY (model_id, version) REFERENCES model_versions (model_id, version) ON DELETE CASCADE
);
CREATE INDEX registered_model_aliases_version ON registered_model_aliases (model_id, version);

-- +goose Down
DROP TABLE registered_model_aliases;
DROP TABLE model_version_tags;
DROP TABLE registered_model_tags;
DROP TABLE model_versions;
DROP TABLE registered_models;
