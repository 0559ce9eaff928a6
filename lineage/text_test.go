package lineage_test

import (
	"strings"
	"testing"

	"github.com/hangar-ml/hangar/lineage"
)

// TestWriteText prints a graph as a tree from the root back, each shared
// node once, long values cut.
func TestWriteText(t *testing.T) {
	g := &lineage.Graph{
		Root: "model:m:1",
		Nodes: []lineage.Node{
			{ID: "model:m:1", Kind: lineage.KindModelVersion, Label: "m:1"},
			{ID: "run:r", Kind: lineage.KindRun, Label: "train", Attrs: map[string]string{"status": "FINISHED", "param.features": strings.Repeat("é", 50)}},
			{ID: "job:p.a", Kind: lineage.KindJob, Label: "p.a"},
			{ID: "job:p.b", Kind: lineage.KindJob, Label: "p.b"},
			{ID: "data:d:3", Kind: lineage.KindData, Label: "d:3", Attrs: map[string]string{"manifest": "sha256:ab"}},
		},
		Edges: []lineage.Edge{
			{From: "run:r", To: "model:m:1", Label: "registered from"},
			{From: "job:p.b", To: "run:r", Label: "tracked"},
			{From: "job:p.a", To: "job:p.b", Label: "input x ← output y"},
			{From: "data:d:3", To: "job:p.a", Label: "input raw"},
			{From: "data:d:3", To: "job:p.b", Label: "input raw"},
		},
	}
	var b strings.Builder
	if err := g.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	want := "model_version m:1\n" +
		"  ← registered from: run train (status FINISHED, param.features=" + strings.Repeat("é", 37) + "…)\n" +
		"    ← tracked: job p.b\n" +
		"      ← input x ← output y: job p.a\n" +
		"        ← input raw: data d:3 (manifest sha256:ab)\n" +
		"      ← input raw: data d:3 (manifest sha256:ab) (see above)\n"
	if got := b.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
