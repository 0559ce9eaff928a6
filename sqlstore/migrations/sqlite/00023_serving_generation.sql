-- The serving generation: one counter that every insert, update and
-- delete of an online endpoint (its keys are columns of its row) or an
-- online deployment advances in the same transaction, by the triggers
-- below. Every server's release controller reads this one row each tick
-- and, only when it moved, reconciles its data plane with the stored
-- endpoints: so an endpoint created, re-keyed, re-traffic'd or deleted
-- through one server reaches the others sharing the database. Triggers
-- rather than code in each write path, so that cascades (deleting a
-- workspace deletes its endpoints) and any future write path are covered
-- too — the pattern of auth_generation (00008).

-- +goose Up
CREATE TABLE serving_generation (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    gen INTEGER NOT NULL
) STRICT;
INSERT INTO serving_generation (id, gen) VALUES (1, 0);

-- +goose StatementBegin
CREATE TRIGGER online_endpoints_serving_insert AFTER INSERT ON online_endpoints BEGIN UPDATE serving_generation SET gen = gen + 1 WHERE id = 1; END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER online_endpoints_serving_update AFTER UPDATE ON online_endpoints BEGIN UPDATE serving_generation SET gen = gen + 1 WHERE id = 1; END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER online_endpoints_serving_delete AFTER DELETE ON online_endpoints BEGIN UPDATE serving_generation SET gen = gen + 1 WHERE id = 1; END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER online_deployments_serving_insert AFTER INSERT ON online_deployments BEGIN UPDATE serving_generation SET gen = gen + 1 WHERE id = 1; END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER online_deployments_serving_update AFTER UPDATE ON online_deployments BEGIN UPDATE serving_generation SET gen = gen + 1 WHERE id = 1; END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER online_deployments_serving_delete AFTER DELETE ON online_deployments BEGIN UPDATE serving_generation SET gen = gen + 1 WHERE id = 1; END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER online_endpoints_serving_insert;
DROP TRIGGER online_endpoints_serving_update;
DROP TRIGGER online_endpoints_serving_delete;
DROP TRIGGER online_deployments_serving_insert;
DROP TRIGGER online_deployments_serving_update;
DROP TRIGGER online_deployments_serving_delete;
DROP TABLE serving_generation;
