package httpapi_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/artifact"
	"github.com/hangar-ml/hangar/httpapi"
)

// TestBlobsBelongToWorkspaces: a blob uploaded to one workspace is not
// served in another, and GET and HEAD there answer exactly as for content
// stored nowhere, so they cannot tell what exists on the server. On both
// metadata backends.
func TestBlobsBelongToWorkspaces(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { testBlobsBelongToWorkspaces(t, b.dsn(t)) })
	}
}

func testBlobsBelongToWorkspaces(t *testing.T, dsn string) {
	e := newEnvOn(t, dsn, nil)
	ctx := t.Context()
	e.createWorkspace("ws-a")
	e.createWorkspace("ws-b")
	// Owner of ws-b only: it may read every blob of ws-b.
	bOwner := e.token("b-owner", hangar.RoleOwner, "ws-b")

	content := []byte("only for workspace a " + hangar.NewID())
	info, err := e.admin.PutBlob(ctx, "ws-a", bytes.NewReader(content))
	if err != nil {
		t.Fatalf("PutBlob(ws-a): %v", err)
	}
	sum := sha256.Sum256([]byte("stored nowhere"))
	absent := hangar.Digest("sha256:" + hex.EncodeToString(sum[:]))
	blobPath := func(ws string, d hangar.Digest) string { return "/api/v1/workspaces/" + ws + "/blobs/" + string(d) }

	if r := e.do(http.MethodGet, blobPath("ws-a", info.Digest), e.adminToken(), ""); r.status != http.StatusOK || !bytes.Equal(r.body, content) {
		t.Fatalf("GET in its own workspace: status %d body %q", r.status, r.body)
	}
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		foreign := e.do(method, blobPath("ws-b", info.Digest), bOwner, "")
		nowhere := e.do(method, blobPath("ws-b", absent), bOwner, "")
		if foreign.status != http.StatusNotFound || nowhere.status != http.StatusNotFound {
			t.Errorf("%s in ws-b: status %d for ws-a's blob, %d for content stored nowhere; want 404 for both", method, foreign.status, nowhere.status)
		}
		if got, want := headerShape(foreign.header), headerShape(nowhere.header); got != want {
			t.Errorf("%s in ws-b: headers for ws-a's blob\n%s\ndiffer from those for content stored nowhere\n%s", method, got, want)
		}
		if method == http.MethodHead {
			continue
		}
		code, msg := foreign.envelope(t)
		wantMsg := "blob " + string(info.Digest) + " not found in workspace ws-b"
		if code != hangar.ENOTFOUND || msg != wantMsg {
			t.Errorf("GET ws-a's blob in ws-b: %s %q, want not_found %q", code, msg, wantMsg)
		}
		if _, nowhereMsg := nowhere.envelope(t); strings.ReplaceAll(nowhereMsg, string(absent), string(info.Digest)) != msg {
			t.Errorf("GET in ws-b: message %q for ws-a's blob, %q for content stored nowhere; want the same but for the digest", msg, nowhereMsg)
		}
		if strings.Contains(string(foreign.body), string(content)) {
			t.Errorf("GET in ws-b leaks the content")
		}
	}
	if _, err := e.admin.BlobStore("ws-b").Stat(ctx, info.Digest); !hangar.IsCode(err, hangar.ENOTFOUND) {
		t.Errorf("client Stat in ws-b: %v, want not_found", err)
	}

	// Uploading the same content to ws-b makes it ws-b's too, and audits
	// that upload in ws-b.
	if _, err := httpapi.NewClient(e.srv.URL, bOwner).PutBlob(ctx, "ws-b", bytes.NewReader(content)); err != nil {
		t.Fatalf("PutBlob(ws-b): %v", err)
	}
	if ev := e.events(); ev[len(ev)-1].Action != hangar.ActArtifactWrite || ev[len(ev)-1].Workspace != "ws-b" || ev[len(ev)-1].Actor != "b-owner" {
		t.Errorf("last event %+v, want b-owner's upload in ws-b", ev[len(ev)-1])
	}
	if r := e.do(http.MethodGet, blobPath("ws-b", info.Digest), bOwner, ""); r.status != http.StatusOK || !bytes.Equal(r.body, content) {
		t.Errorf("GET in ws-b after uploading there: status %d", r.status)
	}

	// A folder through the client's BlobStore: read back where it was put,
	// not elsewhere.
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "model.json"), []byte(`{"trees":[]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	dir, _, err := artifact.PutDir(ctx, e.admin.BlobStore("ws-a"), os.DirFS(src))
	if err != nil {
		t.Fatalf("PutDir(ws-a): %v", err)
	}
	if err := artifact.GetDir(ctx, e.admin.BlobStore("ws-a"), dir.Digest, filepath.Join(t.TempDir(), "a")); err != nil {
		t.Errorf("GetDir(ws-a): %v", err)
	}
	if err := artifact.GetDir(ctx, e.admin.BlobStore("ws-b"), dir.Digest, filepath.Join(t.TempDir(), "b")); !hangar.IsCode(err, hangar.ENOTFOUND) {
		t.Errorf("GetDir(ws-b) of ws-a's folder: %v, want not_found", err)
	}

	// A workspace deleted and created again owns nothing of the old one.
	if err := e.admin.DeleteWorkspace(ctx, "ws-a"); err != nil {
		t.Fatal(err)
	}
	e.createWorkspace("ws-a")
	if r := e.do(http.MethodGet, blobPath("ws-a", info.Digest), e.adminToken(), ""); r.status != http.StatusNotFound {
		t.Errorf("GET in a re-created ws-a: status %d, want 404", r.status)
	}
}

// headerShape renders the headers of an answer but those that differ
// between any two answers (date, request id).
func headerShape(h http.Header) string {
	h = h.Clone()
	h.Del("Date")
	h.Del("X-Request-Id")
	var b strings.Builder
	h.Write(&b)
	return b.String()
}
