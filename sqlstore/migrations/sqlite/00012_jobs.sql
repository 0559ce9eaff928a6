-- Jobs (job.go): command jobs, pipeline jobs and their steps (parent is the
-- pipeline's name, '' for a top-level job). id orders jobs by creation:
-- top-level lists newest first, a pipeline's steps and the scheduler's
-- active jobs oldest first. tags, properties and outputs are JSON objects;
-- holder is '' when nobody holds the lease; archived is 0 or 1; log_size
-- is the number of bytes in job_logs. Times are INTEGER Unix microseconds.
--
-- job_logs holds a job's log as chunks in append order; off is the byte
-- offset of a chunk's first byte in the log.

-- +goose Up
CREATE TABLE jobs (
    id              INTEGER PRIMARY KEY,
    workspace       TEXT NOT NULL REFERENCES workspaces (name) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    type            TEXT NOT NULL,
    parent          TEXT NOT NULL,
    step            TEXT NOT NULL,
    display_name    TEXT NOT NULL,
    experiment_name TEXT NOT NULL,
    description     TEXT NOT NULL,
    tags            TEXT NOT NULL,
    properties      TEXT NOT NULL,
    compute         TEXT NOT NULL,
    status          TEXT NOT NULL,
    spec            TEXT NOT NULL,
    reuse_key       TEXT NOT NULL,
    reused_from     TEXT NOT NULL,
    outputs         TEXT NOT NULL,
    experiment_id   TEXT NOT NULL,
    run_id          TEXT NOT NULL,
    error_message   TEXT NOT NULL,
    attempt         INTEGER NOT NULL,
    holder          TEXT NOT NULL,
    lease_expires   INTEGER,
    archived        INTEGER NOT NULL,
    log_size        INTEGER NOT NULL,
    created_by      TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    started_at      INTEGER,
    ended_at        INTEGER,
    UNIQUE (workspace, name)
) STRICT;
CREATE INDEX jobs_parent ON jobs (workspace, parent, id);
CREATE INDEX jobs_reuse ON jobs (workspace, reuse_key, ended_at);
CREATE INDEX jobs_status ON jobs (status, id);

CREATE TABLE job_logs (
    job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    off    INTEGER NOT NULL,
    data   BLOB NOT NULL,
    PRIMARY KEY (job_id, off)
) STRICT;

-- +goose Down
DROP TABLE job_logs;
DROP TABLE jobs;
