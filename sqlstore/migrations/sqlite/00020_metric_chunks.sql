-- Metric points in chunks (metricchunk.go): a row holds some points of one
-- metric of one run, packed 24 bytes a point (timestamp, step, value as
-- IEEE-754 bits, each big-endian 64-bit), so a log-batch writes a row per
-- metric key instead of a row per point, and metrics/get-history reads a
-- few rows. Exact duplicates are dropped when read. The Go side of this
-- migration (migrateMetricChunks) moves the points of the metrics table
-- into chunks before it is dropped, and back on the way down.

-- +goose Up
CREATE TABLE metric_chunks (
    id     INTEGER PRIMARY KEY,
    run    INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    key    TEXT NOT NULL,
    points BLOB NOT NULL
) STRICT;
CREATE INDEX metric_chunks_run_key ON metric_chunks (run, key, id);

-- +goose Down
CREATE TABLE metrics (
    run       INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    key       TEXT NOT NULL,
    timestamp INTEGER NOT NULL,
    step      INTEGER NOT NULL,
    is_nan    INTEGER NOT NULL,
    value     REAL NOT NULL,
    PRIMARY KEY (run, key, timestamp, step, is_nan, value)
) STRICT, WITHOUT ROWID;
-- copy back
DROP TABLE metric_chunks;
