package queue

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// A publish is resent while the stream cannot answer: its leader died and
// the survivors are electing another (NATS raft waits 4 to 9 s of silence
// before it votes), or the connection is moving to another node. Every
// attempt carries the same Nats-Msg-Id, so a stream that stored an earlier
// attempt but whose acknowledgement was lost stores nothing the second
// time and acknowledges it as a duplicate: exactly once.
const (
	publishAttempt = 2 * time.Second  // one request's wait for its ack
	publishBound   = 30 * time.Second // the whole publish, when ctx has no deadline
	publishBackoff = 50 * time.Millisecond
	maxBackoff     = time.Second

	// The server's JSClusterNotAvailErr and JSClusterNotLeaderErr, which
	// nats.go has no names for: the cluster is between leaders.
	errClusterNotAvailable jetstream.ErrorCode = 10008
	errClusterNotLeader    jetstream.ErrorCode = 10009
)

// publishAcked publishes msg to stream until the stream acknowledges it,
// ctx ends, or the stream turns out to be deleted.
func (s *Service) publishAcked(ctx context.Context, msg *nats.Msg, stream string) (*jetstream.PubAck, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, publishBound)
		defer cancel()
	}
	wait := publishBackoff
	for attempt := 1; ; attempt++ {
		ack, err := s.publishOnce(ctx, msg, stream)
		if err == nil || !s.retryable(ctx, err, stream) {
			return ack, err
		}
		s.opts.Logger.Debug("queue publish retry", "stream", stream, "attempt", attempt, "err", err)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w (after %d attempts, last: %w)", ctx.Err(), attempt, err)
		case <-time.After(wait):
		}
		wait = min(2*wait, maxBackoff)
	}
}

func (s *Service) publishOnce(ctx context.Context, msg *nats.Msg, stream string) (*jetstream.PubAck, error) {
	actx, cancel := context.WithTimeout(ctx, publishAttempt)
	defer cancel()
	return s.js.PublishMsg(actx, msg, jetstream.WithExpectStream(stream), jetstream.WithRetryAttempts(0))
}

// retryable reports whether err is the stream being between leaders or the
// connection between nodes (resend), rather than a refusal or a deleted
// stream (give up).
func (s *Service) retryable(ctx context.Context, err error, stream string) bool {
	if ctx.Err() != nil {
		return false
	}
	switch {
	case errors.Is(err, jetstream.ErrNoStreamResponse):
		return !s.streamDeleted(ctx, stream)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, nats.ErrTimeout),
		errors.Is(err, nats.ErrConnectionReconnecting), errors.Is(err, nats.ErrNoResponders):
		return true
	}
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && (apiErr.ErrorCode == errClusterNotAvailable || apiErr.ErrorCode == errClusterNotLeader)
}

// streamDeleted asks the JetStream API whether stream still exists; an
// answer other than "not found" (such as no answer during an election)
// counts as existing.
func (s *Service) streamDeleted(ctx context.Context, stream string) bool {
	actx, cancel := context.WithTimeout(ctx, publishAttempt)
	defer cancel()
	_, err := s.js.Stream(actx, stream)
	return errors.Is(err, jetstream.ErrStreamNotFound)
}
