package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/artifact"
	"github.com/hangar-ml/hangar/httpapi"
	"github.com/hangar-ml/hangar/jobrun"
)

// newJobCmd is `hangar job`: the verbs that read and control jobs, as
// `az ml job` has them; extra adds more verbs (`job create`, which
// submits a job's YAML, is built elsewhere).
func newJobCmd(cli *clientConfig, extra ...*cobra.Command) *cobra.Command {
	cmd := newGroup("job", "Show, list, follow, cancel, archive and download jobs")
	cmd.Long = `Show, list, follow, cancel, archive and download the workspace's jobs:
command jobs, pipeline jobs and a pipeline's steps (child jobs), with Azure ML's
names and statuses (NotStarted, Queued, Preparing, Running, Finalizing,
CancelRequested, Completed, Failed, Canceled).`
	cmd.AddCommand(newJobShowCmd(cli), newJobListCmd(cli), newJobStreamCmd(cli), newJobCancelCmd(cli),
		newJobArchiveCmd(cli, true), newJobArchiveCmd(cli, false), newJobDownloadCmd(cli))
	cmd.AddCommand(extra...)
	return cmd
}

// jobNameFlag adds the required --name/-n.
func jobNameFlag(cmd *cobra.Command, name *string) {
	cmd.Flags().StringVarP(name, "name", "n", "", "name of the job (required)")
	cmd.MarkFlagRequired("name")
}

var jobColumns = []string{"name", "type", "status", "display_name", "experiment_name", "created_at"}

// jobView is a job as `job show` prints it: with its steps, when it is a
// pipeline.
type jobView struct {
	*hangar.Job
	// Spec is the resolved definition as an object (the inputs with the
	// data asset versions they resolved to, the environment recorded, the
	// notes on what compute local did not apply), not a string of JSON.
	Spec  json.RawMessage `json:"spec"`
	Steps []jobStepView   `json:"steps,omitempty"`
	// Best is a sweep's best trial, once the sweep ended.
	Best *jobrun.BestTrial `json:"best,omitempty"`
}

// hasChildren reports whether a job's children are listed and followed
// with it: a pipeline's steps, a sweep's trials.
func hasChildren(j *hangar.Job) bool {
	return j.Type == hangar.JobTypePipeline || j.Type == hangar.JobTypeSweep
}

// jobStepView is one step of a pipeline (trial of a sweep) in `job show`.
type jobStepView struct {
	Step       string           `json:"step"`
	Name       string           `json:"name"`
	Status     hangar.JobStatus `json:"status"`
	ReusedFrom string           `json:"reused_from,omitempty"`
	Error      string           `json:"error,omitempty"`
	// Params are a trial's sampled parameters.
	Params map[string]string `json:"params,omitempty"`
}

// jobSteps lists every step of a pipeline job, in creation order.
func jobSteps(ctx context.Context, c *httpapi.Client, ws, name string) ([]*hangar.Job, error) {
	return collect(ctx, 0, func(ctx context.Context, opt hangar.ListOptions) (*hangar.Page[*hangar.Job], error) {
		return c.ListJobs(ctx, ws, hangar.JobFilter{Parent: name}, opt)
	})
}

func newJobShowCmd(cli *clientConfig) *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Show a job: its status, steps, outputs, error and run",
		Example: "  hangar job show -n calm_river_k3x9q2m1p0\n" +
			"  hangar job show -n calm_river_k3x9q2m1p0 -o table",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := cli.client()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			j, err := c.Job(ctx, cli.Workspace, name)
			if err != nil {
				return err
			}
			v := jobView{Job: j, Spec: json.RawMessage(j.Spec)}
			if !json.Valid(v.Spec) {
				v.Spec, _ = json.Marshal(j.Spec)
			}
			if hasChildren(j) {
				steps, err := jobSteps(ctx, c, cli.Workspace, name)
				if err != nil {
					return err
				}
				for _, s := range steps {
					sv := jobStepView{Step: s.Step, Name: s.Name, Status: s.Status, ReusedFrom: s.ReusedFrom, Error: s.Error}
					if st, err := jobrun.StepOf(s); err == nil && j.Type == hangar.JobTypeSweep {
						sv.Params = st.SearchSpace
					}
					v.Steps = append(v.Steps, sv)
				}
			}
			if j.Type == hangar.JobTypeSweep {
				if sw, err := jobrun.SweepOf(j); err == nil {
					v.Best = sw.Best
				}
			}
			if cli.output != "table" && cli.output != "tsv" {
				return cli.printResult(cmd.OutOrStdout(), v)
			}
			// A table shows the job, then its steps and its outputs.
			w := cmd.OutOrStdout()
			if err := cli.printResult(w, j, "name", "type", "status", "run_id", "error"); err != nil {
				return err
			}
			if len(v.Steps) > 0 {
				fmt.Fprintln(w)
				cols := []string{"step", "status", "reused_from", "name"}
				if j.Type == hangar.JobTypeSweep {
					cols = []string{"step", "status", "params", "name"}
				}
				if err := cli.printResult(w, v.Steps, cols...); err != nil {
					return err
				}
			}
			if b := v.Best; b != nil {
				type bestRow struct {
					BestTrial string  `json:"best_trial"`
					Metric    string  `json:"metric"`
					Value     float64 `json:"value"`
					Params    string  `json:"params"`
				}
				fmt.Fprintln(w)
				if err := cli.printResult(w, []bestRow{{b.Job, b.Metric, b.Value, formatParams(b.Params)}}, "best_trial", "metric", "value", "params"); err != nil {
					return err
				}
			}
			if len(j.Outputs) > 0 {
				type outputRow struct {
					Output string `json:"output"`
					hangar.JobOutput
				}
				var rows []outputRow
				for _, k := range sortedKeys(j.Outputs) {
					rows = append(rows, outputRow{k, j.Outputs[k]})
				}
				fmt.Fprintln(w)
				return cli.printResult(w, rows, "output", "type", "uri", "value", "asset")
			}
			return nil
		},
	}
	jobNameFlag(cmd, &name)
	return cmd
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func newJobListCmd(cli *clientConfig) *cobra.Command {
	var (
		f          hangar.JobFilter
		statuses   []string
		all        bool
		maxResults int
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List jobs, newest first, or the steps of a pipeline job",
		Example: "  hangar job list\n  hangar job list --status Running --status Queued -o table\n" +
			"  hangar job list --parent-job-name calm_river_k3x9q2m1p0 -o table",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f.Statuses = nil
			for _, s := range statuses {
				st := hangar.JobStatus(s)
				if !st.Valid() {
					return hangar.Errorf(hangar.EINVALID, "--status %q: want one of %v", s, hangar.JobStatuses)
				}
				f.Statuses = append(f.Statuses, st)
			}
			c, err := cli.client()
			if err != nil {
				return err
			}
			if all {
				maxResults = 0
			}
			jobs, err := collect(cmd.Context(), maxResults, func(ctx context.Context, opt hangar.ListOptions) (*hangar.Page[*hangar.Job], error) {
				return c.ListJobs(ctx, cli.Workspace, f, opt)
			})
			if err != nil {
				return err
			}
			cols := jobColumns
			if f.Parent != "" {
				cols = []string{"step", "name", "status", "reused_from", "created_at"}
			}
			return cli.printResult(cmd.OutOrStdout(), jobs, cols...)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.Parent, "parent-job-name", "p", "", "list the steps (child jobs) of this pipeline job")
	fl.StringArrayVar(&statuses, "status", nil, "keep jobs in this status (repeatable)")
	fl.StringVar(&f.ExperimentName, "experiment-name", "", "keep the jobs of this experiment")
	fl.BoolVar(&f.IncludeArchived, "include-archived", false, "list archived jobs too")
	fl.BoolVar(&all, "all-results", false, "list every job (overrides --max-results)")
	fl.IntVarP(&maxResults, "max-results", "r", 50, "return at most this many jobs")
	return cmd
}

func newJobCancelCmd(cli *clientConfig) *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:   "cancel",
		Short: "Cancel a job: it moves to CancelRequested, then Canceled once its runner stops",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := cli.client()
			if err != nil {
				return err
			}
			j, err := c.CancelJob(cmd.Context(), cli.Workspace, name)
			if err != nil {
				return err
			}
			return cli.printResult(cmd.OutOrStdout(), j, jobColumns...)
		},
	}
	jobNameFlag(cmd, &name)
	return cmd
}

func newJobArchiveCmd(cli *clientConfig, archived bool) *cobra.Command {
	var name string
	use, short := "archive", "Archive a job: lists leave it out unless asked"
	if !archived {
		use, short = "restore", "Restore an archived job"
	}
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := cli.client()
			if err != nil {
				return err
			}
			j, err := c.SetJobArchived(cmd.Context(), cli.Workspace, name, archived)
			if err != nil {
				return err
			}
			return cli.printResult(cmd.OutOrStdout(), j, append(jobColumns, "archived")...)
		},
	}
	jobNameFlag(cmd, &name)
	return cmd
}

// jobStreamWait is how long one log read waits for new bytes.
const jobStreamWait = 20 * time.Second

func newJobStreamCmd(cli *clientConfig) *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:   "stream",
		Short: "Follow a job's log until it ends; a pipeline's steps' logs, each line prefixed with its step",
		Long: `Follow a job's log until the job ends, as 'az ml job stream' does. For a
pipeline job, the logs of its steps follow as they run, each line prefixed with
"[step] ", and each step's change of status is told on stderr. The command exits
with status 0 when the job completed, 1 when it failed or was canceled.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := cli.client()
			if err != nil {
				return err
			}
			return streamJob(cmd.Context(), c, cli.Workspace, name, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	jobNameFlag(cmd, &name)
	return cmd
}

// streamJob follows a job's log (and its steps') to its end, tells the
// job's final status on errOut, and fails unless the job completed: the
// ending of `job stream` and of the commands' --stream.
func streamJob(ctx context.Context, c *httpapi.Client, ws, name string, out, errOut io.Writer) error {
	f := &jobFollower{c: c, ws: ws, out: out, errOut: errOut,
		logs: map[string]*stepLog{}, wait: jobStreamWait, poll: time.Second}
	j, err := f.follow(ctx, name)
	if err != nil {
		return err
	}
	fmt.Fprintf(errOut, "job %s: %s\n", j.Name, j.Status)
	if j.Status != hangar.JobCompleted {
		if j.Error != "" {
			return fmt.Errorf("job %s %s: %s", j.Name, j.Status, j.Error)
		}
		return fmt.Errorf("job %s %s", j.Name, j.Status)
	}
	return nil
}

// jobFollower prints the logs of a job, or of a pipeline and its steps, as
// they grow.
type jobFollower struct {
	c          *httpapi.Client
	ws         string
	out        io.Writer
	errOut     io.Writer
	logs       map[string]*stepLog
	wait, poll time.Duration
}

// stepLog is where a step's log was read to and its last unfinished line.
type stepLog struct {
	offset  int64
	partial []byte
	status  hangar.JobStatus
	done    bool // ended and read to its end
}

// follow prints until the job ended and every log was read to its end,
// and returns the ended job.
func (f *jobFollower) follow(ctx context.Context, name string) (*hangar.Job, error) {
	j, err := f.c.Job(ctx, f.ws, name)
	if err != nil {
		return nil, err
	}
	own := &stepLog{}
	for {
		if hasChildren(j) {
			if err := f.steps(ctx, name); err != nil {
				return nil, err
			}
		}
		// The job's own log paces the loop: the read waits for bytes
		// while the job runs (a pipeline's own log is its scheduler's).
		wait := f.wait
		if hasChildren(j) {
			wait = f.poll
		}
		ch, err := f.c.JobLog(ctx, f.ws, name, own.offset, wait)
		if err != nil {
			return nil, err
		}
		own.offset = ch.Next
		f.write(own, "", ch.Data, ch.Terminal && len(ch.Data) == 0)
		if ch.Terminal && len(ch.Data) == 0 {
			if hasChildren(j) {
				// The steps ended before their pipeline: read them out.
				if err := f.steps(ctx, name); err != nil {
					return nil, err
				}
			}
			return f.c.Job(ctx, f.ws, name)
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
}

// steps prints what is new in the logs of a pipeline's steps, and each
// step's change of status on stderr.
func (f *jobFollower) steps(ctx context.Context, pipeline string) error {
	steps, err := jobSteps(ctx, f.c, f.ws, pipeline)
	if err != nil {
		return err
	}
	for _, s := range steps {
		l := f.logs[s.Name]
		if l == nil {
			l = &stepLog{}
			f.logs[s.Name] = l
		}
		if l.done {
			continue
		}
		if s.Status != l.status {
			l.status = s.Status
			msg := string(s.Status)
			if s.ReusedFrom != "" {
				msg += " (reused from " + s.ReusedFrom + ")"
			}
			fmt.Fprintf(f.errOut, "[%s] %s\n", s.Step, msg)
		}
		if s.Status == hangar.JobNotStarted || s.Status == hangar.JobQueued {
			continue
		}
		for {
			ch, err := f.c.JobLog(ctx, f.ws, s.Name, l.offset, 0)
			if err != nil {
				return err
			}
			l.offset = ch.Next
			end := ch.Terminal && len(ch.Data) == 0
			f.write(l, s.Step, ch.Data, end)
			if end {
				l.done = true
			}
			if len(ch.Data) == 0 {
				break
			}
		}
	}
	return nil
}

// write prints the whole lines of data, each prefixed with "[step] "
// when step is set, keeping an unfinished last line for later; end
// flushes it.
func (f *jobFollower) write(l *stepLog, step string, data []byte, end bool) {
	if step == "" {
		f.out.Write(data)
		return
	}
	buf := append(l.partial, data...)
	for {
		i := bytes.IndexByte(buf, '\n')
		if i < 0 {
			break
		}
		fmt.Fprintf(f.out, "[%s] %s\n", step, buf[:i])
		buf = buf[i+1:]
	}
	l.partial = append(l.partial[:0], buf...)
	if end && len(l.partial) > 0 {
		fmt.Fprintf(f.out, "[%s] %s\n", step, l.partial)
		l.partial = l.partial[:0]
	}
}

func newJobDownloadCmd(cli *clientConfig) *cobra.Command {
	var name, output, dir string
	var all bool
	cmd := &cobra.Command{
		Use:   "download",
		Short: "Download a job's outputs into <download-path>/named-outputs/<output>",
		Example: "  hangar job download -n calm_river_k3x9q2m1p0 --output-name model --download-path ./out\n" +
			"  hangar job download -n calm_river_k3x9q2m1p0 --all",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "" && all {
				return hangar.Errorf(hangar.EINVALID, "give --output-name or --all, not both")
			}
			c, err := cli.client()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			j, err := c.Job(ctx, cli.Workspace, name)
			if err != nil {
				return err
			}
			names := sortedKeys(j.Outputs)
			if output != "" {
				o, ok := j.Outputs[output]
				switch {
				case !ok && len(names) == 0:
					return hangar.Errorf(hangar.ENOTFOUND, "job %s (%s) has no outputs", name, j.Status)
				case !ok:
					return hangar.Errorf(hangar.ENOTFOUND, "job %s has no output %q: it has %v", name, output, names)
				case o.Manifest == "":
					return hangar.Errorf(hangar.EINVALID, "output %s of job %s is a value, not files: %s", output, name, o.Value)
				}
				names = []string{output}
			}
			type downloaded struct {
				Output string `json:"output"`
				Path   string `json:"path,omitempty"`
				Value  string `json:"value,omitempty"`
			}
			result := []downloaded{}
			bs := c.BlobStore(cli.Workspace)
			for _, n := range names {
				o := j.Outputs[n]
				if o.Manifest == "" {
					result = append(result, downloaded{Output: n, Value: o.Value})
					continue
				}
				dst := filepath.Join(dir, "named-outputs", n)
				if err := artifact.GetDir(ctx, bs, o.Manifest, dst); err != nil {
					return fmt.Errorf("download output %s of job %s: %w", n, name, err)
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "downloaded output %s to %s\n", n, dst)
				result = append(result, downloaded{Output: n, Path: dst})
			}
			return cli.printResult(cmd.OutOrStdout(), result, "output", "path", "value")
		},
	}
	jobNameFlag(cmd, &name)
	cmd.Flags().StringVar(&output, "output-name", "", "the output to download (default: all of them)")
	cmd.Flags().BoolVar(&all, "all", false, "download every output (the default)")
	cmd.Flags().StringVarP(&dir, "download-path", "p", ".", "folder to download into")
	return cmd
}

// formatParams is a trial's parameters as "a=1, b=x", in name order.
func formatParams(p map[string]string) string {
	parts := make([]string, 0, len(p))
	for _, k := range sortedKeys(p) {
		parts = append(parts, k+"="+p[k])
	}
	return strings.Join(parts, ", ")
}
