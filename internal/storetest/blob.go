package storetest

import (
	"strings"
	"testing"

	"github.com/hangar-ml/hangar"
)

// testBlobs: a workspace reads only the blobs recorded for it, the record
// and its audit event commit together, and a deleted workspace's blobs do
// not pass to a workspace re-created under its name.
func testBlobs(t *testing.T, open func(t *testing.T) *Store) {
	digest := func(c string) hangar.Digest { return hangar.Digest("sha256:" + strings.Repeat(c, 64)) }
	d1, d2 := digest("a"), digest("b")

	t.Run("Ownership", func(t *testing.T) {
		s := open(t)
		ctx := actorCtx(t)
		for _, name := range []string{"team-a", "team-b"} {
			if err := s.Workspaces.CreateWorkspace(ctx, &hangar.Workspace{Name: name}); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Blobs.AddBlob(ctx, "team-a", hangar.BlobInfo{Digest: d1, Size: 42}); err != nil {
			t.Fatalf("add: %v", err)
		}
		e := lastEvent(t, s)
		if e.Action != hangar.ActArtifactWrite || e.Target != "blobs/"+string(d1) || e.Workspace != "team-a" ||
			e.Actor != "alice" || e.RequestID != requestID(t) {
			t.Errorf("event of add: got %+v, want artifacts/write on blobs/%s in team-a by alice", e, d1)
		}
		if got, err := s.Blobs.WorkspaceBlob(ctx, "team-a", d1); err != nil || got != (hangar.BlobInfo{Digest: d1, Size: 42}) {
			t.Errorf("owner's blob: got %+v, %v; want %s of 42 bytes", got, err, d1)
		}

		// Another workspace, a workspace that does not exist and a digest
		// nobody uploaded: one answer.
		want := hangar.ErrorMessage(hangar.BlobNotFound("team-b", d1))
		_, err := s.Blobs.WorkspaceBlob(ctx, "team-b", d1)
		wantCode(t, "another workspace's blob", err, hangar.ENOTFOUND)
		if hangar.ErrorMessage(err) != want {
			t.Errorf("another workspace's blob: message %q, want %q", hangar.ErrorMessage(err), want)
		}
		_, err = s.Blobs.WorkspaceBlob(ctx, "team-b", d2)
		wantCode(t, "a blob nobody owns", err, hangar.ENOTFOUND)
		if got, want := hangar.ErrorMessage(err), hangar.ErrorMessage(hangar.BlobNotFound("team-b", d2)); got != want {
			t.Errorf("a blob nobody owns: message %q, want %q", got, want)
		}
		_, err = s.Blobs.WorkspaceBlob(ctx, "nowhere", d1)
		wantCode(t, "a workspace that does not exist", err, hangar.ENOTFOUND)

		// The same content in a second workspace, and again in the first:
		// each is an upload with its event; the first record stays.
		if err := s.Blobs.AddBlob(ctx, "team-b", hangar.BlobInfo{Digest: d1, Size: 42}); err != nil {
			t.Fatalf("add to team-b: %v", err)
		}
		n := len(allEvents(t, s))
		if err := s.Blobs.AddBlob(ctx, "team-a", hangar.BlobInfo{Digest: d1, Size: 42}); err != nil {
			t.Fatalf("add again: %v", err)
		}
		if got := len(allEvents(t, s)); got != n+1 {
			t.Errorf("adding a blob again appended %d events, want 1", got-n)
		}
		for _, ws := range []string{"team-a", "team-b"} {
			if _, err := s.Blobs.WorkspaceBlob(ctx, ws, d1); err != nil {
				t.Errorf("blob of %s: %v", ws, err)
			}
		}
		wantVerified(t, s, int64(n+1))
	})

	t.Run("Errors", func(t *testing.T) {
		s := open(t)
		ctx := actorCtx(t)
		n := len(allEvents(t, s))
		for _, tc := range []struct {
			name, workspace string
			info            hangar.BlobInfo
			code            string
		}{
			{"no such workspace", "nowhere", hangar.BlobInfo{Digest: d1, Size: 1}, hangar.ENOTFOUND},
			{"bad workspace name", "a\x00b", hangar.BlobInfo{Digest: d1, Size: 1}, hangar.EINVALID},
			{"bad digest", hangar.DefaultWorkspace, hangar.BlobInfo{Digest: "sha256:ABC", Size: 1}, hangar.EINVALID},
			{"upper-case digest", hangar.DefaultWorkspace, hangar.BlobInfo{Digest: hangar.Digest("sha256:" + strings.Repeat("A", 64)), Size: 1}, hangar.EINVALID},
			{"negative size", hangar.DefaultWorkspace, hangar.BlobInfo{Digest: d1, Size: -1}, hangar.EINVALID},
		} {
			t.Run(tc.name, func(t *testing.T) {
				wantCode(t, "add", s.Blobs.AddBlob(ctx, tc.workspace, tc.info), tc.code)
			})
		}
		_, err := s.Blobs.WorkspaceBlob(ctx, hangar.DefaultWorkspace, "md5:abc")
		wantCode(t, "look up a bad digest", err, hangar.EINVALID)
		_, err = s.Blobs.WorkspaceBlob(ctx, "a\xffb", d1)
		wantCode(t, "look up in a bad workspace name", err, hangar.EINVALID)
		wantVerified(t, s, int64(n))
	})

	t.Run("AuditedOrNotRecorded", func(t *testing.T) {
		s := open(t)
		ctx := actorCtx(t)
		// Move the chain head back one event, so that the next append
		// collides with the newest event and fails: the ownership written
		// before it in the same transaction must go too.
		if err := s.Exec(ctx, `UPDATE audit_head SET seq = seq - 1 WHERE id = 1`); err != nil {
			t.Fatal(err)
		}
		if err := s.Blobs.AddBlob(ctx, hangar.DefaultWorkspace, hangar.BlobInfo{Digest: d1, Size: 1}); err == nil {
			t.Fatal("add with a failing audit append succeeded")
		}
		if err := s.Exec(ctx, `UPDATE audit_head SET seq = seq + 1 WHERE id = 1`); err != nil {
			t.Fatal(err)
		}
		_, err := s.Blobs.WorkspaceBlob(ctx, hangar.DefaultWorkspace, d1)
		wantCode(t, "blob whose audit event failed", err, hangar.ENOTFOUND)
		wantVerified(t, s, 1)
	})

	t.Run("WorkspaceRecreated", func(t *testing.T) {
		s := open(t)
		ctx := actorCtx(t)
		if err := s.Workspaces.CreateWorkspace(ctx, &hangar.Workspace{Name: "phoenix"}); err != nil {
			t.Fatal(err)
		}
		if err := s.Blobs.AddBlob(ctx, "phoenix", hangar.BlobInfo{Digest: d1, Size: 7}); err != nil {
			t.Fatal(err)
		}
		if err := s.Workspaces.DeleteWorkspace(ctx, "phoenix"); err != nil {
			t.Fatal(err)
		}
		if err := s.Workspaces.CreateWorkspace(ctx, &hangar.Workspace{Name: "phoenix"}); err != nil {
			t.Fatal(err)
		}
		_, err := s.Blobs.WorkspaceBlob(ctx, "phoenix", d1)
		wantCode(t, "the deleted workspace's blob in the new one", err, hangar.ENOTFOUND)
	})
}
