-- Registries and audit details.
--
-- workspaces.kind is 'workspace' or 'registry': a registry is a workspace
-- that holds models, components, environments and data to share across
-- workspaces, and runs no jobs (hangar.WorkspaceKindRegistry). Existing
-- workspaces are workspaces.
--
-- audit_events.detail is a JSON object saying more of the change than
-- action and target (a gate's verdict), '' for none. It enters an event's
-- hash only when not empty (hangar.Event.Encode), so the events stored
-- before it keep their hashes.

-- +goose Up
ALTER TABLE workspaces ADD COLUMN kind TEXT COLLATE "C" NOT NULL DEFAULT 'workspace';
ALTER TABLE audit_events ADD COLUMN detail TEXT COLLATE "C" NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE audit_events DROP COLUMN detail;
ALTER TABLE workspaces DROP COLUMN kind;
