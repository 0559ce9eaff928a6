package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"io/fs"
	"math"
	"slices"
	"strings"

	"github.com/hangar-ml/hangar"
	"github.com/pressly/goose/v3"
)

// Metric points are stored in chunks (migration 20): a metric_chunks row
// holds points of one metric of one run, pointSize bytes each. A log-batch
// of a thousand points of ten metrics writes ten rows, not a thousand, and
// metrics/get-history of 100,000 points reads a hundred rows, not 100,000:
// in SQLite and PostgreSQL alike, the cost of a row dwarfs that of its
// bytes. MLflow's key makes an exact duplicate point one point; chunks keep
// what was logged and reads drop the duplicates (sortPoints).

// pointSize is the size of a packed point: timestamp, step and the
// value's IEEE-754 bits, each a big-endian 64-bit integer.
const pointSize = 24

// appendMaxBytes bounds the chunk that a small batch of one metric grows by
// appending instead of adding a row: a run/log-metric per training step
// then fills chunks of 64 points, and each append rewrites a chunk that
// still fits in a database page.
const appendMaxBytes = 64 * pointSize

// packPoints appends the packed points to b.
func packPoints(b []byte, ms []hangar.Metric) []byte {
	b = slices.Grow(b, len(ms)*pointSize)
	for _, m := range ms {
		v := m.Value
		if math.IsNaN(v) {
			v = math.NaN() // one NaN, whatever the bits sent
		}
		b = binary.BigEndian.AppendUint64(b, uint64(m.Timestamp))
		b = binary.BigEndian.AppendUint64(b, uint64(m.Step))
		b = binary.BigEndian.AppendUint64(b, math.Float64bits(v))
	}
	return b
}

// unpackPoints appends the points of a chunk of metric key to ms.
func unpackPoints(ms []hangar.Metric, key string, b []byte) ([]hangar.Metric, error) {
	if len(b)%pointSize != 0 {
		return ms, fmt.Errorf("metric chunk of %d bytes: not a whole number of %d-byte points", len(b), pointSize)
	}
	for ; len(b) > 0; b = b[pointSize:] {
		ms = append(ms, hangar.Metric{
			Key:       key,
			Timestamp: int64(binary.BigEndian.Uint64(b)),
			Step:      int64(binary.BigEndian.Uint64(b[8:])),
			Value:     math.Float64frombits(binary.BigEndian.Uint64(b[16:])),
		})
	}
	return ms, nil
}

// comparePoints orders the points of one metric as metrics/get-history
// returns them: by timestamp, step, then value, a NaN after every number.
func comparePoints(a, b hangar.Metric) int {
	if c := cmp.Compare(a.Timestamp, b.Timestamp); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Step, b.Step); c != 0 {
		return c
	}
	an, bn := math.IsNaN(a.Value), math.IsNaN(b.Value)
	switch {
	case an && bn:
		return 0
	case an:
		return 1
	case bn:
		return -1
	}
	return cmp.Compare(a.Value, b.Value)
}

// sortPoints sorts the points of one metric and drops exact duplicates.
func sortPoints(ms []hangar.Metric) []hangar.Metric {
	if !slices.IsSortedFunc(ms, comparePoints) {
		slices.SortFunc(ms, comparePoints)
	}
	return slices.CompactFunc(ms, func(a, b hangar.Metric) bool { return comparePoints(a, b) == 0 })
}

// chunkInto is the multi-row INSERT target of metric chunks.
const chunkInto = "metric_chunks (run, key, points)"

// chunkAppend grows the newest chunk of a metric when it stays within
// appendMaxBytes, in each dialect: SQLite's || makes text of blobs, byte
// for byte, which the CAST turns back into a blob; PostgreSQL's joins
// byteas. Constants, since a run/log-metric runs one on every request.
const (
	chunkAppendSQLite = `UPDATE metric_chunks SET points = CAST(points || ? AS BLOB)
	WHERE id = (SELECT max(id) FROM metric_chunks WHERE run = ? AND key = ?) AND length(points) <= ?`
	chunkAppendPostgres = `UPDATE metric_chunks SET points = points || $1
	WHERE id = (SELECT max(id) FROM metric_chunks WHERE run = $2 AND key = $3) AND length(points) <= $4`
)

// chunkAppend is the dialect's chunkAppend statement.
func (db *DB) chunkAppend() string {
	if db.dialect == DialectPostgres {
		return chunkAppendPostgres
	}
	return chunkAppendSQLite
}

// chunkQueries are the statements logMetricChunks runs for a batch of
// metrics, for the statement cache.
func (db *DB) chunkQueries(metrics []hangar.Metric) []string {
	keys := countKeys(metrics)
	if keys == 1 && len(metrics)*pointSize < appendMaxBytes {
		return append(db.insertQueries(chunkInto, 3, 1, ""), db.chunkAppend())
	}
	return db.insertQueries(chunkInto, 3, keys, "")
}

// countKeys counts the metric keys of metrics, which are sorted by key.
func countKeys(sorted []hangar.Metric) int {
	n := 0
	for i, m := range sorted {
		if i == 0 || m.Key != sorted[i-1].Key {
			n++
		}
	}
	return n
}

// logMetricChunks stores points, sorted by key, as one chunk per key; a
// small batch of one metric grows that metric's newest chunk instead while
// it is small.
func (tx *wtx) logMetricChunks(ctx context.Context, cache *stmtCache, run int64, sorted []hangar.Metric) error {
	if countKeys(sorted) == 1 && len(sorted)*pointSize < appendMaxBytes {
		points := packPoints(nil, sorted)
		q := tx.db.chunkAppend()
		args := []any{points, run, sorted[0].Key, appendMaxBytes - len(points)}
		var res sql.Result
		var err error
		if st := cache.lookup(q); st != nil {
			res, err = tx.StmtContext(ctx, st).ExecContext(ctx, args...)
		} else {
			res, err = tx.ExecContext(ctx, q, args...)
		}
		if err != nil {
			return fmt.Errorf("append to metric chunk: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("append to metric chunk: %w", err)
		} else if n == 1 {
			return nil
		}
	}
	if tx.db.dialect == DialectPostgres {
		var keys []string
		var chunks [][]byte
		for group := range metricGroups(sorted) {
			keys = append(keys, group[0].Key)
			chunks = append(chunks, packPoints(nil, group))
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO metric_chunks (run, key, points) SELECT $1::bigint, k, p FROM unnest($2::text[], $3::bytea[]) AS c (k, p)`, run, keys, chunks); err != nil {
			return fmt.Errorf("insert metric chunks: %w", err)
		}
		return nil
	}
	var args []any
	for group := range metricGroups(sorted) {
		args = append(args, run, group[0].Key, packPoints(nil, group))
	}
	if err := tx.insertRowsCached(ctx, cache, chunkInto, 3, "", args); err != nil {
		return fmt.Errorf("insert metric chunks: %w", err)
	}
	return nil
}

// metricGroups yields the runs of points of one key of sorted.
func metricGroups(sorted []hangar.Metric) func(yield func([]hangar.Metric) bool) {
	return func(yield func([]hangar.Metric) bool) {
		start := 0
		for i := 1; i <= len(sorted); i++ {
			if i == len(sorted) || sorted[i].Key != sorted[start].Key {
				if !yield(sorted[start:i]) {
					return
				}
				start = i
			}
		}
	}
}

// metricChunksVersion is the migration that moves points into chunks, and
// metricChunksFile its SQL in each dialect's directory.
const (
	metricChunksVersion = 20
	metricChunksFile    = "00020_metric_chunks.sql"
)

// copyBackMarker splits the Down SQL of migration 20 where the points are
// copied back into the metrics table.
const copyBackMarker = "-- copy back\n"

// metricChunksMigration returns migration 20: its SQL creates the chunks
// table, and in between the points move, in the same transaction.
func (db *DB) metricChunksMigration(fsys fs.FS) (*goose.Migration, error) {
	text, err := fs.ReadFile(fsys, metricChunksFile)
	if err != nil {
		return nil, err
	}
	up, down, err := gooseSections(string(text))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", metricChunksFile, err)
	}
	downCreate, downDrop, ok := strings.Cut(down, copyBackMarker)
	if !ok {
		return nil, fmt.Errorf("%s: no %q line in the Down section", metricChunksFile, strings.TrimSpace(copyBackMarker))
	}
	return goose.NewGoMigration(metricChunksVersion,
		&goose.GoFunc{RunTx: func(ctx context.Context, tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, up); err != nil {
				return fmt.Errorf("%s: %w", metricChunksFile, err)
			}
			if err := db.pointsToChunks(ctx, tx); err != nil {
				return fmt.Errorf("%s: %w", metricChunksFile, err)
			}
			_, err := tx.ExecContext(ctx, `DROP TABLE metrics`)
			return err
		}},
		&goose.GoFunc{RunTx: func(ctx context.Context, tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, downCreate); err != nil {
				return fmt.Errorf("%s: %w", metricChunksFile, err)
			}
			if err := db.chunksToPoints(ctx, tx); err != nil {
				return fmt.Errorf("%s: %w", metricChunksFile, err)
			}
			_, err := tx.ExecContext(ctx, downDrop)
			return err
		}},
	), nil
}

// migrationChunkPoints is the most points migration 20 packs in a chunk.
const migrationChunkPoints = 4096

// pointsToChunks packs the points of the metrics table into chunks, metric
// by metric. The metrics are listed first: PostgreSQL's driver runs one
// query at a time on a transaction.
func (db *DB) pointsToChunks(ctx context.Context, tx *sql.Tx) error {
	type metric struct {
		run int64
		key string
	}
	var all []metric
	rows, err := tx.QueryContext(ctx, `SELECT DISTINCT run, key FROM metrics ORDER BY run, key`)
	if err != nil {
		return fmt.Errorf("list metrics: %w", err)
	}
	for rows.Next() {
		var m metric
		if err := rows.Scan(&m.run, &m.key); err != nil {
			rows.Close()
			return fmt.Errorf("list metrics: %w", err)
		}
		all = append(all, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("list metrics: %w", err)
	}
	var points []hangar.Metric
	for _, m := range all {
		points = points[:0]
		rows, err := tx.QueryContext(ctx, db.rebind(`SELECT timestamp, step, is_nan, value FROM metrics WHERE run = ? AND key = ? ORDER BY timestamp, step, is_nan, value`), m.run, m.key)
		if err != nil {
			return fmt.Errorf("read points: %w", err)
		}
		for rows.Next() {
			p := hangar.Metric{Key: m.key}
			var isNaN int64
			if err := rows.Scan(&p.Timestamp, &p.Step, &isNaN, &p.Value); err != nil {
				rows.Close()
				return fmt.Errorf("read points: %w", err)
			}
			if isNaN != 0 {
				p.Value = math.NaN()
			}
			points = append(points, p)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read points: %w", err)
		}
		for chunk := range slices.Chunk(points, migrationChunkPoints) {
			if _, err := tx.ExecContext(ctx, db.rebind(`INSERT INTO metric_chunks (run, key, points) VALUES (?, ?, ?)`), m.run, m.key, packPoints(nil, chunk)); err != nil {
				return fmt.Errorf("write chunk: %w", err)
			}
		}
	}
	return nil
}

// chunksToPoints unpacks every chunk into the metrics table (migration 20
// undone), dropping exact duplicates as the table's key does.
func (db *DB) chunksToPoints(ctx context.Context, tx *sql.Tx) error {
	type chunk struct {
		run    int64
		key    string
		points []byte
	}
	var all []chunk
	rows, err := tx.QueryContext(ctx, `SELECT run, key, points FROM metric_chunks ORDER BY id`)
	if err != nil {
		return fmt.Errorf("read chunks: %w", err)
	}
	for rows.Next() {
		var c chunk
		if err := rows.Scan(&c.run, &c.key, &c.points); err != nil {
			rows.Close()
			return fmt.Errorf("read chunks: %w", err)
		}
		all = append(all, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read chunks: %w", err)
	}
	for _, c := range all {
		ms, err := unpackPoints(nil, c.key, c.points)
		if err != nil {
			return err
		}
		for _, m := range ms {
			isNaN, v := metricValue(m.Value)
			if _, err := tx.ExecContext(ctx, db.rebind(`INSERT INTO metrics (run, key, timestamp, step, is_nan, value) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`), c.run, c.key, m.Timestamp, m.Step, isNaN, v); err != nil {
				return fmt.Errorf("write point: %w", err)
			}
		}
	}
	return nil
}
