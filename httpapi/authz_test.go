package httpapi_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/hangar-ml/hangar"
)

// TestEveryRouteIsAuthorized walks the whole route table, so that a new
// route is covered the moment it is declared: every route but the public
// ones answers 401 without a token and 403 to a valid token whose identity
// holds no role, and changes nothing; public routes answer without a token.
func TestEveryRouteIsAuthorized(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	// A valid token of an identity without any role: issue it with one and
	// remove the assignment through the store.
	norole, err := e.admin.IssueToken(ctx, &hangar.TokenRequest{Name: "norole", Role: hangar.RoleReader, Workspace: hangar.DefaultWorkspace})
	if err != nil {
		t.Fatal(err)
	}
	asg, err := e.api.Roles.RoleAssignmentsOf(ctx, norole.IdentityID)
	if err != nil || len(asg) != 1 {
		t.Fatalf("assignments of norole: %v, %v", asg, err)
	}
	if err := e.api.Roles.RemoveRoleAssignment(ctx, asg[0].ID); err != nil {
		t.Fatal(err)
	}

	// Wildcards name things that exist where that matters: an outsider must
	// be refused before anyone looks.
	wildcard := regexp.MustCompile(`\{([a-z]+)(\.\.\.)?\}`)
	fill := func(path string) string {
		return wildcard.ReplaceAllStringFunc(path, func(w string) string {
			switch wildcard.FindStringSubmatch(w)[1] {
			case "ws":
				return hangar.DefaultWorkspace
			case "digest":
				return "sha256:" + strings.Repeat("0", 64)
			}
			return "x1x"
		})
	}
	tests := []struct {
		name, token      string
		status           int
		code, mlflowCode string
		message          string
	}{
		{"no token", "", http.StatusUnauthorized, hangar.EUNAUTHORIZED, "UNAUTHENTICATED", "missing bearer token"},
		{"no role", norole.Secret, http.StatusForbidden, hangar.EFORBIDDEN, "PERMISSION_DENIED", "identity norole lacks "},
	}
	routes := e.api.Routes()
	if len(routes) < 20 {
		t.Fatalf("the route table has %d routes; is it walked?", len(routes))
	}
	for _, rt := range routes {
		method, path, _ := strings.Cut(rt.Pattern, " ")
		path = fill(path)
		if rt.Public {
			if r := e.do(method, path, "", ""); r.status != http.StatusOK {
				t.Errorf("public %s %s without a token: status %d (%s), want 200", method, path, r.status, r.body)
			}
			continue
		}
		for _, tt := range tests {
			t.Run(rt.Pattern+"/"+tt.name, func(t *testing.T) {
				before := e.snapshot()
				r := e.do(method, path, tt.token, `{}`)
				if r.status != tt.status {
					t.Fatalf("%s %s: status %d (%s), want %d", method, path, r.status, r.body, tt.status)
				}
				code, msg, want := "", "", tt.code
				if rt.MLflow {
					var env struct {
						ErrorCode string `json:"error_code"`
						Message   string `json:"message"`
					}
					json.Unmarshal(r.body, &env)
					code, msg, want = env.ErrorCode, env.Message, tt.mlflowCode
				} else {
					code, msg = r.envelope(t)
				}
				if code != want || !strings.HasPrefix(msg, tt.message) {
					t.Errorf("%s %s: error %s %q, want %s starting %q", method, path, code, msg, want, tt.message)
				}
				if after := e.snapshot(); after != before {
					t.Errorf("%s %s changed the state:\nbefore:\n%s\nafter:\n%s", method, path, before, after)
				}
			})
		}
	}
}
