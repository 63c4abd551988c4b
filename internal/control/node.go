package control

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// NodeOptions configures one control node: a nats-server with JetStream,
// a member of the control cluster when Routes are given.
type NodeOptions struct {
	Name string // unique within the control cluster
	Dir  string // JetStream store: Dir/jetstream
	// Listen is the client address traffic managers and regions dial
	// ("127.0.0.1:0" picks a port).
	Listen string
	// ClusterListen and Routes make the node a cluster member: its own
	// route address and every member's (its own may be included).
	ClusterListen string
	Routes        []string
	// LeafListen, when set, accepts the leafnode links of regions: with
	// three or more regions the control cluster is the hub they link
	// through (a tree, so the leafnodes cannot form a loop, and any one
	// node may be lost). It does not advertise its address, so a region
	// reaches it only by the URL it was given.
	LeafListen string
	Logger     *slog.Logger
}

// Node is a running control node.
type Node struct {
	opts  NodeOptions
	ns    *server.Server
	once  sync.Once
	fatal atomic.Pointer[string] // what nats-server called fatal (a port in use)
}

// NewNode returns a node; Start runs it.
func NewNode(opts NodeOptions) *Node {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Node{opts: opts}
}

// Start starts the server and waits until it accepts connections. It does
// not wait for the cluster to elect a leader (a lone member of a
// three-node cluster waits for a peer); Ready says when it has.
func (n *Node) Start(ctx context.Context) error {
	so, err := n.serverOptions()
	if err != nil {
		return fmt.Errorf("control node %s: %w", n.opts.Name, err)
	}
	ns, err := server.NewServer(so)
	if err != nil {
		return fmt.Errorf("control node %s: %w", n.opts.Name, err)
	}
	ns.SetLoggerV2(natsLog{l: n.opts.Logger.With("component", "control", "node", n.opts.Name), fatal: &n.fatal}, false, false, false)
	n.ns = ns
	go ns.Start() // nats-server owns this goroutine; Shutdown+WaitForShutdown joins it
	wait := 30 * time.Second
	if d, ok := ctx.Deadline(); ok {
		wait = time.Until(d)
	}
	deadline := time.Now().Add(wait)
	for !ns.ReadyForConnections(100 * time.Millisecond) {
		if err := n.Err(); err != nil {
			n.Shutdown()
			return err
		}
		if time.Now().After(deadline) {
			n.Shutdown()
			return fmt.Errorf("control node %s: not accepting connections within %s", n.opts.Name, wait)
		}
	}
	if err := n.Err(); err != nil {
		n.Shutdown()
		return err
	}
	return nil
}

// Err is what nats-server found fatal (a client or cluster port in use,
// say), nil while nothing was. A node with an error must be stopped.
func (n *Node) Err() error {
	if msg := n.fatal.Load(); msg != nil {
		return fmt.Errorf("control node %s: %s", n.opts.Name, *msg)
	}
	return nil
}

func (n *Node) serverOptions() (*server.Options, error) {
	if n.opts.Name == "" || n.opts.Dir == "" {
		return nil, errors.New("name and data directory are required")
	}
	host, port, err := hostPort(n.opts.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen %q: %w", n.opts.Listen, err)
	}
	so := &server.Options{ServerName: "control-" + n.opts.Name, Host: host, Port: port, JetStream: true,
		StoreDir: filepath.Join(n.opts.Dir, "jetstream"), NoSigs: true, SyncInterval: time.Second}
	if n.opts.LeafListen != "" {
		lhost, lport, err := hostPort(n.opts.LeafListen)
		if err != nil {
			return nil, fmt.Errorf("leaf listen %q: %w", n.opts.LeafListen, err)
		}
		so.LeafNode = server.LeafNodeOpts{Host: lhost, Port: lport, NoAdvertise: true}
	}
	if n.opts.ClusterListen == "" {
		return so, nil
	}
	chost, cport, err := hostPort(n.opts.ClusterListen)
	if err != nil {
		return nil, fmt.Errorf("cluster listen %q: %w", n.opts.ClusterListen, err)
	}
	so.Cluster = server.ClusterOpts{Name: "tandem-control", Host: chost, Port: cport}
	so.Routes = server.RoutesFromStr(strings.Join(n.opts.Routes, ","))
	return so, nil
}

func hostPort(addr string) (string, int, error) {
	if addr == "" {
		return "127.0.0.1", -1, nil
	}
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		return "", 0, fmt.Errorf("port %q: %w", p, err)
	}
	if port == 0 {
		port = -1 // nats-server: pick a free port
	}
	return h, port, nil
}

// Ready reports whether the node serves clients with JetStream and, in a
// cluster, knows the current meta leader.
func (n *Node) Ready() bool {
	if n.ns == nil || !n.ns.Running() || !n.ns.JetStreamEnabled() || n.fatal.Load() != nil {
		return false
	}
	return !n.ns.JetStreamIsClustered() || n.ns.JetStreamIsCurrent()
}

// ClientURL is the URL clients dial.
func (n *Node) ClientURL() string { return n.ns.ClientURL() }

// Shutdown stops the server. Safe to call twice.
func (n *Node) Shutdown() {
	n.once.Do(func() {
		if n.ns != nil {
			n.ns.Shutdown()
			n.ns.WaitForShutdown()
		}
	})
}

type natsLog struct {
	l     *slog.Logger
	fatal *atomic.Pointer[string]
}

func (s natsLog) Noticef(format string, v ...any) { s.l.Debug(fmt.Sprintf(format, v...)) }
func (s natsLog) Warnf(format string, v ...any)   { s.l.Warn(fmt.Sprintf(format, v...)) }

// Fatalf records what nats-server cannot go on with (it would exit the
// process with its own logger); Start and Ready report it.
func (s natsLog) Fatalf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	s.l.Error(msg)
	s.fatal.CompareAndSwap(nil, &msg)
}
func (s natsLog) Errorf(format string, v ...any) { s.l.Error(fmt.Sprintf(format, v...)) }
func (s natsLog) Debugf(format string, v ...any) { s.l.Debug(fmt.Sprintf(format, v...)) }
func (s natsLog) Tracef(string, ...any)          {}
