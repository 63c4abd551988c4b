package replicate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tandemhq/tandem/internal/broker"
	"github.com/tandemhq/tandem/internal/clock"
)

// A standby's mirror consumer on a work queue of the primary is durable
// and counts as interest (workqueue.go): while the standby is down, every
// message the primary processes stays in the primary's stream, held for a
// mirror that is not there. A standby down for a day, or retired without
// being removed from the topology, would grow the primary's queues
// without bound until their limits refuse new messages. The Reaper, run
// by the primary, deletes a mirror consumer that has had no mirror
// subscribed for longer than a grace period. Nothing is lost: the worker
// still holds every unprocessed message, and when the standby returns its
// mirror creates the consumer again from its last sequence, skipping the
// processed messages that are gone (a mirror of a work queue tolerates
// gaps; progress says they were done).

// DefaultReapGrace is how long a mirror consumer may stay unbound.
const DefaultReapGrace = 2 * time.Minute

// DefaultReapInterval spaces the Reaper's passes.
const DefaultReapInterval = 10 * time.Second

// ReaperOptions configures a Reaper.
type ReaperOptions struct {
	Broker   *broker.Broker
	Grace    time.Duration // default DefaultReapGrace
	Interval time.Duration // default DefaultReapInterval
	Clock    clock.Clock
	Logger   *slog.Logger
}

// Reaper deletes mirror consumers of departed standbys on the primary's
// work queues.
type Reaper struct {
	opts   ReaperOptions
	region string
	js     jetstream.JetStream
	log    *slog.Logger

	unbound map[consumerKey]time.Time // first seen without a mirror

	once   sync.Once
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

type consumerKey struct{ stream, name string }

// NewReaper checks opts.
func NewReaper(opts ReaperOptions) (*Reaper, error) {
	if opts.Broker == nil {
		return nil, errors.New("reaper: Options.Broker is required")
	}
	if opts.Grace <= 0 {
		opts.Grace = DefaultReapGrace
	}
	if opts.Interval <= 0 {
		opts.Interval = DefaultReapInterval
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	region := opts.Broker.Region()
	return &Reaper{
		opts: opts, region: region, js: opts.Broker.JetStream(), unbound: map[consumerKey]time.Time{},
		log: opts.Logger.With("component", "replicate", "step", "reap", "region", region),
	}, nil
}

// Start runs a pass every Interval until Shutdown.
func (r *Reaper) Start(context.Context) error {
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.wg.Add(1)
	go r.run(ctx)
	return nil
}

func (r *Reaper) run(ctx context.Context) {
	defer r.wg.Done()
	t := r.opts.Clock.NewTimer(r.opts.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
		if _, err := r.pass(ctx); err != nil && ctx.Err() == nil {
			r.log.Warn("mirror consumers not checked", "err", err)
		}
		t.Reset(r.opts.Interval)
	}
}

// Shutdown stops the passes. Safe to call more than once.
func (r *Reaper) Shutdown(ctx context.Context) error {
	var err error
	r.once.Do(func() {
		if r.cancel == nil {
			return
		}
		r.cancel()
		done := make(chan struct{})
		go func() { r.wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
			err = fmt.Errorf("reaper shutdown: %w", ctx.Err())
		}
	})
	return err
}

// pass checks every mirror consumer of the region's work queues once and
// deletes those unbound for longer than the grace. It returns how many it
// deleted.
func (r *Reaper) pass(ctx context.Context) (int, error) {
	streams, err := nativeStreams(ctx, r.js, r.region)
	if err != nil {
		return 0, err
	}
	seen := map[consumerKey]bool{}
	deleted := 0
	var errs []error
	for _, info := range streams {
		if info.Config.Retention != jetstream.WorkQueuePolicy {
			continue
		}
		n, err := r.reapStream(ctx, info.Config.Name, seen)
		deleted += n
		if err != nil {
			errs = append(errs, err)
		}
	}
	for k := range r.unbound {
		if !seen[k] {
			delete(r.unbound, k) // deleted, or bound again
		}
	}
	return deleted, errors.Join(errs...)
}

// reapStream handles one work queue's mirror consumers.
func (r *Reaper) reapStream(ctx context.Context, stream string, seen map[consumerKey]bool) (int, error) {
	st, err := r.js.Stream(ctx, stream)
	if err != nil {
		return 0, fmt.Errorf("open %s: %w", stream, err)
	}
	now, deleted, mirrors := r.opts.Clock.Now(), 0, 0
	var worker *jetstream.ConsumerInfo
	l := st.ListConsumers(ctx)
	for c := range l.Info() {
		mirror := c.Config.Metadata["_nats.mirror.stream"]
		if c.Name == workerConsumer {
			worker = c
		}
		if mirror == "" {
			continue
		}
		mirrors++
		if c.PushBound {
			continue
		}
		k := consumerKey{stream, c.Name}
		seen[k] = true
		since, ok := r.unbound[k]
		if !ok {
			r.unbound[k] = now
			continue
		}
		if now.Sub(since) < r.opts.Grace {
			continue
		}
		if err := st.DeleteConsumer(ctx, c.Name); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
			return deleted, fmt.Errorf("delete mirror consumer %s of %s: %w", c.Name, stream, err)
		}
		delete(r.unbound, k)
		deleted++
		mirrors--
		r.log.Info("mirror consumer of an absent standby deleted; it no longer holds processed messages",
			"stream", stream, "consumer", c.Name, "mirror", mirror, "standby", c.Config.Metadata["_nats.mirror.domain"],
			"unboundFor", now.Sub(since).Round(time.Second), "pending", c.NumPending, "ackPending", c.NumAckPending)
	}
	if err := l.Err(); err != nil {
		return deleted, fmt.Errorf("consumers of %s: %w", stream, err)
	}
	if mirrors == 0 && worker != nil {
		return deleted, purgeProcessed(ctx, st, worker.AckFloor.Stream)
	}
	return deleted, nil
}

// purgeProcessed removes what the worker acknowledged up to its ack floor.
// A work queue removes a message on the worker's ack only when no other
// consumer holds it; what a deleted mirror consumer held stays until
// purged (nats-server re-checks interest on a consumer's deletion for
// interest streams only).
func purgeProcessed(ctx context.Context, st jetstream.Stream, floor uint64) error {
	info, err := st.Info(ctx)
	if err != nil {
		return fmt.Errorf("state of %s: %w", st.CachedInfo().Config.Name, err)
	}
	if floor == 0 || info.State.Msgs == 0 || info.State.FirstSeq > floor {
		return nil
	}
	if err := st.Purge(ctx, jetstream.WithPurgeSequence(floor+1)); err != nil {
		return fmt.Errorf("purge processed messages of %s: %w", info.Config.Name, err)
	}
	return nil
}
