-- The token generation of online endpoints (endpoint.go, package
-- endpointauth): a random non-zero 64-bit number given to each endpoint
-- row when it is created and carried by every aml_token of the endpoint,
-- so that the tokens of an endpoint deleted and created again under the
-- same name never verify for the new one. Stored as the signed 64-bit
-- integer of the same bits. Rows created before get a random one too
-- (`| 1` keeps it non-zero).

-- +goose Up
ALTER TABLE online_endpoints ADD COLUMN token_generation INTEGER NOT NULL DEFAULT 0;
UPDATE online_endpoints SET token_generation = random() | 1;

-- +goose Down
ALTER TABLE online_endpoints DROP COLUMN token_generation;
