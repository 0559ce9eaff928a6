package snapshot_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/disk"
	"github.com/hangar-ml/hangar/jobspec"
	"github.com/hangar-ml/hangar/snapshot"
)

// counting counts the uploads that reach the store.
type counting struct {
	hangar.BlobStore
	puts atomic.Int64
}

func (c *counting) Put(ctx context.Context, r io.Reader) (hangar.BlobInfo, error) {
	c.puts.Add(1)
	return c.BlobStore.Put(ctx, r)
}

func write(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, data := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestPath(t *testing.T) {
	outside := t.TempDir()
	write(t, outside, map[string]string{"secret.txt": "s"})
	repo := t.TempDir()
	write(t, repo, map[string]string{
		"ml/pipelines/train.yml": "x", "ml/pipelines/src/a.py": "a", "ml/common/c.py": "c",
	})
	plain := t.TempDir()
	write(t, plain, map[string]string{"spec/c.yml": "x", "spec/src/a.py": "a", "other/b.py": "b"})
	if err := os.Mkdir(filepath.Join(repo, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(repo, "ml", "pipelines", "escape")); err != nil {
		t.Fatal(err)
	}
	inRepo := filepath.Join(repo, "ml", "pipelines", "train.yml")
	inPlain := filepath.Join(plain, "spec", "c.yml")
	for _, tt := range []struct {
		name, spec, path, want string // want: "" for fine
	}{
		{"relative", inRepo, "./src", ""},
		{"sibling in the repository", inRepo, "../common", ""},
		{"absolute in the repository", inRepo, filepath.Join(repo, "ml", "common", "c.py"), ""},
		{"subfolder without a repository", inPlain, "src", ""},
		{"missing", inRepo, "./nope", "code ./nope does not exist"},
		{"above the repository", inRepo, "../../..", "is outside the spec's tree"},
		{"absolute outside", inRepo, filepath.Join(outside, "secret.txt"), "is outside the spec's tree"},
		{"link out of the repository", inRepo, "escape/secret.txt", "is outside the spec's tree"},
		{"sibling without a repository", inPlain, "../other", "is outside the spec's tree"},
		{"not local", inRepo, "azureml:code:1", "only local paths"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := snapshot.Path(tt.spec, "code", tt.path)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Path = %v", err)
				}
				if _, err := os.Stat(got); err != nil {
					t.Errorf("Path = %s, which does not exist", got)
				}
				return
			}
			if !hangar.IsCode(err, hangar.EINVALID) || !strings.Contains(hangar.ErrorMessage(err), tt.want) || !strings.Contains(hangar.ErrorMessage(err), tt.spec) {
				t.Errorf("Path = %q, %v; want EINVALID naming the spec and containing %q", got, err, tt.want)
			}
		})
	}
}

func TestCondaFile(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string]string{"conda.yml": "name: x\n", "big.yml": strings.Repeat("#", hangar.MaxCondaFileSize+1), "nul.yml": "a\x00"})
	spec := filepath.Join(dir, "env.yml")
	if got, err := snapshot.CondaFile(spec, "conda_file", "conda.yml"); err != nil || got != "name: x\n" {
		t.Errorf("CondaFile = %q, %v", got, err)
	}
	for file, want := range map[string]string{"big.yml": "bytes; the limit is", "nul.yml": "contains a NUL", "gone.yml": "conda_file gone.yml does not exist", ".": "is not a file"} {
		if _, err := snapshot.CondaFile(spec, "conda_file", file); !hangar.IsCode(err, hangar.EINVALID) || !strings.Contains(hangar.ErrorMessage(err), want) {
			t.Errorf("CondaFile(%s) = %v, want EINVALID containing %q", file, err, want)
		}
	}
}

// TestComponent: the code folder with its includes is one snapshot; an
// unchanged folder uploads nothing; the inline environment is resolved;
// a bad path uploads nothing.
func TestComponent(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	write(t, dir, map[string]string{
		"comp/train.yml":      "",
		"comp/src/train.py":   "print('train')\n",
		"comp/src/lib/u.py":   "u = 1\n",
		"comp/conda.yml":      "name: train\n",
		"comp/ctx/Dockerfile": "FROM python\n",
		"shared/helpers.py":   "h = 2\n",
		"shared/pkg/m.py":     "m = 3\n",
		"shared/train.py":     "t = 4\n",
	})
	if err := os.Mkdir(filepath.Join(dir, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "comp", "train.yml")
	parse := func(t *testing.T, yml string) *jobspec.Component {
		t.Helper()
		c, err := jobspec.ParseComponent(file, []byte(yml))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	const good = `name: train
code: ./src
additional_includes: [../shared/helpers.py, ../shared/pkg]
environment: {image: python:3.12, conda_file: conda.yml}
command: python train.py
`
	store := &counting{BlobStore: disk.New(t.TempDir())}
	c := parse(t, good)
	d, err := snapshot.Component(ctx, store, c)
	if err != nil {
		t.Fatal(err)
	}
	if c.Environment.CondaSpec != "name: train\n" || c.Environment.CondaFile != "" {
		t.Errorf("environment: conda %q, file %q; want the text read", c.Environment.CondaSpec, c.Environment.CondaFile)
	}
	rc, err := store.Open(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	m, err := hangar.ParseManifest(b)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, f := range m.Files {
		paths = append(paths, f.Path)
	}
	if want := []string{"helpers.py", "lib/u.py", "pkg/m.py", "train.py"}; !slices.Equal(paths, want) {
		t.Errorf("snapshot files: got %v, want %v", paths, want)
	}
	puts := store.puts.Load()
	if puts != 5 {
		t.Errorf("first snapshot: %d uploads, want 5 (four files and the manifest)", puts)
	}
	again, err := snapshot.Component(ctx, store, parse(t, good))
	if err != nil || again != d {
		t.Fatalf("same code again: %s, %v; want %s", again, err, d)
	}
	if n := store.puts.Load() - puts; n != 0 {
		t.Errorf("same code again: %d uploads, want none", n)
	}
	write(t, dir, map[string]string{"comp/src/train.py": "print('changed')\n"})
	changed, err := snapshot.Component(ctx, store, parse(t, good))
	if err != nil || changed == d {
		t.Fatalf("changed code: %s, %v; want another digest", changed, err)
	}
	if n := store.puts.Load() - puts; n != 2 {
		t.Errorf("one changed file: %d uploads, want 2 (the file and the manifest)", n)
	}

	file1, err := snapshot.Component(ctx, store, parse(t, "name: a\ncommand: x\ncode: src/train.py\nadditional_includes: [../shared/helpers.py]\n"))
	if err != nil {
		t.Fatalf("code file with an include: %v", err)
	}
	if _, err := store.Stat(ctx, file1); err != nil {
		t.Errorf("code file snapshot %s: %v", file1, err)
	}

	build := parse(t, "name: b\ncommand: x\nenvironment: {build: {path: ctx}}\n")
	if d, err := snapshot.Component(ctx, store, build); err != nil || d != "" {
		t.Fatalf("build context: %s, %v", d, err)
	}
	if _, err := hangar.ParseDigest(build.Environment.Build.Path); err != nil {
		t.Errorf("build path %q is not a digest", build.Environment.Build.Path)
	}

	for _, tt := range []struct{ name, yml, want string }{
		{"missing code", strings.Replace(good, "./src", "./nope", 1), "code ./nope does not exist"},
		{"code outside the tree", strings.Replace(good, "./src", "../../..", 1), "outside the spec's tree"},
		{"missing include", strings.Replace(good, "../shared/pkg", "../shared/none", 1), "additional_includes ../shared/none does not exist"},
		{"include twice", strings.Replace(good, "../shared/pkg", "../shared/helpers.py", 1), "both land at helpers.py"},
		{"include clashing with code", strings.Replace(good, "../shared/pkg", "src/lib", 1), "the code folder already has lib"},
		{"missing conda file", strings.Replace(good, "conda.yml", "gone.yml", 1), "environment.conda_file gone.yml does not exist"},
		{"include clashing with a code file", "name: a\ncommand: x\ncode: src/train.py\nadditional_includes: [../shared/train.py]\n", "code src/train.py and ../shared/train.py both land at train.py"},
		{"includes without code", "name: a\ncommand: x\nadditional_includes: [src]\n", "additional_includes without code"},
		{"missing build context", "name: b\ncommand: x\nenvironment: {build: {path: nope}}\n", "environment.build.path nope does not exist"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := store.puts.Load()
			_, err := snapshot.Component(ctx, store, parse(t, tt.yml))
			if !hangar.IsCode(err, hangar.EINVALID) || !strings.Contains(hangar.ErrorMessage(err), tt.want) {
				t.Errorf("Component = %v, want EINVALID containing %q", err, tt.want)
			}
			if n := store.puts.Load() - before; n != 0 {
				t.Errorf("%d uploads before the error, want none", n)
			}
		})
	}
}

// TestSkipExisting: content the store has is not sent again; unseekable
// content is put as it is.
func TestSkipExisting(t *testing.T) {
	ctx := t.Context()
	store := &counting{BlobStore: disk.New(t.TempDir())}
	skip := snapshot.SkipExisting(store)
	dir := t.TempDir()
	write(t, dir, map[string]string{"a": "hello"})
	f, err := os.Open(filepath.Join(dir, "a"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	info, err := skip.Put(ctx, f)
	if err != nil || info.Size != 5 || store.puts.Load() != 1 {
		t.Fatalf("first put: %+v, %v, %d uploads", info, err, store.puts.Load())
	}
	f.Seek(0, io.SeekStart)
	again, err := skip.Put(ctx, f)
	if err != nil || again != info || store.puts.Load() != 1 {
		t.Errorf("second put: %+v, %v, %d uploads; want %+v and no upload", again, err, store.puts.Load(), info)
	}
	if _, err := skip.Put(ctx, io.LimitReader(strings.NewReader("hello"), 5)); err != nil || store.puts.Load() != 2 {
		t.Errorf("unseekable put: %v, %d uploads, want 2", err, store.puts.Load())
	}
}
