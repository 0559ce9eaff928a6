-- Points of metrics logged with a logged model's id (MLflow 3.x: a metric
-- of log-batch or log-metric naming model_id, and the dataset it was
-- computed on); each is also a point of its run's metric. seq keeps the
-- order they were logged in. dataset_name and dataset_digest are '' when
-- not given.

-- +goose Up
CREATE TABLE logged_model_metrics (
    seq            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    model_id       TEXT COLLATE "C" NOT NULL REFERENCES logged_models (id) ON DELETE CASCADE,
    key            TEXT COLLATE "C" NOT NULL,
    timestamp      BIGINT NOT NULL,
    step           BIGINT NOT NULL,
    is_nan         SMALLINT NOT NULL,
    value          DOUBLE PRECISION NOT NULL,
    run            BIGINT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    dataset_name   TEXT COLLATE "C" NOT NULL,
    dataset_digest TEXT COLLATE "C" NOT NULL
);
CREATE INDEX logged_model_metrics_model ON logged_model_metrics (model_id, key, seq);

-- +goose Down
DROP TABLE logged_model_metrics;
