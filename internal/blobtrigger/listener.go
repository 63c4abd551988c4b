package blobtrigger

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tandemhq/tandem/internal/blob"
)

// PoisonQueue is where a blob version goes after maxDequeueCount failed
// runs (the host's HostQueueNames.BlobTriggerPoisonQueue).
const PoisonQueue = "webjobs-blobtrigger-poison"

// Fire is one run: the version, its record and content, and the path's
// captured values.
type Fire struct {
	Version blob.Version
	Blob    *blob.Blob
	Content []byte
	Values  map[string]string
}

// Options configures a Listener for one blob-triggered function.
type Options struct {
	App, Function string
	Pattern       *Pattern
	Blobs         *blob.Service
	Conn          *nats.Conn // for the container stream's created/deleted advisories
	Receipts      jetstream.KeyValue
	Region, Node  string // who claims (Node: this process)
	// MaxDequeueCount runs per version before the poison queue (host.json
	// extensions.queues.maxDequeueCount); VisibilityTimeout between them.
	MaxDequeueCount   int
	VisibilityTimeout time.Duration
	// Lease is how long another node of this region trusts a running
	// claim before taking the version over.
	Lease       time.Duration
	Concurrency int
	Invoke      func(ctx context.Context, f Fire) error
	// Poison enqueues msg to PoisonQueue; seed makes a repeated copy the
	// same message id.
	Poison func(ctx context.Context, msg json.RawMessage, seed string) error
	// Stored waits until a receipt write (its KV revision) is replicated
	// (sync mode); nil in async mode.
	Stored func(ctx context.Context, rev uint64) error
	Logger *slog.Logger
}

// Listener fires a function once per blob version of its container.
type Listener struct {
	opts             Options
	rc               receipts
	stop             context.CancelFunc // ends the watch
	work             context.Context    // ends running invocations
	cancelWork       context.CancelFunc
	sem              chan struct{}
	wg               sync.WaitGroup
	mu               sync.Mutex
	inflight         map[string]bool
	stopped          bool
	halt             chan struct{} // closed by Stop: wakes runs waiting to retry
	log              *slog.Logger
	wakeAfterCreated time.Duration
}

// Start starts following the container (a scan of what exists, then every
// new version).
func Start(opts Options) *Listener {
	if opts.Concurrency <= 0 {
		opts.Concurrency = 16
	}
	if opts.MaxDequeueCount <= 0 {
		opts.MaxDequeueCount = 5
	}
	if opts.Lease <= 0 {
		opts.Lease = 5 * time.Minute
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	watchCtx, stop := context.WithCancel(context.Background())
	work, cancelWork := context.WithCancel(context.Background())
	l := &Listener{opts: opts, rc: receipts{opts.Receipts}, stop: stop, work: work, cancelWork: cancelWork,
		sem: make(chan struct{}, opts.Concurrency), inflight: map[string]bool{}, wakeAfterCreated: 30 * time.Second, halt: make(chan struct{}),
		log: opts.Logger.With("app", opts.App, "function", opts.Function, "path", opts.Pattern.Raw)}
	l.wg.Add(1)
	go l.run(watchCtx)
	return l
}

// Stop stops watching and waits for running invocations; when ctx ends
// first they are cancelled (their versions fire again after a restart or
// a failover: no receipt says done).
func (l *Listener) Stop(ctx context.Context) error {
	l.mu.Lock()
	if !l.stopped {
		close(l.halt)
	}
	l.stopped = true
	l.mu.Unlock()
	l.stop()
	done := make(chan struct{})
	go func() { l.wg.Wait(); close(done) }()
	select {
	case <-done:
		l.cancelWork()
		return nil
	case <-ctx.Done():
		l.cancelWork()
		<-done
		return ctx.Err()
	}
}

// run watches the container, and waits for it while it does not exist.
func (l *Listener) run(ctx context.Context) {
	defer l.wg.Done()
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := l.follow(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			l.log.Warn("blob trigger: watch failed; retrying", "err", err, "in", backoff)
			sleep(ctx, backoff)
			backoff = min(2*backoff, 10*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
	}
}

// follow watches the container until it is deleted or ctx ends. A missing
// container is waited for: its stream's CREATED advisory (or, should the
// advisory be missed, a check every wakeAfterCreated).
func (l *Listener) follow(ctx context.Context) error {
	stream := "OBJ_" + l.opts.Blobs.BucketName(l.opts.App, l.opts.Pattern.Container)
	created := make(chan *nats.Msg, 1)
	deleted := make(chan *nats.Msg, 1)
	subC, err := l.opts.Conn.ChanSubscribe("$JS.EVENT.ADVISORY.STREAM.CREATED."+stream, created)
	if err != nil {
		return err
	}
	defer func() { _ = subC.Unsubscribe() }()
	subD, err := l.opts.Conn.ChanSubscribe("$JS.EVENT.ADVISORY.STREAM.DELETED."+stream, deleted)
	if err != nil {
		return err
	}
	defer func() { _ = subD.Unsubscribe() }()
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	versions, err := l.opts.Blobs.WatchBlobs(wctx, l.opts.App, l.opts.Pattern.Container)
	if blob.IsNotFound(err) {
		l.log.Info("blob trigger: container does not exist yet; waiting for it")
		select {
		case <-created:
		case <-time.After(l.wakeAfterCreated):
		case <-ctx.Done():
		}
		return nil
	}
	if err != nil {
		return err
	}
	for {
		select {
		case v, ok := <-versions:
			if !ok {
				return errors.New("container watch ended")
			}
			l.dispatch(v)
		case <-deleted:
			l.log.Info("blob trigger: container deleted; waiting for it to come back")
			return nil
		case <-ctx.Done():
			return nil
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
