package replicate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tandemhq/tandem/internal/broker"
)

// DefaultFallback is how long a Waiter trusts notifications alone before
// it also asks the secondary.
const DefaultFallback = 20 * time.Millisecond

// maxPollDelay caps the spacing of fallback polls.
const maxPollDelay = 500 * time.Millisecond

// Errors a Waiter returns besides the context's.
var (
	ErrNoSecondaries = errors.New("sync replication: no secondary region configured")
	ErrWaiterClosed  = errors.New("sync replication: waiter shut down")
)

// WaiterOptions configures a Waiter.
type WaiterOptions struct {
	// Broker is this (primary) region's broker.
	Broker *broker.Broker
	// Secondaries are the regions that mirror this one; Required of them
	// must have stored a write before WaitReplicated returns (0 or more
	// than there are: all of them).
	Secondaries []string
	Required    int
	// Fallback is how long to wait for a notification before polling the
	// secondary's mirror (default 20ms; polls then back off to 500ms).
	Fallback time.Duration
	Logger   *slog.Logger
}

// Waiter makes sync-mode writes wait for the secondaries. Every mirror
// republishes the headers of each message it stores on
// tandem.<secondary>.repl.<origin stream>.> (see mirrorConfig); the Waiter
// subscribes to those over the leafnode and releases a caller once the
// sequence it wrote was stored. A notification lost on the way is covered
// by polling the mirror's stream info through the secondary's domain, and
// a message deleted (processed) before it was mirrored no longer needs to
// be.
type Waiter struct {
	opts    WaiterOptions
	region  string
	local   jetstream.JetStream
	domains map[string]jetstream.JetStream
	log     *slog.Logger
	closed  chan struct{}

	mu        sync.Mutex
	marks     map[markKey]*mark
	subs      []*nats.Subscription
	started   bool
	closeOnce sync.Once
}

type markKey struct{ secondary, stream string }

// mark is what is known of one origin stream in one secondary.
type mark struct {
	high    uint64 // highest sequence the mirror is known to hold
	waiters map[*waiting]struct{}
}

type waiting struct {
	seq  uint64
	done chan struct{}
}

// NewWaiter checks opts and returns a Waiter.
func NewWaiter(opts WaiterOptions) (*Waiter, error) {
	if opts.Broker == nil {
		return nil, errors.New("replicate waiter: Options.Broker is required")
	}
	if opts.Fallback <= 0 {
		opts.Fallback = DefaultFallback
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	w := &Waiter{
		opts: opts, region: opts.Broker.Region(), local: opts.Broker.JetStream(),
		domains: map[string]jetstream.JetStream{}, marks: map[markKey]*mark{},
		log:    opts.Logger.With("component", "replicate", "part", "waiter", "region", opts.Broker.Region()),
		closed: make(chan struct{}),
	}
	for _, s := range opts.Secondaries {
		if err := broker.ValidRegion(s); err != nil || s == w.region {
			return nil, fmt.Errorf("replicate waiter: secondary %q: invalid or this region", s)
		}
		js, err := Domain(opts.Broker, s)
		if err != nil {
			return nil, fmt.Errorf("replicate waiter: %w", err)
		}
		w.domains[s] = js
	}
	return w, nil
}

// Start subscribes to the secondaries' store notifications.
func (w *Waiter) Start(context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.started {
		return errors.New("replicate waiter: already started")
	}
	for _, s := range w.opts.Secondaries {
		sub, err := w.opts.Broker.Conn().Subscribe(broker.Subject(s, "repl", ">"), w.onStored)
		if err != nil {
			w.unsubscribeLocked()
			return fmt.Errorf("replicate waiter start: subscribe: %w", err)
		}
		w.subs = append(w.subs, sub)
	}
	// The server has the subscriptions once Flush returns; interest then
	// reaches the secondaries over the leafnode (until it does, polling
	// covers a missed notification).
	if err := w.opts.Broker.Conn().Flush(); err != nil {
		w.unsubscribeLocked()
		return fmt.Errorf("replicate waiter start: flush: %w", err)
	}
	w.started = true
	return nil
}

func (w *Waiter) unsubscribeLocked() {
	for _, s := range w.subs {
		_ = s.Unsubscribe()
	}
	w.subs = nil
}

// Ready reports whether the Waiter is subscribed.
func (w *Waiter) Ready() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.started && len(w.subs) == len(w.opts.Secondaries)
}

// Shutdown unsubscribes and releases every waiting caller with
// ErrWaiterClosed. Safe to call more than once.
func (w *Waiter) Shutdown(context.Context) error {
	w.closeOnce.Do(func() {
		w.mu.Lock()
		w.unsubscribeLocked()
		w.mu.Unlock()
		close(w.closed)
	})
	return nil
}

// onStored records a notification from a secondary's mirror.
func (w *Waiter) onStored(msg *nats.Msg) {
	secondary, stream, seq, ok := parseNotify(msg.Subject, msg.Header.Get(jetstream.SequenceHeader))
	if ok {
		w.observe(secondary, stream, seq)
	}
}

// parseNotify reads tandem.<secondary>.repl.<stream>.<subject...> and the
// Nats-Sequence header of a republished message.
func parseNotify(subject, seqHeader string) (secondary, stream string, seq uint64, ok bool) {
	parts := strings.SplitN(subject, ".", 5)
	if len(parts) < 5 || parts[0] != "tandem" || parts[2] != "repl" || parts[1] == "" || parts[3] == "" {
		return "", "", 0, false
	}
	seq, err := parseSeq(seqHeader)
	if err != nil {
		return "", "", 0, false
	}
	return parts[1], parts[3], seq, true
}

func parseSeq(s string) (uint64, error) {
	if s == "" || len(s) > 20 {
		return 0, fmt.Errorf("sequence %q", s)
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' || n > (1<<64-1-uint64(c-'0'))/10 {
			return 0, fmt.Errorf("sequence %q", s)
		}
		n = n*10 + uint64(c-'0')
	}
	return n, nil
}

// observe raises a mark and releases the callers it satisfies.
func (w *Waiter) observe(secondary, stream string, seq uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	m := w.markLocked(markKey{secondary, stream})
	if seq <= m.high {
		return
	}
	m.high = seq
	for x := range m.waiters {
		if x.seq <= seq {
			close(x.done)
			delete(m.waiters, x)
		}
	}
}

func (w *Waiter) markLocked(k markKey) *mark {
	m := w.marks[k]
	if m == nil {
		m = &mark{waiters: map[*waiting]struct{}{}}
		w.marks[k] = m
	}
	return m
}
