package storetest

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/hangar-ml/hangar"
)

// testComponents: command component versions — the tests environments
// share (testVersioned), the fields a version keeps, the hash over the spec
// and the code snapshot, and bad input.
func testComponents(t *testing.T, open func(t *testing.T) *Store) {
	t.Run("Fields", func(t *testing.T) { testComponentFields(t, open(t)) })
	t.Run("BadInput", func(t *testing.T) { testComponentBadInput(t, open(t)) })
	testVersioned(t, open, componentOps)
}

func compVersioned(c *hangar.Component) versioned {
	return versioned{c.Workspace, c.Name, c.Version, c.Hash, c.CreatedBy, c.Archived, c.Existing}
}

func compPage(p *hangar.Page[*hangar.Component], err error) ([]versioned, string, error) {
	if err != nil {
		return nil, "", err
	}
	out := make([]versioned, len(p.Items))
	for i, c := range p.Items {
		out[i] = compVersioned(c)
	}
	return out, p.NextPageToken, nil
}

func compOrNil(c *hangar.Component, err error) (versioned, error) {
	if err != nil {
		return versioned{}, err
	}
	return compVersioned(c), nil
}

var componentOps = versionedOps{
	kind: "component", action: hangar.ActComponentWrite, target: "components",
	create: func(ctx context.Context, s *Store, ws, name, version string, variant int, manifest hangar.Digest) (versioned, error) {
		return compOrNil(s.Components.CreateComponent(ctx, &hangar.Component{Workspace: ws, Name: name, Version: version,
			Spec: fmt.Sprintf(`{"command":"python train.py --n %d"}`, variant), Code: manifest, IsDeterministic: true}))
	},
	get: func(ctx context.Context, s *Store, ws, name, version string) (versioned, error) {
		return compOrNil(s.Components.Component(ctx, ws, name, version))
	},
	latest: func(ctx context.Context, s *Store, ws, name string) (versioned, error) {
		return compOrNil(s.Components.LatestComponent(ctx, ws, name))
	},
	list: func(ctx context.Context, s *Store, ws string, opt hangar.ListOptions) ([]versioned, string, error) {
		return compPage(s.Components.ListComponents(ctx, ws, opt))
	},
	versions: func(ctx context.Context, s *Store, ws, name string, archived bool, opt hangar.ListOptions) ([]versioned, string, error) {
		return compPage(s.Components.ListComponentVersions(ctx, ws, name, archived, opt))
	},
	setArchived: func(ctx context.Context, s *Store, ws, name, version string, archived bool) (versioned, error) {
		return compOrNil(s.Components.SetComponentArchived(ctx, ws, name, version, archived))
	},
}

func testComponentFields(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	ws := hangar.DefaultWorkspace
	code := hangar.Digest("sha256:" + strings.Repeat("c", 64))
	if err := s.Blobs.AddBlob(ctx, ws, hangar.BlobInfo{Digest: code, Size: 7}); err != nil {
		t.Fatal(err)
	}
	spec := `{"command":"python train.py --lr ${{inputs.lr}}","inputs":{"lr":{"type":"number","default":0.1}},"note":"✓ \u00e9"}`
	in := &hangar.Component{Workspace: ws, Name: "train_model", DisplayName: "Train", Description: "Trains ✓",
		Tags: map[string]string{"stage": "dev"}, Spec: spec, Code: code, IsDeterministic: false}
	c, err := s.Components.CreateComponent(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if c.Hash != hangar.ComponentHash(in) {
		t.Errorf("created: hash %s, want %s", c.Hash, hangar.ComponentHash(in))
	}
	got, err := s.Components.Component(ctx, ws, "train_model", "1")
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range []*hangar.Component{c, got} {
		if x.Workspace != ws || x.Name != in.Name || x.Version != "1" || x.DisplayName != in.DisplayName || x.Description != in.Description ||
			!mapsEqual(x.Tags, in.Tags) || x.Spec != spec || x.Code != code || x.IsDeterministic || x.Archived ||
			x.CreatedBy != "alice" || !x.CreatedAt.Equal(c.CreatedAt) || x.CreatedAt.IsZero() || x.Hash != c.Hash {
			t.Errorf("component: got %+v, want the fields of %+v as version 1 by alice", x, in)
		}
	}
	wantEvent(t, s, "create", hangar.ActComponentWrite, "components/train_model/versions/1", ws)

	// The hash covers the code: the same spec without it is another version.
	noCode := *in
	noCode.Code = ""
	v2, err := s.Components.CreateComponent(ctx, &noCode)
	if err != nil || v2.Version != "2" || v2.Hash == c.Hash {
		t.Errorf("same spec without code: got %+v, %v, want version 2 with another hash", v2, err)
	}
	// Display name, description, tags and is_deterministic are not.
	meta := noCode
	meta.DisplayName, meta.Description, meta.Tags, meta.IsDeterministic = "x", "y", nil, true
	if again, err := s.Components.CreateComponent(ctx, &meta); err != nil || again.Version != "2" {
		t.Errorf("same definition, other metadata: got %+v, %v, want version 2", again, err)
	}
}

func testComponentBadInput(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	ws := hangar.DefaultWorkspace
	ok := func() *hangar.Component {
		return &hangar.Component{Workspace: ws, Name: "comp", Spec: `{"command":"true"}`}
	}
	with := func(f func(c *hangar.Component)) *hangar.Component { c := ok(); f(c); return c }
	for _, tt := range []struct {
		name string
		c    *hangar.Component
		want string
	}{
		{"bad workspace", with(func(c *hangar.Component) { c.Workspace = "" }), "invalid workspace name"},
		{"bad name", with(func(c *hangar.Component) { c.Name = "-comp" }), `invalid component name "-comp"`},
		{"bad version", with(func(c *hangar.Component) { c.Version = "v/1" }), `invalid component version "v/1"`},
		{"empty spec", with(func(c *hangar.Component) { c.Spec = "" }), "spec is not a JSON object"},
		{"spec not an object", with(func(c *hangar.Component) { c.Spec = `["command"]` }), "spec is not a JSON object"},
		{"spec null", with(func(c *hangar.Component) { c.Spec = `null` }), "spec is not a JSON object"},
		{"spec truncated", with(func(c *hangar.Component) { c.Spec = `{"command":` }), "spec is not a JSON object"},
		{"NUL escape in spec", with(func(c *hangar.Component) { c.Spec = `{"command":"a\u0000b"}` }), "NUL"},
		{"lone surrogate in spec", with(func(c *hangar.Component) { c.Spec = `{"command":"\ud800"}` }), "surrogate"},
		{"bad UTF-8 spec", with(func(c *hangar.Component) { c.Spec = "{\"command\":\"\xff\"}" }), "not valid UTF-8"},
		{"big spec", with(func(c *hangar.Component) {
			c.Spec = `{"command":"` + strings.Repeat("x", hangar.MaxComponentSpecSize) + `"}`
		}), "the limit is 1048576"},
		{"bad code digest", with(func(c *hangar.Component) { c.Code = "md5:abc" }), "code:"},
		{"long display name", with(func(c *hangar.Component) { c.DisplayName = strings.Repeat("d", 257) }), "display_name is 257 bytes"},
		{"NUL in description", with(func(c *hangar.Component) { c.Description = "\x00" }), "description contains a NUL"},
		{"long tag value", with(func(c *hangar.Component) { c.Tags = map[string]string{"k": strings.Repeat("v", 4097)} }), "tag value is 4097 bytes"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Components.CreateComponent(ctx, tt.c)
			wantCode(t, "create", err, hangar.EINVALID)
			if msg := hangar.ErrorMessage(err); !strings.Contains(msg, tt.want) {
				t.Errorf("got message %q, want it to contain %q", msg, tt.want)
			}
		})
	}
	if names, _, _ := componentOps.list(ctx, s, ws, hangar.ListOptions{}); len(names) != 0 {
		t.Errorf("after bad input: list %v, want none", versionLabels(names))
	}
}
