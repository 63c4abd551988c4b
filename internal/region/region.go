// Package region is one Tandem region as a daemon: its JetStream store, its
// function apps with their handler pools, the gateway, the admin API,
// metering, queues, timers and tables, started and stopped as one unit.
// cmd/tandem runs it; tests start several in one process.
package region

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/tandemhq/tandem/internal/broker"
	"github.com/tandemhq/tandem/internal/clock"
	"github.com/tandemhq/tandem/internal/gateway"
	"github.com/tandemhq/tandem/internal/metering"
	"github.com/tandemhq/tandem/internal/role"
)

// AppSpec names an app folder to serve.
type AppSpec struct {
	Name string // empty: the folder's name
	Dir  string
}

// Options configures a Region.
type Options struct {
	Name     string
	Apps     []AppSpec
	HTTPAddr string // gateway and admin API, e.g. "127.0.0.1:7071" or ":0"
	DataDir  string

	// NATSURL and NATSCreds select an external NATS cluster; empty embeds one.
	NATSURL   string
	NATSCreds string
	// Replicas of each stream and bucket on an external cluster (default 1).
	Replicas int
	// NATSListen exposes the embedded server to clients (and other nodes).
	NATSListen  string
	LeafListen  string
	LeafRemotes []string // leafnode URLs of other regions to link to
	SyncAlways  bool

	// MasterKeyEnv is TANDEM_MASTER_KEY's value, used at first start.
	MasterKeyEnv string
	// Role is the role a region holds before any witness speaks; the zero
	// value is a standalone primary (epoch 0, no lease).
	Role role.State

	// Peers are the other regions of the deployment (sync replication
	// waits for them); SyncApps are the apps replicated in sync mode.
	Peers    []string
	SyncApps []string
	// PublicURL is the deployment's public address (a traffic manager's,
	// "http://host:port"): the storage connection strings the admin API
	// returns and handlers get name it, so they work through a failover.
	// Empty: the address the request came to, and for handlers the
	// region's own listener.
	PublicURL string
	// SyncStandbys says how many peers must have stored a sync-mode write
	// before it is acknowledged: "one", "quorum" (with the primary, a
	// majority of the regions: one of two peers, two of four; the
	// default), "all", or a number.
	SyncStandbys string

	// Control is the control cluster's client URLs; when set the region
	// also follows the stored role state (it steps down when a newer
	// epoch names another primary). ControlCreds is its credentials file.
	Control      string
	ControlCreds string

	// WriteHold is how long a write waits for this region to become the
	// promoted primary before it is refused (default 5s).
	WriteHold time.Duration

	// HandlerUser runs handlers as this OS user (--handler-user); the
	// region must run as root, and the data directory is made unlistable.
	HandlerUser string
	// HTTP bounds the region's HTTP connections; zero fields take
	// DefaultHTTPTimeouts, negative ones mean no limit.
	HTTP HTTPTimeouts
	// MaxBodyInFlight bounds the request body bytes buffered for
	// payload-mode invocations at once; past it requests get 503 (default
	// gateway.DefaultMaxBodyInFlight).
	MaxBodyInFlight int64

	// NoAccessLog turns off the info line logged per invocation (app,
	// function, trigger, status, duration, invocation id).
	NoAccessLog bool

	IdleTimeout  time.Duration
	MaxInstances int
	ScaleOutAt   int
	Prices       metering.Prices
	Clock        clock.Clock
	Logger       *slog.Logger
}

// HTTPTimeouts are the region's HTTP server timeouts (net/http.Server's).
type HTTPTimeouts struct {
	ReadHeader time.Duration // request line and headers
	Read       time.Duration // the whole request, body included
	Write      time.Duration // from the end of the headers to the end of the response
	Idle       time.Duration // a keep-alive connection between requests
}

// DefaultHTTPTimeouts are production-like: a slow or idle client cannot hold
// a connection for ever. Write is above the 230 s Azure's front end gives
// an HTTP function to answer; Read lets a 100 MiB body arrive at 1 MB/s.
var DefaultHTTPTimeouts = HTTPTimeouts{ReadHeader: 10 * time.Second, Read: 2 * time.Minute, Write: 4 * time.Minute, Idle: 2 * time.Minute}

// withDefaults fills zero fields from DefaultHTTPTimeouts; a negative
// field becomes zero (no limit, net/http's meaning).
func (t HTTPTimeouts) withDefaults() HTTPTimeouts {
	pick := func(v, def time.Duration) time.Duration {
		switch {
		case v == 0:
			return def
		case v < 0:
			return 0
		}
		return v
	}
	d := DefaultHTTPTimeouts
	return HTTPTimeouts{ReadHeader: pick(t.ReadHeader, d.ReadHeader), Read: pick(t.Read, d.Read), Write: pick(t.Write, d.Write), Idle: pick(t.Idle, d.Idle)}
}

// Region is a running region.
type Region struct {
	opts  Options
	huser *handlerUser // nil: handlers run as the region's user
	log   *slog.Logger

	broker  *broker.Broker
	role    *role.Manager
	reg     *prometheus.Registry
	meter   *metering.Meter
	gateway *gateway.Gateway
	admin   *http.ServeMux
	svc     services
	repl    *replication
	// queuesOn: this region processes queue messages (the active primary,
	// or a standalone region).
	queuesOn atomic.Bool
	// held counts writes waiting in awaitWritable.
	held     atomic.Int64
	gateMu   sync.Mutex
	gateSubs []func(role.State)

	mu     sync.Mutex
	apps   map[string]*appRuntime
	loadMu sync.Mutex // serializes app loads (installApp)

	server   *http.Server
	listener net.Listener
	ready    atomic.Bool
	serveWG  sync.WaitGroup
	bg       sync.WaitGroup // settings-change restarts
	stopOnce sync.Once
	stopErr  error
	// stopControl ends the control follower (nil without --control).
	stopControl context.CancelFunc
}

// New checks opts and returns a region that is not started.
func New(opts Options) (*Region, error) {
	if err := broker.ValidRegion(opts.Name); err != nil {
		return nil, fmt.Errorf("new region: %w", err)
	}
	if opts.DataDir == "" {
		return nil, errors.New("new region: data directory is required (--data)")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Prices == (metering.Prices{}) {
		opts.Prices = metering.DefaultPrices
	}
	if opts.WriteHold == 0 {
		opts.WriteHold = 5 * time.Second
	}
	if opts.Role.Role == "" {
		opts.Role = role.State{Role: role.Primary}
	}
	if err := checkPublicURL(opts.PublicURL); err != nil {
		return nil, fmt.Errorf("new region: %w", err)
	}
	if _, err := SyncStandbys(opts.SyncStandbys, max(len(opts.Peers), 1)); err != nil {
		return nil, fmt.Errorf("new region: --sync-standbys: %w", err)
	}
	hu, err := lookupHandlerUser(opts.HandlerUser)
	if err != nil {
		return nil, fmt.Errorf("new region: %w", err)
	}
	return &Region{opts: opts, huser: hu, log: opts.Logger.With("region", opts.Name), apps: map[string]*appRuntime{}}, nil
}

// Start brings the region up: store, services, apps, then the listener.
// A failure rolls back whatever had started.
func (r *Region) Start(ctx context.Context) error {
	if err := r.start(ctx); err != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = r.Shutdown(sctx)
		return fmt.Errorf("start region %s: %w", r.opts.Name, err)
	}
	r.ready.Store(true)
	r.log.Info("region ready", "http", r.Addr(), "apps", len(r.apps), "role", r.role.State().Role)
	return nil
}

func (r *Region) start(ctx context.Context) error {
	if r.huser != nil {
		if err := os.MkdirAll(r.opts.DataDir, 0o700); err != nil {
			return fmt.Errorf("data directory: %w", err)
		}
		if err := protectDataDir(r.opts.DataDir); err != nil {
			return err
		}
	}
	b, err := broker.Start(ctx, broker.Options{
		Region: r.opts.Name, Dir: r.opts.DataDir, URL: r.opts.NATSURL, Creds: r.opts.NATSCreds,
		Listen: r.opts.NATSListen, LeafListen: r.opts.LeafListen, LeafRemotes: r.opts.LeafRemotes, Replicas: r.opts.Replicas, SyncAlways: r.opts.SyncAlways, Logger: r.opts.Logger,
	})
	if err != nil {
		return err
	}
	r.broker = b
	r.reg = prometheus.NewRegistry()
	r.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	r.meter = metering.New(r.reg, r.opts.Prices)
	if err := r.startRole(ctx); err != nil {
		return err
	}
	if err := r.startServices(ctx); err != nil {
		return err
	}
	r.gateway = gateway.New(gateway.Options{Auth: r.svc.authorizer(), Disabled: r.svc.disabled, Logger: r.log, MaxBodyInFlight: r.opts.MaxBodyInFlight, CORS: r.corsFor})
	for _, spec := range r.opts.Apps {
		if err := r.LoadApp(ctx, spec); err != nil {
			return err
		}
	}
	if err := r.startPackages(ctx); err != nil {
		return err
	}
	r.startReplication()
	r.followControl()
	return r.listen()
}

func (r *Region) startRole(ctx context.Context) error {
	r.role = role.New(role.Options{
		Region: r.opts.Name, JS: r.broker.JetStream(), Bucket: r.broker.Name("role"),
		Clock: r.opts.Clock, Initial: r.opts.Role, Logger: r.log, Replicas: r.broker.Replicas(),
	})
	return r.role.Start(ctx)
}

func (r *Region) listen() error {
	addr := r.opts.HTTPAddr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", addr, err)
	}
	r.listener = l
	t := r.opts.HTTP.withDefaults()
	r.server = &http.Server{Handler: r.handler(), ReadHeaderTimeout: t.ReadHeader, ReadTimeout: t.Read, WriteTimeout: t.Write, IdleTimeout: t.Idle}
	r.serveWG.Add(1)
	go func() {
		defer r.serveWG.Done()
		if err := r.server.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			r.log.Error("http server stopped", "err", err)
		}
	}()
	return nil
}

// Addr is the address the gateway listens on.
func (r *Region) Addr() string {
	if r.listener == nil {
		return ""
	}
	return r.listener.Addr().String()
}

// URL is the gateway's base URL.
func (r *Region) URL() string { return "http://" + r.Addr() }

// Ready reports whether the region serves requests; /healthz uses it.
func (r *Region) Ready() bool { return r.ready.Load() && r.broker != nil && r.broker.Ready() }

func (r *Region) syncApp(app string) bool {
	for _, a := range r.opts.SyncApps {
		if a == app {
			return true
		}
	}
	return false
}

// Broker is the region's JetStream.
func (r *Region) Broker() *broker.Broker { return r.broker }

// Role is the region's role manager.
func (r *Region) Role() *role.Manager { return r.role }

// Meter is the region's meter.
func (r *Region) Meter() *metering.Meter { return r.meter }

// Shutdown stops taking requests, drains in-flight work, stops handlers
// and services, and closes the store. Safe to call more than once.
func (r *Region) Shutdown(ctx context.Context) error {
	r.stopOnce.Do(func() {
		r.ready.Store(false)
		var errs []error
		if r.server != nil {
			errs = append(errs, r.server.Shutdown(ctx))
			r.serveWG.Wait()
		}
		errs = append(errs, r.stopPackages(ctx))
		if r.repl != nil {
			errs = append(errs, r.repl.shutdown(ctx))
		}
		errs = append(errs, r.stopApps(ctx))
		if r.stopControl != nil {
			r.stopControl()
		}
		r.bg.Wait()
		errs = append(errs, r.svc.shutdown(ctx))
		if r.role != nil {
			errs = append(errs, r.role.Shutdown(ctx))
		}
		if r.broker != nil {
			r.broker.Shutdown()
		}
		r.stopErr = errors.Join(errs...)
		r.log.Info("region stopped")
	})
	return r.stopErr
}
