package main

// Artifacts through the server's MLflow artifact proxy: `hangar log
// artifact` (to the run a job step is given in MLFLOW_RUN_ID), `hangar run
// download` and `hangar model download`. The work is package mlflow's
// artifact client; these commands only read flags and the environment.

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/mlflow"
)

// newLogArtifactCmd is `hangar log artifact PATH [--artifact-path DIR]`: a
// file goes to <DIR>/<its name>, a folder's contents below DIR, as MLflow's
// log_artifact and log_artifacts.
func newLogArtifactCmd(t *logTarget) *cobra.Command {
	var artifactPath string
	cmd := &cobra.Command{
		Use:   "artifact PATH",
		Short: "Upload a file, or a folder's files, as artifacts of the run (streamed; progress on stderr for big files)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, runID, err := t.client()
			if err != nil {
				return err
			}
			local := args[0]
			st, err := os.Stat(local)
			if err != nil {
				return fmt.Errorf("log artifact: %w", err)
			}
			dst, err := hangar.CleanArtifactPath(filepath.ToSlash(artifactPath))
			if err != nil {
				return fmt.Errorf("--artifact-path: %s", hangar.ErrorMessage(err))
			}
			var files int
			var mu sync.Mutex
			counted := func(p string, done, total int64) {
				if done == total {
					mu.Lock()
					files++
					mu.Unlock()
				}
			}
			progress := mlflow.WithProgress(both(counted, progressPrinter(cmd.ErrOrStderr())))
			root := "runs:/" + runID
			if st.IsDir() {
				err = c.LogArtifacts(cmd.Context(), root, local, dst, progress)
			} else {
				err = c.UploadFile(cmd.Context(), root, local, dst, progress)
				dst = joinSlash(dst, filepath.Base(local))
			}
			if err != nil {
				return err
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(map[string]any{
				"run_id": runID, "artifact_uri": strings.TrimSuffix(root+"/"+dst, "/"), "files": files,
			})
		},
	}
	cmd.Flags().StringVar(&artifactPath, "artifact-path", "", "folder in the run's artifacts to log into (default: the root)")
	return cmd
}

// newRunDownloadCmd is `hangar run download RUN_ID [--path P] [-o DIR]`:
// the run's artifacts, or those under P, into DIR with their paths
// relative to the run's root (as `mlflow artifacts download -r RUN -a P`).
func newRunDownloadCmd(cli *clientConfig) *cobra.Command {
	var sub, out string
	cmd := &cobra.Command{
		Use:   "download RUN_ID",
		Short: "Download a run's artifacts (or those under --path) into a folder",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := args[0]
			if err := hangar.ValidateRunID(id); err != nil {
				return err
			}
			p, err := hangar.CleanArtifactPath(sub)
			if err != nil {
				return fmt.Errorf("--path: %s", hangar.ErrorMessage(err))
			}
			c, err := cli.mlflowClient()
			if err != nil {
				return err
			}
			if out == "" {
				out = id
			}
			dir, _ := hangar.ArtifactDir(p)
			local, err := c.DownloadArtifacts(cmd.Context(), strings.TrimSuffix("runs:/"+id+"/"+p, "/"),
				filepath.Join(out, filepath.FromSlash(dir)), mlflow.WithProgress(progressPrinter(cmd.ErrOrStderr())))
			if err != nil {
				return err
			}
			return cli.printResult(cmd.OutOrStdout(), map[string]any{"run_id": id, "path": local})
		},
	}
	cmd.Flags().StringVar(&sub, "path", "", "artifact path in the run to download (default: all of them)")
	// -o names the destination here, as in `az ml job download`; it
	// shadows the global output format, which stays JSON.
	cmd.Flags().StringVarP(&out, "output", "o", "", "folder to download into (default ./RUN_ID)")
	return cmd
}

// newModelDownloadCmd is `hangar model download NAME[:VERSION|@ALIAS] [-o
// DIR]`: the version's files (what its download URI names) into DIR.
func newModelDownloadCmd(cli *clientConfig) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "download NAME[:VERSION|@ALIAS]",
		Short: "Download a registered model version's files (name:version, name@alias, name@latest, azureml:… or models:/…)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			uri, err := mlflow.ModelRefURI(args[0])
			if err != nil {
				return err
			}
			c, err := cli.mlflowClient()
			if err != nil {
				return err
			}
			if out == "" {
				mu, _ := hangar.ParseModelURI(uri)
				out = mu.Name
			}
			local, err := c.DownloadArtifacts(cmd.Context(), uri, out, mlflow.WithProgress(progressPrinter(cmd.ErrOrStderr())))
			if err != nil {
				return err
			}
			return cli.printResult(cmd.OutOrStdout(), map[string]any{"model_uri": uri, "path": local})
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "folder to download into (default ./NAME)")
	return cmd
}

// bigArtifact is the size from which a file's progress is printed.
const bigArtifact = 8 << 20

// progressPrinter prints a line to w at every tenth of a big file moved.
func progressPrinter(w io.Writer) func(p string, done, total int64) {
	var mu sync.Mutex
	last := map[string]int64{}
	return func(p string, done, total int64) {
		if total < bigArtifact {
			return
		}
		step := done * 10 / total
		mu.Lock()
		defer mu.Unlock()
		if s, ok := last[p]; ok && s >= step {
			return
		}
		last[p] = step
		fmt.Fprintf(w, "%s: %d%% (%d of %d MiB)\n", p, done*100/total, done>>20, total>>20)
	}
}

// both calls f and g.
func both(f, g func(string, int64, int64)) func(string, int64, int64) {
	return func(p string, done, total int64) { f(p, done, total); g(p, done, total) }
}

// joinSlash joins artifact paths, either of which may be empty.
func joinSlash(a, b string) string {
	if a == "" {
		return b
	}
	return path.Join(a, b)
}
