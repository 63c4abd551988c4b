package queue

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

// Per-message visibility and expiry, which the Queue REST API adds to the
// trigger's semantics (DESIGN.md, "REST API"). A JetStream message is
// immutable and its stream has one MaxAge, so:
//
//   - a message that must stay invisible for a while after it is stored
//     (Put Message with visibilitytimeout, Update Message with new text)
//     carries Tandem-Queue-Visible-At; a fetcher (the trigger's listener or
//     a REST Get Messages) that receives it early hands it back with
//     NakWithDelay(the rest) — a "bounce", which is not a dequeue;
//   - a message with a time-to-live shorter than the queue's carries
//     Tandem-Queue-Expires; a fetcher that receives it later deletes it;
//   - the dequeue count of a delivery is Tandem-Queue-Dequeue-Base (the
//     count a message rewritten by Update Message had) plus the consumer's
//     delivery count, less the bounces this process saw.
//
// A delivery's pop receipt names the stream sequence, a generation (a new
// one for every dequeue and update) and the delivery's ack subject, so a
// later request can delete the message (by sequence) or change its
// visibility (a NAK with a delay on the ack subject). leases remembers the
// current generation of each message this process delivered, so an older
// receipt is refused as Azure refuses it.

// Header names of the REST API's per-message state.
const (
	hdrVisibleAt   = "Tandem-Queue-Visible-At"
	hdrExpires     = "Tandem-Queue-Expires"
	hdrMessageID   = "Tandem-Queue-Message-Id"
	hdrDequeueBase = "Tandem-Queue-Dequeue-Base"
)

// leaseKey names one stored message: its stream and sequence.
type leaseKey struct {
	stream string
	seq    uint64
}

// lease is what this process knows of a message's current delivery.
type lease struct {
	id      string    // the message id
	gen     uint64    // generation of the current pop receipt
	count   int64     // dequeue count of the current delivery
	bounces uint64    // deliveries handed back because the message was not visible yet
	reply   string    // ack subject of the latest delivery ("" before any)
	until   time.Time // invisible until
}

// leases is the registry of deliveries this process made.
type leases struct {
	mu     sync.Mutex
	m      map[leaseKey]*lease
	gen    atomic.Uint64
	pruned time.Time // last prune, so a full registry is scanned rarely
}

// maxLeases is the registry size past which leases whose message has
// been visible again for an hour are forgotten (a scan at most every 10
// s). Leases are dropped when their message is deleted, so the registry
// holds at most the messages delivered and not deleted yet.
const maxLeases = 1 << 17

func newLeases() *leases {
	l := &leases{m: map[leaseKey]*lease{}}
	l.gen.Store(uint64(time.Now().UnixNano())) // receipts of another run never match
	return l
}

// get returns a copy of k's lease.
func (l *leases) get(k leaseKey) (lease, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.m[k]
	if !ok {
		return lease{}, false
	}
	return *e, true
}

// entry returns k's lease, creating it; call with mu held.
func (l *leases) entry(k leaseKey, now time.Time) *lease {
	e, ok := l.m[k]
	if !ok {
		if len(l.m) >= maxLeases {
			l.prune(now)
		}
		e = &lease{}
		l.m[k] = e
	}
	return e
}

func (l *leases) prune(now time.Time) {
	if now.Sub(l.pruned) < 10*time.Second {
		return
	}
	l.pruned = now
	for k, e := range l.m {
		if now.Sub(e.until) > time.Hour {
			delete(l.m, k)
		}
	}
}

// bounce records a delivery handed back unseen and returns how many
// bounces k has had.
func (l *leases) bounce(k leaseKey, reply string, until, now time.Time) uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.entry(k, now)
	e.bounces++
	e.reply, e.until = reply, until
	return e.bounces
}

// bounces is how many deliveries of k were bounces.
func (l *leases) bounces(k leaseKey) uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e, ok := l.m[k]; ok {
		return e.bounces
	}
	return 0
}

// deliver records a new dequeue (or a new pop receipt: an update, a put)
// and returns its generation.
func (l *leases) deliver(k leaseKey, id string, count int64, reply string, until, now time.Time) uint64 {
	g := l.gen.Add(1)
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.entry(k, now)
	e.id, e.gen, e.count, e.until = id, g, count, until
	if reply != "" {
		e.reply = reply
	}
	return g
}

// hide sets how long k stays invisible (a failed handler's release).
func (l *leases) hide(k leaseKey, until time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e, ok := l.m[k]; ok {
		e.until = until
	}
}

// drop forgets k (deleted).
func (l *leases) drop(k leaseKey) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.m, k)
}

// forgetStream drops every lease of a stream (the queue was deleted).
func (l *leases) forgetStream(stream string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for k := range l.m {
		if k.stream == stream {
			delete(l.m, k)
		}
	}
}

// headerTime reads an RFC 3339 time header; ok is false when absent or bad.
func headerTime(h nats.Header, name string) (time.Time, bool) {
	v := h.Get(name)
	if v == "" {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	return t.UTC(), err == nil
}

// dequeueBase is the dequeue count a rewritten message already had.
func dequeueBase(h nats.Header) int64 {
	n, err := strconv.ParseInt(h.Get(hdrDequeueBase), 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// deliveryState is what a fetcher does with a delivery.
type deliveryState int

const (
	visible deliveryState = iota // a dequeue
	early                        // not visible yet: hand back until visibleAt
	expired                      // past its time-to-live: delete
)

// classify decides what a delivery of a message with headers h is at now;
// for early it also returns how long until the message becomes visible.
func classify(h nats.Header, now time.Time) (deliveryState, time.Duration) {
	if t, ok := headerTime(h, hdrExpires); ok && !now.Before(t) {
		return expired, 0
	}
	if t, ok := headerTime(h, hdrVisibleAt); ok && now.Before(t) {
		return early, t.Sub(now)
	}
	return visible, 0
}
