package traffic

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/tandemhq/tandem/internal/topology"
)

// prober checks one endpoint every interval on the injected clock: an
// HTTP GET of the probe path on the region's gateway, bounded by the
// timeout, judged by the expected status ranges.
type prober struct {
	m      *Manager
	e      *endpoint
	cfg    topology.Probes
	rules  healthRules
	client *http.Client
}

func newProber(m *Manager, e *endpoint, t *table) *prober {
	tr := &http.Transport{MaxIdleConnsPerHost: 1, IdleConnTimeout: 2 * t.top.Traffic.Probes.Interval, DisableCompression: true}
	return &prober{m: m, e: e, cfg: t.top.Traffic.Probes, rules: t.rules, client: &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// run probes until ctx ends. Probes start interval apart (not interval
// after the previous one ended), the first one at once.
func (p *prober) run(ctx context.Context) {
	defer p.client.CloseIdleConnections()
	clk := p.m.clk
	timer := clk.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C():
		}
		start := clk.Now()
		p.once(ctx)
		timer.Reset(start.Add(p.cfg.Interval).Sub(clk.Now()))
	}
}

func (p *prober) once(ctx context.Context) {
	r := p.check(ctx)
	if ctx.Err() != nil {
		return // stopping or reloaded: this result belongs to nobody
	}
	r.at = p.m.clk.Now()
	p.m.metrics.probe(p.e.name(), r)
	if p.e.health.observe(r, p.rules) {
		p.m.healthChanged(p.e, "probe")
	}
}

func (p *prober) check(ctx context.Context) probeResult {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.e.probeURL, nil)
	if err != nil {
		return probeResult{err: err.Error()}
	}
	for k, v := range p.cfg.Headers {
		if strings.EqualFold(k, "Host") {
			req.Host = v
		} else {
			req.Header.Set(k, v)
		}
	}
	req.Header.Set("User-Agent", "tandem-traffic-probe")
	start := time.Now()
	resp, err := p.client.Do(req)
	if err != nil {
		return probeResult{err: shortErr(err, p.cfg.Timeout)}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	r := probeResult{latency: time.Since(start)}
	if !p.cfg.Expects(resp.StatusCode) {
		r.err = fmt.Sprintf("status %d", resp.StatusCode)
		return r
	}
	r.ok = true
	r.regionRole, r.regionEpoch = regionReport(body)
	return r
}

// regionReport reads the role a region states in its /healthz body, if any.
func regionReport(body []byte) (string, uint64) {
	var v struct {
		Role  string `json:"role"`
		Epoch uint64 `json:"epoch"`
	}
	if json.Unmarshal(body, &v) != nil {
		return "", 0
	}
	return v.Role, v.Epoch
}

func shortErr(err error, timeout time.Duration) string {
	if ctxErr := context.DeadlineExceeded; strings.Contains(err.Error(), ctxErr.Error()) || strings.Contains(err.Error(), "Client.Timeout") {
		return fmt.Sprintf("no answer within %v", timeout)
	}
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 && strings.Contains(s, "dial tcp") {
		return "connect: " + s[i+2:]
	}
	return s
}
