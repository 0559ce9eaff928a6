package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/httpapi"
)

// searchFlags are the flags of the experiment and run lists: MLflow's
// filter grammar and order_by, and the lifecycle stages to show.
type searchFlags struct {
	filter  string
	orderBy []string
	view    string
}

func (f *searchFlags) bind(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.filter, "filter", "", `MLflow search filter, e.g. "metrics.acc > 0.9 and params.model = 'gbdt'"`)
	cmd.Flags().StringArrayVar(&f.orderBy, "order-by", nil, `sort key, e.g. "metrics.acc DESC" (repeatable)`)
	cmd.Flags().StringVar(&f.view, "view", "active", "active, deleted or all")
}

func (f *searchFlags) viewType() (hangar.ViewType, error) {
	switch f.view {
	case "", "active":
		return hangar.ViewActiveOnly, nil
	case "deleted":
		return hangar.ViewDeletedOnly, nil
	case "all":
		return hangar.ViewAll, nil
	}
	return 0, fmt.Errorf("--view must be active, deleted or all, got %q", f.view)
}

func newExperimentCmd(cli *clientConfig) *cobra.Command {
	cmd := newGroup("experiment", "List and show a workspace's experiments (MLflow tracking)")
	cols := []string{"experiment_id", "name", "lifecycle_stage", "creation_time", "artifact_location"}

	var sf searchFlags
	list := newListCmd(cli, "list", "List experiments", cols,
		func(ctx context.Context, c *httpapi.Client, opt hangar.ListOptions) (*hangar.Page[*hangar.Experiment], error) {
			view, err := sf.viewType()
			if err != nil {
				return nil, err
			}
			return c.SearchExperiments(ctx, cli.Workspace, hangar.ExperimentSearch{
				Filter: sf.filter, OrderBy: sf.orderBy, View: view, MaxResults: opt.MaxResults, PageToken: opt.PageToken})
		})
	sf.bind(list)

	var id string
	show := &cobra.Command{
		Use:   "show",
		Short: "Show an experiment with its tags",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if id == "" {
				return fmt.Errorf("experiment show needs --id/-i")
			}
			c, err := cli.client()
			if err != nil {
				return err
			}
			e, err := c.Experiment(cmd.Context(), cli.Workspace, id)
			if err != nil {
				return err
			}
			return cli.printResult(cmd.OutOrStdout(), e, cols...)
		},
	}
	show.Flags().StringVarP(&id, "id", "i", "", `experiment id ("0" is Default)`)

	cmd.AddCommand(list, show)
	return cmd
}
