// Package broker gives a region its NATS JetStream: an embedded nats-server
// in the region's data directory by default, or a connection to an external
// NATS cluster when a region outgrows one machine. Everything a region stores
// (keys, settings, queues, tables, timer state) lives behind this one handle,
// so replication and failover have a single engine to reason about.
package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"regexp"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Options configures a Broker.
type Options struct {
	// Region names the region. It prefixes every stream and bucket so that
	// regions linked by leafnodes never share a subject namespace.
	Region string
	// Dir is the data directory; the embedded server stores under Dir/jetstream.
	Dir string
	// URL, when set, connects to an external NATS cluster instead of
	// embedding a server. Creds is an optional credentials file for it.
	URL   string
	Creds string
	// Listen is the client address of the embedded server ("127.0.0.1:0"
	// picks a free port; empty means no TCP listener).
	Listen string
	// LeafListen, when set, accepts leafnode links from other regions.
	LeafListen string
	// LeafRemotes are the leafnode links to make: each the URL of another
	// region (two regions link directly), or the comma-separated leafnode
	// URLs of every control node, the hub through which three or more
	// regions link (one link, to whichever node answers).
	LeafRemotes []string
	// SyncAlways makes the embedded file store fsync every write.
	// Otherwise it fsyncs every SyncInterval (nats-server default 2 minutes).
	SyncAlways   bool
	SyncInterval time.Duration
	// Replicas is how many copies a clustered NATS keeps of each stream
	// and bucket (1 on the embedded server; 3 on a 3-node cluster).
	Replicas int
	Logger   *slog.Logger
}

// Broker is a region's connection to JetStream, owning the embedded server
// when there is one.
type Broker struct {
	opts   Options
	server *server.Server
	conn   *nats.Conn
	js     jetstream.JetStream
	once   sync.Once
}

var regionName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{0,31}$`)

// ValidRegion reports whether name can name a region (and so a JetStream domain).
func ValidRegion(name string) error {
	if !regionName.MatchString(name) {
		return fmt.Errorf("region name %q: use 1-32 letters, digits or '-', starting with a letter or digit", name)
	}
	return nil
}

// Start starts the embedded server (or connects to the external one) and
// returns a ready Broker.
func Start(ctx context.Context, opts Options) (*Broker, error) {
	if err := ValidRegion(opts.Region); err != nil {
		return nil, fmt.Errorf("broker start: %w", err)
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	b := &Broker{opts: opts}
	if err := b.start(ctx); err != nil {
		b.Shutdown()
		return nil, fmt.Errorf("broker start: %w", err)
	}
	return b, nil
}

func (b *Broker) start(ctx context.Context) error {
	if b.opts.URL != "" {
		return b.connectExternal()
	}
	if err := b.startEmbedded(ctx); err != nil {
		return err
	}
	nc, err := nats.Connect("", nats.InProcessServer(b.server), nats.Name("tandem-"+b.opts.Region))
	if err != nil {
		return fmt.Errorf("connect in-process: %w", err)
	}
	b.conn = nc
	return b.openJetStream()
}

func (b *Broker) connectExternal() error {
	opts := []nats.Option{nats.Name("tandem-" + b.opts.Region), nats.MaxReconnects(-1)}
	if b.opts.Creds != "" {
		opts = append(opts, nats.UserCredentials(b.opts.Creds))
	}
	nc, err := nats.Connect(b.opts.URL, opts...)
	if err != nil {
		return fmt.Errorf("connect %s: %w", b.opts.URL, err)
	}
	b.conn = nc
	return b.openJetStream()
}

func (b *Broker) openJetStream() error {
	js, err := jetstream.New(b.conn)
	if err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	b.js = js
	return nil
}

func (b *Broker) startEmbedded(ctx context.Context) error {
	so, err := b.serverOptions()
	if err != nil {
		return err
	}
	ns, err := server.NewServer(so)
	if err != nil {
		return fmt.Errorf("new server: %w", err)
	}
	ns.SetLoggerV2(serverLogger{b.opts.Logger.With("component", "nats")}, false, false, false)
	b.server = ns
	go ns.Start() // nats-server owns this goroutine; Shutdown+WaitForShutdown joins it.
	deadline := 30 * time.Second
	if d, ok := ctx.Deadline(); ok {
		deadline = time.Until(d)
	}
	if !ns.ReadyForConnections(deadline) {
		return errors.New("embedded nats-server not ready")
	}
	return nil
}

func (b *Broker) serverOptions() (*server.Options, error) {
	so := &server.Options{
		ServerName:      "tandem-" + b.opts.Region,
		JetStream:       true,
		JetStreamDomain: b.opts.Region,
		StoreDir:        filepath.Join(b.opts.Dir, "jetstream"),
		NoSigs:          true,
		SyncAlways:      b.opts.SyncAlways,
		SyncInterval:    b.opts.SyncInterval,
		DontListen:      b.opts.Listen == "",
	}
	if b.opts.Listen != "" {
		host, port, err := splitHostPort(b.opts.Listen)
		if err != nil {
			return nil, fmt.Errorf("nats listen %q: %w", b.opts.Listen, err)
		}
		so.Host, so.Port = host, port
	}
	if err := b.leafOptions(so); err != nil {
		return nil, err
	}
	return so, nil
}

// Replicas is the replication factor for the region's streams and buckets.
func (b *Broker) Replicas() int {
	if b.opts.Replicas < 1 {
		return 1
	}
	return b.opts.Replicas
}

// Region is the region this broker serves.
func (b *Broker) Region() string { return b.opts.Region }

// Conn is the NATS connection.
func (b *Broker) Conn() *nats.Conn { return b.conn }

// JetStream is the JetStream handle in the region's own domain.
func (b *Broker) JetStream() jetstream.JetStream { return b.js }

// Server is the embedded server, nil when connected to an external cluster.
func (b *Broker) Server() *server.Server { return b.server }

// ClientURL is the embedded server's client URL, empty without a listener.
func (b *Broker) ClientURL() string {
	if b.server == nil || b.opts.Listen == "" {
		return b.opts.URL
	}
	return b.server.ClientURL()
}

// Ready reports whether the connection is up.
func (b *Broker) Ready() bool { return b.conn != nil && b.conn.IsConnected() }

// Shutdown drains the connection and stops the embedded server. Safe to
// call more than once.
func (b *Broker) Shutdown() {
	b.once.Do(func() {
		if b.conn != nil {
			_ = b.conn.Drain()
			b.conn.Close()
		}
		if b.server != nil {
			b.server.Shutdown()
			b.server.WaitForShutdown()
		}
	})
}
