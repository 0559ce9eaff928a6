// Package schedule is Hangar's job schedules: it reads Azure ML's schedule
// YAML (reference/azureml.md §2.12) — a cron or recurrence trigger in a
// time zone and the job to create — computes when a trigger fires next,
// and fires due schedules (Firer) through the same job submission path as
// `hangar job create`.
//
// The package holds no state of its own: a schedule's definition, its next
// due time and its firings live in a hangar.ScheduleService. Firing is a
// claim in the store (one firing per schedule and due time, with next_due
// advanced in the same transaction), so several servers on one database
// fire each due time once; a schedule that came due while every server was
// down fires once when one starts, its next due time moved past now.
package schedule

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/jobspec"
)

// Spec is a parsed schedule YAML.
type Spec struct {
	Name        string
	DisplayName string
	Description string
	Tags        map[string]string
	Trigger     Trigger
	CreateJob   CreateJob
}

// CreateJob is the job a schedule creates, one of File, Inline and
// Existing.
type CreateJob struct {
	// File is a job YAML's path, as written (relative to the schedule
	// file's folder).
	File string
	// Inline is a job YAML written in the schedule itself (create_job as a
	// mapping of the job's own keys), re-encoded as YAML text.
	Inline string
	// Existing names an existing job (azureml:<name>): each firing copies
	// its definition.
	Existing string
	// Overrides are the other fields of Azure's object form
	// ({job: ./pipeline.yml, experiment_name: …, inputs: …, settings: …,
	// tags: …}), as YAML text: Merge lays them over the job's YAML.
	Overrides string
}

// Limits of a schedule YAML.
const (
	maxNodes    = 20_000
	maxListSize = 366
)

// fieldError is an error at a field of the YAML.
type fieldError struct {
	field string
	err   error
}

func (e *fieldError) Error() string { return e.field + ": " + e.err.Error() }

func fieldErr(field string, err error) error { return &fieldError{field, err} }

// decoder walks the YAML strictly, with the line of each problem.
type decoder struct {
	file  string
	errs  []string
	nodes int
	// lines maps a field to the line of its value, for the errors of
	// Trigger.check; -i for a value --set number i made.
	lines map[string]int
	sets  []string
}

func (d *decoder) errorf(n *yaml.Node, field, format string, args ...any) {
	if len(d.errs) >= 20 {
		return
	}
	pos := d.file
	switch {
	case n != nil && n.Line > 0:
		pos += ":" + strconv.Itoa(n.Line)
	case n != nil && n.Line < 0 && -n.Line <= len(d.sets):
		// A node an override made (applySets numbers them).
		pos += ": --set " + d.sets[-n.Line-1]
	}
	d.errs = append(d.errs, pos+": "+field+": "+fmt.Sprintf(format, args...))
}

func (d *decoder) err() error {
	if len(d.errs) == 0 {
		return nil
	}
	return hangar.Errorf(hangar.EINVALID, "%s", strings.Join(d.errs, "\n"))
}

func (d *decoder) deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 50; i++ {
		n = n.Alias
	}
	if n != nil && n.Kind == yaml.AliasNode {
		return nil
	}
	d.nodes++
	if d.nodes > maxNodes {
		if d.nodes == maxNodes+1 {
			d.errorf(nil, "document", "more than %d nodes (aliases included)", maxNodes)
		}
		return nil
	}
	return n
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

// fields walks a mapping; unknown and duplicate keys are errors.
func (d *decoder) fields(n *yaml.Node, path string, fs map[string]func(*yaml.Node)) {
	if n = d.deref(n); n == nil || isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "want a mapping")
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := d.deref(n.Content[i])
		if k == nil {
			return
		}
		if k.Kind != yaml.ScalarNode || k.Tag == "!!merge" {
			d.errorf(k, path, "keys must be plain names")
			continue
		}
		if seen[k.Value] {
			d.errorf(k, join(path, k.Value), "duplicate key")
			continue
		}
		seen[k.Value] = true
		fn, ok := fs[k.Value]
		if !ok {
			known := make([]string, 0, len(fs))
			for name := range fs {
				known = append(known, name)
			}
			slices.Sort(known)
			d.errorf(k, join(path, k.Value), "unknown key (known: %s)", strings.Join(known, ", "))
			continue
		}
		line := k.Line
		if v := n.Content[i+1]; v.Line < 0 {
			line = v.Line
		}
		d.lines[join(path, k.Value)] = line
		fn(n.Content[i+1])
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func (d *decoder) str(n *yaml.Node, path string, dst *string) {
	if n = d.deref(n); n == nil {
		return
	}
	if n.Kind != yaml.ScalarNode || isNull(n) {
		d.errorf(n, path, "want a string")
		return
	}
	*dst = n.Value
}

func (d *decoder) integer(n *yaml.Node, path string) (int, bool) {
	if n = d.deref(n); n == nil {
		return 0, false
	}
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
		d.errorf(n, path, "want a whole number, not %q", n.Value)
		return 0, false
	}
	v, err := strconv.ParseInt(n.Value, 10, 32)
	if err != nil {
		d.errorf(n, path, "want a whole number, not %q", n.Value)
		return 0, false
	}
	return int(v), true
}

// ints reads an int or a list of ints.
func (d *decoder) ints(n *yaml.Node, path string) []int {
	if n = d.deref(n); n == nil || isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		if v, ok := d.integer(n, path); ok {
			return []int{v}
		}
		return nil
	}
	if len(n.Content) > maxListSize {
		d.errorf(n, path, "%d items; the limit is %d", len(n.Content), maxListSize)
		return nil
	}
	var out []int
	for _, c := range n.Content {
		if v, ok := d.integer(c, path); ok {
			out = append(out, v)
		}
	}
	return out
}

// strs reads a string or a list of strings.
func (d *decoder) strs(n *yaml.Node, path string) []string {
	if n = d.deref(n); n == nil || isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		var s string
		d.str(n, path, &s)
		return []string{s}
	}
	if len(n.Content) > maxListSize {
		d.errorf(n, path, "%d items; the limit is %d", len(n.Content), maxListSize)
		return nil
	}
	var out []string
	for _, c := range n.Content {
		var s string
		d.str(c, path, &s)
		out = append(out, s)
	}
	return out
}

func (d *decoder) tags(n *yaml.Node, path string) map[string]string {
	if n = d.deref(n); n == nil || isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "want a mapping of names to values")
		return nil
	}
	out := map[string]string{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := d.deref(n.Content[i]), d.deref(n.Content[i+1])
		if k == nil || v == nil {
			return out
		}
		if k.Kind != yaml.ScalarNode || v.Kind != yaml.ScalarNode {
			d.errorf(k, path, "want a mapping of names to values")
			continue
		}
		out[k.Value] = v.Value
	}
	return out
}

var weekDays = map[string]time.Weekday{
	"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday, "wednesday": time.Wednesday,
	"thursday": time.Thursday, "friday": time.Friday, "saturday": time.Saturday,
}

// Parse reads a schedule YAML. sets are --set overrides ("path=value").
// The start time defaults to defaultStart. Every problem is reported with
// the file, the line and the field; a trigger that can never fire after
// defaultStart is refused. Errors: EINVALID.
func Parse(file string, b []byte, sets []string, defaultStart time.Time) (*Spec, error) {
	root, err := load(file, b)
	if err != nil {
		return nil, err
	}
	d := &decoder{file: file, lines: map[string]int{}, sets: sets}
	if err := applySets(root, sets); err != nil {
		return nil, hangar.Errorf(hangar.EINVALID, "%s: %v", file, err)
	}
	s := &Spec{}
	var trigger, createJob *yaml.Node
	d.fields(root, "", map[string]func(*yaml.Node){
		"$schema":      func(*yaml.Node) {},
		"name":         func(n *yaml.Node) { d.str(n, "name", &s.Name) },
		"display_name": func(n *yaml.Node) { d.str(n, "display_name", &s.DisplayName) },
		"description":  func(n *yaml.Node) { d.str(n, "description", &s.Description) },
		"tags":         func(n *yaml.Node) { s.Tags = d.tags(n, "tags") },
		"trigger":      func(n *yaml.Node) { trigger = n },
		"create_job":   func(n *yaml.Node) { createJob = n },
	})
	if s.Name == "" {
		d.errorf(root, "name", "a schedule needs a name")
	} else if err := hangar.ValidateScheduleName(s.Name); err != nil {
		d.errorf(root, "name", "%s", hangar.ErrorMessage(err))
	}
	if trigger == nil {
		d.errorf(root, "trigger", "a schedule needs a trigger (type: cron or type: recurrence)")
	} else {
		d.trigger(trigger, &s.Trigger, defaultStart)
	}
	if createJob == nil {
		d.errorf(root, "create_job", "a schedule needs create_job: a job YAML's path, azureml:<existing job name> or the job itself")
	} else {
		d.createJob(createJob, &s.CreateJob)
	}
	if err := d.err(); err != nil {
		return nil, err
	}
	t := &s.Trigger
	if err := t.check(); err != nil {
		var fe *fieldError
		if errors.As(err, &fe) {
			d.errorf(&yaml.Node{Line: d.lines[fe.field]}, fe.field, "%v", fe.err)
		} else {
			d.errorf(trigger, "trigger", "%v", err)
		}
		return nil, d.err()
	}
	if _, ok := t.Next(defaultStart); !ok {
		d.errorf(&yaml.Node{Line: d.lines["trigger"]}, "trigger", "%s never fires after %s", t, defaultStart.In(t.Location).Format(time.RFC3339))
		return nil, d.err()
	}
	return s, nil
}

func (d *decoder) trigger(n *yaml.Node, t *Trigger, defaultStart time.Time) {
	var start, end, zone, zone2 string
	var sched *yaml.Node
	schedKey := ""
	d.fields(n, "trigger", map[string]func(*yaml.Node){
		"type":       func(n *yaml.Node) { d.str(n, "trigger.type", &t.Type) },
		"expression": func(n *yaml.Node) { d.str(n, "trigger.expression", &t.Expression) },
		"frequency":  func(n *yaml.Node) { d.str(n, "trigger.frequency", &t.Frequency) },
		"interval": func(n *yaml.Node) {
			if v, ok := d.integer(n, "trigger.interval"); ok {
				t.Interval = v
			}
		},
		"start_time": func(n *yaml.Node) { d.str(n, "trigger.start_time", &start) },
		"end_time":   func(n *yaml.Node) { d.str(n, "trigger.end_time", &end) },
		"time_zone":  func(n *yaml.Node) { d.str(n, "trigger.time_zone", &zone) },
		"timezone":   func(n *yaml.Node) { d.str(n, "trigger.timezone", &zone2) },
		"schedule":   func(n *yaml.Node) { sched, schedKey = n, "schedule" },
		"pattern":    func(n *yaml.Node) { sched, schedKey = n, "pattern" },
	})
	if d.lines["trigger.time_zone"] != 0 && d.lines["trigger.timezone"] != 0 {
		d.errorf(n, "trigger.timezone", "give time_zone or timezone, not both")
	}
	if zone == "" {
		zone = zone2
		d.lines["trigger.time_zone"] = d.lines["trigger.timezone"]
	}
	t.TimeZone = zone
	loc, err := LoadZone(zone)
	if err != nil {
		d.errorf(&yaml.Node{Line: d.lines["trigger.time_zone"]}, "trigger.time_zone", "%v", err)
		return
	}
	t.Location = loc
	switch t.Type {
	case "":
		d.errorf(n, "trigger.type", "want cron or recurrence")
	case TriggerCron:
		if t.Expression == "" {
			d.errorf(n, "trigger.expression", "a cron trigger needs an expression (\"0 3 * * *\")")
		}
		for _, k := range []string{"frequency", "interval", "schedule", "pattern"} {
			if l := d.lines["trigger."+k]; l != 0 {
				d.errorf(&yaml.Node{Line: l}, "trigger."+k, "a cron trigger takes no %s", k)
			}
		}
	case TriggerRecurrence:
		if t.Frequency == "" {
			d.errorf(n, "trigger.frequency", "a recurrence needs a frequency: minute, hour, day, week or month")
		}
		if d.lines["trigger.interval"] == 0 {
			t.Interval = 1
		}
		if l := d.lines["trigger.expression"]; l != 0 {
			d.errorf(&yaml.Node{Line: l}, "trigger.expression", "a recurrence takes no expression")
		}
	}
	if sched != nil {
		p := "trigger." + schedKey
		d.fields(sched, p, map[string]func(*yaml.Node){
			"hours":      func(n *yaml.Node) { t.Hours = d.ints(n, p+".hours") },
			"minutes":    func(n *yaml.Node) { t.Minutes = d.ints(n, p+".minutes") },
			"month_days": func(n *yaml.Node) { t.MonthDays = d.ints(n, p+".month_days") },
			"week_days": func(n *yaml.Node) {
				for _, s := range d.strs(n, p+".week_days") {
					wd, ok := weekDays[strings.ToLower(s)]
					if !ok {
						d.errorf(n, p+".week_days", "%q: want monday, tuesday, wednesday, thursday, friday, saturday or sunday", s)
						continue
					}
					if !slices.Contains(t.WeekDays, wd) {
						t.WeekDays = append(t.WeekDays, wd)
					}
				}
			},
		})
		for _, k := range []string{"hours", "minutes", "month_days", "week_days"} {
			d.lines["trigger.schedule."+k] = d.lines[p+"."+k]
		}
	}
	t.Start = defaultStart
	if start != "" {
		st, err := parseTime(start, loc)
		if err != nil {
			d.errorf(&yaml.Node{Line: d.lines["trigger.start_time"]}, "trigger.start_time", "%v", err)
		} else {
			t.Start = st
		}
	}
	if end != "" {
		et, err := parseTime(end, loc)
		if err != nil {
			d.errorf(&yaml.Node{Line: d.lines["trigger.end_time"]}, "trigger.end_time", "%v", err)
		} else {
			t.End = &et
		}
	}
}

// parseTime reads a start or end time: RFC 3339 with an offset, or a
// local date and time in the trigger's zone ("2026-01-01T03:00:00", as
// Azure writes them).
func parseTime(s string, loc *time.Location) (time.Time, error) {
	var t time.Time
	var err error
	if t, err = time.Parse(time.RFC3339, s); err != nil {
		for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02"} {
			if t, err = time.ParseInLocation(layout, s, loc); err == nil {
				break
			}
		}
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("%q: want a date and time such as 2026-01-01T03:00:00 (in the trigger's time zone) or 2026-01-01T03:00:00Z", s)
	}
	if t.Year() < 2000 || t.Year() > 2199 {
		return time.Time{}, fmt.Errorf("%q: want a year from 2000 to 2199", s)
	}
	return t, nil
}

var existingJob = regexp.MustCompile(`^azureml:([^:/]+)$`)

func (d *decoder) createJob(n *yaml.Node, c *CreateJob) {
	if n = d.deref(n); n == nil {
		return
	}
	if n.Kind == yaml.ScalarNode && !isNull(n) {
		d.jobRef(n, "create_job", n.Value, c)
		return
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "create_job", "want a job YAML's path, azureml:<existing job name>, or a mapping")
		return
	}
	// Azure's object form names the job with "job"; otherwise the mapping
	// is the job itself.
	var jobNode *yaml.Node
	over := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := d.deref(n.Content[i])
		if k == nil {
			return
		}
		if k.Value == "job" {
			jobNode = n.Content[i+1]
		}
	}
	if jobNode == nil {
		b, err := yaml.Marshal(n)
		if err != nil {
			d.errorf(n, "create_job", "%v", err)
			return
		}
		c.Inline = string(b)
		return
	}
	allowed := []string{"type", "job", "experiment_name", "display_name", "description", "inputs", "outputs", "settings", "tags"}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		switch {
		case !slices.Contains(allowed, k.Value):
			d.errorf(k, "create_job."+k.Value, "unknown key (known: %s)", strings.Join(allowed, ", "))
		case k.Value == "job":
			var ref string
			d.str(n.Content[i+1], "create_job.job", &ref)
			if ref != "" {
				d.jobRef(n.Content[i+1], "create_job.job", ref, c)
			}
		case k.Value == "type":
			var typ string
			d.str(n.Content[i+1], "create_job.type", &typ)
			if typ != "pipeline" && typ != "command" {
				d.errorf(n.Content[i+1], "create_job.type", "%q: want pipeline or command", typ)
			}
		default:
			over.Content = append(over.Content, k, n.Content[i+1])
		}
	}
	if len(over.Content) > 0 {
		if c.Existing != "" {
			d.errorf(n, "create_job", "an existing job is copied as it is: experiment_name, inputs, outputs, settings and tags need a job YAML")
			return
		}
		b, err := yaml.Marshal(over)
		if err != nil {
			d.errorf(n, "create_job", "%v", err)
			return
		}
		c.Overrides = string(b)
	}
}

func (d *decoder) jobRef(n *yaml.Node, path, ref string, c *CreateJob) {
	if strings.HasPrefix(ref, "azureml:") {
		m := existingJob.FindStringSubmatch(ref)
		if m == nil || hangar.ValidateJobName(m[1]) != nil {
			d.errorf(n, path, "%q: want azureml:<existing job name>", ref)
			return
		}
		c.Existing = m[1]
		return
	}
	if err := hangar.ValidateText(path, ref, hangar.MaxDataPathLength); err != nil || strings.TrimSpace(ref) == "" {
		d.errorf(n, path, "want a job YAML's path or azureml:<existing job name>")
		return
	}
	c.File = ref
}

// load parses one YAML document into its root mapping.
func load(file string, b []byte) (*yaml.Node, error) {
	return jobspec.LoadDocument(file, b, "schedule")
}

// applySets applies --set overrides: "a.b=value" replaces or adds the
// value at that path, creating mappings on the way.
func applySets(root *yaml.Node, sets []string) error {
	for i, s := range sets {
		key, val, ok := strings.Cut(s, "=")
		if !ok || key == "" {
			return fmt.Errorf("--set %q: want path=value, e.g. trigger.expression=0 3 * * *", s)
		}
		var v yaml.Node
		if err := yaml.Unmarshal([]byte(val), &v); err != nil {
			return fmt.Errorf("--set %s: the value is not valid YAML", key)
		}
		value := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null"}
		if len(v.Content) > 0 {
			value = v.Content[0]
		}
		// Errors at the override's nodes name it, not a line.
		var mark func(*yaml.Node)
		mark = func(n *yaml.Node) {
			n.Line = -(i + 1)
			for _, c := range n.Content {
				mark(c)
			}
		}
		mark(value)
		cur := root
		parts := strings.Split(key, ".")
		for j, p := range parts {
			if p == "" {
				return fmt.Errorf("--set %s: an empty name in the path", key)
			}
			idx := -1
			for k := 0; k+1 < len(cur.Content); k += 2 {
				if cur.Content[k].Value == p {
					idx = k + 1
				}
			}
			last := j == len(parts)-1
			if idx < 0 {
				vn := value
				if !last {
					vn = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: -(i + 1)}
				}
				cur.Content = append(cur.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: p, Line: -(i + 1)}, vn)
				cur = vn
				continue
			}
			if last {
				cur.Content[idx] = value
				break
			}
			next := cur.Content[idx]
			if isNull(next) {
				next.Kind, next.Tag = yaml.MappingNode, "!!map"
			}
			if next.Kind != yaml.MappingNode {
				return fmt.Errorf("--set %s: %s is not a mapping", key, strings.Join(parts[:j+1], "."))
			}
			cur = next
		}
	}
	return nil
}

// Merge lays a create_job's overrides (CreateJob.Overrides) over a job's
// YAML: experiment_name, display_name and description replace the job's,
// and inputs, outputs, settings and tags replace the job's entries of the
// same names. file names the job YAML in errors. Errors: EINVALID.
func Merge(file string, job []byte, overrides string) ([]byte, error) {
	if overrides == "" {
		return job, nil
	}
	root, err := load(file, job)
	if err != nil {
		return nil, err
	}
	var over yaml.Node
	if err := yaml.Unmarshal([]byte(overrides), &over); err != nil || len(over.Content) == 0 || over.Content[0].Kind != yaml.MappingNode {
		return nil, hangar.Errorf(hangar.EINVALID, "create_job: the overrides are not a mapping")
	}
	o := over.Content[0]
	for i := 0; i+1 < len(o.Content); i += 2 {
		k, v := o.Content[i].Value, o.Content[i+1]
		deep := k == "inputs" || k == "outputs" || k == "settings" || k == "tags"
		idx := -1
		for j := 0; j+1 < len(root.Content); j += 2 {
			if root.Content[j].Value == k {
				idx = j + 1
			}
		}
		switch {
		case idx < 0:
			root.Content = append(root.Content, o.Content[i], v)
		case deep && root.Content[idx].Kind == yaml.MappingNode && v.Kind == yaml.MappingNode:
			m := root.Content[idx]
			for a := 0; a+1 < len(v.Content); a += 2 {
				replaced := false
				for b := 0; b+1 < len(m.Content); b += 2 {
					if m.Content[b].Value == v.Content[a].Value {
						m.Content[b+1], replaced = v.Content[a+1], true
					}
				}
				if !replaced {
					m.Content = append(m.Content, v.Content[a], v.Content[a+1])
				}
			}
		default:
			root.Content[idx] = v
		}
	}
	b, err := yaml.Marshal(root)
	if err != nil {
		return nil, hangar.Errorf(hangar.EINVALID, "%s: %v", file, err)
	}
	return b, nil
}

// Definition is what a stored schedule's Spec holds (JSON): the schedule's
// YAML as submitted, the start time it defaults to (its creation), and
// the job it creates.
type Definition struct {
	File  string    `json:"file"`
	YAML  string    `json:"yaml"`
	Sets  []string  `json:"sets,omitempty"`
	Start time.Time `json:"start"`
	// Job is the submission a firing submits (a job YAML with its local
	// paths uploaded); Existing the job a firing copies instead.
	Job      *hangar.JobSubmission `json:"job,omitempty"`
	Existing string                `json:"existing_job,omitempty"`
}

// Build checks a submission and makes the schedule to store: its trigger
// parsed (start time defaulting to defaultStart), its create_job matched
// with the submitted job, and its next due time after now. A trigger that
// never fires after now is refused. Errors: EINVALID.
func Build(sub *hangar.ScheduleSubmission, defaultStart, now time.Time) (*hangar.Schedule, *Spec, error) {
	if err := sub.Validate(); err != nil {
		return nil, nil, err
	}
	// A recurrence without a start time counts from the creation's
	// second, not its nanosecond.
	defaultStart = defaultStart.Truncate(time.Second)
	spec, err := Parse(sub.File, []byte(sub.YAML), sub.Sets, defaultStart)
	if err != nil {
		return nil, nil, err
	}
	def := Definition{File: sub.File, YAML: sub.YAML, Sets: sub.Sets, Start: defaultStart.UTC(), Job: sub.Job, Existing: spec.CreateJob.Existing}
	switch {
	case spec.CreateJob.Existing != "" && sub.Job != nil:
		return nil, nil, hangar.Errorf(hangar.EINVALID, "%s: create_job names the existing job %s: send no job YAML with it", sub.File, spec.CreateJob.Existing)
	case spec.CreateJob.Existing == "" && sub.Job == nil:
		return nil, nil, hangar.Errorf(hangar.EINVALID, "%s: create_job is a job YAML: send the job's submission with the schedule (hangar schedule create does)", sub.File)
	}
	next, ok := spec.Trigger.Next(now)
	if !ok {
		return nil, nil, hangar.Errorf(hangar.EINVALID, "%s: trigger: %s never fires after %s", sub.File, &spec.Trigger, now.In(spec.Trigger.Location).Format(time.RFC3339))
	}
	next = next.UTC()
	text, err := json.Marshal(def)
	if err != nil {
		return nil, nil, fmt.Errorf("encode schedule: %w", err)
	}
	s := &hangar.Schedule{
		Name: spec.Name, DisplayName: spec.DisplayName, Description: spec.Description, Tags: spec.Tags,
		Trigger: spec.Trigger.String(), Spec: string(text), Enabled: true, NextDue: &next,
	}
	if err := s.Validate(); err != nil {
		return nil, nil, err
	}
	return s, spec, nil
}

// Load reads a stored schedule's definition. Errors: EINVALID.
func Load(s *hangar.Schedule) (*Definition, *Spec, error) {
	var def Definition
	if err := json.Unmarshal([]byte(s.Spec), &def); err != nil {
		return nil, nil, hangar.Errorf(hangar.EINVALID, "schedule %s: spec: %v", s.Name, err)
	}
	spec, err := Parse(def.File, []byte(def.YAML), def.Sets, def.Start)
	if err != nil {
		return nil, nil, fmt.Errorf("schedule %s: %w", s.Name, err)
	}
	return &def, spec, nil
}
