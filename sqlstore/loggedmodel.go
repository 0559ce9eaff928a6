package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/mlflow/search"
)

// LoggedModelService stores MLflow 3.x logged models and runs' model
// outputs in the tables of migration 00009. It implements
// hangar.LoggedModelService.
//
// It follows MLflow 3.x's SQL store (sqlalchemy_store.py: create_logged_model,
// finalize_logged_model, set_logged_model_tags, search_logged_models,
// log_outputs) with these differences: a model belongs to a workspace and
// is found only there; a deleted model is not found by any call (MLflow's
// finalize, tag and param calls reach deleted models too, and deleting one
// twice succeeds); a param logged again with another value is EINVALID, as
// a run's (MLflow fails on the primary key); the outputs of a run must name
// models of its workspace. Metrics logged with a model's id are kept in
// logged_model_metrics (migration 00021) besides their run's history; a
// metrics.* clause or order key compares each model's latest point of the
// metric (greatest timestamp, then step), among the points of the search's
// datasets when it names any. Every write is one transaction with one audit event (runs/write
// on logged-models/<id>, runs/delete for a delete).
type LoggedModelService struct {
	db *DB
}

var _ hangar.LoggedModelService = (*LoggedModelService)(nil)

// NewLoggedModelService returns the logged model service of db.
func NewLoggedModelService(db *DB) *LoggedModelService { return &LoggedModelService{db: db} }

// maxModelOutputs bounds the outputs of one runs/outputs.
const maxModelOutputs = hangar.MaxBatchEntities

func loggedModelTarget(id string) string { return "logged-models/" + id }

const loggedModelColumns = `lm.id, lm.experiment_id, lm.name, lm.model_type, lm.source_run_id, lm.status, lm.status_message,
	lm.artifact_location, lm.creator, lm.creation_time, lm.last_updated_time`

func scanLoggedModel(sc rowScanner) (*hangar.LoggedModel, error) {
	var m hangar.LoggedModel
	var exp int64
	err := sc.Scan(&m.ModelID, &exp, &m.Name, &m.ModelType, &m.SourceRunID, &m.Status, &m.StatusMessage,
		&m.ArtifactURI, &m.Creator, &m.CreationTime, &m.LastUpdateTime)
	m.ExperimentID = strconv.FormatInt(exp, 10)
	return &m, err
}

// loggedModelByID reads a model of the workspace that is not deleted,
// without its tags and params. Errors: ENOTFOUND.
func loggedModelByID(ctx context.Context, db *DB, q querier, workspace, id string) (*hangar.LoggedModel, error) {
	if !hangar.ValidLoggedModelID(id) {
		return nil, hangar.LoggedModelNotFound(id)
	}
	m, err := scanLoggedModel(q.QueryRowContext(ctx, db.rebind(`SELECT `+loggedModelColumns+` FROM logged_models lm
		WHERE lm.id = ? AND lm.workspace = ? AND lm.lifecycle_stage = ?`), id, workspace, hangar.LifecycleActive))
	if isNoRows(err) {
		return nil, hangar.LoggedModelNotFound(id)
	}
	return m, err
}

// loadLoggedModels fills the tags, params, registrations and metrics of
// models of the workspace, a chunk of ids per query.
func loadLoggedModels(ctx context.Context, db *DB, q querier, workspace string, models []*hangar.LoggedModel) error {
	byID := make(map[string]*hangar.LoggedModel, len(models))
	ids := make([]any, len(models))
	for i, m := range models {
		byID[m.ModelID] = m
		ids[i] = m.ModelID
	}
	for chunk := range slices.Chunk(ids, maxInsertRows) {
		in := placeholders(len(chunk))
		if err := eachRow(ctx, db, q, `SELECT model_id, key, value FROM logged_model_tags WHERE model_id IN (`+in+`) ORDER BY model_id, key`, chunk,
			func(sc rowScanner) error {
				var id string
				var t hangar.LoggedModelTag
				if err := sc.Scan(&id, &t.Key, &t.Value); err != nil {
					return err
				}
				byID[id].Tags = append(byID[id].Tags, t)
				return nil
			}); err != nil {
			return fmt.Errorf("read logged model tags: %w", err)
		}
		if err := eachRow(ctx, db, q, `SELECT model_id, key, value FROM logged_model_params WHERE model_id IN (`+in+`) ORDER BY model_id, key`, chunk,
			func(sc rowScanner) error {
				var id string
				var p hangar.LoggedModelParam
				if err := sc.Scan(&id, &p.Key, &p.Value); err != nil {
					return err
				}
				byID[id].Params = append(byID[id].Params, p)
				return nil
			}); err != nil {
			return fmt.Errorf("read logged model params: %w", err)
		}
		// The registry's versions made from the models (model-versions/create
		// with model_id), in the same workspace.
		args := append([]any{workspace}, chunk...)
		if err := eachRow(ctx, db, q, `SELECT v.logged_model_id, m.name, v.version FROM model_versions v
			JOIN registered_models m ON m.id = v.model_id
			WHERE m.workspace = ? AND v.logged_model_id IN (`+in+`) ORDER BY v.logged_model_id, m.name, v.version`, args,
			func(sc rowScanner) error {
				var id string
				var r hangar.LoggedModelRegistration
				var n int64
				if err := sc.Scan(&id, &r.Name, &n); err != nil {
					return err
				}
				r.Version = strconv.FormatInt(n, 10)
				byID[id].Registrations = append(byID[id].Registrations, r)
				return nil
			}); err != nil {
			return fmt.Errorf("read logged model registrations: %w", err)
		}
	}
	return loadLoggedModelMetrics(ctx, db, q, byID, ids)
}

// loggedModel reads a whole model of the workspace. Errors: ENOTFOUND.
func loggedModel(ctx context.Context, db *DB, q querier, workspace, id string) (*hangar.LoggedModel, error) {
	m, err := loggedModelByID(ctx, db, q, workspace, id)
	if err != nil {
		return nil, err
	}
	if err := loadLoggedModels(ctx, db, q, workspace, []*hangar.LoggedModel{m}); err != nil {
		return nil, err
	}
	return m, nil
}

// lastByKey keeps the last of the items with the same key, in the order of
// their keys' first appearance.
func lastByKey[T any](items []T, key func(T) string) []T {
	at := map[string]int{}
	var out []T
	for _, it := range items {
		if i, ok := at[key(it)]; ok {
			out[i] = it
			continue
		}
		at[key(it)] = len(out)
		out = append(out, it)
	}
	return out
}

// upsertLoggedModelTags sets tags of a model.
func (tx *wtx) upsertLoggedModelTags(ctx context.Context, id string, tags []hangar.LoggedModelTag) error {
	tags = lastByKey(tags, func(t hangar.LoggedModelTag) string { return t.Key })
	args := make([]any, 0, 3*len(tags))
	for _, t := range tags {
		args = append(args, id, t.Key, t.Value)
	}
	if err := tx.insertRows(ctx, "logged_model_tags (model_id, key, value)", 3, "ON CONFLICT (model_id, key) DO UPDATE SET value = excluded.value", args); err != nil {
		return fmt.Errorf("set tags: %w", err)
	}
	return nil
}

// logLoggedModelParams adds params to a model: one already stored with the
// same value is kept, with another value refused.
func (tx *wtx) logLoggedModelParams(ctx context.Context, id string, params []hangar.LoggedModelParam) error {
	params = lastByKey(params, func(p hangar.LoggedModelParam) string { return p.Key })
	if len(params) == 0 {
		return nil
	}
	keys := make([]any, 0, len(params)+1)
	keys = append(keys, id)
	for _, p := range params {
		keys = append(keys, p.Key)
	}
	stored := map[string]string{}
	if err := eachRow(ctx, tx.db, tx, `SELECT key, value FROM logged_model_params WHERE model_id = ? AND key IN (`+placeholders(len(params))+`)`, keys,
		func(sc rowScanner) error {
			var k, v string
			if err := sc.Scan(&k, &v); err != nil {
				return err
			}
			stored[k] = v
			return nil
		}); err != nil {
		return fmt.Errorf("read params: %w", err)
	}
	args := make([]any, 0, 3*len(params))
	for _, p := range params {
		if v, ok := stored[p.Key]; ok {
			if v != p.Value {
				return hangar.Errorf(hangar.EINVALID, "Changing param values is not allowed. Param with key='%s' was already logged with value='%s' for logged model ID='%s'. Attempted logging new value '%s'.",
					truncate(p.Key, 250), truncate(v, 250), id, truncate(p.Value, 250))
			}
			continue
		}
		args = append(args, id, p.Key, p.Value)
	}
	if err := tx.insertRows(ctx, "logged_model_params (model_id, key, value)", 3, "", args); err != nil {
		return fmt.Errorf("insert params: %w", err)
	}
	return nil
}

// CreateLoggedModel stores a new PENDING model in an active experiment of
// the workspace, named by c.Name or a made-up name, with its artifacts at
// <experiment location>/models/<id>/artifacts. Errors: EINVALID
// (hangar.ValidateLoggedModelCreate, a deleted experiment), ENOTFOUND
// (experiment).
func (s *LoggedModelService) CreateLoggedModel(ctx context.Context, workspace string, c hangar.LoggedModelCreate) (*hangar.LoggedModel, error) {
	if err := hangar.ValidateLoggedModelCreate(c); err != nil {
		return nil, err
	}
	if err := checkText("workspace name", workspace, "experiment id", c.ExperimentID); err != nil {
		return nil, err
	}
	if c.Name == "" {
		c.Name = hangar.NewRunName() // MLflow's _generate_random_name
	}
	var out *hangar.LoggedModel
	err := s.db.write(ctx, func(tx *wtx) error {
		e, err := experimentByID(ctx, tx.db, tx, workspace, c.ExperimentID)
		if err != nil {
			return err
		}
		if e.stage != hangar.LifecycleActive {
			return hangar.ExperimentNotActive(c.ExperimentID, e.stage)
		}
		id := hangar.NewLoggedModelID()
		now := tx.ms()
		if _, err := tx.ExecContext(ctx, tx.db.rebind(`INSERT INTO logged_models
			(id, workspace, experiment_id, name, model_type, source_run_id, status, status_message, artifact_location,
			 lifecycle_stage, creator, creation_time, last_updated_time)
			VALUES (?, ?, ?, ?, ?, ?, ?, '', ?, ?, ?, ?, ?)`),
			id, workspace, e.id, c.Name, c.ModelType, c.SourceRunID, hangar.LoggedModelPending,
			hangar.LoggedModelArtifactURI(e.location, id), hangar.LifecycleActive, hangar.ActorFrom(ctx).Name, now, now); err != nil {
			return fmt.Errorf("insert: %w", err)
		}
		if err := tx.logLoggedModelParams(ctx, id, c.Params); err != nil {
			return err
		}
		if err := tx.upsertLoggedModelTags(ctx, id, c.Tags); err != nil {
			return err
		}
		if err := tx.audit(ctx, hangar.ActRunWrite, loggedModelTarget(id), workspace); err != nil {
			return err
		}
		out, err = loggedModel(ctx, tx.db, tx, workspace, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("create logged model in experiment %s of workspace %q: %w", truncate(c.ExperimentID, 64), workspace, err)
	}
	return out, nil
}

// LoggedModel returns a model of the workspace that is not deleted, with
// its tags, params and registrations. Errors: ENOTFOUND.
func (s *LoggedModelService) LoggedModel(ctx context.Context, workspace, id string) (*hangar.LoggedModel, error) {
	if err := checkText("workspace name", workspace, "model id", id); err != nil {
		return nil, err
	}
	m, err := readTx(ctx, s.db, func(q querier) (*hangar.LoggedModel, error) {
		return loggedModel(ctx, s.db, q, workspace, id)
	})
	if err != nil {
		return nil, fmt.Errorf("get logged model %s of workspace %q: %w", truncate(id, 64), workspace, err)
	}
	return m, nil
}

// changeLoggedModel runs fn on a model of the workspace that is not
// deleted, in a write transaction audited with action on the model.
// Errors: ENOTFOUND, fn's.
func (s *LoggedModelService) changeLoggedModel(ctx context.Context, workspace, id, action, what string, fn func(tx *wtx, m *hangar.LoggedModel) error) error {
	if err := checkText("workspace name", workspace, "model id", id); err != nil {
		return err
	}
	err := s.db.write(ctx, func(tx *wtx) error {
		m, err := loggedModelByID(ctx, tx.db, tx, workspace, id)
		if err != nil {
			return err
		}
		if err := fn(tx, m); err != nil {
			return err
		}
		return tx.audit(ctx, action, loggedModelTarget(id), workspace)
	})
	if err != nil {
		return fmt.Errorf("%s logged model %s of workspace %q: %w", what, truncate(id, 64), workspace, err)
	}
	return nil
}

// FinalizeLoggedModel sets a model's status (READY or UPLOAD_FAILED, by
// name or number) and last update time, and returns it. Errors: EINVALID
// (status), ENOTFOUND.
func (s *LoggedModelService) FinalizeLoggedModel(ctx context.Context, workspace, id, status string) (*hangar.LoggedModel, error) {
	st, err := hangar.ParseLoggedModelStatus(status)
	if err != nil {
		return nil, err
	}
	var out *hangar.LoggedModel
	err = s.changeLoggedModel(ctx, workspace, id, hangar.ActRunWrite, "finalize", func(tx *wtx, m *hangar.LoggedModel) error {
		if _, err := tx.ExecContext(ctx, tx.db.rebind(`UPDATE logged_models SET status = ?, last_updated_time = ? WHERE id = ?`), st, tx.ms(), id); err != nil {
			return fmt.Errorf("update: %w", err)
		}
		out, err = loggedModel(ctx, tx.db, tx, workspace, id)
		return err
	})
	return out, err
}

// DeleteLoggedModel marks a model deleted. Errors: ENOTFOUND (also for a
// model deleted before).
func (s *LoggedModelService) DeleteLoggedModel(ctx context.Context, workspace, id string) error {
	return s.changeLoggedModel(ctx, workspace, id, hangar.ActRunDelete, "delete", func(tx *wtx, m *hangar.LoggedModel) error {
		_, err := tx.ExecContext(ctx, tx.db.rebind(`UPDATE logged_models SET lifecycle_stage = ?, last_updated_time = ? WHERE id = ?`), hangar.LifecycleDeleted, tx.ms(), id)
		return err
	})
}

// SetLoggedModelTags sets tags of a model (the last value of a key given
// twice wins) and returns the model. As MLflow, the model's last update
// time stays. Errors: EINVALID (hangar.ValidateLoggedModelTags), ENOTFOUND.
func (s *LoggedModelService) SetLoggedModelTags(ctx context.Context, workspace, id string, tags []hangar.LoggedModelTag) (*hangar.LoggedModel, error) {
	if err := hangar.ValidateLoggedModelTags(tags); err != nil {
		return nil, err
	}
	var out *hangar.LoggedModel
	err := s.changeLoggedModel(ctx, workspace, id, hangar.ActRunWrite, "set tags of", func(tx *wtx, m *hangar.LoggedModel) error {
		if err := tx.upsertLoggedModelTags(ctx, id, tags); err != nil {
			return err
		}
		var err error
		out, err = loggedModel(ctx, tx.db, tx, workspace, id)
		return err
	})
	return out, err
}

// DeleteLoggedModelTag deletes a tag of a model. Errors: ENOTFOUND (the
// model, or the tag, with MLflow's message).
func (s *LoggedModelService) DeleteLoggedModelTag(ctx context.Context, workspace, id, key string) error {
	if err := checkText("tag key", key); err != nil {
		return err
	}
	return s.changeLoggedModel(ctx, workspace, id, hangar.ActRunWrite, "delete tag of", func(tx *wtx, m *hangar.LoggedModel) error {
		res, err := tx.ExecContext(ctx, tx.db.rebind(`DELETE FROM logged_model_tags WHERE model_id = ? AND key = ?`), id, key)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return hangar.Errorf(hangar.ENOTFOUND, "No tag with key '%s' found for model with ID '%s'.", truncate(key, 250), id)
		}
		return nil
	})
}

// LogLoggedModelParams adds params to a model. Errors: EINVALID
// (hangar.ValidateLoggedModelParams, a changed value), ENOTFOUND.
func (s *LoggedModelService) LogLoggedModelParams(ctx context.Context, workspace, id string, params []hangar.LoggedModelParam) error {
	if err := hangar.ValidateLoggedModelParams(params); err != nil {
		return err
	}
	return s.changeLoggedModel(ctx, workspace, id, hangar.ActRunWrite, "log params of", func(tx *wtx, m *hangar.LoggedModel) error {
		return tx.logLoggedModelParams(ctx, id, params)
	})
}

// LogOutputs links an active run of the workspace to models of the
// workspace, each at its step; a link made before is kept once. Errors:
// EINVALID (a deleted run, more than maxModelOutputs outputs), ENOTFOUND
// (run, model).
func (s *LoggedModelService) LogOutputs(ctx context.Context, workspace, runID string, outputs []hangar.ModelOutput) error {
	if len(outputs) > maxModelOutputs {
		return hangar.Errorf(hangar.EINVALID, "A runs/outputs request may link at most %d models. Got %d.", maxModelOutputs, len(outputs))
	}
	if err := checkText("workspace name", workspace, "run id", runID); err != nil {
		return err
	}
	for _, o := range outputs {
		if !hangar.ValidLoggedModelID(o.ModelID) {
			if err := checkText("model id", o.ModelID); err != nil {
				return err
			}
			return hangar.LoggedModelNotFound(o.ModelID)
		}
	}
	err := s.db.write(ctx, func(tx *wtx) error {
		r, err := tx.activeRun(ctx, workspace, runID)
		if err != nil {
			return err
		}
		args := make([]any, 0, 3*len(outputs))
		for _, o := range outputs {
			if _, err := loggedModelByID(ctx, tx.db, tx, workspace, o.ModelID); err != nil {
				return err
			}
			args = append(args, r.id, o.ModelID, o.Step)
		}
		if err := tx.insertRows(ctx, "run_model_outputs (run, model_id, step)", 3, "ON CONFLICT (run, model_id, step) DO NOTHING", args); err != nil {
			return fmt.Errorf("insert outputs: %w", err)
		}
		return tx.audit(ctx, hangar.ActRunWrite, "runs/"+runID, workspace)
	})
	if err != nil {
		return fmt.Errorf("log outputs of run %s of workspace %q: %w", truncate(runID, 64), workspace, err)
	}
	return nil
}

// RunOutputs returns the models a run of the workspace produced, in the
// order they were linked (deleted models too, as MLflow's inputs table
// keeps them). A run that does not exist has none.
func (s *LoggedModelService) RunOutputs(ctx context.Context, workspace, runID string) ([]hangar.ModelOutput, error) {
	if err := checkText("workspace name", workspace, "run id", runID); err != nil {
		return nil, err
	}
	out, err := readTx(ctx, s.db, func(q querier) ([]hangar.ModelOutput, error) {
		var out []hangar.ModelOutput
		err := eachRow(ctx, s.db, q, `SELECT o.model_id, o.step FROM run_model_outputs o JOIN runs r ON r.id = o.run
			WHERE r.run_uuid = ? AND r.workspace = ? ORDER BY o.seq`, []any{runID, workspace}, func(sc rowScanner) error {
			var o hangar.ModelOutput
			if err := sc.Scan(&o.ModelID, &o.Step); err != nil {
				return err
			}
			out = append(out, o)
			return nil
		})
		return out, err
	})
	if err != nil {
		return nil, fmt.Errorf("read outputs of run %s of workspace %q: %w", truncate(runID, 64), workspace, err)
	}
	return out, nil
}

// loggedModelColumn is the column of a logged model attribute, by the
// canonical keys of package search and the order field names (MLflow's
// SqlLoggedModel columns and ALIASES); "" for none.
func loggedModelColumn(key string) string {
	switch key {
	case "model_id":
		return "lm.id"
	case "experiment_id", "name", "model_type", "source_run_id", "status", "status_message", "artifact_location":
		return "lm." + key
	case "creation_timestamp_ms", "creation_time", "creation_timestamp":
		return "lm.creation_time"
	case "last_updated_timestamp_ms", "last_updated_timestamp":
		return "lm.last_updated_time"
	}
	return ""
}

// datasetCond is the SQL condition that a point of logged_model_metrics
// alias a was computed on one of datasets (a digest of "" matching any),
// or "" when datasets is empty.
func datasetCond(a string, datasets []hangar.LoggedModelDataset) (string, []any) {
	if len(datasets) == 0 {
		return "", nil
	}
	var parts []string
	var args []any
	for _, d := range datasets {
		if d.Digest == "" {
			parts = append(parts, a+".dataset_name = ?")
			args = append(args, d.Name)
			continue
		}
		parts = append(parts, "("+a+".dataset_name = ? AND "+a+".dataset_digest = ?)")
		args = append(args, d.Name, d.Digest)
	}
	return " AND (" + strings.Join(parts, " OR ") + ")", args
}

// latestModelMetric is the SQL of the value of the latest point (greatest
// timestamp, then step, then the later logged) of metric ? of model lm.id
// among the points of datasets; NULL for none or a NaN.
func latestModelMetric(key string, datasets []hangar.LoggedModelDataset) (string, []any) {
	ds, dsArgs := datasetCond("x", datasets)
	return "(SELECT CASE WHEN x.is_nan = 0 THEN x.value END FROM logged_model_metrics x WHERE x.model_id = lm.id AND x.key = ?" + ds +
		" ORDER BY x.timestamp DESC, x.step DESC, x.seq DESC LIMIT 1)", append([]any{key}, dsArgs...)
}

// loggedModelClause is the SQL condition of one clause of a logged-model
// filter. A metric clause compares the model's latest point of the metric
// among the points of datasets; a model without one does not match.
func (db *DB) loggedModelClause(c search.Clause, datasets []hangar.LoggedModelDataset) (string, []any) {
	switch c.Kind {
	case search.Metric:
		latest, args := latestModelMetric(c.Key, datasets)
		return latest + " " + sqlOp(c.Op) + " ?", append(args, c.Num)
	case search.Param, search.Tag:
		table := "logged_model_params"
		if c.Kind == search.Tag {
			table = "logged_model_tags"
		}
		match, args := db.matchString("k.value", c)
		return "EXISTS (SELECT 1 FROM " + table + " k WHERE k.model_id = lm.id AND k.key = ? AND " + match + ")", append([]any{c.Key}, args...)
	case search.Attribute:
		col := loggedModelColumn(c.Key)
		if c.Numeric {
			return compareInt(col, c.Op, c.Num)
		}
		return db.matchString(col, c)
	}
	return "1 = 0", nil
}

// loggedModelOrder adds the order keys of a search to p, as MLflow's
// _apply_order_by_search_logged_models: attributes with missing values
// last, creation time descending unless the caller sorts by it, then (not
// in MLflow) the id, so that pages by offset never skip or repeat a model.
// metrics.<key> orders by the model's latest point of the metric (on the
// key's dataset when it names one), models without one last. Errors:
// EINVALID.
func loggedModelOrder(p *sqlParts, keys []hangar.LoggedModelOrder) error {
	byCreation := false
	seen := map[string]bool{}
	for _, k := range keys {
		if k.FieldName == "" {
			return hangar.Errorf(hangar.EINVALID, "Missing value for required parameter 'order_by.field_name'.")
		}
		if entity, key, ok := strings.Cut(k.FieldName, "."); ok {
			if entity != "metrics" {
				return hangar.Errorf(hangar.EINVALID, "Invalid order by field name: %s. Only metrics are supported.", truncate(k.FieldName, 250))
			}
			// The model's latest point of the metric, on the key's dataset
			// when it names one; models without one last.
			var datasets []hangar.LoggedModelDataset
			if k.DatasetName != "" {
				datasets = []hangar.LoggedModelDataset{{Name: k.DatasetName, Digest: k.DatasetDigest}}
			}
			latest, args := latestModelMetric(key, datasets)
			alias := "o" + strconv.Itoa(len(p.joins))
			p.join("LEFT JOIN (SELECT lm.id AS model_id, "+latest+" AS v FROM logged_models lm) "+alias+" ON "+alias+".model_id = lm.id", args...)
			dir := " DESC"
			if k.Ascending {
				dir = " ASC"
			}
			p.order = append(p.order, "("+alias+".v IS NULL)", alias+".v"+dir)
			continue
		}
		col := loggedModelColumn(k.FieldName)
		if col == "" {
			return hangar.Errorf(hangar.EINVALID, "Invalid order by field name: %s", truncate(k.FieldName, 250))
		}
		if k.DatasetName != "" || k.DatasetDigest != "" {
			return hangar.Errorf(hangar.EINVALID, "order_by field %s: dataset_name and dataset_digest may only be set for a metric", k.FieldName)
		}
		if seen[col] {
			continue
		}
		seen[col] = true
		byCreation = byCreation || col == "lm.creation_time"
		dir := " DESC"
		if k.Ascending {
			dir = " ASC"
		}
		p.order = append(p.order, col+dir)
	}
	if !byCreation {
		p.order = append(p.order, "lm.creation_time DESC")
	}
	if !seen["lm.id"] {
		p.order = append(p.order, "lm.id ASC")
	}
	return nil
}

// SearchLoggedModels returns a page of the models of the experiments of the
// workspace that are not deleted, with their tags, params and
// registrations, as MLflow 3.x's search_logged_models. Pages are offsets
// with a token bound to the search. Errors: EINVALID (filter, order, page
// size — 1 to hangar.MaxLoggedModelResults —, page token, a dataset without
// a name, more than 1000 experiments).
func (s *LoggedModelService) SearchLoggedModels(ctx context.Context, workspace string, q hangar.LoggedModelSearch) (*hangar.Page[*hangar.LoggedModel], error) {
	switch {
	case q.MaxResults < 1:
		return nil, hangar.Errorf(hangar.EINVALID, "Invalid value for max_results. It must be a positive integer, but got %d", q.MaxResults)
	case q.MaxResults > hangar.MaxLoggedModelResults:
		return nil, hangar.Errorf(hangar.EINVALID, "Invalid value for max_results. It must be at most %d, but got %d", hangar.MaxLoggedModelResults, q.MaxResults)
	case len(q.ExperimentIDs) > maxSearchExperiments:
		return nil, hangar.Errorf(hangar.EINVALID, "A search can name at most %d experiments. Got %d.", maxSearchExperiments, len(q.ExperimentIDs))
	case len(q.OrderBy) > search.MaxOrderByKeys:
		return nil, hangar.Errorf(hangar.EINVALID, "invalid order_by: %d items; the limit is %d", len(q.OrderBy), search.MaxOrderByKeys)
	}
	texts := append([]string{"workspace name", workspace}, pairsOf("experiment id", q.ExperimentIDs)...)
	for _, o := range q.OrderBy {
		texts = append(texts, "order_by.field_name", o.FieldName, "order_by.dataset_name", o.DatasetName, "order_by.dataset_digest", o.DatasetDigest)
	}
	for _, d := range q.Datasets {
		if d.Name == "" {
			return nil, hangar.Errorf(hangar.EINVALID, "`dataset_name` in the `datasets` clause must be specified.")
		}
		texts = append(texts, "datasets.dataset_name", d.Name, "datasets.dataset_digest", d.Digest)
	}
	if err := checkSearchText(q.Filter, nil, q.PageToken, texts...); err != nil {
		return nil, err
	}
	f, err := search.ParseLoggedModelFilter(q.Filter)
	if err != nil {
		return nil, err
	}
	p := &sqlParts{db: s.db}
	if err := loggedModelOrder(p, q.OrderBy); err != nil {
		return nil, err
	}
	hash := searchHash(struct {
		E []string
		F string
		O []hangar.LoggedModelOrder
		D []hangar.LoggedModelDataset
	}{q.ExperimentIDs, q.Filter, q.OrderBy, q.Datasets})
	const list = "logged-models"
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
		return &hangar.Page[*hangar.LoggedModel]{Items: []*hangar.LoggedModel{}}, nil
	}
	// With datasets, MLflow keeps the models with a metric on one of them.
	if ds, args := datasetCond("x", q.Datasets); ds != "" {
		p.cond("EXISTS (SELECT 1 FROM logged_model_metrics x WHERE x.model_id = lm.id"+ds+")", args...)
	}
	p.cond("lm.workspace = ?", workspace)
	p.cond("lm.experiment_id IN ("+placeholders(len(exps))+")", exps...)
	p.cond("lm.lifecycle_stage = ?", hangar.LifecycleActive)
	for _, c := range f.Clauses {
		sql, args := s.db.loggedModelClause(c, q.Datasets)
		p.cond(sql, args...)
	}
	query, args := p.query(loggedModelColumns, "logged_models lm", q.MaxResults, offset)
	models, err := readTx(ctx, s.db, func(tx querier) ([]*hangar.LoggedModel, error) {
		var out []*hangar.LoggedModel
		if err := eachRow(ctx, s.db, tx, query, args, func(sc rowScanner) error {
			m, err := scanLoggedModel(sc)
			out = append(out, m)
			return err
		}); err != nil {
			return nil, err
		}
		return out, loadLoggedModels(ctx, s.db, tx, workspace, out)
	})
	if err != nil {
		return nil, fmt.Errorf("search logged models of workspace %q: %w", workspace, err)
	}
	return searchPage(models, q.MaxResults, offset, list, hash), nil
}

// logModelMetrics stores the points of a log-batch that name a logged
// model, after checking each model is an active one of the workspace.
// Errors: ENOTFOUND (a model).
func (tx *wtx) logModelMetrics(ctx context.Context, workspace string, run int64, metrics []hangar.LoggedModelMetric) error {
	checked := map[string]bool{}
	for _, m := range metrics {
		if checked[m.ModelID] {
			continue
		}
		if _, err := loggedModelByID(ctx, tx.db, tx, workspace, m.ModelID); err != nil {
			return err
		}
		checked[m.ModelID] = true
	}
	args := make([]any, 0, 9*len(metrics))
	for _, m := range metrics {
		isNaN, v := metricValue(m.Value)
		args = append(args, m.ModelID, m.Key, m.Timestamp, m.Step, isNaN, v, run, m.DatasetName, m.DatasetDigest)
	}
	if err := tx.insertRows(ctx, "logged_model_metrics (model_id, key, timestamp, step, is_nan, value, run, dataset_name, dataset_digest)", 9, "", args); err != nil {
		return fmt.Errorf("insert logged model metrics: %w", err)
	}
	return nil
}

// loadLoggedModelMetrics fills the metrics of models, a chunk of ids per
// query, in the order they were logged.
func loadLoggedModelMetrics(ctx context.Context, db *DB, q querier, byID map[string]*hangar.LoggedModel, ids []any) error {
	for chunk := range slices.Chunk(ids, maxInsertRows) {
		err := eachRow(ctx, db, q, `SELECT m.model_id, m.key, m.timestamp, m.step, CASE WHEN m.is_nan = 0 THEN m.value END, r.run_uuid, m.dataset_name, m.dataset_digest
			FROM logged_model_metrics m JOIN runs r ON r.id = m.run WHERE m.model_id IN (`+placeholders(len(chunk))+`) ORDER BY m.seq`, chunk,
			func(sc rowScanner) error {
				var id, key, runID, name, digest string
				var ts, step, value any
				if err := sc.Scan(&id, &key, &ts, &step, &value, &runID, &name, &digest); err != nil {
					return err
				}
				p, err := metricOf(key, ts, step, value)
				if err != nil {
					return err
				}
				if m := byID[id]; m != nil {
					m.Metrics = append(m.Metrics, hangar.LoggedModelMetric{Metric: p, ModelID: id, RunID: runID, DatasetName: name, DatasetDigest: digest})
				}
				return nil
			})
		if err != nil {
			return fmt.Errorf("read logged model metrics: %w", err)
		}
	}
	return nil
}
