package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/httpapi"
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

	one := func(use, short string, run func(cmd *cobra.Command, c *httpapi.Client, id string) error) *cobra.Command {
		var id string
		sub := &cobra.Command{
			Use:   use,
			Short: short,
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				if id == "" {
					return fmt.Errorf("run %s needs --id/-i", use)
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
	show := one("show", "Show a run: its params, latest metrics, tags and dataset inputs", func(cmd *cobra.Command, c *httpapi.Client, id string) error {
		r, err := c.Run(cmd.Context(), cli.Workspace, id)
		if err != nil {
			return err
		}
		return cli.printResult(cmd.OutOrStdout(), r, cols...)
	})
	del := one("delete", "Delete a run (MLflow's soft delete: restorable)", func(cmd *cobra.Command, c *httpapi.Client, id string) error {
		return c.DeleteRun(cmd.Context(), cli.Workspace, id)
	})

	cmd.AddCommand(list, show, del)
	return cmd
}
