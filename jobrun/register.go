package jobrun

import (
	"context"
	"fmt"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/artifact"
	"github.com/hangar-ml/hangar/dataset"
)

// DataRegistrar registers job outputs as data asset versions, as
// `data create` does with uploaded content: sizes from the manifest, and
// a profile for CSV and Parquet (the reference monitoring compares with).
type DataRegistrar struct {
	Data  hangar.DataService
	Blobs hangar.BlobStore
}

// Register is Scheduler.Register: a carries the name, version, type,
// description and tags, and Manifest.Digest the output's manifest. Without
// a version, content equal to the latest version's is that version: a
// reused or deterministic rerun step adds no version.
func (r DataRegistrar) Register(ctx context.Context, workspace string, a *hangar.DataAsset) (*hangar.DataAsset, error) {
	d := a.Manifest.Digest
	if a.Version == "" {
		// The same content again (a reused or rerun step) is the
		// version that holds it already, not one more version.
		if latest, err := r.Data.LatestDataVersion(ctx, workspace, a.Name); err == nil && latest.Manifest.Digest == d && latest.Type == a.Type {
			return latest, nil
		}
	}
	m, err := artifact.ReadManifest(ctx, r.Blobs, d)
	if err != nil {
		return nil, fmt.Errorf("read the output's manifest: %w", err)
	}
	info, err := r.Blobs.Stat(ctx, d)
	if err != nil {
		return nil, fmt.Errorf("read the output's manifest: %w", err)
	}
	if len(m.Files) == 0 {
		return nil, hangar.Errorf(hangar.EINVALID, "the output is empty: a data asset version holds at least one file")
	}
	if a.Type == hangar.DataURIFile && len(m.Files) != 1 {
		return nil, hangar.Errorf(hangar.EINVALID, "a uri_file output holds %d files, want 1", len(m.Files))
	}
	cp := *a
	cp.Manifest = info
	cp.Path = string(d)
	cp.Size, cp.FileCount = m.TotalSize(), int64(len(m.Files))
	if p, err := dataset.Profile(ctx, r.Blobs, cp.Type, m); err == nil {
		cp.Profile = p
	}
	return r.Data.CreateDataVersion(ctx, workspace, &cp)
}
