-- Keyed audit chain and workspace incarnations.
--
-- Goose does not run this file by itself: the Go migration of version 3
-- (sqlstore/rekey.go) runs its Up section and then re-keys the audit chain,
-- in one transaction, because re-keying needs the audit key, which is not in
-- the database.

-- +goose Up
-- The id of the key the chain is keyed with ('' until the Go migration sets
-- it): a server started with another key-encryption key is refused at start.
ALTER TABLE audit_head ADD COLUMN key_id TEXT NOT NULL DEFAULT '';

-- The seq of the event that created the workspace: its audit listing starts
-- there, so a workspace created under the name of a deleted one does not show
-- the deleted one's events to its members. Backfilled with the first
-- workspaces/write event of the name after its last workspaces/delete event.
ALTER TABLE workspaces ADD COLUMN audit_seq INTEGER NOT NULL DEFAULT 0;
UPDATE workspaces SET audit_seq = COALESCE((
    SELECT MIN(c.seq) FROM audit_events c
    WHERE c.action = 'workspaces/write' AND c.target = 'workspaces/' || workspaces.name
      AND c.seq > COALESCE((
          SELECT MAX(d.seq) FROM audit_events d
          WHERE d.action = 'workspaces/delete' AND d.target = 'workspaces/' || workspaces.name), 0)), 0);

-- +goose Down
ALTER TABLE workspaces DROP COLUMN audit_seq;
ALTER TABLE audit_head DROP COLUMN key_id;
