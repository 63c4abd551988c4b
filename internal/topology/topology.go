// Package topology reads the deployment file that the traffic manager, the
// replicator and the CLI share: which regions exist, where their gateways,
// admin APIs and NATS leafnodes listen, which one starts as primary, how
// data is replicated, and how the traffic manager probes and routes. One
// parser means one set of rules and one set of error messages, each naming
// the offending field by path ("regions[1].priority: ...").
//
// The schema, with defaults (see docs/topology.md for the field reference):
//
//	regions:                       # at least one; names unique; priorities unique
//	  - name: east                 # letters, digits, '-'
//	    proxyURL: http://127.0.0.1:7101   # the region's gateway (http or https)
//	    adminURL: http://127.0.0.1:7101   # default: proxyURL
//	    natsLeafURL: nats-leaf://127.0.0.1:7422   # optional
//	    priority: 1                # 1..1000, lower is preferred
//	    weight: 1                  # 1..1000 (weighted routing)
//	    enabled: true
//	    adminKeyFile: /path/master.key   # exactly one of adminKeyFile / adminKeyEnv
//	primary: east                  # default: enabled region with the lowest priority
//	replication: {mode: async, apps: {myapp: sync}, exclude: ["WEBSITE_*"]}
//	traffic:
//	  listen: {http: 127.0.0.1:7071, dns: 127.0.0.1:5353, admin: 127.0.0.1:7070}
//	  adminKeyEnv: TANDEM_TRAFFIC_KEY    # or adminKeyFile
//	  profile: {name: app.tandem.local, ttl: 5s}
//	  routing: priority            # priority | weighted | performance
//	  probes: {path: /healthz, interval: 1s, timeout: 500ms, toleratedFailures: 3,
//	           rise: 2, expectedStatus: ["200-299"], headers: {}}
//	  passive: {consecutiveFailures: 3}
//	  lease: 5s                    # primary lease, renewed every lease/4
//	  leaseMargin: 1s              # extra wait past a lease before promoting
//	  retry: {maxBodyBytes: 1048576, attempts: 3, connectTimeout: 1s, responseTimeout: 30s}
package topology

import (
	"fmt"
	"os"
	"strings"
	"time"
)

// Topology is a whole deployment file.
type Topology struct {
	Regions     []Region    `yaml:"regions"`
	Primary     string      `yaml:"primary"`
	Replication Replication `yaml:"replication"`
	Traffic     Traffic     `yaml:"traffic"`
}

// Region is one endpoint of the deployment.
type Region struct {
	Name         string `yaml:"name"`
	ProxyURL     string `yaml:"proxyURL"`
	AdminURL     string `yaml:"adminURL"`
	NATSLeafURL  string `yaml:"natsLeafURL"`
	Priority     int    `yaml:"priority"`
	Weight       int    `yaml:"weight"`
	Enabled      bool   `yaml:"enabled"`
	AdminKeyFile string `yaml:"adminKeyFile"`
	AdminKeyEnv  string `yaml:"adminKeyEnv"`
}

func (r *Region) setDefaults() { r.Weight, r.Enabled = 1, true }

// AdminKey reads the region's master key from its file or environment variable.
func (r Region) AdminKey() (string, error) {
	return ResolveKey(r.AdminKeyFile, r.AdminKeyEnv)
}

// Replication says how region data is copied to the other regions.
type Replication struct {
	Mode    string            `yaml:"mode"`    // async | sync
	Apps    map[string]string `yaml:"apps"`    // per-app mode
	Exclude []string          `yaml:"exclude"` // app setting names (globs) never replicated
}

func (r *Replication) setDefaults() { r.Mode = "async" }

// AppMode returns the replication mode of app.
func (r Replication) AppMode(app string) string {
	if m, ok := r.Apps[app]; ok {
		return m
	}
	return r.Mode
}

// Traffic configures the traffic manager.
type Traffic struct {
	Listen       Listen        `yaml:"listen"`
	AdminKeyEnv  string        `yaml:"adminKeyEnv"`
	AdminKeyFile string        `yaml:"adminKeyFile"`
	Profile      Profile       `yaml:"profile"`
	Routing      string        `yaml:"routing"`
	Probes       Probes        `yaml:"probes"`
	Passive      Passive       `yaml:"passive"`
	Lease        time.Duration `yaml:"lease"`
	LeaseMargin  time.Duration `yaml:"leaseMargin"`
	Retry        Retry         `yaml:"retry"`
	// Timeouts bound how long a client may take to send a request and how
	// long a connection may idle, on the proxy and the admin API.
	Timeouts ServerTimeouts `yaml:"timeouts"`
	// ControlOutage is how long the control cluster may be unable to take
	// writes (a leader election after a node is lost: 4-9 s in NATS)
	// without the primary losing its lease. The stored lease bound runs
	// this far ahead of the granted lease; a new decider that must fail
	// over a dead primary waits for that bound.
	ControlOutage time.Duration `yaml:"controlOutage"`
	// Control is the control cluster's client URLs, comma-separated
	// (nodes run by `tandem control`). Empty: a manager runs a one-node
	// control cluster in its own data directory, and only one can run.
	Control string `yaml:"control"`
	// Managers lists every traffic manager by id and its addresses; a
	// manager started with --id ID listens where its entry says. Empty:
	// one manager on Listen.
	Managers []Manager `yaml:"managers"`
}

// Manager is one traffic manager of a deployment.
type Manager struct {
	ID    string `yaml:"id"`
	HTTP  string `yaml:"http"`
	DNS   string `yaml:"dns"`
	Admin string `yaml:"admin"`
}

// Listen is the manager's listen addresses.
func (m Manager) Listen() Listen { return Listen{HTTP: m.HTTP, DNS: m.DNS, Admin: m.Admin} }

// Manager returns the entry of the manager named id, if any.
func (t Traffic) Manager(id string) (Manager, bool) {
	for _, m := range t.Managers {
		if m.ID == id {
			return m, true
		}
	}
	return Manager{}, false
}

// PublicAddrs are the proxy addresses of every manager (Listen.HTTP
// when no managers are listed), the A records of the public name.
func (t Traffic) PublicAddrs() []string {
	if len(t.Managers) == 0 {
		return []string{t.Listen.HTTP}
	}
	out := make([]string, len(t.Managers))
	for i, m := range t.Managers {
		out[i] = m.HTTP
	}
	return out
}

func (t *Traffic) setDefaults() {
	t.Routing, t.Lease, t.LeaseMargin, t.ControlOutage = RoutingPriority, 5*time.Second, time.Second, 12*time.Second
}

// AdminKey reads the traffic manager's admin key.
func (t Traffic) AdminKey() (string, error) { return ResolveKey(t.AdminKeyFile, t.AdminKeyEnv) }

// Routing methods.
const (
	RoutingPriority    = "priority"
	RoutingWeighted    = "weighted"
	RoutingPerformance = "performance"
)

// Listen holds the traffic manager's listen addresses; DNS is optional.
type Listen struct {
	HTTP  string `yaml:"http"`
	DNS   string `yaml:"dns"`
	Admin string `yaml:"admin"`
}

// Profile is the public name the traffic manager answers for.
type Profile struct {
	Name string        `yaml:"name"`
	TTL  time.Duration `yaml:"ttl"`
}

func (p *Profile) setDefaults() { p.TTL = 5 * time.Second }

// Probes configures active health checks.
type Probes struct {
	Path              string            `yaml:"path"`
	Interval          time.Duration     `yaml:"interval"`
	Timeout           time.Duration     `yaml:"timeout"`
	ToleratedFailures int               `yaml:"toleratedFailures"`
	Rise              int               `yaml:"rise"`
	ExpectedStatus    []StatusRange     `yaml:"expectedStatus"`
	Headers           map[string]string `yaml:"headers"`
}

func (p *Probes) setDefaults() {
	p.Path, p.Interval, p.Timeout = "/healthz", time.Second, 500*time.Millisecond
	p.ToleratedFailures, p.Rise = 3, 2
	p.ExpectedStatus = []StatusRange{{200, 299}}
}

// Expects reports whether status is one of the expected probe statuses.
func (p Probes) Expects(status int) bool {
	for _, r := range p.ExpectedStatus {
		if status >= r.Lo && status <= r.Hi {
			return true
		}
	}
	return false
}

// Passive configures outlier detection from live traffic.
type Passive struct {
	ConsecutiveFailures int `yaml:"consecutiveFailures"`
}

func (p *Passive) setDefaults() { p.ConsecutiveFailures = 3 }

// Retry configures the proxy's retries and upstream timeouts.
type Retry struct {
	MaxBodyBytes    int64         `yaml:"maxBodyBytes"`
	Attempts        int           `yaml:"attempts"`
	ConnectTimeout  time.Duration `yaml:"connectTimeout"`
	ResponseTimeout time.Duration `yaml:"responseTimeout"`
}

// ServerTimeouts are a listener's read-header, read, write and idle
// timeouts (0: none).
type ServerTimeouts struct {
	ReadHeader time.Duration `yaml:"readHeader"`
	Read       time.Duration `yaml:"read"`
	Write      time.Duration `yaml:"write"`
	Idle       time.Duration `yaml:"idle"`
}

func (t *ServerTimeouts) setDefaults() {
	t.ReadHeader, t.Read, t.Write, t.Idle = 10*time.Second, 2*time.Minute, 4*time.Minute, 2*time.Minute
}

func (r *Retry) setDefaults() {
	r.MaxBodyBytes, r.Attempts = 1<<20, 3
	r.ConnectTimeout, r.ResponseTimeout = time.Second, 30*time.Second
}

// Region returns the region called name.
func (t *Topology) Region(name string) (Region, bool) {
	for _, r := range t.Regions {
		if r.Name == name {
			return r, true
		}
	}
	return Region{}, false
}

// ResolveKey reads a secret from file (trimmed) or from the environment
// variable env. Errors name the source, never the value.
func ResolveKey(file, env string) (string, error) {
	switch {
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("read key file: %w", err)
		}
		if k := strings.TrimSpace(string(b)); k != "" {
			return k, nil
		}
		return "", fmt.Errorf("key file %s is empty", file)
	case env != "":
		if k := strings.TrimSpace(os.Getenv(env)); k != "" {
			return k, nil
		}
		return "", fmt.Errorf("environment variable %s is not set", env)
	default:
		return "", fmt.Errorf("no key file or environment variable configured")
	}
}
