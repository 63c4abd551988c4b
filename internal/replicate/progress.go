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

// DefaultCompactInterval is how often Progress raises each active queue's
// floor to its stream's first sequence.
const DefaultCompactInterval = time.Second

// ProgressOptions configures a Progress.
type ProgressOptions struct {
	Broker *broker.Broker
	// CompactInterval spaces floor raises from stream state (default 1s).
	CompactInterval time.Duration
	Replicas        int
	Clock           clock.Clock
	Logger          *slog.Logger
}

// Progress records, in the primary, which messages of each queue were
// processed: OnAck (wired into queue.Options.OnAck) marks a sequence done,
// a writer goroutine stores each queue's record in the progress bucket
// (coalescing acks that arrive while a write is in flight), and a
// periodic compaction raises the floor to the stream's first sequence
// (purged and expired messages count as done). Secondaries mirror the
// bucket; Promote reads it.
type Progress struct {
	opts ProgressOptions
	js   jetstream.JetStream
	log  *slog.Logger
	kick chan struct{}

	mu     sync.Mutex
	queues map[string]*queueProgress // by progress key
	kv     jetstream.KeyValue
	pass   chan struct{} // closed after each writer pass
	err    error         // last write error

	started, stopped bool
	cancel           context.CancelFunc
	wg               sync.WaitGroup
}

type queueProgress struct {
	app, queue string
	rec        record
	rev        uint64 // KV revision of the last read or write
	loaded     bool   // rec includes the stored record
	gen        uint64 // changes so far
	written    uint64 // gen stored
}

func (q *queueProgress) dirty() bool { return q.gen != q.written }

// NewProgress checks opts and returns a Progress.
func NewProgress(opts ProgressOptions) (*Progress, error) {
	if opts.Broker == nil {
		return nil, errors.New("replicate progress: Options.Broker is required")
	}
	if opts.CompactInterval <= 0 {
		opts.CompactInterval = DefaultCompactInterval
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Progress{
		opts: opts, js: opts.Broker.JetStream(),
		log:    opts.Logger.With("component", "replicate", "part", "progress", "region", opts.Broker.Region()),
		kick:   make(chan struct{}, 1),
		queues: map[string]*queueProgress{},
		pass:   make(chan struct{}),
	}, nil
}

// Start starts the writer. The bucket is opened on the first write, so a
// secondary (which acks nothing) never touches its mirror of it.
func (p *Progress) Start(context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.started {
		return errors.New("replicate progress: already started")
	}
	p.started = true
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	p.wg.Add(1)
	go p.run(ctx)
	return nil
}

// Ready reports whether the writer runs and its last write succeeded.
func (p *Progress) Ready() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.started && !p.stopped && p.err == nil
}

// OnAck marks seq of app's queue processed. It never blocks on storage:
// it has the signature of queue.Options.OnAck.
func (p *Progress) OnAck(app, queue string, seq uint64) {
	key := progressKey(app, queue)
	p.mu.Lock()
	q := p.queues[key]
	if q == nil {
		q = &queueProgress{app: app, queue: queue}
		p.queues[key] = q
	}
	q.rec.add(seq)
	q.gen++
	p.mu.Unlock()
	p.wake()
}

func (p *Progress) wake() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// Flush waits until every ack reported so far is stored.
func (p *Progress) Flush(ctx context.Context) error {
	for {
		p.mu.Lock()
		pending, pass, err := p.anyDirty(), p.pass, p.err
		p.mu.Unlock()
		if !pending {
			return nil
		}
		p.wake()
		select {
		case <-pass:
		case <-ctx.Done():
			return fmt.Errorf("progress flush: %w (last write error: %v)", ctx.Err(), err)
		}
	}
}

func (p *Progress) anyDirty() bool {
	for _, q := range p.queues {
		if q.dirty() {
			return true
		}
	}
	return false
}

// Reset forgets the in-memory records and the bucket handle, so the next
// ack reloads them: call it after this region's role changed.
func (p *Progress) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.queues = map[string]*queueProgress{}
	p.kv, p.err = nil, nil
}

// Shutdown stores what is pending (until ctx ends) and stops the writer.
// Safe to call more than once.
func (p *Progress) Shutdown(ctx context.Context) error {
	p.mu.Lock()
	if !p.started || p.stopped {
		p.mu.Unlock()
		return nil
	}
	p.stopped = true
	p.mu.Unlock()
	err := p.Flush(ctx)
	p.cancel()
	p.wg.Wait()
	return err
}
