package hangar_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/hangar-ml/hangar"
)

func TestComponentHash(t *testing.T) {
	c := hangar.Component{Workspace: "default", Name: "c", Version: "1", Spec: `{"command":"true"}`, Code: "sha256:aa"}
	// Computed independently, as TestEnvironmentHash's.
	const golden = "sha256:bcb5c0d032be69194f12924a292b3d8db712eb4207f839e01e69deb204f56d8f"
	if got := hangar.ComponentHash(&c); got != golden {
		t.Fatalf("hash: got %s, want %s", got, golden)
	}
	meta := c
	meta.Name, meta.Version, meta.DisplayName, meta.Description, meta.Tags, meta.IsDeterministic = "d", "2", "x", "y", map[string]string{"k": "v"}, true
	if got := hangar.ComponentHash(&meta); got != golden {
		t.Errorf("hash with other metadata: got %s, want %s", got, golden)
	}
	for _, other := range []hangar.Component{
		{Spec: `{"command":"true"}`},
		{Spec: `{"command": "true"}`, Code: "sha256:aa"}, // the spec's bytes count: normalize before storing
		{Spec: `{"command":"true"}sha256:aa`},
	} {
		if got := hangar.ComponentHash(&other); got == golden {
			t.Errorf("%+v: hash equals the base's", other)
		}
	}
}

func TestComponentValidate(t *testing.T) {
	ok := func() *hangar.Component {
		return &hangar.Component{Workspace: "default", Name: "train_model", Spec: `{"command":"python train.py"}`}
	}
	for _, tt := range []struct {
		name string
		edit func(c *hangar.Component)
		want string
	}{
		{"minimal", func(c *hangar.Component) {}, ""},
		{"everything", func(c *hangar.Component) {
			c.Version, c.DisplayName, c.Description, c.Tags = "2", "Train", "d", map[string]string{"a": "b"}
			c.Code, c.IsDeterministic = hangar.Digest("sha256:"+strings.Repeat("f", 64)), true
		}, ""},
		{"empty object", func(c *hangar.Component) { c.Spec = `{}` }, ""},
		{"largest spec", func(c *hangar.Component) {
			c.Spec = `{"c":"` + strings.Repeat("x", hangar.MaxComponentSpecSize-8) + `"}`
		}, ""},
		{"spec one past", func(c *hangar.Component) {
			c.Spec = `{"c":"` + strings.Repeat("x", hangar.MaxComponentSpecSize-7) + `"}`
		}, "spec is 1048577 bytes; the limit is 1048576"},
		{"bad name", func(c *hangar.Component) { c.Name = "" }, "invalid component name"},
		{"bad version", func(c *hangar.Component) { c.Version = "1 2" }, "invalid component version"},
		{"array spec", func(c *hangar.Component) { c.Spec = `[]` }, "not a JSON object"},
		{"string spec", func(c *hangar.Component) { c.Spec = `"x"` }, "not a JSON object"},
		{"trailing garbage", func(c *hangar.Component) { c.Spec = `{} {}` }, "not a JSON object"},
		{"NUL escape", func(c *hangar.Component) { c.Spec = `{"a\u0000":1}` }, "NUL"},
		{"bad code", func(c *hangar.Component) { c.Code = "sha256:xyz" }, "code:"},
		{"long display name", func(c *hangar.Component) { c.DisplayName = strings.Repeat("n", 257) }, "display_name is 257 bytes"},
		{"tag key NUL", func(c *hangar.Component) { c.Tags = map[string]string{"\x00": ""} }, "tag key contains a NUL"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := ok()
			tt.edit(c)
			err := c.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			if hangar.ErrorCode(err) != hangar.EINVALID || !strings.Contains(hangar.ErrorMessage(err), tt.want) {
				t.Errorf("Validate = %v, want EINVALID containing %q", err, tt.want)
			}
		})
	}
}

// FuzzComponentSpec checks the spec rule: whatever Validate accepts is a
// JSON object that encoding/json decodes and re-encodes without losing
// text (no NUL, no replaced character).
func FuzzComponentSpec(f *testing.F) {
	for _, s := range []string{`{}`, `{"command":"true"}`, `[]`, `null`, `{"a":"\u0000"}`, `{"a":"\ud800"}`, "{\"a\":\"\xff\"}", `{"a":1} x`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		c := hangar.Component{Workspace: "default", Name: "c", Spec: spec}
		err := c.Validate()
		if err != nil {
			if hangar.ErrorCode(err) != hangar.EINVALID {
				t.Fatalf("Validate(%q) = %v, want EINVALID or nil", spec, err)
			}
			return
		}
		var obj map[string]any
		if err := json.Unmarshal([]byte(spec), &obj); err != nil || obj == nil {
			t.Fatalf("accepted spec %q does not decode to an object: %v", spec, err)
		}
		b, err := json.Marshal(obj)
		if err != nil {
			t.Fatal(err)
		}
		if strings.ContainsRune(string(b), '\ufffd') && !strings.ContainsRune(spec, '\ufffd') && !strings.Contains(strings.ToLower(spec), `\ufffd`) {
			t.Errorf("accepted spec %q re-encodes with a replacement character: %s", spec, b)
		}
		if strings.Contains(string(b), `\u0000`) {
			t.Errorf("accepted spec %q holds a NUL", spec)
		}
	})
}
