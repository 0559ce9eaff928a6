package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/httpapi"
	"github.com/hangar-ml/hangar/jobspec"
	"github.com/hangar-ml/hangar/schedule"
)

// `hangar schedule` (issue 12, item 2): job schedules over the native API
// (httpapi/schedule.go).

var scheduleColumns = []string{"name", "enabled", "trigger", "next_due", "last_fired"}

func newScheduleCmd(cli *clientConfig) *cobra.Command {
	cmd := newGroup("schedule", "Create jobs on a clock: cron or recurrence schedules")
	cmd.Long = `Create jobs on a clock, as Azure ML's job schedules: a cron expression or a
recurrence (every N minutes, hours, days, weeks or months, at given hours,
minutes, week days or month days) in a time zone, between an optional start
and end time, creating a job from a job YAML, an inline job or an existing
job (azureml:<name>) each time it fires. Local paths of the job are uploaded
once, at create and update. A due time fires once even with several servers;
a schedule that came due while the server was down fires once when it starts.`
	cmd.AddCommand(newScheduleCreateCmd(cli, false), newScheduleCreateCmd(cli, true),
		newListCmd(cli, "list", "List the workspace's schedules", scheduleColumns,
			func(ctx context.Context, c *httpapi.Client, opt hangar.ListOptions) (*hangar.Page[*hangar.Schedule], error) {
				return c.ListSchedules(ctx, cli.Workspace, opt)
			}),
		newScheduleShowCmd(cli), newScheduleEnableCmd(cli, true), newScheduleEnableCmd(cli, false),
		newScheduleTriggerCmd(cli), newScheduleDeleteCmd(cli))
	return cmd
}

// scheduleView is a schedule as create, update and show print it: its
// definition as an object, not a string of JSON.
type scheduleView struct {
	*hangar.Schedule
	Spec     json.RawMessage          `json:"spec,omitempty"`
	Upcoming []time.Time              `json:"upcoming,omitempty"`
	Firings  []*hangar.ScheduleFiring `json:"firings,omitempty"`
}

func newScheduleCreateCmd(cli *clientConfig, update bool) *cobra.Command {
	var file string
	var sets []string
	cmd := &cobra.Command{
		Use:   "create -f FILE",
		Short: "Create a schedule from Azure ML schedule YAML",
		Example: "  hangar schedule create -f nightly.yml\n" +
			"  hangar schedule create -f nightly.yml --set trigger.expression='0 4 * * *' --set trigger.time_zone=Europe/Paris",
		Args: cobra.NoArgs,
	}
	if update {
		cmd.Use, cmd.Short = "update -f FILE", "Replace a schedule's definition (its name is the YAML's)"
		cmd.Example = "  hangar schedule update -f nightly.yml"
	}
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		c, err := cli.client()
		if err != nil {
			return err
		}
		sub, err := newScheduleSubmission(cmd.Context(), file, sets, c.BlobStore(cli.Workspace), cmd.ErrOrStderr())
		if err != nil {
			return err
		}
		var sc *hangar.Schedule
		if update {
			spec, err := schedule.Parse(sub.File, []byte(sub.YAML), sub.Sets, time.Now())
			if err != nil {
				return err
			}
			sc, err = c.UpdateSchedule(cmd.Context(), cli.Workspace, spec.Name, sub)
			if err != nil {
				return err
			}
		} else if sc, err = c.CreateSchedule(cmd.Context(), cli.Workspace, sub); err != nil {
			return err
		}
		return cli.printResult(cmd.OutOrStdout(), viewOf(sc), scheduleColumns...)
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "the schedule's YAML file (required)")
	cmd.Flags().StringArrayVar(&sets, "set", nil, "override a field of the schedule: PATH=VALUE (repeatable)")
	cmd.MarkFlagRequired("file")
	return cmd
}

func viewOf(sc *hangar.Schedule) *scheduleView {
	v := &scheduleView{Schedule: sc}
	if json.Valid([]byte(sc.Spec)) {
		v.Spec = json.RawMessage(sc.Spec)
	}
	return v
}

// newScheduleSubmission reads a schedule YAML and, when its create_job is
// a job YAML (a file or inline), reads that job and uploads its local paths
// as `hangar job create` does: the server stores the submission and
// submits it at each firing, so the job refers only to uploaded content.
func newScheduleSubmission(ctx context.Context, file string, sets []string, blobs hangar.BlobStore, progress io.Writer) (*hangar.ScheduleSubmission, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, hangar.Errorf(hangar.EINVALID, "read the schedule file: %v", err)
	}
	spec, err := schedule.Parse(file, b, sets, time.Now())
	if err != nil {
		return nil, err
	}
	sub := &hangar.ScheduleSubmission{File: filepath.Base(file), YAML: string(b), Sets: sets}
	cj := spec.CreateJob
	if cj.Existing != "" {
		return sub, nil
	}
	dir := filepath.Dir(file)
	jobFile := filepath.Join(dir, filepath.Base(file)+"#create_job")
	text := []byte(cj.Inline)
	if cj.File != "" {
		jobFile = filepath.FromSlash(cj.File)
		if !filepath.IsAbs(jobFile) {
			jobFile = filepath.Join(dir, jobFile)
		}
		if text, err = os.ReadFile(jobFile); err != nil {
			return nil, hangar.Errorf(hangar.EINVALID, "%s: create_job: %v", file, err)
		}
		if text, err = schedule.Merge(jobFile, text, cj.Overrides); err != nil {
			return nil, err
		}
	}
	js := &jobSubmission{
		file: jobFile, blobs: blobs, progress: progress, progressMode: "auto", seen: map[string]bool{},
		sub: &hangar.JobSubmission{File: filepath.Base(jobFile), YAML: string(text), Files: map[string]string{}, Uploads: map[string]hangar.Digest{}},
	}
	job, err := jobspec.ParseJob(jobFile, text, nil)
	if err != nil {
		return nil, err
	}
	if err := jobspec.CheckLocalPaths(jobFile, job.LocalPaths()); err != nil {
		return nil, err
	}
	// Azure's default experiment of a schedule's jobs is the schedule's name.
	if job.ExperimentName == "" {
		js.sub.Sets = append(js.sub.Sets, "experiment_name="+spec.Name)
	}
	js.sub.Properties = gitProperties(ctx, filepath.Dir(jobFile))
	ups, err := js.collect(job)
	if err != nil {
		return nil, err
	}
	if err := js.upload(ctx, ups); err != nil {
		return nil, err
	}
	sub.Job = js.sub
	return sub, nil
}

func scheduleNameFlag(cmd *cobra.Command, name *string) {
	cmd.Flags().StringVarP(name, "name", "n", "", "name of the schedule (required)")
	cmd.MarkFlagRequired("name")
}

func newScheduleShowCmd(cli *clientConfig) *cobra.Command {
	var name string
	var firings int
	cmd := &cobra.Command{
		Use:     "show -n NAME",
		Short:   "Show a schedule, its next due times and its recent firings",
		Example: "  hangar schedule show -n nightly\n  hangar schedule show -n nightly -o table --firings 20",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := cli.client()
			if err != nil {
				return err
			}
			d, err := c.Schedule(cmd.Context(), cli.Workspace, name, firings)
			if err != nil {
				return err
			}
			if cli.output == "table" || cli.output == "tsv" {
				out := cmd.OutOrStdout()
				if err := cli.printResult(out, d.Schedule, scheduleColumns...); err != nil {
					return err
				}
				fmt.Fprintln(out)
				for _, u := range d.Upcoming {
					fmt.Fprintf(out, "next due  %s\n", u.Format(time.RFC3339))
				}
				if len(d.Firings) == 0 {
					return nil
				}
				fmt.Fprintln(out)
				return cli.printResult(out, d.Firings, "due", "manual", "fired_at", "fired_by", "job", "error")
			}
			v := viewOf(d.Schedule)
			v.Upcoming, v.Firings = d.Upcoming, d.Firings
			return cli.printResult(cmd.OutOrStdout(), v)
		},
	}
	scheduleNameFlag(cmd, &name)
	cmd.Flags().IntVar(&firings, "firings", 10, fmt.Sprintf("recent firings to show (0 to %d)", hangar.MaxScheduleFirings))
	return cmd
}

func newScheduleEnableCmd(cli *clientConfig, enable bool) *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:     "enable -n NAME",
		Short:   "Enable a schedule: it fires from its next due time after now",
		Example: "  hangar schedule enable -n nightly",
		Args:    cobra.NoArgs,
	}
	if !enable {
		cmd.Use, cmd.Short, cmd.Example = "disable -n NAME", "Disable a schedule: it fires no more until enabled (trigger still fires it)", "  hangar schedule disable -n nightly"
	}
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		c, err := cli.client()
		if err != nil {
			return err
		}
		sc, err := c.SetScheduleEnabled(cmd.Context(), cli.Workspace, name, enable)
		if err != nil {
			return err
		}
		return cli.printResult(cmd.OutOrStdout(), viewOf(sc), scheduleColumns...)
	}
	scheduleNameFlag(cmd, &name)
	return cmd
}

func newScheduleTriggerCmd(cli *clientConfig) *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:     "trigger -n NAME",
		Short:   "Fire a schedule now: create its job once, recorded as a manual firing",
		Example: "  hangar schedule trigger -n nightly",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := cli.client()
			if err != nil {
				return err
			}
			f, err := c.TriggerSchedule(cmd.Context(), cli.Workspace, name)
			if err != nil {
				return err
			}
			if err := cli.printResult(cmd.OutOrStdout(), f, "schedule", "due", "job", "error"); err != nil {
				return err
			}
			if f.Error != "" {
				return fmt.Errorf("schedule %s fired but created no job: %s", name, f.Error)
			}
			return nil
		},
	}
	scheduleNameFlag(cmd, &name)
	return cmd
}

func newScheduleDeleteCmd(cli *clientConfig) *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:     "delete -n NAME",
		Short:   "Delete a schedule and its firings (the jobs it created stay)",
		Example: "  hangar schedule delete -n nightly",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := cli.client()
			if err != nil {
				return err
			}
			if err := c.DeleteSchedule(cmd.Context(), cli.Workspace, name); err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.ErrOrStderr(), "schedule %s deleted from workspace %s\n", name, cli.Workspace)
			return err
		},
	}
	scheduleNameFlag(cmd, &name)
	return cmd
}
