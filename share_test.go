package hangar_test

import (
	"strings"
	"testing"

	"github.com/hangar-ml/hangar"
)

func TestShareRequestTarget(t *testing.T) {
	for _, tt := range []struct {
		name string
		req  hangar.ShareRequest
		want string // the target, or the start of the error
		ok   bool
	}{
		{"registry", hangar.ShareRequest{Registry: "shared"}, "shared", true},
		{"workspace", hangar.ShareRequest{ToWorkspace: "prod", Name: "m", Version: "2"}, "prod", true},
		{"none", hangar.ShareRequest{}, "share needs a target", false},
		{"both", hangar.ShareRequest{Registry: "shared", ToWorkspace: "prod"}, "share takes one target", false},
		{"bad name", hangar.ShareRequest{ToWorkspace: "x"}, `invalid workspace name "x"`, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.req.Target()
			switch {
			case tt.ok && (err != nil || got != tt.want):
				t.Errorf("got %q, %v, want %q", got, err, tt.want)
			case !tt.ok && (hangar.ErrorCode(err) != hangar.EINVALID || !strings.HasPrefix(hangar.ErrorMessage(err), tt.want)):
				t.Errorf("got %v, want EINVALID starting %q", err, tt.want)
			}
		})
	}
}

func TestModelContentDigest(t *testing.T) {
	a := hangar.ManifestEntry{Path: "MLmodel", Digest: hangar.Digest("sha256:" + strings.Repeat("a", 64)), Size: 1}
	b := hangar.ManifestEntry{Path: "sub/w.bin", Digest: hangar.Digest("sha256:" + strings.Repeat("b", 64)), Size: 2}
	d1, err := hangar.ModelContentDigest([]hangar.ManifestEntry{a, b})
	if err != nil {
		t.Fatal(err)
	}
	// The order of the files does not matter: one folder, one digest.
	if d2, err := hangar.ModelContentDigest([]hangar.ManifestEntry{b, a}); err != nil || d2 != d1 {
		t.Errorf("reordered: got %s, %v, want %s", d2, err, d1)
	}
	b.Size = 3
	if d3, _ := hangar.ModelContentDigest([]hangar.ManifestEntry{a, b}); d3 == d1 {
		t.Errorf("another size gives the same digest %s", d3)
	}
	if _, err := hangar.ModelContentDigest([]hangar.ManifestEntry{{Path: "../x", Digest: a.Digest}}); hangar.ErrorCode(err) != hangar.EINVALID {
		t.Errorf("a path outside the folder: got %v, want EINVALID", err)
	}
}

func TestWorkspaceKinds(t *testing.T) {
	for _, tt := range []struct {
		w    hangar.Workspace
		code string
	}{
		{hangar.Workspace{Name: "dev"}, ""},
		{hangar.Workspace{Name: "dev", Kind: hangar.WorkspaceKindWorkspace}, ""},
		{hangar.Workspace{Name: "shared", Kind: hangar.WorkspaceKindRegistry}, ""},
		{hangar.Workspace{Name: "hangar", Kind: hangar.WorkspaceKindRegistry}, hangar.EINVALID},
		{hangar.Workspace{Name: "azureml", Kind: hangar.WorkspaceKindRegistry}, hangar.EINVALID},
		{hangar.Workspace{Name: "hangar"}, ""},
		{hangar.Workspace{Name: "dev", Kind: "cluster"}, hangar.EINVALID},
	} {
		if err := tt.w.Validate(); hangar.ErrorCode(err) != tt.code {
			t.Errorf("%s of kind %q: got %v, want code %q", tt.w.Name, tt.w.Kind, err, tt.code)
		}
	}
	reg := hangar.Workspace{Name: "shared", Kind: hangar.WorkspaceKindRegistry}
	ws := hangar.Workspace{Name: "dev"}
	for _, action := range hangar.RegistryRefuses() {
		if err := reg.CheckKindAllows(action); hangar.ErrorCode(err) != hangar.EINVALID || !strings.Contains(err.Error(), `"shared" is a registry`) {
			t.Errorf("registry, %s: got %v, want EINVALID", action, err)
		}
		if err := ws.CheckKindAllows(action); err != nil {
			t.Errorf("workspace, %s: got %v, want nil", action, err)
		}
	}
	for _, action := range []string{hangar.ActModelWrite, hangar.ActComponentWrite, hangar.ActEnvironmentWrite, hangar.ActDataWrite, hangar.ActJobRead, hangar.ActRoleAssignmentWrite} {
		if err := reg.CheckKindAllows(action); err != nil {
			t.Errorf("registry, %s: got %v, want nil", action, err)
		}
	}
}
