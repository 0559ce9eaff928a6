package storetest

import (
	"context"
	"testing"

	"github.com/hangar-ml/hangar"
)

// componentOwner and environmentOwner are the stores' Create…Owning.
type componentOwner interface {
	CreateComponentOwning(ctx context.Context, c *hangar.Component, blobs []hangar.BlobInfo) (*hangar.Component, error)
}

type environmentOwner interface {
	CreateEnvironmentOwning(ctx context.Context, e *hangar.Environment, blobs []hangar.BlobInfo) (*hangar.Environment, error)
}

// testShare checks registries (workspaces of kind registry) and the
// stores' side of sharing: a model version created with its files and
// their ownership in one transaction, or nothing; numbering; the same
// share again; components and environments owning their content.
func testShare(t *testing.T, open func(t *testing.T) *Store) {
	t.Run("Registries", func(t *testing.T) { testRegistryKind(t, open(t)) })
	t.Run("Model", func(t *testing.T) { testShareModel(t, open(t)) })
	t.Run("ComponentEnvironment", func(t *testing.T) { testShareOwning(t, open(t)) })
}

func testRegistryKind(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	if err := s.Workspaces.CreateWorkspace(ctx, &hangar.Workspace{Name: "reg", Kind: hangar.WorkspaceKindRegistry}); err != nil {
		t.Fatal(err)
	}
	if err := s.Workspaces.CreateWorkspace(ctx, &hangar.Workspace{Name: "plain"}); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"reg": hangar.WorkspaceKindRegistry, "plain": hangar.WorkspaceKindWorkspace, hangar.DefaultWorkspace: hangar.WorkspaceKindWorkspace} {
		w, err := s.Workspaces.Workspace(ctx, name)
		if err != nil || w.Kind != want {
			t.Errorf("workspace %s: got %+v, %v, want kind %s", name, w, err, want)
		}
	}
	if err := s.Workspaces.CreateWorkspace(ctx, &hangar.Workspace{Name: "odd", Kind: "cluster"}); !hangar.IsCode(err, hangar.EINVALID) {
		t.Errorf("kind cluster: got %v, want EINVALID", err)
	}
	l, ok := s.Workspaces.(interface {
		ListRegistries(ctx context.Context, opt hangar.ListOptions) (*hangar.Page[*hangar.Workspace], error)
	})
	if !ok {
		t.Skip("the workspace service cannot list registries")
	}
	page, err := l.ListRegistries(ctx, hangar.ListOptions{})
	if err != nil || len(page.Items) != 1 || page.Items[0].Name != "reg" {
		t.Errorf("list registries: got %+v, %v, want reg alone", page, err)
	}
}

func testShareModel(t *testing.T, s *Store) {
	sharer, ok := s.Registry.(hangar.ModelSharer)
	if !ok {
		t.Skip("the registry cannot share")
	}
	ctx := actorCtx(t)
	if err := s.Workspaces.CreateWorkspace(ctx, &hangar.Workspace{Name: "reg", Kind: hangar.WorkspaceKindRegistry}); err != nil {
		t.Fatal(err)
	}
	files := []hangar.SharedFile{
		{Path: "models/m/abc/MLmodel", Blob: hangar.BlobInfo{Digest: dataDigest('a'), Size: 3}},
		{Path: "models/m/abc/sub/w.bin", Blob: hangar.BlobInfo{Digest: dataDigest('b'), Size: 4}},
	}
	tags := map[string]string{
		hangar.TagSharedFromWorkspace: "dev", hangar.TagSharedFromModel: "m", hangar.TagSharedFromVersion: "1",
		hangar.TagContentDigest: string(dataDigest('c')), "hangar.model_type": "custom_model",
	}
	v := &hangar.ModelVersion{Workspace: "reg", Name: "m", Source: "mlflow-artifacts:/models/m/abc", Description: "d", Tags: tags}
	out, err := sharer.ShareModelVersion(ctx, v, files, `{"share":{"from":"dev"}}`)
	if err != nil {
		t.Fatal(err)
	}
	if got := out.Version; got.Workspace != "reg" || got.Version != "1" || got.Source != v.Source || got.Tags[hangar.TagContentDigest] != string(dataDigest('c')) || out.Existing || got.RunID != "" {
		t.Errorf("share: got %+v", got)
	}
	if e := lastEvent(t, s); e.Target != "models/m/versions/1" || e.Workspace != "reg" || e.Detail != `{"share":{"from":"dev"}}` {
		t.Errorf("share event: got %+v", e)
	}
	for _, f := range files {
		a, err := s.Artifacts.Artifact(ctx, "reg", f.Path)
		if err != nil || a.Digest != f.Blob.Digest {
			t.Errorf("artifact %s: got %+v, %v", f.Path, a, err)
		}
		if _, err := s.Blobs.WorkspaceBlob(ctx, "reg", f.Blob.Digest); err != nil {
			t.Errorf("blob %s not owned by reg: %v", f.Blob.Digest, err)
		}
	}
	if m, err := s.Registry.RegisteredModel(ctx, "reg", "m"); err != nil || m.Name != "m" {
		t.Errorf("the share created no model: %+v, %v", m, err)
	}
	// The same source again, no version asked: the earlier copy.
	again, err := sharer.ShareModelVersion(ctx, &hangar.ModelVersion{Workspace: "reg", Name: "m", Source: "mlflow-artifacts:/models/m/def", Tags: tags}, files, "")
	if err != nil || !again.Existing || again.Version.Version != "1" {
		t.Errorf("share again: got %+v, %v, want the existing version 1", again, err)
	}
	// A chosen version: above the last, then never below or at it.
	v5 := &hangar.ModelVersion{Workspace: "reg", Name: "m", Version: "5", Source: "mlflow-artifacts:/models/m/ghi", Tags: map[string]string{"k": "v"}}
	if out, err := sharer.ShareModelVersion(ctx, v5, files[:1], ""); err != nil || out.Version.Version != "5" {
		t.Errorf("share as version 5: got %+v, %v", out, err)
	}
	n := len(allEvents(t, s))
	refusedFile := []hangar.SharedFile{{Path: "models/m/zzz/f", Blob: hangar.BlobInfo{Digest: dataDigest('z'), Size: 1}}}
	for _, version := range []string{"5", "3"} {
		_, err := sharer.ShareModelVersion(ctx, &hangar.ModelVersion{Workspace: "reg", Name: "m", Version: version, Source: "mlflow-artifacts:/models/m/zzz"}, refusedFile, "")
		if !hangar.IsCode(err, hangar.ECONFLICT) {
			t.Errorf("share as version %s: got %v, want ECONFLICT", version, err)
		}
	}
	if _, err := s.Artifacts.Artifact(ctx, "reg", "models/m/zzz/f"); !hangar.IsCode(err, hangar.ENOTFOUND) {
		t.Errorf("a refused share left its file: %v", err)
	}
	if _, err := s.Blobs.WorkspaceBlob(ctx, "reg", dataDigest('z')); !hangar.IsCode(err, hangar.ENOTFOUND) {
		t.Errorf("a refused share left its blob owned: %v", err)
	}
	if got := len(allEvents(t, s)); got != n {
		t.Errorf("refused shares appended %d events", got-n)
	}
	// Bad input.
	for name, tt := range map[string]struct {
		v     *hangar.ModelVersion
		files []hangar.SharedFile
		code  string
	}{
		"no workspace":  {&hangar.ModelVersion{Workspace: "nope", Name: "m", Source: "mlflow-artifacts:/x"}, files, hangar.ENOTFOUND},
		"no files":      {&hangar.ModelVersion{Workspace: "reg", Name: "m", Source: "mlflow-artifacts:/x"}, nil, hangar.EINVALID},
		"bad path":      {&hangar.ModelVersion{Workspace: "reg", Name: "m", Source: "mlflow-artifacts:/x"}, []hangar.SharedFile{{Path: "../x", Blob: files[0].Blob}}, hangar.EINVALID},
		"bad digest":    {&hangar.ModelVersion{Workspace: "reg", Name: "m", Source: "mlflow-artifacts:/x"}, []hangar.SharedFile{{Path: "x", Blob: hangar.BlobInfo{Digest: "sha256:no"}}}, hangar.EINVALID},
		"version zero":  {&hangar.ModelVersion{Workspace: "reg", Name: "m", Version: "0", Source: "mlflow-artifacts:/x"}, files, hangar.EINVALID},
		"version words": {&hangar.ModelVersion{Workspace: "reg", Name: "m", Version: "one", Source: "mlflow-artifacts:/x"}, files, hangar.EINVALID},
	} {
		if _, err := sharer.ShareModelVersion(ctx, tt.v, tt.files, ""); !hangar.IsCode(err, tt.code) {
			t.Errorf("%s: got %v, want %s", name, err, tt.code)
		}
	}
}

func testShareOwning(t *testing.T, s *Store) {
	co, ok1 := s.Components.(componentOwner)
	eo, ok2 := s.Environments.(environmentOwner)
	if !ok1 || !ok2 {
		t.Skip("the stores have no Create…Owning")
	}
	ctx := actorCtx(t)
	ws := hangar.DefaultWorkspace
	code := []hangar.BlobInfo{{Digest: dataDigest('m'), Size: 9}, {Digest: dataDigest('f'), Size: 1}}
	c, err := co.CreateComponentOwning(ctx, &hangar.Component{Workspace: ws, Name: "train", Spec: `{"type":"command"}`, Code: code[0].Digest}, code)
	if err != nil {
		t.Fatal(err)
	}
	if c.Version != "1" || c.Code != code[0].Digest {
		t.Errorf("component: got %+v", c)
	}
	for _, b := range code {
		if _, err := s.Blobs.WorkspaceBlob(ctx, ws, b.Digest); err != nil {
			t.Errorf("blob %s not owned: %v", b.Digest, err)
		}
	}
	// A refused version owns nothing.
	other := []hangar.BlobInfo{{Digest: dataDigest('q'), Size: 2}}
	if _, err := co.CreateComponentOwning(ctx, &hangar.Component{Workspace: ws, Name: "train", Version: "1", Spec: `{"type":"x"}`, Code: code[0].Digest}, append(other, code...)); !hangar.IsCode(err, hangar.ECONFLICT) {
		t.Errorf("component version 1 again: got %v, want ECONFLICT", err)
	}
	if _, err := s.Blobs.WorkspaceBlob(ctx, ws, dataDigest('q')); !hangar.IsCode(err, hangar.ENOTFOUND) {
		t.Errorf("a refused component left its blob owned: %v", err)
	}
	ctxBlobs := []hangar.BlobInfo{{Digest: dataDigest('e'), Size: 7}}
	e, err := eo.CreateEnvironmentOwning(ctx, &hangar.Environment{Workspace: ws, Name: "py", BuildContext: ctxBlobs[0].Digest}, ctxBlobs)
	if err != nil {
		t.Fatal(err)
	}
	if e.BuildContext != ctxBlobs[0].Digest {
		t.Errorf("environment: got %+v", e)
	}
	if _, err := co.CreateComponentOwning(ctx, &hangar.Component{Workspace: ws, Name: "bad", Spec: `{}`}, []hangar.BlobInfo{{Digest: "x"}}); !hangar.IsCode(err, hangar.EINVALID) {
		t.Errorf("a bad blob: got %v, want EINVALID", err)
	}
}
