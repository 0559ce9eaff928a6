package httpapi

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/hangar-ml/hangar"
)

// Hangar's own view of experiment tracking, for the CLI: experiments and
// runs of a workspace under /api/v1/workspaces/{ws}/, as native lists,
// over the same TrackingService the MLflow routes use.

// viewParam reads the view query parameter: active (the default), deleted
// or all, or MLflow's names.
func viewParam(q url.Values) (hangar.ViewType, error) {
	switch v := q.Get("view"); strings.ToLower(v) {
	case "", "active":
		return hangar.ViewActiveOnly, nil
	case "deleted":
		return hangar.ViewDeletedOnly, nil
	case "all":
		return hangar.ViewAll, nil
	default:
		view, err := hangar.ParseViewType(v)
		if err != nil {
			return 0, hangar.Errorf(hangar.EINVALID, "view must be active, deleted or all, got %q", truncate(v, 32))
		}
		return view, nil
	}
}

// experimentQuery is the filter of a native experiment list.
type experimentQuery struct {
	workspace string
	search    hangar.ExperimentSearch
}

func (s *Server) listExperiments(w http.ResponseWriter, r *http.Request, c *caller) error {
	t, err := s.tracking()
	if err != nil {
		return err
	}
	q := r.URL.Query()
	view, err := viewParam(q)
	if err != nil {
		return err
	}
	f := experimentQuery{c.workspace, hangar.ExperimentSearch{Filter: q.Get("filter"), OrderBy: q["order_by"], View: view}}
	return servePage(w, r, f, func(ctx context.Context, f experimentQuery, opt hangar.ListOptions) (*hangar.Page[*hangar.Experiment], error) {
		f.search.MaxResults, f.search.PageToken = opt.Limit(), opt.PageToken
		return t.SearchExperiments(ctx, f.workspace, f.search)
	})
}

func (s *Server) getExperiment(w http.ResponseWriter, r *http.Request, c *caller) error {
	t, err := s.tracking()
	if err != nil {
		return err
	}
	e, err := t.Experiment(r.Context(), c.workspace, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, e)
}

// runQuery is the filter of a native run list.
type runQuery struct {
	workspace string
	search    hangar.RunSearch
}

// listRuns lists runs of the experiments given (experiment_id, repeated),
// or of every experiment of the workspace.
func (s *Server) listRuns(w http.ResponseWriter, r *http.Request, c *caller) error {
	t, err := s.tracking()
	if err != nil {
		return err
	}
	q := r.URL.Query()
	view, err := viewParam(q)
	if err != nil {
		return err
	}
	f := runQuery{c.workspace, hangar.RunSearch{ExperimentIDs: q["experiment_id"], Filter: q.Get("filter"), OrderBy: q["order_by"], View: view}}
	if len(f.search.ExperimentIDs) == 0 {
		all, err := collect(allItems(r.Context(), struct{}{}, func(ctx context.Context, _ struct{}, opt hangar.ListOptions) (*hangar.Page[*hangar.Experiment], error) {
			return t.SearchExperiments(ctx, c.workspace, hangar.ExperimentSearch{View: hangar.ViewAll, MaxResults: opt.Limit(), PageToken: opt.PageToken})
		}), nil)
		if err != nil {
			return err
		}
		for _, e := range all {
			f.search.ExperimentIDs = append(f.search.ExperimentIDs, e.ID)
		}
	}
	return servePage(w, r, f, func(ctx context.Context, f runQuery, opt hangar.ListOptions) (*hangar.Page[*hangar.Run], error) {
		f.search.MaxResults, f.search.PageToken = opt.Limit(), opt.PageToken
		return t.SearchRuns(ctx, f.workspace, f.search)
	})
}

func (s *Server) getRun(w http.ResponseWriter, r *http.Request, c *caller) error {
	t, err := s.tracking()
	if err != nil {
		return err
	}
	run, err := t.Run(r.Context(), c.workspace, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, run)
}

func (s *Server) deleteRun(w http.ResponseWriter, r *http.Request, c *caller) error {
	t, err := s.tracking()
	if err != nil {
		return err
	}
	if err := t.DeleteRun(r.Context(), c.workspace, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// Client.

// SearchExperiments lists a page of the workspace's experiments that match
// q's filter, in q's order (q.MaxResults and q.PageToken page it).
func (c *Client) SearchExperiments(ctx context.Context, workspace string, q hangar.ExperimentSearch) (*hangar.Page[*hangar.Experiment], error) {
	v := searchQuery(q.Filter, q.OrderBy, q.View)
	return listPage[*hangar.Experiment](ctx, c, "/api/v1/workspaces/"+url.PathEscape(workspace)+"/experiments", v,
		hangar.ListOptions{MaxResults: q.MaxResults, PageToken: q.PageToken})
}

// Experiment returns one experiment of any stage.
func (c *Client) Experiment(ctx context.Context, workspace, id string) (*hangar.Experiment, error) {
	var e hangar.Experiment
	if err := c.call(ctx, http.MethodGet, "/api/v1/workspaces/"+url.PathEscape(workspace)+"/experiments/"+url.PathEscape(id), nil, nil, &e); err != nil {
		return nil, err
	}
	return &e, nil
}

// SearchRuns lists a page of runs of q's experiments (of every experiment
// of the workspace when it names none) that match its filter.
func (c *Client) SearchRuns(ctx context.Context, workspace string, q hangar.RunSearch) (*hangar.Page[*hangar.Run], error) {
	v := searchQuery(q.Filter, q.OrderBy, q.View)
	for _, id := range q.ExperimentIDs {
		v.Add("experiment_id", id)
	}
	return listPage[*hangar.Run](ctx, c, "/api/v1/workspaces/"+url.PathEscape(workspace)+"/runs", v,
		hangar.ListOptions{MaxResults: q.MaxResults, PageToken: q.PageToken})
}

// Run returns one run with its latest metrics, params, tags and inputs.
func (c *Client) Run(ctx context.Context, workspace, id string) (*hangar.Run, error) {
	var r hangar.Run
	if err := c.call(ctx, http.MethodGet, "/api/v1/workspaces/"+url.PathEscape(workspace)+"/runs/"+url.PathEscape(id), nil, nil, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// DeleteRun marks a run deleted.
func (c *Client) DeleteRun(ctx context.Context, workspace, id string) error {
	return c.call(ctx, http.MethodDelete, "/api/v1/workspaces/"+url.PathEscape(workspace)+"/runs/"+url.PathEscape(id), nil, nil, nil)
}

// searchQuery writes the filter, order and view of a search.
func searchQuery(filter string, orderBy []string, view hangar.ViewType) url.Values {
	v := url.Values{}
	if filter != "" {
		v.Set("filter", filter)
	}
	for _, o := range orderBy {
		v.Add("order_by", o)
	}
	switch view {
	case hangar.ViewDeletedOnly:
		v.Set("view", "deleted")
	case hangar.ViewAll:
		v.Set("view", "all")
	}
	return v
}
