package configsync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tandemhq/tandem/internal/broker"
	"github.com/tandemhq/tandem/internal/clock"
	"github.com/tandemhq/tandem/internal/keys"
	"github.com/tandemhq/tandem/internal/settings"
)

// Options configures a Syncer for one region.
type Options struct {
	Broker   *broker.Broker  // the region's store
	Settings *settings.Store // the region's settings (written when secondary)
	Keys     *keys.Store     // the region's keys (written when secondary)
	// Source returns the region to copy from: the primary while this region
	// is a secondary that knows it, "" otherwise. Call Kick when it may
	// have changed. nil: no continuous mode (plan and apply through the
	// API only).
	Source func() string
	// Exclude are the exclusion patterns used until some are stored
	// through Apply (nil or empty: DefaultExclude).
	Exclude []string
	// Resync is how often the continuous mode compares everything again,
	// catching changes made in this region (default 30s).
	Resync time.Duration
	// Check is how often the continuous mode makes sure its watch of the
	// primary still delivers (default 1s; one stream info per bucket).
	Check time.Duration
	// Retry is the first wait after the primary could not be watched; it
	// doubles up to 30s (default 500ms).
	Retry time.Duration
	// AuditMaxAge bounds the audit stream (default 90 days).
	AuditMaxAge time.Duration
	Registerer  prometheus.Registerer
	Clock       clock.Clock
	Logger      *slog.Logger
}

// Syncer replicates configuration into its region: continuously while the
// region is a secondary (see Options.Source), and on request through Plan
// and Apply (the admin API) in any region.
type Syncer struct {
	opts    Options
	region  string
	log     *slog.Logger
	metrics *metrics
	kv      jetstream.KeyValue
	audit   *auditLog

	mu   sync.Mutex // one plan or apply at a time
	kick chan struct{}

	stMu     sync.Mutex
	status   Status
	reported map[string]bool

	ready    atomic.Bool
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	stopOnce sync.Once
}

// Status is what the continuous mode is doing.
type Status struct {
	Region    string    `json:"region"`
	Following string    `json:"following,omitempty"` // the primary watched
	Watching  bool      `json:"watching"`            // its buckets are being watched
	LastSync  time.Time `json:"lastSync,omitzero"`
	LastError string    `json:"lastError,omitempty"`
	Applied   uint64    `json:"applied"`
}

// New checks the options and returns a Syncer to Start.
func New(opts Options) (*Syncer, error) {
	if opts.Broker == nil || opts.Settings == nil || opts.Keys == nil {
		return nil, errors.New("configsync: new: Options needs Broker, Settings and Keys")
	}
	if _, err := NewExclude(opts.Exclude); err != nil {
		return nil, fmt.Errorf("configsync: new: %w", err)
	}
	setDefaults(&opts)
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, fmt.Errorf("configsync: new: %w", err)
	}
	region := opts.Broker.Region()
	log := opts.Logger.With("component", "configsync")
	return &Syncer{opts: opts, region: region, log: log, metrics: m, kick: make(chan struct{}, 1),
		status: Status{Region: region}, reported: map[string]bool{}}, nil
}

func setDefaults(o *Options) {
	if o.Resync <= 0 {
		o.Resync = 30 * time.Second
	}
	if o.Check <= 0 {
		o.Check = time.Second
	}
	if o.Retry <= 0 {
		o.Retry = 500 * time.Millisecond
	}
	if o.AuditMaxAge <= 0 {
		o.AuditMaxAge = 90 * 24 * time.Hour
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Start opens the sync bucket and the audit stream and starts the
// continuous mode (when Options.Source is set).
func (s *Syncer) Start(ctx context.Context) error {
	if err := s.openSyncBucket(ctx); err != nil {
		return fmt.Errorf("configsync: start: %w", err)
	}
	a, err := openAudit(ctx, s.opts.Broker, s.opts.AuditMaxAge, s.log)
	if err != nil {
		return fmt.Errorf("configsync: start: %w", err)
	}
	s.audit = a
	runCtx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	if s.opts.Source != nil {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.run(runCtx)
		}()
	}
	s.ready.Store(true)
	return nil
}

// Ready reports whether the Syncer has started.
func (s *Syncer) Ready() bool { return s.ready.Load() }

// Kick makes the continuous mode read Options.Source again (call it after
// a role change).
func (s *Syncer) Kick() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Status returns what the continuous mode is doing.
func (s *Syncer) Status() Status {
	s.stMu.Lock()
	defer s.stMu.Unlock()
	return s.status
}

func (s *Syncer) setStatus(f func(*Status)) {
	s.stMu.Lock()
	defer s.stMu.Unlock()
	f(&s.status)
}

// Shutdown stops the continuous mode. It is safe to call more than once.
func (s *Syncer) Shutdown(ctx context.Context) error {
	s.ready.Store(false)
	done := make(chan struct{})
	go func() {
		s.stopOnce.Do(func() {
			if s.cancel != nil {
				s.cancel()
			}
		})
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("configsync: shutdown: %w", ctx.Err())
	}
}
