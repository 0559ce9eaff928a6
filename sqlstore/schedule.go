package sqlstore

import (
	"context"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/hangar-ml/hangar"
)

// Schedules (migration 00017): job schedules and their firings. A firing
// is claimed in one write transaction that checks the schedule is enabled
// and still due at the claimed time (a compare-and-set on next_due),
// inserts the firing row (unique per schedule, due time and manual) and
// moves next_due on. Write transactions hold the audit chain head, so on
// PostgreSQL two servers' claims of one due time run one after the other
// and the second finds next_due moved: exactly one fires. The same
// transaction deletes the schedule's firings beyond the newest
// hangar.KeptScheduleFirings (pruneFirings).

var _ hangar.ScheduleService = (*ScheduleService)(nil)

// ScheduleService stores schedules and their firings. It implements
// hangar.ScheduleService.
type ScheduleService struct {
	db *DB
}

// NewScheduleService returns the schedule service of db.
func NewScheduleService(db *DB) *ScheduleService { return &ScheduleService{db: db} }

func scheduleTarget(name string) string { return "schedules/" + name }

func scheduleArgs(ws, name string) error {
	if err := checkText("workspace name", ws); err != nil {
		return err
	}
	return hangar.ValidateScheduleName(name)
}

const scheduleColumns = `workspace, name, display_name, description, tags, trigger_text, spec, enabled, next_due, last_fired,
	created_by, created_at, updated_by, updated_at`

func scanSchedule(sc rowScanner) (*hangar.Schedule, error) {
	var (
		s                        hangar.Schedule
		tags                     string
		enabled                  int64
		next, last, created, upd dbTime
	)
	if err := sc.Scan(&s.Workspace, &s.Name, &s.DisplayName, &s.Description, &tags, &s.Trigger, &s.Spec, &enabled,
		&next, &last, &s.CreatedBy, &created, &s.UpdatedBy, &upd); err != nil {
		return nil, err
	}
	var err error
	if s.Tags, err = decodeDataTags(tags); err != nil {
		return nil, err
	}
	s.Enabled = enabled != 0
	s.NextDue, s.LastFired = next.ptr(), last.ptr()
	s.CreatedAt, s.UpdatedAt = created.T, upd.T
	return &s, nil
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func (s *ScheduleService) schedule(ctx context.Context, q querier, ws, name string) (*hangar.Schedule, error) {
	sc, err := scanSchedule(q.QueryRowContext(ctx, s.db.rebind(`SELECT `+scheduleColumns+` FROM schedules WHERE workspace = ? AND name = ?`), ws, name))
	if isNoRows(err) {
		return nil, hangar.ScheduleNotFound(name)
	}
	if err != nil {
		return nil, fmt.Errorf("read schedule: %w", err)
	}
	return sc, nil
}

// CreateSchedule implements hangar.ScheduleService.
func (s *ScheduleService) CreateSchedule(ctx context.Context, ws string, sc *hangar.Schedule) error {
	if err := checkText("workspace name", ws); err != nil {
		return err
	}
	if err := sc.Validate(); err != nil {
		return err
	}
	tags, err := encodeDataTags(sc.Tags)
	if err != nil {
		return err
	}
	actor := hangar.ActorFrom(ctx).Name
	err = s.db.write(ctx, func(tx *wtx) error {
		if err := tx.requireWorkspace(ctx, ws); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, tx.db.rebind(`INSERT INTO schedules (`+scheduleColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?)`),
			ws, sc.Name, sc.DisplayName, sc.Description, tags, sc.Trigger, sc.Spec, boolInt(sc.Enabled),
			tx.db.tvPtr(sc.NextDue), actor, tx.db.tv(tx.now), actor, tx.db.tv(tx.now))
		if isUniqueViolation(err) {
			return hangar.Errorf(hangar.ECONFLICT, "schedule %s exists in workspace %q", sc.Name, ws)
		}
		if err != nil {
			return fmt.Errorf("insert: %w", err)
		}
		sc.Workspace, sc.LastFired = ws, nil
		sc.CreatedBy, sc.UpdatedBy = actor, actor
		sc.CreatedAt, sc.UpdatedAt = tx.now.Truncate(time.Microsecond), tx.now.Truncate(time.Microsecond)
		return tx.audit(ctx, hangar.ActScheduleWrite, scheduleTarget(sc.Name), ws)
	})
	if err != nil {
		return fmt.Errorf("create schedule %s: %w", sc.Name, err)
	}
	return nil
}

// Schedule implements hangar.ScheduleService.
func (s *ScheduleService) Schedule(ctx context.Context, ws, name string) (*hangar.Schedule, error) {
	if err := scheduleArgs(ws, name); err != nil {
		return nil, err
	}
	sc, err := s.schedule(ctx, s.db.reader, ws, name)
	if err != nil {
		return nil, fmt.Errorf("get schedule %s: %w", name, err)
	}
	return sc, nil
}

// ListSchedules implements hangar.ScheduleService.
func (s *ScheduleService) ListSchedules(ctx context.Context, ws string, opt hangar.ListOptions) (*hangar.Page[*hangar.Schedule], error) {
	spec := listSpec[*hangar.Schedule]{
		name:  "schedules",
		text:  []string{"workspace name", ws},
		query: `SELECT ` + scheduleColumns + ` FROM schedules`,
		keys:  []sortKey{{"name", keyText}},
		scan:  scanSchedule,
		key:   func(sc *hangar.Schedule) []any { return []any{sc.Name} },
	}
	spec.filter(`workspace = ?`, ws)
	page, err := listPage(ctx, s.db, s.db.reader, spec, opt)
	if err != nil {
		return nil, fmt.Errorf("list schedules: %w", err)
	}
	return page, nil
}

// UpdateSchedule implements hangar.ScheduleService.
func (s *ScheduleService) UpdateSchedule(ctx context.Context, ws string, sc *hangar.Schedule) (*hangar.Schedule, error) {
	if err := checkText("workspace name", ws); err != nil {
		return nil, err
	}
	if err := sc.Validate(); err != nil {
		return nil, err
	}
	tags, err := encodeDataTags(sc.Tags)
	if err != nil {
		return nil, err
	}
	var out *hangar.Schedule
	err = s.db.write(ctx, func(tx *wtx) error {
		res, err := tx.ExecContext(ctx, tx.db.rebind(`UPDATE schedules SET display_name = ?, description = ?, tags = ?,
			trigger_text = ?, spec = ?, enabled = ?, next_due = ?, updated_by = ?, updated_at = ?
			WHERE workspace = ? AND name = ?`),
			sc.DisplayName, sc.Description, tags, sc.Trigger, sc.Spec, boolInt(sc.Enabled), tx.db.tvPtr(sc.NextDue),
			hangar.ActorFrom(ctx).Name, tx.db.tv(tx.now), ws, sc.Name)
		if err != nil {
			return fmt.Errorf("update: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("update: %w", err)
		} else if n == 0 {
			return hangar.ScheduleNotFound(sc.Name)
		}
		if out, err = s.schedule(ctx, tx, ws, sc.Name); err != nil {
			return err
		}
		return tx.audit(ctx, hangar.ActScheduleWrite, scheduleTarget(sc.Name), ws)
	})
	if err != nil {
		return nil, fmt.Errorf("update schedule %s: %w", sc.Name, err)
	}
	return out, nil
}

// DeleteSchedule implements hangar.ScheduleService.
func (s *ScheduleService) DeleteSchedule(ctx context.Context, ws, name string) error {
	if err := scheduleArgs(ws, name); err != nil {
		return err
	}
	err := s.db.write(ctx, func(tx *wtx) error {
		if _, err := tx.ExecContext(ctx, tx.db.rebind(`DELETE FROM schedule_firings WHERE workspace = ? AND schedule = ?`), ws, name); err != nil {
			return fmt.Errorf("delete firings: %w", err)
		}
		res, err := tx.ExecContext(ctx, tx.db.rebind(`DELETE FROM schedules WHERE workspace = ? AND name = ?`), ws, name)
		if err != nil {
			return fmt.Errorf("delete: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("delete: %w", err)
		} else if n == 0 {
			return hangar.ScheduleNotFound(name)
		}
		return tx.audit(ctx, hangar.ActScheduleDelete, scheduleTarget(name), ws)
	})
	if err != nil {
		return fmt.Errorf("delete schedule %s: %w", name, err)
	}
	return nil
}

// DueSchedules implements hangar.ScheduleService.
func (s *ScheduleService) DueSchedules(ctx context.Context, now time.Time, limit int) ([]*hangar.Schedule, error) {
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	rows, err := s.db.reader.QueryContext(ctx, s.db.rebind(`SELECT `+scheduleColumns+` FROM schedules
		WHERE enabled = 1 AND next_due IS NOT NULL AND next_due <= ? ORDER BY next_due, workspace, name LIMIT ?`), s.db.tv(now), limit)
	if err != nil {
		return nil, fmt.Errorf("due schedules: %w", err)
	}
	var out []*hangar.Schedule
	for rows.Next() {
		sc, err := scanSchedule(rows)
		if err != nil {
			return nil, closeRows(rows, fmt.Errorf("due schedules: %w", err))
		}
		out = append(out, sc)
	}
	if err := closeRows(rows, nil); err != nil {
		return nil, fmt.Errorf("due schedules: %w", err)
	}
	return out, nil
}

// NextScheduleDue implements hangar.ScheduleService.
func (s *ScheduleService) NextScheduleDue(ctx context.Context) (*time.Time, error) {
	var next dbTime
	if err := s.db.reader.QueryRowContext(ctx, `SELECT MIN(next_due) FROM schedules WHERE enabled = 1`).Scan(&next); err != nil {
		return nil, fmt.Errorf("next schedule due: %w", err)
	}
	return next.ptr(), nil
}

const firingColumns = `id, workspace, schedule, due, manual, fired_at, fired_by, job, error`

func scanFiring(sc rowScanner) (*hangar.ScheduleFiring, error) {
	var (
		f          hangar.ScheduleFiring
		manual     int64
		due, fired dbTime
	)
	if err := sc.Scan(&f.ID, &f.Workspace, &f.Schedule, &due, &manual, &fired, &f.FiredBy, &f.Job, &f.Error); err != nil {
		return nil, err
	}
	f.Due, f.FiredAt, f.Manual = due.T, fired.T, manual != 0
	return &f, nil
}

// ClaimFiring implements hangar.ScheduleService.
func (s *ScheduleService) ClaimFiring(ctx context.Context, ws, name string, f *hangar.ScheduleFiring, next *time.Time) (*hangar.ScheduleFiring, error) {
	if err := scheduleArgs(ws, name); err != nil {
		return nil, err
	}
	if err := hangar.ValidateText("fired_by", f.FiredBy, hangar.MaxAssetDisplayNameLength); err != nil {
		return nil, err
	}
	if f.Due.IsZero() {
		return nil, hangar.Errorf(hangar.EINVALID, "a firing needs its due time")
	}
	due := f.Due.UTC().Truncate(time.Microsecond)
	out := &hangar.ScheduleFiring{ID: hangar.NewID(), Workspace: ws, Schedule: name, Due: due, Manual: f.Manual, FiredBy: f.FiredBy}
	err := s.db.write(ctx, func(tx *wtx) error {
		sc, err := s.schedule(ctx, tx, ws, name)
		if err != nil {
			return err
		}
		if !f.Manual {
			switch {
			case !sc.Enabled:
				return hangar.Errorf(hangar.ECONFLICT, "schedule %s is disabled", name)
			case sc.NextDue == nil || !sc.NextDue.Equal(due):
				return hangar.Errorf(hangar.ECONFLICT, "schedule %s is not due at %s: it fired already", name, due.Format(time.RFC3339Nano))
			}
			if _, err := tx.ExecContext(ctx, tx.db.rebind(`UPDATE schedules SET next_due = ?, last_fired = ? WHERE workspace = ? AND name = ?`),
				tx.db.tvPtr(next), tx.db.tv(due), ws, name); err != nil {
				return fmt.Errorf("advance next_due: %w", err)
			}
		} else if _, err := tx.ExecContext(ctx, tx.db.rebind(`UPDATE schedules SET last_fired = ? WHERE workspace = ? AND name = ?`),
			tx.db.tv(due), ws, name); err != nil {
			return fmt.Errorf("record last firing: %w", err)
		}
		out.FiredAt = tx.now.UTC().Truncate(time.Microsecond)
		_, err = tx.ExecContext(ctx, tx.db.rebind(`INSERT INTO schedule_firings (`+firingColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, '', '')`),
			out.ID, ws, name, tx.db.tv(due), boolInt(f.Manual), tx.db.tv(out.FiredAt), f.FiredBy)
		if isUniqueViolation(err) {
			return hangar.Errorf(hangar.ECONFLICT, "schedule %s fired at %s already", name, due.Format(time.RFC3339Nano))
		}
		if err != nil {
			return fmt.Errorf("insert firing: %w", err)
		}
		if err := pruneFirings(ctx, tx, ws, name); err != nil {
			return err
		}
		return tx.audit(ctx, hangar.ActScheduleWrite, scheduleTarget(name)+"/firings/"+out.ID, ws)
	})
	if err != nil {
		return nil, fmt.Errorf("claim firing of schedule %s: %w", name, err)
	}
	return out, nil
}

// pruneFirings deletes, in the transaction that claims a firing, the
// firings of the schedule older than its newest
// hangar.KeptScheduleFirings: a schedule that fires every minute would
// otherwise add half a million rows a year. Newest is by fired_at, as
// ScheduleFirings lists them; firings fired in the same microsecond as the
// oldest kept one stay with it. Both statements walk the index
// schedule_firings_list (workspace, schedule, fired_at), the read over at
// most KeptScheduleFirings+1 entries with no sort; while a schedule has
// fewer firings it finds none and nothing is deleted. The deletion is not
// audited: the claim of each firing was.
func pruneFirings(ctx context.Context, tx *wtx, ws, name string) error {
	var oldest dbTime
	err := tx.QueryRowContext(ctx, tx.db.rebind(`SELECT fired_at FROM schedule_firings
		WHERE workspace = ? AND schedule = ? ORDER BY fired_at DESC LIMIT 1 OFFSET ?`), ws, name, hangar.KeptScheduleFirings-1).Scan(&oldest)
	if isNoRows(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("find old firings: %w", err)
	}
	if _, err := tx.ExecContext(ctx, tx.db.rebind(`DELETE FROM schedule_firings WHERE workspace = ? AND schedule = ? AND fired_at < ?`),
		ws, name, tx.db.tv(oldest.T)); err != nil {
		return fmt.Errorf("delete old firings: %w", err)
	}
	return nil
}

// FinishFiring implements hangar.ScheduleService.
func (s *ScheduleService) FinishFiring(ctx context.Context, ws, name, id, job, errText string) (*hangar.ScheduleFiring, error) {
	if err := scheduleArgs(ws, name); err != nil {
		return nil, err
	}
	if err := checkText("firing id", id); err != nil {
		return nil, err
	}
	if job != "" {
		if err := hangar.ValidateJobName(job); err != nil {
			return nil, err
		}
	}
	if len(errText) > hangar.MaxJobErrorSize {
		errText = errText[:hangar.MaxJobErrorSize]
		for !utf8.ValidString(errText) {
			errText = errText[:len(errText)-1]
		}
	}
	if err := checkText("error", errText); err != nil {
		return nil, err
	}
	var out *hangar.ScheduleFiring
	err := s.db.write(ctx, func(tx *wtx) error {
		// The first to finish a firing decides: a slow first attempt and a
		// resume (schedule.Firer.ResumeUnfinished) may both finish it, and
		// the one that recorded the job must not be overwritten by one
		// that did not submit.
		_, err := tx.ExecContext(ctx, tx.db.rebind(`UPDATE schedule_firings SET job = ?, error = ? WHERE id = ? AND workspace = ? AND schedule = ? AND job = '' AND error = ''`),
			job, errText, id, ws, name)
		if err != nil {
			return fmt.Errorf("update firing: %w", err)
		}
		out, err = scanFiring(tx.QueryRowContext(ctx, tx.db.rebind(`SELECT `+firingColumns+` FROM schedule_firings WHERE id = ? AND workspace = ? AND schedule = ?`), id, ws, name))
		if isNoRows(err) {
			return hangar.Errorf(hangar.ENOTFOUND, "firing %s of schedule %s not found", id, name)
		}
		if err != nil {
			return fmt.Errorf("read firing: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("finish firing of schedule %s: %w", name, err)
	}
	return out, nil
}

// UnfinishedFirings returns up to limit (at most 1000) firings, of every
// workspace, claimed more than olderThan ago by the store's clock (the one
// that wrote fired_at) and not finished — no job and no error recorded —
// oldest first: what a server that stopped between a claim and its job's
// submission left (schedule.Firer resumes them). The partial index
// schedule_firings_unfinished holds exactly these.
func (s *ScheduleService) UnfinishedFirings(ctx context.Context, olderThan time.Duration, limit int) ([]*hangar.ScheduleFiring, error) {
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	claimedBefore := s.db.now().UTC().Add(-olderThan)
	rows, err := s.db.reader.QueryContext(ctx, s.db.rebind(`SELECT `+firingColumns+` FROM schedule_firings
		WHERE job = '' AND error = '' AND fired_at < ? ORDER BY fired_at, id LIMIT ?`), s.db.tv(claimedBefore), limit)
	if err != nil {
		return nil, fmt.Errorf("unfinished firings: %w", err)
	}
	var out []*hangar.ScheduleFiring
	for rows.Next() {
		f, err := scanFiring(rows)
		if err != nil {
			return nil, closeRows(rows, fmt.Errorf("unfinished firings: %w", err))
		}
		out = append(out, f)
	}
	if err := closeRows(rows, nil); err != nil {
		return nil, fmt.Errorf("unfinished firings: %w", err)
	}
	return out, nil
}

// ScheduleFirings implements hangar.ScheduleService.
func (s *ScheduleService) ScheduleFirings(ctx context.Context, ws, name string, limit int) ([]*hangar.ScheduleFiring, error) {
	if err := scheduleArgs(ws, name); err != nil {
		return nil, err
	}
	if limit <= 0 || limit > hangar.MaxScheduleFirings {
		limit = hangar.MaxScheduleFirings
	}
	if _, err := s.schedule(ctx, s.db.reader, ws, name); err != nil {
		return nil, fmt.Errorf("list firings of schedule %s: %w", name, err)
	}
	rows, err := s.db.reader.QueryContext(ctx, s.db.rebind(`SELECT `+firingColumns+` FROM schedule_firings
		WHERE workspace = ? AND schedule = ? ORDER BY fired_at DESC, due DESC, id LIMIT ?`), ws, name, limit)
	if err != nil {
		return nil, fmt.Errorf("list firings of schedule %s: %w", name, err)
	}
	var out []*hangar.ScheduleFiring
	for rows.Next() {
		f, err := scanFiring(rows)
		if err != nil {
			return nil, closeRows(rows, fmt.Errorf("list firings: %w", err))
		}
		out = append(out, f)
	}
	if err := closeRows(rows, nil); err != nil {
		return nil, fmt.Errorf("list firings of schedule %s: %w", name, err)
	}
	return out, nil
}
