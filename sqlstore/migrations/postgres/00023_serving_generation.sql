-- The serving generation: one counter that every insert, update and
-- delete of an online endpoint (its keys are columns of its row) or an
-- online deployment advances in the same transaction, by the triggers
-- below. Every server's release controller reads this one row each tick
-- and, only when it moved, reconciles its data plane with the stored
-- endpoints: so an endpoint created, re-keyed, re-traffic'd or deleted
-- through one server reaches the others sharing the database. Triggers
-- rather than code in each write path, so that cascades (deleting a
-- workspace deletes its endpoints) and any future write path are covered
-- too — the pattern of auth_generation (00008). The row lock the UPDATE
-- takes serialises such changes, which the audit chain head does already.

-- +goose Up
CREATE TABLE serving_generation (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    gen BIGINT NOT NULL
);
INSERT INTO serving_generation (id, gen) VALUES (1, 0);

-- +goose StatementBegin
CREATE FUNCTION hangar_bump_serving_generation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE serving_generation SET gen = gen + 1 WHERE id = 1;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER online_endpoints_serving_generation AFTER INSERT OR UPDATE OR DELETE ON online_endpoints
    FOR EACH STATEMENT EXECUTE FUNCTION hangar_bump_serving_generation();
CREATE TRIGGER online_deployments_serving_generation AFTER INSERT OR UPDATE OR DELETE ON online_deployments
    FOR EACH STATEMENT EXECUTE FUNCTION hangar_bump_serving_generation();

-- +goose Down
DROP TRIGGER online_deployments_serving_generation ON online_deployments;
DROP TRIGGER online_endpoints_serving_generation ON online_endpoints;
DROP FUNCTION hangar_bump_serving_generation();
DROP TABLE serving_generation;
