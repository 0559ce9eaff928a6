// Package dataset resolves where a data asset's content is and moves it:
// it snapshots a datastore location into the content-addressed blob store
// (Snapshot), profiles a version's table (Profile), and stages a data
// version or a datastore URI into a local folder for a job step (Stage).
//
// Locations, as azureml://datastores/<ds>/paths/<p> resolves them:
//   - on the default datastore (hangar.DefaultDatastore) p is a path of the
//     workspace's artifact tree (hangar.ArtifactIndex), the one MLflow's
//     artifact proxy serves: a file there, or every file under it;
//   - on a local datastore p is below the datastore's root folder, opened
//     through os.Root, so neither ".." (which hangar.ParseDatastoreURI
//     refuses already) nor a symbolic link can leave the root.
//
// A version created from a datastore location is a snapshot: its files are
// stored in the blob store and listed by a manifest, so the version stays
// what it was when the folder changes later, and two identical snapshots
// are one content.
package dataset

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/artifact"
)

// MLTableFile is the file that makes a folder an mltable.
const MLTableFile = "MLTable"

// Resolver reads data locations of a workspace. Data and Blobs are
// required; Artifacts is needed for paths on the default datastore (they
// are refused, ENOTIMPLEMENTED, without it).
type Resolver struct {
	Data      hangar.DataService
	Blobs     hangar.BlobStore
	Artifacts hangar.ArtifactIndex
}

// Snapshot is content stored in the blob store for a data version.
type Snapshot struct {
	// Manifest is the stored manifest blob; its digest is the content hash.
	Manifest hangar.BlobInfo
	// Files is the manifest itself.
	Files *hangar.Manifest
	// Blobs are the files' blobs, each once: the workspace of the version
	// must own them.
	Blobs []hangar.BlobInfo
}

// Snapshot stores the content at a datastore URI, as a version of type typ
// holds it, and returns its manifest. A uri_file location must be a file
// (the manifest then lists it under its base name); uri_folder and mltable
// locations must be folders, and an mltable's must hold an MLTable file.
// Errors: EINVALID (URI, type mismatch), ENOTFOUND (datastore, or nothing
// at the path), ENOTIMPLEMENTED (default datastore without Artifacts).
func (r *Resolver) Snapshot(ctx context.Context, workspace, uri, typ string) (*Snapshot, error) {
	ds, p, err := hangar.ParseDatastoreURI(uri)
	if err != nil {
		return nil, err
	}
	var m *hangar.Manifest
	if ds == hangar.DefaultDatastore {
		m, _, err = r.artifactManifest(ctx, workspace, p, typ)
	} else {
		m, err = r.localSnapshot(ctx, workspace, ds, p, typ)
	}
	if err != nil {
		return nil, fmt.Errorf("snapshot %s: %w", uri, err)
	}
	if typ == hangar.DataMLTable && !slices.ContainsFunc(m.Files, func(e hangar.ManifestEntry) bool { return e.Path == MLTableFile }) {
		return nil, hangar.Errorf(hangar.EINVALID, "%s is not an mltable: the folder has no %s file", uri, MLTableFile)
	}
	data, err := m.Encode()
	if err != nil {
		return nil, fmt.Errorf("snapshot %s: %w", uri, err)
	}
	info, err := r.Blobs.Put(ctx, strings.NewReader(string(data)))
	if err != nil {
		return nil, fmt.Errorf("snapshot %s: store manifest: %w", uri, err)
	}
	return &Snapshot{Manifest: info, Files: m, Blobs: FileBlobs(m)}, nil
}

// FileBlobs returns the blobs of a manifest's files, each once.
func FileBlobs(m *hangar.Manifest) []hangar.BlobInfo {
	seen := make(map[hangar.Digest]bool, len(m.Files))
	var out []hangar.BlobInfo
	for _, e := range m.Files {
		if !seen[e.Digest] {
			seen[e.Digest] = true
			out = append(out, hangar.BlobInfo{Digest: e.Digest, Size: e.Size})
		}
	}
	return out
}

// OpenLocal opens the root of a local datastore and returns it with the
// relative path p checked: an empty p is the root. The caller closes the
// root. Errors: EINVALID (p), ENOTFOUND (root missing).
func OpenLocal(d *hangar.Datastore, p string) (*os.Root, string, error) {
	if d.Type != hangar.DatastoreLocal {
		return nil, "", hangar.Errorf(hangar.EINVALID, "datastore %s is of type %s, not %s", d.Name, d.Type, hangar.DatastoreLocal)
	}
	if p != "" {
		if err := hangar.ValidateManifestPath(p); err != nil {
			return nil, "", err
		}
	} else {
		p = "."
	}
	root, err := os.OpenRoot(d.Root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", hangar.Errorf(hangar.ENOTFOUND, "the root %s of datastore %s does not exist on the server", d.Root, d.Name)
	}
	if err != nil {
		return nil, "", fmt.Errorf("open datastore %s: %w", d.Name, err)
	}
	return root, p, nil
}

// notThere is the error of a datastore path that names nothing.
func notThere(ds, p string) error {
	return hangar.Errorf(hangar.ENOTFOUND, "path %q does not exist on datastore %s", p, ds)
}

// statLocal returns what p is under root, refusing escapes.
func statLocal(root *os.Root, ds, p string) (fs.FileInfo, error) {
	fi, err := root.Stat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, notThere(ds, p)
	case err != nil && strings.Contains(err.Error(), "escapes"):
		return nil, hangar.Errorf(hangar.EINVALID, "path %q leaves the root of datastore %s (through a symbolic link)", p, ds)
	case err != nil:
		return nil, fmt.Errorf("stat %q on datastore %s: %w", p, ds, err)
	}
	return fi, nil
}

// checkKind refuses a file for a folder type and a folder for uri_file;
// an empty type takes either.
func checkKind(ds, p, typ string, dir bool) error {
	switch {
	case typ == "":
	case typ == hangar.DataURIFile && dir:
		return hangar.Errorf(hangar.EINVALID, "path %q on datastore %s is a folder; a %s data asset is one file (use type %s)", p, ds, hangar.DataURIFile, hangar.DataURIFolder)
	case typ != hangar.DataURIFile && !dir:
		return hangar.Errorf(hangar.EINVALID, "path %q on datastore %s is a file; a %s data asset is a folder (use type %s)", p, ds, typ, hangar.DataURIFile)
	}
	return nil
}

func (r *Resolver) localSnapshot(ctx context.Context, workspace, ds, p, typ string) (*hangar.Manifest, error) {
	d, err := r.Data.Datastore(ctx, workspace, ds)
	if err != nil {
		return nil, err
	}
	root, p, err := OpenLocal(d, p)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	fi, err := statLocal(root, ds, p)
	if err != nil {
		return nil, err
	}
	if err := checkKind(ds, p, typ, fi.IsDir()); err != nil {
		return nil, err
	}
	if fi.IsDir() {
		sub, err := root.OpenRoot(p)
		if err != nil {
			return nil, fmt.Errorf("open %q on datastore %s: %w", p, ds, err)
		}
		defer sub.Close()
		_, m, err := artifact.PutDir(ctx, r.Blobs, sub.FS())
		return m, err
	}
	if !fi.Mode().IsRegular() {
		return nil, hangar.Errorf(hangar.EINVALID, "path %q on datastore %s is not a regular file", p, ds)
	}
	f, err := root.Open(p)
	if err != nil {
		return nil, fmt.Errorf("open %q on datastore %s: %w", p, ds, err)
	}
	defer f.Close()
	info, err := r.Blobs.Put(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("store %q of datastore %s: %w", p, ds, err)
	}
	return &hangar.Manifest{Version: hangar.ManifestVersion, Files: []hangar.ManifestEntry{
		{Path: path.Base(p), Digest: info.Digest, Size: info.Size, Executable: fi.Mode()&0o111 != 0},
	}}, nil
}

// artifactManifest lists the artifact files at p (a file, or every file
// under the directory p) as a manifest, without copying anything: their
// content is in the blob store already, owned by the workspace.
func (r *Resolver) artifactManifest(ctx context.Context, workspace, p, typ string) (m *hangar.Manifest, file bool, err error) {
	if r.Artifacts == nil {
		return nil, false, hangar.Errorf(hangar.ENOTIMPLEMENTED, "this server has no artifact index: paths on datastore %s cannot be read", hangar.DefaultDatastore)
	}
	m = &hangar.Manifest{Version: hangar.ManifestVersion, Files: []hangar.ManifestEntry{}}
	if p != "" {
		e, err := r.Artifacts.Artifact(ctx, workspace, p)
		if err == nil {
			if err := checkKind(hangar.DefaultDatastore, p, typ, false); err != nil {
				return nil, false, err
			}
			m.Files = append(m.Files, hangar.ManifestEntry{Path: path.Base(p), Digest: e.Digest, Size: e.Size})
			return m, true, nil
		}
		if !hangar.IsCode(err, hangar.ENOTFOUND) {
			return nil, false, err
		}
	}
	var walk func(dir string) error
	walk = func(dir string) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		entries, err := r.Artifacts.ListArtifacts(ctx, workspace, dir)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if e.IsDir {
				if err := walk(e.Path); err != nil {
					return err
				}
				continue
			}
			rel := strings.TrimPrefix(strings.TrimPrefix(e.Path, p), "/")
			m.Files = append(m.Files, hangar.ManifestEntry{Path: rel, Digest: e.Digest, Size: e.Size})
		}
		return nil
	}
	if err := walk(p); err != nil {
		return nil, false, err
	}
	if len(m.Files) == 0 {
		return nil, false, notThere(hangar.DefaultDatastore, p)
	}
	if err := checkKind(hangar.DefaultDatastore, p, typ, true); err != nil {
		return nil, false, err
	}
	slices.SortFunc(m.Files, func(a, b hangar.ManifestEntry) int { return strings.Compare(a.Path, b.Path) })
	return m, false, nil
}

// ResolveVersion returns the version a reference names: NAME:VERSION,
// NAME@latest, either with the prefix "azureml:" (ParseRef). Errors:
// EINVALID, ENOTFOUND.
func (r *Resolver) ResolveVersion(ctx context.Context, workspace, ref string) (*hangar.DataAsset, error) {
	name, version, err := ParseRef(ref)
	if err != nil {
		return nil, err
	}
	if version == hangar.LatestLabel {
		return r.Data.LatestDataVersion(ctx, workspace, name)
	}
	return r.Data.DataVersion(ctx, workspace, name, version)
}

// ParseRef splits a data reference, NAME:VERSION or NAME@latest, with or
// without the prefix "azureml:", into its name and version ("latest" for
// the label). Errors: EINVALID.
func ParseRef(ref string) (name, version string, err error) {
	s := strings.TrimPrefix(ref, "azureml:")
	if n, label, ok := strings.Cut(s, "@"); ok {
		if label != hangar.LatestLabel {
			return "", "", hangar.Errorf(hangar.EINVALID, "invalid data reference %q: the only label is @%s", ref, hangar.LatestLabel)
		}
		name, version = n, hangar.LatestLabel
	} else if n, v, ok := strings.Cut(s, ":"); ok {
		if err := hangar.ValidateDataVersion(v); err != nil {
			return "", "", fmt.Errorf("invalid data reference %q: %w", ref, err)
		}
		name, version = n, v
	} else {
		return "", "", hangar.Errorf(hangar.EINVALID, "invalid data reference %q: want NAME:VERSION or NAME@%s", ref, hangar.LatestLabel)
	}
	if err := hangar.ValidateName("data asset", name); err != nil {
		return "", "", fmt.Errorf("invalid data reference %q: %w", ref, err)
	}
	return name, version, nil
}

// Stage materialises data into the local folder dst (created if needed)
// and returns the path a step should be given: dst itself for a folder, or
// the file in dst for a uri_file. src is a data reference (ParseRef:
// NAME:VERSION, NAME@latest, with or without "azureml:") or a datastore
// URI (azureml://datastores/<ds>/paths/<p>). A version's files are written
// from the blob store, each checked against its digest; a datastore URI is
// read as Snapshot resolves it, a local datastore's files copied as they
// are. The job runner records the version ResolveVersion returns and
// stages it with StageVersion when it needs both. Errors: EINVALID,
// ENOTFOUND.
func (r *Resolver) Stage(ctx context.Context, workspace, src, dst string) (string, error) {
	if strings.HasPrefix(src, "azureml://") {
		return r.StageURI(ctx, workspace, src, dst)
	}
	a, err := r.ResolveVersion(ctx, workspace, src)
	if err != nil {
		return "", fmt.Errorf("stage %s: %w", src, err)
	}
	return r.StageVersion(ctx, a, dst)
}

// StageVersion writes a version's files into dst, as Stage.
func (r *Resolver) StageVersion(ctx context.Context, a *hangar.DataAsset, dst string) (string, error) {
	if a.Manifest.Digest == "" {
		return r.StageURI(ctx, a.Workspace, a.Path, dst)
	}
	m, err := artifact.ReadManifest(ctx, r.Blobs, a.Manifest.Digest)
	if err != nil {
		return "", fmt.Errorf("stage %s:%s: %w", a.Name, a.Version, err)
	}
	if err := artifact.GetDir(ctx, r.Blobs, a.Manifest.Digest, dst); err != nil {
		return "", fmt.Errorf("stage %s:%s: %w", a.Name, a.Version, err)
	}
	return stagedPath(dst, a.Type, m), nil
}

// stagedPath is dst, or its one file for a uri_file.
func stagedPath(dst, typ string, m *hangar.Manifest) string {
	if typ == hangar.DataURIFile && len(m.Files) == 1 {
		return filepath.Join(dst, filepath.FromSlash(m.Files[0].Path))
	}
	return dst
}

// StageURI writes the data at a datastore URI into dst, as Stage. A path
// naming a file is staged as that file (its base name in dst).
func (r *Resolver) StageURI(ctx context.Context, workspace, uri, dst string) (string, error) {
	ds, p, err := hangar.ParseDatastoreURI(uri)
	if err != nil {
		return "", err
	}
	if ds == hangar.DefaultDatastore {
		m, file, err := r.artifactManifest(ctx, workspace, p, "")
		if err != nil {
			return "", fmt.Errorf("stage %s: %w", uri, err)
		}
		data, err := m.Encode()
		if err != nil {
			return "", err
		}
		info, err := r.Blobs.Put(ctx, strings.NewReader(string(data)))
		if err != nil {
			return "", fmt.Errorf("stage %s: %w", uri, err)
		}
		if err := artifact.GetDir(ctx, r.Blobs, info.Digest, dst); err != nil {
			return "", fmt.Errorf("stage %s: %w", uri, err)
		}
		if file {
			return stagedPath(dst, hangar.DataURIFile, m), nil
		}
		return dst, nil
	}
	d, err := r.Data.Datastore(ctx, workspace, ds)
	if err != nil {
		return "", fmt.Errorf("stage %s: %w", uri, err)
	}
	root, p, err := OpenLocal(d, p)
	if err != nil {
		return "", fmt.Errorf("stage %s: %w", uri, err)
	}
	defer root.Close()
	fi, err := statLocal(root, ds, p)
	if err != nil {
		return "", fmt.Errorf("stage %s: %w", uri, err)
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return "", fmt.Errorf("stage %s: %w", uri, err)
	}
	if fi.IsDir() {
		sub, err := root.OpenRoot(p)
		if err != nil {
			return "", fmt.Errorf("stage %s: %w", uri, err)
		}
		defer sub.Close()
		if err := copyTree(ctx, sub, dst); err != nil {
			return "", fmt.Errorf("stage %s: %w", uri, err)
		}
		return dst, nil
	}
	out := filepath.Join(dst, path.Base(p))
	if err := copyFile(root, p, out); err != nil {
		return "", fmt.Errorf("stage %s: %w", uri, err)
	}
	return out, nil
}

// copyTree copies the regular files below root into dst, as PutDir would
// store them: a symbolic link is copied as the file it points to, which
// os.Root keeps inside root; links out of it, links to folders and
// irregular files are refused (EINVALID).
func copyTree(ctx context.Context, root *os.Root, dst string) error {
	return fs.WalkDir(root.FS(), ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		out := filepath.Join(dst, filepath.FromSlash(name))
		if d.IsDir() {
			return os.MkdirAll(out, 0o755)
		}
		if !d.Type().IsRegular() && d.Type()&fs.ModeSymlink == 0 {
			return hangar.Errorf(hangar.EINVALID, "%q is not a regular file (mode %v)", name, d.Type())
		}
		fi, err := root.Stat(name) // follows links, inside root only
		if err != nil {
			if strings.Contains(err.Error(), "escapes") {
				return hangar.Errorf(hangar.EINVALID, "symbolic link %q leaves the datastore's folder", name)
			}
			return err
		}
		if !fi.Mode().IsRegular() {
			return hangar.Errorf(hangar.EINVALID, "%q is a symbolic link to a folder or an irregular file; only links to files are copied", name)
		}
		return copyFile(root, name, out)
	})
}

// copyFile copies the file p of root to the path out.
func copyFile(root *os.Root, p, out string) (err error) {
	in, err := root.Open(p)
	if err != nil {
		return err
	}
	defer in.Close()
	f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	_, err = io.Copy(f, in)
	return err
}
