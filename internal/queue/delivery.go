package queue

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// errNotDequeued says a delivery was handled without being a dequeue: it
// was handed back because the message is not visible yet, or deleted
// because it expired.
var errNotDequeued = errors.New("delivery was not a dequeue")

// admit turns a delivery fetched from app's queue into a dequeued
// Message, invisible until until, with its dequeue count and pop receipt
// recorded in the lease registry. A delivery of a message that is not
// visible yet is handed back until it is (a bounce), and one of an
// expired message is deleted; both return errNotDequeued.
func (s *Service) admit(app, queue string, msg jetstream.Msg, until time.Time) (*Message, error) {
	meta, err := msg.Metadata()
	if err != nil {
		return nil, fmt.Errorf("delivery metadata: %w", err)
	}
	now := s.opts.Clock.Now().UTC()
	k := leaseKey{stream: s.StreamName(app, queue), seq: meta.Sequence.Stream}
	switch state, wait := classify(msg.Headers(), now); state {
	case early:
		s.leases.bounce(k, msg.Reply(), now.Add(wait), now)
		if err := msg.NakWithDelay(wait); err != nil {
			s.opts.Logger.Debug("queue: handing back a message not visible yet", "err", err)
		}
		return nil, errNotDequeued
	case expired:
		s.expire(app, queue, msg, k)
		return nil, errNotDequeued
	}
	m := fromStored(msg.Headers(), msg.Data(), meta.Sequence.Stream, s.opts.TTL, meta.Timestamp)
	m.DequeueCount += int64(meta.NumDelivered - min(meta.NumDelivered-1, s.leases.bounces(k)))
	m.NextVisibleTime = until
	gen := s.leases.deliver(k, m.ID, m.DequeueCount, msg.Reply(), until, now)
	m.PopReceipt = receipt{seq: m.Sequence, gen: gen, count: m.DequeueCount, reply: msg.Reply()}.encode()
	return &m, nil
}

// expire deletes a delivered message whose time-to-live has passed.
func (s *Service) expire(app, queue string, msg jetstream.Msg, k leaseKey) {
	ctx, cancel := context.WithTimeout(context.Background(), ackTimeout)
	defer cancel()
	if err := msg.DoubleAck(ctx); err != nil {
		s.opts.Logger.Debug("queue: deleting an expired message", "err", err)
		return
	}
	s.leases.drop(k)
	s.acked(app, queue, k.seq)
}

// acked reports a deleted message to Options.OnAck.
func (s *Service) acked(app, queue string, seq uint64) {
	if f := s.opts.OnAck; f != nil {
		f(app, queue, seq)
	}
}
