package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/artifact"
	"github.com/hangar-ml/hangar/httpapi"
)

// TestComponents drives every component route through the client against
// the real server and store, with a spec check as cmd wires it.
func TestComponents(t *testing.T) {
	var checked []string
	e := newEnvWith(t, func(s *httpapi.Server) {
		s.CheckComponentSpec = func(c *hangar.Component) error {
			checked = append(checked, c.Name+":"+c.Version)
			if strings.Contains(c.Spec, "bad") {
				return hangar.Errorf(hangar.EINVALID, "component %s: spec: command names no input", c.Name)
			}
			return nil
		}
	})
	ctx := t.Context()
	ws := hangar.DefaultWorkspace
	ds := e.client("ds", hangar.RoleDataScientist, ws)
	code, _, err := artifact.PutDir(ctx, ds.BlobStore(ws), fstest.MapFS{"train.py": {Data: []byte("print(1)\n")}})
	if err != nil {
		t.Fatal(err)
	}
	in := &hangar.Component{Workspace: ws, Name: "train", DisplayName: "Train", Description: "d", Tags: map[string]string{"k": "v"},
		Spec: `{"type":"command","command":"python train.py"}`, Code: code.Digest, IsDeterministic: true}
	v1, err := ds.CreateComponent(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if v1.Version != "1" || v1.Existing || v1.Code != code.Digest || v1.Spec != in.Spec || !v1.IsDeterministic || v1.DisplayName != "Train" || v1.Hash != hangar.ComponentHash(in) {
		t.Fatalf("create: got %+v", v1)
	}
	if again, err := ds.CreateComponent(ctx, in); err != nil || again.Version != "1" || !again.Existing {
		t.Fatalf("same definition again: got %+v, %v, want the existing version 1", again, err)
	}
	if got := strings.Join(checked, ","); got != "train:,train:" {
		t.Errorf("spec checks: got %s, want train:,train:", got)
	}
	in2 := *in
	in2.Version, in2.Code = "1.1", ""
	v11, err := ds.CreateComponent(ctx, &in2)
	if err != nil || v11.Version != "1.1" || v11.Hash == v1.Hash {
		t.Fatalf("without code: got %+v, %v, want version 1.1 with another hash", v11, err)
	}
	if _, err := ds.CreateComponent(ctx, &in2); hangar.ErrorCode(err) != hangar.ECONFLICT {
		t.Errorf("existing version: got %v, want ECONFLICT", err)
	}
	if got, err := ds.Component(ctx, ws, "train", "1"); err != nil || got.Spec != in.Spec || got.Tags["k"] != "v" {
		t.Errorf("show: got %+v, %v", got, err)
	}
	if latest, err := ds.LatestComponent(ctx, ws, "train"); err != nil || latest.Version != "1.1" {
		t.Errorf("latest: got %+v, %v, want 1.1", latest, err)
	}
	if a, err := ds.SetComponentArchived(ctx, ws, "train", "1.1", true); err != nil || !a.Archived {
		t.Fatalf("archive: got %+v, %v", a, err)
	}
	if latest, err := ds.LatestComponent(ctx, ws, "train"); err != nil || latest.Version != "1" {
		t.Errorf("latest after archiving: got %+v, %v, want 1", latest, err)
	}
	p, err := ds.ListComponentVersions(ctx, ws, "train", true, hangar.ListOptions{})
	if err != nil || len(p.Items) != 2 || p.Items[0].Version != "1.1" || !p.Items[0].Archived {
		t.Errorf("versions with archived: got %+v, %v", p, err)
	}
	p, err = ds.ListComponentVersions(ctx, ws, "train", false, hangar.ListOptions{})
	if err != nil || len(p.Items) != 1 || p.Items[0].Version != "1" {
		t.Errorf("versions: got %+v, %v", p, err)
	}
	if r, err := ds.SetComponentArchived(ctx, ws, "train", "1.1", false); err != nil || r.Archived {
		t.Fatalf("restore: got %+v, %v", r, err)
	}
	if l, err := ds.ListComponents(ctx, ws, hangar.ListOptions{}); err != nil || len(l.Items) != 1 || l.Items[0].Version != "1.1" {
		t.Errorf("list: got %+v, %v", l, err)
	}

	// Refusals create nothing.
	tok := e.token("ds2", hangar.RoleDataScientist, ws)
	const path = "/api/v1/workspaces/default/components/c/versions"
	for _, tt := range []refused{
		{name: "spec check", method: http.MethodPost, path: path, token: tok, body: `{"spec":"{\"command\":\"bad\"}"}`,
			status: http.StatusBadRequest, code: hangar.EINVALID, message: "component c: spec: command names no input"},
		{name: "spec not an object", method: http.MethodPost, path: path, token: tok, body: `{"spec":"[]"}`,
			status: http.StatusBadRequest, code: hangar.EINVALID, message: `component "c": spec is not a JSON object`},
		{name: "code not owned", method: http.MethodPost, path: path, token: tok, body: `{"spec":"{}","code":"sha256:` + strings.Repeat("1", 64) + `"}`,
			status: http.StatusNotFound, code: hangar.ENOTFOUND, message: "not found in workspace"},
		{name: "unknown key", method: http.MethodPost, path: path, token: tok, body: `{"spec":"{}","name":"c"}`,
			status: http.StatusBadRequest, code: hangar.EINVALID, message: `unknown field "name"`},
		{name: "bad version", method: http.MethodPost, path: path, token: tok, body: `{"spec":"{}","version":"-1"}`,
			status: http.StatusBadRequest, code: hangar.EINVALID, message: `invalid component version "-1"`},
	} {
		t.Run(tt.name, func(t *testing.T) { e.check(t, tt) })
	}
	if r := e.do(http.MethodPost, path, tok, `{"spec":"{}"}`); r.status != http.StatusCreated {
		t.Errorf("create: status %d (%s), want 201", r.status, r.body)
	}
}
