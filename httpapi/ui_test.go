package httpapi_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/hangar-ml/hangar"
)

// uiGet fetches a page of the UI with the UI's cookie holding token.
func uiGet(t *testing.T, e *env, path, token string) response {
	t.Helper()
	return e.do("GET", path, "", "", "Cookie", "hangar_ui_token="+token)
}

// TestUI walks the web UI as a browser would: sign in with a token, the
// workspace's experiments, an experiment's runs (filtered with MLflow's
// grammar), a run with a chart of each metric — and what it refuses.
func TestUI(t *testing.T) {
	e := newEnv(t)
	tok := e.token("ds", hangar.RoleDataScientist, hangar.DefaultWorkspace)
	mlflow := func(path, body string) string {
		t.Helper()
		r := e.do("POST", "/api/2.0/mlflow/"+path, tok, body, "Content-Type", "application/json")
		if r.status != http.StatusOK {
			t.Fatalf("%s: status %d: %s", path, r.status, r.body)
		}
		return string(r.body)
	}
	out := mlflow("experiments/create", `{"name":"churn <b>model</b>"}`)
	expID := regexp.MustCompile(`"experiment_id":"(\d+)"`).FindStringSubmatch(out)[1]
	runIDs := map[string]string{}
	for i, name := range []string{"fast", "slow"} {
		out := mlflow("runs/create", fmt.Sprintf(`{"experiment_id":%q,"run_name":%q,"start_time":%d}`, expID, name, 1700000000000+int64(i)*1000))
		id := regexp.MustCompile(`"run_id":"([0-9a-f]{32})"`).FindStringSubmatch(out)[1]
		runIDs[name] = id
		var metrics []string
		for step := range 50 {
			metrics = append(metrics, fmt.Sprintf(`{"key":"rmse","value":%g,"timestamp":%d,"step":%d}`, 10/float64(step+1)+float64(i), 1700000000000+int64(step), step))
		}
		metrics = append(metrics, `{"key":"odd","value":"NaN","timestamp":1700000000000,"step":0}`)
		mlflow("runs/log-batch", fmt.Sprintf(`{"run_id":%q,"metrics":[%s],"params":[{"key":"lr","value":"0.%d"},{"key":"note","value":"<script>alert(1)</script>"}]}`, id, strings.Join(metrics, ","), i+1))
	}

	t.Run("signed out", func(t *testing.T) {
		r := e.do("GET", "/ui/w/default", "", "")
		if r.status != http.StatusUnauthorized || !strings.Contains(string(r.body), `href="/ui/login?next=%2Fui%2Fw%2Fdefault"`) || r.header.Get("WWW-Authenticate") != "" {
			t.Errorf("got %d %q (WWW-Authenticate %q), want 401 linking to the sign-in page and no password prompt", r.status, r.body, r.header.Get("WWW-Authenticate"))
		}
		if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Errorf("error page Content-Type %q, want text/html", ct)
		}
		// The home page sends a browser without the cookie to sign in.
		if r := e.do("GET", "/ui/", "", ""); r.status != http.StatusOK || !strings.Contains(string(r.body), `name="token"`) {
			t.Errorf("/ui/ without the cookie: got %d, want the sign-in form", r.status)
		}
	})

	t.Run("sign in", func(t *testing.T) {
		form := func(v url.Values, header ...string) response {
			return e.do("POST", "/ui/login", "", v.Encode(), append([]string{"Content-Type", "application/x-www-form-urlencoded"}, header...)...)
		}
		if r := form(url.Values{"token": {"hgr_" + strings.Repeat("A", 43)}}); r.status != http.StatusUnauthorized || !strings.Contains(string(r.body), "does not sign in") {
			t.Errorf("a wrong token: got %d %q, want 401 saying so", r.status, r.body)
		}
		if r := form(url.Values{}); r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "Paste a Hangar token") {
			t.Errorf("no token: got %d, want 400 asking for one", r.status)
		}
		if r := form(url.Values{"token": {tok}}, "Sec-Fetch-Site", "cross-site"); r.status != http.StatusForbidden {
			t.Errorf("a sign-in posted by another site: got %d, want 403", r.status)
		}
		// The test client follows the redirect without the cookie, so
		// look at the answer of the POST itself.
		req, _ := http.NewRequest("POST", e.srv.URL+"/ui/login", strings.NewReader(url.Values{"token": {tok}, "next": {"//evil.example/x"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := e.srv.Client().Transport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/w/default" {
			t.Errorf("sign in with next=//evil.example/x: got %d to %q, want 303 to /ui/w/default", resp.StatusCode, resp.Header.Get("Location"))
		}
		var c *http.Cookie
		for _, k := range resp.Cookies() {
			if k.Name == "hangar_ui_token" {
				c = k
			}
		}
		if c == nil || c.Value != tok || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/ui/" || c.Secure {
			t.Errorf("cookie: got %+v, want the token, HttpOnly, SameSite=Lax, Path=/ui/, not Secure over HTTP", c)
		}
		// Behind a proxy that terminated HTTPS, the cookie is Secure; a
		// page asked for before signing in is where sign-in goes.
		page := "/ui/w/default/runs/" + runIDs["fast"]
		req, _ = http.NewRequest("POST", e.srv.URL+"/ui/login", strings.NewReader(url.Values{"token": {tok}, "next": {page}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-Proto", "https")
		resp, err = e.srv.Client().Transport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != page || len(resp.Cookies()) != 1 || !resp.Cookies()[0].Secure {
			t.Errorf("sign in through an HTTPS proxy with next: got %d to %q, cookies %v", resp.StatusCode, resp.Header.Get("Location"), resp.Cookies())
		}
		// Signed in already, the sign-in page goes straight on.
		req, _ = http.NewRequest("GET", e.srv.URL+"/ui/login?next="+url.QueryEscape(page), nil)
		req.Header.Set("Cookie", "hangar_ui_token="+tok)
		resp, err = e.srv.Client().Transport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != page {
			t.Errorf("sign-in page when signed in: got %d to %q, want 303 to %s", resp.StatusCode, resp.Header.Get("Location"), page)
		}
		// Sign-out expires the cookie.
		req, _ = http.NewRequest("POST", e.srv.URL+"/ui/logout", nil)
		resp, err = e.srv.Client().Transport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if cs := resp.Cookies(); resp.StatusCode != http.StatusSeeOther || len(cs) != 1 || cs[0].Name != "hangar_ui_token" || cs[0].MaxAge >= 0 || cs[0].Value != "" {
			t.Errorf("sign out: got %d, cookies %v, want the cookie expired", resp.StatusCode, cs)
		}
	})

	t.Run("pages", func(t *testing.T) {
		r := uiGet(t, e, "/ui/w/default", tok)
		body := string(r.body)
		if r.status != http.StatusOK || !strings.Contains(body, "churn &lt;b&gt;model&lt;/b&gt;") || !strings.Contains(body, "/ui/w/default/experiments/"+expID) {
			t.Fatalf("experiments: got %d %s", r.status, body)
		}
		if csp := r.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script-src") {
			t.Errorf("Content-Security-Policy %q, want no script allowed", csp)
		}
		r = uiGet(t, e, "/ui/w/default/experiments/"+expID, tok)
		body = string(r.body)
		if r.status != http.StatusOK || !strings.Contains(body, ">fast</a>") || !strings.Contains(body, ">slow</a>") || !strings.Contains(body, "<th>rmse</th>") || !strings.Contains(body, ">1.2<") {
			t.Fatalf("experiment: got %d %s", r.status, body)
		}
		if strings.Contains(body, "<script>") {
			t.Errorf("a param value reached the page unescaped")
		}
		// MLflow's filter grammar narrows the runs.
		r = uiGet(t, e, "/ui/w/default/experiments/"+expID+"?filter="+url.QueryEscape("metrics.rmse > 1.1"), tok)
		if body := string(r.body); r.status != http.StatusOK || !strings.Contains(body, ">slow</a>") || strings.Contains(body, ">fast</a>") {
			t.Errorf("filtered: got %d %s, want slow only", r.status, body)
		}
		r = uiGet(t, e, "/ui/w/default/experiments/"+expID+"?filter="+url.QueryEscape("metrics.rmse >>> 1"), tok)
		if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "&gt;&gt;&gt;") && !strings.Contains(string(r.body), "invalid") {
			t.Errorf("a bad filter: got %d %s, want 400 naming it", r.status, r.body)
		}
		r = uiGet(t, e, "/ui/w/default/runs/"+runIDs["fast"], tok)
		body = string(r.body)
		if r.status != http.StatusOK {
			t.Fatalf("run: got %d %s", r.status, body)
		}
		m := regexp.MustCompile(`<polyline class="line" points="([^"]*)"`).FindStringSubmatch(body)
		if m == nil || len(strings.Fields(m[1])) != 50 {
			t.Errorf("run page: want a 50-point line for rmse, got %v", m)
		}
		if strings.Contains(body, "<b>odd</b>") {
			t.Errorf("a metric of one point got a chart")
		}
		for _, want := range []string{"<b>rmse</b>", "latest 0.2", "50 points", "<td>odd</td><td class=\"num\">NaN</td>", "lr", "0.1", "&lt;script&gt;alert(1)&lt;/script&gt;", "mlflow.runName"} {
			if !strings.Contains(body, want) {
				t.Errorf("run page lacks %q", want)
			}
		}
	})

	t.Run("models", func(t *testing.T) {
		mlflow("registered-models/create", `{"name":"churn's model"}`)
		mlflow("model-versions/create", fmt.Sprintf(`{"name":"churn's model","source":"runs:/%s/model","run_id":%q}`, runIDs["fast"], runIDs["fast"]))
		mlflow("registered-models/alias", `{"name":"churn's model","alias":"champion","version":"1"}`)
		r := uiGet(t, e, "/ui/w/default/models", tok)
		if body := string(r.body); r.status != http.StatusOK || !strings.Contains(body, "churn&#39;s model") || !strings.Contains(body, "@champion") {
			t.Fatalf("models: got %d %s", r.status, body)
		}
		r = uiGet(t, e, "/ui/w/default/models/"+url.PathEscape("churn's model"), tok)
		if body := string(r.body); r.status != http.StatusOK || !strings.Contains(body, "/versions/1\">1</a>") || !strings.Contains(body, "/ui/w/default/runs/"+runIDs["fast"]) {
			t.Fatalf("model: got %d %s", r.status, body)
		}
		r = uiGet(t, e, "/ui/w/default/models/"+url.PathEscape("churn's model")+"/versions/1", tok)
		body := string(r.body)
		if r.status != http.StatusOK {
			t.Fatalf("version: got %d %s", r.status, body)
		}
		// The lineage: the version and the run it was registered from,
		// the run a link to its page, an edge between them.
		for _, want := range []string{`<svg class="lineage"`, "model version", "churn&#39;s model:1", `<a href="/ui/w/default/runs/` + runIDs["fast"] + `">`, ">fast</text>", `class="edge"`, "registered from"} {
			if !strings.Contains(body, want) {
				t.Errorf("version page lacks %q", want)
			}
		}
		if r := uiGet(t, e, "/ui/w/default/models/nothing/versions/1", tok); r.status != http.StatusNotFound {
			t.Errorf("an unknown model: got %d, want 404", r.status)
		}
		// An Approver reads models, not runs: it sees the lineage, not the
		// run's params — on the page and from the API.
		approver := e.token("ap", hangar.RoleApprover, hangar.DefaultWorkspace)
		r = uiGet(t, e, "/ui/w/default/models/"+url.PathEscape("churn's model")+"/versions/1", approver)
		if body := string(r.body); r.status != http.StatusOK || !strings.Contains(body, ">fast</text>") || strings.Contains(body, "param.lr") || !strings.Contains(body, "details need runs/read") {
			t.Errorf("version page for an Approver: got %d, want the lineage without the run's params", r.status)
		}
		if r := uiGet(t, e, "/ui/w/default/models/"+url.PathEscape("churn's model")+"/versions/1", tok); !strings.Contains(string(r.body), "param.lr: 0.1") {
			t.Errorf("version page for a Data Scientist lacks the run's params")
		}
		r = e.do("GET", "/api/v1/workspaces/default/models/"+url.PathEscape("churn's model")+"/versions/1/lineage", approver, "")
		if body := string(r.body); r.status != http.StatusOK || strings.Contains(body, "param.lr") || !strings.Contains(body, "details need runs/read") {
			t.Errorf("lineage API for an Approver: got %d %s", r.status, body)
		}
	})

	t.Run("refused", func(t *testing.T) {
		// The cookie opens the UI's pages only, never the API.
		if r := uiGet(t, e, "/api/v1/workspaces/default", tok); r.status != http.StatusUnauthorized {
			t.Errorf("API with the UI's cookie: got %d, want 401", r.status)
		}
		e.createWorkspace("other")
		r := uiGet(t, e, "/ui/w/other", tok)
		if r.status != http.StatusForbidden || !strings.Contains(string(r.body), "lacks") {
			t.Errorf("another workspace: got %d %s, want 403", r.status, r.body)
		}
		other := e.token("o", hangar.RoleDataScientist, "other")
		if r := uiGet(t, e, "/ui/w/other/runs/"+runIDs["fast"], other); r.status != http.StatusNotFound {
			t.Errorf("a run by id from another workspace: got %d, want 404", r.status)
		}
		if r := uiGet(t, e, "/ui/w/default/runs/"+strings.Repeat("0", 32), tok); r.status != http.StatusNotFound {
			t.Errorf("an unknown run: got %d, want 404", r.status)
		}
		if r := uiGet(t, e, "/ui/nowhere", tok); r.status != http.StatusNotFound {
			t.Errorf("an unknown page: got %d, want 404", r.status)
		}
		if r := e.do("POST", "/ui/w/default", "", "", "Cookie", "hangar_ui_token="+tok); r.status != http.StatusMethodNotAllowed || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
			t.Errorf("POST to a page: got %d %s, want an HTML 405", r.status, r.header.Get("Content-Type"))
		}
	})

	t.Run("cookie", func(t *testing.T) {
		// A proxy's Basic auth in front of the server: the browser sends
		// it on every request, and the cookie still signs the page in.
		r := e.do("GET", "/ui/w/default", "", "", "Cookie", "hangar_ui_token="+tok, "Authorization", "Basic cHJveHk6c2VjcmV0")
		if r.status != http.StatusOK {
			t.Errorf("page with the cookie and a proxy's Basic auth: got %d, want 200", r.status)
		}
		// Home sends a token of one workspace to that workspace.
		other := e.token("o2", hangar.RoleDataScientist, "other")
		req, _ := http.NewRequest("GET", e.srv.URL+"/ui/", nil)
		req.Header.Set("Cookie", "hangar_ui_token="+other)
		resp, err := e.srv.Client().Transport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/w/other" {
			t.Errorf("home with a token of workspace other: got %d to %q", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
}
