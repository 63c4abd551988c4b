package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Handler processes one message. Returning nil acknowledges (deletes) it,
// so a handler stores its outputs before returning. An error makes the
// message visible again after visibilityTimeout, or moves it to the
// poison queue once it has failed maxDequeueCount times.
type Handler func(ctx context.Context, m *Message) error

// Listener runs a queue trigger: it fetches batches from the queue's
// durable consumer and runs at most BatchSize+NewBatchThreshold handlers
// at once, as the Azure queue listener does.
type Listener struct {
	s                  *Service
	app, queue, poison string
	cfg                Config
	h                  Handler
	cons               jetstream.Consumer
	log                *slog.Logger

	hctx     context.Context // handlers' context; cancelled by Stop
	hcancel  context.CancelFunc
	stopping chan struct{} // closed by Stop: fetch no more
	drained  chan struct{} // closed once fetching and handlers are done
	freed    chan struct{} // a handler finished
	stopOnce sync.Once

	mu       sync.Mutex
	inflight map[jetstream.Msg]struct{}

	fetcher  sync.WaitGroup // the fetch loop
	handlers sync.WaitGroup // one per message being handled
	loops    sync.WaitGroup // supervisor and lease renewer
}

// Listen starts a listener on app's queue (declaring it) with cfg, the
// app's host.json extensions.queues, which it also records as the app's
// config (SetConfig) so outputs are encoded the way triggers decode them.
// ctx bounds the setup only; the listener runs until Stop (or
// Service.Shutdown).
func (s *Service) Listen(ctx context.Context, app, queue string, cfg Config, h Handler) (*Listener, error) {
	if h == nil {
		return nil, errors.New("queue listen: nil handler")
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("queue listen %s/%s: %w", app, queue, err)
	}
	if err := s.SetConfig(app, cfg); err != nil {
		return nil, fmt.Errorf("queue listen: %w", err)
	}
	st, err := s.ensure(ctx, app, queue)
	if err != nil {
		return nil, fmt.Errorf("queue listen: %w", err)
	}
	// Create or update rather than look up: after a failover the stream
	// may be a promoted mirror that has no consumer yet.
	cons, err := st.CreateOrUpdateConsumer(ctx, s.consumerConfig())
	if err != nil {
		return nil, fmt.Errorf("queue listen %s/%s: consumer: %w", app, queue, err)
	}
	l := s.newListener(app, queue, cfg, h, cons)
	l.start()
	return l, nil
}

func (s *Service) newListener(app, queue string, cfg Config, h Handler, cons jetstream.Consumer) *Listener {
	hctx, hcancel := context.WithCancel(context.Background())
	l := &Listener{
		s: s, app: app, queue: queue, poison: PoisonQueue(queue),
		cfg: cfg, h: h, cons: cons,
		log:      s.opts.Logger.With("component", "queue", "app", app, "queue", queue),
		hctx:     hctx,
		hcancel:  hcancel,
		stopping: make(chan struct{}),
		drained:  make(chan struct{}),
		freed:    make(chan struct{}, 1),
		inflight: map[jetstream.Msg]struct{}{},
	}
	s.mu.Lock()
	s.listeners[l] = struct{}{}
	s.mu.Unlock()
	return l
}

func (l *Listener) start() {
	l.fetcher.Add(1)
	go l.fetchLoop()
	l.loops.Add(2)
	go l.supervise()
	go l.renewLoop()
	l.log.Info("queue listener started", "batchSize", l.cfg.BatchSize,
		"newBatchThreshold", l.cfg.NewBatchThreshold, "poisonQueue", l.poison)
}

// Stop stops fetching, waits for in-flight handlers to finish and returns.
// If ctx ends first, handlers' contexts are cancelled and Stop returns
// ctx's error; unfinished messages are delivered again after the lease.
// Safe to call more than once.
func (l *Listener) Stop(ctx context.Context) error {
	l.stopOnce.Do(func() { close(l.stopping) })
	select {
	case <-l.drained:
		l.hcancel()
		l.loops.Wait()
		l.s.forget(l)
		return nil
	case <-ctx.Done():
		l.hcancel()
		return fmt.Errorf("queue listener %s/%s stop: %w", l.app, l.queue, ctx.Err())
	}
}

func (s *Service) forget(l *Listener) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.listeners, l)
}

// InFlight reports how many handlers are running.
func (l *Listener) InFlight() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.inflight)
}

// supervise closes drained once Stop was called and all work is done.
func (l *Listener) supervise() {
	defer l.loops.Done()
	<-l.stopping
	l.fetcher.Wait()
	l.handlers.Wait()
	close(l.drained)
	l.log.Info("queue listener stopped")
}

// fetchLoop fetches a batch whenever the number of messages in flight is
// at most NewBatchThreshold.
func (l *Listener) fetchLoop() {
	defer l.fetcher.Done()
	backoff := time.Duration(0)
	for l.waitForRoom() {
		err := l.fetchBatch()
		if err == nil {
			backoff = 0
			continue
		}
		backoff = min(max(2*backoff, 100*time.Millisecond), 5*time.Second)
		l.log.Warn("queue fetch failed", "err", err, "retryIn", backoff)
		if !l.pause(backoff) {
			return
		}
	}
}

// waitForRoom blocks until a new batch may be fetched; false on Stop.
func (l *Listener) waitForRoom() bool {
	for {
		select {
		case <-l.stopping:
			return false
		default:
		}
		if l.InFlight() <= l.cfg.NewBatchThreshold {
			return true
		}
		select {
		case <-l.freed:
		case <-l.stopping:
			return false
		}
	}
}

func (l *Listener) pause(d time.Duration) bool {
	t := l.s.opts.Clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C():
		return true
	case <-l.stopping:
		return false
	}
}

// pollWait is how long one pull request waits for messages. Pulls are
// never cancelled (a cancelled pull can drop a delivered message), so this
// also bounds how long Stop waits for the last pull.
func (l *Listener) pollWait() time.Duration {
	return min(l.cfg.MaxPollingInterval, time.Second)
}

// fetchBatch pulls up to BatchSize messages and starts a handler for each
// as it arrives.
func (l *Listener) fetchBatch() error {
	batch, err := l.cons.Fetch(l.cfg.BatchSize, jetstream.FetchMaxWait(l.pollWait()))
	if err != nil {
		return fmt.Errorf("fetch: %w", err)
	}
	for msg := range batch.Messages() {
		l.dispatch(msg)
	}
	if err := batch.Error(); err != nil {
		return fmt.Errorf("fetch: %w", err)
	}
	return nil
}

func (l *Listener) dispatch(msg jetstream.Msg) {
	l.mu.Lock()
	l.inflight[msg] = struct{}{}
	l.mu.Unlock()
	l.handlers.Add(1)
	go func() {
		defer l.handlers.Done()
		defer l.done(msg)
		l.process(msg)
	}()
}

func (l *Listener) done(msg jetstream.Msg) {
	l.mu.Lock()
	delete(l.inflight, msg)
	l.mu.Unlock()
	select {
	case l.freed <- struct{}{}:
	default:
	}
}

// renewLoop extends the lease of every message in flight at half-lease,
// as the Azure listener renews a message's visibility while it runs.
func (l *Listener) renewLoop() {
	defer l.loops.Done()
	every := l.s.opts.Lease / 2
	t := l.s.opts.Clock.NewTimer(every)
	defer t.Stop()
	for {
		select {
		case <-l.drained:
			return
		case <-t.C():
			l.renew()
			t.Reset(every)
		}
	}
}

func (l *Listener) renew() {
	l.mu.Lock()
	msgs := make([]jetstream.Msg, 0, len(l.inflight))
	for m := range l.inflight {
		msgs = append(msgs, m)
	}
	l.mu.Unlock()
	for _, m := range msgs {
		if err := m.InProgress(); err != nil {
			l.log.Debug("queue lease renewal failed", "err", err)
		}
	}
}
