-- Schedules (schedule.go): job schedules and their firings. spec is the
-- schedule's definition (JSON, package schedule); tags a JSON object;
-- enabled is 0 or 1; next_due is NULL when the schedule never fires again.
-- A firing is claimed by inserting its row, unique per (schedule, due,
-- manual), in the transaction that moves next_due on: one firing per due
-- time even with several servers. job is '' until the firing's job is
-- stored (and stays '' when error says why there is none). Times are
-- TIMESTAMPTZ; text is COLLATE "C", so names sort by bytes as in SQLite.

-- +goose Up
CREATE TABLE schedules (
    workspace    TEXT COLLATE "C" NOT NULL REFERENCES workspaces (name) ON DELETE CASCADE,
    name         TEXT COLLATE "C" NOT NULL,
    display_name TEXT COLLATE "C" NOT NULL,
    description  TEXT COLLATE "C" NOT NULL,
    tags         TEXT COLLATE "C" NOT NULL,
    trigger_text TEXT COLLATE "C" NOT NULL,
    spec         TEXT COLLATE "C" NOT NULL,
    enabled      INTEGER NOT NULL,
    next_due     TIMESTAMPTZ,
    last_fired   TIMESTAMPTZ,
    created_by   TEXT COLLATE "C" NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_by   TEXT COLLATE "C" NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (workspace, name)
);
CREATE INDEX schedules_due ON schedules (enabled, next_due);

CREATE TABLE schedule_firings (
    id        TEXT COLLATE "C" PRIMARY KEY,
    workspace TEXT COLLATE "C" NOT NULL,
    schedule  TEXT COLLATE "C" NOT NULL,
    due       TIMESTAMPTZ NOT NULL,
    manual    INTEGER NOT NULL,
    fired_at  TIMESTAMPTZ NOT NULL,
    fired_by  TEXT COLLATE "C" NOT NULL,
    job       TEXT COLLATE "C" NOT NULL,
    error     TEXT COLLATE "C" NOT NULL,
    UNIQUE (workspace, schedule, due, manual),
    FOREIGN KEY (workspace, schedule) REFERENCES schedules (workspace, name) ON DELETE CASCADE
);
CREATE INDEX schedule_firings_list ON schedule_firings (workspace, schedule, fired_at);

-- +goose Down
DROP TABLE schedule_firings;
DROP TABLE schedules;
