// Package cluster runs a whole Tandem deployment on one machine: each
// region as a real `tandem region` process behind a faultnet link, and the
// traffic manager in front, described by a generated topology file. It is
// what `tandem up` runs, what `tandem drill` injects faults into, and the
// harness the failover scenario tests read like stories with (StartRegion,
// KillRegion, HangRegion, PartitionRegion).
package cluster

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/tandemhq/tandem/internal/faultnet"
	"github.com/tandemhq/tandem/internal/topology"
)

// Options configures a Cluster.
type Options struct {
	Binary  string   // the tandem binary; regions run as `<Binary> region ...`
	Dir     string   // state: <Dir>/<region>/, <Dir>/topology.yaml, <Dir>/traffic/
	Regions []string // default east, west
	Apps    []string // app folders served by every region

	// Listen addresses of the first traffic manager ("127.0.0.1:0" for
	// any); Traffic, when set, gives every manager's (and their number).
	HTTP, Admin, DNS string
	Traffic          []topology.Listen
	// TrafficManagers is how many `tandem traffic` processes run (default
	// 2, or len(Traffic)); ControlNodes how many `tandem control` nodes
	// form the control cluster (default 3).
	TrafficManagers int
	ControlNodes    int
	// RegionPort is the first region's gateway port; the others follow.
	// 0 picks free ports.
	RegionPort int

	ProbeInterval     time.Duration // default 200ms
	ProbeTimeout      time.Duration // default 150ms
	ToleratedFailures int           // default 2
	Lease             time.Duration // default 2s
	LeaseMargin       time.Duration // default 200ms
	ResponseTimeout   time.Duration // proxy wait for a region's answer (default 3s)

	// SyncApps are replicated in sync mode (writes wait for a peer).
	SyncApps   []string
	RegionArgs []string  // extra flags for every region process
	RegionLog  io.Writer // region output; nil writes <Dir>/<region>/region.log
	Logger     *slog.Logger
}

func (o *Options) defaults() {
	if len(o.Regions) == 0 {
		o.Regions = []string{"east", "west"}
	}
	for _, p := range []*string{&o.HTTP, &o.Admin, &o.DNS} {
		if *p == "" {
			*p = "127.0.0.1:0"
		}
	}
	if len(o.Traffic) == 0 {
		o.Traffic = []topology.Listen{{HTTP: o.HTTP, Admin: o.Admin, DNS: o.DNS}}
	}
	if o.TrafficManagers == 0 {
		o.TrafficManagers = max(2, len(o.Traffic))
	}
	if o.ControlNodes == 0 {
		o.ControlNodes = 3
	}
	setDur(&o.ProbeInterval, 200*time.Millisecond)
	setDur(&o.ProbeTimeout, 150*time.Millisecond)
	setDur(&o.Lease, 2*time.Second)
	setDur(&o.LeaseMargin, 200*time.Millisecond)
	setDur(&o.ResponseTimeout, 3*time.Second)
	if o.ToleratedFailures == 0 {
		o.ToleratedFailures = 2
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

func setDur(d *time.Duration, v time.Duration) {
	if *d == 0 {
		*d = v
	}
}

// Cluster is a running deployment.
type Cluster struct {
	opts     Options
	log      *slog.Logger
	regions  map[string]*Region
	order    []string
	control  []*ControlNode
	managers []*TrafficManager
	public   *faultnet.Link // the public address, bound at once, forwarding to the first manager
	topoPath string
	keyPath  string
	spawn    *spawner

	once sync.Once
}

// Start starts the control nodes, then every region process (waiting for
// each to be ready), then the traffic managers. A failure stops what had
// started.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	opts.defaults()
	c := &Cluster{opts: opts, log: opts.Logger, regions: map[string]*Region{}, spawn: startSpawner()}
	if err := c.start(ctx); err != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		_ = c.Shutdown(sctx)
		return nil, fmt.Errorf("start cluster: %w", err)
	}
	return c, nil
}

func (c *Cluster) start(ctx context.Context) error {
	if err := os.MkdirAll(c.opts.Dir, 0o755); err != nil {
		return err
	}
	for i, name := range c.opts.Regions {
		r, err := c.newRegion(name, i)
		if err != nil {
			return err
		}
		c.regions[name] = r
		c.order = append(c.order, name)
	}
	if err := c.linkRegions(); err != nil {
		return err
	}
	if err := c.startControl(ctx); err != nil {
		return err
	}
	for _, name := range c.order {
		links, err := c.controlLinks()
		if err != nil {
			return err
		}
		c.regions[name].ctl = links
		if c.hubbed() {
			if c.regions[name].hub, err = c.hubLinks(); err != nil {
				return err
			}
		}
	}
	// The managers' ports are picked before the regions start: a region
	// names the first manager's public address in its storage connection
	// strings (--public-url).
	for i := range c.opts.TrafficManagers {
		t, err := c.newTrafficManager(i)
		if err != nil {
			return err
		}
		c.managers = append(c.managers, t)
	}
	if len(c.managers) > 0 {
		// Bound now, so the address regions are given stays theirs even
		// if the manager's picked port is taken before it binds it (it
		// then picks another, and the link follows: launch).
		var err error
		if c.public, err = faultnet.Listen("127.0.0.1:0", c.managers[0].Listen.HTTP, c.log); err != nil {
			return fmt.Errorf("public address: %w", err)
		}
	}
	for _, name := range c.order {
		if err := c.StartRegion(ctx, name); err != nil {
			return err
		}
	}
	return c.startTraffic(ctx)
}

// PublicURL is the deployment's public address: a port of the harness's
// own that forwards to the first traffic manager's proxy ("" without one).
func (c *Cluster) PublicURL() string {
	if c.public == nil {
		return ""
	}
	return "http://" + c.public.Addr()
}

// startTraffic writes the managers' ports into the topology file (where
// tools such as tandem drill find them) and starts the managers one after
// the other.
func (c *Cluster) startTraffic(ctx context.Context) error {
	if err := c.writeTopology(); err != nil {
		return err
	}
	for _, t := range c.managers {
		if err := t.launch(ctx); err != nil {
			return err
		}
	}
	return c.waitPrimary(ctx)
}

// waitPrimary waits until the witness has granted the primary role.
func (c *Cluster) waitPrimary(ctx context.Context) error {
	return poll(ctx, 30*time.Second, "a primary region", func() bool {
		return c.Primary() != ""
	})
}

// Primary is the region the witness made primary and that confirmed it
// ("" before it has, or when no traffic manager answers).
func (c *Cluster) Primary() string {
	st, err := c.TrafficStatus(context.Background())
	if err != nil {
		return ""
	}
	for _, e := range st.Endpoints {
		if e.Name == st.Primary && e.RoleConfirmed {
			return e.Name
		}
	}
	return ""
}

// URL is the first traffic manager's public URL; URLs lists every one.
func (c *Cluster) URL() string { return c.managers[0].URL() }

// URLs are the public URLs of every traffic manager (the A records of the
// public name).
func (c *Cluster) URLs() []string {
	out := make([]string, len(c.managers))
	for i, t := range c.managers {
		out[i] = t.URL()
	}
	return out
}

// AdminURL is the first traffic manager's admin URL.
func (c *Cluster) AdminURL() string { return c.managers[0].AdminURL() }

// TrafficKeyFile holds the traffic manager's admin key.
func (c *Cluster) TrafficKeyFile() string { return c.keyPath }

// TopologyFile is the generated deployment file.
func (c *Cluster) TopologyFile() string { return c.topoPath }

// Regions lists the regions in priority order.
func (c *Cluster) Regions() []*Region {
	out := make([]*Region, len(c.order))
	for i, n := range c.order {
		out[i] = c.regions[n]
	}
	return out
}

// Region returns a region by name, or nil.
func (c *Cluster) Region(name string) *Region { return c.regions[name] }

// Shutdown stops the traffic managers, then every region (SIGTERM,
// drain), then the control nodes. Safe to call more than once.
func (c *Cluster) Shutdown(ctx context.Context) error {
	var errs []error
	c.once.Do(func() {
		for _, t := range c.managers {
			errs = append(errs, t.stop(ctx))
			t.closeLinks()
		}
		for _, r := range c.regions {
			errs = append(errs, r.stop(ctx))
		}
		for _, n := range c.control {
			errs = append(errs, n.stop(ctx))
		}
		if c.public != nil {
			_ = c.public.Close()
		}
		c.spawn.stop()
	})
	return errors.Join(errs...)
}

func poll(ctx context.Context, limit time.Duration, what string, cond func() bool) error {
	deadline := time.Now().Add(limit)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s waiting for %s", limit, what)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		case <-tick.C:
		}
	}
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func newKey() string {
	b := make([]byte, 40)
	_, _ = rand.Read(b)
	return base64.URLEncoding.EncodeToString(b)
}

// hubbed reports whether the regions link through the control cluster:
// leafnode links must form a tree (nats-server drops a link that closes a
// loop), so two regions link directly and three or more each link to the
// control cluster, their hub.
func (c *Cluster) hubbed() bool { return len(c.order) >= 3 && c.opts.ControlNodes > 0 }

// linkRegions gives every region a faultnet link to the leafnode port of
// each region before it (two regions; with more, hubLinks): the JetStream
// domains link through them, so a partition cuts replication as well as
// traffic.
func (c *Cluster) linkRegions() error {
	for i, name := range c.order {
		r := c.regions[name]
		r.leaf = map[string]*faultnet.Link{}
		if c.hubbed() {
			continue
		}
		for _, peer := range c.order[:i] {
			p := c.regions[peer]
			l, err := faultnet.Listen("127.0.0.1:0", "127.0.0.1:"+strconv.Itoa(p.LeafPort), c.log)
			if err != nil {
				return err
			}
			r.leaf[peer] = l
		}
	}
	return nil
}
