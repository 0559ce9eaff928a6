package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/dataset"
	"github.com/hangar-ml/hangar/httpapi"
	"github.com/hangar-ml/hangar/jobrun"
)

// newJobCreateCmd is `hangar job create -f job.yml [--set k=v …] [--stream]`.
func newJobCreateCmd(cli *clientConfig) *cobra.Command {
	var file, name string
	var sets []string
	var stream bool
	var progressMode string
	cmd := &cobra.Command{
		Use:   "create -f FILE",
		Short: "Submit a command or pipeline job from Azure ML YAML",
		Long: `Submit a command job or a pipeline job written as for 'az ml job create'.
Relative paths (code:, local inputs, component files, conda files) resolve
against the YAML's folder; local folders and files are uploaded content-
addressed (what the server has already is not sent again). --set overrides
a field before the file is checked (--set inputs.lr=0.1, --set
jobs.train.compute=local, --set settings.force_rerun=true). Without
experiment_name the job goes to the experiment named after the current
folder, as in Azure. --stream follows the job's log until it ends and exits
non-zero when it did not complete.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := cli.client()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if name != "" {
				sets = append(sets, "name="+name)
			}
			if _, err := newProgressBar(io.Discard, progressMode); err != nil {
				return err
			}
			js, job, err := newJobSubmission(file, sets, c.BlobStore(cli.Workspace), cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			js.progressMode = progressMode
			if job.ExperimentName == "" {
				if wd, err := os.Getwd(); err == nil && filepath.Base(wd) != string(filepath.Separator) {
					js.sub.Sets = append(js.sub.Sets, "experiment_name="+filepath.Base(wd))
				}
			}
			ups, err := js.collect(job)
			if err != nil {
				return err
			}
			if err := js.upload(ctx, ups); err != nil {
				return err
			}
			created, err := c.SubmitJob(ctx, cli.Workspace, js.sub)
			if err != nil {
				return err
			}
			if err := cli.printResult(cmd.OutOrStdout(), created, "name", "type", "status", "experiment_name"); err != nil {
				return err
			}
			if !stream {
				return nil
			}
			f := &jobFollower{c: c, ws: cli.Workspace, out: cmd.OutOrStdout(), errOut: cmd.ErrOrStderr(),
				logs: map[string]*stepLog{}, wait: jobStreamWait, poll: time.Second}
			j, err := f.follow(ctx, created.Name)
			if err != nil {
				return err
			}
			fmt.Fprintf(f.errOut, "job %s: %s\n", j.Name, j.Status)
			if j.Status != hangar.JobCompleted {
				if j.Error != "" {
					return fmt.Errorf("job %s %s: %s", j.Name, j.Status, j.Error)
				}
				return fmt.Errorf("job %s %s", j.Name, j.Status)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "the job's YAML file (required)")
	cmd.Flags().StringVarP(&name, "name", "n", "", "the job's name (default: the YAML's name, or a new one)")
	cmd.Flags().StringArrayVar(&sets, "set", nil, "override a field: PATH=VALUE (repeatable)")
	cmd.Flags().BoolVar(&stream, "stream", false, "follow the job's log until it ends")
	cmd.Flags().StringVar(&progressMode, "progress", "auto", "upload progress on stderr: auto (a bar on a terminal, a line per path otherwise), bar, line or none")
	cmd.MarkFlagRequired("file")
	return cmd
}

// newRunStepCmd is `hangar run-step`: the step runner an executor starts.
func newRunStepCmd(getenv env) *cobra.Command {
	var opt jobrun.RunOptions
	cmd := &cobra.Command{
		Use:   "run-step --workspace WS --job NAME",
		Short: "Run one queued job step (started by an executor)",
		Long: `Run one queued job or pipeline step: claim it under a lease, stage its code
and inputs, run its command, stream its log, upload its outputs and report the
result. Executors start it with HANGAR_URL and the job's short-lived
HANGAR_TOKEN; a job another runner claimed first is left alone.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			url := strings.TrimRight(getenv("HANGAR_URL"), "/")
			if url == "" {
				return invalidf("HANGAR_URL is not set: run-step is started by an executor, which sets it")
			}
			token := getenv("HANGAR_TOKEN")
			c := httpapi.NewClient(url, token)
			if ca := getenv("HANGAR_CA_CERT"); ca != "" {
				hc, err := httpClientWithCA(ca)
				if err != nil {
					return err
				}
				c.HTTPClient = hc
			}
			opt.TrackingURI, opt.Token = url, token
			// Datastore URIs stage from the datastore (a local one is a
			// folder of this machine, as the runner of compute local is).
			opt.Stage = func(ctx context.Context, ws, uri string, _ bool, dst string) (string, error) {
				r := &dataset.Resolver{Data: c, Blobs: c.BlobStore(ws)}
				return r.StageURI(ctx, ws, uri, dst)
			}
			if bin, err := os.Executable(); err == nil {
				opt.BinDir = filepath.Dir(bin)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return jobrun.RunStep(ctx, remoteControl{c}, opt)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opt.Workspace, "workspace", "", "the job's workspace (required)")
	f.StringVar(&opt.Job, "job", "", "the job's name (required)")
	f.StringVar(&opt.WorkDir, "work-dir", "", "where to make the working folder (default: the system's temporary folder)")
	f.DurationVar(&opt.Lease, "lease", 30*time.Second, "lease length; renewed every third of it")
	f.BoolVar(&opt.Keep, "keep", false, "keep the working folder")
	cmd.MarkFlagRequired("workspace")
	cmd.MarkFlagRequired("job")
	return cmd
}
