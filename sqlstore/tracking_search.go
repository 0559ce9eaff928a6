package sqlstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/mlflow/search"
)

// Searches of runs and experiments: MLflow's filter and order_by, parsed by
// package mlflow/search, become one SQL query whose results the storetest
// suite compares with search's reference evaluator (Filter.Match,
// OrderBy.Compare) on both backends. How each rule of search's doc is kept:
//
//   - A clause on a metric, param, tag or dataset is an EXISTS subquery on
//     its table, so a run without the key satisfies no comparator (not !=
//     either), and IS NULL is NOT EXISTS. Metrics compare the latest value,
//     never a NaN one (is_nan = 0).
//   - = and != compare bytes. LIKE is case-sensitive with no escape
//     character: GLOB with the pattern translated on SQLite (whose LIKE
//     folds ASCII case), LIKE … ESCAPE '' on PostgreSQL (whose LIKE escapes
//     with a backslash by default). ILIKE folds ASCII letters only: SQLite's
//     LIKE does; PostgreSQL lower-cases both sides with translate(), since
//     its ILIKE folds by locale.
//   - Integer attributes (times, ids) compare exactly with a fractional
//     operand: the comparison is rewritten on integers (x < 1.5 is x < 2),
//     so no backend rounds and no parameter is a float.
//   - Ordering adds, before each key, a rank that is always ascending —
//     a value, then a NaN metric, then no value — so missing keys sort last
//     in both directions; text columns sort byte by byte (BINARY on SQLite,
//     COLLATE "C" on PostgreSQL). The parser appends MLflow's tie-breakers,
//     the last of which is unique, so the order is total.
//   - Pages are offsets, as MLflow's are, with a look-ahead row so the last
//     page has no token; a token is bound to its query (experiments,
//     filter, order, view) by a hash and refused by any other.

// maxSearchExperiments bounds the experiment ids of one runs/search.
const maxSearchExperiments = 1000

// sqlParts gathers the pieces of a search query; joins come before the
// WHERE clause in the SQL text, so their arguments come first.
type sqlParts struct {
	db        *DB
	joins     []string
	joinArgs  []any
	where     []string
	whereArgs []any
	order     []string
}

func (p *sqlParts) join(sql string, args ...any) {
	p.joins = append(p.joins, sql)
	p.joinArgs = append(p.joinArgs, args...)
}

func (p *sqlParts) cond(sql string, args ...any) {
	p.where = append(p.where, sql)
	p.whereArgs = append(p.whereArgs, args...)
}

// query assembles SELECT columns FROM from, the joins, conditions and order,
// LIMIT limit+1 OFFSET offset.
func (p *sqlParts) query(columns, from string, limit, offset int) (string, []any) {
	var b strings.Builder
	b.WriteString("SELECT " + columns + " FROM " + from)
	for _, j := range p.joins {
		b.WriteString(" " + j)
	}
	for i, c := range p.where {
		if i == 0 {
			b.WriteString(" WHERE ")
		} else {
			b.WriteString(" AND ")
		}
		b.WriteString(c)
	}
	b.WriteString(" ORDER BY " + strings.Join(p.order, ", ") + " LIMIT ? OFFSET ?")
	args := append(append(append([]any{}, p.joinArgs...), p.whereArgs...), limit+1, offset)
	return p.db.rebind(b.String()), args
}

// matchString is the SQL condition of a string comparator on col, for
// every search that filters strings (runs, experiments, registered models,
// model versions): = and != exact, LIKE case-sensitive without an escape
// character (GLOB on SQLite, LIKE … ESCAPE ” on PostgreSQL), ILIKE folding
// ASCII letters only, as MLflow does on SQLite.
func (db *DB) matchString(col string, c search.Clause) (string, []any) {
	switch c.Op {
	case search.Eq:
		return col + " = ?", []any{c.Str}
	case search.Ne:
		return col + " <> ?", []any{c.Str}
	case search.Like:
		if db.dialect == DialectPostgres {
			return col + " LIKE ? ESCAPE ''", []any{c.Str}
		}
		return col + " GLOB ?", []any{globPattern(c.Str)}
	case search.ILike:
		if db.dialect == DialectPostgres {
			const upper, lower = "'ABCDEFGHIJKLMNOPQRSTUVWXYZ'", "'abcdefghijklmnopqrstuvwxyz'"
			return "translate(" + col + ", " + upper + ", " + lower + ") LIKE translate(CAST(? AS TEXT), " + upper + ", " + lower + ") ESCAPE ''", []any{c.Str}
		}
		return col + " LIKE ?", []any{c.Str} // SQLite's LIKE: no escape character, ASCII case folded
	case search.In, search.NotIn:
		if len(c.List) == 0 { // IN () holds for no row, NOT IN () for every one with a value
			if c.Op == search.In {
				return "1 = 0", nil
			}
			return col + " IS NOT NULL", nil
		}
		args := make([]any, len(c.List))
		for i, v := range c.List {
			args[i] = v
		}
		op := " IN ("
		if c.Op == search.NotIn {
			op = " NOT IN ("
		}
		return col + op + placeholders(len(args)) + ")", args
	}
	return "1 = 0", nil // the parser allows no other comparator on strings
}

// globPattern turns a LIKE pattern (% any run, _ one character, no escape)
// into SQLite's case-sensitive GLOB: * and ?, with GLOB's own special
// characters made literal in brackets.
func globPattern(like string) string {
	var b strings.Builder
	for _, r := range like {
		switch r {
		case '%':
			b.WriteByte('*')
		case '_':
			b.WriteByte('?')
		case '*', '?', '[':
			b.WriteString("[" + string(r) + "]")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// compareInt is the SQL condition of a numeric comparator between an
// integer column and a finite operand, exact for fractional and
// out-of-range operands. A column that is NULL satisfies nothing.
func compareInt(col string, op search.Op, f float64) (string, []any) {
	const always, never = " IS NOT NULL", "1 = 0"
	if f >= math.MaxInt64 || f < math.MinInt64 { // every integer is below (above) it
		below := f >= 0
		switch op {
		case search.Ne:
			return col + always, nil
		case search.Lt, search.Le:
			if below {
				return col + always, nil
			}
		case search.Gt, search.Ge:
			if !below {
				return col + always, nil
			}
		}
		return never, nil
	}
	floor, ceil := int64(math.Floor(f)), int64(math.Ceil(f))
	whole := floor == ceil
	switch op {
	case search.Eq:
		if whole {
			return col + " = ?", []any{floor}
		}
		return never, nil
	case search.Ne:
		if whole {
			return col + " <> ?", []any{floor}
		}
		return col + always, nil
	case search.Lt:
		return col + " < ?", []any{ceil}
	case search.Le:
		return col + " <= ?", []any{floor}
	case search.Gt:
		return col + " > ?", []any{floor}
	case search.Ge:
		return col + " >= ?", []any{ceil}
	}
	return never, nil
}

// sqlOp is the SQL spelling of a numeric comparator.
func sqlOp(op search.Op) string {
	if op == search.Ne {
		return "<>"
	}
	return op.String()
}

// direction is the SQL direction of an order key.
func direction(k search.OrderKey) string {
	if k.Desc {
		return " DESC"
	}
	return " ASC"
}

// searchHash binds page tokens to the search they continue.
func searchHash(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic("marshal search: " + err.Error()) // strings and ints always marshal
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:8])
}

// searchOffset reads the offset of a page token of the search list whose
// query hashes to hash; "" is offset 0. Errors: EINVALID.
func searchOffset(token, list, hash string) (int, error) {
	parts, err := decodePageToken(token, list, 2)
	if err != nil || parts == nil {
		return 0, err
	}
	n, err := strconv.Atoi(parts[1])
	if err != nil || n <= 0 {
		return 0, badPageToken(token, list)
	}
	if parts[0] != hash {
		return 0, hangar.Errorf(hangar.EINVALID, "invalid page token %q: it continues another %s search (other experiments, filter, order_by or view type); pass the next_page_token of this search's previous page unchanged", truncate(token, 64), list)
	}
	return n, nil
}

// searchPage cuts the look-ahead row off and makes the next page's token.
func searchPage[T any](items []T, limit, offset int, list, hash string) *hangar.Page[T] {
	page := &hangar.Page[T]{Items: items}
	if page.Items == nil {
		page.Items = []T{}
	}
	if len(items) > limit {
		page.Items = items[:limit]
		page.NextPageToken = encodePageToken(list, hash, strconv.Itoa(offset+limit))
	}
	return page
}

// checkSearchText checks the strings of a search before any reaches SQL.
func checkSearchText(filter string, orderBy []string, token string, more ...string) error {
	pairs := []string{"filter", filter, "page_token", token}
	for _, o := range orderBy {
		pairs = append(pairs, "order_by", o)
	}
	return checkText(append(pairs, more...)...)
}

// SearchRuns returns a page of whole runs of the experiments of the
// workspace (ids that name no experiment match nothing), as MLflow's
// runs/search. Errors: EINVALID (filter, order_by, page size — 1 to
// hangar.MaxSearchResults —, page token, more than 1000 experiments).
func (s *TrackingService) SearchRuns(ctx context.Context, workspace string, q hangar.RunSearch) (*hangar.Page[*hangar.Run], error) {
	switch {
	case q.MaxResults < 1:
		return nil, hangar.Errorf(hangar.EINVALID, "Invalid value for request parameter max_results. It must be a positive integer, but got value %d", q.MaxResults)
	case q.MaxResults > hangar.MaxSearchResults:
		return nil, hangar.Errorf(hangar.EINVALID, "Invalid value for request parameter max_results. It must be at most %d, but got value %d", hangar.MaxSearchResults, q.MaxResults)
	case len(q.ExperimentIDs) > maxSearchExperiments:
		return nil, hangar.Errorf(hangar.EINVALID, "A search can name at most %d experiments. Got %d.", maxSearchExperiments, len(q.ExperimentIDs))
	}
	if err := checkSearchText(q.Filter, q.OrderBy, q.PageToken, append([]string{"workspace name", workspace}, pairsOf("experiment id", q.ExperimentIDs)...)...); err != nil {
		return nil, err
	}
	f, err := search.ParseRunFilter(q.Filter)
	if err != nil {
		return nil, err
	}
	o, err := search.ParseOrderBy(search.Runs, q.OrderBy)
	if err != nil {
		return nil, err
	}
	hash := searchHash(struct {
		E []string
		F string
		O []string
		V int
	}{q.ExperimentIDs, q.Filter, q.OrderBy, int(q.View)})
	const list = "runs"
	offset, err := searchOffset(q.PageToken, list, hash)
	if err != nil {
		return nil, err
	}
	var exps []any
	for _, id := range q.ExperimentIDs {
		if n, err := hangar.ParseExperimentID(id); err == nil {
			exps = append(exps, n)
		}
	}
	if len(exps) == 0 {
		return &hangar.Page[*hangar.Run]{Items: []*hangar.Run{}}, nil
	}
	p := &sqlParts{db: s.db}
	p.cond("r.workspace = ?", workspace)
	p.cond("r.experiment_id IN ("+placeholders(len(exps))+")", exps...)
	stages := q.View.Stages()
	p.cond("r.lifecycle_stage IN ("+placeholders(len(stages))+")", anyStrings(stages)...)
	for _, c := range f.Clauses {
		sql, args := s.db.runClause(c)
		p.cond(sql, args...)
	}
	for i, k := range o.Keys {
		runOrder(p, i, k)
	}
	query, args := p.query(runColumns, "runs r", q.MaxResults, offset)
	runs, err := readTx(ctx, s.db, func(tx querier) ([]*hangar.Run, error) {
		var rows []runRow
		if err := eachRow(ctx, s.db, tx, query, args, func(sc rowScanner) error {
			r, err := scanRun(sc)
			rows = append(rows, r)
			return err
		}); err != nil {
			return nil, err
		}
		return loadRuns(ctx, s.db, tx, rows)
	})
	if err != nil {
		return nil, fmt.Errorf("search runs of workspace %q: %w", workspace, err)
	}
	return searchPage(runs, q.MaxResults, offset, list, hash), nil
}

func pairsOf(name string, values []string) []string {
	out := make([]string, 0, 2*len(values))
	for _, v := range values {
		out = append(out, name, v)
	}
	return out
}

func anyStrings(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// runAttributeColumn is the column of a run attribute of the search grammar.
func runAttributeColumn(key string) string {
	switch key {
	case "run_id":
		return "r.run_uuid"
	case "run_name":
		return "r.name"
	case "status", "user_id", "artifact_uri", "start_time", "end_time":
		return "r." + key
	}
	panic("sqlstore: run attribute " + key + " unknown to the search translation")
}

// runClause is the SQL condition of one clause of a run filter.
func (db *DB) runClause(c search.Clause) (string, []any) {
	switch c.Kind {
	case search.Metric:
		return "EXISTS (SELECT 1 FROM latest_metrics m WHERE m.run = r.id AND m.key = ? AND m.is_nan = 0 AND m.value " + sqlOp(c.Op) + " ?)",
			[]any{c.Key, c.Num}
	case search.Param, search.Tag:
		table := "params"
		if c.Kind == search.Tag {
			table = "tags"
		}
		exists := "EXISTS (SELECT 1 FROM " + table + " k WHERE k.run = r.id AND k.key = ?"
		switch c.Op {
		case search.IsNull:
			return "NOT " + exists + ")", []any{c.Key}
		case search.IsNotNull:
			return exists + ")", []any{c.Key}
		}
		match, args := db.matchString("k.value", c)
		return exists + " AND " + match + ")", append([]any{c.Key}, args...)
	case search.Attribute:
		col := runAttributeColumn(c.Key)
		if c.Numeric {
			return compareInt(col, c.Op, c.Num)
		}
		return db.matchString(col, c)
	case search.Dataset:
		from := "inputs i JOIN datasets d ON d.id = i.dataset"
		col := "d." + c.Key
		var args []any
		if c.Key == "context" {
			from += " JOIN input_tags t ON t.input = i.id AND t.key = ?"
			col = "t.value"
			args = append(args, hangar.TagDatasetContext)
		}
		match, margs := db.matchString(col, c)
		return "EXISTS (SELECT 1 FROM " + from + " WHERE i.run = r.id AND " + match + ")", append(args, margs...)
	}
	panic(fmt.Sprintf("sqlstore: run filter clause of kind %v", c.Kind))
}

// runOrder adds the i-th order key of a run search: a rank (value, NaN,
// missing), always ascending, then the value in the key's direction.
func runOrder(p *sqlParts, i int, k search.OrderKey) {
	a := "o" + strconv.Itoa(i)
	switch k.Kind {
	case search.Metric:
		p.join("LEFT JOIN latest_metrics "+a+" ON "+a+".run = r.id AND "+a+".key = ?", k.Key)
		p.order = append(p.order, "CASE WHEN "+a+".run IS NULL THEN 2 WHEN "+a+".is_nan = 1 THEN 1 ELSE 0 END", a+".value"+direction(k))
	case search.Param, search.Tag:
		table := "params"
		if k.Kind == search.Tag {
			table = "tags"
		}
		p.join("LEFT JOIN "+table+" "+a+" ON "+a+".run = r.id AND "+a+".key = ?", k.Key)
		p.order = append(p.order, "CASE WHEN "+a+".run IS NULL THEN 1 ELSE 0 END", a+".value"+direction(k))
	default:
		col := runAttributeColumn(k.Key)
		if k.Key == "end_time" {
			p.order = append(p.order, "CASE WHEN r.end_time IS NULL THEN 1 ELSE 0 END")
		}
		p.order = append(p.order, col+direction(k))
	}
}

// SearchExperiments returns a page of the workspace's experiments with
// their tags, as MLflow's experiments/search. Errors: EINVALID (filter,
// order_by, page size — 1 to hangar.MaxSearchResults —, page token).
func (s *TrackingService) SearchExperiments(ctx context.Context, workspace string, q hangar.ExperimentSearch) (*hangar.Page[*hangar.Experiment], error) {
	switch {
	case q.MaxResults < 1:
		return nil, hangar.Errorf(hangar.EINVALID, "Invalid value for max_results. It must be a positive integer, but got %d", q.MaxResults)
	case q.MaxResults > hangar.MaxSearchResults:
		return nil, hangar.Errorf(hangar.EINVALID, "Invalid value for max_results. It must be at most %d, but got %d", hangar.MaxSearchResults, q.MaxResults)
	}
	if err := checkSearchText(q.Filter, q.OrderBy, q.PageToken, "workspace name", workspace); err != nil {
		return nil, err
	}
	f, err := search.ParseExperimentFilter(q.Filter)
	if err != nil {
		return nil, err
	}
	o, err := search.ParseOrderBy(search.Experiments, q.OrderBy)
	if err != nil {
		return nil, err
	}
	hash := searchHash(struct {
		F string
		O []string
		V int
	}{q.Filter, q.OrderBy, int(q.View)})
	const list = "experiments"
	offset, err := searchOffset(q.PageToken, list, hash)
	if err != nil {
		return nil, err
	}
	p := &sqlParts{db: s.db}
	p.cond("e.workspace = ?", workspace)
	stages := q.View.Stages()
	p.cond("e.lifecycle_stage IN ("+placeholders(len(stages))+")", anyStrings(stages)...)
	for _, c := range f.Clauses {
		sql, args := s.db.experimentClause(c)
		p.cond(sql, args...)
	}
	for _, k := range o.Keys {
		p.order = append(p.order, experimentColumn(k.Key)+direction(k))
	}
	cols := "e.id, e.name, e.artifact_location, e.lifecycle_stage, e.creation_time, e.last_update_time"
	query, args := p.query(cols, "experiments e", q.MaxResults, offset)
	exps, err := readTx(ctx, s.db, func(tx querier) ([]*hangar.Experiment, error) {
		var rows []experimentRow
		if err := eachRow(ctx, s.db, tx, query, args, func(sc rowScanner) error {
			e, err := scanExperiment(sc)
			rows = append(rows, e)
			return err
		}); err != nil {
			return nil, err
		}
		ids := make([]int64, len(rows))
		for i, e := range rows {
			ids[i] = e.id
		}
		tags, err := experimentTags(ctx, s.db, tx, workspace, ids)
		if err != nil {
			return nil, err
		}
		out := make([]*hangar.Experiment, len(rows))
		for i, e := range rows {
			out[i] = e.experiment()
			out[i].Tags = tags[e.id]
		}
		return out, nil
	})
	if err != nil {
		return nil, fmt.Errorf("search experiments of workspace %q: %w", workspace, err)
	}
	return searchPage(exps, q.MaxResults, offset, list, hash), nil
}

// experimentColumn is the column of an experiment attribute of the search
// grammar.
func experimentColumn(key string) string {
	switch key {
	case "experiment_id":
		return "e.id"
	case "name", "creation_time", "last_update_time":
		return "e." + key
	}
	panic("sqlstore: experiment attribute " + key + " unknown to the search translation")
}

// experimentClause is the SQL condition of one clause of an experiment
// filter.
func (db *DB) experimentClause(c search.Clause) (string, []any) {
	switch c.Kind {
	case search.Tag:
		exists := "EXISTS (SELECT 1 FROM experiment_tags k WHERE k.workspace = e.workspace AND k.experiment_id = e.id AND k.key = ?"
		switch c.Op {
		case search.IsNull:
			return "NOT " + exists + ")", []any{c.Key}
		case search.IsNotNull:
			return exists + ")", []any{c.Key}
		}
		match, args := db.matchString("k.value", c)
		return exists + " AND " + match + ")", append([]any{c.Key}, args...)
	case search.Attribute:
		col := experimentColumn(c.Key)
		if c.Numeric {
			return compareInt(col, c.Op, c.Num)
		}
		return db.matchString(col, c)
	}
	panic(fmt.Sprintf("sqlstore: experiment filter clause of kind %v", c.Kind))
}
