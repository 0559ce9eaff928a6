package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/httpapi"
	"github.com/hangar-ml/hangar/mlflow"
)

func newRunCmd(cli *clientConfig) *cobra.Command {
	cmd := newGroup("run", "List, show and delete a workspace's runs (MLflow tracking)")
	cols := []string{"info.run_id", "info.run_name", "info.experiment_id", "info.status", "info.start_time"}

	var sf searchFlags
	var experiments []string
	list := newListCmd(cli, "list", "List runs, newest first unless --order-by says otherwise", cols,
		func(ctx context.Context, c *httpapi.Client, opt hangar.ListOptions) (*hangar.Page[*hangar.Run], error) {
			view, err := sf.viewType()
			if err != nil {
				return nil, err
			}
			return c.SearchRuns(ctx, cli.Workspace, hangar.RunSearch{ExperimentIDs: experiments,
				Filter: sf.filter, OrderBy: sf.orderBy, View: view, MaxResults: opt.MaxResults, PageToken: opt.PageToken})
		})
	sf.bind(list)
	list.Flags().StringArrayVarP(&experiments, "experiment", "e", nil, "experiment id (repeatable; default every experiment)")

	// The run is named by --id/-i or as the one argument, like `run
	// download RUN_ID`.
	one := func(use, short string, run func(cmd *cobra.Command, c *httpapi.Client, id string) error) *cobra.Command {
		var id string
		sub := &cobra.Command{
			Use:   use + " [RUN_ID]",
			Short: short,
			Args:  cobra.MaximumNArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				switch {
				case len(args) == 1 && id != "" && args[0] != id:
					return fmt.Errorf("run %s: the run is named twice (%s and --id %s)", use, args[0], id)
				case len(args) == 1:
					id = args[0]
				case id == "":
					return fmt.Errorf("run %s needs a run id (RUN_ID or --id/-i)", use)
				}
				c, err := cli.client()
				if err != nil {
					return err
				}
				return run(cmd, c, id)
			},
		}
		sub.Flags().StringVarP(&id, "id", "i", "", "run id")
		return sub
	}
	show := one("show", "Show a run: its params, latest metrics, tags, dataset inputs and artifact tree", func(cmd *cobra.Command, c *httpapi.Client, id string) error {
		r, err := c.Run(cmd.Context(), cli.Workspace, id)
		if err != nil {
			return err
		}
		mc, err := cli.mlflowClient()
		if err != nil {
			return err
		}
		files, err := artifactTree(cmd.Context(), mc, "runs:/"+id, maxTreeEntries)
		switch {
		case hangar.IsCode(err, hangar.ENOTIMPLEMENTED) || err != nil && !strings.HasPrefix(r.Info.ArtifactURI, "mlflow-artifacts:"):
			// A server without an artifact store, or a run whose
			// artifacts live elsewhere: the run without its tree.
			fmt.Fprintf(cmd.ErrOrStderr(), "note: no artifact tree: %s\n", hangar.ErrorMessage(err))
		case err != nil:
			return err
		}
		return cli.printResult(cmd.OutOrStdout(), runView{Run: r, Artifacts: files}, cols...)
	})
	del := one("delete", "Delete a run (MLflow's soft delete: restorable)", func(cmd *cobra.Command, c *httpapi.Client, id string) error {
		return c.DeleteRun(cmd.Context(), cli.Workspace, id)
	})

	cmd.AddCommand(list, show, del)
	return cmd
}

// runView is what `run show` prints: the run and its artifact tree.
type runView struct {
	*hangar.Run
	Artifacts []artifactEntry `json:"artifacts,omitempty"`
}

// artifactEntry is one file of a run's artifact tree.
type artifactEntry struct {
	Path string `json:"path"`
	Size int64  `json:"size"`
}

// maxTreeEntries bounds the artifact tree `run show` walks; `run download`
// fetches trees of any size.
const maxTreeEntries = 1000

// artifactTree lists the files under an artifact URI, depth first in name
// order, at most limit of them (EINVALID past that, naming `run download`).
func artifactTree(ctx context.Context, c *mlflow.Client, uri string, limit int) ([]artifactEntry, error) {
	files := []artifactEntry{}
	var walk func(dir string) error
	walk = func(dir string) error {
		level, err := c.ListArtifacts(ctx, uri, dir)
		if err != nil {
			return err
		}
		for _, f := range level {
			if f.IsDir {
				if err := walk(f.Path); err != nil {
					return err
				}
				continue
			}
			if len(files) == limit {
				return hangar.Errorf(hangar.EINVALID, "more than %d artifacts under %s: list them with `hangar run download`", limit, uri)
			}
			e := artifactEntry{Path: f.Path}
			if f.FileSize != nil {
				e.Size = int64(*f.FileSize)
			}
			files = append(files, e)
		}
		return nil
	}
	return files, walk("")
}
