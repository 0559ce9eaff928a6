-- Environment variables and the Dockerfile path of environment versions
-- (environment.go): variables is a JSON object of names to values, '{}'
-- for none; dockerfile_path is '' for the default. Versions created before
-- keep both empty, which leaves their hash (format hangar-environment-v1)
-- unchanged.

-- +goose Up
ALTER TABLE environment_versions ADD COLUMN variables TEXT COLLATE "C" NOT NULL DEFAULT '{}';
ALTER TABLE environment_versions ADD COLUMN dockerfile_path TEXT COLLATE "C" NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE environment_versions DROP COLUMN dockerfile_path;
ALTER TABLE environment_versions DROP COLUMN variables;
