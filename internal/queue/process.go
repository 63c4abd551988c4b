package queue

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ackTimeout bounds one acknowledgement round trip.
const ackTimeout = 10 * time.Second

// process runs one delivery through the Azure queue processor's steps:
// decode, skip-to-poison when over the dequeue limit, invoke, then delete,
// release or move to poison.
func (l *Listener) process(msg jetstream.Msg) {
	if l.hctx.Err() != nil {
		// Stop gave up waiting: hand the message back untouched once the
		// last pull (at most pollWait long) has ended.
		_ = msg.NakWithDelay(l.pollWait())
		return
	}
	m, err := l.s.admit(l.app, l.queue, msg, l.s.opts.Clock.Now().UTC().Add(l.s.opts.Lease))
	if errors.Is(err, errNotDequeued) {
		return // not visible yet, or expired
	}
	if err != nil {
		l.log.Error("queue message without metadata", "err", err)
		_ = msg.Nak()
		return
	}
	body, err := decodeText(m.Text, l.cfg.MessageEncoding)
	if err != nil {
		// Azure (extension v5) moves a message it cannot decode to the
		// poison queue at once, without invoking the function.
		l.toPoison(msg, m, err.Error())
		return
	}
	m.Body = body
	if m.DequeueCount > int64(l.cfg.MaxDequeueCount) {
		l.toPoison(msg, m, fmt.Sprintf("dequeue count %d above maxDequeueCount before processing", m.DequeueCount))
		return
	}
	if err := l.invoke(m); err != nil {
		l.failed(msg, m, err)
		return
	}
	l.ack(msg, m)
}

// invoke runs the handler, turning a panic into an error.
func (l *Listener) invoke(m *Message) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("handler panic: %v", r)
		}
	}()
	return l.h(l.hctx, m)
}

// failed applies Azure's CompleteProcessingMessageAsync for a failure.
func (l *Listener) failed(msg jetstream.Msg, m *Message, err error) {
	l.log.Warn("queue handler failed", "id", m.ID, "dequeueCount", m.DequeueCount, "err", err)
	switch {
	case l.poison == "":
		l.leave(msg) // no poison queue: stay invisible for the lease
	case m.DequeueCount >= int64(l.cfg.MaxDequeueCount):
		l.toPoison(msg, m, "handler failed maxDequeueCount times: "+err.Error())
	default:
		l.release(msg)
	}
}

// release makes a failed message visible again after visibilityTimeout.
func (l *Listener) release(msg jetstream.Msg) {
	var err error
	if l.cfg.VisibilityTimeout > 0 {
		err = msg.NakWithDelay(l.cfg.VisibilityTimeout)
	} else {
		err = msg.Nak()
	}
	if err != nil {
		l.log.Warn("queue release failed; message returns after the lease", "err", err)
	}
	l.hide(msg, l.cfg.VisibilityTimeout)
}

// hide records in the lease registry how long a handed-back message stays
// invisible (peek leaves it out meanwhile).
func (l *Listener) hide(msg jetstream.Msg, d time.Duration) {
	if meta, err := msg.Metadata(); err == nil {
		k := leaseKey{stream: l.s.StreamName(l.app, l.queue), seq: meta.Sequence.Stream}
		l.s.leases.hide(k, l.s.opts.Clock.Now().UTC().Add(d))
	}
}

// leave keeps a message invisible for a whole lease, as Azure does with
// failures on a queue that has no poison queue.
func (l *Listener) leave(msg jetstream.Msg) {
	if err := msg.NakWithDelay(l.s.opts.Lease); err != nil {
		l.log.Warn("queue release failed; message returns after the lease", "err", err)
	}
	l.hide(msg, l.s.opts.Lease)
}

// ack deletes the message (work-queue retention) and reports it acked.
func (l *Listener) ack(msg jetstream.Msg, m *Message) {
	ctx, cancel := context.WithTimeout(context.Background(), ackTimeout)
	defer cancel()
	if err := msg.DoubleAck(ctx); err != nil {
		l.log.Warn("queue ack failed; message will be delivered again", "id", m.ID, "err", err)
		return
	}
	l.s.leases.drop(leaseKey{stream: l.s.StreamName(l.app, l.queue), seq: m.Sequence})
	l.s.acked(l.app, l.queue, m.Sequence)
}

// toPoison copies the message text and its provenance to the poison
// queue, then deletes the original. The copy's id is derived from the
// original's, so a copy retried after a crash is deduplicated.
func (l *Listener) toPoison(msg jetstream.Msg, m *Message, reason string) {
	if l.poison == "" {
		l.leave(msg)
		return
	}
	h := nats.Header{}
	h.Set(hdrOriginalID, m.ID)
	h.Set(hdrOriginalQueue, l.queue)
	h.Set(hdrDequeueCount, strconv.FormatInt(m.DequeueCount, 10))
	h.Set(hdrPoisonReason, reason)
	id := derivedID("poison", l.app, l.queue, m.ID, strconv.FormatUint(m.Sequence, 10))
	ctx, cancel := context.WithTimeout(context.Background(), ackTimeout)
	defer cancel()
	if _, err := l.s.Enqueue(ctx, l.app, l.poison, m.Text, WithID(id), Raw(), withHeader(h)); err != nil {
		l.log.Error("queue poison copy failed; will retry", "id", m.ID, "err", err)
		l.release(msg)
		return
	}
	l.log.Warn("queue message moved to poison queue", "id", m.ID, "poisonQueue", l.poison,
		"dequeueCount", m.DequeueCount, "maxDequeueCount", l.cfg.MaxDequeueCount, "reason", reason)
	l.ack(msg, m)
}
