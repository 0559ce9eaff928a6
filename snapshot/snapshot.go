// Package snapshot turns the local files a spec names into what a
// registered asset stores: a component's code folder (with its
// additional_includes copied in) and an environment's build context become
// content-addressed folders in a blob store (artifact.PutDir), named by
// their manifest digest; a conda file becomes its text. `hangar component
// create`, `hangar environment create` and `hangar job create` share it.
//
// # Where local paths may point
//
// A path is relative to the spec's folder unless absolute, and must stay
// inside the spec's tree (Root): the working tree of the Git repository
// the spec lives in (the nearest ancestor folder holding .git), or the
// spec's own folder when it is in none. Azure's samples and the MLOps v2
// templates name code in sibling folders of one repository
// (code: ../../src), which this allows, while a spec cannot pick up a
// user's home folder or /etc. Symbolic links are followed before the check.
//
// # Uploads
//
// Every check (existence, the tree, the conda file's size) runs before the
// first upload. Uploads go through SkipExisting, so a folder whose files
// the workspace already holds sends nothing but the requests that ask.
package snapshot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/artifact"
	"github.com/hangar-ml/hangar/jobspec"
)

// Root returns the folder tree the local paths of specFile must stay in:
// the nearest ancestor of its folder (itself included) holding a .git
// entry, else its folder; absolute, with symbolic links resolved.
func Root(specFile string) (string, error) {
	dir, err := filepath.Abs(filepath.Dir(specFile))
	if err != nil {
		return "", fmt.Errorf("folder of %s: %w", specFile, err)
	}
	if dir, err = filepath.EvalSymlinks(dir); err != nil {
		return "", fmt.Errorf("folder of %s: %w", specFile, err)
	}
	for d := dir; ; {
		if _, err := os.Lstat(filepath.Join(d, ".git")); err == nil {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return dir, nil
		}
		d = parent
	}
}

// Path resolves p, a local path written at key of specFile: relative to
// the spec's folder unless absolute, existing, and inside Root(specFile)
// once symbolic links are followed. It returns the resolved path.
// Errors: EINVALID naming the spec, the key and the path.
func Path(specFile, key, p string) (string, error) {
	if !jobspec.IsLocal(p) {
		return "", hangar.Errorf(hangar.EINVALID, "%s: %s %s: only local paths are supported here", specFile, key, p)
	}
	root, err := Root(specFile)
	if err != nil {
		return "", hangar.Errorf(hangar.EINVALID, "%s: %v", specFile, err)
	}
	full := filepath.FromSlash(p)
	if !filepath.IsAbs(full) {
		full = filepath.Join(filepath.Dir(specFile), full)
	}
	real, err := filepath.EvalSymlinks(full)
	if errors.Is(err, fs.ErrNotExist) {
		return "", hangar.Errorf(hangar.EINVALID, "%s: %s %s does not exist", specFile, key, p)
	} else if err != nil {
		return "", hangar.Errorf(hangar.EINVALID, "%s: %s %s: %v", specFile, key, p, err)
	}
	if real, err = filepath.Abs(real); err != nil {
		return "", hangar.Errorf(hangar.EINVALID, "%s: %s %s: %v", specFile, key, p, err)
	}
	if rel, err := filepath.Rel(root, real); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", hangar.Errorf(hangar.EINVALID, "%s: %s %s is outside the spec's tree %s (its Git repository, or its folder outside one)", specFile, key, p, root)
	}
	return real, nil
}

// CondaFile reads a conda file named at key of specFile (see Path), of at
// most hangar.MaxCondaFileSize bytes of UTF-8 text.
// Errors: EINVALID.
func CondaFile(specFile, key, p string) (string, error) {
	full, err := Path(specFile, key, p)
	if err != nil {
		return "", err
	}
	fi, err := os.Stat(full)
	if err != nil {
		return "", hangar.Errorf(hangar.EINVALID, "%s: %s %s: %v", specFile, key, p, err)
	}
	if !fi.Mode().IsRegular() {
		return "", hangar.Errorf(hangar.EINVALID, "%s: %s %s is not a file", specFile, key, p)
	}
	if fi.Size() > hangar.MaxCondaFileSize {
		return "", hangar.Errorf(hangar.EINVALID, "%s: %s %s is %d bytes; the limit is %d", specFile, key, p, fi.Size(), hangar.MaxCondaFileSize)
	}
	b, err := os.ReadFile(full)
	if err != nil {
		return "", hangar.Errorf(hangar.EINVALID, "%s: %s %s: %v", specFile, key, p, err)
	}
	if err := hangar.ValidateText(key+" "+p, string(b), hangar.MaxCondaFileSize); err != nil {
		return "", hangar.Errorf(hangar.EINVALID, "%s: %s", specFile, hangar.ErrorMessage(err))
	}
	return string(b), nil
}

// Folder uploads the folder dir (resolved, e.g. by Path) and returns its
// manifest digest.
func Folder(ctx context.Context, store hangar.BlobStore, dir string) (hangar.Digest, error) {
	info, _, err := artifact.PutDir(ctx, SkipExisting(store), os.DirFS(dir))
	if err != nil {
		return "", fmt.Errorf("upload %s: %w", dir, err)
	}
	return info.Digest, nil
}

// Environment resolves the local files of an environment of specFile in
// place: its conda file is read into CondaSpec (CondaFile emptied) and its
// build context uploaded (Build.Path becomes the manifest digest). A
// reference is left alone. Every path is checked before the upload.
func Environment(ctx context.Context, store hangar.BlobStore, specFile, prefix string, env *jobspec.Environment) error {
	if env == nil || env.Ref != nil {
		return nil
	}
	var build string
	if env.Build != nil {
		p, err := Path(specFile, prefix+"build.path", env.Build.Path)
		if err != nil {
			return err
		}
		if fi, err := os.Stat(p); err != nil || !fi.IsDir() {
			return hangar.Errorf(hangar.EINVALID, "%s: %sbuild.path %s is not a folder", specFile, prefix, env.Build.Path)
		}
		build = p
	}
	if env.CondaFile != "" {
		text, err := CondaFile(specFile, prefix+"conda_file", env.CondaFile)
		if err != nil {
			return err
		}
		env.CondaSpec, env.CondaFile = text, ""
	}
	if build != "" {
		d, err := Folder(ctx, store, build)
		if err != nil {
			return fmt.Errorf("%s: %sbuild.path: %w", specFile, prefix, err)
		}
		env.Build.Path = string(d)
	}
	return nil
}

// Component resolves the local files of a component parsed from c.File:
// its inline environment (Environment) and its code snapshot — the code
// folder (or file) with each additional_includes entry copied in at the
// snapshot's top under its base name — which it uploads and returns the
// digest of ("" without code). Every path is checked before any upload.
func Component(ctx context.Context, store hangar.BlobStore, c *jobspec.Component) (hangar.Digest, error) {
	var code string
	var includes []string
	if c.Code != "" {
		p, err := Path(c.File, "code", c.Code)
		if err != nil {
			return "", err
		}
		code = p
	} else if len(c.AdditionalIncludes) > 0 {
		return "", hangar.Errorf(hangar.EINVALID, "%s: additional_includes without code: give the code folder they are copied into", c.File)
	}
	seen := map[string]string{}
	if fi, err := os.Stat(code); code != "" && err == nil && !fi.IsDir() {
		seen[filepath.Base(code)] = "code " + c.Code
	}
	for _, inc := range c.AdditionalIncludes {
		p, err := Path(c.File, "additional_includes", inc)
		if err != nil {
			return "", err
		}
		base := filepath.Base(p)
		if prev, ok := seen[base]; ok {
			return "", hangar.Errorf(hangar.EINVALID, "%s: additional_includes %s and %s both land at %s in the snapshot", c.File, prev, inc, base)
		}
		if _, err := os.Lstat(filepath.Join(code, base)); err == nil {
			return "", hangar.Errorf(hangar.EINVALID, "%s: additional_includes %s: the code folder already has %s", c.File, inc, base)
		}
		seen[base] = inc
		includes = append(includes, p)
	}
	if err := checkEnvironmentPaths(c.File, c.Environment); err != nil {
		return "", err
	}
	if err := Environment(ctx, store, c.File, "environment.", c.Environment); err != nil {
		return "", err
	}
	if code == "" {
		return "", nil
	}
	return Code(ctx, store, code, includes)
}

// checkEnvironmentPaths checks an inline environment's paths, so that a
// bad one is reported before the code is uploaded.
func checkEnvironmentPaths(specFile string, env *jobspec.Environment) error {
	if env == nil || env.Ref != nil {
		return nil
	}
	if env.CondaFile != "" {
		if _, err := CondaFile(specFile, "environment.conda_file", env.CondaFile); err != nil {
			return err
		}
	}
	if env.Build != nil {
		if _, err := Path(specFile, "environment.build.path", env.Build.Path); err != nil {
			return err
		}
	}
	return nil
}

// Code uploads a code snapshot: the folder code (or a folder holding the
// file code) with each of includes (resolved paths) copied in at its top
// under its base name, and returns the manifest digest. Without includes
// the folder is uploaded as it is, without a copy.
func Code(ctx context.Context, store hangar.BlobStore, code string, includes []string) (hangar.Digest, error) {
	fi, err := os.Stat(code)
	if err != nil {
		return "", hangar.Errorf(hangar.EINVALID, "code %s: %v", code, err)
	}
	if fi.IsDir() && len(includes) == 0 {
		return Folder(ctx, store, code)
	}
	tmp, err := os.MkdirTemp("", "hangar-code-")
	if err != nil {
		return "", fmt.Errorf("stage the code snapshot: %w", err)
	}
	defer os.RemoveAll(tmp)
	if fi.IsDir() {
		err = os.CopyFS(tmp, os.DirFS(code))
	} else {
		err = copyFile(filepath.Join(tmp, filepath.Base(code)), code)
	}
	if err != nil {
		return "", fmt.Errorf("stage the code snapshot: %w", err)
	}
	for _, inc := range includes {
		dst := filepath.Join(tmp, filepath.Base(inc))
		var err error
		if fi, serr := os.Stat(inc); serr == nil && fi.IsDir() {
			err = os.CopyFS(dst, os.DirFS(inc))
		} else {
			err = copyFile(dst, inc)
		}
		if err != nil {
			return "", fmt.Errorf("stage additional include %s: %w", inc, err)
		}
	}
	return Folder(ctx, store, tmp)
}

func copyFile(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fi.Mode().Perm()|0o200)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// SkipExisting wraps a blob store so that Put of content the store already
// has (Stat finds it) sends nothing: seekable content (files, the
// manifest) is hashed first, and uploaded only when Stat answers
// ENOTFOUND. Over the HTTP client's store, Stat finds only blobs the
// workspace owns, so skipping never leaves a workspace without a blob it
// names. Other content is put as it is.
func SkipExisting(store hangar.BlobStore) hangar.BlobStore { return skipExisting{store} }

type skipExisting struct{ hangar.BlobStore }

func (s skipExisting) Put(ctx context.Context, r io.Reader) (hangar.BlobInfo, error) {
	rs, ok := r.(io.ReadSeeker)
	if !ok {
		return s.BlobStore.Put(ctx, r)
	}
	start, err := rs.Seek(0, io.SeekCurrent)
	if err != nil {
		return s.BlobStore.Put(ctx, r)
	}
	h := sha256.New()
	n, err := io.Copy(h, rs)
	if err != nil {
		return hangar.BlobInfo{}, err
	}
	d := hangar.Digest("sha256:" + hex.EncodeToString(h.Sum(nil)))
	if _, err := s.BlobStore.Stat(ctx, d); err == nil {
		return hangar.BlobInfo{Digest: d, Size: n}, nil
	} else if !hangar.IsCode(err, hangar.ENOTFOUND) {
		return hangar.BlobInfo{}, err
	}
	if _, err := rs.Seek(start, io.SeekStart); err != nil {
		return hangar.BlobInfo{}, err
	}
	return s.BlobStore.Put(ctx, rs)
}
