package sqlstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/mlflow/search"
)

// Registry searches translate package search's parsed filters and order_by
// lists to SQL; internal/storetest checks the results against search's
// reference evaluator (Filter.Match, OrderBy.Compare) on both backends.
//
//   - = and != compare exactly: SQLite's BINARY collation, PostgreSQL's
//     columns are COLLATE "C".
//   - LIKE is case-sensitive with % and _ and no escape character: on SQLite
//     GLOB with the pattern translated (GLOB is case-sensitive; its own
//     wildcards *, ? and [ are bracketed to stand for themselves), on
//     PostgreSQL LIKE … ESCAPE '' (its default escape is the backslash).
//   - ILIKE folds ASCII letters only: SQLite's LIKE does exactly that; on
//     PostgreSQL both sides go through translate(A–Z → a–z), since its
//     ILIKE folds by locale.
//   - A tag clause is an EXISTS on the tag table (a model has one row per
//     key, so several clauses on one key see the same value, as MLflow's
//     grouped join does); a version without a run has a NULL run_id, which
//     no comparison matches.
//   - version_number compares with a possibly fractional number: the
//     bound is rounded to the integer that gives the same answer (v < 2.5
//     is v < 3), so SQL compares integers and nothing is lost to floats.
//   - Order keys are never NULL, so the keyset continuation of a page is a
//     plain lexicographic condition, one OR term per key, whatever mix of
//     ASC and DESC the order has; the last keys (name, and version for
//     versions) are unique, so no two rows tie.
//
// Page tokens are the shared list tokens (list.go) holding the order's
// signature and the sort key of the page's last item: a token is refused
// by the other search and by a search with another order. A token used
// with another filter continues that filter's results after the same key.

// registryColumn is one sort column of a registry search.
type registryColumn struct {
	key  string // the canonical order key of package search
	expr string
	kind keyKind // keyText or keyInt
	desc bool
}

// searchLimit returns the page size of a search: def when 0, else n if
// 1 ≤ n ≤ max. Errors: EINVALID with MLflow's messages.
func (registry) searchLimit(n, def, max int) (int, error) {
	switch {
	case n == 0:
		return def, nil
	case n < 0:
		return 0, hangar.Errorf(hangar.EINVALID, "Invalid value for max_results. It must be a positive integer, but got %d", n)
	case n > max:
		return 0, hangar.Errorf(hangar.EINVALID, "Invalid value for request parameter max_results. It must be at most %d, but got value %d", max, n)
	}
	return n, nil
}

// checkSearch checks the text of a search's arguments.
func (registry) checkSearch(ws string, q hangar.ModelSearch) error {
	if err := checkText("workspace name", ws, "filter", q.Filter); err != nil {
		return err
	}
	for i, o := range q.OrderBy {
		if err := checkText(fmt.Sprintf("order_by item %d", i+1), o); err != nil {
			return err
		}
	}
	return nil
}

// requireWorkspace returns ENOTFOUND unless the workspace exists.
func (r registry) requireWorkspace(ctx context.Context, ws string) error {
	var n int
	if err := r.q.QueryRowContext(ctx, r.db.rebind(`SELECT COUNT(*) FROM workspaces WHERE name = ?`), ws).Scan(&n); err != nil {
		return fmt.Errorf("look up workspace: %w", err)
	}
	if n == 0 {
		return hangar.Errorf(hangar.ENOTFOUND, "workspace %q not found", ws)
	}
	return nil
}

// orderSQL returns the ORDER BY list of the columns.
func (registry) orderSQL(cols []registryColumn) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = c.expr + " ASC"
		if c.desc {
			parts[i] = c.expr + " DESC"
		}
	}
	return strings.Join(parts, ", ")
}

// signature names an order in page tokens.
func (registry) signature(cols []registryColumn) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = c.key + " ASC"
		if c.desc {
			parts[i] = c.key + " DESC"
		}
	}
	return strings.Join(parts, ", ")
}

// after decodes a page token of the list into the values of the columns;
// nil for the first page. Errors: EINVALID.
func (r registry) after(list, token string, cols []registryColumn) ([]any, error) {
	parts, err := decodePageToken(token, list, len(cols)+1)
	if err != nil || parts == nil {
		return nil, err
	}
	if parts[0] != r.signature(cols) {
		return nil, badPageToken(token, list)
	}
	vals := make([]any, len(cols))
	for i, c := range cols {
		p := parts[i+1]
		if c.kind == keyText {
			vals[i] = p
			continue
		}
		n, err := strconv.ParseInt(p, 10, 64)
		if err != nil {
			return nil, badPageToken(token, list)
		}
		vals[i] = n
	}
	return vals, nil
}

// keyset returns the condition for the rows after the key vals in the
// order of cols: (c1 > v1) OR (c1 = v1 AND c2 < v2) OR …, with > for ASC
// and < for DESC columns.
func (registry) keyset(cols []registryColumn, vals []any) (string, []any) {
	var terms []string
	var args []any
	for i, c := range cols {
		var conds []string
		for j := range i {
			conds = append(conds, cols[j].expr+" = ?")
			args = append(args, vals[j])
		}
		op := " > ?"
		if c.desc {
			op = " < ?"
		}
		conds = append(conds, c.expr+op)
		args = append(args, vals[i])
		terms = append(terms, "("+strings.Join(conds, " AND ")+")")
	}
	return "(" + strings.Join(terms, " OR ") + ")", args
}

// token returns the page token that continues after an item with the
// sort key vals.
func (r registry) token(list string, cols []registryColumn, vals []any) string {
	parts := []string{r.signature(cols)}
	for i, c := range cols {
		parts = append(parts, formatKey(list, c.kind, vals[i]))
	}
	return encodePageToken(list, parts...)
}

// registryQuery is a search's SQL being built.
type registryQuery struct {
	where []string
	args  []any
}

func (q *registryQuery) add(cond string, args ...any) {
	q.where = append(q.where, cond)
	q.args = append(q.args, args...)
}

func (q *registryQuery) sql(selectFrom, orderBy string, limit int) (string, []any) {
	s := selectFrom + " WHERE " + strings.Join(q.where, " AND ") + " ORDER BY " + orderBy + " LIMIT ?"
	return s, append(q.args[:len(q.args):len(q.args)], limit)
}

const (
	modelSearchList   = "registered models"
	versionSearchList = "model versions"
)

// SearchRegisteredModels returns one page of a workspace's models.
// Errors: EINVALID, ENOTFOUND (workspace).
func (s *RegistryService) SearchRegisteredModels(ctx context.Context, ws string, q hangar.ModelSearch) (*hangar.Page[*hangar.RegisteredModel], error) {
	page, err := s.searchModels(ctx, ws, q)
	if err != nil {
		return nil, fmt.Errorf("search registered models: %w", err)
	}
	return page, nil
}

func (s *RegistryService) searchModels(ctx context.Context, ws string, q hangar.ModelSearch) (*hangar.Page[*hangar.RegisteredModel], error) {
	r := registry{db: s.db}
	if err := r.checkSearch(ws, q); err != nil {
		return nil, err
	}
	limit, err := r.searchLimit(q.MaxResults, hangar.DefaultModelSearchResults, hangar.MaxModelSearchResults)
	if err != nil {
		return nil, err
	}
	f, err := search.ParseRegisteredModelFilter(q.Filter)
	if err != nil {
		return nil, err
	}
	o, err := search.ParseOrderBy(search.RegisteredModels, q.OrderBy)
	if err != nil {
		return nil, err
	}
	var cols []registryColumn
	for _, k := range o.Keys {
		c := registryColumn{key: k.Key, desc: k.Desc}
		switch k.Key {
		case "name":
			c.expr, c.kind = "m.name", keyText
		case "last_updated_timestamp":
			c.expr, c.kind = "m.last_updated_time", keyInt
		default:
			return nil, fmt.Errorf("registered model order key %q has no column", k.Key) // the parser lets none other through
		}
		cols = append(cols, c)
	}
	after, err := r.after(modelSearchList, q.PageToken, cols)
	if err != nil {
		return nil, err
	}

	var sq registryQuery
	sq.add("m.workspace = ?", ws)
	for _, c := range f.Clauses {
		switch c.Kind {
		case search.Attribute: // name, the one attribute
			cond, args := r.db.matchString("m.name", c)
			sq.add(cond, args...)
		case search.Tag:
			cond, args := r.db.matchString("t.value", c)
			sq.add("EXISTS (SELECT 1 FROM registered_model_tags t WHERE t.model_id = m.id AND t.key = ? AND "+cond+")", append([]any{c.Key}, args...)...)
		default:
			return nil, fmt.Errorf("registered model filter clause of kind %v", c.Kind)
		}
	}
	if after != nil {
		cond, args := r.keyset(cols, after)
		sq.add(cond, args...)
	}
	query, args := sq.sql(`SELECT `+registryModelColumns+` FROM registered_models m`, r.orderSQL(cols), limit+1)

	page := &hangar.Page[*hangar.RegisteredModel]{Items: []*hangar.RegisteredModel{}}
	err = s.read(ctx, func(r registry) error {
		if err := r.requireWorkspace(ctx, ws); err != nil {
			return err
		}
		rows, err := r.q.QueryContext(ctx, r.db.rebind(query), args...)
		if err != nil {
			return err
		}
		var ids []int64
		for rows.Next() {
			id, m, err := scanRegisteredModel(rows)
			if err != nil {
				return closeRows(rows, err)
			}
			ids = append(ids, id)
			page.Items = append(page.Items, m)
		}
		if err := closeRows(rows, nil); err != nil {
			return err
		}
		if len(page.Items) > limit {
			page.Items, ids = page.Items[:limit], ids[:limit]
			last := page.Items[limit-1]
			vals := make([]any, len(cols))
			for i, c := range cols {
				if c.key == "name" {
					vals[i] = last.Name
				} else {
					vals[i] = last.UpdatedAt.UnixMilli()
				}
			}
			page.NextPageToken = r.token(modelSearchList, cols, vals)
		}
		return r.fillModels(ctx, ids, page.Items)
	})
	if err != nil {
		return nil, err
	}
	return page, nil
}

// SearchModelVersions returns one page of a workspace's model versions.
// Errors: EINVALID, ENOTFOUND (workspace).
func (s *RegistryService) SearchModelVersions(ctx context.Context, ws string, q hangar.ModelSearch) (*hangar.Page[*hangar.ModelVersion], error) {
	page, err := s.searchVersions(ctx, ws, q)
	if err != nil {
		return nil, fmt.Errorf("search model versions: %w", err)
	}
	return page, nil
}

func (s *RegistryService) searchVersions(ctx context.Context, ws string, q hangar.ModelSearch) (*hangar.Page[*hangar.ModelVersion], error) {
	r := registry{db: s.db}
	if err := r.checkSearch(ws, q); err != nil {
		return nil, err
	}
	limit, err := r.searchLimit(q.MaxResults, hangar.DefaultModelVersionSearchResults, hangar.MaxModelVersionSearchResults)
	if err != nil {
		return nil, err
	}
	f, err := search.ParseModelVersionFilter(q.Filter)
	if err != nil {
		return nil, err
	}
	o, err := search.ParseOrderBy(search.ModelVersions, q.OrderBy)
	if err != nil {
		return nil, err
	}
	columns := map[string]string{
		"name":                   "m.name",
		"version_number":         "v.version",
		"creation_timestamp":     "v.creation_time",
		"last_updated_timestamp": "v.last_updated_time",
	}
	var cols []registryColumn
	for _, k := range o.Keys {
		expr, ok := columns[k.Key]
		if !ok {
			return nil, fmt.Errorf("model version order key %q has no column", k.Key)
		}
		kind := keyInt
		if k.Key == "name" {
			kind = keyText
		}
		cols = append(cols, registryColumn{key: k.Key, expr: expr, kind: kind, desc: k.Desc})
	}
	after, err := r.after(versionSearchList, q.PageToken, cols)
	if err != nil {
		return nil, err
	}

	var sq registryQuery
	sq.add("m.workspace = ?", ws)
	for _, c := range f.Clauses {
		switch {
		case c.Kind == search.Tag:
			cond, args := r.db.matchString("t.value", c)
			sq.add("EXISTS (SELECT 1 FROM model_version_tags t WHERE t.model_id = v.model_id AND t.version = v.version AND t.key = ? AND "+cond+")",
				append([]any{c.Key}, args...)...)
		case c.Kind == search.Attribute && c.Key == "version_number":
			cond, args := compareInt("v.version", c.Op, c.Num)
			sq.add(cond, args...)
		case c.Kind == search.Attribute:
			col := map[string]string{"name": "m.name", "run_id": "v.run_id", "source_path": "v.source"}[c.Key]
			if col == "" {
				return nil, fmt.Errorf("model version filter attribute %q has no column", c.Key)
			}
			cond, args := r.db.matchString(col, c)
			sq.add(cond, args...)
		default:
			return nil, fmt.Errorf("model version filter clause of kind %v", c.Kind)
		}
	}
	if after != nil {
		cond, args := r.keyset(cols, after)
		sq.add(cond, args...)
	}
	query, args := sq.sql(`SELECT `+registryVersionColumns+registryVersionFrom, r.orderSQL(cols), limit+1)

	page := &hangar.Page[*hangar.ModelVersion]{Items: []*hangar.ModelVersion{}}
	err = s.read(ctx, func(r registry) error {
		if err := r.requireWorkspace(ctx, ws); err != nil {
			return err
		}
		rows, err := r.q.QueryContext(ctx, r.db.rebind(query), args...)
		if err != nil {
			return err
		}
		var keys []modelVersionKey
		for rows.Next() {
			k, v, err := scanModelVersion(rows)
			if err != nil {
				return closeRows(rows, err)
			}
			keys = append(keys, k)
			page.Items = append(page.Items, v)
		}
		if err := closeRows(rows, nil); err != nil {
			return err
		}
		if len(page.Items) > limit {
			page.Items, keys = page.Items[:limit], keys[:limit]
			last, lastKey := page.Items[limit-1], keys[limit-1]
			vals := make([]any, len(cols))
			for i, c := range cols {
				switch c.key {
				case "name":
					vals[i] = last.Name
				case "version_number":
					vals[i] = lastKey.version
				case "creation_timestamp":
					vals[i] = last.CreatedAt.UnixMilli()
				default:
					vals[i] = last.UpdatedAt.UnixMilli()
				}
			}
			page.NextPageToken = r.token(versionSearchList, cols, vals)
		}
		return r.fillVersions(ctx, keys, page.Items)
	})
	if err != nil {
		return nil, err
	}
	return page, nil
}
