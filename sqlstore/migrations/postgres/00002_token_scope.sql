-- Tokens are scoped when they are minted (issue 7 #3, #4): tokens.workspace
-- is the one workspace a token acts on, NULL for a server-wide token. Until
-- now the scope was derived from the identity's current role assignments,
-- so giving the identity a role elsewhere widened every token it had.
--
-- Existing tokens get the scope they were minted with, which the audit
-- event of their creation (tokens/write on tokens/<id>) records: creation
-- required the identity's roles to be exactly the requested role on that
-- scope. A token without such an event gets the scope that was derived
-- until now. A token minted for a workspace that no longer exists is
-- deleted, as the cascade now does when a workspace is deleted.
--
-- Expiries beyond 9999-12-31T23:59:59.999999Z (hangar.MaxTime; stored before
-- requests were checked, issue 7 #1) cannot be encoded in a response and
-- broke every list holding them: they are clamped to that time.

-- +goose Up
ALTER TABLE tokens ADD COLUMN workspace TEXT COLLATE "C" REFERENCES workspaces (name) ON DELETE CASCADE;

DELETE FROM tokens WHERE EXISTS (
    SELECT 1 FROM audit_events e
    WHERE e.action = 'tokens/write' AND e.target = 'tokens/' || tokens.id AND e.workspace <> ''
      AND e.seq = (SELECT MIN(f.seq) FROM audit_events f WHERE f.action = 'tokens/write' AND f.target = 'tokens/' || tokens.id)
      AND NOT EXISTS (SELECT 1 FROM workspaces w WHERE w.name = e.workspace));

UPDATE tokens SET workspace = CASE
    WHEN EXISTS (SELECT 1 FROM audit_events e WHERE e.action = 'tokens/write' AND e.target = 'tokens/' || tokens.id)
    THEN (SELECT NULLIF(e.workspace, '') FROM audit_events e
          WHERE e.action = 'tokens/write' AND e.target = 'tokens/' || tokens.id ORDER BY e.seq LIMIT 1)
    ELSE (SELECT CASE WHEN COUNT(*) > 0 AND COUNT(a.workspace) = COUNT(*) AND MIN(a.workspace) = MAX(a.workspace)
                 THEN MIN(a.workspace) END
          FROM role_assignments a WHERE a.identity_id = tokens.identity_id)
END;

CREATE INDEX tokens_workspace ON tokens (workspace, created_at, id);

UPDATE tokens SET expires_at = '9999-12-31 23:59:59.999999+00' WHERE expires_at > '9999-12-31 23:59:59.999999+00';
UPDATE tokens SET expires_at = '0001-01-01 00:00:00+00' WHERE expires_at < '0001-01-01 00:00:00+00';

-- +goose Down
DROP INDEX tokens_workspace;
ALTER TABLE tokens DROP COLUMN workspace;
