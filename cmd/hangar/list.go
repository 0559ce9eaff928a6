package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/httpapi"
)

// newListCmd returns a list verb: it takes --max-results/-r, pages through
// list with collect and prints the items, columns being the fields of a
// table row. Its filters are flags the caller adds to the returned command,
// read by list; a filter that needs parsing does so in the command's PreRunE,
// once, rather than in list, which runs for every page.
func newListCmd[T any](cli *clientConfig, use, short string, columns []string, list func(ctx context.Context, c *httpapi.Client, opt hangar.ListOptions) (*hangar.Page[T], error)) *cobra.Command {
	var maxResults int
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := cli.client()
			if err != nil {
				return err
			}
			items, err := collect(cmd.Context(), maxResults, func(ctx context.Context, opt hangar.ListOptions) (*hangar.Page[T], error) {
				return list(ctx, c, opt)
			})
			if err != nil {
				return err
			}
			return cli.printResult(cmd.OutOrStdout(), items, columns...)
		},
	}
	cmd.Flags().IntVarP(&maxResults, "max-results", "r", 0, "return at most this many items (default all)")
	return cmd
}

// collect pages through a list until it ends or maxResults items are in hand.
func collect[T any](ctx context.Context, maxResults int, list func(context.Context, hangar.ListOptions) (*hangar.Page[T], error)) ([]T, error) {
	items := []T{}
	opt := hangar.ListOptions{}
	for {
		if maxResults > 0 {
			opt.MaxResults = min(maxResults-len(items), hangar.MaxMaxResults)
		}
		page, err := list(ctx, opt)
		if err != nil {
			return nil, err
		}
		items = append(items, page.Items...)
		if page.NextPageToken == "" || (maxResults > 0 && len(items) >= maxResults) {
			return items, nil
		}
		opt.PageToken = page.NextPageToken
	}
}
