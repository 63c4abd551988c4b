package traffic

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/tandemhq/tandem/internal/control"
	"github.com/tandemhq/tandem/internal/topology"
)

// openControl connects to the control cluster, or starts the embedded
// one-node cluster, and imports a witness.json left by an older version.
func (m *Manager) openControl(ctx context.Context, top *topology.Topology) error {
	lease := top.Traffic.Lease
	urls := m.opts.Control
	if urls == "" {
		urls = top.Traffic.Control
	}
	if urls == "" {
		m.node = control.NewNode(control.NodeOptions{Name: "embedded", Dir: filepath.Join(m.opts.DataDir, "control"),
			Listen: "127.0.0.1:0", Logger: m.log})
		if err := m.node.Start(ctx); err != nil {
			return err
		}
		urls = m.node.ClientURL()
	}
	octx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	ctl, err := control.Open(octx, control.StoreOptions{URLs: urls, Creds: m.opts.ControlCreds, Replicas: m.opts.ControlReplicas,
		CallTimeout: callTimeout(lease), Name: "tandem-traffic-" + m.id, Logger: m.log})
	if err != nil {
		return err
	}
	m.ctl = ctl
	return importLegacy(octx, ctl, m.opts.DataDir, m.log)
}

// callTimeout bounds each control KV call: an eighth of the lease (the
// follower's tick), at most a second, so a manager cut off from the
// quorum learns it within one tick.
func callTimeout(lease time.Duration) time.Duration { return min(lease/8, time.Second) }

// closeControl gives up the decider lock (so another manager decides at
// once), closes the connection and stops the embedded node.
func (m *Manager) closeControl(ctx context.Context) {
	if m.ctl != nil && m.wit.camp != nil && m.wit.deciding.Load() {
		if err := m.wit.camp.Release(ctx); err != nil {
			m.log.Warn("decider lock not released; another manager takes it after its TTL", "err", err)
		}
	}
	m.ctl.Close()
	if m.node != nil {
		m.node.Shutdown()
	}
}

// withListen gives a copy of top this manager's listen addresses: its
// entry in traffic.managers, then the Listen option, over traffic.listen.
func (m *Manager) withListen(top *topology.Topology) *topology.Topology {
	mine, listed := top.Traffic.Manager(m.id)
	o := m.opts.Listen
	if !listed && o == (topology.Listen{}) {
		return top
	}
	cp := *top
	l := &cp.Traffic.Listen
	for _, src := range []topology.Listen{mine.Listen(), o} {
		for _, f := range []struct{ dst, src *string }{{&l.HTTP, &src.HTTP}, {&l.Admin, &src.Admin}, {&l.DNS, &src.DNS}} {
			if *f.src != "" {
				*f.dst = *f.src
			}
		}
	}
	return &cp
}

var unsafeID = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// defaultID is the host name and a random suffix.
func defaultID() string {
	host, _ := os.Hostname()
	host = unsafeID.ReplaceAllString(host, "-")
	if len(host) > 40 {
		host = host[:40]
	}
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	if host == "" || host[0] == '-' {
		host = "tm" + host
	}
	return fmt.Sprintf("%s-%s", host, hex.EncodeToString(b))
}

// ID is this traffic manager's name among all of them.
func (m *Manager) ID() string { return m.id }

// Deciding reports whether this manager holds the decider lock.
func (m *Manager) Deciding() bool { return m.wit.deciding.Load() }
