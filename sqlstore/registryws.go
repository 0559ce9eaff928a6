package sqlstore

import (
	"context"
	"fmt"

	"github.com/hangar-ml/hangar"
)

// Registries are workspaces of kind registry (migration 00016): the
// workspace service creates them (Workspace.Kind) and reads them, and
// ListRegistries lists them alone.

// ListRegistries lists the workspaces of kind registry, ordered by name.
// Errors: EINVALID (options).
func (s *WorkspaceService) ListRegistries(ctx context.Context, opt hangar.ListOptions) (*hangar.Page[*hangar.Workspace], error) {
	spec := listSpec[*hangar.Workspace]{
		name:  "registries",
		query: `SELECT ` + workspaceColumns + ` FROM workspaces`,
		keys:  []sortKey{{"name", keyText}},
		scan:  scanWorkspace,
		key:   func(w *hangar.Workspace) []any { return []any{w.Name} },
	}
	spec.filter(`kind = ?`, hangar.WorkspaceKindRegistry)
	page, err := listPage(ctx, s.db, s.db.reader, spec, opt)
	if err != nil {
		return nil, fmt.Errorf("list registries: %w", err)
	}
	return page, nil
}
