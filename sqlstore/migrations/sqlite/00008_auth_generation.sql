-- The authentication generation: one counter that every change of what
-- authenticates a request (identities, tokens, role assignments,
-- workspaces) advances in the same transaction, by the triggers below. A
-- server caches verified tokens and workspaces and reads this one row per
-- request: when it moved, the cache is dropped, so a revocation made by any
-- process (another server, `hangar owner reset-token`) takes effect on the
-- very next request. Triggers rather than code in each write path, so that
-- cascades (deleting a workspace deletes its assignments) and any future
-- write path are covered too.

-- +goose Up
CREATE TABLE auth_generation (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    gen INTEGER NOT NULL
) STRICT;
INSERT INTO auth_generation (id, gen) VALUES (1, 0);

-- +goose StatementBegin
CREATE TRIGGER identities_auth_insert AFTER INSERT ON identities BEGIN UPDATE auth_generation SET gen = gen + 1 WHERE id = 1; END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER identities_auth_update AFTER UPDATE ON identities BEGIN UPDATE auth_generation SET gen = gen + 1 WHERE id = 1; END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER identities_auth_delete AFTER DELETE ON identities BEGIN UPDATE auth_generation SET gen = gen + 1 WHERE id = 1; END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER tokens_auth_insert AFTER INSERT ON tokens BEGIN UPDATE auth_generation SET gen = gen + 1 WHERE id = 1; END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER tokens_auth_update AFTER UPDATE ON tokens BEGIN UPDATE auth_generation SET gen = gen + 1 WHERE id = 1; END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER tokens_auth_delete AFTER DELETE ON tokens BEGIN UPDATE auth_generation SET gen = gen + 1 WHERE id = 1; END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER role_assignments_auth_insert AFTER INSERT ON role_assignments BEGIN UPDATE auth_generation SET gen = gen + 1 WHERE id = 1; END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER role_assignments_auth_update AFTER UPDATE ON role_assignments BEGIN UPDATE auth_generation SET gen = gen + 1 WHERE id = 1; END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER role_assignments_auth_delete AFTER DELETE ON role_assignments BEGIN UPDATE auth_generation SET gen = gen + 1 WHERE id = 1; END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER workspaces_auth_insert AFTER INSERT ON workspaces BEGIN UPDATE auth_generation SET gen = gen + 1 WHERE id = 1; END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER workspaces_auth_update AFTER UPDATE ON workspaces BEGIN UPDATE auth_generation SET gen = gen + 1 WHERE id = 1; END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER workspaces_auth_delete AFTER DELETE ON workspaces BEGIN UPDATE auth_generation SET gen = gen + 1 WHERE id = 1; END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER identities_auth_insert;
DROP TRIGGER identities_auth_update;
DROP TRIGGER identities_auth_delete;
DROP TRIGGER tokens_auth_insert;
DROP TRIGGER tokens_auth_update;
DROP TRIGGER tokens_auth_delete;
DROP TRIGGER role_assignments_auth_insert;
DROP TRIGGER role_assignments_auth_update;
DROP TRIGGER role_assignments_auth_delete;
DROP TRIGGER workspaces_auth_insert;
DROP TRIGGER workspaces_auth_update;
DROP TRIGGER workspaces_auth_delete;
DROP TABLE auth_generation;
