package storetest

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"testing"

	"github.com/hangar-ml/hangar"
)

// lister lists one page and returns the items' keys.
type lister func(ctx context.Context, opt hangar.ListOptions) (keys []string, next string, err error)

// listOf adapts a list method to a lister that keys each item with key.
func listOf[T any](list func(ctx context.Context, opt hangar.ListOptions) (*hangar.Page[T], error), key func(T) string) lister {
	return func(ctx context.Context, opt hangar.ListOptions) ([]string, string, error) {
		p, err := list(ctx, opt)
		if err != nil {
			return nil, "", err
		}
		keys := []string{}
		for _, item := range p.Items {
			keys = append(keys, key(item))
		}
		return keys, p.NextPageToken, nil
	}
}

// testPagination pages through every list, unfiltered and filtered, in
// pages of 1, 2 and 3: every page is full but the last, and together the
// pages hold every item exactly once, in the order of the whole list. A
// page token works only on the list that issued it, and malformed ones
// are EINVALID.
func testPagination(t *testing.T, s *Store) {
	ctx := actorCtx(t)
	var (
		tokens, defaultTokens []string
		wantSecretEvents      []string
	)
	for i := range 7 {
		if err := s.Workspaces.CreateWorkspace(ctx, &hangar.Workspace{Name: fmt.Sprintf("ws-%02d", i)}); err != nil {
			t.Fatal(err)
		}
		if err := s.Identities.CreateIdentity(ctx, &hangar.Identity{Name: fmt.Sprintf("user-%02d", i), Kind: hangar.KindUser}); err != nil {
			t.Fatal(err)
		}
		// tok-00 holds its role on the default workspace, so its three
		// tokens are that workspace's; tok-01 and tok-02 are server-wide.
		req := &hangar.TokenRequest{Name: fmt.Sprintf("tok-%02d", i%3), Role: hangar.RoleReader}
		if i%3 == 0 {
			req.Workspace = hangar.DefaultWorkspace
		}
		hash, prefix := tokenHash(t)
		tok, err := s.Credentials.CreateToken(ctx, req, hash, prefix)
		if err != nil {
			t.Fatal(err)
		}
		tokens = append(tokens, tok.ID)
		if i%3 == 0 {
			defaultTokens = append(defaultTokens, tok.ID)
		}
		name := fmt.Sprintf("s-%02d", i)
		if _, err := s.Secrets.SetSecret(ctx, hangar.DefaultWorkspace, name, []byte("v")); err != nil {
			t.Fatal(err)
		}
		wantSecretEvents = append(wantSecretEvents, "secrets/"+name)
		if err := s.Roles.AssignRole(ctx, &hangar.RoleAssignment{IdentityName: fmt.Sprintf("user-%02d", i), Role: hangar.RoleReader, Workspace: hangar.DefaultWorkspace}); err != nil {
			t.Fatal(err)
		}
	}
	// Tokens made in one microsecond sort by id: give tok-01's tokens the
	// creation time of the first token, so three tokens tie.
	exec(t, s, `UPDATE tokens SET created_at = (SELECT MIN(created_at) FROM tokens) WHERE name = ?`, "tok-01")

	events := allEvents(t, s)
	var allSeqs, defaultSeqs []string
	for _, e := range events {
		allSeqs = append(allSeqs, fmt.Sprint(e.Seq))
		if e.Workspace == hangar.DefaultWorkspace {
			defaultSeqs = append(defaultSeqs, fmt.Sprint(e.Seq))
		}
	}
	if v, err := s.Audit.VerifyAudit(ctx); err != nil || v.Events != int64(len(events)) {
		t.Fatalf("verify: %+v, %v; want %d events, as listed", v, err, len(events))
	}
	seq := func(e *hangar.Event) string { return fmt.Sprint(e.Seq) }
	assignment := func(a *hangar.RoleAssignment) string { return a.IdentityName + "/" + a.Workspace + "/" + a.Role }
	tokenID := func(tok *hangar.Token) string { return tok.ID }
	listTokens := func(f hangar.TokenFilter) lister {
		return listOf(func(ctx context.Context, opt hangar.ListOptions) (*hangar.Page[*hangar.Token], error) {
			return s.Identities.ListTokens(ctx, f, opt)
		}, tokenID)
	}
	listAssignments := func(f hangar.RoleAssignmentFilter) lister {
		return listOf(func(ctx context.Context, opt hangar.ListOptions) (*hangar.Page[*hangar.RoleAssignment], error) {
			return s.Roles.ListRoleAssignments(ctx, f, opt)
		}, assignment)
	}
	listEvents := func(f hangar.EventFilter, key func(*hangar.Event) string) lister {
		return listOf(func(ctx context.Context, opt hangar.ListOptions) (*hangar.Page[*hangar.Event], error) {
			return s.Audit.ListEvents(ctx, f, opt)
		}, key)
	}
	// The lists unfiltered, by the name of their page tokens.
	lists := map[string]lister{
		"workspaces":      listOf(s.Workspaces.ListWorkspaces, func(w *hangar.Workspace) string { return w.Name }),
		"identities":      listOf(s.Identities.ListIdentities, func(id *hangar.Identity) string { return id.Name }),
		"tokens":          listTokens(hangar.TokenFilter{}),
		"roleAssignments": listAssignments(hangar.RoleAssignmentFilter{}),
		"secrets": listOf(func(ctx context.Context, opt hangar.ListOptions) (*hangar.Page[*hangar.Secret], error) {
			return s.Secrets.ListSecrets(ctx, hangar.DefaultWorkspace, opt)
		}, func(sec *hangar.Secret) string { return sec.Name }),
		"events": listEvents(hangar.EventFilter{}, seq),
	}
	var users, defaultAssignments []string
	for i := range 7 {
		users = append(users, fmt.Sprintf("user-%02d", i))
		defaultAssignments = append(defaultAssignments, fmt.Sprintf("user-%02d/default/Reader", i))
	}

	for _, tc := range []struct {
		name string
		ls   lister
		want []string // every item, in any order
	}{
		{"workspaces", lists["workspaces"], []string{"default", "ws-00", "ws-01", "ws-02", "ws-03", "ws-04", "ws-05", "ws-06"}},
		{"identities", lists["identities"], append([]string{"tok-00", "tok-01", "tok-02"}, users...)},
		{"tokens", lists["tokens"], tokens},
		{"tokens of default", listTokens(hangar.TokenFilter{Workspace: hangar.DefaultWorkspace}), defaultTokens},
		{"role assignments", lists["roleAssignments"], append([]string{"tok-00/default/Reader", "tok-01//Reader", "tok-02//Reader"}, defaultAssignments...)},
		{"role assignments on default", listAssignments(hangar.RoleAssignmentFilter{Workspace: hangar.DefaultWorkspace}), append([]string{"tok-00/default/Reader"}, defaultAssignments...)},
		{"secrets", lists["secrets"], []string{"s-00", "s-01", "s-02", "s-03", "s-04", "s-05", "s-06"}},
		{"events", lists["events"], allSeqs},
		{"events of default", listEvents(hangar.EventFilter{Workspace: hangar.DefaultWorkspace}, seq), defaultSeqs},
		{"events of secrets", listEvents(hangar.EventFilter{Target: "secrets/"}, func(e *hangar.Event) string { return e.Target }), wantSecretEvents},
	} {
		t.Run(tc.name, func(t *testing.T) {
			all, next, err := tc.ls(ctx, hangar.ListOptions{MaxResults: hangar.MaxMaxResults})
			if err != nil || next != "" {
				t.Fatalf("whole list: %v (next %q)", err, next)
			}
			if got, want := sorted(all), sorted(tc.want); !slices.Equal(got, want) {
				t.Fatalf("whole list:\n got %v\nwant %v", got, want)
			}
			for _, size := range []int{1, 2, 3} {
				paged := pageThrough(t, tc.ls, size, len(all))
				if !slices.Equal(paged, all) {
					t.Errorf("pages of %d:\n got %v\nwant %v", size, paged, all)
				}
			}
			for _, bad := range []struct{ what, token string }{
				{"not base64", "!!not-a-token!!"},
				{"not json", base64.RawURLEncoding.EncodeToString([]byte("garbage"))},
				{"wrong shape", base64.RawURLEncoding.EncodeToString([]byte(`{"l":"` + tc.name + `","k":[]}`))},
			} {
				_, _, err := tc.ls(ctx, hangar.ListOptions{PageToken: bad.token})
				wantCode(t, "page token "+bad.what, err, hangar.EINVALID)
			}
			_, _, err = tc.ls(ctx, hangar.ListOptions{MaxResults: -1})
			wantCode(t, "negative max_results", err, hangar.EINVALID)
		})
	}

	// A token of one list is not a token of another.
	first := map[string]string{}
	for name, ls := range lists {
		_, next, err := ls(ctx, hangar.ListOptions{MaxResults: 1})
		if err != nil || next == "" {
			t.Fatalf("first page of %s: %v (next %q)", name, err, next)
		}
		first[name] = next
	}
	for from, token := range first {
		for to, ls := range lists {
			_, _, err := ls(ctx, hangar.ListOptions{PageToken: token})
			want := hangar.EINVALID
			if from == to {
				want = ""
			}
			wantCode(t, from+" token for "+to, err, want)
		}
	}
}

// pageThrough lists every page of size items and returns their keys,
// checking that every page but the last is full and that no key repeats.
// n bounds the number of pages (the list has n items).
func pageThrough(t *testing.T, ls lister, size, n int) []string {
	t.Helper()
	var keys []string
	seen := map[string]bool{}
	opt := hangar.ListOptions{MaxResults: size}
	for page := 0; ; page++ {
		if page > n {
			t.Fatalf("pages of %d: more than %d pages for %d items", size, n, n)
		}
		got, next, err := ls(t.Context(), opt)
		if err != nil {
			t.Fatalf("pages of %d, page %d: %v", size, page, err)
		}
		if len(got) > size || (next != "" && len(got) != size) {
			t.Fatalf("pages of %d, page %d: got %d items (next %q), want %d on every page but the last", size, page, len(got), next, size)
		}
		for _, k := range got {
			if seen[k] {
				t.Errorf("pages of %d, page %d: %s again", size, page, k)
			}
			seen[k] = true
		}
		keys = append(keys, got...)
		if next == "" {
			return keys
		}
		opt.PageToken = next
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
