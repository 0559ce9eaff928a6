package httpapi

import (
	"context"
	"encoding/base64"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/hangar-ml/hangar"
)

// Every list, on the server and in the client, goes through this file: the
// server reads max_results and page_token once (servePage), the client asks
// for one page the same way for every list (listPage), and both follow
// next_page_token with one loop (allItems).

// listFunc is the shape of every service's list method: one page of the
// items that match the filter f.
type listFunc[F, T any] func(ctx context.Context, f F, opt hangar.ListOptions) (*hangar.Page[T], error)

// unfiltered adapts a list method without a filter to listFunc.
func unfiltered[T any](list func(ctx context.Context, opt hangar.ListOptions) (*hangar.Page[T], error)) listFunc[struct{}, T] {
	return func(ctx context.Context, _ struct{}, opt hangar.ListOptions) (*hangar.Page[T], error) {
		return list(ctx, opt)
	}
}

// servePage is the body of every list route: it reads the page options from
// the query, asks list for the page of items matching f, and writes it with
// "value": [] rather than null when it is empty.
func servePage[F, T any](w http.ResponseWriter, r *http.Request, f F, list listFunc[F, T]) error {
	opt, err := listOptions(r.URL.Query())
	if err != nil {
		return err
	}
	page, err := list(r.Context(), f, opt)
	if err != nil {
		return err
	}
	return writePage(w, page)
}

// listOptions reads max_results and page_token from the query.
func listOptions(q url.Values) (hangar.ListOptions, error) {
	var opt hangar.ListOptions
	if v := q.Get("max_results"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return opt, hangar.Errorf(hangar.EINVALID, "max_results must be a whole number, got %q", truncate(v, 32))
		}
		if n < 1 {
			return opt, hangar.Errorf(hangar.EINVALID, "max_results must be at least 1, got %d", n)
		}
		opt.MaxResults = n
	}
	opt.PageToken = q.Get("page_token")
	return opt, opt.Validate()
}

// listQuery writes the query parameters of a list request.
func listQuery(q url.Values, opt hangar.ListOptions) url.Values {
	if q == nil {
		q = url.Values{}
	}
	if opt.MaxResults > 0 {
		q.Set("max_results", strconv.Itoa(opt.MaxResults))
	}
	if opt.PageToken != "" {
		q.Set("page_token", opt.PageToken)
	}
	return q
}

// writePage writes a list page, with "value": [] rather than null when empty.
func writePage[T any](w http.ResponseWriter, p *hangar.Page[T]) error {
	if p == nil {
		p = &hangar.Page[T]{}
	}
	if p.Items == nil {
		p.Items = []T{}
	}
	return writeJSON(w, http.StatusOK, p)
}

// listPage is the client's call of every list route: one page of path, with
// the filter's query parameters q and the page options.
func listPage[T any](ctx context.Context, c *Client, path string, q url.Values, opt hangar.ListOptions) (*hangar.Page[T], error) {
	var page hangar.Page[T]
	if err := c.call(ctx, http.MethodGet, path, listQuery(q, opt), nil, &page); err != nil {
		return nil, err
	}
	return &page, nil
}

// allItems yields every item of a list, page after page of the largest size,
// following next_page_token; it stops at the first error, which it yields
// with a zero item.
func allItems[F, T any](ctx context.Context, f F, list listFunc[F, T]) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		opt := hangar.ListOptions{MaxResults: hangar.MaxMaxResults}
		for {
			page, err := list(ctx, f, opt)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, item := range page.Items {
				if !yield(item, nil) {
					return
				}
			}
			if page.NextPageToken == "" {
				return
			}
			opt.PageToken = page.NextPageToken
		}
	}
}

// collect gathers the items of seq that keep says to, or the first error.
func collect[T any](seq iter.Seq2[T, error], keep func(T) bool) ([]T, error) {
	var out []T
	for item, err := range seq {
		if err != nil {
			return nil, err
		}
		if keep == nil || keep(item) {
			out = append(out, item)
		}
	}
	return out, nil
}

// Lists the server pages itself (built-in roles, the workspaces a caller
// holds roles on) use the last name of a page as the token of the next.

const nameTokenPrefix = "after:"

func encodeNameToken(name string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(nameTokenPrefix + name))
}

func decodeNameToken(tok string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	name, ok := strings.CutPrefix(string(b), nameTokenPrefix)
	if err != nil || !ok {
		return "", errBadPageToken()
	}
	return name, nil
}

func errBadPageToken() error {
	return hangar.Errorf(hangar.EINVALID, "invalid page_token: pass the next_page_token of the previous page unchanged")
}
