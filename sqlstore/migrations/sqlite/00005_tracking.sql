-- Experiment tracking (MLflow's model): experiments per workspace, runs,
-- params, tags, every metric point and the latest per key, dataset inputs.
-- Times of these tables are INTEGER Unix milliseconds, as MLflow sends and
-- returns them. Runs have an internal integer id, so that the metric tables,
-- which grow by millions of rows, key on 8 bytes rather than the 32-character
-- run id. NaN metric values are stored as 0 with is_nan = 1 (SQLite reads a
-- stored NaN back as NULL); infinities are stored as they are.

-- +goose Up
CREATE TABLE experiments (
    workspace         TEXT NOT NULL REFERENCES workspaces (name) ON DELETE CASCADE,
    id                INTEGER NOT NULL, -- per workspace; 0 is Default
    name              TEXT NOT NULL,
    artifact_location TEXT NOT NULL,
    lifecycle_stage   TEXT NOT NULL,
    creation_time     INTEGER NOT NULL,
    last_update_time  INTEGER NOT NULL,
    PRIMARY KEY (workspace, id),
    UNIQUE (workspace, name)
) STRICT;

CREATE TABLE experiment_tags (
    workspace     TEXT NOT NULL,
    experiment_id INTEGER NOT NULL,
    key           TEXT NOT NULL,
    value         TEXT NOT NULL,
    PRIMARY KEY (workspace, experiment_id, key),
    FOREIGN KEY (workspace, experiment_id) REFERENCES experiments (workspace, id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

CREATE TABLE runs (
    id              INTEGER PRIMARY KEY,
    run_uuid        TEXT NOT NULL UNIQUE,
    workspace       TEXT NOT NULL,
    experiment_id   INTEGER NOT NULL,
    name            TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    status          TEXT NOT NULL,
    start_time      INTEGER NOT NULL,
    end_time        INTEGER,
    lifecycle_stage TEXT NOT NULL,
    artifact_uri    TEXT NOT NULL,
    deleted_time    INTEGER,
    FOREIGN KEY (workspace, experiment_id) REFERENCES experiments (workspace, id) ON DELETE CASCADE
) STRICT;
CREATE INDEX runs_experiment ON runs (workspace, experiment_id, start_time);

CREATE TABLE params (
    run   INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    key   TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (run, key)
) STRICT, WITHOUT ROWID;

CREATE TABLE tags (
    run   INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    key   TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (run, key)
) STRICT, WITHOUT ROWID;

-- Every point; the key is MLflow's (an exact duplicate is kept once), in
-- the order metrics/get-history returns a metric.
CREATE TABLE metrics (
    run       INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    key       TEXT NOT NULL,
    timestamp INTEGER NOT NULL,
    step      INTEGER NOT NULL,
    is_nan    INTEGER NOT NULL,
    value     REAL NOT NULL,
    PRIMARY KEY (run, key, timestamp, step, is_nan, value)
) STRICT, WITHOUT ROWID;

-- The latest point per key (greatest step, then timestamp, then value),
-- kept in the transaction that logs: what runs show and searches compare.
CREATE TABLE latest_metrics (
    run       INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    key       TEXT NOT NULL,
    timestamp INTEGER NOT NULL,
    step      INTEGER NOT NULL,
    is_nan    INTEGER NOT NULL,
    value     REAL NOT NULL,
    PRIMARY KEY (run, key)
) STRICT, WITHOUT ROWID;
CREATE INDEX latest_metrics_key ON latest_metrics (key, value);

CREATE TABLE datasets (
    id            INTEGER PRIMARY KEY,
    workspace     TEXT NOT NULL,
    experiment_id INTEGER NOT NULL,
    name          TEXT NOT NULL,
    digest        TEXT NOT NULL,
    source_type   TEXT NOT NULL,
    source        TEXT NOT NULL,
    schema        TEXT NOT NULL,
    profile       TEXT NOT NULL,
    UNIQUE (workspace, experiment_id, name, digest),
    FOREIGN KEY (workspace, experiment_id) REFERENCES experiments (workspace, id) ON DELETE CASCADE
) STRICT;

CREATE TABLE inputs (
    id      INTEGER PRIMARY KEY,
    run     INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    dataset INTEGER NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
    UNIQUE (run, dataset)
) STRICT;
CREATE INDEX inputs_dataset ON inputs (dataset);

CREATE TABLE input_tags (
    input INTEGER NOT NULL REFERENCES inputs (id) ON DELETE CASCADE,
    key   TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (input, key)
) STRICT, WITHOUT ROWID;

-- Every workspace has the Default experiment "0": those that exist get it
-- here, new ones when they are created.
INSERT INTO experiments (workspace, id, name, artifact_location, lifecycle_stage, creation_time, last_update_time)
SELECT name, 0, 'Default', 'mlflow-artifacts:/0', 'active', created_at / 1000, created_at / 1000 FROM workspaces;

-- +goose StatementBegin
CREATE TRIGGER workspaces_default_experiment AFTER INSERT ON workspaces
BEGIN
    INSERT INTO experiments (workspace, id, name, artifact_location, lifecycle_stage, creation_time, last_update_time)
    VALUES (NEW.name, 0, 'Default', 'mlflow-artifacts:/0', 'active', NEW.created_at / 1000, NEW.created_at / 1000);
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER workspaces_default_experiment;
DROP TABLE input_tags;
DROP TABLE inputs;
DROP TABLE datasets;
DROP TABLE latest_metrics;
DROP TABLE metrics;
DROP TABLE tags;
DROP TABLE params;
DROP TABLE runs;
DROP TABLE experiment_tags;
DROP TABLE experiments;
