package httpapi

import (
	"bytes"
	"cmp"
	_ "embed"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hangar-ml/hangar"
)

// The web UI: server-rendered pages of what people would rather see than
// read — a workspace's experiments, an experiment's runs, and a run with
// a chart of every metric's history. The pages are routes of the route
// table like any other (each declares its action and scope, and the
// route-table tests cover them); they read through the same services
// with the caller's roles. They answer errors as HTML pages (htmlErrors).
//
// A browser cannot send a bearer token, so the sign-in page takes a Hangar
// token once and keeps it in a cookie (uiCookie): HttpOnly, SameSite=Strict,
// Path=/ui/, Secure over TLS. The cookie authenticates only the UI's own GET
// pages — never an API route — so a page elsewhere cannot use it to change
// anything, and sign-in and sign-out, the only POSTs, refuse cross-origin
// requests (http.CrossOriginProtection). Every page is sent with a
// Content-Security-Policy that allows no script at all: the charts are
// inline SVG drawn on the server.

// uiCookie is the cookie the sign-in page sets.
const uiCookie = "hangar_ui_token"

// Bounds of a page's work: runs and experiments listed at once, metrics
// charted on a run's page (the others are in its table), points read for
// one chart (one read of the store's largest page), and run pages drawn at
// once by the server.
const (
	uiMaxRuns        = 100
	uiMaxExperiments = 100
	uiMaxCharts      = 30
	uiMaxPoints      = hangar.MaxMetricHistoryResults
	uiConcurrentRuns = 2
)

//go:embed ui.tmpl
var uiTemplates string

var uiTmpl = template.Must(template.New("ui").Funcs(template.FuncMap{
	"ms":    uiTime,
	"value": uiValue,
	"path":  url.PathEscape,
	"deref": func(p *int64) int64 { return *p },
	"short": uiShort,
}).Parse(uiTemplates))

// uiRoutes are the pages of the web UI.
func (s *Server) uiRoutes() []route {
	return []route{
		{"GET /ui/", "", scopePublic, s.uiHome, htmlErrors},
		{"GET /ui/login", "", scopePublic, s.uiLoginPage, htmlErrors},
		{"POST /ui/login", "", scopePublic, s.uiLogin, htmlErrors},
		{"POST /ui/logout", "", scopePublic, s.uiLogout, htmlErrors},
		{"GET /ui/w/{ws}", hangar.ActExperimentRead, scopeWorkspace, s.uiExperiments, htmlErrors},
		{"GET /ui/w/{ws}/experiments/{id}", hangar.ActRunRead, scopeWorkspace, s.uiExperiment, htmlErrors},
		{"GET /ui/w/{ws}/runs/{id}", hangar.ActRunRead, scopeWorkspace, s.uiRun, htmlErrors},
	}
}

// uiCredential gives a UI page's request the token of the UI's cookie as
// its bearer token. The cookie wins over an Authorization header the
// browser sends anyway (a proxy's Basic auth in front of the server);
// without the cookie the header is used (a script with a bearer token).
func uiCredential(r *http.Request) *http.Request {
	c, err := r.Cookie(uiCookie)
	if err != nil || c.Value == "" {
		return r
	}
	r2 := r.Clone(r.Context())
	r2.Header.Set("Authorization", "Bearer "+c.Value)
	return r2
}

// uiHeaders are sent with every page of the UI.
func uiHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
}

// uiRender renders page name with data, fully before writing.
func uiRender(w http.ResponseWriter, status int, name string, data any) error {
	var buf bytes.Buffer
	if err := uiTmpl.ExecuteTemplate(&buf, name, data); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	uiHeaders(w)
	w.WriteHeader(status)
	if _, err := w.Write(buf.Bytes()); err != nil {
		return errWritten{err}
	}
	return nil
}

// writeHTMLError writes an error answer as a page of the UI; a 401 links
// to the sign-in page, which comes back to page (a path of the UI, or "").
func writeHTMLError(w http.ResponseWriter, status int, code, msg, page string) {
	var buf bytes.Buffer
	signIn := ""
	if status == http.StatusUnauthorized {
		signIn = "/ui/login?next=" + url.QueryEscape(uiNext(page))
	}
	if err := uiTmpl.ExecuteTemplate(&buf, "error", struct {
		uiPage
		Status     int
		Code, Text string
		Message    string
		SignIn     string
	}{uiPage{Title: http.StatusText(status)}, status, code, http.StatusText(status), msg, signIn}); err != nil {
		buf.Reset()
		buf.WriteString(template.HTMLEscapeString(msg))
	}
	uiHeaders(w)
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// uiHome sends a signed-in browser to its token's workspace (the default
// one for a token of every workspace) and any other to the sign-in page.
func (s *Server) uiHome(w http.ResponseWriter, r *http.Request, _ *caller) error {
	if r.URL.Path != "/ui/" {
		return hangar.Errorf(hangar.ENOTFOUND, "no page %s", r.URL.Path)
	}
	if p := s.uiSignedIn(r); p != nil {
		http.Redirect(w, r, uiWorkspacePage(p), http.StatusSeeOther)
		return nil
	}
	http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
	return nil
}

// uiSignedIn returns who the UI's cookie signs in, or nil.
func (s *Server) uiSignedIn(r *http.Request) *principal {
	if _, err := r.Cookie(uiCookie); err != nil {
		return nil
	}
	p, err := s.authenticate(uiCredential(r))
	if err != nil {
		return nil
	}
	return p
}

// uiWorkspacePage is the first page for p: its token's workspace.
func uiWorkspacePage(p *principal) string {
	if p.scope != "" {
		return "/ui/w/" + url.PathEscape(p.scope)
	}
	return "/ui/w/" + hangar.DefaultWorkspace
}

// uiCookieFor is the UI's cookie holding value (expired when value is
// ""): HttpOnly; Secure when the browser reached the server over HTTPS,
// directly or through a proxy that says so (X-Forwarded-Proto: a client
// that lies only makes its own cookie HTTPS-only); SameSite=Lax, so that a
// link to a page from another site (a chat, an issue) opens it signed in —
// the cookie authenticates only GET pages that change nothing, and the
// two POSTs refuse other sites.
func uiCookieFor(r *http.Request, value string) *http.Cookie {
	c := &http.Cookie{
		Name: uiCookie, Value: value, Path: "/ui/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https"),
	}
	if value == "" {
		c.MaxAge = -1
	}
	return c
}

// uiNext is where sign-in goes afterwards: a page of the UI, never
// another site.
func uiNext(next string) string {
	if !strings.HasPrefix(next, "/ui/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/ui/"
	}
	return next
}

// uiLoginForm is the data of the sign-in page.
type uiLoginForm struct {
	uiPage
	Next, Error string
}

// uiLoginPage is the sign-in form; a browser signed in already goes on to
// the page it was asked to come back to.
func (s *Server) uiLoginPage(w http.ResponseWriter, r *http.Request, _ *caller) error {
	next := uiNext(r.URL.Query().Get("next"))
	if p := s.uiSignedIn(r); p != nil {
		if next == "/ui/" {
			next = uiWorkspacePage(p)
		}
		http.Redirect(w, r, next, http.StatusSeeOther)
		return nil
	}
	return uiRender(w, http.StatusOK, "login", uiLoginForm{uiPage{Title: "Sign in"}, next, ""})
}

// uiLogin checks the token given in the sign-in form and keeps it in the
// UI's cookie.
func (s *Server) uiLogin(w http.ResponseWriter, r *http.Request, _ *caller) error {
	if err := http.NewCrossOriginProtection().Check(r); err != nil {
		return hangar.Errorf(hangar.EFORBIDDEN, "sign-in from another site refused")
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		return hangar.Errorf(hangar.EINVALID, "sign-in form: %v", err)
	}
	next := uiNext(r.PostForm.Get("next"))
	token := strings.TrimSpace(r.PostForm.Get("token"))
	fail := func(status int, msg string) error {
		return uiRender(w, status, "login", uiLoginForm{uiPage{Title: "Sign in"}, next, msg})
	}
	if token == "" {
		return fail(http.StatusBadRequest, "Paste a Hangar token (hangar token create, or the owner token).")
	}
	check := r.Clone(r.Context())
	check.Header = http.Header{"Authorization": {"Bearer " + token}}
	p, err := s.authenticate(check)
	if err != nil {
		if code := hangar.ErrorCode(err); code == hangar.EUNAUTHORIZED || code == hangar.EINVALID {
			return fail(http.StatusUnauthorized, "That token does not sign in: "+hangar.ErrorMessage(err)+".")
		}
		return err
	}
	if next == "/ui/" {
		next = uiWorkspacePage(p)
	}
	http.SetCookie(w, uiCookieFor(r, token))
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

func (s *Server) uiLogout(w http.ResponseWriter, r *http.Request, _ *caller) error {
	if err := http.NewCrossOriginProtection().Check(r); err != nil {
		return hangar.Errorf(hangar.EFORBIDDEN, "sign-out from another site refused")
	}
	http.SetCookie(w, uiCookieFor(r, ""))
	http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
	return nil
}

// uiPage is what every page shows around its content.
type uiPage struct {
	Workspace string
	Caller    string
	Title     string
}

func newUIPage(c *caller, title string) uiPage {
	p := uiPage{Workspace: c.workspace, Title: title}
	if c.principal != nil {
		p.Caller = c.name
	}
	return p
}

func (s *Server) uiExperiments(w http.ResponseWriter, r *http.Request, c *caller) error {
	t, err := s.tracking()
	if err != nil {
		return err
	}
	page, err := t.SearchExperiments(r.Context(), c.workspace, hangar.ExperimentSearch{View: hangar.ViewActiveOnly, MaxResults: uiMaxExperiments, PageToken: r.URL.Query().Get("page_token")})
	if err != nil {
		return err
	}
	return uiRender(w, http.StatusOK, "experiments", struct {
		uiPage
		Experiments []*hangar.Experiment
		Next        string
	}{newUIPage(c, "Experiments"), page.Items, page.NextPageToken})
}

// uiRunRow is one run of an experiment's table: its latest value of each
// of the table's metric columns, and its value of each param column.
type uiRunRow struct {
	Run     *hangar.Run
	Metrics []string
	Params  []string
}

func (s *Server) uiExperiment(w http.ResponseWriter, r *http.Request, c *caller) error {
	t, err := s.tracking()
	if err != nil {
		return err
	}
	exp, err := t.Experiment(r.Context(), c.workspace, r.PathValue("id"))
	if err != nil {
		return err
	}
	q := r.URL.Query()
	filter := q.Get("filter")
	page, err := t.SearchRuns(r.Context(), c.workspace, hangar.RunSearch{
		ExperimentIDs: []string{exp.ID}, Filter: filter, OrderBy: []string{"attributes.start_time DESC"},
		MaxResults: uiMaxRuns, PageToken: q.Get("page_token"),
	})
	if err != nil {
		return err
	}
	metrics, params := uiColumns(page.Items)
	rows := make([]uiRunRow, len(page.Items))
	for i, run := range page.Items {
		rows[i].Run = run
		for _, k := range metrics {
			v := ""
			for _, m := range run.Data.Metrics {
				if m.Key == k {
					v = uiValue(m.Value)
				}
			}
			rows[i].Metrics = append(rows[i].Metrics, v)
		}
		for _, k := range params {
			v := ""
			for _, p := range run.Data.Params {
				if p.Key == k {
					v = p.Value
				}
			}
			rows[i].Params = append(rows[i].Params, v)
		}
	}
	return uiRender(w, http.StatusOK, "experiment", struct {
		uiPage
		Experiment    *hangar.Experiment
		Filter        string
		MetricColumns []string
		ParamColumns  []string
		Rows          []uiRunRow
		Next          string
	}{newUIPage(c, exp.Name), exp, filter, metrics, params, rows, page.NextPageToken})
}

// uiColumns picks the table's columns: the metric and param keys of the
// runs, the most common first, at most 8 metrics and 6 params.
func uiColumns(runs []*hangar.Run) (metrics, params []string) {
	count := func(keys func(*hangar.Run) []string, limit int) []string {
		n := map[string]int{}
		var order []string
		for _, r := range runs {
			for _, k := range keys(r) {
				if n[k] == 0 {
					order = append(order, k)
				}
				n[k]++
			}
		}
		// Most runs first, then first seen.
		slices.SortStableFunc(order, func(a, b string) int { return n[b] - n[a] })
		return order[:min(len(order), limit)]
	}
	metrics = count(func(r *hangar.Run) []string {
		var ks []string
		for _, m := range r.Data.Metrics {
			ks = append(ks, m.Key)
		}
		return ks
	}, 8)
	params = count(func(r *hangar.Run) []string {
		var ks []string
		for _, p := range r.Data.Params {
			ks = append(ks, p.Key)
		}
		return ks
	}, 6)
	return metrics, params
}

// uiMetric is one metric of a run's page: its latest value and the chart
// of its history.
type uiMetric struct {
	Key    string
	Latest string
	Step   int64
	Points string        // how many, "first N" when the chart stops short
	Chart  template.HTML // empty for a metric of one point, or past uiMaxCharts
}

func (s *Server) uiRun(w http.ResponseWriter, r *http.Request, c *caller) error {
	t, err := s.tracking()
	if err != nil {
		return err
	}
	run, err := t.Run(r.Context(), c.workspace, r.PathValue("id"))
	if err != nil {
		return err
	}
	exp, err := t.Experiment(r.Context(), c.workspace, run.Info.ExperimentID)
	if err != nil {
		return err
	}
	// Drawing reads every point of each metric: bounded in metrics per
	// page and in pages drawn at once.
	release, err := s.uiHeavy(r)
	if err != nil {
		return err
	}
	defer release()
	var metrics []uiMetric
	reads := 0
	for _, m := range run.Data.Metrics {
		um := uiMetric{Key: m.Key, Latest: uiValue(m.Value), Step: m.Step}
		if reads == uiMaxCharts {
			metrics = append(metrics, um)
			continue
		}
		reads++
		page, err := t.MetricHistory(r.Context(), c.workspace, run.Info.RunID, m.Key, hangar.ListOptions{MaxResults: uiMaxPoints})
		if err != nil {
			return err
		}
		um.Points = strconv.Itoa(len(page.Items))
		if page.NextPageToken != "" {
			um.Points = "first " + um.Points
		}
		if len(page.Items) > 1 {
			um.Chart = metricChart(m.Key, page.Items)
		}
		metrics = append(metrics, um)
	}
	title := run.Info.RunName
	if title == "" {
		title = run.Info.RunID
	}
	return uiRender(w, http.StatusOK, "run", struct {
		uiPage
		Run        *hangar.Run
		Experiment *hangar.Experiment
		Metrics    []uiMetric
	}{newUIPage(c, title), run, exp, metrics})
}

// uiHeavy waits for a turn to draw a page that reads much from the store
// (a run's metric histories, a model version's lineage): at most
// uiConcurrentRuns at once server-wide. The release func gives the turn
// back.
func (s *Server) uiHeavy(r *http.Request) (func(), error) {
	// Made once, whenever the first heavy page comes: Handler may be
	// called more than once, and concurrently.
	s.uiOnce.Do(func() { s.uiRuns = make(chan struct{}, uiConcurrentRuns) })
	sem := s.uiRuns
	select {
	case sem <- struct{}{}:
		return func() { <-sem }, nil
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
}

// Chart geometry, in SVG user units.
const (
	chartW, chartH                          = 560, 220
	chartLeft, chartRight, chartTop         = 64, 12, 12
	chartBottom                             = 32
	chartMaxPoints                          = 1200 // drawn; more are reduced to each column's lowest and highest
	chartPlotW, chartPlotH          float64 = chartW - chartLeft - chartRight, chartH - chartTop - chartBottom
)

// metricChart draws points as an inline SVG line chart: x is the step, or
// the seconds since the first point when every point has the same step; y
// the value. NaN and infinite values are not drawn. Long histories are
// reduced to the lowest and highest value of each of chartMaxPoints/2
// columns, so spikes stay visible.
func metricChart(key string, points []hangar.Metric) template.HTML {
	type pt struct{ x, y float64 }
	sameStep := true
	for _, p := range points {
		if p.Step != points[0].Step {
			sameStep = false
			break
		}
	}
	xLabel := "step"
	if sameStep && len(points) > 1 {
		xLabel = "seconds"
	}
	var pts []pt
	for _, p := range points {
		if math.IsNaN(p.Value) || math.IsInf(p.Value, 0) {
			continue
		}
		x := float64(p.Step)
		if xLabel == "seconds" {
			x = float64(p.Timestamp-points[0].Timestamp) / 1000
		}
		pts = append(pts, pt{x, p.Value})
	}
	// By x: the store gives them by timestamp, and steps need not follow.
	slices.SortStableFunc(pts, func(a, b pt) int { return cmp.Compare(a.x, b.x) })
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" role="img" viewBox="0 0 %d %d" width="%d" height="%d" xmlns="http://www.w3.org/2000/svg"><title>%s</title>`,
		chartW, chartH, chartW, chartH, template.HTMLEscapeString(key))
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%g" height="%g" class="plot"/>`, chartLeft, chartTop, chartPlotW, chartPlotH)
	if len(pts) == 0 {
		fmt.Fprintf(&b, `<text x="%g" y="%g" text-anchor="middle">no finite values</text></svg>`, chartLeft+chartPlotW/2, chartTop+chartPlotH/2)
		return template.HTML(b.String())
	}
	minX, maxX, minY, maxY := pts[0].x, pts[len(pts)-1].x, pts[0].y, pts[0].y
	for _, p := range pts {
		minY, maxY = min(minY, p.y), max(maxY, p.y)
	}
	if maxX == minX {
		minX, maxX = minX-1, maxX+1
	}
	if maxY == minY {
		pad := math.Max(math.Abs(minY)*0.05, 1e-9)
		// Within the finite numbers, for a flat line at ±1.8e308.
		minY, maxY = math.Max(minY-pad, -math.MaxFloat64), math.Min(maxY+pad, math.MaxFloat64)
	}
	// Halved, so that values near ±1.8e308 still give a finite range.
	sx := func(x float64) float64 { return chartLeft + (x/2-minX/2)/(maxX/2-minX/2)*chartPlotW }
	sy := func(y float64) float64 { return chartTop + (maxY/2-y/2)/(maxY/2-minY/2)*chartPlotH }
	if len(pts) > chartMaxPoints {
		pts = reduceColumns(pts, chartMaxPoints/2, minX, maxX, func(p pt) (float64, float64) { return p.x, p.y })
	}
	// Grid and labels: five values on y, the ends on x.
	for i := range 5 {
		f := float64(i) / 4
		y := minY*(1-f) + maxY*f
		fmt.Fprintf(&b, `<line x1="%d" x2="%g" y1="%.1f" y2="%.1f" class="grid"/><text x="%d" y="%.1f" text-anchor="end" class="tick">%s</text>`,
			chartLeft, chartLeft+chartPlotW, sy(y), sy(y), chartLeft-6, sy(y)+4, template.HTMLEscapeString(uiValue(y)))
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" class="tick">%s</text><text x="%g" y="%d" text-anchor="end" class="tick">%s</text><text x="%g" y="%d" text-anchor="middle" class="tick">%s</text>`,
		chartLeft, chartH-10, uiValue(minX), chartLeft+chartPlotW, chartH-10, uiValue(maxX), chartLeft+chartPlotW/2, chartH-10, xLabel)
	if len(pts) == 1 {
		fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" class="line"/></svg>`, sx(pts[0].x), sy(pts[0].y))
		return template.HTML(b.String())
	}
	b.WriteString(`<polyline class="line" points="`)
	for i, p := range pts {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%.1f,%.1f", sx(p.x), sy(p.y))
	}
	b.WriteString(`"/></svg>`)
	return template.HTML(b.String())
}

// reduceColumns keeps, of points sorted by x, the lowest and highest of
// each of n columns of equal width between minX and maxX, in x order.
func reduceColumns[P any](pts []P, n int, minX, maxX float64, xy func(P) (float64, float64)) []P {
	out := make([]P, 0, 2*n)
	col, lo, hi := -1, -1, -1
	flush := func() {
		if lo < 0 {
			return
		}
		a, b := lo, hi
		if a > b {
			a, b = b, a
		}
		out = append(out, pts[a])
		if b != a {
			out = append(out, pts[b])
		}
	}
	for i, p := range pts {
		x, y := xy(p)
		c := min(int((x-minX)/(maxX-minX)*float64(n)), n-1)
		if c != col {
			flush()
			col, lo, hi = c, i, i
			continue
		}
		if _, ly := xy(pts[lo]); y < ly {
			lo = i
		}
		if _, hy := xy(pts[hi]); y > hy {
			hi = i
		}
	}
	flush()
	return out
}

// uiShort cuts a long value for a table cell (the page has it whole
// elsewhere: the run's page, or the cell's title).
func uiShort(v string) string { return uiShortN(v, 40) }

// uiShortN cuts v to n characters, the last an ellipsis when cut.
func uiShortN(v string, n int) string {
	if len([]rune(v)) <= n {
		return v
	}
	return string([]rune(v)[:n-1]) + "…"
}

// uiTime formats a Unix time in milliseconds; 0 is "".
func uiTime(ms int64) string {
	if ms == 0 {
		return ""
	}
	return time.UnixMilli(ms).UTC().Format("2006-01-02 15:04:05")
}

// uiValue formats a metric value or axis label compactly.
func uiValue(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "Infinity"
	case math.IsInf(v, -1):
		return "-Infinity"
	}
	return strconv.FormatFloat(v, 'g', 6, 64)
}
