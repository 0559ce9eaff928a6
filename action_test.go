package hangar_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/hangar-ml/hangar"
)

// TestActionsListsEveryConstant reads action.go: every Act constant is in
// Actions, and Actions holds nothing else, so that a new action cannot be
// declared and forgotten by the checks that use the list.
func TestActionsListsEveryConstant(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "action.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var declared []string
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, name := range vs.Names {
				if !strings.HasPrefix(name.Name, "Act") {
					continue
				}
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok {
					t.Fatalf("%s is not a string literal", name.Name)
				}
				v, err := strconv.Unquote(lit.Value)
				if err != nil {
					t.Fatal(err)
				}
				declared = append(declared, v)
			}
		}
	}
	if len(declared) == 0 {
		t.Fatal("action.go declares no Act constants; is it parsed?")
	}
	got := hangar.Actions()
	slices.Sort(declared)
	slices.Sort(got)
	if !slices.Equal(got, declared) {
		t.Errorf("Actions() = %v\nwant the Act constants of action.go: %v", got, declared)
	}
}

// TestActionShape: actions are "<resource>/<verb>" with one "/", as role
// patterns match them, and unique.
func TestActionShape(t *testing.T) {
	shape := regexp.MustCompile(`^[a-z][A-Za-z]*/[a-z][A-Za-z]*$`)
	seen := map[string]bool{}
	for _, a := range hangar.Actions() {
		if !shape.MatchString(a) {
			t.Errorf("action %q is not <resource>/<verb> in lower camel case", a)
		}
		if seen[a] {
			t.Errorf("action %q is declared twice", a)
		}
		seen[a] = true
	}
	if !hangar.IsAction(hangar.ActArtifactWrite) || hangar.IsAction("artifacts/list") || hangar.IsAction("") {
		t.Error("IsAction misjudges")
	}
	// Actions returns the caller's own slice.
	a := hangar.Actions()
	a[0] = "changed/by-caller"
	if hangar.Actions()[0] == "changed/by-caller" {
		t.Error("Actions shares its slice between callers")
	}
}

// TestRolePatternsMatchActions: every pattern of a built-in role matches at
// least one declared action, so a misspelt pattern ("approval/*") cannot
// silently grant or deny nothing.
func TestRolePatternsMatchActions(t *testing.T) {
	for _, r := range hangar.BuiltinRoles() {
		for _, p := range slices.Concat(r.Actions, r.NotActions) {
			matched := false
			for _, a := range hangar.Actions() {
				if (hangar.Role{Actions: []string{p}}).Allows(a) {
					matched = true
					break
				}
			}
			if !matched {
				t.Errorf("role %s: pattern %q matches no declared action", r.Name, p)
			}
		}
	}
}
