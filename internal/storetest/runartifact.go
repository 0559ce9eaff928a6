package storetest

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/hangar-ml/hangar"
)

// testArtifacts: the artifact index names blobs by path per workspace,
// lists one directory level, deletes files and subtrees, keeps directories
// and files apart, gives the workspace the blob and audits every write in
// the same transaction; another workspace sees none of it.
func testArtifacts(t *testing.T, open func(t *testing.T) *Store) {
	digest := func(c string) hangar.Digest { return hangar.Digest("sha256:" + strings.Repeat(c, 64)) }
	d1, d2, d3 := digest("1"), digest("2"), digest("3")
	run := "1/0123456789abcdef0123456789abcdef/artifacts"

	// entries renders a listing as "path:size" for files and "path/" for
	// directories.
	entries := func(es []hangar.ArtifactEntry) []string {
		var out []string
		for _, e := range es {
			if e.IsDir {
				out = append(out, e.Path+"/")
			} else {
				out = append(out, fmt.Sprintf("%s:%d", e.Path, e.Size))
			}
		}
		return out
	}
	list := func(t *testing.T, s *Store, ws, dir string, want ...string) {
		t.Helper()
		got, err := s.Artifacts.ListArtifacts(actorCtx(t), ws, dir)
		if err != nil {
			t.Fatalf("list %q in %s: %v", dir, ws, err)
		}
		if !slices.Equal(entries(got), want) {
			t.Errorf("list %q in %s: got %q, want %q", dir, ws, entries(got), want)
		}
	}
	put := func(t *testing.T, s *Store, ws, path string, d hangar.Digest, size int64) {
		t.Helper()
		if err := s.Artifacts.PutArtifact(actorCtx(t), ws, path, hangar.BlobInfo{Digest: d, Size: size}); err != nil {
			t.Fatalf("put %q in %s: %v", path, ws, err)
		}
	}
	newWorkspaces := func(t *testing.T, s *Store, names ...string) {
		t.Helper()
		for _, name := range names {
			if err := s.Workspaces.CreateWorkspace(actorCtx(t), &hangar.Workspace{Name: name}); err != nil {
				t.Fatal(err)
			}
		}
	}

	t.Run("PutGetList", func(t *testing.T) {
		s := open(t)
		ctx := actorCtx(t)
		n := len(allEvents(t, s))
		put(t, s, "default", run+"/model/MLmodel", d1, 10)
		e := lastEvent(t, s)
		if e.Action != hangar.ActArtifactWrite || e.Target != "artifacts/"+run+"/model/MLmodel" || e.Workspace != "default" ||
			e.Actor != "alice" || e.RequestID != requestID(t) {
			t.Errorf("event of put: got %+v, want artifacts/write on artifacts/%s/model/MLmodel in default by alice", e, run)
		}
		if got := len(allEvents(t, s)); got != n+1 {
			t.Errorf("a put appended %d events, want 1", got-n)
		}
		put(t, s, "default", run+"/model/model.pkl", d2, 20)
		put(t, s, "default", run+"/notes.txt", d3, 3)

		got, err := s.Artifacts.Artifact(ctx, "default", run+"/model/model.pkl")
		if err != nil || got.Digest != d2 || got.Size != 20 || got.IsDir || got.Path != run+"/model/model.pkl" || got.CreatedAt.IsZero() {
			t.Errorf("artifact: got %+v, %v; want %s of 20 bytes with a time", got, err, d2)
		}
		list(t, s, "default", "", "1/")
		list(t, s, "default", "1", "1/0123456789abcdef0123456789abcdef/")
		list(t, s, "default", run, run+"/model/", run+"/notes.txt:3")
		list(t, s, "default", run+"/model", run+"/model/MLmodel:10", run+"/model/model.pkl:20")
		// A file and a path with nothing under it list nothing.
		list(t, s, "default", run+"/notes.txt")
		list(t, s, "default", "nothing/here")

		// The put gave the workspace the blob.
		if b, err := s.Blobs.WorkspaceBlob(ctx, "default", d1); err != nil || b.Size != 10 {
			t.Errorf("blob of a put artifact: got %+v, %v; want it owned with 10 bytes", b, err)
		}

		// A directory is not a file; a missing path neither.
		for _, p := range []string{run + "/model", run + "/missing.txt", "1"} {
			_, err := s.Artifacts.Artifact(ctx, "default", p)
			wantCode(t, "artifact "+p, err, hangar.ENOTFOUND)
		}

		// Putting the path again replaces the file.
		put(t, s, "default", run+"/notes.txt", d1, 10)
		if got, err := s.Artifacts.Artifact(ctx, "default", run+"/notes.txt"); err != nil || got.Digest != d1 || got.Size != 10 {
			t.Errorf("replaced artifact: got %+v, %v; want %s of 10 bytes", got, err, d1)
		}
		list(t, s, "default", run, run+"/model/", run+"/notes.txt:10")
		wantVerified(t, s, int64(len(allEvents(t, s))))
	})

	t.Run("FilesAndDirectories", func(t *testing.T) {
		s := open(t)
		ctx := actorCtx(t)
		put(t, s, "default", "a/b", d1, 1)
		n := len(allEvents(t, s))
		// A file under a file, and a file where a directory is.
		err := s.Artifacts.PutArtifact(ctx, "default", "a/b/c", hangar.BlobInfo{Digest: d2, Size: 2})
		wantCode(t, "a file under a file", err, hangar.ECONFLICT)
		err = s.Artifacts.PutArtifact(ctx, "default", "a", hangar.BlobInfo{Digest: d2, Size: 2})
		wantCode(t, "a file where a directory is", err, hangar.ECONFLICT)
		if got := len(allEvents(t, s)); got != n {
			t.Errorf("refused puts appended %d events, want none", got-n)
		}
		list(t, s, "default", "", "a/")
		list(t, s, "default", "a", "a/b:1")
		// Nothing of the refused puts is left: not the blob either.
		if _, err := s.Blobs.WorkspaceBlob(ctx, "default", d2); !hangar.IsCode(err, hangar.ENOTFOUND) {
			t.Errorf("blob of a refused put: got %v, want ENOTFOUND", err)
		}
	})

	t.Run("Delete", func(t *testing.T) {
		s := open(t)
		ctx := actorCtx(t)
		put(t, s, "default", "r/a/x.txt", d1, 1)
		put(t, s, "default", "r/a/sub/y.txt", d2, 2)
		put(t, s, "default", "r/a/sub/deeper/z.txt", d3, 3)
		put(t, s, "default", "r/a0", d3, 3) // sorts right after "r/a/…": not under r/a
		put(t, s, "default", "r/a.txt", d3, 3)
		put(t, s, "default", "r/b/w.txt", d1, 1)

		// A file: its now-empty directory goes too, the others stay.
		nDel, err := s.Artifacts.DeleteArtifacts(ctx, "default", "r/b/w.txt")
		if err != nil || nDel != 1 {
			t.Fatalf("delete a file: got %d, %v; want 1", nDel, err)
		}
		e := lastEvent(t, s)
		if e.Action != hangar.ActArtifactWrite || e.Target != "artifacts/r/b/w.txt" || e.Workspace != "default" {
			t.Errorf("event of delete: got %+v, want artifacts/write on artifacts/r/b/w.txt", e)
		}
		list(t, s, "default", "r", "r/a/", "r/a.txt:3", "r/a0:3")

		// A directory and everything under it, and nothing beside it.
		nDel, err = s.Artifacts.DeleteArtifacts(ctx, "default", "r/a")
		if err != nil || nDel != 3 {
			t.Fatalf("delete a directory: got %d, %v; want 3 files", nDel, err)
		}
		list(t, s, "default", "r", "r/a.txt:3", "r/a0:3")
		list(t, s, "default", "r/a")
		list(t, s, "default", "r/a/sub")
		if _, err := s.Artifacts.Artifact(ctx, "default", "r/a/sub/deeper/z.txt"); !hangar.IsCode(err, hangar.ENOTFOUND) {
			t.Errorf("a deleted directory's file: got %v, want ENOTFOUND", err)
		}
		// The content stays owned: other paths may name it.
		if _, err := s.Blobs.WorkspaceBlob(ctx, "default", d2); err != nil {
			t.Errorf("blob after its path was deleted: %v", err)
		}

		// Deleting what is not there deletes nothing and records nothing.
		n := len(allEvents(t, s))
		if nDel, err := s.Artifacts.DeleteArtifacts(ctx, "default", "r/a"); err != nil || nDel != 0 {
			t.Errorf("delete again: got %d, %v; want 0", nDel, err)
		}
		if got := len(allEvents(t, s)); got != n {
			t.Errorf("deleting nothing appended %d events", got-n)
		}
		// The last files: the root is empty again.
		for _, p := range []string{"r/a.txt", "r/a0"} {
			if _, err := s.Artifacts.DeleteArtifacts(ctx, "default", p); err != nil {
				t.Fatal(err)
			}
		}
		list(t, s, "default", "")
		wantVerified(t, s, int64(len(allEvents(t, s))))
	})

	t.Run("Workspaces", func(t *testing.T) {
		s := open(t)
		ctx := actorCtx(t)
		newWorkspaces(t, s, "team-a", "team-b")
		put(t, s, "team-a", "x/secret.txt", d1, 5)

		// Invisible from another workspace: not listed, not found, not
		// deleted, and its blob not owned.
		list(t, s, "team-b", "")
		list(t, s, "team-b", "x")
		if _, err := s.Artifacts.Artifact(ctx, "team-b", "x/secret.txt"); !hangar.IsCode(err, hangar.ENOTFOUND) {
			t.Errorf("another workspace's artifact: got %v, want ENOTFOUND", err)
		}
		if _, err := s.Blobs.WorkspaceBlob(ctx, "team-b", d1); !hangar.IsCode(err, hangar.ENOTFOUND) {
			t.Errorf("another workspace's artifact blob: got %v, want ENOTFOUND", err)
		}
		if nDel, err := s.Artifacts.DeleteArtifacts(ctx, "team-b", "x"); err != nil || nDel != 0 {
			t.Errorf("delete in another workspace: got %d, %v; want 0", nDel, err)
		}
		list(t, s, "team-a", "x", "x/secret.txt:5")

		// The same digest in both: each owns it, each path is its own.
		put(t, s, "team-b", "y/copy.txt", d1, 5)
		for _, ws := range []string{"team-a", "team-b"} {
			if _, err := s.Blobs.WorkspaceBlob(ctx, ws, d1); err != nil {
				t.Errorf("blob of %s: %v", ws, err)
			}
		}
		if _, err := s.Artifacts.DeleteArtifacts(ctx, "team-a", "x"); err != nil {
			t.Fatal(err)
		}
		list(t, s, "team-b", "y", "y/copy.txt:5")

		// A workspace that does not exist: nothing to read, nothing to write.
		err := s.Artifacts.PutArtifact(ctx, "nowhere", "a", hangar.BlobInfo{Digest: d1, Size: 1})
		wantCode(t, "put in a workspace that does not exist", err, hangar.ENOTFOUND)
		list(t, s, "nowhere", "")

		// A deleted workspace's paths do not pass to one re-created under its name.
		if err := s.Workspaces.DeleteWorkspace(ctx, "team-b"); err != nil {
			t.Fatal(err)
		}
		newWorkspaces(t, s, "team-b")
		list(t, s, "team-b", "")
		list(t, s, "team-b", "y")
	})

	t.Run("Errors", func(t *testing.T) {
		s := open(t)
		ctx := actorCtx(t)
		n := len(allEvents(t, s))
		good := hangar.BlobInfo{Digest: d1, Size: 1}
		for _, tc := range []struct {
			name, workspace, path string
			info                  hangar.BlobInfo
		}{
			{"root", "default", "", good},
			{"dot-dot", "default", "a/../b", good},
			{"absolute", "default", "/a", good},
			{"backslash", "default", `a\b`, good},
			{"encoded dot-dot", "default", "%2e%2e/b", good},
			{"not clean", "default", "a//b", good},
			{"trailing slash", "default", "a/", good},
			{"NUL", "default", "a\x00", good},
			{"bad workspace name", "Bad Name", "a", good},
			{"bad digest", "default", "a", hangar.BlobInfo{Digest: "sha256:xyz", Size: 1}},
			{"negative size", "default", "a", hangar.BlobInfo{Digest: d1, Size: -1}},
		} {
			err := s.Artifacts.PutArtifact(ctx, tc.workspace, tc.path, tc.info)
			wantCode(t, "put: "+tc.name, err, hangar.EINVALID)
		}
		for _, p := range []string{"", "a/../b", "a//b", `a\b`, "%252e%252e"} {
			_, err := s.Artifacts.Artifact(ctx, "default", p)
			wantCode(t, fmt.Sprintf("artifact %q", p), err, hangar.EINVALID)
			_, err = s.Artifacts.DeleteArtifacts(ctx, "default", p)
			wantCode(t, fmt.Sprintf("delete %q", p), err, hangar.EINVALID)
		}
		for _, p := range []string{"a/../b", "a//b", "/", `a\b`} {
			_, err := s.Artifacts.ListArtifacts(ctx, "default", p)
			wantCode(t, fmt.Sprintf("list %q", p), err, hangar.EINVALID)
		}
		if got := len(allEvents(t, s)); got != n {
			t.Errorf("refused calls appended %d events", got-n)
		}
	})

	t.Run("ConcurrentPuts", func(t *testing.T) {
		// Writers racing on one directory tree: every file lands, every
		// directory is made once, the chain stays whole.
		s := open(t)
		var wg sync.WaitGroup
		errs := make(chan error, 16)
		for i := range 16 {
			wg.Go(func() {
				p := fmt.Sprintf("run/artifacts/deep/dir/f%02d", i)
				errs <- s.Artifacts.PutArtifact(actorCtx(t), "default", p, hangar.BlobInfo{Digest: d1, Size: int64(i)})
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("concurrent put: %v", err)
			}
		}
		got, err := s.Artifacts.ListArtifacts(actorCtx(t), "default", "run/artifacts/deep/dir")
		if err != nil || len(got) != 16 {
			t.Fatalf("list after concurrent puts: got %d entries, %v; want 16", len(got), err)
		}
		list(t, s, "default", "run/artifacts/deep", "run/artifacts/deep/dir/")
		wantVerified(t, s, int64(len(allEvents(t, s))))
	})
}
