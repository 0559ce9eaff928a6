package sqlstore

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/hangar-ml/hangar"
)

// EndpointService stores online endpoints, their deployments and their
// keys (migration 19). It implements hangar.EndpointService.
//
// Every change runs in one write transaction with its audit event, and
// write transactions are serialised on the audit chain head: so the
// compare-and-set of SetTraffic and of a deployment's transition reads,
// checks and writes with no other writer in between, on SQLite and on
// PostgreSQL alike, and a deployment cannot be deleted between the check
// that it takes no traffic and the delete. Keys are sealed with the DB's
// Sealer under an aad naming workspace, endpoint and key, and appear in no
// error, log or audit event.
type EndpointService struct {
	db *DB
}

var _ hangar.EndpointService = (*EndpointService)(nil)

// NewEndpointService returns the endpoint service of db. Creating an
// endpoint and reading or regenerating its keys fail unless db.Sealer is
// set.
func NewEndpointService(db *DB) *EndpointService { return &EndpointService{db: db} }

// endpointKeyAAD binds a sealed endpoint key to its place. Workspace and
// endpoint names cannot contain '/'.
func endpointKeyAAD(workspace, endpoint, which string) []byte {
	return []byte("hangar/endpoint-key/v1:" + workspace + "/" + endpoint + "/" + which)
}

func onlineEndpointTarget(name string) string { return "onlineEndpoints/" + name }

func onlineDeploymentTarget(endpoint, name string) string {
	return "onlineEndpoints/" + endpoint + "/deployments/" + name
}

func checkEndpointKey(workspace, name string) error {
	if err := hangar.ValidateWorkspaceName(workspace); err != nil {
		return err
	}
	if err := hangar.ValidateEndpointName(name); err != nil {
		return hangar.Errorf(hangar.EINVALID, "endpoint name: %s", hangar.ErrorMessage(err))
	}
	return nil
}

func checkDeploymentKey(workspace, endpoint, name string) error {
	if err := checkEndpointKey(workspace, endpoint); err != nil {
		return err
	}
	if err := hangar.ValidateEndpointName(name); err != nil {
		return hangar.Errorf(hangar.EINVALID, "deployment name: %s", hangar.ErrorMessage(err))
	}
	return nil
}

func encodeJSON(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

func encodeTraffic(t map[string]int) (string, error) {
	if t == nil {
		t = map[string]int{}
	}
	return encodeJSON(t)
}

func decodeTraffic(s string) (map[string]int, error) {
	t := map[string]int{}
	if err := json.Unmarshal([]byte(s), &t); err != nil {
		return nil, fmt.Errorf("decode traffic: %w", err)
	}
	return t, nil
}

const onlineEndpointColumns = `workspace, name, description, tags, auth_mode, traffic, mirror_traffic, state, version, created_by, created_at, updated_by, updated_at, token_generation`

func scanOnlineEndpoint(sc rowScanner) (*hangar.OnlineEndpoint, error) {
	var (
		e                  hangar.OnlineEndpoint
		tags, live, mirror string
		state              string
		created, updated   dbTime
		gen                int64
	)
	if err := sc.Scan(&e.Workspace, &e.Name, &e.Description, &tags, &e.AuthMode, &live, &mirror, &state, &e.Version,
		&e.CreatedBy, &created, &e.UpdatedBy, &updated, &gen); err != nil {
		return nil, err
	}
	e.TokenGeneration = uint64(gen)
	var err error
	if e.Tags, err = ecDecodeTags(tags); err != nil {
		return nil, err
	}
	if e.Traffic, err = decodeTraffic(live); err != nil {
		return nil, err
	}
	if e.MirrorTraffic, err = decodeTraffic(mirror); err != nil {
		return nil, err
	}
	e.State = hangar.ProvisioningState(state)
	e.CreatedAt, e.UpdatedAt = created.T, updated.T
	e.ScoringPath = hangar.OnlineEndpointScoringPath(e.Workspace, e.Name)
	return &e, nil
}

// onlineEndpoint reads an endpoint in q. Errors: ENOTFOUND.
func onlineEndpoint(ctx context.Context, db *DB, q querier, workspace, name string) (*hangar.OnlineEndpoint, error) {
	e, err := scanOnlineEndpoint(q.QueryRowContext(ctx, db.rebind(`SELECT `+onlineEndpointColumns+` FROM online_endpoints WHERE workspace = ? AND name = ?`), workspace, name))
	if isNoRows(err) {
		return nil, hangar.OnlineEndpointNotFound(workspace, name)
	}
	if err != nil {
		return nil, fmt.Errorf("read endpoint: %w", err)
	}
	return e, nil
}

func (s *EndpointService) sealer() (hangar.Sealer, error) {
	if s.db.Sealer == nil {
		return nil, errors.New("no sealer configured for endpoint keys")
	}
	return s.db.Sealer, nil
}

// sealKey seals one endpoint key.
func (s *EndpointService) sealKey(workspace, endpoint, which, key string) ([]byte, error) {
	sealer, err := s.sealer()
	if err != nil {
		return nil, err
	}
	sealed, err := sealer.Seal([]byte(key), endpointKeyAAD(workspace, endpoint, which))
	if err != nil {
		return nil, fmt.Errorf("seal the %s key: %w", which, err)
	}
	return sealed, nil
}

// CreateOnlineEndpoint is hangar.EndpointService.CreateOnlineEndpoint.
func (s *EndpointService) CreateOnlineEndpoint(ctx context.Context, workspace string, e *hangar.OnlineEndpoint) error {
	if err := hangar.ValidateWorkspaceName(workspace); err != nil {
		return err
	}
	if err := e.Validate(); err != nil {
		return err
	}
	for name, p := range e.Traffic {
		return hangar.Errorf(hangar.EINVALID, "endpoint %s: traffic names deployment %s (%d%%), which does not exist: a new endpoint has no deployments; create them, then set its traffic", e.Name, name, p)
	}
	for name, p := range e.MirrorTraffic {
		return hangar.Errorf(hangar.EINVALID, "endpoint %s: mirror_traffic names deployment %s (%d%%), which does not exist: a new endpoint has no deployments", e.Name, name, p)
	}
	auth := e.AuthMode
	if auth == "" {
		auth = hangar.EndpointAuthKey
	}
	tags, err := ecEncodeTags(e.Tags)
	if err != nil {
		return err
	}
	primary, err := s.sealKey(workspace, e.Name, hangar.KeyPrimary, hangar.NewEndpointKey())
	if err != nil {
		return fmt.Errorf("create online endpoint %s in workspace %q: %w", e.Name, workspace, err)
	}
	secondary, err := s.sealKey(workspace, e.Name, hangar.KeySecondary, hangar.NewEndpointKey())
	if err != nil {
		return fmt.Errorf("create online endpoint %s in workspace %q: %w", e.Name, workspace, err)
	}
	// Whatever the caller set, the row gets a fresh generation: one no
	// token of an earlier endpoint of this name carries.
	gen := newTokenGeneration()
	actor := hangar.ActorFrom(ctx).Name
	err = s.db.write(ctx, func(tx *wtx) error {
		if err := tx.requireWorkspace(ctx, workspace); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, tx.db.rebind(`INSERT INTO online_endpoints
			(workspace, name, description, tags, auth_mode, traffic, mirror_traffic, state, version, primary_key, secondary_key,
			 created_by, created_at, updated_by, updated_at, token_generation)
			VALUES (?, ?, ?, ?, ?, '{}', '{}', ?, 1, ?, ?, ?, ?, ?, ?, ?)`),
			workspace, e.Name, e.Description, tags, auth, string(hangar.StateSucceeded), primary, secondary,
			actor, tx.db.tv(tx.now), actor, tx.db.tv(tx.now), int64(gen))
		if isUniqueViolation(err) {
			return hangar.Errorf(hangar.ECONFLICT, "online endpoint %s already exists in workspace %q", e.Name, workspace)
		}
		if err != nil {
			return fmt.Errorf("insert: %w", err)
		}
		if err := tx.audit(ctx, hangar.ActOnlineEndpointWrite, onlineEndpointTarget(e.Name), workspace); err != nil {
			return err
		}
		now := tx.now.UTC().Truncate(time.Microsecond)
		e.Workspace, e.AuthMode, e.State, e.Version = workspace, auth, hangar.StateSucceeded, 1
		e.Traffic, e.MirrorTraffic = map[string]int{}, map[string]int{}
		e.CreatedBy, e.UpdatedBy, e.CreatedAt, e.UpdatedAt = actor, actor, now, now
		e.ScoringPath = hangar.OnlineEndpointScoringPath(workspace, e.Name)
		e.TokenGeneration = gen
		return nil
	})
	if err != nil {
		return fmt.Errorf("create online endpoint %s in workspace %q: %w", e.Name, workspace, err)
	}
	return nil
}

// newTokenGeneration returns a random non-zero 64-bit token generation
// (migration 00022): two rows of one name share one with a chance of
// 2^-64.
func newTokenGeneration() uint64 {
	var b [8]byte
	for {
		_, _ = rand.Read(b[:]) // never fails (crypto/rand)
		if g := binary.BigEndian.Uint64(b[:]); g != 0 {
			return g
		}
	}
}

// OnlineEndpoint is hangar.EndpointService.OnlineEndpoint.
func (s *EndpointService) OnlineEndpoint(ctx context.Context, workspace, name string) (*hangar.OnlineEndpoint, error) {
	if err := checkEndpointKey(workspace, name); err != nil {
		return nil, err
	}
	e, err := onlineEndpoint(ctx, s.db, s.db.reader, workspace, name)
	if err != nil {
		return nil, fmt.Errorf("get online endpoint %s in workspace %q: %w", name, workspace, err)
	}
	return e, nil
}

// ListOnlineEndpoints is hangar.EndpointService.ListOnlineEndpoints.
func (s *EndpointService) ListOnlineEndpoints(ctx context.Context, workspace string, opt hangar.ListOptions) (*hangar.Page[*hangar.OnlineEndpoint], error) {
	if err := hangar.ValidateWorkspaceName(workspace); err != nil {
		return nil, err
	}
	spec := listSpec[*hangar.OnlineEndpoint]{
		name:  "online endpoints",
		query: `SELECT ` + onlineEndpointColumns + ` FROM online_endpoints`,
		keys:  []sortKey{{col: "name", kind: keyText}},
		scan:  scanOnlineEndpoint,
		key:   func(e *hangar.OnlineEndpoint) []any { return []any{e.Name} },
	}
	spec.filter(`workspace = ?`, workspace)
	return ecListRows(ctx, s.db, spec, opt, func(e *hangar.OnlineEndpoint) *hangar.OnlineEndpoint { return e }, "list online endpoints", workspace)
}

// checkVersion is the compare of a compare-and-set: ECONFLICT unless
// want is 0 or the row's version.
func checkVersion(what string, got, want int64) error {
	if want != 0 && got != want {
		return hangar.Errorf(hangar.ECONFLICT, "%s is at version %d, not %d: it changed since it was read; read it again and retry", what, got, want)
	}
	return nil
}

// UpdateOnlineEndpoint is hangar.EndpointService.UpdateOnlineEndpoint.
func (s *EndpointService) UpdateOnlineEndpoint(ctx context.Context, workspace, name string, u hangar.OnlineEndpointUpdate, version int64) (*hangar.OnlineEndpoint, error) {
	if err := checkEndpointKey(workspace, name); err != nil {
		return nil, err
	}
	if version < 0 {
		return nil, hangar.Errorf(hangar.EINVALID, "invalid version %d", version)
	}
	var out *hangar.OnlineEndpoint
	err := s.db.write(ctx, func(tx *wtx) error {
		e, err := onlineEndpoint(ctx, tx.db, tx.Tx, workspace, name)
		if err != nil {
			return err
		}
		if err := checkVersion("online endpoint "+name, e.Version, version); err != nil {
			return err
		}
		if u.Description != nil {
			e.Description = *u.Description
		}
		if u.Tags != nil {
			e.Tags = u.Tags
		}
		if u.AuthMode != "" {
			e.AuthMode = u.AuthMode
		}
		if u.State != "" {
			e.State = u.State
		}
		if err := e.Validate(); err != nil {
			return err
		}
		tags, err := ecEncodeTags(e.Tags)
		if err != nil {
			return err
		}
		if err := tx.saveEndpoint(ctx, e, `description = ?, tags = ?, auth_mode = ?, state = ?`, e.Description, tags, e.AuthMode, string(e.State)); err != nil {
			return err
		}
		out, err = onlineEndpoint(ctx, tx.db, tx.Tx, workspace, name)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("update online endpoint %s in workspace %q: %w", name, workspace, err)
	}
	return out, nil
}

// saveEndpoint writes the columns set (with args) of e, bumps its
// version and records who changed it, and audits the change.
func (tx *wtx) saveEndpoint(ctx context.Context, e *hangar.OnlineEndpoint, set string, args ...any) error {
	actor := hangar.ActorFrom(ctx).Name
	args = append(args, actor, tx.db.tv(tx.now), e.Workspace, e.Name, e.Version)
	res, err := tx.ExecContext(ctx, tx.db.rebind(`UPDATE online_endpoints SET `+set+`, version = version + 1, updated_by = ?, updated_at = ?
		WHERE workspace = ? AND name = ? AND version = ?`), args...)
	if err != nil {
		return fmt.Errorf("update: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return hangar.Errorf(hangar.ECONFLICT, "online endpoint %s changed while it was updated", e.Name)
	}
	return tx.audit(ctx, hangar.ActOnlineEndpointWrite, onlineEndpointTarget(e.Name), e.Workspace)
}

// DeleteOnlineEndpoint is hangar.EndpointService.DeleteOnlineEndpoint.
func (s *EndpointService) DeleteOnlineEndpoint(ctx context.Context, workspace, name string) error {
	if err := checkEndpointKey(workspace, name); err != nil {
		return err
	}
	err := s.db.write(ctx, func(tx *wtx) error {
		if _, err := onlineEndpoint(ctx, tx.db, tx.Tx, workspace, name); err != nil {
			return err
		}
		deps, err := deploymentStates(ctx, tx, workspace, name)
		if err != nil {
			return err
		}
		for _, d := range slices.Sorted(maps.Keys(deps)) {
			if err := tx.audit(ctx, hangar.ActOnlineDeploymentDelete, onlineDeploymentTarget(name, d), workspace); err != nil {
				return err
			}
		}
		// The deployments go by ON DELETE CASCADE; deleted explicitly
		// first so that no foreign-key setting of a connection matters.
		if _, err := tx.ExecContext(ctx, tx.db.rebind(`DELETE FROM online_deployments WHERE workspace = ? AND endpoint = ?`), workspace, name); err != nil {
			return fmt.Errorf("delete deployments: %w", err)
		}
		if _, err := tx.ExecContext(ctx, tx.db.rebind(`DELETE FROM online_endpoints WHERE workspace = ? AND name = ?`), workspace, name); err != nil {
			return fmt.Errorf("delete: %w", err)
		}
		return tx.audit(ctx, hangar.ActOnlineEndpointDelete, onlineEndpointTarget(name), workspace)
	})
	if err != nil {
		return fmt.Errorf("delete online endpoint %s in workspace %q: %w", name, workspace, err)
	}
	return nil
}

// deploymentStates returns the state of each deployment of an endpoint.
func deploymentStates(ctx context.Context, tx *wtx, workspace, endpoint string) (map[string]hangar.ProvisioningState, error) {
	rows, err := tx.QueryContext(ctx, tx.db.rebind(`SELECT name, state FROM online_deployments WHERE workspace = ? AND endpoint = ?`), workspace, endpoint)
	if err != nil {
		return nil, fmt.Errorf("read deployments: %w", err)
	}
	out := map[string]hangar.ProvisioningState{}
	for rows.Next() {
		var name, state string
		if err := rows.Scan(&name, &state); err != nil {
			return nil, closeRows(rows, err)
		}
		out[name] = hangar.ProvisioningState(state)
	}
	return out, closeRows(rows, nil)
}

// SetTraffic is hangar.EndpointService.SetTraffic.
func (s *EndpointService) SetTraffic(ctx context.Context, workspace, name string, traffic, mirror map[string]int, version int64) (*hangar.OnlineEndpoint, error) {
	if err := checkEndpointKey(workspace, name); err != nil {
		return nil, err
	}
	if version < 0 {
		return nil, hangar.Errorf(hangar.EINVALID, "invalid version %d", version)
	}
	var out *hangar.OnlineEndpoint
	err := s.db.write(ctx, func(tx *wtx) error {
		e, err := onlineEndpoint(ctx, tx.db, tx.Tx, workspace, name)
		if err != nil {
			return err
		}
		if err := checkVersion("online endpoint "+name, e.Version, version); err != nil {
			return err
		}
		if e.State == hangar.StateDeleting {
			return hangar.Errorf(hangar.ECONFLICT, "online endpoint %s is being deleted", name)
		}
		if traffic != nil {
			e.Traffic = maps.Clone(traffic)
		}
		if mirror != nil {
			e.MirrorTraffic = maps.Clone(mirror)
		}
		if err := e.Validate(); err != nil {
			return err
		}
		deps, err := deploymentStates(ctx, tx, workspace, name)
		if err != nil {
			return err
		}
		for _, m := range []struct {
			what string
			t    map[string]int
		}{{"traffic", e.Traffic}, {"mirror_traffic", e.MirrorTraffic}} {
			for _, d := range slices.Sorted(maps.Keys(m.t)) {
				st, ok := deps[d]
				switch {
				case !ok:
					return hangar.Errorf(hangar.EINVALID, "%s names deployment %s, which does not exist in online endpoint %s", m.what, d, name)
				case st != hangar.StateSucceeded && m.t[d] > 0:
					return hangar.Errorf(hangar.EINVALID, "%s gives deployment %s %d%%, but it is %s: only a %s deployment takes traffic", m.what, d, m.t[d], st, hangar.StateSucceeded)
				}
			}
		}
		live, err := encodeTraffic(e.Traffic)
		if err != nil {
			return err
		}
		mir, err := encodeTraffic(e.MirrorTraffic)
		if err != nil {
			return err
		}
		if err := tx.saveEndpoint(ctx, e, `traffic = ?, mirror_traffic = ?`, live, mir); err != nil {
			return err
		}
		if out, err = onlineEndpoint(ctx, tx.db, tx.Tx, workspace, name); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("set traffic of online endpoint %s in workspace %q: %w", name, workspace, err)
	}
	return out, nil
}

// EndpointKeys is hangar.EndpointService.EndpointKeys.
func (s *EndpointService) EndpointKeys(ctx context.Context, workspace, name string) (*hangar.EndpointKeys, error) {
	if err := checkEndpointKey(workspace, name); err != nil {
		return nil, err
	}
	sealer, err := s.sealer()
	if err != nil {
		return nil, fmt.Errorf("get keys of online endpoint %s in workspace %q: %w", name, workspace, err)
	}
	var keys *hangar.EndpointKeys
	err = s.db.write(ctx, func(tx *wtx) error {
		var err error
		if keys, err = readEndpointKeys(ctx, tx, sealer, workspace, name); err != nil {
			return err
		}
		return tx.audit(ctx, hangar.ActOnlineEndpointListKeys, onlineEndpointTarget(name), workspace)
	})
	if err != nil {
		return nil, fmt.Errorf("get keys of online endpoint %s in workspace %q: %w", name, workspace, err)
	}
	return keys, nil
}

// readEndpointKeys reads and opens an endpoint's keys. Errors: ENOTFOUND.
func readEndpointKeys(ctx context.Context, tx *wtx, sealer hangar.Sealer, workspace, name string) (*hangar.EndpointKeys, error) {
	var primary, secondary []byte
	err := tx.QueryRowContext(ctx, tx.db.rebind(`SELECT primary_key, secondary_key FROM online_endpoints WHERE workspace = ? AND name = ?`),
		workspace, name).Scan(&primary, &secondary)
	if isNoRows(err) {
		return nil, hangar.OnlineEndpointNotFound(workspace, name)
	}
	if err != nil {
		return nil, fmt.Errorf("read keys: %w", err)
	}
	p, err := sealer.Open(primary, endpointKeyAAD(workspace, name, hangar.KeyPrimary))
	if err != nil {
		return nil, fmt.Errorf("open the primary key: %w", err)
	}
	sec, err := sealer.Open(secondary, endpointKeyAAD(workspace, name, hangar.KeySecondary))
	if err != nil {
		return nil, fmt.Errorf("open the secondary key: %w", err)
	}
	return &hangar.EndpointKeys{Primary: string(p), Secondary: string(sec)}, nil
}

// RegenerateKey is hangar.EndpointService.RegenerateKey. A key change
// bumps the endpoint's Version, as every change of the endpoint does: the
// release controllers of other servers sharing the store see a new
// Version and read the keys again (a Version is exact where the
// updated_at of a row is not: two changes may share a microsecond).
func (s *EndpointService) RegenerateKey(ctx context.Context, workspace, name, which string) (*hangar.EndpointKeys, error) {
	if err := checkEndpointKey(workspace, name); err != nil {
		return nil, err
	}
	col := map[string]string{hangar.KeyPrimary: "primary_key", hangar.KeySecondary: "secondary_key"}[which]
	if col == "" {
		return nil, hangar.Errorf(hangar.EINVALID, "key %q: want %q or %q", which, hangar.KeyPrimary, hangar.KeySecondary)
	}
	sealer, err := s.sealer()
	if err != nil {
		return nil, fmt.Errorf("regenerate the %s key of online endpoint %s in workspace %q: %w", which, name, workspace, err)
	}
	sealed, err := s.sealKey(workspace, name, which, hangar.NewEndpointKey())
	if err != nil {
		return nil, fmt.Errorf("regenerate the %s key of online endpoint %s in workspace %q: %w", which, name, workspace, err)
	}
	var keys *hangar.EndpointKeys
	err = s.db.write(ctx, func(tx *wtx) error {
		res, err := tx.ExecContext(ctx, tx.db.rebind(`UPDATE online_endpoints SET `+col+` = ?, version = version + 1, updated_by = ?, updated_at = ? WHERE workspace = ? AND name = ?`),
			sealed, hangar.ActorFrom(ctx).Name, tx.db.tv(tx.now), workspace, name)
		if err != nil {
			return fmt.Errorf("update: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return hangar.OnlineEndpointNotFound(workspace, name)
		}
		if keys, err = readEndpointKeys(ctx, tx, sealer, workspace, name); err != nil {
			return err
		}
		return tx.audit(ctx, hangar.ActOnlineEndpointWrite, onlineEndpointTarget(name)+"/keys/"+which, workspace)
	})
	if err != nil {
		return nil, fmt.Errorf("regenerate the %s key of online endpoint %s in workspace %q: %w", which, name, workspace, err)
	}
	return keys, nil
}

const onlineDeploymentColumns = `workspace, endpoint, name, description, tags, spec, state, message, version, created_by, created_at, updated_by, updated_at`

func scanOnlineDeployment(sc rowScanner) (*hangar.OnlineDeployment, error) {
	var (
		d                hangar.OnlineDeployment
		tags, spec       string
		state            string
		created, updated dbTime
	)
	if err := sc.Scan(&d.Workspace, &d.Endpoint, &d.Name, &d.Description, &tags, &spec, &state, &d.Message, &d.Version,
		&d.CreatedBy, &created, &d.UpdatedBy, &updated); err != nil {
		return nil, err
	}
	var err error
	if d.Tags, err = ecDecodeTags(tags); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(spec), &d.Spec); err != nil {
		return nil, fmt.Errorf("decode spec of deployment %s: %w", d.Name, err)
	}
	d.State = hangar.ProvisioningState(state)
	d.CreatedAt, d.UpdatedAt = created.T, updated.T
	return &d, nil
}

func onlineDeployment(ctx context.Context, db *DB, q querier, workspace, endpoint, name string) (*hangar.OnlineDeployment, error) {
	d, err := scanOnlineDeployment(q.QueryRowContext(ctx, db.rebind(`SELECT `+onlineDeploymentColumns+` FROM online_deployments
		WHERE workspace = ? AND endpoint = ? AND name = ?`), workspace, endpoint, name))
	if isNoRows(err) {
		return nil, hangar.OnlineDeploymentNotFound(endpoint, name)
	}
	if err != nil {
		return nil, fmt.Errorf("read deployment: %w", err)
	}
	return d, nil
}

// CreateOnlineDeployment is hangar.EndpointService.CreateOnlineDeployment.
func (s *EndpointService) CreateOnlineDeployment(ctx context.Context, workspace string, d *hangar.OnlineDeployment) error {
	if err := hangar.ValidateWorkspaceName(workspace); err != nil {
		return err
	}
	if err := d.Validate(); err != nil {
		return err
	}
	tags, err := ecEncodeTags(d.Tags)
	if err != nil {
		return err
	}
	spec, err := encodeJSON(d.Spec)
	if err != nil {
		return err
	}
	actor := hangar.ActorFrom(ctx).Name
	err = s.db.write(ctx, func(tx *wtx) error {
		if err := tx.requireWorkspace(ctx, workspace); err != nil {
			return err
		}
		e, err := onlineEndpoint(ctx, tx.db, tx.Tx, workspace, d.Endpoint)
		if err != nil {
			return err
		}
		if e.State == hangar.StateDeleting {
			return hangar.Errorf(hangar.ECONFLICT, "online endpoint %s is being deleted", d.Endpoint)
		}
		var n int
		if err := tx.QueryRowContext(ctx, tx.db.rebind(`SELECT COUNT(*) FROM online_deployments WHERE workspace = ? AND endpoint = ?`), workspace, d.Endpoint).Scan(&n); err != nil {
			return fmt.Errorf("count deployments: %w", err)
		}
		if n >= hangar.MaxEndpointDeployment {
			return hangar.Errorf(hangar.EINVALID, "online endpoint %s has %d deployments; the limit is %d", d.Endpoint, n, hangar.MaxEndpointDeployment)
		}
		_, err = tx.ExecContext(ctx, tx.db.rebind(`INSERT INTO online_deployments
			(workspace, endpoint, name, description, tags, spec, state, message, version, created_by, created_at, updated_by, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?)`),
			workspace, d.Endpoint, d.Name, d.Description, tags, spec, string(hangar.StateCreating), d.Message,
			actor, tx.db.tv(tx.now), actor, tx.db.tv(tx.now))
		if isUniqueViolation(err) {
			return hangar.Errorf(hangar.ECONFLICT, "deployment %s already exists in online endpoint %s", d.Name, d.Endpoint)
		}
		if err != nil {
			return fmt.Errorf("insert: %w", err)
		}
		if err := tx.audit(ctx, hangar.ActOnlineDeploymentWrite, onlineDeploymentTarget(d.Endpoint, d.Name), workspace); err != nil {
			return err
		}
		now := tx.now.UTC().Truncate(time.Microsecond)
		d.Workspace, d.State, d.Version = workspace, hangar.StateCreating, 1
		d.CreatedBy, d.UpdatedBy, d.CreatedAt, d.UpdatedAt = actor, actor, now, now
		return nil
	})
	if err != nil {
		return fmt.Errorf("create deployment %s of online endpoint %s in workspace %q: %w", d.Name, d.Endpoint, workspace, err)
	}
	return nil
}

// OnlineDeployment is hangar.EndpointService.OnlineDeployment.
func (s *EndpointService) OnlineDeployment(ctx context.Context, workspace, endpoint, name string) (*hangar.OnlineDeployment, error) {
	if err := checkDeploymentKey(workspace, endpoint, name); err != nil {
		return nil, err
	}
	d, err := onlineDeployment(ctx, s.db, s.db.reader, workspace, endpoint, name)
	if err != nil {
		return nil, fmt.Errorf("get deployment %s of online endpoint %s in workspace %q: %w", name, endpoint, workspace, err)
	}
	return d, nil
}

// ListOnlineDeployments is hangar.EndpointService.ListOnlineDeployments.
func (s *EndpointService) ListOnlineDeployments(ctx context.Context, workspace, endpoint string, opt hangar.ListOptions) (*hangar.Page[*hangar.OnlineDeployment], error) {
	if err := checkEndpointKey(workspace, endpoint); err != nil {
		return nil, err
	}
	if _, err := onlineEndpoint(ctx, s.db, s.db.reader, workspace, endpoint); err != nil {
		return nil, fmt.Errorf("list deployments of online endpoint %s in workspace %q: %w", endpoint, workspace, err)
	}
	spec := listSpec[*hangar.OnlineDeployment]{
		name:  "online deployments",
		query: `SELECT ` + onlineDeploymentColumns + ` FROM online_deployments`,
		keys:  []sortKey{{col: "name", kind: keyText}},
		scan:  scanOnlineDeployment,
		key:   func(d *hangar.OnlineDeployment) []any { return []any{d.Name} },
	}
	spec.filter(`workspace = ? AND endpoint = ?`, workspace, endpoint)
	return ecListRows(ctx, s.db, spec, opt, func(d *hangar.OnlineDeployment) *hangar.OnlineDeployment { return d }, "list online deployments", workspace)
}

// joinStates writes states for a message: "Creating or Updating".
func joinStates(ss []hangar.ProvisioningState) string {
	parts := make([]string, len(ss))
	for i, s := range ss {
		parts[i] = string(s)
	}
	return strings.Join(parts, " or ")
}

// TransitionOnlineDeployment is
// hangar.EndpointService.TransitionOnlineDeployment. A new spec without
// a new state moves the deployment to Updating. A deployment that takes
// traffic cannot start Deleting (set its traffic to 0 first).
func (s *EndpointService) TransitionOnlineDeployment(ctx context.Context, workspace, endpoint, name string, t hangar.DeploymentTransition) (*hangar.OnlineDeployment, error) {
	if err := checkDeploymentKey(workspace, endpoint, name); err != nil {
		return nil, err
	}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	var out *hangar.OnlineDeployment
	err := s.db.write(ctx, func(tx *wtx) error {
		d, err := onlineDeployment(ctx, tx.db, tx.Tx, workspace, endpoint, name)
		if err != nil {
			return err
		}
		if len(t.From) > 0 && !slices.Contains(t.From, d.State) {
			return hangar.Errorf(hangar.ECONFLICT, "deployment %s is %s, not %s", name, d.State, joinStates(t.From))
		}
		if err := checkVersion("deployment "+name, d.Version, t.Version); err != nil {
			return err
		}
		to := t.To
		if to == "" && t.Spec != nil {
			to = hangar.StateUpdating
		}
		if to != "" {
			if why := hangar.DeploymentMoveAllowed(d.State, to); why != "" {
				return hangar.Errorf(hangar.ECONFLICT, "deployment %s is %s: %s", name, d.State, why)
			}
			if to == hangar.StateDeleting && d.State != hangar.StateDeleting {
				e, err := onlineEndpoint(ctx, tx.db, tx.Tx, workspace, endpoint)
				if err != nil {
					return err
				}
				if e.TakesTraffic(name) {
					return inTraffic(e, name)
				}
			}
			d.State = to
		}
		if t.Message != nil {
			d.Message = *t.Message
		}
		if t.Spec != nil {
			d.Spec = *t.Spec
		}
		if t.Description != nil {
			d.Description = *t.Description
		}
		if t.Tags != nil {
			d.Tags = t.Tags
		}
		tags, err := ecEncodeTags(d.Tags)
		if err != nil {
			return err
		}
		spec, err := encodeJSON(d.Spec)
		if err != nil {
			return err
		}
		actor := hangar.ActorFrom(ctx).Name
		_, err = tx.ExecContext(ctx, tx.db.rebind(`UPDATE online_deployments SET description = ?, tags = ?, spec = ?, state = ?, message = ?,
			version = version + 1, updated_by = ?, updated_at = ? WHERE workspace = ? AND endpoint = ? AND name = ?`),
			d.Description, tags, spec, string(d.State), d.Message, actor, tx.db.tv(tx.now), workspace, endpoint, name)
		if err != nil {
			return fmt.Errorf("update: %w", err)
		}
		if err := tx.audit(ctx, hangar.ActOnlineDeploymentWrite, onlineDeploymentTarget(endpoint, name), workspace); err != nil {
			return err
		}
		out, err = onlineDeployment(ctx, tx.db, tx.Tx, workspace, endpoint, name)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("transition deployment %s of online endpoint %s in workspace %q: %w", name, endpoint, workspace, err)
	}
	return out, nil
}

// inTraffic is the refusal to delete a deployment that takes traffic.
func inTraffic(e *hangar.OnlineEndpoint, name string) error {
	return hangar.Errorf(hangar.ECONFLICT, "deployment %s takes traffic of online endpoint %s (traffic %s; mirror_traffic %s): set its traffic to 0 first",
		name, e.Name, orNone(hangar.FormatTraffic(e.Traffic)), orNone(hangar.FormatTraffic(e.MirrorTraffic)))
}

// DeleteOnlineDeployment is hangar.EndpointService.DeleteOnlineDeployment.
func (s *EndpointService) DeleteOnlineDeployment(ctx context.Context, workspace, endpoint, name string) error {
	if err := checkDeploymentKey(workspace, endpoint, name); err != nil {
		return err
	}
	err := s.db.write(ctx, func(tx *wtx) error {
		e, err := onlineEndpoint(ctx, tx.db, tx.Tx, workspace, endpoint)
		if err != nil {
			return err
		}
		if _, err := onlineDeployment(ctx, tx.db, tx.Tx, workspace, endpoint, name); err != nil {
			return err
		}
		if e.TakesTraffic(name) {
			return inTraffic(e, name)
		}
		// A name given 0% stays in the maps otherwise and would make
		// every later SetTraffic that keeps them fail: drop it.
		if _, live := e.Traffic[name]; live || hasKey(e.MirrorTraffic, name) {
			delete(e.Traffic, name)
			delete(e.MirrorTraffic, name)
			lt, err := encodeTraffic(e.Traffic)
			if err != nil {
				return err
			}
			mt, err := encodeTraffic(e.MirrorTraffic)
			if err != nil {
				return err
			}
			if err := tx.saveEndpoint(ctx, e, `traffic = ?, mirror_traffic = ?`, lt, mt); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, tx.db.rebind(`DELETE FROM online_deployments WHERE workspace = ? AND endpoint = ? AND name = ?`), workspace, endpoint, name); err != nil {
			return fmt.Errorf("delete: %w", err)
		}
		return tx.audit(ctx, hangar.ActOnlineDeploymentDelete, onlineDeploymentTarget(endpoint, name), workspace)
	})
	if err != nil {
		return fmt.Errorf("delete deployment %s of online endpoint %s in workspace %q: %w", name, endpoint, workspace, err)
	}
	return nil
}

func hasKey(m map[string]int, k string) bool {
	_, ok := m[k]
	return ok
}
