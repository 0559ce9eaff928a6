package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/artifact"
	"github.com/hangar-ml/hangar/jobrun"
	"github.com/hangar-ml/hangar/jobspec"
)

// jobSubmission reads a job YAML and everything on this machine it names,
// and uploads the local paths: the component files and conda files travel
// as text, code folders, local inputs and build contexts as content-
// addressed manifests (what the store has already is not sent again).
// The server parses and resolves the job again; reading it here first
// reports a bad file or a missing path before anything is uploaded.
type jobSubmission struct {
	file  string // the YAML, as given
	blobs hangar.BlobStore
	// progress, when set, shows each upload; progressMode is --progress.
	progress     io.Writer
	progressMode string

	sub  *hangar.JobSubmission
	seen map[string]bool // upload keys done
}

func newJobSubmission(file string, sets []string, blobs hangar.BlobStore, progress io.Writer) (*jobSubmission, *jobspec.Job, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, nil, hangar.Errorf(hangar.EINVALID, "read the job file: %v", err)
	}
	js := &jobSubmission{
		file: file, blobs: blobs, progress: progress, seen: map[string]bool{},
		sub: &hangar.JobSubmission{File: filepath.Base(file), YAML: string(b), Sets: sets, Files: map[string]string{}, Uploads: map[string]hangar.Digest{}},
	}
	job, err := jobspec.ParseJob(file, b, sets)
	if err != nil {
		return nil, nil, err
	}
	if err := jobspec.CheckLocalPaths(file, job.LocalPaths()); err != nil {
		return nil, nil, err
	}
	return js, job, nil
}

// collect reads the component files the job names and checks every local
// path, before uploading anything.
func (js *jobSubmission) collect(job *jobspec.Job) ([]localUpload, error) {
	main := js.sub.File
	var ups []localUpload
	for _, p := range job.LocalPaths() {
		u, err := js.local(main, filepath.Dir(js.file), p)
		if err != nil {
			return nil, err
		}
		if u != nil {
			ups = append(ups, *u)
		}
	}
	for _, name := range job.JobOrder {
		s := job.Jobs[name]
		if s.ComponentRef == nil || !s.ComponentRef.IsFile() {
			continue
		}
		key := jobrun.UploadKey(main, s.ComponentRef.File)
		if _, ok := js.sub.Files[key]; ok {
			continue
		}
		abs := filepath.Join(filepath.Dir(js.file), filepath.FromSlash(s.ComponentRef.File))
		if filepath.IsAbs(s.ComponentRef.File) {
			abs = s.ComponentRef.File
		}
		b, err := os.ReadFile(abs)
		if err != nil {
			return nil, hangar.Errorf(hangar.EINVALID, "%s: jobs.%s.component: %v", js.file, name, err)
		}
		c, err := jobspec.ParseComponent(abs, b)
		if err != nil {
			return nil, err
		}
		if err := jobspec.CheckLocalPaths(abs, c.LocalPaths()); err != nil {
			return nil, err
		}
		js.sub.Files[key] = string(b)
		if len(c.AdditionalIncludes) > 0 && c.Code != "" && jobspec.IsLocal(c.Code) {
			ups = append(ups, localUpload{key: jobrun.UploadKey(key, c.Code), abs: filepath.Join(filepath.Dir(abs), filepath.FromSlash(c.Code)), includes: resolveAll(filepath.Dir(abs), c.AdditionalIncludes)})
			js.seen[jobrun.UploadKey(key, c.Code)] = true
		}
		for _, p := range c.LocalPaths() {
			if p.Key == "additional_includes" {
				continue
			}
			u, err := js.local(key, filepath.Dir(abs), p)
			if err != nil {
				return nil, err
			}
			if u != nil {
				ups = append(ups, *u)
			}
		}
	}
	return ups, nil
}

func resolveAll(dir string, paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = filepath.Join(dir, filepath.FromSlash(p))
		if filepath.IsAbs(p) {
			out[i] = p
		}
	}
	return out
}

// localUpload is one local path to upload under key; includes are
// further paths copied into a code folder's root (additional_includes).
type localUpload struct {
	key, abs string
	includes []string
}

// local records one local path of the file fromKey (whose folder on this
// machine is dir): conda files as text, the rest as an upload.
func (js *jobSubmission) local(fromKey, dir string, p jobspec.LocalPath) (*localUpload, error) {
	key := jobrun.UploadKey(fromKey, p.Path)
	abs := filepath.FromSlash(p.Path)
	if !filepath.IsAbs(abs) {
		abs = filepath.Join(dir, abs)
	}
	if strings.HasSuffix(p.Key, "conda_file") {
		b, err := os.ReadFile(abs)
		if err != nil {
			return nil, hangar.Errorf(hangar.EINVALID, "%s: %s: %v", fromKey, p.Key, err)
		}
		js.sub.Files[key] = string(b)
		return nil, nil
	}
	if js.seen[key] {
		return nil, nil
	}
	js.seen[key] = true
	return &localUpload{key: key, abs: abs}, nil
}

// upload stores each local path and records its manifest digest: each
// file is hashed first and only content the store lacks is sent, with
// progress on js.progress (a bar on a terminal).
func (js *jobSubmission) upload(ctx context.Context, ups []localUpload) error {
	for _, u := range ups {
		var bar *progressBar
		if js.progress != nil {
			var err error
			if bar, err = newProgressBar(js.progress, js.progressMode); err != nil {
				return err
			}
			if bar.mode == "bar" {
				fmt.Fprintf(js.progress, "%s\n", u.key)
			} else if bar.mode == "line" {
				fmt.Fprintf(js.progress, "%s: ", u.key)
			}
		}
		d, files, err := putLocal(ctx, js.blobs, u.abs, u.includes, bar)
		if err != nil {
			return fmt.Errorf("upload %s: %w", u.key, err)
		}
		bar.finish(files)
		js.sub.Uploads[u.key] = d
	}
	return nil
}

// putLocal stores a folder, or a file as a folder of that one file, plus
// any includes copied into its root, and returns the manifest's digest
// and how many files it lists.
func putLocal(ctx context.Context, blobs hangar.BlobStore, abs string, includes []string, bar *progressBar) (hangar.Digest, int, error) {
	fi, err := os.Stat(abs)
	if err != nil {
		return "", 0, err
	}
	opt := artifact.UploadOptions{Progress: bar.update}
	dir := abs
	if len(includes) > 0 {
		tmp, err := os.MkdirTemp("", "hangar-code-")
		if err != nil {
			return "", 0, err
		}
		defer os.RemoveAll(tmp)
		if err := os.CopyFS(tmp, os.DirFS(abs)); err != nil {
			return "", 0, fmt.Errorf("copy the code folder: %w", err)
		}
		for _, inc := range includes {
			ifi, err := os.Stat(inc)
			if err != nil {
				return "", 0, fmt.Errorf("additional_includes: %w", err)
			}
			dst := filepath.Join(tmp, filepath.Base(inc))
			if ifi.IsDir() {
				err = os.CopyFS(dst, os.DirFS(inc))
			} else {
				err = copyFile(inc, dst)
			}
			if err != nil {
				return "", 0, fmt.Errorf("additional_includes %s: %w", inc, err)
			}
		}
		dir = tmp
	}
	var info hangar.BlobInfo
	var m *hangar.Manifest
	if fi.IsDir() || len(includes) > 0 {
		info, m, err = artifact.UploadDir(ctx, blobs, os.DirFS(dir), opt)
	} else {
		info, m, err = artifact.UploadFile(ctx, blobs, os.DirFS(filepath.Dir(abs)), filepath.Base(abs), opt)
	}
	if err != nil {
		return "", 0, err
	}
	return info.Digest, len(m.Files), nil
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o644)
}
