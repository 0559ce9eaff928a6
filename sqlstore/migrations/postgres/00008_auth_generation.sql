-- The authentication generation: one counter that every change of what
-- authenticates a request (identities, tokens, role assignments,
-- workspaces) advances in the same transaction, by the triggers below. A
-- server caches verified tokens and workspaces and reads this one row per
-- request: when it moved, the cache is dropped, so a revocation made by any
-- process (another server on this database, `hangar owner reset-token`)
-- takes effect on the very next request. Triggers rather than code in each
-- write path, so that cascades (deleting a workspace deletes its
-- assignments) and any future write path are covered too. The row lock the
-- UPDATE takes serialises such changes, which the audit chain head does
-- already.

-- +goose Up
CREATE TABLE auth_generation (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    gen BIGINT NOT NULL
);
INSERT INTO auth_generation (id, gen) VALUES (1, 0);

-- +goose StatementBegin
CREATE FUNCTION hangar_bump_auth_generation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE auth_generation SET gen = gen + 1 WHERE id = 1;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER identities_auth_generation AFTER INSERT OR UPDATE OR DELETE ON identities
    FOR EACH STATEMENT EXECUTE FUNCTION hangar_bump_auth_generation();
CREATE TRIGGER tokens_auth_generation AFTER INSERT OR UPDATE OR DELETE ON tokens
    FOR EACH STATEMENT EXECUTE FUNCTION hangar_bump_auth_generation();
CREATE TRIGGER role_assignments_auth_generation AFTER INSERT OR UPDATE OR DELETE ON role_assignments
    FOR EACH STATEMENT EXECUTE FUNCTION hangar_bump_auth_generation();
CREATE TRIGGER workspaces_auth_generation AFTER INSERT OR UPDATE OR DELETE ON workspaces
    FOR EACH STATEMENT EXECUTE FUNCTION hangar_bump_auth_generation();

-- +goose Down
DROP TRIGGER workspaces_auth_generation ON workspaces;
DROP TRIGGER role_assignments_auth_generation ON role_assignments;
DROP TRIGGER tokens_auth_generation ON tokens;
DROP TRIGGER identities_auth_generation ON identities;
DROP FUNCTION hangar_bump_auth_generation();
DROP TABLE auth_generation;
