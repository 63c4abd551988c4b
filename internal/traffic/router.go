package traffic

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"github.com/tandemhq/tandem/internal/proxy"
	"github.com/tandemhq/tandem/internal/topology"
)

// order returns the usable endpoints, best first, by the routing method:
//   - priority: the primary region, then the others by priority;
//   - weighted: one drawn at random in proportion to weight, then by priority;
//   - performance: lowest smoothed probe latency first.
//
// The tail of the list is where the proxy's retries go.
func (t *table) order(primary string) []*endpoint {
	out := make([]*endpoint, 0, len(t.eps))
	for _, e := range t.eps {
		if e.usable() {
			out = append(out, e)
		}
	}
	if len(out) < 2 {
		return out
	}
	switch t.top.Traffic.Routing {
	case topology.RoutingWeighted:
		moveFront(out, drawWeighted(out))
	case topology.RoutingPerformance:
		sortByLatency(out)
	default:
		for i, e := range out {
			if e.name() == primary {
				moveFront(out, i)
				break
			}
		}
	}
	return out
}

// moveFront moves out[i] to the front, keeping the others' order.
func moveFront(out []*endpoint, i int) {
	e := out[i]
	copy(out[1:i+1], out[:i])
	out[0] = e
}

func drawWeighted(eps []*endpoint) int {
	total := 0
	for _, e := range eps {
		total += e.cfg.Weight
	}
	n := rand.IntN(total)
	for i, e := range eps {
		if n < e.cfg.Weight {
			return i
		}
		n -= e.cfg.Weight
	}
	return len(eps) - 1
}

func sortByLatency(eps []*endpoint) {
	lat := make(map[*endpoint]int64, len(eps))
	for _, e := range eps {
		lat[e] = int64(e.health.latencyNow())
	}
	sort.SliceStable(eps, func(i, j int) bool { return lat[eps[i]] < lat[eps[j]] })
}

// errNoEndpoint is what the proxy answers 503 with and DNS SERVFAIL for.
var errNoEndpoint = errors.New("every endpoint is down")

// downError explains why no endpoint is usable, one clause per endpoint.
func (t *table) downError() error {
	var parts []string
	for _, e := range t.eps {
		switch {
		case !e.cfg.Enabled:
			parts = append(parts, e.name()+": disabled")
		default:
			parts = append(parts, fmt.Sprintf("%s: %s", e.name(), e.health.view().Reason))
		}
	}
	return fmt.Errorf("%w (%s)", errNoEndpoint, strings.Join(parts, "; "))
}

// Pick implements proxy.Picker: the usable endpoints in routing order, or
// why there are none.
func (m *Manager) Pick() ([]proxy.Target, error) {
	t := m.table()
	primary := *m.wit.primary.Load()
	mask, cacheable := t.usableMask()
	if c := t.picks.Load(); cacheable && c != nil && c.primary == primary && c.usable == mask {
		return c.targets, nil
	}
	eps := t.order(primary)
	if len(eps) == 0 {
		return nil, t.downError()
	}
	out := make([]proxy.Target, len(eps))
	for i, e := range eps {
		out[i] = e.target
	}
	if after, _ := t.usableMask(); cacheable && after == mask {
		t.picks.Store(&pickCache{primary: primary, usable: mask, targets: out})
	}
	return out, nil
}

// Fallback implements proxy.Fallbacker: the primary the refusing regions
// named (hint), then the one the control plane named, if enabled, whether
// or not the probes have them up. A secondary refuses only while it sees
// that primary answer, so the probes are the ones behind (a primary just
// promoted answers before it is marked up), and in a planned switch the
// regions may follow the new primary before this manager has read the
// role.
func (m *Manager) Fallback(hint string) []proxy.Target {
	t := m.table()
	var out []proxy.Target
	for _, name := range [...]string{hint, *m.wit.primary.Load()} {
		if e := t.byName[name]; e != nil && e.cfg.Enabled && (len(out) == 0 || out[0].Name != name) {
			out = append(out, e.target)
		}
	}
	return out
}

// pickCache is priority routing's last answer, reused while the primary
// and the set of usable endpoints stay the same, so a request picks
// without allocating. The proxy only reads the targets.
type pickCache struct {
	primary string
	usable  uint64 // bit i set: t.eps[i] is usable
	targets []proxy.Target
}

// usableMask is the set of usable endpoints as a bit mask, and whether
// picks may be cached: priority routing (weighted draws per request,
// performance follows latencies) and at most 64 endpoints.
func (t *table) usableMask() (uint64, bool) {
	if t.top.Traffic.Routing == topology.RoutingWeighted || t.top.Traffic.Routing == topology.RoutingPerformance || len(t.eps) > 64 {
		return 0, false
	}
	var mask uint64
	for i, e := range t.eps {
		if e.usable() {
			mask |= 1 << i
		}
	}
	return mask, true
}

// pickDNS is the host a DNS answer points at: the first endpoint in
// routing order.
func (m *Manager) pickDNS() (string, error) {
	t := m.table()
	eps := t.order(*m.wit.primary.Load())
	if len(eps) == 0 {
		return "", t.downError()
	}
	return eps[0].proxyURL.Hostname(), nil
}

func (m *Manager) zone() (string, time.Duration) {
	p := m.table().top.Traffic.Profile
	return p.Name, p.TTL
}

// report feeds the outcome of a live attempt to passive outlier detection.
func (m *Manager) report(t proxy.Target, o proxy.Outcome, _ time.Duration) {
	m.metrics.attempt(t.Name, o)
	tbl := m.table()
	e := tbl.byName[t.Name]
	if e == nil || e.target.Transport != t.Transport {
		return // the endpoint changed under a reload; its new health is not this one's
	}
	if e.health.live(o.Failed(), o.String(), tbl.rules) {
		m.healthChanged(e, "passive")
	}
}

// healthChanged logs a transition and wakes the witness.
func (m *Manager) healthChanged(e *endpoint, source string) {
	v := e.health.view()
	if v.Up {
		m.log.Info("endpoint up", "endpoint", e.name(), "source", source, "latency", v.Latency)
	} else {
		m.log.Warn("endpoint down", "endpoint", e.name(), "source", source, "reason", v.Reason)
	}
	m.metrics.health(e.name(), v.Up, source)
	m.wit.poke()
}
