package cluster

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ControlNode is one `tandem control` process of the control cluster.
type ControlNode struct {
	Name        string
	ClientPort  int
	ClusterPort int
	LeafPort    int // where regions link when there are three or more (the hub)
	DataDir     string
	proc
}

func (c *Cluster) newControlNode(i int) (*ControlNode, error) {
	client, err := freePort()
	if err != nil {
		return nil, err
	}
	route, err := freePort()
	if err != nil {
		return nil, err
	}
	leaf, err := freePort()
	if err != nil {
		return nil, err
	}
	name := fmt.Sprintf("c%d", i+1)
	dir := filepath.Join(c.opts.Dir, "control", name)
	return &ControlNode{Name: name, ClientPort: client, ClusterPort: route, LeafPort: leaf, DataDir: dir,
		proc: proc{what: "control node " + name, logPath: filepath.Join(dir, "control.log")}}, nil
}

// ClientAddr is where traffic managers reach the node (through their links).
func (n *ControlNode) ClientAddr() string { return "127.0.0.1:" + strconv.Itoa(n.ClientPort) }

// LeafAddr is where regions link to the node when it is part of their hub.
func (n *ControlNode) LeafAddr() string { return "127.0.0.1:" + strconv.Itoa(n.LeafPort) }

func (c *Cluster) startControlNode(n *ControlNode) error {
	args := []string{"control", "--name", n.Name, "--data", n.DataDir, "--listen", n.ClientAddr()}
	if c.hubbed() {
		args = append(args, "--leaf-listen", n.LeafAddr())
	}
	if len(c.control) > 1 {
		args = append(args, "--cluster", "127.0.0.1:"+strconv.Itoa(n.ClusterPort))
		for _, peer := range c.control {
			args = append(args, "--route", "nats://127.0.0.1:"+strconv.Itoa(peer.ClusterPort))
		}
	}
	return n.start(c.spawn, c.opts.Binary, args, nil)
}

// startControl starts every control node and waits until each accepts
// connections (the bucket is created by the first traffic manager, once
// the cluster has a leader). A port picked free and taken by another
// program meanwhile makes the whole cluster start again on new ports, as
// every node's routes name every other node's.
func (c *Cluster) startControl(ctx context.Context) error {
	for attempt := 0; ; attempt++ {
		err := c.startControlOnce(ctx)
		if err == nil {
			return nil
		}
		busy := false
		for _, n := range c.control {
			_ = n.stop(ctx)
			busy = busy || strings.Contains(n.logTail(), "address already in use")
		}
		if attempt >= 3 || !busy {
			return err
		}
		for _, n := range c.control {
			_ = os.RemoveAll(n.DataDir) // nothing is stored yet: start the cluster afresh
		}
		c.control = nil
	}
}

func (c *Cluster) startControlOnce(ctx context.Context) error {
	for i := range c.opts.ControlNodes {
		n, err := c.newControlNode(i)
		if err != nil {
			return err
		}
		_ = os.Remove(n.logPath) // a previous attempt's log would be read as this one's
		c.control = append(c.control, n)
	}
	for _, n := range c.control {
		if err := c.startControlNode(n); err != nil {
			return err
		}
	}
	for _, n := range c.control {
		if err := poll(ctx, 30*time.Second, n.what+" to accept connections", func() bool { return !n.running() || dialable(n.ClientAddr()) }); err != nil {
			return err
		}
		if !n.running() {
			return fmt.Errorf("%s exited during start; last lines of its log:\n%s", n.what, n.logTail())
		}
	}
	return nil
}

func dialable(addr string) bool {
	conn, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return false
	}
	conn.Close()
	return true
}

// ControlNodes lists the control cluster's nodes.
func (c *Cluster) ControlNodes() []*ControlNode { return c.control }

func (c *Cluster) controlNode(name string) (*ControlNode, error) {
	var names []string
	for _, n := range c.control {
		if n.Name == name {
			return n, nil
		}
		names = append(names, n.Name)
	}
	return nil, fmt.Errorf("no control node %q (have %s)", name, strings.Join(names, ", "))
}

// KillControlNode kills one control node with SIGKILL.
func (c *Cluster) KillControlNode(name string) error {
	n, err := c.controlNode(name)
	if err != nil {
		return err
	}
	return n.kill()
}

// RestartControlNode starts a killed control node again on its data.
func (c *Cluster) RestartControlNode(ctx context.Context, name string) error {
	n, err := c.controlNode(name)
	if err != nil {
		return err
	}
	if n.running() {
		return nil
	}
	if err := c.startControlNode(n); err != nil {
		return err
	}
	return poll(ctx, 30*time.Second, n.what+" to accept connections", func() bool { return dialable(n.ClientAddr()) })
}
