package traffic

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"sync/atomic"
	"time"

	"github.com/tandemhq/tandem/internal/proxy"
	"github.com/tandemhq/tandem/internal/topology"
)

// endpoint is one region as the current configuration sees it. Its health
// and transport carry over a reload when the URL (and timeouts) stay.
type endpoint struct {
	cfg topology.Region
	key atomic.Pointer[string] // the region's master key, for POST /admin/role; reread when it changes
	// refused says why the region refuses role grants with the key we have
	// (a rotated master key): such a region takes no traffic and is not
	// primary, and it is said loudly until a grant succeeds.
	refused  atomic.Pointer[string]
	proxyURL *url.URL
	probeURL string
	health   *health
	target   proxy.Target     // its Transport and Client carry over a reload
	timeouts [2]time.Duration // connect, response: the transport they built
}

func (e *endpoint) name() string { return e.cfg.Name }

// usable says whether the endpoint may take traffic now.
func (e *endpoint) usable() bool {
	return e.cfg.Enabled && e.health.up.Load() && e.refused.Load() == nil
}

func (e *endpoint) adminKey() string { return *e.key.Load() }

// reloadKey rereads the region's key from its file or variable and
// reports whether it changed (an operator rotated it).
func (e *endpoint) reloadKey() bool {
	k, err := e.cfg.AdminKey()
	if err != nil || k == e.adminKey() {
		return false
	}
	e.key.Store(&k)
	return true
}

// table is one configuration generation: endpoints by priority plus the
// rules that apply to them. Reloads build a new table and swap it in.
type table struct {
	top    *topology.Topology
	eps    []*endpoint // by priority, lowest number first
	byName map[string]*endpoint
	rules  healthRules
	picks  atomic.Pointer[pickCache] // Pick's last answer (router.go)
}

// newTable builds a table for top, reusing health and connection pools of
// endpoints in prev that kept their URLs.
func newTable(top *topology.Topology, prev *table) (*table, error) {
	t := &table{top: top, byName: map[string]*endpoint{}, rules: rulesOf(top.Traffic)}
	for _, r := range top.Regions {
		e, err := newEndpoint(r, top.Traffic, prev)
		if err != nil {
			return nil, err
		}
		t.eps = append(t.eps, e)
		t.byName[r.Name] = e
	}
	sort.Slice(t.eps, func(i, j int) bool { return t.eps[i].cfg.Priority < t.eps[j].cfg.Priority })
	return t, nil
}

func rulesOf(tr topology.Traffic) healthRules {
	return healthRules{tolerated: tr.Probes.ToleratedFailures, rise: tr.Probes.Rise, passive: tr.Passive.ConsecutiveFailures}
}

func newEndpoint(r topology.Region, tr topology.Traffic, prev *table) (*endpoint, error) {
	key, err := r.AdminKey()
	if err != nil {
		return nil, fmt.Errorf("region %s admin key: %w", r.Name, err)
	}
	u, err := url.Parse(r.ProxyURL)
	if err != nil {
		return nil, fmt.Errorf("region %s proxyURL: %w", r.Name, err)
	}
	e := &endpoint{cfg: r, proxyURL: u, probeURL: joinURL(r.ProxyURL, tr.Probes.Path),
		timeouts: [2]time.Duration{tr.Retry.ConnectTimeout, tr.Retry.ResponseTimeout}}
	e.key.Store(&key)
	e.reuse(prev, u)
	return e, nil
}

// reuse takes over the health record and transport of the same endpoint in
// the previous table, so a reload neither resets health nor drops pools.
func (e *endpoint) reuse(prev *table, u *url.URL) {
	var old *endpoint
	if prev != nil {
		old = prev.byName[e.cfg.Name]
	}
	if old != nil && old.cfg.ProxyURL == e.cfg.ProxyURL {
		if old.cfg.Enabled || !e.cfg.Enabled {
			e.health = old.health // a re-enabled endpoint was not probed meanwhile: start afresh
		}
		if old.timeouts == e.timeouts {
			e.target = old.target
			e.target.URL = u
		}
	}
	if e.health == nil {
		e.health = newHealth()
	}
	if e.target.Transport == nil {
		e.target = proxy.NewTarget(e.cfg.Name, u, proxy.TransportOptions{ConnectTimeout: e.timeouts[0], ResponseTimeout: e.timeouts[1]})
	}
}

func joinURL(base, path string) string {
	for len(base) > 0 && base[len(base)-1] == '/' {
		base = base[:len(base)-1]
	}
	return base + path
}

// retire closes the idle connections of pools next no longer uses.
func (t *table) retire(next *table) {
	kept := map[http.RoundTripper]bool{}
	for _, e := range next.eps {
		kept[e.target.Transport] = true
	}
	for _, e := range t.eps {
		if !kept[e.target.Transport] {
			e.target.CloseIdle()
		}
	}
}
