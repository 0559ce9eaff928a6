// Package sqlstore implements Hangar's metadata services (workspaces,
// identities and tokens, role assignments, the audit log, secrets and
// experiment tracking) on
// SQLite and PostgreSQL, behind the service interfaces of package hangar.
//
// # Dialects
//
// One schema, two dialects. The SQL text is shared and written with "?"
// placeholders, which are rewritten to "$n" for PostgreSQL; the migrations
// are per dialect (migrations/sqlite, migrations/postgres) so that each
// database gets its natural column types. Times are stored as INTEGER
// microseconds since the Unix epoch in SQLite and as TIMESTAMPTZ in
// PostgreSQL: both hold exactly the microsecond-truncated times the store
// writes, which the audit hash chain relies on.
//
// # Migrations
//
// Migrations are embedded and applied at Open with goose
// (github.com/pressly/goose/v3) through its Provider API, with the global
// registry disabled so nothing is package state. Goose was chosen over a
// hand-written migrator because it already does the two hard parts: one
// transaction per migration, and on PostgreSQL a session advisory lock so
// that several servers starting at once against one database migrate it
// exactly once. On SQLite every migration runs in a BEGIN IMMEDIATE
// transaction; two processes opening one brand-new SQLite file at the same
// instant is not supported (SQLite is the single-machine deployment: a
// second server on the same file starts after the first made it).
//
// # SQLite concurrency and durability
//
// Each DB opens two pools on the file: a writer with exactly one connection
// whose transactions begin IMMEDIATE (_txlock=immediate), and a pool of
// query_only readers. Writers of one process therefore queue in Go for the
// single write connection instead of racing for SQLite's write lock, so they
// never see SQLITE_BUSY; taking the write lock at BEGIN (rather than
// upgrading a read transaction later, which fails without waiting) means a
// writer from another process waits under busy_timeout instead of failing.
// database/sql hands a freed connection to a waiting goroutine picked at
// random, so with many writers some waited seconds while others went
// through: writers therefore first queue in a FIFO of their own (queue.go)
// and only the one at its head asks database/sql for the connection.
// Readers run concurrently with the writer thanks to WAL.
//
// Durability: synchronous=NORMAL in WAL mode. A commit appends its pages
// to the WAL with write(2) before it returns, so once a write is
// acknowledged it is in the operating system's page cache and survives
// kill -9 of the process, a panic or an OOM kill (TestSQLiteKill… kill a
// writer mid-stream and find every acknowledged write). The WAL is fsynced
// at each checkpoint rather than at each commit, so what a power loss or
// kernel crash may lose is the transactions committed since the last
// checkpoint, never the database's consistency. FULL, which fsyncs at
// every commit, costs one fsync a write (about 0.3 ms on the project's
// disk: a ceiling of ~3,500 sequential writes/s before any other work),
// and sequential one-point writes, MLflow's log-metric, are the case it
// hurts most; a deployment that must survive power loss without losing
// acknowledged writes sets it in the DSN (file:…?_pragma=synchronous(FULL)),
// which the store respects, or uses PostgreSQL. foreign_keys is on for
// every connection, so workspace deletion cascades.
//
// # Audit
//
// Every state change appends its audit event inside its own transaction
// (the one write helper, DB.write, and its audit method), so a change and its event commit or
// roll back together. Appends are serialised by locking the one-row chain
// head (audit_head, SELECT … FOR UPDATE on PostgreSQL; the single write
// connection and BEGIN IMMEDIATE on SQLite) as the first statement of every
// write transaction, which also serialises writers across server processes
// sharing one PostgreSQL. The head records the last sequence number and
// hash, so deleting the newest events is detected as well. Event hashes are
// HMACs under the audit key (DB.AuditKey), which is derived from the
// key-encryption key and never stored here, so the chain cannot be
// re-hashed by someone who can only write the database; rekey.go says how
// chains written before were keyed, and AuditService.Checkpoint signs the
// head for keeping outside the database, which detects the one thing the
// database alone cannot: deleting the newest events and moving the head back.
package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hangar-ml/hangar"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// Dialect names returned by DB.Dialect.
const (
	DialectSQLite   = "sqlite"
	DialectPostgres = "postgres"
)

// sqliteBusyTimeout is how long a write transaction waits for another
// process's write lock before giving up. Within a process writers queue for
// the single write connection and never wait here.
const sqliteBusyTimeout = 10 * time.Second

// migrationLockID is the PostgreSQL advisory lock held while migrating
// ("hangar" in ASCII).
const migrationLockID = 0x68616e676172

//go:embed migrations
var migrations embed.FS

// Compile-time checks that the services implement the root interfaces.
var (
	_ hangar.WorkspaceService = (*WorkspaceService)(nil)
	_ hangar.IdentityService  = (*IdentityService)(nil)
	_ hangar.RoleService      = (*RoleService)(nil)
	_ hangar.AuditService     = (*AuditService)(nil)
	_ hangar.SecretService    = (*SecretService)(nil)
)

// DB is a connection to the metadata database. Create it with New, set the
// exported fields, then call Open.
type DB struct {
	// Logger receives migration and start-up messages; nil discards them.
	Logger *slog.Logger
	// Sealer seals secret values at rest. The secret service fails without one.
	Sealer hangar.Sealer
	// Now tells the time; nil means time.Now. Times are stored truncated to
	// microseconds, in UTC.
	Now hangar.Clock
	// AuditKey is the key audit events are hashed (HMAC-SHA256) and
	// checkpoints signed with, at least hangar.MinAuditKeySize bytes: the
	// one seal.DeriveKey derives from the key-encryption key for
	// hangar.AuditKeyPurpose. It must not be stored in the database. When
	// nil, Open takes it from the Sealer if the Sealer has a
	// DeriveKey(purpose string) []byte method (seal.AESGCM does); without
	// either, Open fails. A database is bound to its key: Open refuses one
	// whose chain was keyed with another.
	AuditKey []byte

	dsn        string
	dialect    string
	where      string         // the file path or redacted URL, for messages
	writer     *sql.DB        // SQLite: one connection, BEGIN IMMEDIATE; PostgreSQL: the pool
	reader     *sql.DB        // SQLite: query_only connections; PostgreSQL: the same pool as writer
	queue      *writeQueue    // SQLite: writers wait here in order; PostgreSQL: nil
	writeStmts *preparedStmts // SQLite: the writer's prepared statements; PostgreSQL: nil
	readStmts  *preparedStmts // SQLite on a file: the readers'; otherwise nil
	auditKey   []byte         // resolved at Open
	auditKeyID string
}

// New returns a DB for dsn, which is not opened yet. dsn is a file path,
// "sqlite:///abs/path", "file:…" (an SQLite URI) or ":memory:" for SQLite, and
// "postgres://…" or "postgresql://…" for PostgreSQL.
func New(dsn string) *DB {
	return &DB{dsn: dsn}
}

// Open connects, applies pending migrations (keying an existing unkeyed
// audit chain once, see rekey.go), checks that the Sealer opens the stored
// secrets and that the audit chain is keyed with this DB's audit key, and
// makes sure the default workspace exists (its creation is audited with the
// "system" actor). Errors: EINVALID for a missing or short audit key, a
// file or database that is not Hangar's, a broken unkeyed chain, or keys
// that are not the database's.
func (db *DB) Open(ctx context.Context) (err error) {
	if db.writer != nil {
		return errors.New("open store: already open")
	}
	if err := db.resolveAuditKey(); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			db.Close()
		}
	}()
	switch {
	case strings.HasPrefix(db.dsn, "postgres://"), strings.HasPrefix(db.dsn, "postgresql://"):
		db.dialect = DialectPostgres
		if err := db.openPostgres(); err != nil {
			return err
		}
	default:
		db.dialect = DialectSQLite
		if err := db.openSQLite(); err != nil {
			return err
		}
	}
	if err := db.writer.PingContext(ctx); err != nil {
		return fmt.Errorf("open %s store %s: %w", db.dialect, db.where, err)
	}
	if err := db.checkOwnDatabase(ctx); err != nil {
		return err
	}
	if err := db.migrate(ctx); err != nil {
		return err
	}
	// The secrets' message is the more specific one when both keys are wrong.
	if err := db.checkSealer(ctx, db.reader); err != nil {
		return err
	}
	if err := db.checkAuditKey(ctx); err != nil {
		return err
	}
	if err := db.ensureDefaultWorkspace(ctx); err != nil {
		return fmt.Errorf("open %s store: %w", db.dialect, err)
	}
	return nil
}

func (db *DB) openPostgres() error {
	db.where = redact(db.dsn)
	pool, err := sql.Open("pgx", db.dsn)
	if err != nil {
		return fmt.Errorf("open postgres store: %w", err)
	}
	// As many idle connections as open ones: with fewer, a burst of more
	// concurrent requests than idle connections closed the extra ones
	// after each use and opened new ones (a backend process each) for the
	// next: 16 parallel clients got a third of one client's throughput.
	// Idle ones are closed after five minutes.
	pool.SetMaxOpenConns(32)
	pool.SetMaxIdleConns(32)
	pool.SetConnMaxIdleTime(5 * time.Minute)
	db.writer, db.reader = pool, pool
	return nil
}

func (db *DB) openSQLite() error {
	writeDSN, readDSN, memory, err := sqliteDSNs(db.dsn)
	if err != nil {
		return err
	}
	if !memory {
		path, err := sqlitePath(db.dsn)
		if err != nil {
			return err
		}
		db.where = path
		// SQLite says only "unable to open database file (14)" when the
		// directory is missing: say which.
		dir := filepath.Dir(path)
		if st, err := os.Stat(dir); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("open sqlite store %s: directory %s does not exist", path, dir)
			}
			return fmt.Errorf("open sqlite store %s: %w", path, err)
		} else if !st.IsDir() {
			return fmt.Errorf("open sqlite store %s: %s is not a directory", path, dir)
		}
		if err := prepareSQLiteFile(path); err != nil {
			return err
		}
	}
	w, err := sql.Open("sqlite", writeDSN)
	if err != nil {
		return fmt.Errorf("open sqlite store: %w", err)
	}
	// One write connection: writers of this process queue here rather than
	// contend for SQLite's lock. Never close it while idle (an in-memory
	// database would vanish).
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxIdleTime(0)
	w.SetConnMaxLifetime(0)
	db.writer = w
	db.queue = &writeQueue{}
	db.writeStmts = &preparedStmts{}
	if memory {
		// A private in-memory database exists on one connection only.
		db.reader = w
		return nil
	}
	r, err := sql.Open("sqlite", readDSN)
	if err != nil {
		return fmt.Errorf("open sqlite store: %w", err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	db.reader = r
	db.readStmts = &preparedStmts{}
	return nil
}

// prepareSQLiteFile makes sure the database file is one Hangar may open.
// Only a missing file is a fresh install: it is created empty with mode 0600,
// so the database and the WAL and shared-memory files SQLite creates beside
// it (with the database file's mode) are not readable by other users
// whatever the directory's permissions or the umask. An existing file that is
// empty is refused — it is not a database, and taking it for a fresh install
// would silently start over — and one readable by others is tightened.
func prepareSQLiteFile(path string) error {
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return fmt.Errorf("open sqlite store %s: create: %w", path, err)
		}
		return f.Close()
	case err != nil:
		return fmt.Errorf("open sqlite store %s: %w", path, err)
	case !st.Mode().IsRegular():
		return fmt.Errorf("open sqlite store %s: not a regular file", path)
	case st.Size() == 0:
		return hangar.Errorf(hangar.EINVALID, "open sqlite store %s: the file is empty (0 bytes), so it is not a Hangar database; only a missing file starts a fresh store: remove the empty file or point --db at the right one", path)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if st, err := os.Stat(p); err == nil && st.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(p, st.Mode().Perm()&0o700); err != nil {
				return fmt.Errorf("open sqlite store %s: restrict permissions of %s: %w", path, p, err)
			}
		}
	}
	return nil
}

// checkOwnDatabase refuses a database that holds tables but not Hangar's
// migration table: another application's database, which migrating would
// write Hangar's schema into. An empty database is a fresh install.
func (db *DB) checkOwnDatabase(ctx context.Context) error {
	q := `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%' ORDER BY name`
	if db.dialect == DialectPostgres {
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY table_name`
	}
	rows, err := db.writer.QueryContext(ctx, q)
	if err != nil {
		return fmt.Errorf("open %s store %s: %w", db.dialect, db.where, err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return fmt.Errorf("open %s store %s: %w", db.dialect, db.where, closeRows(rows, err))
		}
		tables = append(tables, name)
	}
	if err := closeRows(rows, nil); err != nil {
		return fmt.Errorf("open %s store %s: %w", db.dialect, db.where, err)
	}
	if len(tables) == 0 || slices.Contains(tables, gooseTable) {
		return nil
	}
	if len(tables) > 5 {
		tables = append(tables[:5], "…")
	}
	return hangar.Errorf(hangar.EINVALID, "open %s store %s: the database holds tables (%s) but is not a Hangar database: point --db at Hangar's database or an empty one", db.dialect, db.where, strings.Join(tables, ", "))
}

// gooseTable is the table where goose records applied migrations.
const gooseTable = "goose_db_version"

// sqliteDSNs turns a user DSN into the DSNs of the write and read pools.
func sqliteDSNs(dsn string) (writeDSN, readDSN string, memory bool, err error) {
	if dsn == "" {
		return "", "", false, errors.New("open sqlite store: empty data source name")
	}
	if dsn == ":memory:" {
		dsn = "file::memory:"
	}
	var path string
	query := url.Values{}
	switch {
	case strings.HasPrefix(dsn, "file:"):
		rest := strings.TrimPrefix(dsn, "file:")
		p, q, _ := strings.Cut(rest, "?")
		path = p
		if query, err = url.ParseQuery(q); err != nil {
			return "", "", false, fmt.Errorf("open sqlite store: parse %q: %w", dsn, err)
		}
		if path == "" {
			return "", "", false, fmt.Errorf("open sqlite store: %q names no file", dsn)
		}
	case strings.HasPrefix(dsn, "sqlite://"):
		path = strings.TrimPrefix(dsn, "sqlite://")
		if path == "" {
			return "", "", false, fmt.Errorf("open sqlite store: %q names no file", dsn)
		}
		path = escapeSQLitePath(path)
	case strings.Contains(dsn, "://"):
		return "", "", false, fmt.Errorf("open store: unsupported data source %q: use a file path, sqlite:///path, file:…, or postgres://…", redact(dsn))
	default:
		path = escapeSQLitePath(dsn)
	}
	memory = path == ":memory:" || query.Get("mode") == "memory"

	pragmas := []struct{ name, value string }{
		{"busy_timeout", fmt.Sprint(sqliteBusyTimeout.Milliseconds())},
		{"foreign_keys", "1"},
		{"journal_mode", "WAL"},
		{"synchronous", "NORMAL"},
		// A multi-row INSERT inside a transaction keeps a statement
		// journal, by default in a temporary file: a write(2) per page.
		{"temp_store", "MEMORY"},
	}
	common := url.Values{}
	for k, vs := range query {
		common[k] = vs
	}
	for _, p := range pragmas {
		if !hasPragma(query, p.name) {
			common.Add("_pragma", p.name+"("+p.value+")")
		}
	}
	w := cloneValues(common)
	w.Set("_txlock", "immediate")
	r := cloneValues(common)
	r.Del("_txlock")
	r.Add("_pragma", "query_only(1)")
	return "file:" + path + "?" + w.Encode(), "file:" + path + "?" + r.Encode(), memory, nil
}

// sqlitePath returns the file system path a non-memory SQLite DSN names.
func sqlitePath(dsn string) (string, error) {
	switch {
	case strings.HasPrefix(dsn, "file:"):
		p, _, _ := strings.Cut(strings.TrimPrefix(dsn, "file:"), "?")
		up, err := url.PathUnescape(p)
		if err != nil {
			return "", fmt.Errorf("open sqlite store: parse %q: %w", dsn, err)
		}
		return up, nil
	case strings.HasPrefix(dsn, "sqlite://"):
		return strings.TrimPrefix(dsn, "sqlite://"), nil
	}
	return dsn, nil
}

func hasPragma(q url.Values, name string) bool {
	for _, v := range q["_pragma"] {
		if strings.HasPrefix(strings.ToLower(strings.TrimSpace(v)), name) {
			return true
		}
	}
	return false
}

func cloneValues(v url.Values) url.Values {
	c := url.Values{}
	for k, vs := range v {
		c[k] = append([]string(nil), vs...)
	}
	return c
}

// escapeSQLitePath percent-encodes the characters that an SQLite URI
// filename treats specially.
func escapeSQLitePath(p string) string {
	r := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23")
	return r.Replace(p)
}

// redact hides a password in a URL-shaped DSN.
func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "<unparseable>"
	}
	return u.Redacted()
}

func (db *DB) migrate(ctx context.Context) error {
	p, err := db.migrations()
	if err != nil {
		return fmt.Errorf("migrate %s store: %w", db.dialect, err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("migrate %s store: %w", db.dialect, err)
	}
	for _, r := range results {
		db.logger().InfoContext(ctx, "applied migration", "dialect", db.dialect, "version", r.Source.Version, "duration", r.Duration)
	}
	return nil
}

// migrations returns the migrations of db's dialect: the SQL files, with
// those that move data in Go (3 and 20) replaced by their Go migrations.
func (db *DB) migrations() (*goose.Provider, error) {
	dir, gd := "migrations/sqlite", goose.DialectSQLite3
	opts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true), goose.WithExcludeNames([]string{keyedAuditFile, metricChunksFile})}
	if db.dialect == DialectPostgres {
		dir, gd = "migrations/postgres", goose.DialectPostgres
		// Our own lock id, so another goose user of the database does not
		// block us; probe every second for up to five minutes.
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(migrationLockID), lock.WithLockTimeout(1, 300))
		if err != nil {
			return nil, err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	if db.Logger != nil {
		opts = append(opts, goose.WithSlog(db.Logger))
	}
	fsys, err := fs.Sub(migrations, dir)
	if err != nil {
		return nil, err
	}
	rekey, err := db.keyedAuditMigration(fsys)
	if err != nil {
		return nil, err
	}
	chunks, err := db.metricChunksMigration(fsys)
	if err != nil {
		return nil, err
	}
	opts = append(opts, goose.WithGoMigrations(rekey, chunks))
	return goose.NewProvider(gd, db.writer, fsys, opts...)
}

func (db *DB) ensureDefaultWorkspace(ctx context.Context) error {
	ctx = hangar.WithActor(ctx, hangar.Actor{IdentityID: "system", Name: "system"})
	return db.write(ctx, func(tx *wtx) error {
		var n int
		if err := tx.QueryRowContext(ctx, db.rebind(`SELECT COUNT(*) FROM workspaces WHERE name = ?`), hangar.DefaultWorkspace).Scan(&n); err != nil {
			return fmt.Errorf("look up default workspace: %w", err)
		}
		if n > 0 {
			return nil
		}
		w := &hangar.Workspace{Name: hangar.DefaultWorkspace, DisplayName: "Default", Description: "The workspace every server has."}
		return tx.insertWorkspace(ctx, w)
	})
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if db.writer == nil {
		return errors.New("ping store: not open")
	}
	if err := db.reader.PingContext(ctx); err != nil {
		return fmt.Errorf("ping %s store: %w", db.dialect, err)
	}
	return nil
}

// Close closes the connections. It is safe to call on a DB that failed to open.
func (db *DB) Close() error {
	var errs []error
	db.readStmts.close()
	db.writeStmts.close()
	if db.reader != nil && db.reader != db.writer {
		errs = append(errs, db.reader.Close())
	}
	if db.writer != nil {
		errs = append(errs, db.writer.Close())
	}
	db.reader, db.writer = nil, nil
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close %s store: %w", db.dialect, err)
	}
	return nil
}

// Dialect returns "sqlite" or "postgres" once the DB is open.
func (db *DB) Dialect() string { return db.dialect }

func (db *DB) logger() *slog.Logger {
	if db.Logger != nil {
		return db.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// now returns the current time as the store keeps it: UTC, microseconds.
func (db *DB) now() time.Time {
	f := db.Now
	if f == nil {
		f = time.Now
	}
	return f().UTC().Truncate(time.Microsecond)
}

// preparedStmts keeps prepared statements of one SQLite pool by their text,
// because SQLite parsing a statement costs about as much as running a small
// one: a third of a one-point metric write went to the parser. PostgreSQL's
// driver caches prepared statements by itself, so a PostgreSQL DB has none
// (nil, whose methods do nothing).
//
// The writer's statements cannot be prepared inside a write transaction,
// since the one write connection is the transaction's until it ends: a
// statement that transactions run unprepared a second time is noted, and
// prepared after the transaction, while its writer still holds the write
// queue (DB.write), so the next transaction finds it. (Texts built for a
// number of values, such as a multi-row INSERT of an odd size, are often
// run once: waiting for the second run keeps them from filling the cache.)
// Read statements are prepared on first use. At most maxPreparedStmts are
// kept; others run unprepared.
type preparedStmts struct {
	mu      sync.Mutex
	stmts   map[string]*sql.Stmt
	seen    map[string]bool // run unprepared once; at most maxPreparedStmts
	pending map[string]bool // to prepare
}

const maxPreparedStmts = 256

// lookup returns q's prepared statement, or nil after noting q.
func (p *preparedStmts) lookup(q string) *sql.Stmt {
	return p.get(q, false)
}

// get returns q's prepared statement, or nil after noting that q ran
// unprepared; q is to be prepared the second time, or the first when now.
func (p *preparedStmts) get(q string, now bool) *sql.Stmt {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if st := p.stmts[q]; st != nil {
		return st
	}
	if len(p.stmts)+len(p.pending) >= maxPreparedStmts {
		return nil
	}
	if !now && !p.seen[q] {
		if p.seen == nil || len(p.seen) >= maxPreparedStmts {
			p.seen = map[string]bool{}
		}
		p.seen[q] = true
		return nil
	}
	delete(p.seen, q)
	if p.pending == nil {
		p.pending = map[string]bool{}
	}
	p.pending[q] = true
	return nil
}

// prepareNoted prepares the statements noted since the last call on pool.
// A statement that fails to prepare is run unprepared again next time.
func (p *preparedStmts) prepareNoted(ctx context.Context, pool *sql.DB) {
	if p == nil {
		return
	}
	p.mu.Lock()
	pending := p.pending
	p.pending = nil
	p.mu.Unlock()
	for q := range pending {
		st, err := pool.PrepareContext(ctx, q)
		if err != nil {
			continue
		}
		p.mu.Lock()
		if p.stmts == nil {
			p.stmts = map[string]*sql.Stmt{}
		}
		if p.stmts[q] == nil {
			p.stmts[q] = st
			st = nil
		}
		p.mu.Unlock()
		if st != nil {
			st.Close()
		}
	}
}

// close closes every statement.
func (p *preparedStmts) close() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, st := range p.stmts {
		st.Close()
	}
	p.stmts, p.seen, p.pending = nil, nil, nil
}

// ExecContext runs q in the transaction, prepared when the writer has it
// prepared (preparedStmts).
func (tx *wtx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if st := tx.db.writeStmts.lookup(q); st != nil {
		return tx.Tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return tx.Tx.ExecContext(ctx, q, args...)
}

// QueryContext is ExecContext for a query.
func (tx *wtx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if st := tx.db.writeStmts.lookup(q); st != nil {
		return tx.Tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return tx.Tx.QueryContext(ctx, q, args...)
}

// QueryRowContext is ExecContext for a query of one row.
func (tx *wtx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if st := tx.db.writeStmts.lookup(q); st != nil {
		return tx.Tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return tx.Tx.QueryRowContext(ctx, q, args...)
}

// readRow runs a query of one row on the readers, prepared on SQLite.
func (db *DB) readRow(ctx context.Context, q string, args ...any) *sql.Row {
	if st := db.readStmt(ctx, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return db.reader.QueryRowContext(ctx, q, args...)
}

// read runs a query on the readers, prepared on SQLite.
func (db *DB) read(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if st := db.readStmt(ctx, q); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return db.reader.QueryContext(ctx, q, args...)
}

// readStmt returns q prepared on the readers, preparing it on first use, or
// nil (PostgreSQL, an in-memory database whose readers are the writer, a
// full cache).
func (db *DB) readStmt(ctx context.Context, q string) *sql.Stmt {
	p := db.readStmts
	if p == nil {
		return nil
	}
	if st := p.get(q, true); st != nil {
		return st
	}
	p.prepareNoted(ctx, db.reader)
	return p.get(q, true)
}

// preparedReader is a querier on the readers that prepares its statements
// on SQLite (DB.read, DB.readRow).
type preparedReader struct{ db *DB }

// QueryContext implements querier.
func (r preparedReader) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return r.db.read(ctx, q, args...)
}

// QueryRowContext implements querier.
func (r preparedReader) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return r.db.readRow(ctx, q, args...)
}
