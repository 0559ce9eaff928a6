package hangar_test

import (
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/hangar-ml/hangar"

// adapters are the packages that bind Hangar to one outside thing (a
// database, the disk, a cipher, HTTP). Only cmd/ wires them together, so no
// other package may import one; internal/ test support may.
var adapters = map[string]bool{
	"sqlstore": true, "disk": true, "seal": true, "httpapi": true, "s3store": true, "ui": true, "terraform": true,
}

// outside lists, for each package outside cmd/ and internal/, the modules
// from outside the standard library and this module it may import (by
// module path prefix). A package not listed may import none: a new outside
// dependency is a decision, made here on purpose.
var outside = map[string][]string{
	"sqlstore": {"github.com/jackc/pgx/v5", "modernc.org/sqlite", "github.com/pressly/goose/v3"},
	"httpapi":  {"github.com/prometheus/client_golang"},
	"s3store":  {"github.com/minio/minio-go/v7"},
	"serving":  {"github.com/prometheus/client_golang"}, // its metrics go to the server's registry
	"release":  {"github.com/prometheus/client_golang"}, // labels each workspace gateway's metrics
	"tabular":  {"github.com/parquet-go/parquet-go"},
	"mlmodel":  {"go.yaml.in/yaml/v3"},
	"quality":  {"go.yaml.in/yaml/v3"},
	"jobspec":  {"go.yaml.in/yaml/v3"},
	"gate":     {"go.yaml.in/yaml/v3"},
	"schedule": {"go.yaml.in/yaml/v3"},
	"profile":  nil, // the standard library, the root and tabular only
}

// databaseDrivers may be imported by sqlstore (and cmd/, internal/) only:
// engines work through the root's service interfaces, never a database.
var databaseDrivers = []string{
	"github.com/jackc/pgx", "github.com/lib/pq", "modernc.org/sqlite", "github.com/mattn/go-sqlite3",
	"database/sql", "github.com/pressly/goose",
}

type goPackage struct {
	ImportPath string
	Name       string
	Doc        string
	Imports    []string
}

// listPackages runs `go list` over the module (imports of non-test files).
func listPackages(t *testing.T) []goPackage {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go tool not on PATH")
	}
	out, err := exec.Command("go", "list", "-e", "-json=ImportPath,Name,Doc,Imports", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []goPackage
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p goPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			return pkgs
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
}

// isStdlib reports whether an import path is in the standard library: its
// first element has no dot.
func isStdlib(imp string) bool {
	first, _, _ := strings.Cut(imp, "/")
	return !strings.Contains(first, ".")
}

// layoutViolations applies the dependency rules of ARCHITECTURE.md to the
// imports of one package (rel is its path inside the module, "" for the root).
func layoutViolations(rel string, imports []string) []string {
	var bad []string
	top, _, _ := strings.Cut(rel, "/")
	wiring := top == "cmd" || top == "internal"
	for _, imp := range imports {
		own := imp == module || strings.HasPrefix(imp, module+"/")
		dep := strings.TrimPrefix(strings.TrimPrefix(imp, module), "/")
		depTop, _, _ := strings.Cut(dep, "/")
		switch {
		case rel == "" && !isStdlib(imp):
			bad = append(bad, "the root package imports "+imp+"; it may import only the standard library")
		case own && depTop == "cmd":
			bad = append(bad, rel+" imports "+imp+"; nothing may import cmd/")
		case own && adapters[depTop] && !wiring:
			bad = append(bad, rel+" imports the adapter "+imp+"; only cmd/ wires adapters")
		case !own && !wiring && top != "sqlstore" && slices.ContainsFunc(databaseDrivers, func(d string) bool { return imp == d || strings.HasPrefix(imp, d+"/") }):
			bad = append(bad, rel+" imports the database package "+imp+"; only sqlstore talks to databases")
		case !own && !wiring && rel != "" && !isStdlib(imp) &&
			!slices.ContainsFunc(outside[top], func(m string) bool { return imp == m || strings.HasPrefix(imp, m+"/") }):
			bad = append(bad, rel+" imports "+imp+", an outside module not in its allowed list (layout_test.go: outside)")
		}
	}
	return bad
}

// TestLayout enforces the dependency rules on the real module with `go list`.
func TestLayout(t *testing.T) {
	for _, p := range listPackages(t) {
		rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		for _, msg := range layoutViolations(rel, p.Imports) {
			t.Error(msg)
		}
	}
}

// TestLayoutRules breaks each rule once on purpose, so the guard above is
// known to fail when its rule is broken.
func TestLayoutRules(t *testing.T) {
	tests := []struct {
		name    string
		rel     string
		imports []string
		want    string // substring of the one violation; "" for none
	}{
		{"root imports stdlib", "", []string{"context", "crypto/sha256"}, ""},
		{"root imports an outside module", "", []string{"github.com/google/uuid"}, "only the standard library"},
		{"root imports a package of ours", "", []string{module + "/tabular"}, "only the standard library"},
		{"engine imports cmd", "trees", []string{module + "/cmd/hangar"}, "nothing may import cmd/"},
		{"engine imports an adapter", "gbdt", []string{module + "/sqlstore"}, "only cmd/ wires adapters"},
		{"adapter imports an adapter", "httpapi", []string{module + "/sqlstore"}, "only cmd/ wires adapters"},
		{"cmd wires adapters", "cmd/hangar", []string{module + "/sqlstore", module + "/httpapi", "github.com/spf13/cobra"}, ""},
		{"internal uses adapters", "internal/storetest", []string{module + "/sqlstore"}, ""},
		{"engine imports a database driver", "train", []string{"github.com/jackc/pgx/v5/stdlib"}, "only sqlstore talks to databases"},
		{"engine imports database/sql", "score", []string{"database/sql"}, "only sqlstore talks to databases"},
		{"sqlstore imports its drivers", "sqlstore", []string{"database/sql", "modernc.org/sqlite", "github.com/jackc/pgx/v5/pgconn"}, ""},
		{"httpapi imports a driver", "httpapi", []string{"modernc.org/sqlite"}, "only sqlstore talks to databases"},
		{"engine imports an unlisted module", "trees", []string{"gonum.org/v1/gonum/stat"}, "not in its allowed list"},
		{"package imports its listed module", "tabular", []string{"github.com/parquet-go/parquet-go/format"}, ""},
		{"profile reads through tabular", "profile", []string{module + "/tabular", "encoding/csv"}, ""},
		{"profile imports Parquet itself", "profile", []string{"github.com/parquet-go/parquet-go"}, "not in its allowed list"},
		{"listed prefix is a whole module path", "httpapi", []string{"github.com/prometheus/client_golang_fork"}, "not in its allowed list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := layoutViolations(tt.rel, tt.imports)
			switch {
			case tt.want == "" && len(got) > 0:
				t.Errorf("violations %q, want none", got)
			case tt.want != "" && (len(got) != 1 || !strings.Contains(got[0], tt.want)):
				t.Errorf("violations %q, want one containing %q", got, tt.want)
			}
		})
	}
}

// docProblem says what is wrong with a package's doc comment, or "". Every
// package has one, and it starts the way godoc expects: "Package <name> …",
// or "Command <dir> …" for a main package.
func docProblem(importPath, name, doc string) string {
	want := "Package " + name + " "
	if name == "main" {
		want = "Command " + importPath[strings.LastIndex(importPath, "/")+1:] + " "
	}
	switch {
	case strings.TrimSpace(doc) == "":
		return importPath + " has no package doc comment"
	case !strings.HasPrefix(doc, want):
		return importPath + "'s package doc starts " + strconvQuote(doc, 40) + "; want " + strconvQuote(want, 40)
	}
	return ""
}

func strconvQuote(s string, n int) string {
	if len(s) > n {
		s = s[:n] + "…"
	}
	return `"` + s + `"`
}

// TestPackageDocs requires a package doc comment on every package.
func TestPackageDocs(t *testing.T) {
	for _, p := range listPackages(t) {
		if msg := docProblem(p.ImportPath, p.Name, p.Doc); msg != "" {
			t.Error(msg)
		}
	}
}

// TestPackageDocRule breaks the doc rule on purpose.
func TestPackageDocRule(t *testing.T) {
	tests := []struct {
		path, name, doc string
		ok              bool
	}{
		{module + "/trees", "trees", "Package trees is the runtime.", true},
		{module + "/cmd/hangar", "main", "Command hangar is the binary.", true},
		{module + "/trees", "trees", "", false},
		{module + "/trees", "trees", "Trees are fast.", false},
		{module + "/trees", "trees", "Package tree is misnamed.", false},
		{module + "/cmd/hangar", "main", "Package main is wrong for a command.", false},
	}
	for _, tt := range tests {
		if got := docProblem(tt.path, tt.name, tt.doc) == ""; got != tt.ok {
			t.Errorf("docProblem(%q, %q, %q) ok = %v, want %v", tt.path, tt.name, tt.doc, got, tt.ok)
		}
	}
}
