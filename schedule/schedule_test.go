package schedule

import (
	"strings"
	"testing"
	"time"

	"github.com/hangar-ml/hangar"
)

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// fires lists the first n firing times after after.
func fires(t *testing.T, tr *Trigger, after time.Time, n int) []string {
	t.Helper()
	var out []string
	for range n {
		next, ok := tr.Next(after)
		if !ok {
			out = append(out, "never")
			break
		}
		if !next.After(after) {
			t.Fatalf("Next(%s) = %s: not after", after, next)
		}
		out = append(out, next.In(tr.Location).Format(time.RFC3339))
		after = next
	}
	return out
}

func TestNext(t *testing.T) {
	start := "2026-01-01T00:00:00Z"
	tests := []struct {
		name  string
		yaml  string // the trigger
		after string
		want  []string
	}{
		{"cron every minute", "type: cron\nexpression: '* * * * *'", "2026-03-01T10:00:30Z",
			[]string{"2026-03-01T10:01:00Z", "2026-03-01T10:02:00Z", "2026-03-01T10:03:00Z"}},
		{"cron steps and lists", "type: cron\nexpression: '*/20 9-10 * * *'", "2026-03-01T09:30:00Z",
			[]string{"2026-03-01T09:40:00Z", "2026-03-01T10:00:00Z", "2026-03-01T10:20:00Z", "2026-03-01T10:40:00Z", "2026-03-02T09:00:00Z"}},
		{"cron day of week names and 7 is sunday", "type: cron\nexpression: '0 8 * * SAT,7'", "2026-03-02T00:00:00Z",
			[]string{"2026-03-07T08:00:00Z", "2026-03-08T08:00:00Z", "2026-03-14T08:00:00Z"}},
		{"cron dom or dow when both restricted", "type: cron\nexpression: '0 0 13 * FRI'", "2026-03-01T00:00:00Z",
			[]string{"2026-03-06T00:00:00Z", "2026-03-13T00:00:00Z", "2026-03-20T00:00:00Z"}},
		{"cron february 29", "type: cron\nexpression: '0 0 29 2 *'", "2026-03-01T00:00:00Z",
			[]string{"2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"}},
		{"cron 31st skips short months", "type: cron\nexpression: '0 0 31 * *'", "2026-03-31T00:00:00Z",
			[]string{"2026-05-31T00:00:00Z", "2026-07-31T00:00:00Z"}},
		{"cron in a time zone", "type: cron\nexpression: '0 3 * * *'\ntime_zone: Europe/Paris", "2026-01-10T00:00:00Z",
			[]string{"2026-01-10T03:00:00+01:00", "2026-01-11T03:00:00+01:00"}},
		{"cron windows zone name", "type: cron\nexpression: '0 9 * * *'\ntime_zone: Pacific Standard Time", "2026-06-01T00:00:00Z",
			[]string{"2026-06-01T09:00:00-07:00"}},
		{"cron skipped wall time fires at the jump", "type: cron\nexpression: '30 2 * * *'\ntime_zone: America/New_York", "2026-03-07T12:00:00Z",
			[]string{"2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00"}},
		{"cron skipped hour fires once", "type: cron\nexpression: '*/30 2 * * *'\ntime_zone: America/New_York", "2026-03-08T06:00:00Z",
			[]string{"2026-03-08T03:00:00-04:00", "2026-03-09T02:00:00-04:00"}},
		{"cron repeated wall time fires once", "type: cron\nexpression: '30 1 * * *'\ntime_zone: America/New_York", "2026-10-31T12:00:00Z",
			[]string{"2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"}},
		{"cron start time in the future", "type: cron\nexpression: '0 * * * *'\nstart_time: '2026-05-01T10:30:00'", "2026-03-01T00:00:00Z",
			[]string{"2026-05-01T11:00:00Z", "2026-05-01T12:00:00Z"}},
		{"cron end time", "type: cron\nexpression: '0 * * * *'\nend_time: '2026-03-01T02:00:00Z'", "2026-03-01T00:30:00Z",
			[]string{"2026-03-01T01:00:00Z", "2026-03-01T02:00:00Z", "never"}},
		{"minute recurrence from the start", "type: recurrence\nfrequency: minute\ninterval: 15\nstart_time: '2026-03-01T10:07:00Z'", "2026-03-01T10:30:00Z",
			[]string{"2026-03-01T10:37:00Z", "2026-03-01T10:52:00Z"}},
		{"minute recurrence fires at start", "type: recurrence\nfrequency: minute\nstart_time: '2026-03-01T10:07:00Z'", "2026-03-01T00:00:00Z",
			[]string{"2026-03-01T10:07:00Z", "2026-03-01T10:08:00Z"}},
		{"hour recurrence counts real hours over DST", "type: recurrence\nfrequency: hour\ninterval: 1\nstart_time: '2026-03-08T00:00:00'\ntime_zone: America/New_York", "2026-03-08T05:30:00Z",
			[]string{"2026-03-08T01:00:00-05:00", "2026-03-08T03:00:00-04:00", "2026-03-08T04:00:00-04:00"}},
		{"hour recurrence with minutes", "type: recurrence\nfrequency: hour\ninterval: 2\nschedule: {minutes: [0, 30]}\nstart_time: '2026-03-01T10:10:00Z'", "2026-03-01T10:00:00Z",
			[]string{"2026-03-01T10:30:00Z", "2026-03-01T12:00:00Z", "2026-03-01T12:30:00Z", "2026-03-01T14:00:00Z"}},
		{"day recurrence at hours and minutes", "type: recurrence\nfrequency: day\ninterval: 2\nschedule: {hours: [4, 16], minutes: 15}\nstart_time: '2026-03-01T00:00:00'\ntime_zone: Asia/Tokyo", "2026-03-01T00:00:00Z",
			[]string{"2026-03-01T16:15:00+09:00", "2026-03-03T04:15:00+09:00", "2026-03-03T16:15:00+09:00"}},
		{"day recurrence defaults to the start's time", "type: recurrence\nfrequency: day\nstart_time: '2026-03-01T06:45:00Z'", "2026-03-02T07:00:00Z",
			[]string{"2026-03-03T06:45:00Z"}},
		{"week recurrence on week days", "type: recurrence\nfrequency: week\ninterval: 2\nschedule: {week_days: [monday, Friday], hours: 9, minutes: 0}\nstart_time: '2026-03-04T00:00:00Z'", "2026-03-01T00:00:00Z",
			[]string{"2026-03-06T09:00:00Z", "2026-03-16T09:00:00Z", "2026-03-20T09:00:00Z", "2026-03-30T09:00:00Z"}},
		{"month recurrence skips months without the day", "type: recurrence\nfrequency: month\nschedule: {month_days: [31], hours: 0, minutes: 0}\nstart_time: '2026-01-01T00:00:00Z'", "2026-01-31T00:00:00Z",
			[]string{"2026-03-31T00:00:00Z", "2026-05-31T00:00:00Z"}},
		{"month recurrence every 3 months", "type: recurrence\nfrequency: month\ninterval: 3\nstart_time: '2026-01-15T08:00:00Z'", "2026-01-15T08:00:00Z",
			[]string{"2026-04-15T08:00:00Z", "2026-07-15T08:00:00Z"}},
		{"day recurrence repeated wall time fires once", "type: recurrence\nfrequency: day\nschedule: {hours: 1, minutes: 30}\nstart_time: '2026-10-30T00:00:00'\ntime_zone: America/New_York", "2026-11-01T04:00:00Z",
			[]string{"2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			y := "name: s\ncreate_job: azureml:j\ntrigger:\n  " + strings.ReplaceAll(tt.yaml, "\n", "\n  ") + "\n"
			spec, err := Parse("s.yml", []byte(y), nil, mustTime(t, start))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			got := fires(t, &spec.Trigger, mustTime(t, tt.after), len(tt.want))
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("got %v\nwant %v", got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	now := "2026-03-01T00:00:00Z"
	tests := []struct {
		name string
		yaml string
		want string
	}{
		{"empty", "", "s.yml: the file is empty"},
		{"not a mapping", "- a", "s.yml:1: the schedule must be a mapping of keys, not a list"},
		{"bad YAML", "name: [", "s.yml:1: invalid YAML"},
		{"no name", "trigger: {type: cron, expression: '* * * * *'}\ncreate_job: azureml:j", "s.yml:1: name: a schedule needs a name"},
		{"bad name", "name: -x\ntrigger: {type: cron, expression: '* * * * *'}\ncreate_job: azureml:j", "invalid schedule name"},
		{"unknown key", "name: s\ntriger: 1\ncreate_job: azureml:j", "s.yml:2: triger: unknown key"},
		{"no trigger", "name: s\ncreate_job: azureml:j", "trigger: a schedule needs a trigger"},
		{"no create_job", "name: s\ntrigger: {type: cron, expression: '* * * * *'}", "create_job: a schedule needs create_job"},
		{"bad trigger type", "name: s\ntrigger:\n  type: hourly\ncreate_job: azureml:j", "s.yml:3: trigger.type: \"hourly\": want cron or recurrence"},
		{"cron four fields", "name: s\ntrigger:\n  type: cron\n  expression: '* * * *'\ncreate_job: azureml:j", "s.yml:4: trigger.expression: \"* * * *\" has 4 fields"},
		{"cron minute 60", "name: s\ntrigger:\n  type: cron\n  expression: '60 * * * *'\ncreate_job: azureml:j", "trigger.expression: minute field \"60\": \"60\": want 0 to 59"},
		{"cron backwards range", "name: s\ntrigger:\n  type: cron\n  expression: '0 5-3 * * *'\ncreate_job: azureml:j", "hour field \"5-3\": range 5-3 runs backwards"},
		{"cron bad step", "name: s\ntrigger:\n  type: cron\n  expression: '*/0 * * * *'\ncreate_job: azureml:j", "step \"0\""},
		{"cron february 30 never fires", "name: s\ntrigger:\n  type: cron\n  expression: '0 0 30 2 *'\ncreate_job: azureml:j", "s.yml:2: trigger: cron 0 0 30 2 * (UTC) never fires"},
		{"cron with frequency", "name: s\ntrigger:\n  type: cron\n  expression: '* * * * *'\n  frequency: day\ncreate_job: azureml:j", "s.yml:5: trigger.frequency: a cron trigger takes no frequency"},
		{"unknown zone", "name: s\ntrigger:\n  type: cron\n  expression: '* * * * *'\n  time_zone: Mars/Olympus\ncreate_job: azureml:j", "s.yml:5: trigger.time_zone: unknown time zone \"Mars/Olympus\""},
		{"unknown windows zone", "name: s\ntrigger:\n  type: cron\n  expression: '* * * * *'\n  time_zone: Martian Standard Time\ncreate_job: azureml:j", "common Windows names"},
		{"zone is a path", "name: s\ntrigger:\n  type: cron\n  expression: '* * * * *'\n  time_zone: ../../etc/passwd\ncreate_job: azureml:j", "unknown time zone"},
		{"both zone spellings", "name: s\ntrigger:\n  type: cron\n  expression: '* * * * *'\n  time_zone: UTC\n  timezone: UTC\ncreate_job: azureml:j", "give time_zone or timezone, not both"},
		{"end before start", "name: s\ntrigger:\n  type: cron\n  expression: '* * * * *'\n  start_time: '2026-05-01T00:00:00Z'\n  end_time: '2026-04-01T00:00:00Z'\ncreate_job: azureml:j", "s.yml:6: trigger.end_time: 2026-04-01T00:00:00Z is not after the start time"},
		{"bad start time", "name: s\ntrigger:\n  type: cron\n  expression: '* * * * *'\n  start_time: tomorrow\ncreate_job: azureml:j", "s.yml:5: trigger.start_time: \"tomorrow\": want a date and time"},
		{"no frequency", "name: s\ntrigger:\n  type: recurrence\ncreate_job: azureml:j", "trigger.frequency: a recurrence needs a frequency"},
		{"bad frequency", "name: s\ntrigger:\n  type: recurrence\n  frequency: fortnight\ncreate_job: azureml:j", "s.yml:4: trigger.frequency: \"fortnight\""},
		{"interval zero", "name: s\ntrigger:\n  type: recurrence\n  frequency: day\n  interval: 0\ncreate_job: azureml:j", "s.yml:5: trigger.interval: 0: want 1 to 1000"},
		{"interval not a number", "name: s\ntrigger:\n  type: recurrence\n  frequency: day\n  interval: often\ncreate_job: azureml:j", "s.yml:5: trigger.interval: want a whole number"},
		{"hour 24", "name: s\ntrigger:\n  type: recurrence\n  frequency: day\n  schedule:\n    hours: [1, 24]\ncreate_job: azureml:j", "s.yml:6: trigger.schedule.hours: 24: want 0 to 23"},
		{"bad week day", "name: s\ntrigger:\n  type: recurrence\n  frequency: week\n  schedule:\n    week_days: [mon]\ncreate_job: azureml:j", "trigger.schedule.week_days: \"mon\""},
		{"week days on a day recurrence", "name: s\ntrigger:\n  type: recurrence\n  frequency: day\n  pattern:\n    week_days: monday\ncreate_job: azureml:j", "a day recurrence takes hours and minutes only"},
		{"february 30 every year", "name: s\ntrigger:\n  type: recurrence\n  frequency: month\n  interval: 12\n  schedule: {month_days: 30}\n  start_time: '2026-02-01T00:00:00Z'\ncreate_job: azureml:j", "never fires"},
		{"end time passed", "name: s\ntrigger:\n  type: cron\n  expression: '* * * * *'\n  start_time: '2025-01-01T00:00:00Z'\n  end_time: '2025-02-01T00:00:00Z'\ncreate_job: azureml:j", "never fires"},
		{"bad existing job", "name: s\ntrigger: {type: cron, expression: '* * * * *'}\ncreate_job: 'azureml:a:b'", "s.yml:3: create_job: \"azureml:a:b\": want azureml:<existing job name>"},
		{"object form unknown key", "name: s\ntrigger: {type: cron, expression: '* * * * *'}\ncreate_job:\n  job: ./j.yml\n  compute: x", "s.yml:5: create_job.compute: unknown key"},
		{"object form overrides an existing job", "name: s\ntrigger: {type: cron, expression: '* * * * *'}\ncreate_job:\n  job: azureml:j\n  experiment_name: x", "an existing job is copied as it is"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("s.yml", []byte(tt.yaml), nil, mustTime(t, now))
			if err == nil {
				t.Fatalf("got no error, want %q", tt.want)
			}
			if hangar.ErrorCode(err) != hangar.EINVALID {
				t.Errorf("got code %s, want EINVALID", hangar.ErrorCode(err))
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %q\nwant it to contain %q", err, tt.want)
			}
		})
	}
}

func TestParseCreateJob(t *testing.T) {
	now := mustTime(t, "2026-03-01T00:00:00Z")
	head := "name: s\ntrigger: {type: cron, expression: '0 * * * *'}\n"
	tests := []struct {
		name string
		yaml string
		want CreateJob
	}{
		{"path", "create_job: ./job.yml", CreateJob{File: "./job.yml"}},
		{"existing", "create_job: azureml:calm_river_1", CreateJob{Existing: "calm_river_1"}},
		{"object form", "create_job:\n  type: pipeline\n  job: ./p.yml\n  experiment_name: nightly\n", CreateJob{File: "./p.yml", Overrides: "experiment_name: nightly\n"}},
		{"inline", "create_job:\n  type: command\n  command: echo hi\n", CreateJob{Inline: "type: command\ncommand: echo hi\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec, err := Parse("s.yml", []byte(head+tt.yaml), nil, now)
			if err != nil {
				t.Fatal(err)
			}
			if spec.CreateJob != tt.want {
				t.Errorf("got %+v, want %+v", spec.CreateJob, tt.want)
			}
		})
	}
}

func TestParseSets(t *testing.T) {
	y := "name: s\ntrigger: {type: cron, expression: '0 * * * *'}\ncreate_job: azureml:j\n"
	spec, err := Parse("s.yml", []byte(y), []string{"trigger.expression=0 3 * * *", "trigger.time_zone=Europe/Paris", "name=t"}, mustTime(t, "2026-03-01T00:00:00Z"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := spec.Trigger.String(), "cron 0 3 * * * (Europe/Paris)"; got != want || spec.Name != "t" {
		t.Errorf("got %q name %q, want %q name t", got, spec.Name, want)
	}
	if _, err := Parse("s.yml", []byte(y), []string{"name.x=1"}, time.Now()); err == nil || !strings.Contains(err.Error(), "name is not a mapping") {
		t.Errorf("got %v, want an error naming the path", err)
	}
	for _, tc := range []struct{ set, want string }{
		{"trigger.time_zone=Nowhere/City", "s.yml: --set trigger.time_zone=Nowhere/City: trigger.time_zone: unknown time zone"},
		{"trigger.expression=0 0 30 2 *", "s.yml:2: trigger: cron 0 0 30 2 * (UTC) never fires"},
		{"trigger.end_time=2020-01-01T00:00:00Z", "s.yml: --set trigger.end_time=2020-01-01T00:00:00Z: trigger.end_time: 2020-01-01T00:00:00Z is not after"},
		{"trigger.schedule.hours=[25]", "s.yml: --set trigger.schedule.hours=[25]: trigger.schedule: a cron trigger takes no schedule"},
	} {
		_, err := Parse("s.yml", []byte(y), []string{tc.set}, mustTime(t, "2026-03-01T00:00:00Z"))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("--set %s: got %v, want %q", tc.set, err, tc.want)
		}
	}
}

func TestMerge(t *testing.T) {
	job := "type: command\ncommand: echo\ninputs:\n  a: 1\n  b: 2\ntags: {x: y}\n"
	got, err := Merge("job.yml", []byte(job), "experiment_name: nightly\ninputs:\n  b: 3\n  c: 4\n")
	if err != nil {
		t.Fatal(err)
	}
	want := "type: command\ncommand: echo\ninputs:\n    a: 1\n    b: 3\n    c: 4\ntags: {x: y}\nexperiment_name: nightly\n"
	if string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestBuild(t *testing.T) {
	now := mustTime(t, "2026-03-01T10:00:30Z")
	y := "name: s\ndisplay_name: nightly\ntrigger: {type: recurrence, frequency: minute, interval: 1}\ncreate_job: ./job.yml\n"
	job := &hangar.JobSubmission{File: "job.yml", YAML: "type: command\ncommand: echo\n"}
	s, spec, err := Build(&hangar.ScheduleSubmission{File: "s.yml", YAML: y, Job: job}, now, now)
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "s" || s.DisplayName != "nightly" || !s.Enabled || s.NextDue == nil || !s.NextDue.Equal(now.Add(time.Minute)) {
		t.Errorf("got %+v next %v, want s, nightly, enabled, next due a minute after now", s, s.NextDue)
	}
	if got, want := s.Trigger, "every minute (UTC)"; got != want {
		t.Errorf("got trigger %q, want %q", got, want)
	}
	loaded := &hangar.Schedule{Name: "s", Spec: s.Spec}
	def, spec2, err := Load(loaded)
	if err != nil {
		t.Fatal(err)
	}
	if def.Job == nil || def.Job.YAML != job.YAML || !spec2.Trigger.Start.Equal(spec.Trigger.Start) {
		t.Errorf("Load: got %+v, want the job and start time back", def)
	}
	for _, tc := range []struct {
		name string
		sub  hangar.ScheduleSubmission
		want string
	}{
		{"file without its job", hangar.ScheduleSubmission{File: "s.yml", YAML: y}, "send the job's submission"},
		{"existing with a job", hangar.ScheduleSubmission{File: "s.yml", YAML: strings.Replace(y, "./job.yml", "azureml:j", 1), Job: job}, "send no job YAML"},
		{"bad file name", hangar.ScheduleSubmission{File: "a/s.yml", YAML: y, Job: job}, "invalid schedule file name"},
		{"empty YAML", hangar.ScheduleSubmission{File: "s.yml", YAML: " ", Job: job}, "s.yml: the schedule's YAML is empty"},
		{"bad set", hangar.ScheduleSubmission{File: "s.yml", YAML: y, Sets: []string{"=x"}, Job: job}, "want path=value"},
		{"bad job", hangar.ScheduleSubmission{File: "s.yml", YAML: y, Job: &hangar.JobSubmission{File: "j.yml"}}, "j.yml: the job's YAML is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Build(&tc.sub, now, now)
			if err == nil || hangar.ErrorCode(err) != hangar.EINVALID || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want EINVALID containing %q", err, tc.want)
			}
		})
	}
}

func TestJobName(t *testing.T) {
	due := mustTime(t, "2026-03-01T10:00:00Z")
	if got, want := JobName("nightly", due, false), "nightly-20260301t100000"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := JobName(strings.Repeat("a", 255), due, true); len(got) != 255 || hangar.ValidateJobName(got) != nil {
		t.Errorf("got %q (%d bytes), want a valid name of 255 bytes", got, len(got))
	}
}

func FuzzParseCron(f *testing.F) {
	for _, s := range []string{"* * * * *", "*/5 1-3,7 1 JAN-MAR mon", "0 0 30 2 *", "5/15 * * * 7", "a b c d e"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		c, err := ParseCron(expr)
		if err != nil {
			return
		}
		tr := &Trigger{Type: TriggerCron, Expression: expr, Location: time.UTC, cron: c}
		after := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		if next, ok := tr.Next(after); ok && !next.After(after) {
			t.Fatalf("Next(%s) = %s, not after", after, next)
		}
	})
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"name: s\ntrigger: {type: cron, expression: '0 3 * * *', time_zone: Europe/Paris}\ncreate_job: ./job.yml\n",
		"name: s\ntrigger:\n  type: recurrence\n  frequency: week\n  interval: 2\n  schedule: {week_days: [monday], hours: [1, 2], minutes: 30}\n  start_time: '2026-01-01T00:00:00'\n  end_time: '2027-01-01T00:00:00'\ncreate_job:\n  job: azureml:j\n",
		"name: s\ntrigger: {type: recurrence, frequency: month, schedule: {month_days: [31]}}\ncreate_job: {type: command, command: echo}\n",
	} {
		f.Add([]byte(s))
	}
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, b []byte) {
		spec, err := Parse("s.yml", b, nil, now)
		if err != nil {
			if hangar.ErrorCode(err) != hangar.EINVALID {
				t.Fatalf("got code %s, want EINVALID: %v", hangar.ErrorCode(err), err)
			}
			return
		}
		next, ok := spec.Trigger.Next(now)
		if !ok || !next.After(now) {
			t.Fatalf("a parsed schedule fires: got %s, %v", next, ok)
		}
	})
}
