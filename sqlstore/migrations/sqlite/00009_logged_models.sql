-- MLflow 3.x logged models (loggedmodel.go): a model of an experiment with
-- its params and tags, and the models each run produced (runs/outputs).
-- Ids are MLflow's m-<32 hex>, unique across workspaces; a model belongs to
-- its experiment and goes with it. Deletion is soft (lifecycle_stage), as in
-- MLflow. Times are INTEGER Unix milliseconds.

-- +goose Up
CREATE TABLE logged_models (
    id                TEXT PRIMARY KEY,
    workspace         TEXT NOT NULL,
    experiment_id     INTEGER NOT NULL,
    name              TEXT NOT NULL,
    model_type        TEXT NOT NULL,
    source_run_id     TEXT NOT NULL, -- '' for none
    status            TEXT NOT NULL,
    status_message    TEXT NOT NULL,
    artifact_location TEXT NOT NULL,
    lifecycle_stage   TEXT NOT NULL,
    creator           TEXT NOT NULL,
    creation_time     INTEGER NOT NULL,
    last_updated_time INTEGER NOT NULL,
    FOREIGN KEY (workspace, experiment_id) REFERENCES experiments (workspace, id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;
CREATE INDEX logged_models_experiment ON logged_models (workspace, experiment_id, creation_time);

CREATE TABLE logged_model_params (
    model_id TEXT NOT NULL REFERENCES logged_models (id) ON DELETE CASCADE,
    key      TEXT NOT NULL,
    value    TEXT NOT NULL,
    PRIMARY KEY (model_id, key)
) STRICT, WITHOUT ROWID;

CREATE TABLE logged_model_tags (
    model_id TEXT NOT NULL REFERENCES logged_models (id) ON DELETE CASCADE,
    key      TEXT NOT NULL,
    value    TEXT NOT NULL,
    PRIMARY KEY (model_id, key)
) STRICT, WITHOUT ROWID;

-- A run's model outputs; seq keeps the order they were linked in.
CREATE TABLE run_model_outputs (
    seq      INTEGER PRIMARY KEY,
    run      INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    model_id TEXT NOT NULL REFERENCES logged_models (id) ON DELETE CASCADE,
    step     INTEGER NOT NULL,
    UNIQUE (run, model_id, step)
) STRICT;
CREATE INDEX run_model_outputs_model ON run_model_outputs (model_id);

-- +goose Down
DROP TABLE run_model_outputs;
DROP TABLE logged_model_tags;
DROP TABLE logged_model_params;
DROP TABLE logged_models;
