package schedule

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Trigger types.
const (
	TriggerCron       = "cron"
	TriggerRecurrence = "recurrence"
)

// Recurrence frequencies.
const (
	Minute = "minute"
	Hour   = "hour"
	Day    = "day"
	Week   = "week"
	Month  = "month"
)

// MaxInterval bounds a recurrence's interval.
const MaxInterval = 1000

// Trigger says when a schedule fires: a cron expression or a recurrence,
// read in a time zone, between an optional start and end time.
//
// Wall times and daylight saving time: a wall time that occurs twice (the
// clock falls back) fires once, at its first occurrence; a wall time the
// clock skips (it springs forward) fires once, at the instant the clock
// jumps. Minute and hour recurrences count real minutes and hours from
// the start time, whatever the clock shows.
type Trigger struct {
	Type string `json:"type"` // TriggerCron or TriggerRecurrence
	// Expression is the cron expression (TriggerCron).
	Expression string `json:"expression,omitempty"`
	// Frequency and Interval: every Interval minutes, hours, days, weeks
	// or months (TriggerRecurrence).
	Frequency string `json:"frequency,omitempty"`
	Interval  int    `json:"interval,omitempty"`
	// Hours and Minutes are the wall times of a day, week or month
	// recurrence (default: the start time's), Minutes also the minutes of
	// an hour recurrence; WeekDays the days of a week recurrence (default:
	// the start's), MonthDays the days of a month recurrence (default:
	// the start's). A month without the day (31 in April) is skipped.
	Hours     []int          `json:"hours,omitempty"`
	Minutes   []int          `json:"minutes,omitempty"`
	WeekDays  []time.Weekday `json:"week_days,omitempty"`
	MonthDays []int          `json:"month_days,omitempty"`
	// Start is the first time the schedule may fire; a recurrence counts
	// its intervals from it. End, when set, is the last.
	Start time.Time  `json:"start"`
	End   *time.Time `json:"end,omitempty"`
	// TimeZone is the zone as written (IANA or Windows name); Location
	// the zone it names.
	TimeZone string         `json:"time_zone,omitempty"`
	Location *time.Location `json:"-"`

	cron *Cron
}

// check validates the trigger after parsing and compiles its cron
// expression; the error names the field.
func (t *Trigger) check() error {
	if t.Location == nil {
		loc, err := LoadZone(t.TimeZone)
		if err != nil {
			return fieldErr("trigger.time_zone", err)
		}
		t.Location = loc
	}
	switch t.Type {
	case TriggerCron:
		c, err := ParseCron(t.Expression)
		if err != nil {
			return fieldErr("trigger.expression", err)
		}
		t.cron = c
	case TriggerRecurrence:
		if !slices.Contains([]string{Minute, Hour, Day, Week, Month}, t.Frequency) {
			return fieldErr("trigger.frequency", fmt.Errorf("%q: want minute, hour, day, week or month", t.Frequency))
		}
		if t.Interval < 1 || t.Interval > MaxInterval {
			return fieldErr("trigger.interval", fmt.Errorf("%d: want 1 to %d", t.Interval, MaxInterval))
		}
		switch t.Frequency {
		case Minute:
			if len(t.Hours)+len(t.Minutes)+len(t.WeekDays)+len(t.MonthDays) > 0 {
				return fieldErr("trigger.schedule", fmt.Errorf("a minute recurrence takes no schedule"))
			}
		case Hour:
			if len(t.Hours)+len(t.WeekDays)+len(t.MonthDays) > 0 {
				return fieldErr("trigger.schedule", fmt.Errorf("an hour recurrence takes minutes only"))
			}
		case Day:
			if len(t.WeekDays)+len(t.MonthDays) > 0 {
				return fieldErr("trigger.schedule", fmt.Errorf("a day recurrence takes hours and minutes only"))
			}
		case Week:
			if len(t.MonthDays) > 0 {
				return fieldErr("trigger.schedule.month_days", fmt.Errorf("a week recurrence takes week_days, not month_days"))
			}
		}
		for _, h := range t.Hours {
			if h < 0 || h > 23 {
				return fieldErr("trigger.schedule.hours", fmt.Errorf("%d: want 0 to 23", h))
			}
		}
		for _, m := range t.Minutes {
			if m < 0 || m > 59 {
				return fieldErr("trigger.schedule.minutes", fmt.Errorf("%d: want 0 to 59", m))
			}
		}
		for _, d := range t.MonthDays {
			if d < 1 || d > 31 {
				return fieldErr("trigger.schedule.month_days", fmt.Errorf("%d: want 1 to 31", d))
			}
		}
		slices.Sort(t.Hours)
		t.Hours = slices.Compact(t.Hours)
		slices.Sort(t.Minutes)
		t.Minutes = slices.Compact(t.Minutes)
		slices.Sort(t.MonthDays)
		t.MonthDays = slices.Compact(t.MonthDays)
	default:
		return fieldErr("trigger.type", fmt.Errorf("%q: want cron or recurrence", t.Type))
	}
	if t.End != nil && !t.End.After(t.Start) {
		return fieldErr("trigger.end_time", fmt.Errorf("%s is not after the start time %s", t.End.In(t.Location).Format(time.RFC3339), t.Start.In(t.Location).Format(time.RFC3339)))
	}
	return nil
}

// String describes the trigger for people: "cron 0 3 * * * (Europe/Paris)",
// "every 2 hours (UTC)".
func (t *Trigger) String() string {
	zone := t.TimeZone
	if zone == "" {
		zone = "UTC"
	}
	if t.Type == TriggerCron {
		return fmt.Sprintf("cron %s (%s)", strings.Join(strings.Fields(t.Expression), " "), zone)
	}
	unit := t.Frequency
	if t.Interval != 1 {
		unit = fmt.Sprintf("%d %ss", t.Interval, t.Frequency)
	}
	s := "every " + unit
	if len(t.WeekDays) > 0 {
		var ds []string
		for _, d := range t.WeekDays {
			ds = append(ds, strings.ToLower(d.String()[:3]))
		}
		s += " on " + strings.Join(ds, ",")
	}
	if len(t.MonthDays) > 0 {
		s += " on days " + joinInts(t.MonthDays)
	}
	if len(t.Hours) > 0 {
		s += " at hours " + joinInts(t.Hours)
	}
	if len(t.Minutes) > 0 {
		s += " at minutes " + joinInts(t.Minutes)
	}
	return s + " (" + zone + ")"
}

func joinInts(vs []int) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = fmt.Sprint(v)
	}
	return strings.Join(parts, ",")
}

// Next returns the first time after after (strictly) at or after the
// start time that the trigger fires, and false when it never fires again
// (after its end time, or a day that never comes: February 30).
func (t *Trigger) Next(after time.Time) (time.Time, bool) {
	if t.Location == nil {
		if err := t.check(); err != nil {
			return time.Time{}, false
		}
	}
	if after.Before(t.Start) {
		after = t.Start.Add(-time.Nanosecond)
	}
	var next time.Time
	var ok bool
	switch t.Type {
	case TriggerCron:
		if t.cron == nil {
			if err := t.check(); err != nil {
				return time.Time{}, false
			}
		}
		next, ok = t.nextCron(after)
	case TriggerRecurrence:
		next, ok = t.nextRecurrence(after)
	}
	if !ok || (t.End != nil && next.After(*t.End)) {
		return time.Time{}, false
	}
	return next, true
}

// maxCronDays bounds the days a cron search looks at: eight years and a
// bit see every February 29 (2096 to 2104 is the longest gap).
const maxCronDays = 366*8 + 31

func (t *Trigger) nextCron(after time.Time) (time.Time, bool) {
	c := t.cron
	hours, minutes := values(c.Hour), values(c.Minute)
	a := after.In(t.Location)
	y, m, d := a.Date()
	for i := range maxCronDays {
		day := time.Date(y, m, d+i, 12, 0, 0, 0, time.UTC)
		if !c.dayMatches(day.Day(), int(day.Month()), int(day.Weekday())) {
			continue
		}
		if next, ok := t.firstAt(day, hours, minutes, after); ok {
			return next, true
		}
	}
	return time.Time{}, false
}

// firstAt returns the first of a day's wall times (hours × minutes, both
// sorted) that is after after.
func (t *Trigger) firstAt(day time.Time, hours, minutes []int, after time.Time) (time.Time, bool) {
	for _, h := range hours {
		for _, mi := range minutes {
			if w := wallTime(day.Year(), day.Month(), day.Day(), h, mi, t.Location); w.After(after) {
				return w, true
			}
		}
	}
	return time.Time{}, false
}

// wallTime is the instant a wall time names in loc: the first of two when
// the clock shows it twice, the instant the clock jumps when it skips it.
func wallTime(y int, mo time.Month, d, h, mi int, loc *time.Location) time.Time {
	t := time.Date(y, mo, d, h, mi, 0, 0, loc)
	if sameWall(t, y, mo, d, h, mi) {
		// Repeated: an earlier instant with the same wall clock wins.
		for _, back := range []time.Duration{3 * time.Hour, 2 * time.Hour, time.Hour, 30 * time.Minute} {
			if e := t.Add(-back); sameWall(e, y, mo, d, h, mi) {
				return e
			}
		}
		return t
	}
	// Skipped: the clock jumps over this wall time; fire at the jump.
	start, end := t.ZoneBounds()
	if t.Hour()*60+t.Minute() > h*60+mi || t.Day() != d {
		return start
	}
	return end
}

func sameWall(t time.Time, y int, mo time.Month, d, h, mi int) bool {
	ty, tm, td := t.Date()
	return ty == y && tm == mo && td == d && t.Hour() == h && t.Minute() == mi
}

func (t *Trigger) nextRecurrence(after time.Time) (time.Time, bool) {
	start := t.Start.In(t.Location)
	switch t.Frequency {
	case Minute, Hour:
		unit := time.Minute
		if t.Frequency == Hour {
			unit = time.Hour
		}
		step := time.Duration(t.Interval) * unit
		if t.Frequency == Hour && len(t.Minutes) > 0 {
			base := start.Truncate(time.Minute).Add(-time.Duration(start.Minute()) * time.Minute)
			k := max(int64(after.Sub(base)/step)-1, 0)
			for ; ; k++ {
				p := base.Add(time.Duration(k) * step)
				for _, m := range t.Minutes {
					if c := p.Add(time.Duration(m) * time.Minute); c.After(after) && !c.Before(t.Start) {
						return c, true
					}
				}
			}
		}
		k := int64(after.Sub(start)/step) + 1
		if after.Before(start) {
			k = 0
		}
		return start.Add(time.Duration(k) * step), true
	}
	hours, minutes := t.Hours, t.Minutes
	if len(hours) == 0 {
		hours = []int{start.Hour()}
	}
	if len(minutes) == 0 {
		minutes = []int{start.Minute()}
	}
	sy, sm, sd := start.Date()
	sdate := time.Date(sy, sm, sd, 12, 0, 0, 0, time.UTC)
	a := after.In(t.Location)
	ay, am, ad := a.Date()
	adate := time.Date(ay, am, ad, 12, 0, 0, 0, time.UTC)
	days := max(int(adate.Sub(sdate).Hours()/24), 0)
	try := func(day time.Time) (time.Time, bool) {
		if day.Before(sdate) {
			return time.Time{}, false
		}
		return t.firstAt(day, hours, minutes, after)
	}
	switch t.Frequency {
	case Day:
		for p := days / t.Interval; p < days/t.Interval+3; p++ {
			if next, ok := try(sdate.AddDate(0, 0, p*t.Interval)); ok {
				return next, true
			}
		}
	case Week:
		wdays := t.WeekDays
		if len(wdays) == 0 {
			wdays = []time.Weekday{start.Weekday()}
		}
		// Weeks start on Monday, the week of the start time first.
		week0 := sdate.AddDate(0, 0, -((int(sdate.Weekday()) + 6) % 7))
		w := max(int(adate.Sub(week0).Hours()/24), 0) / 7
		for p := w / t.Interval; p < w/t.Interval+3; p++ {
			ws := week0.AddDate(0, 0, p*t.Interval*7)
			for i := range 7 {
				day := ws.AddDate(0, 0, i)
				if slices.Contains(wdays, day.Weekday()) {
					if next, ok := try(day); ok {
						return next, true
					}
				}
			}
		}
	case Month:
		mdays := t.MonthDays
		if len(mdays) == 0 && len(t.WeekDays) == 0 {
			mdays = []int{sd}
		}
		months := max((ay-sy)*12+int(am)-int(sm), 0)
		// 400 years of months see every day a month ever has.
		for p := months / t.Interval; p < months/t.Interval+4800/t.Interval+2; p++ {
			first := time.Date(sy, sm+time.Month(p*t.Interval), 1, 12, 0, 0, 0, time.UTC)
			for day := first; day.Month() == first.Month(); day = day.AddDate(0, 0, 1) {
				if slices.Contains(mdays, day.Day()) || slices.Contains(t.WeekDays, day.Weekday()) {
					if next, ok := try(day); ok {
						return next, true
					}
				}
			}
		}
	}
	return time.Time{}, false
}
