-- The artifact index: per workspace, the files MLflow clients log through
-- the server's artifact proxy, each a path naming a blob (content stored
-- once in the artifact store, owned by the workspace in workspace_blobs).
-- A row is a file (digest set) or a directory (is_dir = 1, digest NULL),
-- which exists while something lies under it, so listing one directory
-- level is one range of the primary key: workspace = ? AND dir = ?. dir is
-- the parent path ('' at the root) and name the last segment; a whole
-- subtree is the range dir = P OR P/ <= dir < P0 ('0' follows '/'), which
-- COLLATE "C" keeps in byte order as on SQLite. Deleting a workspace
-- deletes its rows.

-- +goose Up
CREATE TABLE artifact_paths (
    workspace  TEXT COLLATE "C" NOT NULL REFERENCES workspaces (name) ON DELETE CASCADE,
    dir        TEXT COLLATE "C" NOT NULL,
    name       TEXT COLLATE "C" NOT NULL,
    is_dir     INTEGER NOT NULL,
    digest     TEXT COLLATE "C",
    size       BIGINT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (workspace, dir, name),
    CHECK ((is_dir = 1 AND digest IS NULL) OR (is_dir = 0 AND digest IS NOT NULL))
);

-- +goose Down
DROP TABLE artifact_paths;
