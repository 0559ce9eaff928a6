package serving

import (
	"bytes"
	"context"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/gbdt"
	"github.com/hangar-ml/hangar/score"
)

const testKey = "k-primary-0123456789"

// trained caches models: training is the slow part of a test.
var trained sync.Map // key string → *score.Model

// trainGBDT trains (once per process) a GBDT with the given objective,
// number of trees and features f0..f{nf-1} on synthetic rows.
func trainGBDT(tb testing.TB, objective string, trees, nf int) *score.Model {
	tb.Helper()
	key := objective + "/" + strconv.Itoa(trees) + "/" + strconv.Itoa(nf)
	if m, ok := trained.Load(key); ok {
		return m.(*score.Model)
	}
	r := rand.New(rand.NewPCG(7, 7))
	const n = 2000
	d := &gbdt.Dataset{Label: make([]float64, n)}
	for j := range nf {
		d.Features = append(d.Features, "f"+strconv.Itoa(j))
		d.Columns = append(d.Columns, make([]float64, n))
	}
	for i := range n {
		s := 0.0
		for j := range nf {
			v := r.NormFloat64()
			d.Columns[j][i] = v
			s += v * float64(j%3-1)
		}
		switch objective {
		case hangar.ObjectiveBinaryLogistic:
			d.Label[i] = b2f(s > 0)
		case "multi:softprob":
			d.Label[i] = float64(int(math.Abs(s)) % 3)
		default:
			d.Label[i] = s
		}
	}
	p := gbdt.DefaultParams()
	p.Objective, p.NEstimators, p.MaxDepth, p.Threads = objective, trees, 4, 1
	if objective == "multi:softprob" {
		p.NumClass = 3
	}
	gm, err := gbdt.Train(context.Background(), p, d, nil, nil)
	if err != nil {
		tb.Fatalf("train: %v", err)
	}
	var classes []string
	switch objective {
	case hangar.ObjectiveBinaryLogistic:
		classes = []string{"no", "yes"}
	case "multi:softprob":
		classes = []string{"a", "b", "c"}
	}
	m := score.NewGBDT(gm, classes)
	trained.Store(key, m)
	return m
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// testGateway is a gateway behind a real HTTP server, with one endpoint
// "ep" (key auth) and the given deployments taking the given traffic.
type testGateway struct {
	*Gateway
	srv *httptest.Server
	reg *prometheus.Registry
}

func newTestGateway(t testing.TB, configure func(g *Gateway)) *testGateway {
	t.Helper()
	g := NewGateway()
	reg := prometheus.NewRegistry()
	g.Registerer = reg
	if configure != nil {
		configure(g)
	}
	if err := g.Open(context.Background()); err != nil {
		t.Fatalf("Open: %v", err)
	}
	srv := httptest.NewServer(g)
	t.Cleanup(func() {
		srv.Close()
		if err := g.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	if err := g.SetEndpoint(EndpointConfig{Name: "ep", Keys: []string{testKey, "k-secondary"}}); err != nil {
		t.Fatalf("SetEndpoint: %v", err)
	}
	return &testGateway{Gateway: g, srv: srv, reg: reg}
}

func (tg *testGateway) deploy(t testing.TB, spec DeploymentSpec) *Deployment {
	t.Helper()
	if spec.Endpoint == "" {
		spec.Endpoint = "ep"
	}
	d, err := tg.Deploy(t.Context(), spec)
	if err != nil {
		t.Fatalf("Deploy %s: %v", spec.Name, err)
	}
	return d
}

func (tg *testGateway) traffic(t testing.TB, traffic, mirror map[string]int) {
	t.Helper()
	if err := tg.SetEndpoint(EndpointConfig{Name: "ep", Keys: []string{testKey, "k-secondary"}, Traffic: traffic, Mirror: mirror}); err != nil {
		t.Fatalf("SetEndpoint traffic %v mirror %v: %v", traffic, mirror, err)
	}
}

// reply is an HTTP answer read whole.
type reply struct {
	status int
	header http.Header
	body   string
}

// post sends body to path with the test key and content type ct
// (application/json when empty) and extra headers (name, value pairs).
func (tg *testGateway) post(t testing.TB, client *http.Client, path, ct, body string, hdr ...string) (reply, error) {
	req, err := http.NewRequest(http.MethodPost, tg.srv.URL+path, bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	if ct == "" {
		ct = "application/json"
	}
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Authorization", "Bearer "+testKey)
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
			continue
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	if client == nil {
		client = tg.srv.Client()
	}
	resp, err := client.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, resp.Header, string(b)}, err
}

func (tg *testGateway) get(t testing.TB, path string) reply {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, tg.srv.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+testKey)
	resp, err := tg.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, resp.Header, string(b)}
}

// row returns a JSON array of nf values.
func row(nf int, v float64) string {
	var b []byte
	b = append(b, '[')
	for j := range nf {
		if j > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendFloat(b, v+float64(j)/10, 'g', -1, 64)
	}
	return string(append(b, ']'))
}
