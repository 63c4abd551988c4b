package replicate

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Status is the replication state of a secondary region, for
// `tandem status` (the region serves it in GET /admin/replication).
type Status struct {
	Region  string `json:"region"`  // this (secondary) region
	Primary string `json:"primary"` // the region mirrored
	Ready   bool   `json:"ready"`
	// PrimaryReachable is whether the last poll reached the primary's
	// JetStream API over the leafnode link.
	PrimaryReachable bool      `json:"primaryReachable"`
	Updated          time.Time `json:"updated"`
	// Polled is when the poll behind this status began listing the
	// primary's streams: a mirror with no lag then held every message the
	// primary had stored before Polled.
	Polled  time.Time      `json:"polled"`
	Mirrors []MirrorStatus `json:"mirrors"`
	// Errors are problems not tied to one mirror (listing failures,
	// local streams in the way of a mirror).
	Errors []string `json:"errors,omitempty"`
}

// MirrorStatus is one mirrored stream.
type MirrorStatus struct {
	Stream string `json:"stream"` // local mirror
	Origin string `json:"origin"` // primary's stream
	Kind   Kind   `json:"kind"`
	// LastSeq is the mirror's last sequence; OriginLastSeq the origin's at
	// the last poll (0 when the primary was unreachable).
	LastSeq       uint64 `json:"lastSeq"`
	OriginLastSeq uint64 `json:"originLastSeq"`
	// LagMessages is how many origin sequences the mirror has not stored
	// yet; LagSeconds the age of the oldest of them (0 when caught up).
	LagMessages uint64  `json:"lagMessages"`
	LagSeconds  float64 `json:"lagSeconds"`
	// LastContactSeconds is the time since the mirror last heard from its
	// origin, -1 if it never did.
	LastContactSeconds float64 `json:"lastContactSeconds"`
	Active             bool    `json:"active"`
	Error              string  `json:"error,omitempty"`
}

// Healthy reports whether the mirror is connected and error-free.
func (s MirrorStatus) Healthy() bool { return s.Active && s.Error == "" }

// metrics are the Prometheus gauges of a Mirrorer.
type metrics struct {
	reg                      prometheus.Registerer
	lagMsgs, lagSecs, contac *prometheus.GaugeVec
	healthy                  *prometheus.GaugeVec
	reachable                prometheus.Gauge
	seen                     map[string]prometheus.Labels // series set last time
}

var mirrorLabels = []string{"stream", "origin", "kind"}

func newMetrics(reg prometheus.Registerer) *metrics {
	gauge := func(name, help string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "tandem", Subsystem: "replication", Name: name, Help: help}, mirrorLabels)
	}
	return &metrics{
		reg:     reg,
		lagMsgs: gauge("lag_messages", "Origin sequences a mirror has not stored yet."),
		lagSecs: gauge("lag_seconds", "Age of the oldest message a mirror has not stored yet (0 when caught up)."),
		contac:  gauge("last_contact_seconds", "Time since a mirror last heard from its origin (-1: never)."),
		healthy: gauge("mirror_healthy", "1 if the mirror is active and reports no error."),
		reachable: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "tandem", Subsystem: "replication",
			Name: "primary_reachable", Help: "1 if the primary's JetStream API answered the last poll."}),
	}
}

func (m *metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.lagMsgs, m.lagSecs, m.contac, m.healthy, m.reachable}
}

// register adds the gauges to the registerer (none: a no-op), rolling
// back on failure.
func (m *metrics) register() error {
	if m.reg == nil {
		return nil
	}
	var done []prometheus.Collector
	for _, c := range m.collectors() {
		if err := m.reg.Register(c); err != nil {
			for _, d := range done {
				m.reg.Unregister(d)
			}
			return err
		}
		done = append(done, c)
	}
	return nil
}

func (m *metrics) unregister() {
	if m.reg == nil {
		return
	}
	for _, c := range m.collectors() {
		m.reg.Unregister(c)
	}
}

// set publishes a status snapshot, dropping series of vanished mirrors.
func (m *metrics) set(s Status) {
	m.reachable.Set(boolGauge(s.PrimaryReachable))
	now := make(map[string]prometheus.Labels, len(s.Mirrors))
	for _, ms := range s.Mirrors {
		l := prometheus.Labels{"stream": ms.Stream, "origin": ms.Origin, "kind": string(ms.Kind)}
		now[ms.Stream] = l
		m.lagMsgs.With(l).Set(float64(ms.LagMessages))
		m.lagSecs.With(l).Set(ms.LagSeconds)
		m.contac.With(l).Set(ms.LastContactSeconds)
		m.healthy.With(l).Set(boolGauge(ms.Healthy()))
	}
	for name, l := range m.seen {
		if _, ok := now[name]; !ok {
			for _, v := range []*prometheus.GaugeVec{m.lagMsgs, m.lagSecs, m.contac, m.healthy} {
				v.Delete(l)
			}
		}
	}
	m.seen = now
}

func boolGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
