// Package traffic is the traffic manager: the one public entry point in
// front of the regions. It probes every region, routes requests to the one
// the routing method prefers (priority, weighted or performance) through
// an L7 proxy that retries only when that is safe, answers DNS for the
// profile name, and is the witness of region roles: it records which region
// is primary at which epoch, grants that region a lease, and promotes
// another one when the primary is down and its lease has run out, so
// timers and writes never run in two regions at once.
package traffic

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

	"github.com/tandemhq/tandem/internal/authdns"
	"github.com/tandemhq/tandem/internal/clock"
	"github.com/tandemhq/tandem/internal/control"
	"github.com/tandemhq/tandem/internal/proxy"
	"github.com/tandemhq/tandem/internal/topology"
)

// Options configures a Manager.
type Options struct {
	Topology *topology.Topology
	// DataDir holds the embedded control node (when Control is empty) and
	// a witness.json from before the control cluster, imported once.
	DataDir string
	// Control is the control cluster's client URLs, comma-separated. Empty
	// runs a one-node control cluster (R1) inside this process, under
	// DataDir/control: the smallest deployment, and the same code.
	Control         string
	ControlCreds    string
	ControlReplicas int // 0: min(3, the cluster's size)
	// ID names this traffic manager among all of them (default: the host
	// name and a random suffix). Two managers must never share one.
	ID string
	// Listen, where set, overrides the topology's traffic.listen, so that
	// several managers share one topology file.
	Listen topology.Listen
	Clock  clock.Clock
	Logger *slog.Logger
}

// Manager is the traffic manager daemon.
type Manager struct {
	opts    Options
	id      string
	clk     clock.Clock
	log     *slog.Logger
	metrics *metrics
	wit     *witness

	tbl      atomic.Pointer[table]
	px       atomic.Pointer[proxy.Proxy]
	adminKey atomic.Pointer[string]

	httpSrv         *proxy.Frontend
	adminSrv        *http.Server
	httpLn, adminLn net.Listener
	dns             *authdns.Server
	node            *control.Node // the embedded control node, without Options.Control
	ctl             *control.Store
	sessions        *sessions // status page logins

	reloadMu    sync.Mutex
	probeCancel context.CancelFunc
	runCtx      context.Context // ends at Shutdown; probers and the witness run under it
	cancel      context.CancelFunc
	wg          sync.WaitGroup
	started     atomic.Bool
	stopping    atomic.Bool
	once        sync.Once
	shutdownErr error
}

// New returns a Manager; Start brings it up.
func New(opts Options) *Manager {
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.ID == "" {
		opts.ID = defaultID()
	}
	m := &Manager{opts: opts, id: opts.ID, clk: opts.Clock, log: opts.Logger.With("component", "traffic", "id", opts.ID), metrics: newMetrics(),
		sessions: newSessions()}
	m.wit = newWitness(m)
	return m
}

func (m *Manager) table() *table { return m.tbl.Load() }

// Start loads the witness state, binds the listeners and starts probing,
// routing and the witness. A failed start releases what it took.
func (m *Manager) Start(ctx context.Context) error {
	if err := m.start(ctx); err != nil {
		_ = m.Shutdown(context.Background())
		return fmt.Errorf("traffic start: %w", err)
	}
	m.started.Store(true)
	m.log.Info("traffic manager started", "http", m.httpLn.Addr().String(), "admin", m.adminLn.Addr().String(), "dns", m.DNSAddr())
	return nil
}

func (m *Manager) start(ctx context.Context) error {
	if m.opts.Topology == nil {
		return errors.New("no topology")
	}
	if err := control.ValidID(m.id); err != nil {
		return err
	}
	top := m.withListen(m.opts.Topology)
	if err := os.MkdirAll(m.opts.DataDir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	if err := m.configure(top, nil); err != nil {
		return err
	}
	if err := m.openControl(ctx, top); err != nil {
		return err
	}
	if err := m.wit.load(ctx, m.ctl, m.id, top.Traffic.Lease); err != nil {
		return err
	}
	if err := m.listen(ctx, top.Traffic.Listen); err != nil {
		return err
	}
	m.runCtx, m.cancel = context.WithCancel(context.Background())
	m.startProbers(m.runCtx, m.table())
	m.goTracked(func() { m.wit.run(m.runCtx) })
	m.serve(m.httpSrv, m.httpLn)
	m.serve(m.adminSrv, m.adminLn)
	return nil
}

// configure builds the table, proxy and admin key for top and swaps them in.
func (m *Manager) configure(top *topology.Topology, prev *table) error {
	key, err := top.Traffic.AdminKey()
	if err != nil {
		return fmt.Errorf("traffic admin key: %w", err)
	}
	t, err := newTable(top, prev)
	if err != nil {
		return err
	}
	m.px.Store(proxy.New(proxy.Options{
		Picker: m, MaxBodyBytes: top.Traffic.Retry.MaxBodyBytes, Attempts: top.Traffic.Retry.Attempts,
		Report: m.report, Done: m.metrics.done, Logger: m.log,
	}))
	m.tbl.Store(t)
	m.adminKey.Store(&key)
	return nil
}

func (m *Manager) listen(ctx context.Context, l topology.Listen) error {
	var err error
	if m.httpLn, err = net.Listen("tcp", l.HTTP); err != nil {
		return fmt.Errorf("listen http: %w", err)
	}
	if m.adminLn, err = net.Listen("tcp", l.Admin); err != nil {
		return fmt.Errorf("listen admin: %w", err)
	}
	to := m.opts.Topology.Traffic.Timeouts
	timeouts := proxy.ServerTimeouts{ReadHeader: to.ReadHeader, Read: to.Read, Write: to.Write, Idle: to.Idle}
	m.httpSrv = proxy.NewFrontend(m.px.Load, timeouts, m.log)
	m.adminSrv = &http.Server{Handler: m.adminHandler(), ReadHeaderTimeout: to.ReadHeader, ReadTimeout: to.Read,
		WriteTimeout: to.Write, IdleTimeout: to.Idle}
	if l.DNS != "" {
		m.dns = authdns.New(authdns.Options{Zone: m.zone, Pick: m.pickDNS, Observe: m.metrics.dnsQuery, Logger: m.log})
		if err := m.dns.Start(ctx, l.DNS); err != nil {
			return err
		}
	}
	return nil
}

// server is what serve runs: the proxy's Frontend or the admin server.
type server interface {
	Serve(net.Listener) error
	Shutdown(context.Context) error
}

func (m *Manager) serve(srv server, l net.Listener) {
	m.goTracked(func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.log.Error("server stopped", "addr", l.Addr().String(), "err", err)
		}
	})
}

func (m *Manager) goTracked(f func()) {
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		f()
	}()
}

// startProbers starts one prober per enabled endpoint of t; the previous
// generation's probers stop once t is in place.
func (m *Manager) startProbers(parent context.Context, t *table) {
	ctx, cancel := context.WithCancel(parent)
	for _, e := range t.eps {
		if !e.cfg.Enabled {
			continue
		}
		p := newProber(m, e, t)
		m.goTracked(func() { p.run(ctx) })
	}
	if m.probeCancel != nil {
		m.probeCancel()
	}
	m.probeCancel = cancel
}

// Reload applies a new topology without dropping traffic: listeners stay,
// endpoints that keep their URL keep their health and connection pools.
// Listen addresses only change on restart.
func (m *Manager) Reload(top *topology.Topology) error {
	m.reloadMu.Lock()
	defer m.reloadMu.Unlock()
	if !m.started.Load() || m.stopping.Load() {
		return errors.New("traffic reload: not running")
	}
	old := m.table()
	top = m.withListen(top)
	if top.Traffic.Listen != old.top.Traffic.Listen {
		m.log.Warn("traffic reload: listen addresses change only on restart", "kept", old.top.Traffic.Listen)
	}
	if err := m.configure(top, old); err != nil {
		return fmt.Errorf("traffic reload: %w", err)
	}
	next := m.table()
	m.startProbers(m.runCtx, next)
	old.retire(next)
	m.wit.poke()
	m.log.Info("traffic configuration reloaded", "regions", len(next.eps), "routing", top.Traffic.Routing)
	return nil
}

// Ready reports whether the listeners serve and every enabled endpoint has
// been probed at least once (so routing reflects reality, not defaults).
func (m *Manager) Ready() bool {
	if !m.started.Load() || m.stopping.Load() {
		return false
	}
	for _, e := range m.table().eps {
		if e.cfg.Enabled && !e.health.view().Known {
			return false
		}
	}
	return m.dns == nil || m.dns.Ready()
}

// Shutdown drains the HTTP servers, stops DNS, probes and the witness, and
// waits for every goroutine. Safe to call twice.
func (m *Manager) Shutdown(ctx context.Context) error {
	m.once.Do(func() {
		m.stopping.Store(true)
		var errs []error
		if m.httpSrv != nil {
			errs = append(errs, m.httpSrv.Shutdown(ctx))
		}
		if m.adminSrv != nil {
			errs = append(errs, m.adminSrv.Shutdown(ctx))
		}
		m.closeUnserved()
		if m.dns != nil {
			errs = append(errs, m.dns.Shutdown(ctx))
		}
		if m.cancel != nil {
			m.cancel()
		}
		m.wg.Wait()
		m.closeControl(ctx)
		if t := m.table(); t != nil {
			t.retire(&table{})
		}
		m.shutdownErr = errors.Join(errs...)
	})
	return m.shutdownErr
}

// closeUnserved closes listeners that a failed start bound but never served.
func (m *Manager) closeUnserved() {
	if m.started.Load() {
		return
	}
	for _, l := range []net.Listener{m.httpLn, m.adminLn} {
		if l != nil {
			_ = l.Close()
		}
	}
}

// HTTPAddr, AdminAddr and DNSAddr are the bound addresses.
func (m *Manager) HTTPAddr() string  { return m.httpLn.Addr().String() }
func (m *Manager) AdminAddr() string { return m.adminLn.Addr().String() }
func (m *Manager) DNSAddr() string {
	if m.dns == nil {
		return ""
	}
	return m.dns.Addr()
}
