package configsync

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the Syncer's Prometheus series.
type metrics struct {
	lag       *prometheus.HistogramVec
	applied   *prometheus.CounterVec
	following prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		lag: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tandem_configsync_lag_seconds",
			Help:    "Time from a settings or key change in the primary (its KV entry's timestamp) to its application in this secondary.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"class"}),
		applied: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tandem_configsync_applied_total",
			Help: "Settings, connection strings and keys written to this region from the primary, by kind and class.",
		}, []string{"kind", "class"}),
		following: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tandem_configsync_following",
			Help: "1 while this region watches a primary's configuration, else 0.",
		}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.lag, m.applied, m.following} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register metrics: %w", err)
		}
	}
	return m, nil
}

// lagClass groups classes for the lag histogram: settings or keys.
func lagClass(c Class) string {
	if c.IsKey() {
		return "key"
	}
	return "setting"
}
