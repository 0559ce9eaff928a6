package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/hangar-ml/hangar"
)

// listFlags are the paging flags of every list verb.
type listFlags struct{ maxResults int }

func (l *listFlags) bind(cmd *cobra.Command) {
	cmd.Flags().IntVarP(&l.maxResults, "max-results", "r", 0, "return at most this many items (default all)")
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
