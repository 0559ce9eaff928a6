package httpapi

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"testing"

	"github.com/hangar-ml/hangar"
)

// numbers is a list of 1..n in pages of two; the page token is the next
// number. It records the options it was called with.
type numbers struct {
	n     int
	fail  int // fail when asked for the page starting here (0: never)
	calls []hangar.ListOptions
}

func (l *numbers) list(_ context.Context, _ struct{}, opt hangar.ListOptions) (*hangar.Page[int], error) {
	l.calls = append(l.calls, opt)
	start := 1
	if opt.PageToken != "" {
		start, _ = strconv.Atoi(opt.PageToken)
	}
	if start == l.fail {
		return nil, errors.New("store down")
	}
	page := &hangar.Page[int]{}
	for i := start; i <= l.n && len(page.Items) < 2; i++ {
		page.Items = append(page.Items, i)
	}
	if next := start + 2; next <= l.n {
		page.NextPageToken = strconv.Itoa(next)
	}
	return page, nil
}

func TestAllItems(t *testing.T) {
	ctx := t.Context()
	l := &numbers{n: 5}
	got, err := collect(allItems(ctx, struct{}{}, l.list), nil)
	if err != nil || !slices.Equal(got, []int{1, 2, 3, 4, 5}) {
		t.Fatalf("allItems = %v, %v; want 1..5", got, err)
	}
	if len(l.calls) != 3 || l.calls[0] != (hangar.ListOptions{MaxResults: hangar.MaxMaxResults}) || l.calls[2].PageToken != "5" {
		t.Errorf("calls %+v, want three pages of the largest size following the tokens", l.calls)
	}

	l = &numbers{n: 5}
	for i := range allItems(ctx, struct{}{}, l.list) {
		if i == 3 {
			break
		}
	}
	if len(l.calls) != 2 {
		t.Errorf("stopping at 3 asked for %d pages, want 2", len(l.calls))
	}

	l = &numbers{n: 5, fail: 3}
	if got, err := collect(allItems(ctx, struct{}{}, l.list), nil); err == nil || got != nil {
		t.Errorf("failing list: %v, %v; want the error and no items", got, err)
	}

	odd, err := collect(allItems(ctx, struct{}{}, (&numbers{n: 5}).list), func(i int) bool { return i%2 == 1 })
	if err != nil || !slices.Equal(odd, []int{1, 3, 5}) {
		t.Errorf("collect odd = %v, %v", odd, err)
	}
}

func TestServePage(t *testing.T) {
	empty := func(context.Context, struct{}, hangar.ListOptions) (*hangar.Page[int], error) {
		return &hangar.Page[int]{}, nil
	}
	none := func(context.Context, struct{}, hangar.ListOptions) (*hangar.Page[int], error) { return nil, nil }
	var seen hangar.ListOptions
	spy := func(_ context.Context, _ struct{}, opt hangar.ListOptions) (*hangar.Page[int], error) {
		seen = opt
		return &hangar.Page[int]{Items: []int{7}, NextPageToken: "n"}, nil
	}
	tests := []struct {
		name   string
		list   listFunc[struct{}, int]
		query  string
		status int
		body   string
	}{
		{"empty page", empty, "", http.StatusOK, `{"value":[]}` + "\n"},
		{"no page", none, "", http.StatusOK, `{"value":[]}` + "\n"},
		{"a page", spy, "?max_results=3&page_token=abc", http.StatusOK, `{"value":[7],"next_page_token":"n"}` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			if err := servePage(rec, httptest.NewRequest(http.MethodGet, "/"+tt.query, nil), struct{}{}, tt.list); err != nil {
				t.Fatal(err)
			}
			if rec.Code != tt.status || rec.Body.String() != tt.body {
				t.Errorf("answer %d %q, want %d %q", rec.Code, rec.Body, tt.status, tt.body)
			}
		})
	}
	if seen != (hangar.ListOptions{MaxResults: 3, PageToken: "abc"}) {
		t.Errorf("the list was asked for %+v, want max 3 after abc", seen)
	}
	err := servePage(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/?max_results=0", nil), struct{}{}, spy)
	if hangar.ErrorCode(err) != hangar.EINVALID {
		t.Errorf("max_results=0: %v, want invalid", err)
	}
}
