package queue

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// A secondary region's queue streams are mirrors of the primary's: they
// hold every message the primary stored, processed or not (deletes are
// not mirrored). Its Len and Peek leave out what the primary's progress
// record (Options.Processed, itself mirrored) says was processed, so they
// answer what the primary would, up to the replica's lag.

// done is a progress record: everything up to floor and inside acked.
type done struct {
	floor uint64
	acked [][2]uint64
}

// has reports whether seq was processed.
func (d done) has(seq uint64) bool { return seq <= d.floor || d.rangeOf(seq) >= 0 }

// rangeOf is the index of the acked range holding seq, or -1.
func (d done) rangeOf(seq uint64) int {
	i, found := slices.BinarySearchFunc(d.acked, seq, func(a [2]uint64, s uint64) int {
		switch {
		case a[1] < s:
			return -1
		case a[0] > s:
			return 1
		}
		return 0
	})
	if !found {
		return -1
	}
	return i
}

// processed reads the queue's progress record when the stream is a mirror
// and Options.Processed is set; ok is false otherwise.
func (s *Service) processed(ctx context.Context, info *jetstream.StreamInfo, app, queue string) (done, bool, error) {
	if info.Config.Mirror == nil || s.opts.Processed == nil {
		return done{}, false, nil
	}
	floor, acked, err := s.opts.Processed(ctx, app, queue)
	if err != nil {
		return done{}, false, fmt.Errorf("progress of %s/%s: %w", app, queue, err)
	}
	return done{floor: floor, acked: acked}, true, nil
}

// mirrorLen counts the mirror's messages the primary has not processed:
// those after the floor, less those inside acked ranges (counted as the
// pending of a consumer started at a sequence, so no message is read).
func (s *Service) mirrorLen(ctx context.Context, st jetstream.Stream, info *jetstream.StreamInfo, d done) (uint64, error) {
	n, err := countFrom(ctx, st, info, d.floor+1)
	if err != nil {
		return 0, err
	}
	for _, a := range d.acked {
		from, err := countFrom(ctx, st, info, a[0])
		if err != nil {
			return 0, err
		}
		after, err := countFrom(ctx, st, info, a[1]+1)
		if err != nil {
			return 0, err
		}
		n -= min(n, from-min(from, after))
	}
	return n, nil
}

// countFrom is how many messages the stream holds at or after seq.
func countFrom(ctx context.Context, st jetstream.Stream, info *jetstream.StreamInfo, seq uint64) (uint64, error) {
	if seq > info.State.LastSeq {
		return 0, nil
	}
	if seq <= info.State.FirstSeq {
		return info.State.Msgs, nil
	}
	c, err := st.CreateConsumer(ctx, jetstream.ConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: seq,
		AckPolicy: jetstream.AckNonePolicy, InactiveThreshold: time.Minute, MemoryStorage: true,
	})
	if err != nil {
		return 0, fmt.Errorf("count messages from %d: %w", seq, err)
	}
	n := c.CachedInfo().NumPending
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := st.DeleteConsumer(dctx, c.CachedInfo().Name); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return 0, fmt.Errorf("count messages from %d: %w", seq, err)
	}
	return n, nil
}
