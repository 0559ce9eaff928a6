package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/hangar-ml/hangar"
)

// TrackingService stores experiments and runs (MLflow's tracking model) in
// the tables of migration 00005. It implements hangar.TrackingService.
//
// Writes: every call is one transaction (DB.write) with one audit event,
// however much it logs. LogBatch, the hot path, validates everything before
// the transaction, then writes with multi-row INSERTs (at most
// maxInsertRows rows a statement): params after checking the stored ones,
// every metric point (ON CONFLICT DO NOTHING: MLflow's key makes an exact
// duplicate one row), the latest point per key with one upsert whose WHERE
// keeps the greater of (step, timestamp, value), and tags. Reads of a run
// gather its rows with one query per table, for a page of runs at once.
type TrackingService struct {
	db     *DB
	stmts  *stmtCache
	audits *auditWindow // metric-only writes' audit events, see MetricAuditWindow
}

var _ hangar.TrackingService = (*TrackingService)(nil)

// NewTrackingService returns the tracking service of db.
func NewTrackingService(db *DB) *TrackingService {
	return &TrackingService{db: db, stmts: &stmtCache{}, audits: newAuditWindow()}
}

// maxInsertRows bounds the rows of one multi-row INSERT: 500 rows of six
// columns stay far below both databases' limits on bound parameters
// (SQLite 32766, PostgreSQL 65535).
const maxInsertRows = 500

// ms is the transaction's time in Unix milliseconds, as tracking stores
// times.
func (tx *wtx) ms() int64 { return tx.now.UnixMilli() }

// insertRows runs "INSERT INTO <into> VALUES (…), (…) <tail>" for the rows
// in args (cols values each), in statements of at most maxInsertRows rows.
func (tx *wtx) insertRows(ctx context.Context, into string, cols int, tail string, args []any) error {
	return tx.insertRowsCached(ctx, nil, into, cols, tail, args)
}

// insertRowsCached is insertRows using the statements of cache that were
// prepared for these queries before the transaction (stmtCache.prepare).
func (tx *wtx) insertRowsCached(ctx context.Context, cache *stmtCache, into string, cols int, tail string, args []any) error {
	rows := len(args) / cols
	for start := 0; start < rows; start += maxInsertRows {
		n := min(maxInsertRows, rows-start)
		q := tx.db.insertQuery(into, cols, n, tail)
		chunk := args[start*cols : (start+n)*cols]
		var err error
		if st := cache.lookup(q); st != nil {
			_, err = tx.StmtContext(ctx, st).ExecContext(ctx, chunk...)
		} else {
			_, err = tx.ExecContext(ctx, q, chunk...)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// insertQuery is the text of a multi-row INSERT of rows rows.
func (db *DB) insertQuery(into string, cols, rows int, tail string) string {
	var b strings.Builder
	b.Grow(len(into) + len(tail) + rows*(cols*3+4) + 32)
	b.WriteString("INSERT INTO ")
	b.WriteString(into)
	b.WriteString(" VALUES ")
	row := "(" + placeholders(cols) + ")"
	for i := range rows {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	b.WriteString(" ")
	b.WriteString(tail)
	return db.rebind(b.String())
}

// insertQueries are the texts insertRows runs for n rows.
func (db *DB) insertQueries(into string, cols, n int, tail string) []string {
	var qs []string
	if n >= maxInsertRows {
		qs = append(qs, db.insertQuery(into, cols, maxInsertRows, tail))
	}
	if r := n % maxInsertRows; r > 0 {
		qs = append(qs, db.insertQuery(into, cols, r, tail))
	}
	return qs
}

// stmtCache keeps prepared statements of the writer, by their text: the
// multi-row INSERTs of the logging path, whose parsing costs SQLite as much
// as a third of storing a thousand points. (PostgreSQL's driver caches
// statements by itself.) Statements are prepared before a write
// transaction begins, since SQLite's one write connection is the
// transaction's until it ends; inside it they are only looked up. It holds
// at most maxCachedStmts statements; others run unprepared.
type stmtCache struct {
	mu    sync.Mutex
	stmts map[string]*sql.Stmt
}

const maxCachedStmts = 64

// prepare makes sure the queries are prepared, while there is room.
func (c *stmtCache) prepare(ctx context.Context, db *DB, queries ...string) error {
	if c == nil || db.dialect != DialectSQLite {
		return nil
	}
	for _, q := range queries {
		c.mu.Lock()
		_, ok := c.stmts[q]
		full := len(c.stmts) >= maxCachedStmts
		c.mu.Unlock()
		if ok || full {
			continue
		}
		st, err := db.writer.PrepareContext(ctx, q)
		if err != nil {
			return fmt.Errorf("prepare: %w", err)
		}
		c.mu.Lock()
		if _, ok := c.stmts[q]; ok || len(c.stmts) >= maxCachedStmts {
			st.Close()
		} else {
			if c.stmts == nil {
				c.stmts = map[string]*sql.Stmt{}
			}
			c.stmts[q] = st
		}
		c.mu.Unlock()
	}
	return nil
}

// lookup returns the prepared statement of q, or nil.
func (c *stmtCache) lookup(q string) *sql.Stmt {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stmts[q]
}

// placeholders returns "?, ?, …" for n values.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// Experiments.

// experimentRow is an experiment's row.
type experimentRow struct {
	id       int64
	name     string
	location string
	stage    string
	created  int64
	updated  int64
}

const experimentColumns = `id, name, artifact_location, lifecycle_stage, creation_time, last_update_time`

func scanExperiment(sc rowScanner) (experimentRow, error) {
	var e experimentRow
	err := sc.Scan(&e.id, &e.name, &e.location, &e.stage, &e.created, &e.updated)
	return e, err
}

func (e experimentRow) experiment() *hangar.Experiment {
	return &hangar.Experiment{
		ID: strconv.FormatInt(e.id, 10), Name: e.name, ArtifactLocation: e.location,
		LifecycleStage: e.stage, CreationTime: e.created, LastUpdateTime: e.updated,
	}
}

// experimentByID reads an experiment's row. Errors: ENOTFOUND.
func experimentByID(ctx context.Context, db *DB, q querier, workspace, id string) (experimentRow, error) {
	n, err := hangar.ParseExperimentID(id)
	if err != nil {
		return experimentRow{}, err
	}
	e, err := scanExperiment(q.QueryRowContext(ctx, db.rebind(`SELECT `+experimentColumns+` FROM experiments WHERE workspace = ? AND id = ?`), workspace, n))
	if isNoRows(err) {
		return e, hangar.ExperimentNotFound(id)
	}
	return e, err
}

// experimentTags reads the tags of experiments by id, each ordered by key.
func experimentTags(ctx context.Context, db *DB, q querier, workspace string, ids []int64) (map[int64][]hangar.ExperimentTag, error) {
	out := map[int64][]hangar.ExperimentTag{}
	for chunk := range slices.Chunk(ids, maxInsertRows) {
		args := append([]any{workspace}, int64Args(chunk)...)
		rows, err := q.QueryContext(ctx, db.rebind(`SELECT experiment_id, key, value FROM experiment_tags
			WHERE workspace = ? AND experiment_id IN (`+placeholders(len(chunk))+`) ORDER BY experiment_id, key`), args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id int64
			var t hangar.ExperimentTag
			if err := rows.Scan(&id, &t.Key, &t.Value); err != nil {
				return nil, closeRows(rows, err)
			}
			out[id] = append(out[id], t)
		}
		if err := closeRows(rows, nil); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func int64Args(ids []int64) []any {
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = id
	}
	return out
}

// CreateExperiment stores e in the workspace with the next id there, as
// active, at the current time; its artifact location is the artifact
// proxy's (hangar.ExperimentArtifactLocation) unless it names one. Errors:
// EINVALID (name, tags, location), ECONFLICT (the name is taken, also by a
// deleted experiment), ENOTFOUND (workspace).
func (s *TrackingService) CreateExperiment(ctx context.Context, workspace string, e *hangar.Experiment) error {
	if err := hangar.ValidateExperimentName(e.Name); err != nil {
		return err
	}
	for _, t := range e.Tags {
		if err := hangar.ValidateExperimentTag(t); err != nil {
			return err
		}
	}
	if strings.HasPrefix(e.ArtifactLocation, "runs:") {
		return hangar.Errorf(hangar.EINVALID, "Artifact location cannot be a runs:/ URI. Given: '%s'", truncate(e.ArtifactLocation, 250))
	}
	if err := checkText("workspace name", workspace, "artifact_location", e.ArtifactLocation); err != nil {
		return err
	}
	var created hangar.Experiment
	err := s.db.write(ctx, func(tx *wtx) error {
		if err := tx.requireWorkspace(ctx, workspace); err != nil {
			return err
		}
		var taken int
		if err := tx.QueryRowContext(ctx, tx.db.rebind(`SELECT COUNT(*) FROM experiments WHERE workspace = ? AND name = ?`), workspace, e.Name).Scan(&taken); err != nil {
			return fmt.Errorf("look up name: %w", err)
		}
		if taken > 0 {
			return hangar.Errorf(hangar.ECONFLICT, "Experiment(name=%s) already exists.", e.Name)
		}
		var id int64
		if err := tx.QueryRowContext(ctx, tx.db.rebind(`SELECT COALESCE(MAX(id), 0) + 1 FROM experiments WHERE workspace = ?`), workspace).Scan(&id); err != nil {
			return fmt.Errorf("next id: %w", err)
		}
		created = *e
		created.ID = strconv.FormatInt(id, 10)
		if created.ArtifactLocation == "" {
			created.ArtifactLocation = hangar.ExperimentArtifactLocation(created.ID)
		}
		created.LifecycleStage = hangar.LifecycleActive
		created.CreationTime, created.LastUpdateTime = tx.ms(), tx.ms()
		_, err := tx.ExecContext(ctx, tx.db.rebind(`INSERT INTO experiments (workspace, `+experimentColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`),
			workspace, id, created.Name, created.ArtifactLocation, created.LifecycleStage, created.CreationTime, created.LastUpdateTime)
		if err != nil {
			return fmt.Errorf("insert: %w", err)
		}
		tags := lastTags(created.Tags, func(t hangar.ExperimentTag) string { return t.Key })
		if len(tags) > 0 {
			args := make([]any, 0, 4*len(tags))
			for _, t := range tags {
				args = append(args, workspace, id, t.Key, t.Value)
			}
			if err := tx.insertRows(ctx, "experiment_tags (workspace, experiment_id, key, value)", 4, "", args); err != nil {
				return fmt.Errorf("insert tags: %w", err)
			}
		}
		created.Tags = tags
		return tx.audit(ctx, hangar.ActExperimentWrite, "experiments/"+created.ID, workspace)
	})
	if err != nil {
		return fmt.Errorf("create experiment %q in workspace %q: %w", e.Name, workspace, err)
	}
	*e = created
	return nil
}

// lastTags keeps the last of tags with the same key, ordered by key.
func lastTags[T any](tags []T, key func(T) string) []T {
	if len(tags) == 0 {
		return nil
	}
	last := make(map[string]T, len(tags))
	for _, t := range tags {
		last[key(t)] = t
	}
	out := make([]T, 0, len(last))
	for _, t := range last {
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b T) int { return strings.Compare(key(a), key(b)) })
	return out
}

// Experiment returns an experiment of any stage, with its tags. Errors:
// ENOTFOUND, EINVALID.
func (s *TrackingService) Experiment(ctx context.Context, workspace, id string) (*hangar.Experiment, error) {
	if err := checkText("workspace name", workspace, "experiment id", id); err != nil {
		return nil, err
	}
	row, err := experimentByID(ctx, s.db, s.db.reader, workspace, id)
	if err != nil {
		return nil, fmt.Errorf("get experiment %s of workspace %q: %w", truncate(id, 64), workspace, err)
	}
	return s.withTags(ctx, workspace, row)
}

// ExperimentByName returns the experiment of that name, of any stage.
// Errors: ENOTFOUND, EINVALID.
func (s *TrackingService) ExperimentByName(ctx context.Context, workspace, name string) (*hangar.Experiment, error) {
	if err := checkText("workspace name", workspace, "experiment name", name); err != nil {
		return nil, err
	}
	row, err := scanExperiment(s.db.reader.QueryRowContext(ctx, s.db.rebind(`SELECT `+experimentColumns+` FROM experiments WHERE workspace = ? AND name = ?`), workspace, name))
	if isNoRows(err) {
		return nil, hangar.Errorf(hangar.ENOTFOUND, "Could not find experiment with name '%s'", truncate(name, 250))
	}
	if err != nil {
		return nil, fmt.Errorf("get experiment %q of workspace %q: %w", truncate(name, 64), workspace, err)
	}
	return s.withTags(ctx, workspace, row)
}

func (s *TrackingService) withTags(ctx context.Context, workspace string, row experimentRow) (*hangar.Experiment, error) {
	tags, err := experimentTags(ctx, s.db, s.db.reader, workspace, []int64{row.id})
	if err != nil {
		return nil, fmt.Errorf("get tags of experiment %d: %w", row.id, err)
	}
	e := row.experiment()
	e.Tags = tags[row.id]
	return e, nil
}

// RenameExperiment renames an active experiment. Errors: ENOTFOUND,
// EINVALID (a deleted experiment, the name), ECONFLICT.
func (s *TrackingService) RenameExperiment(ctx context.Context, workspace, id, name string) error {
	if err := hangar.ValidateExperimentName(name); err != nil {
		return err
	}
	if err := checkText("workspace name", workspace, "experiment id", id); err != nil {
		return err
	}
	err := s.db.write(ctx, func(tx *wtx) error {
		row, err := experimentByID(ctx, tx.db, tx, workspace, id)
		if err != nil {
			return err
		}
		if row.stage != hangar.LifecycleActive {
			return hangar.Errorf(hangar.EINVALID, "Cannot rename a non-active experiment.")
		}
		var taken int
		if err := tx.QueryRowContext(ctx, tx.db.rebind(`SELECT COUNT(*) FROM experiments WHERE workspace = ? AND name = ? AND id <> ?`),
			workspace, name, row.id).Scan(&taken); err != nil {
			return fmt.Errorf("look up name: %w", err)
		}
		if taken > 0 {
			return hangar.Errorf(hangar.ECONFLICT, "Experiment(name=%s) already exists.", name)
		}
		if _, err := tx.ExecContext(ctx, tx.db.rebind(`UPDATE experiments SET name = ?, last_update_time = ? WHERE workspace = ? AND id = ?`),
			name, tx.ms(), workspace, row.id); err != nil {
			return fmt.Errorf("update: %w", err)
		}
		return tx.audit(ctx, hangar.ActExperimentWrite, "experiments/"+id, workspace)
	})
	if err != nil {
		return fmt.Errorf("rename experiment %s of workspace %q: %w", truncate(id, 64), workspace, err)
	}
	return nil
}

// DeleteExperiment marks an active experiment deleted, and every run of it
// (MLflow's soft delete; the name stays taken). Errors: ENOTFOUND (also for
// a deleted experiment), EINVALID.
func (s *TrackingService) DeleteExperiment(ctx context.Context, workspace, id string) error {
	return s.setExperimentStage(ctx, workspace, id, hangar.LifecycleActive, hangar.LifecycleDeleted, hangar.ActExperimentDelete)
}

// RestoreExperiment makes a deleted experiment active again, and every run
// of it. Errors: ENOTFOUND (also for an active experiment), EINVALID.
func (s *TrackingService) RestoreExperiment(ctx context.Context, workspace, id string) error {
	return s.setExperimentStage(ctx, workspace, id, hangar.LifecycleDeleted, hangar.LifecycleActive, hangar.ActExperimentWrite)
}

func (s *TrackingService) setExperimentStage(ctx context.Context, workspace, id, from, to, action string) error {
	if err := checkText("workspace name", workspace, "experiment id", id); err != nil {
		return err
	}
	err := s.db.write(ctx, func(tx *wtx) error {
		row, err := experimentByID(ctx, tx.db, tx, workspace, id)
		if err != nil {
			return err
		}
		if row.stage != from {
			return hangar.ExperimentNotFound(id)
		}
		if _, err := tx.ExecContext(ctx, tx.db.rebind(`UPDATE experiments SET lifecycle_stage = ?, last_update_time = ? WHERE workspace = ? AND id = ?`),
			to, tx.ms(), workspace, row.id); err != nil {
			return fmt.Errorf("update: %w", err)
		}
		var deleted any // deleted_time: now when deleting, NULL when restoring
		if to == hangar.LifecycleDeleted {
			deleted = tx.ms()
		}
		if _, err := tx.ExecContext(ctx, tx.db.rebind(`UPDATE runs SET lifecycle_stage = ?, deleted_time = ? WHERE workspace = ? AND experiment_id = ?`),
			to, deleted, workspace, row.id); err != nil {
			return fmt.Errorf("update runs: %w", err)
		}
		return tx.audit(ctx, action, "experiments/"+id, workspace)
	})
	if err != nil {
		return fmt.Errorf("set experiment %s of workspace %q %s: %w", truncate(id, 64), workspace, to, err)
	}
	return nil
}

// SetExperimentTag sets a tag of an active experiment. Errors: ENOTFOUND,
// EINVALID (the tag, a deleted experiment).
func (s *TrackingService) SetExperimentTag(ctx context.Context, workspace, id string, tag hangar.ExperimentTag) error {
	if err := hangar.ValidateExperimentTag(tag); err != nil {
		return err
	}
	if err := checkText("workspace name", workspace, "experiment id", id); err != nil {
		return err
	}
	err := s.db.write(ctx, func(tx *wtx) error {
		row, err := experimentByID(ctx, tx.db, tx, workspace, id)
		if err != nil {
			return err
		}
		if row.stage != hangar.LifecycleActive {
			return hangar.ExperimentNotActive(id, row.stage)
		}
		if _, err := tx.ExecContext(ctx, tx.db.rebind(`INSERT INTO experiment_tags (workspace, experiment_id, key, value) VALUES (?, ?, ?, ?)
			ON CONFLICT (workspace, experiment_id, key) DO UPDATE SET value = excluded.value`), workspace, row.id, tag.Key, tag.Value); err != nil {
			return fmt.Errorf("upsert: %w", err)
		}
		return tx.audit(ctx, hangar.ActExperimentWrite, "experiments/"+id, workspace)
	})
	if err != nil {
		return fmt.Errorf("set tag %q of experiment %s of workspace %q: %w", truncate(tag.Key, 64), truncate(id, 64), workspace, err)
	}
	return nil
}

// Runs.

// runRow is a run's row.
type runRow struct {
	id         int64 // internal
	uuid       string
	experiment int64
	name       string
	userID     string
	status     string
	start      int64
	end        sql.NullInt64
	stage      string
	artifact   string
}

const runColumns = `r.id, r.run_uuid, r.experiment_id, r.name, r.user_id, r.status, r.start_time, r.end_time, r.lifecycle_stage, r.artifact_uri`

func scanRun(sc rowScanner) (runRow, error) {
	var r runRow
	err := sc.Scan(&r.id, &r.uuid, &r.experiment, &r.name, &r.userID, &r.status, &r.start, &r.end, &r.stage, &r.artifact)
	return r, err
}

func (r runRow) info() hangar.RunInfo {
	info := hangar.RunInfo{
		RunID: r.uuid, RunName: r.name, ExperimentID: strconv.FormatInt(r.experiment, 10), UserID: r.userID,
		Status: r.status, StartTime: r.start, ArtifactURI: r.artifact, LifecycleStage: r.stage,
	}
	if r.end.Valid {
		end := r.end.Int64
		info.EndTime = &end
	}
	return info
}

// runByID reads a run's row. Errors: ENOTFOUND.
func runByID(ctx context.Context, db *DB, q querier, workspace, id string) (runRow, error) {
	r, err := scanRun(q.QueryRowContext(ctx, db.rebind(`SELECT `+runColumns+` FROM runs r WHERE r.run_uuid = ? AND r.workspace = ?`), id, workspace))
	if isNoRows(err) {
		return r, hangar.RunNotFound(id)
	}
	return r, err
}

// activeRun reads the row of a run that may be changed. Errors: ENOTFOUND,
// EINVALID (a deleted run).
func (tx *wtx) activeRun(ctx context.Context, workspace, id string) (runRow, error) {
	r, err := runByID(ctx, tx.db, tx, workspace, id)
	if err != nil {
		return r, err
	}
	if r.stage != hangar.LifecycleActive {
		return r, hangar.RunNotActive(id, r.stage)
	}
	return r, nil
}

// CreateRun starts a run in an active experiment ("" is the Default one):
// RUNNING, active, named by RunName, else its mlflow.runName tag, else a
// made-up name, which the tag then also holds. Errors: ENOTFOUND
// (experiment), EINVALID (a deleted experiment, a name and tag that
// differ, tags).
func (s *TrackingService) CreateRun(ctx context.Context, workspace string, c hangar.RunCreate) (*hangar.Run, error) {
	expID := c.ExperimentID
	if expID == "" {
		expID = hangar.DefaultExperimentID
	}
	tags := lastTags(c.Tags, func(t hangar.RunTag) string { return t.Key })
	if len(tags) > hangar.MaxBatchTags {
		return nil, hangar.Errorf(hangar.EINVALID, "A run can be created with at most %d tags. Got %d tags.", hangar.MaxBatchTags, len(tags))
	}
	for _, t := range tags {
		if err := hangar.ValidateRunTag(t); err != nil {
			return nil, err
		}
	}
	if err := checkText("workspace name", workspace, "experiment id", expID, "user_id", c.UserID, "run_name", c.RunName); err != nil {
		return nil, err
	}
	name := c.RunName
	i := slices.IndexFunc(tags, func(t hangar.RunTag) bool { return t.Key == hangar.TagRunName })
	switch {
	case i >= 0 && name != "" && tags[i].Value != name:
		return nil, hangar.Errorf(hangar.EINVALID, "Both 'run_name' argument and 'mlflow.runName' tag are specified, but with different values (run_name='%s', mlflow.runName='%s').",
			truncate(name, 250), truncate(tags[i].Value, 250))
	case i >= 0 && name == "":
		name = tags[i].Value
	case i < 0:
		if name == "" {
			name = hangar.NewRunName()
		}
		tags = lastTags(append(tags, hangar.RunTag{Key: hangar.TagRunName, Value: name}), func(t hangar.RunTag) string { return t.Key })
	}
	if utf8.RuneCountInString(name) > hangar.MaxRunTagValueLength {
		return nil, hangar.Errorf(hangar.EINVALID, "run_name is %d characters long; the limit is %d", utf8.RuneCountInString(name), hangar.MaxRunTagValueLength)
	}
	run := &hangar.Run{Data: hangar.RunData{Tags: tags}}
	err := s.db.write(ctx, func(tx *wtx) error {
		exp, err := experimentByID(ctx, tx.db, tx, workspace, expID)
		if err != nil {
			return err
		}
		if exp.stage != hangar.LifecycleActive {
			return hangar.ExperimentNotActive(expID, exp.stage)
		}
		uuid := hangar.NewID()
		run.Info = hangar.RunInfo{
			RunID: uuid, RunName: name, ExperimentID: expID, UserID: c.UserID, Status: hangar.RunRunning,
			StartTime: c.StartTime, ArtifactURI: hangar.RunArtifactURI(exp.location, uuid), LifecycleStage: hangar.LifecycleActive,
		}
		var id int64
		err = tx.QueryRowContext(ctx, tx.db.rebind(`INSERT INTO runs
			(run_uuid, workspace, experiment_id, name, user_id, status, start_time, lifecycle_stage, artifact_uri)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
			uuid, workspace, exp.id, name, c.UserID, run.Info.Status, c.StartTime, run.Info.LifecycleStage, run.Info.ArtifactURI).Scan(&id)
		if err != nil {
			return fmt.Errorf("insert: %w", err)
		}
		if err := tx.upsertTags(ctx, id, tags); err != nil {
			return err
		}
		return tx.audit(ctx, hangar.ActRunWrite, "runs/"+uuid, workspace)
	})
	if err != nil {
		return nil, fmt.Errorf("create run in experiment %s of workspace %q: %w", truncate(expID, 64), workspace, err)
	}
	return run, nil
}

// upsertTags sets tags of a run, which have distinct keys.
func (tx *wtx) upsertTags(ctx context.Context, run int64, tags []hangar.RunTag) error {
	if len(tags) == 0 {
		return nil
	}
	args := make([]any, 0, 3*len(tags))
	for _, t := range tags {
		args = append(args, run, t.Key, t.Value)
	}
	if err := tx.insertRows(ctx, "tags (run, key, value)", 3, "ON CONFLICT (run, key) DO UPDATE SET value = excluded.value", args); err != nil {
		return fmt.Errorf("upsert tags: %w", err)
	}
	return nil
}

// Run returns a run of any stage with its latest metrics, params, tags and
// inputs. Errors: ENOTFOUND, EINVALID.
func (s *TrackingService) Run(ctx context.Context, workspace, id string) (*hangar.Run, error) {
	if err := checkText("workspace name", workspace, "run id", id); err != nil {
		return nil, err
	}
	run, err := readTx(ctx, s.db, func(q querier) (*hangar.Run, error) {
		r, err := runByID(ctx, s.db, q, workspace, id)
		if err != nil {
			return nil, err
		}
		runs, err := loadRuns(ctx, s.db, q, []runRow{r})
		if err != nil {
			return nil, err
		}
		return runs[0], nil
	})
	if err != nil {
		return nil, fmt.Errorf("get run %s of workspace %q: %w", truncate(id, 64), workspace, err)
	}
	return run, nil
}

// readTx runs fn in a read-only transaction, so that a run and its rows are
// read from one state of the database.
func readTx[T any](ctx context.Context, db *DB, fn func(q querier) (T, error)) (T, error) {
	var zero T
	tx, err := db.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: db.dialect == DialectPostgres})
	if err != nil {
		return zero, fmt.Errorf("begin read transaction: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // reads only
	v, err := fn(tx)
	if err != nil {
		return zero, err
	}
	return v, tx.Commit()
}

// loadRuns reads the latest metrics, params, tags and inputs of the runs,
// in the runs' order.
func loadRuns(ctx context.Context, db *DB, q querier, rows []runRow) ([]*hangar.Run, error) {
	runs := make([]*hangar.Run, len(rows))
	byID := make(map[int64]*hangar.Run, len(rows))
	ids := make([]int64, len(rows))
	for i, r := range rows {
		runs[i] = &hangar.Run{Info: r.info()}
		byID[r.id] = runs[i]
		ids[i] = r.id
	}
	for chunk := range slices.Chunk(ids, maxInsertRows) {
		in := `(` + placeholders(len(chunk)) + `)`
		args := int64Args(chunk)
		// Ids are scanned into interface values, database/sql's fast path
		// (into *int64 it reflects on every row); the run's slices are
		// sized from the first chunk's counts of a page.
		var run any
		var key, value string
		kv := []any{&run, &key, &value}
		runOf := func() (*hangar.Run, error) {
			id, ok := run.(int64)
			if !ok || byID[id] == nil {
				return nil, fmt.Errorf("unexpected run %v", run)
			}
			return byID[id], nil
		}
		if err := eachRow(ctx, db, q, `SELECT run, key, value FROM params WHERE run IN `+in+` ORDER BY run, key`, args, func(sc rowScanner) error {
			if err := sc.Scan(kv...); err != nil {
				return err
			}
			r, err := runOf()
			if err != nil {
				return err
			}
			r.Data.Params = append(r.Data.Params, hangar.Param{Key: key, Value: value})
			return nil
		}); err != nil {
			return nil, fmt.Errorf("read params: %w", err)
		}
		if err := eachRow(ctx, db, q, `SELECT run, key, value FROM tags WHERE run IN `+in+` ORDER BY run, key`, args, func(sc rowScanner) error {
			if err := sc.Scan(kv...); err != nil {
				return err
			}
			r, err := runOf()
			if err != nil {
				return err
			}
			r.Data.Tags = append(r.Data.Tags, hangar.RunTag{Key: key, Value: value})
			return nil
		}); err != nil {
			return nil, fmt.Errorf("read tags: %w", err)
		}
		// A NaN is read as NULL, as in MetricHistory.
		var ts, step, mv any
		point := []any{&run, &key, &ts, &step, &mv}
		if err := eachRow(ctx, db, q, `SELECT run, key, timestamp, step, CASE WHEN is_nan = 0 THEN value END FROM latest_metrics WHERE run IN `+in+` ORDER BY run, key`, args, func(sc rowScanner) error {
			if err := sc.Scan(point...); err != nil {
				return err
			}
			r, err := runOf()
			if err != nil {
				return err
			}
			m, err := metricOf(key, ts, step, mv)
			if err != nil {
				return err
			}
			r.Data.Metrics = append(r.Data.Metrics, m)
			return nil
		}); err != nil {
			return nil, fmt.Errorf("read latest metrics: %w", err)
		}
		type inputAt struct {
			id, run int64
			i       int // in the run's DatasetInputs
		}
		var found []inputAt
		if err := eachRow(ctx, db, q, `SELECT i.run, i.id, d.name, d.digest, d.source_type, d.source, d.schema, d.profile
			FROM inputs i JOIN datasets d ON d.id = i.dataset WHERE i.run IN `+in+` ORDER BY i.run, i.id`, args, func(sc rowScanner) error {
			var run, id int64
			var d hangar.Dataset
			if err := sc.Scan(&run, &id, &d.Name, &d.Digest, &d.SourceType, &d.Source, &d.Schema, &d.Profile); err != nil {
				return err
			}
			r := byID[run]
			found = append(found, inputAt{id, run, len(r.Inputs.DatasetInputs)})
			r.Inputs.DatasetInputs = append(r.Inputs.DatasetInputs, hangar.DatasetInput{Dataset: d})
			return nil
		}); err != nil {
			return nil, fmt.Errorf("read inputs: %w", err)
		}
		// Pointers into the runs' input slices, now that they stop growing.
		inputs := make(map[int64]*hangar.DatasetInput, len(found))
		inputIDs := make([]int64, len(found))
		for k, f := range found {
			inputs[f.id] = &byID[f.run].Inputs.DatasetInputs[f.i]
			inputIDs[k] = f.id
		}
		for tagChunk := range slices.Chunk(inputIDs, maxInsertRows) {
			if err := eachRow(ctx, db, q, `SELECT input, key, value FROM input_tags WHERE input IN (`+placeholders(len(tagChunk))+`) ORDER BY input, key`, int64Args(tagChunk), func(sc rowScanner) error {
				var input int64
				var t hangar.InputTag
				if err := sc.Scan(&input, &t.Key, &t.Value); err != nil {
					return err
				}
				inputs[input].Tags = append(inputs[input].Tags, t)
				return nil
			}); err != nil {
				return nil, fmt.Errorf("read input tags: %w", err)
			}
		}
	}
	return runs, nil
}

// eachRow runs a query and calls fn on each row.
func eachRow(ctx context.Context, db *DB, q querier, query string, args []any, fn func(rowScanner) error) error {
	rows, err := q.QueryContext(ctx, db.rebind(query), args...)
	if err != nil {
		return err
	}
	for rows.Next() {
		if err := fn(rows); err != nil {
			return closeRows(rows, err)
		}
	}
	return closeRows(rows, nil)
}

// metricOf makes a point of key from the interface values of timestamp,
// step and value, a NULL value standing for NaN.
func metricOf(key string, ts, step, value any) (hangar.Metric, error) {
	m := hangar.Metric{Key: key, Value: math.NaN()}
	var ok1, ok2, ok3 bool
	m.Timestamp, ok1 = ts.(int64)
	m.Step, ok2 = step.(int64)
	if value != nil {
		m.Value, ok3 = value.(float64)
	} else {
		ok3 = true
	}
	if !ok1 || !ok2 || !ok3 {
		return m, fmt.Errorf("scan metric point: got %T, %T, %T", ts, step, value)
	}
	return m, nil
}

// UpdateRun changes the status, end time and name of an active run; a name
// also sets the mlflow.runName tag. Errors: ENOTFOUND, EINVALID.
func (s *TrackingService) UpdateRun(ctx context.Context, workspace, id string, u hangar.RunUpdate) (*hangar.RunInfo, error) {
	if u.Status != "" {
		if err := hangar.ValidateRunStatus(u.Status); err != nil {
			return nil, err
		}
	}
	if u.RunName != "" {
		if err := hangar.ValidateRunTag(hangar.RunTag{Key: hangar.TagRunName, Value: u.RunName}); err != nil {
			return nil, err
		}
	}
	if err := checkText("workspace name", workspace, "run id", id); err != nil {
		return nil, err
	}
	var info hangar.RunInfo
	err := s.db.write(ctx, func(tx *wtx) error {
		r, err := tx.activeRun(ctx, workspace, id)
		if err != nil {
			return err
		}
		if u.Status != "" {
			r.status = u.Status
		}
		if u.EndTime != nil {
			r.end = sql.NullInt64{Int64: *u.EndTime, Valid: true}
		}
		if u.RunName != "" {
			r.name = u.RunName
			if err := tx.upsertTags(ctx, r.id, []hangar.RunTag{{Key: hangar.TagRunName, Value: u.RunName}}); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, tx.db.rebind(`UPDATE runs SET status = ?, end_time = ?, name = ? WHERE id = ?`),
			r.status, r.end, r.name, r.id); err != nil {
			return fmt.Errorf("update: %w", err)
		}
		info = r.info()
		return tx.audit(ctx, hangar.ActRunWrite, "runs/"+id, workspace)
	})
	if err != nil {
		return nil, fmt.Errorf("update run %s of workspace %q: %w", truncate(id, 64), workspace, err)
	}
	return &info, nil
}

// DeleteRun marks a run deleted; deleting a deleted run again is fine, as
// in MLflow. Errors: ENOTFOUND, EINVALID.
func (s *TrackingService) DeleteRun(ctx context.Context, workspace, id string) error {
	return s.setRunStage(ctx, workspace, id, hangar.LifecycleDeleted, hangar.ActRunDelete)
}

// RestoreRun makes a run active; restoring an active run is fine. Errors:
// ENOTFOUND, EINVALID.
func (s *TrackingService) RestoreRun(ctx context.Context, workspace, id string) error {
	return s.setRunStage(ctx, workspace, id, hangar.LifecycleActive, hangar.ActRunWrite)
}

func (s *TrackingService) setRunStage(ctx context.Context, workspace, id, to, action string) error {
	if err := checkText("workspace name", workspace, "run id", id); err != nil {
		return err
	}
	err := s.db.write(ctx, func(tx *wtx) error {
		r, err := runByID(ctx, tx.db, tx, workspace, id)
		if err != nil {
			return err
		}
		var deleted any
		if to == hangar.LifecycleDeleted {
			deleted = tx.ms()
		}
		if _, err := tx.ExecContext(ctx, tx.db.rebind(`UPDATE runs SET lifecycle_stage = ?, deleted_time = ? WHERE id = ?`), to, deleted, r.id); err != nil {
			return fmt.Errorf("update: %w", err)
		}
		return tx.audit(ctx, action, "runs/"+id, workspace)
	})
	if err != nil {
		return fmt.Errorf("set run %s of workspace %q %s: %w", truncate(id, 64), workspace, to, err)
	}
	return nil
}

// LogBatch logs metrics, params and tags to an active run in one
// transaction with one audit event. Errors: EINVALID
// (hangar.ValidateRunID, hangar.ValidateLogBatch, a param logged before
// with another value, a deleted run), ENOTFOUND.
func (s *TrackingService) LogBatch(ctx context.Context, workspace, runID string, b hangar.LogBatch) error {
	if err := hangar.ValidateRunID(runID); err != nil {
		return err
	}
	if err := hangar.ValidateLogBatch(b); err != nil {
		return err
	}
	return s.logBatch(ctx, workspace, runID, b)
}

func (s *TrackingService) logBatch(ctx context.Context, workspace, runID string, b hangar.LogBatch) error {
	if err := checkText("workspace name", workspace, "run id", runID); err != nil {
		return err
	}
	tags := lastTags(b.Tags, func(t hangar.RunTag) string { return t.Key })
	latest := latestByKey(b.Metrics)
	sorted := sortByKey(b.Metrics)
	queries := append(s.db.chunkQueries(sorted), s.db.insertQueries(latestInto, 6, len(latest), latestTail)...)
	if err := s.stmts.prepare(ctx, s.db, queries...); err != nil {
		return fmt.Errorf("log to run %s of workspace %q: %w", truncate(runID, 64), workspace, err)
	}
	if len(b.Params) == 0 && len(b.Tags) == 0 && len(b.ModelMetrics) == 0 {
		return s.logMetricsOnly(ctx, workspace, runID, sorted, latest)
	}
	err := s.db.write(ctx, func(tx *wtx) error {
		r, err := tx.activeRun(ctx, workspace, runID)
		if err != nil {
			return err
		}
		if err := tx.logParams(ctx, r, b.Params, len(b.Metrics)+len(b.Tags) == 0); err != nil {
			return err
		}
		if err := tx.logMetrics(ctx, s.stmts, r.id, sorted, latest); err != nil {
			return err
		}
		if err := tx.logModelMetrics(ctx, workspace, r.id, b.ModelMetrics); err != nil {
			return err
		}
		if err := tx.upsertTags(ctx, r.id, tags); err != nil {
			return err
		}
		if i := slices.IndexFunc(tags, func(t hangar.RunTag) bool { return t.Key == hangar.TagRunName }); i >= 0 {
			if _, err := tx.ExecContext(ctx, tx.db.rebind(`UPDATE runs SET name = ? WHERE id = ?`), tags[i].Value, r.id); err != nil {
				return fmt.Errorf("rename: %w", err)
			}
		}
		return tx.audit(ctx, hangar.ActRunWrite, "runs/"+runID, workspace)
	})
	if err != nil {
		return fmt.Errorf("log to run %s of workspace %q: %w", truncate(runID, 64), workspace, err)
	}
	return nil
}

// logMetricsOnly is logBatch for a batch of metrics alone, the path of
// runs/log-metric and of most log-batch calls: the run row is locked
// against a concurrent delete instead of the whole store, and the audit
// event is appended only when MetricAuditWindow says this actor's writes
// to the run are not covered by an earlier one.
func (s *TrackingService) logMetricsOnly(ctx context.Context, workspace, runID string, metrics, latest []hangar.Metric) error {
	key := auditWindowKey(workspace, runID, hangar.ActorFrom(ctx).IdentityID)
	var audited time.Time
	// Whether this write appends an audit event is decided before it
	// begins: one that does locks the chain head first, as every other
	// write does, and only then the run's row — locking the run and then
	// the head would deadlock on PostgreSQL with a run delete, which holds
	// the head and waits for the run's row.
	write := s.db.writeLazy
	if s.audits.due(key, s.db.now()) {
		write = s.db.write
	} else if s.db.dialect == DialectPostgres && countKeys(metrics) == 1 && len(metrics)*pointSize < appendMaxBytes {
		if err := s.appendMetricPostgres(ctx, workspace, runID, metrics, latest[0]); err != nil {
			return fmt.Errorf("log to run %s of workspace %q: %w", truncate(runID, 64), workspace, err)
		}
		return nil
	}
	wctx := context.WithoutCancel(ctx) // the statements' (see writeTx)
	err := write(ctx, func(tx *wtx) error {
		ctx := wctx
		r, err := tx.lockActiveRun(ctx, workspace, runID)
		if err != nil {
			return err
		}
		if err := tx.logMetrics(ctx, s.stmts, r.id, metrics, latest); err != nil {
			return err
		}
		if !tx.headRead {
			return nil
		}
		audited = tx.now
		return tx.audit(ctx, hangar.ActRunWrite, "runs/"+runID, workspace)
	})
	if err != nil {
		return fmt.Errorf("log to run %s of workspace %q: %w", truncate(runID, 64), workspace, err)
	}
	if !audited.IsZero() {
		s.audits.committed(key, audited)
	}
	return nil
}

// appendMetricPostgres is logMetricsOnly's write on PostgreSQL for a small
// batch of one key that no audit event is due for — every runs/log-metric
// but one a minute — as one statement, so one round trip instead of five
// (BEGIN, the run's lock, the chunk append or insert, the latest point,
// COMMIT). A single statement is a transaction of its own: it locks the
// run's row first (the scalar subqueries that need r run before the
// writes, as a run delete locks the run before the chunks), appends to the
// key's newest chunk while that is small or else inserts a chunk, and
// moves the latest point — all or nothing. An unknown or deleted run
// writes nothing and is answered as logMetricsOnly answers it. The latest
// point waits for the chunk's write (it reads what that returned), so the
// rows are locked in the order of every other metric write: run, chunk,
// latest point.
func (s *TrackingService) appendMetricPostgres(ctx context.Context, workspace, runID string, metrics []hangar.Metric, latest hangar.Metric) error {
	points := packPoints(nil, metrics)
	isNaN, v := metricValue(latest.Value)
	var id sql.NullInt64
	var stage sql.NullString
	err := s.db.writer.QueryRowContext(context.WithoutCancel(ctx), appendMetricPostgresSQL,
		runID, workspace, points, latest.Key, appendMaxBytes-len(points), latest.Timestamp, latest.Step, int16(isNaN), v,
	).Scan(&id, &stage)
	switch {
	case isNoRows(err):
		return hangar.RunNotFound(runID)
	case err != nil:
		return fmt.Errorf("append metric: %w", err)
	case stage.String != hangar.LifecycleActive:
		return hangar.RunNotActive(runID, stage.String)
	}
	return nil
}

// appendMetricPostgresSQL is appendMetricPostgres's statement: $1 run id,
// $2 workspace, $3 packed points, $4 key, $5 the most bytes the newest
// chunk may have for the points to be appended to it, $6–$9 the latest
// point (timestamp, step, is_nan, value).
const appendMetricPostgresSQL = `WITH r AS (
	SELECT id, lifecycle_stage FROM runs WHERE run_uuid = $1 AND workspace = $2 FOR SHARE
), a AS (
	SELECT id FROM r WHERE lifecycle_stage = '` + hangar.LifecycleActive + `'
), app AS (
	UPDATE metric_chunks SET points = points || $3
	WHERE id = (SELECT max(id) FROM metric_chunks WHERE run = (SELECT id FROM a) AND key = $4) AND length(points) <= $5
	RETURNING 1
), ins AS (
	INSERT INTO metric_chunks (run, key, points) SELECT id, $4, $3 FROM a WHERE NOT EXISTS (SELECT 1 FROM app)
	RETURNING 1
), lat AS (
	INSERT INTO latest_metrics (run, key, timestamp, step, is_nan, value) SELECT id, $4, $6, $7, $8, $9 FROM a
	WHERE EXISTS (SELECT 1 FROM app UNION ALL SELECT 1 FROM ins)
	` + latestTail + `
)
SELECT id, lifecycle_stage FROM r`

// lockActiveRun reads the id of an active run and, on PostgreSQL, locks
// its row so that a concurrent delete waits for this transaction (on
// SQLite the transaction holds the database's write lock already).
// Errors: ENOTFOUND, EINVALID (a deleted run).
func (tx *wtx) lockActiveRun(ctx context.Context, workspace, id string) (runRow, error) {
	q := `SELECT id, run_uuid, lifecycle_stage FROM runs WHERE run_uuid = ? AND workspace = ?`
	if tx.db.dialect == DialectPostgres {
		q += ` FOR SHARE`
	}
	var r runRow
	err := tx.QueryRowContext(ctx, tx.db.rebind(q), id, workspace).Scan(&r.id, &r.uuid, &r.stage)
	switch {
	case isNoRows(err):
		return r, hangar.RunNotFound(id)
	case err != nil:
		return r, err
	case r.stage != hangar.LifecycleActive:
		return r, hangar.RunNotActive(id, r.stage)
	}
	return r, nil
}

// logParams stores the params not logged before, after checking that none
// was logged with another value (then nothing is stored). alone says the
// batch holds only params, for MLflow's message of log-parameter.
func (tx *wtx) logParams(ctx context.Context, r runRow, params []hangar.Param, alone bool) error {
	if len(params) == 0 {
		return nil
	}
	stored := make(map[string]string, len(params))
	for chunk := range slices.Chunk(params, maxInsertRows) {
		args := []any{r.id}
		for _, p := range chunk {
			args = append(args, p.Key)
		}
		if err := eachRow(ctx, tx.db, tx, `SELECT key, value FROM params WHERE run = ? AND key IN (`+placeholders(len(chunk))+`)`, args, func(sc rowScanner) error {
			var k, v string
			if err := sc.Scan(&k, &v); err != nil {
				return err
			}
			stored[k] = v
			return nil
		}); err != nil {
			return fmt.Errorf("read params: %w", err)
		}
	}
	var changed []string
	args := make([]any, 0, 3*len(params))
	for _, p := range params {
		old, ok := stored[p.Key]
		switch {
		case !ok:
			args = append(args, r.id, p.Key, p.Value)
		case old != p.Value:
			if alone && len(params) == 1 {
				return hangar.Errorf(hangar.EINVALID, "Changing param values is not allowed. Param with key='%s' was already logged with value='%s' for run ID='%s'. Attempted logging new value '%s'.",
					p.Key, truncate(old, 250), r.uuid, truncate(p.Value, 250))
			}
			changed = append(changed, fmt.Sprintf("{'key': '%s', 'old_value': '%s', 'new_value': '%s'}", p.Key, truncate(old, 250), truncate(p.Value, 250)))
		}
	}
	if len(changed) > 0 {
		return hangar.Errorf(hangar.EINVALID, "Changing param values is not allowed. Params were already logged='[%s]' for run ID='%s'.", strings.Join(changed, ", "), r.uuid)
	}
	if err := tx.insertRows(ctx, "params (run, key, value)", 3, "", args); err != nil {
		return fmt.Errorf("insert params: %w", err)
	}
	return nil
}

// latestByKey returns the latest of the points of each key, in the order
// the keys first come (hangar.LatestMetricLess; of equal points the first).
func latestByKey(metrics []hangar.Metric) []hangar.Metric {
	if len(metrics) == 0 {
		return nil
	}
	at := make(map[string]int, 8)
	var out []hangar.Metric
	for _, m := range metrics {
		i, ok := at[m.Key]
		switch {
		case !ok:
			at[m.Key] = len(out)
			out = append(out, m)
		case hangar.LatestMetricLess(out[i], m):
			out[i] = m
		}
	}
	return out
}

// metricValue is how a metric value is stored: NaN as 0 with the is_nan
// flag (SQLite turns a NaN into NULL), anything else as it is.
func metricValue(v float64) (isNaN int, value float64) {
	if math.IsNaN(v) {
		return 1, 0
	}
	return 0, v
}

// The statement that moves the latest points: the stored value of a NaN is
// 0, so (step, timestamp, value) compares as hangar.LatestMetricLess does.
const (
	latestInto = "latest_metrics (run, key, timestamp, step, is_nan, value)"
	latestTail = `ON CONFLICT (run, key) DO UPDATE SET timestamp = excluded.timestamp, step = excluded.step, is_nan = excluded.is_nan, value = excluded.value
		WHERE (excluded.step, excluded.timestamp, excluded.value) > (latest_metrics.step, latest_metrics.timestamp, latest_metrics.value)`
)

// sortByKey returns the metrics grouped by key, each key's in the order
// logged: a chunk per key. (Reads sort a metric's points; logged in order,
// they are found sorted.)
func sortByKey(metrics []hangar.Metric) []hangar.Metric {
	sorted := slices.Clone(metrics)
	slices.SortStableFunc(sorted, func(a, b hangar.Metric) int { return strings.Compare(a.Key, b.Key) })
	return sorted
}

// logMetrics stores every point, sorted by sortByKey, and moves each key's
// latest point forward where latest, the batch's latest per key, is later
// than the stored one.
func (tx *wtx) logMetrics(ctx context.Context, cache *stmtCache, run int64, sorted, latest []hangar.Metric) error {
	if len(sorted) == 0 {
		return nil
	}
	if err := tx.logMetricChunks(ctx, cache, run, sorted); err != nil {
		return err
	}
	if tx.db.dialect == DialectPostgres {
		return tx.latestMetricsPostgres(ctx, run, latest)
	}
	args := make([]any, 0, 6*len(latest))
	for _, m := range latest {
		isNaN, v := metricValue(m.Value)
		args = append(args, run, m.Key, m.Timestamp, m.Step, isNaN, v)
	}
	if err := tx.insertRowsCached(ctx, cache, latestInto, 6, latestTail, args); err != nil {
		return fmt.Errorf("update latest metrics: %w", err)
	}
	return nil
}

// latestMetricsPostgres moves the latest points on PostgreSQL: they go as
// five arrays that unnest makes rows of, one statement of six parameters
// however many keys the batch has.
func (tx *wtx) latestMetricsPostgres(ctx context.Context, run int64, latest []hangar.Metric) error {
	const columns = `SELECT $1::bigint, k, t, s, n, v FROM unnest($2::text[], $3::bigint[], $4::bigint[], $5::smallint[], $6::double precision[]) AS p (k, t, s, n, v)`
	keys, ts, steps := make([]string, len(latest)), make([]int64, len(latest)), make([]int64, len(latest))
	nans, values := make([]int16, len(latest)), make([]float64, len(latest))
	for i, m := range latest {
		isNaN, v := metricValue(m.Value)
		keys[i], ts[i], steps[i], nans[i], values[i] = m.Key, m.Timestamp, m.Step, int16(isNaN), v
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO latest_metrics (run, key, timestamp, step, is_nan, value) `+columns+` `+latestTail, run, keys, ts, steps, nans, values); err != nil {
		return fmt.Errorf("update latest metrics: %w", err)
	}
	return nil
}

// SetRunTag sets a tag of an active run; mlflow.runName also renames the
// run. Errors: EINVALID, ENOTFOUND.
func (s *TrackingService) SetRunTag(ctx context.Context, workspace, runID string, tag hangar.RunTag) error {
	if err := hangar.ValidateRunTag(tag); err != nil {
		return err
	}
	return s.logBatch(ctx, workspace, runID, hangar.LogBatch{Tags: []hangar.RunTag{tag}})
}

// DeleteRunTag deletes a tag of an active run. Errors: ENOTFOUND (run or
// tag), EINVALID (a deleted run).
func (s *TrackingService) DeleteRunTag(ctx context.Context, workspace, runID, key string) error {
	if err := checkText("workspace name", workspace, "run id", runID, "tag key", key); err != nil {
		return err
	}
	err := s.db.write(ctx, func(tx *wtx) error {
		r, err := tx.activeRun(ctx, workspace, runID)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, tx.db.rebind(`DELETE FROM tags WHERE run = ? AND key = ?`), r.id, key)
		if err != nil {
			return fmt.Errorf("delete: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("delete: %w", err)
		} else if n == 0 {
			return hangar.Errorf(hangar.ENOTFOUND, "No tag with name: %s in run with id %s", truncate(key, 250), runID)
		}
		return tx.audit(ctx, hangar.ActRunWrite, "runs/"+runID, workspace)
	})
	if err != nil {
		return fmt.Errorf("delete tag %q of run %s of workspace %q: %w", truncate(key, 64), truncate(runID, 64), workspace, err)
	}
	return nil
}

// LogInputs records datasets an active run used: each (name, digest) is
// stored once per experiment (the first description kept), each input once
// per run with the tags of its first logging; of a request's inputs with
// the same dataset the first counts. Errors: EINVALID, ENOTFOUND.
func (s *TrackingService) LogInputs(ctx context.Context, workspace, runID string, inputs []hangar.DatasetInput) error {
	if err := hangar.ValidateRunID(runID); err != nil {
		return err
	}
	if err := hangar.ValidateDatasetInputs(inputs); err != nil {
		return err
	}
	if err := checkText("workspace name", workspace); err != nil {
		return err
	}
	type key struct{ name, digest string }
	seen := map[key]bool{}
	var unique []hangar.DatasetInput
	for _, in := range inputs {
		k := key{in.Dataset.Name, in.Dataset.Digest}
		if !seen[k] {
			seen[k] = true
			unique = append(unique, in)
		}
	}
	err := s.db.write(ctx, func(tx *wtx) error {
		r, err := tx.activeRun(ctx, workspace, runID)
		if err != nil {
			return err
		}
		for _, in := range unique {
			d := in.Dataset
			var dataset int64
			err := tx.QueryRowContext(ctx, tx.db.rebind(`SELECT id FROM datasets WHERE workspace = ? AND experiment_id = ? AND name = ? AND digest = ?`),
				workspace, r.experiment, d.Name, d.Digest).Scan(&dataset)
			if isNoRows(err) {
				err = tx.QueryRowContext(ctx, tx.db.rebind(`INSERT INTO datasets
					(workspace, experiment_id, name, digest, source_type, source, schema, profile) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
					workspace, r.experiment, d.Name, d.Digest, d.SourceType, d.Source, d.Schema, d.Profile).Scan(&dataset)
			}
			if err != nil {
				return fmt.Errorf("store dataset %q: %w", truncate(d.Name, 64), err)
			}
			var input int64
			err = tx.QueryRowContext(ctx, tx.db.rebind(`INSERT INTO inputs (run, dataset) VALUES (?, ?) ON CONFLICT (run, dataset) DO NOTHING RETURNING id`),
				r.id, dataset).Scan(&input)
			if isNoRows(err) {
				continue // logged before: its tags stay
			}
			if err != nil {
				return fmt.Errorf("store input: %w", err)
			}
			tags := lastTags(in.Tags, func(t hangar.InputTag) string { return t.Key })
			args := make([]any, 0, 3*len(tags))
			for _, t := range tags {
				args = append(args, input, t.Key, t.Value)
			}
			if err := tx.insertRows(ctx, "input_tags (input, key, value)", 3, "", args); err != nil {
				return fmt.Errorf("store input tags: %w", err)
			}
		}
		return tx.audit(ctx, hangar.ActRunWrite, "runs/"+runID, workspace)
	})
	if err != nil {
		return fmt.Errorf("log inputs of run %s of workspace %q: %w", truncate(runID, 64), workspace, err)
	}
	return nil
}

// LogModel appends a logged model's description to the run's
// mlflow.log-model.history tag. Errors: EINVALID (hangar.LogModelEntry, a
// full history, a deleted run), ENOTFOUND.
func (s *TrackingService) LogModel(ctx context.Context, workspace, runID, modelJSON string) error {
	entry, err := hangar.LogModelEntry(modelJSON)
	if err != nil {
		return err
	}
	if err := checkText("workspace name", workspace, "run id", runID, "model_json", modelJSON); err != nil {
		return err
	}
	err = s.db.write(ctx, func(tx *wtx) error {
		r, err := tx.activeRun(ctx, workspace, runID)
		if err != nil {
			return err
		}
		var history string
		err = tx.QueryRowContext(ctx, tx.db.rebind(`SELECT value FROM tags WHERE run = ? AND key = ?`), r.id, hangar.TagLogModelHistory).Scan(&history)
		if err != nil && !isNoRows(err) {
			return fmt.Errorf("read history: %w", err)
		}
		history, err = hangar.AppendLogModelHistory(history, entry)
		if err != nil {
			return err
		}
		if err := tx.upsertTags(ctx, r.id, []hangar.RunTag{{Key: hangar.TagLogModelHistory, Value: history}}); err != nil {
			return err
		}
		return tx.audit(ctx, hangar.ActRunWrite, "runs/"+runID, workspace)
	})
	if err != nil {
		return fmt.Errorf("log model to run %s of workspace %q: %w", truncate(runID, 64), workspace, err)
	}
	return nil
}

// MetricHistory returns a page of the points of a run's metric, ordered by
// timestamp, step, then value (a NaN after every number), continuing
// strictly after the page token's point. A run that does not exist has no
// points, as in MLflow. Errors: EINVALID (page token, page size).
func (s *TrackingService) MetricHistory(ctx context.Context, workspace, runID, key string, opt hangar.ListOptions) (*hangar.Page[hangar.Metric], error) {
	if err := checkText("workspace name", workspace, "run id", runID, "metric key", key); err != nil {
		return nil, err
	}
	if err := opt.Validate(); err != nil {
		return nil, err
	}
	limit := opt.MaxResults
	switch {
	case limit <= 0:
		limit = hangar.DefaultMetricHistoryResults
	case limit > hangar.MaxMetricHistoryResults:
		limit = hangar.MaxMetricHistoryResults
	}
	list := "metric history"
	after, err := decodePageToken(opt.PageToken, list, 5)
	if err != nil {
		return nil, err
	}
	var from *hangar.Metric
	if after != nil {
		if after[0] != runID+"/"+key {
			return nil, badPageToken(opt.PageToken, list)
		}
		ts, err1 := strconv.ParseInt(after[1], 10, 64)
		step, err2 := strconv.ParseInt(after[2], 10, 64)
		isNaN, err3 := strconv.ParseInt(after[3], 10, 64)
		v, err4 := strconv.ParseFloat(after[4], 64)
		if err1 != nil || err2 != nil || err3 != nil || err4 != nil || math.IsNaN(v) || isNaN < 0 || isNaN > 1 {
			return nil, badPageToken(opt.PageToken, list)
		}
		if isNaN == 1 {
			v = math.NaN()
		}
		from = &hangar.Metric{Timestamp: ts, Step: step, Value: v}
	}
	// Every chunk of the metric, then the points in order without exact
	// duplicates: a metric's points are read whole, a page cut from them.
	// The chunks' bytes are gathered first, so that the points are
	// allocated once.
	var packed []byte
	var chunk sql.RawBytes
	err = eachRow(ctx, s.db, preparedReader{s.db}, `SELECT c.points FROM metric_chunks c JOIN runs r ON r.id = c.run
		WHERE r.run_uuid = ? AND r.workspace = ? AND c.key = ?`, []any{runID, workspace, key}, func(sc rowScanner) error {
		if err := sc.Scan(&chunk); err != nil {
			return err
		}
		if len(chunk)%pointSize != 0 {
			return fmt.Errorf("metric chunk of %d bytes: not a whole number of %d-byte points", len(chunk), pointSize)
		}
		packed = append(packed, chunk...)
		return nil
	})
	if err == nil {
		var points []hangar.Metric
		points, err = unpackPoints(make([]hangar.Metric, 0, len(packed)/pointSize), key, packed)
		packed = nil
		if err == nil {
			return historyPage(points, from, limit, runID, key, list), nil
		}
	}
	return nil, fmt.Errorf("metric history of %q of run %s of workspace %q: %w", truncate(key, 64), truncate(runID, 64), workspace, err)
}

// historyPage is the page of a metric's points after from (all when nil),
// sorted and without duplicates, of at most limit points.
func historyPage(points []hangar.Metric, from *hangar.Metric, limit int, runID, key, list string) *hangar.Page[hangar.Metric] {
	points = sortPoints(points)
	if from != nil {
		i, _ := slices.BinarySearchFunc(points, *from, comparePoints)
		for i < len(points) && comparePoints(points[i], *from) <= 0 {
			i++
		}
		points = points[i:]
	}
	page := &hangar.Page[hangar.Metric]{Items: points}
	var last struct {
		isNaN int
		value float64
	}
	if len(page.Items) > limit {
		page.Items = page.Items[:limit]
		m := page.Items[limit-1]
		last.isNaN, last.value = metricValue(m.Value)
		page.NextPageToken = encodePageToken(list, runID+"/"+key, strconv.FormatInt(m.Timestamp, 10), strconv.FormatInt(m.Step, 10),
			strconv.Itoa(last.isNaN), strconv.FormatFloat(last.value, 'g', -1, 64))
	}
	return page
}
