package storetest

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hangar-ml/hangar"
)

// testEnvironments: environment versions — create, get, latest, lists,
// archive and restore, auto-numbering (also under concurrent creators),
// immutability, the content hash, build contexts the workspace must own,
// workspaces kept apart, audit events, pages and bad input.
func testEnvironments(t *testing.T, open func(t *testing.T) *Store) {
	t.Run("Fields", func(t *testing.T) { testEnvironmentFields(t, open(t)) })
	t.Run("BadInput", func(t *testing.T) { testEnvironmentBadInput(t, open(t)) })
	testVersioned(t, open, environmentOps)
}

// versioned is what the shared tests see of an environment or component
// version.
type versioned struct {
	Workspace, Name, Version, Hash, CreatedBy string
	Archived                                  bool
	Existing                                  bool // the create returned an existing version
}

// versionedOps adapts one of the versioned services to the shared tests.
// variant picks one of several distinct definitions; manifest, when set,
// is the build context or code digest.
type versionedOps struct {
	kind, action, target string
	create               func(ctx context.Context, s *Store, ws, name, version string, variant int, manifest hangar.Digest) (versioned, error)
	get                  func(ctx context.Context, s *Store, ws, name, version string) (versioned, error)
	latest               func(ctx context.Context, s *Store, ws, name string) (versioned, error)
	list                 func(ctx context.Context, s *Store, ws string, opt hangar.ListOptions) ([]versioned, string, error)
	versions             func(ctx context.Context, s *Store, ws, name string, archived bool, opt hangar.ListOptions) ([]versioned, string, error)
	setArchived          func(ctx context.Context, s *Store, ws, name, version string, archived bool) (versioned, error)
}

func envVersioned(e *hangar.Environment) versioned {
	return versioned{e.Workspace, e.Name, e.Version, e.Hash, e.CreatedBy, e.Archived, e.Existing}
}

func envPage(p *hangar.Page[*hangar.Environment], err error) ([]versioned, string, error) {
	if err != nil {
		return nil, "", err
	}
	out := make([]versioned, len(p.Items))
	for i, e := range p.Items {
		out[i] = envVersioned(e)
	}
	return out, p.NextPageToken, nil
}

func envOrNil(e *hangar.Environment, err error) (versioned, error) {
	if err != nil {
		return versioned{}, err
	}
	return envVersioned(e), nil
}

var environmentOps = versionedOps{
	kind: "environment", action: hangar.ActEnvironmentWrite, target: "environments",
	create: func(ctx context.Context, s *Store, ws, name, version string, variant int, manifest hangar.Digest) (versioned, error) {
		e := &hangar.Environment{Workspace: ws, Name: name, Version: version, Image: "python:3.12",
			CondaFile: fmt.Sprintf("name: env\ndependencies:\n  - numpy=1.%d\n", variant)}
		if manifest != "" {
			e.Image, e.CondaFile, e.BuildContext = "", "", manifest
		}
		return envOrNil(s.Environments.CreateEnvironment(ctx, e))
	},
	get: func(ctx context.Context, s *Store, ws, name, version string) (versioned, error) {
		return envOrNil(s.Environments.Environment(ctx, ws, name, version))
	},
	latest: func(ctx context.Context, s *Store, ws, name string) (versioned, error) {
		return envOrNil(s.Environments.LatestEnvironment(ctx, ws, name))
	},
	list: func(ctx context.Context, s *Store, ws string, opt hangar.ListOptions) ([]versioned, string, error) {
		return envPage(s.Environments.ListEnvironments(ctx, ws, opt))
	},
	versions: func(ctx context.Context, s *Store, ws, name string, archived bool, opt hangar.ListOptions) ([]versioned, string, error) {
		return envPage(s.Environments.ListEnvironmentVersions(ctx, ws, name, archived, opt))
	},
	setArchived: func(ctx context.Context, s *Store, ws, name, version string, archived bool) (versioned, error) {
		return envOrNil(s.Environments.SetEnvironmentArchived(ctx, ws, name, version, archived))
	},
}

// testVersioned runs the tests environments and components share.
func testVersioned(t *testing.T, open func(t *testing.T) *Store, ops versionedOps) {
	t.Run("Versions", func(t *testing.T) { testVersions(t, open(t), ops) })
	t.Run("Archive", func(t *testing.T) { testVersionArchive(t, open(t), ops) })
	t.Run("Manifest", func(t *testing.T) { testVersionManifest(t, open(t), ops) })
	t.Run("Workspaces", func(t *testing.T) { testVersionWorkspaces(t, open(t), ops) })
	t.Run("Pages", func(t *testing.T) { testVersionPages(t, open(t), ops) })
	t.Run("Concurrent", func(t *testing.T) { testVersionConcurrent(t, open(t), ops) })
}

// mustVersion creates a version or fails.
func mustVersion(t *testing.T, s *Store, ops versionedOps, ws, name, version string, variant int) versioned {
	t.Helper()
	v, err := ops.create(actorCtx(t), s, ws, name, version, variant, "")
	if err != nil {
		t.Fatalf("create %s %s:%q (variant %d) in %s: %v", ops.kind, name, version, variant, ws, err)
	}
	return v
}

// versionLabels lists the labels of versions.
func versionLabels(vs []versioned) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.Name + ":" + v.Version
	}
	return out
}

// allPages reads every page of a list with pages of size n.
func allPages(t *testing.T, n int, page func(opt hangar.ListOptions) ([]versioned, string, error)) []versioned {
	t.Helper()
	var out []versioned
	opt := hangar.ListOptions{MaxResults: n}
	for range 100 {
		items, next, err := page(opt)
		if err != nil {
			t.Fatalf("page of %d: %v", n, err)
		}
		if len(items) > n {
			t.Fatalf("page of %d: got %d items", n, len(items))
		}
		out = append(out, items...)
		if next == "" {
			return out
		}
		opt.PageToken = next
	}
	t.Fatalf("pages of %d never end", n)
	return nil
}

func testVersions(t *testing.T, s *Store, ops versionedOps) {
	ctx := actorCtx(t)
	ws := hangar.DefaultWorkspace
	target := func(name, version string) string { return ops.target + "/" + name + "/versions/" + version }

	v1 := mustVersion(t, s, ops, ws, "train", "", 0)
	if v1.Version != "1" || v1.CreatedBy != "alice" || v1.Archived || !strings.HasPrefix(v1.Hash, "sha256:") || len(v1.Hash) != 71 {
		t.Fatalf("first version: got %+v, want version 1 by alice, not archived, with a sha256 hash", v1)
	}
	wantEvent(t, s, "create", ops.action, target("train", "1"), ws)
	got, err := ops.get(ctx, s, ws, "train", "1")
	if err != nil || got != v1 {
		t.Fatalf("get: got %+v, %v, want %+v", got, err, v1)
	}

	// The same definition again, without a version: the existing version,
	// and nothing written.
	events := len(allEvents(t, s))
	again := mustVersion(t, s, ops, ws, "train", "", 0)
	existing := v1
	existing.Existing = true
	if again != existing {
		t.Errorf("same definition again: got %+v, want the existing %+v marked existing", again, existing)
	}
	if n := len(allEvents(t, s)); n != events {
		t.Errorf("same definition again: %d events, want %d (nothing created)", n, events)
	}
	// The same definition under another name hashes alike.
	if other := mustVersion(t, s, ops, ws, "other", "", 0); other.Hash != v1.Hash || other.Version != "1" {
		t.Errorf("same definition, other name: got %+v, want version 1 with hash %s", other, v1.Hash)
	}

	v2 := mustVersion(t, s, ops, ws, "train", "", 1)
	if v2.Version != "2" || v2.Hash == v1.Hash {
		t.Errorf("changed definition: got %+v, want version 2 with another hash than %s", v2, v1.Hash)
	}
	// An explicit version is created even with the latest's definition.
	beta := mustVersion(t, s, ops, ws, "train", "1.0-beta", 1)
	if beta.Version != "1.0-beta" || beta.Hash != v2.Hash {
		t.Errorf("explicit version: got %+v, want 1.0-beta with hash %s", beta, v2.Hash)
	}
	if v := mustVersion(t, s, ops, ws, "train", "", 2); v.Version != "3" {
		t.Errorf("after a non-numeric version: got version %q, want 3", v.Version)
	}
	mustVersion(t, s, ops, ws, "train", "10", 3)
	if v := mustVersion(t, s, ops, ws, "train", "", 4); v.Version != "11" {
		t.Errorf("after version 10: got version %q, want 11", v.Version)
	}
	mustVersion(t, s, ops, ws, "train", "007", 5) // not a number: does not count
	if v := mustVersion(t, s, ops, ws, "train", "", 6); v.Version != "12" {
		t.Errorf("after version 007: got version %q, want 12", v.Version)
	}
	latest, err := ops.latest(ctx, s, ws, "train")
	if err != nil || latest.Version != "12" {
		t.Errorf("latest: got %+v, %v, want version 12", latest, err)
	}

	// Versions are immutable.
	events = len(allEvents(t, s))
	for _, version := range []string{"1", "1.0-beta", "12"} {
		_, err := ops.create(ctx, s, ws, "train", version, 9, "")
		wantCode(t, "create "+version+" again", err, hangar.ECONFLICT)
		if msg := hangar.ErrorMessage(err); !strings.Contains(msg, "train version "+version+" already exists") || !strings.Contains(msg, "immutable") {
			t.Errorf("create %s again: message %q, want it to say the version exists and versions are immutable", version, msg)
		}
	}
	if n := len(allEvents(t, s)); n != events {
		t.Errorf("refused creates: %d events, want %d", n, events)
	}
	if got, _ := ops.get(ctx, s, ws, "train", "1"); got != v1 {
		t.Errorf("version 1 after a refused create: got %+v, want %+v", got, v1)
	}

	vs, _, err := ops.versions(ctx, s, ws, "train", false, hangar.ListOptions{})
	if err != nil {
		t.Fatalf("versions: %v", err)
	}
	want := []string{"train:12", "train:007", "train:11", "train:10", "train:3", "train:1.0-beta", "train:2", "train:1"}
	if got := versionLabels(vs); !slices.Equal(got, want) {
		t.Errorf("versions: got %v, want %v (newest first)", got, want)
	}
	names, _, err := ops.list(ctx, s, ws, hangar.ListOptions{})
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	if got, want := versionLabels(names), []string{"other:1", "train:12"}; !slices.Equal(got, want) {
		t.Errorf("list: got %v, want %v", got, want)
	}

	for _, tt := range []struct{ name, version, code string }{
		{"train", "13", hangar.ENOTFOUND},
		{"nothing", "1", hangar.ENOTFOUND},
		{"bad name!", "1", hangar.EINVALID},
		{"train", "bad version!", hangar.EINVALID},
		{"train", "", hangar.EINVALID},
	} {
		_, err := ops.get(ctx, s, ws, tt.name, tt.version)
		wantCode(t, fmt.Sprintf("get %q:%q", tt.name, tt.version), err, tt.code)
	}
	_, err = ops.latest(ctx, s, ws, "nothing")
	wantCode(t, "latest of nothing", err, hangar.ENOTFOUND)
	if vs, next, err := ops.versions(ctx, s, ws, "nothing", true, hangar.ListOptions{}); err != nil || len(vs) != 0 || next != "" {
		t.Errorf("versions of nothing: got %v %q %v, want none", vs, next, err)
	}
}

func testVersionArchive(t *testing.T, s *Store, ops versionedOps) {
	ctx := actorCtx(t)
	ws := hangar.DefaultWorkspace
	for i := range 3 {
		mustVersion(t, s, ops, ws, "a", "", i)
	}
	mustVersion(t, s, ops, ws, "b", "", 0)

	v3, err := ops.setArchived(ctx, s, ws, "a", "3", true)
	if err != nil || !v3.Archived {
		t.Fatalf("archive a:3: got %+v, %v, want it archived", v3, err)
	}
	wantEvent(t, s, "archive", ops.action, ops.target+"/a/versions/3", ws)
	if l, err := ops.latest(ctx, s, ws, "a"); err != nil || l.Version != "2" {
		t.Errorf("latest after archiving 3: got %+v, %v, want version 2", l, err)
	}
	if got, err := ops.get(ctx, s, ws, "a", "3"); err != nil || !got.Archived {
		t.Errorf("get archived: got %+v, %v, want it, archived (usable by reference)", got, err)
	}
	vs, _, _ := ops.versions(ctx, s, ws, "a", false, hangar.ListOptions{})
	if got, want := versionLabels(vs), []string{"a:2", "a:1"}; !slices.Equal(got, want) {
		t.Errorf("versions without archived: got %v, want %v", got, want)
	}
	vs, _, _ = ops.versions(ctx, s, ws, "a", true, hangar.ListOptions{})
	if got, want := versionLabels(vs), []string{"a:3", "a:2", "a:1"}; !slices.Equal(got, want) {
		t.Errorf("versions with archived: got %v, want %v", got, want)
	}
	// The next number counts archived versions: a label is never reused.
	// The same definition as the archived latest is a new version.
	if v := mustVersion(t, s, ops, ws, "a", "", 2); v.Version != "4" {
		t.Errorf("create after archiving: got version %q, want 4", v.Version)
	}
	if _, err := ops.setArchived(ctx, s, ws, "a", "4", true); err != nil {
		t.Fatal(err)
	}

	for _, v := range []string{"1", "2"} {
		if _, err := ops.setArchived(ctx, s, ws, "a", v, true); err != nil {
			t.Fatalf("archive a:%s: %v", v, err)
		}
	}
	_, err = ops.latest(ctx, s, ws, "a")
	wantCode(t, "latest with every version archived", err, hangar.ENOTFOUND)
	names, _, _ := ops.list(ctx, s, ws, hangar.ListOptions{})
	if got, want := versionLabels(names), []string{"b:1"}; !slices.Equal(got, want) {
		t.Errorf("list with a's versions archived: got %v, want %v", got, want)
	}

	r, err := ops.setArchived(ctx, s, ws, "a", "1", false)
	if err != nil || r.Archived {
		t.Fatalf("restore a:1: got %+v, %v", r, err)
	}
	wantEvent(t, s, "restore", ops.action, ops.target+"/a/versions/1", ws)
	if l, err := ops.latest(ctx, s, ws, "a"); err != nil || l.Version != "1" {
		t.Errorf("latest after restoring 1: got %+v, %v, want version 1", l, err)
	}
	names, _, _ = ops.list(ctx, s, ws, hangar.ListOptions{})
	if got, want := versionLabels(names), []string{"a:1", "b:1"}; !slices.Equal(got, want) {
		t.Errorf("list after restoring: got %v, want %v", got, want)
	}

	_, err = ops.setArchived(ctx, s, ws, "a", "99", true)
	wantCode(t, "archive a missing version", err, hangar.ENOTFOUND)
	_, err = ops.setArchived(ctx, s, ws, "a", "", true)
	wantCode(t, "archive without a version", err, hangar.EINVALID)
}

func testVersionManifest(t *testing.T, s *Store, ops versionedOps) {
	ctx := actorCtx(t)
	ws := hangar.DefaultWorkspace
	if err := s.Workspaces.CreateWorkspace(ctx, &hangar.Workspace{Name: "team-b"}); err != nil {
		t.Fatal(err)
	}
	d := hangar.Digest("sha256:" + strings.Repeat("ab", 32))
	if err := s.Blobs.AddBlob(ctx, "team-b", hangar.BlobInfo{Digest: d, Size: 10}); err != nil {
		t.Fatal(err)
	}
	events := len(allEvents(t, s))
	_, err := ops.create(ctx, s, ws, "m", "", 0, d)
	wantCode(t, "manifest of another workspace", err, hangar.ENOTFOUND)
	if msg := hangar.ErrorMessage(err); !strings.Contains(msg, string(d)) || !strings.Contains(msg, "not found in workspace") {
		t.Errorf("manifest of another workspace: message %q, want it to name the digest and the workspace", msg)
	}
	if n := len(allEvents(t, s)); n != events {
		t.Errorf("refused create: %d events, want %d", n, events)
	}
	if vs, _, _ := ops.versions(ctx, s, ws, "m", true, hangar.ListOptions{}); len(vs) != 0 {
		t.Errorf("refused create: versions %v, want none", versionLabels(vs))
	}
	if err := s.Blobs.AddBlob(ctx, ws, hangar.BlobInfo{Digest: d, Size: 10}); err != nil {
		t.Fatal(err)
	}
	v, err := ops.create(ctx, s, ws, "m", "", 0, d)
	if err != nil || v.Version != "1" {
		t.Fatalf("manifest the workspace owns: got %+v, %v, want version 1", v, err)
	}
	wantEvent(t, s, "create with manifest", ops.action, ops.target+"/m/versions/1", ws)
}

func testVersionWorkspaces(t *testing.T, s *Store, ops versionedOps) {
	ctx := actorCtx(t)
	ws := hangar.DefaultWorkspace
	if err := s.Workspaces.CreateWorkspace(ctx, &hangar.Workspace{Name: "team-b"}); err != nil {
		t.Fatal(err)
	}
	mustVersion(t, s, ops, ws, "shared", "", 0)
	mustVersion(t, s, ops, ws, "shared", "", 1)
	mustVersion(t, s, ops, ws, "mine", "", 0)
	b := mustVersion(t, s, ops, "team-b", "shared", "", 0)
	if b.Version != "1" || b.Workspace != "team-b" {
		t.Errorf("same name in team-b: got %+v, want version 1 of team-b (numbers per workspace)", b)
	}
	wantEvent(t, s, "create in team-b", ops.action, ops.target+"/shared/versions/1", "team-b")
	// An explicit version of the same label in another workspace is fine.
	mustVersion(t, s, ops, "team-b", "shared", "2", 5)

	_, err := ops.get(ctx, s, "team-b", "mine", "1")
	wantCode(t, "get default's version from team-b", err, hangar.ENOTFOUND)
	_, err = ops.latest(ctx, s, "team-b", "mine")
	wantCode(t, "latest of default's name from team-b", err, hangar.ENOTFOUND)
	_, err = ops.setArchived(ctx, s, "team-b", "mine", "1", true)
	wantCode(t, "archive default's version from team-b", err, hangar.ENOTFOUND)
	if got, _ := ops.get(ctx, s, ws, "mine", "1"); got.Archived {
		t.Errorf("default's version archived from team-b")
	}
	names, _, _ := ops.list(ctx, s, "team-b", hangar.ListOptions{})
	if got, want := versionLabels(names), []string{"shared:2"}; !slices.Equal(got, want) {
		t.Errorf("list of team-b: got %v, want %v", got, want)
	}
	names, _, _ = ops.list(ctx, s, ws, hangar.ListOptions{})
	if got, want := versionLabels(names), []string{"mine:1", "shared:2"}; !slices.Equal(got, want) {
		t.Errorf("list of default: got %v, want %v", got, want)
	}
	vs, _, _ := ops.versions(ctx, s, "team-b", "shared", true, hangar.ListOptions{})
	for _, v := range vs {
		if v.Workspace != "team-b" {
			t.Errorf("versions of team-b hold %+v", v)
		}
	}

	_, err = ops.create(ctx, s, "nowhere", "x", "", 0, "")
	wantCode(t, "create in a missing workspace", err, hangar.ENOTFOUND)
	if names, _, err := ops.list(ctx, s, "nowhere", hangar.ListOptions{}); err != nil || len(names) != 0 {
		t.Errorf("list of a missing workspace: got %v, %v, want none", names, err)
	}
	_, _, err = ops.list(ctx, s, "x", hangar.ListOptions{})
	wantCode(t, "list of a bad workspace name", err, hangar.EINVALID)

	// Deleting a workspace deletes its versions: one re-created under the
	// name starts again.
	if err := s.Workspaces.DeleteWorkspace(ctx, "team-b"); err != nil {
		t.Fatal(err)
	}
	if err := s.Workspaces.CreateWorkspace(ctx, &hangar.Workspace{Name: "team-b"}); err != nil {
		t.Fatal(err)
	}
	if v := mustVersion(t, s, ops, "team-b", "shared", "", 3); v.Version != "1" {
		t.Errorf("re-created workspace: got version %q, want 1", v.Version)
	}
}

func testVersionPages(t *testing.T, s *Store, ops versionedOps) {
	ctx := actorCtx(t)
	ws := hangar.DefaultWorkspace
	for _, name := range []string{"e", "a", "d", "c", "b"} {
		mustVersion(t, s, ops, ws, name, "", 0)
	}
	for i := range 6 {
		mustVersion(t, s, ops, ws, "c", "", i+1)
	}
	if _, err := ops.setArchived(ctx, s, ws, "c", "4", true); err != nil {
		t.Fatal(err)
	}
	wantNames := []string{"a:1", "b:1", "c:7", "d:1", "e:1"}
	wantVersions := []string{"c:7", "c:6", "c:5", "c:3", "c:2", "c:1"}
	wantAll := []string{"c:7", "c:6", "c:5", "c:4", "c:3", "c:2", "c:1"}
	for n := 1; n <= 3; n++ {
		got := allPages(t, n, func(opt hangar.ListOptions) ([]versioned, string, error) { return ops.list(ctx, s, ws, opt) })
		if !slices.Equal(versionLabels(got), wantNames) {
			t.Errorf("list in pages of %d: got %v, want %v", n, versionLabels(got), wantNames)
		}
		got = allPages(t, n, func(opt hangar.ListOptions) ([]versioned, string, error) {
			return ops.versions(ctx, s, ws, "c", false, opt)
		})
		if !slices.Equal(versionLabels(got), wantVersions) {
			t.Errorf("versions in pages of %d: got %v, want %v", n, versionLabels(got), wantVersions)
		}
		got = allPages(t, n, func(opt hangar.ListOptions) ([]versioned, string, error) {
			return ops.versions(ctx, s, ws, "c", true, opt)
		})
		if !slices.Equal(versionLabels(got), wantAll) {
			t.Errorf("versions with archived in pages of %d: got %v, want %v", n, versionLabels(got), wantAll)
		}
	}
	// A token of one list does not continue another.
	_, next, err := ops.list(ctx, s, ws, hangar.ListOptions{MaxResults: 1})
	if err != nil || next == "" {
		t.Fatalf("first page: %q, %v", next, err)
	}
	_, _, err = ops.versions(ctx, s, ws, "c", false, hangar.ListOptions{PageToken: next})
	wantCode(t, "versions with a token of the name list", err, hangar.EINVALID)
	_, _, err = ops.list(ctx, s, ws, hangar.ListOptions{PageToken: "garbage"})
	wantCode(t, "list with a bad token", err, hangar.EINVALID)
	_, _, err = ops.list(ctx, s, ws, hangar.ListOptions{MaxResults: -1})
	wantCode(t, "list with a negative page size", err, hangar.EINVALID)
}

func testVersionConcurrent(t *testing.T, s *Store, ops versionedOps) {
	const creators, each = 6, 4
	ws := hangar.DefaultWorkspace
	var (
		mu   sync.Mutex
		got  []string
		wg   sync.WaitGroup
		errs = make(chan error, creators*each)
	)
	for c := range creators {
		wg.Go(func() {
			for i := range each {
				v, err := ops.create(actorCtx(t), s, ws, "busy", "", c*each+i, "")
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				got = append(got, v.Version)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent create: %v", err)
	}
	var want []string
	for i := 1; i <= creators*each; i++ {
		want = append(want, fmt.Sprint(i))
	}
	// Numbers without leading zeros sort by length, then as text.
	slices.SortFunc(got, func(a, b string) int { return cmp.Or(cmp.Compare(len(a), len(b)), strings.Compare(a, b)) })
	if !slices.Equal(got, want) {
		t.Errorf("concurrent creators drew versions %v, want each of 1..%d once", got, creators*each)
	}
}

func testEnvironmentFields(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	ws := hangar.DefaultWorkspace
	in := &hangar.Environment{Workspace: ws, Name: "sklearn", Image: "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04",
		CondaFile: "name: sk\ndependencies:\n  - python=3.12\n  - scikit-learn\n", Description: "scikit-learn on Ubuntu ✓",
		Tags: map[string]string{"team": "ml", "empty": ""}, Variables: map[string]string{"OMP_NUM_THREADS": "1", "GREETING": "héllo wörld", "EMPTY": ""}}
	e, err := s.Environments.CreateEnvironment(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if in.Version != "" || in.Hash != "" {
		t.Errorf("create changed its argument: %+v", in)
	}
	if e.Hash != hangar.EnvironmentHash(in) || e.CreatedAt.IsZero() {
		t.Errorf("created: hash %s at %v, want %s and a time", e.Hash, e.CreatedAt, hangar.EnvironmentHash(in))
	}
	got, err := s.Environments.Environment(ctx, ws, "sklearn", "1")
	if err != nil {
		t.Fatal(err)
	}
	want := *in
	want.Version, want.Hash, want.CreatedBy, want.CreatedAt = "1", e.Hash, "alice", e.CreatedAt
	if !sameEnvironment(got, &want) || !sameEnvironment(e, &want) {
		t.Errorf("get: got %+v, created %+v, want %+v", got, e, want)
	}
	if !got.CreatedAt.Equal(e.CreatedAt) {
		t.Errorf("get: created at %v, create returned %v", got.CreatedAt, e.CreatedAt)
	}
	// Description and tags are not part of the definition.
	in2 := *in
	in2.Description, in2.Tags = "other", nil
	if again, err := s.Environments.CreateEnvironment(ctx, &in2); err != nil || again.Version != "1" || again.Description != in.Description {
		t.Errorf("same definition, other description: got %+v, %v, want version 1 unchanged", again, err)
	}
	// Variables are part of the definition: another value, or none, is a
	// new version, and each reads back as it was created.
	for i, vars := range []map[string]string{{"OMP_NUM_THREADS": "2", "GREETING": "héllo wörld", "EMPTY": ""}, nil} {
		in3 := *in
		in3.Variables = vars
		v, err := s.Environments.CreateEnvironment(ctx, &in3)
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprint(i + 2); v.Version != want {
			t.Errorf("variables %v: got version %s, want %s", vars, v.Version, want)
		}
		got, err := s.Environments.Environment(ctx, ws, "sklearn", v.Version)
		if err != nil {
			t.Fatal(err)
		}
		if !mapsEqual(got.Variables, vars) || (vars == nil && got.Variables != nil) {
			t.Errorf("variables %v: read back %#v", vars, got.Variables)
		}
	}
}

// sameEnvironment compares environments field by field, times by Equal.
func sameEnvironment(a, b *hangar.Environment) bool {
	x, y := *a, *b
	if !x.CreatedAt.Equal(y.CreatedAt) || !mapsEqual(x.Tags, y.Tags) {
		return false
	}
	x.CreatedAt, y.CreatedAt, x.Tags, y.Tags = time.Time{}, time.Time{}, nil, nil
	return fmt.Sprint(x) == fmt.Sprint(y)
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func testEnvironmentBadInput(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	ws := hangar.DefaultWorkspace
	ok := func() *hangar.Environment {
		return &hangar.Environment{Workspace: ws, Name: "env", Image: "python:3.12"}
	}
	with := func(f func(e *hangar.Environment)) *hangar.Environment { e := ok(); f(e); return e }
	many := map[string]string{}
	for i := range 51 {
		many[fmt.Sprint("k", i)] = "v"
	}
	for _, tt := range []struct {
		name string
		e    *hangar.Environment
		want string
	}{
		{"bad workspace", with(func(e *hangar.Environment) { e.Workspace = "x" }), "invalid workspace name"},
		{"empty name", with(func(e *hangar.Environment) { e.Name = "" }), `invalid environment name ""`},
		{"bad name", with(func(e *hangar.Environment) { e.Name = "a/b" }), `invalid environment name "a/b"`},
		{"bad version", with(func(e *hangar.Environment) { e.Version = "1 0" }), `invalid environment version "1 0"`},
		{"long version", with(func(e *hangar.Environment) { e.Version = strings.Repeat("1", 65) }), "invalid environment version"},
		{"nothing to run", with(func(e *hangar.Environment) { e.Image = "" }), "give an image or a build context"},
		{"image and build", with(func(e *hangar.Environment) { e.BuildContext = hangar.Digest("sha256:" + strings.Repeat("0", 64)) }), "not both"},
		{"conda without image", &hangar.Environment{Workspace: ws, Name: "env", CondaFile: "name: x", BuildContext: hangar.Digest("sha256:" + strings.Repeat("0", 64))}, "a conda file needs an image"},
		{"bad build digest", &hangar.Environment{Workspace: ws, Name: "env", BuildContext: "sha256:nope"}, "build context"},
		{"long image", with(func(e *hangar.Environment) { e.Image = strings.Repeat("i", hangar.MaxEnvironmentImageLength+1) }), "image is 1025 bytes; the limit is 1024"},
		{"big conda file", with(func(e *hangar.Environment) { e.CondaFile = strings.Repeat("c", hangar.MaxCondaFileSize+1) }), "conda file is"},
		{"NUL in conda file", with(func(e *hangar.Environment) { e.CondaFile = "a\x00b" }), "conda file contains a NUL"},
		{"bad UTF-8 description", with(func(e *hangar.Environment) { e.Description = "\xff" }), "description is not valid UTF-8"},
		{"too many tags", with(func(e *hangar.Environment) { e.Tags = many }), "51 tags; the limit is 50"},
		{"empty tag key", with(func(e *hangar.Environment) { e.Tags = map[string]string{"": "v"} }), "tag key is empty"},
		{"Dockerfile path without build context", with(func(e *hangar.Environment) { e.DockerfilePath = "Dockerfile" }), "a Dockerfile path needs a build context"},
		{"bad variable name", with(func(e *hangar.Environment) { e.Variables = map[string]string{"A B": "v"} }), `environment variable name "A B"`},
		{"NUL in a variable", with(func(e *hangar.Environment) { e.Variables = map[string]string{"A": "\x00"} }), "environment variable A contains a NUL"},
		{"long variable", with(func(e *hangar.Environment) {
			e.Variables = map[string]string{"A": strings.Repeat("v", hangar.MaxEnvironmentVariableLen+1)}
		}), "environment variable A is"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Environments.CreateEnvironment(ctx, tt.e)
			wantCode(t, "create", err, hangar.EINVALID)
			if msg := hangar.ErrorMessage(err); !strings.Contains(msg, tt.want) {
				t.Errorf("got message %q, want it to contain %q", msg, tt.want)
			}
		})
	}
	if names, _, _ := environmentOps.list(ctx, s, ws, hangar.ListOptions{}); len(names) != 0 {
		t.Errorf("after bad input: list %v, want none", versionLabels(names))
	}
}
