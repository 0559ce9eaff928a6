package sqlstore

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hangar-ml/hangar"
)

// Every list of the store is paged the same way, by listPage: keyset
// pagination on a unique sort key. A page asks for one row more than it
// returns, to know whether another page follows, and its next page token
// holds the sort key of its last item, so the next page starts strictly
// after it (WHERE (k1, k2) > (?, ?)) whatever was inserted or deleted in
// between: no item is skipped or repeated, and no OFFSET makes deep pages
// slow. Row-value comparisons work alike on SQLite and PostgreSQL.

// listSpec describes one list: the rows it selects, its filters and its sort
// key. A service method fills one in and hands it to listPage.
type listSpec[T any] struct {
	// name names the list in its page tokens, which are refused by every
	// other list, and in error messages: "workspaces", "role assignments".
	name string
	// text are the caller's filter strings, as field name and value pairs,
	// that listPage checks with checkText before anything else.
	text []string
	// query is "SELECT columns FROM tables", with "?" placeholders.
	query string
	// where are conditions on the rows, ANDed together; args are the
	// arguments of query and where, in order. Add them with filter.
	where []string
	args  []any
	// keys is the sort key, most significant column first. Its columns
	// together must be unique per row, or paging would skip rows that tie.
	keys []sortKey
	// desc sorts the list descending on every key column (newest first).
	// One direction for the whole key is what a row-value comparison can
	// continue from.
	desc bool
	// scan reads one row of query.
	scan func(rowScanner) (T, error)
	// key returns an item's values of keys, in order: a string, an int64 or
	// a time.Time as the column's kind says.
	key func(T) []any
}

// sortKey is one column of a list's sort key.
type sortKey struct {
	col  string // an SQL expression over the tables of the query
	kind keyKind
}

// keyKind is how a sort key column is written in a page token and read back
// into an SQL argument.
type keyKind int

const (
	keyText keyKind = iota // a string, as is
	keyInt                 // an int64, in decimal
	keyTime                // a time.Time, as decimal microseconds since the Unix epoch
)

// filter adds a condition with its arguments.
func (s *listSpec[T]) filter(cond string, args ...any) {
	s.where = append(s.where, cond)
	s.args = append(s.args, args...)
}

// listPage returns the page of spec's list that opt asks for, querying q
// (db's reader, or a read transaction of db). Errors: EINVALID (a filter
// string with a NUL or invalid UTF-8, a negative page size, a page token
// that is not the next_page_token of this list).
func listPage[T any](ctx context.Context, db *DB, q querier, spec listSpec[T], opt hangar.ListOptions) (*hangar.Page[T], error) {
	if err := checkText(spec.text...); err != nil {
		return nil, err
	}
	if err := opt.Validate(); err != nil {
		return nil, err
	}
	after, err := spec.after(db, opt.PageToken)
	if err != nil {
		return nil, err
	}
	limit := opt.Limit()
	where, args := spec.where, spec.args
	if after != nil {
		where = append(where[:len(where):len(where)], spec.keysetCondition())
		args = append(args[:len(args):len(args)], after...)
	}
	var b strings.Builder
	b.WriteString(spec.query)
	for i, cond := range where {
		if i == 0 {
			b.WriteString(" WHERE ")
		} else {
			b.WriteString(" AND ")
		}
		b.WriteString(cond)
	}
	b.WriteString(" ORDER BY ")
	for i, k := range spec.keys {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k.col)
		if spec.desc {
			b.WriteString(" DESC")
		}
	}
	b.WriteString(" LIMIT ?")
	args = append(args[:len(args):len(args)], limit+1)

	rows, err := q.QueryContext(ctx, db.rebind(b.String()), args...)
	if err != nil {
		return nil, err
	}
	page := &hangar.Page[T]{Items: []T{}}
	for rows.Next() {
		item, err := spec.scan(rows)
		if err != nil {
			return nil, closeRows(rows, err)
		}
		page.Items = append(page.Items, item)
	}
	if err := closeRows(rows, nil); err != nil {
		return nil, err
	}
	if len(page.Items) > limit {
		page.Items = page.Items[:limit]
		page.NextPageToken = spec.token(page.Items[limit-1])
	}
	return page, nil
}

// keysetCondition is the condition for the rows after a page's last key:
// "k > ?" for one column, "(k1, k2) > (?, ?)" for several, "<" descending.
func (s *listSpec[T]) keysetCondition() string {
	op := " > "
	if s.desc {
		op = " < "
	}
	if len(s.keys) == 1 {
		return s.keys[0].col + op + "?"
	}
	cols := make([]string, len(s.keys))
	for i, k := range s.keys {
		cols[i] = k.col
	}
	return "(" + strings.Join(cols, ", ") + ")" + op + "(" + strings.TrimSuffix(strings.Repeat("?, ", len(s.keys)), ", ") + ")"
}

// token returns the page token that continues the list after item.
func (s *listSpec[T]) token(item T) string {
	values := s.key(item)
	if len(values) != len(s.keys) {
		panic(fmt.Sprintf("list %s: key of %d values for %d key columns", s.name, len(values), len(s.keys)))
	}
	parts := make([]string, len(values))
	for i, v := range values {
		parts[i] = formatKey(s.name, s.keys[i].kind, v)
	}
	return encodePageToken(s.name, parts...)
}

// formatKey writes one key value of kind for a page token. A value of
// another type than its kind is a bug in the list's spec.
func formatKey(list string, kind keyKind, v any) string {
	switch x := v.(type) {
	case string:
		if kind == keyText {
			return x
		}
	case int64:
		if kind == keyInt {
			return strconv.FormatInt(x, 10)
		}
	case time.Time:
		if kind == keyTime {
			return strconv.FormatInt(x.UnixMicro(), 10)
		}
	}
	panic(fmt.Sprintf("list %s: key value %T does not match its column kind %d", list, v, kind))
}

// after decodes a page token of the list into the SQL arguments of its
// keyset condition; an empty token (the first page) returns nil.
// Errors: EINVALID.
func (s *listSpec[T]) after(db *DB, token string) ([]any, error) {
	parts, err := decodePageToken(token, s.name, len(s.keys))
	if err != nil || parts == nil {
		return nil, err
	}
	args := make([]any, len(parts))
	for i, p := range parts {
		switch s.keys[i].kind {
		case keyText:
			args[i] = p
		case keyInt, keyTime:
			n, err := strconv.ParseInt(p, 10, 64)
			if err != nil {
				return nil, badPageToken(token, s.name)
			}
			args[i] = n
			if s.keys[i].kind == keyTime {
				args[i] = db.tv(time.UnixMicro(n))
			}
		}
	}
	return args, nil
}

// pageToken is the opaque continuation of a list: which list it belongs to
// and the sort key of the last item returned.
type pageToken struct {
	List string   `json:"l"`
	Key  []string `json:"k"`
}

// encodePageToken returns the token that continues list after key.
func encodePageToken(list string, key ...string) string {
	b, err := json.Marshal(pageToken{List: list, Key: key})
	if err != nil {
		panic("marshal page token: " + err.Error()) // strings always marshal
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodePageToken parses a token of list with n key parts. An empty token
// returns nil (the first page). Errors: EINVALID.
func decodePageToken(s, list string, n int) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, badPageToken(s, list)
	}
	var pt pageToken
	if err := json.Unmarshal(b, &pt); err != nil || pt.List != list || len(pt.Key) != n {
		return nil, badPageToken(s, list)
	}
	for _, k := range pt.Key {
		if checkText("page token", k) != nil {
			return nil, badPageToken(s, list)
		}
	}
	return pt.Key, nil
}

// badPageToken is the error of a page token that list did not issue.
func badPageToken(token, list string) error {
	return hangar.Errorf(hangar.EINVALID, "invalid page token %q: pass the next_page_token of the previous %s page unchanged", truncate(token, 64), list)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
