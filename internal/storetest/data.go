package storetest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/hangar-ml/hangar"
)

// testData: datastores and data asset versions — create, get, @latest,
// lists, archive and restore, numbering (concurrent creators too),
// immutable versions, the audit event of each write, the manifest blob a
// version owns, pages, bad input, and workspaces kept apart.
func testData(t *testing.T, open func(t *testing.T) *Store) {
	t.Run("Lifecycle", func(t *testing.T) { testDataLifecycle(t, open(t)) })
	t.Run("Numbering", func(t *testing.T) { testDataNumbering(t, open(t)) })
	t.Run("ConcurrentNumbering", func(t *testing.T) { testDataConcurrentNumbering(t, open(t)) })
	t.Run("Datastores", func(t *testing.T) { testDatastores(t, open(t)) })
	t.Run("Pages", func(t *testing.T) { testDataPages(t, open(t)) })
	t.Run("BadInput", func(t *testing.T) { testDataBadInput(t, open(t)) })
	t.Run("Workspaces", func(t *testing.T) { testDataWorkspaces(t, open(t)) })
	t.Run("Owning", func(t *testing.T) { testDataOwning(t, open(t)) })
}

// dataDigest is a made-up manifest digest: the digest of c, one digest
// per byte.
func dataDigest(c byte) hangar.Digest {
	sum := sha256.Sum256([]byte{c})
	return hangar.Digest("sha256:" + hex.EncodeToString(sum[:]))
}

// uploaded is an uploaded uri_folder version of name: its path is its
// manifest's digest.
func uploaded(name, version string, c byte) *hangar.DataAsset {
	d := dataDigest(c)
	return &hangar.DataAsset{Name: name, Version: version, Type: hangar.DataURIFolder, Path: string(d),
		Manifest: hangar.BlobInfo{Digest: d, Size: 120}, Size: 4096, FileCount: 3}
}

// newDataVersion creates a in ws, failing the test on error.
func newDataVersion(t *testing.T, s *Store, ws string, a *hangar.DataAsset) *hangar.DataAsset {
	t.Helper()
	got, err := s.Data.CreateDataVersion(actorCtx(t), ws, a)
	if err != nil {
		t.Fatalf("create data %s:%s in %s: %v", a.Name, a.Version, ws, err)
	}
	return got
}

// versionsOf returns the versions a list page holds, in order.
func versionsOf(p *hangar.Page[*hangar.DataAsset]) []string {
	out := []string{}
	for _, a := range p.Items {
		out = append(out, a.Name+":"+a.Version)
	}
	return out
}

func testDataLifecycle(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	ws := hangar.DefaultWorkspace
	in := uploaded("iris", "1", 'a')
	in.Description, in.Tags, in.Profile = "the iris data", map[string]string{"k": "v"}, `{"rows":150}`
	got := newDataVersion(t, s, ws, in)
	wantEvent(t, s, "create", hangar.ActDataWrite, "data/iris/versions/1", ws)
	if got.Workspace != ws || got.CreatedBy != "alice" || got.CreatedAt.IsZero() || got.Archived {
		t.Errorf("created: got workspace %q, by %q at %v, archived %t; want %s, alice, a time, false", got.Workspace, got.CreatedBy, got.CreatedAt, got.Archived, ws)
	}
	read, err := s.Data.DataVersion(ctx, ws, "iris", "1")
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if fmt.Sprint(*read) != fmt.Sprint(*got) {
		t.Errorf("get: got %+v, want %+v", *read, *got)
	}
	if read.Profile != `{"rows":150}` || read.Tags["k"] != "v" || read.Manifest != in.Manifest || read.Size != 4096 || read.FileCount != 3 || read.Datastore() != hangar.DefaultDatastore {
		t.Errorf("get: got %+v, want the fields as created", *read)
	}
	// The version owns its manifest blob in its workspace.
	if b, err := s.Blobs.WorkspaceBlob(ctx, ws, in.Manifest.Digest); err != nil || b != in.Manifest {
		t.Errorf("manifest blob: got %+v, %v; want %+v", b, err, in.Manifest)
	}

	// Versions are immutable.
	again := uploaded("iris", "1", 'b')
	_, err = s.Data.CreateDataVersion(ctx, ws, again)
	wantCode(t, "create again", err, hangar.ECONFLICT)
	if msg := hangar.ErrorMessage(err); !strings.Contains(msg, "Data asset iris with version 1 already exists") {
		t.Errorf("create again: got message %q, want Azure's", msg)
	}
	if b, err := s.Blobs.WorkspaceBlob(ctx, ws, again.Manifest.Digest); err == nil {
		t.Errorf("the refused version's manifest blob: got %+v, want none (nothing of a failed create stays)", b)
	}
	wantEvent(t, s, "create again", hangar.ActDataWrite, "data/iris/versions/1", ws)

	newDataVersion(t, s, ws, uploaded("iris", "2", 'b'))
	newDataVersion(t, s, ws, uploaded("cars", "a", 'c'))
	latest, err := s.Data.LatestDataVersion(ctx, ws, "iris")
	if err != nil || latest.Version != "2" {
		t.Fatalf("latest: got %+v, %v; want version 2", latest, err)
	}

	// Archive version 2: @latest falls back to 1; lists hide it.
	n := len(allEvents(t, s))
	a, err := s.Data.SetDataVersionArchived(ctx, ws, "iris", "2", true)
	if err != nil || !a.Archived {
		t.Fatalf("archive: got %+v, %v; want archived", a, err)
	}
	wantEvent(t, s, "archive", hangar.ActDataWrite, "data/iris/versions/2", ws)
	if _, err := s.Data.SetDataVersionArchived(ctx, ws, "iris", "2", true); err != nil {
		t.Fatalf("archive again: %v", err)
	}
	if got := len(allEvents(t, s)); got != n+1 {
		t.Errorf("archive twice: got %d new events, want 1 (the second changes nothing)", got-n)
	}
	if latest, err := s.Data.LatestDataVersion(ctx, ws, "iris"); err != nil || latest.Version != "1" {
		t.Errorf("latest with 2 archived: got %+v, %v; want version 1", latest, err)
	}
	if a, err := s.Data.DataVersion(ctx, ws, "iris", "2"); err != nil || !a.Archived {
		t.Errorf("get archived: got %+v, %v; want it, archived", a, err)
	}
	vs, err := s.Data.ListDataVersions(ctx, ws, "iris", false, hangar.ListOptions{})
	if err != nil || !slices.Equal(versionsOf(vs), []string{"iris:1"}) {
		t.Errorf("versions: got %v, %v; want [iris:1]", versionsOf(vs), err)
	}
	vs, err = s.Data.ListDataVersions(ctx, ws, "iris", true, hangar.ListOptions{})
	if err != nil || !slices.Equal(versionsOf(vs), []string{"iris:2", "iris:1"}) {
		t.Errorf("versions with archived: got %v, %v; want [iris:2 iris:1], newest first", versionsOf(vs), err)
	}
	names, err := s.Data.ListData(ctx, ws, hangar.ListOptions{})
	if err != nil || !slices.Equal(versionsOf(names), []string{"cars:a", "iris:1"}) {
		t.Errorf("list: got %v, %v; want [cars:a iris:1]", versionsOf(names), err)
	}

	// Archive 1 too: no latest, the name leaves the list.
	if _, err := s.Data.SetDataVersionArchived(ctx, ws, "iris", "1", true); err != nil {
		t.Fatalf("archive 1: %v", err)
	}
	_, err = s.Data.LatestDataVersion(ctx, ws, "iris")
	wantCode(t, "latest, all archived", err, hangar.ENOTFOUND)
	names, err = s.Data.ListData(ctx, ws, hangar.ListOptions{})
	if err != nil || !slices.Equal(versionsOf(names), []string{"cars:a"}) {
		t.Errorf("list, iris all archived: got %v, %v; want [cars:a]", versionsOf(names), err)
	}

	// Restore 2.
	if a, err := s.Data.SetDataVersionArchived(ctx, ws, "iris", "2", false); err != nil || a.Archived {
		t.Fatalf("restore: got %+v, %v; want not archived", a, err)
	}
	wantEvent(t, s, "restore", hangar.ActDataWrite, "data/iris/versions/2", ws)
	if latest, err := s.Data.LatestDataVersion(ctx, ws, "iris"); err != nil || latest.Version != "2" {
		t.Errorf("latest after restore: got %+v, %v; want version 2", latest, err)
	}

	// What does not exist.
	_, err = s.Data.DataVersion(ctx, ws, "iris", "9")
	wantCode(t, "get missing version", err, hangar.ENOTFOUND)
	if msg := hangar.ErrorMessage(err); msg != "Data asset iris with version 9 not found." {
		t.Errorf("get missing version: got message %q", msg)
	}
	_, err = s.Data.SetDataVersionArchived(ctx, ws, "nope", "1", true)
	wantCode(t, "archive missing", err, hangar.ENOTFOUND)
	_, err = s.Data.LatestDataVersion(ctx, ws, "nope")
	wantCode(t, "latest of missing", err, hangar.ENOTFOUND)
	vs, err = s.Data.ListDataVersions(ctx, ws, "nope", true, hangar.ListOptions{})
	if err != nil || len(vs.Items) != 0 {
		t.Errorf("versions of missing: got %v, %v; want none", versionsOf(vs), err)
	}
	_, err = s.Data.CreateDataVersion(ctx, "nowhere", uploaded("x", "", 'a'))
	wantCode(t, "create in missing workspace", err, hangar.ENOTFOUND)
	wantVerified(t, s, int64(len(allEvents(t, s))))
}

func testDataNumbering(t *testing.T, s *Store) {
	ws := hangar.DefaultWorkspace
	var got []string
	for i, v := range []string{"", "", "v7", "", "10", "", "007", ""} {
		got = append(got, newDataVersion(t, s, ws, uploaded("n", v, byte('a'+i))).Version)
	}
	want := []string{"1", "2", "v7", "3", "10", "11", "007", "12"}
	if !slices.Equal(got, want) {
		t.Errorf("versions: got %v, want %v (the greatest number plus one; other versions ignored)", got, want)
	}
	// @latest is the newest version created, not the highest number.
	if latest, err := s.Data.LatestDataVersion(t.Context(), ws, "n"); err != nil || latest.Version != "12" {
		t.Errorf("latest: got %+v, %v; want 12", latest, err)
	}
	newDataVersion(t, s, ws, uploaded("n", "v8", 'y'))
	if latest, err := s.Data.LatestDataVersion(t.Context(), ws, "n"); err != nil || latest.Version != "v8" {
		t.Errorf("latest after v8: got %+v, %v; want v8 (created last)", latest, err)
	}
	if _, err := s.Data.SetDataVersionArchived(actorCtx(t), ws, "n", "v8", true); err != nil {
		t.Fatal(err)
	}
	// Another name counts from 1; archived versions still count.
	if _, err := s.Data.SetDataVersionArchived(actorCtx(t), ws, "n", "12", true); err != nil {
		t.Fatal(err)
	}
	if v := newDataVersion(t, s, ws, uploaded("n", "", 'z')).Version; v != "13" {
		t.Errorf("after archiving 12: got version %s, want 13", v)
	}
	if v := newDataVersion(t, s, ws, uploaded("m", "", 'z')).Version; v != "1" {
		t.Errorf("another name: got version %s, want 1", v)
	}
}

func testDataConcurrentNumbering(t *testing.T, s *Store) {
	const creators, each = 8, 5
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		got  []string
		errs []error
	)
	for c := range creators {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				a, err := s.Data.CreateDataVersion(actorCtx(t), hangar.DefaultWorkspace, uploaded("busy", "", byte('a'+(c*each+i)%26)))
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				} else {
					got = append(got, a.Version)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("concurrent creates: %d failed, first: %v", len(errs), errs[0])
	}
	var want []string
	for i := 1; i <= creators*each; i++ {
		want = append(want, fmt.Sprint(i))
	}
	if !slices.Equal(sorted(got), sorted(want)) {
		t.Errorf("concurrent creates: got versions %v, want 1 to %d once each", sorted(got), creators*each)
	}
	all, err := s.Data.ListDataVersions(t.Context(), hangar.DefaultWorkspace, "busy", true, hangar.ListOptions{MaxResults: hangar.MaxMaxResults})
	if err != nil || len(all.Items) != creators*each {
		t.Errorf("stored versions: got %d, %v; want %d", len(all.Items), err, creators*each)
	}
	wantVerified(t, s, int64(1+creators*each))
}

func testDatastores(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	ws := hangar.DefaultWorkspace
	def, err := s.Data.Datastore(ctx, ws, hangar.DefaultDatastore)
	if err != nil || def.Type != hangar.DatastoreArtifactStore || def.Workspace != ws || def.CreatedAt.IsZero() {
		t.Fatalf("default datastore: got %+v, %v; want the artifact store", def, err)
	}
	d := &hangar.Datastore{Name: "shared", Type: hangar.DatastoreLocal, Root: "/srv/data", Description: "NFS", Tags: map[string]string{"team": "a"}}
	if err := s.Data.CreateDatastore(ctx, ws, d); err != nil {
		t.Fatalf("create: %v", err)
	}
	wantEvent(t, s, "create datastore", hangar.ActDatastoreWrite, "datastores/shared", ws)
	if d.Workspace != ws || d.CreatedBy != "alice" || d.CreatedAt.IsZero() {
		t.Errorf("created: got %+v, want workspace, creator and time set", d)
	}
	got, err := s.Data.Datastore(ctx, ws, "shared")
	if err != nil || fmt.Sprint(*got) != fmt.Sprint(*d) {
		t.Errorf("get: got %+v, %v; want %+v", got, err, d)
	}
	err = s.Data.CreateDatastore(ctx, ws, &hangar.Datastore{Name: "shared", Type: hangar.DatastoreLocal, Root: "/x"})
	wantCode(t, "create again", err, hangar.ECONFLICT)
	err = s.Data.CreateDatastore(ctx, ws, &hangar.Datastore{Name: hangar.DefaultDatastore, Type: hangar.DatastoreLocal, Root: "/x"})
	wantCode(t, "create the default", err, hangar.ECONFLICT)
	page, err := s.Data.ListDatastores(ctx, ws, hangar.ListOptions{})
	if err != nil || len(page.Items) != 2 || page.Items[0].Name != "shared" || page.Items[1].Name != hangar.DefaultDatastore {
		t.Errorf("list: got %+v, %v; want shared and %s", page, err, hangar.DefaultDatastore)
	}

	// A version on it: it resolves, and keeps the datastore from going.
	on := &hangar.DataAsset{Name: "raw", Type: hangar.DataURIFile, Path: hangar.DatastoreURI("shared", "raw/a.csv")}
	a := newDataVersion(t, s, ws, on)
	if a.Datastore() != "shared" || a.Version != "1" || a.Manifest.Digest != "" {
		t.Errorf("version on a datastore: got %+v", a)
	}
	_, err = s.Data.CreateDataVersion(ctx, ws, &hangar.DataAsset{Name: "raw", Type: hangar.DataURIFolder, Path: hangar.DatastoreURI("missing", "x")})
	wantCode(t, "version on a missing datastore", err, hangar.ENOTFOUND)
	err = s.Data.DeleteDatastore(ctx, ws, "shared")
	wantCode(t, "delete while used", err, hangar.ECONFLICT)
	err = s.Data.DeleteDatastore(ctx, ws, hangar.DefaultDatastore)
	wantCode(t, "delete the default", err, hangar.ECONFLICT)
	err = s.Data.DeleteDatastore(ctx, ws, "missing")
	wantCode(t, "delete missing", err, hangar.ENOTFOUND)

	if err := s.Data.CreateDatastore(ctx, ws, &hangar.Datastore{Name: "scratch", Type: hangar.DatastoreLocal, Root: "/tmp/s"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Data.DeleteDatastore(ctx, ws, "scratch"); err != nil {
		t.Fatalf("delete: %v", err)
	}
	wantEvent(t, s, "delete datastore", hangar.ActDatastoreDelete, "datastores/scratch", ws)
	_, err = s.Data.Datastore(ctx, ws, "scratch")
	wantCode(t, "get deleted", err, hangar.ENOTFOUND)
	_, err = s.Data.Datastore(ctx, "nowhere", hangar.DefaultDatastore)
	wantCode(t, "default datastore of a missing workspace", err, hangar.ENOTFOUND)
}

func testDataPages(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	ws := hangar.DefaultWorkspace
	var names, versions, stores []string
	for i := range 7 {
		name := fmt.Sprintf("d%d", i)
		newDataVersion(t, s, ws, uploaded(name, "", 'a'))
		names = append(names, name+":1")
		v := newDataVersion(t, s, ws, uploaded("many", "", byte('a'+i))).Version
		versions = append([]string{"many:" + v}, versions...)
		st := fmt.Sprintf("st%d", i)
		if err := s.Data.CreateDatastore(ctx, ws, &hangar.Datastore{Name: st, Type: hangar.DatastoreLocal, Root: "/data/" + st}); err != nil {
			t.Fatal(err)
		}
		stores = append(stores, st)
	}
	names = append(names, fmt.Sprintf("many:%d", 7))
	slices.Sort(names)
	stores = append(stores, hangar.DefaultDatastore)
	slices.Sort(stores)
	key := func(a *hangar.DataAsset) string { return a.Name + ":" + a.Version }
	lists := []struct {
		name string
		ls   lister
		want []string
	}{
		{"data", listOf(func(ctx2 context.Context, opt hangar.ListOptions) (*hangar.Page[*hangar.DataAsset], error) {
			return s.Data.ListData(ctx2, ws, opt)
		}, key), names},
		{"versions", listOf(func(ctx2 context.Context, opt hangar.ListOptions) (*hangar.Page[*hangar.DataAsset], error) {
			return s.Data.ListDataVersions(ctx2, ws, "many", false, opt)
		}, key), versions},
		{"datastores", listOf(func(ctx2 context.Context, opt hangar.ListOptions) (*hangar.Page[*hangar.Datastore], error) {
			return s.Data.ListDatastores(ctx2, ws, opt)
		}, func(d *hangar.Datastore) string { return d.Name }), stores},
	}
	for _, l := range lists {
		for size := 1; size <= 3; size++ {
			if got := pageThrough(t, l.ls, size, len(l.want)); !slices.Equal(got, l.want) {
				t.Errorf("%s in pages of %d: got %v, want %v", l.name, size, got, l.want)
			}
		}
	}
	_, err := s.Data.ListData(ctx, ws, hangar.ListOptions{MaxResults: -1})
	wantCode(t, "negative page size", err, hangar.EINVALID)
	p, err := s.Data.ListDatastores(ctx, ws, hangar.ListOptions{MaxResults: 1})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Data.ListData(ctx, ws, hangar.ListOptions{PageToken: p.NextPageToken})
	wantCode(t, "another list's page token", err, hangar.EINVALID)
}

func testDataBadInput(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	ws := hangar.DefaultWorkspace
	ok := func() *hangar.DataAsset { return uploaded("ok", "", 'a') }
	with := func(f func(a *hangar.DataAsset)) *hangar.DataAsset { a := ok(); f(a); return a }
	cases := []struct {
		name string
		ws   string
		in   *hangar.DataAsset
		want string // a part of the message
	}{
		{"bad workspace", "a/b", ok(), "invalid workspace name"},
		{"empty name", ws, with(func(a *hangar.DataAsset) { a.Name = "" }), `invalid data asset name ""`},
		{"bad name", ws, with(func(a *hangar.DataAsset) { a.Name = "-x" }), `invalid data asset name "-x"`},
		{"bad version", ws, with(func(a *hangar.DataAsset) { a.Version = "1/2" }), `invalid version "1/2"`},
		{"long version", ws, with(func(a *hangar.DataAsset) { a.Version = strings.Repeat("1", 101) }), "invalid version"},
		{"latest as version", ws, with(func(a *hangar.DataAsset) { a.Version = "latest" }), "it is a label"},
		{"bad type", ws, with(func(a *hangar.DataAsset) { a.Type = "mlflow_model" }), `invalid data asset type "mlflow_model"`},
		{"no path", ws, with(func(a *hangar.DataAsset) { a.Path = "" }), "path is required"},
		{"bad path", ws, with(func(a *hangar.DataAsset) { a.Path = "/tmp/x" }), `invalid path "/tmp/x"`},
		{"bad datastore URI", ws, with(func(a *hangar.DataAsset) { a.Path = "azureml://datastores/x/paths/../y" }), "invalid datastore URI"},
		{"path on the default datastore", ws, with(func(a *hangar.DataAsset) { a.Path = hangar.DatastoreURI(hangar.DefaultDatastore, "x") }), "named by its digest"},
		{"path not the manifest", ws, with(func(a *hangar.DataAsset) { a.Path = string(dataDigest('b')) }), "they must be equal"},
		{"bad manifest digest", ws, with(func(a *hangar.DataAsset) { a.Manifest.Digest = "sha256:x" }), "invalid digest"},
		{"empty manifest", ws, with(func(a *hangar.DataAsset) { a.Manifest.Size = 0 }), "invalid manifest size 0"},
		{"negative size", ws, with(func(a *hangar.DataAsset) { a.Size = -1 }), "invalid size -1"},
		{"negative count", ws, with(func(a *hangar.DataAsset) { a.FileCount = -1 }), "invalid file count -1"},
		{"uri_file of 3", ws, with(func(a *hangar.DataAsset) { a.Type = hangar.DataURIFile }), "holds one file, not 3"},
		{"sizes without manifest", ws, &hangar.DataAsset{Name: "ok", Type: hangar.DataURIFolder, Path: hangar.DatastoreURI("s", "x"), Size: 3}, "come from the manifest"},
		{"long description", ws, with(func(a *hangar.DataAsset) { a.Description = strings.Repeat("x", 4097) }), "description is 4097 bytes"},
		{"NUL description", ws, with(func(a *hangar.DataAsset) { a.Description = "a\x00" }), "description contains a NUL"},
		{"empty tag key", ws, with(func(a *hangar.DataAsset) { a.Tags = map[string]string{"": "v"} }), "tag key is empty"},
		{"bad tag value", ws, with(func(a *hangar.DataAsset) { a.Tags = map[string]string{"k": "\xff"} }), "tag value is not valid UTF-8"},
		{"profile not JSON", ws, with(func(a *hangar.DataAsset) { a.Profile = "{" }), "profile is not a JSON document"},
		{"profile with NUL", ws, with(func(a *hangar.DataAsset) { a.Profile = `{"a":"\u0000"}` }), "NUL"},
	}
	before := len(allEvents(t, s))
	for _, c := range cases {
		_, err := s.Data.CreateDataVersion(ctx, c.ws, c.in)
		wantCode(t, c.name, err, hangar.EINVALID)
		if msg := hangar.ErrorMessage(err); !strings.Contains(msg, c.want) {
			t.Errorf("%s: got message %q, want it to hold %q", c.name, msg, c.want)
		}
	}
	for _, c := range []struct {
		name string
		d    *hangar.Datastore
		want string
	}{
		{"bad name", &hangar.Datastore{Name: "a b", Type: hangar.DatastoreLocal, Root: "/x"}, `invalid datastore name "a b"`},
		{"bad type", &hangar.Datastore{Name: "s", Type: hangar.DatastoreArtifactStore, Root: "/x"}, `invalid datastore type "artifact_store"`},
		{"relative root", &hangar.Datastore{Name: "s", Type: hangar.DatastoreLocal, Root: "x"}, `invalid datastore root "x"`},
		{"unclean root", &hangar.Datastore{Name: "s", Type: hangar.DatastoreLocal, Root: "/x/../y"}, "absolute, clean"},
		{"bad tags", &hangar.Datastore{Name: "s", Type: hangar.DatastoreLocal, Root: "/x", Tags: map[string]string{"": ""}}, "tag key is empty"},
	} {
		err := s.Data.CreateDatastore(ctx, ws, c.d)
		wantCode(t, "datastore "+c.name, err, hangar.EINVALID)
		if msg := hangar.ErrorMessage(err); !strings.Contains(msg, c.want) {
			t.Errorf("datastore %s: got message %q, want it to hold %q", c.name, msg, c.want)
		}
	}
	for _, c := range []struct {
		name string
		err  error
	}{
		{"get without version", func() error { _, err := s.Data.DataVersion(ctx, ws, "ok", ""); return err }()},
		{"get bad name", func() error { _, err := s.Data.DataVersion(ctx, ws, "a\x00", "1"); return err }()},
		{"get bad version", func() error { _, err := s.Data.DataVersion(ctx, ws, "ok", "\xff"); return err }()},
		{"latest bad name", func() error { _, err := s.Data.LatestDataVersion(ctx, ws, ""); return err }()},
		{"versions bad workspace", func() error {
			_, err := s.Data.ListDataVersions(ctx, "\x00", "ok", false, hangar.ListOptions{})
			return err
		}()},
		{"archive without version", func() error { _, err := s.Data.SetDataVersionArchived(ctx, ws, "ok", "", true); return err }()},
		{"datastore bad name", func() error { _, err := s.Data.Datastore(ctx, ws, "a/b"); return err }()},
		{"delete datastore bad name", s.Data.DeleteDatastore(ctx, ws, "")},
	} {
		wantCode(t, c.name, c.err, hangar.EINVALID)
	}
	if after := len(allEvents(t, s)); after != before {
		t.Errorf("bad input: got %d new audit events, want none", after-before)
	}
}

func testDataWorkspaces(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	if err := s.Workspaces.CreateWorkspace(ctx, &hangar.Workspace{Name: "other"}); err != nil {
		t.Fatal(err)
	}
	// The same content in two workspaces: each version has the same
	// digest, and each workspace owns the manifest blob.
	a := newDataVersion(t, s, hangar.DefaultWorkspace, uploaded("iris", "", 'a'))
	b := newDataVersion(t, s, "other", uploaded("iris", "", 'a'))
	if a.Version != "1" || b.Version != "1" || a.Manifest.Digest != b.Manifest.Digest {
		t.Errorf("same content: got %s:%s and %s:%s, want version 1 with one digest in each workspace", a.Version, a.Manifest.Digest, b.Version, b.Manifest.Digest)
	}
	for _, ws := range []string{hangar.DefaultWorkspace, "other"} {
		if _, err := s.Blobs.WorkspaceBlob(ctx, ws, a.Manifest.Digest); err != nil {
			t.Errorf("manifest blob in %s: %v", ws, err)
		}
	}
	only := newDataVersion(t, s, "other", uploaded("secret", "", 'b'))
	if err := s.Data.CreateDatastore(ctx, "other", &hangar.Datastore{Name: "mine", Type: hangar.DatastoreLocal, Root: "/o"}); err != nil {
		t.Fatal(err)
	}
	ws := hangar.DefaultWorkspace
	_, err := s.Data.DataVersion(ctx, ws, "secret", only.Version)
	wantCode(t, "another workspace's version", err, hangar.ENOTFOUND)
	_, err = s.Data.LatestDataVersion(ctx, ws, "secret")
	wantCode(t, "another workspace's latest", err, hangar.ENOTFOUND)
	_, err = s.Data.SetDataVersionArchived(ctx, ws, "secret", only.Version, true)
	wantCode(t, "archive another workspace's version", err, hangar.ENOTFOUND)
	if _, err := s.Blobs.WorkspaceBlob(ctx, ws, only.Manifest.Digest); err == nil {
		t.Error("another workspace's manifest blob: readable, want not found")
	}
	_, err = s.Data.Datastore(ctx, ws, "mine")
	wantCode(t, "another workspace's datastore", err, hangar.ENOTFOUND)
	err = s.Data.DeleteDatastore(ctx, ws, "mine")
	wantCode(t, "delete another workspace's datastore", err, hangar.ENOTFOUND)
	_, err = s.Data.CreateDataVersion(ctx, ws, &hangar.DataAsset{Name: "x", Type: hangar.DataURIFolder, Path: hangar.DatastoreURI("mine", "p")})
	wantCode(t, "version on another workspace's datastore", err, hangar.ENOTFOUND)
	names, err := s.Data.ListData(ctx, ws, hangar.ListOptions{})
	if err != nil || !slices.Equal(versionsOf(names), []string{"iris:1"}) {
		t.Errorf("list: got %v, %v; want [iris:1]", versionsOf(names), err)
	}
	stores, err := s.Data.ListDatastores(ctx, ws, hangar.ListOptions{})
	if err != nil || len(stores.Items) != 1 || stores.Items[0].Name != hangar.DefaultDatastore || stores.Items[0].Workspace != ws {
		t.Errorf("datastores: got %+v, %v; want only the default", stores, err)
	}
	vs, err := s.Data.ListDataVersions(ctx, ws, "secret", true, hangar.ListOptions{})
	if err != nil || len(vs.Items) != 0 {
		t.Errorf("versions of another workspace's asset: got %v, %v; want none", versionsOf(vs), err)
	}

	// Deleting a workspace takes its data: one re-created under its name
	// starts from version 1 with no datastores but the default.
	if err := s.Workspaces.DeleteWorkspace(ctx, "other"); err != nil {
		t.Fatal(err)
	}
	if err := s.Workspaces.CreateWorkspace(ctx, &hangar.Workspace{Name: "other"}); err != nil {
		t.Fatal(err)
	}
	if v := newDataVersion(t, s, "other", uploaded("secret", "", 'c')).Version; v != "1" {
		t.Errorf("re-created workspace: got version %s, want 1", v)
	}
	if _, err := s.Data.Datastore(ctx, "other", "mine"); !hangar.IsCode(err, hangar.ENOTFOUND) {
		t.Errorf("re-created workspace's datastore: got %v, want not found", err)
	}
}
