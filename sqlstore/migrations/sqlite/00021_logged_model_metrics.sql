-- Points of metrics logged with a logged model's id (MLflow 3.x: a metric
-- of log-batch or log-metric naming model_id, and the dataset it was
-- computed on); each is also a point of its run's metric. seq keeps the
-- order they were logged in. dataset_name and dataset_digest are '' when
-- not given.

-- +goose Up
CREATE TABLE logged_model_metrics (
    seq            INTEGER PRIMARY KEY,
    model_id       TEXT NOT NULL REFERENCES logged_models (id) ON DELETE CASCADE,
    key            TEXT NOT NULL,
    timestamp      INTEGER NOT NULL,
    step           INTEGER NOT NULL,
    is_nan         INTEGER NOT NULL,
    value          REAL NOT NULL,
    run            INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    dataset_name   TEXT NOT NULL,
    dataset_digest TEXT NOT NULL
) STRICT;
CREATE INDEX logged_model_metrics_model ON logged_model_metrics (model_id, key, seq);

-- +goose Down
DROP TABLE logged_model_metrics;
