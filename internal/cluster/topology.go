package cluster

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// writeTopology writes the deployment file the traffic manager (and an
// operator running `tandem traffic --config` or `tandem drill`) reads.
func (c *Cluster) writeTopology() error {
	c.topoPath = filepath.Join(c.opts.Dir, "topology.yaml")
	c.keyPath = filepath.Join(c.opts.Dir, "traffic.key")
	if _, err := os.Stat(c.keyPath); err != nil {
		if err := os.WriteFile(c.keyPath, []byte(newKey()+"\n"), 0o600); err != nil {
			return fmt.Errorf("traffic key: %w", err)
		}
	}
	var b strings.Builder
	b.WriteString("# Written by tandem: the regions and traffic manager of this deployment.\nregions:\n")
	for _, name := range c.order {
		r := c.regions[name]
		fmt.Fprintf(&b, "  - name: %s\n    proxyURL: %s\n    adminURL: %s\n    natsLeafURL: nats-leaf://127.0.0.1:%d\n    priority: %d\n    adminKeyFile: %s\n",
			r.Name, r.URL(), r.URL(), r.LeafPort, r.Priority, r.MasterKeyFile())
	}
	if len(c.opts.SyncApps) > 0 {
		b.WriteString("replication:\n  mode: async\n  apps:\n")
		for _, a := range c.opts.SyncApps {
			fmt.Fprintf(&b, "    %s: sync\n", a)
		}
	}
	first := c.managers[0].Listen
	fmt.Fprintf(&b, "primary: %s\ntraffic:\n  listen: {http: %q, dns: %q, admin: %q}\n  adminKeyFile: %s\n",
		c.order[0], first.HTTP, first.DNS, first.Admin, c.keyPath)
	b.WriteString("  managers:\n")
	for _, t := range c.managers {
		fmt.Fprintf(&b, "    - {id: %s, http: %q, dns: %q, admin: %q}\n", t.ID, t.Listen.HTTP, t.Listen.DNS, t.Listen.Admin)
	}
	var nodes []string
	for _, n := range c.control {
		nodes = append(nodes, "nats://"+n.ClientAddr())
	}
	fmt.Fprintf(&b, "  control: %q\n", strings.Join(nodes, ","))
	fmt.Fprintf(&b, "  profile: {name: app.tandem.local, ttl: 1s}\n  routing: priority\n")
	fmt.Fprintf(&b, "  probes: {path: /healthz, interval: %s, timeout: %s, toleratedFailures: %d, rise: 1}\n",
		c.opts.ProbeInterval, c.opts.ProbeTimeout, c.opts.ToleratedFailures)
	fmt.Fprintf(&b, "  lease: %s\n  leaseMargin: %s\n", c.opts.Lease, c.opts.LeaseMargin)
	// An idempotent request that a hung region does not answer within the
	// response timeout is retried on the next region (the proxy's retry
	// rules). It is above a standby's promotion time, since a standby holds
	// writes until it is promoted.
	fmt.Fprintf(&b, "  retry: {responseTimeout: %s}\n", c.opts.ResponseTimeout)
	return os.WriteFile(c.topoPath, []byte(b.String()), 0o644)
}
