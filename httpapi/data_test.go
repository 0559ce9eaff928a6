package httpapi_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/artifact"
)

// TestDataVersionContentBelongsToItsWorkspace: a version is created only
// from a manifest the workspace owns whose files it owns too, so that a
// version cannot claim another workspace's content; the server, not the
// client, sets sizes and counts. On both metadata backends.
func TestDataVersionContentBelongsToItsWorkspace(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { testDataVersionContent(t, b.dsn(t)) })
	}
}

func testDataVersionContent(t *testing.T, dsn string) {
	e := newEnvOn(t, dsn, nil)
	ctx := t.Context()
	e.createWorkspace("ws-a")
	e.createWorkspace("ws-b")
	bOwner := e.client("b-owner", hangar.RoleOwner, "ws-b")
	files := fstest.MapFS{"t.csv": {Data: []byte("x,y\n1,a\n2,b\n3,a\n")}, "notes.txt": {Data: []byte("n")}}

	infoA, _, err := artifact.UploadDir(ctx, e.admin.BlobStore("ws-a"), files, artifact.UploadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		ws   string
		path string
		code string
	}{
		{"another workspace's manifest", "ws-b", string(infoA.Digest), hangar.ENOTFOUND},
		{"not a digest", "ws-b", "data/t.csv", hangar.EINVALID},
		{"a datastore that does not exist", "ws-b", "azureml://datastores/ghost/paths/x", hangar.ENOTFOUND},
		{"a bad datastore URI", "ws-b", "azureml://datastores/ghost/x", hangar.EINVALID},
	}
	for _, tt := range tests {
		_, err := bOwner.CreateDataVersion(ctx, tt.ws, &hangar.DataAsset{Name: "claim", Type: hangar.DataURIFolder, Path: tt.path})
		if got := hangar.ErrorCode(err); got != tt.code {
			t.Errorf("%s: got %v (%s), want %s", tt.name, err, got, tt.code)
		}
	}

	// A manifest uploaded to ws-b that lists ws-a's files: ws-b owns the
	// manifest, not the files.
	m, err := artifact.ReadManifest(ctx, e.api.Blobs, infoA.Digest)
	if err != nil {
		t.Fatal(err)
	}
	data, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	forged, err := bOwner.PutBlob(ctx, "ws-b", bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	_, err = bOwner.CreateDataVersion(ctx, "ws-b", &hangar.DataAsset{Name: "claim", Type: hangar.DataURIFolder, Path: string(forged.Digest)})
	if !hangar.IsCode(err, hangar.ENOTFOUND) {
		t.Errorf("a manifest of another workspace's files: got %v, want ENOTFOUND", err)
	}
	page, err := bOwner.ListDataVersions(ctx, "ws-b", "claim", true, hangar.ListOptions{})
	if err != nil || len(page.Items) != 0 {
		t.Errorf("after refusals ws-b has versions %v (%v), want none", page, err)
	}

	// Its own upload works; the server computes sizes and the profile.
	a, err := e.admin.CreateDataVersion(ctx, "ws-a", &hangar.DataAsset{Name: "t", Type: hangar.DataURIFolder, Path: string(infoA.Digest), Size: 1})
	if err != nil {
		t.Fatal(err)
	}
	if a.Version != "1" || a.Size != int64(len("x,y\n1,a\n2,b\n3,a\n")+1) || a.FileCount != 2 || a.Manifest != infoA {
		t.Errorf("created %+v: want version 1, size 17, 2 files, manifest %v", a, infoA)
	}
	if a.Profile == "" || !bytes.Contains([]byte(a.Profile), []byte(`"rows":3`)) {
		t.Errorf("profile %q: want the profile of t.csv's 3 rows", a.Profile)
	}
	got, err := e.admin.DataVersion(ctx, "ws-a", "t", "@latest")
	if err != nil || got.Version != "1" {
		t.Errorf("DataVersion(@latest) = %v, %v; want version 1", got, err)
	}
}

// TestShareDataVersion: sharing takes data/read and artifacts/read on the
// source and data/write on the target; the copy has the same content hash
// and its workspace can read every file of it.
func TestShareDataVersion(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	e.createWorkspace("src")
	e.createWorkspace("dst")
	files := fstest.MapFS{"a.txt": {Data: []byte("a")}, "b/c.txt": {Data: []byte("c")}}
	info, _, err := artifact.UploadDir(ctx, e.admin.BlobStore("src"), files, artifact.UploadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.admin.CreateDataVersion(ctx, "src", &hangar.DataAsset{Name: "d", Version: "1", Type: hangar.DataURIFolder, Path: string(info.Digest)}); err != nil {
		t.Fatal(err)
	}

	// Reader on src (data/read, artifacts/read), nothing on dst.
	srcReader := e.client("src-reader", hangar.RoleReader, "src")
	_, err = srcReader.ShareDataVersion(ctx, "src", "d", "1", "dst", "", "")
	if !hangar.IsCode(err, hangar.EFORBIDDEN) {
		t.Errorf("share without data/write on the target: got %v, want EFORBIDDEN", err)
	}
	// Owner of dst only: no read on src.
	dstOwner := e.client("dst-owner", hangar.RoleOwner, "dst")
	_, err = dstOwner.ShareDataVersion(ctx, "src", "d", "1", "dst", "", "")
	if !hangar.IsCode(err, hangar.EFORBIDDEN) {
		t.Errorf("share without read on the source: got %v, want EFORBIDDEN", err)
	}
	if _, err := e.admin.DataVersion(ctx, "dst", "d", "1"); !hangar.IsCode(err, hangar.ENOTFOUND) {
		t.Fatalf("after refused shares dst has d:1 (%v)", err)
	}

	out, err := e.admin.ShareDataVersion(ctx, "src", "d", "1", "dst", "shared", "")
	if err != nil {
		t.Fatal(err)
	}
	if out.Workspace != "dst" || out.Name != "shared" || out.Version != "1" || out.Manifest != info || out.Path != string(info.Digest) {
		t.Errorf("shared version %+v: want dst/shared:1 with manifest %v", out, info)
	}
	audited := false
	for _, ev := range e.events() {
		if ev.Action == hangar.ActDataWrite && ev.Target == "data/shared/versions/1" && ev.Workspace == "dst" && ev.Actor == "admin" {
			audited = true
		}
	}
	if !audited {
		t.Error("no data/write event on data/shared/versions/1 in dst by admin: the share is not audited")
	}
	dir := filepath.Join(t.TempDir(), "got")
	if err := artifact.GetDir(ctx, dstOwner.BlobStore("dst"), out.Manifest.Digest, dir); err != nil {
		t.Fatalf("dst reads the shared files: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "b", "c.txt")); err != nil || string(b) != "c" {
		t.Errorf("b/c.txt = %q, %v; want c", b, err)
	}
	if _, err := e.admin.ShareDataVersion(ctx, "src", "d", "1", "dst", "shared", ""); !hangar.IsCode(err, hangar.ECONFLICT) {
		t.Errorf("sharing onto an existing version: got %v, want ECONFLICT", err)
	}
}

// TestLocalDatastoreTakesServerWideRights: a workspace's Owner cannot
// point the server at a folder of its host; a server-wide Owner can.
func TestLocalDatastoreTakesServerWideRights(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	e.createWorkspace("wsx")
	wsOwner := e.client("ws-owner", hangar.RoleOwner, "wsx")
	d := &hangar.Datastore{Name: "etc", Type: hangar.DatastoreLocal, Root: t.TempDir()}
	if err := wsOwner.CreateDatastore(ctx, "wsx", d); !hangar.IsCode(err, hangar.EFORBIDDEN) {
		t.Errorf("workspace Owner creates a local datastore: got %v, want EFORBIDDEN", err)
	}
	if err := e.admin.CreateDatastore(ctx, "wsx", d); err != nil {
		t.Fatalf("server Owner creates a local datastore: %v", err)
	}
	if got, err := wsOwner.Datastore(ctx, "wsx", "etc"); err != nil || got.Root != d.Root {
		t.Errorf("Datastore = %+v, %v; want root %s", got, err, d.Root)
	}
	if err := wsOwner.DeleteDatastore(ctx, "wsx", "etc"); err != nil {
		t.Errorf("workspace Owner deletes it: %v", err)
	}
}
