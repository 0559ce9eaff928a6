-- Metric points in chunks (metricchunk.go): a row holds some points of one
-- metric of one run, packed 24 bytes a point (timestamp, step, value as
-- IEEE-754 bits, each big-endian 64-bit), so a log-batch writes a row per
-- metric key instead of a row per point, and metrics/get-history reads a
-- few rows. Exact duplicates are dropped when read. The Go side of this
-- migration (migrateMetricChunks) moves the points of the metrics table
-- into chunks before it is dropped, and back on the way down.

-- +goose Up
CREATE TABLE metric_chunks (
    id     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run    BIGINT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    key    TEXT COLLATE "C" NOT NULL,
    points BYTEA NOT NULL
);
CREATE INDEX metric_chunks_run_key ON metric_chunks (run, key, id);
-- Packed floats hardly compress: stored out of line as they are, not
-- compressed on every write and read.
ALTER TABLE metric_chunks ALTER COLUMN points SET STORAGE EXTERNAL;

-- +goose Down
CREATE TABLE metrics (
    run       BIGINT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    key       TEXT COLLATE "C" NOT NULL,
    timestamp BIGINT NOT NULL,
    step      BIGINT NOT NULL,
    is_nan    SMALLINT NOT NULL,
    value     DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (run, key, timestamp, step, is_nan, value)
);
-- copy back
DROP TABLE metric_chunks;
