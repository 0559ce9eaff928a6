-- MLflow 3.x logged models (loggedmodel.go): a model of an experiment with
-- its params and tags, and the models each run produced (runs/outputs).
-- Ids are MLflow's m-<32 hex>, unique across workspaces; a model belongs to
-- its experiment and goes with it. Deletion is soft (lifecycle_stage), as in
-- MLflow. Times are BIGINT Unix milliseconds; text is COLLATE "C", compared
-- and sorted byte by byte as the search semantics want.

-- +goose Up
CREATE TABLE logged_models (
    id                TEXT COLLATE "C" PRIMARY KEY,
    workspace         TEXT COLLATE "C" NOT NULL,
    experiment_id     BIGINT NOT NULL,
    name              TEXT COLLATE "C" NOT NULL,
    model_type        TEXT COLLATE "C" NOT NULL,
    source_run_id     TEXT COLLATE "C" NOT NULL, -- '' for none
    status            TEXT COLLATE "C" NOT NULL,
    status_message    TEXT COLLATE "C" NOT NULL,
    artifact_location TEXT COLLATE "C" NOT NULL,
    lifecycle_stage   TEXT COLLATE "C" NOT NULL,
    creator           TEXT COLLATE "C" NOT NULL,
    creation_time     BIGINT NOT NULL,
    last_updated_time BIGINT NOT NULL,
    FOREIGN KEY (workspace, experiment_id) REFERENCES experiments (workspace, id) ON DELETE CASCADE
);
CREATE INDEX logged_models_experiment ON logged_models (workspace, experiment_id, creation_time);

CREATE TABLE logged_model_params (
    model_id TEXT COLLATE "C" NOT NULL REFERENCES logged_models (id) ON DELETE CASCADE,
    key      TEXT COLLATE "C" NOT NULL,
    value    TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (model_id, key)
);

CREATE TABLE logged_model_tags (
    model_id TEXT COLLATE "C" NOT NULL REFERENCES logged_models (id) ON DELETE CASCADE,
    key      TEXT COLLATE "C" NOT NULL,
    value    TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (model_id, key)
);

-- A run's model outputs; seq keeps the order they were linked in.
CREATE TABLE run_model_outputs (
    seq      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run      BIGINT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    model_id TEXT COLLATE "C" NOT NULL REFERENCES logged_models (id) ON DELETE CASCADE,
    step     BIGINT NOT NULL,
    UNIQUE (run, model_id, step)
);
CREATE INDEX run_model_outputs_model ON run_model_outputs (model_id);

-- +goose Down
DROP TABLE run_model_outputs;
DROP TABLE logged_model_tags;
DROP TABLE logged_model_params;
DROP TABLE logged_models;
