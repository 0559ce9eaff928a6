package serving

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the gateway's Prometheus series, per endpoint and
// deployment.
type metrics struct {
	requests       *prometheus.CounterVec   // endpoint, deployment, code (HTTP status)
	errors         *prometheus.CounterVec   // endpoint, deployment, error (stable code)
	latency        *prometheus.HistogramVec // endpoint, deployment
	inflight       *prometheus.GaugeVec     // endpoint, deployment
	mirrorDropped  *prometheus.CounterVec   // endpoint
	captureDropped prometheus.Counter
	captureWritten *prometheus.CounterVec // result: ok, error
}

func newMetrics() *metrics {
	return &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hangar_serving_requests_total", Help: "Scoring requests by endpoint, deployment and HTTP status.",
		}, []string{"endpoint", "deployment", "code"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hangar_serving_errors_total", Help: "Failed scoring requests by endpoint, deployment and error code.",
		}, []string{"endpoint", "deployment", "error"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "hangar_serving_request_duration_seconds",
			Help:    "Scoring request latency, from the body read to the answer, by endpoint and deployment.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"endpoint", "deployment"}),
		inflight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "hangar_serving_in_flight_requests", Help: "Scoring requests being answered, by endpoint and deployment.",
		}, []string{"endpoint", "deployment"}),
		mirrorDropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hangar_serving_mirror_dropped_total", Help: "Mirrored copies dropped because the mirror was saturated.",
		}, []string{"endpoint"}),
		captureDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hangar_serving_capture_dropped_total", Help: "Captured samples dropped because the capture buffer was full.",
		}),
		captureWritten: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hangar_serving_capture_records_total", Help: "Captured samples handed to the sink, by result.",
		}, []string{"result"}),
	}
}

func (m *metrics) register(r prometheus.Registerer, workers prometheus.Collector) error {
	for _, c := range []prometheus.Collector{m.requests, m.errors, m.latency, m.inflight, m.mirrorDropped, m.captureDropped, m.captureWritten, workers} {
		if err := r.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// depMetrics are one deployment's series, resolved once so the hot path
// does no label lookups.
type depMetrics struct {
	m        *metrics
	ep, name string
	ok       prometheus.Counter
	latency  prometheus.Observer
	inflight prometheus.Gauge
}

func (m *metrics) deployment(ep, name string) *depMetrics {
	return &depMetrics{
		m: m, ep: ep, name: name,
		ok:       m.requests.WithLabelValues(ep, name, "200"),
		latency:  m.latency.WithLabelValues(ep, name),
		inflight: m.inflight.WithLabelValues(ep, name),
	}
}

// failed counts a request answered with an error.
func (m *metrics) failed(ep, dep string, status int, code string) {
	m.requests.WithLabelValues(ep, dep, strconv.Itoa(status)).Inc()
	m.errors.WithLabelValues(ep, dep, code).Inc()
}

// forget removes a deployment's series once it is gone.
func (d *depMetrics) forget() {
	lbl := prometheus.Labels{"endpoint": d.ep, "deployment": d.name}
	d.m.requests.DeletePartialMatch(lbl)
	d.m.errors.DeletePartialMatch(lbl)
	d.m.latency.DeletePartialMatch(lbl)
	d.m.inflight.DeletePartialMatch(lbl)
}

// workerCollector reports the CPU and memory of script runners' workers
// at scrape time.
type workerCollector struct {
	g   *Gateway
	cpu *prometheus.Desc
	rss *prometheus.Desc
}

func newWorkerCollector(g *Gateway) *workerCollector {
	lbl := []string{"endpoint", "deployment", "pid"}
	return &workerCollector{
		g:   g,
		cpu: prometheus.NewDesc("hangar_serving_worker_cpu_seconds_total", "CPU time used by a scoring worker process.", lbl, nil),
		rss: prometheus.NewDesc("hangar_serving_worker_resident_memory_bytes", "Resident memory of a scoring worker process.", lbl, nil),
	}
}

func (c *workerCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.cpu
	ch <- c.rss
}

func (c *workerCollector) Collect(ch chan<- prometheus.Metric) {
	for _, d := range c.g.deployments() {
		sr, ok := d.script.(StatsReporter)
		if !ok {
			continue
		}
		for _, w := range sr.WorkerStats() {
			pid := strconv.Itoa(w.PID)
			ch <- prometheus.MustNewConstMetric(c.cpu, prometheus.CounterValue, w.CPUSeconds, d.spec.Endpoint, d.spec.Name, pid)
			ch <- prometheus.MustNewConstMetric(c.rss, prometheus.GaugeValue, float64(w.RSSBytes), d.spec.Endpoint, d.spec.Name, pid)
		}
	}
}
