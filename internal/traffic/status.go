package traffic

import (
	"time"
)

// Status is what GET /status returns.
type Status struct {
	Profile    string           `json:"profile"`
	Routing    string           `json:"routing"`
	Ready      bool             `json:"ready"`
	Primary    string           `json:"primary"`
	Epoch      uint64           `json:"epoch"`
	LeaseUntil time.Time        `json:"leaseUntil"`
	Lease      string           `json:"lease"` // time left on the latest lease, or "expired"
	Waiting    string           `json:"waiting,omitempty"`
	Endpoints  []EndpointStatus `json:"endpoints"`
	Failovers  []Failover       `json:"failovers"`
}

// EndpointStatus is one region in GET /status.
type EndpointStatus struct {
	Name           string    `json:"name"`
	ProxyURL       string    `json:"proxyURL"`
	Priority       int       `json:"priority"`
	Weight         int       `json:"weight"`
	Enabled        bool      `json:"enabled"`
	Healthy        bool      `json:"healthy"`
	Reason         string    `json:"reason,omitempty"`
	ProbeLatencyMs float64   `json:"probeLatencyMs"`
	LastProbe      time.Time `json:"lastProbe"`
	Probes         int64     `json:"probes"`
	Failures       int       `json:"consecutiveFailures"`
	Role           string    `json:"role"`          // the role the witness assigns
	RoleConfirmed  bool      `json:"roleConfirmed"` // the region accepted it at the current epoch
	RoleError      string    `json:"roleError,omitempty"`
	RegionRole     string    `json:"regionRole,omitempty"` // as the region's /healthz reports it
	RegionEpoch    uint64    `json:"regionEpoch,omitempty"`
}

// Status reports endpoints, health, roles, lease and failover history.
func (m *Manager) Status() Status {
	t := m.table()
	w := m.wit
	w.mu.Lock()
	st, waiting := w.st, w.stalled
	confirmed, roleErr := copyMap(w.confirmed), copyMap(w.roleErr)
	w.mu.Unlock()
	now := m.clk.Now()
	s := Status{Profile: t.top.Traffic.Profile.Name, Routing: t.top.Traffic.Routing, Ready: m.Ready(),
		Primary: st.Primary, Epoch: st.Epoch, LeaseUntil: st.LeaseUntil, Lease: "expired", Waiting: waiting,
		Failovers: append([]Failover{}, st.History...)}
	if left := st.LeaseUntil.Sub(now); left > 0 {
		s.Lease = left.Round(time.Millisecond).String()
	}
	for _, e := range t.eps {
		s.Endpoints = append(s.Endpoints, endpointStatus(e, st, confirmed, roleErr))
	}
	return s
}

func endpointStatus(e *endpoint, st roleState, confirmed map[string]uint64, roleErr map[string]string) EndpointStatus {
	v := e.health.view()
	es := EndpointStatus{Name: e.name(), ProxyURL: e.cfg.ProxyURL, Priority: e.cfg.Priority, Weight: e.cfg.Weight,
		Enabled: e.cfg.Enabled, Healthy: e.usable(), Reason: v.Reason,
		ProbeLatencyMs: float64(v.Latency.Microseconds()) / 1000, LastProbe: v.LastProbe, Probes: v.Probes, Failures: v.Fails,
		Role: "secondary", RoleConfirmed: st.Epoch > 0 && confirmed[e.name()] == st.Epoch, RoleError: roleErr[e.name()],
		RegionRole: v.RegionRole, RegionEpoch: v.RegionEpoch}
	if e.name() == st.Primary {
		es.Role = "primary"
	}
	if !e.cfg.Enabled {
		es.Reason = "disabled"
	}
	return es
}

func copyMap[V any](m map[string]V) map[string]V {
	out := make(map[string]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
