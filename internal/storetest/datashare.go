package storetest

import (
	"context"
	"testing"

	"github.com/hangar-ml/hangar"
)

// dataOwner is the optional store method that creates a data version and
// gives its workspace the blobs of its files in the same transaction
// (sqlstore.DataService implements it; httpapi shares versions and
// snapshots datastores with it).
type dataOwner interface {
	CreateDataVersionOwning(ctx context.Context, workspace string, a *hangar.DataAsset, blobs []hangar.BlobInfo) (*hangar.DataAsset, error)
}

// testDataOwning: a version created with its files' blobs gives the
// workspace those blobs and its manifest; a refused version (it exists)
// gives none of them.
func testDataOwning(t *testing.T, s *Store) {
	owner, ok := s.Data.(dataOwner)
	if !ok {
		t.Skip("the data service has no CreateDataVersionOwning")
	}
	ctx := actorCtx(t)
	ws := hangar.DefaultWorkspace
	files := []hangar.BlobInfo{{Digest: dataDigest('f'), Size: 10}, {Digest: dataDigest('g'), Size: 20}}
	a := uploaded("owned", "1", 'm')
	if _, err := owner.CreateDataVersionOwning(ctx, ws, a, files); err != nil {
		t.Fatal(err)
	}
	for _, b := range append([]hangar.BlobInfo{a.Manifest}, files...) {
		if got, err := s.Blobs.WorkspaceBlob(ctx, ws, b.Digest); err != nil || got.Size != b.Size {
			t.Errorf("WorkspaceBlob(%s) = %v, %v; want size %d", b.Digest, got, err, b.Size)
		}
	}
	other := []hangar.BlobInfo{{Digest: dataDigest('h'), Size: 5}}
	if _, err := owner.CreateDataVersionOwning(ctx, ws, uploaded("owned", "1", 'n'), other); !hangar.IsCode(err, hangar.ECONFLICT) {
		t.Fatalf("the same version again: got %v, want ECONFLICT", err)
	}
	for _, d := range []hangar.Digest{dataDigest('h'), dataDigest('n')} {
		if _, err := s.Blobs.WorkspaceBlob(ctx, ws, d); !hangar.IsCode(err, hangar.ENOTFOUND) {
			t.Errorf("after a refused version, WorkspaceBlob(%s): got %v, want ENOTFOUND", d, err)
		}
	}
	bad := []hangar.BlobInfo{{Digest: "sha256:nothex", Size: 1}}
	if _, err := owner.CreateDataVersionOwning(ctx, ws, uploaded("owned", "2", 'o'), bad); !hangar.IsCode(err, hangar.EINVALID) {
		t.Errorf("a bad blob digest: got %v, want EINVALID", err)
	}
}
