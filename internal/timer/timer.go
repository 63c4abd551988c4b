// Package timer runs Azure Functions timer triggers for a region: it fires
// each timer at its schedule's occurrences with Azure's semantics
// (persisted schedule status, one past-due run after downtime, runOnStartup,
// no overlapping runs, failed runs not retried), and makes sure that each
// tick runs once across the region's nodes and across regions: a
// per-timer lease in KV picks the node, a compare-and-set on the
// persisted status claims each tick before it runs, and the region's role
// gates every firing. DESIGN.md explains the buckets, keys and fencing.
package timer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tandemhq/tandem/internal/clock"
	"github.com/tandemhq/tandem/internal/role"
	"github.com/tandemhq/tandem/internal/schedule"
)

// Role is the part of role.Manager the scheduler needs: a timer fires only
// while Active() is true at the moment of firing.
type Role interface {
	Active() bool
	State() role.State
	Subscribe(func(role.State)) (cancel func())
}

// Spec describes one timerTrigger binding.
type Spec struct {
	// Schedule is the NCRONTAB expression or TimeSpan, %Setting% already
	// resolved (schedule.Resolve).
	Schedule string
	// RunOnStartup fires once when this node starts running the timer,
	// unless a past-due run happens instead.
	RunOnStartup bool
	// UseMonitor persists the schedule status and enables past-due runs.
	// Azure's default is true, so callers set it unless function.json says
	// false; it is forced off for schedules firing more than once a minute.
	UseMonitor bool
	// Location is the time zone of the schedule (WEBSITE_TIME_ZONE/TZ);
	// nil means UTC.
	Location *time.Location
}

// FireFunc runs one invocation. It is called on its own goroutine, never
// twice at once for one timer; ctx ends when the timer is removed or the
// scheduler's drain times out. An error is logged; the run is not retried.
type FireFunc func(ctx context.Context, info Info) error

// Options configures a Scheduler.
type Options struct {
	Clock clock.Clock
	JS    jetstream.JetStream
	// StatusBucket holds the schedule status per app/function, e.g.
	// broker.Name(region, "timers"); LeaseBucket the per-timer leases,
	// e.g. broker.Name(region, "timerlease"). Existing buckets are used as
	// they are; missing ones are created.
	StatusBucket string
	LeaseBucket  string
	// NodeID names this node process; it must be unique per process.
	NodeID string
	Role   Role
	Logger *slog.Logger
	// LeaseTTL is how long a timer lease lasts without renewal (renewed
	// every LeaseTTL/3); a dead node's timers move after at most this long.
	// Default 15s.
	LeaseTTL time.Duration
	// RetryDelay spaces retries after a storage error. Default 1s.
	RetryDelay time.Duration
	// Replicas for buckets the scheduler creates. Default 1.
	Replicas int
}

// Scheduler fires the timers added to it. Create with New, then Start.
type Scheduler struct {
	opts  Options
	store store

	mu      sync.Mutex
	timers  map[string]*timer
	started bool
	stopped bool
	retired int // runs of removed timers (diagnostics and tests)

	loopCtx   context.Context // ends: stop firing, release leases
	stopLoops context.CancelFunc
	runCtx    context.Context // ends: cancel invocations
	stopRuns  context.CancelFunc
	unsub     func()
	wg        sync.WaitGroup
	once      sync.Once
}

// ErrUnknownTimer is returned by Remove for a timer that was never added.
var ErrUnknownTimer = errors.New("unknown timer")

// New checks opts and returns a Scheduler that does nothing until Start.
func New(opts Options) (*Scheduler, error) {
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("timer: %w", err)
	}
	opts.defaults()
	s := &Scheduler{opts: opts, timers: map[string]*timer{}, store: store{timeout: 5 * time.Second}}
	s.loopCtx, s.stopLoops = context.WithCancel(context.Background())
	s.runCtx, s.stopRuns = context.WithCancel(context.Background())
	return s, nil
}

func (o *Options) validate() error {
	switch {
	case o.JS == nil:
		return errors.New(`option "JS": required`)
	case o.StatusBucket == "":
		return errors.New(`option "StatusBucket": required`)
	case o.LeaseBucket == "":
		return errors.New(`option "LeaseBucket": required`)
	case o.StatusBucket == o.LeaseBucket:
		return errors.New(`option "LeaseBucket": must differ from StatusBucket`)
	case o.NodeID == "":
		return errors.New(`option "NodeID": required`)
	case o.Role == nil:
		return errors.New(`option "Role": required`)
	case o.LeaseTTL < 0 || o.RetryDelay < 0:
		return errors.New(`option "LeaseTTL"/"RetryDelay": must not be negative`)
	}
	return nil
}

func (o *Options) defaults() {
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.LeaseTTL == 0 {
		o.LeaseTTL = 15 * time.Second
	}
	if o.RetryDelay == 0 {
		o.RetryDelay = time.Second
	}
	if o.Replicas == 0 {
		o.Replicas = 1
	}
	o.Logger = o.Logger.With("component", "timer", "node", o.NodeID)
}

// Start opens the buckets, follows role changes and starts every timer
// added so far.
func (s *Scheduler) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started || s.stopped {
		return errors.New("timer start: already started or shut down")
	}
	status, err := openBucket(ctx, s.opts.JS, s.opts.StatusBucket, s.opts.Replicas)
	if err != nil {
		return fmt.Errorf("timer start: %w", err)
	}
	s.store.status.Store(&status)
	if s.store.lease, err = openBucket(ctx, s.opts.JS, s.opts.LeaseBucket, s.opts.Replicas); err != nil {
		return fmt.Errorf("timer start: %w", err)
	}
	w, err := s.store.lease.WatchAll(s.loopCtx, jetstream.UpdatesOnly())
	if err != nil {
		return fmt.Errorf("timer start: watch %s: %w", s.opts.LeaseBucket, err)
	}
	s.wg.Add(1)
	go s.watchLeases(w)
	s.unsub = s.opts.Role.Subscribe(func(role.State) { s.wakeAll() })
	s.started = true
	for _, t := range s.timers {
		s.launch(t)
	}
	return nil
}

// ReopenStatus opens the status bucket again. A region calls it after its
// buckets were promoted or reseeded at a failover: a handle opened while the
// bucket was a mirror would keep writing to the mirror's origin.
func (s *Scheduler) ReopenStatus(ctx context.Context) error {
	status, err := openBucket(ctx, s.opts.JS, s.opts.StatusBucket, s.opts.Replicas)
	if err != nil {
		return fmt.Errorf("timer reopen status bucket: %w", err)
	}
	s.store.status.Store(&status)
	return nil
}

// Ready reports whether Start has completed and Shutdown has not begun.
func (s *Scheduler) Ready() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.started && !s.stopped
}

var (
	appName      = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{0,63}$`)
	functionName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,127}$`)
)

// Add registers a timer for app/function; it starts at once if the
// scheduler is running. A timer already added must be removed first.
func (s *Scheduler) Add(app, function string, spec Spec, fire FireFunc) error {
	t, err := s.newTimer(app, function, spec, fire)
	if err != nil {
		return fmt.Errorf("timer add %s/%s: %w", app, function, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.stopped:
		return fmt.Errorf("timer add %s/%s: scheduler shut down", app, function)
	case s.timers[t.key] != nil:
		return fmt.Errorf("timer add %s/%s: already added", app, function)
	}
	s.timers[t.key] = t
	if s.started {
		s.launch(t)
	}
	return nil
}

func (s *Scheduler) newTimer(app, function string, spec Spec, fire FireFunc) (*timer, error) {
	switch {
	case !appName.MatchString(app):
		return nil, fmt.Errorf("app name %q: use letters, digits and '-'", app)
	case !functionName.MatchString(function):
		return nil, fmt.Errorf("function name %q: use a letter, then letters, digits, '_' or '-'", function)
	case fire == nil:
		return nil, errors.New("fire func is nil")
	}
	sched, err := schedule.Parse(spec.Schedule, schedule.In(spec.Location))
	if err != nil {
		return nil, err
	}
	return newTimer(s, app, function, spec, sched, fire), nil
}

// Remove stops a timer (apps are unloaded at runtime): no new run starts,
// a running invocation's context is cancelled and awaited, and the lease is
// released so the region's other nodes need not wait for it to expire.
func (s *Scheduler) Remove(app, function string) error {
	s.mu.Lock()
	t := s.timers[key(app, function)]
	delete(s.timers, key(app, function))
	s.mu.Unlock()
	if t == nil {
		return fmt.Errorf("timer remove %s/%s: %w", app, function, ErrUnknownTimer)
	}
	s.retire(t)
	return nil
}

// RemoveApp removes every timer of app and returns how many there were.
func (s *Scheduler) RemoveApp(app string) int {
	s.mu.Lock()
	var gone []*timer
	for k, t := range s.timers {
		if t.app == app {
			gone = append(gone, t)
			delete(s.timers, k)
		}
	}
	s.mu.Unlock()
	for _, t := range gone {
		s.retire(t)
	}
	return len(gone)
}

// Shutdown stops firing, lets running invocations finish until ctx ends
// (then cancels them), releases the leases and waits for every goroutine.
// Safe to call twice.
func (s *Scheduler) Shutdown(ctx context.Context) error {
	var err error
	s.once.Do(func() {
		s.mu.Lock()
		s.stopped = true
		if s.unsub != nil {
			s.unsub()
		}
		s.mu.Unlock()
		s.stopLoops()
		done := make(chan struct{})
		go func() { s.wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
			err = fmt.Errorf("timer shutdown: %w (invocations cancelled)", ctx.Err())
			s.stopRuns()
			<-done
		}
		s.stopRuns()
	})
	return err
}

// launch starts t's loop; s.mu is held.
func (s *Scheduler) launch(t *timer) {
	t.launched = true
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t.loop()
	}()
}

func (s *Scheduler) wakeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.timers {
		t.poke()
	}
}

// settled reports that every timer is idle until a time after now, with
// nothing pending: tests advance a fake clock only then.
func (s *Scheduler) settled(now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.timers {
		if t.launched && !t.settled(now) {
			return false
		}
	}
	return true
}

// retire stops a removed timer and keeps count of its runs.
func (s *Scheduler) retire(t *timer) {
	t.stop()
	t.obs.mu.Lock()
	n := t.obs.runs
	t.obs.mu.Unlock()
	s.mu.Lock()
	s.retired += n
	s.mu.Unlock()
}

// runs counts the invocations started on this node, and those still going.
func (s *Scheduler) runs() (started, live int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	started = s.retired
	for _, t := range s.timers {
		t.obs.mu.Lock()
		started += t.obs.runs
		live += t.obs.runs - t.obs.ended
		t.obs.mu.Unlock()
	}
	return started, live
}

func key(app, function string) string { return app + "." + function }
