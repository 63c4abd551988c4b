package traffic

import (
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/tandemhq/tandem/internal/proxy"
)

// metrics are the traffic manager's Prometheus series, on its own registry
// so several managers (tests) never collide.
type metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	attempts  *prometheus.CounterVec
	probes    *prometheus.CounterVec
	probeLat  *prometheus.GaugeVec
	up        *prometheus.GaugeVec
	markdowns *prometheus.CounterVec
	failovers *prometheus.CounterVec
	roles     *prometheus.CounterVec
	epoch     prometheus.Gauge
	primary   *prometheus.GaugeVec
	dns       *prometheus.CounterVec
	refusing  *prometheus.GaugeVec

	// Children of the per-request series, looked up once per label set:
	// WithLabelValues hashes its labels and takes a lock on every call.
	doneSeries    sync.Map // doneKey -> *doneSeries
	attemptSeries sync.Map // attemptKey -> prometheus.Counter
}

type doneKey struct {
	endpoint string
	status   int
}

type doneSeries struct {
	requests prometheus.Counter
	latency  prometheus.Observer
}

type attemptKey struct {
	endpoint string
	outcome  proxy.Outcome
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tandem_traffic_requests_total",
			Help: "Proxied requests by the endpoint that answered (none when none did) and status."}, []string{"endpoint", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "tandem_traffic_request_duration_seconds",
			Help: "Time to proxy a request, retries included.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)}, []string{"endpoint"}),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tandem_traffic_attempts_total",
			Help: "Upstream attempts by endpoint and outcome (ok, not-sent, no-response, timeout, bad-status)."}, []string{"endpoint", "outcome"}),
		probes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tandem_traffic_probes_total",
			Help: "Health probes by endpoint and result."}, []string{"endpoint", "result"}),
		probeLat: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "tandem_traffic_probe_latency_seconds",
			Help: "Latest successful probe latency."}, []string{"endpoint"}),
		up: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "tandem_traffic_endpoint_up",
			Help: "1 when the endpoint takes traffic."}, []string{"endpoint"}),
		markdowns: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tandem_traffic_markdowns_total",
			Help: "Endpoints marked down, by source (probe or passive)."}, []string{"endpoint", "source"}),
		failovers: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tandem_traffic_failovers_total",
			Help: "Changes of primary by kind."}, []string{"kind"}),
		roles: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tandem_traffic_role_grants_total",
			Help: "Roles accepted by regions (lease renewals included)."}, []string{"endpoint", "role"}),
		epoch: prometheus.NewGauge(prometheus.GaugeOpts{Name: "tandem_traffic_epoch", Help: "Current role epoch."}),
		primary: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "tandem_traffic_primary",
			Help: "1 for the primary region."}, []string{"endpoint"}),
		dns: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tandem_traffic_dns_queries_total",
			Help: "DNS queries by response code."}, []string{"rcode"}),
		refusing: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "tandem_traffic_endpoint_refuses_roles",
			Help: "1 while the region refuses role grants with the configured admin key (401)."}, []string{"endpoint"}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.attempts, m.probes, m.probeLat, m.up, m.markdowns,
		m.failovers, m.roles, m.epoch, m.primary, m.dns, m.refusing,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) done(endpoint string, status int, d time.Duration) {
	if endpoint == "" {
		endpoint = "none"
	}
	k := doneKey{endpoint, status}
	v, ok := m.doneSeries.Load(k)
	if !ok {
		v, _ = m.doneSeries.LoadOrStore(k, &doneSeries{
			requests: m.requests.WithLabelValues(endpoint, strconv.Itoa(status)),
			latency:  m.latency.WithLabelValues(endpoint),
		})
	}
	sr := v.(*doneSeries)
	sr.requests.Inc()
	sr.latency.Observe(d.Seconds())
}

func (m *metrics) attempt(endpoint string, o proxy.Outcome) {
	k := attemptKey{endpoint, o}
	v, ok := m.attemptSeries.Load(k)
	if !ok {
		v, _ = m.attemptSeries.LoadOrStore(k, m.attempts.WithLabelValues(endpoint, o.String()))
	}
	v.(prometheus.Counter).Inc()
}

func (m *metrics) probe(endpoint string, r probeResult) {
	if r.ok {
		m.probes.WithLabelValues(endpoint, "ok").Inc()
		m.probeLat.WithLabelValues(endpoint).Set(r.latency.Seconds())
		return
	}
	m.probes.WithLabelValues(endpoint, "fail").Inc()
}

func (m *metrics) health(endpoint string, up bool, source string) {
	m.up.WithLabelValues(endpoint).Set(b2f(up))
	if !up {
		m.markdowns.WithLabelValues(endpoint, source).Inc()
	}
}

func (m *metrics) failover(f Failover) {
	m.failovers.WithLabelValues(f.Kind).Inc()
	m.epoch.Set(float64(f.Epoch))
	if f.From != "" {
		m.primary.WithLabelValues(f.From).Set(0)
	}
	m.primary.WithLabelValues(f.To).Set(1)
}

func (m *metrics) roleGranted(endpoint, role string) { m.roles.WithLabelValues(endpoint, role).Inc() }

func (m *metrics) dnsQuery(rcode string) { m.dns.WithLabelValues(rcode).Inc() }

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func (m *metrics) refused(endpoint string, refusing bool) {
	v := 0.0
	if refusing {
		v = 1
	}
	m.refusing.WithLabelValues(endpoint).Set(v)
}
