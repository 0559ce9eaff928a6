-- Schedules (schedule.go): job schedules and their firings. spec is the
-- schedule's definition (JSON, package schedule); tags a JSON object;
-- enabled is 0 or 1; next_due is NULL when the schedule never fires again.
-- A firing is claimed by inserting its row, unique per (schedule, due,
-- manual), in the transaction that moves next_due on: one firing per due
-- time even with several servers. job is '' until the firing's job is
-- stored (and stays '' when error says why there is none). Times are
-- INTEGER Unix microseconds.

-- +goose Up
CREATE TABLE schedules (
    workspace    TEXT NOT NULL REFERENCES workspaces (name) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    display_name TEXT NOT NULL,
    description  TEXT NOT NULL,
    tags         TEXT NOT NULL,
    trigger_text TEXT NOT NULL,
    spec         TEXT NOT NULL,
    enabled      INTEGER NOT NULL,
    next_due     INTEGER,
    last_fired   INTEGER,
    created_by   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_by   TEXT NOT NULL,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (workspace, name)
) STRICT;
CREATE INDEX schedules_due ON schedules (enabled, next_due);

CREATE TABLE schedule_firings (
    id        TEXT PRIMARY KEY,
    workspace TEXT NOT NULL,
    schedule  TEXT NOT NULL,
    due       INTEGER NOT NULL,
    manual    INTEGER NOT NULL,
    fired_at  INTEGER NOT NULL,
    fired_by  TEXT NOT NULL,
    job       TEXT NOT NULL,
    error     TEXT NOT NULL,
    UNIQUE (workspace, schedule, due, manual),
    FOREIGN KEY (workspace, schedule) REFERENCES schedules (workspace, name) ON DELETE CASCADE
) STRICT;
CREATE INDEX schedule_firings_list ON schedule_firings (workspace, schedule, fired_at);

-- +goose Down
DROP TABLE schedule_firings;
DROP TABLE schedules;
