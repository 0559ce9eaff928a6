package hangar_test

import (
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
)

// adapters are the packages that bind Hangar to one outside thing (a
// database, the disk, a cipher, HTTP). Only cmd/ wires them together, so no
// other package may import one; internal/ test support may.
var adapters = map[string]bool{
	"sqlstore": true, "disk": true, "seal": true, "httpapi": true, "s3": true, "ui": true, "terraform": true,
}

// TestLayout enforces ../shared/STYLE.md's dependency rules with `go list`:
// the root imports only the standard library; adapters are imported only by
// cmd/ and internal/; nothing imports cmd/.
func TestLayout(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go tool not on PATH")
	}
	const module = "github.com/hangar-ml/hangar"
	out, err := exec.Command("go", "list", "-e", "-json=ImportPath,Imports", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		for _, imp := range p.Imports {
			if !strings.HasPrefix(imp, module+"/") && imp != module {
				continue
			}
			dep := strings.TrimPrefix(strings.TrimPrefix(imp, module), "/")
			top := strings.SplitN(dep, "/", 2)[0]
			switch {
			case rel == "":
				t.Errorf("the root package imports %s; it may import only the standard library", imp)
			case top == "cmd":
				t.Errorf("%s imports %s; nothing may import cmd/", p.ImportPath, imp)
			case adapters[top] && !strings.HasPrefix(rel, "cmd/") && !strings.HasPrefix(rel, "internal/"):
				t.Errorf("%s imports the adapter %s; only cmd/ wires adapters", p.ImportPath, imp)
			}
		}
	}
}
