package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hangar-ml/hangar"
)

// The model registry (migration 00006). Registered models have a surrogate
// id that versions, tags and aliases refer to, so a rename changes one row.
// A model's last_version counts the version numbers it gave: the next
// version takes last_version+1 in the same write transaction, and writes
// are serialised (DB.write), so two concurrent creations never get one
// number and a deleted version's number is never given again — MLflow's
// rule, which keeps soft-deleted versions to the same end. Deleting a
// version deletes its row, its tags and the aliases pointing at it by
// foreign-key cascade; deleting a model deletes everything under it.
// Registry times are milliseconds, as MLflow's, so that ordering by them in
// SQL agrees with the timestamps clients see.

var _ hangar.RegistryService = (*RegistryService)(nil)

// RegistryService stores registered models and their versions. It
// implements hangar.RegistryService.
type RegistryService struct {
	db *DB
}

// NewRegistryService returns the registry service of db.
func NewRegistryService(db *DB) *RegistryService { return &RegistryService{db: db} }

// registry reads the registry through q: db's reader, a read transaction
// or a write transaction. Its methods return MLflow's errors.
type registry struct {
	db *DB
	q  querier
}

// read runs fn on one snapshot of the registry.
func (s *RegistryService) read(ctx context.Context, fn func(r registry) error) error {
	return s.db.readTx(ctx, func(tx *sql.Tx) error { return fn(registry{db: s.db, q: tx}) })
}

// write runs fn in a write transaction with a registry reading inside it.
func (s *RegistryService) write(ctx context.Context, fn func(tx *wtx, r registry) error) error {
	return s.db.write(ctx, func(tx *wtx) error { return fn(tx, registry{db: s.db, q: tx}) })
}

func registeredModelNotFound(name string) error {
	return hangar.Errorf(hangar.ENOTFOUND, "Registered Model with name=%s not found", name)
}

func modelVersionNotFound(name, version string) error {
	return hangar.Errorf(hangar.ENOTFOUND, "Model Version (name=%s, version=%s) not found", name, version)
}

func registeredModelExists(name string) error {
	return hangar.Errorf(hangar.ECONFLICT, "Registered Model (name=%s) already exists.", name)
}

// Audit targets of the registry.
func registeredModelTarget(name string) string { return "models/" + name }
func modelVersionTarget(name string, version int64) string {
	return fmt.Sprintf("models/%s/versions/%d", name, version)
}
func modelAliasTarget(name, alias string) string { return "models/" + name + "/aliases/" + alias }

// registryTime converts a stored millisecond time.
func registryTime(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

const registryModelColumns = `m.id, m.workspace, m.name, m.description, m.user_id, m.creation_time, m.last_updated_time`

func scanRegisteredModel(sc rowScanner) (int64, *hangar.RegisteredModel, error) {
	var (
		id               int64
		m                hangar.RegisteredModel
		created, updated int64
	)
	if err := sc.Scan(&id, &m.Workspace, &m.Name, &m.Description, &m.UserID, &created, &updated); err != nil {
		return 0, nil, err
	}
	m.CreatedAt, m.UpdatedAt = registryTime(created), registryTime(updated)
	return id, &m, nil
}

// registryVersionFrom is the FROM clause every version query uses.
const registryVersionFrom = ` FROM model_versions v JOIN registered_models m ON m.id = v.model_id`

const registryVersionColumns = `v.model_id, m.workspace, m.name, v.version, v.creation_time, v.last_updated_time, v.user_id,
	v.current_stage, v.description, v.source, v.storage_location, v.run_id, v.run_link, v.logged_model_id, v.status, v.status_message`

// modelVersionKey identifies a version: its model's id and its number.
type modelVersionKey struct {
	model   int64
	version int64
}

func scanModelVersion(sc rowScanner) (modelVersionKey, *hangar.ModelVersion, error) {
	var (
		k                modelVersionKey
		v                hangar.ModelVersion
		created, updated int64
		runID            sql.NullString
	)
	if err := sc.Scan(&k.model, &v.Workspace, &v.Name, &k.version, &created, &updated, &v.UserID,
		&v.Stage, &v.Description, &v.Source, &v.StorageLocation, &runID, &v.RunLink, &v.ModelID, &v.Status, &v.StatusMessage); err != nil {
		return k, nil, err
	}
	v.Version = strconv.FormatInt(k.version, 10)
	v.CreatedAt, v.UpdatedAt = registryTime(created), registryTime(updated)
	v.RunID = runID.String
	return k, &v, nil
}

// modelID returns the id of a model. Errors: ENOTFOUND.
func (r registry) modelID(ctx context.Context, ws, name string) (int64, error) {
	var id int64
	err := r.q.QueryRowContext(ctx, r.db.rebind(`SELECT id FROM registered_models WHERE workspace = ? AND name = ?`), ws, name).Scan(&id)
	if isNoRows(err) {
		return 0, registeredModelNotFound(name)
	}
	if err != nil {
		return 0, fmt.Errorf("look up registered model: %w", err)
	}
	return id, nil
}

// model returns a model with its tags, aliases and latest versions.
// Errors: ENOTFOUND.
func (r registry) model(ctx context.Context, ws, name string) (*hangar.RegisteredModel, error) {
	row := r.q.QueryRowContext(ctx, r.db.rebind(`SELECT `+registryModelColumns+` FROM registered_models m WHERE m.workspace = ? AND m.name = ?`), ws, name)
	id, m, err := scanRegisteredModel(row)
	if isNoRows(err) {
		return nil, registeredModelNotFound(name)
	}
	if err != nil {
		return nil, fmt.Errorf("read registered model: %w", err)
	}
	if err := r.fillModels(ctx, []int64{id}, []*hangar.RegisteredModel{m}); err != nil {
		return nil, err
	}
	return m, nil
}

// versionKeyOf returns the key of a version given by its model's name and
// number. Errors: ENOTFOUND (model or version: MLflow says the version
// was not found either way).
func (r registry) versionKeyOf(ctx context.Context, ws, name string, n int64, given string) (modelVersionKey, error) {
	k := modelVersionKey{version: n}
	err := r.q.QueryRowContext(ctx, r.db.rebind(`SELECT v.model_id`+registryVersionFrom+` WHERE m.workspace = ? AND m.name = ? AND v.version = ?`),
		ws, name, n).Scan(&k.model)
	if isNoRows(err) {
		return k, modelVersionNotFound(name, given)
	}
	if err != nil {
		return k, fmt.Errorf("look up model version: %w", err)
	}
	return k, nil
}

// version returns a version with its tags and aliases. given is the
// version as the caller wrote it, for the message. Errors: ENOTFOUND.
func (r registry) version(ctx context.Context, ws, name string, n int64, given string) (*hangar.ModelVersion, error) {
	row := r.q.QueryRowContext(ctx, r.db.rebind(`SELECT `+registryVersionColumns+registryVersionFrom+` WHERE m.workspace = ? AND m.name = ? AND v.version = ?`), ws, name, n)
	k, v, err := scanModelVersion(row)
	if isNoRows(err) {
		return nil, modelVersionNotFound(name, given)
	}
	if err != nil {
		return nil, fmt.Errorf("read model version: %w", err)
	}
	if err := r.fillVersions(ctx, []modelVersionKey{k}, []*hangar.ModelVersion{v}); err != nil {
		return nil, err
	}
	return v, nil
}

// chunk is how many models or versions one query of fillModels or
// fillVersions names: well under SQLite's and PostgreSQL's limits on
// parameters.
const registryChunk = 400

// fillModels adds the tags, aliases and latest versions of models (ids[i]
// is models[i]'s id).
func (r registry) fillModels(ctx context.Context, ids []int64, models []*hangar.RegisteredModel) error {
	byID := make(map[int64]*hangar.RegisteredModel, len(ids))
	for i, id := range ids {
		byID[id] = models[i]
	}
	for start := 0; start < len(ids); start += registryChunk {
		part := ids[start:min(start+registryChunk, len(ids))]
		args := make([]any, len(part))
		for i, id := range part {
			args[i] = id
		}
		in := placeholders(len(part))

		rows, err := r.q.QueryContext(ctx, r.db.rebind(`SELECT model_id, key, value FROM registered_model_tags WHERE model_id IN (`+in+`)`), args...)
		if err != nil {
			return fmt.Errorf("read registered model tags: %w", err)
		}
		for rows.Next() {
			var (
				id         int64
				key, value string
			)
			if err := rows.Scan(&id, &key, &value); err != nil {
				return fmt.Errorf("read registered model tags: %w", closeRows(rows, err))
			}
			m := byID[id]
			if m.Tags == nil {
				m.Tags = map[string]string{}
			}
			m.Tags[key] = value
		}
		if err := closeRows(rows, nil); err != nil {
			return fmt.Errorf("read registered model tags: %w", err)
		}

		rows, err = r.q.QueryContext(ctx, r.db.rebind(`SELECT model_id, alias, version FROM registered_model_aliases WHERE model_id IN (`+in+`) ORDER BY model_id, alias`), args...)
		if err != nil {
			return fmt.Errorf("read registered model aliases: %w", err)
		}
		for rows.Next() {
			var (
				id, version int64
				alias       string
			)
			if err := rows.Scan(&id, &alias, &version); err != nil {
				return fmt.Errorf("read registered model aliases: %w", closeRows(rows, err))
			}
			m := byID[id]
			m.Aliases = append(m.Aliases, hangar.RegisteredModelAlias{Alias: alias, Version: strconv.FormatInt(version, 10)})
		}
		if err := closeRows(rows, nil); err != nil {
			return fmt.Errorf("read registered model aliases: %w", err)
		}

		latest, err := r.latest(ctx, part)
		if err != nil {
			return err
		}
		for id, vs := range latest {
			byID[id].LatestVersions = vs
		}
	}
	return nil
}

// latest returns, per model, the highest version in each stage, in the
// order of hangar.ModelVersionStages, without tags or aliases (as
// MLflow's latest_versions).
func (r registry) latest(ctx context.Context, ids []int64) (map[int64][]*hangar.ModelVersion, error) {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err := r.q.QueryContext(ctx, r.db.rebind(`SELECT `+registryVersionColumns+registryVersionFrom+`
		WHERE v.model_id IN (`+placeholders(len(ids))+`)
		AND v.version = (SELECT MAX(x.version) FROM model_versions x WHERE x.model_id = v.model_id AND x.current_stage = v.current_stage)`), args...)
	if err != nil {
		return nil, fmt.Errorf("read latest model versions: %w", err)
	}
	out := map[int64][]*hangar.ModelVersion{}
	for rows.Next() {
		k, v, err := scanModelVersion(rows)
		if err != nil {
			return nil, fmt.Errorf("read latest model versions: %w", closeRows(rows, err))
		}
		out[k.model] = append(out[k.model], v)
	}
	if err := closeRows(rows, nil); err != nil {
		return nil, fmt.Errorf("read latest model versions: %w", err)
	}
	for _, vs := range out {
		slices.SortFunc(vs, func(a, b *hangar.ModelVersion) int { return modelStageRank(a.Stage) - modelStageRank(b.Stage) })
	}
	return out, nil
}

func modelStageRank(stage string) int {
	stages := hangar.ModelVersionStages()
	if i := slices.Index(stages, stage); i >= 0 {
		return i
	}
	return len(stages)
}

// fillVersions adds the tags and aliases of versions (keys[i] is
// versions[i]'s key).
func (r registry) fillVersions(ctx context.Context, keys []modelVersionKey, versions []*hangar.ModelVersion) error {
	byKey := make(map[modelVersionKey]*hangar.ModelVersion, len(keys))
	for i, k := range keys {
		byKey[k] = versions[i]
	}
	for start := 0; start < len(keys); start += registryChunk {
		part := keys[start:min(start+registryChunk, len(keys))]
		args := make([]any, 0, 2*len(part))
		for _, k := range part {
			args = append(args, k.model, k.version)
		}
		in := strings.TrimSuffix(strings.Repeat("(?, ?), ", len(part)), ", ")

		rows, err := r.q.QueryContext(ctx, r.db.rebind(`SELECT model_id, version, key, value FROM model_version_tags WHERE (model_id, version) IN (`+in+`)`), args...)
		if err != nil {
			return fmt.Errorf("read model version tags: %w", err)
		}
		for rows.Next() {
			var (
				k          modelVersionKey
				key, value string
			)
			if err := rows.Scan(&k.model, &k.version, &key, &value); err != nil {
				return fmt.Errorf("read model version tags: %w", closeRows(rows, err))
			}
			v := byKey[k]
			if v.Tags == nil {
				v.Tags = map[string]string{}
			}
			v.Tags[key] = value
		}
		if err := closeRows(rows, nil); err != nil {
			return fmt.Errorf("read model version tags: %w", err)
		}

		rows, err = r.q.QueryContext(ctx, r.db.rebind(`SELECT model_id, version, alias FROM registered_model_aliases WHERE (model_id, version) IN (`+in+`) ORDER BY model_id, version, alias`), args...)
		if err != nil {
			return fmt.Errorf("read model version aliases: %w", err)
		}
		for rows.Next() {
			var (
				k     modelVersionKey
				alias string
			)
			if err := rows.Scan(&k.model, &k.version, &alias); err != nil {
				return fmt.Errorf("read model version aliases: %w", closeRows(rows, err))
			}
			byKey[k].Aliases = append(byKey[k].Aliases, alias)
		}
		if err := closeRows(rows, nil); err != nil {
			return fmt.Errorf("read model version aliases: %w", err)
		}
	}
	return nil
}

// latestVersions returns the latest version of each of the canonical
// stages (all four when none), with aliases. Errors: ENOTFOUND.
func (r registry) latestVersions(ctx context.Context, ws, name string, stages []string) ([]*hangar.ModelVersion, error) {
	id, err := r.modelID(ctx, ws, name)
	if err != nil {
		return nil, err
	}
	latest, err := r.latest(ctx, []int64{id})
	if err != nil {
		return nil, err
	}
	var out []*hangar.ModelVersion
	var keys []modelVersionKey
	for _, v := range latest[id] {
		if len(stages) == 0 || slices.Contains(stages, v.Stage) {
			n, _ := strconv.ParseInt(v.Version, 10, 64)
			out = append(out, v)
			keys = append(keys, modelVersionKey{id, n})
		}
	}
	// get-latest-versions fills the aliases in (MLflow 3.x).
	if err := r.fillVersions(ctx, keys, out); err != nil {
		return nil, err
	}
	return out, nil
}

// byAlias returns the version an alias points at. Errors: ENOTFOUND
// (model), EINVALID (alias not set).
func (r registry) byAlias(ctx context.Context, ws, name, alias string) (*hangar.ModelVersion, error) {
	id, err := r.modelID(ctx, ws, name)
	if err != nil {
		return nil, err
	}
	var n int64
	err = r.q.QueryRowContext(ctx, r.db.rebind(`SELECT version FROM registered_model_aliases WHERE model_id = ? AND alias = ?`), id, alias).Scan(&n)
	if isNoRows(err) {
		return nil, hangar.Errorf(hangar.EINVALID, "Registered model alias %s not found.", alias)
	}
	if err != nil {
		return nil, fmt.Errorf("read alias: %w", err)
	}
	return r.version(ctx, ws, name, n, strconv.FormatInt(n, 10))
}

// resolve returns the version a parsed models:/ URI names.
func (r registry) resolve(ctx context.Context, ws string, u hangar.ModelURI) (*hangar.ModelVersion, error) {
	switch {
	case u.ModelID != "":
		return nil, hangar.Errorf(hangar.EINVALID, "%s names a logged model (MLflow 3.x), not a registered model version", u)
	case u.Version != "":
		if err := hangar.ValidateRegisteredModelName(u.Name); err != nil {
			return nil, err
		}
		n, err := hangar.ParseModelVersion(u.Version)
		if err != nil {
			return nil, err
		}
		return r.version(ctx, ws, u.Name, n, u.Version)
	case u.Alias != "":
		if err := hangar.ValidateRegisteredModelName(u.Name); err != nil {
			return nil, err
		}
		if err := hangar.ValidateModelAlias(u.Alias); err != nil {
			return nil, err
		}
		return r.byAlias(ctx, ws, u.Name, u.Alias)
	}
	if err := hangar.ValidateRegisteredModelName(u.Name); err != nil {
		return nil, err
	}
	var stages []string
	if u.Stage != "" {
		stage, err := hangar.CanonicalStage(u.Stage)
		if err != nil {
			return nil, err
		}
		stages = []string{stage}
	}
	vs, err := r.latestVersions(ctx, ws, u.Name, stages)
	if err != nil {
		return nil, err
	}
	if len(vs) == 0 {
		if u.Stage != "" {
			return nil, hangar.Errorf(hangar.ENOTFOUND, "No versions of model with name '%s' and stage '%s' found", u.Name, u.Stage)
		}
		return nil, hangar.Errorf(hangar.ENOTFOUND, "No versions of model with name '%s' found", u.Name)
	}
	best := vs[0]
	for _, v := range vs[1:] {
		a, _ := strconv.ParseInt(v.Version, 10, 64)
		b, _ := strconv.ParseInt(best.Version, 10, 64)
		if a > b {
			best = v
		}
	}
	return best, nil
}

// CreateRegisteredModel stores m. Errors: EINVALID, ENOTFOUND (workspace),
// ECONFLICT.
func (s *RegistryService) CreateRegisteredModel(ctx context.Context, m *hangar.RegisteredModel) error {
	if err := checkText("workspace name", m.Workspace); err != nil {
		return err
	}
	if err := m.Validate(); err != nil {
		return err
	}
	err := s.write(ctx, func(tx *wtx, r registry) error {
		if err := tx.requireWorkspace(ctx, m.Workspace); err != nil {
			return err
		}
		now := tx.now.UnixMilli()
		user := hangar.ActorFrom(ctx).Name
		var id int64
		err := tx.QueryRowContext(ctx, tx.db.rebind(`INSERT INTO registered_models
			(workspace, name, description, user_id, creation_time, last_updated_time) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`),
			m.Workspace, m.Name, m.Description, user, now, now).Scan(&id)
		if isUniqueViolation(err) {
			return registeredModelExists(m.Name)
		}
		if err != nil {
			return fmt.Errorf("insert: %w", err)
		}
		for k, v := range m.Tags {
			if _, err := tx.ExecContext(ctx, tx.db.rebind(`INSERT INTO registered_model_tags (model_id, key, value) VALUES (?, ?, ?)`), id, k, v); err != nil {
				return fmt.Errorf("insert tag: %w", err)
			}
		}
		if err := tx.audit(ctx, hangar.ActModelWrite, registeredModelTarget(m.Name), m.Workspace); err != nil {
			return err
		}
		m.CreatedAt, m.UpdatedAt, m.UserID = registryTime(now), registryTime(now), user
		m.Aliases, m.LatestVersions = nil, nil
		if len(m.Tags) == 0 {
			m.Tags = nil
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("create registered model %q: %w", m.Name, err)
	}
	return nil
}

// RegisteredModel returns a model. Errors: EINVALID, ENOTFOUND.
func (s *RegistryService) RegisteredModel(ctx context.Context, ws, name string) (*hangar.RegisteredModel, error) {
	if err := registryArgs(ws, name); err != nil {
		return nil, err
	}
	var m *hangar.RegisteredModel
	err := s.read(ctx, func(r registry) (err error) {
		m, err = r.model(ctx, ws, name)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("get registered model %q: %w", name, err)
	}
	return m, nil
}

// registryArgs checks the workspace and model name every method takes.
func registryArgs(ws, name string) error {
	if err := checkText("workspace name", ws); err != nil {
		return err
	}
	return hangar.ValidateRegisteredModelName(name)
}

// RenameRegisteredModel renames a model. Errors: EINVALID, ENOTFOUND,
// ECONFLICT.
func (s *RegistryService) RenameRegisteredModel(ctx context.Context, ws, name, newName string) (*hangar.RegisteredModel, error) {
	if err := registryArgs(ws, name); err != nil {
		return nil, err
	}
	if err := hangar.ValidateNewModelName(newName); err != nil {
		return nil, err
	}
	var m *hangar.RegisteredModel
	err := s.write(ctx, func(tx *wtx, r registry) error {
		id, err := r.modelID(ctx, ws, name)
		if err != nil {
			return err
		}
		now := tx.now.UnixMilli()
		_, err = tx.ExecContext(ctx, tx.db.rebind(`UPDATE registered_models SET name = ?, last_updated_time = ? WHERE id = ?`), newName, now, id)
		if isUniqueViolation(err) {
			return registeredModelExists(newName)
		}
		if err != nil {
			return fmt.Errorf("rename: %w", err)
		}
		if _, err := tx.ExecContext(ctx, tx.db.rebind(`UPDATE model_versions SET last_updated_time = ? WHERE model_id = ?`), now, id); err != nil {
			return fmt.Errorf("touch versions: %w", err)
		}
		// One event under each name, so that a listing of either name's
		// events shows the rename.
		if err := tx.audit(ctx, hangar.ActModelWrite, registeredModelTarget(name), ws); err != nil {
			return err
		}
		if newName != name {
			if err := tx.audit(ctx, hangar.ActModelWrite, registeredModelTarget(newName), ws); err != nil {
				return err
			}
		}
		m, err = r.model(ctx, ws, newName)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("rename registered model %q to %q: %w", name, newName, err)
	}
	return m, nil
}

// UpdateRegisteredModel sets a model's description. Errors: EINVALID,
// ENOTFOUND.
func (s *RegistryService) UpdateRegisteredModel(ctx context.Context, ws, name, description string) (*hangar.RegisteredModel, error) {
	if err := registryArgs(ws, name); err != nil {
		return nil, err
	}
	if err := hangar.ValidateModelDescription(description); err != nil {
		return nil, err
	}
	var m *hangar.RegisteredModel
	err := s.write(ctx, func(tx *wtx, r registry) error {
		id, err := r.modelID(ctx, ws, name)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, tx.db.rebind(`UPDATE registered_models SET description = ?, last_updated_time = ? WHERE id = ?`),
			description, tx.now.UnixMilli(), id); err != nil {
			return fmt.Errorf("update: %w", err)
		}
		if err := tx.audit(ctx, hangar.ActModelWrite, registeredModelTarget(name), ws); err != nil {
			return err
		}
		m, err = r.model(ctx, ws, name)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("update registered model %q: %w", name, err)
	}
	return m, nil
}

// DeleteRegisteredModel deletes a model with its versions, tags and
// aliases. Errors: EINVALID, ENOTFOUND.
func (s *RegistryService) DeleteRegisteredModel(ctx context.Context, ws, name string) error {
	if err := registryArgs(ws, name); err != nil {
		return err
	}
	err := s.write(ctx, func(tx *wtx, r registry) error {
		id, err := r.modelID(ctx, ws, name)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, tx.db.rebind(`DELETE FROM registered_models WHERE id = ?`), id); err != nil {
			return fmt.Errorf("delete: %w", err)
		}
		return tx.audit(ctx, hangar.ActModelDelete, registeredModelTarget(name), ws)
	})
	if err != nil {
		return fmt.Errorf("delete registered model %q: %w", name, err)
	}
	return nil
}

// SetRegisteredModelTag sets a tag of a model. Errors: EINVALID, ENOTFOUND.
func (s *RegistryService) SetRegisteredModelTag(ctx context.Context, ws, name, key, value string) error {
	if err := registryArgs(ws, name); err != nil {
		return err
	}
	if err := hangar.ValidateRegisteredModelTag(key, value); err != nil {
		return err
	}
	err := s.write(ctx, func(tx *wtx, r registry) error {
		id, err := r.modelID(ctx, ws, name)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, tx.db.rebind(`INSERT INTO registered_model_tags (model_id, key, value) VALUES (?, ?, ?)
			ON CONFLICT (model_id, key) DO UPDATE SET value = excluded.value`), id, key, value); err != nil {
			return fmt.Errorf("set: %w", err)
		}
		return tx.audit(ctx, hangar.ActModelWrite, registeredModelTarget(name), ws)
	})
	if err != nil {
		return fmt.Errorf("set tag %q of registered model %q: %w", key, name, err)
	}
	return nil
}

// DeleteRegisteredModelTag deletes a tag of a model. Errors: EINVALID,
// ENOTFOUND (model).
func (s *RegistryService) DeleteRegisteredModelTag(ctx context.Context, ws, name, key string) error {
	if err := registryArgs(ws, name); err != nil {
		return err
	}
	if err := hangar.ValidateModelTagKey(key); err != nil {
		return err
	}
	err := s.write(ctx, func(tx *wtx, r registry) error {
		id, err := r.modelID(ctx, ws, name)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, tx.db.rebind(`DELETE FROM registered_model_tags WHERE model_id = ? AND key = ?`), id, key)
		if err != nil {
			return fmt.Errorf("delete: %w", err)
		}
		return r.auditIfChanged(ctx, tx, res, hangar.ActModelWrite, registeredModelTarget(name), ws)
	})
	if err != nil {
		return fmt.Errorf("delete tag %q of registered model %q: %w", key, name, err)
	}
	return nil
}

// auditIfChanged appends the event when the statement changed a row: a
// delete of something that is not there succeeds silently (MLflow) and
// records nothing.
func (registry) auditIfChanged(ctx context.Context, tx *wtx, res sql.Result, action, target, ws string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("rows affected: %w", err)
	}
	if n == 0 {
		return nil
	}
	return tx.audit(ctx, action, target, ws)
}

// SetRegisteredModelAlias points an alias at a version. Errors: EINVALID,
// ENOTFOUND.
func (s *RegistryService) SetRegisteredModelAlias(ctx context.Context, ws, name, alias, version string) error {
	if err := registryArgs(ws, name); err != nil {
		return err
	}
	if err := hangar.ValidateModelAlias(alias); err != nil {
		return err
	}
	n, err := hangar.ParseModelVersion(version)
	if err != nil {
		return err
	}
	err = s.write(ctx, func(tx *wtx, r registry) error {
		k, err := r.versionKeyOf(ctx, ws, name, n, version)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, tx.db.rebind(`INSERT INTO registered_model_aliases (model_id, alias, version) VALUES (?, ?, ?)
			ON CONFLICT (model_id, alias) DO UPDATE SET version = excluded.version`), k.model, alias, n); err != nil {
			return fmt.Errorf("set: %w", err)
		}
		return tx.audit(ctx, hangar.ActModelWrite, modelAliasTarget(name, alias), ws)
	})
	if err != nil {
		return fmt.Errorf("set alias %q of registered model %q: %w", alias, name, err)
	}
	return nil
}

// DeleteRegisteredModelAlias deletes an alias. Errors: EINVALID, ENOTFOUND
// (model).
func (s *RegistryService) DeleteRegisteredModelAlias(ctx context.Context, ws, name, alias string) error {
	if err := registryArgs(ws, name); err != nil {
		return err
	}
	if err := hangar.ValidateModelAlias(alias); err != nil {
		return err
	}
	err := s.write(ctx, func(tx *wtx, r registry) error {
		id, err := r.modelID(ctx, ws, name)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, tx.db.rebind(`DELETE FROM registered_model_aliases WHERE model_id = ? AND alias = ?`), id, alias)
		if err != nil {
			return fmt.Errorf("delete: %w", err)
		}
		return r.auditIfChanged(ctx, tx, res, hangar.ActModelWrite, modelAliasTarget(name, alias), ws)
	})
	if err != nil {
		return fmt.Errorf("delete alias %q of registered model %q: %w", alias, name, err)
	}
	return nil
}

// ModelVersionByAlias returns the version an alias points at. Errors:
// EINVALID (alias rules, alias not set), ENOTFOUND (model).
func (s *RegistryService) ModelVersionByAlias(ctx context.Context, ws, name, alias string) (*hangar.ModelVersion, error) {
	if err := registryArgs(ws, name); err != nil {
		return nil, err
	}
	if err := hangar.ValidateModelAlias(alias); err != nil {
		return nil, err
	}
	var v *hangar.ModelVersion
	err := s.read(ctx, func(r registry) (err error) {
		v, err = r.byAlias(ctx, ws, name, alias)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("get alias %q of registered model %q: %w", alias, name, err)
	}
	return v, nil
}

// LatestModelVersions returns the latest version in each stage asked for.
// Errors: EINVALID (stage), ENOTFOUND.
func (s *RegistryService) LatestModelVersions(ctx context.Context, ws, name string, stages []string) ([]*hangar.ModelVersion, error) {
	if err := registryArgs(ws, name); err != nil {
		return nil, err
	}
	canon := make([]string, 0, len(stages))
	for _, st := range stages {
		c, err := hangar.CanonicalStage(st)
		if err != nil {
			return nil, err
		}
		canon = append(canon, c)
	}
	var vs []*hangar.ModelVersion
	err := s.read(ctx, func(r registry) (err error) {
		vs, err = r.latestVersions(ctx, ws, name, canon)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("get latest versions of registered model %q: %w", name, err)
	}
	return vs, nil
}

// CreateModelVersion stores the next version of a model. Errors: EINVALID,
// ENOTFOUND.
func (s *RegistryService) CreateModelVersion(ctx context.Context, v *hangar.ModelVersion) error {
	if err := checkText("workspace name", v.Workspace); err != nil {
		return err
	}
	if err := v.Validate(); err != nil {
		return err
	}
	// A source naming a registered version is resolved to its files, as
	// MLflow 3.x does; a logged model's models:/<id> is the caller's to
	// resolve (StorageLocation).
	var from *hangar.ModelURI
	if u, err := hangar.ParseModelURI(v.Source); err == nil && u.ModelID == "" && v.StorageLocation == "" {
		from = &u
	}
	err := s.write(ctx, func(tx *wtx, r registry) error {
		id, err := r.modelID(ctx, v.Workspace, v.Name)
		if err != nil {
			return err
		}
		storage := v.StorageLocation
		if from != nil {
			src, err := r.resolve(ctx, v.Workspace, *from)
			if err != nil {
				return hangar.Errorf(hangar.EINVALID, "Unable to fetch model from model URI source artifact location '%s'. Error: %s", v.Source, hangar.ErrorMessage(err))
			}
			storage = src.DownloadURI()
		}
		now := tx.now.UnixMilli()
		var n int64
		if err := tx.QueryRowContext(ctx, tx.db.rebind(`UPDATE registered_models SET last_version = last_version + 1, last_updated_time = ?
			WHERE id = ? RETURNING last_version`), now, id).Scan(&n); err != nil {
			return fmt.Errorf("number the version: %w", err)
		}
		var runID any
		if v.RunID != "" {
			runID = v.RunID
		}
		user := hangar.ActorFrom(ctx).Name
		if _, err := tx.ExecContext(ctx, tx.db.rebind(`INSERT INTO model_versions
			(model_id, version, creation_time, last_updated_time, user_id, current_stage, description, source, storage_location,
			 run_id, run_link, logged_model_id, status, status_message)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '')`),
			id, n, now, now, user, hangar.StageNone, v.Description, v.Source, storage,
			runID, v.RunLink, v.ModelID, hangar.ModelVersionReady); err != nil {
			return fmt.Errorf("insert: %w", err)
		}
		for k, val := range v.Tags {
			if _, err := tx.ExecContext(ctx, tx.db.rebind(`INSERT INTO model_version_tags (model_id, version, key, value) VALUES (?, ?, ?, ?)`), id, n, k, val); err != nil {
				return fmt.Errorf("insert tag: %w", err)
			}
		}
		if err := tx.audit(ctx, hangar.ActModelWrite, modelVersionTarget(v.Name, n), v.Workspace); err != nil {
			return err
		}
		v.Version = strconv.FormatInt(n, 10)
		v.CreatedAt, v.UpdatedAt, v.UserID = registryTime(now), registryTime(now), user
		v.Stage, v.Status, v.StatusMessage, v.StorageLocation, v.Aliases = hangar.StageNone, hangar.ModelVersionReady, "", storage, nil
		if len(v.Tags) == 0 {
			v.Tags = nil
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("create version of registered model %q: %w", v.Name, err)
	}
	return nil
}

// modelVersionArgs checks the workspace, model name and version a method takes.
func modelVersionArgs(ws, name, version string) (int64, error) {
	if err := registryArgs(ws, name); err != nil {
		return 0, err
	}
	return hangar.ParseModelVersion(version)
}

// ModelVersion returns one version. Errors: EINVALID, ENOTFOUND.
func (s *RegistryService) ModelVersion(ctx context.Context, ws, name, version string) (*hangar.ModelVersion, error) {
	n, err := modelVersionArgs(ws, name, version)
	if err != nil {
		return nil, err
	}
	var v *hangar.ModelVersion
	err = s.read(ctx, func(r registry) (err error) {
		v, err = r.version(ctx, ws, name, n, version)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("get version %s of registered model %q: %w", version, name, err)
	}
	return v, nil
}

// UpdateModelVersion sets a version's description. Errors: EINVALID,
// ENOTFOUND.
func (s *RegistryService) UpdateModelVersion(ctx context.Context, ws, name, version, description string) (*hangar.ModelVersion, error) {
	n, err := modelVersionArgs(ws, name, version)
	if err != nil {
		return nil, err
	}
	if err := hangar.ValidateModelDescription(description); err != nil {
		return nil, err
	}
	var v *hangar.ModelVersion
	err = s.write(ctx, func(tx *wtx, r registry) error {
		k, err := r.versionKeyOf(ctx, ws, name, n, version)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, tx.db.rebind(`UPDATE model_versions SET description = ?, last_updated_time = ? WHERE model_id = ? AND version = ?`),
			description, tx.now.UnixMilli(), k.model, n); err != nil {
			return fmt.Errorf("update: %w", err)
		}
		if err := tx.audit(ctx, hangar.ActModelWrite, modelVersionTarget(name, n), ws); err != nil {
			return err
		}
		v, err = r.version(ctx, ws, name, n, version)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("update version %s of registered model %q: %w", version, name, err)
	}
	return v, nil
}

// DeleteModelVersion deletes a version with its tags and aliases.
// Errors: EINVALID, ENOTFOUND.
func (s *RegistryService) DeleteModelVersion(ctx context.Context, ws, name, version string) error {
	n, err := modelVersionArgs(ws, name, version)
	if err != nil {
		return err
	}
	err = s.write(ctx, func(tx *wtx, r registry) error {
		k, err := r.versionKeyOf(ctx, ws, name, n, version)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, tx.db.rebind(`DELETE FROM model_versions WHERE model_id = ? AND version = ?`), k.model, n); err != nil {
			return fmt.Errorf("delete: %w", err)
		}
		if _, err := tx.ExecContext(ctx, tx.db.rebind(`UPDATE registered_models SET last_updated_time = ? WHERE id = ?`), tx.now.UnixMilli(), k.model); err != nil {
			return fmt.Errorf("touch model: %w", err)
		}
		return tx.audit(ctx, hangar.ActModelDelete, modelVersionTarget(name, n), ws)
	})
	if err != nil {
		return fmt.Errorf("delete version %s of registered model %q: %w", version, name, err)
	}
	return nil
}

// SetModelVersionTag sets a tag of a version. Errors: EINVALID, ENOTFOUND.
func (s *RegistryService) SetModelVersionTag(ctx context.Context, ws, name, version, key, value string) error {
	n, err := modelVersionArgs(ws, name, version)
	if err != nil {
		return err
	}
	if err := hangar.ValidateModelVersionTag(key, value); err != nil {
		return err
	}
	err = s.write(ctx, func(tx *wtx, r registry) error {
		k, err := r.versionKeyOf(ctx, ws, name, n, version)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, tx.db.rebind(`INSERT INTO model_version_tags (model_id, version, key, value) VALUES (?, ?, ?, ?)
			ON CONFLICT (model_id, version, key) DO UPDATE SET value = excluded.value`), k.model, n, key, value); err != nil {
			return fmt.Errorf("set: %w", err)
		}
		detail := ""
		if key == hangar.TagGateVerdict {
			if detail, err = gateDetail(ctx, tx, k.model, n, value); err != nil {
				return err
			}
		}
		return tx.auditDetail(ctx, hangar.ActModelWrite, modelVersionTarget(name, n), ws, detail)
	})
	if err != nil {
		return fmt.Errorf("set tag %q of version %s of registered model %q: %w", key, version, name, err)
	}
	return nil
}

// DeleteModelVersionTag deletes a tag of a version. Errors: EINVALID,
// ENOTFOUND (version).
func (s *RegistryService) DeleteModelVersionTag(ctx context.Context, ws, name, version, key string) error {
	n, err := modelVersionArgs(ws, name, version)
	if err != nil {
		return err
	}
	if err := hangar.ValidateModelTagKey(key); err != nil {
		return err
	}
	err = s.write(ctx, func(tx *wtx, r registry) error {
		k, err := r.versionKeyOf(ctx, ws, name, n, version)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, tx.db.rebind(`DELETE FROM model_version_tags WHERE model_id = ? AND version = ? AND key = ?`), k.model, n, key)
		if err != nil {
			return fmt.Errorf("delete: %w", err)
		}
		return r.auditIfChanged(ctx, tx, res, hangar.ActModelWrite, modelVersionTarget(name, n), ws)
	})
	if err != nil {
		return fmt.Errorf("delete tag %q of version %s of registered model %q: %w", key, version, name, err)
	}
	return nil
}

// TransitionModelVersionStage moves a version to a stage. Errors:
// EINVALID, ENOTFOUND.
func (s *RegistryService) TransitionModelVersionStage(ctx context.Context, ws, name, version, stage string, archiveExisting bool) (*hangar.ModelVersion, error) {
	if err := registryArgs(ws, name); err != nil {
		return nil, err
	}
	if err := hangar.CheckArchiveExisting(stage, archiveExisting); err != nil {
		return nil, err
	}
	canon, _ := hangar.CanonicalStage(stage) // checked just above
	n, err := hangar.ParseModelVersion(version)
	if err != nil {
		return nil, err
	}
	var v *hangar.ModelVersion
	err = s.write(ctx, func(tx *wtx, r registry) error {
		k, err := r.versionKeyOf(ctx, ws, name, n, version)
		if err != nil {
			return err
		}
		now := tx.now.UnixMilli()
		if archiveExisting {
			rows, err := tx.QueryContext(ctx, tx.db.rebind(`SELECT version FROM model_versions WHERE model_id = ? AND version != ? AND current_stage = ? ORDER BY version`), k.model, n, canon)
			if err != nil {
				return fmt.Errorf("find versions to archive: %w", err)
			}
			var archive []int64
			for rows.Next() {
				var x int64
				if err := rows.Scan(&x); err != nil {
					return fmt.Errorf("find versions to archive: %w", closeRows(rows, err))
				}
				archive = append(archive, x)
			}
			if err := closeRows(rows, nil); err != nil {
				return fmt.Errorf("find versions to archive: %w", err)
			}
			for _, x := range archive {
				if _, err := tx.ExecContext(ctx, tx.db.rebind(`UPDATE model_versions SET current_stage = ?, last_updated_time = ? WHERE model_id = ? AND version = ?`),
					hangar.StageArchived, now, k.model, x); err != nil {
					return fmt.Errorf("archive version %d: %w", x, err)
				}
				if err := tx.audit(ctx, hangar.ActModelWrite, modelVersionTarget(name, x), ws); err != nil {
					return err
				}
			}
		}
		if _, err := tx.ExecContext(ctx, tx.db.rebind(`UPDATE model_versions SET current_stage = ?, last_updated_time = ? WHERE model_id = ? AND version = ?`),
			canon, now, k.model, n); err != nil {
			return fmt.Errorf("transition: %w", err)
		}
		if _, err := tx.ExecContext(ctx, tx.db.rebind(`UPDATE registered_models SET last_updated_time = ? WHERE id = ?`), now, k.model); err != nil {
			return fmt.Errorf("touch model: %w", err)
		}
		if err := tx.audit(ctx, hangar.ActModelWrite, modelVersionTarget(name, n), ws); err != nil {
			return err
		}
		v, err = r.version(ctx, ws, name, n, version)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("transition version %s of registered model %q to %s: %w", version, name, canon, err)
	}
	return v, nil
}

// ModelVersionDownloadURI returns where a version's files are read from.
// Errors: EINVALID, ENOTFOUND.
func (s *RegistryService) ModelVersionDownloadURI(ctx context.Context, ws, name, version string) (string, error) {
	v, err := s.ModelVersion(ctx, ws, name, version)
	if err != nil {
		return "", err
	}
	return v.DownloadURI(), nil
}

// ResolveModelURI returns the version a models:/ URI names. Errors:
// EINVALID, ENOTFOUND.
func (s *RegistryService) ResolveModelURI(ctx context.Context, ws, uri string) (*hangar.ModelVersion, error) {
	if err := checkText("workspace name", ws); err != nil {
		return nil, err
	}
	u, err := hangar.ParseModelURI(uri)
	if err != nil {
		return nil, err
	}
	var v *hangar.ModelVersion
	err = s.read(ctx, func(r registry) (err error) {
		v, err = r.resolve(ctx, ws, u)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", uri, err)
	}
	return v, nil
}
