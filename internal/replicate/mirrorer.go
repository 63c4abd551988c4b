package replicate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tandemhq/tandem/internal/broker"
	"github.com/tandemhq/tandem/internal/clock"
)

// DefaultPollInterval is how often a Mirrorer lists the primary's streams
// and refreshes lag when no advisory wakes it earlier.
const DefaultPollInterval = time.Second

// Options configures a Mirrorer.
type Options struct {
	// Broker is this (secondary) region's broker, linked by leafnode to the
	// primary.
	Broker *broker.Broker
	// Primary is the region mirrored (its JetStream domain).
	Primary string
	// PollInterval spaces discovery and lag refreshes (default 1s).
	PollInterval time.Duration
	// Replicas for the mirrors (default 1).
	Replicas int
	// Registerer receives the lag gauges; nil means no metrics.
	Registerer prometheus.Registerer
	Clock      clock.Clock
	Logger     *slog.Logger
}

// Mirrorer keeps, in a secondary region, a mirror of each of the primary's
// replicated streams (see classify), creating mirrors as the primary's
// apps create queues and tables, and reports their lag.
type Mirrorer struct {
	opts   Options
	region string
	local  jetstream.JetStream
	origin jetstream.JetStream
	met    *metrics
	log    *slog.Logger
	kick   chan struct{}

	mu      sync.Mutex
	known   map[string]*mirror // by local stream name
	deleted map[string]bool    // origin streams announced deleted
	lastErr map[string]string  // by origin: last creation error logged
	status  Status

	ready     atomic.Bool
	started   atomic.Bool
	subs      []*nats.Subscription
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// mirror is what the Mirrorer knows of one mirror.
type mirror struct {
	local, origin string
	kind          Kind
	handle        jetstream.Stream // the origin, for lag lookups
	idleSince     time.Time        // since when it has had no consumer on its origin (zero: it has one)
}

// New checks opts and returns a Mirrorer that does nothing until Start.
func New(opts Options) (*Mirrorer, error) {
	if opts.Broker == nil {
		return nil, errors.New("replicate: Options.Broker is required")
	}
	if err := broker.ValidRegion(opts.Primary); err != nil {
		return nil, fmt.Errorf("replicate: Options.Primary: %w", err)
	}
	if opts.Primary == opts.Broker.Region() {
		return nil, fmt.Errorf("replicate: region %s cannot mirror itself", opts.Primary)
	}
	opts.defaults()
	origin, err := Domain(opts.Broker, opts.Primary)
	if err != nil {
		return nil, fmt.Errorf("replicate: %w", err)
	}
	region := opts.Broker.Region()
	return &Mirrorer{
		opts: opts, region: region, local: opts.Broker.JetStream(), origin: origin,
		met:   newMetrics(opts.Registerer),
		log:   opts.Logger.With("component", "replicate", "region", region, "primary", opts.Primary),
		kick:  make(chan struct{}, 1),
		known: map[string]*mirror{}, deleted: map[string]bool{}, lastErr: map[string]string{},
		status: Status{Region: region, Primary: opts.Primary},
	}, nil
}

func (o *Options) defaults() {
	if o.PollInterval <= 0 {
		o.PollInterval = DefaultPollInterval
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Start subscribes to the primary's stream advisories, registers the
// gauges and starts the discovery loop. It does not wait for the primary:
// Ready turns true once every stream the primary had was mirrored and its
// mirror is active.
func (m *Mirrorer) Start(ctx context.Context) error {
	if !m.started.CompareAndSwap(false, true) {
		return errors.New("replicate: mirrorer already started")
	}
	if err := m.met.register(); err != nil {
		return fmt.Errorf("replicate start: metrics: %w", err)
	}
	if err := m.subscribe(); err != nil {
		m.met.unregister()
		return fmt.Errorf("replicate start: %w", err)
	}
	lctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	m.wg.Add(1)
	go m.run(lctx)
	m.log.Info("mirrorer started")
	return nil
}

// subscribe listens to stream created/deleted advisories; the primary's
// cross the leafnode, so a new queue or table is mirrored within
// milliseconds instead of at the next poll.
func (m *Mirrorer) subscribe() error {
	for _, subj := range []string{"$JS.EVENT.ADVISORY.STREAM.CREATED.*", "$JS.EVENT.ADVISORY.STREAM.DELETED.*"} {
		sub, err := m.opts.Broker.Conn().Subscribe(subj, m.onAdvisory)
		if err != nil {
			m.unsubscribe()
			return fmt.Errorf("subscribe %s: %w", subj, err)
		}
		m.subs = append(m.subs, sub)
	}
	return nil
}

func (m *Mirrorer) unsubscribe() {
	for _, s := range m.subs {
		_ = s.Unsubscribe()
	}
	m.subs = nil
}

// onAdvisory wakes the loop for advisories about the primary's streams.
func (m *Mirrorer) onAdvisory(msg *nats.Msg) {
	name := msg.Subject[strings.LastIndexByte(msg.Subject, '.')+1:]
	if _, ok := classify(m.opts.Primary, name); !ok {
		return
	}
	if strings.Contains(msg.Subject, ".STREAM.DELETED.") {
		m.mu.Lock()
		m.deleted[name] = true
		m.mu.Unlock()
	}
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

// run polls every PollInterval, or sooner when an advisory kicks it.
func (m *Mirrorer) run(ctx context.Context) {
	defer m.wg.Done()
	t := m.opts.Clock.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		case <-m.kick:
			t.Stop()
		}
		m.cycle(ctx)
		t.Reset(m.opts.PollInterval)
	}
}

// Ready reports whether the initial mirroring is done: the primary was
// listed, a mirror exists for each of its replicated streams and every
// mirror is active. It stays true until Shutdown.
func (m *Mirrorer) Ready() bool { return m.ready.Load() }

// Status returns the last replication status.
func (m *Mirrorer) Status() Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.status
	s.Ready = m.ready.Load()
	s.Mirrors = append([]MirrorStatus(nil), s.Mirrors...)
	s.Errors = append([]string(nil), s.Errors...)
	return s
}

// Shutdown stops discovery and lag reporting; the mirrors keep running in
// the server. Safe to call more than once.
func (m *Mirrorer) Shutdown(ctx context.Context) error {
	var err error
	m.closeOnce.Do(func() {
		m.unsubscribe()
		if m.cancel != nil {
			m.cancel()
		}
		done := make(chan struct{})
		go func() { m.wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
			err = fmt.Errorf("replicate shutdown: %w", ctx.Err())
		}
		m.met.unregister()
		m.ready.Store(false)
		m.log.Info("mirrorer stopped")
	})
	return err
}

// Promote stops the Mirrorer and promotes this region's mirrors of the
// primary (see Promote).
func (m *Mirrorer) Promote(ctx context.Context) (*PromoteReport, error) {
	if err := m.Shutdown(ctx); err != nil {
		return nil, err
	}
	return Promote(ctx, PromoteOptions{Broker: m.opts.Broker, Primary: m.opts.Primary, Logger: m.opts.Logger})
}
