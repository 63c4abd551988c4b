package topology

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/tandemhq/tandem/internal/broker"
)

// checker collects validation problems, each tagged with its field's line.
type checker struct {
	lines map[string]int
	errs  []error
}

func (c *checker) add(path, format string, args ...any) {
	c.errs = append(c.errs, &FieldError{Path: path, Line: c.line(path), Err: fmt.Errorf(format, args...)})
}

// line finds the line of path, or of its nearest parent when the field
// itself is absent from the file.
func (c *checker) line(path string) int {
	for path != "" {
		if l, ok := c.lines[path]; ok {
			return l
		}
		path = path[:max(strings.LastIndexAny(path, ".["), 0)]
	}
	return 0
}

func (t *Topology) validate(lines map[string]int) error {
	c := &checker{lines: lines}
	t.checkRegions(c)
	t.checkPrimary(c)
	t.Replication.check(c)
	t.Traffic.check(c)
	return errors.Join(c.errs...)
}

func (t *Topology) checkRegions(c *checker) {
	if len(t.Regions) == 0 {
		c.add("regions", "at least one region is required")
		return
	}
	names, prios := map[string]bool{}, map[int]string{}
	for i := range t.Regions {
		r := &t.Regions[i]
		p := fmt.Sprintf("regions[%d]", i)
		r.check(c, p)
		if names[r.Name] {
			c.add(p+".name", "%q is used by another region", r.Name)
		}
		names[r.Name] = true
		if other, ok := prios[r.Priority]; ok {
			c.add(p+".priority", "%d is already the priority of region %q; priorities must be unique", r.Priority, other)
		}
		prios[r.Priority] = r.Name
	}
}

func (r *Region) check(c *checker, p string) {
	if err := broker.ValidRegion(r.Name); err != nil {
		c.add(p+".name", "%v", err)
	}
	checkURL(c, p+".proxyURL", r.ProxyURL, true, "http", "https")
	if r.AdminURL == "" {
		r.AdminURL = r.ProxyURL
	} else {
		checkURL(c, p+".adminURL", r.AdminURL, true, "http", "https")
	}
	if r.NATSLeafURL != "" {
		checkURL(c, p+".natsLeafURL", r.NATSLeafURL, false, "nats-leaf", "nats", "tls", "ws", "wss")
	}
	checkRange(c, p+".priority", r.Priority, 1, 1000)
	checkRange(c, p+".weight", r.Weight, 1, 1000)
	checkKeySource(c, p, r.AdminKeyFile, r.AdminKeyEnv)
}

func checkURL(c *checker, p, raw string, required bool, schemes ...string) {
	if raw == "" {
		if required {
			c.add(p, "required")
		}
		return
	}
	u, err := url.Parse(raw)
	if err != nil {
		c.add(p, "%q is not a URL: %v", raw, err)
		return
	}
	ok := false
	for _, s := range schemes {
		ok = ok || u.Scheme == s
	}
	if !ok {
		c.add(p, "%q: scheme must be one of %s", raw, strings.Join(schemes, ", "))
	}
	if u.Host == "" || u.Hostname() == "" {
		c.add(p, "%q has no host", raw)
	}
}

func checkRange(c *checker, p string, v, lo, hi int) {
	if v < lo || v > hi {
		c.add(p, "%d is out of range %d..%d", v, lo, hi)
	}
}

func checkKeySource(c *checker, p, file, env string) {
	switch {
	case file != "" && env != "":
		c.add(p+".adminKeyFile", "give adminKeyFile or adminKeyEnv, not both")
	case file == "" && env == "":
		c.add(p+".adminKeyFile", "required (or adminKeyEnv)")
	case env != "" && !envName.MatchString(env):
		c.add(p+".adminKeyEnv", "%q is not an environment variable name", env)
	}
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func (t *Topology) checkPrimary(c *checker) {
	if t.Primary == "" {
		best := -1
		for i, r := range t.Regions {
			if r.Enabled && (best < 0 || r.Priority < t.Regions[best].Priority) {
				best = i
			}
		}
		if best < 0 {
			c.add("regions", "at least one region must be enabled")
			return
		}
		t.Primary = t.Regions[best].Name
		return
	}
	r, ok := t.Region(t.Primary)
	switch {
	case !ok:
		c.add("primary", "%q is not the name of a region", t.Primary)
	case !r.Enabled:
		c.add("primary", "region %q is not enabled", t.Primary)
	}
}

var appName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]*$`)

func (r *Replication) check(c *checker) {
	if r.Mode != "async" && r.Mode != "sync" {
		c.add("replication.mode", "%q is not async or sync", r.Mode)
	}
	for app, mode := range r.Apps {
		p := "replication.apps." + app
		if !appName.MatchString(app) {
			c.add(p, "app names are letters, digits and '-'")
		}
		if mode != "async" && mode != "sync" {
			c.add(p, "%q is not async or sync", mode)
		}
	}
	for i, g := range r.Exclude {
		if _, err := path.Match(g, ""); err != nil || g == "" {
			c.add(fmt.Sprintf("replication.exclude[%d]", i), "%q is not a valid glob", g)
		}
	}
}

func (t *Traffic) check(c *checker) {
	checkAddr(c, "traffic.listen.http", t.Listen.HTTP, true)
	checkAddr(c, "traffic.listen.dns", t.Listen.DNS, false)
	checkAddr(c, "traffic.listen.admin", t.Listen.Admin, true)
	checkKeySource(c, "traffic", t.AdminKeyFile, t.AdminKeyEnv)
	t.Profile.check(c)
	switch t.Routing {
	case RoutingPriority, RoutingWeighted, RoutingPerformance:
	default:
		c.add("traffic.routing", "%q is not priority, weighted or performance", t.Routing)
	}
	t.Probes.check(c)
	checkRange(c, "traffic.passive.consecutiveFailures", t.Passive.ConsecutiveFailures, 1, 1000)
	t.checkLease(c)
	t.Retry.check(c)
	t.checkManagers(c)
	for _, f := range []struct {
		name string
		d    time.Duration
	}{{"readHeader", t.Timeouts.ReadHeader}, {"read", t.Timeouts.Read}, {"write", t.Timeouts.Write}, {"idle", t.Timeouts.Idle}} {
		if f.d < 0 || f.d > 24*time.Hour {
			c.add("traffic.timeouts."+f.name, "%v must be between 0 (none) and 24h", f.d)
		}
	}
}

func (t *Traffic) checkManagers(c *checker) {
	seen := map[string]bool{}
	for i, m := range t.Managers {
		p := fmt.Sprintf("traffic.managers[%d]", i)
		if !managerID.MatchString(m.ID) {
			c.add(p+".id", "%q: use 1-64 letters, digits, '-' or '_'", m.ID)
		} else if seen[m.ID] {
			c.add(p+".id", "%q appears twice", m.ID)
		}
		seen[m.ID] = true
		checkAddr(c, p+".http", m.HTTP, true)
		checkAddr(c, p+".dns", m.DNS, false)
		checkAddr(c, p+".admin", m.Admin, true)
	}
}

var managerID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)

func checkAddr(c *checker, p, addr string, required bool) {
	if addr == "" {
		if required {
			c.add(p, "required (host:port)")
		}
		return
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		c.add(p, "%q is not host:port", addr)
		return
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		c.add(p, "%q: port must be 0..65535", addr)
	}
}

var dnsLabel = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)

func (p *Profile) check(c *checker) {
	name := strings.TrimSuffix(p.Name, ".")
	switch {
	case name == "":
		c.add("traffic.profile.name", "required (the DNS name clients use)")
	case len(name) > 253:
		c.add("traffic.profile.name", "longer than 253 characters")
	default:
		for _, l := range strings.Split(name, ".") {
			if !dnsLabel.MatchString(l) {
				c.add("traffic.profile.name", "%q: label %q is not a DNS label", p.Name, l)
				break
			}
		}
	}
	if p.TTL < 0 || p.TTL > 24*time.Hour || p.TTL%time.Second != 0 {
		c.add("traffic.profile.ttl", "%v: must be whole seconds between 0s and 24h", p.TTL)
	}
}

func (p *Probes) check(c *checker) {
	if !strings.HasPrefix(p.Path, "/") {
		c.add("traffic.probes.path", "%q must start with /", p.Path)
	}
	if p.Interval < 100*time.Millisecond {
		c.add("traffic.probes.interval", "%v is below the 100ms minimum", p.Interval)
	}
	if p.Timeout <= 0 || p.Timeout > p.Interval {
		c.add("traffic.probes.timeout", "%v must be above 0 and at most the interval (%v)", p.Timeout, p.Interval)
	}
	checkRange(c, "traffic.probes.toleratedFailures", p.ToleratedFailures, 0, 9)
	checkRange(c, "traffic.probes.rise", p.Rise, 1, 10)
	if len(p.ExpectedStatus) == 0 {
		c.add("traffic.probes.expectedStatus", "at least one status range is required")
	}
	for k, v := range p.Headers {
		if !headerName.MatchString(k) {
			c.add("traffic.probes.headers."+k, "not a valid header name")
		}
		if strings.ContainsAny(v, "\r\n\x00") {
			c.add("traffic.probes.headers."+k, "value must not contain CR, LF or NUL")
		}
	}
}

var headerName = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")

func (t *Traffic) checkLease(c *checker) {
	if t.Lease < 2*t.Probes.Interval || t.Lease > time.Hour {
		c.add("traffic.lease", "%v must be at least twice the probe interval (%v) and at most 1h", t.Lease, t.Probes.Interval)
	}
	if t.LeaseMargin < 0 || t.LeaseMargin > t.Lease {
		c.add("traffic.leaseMargin", "%v must be between 0 and the lease (%v)", t.LeaseMargin, t.Lease)
	}
	if t.ControlOutage < 0 || t.ControlOutage > time.Hour {
		c.add("traffic.controlOutage", "%v must be between 0 and 1h", t.ControlOutage)
	}
}

func (r *Retry) check(c *checker) {
	if r.MaxBodyBytes < 0 || r.MaxBodyBytes > 1<<30 {
		c.add("traffic.retry.maxBodyBytes", "%d is out of range 0..%d", r.MaxBodyBytes, 1<<30)
	}
	checkRange(c, "traffic.retry.attempts", r.Attempts, 1, 10)
	if r.ConnectTimeout <= 0 {
		c.add("traffic.retry.connectTimeout", "%v must be above 0", r.ConnectTimeout)
	}
	if r.ResponseTimeout <= 0 {
		c.add("traffic.retry.responseTimeout", "%v must be above 0", r.ResponseTimeout)
	}
}
