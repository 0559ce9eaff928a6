-- Blobs belong to workspaces: content is stored once in the artifact store,
-- but a workspace reads only the blobs uploaded to it. Deleting a workspace
-- deletes its rows, so a workspace re-created under the same name owns nothing.
-- size is -1 where it is not known (rows recovered from the audit log below).

-- +goose Up
CREATE TABLE workspace_blobs (
    workspace  TEXT COLLATE "C" NOT NULL REFERENCES workspaces (name) ON DELETE CASCADE,
    digest     TEXT COLLATE "C" NOT NULL,
    size       BIGINT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (workspace, digest)
);
CREATE INDEX workspace_blobs_digest ON workspace_blobs (digest);

-- Uploads made before this table existed were audited (artifacts/write on
-- blobs/<digest>, in their workspace): each gives its workspace the blob,
-- unless the workspace was deleted after the upload (the workspace of that
-- name now is another one).
INSERT INTO workspace_blobs (workspace, digest, size, created_at)
SELECT e.workspace, substr(e.target, 7), -1, MIN(e.time)
FROM audit_events e
JOIN workspaces w ON w.name = e.workspace
WHERE e.action = 'artifacts/write'
  AND substr(e.target, 1, 13) = 'blobs/sha256:'
  AND length(e.target) = 77
  AND NOT EXISTS (
      SELECT 1 FROM audit_events d
      WHERE d.action = 'workspaces/delete' AND d.target = 'workspaces/' || e.workspace AND d.seq > e.seq)
GROUP BY e.workspace, substr(e.target, 7);

-- +goose Down
DROP TABLE workspace_blobs;
