package traffic

import (
	"context"
	"sort"
	"time"

	"github.com/tandemhq/tandem/internal/control"
)

// Status is what GET /status returns.
type Status struct {
	Profile    string           `json:"profile"`
	Routing    string           `json:"routing"`
	Ready      bool             `json:"ready"`
	Primary    string           `json:"primary"`
	Epoch      uint64           `json:"epoch"`
	LeaseUntil time.Time        `json:"leaseUntil"` // the latest a lease at Epoch may run, as this manager knows
	LeaseBound time.Time        `json:"leaseBound"` // the bound stored in the control cluster
	Lease      string           `json:"lease"`      // time left on the latest lease, or "expired"
	Waiting    string           `json:"waiting,omitempty"`
	Endpoints  []EndpointStatus `json:"endpoints"`
	Failovers  []Failover       `json:"failovers"`

	// The control plane: this manager, the one deciding, every traffic
	// manager seen, and the control cluster (the last two only on GET
	// /status, which reads them from the control cluster).
	Manager      string          `json:"manager"`
	Deciding     bool            `json:"deciding"`
	Decider      string          `json:"decider"`
	DeciderSince time.Time       `json:"deciderSince"`
	DeciderUntil time.Time       `json:"deciderUntil"`
	ControlError string          `json:"controlError,omitempty"`
	Managers     []ManagerStatus `json:"managers,omitempty"`
	Control      *control.Health `json:"control,omitempty"`
}

// ManagerStatus is one traffic manager as the control cluster last heard it.
type ManagerStatus struct {
	control.Manager
	Deciding bool   `json:"deciding"`
	Silent   string `json:"silentFor"`
	Stale    bool   `json:"stale"` // no heartbeat for three seconds
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
		Primary: st.Primary, Epoch: st.Epoch, LeaseUntil: w.leaseEnd(), LeaseBound: st.LeaseUntil, Lease: "expired", Waiting: waiting,
		Failovers: append([]Failover{}, st.History...)}
	if left := s.LeaseUntil.Sub(now); left > 0 {
		s.Lease = left.Round(time.Millisecond).String()
	}
	for _, e := range t.eps {
		s.Endpoints = append(s.Endpoints, endpointStatus(e, st, confirmed, roleErr))
	}
	s.Manager, s.Deciding = m.id, w.deciding.Load()
	if d := w.decider.Load(); d != nil {
		s.Decider, s.DeciderSince, s.DeciderUntil = d.ID, d.Since, d.Until
	}
	if e := w.ctlErr.Load(); e != nil {
		s.ControlError = *e
	}
	return s
}

// StatusWithControl adds every traffic manager's heartbeat and the control
// cluster's health, read from the control cluster.
func (m *Manager) StatusWithControl(ctx context.Context) Status {
	s := m.Status()
	if m.ctl == nil {
		return s
	}
	h := m.ctl.Health(ctx)
	s.Control = &h
	mgrs, err := m.ctl.Managers(ctx)
	if err != nil && s.ControlError == "" {
		s.ControlError = err.Error()
	}
	now := m.clk.Now()
	for _, mg := range mgrs {
		silent := now.Sub(mg.SeenAt)
		s.Managers = append(s.Managers, ManagerStatus{Manager: mg, Deciding: mg.ID == s.Decider,
			Silent: silent.Round(time.Millisecond).String(), Stale: silent > 3*time.Second})
	}
	sort.Slice(s.Managers, func(i, j int) bool { return s.Managers[i].ID < s.Managers[j].ID })
	return s
}

func endpointStatus(e *endpoint, st roleState, confirmed map[string]uint64, roleErr map[string]string) EndpointStatus {
	v := e.health.view()
	es := EndpointStatus{Name: e.name(), ProxyURL: e.cfg.ProxyURL, Priority: e.cfg.Priority, Weight: e.cfg.Weight,
		Enabled: e.cfg.Enabled, Healthy: e.usable(), Reason: v.Reason,
		ProbeLatencyMs: float64(v.Latency.Microseconds()) / 1000, LastProbe: v.LastProbe, Probes: v.Probes, Failures: v.Fails,
		Role: "secondary", RoleError: roleErr[e.name()], RegionRole: v.RegionRole, RegionEpoch: v.RegionEpoch}
	if e.name() == st.Primary {
		es.Role = "primary"
	}
	// Confirmed: the region accepted the role from this manager, or (for
	// a manager that does not decide) its probes say it holds it.
	es.RoleConfirmed = st.Epoch > 0 && (confirmed[e.name()] == st.Epoch || (v.RegionEpoch == st.Epoch && v.RegionRole == es.Role))
	if why := e.refused.Load(); why != nil {
		es.Reason = *why
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
