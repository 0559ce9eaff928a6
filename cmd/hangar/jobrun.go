package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

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
			js.sub.Properties = gitProperties(ctx, filepath.Dir(file))
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
			return streamJob(ctx, c, cli.Workspace, created.Name, cmd.OutOrStdout(), cmd.ErrOrStderr())
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
	var serve bool
	cmd := &cobra.Command{
		Use:   "run-step --workspace WS --job NAME | --serve",
		Short: "Run one queued job step, or serve steps one at a time (started by an executor)",
		Long: `Run one queued job or pipeline step: claim it under a lease, stage its code
and inputs, run its command, stream its log, upload its outputs and report the
result. Executors start it with HANGAR_URL and the job's short-lived
HANGAR_TOKEN; a job another runner claimed first is left alone.

With --serve it runs the steps handed to it on standard input, one JSON line
each ({"workspace", "job", "token"}), one at a time, writing "done" after each,
until its input ends: compute local keeps such runners rather than starting a
process per step.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			url := strings.TrimRight(getenv("HANGAR_URL"), "/")
			if url == "" {
				return invalidf("HANGAR_URL is not set: run-step is started by an executor, which sets it")
			}
			var httpc *http.Client
			if ca := getenv("HANGAR_CA_CERT"); ca != "" {
				hc, err := httpClientWithCA(ca)
				if err != nil {
					return err
				}
				httpc = hc
			}
			binDir, cleanup := hangarBinDir()
			defer cleanup()
			// prepare makes the client and options of one job, with its
			// token.
			prepare := func(a jobrun.Assignment) (jobrun.Control, jobrun.RunOptions) {
				c := httpapi.NewClient(url, a.Token)
				if httpc != nil {
					c.HTTPClient = httpc
				}
				o := opt
				o.TrackingURI, o.Token, o.BinDir = url, a.Token, binDir
				// Datastore URIs stage from the datastore (a local one is
				// a folder of this machine, as the runner of compute
				// local is).
				o.Stage = func(ctx context.Context, ws, uri string, _ bool, dst string) (string, error) {
					r := &dataset.Resolver{Data: c, Blobs: c.BlobStore(ws)}
					return r.StageURI(ctx, ws, uri, dst)
				}
				return remoteControl{c}, o
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if serve {
				if opt.Workspace != "" || opt.Job != "" {
					return invalidf("--serve takes its jobs on standard input: leave out --workspace and --job")
				}
				return jobrun.ServeSteps(ctx, cmd.InOrStdin(), cmd.OutOrStdout(), prepare, func(format string, args ...any) {
					fmt.Fprintf(cmd.ErrOrStderr(), "run-step: "+format+"\n", args...)
				})
			}
			if opt.Workspace == "" || opt.Job == "" {
				return invalidf("give --workspace and --job (or --serve)")
			}
			ctl, o := prepare(jobrun.Assignment{Workspace: opt.Workspace, Job: opt.Job, Token: getenv("HANGAR_TOKEN")})
			o.Workspace, o.Job = opt.Workspace, opt.Job
			return jobrun.RunStep(ctx, ctl, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opt.Workspace, "workspace", "", "the job's workspace")
	f.StringVar(&opt.Job, "job", "", "the job's name")
	f.BoolVar(&serve, "serve", false, "run the jobs handed over on standard input, one at a time")
	f.StringVar(&opt.WorkDir, "work-dir", "", "where to make the working folder (default: the system's temporary folder)")
	f.DurationVar(&opt.Lease, "lease", 30*time.Second, "lease length; renewed every third of it")
	f.BoolVar(&opt.Keep, "keep", false, "keep the working folder")
	return cmd
}

// hangarBinDir is a folder whose "hangar" is this binary, to put first on
// a step's PATH: the binary's own folder when it is called hangar, else a
// temporary folder with a link of that name (a binary built as hq, or
// go run's, must not let a step find another hangar on PATH).
func hangarBinDir() (string, func()) {
	exe, err := os.Executable()
	if err != nil {
		return "", func() {}
	}
	if filepath.Base(exe) == "hangar" {
		return filepath.Dir(exe), func() {}
	}
	dir, err := os.MkdirTemp("", "hangar-bin-")
	if err != nil {
		return filepath.Dir(exe), func() {}
	}
	if err := os.Symlink(exe, filepath.Join(dir, "hangar")); err != nil {
		os.RemoveAll(dir)
		return filepath.Dir(exe), func() {}
	}
	return dir, func() { os.RemoveAll(dir) }
}
