package lineage

import (
	"context"
	"fmt"

	"github.com/hangar-ml/hangar"
)

// maxScanned bounds how many model versions ModelsUsing looks at.
const maxScanned = 10000

// VersionLister pages through a workspace's model versions.
type VersionLister interface {
	SearchModelVersions(ctx context.Context, ws string, q hangar.ModelSearch) (*hangar.Page[*hangar.ModelVersion], error)
}

// ModelsUsing returns the model versions of the workspace whose lineage
// reads the data asset version asset ("name:version"), newest first as the
// registry lists them. It computes each version's lineage: the cost grows
// with the registry (at most 10,000 versions are looked at; more is
// EINVALID, saying so).
func ModelsUsing(ctx context.Context, src Sources, versions VersionLister, ws, asset string) ([]*hangar.ModelVersion, error) {
	want := "data:" + asset
	out := []*hangar.ModelVersion{}
	q := hangar.ModelSearch{MaxResults: 1000}
	scanned := 0
	for {
		page, err := versions.SearchModelVersions(ctx, ws, q)
		if err != nil {
			return nil, err
		}
		for _, v := range page.Items {
			scanned++
			g, err := ModelVersion(ctx, src, ws, v.Name, v.Version)
			if err != nil {
				if hangar.ErrorCode(err) == hangar.ENOTFOUND {
					continue // deleted meanwhile
				}
				return nil, fmt.Errorf("lineage of %s:%s: %w", v.Name, v.Version, err)
			}
			for _, n := range g.Nodes {
				if n.ID == want {
					out = append(out, v)
					break
				}
			}
		}
		if page.NextPageToken == "" {
			return out, nil
		}
		if scanned >= maxScanned {
			return nil, hangar.Errorf(hangar.EINVALID, "the workspace has more than %d model versions: too many to trace which used %s", maxScanned, asset)
		}
		q.PageToken = page.NextPageToken
	}
}
