package traffic

import (
	"sync"
	"sync/atomic"
	"time"
)

// healthRules are the thresholds a health record applies.
type healthRules struct {
	tolerated int // probe failures tolerated before marking down
	rise      int // consecutive probe successes that bring a down endpoint back
	passive   int // consecutive live-traffic failures that mark down at once
}

// health is one endpoint's verdict from active probes and live traffic. It
// outlives config reloads for as long as the endpoint keeps its URL.
type health struct {
	up        atomic.Bool  // read on every request
	liveFails atomic.Int64 // consecutive live-traffic failures

	mu          sync.Mutex
	known       bool // a probe has answered since start
	fails, oks  int  // consecutive probe results
	reason      string
	lastErr     string
	latency     time.Duration // smoothed probe latency
	lastProbe   time.Time
	probes      int64
	regionRole  string
	regionEpoch uint64
}

func newHealth() *health { return &health{reason: "starting: no probe answered yet"} }

// probeResult is one probe's verdict.
type probeResult struct {
	ok          bool
	err         string
	latency     time.Duration
	at          time.Time
	regionRole  string
	regionEpoch uint64
}

// observe applies a probe result and reports whether up changed. The first
// success after start brings an endpoint up at once; later, rise successes
// are needed, and more than tolerated consecutive failures take it down.
func (h *health) observe(r probeResult, rules healthRules) (changed bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.probes++
	h.lastProbe = r.at
	if r.ok {
		h.smooth(r.latency)
		h.regionRole, h.regionEpoch = r.regionRole, r.regionEpoch
		return h.success(rules)
	}
	h.lastErr = r.err
	return h.failure(rules)
}

func (h *health) success(rules healthRules) bool {
	h.fails = 0
	h.oks++
	h.lastErr = ""
	wasKnown := h.known
	h.known = true
	if h.up.Load() || (wasKnown && h.oks < rules.rise) {
		return false
	}
	h.liveFails.Store(0)
	h.reason = ""
	h.up.Store(true)
	return true
}

func (h *health) failure(rules healthRules) bool {
	h.oks = 0
	h.fails++
	h.known = true
	if !h.up.Load() {
		if h.reason == "" || h.fails > rules.tolerated {
			h.reason = "probe: " + h.lastErr
		}
		return false
	}
	if h.fails <= rules.tolerated {
		return false
	}
	h.reason = "probe: " + h.lastErr
	h.up.Store(false)
	return true
}

// smooth keeps an exponentially weighted probe latency (alpha 0.3).
func (h *health) smooth(d time.Duration) {
	if h.latency == 0 {
		h.latency = d
		return
	}
	h.latency = time.Duration(0.7*float64(h.latency) + 0.3*float64(d))
}

// live records the outcome of a live request; enough consecutive failures
// mark the endpoint down at once, and only probes bring it back. The
// success path takes no lock: it runs on every proxied request.
func (h *health) live(failed bool, what string, rules healthRules) (changed bool) {
	if !failed {
		if h.liveFails.Load() != 0 {
			h.liveFails.Store(0)
		}
		return false
	}
	if h.liveFails.Add(1) < int64(rules.passive) || !h.up.CompareAndSwap(true, false) {
		return false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.oks = 0
	h.reason = "passive: " + what
	return true
}

// healthView is a copy of a health record for status and routing.
type healthView struct {
	Up          bool
	Known       bool
	Reason      string
	LastErr     string
	Latency     time.Duration
	LastProbe   time.Time
	Fails       int
	Probes      int64
	RegionRole  string
	RegionEpoch uint64
}

func (h *health) view() healthView {
	h.mu.Lock()
	defer h.mu.Unlock()
	return healthView{Up: h.up.Load(), Known: h.known, Reason: h.reason, LastErr: h.lastErr, Latency: h.latency,
		LastProbe: h.lastProbe, Fails: h.fails, Probes: h.probes, RegionRole: h.regionRole, RegionEpoch: h.regionEpoch}
}

func (h *health) latencyNow() time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.latency
}
