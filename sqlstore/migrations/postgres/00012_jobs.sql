-- Jobs (job.go): command jobs, pipeline jobs and their steps (parent is the
-- pipeline's name, '' for a top-level job). id orders jobs by creation:
-- top-level lists newest first, a pipeline's steps and the scheduler's
-- active jobs oldest first. tags, properties and outputs are JSON objects;
-- holder is '' when nobody holds the lease; archived is 0 or 1; log_size
-- is the number of bytes in job_logs. Times are TIMESTAMPTZ;
-- text is COLLATE "C", so names sort by bytes as in SQLite.
--
-- job_logs holds a job's log as chunks in append order; off is the byte
-- offset of a chunk's first byte in the log.

-- +goose Up
CREATE TABLE jobs (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace       TEXT COLLATE "C" NOT NULL REFERENCES workspaces (name) ON DELETE CASCADE,
    name            TEXT COLLATE "C" NOT NULL,
    type            TEXT COLLATE "C" NOT NULL,
    parent          TEXT COLLATE "C" NOT NULL,
    step            TEXT COLLATE "C" NOT NULL,
    display_name    TEXT COLLATE "C" NOT NULL,
    experiment_name TEXT COLLATE "C" NOT NULL,
    description     TEXT COLLATE "C" NOT NULL,
    tags            TEXT COLLATE "C" NOT NULL,
    properties      TEXT COLLATE "C" NOT NULL,
    compute         TEXT COLLATE "C" NOT NULL,
    status          TEXT COLLATE "C" NOT NULL,
    spec            TEXT COLLATE "C" NOT NULL,
    reuse_key       TEXT COLLATE "C" NOT NULL,
    reused_from     TEXT COLLATE "C" NOT NULL,
    outputs         TEXT COLLATE "C" NOT NULL,
    experiment_id   TEXT COLLATE "C" NOT NULL,
    run_id          TEXT COLLATE "C" NOT NULL,
    error_message   TEXT COLLATE "C" NOT NULL,
    attempt         INTEGER NOT NULL,
    holder          TEXT COLLATE "C" NOT NULL,
    lease_expires   TIMESTAMPTZ,
    archived        INTEGER NOT NULL,
    log_size        BIGINT NOT NULL,
    created_by      TEXT COLLATE "C" NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    started_at      TIMESTAMPTZ,
    ended_at        TIMESTAMPTZ,
    UNIQUE (workspace, name)
);
CREATE INDEX jobs_parent ON jobs (workspace, parent, id);
CREATE INDEX jobs_reuse ON jobs (workspace, reuse_key, ended_at);
CREATE INDEX jobs_status ON jobs (status, id);

CREATE TABLE job_logs (
    job_id BIGINT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    off    BIGINT NOT NULL,
    data   BYTEA NOT NULL,
    PRIMARY KEY (job_id, off)
);

-- +goose Down
DROP TABLE job_logs;
DROP TABLE jobs;
