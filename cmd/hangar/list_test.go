package main

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/httpapi"
)

// item is a listed thing with the fields a table shows.
type item struct {
	Name string `json:"name"`
	N    int    `json:"n"`
}

// fakeList serves n items in pages of at most serverPage (the server's
// default and cap), with the index of the next item as the page token, and
// records the page size of every call.
type fakeList struct {
	n, serverPage int
	asked         []int
}

func (f *fakeList) list(_ context.Context, opt hangar.ListOptions) (*hangar.Page[item], error) {
	f.asked = append(f.asked, opt.MaxResults)
	start := 0
	if opt.PageToken != "" {
		var err error
		if start, err = strconv.Atoi(opt.PageToken); err != nil {
			return nil, hangar.Errorf(hangar.EINVALID, "bad token %q", opt.PageToken)
		}
	}
	size := f.serverPage
	if opt.MaxResults > 0 {
		size = min(opt.MaxResults, f.serverPage)
	}
	page := &hangar.Page[item]{Items: []item{}}
	for i := start; i < min(start+size, f.n); i++ {
		page.Items = append(page.Items, item{Name: fmt.Sprintf("item-%02d", i), N: i})
	}
	if start+size < f.n {
		page.NextPageToken = strconv.Itoa(start + size)
	}
	return page, nil
}

func TestCollect(t *testing.T) {
	for _, tc := range []struct {
		n, serverPage, maxResults int
		want                      int
		asked                     string
	}{
		{n: 0, serverPage: 3, want: 0, asked: "[0]"},
		{n: 7, serverPage: 3, want: 7, asked: "[0 0 0]"},
		{n: 6, serverPage: 3, want: 6, asked: "[0 0]"},
		{n: 7, serverPage: 3, maxResults: 5, want: 5, asked: "[5 2]"},
		{n: 7, serverPage: 10, maxResults: 5, want: 5, asked: "[5]"},
		{n: 3, serverPage: 10, maxResults: 5, want: 3, asked: "[5]"},
		{n: 2500, serverPage: hangar.MaxMaxResults, maxResults: 2100, want: 2100, asked: "[1000 1000 100]"},
	} {
		t.Run(fmt.Sprintf("%d items, pages of %d, max %d", tc.n, tc.serverPage, tc.maxResults), func(t *testing.T) {
			f := &fakeList{n: tc.n, serverPage: tc.serverPage}
			items, err := collect(t.Context(), tc.maxResults, f.list)
			if err != nil {
				t.Fatal(err)
			}
			if len(items) != tc.want {
				t.Fatalf("got %d items, want %d", len(items), tc.want)
			}
			for i, it := range items {
				if it.N != i {
					t.Fatalf("item %d is %+v: skipped or repeated", i, it)
				}
			}
			if got := fmt.Sprint(f.asked); got != tc.asked {
				t.Errorf("asked for pages of %s, want %s", got, tc.asked)
			}
		})
	}
}

// TestListCmd runs a verb made by newListCmd: it pages through the list,
// honours --max-results/-r and prints the columns it was given.
func TestListCmd(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-o", "tsv"}, "item-00\t0\nitem-01\t1\nitem-02\t2\nitem-03\t3\nitem-04\t4\n"},
		{[]string{"-o", "tsv", "-r", "4"}, "item-00\t0\nitem-01\t1\nitem-02\t2\nitem-03\t3\n"},
		{[]string{"-o", "tsv", "--max-results", "1"}, "item-00\t0\n"},
		{[]string{"-o", "table", "-r", "2"}, "NAME     N\nitem-00  0\nitem-01  1\n"},
		{[]string{"-o", "json", "-r", "1"}, "[\n  {\n    \"n\": 0,\n    \"name\": \"item-00\"\n  }\n]\n"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			env := map[string]string{"HANGAR_HOME": t.TempDir(), "HANGAR_URL": "http://127.0.0.1:1"}
			cli := &clientConfig{getenv: func(k string) string { return env[k] }}
			f := &fakeList{n: 5, serverPage: 2}
			cmd := newListCmd(cli, "list", "List items", []string{"name", "n"},
				func(ctx context.Context, c *httpapi.Client, opt hangar.ListOptions) (*hangar.Page[item], error) {
					if c == nil {
						t.Fatal("list got no client")
					}
					return f.list(ctx, opt)
				})
			cli.bindGlobal(cmd)
			var out bytes.Buffer
			cmd.SetOut(&out)
			cmd.SetArgs(tc.args)
			if err := cmd.ExecuteContext(t.Context()); err != nil {
				t.Fatal(err)
			}
			if out.String() != tc.want {
				t.Errorf("output:\n%s\nwant:\n%s", out.String(), tc.want)
			}
		})
	}
}
