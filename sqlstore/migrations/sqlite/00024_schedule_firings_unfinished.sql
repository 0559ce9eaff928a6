-- Firings claimed and not finished: no job recorded and no error. A
-- server that stops between claiming a firing and submitting its job
-- leaves one; package schedule resumes it (Firer.ResumeUnfinished), and
-- this partial index finds them without reading every firing.

-- +goose Up
CREATE INDEX schedule_firings_unfinished ON schedule_firings (fired_at) WHERE job = '' AND error = '';

-- +goose Down
DROP INDEX schedule_firings_unfinished;
