-- Environment variables of environment versions (environment.go): a JSON
-- object of names to values, '{}' for none and for every version created
-- before variables existed (whose hash, format hangar-environment-v1, is
-- unchanged by an empty set).

-- +goose Up
ALTER TABLE environment_versions ADD COLUMN variables TEXT NOT NULL DEFAULT '{}';

-- +goose Down
ALTER TABLE environment_versions DROP COLUMN variables;
