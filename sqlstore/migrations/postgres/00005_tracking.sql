-- Experiment tracking (MLflow's model): experiments per workspace, runs,
-- params, tags, every metric point and the latest per key, dataset inputs.
-- Times of these tables are BIGINT Unix milliseconds, as MLflow sends and
-- returns them. Runs have an internal integer id, so that the metric tables,
-- which grow by millions of rows, key on 8 bytes rather than the 32-character
-- run id. NaN metric values are stored as 0 with is_nan = 1, as on SQLite;
-- infinities are stored as they are. Text is COLLATE "C": compared and
-- sorted byte by byte, as MLflow's search semantics (mlflow/search) want.

-- +goose Up
CREATE TABLE experiments (
    workspace         TEXT COLLATE "C" NOT NULL REFERENCES workspaces (name) ON DELETE CASCADE,
    id                BIGINT NOT NULL, -- per workspace; 0 is Default
    name              TEXT COLLATE "C" NOT NULL,
    artifact_location TEXT COLLATE "C" NOT NULL,
    lifecycle_stage   TEXT COLLATE "C" NOT NULL,
    creation_time     BIGINT NOT NULL,
    last_update_time  BIGINT NOT NULL,
    PRIMARY KEY (workspace, id),
    UNIQUE (workspace, name)
);

CREATE TABLE experiment_tags (
    workspace     TEXT COLLATE "C" NOT NULL,
    experiment_id BIGINT NOT NULL,
    key           TEXT COLLATE "C" NOT NULL,
    value         TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (workspace, experiment_id, key),
    FOREIGN KEY (workspace, experiment_id) REFERENCES experiments (workspace, id) ON DELETE CASCADE
);

CREATE TABLE runs (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_uuid        TEXT COLLATE "C" NOT NULL UNIQUE,
    workspace       TEXT COLLATE "C" NOT NULL,
    experiment_id   BIGINT NOT NULL,
    name            TEXT COLLATE "C" NOT NULL,
    user_id         TEXT COLLATE "C" NOT NULL,
    status          TEXT COLLATE "C" NOT NULL,
    start_time      BIGINT NOT NULL,
    end_time        BIGINT,
    lifecycle_stage TEXT COLLATE "C" NOT NULL,
    artifact_uri    TEXT COLLATE "C" NOT NULL,
    deleted_time    BIGINT,
    FOREIGN KEY (workspace, experiment_id) REFERENCES experiments (workspace, id) ON DELETE CASCADE
);
CREATE INDEX runs_experiment ON runs (workspace, experiment_id, start_time);

CREATE TABLE params (
    run   BIGINT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    key   TEXT COLLATE "C" NOT NULL,
    value TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (run, key)
);

CREATE TABLE tags (
    run   BIGINT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    key   TEXT COLLATE "C" NOT NULL,
    value TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (run, key)
);

-- Every point; the key is MLflow's (an exact duplicate is kept once), in
-- the order metrics/get-history returns a metric.
CREATE TABLE metrics (
    run       BIGINT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    key       TEXT COLLATE "C" NOT NULL,
    timestamp BIGINT NOT NULL,
    step      BIGINT NOT NULL,
    is_nan    SMALLINT NOT NULL,
    value     DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (run, key, timestamp, step, is_nan, value)
);

-- The latest point per key (greatest step, then timestamp, then value),
-- kept in the transaction that logs: what runs show and searches compare.
CREATE TABLE latest_metrics (
    run       BIGINT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    key       TEXT COLLATE "C" NOT NULL,
    timestamp BIGINT NOT NULL,
    step      BIGINT NOT NULL,
    is_nan    SMALLINT NOT NULL,
    value     DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (run, key)
);
CREATE INDEX latest_metrics_key ON latest_metrics (key, value);

CREATE TABLE datasets (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace     TEXT COLLATE "C" NOT NULL,
    experiment_id BIGINT NOT NULL,
    name          TEXT COLLATE "C" NOT NULL,
    digest        TEXT COLLATE "C" NOT NULL,
    source_type   TEXT COLLATE "C" NOT NULL,
    source        TEXT COLLATE "C" NOT NULL,
    schema        TEXT COLLATE "C" NOT NULL,
    profile       TEXT COLLATE "C" NOT NULL,
    UNIQUE (workspace, experiment_id, name, digest),
    FOREIGN KEY (workspace, experiment_id) REFERENCES experiments (workspace, id) ON DELETE CASCADE
);

CREATE TABLE inputs (
    id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run     BIGINT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    dataset BIGINT NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
    UNIQUE (run, dataset)
);
CREATE INDEX inputs_dataset ON inputs (dataset);

CREATE TABLE input_tags (
    input BIGINT NOT NULL REFERENCES inputs (id) ON DELETE CASCADE,
    key   TEXT COLLATE "C" NOT NULL,
    value TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (input, key)
);

-- Every workspace has the Default experiment "0": those that exist get it
-- here, new ones when they are created.
INSERT INTO experiments (workspace, id, name, artifact_location, lifecycle_stage, creation_time, last_update_time)
SELECT name, 0, 'Default', 'mlflow-artifacts:/0', 'active',
       (extract(epoch FROM created_at) * 1000)::BIGINT, (extract(epoch FROM created_at) * 1000)::BIGINT
FROM workspaces;

-- +goose StatementBegin
CREATE FUNCTION workspaces_default_experiment() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO experiments (workspace, id, name, artifact_location, lifecycle_stage, creation_time, last_update_time)
    VALUES (NEW.name, 0, 'Default', 'mlflow-artifacts:/0', 'active',
            (extract(epoch FROM NEW.created_at) * 1000)::BIGINT, (extract(epoch FROM NEW.created_at) * 1000)::BIGINT);
    RETURN NEW;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER workspaces_default_experiment AFTER INSERT ON workspaces
    FOR EACH ROW EXECUTE FUNCTION workspaces_default_experiment();

-- +goose Down
DROP TRIGGER workspaces_default_experiment ON workspaces;
DROP FUNCTION workspaces_default_experiment();
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
