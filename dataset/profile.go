package dataset

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/profile"
)

// TableFile returns the file of a manifest that a version's profile is made
// of, and whether there is one: the one file of a uri_file when it is CSV
// or Parquet (by extension: .csv, .tsv is not; .parquet, .pq), and for a
// folder or mltable its only CSV or Parquet file, the MLTable file and
// files whose names start with "." aside. A folder of several tables has no
// profile: which of them, or which union, is the reference is the user's
// choice, not ours to guess.
func TableFile(typ string, m *hangar.Manifest) (hangar.ManifestEntry, bool) {
	var found []hangar.ManifestEntry
	for _, e := range m.Files {
		base := path.Base(e.Path)
		if strings.HasPrefix(base, ".") || (typ == hangar.DataMLTable && e.Path == MLTableFile) {
			continue
		}
		if tableKind(e.Path) != "" {
			found = append(found, e)
		}
	}
	if len(found) != 1 || (typ == hangar.DataURIFile && len(m.Files) != 1) {
		return hangar.ManifestEntry{}, false
	}
	return found[0], true
}

// tableKind is "csv", "parquet" or "" by a file's extension.
func tableKind(p string) string {
	switch strings.ToLower(path.Ext(p)) {
	case ".csv":
		return "csv"
	case ".parquet", ".pq":
		return "parquet"
	}
	return ""
}

// Profile computes the profile of a version's table (TableFile) streaming
// from the blob store, and returns its JSON text, or "" when the version
// has no table or its profile would exceed hangar.MaxDataProfileSize. A
// Parquet file is read in place when the store's reader can seek
// (io.ReaderAt, as the disk store's files), else spooled to a temporary
// file: memory never depends on the rows. Errors: EINVALID (a malformed
// table, naming the file), and the store's.
func Profile(ctx context.Context, blobs hangar.BlobStore, typ string, m *hangar.Manifest) (string, error) {
	e, ok := TableFile(typ, m)
	if !ok {
		return "", nil
	}
	rc, err := blobs.Open(ctx, e.Digest)
	if err != nil {
		return "", fmt.Errorf("profile %s: %w", e.Path, err)
	}
	defer rc.Close()
	var p *profile.Profile
	if tableKind(e.Path) == "csv" {
		p, err = profile.CSV(ctx, rc, profile.Options{})
	} else {
		p, err = parquetProfile(ctx, rc, e.Size)
	}
	if err != nil {
		return "", fmt.Errorf("profile %s: %w", e.Path, err)
	}
	b, err := json.Marshal(p)
	if err != nil {
		return "", fmt.Errorf("profile %s: %w", e.Path, err)
	}
	if len(b) > hangar.MaxDataProfileSize {
		return "", nil
	}
	return string(b), nil
}

func parquetProfile(ctx context.Context, rc io.ReadCloser, size int64) (*profile.Profile, error) {
	if ra, ok := rc.(io.ReaderAt); ok {
		return profile.Parquet(ctx, ra, size)
	}
	tmp, err := os.CreateTemp("", "hangar-profile-*.parquet")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	n, err := io.Copy(tmp, rc)
	if err != nil {
		return nil, err
	}
	return profile.Parquet(ctx, tmp, n)
}
